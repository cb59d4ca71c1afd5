package ot

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// On the line the W₂ barycenter's quantile function is Σ_k λ_k F_k⁻¹: for clouds of n
// equally weighted points it is the λ-average of the sorted clouds.
func TestFreeSupportBarycenter1DQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	n := 30
	gens := []func() float64{
		func() float64 { return rng.NormFloat64() },
		func() float64 { return 3 + 0.5*rng.ExpFloat64() },
		func() float64 { return -2 + 4*rng.Float64() },
	}
	lam := []float64{0.5, 0.2, 0.3}
	var clouds []*mat.Dense
	want := make([]float64, n)
	for k, g := range gens {
		v := make([]float64, n)
		for i := range v {
			v[i] = g()
		}
		clouds = append(clouds, mat.NewDense(n, 1, slices.Clone(v)))
		slices.Sort(v)
		floats.AddScaled(want, lam[k], v)
	}
	init := mat.NewDense(n, 1, nil)
	for i := 0; i < n; i++ {
		init.Set(i, 0, rng.NormFloat64())
	}
	res, err := FreeSupportBarycenter(clouds, nil, lam, init, SqEuclidean, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := mat.Col(nil, 0, res.Points)
	slices.Sort(got)
	if d := baryDiff(got, want); d > 1e-12 || !res.Converged {
		t.Errorf("sorted barycenter − quantile average: %.3g (converged %v after %d)", d, res.Converged, res.Iterations)
	}
	// Its cost against Exact1D, which shares no code with the network simplex.
	cost := 0.0
	for k, y := range clouds {
		w, err := Exact1D(got, mat.Col(nil, 0, y), nil, nil, 2)
		if err != nil {
			t.Fatal(err)
		}
		cost += lam[k] * 0.5 * w
	}
	if math.Abs(cost-res.Cost) > 1e-12*cost {
		t.Errorf("cost %.15g, Exact1D gives %.15g", res.Cost, cost)
	}
}

// The barycenter of translates X + t_k of one cloud is X + Σ λ_k t_k.
func TestFreeSupportBarycenterTranslates(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 2))
	n, d := 25, 2
	X := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		X.Set(i, 0, rng.NormFloat64())
		X.Set(i, 1, 0.5*rng.NormFloat64())
	}
	ts := [][]float64{{0, 0}, {4, 1}, {-1, 3}}
	lam := []float64{0.3, 0.3, 0.4}
	var clouds []*mat.Dense
	shift := make([]float64, d)
	for k, tk := range ts {
		Y := mat.DenseCopyOf(X)
		for i := 0; i < n; i++ {
			Y.Set(i, 0, Y.At(i, 0)+tk[0])
			Y.Set(i, 1, Y.At(i, 1)+tk[1])
		}
		// Shuffle the rows: the correspondence must be found, not read off.
		rng.Shuffle(n, func(i, j int) {
			ri, rj := mat.Row(nil, i, Y), mat.Row(nil, j, Y)
			Y.SetRow(i, rj)
			Y.SetRow(j, ri)
		})
		clouds = append(clouds, Y)
		floats.AddScaled(shift, lam[k], tk)
	}
	init := mat.DenseCopyOf(X)
	for i := 0; i < n; i++ {
		init.Set(i, 0, init.At(i, 0)+0.05*rng.NormFloat64())
	}
	res, err := FreeSupportBarycenter(clouds, nil, lam, init, Cost{Power: 2, Scale: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			worst = max(worst, math.Abs(res.Points.At(i, j)-X.At(i, j)-shift[j]))
		}
	}
	if worst > 1e-9 || !res.Converged {
		t.Errorf("barycenter − (X + Σλt) = %.3g (converged %v after %d)", worst, res.Converged, res.Iterations)
	}
}

// With entropic couplings the result is a stationary point of Σ_k λ_k OT_ε(·, μ_k):
// the point gradients from SinkhornGradients sum to zero.
func TestFreeSupportBarycenterEntropicStationary(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	var clouds []*mat.Dense
	var ws [][]float64
	for k, n := range []int{12, 16, 10} {
		Y := mat.NewDense(n, 2, nil)
		w := make([]float64, n)
		for i := 0; i < n; i++ {
			Y.Set(i, 0, float64(k)+rng.NormFloat64())
			Y.Set(i, 1, rng.NormFloat64()*float64(k+1)/2)
			w[i] = 0.5 + rng.Float64()
		}
		floats.Scale(1/floats.Sum(w), w)
		clouds, ws = append(clouds, Y), append(ws, w)
	}
	lam := []float64{0.2, 0.5, 0.3}
	init := mat.NewDense(8, 2, nil)
	for i := 0; i < 8; i++ {
		init.Set(i, 0, rng.NormFloat64())
		init.Set(i, 1, rng.NormFloat64())
	}
	eps := 0.1
	so := &SinkhornOptions{Tol: 1e-12}
	res, err := FreeSupportBarycenter(clouds, ws, lam, init, SqEuclidean, &FreeSupportOptions{Eps: eps, Sinkhorn: so, Tol: 1e-20, MaxIter: 500})
	if err != nil {
		t.Fatal(err)
	}
	grad := mat.NewDense(8, 2, nil)
	total := 0.0
	for k, Y := range clouds {
		r, err := SinkhornPoints(res.Points, Y, nil, ws[k], SqEuclidean, eps, so)
		if err != nil {
			t.Fatal(err)
		}
		g, err := SinkhornGradients(res.Points, Y, nil, ws[k], SqEuclidean, r)
		if err != nil {
			t.Fatal(err)
		}
		grad.Add(grad, baryScaled(lam[k], g.X))
		total += lam[k] * r.Cost
	}
	t.Logf("%d iterations, displacement %.3g", res.Iterations, res.Displacement)
	if gn := mat.Norm(grad, math.Inf(1)); gn > 1e-8 {
		t.Errorf("gradient of Σλ OT_ε at the barycenter: %.3g (%d iterations, displacement %.3g)", gn, res.Iterations, res.Displacement)
	}
	if math.Abs(total-res.Cost) > 1e-8 {
		t.Errorf("cost %.12g, Sinkhorn at the final points %.12g", res.Cost, total)
	}
}

func baryScaled(s float64, a *mat.Dense) *mat.Dense {
	var out mat.Dense
	out.Scale(s, a)
	return &out
}

func TestFreeSupportBarycenterBadInput(t *testing.T) {
	y := mat.NewDense(3, 2, []float64{0, 0, 1, 0, 0, 1})
	y3 := mat.NewDense(3, 3, nil)
	init := mat.NewDense(2, 2, []float64{0, 0, 1, 1})
	nan := mat.DenseCopyOf(y)
	nan.Set(0, 0, math.NaN())
	cases := map[string]func() error{
		"no clouds": func() error { _, err := FreeSupportBarycenter(nil, nil, nil, init, SqEuclidean, nil); return err },
		"dimension": func() error {
			_, err := FreeSupportBarycenter([]*mat.Dense{y, y3}, nil, nil, init, SqEuclidean, nil)
			return err
		},
		"nan cloud": func() error {
			_, err := FreeSupportBarycenter([]*mat.Dense{nan}, nil, nil, init, SqEuclidean, nil)
			return err
		},
		"nil init": func() error {
			_, err := FreeSupportBarycenter([]*mat.Dense{y}, nil, nil, nil, SqEuclidean, nil)
			return err
		},
		"cost power": func() error {
			_, err := FreeSupportBarycenter([]*mat.Dense{y}, nil, nil, init, Euclidean, nil)
			return err
		},
		"lambda": func() error {
			_, err := FreeSupportBarycenter([]*mat.Dense{y, y}, nil, []float64{0.9, 0.9}, init, SqEuclidean, nil)
			return err
		},
		"weights": func() error {
			_, err := FreeSupportBarycenter([]*mat.Dense{y}, [][]float64{{0.5, 0.6, -0.1}}, nil, init, SqEuclidean, nil)
			return err
		},
		"weights count": func() error {
			_, err := FreeSupportBarycenter([]*mat.Dense{y}, [][]float64{nil, nil}, nil, init, SqEuclidean, nil)
			return err
		},
		"bary weights": func() error {
			_, err := FreeSupportBarycenter([]*mat.Dense{y}, nil, nil, init, SqEuclidean, &FreeSupportOptions{Weights: []float64{1}})
			return err
		},
		"eps": func() error {
			_, err := FreeSupportBarycenter([]*mat.Dense{y}, nil, nil, init, SqEuclidean, &FreeSupportOptions{Eps: -1})
			return err
		},
	}
	for name, f := range cases {
		if err := f(); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
}
