package ot

import (
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/fastblas"
)

// mulNT sets dst = a·bᵀ for a (n×k) and b (m×k): the shape of every product here
// (Gram matrices x·yᵀ, C̄·Y as C̄·(Yᵀ)ᵀ, low-rank sums A·Bᵀ), by fastblas's DgemmNT.
func mulNT(dst *mat.Dense, a, b *mat.Dense) {
	n, k := a.Dims()
	m, _ := b.Dims()
	ra, rb, rd := a.RawMatrix(), b.RawMatrix(), dst.RawMatrix()
	fastblas.DgemmNT(n, m, k, ra.Data, ra.Stride, rb.Data, rb.Stride, rd.Data, rd.Stride)
}

// dot returns Σ x_i y_i; y must be at least as long as x.
func dot(x, y []float64) float64 { return fastblas.Dot(x, y) }

// axpy adds alpha·x to y; y must be at least as long as x.
func axpy(alpha float64, x, y []float64) { fastblas.Axpy(alpha, x, y) }

// dot32 returns Σ x_i y_i in float64 for a float32 x; y must be at least as long as x.
func dot32(x []float32, y []float64) float64 { return fastblas.Dot32(x, y) }

// axpy32 adds alpha·x to y in float64 for a float32 x; y must be at least as long as x.
func axpy32(alpha float64, x []float32, y []float64) { fastblas.Axpy32(alpha, x, y) }

// axpy32x4 adds c[r]·x[r·stride:][:len(y)] to y for r = 0…3 in turn (four axpy32 calls).
func axpy32x4(c *[4]float64, x []float32, stride int, y []float64) {
	fastblas.Axpy32x4(c, x, stride, y)
}
