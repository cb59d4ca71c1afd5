package fastblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// forPaths runs f as a subtest on every path this machine and build have (see Paths),
// restoring the active path afterwards.
func forPaths(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	old, _ := Active()
	defer SetPath(old)
	for _, p := range Paths() {
		if _, err := SetPath(p); err != nil {
			t.Fatal(err)
		}
		t.Run(p.String(), f)
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// gemmCase builds operands for op(A) m×k, op(B) k×n with leading dimensions padded by
// pad (views into wider matrices) and returns gonum's result next to ours.
func gemmCase(rng *rand.Rand, tA, tB blas.Transpose, m, n, k, pad int, alpha, beta float32, nanC bool) (got, want []float32, ldc int) {
	ar, ac := m, k
	if tA != blas.NoTrans {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB != blas.NoTrans {
		br, bc = n, k
	}
	lda, ldb := ac+pad, bc+pad
	ldc = n + pad
	a := randSlice(rng, max(1, ar*lda))
	b := randSlice(rng, max(1, br*ldb))
	c := randSlice(rng, max(1, m*ldc))
	if nanC {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	want = slices.Clone(c)
	got = slices.Clone(c)
	gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, max(1, lda), b, max(1, ldb), beta, want, max(1, ldc))
	Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, max(1, lda), b, max(1, ldb), beta, got, max(1, ldc))
	return got, want, ldc
}

// Sgemm against gonum for every transpose pair, shapes around the 6×16 tiles, the k
// blocks and the parallel split, padded leading dimensions, and several α, β.
func TestSgemmMatchesGonum(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		shapes := [][3]int{
			{1, 1, 1}, {6, 16, 8}, {7, 17, 9}, {5, 15, 3}, {13, 33, 257}, {64, 64, 64},
			{256, 784, 512}, {256, 16, 784}, {300, 5, 100}, {97, 131, 513}, {1000, 40, 17},
			{12, 1000, 300}, {33, 2, 2000},
		}
		trans := []blas.Transpose{blas.NoTrans, blas.Trans}
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			for _, tA := range trans {
				for _, tB := range trans {
					for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
						for _, pad := range []int{0, 3} {
							got, want, ldc := gemmCase(rng, tA, tB, m, n, k, pad, ab[0], ab[1], false)
							checkClose(t, fmt.Sprintf("%v/tA=%c/tB=%c/α=%g/β=%g/pad=%d", s, tA, tB, ab[0], ab[1], pad), got, want, m, n, ldc, k)
						}
					}
				}
			}
		}
	})
}

func checkClose(t *testing.T, name string, got, want []float32, m, n, ldc, k int) {
	t.Helper()
	tol := 1e-5 * float32(math.Sqrt(float64(k)+1)) * 4
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			g, w := got[i*ldc+j], want[i*ldc+j]
			if d := float32(math.Abs(float64(g - w))); d > tol*max(1, float32(math.Abs(float64(w)))) || g != g {
				t.Errorf("%s: C[%d,%d] = %g, gonum %g", name, i, j, g, w)
				return
			}
		}
	}
	// the padding between rows must be untouched
	for i := 0; i < m; i++ {
		for j := n; j < ldc && i*ldc+j < len(got); j++ {
			if math.Float32bits(got[i*ldc+j]) != math.Float32bits(want[i*ldc+j]) {
				t.Errorf("%s: padding C[%d,%d] changed to %g", name, i, j, got[i*ldc+j])
				return
			}
		}
	}
}

// β = 0 must not read C: NaN there must not leak into the result.
func TestSgemmBetaZeroIgnoresC(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, s := range [][3]int{{6, 16, 64}, {50, 70, 300}, {256, 784, 512}} {
			got, want, ldc := gemmCase(rng, blas.NoTrans, blas.Trans, s[0], s[1], s[2], 1, 1, 0, true)
			checkClose(t, fmt.Sprint(s), got, want, s[0], s[1], ldc, s[2])
		}
	})
}

// The result is bit-for-bit the same for any number of goroutines.
func TestSgemmDeterministicAcrossThreads(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		m, n, k := 256, 784, 512
		a, b := randSlice(rng, m*k), randSlice(rng, k*n)
		var ref []float32
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
		for _, p := range []int{1, 2, 3, 5} {
			runtime.GOMAXPROCS(p)
			c := make([]float32, m*n)
			Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
			if ref == nil {
				ref = c
				continue
			}
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(ref[i]) {
					t.Fatalf("GOMAXPROCS=%d: C[%d] = %g, with one thread %g", p, i, c[i], ref[i])
				}
			}
		}
	})
}

func TestSgemmPanicsLikeGonum(t *testing.T) {
	a := make([]float32, 100*100)
	for _, tc := range []struct {
		name string
		call func()
	}{
		{"short a", func() {
			Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 100, 100, 100, 1, a[:50], 100, a, 100, 0, a, 100)
		}},
		{"bad lda", func() {
			Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 100, 100, 100, 1, a, 10, a, 100, 0, a, 100)
		}},
		{"bad transpose", func() {
			Implementation{}.Sgemm('x', blas.NoTrans, 100, 100, 100, 1, a, 100, a, 100, 0, a, 100)
		}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.call()
		}()
	}
}

// Each assembly micro-kernel against a plain triple loop, directly.
func TestKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, path := range Paths() {
		if path == PureGo {
			continue
		}
		tl := tilingOf(path)
		mr, nr := tl.mr, tl.nr
		for _, k := range []int{1, 2, 7, 64} {
			a, b := randSlice(rng, mr*k), randSlice(rng, nr*k)
			c := randSlice(rng, mr*(nr+2))
			want := slices.Clone(c)
			for r := 0; r < mr; r++ {
				for j := 0; j < nr; j++ {
					var s float64
					for q := 0; q < k; q++ {
						s += float64(a[q*mr+r]) * float64(b[q*nr+j])
					}
					want[r*(nr+2)+j] = float32(2*s) + 0.5*want[r*(nr+2)+j]
				}
			}
			tl.kern(k, a, b, c, nr+2, 2, 0.5)
			checkClose(t, fmt.Sprintf("%v kernel k=%d", path, k), c, want, mr, nr, nr+2, k)
		}
	}
}

// SgemmSerial computes what Sgemm does, bit for bit.
func TestSgemmSerial(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, s := range [][3]int{{1, 1, 1}, {32, 196, 576}, {288, 784, 1}, {1, 784, 288}, {97, 131, 513}} {
			m, n, k := s[0], s[1], s[2]
			for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				lda := k
				if tA == blas.Trans {
					lda = m
				}
				a, b := randSlice(rng, m*k), randSlice(rng, k*n)
				c1, c2 := randSlice(rng, m*n), make([]float32, m*n)
				copy(c2, c1)
				Implementation{}.Sgemm(tA, blas.NoTrans, m, n, k, 1.5, a, lda, b, n, 0.5, c1, n)
				SgemmSerial(tA, blas.NoTrans, m, n, k, 1.5, a, lda, b, n, 0.5, c2, n)
				for i := range c1 {
					if math.Float32bits(c1[i]) != math.Float32bits(c2[i]) {
						t.Fatalf("%v tA=%c: C[%d] %v vs %v", s, tA, i, c1[i], c2[i])
					}
				}
			}
		}
	})
}

// DgemmNT against gonum's Dgemm for shapes around the 3×4 tiles and the 4-wide k
// chunks, with padded leading dimensions, and bit for bit the same on 1, 2 and 3
// CPUs (the rows of tiles split differently).
func TestDgemmNT(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		for _, s := range [][3]int{{1, 1, 1}, {3, 4, 4}, {5, 7, 9}, {12, 9, 17}, {31, 29, 64}, {64, 70, 3}, {100, 2, 101}, {301, 257, 40}, {20, 700, 101}} {
			m, n, k := s[0], s[1], s[2]
			lda, ldb, ldc := k+2, k+1, n+3
			a, b := make([]float64, m*lda), make([]float64, n*ldb)
			for _, v := range [][]float64{a, b} {
				for i := range v {
					v[i] = rng.NormFloat64()
				}
			}
			want := make([]float64, m*ldc)
			gonum.Implementation{}.Dgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, lda, b, ldb, 0, want, ldc)
			var first []float64
			for _, procs := range []int{1, 2, 3} {
				old := runtime.GOMAXPROCS(procs)
				got := make([]float64, m*ldc)
				DgemmNT(m, n, k, a, lda, b, ldb, got, ldc)
				runtime.GOMAXPROCS(old)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						scale := 0.0
						for q := 0; q < k; q++ {
							scale += math.Abs(a[i*lda+q] * b[j*ldb+q])
						}
						if g, w := got[i*ldc+j], want[i*ldc+j]; math.Abs(g-w) > 1e-14*scale {
							t.Fatalf("%v procs=%d: C[%d,%d] = %v, gonum %v", s, procs, i, j, g, w)
						}
					}
				}
				if first == nil {
					first = got
					continue
				}
				for i := range got {
					if math.Float64bits(got[i]) != math.Float64bits(first[i]) {
						t.Fatalf("%v: procs=%d gives C[%d] = %v, procs=1 %v", s, procs, i, got[i], first[i])
					}
				}
			}
		}
	})
}

// Gram against the full product Sgemm computes, on every path: exactly symmetric, the
// same bits as Sgemm's on the assembly paths when every block of the triangle is packed
// (the entries are the same fused chains), within checkClose's bound on the pure-Go
// path, and bit for bit the same on 1, 2 and 3 CPUs.
func TestGram(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, s := range [][2]int{{5, 3}, {40, 784}, {96, 100}, {97, 300}, {256, 784}, {1000, 64}} {
			n, k := s[0], s[1]
			a := randSlice(rng, n*(k+1))
			want := make([]float32, n*(n+2))
			Implementation{}.Sgemm(blas.NoTrans, blas.Trans, n, n, k, 1, a, k+1, a, k+1, 0, want, n+2)
			var first []float32
			for _, procs := range []int{1, 2, 3} {
				old := runtime.GOMAXPROCS(procs)
				got := make([]float32, n*(n+2))
				Gram(n, k, a, k+1, got, n+2)
				runtime.GOMAXPROCS(old)
				if first == nil {
					first = got
				}
				for i := 0; i < n; i++ {
					for j := 0; j < n; j++ {
						if g, h := got[i*(n+2)+j], got[j*(n+2)+i]; math.Float32bits(g) != math.Float32bits(h) {
							t.Fatalf("%v: C[%d,%d] = %v but C[%d,%d] = %v", s, i, j, g, j, i, h)
						}
					}
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(first[i]) {
						t.Fatalf("%v: procs=%d gives C[%d] = %v, procs=1 %v", s, procs, i, got[i], first[i])
					}
				}
			}
			if p, _ := Active(); p != PureGo && n*n*k >= 100*smallWork {
				for i := range first {
					if math.Float32bits(first[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v: C[%d] = %v, Sgemm %v", s, i, first[i], want[i])
					}
				}
			}
			checkClose(t, fmt.Sprint(s), first, want, n, n, n+2, k)
		}
	})
}

// TestSgemmNoAllocs checks that a packed, parallel Sgemm allocates nothing once its
// pools are warm: the training step makes several per step.
func TestSgemmNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	const n = 192 // m·n·k above parallelWork
	if !packed(n, n, n, 1) {
		t.Skip("the active path runs gonum's loops")
	}
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%7), float32(i%5)
	}
	sgemm := func() { Implementation{}.Sgemm(blas.NoTrans, blas.Trans, n, n, n, 1, a, n, b, n, 0, c, n) }
	sgemm()
	if allocs := testing.AllocsPerRun(50, sgemm); allocs != 0 {
		t.Fatalf("%v allocations per Sgemm, want 0", allocs)
	}
}
