package ot

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Cost is the ground cost c(x,y) = Scale·|x−y|^Power. The zero value is the default,
// SqEuclidean.
type Cost struct {
	Power float64 // p > 0
	Scale float64 // s > 0
}

var (
	// SqEuclidean is c(x,y) = ½|x−y|² (GeomLoss p=2).
	SqEuclidean = Cost{Power: 2, Scale: 0.5}
	// Euclidean is c(x,y) = |x−y| (GeomLoss p=1).
	Euclidean = Cost{Power: 1, Scale: 1}
)

// PowerCost returns c(x,y) = |x−y|^p, the cost of the p-Wasserstein distance W_p^p.
func PowerCost(p float64) Cost { return Cost{Power: p, Scale: 1} }

func (c Cost) orDefault() Cost {
	if c == (Cost{}) {
		return SqEuclidean
	}
	return c
}

func (c Cost) String() string {
	c = c.orDefault()
	return fmt.Sprintf("%g·|x−y|^%g", c.Scale, c.Power)
}

func (c Cost) check() error {
	c = c.orDefault()
	if !(c.Power > 0) || math.IsInf(c.Power, 0) || !(c.Scale > 0) || math.IsInf(c.Scale, 0) {
		return invalid("cost %v: power and scale must be positive and finite", c)
	}
	return nil
}

// fromSq maps a squared distance to the cost.
func (c Cost) fromSq(d2 float64) float64 {
	switch c.Power {
	case 2:
		return c.Scale * d2
	case 1:
		return c.Scale * math.Sqrt(d2)
	}
	return c.Scale * math.Pow(d2, c.Power/2)
}

// derivSq returns c'(s) = Scale·(p/2)·s^(p/2−1), the derivative of the cost as a
// function of the squared distance s, so that ∇_x c(x,y) = 2c'(|x−y|²)·(x−y). At s = 0
// it returns 0: the zero subgradient where p < 2 makes c' infinite (as AddGradX), the
// limit for p > 2, and for p = 2 (never asked: its c' is Scale) a value multiplying
// x − y = 0.
func (c Cost) derivSq(s float64) float64 {
	switch {
	case s == 0:
		return 0
	case c.Power == 1:
		return c.Scale * 0.5 / math.Sqrt(s)
	case c.Power == 3:
		return c.Scale * 1.5 * math.Sqrt(s)
	}
	return c.Scale * c.Power / 2 * math.Pow(s, c.Power/2-1)
}

// Pair returns c(x,y) for two points given as slices of equal length.
func (c Cost) Pair(x, y []float64) float64 {
	c = c.orDefault()
	d2 := 0.0
	for k := range x {
		t := x[k] - y[k]
		d2 += t * t
	}
	return c.fromSq(d2)
}

// AddGradX adds w·∇_x c(x,y) to dst. Where the gradient is undefined (x = y with
// p ≤ 1) it adds the zero subgradient.
func (c Cost) AddGradX(dst []float64, w float64, x, y []float64) {
	c = c.orDefault()
	d2 := 0.0
	for k := range x {
		t := x[k] - y[k]
		d2 += t * t
	}
	var s float64 // ∇_x s|x−y|^p = s·p·|x−y|^(p−2)·(x−y)
	switch {
	case c.Power == 2:
		s = 2 * c.Scale
	case d2 == 0:
		if c.Power <= 2 {
			return
		}
		s = 0
	default:
		s = c.Scale * c.Power * math.Pow(d2, c.Power/2-1)
	}
	s *= w
	for k := range x {
		dst[k] += s * (x[k] - y[k])
	}
}

// Matrix returns the n×m matrix C_ij = c(x_i, y_j). The squared distances come from
// one GEMM, |x|² + |y|² − 2x·yᵀ, clamped at zero against rounding. A matrix larger
// than MaxDenseBytes, or a cost that overflows float64, is an error.
func (c Cost) Matrix(x, y *mat.Dense) (*mat.Dense, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := pointPair(x, y); err != nil {
		return nil, err
	}
	n, _ := x.Dims()
	m, _ := y.Dims()
	if err := denseFits(fmt.Sprintf("the cost matrix between %d and %d points", n, m), area(n, m)); err != nil {
		return nil, err
	}
	C := c.orDefault().matrix(x, y)
	if err := costMatrix(C, n, m); err != nil {
		return nil, err
	}
	return C, nil
}

// matrix is Matrix without validation.
func (c Cost) matrix(x, y *mat.Dense) *mat.Dense {
	n, _ := x.Dims()
	m, _ := y.Dims()
	C := mat.NewDense(n, m, nil)
	mulNT(C, x, y)
	nx := rowSqNorms(x)
	ny := nx
	if x != y {
		ny = rowSqNorms(y)
	}
	raw := C.RawMatrix()
	for i := 0; i < n; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+m]
		for j, v := range row {
			d2 := nx[i] + ny[j] - 2*v
			if d2 < 0 || (x == y && i == j) {
				d2 = 0
			}
			row[j] = c.fromSq(d2)
		}
	}
	return C
}

func rowSqNorms(x *mat.Dense) []float64 {
	n, _ := x.Dims()
	out := make([]float64, n)
	for i := range out {
		r := x.RawRowView(i)
		s := 0.0
		for _, v := range r {
			s += v * v
		}
		out[i] = s
	}
	return out
}
