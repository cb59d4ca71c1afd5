// Package fastblas holds the project's matrix products: a BLAS for gorgonia whose
// single-precision product (Sgemm) runs a register-tiled assembly kernel (every other
// routine is gonum's), Gram (x·xᵀ from the upper triangle's tiles), ot's float64
// product DgemmNT (C = A·Bᵀ in 3×4 register tiles) with the vector kernels Dot and
// Axpy, and the mixed-precision Dot32, Axpy32 and Axpy32x4 (float32 rows, float64
// vectors and sums) of ot's sweeps over a float32 kernel matrix.
//
// gorgonia's float32 matrix products (the generator's dense layers, their gradients,
// convolutions after im2col) all go through Sgemm, which in gonum's pure-Go BLAS runs
// at roughly 15 GFLOPS on two cores and then dominates a training step.
// Implementation.Sgemm computes C = α·op(A)·op(B) + β·C by the GotoBLAS/BLIS scheme:
// op(B) is packed into column panels of nr and op(A) into row panels of mr, k in
// blocks of at most 256, and an mr×nr micro-kernel keeps the tile in registers.
// Columns (or rows, for tall thin products) are split between CPUs by
// internal/parallel.
//
// # Paths
//
// The kernels run on one of three paths (Path), chosen at start-up from the CPU's
// features (golang.org/x/sys/cpu):
//
//   - avx512 (AVX-512F): a 12×32 Sgemm tile in 24 ZMM accumulators, each k step one
//     load of 32 values of B and 12 broadcasts of A fused into the multiply-adds;
//     8-lane Dot, Axpy, Dot32, Axpy32 and DgemmNT tiles.
//   - avx2 (AVX2 and FMA): a 6×16 tile in 12 YMM accumulators; 4-lane Dot, Axpy,
//     Dot32, Axpy32 and DgemmNT's 3×4 tiles.
//   - purego (every machine, and builds with the purego tag): gonum's Sgemm, Dgemm
//     and vector loops.
//
// The environment variable SINKGEN_KERNEL=purego|avx2|avx512, read once at start-up,
// forces a path; a value that is not one of these or that the machine lacks is
// ignored, with the reason in Active's error. SetPath switches the path in tests and
// benchmarks, which loop over Paths so that every path is tested on the same inputs
// (go test runs all those the machine has).
//
// Every entry of C is accumulated in the same order whatever the split, so on each
// path the result depends neither on the number of goroutines nor on where a tile
// falls: training is bit-for-bit reproducible across resumptions. Between paths: avx2
// and avx512 run the same chain of fused multiply-adds for each entry over the same k
// blocks and give the same bits for β ∈ {0, 1} (every call in ot and gorgonia), within
// one float32 rounding otherwise; purego rounds each product separately, within the
// float32 accumulation bound of about √k·2⁻²⁴·Σ|a_ik b_kj|. Dot differs between paths
// by the order of its partial sums, within 2n·2⁻⁵³·Σ|x_i y_i| (so do Dot32 and
// DgemmNT's entries); Axpy and Axpy32 by at most one rounding of each entry (the
// assembly fuses the multiply-add). TestPathsAgree, TestDot32Axpy32 and TestDgemmNT
// check these bounds.
//
// Products below about 2^15 multiply-adds, and thin ones (fewer than nr/2 columns or
// mr/2 rows), also go to gonum, where packing would cost more than it saves.
// SgemmSerial runs on the calling goroutine only, for callers that parallelize over
// many small products themselves.
//
// Use installs it: gorgonia.Use(fastblas.Implementation{}).
package fastblas
