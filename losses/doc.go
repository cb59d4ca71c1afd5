// Package losses is the differentiable face of package ot for gorgonia graphs.
//
// New(data, generated, cfg) returns a scalar loss node between two matrices of points
// (rows), as two custom Ops: the forward runs L unrolled log-domain Sinkhorn iterations
// through ot.UnrolledSinkhorn, the backward either the exact reverse-mode adjoint of
// those L iterations (BackwardMode Unrolled, the default: what autograd of the loop
// gives, Genevay, Peyré, Cuturi, AISTATS 2018) or the envelope gradient at the final
// potentials (Envelope), or the gradient of the converged solution by implicit
// differentiation of the dual's optimality conditions (Implicit; see
// ot.Unrolled.BackwardImplicit: equal to Envelope at convergence for the dual kinds,
// and the exact gradient of the converged primal form, a function of the plan, which
// Envelope is not). The adjoint keeps the L potential vectors, not L transport plans:
// memory is O(nm + L(n+m)).
//
// Kinds: the debiased Sinkhorn divergence in dual form (Divergence, Feydy et al. 2019),
// Genevay et al.'s primal form (Primal), the biased entropic OT (Entropic), and the
// ε = ∞ end: MMD with a Gaussian or Laplacian mixture (MMD, Config.Kernel) and the
// energy distance (Energy). The
// Sinkhorn kinds at ε = +Inf use their closed-form limits. Sliced is the sliced OT cost
// over random directions (ot.SlicedWasserstein), Unbalanced the unbalanced Sinkhorn
// divergence with KL marginal penalty Rho (ot.UnbalancedDivergence), differentiated at
// its final potentials, Hausdorff the entropic Hausdorff divergence (ot.Hausdorff),
// differentiated through its converged potentials; the three compute their gradients
// in the forward pass.
//
// Config.Batch = B splits the data and generated matrices into B pairs of clouds
// (GeomLoss's batch dimension), evaluated in parallel, each bit for bit as alone; the
// loss is their mean (Loss.PairValues has each).
//
// Schedule moves ε across training steps (constant, linear, geometric, cosine, step;
// +Inf is the MMD limit); Loss.SetEps applies a step. In-solver ε-scaling is
// Config.EpsScaling.
//
// float64 graphs compute in float64 throughout. float32 graphs take ot's float32 path
// for the Sinkhorn kinds (ot.UnrolledSinkhorn on float32 ot.Points), for every cost
// power: the squared distances' x·yᵀ and the gradients' C̄·y products (C̄ weighted by
// c'(d²) for p ≠ 2) run as float32 matrix products (the AVX-512 or AVX2 Sgemm
// of internal/fastblas), as a float32 PyTorch loop computes them; norms, iterations and
// adjoints stay in float64, and the gradient is the exact adjoint of that computation.
// On 256 MNIST-like points it agrees with the float64 path to about 1e-9 in the loss
// and 1e-5 in the gradients (the tests allow 1e-4). The closed forms compute in float64.
package losses
