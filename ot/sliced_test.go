package ot

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// TestSlicedPOT compares with POT's sliced_wasserstein_distance and
// max_sliced_wasserstein_distance on the same directions (testdata/gen_unbalanced_sliced.py).
func TestSlicedPOT(t *testing.T) {
	fx := loadFixture(t, "sliced")
	x, y := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y")
	a, b := fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b")
	dirs := fixtureDense(t, fx, "directions")
	cases, _ := fixtureField(t, fx, "cases").([]any)
	if len(cases) == 0 {
		t.Fatal("fixture has no cases")
	}
	for _, c := range cases {
		c := c.(map[string]any)
		p := c["p"].(float64)
		wa, wb := []float64(nil), []float64(nil)
		if c["weighted"].(bool) {
			wa, wb = a, b
		}
		o := &SlicedOptions{Directions: dirs}
		sw, err := SlicedWasserstein(x, y, wa, wb, p, o)
		if err != nil {
			t.Fatal(err)
		}
		mx, err := MaxSlicedWasserstein(x, y, wa, wb, p, o)
		if err != nil {
			t.Fatal(err)
		}
		want, wantMax := c["sw"].(float64), c["max_sw"].(float64)
		if math.Abs(sw.Value-want) > 1e-10*want || math.Abs(mx.Value-wantMax) > 1e-10*wantMax {
			t.Errorf("p=%g weighted=%v: SW %.15g max %.15g, POT %.15g %.15g", p, c["weighted"], sw.Value, mx.Value, want, wantMax)
		}
	}
}

// TestSlicedExact1D: on the line, with the directions ±1, SW_p is W_p.
func TestSlicedExact1D(t *testing.T) {
	rng := newTestRand(8)
	x, y := randCloud(rng, 11, 1, 0), randCloud(rng, 7, 1, 0.7)
	a, b := randWeights(rng, 11), randWeights(rng, 7)
	for _, p := range []float64{1, 1.5, 2, 3} {
		w, err := Exact1D(x.RawMatrix().Data, y.RawMatrix().Data, a, b, p)
		if err != nil {
			t.Fatal(err)
		}
		want := math.Pow(w, 1/p)
		// Random directions in 1-D are ±1.
		for _, o := range []*SlicedOptions{{Directions: mat.NewDense(2, 1, []float64{1, -1})}, {Projections: 5, Seed: 3}} {
			sw, err := SlicedWasserstein(x, y, a, b, p, o)
			if err != nil {
				t.Fatal(err)
			}
			mx, err := MaxSlicedWasserstein(x, y, a, b, p, o)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(sw.Value-want) > 1e-12*want || math.Abs(mx.Value-want) > 1e-12*want {
				t.Errorf("p=%g: SW %.15g, max %.15g, W_p %.15g", p, sw.Value, mx.Value, want)
			}
		}
	}
}

// TestSlicedGradientsFD checks the gradients of SW_p and max-SW_p against central
// differences, with weights and without.
func TestSlicedGradientsFD(t *testing.T) {
	rng := newTestRand(9)
	x, y := randCloud(rng, 7, 3, 0), randCloud(rng, 5, 3, 0.4)
	a, b := randWeights(rng, 7), randWeights(rng, 5)
	for _, p := range []float64{1, 2, 3} {
		for _, weighted := range []bool{false, true} {
			wa, wb := []float64(nil), []float64(nil)
			if weighted {
				wa, wb = a, b
			}
			for _, f := range []struct {
				name string
				fn   func(x, y *mat.Dense, a, b []float64, p float64, opts *SlicedOptions) (*SlicedResult, error)
			}{{"SW", SlicedWasserstein}, {"max-SW", MaxSlicedWasserstein}} {
				o := &SlicedOptions{Projections: 12, Seed: 4}
				value := func() float64 {
					r, err := f.fn(x, y, wa, wb, p, o)
					if err != nil {
						t.Fatal(err)
					}
					return r.Value
				}
				r, err := f.fn(x, y, wa, wb, p, &SlicedOptions{Projections: 12, Seed: 4, Grad: true})
				if err != nil {
					t.Fatal(err)
				}
				if r.Value != value() {
					t.Fatalf("%s: the value depends on Grad", f.name)
				}
				name := fmt.Sprintf("%s p=%g weighted=%v ", f.name, p, weighted)
				fdCheck(t, name+"x", x.RawMatrix().Data, r.Grad.X.RawMatrix().Data, value)
				fdCheck(t, name+"y", y.RawMatrix().Data, r.Grad.Y.RawMatrix().Data, value)
			}
		}
	}
}

// TestSlicedDirections: the seeded directions are unit vectors, reproducible, and
// differ between seeds; the value of equal clouds is 0 with a zero gradient.
func TestSlicedDirections(t *testing.T) {
	rng := newTestRand(10)
	x, y := randCloud(rng, 6, 4, 0), randCloud(rng, 6, 4, 1)
	r1, err := SlicedWasserstein(x, y, nil, nil, 2, &SlicedOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if k, d := r1.Directions.Dims(); k != DefaultProjections || d != 4 {
		t.Fatalf("directions %d×%d", k, d)
	}
	for i := 0; i < DefaultProjections; i++ {
		if n := floats.Norm(r1.Directions.RawRowView(i), 2); math.Abs(n-1) > 1e-15 {
			t.Errorf("direction %d has norm %v", i, n)
		}
	}
	r2, _ := SlicedWasserstein(x, y, nil, nil, 2, &SlicedOptions{Seed: 1})
	r3, _ := SlicedWasserstein(x, y, nil, nil, 2, &SlicedOptions{Seed: 2})
	if r1.Value != r2.Value || mat.Equal(r1.Directions, r3.Directions) {
		t.Errorf("seeds: same %v %v, different directions equal", r1.Value, r2.Value)
	}
	z, err := SlicedWasserstein(x, x, nil, nil, 2, &SlicedOptions{Grad: true})
	if err != nil {
		t.Fatal(err)
	}
	if z.Value != 0 || mat.Norm(z.Grad.X, 1) != 0 {
		t.Errorf("SW(α,α) = %v, gradient norm %v", z.Value, mat.Norm(z.Grad.X, 1))
	}
}

func TestSlicedInvalid(t *testing.T) {
	rng := newTestRand(11)
	x, y := randCloud(rng, 4, 2, 0), randCloud(rng, 3, 2, 0)
	for _, tc := range []struct {
		name string
		p    float64
		o    *SlicedOptions
		y    *mat.Dense
	}{
		{"p < 1", 0.5, nil, y},
		{"p NaN", math.NaN(), nil, y},
		{"p Inf", math.Inf(1), nil, y},
		{"negative projections", 2, &SlicedOptions{Projections: -1}, y},
		{"directions of the wrong dimension", 2, &SlicedOptions{Directions: mat.NewDense(2, 3, nil)}, y},
		{"NaN direction", 2, &SlicedOptions{Directions: mat.NewDense(1, 2, []float64{math.NaN(), 1})}, y},
		{"points of different dimensions", 2, nil, randCloud(rng, 3, 3, 0)},
		{"too many projections", 2, &SlicedOptions{Projections: 1 << 40}, y},
	} {
		if _, err := SlicedWasserstein(x, tc.y, nil, nil, tc.p, tc.o); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	if _, err := SlicedWasserstein(x, y, []float64{1, 1, 1, 1}, nil, 2, nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("weights summing to 4: err = %v", err)
	}
	big := mat.NewDense(1, 2, []float64{1e300, 1e300})
	ones := mat.NewDense(1, 2, []float64{1e10, 1e10})
	if _, err := SlicedWasserstein(ones, y, nil, nil, 2, &SlicedOptions{Directions: big}); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("overflowing directions: err = %v", err)
	}
}
