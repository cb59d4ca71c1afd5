package ot_test

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// The Hausdorff divergence between two clouds: at a small ε it is the ICP (chamfer)
// loss ½(Σ_i a_i min_j c(x_i,y_j) + Σ_j b_j min_i c(x_i,y_j)), here
// ½(⅓(1 + 0.5 + 0.5) + ½(0.5 + 0.5)) = 0.5833 for c = ½|x−y|², whose gradient splits
// the tied nearest neighbours evenly; at a large ε, the kernel norm ½|Δmean|² =
// ½|(7/6, 1/6)|² = 0.6944, with gradient b_0·Δmean.
func ExampleHausdorff() {
	x := mat.NewDense(3, 2, []float64{0, 0, 1, 0, 0, 1})
	y := mat.NewDense(2, 2, []float64{1, 1, 2, 0})
	for _, eps := range []float64{1e-4, 1e5} {
		h, err := ot.Hausdorff(x, y, nil, nil, ot.SqEuclidean, eps, &ot.DivergenceOptions{Grad: true})
		if err != nil {
			panic(err)
		}
		fmt.Printf("ε = %g: H = %.4f, ∂H/∂y_0 = %.4f\n", eps, h.Value, mat.Row(nil, 0, h.Grad.Y))
	}
	// Output:
	// ε = 0.0001: H = 0.5833, ∂H/∂y_0 = [0.4583 0.3750]
	// ε = 100000: H = 0.6944, ∂H/∂y_0 = [0.5833 0.0833]
}

// Three independent problems in one call, run in parallel: each result is the one its
// own call gives.
func ExampleSinkhornDivergenceBatch() {
	xs := []*mat.Dense{
		mat.NewDense(2, 1, []float64{0, 1}),
		mat.NewDense(3, 1, []float64{0, 1, 2}),
		mat.NewDense(1, 1, []float64{5}),
	}
	ys := []*mat.Dense{
		mat.NewDense(2, 1, []float64{0, 1}),
		mat.NewDense(2, 1, []float64{3, 4}),
		mat.NewDense(2, 1, []float64{4, 6}),
	}
	res, err := ot.SinkhornDivergenceBatch(xs, ys, nil, nil, ot.SqEuclidean, 0.1, nil)
	if err != nil {
		panic(err)
	}
	for k, r := range res {
		alone, _ := ot.SinkhornDivergence(xs[k], ys[k], nil, nil, ot.SqEuclidean, 0.1, nil)
		fmt.Printf("pair %d: S_ε = %.4f, as alone: %v\n", k, r.Value, r.Value == alone.Value)
	}
	_, err = ot.SinkhornDivergenceBatch(xs, []*mat.Dense{ys[0], ys[1], mat.NewDense(1, 2, nil)}, nil, nil, ot.SqEuclidean, 0.1, nil)
	fmt.Println(err != nil)
	// Output:
	// pair 0: S_ε = 0.0000, as alone: true
	// pair 1: S_ε = 3.2074, as alone: true
	// pair 2: S_ε = 0.4653, as alone: true
	// true
}

// The gradient of Genevay et al.'s primal loss ⟨P,C⟩ at a converged solve: the implicit
// gradient is the unrolled one, which the envelope theorem's (P's) is not.
func ExampleUnrolled_BackwardImplicit() {
	x := mat.NewDense(3, 1, []float64{0, 1, 3})
	y := mat.NewDense(2, 1, []float64{0.5, 2})
	u, err := ot.UnrolledSinkhorn(ot.FromDense(x), ot.FromDense(y), nil, nil, ot.SqEuclidean, 0.5, &ot.UnrolledOptions{Iterations: 1000})
	if err != nil {
		panic(err)
	}
	grad := func(f func(gy ot.Points)) []float64 {
		g := mat.NewDense(2, 1, nil)
		f(ot.FromDense(g))
		return g.RawMatrix().Data
	}
	implicit := grad(func(gy ot.Points) {
		if err := u.BackwardImplicit(0, 1, ot.Points{}, gy); err != nil {
			panic(err)
		}
	})
	unrolled := grad(func(gy ot.Points) { u.Backward(0, 1, ot.Points{}, gy) })
	envelope := grad(func(gy ot.Points) { u.BackwardEnvelope(1, ot.Points{}, gy) })
	fmt.Printf("implicit %.6f\nunrolled %.6f\nenvelope %.6f\n", implicit, unrolled, envelope)
	// Output:
	// implicit [0.114667 -0.198000]
	// unrolled [0.114667 -0.198000]
	// envelope [0.067752 -0.151086]
}
