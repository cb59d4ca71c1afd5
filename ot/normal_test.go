package ot

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFillNormal: 2^20 deviates of fillNormal against the standard normal law: the
// Kolmogorov–Smirnov distance to Φ below its 0.1% critical value 1.95/√N, the mass
// beyond the ziggurat's tail start and beyond 4.5 (the tail layer's own draws) within
// 5 standard errors of 2(1−Φ), and the mean, variance and fourth moment within 5
// standard errors of 0, 1 and 3. An odd length leaves the last draw's second half unused.
func TestFillNormal(t *testing.T) {
	const n = 1<<20 + 1
	x := make([]float64, n)
	fillNormal(x, rand.NewPCG(1, 2))
	slices.Sort(x)
	phi := func(v float64) float64 { return 0.5 * math.Erfc(-v/math.Sqrt2) }
	ks := 0.0
	for i, v := range x {
		f := phi(v)
		ks = max(ks, math.Abs(f-float64(i)/n), math.Abs(f-float64(i+1)/n))
	}
	if ks > 1.95/math.Sqrt(n) {
		t.Errorf("Kolmogorov–Smirnov distance %.3g", ks)
	}
	for _, r := range []float64{zigR, 4.5} {
		p := 2 * (1 - phi(r))
		beyond := 0
		for _, v := range x {
			if math.Abs(v) > r {
				beyond++
			}
		}
		if got := float64(beyond) / n; math.Abs(got-p) > 5*math.Sqrt(p/n) {
			t.Errorf("mass beyond %g: %.4g, want %.4g", r, got, p)
		}
	}
	var m1, m2, m4 float64
	for _, v := range x {
		m1 += v / n
		m2 += v * v / n
		m4 += v * v * v * v / n
	}
	// Standard deviations of the sample moments: 1, √2 and √96 over √N.
	se := 5 / math.Sqrt(n)
	if math.Abs(m1) > se || math.Abs(m2-1) > se*math.Sqrt2 || math.Abs(m4-3) > se*math.Sqrt(96) {
		t.Errorf("moments %.4g %.4g %.4g, want 0 1 3", m1, m2, m4)
	}
}

// BenchmarkFillNormal compares with math/rand's NormFloat64 on one direction of
// dimension 784.
func BenchmarkFillNormal(b *testing.B) {
	x := make([]float64, 784)
	b.Run("ziggurat24x2", func(b *testing.B) {
		src := rand.NewPCG(1, 2)
		for range b.N {
			fillNormal(x, src)
		}
	})
	b.Run("NormFloat64", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		for range b.N {
			for i := range x {
				x[i] = rng.NormFloat64()
			}
		}
	})
}
