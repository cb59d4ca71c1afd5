package ot

import (
	"testing"

	"gonum.org/v1/gonum/mat"
)

// BenchmarkSliced is cmd/otbench's sliced workload: SW_2 over 128 directions between
// 256 and 256 points of dimension 784 uniform in the unit cube (otbench's pool without
// MNIST), value and the first cloud's gradient, into a new buffer each run, float64 and
// float32.
func BenchmarkSliced(b *testing.B) {
	rng := newTestRand(1)
	x, y := mat.NewDense(256, 784, nil), mat.NewDense(256, 784, nil)
	for _, c := range []*mat.Dense{x, y} {
		for i := range c.RawMatrix().Data {
			c.RawMatrix().Data[i] = rng.Float64()
		}
	}
	x32, _ := to32(x)
	y32, _ := to32(y)
	for _, c := range []struct {
		name string
		x, y Points
	}{{"float64", FromDense(x), FromDense(y)}, {"float32", x32, y32}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r, err := SlicedWassersteinPoints(c.x, c.y, nil, nil, 2, &SlicedOptions{Projections: 128, Seed: uint64(i), Record: true})
				if err != nil {
					b.Fatal(err)
				}
				var g Points
				if c.x.IsFloat32() {
					g = FromFloat32(256, 784, make([]float32, 256*784))
				} else {
					g = FromDense(mat.NewDense(256, 784, nil))
				}
				if err := r.Backward(1, g, Points{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
