package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/sinkgen/sinkgen/internal/parallel"
	"github.com/sinkgen/sinkgen/internal/tensorfile"
)

// optimizer updates parameters in place from their gradients. Its state (moment
// estimates, step count) is float32 tensors plus the step count, saved in checkpoints.
//
// gorgonia's solvers (AdamSolver, RMSPropSolver, MomentumSolver) keep their moment
// estimates in unexported fields keyed by node, so their state cannot be saved and
// restored for an exact resume; these are small, match PyTorch's update rules
// (torch.optim.Adam, RMSprop, SGD), and expose their state.
//
// The parameters, gradients and each state are one flat slice each (the parameters
// one after another, as models.Generator.Values holds them): one loop updates them all.
type optimizer struct {
	cfg    OptimizerConfig
	t      int64       // updates done
	state  [][]float32 // flat, per kind: Adam m then v; RMSProp v; SGD momentum buffer
	names  []string    // of the parameters, in order
	sizes  []int       // their numbers of values
	prefix string      // of the state's tensor names in checkpoints
}

func newOptimizer(cfg OptimizerConfig, prefix string, names []string, sizes []int) *optimizer {
	o := &optimizer{cfg: cfg, names: names, sizes: sizes, prefix: prefix}
	per := 0
	switch cfg.Kind {
	case "adam":
		per = 2
	case "rmsprop":
		per = 1
	case "sgd":
		if cfg.Momentum > 0 {
			per = 1
		}
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	for range per {
		o.state = append(o.state, make([]float32, total))
	}
	return o
}

// step applies one update with learning rate lr to params from grads (flat, of the
// same length). The values are split between goroutines in blocks (each element's
// arithmetic is the same whatever the split).
func (o *optimizer) step(params, grads []float32, lr float64) {
	o.t++
	c := o.cfg
	bc1 := 1 - math.Pow(c.Beta1, float64(o.t))
	bc2 := 1 - math.Pow(c.Beta2, float64(o.t))
	// Split from 2^15 values on (2·2^15 = parallel.MinWork).
	parallel.For(len(params), 2, func(_, lo, hi int) {
		o.update(params[lo:hi], grads[lo:hi:hi], lo, hi, lr, bc1, bc2)
	})
}

// update applies the rule to the values lo…hi−1, p and g, in float32 as torch.optim
// does.
func (o *optimizer) update(p, g []float32, lo, hi int, lr, bc1, bc2 float64) {
	c := o.cfg
	wd := float32(c.WeightDecay)
	g = g[:len(p)]
	switch c.Kind {
	case "adam":
		// p −= lr/bc1 · m / (√(v/bc2) + eps), as lr·√bc2/bc1 · m / (√v + eps·√bc2)
		m, v := o.state[0][lo:hi:hi], o.state[1][lo:hi:hi]
		m, v = m[:len(p)], v[:len(p)]
		b1, b2 := float32(c.Beta1), float32(c.Beta2)
		a1, a2 := float32(1-c.Beta1), float32(1-c.Beta2)
		step := float32(lr * math.Sqrt(bc2) / bc1)
		eps := float32(c.Eps * math.Sqrt(bc2))
		for j := range p {
			gj := g[j] + wd*p[j]
			mj := b1*m[j] + a1*gj
			vj := b2*v[j] + a2*gj*gj
			m[j], v[j] = mj, vj
			p[j] -= step * mj / (float32(math.Sqrt(float64(vj))) + eps)
		}
	case "rmsprop":
		v := o.state[0][lo:hi:hi]
		v = v[:len(p)]
		alpha, a := float32(c.Alpha), float32(1-c.Alpha)
		eps, step := float32(c.Eps), float32(lr)
		for j := range p {
			gj := g[j] + wd*p[j]
			vj := alpha*v[j] + a*gj*gj
			v[j] = vj
			p[j] -= step * gj / (float32(math.Sqrt(float64(vj))) + eps)
		}
	case "sgd":
		var buf []float32
		if len(o.state) == 1 {
			buf = o.state[0][lo:hi:hi]
		}
		mom, step := float32(c.Momentum), float32(lr)
		for j := range p {
			gj := g[j] + wd*p[j]
			d := gj
			if buf != nil {
				b := gj
				if o.t > 1 {
					b = mom*buf[j] + gj
				}
				buf[j] = b
				d = b
				if c.Nesterov {
					d = gj + mom*b
				}
			}
			p[j] -= step * d
		}
	}
}

// lrAt returns the learning rate of step (0-based) of steps: linear warm-up, then the
// decay from LR to LRFinal.
func (c OptimizerConfig) lrAt(step, steps int) float64 {
	if step < c.Warmup {
		return c.LR * float64(step+1) / float64(c.Warmup+1)
	}
	return decay(c.Decay, c.LR, c.LRFinal, step-c.Warmup, steps-c.Warmup)
}

// decay is step i (0-based) of an n-step decay from lr0 to lr1 at its last step:
// "linear", "cosine" or "none" (lr0 throughout).
func decay(kind string, lr0, lr1 float64, i, n int) float64 {
	if kind == "none" || n <= 1 || lr0 == lr1 {
		return lr0
	}
	t := math.Min(math.Max(float64(i)/float64(n-1), 0), 1)
	w := t
	if kind == "cosine" {
		w = (1 - math.Cos(math.Pi*t)) / 2
	}
	return (1-w)*lr0 + w*lr1
}

// runLength records a run's number of steps from a step on: a run starts as {0,
// steps}, and a resume from the checkpoint of step s with another steps = N appends
// {s, N}.
type runLength struct {
	From  int `json:"from"`
	Steps int `json:"steps"`
}

// lrRun returns the learning rate of run step step (0-based) of a schedule that
// starts at run step off and ends with the run, whose lengths are lengths: lrAt over
// the first length, and after each change of length the decay continues from the
// rate it had reached (at the change, or at the end of the warm-up if later) to
// LRFinal at the new last step. The rate is thus continuous at a resume that extends
// or shortens the run, as if the remaining decay were scheduled anew from there.
func (c OptimizerConfig) lrRun(step, off int, lengths []runLength) float64 {
	// length i governs from step from(i) to end(i), where the next takes over
	from := func(i int) int { return max(lengths[i].From, off+c.Warmup) }
	last := 0 // the length in force at step
	for last+1 < len(lengths) && from(last+1) <= step {
		last++
	}
	end := func(i int) int {
		if i == last {
			return step
		}
		return from(i + 1)
	}
	lr := c.lrAt(end(0)-off, lengths[0].Steps-off)
	for i := 1; i <= last; i++ {
		lr = decay(c.Decay, lr, c.LRFinal, end(i)-from(i), lengths[i].Steps-from(i))
	}
	return lr
}

// tensors returns the optimizer state for a checkpoint: per parameter, its range of
// each state (a copy).
func (o *optimizer) tensors() []tensorfile.Tensor {
	suffix := [][]string{{}, {"v"}, {"m", "v"}}[len(o.state)]
	if o.cfg.Kind == "sgd" {
		suffix = []string{"momentum"}
	}
	var out []tensorfile.Tensor
	off := 0
	for i, n := range o.names {
		size := o.sizes[i]
		for k, s := range o.state {
			out = append(out, tensorfile.Tensor{Name: o.prefix + n + "/" + suffix[k], Shape: []int{size}, Data: slices.Clone(s[off : off+size])})
		}
		off += size
	}
	return out
}

// restore loads the state written by tensors.
func (o *optimizer) restore(f *tensorfile.File, t int64) error {
	if t < 0 {
		return fmt.Errorf("optimizer step count %d", t)
	}
	saved := o.tensors()
	for _, want := range saved {
		got := f.Tensor(want.Name)
		if got == nil {
			return fmt.Errorf("optimizer state %s missing", want.Name)
		}
		if len(got.Data) != len(want.Data) {
			return fmt.Errorf("optimizer state %s has %d values, want %d", want.Name, len(got.Data), len(want.Data))
		}
		for i, v := range got.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("optimizer state %s[%d] is %v", want.Name, i, v)
			}
		}
	}
	off, per := 0, len(o.state)
	for k, want := range saved { // all checked: copy
		copy(o.state[k%per][off:], f.Tensor(want.Name).Data)
		if k%per == per-1 {
			off += len(want.Data)
		}
	}
	o.t = t
	return nil
}
