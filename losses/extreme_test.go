package losses

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// Issue 13, item 6, on the paths training takes: at a large finite ε the Sinkhorn
// losses equal their ε → ∞ limits for ½|x−y|², ½|Δmean|² for the divergence and
// |Δmean|² for the primal form (at ε = 1e12 the divergence used to lose everything to
// cancellation), float64 and float32 alike; at ε below the float64 resolution of the
// costs the value is NaN, which the training loop stops on, and Evaluate's error says
// why.
func TestLossesAtExtremeEps(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	x, y := mat.NewDense(30, 4, randMatrix(rng, 30, 4, 1)), mat.NewDense(25, 4, randMatrix(rng, 25, 4, 1))
	// round to float32 first, so that both paths see the same points
	x32, y32 := points32(x), points32(y)
	x, y = x32.Dense(), y32.Dense()
	dm := 0.0
	for k := 0; k < 4; k++ {
		d := mat.Sum(x.ColView(k))/30 - mat.Sum(y.ColView(k))/25
		dm += d * d
	}
	for _, kind := range []Kind{Divergence, Primal} {
		want := dm / 2
		if kind == Primal {
			want = dm
		}
		for _, eps := range []float64{1e10, 1e12, 1e16, 1e20, 1e300} { // S_ε − S_∞ = O(1/ε)
			cfg, err := Config{Kind: kind, Eps: eps, Iters: 10}.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			v, _, _, _, err := Evaluate(x, y, cfg, WantNone)
			if err != nil {
				t.Fatal(err)
			}
			ev32, err := evaluate(cfg, x32, y32)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%s ε=%g", kind, eps)
			if e := math.Abs(v-want) / want; e > 1e-8 {
				t.Errorf("%s: %.15g, limit %.15g (rel %.2g)", name, v, want, e)
			}
			// float32 rounding of x·yᵀ in the costs
			if e := math.Abs(ev32.stats.Value-want) / want; e > 1e-5 {
				t.Errorf("%s float32: %.15g, limit %.15g (rel %.2g)", name, ev32.stats.Value, want, e)
			}
		}
	}
	cfg, err := Config{Eps: 1e-300, Iters: 10}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _, _, err := Evaluate(x, y, cfg, WantGenerated); !errors.Is(err, ot.ErrOutOfRange) || !math.IsNaN(v) {
		t.Errorf("ε = 1e-300: %v, %v; want NaN and an ot.ErrOutOfRange", v, err)
	}
	ev32, err := evaluate(cfg, x32, y32)
	if err != nil || !math.IsNaN(ev32.stats.Value) {
		t.Fatalf("float32 at ε = 1e-300: %v, %v; want a NaN loss", ev32, err)
	}
	for _, v := range ev32.gradient32(1) {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("float32 at ε = 1e-300: gradient entry %v, want NaN", v)
		}
	}
}

func points32(x *mat.Dense) ot.Points {
	r, c := x.Dims()
	p := make([]float32, r*c)
	for i, v := range x.RawMatrix().Data {
		p[i] = float32(v)
	}
	return ot.FromFloat32(r, c, p)
}

// Issue 13, item 8: eps_scaling with eps_start = 0 anneals from the batch's largest
// cost, as Config, configs/README.md and the doc comments say (it ran a constant ε):
// the entropic loss equals the one annealed from that cost given explicitly, and
// differs from the unannealed one; float64 and float32 alike.
func TestEpsScalingStartsAtTheLargestCost(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	x, y := mat.NewDense(20, 3, randMatrix(rng, 20, 3, 1)), mat.NewDense(16, 3, randMatrix(rng, 16, 3, 1))
	x32, y32 := points32(x), points32(y)
	x, y = x32.Dense(), y32.Dense()
	maxC := 0.0 // the largest ½|x_i − y_j|²
	for i := 0; i < 20; i++ {
		for j := 0; j < 16; j++ {
			d := 0.0
			for k := 0; k < 3; k++ {
				d += (x.At(i, k) - y.At(j, k)) * (x.At(i, k) - y.At(j, k))
			}
			maxC = math.Max(maxC, d/2)
		}
	}
	value := func(cfg Config, f32 bool) float64 {
		t.Helper()
		cfg, err := cfg.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		var ev *evaluation
		if f32 {
			ev, err = evaluate(cfg, x32, y32)
		} else {
			ev, err = evaluate(cfg, ot.FromDense(x), ot.FromDense(y))
		}
		if err != nil {
			t.Fatal(err)
		}
		return ev.stats.Value
	}
	for _, f32 := range []bool{false, true} {
		base := Config{Kind: Entropic, Eps: 0.05, Iters: 30}
		scaled := base
		scaled.EpsScaling = 0.5
		explicit := scaled
		explicit.EpsStart = maxC
		v0, v, want := value(base, f32), value(scaled, f32), value(explicit, f32)
		tol := 1e-13
		if f32 {
			tol = 1e-6 // the float32 costs' largest entry differs from maxC in its 7th digit
		}
		if math.Abs(v-want) > tol*math.Abs(want) {
			t.Errorf("float32 %v: eps_start 0 gives %.15g, eps_start = largest cost %g gives %.15g", f32, v, maxC, want)
		}
		if math.Abs(v-v0) < 1e-6*math.Abs(v0) {
			t.Errorf("float32 %v: eps_scaling 0.5 from the largest cost changed nothing (%.15g, unannealed %.15g)", f32, v, v0)
		}
		div := Config{Eps: 0.05, Iters: 30}
		divScaled := div
		divScaled.EpsScaling = 0.5
		if a, b := value(div, f32), value(divScaled, f32); math.Abs(a-b) < 1e-6*math.Abs(a) {
			t.Errorf("float32 %v: the annealed divergence %.15g equals the unannealed one %.15g", f32, b, a)
		}
	}
}
