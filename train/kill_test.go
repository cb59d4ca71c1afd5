package train

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// killAt is a context that, asked before step k+1 (after k steps), copies the run
// directory as it is on disk — what a kill -9 at that moment leaves, the process's
// buffers lost — to snapshot, and then stops the run.
type killAt struct {
	context.Context
	t             *testing.T
	k             int64
	dir, snapshot string
	calls         atomic.Int64
}

func (c *killAt) Err() error {
	n := c.calls.Add(1)
	if n <= c.k {
		return nil
	}
	if n == c.k+1 {
		copyDir(c.t, c.dir, c.snapshot)
	}
	return context.Canceled
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// jsonlSteps returns the step of every row of metrics.jsonl, and the rows without
// their wall-time fields.
func jsonlRows(t *testing.T, dir string) (steps []int, rows []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("metrics.jsonl: %q: %v", line, err)
		}
		steps = append(steps, int(r["step"].(float64)))
		delete(r, "step_ms")
		delete(r, "elapsed_s")
		s, _ := json.Marshal(r)
		rows = append(rows, string(s))
	}
	return steps, rows
}

// A run killed at any moment (here: between steps, with checkpoints every 7 steps and
// metrics flushed every 5) and resumed from its newest checkpoint ends with every
// step's row exactly once in metrics.csv and metrics.jsonl, equal to the uninterrupted
// run's. Rows used to sit in a buffer while the checkpoint of their step was written,
// and were lost for good.
func TestKilledRunKeepsEveryMetricsRow(t *testing.T) {
	cfg := toyConfig(t, "steps=30", "batch_size=64", "log.checkpoint_every=7", "log.every=5", "log.keep=2")
	root := t.TempDir()
	whole := filepath.Join(root, "whole")
	tr, err := New(cfg, Options{Dir: whole})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// killed at step 9 (rows 6 and 7 were in the buffer when checkpoint 7 was
	// written), at step 13 (rows 8…10 of the lost future are on disk: dropped on
	// resuming from checkpoint 7 again) and at step 22 (row 21 was in the buffer)
	dir := filepath.Join(root, "run")
	tr, err = New(cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []int{9, 6, 15} {
		snap := filepath.Join(root, "killed-"+strconv.Itoa(i))
		if err := tr.Run(&killAt{Context: context.Background(), t: t, k: int64(k), dir: dir, snapshot: snap}); !errors.Is(err, ErrInterrupted) {
			t.Fatalf("run %d: %v", i, err)
		}
		dir = snap
		if tr, err = New(cfg, Options{Dir: dir, Resume: "latest"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantSteps := make([]int, cfg.Steps)
	for i := range wantSteps {
		wantSteps[i] = i + 1
	}
	a, b := metricsColumns(t, whole), metricsColumns(t, dir)
	if sa, sb := csvSteps(a), csvSteps(b); !slices.Equal(sa, wantSteps) || !slices.Equal(sb, wantSteps) {
		t.Errorf("metrics.csv steps: uninterrupted %v, killed and resumed %v", sa, sb)
	} else if !slices.Equal(a, b) {
		t.Errorf("metrics.csv differs:\n%s\nvs\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	sa, ra := jsonlRows(t, whole)
	sb, rb := jsonlRows(t, dir)
	if !slices.Equal(sa, wantSteps) || !slices.Equal(sb, wantSteps) {
		t.Errorf("metrics.jsonl steps: uninterrupted %v, killed and resumed %v", sa, sb)
	} else if !slices.Equal(ra, rb) {
		t.Errorf("metrics.jsonl differs:\n%s\nvs\n%s", strings.Join(ra, "\n"), strings.Join(rb, "\n"))
	}
}

// csvSteps returns the step column of metrics.csv lines (header first).
func csvSteps(lines []string) []int {
	var out []int
	for _, l := range lines[min(1, len(lines)):] {
		f, _, _ := strings.Cut(l, ",")
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

// A start or a resume removes the temporary files of writes a kill interrupted (a
// checkpoint's is as large as the checkpoint), and nothing else.
func TestTempFilesOfInterruptedWritesRemoved(t *testing.T) {
	dir := t.TempDir()
	cfg := toyConfig(t, "steps=4", "batch_size=64", "log.checkpoint_every=2", "log.sample_every=2")
	tr, err := New(cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ours := []string{"ckpt/.step-00000004.ckpt.tmp-2846113", "ckpt/.step-00000006.ckpt.tmp-1", ".metrics.csv.tmp-77",
		".config.toml.tmp-3", ".generator.params.tmp-9", ".eps.png.tmp-12", "samples/.step-000004.png.tmp-5", "samples/.data.png.tmp-6"}
	theirs := []string{"ckpt/.step-00000004.ckpt.tmp-mine", "ckpt/.notes.txt.tmp-1", "ckpt/step-00000004.ckpt.tmp-1", "ckpt/notes",
		".notes.tmp-4", ".metrics.csv.tmp-4.bak", "notes.txt", "samples/.my.png.tmp-8", ".step-00000004.ckpt.tmp-5"}
	for _, f := range append(slices.Clone(ours), theirs...) {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "ckpt", ".step-00000008.ckpt.tmp-2"), 0o755); err != nil { // a directory: not ours
		t.Fatal(err)
	}
	theirs = append(theirs, "ckpt/.step-00000008.ckpt.tmp-2")
	check := func(when string) {
		t.Helper()
		for _, f := range ours {
			if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
				t.Errorf("%s: %s is still there (%v)", when, f, err)
			}
		}
		for _, f := range theirs {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: %v", when, err)
			}
		}
	}
	cfg.Steps = 6
	tr, err = New(cfg, Options{Dir: dir, Resume: "latest"})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	check("resume")

	// a start in a directory where the first write of config.toml was interrupted
	dir = t.TempDir()
	ours, theirs = []string{".config.toml.tmp-123"}, []string{"notes.txt"}
	for _, f := range append(slices.Clone(ours), theirs...) {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err = New(cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	check("start")
}

// The final checkpoint is written after the run's last outputs: a run that dies while
// writing them (here: generator.params cannot be written) resumes from the checkpoint
// before and writes them, where it used to find nothing to do and no generator.params.
func TestRunDyingInFinishResumes(t *testing.T) {
	dir := t.TempDir()
	cfg := toyConfig(t, "steps=4", "batch_size=64", "log.checkpoint_every=2")
	params := filepath.Join(dir, "generator.params")
	if err := os.MkdirAll(filepath.Join(params, "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	tr, err := New(cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err == nil {
		t.Fatal("no error writing generator.params over a directory")
	}
	if err := os.RemoveAll(params); err != nil {
		t.Fatal(err)
	}
	if tr, err = New(cfg, Options{Dir: dir, Resume: "latest"}); err != nil {
		t.Fatal(err)
	}
	if tr.StepCount() != 2 {
		t.Errorf("resumed at step %d, want 2", tr.StepCount())
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"generator.params", "loss.png", checkpointDir + "/" + checkpointName(4)} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
