package eval

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// mlp is a fully connected network with ReLU hidden layers: Sizes[0] inputs,
// Sizes[len−1] logits. Layer l maps h ↦ h·W[l] + B[l] with W[l] a Sizes[l]×Sizes[l+1]
// row-major matrix. Training runs on a gorgonia graph (trainMLP); inference is plain
// gonum (forward), so the two are independent implementations of the same function.
type mlp struct {
	Sizes []int
	W, B  [][]float64
}

// newMLP draws He-initialized weights (normal, variance 2/fan-in) and zero biases.
func newMLP(sizes []int, rng *rand.Rand) (*mlp, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("eval: network needs at least an input and an output size, got %v", sizes)
	}
	for _, s := range sizes {
		if s < 1 {
			return nil, fmt.Errorf("eval: network sizes %v must be positive", sizes)
		}
	}
	m := &mlp{Sizes: append([]int(nil), sizes...)}
	for l := 0; l+1 < len(sizes); l++ {
		w := make([]float64, sizes[l]*sizes[l+1])
		sd := math.Sqrt(2 / float64(sizes[l]))
		for i := range w {
			w[i] = rng.NormFloat64() * sd
		}
		m.W = append(m.W, w)
		m.B = append(m.B, make([]float64, sizes[l+1]))
	}
	return m, nil
}

// layers returns the number of affine layers.
func (m *mlp) layers() int { return len(m.W) }

// forward runs the network on the rows of x and returns the logits and the
// activations of the last hidden layer (the penultimate features; x itself for a
// network without hidden layer).
func (m *mlp) forward(x *mat.Dense) (logits, penult *mat.Dense, err error) {
	n, d := x.Dims()
	if d != m.Sizes[0] {
		return nil, nil, fmt.Errorf("eval: network input has %d columns, want %d", d, m.Sizes[0])
	}
	h := x
	for l := 0; l < m.layers(); l++ {
		if l == m.layers()-1 {
			penult = h
		}
		w := mat.NewDense(m.Sizes[l], m.Sizes[l+1], m.W[l])
		out := mat.NewDense(n, m.Sizes[l+1], nil)
		out.Mul(h, w)
		b := m.B[l]
		relu := l < m.layers()-1
		for i := 0; i < n; i++ {
			row := out.RawRowView(i)
			for j := range row {
				v := row[j] + b[j]
				if relu && v < 0 {
					v = 0
				}
				row[j] = v
			}
		}
		h = out
	}
	return h, penult, nil
}

// trainOptions drive trainMLP.
type trainOptions struct {
	Epochs      int
	Batch       int
	LR          float64 // Adam step at the start; cosine-decayed to LR/100 by the end
	WeightDecay float64 // decoupled (AdamW) weight decay per unit learning rate
	Seed        uint64
	// Augment, when set, rewrites a training row in place before it enters a batch
	// (random shifts for images); it must be deterministic given rng.
	Augment func(row []float32, rng *rand.Rand)
	// Progress, when set, is called after every step with the step index and the
	// mini-batch loss.
	Progress func(step, steps int, loss float64)
}

// trainMLP is trainMLPRows on the rows of x (x[i·Sizes[0]:(i+1)·Sizes[0]]).
func trainMLP(m *mlp, x []float64, labels []int, opt trainOptions) error {
	in, n := m.Sizes[0], len(labels)
	if len(x) != n*in {
		return fmt.Errorf("eval: %d training values for %d rows of %d", len(x), n, in)
	}
	return trainMLPRows(m, func(dst []float32, i int) {
		for j, v := range x[i*in : (i+1)*in] {
			dst[j] = float32(v)
		}
	}, labels, opt)
}

// trainMLPRows fits m to (rows, labels) by minimizing the mean softmax cross-entropy with
// Adam (Kingma & Ba 2015) on shuffled mini-batches, the graph built and differentiated
// by gorgonia in float32. row(dst, i) writes the Sizes[0] values of row i into dst,
// i < len(labels), so the rows need not be held as float32 at once; a last partial batch
// of each epoch is dropped (the shuffle changes every epoch). On return m holds the
// float32 weights of the graph (exactly representable). It is deterministic given Seed.
func trainMLPRows(m *mlp, row func(dst []float32, i int), labels []int, opt trainOptions) error {
	in, k := m.Sizes[0], m.Sizes[len(m.Sizes)-1]
	n := len(labels)
	for i, l := range labels {
		if l < 0 || l >= k {
			return fmt.Errorf("eval: label %d is %d, want 0…%d", i, l, k-1)
		}
	}
	if opt.Batch < 1 || opt.Epochs < 1 || !(opt.LR > 0) {
		return fmt.Errorf("eval: training needs batch ≥ 1, epochs ≥ 1 and a positive rate (got %d, %d, %v)", opt.Batch, opt.Epochs, opt.LR)
	}
	bs := min(opt.Batch, n)
	if bs < 1 {
		return errors.New("eval: no training data")
	}
	gr, err := newMLPGraph(m, bs)
	if err != nil {
		return err
	}
	defer gr.vm.Close()
	xb, yb := gr.xb, gr.yb

	adam := newAdam(gr.params)
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	per := n / bs
	steps := per * opt.Epochs
	step := 0
	for ep := 0; ep < opt.Epochs; ep++ {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for bi := 0; bi < per; bi++ {
			clear(yb)
			for r := 0; r < bs; r++ {
				src := perm[bi*bs+r]
				dst := xb[r*in : (r+1)*in]
				row(dst, src)
				if opt.Augment != nil {
					opt.Augment(dst, rng)
				}
				yb[r*k+labels[src]] = 1
			}
			lv, err := gr.run()
			if err != nil {
				return fmt.Errorf("eval: training step %d: %w", step, err)
			}
			if math.IsNaN(lv) || math.IsInf(lv, 0) {
				return fmt.Errorf("eval: training step %d: loss %v", step, lv)
			}
			// Cosine decay from LR to LR/100.
			lr := opt.LR * (0.01 + 0.99*0.5*(1+math.Cos(math.Pi*float64(step)/float64(steps))))
			if err := adam.step(lr, opt.WeightDecay); err != nil {
				return err
			}
			gr.vm.Reset()
			step++
			if opt.Progress != nil {
				opt.Progress(step, steps, lv)
			}
		}
	}
	gr.copyTo(m)
	return nil
}

// mlpGraph is the float32 training graph of an mlp for one batch size: the batch
// inputs xb and one-hot targets yb are filled in place before run. It holds its own
// float32 copies of the parameters (w32, b32), which copyTo writes back.
type mlpGraph struct {
	xb, yb   []float32
	xT, yT   *tensor.Dense
	xN, yN   *G.Node
	params   G.Nodes // W0, b0, W1, b1, …
	w32, b32 [][]float32
	lossVal  G.Value
	vm       G.VM
}

func newMLPGraph(m *mlp, bs int) (*mlpGraph, error) {
	in, k := m.Sizes[0], m.Sizes[len(m.Sizes)-1]
	gr := &mlpGraph{xb: make([]float32, bs*in), yb: make([]float32, bs*k)}
	g := G.NewGraph()
	gr.xT = tensor.New(tensor.WithShape(bs, in), tensor.WithBacking(gr.xb))
	gr.yT = tensor.New(tensor.WithShape(bs, k), tensor.WithBacking(gr.yb))
	gr.xN = G.NewMatrix(g, G.Float32, G.WithShape(bs, in), G.WithName("x"), G.WithValue(gr.xT))
	gr.yN = G.NewMatrix(g, G.Float32, G.WithShape(bs, k), G.WithName("y"), G.WithValue(gr.yT))
	wrap := func(err error) error { return fmt.Errorf("eval: network graph: %w", err) }
	to32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	h := gr.xN
	for l := 0; l < m.layers(); l++ {
		gr.w32 = append(gr.w32, to32(m.W[l]))
		gr.b32 = append(gr.b32, to32(m.B[l]))
		wT := tensor.New(tensor.WithShape(m.Sizes[l], m.Sizes[l+1]), tensor.WithBacking(gr.w32[l]))
		bT := tensor.New(tensor.WithShape(1, m.Sizes[l+1]), tensor.WithBacking(gr.b32[l]))
		w := G.NewMatrix(g, G.Float32, G.WithShape(m.Sizes[l], m.Sizes[l+1]), G.WithName(fmt.Sprintf("W%d", l)), G.WithValue(wT))
		b := G.NewMatrix(g, G.Float32, G.WithShape(1, m.Sizes[l+1]), G.WithName(fmt.Sprintf("b%d", l)), G.WithValue(bT))
		gr.params = append(gr.params, w, b)
		var err error
		if h, err = G.Mul(h, w); err != nil {
			return nil, wrap(err)
		}
		if h, err = G.BroadcastAdd(h, b, nil, []byte{0}); err != nil {
			return nil, wrap(err)
		}
		if l < m.layers()-1 {
			if h, err = G.Rectify(h); err != nil {
				return nil, wrap(err)
			}
		}
	}
	// loss = −(1/bs) Σ_i Σ_c y_ic log softmax(h_i)_c, with the log-softmax built from
	// primitives, shifted by the row maximum: gorgonia's LogSoftMax (tensor v0.9.24)
	// shifts every row by the first row's maximum and overflows when logits spread.
	// log-softmax is shift-invariant, so the gradient through the maximum cancels.
	logp, err := stableLogSoftmax(h, bs, k)
	if err != nil {
		return nil, wrap(err)
	}
	prod, err := G.HadamardProd(logp, gr.yN)
	if err != nil {
		return nil, wrap(err)
	}
	total, err := G.Sum(prod)
	if err != nil {
		return nil, wrap(err)
	}
	loss, err := G.Mul(total, G.NewConstant(float32(-1/float64(bs))))
	if err != nil {
		return nil, wrap(err)
	}
	G.Read(loss, &gr.lossVal)
	if _, err := G.Grad(loss, gr.params...); err != nil {
		return nil, fmt.Errorf("eval: network gradient: %w", err)
	}
	gr.vm = G.NewTapeMachine(g, G.BindDualValues(gr.params...))
	return gr, nil
}

// stableLogSoftmax returns h − max_row(h) − log Σ_row exp(h − max_row(h)) for a bs×k
// node h.
func stableLogSoftmax(h *G.Node, bs, k int) (*G.Node, error) {
	mx, err := G.Max(h, 1)
	if err != nil {
		return nil, err
	}
	if mx, err = G.Reshape(mx, []int{bs, 1}); err != nil {
		return nil, err
	}
	sh, err := G.BroadcastSub(h, mx, nil, []byte{1})
	if err != nil {
		return nil, err
	}
	ex, err := G.Exp(sh)
	if err != nil {
		return nil, err
	}
	se, err := G.Sum(ex, 1)
	if err != nil {
		return nil, err
	}
	lse, err := G.Log(se)
	if err != nil {
		return nil, err
	}
	if lse, err = G.Reshape(lse, []int{bs, 1}); err != nil {
		return nil, err
	}
	return G.BroadcastSub(sh, lse, nil, []byte{1})
}

// run evaluates the loss and the parameter gradients on the current batch; the
// caller resets the machine (gr.vm.Reset) before the next run.
func (gr *mlpGraph) run() (float64, error) {
	if err := G.Let(gr.xN, gr.xT); err != nil {
		return 0, err
	}
	if err := G.Let(gr.yN, gr.yT); err != nil {
		return 0, err
	}
	if err := gr.vm.RunAll(); err != nil {
		return 0, err
	}
	lv, ok := gr.lossVal.Data().(float32)
	if !ok {
		return 0, fmt.Errorf("eval: loss value of type %T", gr.lossVal.Data())
	}
	return float64(lv), nil
}

// copyTo writes the graph's parameter values into m (float32 values, exactly).
func (gr *mlpGraph) copyTo(m *mlp) {
	for l := range m.W {
		for i, v := range gr.params[2*l].Value().Data().([]float32) {
			m.W[l][i] = float64(v)
		}
		for i, v := range gr.params[2*l+1].Value().Data().([]float32) {
			m.B[l][i] = float64(v)
		}
	}
}

// adam is Adam with decoupled weight decay (Loshchilov & Hutter 2019) applied in place
// to the float32 values of gorgonia parameter nodes (moments in float64).
type adam struct {
	params     G.Nodes
	m, v       [][]float64
	t          int
	b1, b2, ep float64
}

func newAdam(params G.Nodes) *adam {
	a := &adam{params: params, b1: 0.9, b2: 0.999, ep: 1e-8}
	for _, p := range params {
		sz := p.Shape().TotalSize()
		a.m = append(a.m, make([]float64, sz))
		a.v = append(a.v, make([]float64, sz))
	}
	return a
}

// step updates every parameter; weights (even positions) decay, biases do not.
func (a *adam) step(lr, wd float64) error {
	a.t++
	c1 := 1 - math.Pow(a.b1, float64(a.t))
	c2 := 1 - math.Pow(a.b2, float64(a.t))
	for i, p := range a.params {
		gv, err := p.Grad()
		if err != nil {
			return fmt.Errorf("eval: gradient of %s: %w", p.Name(), err)
		}
		g := gv.Data().([]float32)
		w := p.Value().Data().([]float32)
		m, v := a.m[i], a.v[i]
		decay := 1.0
		if i%2 == 0 {
			decay = 1 - lr*wd
		}
		for j := range w {
			gj := float64(g[j])
			m[j] = a.b1*m[j] + (1-a.b1)*gj
			v[j] = a.b2*v[j] + (1-a.b2)*gj*gj
			w[j] = float32(float64(w[j])*decay - lr*(m[j]/c1)/(math.Sqrt(v[j]/c2)+a.ep))
		}
		// gorgonia accumulates gradients across runs of the machine (its own solvers
		// zero them after a step), so clear them for the next batch.
		clear(g)
	}
	return nil
}
