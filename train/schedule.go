package train

import (
	"slices"

	"github.com/sinkgen/sinkgen/losses"
)

// phase is a part of a run with a training graph and a generator optimizer of its own.
type phase int

const (
	// mainPhase trains on [loss] (on the critic's features with a critic), with
	// [optimizer], or after pre-training with [adversarial.finetune_optimizer].
	mainPhase phase = iota
	// pretrainPhase is the first adversarial.pretrain_steps steps of a run with a
	// critic: the fixed cost's loss between the points, with [optimizer].
	pretrainPhase
)

// schedule answers, for a generator step, what applies to it: the phase (graph and
// generator optimizer), the learning rates, ε and the number of critic updates before
// it. It is the one place that knows how a run's steps are divided.
type schedule struct {
	cfg Config
	// lengths are the run's steps, and their changes by resumes: the learning rates
	// continue from the rate they had reached when a resume changes steps.
	lengths []runLength
	eps     [2]losses.Schedule // ε of each phase's loss
	hasEps  [2]bool            // whether the phase's loss has an ε
}

// stepPlan is what applies to one generator step.
type stepPlan struct {
	phase       phase
	lr          float64 // the generator's learning rate
	eps         float64 // ε of the phase's loss (0: it has none)
	criticSteps int     // critic updates before the step
	criticLR    float64
	criticEps   float64 // ε of the critic's loss, [loss]'s (0: it has none)
}

// newSchedule returns the schedule of a run of cfg, which has been validated.
func newSchedule(cfg Config) schedule {
	s := schedule{cfg: cfg, lengths: []runLength{{0, cfg.Steps}}}
	for p, lc := range map[phase]LossConfig{mainPhase: cfg.Loss, pretrainPhase: cfg.pretrainLoss()} {
		_, s.eps[p], _ = lc.Losses("loss.")
		s.hasEps[p] = losses.Kind(lc.Kind).HasEps()
	}
	return s
}

// at returns what applies to generator step step (0-based).
func (s schedule) at(step int) stepPlan {
	p := s.phaseOf(step)
	a := s.cfg.Adversarial
	plan := stepPlan{phase: p, lr: s.generatorLR(step), eps: s.epsAt(p, step), criticSteps: a.CriticSteps,
		criticLR: s.criticLR(step), criticEps: s.epsAt(mainPhase, step)}
	// critic updates: none while pre-training, then the schedule counted from the
	// adversarial phase's start
	switch k := step - a.PretrainSteps; {
	case !s.cfg.adversarial() || k < 0:
		plan.criticSteps = 0
	case a.Schedule == "mmdgan" && (k < 25 || k%500 == 0):
		plan.criticSteps = 100
	}
	return plan
}

// epsAt is ε of phase p's loss at step step (0: it has none).
func (s schedule) epsAt(p phase, step int) float64 {
	if !s.hasEps[p] {
		return 0
	}
	return s.eps[p].At(step)
}

// phaseOf returns the phase of generator step step (0-based; −1 for what precedes the
// first step, the phase whose optimizer a checkpoint of step 0 holds).
func (s schedule) phaseOf(step int) phase {
	if s.cfg.adversarial() && step < s.cfg.Adversarial.PretrainSteps {
		return pretrainPhase
	}
	return mainPhase
}

// pretrains reports whether the run has a pre-training phase.
func (s schedule) pretrains() bool { return s.phaseOf(0) == pretrainPhase }

// optimizer returns the configuration of the generator's optimizer in phase p.
func (s schedule) optimizer(p phase) OptimizerConfig {
	if p == mainPhase && s.pretrains() {
		return s.cfg.Adversarial.FinetuneOptimizer
	}
	return s.cfg.Optimizer
}

// generatorLR is the generator's learning rate at step step (0-based): with
// pre-training, [optimizer]'s schedule over its steps, then the fine-tuning one's over
// the rest.
func (s schedule) generatorLR(step int) float64 {
	if p := s.cfg.Adversarial.PretrainSteps; s.pretrains() {
		if step < p {
			return s.cfg.Optimizer.lrAt(step, p)
		}
		return s.cfg.Adversarial.FinetuneOptimizer.lrRun(step, p, s.lengths)
	}
	return s.cfg.Optimizer.lrRun(step, 0, s.lengths)
}

// criticLR is the critic's learning rate before generator step step (0-based): its
// schedule spans the adversarial phase.
func (s schedule) criticLR(step int) float64 {
	p := s.cfg.Adversarial.PretrainSteps
	return s.cfg.Adversarial.Optimizer.lrRun(max(step, p), p, s.lengths)
}

// resumed continues the schedule from a checkpoint of step step, whose run had
// lengths saved (none: it never changed) and savedSteps steps, in a run of s.cfg.Steps:
// a change of steps continues the learning rates from where they are.
func (s *schedule) resumed(step int, saved []runLength, savedSteps int) {
	s.lengths = saved
	if len(s.lengths) == 0 {
		s.lengths = []runLength{{0, savedSteps}}
	}
	if s.lengths[len(s.lengths)-1].Steps != s.cfg.Steps {
		// a change at this same step replaces the previous one, which never took effect
		s.lengths = slices.DeleteFunc(slices.Clone(s.lengths), func(l runLength) bool { return l.From == step })
		s.lengths = append(s.lengths, runLength{step, s.cfg.Steps})
	}
}
