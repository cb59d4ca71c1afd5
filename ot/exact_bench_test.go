package ot

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// exactBenchCloud draws n points uniformly in [0,1]^d.
func exactBenchCloud(rng *rand.Rand, n, d int) *mat.Dense {
	x := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		for k := 0; k < d; k++ {
			x.Set(i, k, rng.Float64())
		}
	}
	return x
}

// BenchmarkExact times Exact on the cost ½|x−y|² between two clouds of n uniform
// points in [0,1]², the workload of POT's ot.emd2(a, b, ot.dist(x, y)/2). The cost
// matrix is built outside the timer.
func BenchmarkExact(b *testing.B) {
	for _, n := range []int{256, 1024, 2048} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(n), 7))
			C := SqEuclidean.matrix(exactBenchCloud(rng, n, 2), exactBenchCloud(rng, n, 2))
			b.ResetTimer()
			iters := 0
			for b.Loop() {
				res, err := Exact(nil, nil, C, nil)
				if err != nil {
					b.Fatal(err)
				}
				iters = res.Iterations
			}
			b.ReportMetric(float64(iters), "pivots")
		})
	}
}

// BenchmarkExact1D times the closed form on 10⁵ against 10⁵ random weighted points.
func BenchmarkExact1D(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 100_000
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i], y[i] = rng.NormFloat64(), 1+rng.NormFloat64()
	}
	a, w := exactRandWeights(rng, n, false), exactRandWeights(rng, n, false)
	for b.Loop() {
		if _, err := Exact1D(x, y, a, w, 2); err != nil {
			b.Fatal(err)
		}
	}
}
