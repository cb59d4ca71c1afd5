package parallel

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// withProcs runs f with GOMAXPROCS = procs.
func withProcs(t testing.TB, procs int, f func()) {
	t.Helper()
	old := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(old)
	f()
}

// blockSums runs a body through For that records every block and sums
// 1/(k+1) over each block's indices, an order-dependent float sum.
func blockSums(t *testing.T, n, width int) (sums []float64, ranges [][2]int) {
	t.Helper()
	var mu sync.Mutex
	sums = make([]float64, MaxBlocks())
	ranges = make([][2]int, MaxBlocks())
	seen := make([]int, n)
	For(n, width, func(blk, lo, hi int) {
		s := 0.0
		for k := lo; k < hi; k++ {
			s += 1 / float64(k+1)
			seen[k]++
		}
		sums[blk] = s
		mu.Lock()
		ranges[blk] = [2]int{lo, hi}
		mu.Unlock()
	})
	for k, c := range seen {
		if c != 1 {
			t.Fatalf("n=%d: index %d visited %d times", n, k, c)
		}
	}
	return sums, ranges
}

// TestForBlocks checks that For covers [0,n) once, in the fixed
// contiguous blocks of ⌈n/GOMAXPROCS⌉ rows, with the same bits as running those blocks
// in order on one goroutine, on every repetition, for several GOMAXPROCS.
func TestForBlocks(t *testing.T) {
	for _, procs := range []int{1, 2, 3, 8} {
		withProcs(t, procs, func() {
			for _, n := range []int{1, 2, 3, 7, 64, 100, 1000, 4097} {
				width := MinWork // always parallel when procs > 1
				want := make([]float64, MaxBlocks())
				var wantRanges [][2]int
				if procs == 1 {
					wantRanges = [][2]int{{0, n}}
				} else {
					step := (n + min(procs, n) - 1) / min(procs, n)
					for lo := 0; lo < n; lo += step {
						wantRanges = append(wantRanges, [2]int{lo, min(lo+step, n)})
					}
				}
				for blk, r := range wantRanges {
					for k := r[0]; k < r[1]; k++ {
						want[blk] += 1 / float64(k+1)
					}
				}
				for rep := 0; rep < 50; rep++ {
					sums, ranges := blockSums(t, n, width)
					if !slices.Equal(ranges[:len(wantRanges)], wantRanges) {
						t.Fatalf("procs=%d n=%d: blocks %v, want %v", procs, n, ranges, wantRanges)
					}
					for blk := range sums {
						if math.Float64bits(sums[blk]) != math.Float64bits(want[blk]) {
							t.Fatalf("procs=%d n=%d rep %d: block %d sum %v, serial %v", procs, n, rep, blk, sums[blk], want[blk])
						}
					}
				}
			}
		})
	}
}

// TestForSmallInline checks that small work runs as one inline block.
func TestForSmallInline(t *testing.T) {
	withProcs(t, 4, func() {
		calls := 0
		For(100, 10, func(blk, lo, hi int) {
			calls++
			if blk != 0 || lo != 0 || hi != 100 {
				t.Errorf("got block %d [%d,%d), want 0 [0,100)", blk, lo, hi)
			}
		})
		if calls != 1 {
			t.Fatalf("%d calls, want 1", calls)
		}
	})
}

// TestForConcurrentAndNested runs For from several goroutines at
// once, with bodies that call For themselves: every call must still cover
// its range exactly once and return only when all its blocks are done.
func TestForConcurrentAndNested(t *testing.T) {
	withProcs(t, 4, func() {
		var wg sync.WaitGroup
		errs := make(chan string, 16)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for rep := 0; rep < 200; rep++ {
					n := 50 + rep
					hits := make([]int32, n)
					For(n, MinWork, func(_, lo, hi int) {
						for k := lo; k < hi; k++ {
							inner := make([]int32, 8)
							For(8, MinWork, func(_, lo, hi int) {
								for q := lo; q < hi; q++ {
									inner[q]++
								}
							})
							for _, c := range inner {
								if c != 1 {
									errs <- "nested call missed or repeated an index"
									return
								}
							}
							hits[k]++
						}
					})
					for k, c := range hits {
						if c != 1 {
							errs <- "index visited other than once"
							_ = k
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
	})
}

// TestForWorkersSleepAndWake lets the workers go to sleep between calls
// and checks that the next calls are still served, by the workers again.
func TestForWorkersSleepAndWake(t *testing.T) {
	withProcs(t, 2, func() {
		for rep := 0; rep < 5; rep++ {
			time.Sleep(2 * workerSpin)
			var ran [2]bool
			For(2, MinWork, func(blk, lo, hi int) {
				if blk == 1 {
					// Give a sleeping worker time to wake and claim a block of its own
					// (the caller would otherwise run it); only correctness is checked.
					time.Sleep(time.Millisecond)
				}
				ran[blk] = true
			})
			if !ran[0] || !ran[1] {
				t.Fatalf("rep %d: blocks run %v", rep, ran)
			}
		}
	})
}

// TestForNoLeak checks that the worker goroutines are a fixed pool: many
// calls, at several GOMAXPROCS, start at most max(GOMAXPROCS)−1 goroutines in all.
func TestForNoLeak(t *testing.T) {
	run := func(procs int) {
		withProcs(t, procs, func() {
			for rep := 0; rep < 300; rep++ {
				For(64, MinWork, func(_, _, _ int) {})
			}
		})
	}
	run(4) // the pool may grow to 3 workers here
	before := runtime.NumGoroutine()
	for _, procs := range []int{1, 2, 3, 4, 2} {
		run(procs)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines: %d before, %d after", before, after)
	}
	if ws := team.all.Load(); ws == nil || len(*ws) > runtime.NumCPU()+8 {
		t.Fatalf("worker pool not bounded")
	}
}

// TestHold checks that held workers stay awake past workerSpin, that they go
// to sleep once released, and that small work or one thread holds nothing.
func TestHold(t *testing.T) {
	withProcs(t, 1, func() {
		if Hold(1000, 1000) {
			t.Fatal("held with GOMAXPROCS = 1")
		}
	})
	withProcs(t, 2, func() {
		if Hold(10, 10) {
			t.Fatal("held for small work")
		}
		For(2, MinWork, func(_, _, _ int) {}) // the pool exists
		awake := func() bool {
			for _, w := range (*team.all.Load())[:1] { // GOMAXPROCS − 1 held
				if w.sleeping.Load() {
					return false
				}
			}
			return true
		}
		if !Hold(1000, 1000) {
			t.Fatal("not held")
		}
		for range 5 {
			time.Sleep(3 * workerSpin)
			if !awake() {
				Release()
				t.Fatal("a held worker went to sleep")
			}
		}
		Release()
		deadline := time.Now().Add(2 * time.Second)
		for awake() {
			if time.Now().After(deadline) {
				t.Fatal("released workers did not go to sleep")
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// TestPhases checks the barrier: every block of a phase sees every write of the phase
// before, every (phase, block) runs once, and nested or concurrent Phases calls (which
// run inline) do too.
func TestPhases(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		withProcs(t, procs, func() {
			var wg sync.WaitGroup
			errs := make(chan string, 8)
			for g := 0; g < 3; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					const phases, blocks = 40, 5
					val := make([]atomic.Int32, blocks) // val[b] = phases block b has completed
					Phases(phases, blocks, func(ph, b int) {
						for o := range val {
							// Blocks of this phase may have moved on; none may lag.
							if v := int(val[o].Load()); v < ph || v > ph+1 {
								errs <- "a block ran before the phase before had finished"
								return
							}
						}
						inner := make([]int, 3)
						Phases(2, 3, func(_, q int) { inner[q]++ })
						if inner[0] != 2 || inner[1] != 2 || inner[2] != 2 {
							errs <- "nested Phases missed or repeated a block"
						}
						val[b].Add(1)
					})
					for b := range val {
						if val[b].Load() != phases {
							errs <- "a block ran other than once per phase"
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Fatalf("procs=%d: %s", procs, e)
			}
		})
	}
}

// TestBlock checks Block against the blocks For uses, and that they tile [0,n).
func TestBlock(t *testing.T) {
	for _, n := range []int{0, 1, 5, 7, 64, 1001} {
		for nb := 1; nb <= 9; nb++ {
			next := 0
			for b := range nb {
				lo, hi := Block(n, nb, b)
				if lo != next || hi < lo || hi-lo > (n+nb-1)/nb {
					t.Fatalf("n=%d nb=%d: block %d is [%d,%d) after %d", n, nb, b, lo, hi, next)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("n=%d nb=%d: blocks end at %d", n, nb, next)
			}
		}
	}
}

// TestPool checks that Get returns the requested length and recycles a Put slice of
// that length, and that slices of another length are not handed out.
func TestPool(t *testing.T) {
	var p Pool[float64]
	if b := p.Get(7); len(b) != 7 {
		t.Fatalf("Get(7) has length %d", len(b))
	}
	p.Put(nil) // ignored
	p.Put(make([]float64, 5))
	for range 100 {
		if b := p.Get(6); len(b) != 6 {
			t.Fatalf("Get(6) has length %d", len(b))
		}
	}
	b := make([]float64, 9, 20)
	p.Put(b)
	if got := p.Get(9); len(got) != 9 {
		t.Fatalf("Get(9) has length %d", len(got))
	}
	if got := Float32.Get(3); len(got) != 3 {
		t.Fatalf("Float32.Get(3) has length %d", len(got))
	}
}

// TestNoAllocs checks that For, Phases and a Get/Put round trip of the pool allocate
// nothing once warm: they run in every step of a solver.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	withProcs(t, 2, func() {
		sums := make([]float64, MaxBlocks())
		forBody := func(blk, lo, hi int) { sums[blk] += float64(hi - lo) }
		phaseBody := func(ph, b int) { sums[b] += float64(ph) }
		var p Pool[float32]
		p.Put(p.Get(100))
		for name, f := range map[string]func(){
			"For":     func() { For(1000, MinWork, forBody) },
			"Phases":  func() { Phases(3, 2, phaseBody) },
			"Get/Put": func() { p.Put(p.Get(100)) },
		} {
			if a := testing.AllocsPerRun(200, f); a != 0 {
				t.Errorf("%s: %v allocations per call, want 0", name, a)
			}
		}
	})
}
