package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/eval"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const tinyToy = `
name = "t"
seeds = [1, 2]
samples = 120
grid = 16
[quick]
seeds = [3]
samples = 60
[[experiment]]
name = "toy"
config = "../../configs/toy2d.toml"
set = ["steps=30", "log.checkpoint_every=10"]
quick_set = ["steps=10"]
  [[experiment.variant]]
  name = "S_ε ε=0.1"
  set = ["loss.kind=sinkhorn", "loss.eps=0.1"]
  quick_set = ["loss.eps=0.2"]
  [[experiment.variant]]
  name = "MMD"
  set = ["loss.kind=mmd", "loss.bandwidths=[0.1, 1]"]
  quick = false
`

func TestConfigQuickAndValidation(t *testing.T) {
	c, err := loadCompareConfig(writeConfig(t, tinyToy), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Seeds) != 2 || c.Samples != 120 || len(c.Experiments[0].Variants) != 2 || len(c.Experiments[0].Set) != 2 {
		t.Errorf("full: %+v", c)
	}
	q, err := loadCompareConfig(writeConfig(t, tinyToy), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Seeds) != 1 || q.Seeds[0] != 3 || q.Samples != 60 || len(q.Experiments[0].Variants) != 1 ||
		q.Experiments[0].Set[len(q.Experiments[0].Set)-1] != "steps=10" || q.Experiments[0].Variants[0].Set[2] != "loss.eps=0.2" {
		t.Errorf("quick: %+v", q)
	}
	for name, body := range map[string]string{
		"unknown key":     strings.Replace(tinyToy, "grid = 16", "grid = 16\ncolour = 1", 1),
		"non-loss key":    strings.Replace(tinyToy, `"loss.eps=0.1"`, `"loss.eps=0.1", "optimizer.lr=1"`, 1),
		"non-loss quick":  strings.Replace(tinyToy, `"loss.eps=0.2"`, `"batch_size=8"`, 1),
		"seed in set":     strings.Replace(tinyToy, `set = ["steps=30"`, `set = ["seed=4", "steps=30"`, 1),
		"seed twice":      strings.Replace(tinyToy, "seeds = [1, 2]", "seeds = [1, 1]", 1),
		"same directory":  strings.Replace(tinyToy, `name = "MMD"`, `name = "s_ε ε 0.1"`, 1),
		"no variant":      tinyToy[:strings.Index(tinyToy, "  [[experiment.variant]]")],
		"quick unknown":   strings.Replace(tinyToy, "samples = 60", "samples = 60\nexperiments = [\"mnist\"]", 1),
		"too few samples": strings.Replace(tinyToy, "samples = 120", "samples = 5", 1),
	} {
		if _, err := loadCompareConfig(writeConfig(t, body), false); err == nil {
			if _, err := loadCompareConfig(writeConfig(t, body), true); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	}
	// An unknown key: its line and the closest key, as for training configs.
	_, err = loadCompareConfig(writeConfig(t, strings.Replace(tinyToy, "grid = 16", "gird = 16", 1)), false)
	if err == nil || !regexp.MustCompile(`: line \d+: unknown key gird \(did you mean grid\?\)$`).MatchString(err.Error()) {
		t.Errorf("misspelt key: %v", err)
	}
}

// The repository's comparison config loads in both modes, and every run it plans
// differs from its experiment's base only in the loss, the seed and the name.
func TestRepositoryCompareConfig(t *testing.T) {
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join("..", "..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	for _, quick := range []bool{false, true} {
		c, err := loadCompareConfig(filepath.Join("configs", "compare.toml"), quick)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range c.Experiments {
			er, err := planExperiment(c, e)
			if err != nil {
				t.Fatal(err)
			}
			if len(er.Variants) < 5 {
				t.Errorf("%s: %d variants", e.Name, len(er.Variants))
			}
		}
	}
}

// Every variant name of the repository's comparison labels the image grids without
// a character the bitmap font lacks (drawn as '?').
func TestRepositoryLabelsAreASCII(t *testing.T) {
	c, err := loadCompareConfig(filepath.Join("..", "..", "configs", "compare.toml"), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Experiments {
		for _, v := range e.Variants {
			if l := asciiLabel(v.Name); strings.Contains(l, "?") {
				t.Errorf("%s: variant %q is labelled %q", e.Name, v.Name, l)
			}
		}
	}
}

func TestMeanSDAndTable(t *testing.T) {
	s := meanSD([]float64{1, 2, 3, math.NaN()})
	if s.mean != 2 || s.sd != 1 || s.n != 3 {
		t.Errorf("meanSD: %+v", s)
	}
	if got := lastPerKey([]string{"loss.eps=1", "loss.kind=sinkhorn", "loss.eps = 2"}); strings.Join(got, ";") != "loss.eps = 2;loss.kind=sinkhorn" {
		t.Errorf("lastPerKey: %q", got)
	}
	if one := meanSD([]float64{5}); one.String() != "5" {
		t.Errorf("one value: %q", one.String())
	}
	if none := meanSD(nil); none.String() != "–" {
		t.Errorf("no value: %q", none.String())
	}
	for _, c := range []struct {
		in  []string
		out string
	}{
		{[]string{"S_ε ε=0.1"}, "s-eps-eps-0.1"}, {[]string{"energy (ε=∞)"}, "energy-eps-inf"}, {[]string{"MMD Gaussian mix"}, "mmd-gaussian-mix"},
	} {
		if got := slug(c.in[0]); got != c.out {
			t.Errorf("slug(%q) = %q, want %q", c.in[0], got, c.out)
		}
	}
}

// A whole comparison on a tiny toy config: report, figures, JSON; a second call
// reuses every run and reproduces the numbers; a run whose last checkpoint was lost
// is resumed; -retrain retrains.
func TestCompareEndToEnd(t *testing.T) {
	cfg := writeConfig(t, tinyToy)
	out := filepath.Join(t.TempDir(), "out")
	var log bytes.Buffer
	if err := run(context.Background(), []string{"-config", cfg, "-out", out, "-q"}, &log, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## toy", "| S_ε ε=0.1 |", "| MMD |", "*real data (held-out)*", "modes covered (of 8)", "train s/run", "| L | marginal error |", "Median over the pairs of the held-out sample", "Welch", "samples-toy.png", "curves-toy.png"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, f := range []string{"samples-toy.png", "curves-toy.png"} {
		fh, err := os.Open(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(fh); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		fh.Close()
	}
	read := func() *report { return readResults(t, out) }
	first := read()
	runs := first.Experiments[0].Runs
	if len(runs) != 4 || runs[0].Reused || runs[0].Steps != 30 || runs[0].Metrics.Modes == nil {
		t.Fatalf("runs: %+v", runs)
	}
	// S_ε solves with L = 50 (toy2d.toml) and logs its marginal error; MMD solves none
	if v := first.Experiments[0].Variants; v[0].Iters != 50 || v[1].Iters != 0 {
		t.Errorf("L: %+v", v)
	}
	if me := runs[0].MarginalError; me == nil || !(*me > 0) || runs[2].MarginalError != nil {
		t.Errorf("marginal errors %v (S_ε), %v (MMD)", me, runs[2].MarginalError)
	}
	if mc := first.Experiments[0].MedianCost; !(mc[0] > 0) || math.Abs(mc[1]-math.Sqrt(2*mc[0])) > 1e-12 {
		t.Errorf("median costs %v", mc)
	}
	// Again: every run reused, same numbers.
	log.Reset()
	if err := run(context.Background(), []string{"-config", cfg, "-out", out, "-q"}, &log, &log); err != nil {
		t.Fatal(err)
	}
	second := read()
	for i, r := range second.Experiments[0].Runs {
		if !r.Reused || r.Metrics.Distances.OT != runs[i].Metrics.Distances.OT || r.TrainSecs != runs[i].TrainSecs {
			t.Errorf("run %d: reused %v, OT %v vs %v", i, r.Reused, r.Metrics.Distances.OT, runs[i].Metrics.Distances.OT)
		}
	}
	// Lose the last checkpoint of one run: it resumes from step 20 and ends as before
	// (training is bit-for-bit reproducible across resumptions).
	dir := runs[1].Dir
	if err := os.Remove(filepath.Join(dir, "ckpt", "step-00000030.ckpt")); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"-config", cfg, "-out", out, "-q"}, &log, &log); err != nil {
		t.Fatal(err)
	}
	third := read()
	if r := third.Experiments[0].Runs[1]; r.Reused || r.Metrics.Distances.OT != runs[1].Metrics.Distances.OT {
		t.Errorf("resumed run: reused %v, OT %v, want %v", r.Reused, r.Metrics.Distances.OT, runs[1].Metrics.Distances.OT)
	}
	if err := run(context.Background(), []string{"-config", cfg, "-out", out, "-q", "-retrain"}, &log, &log); err != nil {
		t.Fatal(err)
	}
	for i, r := range read().Experiments[0].Runs {
		if r.Reused {
			t.Errorf("-retrain reused run %d", i)
		}
	}
}

// readResults loads the results.json a comparison wrote into out.
func readResults(t *testing.T, out string) *report {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// -experiments runs a subset; a later run of them all, from the same binaries given
// with -bin, reuses its finished runs, and an unknown name is an error that lists the
// experiments.
func TestExperimentsSubset(t *testing.T) {
	two := tinyToy + strings.Replace(tinyToy[strings.Index(tinyToy, "[[experiment]]"):], `name = "toy"`, `name = "toy-b"`, 1)
	cfg := writeConfig(t, two)
	out := filepath.Join(t.TempDir(), "out")
	var log bytes.Buffer
	err := run(context.Background(), []string{"-config", cfg, "-out", out, "-q", "-experiments", "toy, nosuch"}, &log, &log)
	if err == nil || !strings.Contains(err.Error(), `"nosuch" is not an experiment (have toy, toy-b)`) {
		t.Fatalf("unknown experiment: %v", err)
	}
	read := func() *report { return readResults(t, out) }
	if err := run(context.Background(), []string{"-config", cfg, "-out", out, "-q", "-quick", "-experiments", "toy-b"}, &log, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	sub := read()
	if len(sub.Experiments) != 1 || sub.Experiments[0].Name != "toy-b" {
		t.Fatalf("-experiments toy-b ran %d experiments", len(sub.Experiments))
	}
	// The larger run takes the first run's binaries with -bin instead of building
	// them, and still reuses its runs: the code version is the binaries'.
	prebuilt := t.TempDir()
	for _, name := range []string{"train", "eval", "sweep"} {
		b, err := os.ReadFile(filepath.Join(out, "bin", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(prebuilt, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	err = run(context.Background(), []string{"-config", cfg, "-out", out, "-q", "-quick", "-bin", filepath.Join(prebuilt, "nosuch")}, &log, &log)
	if err == nil || !strings.Contains(err.Error(), "-bin") {
		t.Errorf("-bin of a missing directory: %v", err)
	}
	if err := run(context.Background(), []string{"-config", cfg, "-out", out, "-q", "-quick", "-bin", prebuilt}, &log, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	all := read()
	if len(all.Experiments) != 2 {
		t.Fatalf("%d experiments", len(all.Experiments))
	}
	for _, e := range all.Experiments {
		for i, r := range e.Runs {
			if reused := e.Name == "toy-b"; r.Reused != reused {
				t.Errorf("%s run %d: reused %v, want %v", e.Name, i, r.Reused, reused)
			} else if reused && r.Metrics.Distances.OT != sub.Experiments[0].Runs[i].Metrics.Distances.OT {
				t.Errorf("%s run %d: OT %v, was %v", e.Name, i, r.Metrics.Distances.OT, sub.Experiments[0].Runs[i].Metrics.Distances.OT)
			}
		}
	}
}

// -jobs shares the cores out among the runs unless -threads says otherwise; one run
// at a time (the default) uses them all, as compare did before it ran a sweep.
func TestJobsAndThreads(t *testing.T) {
	for _, c := range []struct {
		args    []string
		threads int
	}{
		{nil, runtime.NumCPU()},
		{[]string{"-jobs", "2"}, max(1, runtime.NumCPU()/2)},
		{[]string{"-jobs", "2", "-threads", "3"}, 3},
		{[]string{"-executor", "slurm"}, 0}, // the sweep's default on Slurm
	} {
		f, err := parseFlags(c.args, io.Discard)
		if err != nil || f.threads != c.threads {
			t.Errorf("%q: threads %v, %v; want %d", c.args, f, err, c.threads)
		}
	}
	for _, args := range [][]string{{"-jobs", "0"}, {"-threads", "-1"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// The table marks (†) the rows whose mean differs significantly from the best row's
// by Welch's test, shows L and the marginal error, and flags (⚠) an error above
// MarginalTol.
func TestTableSignificanceAndMarginalError(t *testing.T) {
	er := &expResult{Variants: []variantInfo{{Name: "best", Iters: 50}, {Name: "far"}, {Name: "near", Iters: 7}}}
	w2 := map[string][]float64{"best": {1, 1.1, 0.9, 1.05, 0.95}, "far": {2, 2.1, 1.9, 2.05, 1.95}, "near": {1.05, 1.3, 0.8, 1.2, 1}}
	me := map[string]float64{"best": 0.02, "near": 0.001}
	for _, v := range er.Variants {
		for i, w := range w2[v.Name] {
			r := &runResult{Variant: v.Name, Seed: uint64(i), Metrics: &eval.Metrics{Distances: &eval.Distances{W2: w}}}
			if m, ok := me[v.Name]; ok {
				r.MarginalError = &m
			}
			er.Runs = append(er.Runs, r)
		}
	}
	rows := map[string]string{}
	for _, line := range strings.Split(table(er), "\n") {
		if f := strings.Split(line, "|"); len(f) > 2 {
			rows[strings.TrimSpace(f[1])] = line
		}
	}
	if !strings.Contains(rows["best"], "**1 ± 0.079**") || strings.Contains(rows["best"], "†") {
		t.Errorf("best row: %q", rows["best"])
	}
	if !strings.Contains(rows["far"], "2 ± 0.079 †") {
		t.Errorf("far row not marked significant: %q", rows["far"])
	}
	if strings.Contains(rows["near"], "†") {
		t.Errorf("near row marked significant: %q", rows["near"])
	}
	if !strings.Contains(rows["best"], "| 50 | 0.020 ± 0 ⚠ |") || !strings.Contains(rows["far"], "| – | – |") || !strings.Contains(rows["near"], "| 7 | 0.001 ± 0 |") {
		t.Errorf("L and marginal error:\n%s\n%s\n%s", rows["best"], rows["far"], rows["near"])
	}
}

// Rows that tie for the best mean are all bold, a row is marked † only if it differs
// from each of them, and a column where every row ties has no bold.
func TestTableTiesForBest(t *testing.T) {
	er := &expResult{Variants: []variantInfo{{Name: "a"}, {Name: "b"}, {Name: "far"}, {Name: "near"}}}
	w2 := map[string][]float64{"a": {1, 1.1, 0.9, 1.05, 0.95}, "b": {0.9, 1.1, 1, 0.95, 1.05}, "far": {2, 2.1, 1.9, 2.05, 1.95}, "near": {1.05, 1.3, 0.8, 1.2, 1}}
	for _, v := range er.Variants {
		for i, w := range w2[v.Name] {
			er.Runs = append(er.Runs, &runResult{Variant: v.Name, Seed: uint64(i), Metrics: &eval.Metrics{Distances: &eval.Distances{W2: w}}})
		}
	}
	rows := map[string]string{}
	for _, line := range strings.Split(table(er), "\n") {
		if f := strings.Split(line, "|"); len(f) > 2 {
			rows[strings.TrimSpace(f[1])] = line
		}
	}
	for _, name := range []string{"a", "b"} {
		if !strings.Contains(rows[name], "**1 ± 0.079**") || strings.Contains(rows[name], "†") {
			t.Errorf("tied best row %s: %q", name, rows[name])
		}
	}
	if !strings.Contains(rows["far"], "2 ± 0.079 †") {
		t.Errorf("far row not marked significant: %q", rows["far"])
	}
	if strings.Contains(rows["near"], "†") {
		t.Errorf("near row marked significant: %q", rows["near"])
	}
	if strings.Count(rows["a"], "**") != 2 || !strings.Contains(rows["a"], "| 0 ± 0 |") {
		t.Errorf("a column where every row ties is marked: %q", rows["a"])
	}
}

func TestTailMeanAndMedianCosts(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		v    []float64
		want float64
	}{
		{[]float64{9, 9, 9, 9, 9, 9, 9, 9, 9, 1, 3}, 2}, // the last ⌈1.1⌉ = 2
		{[]float64{5}, 5},
		{[]float64{nan, nan}, nan},
		{[]float64{0, 0, 0}, nan}, // no solve logged
	} {
		if got := tailMean(c.v, 0.1); !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("tailMean(%v) = %v, want %v", c.v, got, c.want)
		}
	}
	// points 0, 1, 3 on a line: distances 1, 3, 2; halved squares 0.5, 4.5, 2
	x := mat.NewDense(3, 2, []float64{0, 5, 1, 5, 3, 5})
	if got := medianCosts(x); got != [2]float64{2, 2} {
		t.Errorf("medianCosts = %v, want [2 2]", got)
	}
	// four points: of an even count, the lower of the middle two
	x = mat.NewDense(4, 1, []float64{0, 1, 2, 4})
	// |x−y|: 1 2 4 1 3 2 → middle 2, 2; ½|x−y|²: 0.5 2 8 0.5 4.5 2 → 2
	if got := medianCosts(x); got != [2]float64{2, 2} {
		t.Errorf("medianCosts = %v, want [2 2]", got)
	}
}
