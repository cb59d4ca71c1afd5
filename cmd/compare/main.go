// Command compare runs the Wasserstein-vs-MMD comparison: for each experiment of a
// config (default configs/compare.toml) it trains — or reuses — one run per loss
// variant and seed, all from one base training config and differing only in loss.*
// keys (and critic.*, adversarial.* for a learned cost) and the seed, evaluates every run against one held-out sample (package eval),
// and writes a report:
//
//	go run ./cmd/compare [-config configs/compare.toml] [-quick] [-out DIR] [-retrain] [-q]
//	                     [-executor local|slurm] [-jobs N] [-threads N] [-experiments a,b]
//
// -experiments runs only the experiments named (the report covers those); a later
// run of more of them in the same directory reuses the finished runs, so a long
// comparison can be built up a few experiments at a time.
//
// Outputs go to checkpoints/<name>/ (checkpoints/<name>-quick/ with -quick; -out to
// change): report.md with a metrics table per experiment (mean ± sample standard
// deviation over the seeds; † on a mean that differs from the column's best by Welch's
// t-test over the seeds, eval.Welch, at p < SignificanceLevel; L and the training loss's
// Sinkhorn marginal error over the last 10% of the steps, ⚠ above MarginalTol; the
// training wall time per run; and a "real data" row: a second held-out sample, what a
// perfect generator would score) and the held-out sample's median pairwise costs (the
// scale of ε), samples-<exp>.png
// (the first seed's samples of every variant side by side), curves-<exp>.png (training
// loss of every run), results.json (every number), and the runs in runs/<exp>/<variant>/
// seed-<s>/ (cmd/train's run directories: cmd/eval and cmd/sample read them).
//
// The comparison is a sweep (package sweep) with a named point per experiment and
// variant: the runs train through the sweep's executors, each its own process (-jobs
// at once locally, or one Slurm array job), with the sweep's run identities, logs/,
// plan.json, bin/ and directory lock in the output directory; the evaluation, figures
// and report are computed here once every run has finished. By default one run trains
// at a time with every core (-threads: cores / jobs); a run's numbers depend on its
// threads. A finished run of the same identity is reused (-retrain retrains it); one
// interrupted midway is resumed. -quick applies the [quick] table and each
// experiment's quick_set: fewer seeds, samples and steps, finishing in under 10
// minutes on 2 cores.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/eval"
	"github.com/sinkgen/sinkgen/internal/atomicfile"
	"github.com/sinkgen/sinkgen/internal/cli"
	"github.com/sinkgen/sinkgen/internal/process"
	"github.com/sinkgen/sinkgen/losses"
	"github.com/sinkgen/sinkgen/sweep"
	"github.com/sinkgen/sinkgen/train"
)

func main() {
	err := run(cli.SignalContext(), os.Args[1:], os.Stdout, os.Stderr)
	status := cli.Status("compare", err, os.Stderr)
	if errors.Is(err, train.ErrInterrupted) {
		status = 130 // as cmd/train: runs stopped by a signal, checkpoints kept
	}
	os.Exit(status)
}

type flags struct {
	config, out, classifier, executor, bin string
	experiments                            []string
	quick, retrain, quiet                  bool
	jobs, threads                          int
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &flags{}
	fs.StringVar(&f.config, "config", filepath.Join("configs", "compare.toml"), "comparison config")
	fs.StringVar(&f.out, "out", "", "output directory (default checkpoints/<name>, or checkpoints/<name>-quick with -quick)")
	fs.BoolVar(&f.quick, "quick", false, "the quick comparison (the config's [quick] table and quick_set keys)")
	fs.BoolVar(&f.retrain, "retrain", false, "retrain runs even when a finished run of the same config exists")
	fs.StringVar(&f.executor, "executor", "local", "where the runs train: local or slurm (as cmd/sweep)")
	fs.IntVar(&f.jobs, "jobs", 1, "local: runs at once")
	fs.StringVar(&f.bin, "bin", "", "directory with prebuilt train, eval and sweep binaries, as cmd/sweep's -bin (default: build them with go); runs of the same binaries are reused")
	fs.IntVar(&f.threads, "threads", 0, "threads per run (0: local, the cores / jobs; slurm, 1)")
	fs.StringVar(&f.classifier, "classifier", "", "MNIST classifier cache (default: checkpoints/eval/mnist-classifier.bin in the module)")
	fs.BoolVar(&f.quiet, "q", false, "no progress report")
	experiments := fs.String("experiments", "", "comma-separated experiments to run (default: all, or [quick]'s with -quick); finished runs are reused by a later, larger run")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, name := range strings.Split(*experiments, ",") {
		if name = strings.TrimSpace(name); name != "" {
			f.experiments = append(f.experiments, name)
		}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if f.jobs < 1 || f.threads < 0 {
		return nil, fmt.Errorf("-jobs %d and -threads %d: want at least 1 job and threads ≥ 0", f.jobs, f.threads)
	}
	if f.threads == 0 && f.executor == "local" {
		// the cores shared out: one run at a time (the default) uses them all, as a
		// run trained in-process did before compare ran its runs as a sweep
		f.threads = max(1, runtime.NumCPU()/f.jobs)
	}
	if f.classifier == "" {
		f.classifier = filepath.Join(eval.ModuleRoot(), eval.DefaultClassifierPath)
	}
	return f, nil
}

// runResult is one trained and evaluated run.
type runResult struct {
	Variant   string  `json:"variant"`
	Seed      uint64  `json:"seed"`
	Dir       string  `json:"dir"`
	Reused    bool    `json:"reused"`
	Steps     int     `json:"steps"`
	TrainSecs float64 `json:"train_seconds"`
	FinalLoss float64 `json:"final_loss"`
	// MarginalError is the mean Sinkhorn marginal error ‖P1 − a‖₁ of the training
	// loss's cross problem over the last tenth of the steps (absent: no Sinkhorn solve).
	MarginalError *float64      `json:"marginal_error,omitempty"`
	Metrics       *eval.Metrics `json:"metrics"`
	samples       []float32     // the first Grid generated points, for the figures
	curveSteps    []float64
	curveLosses   []float64
}

// expResult is one experiment's runs.
type expResult struct {
	Name     string        `json:"name"`
	Data     string        `json:"data"`
	Config   string        `json:"config"`
	Set      []string      `json:"set"`
	Steps    int           `json:"steps"`
	Variants []variantInfo `json:"variants"`
	// MedianCost is the median over pairs of the held-out sample of ½|x−y|² and |x−y|:
	// the scale an ε is compared with.
	MedianCost [2]float64    `json:"median_cost"`
	Real       *eval.Metrics `json:"real,omitempty"`
	Runs       []*runResult  `json:"runs"`
	Base       train.Config  `json:"-"`
	refPts     []float32     // held-out points for the toy scatter plots
	target     *eval.Target
}

type variantInfo struct {
	Name string   `json:"name"`
	Set  []string `json:"set"`
	// Iters is L, the Sinkhorn iterations per solve of the training loss (0: the loss
	// solves none — MMD, energy, sliced, ε = ∞).
	Iters int `json:"iters"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cc, err := loadCompareConfig(f.config, f.quick)
	if err != nil {
		return err
	}
	if len(f.experiments) > 0 {
		if cc.Experiments, err = selectExperiments(cc.Experiments, f.experiments); err != nil {
			return fmt.Errorf("-experiments: %w", err)
		}
	}
	process.Setup(0) // the evaluation's BLAS; the runs are processes of their own
	out := f.out
	if out == "" {
		name := cc.Name
		if f.quick {
			name += "-quick"
		}
		out = filepath.Join("checkpoints", name)
	}
	progress := stderr
	if f.quiet {
		progress = nil
	}
	start := time.Now()
	// The comparison is a sweep with a point per experiment and variant, trained by
	// the sweep's executors and evaluated here, in-process, for the report below.
	spec := &sweep.Spec{Name: cc.Name, Seeds: cc.Seeds, Eval: sweep.EvalSpec{Skip: true}, Slurm: sweep.SlurmSpec{Poll: "5s"}}
	var results []*expResult
	for _, e := range cc.Experiments {
		er, err := planExperiment(cc, e)
		if err != nil {
			return err
		}
		results = append(results, er)
		for _, v := range e.Variants {
			spec.Named = append(spec.Named, sweep.NamedPoint{Name: pointName(e, v), Config: er.Config,
				Set: runSet(e, v), Dir: filepath.Join("runs", e.Name, slug(v.Name))})
		}
	}
	opts := sweep.Options{Dir: out, Executor: f.executor, Jobs: f.jobs, Threads: f.threads, Retrain: f.retrain, Bin: f.bin,
		Stdout: stdout, Progress: progress}
	opts.Report = func(res *sweep.Results) error {
		rep := &report{Config: f.config, Quick: f.quick, Out: out, Samples: cc.Samples, EvalSeed: cc.EvalSeed, Seeds: cc.Seeds,
			Threads: res.Threads, Started: start.UTC().Format(time.RFC3339), Experiments: results, Grid: cc.Grid}
		if err := evaluate(cc, rep, res, f, progress, stdout, stderr); err != nil {
			return err
		}
		rep.Seconds = time.Since(start).Seconds()
		if err := writeReport(rep); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report: %s (%.0f s)\n", filepath.Join(out, "report.md"), rep.Seconds)
		return nil
	}
	return sweep.Execute(ctx, spec, opts)
}

// pointName names an experiment's variant among the sweep's points.
func pointName(e experiment, v variant) string { return e.Name + ": " + v.Name }

// evaluate evaluates every trained run against its experiment's held-out sample; an
// error names the runs that did not finish.
func evaluate(cc *compareConfig, rep *report, res *sweep.Results, f *flags, progress, stdout, stderr io.Writer) error {
	var failed []string
	for _, r := range res.Runs {
		if r.Failure != nil {
			failed = append(failed, fmt.Sprintf("%s, seed %d: %s\n    %s", r.Point, r.Seed, r.Failure.Reason,
				strings.ReplaceAll(r.Failure.Tail, "\n", "\n    ")))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d run(s) did not finish (run compare again to resume them):\n%s", len(failed), strings.Join(failed, "\n"))
	}
	byPoint := map[string]sweep.RunResult{}
	for _, r := range res.Runs {
		byPoint[fmt.Sprintf("%s\x00%d", r.Point, r.Seed)] = r
	}
	var mnist *data.MNIST
	var clf *eval.Classifier
	k := 0
	for i, er := range rep.Experiments {
		e := cc.Experiments[i]
		var err error
		// The held-out sample, one per experiment.
		switch er.Data {
		case "mnist":
			if mnist == nil {
				if mnist, err = data.LoadMNIST(er.Base.Data.Path); err != nil {
					return err
				}
			}
			if clf == nil {
				var trained bool
				clf, trained, err = eval.LoadOrTrainClassifier(f.classifier, mnist, eval.ClassifierOptions{Progress: progress, Notices: stderr, MinAccuracy: 0.98}, false)
				if err != nil {
					return err
				}
				if trained {
					fmt.Fprintf(stdout, "trained the MNIST classifier (%.2f%% test accuracy), cached in %s\n", 100*clf.Info.TestAccuracy, f.classifier)
				}
				rep.Classifier = &clf.Info
			}
			if er.target, err = eval.MNISTTarget(mnist, clf, cc.Samples, cc.EvalSeed); err != nil {
				return err
			}
		default:
			if er.target, err = eval.ToyTarget(data.Toy(er.Data), er.Base.Data.Noise, cc.Samples, cc.EvalSeed); err != nil {
				return err
			}
			er.refPts = float32s(er.target.Ref, min(cc.Samples, 1000))
		}
		if e.EvalEps > 0 {
			er.target.Options.Distances.Eps = e.EvalEps
		}
		if len(e.Bandwidths) > 0 {
			er.target.Options.Distances.Bandwidths = e.Bandwidths
		}
		er.MedianCost = medianCosts(er.target.Ref)
		if er.target.Real != nil {
			if er.Real, err = er.target.Evaluate(er.target.Real); err != nil {
				return err
			}
		}
		for _, v := range e.Variants {
			for _, seed := range cc.Seeds {
				k++
				sr := byPoint[fmt.Sprintf("%s\x00%d", pointName(e, v), seed)]
				r := &runResult{Variant: v.Name, Seed: seed, Dir: filepath.Join(rep.Out, sr.Dir), Steps: er.Steps, Reused: sr.Reused}
				fmt.Fprintf(stdout, "[%d/%d] %s: %s, seed %d\n", k, len(res.Runs), e.Name, v.Name, seed)
				if err := evaluateRun(cc, er.target, r, stdout); err != nil {
					return fmt.Errorf("%s, %s, seed %d: %w", e.Name, v.Name, seed, err)
				}
				er.Runs = append(er.Runs, r)
			}
		}
	}
	return nil
}

// planExperiment loads the base config of every run and checks that the runs differ
// only in loss keys (lossKey), the seed and the name.
func planExperiment(cc *compareConfig, e experiment) (*expResult, error) {
	path, err := train.ResolveConfigPath(e.Config)
	if err != nil {
		return nil, fmt.Errorf("experiment %s: %w", e.Name, err)
	}
	base, err := train.LoadConfig(path, e.Set)
	if err != nil {
		return nil, fmt.Errorf("experiment %s: %w", e.Name, err)
	}
	er := &expResult{Name: e.Name, Data: base.Data.Kind, Config: path, Set: e.Set, Steps: base.Steps, Base: base}
	for _, v := range e.Variants {
		cfg, err := runConfig(path, e, v, cc.Seeds[0])
		if err != nil {
			return nil, err
		}
		vi := variantInfo{Name: v.Name, Set: lastPerKey(v.Set)}
		if losses.Kind(cfg.Loss.Kind).HasEps() && !math.IsInf(cfg.Loss.Eps, 1) || cfg.Loss.Schedule != nil {
			vi.Iters = cfg.Loss.Iters
		}
		er.Variants = append(er.Variants, vi)
		diff, err := train.DiffConfigs(base, cfg)
		if err != nil {
			return nil, err
		}
		for _, d := range diff {
			if d.Key != "seed" && d.Key != "name" && !lossKey(d.Key) {
				return nil, fmt.Errorf("experiment %s, variant %q: differs from the base in %s, not only in the loss", e.Name, v.Name, d.Key)
			}
		}
	}
	return er, nil
}

// lastPerKey keeps, of overrides setting one key more than once, the last (the one in
// effect), in the order of first appearance.
func lastPerKey(set []string) []string {
	last := map[string]string{}
	var order []string
	for _, o := range set {
		k := setKey(o)
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = o
	}
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = last[k]
	}
	return out
}

// runSet is the overrides of a variant's runs but the seed (and threads), which the
// sweep adds.
func runSet(e experiment, v variant) []string {
	return append(append(append([]string(nil), e.Set...), v.Set...), fmt.Sprintf("name=%s-%s", e.Name, slug(v.Name)))
}

// runConfig is the training config of one run.
func runConfig(path string, e experiment, v variant, seed uint64) (train.Config, error) {
	cfg, err := train.LoadConfig(path, append(runSet(e, v), fmt.Sprintf("seed=%d", seed)))
	if err != nil {
		return cfg, fmt.Errorf("experiment %s, variant %q: %w", e.Name, v.Name, err)
	}
	return cfg, nil
}

// evaluateRun evaluates a trained run's final generator into r.
func evaluateRun(cc *compareConfig, target *eval.Target, r *runResult, stdout io.Writer) error {
	ck, err := train.FindCheckpoint(r.Dir, nil)
	if err != nil {
		return err
	}
	if ck.Step != r.Steps {
		return fmt.Errorf("%s: the newest checkpoint is of step %d of %d", r.Dir, ck.Step, r.Steps)
	}
	metrics := filepath.Join(r.Dir, "metrics.csv")
	cols, err := train.ReadMetrics(metrics, "step", "loss", "elapsed_s", "marginal_error")
	if err != nil {
		return err
	}
	r.curveSteps, r.curveLosses = cols[0], cols[1]
	n := len(r.curveSteps)
	if n == 0 {
		return fmt.Errorf("%s: no rows", metrics)
	}
	r.FinalLoss, r.TrainSecs = r.curveLosses[n-1], cols[2][n-1]
	if m := tailMean(cols[3], 0.1); !math.IsNaN(m) {
		r.MarginalError = &m
	}
	g, err := ck.Generator()
	if err != nil {
		return err
	}
	gen, err := eval.Sample(g, cc.Samples, cc.EvalSeed)
	if err != nil {
		return err
	}
	if r.Metrics, err = target.Evaluate(gen); err != nil {
		return err
	}
	if target.Data == "mnist" {
		r.samples = float32s(gen, cc.Grid)
	} else {
		r.samples = float32s(gen, 1000) // a scatter plot shows the points, up to 1000
	}
	state := "trained"
	if r.Reused {
		state = "reused"
	}
	fmt.Fprintf(stdout, "    %s in %.0f s; %s\n", state, r.TrainSecs, summary(r.Metrics))
	return nil
}

// tailMean is the mean of the last fraction of v (at least one value), NaN when those
// are all NaN or 0 (a loss without a Sinkhorn solve logs one or the other).
func tailMean(v []float64, fraction float64) float64 {
	k := max(1, int(math.Ceil(fraction*float64(len(v)))))
	s, n := 0.0, 0
	for _, x := range v[max(0, len(v)-k):] {
		if !math.IsNaN(x) {
			s += x
			n++
		}
	}
	if s == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// medianCosts returns the medians over the pairs of rows of x of ½|x−y|² and |x−y|.
func medianCosts(x *mat.Dense) [2]float64 {
	r, _ := x.Dims()
	var d2 []float64
	for i := 0; i < r; i++ {
		for j := i + 1; j < r; j++ {
			var s float64
			for k, a := range x.RawRowView(i) {
				d := a - x.At(j, k)
				s += d * d
			}
			d2 = append(d2, s)
		}
	}
	if len(d2) == 0 {
		return [2]float64{math.NaN(), math.NaN()}
	}
	slices.Sort(d2)
	m := d2[(len(d2)-1)/2] // the lower median, so that it commutes with the square root
	return [2]float64{m / 2, math.Sqrt(m)}
}

// summary is a one-line digest of the metrics.
func summary(m *eval.Metrics) string {
	var parts []string
	for _, h := range m.Headlines() {
		switch h.Key {
		case "w2", "mmd", "frechet", "c2st_features", "c2st_pixels", "classes_covered", "modes_covered", "high_quality":
			if !math.IsNaN(h.Value) {
				parts = append(parts, fmt.Sprintf("%s %.4g", h.Key, h.Value))
			}
		}
	}
	return strings.Join(parts, ", ")
}

// float32s returns the first n rows of x as float32 values.
func float32s(x *mat.Dense, n int) []float32 {
	r, c := x.Dims()
	n = min(n, r)
	out := make([]float32, 0, n*c)
	for i := 0; i < n; i++ {
		for _, v := range x.RawRowView(i) {
			out = append(out, float32(v))
		}
	}
	return out
}

// report is everything the comparison wrote (results.json).
type report struct {
	Config      string               `json:"config"`
	Quick       bool                 `json:"quick"`
	Out         string               `json:"out"`
	Samples     int                  `json:"samples"`
	EvalSeed    uint64               `json:"eval_seed"`
	Seeds       []uint64             `json:"seeds"`
	Threads     int                  `json:"threads"`
	Started     string               `json:"started"`
	Seconds     float64              `json:"seconds"`
	Classifier  *eval.ClassifierInfo `json:"classifier,omitempty"`
	Experiments []*expResult         `json:"experiments"`
	Grid        int                  `json:"-"`
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeBytes(path, append(b, '\n'))
}

// writeFile makes path's directory and writes path atomically (atomicfile).
func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFunc(path, func(f *os.File) error { return write(f) })
}

// writeBytes writes b to path atomically.
func writeBytes(path string, b []byte) error {
	return writeFile(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
