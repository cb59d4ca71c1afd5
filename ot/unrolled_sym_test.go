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

// At L = 200 the unrolled divergence equals POT's converged values (the fixtures of
// TestDivergenceFixtures) to their 1e-8: its cross problem has converged there, and
// its self problems long before (the alternating updates left 1.6e-7 in OT(α,α) at
// ε = 0.1, and 3.9e-8 at L = 1000).
func TestUnrolledDivergenceFixtures(t *testing.T) {
	for _, name := range []string{"divergence_eps0.1", "divergence_eps1", "divergence_eps100"} {
		fx := loadFixture(t, name)
		x, y := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y")
		a, b, eps := fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b"), fixtureFloat(t, fx, "eps")
		d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), a, b, SqEuclidean, eps, &UnrolledOptions{Iterations: 200})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			field string
			got   float64
		}{{"ot_xy", d.XY.Dual}, {"ot_xx", d.XX.Dual}, {"ot_yy", d.YY.Dual}, {"divergence", d.Dual}} {
			if e := relErr(c.got, fixtureFloat(t, fx, c.field)); e > 1e-8 {
				t.Errorf("%s: %s = %.15g, want %.15g (rel %.2g)", name, c.field, c.got, fixtureFloat(t, fx, c.field), e)
			}
		}
	}
}

// With the self problems converged, the three backward passes at ε = 0.2, L = 200 give
// the gradient of the converged divergence (central differences of SinkhornDivergence
// at Tol 1e-13) to 1e-8 of its largest entry; the alternating self updates left
// 1.0e-5 to 1.2e-5 in all three (now 2.8e-10).
func TestUnrolledBackwardModesConverged(t *testing.T) {
	rng := newTestRand(71)
	x, y := randCloud(rng, 50, 2, 0), randCloud(rng, 40, 2, 1)
	const eps = 0.2
	fd := fdPoints(x, y, 1e-5, func() float64 {
		d, err := SinkhornDivergence(x, y, nil, nil, SqEuclidean, eps, divOpts(tight, false))
		if err != nil {
			t.Fatal(err)
		}
		return d.Value
	})
	scale := math.Max(mat.Norm(fd[0], math.Inf(1)), mat.Norm(fd[1], math.Inf(1)))
	d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), nil, nil, SqEuclidean, eps, &UnrolledOptions{Iterations: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"unrolled", "envelope", "implicit"} {
		gx, gy := mat.NewDense(50, 2, nil), mat.NewDense(40, 2, nil)
		switch mode {
		case "unrolled":
			d.Backward(1, 0, FromDense(gx), FromDense(gy))
		case "envelope":
			d.BackwardEnvelope(1, FromDense(gx), FromDense(gy))
		default:
			if err := d.BackwardImplicit(1, 0, FromDense(gx), FromDense(gy)); err != nil {
				t.Fatal(err)
			}
		}
		if e := math.Max(maxDiff(gx, fd[0]), maxDiff(gy, fd[1])); e > 1e-8*scale {
			t.Errorf("%s: differs from finite differences of the converged divergence by %.2g of the largest entry", mode, e/scale)
		}
	}
}
