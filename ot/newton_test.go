package ot

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// Bounds the Newton finisher's tests hold it to: at most this many Newton steps, and
// this wall time per solve (sizes up to 100, on a shared 2-core machine; a solve takes
// a few milliseconds when the machine is quiet).
const (
	newtonStepBound = 25
	newtonTimeBound = 2 * time.Second
)

// planCheck recomputes the plan of potentials f, g independently of the solver,
// P_ij = a_i b_j exp((f_i + g_j − C_ij)/ε), and returns its ℓ1 marginal error (both
// marginals) and the primal value ⟨P,C⟩ + ε·KL(P|a⊗b), and the plan.
func planCheck(a, b []float64, C *mat.Dense, eps float64, f, g []float64) (marg, primal float64, P *mat.Dense) {
	n, m := C.Dims()
	P = mat.NewDense(n, m, nil)
	cols := make([]float64, m)
	for i := range n {
		row := 0.0
		for j := range m {
			e := (f[i] + g[j] - C.At(i, j)) / eps
			p := a[i] * b[j] * math.Exp(e)
			P.Set(i, j, p)
			row += p
			cols[j] += p
			primal += p * C.At(i, j)
			if p > 0 {
				primal += eps * p * e // log(P_ij/(a_i b_j)) = e
			}
		}
		marg += math.Abs(row - a[i])
	}
	for j, c := range cols {
		marg += math.Abs(c - b[j])
	}
	return marg, primal, P
}

// gapOK reports whether the primal value of the plan of (f, g) and the dual
// ⟨a,f⟩ + ⟨b,g⟩ differ by at most what its marginal error allows: their difference is
// ⟨P1 − a, f⟩ + ⟨Pᵀ1 − b, g⟩, at most marg·max|f, g|, plus rounding.
func gapOK(primal, dual, marg float64, f, g []float64) bool {
	mx := 0.0
	for _, v := range append(append([]float64(nil), f...), g...) {
		mx = math.Max(mx, math.Abs(v))
	}
	return math.Abs(primal-dual) <= marg*mx+1e-14*math.Abs(dual)
}

// Issue 17, item 6. On these instances (testdata/gen_newton.py: normal clouds, uniform
// or uneven commensurate weights, ε from 0.005 to 0.05, chosen so that POT's own
// log-domain Sinkhorn is still above 1e-9 after 20 000 iterations) Sinkhorn with the
// Newton finisher meets Tol = 1e-12, with both methods, with and without ε-scaling,
// within the default budget of Sinkhorn iterations, newtonStepBound Newton steps and
// newtonTimeBound. The references were solved independently (POT's sinkhorn_log, then
// Newton on the full dual with residuals in extended precision, marginal error ~1e-17).
func TestNewtonFixtures(t *testing.T) {
	for _, name := range []string{"newton_25x25_eps0.01_uniform", "newton_10x40_eps0.005_weighted",
		"newton_60x45_eps0.02_weighted", "newton_100x100_eps0.05_weighted"} {
		fx := loadFixture(t, name)
		C, a, b, eps := fixtureDense(t, fx, "C"), fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b"), fixtureFloat(t, fx, "eps")
		if e := fixtureFloat(t, fx, "marginal_error"); e > 1e-15 {
			t.Fatalf("%s: the reference has marginal error %g", name, e)
		}
		refF, refG := fixtureFloats(t, fx, "f"), fixtureFloats(t, fx, "g")
		refCost, emd := fixtureFloat(t, fx, "ot_eps"), fixtureFloat(t, fx, "emd")
		for _, method := range []SinkhornMethod{LogDomain, Stabilized} {
			for _, scaling := range []float64{0, 0.5} {
				t.Run(fmt.Sprintf("%s/%v/scaling%g", name, method, scaling), func(t *testing.T) {
					start := time.Now()
					res, err := Sinkhorn(a, b, C, eps, &SinkhornOptions{Method: method, Tol: 1e-12, EpsScaling: scaling})
					took := time.Since(start)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("ε-scaling %g: %d Sinkhorn iterations, %d Newton steps, marginal error %.2g, %v", scaling, res.Iterations, res.NewtonIterations, res.MarginalError, took)
					if !res.Converged || res.MarginalError > 1e-12 {
						t.Fatalf("converged %v, marginal error %g", res.Converged, res.MarginalError)
					}
					if res.NewtonIterations < 1 || res.NewtonIterations > newtonStepBound || res.Iterations > DefaultSinkhornMaxIter {
						t.Errorf("%d Sinkhorn iterations and %d Newton steps, want Newton to finish within %d", res.Iterations, res.NewtonIterations, newtonStepBound)
					}
					if took > newtonTimeBound {
						t.Errorf("took %v, bound %v", took, newtonTimeBound)
					}
					// The dual optimality conditions, checked on the plan of the potentials.
					marg, primal, P := planCheck(a, b, C, eps, res.F, res.G)
					if marg > 1e-12 {
						t.Errorf("the plan of F, G has marginal error %g", marg)
					}
					if !gapOK(primal, res.Dual, marg, res.F, res.G) || !gapOK(res.Cost, res.Dual, marg, res.F, res.G) {
						t.Errorf("primal %.17g (recomputed %.17g) and dual %.17g differ by more than the marginal error %g allows", res.Cost, primal, res.Dual, marg)
					}
					for _, c := range []struct {
						what      string
						got, want float64
					}{{"cost", res.Cost, refCost}, {"dual", res.Dual, refCost}} {
						if e := relErr(c.got, c.want); e > 1e-12 {
							t.Errorf("%s %.17g, reference %.17g (rel err %.2g)", c.what, c.got, c.want, e)
						}
					}
					// The potentials themselves can be ill-determined (a shift between blocks
					// of the plan that tiny entries couple moves the marginals by next to
					// nothing): compare the plans.
					if _, _, refP := planCheck(a, b, C, eps, refF, refG); !mat.EqualApprox(P, refP, 1e-12) {
						t.Errorf("the plan differs from the reference's")
					}
					// POT's exact solver bounds OT_ε: emd ≤ ⟨P_ε,C⟩ ≤ OT_ε ≤ emd + ε·min(H(a), H(b)).
					if !(emd <= res.LinearCost*(1+1e-12) && res.Cost <= emd+eps*min(entropy(a), entropy(b))) {
						t.Errorf("emd %.15g, ⟨P,C⟩ %.15g, OT_ε %.15g: outside the bounds of the exact solution", emd, res.LinearCost, res.Cost)
					}
				})
			}
		}
	}
}

// The stall, and that the finisher is what ends it: without it, Sinkhorn is still far
// from 1e-12 after a million iterations on the instance (25 vs 25 points,
// uniform weights, ε = 0.01).
func TestSinkhornStallsWithoutNewton(t *testing.T) {
	fx := loadFixture(t, "newton_25x25_eps0.01_uniform")
	C, eps := fixtureDense(t, fx, "C"), fixtureFloat(t, fx, "eps")
	res, err := Sinkhorn(nil, nil, C, eps, &SinkhornOptions{Method: Stabilized, Tol: 1e-12, MaxIter: 1000000, NoNewton: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("without Newton: %d iterations, marginal error %.2g", res.Iterations, res.MarginalError)
	if res.Converged || res.MarginalError < 1e-10 || res.NewtonIterations != 0 {
		t.Errorf("without Newton: converged %v, marginal error %g, %d Newton steps; want the stall", res.Converged, res.MarginalError, res.NewtonIterations)
	}
	fin, err := Sinkhorn(nil, nil, C, eps, &SinkhornOptions{Method: Stabilized, Tol: 1e-12, MaxIter: 1000000})
	if err != nil {
		t.Fatal(err)
	}
	// The stall test hands over long before the budget, within the first five windows
	// of MaxIter/20 iterations.
	if !fin.Converged || fin.NewtonIterations == 0 || fin.Iterations > 250001 {
		t.Errorf("with Newton: converged %v after %d + %d iterations", fin.Converged, fin.Iterations, fin.NewtonIterations)
	}
}

// unitWeights returns n weights k_i/K, integers k_i ≥ 1 summing to K: uneven, but with
// equal partial sums on both sides, which make the exact problem degenerate and
// Sinkhorn slow (as gen_newton.py's unit_weights).
func unitWeights(rng *rand.Rand, n, K int) []float64 {
	k, s := make([]int, n), n
	for i := range k {
		k[i] = 1
	}
	for s < K {
		if i := rng.IntN(n); k[i] < K/n+2 {
			k[i]++
			s++
		}
	}
	w := make([]float64, n)
	for i := range w {
		w[i] = float64(k[i]) / float64(K)
	}
	return w
}

// A family of hard instances: sizes 10 to 100, ε from 0.005 to 0.05, uniform and
// uneven weights, three seeds each. Every solve meets 1e-12 within the bounds, checked
// on the plan of the returned potentials (up to the rounding of its sums, which the
// solver's own test allows too); most need the finisher (Sinkhorn alone does not
// converge within its default budget).
func TestNewtonFamily(t *testing.T) {
	needed, total := 0, 0
	for _, c := range []struct {
		n, m int
		eps  float64
		K    int // 0: uniform weights
	}{{10, 10, 0.005, 0}, {10, 40, 0.005, 40}, {40, 30, 0.01, 60}, {60, 45, 0.02, 90}, {100, 100, 0.05, 0}, {100, 100, 0.02, 200}} {
		for seed := uint64(1); seed <= 3; seed++ {
			rng := newTestRand(1700 + seed)
			x, y := randCloud(rng, c.n, 2, 0), randCloud(rng, c.m, 2, 0.5)
			var a, b []float64
			if c.K > 0 {
				a, b = unitWeights(rng, c.n, c.K), unitWeights(rng, c.m, c.K)
			} else {
				a, b = uniformWeights(c.n), uniformWeights(c.m)
			}
			C, err := SqEuclidean.Matrix(x, y)
			if err != nil {
				t.Fatal(err)
			}
			method := []SinkhornMethod{LogDomain, Stabilized}[seed%2]
			start := time.Now()
			res, err := Sinkhorn(a, b, C, c.eps, &SinkhornOptions{Method: method, Tol: 1e-12})
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			marg, primal, _ := planCheck(a, b, C, c.eps, res.F, res.G)
			if !res.Converged || res.MarginalError > 1e-12 || marg > 1e-12+float64(c.n+c.m)*0x1p-52 || !gapOK(primal, res.Dual, marg, res.F, res.G) {
				t.Errorf("%v seed %d %v: converged %v, marginal error %g (recomputed %g), primal %.17g dual %.17g",
					c, seed, method, res.Converged, res.MarginalError, marg, primal, res.Dual)
			}
			if res.NewtonIterations > newtonStepBound || took > newtonTimeBound {
				t.Errorf("%v seed %d: %d Newton steps in %v", c, seed, res.NewtonIterations, took)
			}
			total++
			if res.NewtonIterations > 0 {
				needed++
			}
		}
	}
	t.Logf("%d of %d instances needed the finisher", needed, total)
	if needed < total/2 {
		t.Errorf("only %d of %d instances needed the finisher: the family is not hard", needed, total)
	}
}

func uniformWeights(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / float64(n)
	}
	return w
}

// Problems that converge without the finisher give bit-identical results with it: it
// never triggers on them. The fixtures' problems with TestSinkhornFixtures' settings,
// and with the defaults where those converge.
func TestNewtonNotOnConvergingProblems(t *testing.T) {
	for _, name := range []string{"sinkhorn_eps1_uniform", "sinkhorn_eps0.05_weighted", "sinkhorn_eps0.01_uniform"} {
		fx := loadFixture(t, name)
		x, y := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y")
		a, b, eps := fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b"), fixtureFloat(t, fx, "eps")
		for _, method := range []SinkhornMethod{LogDomain, Stabilized} {
			for _, o := range []SinkhornOptions{{Tol: 1e-13, MaxIter: 500000, Plan: true}, {Plan: true}, {EpsScaling: 0.5}} {
				o.Method = method
				if eps < 0.05 && (method == LogDomain || o.MaxIter == 0) {
					continue // too slow for a unit test / does not converge in the default budget
				}
				off := o
				off.NoNewton = true
				want, err := SinkhornPoints(x, y, a, b, SqEuclidean, eps, &off)
				if err != nil {
					t.Fatal(err)
				}
				if !want.Converged {
					t.Fatalf("%s %v %+v: the reference solve did not converge", name, method, off)
				}
				got, err := SinkhornPoints(x, y, a, b, SqEuclidean, eps, &o)
				if err != nil {
					t.Fatal(err)
				}
				same := got.NewtonIterations == 0 && got.Iterations == want.Iterations && got.Dual == want.Dual &&
					got.Cost == want.Cost && got.MarginalError == want.MarginalError && maxAbsDiff(got.F, want.F) == 0 && maxAbsDiff(got.G, want.G) == 0
				if o.Plan {
					same = same && mat.Equal(got.Plan, want.Plan)
				}
				if !same {
					t.Errorf("%s %v %+v: %d+%d iterations, dual %.17g; without the finisher %d, %.17g", name, method, o, got.Iterations, got.NewtonIterations, got.Dual, want.Iterations, want.Dual)
				}
			}
		}
	}
}

// The stall test's decisions: a stalled or too slow error hands over, a steady one
// within the budget does not, and MaxIter hands over only after a whole window.
func TestStallWatch(t *testing.T) {
	o := SinkhornOptions{Tol: 1e-12, MaxIter: 10000}
	run := func(errs func(k int) float64, until int) (*stallWatch, int) {
		w := &stallWatch{window: max(MinStallWindow, o.MaxIter/20)}
		for k := 1; k <= until; k++ {
			if w.observe(errs(k), k, o) {
				return w, k
			}
		}
		return w, until
	}
	// Steady: 1e-2 down to 1e-12 in 8000 iterations, within the budget of 10000.
	steady := func(k int) float64 { return 1e-2 * math.Pow(1e-10, float64(k)/8000) }
	if w, k := run(steady, 8000); w.stalled || w.handsOver(k, o) {
		t.Errorf("a steady rate within the budget stopped at %d", k)
	}
	// Too slow: the same decrease would take 40000 iterations.
	if w, k := run(func(k int) float64 { return 1e-2 * math.Pow(1e-10, float64(k)/40000) }, o.MaxIter); !w.stalled || k > 2*w.window+1 {
		t.Errorf("a rate needing 4×MaxIter: stalled %v at %d", w.stalled, k)
	}
	// Stopped decreasing.
	if w, k := run(func(k int) float64 { return 1e-7 * (1 + 1e-3*math.Sin(float64(k))) }, o.MaxIter); !w.stalled || k > 2*w.window+1 {
		t.Errorf("a flat error: stalled %v at %d", w.stalled, k)
	}
	// MaxIter: a plain cap before a whole window has been watched.
	if w, k := run(steady, 300); w.handsOver(k, SinkhornOptions{Tol: 1e-12, MaxIter: 300}) {
		t.Errorf("MaxIter 300 with a window of %d handed over", w.window)
	}
	if w, _ := run(steady, 1200); !w.handsOver(1200, SinkhornOptions{Tol: 1e-12, MaxIter: 1200}) {
		t.Errorf("MaxIter reached after a watched window did not hand over")
	}
}

func TestNewtonOptions(t *testing.T) {
	fx := loadFixture(t, "newton_25x25_eps0.01_uniform")
	C, eps := fixtureDense(t, fx, "C"), fixtureFloat(t, fx, "eps")
	if _, err := Sinkhorn(nil, nil, C, eps, &SinkhornOptions{NewtonMaxIter: -1}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("NewtonMaxIter −1: %v, want ErrInvalidInput", err)
	}
	res, err := Sinkhorn(nil, nil, C, eps, &SinkhornOptions{Tol: 1e-12, NewtonMaxIter: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewtonIterations != 1 || res.Converged {
		t.Errorf("one Newton step: %d steps, converged %v (marginal error %g)", res.NewtonIterations, res.Converged, res.MarginalError)
	}
	// ErrorNorm 2 (POT's criterion): Newton stops on the ℓ2 error.
	res, err = Sinkhorn(nil, nil, C, eps, &SinkhornOptions{Tol: 1e-13, ErrorNorm: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Converged || res.NewtonIterations == 0 {
		t.Errorf("ErrorNorm 2: converged %v after %d+%d iterations, marginal error %g", res.Converged, res.Iterations, res.NewtonIterations, res.MarginalError)
	}
	// Too large for the finisher's matrices: Sinkhorn's result as without it.
	defer func(old int64) { MaxDenseBytes = old }(MaxDenseBytes)
	MaxDenseBytes = 8 * 25 * 25 * 3
	res, err = Sinkhorn(nil, nil, C, eps, &SinkhornOptions{Tol: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewtonIterations != 0 || res.Converged {
		t.Errorf("without room for the Newton matrices: %d steps, converged %v", res.NewtonIterations, res.Converged)
	}
}

// Zero-weight points take no part in the Newton system (their rows are held fixed)
// and get the c-transforms of the other side's potential, as in Sinkhorn's results.
func TestNewtonZeroWeights(t *testing.T) {
	fx := loadFixture(t, "newton_25x25_eps0.01_uniform")
	C, eps := fixtureDense(t, fx, "C"), fixtureFloat(t, fx, "eps")
	n, m := C.Dims()
	a, b := uniformWeights(n), make([]float64, m)
	a[3], a[17] = 0, 0
	for i := range a {
		a[i] *= float64(n) / float64(n-2)
	}
	for j := range b {
		b[j] = 1 / float64(m-2)
	}
	b[5], b[11] = 0, 0 // 23 points of equal weight on both sides: still degenerate
	for _, method := range []SinkhornMethod{LogDomain, Stabilized} {
		res, err := Sinkhorn(a, b, C, eps, &SinkhornOptions{Method: method, Tol: 1e-12})
		if err != nil {
			t.Fatal(err)
		}
		marg, primal, _ := planCheck(a, b, C, eps, res.F, res.G)
		if !res.Converged || res.NewtonIterations == 0 || marg > 1e-12+float64(n+m)*0x1p-52 || !gapOK(primal, res.Dual, marg, res.F, res.G) {
			t.Errorf("%v: converged %v after %d+%d iterations, marginal error %g", method, res.Converged, res.Iterations, res.NewtonIterations, marg)
		}
		// f_3 is the c-transform of g: −ε log Σ_j b_j exp((g_j − C_3j)/ε).
		s := 0.0
		for j := range m {
			s += b[j] * math.Exp((res.G[j]-C.At(3, j))/eps)
		}
		if want := -eps * math.Log(s); math.Abs(res.F[3]-want) > 1e-12 {
			t.Errorf("%v: zero-weight potential %.15g, c-transform %.15g", method, res.F[3], want)
		}
	}
}
