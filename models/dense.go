package models

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// The generators' layers as fused gorgonia Ops. gorgonia's dense layer is three nodes
// (product, broadcast bias, activation), each allocating its result on every pass, and
// its activations' gradients are several elementwise nodes more. These Ops do one
// product and one pass for bias and activation, and keep their results in buffers of
// their own, reused from pass to pass: a training step allocates no tensors for them.
// The products are those of gorgonia's BLAS, as gorgonia's own are: internal/fastblas
// once process.Setup has run (every training command), gonum's otherwise (whose rows
// do not depend on how many rows a product has: cmd/sample's chunks rely on it).
//
//   - denseOp: act(x·W + b) for x (m×k), W (k×n), b (1×n).
//     Gradients: δ = ∂y ⊙ act′, ∂x = δ·Wᵀ, ∂W = xᵀ·δ, ∂b = Σ_rows δ.
//   - actOp: an activation on its own (the conv generator's layers).
//   - actGradOp: δ = ∂y ⊙ act′, computed from the activation's output y.
//   - matMulOp, colSumOp: the products and the column sum of the gradients.
//
// The activations' derivatives are functions of their outputs (σ′ = y(1−y), tanh′ =
// 1−y², softplus′ = 1−e^−y, ReLU′ = [y > 0]), so the backward pass reads y, which the
// graph keeps alive until then: gorgonia overwrites a value in place only after its
// last reader. (A Reshape is a view gorgonia does not track: that is why Build
// applies the output activation after its reshape, never before.)
//
// These Ops have first derivatives only: the critics, which a gradient penalty
// differentiates twice, keep gorgonia's own ops.

// activation is an elementwise activation with, for leaky_relu, its slope below 0.
type activation struct {
	kind  actKind
	slope float32
}

// actKind is an activation's function (an integer: the loops switch on it per value).
type actKind uint8

const (
	actLinear actKind = iota
	actReLU
	actLeakyReLU
	actTanh
	actSoftplus
	actSigmoid
)

var actNames = [...]string{actLinear: "linear", actReLU: "relu", actLeakyReLU: "leaky_relu", actTanh: "tanh", actSoftplus: "softplus", actSigmoid: "sigmoid"}

// newActivation returns the activation of a Spec's name (validated: an unknown name
// is linear) with slope for leaky_relu.
func newActivation(name string, slope float64) activation {
	for k, n := range actNames {
		if n == name {
			return activation{kind: actKind(k), slope: float32(slope)}
		}
	}
	return activation{}
}

func (a activation) String() string {
	if a.kind == actLeakyReLU {
		return fmt.Sprintf("leaky_relu(%g)", a.slope)
	}
	return actNames[a.kind]
}

// apply returns the activation of v.
func (a activation) apply(v float32) float32 {
	switch a.kind {
	case actReLU:
		return max(v, 0)
	case actLeakyReLU:
		if v > 0 {
			return v
		}
		return a.slope * v
	case actTanh:
		return float32(math.Tanh(float64(v)))
	case actSoftplus: // log(1+e^v) without overflow
		x := float64(v)
		return float32(math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))))
	case actSigmoid:
		return sigmoid32(v)
	}
	return v
}

// deriv returns the activation's derivative at the input whose output is y.
func (a activation) deriv(y float32) float32 {
	switch a.kind {
	case actReLU:
		if y > 0 {
			return 1
		}
		return 0
	case actLeakyReLU: // the slope is positive: y has the input's sign
		if y > 0 {
			return 1
		}
		return a.slope
	case actTanh:
		return 1 - y*y
	case actSoftplus: // σ(x) = 1 − e^−softplus(x)
		return float32(-math.Expm1(-float64(y)))
	case actSigmoid:
		return y * (1 - y)
	}
	return 1
}

// applyTo sets y[i] = act(x[i] + b[i]) (b nil: no bias). ReLU and the sigmoid, the
// default generator's, have loops of their own.
func (a activation) applyTo(y, x, b []float32) {
	x = x[:len(y)]
	if b == nil {
		switch a.kind {
		case actReLU:
			for i, v := range x {
				y[i] = max(v, 0)
			}
		case actSigmoid:
			for i, v := range x {
				y[i] = sigmoid32(v)
			}
		default:
			for i, v := range x {
				y[i] = a.apply(v)
			}
		}
		return
	}
	b = b[:len(y)]
	switch a.kind {
	case actReLU:
		for i, v := range x {
			y[i] = max(v+b[i], 0)
		}
	case actSigmoid:
		for i, v := range x {
			y[i] = sigmoid32(v + b[i])
		}
	default:
		for i, v := range x {
			y[i] = a.apply(v + b[i])
		}
	}
}

// buffer is an Op's result, kept from one pass to the next.
type buffer struct{ t *tensor.Dense }

// get returns the buffer as a tensor of shape, (re)allocated when its shape differs.
func (b *buffer) get(shape ...int) (*tensor.Dense, []float32) {
	if b.t == nil || !b.t.Shape().Eq(tensor.Shape(shape)) {
		b.t, _ = newT(shape...)
	}
	return b.t, b.t.Float32s()
}

// matrixOf returns the data and the two sides of a float32 matrix value.
func matrixOf(v G.Value, what string) ([]float32, int, int, error) {
	d, s, err := f32(v, what)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(s) != 2 {
		return nil, 0, 0, fmt.Errorf("models: %s has shape %v, want a matrix", what, s)
	}
	return d, s[0], s[1], nil
}

// denseOp is act(x·W + b).
type denseOp struct {
	act activation
	out *buffer
}

func newDenseOp(act activation) denseOp { return denseOp{act: act, out: new(buffer)} }

func (denseOp) Arity() int { return 3 }
func (denseOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(matrix(a), matrix(a), matrix(a), matrix(a))
}
func (op denseOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, ok1 := in[0].(tensor.Shape)
	w, ok2 := in[1].(tensor.Shape)
	b, ok3 := in[2].(tensor.Shape)
	if !ok1 || !ok2 || !ok3 || len(x) != 2 || len(w) != 2 || x[1] != w[0] || !b.Eq(tensor.Shape{1, w[1]}) {
		return nil, fmt.Errorf("models: %v of %v, %v and %v", op, in[0], in[1], in[2])
	}
	return tensor.Shape{x[0], w[1]}, nil
}
func (denseOp) ReturnsPtr() bool         { return false }
func (denseOp) CallsExtern() bool        { return false }
func (denseOp) OverwritesInput() int     { return -1 }
func (op denseOp) String() string        { return "Dense+" + op.act.String() }
func (op denseOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op denseOp) Hashcode() uint32      { return opHash(op.String()) }
func (denseOp) DiffWRT(int) []bool       { return []bool{true, true, true} }

func (op denseOp) Do(in ...G.Value) (G.Value, error) {
	x, m, k, err := matrixOf(in[0], "dense layer input")
	if err != nil {
		return nil, err
	}
	w, k2, n, err := matrixOf(in[1], "dense layer weights")
	if err != nil {
		return nil, err
	}
	b, one, n2, err := matrixOf(in[2], "dense layer bias")
	if err != nil {
		return nil, err
	}
	if k2 != k || one != 1 || n2 != n {
		return nil, fmt.Errorf("models: dense layer of %d×%d input, %d×%d weights, %d×%d bias", m, k, k2, n, one, n2)
	}
	out, y := op.out.get(m, n)
	G.WhichBLAS().Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, x, k, w, n, 0, y, n)
	parallel.For(m, 4*n, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			row := y[r*n : (r+1)*n]
			op.act.applyTo(row, row, b)
		}
	})
	return out, nil
}

func (op denseOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	delta := grad
	if op.act.kind != actLinear {
		var err error
		if delta, err = G.ApplyOp(newActGradOp(op.act), output, grad); err != nil {
			return nil, err
		}
	}
	dx, err := G.ApplyOp(newMatMulOp(false, true), delta, inputs[1])
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(newMatMulOp(true, false), inputs[0], delta)
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(colSumOp{out: new(buffer)}, delta)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

// actOp is an activation of a tensor of any shape.
type actOp struct {
	act activation
	out *buffer
}

func newActOp(act activation) actOp { return actOp{act: act, out: new(buffer)} }

func (actOp) Arity() int { return 1 }
func (actOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op actOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("models: %v of %v", op, in[0])
	}
	return s.Clone(), nil
}
func (actOp) ReturnsPtr() bool         { return false }
func (actOp) CallsExtern() bool        { return false }
func (actOp) OverwritesInput() int     { return -1 }
func (op actOp) String() string        { return "Act:" + op.act.String() }
func (op actOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op actOp) Hashcode() uint32      { return opHash(op.String()) }
func (actOp) DiffWRT(int) []bool       { return []bool{true} }

func (op actOp) Do(in ...G.Value) (G.Value, error) {
	x, s, err := f32(in[0], "activation input")
	if err != nil {
		return nil, err
	}
	out, y := op.out.get(s...)
	chunked(len(x), func(lo, hi int) { op.act.applyTo(y[lo:hi], x[lo:hi], nil) })
	return out, nil
}

func (op actOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	n, err := G.ApplyOp(newActGradOp(op.act), output, grad)
	return G.Nodes{n}, err
}

// actGradOp is (y, ∂y) ↦ ∂y ⊙ act′ at the output y.
type actGradOp struct {
	act activation
	out *buffer
}

func newActGradOp(act activation) actGradOp { return actGradOp{act: act, out: new(buffer)} }

func (actGradOp) Arity() int { return 2 }
func (actGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}
func (op actGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("models: %v of %v", op, in[0])
	}
	return s.Clone(), nil
}
func (actGradOp) ReturnsPtr() bool         { return false }
func (actGradOp) CallsExtern() bool        { return false }
func (actGradOp) OverwritesInput() int     { return -1 }
func (op actGradOp) String() string        { return "ActGrad:" + op.act.String() }
func (op actGradOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op actGradOp) Hashcode() uint32      { return opHash(op.String()) }

func (op actGradOp) Do(in ...G.Value) (G.Value, error) {
	y, s, err := f32(in[0], "activation output")
	if err != nil {
		return nil, err
	}
	dy, _, err := f32(in[1], "activation output gradient")
	if err != nil {
		return nil, err
	}
	if len(dy) != len(y) {
		return nil, fmt.Errorf("models: activation gradient of %d values for %d outputs", len(dy), len(y))
	}
	out, dx := op.out.get(s...)
	chunked(len(y), func(lo, hi int) {
		dx, dy := dx[lo:hi], dy[lo:hi]
		switch op.act.kind {
		case actReLU:
			for i, v := range y[lo:hi] {
				dx[i] = 0
				if v > 0 {
					dx[i] = dy[i]
				}
			}
		case actSigmoid:
			for i, v := range y[lo:hi] {
				dx[i] = dy[i] * (v * (1 - v))
			}
		default:
			for i, v := range y[lo:hi] {
				dx[i] = dy[i] * op.act.deriv(v)
			}
		}
	})
	return out, nil
}

// matMulOp is op(A)·op(B), op(X) being X or Xᵀ.
type matMulOp struct {
	tA, tB bool
	out    *buffer
}

func newMatMulOp(tA, tB bool) matMulOp { return matMulOp{tA: tA, tB: tB, out: new(buffer)} }

// sides returns the sides m×k of op(X) for X of r×c.
func sides(r, c int, t bool) (int, int) {
	if t {
		return c, r
	}
	return r, c
}

func (matMulOp) Arity() int { return 2 }
func (matMulOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(matrix(a), matrix(a), matrix(a))
}
func (op matMulOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	a, ok1 := in[0].(tensor.Shape)
	b, ok2 := in[1].(tensor.Shape)
	if !ok1 || !ok2 || len(a) != 2 || len(b) != 2 {
		return nil, fmt.Errorf("models: %v of %v and %v", op, in[0], in[1])
	}
	m, k := sides(a[0], a[1], op.tA)
	k2, n := sides(b[0], b[1], op.tB)
	if k != k2 {
		return nil, fmt.Errorf("models: %v of %v and %v", op, a, b)
	}
	return tensor.Shape{m, n}, nil
}
func (matMulOp) ReturnsPtr() bool         { return false }
func (matMulOp) CallsExtern() bool        { return false }
func (matMulOp) OverwritesInput() int     { return -1 }
func (op matMulOp) String() string        { return fmt.Sprintf("MatMul(%t,%t)", op.tA, op.tB) }
func (op matMulOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op matMulOp) Hashcode() uint32      { return opHash(op.String()) }

func (op matMulOp) Do(in ...G.Value) (G.Value, error) {
	a, ar, ac, err := matrixOf(in[0], "product's left factor")
	if err != nil {
		return nil, err
	}
	b, br, bc, err := matrixOf(in[1], "product's right factor")
	if err != nil {
		return nil, err
	}
	m, k := sides(ar, ac, op.tA)
	k2, n := sides(br, bc, op.tB)
	if k != k2 {
		return nil, fmt.Errorf("models: product of %d×%d and %d×%d", m, k, k2, n)
	}
	trans := func(t bool) blas.Transpose {
		if t {
			return blas.Trans
		}
		return blas.NoTrans
	}
	out, c := op.out.get(m, n)
	G.WhichBLAS().Sgemm(trans(op.tA), trans(op.tB), m, n, k, 1, a, ac, b, bc, 0, c, n)
	return out, nil
}

// colSumOp is the row vector of a matrix's column sums.
type colSumOp struct{ out *buffer }

func (colSumOp) Arity() int { return 1 }
func (colSumOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(matrix(a), matrix(a))
}
func (op colSumOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok || len(s) != 2 {
		return nil, fmt.Errorf("models: column sums of %v", in[0])
	}
	return tensor.Shape{1, s[1]}, nil
}
func (colSumOp) ReturnsPtr() bool         { return false }
func (colSumOp) CallsExtern() bool        { return false }
func (colSumOp) OverwritesInput() int     { return -1 }
func (colSumOp) String() string           { return "ColSum" }
func (op colSumOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op colSumOp) Hashcode() uint32      { return opHash(op.String()) }

func (op colSumOp) Do(in ...G.Value) (G.Value, error) {
	x, m, n, err := matrixOf(in[0], "column sum input")
	if err != nil {
		return nil, err
	}
	out, s := op.out.get(1, n)
	// Blocks of columns, each summed down the rows in order: the same sums whatever
	// the split.
	parallel.For(n, m, func(_, lo, hi int) {
		s := s[lo:hi]
		clear(s)
		for r := 0; r < m; r++ {
			for j, v := range x[r*n+lo : r*n+hi] {
				s[j] += v
			}
		}
	})
	return out, nil
}
