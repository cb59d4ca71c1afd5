package losses

import (
	"errors"
	"math"
	"testing"

	"github.com/sinkgen/sinkgen/ot"
)

// Every invalid field is a *FieldError naming the field by its config key, so that a
// caller can name its table in front of it.
func TestFieldErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		sched *Schedule
		key   string
	}{
		{Config{Eps: -1}, nil, "eps"},
		{Config{Kind: Entropic, Eps: math.Inf(1)}, nil, "eps"},
		{Config{Kind: "wasserstein", Eps: 1}, nil, "kind"},
		{Config{Eps: 1, Backward: "magic"}, nil, "backward"},
		{Config{Eps: 1, EpsScaling: 2}, nil, "eps_scaling"},
		{Config{Eps: 1, EpsStart: -1}, nil, "eps_start"},
		{Config{Kind: MMD, Bandwidths: []float64{1, -1}}, nil, "bandwidths[1]"},
		{Config{Eps: 1}, &Schedule{Kind: "linear", Start: 1, End: 0.1}, "schedule.steps"},
		{Config{Eps: 1}, &Schedule{Kind: "geometric", Start: 1, End: math.Inf(1), Steps: 3}, "schedule.kind"},
		{Config{Eps: 1}, &Schedule{Kind: "step", Values: []float64{1}, Boundaries: []int{4}}, "schedule.values"},
		{Config{Kind: Entropic, Eps: 1}, &Schedule{Kind: "constant", Start: math.Inf(1)}, "eps"}, // ε at step 0
		{Config{Kind: Unbalanced, Eps: 1}, nil, "rho"},
		{Config{Kind: Unbalanced, Eps: 1, Rho: -1}, nil, "rho"},
		{Config{Kind: Unbalanced, Eps: math.Inf(1), Rho: 1}, nil, "eps"},
		{Config{Kind: Unbalanced, Eps: 1, Rho: 1, Backward: Unrolled}, nil, "backward"},
		{Config{Kind: Sliced, Projections: -2}, nil, "projections"},
		{Config{Kind: Sliced, Cost: ot.Cost{Power: 0.5, Scale: 1}}, nil, "cost_power"},
	} {
		_, _, err := tc.cfg.WithSchedule(tc.sched)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Key != tc.key {
			t.Errorf("%+v %+v: error %v, want a FieldError of %s", tc.cfg, tc.sched, err, tc.key)
		}
	}
}

// WithSchedule: a schedule overrides Eps and gives ε at step 0; without one ε is
// constant; a kind without ε has none, and its schedule is ignored.
func TestWithSchedule(t *testing.T) {
	s := &Schedule{Kind: "linear", Start: 4, End: 1, Steps: 3}
	c, got, err := Config{Eps: 0.5}.WithSchedule(s)
	if err != nil || c.Eps != 4 || got.Kind != s.Kind || got.At(3) != 1 {
		t.Errorf("schedule: %+v %+v %v", c, got, err)
	}
	c, got, err = Config{Kind: Primal, Eps: 0.5}.WithSchedule(nil)
	if err != nil || c.Eps != 0.5 || got.At(7) != 0.5 {
		t.Errorf("constant: %+v %+v %v", c, got, err)
	}
	for _, k := range []Kind{MMD, Energy, Sliced} {
		if k.HasEps() {
			t.Errorf("%s has an ε", k)
		}
		c, got, err = Config{Kind: k, Eps: -3}.WithSchedule(&Schedule{Kind: "bogus"})
		if err != nil || c.Eps != 0 || got.Kind != "" {
			t.Errorf("%s: %+v %+v %v", k, c, got, err)
		}
	}
	for _, k := range []Kind{Divergence, Primal, Entropic, Unbalanced} {
		if !k.HasEps() {
			t.Errorf("%s has no ε", k)
		}
	}
}
