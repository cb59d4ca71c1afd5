package train

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sinkgen/sinkgen/internal/tensorfile"
)

// cosineRef is the closed form of a cosine decay from a to b over steps 0…n−1, at
// step i (b after the end).
func cosineRef(a, b float64, i, n int) float64 {
	t := math.Min(float64(i)/float64(n-1), 1)
	return b + (a-b)*(1+math.Cos(math.Pi*t))/2
}

func closeTo(got, want float64) bool { return math.Abs(got-want) <= 1e-14*math.Abs(want) }

// When a resume changes the run's length, the learning rate goes on from the rate the
// run had reached at the resume step and decays to lr_final at the new last step: no
// jump (it used to be re-spread over the new length: 1e-4 at step 300 became 1.86e-4
// at step 400 after extending 300 → 500).
func TestLRContinuesWhenRunLengthChanges(t *testing.T) {
	const lr, lf = 1e-3, 1e-4
	o := OptimizerConfig{LR: lr, LRFinal: lf, Decay: "cosine"}
	type check struct {
		step int
		want float64
	}
	cases := []struct {
		name    string
		o       OptimizerConfig
		off     int
		lengths []runLength
		checks  []check
	}{
		{"extended at 200 of 300 to 500", o, 0, []runLength{{0, 300}, {200, 500}}, []check{
			{0, lr}, {199, cosineRef(lr, lf, 199, 300)},
			{200, cosineRef(lr, lf, 200, 300)}, // the original run's rate at the resume step
			{350, cosineRef(cosineRef(lr, lf, 200, 300), lf, 150, 300)}, {499, lf}}},
		{"extended at the end, 300 to 500", o, 0, []runLength{{0, 300}, {300, 500}}, []check{
			{299, lf}, {300, lf}, {400, lf}, {499, lf}}},
		{"shortened at 100 of 300 to 200", o, 0, []runLength{{0, 300}, {100, 200}}, []check{
			{100, cosineRef(lr, lf, 100, 300)}, {150, cosineRef(cosineRef(lr, lf, 100, 300), lf, 50, 100)}, {199, lf}}},
		{"changed twice", o, 0, []runLength{{0, 300}, {100, 400}, {250, 350}}, []check{
			{250, cosineRef(cosineRef(lr, lf, 100, 300), lf, 150, 300)},
			{300, cosineRef(cosineRef(cosineRef(lr, lf, 100, 300), lf, 150, 300), lf, 50, 100)}, {349, lf}}},
		// the decay had not begun: it spans the new length from the end of the warm-up
		{"extended during the warm-up", OptimizerConfig{LR: lr, LRFinal: lf, Decay: "cosine", Warmup: 50}, 0, []runLength{{0, 300}, {20, 500}}, []check{
			{19, lr * 20 / 51}, {20, lr * 21 / 51}, {49, lr * 50 / 51}, {50, lr}, {250, cosineRef(lr, lf, 200, 450)}, {499, lf}}},
		{"linear", OptimizerConfig{LR: lr, LRFinal: lf, Decay: "linear"}, 0, []runLength{{0, 101}, {50, 151}}, []check{
			{50, (lr + lf) / 2}, {100, (lr+lf)/2 + ((lf-lr)/2)*50/100}, {150, lf}}},
		{"no decay", OptimizerConfig{LR: lr, Decay: "none"}, 0, []runLength{{0, 300}, {200, 500}}, []check{{250, lr}}},
		// a schedule starting at step 100 (fine-tuning, critic) of a run extended at 150
		{"offset schedule", o, 100, []runLength{{0, 300}, {150, 500}}, []check{
			{100, lr}, {150, cosineRef(lr, lf, 50, 200)}, {250, cosineRef(cosineRef(lr, lf, 50, 200), lf, 100, 350)}}},
		// extended while the offset schedule had not started yet
		{"offset schedule, extended before it", o, 100, []runLength{{0, 300}, {50, 500}}, []check{
			{100, lr}, {300, cosineRef(lr, lf, 200, 400)}, {499, lf}}},
	}
	for _, tc := range cases {
		for _, c := range tc.checks {
			if got := tc.o.lrRun(c.step, tc.off, tc.lengths); !closeTo(got, c.want) {
				t.Errorf("%s: step %d: lr %.17g, want %.17g", tc.name, c.step, got, c.want)
			}
		}
		// continuous: no step moves the rate by more than the steepest of the warm-up
		// and of the decays, each from its rate at its change: a cosine from a to b over
		// n steps moves by at most π/2·|a−b|/(n−1) in one step
		last := tc.lengths[len(tc.lengths)-1].Steps
		bound := tc.o.LR / float64(tc.o.Warmup+1)
		for _, l := range tc.lengths {
			from := max(l.From, tc.off+tc.o.Warmup)
			a := tc.o.lrRun(from, tc.off, tc.lengths)
			bound = math.Max(bound, math.Pi/2*math.Abs(a-tc.o.LRFinal)/float64(l.Steps-from-1))
		}
		for s := tc.off; s+1 < last; s++ {
			if m := math.Abs(tc.o.lrRun(s+1, tc.off, tc.lengths) - tc.o.lrRun(s, tc.off, tc.lengths)); m > bound*(1+1e-9) {
				t.Errorf("%s: the rate moves by %g from step %d to %d, more than %g", tc.name, m, s, s+1, bound)
			}
		}
	}
	// the generator's and the critic's rates go through it
	c := DefaultConfig()
	c.Steps = 300
	c.Critic.Kind = "mlp"
	c.Adversarial.PretrainSteps = 100
	c.Adversarial.Optimizer.Decay, c.Adversarial.Optimizer.LRFinal = "cosine", 1e-5
	s := schedule{cfg: c, lengths: []runLength{{0, 300}, {150, 500}}}
	fo, co := c.Adversarial.FinetuneOptimizer, c.Adversarial.Optimizer
	for _, ck := range []struct {
		name      string
		got, want float64
	}{
		{"pre-training", s.generatorLR(50), c.Optimizer.LR},
		{"fine-tuning at the resume", s.generatorLR(150), cosineRef(fo.LR, fo.LRFinal, 50, 200)},
		{"fine-tuning after it", s.generatorLR(300), cosineRef(cosineRef(fo.LR, fo.LRFinal, 50, 200), fo.LRFinal, 150, 350)},
		{"critic at the resume", s.criticLR(150), cosineRef(co.LR, co.LRFinal, 50, 200)},
		{"critic after it", s.criticLR(499), co.LRFinal},
	} {
		if !closeTo(ck.got, ck.want) {
			t.Errorf("%s: lr %.17g, want %.17g", ck.name, ck.got, ck.want)
		}
	}
}

// lrColumn reads the lr column of a run's metrics.csv, by step.
func lrColumn(t *testing.T, dir string) map[int]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]float64{}
	for _, r := range rows[1:] {
		s, _ := strconv.Atoi(r[0])
		out[s], _ = strconv.ParseFloat(r[6], 64)
	}
	return out
}

// A run resumed with more steps logs at each step the rate of the continued schedule:
// at the resume step the rate the original run had there, then the continued decay,
// and a second resume of the extended run (its checkpoint records the change) keeps
// to it, bit for bit.
func TestResumeWithMoreStepsKeepsLR(t *testing.T) {
	const lr, lf = 2e-3, 1e-4
	cfg := toyConfig(t, "steps=30", "batch_size=64", "optimizer.decay=cosine", "optimizer.lr_final=1e-4", "log.checkpoint_every=0")
	root := t.TempDir()
	run := func(dir string, steps int, resume string, stopAt int64) {
		t.Helper()
		c := cfg
		c.Steps = steps
		tr, err := New(c, Options{Dir: dir, Resume: resume})
		if err != nil {
			t.Fatal(err)
		}
		var ctx context.Context = context.Background()
		if stopAt > 0 {
			ctx = &stopAfter{Context: ctx, n: stopAt}
		}
		if err := tr.Run(ctx); stopAt > 0 && !errors.Is(err, ErrInterrupted) || stopAt == 0 && err != nil {
			t.Fatal(err)
		}
	}
	// 30 steps interrupted at 20, extended to 50; once in one go, once interrupted at 35
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	for _, dir := range []string{a, b} {
		run(dir, 30, "", 20)
	}
	run(a, 50, "latest", 0)
	run(b, 50, "latest", 15)
	run(b, 50, "latest", 0)
	got := lrColumn(t, a)
	for s := 1; s <= 50; s++ {
		want := cosineRef(lr, lf, s-1, 30) // row s is step s−1 (0-based)
		if s > 20 {
			want = cosineRef(cosineRef(lr, lf, 20, 30), lf, s-21, 30)
		}
		if !closeTo(got[s], want) {
			t.Errorf("row %d: lr %.17g, want %.17g", s, got[s], want)
		}
	}
	if other := lrColumn(t, b); len(other) != 50 {
		t.Errorf("interrupted extension: %d rows", len(other))
	} else {
		for s := 1; s <= 50; s++ {
			if math.Float64bits(other[s]) != math.Float64bits(got[s]) {
				t.Errorf("row %d: lr %v interrupted and resumed, %v in one go", s, other[s], got[s])
			}
		}
	}
	// extending a finished run keeps its final rate
	run(a, 60, "latest", 0)
	for s, v := range lrColumn(t, a) {
		if s > 50 && v != lf {
			t.Errorf("row %d after extending a finished run: lr %v, want %v", s, v, lf)
		}
	}
}

// A checkpoint's record of run lengths that does not fit its step and config is an
// error naming it.
func TestCheckpointRunLengthsChecked(t *testing.T) {
	dir := t.TempDir()
	tr, err := New(toyConfig(t, "steps=4", "batch_size=64"), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, checkpointDir, checkpointName(4))
	good, err := tensorfile.ReadFile(path, CheckpointKind, CheckpointVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, lengths := range [][]runLength{
		{{0, 2}, {1, 4}},         // fine: changed at step 1 to 4 steps
		{{1, 4}},                 // not from step 0
		{{0, 2}, {5, 4}},         // a change after the checkpoint's step
		{{0, 2}, {1, 3}, {1, 4}}, // two changes at one step
		{{0, 2}, {3, 3}, {2, 4}}, // changes out of order
		{{0, 9}},                 // not the config's length
		{{0, 2}, {1, 1}, {3, 4}}, // a length that ends at its own start
	} {
		var meta map[string]any
		if err := json.Unmarshal(good.Meta, &meta); err != nil {
			t.Fatal(err)
		}
		meta["lengths"] = lengths
		f := *good
		f.Meta, _ = json.Marshal(meta)
		if err := tensorfile.WriteFile(path, &f); err != nil {
			t.Fatal(err)
		}
		_, err := ReadCheckpoint(path)
		if ok := len(lengths) == 2 && lengths[1] == (runLength{1, 4}); ok != (err == nil) || err != nil && !strings.Contains(err.Error(), "run lengths") {
			t.Errorf("lengths %v: %v", lengths, err)
		}
	}
}
