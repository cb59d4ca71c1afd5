package losses

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// mnistLike returns n float32 points in [0,1]^784 with MNIST's statistics (about 80% of
// the pixels 0, the rest spread over (0,1]) when sparse, else dense values in (0,1) as
// a sigmoid output gives.
func mnistLike(rng *rand.Rand, n int, sparse bool) ot.Points {
	const d = 784
	p := make([]float32, n*d)
	for i := range p {
		switch {
		case !sparse:
			p[i] = float32(1 / (1 + math.Exp(-2*rng.NormFloat64())))
		case rng.Float64() < 0.2:
			p[i] = float32(rng.Float64())
		}
	}
	return ot.FromFloat32(n, d, p)
}

// maxDiff returns the largest |g32[i] − g64[i]| and the largest |g64[i]|.
func maxDiff(g32 []float32, g64 []float64) (diff, scale float64) {
	for i, v := range g64 {
		scale = math.Max(scale, math.Abs(v))
		diff = math.Max(diff, math.Abs(float64(g32[i])-v))
	}
	return diff, scale
}

// The float32 path (float32 x·yᵀ and gradient products, float64 iterations) agrees
// with the float64 path on the same float32 points: loss within 1e-4 relative and
// gradients within 1e-4 of their largest entry, for the training workload's sizes
// (256 points of dimension 784), ε from 0.1 to 1, every Sinkhorn kind and backward.
func TestFloat32PathMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	data, gen := mnistLike(rng, 256, true), mnistLike(rng, 256, false)
	gen2 := mnistLike(rng, 256, true) // a generator close to the data distribution
	for _, c := range []struct {
		kind    Kind
		back    BackwardMode
		eps     float64
		gen     ot.Points
		scaling float64
		cost    ot.Cost
	}{
		{Divergence, Unrolled, 1, gen, 0, ot.Cost{}}, {Divergence, Unrolled, 0.5, gen2, 0, ot.Cost{}}, {Divergence, Unrolled, 0.1, gen2, 0, ot.Cost{}},
		{Divergence, Envelope, 0.5, gen, 0, ot.Cost{}}, {Primal, Unrolled, 1, gen2, 0, ot.Cost{}}, {Entropic, Unrolled, 0.5, gen, 0, ot.Cost{}},
		// the log domain: an annealed schedule, and a kernel that underflows
		{Divergence, Unrolled, 0.5, gen2, 0.7, ot.Cost{}}, {Divergence, Unrolled, 0.01, gen2, 0, ot.Cost{}},
		// |x−y| and |x−y|^1.5 on the float32 path, each backward mode
		{Divergence, Unrolled, 0.5, gen2, 0, ot.Euclidean}, {Divergence, Envelope, 0.5, gen, 0, ot.Euclidean},
		{Divergence, Implicit, 0.5, gen2, 0, ot.Euclidean}, {Primal, Unrolled, 1, gen, 0, ot.PowerCost(1.5)},
		{Divergence, Unrolled, 0.5, gen2, 0.7, ot.Euclidean},
	} {
		t.Run(fmt.Sprintf("%s-%s-eps%g-scaling%g-%v", c.kind, c.back, c.eps, c.scaling, c.cost), func(t *testing.T) {
			cfg, err := Config{Kind: c.kind, Eps: c.eps, Iters: 50, Backward: c.back, EpsScaling: c.scaling, Cost: c.cost}.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			ev32, err := evaluate(cfg, data, c.gen)
			if err != nil {
				t.Fatal(err)
			}
			ev64, err := evaluate(cfg, ot.FromDense(data.Dense()), ot.FromDense(c.gen.Dense()))
			if err != nil {
				t.Fatal(err)
			}
			if ev32.div != nil && ev32.div.XY.Scaled != ev64.div.XY.Scaled {
				t.Errorf("scaling domain: float32 path %v, float64 %v", ev32.div.XY.Scaled, ev64.div.XY.Scaled)
			}
			v32, v64 := ev32.stats.Value, ev64.stats.Value
			if e := math.Abs(v32-v64) / math.Abs(v64); e > 1e-4 || math.IsNaN(e) {
				t.Errorf("loss: float32 path %.9g, float64 %.9g (rel %.2g)", v32, v64, e)
			}
			for side := range 2 {
				diff, scale := maxDiff(ev32.gradient32(side), ev64.gradient(side).RawMatrix().Data)
				if diff > 1e-4*scale || !(scale > 0) {
					t.Errorf("gradient %d: max difference %.3g, largest entry %.3g (rel %.2g)", side, diff, scale, diff/scale)
				}
				t.Logf("loss rel %.2g, gradient %d rel %.2g", math.Abs(v32-v64)/math.Abs(v64), side, diff/scale)
			}
		})
	}
}

// A float32 record's float64 backward (Backward on float32 points) equals the float32
// one up to float32 rounding.
func TestFloat32RecordFloat64Backward(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x, y := mnistLike(rng, 40, true), mnistLike(rng, 30, false)
	d, err := ot.UnrolledSinkhornDivergence(x, y, nil, nil, ot.SqEuclidean, 1, &ot.UnrolledOptions{Iterations: 5})
	if err != nil {
		t.Fatal(err)
	}
	gx, gy := mat.NewDense(40, 784, nil), mat.NewDense(30, 784, nil)
	d.Backward(1, 0, ot.FromDense(gx), ot.FromDense(gy))
	gx32, gy32 := make([]float32, 40*784), make([]float32, 30*784)
	d.Backward(1, 0, ot.FromFloat32(40, 784, gx32), ot.FromFloat32(30, 784, gy32))
	for _, c := range []struct {
		g64 *mat.Dense
		g32 []float32
	}{{gx, gx32}, {gy, gy32}} {
		scale := mat.Norm(c.g64, math.Inf(1))
		for i, v := range c.g64.RawMatrix().Data {
			if math.Abs(v-float64(c.g32[i])) > 1e-5*scale {
				t.Fatalf("entry %d: float64 %g, float32 %g", i, v, c.g32[i])
			}
		}
	}
}

// BenchmarkLossStep32 is the loss's share of a training step: the float32 forward of
// reference.py's divergence (256 points of dimension 784, L = 50, ε = 1) and the
// generated side's gradient.
func BenchmarkLossStep32(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	data, gen := mnistLike(rng, 256, true), mnistLike(rng, 256, false)
	cfg, err := Config{Eps: 1, Iters: 50}.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ev, err := evaluate(cfg, data, gen)
		if err != nil {
			b.Fatal(err)
		}
		ev.gradient32(1)
		ev.release()
	}
}

// Kind Sliced on float32 points (float32 projections and gradient products) agrees
// with float64 on the same values: the same directions (seeded by the data's values,
// whatever their precision), the loss within 1e-5 relative, gradients within 1e-4 of
// their largest entry.
func TestFloat32Sliced(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	data, gen := mnistLike(rng, 64, true), mnistLike(rng, 48, false)
	cfg, err := Config{Kind: Sliced, Projections: 16, Seed: 2}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ev32, err := evaluate(cfg, data, gen)
	if err != nil {
		t.Fatal(err)
	}
	ev64, err := evaluate(cfg, ot.FromDense(data.Dense()), ot.FromDense(gen.Dense()))
	if err != nil {
		t.Fatal(err)
	}
	if v32, v64 := ev32.stats.Value, ev64.stats.Value; !(math.Abs(v32-v64) <= 1e-5*v64) {
		t.Errorf("loss: float32 path %.9g, float64 %.9g", v32, v64)
	}
	for side := range 2 {
		diff, scale := maxDiff(ev32.gradient32(side), ev64.gradient(side).RawMatrix().Data)
		if diff > 1e-4*scale || !(scale > 0) {
			t.Errorf("gradient %d: max difference %.3g, largest entry %.3g", side, diff, scale)
		}
	}
}
