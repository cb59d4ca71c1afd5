package train

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/strict"
	"github.com/sinkgen/sinkgen/losses"
	"github.com/sinkgen/sinkgen/models"
	"github.com/sinkgen/sinkgen/ot"
)

// Config is a training run, decoded strictly from TOML. configs/README.md documents
// every key and its default (DefaultConfig).
type Config struct {
	// Name names the run: its outputs go to checkpoints/<name>/ unless -out says otherwise.
	Name string `toml:"name"`
	// Seed seeds everything random: initialization, data order, latent draws.
	Seed uint64 `toml:"seed"`
	// Steps is the number of optimizer steps.
	Steps int `toml:"steps"`
	// BatchSize is the number of data points per step.
	BatchSize int `toml:"batch_size"`
	// GenBatchSize is the number of generated points per step (0: BatchSize).
	GenBatchSize int `toml:"gen_batch_size"`
	// Threads is GOMAXPROCS for the run (0: all CPUs). Results are reproducible bit for
	// bit only at the same thread count.
	Threads int `toml:"threads"`

	Data      DataConfig      `toml:"data"`
	Model     models.Spec     `toml:"model"`
	Loss      LossConfig      `toml:"loss"`
	Optimizer OptimizerConfig `toml:"optimizer"`
	Log       LogConfig       `toml:"log"`

	// Critic is the feature map h_φ of a learned cost (kind "none": the loss compares
	// the points themselves). With a critic, Adversarial says how it is trained.
	Critic      models.CriticSpec `toml:"critic"`
	Adversarial AdversarialConfig `toml:"adversarial"`

	// dataShape is the shape of the points of a data file once loaded (Trainer sets
	// it): the dimension and (C, H, W). Zero: not known yet.
	dataDim   int
	dataShape [3]int
}

// AdversarialConfig trains the critic: it maximizes the loss between the features of
// data and generated batches, the generator minimizes it (Genevay, Peyré, Cuturi 2018;
// Li et al. 2017 for MMD-GAN).
type AdversarialConfig struct {
	// CriticSteps is the number of critic updates before each generator update.
	CriticSteps int `toml:"critic_steps"`
	// Schedule is "constant" (CriticSteps every time) or "mmdgan" (100 critic updates
	// for the first 25 generator steps and every 500th, CriticSteps otherwise: the
	// schedule of WGAN and MMD-GAN).
	Schedule string `toml:"schedule"`
	// Lipschitz keeps the critic from blowing the loss up: "clip" (clamp every critic
	// parameter into ±Clip after each update), "penalty" (add Penalty·E(‖∇ₓ uᵀh(x̂)‖ −
	// 1)² at points x̂ between data and generated points, u a random unit feature
	// direction) or "none".
	Lipschitz string  `toml:"lipschitz"`
	Clip      float64 `toml:"clip"`
	Penalty   float64 `toml:"penalty"`
	// Autoencoder weighs MMD-GAN's autoencoder term: the critic also minimizes
	// Autoencoder·E‖x − dec(h_φ(x))‖² over data and generated points, dec the decoder of
	// critic.decoder (0: off).
	Autoencoder float64 `toml:"autoencoder"`
	// Optimizer is the critic's optimizer and learning-rate schedule.
	Optimizer OptimizerConfig `toml:"optimizer"`
	// PretrainSteps is the number of first generator steps on the fixed cost (the
	// loss between the points themselves), without the critic, with [optimizer] and
	// its schedule spanning them: the fixed-cost run. They count in Steps. The
	// adversarial phase then fine-tunes that generator.
	PretrainSteps int `toml:"pretrain_steps"`
	// PretrainLoss is the loss of the pre-training steps; kind "" (the default): [loss].
	PretrainLoss LossConfig `toml:"pretrain_loss"`
	// FinetuneOptimizer is the generator's optimizer after pre-training: fresh
	// state, its schedule spanning the remaining steps (unused without pre-training).
	FinetuneOptimizer OptimizerConfig `toml:"finetune_optimizer"`
}

// DataConfig chooses the data.
type DataConfig struct {
	// Kind is "mnist", the user's data ("images", "npy", "npz", "idx", "csv", package
	// data's loaders) or a toy distribution: "ring", "grid", "moons", "swissroll".
	Kind string `toml:"kind"`
	// Path is the directory of the MNIST idx files ("": the GoMNIST module's copy in
	// the Go module cache), the folder of images, or the data file (for "idx" the
	// image file).
	Path string `toml:"path"`
	// Split is the MNIST split: "train", "test" or "all"; of a data file, the part
	// of its points (LoadSplits): "train" (all but the held-out points), "test" (the
	// held-out points) or "all".
	Split string `toml:"split"`
	// Holdout is the fraction of a data file's points held out (0:
	// data.DefaultHoldout), drawn at random with a fixed seed.
	Holdout float64 `toml:"holdout"`
	// Digits keeps only these MNIST labels (empty: all).
	Digits []int `toml:"digits"`
	// Limit keeps the first Limit selected images (0: all).
	Limit int `toml:"limit"`
	// Shuffle draws MNIST batches in a new seeded order every epoch (else in file order).
	Shuffle bool `toml:"shuffle"`
	// Noise is the standard deviation of the toy distributions' Gaussian noise.
	Noise float64 `toml:"noise"`

	// Size is the [height, width] images are brought to ("images": resized and
	// centre-cropped; [0, 0]: their own, the same for all) or that the rows of a 2-D
	// array or CSV file are read as.
	Size [2]int `toml:"size"`
	// Channels is 1 (grey) or 3 (RGB) for "images" (0: 3), and of the rows of a 2-D
	// array or CSV file read as images (0: 1).
	Channels int `toml:"channels"`
	// Labels says where class labels come from ("": none): "dirs" (images: the
	// sub-directory names), a .npy file ("npy"), an array name ("npz"), an idx1-ubyte
	// file ("idx"), "first" or "last" (the column of "csv").
	Labels string `toml:"labels"`
	// SkipBad skips unreadable image files, counting them, instead of failing.
	SkipBad bool `toml:"skip_bad"`
	// Layout of a 4-D array: "nhwc" (the default) or "nchw".
	Layout string `toml:"layout"`
	// Scale is the range [lo, hi] of an array's or CSV file's stored values, mapped to
	// [0, 1] ([0, 0]: [0, 255] for uint8, the values as they are otherwise).
	Scale [2]float64 `toml:"scale"`
	// Array names the data array of a .npz file ("": its only array besides labels).
	Array string `toml:"array"`
	// SHA256 and LabelsSHA256 are the checksums the idx files must have ("": not checked).
	SHA256       string `toml:"sha256"`
	LabelsSHA256 string `toml:"labels_sha256"`
}

// fileKinds are the data kinds read from the user's files.
var fileKinds = []string{"images", "npy", "npz", "idx", "csv"}

// IsFile reports whether the data comes from the user's files.
func (d DataConfig) IsFile() bool { return slices.Contains(fileKinds, d.Kind) }

// validateFile checks the keys of the file kinds.
func (d DataConfig) validateFile() error {
	if d.Path == "" {
		return badValue("data.path", `""`, fmt.Sprintf("kind %q reads its data from data.path; set it", d.Kind))
	}
	if len(d.Digits) > 0 {
		return badValue("data.digits", d.Digits, "selects MNIST digits, and the data kind is "+d.Kind)
	}
	if d.Split != "train" && d.Split != "test" && d.Split != "all" {
		return badValue("data.split", fmt.Sprintf("%q", d.Split), `want "train" (all but the held-out points), "test" (the held-out points) or "all"`)
	}
	if !(d.Holdout >= 0 && d.Holdout < 1) {
		return badValue("data.holdout", d.Holdout, "want a fraction in [0, 1) (0: the default, 0.1)")
	}
	if d.Limit < 0 {
		return badValue("data.limit", d.Limit, "must be ≥ 0 (0: all points)")
	}
	if d.Size != [2]int{} && (d.Size[0] < 1 || d.Size[1] < 1 || d.Size[0] > 4096 || d.Size[1] > 4096) {
		return badValue("data.size", d.Size, "want [height, width] in [1, 4096], or [0, 0]")
	}
	if d.Channels != 0 && d.Channels != 1 && d.Channels != 3 {
		return badValue("data.channels", d.Channels, "want 1 or 3 (0: the default)")
	}
	if d.Layout != "" && d.Layout != "nhwc" && d.Layout != "nchw" {
		return badValue("data.layout", fmt.Sprintf("%q", d.Layout), `want "nhwc" or "nchw"`)
	}
	if d.Scale != [2]float64{} && !(d.Scale[1] > d.Scale[0] && !math.IsInf(d.Scale[0], 0) && !math.IsInf(d.Scale[1], 0)) {
		return badValue("data.scale", d.Scale, "want [lo, hi], finite, lo < hi")
	}
	switch {
	case d.Kind == "images" && d.Labels != "" && d.Labels != "dirs":
		return badValue("data.labels", fmt.Sprintf("%q", d.Labels), `images take labels from their folders: "dirs", or "" for none`)
	case d.Kind == "csv" && d.Labels != "" && d.Labels != "first" && d.Labels != "last":
		return badValue("data.labels", fmt.Sprintf("%q", d.Labels), `want the label column, "first" or "last", or "" for none`)
	}
	for _, kv := range [][2]string{{"data.sha256", d.SHA256}, {"data.labels_sha256", d.LabelsSHA256}} {
		if kv[1] != "" && !regexp.MustCompile(`^[0-9a-fA-F]{64}$`).MatchString(kv[1]) {
			return badValue(kv[0], fmt.Sprintf("%q", kv[1]), "want 64 hex digits")
		}
	}
	return nil
}

// LoadData reads the data of a file kind (d.IsFile()), its first Limit points if
// Limit > 0, and returns the part Split names (LoadSplits; "all": every point in the
// file's order), reporting progress to progress (nil: none).
func (d DataConfig) LoadData(progress io.Writer) (*data.Dataset, error) {
	if d.Split == "all" {
		return d.loadHead(progress)
	}
	train, test, err := d.LoadSplits(progress)
	if d.Split == "test" {
		return test, err
	}
	return train, err
}

// LoadSplits reads the data as LoadData does and splits it into the training part
// and the held-out part of Holdout of the points (data.Dataset.Holdout with a fixed
// seed, whatever the run's seed: every run on the data holds out the same points).
func (d DataConfig) LoadSplits(progress io.Writer) (train, test *data.Dataset, err error) {
	ds, err := d.loadHead(progress)
	if err != nil {
		return nil, nil, err
	}
	frac := d.Holdout
	if frac == 0 {
		frac = data.DefaultHoldout
	}
	if train, test, err = ds.Holdout(frac, 1); err != nil {
		return nil, nil, fmt.Errorf("data.holdout: %w", err)
	}
	return train, test, nil
}

// loadHead reads the data of a file kind, its first Limit points if Limit > 0.
func (d DataConfig) loadHead(progress io.Writer) (*data.Dataset, error) {
	ds, err := d.loadData(progress)
	if err == nil && d.Limit > 0 {
		ds.Head(d.Limit)
	}
	return ds, err
}

func (d DataConfig) loadData(progress io.Writer) (*data.Dataset, error) {
	opt := data.ArrayOptions{Layout: d.Layout, Scale: d.Scale, Size: d.Size, Channels: d.Channels, Labels: d.Labels, Array: d.Array}
	switch d.Kind {
	case "images":
		ch := d.Channels
		if ch == 0 {
			ch = 3
		}
		return data.LoadImages(d.Path, data.ImageOptions{Size: d.Size, Channels: ch, Labels: d.Labels == "dirs", SkipBad: d.SkipBad, Progress: progress})
	case "npy":
		return data.LoadNPY(d.Path, opt)
	case "npz":
		return data.LoadNPZ(d.Path, opt)
	case "idx":
		return data.LoadIDX(d.Path, data.IDXOptions{Labels: d.Labels, SHA256: d.SHA256, LabelsSHA256: d.LabelsSHA256})
	case "csv":
		return data.LoadCSV(d.Path, opt)
	}
	return nil, fmt.Errorf("data.kind = %q is not read from files", d.Kind)
}

// LossConfig chooses the loss (package losses) and its ε schedule.
type LossConfig struct {
	// Kind is one of losses.Kinds: sinkhorn, sinkhorn-primal, entropic, mmd, energy,
	// sliced, unbalanced, hausdorff.
	Kind string `toml:"kind"`
	// Eps is a constant ε (+inf: the closed-form MMD limit). Ignored when Schedule is set.
	Eps float64 `toml:"eps"`
	// Schedule moves ε across steps (losses.Schedule); it overrides Eps.
	Schedule *losses.Schedule `toml:"schedule"`
	// Iters is L, the number of unrolled Sinkhorn iterations.
	Iters int `toml:"iters"`
	// Backward is "unrolled" (autograd of the L iterations), "envelope" or "implicit"
	// (the converged solution's gradient by the implicit function theorem); "" is the
	// kind's own: unrolled, envelope for "unbalanced" (differentiated at its final
	// potentials only), implicit for "hausdorff".
	Backward string `toml:"backward"`
	// CostPower and CostScale give the ground cost CostScale·|x−y|^CostPower.
	CostPower float64 `toml:"cost_power"`
	CostScale float64 `toml:"cost_scale"`
	// EpsScaling in (0,1) anneals ε inside each solve from EpsStart (0: off).
	EpsScaling float64 `toml:"eps_scaling"`
	// EpsStart is the first ε of the in-solver annealing (0: the largest cost).
	EpsStart float64 `toml:"eps_start"`
	// Bandwidths of the kernels for kind "mmd" (empty: losses.DefaultBandwidths).
	Bandwidths []float64 `toml:"bandwidths"`
	// Kernel is kind "mmd"'s kernel, "gaussian" (""), or "laplacian".
	Kernel string `toml:"kernel"`
	// Batch is the number of pairs of clouds the batches are split into, the loss being
	// their mean (losses.Config.Batch); 0 or 1: one pair.
	Batch int `toml:"batch"`
	// Rho is kind "unbalanced"'s KL marginal penalty ρ (inf: balanced).
	Rho float64 `toml:"rho"`
	// Projections and Seed: kind "sliced"'s number of random directions (0: 50) and
	// the seed that, with each data batch, draws them.
	Projections int    `toml:"projections"`
	Seed        uint64 `toml:"seed"`
}

// OptimizerConfig chooses the optimizer and its learning-rate schedule.
type OptimizerConfig struct {
	// Kind is "adam", "rmsprop" or "sgd" (with momentum).
	Kind string `toml:"kind"`
	// LR is the learning rate.
	LR float64 `toml:"lr"`
	// Beta1, Beta2 are Adam's moment decays.
	Beta1 float64 `toml:"beta1"`
	Beta2 float64 `toml:"beta2"`
	// Eps is the denominator's ε of Adam and RMSProp.
	Eps float64 `toml:"eps"`
	// Alpha is RMSProp's squared-gradient decay.
	Alpha float64 `toml:"alpha"`
	// Momentum is SGD's momentum (0: plain SGD); Nesterov selects Nesterov momentum.
	Momentum float64 `toml:"momentum"`
	Nesterov bool    `toml:"nesterov"`
	// WeightDecay adds WeightDecay·θ to the gradient (L2 regularization).
	WeightDecay float64 `toml:"weight_decay"`
	// ClipNorm rescales the gradient to this global ℓ2 norm when it is larger (0: off).
	ClipNorm float64 `toml:"clip_norm"`
	// Warmup is the number of steps of linear learning-rate warm-up from 0.
	Warmup int `toml:"warmup"`
	// Decay is the learning-rate decay after warm-up: "none", "linear" or "cosine",
	// from LR down to LRFinal at the last step.
	Decay   string  `toml:"decay"`
	LRFinal float64 `toml:"lr_final"`
}

// LogConfig chooses what the run writes and how often.
type LogConfig struct {
	// Every is the interval in steps of the lines of train.log (metrics.csv and
	// metrics.jsonl get every step).
	Every int `toml:"every"`
	// SampleEvery is the interval of the sample grids (0: only at the end).
	SampleEvery int `toml:"sample_every"`
	// Samples is the number of points in a sample grid (images) or scatter plot (2-D).
	Samples int `toml:"samples"`
	// CheckpointEvery is the interval of checkpoints (0: only at the end).
	CheckpointEvery int `toml:"checkpoint_every"`
	// Keep is the number of most recent checkpoints kept.
	Keep int `toml:"keep"`
	// Progress reports progress on standard error: a bar on a terminal, a line every
	// tenth of the run or 30 s otherwise (false: the lines of train.log instead).
	Progress bool `toml:"progress"`
}

// DefaultConfig is the configuration every file starts from: its keys override these.
func DefaultConfig() Config {
	return Config{
		Name: "run", Seed: 1, Steps: 1000, BatchSize: 256, Threads: 0,
		Data:      DataConfig{Kind: "mnist", Split: "train", Shuffle: true, Noise: 0.05},
		Model:     models.DefaultSpec(),
		Loss:      withKind(defaultLoss, string(losses.Divergence)),
		Optimizer: defaultOptimizer,
		Log:       LogConfig{Every: 100, SampleEvery: 500, Samples: 64, CheckpointEvery: 500, Keep: 3, Progress: true},
		Critic:    models.DefaultCriticSpec(),
		Adversarial: AdversarialConfig{CriticSteps: 5, Schedule: "constant", Lipschitz: "clip", Clip: 0.01, Penalty: 10,
			Optimizer: OptimizerConfig{Kind: "adam", LR: 1e-4, Beta1: 0.5, Beta2: 0.9, Eps: 1e-8, Alpha: 0.99,
				Momentum: 0.9, Decay: "none"},
			PretrainLoss: defaultLoss, FinetuneOptimizer: defaultFinetune},
	}
}

// defaultFinetune is the generator's default optimizer after pre-training: Adam at a
// fifth of the default rate, cosine-decayed to a quarter of that (measured on MNIST:
// configs/mnist-adversarial-sinkhorn.toml).
var defaultFinetune = OptimizerConfig{Kind: "adam", LR: 2e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Alpha: 0.99,
	Momentum: 0.9, Decay: "cosine", LRFinal: 5e-5}

// defaultLoss is the default [loss] but for its kind.
var defaultLoss = LossConfig{Eps: 1, Iters: 50, CostPower: 2, CostScale: 0.5}

// defaultOptimizer is the generator's default optimizer.
var defaultOptimizer = OptimizerConfig{Kind: "adam", LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Alpha: 0.99,
	Momentum: 0.9, Decay: "none"}

// ConfigDir is where a bare config name (no directory part) is looked up.
const ConfigDir = "configs"

// ResolveConfigPath returns path itself if it names a file, else configs/<path>
// (adding ".toml" when missing) if that exists. Its error lists the training configs
// of configs/.
func ResolveConfigPath(path string) (string, error) {
	st, err := os.Stat(path)
	if err == nil && !st.IsDir() {
		return path, nil
	}
	isDir := err == nil
	if !strings.ContainsRune(path, os.PathSeparator) && !strings.Contains(path, "/") {
		for _, c := range []string{path, path + ".toml"} {
			p := filepath.Join(ConfigDir, c)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
		if !isDir {
			return "", fmt.Errorf("config %q: no such file here or in %s/; %s", path, ConfigDir, listConfigs())
		}
	}
	if isDir {
		return "", fmt.Errorf("config %q is a directory, not a config file; %s", path, listConfigs())
	}
	return "", fmt.Errorf("config %q: no such file; %s", path, listConfigs())
}

// listConfigs names the training configs in configs/ (the files that decode as one),
// or says that there is no configs/ here.
func listConfigs() string {
	files, _ := filepath.Glob(filepath.Join(ConfigDir, "*.toml"))
	var names []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		cfg := DefaultConfig()
		if err == nil && strict.Decode(src, &cfg) == nil {
			names = append(names, filepath.Base(f))
		}
	}
	if len(names) == 0 {
		wd, _ := os.Getwd()
		return fmt.Sprintf("%s has no %s/ with training configs (run from the sinkgen directory)", wd, ConfigDir)
	}
	return fmt.Sprintf("the configs in %s/ are %s", ConfigDir, strings.Join(names, ", "))
}

// LoadConfig reads the TOML file at path over DefaultConfig, applies the overrides
// ("key=value" with dotted keys, value in TOML syntax or a bare string), and validates
// the result. An unknown key, a value of the wrong type or an invalid value is an
// error naming the key (and its line in the file).
func LoadConfig(path string, overrides []string) (Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(src, path, overrides)
}

// ParseConfig is LoadConfig on the bytes of a file; name labels errors.
func ParseConfig(src []byte, name string, overrides []string) (Config, error) {
	cfg := DefaultConfig()
	if err := strict.Decode(src, &cfg); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	file := cfg // before the overrides
	if len(overrides) > 0 {
		doc := map[string]any{}
		if err := toml.Unmarshal(src, &doc); err != nil {
			return Config{}, fmt.Errorf("%s: %w", name, err)
		}
		for _, o := range overrides {
			if err := setOverride(doc, o); err != nil {
				return Config{}, err
			}
		}
		merged, err := toml.Marshal(doc)
		if err != nil {
			return Config{}, fmt.Errorf("-set: %w", err)
		}
		cfg = DefaultConfig()
		if err := strict.Decode(merged, &cfg); err != nil {
			return Config{}, overrideError(err, overrides)
		}
	}
	if err := cfg.Validate(); err != nil {
		// An error the file alone does not have comes from the command line.
		if ferr := file.Validate(); len(overrides) > 0 && (ferr == nil || ferr.Error() != err.Error()) {
			key, _, _ := strings.Cut(err.Error(), " = ")
			return Config{}, fmt.Errorf("-set %s: %w", setting(overrides, key), err)
		}
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// overrideError says which -set argument caused each problem of the document the
// overrides were merged into (its line numbers mean nothing to the user).
func overrideError(err error, overrides []string) error {
	var es strict.Errors
	if !errors.As(err, &es) {
		return fmt.Errorf("-set %s: %w", strings.Join(overrides, " "), err)
	}
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = fmt.Sprintf("-set %s: %s", setting(overrides, e.Key), e.Msg)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// setting is the override that decided key's value: the last one of the key or of a
// table holding it, or all of them if none is.
func setting(overrides []string, key string) string {
	s := strings.Join(overrides, " ")
	for _, o := range overrides {
		k, _, _ := strings.Cut(o, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if low := strings.ToLower(key); low == k || strings.HasPrefix(low, k+".") {
			s = o
		}
	}
	return s
}

var keyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// setOverride applies "a.b.c=value" to a decoded TOML document.
func setOverride(doc map[string]any, o string) error {
	key, raw, ok := strings.Cut(o, "=")
	key = strings.TrimSpace(key)
	if !ok || !keyRE.MatchString(key) {
		return fmt.Errorf("-set %q: want key=value with a dotted key such as optimizer.lr=1e-4", o)
	}
	raw = strings.TrimSpace(raw)
	var val any = raw // a bare word is a string
	var probe map[string]any
	if err := toml.Unmarshal([]byte("v = "+raw), &probe); err == nil {
		val = probe["v"]
	}
	parts := strings.Split(key, ".")
	m := doc
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p]
		if !ok {
			t := map[string]any{}
			m[p] = t
			m = t
			continue
		}
		t, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("-set %s: %s is not a table", key, p)
		}
		m = t
	}
	m[parts[len(parts)-1]] = val
	return nil
}

// Marshal returns the configuration as TOML (the run directory's config.toml).
func (c Config) Marshal() ([]byte, error) {
	return toml.Marshal(c)
}

// Validate reports the first invalid value, naming its key.
func (c Config) Validate() error {
	if !regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`).MatchString(c.Name) {
		return badValue("name", fmt.Sprintf("%q", c.Name), "must be a plain file name (letters, digits, . _ -)")
	}
	if c.Steps < 1 {
		return badValue("steps", c.Steps, "must be positive")
	}
	if c.BatchSize < 1 || c.BatchSize > 1<<16 {
		return badValue("batch_size", c.BatchSize, "must be in [1, 65536]")
	}
	if c.GenBatchSize < 0 || c.GenBatchSize > 1<<16 {
		return badValue("gen_batch_size", c.GenBatchSize, "must be in [0, 65536] (0: batch_size)")
	}
	if c.Threads < 0 || c.Threads > 1024 {
		return badValue("threads", c.Threads, "must be in [0, 1024] (0: all CPUs)")
	}
	d := c.Data
	switch d.Kind {
	case "mnist":
		switch d.Split {
		case "train", "test", "all":
		default:
			return badValue("data.split", fmt.Sprintf("%q", d.Split), `want "train", "test" or "all"`)
		}
		for i, dg := range d.Digits {
			if dg < 0 || dg > 9 {
				return badValue(fmt.Sprintf("data.digits[%d]", i), dg, "must be a digit 0–9")
			}
		}
		if d.Limit < 0 {
			return badValue("data.limit", d.Limit, "must be ≥ 0 (0: all images)")
		}
		if d.Holdout != 0 {
			return badValue("data.holdout", d.Holdout, "holds out points of a data file; MNIST has its test split (data.split)")
		}
	case string(data.Ring), string(data.Grid), string(data.Moons), string(data.SwissRoll):
	case "images", "npy", "npz", "idx", "csv":
		if err := d.validateFile(); err != nil {
			return err
		}
	default:
		return badValue("data.kind", fmt.Sprintf("%q", d.Kind), fmt.Sprintf("want mnist, one of the file kinds %v or a toy distribution %v", fileKinds, data.Toys))
	}
	if !(d.Noise >= 0 && d.Noise <= maxNoise) {
		return badValue("data.noise", d.Noise, fmt.Sprintf("must be in [0, %g] (the toy distributions span a few units)", maxNoise))
	}
	m := c.Model
	m.OutDim, m.Image = c.outShape()
	if err := m.Validate(); err != nil {
		return fmt.Errorf("model.%w", err)
	}
	if _, _, err := c.Loss.Losses("loss."); err != nil {
		return err
	}
	if err := c.Optimizer.validate("optimizer"); err != nil {
		return err
	}
	if err := c.validateAdversarial(); err != nil {
		return err
	}
	if err := c.checkMemory(); err != nil {
		return err
	}
	l := c.Log
	for _, kv := range []struct {
		key string
		v   int
	}{{"log.every", l.Every}, {"log.samples", l.Samples}, {"log.keep", l.Keep}} {
		if kv.v < 1 {
			return badValue(kv.key, kv.v, "must be positive")
		}
	}
	if l.Samples > 4096 {
		return badValue("log.samples", l.Samples, "must be at most 4096")
	}
	if l.SampleEvery < 0 {
		return badValue("log.sample_every", l.SampleEvery, "must be ≥ 0 (0: only at the end)")
	}
	if l.CheckpointEvery < 0 {
		return badValue("log.checkpoint_every", l.CheckpointEvery, "must be ≥ 0 (0: only at the end)")
	}
	return nil
}

// maxNoise bounds data.noise: far larger noise swamps the distribution and, near
// float64's range, makes the data mean (the generator's output bias) NaN.
const maxNoise = 1000.0

// MaxActivations bounds batch size × the widest layer of the generator (generated
// batch) and of the critic (data and generated batches together): 2^28 values are
// 1 GiB of float32 per layer, which the graph keeps with its gradient for the
// backward pass. The shipped configs need at most 256 × 784 (MLP) or 256 × 25088
// (conv generator).
const MaxActivations = 1 << 28

// checkMemory refuses, before step 1 would try to allocate them, batches whose
// activations exceed MaxActivations or whose unrolled Sinkhorn loss exceeds ot's
// bound on its dense matrices and potentials (ot.MaxDenseBytes).
func (c Config) checkMemory() error {
	n, m := c.BatchSize, c.genBatch()
	key, size := "batch_size", n // the key that sizes the larger side
	if m > n {
		key, size = "gen_batch_size", m
	}
	g := c.Model
	g.OutDim, g.Image = c.outShape()
	if w := g.Widest(); int64(m)*w > MaxActivations {
		return badValue(key, size, fmt.Sprintf("%d generated points × %d values of the generator's widest layer exceed the %d activations allowed (train.MaxActivations)", m, w, MaxActivations))
	}
	if c.adversarial() {
		if w := c.criticSpec().Widest(); int64(n+m)*w > MaxActivations {
			return badValue(key, size, fmt.Sprintf("%d points × %d values of the critic's widest layer exceed the %d activations allowed (train.MaxActivations)", n+m, w, MaxActivations))
		}
	}
	for _, l := range []struct {
		prefix string
		loss   LossConfig
	}{{"loss.", c.Loss}, {"adversarial.pretrain_loss.", c.Adversarial.PretrainLoss}} {
		lc, _, err := l.loss.Losses(l.prefix)
		if l.loss.Kind == "" || err != nil || !lc.Kind.HasEps() || math.IsInf(lc.Eps, 1) {
			continue // no loss of its own, or a closed form, which needs no dense matrices
		}
		div := lc.Kind != losses.Entropic
		// The dense matrices depend on the batch, the potentials also on the iterations.
		if err := ot.CheckUnrolled(n, m, 1, div); err != nil {
			return badValue(key, size, strings.TrimPrefix(err.Error(), ot.ErrTooLarge.Error()+": "))
		}
		if err := ot.CheckUnrolled(n, m, l.loss.Iters, div); err != nil {
			return badValue(l.prefix+"iters", l.loss.Iters, strings.TrimPrefix(err.Error(), ot.ErrTooLarge.Error()+": "))
		}
	}
	return nil
}

// genBatch is the number of generated points per step.
func (c Config) genBatch() int {
	if c.GenBatchSize == 0 {
		return c.BatchSize
	}
	return c.GenBatchSize
}

// outShape is the dimension of a point and, for images, their (channels, height, width).
// Before a data file is loaded its shape is not known: then it is a stand-in that the
// model fits, and the Trainer validates the config again with the data's shape.
func (c Config) outShape() (int, [3]int) {
	switch {
	case c.Data.Kind == "mnist":
		return data.MNISTPixels, [3]int{1, data.MNISTRows, data.MNISTCols}
	case c.dataDim > 0:
		return c.dataDim, c.dataShape
	case c.Data.IsFile():
		side := c.Model.Base << min(len(c.Model.Channels), 12)
		if c.Model.Kind != "conv" || side < 1 || side > 4096 {
			side = 28
		}
		return side * side, [3]int{1, side, side}
	}
	return 2, [3]int{}
}

// WithDataShape returns c with the shape of the loaded data's points, validated: the
// model must fit them.
func (c Config) WithDataShape(dim int, shape [3]int) (Config, error) {
	c.dataDim, c.dataShape = dim, shape
	if err := c.Validate(); err != nil {
		what := fmt.Sprintf("%d values", dim)
		if shape[0] > 0 {
			what = fmt.Sprintf("%d×%d×%d (C×H×W)", shape[0], shape[1], shape[2])
		}
		return c, fmt.Errorf("the data's points are %s: %w", what, err)
	}
	return c, nil
}

// modelSpec is the generator's Spec with the output shape of the data.
func (c Config) modelSpec() models.Spec {
	s := c.Model
	s.OutDim, s.Image = c.outShape()
	return s
}

// Losses returns the losses.Config of the first step and ε's schedule (the zero
// Schedule for a kind without ε). Package losses validates them; errors name the
// key under prefix ("loss.", "adversarial.pretrain_loss.").
func (l LossConfig) Losses(prefix string) (losses.Config, losses.Schedule, error) {
	// Zero means a default to package losses, but not in a config file.
	if !(l.CostPower > 0) || math.IsInf(l.CostPower, 0) {
		return losses.Config{}, losses.Schedule{}, badValue(prefix+"cost_power", l.CostPower, "must be positive and finite")
	}
	if !(l.CostScale > 0) || math.IsInf(l.CostScale, 0) {
		return losses.Config{}, losses.Schedule{}, badValue(prefix+"cost_scale", l.CostScale, "must be positive and finite")
	}
	if l.Iters < 1 || l.Iters > 100000 {
		return losses.Config{}, losses.Schedule{}, badValue(prefix+"iters", l.Iters, "must be in [1, 100000]")
	}
	cfg, sched, err := losses.Config{
		Kind: losses.Kind(l.Kind), Eps: l.Eps, Iters: l.Iters, Backward: losses.BackwardMode(l.Backward),
		Cost: ot.Cost{Power: l.CostPower, Scale: l.CostScale}, EpsScaling: l.EpsScaling, EpsStart: l.EpsStart,
		Bandwidths: l.Bandwidths, Rho: l.Rho, Projections: l.Projections, Seed: l.Seed,
		Kernel: l.Kernel, Batch: l.Batch,
	}.WithSchedule(l.Schedule)
	var fe *losses.FieldError
	if errors.As(err, &fe) {
		return cfg, sched, badValue(prefix+fe.Key, fe.Value, fe.Why)
	}
	return cfg, sched, err
}

// ConfigDiff is a key whose value differs between two configs A and B: its values
// as TOML prints them, "(unset)" where a config has no such key.
type ConfigDiff struct{ Key, A, B string }

func (d ConfigDiff) String() string { return fmt.Sprintf("%s: %s vs %s", d.Key, d.A, d.B) }

// DiffConfigs lists the keys (dotted, as -set names them) whose values differ between
// a and b, sorted.
func DiffConfigs(a, b Config) ([]ConfigDiff, error) {
	fa, err := flatten(a)
	if err != nil {
		return nil, err
	}
	fb, err := flatten(b)
	if err != nil {
		return nil, err
	}
	value := func(m map[string]string, k string) string {
		if v, ok := m[k]; ok {
			return v
		}
		return "(unset)"
	}
	var diff []ConfigDiff
	for k := range fa {
		if v, ok := fb[k]; !ok || v != fa[k] {
			diff = append(diff, ConfigDiff{k, fa[k], value(fb, k)})
		}
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			diff = append(diff, ConfigDiff{k, "(unset)", fb[k]})
		}
	}
	sort.Slice(diff, func(i, j int) bool { return diff[i].Key < diff[j].Key })
	return diff, nil
}

// diffConfigs is DiffConfigs as "key: a vs b", leaving out the keys ignore accepts.
func diffConfigs(a, b Config, ignore func(key string) bool) ([]string, error) {
	all, err := DiffConfigs(a, b)
	if err != nil {
		return nil, err
	}
	var diff []string
	for _, d := range all {
		if !ignore(d.Key) {
			diff = append(diff, d.String())
		}
	}
	return diff, nil
}

// flatten lists a config's dotted keys and their values.
func flatten(c Config) (map[string]string, error) {
	raw, err := c.Marshal()
	if err != nil {
		return nil, err
	}
	doc := map[string]any{}
	if err := toml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(m map[string]any, prefix string)
	walk = func(m map[string]any, prefix string) {
		for k, v := range m {
			if t, ok := v.(map[string]any); ok {
				walk(t, prefix+k+".")
				continue
			}
			out[prefix+k] = fmt.Sprint(v)
		}
	}
	walk(doc, "")
	return out, nil
}

// ReferenceWorkload is the train_step workload of ../shared/bench/reference.py: the
// MLP 16-256-512-784 (ReLU, sigmoid output, PyTorch's initialization), 256 generated
// against 256 data points, the Sinkhorn divergence with L = 50 unrolled iterations at
// ε = 1, Adam with learning rate 1e-3. Pair it with a data.Source that yields the same
// 256 images every step (reference.py's fixed batch) and time Trainer.Step.
func ReferenceWorkload() Config {
	c := DefaultConfig()
	c.Name, c.Steps, c.BatchSize = "train_step", 1<<30, 256
	c.Model = models.DefaultSpec()
	c.Loss = LossConfig{Kind: string(losses.Divergence), Eps: 1, Iters: 50, Backward: string(losses.Unrolled), CostPower: 2, CostScale: 0.5}
	c.Optimizer = OptimizerConfig{Kind: "adam", LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Decay: "none"}
	c.Log.Progress = false
	return c
}

// validate checks an optimizer table whose keys start with prefix.
func (o OptimizerConfig) validate(prefix string) error {
	pos := func(key string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return badValue(key, v, "must be positive and finite")
		}
		return nil
	}
	unit := func(key string, v float64) error {
		if !(v >= 0 && v < 1) {
			return badValue(key, v, "must lie in [0, 1)")
		}
		return nil
	}
	if err := pos(prefix+".lr", o.LR); err != nil {
		return err
	}
	switch o.Kind {
	case "adam":
		for _, e := range []error{unit(prefix+".beta1", o.Beta1), unit(prefix+".beta2", o.Beta2), pos(prefix+".eps", o.Eps)} {
			if e != nil {
				return e
			}
		}
	case "rmsprop":
		if err := unit(prefix+".alpha", o.Alpha); err != nil {
			return err
		}
		if err := pos(prefix+".eps", o.Eps); err != nil {
			return err
		}
	case "sgd":
		if err := unit(prefix+".momentum", o.Momentum); err != nil {
			return err
		}
		if o.Nesterov && o.Momentum == 0 {
			return badValue(prefix+".nesterov", true, "needs "+prefix+".momentum > 0")
		}
	default:
		return badValue(prefix+".kind", fmt.Sprintf("%q", o.Kind), `want "adam", "rmsprop" or "sgd"`)
	}
	if !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 0) {
		return badValue(prefix+".weight_decay", o.WeightDecay, "must be finite and ≥ 0")
	}
	if !(o.ClipNorm >= 0) || math.IsInf(o.ClipNorm, 0) {
		return badValue(prefix+".clip_norm", o.ClipNorm, "must be finite and ≥ 0 (0: off)")
	}
	if o.Warmup < 0 {
		return badValue(prefix+".warmup", o.Warmup, "must be ≥ 0")
	}
	switch o.Decay {
	case "none", "linear", "cosine":
	default:
		return badValue(prefix+".decay", fmt.Sprintf("%q", o.Decay), `want "none", "linear" or "cosine"`)
	}
	if !(o.LRFinal >= 0) || math.IsInf(o.LRFinal, 0) {
		return badValue(prefix+".lr_final", o.LRFinal, "must be finite and ≥ 0")
	}
	return nil
}

func badValue(key string, v any, why string) error { return fmt.Errorf("%s = %v: %s", key, v, why) }

// validateAdversarial checks the [critic] and [adversarial] tables.
func (c Config) validateAdversarial() error {
	spec := c.criticSpec()
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("critic.%w", err)
	}
	a := c.Adversarial
	if a.CriticSteps < 1 || a.CriticSteps > 1000 {
		return badValue("adversarial.critic_steps", a.CriticSteps, "must be in [1, 1000]")
	}
	switch a.Schedule {
	case "constant", "mmdgan":
	default:
		return badValue("adversarial.schedule", fmt.Sprintf("%q", a.Schedule), `want "constant" or "mmdgan"`)
	}
	switch a.Lipschitz {
	case "clip", "penalty", "none":
	default:
		return badValue("adversarial.lipschitz", fmt.Sprintf("%q", a.Lipschitz), `want "clip", "penalty" or "none"`)
	}
	if !(a.Clip > 0) || math.IsInf(a.Clip, 0) {
		return badValue("adversarial.clip", a.Clip, "must be positive and finite")
	}
	if !(a.Penalty >= 0) || math.IsInf(a.Penalty, 0) {
		return badValue("adversarial.penalty", a.Penalty, "must be finite and ≥ 0")
	}
	if !(a.Autoencoder >= 0) || math.IsInf(a.Autoencoder, 0) {
		return badValue("adversarial.autoencoder", a.Autoencoder, "must be finite and ≥ 0")
	}
	if spec.Enabled() && (a.Autoencoder > 0) != (len(spec.Decoder) > 0) {
		return badValue("adversarial.autoencoder", a.Autoencoder, fmt.Sprintf("comes with a decoder and only with one (critic.decoder = %v)", spec.Decoder))
	}
	if a.Lipschitz == "penalty" && spec.Enabled() && spec.Activation != "relu" && spec.Activation != "leaky_relu" {
		return badValue("adversarial.lipschitz", `"penalty"`, fmt.Sprintf("needs critic.activation relu or leaky_relu: gorgonia's %s has no second derivative, which the gradient penalty needs", spec.Activation))
	}
	if a.Lipschitz == "penalty" && spec.Enabled() && spec.Kind != "mlp" {
		return badValue("adversarial.lipschitz", `"penalty"`, fmt.Sprintf("needs critic.kind = \"mlp\": the gradient penalty differentiates the critic twice, and the %s critic's own ops have first derivatives only; use \"clip\"", spec.Kind))
	}
	if a.PretrainSteps > 0 && !spec.Enabled() {
		return badValue("adversarial.pretrain_steps", a.PretrainSteps, "pre-trains before a learned cost, and there is no critic (critic.kind = \"none\")")
	}
	if a.PretrainSteps < 0 || (spec.Enabled() && a.PretrainSteps >= c.Steps) {
		return badValue("adversarial.pretrain_steps", a.PretrainSteps, fmt.Sprintf("must be in [0, steps = %d)", c.Steps))
	}
	if err := a.FinetuneOptimizer.validate("adversarial.finetune_optimizer"); err != nil {
		return err
	}
	if a.PretrainLoss.Kind != "" {
		if _, _, err := a.PretrainLoss.Losses("adversarial.pretrain_loss."); err != nil {
			return err
		}
	}
	return a.Optimizer.validate("adversarial.optimizer")
}

// criticSpec is the critic's spec with the input shape of the data.
func (c Config) criticSpec() models.CriticSpec {
	s := c.Critic
	s.InDim, s.Image = c.outShape()
	return s
}

// adversarial reports whether the run trains a critic.
func (c Config) adversarial() bool { return c.Critic.Enabled() }

// pretrainLoss is the loss of the pre-training steps.
func (c Config) pretrainLoss() LossConfig {
	if c.Adversarial.PretrainLoss.Kind == "" {
		return c.Loss
	}
	return c.Adversarial.PretrainLoss
}

func withKind(l LossConfig, kind string) LossConfig {
	l.Kind = kind
	return l
}
