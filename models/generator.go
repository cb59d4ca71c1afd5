package models

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/internal/tensorfile"
)

// Param is one parameter tensor of a generator.
type Param struct {
	Name  string
	Shape []int
	Value *tensor.Dense // float32, row-major
}

// Data returns the parameter's values (the tensor's backing slice, not a copy).
func (p *Param) Data() []float32 { return p.Value.Data().([]float32) }

// Generator is a network with its parameters.
type Generator struct {
	spec   Spec
	params []*Param
	flat   []float32 // every parameter's values: the tensors' shared backing
}

// New returns a generator for spec (validated; zero fields are not defaulted, start
// from DefaultSpec) with parameters drawn from seed.
func New(spec Spec, seed uint64) (*Generator, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	spec.Hidden = slices.Clone(spec.Hidden)
	spec.Channels = slices.Clone(spec.Channels)
	g := &Generator{spec: spec}
	g.params, g.flat = newParams(g.layers())
	g.Init(seed)
	return g, nil
}

// newParams returns the weight and bias of each layer, in order, as tensors over
// consecutive ranges of one slice, which it returns too: an optimizer updates them
// all in one loop.
func newParams(layers []layer) ([]*Param, []float32) {
	shapes := layerParams(layers)
	total := 0
	for _, ps := range shapes {
		total += ps.size()
	}
	flat := make([]float32, total)
	params := make([]*Param, len(shapes))
	off := 0
	for i, ps := range shapes {
		n := ps.size()
		params[i] = &Param{Name: ps.name, Shape: ps.shape,
			Value: tensor.New(tensor.WithShape(ps.shape...), tensor.WithBacking(flat[off:off+n:off+n]))}
		off += n
	}
	return params, flat
}

// layer describes one dense or convolution layer.
type layer struct {
	name           string
	conv           bool
	wShape, bShape []int
	fanIn, fanOut  int
}

// denseLayer is a fully connected layer from in to out units.
func denseLayer(name string, in, out int) layer {
	return layer{name: name, wShape: []int{in, out}, bShape: []int{1, out}, fanIn: in, fanOut: out}
}

// mlpLayers are the dense layers prefix+"dense0", … between consecutive widths.
func mlpLayers(prefix string, widths []int) []layer {
	var out []layer
	for i := 0; i+1 < len(widths); i++ {
		out = append(out, denseLayer(fmt.Sprintf("%sdense%d", prefix, i), widths[i], widths[i+1]))
	}
	return out
}

func (g *Generator) layers() []layer {
	s := g.spec
	if s.Kind == "mlp" {
		return mlpLayers("", append(append([]int{s.LatentDim}, s.Hidden...), s.OutDim))
	}
	out := []layer{denseLayer("dense", s.LatentDim, s.Channels[0]*s.Base*s.Base)}
	chans := append(slices.Clone(s.Channels), s.Image[0])
	k := s.Kernel
	for i := 1; i < len(chans); i++ {
		out = append(out, layer{
			name: fmt.Sprintf("conv%d", i), conv: true,
			wShape: []int{chans[i], chans[i-1], k, k}, bShape: []int{1, chans[i], 1, 1},
			fanIn: chans[i-1] * k * k, fanOut: chans[i] * k * k,
		})
	}
	return out
}

// Init redraws every parameter from seed.
func (g *Generator) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6d6f64656c73)) // a stream of its own
	for i, l := range g.layers() {
		layerInit(g.spec.Init, rng, rng.NormFloat64, g.params[2*i].Data(), g.params[2*i+1].Data(), l.fanIn, l.fanOut)
	}
}

// Spec returns the generator's description.
func (g *Generator) Spec() Spec {
	s := g.spec
	s.Hidden, s.Channels = slices.Clone(s.Hidden), slices.Clone(s.Channels)
	return s
}

// Params returns the parameters in a fixed order (layer by layer, weight then bias).
func (g *Generator) Params() []*Param { return g.params }

// Values returns every parameter's values in the order of Params, as one slice: the
// tensors' shared backing, not a copy.
func (g *Generator) Values() []float32 { return g.flat }

// NumParams returns the number of scalar parameters.
func (g *Generator) NumParams() int { return countParams(g.params) }

// SetOutputBias sets the bias of the last layer so that, with the rest of the network
// silent, the output is target (OutDim values, or one per image channel for the conv
// generator, or one value for all): the inverse of the output activation at target,
// clamped into its range.
func (g *Generator) SetOutputBias(target []float32) error {
	b := g.params[len(g.params)-1].Data()
	if len(target) != len(b) && len(target) != 1 {
		return fmt.Errorf("models: %d output bias targets for %d biases", len(target), len(b))
	}
	for i := range b {
		t := float64(target[min(i, len(target)-1)])
		switch g.spec.Output {
		case "sigmoid":
			t = math.Min(math.Max(t, 1e-3), 1-1e-3)
			t = math.Log(t / (1 - t))
		case "tanh":
			t = math.Atanh(math.Min(math.Max(t, -1+1e-3), 1-1e-3))
		}
		if math.IsNaN(t) {
			return fmt.Errorf("models: output bias target %d is NaN", i)
		}
		b[i] = float32(t)
	}
	return nil
}

// Build adds the network to graph on the latent batch z (a float32 m×LatentDim matrix
// node) and returns the output node (m×OutDim) and the parameter nodes, in the order
// of Params, bound to the generator's tensors.
func (g *Generator) Build(graph *G.ExprGraph, z *G.Node) (out *G.Node, params G.Nodes, err error) {
	defer func() {
		// gorgonia's constructors panic through Must; report those as errors.
		if r := recover(); r != nil {
			out, params, err = nil, nil, fmt.Errorf("models: building the %s generator: %v", g.spec.Kind, r)
		}
	}()
	s := g.spec
	if z.Dims() != 2 || z.Shape()[1] != s.LatentDim || z.Dtype() != tensor.Float32 {
		return nil, nil, fmt.Errorf("models: latent node %v of %v, want float32 m×%d", z.Shape(), z.Dtype(), s.LatentDim)
	}
	m := z.Shape()[0]
	params = paramNodes(graph, g.params, "")
	hidden, outAct := newActivation(s.Activation, s.LeakySlope), newActivation(s.Output, 0)
	dense := func(x *G.Node, i int, act activation) *G.Node {
		return G.Must(G.ApplyOp(newDenseOp(act), x, params[2*i], params[2*i+1]))
	}
	layers := g.layers()
	if s.Kind == "mlp" {
		h := z
		for i := range layers {
			act := hidden
			if i+1 == len(layers) {
				act = outAct
			}
			h = dense(h, i, act)
		}
		return h, params, nil
	}
	h := dense(z, 0, hidden)
	h = G.Must(G.Reshape(h, tensor.Shape{m, s.Channels[0], s.Base, s.Base}))
	for i := 1; i < len(layers); i++ {
		h = G.Must(G.ApplyOp(upsampleOp{}, h))                                    // 2× nearest neighbour
		h = G.Must(G.ApplyOp(convOp{k: s.Kernel}, h, params[2*i], params[2*i+1])) // "same" k×k convolution + bias
		if i+1 < len(layers) {
			h = G.Must(G.ApplyOp(newActOp(hidden), h))
		}
	}
	// The output activation comes after the reshape: gorgonia reshapes in place, and a
	// consumer overwriting the reshaped view in place would corrupt the output the
	// activation's backward reads (seen with Sigmoid → Reshape → Square).
	h = G.Must(G.Reshape(h, tensor.Shape{m, s.OutDim}))
	if outAct.kind == actLinear {
		return h, params, nil
	}
	return G.Must(G.ApplyOp(newActOp(outAct), h)), params, nil
}

// Sampler runs the generator forward on batches of a fixed size.
type Sampler struct {
	n, latent int
	z         *tensor.Dense
	out       G.Value
	vm        G.VM
}

// NewSampler returns a forward-only runner for batches of n latent vectors. It shares
// the generator's parameters: it sees later changes to them.
func (g *Generator) NewSampler(n int) (*Sampler, error) {
	if n < 1 {
		return nil, fmt.Errorf("models: sampler batch size %d", n)
	}
	graph := G.NewGraph()
	zv := tensor.New(tensor.WithShape(n, g.spec.LatentDim), tensor.WithBacking(make([]float32, n*g.spec.LatentDim)))
	z := G.NewMatrix(graph, tensor.Float32, G.WithShape(n, g.spec.LatentDim), G.WithName("z"), G.WithValue(zv))
	out, _, err := g.Build(graph, z)
	if err != nil {
		return nil, err
	}
	s := &Sampler{n: n, latent: g.spec.LatentDim, z: zv}
	G.Read(out, &s.out)
	s.vm = G.NewTapeMachine(graph)
	return s, nil
}

// Generate maps the latent vectors z (n×LatentDim, row-major) to n points, returned
// as a new n×OutDim slice.
func (s *Sampler) Generate(z []float32) ([]float32, error) {
	return s.GenerateInto(nil, z)
}

// GenerateInto is Generate writing into dst when it holds n×OutDim values (a new slice
// otherwise), for callers that generate a batch every step.
func (s *Sampler) GenerateInto(dst, z []float32) ([]float32, error) {
	if len(z) != s.n*s.latent {
		return nil, fmt.Errorf("models: %d latent values, the sampler takes %d×%d", len(z), s.n, s.latent)
	}
	copy(s.z.Data().([]float32), z)
	defer s.vm.Reset()
	if err := s.vm.RunAll(); err != nil {
		return nil, fmt.Errorf("models: generating: %w", err)
	}
	out := s.out.Data().([]float32)
	if len(dst) != len(out) {
		return slices.Clone(out), nil
	}
	copy(dst, out)
	return dst, nil
}

// Close releases the sampler's machine.
func (s *Sampler) Close() error { return s.vm.Close() }

// Generate maps latent vectors z (a whole number of LatentDim-long rows) to points.
func (g *Generator) Generate(z []float32) ([]float32, error) {
	if len(z) == 0 || len(z)%g.spec.LatentDim != 0 {
		return nil, fmt.Errorf("models: %d latent values, not a positive number of %d-value rows", len(z), g.spec.LatentDim)
	}
	s, err := g.NewSampler(len(z) / g.spec.LatentDim)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Generate(z)
}

// Latent fills z with independent standard normal draws from rng.
func Latent(rng *rand.Rand, z []float32) {
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
}

// Tensors returns the parameters as tensorfile tensors named by prefix+name (copies).
func (g *Generator) Tensors(prefix string) []tensorfile.Tensor { return paramTensors(g.params, prefix) }

// SetTensors copies parameter values from tensors named prefix+name; every parameter
// must be present with its shape, and every value finite.
func (g *Generator) SetTensors(f *tensorfile.File, prefix string) error {
	return setParamTensors(g.params, f, prefix)
}

// ParamsKind and ParamsVersion identify parameter files.
const (
	ParamsKind    = "params"
	ParamsVersion = 1
)

// Save writes the spec and parameters to path atomically (see package tensorfile).
func (g *Generator) Save(path string) error {
	meta, err := json.Marshal(g.spec)
	if err != nil {
		return err
	}
	return tensorfile.WriteFile(path, &tensorfile.File{Kind: ParamsKind, Version: ParamsVersion, Meta: meta, Tensors: g.Tensors("")})
}

// Load reads a generator written by Save.
func Load(path string) (*Generator, error) {
	f, err := tensorfile.ReadFile(path, ParamsKind, ParamsVersion)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	var spec Spec
	if err := json.Unmarshal(f.Meta, &spec); err != nil {
		return nil, fmt.Errorf("models: %s: spec: %w", path, err)
	}
	return FromFile(spec, f, "")
}

// FromFile builds a generator for spec with the parameters of f (named prefix+name),
// checking them against the spec before allocating anything: a spec asking for more
// parameters than the file holds is an error, not an allocation.
func FromFile(spec Spec, f *tensorfile.File, prefix string) (*Generator, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	if err := checkTensors(layerParams((&Generator{spec: spec}).layers()), f, prefix); err != nil {
		return nil, err
	}
	g, err := New(spec, 0)
	if err != nil {
		return nil, err
	}
	if err := g.SetTensors(f, prefix); err != nil {
		return nil, err
	}
	return g, nil
}
