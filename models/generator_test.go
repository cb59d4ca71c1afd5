package models

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/internal/tensorfile"
)

func mlpSpec() Spec {
	s := DefaultSpec()
	s.LatentDim, s.Hidden, s.OutDim = 5, []int{7, 6}, 4
	return s
}

func convSpec() Spec {
	s := DefaultSpec()
	s.Kind, s.LatentDim, s.Channels, s.Base, s.Kernel = "conv", 3, []int{4, 3}, 2, 3
	s.OutDim, s.Image = 2*8*8, [3]int{2, 8, 8}
	return s
}

func act(s Spec, x float64) float64 {
	switch s.Activation {
	case "leaky_relu":
		if x < 0 {
			return s.LeakySlope * x
		}
		return x
	case "tanh":
		return math.Tanh(x)
	case "softplus":
		return math.Log1p(math.Exp(x))
	}
	return math.Max(x, 0)
}

func out(s Spec, x float64) float64 {
	switch s.Output {
	case "sigmoid":
		return 1 / (1 + math.Exp(-x))
	case "tanh":
		return math.Tanh(x)
	}
	return x
}

// refMLP is the MLP written out in float64 loops.
func refMLP(g *Generator, z []float64) []float64 {
	s, ps := g.spec, g.params
	h := z
	for l := 0; l < len(ps)/2; l++ {
		w, b := ps[2*l], ps[2*l+1]
		in, o := w.Shape[0], w.Shape[1]
		next := make([]float64, o)
		for j := 0; j < o; j++ {
			v := float64(b.Data()[j])
			for i := 0; i < in; i++ {
				v += h[i] * float64(w.Data()[i*o+j])
			}
			if l+1 < len(ps)/2 {
				v = act(s, v)
			} else {
				v = out(s, v)
			}
			next[j] = v
		}
		h = next
	}
	return h
}

// refConv is the conv generator written out: dense, reshape, then per block nearest
// upsampling ×2 and a zero-padded "same" convolution (cross-correlation, as
// gorgonia and PyTorch compute it).
func refConv(g *Generator, z []float64) []float64 {
	s, ps := g.spec, g.params
	w0, b0 := ps[0], ps[1]
	o := w0.Shape[1]
	h := make([]float64, o)
	for j := 0; j < o; j++ {
		v := float64(b0.Data()[j])
		for i := range z {
			v += z[i] * float64(w0.Data()[i*o+j])
		}
		h[j] = act(s, v)
	}
	c, side := s.Channels[0], s.Base
	for l := 1; l < len(ps)/2; l++ {
		w, b := ps[2*l], ps[2*l+1]
		co, k := w.Shape[0], w.Shape[2]
		up := make([]float64, c*4*side*side)
		for ch := 0; ch < c; ch++ {
			for i := 0; i < 2*side; i++ {
				for j := 0; j < 2*side; j++ {
					up[(ch*2*side+i)*2*side+j] = h[(ch*side+i/2)*side+j/2]
				}
			}
		}
		side *= 2
		next := make([]float64, co*side*side)
		for oc := 0; oc < co; oc++ {
			for i := 0; i < side; i++ {
				for j := 0; j < side; j++ {
					v := float64(b.Data()[oc])
					for ic := 0; ic < c; ic++ {
						for di := 0; di < k; di++ {
							for dj := 0; dj < k; dj++ {
								ii, jj := i+di-k/2, j+dj-k/2
								if ii < 0 || jj < 0 || ii >= side || jj >= side {
									continue
								}
								v += up[(ic*side+ii)*side+jj] * float64(w.Data()[((oc*c+ic)*k+di)*k+dj])
							}
						}
					}
					if l+1 < len(ps)/2 {
						v = act(s, v)
					} else {
						v = out(s, v)
					}
					next[(oc*side+i)*side+j] = v
				}
			}
		}
		h, c = next, co
	}
	return h
}

// The graphs compute what the layers say, for both generators, several activations
// and outputs.
func TestForwardMatchesReference(t *testing.T) {
	for _, s := range []Spec{mlpSpec(), convSpec()} {
		for _, variant := range []struct{ act, out, init string }{
			{"relu", "sigmoid", "uniform"}, {"leaky_relu", "linear", "he"}, {"tanh", "tanh", "xavier"}, {"softplus", "sigmoid", "he"},
		} {
			s.Activation, s.Output, s.Init = variant.act, variant.out, variant.init
			g, err := New(s, 9)
			if err != nil {
				t.Fatal(err)
			}
			const n = 5
			z := make([]float32, n*s.LatentDim)
			Latent(rand.New(rand.NewPCG(1, 2)), z)
			got, err := g.Generate(z)
			if err != nil {
				t.Fatal(err)
			}
			for r := 0; r < n; r++ {
				z64 := make([]float64, s.LatentDim)
				for i := range z64 {
					z64[i] = float64(z[r*s.LatentDim+i])
				}
				var want []float64
				if s.Kind == "mlp" {
					want = refMLP(g, z64)
				} else {
					want = refConv(g, z64)
				}
				for j, w := range want {
					if d := math.Abs(float64(got[r*s.OutDim+j]) - w); d > 1e-5*math.Max(1, math.Abs(w)) {
						t.Fatalf("%s %v: sample %d value %d = %v, reference %v", s.Kind, variant, r, j, got[r*s.OutDim+j], w)
					}
				}
			}
		}
	}
}

// Gradients through Build (sum of squared outputs) match central differences.
func TestBuildGradients(t *testing.T) {
	for _, s := range []Spec{mlpSpec(), convSpec()} {
		s.Activation, s.Output = "tanh", "sigmoid"
		gen, err := New(s, 4)
		if err != nil {
			t.Fatal(err)
		}
		const n = 3
		z := make([]float32, n*s.LatentDim)
		Latent(rand.New(rand.NewPCG(3, 4)), z)
		// the objective Σ y² by the float64 reference forward, for exact differences
		objective := func() float64 {
			var v float64
			for r := 0; r < n; r++ {
				z64 := make([]float64, s.LatentDim)
				for i := range z64 {
					z64[i] = float64(z[r*s.LatentDim+i])
				}
				var y []float64
				if s.Kind == "mlp" {
					y = refMLP(gen, z64)
				} else {
					y = refConv(gen, z64)
				}
				for _, x := range y {
					v += x * x
				}
			}
			return v
		}
		g := G.NewGraph()
		zn := G.NewMatrix(g, tensor.Float32, G.WithShape(n, s.LatentDim), G.WithName("z"),
			G.WithValue(tensor.New(tensor.WithShape(n, s.LatentDim), tensor.WithBacking(z))))
		y, params, err := gen.Build(g, zn)
		if err != nil {
			t.Fatal(err)
		}
		cost := G.Must(G.Sum(G.Must(G.Square(y))))
		if _, err := G.Grad(cost, params...); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(params...))
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		for pi, p := range gen.Params() {
			gv, err := params[pi].Grad()
			if err != nil {
				t.Fatal(err)
			}
			grad := gv.Data().([]float32)
			for _, i := range []int{0, len(p.Data()) / 2, len(p.Data()) - 1} {
				orig := p.Data()[i]
				h := float32(1e-2) * max(1, float32(math.Abs(float64(orig))))
				p.Data()[i] = orig + h
				up := objective()
				p.Data()[i] = orig - h
				down := objective()
				p.Data()[i] = orig
				fd := (up - down) / float64((orig+h)-(orig-h))
				if d := math.Abs(fd - float64(grad[i])); d > 2e-2*math.Max(0.05, math.Abs(fd)) {
					t.Errorf("%s ∂/∂%s[%d] = %g, central difference %g", s.Kind, p.Name, i, grad[i], fd)
				}
			}
		}
		vm.Close()
	}
}

func TestSeededInit(t *testing.T) {
	a, _ := New(mlpSpec(), 1)
	b, _ := New(mlpSpec(), 1)
	c, _ := New(mlpSpec(), 2)
	same, differ := true, false
	for i, p := range a.Params() {
		for j, v := range p.Data() {
			same = same && v == b.Params()[i].Data()[j]
			differ = differ || v != c.Params()[i].Data()[j]
		}
	}
	if !same || !differ {
		t.Errorf("same seed equal: %v; other seed different: %v", same, differ)
	}
	// PyTorch's nn.Linear bound 1/√fan_in for weights and biases
	w := a.Params()[2].Data() // dense1.w, fan-in 7
	bound := float32(1 / math.Sqrt(7))
	for _, v := range w {
		if v < -bound || v > bound {
			t.Fatalf("uniform init value %v outside ±%v", v, bound)
		}
	}
	if a.NumParams() != 5*7+7+7*6+6+6*4+4 {
		t.Errorf("NumParams %d", a.NumParams())
	}
	if names := []string{a.Params()[0].Name, a.Params()[5].Name}; names[0] != "dense0.w" || names[1] != "dense2.b" {
		t.Errorf("names %v", names)
	}
}

func TestSetOutputBias(t *testing.T) {
	s := mlpSpec()
	g, _ := New(s, 1)
	for _, p := range g.Params() {
		clear(p.Data())
	}
	target := []float32{0.1, 0.5, 0.9, 0.0001}
	if err := g.SetOutputBias(target); err != nil {
		t.Fatal(err)
	}
	y, _ := g.Generate(make([]float32, s.LatentDim))
	for j, want := range []float32{0.1, 0.5, 0.9, 0.001} { // clamped into (0.001, 0.999)
		if math.Abs(float64(y[j]-want)) > 1e-6 {
			t.Errorf("output %d = %v, want %v", j, y[j], want)
		}
	}
	if err := g.SetOutputBias([]float32{1, 2}); err == nil {
		t.Error("wrong count accepted")
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []Spec{mlpSpec(), convSpec()} {
		g, _ := New(s, 5)
		path := filepath.Join(dir, s.Kind+".params")
		if err := g.Save(path); err != nil {
			t.Fatal(err)
		}
		back, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		z := make([]float32, 2*s.LatentDim)
		Latent(rand.New(rand.NewPCG(5, 6)), z)
		y1, _ := g.Generate(z)
		y2, _ := back.Generate(z)
		for i := range y1 {
			if y1[i] != y2[i] {
				t.Fatalf("%s: loaded generator differs at %d", s.Kind, i)
			}
		}
		// damaged files are errors
		b, _ := os.ReadFile(path)
		b[len(b)/3] ^= 4
		os.WriteFile(path, b, 0o644)
		if _, err := Load(path); !errors.Is(err, tensorfile.ErrCorrupt) {
			t.Errorf("%s: corrupted file: %v", s.Kind, err)
		}
	}
	// parameters of the wrong shape are refused
	g, _ := New(mlpSpec(), 1)
	f := &tensorfile.File{Tensors: g.Tensors("")}
	f.Tensors[0].Shape = []int{7, 5}
	if err := g.SetTensors(f, ""); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("wrong shape: %v", err)
	}
	f = &tensorfile.File{Tensors: g.Tensors("")}
	f.Tensors[1].Data[0] = float32(math.NaN())
	if err := g.SetTensors(f, ""); err == nil {
		t.Error("NaN parameter accepted")
	}
}

func TestSpecValidate(t *testing.T) {
	for _, mod := range []func(*Spec){
		func(s *Spec) { s.Kind = "rnn" },
		func(s *Spec) { s.LatentDim = 0 },
		func(s *Spec) { s.Hidden = []int{3, -1} },
		func(s *Spec) { s.Activation = "swish" },
		func(s *Spec) { s.Activation, s.LeakySlope = "leaky_relu", 1.5 },
		func(s *Spec) { s.Output = "softmax" },
		func(s *Spec) { s.Init = "orthogonal" },
		func(s *Spec) { s.OutputBias = "mean" },
		func(s *Spec) { s.OutDim = 0 },
	} {
		s := mlpSpec()
		mod(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	for _, mod := range []func(*Spec){
		func(s *Spec) { s.Kernel = 4 },
		func(s *Spec) { s.Base = 3 },
		func(s *Spec) { s.Channels = nil },
		func(s *Spec) { s.Image = [3]int{} },
	} {
		s := convSpec()
		mod(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("conv %+v accepted", s)
		}
	}
}

// The conv generator's outputs and gradients are the same bit for bit whatever the
// number of threads (∂W is summed over fixed blocks of images).
func TestConvThreadIndependent(t *testing.T) {
	s := convSpec()
	gen, _ := New(s, 8)
	const n = 21 // three blocks of 8, the last partial
	z := make([]float32, n*s.LatentDim)
	Latent(rand.New(rand.NewPCG(8, 9)), z)
	run := func() [][]float32 {
		g := G.NewGraph()
		zn := G.NewMatrix(g, tensor.Float32, G.WithShape(n, s.LatentDim), G.WithName("z"),
			G.WithValue(tensor.New(tensor.WithShape(n, s.LatentDim), tensor.WithBacking(z))))
		y, params, err := gen.Build(g, zn)
		if err != nil {
			t.Fatal(err)
		}
		var yv G.Value
		G.Read(y, &yv)
		if _, err := G.Grad(G.Must(G.Sum(G.Must(G.Square(y)))), params...); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(params...))
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		out := [][]float32{append([]float32(nil), yv.Data().([]float32)...)}
		for _, p := range params {
			gv, _ := p.Grad()
			out = append(out, append([]float32(nil), gv.Data().([]float32)...))
		}
		return out
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1)
	one := run()
	runtime.GOMAXPROCS(3)
	three := run()
	for i := range one {
		for j := range one[i] {
			if math.Float32bits(one[i][j]) != math.Float32bits(three[i][j]) {
				t.Fatalf("tensor %d entry %d: %v with 1 thread, %v with 3", i, j, one[i][j], three[i][j])
			}
		}
	}
}

// The polynomial sigmoid is within float32 rounding of the exact one: relative error
// for x ≤ 0 (where σ is small), absolute for x > 0 (where σ is near 1, which float32
// resolves to 6e−8).
func TestSigmoid32(t *testing.T) {
	worstRel, worstAbs := 0.0, 0.0
	for x64 := -87.0; x64 <= 100; x64 += 0.001 { // below −87 σ is subnormal and flushed to 0
		x := float64(float32(x64))
		want := 1 / (1 + math.Exp(-x))
		got := float64(sigmoid32(float32(x)))
		if x <= 0 {
			worstRel = math.Max(worstRel, math.Abs(got-want)/want)
		} else {
			worstAbs = math.Max(worstAbs, math.Abs(got-want))
		}
	}
	if worstRel > 5e-7 || worstAbs > 1.2e-7 { // a few float32 ulp
		t.Errorf("sigmoid32: worst relative error %g for x ≤ 0, absolute %g for x > 0", worstRel, worstAbs)
	}
	if v := sigmoid32(float32(math.NaN())); v == v {
		t.Errorf("sigmoid32(NaN) = %v", v)
	}
	if sigmoid32(float32(math.Inf(1))) != 1 || sigmoid32(float32(math.Inf(-1))) != 0 {
		t.Error("sigmoid32 at ±Inf")
	}
}

// The conv generator makes 28×28, 32×32 and 64×64 images, grey or colour, and for
// another size its error says which base gives it, or why none does.
func TestConvSizes(t *testing.T) {
	for _, c := range []struct {
		side, base, ups, ch int
		want                string // "" valid, else a substring of the error
	}{
		{28, 7, 2, 1, ""}, {32, 8, 2, 3, ""}, {64, 16, 2, 3, ""}, {64, 8, 3, 3, ""},
		{32, 7, 2, 3, "for 32×32 set base = 8"},
		{48, 7, 2, 1, "for 48×48 set base = 12"},
		{30, 7, 2, 1, "30 is not a multiple of 2^2"},
	} {
		s := DefaultSpec()
		s.Kind, s.Base, s.Channels = "conv", c.base, []int{16, 8, 8}[:c.ups]
		s.Image, s.OutDim = [3]int{c.ch, c.side, c.side}, c.ch*c.side*c.side
		err := s.Validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d×%d×%d, base %d, %d upsamplings: %v, want %q", c.ch, c.side, c.side, c.base, c.ups, err, c.want)
			continue
		}
		if err == nil {
			g, err := New(s, 1)
			if err != nil {
				t.Fatal(err)
			}
			out, err := g.Generate(make([]float32, 2*s.LatentDim))
			if err != nil || len(out) != 2*s.OutDim {
				t.Errorf("%d×%d×%d: %d values, %v", c.ch, c.side, c.side, len(out), err)
			}
		}
	}
	s := DefaultSpec()
	s.Kind, s.Image, s.OutDim = "conv", [3]int{1, 28, 32}, 28*32
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "non-square") {
		t.Errorf("28×32: %v", err)
	}
}
