// Package process makes the process-wide settings of the commands: the number of
// threads and gorgonia's BLAS. Libraries leave both alone; each command calls Setup
// once it knows its thread count, and so do the tests that train networks.
package process

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	G "gorgonia.org/gorgonia"

	"github.com/sinkgen/sinkgen/internal/fastblas"
)

var (
	installed   atomic.Bool
	useFastBLAS = sync.OnceFunc(func() { G.Use(fastblas.Implementation{}); installed.Store(true) })
)

// BLAS names the float32 matrix product gorgonia runs, for run logs: fastblas's
// active path (avx512, avx2 or purego, see fastblas.EnvKernel) once Setup has run,
// gorgonia's default before.
func BLAS() string {
	if !installed.Load() {
		return "gorgonia's default"
	}
	p, err := fastblas.Active()
	if err != nil {
		return fmt.Sprintf("fastblas %v (%v)", p, err)
	}
	return "fastblas " + p.String()
}

// Setup makes gorgonia's float32 matrix products those of package fastblas (AVX-512
// or AVX2 kernels chosen at run time, deterministic; gonum's without them) and sets GOMAXPROCS to threads (0:
// leaves it, all CPUs unless the GOMAXPROCS variable says otherwise).
func Setup(threads int) {
	useFastBLAS()
	if threads > 0 {
		runtime.GOMAXPROCS(threads)
	}
}
