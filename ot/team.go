package ot

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The unrolled solver's iterations are short sweeps (a 256×256 kernel is a few
// microseconds per core) separated by reductions over the columns. Starting goroutines
// for every sweep, as parallelRange does, costs about as much as the sweep itself; a
// team of workers that lives through all L iterations and meets at a spinning barrier
// does not.

// teamSize is how many workers share rows×width work: parallelRange's choice, so that
// the row blocks, and with them every sum, are the same as there.
func teamSize(rows, width int) int {
	w := min(runtime.GOMAXPROCS(0), rows)
	if w <= 1 || rows*width < parallelMinWork {
		return 1
	}
	return w
}

// blockOf returns worker w's part [lo, hi) of [0, n) split into nw contiguous blocks
// (parallelRange's split; the last blocks may be empty).
func blockOf(n, nw, w int) (lo, hi int) {
	step := (n + nw - 1) / nw
	return min(w*step, n), min((w+1)*step, n)
}

// barrier is a reusable spinning barrier for a team.
type barrier struct {
	n       int32
	arrived atomic.Int32
	phase   atomic.Uint32
}

// wait returns once every member of the team has called it (in the same phase).
func (b *barrier) wait() {
	if b.n <= 1 {
		return
	}
	ph := b.phase.Load()
	if b.arrived.Add(1) == b.n {
		b.arrived.Store(0)
		b.phase.Add(1)
		return
	}
	for spins := 0; b.phase.Load() == ph; spins++ {
		if spins >= 256 {
			runtime.Gosched() // a member may be waiting for a thread
		}
	}
}

// runTeam runs body(w, bar) for w = 0…nw−1, worker 0 on the calling goroutine, and
// returns when all are done.
func runTeam(nw int, body func(w int, bar *barrier)) {
	bar := &barrier{n: int32(max(nw, 1))}
	if nw <= 1 {
		body(0, bar)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < nw; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(w, bar)
		}()
	}
	body(0, bar)
	wg.Wait()
}
