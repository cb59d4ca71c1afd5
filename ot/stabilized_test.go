package ot

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// kernelRow must compute exp of the Go expression (alpha + beta_j − c_j)·inv within
// 2 ulp of math.Exp, flush below expMin to 0, overflow above expMax to +Inf, and flag
// every non-finite cost, for lengths around the 8-lane blocks.
func TestKernelRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	check := func(n int, got []float64, x func(j int) float64) {
		t.Helper()
		for j := range got {
			xj := x(j)
			want, tol := math.Exp(xj), 2*ulp(math.Exp(xj))
			switch {
			case xj < expMin:
				want, tol = 0, 0
			case xj > expMax:
				want, tol = math.Inf(1), 0
			case xj > 700:
				// math.Exp on amd64 overflows a little below expMax
				want = math.Exp(xj-10) * math.Exp(10)
				tol = 4 * ulp(want)
			}
			ok := got[j] == want || math.Abs(got[j]-want) <= tol
			if !ok {
				t.Fatalf("n=%d: exp(%v) = %v, want %v", n, xj, got[j], want)
			}
		}
	}
	for n := 1; n < 40; n++ {
		c, beta := make([]float64, n+2), make([]float64, n+2)
		for j := range c {
			c[j] = 3 * rng.Float64()
			beta[j] = rng.NormFloat64()
		}
		alpha, inv := rng.NormFloat64(), 1/0.013
		got := make([]float64, n)
		if !kernelRow(got, c, beta, alpha, inv) {
			t.Fatalf("n=%d: finite costs reported non-finite", n)
		}
		check(n, got, func(j int) float64 { return (alpha + beta[j] - c[j]) * inv })
		for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			for j := 0; j < n; j++ {
				old := c[j]
				c[j] = bad
				if kernelRow(got, c, beta, alpha, inv) {
					t.Fatalf("n=%d: cost %v at %d not flagged", n, bad, j)
				}
				c[j] = old
			}
			c[n] = bad // past the row: not its business
			if !kernelRow(got, c, beta, alpha, inv) {
				t.Fatalf("n=%d: cost past the row flagged", n)
			}
			c[n] = 1
		}
	}
	// The whole range of x, its ends and beyond, with inv = 1 and alpha = 0.
	var xs []float64
	for x := -760.0; x < 760; x += 0.37 {
		xs = append(xs, x, -x*1e-3, x*1e-9)
	}
	xs = append(xs, 0, -0.0, expMin, expMax, math.Nextafter(expMin, 0), math.Nextafter(expMin, -1000),
		math.Nextafter(expMax, 0), math.Nextafter(expMax, 1000), -1e300, 1e300)
	c, beta, got := make([]float64, len(xs)), make([]float64, len(xs)), make([]float64, len(xs))
	for j, x := range xs {
		c[j] = -x
	}
	if !kernelRow(got, c, beta, 0, 1) {
		t.Fatal("finite costs reported non-finite")
	}
	check(len(xs), got, func(j int) float64 { return xs[j] })
	// NaN in alpha or beta (not a cost) gives NaN, unflagged.
	beta[3] = math.NaN()
	kernelRow(got, c, beta, 0, 1)
	if !math.IsNaN(got[3]) {
		t.Fatalf("NaN exponent gave %v", got[3])
	}
}

// ulp is the spacing of float64 values at |x|.
func ulp(x float64) float64 {
	x = math.Abs(x)
	return math.Nextafter(x, math.Inf(1)) - x
}

func TestDot3(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for n := 0; n < 70; n++ {
		x, y, z := make([]float64, n), make([]float64, n+1), make([]float64, n+2)
		for _, v := range [][]float64{x, y, z} {
			for i := range v {
				v[i] = rng.NormFloat64()
			}
		}
		want, scale := 0.0, 0.0
		for i := range x {
			want += x[i] * y[i] * z[i]
			scale += math.Abs(x[i] * y[i] * z[i])
		}
		if got := dot3(x, y, z); math.Abs(got-want) > 1e-14*scale {
			t.Errorf("n=%d: dot3 = %v, want %v", n, got, want)
		}
	}
}

// The stabilized solver checks the costs inside its first kernel build: a NaN or
// infinite cost anywhere, in small (inline) and large (parallel) problems, must still
// be an ErrInvalidInput naming the entry, as the upfront check gives.
func TestStabilizedBadCost(t *testing.T) {
	for _, n := range []int{3, 21, 300} {
		a, b, C := seedBenchProblem(n)
		raw := C.RawMatrix().Data
		for _, at := range []int{0, n*n/2 + 1, n*n - 1} {
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				old := raw[at]
				raw[at] = bad
				want := costMatrix(C, n, n)
				for _, o := range []*SinkhornOptions{
					{Method: Stabilized, Tol: 1e-2},
					{Method: Stabilized, Tol: 1e-2, EpsScaling: 0.5},
					{Method: LogDomain, Tol: 1e-2},
				} {
					res, err := Sinkhorn(a, b, C, 0.1, o)
					if !errors.Is(err, ErrInvalidInput) || err.Error() != want.Error() || res != nil {
						t.Fatalf("n=%d, cost[%d] = %v, %+v: got %v, %v; want %v", n, at, bad, *o, res, err, want)
					}
				}
				raw[at] = old
			}
		}
		// and the same problem, finite again, still solves (nothing stale in the pool)
		if res, err := Sinkhorn(a, b, C, 0.1, &SinkhornOptions{Method: Stabilized, Tol: 1e-6}); err != nil || !res.Converged {
			t.Fatalf("n=%d: after the bad costs: %v", n, err)
		}
	}
}

// The result of a stabilized solve must not depend on whether finish takes the plan's
// marginals from the iteration or recomputes them: compare with the full pass.
func TestStabilizedFinishMarginals(t *testing.T) {
	for _, n := range []int{40, 300} {
		a, b, C := seedBenchProblem(n)
		a[0], a[n-1] = a[0]+a[n-1], 0 // a zero weight on each side
		b[3], b[5] = b[3]+b[5], 0
		for _, eps := range []float64{0.02, 0.1} {
			for _, plan := range []bool{false, true} {
				o := &SinkhornOptions{Method: Stabilized, Tol: 1e-4, ErrorNorm: 2, Plan: plan}
				res, err := Sinkhorn(a, b, C, eps, o)
				if err != nil {
					t.Fatal(err)
				}
				p, _ := newProblem(a, b, C, n, n)
				f, g := append([]float64(nil), res.F...), append([]float64(nil), res.G...)
				full := &SinkhornResult{}
				p.finish(full, f, g, eps, plan, nil) // from the potentials, with exps
				for _, c := range []struct {
					name      string
					got, want float64
					tol       float64
				}{
					{"cost", res.Cost, full.Cost, 1e-10},
					{"linear cost", res.LinearCost, full.LinearCost, 1e-10},
					{"KL", res.KL, full.KL, 1e-8},
					{"dual", res.Dual, full.Dual, 1e-12},
					{"marginal error", res.MarginalError, full.MarginalError, 1e-8},
				} {
					if math.Abs(c.got-c.want) > c.tol*math.Max(1, math.Abs(c.want)) {
						t.Errorf("n=%d eps=%g plan=%v: %s %v, from the potentials %v", n, eps, plan, c.name, c.got, c.want)
					}
				}
				if plan {
					var diff mat.Dense
					diff.Sub(res.Plan, full.Plan)
					if d := mat.Norm(&diff, math.Inf(1)); d > 1e-10 {
						t.Errorf("n=%d eps=%g: plans differ by %g", n, eps, d)
					}
				}
			}
		}
	}
}

// dot4 against four dots, and axpy4 against four axpy calls in row order (the same
// bits: one fused multiply-add per row and entry), around the blocks and tails.
func TestDot4Axpy4(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for m := 1; m < 40; m++ {
		stride := m + 3
		k := make([]float64, 3*stride+m+1)
		v, acc := make([]float64, m), make([]float64, m)
		for _, s := range [][]float64{k, v, acc} {
			for i := range s {
				s[i] = rng.NormFloat64()
			}
		}
		var got [4]float64
		dot4(k, stride, v, &got)
		for r := range got {
			row := k[r*stride : r*stride+m]
			want, scale := 0.0, 0.0
			for j := range row {
				want += row[j] * v[j]
				scale += math.Abs(row[j] * v[j])
			}
			if math.Abs(got[r]-want) > 1e-14*scale {
				t.Errorf("m=%d: dot4 row %d = %v, want %v", m, r, got[r], want)
			}
		}
		x := [4]float64{0.3, -1.7, 2.5, 0}
		want := append([]float64(nil), acc...)
		for r, xr := range x {
			axpy(xr, k[r*stride:r*stride+m], want)
		}
		axpy4(k, stride, &x, acc)
		for j := range acc {
			if math.Float64bits(acc[j]) != math.Float64bits(want[j]) {
				t.Fatalf("m=%d: axpy4 entry %d = %v, four axpy %v", m, j, acc[j], want[j])
			}
		}
	}
}

// TestStabilizedDeterministic checks that repeated stabilized solves give identical
// bits with 2 threads, and with GOMAXPROCS = 1 (where the pool is not used).
func TestStabilizedDeterministic(t *testing.T) {
	a, b, C := seedBenchProblem(300) // 300² entries: parallel sweeps
	for _, procs := range []int{1, 2, 3} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			var first *SinkhornResult
			for rep := 0; rep < 10; rep++ {
				res, err := Sinkhorn(a, b, C, 0.02, &SinkhornOptions{Method: Stabilized, Tol: 1e-6, ErrorNorm: 2})
				if err != nil {
					t.Fatal(err)
				}
				if first == nil {
					first = res
					if !res.Converged || res.Iterations < 10 {
						t.Fatalf("procs=%d: converged %v after %d iterations", procs, res.Converged, res.Iterations)
					}
					continue
				}
				same := res.Iterations == first.Iterations &&
					math.Float64bits(res.Cost) == math.Float64bits(first.Cost) &&
					math.Float64bits(res.MarginalError) == math.Float64bits(first.MarginalError)
				for i := range res.F {
					same = same && math.Float64bits(res.F[i]) == math.Float64bits(first.F[i])
				}
				for j := range res.G {
					same = same && math.Float64bits(res.G[j]) == math.Float64bits(first.G[j])
				}
				if !same {
					t.Fatalf("procs=%d rep %d: result differs from the first run", procs, rep)
				}
			}
		}()
	}
}
