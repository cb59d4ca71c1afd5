package losses

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/ot"
)

// geomFixture is ot/testdata/laplacian_hausdorff.json (gen_laplacian_hausdorff.py).
type geomFixture struct {
	X, Y      [][]float64
	A, B      []float64
	Laplacian []struct {
		Sigmas []float64
		MMD2   float64
	}
	Hausdorff []struct {
		Eps   float64
		Power float64
		Value float64
	}
}

func loadGeomFixture(t *testing.T) (geomFixture, *mat.Dense, *mat.Dense) {
	t.Helper()
	raw, err := os.ReadFile("../ot/testdata/laplacian_hausdorff.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx geomFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	dense := func(rows [][]float64) *mat.Dense {
		m := mat.NewDense(len(rows), len(rows[0]), nil)
		for i, r := range rows {
			m.SetRow(i, r)
		}
		return m
	}
	return fx, dense(fx.X), dense(fx.Y)
}

// Kind MMD with kernel = "laplacian" is NumPy's Laplacian MMD²; an unknown kernel is
// a FieldError naming the key.
func TestLaplacianKernelKind(t *testing.T) {
	fx, x, y := loadGeomFixture(t)
	for _, c := range fx.Laplacian {
		cfg := Config{Kind: MMD, Kernel: "laplacian", Bandwidths: c.Sigmas, DataWeights: fx.A, GenWeights: fx.B}
		got, _, g, _, err := Evaluate(x, y, cfg, WantGenerated)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-c.MMD2) > 1e-12*c.MMD2 || g == nil {
			t.Errorf("laplacian %v: %.15g, NumPy %.15g", c.Sigmas, got, c.MMD2)
		}
		gauss, _, _, _, _ := Evaluate(x, y, Config{Kind: MMD, Bandwidths: c.Sigmas, DataWeights: fx.A, GenWeights: fx.B}, WantNone)
		if gauss == got {
			t.Errorf("laplacian %v: equal to the Gaussian MMD", c.Sigmas)
		}
	}
	err := Config{Kind: MMD, Kernel: "cauchy"}.Validate()
	if fe, ok := err.(*FieldError); !ok || fe.Key != "kernel" {
		t.Errorf("unknown kernel: %v", err)
	}
}

// Kind hausdorff is NumPy's Hausdorff divergence (to 1e-10 once its solves converge);
// at ε = +Inf it is the Sinkhorn divergence's limit, half the MMD of −c; its only
// backward mode is implicit.
func TestHausdorffKind(t *testing.T) {
	fx, x, y := loadGeomFixture(t)
	for _, c := range fx.Hausdorff {
		cost := ot.SqEuclidean
		if c.Power == 1 {
			cost = ot.Euclidean
		}
		cfg := Config{Kind: Hausdorff, Eps: c.Eps, Iters: 100000, Cost: cost, DataWeights: fx.A, GenWeights: fx.B}
		got, _, g, st, err := Evaluate(x, y, cfg, WantGenerated)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-c.Value) > 1e-10*math.Max(1, c.Value) || g == nil || st.Iterations == 0 {
			t.Errorf("p=%g ε=%g: %.15g, NumPy %.15g (%+v)", c.Power, c.Eps, got, c.Value, st)
		}
	}
	inf, _, _, _, err := Evaluate(x, y, Config{Kind: Hausdorff, Eps: math.Inf(1)}, WantNone)
	if err != nil {
		t.Fatal(err)
	}
	div, _, _, _, _ := Evaluate(x, y, Config{Kind: Divergence, Eps: math.Inf(1)}, WantNone)
	if inf != div || !(inf > 0) {
		t.Errorf("ε = +Inf: hausdorff %v, sinkhorn %v", inf, div)
	}
	err = Config{Kind: Hausdorff, Eps: 1, Backward: Unrolled}.Validate()
	if fe, ok := err.(*FieldError); !ok || fe.Key != "backward" {
		t.Errorf("hausdorff, unrolled: %v", err)
	}
}

// Kind hausdorff in a graph behind an MLP: gorgonia's Grad against central finite
// differences of the graph's value.
func TestHausdorffInGraph(t *testing.T) {
	const n, m, k, h, d = 9, 7, 3, 5, 4
	rng := rand.New(rand.NewPCG(19, 4))
	z, w1, w2 := randMatrix(rng, m, k, 1), randMatrix(rng, k, h, 0.7), randMatrix(rng, h, d, 0.7)
	data := randMatrix(rng, n, d, 1)
	for _, cfg := range []Config{{Kind: Hausdorff, Eps: 0.5, Iters: 1000}, {Kind: Hausdorff, Eps: 0.2, Iters: 1000, Cost: ot.Euclidean}} {
		ml := buildMLP(t, tensor.Float64, cfg, z, w1, w2, data, n, m, k, h, d)
		ml.run(t)
		grads := [][]float64{gradOf(t, ml.w1), gradOf(t, ml.w2)}
		for wi, w := range [][]float64{w1, w2} {
			for i := range w {
				const step = 1e-6
				orig := w[i]
				value := func(v float64) float64 {
					w[i] = v
					defer func() { w[i] = orig }()
					return buildMLP(t, tensor.Float64, cfg, z, w1, w2, data, n, m, k, h, d).run(t)
				}
				fd := (value(orig+step) - value(orig-step)) / (2 * step)
				if diff := math.Abs(fd - grads[wi][i]); diff > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Errorf("%v: ∂/∂w%d[%d] = %.10g, finite difference %.10g", cfg.Cost, wi+1, i, grads[wi][i], fd)
				}
			}
		}
	}
}
