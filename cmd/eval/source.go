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
	cfg       train.Config // the run's config
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
		noise: ck.Config.Data.Noise, data: ck.Config.Data, cfg: ck.Config, gen: g}, nil
}

type target struct {
	ref     *mat.Dense
	real    *mat.Dense // a second held-out sample of the reference's size (nil: too few)
	opts    eval.Options
	clfInfo *eval.ClassifierInfo
	what    string // what the reference points are, for the report
	heldOut bool   // they are not data the run trained on
}

// newTarget builds the reference sample and the metric options for the run's data.
func newTarget(src *source, c *config, loadMNIST func() (*data.MNIST, error), progress, log io.Writer) (*target, error) {
	var t *eval.Target
	var info *eval.ClassifierInfo
	var err error
	what, heldOut := "held-out samples", true
	switch {
	case src.kind == "mnist":
		if src.split != "train" {
			what, heldOut = fmt.Sprintf("MNIST test images, which the run trained on (data.split = %q)", src.split), false
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
		if t, info, what, heldOut, err = fileTarget(src, c, progress, log); err != nil {
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
	return &target{ref: t.Ref, real: t.Real, opts: t.Options, clfInfo: info, what: what, heldOut: heldOut}, nil
}

// fileTarget is the target of a run on the user's files: the reference points are
// the part of the data the run did not train on (data.split "train": the held-out
// points; "test": the training part; "all": the held-out points, which the run saw,
// and the report says so). The distance metrics work on every kind; the classifier
// metrics need labels: a classifier trained on the training part, tested on the
// held-out part and cached by their checksums (eval.DataClassifierPath), or left out
// with a note.
func fileTarget(src *source, c *config, progress, log io.Writer) (t *eval.Target, info *eval.ClassifierInfo, what string, heldOut bool, err error) {
	train, test, err := src.data.LoadSplits(progress)
	if err != nil {
		return nil, nil, "", false, err
	}
	fmt.Fprintf(log, "data: %s; %d points held out\n", train.Describe(), test.N)
	var clf *eval.Classifier
	if !c.noClassifier {
		opt := eval.ClassifierOptions{Progress: progress}
		if err := eval.CheckClassifierData(train, test, opt); err != nil {
			fmt.Fprintf(log, "note: classifier metrics (classes, Fréchet distance, feature C2ST) left out: %v\n", err)
		} else {
			path := c.classifier
			if !c.classifierSet {
				path = eval.DataClassifierPath(eval.ModuleRoot(), train, test)
			}
			var trained bool
			if clf, trained, err = eval.LoadOrTrainDataClassifier(path, train, test, opt, false); err != nil {
				return nil, nil, "", false, err
			}
			if trained {
				fmt.Fprintf(log, "trained a classifier on the data (%.2f%% accuracy on its %d held-out points) and cached it in %s\n", 100*clf.Info.TestAccuracy, test.N, path)
			}
		}
	}
	ref, what, heldOut := test, "held-out points", true
	switch src.data.Split {
	case "test":
		ref, what = train, "points the run did not train on (it trained on the held-out part, data.split = \"test\")"
	case "all":
		what, heldOut = "points of the data's held-out part, which the run trained on (data.split = \"all\")", false
	}
	if t, err = eval.DataTarget(ref, src.kind, clf, c.ref, c.seed); err != nil {
		return nil, nil, "", false, err
	}
	if clf != nil {
		info = &clf.Info
	}
	return t, info, what, heldOut, nil
}
