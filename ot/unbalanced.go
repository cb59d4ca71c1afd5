package ot

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// Unbalanced (Chizat et al. 2018; Séjourné et al. 2019) relaxes the marginal
// constraints of entropic OT into KL penalties:
//
//	OT_ε,ρ(α,β) = min_P ⟨P,C⟩ + ε·KL(P | a⊗b) + ρ_a·KL(P1 | a) + ρ_b·KL(Pᵀ1 | b),
//
// with the KL of positive measures, KL(p|q) = Σ p log(p/q) − p + q. Its dual is
//
//	⟨a, ρ_a(1 − e^(−f/ρ_a))⟩ + ⟨b, ρ_b(1 − e^(−g/ρ_b))⟩ − ε⟨a⊗b, e^((f⊕g−C)/ε) − 1⟩,
//
// maximized by the potentials f = ρ_a/(ρ_a+ε) · (c-transform of g) and the like for g
// (GeomLoss's damped softmin). ρ = +Inf is the balanced constraint; GeomLoss's reach r
// is ρ = r^p for the cost |x−y|^p (Reach). The weights of an unbalanced measure need not
// sum to 1: any non-negative weights with a positive total.

// Reach returns GeomLoss's ρ = reach^p for the cost c: the scale beyond which the
// unbalanced transport prefers destroying mass to moving it. reach = +Inf gives +Inf.
func Reach(reach float64, c Cost) float64 {
	return math.Pow(reach, c.orDefault().Power)
}

// UnbalancedResult is the output of SinkhornUnbalanced.
type UnbalancedResult struct {
	Eps, RhoA, RhoB float64
	// F, G are the potentials in the a⊗b convention, P_ij = a_i b_j exp((F_i+G_j−C_ij)/ε).
	// With a finite ρ they are unique; at ρ_a = ρ_b = +Inf they are the balanced ones
	// (shifted as SinkhornResult's).
	F, G []float64
	// Plan is the dense n×m plan, when SinkhornOptions.Plan is set.
	Plan *mat.Dense
	// Cost is the primal objective above at the returned plan; LinearCost is ⟨P,C⟩ and
	// Mass is Σ P_ij, which differs from Σa and Σb where the penalties bind.
	Cost, LinearCost, Mass float64
	// Dual is the dual objective above at (F, G); equal to Cost at convergence.
	Dual float64
	// MarginalError is ‖P1 − a e^(−F/ρ_a)‖₁ + ‖Pᵀ1 − b e^(−G/ρ_b)‖₁, the residual of the
	// optimality conditions (the balanced marginal error at ρ = +Inf).
	MarginalError float64
	Iterations    int
	Converged     bool
	Method        SinkhornMethod
}

// SinkhornUnbalanced solves unbalanced entropic OT (see Unbalanced) between weights a
// (n) and b (m) with cost matrix C at regularization eps and KL penalties rhoA, rhoB
// (positive, +Inf for a hard constraint), in the log domain or the stabilized scaling
// domain. nil weights mean uniform. At rhoA = rhoB = +Inf it is Sinkhorn, whose result
// it returns unchanged.
//
// opts.Tol bounds the residual of the optimality conditions, MarginalError's (in
// opts.ErrorNorm), and the move of the potentials as in Sinkhorn. Each iteration, in
// either method, ends with the translation (f+τ, g−τ) that maximizes the dual
// (Séjourné et al. 2022's translation invariant Sinkhorn), without which the damped
// updates shrink that direction by only (ρ/(ρ+ε))² per iteration.
//
// POT's sinkhorn_unbalanced(a, b, M, reg, reg_m) solves the same problem with the
// entropy Σ P(log P − 1) in place of KL(P|a⊗b): with M = C − ε log(a⊗b), reg = ε and
// reg_m = ρ its plan is ours.
func SinkhornUnbalanced(a, b []float64, C *mat.Dense, eps, rhoA, rhoB float64, opts *SinkhornOptions) (*UnbalancedResult, error) {
	if C == nil || C.IsEmpty() {
		return nil, invalid("cost matrix is empty")
	}
	n, m := C.Dims()
	if err := denseFits(fmt.Sprintf("unbalanced sinkhorn on a %d×%d cost matrix", n, m), area(n, m)*sinkhornMatrices(opts)); err != nil {
		return nil, err
	}
	if err := penalties(rhoA, rhoB); err != nil {
		return nil, err
	}
	if math.IsInf(rhoA, 1) && math.IsInf(rhoB, 1) {
		r, err := Sinkhorn(a, b, C, eps, opts)
		if err != nil {
			return nil, err
		}
		return balancedResult(r, math.Inf(1)), nil
	}
	p, err := unbalancedProblem(a, b, C, n, m)
	if err != nil {
		return nil, err
	}
	o, err := solveOptions(p, eps, opts)
	if err != nil {
		return nil, err
	}
	if err := p.resolution(eps); err != nil {
		return nil, err
	}
	res := p.solveUnbalanced(eps, rhoA, rhoB, o)
	if !res.Converged && !allFinite([]float64{res.Cost, res.Dual, res.MarginalError}) {
		return nil, outOfRange("unbalanced sinkhorn at eps = %g: the result is not finite (dual %v, cost %v)", eps, res.Dual, res.Cost)
	}
	return res, nil
}

// SinkhornUnbalancedPoints is SinkhornUnbalanced between the point clouds x (n×d) and
// y (m×d) under cost c.
func SinkhornUnbalancedPoints(x, y *mat.Dense, a, b []float64, c Cost, eps, rhoA, rhoB float64, opts *SinkhornOptions) (*UnbalancedResult, error) {
	C, err := solverCost(x, y, c, "unbalanced sinkhorn", opts)
	if err != nil {
		return nil, err
	}
	return SinkhornUnbalanced(a, b, C, eps, rhoA, rhoB, opts)
}

// UnbalancedGradients returns the gradients of OT_ε,ρ at a converged solve res of
// SinkhornUnbalancedPoints(x, y, a, b, c, …) by the envelope theorem: Σ_j P_ij ∇_x c(x_i, y_j)
// for the points and, for the weights (which here may move freely, not only on the
// simplex), ρ_a(1 − e^(−f/ρ_a)) − ε(e^(−f/ρ_a) − Σb) and its twin.
func UnbalancedGradients(x, y *mat.Dense, a, b []float64, c Cost, res *UnbalancedResult) (*Gradients, error) {
	if res == nil {
		return nil, invalid("unbalanced gradients: no result")
	}
	if err := penalties(res.RhoA, res.RhoB); err != nil {
		return nil, err
	}
	balanced := math.IsInf(res.RhoA, 1) && math.IsInf(res.RhoB, 1)
	build := unbalancedProblem
	if balanced {
		build = newProblem
	}
	p, c, err := pointProblemOf(build, x, y, a, b, c, "unbalanced gradients", func(n, m int) float64 {
		return 2 * area(n, m) // the cost and the plan
	})
	if err != nil {
		return nil, err
	}
	n, m := p.n, p.m
	if len(res.F) != n || len(res.G) != m {
		return nil, invalid("unbalanced result does not match %d×%d points", n, m)
	}
	gr := &Gradients{X: mat.NewDense(n, dimOf(x), nil), Y: mat.NewDense(m, dimOf(y), nil)}
	if balanced {
		gr.A, gr.B = append([]float64(nil), res.F...), append([]float64(nil), res.G...)
	} else {
		gr.A = massGrad(res.F, res.RhoA, res.Eps, floats.Sum(p.b))
		gr.B = massGrad(res.G, res.RhoB, res.Eps, floats.Sum(p.a))
	}
	p.addPointGrad(gr.X, 1, x, y, res.F, res.G, c, res.Eps, false)
	p.addPointGrad(gr.Y, 1, x, y, res.F, res.G, c, res.Eps, true)
	return gr, nil
}

// massGrad is ∂/∂a_i of the unbalanced dual at its optimum: ρ(1 − e^(−f_i/ρ)) −
// ε(e^(−f_i/ρ) − mOther), where Σ_j b_j e^((f_i+g_j−C_ij)/ε) = e^(−f_i/ρ).
func massGrad(f []float64, rho, eps, mOther float64) []float64 {
	out := make([]float64, len(f))
	for i, fi := range f {
		out[i] = phi(fi, rho) - eps*(math.Exp(-fi/rho)-mOther)
	}
	return out
}

// balancedResult carries a balanced solve over as an unbalanced result.
func balancedResult(r *SinkhornResult, rho float64) *UnbalancedResult {
	return &UnbalancedResult{Eps: r.Eps, RhoA: rho, RhoB: rho, F: r.F, G: r.G, Plan: r.Plan,
		Cost: r.Cost, LinearCost: r.LinearCost, Mass: 1, Dual: r.Dual, MarginalError: r.MarginalError,
		Iterations: r.Iterations, Converged: r.Converged, Method: r.Method}
}

// penalties checks the KL marginal penalties ρ_a, ρ_b: positive, +Inf allowed.
func penalties(rhoA, rhoB float64) error {
	if err := penalty("rhoA", rhoA); err != nil {
		return err
	}
	return penalty("rhoB", rhoB)
}

// penalty checks one KL marginal penalty named field.
func penalty(field string, rho float64) error {
	if !(rho > 0) {
		return invalid("unbalanced: %s = %v must be positive (+Inf for a hard marginal constraint)", field, rho)
	}
	return nil
}

// unbalancedProblem is newProblem for positive measures of any mass.
func unbalancedProblem(a, b []float64, C *mat.Dense, n, m int) (*problem, error) {
	return checkedProblem(masses, a, b, C, n, m, true)
}

// phi is ρ(1 − e^(−f/ρ)), the dual's mass term, tending to f as ρ → ∞.
func phi(f, rho float64) float64 {
	if math.IsInf(rho, 1) {
		return f
	}
	return -rho * math.Expm1(-f/rho)
}

// damping is ρ/(ρ+ε), the factor of the unbalanced c-transform (1 at ρ = +Inf).
func damping(rho, eps float64) float64 {
	if math.IsInf(rho, 1) {
		return 1
	}
	return rho / (rho + eps)
}

// solveUnbalanced runs the damped Sinkhorn iterations of p, then fills the result.
func (p *problem) solveUnbalanced(eps, rhoA, rhoB float64, o SinkhornOptions) *UnbalancedResult {
	if parallel.Hold(p.n, p.m) {
		defer parallel.Release()
	}
	f, g := make([]float64, p.n), make([]float64, p.m)
	copy(f, o.InitF)
	copy(g, o.InitG)
	it := 0
	s := make([]float64, p.n)
	for _, e := range p.annealing(eps, o) {
		p.updateF(s, g, e)
		floats.ScaleTo(f, damping(rhoA, e), s)
		p.updateG(g, f, e)
		floats.Scale(damping(rhoB, e), g)
		p.translate(f, g, rhoA, rhoB)
		it++
	}
	res := &UnbalancedResult{Eps: eps, RhoA: rhoA, RhoB: rhoB, Method: o.Method}
	if o.Method == Stabilized && p.flat(eps) {
		res.Method = LogDomain
	}
	converged, ok := false, false
	if res.Method == Stabilized {
		var used int
		rl := &relaxation{lamA: damping(rhoA, eps), lamB: damping(rhoB, eps), rhoA: rhoA, rhoB: rhoB}
		var sp *scaledPlan
		var sres SinkhornResult
		f, g, sp, used, converged, ok = p.stabilizedRelaxed(f, g, eps, o, it, &sres, rl, nil)
		it += used
		if sp != nil {
			parallel.Float64.Put(sp.K)
		}
		if !ok {
			res.Method = LogDomain
		} else {
			// fromScalings gives zero-weight points the balanced c-transform.
			dampZeroWeight(f, p.a, rl.lamA)
			dampZeroWeight(g, p.b, rl.lamB)
		}
	}
	if res.Method == LogDomain {
		var used int
		f, g, used, converged = p.unbalancedLog(f, g, eps, rhoA, rhoB, o, it)
		it += used
	}
	res.Iterations = it
	p.finishUnbalanced(res, f, g, o.Plan)
	res.Converged = converged && allFinite([]float64{res.Cost, res.Dual, res.MarginalError}) && allFinite(f) && allFinite(g)
	return res
}

func dampZeroWeight(f, w []float64, lam float64) {
	for i, wi := range w {
		if wi == 0 {
			f[i] *= lam
		}
	}
}

// unbalancedLog alternates the damped f- and g-updates until the residual of the
// f-optimality condition, ‖a e^((f−T(g))/ε) − a e^(−f/ρ_a)‖ (the g one holds after each
// g-update), and the move of f meet done's test, or MaxIter.
func (p *problem) unbalancedLog(f, g []float64, eps, rhoA, rhoB float64, o SinkhornOptions, done int) (_, _ []float64, iters int, converged bool) {
	lamA, lamB := damping(rhoA, eps), damping(rhoB, eps)
	s := make([]float64, p.n)
	measured := false
	for {
		p.updateF(s, g, eps)
		if measured {
			e, ePot := relaxedError(p.a, f, s, eps, rhoA, o.ErrorNorm)
			if p.done(e, ePot, eps, o) {
				return f, g, iters, true
			}
			if math.IsNaN(e) || done+iters >= o.MaxIter {
				return f, g, iters, false
			}
		}
		floats.ScaleTo(f, lamA, s)
		p.updateG(g, f, eps)
		floats.Scale(lamB, g)
		p.translate(f, g, rhoA, rhoB)
		iters++
		measured = true
	}
}

// translate moves the potentials to (f+τ, g−τ) with the τ that maximizes the dual
// along that line, in closed form: the transport term does not change, and the mass
// terms' derivative A e^(−τ/ρ_a) − B e^(τ/ρ_b), with A = ⟨a, e^(−f/ρ_a)⟩ and B =
// ⟨b, e^(−g/ρ_b)⟩, vanishes at τ = log(A/B)/(1/ρ_a + 1/ρ_b). The alternating damped
// updates shrink this direction by only (ρ/(ρ+ε))² per iteration, which made them
// slow for ρ ≫ ε (Séjourné et al. 2022, "translation invariant Sinkhorn"); each step
// being an exact maximization of the concave dual along a line, as the updates are
// along f and g, the fixed point is the same.
func (p *problem) translate(f, g []float64, rhoA, rhoB float64) {
	A, B := massTerm(p.a, f, rhoA), massTerm(p.b, g, rhoB)
	tau := math.Log(A/B) / (1/rhoA + 1/rhoB)
	if tau == 0 || math.IsNaN(tau) || math.IsInf(tau, 0) {
		return
	}
	for i := range f {
		f[i] += tau
	}
	for j := range g {
		g[j] -= tau
	}
}

// massTerm is ⟨w, e^(−h/ρ)⟩ (Σw at ρ = +Inf).
func massTerm(w, h []float64, rho float64) float64 {
	s := 0.0
	for i, wi := range w {
		if wi != 0 {
			s += wi * math.Exp(-h[i]/rho)
		}
	}
	return s
}

// relaxedError is rowError for the unbalanced iterations: given s, the c-transform of
// the other potential, it returns the norm of the residual a e^((f−s)/ε) − a e^(−f/ρ)
// of the f-optimality condition, and that of a∘(f − λs), the move of the next update.
func relaxedError(a, f, s []float64, eps, rho float64, norm int) (e, ePot float64) {
	lam := damping(rho, eps)
	for i, ai := range a {
		if ai == 0 {
			continue
		}
		d := ai * math.Abs(math.Exp((f[i]-s[i])/eps)-math.Exp(-f[i]/rho))
		dp := ai * math.Abs(f[i]-lam*s[i])
		if norm == 2 {
			d, dp = d*d, dp*dp
		}
		e, ePot = e+d, ePot+dp
	}
	if norm == 2 {
		return math.Sqrt(e), math.Sqrt(ePot)
	}
	return e, ePot
}

// finishUnbalanced fills the result from the potentials in one pass over the plan.
func (p *problem) finishUnbalanced(res *UnbalancedResult, f, g []float64, wantPlan bool) {
	eps := res.Eps
	if wantPlan {
		res.Plan = mat.NewDense(p.n, p.m, nil)
	}
	rows, cols, lin := p.planSums(f, g, eps, nil, res.Plan)
	ma, mb := floats.Sum(p.a), floats.Sum(p.b)
	mass := floats.Sum(rows)
	// Σ P log(P/(a⊗b)) = Σ P (f_i + g_j − C_ij)/ε.
	plogp := (floats.Dot(rows, f) + floats.Dot(cols, g) - lin) / eps
	res.LinearCost, res.Mass = lin, mass
	res.Cost = res.LinearCost + eps*(plogp-mass+ma*mb) + klMass(rows, p.a, res.RhoA) + klMass(cols, p.b, res.RhoB)
	dual, merr := -eps*(mass-ma*mb), 0.0
	for i, ai := range p.a {
		dual += ai * phi(f[i], res.RhoA)
		merr += math.Abs(rows[i] - ai*math.Exp(-f[i]/res.RhoA))
	}
	for j, bj := range p.b {
		dual += bj * phi(g[j], res.RhoB)
		merr += math.Abs(cols[j] - bj*math.Exp(-g[j]/res.RhoB))
	}
	res.F, res.G, res.Dual, res.MarginalError = f, g, dual, merr
}

// klMass is ρ·KL(r|w) = ρ Σ r log(r/w) − r + w; 0 for a hard constraint (ρ = +Inf),
// which the iterations meet up to the tolerance.
func klMass(r, w []float64, rho float64) float64 {
	if math.IsInf(rho, 1) {
		return 0
	}
	s := 0.0
	for i, ri := range r {
		if ri > 0 {
			s += ri*math.Log(ri/w[i]) - ri + w[i]
		} else {
			s += w[i]
		}
	}
	return rho * s
}

// UnbalancedDivergenceResult is the output of UnbalancedDivergence.
type UnbalancedDivergenceResult struct {
	// Value is the unbalanced Sinkhorn divergence (Séjourné et al. 2019),
	//
	//	S_ε,ρ = OT_ε,ρ(α,β) − ½OT_ε,ρ(α,α) − ½OT_ε,ρ(β,β) + ε/2 (Σa − Σb)²,
	//
	// in GeomLoss's dual form (ρ + ε/2)(⟨a, e^(−f_αα/ρ) − e^(−f_αβ/ρ)⟩ + ⟨b, e^(−g_ββ/ρ) − e^(−g_αβ/ρ)⟩).
	Value float64
	// XY, XX, YY are the three solves (XX and YY with the potential of both sides in F).
	XY, XX, YY *UnbalancedResult
	Converged  bool
	// MarginalError and Iterations are the largest of the three solves'.
	MarginalError float64
	Iterations    int
	// Grad holds ∂S/∂x, ∂S/∂y and ∂S/∂a, ∂S/∂b (the weights moving freely), when asked.
	Grad *Gradients
}

// UnbalancedDivergence computes the unbalanced Sinkhorn divergence S_ε,ρ between
// α = Σ a_i δ_{x_i} and β = Σ b_j δ_{y_j} under cost c with one KL penalty rho for
// both marginals (GeomLoss's reach^p, see Reach). The weights may have any positive
// masses. OT_ε,ρ(α,β) is solved as in SinkhornUnbalanced with opts, the symmetric
// terms by the averaged damped fixed point with the dual's optimal constant shift. At rho = +Inf it is SinkhornDivergence,
// whose value and gradients it returns unchanged.
func UnbalancedDivergence(x, y *mat.Dense, a, b []float64, c Cost, eps, rho float64, opts *DivergenceOptions) (*UnbalancedDivergenceResult, error) {
	if err := penalty("rho", rho); err != nil {
		return nil, err
	}
	if math.IsInf(rho, 1) {
		d, err := SinkhornDivergence(x, y, a, b, c, eps, opts)
		if err != nil {
			return nil, err
		}
		return &UnbalancedDivergenceResult{Value: d.Value, XY: balancedResult(d.XY, rho), XX: balancedResult(d.XX, rho),
			YY: balancedResult(d.YY, rho), Converged: d.Converged, MarginalError: d.MarginalError,
			Iterations: d.Iterations, Grad: d.Grad}, nil
	}
	var sopts *SinkhornOptions
	grad := false
	if opts != nil {
		sopts, grad = &opts.SinkhornOptions, opts.Grad
	}
	pxy, c, err := pointProblemOf(unbalancedProblem, x, y, a, b, c, "unbalanced sinkhorn divergence", func(n, m int) float64 {
		return divergenceMatrices(n, m, sopts, grad)
	})
	if err != nil {
		return nil, err
	}
	n, m := pxy.n, pxy.m
	o, err := solveOptions(pxy, eps, sopts)
	if err != nil {
		return nil, err
	}
	pxx, pyy, err := selfProblems(pxy, x, y, c, eps)
	if err != nil {
		return nil, err
	}
	sym := o
	sym.InitF, sym.InitG = nil, nil
	r := &UnbalancedDivergenceResult{XY: pxy.solveUnbalanced(eps, rho, rho, o),
		XX: pxx.solveSymmetricUnbalanced(eps, rho, sym), YY: pyy.solveSymmetricUnbalanced(eps, rho, sym)}
	for _, s := range []*UnbalancedResult{r.XY, r.XX, r.YY} {
		if !allFinite([]float64{s.Dual, s.Cost}) || !allFinite(s.F) || !allFinite(s.G) {
			return nil, outOfRange("unbalanced sinkhorn divergence at eps = %g: a result is not finite", eps)
		}
	}
	w := rho + eps/2
	for i, ai := range pxy.a {
		r.Value += w * ai * (math.Exp(-r.XX.F[i]/rho) - math.Exp(-r.XY.F[i]/rho))
	}
	for j, bj := range pxy.b {
		r.Value += w * bj * (math.Exp(-r.YY.F[j]/rho) - math.Exp(-r.XY.G[j]/rho))
	}
	r.Converged = r.XY.Converged && r.XX.Converged && r.YY.Converged
	r.MarginalError = max(r.XY.MarginalError, r.XX.MarginalError, r.YY.MarginalError)
	r.Iterations = max(r.XY.Iterations, r.XX.Iterations, r.YY.Iterations)
	if grad {
		r.Grad = &Gradients{X: mat.NewDense(n, dimOf(x), nil), Y: mat.NewDense(m, dimOf(y), nil),
			A: make([]float64, n), B: make([]float64, m)}
		pxy.addPointGrad(r.Grad.X, 1, x, y, r.XY.F, r.XY.G, c, eps, false)
		pxy.addPointGrad(r.Grad.Y, 1, x, y, r.XY.F, r.XY.G, c, eps, true)
		pxx.addPointGrad(r.Grad.X, -1, x, x, r.XX.F, r.XX.G, c, eps, false)
		pyy.addPointGrad(r.Grad.Y, -1, y, y, r.YY.F, r.YY.G, c, eps, false)
		// The mass terms of the three duals and of ε/2 (Σa − Σb)² combine into
		// (ρ+ε)(e^(−f_αα/ρ) − e^(−f_αβ/ρ)), GeomLoss's backward.
		for i := range r.Grad.A {
			r.Grad.A[i] = (rho + eps) * (math.Exp(-r.XX.F[i]/rho) - math.Exp(-r.XY.F[i]/rho))
		}
		for j := range r.Grad.B {
			r.Grad.B[j] = (rho + eps) * (math.Exp(-r.YY.F[j]/rho) - math.Exp(-r.XY.G[j]/rho))
		}
	}
	return r, nil
}

// solveSymmetricUnbalanced solves OT_ε,ρ(α,α), whose potentials are equal, by the
// averaged fixed point f ← ½(f + λT(f)), as solveSymmetric does the balanced one,
// each step after the shift of f by the constant that maximizes the symmetric dual
// (see shiftSymmetric), the one direction the averaged damped map shrinks slowly.
func (p *problem) solveSymmetricUnbalanced(eps, rho float64, o SinkhornOptions) *UnbalancedResult {
	f, t := make([]float64, p.n), make([]float64, p.n)
	it := 0
	for _, e := range p.annealing(eps, o) {
		p.updateF(t, f, e)
		p.shiftSymmetric(f, t, e, rho)
		floats.Scale(damping(rho, e), t)
		average(f, t)
		it++
	}
	lam := damping(rho, eps)
	converged := false
	for {
		p.updateF(t, f, eps)
		// Both marginals of the plan of (f, f) are a e^((f − T(f))/ε), to meet a e^(−f/ρ).
		e, ePot := relaxedError(p.a, f, t, eps, rho, o.ErrorNorm)
		if p.done(2*e, 2*ePot, eps, o) {
			converged = true
			break
		} else if math.IsNaN(e) || it >= o.MaxIter {
			break
		}
		p.shiftSymmetric(f, t, eps, rho)
		floats.Scale(lam, t)
		average(f, t)
		it++
	}
	res := &UnbalancedResult{Eps: eps, RhoA: rho, RhoB: rho, Method: LogDomain, Iterations: it}
	p.finishUnbalanced(res, f, append([]float64(nil), f...), o.Plan)
	res.Converged = converged && allFinite([]float64{res.Cost, res.Dual, res.MarginalError}) && allFinite(f)
	return res
}

// shiftSymmetric moves f to f + c and its c-transform t = T(f) to t − c with the c that
// maximizes the symmetric dual 2ρ⟨a, 1 − e^(−f/ρ)⟩ − ε(M − (Σa)²) along constants,
// where the plan's mass M = ⟨a, e^((f−t)/ε)⟩ grows as e^(2c/ε): c = log(A/M)/(1/ρ +
// 2/ε) with A = ⟨a, e^(−f/ρ)⟩, in closed form. At the solution c = 0.
func (p *problem) shiftSymmetric(f, t []float64, eps, rho float64) {
	A, M := massTerm(p.a, f, rho), 0.0
	for i, ai := range p.a {
		if ai != 0 {
			M += ai * math.Exp((f[i]-t[i])/eps)
		}
	}
	c := math.Log(A/M) / (1/rho + 2/eps)
	if c == 0 || math.IsNaN(c) || math.IsInf(c, 0) {
		return
	}
	for i := range f {
		f[i] += c
		t[i] -= c
	}
}
