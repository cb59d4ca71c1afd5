package ot

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFastExpAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	worst := 0.0
	check := func(x float64) {
		got, want := fastExp(x), math.Exp(x)
		if want < 0x1p-1022 {
			if got != 0 {
				t.Fatalf("fastExp(%v) = %v, want flushed to 0", x, got)
			}
			return
		}
		if e := math.Abs(got-want) / want; e > worst {
			worst = e
		}
	}
	for i := 0; i < 2_000_000; i++ {
		check((rng.Float64()*2 - 1) * 720)
		check((rng.Float64()*2 - 1) * 2)
	}
	for _, x := range []float64{0, -0.0, 1, -1, expMin, expMin - 1e-9, expMax, -745, -709, 709} {
		check(x)
	}
	xs := make([]float64, 100000)
	for i := range xs {
		xs[i] = (rng.Float64()*2 - 1) * 750
	}
	ys := append([]float64(nil), xs...)
	expSlice(ys)
	for i, x := range xs {
		if ys[i] != fastExp(x) {
			t.Fatalf("expSlice(%v) = %v, fastExp gives %v", x, ys[i], fastExp(x))
		}
	}
	if worst > 4.5e-16 {
		t.Errorf("largest relative error %g exceeds 2 ulp", worst)
	}
	if !math.IsInf(fastExp(710), 1) || !math.IsNaN(fastExp(math.NaN())) || fastExp(math.Inf(-1)) != 0 || !math.IsInf(fastExp(math.Inf(1)), 1) {
		t.Errorf("special values: %v %v %v %v", fastExp(710), fastExp(math.NaN()), fastExp(math.Inf(-1)), fastExp(math.Inf(1)))
	}
	t.Logf("largest relative error %.3g", worst)
}

var sinkExp float64

func BenchmarkExp(b *testing.B) {
	xs := make([]float64, 1024)
	for i := range xs {
		xs[i] = -float64(i) / 50
	}
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				sinkExp += fastExp(x)
			}
		}
	})
	b.Run("slice", func(b *testing.B) {
		ys := make([]float64, len(xs))
		for b.Loop() {
			copy(ys, xs)
			expSlice(ys)
		}
	})
	b.Run("math", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				sinkExp += math.Exp(x)
			}
		}
	})
}
