package ot

import (
	"runtime"
	"sync"
)

// scratchPool recycles the large n×m buffers (scaling-domain kernels) between solves,
// as gonum's mat does for its workspaces: Go zeroes every fresh allocation, which for
// a kernel that is overwritten anyway costs as much as a Sinkhorn iteration.
var scratchPool sync.Pool

// getScratch returns a buffer of length n with arbitrary contents.
func getScratch(n int) []float64 {
	if p, ok := scratchPool.Get().(*[]float64); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float64, n)
}

// putScratch hands a buffer from getScratch back for reuse.
func putScratch(b []float64) { scratchPool.Put(&b) }

// parallelMinWork is the number of kernel entries below which a sweep runs on one
// goroutine: under it the hand-off costs more than it saves.
const parallelMinWork = 1 << 16

// parallelRange splits [0,n) into one contiguous block per CPU and runs body on each,
// or runs body(0, n) inline when the work (n rows of width entries) is small.
// body receives its block index so it can use per-block scratch.
func parallelRange(n, width int, body func(block, lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 || n*width < parallelMinWork {
		body(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	step := (n + workers - 1) / workers
	for w := 1; w < workers; w++ {
		lo, hi := w*step, min((w+1)*step, n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(w, lo, hi int) {
			defer wg.Done()
			body(w, lo, hi)
		}(w, lo, hi)
	}
	body(0, 0, min(step, n)) // the caller takes the first block: one hand-off fewer
	wg.Wait()
}

// numBlocks is how many blocks parallelRange may use.
func numBlocks() int { return max(1, runtime.GOMAXPROCS(0)) }
