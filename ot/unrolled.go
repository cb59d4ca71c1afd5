package ot

import (
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/fastblas"
	"github.com/sinkgen/sinkgen/internal/parallel"
)

// Unrolled is a fixed number of alternating log-domain Sinkhorn updates from zero
// potentials, recorded so that its values can be differentiated in reverse mode
// exactly as autograd would differentiate the loop (Genevay, Peyré, Cuturi 2018):
//
//	f_i ← −ε_k log Σ_j b_j exp((g_j − C_ij)/ε_k),  then  g_j ← −ε_k log Σ_i a_i exp((f_i − C_ij)/ε_k)
//
// for k = 1…L. The record holds O(L(n+m)) numbers besides one n×m matrix: the
// backward pass rebuilds each step's softmax weights instead of keeping L plans.
//
// With one ε for all iterations the updates run in the scaling domain, which computes
// the same iterates with one exp per kernel entry in all: with α_i = min_j C_ij and
// K_ij = exp((α_i − C_ij)/ε), the potentials are f = α + ε log u, g = ε log v with
// u = 1/(K(b∘v)), v = 1/(Kᵀ(a∘u)), and every step of the backward pass is two
// matrix–vector products plus a rank-two term of ∂/∂C, summed at the end by one
// product K ∘ (A·Bᵀ). Should the kernel underflow (a scaling leaves the float64 range),
// the record is recomputed in the log domain. Annealed schedules always use the log
// domain, and so does an ε far above the costs' spread, whose flat kernel's scalings
// would lose ε·2^-52 of the potentials (see flatRatio). The self problems of an
// UnrolledSinkhornDivergence run averaged updates of one potential instead, in both
// domains (see unrolled_sym.go).
type Unrolled struct {
	// Dual is ⟨a,f_L⟩ + ⟨b,g_L⟩, the entropic OT value the iterations estimate.
	Dual float64
	// F, G are the final potentials f_L, g_L.
	F, G []float64
	// MarginalError is ‖P_L 1 − a‖₁ (Pᵀ_L 1 = b holds after the last g-update); for
	// the self problems of a divergence, whose plan's two marginals are equal, 2‖P_L 1 − a‖₁.
	MarginalError float64
	// Iterations is L, the number of updates run.
	Iterations int
	// Converged reports that the last iterate meets the tolerance: MarginalError ≤ Tol.
	Converged bool
	// Scaled reports that the scaling-domain path produced the record.
	Scaled bool

	// p.C is the cost in the log domain; in the scaling domain it holds the kernel K,
	// or nil once a large kernel has been dropped after the forward pass (kernel()
	// rebuilds it, bit for bit, for a backward pass). A float32 record's kernel is k32
	// instead (p.C nil), when kernel32 allows: made in place of x·yᵀ, so that no float64
	// cost matrix exists (p.C is nil until a pass needs the float64 cost).
	p    *problem
	k32  []float32
	no32 bool       // the float32 kernel was tried and its scalings' range ruled it out
	x, y *mat.Dense // nil for float32 points until a float64 backward asks for them
	g32  *gram32    // float32 points, or nil
	cost Cost
	eps  []float64
	sym  bool // a self problem run by the averaged updates (see unrolled_sym.go)

	fs, gs [][]float64 // log domain: potentials after update k; gs[0] = 0 (sym: gs[k] = T(f_{k−1}))
	us, vs [][]float64 // scaling domain: scalings after update k; vs[0] = 1 (sym: us[k] = 1/s_k, vs[k] = z_k)
	slab   []float64   // backs us and vs; from parallel.Float64, back in Release
	alpha  []float64   // scaling domain: row offsets of K

	primalOnce sync.Once
	primal     float64
}

// EpsSchedule returns the L values of ε an unrolled solve at eps runs: eps repeated,
// or with scaling in (0,1) the annealed sequence start, start·scaling, … while above
// eps, then eps (the rule of Annealing and of UnrolledOptions' EpsScaling). A start of
// 0, the largest cost, depends on the problem, which only the solver sees.
func EpsSchedule(eps float64, L int, scaling, start float64) ([]float64, error) {
	if err := epsilon(eps); err != nil {
		return nil, err
	}
	if L < 1 {
		return nil, invalid("unrolled: L = %d iterations, need at least 1", L)
	}
	an := Annealing{Scaling: scaling, Start: start}
	if err := an.check(); err != nil {
		return nil, fmt.Errorf("unrolled: %w", err)
	}
	if scaling != 0 && start == 0 {
		return nil, invalid("unrolled: ε-scaling from the largest cost (start 0) depends on the costs: set UnrolledOptions{EpsScaling: %v} in the unrolled solver", scaling)
	}
	out := an.steps(eps, 0, L)
	for len(out) < L {
		out = append(out, eps)
	}
	return out, nil
}

// DefaultUnrolledIterations is L, the number of updates of an unrolled solve, when
// UnrolledOptions.Iterations is 0.
const DefaultUnrolledIterations = 50

// UnrolledOptions tunes the unrolled solvers. A nil *UnrolledOptions means all
// defaults.
type UnrolledOptions struct {
	// Iterations is L, the number of updates: the solve runs exactly that many (its
	// result says whether they converged). 0 means DefaultUnrolledIterations.
	Iterations int
	// EpsScaling in (0,1) anneals ε: each of the first iterations runs at the larger of
	// its ε and EpsStart, EpsStart·EpsScaling, … (see Annealing). 0 disables it.
	EpsScaling float64
	// EpsStart is the first ε of the annealing; 0 means the largest cost entry.
	EpsStart float64
	// Tol is the marginal error below which the result reports Converged; 0 means
	// DefaultSinkhornTol. It does not change the iterations.
	Tol float64
	// AlternatingSelf runs the self problems OT(α,α), OT(β,β) of
	// UnrolledSinkhornDivergence by the alternating updates of a general problem, as
	// Genevay et al. (2018) and ../shared/fixtures' "unrolled" define them, instead of
	// the averaged updates of one potential (the default, GeomLoss's), which converge
	// in a few iterations where alternating ones creep. For comparison with those
	// references (and with PyTorch loops written that way).
	AlternatingSelf bool
}

// withDefaults checks ε and the options and fills in the defaults.
func (o *UnrolledOptions) withDefaults(eps float64) (UnrolledOptions, error) {
	var out UnrolledOptions
	if o != nil {
		out = *o
	}
	if err := epsilon(eps); err != nil {
		return out, fmt.Errorf("unrolled: %w", err)
	}
	if err := out.annealing().check(); err != nil {
		return out, fmt.Errorf("unrolled: %w", err)
	}
	if out.Iterations == 0 {
		out.Iterations = DefaultUnrolledIterations
	}
	if out.Iterations < 0 {
		return out, invalid("unrolled: Iterations = %d is negative", out.Iterations)
	}
	if out.Tol == 0 {
		out.Tol = DefaultSinkhornTol
	}
	if !(out.Tol > 0) {
		return out, invalid("unrolled: Tol = %v must be positive", out.Tol)
	}
	return out, nil
}

func (o UnrolledOptions) annealing() Annealing {
	return Annealing{Scaling: o.EpsScaling, Start: o.EpsStart}
}

// UnrolledSinkhorn runs opts.Iterations updates at eps between (x, a) and (y, b) under
// cost c. With opts' annealing, the first iterations run at EpsStart,
// EpsStart·EpsScaling, … while above eps (from the largest cost when EpsStart is 0;
// see Annealing and EpsSchedule). x and y may be the same cloud. float32 points (both)
// take the float32 kernels (see Points); a float32 cloud paired with a float64 one is
// converted to float64.
func UnrolledSinkhorn(x, y Points, a, b []float64, c Cost, eps float64, opts *UnrolledOptions) (*Unrolled, error) {
	o, err := opts.withDefaults(eps)
	if err != nil {
		return nil, err
	}
	x, y = samePrecision(x, y)
	if x.IsFloat32() {
		return unrolled32(x.f32, y.f32, nil, nil, a, b, c, eps, o, false)
	}
	return unrolled64(x.f64, y.f64, a, b, c, eps, o, false)
}

// samePrecision converts a float32 cloud paired with a float64 one to float64.
func samePrecision(x, y Points) (Points, Points) {
	if x.IsFloat32() != y.IsFloat32() {
		return FromDense(x.Dense()), FromDense(y.Dense())
	}
	return x, y
}

// unrolled64 is UnrolledSinkhorn for float64 points; with sym, x = y and a = b, the
// averaged updates of a self problem (see unrolled_sym.go).
func unrolled64(x, y *mat.Dense, a, b []float64, c Cost, eps float64, o UnrolledOptions, sym bool) (*Unrolled, error) {
	p, c, err := pointProblem(x, y, a, b, c, "unrolled sinkhorn", func(n, m int) float64 {
		return unrolledMatrices(n, m, false)
	})
	if err != nil {
		return nil, err
	}
	return newUnrolled(p, c, eps, o, x, y, nil, sym)
}

// unrolledMatrices is the number of matrix entries an unrolled record between n and m
// points holds at once: the cost and its transpose (log domain) or the kernel, and in
// the backward pass the adjoint ∂/∂C with the primal's direct term or the symmetrized
// adjoint. With div, the three records of a divergence, whose backward passes run one
// at a time.
func unrolledMatrices(n, m int, div bool) float64 {
	if !div {
		return 4 * area(n, m)
	}
	return 2*(area(n, m)+area(n, n)+area(m, m)) + 2*max(area(n, m), area(n, n), area(m, m))
}

// newUnrolled runs the updates on the validated problem p whose cost comes from the
// float64 points x, y or, when g is not nil, from float32 ones, at ε = e with the
// options o; with sym, by the averaged updates of a self problem.
func newUnrolled(p *problem, c Cost, e float64, o UnrolledOptions, x, y *mat.Dense, g *gram32, sym bool) (*Unrolled, error) {
	if err := unrolledTapeFits(p.n, p.m, o.Iterations, 1); err != nil {
		return nil, err
	}
	eps := make([]float64, o.Iterations)
	for k := range eps {
		eps[k] = e
	}
	if an := o.annealing(); an.Scaling != 0 {
		_, hi := p.bounds()
		copy(eps, an.steps(e, hi, len(eps))) // each above e
	}
	constant := true
	for _, e := range eps {
		constant = constant && e == eps[0]
	}
	if err := p.resolution(floats.Min(eps)); err != nil {
		return nil, fmt.Errorf("unrolled: %w", err)
	}
	u := &Unrolled{p: p, x: x, y: y, g32: g, cost: c, eps: eps, sym: sym}
	// A flat kernel's scalings would lose ε·2^-52 of the potentials.
	if !constant || p.flat(eps[0]) || !u.forwardScaled() {
		u.forwardLog()
	}
	u.Dual = floats.Dot(p.a, u.F) + floats.Dot(p.b, u.G)
	src := u.planSource()
	u.MarginalError = u.rowError(src)
	if sym {
		u.MarginalError *= 2 // the columns' error equals the rows'
	}
	u.putKernel(src)
	u.Iterations, u.Converged = len(eps), u.MarginalError <= o.Tol
	if !allFinite([]float64{u.Dual, u.MarginalError}) || !allFinite(u.F) || !allFinite(u.G) {
		u.Release()
		return nil, outOfRange("unrolled: the result is not finite at ε = %g (dual %v, marginal error %v)", eps[len(eps)-1], u.Dual, u.MarginalError)
	}
	u.dropLargeKernel()
	return u, nil
}

// forwardLog runs the updates in the log domain on the cost p.C.
func (u *Unrolled) forwardLog() {
	p, L := u.p, len(u.eps)
	n, m := p.n, p.m
	u.Scaled, u.us, u.vs, u.alpha = false, nil, nil, nil
	if p.C == nil { // a float32 record's cost is made on demand
		p.C = u.freshCost()
	}
	u.fs, u.gs = make([][]float64, L+1), make([][]float64, L+1)
	u.fs[0], u.gs[0] = make([]float64, n), make([]float64, m)
	if u.sym {
		u.forwardSymLog()
		return
	}
	for k := 1; k <= L; k++ {
		f, g := make([]float64, n), make([]float64, m)
		p.updateF(f, u.gs[k-1], u.eps[k-1])
		p.updateG(g, f, u.eps[k-1])
		u.fs[k], u.gs[k] = f, g
	}
	u.F, u.G = u.fs[L], u.gs[L]
}

// keepKernelMax is the largest kernel (entries) kept from the forward pass to the
// backward pass; larger ones are rebuilt there (one product and one exp pass), so that
// a divergence holds one n×m matrix at a time rather than three. Above it a float32
// record's backward pass also makes C̄ a block at a time (backward32Blocked).
var keepKernelMax = 1 << 22 // a variable only so that tests can exercise the rebuild

// forwardScaled runs the updates in the scaling domain, turning p.C into the kernel in
// place. It returns false, with p.C restored, when a scaling is not a finite positive
// number.
func (u *Unrolled) forwardScaled() bool {
	p, L := u.p, len(u.eps)
	n, m := p.n, p.m
	u.alpha = make([]float64, n)
	K := p.C
	us, vs := make([][]float64, L+1), make([][]float64, L+1)
	slab := parallel.Float64.Get((L + 1) * (n + m))
	clear(slab)
	for k := range us {
		off := k * (n + m)
		us[k], vs[k] = slab[off:off+n:off+n], slab[off+n:off+n+m:off+n+m]
	}
	us[0] = nil
	bv := make([]float64, m)
	for j := range vs[0] {
		vs[0][j] = 1
		bv[j] = p.b[j] * vs[0][j]
	}
	nb := sweepBlocks(n, m)
	acc := sweepVectors(nb, m)
	defer putVectors(acc)
	kr := kernelRows{k64: K, m: m}
	fromProducts := false // a float32 kernel made in place of x·yᵀ, with no float64 cost
	switch {
	case u.kernel32() && K == nil:
		kr, fromProducts = kernelRows{k32: u.g32.takeProducts(), m: m}, true
	case u.kernel32():
		kr = kernelRows{k32: parallel.Float32.Get(n * m), m: m} // every entry is set in phase 0
	case K == nil:
		p.C = u.freshCost()
		K, kr.k64 = p.C, p.C
	}
	// Phase 0 builds the kernel; phases 2k−1 and 2k are iteration k's row sweep and
	// column reduction, or for a self problem phase k its sweep (symRows), which
	// reads one of bz and writes the other.
	phases, bz := 1+2*L, [2][]float64{bv, nil}
	if u.sym {
		phases, bz[1] = 1+L, make([]float64, m)
	}
	parallel.Phases(phases, nb, func(phase, blk int) {
		lo, hi := parallel.Block(n, nb, blk)
		switch {
		case phase == 0 && fromProducts:
			row := make([]float64, m)
			for i := lo; i < hi; i++ {
				u.kernel32Row(i, kr.k32[i*m:(i+1)*m], row, true)
			}
		case phase == 0:
			// α_i = min_j C_ij, then K_ij = exp((α_i − C_ij)/ε) in place
			for i := lo; i < hi; i++ {
				u.alpha[i] = rowMin(K[i*m : (i+1)*m])
			}
			u.toKernelRows(K, lo, hi)
			if kr.k32 != nil {
				for i, v := range K[lo*m : hi*m] {
					kr.k32[lo*m+i] = float32(v)
				}
			}
		case u.sym:
			u.symRows(phase, lo, hi, kr, us, vs, bz)
		case phase%2 == 1:
			// u = 1/(K(b∘v)) over the block's rows; their share of Kᵀ(a∘u)
			uk, a := us[(phase+1)/2], acc[blk]
			var c [4]float64
			for i := lo; i < hi; i += 4 {
				rows := min(4, hi-i)
				for r := range rows {
					uk[i+r] = 1 / kr.dot(i+r, bv)
					c[r] = p.a[i+r] * uk[i+r]
				}
				kr.axpyRows(i, rows, &c, a)
			}
		default:
			// v = 1/Kᵀ(a∘u) over the block's columns, the shares summed in block order
			vk := vs[phase/2]
			jlo, jhi := parallel.Block(m, nb, blk)
			for j := jlo; j < jhi; j++ {
				s := 0.0
				for q := range acc {
					s += acc[q][j]
					acc[q][j] = 0
				}
				vk[j] = 1 / s
				bv[j] = p.b[j] * vk[j]
			}
		}
	})
	ok := !u.sym || floats.Min(u.alpha) == 0 && floats.Max(u.alpha) == 0 // symRows' K = e^(−C/ε)
	for k := 1; k <= L; k++ {
		ok = ok && allPositiveFinite(us[k]) && allPositiveFinite(vs[k])
	}
	// The backward pass multiplies u_i·v_j before K_ij: where K underflowed to 0 while
	// u·v overflows that would be 0·Inf. Keep every such product far inside float64.
	scaleRange := maxLog(us) + maxLog(vs)
	if !ok || scaleRange > scaledRangeMax {
		if kr.k32 != nil {
			parallel.Float32.Put(kr.k32)
		}
		parallel.Float64.Put(slab)
		p.C = u.freshCost()
		return false
	}
	if kr.k32 != nil && !u.kernel32Exact() && scaleRange > kernel32Range {
		// Entries below float32's normal range may weigh: run again on a float64 kernel.
		parallel.Float32.Put(kr.k32)
		parallel.Float64.Put(p.C)
		parallel.Float64.Put(slab)
		p.C, u.no32 = u.freshCost(), true
		return u.forwardScaled()
	}
	if kr.k32 != nil { // the float64 kernel is no longer needed
		parallel.Float64.Put(p.C)
		p.C, u.k32 = nil, kr.k32
	}
	u.Scaled, u.us, u.vs, u.slab = true, us, vs, slab
	eps := u.eps[0]
	u.F, u.G = make([]float64, n), make([]float64, m)
	if u.sym {
		for i := range u.F {
			u.F[i] = eps * math.Log(vs[L][i])
		}
		copy(u.G, u.F)
		return true
	}
	for i := range u.F {
		u.F[i] = u.alpha[i] + eps*math.Log(us[L][i])
	}
	for j := range u.G {
		u.G[j] = eps * math.Log(vs[L][j])
	}
	return true
}

// rowMin is floats.Min of a non-empty row with plain comparisons, which skip NaN
// entries as floats.Min does unless the first is one.
func rowMin(row []float64) float64 {
	lo := row[0]
	for _, v := range row {
		if v < lo {
			lo = v
		}
	}
	if lo != lo {
		return floats.Min(row)
	}
	return lo
}

// toKernel overwrites a cost matrix with K_ij = exp((α_i − C_ij)/ε).
func (u *Unrolled) toKernel(C []float64) {
	parallel.For(u.p.n, u.p.m, func(_, lo, hi int) { u.toKernelRows(C, lo, hi) })
}

// toKernelRows is toKernel on rows [lo, hi).
func (u *Unrolled) toKernelRows(C []float64, lo, hi int) {
	m := u.p.m
	for i := lo; i < hi; i++ {
		u.kernelRow(i, C[i*m:(i+1)*m])
	}
}

// kernelRow overwrites row i of the cost with K_ij = exp((α_i − C_ij)/ε).
func (u *Unrolled) kernelRow(i int, row []float64) {
	eps := u.eps[0]
	for j, c := range row {
		row[j] = (u.alpha[i] - c) / eps
	}
	expSlice(row)
}

// kernel32Row overwrites dst, row i of x·yᵀ for a float32 record, with row i of the
// float32 kernel, through the float64 cost row in scratch: the same bits as the
// float64 kernel rounded to float32. With setAlpha it first sets α_i = min_j C_ij.
func (u *Unrolled) kernel32Row(i int, dst []float32, scratch []float64, setAlpha bool) {
	row := scratch[:len(dst)]
	u.g32.costRow(u.cost, i, dst, row)
	if setAlpha {
		u.alpha[i] = rowMin(row)
	}
	u.kernelRow(i, row)
	for j, v := range row {
		dst[j] = float32(v)
	}
}

// kernel32 reports whether the record keeps its scaling-domain kernel in float32: a
// float32 record (whose costs already carry float32 rounding of about 2^-24·|x||y|)
// whose kernel's error stays at float32's rounding. A kernel entry stored in float32
// errs by at most 2^-24·max(K_ij, 2^-126), so a sum u_i Σ_j K_ij b_j v_j (= 1 by the
// update) errs relatively by at most 2^-24·(1 + u_i v_max 2^-126). Hence the rule:
// either every entry is normal in float32, (max C − min C)/ε ≤ kernel32Range
// (kernel32Exact), or the forward pass's scalings keep log max u + log max v ≤
// kernel32Range, checked after it (forwardScaled reruns it on a float64 kernel
// otherwise); a spread beyond twice that range is not tried. Either way every sum of
// the forward and backward sweeps carries a relative error of at most 2^-23.
func (u *Unrolled) kernel32() bool {
	if u.g32 == nil || !useKernel32 || u.no32 {
		return false
	}
	lo, hi := u.p.bounds()
	return hi-lo <= 2*kernel32Range*u.eps[0]
}

// kernel32Exact reports that every kernel entry is a normal float32 number.
func (u *Unrolled) kernel32Exact() bool {
	lo, hi := u.p.bounds()
	return hi-lo <= kernel32Range*u.eps[0]
}

// kernel32Range bounds −log K_ij, or the scalings' log max u + log max v, for a
// float32 kernel: e^-80 ≈ 1.8e-35 is above float32's smallest normal number,
// 2^-126 ≈ 1.2e-38 ≈ e^-87.3.
const kernel32Range = 80

// useKernel32 is false only in tests that compare against a float64 kernel.
var useKernel32 = true

// kernelRows is a row-major matrix with m columns in float64 or float32 (k32 not nil),
// read row by row with float64 arithmetic.
type kernelRows struct {
	k64 []float64
	k32 []float32
	m   int
}

// dot returns Σ_j K_ij x_j.
func (k kernelRows) dot(i int, x []float64) float64 {
	if k.k32 != nil {
		return dot32(k.k32[i*k.m:(i+1)*k.m], x)
	}
	return dot(k.k64[i*k.m:(i+1)*k.m], x)
}

// axpy adds a·K_i· to y.
func (k kernelRows) axpy(i int, a float64, y []float64) {
	if k.k32 != nil {
		axpy32(a, k.k32[i*k.m:(i+1)*k.m], y)
		return
	}
	axpy(a, k.k64[i*k.m:(i+1)*k.m], y)
}

// axpyRows adds c[r]·K_(i+r)· to y for r < rows ≤ 4, in that order: for four rows of
// a float32 kernel in one pass over y (the same bits as one row at a time).
func (k kernelRows) axpyRows(i, rows int, c *[4]float64, y []float64) {
	if k.k32 != nil && rows == 4 {
		axpy32x4(c, k.k32[i*k.m:(i+4)*k.m], k.m, y[:k.m])
		return
	}
	for r := range rows {
		k.axpy(i+r, c[r], y)
	}
}

// row returns row i in float64: the matrix's own row, or its float32 row converted
// into scratch.
func (k kernelRows) row(i int, scratch []float64) []float64 {
	if k.k32 == nil {
		return k.k64[i*k.m : (i+1)*k.m]
	}
	for j, v := range k.k32[i*k.m : (i+1)*k.m] {
		scratch[j] = float64(v)
	}
	return scratch[:k.m]
}

// kernel returns the scaling-domain kernel, rebuilding a dropped one (hand it back with
// putKernel).
func (u *Unrolled) kernel() kernelRows {
	m := u.p.m
	if u.k32 != nil {
		return kernelRows{k32: u.k32, m: m}
	}
	if u.p.C != nil {
		return kernelRows{k64: u.p.C, m: m}
	}
	if u.kernel32() { // in place of x·yᵀ, with no float64 cost matrix
		k32 := u.g32.products()
		parallel.For(u.p.n, m, func(_, lo, hi int) {
			row := make([]float64, m)
			for i := lo; i < hi; i++ {
				u.kernel32Row(i, k32[i*m:(i+1)*m], row, false)
			}
		})
		return kernelRows{k32: k32, m: m}
	}
	K := u.freshCost()
	u.toKernel(K)
	return kernelRows{k64: K, m: m}
}

// putKernel hands back a kernel that kernel() rebuilt and the record does not keep.
func (u *Unrolled) putKernel(k kernelRows) {
	switch {
	case k.k32 != nil && (len(u.k32) == 0 || &k.k32[0] != &u.k32[0]):
		parallel.Float32.Put(k.k32)
	case k.k64 != nil && (len(u.p.C) == 0 || &k.k64[0] != &u.p.C[0]):
		parallel.Float64.Put(k.k64)
	}
}

// freshCost returns a newly computed cost matrix, from float32 points for a float32
// record.
func (u *Unrolled) freshCost() []float64 {
	if u.g32 != nil {
		return u.g32.matrix(u.cost)
	}
	return u.cost.matrix(u.x, u.y).RawMatrix().Data
}

// Release hands the record's n×m matrix back for reuse by later records. The record
// must not be used afterwards; calling it is optional (a training loop that makes one
// record per step allocates less).
func (u *Unrolled) Release() {
	u.releaseKernel()
	if u.slab != nil {
		parallel.Float64.Put(u.slab)
	}
	u.slab, u.us, u.vs = nil, nil, nil
}

// releaseKernel hands the n×m matrix back; the backward pass rebuilds it.
func (u *Unrolled) releaseKernel() {
	if u.p.C != nil {
		parallel.Float64.Put(u.p.C)
	}
	if u.k32 != nil {
		parallel.Float32.Put(u.k32)
	}
	u.p.C, u.p.ctCache, u.k32 = nil, nil, nil
}

// Release releases the three records (see Unrolled.Release).
func (d *UnrolledDivergence) Release() {
	for _, u := range []*Unrolled{d.XY, d.XX, d.YY} {
		u.Release()
	}
}

// dropLargeKernel frees a scaling-domain kernel too large to keep between passes.
func (u *Unrolled) dropLargeKernel() {
	if u.Scaled && u.p.n*u.p.m > keepKernelMax {
		u.releaseKernel()
	}
}

// scaledRangeMax bounds log(max u) + log(max v) on the scaling-domain path, leaving
// e^100 of float64's e^709 for the adjoints that multiply them.
const scaledRangeMax = 600

// maxLog returns the log of the largest entry of the vectors (nil ones skipped).
func maxLog(vs [][]float64) float64 {
	mx := 0.0
	for _, v := range vs {
		if v != nil {
			mx = max(mx, floats.Max(v))
		}
	}
	return math.Log(mx)
}

func allPositiveFinite(v []float64) bool {
	for _, x := range v {
		if !(x > 0 && x <= math.MaxFloat64) {
			return false
		}
	}
	return true
}

// planSource returns the matrix planRow reads: the kernel in the scaling domain, the
// cost in the log domain. Hand it back with putKernel.
func (u *Unrolled) planSource() kernelRows {
	if u.Scaled {
		return u.kernel()
	}
	return kernelRows{k64: u.p.C, m: u.p.m}
}

// planRow writes P_L's row i into dst and returns its sum; src is planSource().
func (u *Unrolled) planRow(src kernelRows, i int, dst []float64) float64 {
	p, L := u.p, len(u.eps)
	row := src.row(i, dst) // dst itself for a float32 kernel: each entry is read before it is written
	if u.Scaled {
		// P_ij = a_i u_i K_ij b_j v_j (u = v = z for a self problem)
		s, v := p.a[i]*u.planU()[i], u.vs[L]
		for j, k := range row {
			dst[j] = s * k * p.b[j] * v[j]
		}
		return floats.Sum(dst)
	}
	eps, f, g := u.eps[L-1], u.F, u.G
	for j, c := range row {
		dst[j] = p.loga[i] + p.logb[j] + (f[i]+g[j]-c)/eps
	}
	expSlice(dst)
	return floats.Sum(dst)
}

// rowError returns ‖P_L 1 − a‖₁.
func (u *Unrolled) rowError(src kernelRows) float64 {
	p := u.p
	errs := make([]float64, sweepBlocks(p.n, p.m))
	forBlocks(p.n, p.m, func(blk, lo, hi int) {
		row := parallel.Float64.Get(p.m) // planRow sets every entry
		defer parallel.Float64.Put(row)
		for i := lo; i < hi; i++ {
			errs[blk] += math.Abs(u.planRow(src, i, row) - p.a[i])
		}
	})
	return floats.Sum(errs)
}

// costMatrix returns the cost matrix: p.C itself in the log domain, recomputed in the
// scaling domain (where p.C holds the kernel).
func (u *Unrolled) costMatrix() []float64 {
	if !u.Scaled {
		return u.p.C
	}
	return u.freshCost()
}

// Primal is ⟨P_L, C⟩ with P_L = a⊗b·exp((f_L ⊕ g_L − C)/ε_L), the transport cost of the
// last iterate (the loss of Genevay et al. 2018). Computed on first use.
func (u *Unrolled) Primal() float64 {
	u.primalOnce.Do(func() {
		p, C, src := u.p, u.costMatrix(), u.planSource()
		lin := make([]float64, sweepBlocks(p.n, p.m))
		forBlocks(p.n, p.m, func(blk, lo, hi int) {
			row := make([]float64, p.m)
			for i := lo; i < hi; i++ {
				u.planRow(src, i, row)
				lin[blk] += dot(row, C[i*p.m:(i+1)*p.m])
			}
		})
		u.primal = floats.Sum(lin)
		u.putKernel(src)
		if u.Scaled {
			parallel.Float64.Put(C)
		}
	})
	return u.primal
}

// Backward adds to gx and gy the gradients, with respect to the points x and y, of
// dDual·Dual + dPrimal·Primal, differentiated through every iteration. gx and gy have
// the shapes of x and y, in either precision; they may be the same cloud when x and y
// are (the contributions then add up); a zero Points is not computed.
func (u *Unrolled) Backward(dDual, dPrimal float64, gx, gy Points) {
	if u.Scaled && u.g32 != nil && gx.f64 == nil && gy.f64 == nil && u.p.n*u.p.m > keepKernelMax {
		u.backward32Blocked(dDual, dPrimal, gx.f32.Data, gy.f32.Data)
		return
	}
	Cbar := u.adjoint(dDual, dPrimal)
	u.addGradTo(Cbar, gx, gy)
	parallel.Float64.Put(Cbar.RawMatrix().Data)
}

// addGradTo maps ∂/∂C to the destinations, each in its own precision.
func (u *Unrolled) addGradTo(Cbar *mat.Dense, gx, gy Points) {
	if gx.f64 != nil || gy.f64 != nil {
		u.addCostGrad(Cbar, gx.f64, gy.f64)
	}
	if gx.IsFloat32() || gy.IsFloat32() {
		u.addCostGrad32(Cbar, gx.f32.Data, gy.f32.Data)
	}
}

// adjoint returns C̄ = ∂(dDual·Dual + dPrimal·Primal)/∂C through all L iterations.
func (u *Unrolled) adjoint(dDual, dPrimal float64) *mat.Dense {
	if u.Scaled {
		K := u.kernel()
		defer u.putKernel(K)
		return u.adjointScaled(dDual, dPrimal, K)
	}
	return u.adjointLog(dDual, dPrimal)
}

// BackwardEnvelope adds to gx and gy w·∂OT_ε/∂(x, y) evaluated at the final potentials
// as if they had converged (the envelope theorem: ∂OT_ε/∂C = P_L), ignoring how the
// iterations depend on the points.
func (u *Unrolled) BackwardEnvelope(w float64, gx, gy Points) {
	Cbar := u.envelopeAdjoint(w)
	u.addGradTo(Cbar, gx, gy)
	parallel.Float64.Put(Cbar.RawMatrix().Data)
}

// envelopeAdjoint returns w·P_L, the envelope theorem's ∂(w·OT_ε)/∂C.
func (u *Unrolled) envelopeAdjoint(w float64) *mat.Dense {
	p, src := u.p, u.planSource()
	Cbar := mat.NewDense(p.n, p.m, parallel.Float64.Get(p.n*p.m)) // every row is written
	parallel.For(p.n, p.m, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := Cbar.RawRowView(i)
			u.planRow(src, i, row)
			floats.Scale(w, row)
		}
	})
	u.putKernel(src)
	return Cbar
}

// addCostGrad maps ∂/∂C to the points: Σ_j C̄_ij ∇_x c(x_i,y_j) and Σ_i C̄_ij ∇_y c(x_i,y_j),
// skipping a nil destination.
// When x = y and gx = gy (the symmetric terms of a divergence) the two sums are one,
// Σ_j S_ij ∇_x c(x_i,x_j) with S = C̄ + C̄ᵀ, since ∇_y c(x,y) = ∇_x c(y,x): one product
// instead of two.
func (u *Unrolled) addCostGrad(Cbar *mat.Dense, gx, gy *mat.Dense) {
	x, y := u.float64Points()
	if gx != nil && gx == gy && x == y {
		n, _ := Cbar.Dims()
		S := mat.NewDense(n, n, parallel.Float64.Get(n*n))
		raw, sr := Cbar.RawMatrix(), S.RawMatrix()
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				sr.Data[i*sr.Stride+j] = raw.Data[i*raw.Stride+j] + raw.Data[j*raw.Stride+i]
			}
		}
		addPlanGrad(gx, 1, x, x, S, u.cost)
		parallel.Float64.Put(sr.Data)
		return
	}
	if gx != nil {
		addPlanGrad(gx, 1, x, y, Cbar, u.cost)
	}
	if gy != nil {
		addPlanGrad(gy, 1, y, x, Cbar.T(), u.cost)
	}
}

// seedPrimal adds the primal term's direct derivatives: with P_ij = a_i b_j
// exp((f_i + g_j − C_ij)/ε), ∂Primal/∂f_i = Σ_j P_ij C_ij/ε, ∂Primal/∂g_j = Σ_i P_ij C_ij/ε
// and ∂Primal/∂C_ij = P_ij(1 − C_ij/ε), the last written into Cbar.
func (u *Unrolled) seedPrimal(dPrimal float64, fbar, gbar []float64, Cbar *mat.Dense, src kernelRows) {
	p, m, eps := u.p, u.p.m, u.eps[len(u.eps)-1]
	C := u.costMatrix()
	acc := sweepVectors(sweepBlocks(p.n, m), m)
	defer putVectors(acc)
	forBlocks(p.n, m, func(blk, lo, hi int) {
		for i := lo; i < hi; i++ {
			row, crow := Cbar.RawRowView(i), C[i*m:(i+1)*m]
			u.planRow(src, i, row)
			s := 0.0
			for j, P := range row {
				pc := P * crow[j] / eps
				s += pc
				acc[blk][j] += dPrimal * pc
				row[j] = dPrimal * (P - pc)
			}
			fbar[i] += dPrimal * s
		}
	})
	sumBlocks(gbar, acc)
}

// adjointLog returns C̄ = ∂(dDual·Dual + dPrimal·Primal)/∂C through all L iterations,
// in the log domain.
//
// With π^g_ij = a_i exp((f^k_i + g^k_j − C_ij)/ε_k) (the softmax weights of the g-update,
// summing to 1 over i) and π^f_ij = b_j exp((f^k_i + g^{k−1}_j − C_ij)/ε_k) (those of the
// f-update, summing to 1 over j), ∂g_j/∂f_i = −π^g_ij and ∂g_j/∂C_ij = π^g_ij (a soft
// c-transform), and likewise for f. Step k of the reverse sweep is
//
//	f̄_i −= Σ_j π^g_ij ḡ_j,   C̄_ij += π^g_ij ḡ_j      (through g^k = T_g(f^k, C))
//	ḡ_j  = −Σ_i π^f_ij f̄_i,  C̄_ij += π^f_ij f̄_i      (through f^k = T_f(g^{k−1}, C))
//
// seeded with f̄ = dDual·a + dPrimal·∂Primal/∂f_L, ḡ likewise. Both halves of a step are
// fused into one pass over the rows, since f̄_i only depends on row i.
func (u *Unrolled) adjointLog(dDual, dPrimal float64) *mat.Dense {
	p := u.p
	n, m, L := p.n, p.m, len(u.eps)
	Cbar := mat.NewDense(n, m, nil)
	fbar, gbar := make([]float64, n), make([]float64, m)
	floats.AddScaled(fbar, dDual, p.a)
	floats.AddScaled(gbar, dDual, p.b)
	if dPrimal != 0 {
		u.seedPrimal(dPrimal, fbar, gbar, Cbar, kernelRows{k64: p.C, m: m})
	}
	acc := sweepVectors(sweepBlocks(n, m), m)
	defer putVectors(acc)
	if u.sym {
		u.adjointSymLog(fbar, gbar, Cbar, acc)
		return Cbar
	}
	for k := L; k >= 1; k-- {
		eps, f, g, gPrev := u.eps[k-1], u.fs[k], u.gs[k], u.gs[k-1]
		for _, a := range acc {
			clear(a)
		}
		forBlocks(n, m, func(blk, lo, hi int) {
			pg, pf := make([]float64, m), make([]float64, m)
			inv := 1 / eps
			for i := lo; i < hi; i++ {
				crow, cbar := p.C[i*m:(i+1)*m], Cbar.RawRowView(i)
				for j, c := range crow {
					pg[j] = p.loga[i] + (f[i]+g[j]-c)*inv
					pf[j] = p.logb[j] + (f[i]+gPrev[j]-c)*inv
				}
				expSlice(pg)
				expSlice(pf)
				// through g^k: ḡ (of step k) flows to f̄_i and to C̄
				for j := range pg {
					pg[j] *= gbar[j]
				}
				fi := fbar[i] - floats.Sum(pg)
				axpy(1, pg, cbar)
				// through f^k: f̄_i flows to ḡ (of step k−1) and to C̄
				axpy(-fi, pf, acc[blk])
				axpy(fi, pf, cbar)
				fbar[i] = 0
			}
		})
		clear(gbar)
		sumBlocks(gbar, acc)
	}
	return Cbar
}

// adjointScaled is adjointLog in the scaling domain. There π^g_ij = a_i u^k_i K_ij v^k_j
// and π^f_ij = u^k_i K_ij b_j v^{k−1}_j, so step k is
//
//	f̄_i −= a_i u^k_i (K (v^k∘ḡ))_i,          C̄ += K ∘ ((a∘u^k) ⊗ (v^k∘ḡ))
//	ḡ_j  = −b_j v^{k−1}_j (Kᵀ(u^k∘f̄))_j,     C̄ += K ∘ ((u^k∘f̄) ⊗ (b∘v^{k−1}))
//
// The 2L rank-one terms are collected as columns of A (n×2L) and B (m×2L) and summed
// once: C̄ = K ∘ (A·Bᵀ).
func (u *Unrolled) adjointScaled(dDual, dPrimal float64, K kernelRows) *mat.Dense {
	f := u.adjointFactors(dDual, dPrimal, K)
	defer f.release()
	Cbar := mat.NewDense(u.p.n, u.p.m, parallel.Float64.Get(u.p.n*u.p.m)) // every entry is set
	f.fill(0, u.p.n, 0, u.p.m, Cbar.RawMatrix().Data)
	return Cbar
}

// adjointFactors runs adjointScaled's sweep and returns C̄ in factored form.
func (u *Unrolled) adjointFactors(dDual, dPrimal float64, K kernelRows) *cbarFactors {
	p := u.p
	n, m, L := p.n, p.m, len(u.eps)
	fbar, gbar := make([]float64, n), make([]float64, m)
	floats.AddScaled(fbar, dDual, p.a)
	floats.AddScaled(gbar, dDual, p.b)
	var direct *mat.Dense // the primal's own ∂/∂C, added after the sweep
	if dPrimal != 0 {
		direct = mat.NewDense(n, m, nil)
		u.seedPrimal(dPrimal, fbar, gbar, direct, K)
	}
	if u.sym {
		return u.adjointSymFactors(fbar, gbar, direct, K)
	}
	// Every entry of A and B is set below.
	A, B := mat.NewDense(n, 2*L, parallel.Float64.Get(n*2*L)), mat.NewDense(m, 2*L, parallel.Float64.Get(m*2*L))
	w := make([]float64, m) // v^k∘ḡ
	floats.MulTo(w, u.vs[L], gbar)
	nb := sweepBlocks(n, m)
	acc := sweepVectors(nb, m)
	defer putVectors(acc)
	// Phases 2(L−k) and 2(L−k)+1 are step k's row sweep and column reduction.
	parallel.Phases(2*L, nb, func(phase, blk int) {
		k := L - phase/2
		uk, vPrev := u.us[k], u.vs[k-1]
		col := 2 * (k - 1)
		if phase%2 == 0 {
			// the block's rows: f̄ and columns 2k−2, 2k−1 of A; their share of Kᵀ(u∘f̄)
			lo, hi := parallel.Block(n, nb, blk)
			a := acc[blk]
			var c [4]float64
			for i0 := lo; i0 < hi; i0 += 4 {
				rows := min(4, hi-i0)
				for r := range rows {
					i := i0 + r
					fbar[i] -= p.a[i] * uk[i] * K.dot(i, w)
					c[r] = uk[i] * fbar[i]
					A.Set(i, col, p.a[i]*uk[i])
					A.Set(i, col+1, c[r])
					fbar[i] = 0
				}
				K.axpyRows(i0, rows, &c, a)
			}
			return
		}
		// the block's columns: B, ḡ (the shares summed in block order), the next w
		jlo, jhi := parallel.Block(m, nb, blk)
		for j := jlo; j < jhi; j++ {
			B.Set(j, col, w[j])
			B.Set(j, col+1, p.b[j]*vPrev[j])
			s := 0.0
			for q := range acc {
				s += acc[q][j]
				acc[q][j] = 0
			}
			s *= -p.b[j] * vPrev[j]
			gbar[j] = s
			w[j] = vPrev[j] * s
		}
	})
	return &cbarFactors{A: A, B: B, direct: direct, K: K}
}

// cbarFactors is the scaling domain's C̄ = K ∘ (A·Bᵀ) + direct, kept factored so that
// its entries can be made a block at a time (see fill).
type cbarFactors struct {
	A, B   *mat.Dense
	direct *mat.Dense // the primal's own ∂/∂C, or nil
	K      kernelRows
}

// fill writes C̄[i0:i1, j0:j1] into dst, row-major with stride j1−j0. Each entry has the
// same bits as in the whole C̄ when i0 and j0 are multiples of 12 and each side of the
// block is the whole side or at least 256 (see cbarBlocks): DgemmNT's 3×4 tiles then
// fall on the same entries, and gonum's Dgemm (the pure-Go path) runs its blocked
// parallel form, whose sums do not depend on the split.
func (f *cbarFactors) fill(i0, i1, j0, j1 int, dst []float64) {
	w, m := j1-j0, f.K.m
	ra, rb := f.A.RawMatrix(), f.B.RawMatrix()
	fastblas.DgemmNT(i1-i0, w, ra.Cols, ra.Data[i0*ra.Stride:], ra.Stride, rb.Data[j0*rb.Stride:], rb.Stride, dst, w)
	parallel.For(i1-i0, w, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			i, row := i0+r, dst[r*w:(r+1)*w]
			if f.K.k32 != nil {
				for j, k := range f.K.k32[i*m+j0 : i*m+j1] {
					row[j] *= float64(k)
				}
			} else {
				floats.Mul(row, f.K.k64[i*m+j0:i*m+j1])
			}
			if f.direct != nil {
				floats.Add(row, f.direct.RawRowView(i)[j0:j1])
			}
		}
	})
}

// release hands back the factors' buffers.
func (f *cbarFactors) release() {
	parallel.Float64.Put(f.A.RawMatrix().Data)
	parallel.Float64.Put(f.B.RawMatrix().Data)
}

// cbarBlock is the side of the blocks in which large adjoints are made: a multiple of 12
// for DgemmNT's tiles and of 64 for gonum's, 4 of whose blocks make it run in parallel.
const cbarBlock = 384

// cbarBlocks returns the start of each block of [0, n) and n: blocks of cbarBlock, the
// last one taking the remainder (so every block is at least cbarBlock long, or all of
// [0, n)).
func cbarBlocks(n int) []int {
	nb := max(1, n/cbarBlock)
	out := make([]int, nb+1)
	for k := range nb {
		out[k] = k * cbarBlock
	}
	out[nb] = n
	return out
}

// sweepBlocks is the number of blocks the sweeps split the n rows of an n×m matrix
// into: set by the size, not by the number of CPUs, so that the blocks' partial sums,
// added in block order, give the same bits on any number of CPUs. maxSweepBlocks
// blocks keep a few CPUs busy (each claims blocks until none is left).
func sweepBlocks(n, m int) int {
	if n*m < parallel.MinWork {
		return 1
	}
	return min(n, maxSweepBlocks)
}

const maxSweepBlocks = 8

// forBlocks runs body on the sweepBlocks(n, m) blocks of [0, n), concurrently.
func forBlocks(n, m int, body func(blk, lo, hi int)) {
	nb := sweepBlocks(n, m)
	parallel.Phases(1, nb, func(_, blk int) {
		if lo, hi := parallel.Block(n, nb, blk); lo < hi {
			body(blk, lo, hi)
		}
	})
}

// sweepVectors returns nb zeroed length-m accumulators, one per sweep block, from
// parallel.Float64: a training step makes several; hand them back with putVectors.
func sweepVectors(nb, m int) [][]float64 {
	acc := make([][]float64, nb)
	for k := range acc {
		acc[k] = parallel.Float64.Get(m)
		clear(acc[k])
	}
	return acc
}

// putVectors hands sweepVectors' accumulators back.
func putVectors(acc [][]float64) {
	for _, a := range acc {
		parallel.Float64.Put(a)
	}
}

// blockVectors returns one zeroed length-m accumulator per parallel block.
func blockVectors(m int) [][]float64 {
	acc := make([][]float64, parallel.MaxBlocks())
	for k := range acc {
		acc[k] = make([]float64, m)
	}
	return acc
}

// sumBlocks adds the per-block accumulators into dst.
func sumBlocks(dst []float64, acc [][]float64) {
	for _, a := range acc {
		floats.Add(dst, a)
	}
}

// UnrolledDivergence holds the three unrolled problems of a debiased loss between
// (x, a) and (y, b): OT(α,β), OT(α,α) and OT(β,β), each run with the same updates.
type UnrolledDivergence struct {
	XY, XX, YY *Unrolled
	// Dual is the Sinkhorn divergence of Feydy et al. (2019):
	// Dual_xy − ½Dual_xx − ½Dual_yy.
	Dual float64
	// MarginalError is the largest of the three problems' marginal errors.
	MarginalError float64
	// Iterations is L, the number of updates each problem ran.
	Iterations int
	// Converged reports that all three problems did.
	Converged bool
}

// newUnrolledDivergence combines the three records.
func newUnrolledDivergence(xy, xx, yy *Unrolled) *UnrolledDivergence {
	return &UnrolledDivergence{XY: xy, XX: xx, YY: yy, Dual: xy.Dual - (xx.Dual+yy.Dual)/2,
		MarginalError: max(xy.MarginalError, xx.MarginalError, yy.MarginalError),
		Iterations:    xy.Iterations, Converged: xy.Converged && xx.Converged && yy.Converged}
}

// Primal is the debiased loss of Genevay et al. (2018):
// 2·Primal_xy − Primal_xx − Primal_yy.
func (d *UnrolledDivergence) Primal() float64 {
	return 2*d.XY.Primal() - d.XX.Primal() - d.YY.Primal()
}

// UnrolledSinkhornDivergence runs the three problems of S_ε, each for L iterations
// (annealed from its own largest cost when EpsStart is 0): OT(α,β) as UnrolledSinkhorn
// does, the self problems OT(α,α) and OT(β,β) by the averaged updates of one potential
// (see unrolled_sym.go), which converge in a few iterations where alternating ones creep
// (and so does OT(α,β) when x and y are the same cloud with the same weights);
// AlternatingSelf runs all three by alternating updates.
func UnrolledSinkhornDivergence(x, y Points, a, b []float64, c Cost, eps float64, opts *UnrolledOptions) (*UnrolledDivergence, error) {
	o, err := opts.withDefaults(eps)
	if err != nil {
		return nil, err
	}
	x, y = samePrecision(x, y)
	n, _ := x.Dims()
	m, _ := y.Dims()
	matrices := unrolledMatrices(n, m, true)
	if x.IsFloat32() {
		if err := x.f32.check("x"); err != nil {
			return nil, err
		}
		if err := y.f32.check("y"); err != nil {
			return nil, err
		}
		matrices = unrolled32Matrices(n, m, true)
	}
	if !fitsDense(matrices) {
		return nil, denseFits(fmt.Sprintf("unrolled sinkhorn divergence between %d and %d points", n, m), matrices)
	}
	if err := unrolledTapeFits(n, m, o.Iterations, 3); err != nil { // the three problems' potentials
		return nil, err
	}
	// For float32 points the symmetric problems reuse the cross problem's squared norms.
	run := func(p, q Points, np, nq, a, b []float64, sym bool) (*Unrolled, error) {
		if p.IsFloat32() {
			return unrolled32(p.f32, q.f32, np, nq, a, b, c, eps, o, sym)
		}
		return unrolled64(p.f64, q.f64, a, b, c, eps, o, sym)
	}
	// Identical clouds and weights make OT(α,β) a self problem, run as one, so that
	// S_ε(α,α) is exactly 0 at every L.
	same := x.IsFloat32() && x.f32.same(y.f32) || !x.IsFloat32() && x.f64 == y.f64
	averaged := !o.AlternatingSelf
	xy, err := run(x, y, nil, nil, a, b, averaged && same && (a == nil) == (b == nil) && floats.Equal(a, b))
	if err != nil {
		return nil, err
	}
	var nx, ny []float64
	if xy.g32 != nil {
		nx, ny = xy.g32.nx, xy.g32.ny
	}
	xx, err := run(x, x, nx, nx, xy.p.a, xy.p.a, averaged)
	if err != nil {
		return nil, err
	}
	yy, err := run(y, y, ny, ny, xy.p.b, xy.p.b, averaged)
	if err != nil {
		return nil, err
	}
	return newUnrolledDivergence(xy, xx, yy), nil
}

// Backward adds to gx, gy the gradients of dDual·Dual + dPrimal·Primal through all
// iterations of the three problems; a zero destination is skipped, with the problem
// that only it needs.
func (d *UnrolledDivergence) Backward(dDual, dPrimal float64, gx, gy Points) {
	d.XY.Backward(dDual, 2*dPrimal, gx, gy)
	if !gx.none() {
		d.XX.Backward(-dDual/2, -dPrimal, gx, gx)
	}
	if !gy.none() {
		d.YY.Backward(-dDual/2, -dPrimal, gy, gy)
	}
}

// BackwardEnvelope adds w times the envelope gradient of the divergence (each OT term
// differentiated at its final potentials as if converged); zero destinations as in
// Backward.
func (d *UnrolledDivergence) BackwardEnvelope(w float64, gx, gy Points) {
	d.XY.BackwardEnvelope(w, gx, gy)
	if !gx.none() {
		d.XX.BackwardEnvelope(-w/2, gx, gx)
	}
	if !gy.none() {
		d.YY.BackwardEnvelope(-w/2, gy, gy)
	}
}
