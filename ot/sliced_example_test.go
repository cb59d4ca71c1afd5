package ot_test

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// The sliced Wasserstein distance SW_2 between two clouds over 64 seeded random
// directions, its gradient, and the max-sliced distance over the same directions.
func ExampleSlicedWasserstein() {
	x := mat.NewDense(3, 2, []float64{0, 0, 1, 0, 0, 1})
	y := mat.NewDense(2, 2, []float64{2, 2, 3, 2})
	o := &ot.SlicedOptions{Projections: 64, Seed: 1, Grad: true}
	sw, err := ot.SlicedWasserstein(x, y, nil, nil, 2, o)
	if err != nil {
		panic(err)
	}
	mx, err := ot.MaxSlicedWasserstein(x, y, nil, nil, 2, o)
	if err != nil {
		panic(err)
	}
	fmt.Printf("SW_2 = %.4f, max-SW_2 = %.4f\n", sw.Value, mx.Value)
	fmt.Printf("∂SW_2/∂x_0 = %.4f\n", mat.Row(nil, 0, sw.Grad.X))
	// Output:
	// SW_2 = 1.9306, max-SW_2 = 2.7433
	// ∂SW_2/∂x_0 = [-0.1960 -0.1412]
}
