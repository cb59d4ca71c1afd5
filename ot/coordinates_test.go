package ot

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
)

// baryTestHists returns N distinct histograms on a 1-D grid of n points: bumps at
// different places and widths, one of them bimodal, with a few exact zeros.
func baryTestHists(n int) [][]float64 {
	shapes := [][3]float64{{0.2, 0.05, 0}, {0.75, 0.08, 0}, {0.5, 0.04, 0.3}, {0.35, 0.1, 0}}
	var hists [][]float64
	for k, sh := range shapes {
		h := make([]float64, n)
		for i := range h {
			x := float64(i) / float64(n-1)
			h[i] = math.Exp(-(x-sh[0])*(x-sh[0])/(2*sh[1]*sh[1])) + 1e-3
			if sh[2] > 0 {
				h[i] += sh[2] * math.Exp(-(x-0.9)*(x-0.9)/(2*0.03*0.03))
			}
		}
		if k == 1 {
			h[0], h[1] = 0, 0
		}
		floats.Scale(1/floats.Sum(h), h)
		hists = append(hists, h)
	}
	return hists
}

// baryTestImages returns N images on a rows×cols grid.
func baryTestImages(rows, cols, N int, rng *rand.Rand) [][]float64 {
	var hists [][]float64
	for k := 0; k < N; k++ {
		r0, c0 := rng.Float64()*float64(rows-1), rng.Float64()*float64(cols-1)
		s := 0.8 + rng.Float64()
		h := make([]float64, rows*cols)
		for i := range h {
			dr, dc := float64(i/cols)-r0, float64(i%cols)-c0
			h[i] = math.Exp(-(dr*dr+dc*dc)/(2*s*s)) + 1e-4*rng.Float64()
		}
		floats.Scale(1/floats.Sum(h), h)
		hists = append(hists, h)
	}
	return hists
}

// The unrolled map is Barycenter's iteration from u = 1.
func TestUnrolledMatchesBarycenter(t *testing.T) {
	hists := baryTestHists(60)
	s := Grid{Rows: 1, Cols: 60}
	lam := []float64{0.1, 0.4, 0.3, 0.2}
	for _, L := range []int{1, 7, 40} {
		ub, err := NewUnrolledBarycenter(hists, s, 0.01, L)
		if err != nil {
			t.Fatal(err)
		}
		P, err := ub.Forward(lam)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Barycenter(hists, s, 0.01, lam, &BarycenterOptions{Method: BarycenterScaling, MaxIter: L, Tol: 1e-300})
		if err != nil {
			t.Fatal(err)
		}
		if d := baryDiff(P, res.Barycenter); d > 1e-14 || res.Iterations != L {
			t.Errorf("L=%d: |unrolled − Barycenter| = %.3g after %d iterations", L, d, res.Iterations)
		}
	}
}

// The adjoint against central finite differences of ⟨g, P(λ)⟩ along directions
// tangent to the simplex, on a dense support and on a 2-D grid.
func TestUnrolledBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	img := baryTestImages(6, 5, 3, rng)
	g2 := Grid{Rows: 6, Cols: 5}
	C2, _ := g2.Cost()
	cases := []struct {
		name  string
		hists [][]float64
		s     Support
		eps   float64
		L     int
		lam   []float64
	}{
		{"1d-dense", baryTestHists(40), baryMustCost(t, Grid{Rows: 1, Cols: 40}), 0.02, 15, []float64{0.1, 0.4, 0.3, 0.2}},
		{"2d-grid", img, g2, 0.05, 25, []float64{0.5, 0.2, 0.3}},
		{"2d-dense-L1", img, DenseSupport(C2), 0.05, 1, []float64{0.25, 0.25, 0.5}},
	}
	for _, c := range cases {
		ub, err := NewUnrolledBarycenter(c.hists, c.s, c.eps, c.L)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := c.s.Dims()
		g := make([]float64, m)
		for i := range g {
			g[i] = rng.NormFloat64()
		}
		if _, err := ub.Forward(c.lam); err != nil {
			t.Fatal(err)
		}
		gl, err := ub.Backward(g)
		if err != nil {
			t.Fatal(err)
		}
		N := len(c.lam)
		for i := 0; i < N; i++ {
			for j := i + 1; j < N; j++ {
				const h = 1e-5
				f := func(sign float64) float64 {
					l := append([]float64(nil), c.lam...)
					l[i] += sign * h
					l[j] -= sign * h
					P, err := ub.Forward(l)
					if err != nil {
						t.Fatal(err)
					}
					return floats.Dot(g, P)
				}
				fd := (f(1) - f(-1)) / (2 * h)
				an := gl[i] - gl[j]
				if math.Abs(fd-an) > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Errorf("%s: direction e%d−e%d: adjoint %.10g, finite differences %.10g", c.name, i, j, an, fd)
				}
			}
		}
	}
}

func baryMustCost(t *testing.T, g Grid) Support {
	t.Helper()
	C, err := g.Cost()
	if err != nil {
		t.Fatal(err)
	}
	return DenseSupport(C)
}

// A target built as P(λ*) gives back λ* (Bonneel et al. 2016, section 5).
func TestBarycentricCoordinatesRecover(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 2))
	cases := []struct {
		name  string
		hists [][]float64
		s     Support
		eps   float64
		star  []float64
		loss  CoordinatesLoss
	}{
		{"1d-l2", baryTestHists(60), Grid{Rows: 1, Cols: 60}, 0.005, []float64{0.15, 0.45, 0.1, 0.3}, L2Loss},
		{"1d-kl", baryTestHists(60), Grid{Rows: 1, Cols: 60}, 0.005, []float64{0.6, 0.05, 0.25, 0.1}, KLLoss},
		{"2d-l2", baryTestImages(10, 9, 3, rng), Grid{Rows: 10, Cols: 9}, 0.01, []float64{0.2, 0.5, 0.3}, L2Loss},
		// On a face of the simplex: softmax never reaches 0, the Frank–Wolfe gap stops it.
		{"1d-face", baryTestHists(60), Grid{Rows: 1, Cols: 60}, 0.005, []float64{0.6, 0, 0.4, 0}, L2Loss},
	}
	for _, c := range cases {
		L := 60 // enough for P(λ*) to have mass 1 within the histogram tolerance
		ub, err := NewUnrolledBarycenter(c.hists, c.s, c.eps, L)
		if err != nil {
			t.Fatal(err)
		}
		target, err := ub.Forward(c.star)
		if err != nil {
			t.Fatal(err)
		}
		res, err := BarycentricCoordinates(c.hists, target, c.s, c.eps, &CoordinatesOptions{Iterations: L, Loss: c.loss})
		if err != nil {
			t.Fatal(err)
		}
		if d := baryDiff(res.Lambda, c.star); d > 1e-3 || !res.Converged {
			t.Errorf("%s: λ = %.5f, want %.5f (|Δ| = %.2g, loss %.3g, %d iterations, converged %v)",
				c.name, res.Lambda, c.star, d, res.Loss, res.Iterations, res.Converged)
		}
		t.Logf("%s: |λ − λ*| = %.2g, %d L-BFGS iterations, %d evaluations, converged %v", c.name, baryDiff(res.Lambda, c.star), res.Iterations, res.Evaluations, res.Converged)
	}
}

func TestCoordinatesBadInput(t *testing.T) {
	hists := baryTestHists(20)
	g := Grid{Rows: 1, Cols: 20}
	ub, err := NewUnrolledBarycenter(hists, g, 0.05, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ub.Backward(make([]float64, 20)); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Backward before Forward: %v", err)
	}
	cases := map[string]func() error{
		"L zero":        func() error { _, err := NewUnrolledBarycenter(hists, g, 0.05, 0); return err },
		"lambda off":    func() error { _, err := ub.Forward([]float64{0.5, 0.5, 0.5, -0.5}); return err },
		"lambda length": func() error { _, err := ub.Forward([]float64{1}); return err },
		"grad length": func() error {
			if _, err := ub.Forward(nil); err != nil {
				return err
			}
			_, err := ub.Backward(make([]float64, 3))
			return err
		},
		"target length": func() error { _, err := BarycentricCoordinates(hists, Uniform(19), g, 0.05, nil); return err },
		"target sum": func() error {
			_, err := BarycentricCoordinates(hists, make([]float64, 20), g, 0.05, nil)
			return err
		},
		"init off": func() error {
			_, err := BarycentricCoordinates(hists, Uniform(20), g, 0.05, &CoordinatesOptions{Init: []float64{1, 0, 0, 0}})
			return err
		},
		"loss": func() error {
			_, err := BarycentricCoordinates(hists, Uniform(20), g, 0.05, &CoordinatesOptions{Loss: 9})
			return err
		},
		"hists": func() error {
			_, err := BarycentricCoordinates([][]float64{{2, -1}}, Uniform(2), Grid{Rows: 1, Cols: 2}, 0.05, nil)
			return err
		},
	}
	for name, f := range cases {
		if err := f(); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
	// Underflow is reported, not turned into NaN coordinates.
	tiny, err := NewUnrolledBarycenter(hists, g, 1e-6, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tiny.Forward(nil); err == nil {
		t.Errorf("ε = 1e-6: no underflow error")
	}
}
