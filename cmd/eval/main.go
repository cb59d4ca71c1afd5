// Command eval measures a trained generator against held-out data, prints the metrics
// and writes them as JSON:
//
//	go run ./cmd/eval -checkpoint <run> [-n 1000] [-ref 1000] [-seed 1] [-real] [-iters L,…] [-out FILE]
//	go run ./cmd/eval -train-classifier
//
// -checkpoint names a run directory of cmd/train (its latest checkpoint) or one
// checkpoint file. The generator draws -n samples from latent noise seeded by -seed;
// they are compared with -ref held-out points: MNIST test images (a seeded subset; the
// run must have trained on the training split) or fresh draws of the run's toy
// distribution. The metrics (package eval): exact W₂, the Sinkhorn divergence at a
// fixed ε (-eps; default 1 for MNIST, 0.05 for toy data), unbiased Gaussian-mixture MMD²
// and energy distance; on MNIST the classifier metrics (class histogram, coverage,
// KL to uniform, confidence, classifier score, Fréchet distance in its features) and
// the classifier two-sample tests in feature and pixel space; on the ring and grid
// the mode coverage and high-quality fraction. On the user's data (data.kind images,
// npy, npz, idx, csv) the reference is the part of the data the run did not train on
// (data.split and data.holdout: with the default split "train", the held-out points);
// the header says what the reference is. The classifier metrics need labels: the
// MNIST recipe, for the data's size and number of classes, is trained on the
// training part, tested on the held-out part and cached in
// checkpoints/eval/classifier-<checksum>.bin; without labels they are left out with
// a note.
//
// -real also scores a second held-out sample of the same size against the reference:
// each metric's value for a perfect generator at this sample size (on MNIST, blurred
// samples reach a W₂ and S_ε below it).
//
// -iters 50,100,200 also prints, for a run whose loss has Sinkhorn iterations, the
// marginal error ‖P1 − a‖₁ of its training loss (ε at the checkpoint's step) after each
// L, mean and spread over 8 pairs of batches drawn as training draws them: the
// generator's samples against batches of the data the run trains on. Training logs
// this error at its own L (metrics.csv); the check tells which loss.iters would bring
// it below a tolerance, without training again.
//
// The MNIST classifier is trained once (about 70 seconds on 2 cores) and cached in
// checkpoints/eval/mnist-classifier.bin (a checksummed file; -classifier moves it);
// -train-classifier retrains it, and alone does only that. The JSON goes to -out
// (default eval.json in the run directory; "-" for none).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/eval"
	"github.com/sinkgen/sinkgen/internal/atomicfile"
	"github.com/sinkgen/sinkgen/internal/cli"
	"github.com/sinkgen/sinkgen/internal/process"
)

func main() {
	os.Exit(cli.Status("eval", run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

type config struct {
	checkpoint, out, classifier, mnist string
	n, ref                             int
	seed                               uint64
	eps                                float64
	bandwidths                         []float64
	iters                              []int
	trainClassifier, noClassifier      bool
	classifierSet                      bool // -classifier given
	noC2ST, noExact, quiet, real       bool
}

func parse(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.StringVar(&c.checkpoint, "checkpoint", "", "run directory or checkpoint file to evaluate")
	fs.IntVar(&c.n, "n", eval.DefaultSamples, "number of generated samples")
	fs.IntVar(&c.ref, "ref", eval.DefaultSamples, "number of held-out reference samples")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the latent draws and of the reference sample")
	fs.Float64Var(&c.eps, "eps", 0, "ε of the evaluation Sinkhorn divergence (0: 1 for MNIST, 0.05 for toy data)")
	bw := fs.String("bandwidths", "", "comma-separated MMD bandwidths (default: 1,2,4,8,16 for MNIST, 0.05,0.1,0.2,0.5,1,2 for toy data)")
	fs.StringVar(&c.out, "out", "", `JSON output file (default: eval.json in the run directory; "-": none)`)
	fs.StringVar(&c.classifier, "classifier", "", "MNIST classifier cache (default: checkpoints/eval/mnist-classifier.bin in the module)")
	fs.BoolVar(&c.trainClassifier, "train-classifier", false, "retrain the MNIST classifier and replace the cache")
	fs.BoolVar(&c.noClassifier, "no-classifier", false, "skip the classifier metrics")
	fs.BoolVar(&c.noC2ST, "no-c2st", false, "skip the classifier two-sample tests")
	fs.BoolVar(&c.noExact, "no-exact", false, "skip the exact Wasserstein distance")
	fs.StringVar(&c.mnist, "mnist", "", "directory of the MNIST idx files (default: the GoMNIST module's copy)")
	fs.BoolVar(&c.quiet, "q", false, "no progress report")
	iters := fs.String("iters", "", "comma-separated L: also print the Sinkhorn marginal error of the run's training loss after L iterations, on batch pairs like its own (to choose loss.iters)")
	fs.BoolVar(&c.real, "real", false, "also evaluate a second held-out sample of -ref points: what a perfect generator scores at this size")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.checkpoint == "" && !c.trainClassifier {
		fs.Usage()
		return nil, errors.New("-checkpoint is required (or -train-classifier alone)")
	}
	if c.n < 4 || c.ref < 4 {
		return nil, fmt.Errorf("-n %d and -ref %d must be at least 4", c.n, c.ref)
	}
	if c.eps < 0 || math.IsNaN(c.eps) || math.IsInf(c.eps, 0) {
		return nil, fmt.Errorf("-eps %v must be positive and finite (0: default)", c.eps)
	}
	if *bw != "" {
		for _, f := range strings.Split(*bw, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("-bandwidths: %q is not a positive number", f)
			}
			c.bandwidths = append(c.bandwidths, v)
		}
	}
	if *iters != "" {
		var err error
		if c.iters, err = parseIters(*iters); err != nil {
			return nil, err
		}
	}
	c.classifierSet = c.classifier != ""
	if c.classifier == "" {
		c.classifier = filepath.Join(eval.ModuleRoot(), eval.DefaultClassifierPath)
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	process.Setup(0) // the classifier's BLAS
	progress := stderr
	if c.quiet {
		progress = nil
	}
	var ds *data.MNIST
	loadMNIST := func() (*data.MNIST, error) {
		if ds == nil {
			if ds, err = data.LoadMNIST(c.mnist); err != nil {
				return nil, err
			}
		}
		return ds, nil
	}
	if c.trainClassifier {
		if _, err := loadMNIST(); err != nil {
			return err
		}
		clf, _, err := eval.LoadOrTrainClassifier(c.classifier, ds, eval.ClassifierOptions{Progress: progress, MinAccuracy: 0.98}, true)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "classifier %v: %.2f%% test accuracy, trained in %.0f s, saved to %s\n",
			clf.Info.Sizes, 100*clf.Info.TestAccuracy, clf.Info.TrainSeconds, c.classifier)
		if c.checkpoint == "" {
			return nil
		}
	}

	src, err := openRun(c.checkpoint, stderr)
	if err != nil {
		return err
	}
	target, err := newTarget(src, c, loadMNIST, progress, stderr)
	if err != nil {
		return err
	}
	t0 := time.Now()
	gen, err := eval.Sample(src.gen, c.n, c.seed)
	if err != nil {
		return err
	}
	sampleSecs := time.Since(t0).Seconds()
	m, err := eval.Evaluate(gen, target.ref, target.opts)
	if err != nil {
		return err
	}
	m.Seconds["sampling"] = sampleSecs
	rep := report{Checkpoint: src.path, Step: src.step, Data: src.kind, Seed: c.seed, Reference: target.what, HeldOut: target.heldOut, Classifier: target.clfInfo, Metrics: m}
	if c.real {
		if target.real == nil {
			return fmt.Errorf("-real: the reference's source holds fewer than 2 × %d points", c.ref)
		}
		if rep.Real, err = eval.Evaluate(target.real, target.ref, target.opts); err != nil {
			return err
		}
	}
	if len(c.iters) > 0 {
		if rep.Iters, err = checkIters(src, c.iters, c.seed, progress); err != nil {
			return err
		}
	}
	printReport(stdout, &rep)
	if rep.Iters != nil {
		printIters(stdout, rep.Iters)
	}
	out := c.out
	if out == "" {
		out = filepath.Join(src.dir, "eval.json")
	}
	if out != "-" {
		b, err := json.MarshalIndent(&rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := atomicfile.Write(out, append(b, '\n')); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", out)
	}
	return nil
}

// report is the JSON document cmd/eval writes.
type report struct {
	Checkpoint string               `json:"checkpoint"`
	Step       int                  `json:"step"`
	Data       string               `json:"data"`
	Seed       uint64               `json:"seed"`
	Reference  string               `json:"reference"`          // what the reference points are
	HeldOut    bool                 `json:"reference_held_out"` // they are not data the run trained on
	Classifier *eval.ClassifierInfo `json:"classifier,omitempty"`
	Metrics    *eval.Metrics        `json:"metrics"`
	// Real evaluates a second held-out sample (-real): each metric's value for a
	// perfect generator at this sample size.
	Real *eval.Metrics `json:"real,omitempty"`
	// Iters is -iters' convergence check of the training loss.
	Iters *ItersCheck `json:"iters,omitempty"`
}

func printReport(w io.Writer, r *report) {
	m := r.Metrics
	fmt.Fprintf(w, "%s (step %d, %s): %d generated vs %d %s\n", r.Checkpoint, r.Step, r.Data, m.NGenerated, m.NReference, r.Reference)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var real []eval.Headline
	if r.Real != nil {
		real = r.Real.Headlines()
		kind := "held-out"
		if !r.HeldOut {
			kind = "as the reference"
		}
		fmt.Fprintf(tw, "  \tgenerated\treal data (%s)\n", kind)
	}
	for i, h := range m.Headlines() {
		if math.IsNaN(h.Value) {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s", h.Name, strconv.FormatFloat(h.Value, 'g', 5, 64))
		if real != nil {
			fmt.Fprintf(tw, "\t%s", strconv.FormatFloat(real[i].Value, 'g', 5, 64))
		}
		fmt.Fprintln(tw)
	}
	if c := m.Classes; c != nil {
		var hist []string
		for _, f := range c.Histogram {
			hist = append(hist, fmt.Sprintf("%.3f", f))
		}
		names := fmt.Sprintf("0–%d", len(hist)-1)
		if r.Classifier != nil && r.Classifier.Classes != nil {
			names = strings.Join(r.Classifier.Classes, ", ")
		}
		fmt.Fprintf(tw, "  class histogram %s\t%s\n", names, strings.Join(hist, " "))
	}
	if s := m.Modes; s != nil {
		fmt.Fprintf(tw, "  samples per mode\t%v\n", s.Counts)
	}
	for _, r := range []struct {
		name string
		c    *eval.C2STResult
	}{{"features", m.C2STFeatures}, {"data space", m.C2STPixels}} {
		if r.c != nil {
			fmt.Fprintf(tw, "  C2ST p-value (%s)\t%.3g\n", r.name, r.c.PValue)
		}
	}
	tw.Flush()
}
