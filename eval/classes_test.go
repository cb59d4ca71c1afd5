package eval

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func oneHot(classes []int, k int) *mat.Dense {
	p := mat.NewDense(len(classes), k, nil)
	for i, c := range classes {
		p.Set(i, c, 1)
	}
	return p
}

func TestClassMetricsKnownAnswers(t *testing.T) {
	// Balanced, confident predictions: every class covered, KL 0, score K.
	var bal []int
	for i := 0; i < 100; i++ {
		bal = append(bal, i%10)
	}
	s, err := ClassMetrics(oneHot(bal, 10), 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Covered != 10 || math.Abs(s.KLUniform) > 1e-12 || s.MeanConfidence != 1 || math.Abs(s.Score-10) > 1e-9 {
		t.Errorf("balanced: %+v", s)
	}
	// Collapsed: one class, KL log K, score 1.
	s, _ = ClassMetrics(oneHot(make([]int, 50), 10), 0)
	if s.Covered != 1 || math.Abs(s.KLUniform-math.Log(10)) > 1e-12 || math.Abs(s.Score-1) > 1e-12 || s.Histogram[0] != 1 {
		t.Errorf("collapsed: %+v", s)
	}
	// Undecided rows: confidence 1/K, score 1.
	u := mat.NewDense(4, 10, nil)
	for i := 0; i < 4; i++ {
		for j := 0; j < 10; j++ {
			u.Set(i, j, 0.1)
		}
	}
	s, _ = ClassMetrics(u, 0)
	if math.Abs(s.MeanConfidence-0.1) > 1e-12 || math.Abs(s.Score-1) > 1e-12 {
		t.Errorf("uniform rows: %+v", s)
	}
	// Soft predictions; score from numpy: exp(mean Σ p log(p/p̄)).
	p := mat.NewDense(3, 2, []float64{0.9, 0.1, 0.2, 0.8, 0.6, 0.4})
	s, _ = ClassMetrics(p, 0)
	if math.Abs(s.Score-1.2028969155271083) > 1e-12 || math.Abs(s.MeanConfidence-0.7666666666666667) > 1e-12 {
		t.Errorf("soft: score %.16g confidence %.16g", s.Score, s.MeanConfidence)
	}
	if math.Abs(s.Histogram[0]-2.0/3) > 1e-15 || math.Abs(s.KLUniform-(math.Log(2)+2.0/3*math.Log(2.0/3)+1.0/3*math.Log(1.0/3))) > 1e-12 {
		t.Errorf("soft: histogram %v KL %v", s.Histogram, s.KLUniform)
	}
}

// The coverage threshold is MinShare/K of the samples: with 1000 samples and K = 10,
// 20 samples cover a class and 19 do not.
func TestClassCoverageThreshold(t *testing.T) {
	for _, c := range []struct{ last, covered int }{{19, 9}, {20, 10}} {
		cls := make([]int, 1000)
		for i := range cls {
			cls[i] = i % 9
		}
		for i := 0; i < c.last; i++ {
			cls[i] = 9
		}
		s, err := ClassMetrics(oneHot(cls, 10), 0.2)
		if err != nil {
			t.Fatal(err)
		}
		if s.Covered != c.covered {
			t.Errorf("%d samples in the last class: %d covered, want %d", c.last, s.Covered, c.covered)
		}
	}
	if _, err := ClassMetrics(mat.NewDense(2, 3, []float64{0.5, 0.5, 0.5, 1, 0, 0}), 0); err == nil {
		t.Error("rows not summing to 1 accepted")
	}
	if _, err := ClassMetrics(oneHot([]int{0}, 2), 1.5); err == nil {
		t.Error("min share 1.5 accepted")
	}
}
