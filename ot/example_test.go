package ot_test

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// Entropic OT between two small clouds, then the debiased divergence with gradients.
func ExampleSinkhornDivergence() {
	x := mat.NewDense(3, 2, []float64{0, 0, 1, 0, 0, 1})
	y := mat.NewDense(2, 2, []float64{2, 2, 3, 2})
	r, err := ot.SinkhornDivergence(x, y, nil, nil, ot.SqEuclidean, 0.5, &ot.DivergenceOptions{Grad: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("S_ε = %.4f (converged %v)\n", r.Value, r.Converged)
	fmt.Printf("∂S/∂x_0 = %.4f\n", mat.Row(nil, 0, r.Grad.X))
	// Output:
	// S_ε = 3.7747 (converged true)
	// ∂S/∂x_0 = [-0.7084 -0.5916]
}

// Sinkhorn on a cost matrix, in the scaling domain, stopping on the marginal error.
// Cost is ⟨P,C⟩ + ε·KL(P|a⊗b): here mostly the entropic term, ε·log 2.
func ExampleSinkhorn() {
	C := mat.NewDense(2, 2, []float64{0, 1, 1, 0})
	res, err := ot.Sinkhorn([]float64{0.5, 0.5}, []float64{0.5, 0.5}, C, 0.1,
		&ot.SinkhornOptions{Method: ot.Stabilized, Tol: 1e-12, Plan: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("cost %.6f after %d iterations\n", res.Cost, res.Iterations)
	fmt.Printf("plan %.6f\n", mat.Formatted(res.Plan, mat.Squeeze()))
	// Output:
	// cost 0.069310 after 1 iterations
	// plan ⎡0.499977  0.000023⎤
	// ⎣0.000023  0.499977⎦
}
