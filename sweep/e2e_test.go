package sweep

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// execute runs a sweep into dir, reusing the binaries of bin when set.
func execute(ctx context.Context, t *testing.T, s *Spec, dir, bin, executor string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Execute(ctx, s, Options{Dir: dir, Bin: bin, Executor: executor, Jobs: 2, Stdout: &out})
	t.Logf("sweep %s (%s):\n%s", dir, executor, out.String())
	return out.String(), err
}

// sameRuns checks that two sweep directories hold bit-identical runs: generator.params
// and metrics.csv without its wall-time columns.
func sameRuns(t *testing.T, a, b string, runs []Run) {
	t.Helper()
	for _, r := range runs {
		pa, err := os.ReadFile(filepath.Join(a, r.Dir, "generator.params"))
		if err != nil {
			t.Fatal(err)
		}
		pb, err := os.ReadFile(filepath.Join(b, r.Dir, "generator.params"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pa, pb) {
			t.Errorf("%s: generator.params differ", r.Dir)
		}
		ma, mb := metricsNoTimes(t, filepath.Join(a, r.Dir)), metricsNoTimes(t, filepath.Join(b, r.Dir))
		if ma != mb {
			t.Errorf("%s: metrics.csv differ:\n%s\nvs\n%s", r.Dir, ma, mb)
		}
	}
}

func metricsNoTimes(t *testing.T, dir string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("%s/metrics.csv: %v (%d rows)", dir, err, len(rows))
	}
	var b strings.Builder
	for _, row := range rows {
		var keep []string
		for i, v := range row {
			if h := rows[0][i]; h != "step_ms" && h != "elapsed_s" {
				keep = append(keep, v)
			}
		}
		b.WriteString(strings.Join(keep, ",") + "\n")
	}
	return b.String()
}

func readPlan(t *testing.T, dir string) Plan {
	t.Helper()
	var p Plan
	if err := readJSON(filepath.Join(dir, planFile), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitForCheckpoint waits until some run of the sweep has saved a checkpoint.
func waitForCheckpoint(t *testing.T, dir string, index int) {
	t.Helper()
	for range 1200 {
		if p, err := filepath.Glob(filepath.Join(dir, "runs", "*", "*", "ckpt", "*.ckpt")); err == nil && len(p) > 0 {
			if index < 0 || strings.Contains(strings.Join(p, " "), readPlan(t, dir).Runs[index].Dir) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no checkpoint after 2 minutes")
}

// A local sweep trains every run once, skips finished runs when run again, and resumes
// interrupted ones from their checkpoints bit for bit; a run that fails does not stop
// the others.
func TestLocalSweepSkipsFinishedAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 8 small runs")
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if _, err := execute(context.Background(), t, tinySweep(t, 60, ""), ref, "", "local"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(ref, binDir)
	out, err := execute(context.Background(), t, tinySweep(t, 60, ""), ref, bin, "local")
	if err != nil || !strings.Contains(out, "(4 finished, 0 to run)") {
		t.Fatalf("second run: %v; want every run skipped", err)
	}
	for _, f := range []string{"results.csv", "results.json", "report.md"} {
		if _, err := os.Stat(filepath.Join(ref, f)); err != nil {
			t.Error(err)
		}
	}

	// interrupt a second copy once a checkpoint exists, then run it again
	dir := filepath.Join(t.TempDir(), "interrupted")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { waitForCheckpoint(t, dir, -1); cancel() }()
	if _, err := execute(ctx, t, tinySweep(t, 60, ""), dir, bin, "local"); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("interrupted sweep: %v", err)
	}
	if _, err := execute(context.Background(), t, tinySweep(t, 60, ""), dir, bin, "local"); err != nil {
		t.Fatal(err)
	}
	res := readResults(t, dir)
	resumed := 0
	for _, r := range res.Runs {
		if r.Resumed {
			resumed++
		}
	}
	if resumed == 0 {
		t.Error("no run was resumed from its checkpoint")
	}
	sameRuns(t, ref, dir, readPlan(t, ref).Runs)

	// a run that fails (a learning rate that overflows) leaves the others done
	bad := filepath.Join(t.TempDir(), "bad")
	s := tinySweep(t, 20, "")
	s.Grid = map[string][]any{"optimizer.lr": {1e-3, 1e300}}
	s.Seeds = []uint64{1}
	_, err = execute(context.Background(), t, s, bad, bin, "local")
	if err == nil || !strings.Contains(err.Error(), "1 run(s) did not finish") {
		t.Fatalf("sweep with a failing run: %v", err)
	}
	res = readResults(t, bad)
	if res.Runs[0].Status != "done" || res.Runs[1].Status != "failed" || res.Runs[1].Failure.Tail == "" {
		t.Errorf("runs %+v %+v: want the first done, the second failed with its log", res.Runs[0], res.Runs[1])
	}
	md, _ := os.ReadFile(filepath.Join(bad, "report.md"))
	if !strings.Contains(string(md), "Runs that did not finish") {
		t.Errorf("report.md does not list the failed run:\n%s", md)
	}
}

func readResults(t *testing.T, dir string) Results {
	t.Helper()
	var r Results
	if err := readJSON(filepath.Join(dir, "results.json"), &r); err != nil {
		t.Fatal(err)
	}
	return r
}
