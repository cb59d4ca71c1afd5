package ot

import "sync"

// f64Pools recycles the n×m matrices of the unrolled solver (cost matrices and kernels,
// adjoints ∂/∂C, the low-rank factors of the scaling-domain adjoint) between training
// steps, one pool per length: a fresh allocation is zeroed by the runtime, which for
// a matrix that is overwritten anyway costs as much as filling it.
var f64Pools sync.Map // int → *sync.Pool

// getF64 returns a slice of length n with arbitrary contents.
func getF64(n int) []float64 {
	if p, ok := f64Pools.Load(n); ok {
		if b, ok := p.(*sync.Pool).Get().(*[]float64); ok {
			return *b
		}
	}
	return make([]float64, n)
}

// putF64 hands a slice back for getF64(len(b)); nil is ignored.
func putF64(b []float64) {
	if len(b) == 0 {
		return
	}
	p, ok := f64Pools.Load(len(b))
	if !ok {
		p, _ = f64Pools.LoadOrStore(len(b), new(sync.Pool))
	}
	p.(*sync.Pool).Put(&b)
}
