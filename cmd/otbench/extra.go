package main

import (
	"io"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/progress"
	"github.com/sinkgen/sinkgen/ot"
)

// slicedProjections is issue 19's sliced Wasserstein workload: 128 directions between
// 256 generated and 256 data points of dimension 784.
const slicedProjections = 128

// benchSliced times SW_2 between the first 256 points of the pool (generated) and the
// next 256 (data), the value and the generated side's gradient (as a training step needs
// and as bench/reference_extra.py computes in PyTorch), over 128 random directions
// drawn in each run. The float32 row runs ot's float32 path (float32 projections and
// gradient product), the float64 row float64 throughout.
func benchSliced(emit func(row) error, bars io.Writer, tm timer, pool *mat.Dense) error {
	const n, d = 256, 784
	x := mat.DenseCopyOf(pool.Slice(0, n, 0, d))
	y := mat.DenseCopyOf(pool.Slice(n, 2*n, 0, d))
	bar := progress.New(bars, "sliced", 2)
	defer bar.Finish()
	for _, dtype := range []string{"float32", "float64"} {
		xs, ys := ot.FromDense(x), ot.FromDense(y)
		if dtype == "float32" {
			xs, ys = float32Points(x), float32Points(y)
		}
		var value float64
		seed := uint64(0)
		t, err := tm.time(func() error {
			seed++ // fresh directions each run, as a training step draws them
			r, err := ot.SlicedWassersteinPoints(xs, ys, nil, nil, 2, &ot.SlicedOptions{Projections: slicedProjections, Seed: seed, Record: true})
			if err != nil {
				return err
			}
			value = r.Value
			// A new gradient each run, as PyTorch's x.grad (one buffer, of the row's type).
			var gx ot.Points
			if dtype == "float32" {
				gx = ot.FromFloat32(n, d, make([]float32, n*d))
			} else {
				gx = ot.FromDense(mat.NewDense(n, d, nil))
			}
			return r.Backward(1, gx, ot.Points{})
		})
		if err != nil {
			return err
		}
		if err := emit(row{"bench": "sliced", "impl": "go-sliced", "dtype": dtype, "n": n, "d": d, "p": 2,
			"projections": slicedProjections, "phase": "fwd+bwd", "compute": dtype, "value": value}.with(t)); err != nil {
			return err
		}
		bar.Add(1)
	}
	return nil
}

// Issue 19's unbalanced workload: the converged divergences between 256 and 256 pool
// points at ε = 1 (reference.py's n = 256 case), to ℓ1 marginal error 1e-6, with
// gradients; ρ = 10 is the KL penalty of the unbalanced one.
const (
	unbN   = 256
	unbEps = 1.0
	unbRho = 10.0
	unbTol = 1e-6
)

// benchUnbalanced times ot.UnbalancedDivergence against ot.SinkhornDivergence on the
// same points, ε, tolerance and options, alternating the two in every repetition so
// that both see the same load, and emits one row per solver and one with the ratios
// (unbalanced over balanced) of minimums and of medians.
func benchUnbalanced(emit func(row) error, bars io.Writer, tm timer, pool *mat.Dense) error {
	const d = 784
	x := mat.DenseCopyOf(pool.Slice(0, unbN, 0, d))
	y := mat.DenseCopyOf(pool.Slice(unbN, 2*unbN, 0, d))
	opts := &ot.DivergenceOptions{Grad: true, SinkhornOptions: ot.SinkhornOptions{Tol: unbTol}}
	var bal *ot.DivergenceResult
	var unb *ot.UnbalancedDivergenceResult
	runs := []func() error{
		func() (err error) {
			bal, err = ot.SinkhornDivergence(x, y, nil, nil, ot.SqEuclidean, unbEps, opts)
			return err
		},
		func() (err error) {
			unb, err = ot.UnbalancedDivergence(x, y, nil, nil, ot.SqEuclidean, unbEps, unbRho, opts)
			return err
		},
	}
	start := time.Now()
	for _, run := range runs { // warm-up
		if err := run(); err != nil {
			return err
		}
	}
	reps := tm.fit(tm.reps, time.Since(start))
	bar := progress.New(bars, "unbalanced", reps)
	defer bar.Finish()
	ts := [2][]float64{make([]float64, reps), make([]float64, reps)}
	for i := 0; i < reps; i++ {
		for k, run := range runs {
			start := time.Now()
			if err := run(); err != nil {
				return err
			}
			ts[k][i] = msSince(start)
		}
		bar.Add(1)
	}
	common := row{"bench": "converged_divergence", "n": unbN, "d": d, "eps": unbEps, "tol": unbTol, "norm": 1, "phase": "fwd+bwd"}
	sb, su := summary(ts[0]), summary(ts[1])
	rows := []row{
		row{"impl": "go-balanced", "value": bal.Value, "iterations": bal.Iterations, "converged": bal.Converged}.with(common).with(sb),
		row{"impl": "go-unbalanced", "rho": unbRho, "value": unb.Value, "iterations": unb.Iterations, "converged": unb.Converged}.with(common).with(su),
		row{"bench": "unbalanced_over_balanced", "n": unbN, "d": d, "eps": unbEps, "rho": unbRho, "tol": unbTol,
			"ratio_min": su["ms_min"].(float64) / sb["ms_min"].(float64), "ratio_median": su["ms"].(float64) / sb["ms"].(float64), "reps": reps},
	}
	for _, r := range rows {
		if err := emit(r); err != nil {
			return err
		}
	}
	return nil
}
