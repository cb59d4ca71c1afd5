package ot

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// Batch runs solve(k) for the B independent problems k = 0…B−1 of a batch (GeomLoss's
// tensorized batch dimension: a loss per generated cloud) in parallel and returns
// their results in order. Each result is the one solve(k) gives alone, bit for bit:
// the solvers' parallel loops split their work by the problem's sizes only, and run
// serially inside a batch's worker. The error is that of the lowest failing k,
// wrapped as "pair k: …". At most MaxBlocks() problems run at once; each is checked
// against MaxDenseBytes on its own.
func Batch[R any](B int, solve func(k int) (R, error)) ([]R, error) {
	if B < 0 {
		return nil, invalid("batch: %d problems", B)
	}
	out := make([]R, B)
	errs := make([]error, B)
	// One index per problem, of a cost large enough that every problem is its own
	// unit of work.
	parallel.For(B, parallel.MinWork, func(_, lo, hi int) {
		for k := lo; k < hi; k++ {
			out[k], errs[k] = solve(k)
		}
	})
	for k, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("pair %d: %w", k, err)
		}
	}
	return out, nil
}

// checkBatch checks a batch's sizes: as many y clouds as x clouds, and as and bs nil
// (uniform weights throughout) or one weight vector per pair. It returns the pairs'
// weights by index (nil: uniform).
func checkBatch(nx, ny int, as, bs [][]float64) (a, b func(k int) []float64, err error) {
	if nx != ny {
		return nil, nil, invalid("batch: %d x clouds but %d y clouds", nx, ny)
	}
	pick := func(field string, ws [][]float64) (func(k int) []float64, error) {
		if ws != nil && len(ws) != nx {
			return nil, invalid("batch: %s has %d weight vectors for %d pairs", field, len(ws), nx)
		}
		return func(k int) []float64 {
			if ws == nil {
				return nil
			}
			return ws[k]
		}, nil
	}
	if a, err = pick("as", as); err != nil {
		return nil, nil, err
	}
	b, err = pick("bs", bs)
	return a, b, err
}

// SinkhornDivergenceBatch is SinkhornDivergence on the B pairs (xs[k], as[k]) and
// (ys[k], bs[k]), run in parallel by Batch: results[k] is SinkhornDivergence(xs[k],
// ys[k], as[k], bs[k], c, eps, opts), bit for bit. as and bs are nil (uniform weights
// throughout) or hold one vector per pair (each nil or a weight vector). A pair's
// error names it ("pair 3: …"); the clouds of different pairs may differ in size.
func SinkhornDivergenceBatch(xs, ys []*mat.Dense, as, bs [][]float64, c Cost, eps float64, opts *DivergenceOptions) ([]*DivergenceResult, error) {
	a, b, err := checkBatch(len(xs), len(ys), as, bs)
	if err != nil {
		return nil, err
	}
	return Batch(len(xs), func(k int) (*DivergenceResult, error) {
		return SinkhornDivergence(xs[k], ys[k], a(k), b(k), c, eps, opts)
	})
}

// UnrolledSinkhornDivergenceBatch is UnrolledSinkhornDivergence on B pairs of Points,
// as SinkhornDivergenceBatch: records[k] is UnrolledSinkhornDivergence(xs[k], ys[k],
// as[k], bs[k], c, eps, opts), bit for bit, and so are their backward passes, which
// the caller may run in parallel too (Batch).
func UnrolledSinkhornDivergenceBatch(xs, ys []Points, as, bs [][]float64, c Cost, eps float64, opts *UnrolledOptions) ([]*UnrolledDivergence, error) {
	a, b, err := checkBatch(len(xs), len(ys), as, bs)
	if err != nil {
		return nil, err
	}
	return Batch(len(xs), func(k int) (*UnrolledDivergence, error) {
		return UnrolledSinkhornDivergence(xs[k], ys[k], a(k), b(k), c, eps, opts)
	})
}

// Rows returns the points lo…hi−1 of p as a cloud sharing p's storage (a batch's pair
// within a stacked (B·n)×d tensor). It panics, as slicing does, on a range outside p.
func (p Points) Rows(lo, hi int) Points {
	if p.IsFloat32() {
		c := p.f32.Cols
		return FromFloat32(hi-lo, c, p.f32.Data[lo*c:hi*c:hi*c])
	}
	if p.f64 == nil {
		return Points{}
	}
	_, c := p.f64.Dims()
	return FromDense(p.f64.Slice(lo, hi, 0, c).(*mat.Dense))
}
