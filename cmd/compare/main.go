// Command compare runs the Wasserstein-vs-MMD comparison: for each experiment of a
// config (default configs/compare.toml) it trains — or reuses — one run per loss
// variant and seed, all from one base training config and differing only in loss.*
// keys (and critic.*, adversarial.* for a learned cost) and the seed, evaluates every run against one held-out sample (package eval),
// and writes a report:
//
//	go run ./cmd/compare [-config configs/compare.toml] [-quick] [-out DIR] [-retrain] [-q]
//
// Outputs go to checkpoints/<name>/ (checkpoints/<name>-quick/ with -quick; -out to
// change): report.md with a metrics table per experiment (mean ± sample standard
// deviation over the seeds, the training wall time per run, and a "real data" row:
// a second held-out sample, what a perfect generator would score), samples-<exp>.png
// (the first seed's samples of every variant side by side), curves-<exp>.png (training
// loss of every run), results.json (every number), and the runs in runs/<exp>/<variant>/
// seed-<s>/ (cmd/train's run directories: cmd/eval and cmd/sample read them).
//
// A run whose directory holds a final checkpoint of the same configuration is reused
// (-retrain retrains it); one interrupted midway is resumed. -quick applies the
// [quick] table and each experiment's quick_set: fewer seeds, samples and steps,
// finishing in under 10 minutes on 2 cores.
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
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/eval"
	"github.com/sinkgen/sinkgen/internal/atomicfile"
	"github.com/sinkgen/sinkgen/internal/process"
	"github.com/sinkgen/sinkgen/train"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		if errors.Is(err, train.ErrInterrupted) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

type flags struct {
	config, out, classifier string
	quick, retrain, quiet   bool
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &flags{}
	fs.StringVar(&f.config, "config", filepath.Join("configs", "compare.toml"), "comparison config")
	fs.StringVar(&f.out, "out", "", "output directory (default checkpoints/<name>, or checkpoints/<name>-quick with -quick)")
	fs.BoolVar(&f.quick, "quick", false, "the quick comparison (the config's [quick] table and quick_set keys)")
	fs.BoolVar(&f.retrain, "retrain", false, "retrain runs even when a finished run of the same config exists")
	fs.StringVar(&f.classifier, "classifier", "", "MNIST classifier cache (default: checkpoints/eval/mnist-classifier.bin in the module)")
	fs.BoolVar(&f.quiet, "q", false, "no progress report")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if f.classifier == "" {
		f.classifier = filepath.Join(eval.ModuleRoot(), eval.DefaultClassifierPath)
	}
	return f, nil
}

// runResult is one trained and evaluated run.
type runResult struct {
	Variant     string        `json:"variant"`
	Seed        uint64        `json:"seed"`
	Dir         string        `json:"dir"`
	Reused      bool          `json:"reused"`
	Steps       int           `json:"steps"`
	TrainSecs   float64       `json:"train_seconds"`
	FinalLoss   float64       `json:"final_loss"`
	Metrics     *eval.Metrics `json:"metrics"`
	samples     []float32     // the first Grid generated points, for the figures
	curveSteps  []float64
	curveLosses []float64
}

// expResult is one experiment's runs.
type expResult struct {
	Name     string        `json:"name"`
	Data     string        `json:"data"`
	Config   string        `json:"config"`
	Set      []string      `json:"set"`
	Steps    int           `json:"steps"`
	Variants []variantInfo `json:"variants"`
	Real     *eval.Metrics `json:"real,omitempty"`
	Runs     []*runResult  `json:"runs"`
	Base     train.Config  `json:"-"`
	refPts   []float32     // held-out points for the toy scatter plots
	target   *eval.Target
}

type variantInfo struct {
	Name string   `json:"name"`
	Set  []string `json:"set"`
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
	process.Setup(0) // the classifier's BLAS; each run sets its threads
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
	var mnist *data.MNIST
	var clf *eval.Classifier
	var results []*expResult
	total := 0
	for _, e := range cc.Experiments {
		total += len(e.Variants) * len(cc.Seeds)
	}
	k := 0
	for _, e := range cc.Experiments {
		er, err := planExperiment(cc, e)
		if err != nil {
			return err
		}
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
		if er.target.Real != nil {
			if er.Real, err = er.target.Evaluate(er.target.Real); err != nil {
				return err
			}
		}
		for _, v := range e.Variants {
			for _, seed := range cc.Seeds {
				k++
				dir := filepath.Join(out, "runs", e.Name, slug(v.Name), fmt.Sprintf("seed-%d", seed))
				fmt.Fprintf(stdout, "[%d/%d] %s: %s, seed %d\n", k, total, e.Name, v.Name, seed)
				r, err := trainAndEvaluate(ctx, cc, e, v, seed, dir, er.target, f, progress, stdout)
				if err != nil {
					return fmt.Errorf("%s, %s, seed %d: %w", e.Name, v.Name, seed, err)
				}
				er.Runs = append(er.Runs, r)
			}
		}
		results = append(results, er)
	}
	rep := &report{Config: f.config, Quick: f.quick, Out: out, Samples: cc.Samples, EvalSeed: cc.EvalSeed, Seeds: cc.Seeds,
		Threads: runtime.GOMAXPROCS(0), Started: start.UTC().Format(time.RFC3339), Seconds: time.Since(start).Seconds(),
		Experiments: results, Grid: cc.Grid}
	if clf != nil {
		rep.Classifier = &clf.Info
	}
	if err := writeReport(rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report: %s (%.0f s)\n", filepath.Join(out, "report.md"), rep.Seconds)
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
		er.Variants = append(er.Variants, variantInfo{Name: v.Name, Set: lastPerKey(v.Set)})
		cfg, err := runConfig(path, e, v, cc.Seeds[0])
		if err != nil {
			return nil, err
		}
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

// runConfig is the training config of one run.
func runConfig(path string, e experiment, v variant, seed uint64) (train.Config, error) {
	set := append(append(append([]string(nil), e.Set...), v.Set...),
		fmt.Sprintf("seed=%d", seed), fmt.Sprintf("name=%s-%s-seed%d", e.Name, slug(v.Name), seed))
	cfg, err := train.LoadConfig(path, set)
	if err != nil {
		return cfg, fmt.Errorf("experiment %s, variant %q: %w", e.Name, v.Name, err)
	}
	return cfg, nil
}

// sameRun reports whether two configs train the same run: equal but for log.* keys
// (what is written, not what is computed).
func sameRun(a, b train.Config) (bool, error) {
	diff, err := train.DiffConfigs(a, b)
	if err != nil {
		return false, err
	}
	for _, d := range diff {
		if !strings.HasPrefix(d.Key, "log.") {
			return false, nil
		}
	}
	return true, nil
}

// trainAndEvaluate trains (or reuses, or resumes) one run and evaluates its final
// generator.
func trainAndEvaluate(ctx context.Context, cc *compareConfig, e experiment, v variant, seed uint64, dir string,
	target *eval.Target, f *flags, progress, stdout io.Writer) (*runResult, error) {
	path, err := train.ResolveConfigPath(e.Config)
	if err != nil {
		return nil, err
	}
	cfg, err := runConfig(path, e, v, seed)
	if err != nil {
		return nil, err
	}
	r := &runResult{Variant: v.Name, Seed: seed, Dir: dir, Steps: cfg.Steps}
	var ck *train.Checkpoint
	resume := ""
	if !f.retrain {
		if c, err := train.FindCheckpoint(dir, nil); err == nil {
			same, err := sameRun(c.Config, cfg)
			if err != nil {
				return nil, err
			}
			switch {
			case same && c.Step == cfg.Steps:
				ck, r.Reused = c, true
			case same:
				resume = "latest"
			}
		}
	}
	if ck == nil {
		opts := train.Options{Dir: dir, Force: resume == "", Resume: resume, Progress: progress, Stdout: io.Discard}
		process.Setup(cfg.Threads)
		tr, err := train.New(cfg, opts)
		if err != nil {
			return nil, err
		}
		if err := tr.Run(ctx); err != nil {
			return nil, err
		}
		if ck, err = train.FindCheckpoint(dir, nil); err != nil {
			return nil, err
		}
		if ck.Step != cfg.Steps {
			return nil, fmt.Errorf("the run stopped at step %d of %d", ck.Step, cfg.Steps)
		}
	}
	metrics := filepath.Join(dir, "metrics.csv")
	cols, err := train.ReadMetrics(metrics, "step", "loss", "elapsed_s")
	if err != nil {
		return nil, err
	}
	r.curveSteps, r.curveLosses = cols[0], cols[1]
	n := len(r.curveSteps)
	if n == 0 {
		return nil, fmt.Errorf("%s: no rows", metrics)
	}
	r.FinalLoss, r.TrainSecs = r.curveLosses[n-1], cols[2][n-1]
	g, err := ck.Generator()
	if err != nil {
		return nil, err
	}
	gen, err := eval.Sample(g, cc.Samples, cc.EvalSeed)
	if err != nil {
		return nil, err
	}
	if r.Metrics, err = target.Evaluate(gen); err != nil {
		return nil, err
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
	return r, nil
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
