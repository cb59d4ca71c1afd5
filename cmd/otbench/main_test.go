package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunSeedplotAndPlot(t *testing.T) {
	dir := t.TempDir()
	plotFile, dumpFile := filepath.Join(dir, "seed.png"), filepath.Join(dir, "inst.json")
	var out, errb bytes.Buffer
	err := run([]string{"-only", "seedplot", "-maxdim", "128", "-reps", "1", "-plot", plotFile, "-dump", dumpFile}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	// Progress to a pipe: a plain line per dimension (each a tenth or more of the work).
	if p := errb.String(); !strings.HasPrefix(p, "seedplot: 1/2 (50%), ") || !strings.Contains(p, "\nseedplot: 2/2 (100%), ") ||
		strings.Count(p, "\n") != 2 || strings.Contains(p, "\r") {
		t.Errorf("progress: %q", p)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2*3 { // dims 64, 128; exact + two γ each
		t.Fatalf("%d rows, want 6:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r["bench"] != "seedplot" || !(r["ms"].(float64) > 0) {
			t.Errorf("bad row %s", l)
		}
		if mErr, ok := r["marginal_error"].(float64); ok && !(mErr < 1) {
			t.Errorf("Sinkhorn row with marginal error %v", mErr)
		}
	}
	f, err := os.Open(plotFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if img, err := png.Decode(f); err != nil || img.Bounds().Dx() < 100 {
		t.Errorf("plot is not a sensible PNG: %v", err)
	}
	var inst []seedInstance
	raw, _ := os.ReadFile(dumpFile)
	if err := json.Unmarshal(raw, &inst); err != nil || len(inst) != 2 || len(inst[1].Pts) != 128 {
		t.Errorf("dump: %v, %d instances", err, len(inst))
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-only", "nope"}, {"-reps", "0"}, {"-plot", "x.png", "-only", "exact", "-ref", "/does/not/exist"}} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// The instance dump and the plot replace an existing file as a whole (atomicfile): a
// reader that opened the old file still reads all of it, never a truncated or mixed one.
func TestOutputsReplaceAtomically(t *testing.T) {
	rows := []row{{"bench": "seedplot", "impl": "go", "dim": 64, "ms": 1.0}, {"bench": "seedplot", "impl": "go", "dim": 128, "ms": 3.0}}
	for name, write := range map[string]func(string) error{
		"inst.json": func(path string) error { return writeJSON(path, []int{1, 2}) },
		"seed.png":  func(path string) error { return plotSeed(path, rows) },
	} {
		path := filepath.Join(t.TempDir(), name)
		old := bytes.Repeat([]byte("o"), 1000)
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := write(path); err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(f); err != nil || !bytes.Equal(got, old) {
			t.Errorf("%s: the reader of the old file read %.20q, %v", name, got, err)
		}
		if got, err := os.ReadFile(path); err != nil || bytes.Equal(got, old) {
			t.Errorf("%s: not replaced: %v", name, err)
		}
	}
}
