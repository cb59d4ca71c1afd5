package ot

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// maxPairCost is the largest c(x_i, y_j), by direct evaluation.
func maxPairCost(c Cost, x, y *mat.Dense) float64 {
	n, _ := x.Dims()
	m, _ := y.Dims()
	mx := 0.0
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			mx = math.Max(mx, c.Pair(x.RawRowView(i), y.RawRowView(j)))
		}
	}
	return mx
}

// Issue 13, item 8: ε-scaling from the largest cost (start 0, the default of
// losses.Config and the configs) used to be a constant schedule: EpsSchedule could not
// know the cost and returned ε repeated. It now says so, and the unrolled solvers take
// an Annealing, which they resolve against each problem's largest cost by Sinkhorn's
// own rule: the same ε values as EpsSchedule from that cost, and the same iterates as
// Sinkhorn's EpsScaling in the log domain.
func TestUnrolledAnnealingFromLargestCost(t *testing.T) {
	if s, err := EpsSchedule(0.1, 10, 0.5, 0); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("EpsSchedule from the largest cost without a cost: %v, %v; want an error", s, err)
	}
	rng := newTestRand(111)
	x, y := randCloud(rng, 14, 2, 0), randCloud(rng, 11, 2, 0.8)
	a, b := randWeights(rng, 14), randWeights(rng, 11)
	const eps, L, scaling = 0.05, 30, 0.5
	an := &UnrolledOptions{Iterations: L, EpsScaling: scaling}
	for _, c := range []Cost{SqEuclidean, Euclidean} {
		maxC := maxPairCost(c, x, y)
		steps := 0 // annealed iterations: maxC·scaling^k > ε
		for e := maxC; e > eps; e *= scaling {
			steps++
		}
		explicit, err := EpsSchedule(eps, L, scaling, maxC)
		if err != nil {
			t.Fatal(err)
		}
		if explicit[0] != maxC || explicit[steps-1] <= eps || explicit[steps] != eps {
			t.Fatalf("%v: EpsSchedule from %g: %v", c, maxC, explicit)
		}
		annealed, err := UnrolledSinkhorn(FromDense(x), FromDense(y), a, b, c, eps, an)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := UnrolledSinkhorn(FromDense(x), FromDense(y), a, b, c, eps, &UnrolledOptions{Iterations: L, EpsScaling: scaling, EpsStart: maxC})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := UnrolledSinkhorn(FromDense(x), FromDense(y), a, b, c, eps, &UnrolledOptions{Iterations: L})
		if err != nil {
			t.Fatal(err)
		}
		if relErr(annealed.Dual, ref.Dual) > 1e-14 || maxAbsDiff(annealed.F, ref.F) > 1e-13 {
			t.Errorf("%v: annealed from the largest cost %.15g, from an explicit start of %g %.15g", c, annealed.Dual, maxC, ref.Dual)
		}
		if relErr(annealed.Dual, plain.Dual) < 1e-6 {
			t.Errorf("%v: the annealing changed nothing (%.15g, constant %.15g)", c, annealed.Dual, plain.Dual)
		}
		// Sinkhorn with the same scaling, stopped after the annealing and one
		// iteration at ε, has run the same updates.
		C, _ := c.Matrix(x, y)
		short, err := UnrolledSinkhorn(FromDense(x), FromDense(y), a, b, c, eps, &UnrolledOptions{Iterations: steps + 1, EpsScaling: scaling})
		if err != nil {
			t.Fatal(err)
		}
		sk, err := Sinkhorn(a, b, C, eps, &SinkhornOptions{EpsScaling: scaling, MaxIter: steps + 1})
		if err != nil {
			t.Fatal(err)
		}
		if sk.Iterations != steps+1 || relErr(sk.Dual, short.Dual) > 1e-13 {
			t.Errorf("%v: Sinkhorn's ε-scaling %.15g after %d iterations, unrolled %.15g after %d", c, sk.Dual, sk.Iterations, short.Dual, steps+1)
		}
	}
	// A divergence anneals each of its problems from its own largest cost, as
	// SinkhornDivergence does (the self problems by their averaged updates).
	d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), a, b, SqEuclidean, eps, an)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, p := range []struct {
		x, y *mat.Dense
		a, b []float64
		w    float64
	}{{x, y, a, b, 1}, {x, x, a, a, -0.5}, {y, y, b, b, -0.5}} {
		explicit := UnrolledOptions{Iterations: L, EpsScaling: scaling, EpsStart: maxPairCost(SqEuclidean, p.x, p.y), Tol: DefaultSinkhornTol}
		u, err := unrolled64(p.x, p.y, p.a, p.b, SqEuclidean, eps, explicit, p.x == p.y)
		if err != nil {
			t.Fatal(err)
		}
		want += p.w * u.Dual
	}
	if relErr(d.Dual, want) > 1e-13 {
		t.Errorf("annealed divergence %.15g, from each problem's explicit schedule %.15g", d.Dual, want)
	}
	d32, err := UnrolledSinkhornDivergence(points32Of(x), points32Of(y), a, b, SqEuclidean, eps, an)
	if err != nil {
		t.Fatal(err)
	}
	if relErr(d32.Dual, d.Dual) > 1e-5 {
		t.Errorf("float32 annealed divergence %.15g, float64 %.15g", d32.Dual, d.Dual)
	}
	for _, bad := range []*UnrolledOptions{{EpsScaling: 1.5}, {EpsScaling: 0.5, EpsStart: -1}, {Tol: -1}} {
		if _, err := UnrolledSinkhorn(FromDense(x), FromDense(y), a, b, SqEuclidean, eps, bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("options %+v: %v, want ErrInvalidInput", *bad, err)
		}
	}
}
