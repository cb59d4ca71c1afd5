package main

import (
	"errors"
	"fmt"
	"io"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/eval"
)

// source is a trained generator read from a run.
type source struct {
	path, dir string // the checkpoint and its run directory
	step      int
	kind      string  // data.kind of the run
	split     string  // MNIST split it trained on
	noise     float64 // toy noise
	sample    func(n int, seed uint64) (*mat.Dense, error)
}

func openRun(path string) (*source, error) {
	return nil, errors.New("reading checkpoints arrives with package train (issue 5)")
}

type target struct {
	ref     *mat.Dense
	opts    eval.Options
	clfInfo *eval.ClassifierInfo
}

// newTarget builds the held-out sample and the metric options for the run's data.
func newTarget(src *source, c *config, loadMNIST func() (*data.MNIST, error), progress, log io.Writer) (*target, error) {
	var t *eval.Target
	var info *eval.ClassifierInfo
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
			clf, trained, err = eval.LoadOrTrainClassifier(c.classifier, ds, eval.ClassifierOptions{Progress: progress, MinAccuracy: 0.98}, false)
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
		return nil, fmt.Errorf("data kind %q: toy targets arrive with data/toy.go", src.kind)
	}
	if c.eps > 0 {
		t.Options.Distances.Eps = c.eps
	}
	if c.bandwidths != nil {
		t.Options.Distances.Bandwidths = c.bandwidths
	}
	t.Options.SkipC2ST = c.noC2ST
	t.Options.Distances.SkipExact = c.noExact
	return &target{ref: t.Ref, opts: t.Options, clfInfo: info}, nil
}
