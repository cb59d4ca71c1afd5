package ot

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The unrolled solver's iterations are short sweeps (a 256×256 kernel is a few
// microseconds per core) separated by reductions over the columns. Starting goroutines
// for every sweep, as parallelRange does, costs about as much as the sweep itself.
// runPhases instead starts its workers once for all L iterations; they claim the
// blocks of each phase in turn, so that a worker whose thread is not running (a busy
// machine) holds nobody up: the others take its blocks, as parallelRange's caller
// takes over a goroutine that has not started.

// teamSize is how many blocks rows×width work is split into: parallelRange's choice,
// so that the row blocks, and with them every sum, are the same as there.
func teamSize(rows, width int) int {
	w := min(runtime.GOMAXPROCS(0), rows)
	if w <= 1 || rows*width < parallelMinWork {
		return 1
	}
	return w
}

// blockOf returns block b of [0, n) split into nb contiguous blocks (parallelRange's
// split; the last blocks may be empty).
func blockOf(n, nb, b int) (lo, hi int) {
	step := (n + nb - 1) / nb
	return min(b*step, n), min((b+1)*step, n)
}

// phaseSpins is how many times a worker polls for the end of a phase before it sleeps
// (a few microseconds: the usual wait when every worker has a core).
const phaseSpins = 4000

// runPhases calls body(phase, block) for every phase in 0…phases−1 and block in
// 0…blocks−1, each phase's blocks only after all blocks of the phase before have
// returned, on up to blocks goroutines (the caller one of them).
func runPhases(phases, blocks int, body func(phase, block int)) {
	if blocks <= 1 {
		for ph := range phases {
			body(ph, 0)
		}
		return
	}
	var (
		next, done atomic.Int64
		sleepers   atomic.Int32
		mu         sync.Mutex
		cond       = sync.NewCond(&mu)
	)
	total := int64(phases * blocks)
	work := func() {
		for {
			t := next.Add(1) - 1
			if t >= total {
				return
			}
			start := t - t%int64(blocks) // the phase's first task: all before it must be done
			if done.Load() < start {
				spins := 0
				for done.Load() < start && spins < phaseSpins {
					spins++
				}
				if done.Load() < start {
					mu.Lock()
					sleepers.Add(1)
					for done.Load() < start {
						cond.Wait()
					}
					sleepers.Add(-1)
					mu.Unlock()
				}
			}
			body(int(t/int64(blocks)), int(t%int64(blocks)))
			// The phase's last block wakes the sleepers. done moves before sleepers is
			// read, so a sleeper either is seen here or sees the new count.
			if d := done.Add(1); d%int64(blocks) == 0 && sleepers.Load() > 0 {
				mu.Lock()
				cond.Broadcast()
				mu.Unlock()
			}
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < blocks; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}
