package ot

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// ExactOptions tunes Exact. A nil *ExactOptions means defaults.
type ExactOptions struct {
	MaxIter int // pivot cap; 0 means exactDefaultMaxIter
}

// exactDefaultMaxIter is the pivot cap used when ExactOptions.MaxIter is 0.
const exactDefaultMaxIter = 100_000_000

// Transfer is one nonzero entry of a transport plan.
type Transfer struct {
	I, J int
	Mass float64
}

// ExactResult is the output of Exact.
type ExactResult struct {
	Cost       float64    // ⟨P,C⟩
	Plan       []Transfer // nonzero entries of the optimal plan, sorted by I then J
	F, G       []float64  // dual potentials: F_i + G_j ≤ C_ij, equality on the support, ⟨a,F⟩+⟨b,G⟩ = Cost
	Iterations int        // pivots
	Converged  bool       // the plan is optimal (false when MaxIter stopped the solver early)
}

// DensePlan returns the plan as an n×m matrix; n and m are the sizes of the problem
// (len(r.F), len(r.G)). It panics, like mat.Dense.Set, if an entry falls outside.
func (r *ExactResult) DensePlan(n, m int) *mat.Dense {
	P := mat.NewDense(n, m, nil)
	for _, t := range r.Plan {
		P.Set(t.I, t.J, t.Mass)
	}
	return P
}

// Exact solves the exact optimal transport problem
//
//	min ⟨P,C⟩ over P ≥ 0 with P·1 = a, Pᵀ·1 = b
//
// for arbitrary weights a (length n) and b (length m), nil meaning uniform, by the
// primal network simplex on the bipartite transport graph (Ahuja, Magnanti, Orlin,
// "Network Flows", 1993, ch. 11), the method of POT's emd (Bonneel, van de Panne,
// Paris, Heidrich, "Displacement interpolation using Lagrangian mass transport",
// SIGGRAPH Asia 2011), which follows LEMON. The spanning tree is kept in LEMON's
// form (parent, thread, subtree sizes, last successors) and starts from an
// artificial root with big-M arcs; the entering arc is the best of the first block
// of about √(nm) arcs that holds a negative reduced cost, and the leaving arc is
// chosen so that the tree stays strongly feasible, which rules out cycling.
// The pricing scans a float32 copy of the costs and potentials first (each choice
// checked in float64) and the float64 costs once that finds nothing, so optimality
// is decided in float64. Costs live in row-major slices and flows only on tree arcs,
// so memory is one float64 and one float32 copy of C plus O(n+m).
//
// Costs must span less than 1e300, to keep sums of costs finite.
//
// Details: the masses are balanced by adding Σa − Σb to the largest entry of b (the
// sums may differ by the validation tolerance); points of zero weight take no part
// in the simplex and get the largest feasible potential afterwards. The potentials
// are centred as in POT (ot.emd's center_dual): shifted by one constant so that
// ⟨a,F⟩ = ⟨b,G⟩ = Cost/2. Reduced costs above −2.2e-15 times the magnitude of the
// terms count as zero, again as in POT.
// If MaxIter stops the solver, Converged is false and the plan may miss the marginals.
func Exact(a, b []float64, C *mat.Dense, opts *ExactOptions) (*ExactResult, error) {
	if C == nil || C.IsEmpty() {
		return nil, invalid("cost matrix is empty")
	}
	n, m := C.Dims()
	if err := denseFits(fmt.Sprintf("exact OT on a %d×%d cost matrix", n, m), exactMatrices*area(n, m)); err != nil {
		return nil, err
	}
	a, err := weights("a", a, n)
	if err != nil {
		return nil, err
	}
	b, err = weights("b", b, m)
	if err != nil {
		return nil, err
	}
	lo, hi, err := costRange(C, n, m)
	if err != nil {
		return nil, err
	}
	maxIter := exactDefaultMaxIter
	if opts != nil {
		if opts.MaxIter < 0 {
			return nil, invalid("ExactOptions.MaxIter = %d is negative", opts.MaxIter)
		}
		if opts.MaxIter > 0 {
			maxIter = opts.MaxIter
		}
	}
	return exactSimplex(C, a, exactBalance(a, b), lo, hi, maxIter)
}

// ExactPoints is Exact on the cost matrix C_ij = c(x_i, y_j).
func ExactPoints(x, y *mat.Dense, a, b []float64, c Cost, opts *ExactOptions) (*ExactResult, error) {
	n, m := rowsOf(x), rowsOf(y)
	if err := denseFits(fmt.Sprintf("exact OT between %d and %d points", n, m), exactMatrices*area(n, m)); err != nil {
		return nil, err
	}
	C, err := c.Matrix(x, y)
	if err != nil {
		return nil, err
	}
	return Exact(a, b, C, opts)
}

// exactMatrices counts Exact's n×m float64 matrices: C, the solver's copy of the costs
// and their float32 copy for pricing.
const exactMatrices = 2.5

// exactBalance returns b with Σa − Σb added to its largest entry, so that supplies and
// demands agree to rounding; b is copied, never modified.
func exactBalance(a, b []float64) []float64 {
	d := exactSum(a) - exactSum(b)
	if d == 0 {
		return b
	}
	b = slices.Clone(b)
	k := 0
	for j, v := range b {
		if v > b[k] {
			k = j
		}
	}
	if b[k]+d >= 0 {
		b[k] += d
		return b
	}
	// Only when m is huge (validation allows |d| up to 2e-6, and max b ≥ 1/m):
	// rescale instead.
	s := exactSum(a) / exactSum(b)
	for j := range b {
		b[j] *= s
	}
	return b
}

func exactSum(w []float64) float64 {
	s := 0.0
	for _, v := range w {
		s += v
	}
	return s
}

// exactFinish computes the cost, sorts the plan and centres and completes the
// potentials of a solution given on the full index range.
func exactFinish(res *ExactResult, C *mat.Dense, a, b []float64) {
	slices.SortFunc(res.Plan, func(p, q Transfer) int {
		if p.I != q.I {
			return p.I - q.I
		}
		return p.J - q.J
	})
	cost := 0.0
	for _, t := range res.Plan {
		cost += t.Mass * C.At(t.I, t.J)
	}
	res.Cost = cost
	exactCentre(res.F, res.G, a, b)
}

// exactCentre shifts F down and G up by one constant so that ⟨a,F⟩ = ⟨b,G⟩.
func exactCentre(F, G, a, b []float64) {
	fa, gb := 0.0, 0.0
	for i, v := range F {
		fa += a[i] * v
	}
	for j, v := range G {
		gb += b[j] * v
	}
	c := (fa - gb) / (exactSum(a) + exactSum(b))
	for i := range F {
		F[i] -= c
	}
	for j := range G {
		G[j] += c
	}
}

// exactSimplex runs the network simplex on the nodes of positive weight and maps the
// solution back; lo and hi are the smallest and largest entries of C.
func exactSimplex(C *mat.Dense, a, b []float64, lo, hi float64, maxIter int) (*ExactResult, error) {
	N, M := C.Dims()
	rows := exactPositive(a)
	cols := exactPositive(b)
	s, err := newNSTree(C, rows, cols, a, b, lo, hi)
	if err != nil {
		return nil, err
	}
	iters, ok := s.run(maxIter)

	res := &ExactResult{Iterations: iters, Converged: ok, F: make([]float64, N), G: make([]float64, M)}
	n, m := len(rows), len(cols)
	for u := 0; u < n+m; u++ {
		e := s.pred[u]
		if e >= s.nArcs || s.flow[u] <= 0 {
			continue
		}
		res.Plan = append(res.Plan, Transfer{I: rows[e/m], J: cols[e%m], Mass: s.flow[u]})
	}
	// Undo the cost shift; LEMON-style π is minus the supply potential.
	for k, i := range rows {
		res.F[i] = -s.pi[k] + s.shift
	}
	for k, j := range cols {
		res.G[j] = s.pi[n+k]
	}
	exactFillZero(C, res.F, res.G, a, b)
	exactFinish(res, C, a, b)
	return res, nil
}

// exactPositive lists the indices of positive weights.
func exactPositive(w []float64) []int {
	idx := make([]int, 0, len(w))
	for i, v := range w {
		if v > 0 {
			idx = append(idx, i)
		}
	}
	return idx
}

// exactFillZero gives each zero-weight point the largest potential that keeps
// dual feasibility: first columns against the active rows, then rows against all.
func exactFillZero(C *mat.Dense, F, G, a, b []float64) {
	for j := range G {
		if b[j] > 0 {
			continue
		}
		g := math.Inf(1)
		for i := range F {
			if a[i] > 0 {
				g = min(g, C.At(i, j)-F[i])
			}
		}
		G[j] = g
	}
	for i := range F {
		if a[i] > 0 {
			continue
		}
		f := math.Inf(1)
		for j := range G {
			f = min(f, C.At(i, j)-G[j])
		}
		F[i] = f
	}
}

// Network simplex.
//
// Nodes 0..n−1 are the sources (rows), n..n+m−1 the sinks (columns) and n+m the
// artificial root. Arc e < n·m goes from row e/m to column e%m with cost cost[e];
// arc nArcs+u joins node u and the root: u→root at cost 0 for a source, root→u at
// the big-M cost for a sink. Only tree arcs carry flow, so flows and every other
// tree attribute live on the nodes: node u is joined to parent[u] by arc pred[u].
// Potentials follow LEMON: an arc s→t has reduced cost cost + π_s − π_t.

// nsEps is the relative size below which a negative reduced cost is taken as
// rounding noise (as in POT).
const nsEps = 2.220446049250313e-15

// nsMaxRange bounds max C − min C.
const nsMaxRange = 1e300

type nsTree struct {
	n, m  int // active rows and columns
	nArcs int // n·m
	nodes int // n+m+1
	root  int32
	shift float64   // subtracted from every cost to make them nonnegative
	bigM  float64   // cost of the artificial root→sink arcs
	cost  []float64 // n·m arc costs, +Inf while the arc is in the tree
	// cost32 and pi32 are cost and pi rounded to float32, for the first pricing pass
	// (see findEntering) while fast is set.
	cost32 []float32
	pi32   []float32
	fast   bool
	block  int     // pricing block size
	next   int     // arc where the next pricing scan starts
	inArc  int     // entering arc chosen by findEntering
	inCost float64 // its reduced cost

	// Per node: the tree arc to the parent, its direction (up: u→parent),
	// flow and cost, the potential and the thread structure (preorder successor
	// and predecessor, subtree size and last node of the subtree in preorder).
	parent, thread, revThread, succNum, lastSucc []int32
	pred                                         []int
	up                                           []bool
	flow, predCost, pi                           []float64

	stem, segStart, segEnd []int32 // scratch for updateTree
}

// newNSTree builds the initial tree on the active rows and columns of C, whose
// entries lie in [lo, hi] (the range is recomputed when a row or column is left out).
func newNSTree(C *mat.Dense, rows, cols []int, a, b []float64, lo, hi float64) (*nsTree, error) {
	n, m := len(rows), len(cols)
	N := n + m + 1
	s := &nsTree{n: n, m: m, nArcs: n * m, nodes: N, root: int32(n + m)}
	s.cost = make([]float64, n*m)
	raw := C.RawMatrix()
	full := len(cols) == raw.Cols
	own := !full || len(rows) != raw.Rows
	if own {
		lo, hi = math.Inf(1), math.Inf(-1)
	}
	for k, i := range rows {
		dst := s.cost[k*m : k*m+m]
		src := raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols]
		if full {
			copy(dst, src)
		} else {
			for q, j := range cols {
				dst[q] = src[j]
			}
		}
		if own {
			for _, v := range dst {
				lo = min(lo, v)
				hi = max(hi, v)
			}
		}
	}
	// Potentials are sums of costs along tree paths: keep them far from overflow.
	if hi-lo > nsMaxRange {
		return nil, invalid("costs span [%g, %g], wider than %g", lo, hi, nsMaxRange)
	}
	// Work with costs in [0, hi], shifted if some are negative.
	if lo < 0 {
		s.shift = lo
		for e := range s.cost {
			s.cost[e] -= lo
		}
		hi -= lo
	}
	// Any M above the largest cost drives the artificial flow out (a source and
	// a sink both still tied to the root would give a real arc of reduced cost
	// C − M < 0); a small M keeps the potentials, hence the pricing, accurate.
	s.bigM = 2 * hi
	if s.bigM == 0 {
		s.bigM = 1
	}
	s.block = max(int(math.Sqrt(float64(s.nArcs))), min(s.nArcs, 10)) // as in LEMON and POT
	// float32 pricing where potentials (sums of costs along tree paths, below
	// N·bigM) stay far inside float32's range.
	s.fast = float64(N)*s.bigM < 1e30
	if s.fast {
		s.cost32 = make([]float32, n*m)
		for e, v := range s.cost {
			s.cost32[e] = float32(v)
		}
		s.pi32 = make([]float32, N)
	}

	s.parent = make([]int32, N)
	s.thread = make([]int32, N)
	s.revThread = make([]int32, N)
	s.succNum = make([]int32, N)
	s.lastSucc = make([]int32, N)
	s.pred = make([]int, N)
	s.up = make([]bool, N)
	s.flow = make([]float64, N)
	s.predCost = make([]float64, N)
	s.pi = make([]float64, N)
	s.stem = make([]int32, 0, N)
	s.segStart = make([]int32, 0, 2*N)
	s.segEnd = make([]int32, 0, 2*N)

	// Initial tree: every node hangs from the root, the thread visits them in
	// index order. Sink arcs point away from the root and carry positive flow,
	// so the tree is strongly feasible.
	for u := 0; u < n+m; u++ {
		s.parent[u] = s.root
		s.pred[u] = s.nArcs + u
		s.thread[u] = int32(u + 1)
		s.revThread[u+1] = int32(u)
		s.succNum[u] = 1
		s.lastSucc[u] = int32(u)
		if u < n {
			s.up[u] = true
			s.flow[u] = a[rows[u]]
		} else {
			s.flow[u] = b[cols[u-n]]
			s.predCost[u] = s.bigM
			s.pi[u] = s.bigM
		}
	}
	r := s.root
	s.parent[r] = -1
	s.pred[r] = -1
	s.thread[r] = 0
	s.revThread[0] = r
	s.succNum[r] = int32(N)
	s.lastSucc[r] = r - 1
	s.syncPi32()
	return s, nil
}

// run pivots until optimality or maxIter pivots. After the pricing finds no
// entering arc it recomputes the potentials from the tree, removing the drift of
// the incremental updates, and checks once more.
func (s *nsTree) run(maxIter int) (iters int, optimal bool) {
	for {
		for s.findEntering() {
			if iters == maxIter {
				s.recomputePotentials()
				return iters, false
			}
			s.pivot()
			iters++
		}
		s.recomputePotentials()
		if !s.findEntering() {
			return iters, true
		}
		s.next = s.inArc // resume where the violation was found
	}
}

// findEntering scans the arcs cyclically from s.next in blocks of s.block and stops
// at the end of the first block holding an arc of significantly negative reduced
// cost, choosing the most negative one of that block. While s.fast is set the scan
// reads the float32 copies (half the memory traffic: the costs do not fit in cache at
// n = 2048) and checks its choice in float64; once a whole cycle finds nothing that
// way, the float64 scan takes over for good, so optimality is always decided on the
// float64 costs.
func (s *nsTree) findEntering() bool {
	if s.fast {
		if s.findEntering32() {
			return true
		}
		s.fast, s.cost32, s.pi32 = false, nil, nil
	}
	return s.findEntering64()
}

// findEntering32 is findEntering's scan on the float32 copies: in each run of a row
// the float32 arg-min, kept if its float64 reduced cost beats the block's best.
func (s *nsTree) findEntering32() bool {
	n, m := s.n, s.m
	cost32, pi := s.cost32, s.pi
	piCol, piCol32 := pi[n:n+m], s.pi32[n:n+m]
	e := s.next
	i, j := e/m, e%m
	best, bestRC := -1, 0.0
	left := s.block
	for scanned := 0; scanned < s.nArcs; {
		end := min(m, j+left, j+s.nArcs-scanned)
		pii := pi[i]
		if bj, _ := argminDiff32(cost32[i*m+j:i*m+end], piCol32[j:end], float32(bestRC-pii)); bj >= 0 {
			k := i*m + j + bj
			if rc := s.cost[k] - piCol[j+bj] + pii; rc < bestRC {
				best, bestRC = k, rc
			}
		}
		w := end - j
		scanned += w
		left -= w
		j = end
		if j == m {
			j = 0
			i++
			if i == n {
				i = 0
			}
		}
		if left == 0 || scanned == s.nArcs {
			if s.accept(best, bestRC, i*m+j) {
				return true
			}
			best, bestRC = -1, 0
			left = s.block
		}
	}
	return false
}

// accept takes arc best as the entering arc if its reduced cost rc is significantly
// negative, the next scan starting at arc next.
func (s *nsTree) accept(best int, rc float64, next int) bool {
	if best < 0 {
		return false
	}
	bi, bk := best/s.m, best%s.m
	scale := max(math.Abs(s.cost[best]), math.Abs(s.pi[bi]), math.Abs(s.pi[s.n+bk]))
	if rc < -nsEps*scale {
		s.inArc, s.inCost = best, rc
		s.next = next
		return true
	}
	return false
}

// findEntering64 is findEntering's scan on the float64 costs.
func (s *nsTree) findEntering64() bool {
	n, m := s.n, s.m
	cost, pi := s.cost, s.pi
	piCol := pi[n : n+m]
	e := s.next
	i, j := e/m, e%m
	best, bestRC := -1, 0.0
	left := s.block
	for scanned := 0; scanned < s.nArcs; {
		end := min(m, j+left, j+s.nArcs-scanned)
		row := cost[i*m+j : i*m+end]
		pc := piCol[j:end]
		pc = pc[:len(row)]
		pii := pi[i]
		// Minimise cost − π_col over the run; compare against bestRC − π_row.
		bj, thr := argminDiff(row, pc, bestRC-pii)
		if bj >= 0 {
			best = i*m + j + bj
			bestRC = thr + pii
		}
		w := end - j
		scanned += w
		left -= w
		j = end
		if j == m {
			j = 0
			i++
			if i == n {
				i = 0
			}
		}
		if left == 0 || scanned == s.nArcs {
			if s.accept(best, bestRC, i*m+j) {
				return true
			}
			best, bestRC = -1, 0
			left = s.block
		}
	}
	return false
}

// pivot brings s.inArc into the tree, pushes flow around the cycle it closes and
// drops the arc that blocks first, then repairs the tree and the potentials.
func (s *nsTree) pivot() {
	parent, succNum, up, flow := s.parent, s.succNum, s.up, s.flow
	e := s.inArc
	first := int32(e / s.m)      // source of the entering arc
	second := int32(s.n + e%s.m) // its target
	u, v := first, second
	for u != v { // join: walk up from the side with the smaller subtree
		if succNum[u] < succNum[v] {
			u = parent[u]
		} else {
			v = parent[v]
		}
	}
	join := u

	// Leaving arc: the flow moves join→first and second→join. Ties go to the
	// last blocking arc met from the join along the cycle (strict < on the
	// first path, ≤ on the second), which keeps the tree strongly feasible.
	delta := math.Inf(1)
	var uOut int32 = -1
	onFirst := false
	for u := first; u != join; u = parent[u] {
		if up[u] && flow[u] < delta {
			delta, uOut, onFirst = flow[u], u, true
		}
	}
	for u := second; u != join; u = parent[u] {
		if !up[u] && flow[u] <= delta {
			delta, uOut, onFirst = flow[u], u, false
		}
	}
	if delta > 0 {
		for u := first; u != join; u = parent[u] {
			if up[u] {
				flow[u] -= delta
			} else {
				flow[u] += delta
			}
		}
		for u := second; u != join; u = parent[u] {
			if up[u] {
				flow[u] += delta
			} else {
				flow[u] -= delta
			}
		}
	}
	uIn, vIn, inUp := first, second, true
	if !onFirst {
		uIn, vIn, inUp = second, first, false
	}

	// The leaving arc, if real, becomes eligible again; the entering one is hidden
	// from pricing by an infinite cost.
	if out := s.pred[uOut]; out < s.nArcs {
		s.cost[out] = s.predCost[uOut]
		if s.fast {
			s.cost32[out] = float32(s.predCost[uOut])
		}
	}
	inCost := s.cost[e]
	s.cost[e] = math.Inf(1)
	if s.fast {
		s.cost32[e] = float32(math.Inf(1))
	}

	s.updateTree(uIn, vIn, uOut, join, e, inUp, inCost, delta)

	// Shift the potentials of the moved subtree so the new arc has reduced cost 0.
	sigma := s.inCost
	if inUp { // the source side moved: π_first −= σ
		sigma = -sigma
	}
	pi, thread := s.pi, s.thread
	x := uIn
	if s.fast {
		pi32 := s.pi32
		for k := succNum[uIn]; k > 0; k-- {
			pi[x] += sigma
			pi32[x] = float32(pi[x])
			x = thread[x]
		}
		return
	}
	for k := succNum[uIn]; k > 0; k-- {
		pi[x] += sigma
		x = thread[x]
	}
}

// updateTree replaces the tree arc of uOut by the arc joining uIn (inside the
// subtree of uOut) and vIn. The subtree is re-rooted at uIn along the stem
// uIn = s_0, s_1 = parent(s_0), …, s_k = uOut and hung below vIn as its first
// child. In preorder the new subtree is D_0 D_1 … D_k, where D_t is the old
// subtree of s_t without that of s_{t−1}: at most two runs of the old thread.
func (s *nsTree) updateTree(uIn, vIn, uOut, join int32, inArc int, inUp bool, inCost, delta float64) {
	parent, thread, revThread := s.parent, s.thread, s.revThread
	succNum, lastSucc := s.succNum, s.lastSucc
	vOut := parent[uOut]
	last := lastSucc[uOut]
	before := revThread[uOut]
	after := thread[last]
	size := succNum[uOut]

	stem := s.stem[:0]
	for u := uIn; ; u = parent[u] {
		stem = append(stem, u)
		if u == uOut {
			break
		}
	}
	segS, segE := s.segStart[:0], s.segEnd[:0]
	segS = append(segS, uIn)
	segE = append(segE, lastSucc[uIn])
	for t := 1; t < len(stem); t++ {
		st, prev := stem[t], stem[t-1]
		segS = append(segS, st)
		segE = append(segE, revThread[prev])
		if lastSucc[st] != lastSucc[prev] {
			segS = append(segS, thread[lastSucc[prev]])
			segE = append(segE, lastSucc[st])
		}
	}
	newLast := segE[len(segE)-1]
	for q := 1; q < len(segS); q++ {
		thread[segE[q-1]] = segS[q]
		revThread[segS[q]] = segE[q-1]
	}
	// Cut the old run out of the thread, splice the new one in after vIn.
	thread[before] = after
	revThread[after] = before
	x := thread[vIn]
	thread[vIn] = uIn
	revThread[uIn] = vIn
	thread[newLast] = x
	revThread[x] = newLast

	// Ancestors whose subtree ended with the cut run now end just before it;
	// those whose subtree ended at vIn now end with the inserted run.
	for u := vOut; u != -1 && lastSucc[u] == last; u = parent[u] {
		lastSucc[u] = before
	}
	for u := vIn; u != -1 && lastSucc[u] == vIn; u = parent[u] {
		lastSucc[u] = newLast
	}
	for u := vOut; u != join; u = parent[u] {
		succNum[u] -= size
	}
	for u := vIn; u != join; u = parent[u] {
		succNum[u] += size
	}

	// Reverse the stem: s_t inherits the arc that joined it to s_{t−1}.
	for t := len(stem) - 1; t >= 1; t-- {
		st, prev := stem[t], stem[t-1]
		parent[st] = prev
		s.pred[st] = s.pred[prev]
		s.up[st] = !s.up[prev]
		s.flow[st] = s.flow[prev]
		s.predCost[st] = s.predCost[prev]
		succNum[st] = size - succNum[prev]
		lastSucc[st] = newLast
	}
	parent[uIn] = vIn
	s.pred[uIn] = inArc
	s.up[uIn] = inUp
	s.flow[uIn] = delta
	s.predCost[uIn] = inCost
	succNum[uIn] = size
	lastSucc[uIn] = newLast
	s.stem, s.segStart, s.segEnd = stem, segS, segE
}

// argminDiffGo is the portable argminDiff.
func argminDiffGo(c, p []float64, thr float64) (int, float64) {
	p = p[:len(c)]
	best := -1
	for k, v := range c {
		if d := v - p[k]; d < thr {
			thr, best = d, k
		}
	}
	return best, thr
}

// argminDiff32Go is the portable argminDiff32.
func argminDiff32Go(c, p []float32, thr float32) (int, float32) {
	p = p[:len(c)]
	best := -1
	for k, v := range c {
		if d := v - p[k]; d < thr {
			thr, best = d, k
		}
	}
	return best, thr
}

// recomputePotentials sets π from scratch along the thread, π_root = 0.
func (s *nsTree) recomputePotentials() {
	r := s.root
	s.pi[r] = 0
	for u := s.thread[r]; u != r; u = s.thread[u] {
		p := s.parent[u]
		if s.up[u] {
			s.pi[u] = s.pi[p] - s.predCost[u]
		} else {
			s.pi[u] = s.pi[p] + s.predCost[u]
		}
	}
	s.syncPi32()
}

// syncPi32 rounds the potentials to pi32 while float32 pricing is on.
func (s *nsTree) syncPi32() {
	if s.fast {
		for u, v := range s.pi {
			s.pi32[u] = float32(v)
		}
	}
}
