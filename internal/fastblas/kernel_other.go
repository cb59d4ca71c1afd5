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

// Dot32 returns Σ x_i y_i in float64 (each x_i converted exactly); y must be at least as
// long as x.
func Dot32(x []float32, y []float64) float64 { return dot32Go(x, y) }

// Axpy32 adds alpha·x to y in float64; y must be at least as long as x.
func Axpy32(alpha float64, x []float32, y []float64) { axpy32Go(alpha, x, y) }

// Axpy32x4 adds c[r]·x[r·stride : r·stride+len(y)] to y for r = 0, 1, 2, 3, in that
// order: the same bits as four Axpy32 calls, in one pass over y.
func Axpy32x4(c *[4]float64, x []float32, stride int, y []float64) {
	axpy32x4Go(c, x, stride, y)
}

// tile3x4 is never called in portable builds (DgemmNT is gonum's).
func tile3x4(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64) int {
	panic("fastblas: tile3x4 without AVX2")
}
