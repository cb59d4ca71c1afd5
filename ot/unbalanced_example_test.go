package ot_test

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// Unbalanced OT between a measure of mass 1 and one of mass 2 far away: with a small
// penalty ρ the plan moves little mass and pays ρ·KL for the rest, with a larger one it
// moves more; at ρ = +Inf it would need equal masses. (The iterations
// contract by ρ/(ρ+ε) per step: a large ρ with unequal masses needs many of them.)
func ExampleSinkhornUnbalanced() {
	C := mat.NewDense(2, 2, []float64{4, 5, 5, 4})
	a, b := []float64{0.5, 0.5}, []float64{1, 1}
	for _, rho := range []float64{0.5, 10} {
		r, err := ot.SinkhornUnbalanced(a, b, C, 0.1, rho, rho, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("ρ = %g: mass moved %.3f, OT = %.4f (converged %v)\n", rho, r.Mass, r.Dual, r.Converged)
	}
	// Output:
	// ρ = 0.5: mass moved 0.036, OT = 1.6603 (converged true)
	// ρ = 10: mass moved 1.157, OT = 6.9440 (converged true)
}

// The unbalanced Sinkhorn divergence with GeomLoss's reach: blur ε = 0.1, reach 1
// (ρ = reach² for the cost ½|x−y|²), and its gradient with respect to the points.
func ExampleUnbalancedDivergence() {
	x := mat.NewDense(3, 2, []float64{0, 0, 1, 0, 0, 1})
	y := mat.NewDense(2, 2, []float64{2, 2, 3, 2})
	rho := ot.Reach(1, ot.SqEuclidean)
	r, err := ot.UnbalancedDivergence(x, y, nil, nil, ot.SqEuclidean, 0.1, rho, &ot.DivergenceOptions{Grad: true})
	if err != nil {
		panic(err)
	}
	bal, err := ot.UnbalancedDivergence(x, y, nil, nil, ot.SqEuclidean, 0.1, math.Inf(1), nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("S = %.4f (balanced %.4f), converged %v\n", r.Value, bal.Value, r.Converged)
	fmt.Printf("∂S/∂x_0 = %.4f\n", mat.Row(nil, 0, r.Grad.X))
	// Output:
	// S = 1.5860 (balanced 3.8597), converged true
	// ∂S/∂x_0 = [-0.0430 -0.0430]
}

// Unbalanced OT between point clouds and its gradients. The weights of an unbalanced
// measure move freely: the far point y_1 has a positive mass gradient (its mass is
// mostly destroyed, at a price), the near one y_0 a negative one.
func ExampleUnbalancedGradients() {
	x := mat.NewDense(2, 1, []float64{0, 1})
	y := mat.NewDense(2, 1, []float64{0.5, 4})
	a, b := []float64{0.5, 0.5}, []float64{0.5, 0.5}
	r, err := ot.SinkhornUnbalancedPoints(x, y, a, b, ot.SqEuclidean, 0.1, 1, 1, nil)
	if err != nil {
		panic(err)
	}
	g, err := ot.UnbalancedGradients(x, y, a, b, ot.SqEuclidean, r)
	if err != nil {
		panic(err)
	}
	fmt.Printf("OT = %.4f, mass moved %.3f\n", r.Dual, r.Mass)
	fmt.Printf("∂/∂x = %.4f, ∂/∂b = %.4f\n", g.X.RawMatrix().Data, g.B)
	// Output:
	// OT = 0.7112, mass moved 0.661
	// ∂/∂x = [-0.1651 0.1256], ∂/∂b = [-0.3299 1.0749]
}
