package ot

import (
	"math"
	"runtime"
	"testing"
)

// withProcs runs f with GOMAXPROCS = procs.
func withProcs(t testing.TB, procs int, f func()) {
	t.Helper()
	old := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(old)
	f()
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
