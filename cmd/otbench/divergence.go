package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/progress"
	"github.com/sinkgen/sinkgen/ot"
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

// divCase is one divergence size of reference.py.
type divCase struct {
	n, d, L int
	eps     float64
}

// divCases are reference.py's divergence sizes.
var divCases = []divCase{{256, 784, 50, 1}, {1024, 784, 100, 1}, {4096, 2, 100, 0.01}}

// divergenceCases returns the cases whose n is in the comma-separated list sizes (all
// for an empty list), as reference.py's --sizes.
func divergenceCases(sizes string) ([]divCase, error) {
	if strings.TrimSpace(sizes) == "" {
		return divCases, nil
	}
	var out []divCase
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		i := slices.IndexFunc(divCases, func(c divCase) bool { return c.n == n })
		if err != nil || i < 0 {
			return nil, fmt.Errorf("-sizes: %q is not a divergence size (want 256, 1024 or 4096)", f)
		}
		out = append(out, divCases[i])
	}
	return out, nil
}

// benchDivergence times the Sinkhorn divergence of reference.py: L unrolled log-domain
// updates on the three problems (and, forward+backward, ot's default with averaged self
// updates), uniform weights, forward alone and forward+backward
// (gradient with respect to the generated side x only, as reference.py asks). The
// float32 rows give ot float32 Points, the path training's float32 graphs take
// (float32 products, float64 iterations; see package losses); the float64 rows
// compute in float64. The records are released after each run, as training does.
// peak_rss_mib is the process's peak so far: run one size alone (-sizes 4096) for
// that case's own.
func benchDivergence(emit func(row) error, bars io.Writer, tm timer, cases []divCase, pool *mat.Dense) error {
	bar := progress.New(bars, "divergence", len(cases)*2*3)
	defer bar.Finish()
	for _, c := range cases {
		var x, y *mat.Dense // x generated, y data, as reference.py
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
		for _, dtype := range []string{"float32", "float64"} {
			xp, yp, gx := ot.FromDense(x), ot.FromDense(y), ot.FromDense(mat.NewDense(c.n, c.d, nil))
			compute := "float64"
			if dtype == "float32" {
				xp, yp = float32Points(x), float32Points(y)
				gx = ot.FromFloat32(c.n, c.d, make([]float32, c.n*c.d))
				compute = "float32 products, float64 iterations"
			}
			// go-unrolled runs reference.py's algorithm (alternating updates in all three
			// problems); go-unrolled-averaged the default of ot and the losses (averaged
			// self updates: fewer kernel passes, and converged self terms).
			for _, run := range []struct {
				phase, impl string
				opts        *ot.UnrolledOptions
			}{
				{"fwd", "go-unrolled", &ot.UnrolledOptions{Iterations: c.L, AlternatingSelf: true}},
				{"fwd+bwd", "go-unrolled", &ot.UnrolledOptions{Iterations: c.L, AlternatingSelf: true}},
				{"fwd+bwd", "go-unrolled-averaged", &ot.UnrolledOptions{Iterations: c.L}},
			} {
				phase, opts := run.phase, run.opts
				var value float64
				t, err := tm.time(func() error {
					d, err := ot.UnrolledSinkhornDivergence(yp, xp, nil, nil, ot.SqEuclidean, c.eps, opts)
					if err != nil {
						return err
					}
					if phase == "fwd+bwd" {
						d.Backward(1, 0, ot.Points{}, gx) // the generated side only, as reference.py
					}
					value = d.Dual
					d.Release()
					return nil
				})
				if err != nil {
					return err
				}
				if err := emit(row{"bench": "divergence", "impl": run.impl, "dtype": dtype, "n": c.n, "d": c.d,
					"L": c.L, "eps": c.eps, "phase": phase, "compute": compute, "value": value,
					"peak_rss_mib": float64(rssBytes()) / (1 << 20)}.with(t)); err != nil {
					return err
				}
				bar.Add(1)
			}
		}
	}
	return nil
}

// float32Points rounds the rows of x to float32 Points.
func float32Points(x *mat.Dense) ot.Points {
	r, c := x.Dims()
	data := make([]float32, 0, r*c)
	for i := 0; i < r; i++ {
		for _, v := range x.RawRowView(i) {
			data = append(data, float32(v))
		}
	}
	return ot.FromFloat32(r, c, data)
}

// rssBytes is the process's peak resident set size (VmHWM, as getrusage's ru_maxrss),
// 0 where unknown.
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
