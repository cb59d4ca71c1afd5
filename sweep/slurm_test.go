package sweep

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Slurm tests need a cluster: scripts/slurm-test-cluster.sh start, then
// SINKGEN_SLURM=1 go test ./sweep -run Slurm.
func needSlurm(t *testing.T) {
	if os.Getenv("SINKGEN_SLURM") != "1" {
		t.Skip("set SINKGEN_SLURM=1 with a Slurm cluster at hand (scripts/slurm-test-cluster.sh)")
	}
}

// The same sweep gives bit-identical runs on Slurm and locally; a task cancelled
// mid-run is reported with its log, and running the sweep again resumes it from its
// checkpoint — to the run it would have been — and redoes nothing else.
func TestSlurmMatchesLocalAndResumesCancelled(t *testing.T) {
	needSlurm(t)
	local := filepath.Join(t.TempDir(), "local")
	if _, err := execute(context.Background(), t, tinySweep(t, 50, ""), local, "", "local"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(local, binDir)
	onSlurm := filepath.Join(t.TempDir(), "slurm")
	if _, err := execute(context.Background(), t, tinySweep(t, 50, ""), onSlurm, bin, "slurm"); err != nil {
		t.Fatal(err)
	}
	sameRuns(t, local, onSlurm, readPlan(t, local).Runs)

	// cancel task 0 of a longer sweep once it has a checkpoint
	const steps = 200
	dir := filepath.Join(t.TempDir(), "cancel")
	var out strings.Builder
	if err := Execute(context.Background(), tinySweep(t, steps, ""), Options{Dir: dir, Bin: bin, Executor: "slurm", SubmitOnly: true, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out.String()) // stdout is the job id alone
	waitForCheckpoint(t, dir, 0)
	if b, err := exec.Command("scancel", id+"_0").CombinedOutput(); err != nil {
		t.Fatalf("scancel %s_0: %v %s", id, err, b)
	}
	for range 600 {
		if _, active := activeJob(context.Background(), dir); !active {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	out.Reset()
	err := Execute(context.Background(), tinySweep(t, steps, ""), Options{Dir: dir, Collect: true, Stdout: &out})
	t.Logf("collect:\n%s", out.String())
	if err == nil || !strings.Contains(out.String(), ": cancelled") || !strings.Contains(out.String(), "CANCELLED AT") {
		t.Fatalf("collect after scancel: %v; want run 0 reported cancelled with its log", err)
	}
	again, err := execute(context.Background(), t, tinySweep(t, steps, ""), dir, bin, "slurm")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(again, "(3 finished, 1 to run)") {
		t.Errorf("the second submission did not run the cancelled run alone")
	}
	if res := readResults(t, dir); !res.Runs[0].Resumed {
		t.Errorf("run 0 was not resumed from its checkpoint")
	}
	// the uninterrupted run 0, locally
	ref := filepath.Join(t.TempDir(), "ref")
	s := tinySweep(t, steps, "")
	s.Grid, s.Seeds = map[string][]any{"loss.eps": {0.1}}, []uint64{1}
	if _, err := execute(context.Background(), t, s, ref, bin, "local"); err != nil {
		t.Fatal(err)
	}
	sameRuns(t, ref, dir, readPlan(t, ref).Runs)
}
