package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
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

// readReport reads the JSON report cmd/eval wrote at path.
func readReport(t *testing.T, path string) report {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
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
	rep := readReport(t, filepath.Join(dir, "eval.json"))
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
		{"-checkpoint", "x", "extra"}, {"-checkpoint", "x", "-iters", "0"}, {"-checkpoint", "x", "-iters", "50,a"},
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
	rep := readReport(t, filepath.Join(dir, "e.json"))
	if rep.Data != "csv" || math.IsNaN(rep.Metrics.Frechet) || rep.Metrics.Classes == nil || rep.Classifier == nil || rep.Classifier.TestAccuracy < 0.99 {
		t.Errorf("labelled data: %+v %+v\n%s", rep.Metrics, rep.Classifier, errb.String())
	}
	if _, err := os.Stat(clf); err != nil {
		t.Errorf("no classifier cached: %v", err)
	}
}

// writeShapes writes n PNG images of 16×16 per class into sub-directories of dir
// named by the classes: a red disc, a green square and a blue disc at random places.
func writeShapes(t *testing.T, dir string, n int) []string {
	t.Helper()
	classes := []string{"a-red-disc", "b-green-square", "c-blue-disc"}
	rng := rand.New(rand.NewPCG(1, 2))
	for c, name := range classes {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
			cx, cy, r := 4+rng.IntN(8), 4+rng.IntN(8), 2+rng.IntN(2)
			for y := range 16 {
				for x := range 16 {
					px := color.NRGBA{uint8(60 + rng.IntN(30)), uint8(60 + rng.IntN(30)), uint8(60 + rng.IntN(30)), 255}
					dx, dy := x-cx, y-cy
					if (c != 1 && dx*dx+dy*dy <= r*r) || (c == 1 && max(dx, -dx, dy, -dy) <= r) {
						*[]*uint8{&px.R, &px.G, &px.B}[c] = 230
					}
					img.SetNRGBA(x, y, px)
				}
			}
			f, err := os.Create(filepath.Join(dir, name, fmt.Sprintf("%03d.png", i)))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	return classes
}

// Labelled colour images of 3 classes: a classifier for 16×16×3 inputs and 3 classes
// is trained on the training part (high accuracy on the held-out part), and the
// table shows its metrics and class names; the header says the reference is the
// held-out points, or, for a run on all points (data.split = "all"), that the run
// trained on them.
func TestEvalLabelledColour(t *testing.T) {
	dir := t.TempDir()
	pics := filepath.Join(dir, "pics")
	classes := writeShapes(t, pics, 60)
	clf := filepath.Join(dir, "clf.bin")
	for _, split := range []string{"train", "all"} {
		runDir := filepath.Join(dir, split)
		trainRun(t, "images.toml", runDir, "data.path="+pics, "data.labels=dirs", "data.size=[16,16]", "data.split="+split,
			"model.base=4", "steps=3", "batch_size=16", "log.samples=4")
		var out, errb bytes.Buffer
		if err := run([]string{"-checkpoint", runDir, "-n", "40", "-ref", "30", "-classifier", clf, "-out", filepath.Join(dir, "e.json")}, &out, &errb); err != nil {
			t.Fatalf("%v\n%s", err, errb.String())
		}
		rep := readReport(t, filepath.Join(dir, "e.json"))
		c := rep.Classifier
		if c == nil || c.TestAccuracy < 0.9 || len(c.Sizes) < 3 || c.Sizes[0] != 3*16*16 || c.Sizes[len(c.Sizes)-1] != 3 || rep.Metrics.Classes == nil {
			t.Fatalf("split %s: classifier %+v, classes %+v\n%s", split, c, rep.Metrics.Classes, errb.String())
		}
		header := "40 generated vs 18 held-out points" // 10% of 180 held out
		if split == "all" {
			header = "40 generated vs 18 points of the data's held-out part, which the run trained on"
		}
		for _, want := range []string{header, "classes covered", "Fréchet (classifier)", "class histogram " + strings.Join(classes, ", ")} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("split %s: output lacks %q:\n%s", split, want, out.String())
			}
		}
		if rep.HeldOut != (split == "train") {
			t.Errorf("split %s: reference_held_out %v", split, rep.HeldOut)
		}
	}
}

// -iters: the training loss's marginal error at several L falls with L, and at the
// run's own L it agrees with what training logged (float32 solves in the graph,
// against float64 ones here, on other batches); a loss without iterations is an error
// naming loss.kind.
func TestEvalIters(t *testing.T) {
	dir := t.TempDir()
	trainRun(t, "toy2d.toml", dir, "steps=100", "loss.iters=20", "log.samples=16")
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", dir, "-n", "200", "-ref", "200", "-q", "-no-exact", "-no-c2st", "-iters", "5,20,500"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	rep := readReport(t, filepath.Join(dir, "eval.json"))
	it := rep.Iters
	if it == nil || len(it.Rows) != 3 || it.Eps != 0.05 || it.Batch != 256 || it.Kind != "sinkhorn" || !strings.Contains(out.String(), "marginal error") {
		t.Fatalf("-iters report: %+v\n%s", it, out.String())
	}
	r := it.Rows
	if !(r[0].MarginalError > r[1].MarginalError && r[1].MarginalError > 10*r[2].MarginalError) {
		t.Errorf("marginal error at L = 5, 20, 500: %v, %v, %v", r[0].MarginalError, r[1].MarginalError, r[2].MarginalError)
	}
	cols, err := train.ReadMetrics(filepath.Join(dir, "metrics.csv"), "marginal_error")
	if err != nil {
		t.Fatal(err)
	}
	logged := 0.0
	for _, v := range cols[0][len(cols[0])-10:] {
		logged += v / 10
	}
	t.Logf("marginal error at L = 5, 20, 500: %.3g, %.3g, %.3g; logged at L = 20: %.3g", r[0].MarginalError, r[1].MarginalError, r[2].MarginalError, logged)
	if ratio := r[1].MarginalError / logged; !(ratio > 1.0/3 && ratio < 3) {
		t.Errorf("at L = 20: %v here, %v logged by training over its last 10 steps", r[1].MarginalError, logged)
	}

	mmd := t.TempDir()
	trainRun(t, "toy2d.toml", mmd, "steps=3", "loss.kind=mmd", "log.samples=16")
	err = run([]string{"-checkpoint", mmd, "-n", "100", "-ref", "100", "-q", "-no-exact", "-no-c2st", "-out", "-", "-iters", "50"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "loss.kind") {
		t.Errorf("-iters on an MMD run: %v", err)
	}
}
