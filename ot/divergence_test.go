package ot

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

var tight = &SinkhornOptions{Tol: 1e-13, MaxIter: 200000}

func TestDivergenceFixtures(t *testing.T) {
	for _, name := range []string{"divergence_eps0.1", "divergence_eps1", "divergence_eps100"} {
		fx := loadFixture(t, name)
		x, y := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y")
		a, b, eps := fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b"), fixtureFloat(t, fx, "eps")
		for _, method := range []SinkhornMethod{LogDomain, Stabilized} {
			o := *tight
			o.Method = method
			r, err := SinkhornDivergence(x, y, a, b, SqEuclidean, eps, divOpts(&o, false))
			if err != nil {
				t.Fatal(err)
			}
			if !r.Converged {
				t.Fatalf("%s: not converged", name)
			}
			for _, c := range []struct {
				field string
				got   float64
			}{{"ot_xy", r.XY.Dual}, {"ot_xx", r.XX.Dual}, {"ot_yy", r.YY.Dual}, {"divergence", r.Value}} {
				if e := relErr(c.got, fixtureFloat(t, fx, c.field)); e > 1e-8 {
					t.Errorf("%s %v: %s = %.15g, want %.15g (rel %.2g)", name, method, c.field, c.got, fixtureFloat(t, fx, c.field), e)
				}
			}
		}
	}
}

// meanGap is |mean(α) − mean(β)|².
func meanGap(x, y *mat.Dense, a, b []float64) float64 {
	ma, mb := meanOf(x, a), meanOf(y, b)
	dm := 0.0
	for k := range ma {
		dm += (ma[k] - mb[k]) * (ma[k] - mb[k])
	}
	return dm
}

func meanOf(x *mat.Dense, w []float64) []float64 {
	n, d := x.Dims()
	m := make([]float64, d)
	for i := 0; i < n; i++ {
		for k := 0; k < d; k++ {
			m[k] += w[i] * x.At(i, k)
		}
	}
	return m
}

// As ε → ∞, S_ε → ½|mean(α)−mean(β)|² for ½|x−y|² and → ½ energy distance for |x−y|;
// Genevay's primal form tends to the MMD of the kernel −c: |Δmean|² for ½|x−y|².
// The error of both is O(1/ε): it must shrink tenfold from ε = 1e2 to 1e3.
func TestDivergenceLargeEpsLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	x, y := randCloud(rng, 30, 3, 0), randCloud(rng, 25, 3, 0.6)
	a, b := randWeights(rng, 30), randWeights(rng, 25)
	dm := meanGap(x, y, a, b)
	energy, _, err := mmd(x, y, a, b, EnergyKernel{}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cost          Cost
		limit, primal float64
	}{{SqEuclidean, dm / 2, dm}, {Euclidean, energy / 2, energy}} {
		var prev, prevP float64
		for _, eps := range []float64{1e2, 1e3, 1e4} {
			r, err := SinkhornDivergence(x, y, a, b, c.cost, eps, divOpts(tight, false))
			if err != nil || !r.Converged {
				t.Fatalf("%v ε=%g: %v", c.cost, eps, err)
			}
			e, eP := relErr(r.Value, c.limit), relErr(r.Primal, c.primal)
			if eps > 1e2 && (e > prev/5 || eP > prevP/5) {
				t.Errorf("%v ε=%g: rel errors %.3g (dual), %.3g (primal) did not shrink from %.3g, %.3g", c.cost, eps, e, eP, prev, prevP)
			}
			prev, prevP = e, eP
		}
		if prev > 1e-3 {
			t.Errorf("%v: at ε=1e4 S_ε is %.3g away from its limit", c.cost, prev)
		}
	}
}

func TestDivergenceProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for trial := 0; trial < 5; trial++ {
		n, m := 5+rng.IntN(20), 5+rng.IntN(20)
		x, y := randCloud(rng, n, 2, 0), randCloud(rng, m, 2, rng.Float64())
		a, b := randWeights(rng, n), randWeights(rng, m)
		// Alternating Sinkhorn on (α,α) converges slowly for small ε; keep the test fast.
		eps := 0.5 + 2*rng.Float64()
		for _, c := range []Cost{SqEuclidean, Euclidean} {
			sxy, _ := SinkhornDivergence(x, y, a, b, c, eps, divOpts(tight, false))
			syx, _ := SinkhornDivergence(y, x, b, a, c, eps, divOpts(tight, false))
			sxx, _ := SinkhornDivergence(x, x, a, a, c, eps, divOpts(tight, false))
			if !sxy.Converged || !syx.Converged || !sxx.Converged {
				t.Fatalf("%v ε=%g: a solve did not converge", c, eps)
			}
			if !(sxy.Value > 0) {
				t.Errorf("S(α,β) = %g is not positive", sxy.Value)
			}
			if math.Abs(sxy.Value-syx.Value) > 1e-10*math.Abs(sxy.Value) {
				t.Errorf("S(α,β) = %.15g but S(β,α) = %.15g", sxy.Value, syx.Value)
			}
			if math.Abs(sxx.Value) > 1e-12 {
				t.Errorf("S(α,α) = %g", sxx.Value)
			}
		}
		// Translating both measures leaves S unchanged; translating one by τ changes
		// OT_ε(α,β) for ½|x−y|² by −⟨τ, mean(α)−mean(β)⟩ + ½|τ|² (the cross term is linear).
		tau := []float64{0.7, -1.3}
		yt, xt := shifted(y, tau), shifted(x, tau)
		s0, _ := SinkhornDivergence(x, y, a, b, SqEuclidean, eps, divOpts(tight, false))
		s1, _ := SinkhornDivergence(xt, yt, a, b, SqEuclidean, eps, divOpts(tight, false))
		s2, _ := SinkhornDivergence(x, yt, a, b, SqEuclidean, eps, divOpts(tight, false))
		if math.Abs(s0.Value-s1.Value) > 1e-9 {
			t.Errorf("joint translation changed S from %.15g to %.15g", s0.Value, s1.Value)
		}
		ma, mb := meanOf(x, a), meanOf(y, b)
		want := s0.XY.Dual - (tau[0]*(ma[0]-mb[0]) + tau[1]*(ma[1]-mb[1])) + (tau[0]*tau[0]+tau[1]*tau[1])/2
		if math.Abs(s2.XY.Dual-want) > 1e-9 {
			t.Errorf("OT_ε after translating β: %.15g, want %.15g", s2.XY.Dual, want)
		}
	}
}

func shifted(x *mat.Dense, tau []float64) *mat.Dense {
	var out mat.Dense
	out.CloneFrom(x)
	n, _ := x.Dims()
	for i := 0; i < n; i++ {
		r := out.RawRowView(i)
		for k := range r {
			r[k] += tau[k]
		}
	}
	return &out
}

// checkGradients compares analytic gradients with central finite differences of value,
// for every point coordinate and for weight moves that stay on the simplex.
func checkGradients(t *testing.T, name string, x, y *mat.Dense, a, b []float64, g *Gradients, value func(x, y *mat.Dense, a, b []float64) float64, tol float64) {
	t.Helper()
	const h = 1e-5
	scale := 1e-3
	for _, G := range []*mat.Dense{g.X, g.Y} {
		scale = math.Max(scale, mat.Norm(G, math.Inf(1)))
	}
	for side, P := range []*mat.Dense{x, y} {
		G := []*mat.Dense{g.X, g.Y}[side]
		n, d := P.Dims()
		for i := 0; i < n; i++ {
			for k := 0; k < d; k++ {
				v := P.At(i, k)
				P.Set(i, k, v+h)
				up := value(x, y, a, b)
				P.Set(i, k, v-h)
				down := value(x, y, a, b)
				P.Set(i, k, v)
				if fd := (up - down) / (2 * h); math.Abs(fd-G.At(i, k)) > tol*scale {
					t.Errorf("%s: ∂/∂%c[%d,%d] = %.10g, finite difference %.10g", name, "xy"[side], i, k, G.At(i, k), fd)
				}
			}
		}
	}
	for side, w := range [][]float64{a, b} {
		G := [][]float64{g.A, g.B}[side]
		for i := 1; i < len(w); i++ {
			// Move mass h from entry 0 to entry i: the value changes by (G_i − G_0)·h.
			w0, wi := w[0], w[i]
			w[0], w[i] = w0-h, wi+h
			up := value(x, y, a, b)
			w[0], w[i] = w0+h, wi-h
			down := value(x, y, a, b)
			w[0], w[i] = w0, wi
			fd := (up - down) / (2 * h)
			if want := G[i] - G[0]; math.Abs(fd-want) > tol*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: weight move 0→%d of %c: %.10g, finite difference %.10g", name, i, "ab"[side], want, fd)
			}
		}
	}
}

func TestDivergenceGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	x, y := randCloud(rng, 7, 2, 0), randCloud(rng, 6, 2, 0.5)
	a, b := randWeights(rng, 7), randWeights(rng, 6)
	for _, c := range []Cost{SqEuclidean, Euclidean, PowerCost(1.5)} {
		for _, eps := range []float64{0.1, 1} {
			r, err := SinkhornDivergence(x, y, a, b, c, eps, divOpts(tight, true))
			if err != nil {
				t.Fatal(err)
			}
			checkGradients(t, "S_ε "+c.String(), x, y, a, b, r.Grad, func(x, y *mat.Dense, a, b []float64) float64 {
				r, _ := SinkhornDivergence(x, y, a, b, c, eps, divOpts(tight, false))
				return r.Value
			}, 1e-6)
			res, _ := SinkhornPoints(x, y, a, b, c, eps, tight)
			g, err := SinkhornGradients(x, y, a, b, c, res)
			if err != nil {
				t.Fatal(err)
			}
			checkGradients(t, "OT_ε "+c.String(), x, y, a, b, g, func(x, y *mat.Dense, a, b []float64) float64 {
				r, _ := SinkhornPoints(x, y, a, b, c, eps, tight)
				return r.Dual
			}, 1e-6)
		}
	}
}

func TestMMDFixture(t *testing.T) {
	fx := loadFixture(t, "mmd_energy")
	x, y, a, b := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y"), fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b")
	e, _, err := mmd(x, y, a, b, EnergyKernel{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if r := relErr(e, fixtureFloat(t, fx, "energy_distance")); r > 1e-12 {
		t.Errorf("energy distance %.15g, want %.15g", e, fixtureFloat(t, fx, "energy_distance"))
	}
	for s, want := range fx["gaussian"].(map[string]any) {
		var sigma float64
		if _, err := fmt.Sscan(s, &sigma); err != nil {
			t.Fatal(err)
		}
		got, _, err := mmd(x, y, a, b, GaussianMixture{sigma}, false)
		if err != nil {
			t.Fatal(err)
		}
		if r := relErr(got, want.(float64)); r > 1e-12 {
			t.Errorf("MMD² σ=%g: %.15g, want %.15g", sigma, got, want)
		}
	}
}

func TestMMDGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	x, y := randCloud(rng, 6, 3, 0), randCloud(rng, 5, 3, 0.4)
	a, b := randWeights(rng, 6), randWeights(rng, 5)
	for _, k := range []Kernel{GaussianMixture{0.5, 1, 4}, EnergyKernel{}} {
		_, g, err := mmd(x, y, a, b, k, true)
		if err != nil {
			t.Fatal(err)
		}
		checkGradients(t, fmt.Sprintf("MMD %T", k), x, y, a, b, g, func(x, y *mat.Dense, a, b []float64) float64 {
			v, _, _ := mmd(x, y, a, b, k, false)
			return v
		}, 1e-7)
	}
	if _, _, err := mmd(x, y, a, b, GaussianMixture{}, false); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("empty mixture: %v", err)
	}
	if _, _, err := mmd(x, y, a, b, GaussianMixture{-1}, false); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("negative bandwidth: %v", err)
	}
}

// As ε → 0, S_ε tends to the exact OT cost (OT_ε(α,α) → 0) and so does Genevay's primal
// form, to twice that cost; the gap shrinks with ε.
func TestDivergenceSmallEpsLimit(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	x, y := randCloud(rng, 12, 2, 0), randCloud(rng, 10, 2, 1)
	a, b := randWeights(rng, 12), randWeights(rng, 10)
	ex, err := ExactPoints(x, y, a, b, SqEuclidean, nil)
	if err != nil {
		t.Fatal(err)
	}
	prev, prevP := math.Inf(1), math.Inf(1)
	for _, eps := range []float64{0.1, 0.01, 0.001} {
		o := &SinkhornOptions{Method: Stabilized, EpsScaling: 0.7, Tol: 1e-9, MaxIter: 200000}
		r, err := SinkhornDivergence(x, y, a, b, SqEuclidean, eps, divOpts(o, false))
		if err != nil || !r.Converged {
			t.Fatalf("ε=%g: %v, converged %v", eps, err, r != nil && r.Converged)
		}
		gap, gapP := relErr(r.Value, ex.Cost), relErr(r.Primal/2, ex.Cost)
		if gap >= prev || gapP >= prevP {
			t.Errorf("ε=%g: gaps to W %.3g (dual), %.3g (primal) did not shrink from %.3g, %.3g", eps, gap, gapP, prev, prevP)
		}
		prev, prevP = gap, gapP
		t.Logf("ε=%g: S_ε = %.8g, exact %.8g, primal/2 = %.8g", eps, r.Value, ex.Cost, r.Primal/2)
	}
	if prev > 1e-3 || prevP > 1e-3 {
		t.Errorf("at ε=1e-3, S_ε is %.3g and the primal form %.3g away from the exact cost", prev, prevP)
	}
}

// MMD with the kernel −c equals the ε → ∞ limits: |Δmean|² for ½|x−y|², the energy
// distance for |x−y|; and its gradients pass finite differences for a general power.
func TestCostKernel(t *testing.T) {
	rng := newTestRand(51)
	x, y := randCloud(rng, 9, 3, 0), randCloud(rng, 7, 3, 0.8)
	a, b := randWeights(rng, 9), randWeights(rng, 7)
	dm := meanGap(x, y, a, b)
	v, _, _ := mmd(x, y, a, b, CostKernel{SqEuclidean}, false)
	if relErr(v, dm) > 1e-12 {
		t.Errorf("MMD_{−½|x−y|²} = %.15g, want |Δmean|² = %.15g", v, dm)
	}
	e, _, _ := mmd(x, y, a, b, EnergyKernel{}, false)
	v, _, _ = mmd(x, y, a, b, CostKernel{Euclidean}, false)
	if relErr(v, e) > 1e-12 {
		t.Errorf("MMD_{−|x−y|} = %.15g, want the energy distance %.15g", v, e)
	}
	k := CostKernel{PowerCost(1.5)}
	_, g, _ := mmd(x, y, a, b, k, true)
	checkGradients(t, "MMD −|x−y|^1.5", x, y, a, b, g, func(x, y *mat.Dense, a, b []float64) float64 {
		v, _, _ := mmd(x, y, a, b, k, false)
		return v
	}, 1e-7)
}

// mmd is MMD with its result as a tuple, for the tests' brevity.
func mmd(x, y *mat.Dense, a, b []float64, k Kernel, grad bool) (float64, *Gradients, error) {
	r, err := MMD(x, y, a, b, k, &MMDOptions{Grad: grad})
	if err != nil {
		return 0, nil, err
	}
	return r.Value, r.Grad, nil
}

// divOpts is DivergenceOptions from Sinkhorn options (nil: the defaults) and Grad.
func divOpts(o *SinkhornOptions, grad bool) *DivergenceOptions {
	d := &DivergenceOptions{Grad: grad}
	if o != nil {
		d.SinkhornOptions = *o
	}
	return d
}
