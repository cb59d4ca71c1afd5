package losses

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"sync"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// Loss is a scalar loss node between data and generated points in a gorgonia graph.
// Its forward and backward passes are two custom Ops that call package ot, not a graph
// of L·(many) generic nodes; the backward keeps only the L potential vectors.
type Loss struct {
	node *G.Node
	st   *lossState
}

// lossState is shared by the forward Op and its gradient Ops: the gradient Ops read
// the forward's record instead of recomputing it.
type lossState struct {
	mu   sync.Mutex
	cfg  Config
	last *evaluation
	err  error
	buf  [2][]float32 // float32 inputs of the last forward pass, which its record reads
}

var opIDs atomic.Uint64 // makes each loss Op hash uniquely, so graphs never merge two

// New returns the loss between data (n×d) and generated (m×d) matrix nodes of the same
// float dtype. Gradients flow to both (the data side matters for learned feature maps).
func New(data, generated *G.Node, cfg Config) (*Loss, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if data == nil || generated == nil {
		return nil, fmt.Errorf("losses: nil input node")
	}
	for _, nd := range []*G.Node{data, generated} {
		if nd.Shape().Dims() != 2 {
			return nil, fmt.Errorf("losses: %s has shape %v, want a matrix of points (rows)", nd.Name(), nd.Shape())
		}
		if dt := nd.Dtype(); dt != tensor.Float64 && dt != tensor.Float32 {
			return nil, fmt.Errorf("losses: %s has dtype %v, want float32 or float64", nd.Name(), dt)
		}
	}
	if data.Dtype() != generated.Dtype() {
		return nil, fmt.Errorf("losses: data is %v but generated is %v", data.Dtype(), generated.Dtype())
	}
	if data.Shape()[1] != generated.Shape()[1] {
		return nil, fmt.Errorf("losses: data has dimension %d but generated has %d", data.Shape()[1], generated.Shape()[1])
	}
	if err := cfg.checkBatch(data.Shape()[0], generated.Shape()[0]); err != nil {
		return nil, err
	}
	st := &lossState{cfg: cfg}
	node, err := G.ApplyOp(&lossOp{st: st, id: opIDs.Add(1)}, data, generated)
	if err != nil {
		return nil, err
	}
	return &Loss{node: node, st: st}, nil
}

// Node is the scalar loss node.
func (l *Loss) Node() *G.Node { return l.node }

// Stats describes the last forward pass.
func (l *Loss) Stats() Stats {
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	if l.st.last == nil {
		return Stats{Eps: l.st.cfg.Eps}
	}
	return l.st.last.stats
}

// Err says why the last forward pass failed, or why its value is NaN when package ot
// could not represent the problem (an error wrapping ot.ErrOutOfRange: an ε below the
// resolution of the costs, distances that overflow), and is nil otherwise.
func (l *Loss) Err() error {
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	switch {
	case l.st.err != nil:
		return l.st.err
	case l.st.last == nil:
		return nil
	}
	return l.st.last.err
}

// Eps is the ε the next forward pass will use.
func (l *Loss) Eps() float64 {
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	return l.st.cfg.Eps
}

// SetEps changes ε for the following forward passes (an ε schedule's step); +Inf
// selects the closed-form limit. It fails for the MMD kinds, which have no ε.
func (l *Loss) SetEps(eps float64) error {
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	if !l.st.cfg.Kind.HasEps() {
		return fmt.Errorf("losses: kind %q has no ε", l.st.cfg.Kind)
	}
	c := l.st.cfg
	c.Eps = eps
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	l.st.cfg = c
	return nil
}

func errNonFinite(s Stats) error {
	return fmt.Errorf("losses: the loss is %v (ε = %g, %d iterations, marginal error %g)", s.Value, s.Eps, s.Iterations, s.MarginalError)
}

// toDense copies a float32 or float64 matrix value into a float64 matrix.
func toDense(v G.Value) (*mat.Dense, error) {
	t, ok := v.(*tensor.Dense)
	if !ok || t.Shape().Dims() != 2 {
		return nil, fmt.Errorf("losses: input %v is not a matrix", v.Shape())
	}
	r, c := t.Shape()[0], t.Shape()[1]
	out := mat.NewDense(r, c, nil)
	dst := out.RawMatrix().Data
	switch d := t.Data().(type) {
	case []float64:
		copy(dst, d)
	case []float32:
		for i, x := range d {
			dst[i] = float64(x)
		}
	default:
		return nil, fmt.Errorf("losses: unsupported dtype %v", t.Dtype())
	}
	return out, nil
}

// fromDense returns m as a tensor of the given dtype.
func fromDense(m *mat.Dense, dt tensor.Dtype) *tensor.Dense {
	r, c := m.Dims()
	src := m.RawMatrix().Data
	if dt == tensor.Float32 {
		d := make([]float32, len(src))
		for i, x := range src {
			d[i] = float32(x)
		}
		return tensor.New(tensor.WithShape(r, c), tensor.WithBacking(d))
	}
	return tensor.New(tensor.WithShape(r, c), tensor.WithBacking(append([]float64(nil), src...)))
}

func scalar(v float64, dt tensor.Dtype) G.Value {
	if dt == tensor.Float32 {
		return G.NewF32(float32(v))
	}
	return G.NewF64(v)
}

func matrixOf(a hm.Type) G.TensorType { return G.TensorType{Dims: 2, Of: a} }

// lossOp is the forward Op: (data, generated) ↦ scalar loss.
type lossOp struct {
	st *lossState
	id uint64
}

func (op *lossOp) Arity() int { return 2 }
func (op *lossOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(matrixOf(a), matrixOf(a), a)
}
func (op *lossOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.ScalarShape(), nil }
func (op *lossOp) ReturnsPtr() bool                               { return false }
func (op *lossOp) CallsExtern() bool                              { return false }
func (op *lossOp) OverwritesInput() int                           { return -1 }
func (op *lossOp) String() string {
	c := op.st.cfg
	return fmt.Sprintf("OTLoss{%s,ε=%g,L=%d,%s}", c.Kind, c.Eps, c.Iters, c.Backward)
}

// WriteHash covers the op's parameters and its identity, so that gorgonia's node
// deduplication can never merge two losses (their ε may later diverge via SetEps).
func (op *lossOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s#%d", op, op.id) }
func (op *lossOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *lossOp) Do(inputs ...G.Value) (G.Value, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("losses: %d inputs, want 2", len(inputs))
	}
	op.st.mu.Lock()
	defer op.st.mu.Unlock()
	if op.st.last != nil {
		// Its backward pass has run: its matrices serve the new record.
		op.st.last.release()
	}
	var ev *evaluation
	var err error
	x, y, ok := op.st.float32Inputs(inputs[0], inputs[1])
	if !ok {
		var xd, yd *mat.Dense
		if xd, err = toDense(inputs[0]); err != nil {
			return nil, err
		}
		if yd, err = toDense(inputs[1]); err != nil {
			return nil, err
		}
		x, y = ot.FromDense(xd), ot.FromDense(yd)
	}
	ev, err = evaluate(op.st.cfg, x, y)
	op.st.last, op.st.err = ev, err
	if err != nil {
		return nil, err
	}
	// A NaN/Inf loss is returned as a value, not an error: the training loop decides
	// (it stops and keeps its last good checkpoint).
	return scalar(ev.stats.Value, inputs[0].Dtype()), nil
}

// DiffWRT: the loss is differentiable with respect to both point sets.
func (op *lossOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff returns one gradient node per input; both read the forward's record.
func (op *lossOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	out := make(G.Nodes, 2)
	for k := range out {
		n, err := G.ApplyOp(&lossGradOp{st: op.st, id: op.id, input: k}, inputs[0], inputs[1], grad)
		if err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, nil
}

// lossGradOp is the backward Op: (data, generated, ∂out) ↦ ∂out·∂loss/∂input.
type lossGradOp struct {
	st    *lossState
	id    uint64
	input int // 0 data, 1 generated
	// out is the last float32 gradient returned, rewritten by the next Do (under st.mu)
	// so that a training step allocates none: the step that read it is over by then.
	out *tensor.Dense
}

func (op *lossGradOp) Arity() int { return 3 }
func (op *lossGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(matrixOf(a), matrixOf(a), a, matrixOf(a))
}
func (op *lossGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[op.input].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("losses: cannot infer the gradient's shape from %v", in[op.input])
	}
	return s.Clone(), nil
}
func (op *lossGradOp) ReturnsPtr() bool     { return false }
func (op *lossGradOp) CallsExtern() bool    { return false }
func (op *lossGradOp) OverwritesInput() int { return -1 }
func (op *lossGradOp) String() string       { return fmt.Sprintf("OTLossGrad{%d}#%d", op.input, op.id) }
func (op *lossGradOp) WriteHash(h hash.Hash) {
	fmt.Fprint(h, op.String())
}
func (op *lossGradOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *lossGradOp) Do(inputs ...G.Value) (G.Value, error) {
	if len(inputs) != 3 {
		return nil, fmt.Errorf("losses: %d inputs to the gradient, want 3", len(inputs))
	}
	var seed float64
	switch s := inputs[2].Data().(type) {
	case float64:
		seed = s
	case float32:
		seed = float64(s)
	default:
		return nil, fmt.Errorf("losses: gradient seed of type %T", s)
	}
	// Held throughout: the next forward pass releases this record's matrices.
	op.st.mu.Lock()
	defer op.st.mu.Unlock()
	ev := op.st.last
	if ev == nil || ev.released {
		return nil, fmt.Errorf("losses: backward before forward")
	}
	if math.IsNaN(seed) {
		return nil, fmt.Errorf("losses: NaN gradient seed")
	}
	if ev.x.IsFloat32() && inputs[0].Dtype() == tensor.Float32 {
		r, c := ev.points(op.input).Dims()
		var buf []float32
		if op.out != nil && op.out.Shape().Eq(tensor.Shape{r, c}) {
			buf = op.out.Float32s()
		}
		g := ev.gradient32Into(op.input, buf)
		if seed != 1 {
			s := float32(seed)
			for i := range g {
				g[i] *= s
			}
		}
		if ev.bwdErr != nil {
			return nil, ev.bwdErr
		}
		if len(buf) != r*c { // g is a new slice
			op.out = tensor.New(tensor.WithShape(r, c), tensor.WithBacking(g))
		}
		return op.out, nil
	}
	g := ev.gradient(op.input)
	if ev.bwdErr != nil {
		return nil, ev.bwdErr
	}
	var scaled mat.Dense
	scaled.Scale(seed, g)
	return fromDense(&scaled, inputs[0].Dtype()), nil
}

// float32Inputs copies two float32 matrix values into the state's point buffers (the
// forward's record reads them until the next forward pass) and reports whether both
// were float32 matrices.
func (st *lossState) float32Inputs(xv, yv G.Value) (x, y ot.Points, ok bool) {
	var data [2][]float32
	var shape [2][2]int
	for k, v := range []G.Value{xv, yv} {
		t, isDense := v.(*tensor.Dense)
		if !isDense || t.Shape().Dims() != 2 {
			return x, y, false
		}
		if t.Dtype() != tensor.Float32 {
			return x, y, false
		}
		d := t.Float32s() // Data() would allocate an interface
		r, c := t.Shape()[0], t.Shape()[1]
		if len(d) < r*c {
			return x, y, false
		}
		data[k], shape[k] = d[:r*c], [2]int{r, c}
	}
	var pts [2]ot.Points
	for k := range pts {
		st.buf[k] = append(st.buf[k][:0], data[k]...)
		pts[k] = ot.FromFloat32(shape[k][0], shape[k][1], st.buf[k])
	}
	return pts[0], pts[1], true
}
