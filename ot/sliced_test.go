package ot

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/fastblas"
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
	// check compares SW and max-SW of x, y on the fixture's directions with case c's.
	check := func(x, y *mat.Dense, wa, wb []float64, c map[string]any, label string) {
		t.Helper()
		o := &SlicedOptions{Directions: dirs}
		p := c["p"].(float64)
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
			t.Errorf("%s: SW %.15g max %.15g, POT %.15g %.15g", label, sw.Value, mx.Value, want, wantMax)
		}
	}
	for _, c := range cases {
		c := c.(map[string]any)
		p := c["p"].(float64)
		wa, wb := []float64(nil), []float64(nil)
		if c["weighted"].(bool) {
			wa, wb = a, b
		}
		check(x, y, wa, wb, c, fmt.Sprintf("p=%g weighted=%v", p, c["weighted"]))
	}
	// Clouds of one size with uniform weights, where the sorted projections pair up
	// one to one.
	xe, ye := fixtureDense(t, fx, "x_eq"), fixtureDense(t, fx, "y_eq")
	cases, _ = fixtureField(t, fx, "eq_cases").([]any)
	if len(cases) == 0 {
		t.Fatal("fixture has no eq_cases")
	}
	for _, c := range cases {
		c := c.(map[string]any)
		check(xe, ye, nil, nil, c, fmt.Sprintf("p=%g equal sizes", c["p"].(float64)))
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
	// Clouds of one size, uniform: the sorted projections pair up one to one.
	xe, ye := randCloud(rng, 6, 3, 0), randCloud(rng, 6, 3, 0.4)
	for _, p := range []float64{1, 2, 3} {
		for _, c := range []struct {
			name   string
			x, y   *mat.Dense
			wa, wb []float64
		}{{"uniform", x, y, nil, nil}, {"weighted", x, y, a, b}, {"one size", xe, ye, nil, nil}} {
			for _, f := range []struct {
				name string
				fn   func(x, y *mat.Dense, a, b []float64, p float64, opts *SlicedOptions) (*SlicedResult, error)
			}{{"SW", SlicedWasserstein}, {"max-SW", MaxSlicedWasserstein}} {
				o := &SlicedOptions{Projections: 12, Seed: 4}
				value := func() float64 {
					r, err := f.fn(c.x, c.y, c.wa, c.wb, p, o)
					if err != nil {
						t.Fatal(err)
					}
					return r.Value
				}
				r, err := f.fn(c.x, c.y, c.wa, c.wb, p, &SlicedOptions{Projections: 12, Seed: 4, Grad: true})
				if err != nil {
					t.Fatal(err)
				}
				if r.Value != value() {
					t.Fatalf("%s: the value depends on Grad", f.name)
				}
				name := fmt.Sprintf("%s p=%g %s ", f.name, p, c.name)
				fdCheck(t, name+"x", c.x.RawMatrix().Data, r.Grad.X.RawMatrix().Data, value)
				fdCheck(t, name+"y", c.y.RawMatrix().Data, r.Grad.Y.RawMatrix().Data, value)
			}
		}
	}
}

// TestSlicedDirections: the seeded directions are unit vectors, reproducible, differ
// between seeds, and stay the first ones when more are asked for; the value of equal
// clouds is 0 with a zero gradient.
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
	more, _ := SlicedWasserstein(x, y, nil, nil, 2, &SlicedOptions{Seed: 1, Projections: DefaultProjections + 7})
	if !mat.Equal(r1.Directions, more.Directions.Slice(0, DefaultProjections, 0, 4)) {
		t.Error("more projections changed the first directions")
	}
	z, err := SlicedWasserstein(x, x, nil, nil, 2, &SlicedOptions{Grad: true})
	if err != nil {
		t.Fatal(err)
	}
	if z.Value != 0 || mat.Norm(z.Grad.X, 1) != 0 {
		t.Errorf("SW(α,α) = %v, gradient norm %v", z.Value, mat.Norm(z.Grad.X, 1))
	}
}

// TestSlicedDirectionsUniform: the directions of one seed, each drawn from a stream of
// its own, look uniform on the sphere and independent of one another: their mean is 0
// and their second moment I/d within 5 standard errors, and so is the mean of the
// products of neighbours' coordinates (1 with streams that repeat).
func TestSlicedDirectionsUniform(t *testing.T) {
	const k, d = 4000, 3
	x := mat.NewDense(1, d, nil)
	r, err := SlicedWasserstein(x, x, nil, nil, 2, &SlicedOptions{Projections: k, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var mean [d]float64
	var second, next [d][d]float64
	for i := 0; i < k; i++ {
		u, v := r.Directions.RawRowView(i), r.Directions.RawRowView((i+1)%k)
		for a := range d {
			mean[a] += u[a] / k
			for b := range d {
				second[a][b] += u[a] * u[b] / k
				next[a][b] += u[a] * v[b] / k
			}
		}
	}
	// Per coordinate u_a has variance 1/d; u_a·u_b (a ≠ b) and u_a·v_b have variance
	// 1/d², u_a² about 2/d² (less on the sphere).
	se := 5 / math.Sqrt(k)
	for a := range d {
		if math.Abs(mean[a]) > se/math.Sqrt(d) {
			t.Errorf("mean[%d] = %v", a, mean[a])
		}
		for b := range d {
			want := 0.0
			if a == b {
				want = 1.0 / d
			}
			if math.Abs(second[a][b]-want) > se*math.Sqrt2/d {
				t.Errorf("E[θθᵀ][%d][%d] = %v, want %v", a, b, second[a][b], want)
			}
			if math.Abs(next[a][b]) > se/d {
				t.Errorf("E[θ_t θ_{t+1}ᵀ][%d][%d] = %v, want 0", a, b, next[a][b])
			}
		}
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
	// In float32 the projections overflow sooner (and 1e300 is +Inf).
	ones32, _ := to32(ones)
	y32, _ := to32(y)
	for _, v := range []float64{1e300, 1e30} {
		dirs := mat.NewDense(1, 2, []float64{v, v})
		if _, err := SlicedWassersteinPoints(ones32, y32, nil, nil, 2, &SlicedOptions{Directions: dirs}); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("float32 projections on %g: err = %v", v, err)
		}
	}
}

// to32 rounds a cloud to float32: the float32 Points and the float64 matrix of the
// same values.
func to32(x *mat.Dense) (Points, *mat.Dense) {
	r, c := x.Dims()
	data := make([]float32, r*c)
	for i, v := range x.RawMatrix().Data {
		data[i] = float32(v)
	}
	p := FromFloat32(r, c, data)
	return p, p.Dense()
}

// TestSlicedFloat32 compares the float32 path (projections and gradient products in
// float32) with the float64 one on the same float32 values: the value to 1e-5 and the
// gradients to 1e-4 relative to their largest entry (float32 rounding of the
// projections, about 1e-7·|θ||x| each, through W_p^p's differences), for both sides,
// through Backward into float32 destinations.
func TestSlicedFloat32(t *testing.T) {
	rng := newTestRand(12)
	x32, x := to32(randCloud(rng, 40, 30, 0))
	y32, y := to32(randCloud(rng, 33, 30, 0.5))
	a, b := randWeights(rng, 40), randWeights(rng, 33)
	for _, p := range []float64{1, 2, 3} {
		o := &SlicedOptions{Projections: 64, Seed: 5, Grad: true}
		want, err := SlicedWasserstein(x, y, a, b, p, o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SlicedWassersteinPoints(x32, y32, a, b, p, &SlicedOptions{Projections: 64, Seed: 5, Record: true})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.Value-want.Value) > 1e-5*want.Value {
			t.Errorf("p=%g: float32 %.10g, float64 %.10g", p, got.Value, want.Value)
		}
		if got.Grad != nil {
			t.Error("Record alone filled Grad")
		}
		gx, gy := make([]float32, 40*30), make([]float32, 33*30)
		if err := got.Backward(1, FromFloat32(40, 30, gx), FromFloat32(33, 30, gy)); err != nil {
			t.Fatal(err)
		}
		for _, s := range []struct {
			name string
			got  []float32
			want *mat.Dense
		}{{"x", gx, want.Grad.X}, {"y", gy, want.Grad.Y}} {
			w := s.want.RawMatrix().Data
			scale := floats.Norm(w, math.Inf(1))
			for i, v := range s.got {
				if math.Abs(float64(v)-w[i]) > 1e-4*scale {
					t.Fatalf("p=%g ∂%s[%d]: float32 %g, float64 %g", p, s.name, i, v, w[i])
				}
			}
		}
	}
}

// TestSlicedPaths: on every fastblas path, at a size whose products run on its
// kernels, the float32 path stays within TestSlicedFloat32's bounds of the float64 one
// on the same values (uniform clouds of one size, each side's gradient), and the
// float64 path within 1e-12 of the float64 path of the fastest kernels (the products
// sum in another order).
func TestSlicedPaths(t *testing.T) {
	old, _ := fastblas.Active()
	defer fastblas.SetPath(old)
	rng := newTestRand(17)
	x32, x := to32(randCloud(rng, 150, 100, 0))
	y32, y := to32(randCloud(rng, 150, 100, 0.5))
	o := &SlicedOptions{Projections: 128, Seed: 9, Grad: true}
	ref, err := SlicedWasserstein(x, y, nil, nil, 2, o)
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want []float64, tol float64) {
		t.Helper()
		scale := floats.Norm(want, math.Inf(1))
		for i, v := range got {
			if math.Abs(v-want[i]) > tol*scale {
				t.Fatalf("%s[%d]: %g, want %g", name, i, v, want[i])
			}
		}
	}
	for _, path := range fastblas.Paths() {
		fastblas.SetPath(path)
		r64, err := SlicedWasserstein(x, y, nil, nil, 2, o)
		if err != nil {
			t.Fatal(err)
		}
		r32, err := SlicedWassersteinPoints(x32, y32, nil, nil, 2, &SlicedOptions{Projections: 128, Seed: 9, Record: true})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r64.Value-ref.Value) > 1e-12*ref.Value || math.Abs(r32.Value-ref.Value) > 1e-5*ref.Value {
			t.Errorf("%v: float64 %.15g, float32 %.15g, want %.15g", path, r64.Value, r32.Value, ref.Value)
		}
		near(fmt.Sprintf("%v float64 ∂x", path), r64.Grad.X.RawMatrix().Data, ref.Grad.X.RawMatrix().Data, 1e-12)
		near(fmt.Sprintf("%v float64 ∂y", path), r64.Grad.Y.RawMatrix().Data, ref.Grad.Y.RawMatrix().Data, 1e-12)
		gx, gy := make([]float32, 150*100), make([]float32, 150*100)
		if err := r32.Backward(1, FromFloat32(150, 100, gx), FromFloat32(150, 100, gy)); err != nil {
			t.Fatal(err)
		}
		for _, s := range []struct {
			name string
			got  []float32
			want *mat.Dense
		}{{"∂x", gx, ref.Grad.X}, {"∂y", gy, ref.Grad.Y}} {
			g := make([]float64, len(s.got))
			for i, v := range s.got {
				g[i] = float64(v)
			}
			near(fmt.Sprintf("%v float32 %s", path, s.name), g, s.want.RawMatrix().Data, 1e-4)
		}
	}
}

// TestSlicedBackward: Backward adds seed times Grad into either side alone, in
// float64, and refuses without a record or with a destination of the wrong shape.
func TestSlicedBackward(t *testing.T) {
	rng := newTestRand(13)
	x, y := randCloud(rng, 9, 4, 0), randCloud(rng, 7, 4, 0.3)
	r, err := SlicedWasserstein(x, y, nil, nil, 2, &SlicedOptions{Projections: 10, Grad: true})
	if err != nil {
		t.Fatal(err)
	}
	gy := mat.NewDense(7, 4, nil)
	gy.Apply(func(i, j int, _ float64) float64 { return float64(i - j) }, gy)
	start := mat.DenseCopyOf(gy)
	if err := r.Backward(-2.5, Points{}, FromDense(gy)); err != nil {
		t.Fatal(err)
	}
	want := mat.NewDense(7, 4, nil)
	want.Scale(-2.5, r.Grad.Y)
	want.Add(want, start)
	if !mat.EqualApprox(gy, want, 1e-14) {
		t.Errorf("Backward into y: %v, want %v", mat.Formatted(gy), mat.Formatted(want))
	}
	if err := r.Backward(1, FromDense(mat.NewDense(9, 3, nil)), Points{}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("wrong shape: err = %v", err)
	}
	plain, _ := SlicedWasserstein(x, y, nil, nil, 2, &SlicedOptions{Projections: 10})
	if err := plain.Backward(1, FromDense(mat.NewDense(9, 4, nil)), Points{}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("no record: err = %v", err)
	}
}

// TestSlicedThreads: the value and the gradients, float64 and float32, are the same
// bits with one thread and with two, on a problem large enough to split the products
// and the directions, both their drawing and their sorting (128 of them).
func TestSlicedThreads(t *testing.T) {
	rng := newTestRand(14)
	x, y := randCloud(rng, 200, 100, 0), randCloud(rng, 190, 100, 0.2)
	x32, _ := to32(x)
	y32, _ := to32(y)
	run := func(procs int) (vals []float64, grads [][]float64) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		for _, pts := range [][2]Points{{FromDense(x), FromDense(y)}, {x32, y32}} {
			r, err := SlicedWassersteinPoints(pts[0], pts[1], nil, nil, 2, &SlicedOptions{Projections: 128, Seed: 1, Grad: true})
			if err != nil {
				t.Fatal(err)
			}
			gx := make([]float32, 200*100)
			if err := r.Backward(1, FromFloat32(200, 100, gx), Points{}); err != nil {
				t.Fatal(err)
			}
			g := make([]float64, len(gx))
			for i, v := range gx {
				g[i] = float64(v)
			}
			vals = append(vals, r.Value)
			grads = append(grads, r.Grad.X.RawMatrix().Data, r.Grad.Y.RawMatrix().Data, g)
		}
		return vals, grads
	}
	v1, g1 := run(1)
	v2, g2 := run(2)
	if !slices.Equal(v1, v2) {
		t.Errorf("values %v with one thread, %v with two", v1, v2)
	}
	for i := range g1 {
		if !slices.Equal(g1[i], g2[i]) {
			t.Errorf("gradient %d differs between one thread and two", i)
		}
	}
}

// sortedProjections sorts v by sortProjections, with the weights -v, and checks the
// atoms against their indices and the stable order of v.
func sortedProjections(t *testing.T, name string, v []float64) []float64 {
	t.Helper()
	w, at := sortProjectionsOf(v)
	return checkSorted(t, name, v, w, at)
}

// sortProjectionsOf sorts v with the weights -v.
func sortProjectionsOf(v []float64) (w []float64, at []atom1D) {
	w = make([]float64, len(v))
	for i := range v {
		w[i] = -v[i]
	}
	return w, sortProjections(make([]atom1D, len(v)), make([]uint64, len(v)), make([]uint64, len(v)), v, w)
}

// checkSorted returns the values of at, sorted from v and w, after checking them.
func checkSorted(t *testing.T, name string, v, w []float64, at []atom1D) []float64 {
	t.Helper()
	got := make([]float64, len(at))
	for r, a := range at {
		if v[a.i] != a.v || w[a.i] != a.w {
			t.Fatalf("%s: atom %d = %+v does not match its index", name, r, a)
		}
		if r > 0 && (a.v < at[r-1].v || a.v == at[r-1].v && a.i < at[r-1].i) {
			t.Fatalf("%s: position %d: %+v after %+v", name, r, a, at[r-1])
		}
		got[r] = a.v
	}
	return got
}

// TestSortProjections: the atoms come out in the stable order of their values, with
// their weights and indices, whether the radix sort does the work or the comparison
// sort does (clusters and outliers), and at the extremes of float64, where the span of
// the values overflows or the scale does.
func TestSortProjections(t *testing.T) {
	v := []float64{1 + 3e-12, -2, 1, 1 - 1e-12, 5e300, 1 + 1e-12, -5e300, 0}
	if got, want := sortedProjections(t, "few", v), slices.Sorted(slices.Values(v)); !slices.Equal(got, want) {
		t.Errorf("sorted %v, want %v", got, want)
	}
	rng := newTestRand(15)
	gen := map[string]func(i int) float64{
		// Many values of all signs and scales.
		"scales": func(int) float64 { return rng.NormFloat64() * math.Exp(20*rng.NormFloat64()) },
		"normal": func(int) float64 { return rng.NormFloat64() },
		// All but one in a cluster: one step holds them, sorted by comparisons.
		"outlier": func(i int) float64 {
			if i == 500 {
				return 1e12
			}
			return rng.Float64()
		},
		"equal":      func(int) float64 { return 3 },
		"descending": func(i int) float64 { return -float64(i) },
		"extremes":   func(int) float64 { return math.MaxFloat64 * (2*rng.Float64() - 1) },
		"subnormal":  func(int) float64 { return 5e-324 * float64(rng.IntN(4)) },
	}
	for name, f := range gen {
		v := make([]float64, 1000)
		for i := range v {
			v[i] = f(i)
			if i%7 == 0 {
				v[i] = v[i/2] // repeats, to check the order of ties
			}
		}
		sortedProjections(t, name, v)
	}
}

// TestSortProjectionsClustered: a cluster that defeats the grid of steps costs a
// comparison sort, not a quadratic insertion sort (minutes at this size).
func TestSortProjectionsClustered(t *testing.T) {
	rng := newTestRand(16)
	v := make([]float64, 1<<19)
	for i := range v {
		v[i] = rng.Float64()
	}
	v[0] = -1e300
	done := make(chan []atom1D)
	var w []float64
	go func() {
		var at []atom1D
		w, at = sortProjectionsOf(v)
		done <- at
	}()
	select {
	case at := <-done:
		checkSorted(t, "clustered", v, w, at)
	case <-time.After(10 * time.Second):
		t.Fatal("sorting 2^19 clustered projections took more than 10 s")
	}
}

// TestRadixSteps: a stable sort on bits 32 to 47, each byte of the step spread or
// constant (sortProjections' insertion pass would hide its mistakes).
func TestRadixSteps(t *testing.T) {
	rng := newTestRand(16)
	for _, spread := range []uint64{1 << 8, 1 << 16} {
		for _, offset := range []uint64{0, 0x1200} {
			keys := make([]uint64, 500)
			var count0, count1 [256]uint32
			for i := range keys {
				step := (offset + rng.Uint64N(spread)) & 0xffff
				keys[i] = step<<32 | uint64(i)
				count0[byte(step)]++
				count1[byte(step>>8)]++
			}
			want := slices.Clone(keys)
			slices.SortStableFunc(want, func(p, q uint64) int { return cmp.Compare(p>>32, q>>32) })
			radixSteps(keys, make([]uint64, len(keys)), &count0, &count1)
			if !slices.Equal(keys, want) {
				t.Errorf("spread %#x offset %#x: not sorted stably", spread, offset)
			}
		}
	}
}
