//go:build amd64 && !purego

package fastblas

import (
	"golang.org/x/sys/cpu"
	"gonum.org/v1/gonum/floats"
)

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F
)

func available(p Path) bool {
	switch p {
	case PureGo:
		return true
	case AVX2:
		return hasAVX2
	case AVX512:
		return hasAVX512
	}
	return false
}

// kernel6x16 and kernel12x32 are the micro-kernels (see tiling), in kernel_amd64.s and
// kernel512_amd64.s.
//
//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernel12x32(k int, a, b, c *float32, ldc int, alpha, beta float32)

var (
	tiling6x16 = tiling{mr: 6, nr: 16, kern: func(k int, a, b, c []float32, ldc int, alpha, beta float32) {
		_, _, _ = a[6*k-1], b[16*k-1], c[5*ldc+15]
		kernel6x16(k, &a[0], &b[0], &c[0], ldc, alpha, beta)
	}}
	tiling12x32 = tiling{mr: 12, nr: 32, kern: func(k int, a, b, c []float32, ldc int, alpha, beta float32) {
		_, _, _ = a[12*k-1], b[32*k-1], c[11*ldc+31]
		kernel12x32(k, &a[0], &b[0], &c[0], ldc, alpha, beta)
	}}
)

// tilingOf returns the Sgemm micro-kernel of an assembly path.
func tilingOf(p Path) tiling {
	if p == AVX512 {
		return tiling12x32
	}
	return tiling6x16
}

//go:noescape
func dotAVX2(x, y []float64) float64

//go:noescape
func axpyAVX2(alpha float64, x, y []float64)

//go:noescape
func dotAVX512(x, y []float64) float64

//go:noescape
func axpyAVX512(alpha float64, x, y []float64)

//go:noescape
func dot32AVX2(x []float32, y []float64) float64

//go:noescape
func axpy32AVX2(alpha float64, x []float32, y []float64)

//go:noescape
func dot32AVX512(x []float32, y []float64) float64

//go:noescape
func axpy32AVX512(alpha float64, x []float32, y []float64)

// Dot32 returns Σ x_i y_i in float64 (each x_i converted exactly); y must be at least as
// long as x.
func Dot32(x []float32, y []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	switch active {
	case AVX512:
		_ = y[len(x)-1]
		return dot32AVX512(x, y)
	case AVX2:
		_ = y[len(x)-1]
		return dot32AVX2(x, y)
	}
	return dot32Go(x, y)
}

// Axpy32 adds alpha·x to y in float64; y must be at least as long as x.
func Axpy32(alpha float64, x []float32, y []float64) {
	if len(x) == 0 {
		return
	}
	switch active {
	case AVX512:
		_ = y[len(x)-1]
		axpy32AVX512(alpha, x, y)
		return
	case AVX2:
		_ = y[len(x)-1]
		axpy32AVX2(alpha, x, y)
		return
	}
	axpy32Go(alpha, x, y)
}

//go:noescape
func axpy32x4AVX2(c *[4]float64, x *float32, stride int, y []float64)

//go:noescape
func axpy32x4AVX512(c *[4]float64, x *float32, stride int, y []float64)

// Axpy32x4 adds c[r]·x[r·stride : r·stride+len(y)] to y for r = 0, 1, 2, 3, in that
// order: the same bits as four Axpy32 calls, in one pass over y.
func Axpy32x4(c *[4]float64, x []float32, stride int, y []float64) {
	if len(y) == 0 {
		return
	}
	_ = x[3*stride+len(y)-1]
	switch active {
	case AVX512:
		axpy32x4AVX512(c, &x[0], stride, y)
		return
	case AVX2:
		axpy32x4AVX2(c, &x[0], stride, y)
		return
	}
	axpy32x4Go(c, x, stride, y)
}

// tile3x4AVX2 sets out[4r+c] = Σ_{t<k} x[r·xstride+t]·y[c·ystride+t] for r < 3, c < 4;
// k is a multiple of 4.
//
//go:noescape
func tile3x4AVX2(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64)

// Dot returns Σ x_i y_i; y must be at least as long as x.
func Dot(x, y []float64) float64 {
	switch active {
	case AVX512:
		_ = y[len(x)-1]
		return dotAVX512(x, y)
	case AVX2:
		_ = y[len(x)-1]
		return dotAVX2(x, y)
	}
	return floats.Dot(x, y[:len(x)])
}

// Axpy adds alpha·x to y; y must be at least as long as x.
func Axpy(alpha float64, x, y []float64) {
	switch active {
	case AVX512:
		_ = y[len(x)-1]
		axpyAVX512(alpha, x, y)
		return
	case AVX2:
		_ = y[len(x)-1]
		axpyAVX2(alpha, x, y)
		return
	}
	floats.AddScaled(y[:len(x)], alpha, x)
}

//go:noescape
func tile3x4AVX512(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64)

// tile3x4 sets out[4r+c] = Σ_{t<k} x[r·xstride+t]·y[c·ystride+t] for r < 3, c < 4 over the
// first k4 ≤ k values of t (k4 a multiple of 4 or, on AVX-512, 8), and returns k4.
func tile3x4(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64) int {
	if active == AVX512 {
		k &^= 7
		tile3x4AVX512(x, xstride, y, ystride, k, out)
		return k
	}
	k &^= 3
	tile3x4AVX2(x, xstride, y, ystride, k, out)
	return k
}
