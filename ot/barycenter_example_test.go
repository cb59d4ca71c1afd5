package ot_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

// baryBump is a normalized Gaussian bump of width s at m on n grid points of [0,1].
func baryBump(n int, m, s float64) []float64 {
	h := make([]float64, n)
	for i := range h {
		x := float64(i) / float64(n-1)
		h[i] = math.Exp(-(x - m) * (x - m) / (2 * s * s))
	}
	floats.Scale(1/floats.Sum(h), h)
	return h
}

func baryMean(h []float64) float64 {
	m := 0.0
	for i, v := range h {
		m += v * float64(i) / float64(len(h)-1)
	}
	return m
}

// The barycenter of two bumps on a 1-D grid sits between them, where the Euclidean
// mean would be bimodal.
func ExampleBarycenter() {
	n := 100
	hists := [][]float64{baryBump(n, 0.2, 0.05), baryBump(n, 0.8, 0.05)}
	grid := ot.Grid{Rows: 1, Cols: n} // cost (i−j)²/(n−1)², as POT's dist0 normalized to max 1
	res, err := ot.Barycenter(hists, grid, 1e-3, []float64{0.25, 0.75}, nil)
	if err != nil {
		panic(err)
	}
	peak := float64(floats.MaxIdx(res.Barycenter)) / float64(n-1)
	fmt.Printf("converged %v, mean %.3f, peak at %.2f\n", res.Converged, baryMean(res.Barycenter), peak)
	// Output:
	// converged true, mean 0.650, peak at 0.65
}

// Barycentric coordinates recover the weights that built a target barycenter.
func ExampleBarycentricCoordinates() {
	n := 60
	hists := [][]float64{baryBump(n, 0.2, 0.05), baryBump(n, 0.5, 0.08), baryBump(n, 0.8, 0.04)}
	grid := ot.Grid{Rows: 1, Cols: n}
	ub, err := ot.NewUnrolledBarycenter(hists, grid, 0.005, 60)
	if err != nil {
		panic(err)
	}
	target, err := ub.Forward([]float64{0.5, 0.2, 0.3})
	if err != nil {
		panic(err)
	}
	res, err := ot.BarycentricCoordinates(hists, target, grid, 0.005, &ot.CoordinatesOptions{Iterations: 60})
	if err != nil {
		panic(err)
	}
	fmt.Printf("λ = %.3f, converged %v\n", res.Lambda, res.Converged)
	// Output:
	// λ = [0.500 0.200 0.300], converged true
}

// The free-support barycenter of translated copies of a point cloud is the cloud
// translated by the weighted mean of the shifts.
func ExampleFreeSupportBarycenter() {
	rng := rand.New(rand.NewPCG(1, 2))
	x := mat.NewDense(20, 2, nil)
	for i := 0; i < 20; i++ {
		x.Set(i, 0, rng.NormFloat64())
		x.Set(i, 1, rng.NormFloat64())
	}
	var shifted mat.Dense
	shifted.Apply(func(_, j int, v float64) float64 { return v + float64(4*(1-j)) }, x) // (+4, 0)
	res, err := ot.FreeSupportBarycenter([]*mat.Dense{x, &shifted}, nil, []float64{0.75, 0.25}, x, ot.SqEuclidean, nil)
	if err != nil {
		panic(err)
	}
	var d mat.Dense
	d.Sub(res.Points, x)
	fmt.Printf("shift of the barycenter: (%.3f, %.3f), converged %v\n", mat.Sum(d.ColView(0))/20, mat.Sum(d.ColView(1))/20, res.Converged)
	// Output:
	// shift of the barycenter: (1.000, 0.000), converged true
}

// The stochastic semi-dual (SAG) reaches the entropic OT value of Sinkhorn.
func ExampleSemiDualSAG() {
	rng := rand.New(rand.NewPCG(3, 4))
	x, y := mat.NewDense(30, 2, nil), mat.NewDense(20, 2, nil)
	for _, p := range []*mat.Dense{x, y} {
		r, _ := p.Dims()
		for i := 0; i < r; i++ {
			p.Set(i, 0, rng.Float64())
			p.Set(i, 1, rng.Float64())
		}
	}
	C, _ := ot.SqEuclidean.Matrix(x, y)
	sk, _ := ot.Sinkhorn(nil, nil, C, 0.05, &ot.SinkhornOptions{Tol: 1e-12})
	sag, err := ot.SemiDualSAG(nil, nil, C, 0.05, &ot.StochasticOptions{MaxIter: 50000})
	if err != nil {
		panic(err)
	}
	fmt.Printf("Sinkhorn %.6f, SAG %.6f\n", sk.Cost, sag.Value)
	// Output:
	// Sinkhorn 0.090629, SAG 0.090629
}
