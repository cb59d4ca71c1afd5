//go:build !amd64 || purego

package fastblas

import "gonum.org/v1/gonum/floats"

// useAsm is false in portable builds: Sgemm is gonum's.
const useAsm = false

// kernel is the portable micro-kernel (used only by tests in portable builds).
func kernel(k int, a, b, c []float32, ldc int, alpha, beta float32) {
	var acc [mr * nr]float32
	for q := 0; q < k; q++ {
		for r := 0; r < mr; r++ {
			av := a[q*mr+r]
			for j := 0; j < nr; j++ {
				acc[r*nr+j] += av * b[q*nr+j]
			}
		}
	}
	for r := 0; r < mr; r++ {
		for j := 0; j < nr; j++ {
			v := alpha * acc[r*nr+j]
			if beta != 0 {
				v += beta * c[r*ldc+j]
			}
			c[r*ldc+j] = v
		}
	}
}

// Dot returns Σ x_i y_i; y must be at least as long as x.
func Dot(x, y []float64) float64 { return floats.Dot(x, y[:len(x)]) }

// Axpy adds alpha·x to y; y must be at least as long as x.
func Axpy(alpha float64, x, y []float64) { floats.AddScaled(y[:len(x)], alpha, x) }

// tile3x4 is never called in portable builds (DgemmNT is gonum's).
func tile3x4(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64) {
	panic("fastblas: tile3x4 without AVX2")
}
