package ot

import (
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// mulNT against gonum for shapes around the 3×4 tiles and the 4-wide k chunks, and
// for strided views.
func TestMulNT(t *testing.T) {
	rng := newTestRand(61)
	for _, s := range [][3]int{{1, 1, 1}, {3, 4, 4}, {5, 7, 9}, {12, 9, 17}, {31, 29, 64}, {64, 70, 3}, {100, 2, 101}} {
		n, m, k := s[0], s[1], s[2]
		a, b := randCloud(rng, n, k+2, 0), randCloud(rng, m, k+1, 0)
		av, bv := a.Slice(0, n, 1, k+1).(*mat.Dense), b.Slice(0, m, 0, k).(*mat.Dense)
		var want mat.Dense
		want.Mul(av, bv.T())
		got := mat.NewDense(n, m, nil)
		mulNT(got, av, bv)
		var d mat.Dense
		d.Sub(got, &want)
		if e := mat.Norm(&d, math.Inf(1)); e > 1e-12*math.Max(1, mat.Norm(&want, math.Inf(1))) {
			t.Errorf("%v: differs from gonum by %g", s, e)
		}
	}
}

func BenchmarkMulNT(b *testing.B) {
	rng := newTestRand(62)
	for _, n := range []int{256, 1024} {
		x, y := randCloud(rng, n, 784, 0), randCloud(rng, n, 784, 0)
		dst := mat.NewDense(n, n, nil)
		flops := 2 * float64(n) * float64(n) * 784
		b.Run(fmt.Sprintf("n=%d/d=784/tiles", n), func(b *testing.B) {
			for b.Loop() {
				mulNT(dst, x, y)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
		b.Run(fmt.Sprintf("n=%d/d=784/gonum", n), func(b *testing.B) {
			for b.Loop() {
				dst.Mul(x, y.T())
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
