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
	// Sliced is the sliced OT cost (1/k) Σ_t OT_c(θ_t#α, θ_t#β) over k random directions
	// θ_t (Projections, redrawn for every batch), s·SW_p^p for the cost s|x−y|^p, p ≥ 1
	// (ot.SlicedWasserstein; Deshpande et al. 2018, Kolouri et al. 2019). It has no ε
	// and needs no iterations.
	Sliced Kind = "sliced"
	// Unbalanced is the unbalanced Sinkhorn divergence with KL marginal penalty Rho
	// (ot.UnbalancedDivergence, Séjourné et al. 2019) after at most Iters iterations,
	// differentiated at its final potentials (Envelope only). Finite ε only.
	Unbalanced Kind = "unbalanced"
	// Hausdorff is the entropic Hausdorff divergence ½⟨α − β, p_β − p_α⟩ of Feydy et al.
	// (2019), GeomLoss's "hausdorff" (ot.Hausdorff): p_μ the symmetric OT_ε(μ,μ)
	// potentials, solved to convergence in at most Iters iterations, differentiated
	// through their fixed point (Implicit, its only backward mode). Between the ICP
	// loss (ε → 0) and, at ε = +Inf, the kernel norm, half the MMD of −c.
	Hausdorff Kind = "hausdorff"
)

// Kinds lists every loss kind, for help texts and validation.
var Kinds = []Kind{Divergence, Primal, Entropic, MMD, Energy, Sliced, Unbalanced, Hausdorff}

// HasEps reports whether the kind has an ε: the Sinkhorn kinds do, MMD, Energy and
// Sliced do not.
func (k Kind) HasEps() bool {
	return k == Divergence || k == Primal || k == Entropic || k == Unbalanced || k == Hausdorff
}

// BackwardMode chooses how the Sinkhorn losses are differentiated.
type BackwardMode string

const (
	// Unrolled is the exact derivative of the L iterations actually run, what autograd
	// of the loop gives (Genevay, Peyré, Cuturi 2018). The default.
	Unrolled BackwardMode = "unrolled"
	// Envelope differentiates each OT_ε term at its final potentials as if they had
	// converged (∂OT_ε/∂C = P), ignoring the iterations' dependence on the points.
	Envelope BackwardMode = "envelope"
	// Implicit differentiates the converged solution: the optimality conditions of each
	// OT_ε term's dual at its final potentials, solved as a linear system by the implicit
	// function theorem (ot.Unrolled.BackwardImplicit, as OTT-JAX's implicit
	// differentiation). For the dual kinds it equals Envelope at convergence; for the
	// primal kind, a function of the plan, it is the exact gradient of the converged
	// loss, which Envelope is not. Sinkhorn kinds at finite ε.
	Implicit BackwardMode = "implicit"
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
	// Bandwidths of the kernel mixture for Kind MMD (default DefaultBandwidths).
	Bandwidths []float64
	// Kernel is Kind MMD's kernel: "gaussian" (default), Σ_σ exp(−|x−y|²/2σ²), or
	// "laplacian", Σ_σ exp(−|x−y|/σ) (GeomLoss's), over Bandwidths.
	Kernel string
	// DataWeights and GenWeights weight the data and generated points (nil: uniform).
	DataWeights, GenWeights []float64
	// Rho is Kind Unbalanced's KL marginal penalty ρ (GeomLoss's reach^p, POT's reg_m),
	// positive; +Inf is the balanced divergence. Required for that kind.
	Rho float64
	// Projections is Kind Sliced's number of directions (default ot.DefaultProjections).
	// They are drawn from a generator seeded by Seed and the data points, so that each
	// batch gets fresh ones while a run stays reproducible.
	Projections int
	Seed        uint64
	// Batch is the number B of pairs of clouds stacked in the data and generated
	// matrices (see batch.go): the loss is the mean of the B pairs' losses, computed in
	// parallel. 0 or 1: one pair.
	Batch int
}

// FieldError is an invalid value of a Config or Schedule field, named by its key in a
// config file ("eps", "schedule.steps", "bandwidths[2]"), so that a caller can put
// its table in front ("loss." + Key).
type FieldError struct {
	Key   string
	Value any
	Why   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("losses: %s = %v: %s", e.Key, e.Value, e.Why) }

func bad(key string, v any, why string, args ...any) error {
	return &FieldError{Key: key, Value: v, Why: fmt.Sprintf(why, args...)}
}

// withDefaults fills zero fields and validates the result; its errors are
// *FieldError.
func (c Config) withDefaults() (Config, error) {
	if c.Kind == "" {
		c.Kind = Divergence
	}
	if c.Iters == 0 {
		c.Iters = 50
	}
	if c.Backward == "" {
		c.Backward = Unrolled
		if c.Kind == Unbalanced {
			c.Backward = Envelope
		}
		if c.Kind == Hausdorff {
			c.Backward = Implicit
		}
	}
	if c.Batch == 0 {
		c.Batch = 1
	}
	if c.Batch < 1 || c.Batch > 1<<20 {
		return c, bad("batch", c.Batch, "must be in [1, %d] pairs", 1<<20)
	}
	if c.Cost == (ot.Cost{}) {
		c.Cost = ot.SqEuclidean
	}
	if c.Kind == MMD && len(c.Bandwidths) == 0 {
		c.Bandwidths = DefaultBandwidths
	}
	if c.Kind == MMD && c.Kernel == "" {
		c.Kernel = "gaussian"
	}
	if c.Kind == MMD && c.Kernel != "gaussian" && c.Kernel != "laplacian" {
		return c, bad("kernel", fmt.Sprintf("%q", c.Kernel), "unknown MMD kernel (want \"gaussian\" or \"laplacian\")")
	}
	if c.Kind == Sliced && c.Projections == 0 {
		c.Projections = ot.DefaultProjections
	}
	if c.Kind == Unbalanced && c.Backward != Envelope && c.Backward != "" {
		return c, bad("backward", fmt.Sprintf("%q", c.Backward), "kind %q is differentiated at its final potentials only; set backward = %q", c.Kind, Envelope)
	}
	if c.Kind == Hausdorff && c.Backward != Implicit {
		return c, bad("backward", fmt.Sprintf("%q", c.Backward), "kind %q is differentiated through its converged potentials only; set backward = %q", c.Kind, Implicit)
	}
	switch c.Kind {
	case Unbalanced:
		if !(c.Rho > 0) {
			return c, bad("rho", c.Rho, "kind %q needs a positive KL marginal penalty ρ (GeomLoss's reach^p; inf: balanced)", c.Kind)
		}
		if math.IsInf(c.Eps, 1) {
			return c, bad("eps", "+Inf", "kind %q has no closed-form ε → ∞ limit here; use a finite ε", c.Kind)
		}
	case Sliced:
		if c.Projections < 1 || c.Projections > 1<<20 {
			return c, bad("projections", c.Projections, "must be in [1, %d]", 1<<20)
		}
		if p := c.Cost.Power; p < 1 {
			return c, bad("cost_power", p, "kind %q needs p ≥ 1 (the sliced cost is s·SW_p^p)", c.Kind)
		}
	}
	switch {
	case c.Kind.HasEps():
		if !(c.Eps > 0) {
			return c, bad("eps", c.Eps, "must be positive (or +Inf for the MMD limit)")
		}
		if math.IsInf(c.Eps, 1) && c.Kind == Entropic {
			return c, bad("eps", "+Inf", "has no finite limit for the biased kind %q; use %q or %q", c.Kind, Divergence, Primal)
		}
		if c.Iters < 1 {
			return c, bad("iters", c.Iters, "need at least one Sinkhorn iteration")
		}
	case c.Kind != MMD && c.Kind != Energy && c.Kind != Sliced:
		return c, bad("kind", fmt.Sprintf("%q", c.Kind), "unknown kind (want one of %v)", Kinds)
	}
	if c.Backward != Unrolled && c.Backward != Envelope && c.Backward != Implicit {
		return c, bad("backward", fmt.Sprintf("%q", c.Backward), "unknown backward mode (want %q, %q or %q)", Unrolled, Envelope, Implicit)
	}
	if c.EpsScaling != 0 && !(c.EpsScaling > 0 && c.EpsScaling < 1) {
		return c, bad("eps_scaling", c.EpsScaling, "must lie in (0,1)")
	}
	if c.EpsStart < 0 || math.IsNaN(c.EpsStart) || math.IsInf(c.EpsStart, 0) {
		return c, bad("eps_start", c.EpsStart, "must be positive and finite (0: largest cost)")
	}
	for i, s := range c.Bandwidths {
		if !(s > 0) || math.IsInf(s, 0) {
			return c, bad(fmt.Sprintf("bandwidths[%d]", i), s, "must be positive and finite")
		}
	}
	return c, nil
}

// WithSchedule returns c at the first step of ε's schedule s (nil: a constant c.Eps)
// and the schedule itself, after validating both, or c with no ε and the zero
// Schedule for a kind without one (s is then ignored). It is where a training
// configuration's ε is checked; its errors are *FieldError.
func (c Config) WithSchedule(s *Schedule) (Config, Schedule, error) {
	kind := c.Kind
	if kind == "" {
		kind = Divergence
	}
	var sched Schedule
	switch {
	case !kind.HasEps():
		c.Eps = 0
	case s != nil:
		if err := s.Validate(); err != nil {
			return c, Schedule{}, err
		}
		sched, c.Eps = *s, s.At(0)
	default:
		sched = Constant(c.Eps)
	}
	if _, err := c.withDefaults(); err != nil {
		return c, Schedule{}, err
	}
	return c, sched, nil
}

// sinkhorn reports whether the kind runs ot's unrolled Sinkhorn iterations at finite ε.
func (c Config) sinkhorn() bool {
	return c.Kind.HasEps() && c.Kind != Unbalanced && c.Kind != Hausdorff && !math.IsInf(c.Eps, 1)
}

// Validate reports the first problem with the configuration (after defaults), a
// *FieldError naming the field, without building a graph.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}
