package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkgen/sinkgen/internal/filelock"
)

// Two trainers on one run directory: the second, whether it starts over (-force) or
// resumes, fails at once naming the directory, and touches nothing of the first's;
// once the first has ended the directory is free again.
func TestRunDirectoryLocked(t *testing.T) {
	if !filelock.Supported {
		t.Skip("no flock(2)")
	}
	dir := t.TempDir()
	cfg := toyConfig(t, "steps=4", "log.checkpoint_every=2")
	first, err := New(cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Step(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Step(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.saveCheckpoint(); err != nil {
		t.Fatal(err)
	}
	temp := filepath.Join(dir, "."+"metrics.csv"+".tmp-123") // as if the first were writing it
	if err := os.WriteFile(temp, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{Dir: dir, Force: true}, {Dir: dir, Resume: "latest"}} {
		second, err := New(cfg, opts)
		if err == nil {
			second.Close()
			t.Fatalf("%+v: a second trainer started in a directory in use", opts)
		}
		if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "another process") {
			t.Errorf("%+v: error %q does not say that another process uses %s", opts, err, dir)
		}
	}
	if _, err := os.Stat(temp); err != nil {
		t.Errorf("the second trainer removed the first's temporary file: %v", err)
	}
	if files, _ := listCheckpoints(dir); len(files) != 1 {
		t.Errorf("checkpoints %v, want the first's one", files)
	}
	if err := first.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.Steps = 6
	again, err := New(cfg, Options{Dir: dir, Resume: "latest"})
	if err != nil {
		t.Fatalf("resume after the first ended: %v", err)
	}
	again.Close()
}
