package models

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/internal/fastblas"
	"github.com/sinkgen/sinkgen/internal/parallel"
)

// The conv generator's layers as gorgonia Ops of their own. gorgonia's Upsample2D moves
// every value through interface-typed At/SetAt calls, and its Conv2d goes through a
// generic im2col, one huge matrix product and a 4-D transpose: together about 1.7 s
// per step of the conv generator at batch 256 on two cores. These compute the same
// functions (checked against a float64 reference and finite differences) with flat
// loops and one small product per image on internal/fastblas:
//
//   - upsample2x: nearest-neighbour 2× upsampling of (N, C, H, W); its gradient sums
//     2×2 blocks.
//   - conv: "same" k×k convolution (cross-correlation, stride 1, zero padding k/2) of
//     (N, Cin, H, W) with weights (Cout, Cin, k, k) plus a per-channel bias (1, Cout, 1,
//     1), computed per image as W·im2col(x). Gradients: ∂x = col2im(Wᵀ·∂y),
//     ∂W = Σ_n ∂y_n·im2col(x_n)ᵀ, ∂b = Σ ∂y.
//
// Images are split between goroutines; ∂W is summed over fixed blocks of 8 images in a
// fixed order, so every result is the same whatever the number of threads.

func tensor4(a hm.Type) G.TensorType { return G.TensorType{Dims: 4, Of: a} }

// f32 returns the contiguous float32 data of a value (a copy if it is a strided view).
func f32(v G.Value, what string) ([]float32, tensor.Shape, error) {
	t, ok := v.(*tensor.Dense)
	if !ok {
		return nil, nil, fmt.Errorf("models: %s is %T, want a dense tensor", what, v)
	}
	if t.RequiresIterator() {
		t = t.Materialize().(*tensor.Dense)
	}
	if t.Dtype() != tensor.Float32 {
		return nil, nil, fmt.Errorf("models: %s has dtype %v, want float32", what, t.Dtype())
	}
	return t.Float32s(), t.Shape(), nil // Float32s, unlike Data, boxes nothing
}

func newT(shape ...int) (*tensor.Dense, []float32) {
	n := 1
	for _, s := range shape {
		n *= s
	}
	d := make([]float32, n)
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d)), d
}

func opHash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// parallelFor runs body(i) for i in [0,n), in one contiguous range of i per CPU.
func parallelFor(n int, body func(i int)) {
	parallel.For(n, parallel.MinWork, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			body(i)
		}
	})
}

// upsampleOp is 2× nearest-neighbour upsampling of an (N, C, H, W) tensor.
type upsampleOp struct{}

func (upsampleOp) Arity() int { return 1 }
func (upsampleOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensor4(a), tensor4(a))
}
func (upsampleOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok || s.Dims() != 4 {
		return nil, fmt.Errorf("models: upsample2x of %v", in[0])
	}
	return tensor.Shape{s[0], s[1], 2 * s[2], 2 * s[3]}, nil
}
func (upsampleOp) ReturnsPtr() bool         { return false }
func (upsampleOp) CallsExtern() bool        { return false }
func (upsampleOp) OverwritesInput() int     { return -1 }
func (upsampleOp) String() string           { return "Upsample2x" }
func (op upsampleOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op upsampleOp) Hashcode() uint32      { return opHash(op.String()) }
func (upsampleOp) DiffWRT(int) []bool       { return []bool{true} }

func (upsampleOp) Do(in ...G.Value) (G.Value, error) {
	x, s, err := f32(in[0], "upsample input")
	if err != nil {
		return nil, err
	}
	h, w := s[2], s[3]
	out, y := newT(s[0], s[1], 2*h, 2*w)
	parallelFor(s[0]*s[1], func(p int) {
		src, dst := x[p*h*w:(p+1)*h*w], y[p*4*h*w:(p+1)*4*h*w]
		for i := 0; i < h; i++ {
			row := dst[2*i*2*w : (2*i+1)*2*w]
			for j, v := range src[i*w : (i+1)*w] {
				row[2*j], row[2*j+1] = v, v
			}
			copy(dst[(2*i+1)*2*w:(2*i+2)*2*w], row)
		}
	})
	return out, nil
}

func (upsampleOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	n, err := G.ApplyOp(upsampleGradOp{}, grad)
	return G.Nodes{n}, err
}

// upsampleGradOp sums the 2×2 blocks of an (N, C, 2H, 2W) gradient.
type upsampleGradOp struct{}

func (upsampleGradOp) Arity() int { return 1 }
func (upsampleGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensor4(a), tensor4(a))
}
func (upsampleGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok || s.Dims() != 4 {
		return nil, fmt.Errorf("models: upsample2x gradient of %v", in[0])
	}
	return tensor.Shape{s[0], s[1], s[2] / 2, s[3] / 2}, nil
}
func (upsampleGradOp) ReturnsPtr() bool         { return false }
func (upsampleGradOp) CallsExtern() bool        { return false }
func (upsampleGradOp) OverwritesInput() int     { return -1 }
func (upsampleGradOp) String() string           { return "Upsample2xGrad" }
func (op upsampleGradOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op upsampleGradOp) Hashcode() uint32      { return opHash(op.String()) }

func (upsampleGradOp) Do(in ...G.Value) (G.Value, error) {
	dy, s, err := f32(in[0], "upsample gradient")
	if err != nil {
		return nil, err
	}
	h, w := s[2]/2, s[3]/2
	out, dx := newT(s[0], s[1], h, w)
	parallelFor(s[0]*s[1], func(p int) {
		src, dst := dy[p*4*h*w:(p+1)*4*h*w], dx[p*h*w:(p+1)*h*w]
		for i := 0; i < h; i++ {
			r0, r1 := src[2*i*2*w:(2*i+1)*2*w], src[(2*i+1)*2*w:(2*i+2)*2*w]
			for j := range dst[i*w : (i+1)*w] {
				dst[i*w+j] = (r0[2*j] + r0[2*j+1]) + (r1[2*j] + r1[2*j+1])
			}
		}
	})
	return out, nil
}

// convOp is a "same" k×k convolution with a per-channel bias: (x, w, b) ↦ y.
type convOp struct{ k int }

func (convOp) Arity() int { return 3 }
func (convOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensor4(a), tensor4(a), tensor4(a), tensor4(a))
}
func (op convOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, ok1 := in[0].(tensor.Shape)
	w, ok2 := in[1].(tensor.Shape)
	if !ok1 || !ok2 || x.Dims() != 4 || w.Dims() != 4 || w[1] != x[1] || w[2] != op.k || w[3] != op.k {
		return nil, fmt.Errorf("models: convolution of %v with weights %v", in[0], in[1])
	}
	return tensor.Shape{x[0], w[0], x[2], x[3]}, nil
}
func (convOp) ReturnsPtr() bool         { return false }
func (convOp) CallsExtern() bool        { return false }
func (convOp) OverwritesInput() int     { return -1 }
func (op convOp) String() string        { return fmt.Sprintf("Conv%dx%dSame", op.k, op.k) }
func (op convOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op convOp) Hashcode() uint32      { return opHash(op.String()) }
func (convOp) DiffWRT(int) []bool       { return []bool{true, true, true} }

// geometry of one convolution
type convGeom struct {
	n, cin, h, w, cout, k int
}

func (g convGeom) hw() int   { return g.h * g.w }
func (g convGeom) rows() int { return g.cin * g.k * g.k } // rows of im2col

func convInputs(k int, in []G.Value) (x, w []float32, g convGeom, err error) {
	x, xs, err := f32(in[0], "convolution input")
	if err != nil {
		return
	}
	w, ws, err := f32(in[1], "convolution weights")
	if err != nil {
		return
	}
	g = convGeom{n: xs[0], cin: xs[1], h: xs[2], w: xs[3], cout: ws[0], k: k}
	if ws[1] != g.cin || ws[2] != k || ws[3] != k {
		err = fmt.Errorf("models: convolution of %v with weights %v", xs, ws)
	}
	return
}

// im2col fills col (rows()×hw) with the zero-padded k×k patches of image x (cin×h×w):
// col[(c·k + di)·k + dj][i·w + j] = x[c][i+di−k/2][j+dj−k/2], 0 outside the image.
// Each row of col is the flattened image shifted by (di−k/2)·w + dj−k/2: one copy,
// then the rows and columns that fell outside the image are cleared.
func (g convGeom) im2col(x, col []float32) {
	hw := g.hw()
	for c := 0; c < g.cin; c++ {
		img := x[c*hw : (c+1)*hw]
		for di := 0; di < g.k; di++ {
			for dj := 0; dj < g.k; dj++ {
				row := col[((c*g.k+di)*g.k+dj)*hw:][:hw]
				shift := (di-g.k/2)*g.w + dj - g.k/2
				lo, hi := max(0, -shift), min(hw, hw-shift) // positions whose source is in range
				clear(row[:lo])
				copy(row[lo:hi], img[lo+shift:hi+shift])
				clear(row[hi:])
				g.clearOutside(row, di, dj)
			}
		}
	}
}

// clearOutside zeroes the positions of a shifted row whose source pixel lies outside
// the image: whole rows at the top or bottom, and columns wrapped from the
// neighbouring row.
func (g convGeom) clearOutside(row []float32, di, dj int) {
	p := g.k / 2
	top, bottom := max(0, p-di), min(g.h, g.h+p-di) // rows i with a source row inside
	clear(row[:top*g.w])
	clear(row[bottom*g.w:])
	a, b := 0, 0 // wrapped columns [a, b) of every row
	switch {
	case dj < p:
		a, b = 0, p-dj
	case dj > p:
		a, b = g.w+p-dj, g.w
	default:
		return
	}
	for i := top; i < bottom; i++ {
		clear(row[i*g.w+a : i*g.w+b])
	}
}

// col2im adds the patches of col back into image dx (cin×h×w), the adjoint of im2col.
// It clears the positions of col that im2col leaves at zero (col is scratch), then adds
// each row, shifted, in one pass.
func (g convGeom) col2im(col, dx []float32) {
	hw := g.hw()
	for c := 0; c < g.cin; c++ {
		img := dx[c*hw : (c+1)*hw]
		for di := 0; di < g.k; di++ {
			for dj := 0; dj < g.k; dj++ {
				row := col[((c*g.k+di)*g.k+dj)*hw:][:hw]
				g.clearOutside(row, di, dj)
				shift := (di-g.k/2)*g.w + dj - g.k/2
				lo, hi := max(0, -shift), min(hw, hw-shift)
				if hi > lo {
					gonum.Implementation{}.Saxpy(hi-lo, 1, row[lo:hi], 1, img[lo+shift:hi+shift], 1)
				}
			}
		}
	}
}

// imageBlock is the number of images whose ∂W is summed before the blocks are added.
const imageBlock = 8

func (op convOp) Do(in ...G.Value) (G.Value, error) {
	x, w, g, err := convInputs(op.k, in)
	if err != nil {
		return nil, err
	}
	b, _, err := f32(in[2], "convolution bias")
	if err != nil {
		return nil, err
	}
	if len(b) != g.cout {
		return nil, fmt.Errorf("models: %d biases for %d output channels", len(b), g.cout)
	}
	hw, rows := g.hw(), g.rows()
	out, y := newT(g.n, g.cout, g.h, g.w)
	blocks := (g.n + imageBlock - 1) / imageBlock
	parallelFor(blocks, func(blk int) {
		col := parallel.Float32.Get(rows * hw)
		defer parallel.Float32.Put(col)
		for n := blk * imageBlock; n < min((blk+1)*imageBlock, g.n); n++ {
			g.im2col(x[n*g.cin*hw:(n+1)*g.cin*hw], col)
			yn := y[n*g.cout*hw : (n+1)*g.cout*hw]
			for c := 0; c < g.cout; c++ {
				row := yn[c*hw : (c+1)*hw]
				for j := range row {
					row[j] = b[c]
				}
			}
			fastblas.SgemmSerial(blas.NoTrans, blas.NoTrans, g.cout, hw, rows, 1, w, rows, col, hw, 1, yn, hw)
		}
	})
	return out, nil
}

func (op convOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	out := make(G.Nodes, 3)
	for i := range out {
		n, err := G.ApplyOp(convGradOp{k: op.k, wrt: i}, inputs[0], inputs[1], grad)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// convGradOp is (x, w, ∂y) ↦ ∂x, ∂w or ∂b (wrt 0, 1, 2).
type convGradOp struct{ k, wrt int }

func (convGradOp) Arity() int { return 3 }
func (convGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensor4(a), tensor4(a), tensor4(a), tensor4(a))
}
func (op convGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	switch op.wrt {
	case 0, 1:
		s, ok := in[op.wrt].(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("models: convolution gradient shape from %v", in[op.wrt])
		}
		return s.Clone(), nil
	}
	w, ok := in[1].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("models: convolution gradient shape from %v", in[1])
	}
	return tensor.Shape{1, w[0], 1, 1}, nil
}
func (convGradOp) ReturnsPtr() bool         { return false }
func (convGradOp) CallsExtern() bool        { return false }
func (convGradOp) OverwritesInput() int     { return -1 }
func (op convGradOp) String() string        { return fmt.Sprintf("Conv%dx%dSameGrad%d", op.k, op.k, op.wrt) }
func (op convGradOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op convGradOp) Hashcode() uint32      { return opHash(op.String()) }

func (op convGradOp) Do(in ...G.Value) (G.Value, error) {
	x, w, g, err := convInputs(op.k, in)
	if err != nil {
		return nil, err
	}
	dy, _, err := f32(in[2], "convolution output gradient")
	if err != nil {
		return nil, err
	}
	hw, rows := g.hw(), g.rows()
	if len(dy) != g.n*g.cout*hw {
		return nil, fmt.Errorf("models: convolution output gradient of %d values, want %d", len(dy), g.n*g.cout*hw)
	}
	blocks := (g.n + imageBlock - 1) / imageBlock
	switch op.wrt {
	case 0: // ∂x_n = col2im(Wᵀ·∂y_n)
		out, dx := newT(g.n, g.cin, g.h, g.w)
		parallelFor(blocks, func(blk int) {
			dcol := parallel.Float32.Get(rows * hw)
			defer parallel.Float32.Put(dcol)
			for n := blk * imageBlock; n < min((blk+1)*imageBlock, g.n); n++ {
				fastblas.SgemmSerial(blas.Trans, blas.NoTrans, rows, hw, g.cout, 1, w, rows, dy[n*g.cout*hw:(n+1)*g.cout*hw], hw, 0, dcol, hw)
				g.col2im(dcol, dx[n*g.cin*hw:(n+1)*g.cin*hw])
			}
		})
		return out, nil
	case 1: // ∂W = Σ_n ∂y_n·im2col(x_n)ᵀ, by blocks of images, blocks added in order
		partial := make([]float32, blocks*g.cout*rows)
		parallelFor(blocks, func(blk int) {
			col := parallel.Float32.Get(rows * hw)
			defer parallel.Float32.Put(col)
			acc := partial[blk*g.cout*rows : (blk+1)*g.cout*rows]
			for n := blk * imageBlock; n < min((blk+1)*imageBlock, g.n); n++ {
				g.im2col(x[n*g.cin*hw:(n+1)*g.cin*hw], col)
				fastblas.SgemmSerial(blas.NoTrans, blas.Trans, g.cout, rows, hw, 1, dy[n*g.cout*hw:(n+1)*g.cout*hw], hw, col, hw, 1, acc, rows)
			}
		})
		out, dw := newT(g.cout, g.cin, g.k, g.k)
		for blk := 0; blk < blocks; blk++ {
			for i, v := range partial[blk*g.cout*rows : (blk+1)*g.cout*rows] {
				dw[i] += v
			}
		}
		return out, nil
	}
	// ∂b_c = Σ_n Σ_ij ∂y[n][c][i][j], in float64
	sums := make([]float64, g.cout)
	for n := 0; n < g.n; n++ {
		for c := 0; c < g.cout; c++ {
			var s float64
			for _, v := range dy[(n*g.cout+c)*hw : (n*g.cout+c+1)*hw] {
				s += float64(v)
			}
			sums[c] += s
		}
	}
	out, db := newT(1, g.cout, 1, 1)
	for c, s := range sums {
		db[c] = float32(s)
	}
	return out, nil
}

// avgPoolOp is 2×2 average pooling of an (N, C, 2H, 2W) tensor, the conv critic's
// downsampling; its gradient spreads each value a quarter to its 2×2 block.
type avgPoolOp struct{}

func (avgPoolOp) Arity() int { return 1 }
func (avgPoolOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensor4(a), tensor4(a))
}
func (avgPoolOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok || s.Dims() != 4 || s[2]%2 != 0 || s[3]%2 != 0 {
		return nil, fmt.Errorf("models: 2×2 average pooling of %v", in[0])
	}
	return tensor.Shape{s[0], s[1], s[2] / 2, s[3] / 2}, nil
}
func (avgPoolOp) ReturnsPtr() bool         { return false }
func (avgPoolOp) CallsExtern() bool        { return false }
func (avgPoolOp) OverwritesInput() int     { return -1 }
func (avgPoolOp) String() string           { return "AvgPool2x2" }
func (op avgPoolOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op avgPoolOp) Hashcode() uint32      { return opHash(op.String()) }
func (avgPoolOp) DiffWRT(int) []bool       { return []bool{true} }

func (avgPoolOp) Do(in ...G.Value) (G.Value, error) {
	out, err := upsampleGradOp{}.Do(in...) // the 2×2 block sums
	if err != nil {
		return nil, err
	}
	d := out.(*tensor.Dense).Data().([]float32)
	for i := range d {
		d[i] /= 4
	}
	return out, nil
}

func (avgPoolOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	n, err := G.ApplyOp(avgPoolGradOp{}, grad)
	return G.Nodes{n}, err
}

// avgPoolGradOp is the adjoint of avgPoolOp: a quarter of each value to its 2×2 block.
type avgPoolGradOp struct{}

func (avgPoolGradOp) Arity() int    { return 1 }
func (avgPoolGradOp) Type() hm.Type { return upsampleOp{}.Type() }
func (avgPoolGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return upsampleOp{}.InferShape(in...)
}
func (avgPoolGradOp) ReturnsPtr() bool         { return false }
func (avgPoolGradOp) CallsExtern() bool        { return false }
func (avgPoolGradOp) OverwritesInput() int     { return -1 }
func (avgPoolGradOp) String() string           { return "AvgPool2x2Grad" }
func (op avgPoolGradOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op avgPoolGradOp) Hashcode() uint32      { return opHash(op.String()) }

func (avgPoolGradOp) Do(in ...G.Value) (G.Value, error) {
	out, err := upsampleOp{}.Do(in...)
	if err != nil {
		return nil, err
	}
	d := out.(*tensor.Dense).Data().([]float32)
	for i := range d {
		d[i] /= 4
	}
	return out, nil
}
