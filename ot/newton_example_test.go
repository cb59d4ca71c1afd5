package ot_test

import (
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// At small ε, Sinkhorn creeps on 25 vs 25 normal points with uniform weights; its
// Newton finisher takes over and meets a tolerance of 1e-12.
func ExampleSinkhorn_newton() {
	rng := rand.New(rand.NewPCG(2, 3))
	cloud := func(shift float64) *mat.Dense {
		x := mat.NewDense(25, 2, nil)
		for i := range 25 {
			x.Set(i, 0, rng.NormFloat64()+shift)
			x.Set(i, 1, rng.NormFloat64()+shift)
		}
		return x
	}
	x, y := cloud(0), cloud(0.5)
	plain, _ := ot.SinkhornPoints(x, y, nil, nil, ot.SqEuclidean, 0.01,
		&ot.SinkhornOptions{Method: ot.Stabilized, Tol: 1e-12, MaxIter: 100000, NoNewton: true})
	fmt.Printf("Sinkhorn alone: converged %v after %d iterations, marginal error above 1e-8: %v\n",
		plain.Converged, plain.Iterations, plain.MarginalError > 1e-8)
	res, _ := ot.SinkhornPoints(x, y, nil, nil, ot.SqEuclidean, 0.01, &ot.SinkhornOptions{Tol: 1e-12})
	fmt.Printf("with the finisher: converged %v, Newton steps taken: %v, marginal error ≤ 1e-12: %v\n",
		res.Converged, res.NewtonIterations > 0, res.MarginalError <= 1e-12)
	// Output:
	// Sinkhorn alone: converged false after 100000 iterations, marginal error above 1e-8: true
	// with the finisher: converged true, Newton steps taken: true, marginal error ≤ 1e-12: true
}
