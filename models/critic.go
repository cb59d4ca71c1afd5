package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/internal/tensorfile"
)

// CriticSpec describes a critic h_φ: a feature map from points to R^Features that
// defines a learned ground cost c_φ(x, y) = c(h_φ(x), h_φ(y)). The zero value of a
// field means its default (DefaultCriticSpec), except InDim and Image, which the
// caller sets from the data.
type CriticSpec struct {
	// Kind is "none" (no critic: the cost is on the points themselves), "mlp" or "conv".
	Kind string `toml:"kind" json:"kind"`
	// Features is the dimension of h_φ(x).
	Features int `toml:"features" json:"features"`
	// Hidden are the MLP's hidden widths.
	Hidden []int `toml:"hidden" json:"hidden,omitempty"`
	// Channels are the conv encoder's channel counts, one k×k convolution and 2×2
	// average pooling per entry, followed by a dense layer to Features.
	Channels []int `toml:"channels" json:"channels,omitempty"`
	// Kernel is the conv encoder's (odd) kernel side.
	Kernel int `toml:"kernel" json:"kernel,omitempty"`
	// Activation of the hidden layers: "relu", "leaky_relu", "tanh" or "softplus".
	Activation string `toml:"activation" json:"activation"`
	// LeakySlope is the negative slope of "leaky_relu".
	LeakySlope float64 `toml:"leaky_slope" json:"leaky_slope,omitempty"`
	// Init is the initialization: "uniform", "he" or "xavier" (as for generators).
	Init string `toml:"init" json:"init"`
	// Skip appends the point itself to its features: the output is [x, h_φ(x)], so
	// the cost c([x, h_φ(x)], [y, h_φ(y)]) is the fixed cost on the points plus a learned
	// term the critic can only add to.
	Skip bool `toml:"skip" json:"skip,omitempty"`
	// Decoder are the hidden widths of an MLP decoder from the learned features back to
	// the points (MMD-GAN's autoencoder term); empty: no decoder. Its output activation
	// is the sigmoid for images, linear otherwise.
	Decoder []int `toml:"decoder" json:"decoder,omitempty"`

	// InDim is the dimension of a point (784 for MNIST, 2 for toy data).
	InDim int `toml:"-" json:"in_dim"`
	// Image is the (channels, height, width) of a point when points are images; the
	// conv encoder needs it.
	Image [3]int `toml:"-" json:"image"`
}

// DefaultCriticSpec is no critic; a critic of kind "mlp" defaults to 784-512-256-32
// with leaky ReLU (slope 0.2), a "conv" one to channels [32, 64], kernel 3.
func DefaultCriticSpec() CriticSpec {
	return CriticSpec{Kind: "none", Features: 32, Hidden: []int{512, 256}, Channels: []int{32, 64}, Kernel: 3,
		Activation: "leaky_relu", LeakySlope: 0.2, Init: "uniform"}
}

// Enabled reports whether the spec asks for a critic.
func (s CriticSpec) Enabled() bool { return s.Kind != "none" }

// Validate reports the first invalid field, naming it as in a config file.
func (s CriticSpec) Validate() error {
	switch s.Kind {
	case "none":
		return nil
	case "mlp", "conv":
	default:
		return fmt.Errorf("kind = %q: want \"none\", \"mlp\" or \"conv\"", s.Kind)
	}
	if s.Features < 1 || s.Features > 1<<16 {
		return fmt.Errorf("features = %d: must be in [1, 65536]", s.Features)
	}
	if err := validateActivation(s.Activation, s.LeakySlope); err != nil {
		return err
	}
	if err := validateInit(s.Init); err != nil {
		return err
	}
	if err := validatePointDim("input", s.InDim); err != nil {
		return err
	}
	for i, w := range s.Decoder {
		if w < 1 || w > 1<<16 {
			return fmt.Errorf("decoder[%d] = %d: must be in [1, 65536]", i, w)
		}
	}
	if err := validateLayers(s.Kind, s.Hidden, s.Channels, s.Kernel, "critic"); err != nil {
		return err
	}
	field := fmt.Sprintf("hidden = %v", s.Hidden)
	if s.Kind == "conv" {
		field = fmt.Sprintf("channels = %v", s.Channels)
	}
	if len(s.Decoder) > 0 {
		field += fmt.Sprintf(", decoder = %v", s.Decoder)
	}
	if s.Kind == "mlp" {
		return checkSize((&Critic{spec: s}).layers(), 0, field)
	}
	if !isImage(s.Image, s.InDim) {
		return fmt.Errorf("kind = \"conv\" needs image data (the points are %d-dimensional, not images)", s.InDim)
	}
	h, w := s.Image[1], s.Image[2]
	for i := range s.Channels {
		if h%2 != 0 || w%2 != 0 {
			return fmt.Errorf("channels: %d pooling blocks need an image side divisible by 2^%d; block %d sees %d×%d",
				len(s.Channels), len(s.Channels), i+1, h, w)
		}
		h, w = h/2, w/2
	}
	return checkSize((&Critic{spec: s}).layers(), s.convValues(), field)
}

// convValues bounds the values a conv critic's layer computes per point.
func (s CriticSpec) convValues() int64 {
	return int64(slices.Max(s.Channels)) * int64(s.Image[1]*s.Image[2])
}

// Widest is the most values one layer of a valid, enabled critic reads or computes
// per point, which times the batch size bounds a layer's activations.
func (s CriticSpec) Widest() int64 {
	var conv int64
	if s.Kind == "conv" {
		conv = s.convValues()
	}
	return widest((&Critic{spec: s}).layers(), conv)
}

// validateActivation checks a hidden-layer activation and its slope.
func validateActivation(act string, slope float64) error {
	switch act {
	case "relu", "tanh", "softplus":
	case "leaky_relu":
		if !(slope > 0 && slope < 1) {
			return fmt.Errorf("leaky_slope = %v: must lie in (0,1)", slope)
		}
	default:
		return fmt.Errorf("activation = %q: want relu, leaky_relu, tanh or softplus", act)
	}
	return nil
}

// activate applies a hidden-layer activation (gorgonia's own ops, which have second
// derivatives: a gradient penalty differentiates through them twice).
func activate(act string, slope float64, x *G.Node) *G.Node {
	switch act {
	case "leaky_relu":
		return G.Must(G.LeakyRelu(x, slope))
	case "tanh":
		return G.Must(G.Tanh(x))
	case "softplus":
		return G.Must(G.Softplus(x))
	}
	return G.Must(G.Rectify(x))
}

// Critic is a feature map h_φ with its parameters.
type Critic struct {
	spec   CriticSpec
	params []*Param
	flat   []float32 // every parameter's values: the tensors' shared backing
}

// NewCritic returns a critic for spec (validated; kind "none" is an error) with
// parameters drawn from seed.
func NewCritic(spec CriticSpec, seed uint64) (*Critic, error) {
	if !spec.Enabled() {
		return nil, fmt.Errorf("models: critic kind %q: no critic to build", spec.Kind)
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("models: critic: %w", err)
	}
	spec.Hidden, spec.Channels, spec.Decoder = slices.Clone(spec.Hidden), slices.Clone(spec.Channels), slices.Clone(spec.Decoder)
	c := &Critic{spec: spec}
	c.params, c.flat = newParams(c.layers())
	c.Init(seed)
	return c, nil
}

// encoderLayers is the number of layers of h_φ (the rest of layers is the decoder).
func (c *Critic) encoderLayers() int {
	if c.spec.Kind == "mlp" {
		return len(c.spec.Hidden) + 1
	}
	return len(c.spec.Channels) + 1
}

func (c *Critic) encoder() []layer {
	s := c.spec
	if s.Kind == "mlp" {
		return mlpLayers("", append(append([]int{s.InDim}, s.Hidden...), s.Features))
	}
	var out []layer
	k, cin, h, w := s.Kernel, s.Image[0], s.Image[1], s.Image[2]
	for i, cout := range s.Channels {
		out = append(out, layer{
			name: fmt.Sprintf("conv%d", i+1), conv: true,
			wShape: []int{cout, cin, k, k}, bShape: []int{1, cout, 1, 1},
			fanIn: cin * k * k, fanOut: cout * k * k,
		})
		cin, h, w = cout, h/2, w/2
	}
	return append(out, denseLayer("dense", cin*h*w, s.Features))
}

// layers lists the encoder's layers, then the decoder's (named decoder.denseN).
func (c *Critic) layers() []layer {
	out := c.encoder()
	if s := c.spec; len(s.Decoder) > 0 {
		out = append(out, mlpLayers("decoder.", append(append([]int{s.Features}, s.Decoder...), s.InDim))...)
	}
	return out
}

// Init redraws every parameter from seed.
func (c *Critic) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x637269746963)) // "critic": a stream of its own
	for i, l := range c.layers() {
		layerInit(c.spec.Init, rng, rng.NormFloat64, c.params[2*i].Data(), c.params[2*i+1].Data(), l.fanIn, l.fanOut)
	}
}

// Spec returns the critic's description.
func (c *Critic) Spec() CriticSpec {
	s := c.spec
	s.Hidden, s.Channels, s.Decoder = slices.Clone(s.Hidden), slices.Clone(s.Channels), slices.Clone(s.Decoder)
	return s
}

// Params returns the parameters in a fixed order (layer by layer, weight then bias;
// the decoder's last).
func (c *Critic) Params() []*Param { return c.params }

// Values returns every parameter's values in the order of Params, as one slice: the
// tensors' shared backing, not a copy.
func (c *Critic) Values() []float32 { return c.flat }

// OutDim is the dimension of the critic's output: Features, plus InDim with Skip.
func (c *Critic) OutDim() int {
	if c.spec.Skip {
		return c.spec.Features + c.spec.InDim
	}
	return c.spec.Features
}

// NumParams returns the number of scalar parameters.
func (c *Critic) NumParams() int { return countParams(c.params) }

// Clip clamps every parameter of h_φ into [−bound, bound] (the weight clipping of WGAN
// and MMD-GAN; the decoder is left alone, as MMD-GAN does) and returns how many values it
// moved.
func (c *Critic) Clip(bound float32) int {
	moved := 0
	for _, p := range c.params[:2*c.encoderLayers()] {
		d := p.Data()
		for i, v := range d {
			if v > bound {
				d[i], moved = bound, moved+1
			} else if v < -bound {
				d[i], moved = -bound, moved+1
			}
		}
	}
	return moved
}

// Nodes adds the parameters to graph as nodes bound to the critic's tensors; Apply
// uses them, so every application in one graph shares them (and sums their gradients).
// The nodes are named "critic/<param>": gorgonia merges input nodes of equal name,
// type and shape, so a critic layer named like a generator layer of the same shape
// would otherwise silently run on the generator's weights.
func (c *Critic) Nodes(graph *G.ExprGraph) G.Nodes { return paramNodes(graph, c.params, "critic/") }

// Apply adds h_φ(x) to the graph of params (from Nodes) on a float32 m×InDim node x
// and returns the m×OutDim node ([x, h_φ(x)] with Skip).
func (c *Critic) Apply(params G.Nodes, x *G.Node) (*G.Node, error) {
	out, _, err := c.ApplyFeatures(params, x)
	return out, err
}

// Decode adds the decoder to the graph on learned features h (m×Features, the second
// result of ApplyFeatures) and returns the m×InDim reconstruction.
func (c *Critic) Decode(params G.Nodes, h *G.Node) (out *G.Node, err error) {
	defer func() {
		if r := recover(); r != nil { // gorgonia's constructors panic through Must
			out, err = nil, fmt.Errorf("models: building the critic's decoder: %v", r)
		}
	}()
	if len(c.spec.Decoder) == 0 {
		return nil, fmt.Errorf("models: the critic has no decoder")
	}
	layers := c.layers()
	for i := c.encoderLayers(); i < len(layers); i++ {
		h = G.Must(G.BroadcastAdd(G.Must(G.Mul(h, params[2*i])), params[2*i+1], nil, []byte{0}))
		if i+1 < len(layers) {
			h = activate(c.spec.Activation, c.spec.LeakySlope, h)
		}
	}
	if c.spec.Image[0] > 0 {
		h = G.Must(G.ApplyOp(newActOp(activation{kind: actSigmoid}), h))
	}
	return h, nil
}

// ApplyFeatures is Apply that also returns the learned features h_φ(x) alone (the
// output without the point appended by Skip).
func (c *Critic) ApplyFeatures(params G.Nodes, x *G.Node) (out, features *G.Node, err error) {
	defer func() {
		if r := recover(); r != nil { // gorgonia's constructors panic through Must
			out, features, err = nil, nil, fmt.Errorf("models: building the %s critic: %v", c.spec.Kind, r)
		}
	}()
	s := c.spec
	if x.Dims() != 2 || x.Shape()[1] != s.InDim || x.Dtype() != tensor.Float32 {
		return nil, nil, fmt.Errorf("models: critic input %v of %v, want float32 m×%d", x.Shape(), x.Dtype(), s.InDim)
	}
	if len(params) != len(c.params) {
		return nil, nil, fmt.Errorf("models: %d critic parameter nodes, want %d", len(params), len(c.params))
	}
	dense := func(h *G.Node, i int) *G.Node {
		return G.Must(G.BroadcastAdd(G.Must(G.Mul(h, params[2*i])), params[2*i+1], nil, []byte{0}))
	}
	layers := c.encoder()
	h := x
	if s.Kind == "conv" {
		m := x.Shape()[0]
		h = G.Must(G.Reshape(h, tensor.Shape{m, s.Image[0], s.Image[1], s.Image[2]}))
		for i := range s.Channels {
			h = G.Must(G.ApplyOp(convOp{k: s.Kernel}, h, params[2*i], params[2*i+1]))
			h = G.Must(G.ApplyOp(avgPoolOp{}, activate(s.Activation, s.LeakySlope, h)))
		}
		sh := h.Shape()
		h = G.Must(G.Reshape(h, tensor.Shape{m, sh[1] * sh[2] * sh[3]}))
		h = dense(h, len(layers)-1)
	} else {
		for i := range layers {
			h = dense(h, i)
			if i+1 < len(layers) {
				h = activate(s.Activation, s.LeakySlope, h)
			}
		}
	}
	if s.Skip {
		return G.Must(G.Concat(1, x, h)), h, nil
	}
	return h, h, nil
}

// Features maps points x (a whole number of InDim-long rows) to their features, with a
// forward-only graph built for the call.
func (c *Critic) Features(x []float32) ([]float32, error) {
	if len(x) == 0 || len(x)%c.spec.InDim != 0 {
		return nil, fmt.Errorf("models: %d values, not a positive number of %d-value rows", len(x), c.spec.InDim)
	}
	m := len(x) / c.spec.InDim
	graph := G.NewGraph()
	xv := tensor.New(tensor.WithShape(m, c.spec.InDim), tensor.WithBacking(slices.Clone(x)))
	in := G.NewMatrix(graph, tensor.Float32, G.WithShape(m, c.spec.InDim), G.WithName("x"), G.WithValue(xv))
	out, err := c.Apply(c.Nodes(graph), in)
	if err != nil {
		return nil, err
	}
	var v G.Value
	G.Read(out, &v)
	vm := G.NewTapeMachine(graph)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return nil, fmt.Errorf("models: critic features: %w", err)
	}
	return slices.Clone(v.Data().([]float32)), nil
}

// Tensors returns the parameters as tensorfile tensors named by prefix+name (copies).
func (c *Critic) Tensors(prefix string) []tensorfile.Tensor { return paramTensors(c.params, prefix) }

// SetTensors copies parameter values from tensors named prefix+name; every parameter
// must be present with its shape, and every value finite.
func (c *Critic) SetTensors(f *tensorfile.File, prefix string) error {
	return setParamTensors(c.params, f, prefix)
}

// paramNodes adds params to graph as nodes named prefix+name, bound to their tensors.
func paramNodes(graph *G.ExprGraph, params []*Param, prefix string) G.Nodes {
	nodes := make(G.Nodes, len(params))
	for i, p := range params {
		if len(p.Shape) == 2 {
			nodes[i] = G.NewMatrix(graph, tensor.Float32, G.WithShape(p.Shape...), G.WithName(prefix+p.Name), G.WithValue(p.Value))
		} else {
			nodes[i] = G.NewTensor(graph, tensor.Float32, len(p.Shape), G.WithShape(p.Shape...), G.WithName(prefix+p.Name), G.WithValue(p.Value))
		}
	}
	return nodes
}

func countParams(params []*Param) int {
	n := 0
	for _, p := range params {
		n += len(p.Data())
	}
	return n
}

func paramTensors(params []*Param, prefix string) []tensorfile.Tensor {
	out := make([]tensorfile.Tensor, len(params))
	for i, p := range params {
		out[i] = tensorfile.Tensor{Name: prefix + p.Name, Shape: slices.Clone(p.Shape), Data: slices.Clone(p.Data())}
	}
	return out
}

func setParamTensors(params []*Param, f *tensorfile.File, prefix string) error {
	want := make([]paramShape, len(params))
	for i, p := range params {
		want[i] = paramShape{p.Name, p.Shape}
	}
	if err := checkTensors(want, f, prefix); err != nil {
		return err
	}
	for _, p := range params {
		copy(p.Data(), f.Tensor(prefix+p.Name).Data)
	}
	return nil
}

// paramShape is the name and shape of a parameter.
type paramShape struct {
	name  string
	shape []int
}

// size is the number of values of the parameter.
func (p paramShape) size() int {
	n := 1
	for _, d := range p.shape {
		n *= d
	}
	return n
}

// layerParams lists the parameters of layers, in the order of Params.
func layerParams(layers []layer) []paramShape {
	var out []paramShape
	for _, l := range layers {
		out = append(out, paramShape{l.name + ".w", l.wShape}, paramShape{l.name + ".b", l.bShape})
	}
	return out
}

// checkTensors checks that the tensors of f named prefix+… are exactly the
// parameters want, with their shapes and finite values.
func checkTensors(want []paramShape, f *tensorfile.File, prefix string) error {
	known := make(map[string]bool, len(want))
	for _, p := range want {
		known[prefix+p.name] = true
		t := f.Tensor(prefix + p.name)
		if t == nil {
			return fmt.Errorf("models: parameter %s missing", prefix+p.name)
		}
		if !slices.Equal(t.Shape, p.shape) {
			return fmt.Errorf("models: parameter %s has shape %v, the model wants %v", prefix+p.name, t.Shape, p.shape)
		}
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("models: parameter %s[%d] is %v", prefix+p.name, i, v)
			}
		}
	}
	for _, t := range f.Tensors {
		if strings.HasPrefix(t.Name, prefix) && !known[t.Name] {
			return fmt.Errorf("models: tensor %.40q is not a parameter of the model", t.Name)
		}
	}
	return nil
}

// CriticFromFile builds a critic for spec with the parameters of f (named
// prefix+name), checking them against the spec before allocating anything: a spec
// asking for more parameters than the file holds is an error, not an allocation.
func CriticFromFile(spec CriticSpec, f *tensorfile.File, prefix string) (*Critic, error) {
	if !spec.Enabled() {
		return nil, fmt.Errorf("models: critic kind %q: no critic to build", spec.Kind)
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("models: critic: %w", err)
	}
	if err := checkTensors(layerParams((&Critic{spec: spec}).layers()), f, prefix); err != nil {
		return nil, err
	}
	c, err := NewCritic(spec, 0)
	if err != nil {
		return nil, err
	}
	if err := c.SetTensors(f, prefix); err != nil {
		return nil, err
	}
	return c, nil
}
