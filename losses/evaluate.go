package losses

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"math"
	"sync"

	"gonum.org/v1/gonum/floats"
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
	cfg Config
	// x, y: data and generated points, kept (the caller must not change them while the
	// evaluation is in use). float32 points make the Sinkhorn records compute their
	// products in float32.
	x, y ot.Points
	div  *ot.UnrolledDivergence
	ent  *ot.Unrolled
	// released: the records are gone (a later forward pass took their matrices).
	released bool
	stats    Stats
	mu       sync.Mutex
	grad     [2]*mat.Dense // ∂value/∂x, ∂value/∂y for a unit seed, computed on request
	// err: the points or ε are beyond float64's range (see outOfRange).
	err error
	// bwdErr: why an implicit backward pass failed (its gradient is NaN).
	bwdErr error
	// pairs: the pairs of a batched loss (see batch.go), which hold the records.
	pairs []*evaluation
	// sw: Kind Sliced's record, whose Backward with seed swSeed gives the gradients.
	sw     *ot.SlicedResult
	swSeed float64
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
	for _, p := range ev.pairs {
		p.release()
	}
	ev.div, ev.ent, ev.released = nil, nil, true
}

// evaluate runs the loss between data x and generated y. The Sinkhorn kinds take ot's
// unrolled solvers in the points' precision (for float32, x·yᵀ and the gradients'
// products as float32 matrix products, the iterations in float64); the closed forms
// run in float64.
func evaluate(cfg Config, x, y ot.Points) (*evaluation, error) {
	if cfg.Batch > 1 {
		return evaluateBatch(cfg, x, y)
	}
	ev := &evaluation{cfg: cfg, x: x, y: y, stats: Stats{Eps: cfg.Eps}}
	if cfg.sinkhorn() {
		ev.stats.Iterations = cfg.Iters
		opts := &ot.UnrolledOptions{Iterations: cfg.Iters, EpsScaling: cfg.EpsScaling, EpsStart: cfg.EpsStart}
		var err error
		if cfg.Kind == Entropic {
			if ev.ent, err = ot.UnrolledSinkhorn(x, y, cfg.DataWeights, cfg.GenWeights, cfg.Cost, cfg.Eps, opts); err != nil {
				return ev.outOfRange(err)
			}
			ev.stats.Value, ev.stats.MarginalError = ev.ent.Dual, ev.ent.MarginalError
			return ev, nil
		}
		if ev.div, err = ot.UnrolledSinkhornDivergence(x, y, cfg.DataWeights, cfg.GenWeights, cfg.Cost, cfg.Eps, opts); err != nil {
			return ev.outOfRange(err)
		}
		ev.stats.Value, ev.stats.MarginalError = ev.div.Dual, ev.div.XY.MarginalError
		if cfg.Kind == Primal {
			ev.stats.Value = ev.div.Primal()
		}
		return ev, nil
	}
	switch cfg.Kind {
	case Sliced:
		return ev.sliced()
	case Unbalanced:
		return ev.unbalanced()
	case Hausdorff:
		if !math.IsInf(cfg.Eps, 1) {
			return ev.hausdorff()
		}
	}
	// Closed forms: MMD kinds and the ε = +Inf limits. Their gradients are cheap next
	// to the value, so they are computed now.
	var k ot.Kernel
	scale := 1.0
	switch cfg.Kind {
	case MMD:
		k, ev.stats.Eps = ot.GaussianMixture(cfg.Bandwidths), 0
		if cfg.Kernel == "laplacian" {
			k = ot.LaplacianMixture(cfg.Bandwidths)
		}
	case Energy:
		k, ev.stats.Eps = ot.EnergyKernel{}, 0
	default:
		k = ot.CostKernel{Cost: cfg.Cost}
		if cfg.Kind == Divergence || cfg.Kind == Hausdorff {
			scale = 0.5
		}
	}
	r, err := ot.MMD(x.Dense(), y.Dense(), cfg.DataWeights, cfg.GenWeights, k, &ot.MMDOptions{Grad: true})
	if err != nil {
		return ev.outOfRange(err)
	}
	g := r.Grad
	g.X.Scale(scale, g.X)
	g.Y.Scale(scale, g.Y)
	ev.stats.Value, ev.grad = scale*r.Value, [2]*mat.Dense{g.X, g.Y}
	return ev, nil
}

// sliced evaluates Kind Sliced, s·SW_p^p, by ot.SlicedWassersteinPoints in the points'
// precision, on directions seeded by cfg.Seed and the data points. It keeps the
// record from which gradient and gradient32 compute a side's gradient when asked (the
// data side's rarely is).
func (ev *evaluation) sliced() (*evaluation, error) {
	cfg := ev.cfg
	h := fnv.New64a()
	var buf [8]byte
	hash := func(v float64) {
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
		h.Write(buf[:])
	}
	// The float64 bits of the data, whatever their precision: the same directions.
	if ev.x.IsFloat32() {
		for _, v := range ev.x.Float32() {
			hash(float64(v))
		}
	} else {
		for _, v := range ev.x.Dense().RawMatrix().Data {
			hash(v)
		}
	}
	ev.stats.Eps = 0
	p, s := cfg.Cost.Power, cfg.Cost.Scale
	r, err := ot.SlicedWassersteinPoints(ev.x, ev.y, cfg.DataWeights, cfg.GenWeights, p,
		&ot.SlicedOptions{Projections: cfg.Projections, Seed: cfg.Seed ^ h.Sum64(), Record: true})
	if err != nil {
		return ev.outOfRange(err)
	}
	ev.stats.Value = s * floats.Sum(r.PerDirection) / float64(len(r.PerDirection))
	// ∂(s·SW^p) = s·p·SW^(p−1)·∂SW.
	ev.sw, ev.swSeed = r, s*p*math.Pow(r.Value, p-1)
	return ev, nil
}

// unbalanced evaluates Kind Unbalanced by ot.UnbalancedDivergence after at most Iters
// iterations, with its envelope gradients.
func (ev *evaluation) unbalanced() (*evaluation, error) {
	cfg := ev.cfg
	o := &ot.DivergenceOptions{Grad: true, SinkhornOptions: ot.SinkhornOptions{
		MaxIter: cfg.Iters, EpsScaling: cfg.EpsScaling, EpsStart: cfg.EpsStart}}
	r, err := ot.UnbalancedDivergence(ev.x.Dense(), ev.y.Dense(), cfg.DataWeights, cfg.GenWeights, cfg.Cost, cfg.Eps, cfg.Rho, o)
	if err != nil {
		return ev.outOfRange(err)
	}
	ev.stats.Value, ev.stats.Iterations, ev.stats.MarginalError = r.Value, r.Iterations, r.XY.MarginalError
	ev.grad = [2]*mat.Dense{r.Grad.X, r.Grad.Y}
	return ev, nil
}

// hausdorff evaluates Kind Hausdorff by ot.Hausdorff, its symmetric solves capped at
// Iters iterations, with its gradients.
func (ev *evaluation) hausdorff() (*evaluation, error) {
	cfg := ev.cfg
	o := &ot.DivergenceOptions{Grad: true, SinkhornOptions: ot.SinkhornOptions{
		MaxIter: cfg.Iters, EpsScaling: cfg.EpsScaling, EpsStart: cfg.EpsStart}}
	r, err := ot.Hausdorff(ev.x.Dense(), ev.y.Dense(), cfg.DataWeights, cfg.GenWeights, cfg.Cost, cfg.Eps, o)
	if err != nil {
		return ev.outOfRange(err)
	}
	ev.stats.Value, ev.stats.Iterations, ev.stats.MarginalError = r.Value, r.Iterations, r.MarginalError
	ev.grad = [2]*mat.Dense{r.Grad.X, r.Grad.Y}
	return ev, nil
}

// backward adds ∂value/∂x (side 0) or ∂value/∂y (side 1) into g, through the Sinkhorn
// records (which must be present). An implicit backward pass that fails (a plan
// underflowed into blocks) is remembered in bwdErr; the callers then fill g with NaN.
func (ev *evaluation) backward(side int, g ot.Points) {
	gs := [2]ot.Points{}
	gs[side] = g
	var err error
	switch {
	case ev.ent != nil && ev.cfg.Backward == Envelope:
		ev.ent.BackwardEnvelope(1, gs[0], gs[1])
	case ev.ent != nil && ev.cfg.Backward == Implicit:
		err = ev.ent.BackwardImplicit(1, 0, gs[0], gs[1])
	case ev.ent != nil:
		ev.ent.Backward(1, 0, gs[0], gs[1])
	case ev.cfg.Backward == Envelope:
		ev.div.BackwardEnvelope(1, gs[0], gs[1])
	case ev.cfg.Backward == Implicit && ev.cfg.Kind == Primal:
		err = ev.div.BackwardImplicit(0, 1, gs[0], gs[1])
	case ev.cfg.Backward == Implicit:
		err = ev.div.BackwardImplicit(1, 0, gs[0], gs[1])
	case ev.cfg.Kind == Primal:
		ev.div.Backward(0, 1, gs[0], gs[1])
	default:
		ev.div.Backward(1, 0, gs[0], gs[1])
	}
	if err != nil {
		ev.bwdErr = err
	}
}

// swBackward adds the sliced loss's gradient of a side to g.
func (ev *evaluation) swBackward(side int, g ot.Points) {
	gs := [2]ot.Points{}
	gs[side] = g
	if err := ev.sw.Backward(ev.swSeed, gs[0], gs[1]); err != nil {
		ev.bwdErr = err // a record of the wrong shape: a bug, reported as a NaN gradient
	}
}

// points returns the points of a side.
func (ev *evaluation) points(side int) ot.Points {
	if side == 1 {
		return ev.y
	}
	return ev.x
}

// gradient32 is gradient in float32, in a new slice: the Sinkhorn records accumulate
// straight into float32 (for float32 points, their products in float32), the closed
// forms' float64 gradients are rounded.
func (ev *evaluation) gradient32(side int) []float32 { return ev.gradient32Into(side, nil) }

// gradient32Into is gradient32 written into buf when it has the gradient's length (a
// training step reuses the last step's), else into a new slice, which it returns.
func (ev *evaluation) gradient32Into(side int, buf []float32) []float32 {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	r, c := ev.points(side).Dims()
	g := buf
	if len(g) == r*c {
		clear(g) // the records add into it
	} else {
		g = make([]float32, r*c)
	}
	switch {
	case ev.err != nil:
		for i := range g {
			g[i] = float32(math.NaN())
		}
	case ev.pairs != nil:
		_, pg := ev.pairGradient(side, true)
		copy(g, pg)
	case ev.sw != nil:
		ev.swBackward(side, ot.FromFloat32(r, c, g))
	case ev.ent == nil && ev.div == nil:
		for i, v := range ev.grad[side].RawMatrix().Data {
			g[i] = float32(v)
		}
	default:
		ev.backward(side, ot.FromFloat32(r, c, g))
	}
	if ev.bwdErr != nil {
		for i := range g {
			g[i] = float32(math.NaN())
		}
	}
	return g
}

// gradient returns ∂value/∂x (side 0) or ∂value/∂y (side 1), computing each once and
// only when asked: the data side's gradient is only wanted for learned feature maps.
func (ev *evaluation) gradient(side int) *mat.Dense {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if ev.grad[side] != nil {
		return ev.grad[side]
	}
	r, c := ev.points(side).Dims()
	g := mat.NewDense(r, c, nil)
	switch {
	case ev.err == nil && ev.pairs != nil:
		g, _ = ev.pairGradient(side, false)
	case ev.err == nil && ev.sw != nil:
		ev.swBackward(side, ot.FromDense(g))
	case ev.err == nil:
		ev.backward(side, ot.FromDense(g))
	}
	if ev.err != nil || ev.bwdErr != nil {
		for i := range g.RawMatrix().Data {
			g.RawMatrix().Data[i] = math.NaN()
		}
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
	ev, err := evaluate(cfg, ot.FromDense(data), ot.FromDense(generated))
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
	if ev.bwdErr != nil {
		return ev.stats.Value, gData, gGen, ev.stats, ev.bwdErr
	}
	if math.IsNaN(ev.stats.Value) || math.IsInf(ev.stats.Value, 0) {
		return ev.stats.Value, gData, gGen, ev.stats, errNonFinite(ev.stats)
	}
	return ev.stats.Value, gData, gGen, ev.stats, nil
}
