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
	data      train.DataConfig
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
		noise: ck.Config.Data.Noise, data: ck.Config.Data, gen: g}, nil
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
	switch {
	case src.kind == "mnist":
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
	case src.data.IsFile():
		if t, info, err = fileTarget(src, c, progress, log); err != nil {
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

// fileTarget is the target of a run on the user's files: the distance metrics on every
// kind; the classifier metrics with a classifier trained on the data and cached by its
// checksum when the data suits the classifier recipe (eval.DataClassifierSet), left out
// with a note otherwise.
func fileTarget(src *source, c *config, progress, log io.Writer) (*eval.Target, *eval.ClassifierInfo, error) {
	ds, err := src.data.LoadData(progress)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(log, "data: %s\n", ds.Describe())
	fmt.Fprintln(log, "note: a data file has no held-out split; the reference points come from the data the run trained on")
	var clf *eval.Classifier
	if !c.noClassifier {
		set, err := eval.DataClassifierSet(ds)
		if err != nil {
			fmt.Fprintf(log, "note: classifier metrics (classes, Fréchet distance, feature C2ST) left out: %v\n", err)
		} else {
			path := c.classifier
			if !c.classifierSet {
				path = eval.DataClassifierPath(eval.ModuleRoot(), ds)
			}
			var trained bool
			if clf, trained, err = eval.LoadOrTrainClassifier(path, set, eval.ClassifierOptions{Progress: progress}, false); err != nil {
				return nil, nil, err
			}
			if trained {
				fmt.Fprintf(log, "trained a classifier on the data (%.2f%% accuracy on its last seventh) and cached it in %s\n", 100*clf.Info.TestAccuracy, path)
			}
		}
	}
	t, err := eval.DataTarget(ds, src.kind, clf, c.ref, c.seed)
	if err != nil {
		return nil, nil, err
	}
	var info *eval.ClassifierInfo
	if clf != nil {
		info = &clf.Info
	}
	return t, info, nil
}
