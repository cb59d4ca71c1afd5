package train

// The run's bookkeeping: run directory and its lock, resumption, logs, progress,
// samples, the end of a run.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sinkgen/sinkgen/internal/atomicfile"
	"github.com/sinkgen/sinkgen/internal/filelock"
	"github.com/sinkgen/sinkgen/internal/process"
	"github.com/sinkgen/sinkgen/internal/progress"
)

var runFiles = []string{"config.toml", "train.log", "metrics.csv", "metrics.jsonl", "loss.png", "eps.png", "generator.params"}

// runLock is the file in a run directory whose lock a trainer holds for its lifetime.
const runLock = "run.lock"

// lockRunDir creates the run directory and takes its lock: two processes training in
// one directory would delete each other's temporary files and interleave their
// metrics rows. Close releases it.
func (t *Trainer) lockRunDir() error {
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return err
	}
	unlock, err := filelock.TryLock(filepath.Join(t.dir, runLock))
	if errors.Is(err, filelock.ErrLocked) {
		return fmt.Errorf("%s is in use by another process training or resuming a run there; wait for it to end or choose another -out", t.dir)
	}
	if err != nil {
		return fmt.Errorf("locking the run directory: %w", err)
	}
	t.unlock = unlock
	return nil
}

// openRunDir creates the run directory (refusing to overwrite a run unless Force),
// removes what interrupted writes left, writes config.toml and opens the logs.
func (t *Trainer) openRunDir() error {
	if err := removeTempFiles(t.dir); err != nil {
		return err
	}
	if t.opts.Resume == "" {
		if files, _ := listCheckpoints(t.dir); len(files) > 0 && !t.opts.Force {
			return fmt.Errorf("%s already holds a run (%s); continue it with -resume, or start over with -force", t.dir, filepath.Base(files[0]))
		}
		if _, err := os.Stat(filepath.Join(t.dir, "metrics.csv")); err == nil && !t.opts.Force {
			return fmt.Errorf("%s already holds a run (metrics.csv); start over with -force or choose another -out", t.dir)
		}
		for _, f := range runFiles {
			os.Remove(filepath.Join(t.dir, f))
		}
		os.RemoveAll(filepath.Join(t.dir, checkpointDir))
		os.RemoveAll(filepath.Join(t.dir, "samples"))
	}
	if err := os.MkdirAll(filepath.Join(t.dir, "samples"), 0o755); err != nil {
		return err
	}
	text, err := t.cfg.Marshal()
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# The configuration of run %q, defaults filled in (written by cmd/train).\n", t.cfg.Name)
	if err := atomicfile.WriteFunc(filepath.Join(t.dir, "config.toml"), func(f *os.File) error {
		_, err := f.Write(append([]byte(header), text...))
		return err
	}); err != nil {
		return err
	}
	if t.metrics, err = openMetrics(filepath.Join(t.dir, "metrics.csv"), filepath.Join(t.dir, "metrics.jsonl"), t.step); err != nil {
		return err
	}
	t.logFile, err = os.OpenFile(filepath.Join(t.dir, "train.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	return err
}

// resumable keys may differ between a checkpoint's config and the resuming one.
func resumable(key string) bool {
	return key == "steps" || key == "name" || key == "threads" || key == "data.path" || strings.HasPrefix(key, "log.")
}

// resume restores the checkpoint named by opts.Resume.
func (t *Trainer) resume() error {
	var c *Checkpoint
	var err error
	if t.opts.Resume == "latest" {
		c, err = FindCheckpoint(t.dir, func(w string) { fmt.Fprintln(t.opts.Stdout, "warning:", w) })
	} else {
		c, err = ReadCheckpoint(t.opts.Resume)
	}
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	diff, err := diffConfigs(c.Config, t.cfg, resumable)
	if err != nil {
		return err
	}
	if len(diff) > 0 {
		return fmt.Errorf("resume: the config differs from the checkpoint's (checkpoint vs now): %s; only steps, threads, data.path and log.* may change",
			strings.Join(diff, "; "))
	}
	if c.Step >= t.cfg.Steps {
		return fmt.Errorf("resume: %s is at step %d, the run has %d steps: nothing to do (raise steps with -set steps=N)", c.Path, c.Step, t.cfg.Steps)
	}
	if c.Threads() != runtime.GOMAXPROCS(0) {
		fmt.Fprintf(t.opts.Stdout, "warning: the checkpoint was written with %d threads, this run uses %d: the result will not match an uninterrupted run bit for bit\n",
			c.Threads(), runtime.GOMAXPROCS(0))
	}
	return t.restore(c)
}

// begin starts the clock, the progress bar and the log.
func (t *Trainer) begin() {
	t.start = time.Now()
	c := t.cfg
	what := fmt.Sprintf("run %q: %s generator (%d parameters), %s loss, %s, %d steps of %d data / %d generated points",
		c.Name, c.Model.Kind, t.gen.NumParams(), c.Loss.Kind, c.Data.Kind, c.Steps, c.BatchSize, c.genBatch())
	if t.adv != nil {
		a := t.adv.cfg
		what += fmt.Sprintf("; learned cost: %s critic (%d parameters, %d features), %d critic updates per step (%s), Lipschitz control %s",
			c.Critic.Kind, t.adv.critic.NumParams(), c.Critic.Features, a.CriticSteps, a.Schedule, a.Lipschitz)
		if a.PretrainSteps > 0 {
			what += fmt.Sprintf(", after %d pre-training steps on the fixed cost", a.PretrainSteps)
		}
	}
	if t.step > 0 {
		what += fmt.Sprintf(", resumed at step %d from %s", t.step, t.lastCheckpoint)
	}
	t.note("%s; %d threads; BLAS: %s", what, runtime.GOMAXPROCS(0), process.BLAS())
	if !t.opts.NoFiles {
		fmt.Fprintf(t.opts.Stdout, "%s\noutputs in %s\n", what, t.dir)
		if _, shape := c.outShape(); shape[0] > 0 && t.reference != nil {
			if err := SaveImageGrid(filepath.Join(t.dir, "samples", "data.png"), t.reference, shape, 0); err != nil {
				t.logf("warning: samples/data.png: %v", err)
			}
		}
	}
	t.startBar()
}

// startBar starts a progress bar for the steps left in the current phase: pre-training
// runs many times faster than the adversarial steps, so each phase has a bar of its
// own, and a rate and ETA of its own.
func (t *Trainer) startBar() {
	if t.opts.Progress == nil || !t.cfg.Log.Progress {
		return
	}
	end, what := t.cfg.Steps, t.cfg.Name
	if t.sched.phaseOf(t.step) == pretrainPhase {
		end, what = t.cfg.Adversarial.PretrainSteps, what+" (pre-training)"
	}
	t.bar = progress.New(t.opts.Progress, what, end).From(t.step)
}

// record writes a step's metrics, advances the progress bar, and logs every Log.Every.
func (t *Trainer) record(st StepStats) error {
	if t.metrics != nil {
		if err := t.metrics.add(st); err != nil {
			return err
		}
	}
	if t.bar != nil {
		t.bar.Describe(fmt.Sprintf("loss %.4g ε %s", st.Loss, fmtEps(st.Eps)))
		t.bar.Set(st.Step)
		if st.Step == t.cfg.Adversarial.PretrainSteps && t.sched.phaseOf(st.Step-1) == pretrainPhase {
			t.bar.Finish()
			t.startBar()
		}
	}
	if due(st.Step, t.cfg.Log.Every) || st.Step == t.cfg.Steps {
		critic := ""
		if t.adv != nil {
			critic = fmt.Sprintf(" critic: loss %.6g penalty %.4g autoencoder %.4g |grad| %.4g updates %d;", st.CriticLoss, st.Penalty, st.Autoencoder, st.CriticGradNorm, st.CriticSteps)
		}
		t.logf("step %d/%d loss %.6g ε %s marginal error %.3g iterations %d |grad| %.4g lr %.3g;%s %.1f ms/step",
			st.Step, t.cfg.Steps, st.Loss, fmtEps(st.Eps), st.MarginalError, st.Iterations, st.GradNorm, st.LR, critic, st.StepMs)
		if t.metrics != nil {
			return t.metrics.flush()
		}
	}
	return nil
}

func fmtEps(e float64) string {
	if math.IsInf(e, 1) {
		return "∞"
	}
	return fmt.Sprintf("%.3g", e)
}

// logf appends a time-stamped line to train.log, and to Stdout when progress is
// wanted but the config turned the bar off.
func (t *Trainer) logf(format string, args ...any) {
	line := t.note(format, args...)
	if t.bar == nil && t.opts.Progress != nil && !t.opts.NoFiles {
		io.WriteString(t.opts.Stdout, line)
	}
}

// note appends a time-stamped line to train.log only (the caller reports it).
func (t *Trainer) note(format string, args ...any) string {
	line := time.Now().Format("2006-01-02 15:04:05 ") + fmt.Sprintf(format, args...) + "\n"
	if t.logFile != nil {
		t.logFile.WriteString(line)
	}
	return line
}

// saveSamples writes samples/step-NNNNNN.png from the fixed latent batch: an image
// grid, or a scatter plot over a data batch for 2-D data. A picture that cannot be
// drawn is a warning: it must not cost the run.
func (t *Trainer) saveSamples() {
	if t.opts.NoFiles {
		return
	}
	path := filepath.Join(t.dir, "samples", fmt.Sprintf("step-%06d.png", t.step))
	pts, err := t.sampler.Generate(t.sampleZ)
	if err == nil {
		if _, shape := t.cfg.outShape(); shape[0] > 0 {
			err = SaveImageGrid(path, pts, shape, 0)
		} else {
			err = SaveScatter(path, fmt.Sprintf("%s, step %d", t.cfg.Name, t.step), pts, t.reference)
		}
	}
	if err != nil {
		t.logf("warning: %s: %v", path, err)
	}
}

// interrupted saves a checkpoint of the last completed step.
func (t *Trainer) interrupted() error {
	if t.bar != nil {
		t.bar.Abort()
		t.bar = nil
	}
	if t.opts.NoFiles {
		return fmt.Errorf("%w at step %d", ErrInterrupted, t.step)
	}
	path, err := t.saveCheckpoint()
	if err != nil {
		return fmt.Errorf("%w at step %d; saving the checkpoint failed: %v", ErrInterrupted, t.step, err)
	}
	t.note("interrupted at step %d; checkpoint %s", t.step, path)
	return fmt.Errorf("%w at step %d; checkpoint saved to %s (continue with -resume)", ErrInterrupted, t.step, path)
}

// failed logs a failed step; a NonFiniteError leaves the checkpoints as they are.
func (t *Trainer) failed(err error) error {
	if t.bar != nil {
		t.bar.Abort()
		t.bar = nil
	}
	t.note("stopped: %v", err)
	if t.metrics != nil {
		t.metrics.flush()
	}
	return err
}

// finish writes the final samples, parameters, curves and, last, checkpoint: a run
// killed before that checkpoint resumes from the one before and writes all of this
// again, where it would otherwise find nothing to do and the outputs missing.
func (t *Trainer) finish() error {
	if t.bar != nil {
		t.bar.Finish()
		t.bar = nil
	}
	if t.opts.NoFiles {
		return nil
	}
	t.saveSamples()
	if err := t.checkParams(); err != nil {
		return err
	}
	if err := t.gen.Save(filepath.Join(t.dir, "generator.params")); err != nil {
		return err
	}
	if err := t.metrics.flush(); err != nil {
		return err
	}
	if err := saveCurves(filepath.Join(t.dir, "metrics.csv"), filepath.Join(t.dir, "loss.png"), filepath.Join(t.dir, "eps.png"), t.cfg.Name); err != nil {
		t.logf("warning: the loss and ε curves: %v", err) // the run itself is complete
	}
	path, err := t.saveCheckpoint()
	if err != nil {
		return err
	}
	t.note("done: %d steps in %.1f s; checkpoint %s; samples in %s", t.step, t.elapsed(), path, filepath.Join(t.dir, "samples"))
	return nil
}
