package ot

import (
	"testing"
)

// BenchmarkSliced is cmd/otbench's sliced workload: SW_2 over 128 directions between
// 256 and 256 points of dimension 784, value and gradients.
func BenchmarkSliced(b *testing.B) {
	rng := newTestRand(1)
	x, y := randCloud(rng, 256, 784, 0), randCloud(rng, 256, 784, 0.3)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := SlicedWasserstein(x, y, nil, nil, 2, &SlicedOptions{Projections: 128, Seed: uint64(i), Grad: true}); err != nil {
			b.Fatal(err)
		}
	}
}
