package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/mnisttest"
	"github.com/sinkgen/sinkgen/internal/tensorfile"
	"github.com/sinkgen/sinkgen/losses"
	"github.com/sinkgen/sinkgen/models"
)

// toyConfig is a small ring-of-8 run. It starts at the data mean (the ring's centre),
// as it was tuned; the default start (init) is the comparison's (cmd/compare).
func toyConfig(t *testing.T, sets ...string) Config {
	t.Helper()
	cfg, err := ParseConfig([]byte(`
name = "toy"
seed = 3
steps = 600
batch_size = 256
threads = 2
[data]
kind = "ring"
[model]
latent_dim = 4
hidden = [64, 64]
activation = "leaky_relu"
output = "linear"
output_bias = "data_mean"
[loss]
eps = 0.05
iters = 30
[optimizer]
lr = 2e-3
[log]
every = 100
sample_every = 0
checkpoint_every = 0
progress = false
`), "toy", sets)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// divergenceToData is S_ε between n generated points and n fresh data points.
func divergenceToData(t *testing.T, gen *models.Generator, n int, seed uint64) float64 {
	t.Helper()
	z := make([]float32, n*gen.Spec().LatentDim)
	models.Latent(newRand(seed), z)
	y, err := gen.Generate(z)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := data.NewToy(data.Ring, 0.05, seed+100)
	x := make([]float32, 2*n)
	src.Next(x)
	v, _, _, _, err := losses.Evaluate(toDense(x, n), toDense(y, n), losses.Config{Eps: 0.05, Iters: 200}, losses.WantNone)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func toDense(v []float32, n int) *mat.Dense {
	m := mat.NewDense(n, len(v)/n, nil)
	for i, x := range v {
		m.RawMatrix().Data[i] = float64(x)
	}
	return m
}

// A short run on the ring of 8 Gaussians must cut the Sinkhorn divergence to the data
// by a factor 10 and put samples on all 8 modes.
func TestToyRingTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	tr, before, after := trainRing(t, toyConfig(t))
	t.Logf("S_ε to the data: %.4g before, %.4g after %d steps (factor %.1f)", before, after, tr.StepCount(), before/after)
	if !(after < before/10) {
		t.Errorf("S_ε went from %.4g to %.4g: less than a factor 10", before, after)
	}
	checkRingModes(t, tr.Generator(), 0.03, 512)
}

// checkRingModes fails unless the generator puts a share of at least minShare of 2048
// samples within 0.25 (5σ) of each of the ring's 8 modes, and minNear samples in all
// near some mode.
func checkRingModes(t *testing.T, gen *models.Generator, minShare float64, minNear int) {
	t.Helper()
	// The data has all its samples near the modes; a continuous generator leaves
	// bridges between them.
	z := make([]float32, 2048*gen.Spec().LatentDim)
	models.Latent(newRand(11), z)
	y, err := gen.Generate(z)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 8)
	near := 0
	for i := 0; i < 2048; i++ {
		for k, c := range data.Ring.Modes() {
			if math.Hypot(float64(y[2*i])-c[0], float64(y[2*i+1])-c[1]) < 0.25 {
				counts[k]++
				near++
			}
		}
	}
	t.Logf("samples within 0.25 of each mode: %v (%d of 2048)", counts, near)
	for k, c := range counts {
		if float64(c) < 2048*minShare {
			t.Errorf("mode %d (%v) has %d of 2048 samples: not covered", k, data.Ring.Modes()[k], c)
		}
	}
	if near < minNear {
		t.Errorf("only %d of 2048 samples near a mode", near)
	}
}

// stopAfter is a context that reports cancellation once Err has been asked more than
// n times: Run asks once before each step, so the run stops after n steps.
type stopAfter struct {
	context.Context
	n     int64
	calls atomic.Int64
}

func (s *stopAfter) Err() error {
	if s.calls.Add(1) > s.n {
		return context.Canceled
	}
	return nil
}

func checkpointTensors(t *testing.T, path string) (*tensorfile.File, checkpointMetaView) {
	t.Helper()
	c, err := ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	return c.file, checkpointMetaView{c.Step, c.meta.OptSteps, string(c.meta.DataState), string(c.meta.LatentState)}
}

type checkpointMetaView struct {
	step        int
	optSteps    int64
	data, latnt string
}

// metricsColumns returns metrics.csv without the wall-time columns.
func metricsColumns(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, ",")
		out = append(out, strings.Join(f[:len(f)-2], ","))
	}
	return out
}

// A run interrupted (by context cancellation, as SIGINT does) and resumed from its
// checkpoint ends bit for bit where the uninterrupted run ends: parameters, optimizer
// state, random states and the per-step metrics.
func TestResumeEqualsUninterrupted(t *testing.T) {
	cases := map[string]Config{
		"toy": toyConfig(t, "steps=40", "log.checkpoint_every=15", "log.keep=2", "optimizer.kind=rmsprop", "optimizer.lr=1e-3"),
		// a critic with a gradient penalty and its own optimizer and random stream
		"toy-adversarial": toyConfig(t, "steps=30", "log.checkpoint_every=15", "critic.kind=mlp", "critic.hidden=[16]",
			"critic.features=4", "adversarial.lipschitz=penalty", "adversarial.critic_steps=2", "adversarial.optimizer.kind=rmsprop"),
		// interrupted while pre-training, at its last step and after it: the
		// generator's optimizer changes kind at the phase boundary (sgd, then rmsprop)
		"toy-pretrained-before": toyConfig(t, "steps=30", "log.checkpoint_every=15", "critic.kind=mlp", "critic.hidden=[16]",
			"critic.features=4", "adversarial.pretrain_steps=10", "optimizer.kind=sgd", "optimizer.lr=0.05", "adversarial.finetune_optimizer.kind=rmsprop"),
		"toy-pretraining": toyConfig(t, "steps=30", "log.checkpoint_every=15", "critic.kind=mlp", "critic.hidden=[16]",
			"critic.features=4", "adversarial.pretrain_steps=20", "optimizer.kind=sgd", "optimizer.lr=0.05", "adversarial.finetune_optimizer.kind=rmsprop"),
		"toy-pretrained": toyConfig(t, "steps=30", "log.checkpoint_every=15", "critic.kind=mlp", "critic.hidden=[16]",
			"critic.features=4", "adversarial.pretrain_steps=17", "optimizer.kind=sgd", "optimizer.lr=0.05", "adversarial.finetune_optimizer.kind=rmsprop",
			"adversarial.schedule=mmdgan"),
	}
	{
		cfg, err := ParseConfig([]byte(`
name = "mnist-small"
steps = 30
batch_size = 48
gen_batch_size = 40
threads = 2
[data]
limit = 100
digits = [3, 8]
[model]
hidden = [32]
[loss.schedule]
kind = "cosine"
start = 20
end = 2
steps = 30
[optimizer]
decay = "cosine"
lr_final = 1e-4
[log]
checkpoint_every = 10
sample_every = 10
samples = 16
progress = false
`), "mnist-small", nil)
		if err != nil {
			t.Fatal(err)
		}
		cases["mnist"] = cfg
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if cfg.Data.Kind == "mnist" {
				_, err := data.LocateMNIST()
				mnisttest.Need(t, err)
			}
			root := t.TempDir()
			whole, parts := filepath.Join(root, "whole"), filepath.Join(root, "parts")
			tr, err := New(cfg, Options{Dir: whole})
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			// interrupted after 17 steps, then resumed from its checkpoint (step 17)
			tr, err = New(cfg, Options{Dir: parts})
			if err != nil {
				t.Fatal(err)
			}
			err = tr.Run(&stopAfter{Context: context.Background(), n: 17})
			if !errors.Is(err, ErrInterrupted) {
				t.Fatalf("interrupted run: %v", err)
			}
			if _, err := os.Stat(filepath.Join(parts, checkpointDir, checkpointName(17))); err != nil {
				t.Fatalf("no checkpoint at the interruption: %v", err)
			}
			tr, err = New(cfg, Options{Dir: parts, Resume: "latest"})
			if err != nil {
				t.Fatal(err)
			}
			if tr.StepCount() != 17 {
				t.Fatalf("resumed at step %d, want 17", tr.StepCount())
			}
			if err := tr.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			final := checkpointName(cfg.Steps)
			fa, ma := checkpointTensors(t, filepath.Join(whole, checkpointDir, final))
			fb, mb := checkpointTensors(t, filepath.Join(parts, checkpointDir, final))
			if ma != mb {
				t.Errorf("checkpoint metadata differs: %+v vs %+v", ma, mb)
			}
			if len(fa.Tensors) != len(fb.Tensors) || len(fa.Tensors) == 0 {
				t.Fatalf("%d vs %d tensors", len(fa.Tensors), len(fb.Tensors))
			}
			for i, ta := range fa.Tensors {
				tb := fb.Tensors[i]
				if ta.Name != tb.Name || !slices.Equal(ta.Shape, tb.Shape) {
					t.Fatalf("tensor %s %v vs %s %v", ta.Name, ta.Shape, tb.Name, tb.Shape)
				}
				for j := range ta.Data {
					if math.Float32bits(ta.Data[j]) != math.Float32bits(tb.Data[j]) {
						t.Fatalf("%s[%d]: %v uninterrupted, %v resumed", ta.Name, j, ta.Data[j], tb.Data[j])
					}
				}
			}
			if a, b := metricsColumns(t, whole), metricsColumns(t, parts); !slices.Equal(a, b) {
				t.Errorf("metrics differ:\n%s\nvs\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
			} else if len(a) != cfg.Steps+1 {
				t.Errorf("metrics.csv has %d lines, want %d", len(a), cfg.Steps+1)
			}
			// keep = 2 (toy) or 3 (default): older checkpoints are gone
			files, _ := listCheckpoints(parts)
			if len(files) != cfg.Log.Keep {
				t.Errorf("%d checkpoints kept, want %d: %v", len(files), cfg.Log.Keep, files)
			}
			for _, f := range []string{"config.toml", "train.log", "metrics.jsonl", "loss.png", "eps.png", "generator.params"} {
				if _, err := os.Stat(filepath.Join(parts, f)); err != nil {
					t.Errorf("missing output: %v", err)
				}
			}
			// a finished run cannot be resumed without more steps
			if _, err := New(cfg, Options{Dir: parts, Resume: "latest"}); err == nil || !strings.Contains(err.Error(), "nothing to do") {
				t.Errorf("resuming a finished run: %v", err)
			}
			// nor can a run be resumed with a different model
			other := cfg
			other.Steps += 10
			other.Optimizer.LR *= 2
			if _, err := New(other, Options{Dir: parts, Resume: "latest"}); err == nil || !strings.Contains(err.Error(), "optimizer.lr") {
				t.Errorf("resuming with another learning rate: %v", err)
			}
			// a new run does not overwrite an old one without Force
			if _, err := New(cfg, Options{Dir: parts}); err == nil || !strings.Contains(err.Error(), "already holds a run") {
				t.Errorf("overwriting a run: %v", err)
			}
		})
	}
}

// Corrupted or truncated checkpoints are errors; a run directory whose newest
// checkpoint is damaged falls back to the previous one.
func TestCorruptedCheckpoints(t *testing.T) {
	dir := t.TempDir()
	cfg := toyConfig(t, "steps=6", "log.checkpoint_every=3")
	tr, err := New(cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	newest := filepath.Join(dir, checkpointDir, checkpointName(6))
	good, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"flipped":   append(append([]byte(nil), good[:len(good)/2]...), append([]byte{good[len(good)/2] ^ 1}, good[len(good)/2+1:]...)...),
		"truncated": good[:len(good)-100],
		"empty":     nil,
		"foreign":   []byte("PK\x03\x04 certainly not a checkpoint"),
	} {
		if err := os.WriteFile(newest, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadCheckpoint(newest); !errors.Is(err, tensorfile.ErrCorrupt) {
			t.Errorf("%s: ReadCheckpoint error %v, want ErrCorrupt", name, err)
		}
		var warned []string
		c, err := FindCheckpoint(dir, func(w string) { warned = append(warned, w) })
		if err != nil || c.Step != 3 || len(warned) != 1 {
			t.Errorf("%s: FindCheckpoint gave %v, %v, warnings %q; want the step-3 checkpoint and one warning", name, c, err, warned)
		}
		if _, err := New(cfg, Options{Dir: dir, Resume: newest}); err == nil {
			t.Errorf("%s: resuming from the damaged file succeeded", name)
		}
	}
	// A valid file whose embedded config is invalid is an error too.
	if _, err := ReadCheckpoint(filepath.Join(dir, "config.toml")); err == nil {
		t.Error("config.toml read as a checkpoint")
	}
}

// A diverging run stops at the first non-finite loss or gradient with a
// NonFiniteError, writes no checkpoint for it, and leaves the last good one intact.
func TestNonFiniteStopsAndKeepsLastCheckpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := toyConfig(t, "steps=200", "optimizer.kind=sgd", "optimizer.momentum=0", "optimizer.lr=1e4",
		"log.checkpoint_every=1", "log.keep=50")
	tr, err := New(cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Run(context.Background())
	var nf *NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("Run: %v, want a NonFiniteError", err)
	}
	t.Log(err)
	files, _ := listCheckpoints(dir)
	if len(files) == 0 {
		t.Fatal("no checkpoint before the failure")
	}
	if nf.LastCheckpoint != files[0] || !strings.Contains(err.Error(), files[0]) {
		t.Errorf("error names %q, newest checkpoint is %q", nf.LastCheckpoint, files[0])
	}
	c, err := ReadCheckpoint(files[0])
	if err != nil {
		t.Fatalf("last checkpoint unreadable: %v", err)
	}
	if c.Step != nf.Step-1 {
		t.Errorf("last checkpoint at step %d, failure at step %d", c.Step, nf.Step)
	}
	if _, err := c.Generator(); err != nil {
		t.Errorf("last checkpoint's generator: %v", err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "train.log"))
	if !strings.Contains(string(log), "not finite") {
		t.Errorf("train.log does not say why it stopped:\n%s", log)
	}
}

// The graph machinery does not grow per step: the live heap after 100 steps and after
// 1100 steps differ by less than 2 MB.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 1100 steps")
	}
	cfg := toyConfig(t, "steps=1100", "batch_size=64", "model.hidden=[32]", "loss.iters=10")
	tr := newTestTrainer(t, cfg)
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var at100 uint64
	for tr.StepCount() < cfg.Steps {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
		if tr.StepCount() == 100 {
			at100 = heap()
		}
	}
	end := heap()
	t.Logf("live heap: %d KB after 100 steps, %d KB after %d", at100>>10, end>>10, cfg.Steps)
	if end > at100+2<<20 {
		t.Errorf("live heap grew from %d KB to %d KB over 1000 steps", at100>>10, end>>10)
	}
	tr.Close()
}

// A data directory with a corrupted MNIST file is an error from New, not a panic.
func TestCorruptedMNISTIsAnError(t *testing.T) {
	src, err := data.LocateMNIST()
	mnisttest.Need(t, err)
	dir := t.TempDir()
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "t10k-labels-idx1-ubyte.gz" {
			b[len(b)/2] ^= 0xff
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	cfg, err := ParseConfig([]byte("[log]\nprogress = false\n"), "x", []string{"data.path=" + `"` + dir + `"`})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, Options{NoFiles: true})
	if err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("corrupted MNIST: %v", err)
	}
}

// The progress bar and logs do not disturb anything; Run stops promptly when asked.
func TestInterruptBeforeFirstStep(t *testing.T) {
	dir := t.TempDir()
	tr, err := New(toyConfig(t, "steps=5"), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := tr.Run(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("slow to stop")
	}
	if c, err := FindCheckpoint(dir, nil); err != nil || c.Step != 0 {
		t.Errorf("checkpoint after interruption: %v %v", c, err)
	}
}

// An ε below the resolution of the costs makes the loss NaN (package ot cannot
// represent the problem): the stop message says so, not just that the loss is NaN.
func TestNonFiniteSaysEpsBelowResolution(t *testing.T) {
	tr := newTestTrainer(t, toyConfig(t, "loss.eps=1e-300"))
	_, err := tr.Step()
	var nf *NonFiniteError
	if !errors.As(err, &nf) || nf.What != "loss" {
		t.Fatalf("Step: %v, want a NonFiniteError of the loss", err)
	}
	if !strings.Contains(err.Error(), "eps = 1e-300 is below the float64 resolution of costs") {
		t.Errorf("the stop message does not give the reason: %v", err)
	}
}
