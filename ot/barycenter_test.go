package ot

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// baryFixture reads a 1-D barycenter fixture: histograms, cost, reg, weights, barycenter.
func baryFixture(t *testing.T, name string) (hists [][]float64, C *mat.Dense, reg float64, lam, want []float64) {
	t.Helper()
	fx := loadFixture(t, name)
	H := fixtureDense(t, fx, "histograms")
	for i := 0; i < H.RawMatrix().Rows; i++ {
		hists = append(hists, mat.Row(nil, i, H))
	}
	return hists, fixtureDense(t, fx, "cost"), fixtureFloat(t, fx, "reg"),
		fixtureFloats(t, fx, "weights"), fixtureFloats(t, fx, "barycenter")
}

// baryDiff is max |a_i − b_i|, +Inf if any entry is NaN or the lengths differ.
func baryDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		e := math.Abs(a[i] - b[i])
		if math.IsNaN(e) {
			return math.Inf(1)
		}
		d = max(d, e)
	}
	return d
}

// The shared fixture comes from POT 0.8.2's method="sinkhorn", which starts the
// scalings at u_k = G/(K(ν_k/Kᵀ1)), G the unweighted geometric mean over k of the
// denominators; with non-uniform λ that start changes the fixed point (POT issue
// #134, PR #870). Started from the same point, Barycenter reproduces it.
func TestBarycenterPOTSinkhornFixture(t *testing.T) {
	hists, C, reg, lam, want := baryFixture(t, "barycenter_1d_reg0.01")
	n := len(want)
	K := mat.NewDense(n, n, nil)
	K.Apply(func(i, j int, v float64) float64 { return math.Exp(-C.At(i, j) / reg) }, C)
	colSum := make([]float64, n)
	for j := range colSum {
		colSum[j] = floats.Sum(mat.Col(nil, j, K))
	}
	ukv := make([][]float64, len(hists))
	logGeo := make([]float64, n)
	for k, h := range hists {
		x := make([]float64, n)
		floats.DivTo(x, h, colSum)
		ukv[k] = make([]float64, n)
		mat.NewVecDense(n, ukv[k]).MulVec(K, mat.NewVecDense(n, x))
		for i, v := range ukv[k] {
			logGeo[i] += math.Log(v) / float64(len(hists))
		}
	}
	init := make([][]float64, len(hists))
	for k := range init {
		init[k] = make([]float64, n)
		for i := range init[k] {
			init[k][i] = reg * (logGeo[i] - math.Log(ukv[k][i]))
		}
	}
	for _, method := range []BarycenterMethod{BarycenterScaling, BarycenterLog} {
		res, err := Barycenter(hists, DenseSupport(C), reg, lam, &BarycenterOptions{Method: method, Tol: 1e-14, MaxIter: 5000, InitF: init})
		if err != nil {
			t.Fatal(err)
		}
		if d := baryDiff(res.Barycenter, want); d > 1e-11 || !res.Converged {
			t.Errorf("%v: max |b − POT sinkhorn| = %.3g (converged %v after %d)", method, d, res.Converged, res.Iterations)
		}
	}
}

// From u = 1 the iteration is POT's method="sinkhorn_log", on a dense support and on
// the equivalent 1-D grid, in both domains.
func TestBarycenterPOTLogFixture(t *testing.T) {
	hists, C, reg, lam, want := baryFixture(t, "barycenter_1d_reg0.01_log")
	supports := map[string]Support{"dense": DenseSupport(C), "grid": Grid{Rows: 1, Cols: len(want)}}
	for name, s := range supports {
		for _, method := range []BarycenterMethod{BarycenterAuto, BarycenterScaling, BarycenterLog} {
			res, err := Barycenter(hists, s, reg, lam, &BarycenterOptions{Method: method, Tol: 1e-13})
			if err != nil {
				t.Fatal(err)
			}
			if d := baryDiff(res.Barycenter, want); d > 1e-11 || !res.Converged {
				t.Errorf("%s/%v: max |b − POT sinkhorn_log| = %.3g (converged %v after %d, method %v)",
					name, method, d, res.Converged, res.Iterations, res.Method)
			}
			if method == BarycenterAuto && res.Method != BarycenterScaling {
				t.Errorf("%s: auto used %v at a moderate ε", name, res.Method)
			}
		}
	}
}

// baryObjectiveGrad returns J(b) = Σ_k λ_k W_ε(b, ν_k) (up to a constant) and the
// spread max−min of its gradient Σ_k λ_k f_k + ε log b, all from Sinkhorn:
// W_ε with the plain entropy is OT_ε(b,ν) + ε(⟨b,log b⟩ + ⟨ν,log ν⟩) − ε, and the
// a⊗b potential f is the gradient of OT_ε in b. On the simplex the barycenter is
// optimal exactly when that gradient is constant.
func baryObjectiveGrad(t *testing.T, b []float64, hists [][]float64, C *mat.Dense, eps float64, lam []float64) (J, spread float64) {
	t.Helper()
	grad := make([]float64, len(b))
	for i, v := range b {
		grad[i] = eps * math.Log(v)
		J += eps * v * math.Log(v)
	}
	for k, h := range hists {
		res, err := Sinkhorn(b, h, C, eps, &SinkhornOptions{Tol: 1e-13, MaxIter: 100000})
		if err != nil || !res.Converged {
			t.Fatalf("sinkhorn: %v (converged %v)", err, res != nil && res.Converged)
		}
		J += lam[k] * res.Dual
		floats.AddScaled(grad, lam[k], res.F)
	}
	return J, floats.Max(grad) - floats.Min(grad)
}

func TestBarycenterOptimalityBySinkhorn(t *testing.T) {
	hists, C, reg, lam, pot := baryFixture(t, "barycenter_1d_reg0.01")
	res, err := Barycenter(hists, DenseSupport(C), reg, lam, &BarycenterOptions{Tol: 1e-13})
	if err != nil {
		t.Fatal(err)
	}
	J, spread := baryObjectiveGrad(t, res.Barycenter, hists, C, reg, lam)
	Jpot, spreadPot := baryObjectiveGrad(t, pot, hists, C, reg, lam)
	if spread > 1e-8 {
		t.Errorf("gradient spread at the barycenter %.3g, want ≈ 0", spread)
	}
	// The check discriminates: it rejects POT 0.8.2's fixed point, which is worse.
	if spreadPot < 1e-3 || !(J < Jpot) {
		t.Errorf("POT sinkhorn point: spread %.3g, J %.12g vs ours %.12g", spreadPot, Jpot, J)
	}
	// Any other point of the simplex nearby does worse.
	for _, d := range []float64{1e-3, -1e-3} {
		q := append([]float64(nil), res.Barycenter...)
		for i := range q {
			q[i] *= 1 + d*math.Sin(float64(i)/7)
		}
		floats.Scale(1/floats.Sum(q), q)
		if Jq, _ := baryObjectiveGrad(t, q, hists, C, reg, lam); !(Jq > J) {
			t.Errorf("perturbed point has J %.15g ≤ %.15g", Jq, J)
		}
	}
}

// At ε = 1e-3 the kernel exp(−C/ε) underflows: the log domain still matches POT's
// sinkhorn_log, and Auto gets there too.
func TestBarycenterSmallEps(t *testing.T) {
	hists, C, reg, lam, want := baryFixture(t, "barycenter_1d_reg0.001_log")
	for _, s := range []Support{DenseSupport(C), Grid{Rows: 1, Cols: len(want)}} {
		for _, method := range []BarycenterMethod{BarycenterAuto, BarycenterLog} {
			res, err := Barycenter(hists, s, reg, lam, &BarycenterOptions{Method: method, Tol: 1e-12, MaxIter: 100000})
			if err != nil {
				t.Fatal(err)
			}
			if d := baryDiff(res.Barycenter, want); d > 1e-9 || !res.Converged {
				t.Errorf("%T/%v: max |b − POT| = %.3g (converged %v after %d, method %v)", s, method, d, res.Converged, res.Iterations, res.Method)
			}
		}
	}
	// At ε = 1e-5 the scaling domain fails and must say so, not return NaN as converged.
	res, err := Barycenter(hists, DenseSupport(C), 1e-5, lam, &BarycenterOptions{Method: BarycenterScaling, MaxIter: 50})
	if err != nil {
		t.Fatal(err)
	}
	if res.Converged {
		t.Errorf("scaling domain at ε = 1e-5 claims convergence")
	}
	res, err = Barycenter(hists, DenseSupport(C), 1e-5, lam, &BarycenterOptions{MaxIter: 50})
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != BarycenterLog || !allFinite(res.Barycenter) {
		t.Errorf("auto at ε = 1e-5: method %v, finite %v", res.Method, allFinite(res.Barycenter))
	}
}

// POT's convolutional_barycenter2d on a 12×9 grid spanning the unit square.
func TestBarycenterGridPOTConvolutional(t *testing.T) {
	fx := loadFixture(t, "barycenter_grid")
	g := Grid{Rows: int(fixtureFloat(t, fx, "rows")), Cols: int(fixtureFloat(t, fx, "cols"))}
	I := fixtureDense(t, fx, "images")
	var hists [][]float64
	for i := 0; i < I.RawMatrix().Rows; i++ {
		hists = append(hists, mat.Row(nil, i, I))
	}
	reg, lam, want := fixtureFloat(t, fx, "reg"), fixtureFloats(t, fx, "weights"), fixtureFloats(t, fx, "barycenter")
	C, err := g.Cost()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Support{g, DenseSupport(C)} {
		for _, method := range []BarycenterMethod{BarycenterScaling, BarycenterLog} {
			res, err := Barycenter(hists, s, reg, lam, &BarycenterOptions{Method: method, Tol: 1e-13})
			if err != nil {
				t.Fatal(err)
			}
			if d := baryDiff(res.Barycenter, want); d > 1e-10 || !res.Converged {
				t.Errorf("%T/%v: max |b − POT| = %.3g (converged %v after %d)", s, method, d, res.Converged, res.Iterations)
			}
		}
	}
}

// The separable kernel of a non-square grid with explicit spacings is the kernel of
// its dense cost; the plans' marginals hold.
func TestBarycenterGridMatchesDense(t *testing.T) {
	g := Grid{Rows: 7, Cols: 5, DY: 0.3, DX: 0.2}
	n := g.Rows * g.Cols
	hists := make([][]float64, 3)
	for k := range hists {
		h := make([]float64, n)
		for i := range h {
			h[i] = 1 + math.Sin(float64(i*(k+2))) // positive, varied
		}
		if k == 1 {
			h[3], h[17] = 0, 0 // zero weights are allowed
		}
		floats.Scale(1/floats.Sum(h), h)
		hists[k] = h
	}
	C, err := g.Cost()
	if err != nil {
		t.Fatal(err)
	}
	eps, lam := 0.05, []float64{0.2, 0.3, 0.5}
	rg, err := Barycenter(hists, g, eps, lam, nil)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := Barycenter(hists, DenseSupport(C), eps, lam, &BarycenterOptions{Method: BarycenterLog})
	if err != nil {
		t.Fatal(err)
	}
	if d := baryDiff(rg.Barycenter, rd.Barycenter); d > 1e-10 || !rg.Converged || !rd.Converged {
		t.Errorf("grid vs dense: %.3g", d)
	}
	// Marginals of P_k = exp((F_k ⊕ G_k − C)/ε): rows give b, columns ν_k.
	for k := range hists {
		rows, cols := make([]float64, n), make([]float64, n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				p := math.Exp((rg.F[k][i] + rg.G[k][j] - C.At(i, j)) / eps)
				if hists[k][j] == 0 {
					p = 0
				}
				rows[i] += p
				cols[j] += p
			}
		}
		if d := baryDiff(rows, rg.Barycenter); d > 1e-8 {
			t.Errorf("P_%d 1 − b: %.3g", k, d)
		}
		if d := baryDiff(cols, hists[k]); d > 1e-12 {
			t.Errorf("P_%dᵀ1 − ν: %.3g", k, d)
		}
	}
}

// Closed form: the W₂ barycenter of 1-D Gaussians N(m_k, s_k²) is N(Σλm, (Σλs)²);
// at small ε on a fine grid the entropic barycenter is within a few percent in s.
func TestBarycenterGaussians1D(t *testing.T) {
	n := 150
	g := Grid{Rows: 1, Cols: n}
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i) / float64(n-1)
	}
	ms, ss, lam := []float64{0.25, 0.7, 0.45}, []float64{0.03, 0.06, 0.045}, []float64{0.3, 0.5, 0.2}
	hists := make([][]float64, len(ms))
	for k := range hists {
		h := make([]float64, n)
		for i, xi := range x {
			h[i] = math.Exp(-(xi - ms[k]) * (xi - ms[k]) / (2 * ss[k] * ss[k]))
		}
		floats.Scale(1/floats.Sum(h), h)
		hists[k] = h
	}
	res, err := Barycenter(hists, g, 1e-4, lam, &BarycenterOptions{MaxIter: 20000, Tol: 1e-7})
	if err != nil || !res.Converged {
		t.Fatalf("%v (converged %v)", err, res != nil && res.Converged)
	}
	b := res.Barycenter
	mean := floats.Dot(b, x)
	v := 0.0
	for i, xi := range x {
		v += b[i] * (xi - mean) * (xi - mean)
	}
	wantM, wantS := floats.Dot(lam, ms), floats.Dot(lam, ss)
	t.Logf("mean %.5f (want %.5f), std %.5f (want %.5f), %d iterations", mean, wantM, math.Sqrt(v), wantS, res.Iterations)
	if math.Abs(mean-wantM) > 1e-3 || math.Abs(math.Sqrt(v)-wantS) > 0.03*wantS {
		t.Errorf("mean %.5f (want %.5f), std %.5f (want %.5f)", mean, wantM, math.Sqrt(v), wantS)
	}
}

func TestBarycenterBadInput(t *testing.T) {
	g := Grid{Rows: 2, Cols: 3}
	u := Uniform(6)
	neg := []float64{0.5, 0.5, 0.2, -0.2, 0, 0}
	unnorm := []float64{0.5, 0.5, 0.5, 0, 0, 0}
	C, _ := g.Cost()
	nan := mat.DenseCopyOf(C)
	nan.Set(1, 2, math.NaN())
	cases := map[string]func() error{
		"negative":      func() error { _, err := Barycenter([][]float64{u, neg}, g, 0.1, nil, nil); return err },
		"unnormalized":  func() error { _, err := Barycenter([][]float64{unnorm, u}, g, 0.1, nil, nil); return err },
		"grid mismatch": func() error { _, err := Barycenter([][]float64{u, Uniform(5)}, g, 0.1, nil, nil); return err },
		"cost mismatch": func() error {
			_, err := Barycenter([][]float64{Uniform(5)}, DenseSupport(C), 0.1, nil, nil)
			return err
		},
		"lambda simplex":  func() error { _, err := Barycenter([][]float64{u, u}, g, 0.1, []float64{0.7, 0.7}, nil); return err },
		"lambda negative": func() error { _, err := Barycenter([][]float64{u, u}, g, 0.1, []float64{1.5, -0.5}, nil); return err },
		"lambda length":   func() error { _, err := Barycenter([][]float64{u, u}, g, 0.1, []float64{1}, nil); return err },
		"eps":             func() error { _, err := Barycenter([][]float64{u}, g, 0, nil, nil); return err },
		"no hists":        func() error { _, err := Barycenter(nil, g, 0.1, nil, nil); return err },
		"nil support":     func() error { _, err := Barycenter([][]float64{u}, nil, 0.1, nil, nil); return err },
		"nil cost":        func() error { _, err := Barycenter([][]float64{u}, DenseSupport(nil), 0.1, nil, nil); return err },
		"nan cost":        func() error { _, err := Barycenter([][]float64{u}, DenseSupport(nan), 0.1, nil, nil); return err },
		"empty grid":      func() error { _, err := Barycenter([][]float64{u}, Grid{Rows: 0, Cols: 6}, 0.1, nil, nil); return err },
		"bad spacing": func() error {
			_, err := Barycenter([][]float64{u}, Grid{Rows: 2, Cols: 3, DX: -1}, 0.1, nil, nil)
			return err
		},
		"method": func() error {
			_, err := Barycenter([][]float64{u}, g, 0.1, nil, &BarycenterOptions{Method: 7})
			return err
		},
		"init shape": func() error {
			_, err := Barycenter([][]float64{u}, g, 0.1, nil, &BarycenterOptions{InitF: [][]float64{{1}}})
			return err
		},
		"init nan": func() error {
			_, err := Barycenter([][]float64{u}, g, 0.1, nil, &BarycenterOptions{InitF: [][]float64{{0, 0, math.NaN(), 0, 0, 0}}})
			return err
		},
	}
	for name, f := range cases {
		if err := f(); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
}

// Adding a constant to the cost changes nothing: K only scales, and the scalings
// absorb it. Negative costs exercise the shifted kernels; at −30/ε the scaling domain
// overflows and Auto must finish in the log domain.
func TestBarycenterCostShift(t *testing.T) {
	hists, C, reg, lam, want := baryFixture(t, "barycenter_1d_reg0.01_log")
	for _, shift := range []float64{-0.5, -30} {
		var Cs mat.Dense
		Cs.Apply(func(_, _ int, v float64) float64 { return v + shift }, C)
		for _, method := range []BarycenterMethod{BarycenterAuto, BarycenterLog} {
			res, err := Barycenter(hists, DenseSupport(&Cs), reg, lam, &BarycenterOptions{Method: method, Tol: 1e-13})
			if err != nil {
				t.Fatal(err)
			}
			if d := baryDiff(res.Barycenter, want); d > 1e-11 || !res.Converged {
				t.Errorf("shift %g, %v (ran %v): max |b − POT| = %.3g", shift, method, res.Method, d)
			}
			// The potentials refer to the shifted cost: P_k = exp((F_k ⊕ G_k − C − shift)/ε)
			// has the marginals b and ν_k.
			n := len(want)
			for k := range hists {
				rows, cols := make([]float64, n), make([]float64, n)
				for i := 0; i < n; i++ {
					for j := 0; j < n; j++ {
						p := math.Exp((res.F[k][i] + res.G[k][j] - Cs.At(i, j)) / reg)
						rows[i] += p
						cols[j] += p
					}
				}
				if d := math.Max(baryDiff(rows, res.Barycenter), baryDiff(cols, hists[k])); d > 1e-9 {
					t.Errorf("shift %g, %v: plan %d misses its marginals by %.3g", shift, method, k, d)
				}
			}
		}
	}
}

func TestGridTooLarge(t *testing.T) {
	if _, err := (Grid{Rows: 300, Cols: 300}).Cost(); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("dense cost of a 300×300 grid: %v", err)
	}
	if _, err := Barycenter([][]float64{{1}}, Grid{Rows: 1 << 21, Cols: 1}, 0.1, nil, nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("huge grid: %v", err)
	}
}
