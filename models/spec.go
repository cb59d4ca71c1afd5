package models

import (
	"fmt"
	"math"
	"slices"
)

// Spec describes a generator. The zero value of a field means its default
// (DefaultSpec), except OutDim and Image, which the caller sets from the data.
type Spec struct {
	// Kind is "mlp" or "conv".
	Kind string `toml:"kind" json:"kind"`
	// LatentDim is the dimension of z ~ N(0, I).
	LatentDim int `toml:"latent_dim" json:"latent_dim"`
	// Hidden are the MLP's hidden widths.
	Hidden []int `toml:"hidden" json:"hidden,omitempty"`
	// Activation of the hidden layers: "relu", "leaky_relu", "tanh" or "softplus".
	Activation string `toml:"activation" json:"activation"`
	// LeakySlope is the negative slope of "leaky_relu".
	LeakySlope float64 `toml:"leaky_slope" json:"leaky_slope,omitempty"`
	// Output is the output activation: "sigmoid" (pixels in (0,1)), "linear" or "tanh".
	Output string `toml:"output" json:"output"`
	// Init is the initialization: "uniform", "he" or "xavier".
	Init string `toml:"init" json:"init"`
	// OutputBias is "init" (as drawn by Init, the default, as PyTorch leaves it) or
	// "data_mean" (the trainer sets the last bias so that the initial output is the
	// data mean, SetOutputBias). The default is not data_mean because that start puts
	// every sample near one point, where the Sinkhorn divergence's gradient vanishes
	// for every ε: a large-ε run never leaves it (README, the comparison).
	OutputBias string `toml:"output_bias" json:"output_bias"`
	// Channels are the conv generator's channel counts after the dense layer and after
	// each upsampling block but the last.
	Channels []int `toml:"channels" json:"channels,omitempty"`
	// Base is the conv generator's spatial side after the dense layer.
	Base int `toml:"base" json:"base,omitempty"`
	// Kernel is the conv generator's (odd) kernel side.
	Kernel int `toml:"kernel" json:"kernel,omitempty"`

	// OutDim is the dimension of a generated point (784 for MNIST, 2 for toy data).
	OutDim int `toml:"-" json:"out_dim"`
	// Image is the (channels, height, width) of a generated image when points are
	// images, zero otherwise. The conv generator needs it.
	Image [3]int `toml:"-" json:"image"`
}

// DefaultSpec is the MLP of the benchmark workload: 16-256-512-out, ReLU, sigmoid,
// PyTorch's initialization. Conv defaults: channels [64, 32], base 7, kernel 3.
func DefaultSpec() Spec {
	return Spec{
		Kind: "mlp", LatentDim: 16, Hidden: []int{256, 512}, Activation: "relu", LeakySlope: 0.2,
		Output: "sigmoid", Init: "uniform", OutputBias: "init", Channels: []int{64, 32}, Base: 7, Kernel: 3,
	}
}

// Validate reports the first invalid field, naming it as in a config file.
func (s Spec) Validate() error {
	switch s.Kind {
	case "mlp", "conv":
	default:
		return fmt.Errorf("kind = %q: want \"mlp\" or \"conv\"", s.Kind)
	}
	if s.LatentDim < 1 || s.LatentDim > 1<<16 {
		return fmt.Errorf("latent_dim = %d: must be in [1, 65536]", s.LatentDim)
	}
	if err := validateActivation(s.Activation, s.LeakySlope); err != nil {
		return err
	}
	switch s.Output {
	case "sigmoid", "linear", "tanh":
	default:
		return fmt.Errorf("output = %q: want sigmoid, linear or tanh", s.Output)
	}
	if err := validateInit(s.Init); err != nil {
		return err
	}
	switch s.OutputBias {
	case "init", "data_mean":
	default:
		return fmt.Errorf("output_bias = %q: want init or data_mean", s.OutputBias)
	}
	if err := validatePointDim("output", s.OutDim); err != nil {
		return err
	}
	if err := validateLayers(s.Kind, s.Hidden, s.Channels, s.Kernel, "generator"); err != nil {
		return err
	}
	if s.Kind == "mlp" {
		return checkSize((&Generator{spec: s}).layers(), 0, fmt.Sprintf("hidden = %v", s.Hidden))
	}
	if s.Base < 1 {
		return fmt.Errorf("base = %d: must be positive", s.Base)
	}
	if !isImage(s.Image, s.OutDim) {
		return fmt.Errorf("kind = \"conv\" needs image data (the points are %d-dimensional, not images)", s.OutDim)
	}
	h, w := s.Image[1], s.Image[2]
	side := min(s.Base, MaxPointDim+1) // saturated: no overflow, and larger than any image
	for range s.Channels {
		side = min(2*side, MaxPointDim+1)
	}
	if side != h || side != w {
		gives := "larger"
		if side <= MaxPointDim {
			gives = fmt.Sprintf("%d×%d", side, side)
		}
		return fmt.Errorf("base = %d with %d channel counts gives %s images (base·2^len(channels)), the data has %d×%d; %s",
			s.Base, len(s.Channels), gives, h, w, convSizes(h, w, len(s.Channels)))
	}
	return checkSize((&Generator{spec: s}).layers(), s.convValues(), fmt.Sprintf("channels = %v", s.Channels))
}

// convValues bounds the values a conv generator's layer computes per point.
func (s Spec) convValues() int64 {
	return int64(max(slices.Max(s.Channels), s.Image[0])) * int64(s.Image[1]*s.Image[2])
}

// Widest is the most values one layer of a valid generator reads or computes per
// point, which times the batch size bounds a layer's activations.
func (s Spec) Widest() int64 {
	var conv int64
	if s.Kind == "conv" {
		conv = s.convValues()
	}
	return widest((&Generator{spec: s}).layers(), conv)
}

// widest is the widest dense layer's input or output, or conv if larger.
func widest(layers []layer, conv int64) int64 {
	w := conv
	for _, l := range layers {
		if !l.conv {
			w = max(w, int64(l.wShape[0]), int64(l.wShape[1]))
		}
	}
	return w
}

// convSizes says which square sizes the conv generator makes, and how to get h×w.
func convSizes(h, w, ups int) string {
	const sizes = "the conv generator makes square images of side base·2^len(channels): 28×28 with base 7 and 2 channel counts (the default), 32×32 with base 8, 64×64 with base 16, or base 8 and 3 channel counts"
	switch {
	case h != w:
		return sizes + "; resize non-square data (data.size) or use the mlp generator"
	case h%(1<<ups) == 0:
		return fmt.Sprintf("%s; for %d×%d set base = %d", sizes, h, w, h>>ups)
	}
	return sizes + fmt.Sprintf("; %d is not a multiple of 2^%d: change the number of channel counts, or resize the data (data.size)", h, ups)
}

// Size bounds, checked by Validate before New allocates anything: a spec comes from a
// config file, or from a checkpoint or parameter file that anyone can edit (and
// re-checksum), and must not be able to ask for more memory than a machine has.
const (
	// MaxParams bounds the parameter count of a network: 2^27 float32 are 512 MiB,
	// 2 GiB with the gradients and Adam's two moments.
	MaxParams = 1 << 27
	// MaxPointDim bounds the dimension of a point (a 1024×1024 image).
	MaxPointDim = 1 << 20
	// maxLayerValues bounds the values one convolution layer computes for one point
	// (a 1024-channel 64×64 map; the MNIST networks compute at most 50176).
	maxLayerValues = 1 << 22
)

// isImage reports whether img is the (channels, height, width) of points of dimension
// dim, each side checked before the product, which could otherwise wrap around.
func isImage(img [3]int, dim int) bool {
	for _, d := range img {
		if d < 1 || d > MaxPointDim {
			return false
		}
	}
	return img[0]*img[1]*img[2] == dim
}

// validatePointDim checks the dimension of the points a network reads or writes
// (what: "input" or "output"), which the caller sets from the data.
func validatePointDim(what string, d int) error {
	if d < 1 || d > MaxPointDim {
		return fmt.Errorf("%s dimension %d: must be in [1, %d] (set from the data)", what, d, MaxPointDim)
	}
	return nil
}

// checkSize bounds the parameter count of layers and widest, the most values a
// convolution layer computes per point (0 for dense networks, whose widths are
// bounded one by one). Its errors start with field ("hidden = [4096 4096]"), the
// keys that size the layers.
func checkSize(layers []layer, widest int64, field string) error {
	var n int64
	for _, l := range layers {
		if n += numValues(l.wShape) + numValues(l.bShape); n > MaxParams {
			break // before a long list of layers could overflow n
		}
	}
	if n > MaxParams {
		return fmt.Errorf("%s: the network would have %d parameters, more than the %d allowed", field, n, MaxParams)
	}
	if widest > maxLayerValues {
		return fmt.Errorf("%s: a convolution layer would compute %d values per point (channels × image size), more than the %d allowed", field, widest, maxLayerValues)
	}
	return nil
}

// numValues is the number of values of a tensor of the given shape (the shapes of
// validated layers: every dimension at most 2^20, at most 4 of them).
func numValues(shape []int) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= int64(d)
	}
	return n
}

func validateInit(init string) error {
	switch init {
	case "uniform", "he", "xavier":
		return nil
	}
	return fmt.Errorf("init = %q: want uniform, he or xavier", init)
}

// validateLayers checks the hidden widths of an "mlp", or the channel counts and kernel
// of a "conv" network (what names it in messages).
func validateLayers(kind string, hidden, channels []int, kernel int, what string) error {
	if kind == "mlp" {
		for i, w := range hidden {
			if w < 1 || w > 1<<16 {
				return fmt.Errorf("hidden[%d] = %d: must be in [1, 65536]", i, w)
			}
		}
		return nil
	}
	if len(channels) == 0 {
		return fmt.Errorf("channels = []: the conv %s needs at least one channel count", what)
	}
	for i, c := range channels {
		if c < 1 || c > 4096 {
			return fmt.Errorf("channels[%d] = %d: must be in [1, 4096]", i, c)
		}
	}
	if kernel < 1 || kernel%2 == 0 || kernel > 15 {
		return fmt.Errorf("kernel = %d: must be odd, in [1, 15]", kernel)
	}
	return nil
}

// layerInit draws the weights and bias of a layer with fan-in fanIn and fan-out fanOut.
func layerInit(init string, rng interface{ Float64() float64 }, norm func() float64, w, b []float32, fanIn, fanOut int) {
	switch init {
	case "he":
		sd := math.Sqrt(2 / float64(fanIn))
		for i := range w {
			w[i] = float32(sd * norm())
		}
		clear(b)
	case "xavier":
		bound := math.Sqrt(6 / float64(fanIn+fanOut))
		for i := range w {
			w[i] = float32(bound * (2*rng.Float64() - 1))
		}
		clear(b)
	default: // uniform, PyTorch's default
		bound := 1 / math.Sqrt(float64(fanIn))
		for i := range w {
			w[i] = float32(bound * (2*rng.Float64() - 1))
		}
		for i := range b {
			b[i] = float32(bound * (2*rng.Float64() - 1))
		}
	}
}
