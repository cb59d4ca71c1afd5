package ot

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// HausdorffResult is the output of Hausdorff.
type HausdorffResult struct {
	// Value is H_ε(α,β) = ½⟨α − β, p_β − p_α⟩.
	Value float64
	// PA is p_α on x (the symmetric potential of OT_ε(α,α)), PB is p_β on y.
	PA, PB []float64
	// Converged is true when both symmetric solves converged; MarginalError and
	// Iterations are the larger of the two.
	Converged     bool
	MarginalError float64
	Iterations    int
	// Grad holds the gradients with respect to x, y, a and b when asked for.
	Grad *Gradients
}

// Hausdorff returns the entropic Hausdorff divergence of Feydy et al. (2019), GeomLoss's
// "hausdorff" loss,
//
//	H_ε(α,β) = ½⟨α − β, p_β − p_α⟩,
//
// where p_μ is the symmetric potential of OT_ε(μ,μ), −p_μ = ∇F_ε(μ) for
// F_ε(μ) = −½OT_ε(μ,μ), extended off μ's support by the soft-min that defines it,
//
//	p_μ(z) = −ε log Σ_k μ_k exp((p_μ(z_k) − c(z, z_k))/ε).
//
// It is ½⟨α − β, ∇F_ε(α) − ∇F_ε(β)⟩, ≥ 0 since F_ε is convex (Feydy et al. 2019); its
// self-terms debias the one-sided soft-mins as S_ε's do. As ε → 0 it tends to the ICP
// (chamfer) loss ½(Σ_i a_i min_j c(x_i,y_j) + Σ_j b_j min_i c(x_i,y_j)), as
// ε → ∞ to the kernel norm ⟨α⊗β,c⟩ − ½⟨α⊗α,c⟩ − ½⟨β⊗β,c⟩ (the Sinkhorn divergence's
// limit: ½|Δmean|² for ½|x−y|²). Only the two symmetric problems are solved (by the
// averaged fixed point, with opts' Sinkhorn options); no cross Sinkhorn problem.
//
// GeomLoss's SamplesLoss("hausdorff") documents this loss, but its code routes the name
// to its kernel routine without a kernel, so the formula above, from the paper, is the
// reference (ot/testdata/gen_laplacian_hausdorff.py evaluates it in NumPy).
//
// With opts.Grad the gradients are exact at the symmetric solves' fixed points: the
// potentials' dependence on the points enters through the linear system (I + Πᵀ)λ = r
// of their fixed-point equation (Π the soft-min weights), solved by conjugate
// gradients in its symmetric form I + D^½ E D^½, whose eigenvalues lie in (0, 2].
func Hausdorff(x, y *mat.Dense, a, b []float64, c Cost, eps float64, opts *DivergenceOptions) (*HausdorffResult, error) {
	var sopts *SinkhornOptions
	grad := false
	if opts != nil {
		sopts, grad = &opts.SinkhornOptions, opts.Grad
	}
	// The cross cost and C̄; the two symmetric costs, with E and S for the gradients.
	pxy, c, err := pointProblem(x, y, a, b, c, "hausdorff divergence", func(n, m int) float64 {
		return 2*area(n, m) + 3*(area(n, n)+area(m, m))
	})
	if err != nil {
		return nil, err
	}
	if math.IsInf(eps, 1) {
		return nil, invalid("hausdorff: eps = +Inf: use MMD with CostKernel (half of it is the limit)")
	}
	o, err := solveOptions(pxy, eps, sopts)
	if err != nil {
		return nil, err
	}
	pxx, pyy, err := selfProblems(pxy, x, y, c, eps)
	if err != nil {
		return nil, err
	}
	sym := o
	sym.InitF, sym.InitG, sym.Plan = nil, nil, false
	ra, rb := pxx.solveSymmetric(eps, sym), pyy.solveSymmetric(eps, sym)
	for _, s := range []struct {
		p *problem
		r *SinkhornResult
	}{{pxx, ra}, {pyy, rb}} {
		if err := s.p.checkResult(s.r); err != nil {
			return nil, err
		}
	}
	n, m := pxy.n, pxy.m
	pa, pb := ra.F, rb.F
	u, v := make([]float64, n), make([]float64, m) // p_β on x, p_α on y
	pxy.updateF(u, pb, eps)
	pxy.updateG(v, pa, eps)
	res := &HausdorffResult{PA: pa, PB: pb,
		Converged:     ra.Converged && rb.Converged,
		MarginalError: max(ra.MarginalError, rb.MarginalError),
		Iterations:    max(ra.Iterations, rb.Iterations),
	}
	res.Value = 0.5 * (floats.Dot(pxy.a, u) - floats.Dot(pxy.a, pa) - floats.Dot(pxy.b, pb) + floats.Dot(pxy.b, v))
	if !finite(res.Value) || !allFinite(u) || !allFinite(v) {
		return nil, outOfRange("hausdorff: the value is %v: the soft-mins overflow float64 at ε = %g", res.Value, eps)
	}
	if grad {
		res.Grad = hausdorffGrad(pxy, pxx, pyy, x, y, c, eps, pa, pb, u, v)
		for _, g := range [][]float64{res.Grad.X.RawMatrix().Data, res.Grad.Y.RawMatrix().Data, res.Grad.A, res.Grad.B} {
			if !allFinite(g) {
				return nil, outOfRange("hausdorff: the gradient is not finite at ε = %g", eps)
			}
		}
	}
	return res, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// hausdorffGrad returns the gradients of H_ε. With the soft-min weights
// π^u_ij = b_j exp((u_i + p_β,j − C_ij)/ε) of u = p_β(x) and π^v_ij = a_i exp((v_j +
// p_α,i − C_ij)/ε) of v = p_α(y):
//
//	∂H/∂C_ij = ½(a_i π^u_ij + b_j π^v_ij),   ∂H/∂p_α = −½(a + w_α),  w_α,i = Σ_j b_j π^v_ij,
//
// and likewise for β; the potentials' own dependence on x and a is selfAdjoint's.
func hausdorffGrad(pxy, pxx, pyy *problem, x, y *mat.Dense, c Cost, eps float64, pa, pb, u, v []float64) *Gradients {
	n, m, d := pxy.n, pxy.m, dimOf(x)
	gr := &Gradients{X: mat.NewDense(n, d, nil), Y: mat.NewDense(m, d, nil), A: make([]float64, n), B: make([]float64, m)}
	Cbar := mat.NewDense(n, m, parallel.Float64.Get(n*m)) // every row is written
	defer parallel.Float64.Put(Cbar.RawMatrix().Data)
	wa := make([]float64, n)
	wbAcc, eaAcc := blockVectors(m), blockVectors(m)
	parallel.For(n, m, func(blk, lo, hi int) {
		for i := lo; i < hi; i++ {
			row, crow := Cbar.RawRowView(i), pxy.C[i*m:(i+1)*m]
			sa := 0.0
			for j, cij := range crow {
				eu := math.Exp((u[i] + pb[j] - cij) / eps) // π^u_ij / b_j
				ev := math.Exp((v[j] + pa[i] - cij) / eps) // π^v_ij / a_i
				piu, piv := pxy.b[j]*eu, pxy.a[i]*ev
				row[j] = 0.5 * (pxy.a[i]*piu + pxy.b[j]*piv)
				wbAcc[blk][j] += pxy.a[i] * piu
				sa += pxy.b[j] * piv
				// ∂v_j/∂a_i = −ε ev, ∂u_i/∂b_j = −ε eu: the soft-mins' weights
				gr.A[i] -= 0.5 * eps * pxy.b[j] * ev
				eaAcc[blk][j] -= 0.5 * eps * pxy.a[i] * eu
			}
			wa[i] = sa
		}
	})
	wb := make([]float64, m)
	sumBlocks(wb, wbAcc)
	sumBlocks(gr.B, eaAcc)
	addPlanGrad(gr.X, 1, x, y, Cbar, c)
	addPlanGrad(gr.Y, 1, y, x, Cbar.T(), c)
	// Explicit weight terms ½⟨a,u⟩ − ½⟨a,p_α⟩ and ½⟨b,v⟩ − ½⟨b,p_β⟩.
	for i := range gr.A {
		gr.A[i] += 0.5 * (u[i] - pa[i])
	}
	for j := range gr.B {
		gr.B[j] += 0.5 * (v[j] - pb[j])
	}
	floats.Add(wa, pxy.a)
	floats.Add(wb, pxy.b)
	pxx.selfAdjoint(gr.X, gr.A, x, c, eps, pa, wa)
	pyy.selfAdjoint(gr.Y, gr.B, y, c, eps, pb, wb)
	return gr
}

// selfAdjoint adds to gx and ga the gradients of −½⟨r, p⟩ through the symmetric
// potential p = T(p) of this problem (points x, weights a): with E_ik = exp((p_i + p_k −
// C_ik)/ε) and Π_ik = a_k E_ik, dp solves (I + Π)dp = (Π∘dC)1 − εE da, so with
// (I + Πᵀ)λ = r the costs get −½λ_i Π_ik and the weights +½ε Σ_i λ_i E_ik.
func (p *problem) selfAdjoint(gx *mat.Dense, ga []float64, x *mat.Dense, c Cost, eps float64, pot, r []float64) {
	n := p.n
	E := mat.NewDense(n, n, parallel.Float64.Get(n*n)) // every row is written
	defer parallel.Float64.Put(E.RawMatrix().Data)
	parallel.For(n, n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := E.RawRowView(i)
			for k, cik := range p.C[i*n : (i+1)*n] {
				row[k] = (pot[i] + pot[k] - cik) / eps
			}
			expSlice(row)
		}
	})
	// λ = D^½ μ with (I + D^½ E D^½) μ = D^-½ r; a zero weight has r_i = 0 and λ_i = 0.
	sq := make([]float64, n)
	rhs := make([]float64, n)
	for i, w := range p.a {
		sq[i] = math.Sqrt(w)
		if w > 0 {
			rhs[i] = r[i] / sq[i]
		}
	}
	mu := conjugateGradient(func(dst, z []float64) {
		t := make([]float64, n)
		for k := range t {
			t[k] = sq[k] * z[k]
		}
		parallel.For(n, n, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				dst[i] = z[i] + sq[i]*dot(E.RawRowView(i), t)
			}
		})
	}, rhs)
	lambda := make([]float64, n)
	for i := range lambda {
		lambda[i] = sq[i] * mu[i]
	}
	// C̄_ik = −½λ_i a_k E_ik, both slots of c(x_i, x_k): S = C̄ + C̄ᵀ; the weights' term
	// Σ_i λ_i E_ik.
	S := mat.NewDense(n, n, parallel.Float64.Get(n*n))
	defer parallel.Float64.Put(S.RawMatrix().Data)
	parallel.For(n, n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row, erow := S.RawRowView(i), E.RawRowView(i)
			s := 0.0
			for k, e := range erow {
				row[k] = -0.5 * (lambda[i]*p.a[k] + lambda[k]*p.a[i]) * e
				s += lambda[k] * e // E is symmetric: Σ_k λ_k E_ki
			}
			ga[i] += 0.5 * eps * s
		}
	})
	addPlanGrad(gx, 1, x, x, S, c)
}

// conjugateGradient solves M z = rhs for the symmetric positive-definite M given by
// apply(dst, z) = M z, to a residual of 1e-15 of rhs (at most 2n + 50 steps).
func conjugateGradient(apply func(dst, z []float64), rhs []float64) []float64 {
	n := len(rhs)
	z, r, q, Mq := make([]float64, n), append([]float64(nil), rhs...), make([]float64, n), make([]float64, n)
	copy(q, r)
	rr := floats.Dot(r, r)
	stop := 1e-30 * rr
	for it := 0; it < 2*n+50 && rr > stop && rr > 0; it++ {
		apply(Mq, q)
		alpha := rr / floats.Dot(q, Mq)
		floats.AddScaled(z, alpha, q)
		floats.AddScaled(r, -alpha, Mq)
		next := floats.Dot(r, r)
		for i := range q {
			q[i] = r[i] + next/rr*q[i]
		}
		rr = next
	}
	return z
}
