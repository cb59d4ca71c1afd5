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
	// SW_2 = 2.0174, max-SW_2 = 2.7440
	// ∂SW_2/∂x_0 = [-0.1974 -0.1575]
}

// SW_2 between float32 clouds (float32 projections and gradient product, as a
// training step runs it), and only the second cloud's gradient, by Backward into a
// float32 buffer: the first cloud's is never computed.
func ExampleSlicedWassersteinPoints() {
	x := ot.FromFloat32(3, 2, []float32{0, 0, 1, 0, 0, 1})
	y := ot.FromFloat32(2, 2, []float32{2, 2, 3, 2})
	r, err := ot.SlicedWassersteinPoints(x, y, nil, nil, 2, &ot.SlicedOptions{Projections: 64, Seed: 1, Record: true})
	if err != nil {
		panic(err)
	}
	gy := make([]float32, 4)
	if err := r.Backward(1, ot.Points{}, ot.FromFloat32(2, 2, gy)); err != nil {
		panic(err)
	}
	fmt.Printf("SW_2 = %.4f\n∂SW_2/∂y_0 = %.4f\n", r.Value, gy[:2])
	// Output:
	// SW_2 = 2.0174
	// ∂SW_2/∂y_0 = [0.2818 0.2058]
}
