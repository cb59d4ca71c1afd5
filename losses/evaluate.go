package losses

import (
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
	cfg    Config
	x, y   *mat.Dense // data, generated
	div    *ot.UnrolledDivergence
	ent    *ot.Unrolled
	stats  Stats
	once   sync.Once
	gx, gy *mat.Dense // gradients for a unit seed, computed on first request
}

// evaluate runs the loss between data x and generated y (float64 copies it may keep).
func evaluate(cfg Config, x, y *mat.Dense) (*evaluation, error) {
	ev := &evaluation{cfg: cfg, x: x, y: y, stats: Stats{Eps: cfg.Eps}}
	switch {
	case cfg.sinkhorn():
		sched, err := ot.EpsSchedule(cfg.Eps, cfg.Iters, cfg.EpsScaling, cfg.EpsStart)
		if err != nil {
			return nil, err
		}
		ev.stats.Iterations = cfg.Iters
		if cfg.Kind == Entropic {
			if ev.ent, err = ot.UnrolledSinkhorn(x, y, cfg.DataWeights, cfg.GenWeights, cfg.Cost, sched); err != nil {
				return nil, err
			}
			ev.stats.Value, ev.stats.MarginalError = ev.ent.Dual, ev.ent.MarginalError
			return ev, nil
		}
		if ev.div, err = ot.UnrolledSinkhornDivergence(x, y, cfg.DataWeights, cfg.GenWeights, cfg.Cost, sched); err != nil {
			return nil, err
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
			return nil, err
		}
		g.X.Scale(scale, g.X)
		g.Y.Scale(scale, g.Y)
		ev.stats.Value, ev.gx, ev.gy = scale*v, g.X, g.Y
		return ev, nil
	}
}

// gradients returns ∂value/∂x and ∂value/∂y, computing them once.
func (ev *evaluation) gradients() (gx, gy *mat.Dense) {
	ev.once.Do(ev.backward)
	return ev.gx, ev.gy
}

func (ev *evaluation) backward() {
	if ev.gx != nil { // closed forms computed theirs with the value
		return
	}
	n, d := ev.x.Dims()
	m, _ := ev.y.Dims()
	ev.gx, ev.gy = mat.NewDense(n, d, nil), mat.NewDense(m, d, nil)
	switch {
	case ev.ent != nil && ev.cfg.Backward == Envelope:
		ev.ent.BackwardEnvelope(1, ev.gx, ev.gy)
	case ev.ent != nil:
		ev.ent.Backward(1, 0, ev.gx, ev.gy)
	case ev.cfg.Backward == Envelope:
		ev.div.BackwardEnvelope(1, ev.gx, ev.gy)
	case ev.cfg.Kind == Primal:
		ev.div.Backward(0, 1, ev.gx, ev.gy)
	default:
		ev.div.Backward(1, 0, ev.gx, ev.gy)
	}
}

// Evaluate computes the loss between data (n×d) and generated (m×d) points outside any
// graph, with the gradients with respect to both when grad is set.
func Evaluate(data, generated *mat.Dense, cfg Config, grad bool) (value float64, gData, gGen *mat.Dense, stats Stats, err error) {
	if cfg, err = cfg.withDefaults(); err != nil {
		return 0, nil, nil, Stats{}, err
	}
	ev, err := evaluate(cfg, data, generated)
	if err != nil {
		return 0, nil, nil, Stats{}, err
	}
	if grad {
		gData, gGen = ev.gradients()
	}
	if math.IsNaN(ev.stats.Value) || math.IsInf(ev.stats.Value, 0) {
		return ev.stats.Value, gData, gGen, ev.stats, errNonFinite(ev.stats)
	}
	return ev.stats.Value, gData, gGen, ev.stats, nil
}
