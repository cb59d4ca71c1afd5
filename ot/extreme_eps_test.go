package ot

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// centredCost returns μ = ⟨a⊗b, C⟩ and q = ‖C̃‖² = Σ a_i b_j C̃_ij² for the doubly
// centred C̃_ij = C_ij − (Cb)_i − (aᵀC)_j + μ, by direct sums.
func centredCost(c Cost, x, y *mat.Dense, a, b []float64) (mu, q float64) {
	n, _ := x.Dims()
	m, _ := y.Dims()
	C := mat.NewDense(n, m, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			C.Set(i, j, c.Pair(x.RawRowView(i), y.RawRowView(j)))
		}
	}
	r, s := make([]float64, n), make([]float64, m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			r[i] += b[j] * C.At(i, j)
			s[j] += a[i] * C.At(i, j)
			mu += a[i] * b[j] * C.At(i, j)
		}
	}
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			d := C.At(i, j) - r[i] - s[j] + mu
			q += a[i] * b[j] * d * d
		}
	}
	return mu, q
}

// largeEpsExpansion returns S_∞ = ⟨a⊗b,C⟩ − ½⟨a⊗a,C⟩ − ½⟨b⊗b,C⟩, half the MMD of the
// kernel −c, and Q such that S_ε = S_∞ − Q/(2ε) + O(ε⁻²): with P = a⊗b(1 + H) and
// KL ≈ ½⟨a⊗b, H²⟩, OT_ε = ⟨a⊗b,C⟩ − ‖C̃‖²/(2ε) + O(ε⁻²), the doubly centred C̃ being
// the projection of C on the plans' tangent space.
func largeEpsExpansion(c Cost, x, y *mat.Dense, a, b []float64) (limit, Q float64) {
	mxy, qxy := centredCost(c, x, y, a, b)
	mxx, qxx := centredCost(c, x, x, a, a)
	myy, qyy := centredCost(c, y, y, b, b)
	return mxy - (mxx+myy)/2, qxy - (qxx+qyy)/2
}

// Issue 13, item 6: S_ε tends to its closed-form limit for large ε, with no
// cancellation between the three OT_ε terms (it gave 2.26, 1.55 and 0 at ε = 1e12,
// 1e16, 1e20 for a limit of 0.384). At ε = 1e4, where the iterations are still in
// their usual regime, S_ε agrees with the limit's first-order expansion to 1e-8
// (the residual shrinks as ε⁻², which checks the expansion); from 1e8 on it equals
// the limit itself to 1e-8, for both costs, both methods, the unrolled solvers, and
// its gradients are those of the limit.
func TestDivergenceTendsToItsLimit(t *testing.T) {
	rng := newTestRand(101)
	x, y := randCloud(rng, 20, 2, 0), randCloud(rng, 15, 2, 0.7)
	a, b := randWeights(rng, 20), randWeights(rng, 15)
	for _, c := range []Cost{SqEuclidean, Euclidean} {
		limit, Q := largeEpsExpansion(c, x, y, a, b)
		for _, method := range []SinkhornMethod{LogDomain, Stabilized} {
			prev := 0.0
			for _, eps := range []float64{1e3, 1e4, 1e8, 1e12, 1e16, 1e20, 1e300} {
				name := fmt.Sprintf("%v/%v/ε=%g", c, method, eps)
				r, err := SinkhornDivergence(x, y, a, b, c, eps, divOpts(&SinkhornOptions{Method: method}, true))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !r.Converged {
					t.Errorf("%s: not converged", name)
				}
				res := math.Abs(r.Value-(limit-Q/(2*eps))) / limit
				switch {
				case eps == 1e3:
					prev = res
					continue
				case eps == 1e4 && !(res < prev/50):
					t.Errorf("%s: the expansion's residual went from %.3g to %.3g, not as ε⁻²", name, prev, res)
				}
				if res > 1e-8 {
					t.Errorf("%s: S = %.15g, expansion %.15g (rel %.2g)", name, r.Value, limit-Q/(2*eps), res)
				}
				if e := relErr(r.Value, limit); eps >= 1e8 && e > 1e-8 {
					t.Errorf("%s: S = %.15g, limit %.15g (rel %.2g)", name, r.Value, limit, e)
				}
				if eps >= 1e12 {
					checkLimitGradients(t, name, c, x, y, a, b, r.Grad)
				}
			}
		}
		for _, eps := range []float64{1e8, 1e12, 1e20, 1e300} {
			d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), a, b, c, eps, &UnrolledOptions{Iterations: 5})
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(d.Dual, limit); e > 1e-8 {
				t.Errorf("%v unrolled ε=%g: %.15g, limit %.15g (rel %.2g)", c, eps, d.Dual, limit, e)
			}
			if eps >= 1e12 {
				g := &Gradients{X: mat.NewDense(20, 2, nil), Y: mat.NewDense(15, 2, nil)}
				d.Backward(1, 0, FromDense(g.X), FromDense(g.Y))
				checkLimitGradients(t, fmt.Sprintf("%v unrolled ε=%g", c, eps), c, x, y, a, b, g)
			}
		}
	}
}

// checkLimitGradients compares gradients of S_ε at a large ε with those of its limit,
// half the MMD of the kernel −c (whose gradients TestMMDGradients checks against
// finite differences). Weight gradients only matter up to a constant; they are the
// potentials, converged to Tol (1e-9) times the costs' spread in a-weighted ℓ1.
func checkLimitGradients(t *testing.T, name string, c Cost, x, y *mat.Dense, a, b []float64, g *Gradients) {
	t.Helper()
	_, want, err := mmd(x, y, a, b, CostKernel{c}, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		side      string
		got, want *mat.Dense
	}{{"x", g.X, want.X}, {"y", g.Y, want.Y}} {
		var half mat.Dense
		half.Scale(0.5, p.want)
		if !mat.EqualApprox(p.got, &half, 1e-7*mat.Norm(&half, math.Inf(1))) {
			t.Errorf("%s: ∂S/∂%s is not the limit's", name, p.side)
		}
	}
	centred := func(v []float64) []float64 {
		out, m := append([]float64(nil), v...), 0.0
		for _, x := range v {
			m += x / float64(len(v))
		}
		for i := range out {
			out[i] -= m
		}
		return out
	}
	for _, p := range []struct {
		side      string
		got, want []float64
	}{{"a", g.A, want.A}, {"b", g.B, want.B}} {
		if p.got == nil {
			continue
		}
		w := centred(p.want)
		for i := range w {
			w[i] /= 2
		}
		if d := maxAbsDiff(centred(p.got), w); d > 1e-5 {
			t.Errorf("%s: ∂S/∂%s differs from the limit's by %g", name, p.side, d)
		}
	}
}

// At tiny ε, S_ε approaches exact OT: 0 ≤ OT_ε(α,β) − OT_0 ≤ ε·min(H(a),H(b)) (the
// coupling's mutual information is at most either entropy) and 0 ≤ OT_ε(α,α) ≤
// ε·H(a) (the diagonal coupling), so OT_0 − ε(H(a)+H(b))/2 ≤ S_ε ≤ OT_0 +
// ε·min(H(a),H(b)). Below the float64 resolution of the costs (ε < 2^-52·max C) the
// answer is a clear error, not a value (it gave 0.354 for an exact 0.713, "converged",
// at ε = 1e-300).
func TestDivergenceTinyEps(t *testing.T) {
	rng := newTestRand(102)
	x, y := randCloud(rng, 12, 2, 0), randCloud(rng, 10, 2, 0.7)
	a, b := randWeights(rng, 12), randWeights(rng, 10)
	ex, err := ExactPoints(x, y, a, b, SqEuclidean, nil)
	if err != nil {
		t.Fatal(err)
	}
	ha, hb := entropy(a), entropy(b)
	for _, eps := range []float64{1e-2, 1e-3} {
		r, err := SinkhornDivergence(x, y, a, b, SqEuclidean, eps, divOpts(&SinkhornOptions{Method: Stabilized, EpsScaling: 0.5, MaxIter: 100000}, false))
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := ex.Cost-eps*(ha+hb)/2, ex.Cost+eps*math.Min(ha, hb)
		if !r.Converged || r.Value < lo-1e-9 || r.Value > hi+1e-9 {
			t.Errorf("ε=%g: S = %.10g (converged %v), exact OT %.10g, want it in [%.10g, %.10g]", eps, r.Value, r.Converged, ex.Cost, lo, hi)
		}
	}
	for _, eps := range []float64{1e-16, 1e-20, 1e-100, 1e-300} {
		for _, method := range []SinkhornMethod{LogDomain, Stabilized} {
			r, err := SinkhornDivergence(x, y, a, b, SqEuclidean, eps, divOpts(&SinkhornOptions{Method: method}, false))
			if !errors.Is(err, ErrOutOfRange) || !errors.Is(err, ErrInvalidInput) {
				t.Errorf("ε=%g %v: %v, %v; want an ErrOutOfRange", eps, method, r, err)
			}
		}
	}
}

func entropy(w []float64) float64 {
	h := 0.0
	for _, v := range w {
		if v > 0 {
			h -= v * math.Log(v)
		}
	}
	return h
}

// Issue 13, item 6: Sinkhorn never reports Converged with the tolerance unmet or with
// numbers that are not finite (at ε = 1e-20 it reported convergence with a marginal
// error of 1.92, at ε = 1e-100 a NaN cost and an infinite linear cost). At any ε
// the answer is an ErrInvalidInput, or finite numbers whose plan meets the tolerance
// when Converged says so, checked on the returned plan.
func TestSinkhornNoFalseConvergence(t *testing.T) {
	rng := newTestRand(103)
	x, y := randCloud(rng, 20, 2, 0), randCloud(rng, 15, 2, 0.7)
	C, err := SqEuclidean.Matrix(x, y)
	if err != nil {
		t.Fatal(err)
	}
	a, b := Uniform(20), Uniform(15)
	for _, eps := range []float64{1e-12, 1e-13, 1e-14, 1e-15, 1e-20, 1e-100, 1e-300} {
		for _, o := range []SinkhornOptions{{Method: LogDomain}, {Method: Stabilized}, {Method: Stabilized, EpsScaling: 0.5}, {ErrorNorm: 2}} {
			o.Plan, o.MaxIter = true, 2000
			name := fmt.Sprintf("ε=%g/%+v", eps, o)
			r, err := Sinkhorn(a, b, C, eps, &o)
			if err != nil {
				if !errors.Is(err, ErrInvalidInput) {
					t.Errorf("%s: %v", name, err)
				}
				continue
			}
			if !allFinite([]float64{r.Cost, r.LinearCost, r.KL, r.Dual, r.MarginalError}) || !allFinite(r.F) || !allFinite(r.G) {
				t.Errorf("%s: numbers that are not finite without an error: cost %v, linear %v, dual %v", name, r.Cost, r.LinearCost, r.Dual)
			}
			if !r.Converged {
				continue
			}
			rows, cols := make([]float64, 20), make([]float64, 15)
			for i := range rows {
				for j := range cols {
					rows[i] += r.Plan.At(i, j)
					cols[j] += r.Plan.At(i, j)
				}
			}
			if e := maxAbsDiff(rows, a) + maxAbsDiff(cols, b); e > 1e-8 {
				t.Errorf("%s: converged, but the plan's marginals are off by %g", name, e)
			}
		}
	}
}

// The unrolled solvers, which training calls, never return numbers that are not
// finite: at ε below the costs' resolution they return an ErrOutOfRange (a NaN loss
// for the training loop), float64 and float32 alike.
func TestUnrolledExtremeEps(t *testing.T) {
	rng := newTestRand(104)
	x, y := randCloud(rng, 20, 3, 0), randCloud(rng, 15, 3, 0.7)
	x32, y32 := points32Of(x), points32Of(y)
	limit, _ := largeEpsExpansion(SqEuclidean, x32.Dense(), y32.Dense(), Uniform(20), Uniform(15))
	for _, eps := range []float64{1e-300, 1e-100, 1e-20, 1e-14, 1e-8, 1, 1e8, 1e12, 1e20, 1e300} {
		d64, err64 := UnrolledSinkhornDivergence(FromDense(x32.Dense()), FromDense(y32.Dense()), nil, nil, SqEuclidean, eps, &UnrolledOptions{Iterations: 5})
		d32, err32 := UnrolledSinkhornDivergence(x32, y32, nil, nil, SqEuclidean, eps, &UnrolledOptions{Iterations: 5})
		for _, c := range []struct {
			name string
			d    *UnrolledDivergence
			err  error
		}{{"float64", d64, err64}, {"float32", d32, err32}} {
			name := fmt.Sprintf("%s ε=%g", c.name, eps)
			if c.err != nil {
				if !errors.Is(c.err, ErrOutOfRange) {
					t.Errorf("%s: %v, want ErrOutOfRange", name, c.err)
				}
				continue
			}
			if !allFinite([]float64{c.d.Dual, c.d.XY.MarginalError, c.d.Primal()}) {
				t.Errorf("%s: dual %v, marginal error %v without an error", name, c.d.Dual, c.d.XY.MarginalError)
			}
			// the float32 costs carry float32 rounding of x·yᵀ
			if tol := map[string]float64{"float64": 1e-8, "float32": 1e-5}[c.name]; eps >= 1e8 && relErr(c.d.Dual, limit) > tol {
				t.Errorf("%s: %.15g, limit %.15g", name, c.d.Dual, limit)
			}
		}
		if eps <= 1e-20 && (err64 == nil || err32 == nil) {
			t.Errorf("ε=%g: no error below the costs' resolution (%v, %v)", eps, err64, err32)
		}
	}
}

// points32Of rounds a cloud to float32.
func points32Of(x *mat.Dense) Points {
	r, c := x.Dims()
	p := make([]float32, r*c)
	for i, v := range x.RawMatrix().Data {
		p[i] = float32(v)
	}
	return FromFloat32(r, c, p)
}
