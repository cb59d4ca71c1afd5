package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/sinkgen/sinkgen/eval"
	"github.com/sinkgen/sinkgen/train"
)

// stat is a mean and sample standard deviation over seeds.
type stat struct {
	mean, sd float64
	n        int
}

func meanSD(v []float64) stat {
	var s stat
	for _, x := range v {
		if !math.IsNaN(x) {
			s.mean += x
			s.n++
		}
	}
	if s.n == 0 {
		return stat{mean: math.NaN(), sd: math.NaN()}
	}
	s.mean /= float64(s.n)
	if s.n < 2 {
		s.sd = math.NaN()
		return s
	}
	for _, x := range v {
		if !math.IsNaN(x) {
			s.sd += (x - s.mean) * (x - s.mean)
		}
	}
	s.sd = math.Sqrt(s.sd / float64(s.n-1))
	return s
}

func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == math.Trunc(v) && math.Abs(v) < 1e6:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1000 || math.Abs(v) < 0.001:
		return fmt.Sprintf("%.3g", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func (s stat) String() string {
	if math.IsNaN(s.mean) {
		return "–"
	}
	if math.IsNaN(s.sd) {
		return fmtNum(s.mean)
	}
	return fmtNum(s.mean) + " ± " + fmtNum(s.sd)
}

// column is one metric column of a table.
type column struct {
	key, name string
	better    int
}

// columns lists the headline metrics computed for at least one run.
func columns(er *expResult) []column {
	var cols []column
	if len(er.Runs) == 0 {
		return nil
	}
	for i, h := range er.Runs[0].Metrics.Headlines() {
		any := false
		for _, r := range er.Runs {
			if hs := r.Metrics.Headlines(); i < len(hs) && !math.IsNaN(hs[i].Value) {
				any = true
			}
		}
		if any {
			cols = append(cols, column{h.Key, h.Name, h.Better})
		}
	}
	return cols
}

func headline(m *eval.Metrics, key string) float64 {
	if m == nil {
		return math.NaN()
	}
	for _, h := range m.Headlines() {
		if h.Key == key {
			return h.Value
		}
	}
	return math.NaN()
}

// table returns the Markdown metrics table of an experiment: one row per variant
// (mean ± sd over seeds), the best mean of each column in bold, then the real-data
// row.
func table(er *expResult) string {
	cols := columns(er)
	var b strings.Builder
	b.WriteString("| loss |")
	for _, c := range cols {
		arrow := map[int]string{-1: " ↓", 1: " ↑", 0: " (½ best)"}[c.better]
		b.WriteString(" " + c.name + arrow + " |")
	}
	b.WriteString(" L | marginal error | train s/run |\n|---|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("---|---|---|\n")
	stats := make([][]stat, len(er.Variants))
	times := make([]stat, len(er.Variants))
	marg := make([]stat, len(er.Variants))
	for vi, v := range er.Variants {
		var t, me []float64
		for _, c := range cols {
			var vals []float64
			for _, r := range er.Runs {
				if r.Variant == v.Name {
					vals = append(vals, headline(r.Metrics, c.key))
				}
			}
			stats[vi] = append(stats[vi], meanSD(vals))
		}
		for _, r := range er.Runs {
			if r.Variant == v.Name {
				t = append(t, r.TrainSecs)
				if r.MarginalError != nil {
					me = append(me, *r.MarginalError)
				}
			}
		}
		times[vi], marg[vi] = meanSD(t), meanSD(me)
	}
	// best[ci] lists the rows whose mean scores best in column ci; all of them are
	// bold (none when every row ties), and † needs a significant difference from
	// each of them.
	best := make([][]int, len(cols))
	for ci, c := range cols {
		score := func(m float64) float64 {
			switch c.better {
			case -1:
				return m
			case 1:
				return -m
			}
			return math.Abs(m - 0.5)
		}
		top := math.Inf(1)
		for vi := range er.Variants {
			if m := stats[vi][ci].mean; !math.IsNaN(m) {
				top = min(top, score(m))
			}
		}
		for vi := range er.Variants {
			if m := stats[vi][ci].mean; !math.IsNaN(m) && score(m) == top {
				best[ci] = append(best[ci], vi)
			}
		}
		if len(best[ci]) == len(er.Variants) {
			best[ci] = nil
		}
	}
	for vi, v := range er.Variants {
		b.WriteString("| " + v.Name + " |")
		for ci := range cols {
			s := stats[vi][ci].String()
			differs := len(best[ci]) > 0
			for _, bi := range best[ci] {
				if bi == vi {
					s, differs = "**"+s+"**", false
					break
				}
				differs = differs && significant(stats[vi][ci], stats[bi][ci])
			}
			if differs {
				s += " †"
			}
			b.WriteString(" " + s + " |")
		}
		l := "–"
		if v.Iters > 0 {
			l = fmt.Sprint(v.Iters)
		}
		m := marg[vi].String()
		if marg[vi].mean > MarginalTol {
			m += " ⚠"
		}
		b.WriteString(" " + l + " | " + m + " | " + times[vi].String() + " |\n")
	}
	if er.Real != nil {
		b.WriteString("| *real data (held-out)* |")
		for _, c := range cols {
			b.WriteString(" *" + fmtNum(headline(er.Real, c.key)) + "* |")
		}
		b.WriteString(" | | |\n")
	}
	return b.String()
}

// SignificanceLevel is the level of the two-sided Welch t-tests that mark (†) a
// row's mean as different from the best row's.
const SignificanceLevel = 0.05

// MarginalTol is the tolerance on a training run's final Sinkhorn marginal error
// above which the report flags (⚠) the loss as an unconverged solve.
const MarginalTol = 0.01

// significant reports whether Welch's t-test over the seeds rejects equal means of
// a and b at SignificanceLevel.
func significant(a, b stat) bool {
	_, _, p := eval.Welch(a.mean, a.sd, a.n, b.mean, b.sd, b.n)
	return p < SignificanceLevel
}

// writeReport writes results.json, the figures and report.md.
func writeReport(rep *report) error {
	if err := writeJSON(filepath.Join(rep.Out, "results.json"), rep); err != nil {
		return err
	}
	var md strings.Builder
	title := "Wasserstein vs MMD: loss comparison"
	if rep.Quick {
		title += " (quick)"
	}
	fmt.Fprintf(&md, "# %s\n\n", title)
	fmt.Fprintf(&md, "`go run ./cmd/compare -config %s%s` — started %s, %.0f s on %d threads. "+
		"Seeds %v; each run is evaluated on %d generated points (latent seed %d) against %d held-out points "+
		"(package eval; cmd/eval prints the same metrics for one run). Mean ± sample standard deviation over the seeds; "+
		"↓ lower is better, ↑ higher is better; the C2ST accuracy is best at ½; the best mean of each column is in bold (every row that ties for it; none when all rows tie), "+
		"and † marks a mean that differs from each bold one by Welch's two-sided t-test over the seeds at p < %g "+
		"(unmarked: not distinguishable from the best with these seeds; with 2 seeds a group has 1 degree of freedom, so only large, "+
		"consistent differences are marked). L is the Sinkhorn iterations per solve of the training loss (– for losses without one), "+
		"the marginal error ‖P1 − a‖₁ of its cross problem is averaged over the last 10%% of the steps, ⚠ above the tolerance %g. "+
		"The *real data* row evaluates a second held-out sample of the same size: what a perfect generator would score.\n\n",
		rep.Config, map[bool]string{true: " -quick", false: ""}[rep.Quick], rep.Started, rep.Seconds, rep.Threads,
		rep.Seeds, rep.Samples, rep.EvalSeed, rep.Samples, SignificanceLevel, MarginalTol)
	if c := rep.Classifier; c != nil {
		fmt.Fprintf(&md, "MNIST classifier: MLP %v, %.2f%% test accuracy.\n\n", c.Sizes, 100*c.TestAccuracy)
	}
	for _, er := range rep.Experiments {
		b := er.Base
		fmt.Fprintf(&md, "## %s\n\n", er.Name)
		fmt.Fprintf(&md, "Base config `%s`", er.Config)
		if len(er.Set) > 0 {
			fmt.Fprintf(&md, " with `%s`", strings.Join(er.Set, "`, `"))
		}
		fmt.Fprintf(&md, ": data %s, %d steps of batch %d, model %s %v (latent %d), optimizer %s (lr %g). "+
			"Evaluation: S_ε at ε = %g, MMD bandwidths %v.\n\n",
			b.Data.Kind, b.Steps, b.BatchSize, b.Model.Kind, b.Model.Hidden, b.Model.LatentDim, b.Optimizer.Kind, b.Optimizer.LR,
			er.target.Options.Distances.Eps, er.target.Options.Distances.Bandwidths)
		fmt.Fprintf(&md, "Median over the pairs of the held-out sample: ½|x−y|² = %s, |x−y| = %s (the scale of ε for each cost).\n\n",
			fmtNum(er.MedianCost[0]), fmtNum(er.MedianCost[1]))
		md.WriteString("| loss | keys |\n|---|---|\n")
		for _, v := range er.Variants {
			fmt.Fprintf(&md, "| %s | `%s` |\n", v.Name, strings.Join(v.Set, "`, `"))
		}
		md.WriteString("\n")
		md.WriteString(table(er))
		md.WriteString("\n")
		samplesPNG := fmt.Sprintf("samples-%s.png", er.Name)
		if err := writeSamples(filepath.Join(rep.Out, samplesPNG), er, rep.Grid); err != nil {
			return err
		}
		curvesPNG := fmt.Sprintf("curves-%s.png", er.Name)
		if err := writeCurves(filepath.Join(rep.Out, curvesPNG), er); err != nil {
			return err
		}
		fmt.Fprintf(&md, "Samples of the first seed of each loss (and held-out data):\n\n![samples](%s)\n\n", samplesPNG)
		fmt.Fprintf(&md, "Training loss of every run (each panel its own loss, so scales differ; running mean over %d steps):\n\n![curves](%s)\n\n", smoothWindow(er), curvesPNG)
		md.WriteString("Runs:\n\n| loss | seed | steps | train s | final loss | reused | directory |\n|---|---|---|---|---|---|---|\n")
		for _, r := range er.Runs {
			fmt.Fprintf(&md, "| %s | %d | %d | %.1f | %s | %v | `%s` |\n", r.Variant, r.Seed, r.Steps, r.TrainSecs, fmtNum(r.FinalLoss), r.Reused, r.Dir)
		}
		md.WriteString("\n")
	}
	return writeBytes(filepath.Join(rep.Out, "report.md"), []byte(md.String()))
}

func smoothWindow(er *expResult) int { return max(1, er.Steps/50) }

// firstSeedRuns returns, per variant, the run of the first seed.
func firstSeedRuns(er *expResult) []*runResult {
	var out []*runResult
	for _, v := range er.Variants {
		for _, r := range er.Runs {
			if r.Variant == v.Name {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func writeSamples(path string, er *expResult, grid int) error {
	runs := firstSeedRuns(er)
	if er.Data == "mnist" {
		names := []string{"real data"}
		imgs := [][]float32{float32s(er.target.Ref, grid)}
		for _, r := range runs {
			names = append(names, r.Variant)
			imgs = append(imgs, r.samples)
		}
		cols := int(math.Ceil(math.Sqrt(float64(grid))))
		return saveImagePanel(path, names, imgs, cols, 4, 2)
	}
	var plots []*plot.Plot
	lim := 0.0
	for _, v := range er.refPts {
		lim = math.Max(lim, math.Abs(float64(v)))
	}
	lim = math.Ceil(lim*1.15*2) / 2
	for _, r := range runs {
		p, err := train.Scatter(r.Variant, r.samples, er.refPts)
		if err != nil {
			return err
		}
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -lim, lim, -lim, lim
		plots = append(plots, p)
	}
	return train.SavePlots(path, plots, 4, 3.2*vg.Inch, 3.2*vg.Inch)
}

func writeCurves(path string, er *expResult) error {
	var plots []*plot.Plot
	for _, v := range er.Variants {
		var cs []train.Curve
		for _, r := range er.Runs {
			if r.Variant == v.Name {
				cs = append(cs, train.Curve{Label: fmt.Sprintf("seed %d", r.Seed), Steps: r.curveSteps, Values: r.curveLosses, Window: smoothWindow(er)})
			}
		}
		p, err := train.CurvesPlot(v.Name, "loss", cs)
		if err != nil {
			return err
		}
		plots = append(plots, p)
	}
	return train.SavePlots(path, plots, 4, 3.2*vg.Inch, 2.6*vg.Inch)
}
