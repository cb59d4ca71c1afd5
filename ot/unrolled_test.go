package ot

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"

	"gonum.org/v1/gonum/mat"
)

// The fixtures hold PyTorch autograd through exactly these updates: values and all
// gradients must agree to 1e-8 relative (float64). unrolled_L* are ../shared/fixtures'
// (alternating updates in all three problems: AlternatingSelf), unrolled_averaged_L*
// the default's averaged self updates on the same inputs (testdata/gen_unrolled.py).
func TestUnrolledFixtures(t *testing.T) {
	for _, name := range []string{"unrolled_L1", "unrolled_L10", "unrolled_L50", "unrolled_averaged_L1", "unrolled_averaged_L10", "unrolled_averaged_L50"} {
		t.Run(name, func(t *testing.T) {
			fx := loadFixture(t, name)
			x, y := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y")
			a, b := fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b")
			eps, opts := fixtureFloat(t, fx, "eps"), &UnrolledOptions{Iterations: int(fixtureFloat(t, fx, "L"))}
			opts.AlternatingSelf = !strings.Contains(name, "averaged")
			d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), a, b, SqEuclidean, eps, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				field string
				got   float64
			}{
				{"dual_xy", d.XY.Dual}, {"primal_xy", d.XY.Primal()}, {"dual_xx", d.XX.Dual}, {"dual_yy", d.YY.Dual},
				{"primal_xx", d.XX.Primal()}, {"primal_yy", d.YY.Primal()}, {"divergence", d.Dual}, {"genevay", d.Primal()},
			} {
				if e := relErr(c.got, fixtureFloat(t, fx, c.field)); e > 1e-8 {
					t.Errorf("%s = %.15g, want %.15g (rel %.2g)", c.field, c.got, fixtureFloat(t, fx, c.field), e)
				}
			}
			if e := maxAbsDiff(d.XY.F, fixtureFloats(t, fx, "f")); e > 1e-8 {
				t.Errorf("f differs by %g", e)
			}
			for _, c := range []struct {
				name          string
				dDual, dPrim  float64
				only          bool // gradient of the xy dual alone
				fieldX, field string
			}{
				{"divergence", 1, 0, false, "grad_divergence_x", "grad_divergence_y"},
				{"genevay", 0, 1, false, "grad_genevay_x", "grad_genevay_y"},
				{"dual_xy", 1, 0, true, "grad_dual_xy_x", "grad_dual_xy_y"},
			} {
				n, dim := x.Dims()
				m, _ := y.Dims()
				gx, gy := mat.NewDense(n, dim, nil), mat.NewDense(m, dim, nil)
				if c.only {
					d.XY.Backward(c.dDual, c.dPrim, FromDense(gx), FromDense(gy))
				} else {
					d.Backward(c.dDual, c.dPrim, FromDense(gx), FromDense(gy))
				}
				for _, g := range []struct {
					got   *mat.Dense
					field string
				}{{gx, c.fieldX}, {gy, c.field}} {
					want := fixtureDense(t, fx, g.field)
					scale := mat.Norm(want, math.Inf(1))
					var diff mat.Dense
					diff.Sub(g.got, want)
					if e := mat.Norm(&diff, math.Inf(1)); e > 1e-8*scale {
						t.Errorf("%s: %s differs by %.3g (scale %.3g)", c.name, g.field, e, scale)
					}
				}
			}
		})
	}
}

// Central differences of the whole unrolled loss, for costs and ε schedules the
// fixtures do not cover (an annealed schedule, |x−y| and |x−y|^1.5).
func TestUnrolledFiniteDifferences(t *testing.T) {
	rng := newTestRand(41)
	x, y := randCloud(rng, 6, 3, 0), randCloud(rng, 5, 3, 0.5)
	a, b := randWeights(rng, 6), randWeights(rng, 5)
	for _, c := range []Cost{SqEuclidean, Euclidean, PowerCost(1.5)} {
		for _, run := range []struct {
			eps  float64
			opts *UnrolledOptions
		}{{0.5, &UnrolledOptions{Iterations: 7}}, {0.3, &UnrolledOptions{Iterations: 12, EpsScaling: 0.6, EpsStart: 4}}} {
			for _, seed := range [][2]float64{{1, 0}, {0, 1}, {0.3, -0.7}} {
				value := func(x, y *mat.Dense) float64 {
					d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), a, b, c, run.eps, run.opts)
					if err != nil {
						t.Fatal(err)
					}
					return seed[0]*d.Dual + seed[1]*d.Primal()
				}
				d, _ := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), a, b, c, run.eps, run.opts)
				gx, gy := mat.NewDense(6, 3, nil), mat.NewDense(5, 3, nil)
				d.Backward(seed[0], seed[1], FromDense(gx), FromDense(gy))
				checkPointGradients(t, c.String(), x, y, gx, gy, value, 1e-6)
			}
		}
	}
}

// checkPointGradients compares gx, gy with central differences of value.
func checkPointGradients(t *testing.T, name string, x, y, gx, gy *mat.Dense, value func(x, y *mat.Dense) float64, tol float64) {
	t.Helper()
	const h = 1e-6
	scale := math.Max(1e-3, math.Max(mat.Norm(gx, math.Inf(1)), mat.Norm(gy, math.Inf(1))))
	for side, P := range []*mat.Dense{x, y} {
		G := []*mat.Dense{gx, gy}[side]
		n, d := P.Dims()
		for i := 0; i < n; i++ {
			for k := 0; k < d; k++ {
				v := P.At(i, k)
				P.Set(i, k, v+h)
				up := value(x, y)
				P.Set(i, k, v-h)
				down := value(x, y)
				P.Set(i, k, v)
				if fd := (up - down) / (2 * h); math.Abs(fd-G.At(i, k)) > tol*scale {
					t.Errorf("%s: ∂/∂%c[%d,%d] = %.10g, finite difference %.10g", name, "xy"[side], i, k, G.At(i, k), fd)
				}
			}
		}
	}
}

// With many iterations the unrolled gradient, the envelope gradient and the gradient
// of the converged divergence agree.
func TestUnrolledConvergedGradients(t *testing.T) {
	rng := newTestRand(43)
	x, y := randCloud(rng, 10, 2, 0), randCloud(rng, 8, 2, 1)
	d, _ := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), nil, nil, SqEuclidean, 1, &UnrolledOptions{Iterations: 300})
	conv, _ := SinkhornDivergence(x, y, nil, nil, SqEuclidean, 1, divOpts(tight, true))
	if relErr(d.Dual, conv.Value) > 1e-10 {
		t.Errorf("unrolled S = %.15g, converged %.15g", d.Dual, conv.Value)
	}
	for _, envelope := range []bool{false, true} {
		gx, gy := mat.NewDense(10, 2, nil), mat.NewDense(8, 2, nil)
		if envelope {
			d.BackwardEnvelope(1, FromDense(gx), FromDense(gy))
		} else {
			d.Backward(1, 0, FromDense(gx), FromDense(gy))
		}
		if !mat.EqualApprox(gx, conv.Grad.X, 1e-8) || !mat.EqualApprox(gy, conv.Grad.Y, 1e-8) {
			t.Errorf("envelope=%v: gradients differ from the converged divergence's", envelope)
		}
	}
}

// From ε = 1e-3 to 1e4, with identical clouds and duplicated points, values and
// gradients stay finite. For identical clouds the three problems coincide: both losses
// are exactly 0 for every x, so moving both clouds together changes nothing (gx + gy = 0;
// each alone need not vanish, as the alternating updates treat the sides differently).
func TestUnrolledExtremes(t *testing.T) {
	rng := newTestRand(47)
	x := randCloud(rng, 12, 2, 0)
	dup := mat.NewDense(12, 2, nil)
	dup.Copy(x)
	dup.SetRow(3, x.RawRowView(0)) // a duplicated point
	y := randCloud(rng, 9, 2, 2)
	for _, eps := range []float64{1e-3, 1e-2, 1, 1e2, 1e4} {
		for _, pair := range [][2]*mat.Dense{{x, y}, {x, x}, {dup, y}, {dup, dup}} {
			d, err := UnrolledSinkhornDivergence(FromDense(pair[0]), FromDense(pair[1]), nil, nil, SqEuclidean, eps, &UnrolledOptions{Iterations: 20})
			if err != nil {
				t.Fatal(err)
			}
			n, _ := pair[0].Dims()
			m, _ := pair[1].Dims()
			gx, gy := mat.NewDense(n, 2, nil), mat.NewDense(m, 2, nil)
			d.Backward(1, 1, FromDense(gx), FromDense(gy))
			for _, v := range append(append([]float64{d.Dual, d.Primal()}, gx.RawMatrix().Data...), gy.RawMatrix().Data...) {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("ε=%g: non-finite value or gradient", eps)
				}
			}
			if pair[0] == pair[1] {
				var sum mat.Dense
				sum.Add(gx, gy)
				if d.Dual != 0 || d.Primal() != 0 || mat.Norm(&sum, math.Inf(1)) > 1e-12*math.Max(1, mat.Norm(gx, math.Inf(1))) {
					t.Errorf("ε=%g: S(α,α) = %g, primal %g, |gx+gy| = %g", eps, d.Dual, d.Primal(), mat.Norm(&sum, math.Inf(1)))
				}
			}
		}
	}
}

func TestUnrolledBadInput(t *testing.T) {
	x := mat.NewDense(3, 2, nil)
	if _, err := UnrolledSinkhorn(FromDense(x), FromDense(x), nil, nil, SqEuclidean, 1, &UnrolledOptions{Iterations: -1}); err == nil {
		t.Error("negative iterations accepted")
	}
	if _, err := UnrolledSinkhorn(FromDense(x), FromDense(x), nil, nil, SqEuclidean, -1, nil); err == nil {
		t.Error("negative ε accepted")
	}
	if _, err := EpsSchedule(1, 0, 0, 0); err == nil {
		t.Error("L = 0 accepted")
	}
	if _, err := EpsSchedule(1, 5, 2, 0); err == nil {
		t.Error("scaling factor 2 accepted")
	}
	if s, _ := EpsSchedule(0.1, 6, 0.5, 1); s[0] != 1 || s[1] != 0.5 || s[4] != 0.1 || s[5] != 0.1 {
		t.Errorf("annealed schedule %v", s)
	}
}

// forcedLog recomputes u's record in the log domain (the path annealed schedules and
// underflowing kernels take).
func forcedLog(t *testing.T, x, y *mat.Dense, c Cost, eps float64, opts *UnrolledOptions) *Unrolled {
	t.Helper()
	u, err := UnrolledSinkhorn(FromDense(x), FromDense(y), nil, nil, c, eps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scaled {
		u.p.C = c.matrix(x, y).RawMatrix().Data
		u.p.ctCache = nil
		u.forwardLog()
		u.Dual = floats.Dot(u.p.a, u.F) + floats.Dot(u.p.b, u.G)
	}
	return u
}

// The scaling-domain record and the log-domain one compute the same iterates, values
// and gradients, across ε and costs.
func TestUnrolledScaledMatchesLog(t *testing.T) {
	rng := newTestRand(53)
	x, y := randCloud(rng, 14, 3, 0), randCloud(rng, 11, 3, 0.7)
	for _, c := range []Cost{SqEuclidean, Euclidean} {
		for _, e := range []float64{0.05, 0.3, 1, 10, 1e3} {
			opts := &UnrolledOptions{Iterations: 15}
			sc, err := UnrolledSinkhorn(FromDense(x), FromDense(y), nil, nil, c, e, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !sc.Scaled {
				t.Fatalf("%v ε=%g: the scaling domain was not used", c, e)
			}
			lg := forcedLog(t, x, y, c, e, opts)
			// f = α + ε log u: rounding in u is amplified by ε
			tol := 1e-12 * math.Max(1, e)
			if relErr(sc.Dual, lg.Dual) > tol || relErr(sc.Primal(), lg.Primal()) > tol || maxAbsDiff(sc.F, lg.F) > tol {
				t.Errorf("%v ε=%g: dual %v vs %v, primal %v vs %v", c, e, sc.Dual, lg.Dual, sc.Primal(), lg.Primal())
			}
			for _, seed := range [][2]float64{{1, 0}, {0, 1}} {
				gs, gs2 := mat.NewDense(14, 3, nil), mat.NewDense(11, 3, nil)
				gl, gl2 := mat.NewDense(14, 3, nil), mat.NewDense(11, 3, nil)
				sc.Backward(seed[0], seed[1], FromDense(gs), FromDense(gs2))
				lg.Backward(seed[0], seed[1], FromDense(gl), FromDense(gl2))
				if !mat.EqualApprox(gs, gl, 1e-10) || !mat.EqualApprox(gs2, gl2, 1e-10) {
					t.Errorf("%v ε=%g seed %v: gradients differ between domains", c, e, seed)
				}
			}
		}
	}
}

// A kernel whose column underflows entirely (a point far from all others at small ε)
// falls back to the log domain and stays finite.
func TestUnrolledScaledFallback(t *testing.T) {
	x := mat.NewDense(3, 1, []float64{0, 0.1, 0.2})
	y := mat.NewDense(2, 1, []float64{0.05, 50})
	u, err := UnrolledSinkhorn(FromDense(x), FromDense(y), nil, nil, SqEuclidean, 0.01, &UnrolledOptions{Iterations: 5})
	if err != nil {
		t.Fatal(err)
	}
	if u.Scaled || math.IsNaN(u.Dual) || math.IsInf(u.Dual, 0) {
		t.Errorf("scaled %v, dual %v: want a finite log-domain result", u.Scaled, u.Dual)
	}
}

// Dropping the kernel after the forward pass and rebuilding it for the backward pass
// changes nothing.
func TestUnrolledKernelRebuild(t *testing.T) {
	rng := newTestRand(57)
	x, y := randCloud(rng, 13, 2, 0), randCloud(rng, 9, 2, 0.5)
	grads := func() (*UnrolledDivergence, *mat.Dense, *mat.Dense) {
		d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), nil, nil, SqEuclidean, 0.2, &UnrolledOptions{Iterations: 12})
		if err != nil {
			t.Fatal(err)
		}
		gx, gy := mat.NewDense(13, 2, nil), mat.NewDense(9, 2, nil)
		d.Backward(1, 0.5, FromDense(gx), FromDense(gy))
		return d, gx, gy
	}
	kept, gx, gy := grads()
	defer func(v int) { keepKernelMax = v }(keepKernelMax)
	keepKernelMax = 0
	dropped, gx2, gy2 := grads()
	if dropped.XY.p.C != nil {
		t.Fatal("the kernel was kept")
	}
	if kept.Dual != dropped.Dual || kept.Primal() != dropped.Primal() || !mat.Equal(gx, gx2) || !mat.Equal(gy, gy2) {
		t.Errorf("rebuilt kernel changed the results")
	}
}

// Where the kernel underflows to 0 the scalings can grow so large that u_i·v_j
// overflows; 0·Inf must never reach a value or a gradient (the record then falls back
// to the log domain). testdata/scaled_overflow.json is the first step of a toy run that
// hit it: a ring of 8 tight modes (x) against a badly initialised generator (y), ε = 0.01.
func TestUnrolledNoInfTimesZero(t *testing.T) {
	fx := loadFixture(t, "scaled_overflow")
	x, y := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y")
	d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), nil, nil, SqEuclidean, fixtureFloat(t, fx, "eps"), &UnrolledOptions{Iterations: int(fixtureFloat(t, fx, "L"))})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := x.Dims()
	m, _ := y.Dims()
	gx, gy := mat.NewDense(n, 2, nil), mat.NewDense(m, 2, nil)
	d.Backward(1, 1, FromDense(gx), FromDense(gy))
	vals := append([]float64{d.Dual, d.Primal(), d.XY.MarginalError}, gx.RawMatrix().Data...)
	for _, v := range append(vals, gy.RawMatrix().Data...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite value or gradient (scaling domain used: %v %v %v)", d.XY.Scaled, d.XX.Scaled, d.YY.Scaled)
		}
	}
}
