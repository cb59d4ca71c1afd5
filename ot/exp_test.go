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
	// expSlice (vector path on amd64, with its scalar tail) against math.Exp, including
	// out-of-range and NaN lanes in the middle of vectors.
	xs := make([]float64, 100003)
	for i := range xs {
		xs[i] = (rng.Float64()*2 - 1) * 750
	}
	copy(xs[40:], []float64{math.NaN(), math.Inf(1), math.Inf(-1), -745, 710, expMin, expMax, 0})
	ys := append([]float64(nil), xs...)
	expSlice(ys)
	for i, x := range xs {
		want := math.Exp(x)
		switch {
		case math.IsNaN(x):
			if !math.IsNaN(ys[i]) {
				t.Fatalf("expSlice(NaN) = %v", ys[i])
			}
		case want < 0x1p-1022:
			if ys[i] != 0 {
				t.Fatalf("expSlice(%v) = %v, want flushed to 0", x, ys[i])
			}
		case x > expMax:
			if !math.IsInf(ys[i], 1) {
				t.Fatalf("expSlice(%v) = %v, want +Inf", x, ys[i])
			}
		case math.IsInf(want, 1):
			// math.Exp's amd64 assembly overflows from about 709.44, short of the true
			// limit expMax: only ask for a finite, huge result there.
			if !(ys[i] > 1e307) || math.IsInf(ys[i], 1) {
				t.Fatalf("expSlice(%v) = %v, want a finite value near the top of float64", x, ys[i])
			}
		default:
			worst = math.Max(worst, math.Abs(ys[i]-want)/want)
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
