package eval

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func denseFromRows(rows [][]float64) *mat.Dense {
	m := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

// The fixtures were computed the way pytorch-fid does (np.cov, scipy.linalg.sqrtm);
// testdata/gen_frechet.py regenerates them.
func TestFrechetMatchesScipy(t *testing.T) {
	raw, err := os.ReadFile("testdata/frechet_scipy.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Cases []struct {
			X, Y [][]float64
			MuX  []float64   `json:"mu_x"`
			MuY  []float64   `json:"mu_y"`
			CovX [][]float64 `json:"cov_x"`
			CovY [][]float64 `json:"cov_y"`
			FD   float64
		}
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) == 0 {
		t.Fatal("no fixture cases")
	}
	for k, c := range fx.Cases {
		gx, err := FitGaussian(denseFromRows(c.X))
		if err != nil {
			t.Fatal(err)
		}
		gy, err := FitGaussian(denseFromRows(c.Y))
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.MuX {
			if math.Abs(gx.Mean[i]-c.MuX[i]) > 1e-12*(1+math.Abs(c.MuX[i])) || math.Abs(gy.Mean[i]-c.MuY[i]) > 1e-12*(1+math.Abs(c.MuY[i])) {
				t.Fatalf("case %d: mean %d differs from numpy", k, i)
			}
			for j := range c.MuX {
				if math.Abs(gx.Cov.At(i, j)-c.CovX[i][j]) > 1e-10 || math.Abs(gy.Cov.At(i, j)-c.CovY[i][j]) > 1e-10 {
					t.Fatalf("case %d: cov(%d,%d) = %v, %v; numpy %v, %v", k, i, j, gx.Cov.At(i, j), gy.Cov.At(i, j), c.CovX[i][j], c.CovY[i][j])
				}
			}
		}
		fd, err := FrechetDistance(gx, gy)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(fd-c.FD) > 1e-8*c.FD {
			t.Errorf("case %d: Fréchet distance %.12g, scipy %.12g", k, fd, c.FD)
		}
		back, _ := FrechetDistance(gy, gx)
		if math.Abs(back-fd) > 1e-9*fd {
			t.Errorf("case %d: not symmetric: %v vs %v", k, fd, back)
		}
	}
}

// With commuting (here diagonal) covariances the distance is |Δμ|² + Σ(√a_i − √b_i)².
func TestFrechetDiagonalClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	d := 7
	a, b := Gaussian{Mean: make([]float64, d), Cov: mat.NewSymDense(d, nil)}, Gaussian{Mean: make([]float64, d), Cov: mat.NewSymDense(d, nil)}
	want := 0.0
	for i := 0; i < d; i++ {
		a.Mean[i], b.Mean[i] = rng.NormFloat64(), rng.NormFloat64()
		va, vb := rng.Float64()*3, rng.Float64()*3
		if i == 0 {
			vb = 0 // a degenerate direction is allowed
		}
		a.Cov.SetSym(i, i, va)
		b.Cov.SetSym(i, i, vb)
		dm := a.Mean[i] - b.Mean[i]
		want += dm*dm + (math.Sqrt(va)-math.Sqrt(vb))*(math.Sqrt(va)-math.Sqrt(vb))
	}
	got, err := FrechetDistance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-10*want {
		t.Errorf("Fréchet distance %.15g, closed form %.15g", got, want)
	}
	// 1-D: (μ₁−μ₂)² + (σ₁−σ₂)².
	one := func(mu, v float64) Gaussian {
		c := mat.NewSymDense(1, []float64{v})
		return Gaussian{Mean: []float64{mu}, Cov: c}
	}
	got, _ = FrechetDistance(one(1, 4), one(-2, 9))
	if math.Abs(got-(9+1)) > 1e-12 {
		t.Errorf("1-D Fréchet distance %v, want 10", got)
	}
}

// A rank-deficient sample (fewer points than dimensions) against itself is at 0,
// and a shift by v adds exactly |v|².
func TestFrechetIdenticalAndShifted(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	n, d := 6, 10
	x := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x.Set(i, j, rng.NormFloat64())
		}
	}
	g, err := FitGaussian(x)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := FrechetDistance(g, g)
	if err != nil {
		t.Fatal(err)
	}
	if tr := 2 * mat.Trace(g.Cov); fd > 1e-7*float64(d)*tr {
		t.Errorf("Fréchet distance of a sample to itself %v, want 0", fd)
	}
	shift := 0.0
	y := mat.DenseCopyOf(x)
	for j := 0; j < d; j++ {
		v := float64(j) / 3
		shift += v * v
		for i := 0; i < n; i++ {
			y.Set(i, j, y.At(i, j)+v)
		}
	}
	gy, _ := FitGaussian(y)
	fd, _ = FrechetDistance(g, gy)
	if math.Abs(fd-shift) > 1e-7*shift {
		t.Errorf("Fréchet distance of a shifted copy %v, want |v|² = %v", fd, shift)
	}
	if _, err := FitGaussian(mat.NewDense(1, 3, nil)); err == nil {
		t.Error("FitGaussian accepted a single sample")
	}
	if _, err := FrechetDistance(g, Gaussian{Mean: []float64{0}, Cov: mat.NewSymDense(1, nil)}); err == nil {
		t.Error("FrechetDistance accepted mismatched dimensions")
	}
}
