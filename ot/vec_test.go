package ot

import (
	"math"
	"math/rand/v2"
	"testing"
)

// dot and axpy (AVX2 on amd64) against plain loops, for every length around the
// 16-element blocks and tails.
func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for n := 1; n < 70; n++ {
		x, y := make([]float64, n), make([]float64, n+3)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		for i := range y {
			y[i] = rng.NormFloat64()
		}
		want, scale := 0.0, 0.0
		for i := range x {
			want += x[i] * y[i]
			scale += math.Abs(x[i] * y[i])
		}
		if got := dot(x, y); math.Abs(got-want) > 1e-14*scale {
			t.Errorf("n=%d: dot = %v, want %v", n, got, want)
		}
		z := append([]float64(nil), y...)
		axpy(0.7, x, z)
		for i := range z {
			w, tol := y[i], 0.0
			if i < n {
				// fused or not, one rounding of each term at most
				w, tol = 0.7*x[i]+y[i], 4e-16*(math.Abs(0.7*x[i])+math.Abs(y[i]))
			}
			if math.Abs(z[i]-w) > tol {
				t.Fatalf("n=%d: axpy entry %d = %v, want %v", n, i, z[i], w)
			}
		}
	}
}
