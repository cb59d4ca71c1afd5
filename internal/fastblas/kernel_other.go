//go:build !amd64 || purego

package fastblas

import "gonum.org/v1/gonum/floats"

// available: portable builds have the pure-Go path only.
func available(p Path) bool { return p == PureGo }

// tilingOf is never called in portable builds (Sgemm is gonum's).
func tilingOf(Path) tiling { panic("fastblas: no assembly kernels in this build") }

// Dot returns Σ x_i y_i; y must be at least as long as x.
func Dot(x, y []float64) float64 { return floats.Dot(x, y[:len(x)]) }

// Axpy adds alpha·x to y; y must be at least as long as x.
func Axpy(alpha float64, x, y []float64) { floats.AddScaled(y[:len(x)], alpha, x) }

// tile3x4 is never called in portable builds (DgemmNT is gonum's).
func tile3x4(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64) {
	panic("fastblas: tile3x4 without AVX2")
}
