package sweep

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/sinkgen/sinkgen/eval"
	"github.com/sinkgen/sinkgen/internal/atomicfile"
)

// RunResult is one run in results.json and results.csv.
type RunResult struct {
	Index     int                `json:"index"`
	Point     string             `json:"point"`
	Seed      uint64             `json:"seed"`
	Dir       string             `json:"dir"`
	ID        string             `json:"id"`
	Status    string             `json:"status"` // "done" or "failed"
	Failure   *Failure           `json:"failure,omitempty"`
	Resumed   bool               `json:"resumed,omitempty"`
	Reused    bool               `json:"reused,omitempty"` // finished before this invocation, not run again
	TrainSecs float64            `json:"train_seconds,omitempty"`
	EvalSecs  float64            `json:"eval_seconds,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"` // eval's headline metrics, computed ones only
}

// Summary is one metric of one point over its seeds.
type Summary struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"` // sample standard deviation (0 for one seed)
	N    int     `json:"n"`
}

// Results is results.json.
type Results struct {
	Name    string                        `json:"name"`
	Config  string                        `json:"config"`
	Version string                        `json:"version"`
	Threads int                           `json:"threads"`
	Runs    []RunResult                   `json:"runs"`
	Points  map[string]map[string]Summary `json:"points"` // point → metric key → summary
	metrics []eval.Headline               // the metrics reported, in eval's order
}

// gather reads every run's outcome from its directory.
func (s *sweepDir) gather(failures map[int]Failure) *Results {
	res := &Results{Name: s.plan.Name, Config: s.plan.Config, Version: s.plan.Version, Threads: s.plan.Threads,
		Points: map[string]map[string]Summary{}}
	seen := map[string]bool{}
	for _, r := range s.plan.Runs {
		rr := RunResult{Index: r.Index, Point: r.Point, Seed: r.Seed, Dir: r.Dir, ID: r.ID, Status: "failed"}
		rdir := filepath.Join(s.dir, r.Dir)
		var rec runRecord
		if readJSON(filepath.Join(rdir, resultFile), &rec) == nil && rec.ID == r.ID {
			rr.Status, rr.Resumed, rr.TrainSecs, rr.EvalSecs = "done", rec.Resumed, rec.TrainSec, rec.EvalSec
			rr.Reused = !s.ran[r.Index]
			var ev struct {
				Metrics *eval.Metrics `json:"metrics"`
			}
			if readJSON(filepath.Join(rdir, evalFile), &ev) == nil && ev.Metrics != nil {
				rr.Metrics = map[string]float64{}
				for _, h := range ev.Metrics.Headlines() {
					if math.IsNaN(h.Value) {
						continue
					}
					rr.Metrics[h.Key] = h.Value
					if !seen[h.Key] {
						seen[h.Key] = true
						res.metrics = append(res.metrics, h)
					}
				}
			}
		} else {
			f, ok := failures[r.Index]
			if !ok {
				f = Failure{Reason: "not finished", Tail: tail(s.logPath(r.Index), 20)}
			}
			rr.Failure = &f
		}
		res.Runs = append(res.Runs, rr)
	}
	for _, p := range res.points() {
		m := map[string]Summary{}
		for _, h := range res.metrics {
			var xs []float64
			for _, r := range res.Runs {
				if v, ok := r.Metrics[h.Key]; ok && r.Point == p {
					xs = append(xs, v)
				}
			}
			if len(xs) == 0 {
				continue
			}
			sum := Summary{Mean: stat.Mean(xs, nil), N: len(xs)}
			if len(xs) > 1 {
				sum.SD = stat.StdDev(xs, nil)
			}
			m[h.Key] = sum
		}
		res.Points[p] = m
	}
	return res
}

// points lists the points in plan order.
func (res *Results) points() []string {
	var ps []string
	for i, r := range res.Runs {
		if i == 0 || r.Point != res.Runs[i-1].Point {
			ps = append(ps, r.Point)
		}
	}
	return ps
}

// report writes results.csv, results.json and report.md and prints where; an error
// when a run is not finished.
func (s *sweepDir) report(failures map[int]Failure) error {
	res := s.gather(failures)
	if s.opts.Report != nil {
		return s.opts.Report(res)
	}
	if err := writeJSON(filepath.Join(s.dir, "results.json"), res); err != nil {
		return err
	}
	if err := atomicfile.WriteFunc(filepath.Join(s.dir, "results.csv"), func(f *os.File) error { return res.writeCSV(f) }); err != nil {
		return err
	}
	var b strings.Builder
	res.writeMarkdown(&b, s)
	if err := atomicfile.Write(filepath.Join(s.dir, "report.md"), []byte(b.String())); err != nil {
		return err
	}
	failed := 0
	for _, r := range res.Runs {
		if r.Failure != nil {
			failed++
			fmt.Fprintf(s.opts.Stdout, "run %s seed %d: %s\n", r.Point, r.Seed, r.Failure.Reason)
			if r.Failure.Tail != "" {
				fmt.Fprintf(s.opts.Stdout, "  log %s ends:\n    %s\n", s.logPath(r.Index), strings.ReplaceAll(r.Failure.Tail, "\n", "\n    "))
			}
		}
	}
	fmt.Fprintf(s.opts.Stdout, "%d of %d runs done; report %s\n", len(res.Runs)-failed, len(res.Runs), filepath.Join(s.dir, "report.md"))
	if failed > 0 {
		return fmt.Errorf("%d run(s) did not finish; run the sweep again to resume them", failed)
	}
	return nil
}

func (res *Results) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"index", "point", "seed", "status", "dir", "id", "train_seconds", "eval_seconds"}
	for _, h := range res.metrics {
		head = append(head, h.Key)
	}
	cw.Write(head)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, r := range res.Runs {
		row := []string{strconv.Itoa(r.Index), r.Point, strconv.FormatUint(r.Seed, 10), r.Status, r.Dir, r.ID, f(r.TrainSecs), f(r.EvalSecs)}
		for _, h := range res.metrics {
			v, ok := r.Metrics[h.Key]
			if !ok {
				row = append(row, "")
				continue
			}
			row = append(row, f(v))
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// SignificanceLevel is the level of the Welch t-tests that mark (†) a point's mean as
// different from the best point's in report.md.
const SignificanceLevel = 0.05

// writeMarkdown writes report.md: a table per metric (mean ± sd over the seeds, the
// best point in bold, † on the means that differ from it significantly), the first
// seed's final samples side by side, the failures.
func (res *Results) writeMarkdown(w io.Writer, s *sweepDir) {
	base := "Each [[point]]'s base config"
	if res.Config != "" {
		base = fmt.Sprintf("Base config `%s`", res.Config)
	}
	fmt.Fprintf(w, "# Sweep %s\n\n%s", res.Name, base)
	if len(s.spec.Set) > 0 {
		fmt.Fprintf(w, " with `%s`", strings.Join(s.spec.Set, " "))
	}
	fmt.Fprintf(w, "; %d runs, %d thread(s) each; code %s. Mean ± sample standard deviation over the seeds; best in bold; "+
		"† marks a mean that differs from the best by Welch's two-sided t-test over the seeds at p < %g (2 seeds or more per point).\n",
		len(res.Runs), res.Threads, res.Version, SignificanceLevel)
	points := res.points()
	for _, h := range res.metrics {
		dir := ""
		switch h.Better {
		case -1:
			dir = " (lower is better)"
		case 1:
			dir = " (higher is better)"
		}
		fmt.Fprintf(w, "\n## %s%s\n\n| point | mean ± sd | seeds |\n|---|---|---|\n", h.Name, dir)
		best := ""
		for _, p := range points {
			sm, ok := res.Points[p][h.Key]
			if !ok || h.Better == 0 {
				continue
			}
			if b, ok := res.Points[best][h.Key]; best == "" || !ok || float64(h.Better)*(sm.Mean-b.Mean) > 0 {
				best = p
			}
		}
		for _, p := range points {
			sm, ok := res.Points[p][h.Key]
			cell := "—"
			if ok {
				cell = fmt.Sprintf("%.4g ± %.2g", sm.Mean, sm.SD)
			}
			name := "`" + p + "`"
			if p == best {
				name, cell = "**"+name+"**", "**"+cell+"**"
			} else if b, okb := res.Points[best][h.Key]; ok && okb {
				if _, _, pv := eval.Welch(sm.Mean, sm.SD, sm.N, b.Mean, b.SD, b.N); pv < SignificanceLevel {
					cell += " †"
				}
			}
			fmt.Fprintf(w, "| %s | %s | %d |\n", name, cell, sm.N)
		}
	}
	fmt.Fprintf(w, "\n## Samples (first seed, final step)\n\n|")
	var imgs []string
	for _, p := range points {
		fmt.Fprintf(w, " `%s` |", p)
		for _, r := range s.plan.Runs {
			if r.Point == p {
				imgs = append(imgs, fmt.Sprintf("![%s](%s)", p, filepath.ToSlash(filepath.Join(r.Dir, "samples", fmt.Sprintf("step-%06d.png", r.Steps)))))
				break
			}
		}
	}
	fmt.Fprintf(w, "\n|%s\n| %s |\n", strings.Repeat("---|", len(points)), strings.Join(imgs, " | "))
	first := true
	for _, r := range res.Runs {
		if r.Failure == nil {
			continue
		}
		if first {
			fmt.Fprintf(w, "\n## Runs that did not finish\n")
			first = false
		}
		fmt.Fprintf(w, "\n- `%s` seed %d: %s\n", r.Point, r.Seed, r.Failure.Reason)
		if r.Failure.Tail != "" {
			fmt.Fprintf(w, "\n  ```\n  %s\n  ```\n", strings.ReplaceAll(r.Failure.Tail, "\n", "\n  "))
		}
	}
}
