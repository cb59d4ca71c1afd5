package sweep

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sinkgen/sinkgen/train"
)

// Options are a sweep invocation's command-line choices; zero values defer to the
// sweep file, then to the defaults.
type Options struct {
	Dir        string   // sweep directory (default checkpoints/sweeps/<name>)
	Executor   string   // "local" or "slurm"
	Jobs       int      // local: runs at once (0: cores / threads)
	Threads    int      // per run (0: the file's, else automatic)
	Bin        string   // copy train, eval and sweep from here instead of building them
	SubmitOnly bool     // slurm: submit, print the job id, return
	Collect    bool     // only gather the results and write the report
	Retrain    bool     // train every run again, finished or not
	Sbatch     []string // further sbatch options
	Cores      int      // 0: runtime.NumCPU()
	Poll       time.Duration
	Stdout     io.Writer // what happened; with SubmitOnly the job id alone
	Progress   io.Writer // progress lines (nil: none)
	// Report, when set, is called instead of writing results.csv, results.json and
	// report.md, with the directory still locked: a sweep with a report of its own
	// (cmd/compare). Its error is Execute's.
	Report func(*Results) error
}

// Failure is a run that did not finish: why, and the end of its task's log.
type Failure struct {
	Reason string `json:"reason"`
	Tail   string `json:"log_tail,omitempty"`
}

// executor runs the tasks of the pending runs and says why any of them failed.
type executor interface {
	run(ctx context.Context, s *sweepDir, pending []Run) (map[int]Failure, error)
}

// sweepDir is a planned sweep in its directory.
type sweepDir struct {
	dir  string
	spec *Spec
	plan Plan
	opts Options
	ran  map[int]bool // the runs this invocation trained (the others were finished before)
}

func (s *sweepDir) logPath(index int) string {
	return filepath.Join(s.dir, logDir, fmt.Sprintf("%d.log", index))
}

// Execute plans the sweep in its directory, runs what is not finished on the
// executor, and writes results.csv, results.json and report.md. It returns an error
// when a run failed (the report covers the others) or the sweep could not run.
func Execute(ctx context.Context, spec *Spec, opts Options) error {
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	exe := opts.Executor
	if exe == "" {
		exe = spec.Executor
	}
	if exe == "" {
		exe = "local"
	}
	if exe != "local" && exe != "slurm" {
		return fmt.Errorf("-executor %q: want local or slurm", exe)
	}
	if opts.SubmitOnly && exe != "slurm" {
		return errors.New("-submit-only needs the slurm executor")
	}
	dir := opts.Dir
	if dir == "" {
		dir = filepath.Join("checkpoints", "sweeps", spec.Name)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, logDir), 0o755); err != nil {
		return err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	s := &sweepDir{dir: dir, spec: spec, opts: opts}
	if opts.Collect {
		if err := readJSON(filepath.Join(dir, planFile), &s.plan); err != nil {
			return fmt.Errorf("-collect: %w (has the sweep been started in %s?)", err, dir)
		}
		return s.report(collectFailures(s))
	}
	if exe == "slurm" {
		if id, ok := activeJob(ctx, dir); ok {
			return fmt.Errorf("Slurm job %s of this sweep is still queued or running; -collect when it ends, or scancel it", id)
		}
	}
	if err := s.planRuns(ctx, exe); err != nil {
		return err
	}
	var pending []Run
	s.ran = map[int]bool{}
	for _, r := range s.plan.Runs {
		rdir := filepath.Join(dir, r.Dir)
		if opts.Retrain {
			// without its records a run's task trains it from scratch (train -force)
			for _, f := range []string{resultFile, runFile} {
				if err := os.Remove(filepath.Join(rdir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
		if !finished(rdir, r) {
			pending = append(pending, r)
			s.ran[r.Index] = true
		}
	}
	info := opts.Stdout
	if opts.SubmitOnly { // stdout is the job id alone, for scripts
		info = cmp.Or(opts.Progress, io.Discard)
	}
	fmt.Fprintf(info, "sweep %s: %d runs (%d finished, %d to run) with %d thread(s) each, code %s, in %s\n",
		spec.Name, len(s.plan.Runs), len(s.plan.Runs)-len(pending), len(pending), s.plan.Threads, s.plan.Version, dir)
	failures := map[int]Failure{}
	if len(pending) > 0 {
		var ex executor = &local{}
		if exe == "slurm" {
			ex = &slurm{}
		}
		if failures, err = ex.run(ctx, s, pending); err != nil {
			return err
		}
		if opts.SubmitOnly {
			return nil
		}
	}
	return s.report(failures)
}

// planRuns builds the binaries, chooses the threads per run, expands the runs and
// writes plan.json.
func (s *sweepDir) planRuns(ctx context.Context, exe string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if err := BuildBinaries(ctx, root, s.opts.Bin, s.dir); err != nil {
		return err
	}
	version, err := CodeVersion(filepath.Join(s.dir, binDir, "train"))
	if err != nil {
		return err
	}
	base := s.spec.Config // "" when every [[point]] has its own
	if base != "" {
		if base, err = train.ResolveConfigPath(base); err != nil {
			return fmt.Errorf("config: %w", err)
		}
		if base, err = filepath.Abs(base); err != nil {
			return err
		}
	}
	threads := s.opts.Threads
	if threads == 0 {
		threads = s.spec.Threads
	}
	if threads == 0 {
		threads = 1
		if exe == "local" {
			// every core busy: few runs get several threads each
			n, err := s.spec.Count()
			if err != nil {
				return err
			}
			threads = max(1, s.cores()/n)
		}
	}
	runs, err := s.spec.Runs(threads, version)
	if err != nil {
		return err
	}
	s.plan = Plan{Name: s.spec.Name, Root: root, Config: base, Version: version, Threads: threads, Eval: s.spec.Eval, Runs: runs}
	return writeJSON(filepath.Join(s.dir, planFile), s.plan)
}

func (s *sweepDir) cores() int {
	if s.opts.Cores > 0 {
		return s.opts.Cores
	}
	return runtime.NumCPU()
}

// Count is the number of runs the sweep expands into.
func (s *Spec) Count() (int, error) {
	p, err := s.Points()
	return len(p) * max(len(s.Seeds), 1), err
}

// tail is the last n lines of a file ("" when unreadable).
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
