package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/progress"
	"github.com/sinkgen/sinkgen/losses"
	"github.com/sinkgen/sinkgen/models"
)

// Options are the per-invocation settings of a run (the Config is the run itself).
type Options struct {
	// Dir is the run directory ("": checkpoints/<name>).
	Dir string
	// Resume continues a run: "latest" from the newest readable checkpoint in Dir, or
	// the checkpoint file it names. "" starts a new run.
	Resume string
	// Force starts a new run in a Dir that already holds one, deleting its checkpoints,
	// samples, logs and metrics.
	Force bool
	// Progress receives the progress report (package progress: a bar on a terminal,
	// plain lines on a file or pipe). nil: none, and no log lines on Stdout either.
	// With Config.Log.Progress false the lines of train.log go to Stdout instead.
	Progress io.Writer
	// Stdout receives the start and end summaries and warnings (nil: discarded).
	Stdout io.Writer
	// Source replaces the configured data (benchmarks, tests); its Dim must match.
	Source data.Source
	// NoFiles writes nothing at all: no run directory, logs, samples or checkpoints
	// (benchmarks).
	NoFiles bool
}

// ErrInterrupted is wrapped by Run's error when its context is cancelled (SIGINT,
// SIGTERM): a checkpoint of the last completed step has been saved.
var ErrInterrupted = errors.New("interrupted")

// NonFiniteError reports a NaN or infinite loss, gradient or parameter. The step's
// update is not applied and no checkpoint is written: the last good checkpoint stays.
type NonFiniteError struct {
	Step           int    // the step that failed (1-based)
	What           string // "loss", "gradient of <param>" or "parameter <param>"
	Detail         string
	LastCheckpoint string // "" if none was written
}

func (e *NonFiniteError) Error() string {
	msg := fmt.Sprintf("step %d: the %s is not finite (%s); stopped", e.Step, e.What, e.Detail)
	if e.LastCheckpoint != "" {
		return msg + "; the last good checkpoint is " + e.LastCheckpoint
	}
	return msg + "; no checkpoint had been written yet"
}

// Trainer trains a generator by one configuration. Build it with New; Run trains to
// the configured number of steps.
type Trainer struct {
	cfg  Config
	opts Options
	dir  string

	data      data.Source
	dataMean  []float32
	latentPCG *rand.PCG
	latentRNG *rand.Rand
	gen       *models.Generator

	// the training graphs by phase (data batch x, latent batch z → generator → loss
	// → gradients; nil: the run has no such phase) and the generator's optimizers
	graphs [2]*lossGraph
	optims [2]*optimizer
	sched  schedule   // what applies at each step: phase, learning rates, ε, critic updates
	params []float32  // the generator's parameter values, in place (models.Generator.Values)
	grads  []float32  // their gradients, filled by each step
	adv    *adversary // the critic of a learned cost (nil: fixed cost)

	// sampling from a fixed latent batch
	sampler   *models.Sampler
	sampleZ   []float32
	reference []float32 // a data batch drawn at the start, for 2-D scatter plots

	step           int
	lastLoss       float64
	lastCheckpoint string
	start          time.Time
	elapsedBefore  float64
	metrics        *metricsLog
	logFile        *os.File
	bar            *progress.Bar
	unlock         func() // releases the run directory's lock (nil: not held)
}

// New builds the data source, generator, graph, loss and optimizer of cfg, and the run
// directory (or restores a checkpoint when opts.Resume is set). The process-wide
// settings are the caller's: commands call process.Setup(cfg.Threads) first.
func New(cfg Config, opts Options) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Trainer{cfg: cfg, opts: opts, dir: opts.Dir, lastLoss: math.NaN(), sched: newSchedule(cfg)}
	if t.dir == "" {
		t.dir = filepath.Join("checkpoints", cfg.Name)
	}
	if opts.Stdout == nil {
		t.opts.Stdout = io.Discard
	}
	if err := t.buildData(); err != nil {
		return nil, err
	}
	debug.FreeOSMemory() // the MNIST reader's decompression buffers: ~100 MB of garbage
	if err := t.buildModel(); err != nil {
		return nil, err
	}
	if cfg.adversarial() {
		if err := t.buildAdversary(); err != nil {
			return nil, err
		}
	}
	if err := t.buildGraph(); err != nil {
		return nil, err
	}
	if opts.Resume != "" {
		if opts.NoFiles {
			return nil, errors.New("train: Resume needs files")
		}
		if err := t.resume(); err != nil {
			t.Close()
			return nil, err
		}
	}
	if !opts.NoFiles {
		if err := t.lockRunDir(); err != nil {
			t.Close()
			return nil, err
		}
		if err := t.openRunDir(); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// buildData creates the data source and draws the reference batch. A data file's
// shape becomes the config's (WithDataShape).
func (t *Trainer) buildData() error {
	c := t.cfg
	if t.opts.Source != nil {
		t.data = t.opts.Source
	} else {
		start := time.Now()
		d, err := OpenData(c, t.opts.Progress)
		if err != nil {
			return err
		}
		if ds := d.Dataset(); ds != nil {
			fmt.Fprintf(t.opts.Stdout, "data: %s; loaded in %.1f s\n", ds.Describe(), time.Since(start).Seconds())
		}
		t.cfg = d.Config()
		c = t.cfg
		if t.data, err = d.Source(c.Seed, c.Data.Shuffle); err != nil {
			return err
		}
		t.dataMean = d.Means()
		ref, err := d.Source(c.Seed^0x5eed, true)
		if err != nil {
			return err
		}
		t.drawReference(ref)
	}
	if dim, _ := c.outShape(); t.data.Dim() != dim {
		return fmt.Errorf("train: the data source gives %d-dimensional points, the config's data %d", t.data.Dim(), dim)
	}
	return nil
}

// drawReference draws a reference batch (the grey points of the 2-D scatter plots,
// samples/data.png for images) from ref, a source seeded apart from the training one,
// so that the training batches are the same whatever is drawn here.
func (t *Trainer) drawReference(ref data.Source) {
	c := t.cfg
	dim, img := c.outShape()
	count := 1024
	if img[0] > 0 {
		count = c.Log.Samples
	}
	t.reference = make([]float32, count*dim)
	ref.Next(t.reference)
	if t.dataMean == nil {
		t.dataMean = columnMeans(t.reference, dim)
	}
}

func columnMeans(rows []float32, dim int) []float32 {
	sum := make([]float64, dim)
	n := len(rows) / dim
	for i := 0; i < n; i++ {
		for j, v := range rows[i*dim : (i+1)*dim] {
			sum[j] += float64(v)
		}
	}
	out := make([]float32, dim)
	for j := range out {
		out[j] = float32(sum[j] / float64(max(n, 1)))
	}
	return out
}

// buildModel creates the generator and the latent generators.
func (t *Trainer) buildModel() error {
	c := t.cfg
	gen, err := models.New(c.modelSpec(), c.Seed)
	if err != nil {
		return err
	}
	if c.Model.OutputBias == "data_mean" && t.dataMean != nil {
		target := t.dataMean
		if c.Model.Kind == "conv" { // one bias per channel: its mean intensity
			_, img := c.outShape()
			plane := len(target) / img[0]
			means := make([]float32, img[0])
			for ch := range means {
				var s float64
				for _, v := range target[ch*plane : (ch+1)*plane] {
					s += float64(v)
				}
				means[ch] = float32(s / float64(plane))
			}
			target = means
		}
		if err := gen.SetOutputBias(target); err != nil {
			return err
		}
	}
	t.gen = gen
	t.latentPCG = rand.NewPCG(c.Seed, 0x6c6174656e74) // "latent"
	t.latentRNG = rand.New(t.latentPCG)
	t.sampleZ = make([]float32, c.Log.Samples*c.Model.LatentDim)
	models.Latent(rand.New(rand.NewPCG(c.Seed, 0x73616d706c65)), t.sampleZ) // "sample": fixed for the run
	if t.sampler, err = gen.NewSampler(c.Log.Samples); err != nil {
		return err
	}
	return nil
}

// lossGraph is a training graph and its machine: data x (n×d) and latent z (m×k)
// inputs, generator, loss, and the gradients of the loss with respect to the
// generator's parameters (whose values all graphs share).
type lossGraph struct {
	machine
	xBatch []float32
	zBatch []float32
	loss   *losses.Loss
}

// buildGraph builds the training graph (the loss on the critic's features with a
// critic), the pre-training graph (the loss on the points) when there is one, and the
// generator's optimizers.
func (t *Trainer) buildGraph() error {
	var err error
	if t.graphs[mainPhase], err = t.buildLossGraph(t.cfg.Loss, t.adv != nil); err != nil {
		return err
	}
	phases := []phase{mainPhase}
	if t.sched.pretrains() {
		if t.graphs[pretrainPhase], err = t.buildLossGraph(t.cfg.pretrainLoss(), false); err != nil {
			return err
		}
		phases = append(phases, pretrainPhase)
	}
	names, sizes := paramNames(t.gen.Params())
	t.params = t.gen.Values()
	t.grads = make([]float32, len(t.params))
	for _, p := range phases { // fresh state each: fine-tuning starts anew
		t.optims[p] = newOptimizer(t.sched.optimizer(p), "opt/", names, sizes)
	}
	return nil
}

// buildLossGraph builds a training graph with loss lc between the critic's features
// of the points (onFeatures) or between the points themselves.
func (t *Trainer) buildLossGraph(lc LossConfig, onFeatures bool) (*lossGraph, error) {
	c := t.cfg
	n, m, k := c.BatchSize, c.genBatch(), c.Model.LatentDim
	dim, _ := c.outShape()
	lcfg, _, err := lc.Losses("loss.")
	if err != nil {
		return nil, err
	}
	lg := &lossGraph{}
	g := G.NewGraph()
	var x, z *G.Node
	x, lg.xBatch = newMatrixInput(g, "x", n, dim)
	z, lg.zBatch = newMatrixInput(g, "z", m, k)
	y, params, err := t.gen.Build(g, z)
	if err != nil {
		return nil, err
	}
	lx, ly := x, y // the loss compares the points, or their critic features
	if onFeatures {
		nodes := t.adv.critic.Nodes(g)
		if lx, err = t.adv.critic.Apply(nodes, x); err != nil {
			return nil, err
		}
		if ly, err = t.adv.critic.Apply(nodes, y); err != nil {
			return nil, err
		}
	}
	if lg.loss, err = losses.New(lx, ly, lcfg); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	grads, err := G.Grad(lg.loss.Node(), params...)
	if err != nil {
		return nil, fmt.Errorf("train: differentiating the loss: %w", err)
	}
	// Compile only what the loss and the parameters' gradients need: the loss Op also
	// offers a gradient with respect to the data (and the critic's parameters), which
	// nothing here uses.
	sub := g.ExactSubgraphRoots(append(G.Nodes{lg.loss.Node()}, grads...)...)
	lg.vm = G.NewTapeMachine(sub)
	lg.grads = grads
	return lg, nil
}

// Run trains from the current step to cfg.Steps. It returns an error wrapping
// ErrInterrupted if ctx is cancelled (after saving a checkpoint), a *NonFiniteError if
// the loss or a gradient stops being finite (the last good checkpoint is kept).
func (t *Trainer) Run(ctx context.Context) error {
	defer t.Close()
	t.begin()
	for t.step < t.cfg.Steps {
		if ctx.Err() != nil {
			return t.interrupted()
		}
		st, err := t.Step() // data batch, latent batch, generator, loss, backward, update
		if err != nil {
			return t.failed(err)
		}
		if err := t.record(st); err != nil { // metrics, progress bar, train.log
			return t.failed(err)
		}
		if due(t.step, t.cfg.Log.SampleEvery) && t.step < t.cfg.Steps {
			t.saveSamples()
		}
		if due(t.step, t.cfg.Log.CheckpointEvery) && t.step < t.cfg.Steps && !t.opts.NoFiles {
			if _, err := t.saveCheckpoint(); err != nil {
				return t.failed(err)
			}
		}
	}
	if err := t.finish(); err != nil {
		return t.failed(err)
	}
	return nil
}

func due(step, every int) bool { return every > 0 && step%every == 0 }

// Step runs one training step and returns its statistics.
func (t *Trainer) Step() (StepStats, error) {
	began := time.Now()
	plan := t.sched.at(t.step)
	st := StepStats{Step: t.step + 1, LR: plan.lr}
	if t.adv != nil { // critic updates: the critic maximizes the loss on its features
		cs, err := t.trainCritic(plan)
		st.CriticSteps, st.CriticLoss, st.Penalty, st.Autoencoder, st.CriticGradNorm = cs.steps, cs.loss, cs.penalty, cs.ae, cs.norm
		if err != nil {
			return st, err
		}
	}
	g := t.graphs[plan.phase]
	if t.sched.hasEps[plan.phase] { // ε schedule
		if err := g.loss.SetEps(plan.eps); err != nil {
			return st, err
		}
	}
	t.data.Next(g.xBatch)                // data batch
	models.Latent(t.latentRNG, g.zBatch) // latent batch
	// generator, loss, backward, optimizer update in place
	var err error
	st.GradNorm, err = t.update(g.machine, t.optims[plan.phase], t.params, t.grads, st.LR, t.sched.optimizer(plan.phase).ClipNorm, "",
		func(i int) string { return t.gen.Params()[i].Name },
		func() error {
			ls := g.loss.Stats()
			st.Loss, st.Eps, st.MarginalError, st.Iterations = ls.Value, ls.Eps, ls.MarginalError, ls.Iterations
			if !finite(ls.Value) {
				return t.nonFinite("loss", fmt.Sprintf("loss %v at ε = %g after %d Sinkhorn iterations, marginal error %g", ls.Value, ls.Eps, ls.Iterations, ls.MarginalError), g.loss.Err())
			}
			return nil
		})
	if err != nil {
		return st, err
	}
	t.step++
	t.lastLoss = st.Loss
	st.StepMs = float64(time.Since(began).Microseconds()) / 1000
	st.Elapsed = t.elapsed()
	return st, nil
}

// machine is a compiled graph and its nodes of the parameters' gradients, in the
// order of the parameters. They are roots of the graph: no op overwrites their values
// before the run ends.
type machine struct {
	vm    G.VM
	grads G.Nodes
}

// paramNames returns the names and sizes of params.
func paramNames(params []*models.Param) ([]string, []int) {
	var names []string
	var sizes []int
	for _, p := range params {
		names, sizes = append(names, p.Name), append(sizes, len(p.Data()))
	}
	return names, sizes
}

// update is the gradient step of the generator and of the critic: the forward and
// backward passes of m; check, which reads the pass's results and returns a
// non-finite loss as its error; the gradients, copied into grads, which must be finite
// (name(i) names parameter i); clipping to global norm clip (0: none); opt's step on
// params at lr. params and grads are flat, in the order of m.grads.
// It returns the gradients' global norm. where says which update of the step it is
// ("": the generator's).
func (t *Trainer) update(m machine, opt *optimizer, params, grads []float32, lr, clip float64,
	where string, name func(int) string, check func() error) (float64, error) {
	if err := m.vm.RunAll(); err != nil {
		m.vm.Reset()
		// Parameters the last update made infinite are what a later pass fails on.
		if nf := t.checkParams(); nf != nil {
			return 0, nf
		}
		if where != "" {
			return 0, fmt.Errorf("step %d, %s: %w", t.step+1, where, vmCause(err))
		}
		return 0, fmt.Errorf("step %d: %w", t.step+1, vmCause(err))
	}
	defer m.vm.Reset()
	if err := check(); err != nil {
		return 0, err
	}
	norm, bad := readGradients(m.grads, grads)
	if bad >= 0 {
		detail := fmt.Sprintf("squared norm %v", norm*norm)
		if where != "" {
			detail = where + ", " + detail
		}
		return norm, t.nonFinite("gradient of "+name(bad), detail, nil)
	}
	clipGradients(grads, norm, clip)
	opt.step(params, grads, lr)
	return norm, nil
}

// vmCause is the error an op returned inside gorgonia's machine, without the
// machine's wrapping ("PC 49. Failed to execute instruction …: Failed to carry
// op.Do(): …"), which says nothing to a user: the op's own error says why.
func vmCause(err error) error {
	if e, ok := err.(interface{ Err() error }); ok { // the machine's contextual error
		err = e.Err()
	}
	for { // gorgonia's wrappings (github.com/pkg/errors); an op's own chain stays
		c, ok := err.(interface{ Cause() error })
		if !ok || c.Cause() == nil {
			return err
		}
		err = c.Cause()
	}
}

// nonFinite is the error of a non-finite value in the current step: why, when known,
// is what package ot could not represent.
func (t *Trainer) nonFinite(what, detail string, why error) error {
	if why != nil {
		detail += ": " + why.Error()
	}
	return &NonFiniteError{Step: t.step + 1, What: what, Detail: detail, LastCheckpoint: t.lastCheckpoint}
}

// readGradients copies the gradients of the last forward-backward pass, the values of
// nodes, one after another into dst and returns their global ℓ2 norm and the index of
// the first non-finite one (−1: all finite).
func readGradients(nodes G.Nodes, dst []float32) (float64, int) {
	var sq float64
	off := 0
	for i, n := range nodes {
		v, ok := n.Value().(*tensor.Dense)
		if !ok {
			return math.NaN(), i
		}
		if v.RequiresIterator() { // a strided view: its values in logical order
			v = v.Materialize().(*tensor.Dense)
		}
		if v.Dtype() != tensor.Float32 {
			return math.NaN(), i
		}
		g := v.Float32s() // Data() would allocate an interface
		if off+len(g) > len(dst) || i == len(nodes)-1 && off+len(g) != len(dst) {
			return math.NaN(), i
		}
		var s float64
		for j, x := range g {
			dst[off+j] = x
			s += float64(x) * float64(x)
		}
		if !finite(s) {
			return math.Sqrt(s), i
		}
		sq += s
		off += len(g)
	}
	return math.Sqrt(sq), -1
}

// clipGradients rescales grads (of global norm norm) to norm limit when larger
// (limit 0: no clipping).
func clipGradients(grads []float32, norm, limit float64) {
	if limit <= 0 || norm <= limit {
		return
	}
	scale := float32(limit / norm)
	for i := range grads {
		grads[i] *= scale
	}
}

// checkParams reports a non-finite parameter (before it is checkpointed).
func (t *Trainer) checkParams() error {
	check := func(owner string, params []*models.Param) error {
		for _, p := range params {
			for j, v := range p.Data() {
				if !finite(float64(v)) {
					return &NonFiniteError{Step: t.step, What: "parameter " + owner + p.Name,
						Detail: fmt.Sprintf("entry %d is %v after the update", j, v), LastCheckpoint: t.lastCheckpoint}
				}
			}
		}
		return nil
	}
	if t.adv != nil {
		if err := check("critic ", t.adv.critic.Params()); err != nil {
			return err
		}
	}
	return check("", t.gen.Params())
}

func (t *Trainer) elapsed() float64 {
	if t.start.IsZero() {
		return t.elapsedBefore
	}
	return t.elapsedBefore + time.Since(t.start).Seconds()
}

// StepCount returns the number of steps done.
func (t *Trainer) StepCount() int { return t.step }

// Generator returns the generator being trained (its parameters change in place).
func (t *Trainer) Generator() *models.Generator { return t.gen }

// Dir returns the run directory.
func (t *Trainer) Dir() string { return t.dir }

// Config returns the run's configuration.
func (t *Trainer) Config() Config { return t.cfg }

// LastCheckpoint returns the path of the newest checkpoint written or resumed from.
func (t *Trainer) LastCheckpoint() string { return t.lastCheckpoint }

// Close flushes and closes the logs and releases the graph machines. Run calls it.
func (t *Trainer) Close() error {
	var err error
	if t.metrics != nil {
		err = t.metrics.close()
		t.metrics = nil
	}
	if t.logFile != nil {
		t.logFile.Close()
		t.logFile = nil
	}
	for _, g := range t.graphs {
		if g != nil && g.vm != nil {
			g.vm.Close()
			g.vm = nil
		}
	}
	if t.sampler != nil {
		t.sampler.Close()
		t.sampler = nil
	}
	if t.adv != nil && t.adv.vm != nil {
		t.adv.vm.Close()
		t.adv.sampler.Close()
		t.adv.vm = nil
	}
	if t.unlock != nil { // last: the run's files are complete
		t.unlock()
		t.unlock = nil
	}
	return err
}
