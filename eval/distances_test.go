package eval

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

func gaussianSample(rng *rand.Rand, n, d int, shift float64) *mat.Dense {
	x := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x.Set(i, j, rng.NormFloat64()+shift)
		}
	}
	return x
}

func close(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// The V-statistics are what ot.MMD computes (with EnergyKernel for the energy); the
// U-statistics match a direct double loop over pairs i ≠ j.
func TestKernelStatisticsAgainstReferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x, y := gaussianSample(rng, 23, 4, 0), gaussianSample(rng, 17, 4, 0.3)
	bws := []float64{0.5, 1, 3}
	d, err := ComputeDistances(x, y, DistanceOptions{Bandwidths: bws, SkipExact: true, SkipSinkhorn: true})
	if err != nil {
		t.Fatal(err)
	}
	mmd, err := ot.MMD(x, y, nil, nil, ot.GaussianMixture(bws), nil)
	if err != nil {
		t.Fatal(err)
	}
	en, err := ot.MMD(x, y, nil, nil, ot.EnergyKernel{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !close(d.MMDBiased, mmd.Value, 1e-12) || !close(d.EnergyBiased, en.Value, 1e-12) {
		t.Errorf("V-statistics %v, %v; ot gives %v, %v", d.MMDBiased, d.EnergyBiased, mmd.Value, en.Value)
	}
	// Direct U-statistics.
	dist := func(a, b []float64) float64 {
		s := 0.0
		for k := range a {
			s += (a[k] - b[k]) * (a[k] - b[k])
		}
		return math.Sqrt(s)
	}
	gk := func(r float64) float64 {
		s := 0.0
		for _, b := range bws {
			s += math.Exp(-r * r / (2 * b * b))
		}
		return s
	}
	within := func(a *mat.Dense, k func(float64) float64) float64 {
		n, _ := a.Dims()
		s := 0.0
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if i != j {
					s += k(dist(a.RawRowView(i), a.RawRowView(j)))
				}
			}
		}
		return s / float64(n*(n-1))
	}
	between := func(k func(float64) float64) float64 {
		s := 0.0
		for i := 0; i < 23; i++ {
			for j := 0; j < 17; j++ {
				s += k(dist(x.RawRowView(i), y.RawRowView(j)))
			}
		}
		return s / (23 * 17)
	}
	neg := func(r float64) float64 { return -r }
	uM := within(x, gk) + within(y, gk) - 2*between(gk)
	uE := within(x, neg) + within(y, neg) - 2*between(neg)
	if !close(d.MMD, uM, 1e-10) || !close(d.Energy, uE, 1e-10) {
		t.Errorf("U-statistics %v, %v; direct loops %v, %v", d.MMD, d.Energy, uM, uE)
	}
}

// Over many independent pairs of samples of one distribution the U-statistic averages
// to 0 and the V-statistic to its known bias (k(0) − E k(X,X'))(1/n + 1/m), with
// E k(X,X') = (σ²/(σ²+2))^{d/2} for X, X' ~ N(0, I_d) and the Gaussian kernel.
func TestMMDUnbiased(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	const reps, n, m, dim, sigma = 400, 20, 30, 2, 1.5
	var su, su2, sv float64
	for r := 0; r < reps; r++ {
		d, err := ComputeDistances(gaussianSample(rng, n, dim, 0), gaussianSample(rng, m, dim, 0),
			DistanceOptions{Bandwidths: []float64{sigma}, SkipExact: true, SkipSinkhorn: true, SkipEnergy: true})
		if err != nil {
			t.Fatal(err)
		}
		su += d.MMD
		su2 += d.MMD * d.MMD
		sv += d.MMDBiased
	}
	meanU, meanV := su/reps, sv/reps
	seU := math.Sqrt((su2/reps - meanU*meanU) / reps)
	ek := math.Pow(sigma*sigma/(sigma*sigma+2), dim/2.0)
	bias := (1 - ek) * (1.0/n + 1.0/m)
	if math.Abs(meanU) > 4*seU {
		t.Errorf("mean unbiased MMD² %.5f ± %.5f, want 0", meanU, seU)
	}
	if math.Abs(meanV-bias) > 4*seU+1e-3 {
		t.Errorf("mean biased MMD² %.5f, want its bias %.5f (± %.5f)", meanV, bias, seU)
	}
}

// Known answers: identical samples are at 0; a translate by v is at OT = ½|v|² and at
// S_ε = ½|v|² for every ε (the cross term of ½|x−y+v|² integrates to 0 under any
// coupling); two point masses a, b are at MMD² = 2(k(0) − k(|a−b|)) and energy 2|a−b|.
func TestDistancesKnownAnswers(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	x := gaussianSample(rng, 60, 3, 0)
	same, err := ComputeDistances(x, x, DistanceOptions{Eps: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if same.OT != 0 || same.W2 != 0 || !same.ExactOptimal || math.Abs(same.Sinkhorn) > 1e-6 || same.MMDBiased != 0 || math.Abs(same.EnergyBiased) > 1e-6 {
		t.Errorf("identical samples: %+v", same)
	}
	v := []float64{0.4, -1, 2}
	y := mat.DenseCopyOf(x)
	for i := 0; i < 60; i++ {
		for j := range v {
			y.Set(i, j, y.At(i, j)+v[j])
		}
	}
	half := 0.5 * (0.16 + 1 + 4)
	for _, eps := range []float64{0.25, 1, 20} {
		sh, err := ComputeDistances(x, y, DistanceOptions{Eps: eps, SkipMMD: true, SkipEnergy: true})
		if err != nil {
			t.Fatal(err)
		}
		if !close(sh.OT, half, 1e-9) || !close(sh.W2, math.Sqrt(2*half), 1e-9) {
			t.Errorf("translate: OT %v W2 %v, want %v and %v", sh.OT, sh.W2, half, math.Sqrt(2*half))
		}
		if !sh.SinkhornConverged || !close(sh.Sinkhorn, half, 1e-5) {
			t.Errorf("translate, ε=%v: S_ε %v (converged %v), want %v", eps, sh.Sinkhorn, sh.SinkhornConverged, half)
		}
	}
	a, b := mat.NewDense(2, 2, []float64{0, 0, 0, 0}), mat.NewDense(3, 2, []float64{3, 4, 3, 4, 3, 4})
	pm, err := ComputeDistances(a, b, DistanceOptions{Bandwidths: []float64{2, 5}})
	if err != nil {
		t.Fatal(err)
	}
	wantM := 2 * (2 - math.Exp(-25.0/8) - math.Exp(-25.0/50))
	for _, got := range []float64{pm.MMD, pm.MMDBiased} {
		if !close(got, wantM, 1e-12) {
			t.Errorf("point masses: MMD² %v, want %v", got, wantM)
		}
	}
	for _, got := range []float64{pm.Energy, pm.EnergyBiased} {
		if !close(got, 10, 1e-6) {
			t.Errorf("point masses: energy %v, want 10", got)
		}
	}
	if !close(pm.OT, 12.5, 1e-12) {
		t.Errorf("point masses: OT %v, want 12.5", pm.OT)
	}
}

// In 1-D exact OT between equal-size uniform samples pairs sorted values.
func TestExactOTMatchesSorted1D(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	n := 300
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i], ys[i] = rng.NormFloat64(), 2*rng.ExpFloat64()
	}
	d, err := ComputeDistances(mat.NewDense(n, 1, append([]float64(nil), xs...)), mat.NewDense(n, 1, append([]float64(nil), ys...)),
		DistanceOptions{SkipSinkhorn: true, SkipMMD: true, SkipEnergy: true})
	if err != nil {
		t.Fatal(err)
	}
	sort.Float64s(xs)
	sort.Float64s(ys)
	want := 0.0
	for i := range xs {
		want += 0.5 * (xs[i] - ys[i]) * (xs[i] - ys[i]) / float64(n)
	}
	if !close(d.OT, want, 1e-10) {
		t.Errorf("1-D exact OT %v, sorted pairing %v", d.OT, want)
	}
	if !math.IsNaN(d.Sinkhorn) || !math.IsNaN(d.MMD) || !math.IsNaN(d.Energy) {
		t.Errorf("skipped distances should be NaN: %+v", d)
	}
}

func TestDistancesRejectBadInput(t *testing.T) {
	x := mat.NewDense(3, 2, nil)
	for _, c := range []struct {
		name string
		a, b *mat.Dense
		o    DistanceOptions
	}{
		{"columns", x, mat.NewDense(3, 3, nil), DistanceOptions{}},
		{"one row", x, mat.NewDense(1, 2, nil), DistanceOptions{}},
		{"NaN", x, mat.NewDense(3, 2, []float64{0, 0, 0, math.NaN(), 0, 0}), DistanceOptions{}},
		{"eps", x, x, DistanceOptions{Eps: -1}},
		{"bandwidth", x, x, DistanceOptions{Bandwidths: []float64{1, 0}}},
		{"no bandwidth", x, x, DistanceOptions{Bandwidths: []float64{}}},
	} {
		if _, err := ComputeDistances(c.a, c.b, c.o); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}
