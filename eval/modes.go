package eval

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Modes describes a mixture of isotropic Gaussians N(c_k, σ²I), the ground truth of
// the toy 2-D distributions (data.Ring, data.Grid).
type Modes struct {
	Centres [][]float64 // K centres of equal dimension
	Sigma   float64     // standard deviation of each component
	Weights []float64   // mixture weights (nil: uniform)
}

// ModeStats are the mode-collapse metrics of VEEGAN (Srivastava et al. 2017) and
// PacGAN (Lin et al. 2018).
type ModeStats struct {
	Modes int `json:"modes"`
	// Covered counts the modes that received at least MinShare of the high-quality
	// samples they expect, MinShare·n·w_k.
	Covered  int     `json:"covered"`
	MinShare float64 `json:"min_share"`
	// HighQuality is the fraction of samples within Radius·σ of their nearest centre.
	HighQuality float64 `json:"high_quality"`
	Radius      float64 `json:"radius_sigmas"`
	// Counts is the number of high-quality samples per mode.
	Counts []int `json:"counts"`
	// KL is KL(h ‖ w) between the high-quality samples' mode histogram h and the
	// mixture weights w, in nats (NaN when no sample is high quality).
	KL float64 `json:"kl"`
}

// ModeCoverage assigns each sample (a row of samples) to its nearest centre and
// counts it as high quality when it lies within radius·σ of it (radius 0: 3, the
// usual rule); minShare 0 means DefaultMinShare.
func ModeCoverage(samples *mat.Dense, m Modes, radius, minShare float64) (*ModeStats, error) {
	if samples == nil {
		return nil, fmt.Errorf("eval: nil samples")
	}
	n, d := samples.Dims()
	k := len(m.Centres)
	if n == 0 || k == 0 {
		return nil, fmt.Errorf("eval: mode coverage of %d samples over %d modes", n, k)
	}
	for i, c := range m.Centres {
		if len(c) != d {
			return nil, fmt.Errorf("eval: centre %d has dimension %d, samples %d", i, len(c), d)
		}
	}
	if !(m.Sigma > 0) || math.IsInf(m.Sigma, 0) {
		return nil, fmt.Errorf("eval: mode σ = %v must be positive and finite", m.Sigma)
	}
	w := m.Weights
	if w == nil {
		w = make([]float64, k)
		for i := range w {
			w[i] = 1 / float64(k)
		}
	}
	if len(w) != k {
		return nil, fmt.Errorf("eval: %d mode weights for %d modes", len(w), k)
	}
	sum := 0.0
	for _, v := range w {
		if !(v > 0) {
			return nil, fmt.Errorf("eval: mode weights %v must be positive", w)
		}
		sum += v
	}
	if math.Abs(sum-1) > 1e-9 {
		return nil, fmt.Errorf("eval: mode weights sum to %v, not 1", sum)
	}
	if radius == 0 {
		radius = 3
	}
	if minShare == 0 {
		minShare = DefaultMinShare
	}
	if !(radius > 0) || !(minShare > 0 && minShare <= 1) {
		return nil, fmt.Errorf("eval: radius %v and min share %v must be positive (share ≤ 1)", radius, minShare)
	}
	s := &ModeStats{Modes: k, MinShare: minShare, Radius: radius, Counts: make([]int, k)}
	r2 := radius * radius * m.Sigma * m.Sigma
	hq := 0
	for i := 0; i < n; i++ {
		x := samples.RawRowView(i)
		best, bd := -1, math.Inf(1)
		for c, ctr := range m.Centres {
			d2 := 0.0
			for j := range x {
				d2 += (x[j] - ctr[j]) * (x[j] - ctr[j])
			}
			if d2 < bd {
				best, bd = c, d2
			}
		}
		if bd <= r2 {
			s.Counts[best]++
			hq++
		}
	}
	s.HighQuality = float64(hq) / float64(n)
	s.KL = math.NaN()
	if hq > 0 {
		s.KL = 0
		for c, cnt := range s.Counts {
			if cnt > 0 {
				h := float64(cnt) / float64(hq)
				s.KL += h * math.Log(h/w[c])
			}
		}
		s.KL = math.Max(0, s.KL)
	}
	for c, cnt := range s.Counts {
		if float64(cnt) >= minShare*float64(n)*w[c] {
			s.Covered++
		}
	}
	return s, nil
}
