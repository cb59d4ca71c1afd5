package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/eval"
	"github.com/sinkgen/sinkgen/models"
	"github.com/sinkgen/sinkgen/train"
)

// source is a trained generator read from a run.
type source struct {
	path, dir string // the checkpoint and its run directory
	step      int
	kind      string  // data.kind of the run
	split     string  // MNIST split it trained on
	noise     float64 // toy noise
	gen       *models.Generator
}

// openRun reads the newest readable checkpoint of a run directory, or the checkpoint
// file path names.
func openRun(path string, warn io.Writer) (*source, error) {
	ck, err := train.FindCheckpoint(path, func(msg string) { fmt.Fprintln(warn, "warning:", msg) })
	if err != nil {
		return nil, err
	}
	g, err := ck.Generator()
	if err != nil {
		return nil, err
	}
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		// <run>/ckpt/step-….ckpt
		dir = filepath.Dir(filepath.Dir(ck.Path))
	}
	return &source{path: ck.Path, dir: dir, step: ck.Step, kind: ck.Config.Data.Kind, split: ck.Config.Data.Split,
		noise: ck.Config.Data.Noise, gen: g}, nil
}

type target struct {
	ref     *mat.Dense
	real    *mat.Dense // a second held-out sample of the reference's size (nil: too few)
	opts    eval.Options
	clfInfo *eval.ClassifierInfo
}

// newTarget builds the held-out sample and the metric options for the run's data.
func newTarget(src *source, c *config, loadMNIST func() (*data.MNIST, error), progress, log io.Writer) (*target, error) {
	var t *eval.Target
	var info *eval.ClassifierInfo
	var err error
	switch src.kind {
	case "mnist":
		if src.split != "train" {
			fmt.Fprintf(log, "warning: the run trained on the %q split, which holds the test images it is evaluated against\n", src.split)
		}
		ds, err := loadMNIST()
		if err != nil {
			return nil, err
		}
		var clf *eval.Classifier
		if !c.noClassifier {
			var trained bool
			clf, trained, err = eval.LoadOrTrainClassifier(c.classifier, ds, eval.ClassifierOptions{Progress: progress, Notices: log, MinAccuracy: 0.98}, false)
			if err != nil {
				return nil, err
			}
			if trained {
				fmt.Fprintf(log, "trained the MNIST classifier (%.2f%% test accuracy) and cached it in %s\n", 100*clf.Info.TestAccuracy, c.classifier)
			}
			info = &clf.Info
		}
		if t, err = eval.MNISTTarget(ds, clf, c.ref, c.seed); err != nil {
			return nil, err
		}
	default:
		if t, err = eval.ToyTarget(data.Toy(src.kind), src.noise, c.ref, c.seed); err != nil {
			return nil, err
		}
	}
	if c.eps > 0 {
		t.Options.Distances.Eps = c.eps
	}
	if c.bandwidths != nil {
		t.Options.Distances.Bandwidths = c.bandwidths
	}
	t.Options.SkipC2ST = c.noC2ST
	t.Options.Distances.SkipExact = c.noExact
	return &target{ref: t.Ref, real: t.Real, opts: t.Options, clfInfo: info}, nil
}
