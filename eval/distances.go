package eval

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/losses"
	"github.com/sinkgen/sinkgen/ot"
)

// DefaultEps is the ε of the evaluation Sinkhorn divergence when DistanceOptions.Eps
// is 0. It suits MNIST in [0,1]^784, where ½|x−y|² between two digits is about 50.
const DefaultEps = 1.0

// DistanceOptions configure Distances. The zero value evaluates everything with the
// defaults.
type DistanceOptions struct {
	// Eps is the ε of the Sinkhorn divergence with cost ½|x−y|² (0: DefaultEps).
	Eps float64
	// Bandwidths of the Gaussian-mixture MMD (nil: losses.DefaultBandwidths, the
	// MMD-GAN bandwidths the MMD loss trains with).
	Bandwidths []float64
	// SkipExact, SkipSinkhorn, SkipMMD, SkipEnergy leave a distance out (its field is
	// then NaN).
	SkipExact, SkipSinkhorn, SkipMMD, SkipEnergy bool
	// Sinkhorn tunes the divergence's solver (nil: stabilized scaling, tolerance 1e-6
	// on the ℓ1 marginal error, ε-scaling from the largest cost).
	Sinkhorn *ot.SinkhornOptions
}

func (o DistanceOptions) withDefaults() (DistanceOptions, error) {
	if o.Eps == 0 {
		o.Eps = DefaultEps
	}
	if !(o.Eps > 0) || math.IsInf(o.Eps, 0) {
		return o, fmt.Errorf("eval: eps = %v: must be positive and finite", o.Eps)
	}
	if o.Bandwidths == nil {
		o.Bandwidths = append([]float64(nil), losses.DefaultBandwidths...)
	}
	if len(o.Bandwidths) == 0 {
		return o, fmt.Errorf("eval: MMD needs at least one bandwidth")
	}
	for i, s := range o.Bandwidths {
		if !(s > 0) || math.IsInf(s, 0) {
			return o, fmt.Errorf("eval: bandwidths[%d] = %v: must be positive and finite", i, s)
		}
	}
	if o.Sinkhorn == nil {
		o.Sinkhorn = &ot.SinkhornOptions{Method: ot.Stabilized, Tol: 1e-6, EpsScaling: 0.5}
	}
	return o, nil
}

// Distances between a generated sample and a reference sample, all with uniform
// weights. Every field is a population quantity estimated from the two samples;
// NaN means skipped.
type Distances struct {
	// OT is the exact optimal transport cost min_P Σ P_ij ½|x_i−y_j|² (network
	// simplex), that is ½W₂², and W2 = √(2·OT) the 2-Wasserstein distance.
	OT float64 `json:"ot"`
	W2 float64 `json:"w2"`
	// ExactOptimal is false when the network simplex hit its pivot cap.
	ExactOptimal bool `json:"exact_optimal"`
	// Sinkhorn is the debiased Sinkhorn divergence S_ε with cost ½|x−y|² at ε = Eps;
	// SinkhornConverged reports whether its three solves met the tolerance.
	Sinkhorn          float64 `json:"sinkhorn"`
	Eps               float64 `json:"eps"`
	SinkhornConverged bool    `json:"sinkhorn_converged"`
	// MMD is the unbiased estimate of the squared MMD with the Gaussian mixture
	// k(x,y) = Σ_σ exp(−|x−y|²/2σ²) over Bandwidths; MMDBiased is the V-statistic
	// (what ot.MMD and the MMD loss compute), ≥ 0 and 0 for identical samples.
	MMD        float64   `json:"mmd"`
	MMDBiased  float64   `json:"mmd_biased"`
	Bandwidths []float64 `json:"bandwidths"`
	// Energy is the unbiased estimate of the energy distance 2E|X−Y| − E|X−X'| −
	// E|Y−Y'|, EnergyBiased its V-statistic (ot.MMD with ot.EnergyKernel).
	Energy       float64 `json:"energy"`
	EnergyBiased float64 `json:"energy_biased"`
	// Seconds is the wall time of each distance ("exact", "sinkhorn", "mmd_energy").
	Seconds map[string]float64 `json:"seconds"`
}

// ComputeDistances computes the distances between the rows of gen and of ref (same
// number of columns, any numbers of rows ≥ 2).
func ComputeDistances(gen, ref *mat.Dense, opt DistanceOptions) (*Distances, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkPair(gen, ref); err != nil {
		return nil, err
	}
	nan := math.NaN()
	d := &Distances{OT: nan, W2: nan, Sinkhorn: nan, MMD: nan, MMDBiased: nan, Energy: nan, EnergyBiased: nan,
		Eps: opt.Eps, Bandwidths: append([]float64(nil), opt.Bandwidths...), Seconds: map[string]float64{}}
	if !opt.SkipExact {
		t0 := time.Now()
		ex, err := ot.ExactPoints(gen, ref, nil, nil, ot.SqEuclidean, nil)
		if err != nil {
			return nil, fmt.Errorf("eval: exact OT: %w", err)
		}
		d.OT, d.W2, d.ExactOptimal = ex.Cost, math.Sqrt(2*math.Max(ex.Cost, 0)), ex.Converged
		d.Seconds["exact"] = time.Since(t0).Seconds()
	}
	if !opt.SkipSinkhorn {
		t0 := time.Now()
		div, err := ot.SinkhornDivergence(gen, ref, nil, nil, ot.SqEuclidean, opt.Eps, &ot.DivergenceOptions{SinkhornOptions: *opt.Sinkhorn})
		if err != nil {
			return nil, fmt.Errorf("eval: Sinkhorn divergence: %w", err)
		}
		d.Sinkhorn, d.SinkhornConverged = div.Value, div.Converged
		d.Seconds["sinkhorn"] = time.Since(t0).Seconds()
	}
	if !opt.SkipMMD || !opt.SkipEnergy {
		t0 := time.Now()
		k, err := kernelSums(gen, ref, opt.Bandwidths)
		if err != nil {
			return nil, err
		}
		if !opt.SkipMMD {
			d.MMD, d.MMDBiased = k.mmd(k.gauss, float64(len(opt.Bandwidths)))
		}
		if !opt.SkipEnergy {
			d.Energy, d.EnergyBiased = k.mmd(k.negDist, 0)
		}
		d.Seconds["mmd_energy"] = time.Since(t0).Seconds()
	}
	return d, nil
}

// checkPair validates two samples for a two-sample statistic.
func checkPair(gen, ref *mat.Dense) error {
	if gen == nil || ref == nil {
		return fmt.Errorf("eval: nil sample")
	}
	n, d := gen.Dims()
	m, e := ref.Dims()
	if d != e {
		return fmt.Errorf("eval: generated samples have %d columns, reference %d", d, e)
	}
	if n < 2 || m < 2 {
		return fmt.Errorf("eval: need at least 2 samples on each side, got %d and %d", n, m)
	}
	for _, s := range []*mat.Dense{gen, ref} {
		r, _ := s.Dims()
		for i := 0; i < r; i++ {
			for _, v := range s.RawRowView(i) {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("eval: sample holds %v", v)
				}
			}
		}
	}
	return nil
}

// sums holds, for two kernels, the sums over the three blocks xx, yy, xy of a
// kernel matrix, the diagonal included: index 0 is the Gaussian mixture, 1 −|x−y|.
type sums struct {
	n, m           float64
	xx, yy, xy     [2]float64
	gauss, negDist int
}

// kernelSums accumulates Σ k over the blocks xx, yy and xy, for the Gaussian mixture
// over bws and for −|x−y|, from the squared distances |x−y|² = 2·(½|x−y|²).
func kernelSums(x, y *mat.Dense, bws []float64) (*sums, error) {
	n, _ := x.Dims()
	m, _ := y.Dims()
	s := &sums{n: float64(n), m: float64(m), gauss: 0, negDist: 1}
	gm := ot.GaussianMixture(bws)
	acc := func(a, b *mat.Dense, dst *[2]float64) error {
		c, err := ot.SqEuclidean.Matrix(a, b)
		if err != nil {
			return fmt.Errorf("eval: distance matrix: %w", err)
		}
		r, _ := c.Dims()
		for i := 0; i < r; i++ {
			var g, e float64
			for _, h := range c.RawRowView(i) {
				d2 := math.Max(2*h, 0)
				k, _ := gm.Eval(d2)
				g += k
				e -= math.Sqrt(d2)
			}
			dst[0] += g
			dst[1] += e
		}
		return nil
	}
	if err := acc(x, x, &s.xx); err != nil {
		return nil, err
	}
	if err := acc(y, y, &s.yy); err != nil {
		return nil, err
	}
	if err := acc(x, y, &s.xy); err != nil {
		return nil, err
	}
	return s, nil
}

// mmd returns the unbiased (U-statistic) and biased (V-statistic) squared MMD of
// kernel kind, whose value on the diagonal is k0.
//
//	V = Σ_xx/n² + Σ_yy/m² − 2Σ_xy/(nm)
//	U = (Σ_xx − n·k0)/(n(n−1)) + (Σ_yy − m·k0)/(m(m−1)) − 2Σ_xy/(nm)
func (s *sums) mmd(kind int, k0 float64) (u, v float64) {
	n, m := s.n, s.m
	cross := 2 * s.xy[kind] / (n * m)
	v = s.xx[kind]/(n*n) + s.yy[kind]/(m*m) - cross
	u = (s.xx[kind]-n*k0)/(n*(n-1)) + (s.yy[kind]-m*k0)/(m*(m-1)) - cross
	return u, v
}
