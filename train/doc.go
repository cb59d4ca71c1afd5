// Package train fits a generator f_θ (package models) to data (package data) by
// minimizing an optimal-transport loss (package losses) between a generated batch and
// a data batch, as Genevay, Peyré and Cuturi, "Learning Generative Models with Sinkhorn
// Divergences" (AISTATS 2018), do with L unrolled Sinkhorn iterations differentiated in
// reverse mode.
//
// A Config is plain data decoded strictly from TOML (LoadConfig, ParseConfig: an unknown
// key, a wrongly typed or an invalid value is an error naming the key; configs/README.md
// documents every key and its default). New builds the data source, the generator, one
// gorgonia graph — data batch x (n×d) and latent batch z (m×k) → f_θ(z) → loss → ∂loss/∂θ —
// compiled once into a tape machine, and the optimizer. Trainer.Run is the loop, one
// Trainer.Step per iteration, which asks the run's schedule (schedule.go) what applies
// to it — graph and optimizer, learning rates, ε, critic updates:
//
//	ε_t = schedule(t); x ~ data; z ~ N(0, I); ℓ = S_ε(x, f_θ(z)); g = ∂ℓ/∂θ;
//	stop if ℓ or g is not finite; θ ← optimizer(θ, g, lr_t)
//
// followed by the run's bookkeeping (rundir.go): logging (metrics.csv, metrics.jsonl, train.log, progress on standard error: a bar on a terminal, a line every tenth or 30 s otherwise),
// sample grids from a fixed latent batch and checkpoints at their intervals, and loss
// and ε curves (gonum.org/v1/plot) at the end.
//
// The optimizers (Adam, RMSProp, SGD with momentum and Nesterov) follow torch.optim's
// update rules and are checked against it; they are written here rather than taken from
// gorgonia because gorgonia's solvers keep their moment estimates in unexported state
// that a checkpoint cannot save. Checkpoints (internal/tensorfile) are atomic, versioned
// and checksummed, and hold everything a run's future depends on — parameters, optimizer
// state, the random states of the data order and latent draws, the step, the changes of
// the run's length by resumes (the learning-rate decay goes on from the rate reached) —
// so that a resumed run equals the uninterrupted one bit for bit at the same thread
// count (every parallel reduction here and in package ot runs in a fixed order). A
// checkpoint is written only after the metrics rows up to its step are on disk, so a
// run killed at any moment loses none.
//
// A learned cost (Config.Critic, Config.Adversarial; adversarial.go): the loss compares
// critic features h_φ(x), h_φ(f_θ(z)), the critic maximizes it and the generator
// minimizes it (Genevay et al. 2018; MMD-GAN, Li et al. 2017, with the "mmd" loss).
// Before each generator step the critic takes its updates on fresh batches in a graph
// of its own, where the generated batch is an input (the generator runs forward only):
//
//	y = f_θ(z); ℓ = loss(h_φ(x), h_φ(y)) [− λ·E(‖∇ₓ uᵀh_φ(x̂)‖ − 1)²]; φ ← opt_φ(φ, −∂ℓ/∂φ); clip φ
//
// then the generator's step runs through the critic's current features. The critic's
// parameters, optimizer state and random stream join the checkpoints. With
// adversarial.pretrain_steps the run first is the fixed-cost run (a second graph with
// the loss on the points, the critic idle) and then fine-tunes that generator with a
// fresh optimizer of its own (adversarial.finetune_optimizer).
//
// gorgonia's float32 matrix products run on internal/fastblas (an AVX-512 or AVX2 Sgemm) when
// the command has installed it: process-wide settings (that BLAS, GOMAXPROCS =
// Config.Threads) are the commands' (internal/process.Setup), not this package's.
// A run directory is locked (internal/filelock) while a trainer uses it.
package train
