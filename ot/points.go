package ot

import "gonum.org/v1/gonum/mat"

// Points is a point cloud for the unrolled solvers, float64 (a *mat.Dense, as the other
// solvers take) or float32 (row-major, as a float32 gorgonia tensor). The precision
// only chooses the kernels: for float32 clouds, under any cost s·|x−y|^p, the squared
// distances' x·yᵀ and the gradients' products run as float32 matrix products
// (internal/fastblas's Sgemm), the rest in float64 (for p < 2 all of it where two
// points nearly coincide; see the package doc), with the scaling-domain kernel stored in float32 where that adds
// no more than float32 rounding (potentials within ε·L·2^-22 of a float64 kernel's). The solvers read the points without copying: they must not
// change while a record made from them is in use. The zero Points is "none", a
// gradient destination that is not computed.
type Points struct {
	f64  *mat.Dense
	f32  points32
	is32 bool
}

// FromDense is the float64 cloud whose points are the rows of x.
func FromDense(x *mat.Dense) Points { return Points{f64: x} }

// FromFloat32 is the float32 cloud of rows points of dimension cols, row-major in data.
func FromFloat32(rows, cols int, data []float32) Points {
	return Points{f32: points32{Rows: rows, Cols: cols, Data: data}, is32: true}
}

// IsFloat32 reports whether the points are float32.
func (p Points) IsFloat32() bool { return p.is32 }

// Float32 returns the row-major data of float32 points (not a copy), nil for float64
// points.
func (p Points) Float32() []float32 {
	if !p.IsFloat32() {
		return nil
	}
	return p.f32.Data[:p.f32.Rows*p.f32.Cols]
}

// Dims returns the number of points and their dimension.
func (p Points) Dims() (rows, cols int) {
	switch {
	case p.IsFloat32():
		return p.f32.Rows, p.f32.Cols
	case p.f64 != nil:
		return p.f64.Dims()
	}
	return 0, 0
}

// Dense returns the points as a float64 matrix: x itself for FromDense(x), a converted
// copy of float32 points, nil for the zero Points.
func (p Points) Dense() *mat.Dense {
	if p.IsFloat32() {
		return p.f32.dense()
	}
	return p.f64
}

// none reports the zero Points.
func (p Points) none() bool { return p.f64 == nil && !p.IsFloat32() }
