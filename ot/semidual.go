package ot

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Regularized dual and semi-dual of entropic OT, and their stochastic maximization
// (Genevay, Cuturi, Peyré, Bach, "Stochastic optimization for large-scale optimal
// transport", NeurIPS 2016).
//
// Conventions. With the a⊗b potentials of Sinkhorn, the dual of
// OT_ε(a,b) = min_P ⟨P,C⟩ + ε KL(P|a⊗b) is
//
//	D(f,g) = ⟨a,f⟩ + ⟨b,g⟩ − ε Σ_ij a_i b_j (exp((f_i + g_j − C_ij)/ε) − 1),
//
// maximized by Sinkhorn's (F, G) with max D = OT_ε. Maximizing in f for fixed g gives
// the c-transform f_i = −ε log Σ_j b_j exp((g_j − C_ij)/ε), and the semi-dual
//
//	S(g) = ⟨b,g⟩ + Σ_i a_i f_i(g) = Σ_i a_i h(x_i, g),
//	h(x, g) = ⟨b,g⟩ − ε log Σ_j b_j exp((g_j − c(x, y_j))/ε),
//
// concave and smooth in g with ∇_g h(x, g) = b − χ(x), χ_j(x) the softmax weights
// b_j exp((g_j − c(x,y_j))/ε) / Σ_l (…); again max S = OT_ε. At ε = 0 the semi-dual
// is the classical ⟨b,g⟩ + Σ_i a_i min_j (C_ij − g_j), with max = exact OT.
//
// Genevay et al. 2016 write KL(π|ξ) = ∫ (log(dπ/dξ) − 1) dπ, so their W_ε is
// OT_ε − ε, their dual lacks the "+ε" above and their h_ε carries an extra "−ε". The
// maximizers (f, g) are the same potentials; only the values differ by ε. POT's
// ot.stochastic uses the same potentials (its alpha, beta).

// EntropicDual returns D(f,g) (above) for weights a, b (nil: uniform), cost C and ε > 0,
// and its gradients ∂D/∂f_i = a_i (1 − Σ_j b_j E_ij), ∂D/∂g_j = b_j (1 − Σ_i a_i E_ij),
// E_ij = exp((f_i + g_j − C_ij)/ε).
func EntropicDual(a, b []float64, C *mat.Dense, eps float64, f, g []float64) (val float64, gradF, gradG []float64, err error) {
	p, err := sdProblem(a, b, C, eps, 2)
	if err != nil {
		return 0, nil, nil, err
	}
	if err := sdPotential("f", f, p.n); err != nil {
		return 0, nil, nil, err
	}
	if err := sdPotential("g", g, p.m); err != nil {
		return 0, nil, nil, err
	}
	gradF, gradG = make([]float64, p.n), make([]float64, p.m)
	colE := make([]float64, p.m)
	inv := 1 / eps
	mass := 0.0
	for i := 0; i < p.n; i++ {
		row := p.C[i*p.m : (i+1)*p.m]
		rowE := 0.0
		for j, c := range row {
			e := math.Exp((f[i] + g[j] - c) * inv)
			rowE += p.b[j] * e
			colE[j] += p.a[i] * e
		}
		gradF[i] = p.a[i] * (1 - rowE)
		mass += p.a[i] * rowE
	}
	for j := range gradG {
		gradG[j] = p.b[j] * (1 - colE[j])
	}
	val = floats.Dot(p.a, f) + floats.Dot(p.b, g) - eps*(mass-1)
	return val, gradF, gradG, nil
}

// EntropicSemiDual returns S(g) (above) for weights a, b (nil: uniform), cost C and
// ε ≥ 0, its gradient b − Σ_i a_i χ_i (at ε = 0 a supergradient, χ_i putting mass 1
// on the first minimizer of C_ij − g_j), and the c-transform f of g, so that (f, g)
// are a⊗b potentials and ⟨a,f⟩ + ⟨b,g⟩ = S(g).
func EntropicSemiDual(a, b []float64, C *mat.Dense, eps float64, g []float64) (val float64, grad, f []float64, err error) {
	p, err := sdProblemEps0(a, b, C, eps, 2)
	if err != nil {
		return 0, nil, nil, err
	}
	if err := sdPotential("g", g, p.m); err != nil {
		return 0, nil, nil, err
	}
	grad, f = make([]float64, p.m), make([]float64, p.n)
	chi := make([]float64, p.m)
	for i := 0; i < p.n; i++ {
		f[i] = p.rowGrad(chi, i, g, eps)
		floats.AddScaled(grad, -p.a[i], chi)
	}
	floats.Add(grad, p.b)
	return floats.Dot(p.a, f) + floats.Dot(p.b, g), grad, f, nil
}

// sdProb is a validated discrete problem for the (semi-)dual.
type sdProb struct {
	n, m       int
	C          []float64 // n×m row-major
	a, b, logb []float64
}

// sdProblem validates a problem at ε > 0 whose solver holds the given number of
// n×m matrices, the caller's cost and the problem's copy included (see denseFits).
func sdProblem(a, b []float64, C *mat.Dense, eps, matrices float64) (*sdProb, error) {
	if err := epsilon(eps); err != nil {
		return nil, err
	}
	return sdProblemEps0(a, b, C, 0, matrices)
}

func sdProblemEps0(a, b []float64, C *mat.Dense, eps, matrices float64) (*sdProb, error) {
	if eps < 0 || math.IsNaN(eps) || math.IsInf(eps, 0) {
		return nil, invalid("eps = %v: must be non-negative and finite", eps)
	}
	if C == nil || C.IsEmpty() {
		return nil, invalid("cost matrix is empty")
	}
	n, m := C.Dims()
	if err := denseFits(fmt.Sprintf("the (semi-)dual on a %d×%d cost matrix", n, m), matrices*area(n, m)); err != nil {
		return nil, err
	}
	a, err := weights("a", a, n)
	if err != nil {
		return nil, err
	}
	if b, err = weights("b", b, m); err != nil {
		return nil, err
	}
	if err := costMatrix(C, n, m); err != nil {
		return nil, err
	}
	p := &sdProb{n: n, m: m, a: a, b: b, logb: logs(b), C: make([]float64, 0, n*m)}
	for i := 0; i < n; i++ {
		p.C = append(p.C, C.RawRowView(i)...)
	}
	return p, nil
}

func sdPotential(field string, v []float64, n int) error {
	if len(v) != n {
		return invalid("%s has %d entries for %d points", field, len(v), n)
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return invalid("%s[%d] is %v", field, i, x)
		}
	}
	return nil
}

// rowGrad writes χ_i (the softmax weights of row i) to chi and returns the
// c-transform f_i = −ε log Σ_j b_j exp((g_j − C_ij)/ε) (min_j C_ij − g_j at ε = 0).
func (p *sdProb) rowGrad(chi []float64, i int, g []float64, eps float64) float64 {
	return sdRow(chi, p.C[i*p.m:(i+1)*p.m], g, p.logb, eps)
}

// sdRow is rowGrad for one row of costs.
func sdRow(chi, row, g, logb []float64, eps float64) float64 {
	if eps == 0 {
		best, arg := math.Inf(1), 0
		for j, c := range row {
			// Zero-weight points of ν take no mass.
			if !math.IsInf(logb[j], -1) && c-g[j] < best {
				best, arg = c-g[j], j
			}
		}
		clear(chi)
		chi[arg] = 1
		return best
	}
	inv := 1 / eps
	mx := math.Inf(-1)
	for j, c := range row {
		chi[j] = logb[j] + (g[j]-c)*inv
		mx = max(mx, chi[j])
	}
	for j := range chi {
		chi[j] -= mx
	}
	expSlice(chi)
	s := floats.Sum(chi)
	floats.Scale(1/s, chi)
	return -eps * (mx + math.Log(s))
}

// StochasticOptions tunes the stochastic semi-dual solvers. A nil *StochasticOptions
// means all defaults.
type StochasticOptions struct {
	// MaxIter is the number of stochastic steps; 0 means 10000 for SAG and 100000
	// for averaged SGD (POT's defaults are 10000 and 300000).
	MaxIter int
	// LearningRate is POT's lr: SAG steps g += lr/n · Σ_i d_i, averaged SGD steps
	// g += lr/√k · ∇h(x_k, g). 0 means POT's default ε / max_i a_i for the discrete
	// solvers, and ε / max_j b_j for SemiDiscreteASGD (about the inverse curvature of
	// the semi-dual, whose Hessian is −(diag(Eχ) − E χχᵀ)/ε).
	LearningRate float64
	// Seed seeds the sampling (PCG); runs with equal seeds are identical.
	Seed uint64
	// InitG warm-starts g; nil means zero.
	InitG []float64
	// ValueSamples is the number of fresh samples of μ SemiDiscreteASGD uses to
	// estimate the semi-dual value at its result; 0 means 10000.
	ValueSamples int
}

// SemiDualResult is the output of the stochastic semi-dual solvers.
type SemiDualResult struct {
	// G is the potential of the discrete measure ν, in the a⊗b convention.
	G []float64
	// F is the c-transform of G on the points of μ (discrete solvers only).
	F []float64
	// Value is the semi-dual S(G) ≤ OT_ε: exact for the discrete solvers, a Monte
	// Carlo estimate with standard error ValueStdErr for SemiDiscreteASGD.
	Value       float64
	ValueStdErr float64
	Iterations  int
}

func (o *StochasticOptions) sdDefaults(maxIter int, m int) (StochasticOptions, error) {
	var out StochasticOptions
	if o != nil {
		out = *o
	}
	if out.MaxIter == 0 {
		out.MaxIter = maxIter
	}
	if out.ValueSamples == 0 {
		out.ValueSamples = 10000
	}
	switch {
	case out.MaxIter < 0:
		return out, invalid("stochastic semi-dual: MaxIter = %d is negative", out.MaxIter)
	case out.LearningRate < 0 || math.IsNaN(out.LearningRate) || math.IsInf(out.LearningRate, 0):
		return out, invalid("stochastic semi-dual: LearningRate = %v must be positive and finite", out.LearningRate)
	case out.ValueSamples < 0:
		return out, invalid("stochastic semi-dual: ValueSamples = %d is negative", out.ValueSamples)
	}
	if out.InitG != nil {
		if err := sdPotential("InitG", out.InitG, m); err != nil {
			return out, err
		}
	}
	return out, nil
}

// SemiDualSAG maximizes the semi-dual S(g) of discrete entropic OT (ε > 0) by the
// stochastic average gradient (Schmidt, Le Roux, Bach 2017), as in Genevay et al.
// 2016, Algorithm 1, and POT's sag_entropic_transport: at each step a point i of μ
// is drawn uniformly, its gradient d_i = a_i ∇_g h(x_i, g) replaces the stored one,
// and g moves along the sum of stored gradients. Linear convergence; each step costs
// O(m), the memory is n×m.
func SemiDualSAG(a, b []float64, C *mat.Dense, eps float64, opts *StochasticOptions) (*SemiDualResult, error) {
	p, err := sdProblem(a, b, C, eps, 3) // and the stored gradients
	if err != nil {
		return nil, err
	}
	o, err := opts.sdDefaults(10000, p.m)
	if err != nil {
		return nil, err
	}
	lr := o.LearningRate
	if lr == 0 {
		lr = eps / floats.Max(p.a)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5a6))
	g := make([]float64, p.m)
	copy(g, o.InitG)
	stored := make([]float64, p.n*p.m)
	sum := make([]float64, p.m)
	chi := make([]float64, p.m)
	step := lr / float64(p.n)
	for it := 0; it < o.MaxIter; it++ {
		i := rng.IntN(p.n)
		p.rowGrad(chi, i, g, eps)
		d := stored[i*p.m : (i+1)*p.m]
		for j := range sum {
			gij := p.a[i] * (p.b[j] - chi[j])
			sum[j] += gij - d[j]
			d[j] = gij
			g[j] += step * sum[j]
		}
	}
	return p.semiDualResult(g, eps, o.MaxIter), nil
}

// SemiDualASGD maximizes the semi-dual S(g) of discrete OT (ε ≥ 0; ε = 0 is exact OT)
// by averaged stochastic gradient ascent (Polyak & Juditsky 1992), Genevay et al.
// 2016, Algorithm 2: x_k is drawn from μ (index i with probability a_i, so the step is
// an unbiased gradient of S), g += lr/√k · ∇h(x_k, g), and the result is the running
// average of the iterates. O(1/√k) convergence; each step costs O(m), memory O(m).
// (POT's averaged_sgd_entropic_transport draws i uniformly, which is unbiased only
// for uniform a.)
func SemiDualASGD(a, b []float64, C *mat.Dense, eps float64, opts *StochasticOptions) (*SemiDualResult, error) {
	p, err := sdProblemEps0(a, b, C, eps, 2)
	if err != nil {
		return nil, err
	}
	o, err := opts.sdDefaults(100000, p.m)
	if err != nil {
		return nil, err
	}
	lr := o.LearningRate
	if lr == 0 {
		if eps == 0 {
			return nil, invalid("stochastic semi-dual: at ε = 0 give a LearningRate")
		}
		lr = eps / floats.Max(p.a)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0xa5d))
	alias := sdNewAlias(p.a)
	g := sdASGD(rng, p.b, p.logb, eps, lr, o, func(rng *rand.Rand) []float64 {
		i := alias.draw(rng)
		return p.C[i*p.m : (i+1)*p.m]
	})
	return p.semiDualResult(g, eps, o.MaxIter), nil
}

// sdASGD runs averaged SGD on the semi-dual; costRow draws a point of μ and returns
// its costs to the points of ν. It returns the averaged iterate.
func sdASGD(rng *rand.Rand, b, logb []float64, eps, lr float64, o StochasticOptions, costRow func(*rand.Rand) []float64) []float64 {
	m := len(b)
	g, avg := make([]float64, m), make([]float64, m)
	copy(g, o.InitG)
	copy(avg, g)
	chi := make([]float64, m)
	for k := 1; k <= o.MaxIter; k++ {
		sdRow(chi, costRow(rng), g, logb, eps)
		step, w := lr/math.Sqrt(float64(k)), 1/float64(k)
		for j := range g {
			g[j] += step * (b[j] - chi[j])
			avg[j] += w * (g[j] - avg[j])
		}
	}
	return avg
}

// semiDualResult evaluates the semi-dual at g and fills the result.
func (p *sdProb) semiDualResult(g []float64, eps float64, iters int) *SemiDualResult {
	res := &SemiDualResult{G: g, F: make([]float64, p.n), Iterations: iters}
	chi := make([]float64, p.m)
	for i := range res.F {
		res.F[i] = p.rowGrad(chi, i, g, eps)
	}
	res.Value = floats.Dot(p.a, res.F) + floats.Dot(p.b, g)
	return res
}

// Sampler draws one point of a measure into x (length d) using rng. It must be
// deterministic given rng's state.
type Sampler func(rng *rand.Rand, x []float64)

// SemiDiscreteASGD solves semi-discrete entropic OT (ε ≥ 0) between a measure μ
// known only through samples (sample, in dimension d) and the discrete measure
// ν = (y, b) (nil b: uniform) under cost c, by averaged SGD on the semi-dual
// E_{x∼μ} h(x, g) (Genevay et al. 2016, section 4, Algorithm 2): each step draws a
// fresh x ∼ μ. The value S(G) is then estimated on ValueSamples fresh samples
// (Value ± ValueStdErr); F is nil, the c-transform being a function of x.
func SemiDiscreteASGD(sample Sampler, y *mat.Dense, b []float64, c Cost, eps float64, opts *StochasticOptions) (*SemiDualResult, error) {
	if sample == nil {
		return nil, invalid("semi-discrete: no sampler")
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	c = c.orDefault()
	if err := points("y", y); err != nil {
		return nil, err
	}
	if eps < 0 || math.IsNaN(eps) || math.IsInf(eps, 0) {
		return nil, invalid("eps = %v: must be non-negative and finite", eps)
	}
	m, d := y.Dims()
	b, err := weights("b", b, m)
	if err != nil {
		return nil, err
	}
	o, err := opts.sdDefaults(100000, m)
	if err != nil {
		return nil, err
	}
	lr := o.LearningRate
	if lr == 0 {
		if eps == 0 {
			return nil, invalid("semi-discrete: at ε = 0 give a LearningRate")
		}
		lr = eps / floats.Max(b)
	}
	logb := logs(b)
	rng := rand.New(rand.NewPCG(o.Seed, 0x5d1))
	x, row := make([]float64, d), make([]float64, m)
	var bad error
	costRow := func(rng *rand.Rand) []float64 {
		sample(rng, x)
		for j := range row {
			row[j] = c.Pair(x, y.RawRowView(j))
			if math.IsNaN(row[j]) || math.IsInf(row[j], 0) {
				if bad == nil {
					bad = invalid("semi-discrete: sampler returned %v", x)
				}
				row[j] = 0
			}
		}
		return row
	}
	g := sdASGD(rng, b, logb, eps, lr, o, costRow)
	if bad != nil {
		return nil, bad
	}
	// Estimate S(g) = E h(x, g) on fresh samples.
	res := &SemiDualResult{G: g, Iterations: o.MaxIter}
	chi := make([]float64, m)
	bg := floats.Dot(b, g)
	var mean, m2 float64
	for k := 1; k <= o.ValueSamples; k++ {
		h := bg + sdRow(chi, costRow(rng), g, logb, eps)
		delta := h - mean
		mean += delta / float64(k)
		m2 += delta * (h - mean)
	}
	if bad != nil {
		return nil, bad
	}
	res.Value = mean
	if o.ValueSamples > 1 {
		res.ValueStdErr = math.Sqrt(m2 / float64(o.ValueSamples-1) / float64(o.ValueSamples))
	}
	return res, nil
}

// sdAlias samples an index with probability w_i in O(1) (Walker's alias method).
type sdAlias struct {
	prob  []float64
	alias []int
}

func sdNewAlias(w []float64) *sdAlias {
	n := len(w)
	t := &sdAlias{prob: make([]float64, n), alias: make([]int, n)}
	scaled := make([]float64, n)
	var small, large []int
	sum := floats.Sum(w)
	for i, x := range w {
		scaled[i] = x * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		t.prob[s], t.alias[s] = scaled[s], l
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range append(small, large...) {
		t.prob[i], t.alias[i] = 1, i
	}
	return t
}

func (t *sdAlias) draw(rng *rand.Rand) int {
	i := rng.IntN(len(t.prob))
	if rng.Float64() < t.prob[i] {
		return i
	}
	return t.alias[i]
}
