package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/progress"
	"github.com/sinkgen/sinkgen/losses"
)

// loadPool returns count 784-pixel rows in [0,1]: the first MNIST training images
// (checked by package data) from dir, or from the GoMNIST module when dir is "module";
// uniform noise when dir is empty, as reference.py does without --mnist.
func loadPool(dir string, count int) (*mat.Dense, error) {
	pool := mat.NewDense(count, data.MNISTPixels, nil)
	raw := pool.RawMatrix().Data
	if dir == "" {
		rng := rand.New(rand.NewPCG(0, 3))
		for i := range raw {
			raw[i] = rng.Float64()
		}
		return pool, nil
	}
	if dir == "module" {
		dir = ""
	}
	m, err := data.LoadMNIST(dir)
	if err != nil {
		return nil, err
	}
	if m.Train.Len() < count {
		return nil, fmt.Errorf("MNIST has %d training images, need %d", m.Train.Len(), count)
	}
	for i, v := range m.Train.Images[:len(raw)] {
		raw[i] = float64(v)
	}
	return pool, nil
}

// benchDivergence times the Sinkhorn divergence of reference.py: L unrolled log-domain
// updates on the three problems, uniform weights, forward alone and forward+backward
// (gradient with respect to the generated side x only, as reference.py asks).
func benchDivergence(emit func(row) error, bars io.Writer, reps int, pool *mat.Dense) error {
	cases := []struct {
		n, d, L int
		eps     float64
	}{{256, 784, 50, 1}, {1024, 784, 100, 1}, {4096, 2, 100, 0.01}}
	bar := progress.New(bars, "divergence", len(cases)*2*2)
	defer bar.Finish()
	for _, c := range cases {
		var x, y *mat.Dense
		if c.d == 784 {
			x = mat.DenseCopyOf(pool.Slice(0, c.n, 0, 784))
			y = mat.DenseCopyOf(pool.Slice(c.n, 2*c.n, 0, 784))
		} else {
			rng := rand.New(rand.NewPCG(0, 4))
			x, y = mat.NewDense(c.n, 2, nil), mat.NewDense(c.n, 2, nil)
			for i := 0; i < c.n; i++ {
				x.Set(i, 0, rng.Float64())
				x.Set(i, 1, rng.Float64())
				y.Set(i, 0, rng.Float64()+0.2)
				y.Set(i, 1, rng.Float64()+0.2)
			}
		}
		cfg := losses.Config{Kind: losses.Divergence, Eps: c.eps, Iters: c.L}
		for _, dtype := range []string{"float32", "float64"} {
			for _, phase := range []string{"fwd", "fwd+bwd"} {
				var peak uint64
				ms, err := medianMs(reps, func() error {
					want := losses.WantNone
					if phase == "fwd+bwd" {
						want = losses.WantGenerated // reference.py differentiates the generated side only
					}
					_, _, _, _, err := losses.Evaluate(y, x, cfg, want)
					peak = max(peak, rssBytes())
					return err
				})
				if err != nil {
					return err
				}
				if err := emit(row{"bench": "divergence", "impl": "go-unrolled", "dtype": dtype, "n": c.n, "d": c.d,
					"L": c.L, "eps": c.eps, "phase": phase, "ms": ms, "compute": "float64", "peak_rss_mib": float64(peak) / (1 << 20)}); err != nil {
					return err
				}
				bar.Add(1)
			}
		}
	}
	return nil
}

// rssBytes is the process's peak resident set size (VmHWM), 0 where unknown.
func rssBytes() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	var kb uint64
	for _, line := range strings.Split(string(raw), "\n") {
		if n, _ := fmt.Sscanf(line, "VmHWM: %d kB", &kb); n == 1 {
			return kb << 10
		}
	}
	return 0
}
