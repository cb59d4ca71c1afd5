package eval

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// DefaultMinShare is the coverage threshold: a class (or mode) counts as covered
// when it receives at least this fraction of its expected share of the samples
// (PacGAN's rule: 20 of the 100 samples a mode expects out of 2500).
const DefaultMinShare = 0.2

// ClassStats summarize a classifier's predictions on a sample.
type ClassStats struct {
	// Histogram is the fraction of samples whose most probable class is c.
	Histogram []float64 `json:"histogram"`
	// Covered counts the classes holding at least MinShare/K of the samples.
	Covered  int     `json:"covered"`
	MinShare float64 `json:"min_share"`
	// KLUniform is KL(Histogram ‖ uniform) = log K − H(Histogram), in nats: 0 for
	// balanced classes, log K when every sample is one class.
	KLUniform float64 `json:"kl_uniform"`
	// MeanConfidence is the mean over samples of the largest class probability.
	MeanConfidence float64 `json:"mean_confidence"`
	// Score is the classifier score exp(E_x KL(p(y|x) ‖ p(y))) (the Inception score of
	// Salimans et al. 2016 with this classifier), between 1 and K: K for confident,
	// balanced predictions.
	Score float64 `json:"score"`
}

// ClassMetrics computes ClassStats from class probabilities (one row per sample,
// rows summing to 1). minShare 0 means DefaultMinShare.
func ClassMetrics(probs *mat.Dense, minShare float64) (*ClassStats, error) {
	if probs == nil {
		return nil, fmt.Errorf("eval: nil probabilities")
	}
	if minShare == 0 {
		minShare = DefaultMinShare
	}
	if !(minShare > 0 && minShare <= 1) {
		return nil, fmt.Errorf("eval: min share %v must lie in (0,1]", minShare)
	}
	n, k := probs.Dims()
	if n == 0 || k < 2 {
		return nil, fmt.Errorf("eval: class metrics of %d samples over %d classes", n, k)
	}
	s := &ClassStats{Histogram: make([]float64, k), MinShare: minShare}
	marginal := make([]float64, k)
	var conf, condEnt float64
	for i := 0; i < n; i++ {
		r := probs.RawRowView(i)
		sum := 0.0
		for _, p := range r {
			if !(p >= 0 && p <= 1) {
				return nil, fmt.Errorf("eval: probability %v in row %d", p, i)
			}
			sum += p
		}
		if math.Abs(sum-1) > 1e-6 {
			return nil, fmt.Errorf("eval: probabilities of row %d sum to %v", i, sum)
		}
		b := argmax(r)
		s.Histogram[b]++
		conf += r[b]
		for c, p := range r {
			marginal[c] += p
			if p > 0 {
				condEnt -= p * math.Log(p)
			}
		}
	}
	var h, margEnt float64
	for c := range s.Histogram {
		s.Histogram[c] /= float64(n)
		if f := s.Histogram[c]; f > 0 {
			h -= f * math.Log(f)
		}
		if s.Histogram[c] >= minShare/float64(k) {
			s.Covered++
		}
		if m := marginal[c] / float64(n); m > 0 {
			margEnt -= m * math.Log(m)
		}
	}
	s.KLUniform = math.Max(0, math.Log(float64(k))-h)
	s.MeanConfidence = conf / float64(n)
	// E_x KL(p(y|x) ‖ p(y)) = H(p(y)) − E_x H(p(y|x)).
	s.Score = math.Exp(math.Max(0, margEnt-condEnt/float64(n)))
	return s, nil
}
