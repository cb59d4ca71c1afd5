package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/sinkgen/sinkgen/internal/atomicfile"
	"github.com/sinkgen/sinkgen/internal/tensorfile"
	"github.com/sinkgen/sinkgen/models"
)

// Checkpoint files: tensorfile containers of kind "ckpt". Version 1 holds the meta
// below, the generator's parameters as "param/<name>" and the optimizer's state as
// "opt/<param>/<m|v|momentum>"; with a critic, also its parameters as "critic/<name>"
// and its optimizer's state as "critic-opt/<param>/<m|v|momentum>".
const (
	CheckpointKind    = "ckpt"
	CheckpointVersion = 1
	checkpointDir     = "ckpt"
)

// checkpointMeta is the JSON metadata of a checkpoint.
type checkpointMeta struct {
	Step int `json:"step"`
	// Config is the run's configuration as TOML.
	Config string      `json:"config"`
	Spec   models.Spec `json:"spec"`
	// OptSteps is the optimizer's update count (Adam's bias correction).
	OptSteps int64 `json:"opt_steps"`
	// DataState and LatentState are the random states of the data source and of the
	// latent draws after Step steps.
	DataState   []byte  `json:"data_state"`
	LatentState []byte  `json:"latent_state"`
	Elapsed     float64 `json:"elapsed_s"`
	Loss        float64 `json:"loss"`
	Threads     int     `json:"threads"`
	// Critic, CriticOptSteps and CriticState are the critic's spec, its optimizer's
	// update count and the random state of its gradient penalty (runs with a critic).
	Critic         *models.CriticSpec `json:"critic,omitempty"`
	CriticOptSteps int64              `json:"critic_opt_steps,omitempty"`
	CriticState    []byte             `json:"critic_state,omitempty"`
	// Lengths are the run's numbers of steps from a step on, when a resume changed it
	// (the learning-rate schedules continue from their rate at the change).
	Lengths   []runLength `json:"lengths,omitempty"`
	Saved     string      `json:"saved"`
	GoVersion string      `json:"go_version"`
}

// Checkpoint is a decoded checkpoint file.
type Checkpoint struct {
	Path   string
	Step   int
	Config Config
	meta   checkpointMeta
	file   *tensorfile.File
}

// Generator rebuilds the checkpoint's generator with its parameters.
func (c *Checkpoint) Generator() (*models.Generator, error) {
	return models.FromFile(c.meta.Spec, c.file, "param/")
}

// Critic rebuilds the checkpoint's critic with its parameters (an error if the run has
// none).
func (c *Checkpoint) Critic() (*models.Critic, error) {
	if c.meta.Critic == nil {
		return nil, fmt.Errorf("checkpoint %s: the run has no critic", c.Path)
	}
	return models.CriticFromFile(*c.meta.Critic, c.file, "critic/")
}

// Threads is the GOMAXPROCS the checkpoint was written with.
func (c *Checkpoint) Threads() int { return c.meta.Threads }

// ReadCheckpoint reads and validates a checkpoint file (checksum, format version,
// embedded config, tensor shapes); it fails with an error, never a panic, on a
// corrupted or foreign file.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	f, err := tensorfile.ReadFile(path, CheckpointKind, CheckpointVersion)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %w", err)
	}
	var meta checkpointMeta
	if err := json.Unmarshal(f.Meta, &meta); err != nil {
		return nil, fmt.Errorf("checkpoint %s: metadata: %w", path, err)
	}
	cfg, err := ParseConfig([]byte(meta.Config), path+" (embedded config)", nil)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if meta.Step < 0 || meta.Step > cfg.Steps {
		return nil, fmt.Errorf("checkpoint %s: step %d outside the run's 0…%d", path, meta.Step, cfg.Steps)
	}
	if err := checkLengths(meta.Lengths, meta.Step, cfg.Steps); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	// The shape of a data file's points is not in the config but in the specs.
	if cfg.Data.IsFile() {
		if cfg, err = cfg.WithDataShape(meta.Spec.OutDim, meta.Spec.Image); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", path, err)
		}
	}
	// A resumed trainer builds its networks from the config, then loads the tensors:
	// the specs must be the config's, and the tensors must be what they describe.
	if !sameJSON(meta.Spec, cfg.modelSpec()) {
		return nil, fmt.Errorf("checkpoint %s: its config and its contents disagree on the generator", path)
	}
	if cfg.adversarial() != (meta.Critic != nil) || meta.Critic != nil && !sameJSON(*meta.Critic, cfg.criticSpec()) {
		return nil, fmt.Errorf("checkpoint %s: its config and its contents disagree on the critic", path)
	}
	c := &Checkpoint{Path: path, Step: meta.Step, Config: cfg, meta: meta, file: f}
	if _, err := c.Generator(); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if meta.Critic != nil {
		if _, err := c.Critic(); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", path, err)
		}
	}
	return c, nil
}

// sameJSON reports whether a and b have the same JSON encoding (as specs are stored).
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

var checkpointRE = regexp.MustCompile(`^step-(\d{8})\.ckpt$`)

func checkpointName(step int) string { return fmt.Sprintf("step-%08d.ckpt", step) }

// listCheckpoints returns the checkpoint files of a run directory, newest first.
func listCheckpoints(runDir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(runDir, checkpointDir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	type item struct {
		step int
		path string
	}
	var items []item
	for _, e := range entries {
		if m := checkpointRE.FindStringSubmatch(e.Name()); m != nil && e.Type().IsRegular() {
			s, _ := strconv.Atoi(m[1])
			items = append(items, item{s, filepath.Join(runDir, checkpointDir, e.Name())})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return b.step - a.step })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.path
	}
	return out, nil
}

var sampleRE = regexp.MustCompile(`^(step-\d{6,}|data)\.png$`)

// removeTempFiles removes the temporary files that writes interrupted by a kill left
// in a run directory (a checkpoint's is as large as the checkpoint). Only the
// temporary files of names the run itself writes, in the directory it writes them,
// are removed: nothing else there is ours.
func removeTempFiles(runDir string) error {
	ours := map[string]func(string) bool{
		runDir:                               func(name string) bool { return slices.Contains(runFiles, name) },
		filepath.Join(runDir, checkpointDir): checkpointRE.MatchString,
		filepath.Join(runDir, "samples"):     sampleRE.MatchString,
	}
	for dir, isOurs := range ours {
		entries, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			if name, ok := atomicfile.Target(e.Name()); ok && e.Type().IsRegular() && isOurs(name) {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ErrNoCheckpoint is returned by FindCheckpoint when a run directory has none.
var ErrNoCheckpoint = errors.New("no checkpoint")

// FindCheckpoint resolves a checkpoint file, or a run directory to its newest readable
// checkpoint. Unreadable newer checkpoints are skipped; warn receives why.
func FindCheckpoint(path string, warn func(string)) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return ReadCheckpoint(path)
	}
	files, err := listCheckpoints(path)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w in %s (looked for %s/step-*.ckpt)", ErrNoCheckpoint, path, checkpointDir)
	}
	var errs []error
	for _, f := range files {
		c, err := ReadCheckpoint(f)
		if err == nil {
			return c, nil
		}
		if warn != nil {
			warn(fmt.Sprintf("skipping unreadable checkpoint: %v", err))
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("no readable checkpoint in %s: %w", path, errors.Join(errs...))
}

// saveCheckpoint writes the trainer's state after t.step steps and removes all but the
// newest Keep checkpoints.
func (t *Trainer) saveCheckpoint() (string, error) {
	if err := t.checkParams(); err != nil {
		return "", err
	}
	if t.metrics != nil { // the rows up to this step first, or a kill could lose them for good
		if err := t.metrics.sync(); err != nil {
			return "", fmt.Errorf("metrics: %w", err)
		}
	}
	cfgText, err := t.cfg.Marshal()
	if err != nil {
		return "", err
	}
	ds, err := t.data.MarshalBinary()
	if err != nil {
		return "", err
	}
	ls, err := t.latentPCG.MarshalBinary()
	if err != nil {
		return "", err
	}
	opt := t.optims[t.sched.phaseOf(t.step-1)] // the one that made the last step
	meta := checkpointMeta{
		Step: t.step, Config: string(cfgText), Spec: t.gen.Spec(), OptSteps: opt.t,
		DataState: ds, LatentState: ls, Elapsed: t.elapsed(), Loss: jsonSafe(t.lastLoss),
		Threads: runtime.GOMAXPROCS(0), Saved: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(),
	}
	if len(t.sched.lengths) > 1 {
		meta.Lengths = t.sched.lengths
	}
	tensors := append(t.gen.Tensors("param/"), opt.tensors()...)
	if a := t.adv; a != nil {
		spec := a.critic.Spec()
		meta.Critic, meta.CriticOptSteps = &spec, a.opt.t
		if meta.CriticState, err = a.pcg.MarshalBinary(); err != nil {
			return "", err
		}
		tensors = append(append(tensors, a.critic.Tensors("critic/")...), a.opt.tensors()...)
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(t.dir, checkpointDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, checkpointName(t.step))
	if err := tensorfile.WriteFile(path, &tensorfile.File{Kind: CheckpointKind, Version: CheckpointVersion, Meta: metaJSON, Tensors: tensors}); err != nil {
		return "", fmt.Errorf("writing checkpoint: %w", err)
	}
	t.lastCheckpoint = path
	files, err := listCheckpoints(t.dir)
	if err != nil {
		return path, err
	}
	for _, old := range files[min(len(files), t.cfg.Log.Keep):] {
		if err := os.Remove(old); err != nil {
			return path, err
		}
	}
	return path, nil
}

func jsonSafe(v float64) float64 {
	if v != v || v > 1e308 || v < -1e308 {
		return 0
	}
	return v
}

// checkLengths validates a checkpoint's record of run lengths (none: the run's length
// never changed): from step 0, changes at increasing steps up to the checkpoint's
// step, each to a length beyond it, the last the config's.
func checkLengths(lengths []runLength, step, steps int) error {
	for i, l := range lengths {
		if (i == 0 && l.From != 0) || (i > 0 && l.From <= lengths[i-1].From) || l.From > step || l.Steps <= l.From ||
			(i == len(lengths)-1 && l.Steps != steps) {
			return fmt.Errorf("run lengths %v do not fit step %d of %d", lengths, step, steps)
		}
	}
	return nil
}

// restore loads a checkpoint's state into the trainer.
func (t *Trainer) restore(c *Checkpoint) error {
	if err := t.gen.SetTensors(c.file, "param/"); err != nil {
		return fmt.Errorf("checkpoint %s: %w", c.Path, err)
	}
	if err := t.optims[t.sched.phaseOf(c.Step-1)].restore(c.file, c.meta.OptSteps); err != nil {
		return fmt.Errorf("checkpoint %s: %w", c.Path, err)
	}
	if err := t.data.UnmarshalBinary(c.meta.DataState); err != nil {
		return fmt.Errorf("checkpoint %s: %w", c.Path, err)
	}
	if err := t.latentPCG.UnmarshalBinary(c.meta.LatentState); err != nil {
		return fmt.Errorf("checkpoint %s: latent generator state: %w", c.Path, err)
	}
	if a := t.adv; a != nil {
		if err := a.critic.SetTensors(c.file, "critic/"); err != nil {
			return fmt.Errorf("checkpoint %s: %w", c.Path, err)
		}
		if err := a.opt.restore(c.file, c.meta.CriticOptSteps); err != nil {
			return fmt.Errorf("checkpoint %s: critic %w", c.Path, err)
		}
		if err := a.pcg.UnmarshalBinary(c.meta.CriticState); err != nil {
			return fmt.Errorf("checkpoint %s: critic random state: %w", c.Path, err)
		}
	}
	t.step, t.elapsedBefore, t.lastLoss, t.lastCheckpoint = c.Step, c.meta.Elapsed, c.meta.Loss, c.Path
	t.sched.resumed(c.Step, c.meta.Lengths, c.Config.Steps)
	return nil
}
