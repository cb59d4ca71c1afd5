package losses

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

func bitsEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// A batch of B pairs is the mean of B separate losses, bit for bit, and its gradient's
// rows are the separate gradients divided by B, for every kind.
func TestBatchEqualsSeparate(t *testing.T) {
	const B, n, m, d = 3, 8, 6, 3
	rng := rand.New(rand.NewPCG(19, 6))
	x := mat.NewDense(B*n, d, randMatrix(rng, B*n, d, 1))
	y := mat.NewDense(B*m, d, randMatrix(rng, B*m, d, 1))
	for _, cfg := range []Config{
		{Kind: Divergence, Eps: 0.5, Iters: 20},
		{Kind: Primal, Eps: 0.5, Iters: 200, Backward: Implicit},
		{Kind: Entropic, Eps: 1, Iters: 10, Backward: Envelope},
		{Kind: Divergence, Eps: math.Inf(1)},
		{Kind: MMD, Kernel: "laplacian"},
		{Kind: Sliced, Projections: 8},
		{Kind: Unbalanced, Eps: 0.5, Rho: 1, Iters: 500},
		{Kind: Hausdorff, Eps: 0.5, Iters: 500},
	} {
		bcfg := cfg
		bcfg.Batch = B
		v, gx, gy, st, err := Evaluate(x, y, bcfg, WantBoth)
		if err != nil {
			t.Fatalf("%s: %v", cfg.Kind, err)
		}
		sum := 0.0
		w := 1 / float64(B)
		for k := 0; k < B; k++ {
			xk, yk := x.Slice(k*n, (k+1)*n, 0, d).(*mat.Dense), y.Slice(k*m, (k+1)*m, 0, d).(*mat.Dense)
			vk, gxk, gyk, _, err := Evaluate(mat.DenseCopyOf(xk), mat.DenseCopyOf(yk), cfg, WantBoth)
			if err != nil {
				t.Fatal(err)
			}
			sum += vk
			gxk.Scale(w, gxk)
			gyk.Scale(w, gyk)
			if !bitsEqual(gx.RawMatrix().Data[k*n*d:(k+1)*n*d], gxk.RawMatrix().Data) ||
				!bitsEqual(gy.RawMatrix().Data[k*m*d:(k+1)*m*d], gyk.RawMatrix().Data) {
				t.Errorf("%s: pair %d's gradient is not the separate one over %d", cfg.Kind, k, B)
			}
		}
		if want := sum / B; math.Float64bits(v) != math.Float64bits(want) || st.Value != v {
			t.Errorf("%s: batch %.17g, mean of separate losses %.17g", cfg.Kind, v, want)
		}
	}
}

// In a float32 graph: the batched loss's pair values and gradient rows are those of one
// graph per pair (the gradient over B), bit for bit.
func TestBatchInGraph(t *testing.T) {
	const B, n, m, d = 2, 10, 7, 4
	rng := rand.New(rand.NewPCG(19, 7))
	xv, yv := randMatrix(rng, B*n, d, 1), randMatrix(rng, B*m, d, 1)
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	run := func(x, y []float32, rows, cols int, cfg Config) (*Loss, []float32) {
		g := G.NewGraph()
		xN := G.NewMatrix(g, tensor.Float32, G.WithShape(len(x)/cols, cols), G.WithValue(tensor.New(tensor.WithShape(len(x)/cols, cols), tensor.WithBacking(x))), G.WithName("x"))
		yN := G.NewMatrix(g, tensor.Float32, G.WithShape(rows, cols), G.WithValue(tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(y))), G.WithName("y"))
		loss, err := New(xN, yN, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := G.Grad(loss.Node(), yN); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(yN))
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		gv, err := yN.Grad()
		if err != nil {
			t.Fatal(err)
		}
		return loss, append([]float32(nil), gv.Data().([]float32)...)
	}
	cfg := Config{Kind: Divergence, Eps: 0.5, Iters: 15}
	bcfg := cfg
	bcfg.Batch = B
	x, y := f32(xv), f32(yv)
	bl, bg := run(x, y, B*m, d, bcfg)
	pv := bl.PairValues()
	if len(pv) != B {
		t.Fatalf("pair values %v", pv)
	}
	for k := 0; k < B; k++ {
		l, g := run(x[k*n*d:(k+1)*n*d], y[k*m*d:(k+1)*m*d], m, d, cfg)
		if math.Float64bits(pv[k]) != math.Float64bits(l.Stats().Value) {
			t.Errorf("pair %d: %.17g, alone %.17g", k, pv[k], l.Stats().Value)
		}
		for i, v := range g {
			if bg[k*m*d+i] != float32(1.0/B)*v {
				t.Errorf("pair %d: ∂/∂y[%d] = %g, alone %g", k, i, bg[k*m*d+i], v)
				break
			}
		}
	}
}

// Shapes that do not split into the pairs are FieldErrors naming batch; a pair's own
// error names it.
func TestBatchErrorsLosses(t *testing.T) {
	x, y := mat.NewDense(9, 2, nil), mat.NewDense(8, 2, nil)
	_, _, _, _, err := Evaluate(x, y, Config{Eps: 1, Batch: 2}, WantNone)
	if fe, ok := err.(*FieldError); !ok || fe.Key != "batch" {
		t.Errorf("9 data rows in 2 pairs: %v", err)
	}
	if fe, ok := (Config{Eps: 1, Batch: -1}).Validate().(*FieldError); !ok || fe.Key != "batch" {
		t.Errorf("batch -1: %v", fe)
	}
	g := G.NewGraph()
	if _, err := New(G.NewMatrix(g, tensor.Float64, G.WithShape(9, 2)), G.NewMatrix(g, tensor.Float64, G.WithShape(8, 2)), Config{Eps: 1, Batch: 2}); err == nil || !strings.Contains(err.Error(), "batch") {
		t.Errorf("New, 9 data rows in 2 pairs: %v", err)
	}
	x = mat.NewDense(8, 2, randMatrix(rand.New(rand.NewPCG(1, 1)), 8, 2, 1))
	_, _, _, _, err = Evaluate(x, y, Config{Eps: 1, Batch: 2, DataWeights: []float64{1}}, WantNone)
	if !errors.Is(err, ot.ErrInvalidInput) || !strings.Contains(err.Error(), "pair 0:") {
		t.Errorf("one weight for 4 points: %v", err)
	}
}
