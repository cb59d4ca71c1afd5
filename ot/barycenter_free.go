package ot

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Defaults of FreeSupportOptions, those of POT's ot.lp.free_support_barycenter.
const (
	DefaultFreeSupportMaxIter = 100
	DefaultFreeSupportTol     = 1e-7
)

// FreeSupportOptions tunes FreeSupportBarycenter. A nil *FreeSupportOptions means
// all defaults: exact couplings, uniform barycenter weights.
type FreeSupportOptions struct {
	// Eps = 0 couples by exact OT (Exact, the network simplex); Eps > 0 by entropic
	// OT (Sinkhorn at ε, a⊗b convention), with Sinkhorn's options.
	Eps      float64
	Sinkhorn *SinkhornOptions
	Exact    *ExactOptions
	// Weights are the fixed weights of the barycenter's points; nil means uniform.
	Weights []float64
	MaxIter int     // point updates; 0 means DefaultFreeSupportMaxIter
	Tol     float64 // stop when Σ_i |x_i − x_i^prev|² ≤ Tol; 0 means DefaultFreeSupportTol
}

// FreeSupportResult is the output of FreeSupportBarycenter.
type FreeSupportResult struct {
	Points  *mat.Dense // the barycenter's points, m×d
	Weights []float64  // their weights (as given)
	// Cost is Σ_k λ_k OT(barycenter, μ_k) for the last couplings: the exact cost, or
	// the entropic OT_ε (Sinkhorn's Cost), at the points before the last update.
	Cost float64
	// Displacement is Σ_i |x_i − x_i^prev|² of the last update.
	Displacement float64
	Iterations   int
	// Converged reports Displacement ≤ Tol (and, with Eps > 0, converged Sinkhorn
	// solves in the last round).
	Converged bool
}

// FreeSupportBarycenter computes a Wasserstein barycenter of the point clouds μ_k =
// (clouds[k], weights[k]) with weights λ (nil: uniform) whose support is free: m
// points x_i with fixed weights a_i, starting at init (m×d). It alternates optimal
// couplings P_k between the barycenter and each μ_k and the point update that
// minimizes Σ_k λ_k Σ_ij P_k,ij c(x_i, y_k,j) for the squared Euclidean cost,
//
//	x_i = Σ_k λ_k (P_k Y_k)_i / Σ_k λ_k (P_k 1)_i,
//
// (Cuturi & Doucet, "Fast computation of Wasserstein barycenters", ICML 2014,
// Algorithm 2; POT's ot.lp.free_support_barycenter). Each step decreases the
// objective; the limit is a stationary point, not necessarily the global minimum.
// With entropic couplings the fixed point is a stationary point of Σ_k λ_k OT_ε.
// The cost c must be s·|x−y|² (Power 2, any Scale): the update is a weighted mean.
// weights may be nil (all clouds uniform) or hold nil entries.
func FreeSupportBarycenter(clouds []*mat.Dense, weights [][]float64, lambda []float64, init *mat.Dense, c Cost, opts *FreeSupportOptions) (*FreeSupportResult, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c = c.orDefault(); c.Power != 2 {
		return nil, invalid("free-support barycenter: cost %v must be quadratic (Power 2)", c)
	}
	var o FreeSupportOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxIter == 0 {
		o.MaxIter = DefaultFreeSupportMaxIter
	}
	if o.Tol == 0 {
		o.Tol = DefaultFreeSupportTol
	}
	switch {
	case o.Eps < 0 || math.IsNaN(o.Eps) || math.IsInf(o.Eps, 0):
		return nil, invalid("free-support barycenter: Eps = %v must be zero (exact) or positive and finite", o.Eps)
	case o.MaxIter < 0:
		return nil, invalid("free-support barycenter: MaxIter = %d is negative", o.MaxIter)
	case !(o.Tol > 0):
		return nil, invalid("free-support barycenter: Tol = %v must be positive", o.Tol)
	}
	if len(clouds) == 0 {
		return nil, invalid("free-support barycenter: no point clouds")
	}
	if weights != nil && len(weights) != len(clouds) {
		return nil, invalid("free-support barycenter: %d weight vectors for %d clouds", len(weights), len(clouds))
	}
	if err := points("init", init); err != nil {
		return nil, err
	}
	m, d := init.Dims()
	// Per cloud, in turn: the cost and the inner solver's matrices, its plan included,
	// or the exact solver's copy of the cost and its dense plan.
	inner := sinkhornMatrices(&SinkhornOptions{Plan: true})
	if o.Sinkhorn != nil {
		so := *o.Sinkhorn
		so.Plan = true
		inner = sinkhornMatrices(&so)
	}
	if o.Eps == 0 {
		inner = 3
	}
	for k, y := range clouds {
		if err := denseFits(fmt.Sprintf("a free-support barycenter of %d points with clouds[%d] of %d", m, k, rowsOf(y)), inner*area(m, rowsOf(y))); err != nil {
			return nil, err
		}
	}
	ws := make([][]float64, len(clouds))
	for k, y := range clouds {
		if err := points(baryName("clouds", k), y); err != nil {
			return nil, err
		}
		nk, dk := y.Dims()
		if dk != d {
			return nil, invalid("free-support barycenter: clouds[%d] has dimension %d but init has %d", k, dk, d)
		}
		var w []float64
		if weights != nil {
			w = weights[k]
		}
		var err error
		if ws[k], err = baryWeights(baryName("weights", k), w, nk); err != nil {
			return nil, err
		}
	}
	lam, err := baryLambda(lambda, len(clouds))
	if err != nil {
		return nil, err
	}
	a, err := baryWeights("Weights", o.Weights, m)
	if err != nil {
		return nil, err
	}
	x := mat.DenseCopyOf(init)
	num := mat.NewDense(m, d, nil)
	den := make([]float64, m)
	res := &FreeSupportResult{Weights: append([]float64(nil), a...)}
	for res.Iterations < o.MaxIter {
		num.Zero()
		clear(den)
		res.Cost = 0
		allConverged := true
		for k, y := range clouds {
			C := c.matrix(x, y)
			var P mat.Matrix
			if o.Eps == 0 {
				r, err := Exact(a, ws[k], C, o.Exact)
				if err != nil {
					return nil, err
				}
				res.Cost += lam[k] * r.Cost
				nk, _ := y.Dims()
				P = r.DensePlan(m, nk)
			} else {
				so := SinkhornOptions{}
				if o.Sinkhorn != nil {
					so = *o.Sinkhorn
				}
				so.Plan = true
				r, err := Sinkhorn(a, ws[k], C, o.Eps, &so)
				if err != nil {
					return nil, err
				}
				allConverged = allConverged && r.Converged
				res.Cost += lam[k] * r.Cost
				P = r.Plan
			}
			var py mat.Dense
			py.Mul(P, y)
			for i := 0; i < m; i++ {
				rs := 0.0
				for _, v := range mat.Row(nil, i, P) {
					rs += v
				}
				den[i] += lam[k] * rs
				for j := 0; j < d; j++ {
					num.Set(i, j, num.At(i, j)+lam[k]*py.At(i, j))
				}
			}
		}
		disp := 0.0
		for i := 0; i < m; i++ {
			if !(den[i] > 0) {
				continue // a point of zero weight carries no mass: it stays
			}
			for j := 0; j < d; j++ {
				v := num.At(i, j) / den[i]
				disp += (v - x.At(i, j)) * (v - x.At(i, j))
				x.Set(i, j, v)
			}
		}
		res.Iterations++
		res.Displacement = disp
		if disp <= o.Tol {
			res.Converged = allConverged
			break
		}
	}
	res.Points = x
	return res, nil
}

// baryWeights is weights() that returns a copy, so results never alias the input.
func baryWeights(field string, w []float64, n int) ([]float64, error) {
	w, err := weights(field, w, n)
	return append([]float64(nil), w...), err
}
