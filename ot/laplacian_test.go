package ot

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestLaplacianMMDFixture checks the Laplacian-kernel MMD² and its point gradients
// against NumPy (testdata/gen_laplacian_hausdorff.py).
func TestLaplacianMMDFixture(t *testing.T) {
	fx := loadFixture(t, "laplacian_hausdorff")
	x, y, a, b := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y"), fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b")
	for _, c := range fixtureField(t, fx, "laplacian").([]any) {
		cs := c.(map[string]any)
		k := LaplacianMixture(toFloats(t, "sigmas", cs["sigmas"]))
		got, g, err := mmd(x, y, a, b, k, true)
		if err != nil {
			t.Fatal(err)
		}
		if r := relErr(got, fixtureFloat(t, cs, "mmd2")); r > 1e-12 {
			t.Errorf("MMD² %v: %.15g, want %.15g", k, got, fixtureFloat(t, cs, "mmd2"))
		}
		for side, G := range []*mat.Dense{g.X, g.Y} {
			want := fixtureDense(t, cs, []string{"grad_x", "grad_y"}[side])
			if d := maxAbsDiff(G.RawMatrix().Data, want.RawMatrix().Data); d > 1e-12 {
				t.Errorf("MMD² %v: gradient with respect to %c off by %g", k, "xy"[side], d)
			}
		}
	}
}

func TestLaplacianMMDGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	x, y := randCloud(rng, 6, 3, 0), randCloud(rng, 5, 3, 0.4)
	a, b := randWeights(rng, 6), randWeights(rng, 5)
	k := LaplacianMixture{0.5, 2}
	_, g, err := mmd(x, y, a, b, k, true)
	if err != nil {
		t.Fatal(err)
	}
	checkGradients(t, fmt.Sprintf("MMD %v", k), x, y, a, b, g, func(x, y *mat.Dense, a, b []float64) float64 {
		v, _, _ := mmd(x, y, a, b, k, false)
		return v
	}, 1e-7)
	for _, bad := range []LaplacianMixture{{}, {0}, {-1}} {
		if _, _, err := mmd(x, y, a, b, bad, false); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("bandwidths %v: %v", bad, err)
		}
	}
}
