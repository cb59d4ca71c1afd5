package ot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// baryBenchBumps returns N normalized bumps on n points (the instances of cmd/otbench).
func baryBenchBumps(n, N int) [][]float64 {
	out := make([][]float64, N)
	for k := range out {
		c, s := 0.2+0.6*float64(k)/float64(N-1), 0.04+0.01*float64(k)
		h := make([]float64, n)
		for i := range h {
			x := float64(i) / float64(n-1)
			h[i] = math.Exp(-(x - c) * (x - c) / (2 * s * s))
		}
		floats.Scale(1/floats.Sum(h), h)
		out[k] = h
	}
	return out
}

// BenchmarkBarycenter times 100 iterations of Barycenter (fixed count) on dense and
// grid supports in both domains.
func BenchmarkBarycenter(b *testing.B) {
	for _, n := range []int{100, 400, 1024} {
		hists := baryBenchBumps(n, 4)
		C, _ := Grid{Rows: 1, Cols: n}.Cost()
		for _, m := range []BarycenterMethod{BarycenterScaling, BarycenterLog} {
			b.Run(fmt.Sprintf("dense/n=%d/%v", n, m), func(b *testing.B) {
				o := &BarycenterOptions{Method: m, MaxIter: 100, Tol: 1e-300}
				for i := 0; i < b.N; i++ {
					if _, err := Barycenter(hists, DenseSupport(C), 0.01, nil, o); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	for _, R := range []int{28, 64} {
		imgs := baryBenchBumps(R*R, 4) // any positive histograms: the cost per iteration is the same
		for _, m := range []BarycenterMethod{BarycenterScaling, BarycenterLog} {
			b.Run(fmt.Sprintf("grid/%dx%d/%v", R, R, m), func(b *testing.B) {
				o := &BarycenterOptions{Method: m, MaxIter: 100, Tol: 1e-300}
				for i := 0; i < b.N; i++ {
					if _, err := Barycenter(imgs, Grid{Rows: R, Cols: R}, 0.004, nil, o); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkUnrolledBarycenter times Forward and Backward through L = 40 iterations on
// a 28×28 grid with 6 histograms.
func BenchmarkUnrolledBarycenter(b *testing.B) {
	hists := baryBenchBumps(784, 6)
	ub, err := NewUnrolledBarycenter(hists, Grid{Rows: 28, Cols: 28}, 0.004, 40)
	if err != nil {
		b.Fatal(err)
	}
	g := make([]float64, 784)
	for i := range g {
		g[i] = math.Sin(float64(i))
	}
	for i := 0; i < b.N; i++ {
		if _, err := ub.Forward(nil); err != nil {
			b.Fatal(err)
		}
		if _, err := ub.Backward(g); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBarycentricCoordinates(b *testing.B) {
	hists := baryBenchBumps(784, 7)
	for i := 0; i < b.N; i++ {
		if _, err := BarycentricCoordinates(hists[1:], hists[0], Grid{Rows: 28, Cols: 28}, 0.004, &CoordinatesOptions{Iterations: 40}); err != nil {
			b.Fatal(err)
		}
	}
}

// baryBenchR2 is n points of the R2 low-discrepancy sequence shifted by k.
func baryBenchR2(n, k int) *mat.Dense {
	const g = 1.32471795724474602596
	x := mat.NewDense(n, 2, nil)
	for i := 0; i < n; i++ {
		a, c := 0.5+float64(i)/g+0.1*float64(k), 0.5+float64(i)/(g*g)+0.3*float64(k)
		x.Set(i, 0, a-math.Floor(a))
		x.Set(i, 1, c-math.Floor(c))
	}
	return x
}

func BenchmarkFreeSupportBarycenter(b *testing.B) {
	clouds := []*mat.Dense{baryBenchR2(200, 1), baryBenchR2(200, 2), baryBenchR2(200, 3)}
	init := baryBenchR2(100, 0)
	for _, eps := range []float64{0, 0.05} {
		b.Run(fmt.Sprintf("eps=%g", eps), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := FreeSupportBarycenter(clouds, nil, nil, init, SqEuclidean, &FreeSupportOptions{Eps: eps, MaxIter: 5, Tol: 1e-300}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSemiDual times 10000 stochastic steps (and the final exact evaluation).
func BenchmarkSemiDual(b *testing.B) {
	for _, n := range []int{100, 1000} {
		C, _ := SqEuclidean.Matrix(baryBenchR2(n, 0), baryBenchR2(n, 1))
		b.Run(fmt.Sprintf("SAG/n=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := SemiDualSAG(nil, nil, C, 0.05, &StochasticOptions{MaxIter: 10000}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ASGD/n=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := SemiDualASGD(nil, nil, C, 0.05, &StochasticOptions{MaxIter: 10000}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	y := baryBenchR2(100, 0)
	b.Run("SemiDiscrete/m=100", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, err := SemiDiscreteASGD(func(rng *rand.Rand, x []float64) { x[0], x[1] = rng.NormFloat64(), rng.NormFloat64() },
				y, nil, SqEuclidean, 0.05, &StochasticOptions{MaxIter: 10000, ValueSamples: 1000})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEntropicDual(b *testing.B) {
	C, _ := SqEuclidean.Matrix(baryBenchR2(500, 0), baryBenchR2(500, 1))
	f, g := make([]float64, 500), make([]float64, 500)
	b.Run("dual", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			EntropicDual(nil, nil, C, 0.05, f, g)
		}
	})
	b.Run("semi-dual", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			EntropicSemiDual(nil, nil, C, 0.05, g)
		}
	})
}
