package losses

import (
	"fmt"
	"math"
)

// Schedule gives ε at each training step, so that training can move between the
// Wasserstein (small ε) and MMD (large ε) ends of the Sinkhorn divergence. It is plain
// data, decodable from a config file.
//
// Kinds: "constant" (Start); "linear", "geometric" and "cosine" ramps from Start at step 0
// to End at step Steps, then End; "step": Values[i] from step Boundaries[i−1] on
// (Values has one entry more than Boundaries). When Start or End is +Inf (the
// closed-form MMD/energy limit), linear and cosine ramps interpolate 1/ε instead of ε,
// so that ε reaches +Inf exactly at step Steps; a geometric ramp cannot reach +Inf.
type Schedule struct {
	Kind       string    `toml:"kind"`
	Start      float64   `toml:"start"`
	End        float64   `toml:"end"`
	Steps      int       `toml:"steps"`
	Values     []float64 `toml:"values"`
	Boundaries []int     `toml:"boundaries"`
}

// Constant is the schedule that keeps ε fixed.
func Constant(eps float64) Schedule { return Schedule{Kind: "constant", Start: eps} }

// Validate reports the first problem with the schedule, a *FieldError naming the
// field "schedule.<key>".
func (s Schedule) Validate() error {
	positive := func(name string, v float64) error {
		if !(v > 0) {
			return bad("schedule."+name, v, "ε must be positive (+Inf for the MMD limit)")
		}
		return nil
	}
	switch s.Kind {
	case "constant":
		return positive("start", s.Start)
	case "linear", "geometric", "cosine":
		if err := positive("start", s.Start); err != nil {
			return err
		}
		if err := positive("end", s.End); err != nil {
			return err
		}
		if s.Steps < 1 {
			return bad("schedule.steps", s.Steps, "a %s ramp needs at least one step", s.Kind)
		}
		if s.Kind == "geometric" && (math.IsInf(s.Start, 1) || math.IsInf(s.End, 1)) {
			return bad("schedule.kind", `"geometric"`, "a geometric ramp cannot reach ε = +Inf; use linear or cosine")
		}
		return nil
	case "step":
		if len(s.Values) != len(s.Boundaries)+1 {
			return bad("schedule.values", s.Values, "%d values for %d boundaries, want one value more", len(s.Values), len(s.Boundaries))
		}
		for i, v := range s.Values {
			if err := positive(fmt.Sprintf("values[%d]", i), v); err != nil {
				return err
			}
		}
		for i, b := range s.Boundaries {
			if b < 1 || (i > 0 && b <= s.Boundaries[i-1]) {
				return bad("schedule.boundaries", s.Boundaries, "must be positive and increasing")
			}
		}
		return nil
	}
	return bad("schedule.kind", fmt.Sprintf("%q", s.Kind), "want constant, linear, geometric, cosine or step")
}

// At returns ε at the given step (0-based). The schedule must be valid.
func (s Schedule) At(step int) float64 {
	switch s.Kind {
	case "constant":
		return s.Start
	case "step":
		i := 0
		for i < len(s.Boundaries) && step >= s.Boundaries[i] {
			i++
		}
		return s.Values[i]
	}
	t := math.Min(math.Max(float64(step)/float64(s.Steps), 0), 1)
	w := t // weight of End
	switch s.Kind {
	case "cosine":
		w = (1 - math.Cos(math.Pi*t)) / 2
	case "geometric":
		return s.Start * math.Pow(s.End/s.Start, t)
	}
	if math.IsInf(s.Start, 1) || math.IsInf(s.End, 1) {
		// interpolate the inverse temperature 1/ε, which is 0 at the MMD end
		inv := (1-w)/s.Start + w/s.End
		if inv == 0 {
			return math.Inf(1)
		}
		return 1 / inv
	}
	return (1-w)*s.Start + w*s.End
}
