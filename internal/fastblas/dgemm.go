package fastblas

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// DgemmNT sets C = A·Bᵀ for A m×k, B n×k and C m×n, row-major with leading dimensions
// lda, ldb, ldc: the shape of ot's float64 products (Gram matrices x·yᵀ, C̄·Y as
// C̄·(Yᵀ)ᵀ, low-rank sums A·Bᵀ). On the assembly paths 3×4 blocks of dot products run
// in registers (4-lane on AVX2, 8-lane on AVX-512), several times faster than gonum's
// Dgemm, with the rows of blocks split between CPUs and the columns taken in blocks
// that stay in cache; each entry is summed in the same order whatever the split. On
// the pure-Go path, or for k < 4, it is gonum's Dgemm.
func DgemmNT(m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	if active == PureGo || k < 4 {
		gonum.Implementation{}.Dgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
		return
	}
	// Columns in blocks whose rows of B (jb·k values) stay in L2 while the row tiles
	// stream past them, rather than all of B once per row tile.
	jb := max(4, (1<<15)/max(1, k)/4*4)
	parallel.For((m+2)/3, n*k/8, func(_, lo, hi int) {
		var out [12]float64
		for j1 := 0; j1 < n; j1 += jb {
			for t := lo; t < hi; t++ {
				dgemmRowTile(m, n, k, a, lda, b, ldb, c, ldc, 3*t, j1, min(j1+jb, n), &out)
			}
		}
	})
}

// dgemmRowTile computes C[i0:i0+3, j1:j2] for DgemmNT (j1 a multiple of 4).
func dgemmRowTile(m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int, i0, j1, j2 int, out *[12]float64) {
	for j0 := j1; j0 < j2; j0 += 4 {
		if i0+3 > m || j0+4 > n {
			for i := i0; i < min(i0+3, m); i++ {
				for j := j0; j < min(j0+4, n); j++ {
					c[i*ldc+j] = Dot(a[i*lda:i*lda+k], b[j*ldb:j*ldb+k])
				}
			}
			continue
		}
		k4 := tile3x4(&a[i0*lda], lda, &b[j0*ldb], ldb, k, out) // the first k4 terms
		for r := 0; r < 3; r++ {
			xr := a[(i0+r)*lda : (i0+r)*lda+k]
			row := c[(i0+r)*ldc+j0 : (i0+r)*ldc+j0+4]
			for q := range row {
				s := out[4*r+q]
				yq := b[(j0+q)*ldb : (j0+q)*ldb+k]
				for t := k4; t < k; t++ {
					s += xr[t] * yq[t]
				}
				row[q] = s
			}
		}
	}
}
