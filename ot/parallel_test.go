package ot

import (
	"math"
	"runtime"
	"slices"
	"sync"
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

// blockSums runs a body through parallelRange that records every block and sums
// 1/(k+1) over each block's indices, an order-dependent float sum.
func blockSums(t *testing.T, n, width int) (sums []float64, ranges [][2]int) {
	t.Helper()
	var mu sync.Mutex
	sums = make([]float64, numBlocks())
	ranges = make([][2]int, numBlocks())
	seen := make([]int, n)
	parallelRange(n, width, func(blk, lo, hi int) {
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

// TestParallelRangeBlocks checks that parallelRange covers [0,n) once, in the fixed
// contiguous blocks of ⌈n/GOMAXPROCS⌉ rows, with the same bits as running those blocks
// in order on one goroutine, on every repetition, for several GOMAXPROCS.
func TestParallelRangeBlocks(t *testing.T) {
	for _, procs := range []int{1, 2, 3, 8} {
		withProcs(t, procs, func() {
			for _, n := range []int{1, 2, 3, 7, 64, 100, 1000, 4097} {
				width := parallelMinWork // always parallel when procs > 1
				want := make([]float64, numBlocks())
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

// TestParallelRangeSmallInline checks that small work runs as one inline block.
func TestParallelRangeSmallInline(t *testing.T) {
	withProcs(t, 4, func() {
		calls := 0
		parallelRange(100, 10, func(blk, lo, hi int) {
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

// TestParallelRangeConcurrentAndNested runs parallelRange from several goroutines at
// once, with bodies that call parallelRange themselves: every call must still cover
// its range exactly once and return only when all its blocks are done.
func TestParallelRangeConcurrentAndNested(t *testing.T) {
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
					parallelRange(n, parallelMinWork, func(_, lo, hi int) {
						for k := lo; k < hi; k++ {
							inner := make([]int32, 8)
							parallelRange(8, parallelMinWork, func(_, lo, hi int) {
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

// TestParallelRangeWorkersSleepAndWake lets the workers go to sleep between calls
// and checks that the next calls are still served, by the workers again.
func TestParallelRangeWorkersSleepAndWake(t *testing.T) {
	withProcs(t, 2, func() {
		for rep := 0; rep < 5; rep++ {
			time.Sleep(2 * workerSpin)
			var ran [2]bool
			parallelRange(2, parallelMinWork, func(blk, lo, hi int) {
				if blk == 1 {
					// Give a sleeping rangeWorker time to wake and claim a block of its own
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

// TestParallelRangeNoLeak checks that the rangeWorker goroutines are a fixed pool: many
// calls, at several GOMAXPROCS, start at most max(GOMAXPROCS)−1 goroutines in all.
func TestParallelRangeNoLeak(t *testing.T) {
	run := func(procs int) {
		withProcs(t, procs, func() {
			for rep := 0; rep < 300; rep++ {
				parallelRange(64, parallelMinWork, func(_, _, _ int) {})
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
	if ws := rangeTeam.workers.Load(); ws == nil || len(*ws) > runtime.NumCPU()+8 {
		t.Fatalf("rangeWorker pool not bounded")
	}
}

// TestStabilizedDeterministic checks that repeated stabilized solves give identical
// bits with 2 threads, and with GOMAXPROCS = 1 (where the pool is not used).
func TestStabilizedDeterministic(t *testing.T) {
	a, b, C := seedBenchProblem(300) // 300² entries: parallel sweeps
	for _, procs := range []int{1, 2, 3} {
		withProcs(t, procs, func() {
			var first *SinkhornResult
			for rep := 0; rep < 10; rep++ {
				res, err := Sinkhorn(a, b, C, 0.02, &SinkhornOptions{Method: Stabilized, Tol: 1e-6, ErrorNorm: 2})
				if err != nil {
					t.Fatal(err)
				}
				if first == nil {
					first = res
					if !res.Converged || res.Iterations < 10 {
						t.Fatalf("procs=%d: converged %v after %d iterations", procs, res.Converged, res.Iterations)
					}
					continue
				}
				same := res.Iterations == first.Iterations &&
					math.Float64bits(res.Cost) == math.Float64bits(first.Cost) &&
					math.Float64bits(res.MarginalError) == math.Float64bits(first.MarginalError)
				for i := range res.F {
					same = same && math.Float64bits(res.F[i]) == math.Float64bits(first.F[i])
				}
				for j := range res.G {
					same = same && math.Float64bits(res.G[j]) == math.Float64bits(first.G[j])
				}
				if !same {
					t.Fatalf("procs=%d rep %d: result differs from the first run", procs, rep)
				}
			}
		})
	}
}

// TestHoldWorkers checks that held workers stay awake past workerSpin, that they go
// to sleep once released, and that small work or one thread holds nothing.
func TestHoldWorkers(t *testing.T) {
	withProcs(t, 1, func() {
		if holdWorkers(1000, 1000) {
			t.Fatal("held with GOMAXPROCS = 1")
		}
	})
	withProcs(t, 2, func() {
		if holdWorkers(10, 10) {
			t.Fatal("held for small work")
		}
		parallelRange(2, parallelMinWork, func(_, _, _ int) {}) // the pool exists
		awake := func() bool {
			for _, w := range (*rangeTeam.workers.Load())[:1] { // GOMAXPROCS − 1 held
				if w.sleeping.Load() {
					return false
				}
			}
			return true
		}
		if !holdWorkers(1000, 1000) {
			t.Fatal("not held")
		}
		for range 5 {
			time.Sleep(3 * workerSpin)
			if !awake() {
				releaseWorkers()
				t.Fatal("a held worker went to sleep")
			}
		}
		releaseWorkers()
		deadline := time.Now().Add(2 * time.Second)
		for awake() {
			if time.Now().After(deadline) {
				t.Fatal("released workers did not go to sleep")
			}
			time.Sleep(time.Millisecond)
		}
	})
}
