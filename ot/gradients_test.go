package ot

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// For generic points and weights the optimal plan and the duals are unique, so the exact
// cost is differentiable and small moves keep the basis: central differences must match.
func TestExactGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	x, y := randCloud(rng, 8, 2, 0), randCloud(rng, 6, 2, 0.5)
	a, b := randWeights(rng, 8), randWeights(rng, 6)
	for _, c := range []Cost{SqEuclidean, Euclidean, PowerCost(3)} {
		res, err := ExactPoints(x, y, a, b, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		g, err := ExactGradients(x, y, c, res)
		if err != nil {
			t.Fatal(err)
		}
		checkGradients(t, "exact "+c.String(), x, y, a, b, g, func(x, y *mat.Dense, a, b []float64) float64 {
			r, err := ExactPoints(x, y, a, b, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			return r.Cost
		}, 1e-6)
	}
	if _, err := ExactGradients(x, y, SqEuclidean, &ExactResult{F: make([]float64, 3)}); err == nil {
		t.Error("mismatched result accepted")
	}
}
