package ot

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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
// or runs body(0, 0, n) inline when the work (n rows of width entries) is small.
// body receives its block index so it can use per-block scratch.
//
// The blocks depend only on n and GOMAXPROCS, and each block runs start to finish on
// one goroutine, so a body that writes per-block results gives the same bits on every
// run with the same GOMAXPROCS, whichever goroutine happened to run which block.
func parallelRange(n, width int, body func(block, lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 || n*width < parallelMinWork {
		body(0, 0, n)
		return
	}
	step := (n + workers - 1) / workers
	blocks := (n + step - 1) / step
	if blocks <= 1 {
		body(0, 0, n)
		return
	}
	j := &rangeJob{body: body, n: n, step: step, blocks: int32(blocks)}
	j.next.Store(1) // block 0 is the caller's
	if !rangeTeam.current.CompareAndSwap(nil, j) {
		// Another call (a concurrent caller, or the body of an enclosing call) holds
		// the workers: run every block here, in order.
		for b := 0; b < blocks; b++ {
			lo := b * step
			body(b, lo, min(lo+step, n))
		}
		return
	}
	defer rangeTeam.current.CompareAndSwap(j, nil)
	rangeTeam.wake(blocks - 1)
	body(0, 0, min(step, n))
	j.finish()
	// Blocks no worker has claimed yet are the caller's too: a worker that is slow to
	// wake never delays the sweep by more than the block it already started.
	j.work()
	rangeTeam.current.CompareAndSwap(j, nil)
	j.wait()
}

// numBlocks is how many blocks parallelRange may use.
func numBlocks() int { return max(1, runtime.GOMAXPROCS(0)) }

// rangeJob is one parallelRange call: blocks are claimed by an atomic counter, by the
// caller and by whichever workers are awake.
type rangeJob struct {
	body         func(block, lo, hi int)
	n, step      int
	blocks       int32
	next, done   atomic.Int32
	callerParked atomic.Pointer[chan struct{}]
}

// work runs blocks until none is left to claim.
func (j *rangeJob) work() {
	for {
		b := int(j.next.Add(1) - 1)
		if b >= int(j.blocks) {
			return
		}
		lo := b * j.step
		j.body(b, lo, min(lo+j.step, j.n))
		j.finish()
	}
}

// finish counts one block done and wakes the caller if it sleeps on the last one.
func (j *rangeJob) finish() {
	if j.done.Add(1) == j.blocks {
		if c := j.callerParked.Load(); c != nil {
			close(*c)
		}
	}
}

// claimable reports that the job still has unclaimed blocks.
func (j *rangeJob) claimable() bool { return j.next.Load() < j.blocks }

// wait returns once every block is done: it spins while the last blocks are being
// computed, then sleeps if that takes long (a worker descheduled by the OS).
func (j *rangeJob) wait() {
	for i := 0; j.done.Load() != j.blocks; i++ {
		if i < spinChecks {
			continue
		}
		if i < spinChecks+spinYields {
			runtime.Gosched()
			continue
		}
		c := make(chan struct{})
		j.callerParked.Store(&c)
		if j.done.Load() != j.blocks {
			<-c
		}
		return
	}
}

const (
	// spinChecks is how many times a waiting goroutine polls before it yields.
	spinChecks = 64
	// spinYields is how many yields a caller waits for its last blocks before it sleeps.
	spinYields = 2000
	// workerSpin is how long an idle worker keeps polling for the next call before it
	// sleeps, unless held (holdWorkers). A polling worker occupies its processor: the
	// runtime does not move goroutines queued elsewhere to it, so the spin is short.
	workerSpin = 20 * time.Microsecond
)

// holdWorkers wakes the workers and keeps them polling, not sleeping, until
// releaseWorkers: for a solver about to make many parallelRange calls on rows×width
// work separated by short serial steps, so that no call waits for a wake-up. It does
// nothing (and returns false) when that work would not be split; call releaseWorkers
// only when it returns true.
func holdWorkers(rows, width int) bool {
	procs := runtime.GOMAXPROCS(0)
	if min(procs, rows) <= 1 || rows*width < parallelMinWork {
		return false
	}
	rangeTeam.holders.Add(1)
	rangeTeam.wake(procs - 1)
	return true
}

// releaseWorkers ends a holdWorkers.
func releaseWorkers() { rangeTeam.holders.Add(-1) }

// rangeTeam is the pool of persistent workers behind parallelRange.
var rangeTeam rangeWorkers

// rangeWorkers holds GOMAXPROCS−1 worker goroutines (the caller of parallelRange is
// the last), started on first use and never stopped. An idle worker polls for a job
// for workerSpin (or while held), yielding its processor between polls, then sleeps
// until a caller wakes it.
type rangeWorkers struct {
	current atomic.Pointer[rangeJob] // the call being served, if any
	holders atomic.Int32             // holdWorkers in effect
	mu      sync.Mutex               // serializes starting workers
	workers atomic.Pointer[[]*rangeWorker]
}

type rangeWorker struct {
	sleeping atomic.Bool
	wakeup   chan struct{} // capacity 1: at most one token per sleep
}

// wake makes sure at least k workers exist and wakes the first k if they sleep.
func (t *rangeWorkers) wake(k int) {
	ws := t.workers.Load()
	if ws == nil || len(*ws) < k {
		ws = t.grow(k)
	}
	for _, w := range (*ws)[:k] {
		if w.sleeping.CompareAndSwap(true, false) {
			w.wakeup <- struct{}{}
		}
	}
}

// grow starts workers until there are k.
func (t *rangeWorkers) grow(k int) *[]*rangeWorker {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ws []*rangeWorker
	if p := t.workers.Load(); p != nil {
		ws = *p
	}
	if len(ws) < k {
		ws = append(ws[:len(ws):len(ws)], make([]*rangeWorker, k-len(ws))...)
		for i := range ws {
			if ws[i] == nil {
				ws[i] = &rangeWorker{wakeup: make(chan struct{}, 1)}
				go ws[i].run(t)
			}
		}
		t.workers.Store(&ws)
	}
	return &ws
}

// run is a worker's life: serve jobs, poll for workerSpin after the last one, sleep.
func (w *rangeWorker) run(t *rangeWorkers) {
	for {
		idleSince := time.Now()
		for i := 1; ; i++ {
			if j := t.current.Load(); j != nil && j.claimable() {
				j.work()
				idleSince, i = time.Now(), 0
				continue
			}
			if i%spinChecks == 0 {
				if t.holders.Load() == 0 && time.Since(idleSince) > workerSpin {
					break
				}
				runtime.Gosched()
			}
		}
		w.sleeping.Store(true)
		if j := t.current.Load(); j != nil && j.claimable() {
			// A job came in while going to sleep: serve it, unless a caller has
			// already taken the flag, in which case its token must be consumed.
			if !w.sleeping.CompareAndSwap(true, false) {
				<-w.wakeup
			}
			continue
		}
		<-w.wakeup
	}
}
