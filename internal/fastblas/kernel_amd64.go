//go:build amd64 && !purego

package fastblas

import (
	"golang.org/x/sys/cpu"
	"gonum.org/v1/gonum/floats"
)

// useAsm selects the AVX2+FMA micro-kernel.
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel6x16 sets the 6×16 tile at c (row stride ldc) to alpha·A·B + beta·C, where A
// is a packed 6×k panel (6 values per k) and B a packed k×16 panel (16 values per k).
// With beta = 0, C is not read. Implemented in kernel_amd64.s.
//
//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int, alpha, beta float32)

func kernel(k int, a, b, c []float32, ldc int, alpha, beta float32) {
	_ = a[mr*k-1]
	_ = b[nr*k-1]
	_ = c[(mr-1)*ldc+nr-1]
	kernel6x16(k, &a[0], &b[0], &c[0], ldc, alpha, beta)
}

//go:noescape
func dotAVX2(x, y []float64) float64

//go:noescape
func axpyAVX2(alpha float64, x, y []float64)

// tile3x4AVX2 sets out[4r+c] = Σ_{t<k} x[r·xstride+t]·y[c·ystride+t] for r < 3, c < 4;
// k is a multiple of 4.
//
//go:noescape
func tile3x4AVX2(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64)

// Dot returns Σ x_i y_i; y must be at least as long as x.
func Dot(x, y []float64) float64 {
	if useAsm {
		_ = y[len(x)-1]
		return dotAVX2(x, y)
	}
	return floats.Dot(x, y[:len(x)])
}

// Axpy adds alpha·x to y; y must be at least as long as x.
func Axpy(alpha float64, x, y []float64) {
	if useAsm {
		_ = y[len(x)-1]
		axpyAVX2(alpha, x, y)
		return
	}
	floats.AddScaled(y[:len(x)], alpha, x)
}

func tile3x4(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64) {
	tile3x4AVX2(x, xstride, y, ystride, k, out)
}
