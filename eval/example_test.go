package eval_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/sinkgen/sinkgen/eval"
)

// A generator that collapsed onto 2 of the 8 modes of a ring of Gaussians, against
// held-out samples of the ring: the mode metrics see the collapse, the distances and
// the two-sample test see a difference that two halves of the real data do not show.
func Example() {
	modes := eval.Modes{Sigma: 0.05}
	for k := 0; k < 8; k++ {
		a := 2 * math.Pi * float64(k) / 8
		modes.Centres = append(modes.Centres, []float64{2 * math.Cos(a), 2 * math.Sin(a)})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func(n, nModes int) *mat.Dense {
		x := mat.NewDense(n, 2, nil)
		for i := 0; i < n; i++ {
			c := modes.Centres[rng.IntN(nModes)]
			x.Set(i, 0, c[0]+modes.Sigma*rng.NormFloat64())
			x.Set(i, 1, c[1]+modes.Sigma*rng.NormFloat64())
		}
		return x
	}
	ref, real, collapsed := draw(500, 8), draw(500, 8), draw(500, 2)
	opts := eval.Options{Modes: &modes, Distances: eval.DistanceOptions{Eps: 0.05, Bandwidths: []float64{0.1, 0.5, 1}}}
	for _, c := range []struct {
		name string
		gen  *mat.Dense
	}{{"real", real}, {"collapsed", collapsed}} {
		m, err := eval.Evaluate(c.gen, ref, opts)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-9s modes %d/8, high quality %.2f, W₂ %.1f, MMD² > 0.01: %v, C2ST accuracy > 0.7: %v\n",
			c.name, m.Modes.Covered, m.Modes.HighQuality, m.Distances.W2, m.Distances.MMD > 0.01, m.C2STPixels.Accuracy > 0.7)
	}
	// Output:
	// real      modes 8/8, high quality 0.99, W₂ 0.4, MMD² > 0.01: false, C2ST accuracy > 0.7: false
	// collapsed modes 2/8, high quality 0.98, W₂ 2.4, MMD² > 0.01: true, C2ST accuracy > 0.7: true
}

// The Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂) with commuting covariances is
// |μ₁−μ₂|² + Σ(√λ₁ − √λ₂)².
func ExampleFrechetDistance() {
	a := eval.Gaussian{Mean: []float64{0, 0}, Cov: mat.NewSymDense(2, []float64{4, 0, 0, 1})}
	b := eval.Gaussian{Mean: []float64{1, 2}, Cov: mat.NewSymDense(2, []float64{1, 0, 0, 9})}
	fd, err := eval.FrechetDistance(a, b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.6f (closed form: 1 + 4 + (2−1)² + (1−3)² = 10)\n", fd)
	// Output: 10.000000 (closed form: 1 + 4 + (2−1)² + (1−3)² = 10)
}

// Welch's t-test of two groups from their summaries: Wikipedia's example 1 of
// "Welch's t-test" (t = −2.46, df = 25.0, p = 0.021 there).
func ExampleWelch() {
	a := []float64{27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4}
	b := []float64{27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4}
	ma, sa := stat.MeanStdDev(a, nil)
	mb, sb := stat.MeanStdDev(b, nil)
	t, df, p := eval.Welch(ma, sa, len(a), mb, sb, len(b))
	fmt.Printf("t = %.2f, df = %.1f, p = %.3f\n", t, df, p)
	// Output: t = -2.46, df = 25.0, p = 0.021
}
