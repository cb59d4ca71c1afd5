package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// MinWork is the amount of work (n indices times their cost, in the caller's units,
// about one multiply-add each) below which For runs inline: under it the hand-off
// costs more than it saves.
const MinWork = 1 << 16

// MaxBlocks is an upper bound on the number of blocks For and Phases use, for sizing
// per-block results.
func MaxBlocks() int { return max(1, runtime.GOMAXPROCS(0)) }

// Blocks is how many blocks n indices of the given cost each are split into: 1 when
// the work is below MinWork, else one per CPU (at most n).
func Blocks(n, cost int) int {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 || n*cost < MinWork {
		return 1
	}
	return w
}

// Block returns block b of [0,n) split into nb contiguous blocks of ⌈n/nb⌉ indices
// (the last ones may be short or empty).
func Block(n, nb, b int) (lo, hi int) {
	step := (n + nb - 1) / nb
	return min(b*step, n), min((b+1)*step, n)
}

// For calls body(block, lo, hi) on the blocks of [0,n) that Blocks(n, cost) and Block
// define, skipping empty ones, and returns when all have returned. The bodies run
// concurrently; body receives its block index so that it can use per-block scratch.
func For(n, cost int, body func(block, lo, hi int)) {
	nb := Blocks(n, cost)
	if nb <= 1 {
		body(0, 0, n)
		return
	}
	step := (n + nb - 1) / nb
	j := getJob()
	j.forBody, j.n, j.step = body, n, step
	run(j, (n+step-1)/step)
	putJob(j)
}

// Phases calls body(phase, block) for every phase in 0…phases−1 and block in
// 0…blocks−1, a phase's blocks only after every block of the phase before has
// returned. Each phase is one run of the workers: they are still polling from the
// phase before when the next one starts, so it starts without waking anyone.
func Phases(phases, blocks int, body func(phase, block int)) {
	if blocks <= 1 {
		for ph := range phases {
			body(ph, 0)
		}
		return
	}
	j := getJob()
	j.phaseBody = body
	for ph := range phases {
		j.phase = ph
		run(j, blocks)
	}
	putJob(j)
}

// Hold wakes the workers and keeps them polling, not sleeping, until Release: for a
// solver about to make many For calls on n indices of the given cost separated by
// short serial steps, so that no call waits for a wake-up. It does nothing (and
// returns false) when that work would not be split; call Release only when it
// returns true.
func Hold(n, cost int) bool {
	if Blocks(n, cost) <= 1 {
		return false
	}
	team.holders.Add(1)
	team.wake(runtime.GOMAXPROCS(0) - 1)
	return true
}

// Release ends a Hold.
func Release() { team.holders.Add(-1) }

// run calls j.call(b) for b in [0,blocks) on the caller and the workers, or on the
// caller alone, in order, when another run holds the workers.
func run(j *job, blocks int) {
	if blocks >= 1<<31 {
		panic("parallel: too many blocks")
	}
	j.blocks = int32(blocks)
	j.gen++
	j.done.Store(0)
	j.callerParked.Store(nil)
	// Nothing is claimable until the workers are ours: a worker still holding j from
	// an earlier run must not take a block the caller runs inline.
	j.state.Store(uint64(blocks)<<32 | uint64(blocks))
	if !team.current.CompareAndSwap(nil, j) {
		for b := range blocks {
			j.call(b)
		}
		return
	}
	// Publishing the claim state last orders the fields above before any claim.
	j.state.Store(uint64(blocks)<<32 | 1) // block 0 is the caller's
	defer team.current.CompareAndSwap(j, nil)
	team.wake(blocks - 1)
	j.call(0)
	j.finish()
	// Blocks no worker has claimed yet are the caller's too: a worker that is slow to
	// wake never delays the loop by more than the block it already started.
	j.work()
	team.current.CompareAndSwap(j, nil)
	j.wait()
}

// job is one For or Phases call, reused (through jobs) by later calls so that a
// step of a solver allocates nothing. Blocks are claimed from state, which packs the
// run's block count (high 32 bits) with the next unclaimed block (low 32 bits): a
// worker still holding a job from an earlier run claims either nothing (the count it
// reads is used up) or a real block of the run in progress, never a mix of two runs,
// and reads the body only after a successful claim.
type job struct {
	forBody   func(block, lo, hi int) // For's body, with n and step
	n, step   int
	phaseBody func(phase, block int) // Phases' body, with the current phase
	phase     int

	blocks       int32
	gen          uint64 // counts runs, to tell a run's parked caller from a later one's
	state        atomic.Uint64
	done         atomic.Int32
	callerParked atomic.Pointer[parking]
}

// parking is a caller asleep on the last blocks of run gen.
type parking struct {
	gen  uint64
	wake chan struct{}
}

// jobs recycles jobs. A pointer goes into a sync.Pool without an allocation.
var jobs = sync.Pool{New: func() any { return new(job) }}

func getJob() *job { return jobs.Get().(*job) }

// putJob drops the body references (so the pool keeps no caller data alive) and
// recycles j. Workers may still hold j; by the claim state they cannot use it until
// its next run.
func putJob(j *job) {
	j.forBody, j.phaseBody = nil, nil
	jobs.Put(j)
}

// call runs block b.
func (j *job) call(b int) {
	if j.forBody != nil {
		lo := b * j.step
		j.forBody(b, lo, min(lo+j.step, j.n))
		return
	}
	j.phaseBody(j.phase, b)
}

// work runs blocks until none is left to claim.
func (j *job) work() {
	for {
		s := j.state.Add(1) - 1
		if uint32(s) >= uint32(s>>32) {
			return
		}
		j.call(int(uint32(s)))
		j.finish()
	}
}

// finish counts one block done and wakes the caller if it sleeps on the last one.
func (j *job) finish() {
	// The run's fields are read before the count: once it reaches blocks, the caller
	// may start the next run on j. A stale parking (of an earlier run) is skipped by gen.
	blocks, gen := j.blocks, j.gen
	if j.done.Add(1) == blocks {
		if p := j.callerParked.Load(); p != nil && p.gen == gen {
			close(p.wake)
		}
	}
}

// claimable reports that the job still has unclaimed blocks.
func (j *job) claimable() bool {
	s := j.state.Load()
	return uint32(s) < uint32(s>>32)
}

// wait returns once every block is done: it spins while the last blocks are being
// computed, yields, then sleeps if that takes long (a worker descheduled by the OS).
func (j *job) wait() {
	for i := 0; j.done.Load() != j.blocks; i++ {
		if i < spinChecks {
			continue
		}
		if i < spinChecks+spinYields {
			runtime.Gosched()
			continue
		}
		p := &parking{gen: j.gen, wake: make(chan struct{})}
		j.callerParked.Store(p)
		if j.done.Load() != j.blocks {
			<-p.wake
		}
		return
	}
}

const (
	// spinChecks is how many times a waiting goroutine polls before it yields.
	spinChecks = 64
	// spinYields is how many yields a caller waits for its last blocks before it sleeps.
	spinYields = 2000
	// workerSpin is how long an idle worker keeps polling for the next job before it
	// sleeps, unless held. A polling worker occupies its processor: the runtime does
	// not move goroutines queued elsewhere to it, so the spin is short.
	workerSpin = 20 * time.Microsecond
)

// team is the pool of persistent workers behind run.
var team workers

// workers holds GOMAXPROCS−1 worker goroutines (the caller of run is the last),
// started on first use and never stopped. An idle worker polls for a job for
// workerSpin (or while held), yielding its processor between polls, then sleeps until
// a caller wakes it.
type workers struct {
	current atomic.Pointer[job] // the run being served, if any
	holders atomic.Int32        // Holds in effect
	mu      sync.Mutex          // serializes starting workers
	all     atomic.Pointer[[]*worker]
}

type worker struct {
	sleeping atomic.Bool
	wakeup   chan struct{} // capacity 1: at most one token per sleep
}

// wake makes sure at least k workers exist and wakes the first k if they sleep.
func (t *workers) wake(k int) {
	ws := t.all.Load()
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
func (t *workers) grow(k int) *[]*worker {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ws []*worker
	if p := t.all.Load(); p != nil {
		ws = *p
	}
	if len(ws) < k {
		ws = append(ws[:len(ws):len(ws)], make([]*worker, k-len(ws))...)
		for i := range ws {
			if ws[i] == nil {
				ws[i] = &worker{wakeup: make(chan struct{}, 1)}
				go ws[i].run(t)
			}
		}
		t.all.Store(&ws)
	}
	return &ws
}

// run is a worker's life: serve jobs, poll for workerSpin after the last one, sleep.
func (w *worker) run(t *workers) {
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
