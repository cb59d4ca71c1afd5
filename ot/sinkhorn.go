package ot

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// SinkhornMethod selects how Sinkhorn iterates.
type SinkhornMethod int

const (
	// LogDomain updates the potentials f, g by soft-min (log-sum-exp) reductions. It
	// stays finite for any ε > 0 and costs one exp per kernel entry and half-iteration.
	LogDomain SinkhornMethod = iota
	// Stabilized iterates the scalings u, v of P = diag(u) K diag(v) by matrix–vector
	// products, absorbing them into log-domain potentials (and rebuilding K) whenever
	// they grow past a threshold (Schmitzer 2019). Much cheaper than LogDomain when
	// absorptions are rare (moderate ε); falls back to LogDomain if the kernel underflows.
	Stabilized
)

func (m SinkhornMethod) String() string {
	switch m {
	case LogDomain:
		return "log"
	case Stabilized:
		return "stabilized"
	}
	return "unknown"
}

// Defaults of SinkhornOptions.
const (
	DefaultSinkhornMaxIter = 10000
	DefaultSinkhornTol     = 1e-9
	// DefaultAbsorbAt is the |log u|, |log v| past which Stabilized absorbs its scalings.
	DefaultAbsorbAt = 50.0
)

// SinkhornOptions tunes Sinkhorn. A nil *SinkhornOptions means all defaults.
type SinkhornOptions struct {
	Method  SinkhornMethod
	MaxIter int // iteration cap; 0 means DefaultSinkhornMaxIter
	// Tol: stop when ‖P1−a‖ ≤ Tol (Pᵀ1 = b holds after each g-update) and, in the log
	// domain, the potentials move by at most Tol times the costs' spread (which only
	// binds for ε above that spread, where any potentials give nearly exact marginals
	// but the values depend on them); 0 means DefaultSinkhornTol.
	Tol float64
	// ErrorNorm is the p of the ℓp norm in the stopping test: 1 (the default when 0)
	// or 2, which is POT's stopThr criterion (OTT-JAX calls it norm_error).
	ErrorNorm int

	// EpsScaling in (0,1) anneals ε inside the solve: one iteration at each of
	// EpsStart, EpsStart·EpsScaling, … down to ε, then iterations at ε until Tol
	// (see Annealing; UnrolledOptions has the same fields). 0 disables it.
	EpsScaling float64
	// EpsStart is the first ε of the annealing; 0 means the largest cost entry.
	EpsStart float64

	// InitF, InitG warm-start the potentials (a⊗b convention); nil means zero.
	InitF, InitG []float64

	// Plan asks for the dense transport plan in the result.
	Plan bool

	// AbsorbAt is Stabilized's absorption threshold on |log u|, |log v|; 0 means DefaultAbsorbAt.
	AbsorbAt float64

	// NoNewton switches off the Newton finisher (see newton.go): by default, when the
	// marginal error stops decreasing, or decreases too slowly to reach Tol within
	// MaxIter, or MaxIter is reached after at least max(MinStallWindow, MaxIter/20)
	// iterations at ε, Sinkhorn hands its iterate to Newton steps on the dual, which
	// converge quadratically where Sinkhorn creeps (small ε). It never runs for a Tol
	// below the rounding of the marginals, for min(n, m) > NewtonMaxPoints, or when its
	// matrices would exceed MaxDenseBytes; nor for unbalanced problems.
	NoNewton bool
	// NewtonMaxIter caps the finisher's Newton steps; 0 means DefaultNewtonMaxIter.
	NewtonMaxIter int
}

func (o *SinkhornOptions) withDefaults() SinkhornOptions {
	var out SinkhornOptions
	if o != nil {
		out = *o
	}
	if out.MaxIter == 0 {
		out.MaxIter = DefaultSinkhornMaxIter
	}
	if out.Tol == 0 {
		out.Tol = DefaultSinkhornTol
	}
	if out.ErrorNorm == 0 {
		out.ErrorNorm = 1
	}
	if out.AbsorbAt == 0 {
		out.AbsorbAt = DefaultAbsorbAt
	}
	return out
}

func (o *SinkhornOptions) check(n, m int) error {
	switch {
	case o.Method != LogDomain && o.Method != Stabilized:
		return invalid("sinkhorn: unknown method %d", int(o.Method))
	case o.MaxIter < 0:
		return invalid("sinkhorn: MaxIter = %d is negative", o.MaxIter)
	case o.NewtonMaxIter < 0:
		return invalid("sinkhorn: NewtonMaxIter = %d is negative", o.NewtonMaxIter)
	case o.ErrorNorm != 1 && o.ErrorNorm != 2:
		return invalid("sinkhorn: ErrorNorm = %d must be 1 or 2", o.ErrorNorm)
	case !(o.Tol > 0):
		return invalid("sinkhorn: Tol = %v must be positive", o.Tol)
	case o.EpsScaling != 0 && !(o.EpsScaling > 0 && o.EpsScaling < 1):
		return invalid("sinkhorn: EpsScaling = %v must lie in (0,1)", o.EpsScaling)
	case o.EpsStart < 0 || math.IsNaN(o.EpsStart) || math.IsInf(o.EpsStart, 0):
		return invalid("sinkhorn: EpsStart = %v must be positive and finite (0: the largest cost)", o.EpsStart)
	case !(o.AbsorbAt > 0):
		return invalid("sinkhorn: AbsorbAt = %v must be positive", o.AbsorbAt)
	case o.InitF != nil && len(o.InitF) != n:
		return invalid("sinkhorn: InitF has %d entries for %d points", len(o.InitF), n)
	case o.InitG != nil && len(o.InitG) != m:
		return invalid("sinkhorn: InitG has %d entries for %d points", len(o.InitG), m)
	}
	for _, v := range [][]float64{o.InitF, o.InitG} {
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return invalid("sinkhorn: warm-start potential [%d] is %v", i, x)
			}
		}
	}
	return nil
}

// SinkhornResult is the output of an entropic OT solve.
type SinkhornResult struct {
	Eps float64
	// F, G are the potentials in the a⊗b convention, P_ij = a_i b_j exp((F_i+G_j−C_ij)/ε),
	// shifted so that ⟨a,F⟩ = ⟨b,G⟩. They are also the gradients of OT_ε with respect
	// to the weights a and b (up to an additive constant, which the simplex ignores).
	F, G []float64
	// Plan is the dense n×m plan, when SinkhornOptions.Plan is set.
	Plan *mat.Dense
	// Cost is the primal objective ⟨P,C⟩ + ε·KL(P|a⊗b) at the returned plan, with
	// KL(P|a⊗b) = Σ P_ij log(P_ij/(a_i b_j)).
	Cost       float64
	LinearCost float64 // ⟨P,C⟩
	KL         float64 // KL(P|a⊗b)
	// Dual is ⟨a,F⟩ + ⟨b,G⟩; equal to Cost at convergence.
	Dual float64
	// MarginalError is ‖P1−a‖₁ + ‖Pᵀ1−b‖₁ of the returned plan, whatever ErrorNorm.
	MarginalError float64
	// Iterations counts Sinkhorn's iterations (ε-scaling's included), NewtonIterations
	// the Newton finisher's steps after them (0 when it did not run).
	Iterations, NewtonIterations int
	// Converged reports that the stopping tolerance was met, checked on the returned
	// plan's row sums, and that every number of the result is finite.
	Converged bool
	// Method is the method that produced the result (Stabilized may fall back to
	// LogDomain, and hands over to it when ε exceeds the costs' spread by flatRatio).
	Method SinkhornMethod
	// Absorptions counts Stabilized's absorptions of scalings into potentials.
	Absorptions int
}

// Sinkhorn solves entropic OT between weights a (n) and b (m) with cost matrix C (n×m)
// at regularization eps (Cuturi 2013), in the log domain or a stabilized scaling domain
// (see SinkhornMethod). nil weights mean uniform. Any ε works from 2^-52 times the
// largest |cost| (below it the plan would be rounding noise: an error wrapping
// ErrOutOfRange) to the float64 maximum, where the value tends to ⟨a⊗b, C⟩ without
// loss of precision. A result that is not finite is an error.
func Sinkhorn(a, b []float64, C *mat.Dense, eps float64, opts *SinkhornOptions) (*SinkhornResult, error) {
	if C == nil || C.IsEmpty() {
		return nil, invalid("cost matrix is empty")
	}
	n, m := C.Dims()
	if err := denseFits(fmt.Sprintf("sinkhorn on a %d×%d cost matrix", n, m), area(n, m)*sinkhornMatrices(opts)); err != nil {
		return nil, err
	}
	// The stabilized solver checks the costs while it builds its first kernel, in the
	// same pass; every other path checks them first.
	deferCheck := opts != nil && opts.Method == Stabilized && opts.EpsScaling == 0
	p, err := newProblemCheck(a, b, C, n, m, !deferCheck)
	if err != nil {
		return nil, err
	}
	o, err := solveOptions(p, eps, opts)
	if err != nil {
		return nil, err
	}
	if p.boundsKnown { // else (deferred check) after the solve, if it fails: checkResult
		if err := p.resolution(eps); err != nil {
			return nil, err
		}
	}
	res := p.solve(eps, o)
	if p.badCost {
		return nil, costMatrix(C, n, m)
	}
	if err := p.checkResult(res); err != nil {
		return nil, err
	}
	return res, nil
}

// solveOptions checks ε and the options against problem p and fills in defaults.
func solveOptions(p *problem, eps float64, opts *SinkhornOptions) (SinkhornOptions, error) {
	if err := epsilon(eps); err != nil {
		return SinkhornOptions{}, err
	}
	o := opts.withDefaults()
	return o, o.check(p.n, p.m)
}

// sinkhornMatrices is the number of n×m matrices a Sinkhorn solve holds at once, the
// cost included: its transpose (log domain) or the kernel and, should the kernel
// underflow, the transpose too (stabilized), and the plan when asked for.
func sinkhornMatrices(o *SinkhornOptions) float64 {
	k := 2.0
	if o != nil && o.Method == Stabilized {
		k++
	}
	if o != nil && o.Plan {
		k++
	}
	return k
}

// pointProblem validates two weighted clouds and a cost and builds their problem,
// after checking with denseFits that the call named what, which holds dense(n, m)
// matrix entries in all, fits in memory.
func pointProblem(x, y *mat.Dense, a, b []float64, c Cost, what string, dense func(n, m int) float64) (*problem, Cost, error) {
	return pointProblemOf(newProblem, x, y, a, b, c, what, dense)
}

// pointProblemOf is pointProblem with the problem built by build (newProblem for
// probability weights, unbalancedProblem for any masses).
func pointProblemOf(build func(a, b []float64, C *mat.Dense, n, m int) (*problem, error), x, y *mat.Dense, a, b []float64, c Cost, what string, dense func(n, m int) float64) (*problem, Cost, error) {
	if err := c.check(); err != nil {
		return nil, c, err
	}
	if err := pointPair(x, y); err != nil {
		return nil, c, err
	}
	c = c.orDefault()
	n, _ := x.Dims()
	m, _ := y.Dims()
	if err := denseFits(fmt.Sprintf("%s between %d and %d points", what, n, m), dense(n, m)); err != nil {
		return nil, c, err
	}
	p, err := build(a, b, c.matrix(x, y), n, m)
	return p, c, err
}

// SinkhornPoints is Sinkhorn between the point clouds x (n×d) and y (m×d) under cost c.
func SinkhornPoints(x, y *mat.Dense, a, b []float64, c Cost, eps float64, opts *SinkhornOptions) (*SinkhornResult, error) {
	C, err := solverCost(x, y, c, "sinkhorn", opts)
	if err != nil {
		return nil, err
	}
	return Sinkhorn(a, b, C, eps, opts)
}

// solverCost is the cost matrix of the solver named what between x and y, after
// checking that the solve with opts fits in memory.
func solverCost(x, y *mat.Dense, c Cost, what string, opts *SinkhornOptions) (*mat.Dense, error) {
	n, m := rowsOf(x), rowsOf(y)
	if err := denseFits(fmt.Sprintf("%s between %d and %d points", what, n, m), area(n, m)*sinkhornMatrices(opts)); err != nil {
		return nil, err
	}
	return c.Matrix(x, y)
}

// problem is a validated entropic OT problem in flat storage.
type problem struct {
	n, m       int
	C          []float64 // n×m row-major cost
	ctCache    []float64 // its m×n transpose, built when a solver first needs it
	a, b       []float64
	loga, logb []float64
	// costUnchecked: C's entries are still to be checked for NaN and ±Inf (by the
	// stabilized solver's first kernel build, which sets badCost if one is).
	costUnchecked, badCost bool
	// lo, hi are the smallest and largest cost once boundsKnown (see bounds).
	lo, hi      float64
	boundsKnown bool
}

func newProblem(a, b []float64, C *mat.Dense, n, m int) (*problem, error) {
	return newProblemCheck(a, b, C, n, m, true)
}

// newProblemCheck is newProblem, leaving the finiteness of the costs unchecked (and
// marked so) unless checkCost.
func newProblemCheck(a, b []float64, C *mat.Dense, n, m int, checkCost bool) (*problem, error) {
	return checkedProblem(weights, a, b, C, n, m, checkCost)
}

// checkedProblem is buildProblem after checking the weights a and b by check
// (weights for probability vectors, masses for unbalanced measures).
func checkedProblem(check func(field string, w []float64, n int) ([]float64, error), a, b []float64, C *mat.Dense, n, m int, checkCost bool) (*problem, error) {
	a, err := check("a", a, n)
	if err != nil {
		return nil, err
	}
	if b, err = check("b", b, m); err != nil {
		return nil, err
	}
	return buildProblem(a, b, C, n, m, checkCost)
}

// buildProblem is newProblemCheck for validated weights.
func buildProblem(a, b []float64, C *mat.Dense, n, m int, checkCost bool) (*problem, error) {
	if err := costDims(C, n, m); err != nil {
		return nil, err
	}
	var err error
	p := &problem{n: n, m: m, a: a, b: b, costUnchecked: !checkCost}
	if checkCost {
		if p.lo, p.hi, err = costRange(C, n, m); err != nil {
			return nil, err
		}
		p.boundsKnown = true
	}
	if raw := C.RawMatrix(); raw.Stride == m {
		p.C = raw.Data[:n*m] // read only
	} else {
		p.C = make([]float64, 0, n*m)
		for i := 0; i < n; i++ {
			p.C = append(p.C, C.RawRowView(i)...)
		}
	}
	p.loga, p.logb = logs(a), logs(b)
	return p, nil
}

// Ct returns the transposed cost, so that g-updates read contiguous rows too.
func (p *problem) Ct() []float64 {
	if p.ctCache == nil {
		p.ctCache = make([]float64, p.n*p.m)
		const blk = 64
		for i0 := 0; i0 < p.n; i0 += blk {
			for j0 := 0; j0 < p.m; j0 += blk {
				for i := i0; i < min(i0+blk, p.n); i++ {
					for j := j0; j < min(j0+blk, p.m); j++ {
						p.ctCache[j*p.n+i] = p.C[i*p.m+j]
					}
				}
			}
		}
	}
	return p.ctCache
}

// bounds returns the smallest and largest cost, scanning the costs on first use when
// the validation did not.
func (p *problem) bounds() (lo, hi float64) {
	if !p.boundsKnown {
		p.lo, p.hi = math.Inf(1), math.Inf(-1)
		for _, v := range p.C {
			p.lo, p.hi = min(p.lo, v), max(p.hi, v)
		}
		p.boundsKnown = true
	}
	return p.lo, p.hi
}

// flatRatio is how far ε must exceed the spread of the costs before the solvers take
// their flat-kernel forms (softminRowFlat, the log domain instead of scalings). The
// usual forms lose about ε·2^-52 to rounding, 2^-36 of the spread at this ratio; the
// flat forms are exact to rounding for any ε above the spread.
const flatRatio = 1 << 16

// flat reports whether ε exceeds the spread of the costs by flatRatio.
func (p *problem) flat(eps float64) bool {
	if !p.boundsKnown && p.m > 0 {
		// The first row's spread bounds the costs' from below: an ε within flatRatio
		// of it is not flat, and needs no scan of the costs.
		row := p.C[:p.m]
		if eps <= flatRatio*(floats.Max(row)-floats.Min(row)) {
			return false
		}
	}
	lo, hi := p.bounds()
	return eps > flatRatio*(hi-lo)
}

// resolution reports, as an error, an ε below the float64 resolution of the costs:
// with |C_ij| up to R the exponents (f_i + g_j − C_ij)/ε of the plan carry rounding
// errors of R·2^-52/ε, which at ε < R·2^-52 is more than 1, so that no plan, value
// or convergence test computed from them means anything.
func (p *problem) resolution(eps float64) error {
	lo, hi := p.bounds()
	if r := max(-lo, hi); eps < r*0x1p-52 {
		return outOfRange("eps = %g is below the float64 resolution of costs up to %g: the plan's exponents (f+g−C)/ε would be rounding noise; ε must be at least %.3g (2^-52 of the largest cost); for ε → 0 use Exact", eps, r, r*0x1p-52)
	}
	return nil
}

// finite reports whether every number of the result is finite.
func (r *SinkhornResult) finite() bool {
	return allFinite([]float64{r.Cost, r.LinearCost, r.KL, r.Dual, r.MarginalError}) && allFinite(r.F) && allFinite(r.G)
}

// checkResult returns the error for a result of p that did not converge because ε is
// below the costs' resolution, or that is not finite.
func (p *problem) checkResult(r *SinkhornResult) error {
	if r.Converged {
		return nil // converged implies finite
	}
	if err := p.resolution(r.Eps); err != nil {
		return err
	}
	if !r.finite() {
		return outOfRange("sinkhorn at eps = %g: the result is not finite (dual %v, cost %v, marginal error %v)", r.Eps, r.Dual, r.Cost, r.MarginalError)
	}
	return nil
}

// metTol reports whether the plan with row sums rows meets the tolerance:
// k·‖rows − a‖ ≤ Tol in the options' norm (k = 2 counts both marginals of a symmetric
// plan), up to the rounding of the sums, (n+m+8)·2^-53. The iterations measure their
// error by a cheaper formula that rounding can fool (at ε below the precision of the
// potentials it reads 0 while the plan is far off): this is the check of the plan
// actually returned.
func (p *problem) metTol(rows []float64, k float64, o SinkhornOptions) bool {
	e := 0.0
	for i, r := range rows {
		d := math.Abs(r - p.a[i])
		if o.ErrorNorm == 2 {
			d *= d
		}
		e += d
	}
	if o.ErrorNorm == 2 {
		e = math.Sqrt(e)
	}
	return k*e <= o.Tol+k*float64(p.n+p.m+8)*0x1p-53
}

// updateF sets f to the c-transform of g, the f-update of Sinkhorn.
func (p *problem) updateF(f, g []float64, eps float64) {
	lo, hi := p.bounds()
	softmin(f, p.C, p.n, p.m, g, p.b, p.logb, eps, hi-lo)
}

// updateG sets g to the c-transform of f, the g-update.
func (p *problem) updateG(g, f []float64, eps float64) {
	lo, hi := p.bounds()
	softmin(g, p.Ct(), p.m, p.n, f, p.a, p.loga, eps, hi-lo)
}

func logs(w []float64) []float64 {
	out := make([]float64, len(w))
	for i, v := range w {
		out[i] = math.Log(v)
	}
	return out
}

// softmin sets out_i = −ε log Σ_j w_j exp((h_j − M_ij)/ε) for the rows×cols matrix M
// whose entries span span: the c-transform that maps one potential to the other. For
// ε far above the spread of M_ij − h_j it takes softminRowFlat's form.
func softmin(out, M []float64, rows, cols int, h, w, logw []float64, eps, span float64) {
	if eps > flatRatio*span && eps > 2*(floats.Max(h)-floats.Min(h)) {
		wsum := floats.Sum(w)
		parallel.For(rows, cols, func(_, lo, hi int) {
			d := make([]float64, cols)
			for i := lo; i < hi; i++ {
				out[i] = softminRowFlat(M[i*cols:(i+1)*cols], h, w, d, wsum, eps)
			}
		})
		return
	}
	parallel.For(rows, cols, func(_, lo, hi int) {
		shift, z := softminShift(h, logw, eps), make([]float64, cols)
		for i := lo; i < hi; i++ {
			out[i] = softminRow(M[i*cols:(i+1)*cols], shift, z, eps)
		}
	})
}

// softminShift returns logw_j + h_j/ε, the row-independent part of softmin.
func softminShift(h, logw []float64, eps float64) []float64 {
	shift := make([]float64, len(h))
	for j := range shift {
		shift[j] = logw[j] + h[j]/eps
	}
	return shift
}

// softminRow is one entry of softmin, with z as scratch.
func softminRow(row, shift, z []float64, eps float64) float64 {
	inv := 1 / eps
	mx := math.Inf(-1)
	for j, c := range row {
		z[j] = shift[j] - c*inv
		mx = max(mx, z[j])
	}
	for j := range z {
		z[j] -= mx
	}
	expSlice(z)
	return -eps * (mx + math.Log(floats.Sum(z)))
}

// softminRowFlat is one entry of softmin for ε above the spread of row_j − h_j: with
// d_j = row_j − h_j, m = min d (over positive weights) and t_j = (d_j − m)/ε < 1,
//
//	−ε log Σ_j w_j exp(−d_j/ε) = m − ε log1p(Σ_j w_j expm1(−t_j) / Σ_j w_j),
//
// the weights counted as normalized. It is exact to rounding however large ε is,
// where softminRow, which adds log w_j to the exponents, loses ε·2^-52 (at ε = 1e20
// everything); and as ε → ∞ it tends to the weighted mean ⟨w, d⟩. d is scratch.
func softminRowFlat(row, h, w, d []float64, wsum, eps float64) float64 {
	m := math.Inf(1)
	for j, c := range row {
		d[j] = c - h[j]
		if w[j] > 0 {
			m = min(m, d[j])
		}
	}
	s := 0.0
	for j, dj := range d {
		if w[j] > 0 {
			s += w[j] * math.Expm1(-(dj-m)/eps)
		}
	}
	return m - eps*math.Log1p(s/wsum)
}

// rowError returns ‖P1 − a‖_norm for the plan of (f, g) given fNew = softmin of g,
// using (P1)_i = a_i exp((f_i − fNew_i)/ε): the error comes free with the next update.
// ePot is the same norm of a∘(f − fNew), the error in the potentials' units.
func rowError(a, f, fNew []float64, eps float64, norm int) (e, ePot float64) {
	for i, ai := range a {
		if ai > 0 {
			d, dp := ai*math.Abs(math.Expm1((f[i]-fNew[i])/eps)), ai*math.Abs(f[i]-fNew[i])
			if norm == 2 {
				d, dp = d*d, dp*dp
			}
			e += d
			ePot += dp
		}
	}
	if norm == 2 {
		return math.Sqrt(e), math.Sqrt(ePot)
	}
	return e, ePot
}

// done is the stopping test of the log-domain iterations on the errors of rowError:
// the marginal error at most Tol and, since for ε above the costs' spread any
// potentials give nearly exact marginals while the values depend on the potentials
// themselves, the potentials' error at most Tol times that spread (or their rounding,
// 2^-40 of the largest cost, or of ε where softminRow rounds the logs of the weights).
// For ε below the spread the second test follows from the first.
func (p *problem) done(e, ePot, eps float64, o SinkhornOptions) bool {
	lo, hi := p.bounds()
	return e <= o.Tol && ePot <= max(o.Tol*(hi-lo), 0x1p-40*max(-lo, hi, min(eps, flatRatio*(hi-lo))))
}

// Annealing is ε-scaling (Kosowsky & Yuille 1994; Schmitzer 2019): the first
// iterations run at Start, Start·Scaling, Start·Scaling², … for as long as that
// exceeds the target ε, then at ε, so that they see a smoother problem first. It is
// SinkhornOptions' and UnrolledOptions' EpsScaling and EpsStart. The zero value
// anneals nothing.
type Annealing struct {
	Scaling float64 // in (0,1); 0 disables the annealing
	Start   float64 // the first ε; 0 means the largest cost of the problem
}

func (an Annealing) check() error {
	switch {
	case an.Scaling != 0 && !(an.Scaling > 0 && an.Scaling < 1):
		return invalid("ε-scaling factor %v must lie in (0,1)", an.Scaling)
	case an.Start < 0 || math.IsNaN(an.Start) || math.IsInf(an.Start, 0):
		return invalid("ε-scaling start %v must be positive and finite (0: the largest cost)", an.Start)
	}
	return nil
}

// steps returns the ε values the annealing visits above eps, at most limit of them;
// maxCost is the problem's largest cost, which a Start of 0 stands for.
func (an Annealing) steps(eps, maxCost float64, limit int) []float64 {
	if an.Scaling == 0 {
		return nil
	}
	e := an.Start
	if e == 0 {
		e = maxCost
	}
	var out []float64
	for ; e > eps && len(out) < limit; e *= an.Scaling {
		out = append(out, e)
	}
	return out
}

// annealing returns the ε values that the options' ε-scaling visits before ε itself,
// within MaxIter.
func (p *problem) annealing(eps float64, o SinkhornOptions) []float64 {
	if o.EpsScaling == 0 {
		return nil // without a scan of the costs for their largest
	}
	_, hi := p.bounds()
	return Annealing{Scaling: o.EpsScaling, Start: o.EpsStart}.steps(eps, hi, o.MaxIter)
}

func (p *problem) solve(eps float64, o SinkhornOptions) *SinkhornResult {
	// A log-domain iteration is two parallel sweeps with a serial step between: keep
	// the workers awake for the whole solve. Stabilized does not hold them: its serial
	// step (the v-update, O(m)) is shorter than the workers' own poll after a block,
	// so they stay awake on an idle machine anyway, while on a busy one a held worker
	// claims its block at once and, descheduled mid-block, stalls the join (and its
	// polling takes CPU from the caller): the seedplot's converged rows at dim 1024
	// ran twice as long held as not, and no faster than on one thread.
	if o.Method == LogDomain && parallel.Hold(p.n, p.m) {
		defer parallel.Release()
	}
	f, g := make([]float64, p.n), make([]float64, p.m)
	copy(f, o.InitF)
	copy(g, o.InitG)
	it := 0
	for _, e := range p.annealing(eps, o) {
		p.updateF(f, g, e)
		p.updateG(g, f, e)
		it++
	}
	res := &SinkhornResult{Eps: eps, Method: o.Method}
	if o.Method == Stabilized && p.flat(eps) {
		// The kernel is flat: its scalings would lose ε·2^-52 of the potentials, while
		// the log domain converges in a few iterations.
		res.Method = LogDomain
	}
	var converged bool
	var sp *scaledPlan
	w := p.stallWatch(o)
	for {
		if res.Method == Stabilized {
			var ok bool
			var used int
			f, g, sp, used, converged, ok = p.stabilized(f, g, eps, o, it, res, w)
			it += used
			if p.badCost {
				return nil
			}
			if !ok {
				// The kernel underflowed: finish in the log domain from the last finite iterate.
				var more int
				res.Method = LogDomain
				f, g, more, converged = p.logDomain(f, g, eps, o, it, w)
				it += more
			}
		} else {
			var used int
			f, g, used, converged = p.logDomain(f, g, eps, o, it, w)
			it += used
		}
		if converged || !w.handsOver(it, o) {
			break
		}
		if sp != nil {
			parallel.Float64.Put(sp.K)
			sp = nil
		}
		var steps int
		f, g, steps, converged = p.newton(f, g, eps, o, w.maxNewton-res.NewtonIterations)
		res.NewtonIterations += steps
		if converged || it >= o.MaxIter || res.NewtonIterations >= w.maxNewton {
			break
		}
		// Newton ended short of Tol (typically from an iterate still in Sinkhorn's
		// transient, where the plan has rows that underflow): Sinkhorn resumes from
		// Newton's iterate, watched over twice the window.
		w.rearm()
	}
	res.Iterations = it
	rows := p.finish(res, f, g, eps, o.Plan, sp)
	if sp != nil {
		parallel.Float64.Put(sp.K)
	}
	res.Converged = converged && res.finite() && p.metTol(rows, 1, o)
	return res
}

// logDomain alternates f- and g-updates from (f, g) until the row marginal error of
// the current iterate is at most Tol (see done), or MaxIter counting the done iterations already
// spent, or w (when not nil) hands over to Newton. The returned pair always has
// g = c-transform of f, so Pᵀ1 = b.
func (p *problem) logDomain(f, g []float64, eps float64, o SinkhornOptions, done int, w *stallWatch) (_, _ []float64, iters int, converged bool) {
	fNew := make([]float64, p.n)
	// The error is only measured once a g-update at this ε has made Pᵀ1 = b.
	measured := false
	for {
		p.updateF(fNew, g, eps)
		if measured {
			e, ePot := rowError(p.a, f, fNew, eps, o.ErrorNorm)
			if p.done(e, ePot, eps, o) {
				return f, g, iters, true
			}
			if math.IsNaN(e) || w.observe(e, done+iters, o) || done+iters >= o.MaxIter {
				return f, g, iters, false
			}
		}
		f, fNew = fNew, f
		p.updateG(g, f, eps)
		iters++
		measured = true
	}
}

// finish fills the result from the potentials in one pass over the plan, and returns
// the plan's row sums. With sp the plan entries come from the scaling-domain kernel
// (no exp), else from f and g.
func (p *problem) finish(res *SinkhornResult, f, g []float64, eps float64, wantPlan bool, sp *scaledPlan) []float64 {
	if sp != nil && sp.rows != nil {
		p.finishScaled(res, f, g, eps, wantPlan, sp)
		return sp.rows
	}
	if wantPlan {
		res.Plan = mat.NewDense(p.n, p.m, nil)
	}
	rowSums, colSums, lin := p.planSums(f, g, eps, sp, res.Plan)
	colErr, dotG := 0.0, 0.0
	for j, s := range colSums {
		colErr += math.Abs(s - p.b[j])
		if s > 0 {
			dotG += s * g[j]
		}
	}
	rowErr, dotF := 0.0, 0.0
	for i, s := range rowSums {
		rowErr += math.Abs(s - p.a[i])
		if s > 0 {
			dotF += s * f[i]
		}
	}
	p.setResult(res, f, g, eps, lin, dotF+dotG, rowErr+colErr)
	return rowSums
}

// planSums makes one pass over the plan of the potentials (f, g), or of sp's scalings
// when not nil, and returns its row and column sums and ⟨P,C⟩; it writes the plan into
// plan when not nil.
func (p *problem) planSums(f, g []float64, eps float64, sp *scaledPlan, plan *mat.Dense) (rowSums, colSums []float64, linear float64) {
	n, m := p.n, p.m
	blocks := parallel.MaxBlocks()
	blockCols := make([][]float64, blocks)
	lin := make([]float64, blocks)
	rowSums = make([]float64, n)
	parallel.For(n, m, func(blk, lo, hi int) {
		cs := make([]float64, m)
		blockCols[blk] = cs
		inv := 1 / eps
		prow := make([]float64, m)
		for i := lo; i < hi; i++ {
			if p.a[i] == 0 {
				continue
			}
			row := p.C[i*m : (i+1)*m]
			if sp != nil {
				ui, krow := sp.u[i], sp.K[i*m:(i+1)*m]
				for j := range prow {
					prow[j] = ui * krow[j] * sp.v[j]
				}
			} else {
				for j, c := range row {
					prow[j] = p.loga[i] + p.logb[j] + (f[i]+g[j]-c)*inv
				}
				expSlice(prow)
			}
			rowSums[i] = floats.Sum(prow)
			axpy(1, prow, cs)
			lin[blk] += dot(prow, row) // per row: the blocks' totals share a cache line
			if plan != nil {
				plan.SetRow(i, prow)
			}
		}
	})
	colSums = make([]float64, m)
	for j := range colSums {
		s := 0.0
		for _, cs := range blockCols {
			if cs != nil {
				s += cs[j]
			}
		}
		colSums[j] = s
	}
	return rowSums, colSums, floats.Sum(lin)
}

// setResult fills in the result from the potentials, ⟨P,C⟩, ⟨P1,f⟩ + ⟨Pᵀ1,g⟩ and the
// marginal error of the plan.
func (p *problem) setResult(res *SinkhornResult, f, g []float64, eps, lin, dotFG, marginalErr float64) {
	res.LinearCost = lin
	// Σ P log(P/(a⊗b)) = Σ P (f_i + g_j − C_ij)/ε = (⟨P1,f⟩ + ⟨Pᵀ1,g⟩ − ⟨P,C⟩)/ε.
	res.KL = (dotFG - res.LinearCost) / eps
	res.Cost = res.LinearCost + eps*res.KL
	shift := (floats.Dot(p.a, f) - floats.Dot(p.b, g)) / 2
	floats.AddConst(-shift, f)
	floats.AddConst(shift, g)
	res.F, res.G = f, g
	res.Dual = floats.Dot(p.a, f) + floats.Dot(p.b, g)
	res.MarginalError = marginalErr
}

// finishScaled is finish for a scaling-domain plan whose marginals the iteration has
// computed: one pass for ⟨P,C⟩ = Σ_i u_i Σ_j K_ij C_ij v_j (and the plan, if wanted).
func (p *problem) finishScaled(res *SinkhornResult, f, g []float64, eps float64, wantPlan bool, sp *scaledPlan) {
	n, m := p.n, p.m
	if wantPlan {
		res.Plan = mat.NewDense(n, m, nil)
	}
	lin := make([]float64, parallel.MaxBlocks())
	parallel.For(n, m, func(blk, lo, hi int) {
		s := 0.0
		for i := lo; i < hi; i++ {
			ui := sp.u[i]
			if p.a[i] == 0 {
				continue
			}
			krow, crow := sp.K[i*m:(i+1)*m], p.C[i*m:(i+1)*m]
			if !wantPlan {
				s += ui * dot3(krow, crow, sp.v)
				continue
			}
			prow := res.Plan.RawRowView(i)
			for j := range prow {
				prow[j] = ui * krow[j] * sp.v[j]
			}
			s += dot(prow, crow)
		}
		lin[blk] = s
	})
	marg, dotFG := 0.0, 0.0
	for i, r := range sp.rows {
		marg += math.Abs(r - p.a[i])
		if r > 0 {
			dotFG += r * f[i]
		}
	}
	for j, c := range sp.cols {
		marg += math.Abs(c - p.b[j])
		if c > 0 {
			dotFG += c * g[j]
		}
	}
	p.setResult(res, f, g, eps, floats.Sum(lin), dotFG, marg)
}

// costDims checks that C is a non-empty n×m matrix, as costMatrix does before it
// checks the entries.
func costDims(C *mat.Dense, n, m int) error {
	if C == nil || C.IsEmpty() {
		return invalid("cost matrix is empty")
	}
	if r, c := C.Dims(); r != n || c != m {
		return invalid("cost matrix is %d×%d but the weights give %d×%d", r, c, n, m)
	}
	return nil
}
