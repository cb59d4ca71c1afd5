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
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	G "gorgonia.org/gorgonia"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/fastblas"
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

	// the training graph: data batch x, latent batch z → generator → loss → gradients
	*lossGraph
	pretrain    *lossGraph  // the fixed cost's graph of the pre-training steps (nil: none)
	params      [][]float32 // parameter values, in place
	grads       [][]float32 // filled by each step
	opt         *optimizer
	optPretrain bool       // opt is the pre-training optimizer, to be replaced after it
	adv         *adversary // the critic of a learned cost (nil: fixed cost)

	// sampling from a fixed latent batch
	sampler   *models.Sampler
	sampleZ   []float32
	reference []float32 // a data batch drawn at the start, for 2-D scatter plots

	step           int
	lengths        []runLength // the run's steps, and their changes by resumes
	lastLoss       float64
	lastCheckpoint string
	start          time.Time
	elapsedBefore  float64
	metrics        *metricsLog
	logFile        *os.File
	bar            *progress.Bar
}

var useFastBLAS sync.Once

// New builds the data source, generator, graph, loss and optimizer of cfg, and the run
// directory (or restores a checkpoint when opts.Resume is set).
func New(cfg Config, opts Options) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	useFastBLAS.Do(func() { G.Use(fastblas.Implementation{}) }) // gorgonia's BLAS is process-wide
	if cfg.Threads > 0 {
		runtime.GOMAXPROCS(cfg.Threads)
	}
	t := &Trainer{cfg: cfg, opts: opts, dir: opts.Dir, lastLoss: math.NaN(), lengths: []runLength{{0, cfg.Steps}}}
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
			return nil, err
		}
	}
	if !opts.NoFiles {
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
	switch {
	case t.opts.Source != nil:
		t.data = t.opts.Source
	case c.Data.Kind == "mnist":
		dim, _ := c.outShape()
		m, err := data.LoadMNIST(c.Data.Path)
		if err != nil {
			return err
		}
		rows, err := data.SelectMNIST(m, c.Data.Split, c.Data.Digits, c.Data.Limit)
		if err != nil {
			return err
		}
		b, err := data.NewBatcher(rows, dim, c.Seed, c.Data.Shuffle)
		if err != nil {
			return err
		}
		t.data, t.dataMean = b, columnMeans(rows, dim)
		ref, err := data.NewBatcher(rows, dim, c.Seed^0x5eed, true)
		if err != nil {
			return err
		}
		t.drawReference(ref)
	case c.Data.IsFile():
		start := time.Now()
		ds, err := c.Data.LoadData(t.opts.Progress)
		if err != nil {
			return err
		}
		if t.cfg, err = c.WithDataShape(ds.Dim, ds.Shape); err != nil {
			return err
		}
		c = t.cfg
		fmt.Fprintf(t.opts.Stdout, "data: %s; loaded in %.1f s\n", ds.Describe(), time.Since(start).Seconds())
		b, err := ds.NewBatcher(c.Seed, c.Data.Shuffle)
		if err != nil {
			return err
		}
		t.data, t.dataMean = b, ds.Means()
		ref, err := ds.NewBatcher(c.Seed^0x5eed, true)
		if err != nil {
			return err
		}
		t.drawReference(ref)
	default:
		s, err := data.NewToy(data.Toy(c.Data.Kind), c.Data.Noise, c.Seed)
		if err != nil {
			return err
		}
		t.data = s
		ref, err := data.NewToy(data.Toy(c.Data.Kind), c.Data.Noise, c.Seed^0x5eed)
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
	vm         G.VM
	xBatch     []float32
	zBatch     []float32
	loss       *losses.Loss
	paramNodes G.Nodes
	hasEps     bool
	sched      losses.Schedule // of ε, by step
}

// buildGraph builds the training graph (the loss on the critic's features with a
// critic), the pre-training graph (the loss on the points) when there is one, and the
// generator's optimizer.
func (t *Trainer) buildGraph() error {
	var err error
	if t.lossGraph, err = t.buildLossGraph(t.cfg.Loss, t.adv != nil); err != nil {
		return err
	}
	if t.cfg.pretraining(0) {
		if t.pretrain, err = t.buildLossGraph(t.cfg.pretrainLoss(), false); err != nil {
			return err
		}
	}
	for _, p := range t.gen.Params() {
		t.params = append(t.params, p.Data())
	}
	t.setOptimizer(t.pretrain != nil)
	return nil
}

// buildLossGraph builds a training graph with loss lc between the critic's features
// of the points (onFeatures) or between the points themselves.
func (t *Trainer) buildLossGraph(lc LossConfig, onFeatures bool) (*lossGraph, error) {
	c := t.cfg
	n, m, k := c.BatchSize, c.genBatch(), c.Model.LatentDim
	dim, _ := c.outShape()
	lcfg, err := lc.losses()
	if err != nil {
		return nil, err
	}
	lg := &lossGraph{hasEps: lc.hasEps()}
	if lg.sched, err = lc.schedule(); err != nil {
		return nil, err
	}
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
	lg.vm = G.NewTapeMachine(sub, G.BindDualValues(params...))
	lg.paramNodes = params
	return lg, nil
}

// setOptimizer gives the generator a fresh optimizer: [optimizer], or after
// pre-training the fine-tuning one.
func (t *Trainer) setOptimizer(pretrain bool) {
	var names []string
	var sizes []int
	for _, p := range t.gen.Params() {
		names, sizes = append(names, p.Name), append(sizes, len(p.Data()))
	}
	cfg := t.cfg.Optimizer
	if !pretrain && t.cfg.Adversarial.PretrainSteps > 0 {
		cfg = t.cfg.Adversarial.FinetuneOptimizer
	}
	t.opt, t.optPretrain = newOptimizer(cfg, "opt/", names, sizes), pretrain
}

// phase returns the graph of the next step, switching the generator to a fresh
// fine-tuning optimizer when the adversarial phase begins.
func (t *Trainer) phase() *lossGraph {
	if t.cfg.pretraining(t.step) {
		return t.pretrain
	}
	if t.optPretrain {
		t.setOptimizer(false)
	}
	return t.lossGraph
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
	st := StepStats{Step: t.step + 1, LR: t.cfg.generatorLR(t.step, t.lengths)}
	if t.adv != nil { // critic updates: the critic maximizes the loss on its features
		cs, err := t.trainCritic()
		st.CriticSteps, st.CriticLoss, st.Penalty, st.Autoencoder, st.CriticGradNorm = cs.steps, cs.loss, cs.penalty, cs.ae, cs.norm
		if err != nil {
			return st, err
		}
	}
	g := t.phase()
	if g.hasEps { // ε schedule
		if err := g.loss.SetEps(g.sched.At(t.step)); err != nil {
			return st, err
		}
	}
	t.data.Next(g.xBatch)                 // data batch
	models.Latent(t.latentRNG, g.zBatch)  // latent batch
	if err := g.vm.RunAll(); err != nil { // generator, loss, backward
		g.vm.Reset()
		return st, fmt.Errorf("step %d: %w", st.Step, err)
	}
	defer g.vm.Reset()
	// gorgonia adds each pass's gradient into the parameters' dual values: clear
	// them once read, as its own solvers do.
	defer zeroGradients(g.paramNodes)
	ls := g.loss.Stats()
	st.Loss, st.Eps, st.MarginalError, st.Iterations = ls.Value, ls.Eps, ls.MarginalError, ls.Iterations
	if math.IsNaN(ls.Value) || math.IsInf(ls.Value, 0) {
		return st, &NonFiniteError{Step: st.Step, What: "loss", LastCheckpoint: t.lastCheckpoint,
			Detail: fmt.Sprintf("loss %v at ε = %g after %d Sinkhorn iterations, marginal error %g", ls.Value, ls.Eps, ls.Iterations, ls.MarginalError)}
	}
	grads, norm, bad := readGradients(g.paramNodes, t.grads[:0])
	st.GradNorm = norm
	if bad >= 0 {
		return st, &NonFiniteError{Step: st.Step, What: "gradient of " + t.gen.Params()[bad].Name,
			Detail: fmt.Sprintf("squared norm %v", norm*norm), LastCheckpoint: t.lastCheckpoint}
	}
	t.grads = grads
	clipGradients(t.grads, norm, t.cfg.Optimizer.ClipNorm)
	t.opt.step(t.params, t.grads, st.LR) // optimizer update, in place
	t.step++
	t.lastLoss = ls.Value
	st.StepMs = float64(time.Since(began).Microseconds()) / 1000
	st.Elapsed = t.elapsed()
	return st, nil
}

// readGradients appends the gradients of the last forward-backward pass of nodes to
// dst and returns them with their global ℓ2 norm, and the index of the first
// non-finite one (−1: all finite).
func readGradients(nodes G.Nodes, dst [][]float32) ([][]float32, float64, int) {
	var sq float64
	for i, p := range nodes {
		gv, err := p.Grad()
		if err != nil {
			return dst, math.NaN(), i
		}
		g := gv.Data().([]float32)
		var s float64
		for _, v := range g {
			s += float64(v) * float64(v)
		}
		if !finite(s) {
			return dst, math.Sqrt(s), i
		}
		sq += s
		dst = append(dst, g)
	}
	return dst, math.Sqrt(sq), -1
}

// clipGradients rescales grads (of global norm norm) to norm limit when larger
// (limit 0: no clipping).
func clipGradients(grads [][]float32, norm, limit float64) {
	if limit <= 0 || norm <= limit {
		return
	}
	scale := float32(limit / norm)
	for _, g := range grads {
		for i := range g {
			g[i] *= scale
		}
	}
}

// zeroGradients clears the dual values of nodes: gorgonia adds each pass's gradient
// into them.
func zeroGradients(nodes G.Nodes) {
	for _, p := range nodes {
		if gv, err := p.Grad(); err == nil {
			clear(gv.Data().([]float32))
		}
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
	for _, g := range []*lossGraph{t.lossGraph, t.pretrain} {
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
	return err
}

// The remaining methods are the run's bookkeeping: run directory, resumption, logs,
// samples, the end of a run.

var runFiles = []string{"config.toml", "train.log", "metrics.csv", "metrics.jsonl", "loss.png", "eps.png", "generator.params"}

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
	if err := writeFileAtomic(filepath.Join(t.dir, "config.toml"), func(f *os.File) error {
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
	t.note("%s; %d threads; BLAS: %s", what, runtime.GOMAXPROCS(0), map[bool]string{true: "AVX2 Sgemm", false: "gonum"}[fastblas.Accelerated()])
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
	if t.cfg.pretraining(t.step) {
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
		if st.Step == t.cfg.Adversarial.PretrainSteps && t.cfg.pretraining(st.Step-1) {
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
