package ot

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ErrInvalidInput is wrapped by every error that reports bad arguments.
var ErrInvalidInput = errors.New("ot: invalid input")

// weightSumTol is how far a weight vector's sum may stray from 1.
const weightSumTol = 1e-6

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}

// Uniform returns n weights equal to 1/n.
func Uniform(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / float64(n)
	}
	return w
}

// weights checks a probability vector of length n named field; nil means uniform.
func weights(field string, w []float64, n int) ([]float64, error) {
	if n == 0 {
		return nil, invalid("%s: the measure has no points", field)
	}
	if w == nil {
		return Uniform(n), nil
	}
	if len(w) != n {
		return nil, invalid("%s: %d weights for %d points", field, len(w), n)
	}
	sum := 0.0
	for i, v := range w {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, invalid("%s[%d] is %v", field, i, v)
		}
		if v < 0 {
			return nil, invalid("%s[%d] = %g is negative", field, i, v)
		}
		sum += v
	}
	if math.Abs(sum-1) > weightSumTol {
		return nil, invalid("%s sums to %.10g, not 1 (tolerance %g)", field, sum, weightSumTol)
	}
	return w, nil
}

// points checks that a point cloud is non-empty and finite.
func points(field string, x *mat.Dense) error {
	if x == nil || x.IsEmpty() {
		return invalid("%s: no points", field)
	}
	r, c := x.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if v := x.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return invalid("%s[%d,%d] is %v", field, i, j, v)
			}
		}
	}
	return nil
}

// pointPair checks two clouds of the same dimension.
func pointPair(x, y *mat.Dense) error {
	if err := points("x", x); err != nil {
		return err
	}
	if err := points("y", y); err != nil {
		return err
	}
	if _, dx := x.Dims(); dx != dimOf(y) {
		return invalid("x has dimension %d but y has %d", dx, dimOf(y))
	}
	return nil
}

func dimOf(x *mat.Dense) int { _, d := x.Dims(); return d }

// costMatrix checks an n×m cost matrix: finite entries.
func costMatrix(C *mat.Dense, n, m int) error {
	if C == nil || C.IsEmpty() {
		return invalid("cost matrix is empty")
	}
	r, c := C.Dims()
	if r != n || c != m {
		return invalid("cost matrix is %d×%d but the weights give %d×%d", r, c, n, m)
	}
	for i := 0; i < r; i++ {
		for j, v := range C.RawRowView(i) {
			if v-v != 0 { // NaN or ±Inf, in one cheap test
				return invalid("cost[%d,%d] is %v", i, j, v)
			}
		}
	}
	return nil
}

// epsilon checks an entropic regularization strength.
func epsilon(eps float64) error {
	if !(eps > 0) || math.IsInf(eps, 0) {
		return invalid("eps = %v: must be positive and finite", eps)
	}
	return nil
}
