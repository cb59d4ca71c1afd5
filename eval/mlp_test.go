package eval

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/process"
)

// The classifier trains with the process-wide settings the commands make: gorgonia
// on package fastblas's products.
func init() { process.Setup(0) }

// crossEntropy is the mean softmax cross-entropy of the plain-Go forward pass, the
// reference for the gorgonia training graph.
func crossEntropy(m *mlp, x []float64, lab []int) float64 {
	n := len(lab)
	lg, _, _ := m.forward(mat.NewDense(n, m.Sizes[0], x))
	s := 0.0
	for i := 0; i < n; i++ {
		r := lg.RawRowView(i)
		mx := math.Inf(-1)
		for _, v := range r {
			mx = math.Max(mx, v)
		}
		z := 0.0
		for _, v := range r {
			z += math.Exp(v - mx)
		}
		s -= r[lab[i]] - mx - math.Log(z)
	}
	return s / float64(n)
}

func tinyProblem(seed uint64, sizes ...int) (*mlp, []float64, []int) {
	rng := rand.New(rand.NewPCG(seed, seed))
	m, _ := newMLP(sizes, rng)
	x := make([]float64, 6*5)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return m, x, []int{0, 1, 2, 0, 1, 2}
}

// The graph's loss equals the plain forward pass's, and its gradients equal central
// differences of it — on the first run and on later runs of the same machine
// (gorgonia accumulates gradients; the optimizer must clear them).
func TestMLPGraphGradients(t *testing.T) {
	m, x, lab := tinyProblem(3, 5, 4, 3, 3)
	gr, err := newMLPGraph(m, len(lab))
	if err != nil {
		t.Fatal(err)
	}
	defer gr.vm.Close()
	for i, l := range lab {
		gr.yb[i*3+l] = 1
	}
	opt := newAdam(gr.params)
	copy(gr.xb, to32(x))
	for run := 0; run < 3; run++ {
		lv, err := gr.run()
		if err != nil {
			t.Fatal(err)
		}
		// The graph runs in float32 on the float32 copies of the parameters.
		gr.copyTo(m)
		if ref := crossEntropy(m, x, lab); math.Abs(lv-ref) > 1e-6 {
			t.Fatalf("run %d: graph loss %.15g, plain %.15g", run, lv, ref)
		}
		for pi, p := range gr.params {
			gv, _ := p.Grad()
			g := gv.Data().([]float32)
			w := m.W[pi/2]
			if pi%2 == 1 {
				w = m.B[pi/2]
			}
			for j := range w {
				o := w[j]
				w[j] = o + 1e-6
				lp := crossEntropy(m, x, lab)
				w[j] = o - 1e-6
				lm := crossEntropy(m, x, lab)
				w[j] = o
				if fd := (lp - lm) / 2e-6; math.Abs(fd-float64(g[j])) > 1e-5*(1+math.Abs(fd)) {
					t.Errorf("run %d: ∂loss/∂param%d[%d] = %.9f, finite difference %.9f", run, pi, j, g[j], fd)
				}
			}
		}
		if err := opt.step(0.05, 0); err != nil {
			t.Fatal(err)
		}
		gr.vm.Reset()
	}
}

// Training lowers the loss and is deterministic given the seed.
func TestTrainMLPDeterministic(t *testing.T) {
	m1, x, lab := tinyProblem(4, 5, 32, 3)
	m2, _, _ := tinyProblem(4, 5, 32, 3)
	before := crossEntropy(m1, x, lab)
	for _, m := range []*mlp{m1, m2} {
		if err := trainMLP(m, x, lab, trainOptions{Epochs: 300, Batch: 3, LR: 0.03, Seed: 7}); err != nil {
			t.Fatal(err)
		}
	}
	after := crossEntropy(m1, x, lab)
	if !(after < 0.1*before) {
		t.Errorf("training: loss %v → %v", before, after)
	}
	for l := range m1.W {
		for j := range m1.W[l] {
			if m1.W[l][j] != m2.W[l][j] {
				t.Fatal("two trainings with one seed differ")
			}
		}
	}
	if err := trainMLP(m1, x, []int{0, 1, 2, 0, 1, 3}, trainOptions{Epochs: 1, Batch: 3, LR: 0.01}); err == nil {
		t.Error("label out of range accepted")
	}
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// Logits that spread over hundreds between rows: the loss stays finite and exact
// (gorgonia's own LogSoftMax shifts every row by the first row's maximum and
// overflows here).
func TestMLPGraphLargeLogits(t *testing.T) {
	m, x, lab := tinyProblem(5, 5, 16, 3)
	for i := range x {
		x[i] *= 300
		if i < 5 {
			x[i] = -x[i] // row 0 far from the others
		}
	}
	gr, err := newMLPGraph(m, len(lab))
	if err != nil {
		t.Fatal(err)
	}
	defer gr.vm.Close()
	copy(gr.xb, to32(x))
	for i, l := range lab {
		gr.yb[i*3+l] = 1
	}
	lv, err := gr.run()
	if err != nil {
		t.Fatal(err)
	}
	gr.copyTo(m)
	ref := crossEntropy(m, x, lab)
	if math.IsNaN(lv) || math.IsInf(lv, 0) || math.Abs(lv-ref) > 1e-5*math.Abs(ref) {
		t.Errorf("loss %v with large logits, plain %v", lv, ref)
	}
	for _, p := range gr.params {
		gv, _ := p.Grad()
		for _, g := range gv.Data().([]float32) {
			if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
				t.Fatalf("gradient of %s not finite", p.Name())
			}
		}
	}
}
