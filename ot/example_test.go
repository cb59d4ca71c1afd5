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

// Exact OT between two pairs of points on a line under ½|x−y|²: the monotone matching
// 0→1, 2→4 costs ½(½·1² + ½·2²) = 1.25, the crossed one ½(½·4² + ½·1²) = 4.25.
func ExampleExactPoints() {
	x := mat.NewDense(2, 1, []float64{0, 2})
	y := mat.NewDense(2, 1, []float64{1, 4})
	res, err := ot.ExactPoints(x, y, nil, nil, ot.SqEuclidean, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("cost %.4f (converged %v)\n", res.Cost, res.Converged)
	for _, t := range res.Plan {
		fmt.Printf("%d → %d: %.2f\n", t.I, t.J, t.Mass)
	}
	// Output:
	// cost 1.2500 (converged true)
	// 0 → 0: 0.50
	// 1 → 1: 0.50
}

// Entropic OT between {0, 1} and itself under ½|x−y|² at ε = ½: by symmetry the plan is
// [[p, q], [q, p]] with p/q = exp(C₀₁/ε) = e and p + q = ½, so q = ½/(1+e) = 0.134471
// and the cost ⟨P,C⟩ + ε·KL(P|a⊗b) = q + ½(2p·log 4p + 2q·log 4q) = 0.189943.
func ExampleSinkhornPoints() {
	x := mat.NewDense(2, 1, []float64{0, 1})
	res, err := ot.SinkhornPoints(x, x, nil, nil, ot.SqEuclidean, 0.5, &ot.SinkhornOptions{Tol: 1e-12, Plan: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("cost %.6f, ⟨P,C⟩ %.6f (converged %v)\n", res.Cost, res.LinearCost, res.Converged)
	fmt.Printf("plan %.6f\n", mat.Formatted(res.Plan, mat.Squeeze()))
	// Output:
	// cost 0.189943, ⟨P,C⟩ 0.134471 (converged true)
	// plan ⎡0.365529  0.134471⎤
	// ⎣0.134471  0.365529⎦
}

// MMD² with the Gaussian kernel k = exp(−|x−y|²/2) between the points 0 and 1:
// k(0,0) + k(1,1) − 2k(0,1) = 2 − 2e^(−1/2) = 0.786939, and its derivative in x,
// 2(x−y)·e^(−(x−y)²/2) = −2e^(−1/2) = −1.213061.
func ExampleMMD() {
	x := mat.NewDense(1, 1, []float64{0})
	y := mat.NewDense(1, 1, []float64{1})
	res, err := ot.MMD(x, y, nil, nil, ot.GaussianMixture{1}, &ot.MMDOptions{Grad: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("MMD² %.6f, ∂/∂x %.6f\n", res.Value, res.Grad.X.At(0, 0))
	// Output:
	// MMD² 0.786939, ∂/∂x -1.213061
}

// Unrolled Sinkhorn from one point x = 0 to y = {1, 3}: a single source must send
// everything, so after any number of updates the dual value is Σ_j b_j·½(x−y_j)² = 2.5,
// whatever ε, and reverse mode through the updates gives its gradients
// Σ_j b_j(x−y_j) = −2 for x and b_j(y_j−x) = 0.5, 1.5 for y. float32 points
// (ot.FromFloat32) go through the same calls.
func ExampleUnrolledSinkhorn() {
	x := mat.NewDense(1, 1, []float64{0})
	y := mat.NewDense(2, 1, []float64{1, 3})
	u, err := ot.UnrolledSinkhorn(ot.FromDense(x), ot.FromDense(y), nil, nil, ot.SqEuclidean, 0.1,
		&ot.UnrolledOptions{Iterations: 3})
	if err != nil {
		panic(err)
	}
	fmt.Printf("dual %.4f after %d iterations (converged %v)\n", u.Dual, u.Iterations, u.Converged)
	gx, gy := mat.NewDense(1, 1, nil), mat.NewDense(2, 1, nil)
	u.Backward(1, 0, ot.FromDense(gx), ot.FromDense(gy)) // ∂Dual/∂x, ∂Dual/∂y
	fmt.Printf("∂/∂x %.4f, ∂/∂y %.4f\n", gx.RawMatrix().Data, gy.RawMatrix().Data)
	// Output:
	// dual 2.5000 after 3 iterations (converged true)
	// ∂/∂x [-2.0000], ∂/∂y [0.5000 1.5000]
}
