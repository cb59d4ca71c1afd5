package train

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/mnisttest"
	"github.com/sinkgen/sinkgen/losses"
	"github.com/sinkgen/sinkgen/models"
)

// advToy is the toy configuration with a critic whose layer names and shapes equal the
// generator's (hidden [64, 64] both): the graphs must still keep them apart.
func advToy(t *testing.T, sets ...string) Config {
	return toyConfig(t, append([]string{"critic.kind=mlp", "critic.hidden=[64,64]", "critic.features=16",
		"adversarial.lipschitz=penalty", "adversarial.critic_steps=1", "adversarial.optimizer.lr=1e-3", "loss.eps=0.5"}, sets...)...)
}

// criticRun runs the critic's graph once on its current inputs and returns the
// objective it minimizes (−loss + λ·penalty + λ_AE·autoencoder) and its gradient
// (copies).
func criticRun(t *testing.T, a *adversary) (float64, [][]float32) {
	t.Helper()
	if err := a.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	defer a.vm.Reset()
	v := -a.loss.Stats().Value
	if a.penalty != nil {
		v += a.cfg.Penalty * float64(a.penalty.Data().(float32))
	}
	if a.ae != nil {
		v += a.cfg.Autoencoder * float64(a.ae.Data().(float32))
	}
	flat := make([]float32, len(a.params))
	if _, bad := readGradients(a.grads, flat); bad >= 0 {
		t.Fatalf("gradient %d not finite", bad)
	}
	var out [][]float32
	for _, p := range a.critic.Params() {
		out = append(out, flat[:len(p.Data())])
		flat = flat[len(p.Data()):]
	}
	return v, out
}

// fillCriticInputs gives the critic's graph a data batch, a generated batch and the
// penalty's inputs.
func fillCriticInputs(t *testing.T, tr *Trainer) {
	t.Helper()
	a := tr.adv
	tr.data.Next(a.x)
	models.Latent(newRand(3), a.z)
	y, err := a.sampler.Generate(a.z)
	if err != nil {
		t.Fatal(err)
	}
	copy(a.y, y)
	if a.xHat != nil {
		a.fillPenaltyInputs()
	}
}

// The gradient of the critic's objective with respect to the critic's parameters —
// through the loss on features (both point sets) and, with a penalty, through the
// critic's input gradient (a second derivative) — matches central differences along
// random directions.
//
// With a penalty and hidden layers, the penalty is discontinuous in the parameters
// before the last activation (the rectifiers' slopes jump where a pre-activation
// crosses 0, and a step of 1e-3 in every parameter crosses some), so there the
// directions move the last layer only; the second derivative through the inner layers'
// masks and weights still enters its gradient, and the linear critic checks the first
// layer's second-order term with all parameters moving.
func TestCriticObjectiveGradient(t *testing.T) {
	for name, sets := range map[string][]string{
		"sinkhorn/tanh":              {"critic.activation=tanh", "adversarial.lipschitz=clip"},
		"primal/softplus":            {"critic.activation=softplus", "loss.kind=sinkhorn-primal", "adversarial.lipschitz=none"},
		"mmd/leaky_relu":             {"loss.kind=mmd", "adversarial.lipschitz=clip", "loss.bandwidths=[0.5, 1, 2]"},
		"sinkhorn+penalty/leaky":     {"loss.eps=2"},
		"primal+penalty/relu":        {"critic.activation=relu", "loss.kind=sinkhorn-primal"},
		"sinkhorn+penalty/linear":    {"critic.hidden=[]"},
		"sinkhorn+penalty/skip":      {"critic.skip=true"},
		"mmd/skip":                   {"critic.skip=true", "loss.kind=mmd", "adversarial.lipschitz=clip"},
		"entropic+penalty/annealed":  {"loss.kind=entropic", "loss.eps_scaling=0.7", "loss.eps_start=5"},
		"sinkhorn/leaky/unrolled-ε∞": {"loss.eps=inf", "adversarial.lipschitz=none"},
		"mmd+autoencoder":            {"loss.kind=mmd", "adversarial.lipschitz=clip", "critic.decoder=[8]", "adversarial.autoencoder=0.5"},
		"sinkhorn+penalty+autoenc":   {"critic.decoder=[8]", "adversarial.autoencoder=2"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := advToy(t, append([]string{"batch_size=64", "critic.hidden=[16,16]", "critic.features=4"}, sets...)...)
			tr := newTestTrainer(t, cfg)
			a := tr.adv
			fillCriticInputs(t, tr)
			f0, grad := criticRun(t, a)
			first := 0 // the first parameter tensor the directions move
			if a.xHat != nil && len(cfg.Critic.Hidden) > 0 {
				first = 2 * len(cfg.Critic.Hidden) // the encoder's last layer, and the decoder
			}
			rng := newRand(17)
			for trial := 0; trial < 3; trial++ {
				params := make([][]float32, len(a.critic.Params()))
				for i, p := range a.critic.Params() {
					params[i] = p.Data()
				}
				dir := make([][]float32, len(params))
				var want float64
				for i, p := range params {
					dir[i] = make([]float32, len(p))
					if i < first {
						continue
					}
					for j := range p {
						dir[i][j] = float32(rng.NormFloat64())
						want += float64(dir[i][j]) * float64(grad[i][j])
					}
				}
				const h = 1e-3
				move := func(s float32) {
					for i, p := range params {
						for j := range p {
							p[j] += s * dir[i][j]
						}
					}
				}
				move(h)
				fp, _ := criticRun(t, a)
				move(-2 * h)
				fm, _ := criticRun(t, a)
				move(h)
				fd := (fp - fm) / (2 * h)
				t.Logf("objective %.6g: directional derivative %.6g, central difference %.6g", f0, want, fd)
				if math.Abs(fd-want) > 2e-2*math.Abs(want)+1e-4 {
					t.Errorf("trial %d: gradient·d = %.6g, finite difference %.6g", trial, want, fd)
				}
			}
		})
	}
}

// The generator's graph computes the loss on the critic's current features: its value
// equals the loss recomputed from the batches through fresh graphs, after the critic
// has moved (a regression test: gorgonia merged the critic's parameter nodes with the
// generator's of equal name and shape).
func TestGeneratorSeesCritic(t *testing.T) {
	cfg := advToy(t, "batch_size=128")
	tr := newTestTrainer(t, cfg)
	for i := 0; i < 20; i++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	g := tr.graphs[mainPhase]
	if err := g.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := g.loss.Stats().Value
	g.vm.Reset()
	y, err := tr.gen.Generate(g.zBatch)
	if err != nil {
		t.Fatal(err)
	}
	hx, err := tr.adv.critic.Features(g.xBatch)
	if err != nil {
		t.Fatal(err)
	}
	hy, err := tr.adv.critic.Features(y)
	if err != nil {
		t.Fatal(err)
	}
	lcfg, _, err := cfg.Loss.Losses("loss.")
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.BatchSize
	want, _, _, _, err := losses.Evaluate(toDense(hx, n), toDense(hy, n), lcfg, losses.WantNone)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-5*math.Abs(want) {
		t.Errorf("generator graph's loss %.8g, recomputed from features %.8g", got, want)
	}
}

// Weight clipping holds every critic parameter within ±clip after each update; without
// a Lipschitz control they leave that box (so the first check can fail).
func TestCriticClipping(t *testing.T) {
	const bound = float64(float32(0.05))
	maxAbs := func(lipschitz string) float64 {
		cfg := advToy(t, "steps=3", "batch_size=64", "adversarial.lipschitz="+lipschitz, "adversarial.clip=0.05")
		tr := newTestTrainer(t, cfg)
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		m := 0.0
		for _, p := range tr.adv.critic.Params() {
			for _, v := range p.Data() {
				m = math.Max(m, math.Abs(float64(v)))
			}
		}
		return m
	}
	if m := maxAbs("clip"); m > bound {
		t.Errorf("clipped critic has a parameter of magnitude %g > %g", m, bound)
	} else if m < bound {
		t.Errorf("no clipped parameter reaches the bound (max %g): clipping not exercised", m)
	}
	if m := maxAbs("none"); m <= bound {
		t.Errorf("unclipped critic stays within ±%g (max %g): the clipping test cannot fail", bound, m)
	}
}

// The penalty's value is what its definition says: E(‖∇ₓ uᵀh(x̂)‖ − 1)², here for a
// linear critic h(x) = Wᵀx + b, whose input gradient is W u at every point.
func TestGradientPenaltyValue(t *testing.T) {
	cfg := advToy(t, "batch_size=32", "critic.hidden=[]", "critic.features=3")
	tr := newTestTrainer(t, cfg)
	a := tr.adv
	fillCriticInputs(t, tr)
	if err := a.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := float64(a.penalty.Data().(float32))
	a.vm.Reset()
	w := a.critic.Params()[0].Data() // 2×3
	k := 3
	var want float64
	rows := len(a.u) / k
	for i := 0; i < rows; i++ {
		u := a.u[i*k : (i+1)*k]
		var sq float64
		for d := 0; d < 2; d++ {
			var g float64
			for j := 0; j < k; j++ {
				g += float64(w[d*k+j]) * float64(u[j])
			}
			sq += g * g
		}
		want += (math.Sqrt(sq) - 1) * (math.Sqrt(sq) - 1)
	}
	want /= float64(rows)
	if math.Abs(got-want) > 1e-5*math.Max(1, want) {
		t.Errorf("penalty %.8g, want %.8g", got, want)
	}
}

// MMD-GAN's schedule: 100 critic updates before the first 25 generator steps and every
// 500th, critic_steps otherwise; the metrics record the count.
func TestCriticSchedule(t *testing.T) {
	c := DefaultConfig()
	c.Critic.Kind = "mlp"
	c.Adversarial.CriticSteps, c.Adversarial.Schedule = 5, "mmdgan"
	for step, want := range map[int]int{0: 100, 24: 100, 25: 5, 499: 5, 500: 100, 501: 5, 1000: 100} {
		if got := newSchedule(c).at(step).criticSteps; got != want {
			t.Errorf("step %d: %d critic updates, want %d", step, got, want)
		}
	}
	c.Adversarial.Schedule = "constant"
	if got := newSchedule(c).at(0).criticSteps; got != 5 {
		t.Errorf("constant: %d critic updates at step 0, want 5", got)
	}
	cfg := advToy(t, "batch_size=32", "adversarial.critic_steps=3")
	tr := newTestTrainer(t, cfg)
	st, err := tr.Step()
	if err != nil {
		t.Fatal(err)
	}
	if st.CriticSteps != 3 || st.CriticLoss == 0 || st.Penalty == 0 {
		t.Errorf("step stats %+v: want 3 critic updates with a loss and a penalty", st)
	}
}

// Pre-training is the fixed-cost run: after its steps the generator equals, bit for
// bit, that of a run without a critic of that many steps (the same [optimizer] and
// schedule) whose loss is the pre-training loss ([loss], or another). The critic has not
// moved; then it trains by its schedule, counted from the phase's start, and the
// generator switches to a fresh fine-tuning optimizer with its own schedule.
func TestPretraining(t *testing.T) {
	const pre = 4
	for name, loss := range map[string][]string{
		"same loss":  {"loss.eps=0.5"},
		"other loss": {"loss.kind=energy"},
	} {
		t.Run(name, func(t *testing.T) {
			sets := []string{"steps=8", "adversarial.pretrain_steps=4", "adversarial.schedule=mmdgan",
				"optimizer.lr=3e-3", "optimizer.decay=linear", "optimizer.lr_final=1e-3",
				"adversarial.finetune_optimizer.kind=rmsprop", "adversarial.finetune_optimizer.lr=2e-4", "adversarial.finetune_optimizer.lr_final=1e-4"}
			if name == "other loss" {
				sets = append(sets, "adversarial.pretrain_loss.kind=energy")
			}
			adv := newTestTrainer(t, advToy(t, sets...))
			plain := newTestTrainer(t, toyConfig(t, append([]string{"steps=4", "optimizer.lr=3e-3", "optimizer.decay=linear", "optimizer.lr_final=1e-3"}, loss...)...))
			critic0 := adv.adv.critic.Tensors("")
			for i := 0; i < pre; i++ {
				sa, err := adv.Step()
				if err != nil {
					t.Fatal(err)
				}
				sp, err := plain.Step()
				if err != nil {
					t.Fatal(err)
				}
				if sa.CriticSteps != 0 || sa.Loss != sp.Loss || sa.LR != sp.LR {
					t.Fatalf("pre-training step %d: critic updates %d, loss %v, lr %v; the fixed-cost run: loss %v, lr %v",
						i+1, sa.CriticSteps, sa.Loss, sa.LR, sp.Loss, sp.LR)
				}
			}
			for i, p := range adv.Generator().Params() {
				if q := plain.Generator().Params()[i].Data(); !slices.Equal(p.Data(), q) {
					t.Fatalf("after pre-training, generator %s differs from the fixed-cost run's", p.Name)
				}
			}
			for i, c := range adv.adv.critic.Tensors("") {
				if !slices.Equal(c.Data, critic0[i].Data) {
					t.Fatalf("critic %s moved during pre-training", c.Name)
				}
			}
			st, err := adv.Step()
			if err != nil {
				t.Fatal(err)
			}
			opt := adv.optims[adv.sched.phaseOf(adv.step-1)]
			if st.CriticSteps != 100 || opt == adv.optims[pretrainPhase] || opt.cfg.Kind != "rmsprop" || opt.t != 1 || st.LR != 2e-4 || st.Eps != 0.5 {
				t.Errorf("first adversarial step: %d critic updates (want MMD-GAN's 100), optimizer %s after %d updates (want a fresh rmsprop), lr %v (want 2e-4), ε %v (want [loss]'s 0.5)",
					st.CriticSteps, opt.cfg.Kind, opt.t, st.LR, st.Eps)
			}
		})
	}
}

// A short adversarial run on the ring of 8 Gaussians (learned cost, gradient penalty)
// covers every mode. It concentrates on the modes more slowly than the fixed cost (at
// 500 steps 37–92 of 2048 samples per mode, against ≥ 61 for the fixed cost's test),
// so the share asked per mode is 1.5%: a missed mode gets almost none.
func TestAdversarialToyRing(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for several seconds")
	}
	tr, before, after := trainRing(t, advToy(t, "steps=500", "loss.iters=30"))
	t.Logf("S_ε to the data (fixed cost): %.4g before, %.4g after %d steps", before, after, tr.StepCount())
	if !(after < before/5) {
		t.Errorf("S_ε went from %.4g to %.4g: less than a factor 5", before, after)
	}
	checkRingModes(t, tr.Generator(), 0.015, 400)
}

// A conv critic on MNIST images trains (a few steps, finite values, clipping held).
func TestConvCriticSteps(t *testing.T) {
	_, err := data.LocateMNIST()
	mnisttest.Need(t, err)
	cfg, err := ParseConfig([]byte(`
name = "conv-critic"
steps = 2
batch_size = 16
threads = 2
[data]
limit = 64
[model]
hidden = [32]
[critic]
kind = "conv"
channels = [4, 4]
features = 8
[adversarial]
critic_steps = 2
clip = 0.05
[log]
progress = false
`), "conv-critic", nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTestTrainer(t, cfg)
	for i := 0; i < 2; i++ {
		st, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		if st.CriticSteps != 2 || !finite(st.CriticLoss) || st.CriticGradNorm == 0 {
			t.Errorf("step %d: %+v", st.Step, st)
		}
	}
	for _, p := range tr.adv.critic.Params() {
		for _, v := range p.Data() {
			if math.Abs(float64(v)) > float64(float32(0.05)) {
				t.Fatalf("%s holds %v outside ±0.05", p.Name, v)
			}
		}
	}
}

// Each phase clips with its own optimizer's clip_norm: with plain SGD (no momentum,
// no weight decay) the first fine-tuning step moves the parameters by exactly lr times
// the gradient clipped to [adversarial.finetune_optimizer]'s norm, whatever
// [optimizer] (the pre-training phase's) says.
func TestFinetuneClipsWithItsOwnNorm(t *testing.T) {
	const lr, clip = 1e-2, 1e-3
	for _, finetuneClip := range []float64{0, clip} {
		tr := newTestTrainer(t, advToy(t, "steps=3", "adversarial.pretrain_steps=2", "optimizer.clip_norm=1e-7",
			"adversarial.finetune_optimizer.kind=sgd", "adversarial.finetune_optimizer.momentum=0",
			"adversarial.finetune_optimizer.decay=none", fmt.Sprint("adversarial.finetune_optimizer.lr=", lr),
			fmt.Sprint("adversarial.finetune_optimizer.clip_norm=", finetuneClip)))
		for range 2 {
			if _, err := tr.Step(); err != nil {
				t.Fatal(err)
			}
		}
		before := make([][]float32, 0)
		for _, p := range tr.Generator().Params() {
			before = append(before, slices.Clone(p.Data()))
		}
		st, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		var moved float64 // ‖Δθ‖
		for i, p := range tr.Generator().Params() {
			for j, v := range p.Data() {
				d := float64(v - before[i][j])
				moved += d * d
			}
		}
		moved = math.Sqrt(moved)
		want := lr * st.GradNorm // the step's gradient norm, before clipping
		if finetuneClip > 0 {
			want = lr * min(st.GradNorm, finetuneClip)
		}
		if st.GradNorm <= 10*clip || math.Abs(moved-want) > 1e-3*want {
			t.Errorf("finetune clip_norm %g: the step moved the parameters by %.6g, want lr·min(‖g‖ = %.4g, clip) = %.6g",
				finetuneClip, moved, st.GradNorm, want)
		}
	}
}
