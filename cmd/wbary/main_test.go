package main

import (
	"bytes"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/mnisttest"
)

// A small run writes the three figures with the expected tile layout.
func TestRunWritesFigures(t *testing.T) {
	_, err := data.LocateMNIST()
	mnisttest.Need(t, err)
	out := t.TempDir()
	var log bytes.Buffer
	err = run([]string{"-out", out, "-digits", "1,7", "-n", "2", "-targets", "3", "-dict", "3", "-L", "15", "-eps", "0.003", "-scale", "1"}, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	// Widths: pad + columns·(28+pad), plus the row labels of the interpolation.
	for name, cols := range map[string]int{"barycenters.png": 2 + 2, "interpolation.png": 7, "projection.png": 3 + 3} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		w := pad + cols*(tileRaw+pad)
		if name == "interpolation.png" {
			w += labelW
		}
		if img.Bounds().Dx() != w {
			t.Errorf("%s: width %d, want %d", name, img.Bounds().Dx(), w)
		}
	}
	if !strings.Contains(log.String(), "Wasserstein λ") {
		t.Errorf("log lacks the coordinates:\n%s", log.String())
	}
}

func TestParseErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-digits", "3"}, {"-digits", "1,x"}, {"-targets", "10"}, {"-eps", "0"}, {"-n", "0"}, {"-loss", "l1"}, {"extra"},
	} {
		if _, err := parse(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// The simplex least squares solution satisfies the KKT conditions: the gradient
// Gλ − r is smallest, and equal, on the support of λ.
func TestSimplexLeastSquaresKKT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := 0; trial < 20; trial++ {
		K, n := 2+rng.IntN(5), 30
		dict := make([][]float64, K)
		for k := range dict {
			dict[k] = make([]float64, n)
			for i := range dict[k] {
				dict[k][i] = rng.Float64()
			}
		}
		h := make([]float64, n)
		for i := range h {
			h[i] = rng.Float64() * 1.5
		}
		lam := simplexLeastSquares(dict, h)
		if math.Abs(floats.Sum(lam)-1) > 1e-12 || floats.Min(lam) < 0 {
			t.Fatalf("λ = %v is not on the simplex", lam)
		}
		res := make([]float64, n)
		for k, d := range dict {
			floats.AddScaled(res, lam[k], d)
		}
		floats.Sub(res, h)
		g := make([]float64, K)
		for k, d := range dict {
			g[k] = floats.Dot(d, res)
		}
		gmin := floats.Min(g)
		for k := range g {
			if (lam[k] > 1e-9 && g[k]-gmin > 1e-7) || g[k]-gmin < -1e-12 {
				t.Errorf("trial %d: λ %v, gradient %v", trial, lam, g)
				break
			}
		}
	}
}

// Projection onto the simplex against its characterization: the closest point, so
// no other point of the simplex (random or vertex) is closer.
func TestProjectSimplex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		v := make([]float64, 1+rng.IntN(6))
		for i := range v {
			v[i] = 3 * rng.NormFloat64()
		}
		p := append([]float64(nil), v...)
		projectSimplex(p)
		if math.Abs(floats.Sum(p)-1) > 1e-12 || floats.Min(p) < 0 {
			t.Fatalf("projection %v of %v is not on the simplex", p, v)
		}
		d := floats.Distance(p, v, 2)
		for k := 0; k < 100; k++ {
			q := make([]float64, len(v))
			for i := range q {
				q[i] = rng.ExpFloat64()
			}
			floats.Scale(1/floats.Sum(q), q)
			if floats.Distance(q, v, 2) < d-1e-12 {
				t.Fatalf("%v is closer to %v than the projection %v", q, v, p)
			}
		}
	}
}
