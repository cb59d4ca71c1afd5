package ot

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// seedBenchProblem is the seedplot workload of cmd/otbench: dim points in [0,1]²,
// Euclidean cost, histograms uniform on the simplex.
func seedBenchProblem(dim int) (a, b []float64, C *mat.Dense) {
	rng := rand.New(rand.NewPCG(0, 1))
	pts := mat.NewDense(dim, 2, nil)
	for i := 0; i < dim; i++ {
		pts.Set(i, 0, rng.Float64())
		pts.Set(i, 1, rng.Float64())
	}
	C = Euclidean.matrix(pts, pts)
	C.Scale(1/0.52, C) // about the median distance of uniform points in the square
	dir := func() []float64 {
		w := make([]float64, dim)
		for i := range w {
			w[i] = rng.ExpFloat64()
		}
		s := 0.0
		for _, v := range w {
			s += v
		}
		for i := range w {
			w[i] /= s
		}
		return w
	}
	return dir(), dir(), C
}

func BenchmarkSinkhorn(b *testing.B) {
	for _, dim := range []int{128, 512, 1024, 4096} {
		a, w, C := seedBenchProblem(dim)
		for _, method := range []SinkhornMethod{LogDomain, Stabilized} {
			for _, gamma := range []float64{0.02, 0.1} {
				b.Run(fmt.Sprintf("dim=%d/%v/gamma=%g", dim, method, gamma), func(b *testing.B) {
					var res *SinkhornResult
					for b.Loop() {
						var err error
						if res, err = Sinkhorn(a, w, C, gamma, &SinkhornOptions{Method: method, Tol: 1e-2, ErrorNorm: 2}); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(res.Iterations), "iters")
				})
			}
		}
	}
}

func BenchmarkSinkhornDivergence(b *testing.B) {
	rng := rand.New(rand.NewPCG(0, 2))
	for _, n := range []int{256, 1024} {
		x, y := randCloud(rng, n, 2, 0), randCloud(rng, n, 2, 0.5)
		b.Run(fmt.Sprintf("n=%d/d=2/eps=0.1", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := SinkhornDivergence(x, y, nil, nil, SqEuclidean, 0.1, divOpts(&SinkhornOptions{Tol: 1e-6}, true)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnrolledDivergence is the n=256 workload of reference.py's divergence
// benchmark on random data of MNIST's shape: three problems, L = 50, ε = 1.
func BenchmarkUnrolledDivergence(b *testing.B) {
	rng := newTestRand(71)
	x, y := mat.NewDense(256, 784, nil), mat.NewDense(256, 784, nil)
	for _, m := range []*mat.Dense{x, y} {
		raw := m.RawMatrix().Data
		for i := range raw {
			raw[i] = rng.Float64()
		}
	}
	opts := &UnrolledOptions{Iterations: 50}
	b.Run("fwd", func(b *testing.B) {
		for b.Loop() {
			if _, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), nil, nil, SqEuclidean, 1, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fwd+bwd", func(b *testing.B) {
		gx := mat.NewDense(256, 784, nil)
		for b.Loop() {
			d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), nil, nil, SqEuclidean, 1, opts)
			if err != nil {
				b.Fatal(err)
			}
			d.Backward(1, 0, FromDense(gx), Points{})
		}
	})
}

func BenchmarkMMD(b *testing.B) {
	rng := newTestRand(72)
	x, y := randCloud(rng, 256, 784, 0), randCloud(rng, 256, 784, 0.1)
	for b.Loop() {
		if _, _, err := mmd(x, y, nil, nil, GaussianMixture{1, 2, 4, 8, 16}, true); err != nil {
			b.Fatal(err)
		}
	}
}
