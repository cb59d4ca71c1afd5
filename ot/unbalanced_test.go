package ot

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

var unbalancedFixtures = []string{"unbalanced_eps0.5_rho1", "unbalanced_eps0.1_rho0.5", "unbalanced_eps1_rho10"}

// TestUnbalancedPOT checks the plan, primal and dual values against POT's
// sinkhorn_unbalanced / sinkhorn_unbalanced2 (testdata/gen_unbalanced_sliced.py), in
// both methods.
func TestUnbalancedPOT(t *testing.T) {
	for _, name := range unbalancedFixtures {
		fx := loadFixture(t, name)
		x, y := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y")
		a, b := fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b")
		eps, rho := fixtureFloat(t, fx, "eps"), fixtureFloat(t, fx, "rho")
		plan := fixtureDense(t, fx, "plan")
		for _, method := range []SinkhornMethod{LogDomain, Stabilized} {
			t.Run(fmt.Sprintf("%s/%v", name, method), func(t *testing.T) {
				r, err := SinkhornUnbalancedPoints(x, y, a, b, SqEuclidean, eps, rho, rho,
					&SinkhornOptions{Method: method, Tol: 1e-14, Plan: true, AbsorbAt: 5})
				if err != nil {
					t.Fatal(err)
				}
				if !r.Converged || r.Method != method {
					t.Fatalf("converged %v, method %v, marginal error %g after %d iterations", r.Converged, r.Method, r.MarginalError, r.Iterations)
				}
				if !mat.EqualApprox(r.Plan, plan, 1e-8) {
					t.Errorf("plan differs from POT's:\n%v\n%v", mat.Formatted(r.Plan), mat.Formatted(plan))
				}
				primal := fixtureFloat(t, fx, "primal")
				if math.Abs(r.Cost-primal) > 1e-8 || math.Abs(r.Dual-primal) > 1e-8 {
					t.Errorf("cost %.12g, dual %.12g; POT's plan gives %.12g", r.Cost, r.Dual, primal)
				}
				// sinkhorn_unbalanced2 is ⟨P, M⟩ with POT's cost M = C − ε log(a⊗b).
				pm := r.LinearCost
				for i := range a {
					for j := range b {
						pm -= eps * r.Plan.At(i, j) * math.Log(a[i]*b[j])
					}
				}
				if v := fixtureFloat(t, fx, "pot_value"); math.Abs(pm-v) > 1e-8 {
					t.Errorf("⟨P,M⟩ = %.12g, POT's sinkhorn_unbalanced2 %.12g", pm, v)
				}
			})
		}
	}
}

// TestUnbalancedDivergencePOT checks S_ε,ρ against the combination of POT's three
// primal values and the mass term of Séjourné et al.
func TestUnbalancedDivergencePOT(t *testing.T) {
	for _, name := range unbalancedFixtures {
		fx := loadFixture(t, name)
		x, y := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y")
		a, b := fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b")
		eps, rho := fixtureFloat(t, fx, "eps"), fixtureFloat(t, fx, "rho")
		d, err := UnbalancedDivergence(x, y, a, b, SqEuclidean, eps, rho, &DivergenceOptions{SinkhornOptions: SinkhornOptions{Tol: 1e-14}})
		if err != nil {
			t.Fatal(err)
		}
		want := fixtureFloat(t, fx, "divergence")
		if !d.Converged || math.Abs(d.Value-want) > 1e-8 {
			t.Errorf("%s: S = %.12g (converged %v), POT gives %.12g", name, d.Value, d.Converged, want)
		}
		// The dual form equals the combination of the three solves' duals.
		ma, mb := floats.Sum(a), floats.Sum(b)
		if c := d.XY.Dual - (d.XX.Dual+d.YY.Dual)/2 + eps/2*(ma-mb)*(ma-mb); math.Abs(c-d.Value) > 1e-9 {
			t.Errorf("%s: S = %.12g but the duals combine to %.12g", name, d.Value, c)
		}
	}
}

// TestUnbalancedInfIsBalanced: ρ = +Inf returns the balanced results unchanged, and a
// huge finite ρ comes within O(ε/ρ) of them by the damped iterations.
func TestUnbalancedInfIsBalanced(t *testing.T) {
	x, y := randCloud(newTestRand(1), 12, 2, 0), randCloud(newTestRand(2), 9, 2, 0)
	inf := math.Inf(1)
	for _, method := range []SinkhornMethod{LogDomain, Stabilized} {
		o := &SinkhornOptions{Method: method}
		bal, err := SinkhornPoints(x, y, nil, nil, SqEuclidean, 0.3, o)
		if err != nil {
			t.Fatal(err)
		}
		ub, err := SinkhornUnbalancedPoints(x, y, nil, nil, SqEuclidean, 0.3, inf, inf, o)
		if err != nil {
			t.Fatal(err)
		}
		if ub.Dual != bal.Dual || ub.Cost != bal.Cost || !floats.Equal(ub.F, bal.F) || !floats.Equal(ub.G, bal.G) || ub.Iterations != bal.Iterations {
			t.Errorf("%v: ρ = ∞ gives dual %v, balanced %v", method, ub.Dual, bal.Dual)
		}
		near, err := SinkhornUnbalancedPoints(x, y, nil, nil, SqEuclidean, 0.3, 1e9, 1e9, &SinkhornOptions{Method: method, Tol: 1e-12})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(near.Dual-bal.Dual) > 1e-6 {
			t.Errorf("%v: ρ = 1e9 gives %.12g, balanced %.12g", method, near.Dual, bal.Dual)
		}
	}
	do := &DivergenceOptions{Grad: true}
	bd, err := SinkhornDivergence(x, y, nil, nil, SqEuclidean, 0.3, do)
	if err != nil {
		t.Fatal(err)
	}
	ud, err := UnbalancedDivergence(x, y, nil, nil, SqEuclidean, 0.3, inf, do)
	if err != nil {
		t.Fatal(err)
	}
	if ud.Value != bd.Value || !mat.Equal(ud.Grad.X, bd.Grad.X) || !floats.Equal(ud.Grad.A, bd.Grad.A) {
		t.Errorf("divergence at ρ = ∞: %v, balanced %v", ud.Value, bd.Value)
	}
	near, err := UnbalancedDivergence(x, y, nil, nil, SqEuclidean, 0.3, 1e9, &DivergenceOptions{SinkhornOptions: SinkhornOptions{Tol: 1e-12}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(near.Value-bd.Value) > 1e-6 {
		t.Errorf("divergence at ρ = 1e9: %.12g, balanced %.12g", near.Value, bd.Value)
	}
}

// randMass returns n positive weights of the given total.
func randMass(seed uint64, n int, total float64) []float64 {
	w := randWeights(newTestRand(seed), n)
	floats.Scale(total, w)
	return w
}

// fdCheck compares grad with central differences of value over every entry of v.
func fdCheck(t *testing.T, what string, v []float64, grad []float64, value func() float64) {
	t.Helper()
	const h = 1e-5
	for i := range v {
		old := v[i]
		v[i] = old + h
		up := value()
		v[i] = old - h
		down := value()
		v[i] = old
		fd := (up - down) / (2 * h)
		if math.Abs(fd-grad[i]) > 1e-6*max(1, math.Abs(fd)) {
			t.Errorf("%s[%d]: gradient %.10g, finite differences %.10g", what, i, grad[i], fd)
		}
	}
}

// TestUnbalancedGradientsFD checks UnbalancedGradients and the divergence's Grad
// against central differences of the values, for points and weights of unequal mass.
func TestUnbalancedGradientsFD(t *testing.T) {
	x, y := randCloud(newTestRand(3), 6, 2, 0), randCloud(newTestRand(4), 5, 2, 0)
	a, b := randMass(5, 6, 1), randMass(6, 5, 1.4)
	o := &SinkhornOptions{Tol: 1e-14}
	for _, c := range []Cost{SqEuclidean, Euclidean} {
		for _, rho := range []float64{0.5, 3} {
			rhoB := 2 * rho
			if rho == 3 {
				rhoB = math.Inf(1) // semi-balanced: Pᵀ1 = b exactly
			}
			ot := func() float64 {
				r, err := SinkhornUnbalancedPoints(x, y, a, b, c, 0.4, rho, rhoB, o)
				if err != nil {
					t.Fatal(err)
				}
				return r.Dual
			}
			r, err := SinkhornUnbalancedPoints(x, y, a, b, c, 0.4, rho, rhoB, o)
			if err != nil {
				t.Fatal(err)
			}
			gr, err := UnbalancedGradients(x, y, a, b, c, r)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("OT %v ρ=%g,%g ", c, rho, rhoB)
			fdCheck(t, name+"x", x.RawMatrix().Data, gr.X.RawMatrix().Data, ot)
			fdCheck(t, name+"y", y.RawMatrix().Data, gr.Y.RawMatrix().Data, ot)
			fdCheck(t, name+"a", a, gr.A, ot)
			fdCheck(t, name+"b", b, gr.B, ot)

			div := func() float64 {
				d, err := UnbalancedDivergence(x, y, a, b, c, 0.4, rho, &DivergenceOptions{SinkhornOptions: *o})
				if err != nil {
					t.Fatal(err)
				}
				return d.Value
			}
			d, err := UnbalancedDivergence(x, y, a, b, c, 0.4, rho, &DivergenceOptions{SinkhornOptions: *o, Grad: true})
			if err != nil {
				t.Fatal(err)
			}
			name = fmt.Sprintf("S %v ρ=%g ", c, rho)
			fdCheck(t, name+"x", x.RawMatrix().Data, d.Grad.X.RawMatrix().Data, div)
			fdCheck(t, name+"y", y.RawMatrix().Data, d.Grad.Y.RawMatrix().Data, div)
			fdCheck(t, name+"a", a, d.Grad.A, div)
			fdCheck(t, name+"b", b, d.Grad.B, div)
		}
	}
}

func TestUnbalancedInvalid(t *testing.T) {
	x, y := randCloud(newTestRand(1), 4, 2, 0), randCloud(newTestRand(2), 3, 2, 0)
	for _, tc := range []struct {
		name       string
		a          []float64
		rhoA, rhoB float64
	}{
		{"zero rho", nil, 0, 1},
		{"negative rho", nil, 1, -2},
		{"NaN rho", nil, math.NaN(), 1},
		{"negative weight", []float64{1, -1, 1, 1}, 1, 1},
		{"zero mass", []float64{0, 0, 0, 0}, 1, 1},
		{"infinite weight", []float64{1, math.Inf(1), 1, 1}, 1, 1},
		{"short weights", []float64{1, 1}, 1, 1},
	} {
		if _, err := SinkhornUnbalancedPoints(x, y, tc.a, nil, SqEuclidean, 0.1, tc.rhoA, tc.rhoB, nil); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	if _, err := UnbalancedDivergence(x, y, nil, nil, SqEuclidean, 0.1, -1, nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("divergence with ρ < 0: err = %v", err)
	}
	// A measure of mass 3 is fine when unbalanced, not when balanced.
	if _, err := SinkhornUnbalancedPoints(x, y, []float64{1, 1, 0.5, 0.5}, nil, SqEuclidean, 0.1, 1, 1, nil); err != nil {
		t.Errorf("mass 3: %v", err)
	}
	if _, err := SinkhornUnbalancedPoints(x, y, []float64{1, 1, 0.5, 0.5}, nil, SqEuclidean, 0.1, math.Inf(1), math.Inf(1), nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("mass 3 balanced: err = %v", err)
	}
}

// The two methods agree, with absorptions, also when one marginal is a hard constraint
// (whose plan then meets it).
func TestUnbalancedMethodsAgree(t *testing.T) {
	x, y := randCloud(newTestRand(12), 20, 3, 0), randCloud(newTestRand(13), 15, 3, 1)
	a, b := randMass(14, 20, 1), randMass(15, 15, 2.5)
	for _, rb := range []float64{0.7, math.Inf(1)} {
		var duals [2]float64
		for k, method := range []SinkhornMethod{LogDomain, Stabilized} {
			r, err := SinkhornUnbalancedPoints(x, y, a, b, SqEuclidean, 0.05, 2, rb, &SinkhornOptions{Method: method, Tol: 1e-12, AbsorbAt: 3, Plan: true})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Converged || r.Method != method || math.Abs(r.Cost-r.Dual) > 1e-9 {
				t.Fatalf("ρ_b = %v %v: converged %v, cost %.12g, dual %.12g", rb, method, r.Converged, r.Cost, r.Dual)
			}
			if math.IsInf(rb, 1) {
				cols := mat.NewVecDense(15, nil)
				cols.MulVec(r.Plan.T(), mat.NewVecDense(20, floatsOnes(20)))
				if !floats.EqualApprox(cols.RawVector().Data, b, 1e-10) {
					t.Errorf("%v: hard marginal not met: %v vs %v", method, cols.RawVector().Data, b)
				}
			}
			duals[k] = r.Dual
		}
		if math.Abs(duals[0]-duals[1]) > 1e-9 {
			t.Errorf("ρ_b = %v: log domain %.12g, stabilized %.12g", rb, duals[0], duals[1])
		}
	}
}

func floatsOnes(n int) []float64 {
	o := make([]float64, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

// TestUnbalancedIterations: the translation of the potentials (translate) and the
// symmetric shift (shiftSymmetric) remove the slow direction of the damped updates,
// which contract it by only (ρ/(ρ+ε))² per iteration: at ρ = 10ε the fixture problem
// needed 112 iterations without them (26 with), and the symmetric terms of distant
// clouds 6 (1 with), as many as the balanced solves need at most. The stabilized
// path does as well as the log domain.
func TestUnbalancedIterations(t *testing.T) {
	fx := loadFixture(t, "unbalanced_eps1_rho10")
	x, y := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y")
	a, b := fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b")
	r, err := SinkhornUnbalancedPoints(x, y, a, b, SqEuclidean, 1, 10, 10, &SinkhornOptions{Tol: 1e-10})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Converged || r.Iterations > 40 {
		t.Errorf("fixture: converged %v after %d iterations", r.Converged, r.Iterations)
	}
	// The stabilized path translates its absorbed potentials by the same τ
	// (relaxation.translate), so it needs as many iterations as the log domain, up to
	// the stopping tests' difference (the log domain's also bounds the potentials'
	// move). Without it: 29, 54 and 112 iterations against 11, 50 and 26.
	for _, name := range unbalancedFixtures {
		fx := loadFixture(t, name)
		x, y := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y")
		a, b := fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b")
		eps, rho := fixtureFloat(t, fx, "eps"), fixtureFloat(t, fx, "rho")
		var its [2]int
		for k, method := range []SinkhornMethod{LogDomain, Stabilized} {
			r, err := SinkhornUnbalancedPoints(x, y, a, b, SqEuclidean, eps, rho, rho, &SinkhornOptions{Method: method, Tol: 1e-10})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Converged || r.Method != method {
				t.Fatalf("%s %v: converged %v, method %v", name, method, r.Converged, r.Method)
			}
			its[k] = r.Iterations
		}
		if its[1] > its[0]+2 {
			t.Errorf("%s: stabilized %d iterations, log domain %d", name, its[1], its[0])
		}
	}
	rng := newTestRand(17)
	x, y = randCloud(rng, 64, 200, 0), randCloud(rng, 64, 200, 0)
	o := &DivergenceOptions{SinkhornOptions: SinkhornOptions{Tol: 1e-6}}
	d, err := UnbalancedDivergence(x, y, nil, nil, SqEuclidean, 1, 10, o)
	if err != nil {
		t.Fatal(err)
	}
	bal, err := SinkhornDivergence(x, y, nil, nil, SqEuclidean, 1, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		u, bl int
	}{{"XY", d.XY.Iterations, bal.XY.Iterations}, {"XX", d.XX.Iterations, bal.XX.Iterations}, {"YY", d.YY.Iterations, bal.YY.Iterations}} {
		if !d.Converged || c.u > max(c.bl, 2) {
			t.Errorf("%s: %d iterations (converged %v), balanced %d", c.name, c.u, d.Converged, c.bl)
		}
	}
}
