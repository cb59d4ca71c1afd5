//go:build !amd64 || purego

package fastblas

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
