package losses

import (
	"errors"
	"math"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// Stats describes the last evaluation of a loss.
type Stats struct {
	Value float64
	Eps   float64 // ε of the last iteration (+Inf for the closed-form limit, 0 for MMD kinds)
	// Iterations run per Sinkhorn problem (0 for the closed forms).
	Iterations int
	// MarginalError is ‖P1 − a‖₁ of the cross problem's last iterate: how far L
	// iterations are from convergence.
	MarginalError float64
}

// evaluation is one forward pass, kept for the backward pass.
type evaluation struct {
	cfg  Config
	x, y *mat.Dense // data, generated
	div  *ot.UnrolledDivergence
	ent  *ot.Unrolled
	// released: the records are gone (a later forward pass took their matrices).
	released bool
	stats    Stats
	mu       sync.Mutex
	grad     [2]*mat.Dense // ∂value/∂x, ∂value/∂y for a unit seed, computed on request
	// float32 points (evaluate32): the Sinkhorn records then hold x32, y32 and compute
	// their products in float32.
	x32, y32 ot.Points32
	// err: the points or ε are beyond float64's range (see outOfRange).
	err error
}

// outOfRange turns an error of package ot wrapping ot.ErrOutOfRange (points whose
// distances overflow, an ε below the resolution of the costs, a result that is not
// finite: what diverging points produce) into an evaluation whose value and
// gradients are NaN, since the training loop decides what a non-finite loss means;
// Evaluate returns the error. Other errors are returned as they are.
func (ev *evaluation) outOfRange(err error) (*evaluation, error) {
	if !errors.Is(err, ot.ErrOutOfRange) {
		return nil, err
	}
	ev.div, ev.ent, ev.err = nil, nil, err
	ev.stats.Value, ev.stats.MarginalError = math.NaN(), math.NaN()
	return ev, nil
}

// release hands the Sinkhorn records' matrices back for reuse; the evaluation keeps
// its stats but can compute no more gradients.
func (ev *evaluation) release() {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if ev.div != nil {
		ev.div.Release()
	}
	if ev.ent != nil {
		ev.ent.Release()
	}
	ev.div, ev.ent, ev.released = nil, nil, true
}

// evaluate32 runs the loss between float32 data x and generated y, which it keeps
// (the caller must not change them while the evaluation is in use). The Sinkhorn kinds
// take ot's float32 path (x·yᵀ and the gradients' products as float32 matrix products,
// the iterations in float64); the closed forms run on float64 copies.
func evaluate32(cfg Config, x, y ot.Points32) (*evaluation, error) {
	if !cfg.sinkhorn() {
		ev, err := evaluate(cfg, pointsDense(x), pointsDense(y))
		if ev != nil {
			ev.x32, ev.y32 = x, y
		}
		return ev, err
	}
	ev := &evaluation{cfg: cfg, x32: x, y32: y, stats: Stats{Eps: cfg.Eps}}
	sched, anneal, err := cfg.schedule()
	if err != nil {
		return nil, err
	}
	ev.stats.Iterations = cfg.Iters
	if cfg.Kind == Entropic {
		if ev.ent, err = ot.UnrolledSinkhorn32(x, y, cfg.DataWeights, cfg.GenWeights, cfg.Cost, sched, anneal); err != nil {
			return ev.outOfRange(err)
		}
		ev.stats.Value, ev.stats.MarginalError = ev.ent.Dual, ev.ent.MarginalError
		return ev, nil
	}
	if ev.div, err = ot.UnrolledSinkhornDivergence32(x, y, cfg.DataWeights, cfg.GenWeights, cfg.Cost, sched, anneal); err != nil {
		return ev.outOfRange(err)
	}
	ev.stats.Value, ev.stats.MarginalError = ev.div.Dual, ev.div.XY.MarginalError
	if cfg.Kind == Primal {
		ev.stats.Value = ev.div.Primal()
	}
	return ev, nil
}

// pointsDense copies float32 points into a float64 matrix.
func pointsDense(p ot.Points32) *mat.Dense {
	out := mat.NewDense(p.Rows, p.Cols, nil)
	for i, v := range p.Data[:p.Rows*p.Cols] {
		out.RawMatrix().Data[i] = float64(v)
	}
	return out
}

// gradient32 is gradient in float32, for an evaluation of evaluate32, in a new slice:
// the Sinkhorn records accumulate straight into float32 (their products in float32),
// the closed forms' float64 gradients are rounded.
func (ev *evaluation) gradient32(side int) []float32 {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	pts := ev.x32
	if side == 1 {
		pts = ev.y32
	}
	g := make([]float32, pts.Rows*pts.Cols)
	if ev.err != nil {
		for i := range g {
			g[i] = float32(math.NaN())
		}
		return g
	}
	if ev.ent == nil && ev.div == nil {
		ev.mu.Unlock()
		g64 := ev.gradient(side)
		ev.mu.Lock()
		for i, v := range g64.RawMatrix().Data {
			g[i] = float32(v)
		}
		return g
	}
	gs := [2][]float32{}
	gs[side] = g
	switch {
	case ev.ent != nil && ev.cfg.Backward == Envelope:
		ev.ent.BackwardEnvelope32(1, gs[0], gs[1])
	case ev.ent != nil:
		ev.ent.Backward32(1, 0, gs[0], gs[1])
	case ev.cfg.Backward == Envelope:
		ev.div.BackwardEnvelope32(1, gs[0], gs[1])
	case ev.cfg.Kind == Primal:
		ev.div.Backward32(0, 1, gs[0], gs[1])
	default:
		ev.div.Backward32(1, 0, gs[0], gs[1])
	}
	return g
}

// evaluate runs the loss between data x and generated y (float64 copies it may keep).
func evaluate(cfg Config, x, y *mat.Dense) (*evaluation, error) {
	ev := &evaluation{cfg: cfg, x: x, y: y, stats: Stats{Eps: cfg.Eps}}
	switch {
	case cfg.sinkhorn():
		sched, anneal, err := cfg.schedule()
		if err != nil {
			return nil, err
		}
		ev.stats.Iterations = cfg.Iters
		if cfg.Kind == Entropic {
			if ev.ent, err = ot.UnrolledSinkhorn(x, y, cfg.DataWeights, cfg.GenWeights, cfg.Cost, sched, anneal); err != nil {
				return ev.outOfRange(err)
			}
			ev.stats.Value, ev.stats.MarginalError = ev.ent.Dual, ev.ent.MarginalError
			return ev, nil
		}
		if ev.div, err = ot.UnrolledSinkhornDivergence(x, y, cfg.DataWeights, cfg.GenWeights, cfg.Cost, sched, anneal); err != nil {
			return ev.outOfRange(err)
		}
		ev.stats.Value, ev.stats.MarginalError = ev.div.Dual, ev.div.XY.MarginalError
		if cfg.Kind == Primal {
			ev.stats.Value = ev.div.Primal()
		}
		return ev, nil
	default:
		// Closed forms: MMD kinds and the ε = +Inf limits. Their gradients are cheap
		// next to the value, so they are computed now.
		var k ot.Kernel
		scale := 1.0
		switch cfg.Kind {
		case MMD:
			k, ev.stats.Eps = ot.GaussianMixture(cfg.Bandwidths), 0
		case Energy:
			k, ev.stats.Eps = ot.EnergyKernel{}, 0
		default:
			k = ot.CostKernel{Cost: cfg.Cost}
			if cfg.Kind == Divergence {
				scale = 0.5
			}
		}
		v, g, err := ot.MMD(x, y, cfg.DataWeights, cfg.GenWeights, k, true)
		if err != nil {
			return ev.outOfRange(err)
		}
		g.X.Scale(scale, g.X)
		g.Y.Scale(scale, g.Y)
		ev.stats.Value, ev.grad = scale*v, [2]*mat.Dense{g.X, g.Y}
		return ev, nil
	}
}

// gradient returns ∂value/∂x (side 0) or ∂value/∂y (side 1), computing each once and
// only when asked: the data side's gradient is only wanted for learned feature maps.
func (ev *evaluation) gradient(side int) *mat.Dense {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if ev.grad[side] != nil {
		return ev.grad[side]
	}
	pts := ev.x
	if side == 1 {
		pts = ev.y
	}
	r, d := pts.Dims()
	g := mat.NewDense(r, d, nil)
	if ev.err != nil {
		for i := range g.RawMatrix().Data {
			g.RawMatrix().Data[i] = math.NaN()
		}
		ev.grad[side] = g
		return g
	}
	gs := [2]*mat.Dense{}
	gs[side] = g
	switch {
	case ev.ent != nil && ev.cfg.Backward == Envelope:
		ev.ent.BackwardEnvelope(1, gs[0], gs[1])
	case ev.ent != nil:
		ev.ent.Backward(1, 0, gs[0], gs[1])
	case ev.cfg.Backward == Envelope:
		ev.div.BackwardEnvelope(1, gs[0], gs[1])
	case ev.cfg.Kind == Primal:
		ev.div.Backward(0, 1, gs[0], gs[1])
	default:
		ev.div.Backward(1, 0, gs[0], gs[1])
	}
	ev.grad[side] = g
	return g
}

// Want selects the gradients Evaluate computes.
type Want int

const (
	WantNone      Want = 0
	WantData      Want = 1
	WantGenerated Want = 2
	WantBoth      Want = WantData | WantGenerated
)

// Evaluate computes the loss between data (n×d) and generated (m×d) points outside any
// graph, with the gradients that want selects (nil otherwise).
func Evaluate(data, generated *mat.Dense, cfg Config, want Want) (value float64, gData, gGen *mat.Dense, stats Stats, err error) {
	if cfg, err = cfg.withDefaults(); err != nil {
		return 0, nil, nil, Stats{}, err
	}
	ev, err := evaluate(cfg, data, generated)
	if err != nil {
		return 0, nil, nil, Stats{}, err
	}
	if ev.err != nil {
		return ev.stats.Value, nil, nil, ev.stats, ev.err
	}
	if want&WantData != 0 {
		gData = ev.gradient(0)
	}
	if want&WantGenerated != 0 {
		gGen = ev.gradient(1)
	}
	if math.IsNaN(ev.stats.Value) || math.IsInf(ev.stats.Value, 0) {
		return ev.stats.Value, gData, gGen, ev.stats, errNonFinite(ev.stats)
	}
	return ev.stats.Value, gData, gGen, ev.stats, nil
}
