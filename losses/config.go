package losses

import (
	"fmt"
	"math"

	"github.com/sinkgen/sinkgen/ot"
)

// Kind names a loss.
type Kind string

const (
	// Divergence is the debiased Sinkhorn divergence in dual form (Feydy et al. 2019):
	// OT_ε(α,β) − ½OT_ε(α,α) − ½OT_ε(β,β) with OT_ε = ⟨a,f_L⟩ + ⟨b,g_L⟩. At ε = +Inf it is
	// half the MMD of the kernel −c (½|Δmean|² for ½|x−y|², ½ energy distance for |x−y|).
	Divergence Kind = "sinkhorn"
	// Primal is Genevay et al.'s (2018) debiased loss 2⟨P,C⟩_αβ − ⟨P,C⟩_αα − ⟨P,C⟩_ββ with
	// P the plan of the last iterate. At ε = +Inf it is the MMD of the kernel −c.
	Primal Kind = "sinkhorn-primal"
	// Entropic is the plain (biased) OT_ε(α,β) = ⟨a,f_L⟩ + ⟨b,g_L⟩.
	Entropic Kind = "entropic"
	// MMD is the squared MMD with a sum of Gaussian kernels (Bandwidths), Li et al. 2017.
	MMD Kind = "mmd"
	// Energy is the energy distance 2E|X−Y| − E|X−X'| − E|Y−Y'|.
	Energy Kind = "energy"
)

// Kinds lists every loss kind, for help texts and validation.
var Kinds = []Kind{Divergence, Primal, Entropic, MMD, Energy}

// BackwardMode chooses how the Sinkhorn losses are differentiated.
type BackwardMode string

const (
	// Unrolled is the exact derivative of the L iterations actually run, what autograd
	// of the loop gives (Genevay, Peyré, Cuturi 2018). The default.
	Unrolled BackwardMode = "unrolled"
	// Envelope differentiates each OT_ε term at its final potentials as if they had
	// converged (∂OT_ε/∂C = P), ignoring the iterations' dependence on the points.
	Envelope BackwardMode = "envelope"
)

// DefaultBandwidths are MMD-GAN's Gaussian bandwidths (Li et al. 2017).
var DefaultBandwidths = []float64{1, 2, 4, 8, 16}

// Config describes a loss. The zero value of each field means its default.
type Config struct {
	Kind Kind    // default Divergence
	Eps  float64 // ε for the Sinkhorn kinds; +Inf selects the closed-form ε → ∞ limit
	// Iters is L, the number of Sinkhorn iterations (default 50).
	Iters int
	// EpsScaling in (0,1) anneals ε inside each solve: the first iterations run at
	// EpsStart·EpsScaling^k until ε is reached (0 disables it), by the rule of
	// ot.Annealing, which Sinkhorn's EpsScaling shares.
	EpsScaling float64
	// EpsStart is the first ε of the annealing; 0 means the largest cost of the batch
	// (of each Sinkhorn problem: a divergence's three problems anneal from their own).
	EpsStart float64
	Cost     ot.Cost      // ground cost, default ½|x−y|²
	Backward BackwardMode // default Unrolled
	// Bandwidths of the Gaussian mixture for Kind MMD (default DefaultBandwidths).
	Bandwidths []float64
	// DataWeights and GenWeights weight the data and generated points (nil: uniform).
	DataWeights, GenWeights []float64
}

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.Kind == "" {
		c.Kind = Divergence
	}
	if c.Iters == 0 {
		c.Iters = 50
	}
	if c.Backward == "" {
		c.Backward = Unrolled
	}
	if c.Cost == (ot.Cost{}) {
		c.Cost = ot.SqEuclidean
	}
	if c.Kind == MMD && len(c.Bandwidths) == 0 {
		c.Bandwidths = DefaultBandwidths
	}
	switch c.Kind {
	case Divergence, Primal, Entropic:
		if !(c.Eps > 0) {
			return c, fmt.Errorf("losses: eps = %v: must be positive (or +Inf for the MMD limit)", c.Eps)
		}
		if math.IsInf(c.Eps, 1) && c.Kind == Entropic {
			return c, fmt.Errorf("losses: eps = +Inf has no finite limit for the biased kind %q; use %q or %q", c.Kind, Divergence, Primal)
		}
		if c.Iters < 1 {
			return c, fmt.Errorf("losses: iters = %d: need at least one Sinkhorn iteration", c.Iters)
		}
	case MMD, Energy:
	default:
		return c, fmt.Errorf("losses: unknown kind %q (want one of %v)", c.Kind, Kinds)
	}
	if c.Backward != Unrolled && c.Backward != Envelope {
		return c, fmt.Errorf("losses: unknown backward mode %q (want %q or %q)", c.Backward, Unrolled, Envelope)
	}
	if c.EpsScaling != 0 && !(c.EpsScaling > 0 && c.EpsScaling < 1) {
		return c, fmt.Errorf("losses: eps_scaling = %v must lie in (0,1)", c.EpsScaling)
	}
	if c.EpsStart < 0 || math.IsNaN(c.EpsStart) || math.IsInf(c.EpsStart, 0) {
		return c, fmt.Errorf("losses: eps_start = %v must be positive and finite (0: largest cost)", c.EpsStart)
	}
	for i, s := range c.Bandwidths {
		if !(s > 0) || math.IsInf(s, 0) {
			return c, fmt.Errorf("losses: bandwidths[%d] = %v must be positive and finite", i, s)
		}
	}
	return c, nil
}

// schedule returns the Iters values of ε of each solve and its in-solver annealing,
// which the unrolled solvers resolve against the batch's largest cost when EpsStart
// is 0.
func (c Config) schedule() ([]float64, ot.Annealing, error) {
	sched, err := ot.EpsSchedule(c.Eps, c.Iters, 0, 0)
	return sched, ot.Annealing{Scaling: c.EpsScaling, Start: c.EpsStart}, err
}

// sinkhorn reports whether the kind runs Sinkhorn iterations at finite ε.
func (c Config) sinkhorn() bool {
	return (c.Kind == Divergence || c.Kind == Primal || c.Kind == Entropic) && !math.IsInf(c.Eps, 1)
}

// Validate reports the first problem with the configuration (after defaults), naming
// the field, without building a graph.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}
