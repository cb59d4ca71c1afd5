package losses

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// Batched losses (Config.Batch = B > 1): the data and generated matrices stack B pairs
// of clouds, rows k·n…(k+1)·n−1 of the (B·n)×d data and k·m…(k+1)·m−1 of the
// (B·m)×d generated points being pair k (GeomLoss's (B,N,D) tensors, flattened). The
// pairs are evaluated in parallel by ot.Batch, each exactly as a loss of one pair
// would be (bit for bit), and the loss is their mean: GeomLoss returns the vector of
// B values, which its users reduce, mostly by .mean(); the mean keeps the loss's scale,
// and so the learning rate, independent of B, and a batch of one is the plain loss.
// The gradient of pair k's rows is that pair's gradient divided by B.

// checkBatch reports whether n data and m generated rows split into c.Batch pairs.
func (c Config) checkBatch(n, m int) error {
	if c.Batch > 1 && (n%c.Batch != 0 || m%c.Batch != 0) {
		return bad("batch", c.Batch, "data has %d rows and generated %d: both must be multiples of the number of pairs", n, m)
	}
	return nil
}

// evaluateBatch evaluates the cfg.Batch pairs stacked in x and y.
func evaluateBatch(cfg Config, x, y ot.Points) (*evaluation, error) {
	B := cfg.Batch
	n, _ := x.Dims()
	m, _ := y.Dims()
	if err := cfg.checkBatch(n, m); err != nil {
		return nil, err
	}
	one := cfg
	one.Batch = 1
	pn, pm := n/B, m/B
	pairs, err := ot.Batch(B, func(k int) (*evaluation, error) {
		return evaluate(one, x.Rows(k*pn, (k+1)*pn), y.Rows(k*pm, (k+1)*pm))
	})
	if err != nil {
		return nil, fmt.Errorf("losses: %w", err)
	}
	ev := &evaluation{cfg: cfg, x: x, y: y, pairs: pairs, stats: Stats{Eps: pairs[0].stats.Eps}}
	sum := 0.0
	for k, p := range pairs {
		sum += p.stats.Value
		ev.stats.Iterations = max(ev.stats.Iterations, p.stats.Iterations)
		ev.stats.MarginalError = max(ev.stats.MarginalError, p.stats.MarginalError)
		if p.err != nil && ev.err == nil {
			ev.err = fmt.Errorf("pair %d: %w", k, p.err)
		}
	}
	ev.stats.Value = sum / float64(B)
	return ev, nil
}

// pairGradient assembles ∂value/∂(side) of a batch from its pairs' gradients, each
// scaled by 1/B, computing them in parallel; a pair's failed implicit backward pass is
// remembered in bwdErr. float32 gives the float32 gradients.
func (ev *evaluation) pairGradient(side int, float32s bool) (*mat.Dense, []float32) {
	B := len(ev.pairs)
	r, c := ev.points(side).Dims()
	rows := r / B
	w := 1 / float64(B)
	var g64 *mat.Dense
	var g32 []float32
	if float32s {
		g32 = make([]float32, r*c)
	} else {
		g64 = mat.NewDense(r, c, nil)
	}
	ot.Batch(B, func(k int) (struct{}, error) {
		p := ev.pairs[k]
		if float32s {
			dst := g32[k*rows*c : (k+1)*rows*c]
			for i, v := range p.gradient32(side) {
				dst[i] = float32(w) * v
			}
		} else {
			dst := g64.RawMatrix().Data[k*rows*c : (k+1)*rows*c]
			for i, v := range p.gradient(side).RawMatrix().Data {
				dst[i] = w * v
			}
		}
		return struct{}{}, nil
	})
	for k, p := range ev.pairs {
		if p.bwdErr != nil && ev.bwdErr == nil {
			ev.bwdErr = fmt.Errorf("pair %d: %w", k, p.bwdErr)
		}
	}
	return g64, g32
}

// PairValues returns the B per-pair losses of the last forward pass of a batched loss
// (Config.Batch > 1), whose value is their mean; nil for a loss of one pair or before
// the first forward pass.
func (l *Loss) PairValues() []float64 {
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	if l.st.last == nil || l.st.last.pairs == nil {
		return nil
	}
	out := make([]float64, len(l.st.last.pairs))
	for k, p := range l.st.last.pairs {
		out[k] = p.stats.Value
	}
	return out
}
