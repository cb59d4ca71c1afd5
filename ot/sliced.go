package ot

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// DefaultProjections is the number of random directions of SlicedOptions, POT's default.
const DefaultProjections = 50

// SlicedOptions tunes SlicedWasserstein and MaxSlicedWasserstein. A nil *SlicedOptions
// means all defaults.
type SlicedOptions struct {
	// Projections is the number of random directions, drawn uniformly on the unit
	// sphere from a PCG generator seeded with Seed; 0 means DefaultProjections.
	Projections int
	Seed        uint64
	// Directions, when not nil, are the directions to use (one per row, k×d, taken as
	// given like POT's projections: unit rows give the usual distance); Projections
	// and Seed are then ignored.
	Directions *mat.Dense
	// Grad asks for the gradients with respect to the points in the result.
	Grad bool
}

// SlicedResult is the output of SlicedWasserstein and MaxSlicedWasserstein.
type SlicedResult struct {
	// Value is SW_p (the mean over the directions of W_p^p, to the power 1/p) or, for
	// MaxSlicedWasserstein, the largest W_p over the directions.
	Value float64
	// PerDirection[t] is W_p^p between the measures projected on direction t.
	PerDirection []float64
	// Directions are the directions used, k×d.
	Directions *mat.Dense
	// Grad holds ∂Value/∂x and ∂Value/∂y when SlicedOptions.Grad is set (A and B are nil).
	// Where Value is 0 it is the zero subgradient.
	Grad *Gradients
}

// SlicedWasserstein returns the sliced Wasserstein distance (Rabin et al. 2011;
// Kolouri et al. 2018; Deshpande et al. 2018)
//
//	SW_p(α,β) = ( 1/k Σ_t W_p^p(θ_t#α, θ_t#β) )^(1/p)
//
// between α = Σ a_i δ_{x_i} and β = Σ b_j δ_{y_j} over k directions θ_t, each W_p^p
// between the projections on the line in closed form (the monotone coupling, as in
// Exact1D), p ≥ 1. It is POT's sliced_wasserstein_distance given the same directions
// (projections = Directionsᵀ). In one dimension, with the direction 1 (or −1), it is
// W_p exactly. The cost is O(k(n+m)(d + log(n+m))) and needs no n×m matrix.
func SlicedWasserstein(x, y *mat.Dense, a, b []float64, p float64, opts *SlicedOptions) (*SlicedResult, error) {
	return sliced(x, y, a, b, p, opts, false)
}

// MaxSlicedWasserstein returns max_t W_p(θ_t#α, θ_t#β) over the directions of opts, as
// POT's max_sliced_wasserstein_distance does over its projections (Deshpande et al.
// 2019 maximize over the sphere instead). Its gradient is that of the maximizing
// direction's W_p.
func MaxSlicedWasserstein(x, y *mat.Dense, a, b []float64, p float64, opts *SlicedOptions) (*SlicedResult, error) {
	return sliced(x, y, a, b, p, opts, true)
}

func sliced(x, y *mat.Dense, a, b []float64, p float64, opts *SlicedOptions, maxOnly bool) (*SlicedResult, error) {
	if !(p >= 1) || math.IsInf(p, 0) {
		return nil, invalid("sliced wasserstein: p = %v must be finite and ≥ 1", p)
	}
	if err := pointPair(x, y); err != nil {
		return nil, err
	}
	n, d := x.Dims()
	m := rowsOf(y)
	a, err := weights("a", a, n)
	if err != nil {
		return nil, err
	}
	if b, err = weights("b", b, m); err != nil {
		return nil, err
	}
	b = exactBalance(a, b)
	var o SlicedOptions
	if opts != nil {
		o = *opts
	}
	k := o.Projections
	if o.Directions != nil {
		if o.Directions.IsEmpty() {
			return nil, invalid("sliced wasserstein: Directions is empty")
		}
		var dd int
		if k, dd = o.Directions.Dims(); dd != d {
			return nil, invalid("sliced wasserstein: Directions has %d columns for points of dimension %d", dd, d)
		}
		for t := 0; t < k; t++ {
			if !allFinite(o.Directions.RawRowView(t)) {
				return nil, invalid("sliced wasserstein: direction %d is not finite", t)
			}
		}
	} else if k < 0 {
		return nil, invalid("sliced wasserstein: Projections = %d is negative", k)
	} else if k == 0 {
		k = DefaultProjections
	}
	// The projections (k×(n+m)) and, with gradients, their derivatives.
	entries := area(k, n+m) + area(k, d)
	if o.Grad {
		entries *= 2
	}
	if err := denseFits(fmt.Sprintf("sliced wasserstein with %d directions between %d and %d points", k, n, m), entries); err != nil {
		return nil, err
	}
	theta := o.Directions
	if theta == nil {
		theta = randomDirections(k, d, o.Seed)
	}
	// Row t of px, py holds the projections θ_t·x_i, θ_t·y_j.
	px, py := mat.NewDense(k, n, nil), mat.NewDense(k, m, nil)
	mulNT(px, theta, x)
	mulNT(py, theta, y)
	if !allFinite(px.RawMatrix().Data) || !allFinite(py.RawMatrix().Data) {
		return nil, outOfRange("sliced wasserstein: a projection overflows float64; rescale the points or the directions")
	}
	res := &SlicedResult{PerDirection: make([]float64, k), Directions: theta}
	var gx, gy *mat.Dense // ∂W_p^p(θ_t) / ∂(θ_t·x_i), row t
	if o.Grad {
		gx, gy = mat.NewDense(k, n, nil), mat.NewDense(k, m, nil)
	}
	parallel.For(k, 8*(n+m), func(_, lo, hi int) {
		xs, ys := make([]atom1D, n), make([]atom1D, m)
		for t := lo; t < hi; t++ {
			cost := 0.0
			var dx, dy []float64
			if gx != nil {
				dx, dy = gx.RawRowView(t), gy.RawRowView(t)
			}
			monotoneCoupling(sortAtoms1D(xs, px.RawRowView(t), a), sortAtoms1D(ys, py.RawRowView(t), b), func(xi, yj atom1D, w float64) {
				diff := xi.v - yj.v
				cost += w * exactPowAbs(diff, p)
				if dx != nil && diff != 0 {
					// d/dx |x−y|^p = p|x−y|^(p−1) sign(x−y)
					g := w * p * exactPowAbs(diff, p-1) * math.Copysign(1, diff)
					dx[xi.i] += g
					dy[yj.i] -= g
				}
			})
			res.PerDirection[t] = cost
		}
	})
	// coef[t] = ∂Value/∂W_p^p(θ_t).
	coef := make([]float64, k)
	if maxOnly {
		t := floats.MaxIdx(res.PerDirection)
		res.Value = math.Pow(res.PerDirection[t], 1/p)
		if res.Value > 0 {
			coef[t] = math.Pow(res.Value, 1-p) / p
		}
	} else {
		res.Value = math.Pow(floats.Sum(res.PerDirection)/float64(k), 1/p)
		if res.Value > 0 {
			floats.AddConst(math.Pow(res.Value, 1-p)/(p*float64(k)), coef)
		}
	}
	if gx != nil {
		// ∂/∂x_i = Σ_t coef_t gx_ti θ_t: (diag(coef) gx)ᵀ Θ.
		for t, c := range coef {
			floats.Scale(c, gx.RawRowView(t))
			floats.Scale(c, gy.RawRowView(t))
		}
		res.Grad = &Gradients{X: mat.NewDense(n, d, nil), Y: mat.NewDense(m, d, nil)}
		res.Grad.X.Mul(gx.T(), theta)
		res.Grad.Y.Mul(gy.T(), theta)
	}
	return res, nil
}

// randomDirections returns k directions drawn uniformly on the unit sphere of R^d
// (normalized Gaussian vectors, as POT's get_random_projections) from a PCG generator
// seeded with seed, one per row.
func randomDirections(k, d int, seed uint64) *mat.Dense {
	rng := rand.New(rand.NewPCG(seed, 0x51ced))
	theta := mat.NewDense(k, d, nil)
	for t := 0; t < k; t++ {
		row := theta.RawRowView(t)
		for norm := 0.0; norm == 0; norm = floats.Norm(row, 2) {
			for i := range row {
				row[i] = rng.NormFloat64()
			}
		}
		floats.Scale(1/floats.Norm(row, 2), row)
	}
	return theta
}
