// Package fastblas holds the project's matrix products: a BLAS for gorgonia whose
// single-precision product (Sgemm) runs a register-tiled AVX2+FMA kernel (every other
// routine is gonum's), and ot's float64 product DgemmNT (C = A·Bᵀ in 3×4 register
// tiles) with the vector kernels Dot and Axpy it is built from.
//
// gorgonia's float32 matrix products (the generator's dense layers, their gradients,
// convolutions after im2col) all go through Sgemm, which in gonum's pure-Go BLAS runs
// at roughly 15 GFLOPS on two cores and then dominates a training step.
// Implementation.Sgemm computes C = α·op(A)·op(B) + β·C by the GotoBLAS/BLIS scheme:
// op(B) is packed into column panels of 16 and op(A) into row panels of 6, k in
// blocks of at most 256, and a 6×16 micro-kernel keeps twelve 8-lane accumulators in
// YMM registers (one broadcast of A feeds two fused multiply-adds). Columns (or rows,
// for tall thin products) are split between CPUs by internal/parallel.
//
// Every entry of C is accumulated in the same order whatever the split, so the result
// depends neither on the number of goroutines nor on where a tile falls: training is
// bit-for-bit reproducible across resumptions.
//
// Without AVX2 and FMA (golang.org/x/sys/cpu), on other architectures, or when built
// with the purego tag, Sgemm and DgemmNT are gonum's. Products below about 2^15
// multiply-adds, and thin ones (fewer than 8 columns or 3 rows), also go to gonum,
// where packing would cost more than it saves. SgemmSerial runs on the calling
// goroutine only, for callers that parallelize over many small products themselves.
//
// Use installs it: gorgonia.Use(fastblas.Implementation{}).
package fastblas
