package ot

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ErrInvalidInput is wrapped by every error that reports bad arguments.
var ErrInvalidInput = errors.New("ot: invalid input")

// ErrTooLarge is wrapped by the errors of problems whose dense matrices would take
// more than MaxDenseBytes. It wraps ErrInvalidInput, so errors.Is(err, ErrInvalidInput)
// holds for them too; errors.Is(err, ErrTooLarge) tells them apart.
var ErrTooLarge = fmt.Errorf("%w: problem too large", ErrInvalidInput)

// MaxDenseBytes bounds the memory of the dense matrices (costs and their transposes,
// kernels, plans, adjoints, float64 or float32) that one call of this package holds at
// once. A call that would need more returns an error wrapping ErrTooLarge, stating the
// memory it needs, before it allocates anything; the Go runtime cannot recover from
// running out of memory, and the kernel may kill the process first.
//
// The default, 8 GiB, is a fixed value rather than a share of the machine's memory so
// that whether a problem runs does not depend on where: it is 64 times what a
// training batch of 4096 points needs per matrix (128 MiB) and admits a Sinkhorn
// divergence between clouds of about 14 000 points each, while 200 000 points (320 GB
// per cost matrix) fail at once with a clear error. Raise it on a larger machine; a
// value ≤ 0 disables the check. Set it before use, not concurrently with calls.
var MaxDenseBytes int64 = 8 << 30

// denseFits reports, as an error wrapping ErrTooLarge, whether dense matrices of the
// given total number of float64 entries exceed MaxDenseBytes (float32 entries count
// as half). what names the problem and its sizes. The count is a float64 so that
// products of large sizes cannot overflow.
func denseFits(what string, entries float64) error {
	need := 8 * entries
	if fitsDense(entries) {
		return nil
	}
	return fmt.Errorf("%w: %s needs %s for its matrices and potentials, more than ot.MaxDenseBytes = %s",
		ErrTooLarge, what, byteSize(need), byteSize(float64(MaxDenseBytes)))
}

// fitsDense is denseFits' test alone, for hot callers whose message costs a Sprintf.
func fitsDense(entries float64) bool {
	return MaxDenseBytes <= 0 || 8*entries <= float64(MaxDenseBytes)
}

// CheckUnrolled returns the error UnrolledSinkhorn (divergence false) or
// UnrolledSinkhornDivergence between n and m points, float32 or float64, with iters
// updates would return for its size, wrapping ErrTooLarge, or nil: for callers that
// size a problem before they build it, such as a training configuration.
func CheckUnrolled(n, m, iters int, divergence bool) error {
	what := "unrolled sinkhorn"
	if divergence {
		what += " divergence"
	}
	if err := denseFits(fmt.Sprintf("%s between %d and %d points", what, n, m), max(unrolledMatrices(n, m, divergence), unrolled32Matrices(n, m, divergence))); err != nil {
		return err
	}
	problems := 1.0 // x–y, and for the divergence x–x and y–y
	if divergence {
		problems = 3
	}
	return unrolledTapeFits(n, m, iters, problems)
}

// unrolledTapeFits bounds the potentials f_0…f_L, g_0…g_L that problems unrolled
// problems between (at most) n and m points with L iterations keep for the backward
// pass: L is a user's number and unbounded otherwise.
func unrolledTapeFits(n, m, L int, problems float64) error {
	e := problems * (float64(L) + 1) * (float64(n) + float64(m))
	if fitsDense(e) {
		return nil
	}
	return denseFits(fmt.Sprintf("the potentials of %d unrolled iterations between %d and %d points", L, n, m), e)
}

// area is n·m as a float64, for denseFits.
func area(n, m int) float64 { return float64(n) * float64(m) }

// byteSize formats a number of bytes with a binary unit.
func byteSize(b float64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	k := 0
	for b >= 1024 && k < len(units)-1 {
		b /= 1024
		k++
	}
	if k == 0 {
		return fmt.Sprintf("%.0f bytes", b)
	}
	return fmt.Sprintf("%.3g %s", b, units[k])
}

// weightSumTol is how far a weight vector's sum may stray from 1.
const weightSumTol = 1e-6

// ErrOutOfRange is wrapped by the errors of problems that float64 cannot represent:
// points whose squared distances overflow, an ε below the resolution of the costs, a
// result that is not finite. It wraps ErrInvalidInput. A training loop whose points
// diverge meets these; losses turns them into a non-finite loss.
var ErrOutOfRange = fmt.Errorf("%w: out of float64's range", ErrInvalidInput)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}

func outOfRange(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrOutOfRange}, args...)...)
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
	w, sum, err := weightList(field, w, n)
	if err != nil {
		return nil, err
	}
	if math.Abs(sum-1) > weightSumTol {
		return nil, invalid("%s sums to %.10g, not 1 (tolerance %g)", field, sum, weightSumTol)
	}
	return w, nil
}

// masses checks the weights of a positive measure of n points named field, of any
// positive finite mass (unbalanced OT); nil means uniform.
func masses(field string, w []float64, n int) ([]float64, error) {
	w, sum, err := weightList(field, w, n)
	if err != nil {
		return nil, err
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		return nil, invalid("%s sums to %v: the measure needs a positive, finite mass", field, sum)
	}
	return w, nil
}

// weightList checks n finite, non-negative weights named field (nil: uniform, 1/n
// each) and returns them with their sum.
func weightList(field string, w []float64, n int) ([]float64, float64, error) {
	if n == 0 {
		return nil, 0, invalid("%s: the measure has no points", field)
	}
	if w == nil {
		return Uniform(n), 1, nil
	}
	if len(w) != n {
		return nil, 0, invalid("%s: %d weights for %d points", field, len(w), n)
	}
	sum := 0.0
	for i, v := range w {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, 0, invalid("%s[%d] is %v", field, i, v)
		}
		if v < 0 {
			return nil, 0, invalid("%s[%d] = %g is negative", field, i, v)
		}
		sum += v
	}
	return w, sum, nil
}

// maxSqNorm bounds the squared norm |x_i|² of every point, so that the squared
// distances |x|² + |y|² − 2x·y behind every cost matrix and kernel stay finite: it
// admits coordinates up to about 6.7e153.
const maxSqNorm = math.MaxFloat64 / 4

// points checks that a point cloud is non-empty and finite, with squared norms below
// maxSqNorm. Every entry point that takes point clouds validates them here.
func points(field string, x *mat.Dense) error {
	if x == nil || x.IsEmpty() {
		return invalid("%s: no points", field)
	}
	r, _ := x.Dims()
	for i := 0; i < r; i++ {
		s := 0.0
		for j, v := range x.RawRowView(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return invalid("%s[%d,%d] is %v", field, i, j, v)
			}
			s += v * v
		}
		if !(s <= maxSqNorm) {
			return outOfRange("%s[%d] has squared norm %g, above %.3g: its squared distances to other points overflow float64; rescale the points", field, i, s, maxSqNorm)
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

// rowsOf is the number of points of a cloud, 0 for nil (which validation rejects).
func rowsOf(x *mat.Dense) int {
	if x == nil {
		return 0
	}
	r, _ := x.Dims()
	return r
}

// costMatrix checks an n×m cost matrix: finite entries.
func costMatrix(C *mat.Dense, n, m int) error {
	_, _, err := costRange(C, n, m)
	return err
}

// costRange is costMatrix that also returns the smallest and largest cost.
func costRange(C *mat.Dense, n, m int) (lo, hi float64, err error) {
	if C == nil || C.IsEmpty() {
		return 0, 0, invalid("cost matrix is empty")
	}
	r, c := C.Dims()
	if r != n || c != m {
		return 0, 0, invalid("cost matrix is %d×%d but the weights give %d×%d", r, c, n, m)
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := 0; i < r; i++ {
		row := C.RawRowView(i)
		rlo, rhi := row[0], row[0]
		for _, v := range row {
			rlo, rhi = min(rlo, v), max(rhi, v) // NaN and ±Inf propagate
		}
		if rlo-rlo != 0 || rhi-rhi != 0 {
			for j, v := range row {
				if v-v != 0 {
					return 0, 0, invalid("cost[%d,%d] is %v", i, j, v)
				}
			}
		}
		lo, hi = min(lo, rlo), max(hi, rhi)
	}
	return lo, hi, nil
}

// epsilon checks an entropic regularization strength: positive and finite, with a
// finite 1/ε (the solvers divide costs by ε).
func epsilon(eps float64) error {
	if !(eps > 0) || math.IsInf(eps, 0) {
		return invalid("eps = %v: must be positive and finite", eps)
	}
	if math.IsInf(1/eps, 0) {
		return invalid("eps = %v: 1/ε overflows float64", eps)
	}
	return nil
}

// allFinite reports whether no entry is NaN or ±Inf.
func allFinite(x []float64) bool {
	for _, v := range x {
		if v-v != 0 {
			return false
		}
	}
	return true
}
