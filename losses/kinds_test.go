package losses

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// On the line every direction is ±1: the sliced kind is the exact OT cost s·W_p^p.
func TestSlicedOnTheLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x, y := randMatrix(rng, 9, 1, 1), randMatrix(rng, 6, 1, 2)
	for _, c := range []ot.Cost{ot.SqEuclidean, ot.Euclidean, ot.PowerCost(3)} {
		want, err := ot.Exact1D(x, y, nil, nil, c.Power)
		if err != nil {
			t.Fatal(err)
		}
		want *= c.Scale
		got, _, _, st, err := Evaluate(mat.NewDense(9, 1, x), mat.NewDense(6, 1, y), Config{Kind: Sliced, Cost: c, Projections: 3}, WantNone)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-12*want || st.Eps != 0 || st.Iterations != 0 {
			t.Errorf("%v: sliced %.15g, exact %.15g (stats %+v)", c, got, want, st)
		}
	}
}

// The directions are a function of the seed and the data: the same batch gives the
// same value, another seed another one.
func TestSlicedDirectionsReproducible(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x, y := mat.NewDense(8, 5, randMatrix(rng, 8, 5, 1)), mat.NewDense(8, 5, randMatrix(rng, 8, 5, 1))
	cfg := Config{Kind: Sliced, Projections: 4}
	v1, _, _, _, _ := Evaluate(x, y, cfg, WantNone)
	v2, _, _, _, _ := Evaluate(x, y, cfg, WantNone)
	cfg.Seed = 1
	v3, _, _, _, _ := Evaluate(x, y, cfg, WantNone)
	if v1 != v2 || v1 == v3 {
		t.Errorf("values %v %v (same seed), %v (another)", v1, v2, v3)
	}
}

// The unbalanced kind, run to convergence, is the divergence that POT's three
// unbalanced solves give (ot/testdata/gen_unbalanced_sliced.py).
func TestUnbalancedKindPOT(t *testing.T) {
	raw, err := os.ReadFile("../ot/testdata/unbalanced_eps0.5_rho1.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		X, Y       [][]float64
		A, B       []float64
		Eps, Rho   float64
		Divergence float64
	}
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
	cfg := Config{Kind: Unbalanced, Eps: fx.Eps, Rho: fx.Rho, Iters: 10000, DataWeights: fx.A, GenWeights: fx.B}
	got, _, g, st, err := Evaluate(dense(fx.X), dense(fx.Y), cfg, WantGenerated)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-fx.Divergence) > 1e-8 || g == nil || st.Iterations >= 10000 {
		t.Errorf("unbalanced %.12g after %d iterations, POT %.12g", got, st.Iterations, fx.Divergence)
	}
}
