package ot

import (
	"math"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// The self problems of an unrolled divergence converge as fast as the converged
// divergence's symmetric solves: with L = the iterations solveSymmetric needs for Tol,
// their records meet Tol, and their duals equal OT_ε(α,α) converged to 1e-13 (whose
// values divergence_test.go checks against POT). The alternating updates left a
// marginal error of 2e-5 (at ε = 0.2) here.
func TestUnrolledSelfConverges(t *testing.T) {
	rng := newTestRand(61)
	x, y := randCloud(rng, 256, 2, 0), randCloud(rng, 200, 2, 1)
	const tol = 1e-9
	for _, eps := range []float64{0.05, 0.2, 1} {
		conv, err := SinkhornDivergence(x, y, nil, nil, SqEuclidean, eps, divOpts(&SinkhornOptions{Tol: tol}, false))
		if err != nil {
			t.Fatal(err)
		}
		L := max(conv.XX.Iterations, conv.YY.Iterations)
		ref, err := SinkhornDivergence(x, y, nil, nil, SqEuclidean, eps, divOpts(tight, false))
		if err != nil {
			t.Fatal(err)
		}
		for _, anneal := range []bool{false, true} {
			o := &UnrolledOptions{Iterations: L, Tol: tol}
			if anneal { // the log domain: one step at 2ε first
				o.Iterations, o.EpsScaling, o.EpsStart = L+1, 0.5, 2*eps
			}
			d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), nil, nil, SqEuclidean, eps, o)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name string
				u    *Unrolled
				ref  float64
			}{{"XX", d.XX, ref.XX.Dual}, {"YY", d.YY, ref.YY.Dual}} {
				if c.u.Scaled == anneal {
					t.Errorf("ε=%g %s: scaled %v with annealing %v", eps, c.name, c.u.Scaled, anneal)
				}
				if !c.u.Converged || math.Abs(c.u.Dual-c.ref) > 1e-9 {
					t.Errorf("ε=%g %s (L = %d, scaled %v): marginal error %.3g, dual %.15g, converged OT %.15g",
						eps, c.name, o.Iterations, c.u.Scaled, c.u.MarginalError, c.u.Dual, c.ref)
				}
			}
		}
	}
}

// The self problems' passes, forward and backward, in the scaling and the log domain,
// give the same bits on any number of CPUs (n = 300 splits the sweeps into blocks).
func TestUnrolledSelfThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := newTestRand(62)
	x, y := randCloud(rng, 300, 3, 0), randCloud(rng, 280, 3, 0.5)
	for _, o := range []*UnrolledOptions{{Iterations: 15}, {Iterations: 15, EpsScaling: 0.5, EpsStart: 4}} {
		var first []float64
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), nil, nil, SqEuclidean, 0.3, o)
			if err != nil {
				t.Fatal(err)
			}
			if d.XX.Scaled != (o.EpsScaling == 0) {
				t.Fatalf("scaled %v", d.XX.Scaled)
			}
			gx, gy := mat.NewDense(300, 3, nil), mat.NewDense(280, 3, nil)
			d.Backward(1, 0.5, FromDense(gx), FromDense(gy))
			got := append(append(append([]float64{d.Dual, d.Primal()}, d.XX.F...), gx.RawMatrix().Data...), gy.RawMatrix().Data...)
			if first == nil {
				first = got
				continue
			}
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(first[i]) {
					t.Fatalf("scaled %v, %d CPUs: entry %d is %v, on 1 CPU %v", d.XX.Scaled, procs, i, got[i], first[i])
				}
			}
		}
	}
}
