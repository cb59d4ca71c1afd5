package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sinkgen/sinkgen/eval"
	"github.com/sinkgen/sinkgen/losses"
	"github.com/sinkgen/sinkgen/train"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// itersBatches is the number of batch pairs -iters averages over.
const itersBatches = 8

// ItersCheck is -iters' answer: how far the run's training loss is from converged at
// each L, on batches like the run's, so that L can be chosen without training again.
type ItersCheck struct {
	Kind  string     `json:"kind"`
	Eps   float64    `json:"eps"` // at the checkpoint's step
	Batch int        `json:"batch"`
	Pairs int        `json:"pairs"`
	Rows  []ItersRow `json:"rows"`
}

// ItersRow is one L of an ItersCheck.
type ItersRow struct {
	Iters int `json:"iters"`
	// MarginalError is ‖P1 − a‖₁ of the cross problem after Iters iterations
	// (losses.Stats), mean and sample standard deviation over the pairs.
	MarginalError   float64 `json:"marginal_error"`
	MarginalErrorSD float64 `json:"marginal_error_sd"`
	Seconds         float64 `json:"seconds"` // per evaluation of the whole loss
}

// parseIters reads -iters: a comma-separated list of positive iteration counts.
func parseIters(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 100000 {
			return nil, fmt.Errorf("-iters: %q is not an iteration count in [1, 100000]", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// checkIters evaluates the run's training loss, at its ε of the checkpoint's step,
// between itersBatches pairs of batches as training draws them: the generator's
// samples (latent seed seed+1+k) against batches of the data the run trains on
// (train.OpenData, shuffled with seed), at each L of iters. The loss runs in float64
// outside the graph; training's float32 solves agree with it to a few per cent in the
// marginal error.
func checkIters(src *source, iters []int, seed uint64, progress io.Writer) (*ItersCheck, error) {
	cfg := src.cfg
	if cfg.Critic.Enabled() {
		return nil, errors.New("-iters: the run's loss compares critic features (critic.kind); the check covers fixed costs")
	}
	lc, sched, err := cfg.Loss.Losses("loss.")
	if err != nil {
		return nil, fmt.Errorf("-iters: %w", err)
	}
	if !lc.Kind.HasEps() {
		return nil, fmt.Errorf("-iters: loss.kind = %q has no Sinkhorn iterations", lc.Kind)
	}
	if sched.Kind != "" {
		lc.Eps = sched.At(src.step)
	}
	if math.IsInf(lc.Eps, 1) {
		return nil, errors.New("-iters: at ε = ∞ the loss is closed-form, without iterations")
	}
	nGen, nData := cfg.GenBatchSize, cfg.BatchSize
	if nGen == 0 {
		nGen = nData
	}
	if lc.Batch > 1 { // B stacked pairs per step: check one pair
		nGen, nData, lc.Batch = nGen/lc.Batch, nData/lc.Batch, 0
	}
	d, err := train.OpenData(cfg, progress)
	if err != nil {
		return nil, fmt.Errorf("-iters: %w", err)
	}
	batches, err := d.Source(seed, true)
	if err != nil {
		return nil, fmt.Errorf("-iters: %w", err)
	}
	out := &ItersCheck{Kind: string(lc.Kind), Eps: lc.Eps, Batch: nData, Pairs: itersBatches}
	gens := make([]*mat.Dense, itersBatches)
	datas := make([]*mat.Dense, itersBatches)
	buf := make([]float32, nData*batches.Dim())
	for k := range gens {
		if gens[k], err = eval.Sample(src.gen, nGen, seed+1+uint64(k)); err != nil {
			return nil, err
		}
		batches.Next(buf)
		datas[k] = eval.DenseFromFloat32(buf, nData, batches.Dim())
	}
	for _, L := range iters {
		lc.Iters = L
		errs := make([]float64, itersBatches)
		t0 := time.Now()
		for k := range gens {
			_, _, _, st, err := losses.Evaluate(datas[k], gens[k], lc, losses.WantNone)
			if err != nil {
				return nil, fmt.Errorf("-iters %d: %w", L, err)
			}
			errs[k] = st.MarginalError
		}
		m, sd := stat.MeanStdDev(errs, nil)
		out.Rows = append(out.Rows, ItersRow{L, m, sd, time.Since(t0).Seconds() / itersBatches})
	}
	return out, nil
}

func printIters(w io.Writer, c *ItersCheck) {
	fmt.Fprintf(w, "\nSinkhorn marginal error ‖P1 − a‖₁ of the training loss (%s, ε = %g at this step), %d pairs of %d-point batches:\n",
		c.Kind, c.Eps, c.Pairs, c.Batch)
	fmt.Fprintf(w, "  %8s  %-22s  %s\n", "L", "marginal error", "s per loss")
	for _, r := range c.Rows {
		fmt.Fprintf(w, "  %8d  %-22s  %.3g\n", r.Iters, fmt.Sprintf("%.3g ± %.2g", r.MarginalError, r.MarginalErrorSD), r.Seconds)
	}
}
