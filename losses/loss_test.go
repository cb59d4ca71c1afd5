package losses

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/ot"
)

// mlpLoss is a tiny generator y = tanh(z·W1)·W2 in front of a loss against fixed data:
// the test differentiates the whole graph with respect to W1 and W2.
type mlpLoss struct {
	g      *G.ExprGraph
	w1, w2 *G.Node
	loss   *Loss
	vm     G.VM
	value  G.Value
	grads  G.Nodes // this run's ∂loss/∂w1, ∂loss/∂w2 (the dual values accumulate over runs)
}

func randMatrix(rng *rand.Rand, r, c int, scale float64) []float64 {
	v := make([]float64, r*c)
	for i := range v {
		v[i] = scale * rng.NormFloat64()
	}
	return v
}

func buildMLP(t *testing.T, dt tensor.Dtype, cfg Config, z, w1, w2, data []float64, n, m, k, h, d int) *mlpLoss {
	t.Helper()
	g := G.NewGraph()
	val := func(v []float64, r, c int) *tensor.Dense {
		if dt == tensor.Float32 {
			f := make([]float32, len(v))
			for i, x := range v {
				f[i] = float32(x)
			}
			return tensor.New(tensor.WithShape(r, c), tensor.WithBacking(f))
		}
		return tensor.New(tensor.WithShape(r, c), tensor.WithBacking(append([]float64(nil), v...)))
	}
	zN := G.NewMatrix(g, dt, G.WithShape(m, k), G.WithValue(val(z, m, k)), G.WithName("z"))
	w1N := G.NewMatrix(g, dt, G.WithShape(k, h), G.WithValue(val(w1, k, h)), G.WithName("w1"))
	w2N := G.NewMatrix(g, dt, G.WithShape(h, d), G.WithValue(val(w2, h, d)), G.WithName("w2"))
	xN := G.NewMatrix(g, dt, G.WithShape(n, d), G.WithValue(val(data, n, d)), G.WithName("data"))
	hid := G.Must(G.Tanh(G.Must(G.Mul(zN, w1N))))
	y := G.Must(G.Mul(hid, w2N))
	loss, err := New(xN, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ml := &mlpLoss{g: g, w1: w1N, w2: w2N, loss: loss}
	G.Read(loss.Node(), &ml.value)
	grads, err := G.Grad(loss.Node(), w1N, w2N)
	if err != nil {
		t.Fatal(err)
	}
	ml.grads = grads
	ml.vm = G.NewTapeMachine(g, G.BindDualValues(w1N, w2N))
	return ml
}

func (ml *mlpLoss) run(t *testing.T) float64 {
	t.Helper()
	if err := ml.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	defer ml.vm.Reset()
	switch v := ml.value.Data().(type) {
	case float64:
		return v
	case float32:
		return float64(v)
	}
	t.Fatalf("loss value %T", ml.value.Data())
	return 0
}

func gradOf(t *testing.T, n *G.Node) []float64 {
	t.Helper()
	g, err := n.Grad()
	if err != nil {
		t.Fatal(err)
	}
	switch d := g.Data().(type) {
	case []float64:
		return append([]float64(nil), d...)
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	}
	t.Fatalf("gradient %T", g.Data())
	return nil
}

// The loss inside a gorgonia graph, behind an MLP: gorgonia's Grad through the custom
// Ops must match central finite differences of the whole graph's value.
func TestLossInGraphFiniteDifferences(t *testing.T) {
	const n, m, k, h, d = 9, 7, 3, 5, 4
	rng := rand.New(rand.NewPCG(1, 2))
	z, w1, w2 := randMatrix(rng, m, k, 1), randMatrix(rng, k, h, 0.7), randMatrix(rng, h, d, 0.7)
	data := randMatrix(rng, n, d, 1)
	for _, cfg := range []Config{
		{Kind: Divergence, Eps: 0.5, Iters: 10},
		{Kind: Primal, Eps: 0.5, Iters: 10},
		{Kind: Entropic, Eps: 1, Iters: 5, EpsScaling: 0.5, EpsStart: 8},
		{Kind: Divergence, Eps: 0.3, Iters: 8, Cost: ot.Euclidean},
		{Kind: Divergence, Eps: math.Inf(1)},
		{Kind: MMD},
		{Kind: Energy},
		{Kind: Sliced, Projections: 16, Seed: 3},
		{Kind: Sliced, Projections: 8, Cost: ot.PowerCost(3)},
		{Kind: Unbalanced, Eps: 0.5, Rho: 1, Iters: 5000},
	} {
		ml := buildMLP(t, tensor.Float64, cfg, z, w1, w2, data, n, m, k, h, d)
		ml.run(t)
		grads := [][]float64{gradOf(t, ml.w1), gradOf(t, ml.w2)}
		for wi, w := range [][]float64{w1, w2} {
			for i := range w {
				const step = 1e-6
				orig := w[i]
				value := func(v float64) float64 {
					w[i] = v
					defer func() { w[i] = orig }()
					return buildMLP(t, tensor.Float64, cfg, z, w1, w2, data, n, m, k, h, d).run(t)
				}
				fd := (value(orig+step) - value(orig-step)) / (2 * step)
				if diff := math.Abs(fd - grads[wi][i]); diff > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Errorf("%s ε=%g: ∂/∂w%d[%d] = %.10g, finite difference %.10g", cfg.Kind, cfg.Eps, wi+1, i, grads[wi][i], fd)
				}
			}
		}
	}
}

// float32 graphs take the float32 path inside the Ops: they must agree with float64
// graphs to float32 precision.
func TestLossFloat32MatchesFloat64(t *testing.T) {
	const n, m, k, h, d = 20, 16, 4, 8, 6
	rng := rand.New(rand.NewPCG(3, 4))
	z, w1, w2 := randMatrix(rng, m, k, 1), randMatrix(rng, k, h, 0.5), randMatrix(rng, h, d, 0.5)
	data := randMatrix(rng, n, d, 1)
	cfg := Config{Kind: Divergence, Eps: 0.2, Iters: 30}
	m64 := buildMLP(t, tensor.Float64, cfg, z, w1, w2, data, n, m, k, h, d)
	m32 := buildMLP(t, tensor.Float32, cfg, z, w1, w2, data, n, m, k, h, d)
	v64, v32 := m64.run(t), m32.run(t)
	if math.Abs(v64-v32) > 1e-5*math.Abs(v64) {
		t.Errorf("float32 loss %.8g, float64 %.8g", v32, v64)
	}
	g64, g32 := gradOf(t, m64.w2), gradOf(t, m32.w2)
	scale := 0.0
	for _, v := range g64 {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range g64 {
		if math.Abs(g64[i]-g32[i]) > 1e-4*scale {
			t.Errorf("∂/∂w2[%d]: float32 %.8g, float64 %.8g", i, g32[i], g64[i])
		}
	}
}

// The graph value, Evaluate and package ot agree; Stats and SetEps behave.
func TestLossValuesAndStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := mat.NewDense(12, 3, randMatrix(rng, 12, 3, 1))
	y := mat.NewDense(10, 3, randMatrix(rng, 10, 3, 1))
	ref, _ := ot.UnrolledSinkhornDivergence(ot.FromDense(x), ot.FromDense(y), nil, nil, ot.SqEuclidean, 0.1, &ot.UnrolledOptions{Iterations: 5})
	v, gx, gy, st, err := Evaluate(x, y, Config{Eps: 0.1, Iters: 5}, WantBoth)
	if err != nil {
		t.Fatal(err)
	}
	if v != ref.Dual || st.Iterations != 5 || st.MarginalError != ref.XY.MarginalError || gx == nil || gy == nil {
		t.Errorf("Evaluate: %v %+v, want %v", v, st, ref.Dual)
	}
	// ε = +Inf: ½|Δmean|² for the default cost.
	v, _, _, _, _ = Evaluate(x, y, Config{Eps: math.Inf(1)}, WantNone)
	mx, my := mat.NewVecDense(3, nil), mat.NewVecDense(3, nil)
	for i := 0; i < 12; i++ {
		mx.AddScaledVec(mx, 1.0/12, x.RowView(i))
	}
	for i := 0; i < 10; i++ {
		my.AddScaledVec(my, 1.0/10, y.RowView(i))
	}
	mx.SubVec(mx, my)
	if want := mat.Dot(mx, mx) / 2; math.Abs(v-want) > 1e-12*want {
		t.Errorf("S_∞ = %.15g, want ½|Δmean|² = %.15g", v, want)
	}
	// SetEps changes the next forward pass.
	g := G.NewGraph()
	xN := G.NewMatrix(g, tensor.Float64, G.WithShape(12, 3), G.WithValue(tensor.New(tensor.WithShape(12, 3), tensor.WithBacking(x.RawMatrix().Data))))
	yN := G.NewMatrix(g, tensor.Float64, G.WithShape(10, 3), G.WithValue(tensor.New(tensor.WithShape(10, 3), tensor.WithBacking(y.RawMatrix().Data))))
	l, err := New(xN, yN, Config{Eps: 1, Iters: 5})
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	for _, e := range []float64{1, 0.1, math.Inf(1)} {
		if err := l.SetEps(e); err != nil {
			t.Fatal(err)
		}
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		vm.Reset()
		want, _, _, _, _ := Evaluate(x, y, Config{Eps: e, Iters: 5}, WantNone)
		if s := l.Stats(); s.Value != want || s.Eps != e {
			t.Errorf("after SetEps(%g): stats %+v, want value %v", e, s, want)
		}
	}
	if err := l.SetEps(-1); err == nil {
		t.Error("SetEps(-1) accepted")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Kind: "wasserstein"},
		{Kind: Divergence, Eps: -1},
		{Kind: Divergence, Eps: 1, Iters: -3},
		{Kind: Entropic, Eps: math.Inf(1)},
		{Kind: Divergence, Eps: 1, Backward: "magic"},
		{Kind: Divergence, Eps: 1, EpsScaling: 1.5},
		{Kind: MMD, Bandwidths: []float64{1, 0}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (Config{Eps: 1}).Validate(); err != nil {
		t.Errorf("a valid config rejected: %v", err)
	}
	g := G.NewGraph()
	a := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 2), G.WithName("a"))
	b := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 4), G.WithName("b"))
	v := G.NewVector(g, tensor.Float64, G.WithShape(3), G.WithName("v"))
	if _, err := New(a, b, Config{Eps: 1}); err == nil {
		t.Error("dimension mismatch accepted")
	}
	if _, err := New(a, v, Config{Eps: 1}); err == nil {
		t.Error("vector input accepted")
	}
}

// A float32 graph's loss gradient Op rewrites its last output in the next run (a
// training step allocates none): the second run of the same graph must give the
// bits of the first, not the first plus the second.
func TestLossFloat32GradientReused(t *testing.T) {
	const n, m, k, h, d = 20, 16, 4, 8, 6
	rng := rand.New(rand.NewPCG(7, 8))
	z, w1, w2 := randMatrix(rng, m, k, 1), randMatrix(rng, k, h, 0.5), randMatrix(rng, h, d, 0.5)
	data := randMatrix(rng, n, d, 1)
	for _, kind := range []Kind{Divergence, Primal} {
		ml := buildMLP(t, tensor.Float32, Config{Kind: kind, Eps: 0.2, Iters: 10}, z, w1, w2, data, n, m, k, h, d)
		runGrads := func() (g [2][]float32) {
			if err := ml.vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			defer ml.vm.Reset()
			for w := range g {
				g[w] = slices.Clone(ml.grads[w].Value().(*tensor.Dense).Float32s())
			}
			return g
		}
		first := runGrads()
		second := runGrads()
		for w := range first {
			for i := range first[w] {
				if math.Float32bits(first[w][i]) != math.Float32bits(second[w][i]) {
					t.Fatalf("%s: ∂/∂w%d[%d] is %v on the second run, %v on the first", kind, w+1, i, second[w][i], first[w][i])
				}
			}
		}
	}
}
