package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/internal/fastblas"
	"github.com/sinkgen/sinkgen/internal/process"
)

// activations lists every hidden activation with every output activation.
func activations() [][2]string {
	var out [][2]string
	for _, a := range []string{"relu", "leaky_relu", "tanh", "softplus"} {
		for _, o := range []string{"sigmoid", "linear", "tanh"} {
			out = append(out, [2]string{a, o})
		}
	}
	return out
}

// Gradients through Build's fused Ops, for every hidden and output activation, match
// central differences of the float64 reference forward (the objective Σ y²).
func TestDenseGradients(t *testing.T) {
	for _, base := range []Spec{mlpSpec(), convSpec()} {
		for _, ao := range activations() {
			s := base
			s.Activation, s.Output, s.LeakySlope = ao[0], ao[1], 0.2
			t.Run(fmt.Sprintf("%s/%s/%s", s.Kind, ao[0], ao[1]), func(t *testing.T) {
				gen, err := New(s, 11)
				if err != nil {
					t.Fatal(err)
				}
				const n = 3
				z := make([]float32, n*s.LatentDim)
				Latent(rand.New(rand.NewPCG(5, 6)), z)
				objective := func() float64 {
					var v float64
					for r := 0; r < n; r++ {
						z64 := make([]float64, s.LatentDim)
						for i := range z64 {
							z64[i] = float64(z[r*s.LatentDim+i])
						}
						y := refMLP
						if s.Kind == "conv" {
							y = refConv
						}
						for _, x := range y(gen, z64) {
							v += x * x
						}
					}
					return v
				}
				grads := buildGradients(t, gen, z, n, false)
				for pi, p := range gen.Params() {
					for _, i := range []int{0, len(p.Data()) / 3, len(p.Data()) - 1} {
						orig := p.Data()[i]
						h := float32(1e-3) * max(1, float32(math.Abs(float64(orig))))
						p.Data()[i] = orig + h
						up := objective()
						p.Data()[i] = orig - h
						down := objective()
						p.Data()[i] = orig
						fd := (up - down) / float64((orig+h)-(orig-h))
						if d := math.Abs(fd - float64(grads[pi][i])); d > 1e-2*math.Max(0.05, math.Abs(fd)) {
							t.Errorf("∂/∂%s[%d] = %g, central difference %g", p.Name, i, grads[pi][i], fd)
						}
					}
				}
			})
		}
	}
}

// buildGradients returns Σ y² and its gradients with respect to gen's parameters from
// Build's graph on the latent batch z of n rows, or, unfused, from the graph gorgonia's
// own ops make of the MLP (product, broadcast bias, activation node).
func buildGradients(t *testing.T, gen *Generator, z []float32, n int, unfused bool) [][]float32 {
	t.Helper()
	s := gen.spec
	g := G.NewGraph()
	zn := G.NewMatrix(g, tensor.Float32, G.WithShape(n, s.LatentDim), G.WithName("z"),
		G.WithValue(tensor.New(tensor.WithShape(n, s.LatentDim), tensor.WithBacking(z))))
	var y *G.Node
	var params G.Nodes
	if unfused {
		params = paramNodes(g, gen.params, "")
		y = zn
		for i := 0; i < len(params)/2; i++ {
			y = G.Must(G.BroadcastAdd(G.Must(G.Mul(y, params[2*i])), params[2*i+1], nil, []byte{0}))
			switch {
			case 2*i+2 < len(params):
				y = activate(s.Activation, s.LeakySlope, y)
			case s.Output == "sigmoid":
				y = G.Must(G.Sigmoid(y))
			case s.Output == "tanh":
				y = G.Must(G.Tanh(y))
			}
		}
	} else {
		var err error
		if y, params, err = gen.Build(g, zn); err != nil {
			t.Fatal(err)
		}
	}
	cost := G.Must(G.Sum(G.Must(G.Square(y))))
	grads, err := G.Grad(cost, params...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for _, gn := range grads {
		out = append(out, append([]float32(nil), gn.Value().Data().([]float32)...))
	}
	return out
}

// The fused MLP computes the gradients gorgonia's own ops do, in float32, on a
// network large enough for internal/fastblas's kernel, with gonum's BLAS and with
// fastblas: within 2e−5 of each gradient tensor's largest entry (the two sum in
// different orders, and the sigmoids differ by float32 rounding).
func TestDenseMatchesGorgonia(t *testing.T) {
	defer G.Use(G.WhichBLAS())
	for _, impl := range []G.BLAS{gonum.Implementation{}, fastblas.Implementation{}} {
		G.Use(impl)
		denseMatchesGorgonia(t, fmt.Sprintf("%T", impl))
	}
}

func denseMatchesGorgonia(t *testing.T, blas string) {
	for _, ao := range activations() {
		s := DefaultSpec()
		s.LatentDim, s.Hidden, s.OutDim = 16, []int{64, 48}, 80
		s.Activation, s.Output, s.LeakySlope = ao[0], ao[1], 0.2
		gen, err := New(s, 3)
		if err != nil {
			t.Fatal(err)
		}
		const n = 40
		z := make([]float32, n*s.LatentDim)
		Latent(rand.New(rand.NewPCG(1, 2)), z)
		fused := buildGradients(t, gen, z, n, false)
		want := buildGradients(t, gen, z, n, true)
		for i, w := range want {
			scale := 0.0
			for _, v := range w {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			for j, v := range w {
				if d := math.Abs(float64(fused[i][j] - v)); !(d <= 2e-5*scale) {
					t.Errorf("%s, %s/%s: ∂/∂%s[%d] = %g fused, %g unfused", blas, ao[0], ao[1], gen.params[i].Name, j, fused[i][j], v)
					break
				}
			}
		}
	}
}

// BenchmarkGeneratorStep times the forward and backward passes of the default MLP
// (16-256-512-784, ReLU, sigmoid) at batch 256 with the objective Σ c⊙y for a fixed c:
// the generator's share of a training step, fused and as gorgonia's own ops build it
// (both on internal/fastblas, as process.Setup installs it). ms_min is the fastest pass.
func BenchmarkGeneratorStep(b *testing.B) {
	process.Setup(0) // gorgonia's products on fastblas too
	for _, unfused := range []bool{false, true} {
		name := "fused"
		if unfused {
			name = "unfused"
		}
		b.Run(name, func(b *testing.B) {
			s := DefaultSpec()
			s.OutputBias, s.OutDim, s.Image = "init", 784, [3]int{1, 28, 28}
			gen, err := New(s, 1)
			if err != nil {
				b.Fatal(err)
			}
			const n = 256
			z := make([]float32, n*s.LatentDim)
			Latent(rand.New(rand.NewPCG(1, 2)), z)
			c := make([]float32, n*s.OutDim)
			Latent(rand.New(rand.NewPCG(3, 4)), c)
			g := G.NewGraph()
			zn := G.NewMatrix(g, tensor.Float32, G.WithShape(n, s.LatentDim), G.WithName("z"),
				G.WithValue(tensor.New(tensor.WithShape(n, s.LatentDim), tensor.WithBacking(z))))
			var y *G.Node
			var params G.Nodes
			if unfused {
				params = paramNodes(g, gen.params, "")
				y = zn
				for i := 0; i < len(params)/2; i++ {
					y = G.Must(G.BroadcastAdd(G.Must(G.Mul(y, params[2*i])), params[2*i+1], nil, []byte{0}))
					if 2*i+2 < len(params) {
						y = activate(s.Activation, s.LeakySlope, y)
					}
				}
				y = G.Must(G.Sigmoid(y))
			} else if y, params, err = gen.Build(g, zn); err != nil {
				b.Fatal(err)
			}
			cn := G.NewMatrix(g, tensor.Float32, G.WithShape(n, s.OutDim), G.WithName("c"),
				G.WithValue(tensor.New(tensor.WithShape(n, s.OutDim), tensor.WithBacking(c))))
			cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, cn))))
			grads, err := G.Grad(cost, params...)
			if err != nil {
				b.Fatal(err)
			}
			vm := G.NewTapeMachine(g.ExactSubgraphRoots(append(G.Nodes{cost}, grads...)...))
			defer vm.Close()
			best := time.Duration(math.MaxInt64)
			for b.Loop() {
				start := time.Now()
				if err := vm.RunAll(); err != nil {
					b.Fatal(err)
				}
				vm.Reset()
				best = min(best, time.Since(start))
			}
			b.ReportMetric(float64(best.Microseconds())/1000, "ms_min")
		})
	}
}
