package train

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkgen/sinkgen/losses"
)

// Every shipped training config decodes strictly and validates.
func TestShippedConfigs(t *testing.T) {
	for _, name := range []string{"mnist", "mnist-mmd", "mnist-conv", "toy2d", "mnist-adversarial-sinkhorn", "mnist-mmdgan", "images", "fashion-mnist"} {
		f := filepath.Join("..", "configs", name+".toml")
		cfg, err := LoadConfig(f, nil)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".toml"); cfg.Name != want {
			t.Errorf("%s: name %q, want the file's name %q", f, cfg.Name, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		sets []string
		want string // substring of the error
	}{
		{"name = \"x\"\nbogus = 1\n", nil, "line 2: unknown key bogus"},
		{"[model]\nwidths = [3]\n", nil, "unknown key model.widths"},
		{"[optimizer]\nlr = \"fast\"\n", nil, "optimizer.lr"},
		{"steps = 0\n", nil, "steps = 0"},
		{"batch_size = -4\n", nil, "batch_size = -4"},
		{"[optimizer]\nlr = -1\n", nil, "optimizer.lr = -1"},
		{"[optimizer]\nkind = \"lbfgs\"\n", nil, "optimizer.kind"},
		{"[optimizer]\nbeta2 = 1.5\n", nil, "optimizer.beta2 = 1.5"},
		{"[optimizer]\ndecay = \"step\"\n", nil, "optimizer.decay"},
		{"[loss]\neps = -0.5\n", nil, "loss.eps = -0.5"},
		{"[loss]\nkind = \"wasserstein\"\n", nil, "unknown kind"},
		{"[loss]\niters = 0\n", nil, "loss.iters = 0"},
		{"[loss]\ncost_power = 0\n", nil, "loss.cost_power"},
		{"[loss]\nbackward = \"magic\"\n", nil, "backward"},
		{"[loss.schedule]\nkind = \"linear\"\nstart = 1\nend = 0.1\nsteps = 0\n", nil, "loss.schedule.steps"},
		{"[loss.schedule]\nkind = \"bogus\"\n", nil, "loss.schedule.kind"},
		{"[model]\nhidden = [64, 0]\n", nil, "model.hidden[1] = 0"},
		{"[model]\nactivation = \"gelu\"\n", nil, "model.activation"},
		{"[model]\nkind = \"conv\"\nbase = 5\n", nil, "model.base = 5"},
		{"[model]\nkind = \"conv\"\n[data]\nkind = \"ring\"\n", nil, "needs image data"},
		{"[model]\noutput_bias = \"zero\"\n", nil, "model.output_bias"},
		{"[data]\nkind = \"cifar\"\n", nil, "data.kind"},
		{"[data]\ndigits = [3, 12]\n", nil, "data.digits[1] = 12"},
		{"[data]\nsplit = \"valid\"\n", nil, "data.split"},
		{"[data]\nkind = \"images\"\n", nil, "data.path = \"\": kind \"images\" reads its data from data.path"},
		{"[data]\nkind = \"images\"\npath = \"p\"\nsize = [32, 0]\n", nil, "data.size = [32 0]"},
		{"[data]\nkind = \"images\"\npath = \"p\"\nchannels = 4\n", nil, "data.channels = 4"},
		{"[data]\nkind = \"images\"\npath = \"p\"\nlabels = \"l.npy\"\n", nil, "data.labels"},
		{"[data]\nkind = \"npy\"\npath = \"p\"\nlayout = \"chw\"\n", nil, "data.layout"},
		{"[data]\nkind = \"npy\"\npath = \"p\"\nscale = [1.0, 1.0]\n", nil, "data.scale"},
		{"[data]\nkind = \"csv\"\npath = \"p\"\nlabels = \"middle\"\n", nil, "data.labels"},
		{"[data]\nkind = \"idx\"\npath = \"p\"\nsha256 = \"abc\"\n", nil, "data.sha256"},
		{"[data]\nkind = \"idx\"\npath = \"p\"\ndigits = [1]\n", nil, "data.digits = [1]: selects MNIST digits"},
		{"[data]\nkind = \"npy\"\npath = \"p\"\nsplit = \"val\"\n", nil, `data.split = "val": want "train" (all but the held-out points)`},
		{"[data]\nkind = \"npy\"\npath = \"p\"\nholdout = 1.0\n", nil, "data.holdout = 1: want a fraction in [0, 1)"},
		{"[data]\nholdout = 0.2\n", nil, "data.holdout = 0.2: holds out points of a data file; MNIST has its test split"},
		{"[log]\nkeep = 0\n", nil, "log.keep = 0"},
		{"[critic]\nkind = \"rnn\"\n", nil, "critic.kind"},
		{"[critic]\nkind = \"mlp\"\nfeatures = 0\n", nil, "critic.features = 0"},
		{"[critic]\nkind = \"mlp\"\nhidden = [8, -1]\n", nil, "critic.hidden[1] = -1"},
		{"[critic]\nkind = \"conv\"\nkernel = 4\n", nil, "critic.kernel = 4"},
		{"[critic]\nkind = \"conv\"\n[data]\nkind = \"moons\"\n", nil, "needs image data"},
		{"[critic]\nkind = \"conv\"\nchannels = [8, 8, 8]\n", nil, "critic.channels"},
		{"[critic]\nkind = \"conv\"\n[adversarial]\nlipschitz = \"penalty\"\n", nil, "needs critic.kind = \"mlp\""},
		{"[critic]\nkind = \"mlp\"\nactivation = \"tanh\"\n[adversarial]\nlipschitz = \"penalty\"\n", nil, "no second derivative"},
		{"[adversarial]\ncritic_steps = 0\n", nil, "adversarial.critic_steps = 0"},
		{"[critic]\nkind = \"mlp\"\ndecoder = [64]\n", nil, "comes with a decoder"},
		{"[critic]\nkind = \"mlp\"\n[adversarial]\nautoencoder = 1\n", nil, "comes with a decoder"},
		{"[adversarial]\nautoencoder = -1\n", nil, "adversarial.autoencoder = -1"},
		{"[critic]\nkind = \"mlp\"\ndecoder = [0]\n", nil, "critic.decoder[0] = 0"},
		{"[adversarial]\nschedule = \"wgan\"\n", nil, "adversarial.schedule"},
		{"[adversarial]\nlipschitz = \"spectral\"\n", nil, "adversarial.lipschitz"},
		{"[adversarial]\nclip = 0\n", nil, "adversarial.clip = 0"},
		{"[adversarial]\npenalty = -1\n", nil, "adversarial.penalty = -1"},
		{"[adversarial.optimizer]\nlr = 0\n", nil, "adversarial.optimizer.lr = 0"},
		{"[adversarial.optimizer]\nkind = \"sgd\"\nmomentum = 0\nnesterov = true\n", nil, "adversarial.optimizer.nesterov"},
		{"[adversarial]\npretrain_steps = 10\n", nil, "there is no critic"},
		{"steps = 50\n[critic]\nkind = \"mlp\"\n[adversarial]\npretrain_steps = 50\n", nil, "adversarial.pretrain_steps = 50: must be in [0, steps = 50)"},
		{"[critic]\nkind = \"mlp\"\n[adversarial]\npretrain_steps = -1\n", nil, "adversarial.pretrain_steps = -1"},
		{"[adversarial.finetune_optimizer]\ndecay = \"step\"\n", nil, "adversarial.finetune_optimizer.decay"},
		{"[adversarial.pretrain_loss]\nkind = \"sinkhorn\"\niters = 0\n", nil, "adversarial.pretrain_loss.iters = 0"},
		{"[adversarial.pretrain_loss]\nkind = \"hinge\"\n", nil, "adversarial.pretrain_loss"},
		// package losses names the field; train puts the table in front
		{"[loss]\nkind = \"wasserstein\"\n", nil, "loss.kind = \"wasserstein\": unknown kind"},
		{"[loss.schedule]\nkind = \"geometric\"\nstart = 1\nend = inf\nsteps = 3\n", nil, "loss.schedule.kind = \"geometric\""},
		{"[adversarial.pretrain_loss]\nkind = \"mmd\"\nbandwidths = [1, -2]\n", nil, "adversarial.pretrain_loss.bandwidths[1] = -2"},
		{"[adversarial.pretrain_loss]\nkind = \"sinkhorn\"\n[adversarial.pretrain_loss.schedule]\nkind = \"constant\"\nstart = -1\n", nil, "adversarial.pretrain_loss.schedule.start = -1"},
		{"name = \"../evil\"\n", nil, "name"},
		{"name = \"x\"\n", []string{"model.widht=3"}, "unknown key model.widht"},
		{"name = \"x\"\n", []string{"noequals"}, "want key=value"},
		{"name = \"x\"\n", []string{"optimizer.lr=-3"}, "optimizer.lr = -3"},
		{"name = \"x\"\n", []string{"name.sub=1"}, "name is not a table"},
		// unknown keys and values of the wrong type: the -set argument or the file's
		// line, the closest key, what the key wants and what it got
		{"name = \"x\"\nstepz = 10\n", nil, "test.toml: line 2: unknown key stepz (did you mean steps?)"},
		{"[optimizer]\nlearning_rate = 1\n", nil, "test.toml: line 2: unknown key optimizer.learning_rate"},
		{"steps = \"abc\"\n", nil, `test.toml: line 1: steps must be an integer, got "abc"`},
		{"[data]\nshuffle = \"yes\"\n", nil, `test.toml: line 2: data.shuffle must be true or false, got "yes"`},
		{"name = \"x\"\n", []string{"stepz=10"}, "-set stepz=10: unknown key stepz (did you mean steps?)"},
		{"name = \"x\"\n", []string{"steps=5", "lr=0.1"}, "-set lr=0.1: unknown key lr (did you mean optimizer.lr?)"},
		{"name = \"x\"\n", []string{"steps=abc"}, `-set steps=abc: steps must be an integer, got "abc"`},
		{"name = \"x\"\n", []string{"seed=-1"}, "-set seed=-1: seed must be a non-negative integer, got -1"},
		{"name = \"x\"\n", []string{"model.hidden=[8, x]"}, `-set model.hidden=[8, x]: model.hidden must be a list of integers, got "[8, x]"`},
		{"name = \"x\"\n", []string{"loss.schedule={kind = \"cosine\", stat = 1}"},
			"-set loss.schedule={kind = \"cosine\", stat = 1}: unknown key loss.schedule.stat (did you mean loss.schedule.start?)"},
	} {
		_, err := ParseConfig([]byte(tc.doc), "test.toml", tc.sets)
		if err == nil {
			t.Errorf("%q %v: accepted", tc.doc, tc.sets)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %v: error %q does not mention %q", tc.doc, tc.sets, err, tc.want)
		}
		if len(tc.sets) > 0 && strings.Contains(err.Error(), "line ") {
			t.Errorf("%q %v: error %q names a line of a document the user never wrote", tc.doc, tc.sets, err)
		}
	}
}

func TestConfigDefaultsAndOverrides(t *testing.T) {
	cfg, err := ParseConfig([]byte("name = \"a\"\n[loss]\neps = inf\n"), "a.toml",
		[]string{"steps=77", "optimizer.lr=2.5e-4", "model.hidden=[8, 9]", "loss.kind=sinkhorn-primal", "data.kind=moons", "log.progress=false"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Steps != 77 || cfg.Optimizer.LR != 2.5e-4 || len(cfg.Model.Hidden) != 2 || cfg.Model.Hidden[1] != 9 ||
		cfg.Loss.Kind != "sinkhorn-primal" || !math.IsInf(cfg.Loss.Eps, 1) || cfg.Data.Kind != "moons" || cfg.Log.Progress {
		t.Errorf("overrides not applied: %+v", cfg)
	}
	def := DefaultConfig()
	if cfg.BatchSize != def.BatchSize || cfg.Optimizer.Beta2 != def.Optimizer.Beta2 || cfg.Loss.Iters != def.Loss.Iters {
		t.Errorf("defaults lost: %+v", cfg)
	}
	// The written config reads back to the same configuration, +Inf included.
	text, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(text, "marshaled", nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if diff, _ := diffConfigs(cfg, back, func(string) bool { return false }); len(diff) > 0 {
		t.Errorf("round trip differs: %v", diff)
	}
	// A schedule overrides eps; ε at step 0 comes from it.
	cfg, err = ParseConfig([]byte("[loss.schedule]\nkind = \"geometric\"\nstart = 10\nend = 0.5\nsteps = 100\n"), "s.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, s, _ := cfg.Loss.Losses("loss."); s.At(0) != 10 || math.Abs(s.At(100)-0.5) > 1e-12 {
		t.Errorf("schedule %+v", s)
	}
}

func TestResolveConfigPath(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(dir)
	os.MkdirAll("configs", 0o755)
	os.WriteFile("configs/a.toml", []byte("name = \"a\"\n"), 0o644)
	os.WriteFile("b.toml", []byte("name = \"b\"\n"), 0o644)
	for in, want := range map[string]string{"a.toml": "configs/a.toml", "a": "configs/a.toml", "b.toml": "b.toml"} {
		got, err := ResolveConfigPath(in)
		if err != nil || filepath.ToSlash(got) != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
	os.WriteFile("configs/compare.toml", []byte("[[experiment]]\nname = \"c\"\n"), 0o644) // not a training config
	if _, err := ResolveConfigPath("missing.toml"); err == nil || !strings.Contains(err.Error(), "configs/") ||
		!strings.HasSuffix(err.Error(), "the configs in configs/ are a.toml") {
		t.Errorf("missing config: %v", err)
	}
	os.Chdir(t.TempDir())
	if _, err := ResolveConfigPath("mnist"); err == nil || !strings.Contains(err.Error(), "run from the sinkgen directory") {
		t.Errorf("no configs/ here: %v", err)
	}
}

func TestLRSchedule(t *testing.T) {
	c := OptimizerConfig{LR: 1, LRFinal: 0.1, Warmup: 4, Decay: "cosine"}
	if got := c.lrAt(0, 100); math.Abs(got-0.2) > 1e-12 {
		t.Errorf("warm-up step 0: %v", got)
	}
	if got := c.lrAt(4, 100); got != 1 {
		t.Errorf("after warm-up: %v", got)
	}
	if got := c.lrAt(99, 100); math.Abs(got-0.1) > 1e-12 {
		t.Errorf("last step: %v", got)
	}
	c.Decay = "linear"
	if got := c.lrAt(4+95/2, 100); math.Abs(got-(1+0.1)/2) > 0.01 {
		t.Errorf("linear midpoint: %v", got)
	}
	c.Decay = "none"
	if got := c.lrAt(50, 100); got != 1 {
		t.Errorf("none: %v", got)
	}
}

// configs/README.md documents every key (the leaf names of DefaultConfig and of a
// schedule table, in backticks).
func TestEveryKeyDocumented(t *testing.T) {
	doc, err := os.ReadFile("../configs/README.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Loss.Schedule = &losses.Schedule{}
	flat, err := flatten(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(flat) < 40 {
		t.Fatalf("only %d keys: %v", len(flat), flat)
	}
	for k := range flat {
		leaf := k[strings.LastIndex(k, ".")+1:]
		if !strings.Contains(string(doc), "`"+leaf+"`") {
			t.Errorf("configs/README.md does not document %s", k)
		}
	}
}

// Issue 13 (E2, E3): a network or batch too large for memory is refused with
// "key = value: why" (not "model.the network has …"), the activations of a batch
// are bounded, and data.noise is bounded.
func TestValidateSizesReadAsKeys(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{[]string{"model.hidden=[65536, 65536, 65536]"}, "model.hidden = [65536 65536 65536]: the network would have "},
		{[]string{"critic.kind=mlp", "critic.hidden=[65536, 65536, 65536]"}, "critic.hidden = [65536 65536 65536]: the network would have "},
		// 65536 generated points × a 65536-wide layer: 2^32 activations
		{[]string{"loss.kind=mmd", "batch_size=65536", "model.hidden=[65536]"}, "batch_size = 65536: 65536 generated points × 65536 values"},
		{[]string{"loss.kind=mmd", "batch_size=8", "gen_batch_size=65536", "model.hidden=[65536]"}, "gen_batch_size = 65536: "},
		{[]string{"batch_size=65536"}, "batch_size = 65536: unrolled sinkhorn divergence between 65536 and 65536 points needs 256 GiB"},
		{[]string{"loss.kind=entropic", "batch_size=6000", "loss.iters=100000"}, "loss.iters = 100000: the potentials of 100000 unrolled iterations"},
		{[]string{"data.noise=1e308"}, "data.noise = 1e+308: must be in [0, 1000]"},
	} {
		_, err := ParseConfig([]byte("[data]\nkind = \"ring\"\n"), "x.toml", tc.sets)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), ".the ") {
			t.Errorf("%v: %v; want %q", tc.sets, err, tc.want)
		}
	}
	// The shipped sizes pass: MNIST's 256 × 784 and 100000 iterations at 256 points.
	for _, sets := range [][]string{{"data.kind=mnist", "batch_size=256"}, {"loss.iters=100000"}, {"data.noise=1000"}} {
		if _, err := ParseConfig(nil, "x.toml", sets); err != nil {
			t.Errorf("%v: %v", sets, err)
		}
	}
}

// An empty backward is the loss kind's own: unrolled for the Sinkhorn kinds, envelope
// for unbalanced (which has no unrolled derivative), so that kind = "unbalanced" alone
// trains; an explicit unrolled backward for it is still refused by name.
func TestBackwardDefaultsToTheKinds(t *testing.T) {
	for _, kind := range []string{"sinkhorn", "unbalanced"} {
		tr := newTestTrainer(t, toyConfig(t, "loss.kind="+kind, "loss.rho=1", "steps=2", "batch_size=32"))
		if _, err := tr.Step(); err != nil {
			t.Errorf("%s with the default backward: %v", kind, err)
		}
	}
	if _, err := ParseConfig([]byte("[loss]\nkind = \"unbalanced\"\nrho = 1.0\nbackward = \"unrolled\"\n"), "x.toml", nil); err == nil || !strings.Contains(err.Error(), "loss.backward") {
		t.Errorf("unbalanced with an unrolled backward: %v, want an error naming loss.backward", err)
	}
}
