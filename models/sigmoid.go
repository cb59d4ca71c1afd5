package models

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// sigmoidOp is the logistic function 1/(1+e^−x) on a float32 matrix, the output
// activation of the image generators. gorgonia's Sigmoid calls a float32 exp per value
// and builds its gradient from four elementwise nodes; this one evaluates e^−|x| by a
// polynomial (float32 accuracy) and has a one-pass gradient that recomputes σ from x,
// so no later in-place op on the output can corrupt it.
type sigmoidOp struct{}

func matrix(a hm.Type) G.TensorType { return G.TensorType{Dims: 2, Of: a} }

func (sigmoidOp) Arity() int { return 1 }
func (sigmoidOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(matrix(a), matrix(a))
}
func (sigmoidOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("models: sigmoid of %v", in[0])
	}
	return s.Clone(), nil
}
func (sigmoidOp) ReturnsPtr() bool         { return false }
func (sigmoidOp) CallsExtern() bool        { return false }
func (sigmoidOp) OverwritesInput() int     { return -1 }
func (sigmoidOp) String() string           { return "Sigmoid32" }
func (op sigmoidOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op sigmoidOp) Hashcode() uint32      { return opHash(op.String()) }
func (sigmoidOp) DiffWRT(int) []bool       { return []bool{true} }

func (sigmoidOp) Do(in ...G.Value) (G.Value, error) {
	x, s, err := f32(in[0], "sigmoid input")
	if err != nil {
		return nil, err
	}
	out, y := newT(s...)
	chunked(len(x), func(lo, hi int) {
		for i, v := range x[lo:hi] {
			y[lo+i] = sigmoid32(v)
		}
	})
	return out, nil
}

func (sigmoidOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	n, err := G.ApplyOp(sigmoidGradOp{}, inputs[0], grad)
	return G.Nodes{n}, err
}

// sigmoidGradOp is (x, ∂y) ↦ ∂y·σ(x)·(1−σ(x)).
type sigmoidGradOp struct{}

func (sigmoidGradOp) Arity() int { return 2 }
func (sigmoidGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(matrix(a), matrix(a), matrix(a))
}
func (sigmoidGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("models: sigmoid gradient of %v", in[0])
	}
	return s.Clone(), nil
}
func (sigmoidGradOp) ReturnsPtr() bool         { return false }
func (sigmoidGradOp) CallsExtern() bool        { return false }
func (sigmoidGradOp) OverwritesInput() int     { return -1 }
func (sigmoidGradOp) String() string           { return "Sigmoid32Grad" }
func (op sigmoidGradOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op sigmoidGradOp) Hashcode() uint32      { return opHash(op.String()) }

func (sigmoidGradOp) Do(in ...G.Value) (G.Value, error) {
	x, s, err := f32(in[0], "sigmoid input")
	if err != nil {
		return nil, err
	}
	dy, _, err := f32(in[1], "sigmoid output gradient")
	if err != nil {
		return nil, err
	}
	if len(dy) != len(x) {
		return nil, fmt.Errorf("models: sigmoid gradient of %d values for %d inputs", len(dy), len(x))
	}
	out, dx := newT(s...)
	chunked(len(x), func(lo, hi int) {
		for i, v := range x[lo:hi] {
			y := sigmoid32(v)
			dx[lo+i] = dy[lo+i] * y * (1 - y)
		}
	})
	return out, nil
}

// chunked runs body over [0,n) in one contiguous range per CPU from 2^15 values on.
func chunked(n int, body func(lo, hi int)) {
	parallel.For(n, 2, func(_, lo, hi int) { body(lo, hi) })
}

// sigmoid32 is 1/(1+e^−x), evaluated through e^−|x| so that nothing overflows.
func sigmoid32(x float32) float32 {
	e := expNeg32(-abs32(x))
	if x >= 0 {
		return 1 / (1 + e)
	}
	return e / (1 + e)
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// expNeg32 returns e^x for x ≤ 0 within a few float32 ulp (0 below −87, where
// e^x is subnormal): x = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-6 Taylor
// polynomial (remainder below 2e−7 relative), times 2^n by exponent arithmetic.
func expNeg32(x float32) float32 {
	if !(x >= -87) { // NaN stays NaN
		if x != x {
			return x
		}
		return 0
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375 // ln2 split so that n·ln2hi is exact
		ln2lo = -2.12194440e-4
	)
	n := float32(int32(x*log2e - 0.5)) // round to nearest for x ≤ 0
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}
