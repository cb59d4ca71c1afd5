//go:build !amd64 || purego

package ot

import "gonum.org/v1/gonum/floats"

// dot returns Σ x_i y_i; y must be at least as long as x.
func dot(x, y []float64) float64 { return floats.Dot(x, y[:len(x)]) }

// axpy adds alpha·x to y; y must be at least as long as x.
func axpy(alpha float64, x, y []float64) { floats.AddScaled(y[:len(x)], alpha, x) }

// tile3x4 is never called without AVX2 (mulNT falls back to gonum).
func tile3x4(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64) {
	panic("ot: tile3x4 without AVX2")
}
