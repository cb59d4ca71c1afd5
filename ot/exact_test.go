package ot

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// exactCheckTree verifies every invariant of the nsTree tree.
func exactCheckTree(t *testing.T, s *nsTree, a, b []float64) {
	t.Helper()
	N := s.nodes
	r := s.root
	// children lists from parent
	children := make([][]int32, N)
	for u := 0; u < N; u++ {
		if int32(u) == r {
			if s.parent[u] != -1 {
				t.Fatalf("root has parent %d", s.parent[u])
			}
			continue
		}
		children[s.parent[u]] = append(children[s.parent[u]], int32(u))
	}
	// thread: circular, visits all nodes, preorder-consistent
	seen := make([]bool, N)
	order := make([]int32, 0, N)
	u := r
	for k := 0; k < N; k++ {
		if seen[u] {
			t.Fatalf("thread revisits %d", u)
		}
		seen[u] = true
		order = append(order, u)
		if s.revThread[s.thread[u]] != u {
			t.Fatalf("revThread[thread[%d]] = %d", u, s.revThread[s.thread[u]])
		}
		u = s.thread[u]
	}
	if u != r {
		t.Fatalf("thread does not close at root")
	}
	pos := make([]int, N)
	for k, v := range order {
		pos[v] = k
	}
	// subtree sizes and contiguity
	var size func(v int32) int
	size = func(v int32) int {
		sz := 1
		for _, c := range children[v] {
			sz += size(c)
		}
		return sz
	}
	for v := 0; v < N; v++ {
		sz := size(int32(v))
		if int(s.succNum[v]) != sz {
			t.Fatalf("succNum[%d] = %d, want %d", v, s.succNum[v], sz)
		}
		if want := order[pos[v]+sz-1]; s.lastSucc[v] != want {
			t.Fatalf("lastSucc[%d] = %d, want %d", v, s.lastSucc[v], want)
		}
		for _, c := range children[v] {
			if pos[c] <= pos[v] || pos[c] >= pos[v]+sz {
				t.Fatalf("child %d of %d outside its subtree run", c, v)
			}
		}
	}
	// arcs, flows, reduced costs
	bal := make([]float64, N)
	for v := 0; v < N; v++ {
		if int32(v) == r {
			continue
		}
		p := int(s.parent[v])
		e := s.pred[v]
		var src, dst int
		if e < s.nArcs {
			src, dst = e/s.m, s.n+e%s.m
			if !math.IsInf(s.cost[e], 1) {
				t.Fatalf("tree arc %d has visible cost", e)
			}
		} else {
			w := e - s.nArcs
			if w < s.n {
				src, dst = w, int(r)
			} else {
				src, dst = int(r), w
			}
		}
		if s.up[v] != (src == v && dst == p) || (!s.up[v] && !(src == p && dst == v)) {
			t.Fatalf("node %d: arc %d→%d does not join it to parent %d as up=%v", v, src, dst, p, s.up[v])
		}
		if s.flow[v] < 0 {
			t.Fatalf("negative flow %g", s.flow[v])
		}
		if !s.up[v] && s.flow[v] == 0 {
			t.Fatalf("node %d: zero-flow arc points away from the root", v)
		}
		bal[src] -= s.flow[v]
		bal[dst] += s.flow[v]
		rc := s.predCost[v] + s.pi[src] - s.pi[dst]
		if math.Abs(rc) > 1e-9 {
			t.Fatalf("tree arc of %d has reduced cost %g", v, rc)
		}
	}
	for i := 0; i < s.n; i++ {
		if math.Abs(bal[i]+a[i]) > 1e-12 {
			t.Fatalf("row %d unbalanced: %g", i, bal[i]+a[i])
		}
	}
	for j := 0; j < s.m; j++ {
		if math.Abs(bal[s.n+j]-b[j]) > 1e-12 {
			t.Fatalf("col %d unbalanced: %g", j, bal[s.n+j]-b[j])
		}
	}
}

func TestExactTreeInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pivots := 0
	for trial := 0; trial < 200; trial++ {
		n, m := 1+rng.IntN(12), 1+rng.IntN(12)
		a, b := exactRandWeights(rng, n, trial%2 == 0), exactRandWeights(rng, m, trial%2 == 0)
		C := mat.NewDense(n, m, nil)
		for i := 0; i < n; i++ {
			for j := 0; j < m; j++ {
				C.Set(i, j, float64(rng.IntN(5))) // ties: degenerate pivots
			}
		}
		b = exactBalance(a, b)
		rows, cols := exactPositive(a), exactPositive(b)
		lo, hi, err := costRange(C, n, m)
		if err != nil {
			t.Fatal(err)
		}
		s, err := newNSTree(C, rows, cols, a, b, lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		exactCheckTree(t, s, a, b)
		for it := 0; s.findEntering() && it < 10000; it++ {
			s.pivot()
			pivots++
			exactCheckTree(t, s, a, b)
		}
	}
	if pivots < 100 {
		t.Fatalf("only %d pivots: the test exercises too little", pivots)
	}
}

// exactRandWeights returns n positive random weights summing to 1, or uniform ones.
func exactRandWeights(rng *rand.Rand, n int, uniform bool) []float64 {
	if uniform {
		return Uniform(n)
	}
	w := make([]float64, n)
	s := 0.0
	for i := range w {
		w[i] = 0.05 + rng.Float64()
		s += w[i]
	}
	for i := range w {
		w[i] /= s
	}
	return w
}

// exactCheckResult checks that res is an optimal primal-dual pair for (a, b, C):
// the plan is sorted, positive and has marginals a and b, Cost = Σ mass·C, the
// potentials are feasible, tight on the support, centred, and close the duality gap.
func exactCheckResult(t *testing.T, res *ExactResult, a, b []float64, C *mat.Dense) {
	t.Helper()
	n, m := C.Dims()
	if !res.Converged {
		t.Fatalf("not optimal after %d pivots", res.Iterations)
	}
	if len(res.F) != n || len(res.G) != m {
		t.Fatalf("potentials have lengths %d, %d for a %d×%d problem", len(res.F), len(res.G), n, m)
	}
	if a == nil {
		a = Uniform(n)
	}
	if b == nil {
		b = Uniform(m)
	}
	scale := 1.0
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			scale = math.Max(scale, math.Abs(C.At(i, j)))
		}
	}
	rows, cols := make([]float64, n), make([]float64, m)
	cost := 0.0
	for k, tr := range res.Plan {
		if k > 0 {
			p := res.Plan[k-1]
			if p.I > tr.I || (p.I == tr.I && p.J >= tr.J) {
				t.Fatalf("plan not sorted at %d: %v then %v", k, p, tr)
			}
		}
		if !(tr.Mass > 0) {
			t.Fatalf("plan entry %v is not positive", tr)
		}
		rows[tr.I] += tr.Mass
		cols[tr.J] += tr.Mass
		c := C.At(tr.I, tr.J)
		cost += tr.Mass * c
		if slack := c - res.F[tr.I] - res.G[tr.J]; math.Abs(slack) > 1e-9*scale {
			t.Fatalf("complementary slackness: C−F−G = %g on %v", slack, tr)
		}
	}
	for i := range a {
		if math.Abs(rows[i]-a[i]) > 1e-12 {
			t.Fatalf("row %d of the plan sums to %.17g, a = %.17g", i, rows[i], a[i])
		}
	}
	for j := range b {
		if math.Abs(cols[j]-b[j]) > 1e-12 {
			t.Fatalf("column %d of the plan sums to %.17g, b = %.17g", j, cols[j], b[j])
		}
	}
	if math.Abs(cost-res.Cost) > 1e-12*scale {
		t.Fatalf("Cost = %.17g but Σ mass·C = %.17g", res.Cost, cost)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			if v := res.F[i] + res.G[j] - C.At(i, j); v > 1e-9*scale {
				t.Fatalf("dual infeasible at (%d,%d): F+G−C = %g", i, j, v)
			}
		}
	}
	fa, gb := 0.0, 0.0
	for i := range a {
		fa += a[i] * res.F[i]
	}
	for j := range b {
		gb += b[j] * res.G[j]
	}
	if math.Abs(fa+gb-res.Cost) > 1e-9*scale {
		t.Fatalf("⟨a,F⟩+⟨b,G⟩ = %.17g, Cost = %.17g", fa+gb, res.Cost)
	}
	if math.Abs(fa-gb) > 1e-9*scale {
		t.Fatalf("potentials not centred: ⟨a,F⟩ = %g, ⟨b,G⟩ = %g", fa, gb)
	}
}

func TestExactFixtures(t *testing.T) {
	for _, name := range []string{"exact_uniform_8x8", "exact_weighted_30x20", "exact_uniform_200x200"} {
		t.Run(name, func(t *testing.T) {
			fx := loadFixture(t, name)
			x, y := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y")
			a, b := fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b")
			want := fixtureFloat(t, fx, "cost")
			wantPlan := fixtureDense(t, fx, "plan")
			res, err := ExactPoints(x, y, a, b, SqEuclidean, nil)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Cost-want) > 1e-9*math.Abs(want) {
				t.Fatalf("cost %.17g, POT %.17g", res.Cost, want)
			}
			n, m := wantPlan.Dims()
			P := res.DensePlan(n, m)
			for i := 0; i < n; i++ {
				for j := 0; j < m; j++ {
					if d := math.Abs(P.At(i, j) - wantPlan.At(i, j)); d > 1e-9 {
						t.Fatalf("plan[%d,%d] = %g, POT %g", i, j, P.At(i, j), wantPlan.At(i, j))
					}
				}
			}
			C, _ := SqEuclidean.Matrix(x, y)
			exactCheckResult(t, res, a, b, C)
		})
	}
}

// TestExactLargeFixtures checks Exact at the benchmark's sizes, n = 1024 and 2048 (and a
// weighted n = 1024), against POT's emd2 (testdata/gen_exact_large.py) and against the LP
// certificate: marginals, dual feasibility, complementary slackness, no duality gap.
func TestExactLargeFixtures(t *testing.T) {
	fx := loadFixture(t, "exact_large")
	for _, name := range []string{"uniform_1024", "uniform_2048", "weighted_1024"} {
		t.Run(name, func(t *testing.T) {
			c, ok := fx[name].(map[string]any)
			if !ok {
				t.Fatalf("fixture has no case %q", name)
			}
			x, y := fixtureDense(t, c, "x"), fixtureDense(t, c, "y")
			a, b := fixtureFloats(t, c, "a"), fixtureFloats(t, c, "b")
			if len(a) == 0 {
				a, b = nil, nil
			}
			want := fixtureFloat(t, c, "cost")
			C, err := SqEuclidean.Matrix(x, y)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Exact(a, b, C, nil)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Cost-want) > 1e-9*math.Abs(want) {
				t.Fatalf("cost %.17g, POT %.17g", res.Cost, want)
			}
			exactCheckResult(t, res, a, b, C)
		})
	}
}

func TestExact1DFixtures(t *testing.T) {
	for _, name := range []string{"exact_1d_p1", "exact_1d_p2"} {
		t.Run(name, func(t *testing.T) {
			fx := loadFixture(t, name)
			x, y := fixtureFloats(t, fx, "x"), fixtureFloats(t, fx, "y")
			a, b := fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b")
			p, want := fixtureFloat(t, fx, "p"), fixtureFloat(t, fx, "cost")
			got, err := Exact1D(x, y, a, b, p)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-want) > 1e-9*want {
				t.Fatalf("Exact1D = %.17g, POT %.17g", got, want)
			}
			res, err := ExactPoints(fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y"), a, b, PowerCost(p), nil)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Cost-want) > 1e-9*want {
				t.Fatalf("Exact = %.17g, POT %.17g", res.Cost, want)
			}
		})
	}
}

// exactRandProblem draws an n×m problem with random weights (some zero when
// zeros is set) and a random cost matrix.
func exactRandProblem(rng *rand.Rand, n, m int, zeros bool) (a, b []float64, C *mat.Dense) {
	a, b = exactRandWeights(rng, n, false), exactRandWeights(rng, m, false)
	if zeros {
		for _, w := range [][]float64{a, b} {
			if len(w) < 2 {
				continue
			}
			for k := 0; k < len(w)/3; k++ {
				w[rng.IntN(len(w)-1)] = 0 // keep the last one positive
			}
			s := 0.0
			for _, v := range w {
				s += v
			}
			for i := range w {
				w[i] /= s
			}
		}
	}
	C = mat.NewDense(n, m, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			C.Set(i, j, rng.Float64())
		}
	}
	return a, b, C
}

func TestExactRandomProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 60; trial++ {
		n, m := 1+rng.IntN(40), 1+rng.IntN(40)
		a, b, C := exactRandProblem(rng, n, m, trial%2 == 1)
		res, err := Exact(a, b, C, nil)
		if err != nil {
			t.Fatal(err)
		}
		exactCheckResult(t, res, a, b, C)
	}
}

// TestExactIntegerCosts stresses degenerate pivots: few distinct costs and
// uniform weights give many ties and many zero-flow tree arcs.
func TestExactIntegerCosts(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 30; trial++ {
		n, m := 2+rng.IntN(30), 2+rng.IntN(30)
		C := mat.NewDense(n, m, nil)
		for i := 0; i < n; i++ {
			for j := 0; j < m; j++ {
				C.Set(i, j, float64(rng.IntN(4)-1)) // negative costs too
			}
		}
		res, err := Exact(nil, nil, C, nil)
		if err != nil {
			t.Fatal(err)
		}
		exactCheckResult(t, res, nil, nil, C)
	}
}

func TestExactMatches1D(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, p := range []float64{1, 2, 1.5} {
		for trial := 0; trial < 10; trial++ {
			n, m := 1+rng.IntN(30), 1+rng.IntN(30)
			a, b := exactRandWeights(rng, n, false), exactRandWeights(rng, m, false)
			x, y := make([]float64, n), make([]float64, m)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			for j := range y {
				y[j] = 0.5 + 2*rng.NormFloat64()
			}
			want, err := Exact1D(x, y, a, b, p)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ExactPoints(mat.NewDense(n, 1, x), mat.NewDense(m, 1, y), a, b, PowerCost(p), nil)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Cost-want) > 1e-9*math.Max(want, 1e-12) {
				t.Fatalf("p=%g %d×%d: Exact %.17g, Exact1D %.17g", p, n, m, res.Cost, want)
			}
		}
	}
}

// exactPermutations calls f with every permutation of 0..n−1 (Heap's algorithm).
func exactPermutations(n int, f func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	c := make([]int, n)
	f(p)
	for i := 0; i < n; {
		if c[i] < i {
			if i%2 == 0 {
				p[0], p[i] = p[i], p[0]
			} else {
				p[c[i]], p[i] = p[i], p[c[i]]
			}
			f(p)
			c[i]++
			i = 0
		} else {
			c[i] = 0
			i++
		}
	}
}

// With uniform weights and n = m an optimal plan is a permutation (Birkhoff), so
// brute force over all n! of them gives the optimum.
func TestExactBruteForcePermutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for n := 1; n <= 7; n++ {
		for trial := 0; trial < 3; trial++ {
			x, y := exactBenchCloud(rng, n, 2), exactBenchCloud(rng, n, 2)
			C := SqEuclidean.matrix(x, y)
			best := math.Inf(1)
			exactPermutations(n, func(p []int) {
				s := 0.0
				for i, j := range p {
					s += C.At(i, j)
				}
				best = math.Min(best, s/float64(n))
			})
			res, err := Exact(nil, nil, C, nil)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Cost-best) > 1e-12 {
				t.Fatalf("n=%d: Exact %.17g, best permutation %.17g", n, res.Cost, best)
			}
			exactCheckResult(t, res, nil, nil, C)
		}
	}
}

func TestExactDegenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	t.Run("single source", func(t *testing.T) {
		_, b, C := exactRandProblem(rng, 1, 6, false)
		res, err := Exact(nil, b, C, nil)
		if err != nil {
			t.Fatal(err)
		}
		exactCheckResult(t, res, nil, b, C)
		if len(res.Plan) != 6 {
			t.Fatalf("plan has %d entries, want 6", len(res.Plan))
		}
	})
	t.Run("single sink", func(t *testing.T) {
		a, _, C := exactRandProblem(rng, 5, 1, false)
		res, err := Exact(a, nil, C, nil)
		if err != nil {
			t.Fatal(err)
		}
		exactCheckResult(t, res, a, nil, C)
	})
	t.Run("1x1", func(t *testing.T) {
		C := mat.NewDense(1, 1, []float64{2.5})
		res, err := Exact(nil, nil, C, nil)
		if err != nil {
			t.Fatal(err)
		}
		exactCheckResult(t, res, nil, nil, C)
		if res.Cost != 2.5 || len(res.Plan) != 1 || res.Plan[0] != (Transfer{0, 0, 1}) {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("zero weights", func(t *testing.T) {
		a := []float64{0, 0.5, 0, 0.5}
		b := []float64{0.25, 0, 0.75}
		_, _, C := exactRandProblem(rng, 4, 3, false)
		res, err := Exact(a, b, C, nil)
		if err != nil {
			t.Fatal(err)
		}
		exactCheckResult(t, res, a, b, C)
		for _, tr := range res.Plan {
			if a[tr.I] == 0 || b[tr.J] == 0 {
				t.Fatalf("mass %v on a zero-weight point", tr)
			}
		}
	})
	t.Run("identical clouds", func(t *testing.T) {
		x := exactBenchCloud(rng, 20, 3)
		a := exactRandWeights(rng, 20, false)
		res, err := ExactPoints(x, x, a, a, SqEuclidean, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Cost != 0 {
			t.Fatalf("cost %g between identical clouds", res.Cost)
		}
		for _, tr := range res.Plan {
			if tr.I != tr.J {
				t.Fatalf("plan moves mass %v", tr)
			}
		}
		exactCheckResult(t, res, a, a, SqEuclidean.matrix(x, x))
	})
	t.Run("constant cost", func(t *testing.T) {
		C := mat.NewDense(3, 4, nil)
		C.Apply(func(_, _ int, _ float64) float64 { return 7 }, C)
		res, err := Exact(nil, nil, C, nil)
		if err != nil {
			t.Fatal(err)
		}
		exactCheckResult(t, res, nil, nil, C)
		if math.Abs(res.Cost-7) > 1e-14 {
			t.Fatalf("cost %g, want 7", res.Cost)
		}
	})
	for _, scale := range []float64{1e300, -1e300, 1e-200} {
		t.Run(fmt.Sprintf("costs of size %g", scale), func(t *testing.T) {
			a, b, C := exactRandProblem(rng, 9, 12, false)
			want, err := Exact(a, b, C, nil)
			if err != nil {
				t.Fatal(err)
			}
			C.Scale(scale, C)
			res, err := Exact(a, b, C, nil)
			if err != nil {
				t.Fatal(err)
			}
			exactCheckResult(t, res, a, b, C)
			if math.Abs(res.Cost-scale*want.Cost) > 1e-12*math.Abs(scale) && scale > 0 {
				t.Fatalf("cost %g, want %g", res.Cost, scale*want.Cost)
			}
		})
	}
	t.Run("sums off by 1e-7", func(t *testing.T) {
		a := []float64{0.5, 0.5 + 1e-7}
		b := []float64{0.3, 0.7}
		C := mat.NewDense(2, 2, []float64{0, 1, 1, 0})
		res, err := Exact(a, b, C, nil)
		if err != nil {
			t.Fatal(err)
		}
		exactCheckResult(t, res, a, []float64{0.3, 0.7 + 1e-7}, C)
	})
}

func TestExactMaxIter(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	a, b, C := exactRandProblem(rng, 30, 30, false)
	res, err := Exact(a, b, C, &ExactOptions{MaxIter: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Converged || res.Iterations != 3 {
		t.Fatalf("Converged = %v after %d pivots with MaxIter 3", res.Converged, res.Iterations)
	}
	full, err := Exact(a, b, C, &ExactOptions{MaxIter: 0})
	if err != nil {
		t.Fatal(err)
	}
	if !full.Converged || full.Iterations <= 3 {
		t.Fatalf("default MaxIter: Converged = %v after %d pivots", full.Converged, full.Iterations)
	}
}

func TestExactBadInput(t *testing.T) {
	nan := math.NaN()
	C := mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6})
	Cnan := mat.NewDense(2, 3, []float64{1, 2, nan, 4, 5, 6})
	Cinf := mat.NewDense(2, 3, []float64{1, 2, 3, math.Inf(1), 5, 6})
	Chuge := mat.NewDense(2, 3, []float64{1, 2, 3, -1e300, 5, 1e300})
	x := mat.NewDense(2, 2, []float64{0, 0, 1, 1})
	y3 := mat.NewDense(3, 3, nil)
	half := []float64{0.5, 0.5}
	cases := []struct {
		name string
		run  func() error
	}{
		{"nil cost", func() error { _, err := Exact(nil, nil, nil, nil); return err }},
		{"empty cost", func() error { _, err := Exact(nil, nil, &mat.Dense{}, nil); return err }},
		{"a length", func() error { _, err := Exact([]float64{1}, nil, C, nil); return err }},
		{"b length", func() error { _, err := Exact(nil, half, C, nil); return err }},
		{"negative weight", func() error { _, err := Exact([]float64{1.5, -0.5}, nil, C, nil); return err }},
		{"NaN weight", func() error { _, err := Exact([]float64{nan, 0.5}, nil, C, nil); return err }},
		{"Inf weight", func() error { _, err := Exact(nil, []float64{math.Inf(1), 0, 0}, C, nil); return err }},
		{"sum not 1", func() error { _, err := Exact([]float64{0.5, 0.6}, nil, C, nil); return err }},
		{"all zero", func() error { _, err := Exact([]float64{0, 0}, nil, C, nil); return err }},
		{"NaN cost", func() error { _, err := Exact(nil, nil, Cnan, nil); return err }},
		{"Inf cost", func() error { _, err := Exact(nil, nil, Cinf, nil); return err }},
		{"cost range", func() error { _, err := Exact(nil, nil, Chuge, nil); return err }},
		{"negative MaxIter", func() error { _, err := Exact(nil, nil, C, &ExactOptions{MaxIter: -1}); return err }},
		{"points nil", func() error { _, err := ExactPoints(nil, x, nil, nil, SqEuclidean, nil); return err }},
		{"points dims", func() error { _, err := ExactPoints(x, y3, nil, nil, SqEuclidean, nil); return err }},
		{"points weights", func() error { _, err := ExactPoints(x, x, []float64{1}, nil, SqEuclidean, nil); return err }},
		{"points cost", func() error { _, err := ExactPoints(x, x, nil, nil, Cost{Power: -1, Scale: 1}, nil); return err }},
		{"1D p<1", func() error { _, err := Exact1D(half, half, nil, nil, 0.5); return err }},
		{"1D p NaN", func() error { _, err := Exact1D(half, half, nil, nil, nan); return err }},
		{"1D p Inf", func() error { _, err := Exact1D(half, half, nil, nil, math.Inf(1)); return err }},
		{"1D empty", func() error { _, err := Exact1D(nil, half, nil, nil, 1); return err }},
		{"1D NaN point", func() error { _, err := Exact1D(half, []float64{nan}, nil, nil, 1); return err }},
		{"1D weights length", func() error { _, err := Exact1D(half, half, []float64{1}, nil, 2); return err }},
		{"1D weights sum", func() error { _, err := Exact1D(half, half, nil, []float64{0.2, 0.2}, 2); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				err = c.run()
			}()
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("error %v does not wrap ErrInvalidInput", err)
			}
		})
	}
}

func TestExact1DProperties(t *testing.T) {
	// Two atoms each: the monotone coupling, computed by hand.
	got, err := Exact1D([]float64{3, 0}, []float64{1, 4}, []float64{0.25, 0.75}, []float64{0.5, 0.5}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// 0 (0.75) → 1 (0.5), 4 (0.25); 3 (0.25) → 4 (0.25).
	if want := 0.5*1 + 0.25*16 + 0.25*1; math.Abs(got-want) > 1e-15 {
		t.Fatalf("got %g, want %g", got, want)
	}
	// Translation: W_p^p(δ-shifted) = |δ|^p for identical shapes.
	x := []float64{0.3, -1, 2, 0.7}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v + 0.5
	}
	for _, p := range []float64{1, 2, 3} {
		got, err := Exact1D(x, y, nil, nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if want := math.Pow(0.5, p); math.Abs(got-want) > 1e-15 {
			t.Fatalf("p=%g: got %g, want %g", p, got, want)
		}
	}
	// Zero weights are ignored.
	got, err = Exact1D([]float64{0, 100}, []float64{1}, []float64{1, 0}, nil, 1)
	if err != nil || got != 1 {
		t.Fatalf("got %g, %v; want 1", got, err)
	}
	// Sums that differ within the tolerance are balanced as in Exact: the excess
	// 1e-7 of a goes to the largest (first) entry of b, at distance 1.
	a, b := []float64{0.5, 0.5 + 1e-7}, []float64{0.5, 0.5}
	got, err = Exact1D([]float64{0, 1}, []float64{0, 1}, a, b, 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Exact(a, b, mat.NewDense(2, 2, []float64{0, 1, 1, 0}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-1e-7) > 1e-15 || math.Abs(res.Cost-1e-7) > 1e-15 {
		t.Fatalf("Exact1D %g, Exact %g; want 1e-7", got, res.Cost)
	}
}

func ExampleExact() {
	// Two sources and three sinks on a line, cost |x−y|.
	C := mat.NewDense(2, 3, []float64{
		0, 1, 2,
		2, 1, 0,
	})
	res, err := Exact([]float64{0.5, 0.5}, []float64{0.25, 0.5, 0.25}, C, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("cost %.2f, optimal %v\n", res.Cost, res.Converged)
	for _, t := range res.Plan {
		fmt.Printf("%d → %d: %.2f\n", t.I, t.J, t.Mass)
	}
	// Output:
	// cost 0.50, optimal true
	// 0 → 0: 0.25
	// 0 → 1: 0.25
	// 1 → 1: 0.25
	// 1 → 2: 0.25
}

// argminDiff and argminDiff32 (the AVX2 kernels where available) pick the same index
// and value as the scalar loop, ties and +Inf (tree arcs) included, for every length
// and threshold.
func TestArgminDiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for trial := 0; trial < 2000; trial++ {
		n := rng.IntN(100)
		c, p := make([]float64, n), make([]float64, n+rng.IntN(3))
		for k := range c {
			c[k] = float64(rng.IntN(5)) // few values: many ties
			if rng.IntN(8) == 0 {
				c[k] = math.Inf(1)
			}
		}
		for k := range p {
			p[k] = float64(rng.IntN(5))
		}
		thr := float64(rng.IntN(7) - 5)
		k, v := argminDiff(c, p, thr)
		wk, wv := -1, thr
		for j := range c {
			if d := c[j] - p[j]; d < wv {
				wk, wv = j, d
			}
		}
		if k != wk || v != wv {
			t.Fatalf("n=%d thr=%g: argminDiff = (%d, %g), want (%d, %g)", n, thr, k, v, wk, wv)
		}
		// The float32 kernel on the same values (small integers and +Inf are exact).
		c32, p32 := make([]float32, len(c)), make([]float32, len(p))
		for j, x := range c {
			c32[j] = float32(x)
		}
		for j, x := range p {
			p32[j] = float32(x)
		}
		k32, v32 := argminDiff32(c32, p32, float32(thr))
		if k32 != wk || float64(v32) != wv {
			t.Fatalf("n=%d thr=%g: argminDiff32 = (%d, %g), want (%d, %g)", n, thr, k32, v32, wk, wv)
		}
	}
}

// Costs too large for float32 potentials take the float64 pricing from the start;
// scaling the costs by 1e30 must scale the cost and keep the (unique) plan.
func TestExactPricingPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	a, b, C := exactRandProblem(rng, 60, 50, false)
	big := mat.DenseCopyOf(C)
	big.Scale(1e30, big)
	for _, c := range []struct {
		C    *mat.Dense
		fast bool
	}{{C, true}, {big, false}} {
		lo, hi, err := costRange(c.C, 60, 50)
		if err != nil {
			t.Fatal(err)
		}
		s, err := newNSTree(c.C, exactPositive(a), exactPositive(b), a, exactBalance(a, b), lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		if s.fast != c.fast {
			t.Errorf("costs up to %g: float32 pricing %v, want %v", hi, s.fast, c.fast)
		}
	}
	small, err := Exact(a, b, C, nil)
	if err != nil {
		t.Fatal(err)
	}
	exactCheckResult(t, small, a, b, C)
	large, err := Exact(a, b, big, nil)
	if err != nil {
		t.Fatal(err)
	}
	exactCheckResult(t, large, a, b, big)
	if math.Abs(large.Cost-1e30*small.Cost) > 1e-12*large.Cost || len(large.Plan) != len(small.Plan) {
		t.Fatalf("scaled costs: cost %g (want %g), %d plan entries (want %d)", large.Cost, 1e30*small.Cost, len(large.Plan), len(small.Plan))
	}
	for k, tr := range small.Plan {
		if q := large.Plan[k]; q.I != tr.I || q.J != tr.J || math.Abs(q.Mass-tr.Mass) > 1e-12 {
			t.Fatalf("plan entry %d: %v at scale 1e30, %v at scale 1", k, q, tr)
		}
	}
}
