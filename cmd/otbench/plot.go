package main

import (
	"fmt"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/sinkgen/sinkgen/train"
)

// plotSeed draws time against histogram dimension, log–log, one line per solver
// (impl and γ) found among the seedplot rows.
func plotSeed(file string, rows []row) error {
	series := map[string]plotter.XYs{}
	var names []string
	for _, r := range rows {
		if r["bench"] != "seedplot" {
			continue
		}
		dim, okD := number(r["dim"])
		ms, okM := number(r["ms"])
		if !okD || !okM || ms <= 0 {
			continue
		}
		name := fmt.Sprint(r["impl"])
		if g, ok := number(r["gamma"]); ok {
			name += fmt.Sprintf(" γ=%g", g)
		}
		if tol, ok := number(r["tol"]); ok {
			name += fmt.Sprintf(" tol=%g", tol)
		}
		if _, seen := series[name]; !seen {
			names = append(names, name)
		}
		series[name] = append(series[name], plotter.XY{X: dim, Y: ms})
	}
	if len(names) == 0 {
		return fmt.Errorf("plot: no seedplot rows to draw")
	}
	slices.Sort(names)
	p := plot.New()
	// The stopping rules as the solvers apply them: ot.Sinkhorn with ErrorNorm 2 tests
	// ‖P1 − a‖₂ after each column update (Pᵀ1 = b exact); POT's sinkhorn tests
	// ‖Pᵀ1 − b‖₂ after a row update, at every 10th iteration.
	p.Title.Text = "Exact OT vs Sinkhorn, histograms uniform on the simplex\n" +
		"Sinkhorn stops at ℓ2 marginal error ≤ 1e-2 (POT's stopThr) or ℓ1 ≤ 1e-6: Go tests\n" +
		"the row sums every iteration, POT (reference rows) the column sums every 10th"
	p.X.Label.Text = "histogram dimension"
	p.Y.Label.Text = "time (ms)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	var ticks []plot.Tick
	for d := 64; d <= 1<<16; d *= 2 {
		ticks = append(ticks, plot.Tick{Value: float64(d), Label: fmt.Sprint(d)})
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(ticks), plot.LogTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	var args []any
	for _, n := range names {
		args = append(args, n, series[n])
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	return train.SavePlots(file, []*plot.Plot{p}, 1, 7*vg.Inch, 5*vg.Inch)
}

func number(v any) (float64, bool) {
	f, ok := v.(float64)
	if !ok {
		if i, isInt := v.(int); isInt {
			return float64(i), true
		}
	}
	return f, ok
}
