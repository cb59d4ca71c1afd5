package losses

import (
	"math"
	"testing"
)

func TestScheduleAt(t *testing.T) {
	inf := math.Inf(1)
	cases := []struct {
		s    Schedule
		step int
		want float64
	}{
		{Constant(0.3), 1000, 0.3},
		{Schedule{Kind: "linear", Start: 1, End: 0.1, Steps: 10}, 5, 0.55},
		{Schedule{Kind: "linear", Start: 1, End: 0.1, Steps: 10}, 50, 0.1},
		{Schedule{Kind: "geometric", Start: 1, End: 0.01, Steps: 4}, 2, 0.1},
		{Schedule{Kind: "cosine", Start: 1, End: 0, Steps: 2}.withEnd(0.5), 1, 0.75},
		{Schedule{Kind: "linear", Start: 1, End: inf, Steps: 4}, 2, 2},
		{Schedule{Kind: "linear", Start: 1, End: inf, Steps: 4}, 4, inf},
		{Schedule{Kind: "linear", Start: inf, End: 0.5, Steps: 4}, 0, inf},
		{Schedule{Kind: "linear", Start: inf, End: 0.5, Steps: 4}, 2, 1},
		{Schedule{Kind: "cosine", Start: 2, End: inf, Steps: 2}, 1, 4},
		{Schedule{Kind: "step", Values: []float64{1, 0.1, inf}, Boundaries: []int{10, 20}}, 9, 1},
		{Schedule{Kind: "step", Values: []float64{1, 0.1, inf}, Boundaries: []int{10, 20}}, 10, 0.1},
		{Schedule{Kind: "step", Values: []float64{1, 0.1, inf}, Boundaries: []int{10, 20}}, 25, inf},
	}
	for _, c := range cases {
		if err := c.s.Validate(); err != nil {
			t.Fatalf("%+v: %v", c.s, err)
		}
		if got := c.s.At(c.step); math.Abs(got-c.want) > 1e-12*math.Abs(c.want) && got != c.want {
			t.Errorf("%+v at %d = %v, want %v", c.s, c.step, got, c.want)
		}
	}
}

func (s Schedule) withEnd(e float64) Schedule { s.End = e; return s }

func TestScheduleValidate(t *testing.T) {
	for _, s := range []Schedule{
		{Kind: "exponential"},
		{Kind: "constant", Start: 0},
		{Kind: "linear", Start: 1, End: 0.1},
		{Kind: "geometric", Start: 1, End: math.Inf(1), Steps: 3},
		{Kind: "step", Values: []float64{1, 2}, Boundaries: []int{5, 6}},
		{Kind: "step", Values: []float64{1, 2, 3}, Boundaries: []int{6, 5}},
		{Kind: "linear", Start: -1, End: 1, Steps: 3},
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
