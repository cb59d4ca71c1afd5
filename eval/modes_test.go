package eval

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
)

func ringModes(sigma float64) Modes {
	m := Modes{Sigma: sigma}
	for k := 0; k < 8; k++ {
		a := 2 * math.Pi * float64(k) / 8
		m.Centres = append(m.Centres, []float64{2 * math.Cos(a), 2 * math.Sin(a)})
	}
	return m
}

func mixtureSample(rng *rand.Rand, m Modes, n int) *mat.Dense {
	x := mat.NewDense(n, 2, nil)
	for i := 0; i < n; i++ {
		c := m.Centres[rng.IntN(len(m.Centres))]
		x.Set(i, 0, c[0]+m.Sigma*rng.NormFloat64())
		x.Set(i, 1, c[1]+m.Sigma*rng.NormFloat64())
	}
	return x
}

// Samples of the mixture itself: every mode covered, and the high-quality fraction is
// P(|N(0,σ²I₂)| ≤ 3σ) = 1 − e^{−9/2}.
func TestModeCoverageOfTheTrueMixture(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	m := ringModes(0.05)
	n := 8000
	s, err := ModeCoverage(mixtureSample(rng, m, n), m, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := 1 - math.Exp(-4.5)
	se := math.Sqrt(want * (1 - want) / float64(n))
	if s.Covered != 8 || math.Abs(s.HighQuality-want) > 4*se || s.KL > 0.01 {
		t.Errorf("true mixture: covered %d, HQ %.4f (want %.4f ± %.4f), KL %v", s.Covered, s.HighQuality, want, se, s.KL)
	}
	// At 2σ the fraction is 1 − e^{−2}.
	s, _ = ModeCoverage(mixtureSample(rng, m, n), m, 2, 0)
	if want := 1 - math.Exp(-2); math.Abs(s.HighQuality-want) > 4*math.Sqrt(want*(1-want)/float64(n)) {
		t.Errorf("radius 2σ: HQ %.4f, want %.4f", s.HighQuality, want)
	}
}

func TestModeCoverageCollapsedAndOff(t *testing.T) {
	m := ringModes(0.05)
	one := mat.NewDense(100, 2, nil)
	for i := 0; i < 100; i++ {
		one.SetRow(i, m.Centres[3])
	}
	s, err := ModeCoverage(one, m, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Covered != 1 || s.HighQuality != 1 || math.Abs(s.KL-math.Log(8)) > 1e-12 || s.Counts[3] != 100 {
		t.Errorf("collapsed: %+v", s)
	}
	s, _ = ModeCoverage(mat.NewDense(50, 2, nil), m, 0, 0) // all at the origin, 2 from every mode
	if s.Covered != 0 || s.HighQuality != 0 || !math.IsNaN(s.KL) {
		t.Errorf("off the modes: %+v", s)
	}
	// Weighted modes, samples split evenly: KL = ½log(½/¾) + ½log(½/¼).
	w := Modes{Centres: [][]float64{{0, 0}, {10, 0}}, Sigma: 1, Weights: []float64{0.75, 0.25}}
	x := mat.NewDense(40, 2, nil)
	for i := 20; i < 40; i++ {
		x.Set(i, 0, 10)
	}
	s, _ = ModeCoverage(x, w, 0, 0)
	if want := 0.5*math.Log(0.5/0.75) + 0.5*math.Log(2); math.Abs(s.KL-want) > 1e-12 || s.Covered != 2 {
		t.Errorf("weighted: KL %v want %v, covered %d", s.KL, want, s.Covered)
	}
	for _, bad := range []Modes{{Centres: [][]float64{{0}}, Sigma: 1}, {Centres: m.Centres, Sigma: 0}, {Centres: m.Centres, Sigma: 1, Weights: []float64{1}}} {
		if _, err := ModeCoverage(one, bad, 0, 0); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

// The toy target's held-out points are the ring itself: every mode covered, the
// high-quality fraction of a Gaussian within 3σ, and distances near those of two
// samples of one distribution.
func TestToyTarget(t *testing.T) {
	tg, err := ToyTarget(data.Ring, 0.05, 4000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Options.Modes == nil || len(tg.Options.Modes.Centres) != 8 || tg.Options.Modes.Sigma != 0.05 {
		t.Fatalf("ring modes: %+v", tg.Options.Modes)
	}
	s, err := ModeCoverage(tg.Ref, *tg.Options.Modes, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := 1 - math.Exp(-4.5)
	if s.Covered != 8 || math.Abs(s.HighQuality-want) > 4*math.Sqrt(want*(1-want)/4000) {
		t.Errorf("held-out ring: %+v", s)
	}
	other, _ := ToyTarget(data.Ring, 0.05, 4000, 2)
	if mat.Equal(other.Ref, tg.Ref) {
		t.Error("two evaluation seeds drew the same points")
	}
	if mm, _ := ToyTarget(data.Moons, 0.05, 10, 1); mm.Options.Modes != nil {
		t.Error("moons have no modes")
	}
	if _, err := ToyTarget("spiral", 0.05, 10, 1); err == nil {
		t.Error("unknown toy accepted")
	}
}
