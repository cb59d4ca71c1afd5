package losses

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// backward = "implicit" in a graph behind an MLP, at L large enough to converge:
// gorgonia's Grad through the Ops matches central finite differences of the graph's
// converged value (to 1e-6) and the unrolled gradient (to 1e-8); for the primal kind
// the envelope gradient is off, which is what the implicit mode is for.
func TestImplicitBackwardInGraph(t *testing.T) {
	const n, m, k, h, d = 9, 7, 3, 5, 4
	rng := rand.New(rand.NewPCG(19, 2))
	z, w1, w2 := randMatrix(rng, m, k, 1), randMatrix(rng, k, h, 0.7), randMatrix(rng, h, d, 0.7)
	data := randMatrix(rng, n, d, 1)
	grads := func(cfg Config) [][]float64 {
		ml := buildMLP(t, tensor.Float64, cfg, z, w1, w2, data, n, m, k, h, d)
		ml.run(t)
		if st := ml.loss.Stats(); st.MarginalError > 1e-12 {
			t.Fatalf("%s: not converged (%g)", cfg.Kind, st.MarginalError)
		}
		return [][]float64{gradOf(t, ml.w1), gradOf(t, ml.w2)}
	}
	for _, kind := range []Kind{Divergence, Primal, Entropic} {
		cfg := Config{Kind: kind, Eps: 1, Iters: 2000, Backward: Implicit}
		gi := grads(cfg)
		cfg.Backward = Unrolled
		gu := grads(cfg)
		cfg.Backward = Envelope
		ge := grads(cfg)
		cfg.Backward = Implicit
		envelopeOff := 0.0
		for wi, w := range [][]float64{w1, w2} {
			for i := range w {
				const step = 1e-6
				orig := w[i]
				value := func(v float64) float64 {
					w[i] = v
					defer func() { w[i] = orig }()
					return buildMLP(t, tensor.Float64, cfg, z, w1, w2, data, n, m, k, h, d).run(t)
				}
				fd := (value(orig+step) - value(orig-step)) / (2 * step)
				if diff := math.Abs(fd - gi[wi][i]); diff > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Errorf("%s: ∂/∂w%d[%d] = %.10g, finite difference %.10g", kind, wi+1, i, gi[wi][i], fd)
				}
				if diff := math.Abs(gu[wi][i] - gi[wi][i]); diff > 1e-8*math.Max(1, math.Abs(fd)) {
					t.Errorf("%s: ∂/∂w%d[%d] = %.12g, unrolled %.12g", kind, wi+1, i, gi[wi][i], gu[wi][i])
				}
				envelopeOff = math.Max(envelopeOff, math.Abs(ge[wi][i]-gi[wi][i]))
			}
		}
		if (kind == Primal) != (envelopeOff > 1e-4) {
			t.Errorf("%s: the envelope gradient is off by %g", kind, envelopeOff)
		}
	}
}

// implicit applies to the Sinkhorn kinds; the unbalanced kind has the envelope only.
func TestImplicitConfig(t *testing.T) {
	if err := (Config{Kind: Primal, Eps: 1, Backward: Implicit}).Validate(); err != nil {
		t.Error(err)
	}
	err := Config{Kind: Unbalanced, Eps: 1, Rho: 1, Backward: Implicit}.Validate()
	if fe, ok := err.(*FieldError); !ok || fe.Key != "backward" {
		t.Errorf("unbalanced, implicit: %v", err)
	}
}
