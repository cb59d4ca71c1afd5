package train

import (
	"math/rand/v2"
	"testing"

	"github.com/sinkgen/sinkgen/data"
)

// BenchmarkTrainStep times one step of ReferenceWorkload (reference.py's train_step)
// against 256 fixed points: MNIST images when the module cache has them, else uniform
// noise in [0,1]^784 (which costs the same).
func BenchmarkTrainStep(b *testing.B) {
	rows := make([]float32, 256*data.MNISTPixels)
	if m, err := data.LoadMNIST(""); err == nil {
		copy(rows, m.Train.Images)
	} else {
		rng := rand.New(rand.NewPCG(0, 3))
		for i := range rows {
			rows[i] = rng.Float32()
		}
	}
	src, err := data.NewBatcher(rows, data.MNISTPixels, 0, false)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := New(ReferenceWorkload(), Options{Source: src, NoFiles: true})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Step(); err != nil { // warm-up
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := tr.Step(); err != nil {
			b.Fatal(err)
		}
	}
}
