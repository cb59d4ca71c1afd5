// Package eval measures how close generated samples are to held-out data, for the
// Wasserstein-vs-MMD comparison of the losses in package losses.
//
// Evaluate(gen, ref, opts) compares the rows of gen (generated, default 1000) with
// the rows of ref (held-out real data, default 1000 MNIST test images) and returns
// Metrics, written to JSON by cmd/eval. Use one ref, one size and one set of options
// for every model compared: all the estimates depend on them.
//
// Distances between the samples (ComputeDistances), with uniform weights:
//
//   - exact OT with c(x,y) = ½|x−y|², by the network simplex (ot.ExactPoints):
//     OT = min_P Σ P_ij c(x_i,y_j) = ½W₂², reported with W₂ = √(2·OT);
//   - the debiased Sinkhorn divergence S_ε = OT_ε(α,β) − ½OT_ε(α,α) − ½OT_ε(β,β) at a
//     fixed ε (Feydy et al. 2019; ot.SinkhornDivergence);
//   - the squared MMD with the Gaussian mixture k(x,y) = Σ_σ exp(−|x−y|²/2σ²) of
//     MMD-GAN (Li et al. 2017) and the energy distance 2E|X−Y| − E|X−X'| − E|Y−Y'|
//     (Székely & Rizzo 2013), both as the unbiased U-statistic (sums over i ≠ j,
//     Gretton et al. 2012), whose expectation is 0 for equal distributions, and as
//     the V-statistic that ot.MMD and the MMD loss compute, which is ≥ 0 but biased
//     by (k(0) − E k(X,X'))(1/n + 1/m) — a bias that favours collapsed generators.
//
// Classifier metrics use an MNIST classifier the package trains itself with gorgonia
// (TrainClassifier; an MLP 784–512–128–10 reaching 98.63% test accuracy in about a minute), cached in a
// checksummed file (LoadOrTrainClassifier, DefaultClassifierPath), or the same recipe
// for the user's labelled data, any input size and number of classes
// (TrainDataClassifier, LoadOrTrainDataClassifier, cached by the data's checksums at
// DataClassifierPath):
//
//   - the class histogram of the samples, the number of classes covered (at least
//     DefaultMinShare of their uniform share, PacGAN's rule), KL(histogram ‖ uniform),
//     the mean confidence max_c p(c|x), and the classifier score
//     exp(E_x KL(p(y|x) ‖ p(y))) (the Inception score, Salimans et al. 2016);
//   - the Fréchet distance |μ₁−μ₂|² + tr(Σ₁ + Σ₂ − 2(Σ₁^½Σ₂Σ₁^½)^½) between Gaussians
//     fitted to the classifier's penultimate features (FID, Heusel et al. 2017; the
//     formula is the 2-Wasserstein distance between Gaussians, Dowson & Landau
//     1982), with matrix square roots from symmetric eigendecompositions;
//   - the classifier two-sample test (C2ST, Lopez-Paz & Oquab 2017): a small MLP
//     learns to tell generated from real on one half of each sample; its accuracy on
//     the other half is ½ when the samples are indistinguishable and 1 when they are
//     always told apart, with the binomial p-value of the null hypothesis. It runs in
//     the classifier's feature space and on raw pixels.
//
// For the toy 2-D distributions (ModeCoverage): a sample is of high quality when it
// lies within 3σ of its nearest mode centre, and a mode is covered when it receives
// at least DefaultMinShare of the samples it should (VEEGAN, Srivastava et al. 2017;
// PacGAN, Lin et al. 2018); KL of the covered-mode histogram to the mixture weights.
//
// References: Genevay, Peyré, Cuturi, "Learning Generative Models with Sinkhorn
// Divergences", AISTATS 2018; Feydy et al., "Interpolating between Optimal Transport
// and MMD using Sinkhorn Divergences", AISTATS 2019; Gretton et al., "A Kernel
// Two-Sample Test", JMLR 2012; Li et al., "MMD GAN", NeurIPS 2017; Székely & Rizzo,
// "Energy statistics", 2013; Heusel et al., "GANs Trained by a Two Time-Scale Update
// Rule Converge to a Local Nash Equilibrium", NeurIPS 2017; Dowson & Landau, "The
// Fréchet distance between multivariate normal distributions", J. Multivariate
// Anal. 1982; Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016;
// Lopez-Paz & Oquab, "Revisiting Classifier Two-Sample Tests", ICLR 2017; Srivastava
// et al., "VEEGAN", NeurIPS 2017; Lin et al., "PacGAN", NeurIPS 2018; Kingma & Ba,
// "Adam", ICLR 2015; Loshchilov & Hutter, "Decoupled Weight Decay Regularization",
// ICLR 2019.
package eval
