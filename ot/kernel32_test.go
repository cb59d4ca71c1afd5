package ot

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/sinkgen/sinkgen/internal/fastblas"
)

// A float32 record keeps its kernel in float32 when kernel32 allows, and its results
// stay within the stated bounds of the float64 kernel's: each sum of the sweeps errs by
// δ ≤ 2^-23 relative, so after L updates the scalings carry at most 2Lδ relative, the
// potentials ε·2Lδ and the dual 4Lεδ (uniform weights); the gradients within 8Lδ of
// their largest entry. On every fastblas path. Cases: all entries normal (ε = 1, 3 in
// 784-D; ε = 0.02 in 2-D), entries below the normal range with moderate scalings
// (ε = 0.01 in 2-D, the n = 4096 benchmark's setting), and a kernel whose scalings rule
// float32 out (ε = 0.1 in 784-D: the forward pass reruns on a float64 kernel).
func TestUnrolledKernel32(t *testing.T) {
	old, _ := fastblas.Active()
	defer fastblas.SetPath(old)
	x, y := divergence32Case(70, 784)
	x2, y2 := divergence32Case(90, 2)
	// 20 points in [0, 0.1]² against 19 such points and one at (1.1, 1.1): at ε = 0.01
	// the costs spread over 121ε, and the outlier's scaling reaches about e^100.
	rng := newTestRand(91)
	xs, ys := make([]float32, 40), make([]float32, 40)
	for i := range xs {
		xs[i], ys[i] = float32(0.1*rng.Float64()), float32(0.1*rng.Float64())
	}
	ys[38], ys[39] = 1.1, 1.1
	x3, y3 := FromFloat32(20, 2, xs), FromFloat32(20, 2, ys)
	for _, p := range fastblas.Paths() {
		fastblas.SetPath(p)
		for _, c := range []struct {
			x, y   Points
			eps    float64
			L      int
			want32 bool
		}{{x, y, 1, 50, true}, {x, y, 3, 20, true}, {x2, y2, 0.02, 40, true}, {x2, y2, 0.01, 30, true}, {x, y, 0.1, 30, false}, {x3, y3, 0.01, 30, false}} {
			name := fmt.Sprintf("%v/n=%d/eps=%g", p, c.x.f32.Rows, c.eps)
			run := func(k32 bool) (*UnrolledDivergence, []float32) {
				defer func(v bool) { useKernel32 = v }(useKernel32)
				useKernel32 = k32
				d, err := UnrolledSinkhornDivergence(c.x, c.y, nil, nil, SqEuclidean, c.eps, &UnrolledOptions{Iterations: c.L})
				if err != nil {
					t.Fatal(err)
				}
				g := make([]float32, len(c.x.f32.Data))
				d.Backward(1, 0.5, FromFloat32(c.x.f32.Rows, c.x.f32.Cols, g), Points{})
				return d, g
			}
			d32, g32 := run(true)
			d64, g64 := run(false)
			if got := d32.XY.k32 != nil; got != c.want32 || !d32.XY.Scaled || d64.XY.k32 != nil {
				t.Fatalf("%s: float32 kernel %v, want %v (scaled %v)", name, got, c.want32, d32.XY.Scaled)
			}
			delta := 0x1p-23
			L := float64(c.L)
			if e := math.Abs(d32.Dual - d64.Dual); e > 3*4*L*c.eps*delta { // three problems
				t.Errorf("%s: dual %v, float64 kernel %v (diff %.2g)", name, d32.Dual, d64.Dual, e)
			}
			if e := maxAbsDiff(d32.XY.F, d64.XY.F); e > c.eps*2*L*delta {
				t.Errorf("%s: potentials differ by %.2g", name, e)
			}
			scale, diff := 0.0, 0.0
			for i := range g64 {
				scale = math.Max(scale, math.Abs(float64(g64[i])))
				diff = math.Max(diff, math.Abs(float64(g32[i]-g64[i])))
			}
			if diff > 8*L*delta*scale || !(scale > 0) {
				t.Errorf("%s: gradients differ by %.2g of their largest entry %.2g", name, diff/scale, scale)
			}
			if !c.want32 && d32.XY.Dual != d64.XY.Dual {
				t.Errorf("%s: float64 kernels gave different results", name)
			}
			if rerun := c.x.f32.Rows == 20; d32.XY.no32 != rerun {
				t.Errorf("%s: float32 kernel tried and ruled out: %v, want %v", name, d32.XY.no32, rerun)
			}
			t.Logf("%s: dual diff %.2g, potentials %.2g, gradient %.2g of max", name, math.Abs(d32.Dual-d64.Dual), maxAbsDiff(d32.XY.F, d64.XY.F), diff/scale)
			d32.Release()
			d64.Release()
		}
	}
}

// The float32 divergence and its gradient on each fastblas path, in the scaling domain
// and (annealed) in the log domain: the same bits on 1, 2 and 3 CPUs; between the
// assembly paths (the same Sgemm bits, Dot's partial sums in another order) within
// 1e-10 relative for the value and 1e-9 of the largest gradient entry; between them
// and the pure-Go path (gonum's Sgemm rounds x·yᵀ otherwise, by about 2^-24·|x||y|)
// within the float32 path's 1e-4 of the float64 one
// (losses.TestFloat32PathMatchesFloat64). n = 300 splits the sweeps into blocks.
func TestUnrolled32PathsAndThreads(t *testing.T) {
	old, _ := fastblas.Active()
	defer fastblas.SetPath(old)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	const n = 300
	x, y := divergence32Case(n, 784)
	for _, opts := range []*UnrolledOptions{{Iterations: 20}, {Iterations: 10, EpsScaling: 0.5, EpsStart: 8}} {
		type result struct {
			dual float64
			g    []float32
			fg   []float64 // the three problems' final potentials
		}
		results := map[fastblas.Path]result{}
		for _, p := range fastblas.Paths() {
			fastblas.SetPath(p)
			var first *result
			for _, procs := range []int{1, 2, 3} {
				runtime.GOMAXPROCS(procs)
				d, err := UnrolledSinkhornDivergence(x, y, nil, nil, SqEuclidean, 1, opts)
				if err != nil {
					t.Fatal(err)
				}
				if d.XY.Scaled != (opts.EpsScaling == 0) || d.XY.Scaled && d.XY.k32 == nil {
					t.Fatalf("%v: scaled %v, float32 kernel %v", p, d.XY.Scaled, d.XY.k32 != nil)
				}
				g := make([]float32, len(x.f32.Data))
				d.Backward(1, 0.5, FromFloat32(n, 784, g), Points{})
				var fg []float64
				for _, u := range []*Unrolled{d.XY, d.XX, d.YY} {
					fg = append(append(fg, u.F...), u.G...)
				}
				if first == nil {
					first = &result{d.Dual, g, fg}
					continue
				}
				for i := range fg {
					if math.Float64bits(fg[i]) != math.Float64bits(first.fg[i]) {
						t.Fatalf("%v, %d CPUs, scaled %v: potential %d %v, on 1 CPU %v", p, procs, d.XY.Scaled, i, fg[i], first.fg[i])
					}
				}
				if d.Dual != first.dual {
					t.Errorf("%v, %d CPUs, scaled %v: dual %v, on 1 CPU %v", p, procs, d.XY.Scaled, d.Dual, first.dual)
				}
				for i := range g {
					if math.Float32bits(g[i]) != math.Float32bits(first.g[i]) {
						t.Fatalf("%v, %d CPUs, scaled %v: gradient[%d] %v, on 1 CPU %v", p, procs, d.XY.Scaled, i, g[i], first.g[i])
					}
				}
			}
			results[p] = *first
		}
		for _, p := range fastblas.Paths() {
			for _, q := range fastblas.Paths() {
				if q <= p {
					continue
				}
				tolV, tolG := 1e-10, 1e-9
				if p == fastblas.PureGo {
					tolV, tolG = 1e-4, 1e-4
				}
				a, b := results[p], results[q]
				if e := relErr(a.dual, b.dual); e > tolV {
					t.Errorf("dual on %v %v, on %v %v (rel %.2g)", p, a.dual, q, b.dual, e)
				}
				scale, diff := 0.0, 0.0
				for i := range a.g {
					scale = math.Max(scale, math.Abs(float64(a.g[i])))
					diff = math.Max(diff, math.Abs(float64(a.g[i]-b.g[i])))
				}
				if diff > tolG*scale || !(scale > 0) {
					t.Errorf("gradients on %v and %v differ by %.2g of their largest entry", p, q, diff/scale)
				}
				t.Logf("%v vs %v: dual %v, rel %.2g, gradient %.2g of max", p, q, a.dual, relErr(a.dual, b.dual), diff/scale)
			}
		}
	}
}

// A large float32 divergence in the scaling domain holds no float64 n×m matrix: its
// forward and backward passes allocate at most two float32 matrices per record (the
// kernel made in place of x·yᵀ, and its rebuild for the backward pass, whose float32
// copy of C̄ overwrites it) besides the potentials and blocks of C̄ (reused from the
// pools or not). Before, a float64 cost, kernel and C̄ were made. And the float32
// bound CheckUnrolled applies covers at least that.
func TestUnrolled32ScaledAllocations(t *testing.T) {
	defer func(v int) { keepKernelMax = v }(keepKernelMax)
	keepKernelMax = 1000           // the large-problem form, at a test's size
	const n, m, L = 1201, 1203, 20 // sizes no other test uses: no pooled matrices to reuse
	xs, _ := divergence32Case(n, 2)
	_, ys := divergence32Case(m, 2)
	g := make([]float32, 2*n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := UnrolledSinkhornDivergence(xs, ys, nil, nil, SqEuclidean, 0.01, &UnrolledOptions{Iterations: L})
	if err != nil {
		t.Fatal(err)
	}
	d.Backward(1, 0, FromFloat32(n, 2, g), Points{})
	runtime.ReadMemStats(&after)
	if !d.XY.Scaled || d.XY.no32 || !d.XX.Scaled || !d.YY.Scaled {
		t.Fatalf("not the float32 kernel's scaling domain")
	}
	d.Release()
	sum := area(n, m) + area(n, n) + area(m, m)
	tape := 3 * float64(L+1) * float64(n+m)         // the scalings
	ab := 3 * 2 * float64(2*L) * float64(max(n, m)) // the adjoints' factors A, B
	side := float64(max(maxBlock(cbarBlocks(n)), maxBlock(cbarBlocks(m))))
	limit := 4*2*sum + 8*(tape+ab+2*side*side) + (1 << 20) // and two blocks of C̄
	got := float64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("allocated %.1f MiB; two float32 matrices per record: %.1f MiB; limit %.1f MiB", got/(1<<20), 4*2*sum/(1<<20), limit/(1<<20))
	if got > limit {
		t.Errorf("fwd+bwd allocated %.1f MiB, more than %.1f MiB", got/(1<<20), limit/(1<<20))
	}
	if e := 8 * unrolled32Matrices(n, m, true); e < 4*2*sum {
		t.Errorf("unrolled32Matrices: %.0f bytes, below the scaling domain's %.0f", e, 4*2*sum)
	}
}

// The blocked backward pass of a large float32 record (C̄ made a block at a time over
// the rebuilt kernel) gives the same bits as the whole-matrix one on every fastblas
// path: cross and symmetric terms, both destinations, with the primal's direct term,
// on one block and on several (n = 900: blocks of 384 and 516), and on a float64
// kernel (ε = 0.1 in 784-D rules float32 out). The same for the powers p ≠ 2, whose
// gradient weights c'(d²) are made a block at a time too: on one block (784-D) and on
// several (16-D Gaussians, whose pairs are far enough apart for p < 2 to stay in
// float32), at ε a tenth of the mean cost.
func TestUnrolled32BlockedBackward(t *testing.T) {
	old, _ := fastblas.Active()
	defer fastblas.SetPath(old)
	defer func(v int) { keepKernelMax = v }(keepKernelMax)
	x2, y2 := divergence32Case(900, 2)
	x7, y7 := divergence32Case(300, 784)
	rng := newTestRand(12)
	x6, y6 := gaussian32(rng, 900, 16, 0), gaussian32(rng, 900, 16, 0.3)
	cost := SqEuclidean
	grads := func(x, y Points, eps float64, keep int) ([]float32, []float32) {
		keepKernelMax = keep
		d, err := UnrolledSinkhornDivergence(x, y, nil, nil, cost, eps, &UnrolledOptions{Iterations: 15})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Release()
		r, c := x.Dims()
		gx, gy := make([]float32, r*c), make([]float32, r*c)
		d.Backward(1, 0.5, FromFloat32(r, c, gx), FromFloat32(r, c, gy))
		return gx, gy
	}
	for _, p := range fastblas.Paths() {
		fastblas.SetPath(p)
		for _, c := range []struct {
			x, y Points
			eps  float64
		}{{x2, y2, 0.01}, {x7, y7, 1}, {x7, y7, 0.1}} {
			wx, wy := grads(c.x, c.y, c.eps, 1<<22)
			gx, gy := grads(c.x, c.y, c.eps, 1000)
			for i := range wx {
				if math.Float32bits(gx[i]) != math.Float32bits(wx[i]) || math.Float32bits(gy[i]) != math.Float32bits(wy[i]) {
					t.Fatalf("%v, n = %d, ε = %g: gradient %d is (%v, %v) blocked, (%v, %v) whole", p, c.x.f32.Rows, c.eps, i, gx[i], gy[i], wx[i], wy[i])
				}
			}
		}
		for _, c := range powerCosts {
			cost = c
			for _, pts := range [][2]Points{{x7, y7}, {x6, y6}} {
				x, y := pts[0], pts[1]
				eps := 0.1 * meanCost(c, x, y)
				d, err := UnrolledSinkhornDivergence(x, y, nil, nil, c, eps, &UnrolledOptions{Iterations: 15})
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range []*Unrolled{d.XY, d.XX, d.YY} {
					if u.g32 == nil || !u.Scaled {
						t.Fatalf("%v, %v: a record left the float32 scaling domain", p, c)
					}
				}
				d.Release()
				wx, wy := grads(x, y, eps, 1<<22)
				gx, gy := grads(x, y, eps, 1000)
				for i := range wx {
					if math.Float32bits(gx[i]) != math.Float32bits(wx[i]) || math.Float32bits(gy[i]) != math.Float32bits(wy[i]) {
						t.Fatalf("%v, %v, n = %d: gradient %d is (%v, %v) blocked, (%v, %v) whole", p, c, x.f32.Rows, i, gx[i], gy[i], wx[i], wy[i])
					}
				}
			}
		}
		cost = SqEuclidean
	}
}
