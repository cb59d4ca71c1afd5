package losses_test

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/losses"
)

// Two pairs of clouds stacked in one pair of matrices (rows 0–1 and 2–3 of the data,
// 0 and 1 of the generated points): the batched loss is the mean of the two pairs'
// losses, each as alone.
func ExampleConfig_batch() {
	data := mat.NewDense(4, 1, []float64{0, 1, 10, 11})
	gen := mat.NewDense(2, 1, []float64{0.5, 13})
	cfg := losses.Config{Kind: losses.Divergence, Eps: 0.5, Iters: 100, Batch: 2}
	v, _, g, _, err := losses.Evaluate(data, gen, cfg, losses.WantGenerated)
	if err != nil {
		panic(err)
	}
	cfg.Batch = 1
	v0, _, _, _, _ := losses.Evaluate(mat.NewDense(2, 1, []float64{0, 1}), mat.NewDense(1, 1, []float64{0.5}), cfg, losses.WantNone)
	v1, _, _, _, _ := losses.Evaluate(mat.NewDense(2, 1, []float64{10, 11}), mat.NewDense(1, 1, []float64{13}), cfg, losses.WantNone)
	fmt.Printf("batch %.4f = (%.4f + %.4f)/2: %v\n", v, v0, v1, v == (v0+v1)/2)
	fmt.Printf("∂/∂gen %.4f\n", g.RawMatrix().Data)
	// Output:
	// batch 1.5925 = (0.0300 + 3.1550)/2: true
	// ∂/∂gen [0.0000 1.2500]
}

// The primal form's gradient at convergence: backward = implicit differentiates the
// converged solution, and matches the unrolled gradient at large L.
func ExampleConfig_implicit() {
	data := mat.NewDense(3, 1, []float64{0, 1, 3})
	gen := mat.NewDense(2, 1, []float64{0.5, 2})
	for _, b := range []losses.BackwardMode{losses.Implicit, losses.Unrolled, losses.Envelope} {
		cfg := losses.Config{Kind: losses.Primal, Eps: 0.5, Iters: 1000, Backward: b}
		_, _, g, _, err := losses.Evaluate(data, gen, cfg, losses.WantGenerated)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-8s %.6f\n", b, g.RawMatrix().Data)
	}
	// Output:
	// implicit [0.081237 -0.247904]
	// unrolled [0.081237 -0.247904]
	// envelope [0.139264 -0.222598]
}
