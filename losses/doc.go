// Package losses is the differentiable face of package ot for gorgonia graphs: custom
// Ops whose forward runs the Sinkhorn kernels of ot and whose backward is either the
// exact reverse-mode adjoint of the L unrolled iterations (Genevay, Peyré, Cuturi,
// AISTATS 2018) or the envelope gradient at the final potentials. ε schedules live here.
//
// Status: the Ops arrive with the unrolled-loss issue; the package now only checks that
// gorgonia initialises on this toolchain.
package losses
