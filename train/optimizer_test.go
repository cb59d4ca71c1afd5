package train

import (
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/sinkgen/sinkgen/internal/tensorfile"
)

// Three updates from fixed gradients against torch.optim (PyTorch 1.13, float64):
//
//	p = torch.tensor([0.5, -1.2, 2.0]); for g in grads: p.grad = g; opt.step()
func TestOptimizersMatchPyTorch(t *testing.T) {
	grads := [][]float32{{0.3, -0.1, 0.02}, {0.25, 0.4, -0.05}, {-0.6, 0.1, 0.0}}
	for _, tc := range []struct {
		name string
		cfg  OptimizerConfig
		lr   float64
		want []float64
	}{
		{"adam", OptimizerConfig{Kind: "adam", Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, 0.1,
			[]float64{0.3126643085848965, -1.2130448657066712, 1.97840492183022}},
		{"adam_wd", OptimizerConfig{Kind: "adam", Beta1: 0.5, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.01}, 0.1,
			[]float64{0.35761692491984903, -1.2382549688233901, 1.8953956398338379}},
		{"rmsprop", OptimizerConfig{Kind: "rmsprop", Alpha: 0.99, Eps: 1e-8}, 0.01,
			[]float64{0.4198017378093908, -1.2207317690738848, 1.992912095626783}},
		{"sgd", OptimizerConfig{Kind: "sgd", Momentum: 0.9}, 0.1, []float64{0.43119999999999997, -1.2589, 2.00408}},
		{"sgd_nesterov", OptimizerConfig{Kind: "sgd", Momentum: 0.9, Nesterov: true}, 0.1, []float64{0.44308, -1.2930100000000002, 2.006672}},
		{"sgd_plain", OptimizerConfig{Kind: "sgd"}, 0.1, []float64{0.505, -1.24, 2.003}},
	} {
		p := []float32{0.5, -1.2, 2.0}
		o := newOptimizer(tc.cfg, "opt/", []string{"p"}, []int{3})
		for _, g := range grads {
			o.step(p, g, tc.lr)
		}
		for i := range p {
			if math.Abs(float64(p[i])-tc.want[i]) > 2e-6*math.Max(1, math.Abs(tc.want[i])) {
				t.Errorf("%s: p[%d] = %.9g, PyTorch %.9g", tc.name, i, p[i], tc.want[i])
			}
		}
	}
}

// One update of two parameters held one after another in a flat slice equals the
// updates of each alone, and the checkpoint names each parameter's part of the state:
// restored into a fresh optimizer, it continues identically.
func TestOptimizerFlatState(t *testing.T) {
	grads := [][]float32{{0.3, -0.1, 0.02, 0.7, -0.4}, {0.25, 0.4, -0.05, 0.1, 0.3}}
	for _, cfg := range []OptimizerConfig{
		{Kind: "adam", Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		{Kind: "rmsprop", Alpha: 0.99, Eps: 1e-8},
		{Kind: "sgd", Momentum: 0.9, Nesterov: true},
	} {
		flat := []float32{0.5, -1.2, 2.0, 0.1, -0.3}
		o := newOptimizer(cfg, "opt/", []string{"a", "b"}, []int{2, 3})
		a, b := []float32{0.5, -1.2}, []float32{2.0, 0.1, -0.3}
		oa := newOptimizer(cfg, "opt/", []string{"a"}, []int{2})
		ob := newOptimizer(cfg, "opt/", []string{"b"}, []int{3})
		for _, g := range grads {
			o.step(flat, g, 0.1)
			oa.step(a, g[:2], 0.1)
			ob.step(b, g[2:], 0.1)
		}
		if !slices.Equal(flat, append(slices.Clone(a), b...)) {
			t.Errorf("%s: flat update %v, separate %v %v", cfg.Kind, flat, a, b)
		}
		saved := o.tensors()
		if want := append(oa.tensors(), ob.tensors()...); !reflect.DeepEqual(saved, want) {
			t.Errorf("%s: state tensors %v, separately %v", cfg.Kind, saved, want)
		}
		r := newOptimizer(cfg, "opt/", []string{"a", "b"}, []int{2, 3})
		if err := r.restore(&tensorfile.File{Tensors: saved}, o.t); err != nil {
			t.Fatal(err)
		}
		again := slices.Clone(flat)
		o.step(flat, grads[0], 0.1)
		r.step(again, grads[0], 0.1)
		if !slices.Equal(flat, again) {
			t.Errorf("%s: after restore %v, uninterrupted %v", cfg.Kind, again, flat)
		}
	}
}
