package train

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/sinkgen/sinkgen/internal/process"
)

// The tests train with the process-wide settings cmd/train makes (gorgonia's BLAS).
func init() { process.Setup(0) }

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

// newTestTrainer builds a trainer of cfg without files, closed when the test ends.
func newTestTrainer(t *testing.T, cfg Config) *Trainer {
	t.Helper()
	tr, err := New(cfg, Options{NoFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// trainRing runs cfg (toy data) to its end and returns the trainer with S_ε between
// its generator and the data before and after.
func trainRing(t *testing.T, cfg Config) (tr *Trainer, before, after float64) {
	t.Helper()
	tr = newTestTrainer(t, cfg)
	before = divergenceToData(t, tr.Generator(), 1024, 7)
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tr, before, divergenceToData(t, tr.Generator(), 1024, 7)
}
