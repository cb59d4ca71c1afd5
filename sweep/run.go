package sweep

import (
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/sinkgen/sinkgen/eval"
	"github.com/sinkgen/sinkgen/internal/atomicfile"
	"github.com/sinkgen/sinkgen/train"
)

// Files of a sweep directory and of its run directories.
const (
	planFile   = "plan.json"       // the expanded runs, read by every task
	binDir     = "bin"             // train, eval and sweep, built once per sweep invocation
	logDir     = "logs"            // logs/<index>.log: a task's output (both executors)
	runFile    = "sweep-run.json"  // in a run directory: the identity it is being trained for
	resultFile = "sweep-done.json" // in a run directory: written last, when trained and evaluated
	evalFile   = "eval.json"
)

// Plan is what the tasks of one sweep invocation read: plan.json.
type Plan struct {
	Name    string   `json:"name"`
	Root    string   `json:"root"`   // working directory of train and eval (the module)
	Config  string   `json:"config"` // the base training config, absolute ("" with [[point]]s: each run's Config)
	Version string   `json:"version"`
	Threads int      `json:"threads"`
	Eval    EvalSpec `json:"eval"`
	Runs    []Run    `json:"runs"`
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// identity is a run's ID: a hash of its full training config and the code version.
// Changing any config key (log.* included) or the code trains the run again.
func identity(cfg train.Config, version string) (string, error) {
	text, err := cfg.Marshal()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(text)
	h.Write([]byte{0})
	h.Write([]byte(version))
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// CodeVersion names the code a train binary was built from: its VCS revision as the
// go command stamps it (with "-dirty-" and a hash of the binary when the tree had
// uncommitted changes), else its module version, else a hash of the binary.
func CodeVersion(binary string) (string, error) {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return "", fmt.Errorf("%s: %w", binary, err)
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	binHash := func() (string, error) {
		f, err := os.Open(binary)
		if err != nil {
			return "", err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)[:6]), nil
	}
	switch {
	case rev != "" && !dirty:
		return rev, nil
	case rev != "":
		b, err := binHash()
		return rev + "-dirty-" + b, err
	case info.Main.Version != "" && info.Main.Version != "(devel)":
		return info.Main.Version, nil
	}
	b, err := binHash()
	return "binary-" + b, err
}

// BuildBinaries builds cmd/train, cmd/eval and cmd/sweep of the module at root into
// dir/bin (replacing them by rename, so that running tasks keep their files), or,
// when from is set, copies the three binaries from that directory. The binaries live
// in the sweep directory so that the nodes of a cluster find them on the shared file
// system, and a task started later runs the code the sweep was planned with.
func BuildBinaries(ctx context.Context, root, from, dir string) error {
	bin := filepath.Join(dir, binDir)
	tmp, err := os.MkdirTemp(dir, ".bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	names := []string{"train", "eval", "sweep"}
	if from == "" {
		args := []string{"build", "-o", tmp + string(filepath.Separator)}
		for _, n := range names {
			args = append(args, "github.com/sinkgen/sinkgen/cmd/"+n)
		}
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building the binaries in %s (go %s): %v\n%s(-bin DIR uses prebuilt ones)", root, args[0], err, out)
		}
	} else {
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(from, n))
			if err != nil {
				return fmt.Errorf("-bin: %w", err)
			}
			if err := os.WriteFile(filepath.Join(tmp, n), b, 0o755); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(tmp, n), filepath.Join(bin, n)); err != nil {
			return err
		}
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'))
}

// runRecord is a run directory's sweep-run.json and sweep-done.json.
type runRecord struct {
	ID       string   `json:"id"`
	Point    string   `json:"point"`
	Seed     uint64   `json:"seed"`
	Set      []string `json:"set"`
	Resumed  bool     `json:"resumed,omitempty"` // sweep-done.json: the last training resumed a checkpoint
	TrainSec float64  `json:"train_seconds,omitempty"`
	EvalSec  float64  `json:"eval_seconds,omitempty"`
}

// finished reports whether the run directory holds a trained and evaluated run r: its
// sweep-done.json has r's identity and its newest checkpoint is the final one (one
// lost since is resumed from the one before).
func finished(dir string, r Run) bool {
	var rec runRecord
	if readJSON(filepath.Join(dir, resultFile), &rec) != nil || rec.ID != r.ID {
		return false
	}
	ck, err := train.FindCheckpoint(dir, nil)
	return err == nil && ck.Step == r.Steps
}

// Task trains and evaluates run index of the sweep at dir: `sweep -task INDEX DIR`, the
// one command both executors run. A finished run is left alone; one whose directory
// holds a checkpoint of the same identity is resumed from it; anything else in the
// directory is replaced (train -force).
func Task(ctx context.Context, dir string, index int, log io.Writer) error {
	var p Plan
	if err := readJSON(filepath.Join(dir, planFile), &p); err != nil {
		return err
	}
	if index < 0 || index >= len(p.Runs) {
		return fmt.Errorf("task %d: the sweep has runs 0 to %d", index, len(p.Runs)-1)
	}
	r := p.Runs[index]
	rdir := filepath.Join(dir, r.Dir)
	fmt.Fprintf(log, "sweep task %d: %s seed %d in %s (id %s)\n", index, r.Point, r.Seed, rdir, r.ID)
	if finished(rdir, r) {
		fmt.Fprintln(log, "already trained and evaluated")
		return nil
	}
	rec := runRecord{ID: r.ID, Point: r.Point, Seed: r.Seed, Set: r.Set}
	var prev runRecord
	same := readJSON(filepath.Join(rdir, runFile), &prev) == nil && prev.ID == r.ID
	mode := "-force"
	steps := -1 // steps of the newest checkpoint
	if same {
		if ck, err := train.FindCheckpoint(rdir, nil); err == nil {
			mode, steps, rec.Resumed = "-resume", ck.Step, true
		}
	}
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(rdir, runFile), rec); err != nil {
		return err
	}
	bin := filepath.Join(dir, binDir)
	t0 := time.Now()
	if steps != r.Steps {
		args := []string{"-config", r.Config, "-out", rdir, "-q", mode}
		for _, s := range r.Set {
			args = append(args, "-set", s)
		}
		if steps >= 0 {
			fmt.Fprintf(log, "resuming from step %d\n", steps)
		}
		if err := child(ctx, p.Root, log, filepath.Join(bin, "train"), args...); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	rec.TrainSec = time.Since(t0).Seconds()
	if !p.Eval.Skip {
		t0 = time.Now()
		args := []string{"-checkpoint", rdir, "-q", "-out", filepath.Join(rdir, evalFile),
			"-n", strconv.Itoa(p.Eval.N), "-ref", strconv.Itoa(p.Eval.Ref), "-seed", strconv.FormatUint(p.Eval.Seed, 10)}
		if err := child(ctx, p.Root, log, filepath.Join(bin, "eval"), append(args, p.Eval.Args...)...); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		rec.EvalSec = time.Since(t0).Seconds()
	}
	return writeJSON(filepath.Join(rdir, resultFile), rec)
}

// child runs a program with its output in log; a cancelled ctx sends it SIGTERM
// (train then saves a checkpoint and exits with status 130).
func child(ctx context.Context, dir string, log io.Writer, prog string, args ...string) error {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Minute
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 130 {
		return fmt.Errorf("interrupted (a checkpoint was saved): %w", err)
	}
	return err
}

// moduleRoot is the directory train and eval run in: the module holding configs/.
func moduleRoot() (string, error) {
	root, err := filepath.Abs(eval.ModuleRoot())
	if err != nil {
		return "", err
	}
	return root, nil
}
