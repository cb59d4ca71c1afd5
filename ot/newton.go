package ot

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Sinkhorn converges linearly at a rate set by the second singular value of the
// normalized plan; at small ε on clouds with outliers that rate is 1 − 10⁻⁶ or worse,
// and the marginal error creeps (4e-8 after 2 000 000 iterations on 25 vs 25 normal
// points at ε = 0.01). Newton's method on the dual converges quadratically there. The
// finisher below takes over from the Sinkhorn iterate when Sinkhorn will not reach Tol
// in its budget (see stallWatch). Its steps solve the Newton system directly, by a
// dense Cholesky factorization of its min(n,m)-sized Schur complement, in
// O(n·m·min(n,m)) operations (see NewtonMaxPoints).

// Defaults and limits of the Newton finisher.
const (
	// DefaultNewtonMaxIter caps the Newton steps of the finisher when
	// SinkhornOptions.NewtonMaxIter is 0.
	DefaultNewtonMaxIter = 50
	// NewtonMaxPoints is the largest min(n, m) for which the finisher runs: a step
	// builds and factors a min(n,m)² matrix, O(n·m·min(n,m)) operations, about a
	// thousand Sinkhorn iterations at this size.
	NewtonMaxPoints = 2048
	// MinStallWindow is the shortest window over which the stall test compares errors.
	MinStallWindow = 100
	// stallMargin: Sinkhorn hands over when, at the rate of the last window, reaching
	// Tol would take more than stallMargin times the iterations left, so that the
	// noise of one window's rate cannot end a solve that would converge in its budget.
	stallMargin = 2
	// newtonHalvings bounds the line search: a step shorter than 2^-30 is no progress.
	newtonHalvings = 30
	// newtonDoublings bounds the extension of a full step, to 2^10 times.
	newtonDoublings = 10
)

// stallWatch decides when Sinkhorn hands over to the Newton finisher. Every window of
// W = max(MinStallWindow, MaxIter/20) iterations at ε it compares the marginal error e
// (in the options' norm, as Tol) with the error W iterations before, e₀: with
// ρ = e/e₀, Sinkhorn stops when ρ ≥ 1 (the error stopped decreasing) or when reaching
// Tol at that rate, W·ln(Tol/e)/ln ρ more iterations, would take more than twice the
// iterations left before MaxIter. It also hands over at MaxIter, once one window has
// been watched: with fewer than W iterations at ε, MaxIter is a plain cap. A problem
// that converges steadily within its budget never triggers it. If Newton ends short of
// Tol (started in Sinkhorn's transient, where rows of the plan underflow and its
// quadratic model is useless), Sinkhorn resumes from Newton's iterate and the watch
// starts again with twice the window (rearm).
type stallWatch struct {
	maxNewton    int // NewtonMaxIter or its default
	window, next int
	e0           float64
	watched      bool // a whole window has passed
	stalled      bool // the last window's rate cannot reach Tol in the budget
}

// stallWatch returns the watch for a solve of p with options o, or nil when the
// finisher is off: switched off (NoNewton), a Tol below the rounding of the marginals
// (which no solver meets; such a Tol asks for exactly MaxIter iterations), a smaller
// side above NewtonMaxPoints, or matrices that would exceed MaxDenseBytes.
func (p *problem) stallWatch(o SinkhornOptions) *stallWatch {
	k := min(p.n, p.m)
	if o.NoNewton || o.Tol < float64(p.n+p.m+8)*0x1p-53 || k > NewtonMaxPoints {
		return nil
	}
	// The solve's matrices, the plan and the Newton matrix.
	if denseFits("newton", area(p.n, p.m)*(sinkhornMatrices(&o)+1)+area(k, k)) != nil {
		return nil
	}
	maxNewton := o.NewtonMaxIter
	if maxNewton == 0 {
		maxNewton = DefaultNewtonMaxIter
	}
	return &stallWatch{maxNewton: maxNewton, window: max(MinStallWindow, o.MaxIter/20)}
}

// rearm restarts the watch, with twice the window, after a Newton attempt that ended
// short of Tol: each attempt needs twice the iterations of the one before, so that
// failing attempts cost at most a few factorizations.
func (w *stallWatch) rearm() {
	*w = stallWatch{maxNewton: w.maxNewton, window: 2 * w.window}
}

// observe takes the error e of the iterate after k iterations in all (annealing
// included) and reports whether Sinkhorn should stop and hand over.
func (w *stallWatch) observe(e float64, k int, o SinkhornOptions) bool {
	switch {
	case w == nil:
		return false
	case w.next == 0:
		w.next, w.e0 = k+w.window, e
		return false
	case k < w.next:
		return false
	}
	rho := e / w.e0
	w.next, w.e0, w.watched = k+w.window, e, true
	if !(rho < 1) {
		w.stalled = true
	} else if need := float64(w.window) * math.Log(o.Tol/e) / math.Log(rho); need > stallMargin*float64(o.MaxIter-k) {
		w.stalled = true
	}
	return w.stalled
}

// handsOver reports whether Sinkhorn, stopped unconverged after it iterations, hands
// over to Newton.
func (w *stallWatch) handsOver(it int, o SinkhornOptions) bool {
	return w != nil && (w.stalled || w.watched && it >= o.MaxIter)
}

// newton is the finisher: Newton steps on the semi-dual of the smaller side, started
// from (f, g), until the row error is at most Tol/2 (in the options' norm), no step
// reduces it, or maxSteps steps (NewtonMaxIter less earlier attempts' steps). met
// reports an error at most Tol. The returned pair has g = c-transform of f, so
// Pᵀ1 = b, as Sinkhorn's; zero-weight points get the c-transforms of the other
// side's potential.
func (p *problem) newton(f, g []float64, eps float64, o SinkhornOptions, maxSteps int) (_, _ []float64, steps int, met bool) {
	q := p
	if p.m < p.n {
		q, f, g = p.transposed(), g, f
	}
	f, g, steps, met = q.semiDualNewton(f, g, eps, o, maxSteps)
	if q != p {
		f, g = g, f
	}
	p.updateG(g, f, eps)
	fillZeroWeight(f, p.a, g, p.logb, eps, func(i int, _ []float64) []float64 { return p.C[i*p.m : (i+1)*p.m] })
	return f, g, steps, met
}

// transposed is p with the roles of its sides exchanged.
func (p *problem) transposed() *problem {
	lo, hi := p.bounds()
	return &problem{n: p.m, m: p.n, C: p.Ct(), ctCache: p.C, a: p.b, b: p.a, loga: p.logb, logb: p.loga,
		lo: lo, hi: hi, boundsKnown: true}
}

// semiDualNewton maximizes the semi-dual F(f) = ⟨a,f⟩ + ⟨b,g(f)⟩, g(f) the c-transform
// of f (Pᵀ1 = b), whose gradient is a − r with r = P1 and whose Hessian is −S/ε,
//
//	S = diag(r) − P diag(1/c) Pᵀ,   c = Pᵀ1,
//
// the Schur complement of the dual's Hessian [diag(r) P; Pᵀ diag(c)] (Brauer, Clason,
// Lorenz, Wirth 2017, eliminated to the n ≤ m side). S is positive semi-definite with S·1 = 0
// (the potentials' shift); the step solves (S + τ11ᵀ) δ = ε(a − r) by Cholesky, where
// τ = mean(r)/n fills that null direction without changing the step (a − r ⊥ 1). A
// backtracking line search accepts f + tδ when the ℓ2 row error falls by the factor
// 1 − 10⁻⁴t, and a full step is doubled while that lowers the error further.
// Everything is in the log domain: the plan is exp(log a + log b + (f+g−C)/ε).
func (q *problem) semiDualNewton(f, g []float64, eps float64, o SinkhornOptions, maxSteps int) (_, _ []float64, steps int, met bool) {
	n, m := q.n, q.m
	P := mat.NewDense(n, m, nil)
	S := mat.NewSymDense(n, nil)
	var ch mat.Cholesky
	delta, rhs := mat.NewVecDense(n, nil), mat.NewVecDense(n, nil)
	ft, gt := make([]float64, n), make([]float64, m) // a trial step
	nf, ng := make([]float64, n), make([]float64, m) // the best step so far
	// eval sets g to the c-transform of f and returns the plan's marginals (the plan in
	// P), the row error in the options' norm and in ℓ2.
	eval := func(f, g []float64) (r, c []float64, e, e2 float64) {
		q.updateG(g, f, eps)
		r, c, _ = q.planSums(f, g, eps, nil, P)
		for i, ri := range r {
			d := math.Abs(ri - q.a[i])
			e, e2 = e+d, e2+d*d
		}
		if e2 = math.Sqrt(e2); o.ErrorNorm == 2 {
			e = e2
		}
		return r, c, e, e2
	}
	r, c, e, e2 := eval(f, g)
	for ; steps < maxSteps && e > o.Tol/2; steps++ {
		if !q.newtonStep(S, P, &ch, r, c, delta, rhs, eps) {
			break
		}
		// try takes f + tδ as the best step so far if its ℓ2 row error is below limit.
		var nr, nc []float64
		ne, ne2 := 0.0, math.Inf(1)
		planOf := false // P is the plan of the best step
		try := func(t, limit float64) bool {
			for i := range ft {
				ft[i] = f[i] + t*delta.AtVec(i)
			}
			rt, ct, et, et2 := eval(ft, gt)
			if planOf = false; !(et2 < limit) {
				return false
			}
			ft, gt, nf, ng = nf, ng, ft, gt
			nr, nc, ne, ne2, planOf = rt, ct, et, et2, true
			return true
		}
		t := 1.0
		for k := 0; k < newtonHalvings && !try(t, (1-1e-4*t)*e2); k++ {
			t /= 2
		}
		if math.IsInf(ne2, 1) {
			break // no step down to 2^-30 reduces the error
		}
		// A full step is doubled for as long as that reduces the error further: along
		// a direction in which the marginals depend exponentially on the potentials
		// (blocks of the plan coupled by tiny entries, the cause of Sinkhorn's stall)
		// a Newton step is about ε long and gains a factor e only.
		for k := 0; t == 1 && k < newtonDoublings && try(float64(int(2)<<k), ne2); k++ {
		}
		f, g, nf, ng = nf, ng, f, g
		r, c, e, e2 = nr, nc, ne, ne2
		if !planOf {
			eval(f, g) // the next step needs the plan in P
		}
	}
	return f, g, steps, e <= o.Tol
}

// newtonStep solves (S + τ11ᵀ) δ = ε(a − r) for the plan in P with marginals r, c (see
// semiDualNewton); P is overwritten. Zero-weight rows are held fixed (δ_i = 0). If
// rounding leaves S numerically indefinite, a growing multiple of the identity is
// added until Cholesky succeeds. It reports false if no factorization succeeds.
func (q *problem) newtonStep(S *mat.SymDense, P *mat.Dense, ch *mat.Cholesky, r, c []float64, delta, rhs *mat.VecDense, eps float64) bool {
	n, m := q.n, q.m
	sc := make([]float64, m)
	for j, cj := range c {
		if cj > 0 {
			sc[j] = 1 / math.Sqrt(cj)
		}
	}
	rmax, rsum := 0.0, 0.0
	for i := range n {
		row := P.RawRowView(i)
		for j := range row {
			row[j] *= sc[j]
		}
		rmax, rsum = max(rmax, r[i]), rsum+r[i]
	}
	// P diag(1/c) Pᵀ, by the package's product (fastblas) into S's storage: the upper
	// triangle is S's, the lower one is overwritten at the next step.
	mulNT(mat.NewDense(n, n, S.RawSymmetric().Data), P, P)
	tau := rsum / float64(n*n)
	for i := range n {
		for j := i; j < n; j++ {
			v := tau - S.At(i, j)
			if q.a[i] == 0 || q.a[j] == 0 {
				v = 0
			}
			if i == j {
				v += r[i]
				if q.a[i] == 0 {
					v = 1
				}
			}
			S.SetSym(i, j, v)
		}
		rhs.SetVec(i, eps*(q.a[i]-r[i]))
	}
	for shift, added := 0.0, 0.0; ; shift = max(4*shift, 0x1p-50*rmax) {
		for i := range n {
			S.SetSym(i, i, S.At(i, i)+shift-added)
		}
		added = shift
		if ch.Factorize(S) {
			break
		}
		if shift > rmax {
			return false
		}
	}
	// A Condition error (an estimated condition number above 1e16) still comes with
	// the solution: the line search judges the step.
	var cond mat.Condition
	err := ch.SolveVecTo(delta, rhs)
	return err == nil || errors.As(err, &cond)
}
