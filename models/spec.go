package models

import (
	"fmt"
	"math"
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
	// OutputBias is "data_mean" (the trainer sets the last bias so that the initial
	// output is the data mean, SetOutputBias) or "init" (as drawn by Init).
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
		Output: "sigmoid", Init: "uniform", OutputBias: "data_mean", Channels: []int{64, 32}, Base: 7, Kernel: 3,
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
	if s.OutDim < 1 {
		return fmt.Errorf("output dimension %d: must be positive (set from the data)", s.OutDim)
	}
	if err := validateLayers(s.Kind, s.Hidden, s.Channels, s.Kernel, "generator"); err != nil || s.Kind == "mlp" {
		return err
	}
	if s.Base < 1 {
		return fmt.Errorf("base = %d: must be positive", s.Base)
	}
	c, h, w := s.Image[0], s.Image[1], s.Image[2]
	if c < 1 || h < 1 || w < 1 || c*h*w != s.OutDim {
		return fmt.Errorf("kind = \"conv\" needs image data (the points are %d-dimensional, not images)", s.OutDim)
	}
	if side := s.Base << len(s.Channels); side != h || side != w {
		return fmt.Errorf("base = %d with %d channel counts gives %d×%d images (base·2^len(channels)), the data has %d×%d",
			s.Base, len(s.Channels), side, side, h, w)
	}
	return nil
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
