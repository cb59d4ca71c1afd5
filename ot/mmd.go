package ot

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// Kernel is a radial kernel k(x,y) = κ(|x−y|²) for MMD.
type Kernel interface {
	// Eval returns κ(d2) and its derivative κ'(d2) with respect to d2.
	Eval(d2 float64) (k, dk float64)
}

// GaussianMixture is k(x,y) = Σ_σ exp(−|x−y|²/(2σ²)), the sum over bandwidths used by
// MMD-GAN (Li et al. 2017). One bandwidth gives the Gaussian kernel.
type GaussianMixture []float64

// Eval implements Kernel.
func (g GaussianMixture) Eval(d2 float64) (k, dk float64) {
	for _, s := range g {
		e := math.Exp(-d2 / (2 * s * s))
		k += e
		dk -= e / (2 * s * s)
	}
	return k, dk
}

// LaplacianMixture is k(x,y) = Σ_σ exp(−|x−y|/σ), GeomLoss's "laplacian" kernel (one
// bandwidth σ, its blur) summed over bandwidths like GaussianMixture.
type LaplacianMixture []float64

// Eval implements Kernel. The kernel has a cusp at x = y: at d2 = 0 it returns the zero
// subgradient, as EnergyKernel does.
func (l LaplacianMixture) Eval(d2 float64) (k, dk float64) {
	r := math.Sqrt(d2)
	for _, s := range l {
		e := math.Exp(-r / s)
		k += e
		if r > 0 {
			dk -= e / (2 * s * r) // d/d(d2) of exp(−√d2/σ)
		}
	}
	return k, dk
}

// EnergyKernel is k(x,y) = −|x−y|, for which MMD² is the energy distance
// 2E|X−Y| − E|X−X'| − E|Y−Y'| (Székely & Rizzo 2013).
type EnergyKernel struct{}

// Eval implements Kernel. At d2 = 0 it returns the zero subgradient.
func (EnergyKernel) Eval(d2 float64) (k, dk float64) {
	if d2 == 0 {
		return 0, 0
	}
	r := math.Sqrt(d2)
	return -r, -0.5 / r
}

// MMDOptions tunes MMD. A nil *MMDOptions means all defaults.
type MMDOptions struct {
	// Grad asks for the gradients in the result.
	Grad bool
}

// MMDResult is the output of MMD, a closed form: no iterations, no marginals.
type MMDResult struct {
	// Value is the squared MMD.
	Value float64
	// Grad holds the gradients with respect to x, y, a and b when MMDOptions.Grad is set.
	Grad *Gradients
}

// MMD returns the biased (V-statistic) squared maximum mean discrepancy
// aᵀK_xx a + bᵀK_yy b − 2aᵀK_xy b between (x, a) and (y, b), and its gradients when
// opts ask for them. nil weights mean uniform; EnergyKernel gives the energy distance. The kernel matrices are never stored: the
// sums run over blocks of rows, so the memory is that of the points and gradients
// plus one block (see mmdBlockEntries), whatever n and m. A value or gradient that is
// not finite (a kernel that overflows) is an error.
func MMD(x, y *mat.Dense, a, b []float64, k Kernel, opts *MMDOptions) (*MMDResult, error) {
	grad := opts != nil && opts.Grad
	if k == nil {
		return nil, invalid("mmd: nil kernel")
	}
	var bw []float64
	mixture := true
	switch g := k.(type) {
	case GaussianMixture:
		bw = g
	case LaplacianMixture:
		bw = g
	default:
		mixture = false
	}
	if mixture {
		if len(bw) == 0 {
			return nil, invalid("mmd: %T has no bandwidth", k)
		}
		for i, s := range bw {
			if !(s > 0) || math.IsInf(s, 0) {
				return nil, invalid("mmd: bandwidth[%d] = %v must be positive and finite", i, s)
			}
		}
	}
	if err := pointPair(x, y); err != nil {
		return nil, err
	}
	n, d := x.Dims()
	m, _ := y.Dims()
	a, err := weights("a", a, n)
	if err != nil {
		return nil, err
	}
	if b, err = weights("b", b, m); err != nil {
		return nil, err
	}
	var gr *Gradients
	if grad {
		gr = &Gradients{X: mat.NewDense(n, d, nil), Y: mat.NewDense(m, d, nil), A: make([]float64, n), B: make([]float64, m)}
	}
	var gx, gy *mat.Dense
	var ga, gb []float64
	if grad {
		gx, gy, ga, gb = gr.X, gr.Y, gr.A, gr.B
	}
	v := kernelTerm(x, x, a, a, k, 1, gx, gx, ga, ga) +
		kernelTerm(y, y, b, b, k, 1, gy, gy, gb, gb) +
		kernelTerm(x, y, a, b, k, -2, gx, gy, ga, gb)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, outOfRange("mmd: the value is %v: kernel %T overflows float64 on these points", v, k)
	}
	if grad {
		for _, g := range []struct {
			name string
			v    []float64
		}{{"x", gr.X.RawMatrix().Data}, {"y", gr.Y.RawMatrix().Data}, {"a", gr.A}, {"b", gr.B}} {
			if !allFinite(g.v) {
				return nil, outOfRange("mmd: the gradient with respect to %s is not finite: kernel %T overflows float64 on these points", g.name, k)
			}
		}
	}
	return &MMDResult{Value: v, Grad: gr}, nil
}

// sqDist is the cost |x−y|², whose x-gradient 2(x−y) carries the kernels' chain rule.
var sqDist = Cost{Power: 2, Scale: 1}

// mmdBlockEntries bounds the kernel block kernelTerm holds (32 MiB): enough rows for
// the products to run at full speed, independent of the number of points. A variable
// only so that tests can exercise many blocks.
var mmdBlockEntries = 1 << 22

// kernelTerm returns w·Σ_ij a_i b_j k(x_i, y_j) and, when gx is not nil, adds its
// gradients to gx, gy (points) and ga, gb (weights). x and y may be the same matrix
// (then so are the gradient destinations). It runs over blocks of rows of x: each
// block's distances come from one product, |x_i|² + |y_j|² − 2x_i·y_j, and its point
// gradients Σ_j W_ij·2(x_i − y_j), W_ij = w a_i b_j κ'(|x_i−y_j|²), from the
// plan-gradient products, with W stored over the distances.
func kernelTerm(x, y *mat.Dense, a, b []float64, k Kernel, w float64, gx, gy *mat.Dense, ga, gb []float64) float64 {
	n, d := x.Dims()
	m, _ := y.Dims()
	sym := x == y
	nx := rowSqNorms(x)
	ny := nx
	if !sym {
		ny = rowSqNorms(y)
	}
	rows := max(1, min(n, mmdBlockEntries/m))
	buf := parallel.Float64.Get(rows * m) // every entry of a block is written by the product
	defer parallel.Float64.Put(buf)
	total := 0.0
	totals := make([]float64, parallel.MaxBlocks())
	gbs := blockVectors(m)
	for lo := 0; lo < n; lo += rows {
		hi := min(lo+rows, n)
		xb := x.Slice(lo, hi, 0, d).(*mat.Dense)
		D := mat.NewDense(hi-lo, m, buf[:(hi-lo)*m])
		mulNT(D, xb, y)
		clear(totals)
		parallel.For(hi-lo, m, func(blk, rlo, rhi int) {
			for r := rlo; r < rhi; r++ {
				i := lo + r
				row := D.RawRowView(r)
				for j, v := range row {
					d2 := nx[i] + ny[j] - 2*v
					if d2 < 0 || (sym && i == j) {
						d2 = 0
					}
					kv, dk := k.Eval(d2)
					totals[blk] += a[i] * b[j] * kv
					if gx != nil {
						ga[i] += w * b[j] * kv
						gbs[blk][j] += w * a[i] * kv
						row[j] = w * a[i] * b[j] * dk
					}
				}
			}
		})
		total += floats.Sum(totals)
		if gx != nil {
			addPlanGrad(gx.Slice(lo, hi, 0, d).(*mat.Dense), 1, xb, y, D, sqDist)
			addPlanGrad(gy, 1, y, xb, D.T(), sqDist)
		}
	}
	if gx != nil {
		sumBlocks(gb, gbs)
	}
	return w * total
}

// CostKernel is the conditionally negative-definite kernel k(x,y) = −c(x,y). With it MMD
// is the ε → ∞ limit of Genevay et al.'s debiased primal loss, and half of it that of the
// Sinkhorn divergence (Feydy et al. 2019): for c = |x−y| the energy distance, for
// c = ½|x−y|² the squared distance between the means.
type CostKernel struct{ Cost Cost }

// Eval implements Kernel; where the derivative is undefined (d2 = 0, p < 2) it is 0.
func (k CostKernel) Eval(d2 float64) (kv, dk float64) {
	c := k.Cost.orDefault()
	kv = -c.fromSq(d2)
	switch {
	case c.Power == 2:
		dk = -c.Scale
	case d2 > 0:
		dk = -c.Scale * c.Power / 2 * math.Pow(d2, c.Power/2-1)
	}
	return kv, dk
}
