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
	x, y = pointsDense(x32), pointsDense(y32)
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
			ev32, err := evaluate32(cfg, x32, y32)
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
	ev32, err := evaluate32(cfg, x32, y32)
	if err != nil || !math.IsNaN(ev32.stats.Value) {
		t.Fatalf("float32 at ε = 1e-300: %v, %v; want a NaN loss", ev32, err)
	}
	for _, v := range ev32.gradient32(1) {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("float32 at ε = 1e-300: gradient entry %v, want NaN", v)
		}
	}
}

func points32(x *mat.Dense) ot.Points32 {
	r, c := x.Dims()
	p := ot.Points32{Rows: r, Cols: c, Data: make([]float32, r*c)}
	for i, v := range x.RawMatrix().Data {
		p.Data[i] = float32(v)
	}
	return p
}
