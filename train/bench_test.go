package train

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

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
	// Besides the mean, the fastest step: on a shared machine other jobs only ever add
	// time, so the minimum is the steadiest figure (reference.py's ms_min).
	best := time.Duration(math.MaxInt64)
	for b.Loop() {
		start := time.Now()
		if _, err := tr.Step(); err != nil {
			b.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	b.ReportMetric(float64(best.Microseconds())/1000, "ms_min")
}
