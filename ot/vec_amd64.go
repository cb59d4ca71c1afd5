//go:build amd64 && !purego

package ot

import "gonum.org/v1/gonum/floats"

//go:noescape
func dotAVX2(x, y []float64) float64

//go:noescape
func axpyAVX2(alpha float64, x, y []float64)

// dot returns Σ x_i y_i; y must be at least as long as x.
func dot(x, y []float64) float64 {
	if useAVX2 {
		_ = y[len(x)-1]
		return dotAVX2(x, y)
	}
	return floats.Dot(x, y[:len(x)])
}

// axpy adds alpha·x to y; y must be at least as long as x.
func axpy(alpha float64, x, y []float64) {
	if useAVX2 {
		_ = y[len(x)-1]
		axpyAVX2(alpha, x, y)
		return
	}
	floats.AddScaled(y[:len(x)], alpha, x)
}

//go:noescape
func tile3x4AVX2(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64)

func tile3x4(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64) {
	tile3x4AVX2(x, xstride, y, ystride, k, out)
}
