package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/internal/tensorfile"
)

func mlpCritic(t *testing.T, in int, hidden []int, features int, act string) *Critic {
	t.Helper()
	s := DefaultCriticSpec()
	s.Kind, s.InDim, s.Hidden, s.Features, s.Activation = "mlp", in, hidden, features, act
	c, err := NewCritic(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func convCritic(t *testing.T) *Critic {
	t.Helper()
	s := DefaultCriticSpec()
	s.Kind, s.InDim, s.Image, s.Channels, s.Features, s.Activation = "conv", 64, [3]int{1, 8, 8}, []int{3, 4}, 5, "tanh"
	c, err := NewCritic(s, 2)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCriticSpecErrors(t *testing.T) {
	base := DefaultCriticSpec()
	base.Kind, base.InDim = "mlp", 784
	for _, tc := range []struct {
		edit func(*CriticSpec)
		want string
	}{
		{func(s *CriticSpec) { s.Kind = "rnn" }, `kind = "rnn"`},
		{func(s *CriticSpec) { s.Features = 0 }, "features = 0"},
		{func(s *CriticSpec) { s.Hidden = []int{4, 0} }, "hidden[1] = 0"},
		{func(s *CriticSpec) { s.Activation = "gelu" }, "activation"},
		{func(s *CriticSpec) { s.Activation, s.LeakySlope = "leaky_relu", 1.5 }, "leaky_slope"},
		{func(s *CriticSpec) { s.Init = "orthogonal" }, "init"},
		{func(s *CriticSpec) { s.Kind = "conv" }, "needs image data"},
		{func(s *CriticSpec) { s.Kind, s.Image, s.Kernel = "conv", [3]int{1, 28, 28}, 2 }, "kernel = 2"},
		{func(s *CriticSpec) { s.Kind, s.Image, s.Channels = "conv", [3]int{1, 28, 28}, []int{4, 4, 4} }, "divisible"},
	} {
		s := base
		tc.edit(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", s, err, tc.want)
		}
	}
	if _, err := NewCritic(DefaultCriticSpec(), 1); err == nil {
		t.Error(`NewCritic of kind "none" succeeded`)
	}
}

// criticValueGrad evaluates f = Σ h(x)∘R and its gradients with respect to the
// parameters and to x.
func criticValueGrad(t *testing.T, c *Critic, x, r []float32, m int) (float64, [][]float32, []float32) {
	t.Helper()
	s := c.Spec()
	g := G.NewGraph()
	xn := G.NewMatrix(g, tensor.Float32, G.WithShape(m, s.InDim), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(m, s.InDim), tensor.WithBacking(slices.Clone(x)))))
	rn := G.NewMatrix(g, tensor.Float32, G.WithShape(m, c.OutDim()), G.WithName("r"),
		G.WithValue(tensor.New(tensor.WithShape(m, c.OutDim()), tensor.WithBacking(slices.Clone(r)))))
	nodes := c.Nodes(g)
	h, err := c.Apply(nodes, xn)
	if err != nil {
		t.Fatal(err)
	}
	f := G.Must(G.Sum(G.Must(G.HadamardProd(h, rn))))
	var fv G.Value
	G.Read(f, &fv)
	wrt := append(slices.Clone(nodes), xn)
	if _, err := G.Grad(f, wrt...); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(wrt...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	var grads [][]float32
	for _, n := range wrt {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grads = append(grads, slices.Clone(gv.Data().([]float32)))
	}
	return float64(fv.Data().(float32)), grads[:len(nodes)], grads[len(nodes)]
}

// The critics' gradients with respect to parameters and inputs (the generator's
// gradient flows through the input) match central differences along random
// directions, for the MLP and for the conv encoder (convolution, 2×2 average pooling,
// dense).
func TestCriticGradients(t *testing.T) {
	skip := mlpCritic(t, 6, []int{7}, 3, "softplus")
	skip.spec.Skip = true
	for name, c := range map[string]*Critic{"mlp": mlpCritic(t, 6, []int{7, 5}, 3, "tanh"), "conv": convCritic(t), "skip": skip} {
		t.Run(name, func(t *testing.T) {
			s := c.Spec()
			m := 3
			rng := rand.New(rand.NewPCG(5, 6))
			x, r := make([]float32, m*s.InDim), make([]float32, m*c.OutDim())
			for i := range x {
				x[i] = float32(rng.Float64())
			}
			for i := range r {
				r[i] = float32(rng.NormFloat64())
			}
			_, gp, gx := criticValueGrad(t, c, x, r, m)
			for trial := 0; trial < 3; trial++ {
				dp := make([][]float32, len(gp))
				dx := make([]float32, len(x))
				var want float64
				for i, p := range c.Params() {
					dp[i] = make([]float32, len(p.Data()))
					for j := range dp[i] {
						dp[i][j] = float32(rng.NormFloat64())
						want += float64(dp[i][j]) * float64(gp[i][j])
					}
				}
				for j := range dx {
					dx[j] = float32(rng.NormFloat64())
					want += float64(dx[j]) * float64(gx[j])
				}
				const h = 1e-3
				move := func(s float32) {
					for i, p := range c.Params() {
						for j := range p.Data() {
							p.Data()[j] += s * dp[i][j]
						}
					}
					for j := range x {
						x[j] += s * dx[j]
					}
				}
				move(h)
				fp, _, _ := criticValueGrad(t, c, x, r, m)
				move(-2 * h)
				fm, _, _ := criticValueGrad(t, c, x, r, m)
				move(h)
				fd := (fp - fm) / (2 * h)
				if math.Abs(fd-want) > 1e-2*math.Abs(want)+1e-3 {
					t.Errorf("trial %d: gradient·d = %.6g, central difference %.6g", trial, want, fd)
				}
			}
		})
	}
}

// avgPoolGradOp is the adjoint of avgPoolOp: ⟨pool(x), g⟩ = ⟨x, pool*(g)⟩.
func TestAvgPoolAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, g := make([]float32, 2*3*4*6), make([]float32, 2*3*2*3)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range g {
		g[i] = float32(rng.NormFloat64())
	}
	px, err := avgPoolOp{}.Do(tensor.New(tensor.WithShape(2, 3, 4, 6), tensor.WithBacking(x)))
	if err != nil {
		t.Fatal(err)
	}
	ag, err := avgPoolGradOp{}.Do(tensor.New(tensor.WithShape(2, 3, 2, 3), tensor.WithBacking(g)))
	if err != nil {
		t.Fatal(err)
	}
	var lhs, rhs float64
	for i, v := range px.Data().([]float32) {
		lhs += float64(v) * float64(g[i])
	}
	for i, v := range ag.Data().([]float32) {
		rhs += float64(v) * float64(x[i])
	}
	if math.Abs(lhs-rhs) > 1e-5*math.Abs(lhs) {
		t.Errorf("⟨pool x, g⟩ = %v, ⟨x, pool* g⟩ = %v", lhs, rhs)
	}
	// the first output is the mean of its 2×2 block
	want := (x[0] + x[1] + x[6] + x[7]) / 4
	if got := px.Data().([]float32)[0]; math.Abs(float64(got-want)) > 1e-6 {
		t.Errorf("pool[0] = %v, want %v", got, want)
	}
}

// A critic and a generator whose layers share names and shapes stay apart in one graph.
func TestCriticNodesApartFromGenerator(t *testing.T) {
	spec := DefaultSpec()
	spec.LatentDim, spec.Hidden, spec.OutDim, spec.Output = 2, []int{4, 4}, 2, "linear"
	gen, err := New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := mlpCritic(t, 2, []int{4, 4}, 2, "relu")
	g := G.NewGraph()
	z := G.NewMatrix(g, tensor.Float32, G.WithShape(1, 2), G.WithName("z"), G.WithValue(tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{1, 2}))))
	_, gp, err := gen.Build(g, z)
	if err != nil {
		t.Fatal(err)
	}
	cp := c.Nodes(g)
	for i := range gp {
		if gp[i] == cp[i] || gp[i].Value() == cp[i].Value() {
			t.Errorf("generator and critic share the node of %s", gen.Params()[i].Name)
		}
	}
}

func TestCriticClipAndTensors(t *testing.T) {
	s := DefaultCriticSpec()
	s.Kind, s.InDim, s.Hidden, s.Features, s.Decoder = "mlp", 4, []int{8}, 2, []int{3}
	c, err := NewCritic(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	if moved := c.Clip(0.1); moved == 0 {
		t.Error("clipping moved nothing: the initialization lies within ±0.1?")
	}
	decoderOutside := false
	for _, p := range c.Params() {
		for _, v := range p.Data() {
			outside := v > 0.1 || v < -0.1
			if strings.HasPrefix(p.Name, "decoder.") {
				decoderOutside = decoderOutside || outside
			} else if outside {
				t.Fatalf("%s has %v after clipping to ±0.1", p.Name, v)
			}
		}
	}
	if !decoderOutside {
		t.Error("the decoder was clipped too (or its initialization lies within ±0.1)")
	}
	if len(c.Params()) != 8 || c.Params()[4].Name != "decoder.dense0.w" {
		t.Errorf("parameters %v: want the encoder's 2 layers, then the decoder's 2", len(c.Params()))
	}
	f := &tensorfile.File{Tensors: c.Tensors("critic/")}
	d, err := NewCritic(s, 9)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetTensors(f, "critic/"); err != nil {
		t.Fatal(err)
	}
	for i, p := range d.Params() {
		if !slices.Equal(p.Data(), c.Params()[i].Data()) {
			t.Errorf("%s differs after the round trip", p.Name)
		}
	}
	f.Tensors[0].Data[0] = float32(math.NaN())
	if err := d.SetTensors(f, "critic/"); err == nil || !strings.Contains(err.Error(), "critic/dense0.w[0]") {
		t.Errorf("a NaN parameter gave %v", err)
	}
}
