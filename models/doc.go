// Package models holds the generators f_θ: maps from latent noise z ~ N(0, I) to
// points (images of the data's C×H×W intensities, channel-major, such as MNIST's
// 784, or 2-D points), built as gorgonia graphs,
// with seeded initialization and parameter save and load.
//
// A Spec (plain data, the [model] table of a training config) describes the network:
//
//   - "mlp": z → [dense → activation] × len(Hidden) → dense → output activation. The
//     generator of Genevay, Peyré, Cuturi (AISTATS 2018) and of the benchmark
//     (16-256-512-784, ReLU, sigmoid).
//   - "conv": z → dense → activation → reshape to Channels[0]×Base×Base → for each
//     further channel count: 2× nearest-neighbour upsampling → k×k convolution
//     (padding k/2, with bias) → activation; then a last upsampling and convolution to
//     the image's channels → output activation. gorgonia has no transposed
//     convolution; upsampling followed by convolution is the usual substitute (Odena,
//     Dumoulin, Olah, "Deconvolution and checkerboard artifacts", Distill 2016). The
//     image side is Base·2^len(Channels). Upsampling and convolution are Ops of this
//     package (conv.go): gorgonia's Upsample2D and Conv2d compute the same but take
//     about 1.7 s per step of the default conv generator at batch 256 on two cores,
//     these about 0.24 s.
//
// The generators' dense layers and activations are fused Ops of this package (dense.go):
// act(x·W + b) in one product on gorgonia's BLAS and one pass, gradients from the
// activation's output, and results kept in buffers reused from pass to pass, so that a
// training step allocates no tensors for the network. The critics keep gorgonia's own
// ops, which a gradient penalty can differentiate twice.
//
// A Generator owns its parameters (float32 tensors, consecutive ranges of one slice:
// Values). Build adds the network to a graph on a latent node, binding parameter nodes
// to those same tensors, so a training graph and any number of sampling graphs share
// the parameters and an optimizer's in-place update is seen by all. Sampler runs a
// forward-only graph of a fixed batch size. Save and Load write the parameters and the
// Spec to a checksummed file.
//
// Initialization ("init"): "uniform" is PyTorch's default for nn.Linear and nn.Conv2d
// (weights and biases uniform in ±1/√fan_in); "he" draws weights from N(0, 2/fan_in)
// (He et al. 2015) and zero biases; "xavier" draws weights uniform in
// ±√(6/(fan_in+fan_out)) (Glorot & Bengio 2010) and zero biases. Draws come from a PCG
// generator seeded by the seed given to New: the same seed gives the same network.
// SetOutputBias sets the last layer's bias so that the output starts at a given point
// (the data mean, say): with a sigmoid output, a generator started at 0.5 everywhere
// first drives the background pixels of MNIST deep into the sigmoid's flat tail.
package models
