package ot

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
)

// UnrolledBarycenter is the map λ ↦ P(λ) given by L iterations of Bregman projections
// in the scaling domain, started from u_k = 1,
//
//	v_k = ν_k / Kᵀu_k,   P = Π_k (K v_k)^λ_k,   u_k = P / K v_k,
//
// together with its exact reverse-mode adjoint: the vector–Jacobian product
// ∂ℓ/∂λ = (∂P/∂λ)ᵀ ∂ℓ/∂P through all L iterations (Bonneel, Peyré, Cuturi,
// "Wasserstein barycentric coordinates: histogram regression using optimal
// transport", ACM Trans. Graph. (SIGGRAPH) 2016, Algorithms 1–2). From u_k = 1 these
// are the iterates of Barycenter (the weighted geometric mean of the u_k stays 1, so
// Π_k (u_k ⊙ K v_k)^λ_k = Π_k (K v_k)^λ_k). Forward records the iterates; Backward
// replays them in reverse at the same cost as Forward. ε must be large enough that
// the kernel products do not underflow, as in the paper; Forward reports an error
// otherwise. Not safe for concurrent use.
type UnrolledBarycenter struct {
	bp *baryProblem
	L  int
	// tape of the last Forward: per iteration l, s = Kᵀu^(l−1), v, w = K v (N×n, N×n,
	// N×m) and the barycenter P^(l) (m).
	lambda  []float64
	s, v, w [][]float64
	P       [][]float64
}

// NewUnrolledBarycenter prepares L ≥ 1 unrolled iterations for the histograms hists
// on the support s at regularization ε (K = exp(−C/ε), as in Barycenter).
func NewUnrolledBarycenter(hists [][]float64, s Support, eps float64, L int) (*UnrolledBarycenter, error) {
	if L < 1 {
		return nil, invalid("unrolled barycenter: L = %d iterations, want at least 1", L)
	}
	bp, err := newBaryProblem(hists, s, eps, nil)
	if err != nil {
		return nil, err
	}
	tape := float64(L) * (2*area(bp.N, bp.n) + area(bp.N, bp.m) + float64(bp.m))
	if err := denseFits(fmt.Sprintf("the tape of %d unrolled barycenter iterations over %d histograms", L, bp.N), tape); err != nil {
		return nil, err
	}
	ub := &UnrolledBarycenter{bp: bp, L: L}
	for l := 0; l < L; l++ {
		ub.s = append(ub.s, make([]float64, bp.N*bp.n))
		ub.v = append(ub.v, make([]float64, bp.N*bp.n))
		ub.w = append(ub.w, make([]float64, bp.N*bp.m))
		ub.P = append(ub.P, make([]float64, bp.m))
	}
	return ub, nil
}

// errBaryUnderflow reports kernel products that under- or overflowed.
var errBaryUnderflow = errors.New("ot: unrolled barycenter: kernel products under- or overflow; increase ε")

// Forward returns P(λ) after L iterations (a new slice) and records the iterates for
// Backward. λ must lie on the simplex.
func (ub *UnrolledBarycenter) Forward(lambda []float64) ([]float64, error) {
	bp := ub.bp
	lambda, err := baryLambda(lambda, bp.N)
	if err != nil {
		return nil, err
	}
	ub.lambda = append(ub.lambda[:0], lambda...)
	N, m := bp.N, bp.m
	u := make([]float64, N*m)
	for i := range u {
		u[i] = 1
	}
	bad := func(x float64) bool { return !(x > 0) || math.IsInf(x, 1) }
	for l := 0; l < ub.L; l++ {
		s, v, w, P := ub.s[l], ub.v[l], ub.w[l], ub.P[l]
		bp.K.mulT(s, u, N)
		for i, x := range s {
			if bad(x) {
				return nil, errBaryUnderflow
			}
			v[i] = bp.nu[i] / x
		}
		bp.K.mul(w, v, N)
		clear(P)
		for k := 0; k < N; k++ {
			for i := 0; i < m; i++ {
				x := w[k*m+i]
				if bad(x) {
					return nil, errBaryUnderflow
				}
				if lambda[k] != 0 {
					P[i] += lambda[k] * math.Log(x)
				}
			}
		}
		for i, x := range P {
			P[i] = math.Exp(x)
		}
		for k := 0; k < N; k++ {
			for i := 0; i < m; i++ {
				u[k*m+i] = P[i] / w[k*m+i]
			}
		}
	}
	if !allFinite(ub.P[ub.L-1]) {
		return nil, errBaryUnderflow
	}
	return append([]float64(nil), ub.P[ub.L-1]...), nil
}

// Backward returns ∂ℓ/∂λ (length N) given grad = ∂ℓ/∂P at the λ of the last Forward,
// by the reverse-mode adjoint of the L iterations. The result is the derivative of
// the unrolled map on all of R^N; only its component along the simplex, differences
// of entries, matters for λ on the simplex.
func (ub *UnrolledBarycenter) Backward(grad []float64) ([]float64, error) {
	bp := ub.bp
	if ub.lambda == nil {
		return nil, invalid("unrolled barycenter: Backward before Forward")
	}
	if len(grad) != bp.m {
		return nil, invalid("unrolled barycenter: gradient has %d entries for %d barycenter points", len(grad), bp.m)
	}
	for i, g := range grad {
		if math.IsNaN(g) || math.IsInf(g, 0) {
			return nil, invalid("unrolled barycenter: grad[%d] is %v", i, g)
		}
	}
	N, m, n := bp.N, bp.m, bp.n
	lam := ub.lambda
	gl := make([]float64, N)
	ubar := make([]float64, N*m) // adjoint of u^(l)
	bbar := make([]float64, m)   // adjoint of P^(l), summed over its uses
	wbar, vbar, sbar := make([]float64, N*m), make([]float64, N*n), make([]float64, N*n)
	for l := ub.L - 1; l >= 0; l-- {
		s, v, w, P := ub.s[l], ub.v[l], ub.w[l], ub.P[l]
		// u_k = P / w_k.
		if l == ub.L-1 {
			copy(bbar, grad)
		} else {
			clear(bbar)
		}
		for k := 0; k < N; k++ {
			for i := 0; i < m; i++ {
				bbar[i] += ubar[k*m+i] / w[k*m+i]
			}
		}
		// P = exp(Σ_k λ_k log w_k): ∂P/∂w_k = λ_k P / w_k, ∂P/∂λ_k = P log w_k.
		for k := 0; k < N; k++ {
			g := 0.0
			for i := 0; i < m; i++ {
				x, pb := w[k*m+i], bbar[i]*P[i]
				wbar[k*m+i] = (lam[k]*pb - ubar[k*m+i]*P[i]/x) / x
				g += pb * math.Log(x)
			}
			gl[k] += g
		}
		// w_k = K v_k, v_k = ν_k / s_k, s_k = Kᵀu_k.
		bp.K.mulT(vbar, wbar, N)
		if l == 0 {
			break // u^(0) = 1 is a constant
		}
		for i := range sbar {
			sbar[i] = -vbar[i] * v[i] / s[i]
		}
		bp.K.mul(ubar, sbar, N)
	}
	return gl, nil
}

// CoordinatesLoss is the loss between the barycenter P(λ) and the target h that
// BarycentricCoordinates minimizes.
type CoordinatesLoss int

const (
	// L2Loss is ½‖P − h‖².
	L2Loss CoordinatesLoss = iota
	// KLLoss is KL(h | P) = Σ h log(h/P) − h + P.
	KLLoss
)

func (l CoordinatesLoss) String() string {
	switch l {
	case L2Loss:
		return "l2"
	case KLLoss:
		return "kl"
	}
	return "unknown"
}

// eval returns the loss and writes ∂loss/∂P to grad.
func (l CoordinatesLoss) eval(P, h, grad []float64) float64 {
	v := 0.0
	for i, p := range P {
		switch l {
		case L2Loss:
			d := p - h[i]
			v += d * d / 2
			grad[i] = d
		case KLLoss:
			if h[i] > 0 {
				v += h[i] * math.Log(h[i]/p)
			}
			v += p - h[i]
			grad[i] = 1 - h[i]/p
		}
	}
	return v
}

// Defaults of CoordinatesOptions.
const (
	DefaultCoordinatesIterations = 50
	DefaultCoordinatesMaxIter    = 200
	DefaultCoordinatesTol        = 1e-7
)

// CoordinatesOptions tunes BarycentricCoordinates. A nil *CoordinatesOptions means
// all defaults.
type CoordinatesOptions struct {
	// Iterations is L, the number of unrolled Bregman iterations defining P(λ);
	// 0 means DefaultCoordinatesIterations.
	Iterations int
	Loss       CoordinatesLoss
	// MaxIter caps the L-BFGS iterations; 0 means DefaultCoordinatesMaxIter.
	MaxIter int
	// Tol stops L-BFGS when the Frank–Wolfe gap ⟨λ, ∇_λ loss⟩ − min_k ∂loss/∂λ_k, a
	// measure of stationarity on the simplex that vanishes at optima on its boundary
	// too, is at most Tol times the loss at Init; 0 means DefaultCoordinatesTol.
	Tol float64
	// Init is the starting λ, in the interior of the simplex; nil means uniform.
	Init []float64
}

// CoordinatesResult is the output of BarycentricCoordinates.
type CoordinatesResult struct {
	Lambda      []float64 // the barycentric coordinates λ on the simplex
	Barycenter  []float64 // P(λ)
	Loss        float64   // loss(P(λ), h)
	Iterations  int       // L-BFGS iterations
	Evaluations int       // evaluations of P and its adjoint
	// Converged reports that the Frank–Wolfe gap tolerance was met, or that rounding
	// stopped the decrease of the loss with the gap within 1000 times the tolerance.
	Converged bool
}

// BarycentricCoordinates finds the Wasserstein barycentric coordinates of the target
// histogram h with respect to the histograms ν_1..ν_N (Bonneel, Peyré, Cuturi,
// SIGGRAPH 2016): the λ on the simplex minimizing loss(P(λ), h), where P(λ) is the
// entropic barycenter after L unrolled Bregman iterations (UnrolledBarycenter) and the
// gradient comes from their reverse-mode adjoint. As in the paper, λ = softmax(θ)
// and θ ∈ R^N is optimized by L-BFGS, so coordinates at the boundary of the simplex
// are approached but never reached; a run stuck on a face where the Frank–Wolfe gap
// is not small (softmax is flat there) restarts from an interior point. P(λ) is the Wasserstein projection of h onto the
// barycentric span of the ν_k.
func BarycentricCoordinates(hists [][]float64, target []float64, s Support, eps float64, opts *CoordinatesOptions) (*CoordinatesResult, error) {
	var o CoordinatesOptions
	if opts != nil {
		o = *opts
	}
	if o.Iterations == 0 {
		o.Iterations = DefaultCoordinatesIterations
	}
	if o.MaxIter == 0 {
		o.MaxIter = DefaultCoordinatesMaxIter
	}
	if o.Tol == 0 {
		o.Tol = DefaultCoordinatesTol
	}
	switch {
	case o.Loss != L2Loss && o.Loss != KLLoss:
		return nil, invalid("coordinates: unknown loss %d", int(o.Loss))
	case o.MaxIter < 0:
		return nil, invalid("coordinates: MaxIter = %d is negative", o.MaxIter)
	case !(o.Tol > 0):
		return nil, invalid("coordinates: Tol = %v must be positive", o.Tol)
	}
	ub, err := NewUnrolledBarycenter(hists, s, eps, o.Iterations)
	if err != nil {
		return nil, err
	}
	N, m := ub.bp.N, ub.bp.m
	if len(target) != m {
		return nil, invalid("coordinates: target has %d entries but the support has %d barycenter points", len(target), m)
	}
	if target, err = weights("target", target, m); err != nil {
		return nil, err
	}
	theta := make([]float64, N)
	if o.Init != nil {
		init, err := baryLambda(o.Init, N)
		if err != nil {
			return nil, err
		}
		for k, x := range init {
			if !(x > 0) {
				return nil, invalid("coordinates: Init[%d] = %v must be positive (softmax parametrization)", k, x)
			}
			theta[k] = math.Log(x)
		}
	}
	res := &CoordinatesResult{}
	gP := make([]float64, m)
	lambda := make([]float64, N)
	var evalErr error
	gap := math.Inf(1) // Frank–Wolfe gap at the last gradient evaluation
	// eval returns the loss at θ and, if grad is not nil, its gradient in θ.
	eval := func(theta, grad []float64) float64 {
		if evalErr != nil {
			return math.NaN()
		}
		baryS(lambda, theta)
		P, err := ub.Forward(lambda)
		if err != nil {
			evalErr = err
			return math.NaN()
		}
		res.Evaluations++
		f := o.Loss.eval(P, target, gP)
		if grad != nil {
			gl, err := ub.Backward(gP)
			if err != nil {
				evalErr = err
				return math.NaN()
			}
			// λ = softmax(θ): ∂/∂θ_k = λ_k (gl_k − ⟨λ, gl⟩).
			mean := floats.Dot(lambda, gl)
			gap = mean - floats.Min(gl)
			for k := range grad {
				grad[k] = lambda[k] * (gl[k] - mean)
			}
		}
		return f
	}
	f0 := eval(theta, nil)
	if evalErr != nil {
		return nil, evalErr
	}
	scale := 1.0
	if f0 > 0 {
		scale = 1 / f0 // the optimizer sees a loss of 1 at the start
	}
	stop := func(strict bool) bool {
		if strict {
			return gap*scale <= o.Tol
		}
		return gap*scale <= 1e3*o.Tol
	}
	fg := func(x, grad []float64) float64 {
		f := eval(x, grad)
		floats.Scale(scale, grad)
		return scale * f
	}
	// Softmax flattens the loss where some λ_k ≈ 0: a run that overshot to a face of
	// the simplex where the Frank–Wolfe gap is not small is stuck there. Restart it
	// from halfway between its λ and the uniform weights, up to three times.
	x, iters, converged := baryLBFGS(theta, o.MaxIter, stop, fg)
	for restart := 0; restart < 3 && !converged && evalErr == nil && iters < o.MaxIter; restart++ {
		baryS(lambda, x)
		for k := range x {
			x[k] = math.Log((lambda[k] + 1/float64(N)) / 2)
		}
		var more int
		x, more, converged = baryLBFGS(x, o.MaxIter-iters, stop, fg)
		iters += more
	}
	if evalErr != nil {
		return nil, evalErr
	}
	res.Iterations, res.Converged = iters, converged
	var err2 error
	res.Lambda = make([]float64, N)
	baryS(res.Lambda, x)
	if res.Barycenter, err2 = ub.Forward(res.Lambda); err2 != nil {
		return nil, err2
	}
	res.Loss = o.Loss.eval(res.Barycenter, target, gP)
	return res, nil
}

// baryLBFGS minimizes f from x0 by limited-memory BFGS (Nocedal & Wright, Numerical
// Optimization, 2006, Algorithm 7.4/7.5; memory 8) with an Armijo backtracking line
// search. It stops when stop(true) holds after a gradient evaluation (converged),
// after maxIter iterations, or when rounding stops the decrease of f (a line search
// that fails, or five steps in a row that decrease f by less than 1e-15 relative),
// then reporting stop(false) as converged. fg returns f(x) and writes ∇f(x); a NaN
// value stops the search.
func baryLBFGS(x0 []float64, maxIter int, stop func(strict bool) bool, fg func(x, grad []float64) float64) (x []float64, iters int, converged bool) {
	const mem = 8
	n := len(x0)
	x = append([]float64(nil), x0...)
	g, d := make([]float64, n), make([]float64, n)
	xNew, gNew := make([]float64, n), make([]float64, n)
	f := fg(x, g)
	var S, Y [][]float64
	var rho []float64
	alpha := make([]float64, mem)
	stalled := 0
	for iters = 0; iters < maxIter; iters++ {
		if math.IsNaN(f) {
			return x, iters, false
		}
		if stop(true) {
			return x, iters, true
		}
		// Two-loop recursion: d = −H g.
		copy(d, g)
		for i := len(S) - 1; i >= 0; i-- {
			alpha[i] = rho[i] * floats.Dot(S[i], d)
			floats.AddScaled(d, -alpha[i], Y[i])
		}
		if k := len(S) - 1; k >= 0 {
			floats.Scale(floats.Dot(S[k], Y[k])/floats.Dot(Y[k], Y[k]), d)
		}
		for i := range S {
			beta := rho[i] * floats.Dot(Y[i], d)
			floats.AddScaled(d, alpha[i]-beta, S[i])
		}
		floats.Scale(-1, d)
		slope := floats.Dot(g, d)
		if !(slope < 0) { // not a descent direction: restart from steepest descent
			S, Y, rho = nil, nil, nil
			floats.ScaleTo(d, -1, g)
			slope = floats.Dot(g, d)
		}
		step := 1.0
		if len(S) == 0 {
			step = math.Min(1, 1/floats.Norm(g, math.Inf(1)))
		}
		var fNew float64
		accepted := false
		for ls := 0; ls < 40; ls++ {
			floats.AddScaledTo(xNew, x, step, d)
			fNew = fg(xNew, gNew)
			if fNew <= f+1e-4*step*slope {
				accepted = true
				break
			}
			if math.IsNaN(fNew) {
				return x, iters, false
			}
			step /= 2
		}
		if !accepted {
			return x, iters, stop(false)
		}
		s, y := make([]float64, n), make([]float64, n)
		floats.SubTo(s, xNew, x)
		floats.SubTo(y, gNew, g)
		if sy := floats.Dot(s, y); sy > 1e-300 {
			if len(S) == mem {
				S, Y, rho = S[1:], Y[1:], rho[1:]
			}
			S, Y, rho = append(S, s), append(Y, y), append(rho, 1/sy)
		}
		x, xNew = xNew, x
		g, gNew = gNew, g
		// Stop when rounding has taken over: five steps that no longer decrease f.
		if f-fNew <= 1e-15*math.Abs(f) {
			if stalled++; stalled == 5 {
				return x, iters + 1, stop(false)
			}
		} else {
			stalled = 0
		}
		f = fNew
	}
	return x, iters, stop(true)
}

// baryS sets λ = softmax(θ).
func baryS(lambda, theta []float64) {
	mx := floats.Max(theta)
	s := 0.0
	for k, t := range theta {
		lambda[k] = math.Exp(t - mx)
		s += lambda[k]
	}
	floats.Scale(1/s, lambda)
}
