package fastblas

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// benchPaths times f on every available path, interleaved: each of b.N rounds runs f
// once per path, so that the load of other processes falls on all paths alike. It
// reports each path's minimum and median in µs ("avx512-min-µs", …) and, with
// flops > 0, the GFLOPS of each path's minimum.
func benchPaths(b *testing.B, flops float64, f func()) {
	b.Helper()
	paths := Paths()
	old, _ := Active()
	defer SetPath(old)
	times := make([][]time.Duration, len(paths))
	for b.Loop() {
		for i, p := range paths {
			SetPath(p)
			t0 := time.Now()
			f()
			times[i] = append(times[i], time.Since(t0))
		}
	}
	for i, p := range paths {
		lo, med := minMedian(times[i])
		b.ReportMetric(float64(lo)/1e3, p.String()+"-min-µs")
		b.ReportMetric(float64(med)/1e3, p.String()+"-med-µs")
		if flops > 0 {
			b.ReportMetric(flops/float64(lo), p.String()+"-GFLOPS")
		}
	}
}

func minMedian(t []time.Duration) (lo, med time.Duration) {
	s := append([]time.Duration(nil), t...)
	for i := 1; i < len(s); i++ { // insertion sort: a few hundred entries
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[0], s[len(s)/2]
}

// BenchmarkSgemm times the products of training on each path: those of one step of the
// 16-256-512-784 MLP at batch 256, and the loss's (Gram matrices x·yᵀ, the gradients'
// C̄·y and C̄ᵀ·x) at n = 256 and 1024, d = 784. Run with -benchtime 30x or more.
func BenchmarkSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range []struct {
		tA, tB  blas.Transpose
		m, n, k int
	}{
		{blas.NoTrans, blas.NoTrans, 256, 784, 512},
		{blas.NoTrans, blas.Trans, 256, 512, 784},
		{blas.Trans, blas.NoTrans, 512, 784, 256},
		{blas.NoTrans, blas.NoTrans, 256, 512, 256},
		{blas.NoTrans, blas.Trans, 256, 256, 784},
		{blas.NoTrans, blas.NoTrans, 256, 784, 256},
		{blas.Trans, blas.NoTrans, 256, 784, 256},
		{blas.NoTrans, blas.Trans, 1024, 1024, 784},
		{blas.NoTrans, blas.NoTrans, 1024, 784, 1024},
	} {
		a, bb := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.tA != blas.NoTrans {
			lda = s.m
		}
		if s.tB != blas.NoTrans {
			ldb = s.k
		}
		b.Run(fmt.Sprintf("%c%c/%dx%dx%d", s.tA, s.tB, s.m, s.n, s.k), func(b *testing.B) {
			benchPaths(b, 2*float64(s.m*s.n*s.k), func() {
				Implementation{}.Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			})
		})
	}
	b.Run("gonum/NT/256x256x784", func(b *testing.B) {
		a, bb, c := randSlice(rng, 256*784), randSlice(rng, 256*784), make([]float32, 256*256)
		for b.Loop() {
			gonum.Implementation{}.Sgemm(blas.NoTrans, blas.Trans, 256, 256, 784, 1, a, 784, bb, 784, 0, c, 256)
		}
	})
}

// BenchmarkDot and BenchmarkAxpy time the sweeps' vector kernels on rows of the kernel
// matrix: 256 entries (in L1), 4096 (in L2) and 1<<20 (in memory), summed over as many
// calls as make 1<<20 entries.
func BenchmarkDot(b *testing.B) {
	for _, n := range []int{256, 4096, 1 << 20} {
		x, y := randFloat64(n), randFloat64(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var sink float64
			benchPaths(b, 2<<20, func() {
				for range (1 << 20) / n {
					sink += Dot(x, y)
				}
			})
			_ = sink
		})
	}
}

func BenchmarkAxpy(b *testing.B) {
	for _, n := range []int{256, 4096, 1 << 20} {
		x, y := randFloat64(n), randFloat64(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchPaths(b, 2<<20, func() {
				for range (1 << 20) / n {
					Axpy(1e-9, x, y)
				}
			})
		})
	}
}

// BenchmarkAxpy32x4 times the sweeps' column reduction on a float32 kernel: four rows
// of 1024 added into one float64 vector, fused against four Axpy32 calls.
func BenchmarkAxpy32x4(b *testing.B) {
	const n = 1024
	x, y := randSlice(rand.New(rand.NewPCG(1, 2)), 4*n), randFloat64(n)
	c := [4]float64{1e-9, 2e-9, 3e-9, 4e-9}
	b.Run("fused", func(b *testing.B) {
		benchPaths(b, 8*256*n, func() {
			for range 256 {
				Axpy32x4(&c, x, n, y)
			}
		})
	})
	b.Run("rows", func(b *testing.B) {
		benchPaths(b, 8*256*n, func() {
			for range 256 {
				for r := range 4 {
					Axpy32(c[r], x[r*n:(r+1)*n], y)
				}
			}
		})
	})
}

func randFloat64(n int) []float64 {
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.NormFloat64()
	}
	return out
}

// BenchmarkGram times the symmetric products x·xᵀ of the loss (d = 784) on each path:
// Gram's upper triangle against the full product.
func BenchmarkGram(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{256, 1024} {
		const k = 784
		a, c := randSlice(rng, n*k), make([]float32, n*n)
		flops := 2 * float64(n*n*k)
		b.Run(fmt.Sprintf("triangle/%dx%d", n, k), func(b *testing.B) {
			benchPaths(b, flops, func() { Gram(n, k, a, k, c, n) })
		})
		b.Run(fmt.Sprintf("full/%dx%d", n, k), func(b *testing.B) {
			benchPaths(b, flops, func() {
				Implementation{}.Sgemm(blas.NoTrans, blas.Trans, n, n, k, 1, a, k, a, k, 0, c, n)
			})
		})
	}
}

// BenchmarkDgemmNT times the unrolled adjoint's A·Bᵀ (n×2L times 2L×n, L = 50 and 100)
// on each path.
func BenchmarkDgemmNT(b *testing.B) {
	for _, s := range [][2]int{{256, 100}, {1024, 200}} {
		n, k := s[0], s[1]
		a, bb, c := randFloat64(n*k), randFloat64(n*k + 1)[:n*k], make([]float64, n*n)
		b.Run(fmt.Sprintf("%dx%dx%d", n, n, k), func(b *testing.B) {
			benchPaths(b, 2*float64(n*n*k), func() { DgemmNT(n, n, k, a, k, bb, k, c, n) })
		})
	}
}
