//go:build amd64 && !purego

package fastblas

import "golang.org/x/sys/cpu"

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
