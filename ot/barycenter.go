package ot

import (
	"fmt"
	"math"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// BarycenterMethod selects how Barycenter iterates.
type BarycenterMethod int

const (
	// BarycenterAuto runs BarycenterScaling and, should the kernel products underflow
	// (small ε), continues in the log domain from the last finite iterate.
	BarycenterAuto BarycenterMethod = iota
	// BarycenterScaling iterates the scalings u_k, v_k of P_k = diag(u_k) K diag(v_k)
	// by kernel products (POT's method="sinkhorn"). Cheapest; fails for small ε.
	BarycenterScaling
	// BarycenterLog iterates the potentials ε log u_k, ε log v_k by log-sum-exp
	// reductions (POT's method="sinkhorn_log"): finite for any ε > 0. Each reduction
	// is a kernel product of shifted exponentials, exact to rounding, with an exact
	// log-sum-exp for the entries where that product underflows, so it costs about
	// as much as the scaling domain while ε is moderate.
	BarycenterLog
)

func (m BarycenterMethod) String() string {
	switch m {
	case BarycenterAuto:
		return "auto"
	case BarycenterScaling:
		return "scaling"
	case BarycenterLog:
		return "log"
	}
	return "unknown"
}

// Defaults of BarycenterOptions.
const (
	DefaultBarycenterMaxIter = 10000
	DefaultBarycenterTol     = 1e-9
)

// BarycenterOptions tunes Barycenter. A nil *BarycenterOptions means all defaults.
type BarycenterOptions struct {
	Method  BarycenterMethod
	MaxIter int     // iteration cap; 0 means DefaultBarycenterMaxIter
	Tol     float64 // stop when Σ_k λ_k ‖P_k1 − b‖₁ ≤ Tol; 0 means DefaultBarycenterTol
	// InitF warm-starts the barycenter-side potentials F_k (see BarycenterResult): one
	// slice of length m per histogram; nil means zero (u_k = 1). The iteration keeps
	// Σ_k λ_k F_k fixed, and the fixed point solves the barycenter problem only when
	// that sum is zero; other starts converge to another point (this is how POT 0.8.2's
	// method="sinkhorn", which starts from unweighted geometric means, is reproduced).
	InitF [][]float64
}

// BarycenterResult is the output of Barycenter.
type BarycenterResult struct {
	// Barycenter is the weighted geometric mean b = Π_k (P_k1)^λ_k of the first
	// marginals at the last iteration.
	Barycenter []float64
	// F, G are the potentials of the N plans, P_k,ij = exp((F_k,i + G_k,j − C_ij)/ε),
	// in the plain-entropy convention of Benamou et al. (no a⊗b factor). Where a
	// histogram weight is zero, G holds the c-transform −ε log Σ_i exp((F_k,i − C_ij)/ε).
	F, G [][]float64
	// MarginalError is Σ_k λ_k ‖P_k1 − b‖₁ at the last iteration (the second marginals
	// hold exactly), the quantity Tol bounds, as in the other solvers' results.
	MarginalError float64
	Iterations    int
	Converged     bool
	// Method is the method that produced the result (Auto reports Scaling or Log).
	Method BarycenterMethod
}

// Barycenter computes the entropic Wasserstein barycenter of the histograms ν_1..ν_N
// (hists, each on the histogram points of s) with weights λ on the simplex (nil means
// uniform), on the fixed barycenter points of s:
//
//	b = argmin_b Σ_k λ_k W_ε(b, ν_k),   W_ε(b,ν) = min_{P∈Π(b,ν)} ⟨P,C⟩ − ε H(P),
//
// with H(P) = −Σ P_ij (log P_ij − 1), by iterative Bregman projections (Benamou,
// Carlier, Cuturi, Nenna, Peyré, "Iterative Bregman projections for regularized
// transportation problems", SIAM J. Sci. Comput. 2015; Cuturi & Doucet, "Fast
// computation of Wasserstein barycenters", ICML 2014). Each iteration projects the N
// plans onto their fixed marginals ν_k, then onto a common first marginal, the
// weighted geometric mean b = Π_k (P_k1)^λ_k:
//
//	v_k = ν_k / Kᵀu_k,   b = Π_k (u_k ⊙ K v_k)^λ_k,   u_k = b / K v_k,
//
// with K = exp(−C/ε), POT's reg convention (ot.bregman.barycenter): unlike Sinkhorn
// there is no a⊗b reference measure, since b is the unknown. From u_k = 1 this is
// POT's method="sinkhorn_log"; POT 0.8.2's method="sinkhorn" starts elsewhere and, for
// non-uniform λ, converges to a slightly different point (see BarycenterOptions.InitF).
// On a Grid the kernel products are separable convolutions.
func Barycenter(hists [][]float64, s Support, eps float64, lambda []float64, opts *BarycenterOptions) (*BarycenterResult, error) {
	bp, err := newBaryProblem(hists, s, eps, lambda)
	if err != nil {
		return nil, err
	}
	o, err := bp.options(opts)
	if err != nil {
		return nil, err
	}
	return bp.solve(o), nil
}

// baryProblem is a validated fixed-support barycenter problem.
type baryProblem struct {
	K      baryKernel
	m, n   int
	N      int
	eps    float64
	nu     []float64 // N×n histograms, flat
	lognu  []float64
	lambda []float64
}

func newBaryProblem(hists [][]float64, s Support, eps float64, lambda []float64) (*baryProblem, error) {
	if s == nil {
		return nil, invalid("barycenter: no support")
	}
	if err := epsilon(eps); err != nil {
		return nil, err
	}
	if len(hists) == 0 {
		return nil, invalid("barycenter: no histograms")
	}
	K, err := s.baryKernel(eps)
	if err != nil {
		return nil, err
	}
	m, n := K.dims()
	bp := &baryProblem{K: K, m: m, n: n, N: len(hists), eps: eps}
	bp.nu = make([]float64, 0, bp.N*n)
	for k, h := range hists {
		if len(h) != n {
			return nil, invalid("barycenter: hists[%d] has %d entries but the support has %d histogram points", k, len(h), n)
		}
		if _, err := weights(baryName("hists", k), h, n); err != nil {
			return nil, err
		}
		bp.nu = append(bp.nu, h...)
	}
	bp.lognu = logs(bp.nu)
	if bp.lambda, err = baryLambda(lambda, bp.N); err != nil {
		return nil, err
	}
	return bp, nil
}

func baryName(field string, k int) string { return fmt.Sprintf("%s[%d]", field, k) }

// baryLambda checks barycentric weights: N entries on the simplex; nil means uniform.
func baryLambda(lambda []float64, N int) ([]float64, error) {
	if lambda != nil && len(lambda) != N {
		return nil, invalid("lambda: %d weights for %d histograms", len(lambda), N)
	}
	return weights("lambda", lambda, N)
}

func (bp *baryProblem) options(opts *BarycenterOptions) (BarycenterOptions, error) {
	var o BarycenterOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxIter == 0 {
		o.MaxIter = DefaultBarycenterMaxIter
	}
	if o.Tol == 0 {
		o.Tol = DefaultBarycenterTol
	}
	switch {
	case o.Method != BarycenterAuto && o.Method != BarycenterScaling && o.Method != BarycenterLog:
		return o, invalid("barycenter: unknown method %d", int(o.Method))
	case o.MaxIter < 0:
		return o, invalid("barycenter: MaxIter = %d is negative", o.MaxIter)
	case !(o.Tol > 0):
		return o, invalid("barycenter: Tol = %v must be positive", o.Tol)
	case o.InitF != nil && len(o.InitF) != bp.N:
		return o, invalid("barycenter: InitF has %d potentials for %d histograms", len(o.InitF), bp.N)
	}
	for k, f := range o.InitF {
		if len(f) != bp.m {
			return o, invalid("barycenter: InitF[%d] has %d entries for %d barycenter points", k, len(f), bp.m)
		}
		for i, x := range f {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return o, invalid("barycenter: InitF[%d][%d] is %v", k, i, x)
			}
		}
	}
	return o, nil
}

// solve runs the iteration from the log-scalings α_k = F_k/ε.
func (bp *baryProblem) solve(o BarycenterOptions) *BarycenterResult {
	alpha := make([]float64, bp.N*bp.m)
	for k, f := range o.InitF {
		for i, x := range f {
			alpha[k*bp.m+i] = x / bp.eps
		}
	}
	res := &BarycenterResult{}
	if o.Method != BarycenterLog {
		res.Method = BarycenterScaling
		if bp.scaling(alpha, o, res) || o.Method == BarycenterScaling {
			return res
		}
	}
	res.Method = BarycenterLog
	bp.logDomain(alpha, o, res)
	return res
}

// scaling runs the scaling-domain iteration from u_k = exp(α_k), updating α with the
// last finite iterate. It reports false if the products under- or overflowed before
// convergence or the iteration cap; res then holds the last finite iterate.
func (bp *baryProblem) scaling(alpha []float64, o BarycenterOptions, res *BarycenterResult) bool {
	N, m, n := bp.N, bp.m, bp.n
	u, uNew := make([]float64, N*m), make([]float64, N*m)
	for i, a := range alpha {
		u[i] = math.Exp(a)
	}
	s, sNew, v := make([]float64, N*n), make([]float64, N*n), make([]float64, N*n)
	logb, logbNew := make([]float64, m), make([]float64, m)
	blocks := parallel.MaxBlocks()
	errs, bads := make([]float64, blocks), make([]bool, blocks)
	finish := func(ok bool) bool {
		if res.Iterations == 0 {
			for i := range logb {
				logb[i] = math.NaN() // no finite iterate to report
			}
		}
		for i, x := range u {
			alpha[i] = math.Log(x)
		}
		// s = Kᵀu for this u gives the potentials G without a log-domain product.
		ls := make([]float64, len(s))
		for i, x := range s {
			if ls[i] = math.Log(x); !ok || math.IsInf(ls[i], 0) || math.IsNaN(ls[i]) {
				ls = nil
				break
			}
		}
		bp.result(res, alpha, logb, ls)
		return ok
	}
	notPos := func(x float64) bool { return !(x > 0) || math.IsInf(x, 1) }
	// rows sets, for i in [lo,hi), the new u_k,i = b_i / w_k,i from w = K v, where
	// b_i = Π_k (u_k,i w_k,i)^λ_k, and adds λ_k |u_k,i w_k,i − b_i| to the block's error.
	w := make([]float64, N*m)
	rows := func(blk, lo, hi int) {
		e, bad := 0.0, false
		for i := lo; i < hi; i++ {
			lb := 0.0
			for k := 0; k < N; k++ {
				x := w[k*m+i]
				bad = bad || notPos(x)
				if bp.lambda[k] != 0 {
					lb += bp.lambda[k] * math.Log(u[k*m+i]*x)
				}
			}
			b := fastExp(lb)
			bad = bad || notPos(b)
			logbNew[i] = lb
			for k := 0; k < N; k++ {
				x := w[k*m+i]
				e += bp.lambda[k] * math.Abs(u[k*m+i]*x-b)
				un := b / x
				bad = bad || notPos(un)
				uNew[k*m+i] = un
			}
		}
		errs[blk], bads[blk] = e, bad
	}
	bp.K.mulT(s, u, N)
	for it := 0; it < o.MaxIter; it++ {
		for i, x := range s {
			if bp.nu[i] == 0 {
				v[i] = 0
				continue
			}
			if v[i] = bp.nu[i] / x; notPos(x) || notPos(v[i]) {
				return finish(false)
			}
		}
		clear(errs)
		clear(bads)
		bp.K.mul(w, v, N)
		parallel.For(m, 8*N, rows) // a log costs some 64 flops
		bp.K.mulT(sNew, uNew, N)
		e := 0.0
		for blk, x := range errs {
			e += x
			if bads[blk] {
				return finish(false)
			}
		}
		if math.IsNaN(e) {
			return finish(false)
		}
		u, uNew = uNew, u
		s, sNew = sNew, s
		logb, logbNew = logbNew, logb
		res.Iterations++
		res.MarginalError = e
		if e <= o.Tol {
			res.Converged = true
			return finish(true)
		}
	}
	return finish(true)
}

// logDomain runs the iteration on the log-scalings α_k = log u_k, β_k = log v_k:
//
//	β_k = log ν_k − LSE_i(α_k,i − C_ij/ε),   ℓ_k = LSE_j(β_k,j − C_ij/ε),
//	log b = Σ_k λ_k (α_k + ℓ_k),             α_k = log b − ℓ_k.
func (bp *baryProblem) logDomain(alpha []float64, o BarycenterOptions, res *BarycenterResult) {
	N, m, n := bp.N, bp.m, bp.n
	beta, ell := make([]float64, N*n), make([]float64, N*m)
	logb := make([]float64, m)
	for res.Iterations < o.MaxIter {
		bp.K.logMulT(beta, alpha, N)
		for i, x := range beta {
			beta[i] = bp.lognu[i] - x
		}
		bp.K.logMul(ell, beta, N)
		clear(logb)
		for k := 0; k < N; k++ {
			if bp.lambda[k] == 0 {
				continue
			}
			for i := 0; i < m; i++ {
				logb[i] += bp.lambda[k] * (alpha[k*m+i] + ell[k*m+i])
			}
		}
		e := 0.0
		for k := 0; k < N; k++ {
			e1 := 0.0
			for i := 0; i < m; i++ {
				e1 += math.Abs(math.Exp(alpha[k*m+i]+ell[k*m+i]) - math.Exp(logb[i]))
				alpha[k*m+i] = logb[i] - ell[k*m+i]
			}
			e += bp.lambda[k] * e1
		}
		res.Iterations++
		res.MarginalError = e
		if e <= o.Tol {
			res.Converged = true
			break
		}
		if math.IsNaN(e) {
			break
		}
	}
	bp.result(res, alpha, logb, nil)
}

// result fills the barycenter and the potentials from the log-scalings α and the
// log barycenter of the last iteration; ls = log Kᵀexp(α) if known, else nil.
func (bp *baryProblem) result(res *BarycenterResult, alpha, logb, ls []float64) {
	N, m, n, eps := bp.N, bp.m, bp.n, bp.eps
	res.Barycenter = make([]float64, m)
	for i, l := range logb {
		res.Barycenter[i] = math.Exp(l)
	}
	if ls == nil {
		ls = make([]float64, N*n)
		bp.K.logMulT(ls, alpha, N)
	}
	res.F, res.G = make([][]float64, N), make([][]float64, N)
	for k := 0; k < N; k++ {
		res.F[k], res.G[k] = make([]float64, m), make([]float64, n)
		for i := range res.F[k] {
			res.F[k][i] = eps * alpha[k*m+i]
		}
		for j := range res.G[k] {
			// β = log ν − LSE_i(α_i − C_ij/ε), and the c-transform where ν_j = 0.
			res.G[k][j] = -eps * ls[k*n+j]
			if bp.nu[k*n+j] > 0 {
				res.G[k][j] += eps * bp.lognu[k*n+j]
			}
		}
	}
	if res.Converged && !allFinite(res.Barycenter) {
		res.Converged = false
	}
}
