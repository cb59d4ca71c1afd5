package eval

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Gaussian is the mean and covariance of a sample of feature vectors.
type Gaussian struct {
	Mean []float64
	Cov  *mat.SymDense
}

// FitGaussian returns the sample mean and the unbiased sample covariance
// (1/(n−1) Σ (x_i−μ)(x_i−μ)ᵀ, numpy.cov's default) of the rows of x (n ≥ 2).
func FitGaussian(x *mat.Dense) (Gaussian, error) {
	if x == nil {
		return Gaussian{}, fmt.Errorf("eval: nil sample")
	}
	n, d := x.Dims()
	if n < 2 {
		return Gaussian{}, fmt.Errorf("eval: a covariance needs at least 2 samples, got %d", n)
	}
	mu := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range x.RawRowView(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return Gaussian{}, fmt.Errorf("eval: sample row %d holds %v", i, v)
			}
			mu[j] += v
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	c := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		row, src := c.RawRowView(i), x.RawRowView(i)
		for j := range row {
			row[j] = src[j] - mu[j]
		}
	}
	cov := mat.NewSymDense(d, nil)
	cov.SymOuterK(1/float64(n-1), c.T())
	return Gaussian{Mean: mu, Cov: cov}, nil
}

// FrechetDistance is the squared Fréchet (2-Wasserstein) distance between the
// Gaussians N(μ₁,Σ₁) and N(μ₂,Σ₂) (Dowson & Landau 1982):
//
//	|μ₁−μ₂|² + tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½)
//
// the FID of Heusel et al. (2017) when the Gaussians are fitted to network features.
// The square roots come from symmetric eigendecompositions (mat.EigenSym) with
// eigenvalues below zero, which only rounding produces for covariance matrices,
// clipped to zero; a result within rounding of zero is returned as 0. Near 0 the
// absolute accuracy is about d·1e-8·(tr Σ₁ + tr Σ₂), the square root of rounding.
func FrechetDistance(a, b Gaussian) (float64, error) {
	d := len(a.Mean)
	if len(b.Mean) != d || a.Cov == nil || b.Cov == nil || a.Cov.SymmetricDim() != d || b.Cov.SymmetricDim() != d {
		return 0, fmt.Errorf("eval: Fréchet distance between Gaussians of different or inconsistent dimensions")
	}
	var mean float64
	for i := range a.Mean {
		dm := a.Mean[i] - b.Mean[i]
		mean += dm * dm
	}
	sa, err := sqrtSym(a.Cov)
	if err != nil {
		return 0, err
	}
	// M = Σ₁^½ Σ₂ Σ₁^½, symmetric positive semi-definite; tr M^½ = Σ √λ(M).
	var t, m mat.Dense
	t.Mul(sa, b.Cov)
	m.Mul(&t, sa)
	ms := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			ms.SetSym(i, j, 0.5*(m.At(i, j)+m.At(j, i)))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(ms, false) {
		return 0, fmt.Errorf("eval: Fréchet distance: eigendecomposition failed")
	}
	var trSqrt float64
	for _, l := range eig.Values(nil) {
		if l > 0 {
			trSqrt += math.Sqrt(l)
		}
	}
	tra, trb := mat.Trace(a.Cov), mat.Trace(b.Cov)
	fd := mean + tra + trb - 2*trSqrt
	if fd < 0 {
		// Only rounding makes it negative: tr(Σ₁+Σ₂−2(…)^½) ≥ 0 for PSD matrices. The
		// square root of an eigenvalue that should be 0 but is δ ≈ 1e-16·|M| adds √δ,
		// so near zero the result is only good to about d·1e-8·(tr Σ₁ + tr Σ₂).
		if fd < -1e-7*float64(d)*(1+tra+trb) {
			return 0, fmt.Errorf("eval: Fréchet distance %v is negative beyond rounding (covariances not PSD?)", fd)
		}
		fd = 0
	}
	return fd, nil
}

// sqrtSym returns the PSD square root V·diag(√max(λ,0))·Vᵀ of a symmetric matrix.
func sqrtSym(s *mat.SymDense) (*mat.SymDense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, fmt.Errorf("eval: matrix square root: eigendecomposition failed")
	}
	vals := eig.Values(nil)
	var v mat.Dense
	eig.VectorsTo(&v)
	d := len(vals)
	scaled := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			scaled.Set(i, j, v.At(i, j)*math.Sqrt(math.Sqrt(math.Max(vals[j], 0))))
		}
	}
	out := mat.NewSymDense(d, nil)
	// out = (V·Λ^¼)(V·Λ^¼)ᵀ = V·Λ^½·Vᵀ
	out.SymOuterK(1, scaled)
	return out, nil
}
