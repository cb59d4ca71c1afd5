// Package parallel is the project's one fork-join loop and its one buffer pool.
//
// For splits [0,n) into at most GOMAXPROCS contiguous blocks and runs them on a pool
// of persistent worker goroutines, the caller being one of them; Phases runs a
// sequence of such loops with a barrier between them (an iterative solver's sweeps).
// The blocks depend only on n and GOMAXPROCS, and each block runs start to finish on
// one goroutine, so a body that writes per-block results (partial sums indexed by
// block) gives the same bits on every run with the same GOMAXPROCS, whichever
// goroutine ran which block. Small work runs inline: a hand-off costs microseconds.
//
// Only one loop uses the workers at a time. A loop started while another holds them
// (a concurrent caller, or a body that itself calls For) runs all its blocks, in
// order, on its own goroutine: nested loops are safe and give the same blocks.
//
// Float32 and Float64 recycle the large scratch slices (kernels, Gram matrices,
// im2col buffers) between calls, one sync.Pool per length: a fresh allocation is
// zeroed by the runtime, which for a buffer that is overwritten anyway costs as much
// as filling it.
package parallel
