package losses_test

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/losses"
)

// A Sinkhorn divergence between fixed data and a learnable point cloud, differentiated
// by gorgonia through 20 unrolled iterations.
func ExampleNew() {
	g := G.NewGraph()
	data := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 2), G.WithName("data"),
		G.WithValue(tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float64{0, 0, 1, 0, 0, 1}))))
	gen := G.NewMatrix(g, tensor.Float64, G.WithShape(2, 2), G.WithName("gen"),
		G.WithValue(tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{2, 2, 3, 2}))))
	loss, err := losses.New(data, gen, losses.Config{Kind: losses.Divergence, Eps: 0.5, Iters: 20})
	if err != nil {
		panic(err)
	}
	if _, err := G.Grad(loss.Node(), gen); err != nil {
		panic(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(gen))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		panic(err)
	}
	grad, _ := gen.Grad()
	fmt.Printf("loss %.4f, converged: %v\n", loss.Stats().Value, loss.Stats().MarginalError < 1e-12)
	fmt.Printf("∂loss/∂gen %.4f\n", grad.Data())
	// Output:
	// loss 3.7747, converged: true
	// ∂loss/∂gen [1.0676 0.7834 1.0991 0.8832]
}
