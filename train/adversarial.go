package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinkgen/sinkgen/losses"
	"github.com/sinkgen/sinkgen/models"
)

// adversary trains the critic h_φ of a learned cost c_φ(x, y) = c(h_φ(x), h_φ(y)). It
// has a graph of its own: a data batch and a generated batch enter as inputs (the
// generated points are constants for the critic, so the generator is run forward only),
// the loss is computed on their features, and the objective −loss (+ penalty) is
// differentiated with respect to φ alone.
type adversary struct {
	cfg    AdversarialConfig
	critic *models.Critic

	machine           // the critic's graph: objective and gradients
	nodes   G.Nodes   // the critic's parameters in it
	x, y, z []float32 // data batch, generated batch, its latent batch
	xHat, u []float32 // penalty inputs: interpolated points, unit feature directions
	loss    *losses.Loss
	penalty G.Value // the penalty's value after a run (nil without a penalty)
	ae      G.Value // the autoencoder term's value after a run (nil without one)

	params, gradValues []float32 // flat: the critic's Values and their gradients
	opt                *optimizer
	pcg                *rand.PCG // interpolation weights and directions of the penalty
	rng                *rand.Rand
	sampler            *models.Sampler
}

// criticStats summarizes the critic updates before one generator step.
type criticStats struct {
	steps                   int
	loss, penalty, ae, norm float64 // of the last update
}

// newMatrixInput adds a float32 r×c input node to g and returns it with its backing.
func newMatrixInput(g *G.ExprGraph, name string, r, c int) (*G.Node, []float32) {
	v := tensor.New(tensor.WithShape(r, c), tensor.WithBacking(make([]float32, r*c)))
	return G.NewMatrix(g, tensor.Float32, G.WithShape(r, c), G.WithName(name), G.WithValue(v)), v.Data().([]float32)
}

// buildAdversary creates the critic, its graph, optimizer and random stream.
func (t *Trainer) buildAdversary() error {
	c := t.cfg
	critic, err := models.NewCritic(c.criticSpec(), c.Seed)
	if err != nil {
		return err
	}
	a := &adversary{cfg: c.Adversarial, critic: critic}
	a.pcg = rand.NewPCG(c.Seed, 0x70656e616c7479) // "penalty"
	a.rng = rand.New(a.pcg)
	n, m, dim := c.BatchSize, c.genBatch(), critic.Spec().InDim
	if a.sampler, err = t.gen.NewSampler(m); err != nil {
		return err
	}
	a.z = make([]float32, m*c.Model.LatentDim)

	g := G.NewGraph()
	var x, y *G.Node
	x, a.x = newMatrixInput(g, "x", n, dim)
	y, a.y = newMatrixInput(g, "y", m, dim)
	a.nodes = critic.Nodes(g)
	hx, fx, err := critic.ApplyFeatures(a.nodes, x)
	if err != nil {
		return err
	}
	hy, fy, err := critic.ApplyFeatures(a.nodes, y)
	if err != nil {
		return err
	}
	lcfg, _, err := c.Loss.Losses("loss.")
	if err != nil {
		return err
	}
	if a.loss, err = losses.New(hx, hy, lcfg); err != nil {
		return fmt.Errorf("train: critic loss: %w", err)
	}
	objective, err := G.Neg(a.loss.Node()) // the critic maximizes the loss
	if err != nil {
		return err
	}
	roots := G.Nodes{}
	if a.cfg.Lipschitz == "penalty" && a.cfg.Penalty > 0 {
		pen, err := a.buildPenalty(g, min(n, m), dim)
		if err != nil {
			return fmt.Errorf("train: gradient penalty: %w", err)
		}
		roots = append(roots, G.Read(pen, &a.penalty))
		weighted := G.Must(G.Mul(pen, G.NewConstant(float32(a.cfg.Penalty))))
		objective = G.Must(G.Add(objective, weighted))
	}
	if a.cfg.Autoencoder > 0 {
		ae, err := a.buildAutoencoder(x, y, fx, fy)
		if err != nil {
			return fmt.Errorf("train: autoencoder term: %w", err)
		}
		roots = append(roots, G.Read(ae, &a.ae))
		weighted := G.Must(G.Mul(ae, G.NewConstant(float32(a.cfg.Autoencoder))))
		objective = G.Must(G.Add(objective, weighted))
	}
	grads, err := G.Grad(objective, a.nodes...)
	if err != nil {
		return fmt.Errorf("train: differentiating the critic's objective: %w", err)
	}
	roots = append(append(roots, objective), grads...)
	a.vm = G.NewTapeMachine(g.ExactSubgraphRoots(roots...))
	a.grads = grads
	names, sizes := paramNames(critic.Params())
	a.params = critic.Values()
	a.gradValues = make([]float32, len(a.params))
	a.opt = newOptimizer(a.cfg.Optimizer, "critic-opt/", names, sizes)
	t.adv = a
	return nil
}

// buildPenalty adds the gradient penalty E_i (‖∇ₓ u_iᵀh(x̂_i)‖ − 1)² on r interpolated
// points x̂_i with unit feature directions u_i (inputs filled per step). h is vector
// valued; projecting on a random direction makes the penalty of Gulrajani et al. (2017)
// apply to it: its expectation over u pushes every direction's slope toward 1.
func (a *adversary) buildPenalty(g *G.ExprGraph, r, dim int) (pen *G.Node, err error) {
	defer func() {
		if p := recover(); p != nil { // gorgonia's constructors panic through Must
			pen, err = nil, fmt.Errorf("%v", p)
		}
	}()
	var xHat, u *G.Node
	xHat, a.xHat = newMatrixInput(g, "x_hat", r, dim)
	u, a.u = newMatrixInput(g, "u", r, a.critic.OutDim())
	h, err := a.critic.Apply(a.nodes, xHat)
	if err != nil {
		return nil, err
	}
	proj := G.Must(G.Sum(G.Must(G.HadamardProd(h, u))))
	dx, err := G.Grad(proj, xHat) // row i: ∇ₓ u_iᵀh(x̂_i) (the critic maps rows independently)
	if err != nil {
		return nil, err
	}
	sq := G.Must(G.Sum(G.Must(G.Square(dx[0])), 1))
	norm := G.Must(G.Sqrt(G.Must(G.Add(sq, G.NewConstant(float32(1e-12))))))
	return G.Mean(G.Must(G.Square(G.Must(G.Sub(norm, G.NewConstant(float32(1)))))))
}

// buildAutoencoder adds MMD-GAN's autoencoder term: the mean over data and generated
// points of ‖p − dec(h_φ(p))‖², from the learned features fx, fy of x, y.
func (a *adversary) buildAutoencoder(x, y, fx, fy *G.Node) (ae *G.Node, err error) {
	defer func() {
		if p := recover(); p != nil { // gorgonia's constructors panic through Must
			ae, err = nil, fmt.Errorf("%v", p)
		}
	}()
	sq := func(p, f *G.Node) *G.Node {
		r, err := a.critic.Decode(a.nodes, f)
		if err != nil {
			panic(err)
		}
		return G.Must(G.Sum(G.Must(G.Square(G.Must(G.Sub(r, p))))))
	}
	total := G.Must(G.Add(sq(x, fx), sq(y, fy)))
	count := float32(x.Shape()[0] + y.Shape()[0])
	return G.Div(total, G.NewConstant(count))
}

// fillPenaltyInputs draws x̂_i = s·x_i + (1−s)·y_i with s ~ U(0,1), and u_i uniform on
// the unit sphere of the features.
func (a *adversary) fillPenaltyInputs() {
	r := len(a.u) / a.critic.OutDim()
	dim := len(a.xHat) / r
	for i := 0; i < r; i++ {
		s := float32(a.rng.Float64())
		xi, yi, out := a.x[i*dim:(i+1)*dim], a.y[i*dim:(i+1)*dim], a.xHat[i*dim:(i+1)*dim]
		for j := range out {
			out[j] = s*xi[j] + (1-s)*yi[j]
		}
	}
	k := a.critic.OutDim()
	for i := 0; i < r; i++ {
		row := a.u[i*k : (i+1)*k]
		var sq float64
		for j := range row {
			v := a.rng.NormFloat64()
			row[j], sq = float32(v), sq+v*v
		}
		inv := float32(1 / math.Sqrt(math.Max(sq, 1e-300)))
		for j := range row {
			row[j] *= inv
		}
	}
}

// trainCritic runs the critic updates plan asks for before generator step t.step+1.
func (t *Trainer) trainCritic(plan stepPlan) (criticStats, error) {
	a := t.adv
	var cs criticStats
	if t.sched.hasEps[mainPhase] {
		if err := a.loss.SetEps(plan.criticEps); err != nil {
			return cs, err
		}
	}
	for ; cs.steps < plan.criticSteps; cs.steps++ {
		if err := t.criticUpdate(plan.criticLR, &cs); err != nil {
			return cs, err
		}
	}
	return cs, nil
}

// criticUpdate is one critic update: fresh data and generated batches, forward and
// backward of the critic's graph, optimizer step, Lipschitz control.
func (t *Trainer) criticUpdate(lr float64, cs *criticStats) error {
	a := t.adv
	t.data.Next(a.x)
	models.Latent(t.latentRNG, a.z)
	if _, err := a.sampler.GenerateInto(a.y, a.z); err != nil {
		return err
	}
	if a.xHat != nil {
		a.fillPenaltyInputs()
	}
	where := fmt.Sprintf("critic update %d", cs.steps+1)
	var err error
	cs.norm, err = t.update(a.machine, a.opt, a.params, a.gradValues, lr, a.cfg.Optimizer.ClipNorm, where,
		func(i int) string { return "critic " + a.critic.Params()[i].Name },
		func() error {
			ls := a.loss.Stats()
			cs.loss, cs.penalty, cs.ae = ls.Value, 0, 0
			if a.penalty != nil {
				cs.penalty = float64(a.penalty.Data().(float32))
			}
			if a.ae != nil {
				cs.ae = float64(a.ae.Data().(float32))
			}
			if !finite(cs.loss) || !finite(cs.penalty) || !finite(cs.ae) {
				return t.nonFinite("critic loss", fmt.Sprintf("loss %v, penalty %v, autoencoder %v at ε = %g, %s", cs.loss, cs.penalty, cs.ae, ls.Eps, where), a.loss.Err())
			}
			return nil
		})
	if err != nil {
		return err
	}
	if a.cfg.Lipschitz == "clip" {
		a.critic.Clip(float32(a.cfg.Clip))
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
