package ot

import (
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// mulNT sets dst = a·bᵀ for a (n×k) and b (m×k): the shape of every product here
// (Gram matrices x·yᵀ, C̄·Y as C̄·(Yᵀ)ᵀ, low-rank sums A·Bᵀ). On AVX2 machines 3×4
// blocks of dot products run in registers, several times faster than gonum's generic
// Dgemm; elsewhere it is gonum's.
func mulNT(dst *mat.Dense, a, b *mat.Dense) {
	n, k := a.Dims()
	m, _ := b.Dims()
	if !useAVX2 || k < 4 {
		dst.Mul(a, b.T())
		return
	}
	ra, rb, rd := a.RawMatrix(), b.RawMatrix(), dst.RawMatrix()
	k4 := k &^ 3
	tiles := (n + 2) / 3
	parallel.For(tiles, m*k/8, func(_, lo, hi int) {
		var out [12]float64
		for t := lo; t < hi; t++ {
			i0 := 3 * t
			for j0 := 0; j0 < m; j0 += 4 {
				if i0+3 > n || j0+4 > m {
					for i := i0; i < min(i0+3, n); i++ {
						for j := j0; j < min(j0+4, m); j++ {
							rd.Data[i*rd.Stride+j] = dot(ra.Data[i*ra.Stride:i*ra.Stride+k], rb.Data[j*rb.Stride:j*rb.Stride+k])
						}
					}
					continue
				}
				tile3x4(&ra.Data[i0*ra.Stride], ra.Stride, &rb.Data[j0*rb.Stride], rb.Stride, k4, &out)
				for r := 0; r < 3; r++ {
					xr := ra.Data[(i0+r)*ra.Stride : (i0+r)*ra.Stride+k]
					row := rd.Data[(i0+r)*rd.Stride+j0 : (i0+r)*rd.Stride+j0+4]
					for c := range row {
						s := out[4*r+c]
						yc := rb.Data[(j0+c)*rb.Stride : (j0+c)*rb.Stride+k]
						for t := k4; t < k; t++ {
							s += xr[t] * yc[t]
						}
						row[c] = s
					}
				}
			}
		}
	})
}
