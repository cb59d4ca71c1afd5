package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/eval"
	"github.com/sinkgen/sinkgen/internal/mnisttest"
	"github.com/sinkgen/sinkgen/train"
)

// trainRun trains a short run of the config named by cfgName (in configs/) into dir.
func trainRun(t *testing.T, cfgName, dir string, set ...string) {
	t.Helper()
	cfg, err := train.LoadConfig(filepath.Join("..", "..", "configs", cfgName), append([]string{"log.progress=false"}, set...))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(cfg, train.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A toy run: the table is printed, the JSON reads back with the mode metrics, and a
// second evaluation with the same seed gives the same numbers.
func TestEvalToyRun(t *testing.T) {
	dir := t.TempDir()
	trainRun(t, "toy2d.toml", dir, "steps=60")
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", dir, "-n", "300", "-ref", "400", "-q"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, want := range []string{"step 60, ring", "300 generated vs 400 held-out", "W₂ (exact)", "modes covered (of 8)", "samples per mode", "wrote"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "eval.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	m := rep.Metrics
	if rep.Step != 60 || rep.Data != "ring" || m.NGenerated != 300 || m.NReference != 400 || m.Modes == nil || m.Modes.Modes != 8 {
		t.Errorf("report: %+v", rep)
	}
	if !(m.Distances.W2 > 0) || !math.IsNaN(m.Frechet) || m.C2STPixels == nil || m.C2STFeatures != nil {
		t.Errorf("toy metrics: W2 %v, Fréchet %v (want NaN), C2ST %+v / %+v", m.Distances.W2, m.Frechet, m.C2STPixels, m.C2STFeatures)
	}
	// The same command on the checkpoint file, to another output: same numbers.
	ck := rep.Checkpoint
	other := filepath.Join(t.TempDir(), "e.json")
	out.Reset()
	if err := run([]string{"-checkpoint", ck, "-n", "300", "-ref", "400", "-q", "-out", other}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	raw2, _ := os.ReadFile(other)
	var rep2 report
	if err := json.Unmarshal(raw2, &rep2); err != nil {
		t.Fatal(err)
	}
	if rep2.Metrics.Distances.OT != m.Distances.OT || rep2.Metrics.Modes.HighQuality != m.Modes.HighQuality {
		t.Errorf("two evaluations differ: %v vs %v", rep2.Metrics.Distances.OT, m.Distances.OT)
	}
	// -real adds a second held-out sample's metrics: what a perfect generator scores.
	out.Reset()
	if err := run([]string{"-checkpoint", dir, "-n", "300", "-ref", "400", "-q", "-real", "-out", other}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	raw2, _ = os.ReadFile(other)
	var rep3 report
	if err := json.Unmarshal(raw2, &rep3); err != nil {
		t.Fatal(err)
	}
	if rep3.Real == nil || rep3.Real.NGenerated != 400 || !(rep3.Real.Distances.MMD < m.Distances.MMD) || rep3.Metrics.Distances.OT != m.Distances.OT ||
		!strings.Contains(out.String(), "real data (held-out)") {
		t.Errorf("-real: %+v, MMD² %v (generated %v)\n%s", rep3.Real, rep3.Real.Distances.MMD, m.Distances.MMD, out.String())
	}
	// Another seed draws other samples.
	if err := run([]string{"-checkpoint", dir, "-n", "300", "-ref", "400", "-q", "-seed", "2", "-out", other}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	raw2, _ = os.ReadFile(other)
	_ = json.Unmarshal(raw2, &rep2)
	if rep2.Metrics.Distances.OT == m.Distances.OT {
		t.Error("-seed 2 gave the numbers of seed 1")
	}
}

// An MNIST run without the classifier (whose training the eval package tests).
func TestEvalMNISTRunWithoutClassifier(t *testing.T) {
	_, err := data.LocateMNIST()
	mnisttest.Need(t, err)
	dir := t.TempDir()
	trainRun(t, "mnist.toml", dir, "steps=5", "batch_size=32", "log.samples=16")
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", dir, "-n", "200", "-ref", "200", "-q", "-no-classifier", "-out", "-"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "mnist") || !strings.Contains(out.String(), "MMD²") || strings.Contains(out.String(), "wrote") {
		t.Errorf("output:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "eval.json")); err == nil {
		t.Error(`-out - wrote a file`)
	}
}

func TestParseErrors(t *testing.T) {
	for _, args := range [][]string{
		{}, {"-checkpoint", "x", "-n", "2"}, {"-checkpoint", "x", "-eps", "-1"}, {"-checkpoint", "x", "-bandwidths", "1,a"},
		{"-checkpoint", "x", "extra"},
	} {
		if _, err := parse(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	c, err := parse([]string{"-checkpoint", "x", "-bandwidths", "0.5, 2"}, &bytes.Buffer{})
	if err != nil || len(c.bandwidths) != 2 || c.bandwidths[1] != 2 || !strings.HasSuffix(c.classifier, eval.DefaultClassifierPath) {
		t.Errorf("parse: %+v, %v", c, err)
	}
	var out bytes.Buffer
	if err := run([]string{"-checkpoint", t.TempDir(), "-q"}, &out, &out); !errors.Is(err, train.ErrNoCheckpoint) {
		t.Errorf("empty run directory: %v", err)
	}
}

// A run on the user's data: the distance metrics on unlabelled colour images, with a
// note that the classifier metrics are left out; on labelled 28×28 grey images a
// classifier is trained on the data and gives the classifier metrics.
func TestEvalFileData(t *testing.T) {
	dir := t.TempDir()
	colour := filepath.Join(dir, "c.npy")
	vals := make([]float32, 64*3*16*16)
	for i := range vals {
		vals[i] = float32(i*7%256) / 255
	}
	if err := train.SaveNPY(colour, vals, 3*16*16); err != nil {
		t.Fatal(err)
	}
	run1 := filepath.Join(dir, "run1")
	trainRun(t, "images.toml", run1, "data.kind=npy", "data.path="+colour, "steps=3", "batch_size=16", "log.samples=4", "model.base=4", "data.size=[16,16]")
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", run1, "-n", "40", "-ref", "30", "-out", "-"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "MMD²") || !strings.Contains(errb.String(), "classifier metrics (classes, Fréchet distance, feature C2ST) left out: the data has no labels") {
		t.Errorf("unlabelled data: %s\n%s", out.String(), errb.String())
	}
	// 70 grey 28×28 images of 2 classes (a bright left or right half), as CSV rows
	// after their label.
	var csv strings.Builder
	for i := range 70 {
		fmt.Fprint(&csv, i%2)
		for p := range 784 {
			v := 0.0
			if (p%28 < 14) == (i%2 == 0) {
				v = 0.5 + float64(i)/200
			}
			fmt.Fprintf(&csv, ",%g", v)
		}
		csv.WriteString("\n")
	}
	gp := filepath.Join(dir, "g.csv")
	if err := os.WriteFile(gp, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run2 := filepath.Join(dir, "run2")
	trainRun(t, "mnist.toml", run2, "data.kind=csv", "data.path="+gp, "data.labels=first", "data.size=[28,28]", "steps=3", "batch_size=16", "log.samples=4")
	clf := filepath.Join(dir, "clf.bin")
	out.Reset()
	errb.Reset()
	if err := run([]string{"-checkpoint", run2, "-n", "40", "-ref", "30", "-classifier", clf, "-out", filepath.Join(dir, "e.json")}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "e.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Data != "csv" || math.IsNaN(rep.Metrics.Frechet) || rep.Metrics.Classes == nil || rep.Classifier == nil || rep.Classifier.TestAccuracy < 0.99 {
		t.Errorf("labelled data: %+v %+v\n%s", rep.Metrics, rep.Classifier, errb.String())
	}
	if _, err := os.Stat(clf); err != nil {
		t.Errorf("no classifier cached: %v", err)
	}
}
