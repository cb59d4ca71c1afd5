package ot

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// DivergenceResult is the output of SinkhornDivergence.
type DivergenceResult struct {
	// Value is the debiased Sinkhorn divergence in dual form (Feydy et al. 2019),
	// S_ε = OT_ε(α,β) − ½OT_ε(α,α) − ½OT_ε(β,β), with OT_ε the dual values.
	Value float64
	// Primal is Genevay et al.'s (2018) debiased primal form 2⟨P,C⟩_αβ − ⟨P,C⟩_αα − ⟨P,C⟩_ββ.
	Primal float64
	// XY, XX, YY are the three entropic OT solves.
	XY, XX, YY *SinkhornResult
	// Converged is true when all three solves converged.
	Converged bool
	// MarginalError and Iterations are the largest of the three solves'.
	MarginalError float64
	Iterations    int
	// Grad holds ∂S_ε/∂x, ∂S_ε/∂y, ∂S_ε/∂a, ∂S_ε/∂b (envelope theorem at the converged
	// potentials) when DivergenceOptions.Grad is set.
	Grad *Gradients
}

// DivergenceOptions tunes SinkhornDivergence: the Sinkhorn options of its solves, and
// whether to compute gradients. A nil *DivergenceOptions means all defaults.
type DivergenceOptions struct {
	SinkhornOptions
	// Grad asks for the gradients in the result.
	Grad bool
}

// SinkhornDivergence computes S_ε(α,β) between α = Σ a_i δ_{x_i} and β = Σ b_j δ_{y_j}
// under cost c. OT_ε(α,β) is solved by Sinkhorn with opts; the symmetric terms by the
// averaged fixed point f ← ½(f + T(f)), which converges in a few iterations. S_ε ≥ 0,
// S_ε(α,α) = 0, it tends to exact OT as ε → 0 and, as ε → ∞, to ½|mean(α)−mean(β)|²
// for c = ½|x−y|² or to half the energy distance for c = |x−y|.
// With opts.Grad, the result also carries the gradients.
func SinkhornDivergence(x, y *mat.Dense, a, b []float64, c Cost, eps float64, opts *DivergenceOptions) (*DivergenceResult, error) {
	var sopts *SinkhornOptions
	grad := false
	if opts != nil {
		sopts, grad = &opts.SinkhornOptions, opts.Grad
	}
	pxy, c, err := pointProblem(x, y, a, b, c, "sinkhorn divergence", func(n, m int) float64 {
		return divergenceMatrices(n, m, sopts, grad)
	})
	if err != nil {
		return nil, err
	}
	o, err := solveOptions(pxy, eps, sopts)
	if err != nil {
		return nil, err
	}
	n, m := pxy.n, pxy.m
	pxx, pyy, err := selfProblems(pxy, x, y, c, eps)
	if err != nil {
		return nil, err
	}
	sym := o
	sym.InitF, sym.InitG = nil, nil
	r := &DivergenceResult{XY: pxy.solve(eps, o), XX: pxx.solveSymmetric(eps, sym), YY: pyy.solveSymmetric(eps, sym)}
	for _, c := range []struct {
		p   *problem
		res *SinkhornResult
	}{{pxy, r.XY}, {pxx, r.XX}, {pyy, r.YY}} {
		if err := c.p.checkResult(c.res); err != nil {
			return nil, err
		}
	}
	r.Value = r.XY.Dual - (r.XX.Dual+r.YY.Dual)/2
	r.Primal = 2*r.XY.LinearCost - r.XX.LinearCost - r.YY.LinearCost
	r.Converged = r.XY.Converged && r.XX.Converged && r.YY.Converged
	r.MarginalError = max(r.XY.MarginalError, r.XX.MarginalError, r.YY.MarginalError)
	r.Iterations = max(r.XY.Iterations, r.XX.Iterations, r.YY.Iterations)
	if grad {
		r.Grad = &Gradients{
			X: mat.NewDense(n, dimOf(x), nil), Y: mat.NewDense(m, dimOf(y), nil),
			A: make([]float64, n), B: make([]float64, m),
		}
		pxy.addPointGrad(r.Grad.X, 1, x, y, r.XY.F, r.XY.G, c, eps, false)
		pxy.addPointGrad(r.Grad.Y, 1, x, y, r.XY.F, r.XY.G, c, eps, true)
		// x appears in both slots of OT_ε(α,α): the two halves of its gradient are equal.
		pxx.addPointGrad(r.Grad.X, -1, x, x, r.XX.F, r.XX.G, c, eps, false)
		pyy.addPointGrad(r.Grad.Y, -1, y, y, r.YY.F, r.YY.G, c, eps, false)
		floats.SubTo(r.Grad.A, r.XY.F, r.XX.F)
		floats.SubTo(r.Grad.B, r.XY.G, r.YY.F)
	}
	return r, nil
}

// selfProblems builds the problems OT(α,α) and OT(β,β) of a divergence beside its
// cross problem pxy (whose weights are validated), and checks ε against the three.
func selfProblems(pxy *problem, x, y *mat.Dense, c Cost, eps float64) (pxx, pyy *problem, err error) {
	if pxx, err = buildProblem(pxy.a, pxy.a, c.matrix(x, x), pxy.n, pxy.n, true); err != nil {
		return nil, nil, err
	}
	if pyy, err = buildProblem(pxy.b, pxy.b, c.matrix(y, y), pxy.m, pxy.m, true); err != nil {
		return nil, nil, err
	}
	for _, p := range []*problem{pxy, pxx, pyy} {
		if err := p.resolution(eps); err != nil {
			return nil, nil, err
		}
	}
	return pxx, pyy, nil
}

// divergenceMatrices is the number of matrix entries SinkhornDivergence holds at
// once: the cross problem's (see sinkhornMatrices), the symmetric problems' costs
// (and plans), and one plan for the gradients.
func divergenceMatrices(n, m int, opts *SinkhornOptions, grad bool) float64 {
	sym := 1.0
	if opts != nil && opts.Plan {
		sym++
	}
	total := area(n, m)*sinkhornMatrices(opts) + (area(n, n)+area(m, m))*sym
	if grad {
		total += max(area(n, m), area(n, n), area(m, m))
	}
	return total
}

// solveSymmetric solves OT_ε(α,α), whose potentials are equal, by the averaged
// fixed point f ← ½(f + T(f)) with T the c-transform (Feydy et al. 2019, §3.1).
func (p *problem) solveSymmetric(eps float64, o SinkhornOptions) *SinkhornResult {
	f, t := make([]float64, p.n), make([]float64, p.n)
	it := 0
	for _, e := range p.annealing(eps, o) {
		p.updateF(t, f, e) // the costs are symmetric and b = a
		average(f, t)
		it++
	}
	converged := false
	for {
		p.updateF(t, f, eps)
		// The plan of (f, f) has both marginals equal to a·exp((f − T(f))/ε).
		e, ePot := rowError(p.a, f, t, eps, o.ErrorNorm)
		if p.done(2*e, 2*ePot, eps, o) {
			converged = true
			break
		} else if math.IsNaN(e) || it >= o.MaxIter {
			break
		}
		average(f, t)
		it++
	}
	res := &SinkhornResult{Eps: eps, Method: LogDomain, Iterations: it}
	rows := p.finish(res, f, append([]float64(nil), f...), eps, o.Plan, nil)
	res.Converged = converged && res.finite() && p.metTol(rows, 2, o)
	return res
}

func average(f, t []float64) {
	for i := range f {
		f[i] = (f[i] + t[i]) / 2
	}
}
