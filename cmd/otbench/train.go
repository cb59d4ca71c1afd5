package main

import (
	"fmt"
	"io"
	"runtime"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/fastblas"
	"github.com/sinkgen/sinkgen/internal/progress"
	"github.com/sinkgen/sinkgen/train"
)

// benchTrain times one training step of reference.py's train_step workload
// (train.ReferenceWorkload: MLP 16-256-512-784 with ReLU and a sigmoid output, 256
// generated points against the first 256 images of the pool, Sinkhorn divergence with
// L = 50 at ε = 1, Adam at 1e-3): data batch, latent draw, forward, loss, backward,
// update, as Trainer.Step runs it in training. Timed over 2·reps steps, as
// reference.py times 2·reps.
func benchTrain(emit func(row) error, bars io.Writer, tm timer, pool *mat.Dense) error {
	const n = 256
	if r, c := pool.Dims(); r < n || c != data.MNISTPixels {
		return fmt.Errorf("train_step: the pool is %d×%d, need %d×%d", r, c, n, data.MNISTPixels)
	}
	rows := make([]float32, n*data.MNISTPixels)
	for i := 0; i < n; i++ {
		for j, v := range pool.RawRowView(i) {
			rows[i*data.MNISTPixels+j] = float32(v)
		}
	}
	src, err := data.NewBatcher(rows, data.MNISTPixels, 0, false) // the same 256 images every step
	if err != nil {
		return err
	}
	cfg := train.ReferenceWorkload()
	tr, err := train.New(cfg, train.Options{Source: src, NoFiles: true})
	if err != nil {
		return err
	}
	defer tr.Close()
	bar := progress.New(bars, "train_step", 2*tm.reps+1)
	defer bar.Finish()
	var peak uint64
	t, err := tm.timeN(2*tm.reps, func() error {
		_, err := tr.Step()
		peak = max(peak, rssBytes())
		bar.Add(1)
		return err
	})
	if err != nil {
		return err
	}
	path, _ := fastblas.Active()
	return emit(row{"bench": "train_step", "impl": "go", "dtype": "float32", "batch": n, "L": cfg.Loss.Iters,
		"eps": cfg.Loss.Eps, "model": "mlp16-256-512-784", "threads": runtime.GOMAXPROCS(0),
		"sgemm":        "fastblas-" + path.String(),
		"loss_compute": "float32 products, float64 iterations", "peak_rss_mib": float64(peak) / (1 << 20)}.with(t))
}
