package ot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/fastblas"
)

// divergence32Case is one of otbench's divergence workloads (cmd/otbench/divergence.go)
// on float32 points: MNIST-shaped data and generator output for d = 784, uniform points
// in the unit square and its shift by 0.2 for d = 2.
func divergence32Case(n, d int) (x, y Points) {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	xs, ys := make([]float32, n*d), make([]float32, n*d)
	for i := range xs {
		if d == 2 {
			xs[i], ys[i] = float32(rng.Float64()), float32(rng.Float64()+0.2)
			continue
		}
		xs[i] = float32(1 / (1 + math.Exp(-2*rng.NormFloat64()))) // a sigmoid's output
		if rng.Float64() < 0.2 {                                  // MNIST: 80% zeros
			ys[i] = float32(rng.Float64())
		}
	}
	return FromFloat32(n, d, xs), FromFloat32(n, d, ys)
}

// BenchmarkUnrolledDivergence32 times the float32 divergence forward and backward (the
// gradient of the generated side x only, as reference.py and training ask) on each
// fastblas path, interleaved round by round; it reports each path's minimum and median
// in ms. The cases are otbench's: n = 256 (training's loss, L = 50, ε = 1), n = 1024
// (L = 100, ε = 1) and n = 4096 in 2-D (L = 100, ε = 0.01).
func BenchmarkUnrolledDivergence32(b *testing.B) {
	for _, c := range []struct {
		n, d, L int
		eps     float64
	}{{256, 784, 50, 1}, {1024, 784, 100, 1}, {4096, 2, 100, 0.01}} {
		x, y := divergence32Case(c.n, c.d)
		gx := FromFloat32(c.n, c.d, make([]float32, c.n*c.d))
		opts := &UnrolledOptions{Iterations: c.L}
		b.Run(fmt.Sprintf("n=%d/d=%d/L=%d", c.n, c.d, c.L), func(b *testing.B) {
			benchPathsMs(b, func() {
				d, err := UnrolledSinkhornDivergence(x, y, nil, nil, SqEuclidean, c.eps, opts)
				if err != nil {
					b.Fatal(err)
				}
				d.Backward(1, 0, gx, Points{})
				d.Release()
			})
		})
	}
}

// benchPathsMs runs f once per fastblas path in each of b.N rounds and reports each
// path's minimum and median in ms; with SINKGEN_KERNEL set, only on that path.
func benchPathsMs(b *testing.B, f func()) {
	paths := fastblas.Paths()
	old, _ := fastblas.Active()
	if os.Getenv(fastblas.EnvKernel) != "" {
		paths = []fastblas.Path{old}
	}
	defer fastblas.SetPath(old)
	times := make([][]float64, len(paths))
	for b.Loop() {
		for i, p := range paths {
			fastblas.SetPath(p)
			t0 := time.Now()
			f()
			times[i] = append(times[i], float64(time.Since(t0))/1e6)
		}
	}
	for i, p := range paths {
		slices.Sort(times[i])
		b.ReportMetric(times[i][0], p.String()+"-min-ms")
		b.ReportMetric(times[i][len(times[i])/2], p.String()+"-med-ms")
	}
}

// BenchmarkUnrolledDivergence32Power times the float32 divergence forward and backward
// (x's gradient) at training's MNIST shape (n = 256, d = 784, L = 50, mnist.toml's
// ε = 0.5) for the costs ½|x−y|² and |x−y| on the active fastblas path, and for
// reference |x−y| on the same points in float64 (the path p ≠ 2 took before), the three
// interleaved round by round; it reports each one's minimum and median in ms.
func BenchmarkUnrolledDivergence32Power(b *testing.B) {
	const n, d = 256, 784
	x, y := divergence32Case(n, d)
	x64, y64 := FromDense(x.Dense()), FromDense(y.Dense())
	opts := &UnrolledOptions{Iterations: 50}
	cases := []struct {
		name string
		x, y Points
		c    Cost
	}{{"p2", x, y, SqEuclidean}, {"p1", x, y, Euclidean}, {"p1-float64", x64, y64, Euclidean}}
	times := make([][]float64, len(cases))
	for b.Loop() {
		for i, c := range cases {
			gx := FromDense(mat.NewDense(n, d, nil))
			if c.x.IsFloat32() {
				gx = FromFloat32(n, d, make([]float32, n*d))
			}
			t0 := time.Now()
			dv, err := UnrolledSinkhornDivergence(c.x, c.y, nil, nil, c.c, 0.5, opts)
			if err != nil {
				b.Fatal(err)
			}
			dv.Backward(1, 0, gx, Points{})
			dv.Release()
			times[i] = append(times[i], float64(time.Since(t0))/1e6)
		}
	}
	for i, c := range cases {
		slices.Sort(times[i])
		b.ReportMetric(times[i][0], c.name+"-min-ms")
		b.ReportMetric(times[i][len(times[i])/2], c.name+"-med-ms")
	}
}
