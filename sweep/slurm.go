package sweep

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sinkgen/sinkgen/internal/progress"
)

// Files of the Slurm executor in the sweep directory.
const (
	jobScript = "job.sh"       // the array job, readable and resubmittable
	jobIDFile = "slurm-job-id" // the last submitted job
)

// slurm runs the tasks as one Slurm array job, one array task per run, and waits for
// it by polling squeue; the results come back through the shared file system.
type slurm struct{}

func (slurm) run(ctx context.Context, s *sweepDir, pending []Run) (map[int]Failure, error) {
	if strings.ContainsAny(s.dir+s.plan.Root, " \t\n\"'") {
		return nil, fmt.Errorf("the Slurm executor needs a sweep directory and module path without spaces or quotes (%s, %s)", s.dir, s.plan.Root)
	}
	script := filepath.Join(s.dir, jobScript)
	if err := os.WriteFile(script, []byte(s.jobScript(pending)), 0o755); err != nil {
		return nil, err
	}
	out, err := command(ctx, "sbatch", "--parsable", script)
	if err != nil {
		return nil, fmt.Errorf("sbatch %s: %w", script, err)
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";") // "id;cluster" on federations
	if _, err := strconv.Atoi(id); err != nil {
		return nil, fmt.Errorf("sbatch printed %q, not a job id", out)
	}
	if err := os.WriteFile(filepath.Join(s.dir, jobIDFile), []byte(id+"\n"), 0o644); err != nil {
		return nil, err
	}
	if s.opts.SubmitOnly {
		fmt.Fprintln(s.opts.Stdout, id)
		return nil, nil
	}
	fmt.Fprintf(s.opts.Stdout, "slurm: job %s, %d task(s) of %d thread(s); script %s, logs in %s\n",
		id, len(pending), s.plan.Threads, script, filepath.Join(s.dir, logDir))
	poll := s.opts.Poll
	if poll == 0 {
		poll, _ = time.ParseDuration(s.spec.Slurm.Poll)
	}
	bar := progress.New(s.opts.Progress, "runs", len(pending))
	for {
		states, err := squeue(ctx, id)
		if err != nil {
			return nil, err
		}
		done, failed, running := 0, 0, 0
		for _, r := range pending {
			switch {
			case finished(filepath.Join(s.dir, r.Dir), r):
				done++
			case states[r.Index] == "":
				failed++
			case states[r.Index] == "RUNNING":
				running++
			}
		}
		bar.Describe(fmt.Sprintf("%d done, %d running, %d failed", done, running, failed))
		bar.Set(done + failed)
		if len(states) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			bar.Abort()
			return nil, fmt.Errorf("stopped waiting; job %s goes on: run with -collect when it ends, or scancel %s", id, id)
		case <-time.After(poll):
		}
	}
	bar.Finish()
	failures := map[int]Failure{}
	for _, r := range pending {
		if !finished(filepath.Join(s.dir, r.Dir), r) {
			failures[r.Index] = s.failure(ctx, id, r.Index)
		}
	}
	return failures, nil
}

// jobScript is the array job over the pending runs' indices.
func (s *sweepDir) jobScript(pending []Run) string {
	var idx []int
	for _, r := range pending {
		idx = append(idx, r.Index)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n# Sweep %s: one array task per run of plan.json that was not finished at submission.\n", s.plan.Name)
	fmt.Fprintf(&b, "# Each task trains and evaluates its run (a finished run is skipped, an interrupted one\n# resumed); resubmit with: sbatch %s\n", filepath.Join(s.dir, jobScript))
	fmt.Fprintf(&b, "#SBATCH --job-name=sweep-%s\n", s.plan.Name)
	fmt.Fprintf(&b, "#SBATCH --array=%s\n", ranges(idx))
	fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", s.plan.Threads)
	if m := s.spec.Slurm.Mem; m != "" {
		fmt.Fprintf(&b, "#SBATCH --mem=%s\n", m)
	}
	if t := s.spec.Slurm.Time; t != "" {
		fmt.Fprintf(&b, "#SBATCH --time=%s\n", t)
	}
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(s.dir, logDir, "%a.log"))
	b.WriteString("#SBATCH --open-mode=append\n")
	fmt.Fprintf(&b, "#SBATCH --chdir=%s\n", s.plan.Root)
	for _, o := range append(append([]string(nil), s.spec.Slurm.Options...), s.opts.Sbatch...) {
		fmt.Fprintf(&b, "#SBATCH %s\n", o)
	}
	fmt.Fprintf(&b, "exec %s -task \"$SLURM_ARRAY_TASK_ID\" %s\n", filepath.Join(s.dir, binDir, "sweep"), s.dir)
	return b.String()
}

// ranges writes sorted indices as Slurm's array list: 0-3,5,7-8.
func ranges(idx []int) string {
	sort.Ints(idx)
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func command(ctx context.Context, prog string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%v: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// squeue maps the job's array tasks still queued or running to their states; a job
// that has left the queue (or that squeue no longer knows) has none.
func squeue(ctx context.Context, id string) (map[int]string, error) {
	out, err := command(ctx, "squeue", "-h", "-r", "-j", id, "-o", "%K %T")
	if err != nil {
		if strings.Contains(err.Error(), "Invalid job id") {
			return nil, nil
		}
		return nil, fmt.Errorf("squeue: %w", err)
	}
	states := map[int]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, st, ok := strings.Cut(strings.TrimSpace(line), " ")
		if i, err := strconv.Atoi(k); ok && err == nil {
			states[i] = st
		}
	}
	return states, nil
}

// activeJob is the sweep's last submitted job if it is still queued or running.
func activeJob(ctx context.Context, dir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, jobIDFile))
	if err != nil {
		return "", false
	}
	id := strings.TrimSpace(string(b))
	states, err := squeue(ctx, id)
	return id, err == nil && len(states) > 0
}

// failure says why array task index of job id ended without finishing its run:
// sacct's state where accounting is on, else what slurmstepd wrote into the log.
func (s *sweepDir) failure(ctx context.Context, id string, index int) Failure {
	log := s.logPath(index)
	f := Failure{Reason: "ended without finishing", Tail: tail(log, 20)}
	if out, err := command(ctx, "sacct", "-n", "-P", "-X", "-j", fmt.Sprintf("%s_%d", id, index), "-o", "State,ExitCode"); err == nil && strings.TrimSpace(out) != "" {
		st, code, _ := strings.Cut(strings.TrimSpace(strings.Split(out, "\n")[0]), "|")
		f.Reason = fmt.Sprintf("Slurm state %s (exit code %s)", strings.ToLower(st), code)
		return f
	}
	f.Reason = logReason(f.Tail, f.Reason)
	return f
}

// logReason reads the reason from the end of a task's log.
func logReason(tail, otherwise string) string {
	switch {
	case strings.Contains(tail, "DUE TO TIME LIMIT"):
		return "timed out (Slurm time limit)"
	case strings.Contains(tail, "CANCELLED AT"):
		return "cancelled"
	case strings.Contains(tail, "oom-kill") || strings.Contains(tail, "Out Of Memory"):
		return "out of memory (Slurm memory limit)"
	}
	lines := strings.Split(tail, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "sweep: ") {
			return "failed: " + strings.TrimPrefix(lines[i], "sweep: ")
		}
	}
	return otherwise
}

// collectFailures lists the unfinished runs for -collect.
func collectFailures(s *sweepDir) map[int]Failure {
	id, active := activeJob(context.Background(), s.dir)
	failures := map[int]Failure{}
	for _, r := range s.plan.Runs {
		if finished(filepath.Join(s.dir, r.Dir), r) {
			continue
		}
		t := tail(s.logPath(r.Index), 20)
		reason := "not run"
		switch {
		case active:
			reason = fmt.Sprintf("still queued or running (Slurm job %s)", id)
		case t != "":
			reason = logReason(t, "ended without finishing")
		}
		failures[r.Index] = Failure{Reason: reason, Tail: t}
	}
	return failures
}
