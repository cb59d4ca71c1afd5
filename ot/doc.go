// Package ot is numerical optimal transport between discrete measures, independent of
// any graph library.
//
// The solvers follow one convention, POT's argument order: the inputs (points x, y
// or a cost matrix C; weights a, b, nil meaning uniform; the cost c; ε, where there is
// one), then an options struct, nil meaning the defaults, and a result struct. The
// solvers' results carry Converged and Iterations, the entropic ones MarginalError
// (Exact's plan meets the marginals to rounding; MMD and the sliced distances are
// closed forms):
//
//	Exact(a, b, C, *ExactOptions)                      ExactPoints(x, y, a, b, c, *ExactOptions)
//	Sinkhorn(a, b, C, ε, *SinkhornOptions)             SinkhornPoints(x, y, a, b, c, ε, *SinkhornOptions)
//	SinkhornDivergence(x, y, a, b, c, ε, *DivergenceOptions)   MMD(x, y, a, b, k, *MMDOptions)
//	UnrolledSinkhorn(x, y, a, b, c, ε, *UnrolledOptions)       UnrolledSinkhornDivergence(…)
//	SinkhornUnbalanced(a, b, C, ε, ρa, ρb, *SinkhornOptions)   SinkhornUnbalancedPoints(…)
//	UnbalancedDivergence(x, y, a, b, c, ε, ρ, *DivergenceOptions)
//	SlicedWasserstein(x, y, a, b, p, *SlicedOptions)           MaxSlicedWasserstein(…)
//	SlicedWassersteinPoints(x, y Points, a, b, p, *SlicedOptions)
//	Hausdorff(x, y, a, b, c, ε, *DivergenceOptions)            SinkhornDivergenceBatch(xs, ys, as, bs, …)
//	Barycenter(hists, support, ε, λ, *BarycenterOptions) …
//
// Gradients are asked for in the options (Grad) or, for the unrolled records and the
// sliced distances' (SlicedOptions.Record), by Backward, one side at a time. Functions that evaluate rather than solve (EntropicDual, EntropicSemiDual,
// the closed form Exact1D) return plain values. The stochastic semi-dual solvers run a
// fixed number of steps and report Iterations and a Value with its standard error, not
// a convergence flag. The unrolled solvers take their points as Points, float64
// (FromDense) or float32 (FromFloat32): one API, with float32 matrix products underneath
// for float32 points.
//
// A discrete measure is a set of points x_i ∈ R^d (the rows of a *mat.Dense) with
// weights a_i ≥ 0 summing to 1; a nil weight slice means uniform weights. The ground
// cost c(x,y) is s·|x−y|^p (see Cost), by default ½|x−y|², the GeomLoss convention.
//
// Exact OT solves min ⟨P,C⟩ over couplings P with marginals a and b by the network
// simplex (Exact), with a closed form on the line (Exact1D), which also gives the sliced
// Wasserstein distance SW_p, the mean of W_p^p over projections on random or given
// directions (SlicedWasserstein, MaxSlicedWasserstein), with gradients.
//
// Entropic OT (Cuturi 2013) solves
//
//	OT_ε(α,β) = min_P ⟨P,C⟩ + ε·KL(P | a⊗b)
//
// by Sinkhorn iterations (Sinkhorn), which hand over to a Newton finisher on the dual
// when they stall (see SinkhornOptions.NoNewton; the result counts its steps in
// NewtonIterations beside Sinkhorn's Iterations). Potentials follow the a⊗b convention of GeomLoss:
// P_ij = a_i b_j exp((f_i + g_j − C_ij)/ε), and at convergence OT_ε = ⟨a,f⟩ + ⟨b,g⟩.
// The debiased Sinkhorn divergence (Feydy et al. 2019)
//
//	S_ε(α,β) = OT_ε(α,β) − ½OT_ε(α,α) − ½OT_ε(β,β)
//
// interpolates between exact OT (ε → 0) and half the squared distance between means
// (ε → ∞, cost ½|x−y|²) or half the energy distance (ε → ∞, cost |x−y|)
// (SinkhornDivergence; MMD with CostKernel gives the limits, GaussianMixture,
// LaplacianMixture and EnergyKernel the usual kernels). The entropic Hausdorff
// divergence ½⟨α − β, p_β − p_α⟩ (Hausdorff; p_μ the symmetric potential of
// OT_ε(μ,μ)) interpolates between the ICP loss and the same kernel limit. For ε far above the costs' spread the c-transforms
// take a form that is exact to rounding (softminRowFlat), so that S_ε reaches its
// limit up to ε = MaxFloat64; an ε below the float64 resolution of the costs (2^-52
// of the largest) is an error wrapping ErrOutOfRange rather than a meaningless value. Gradients with respect to points and weights come
// from the envelope theorem (SinkhornGradients, ExactGradients, the Grad of a
// divergence, MMD's).
//
// Unbalanced OT (SinkhornUnbalanced, UnbalancedDivergence; see Unbalanced) replaces the
// marginal constraints by KL penalties ρ_a, ρ_b (GeomLoss's reach^p, POT's reg_m), for
// measures of any mass; ρ = +Inf is the balanced problem, whose results it returns.
//
// For training, UnrolledSinkhorn and UnrolledSinkhornDivergence run a fixed number L
// of log-domain updates from zero potentials (a divergence's self problems by averaged
// updates of one potential, as GeomLoss does) and differentiate them exactly in reverse
// mode (the gradient autograd of the loop would give), keeping O(L(n+m)) numbers;
// BackwardImplicit instead differentiates the converged solution through the linear
// system of the dual's optimality conditions (implicit differentiation). On
// float32 Points they run the squared distances' x·yᵀ and the gradients' products as
// float32 matrix products, and keep the kernel in float32 (sums in float64) where its
// entries' range allows: the potentials then differ from a float64 kernel's by at most
// ε·L·2^-22, below the float32 rounding of the costs themselves. That rounding is an
// error Δ of the squared distance d² = |x_i|² + |y_j|² − 2x_i·y_j (|Δ| ≤ 2^-20·|x_i||y_j|
// in the tests, 784-D included), so at most s·(p/2)·(d² ∓ |Δ|)^{p/2−1}·|Δ| in the cost
// s·|x−y|^p (first order, the larger of the two), and a relative |p/2 − 1|·|Δ|/d² in
// the gradient's weights C̄_ij·c'(d²_ij), c'(t) = s·(p/2)·t^{p/2−1}. For p < 2 these
// grow without bound as d → 0 (for p = 1 the error of √d² near 0 is up to √|Δ| ≈
// 2^-10·|x|), so a problem in which two distinct points lie within
// d² < 2^-10·(|x_i|² + |y_j|²) runs in float64 instead: on the float32 path with
// p < 2 no cost entry errs by more than 2^-11 of itself, nor any weight c'. A point
// against itself (the symmetric problems) costs exactly 0, and its weight is
// c'(0) = 0, the zero subgradient of Cost.AddGradX, which the float64 path uses.
//
// Barycenter (fixed support, iterative Bregman projections, with a separable kernel on
// image grids), FreeSupportBarycenter, BarycentricCoordinates (reverse mode through L
// Bregman iterations), EntropicDual / EntropicSemiDual and their stochastic solvers
// (SemiDualSAG, SemiDualASGD, SemiDiscreteASGD) complete the toolbox.
//
// The hot loops (exp, dot, axpy, the a·bᵀ product) have AVX2+FMA versions in Go
// assembly, and the products and dot/axpy AVX-512 ones (internal/fastblas), chosen at
// run time (SINKGEN_KERNEL=purego|avx2|avx512 forces one); the build tag purego
// selects the portable Go ones.
//
// Batch runs B independent problems in parallel, each result bit for bit that of its
// call alone (SinkhornDivergenceBatch, UnrolledSinkhornDivergenceBatch); a failing
// pair's error is named "pair k".
//
// Every routine validates its input and returns an error wrapping ErrInvalidInput
// that names the offending argument; none panics on bad data. Point clouds must have
// squared norms below MaxFloat64/4, so that their squared distances are finite. A
// problem whose dense matrices would exceed MaxDenseBytes (8 GiB by default) fails
// with ErrTooLarge, stating the memory it needs, before allocating them; MMD needs no
// n×m storage and has no such bound.
//
// References: Cuturi, "Sinkhorn Distances", NeurIPS 2013; Genevay, Peyré, Cuturi,
// "Learning Generative Models with Sinkhorn Divergences", AISTATS 2018; Feydy et al.,
// "Interpolating between Optimal Transport and MMD using Sinkhorn Divergences",
// AISTATS 2019; Chizat, Peyré, Schmitzer, Vialard, "Scaling Algorithms for Unbalanced
// Optimal Transport Problems", Math. Comp. 2018; Brauer, Clason, Lorenz, Wirth,
// "A Sinkhorn-Newton method for entropic optimal transport", arXiv:1710.06635, 2017; Séjourné, Feydy, Vialard, Trouvé, Peyré,
// "Sinkhorn Divergences for Unbalanced Optimal Transport", arXiv:1910.12958, 2019; Schmitzer, "Stabilized Sparse Scaling Algorithms for Entropy
// Regularized Transport Problems", SIAM J. Sci. Comput. 2019; Rabin, Peyré, Delon, Bernot,
// "Wasserstein Barycenter and its Application to Texture Mixing", SSVM 2011; Kolouri et
// al., "Sliced Wasserstein Auto-Encoders", ICLR 2019; Deshpande, Zhang, Schwing,
// "Generative Modeling using the Sliced Wasserstein Distance", CVPR 2018; Li et al., "MMD GAN",
// NeurIPS 2017; Székely & Rizzo, "Energy statistics", 2013; Benamou et al., "Iterative
// Bregman Projections for Regularized Transportation Problems", SIAM J. Sci. Comput. 2015;
// Cuturi & Doucet, "Fast Computation of Wasserstein Barycenters", ICML 2014; Bonneel,
// Peyré, Cuturi, "Wasserstein Barycentric Coordinates", SIGGRAPH 2016; Genevay, Cuturi,
// Peyré, Bach, "Stochastic Optimization for Large-scale Optimal Transport", NeurIPS 2016.
package ot
