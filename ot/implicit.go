package ot

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// Implicit differentiation of a Sinkhorn solve (the idea of OTT-JAX's
// implicit_differentiation): instead of the L iterations (Backward) or the envelope
// theorem (BackwardEnvelope), the gradient of the converged potentials comes from the
// optimality conditions of the dual,
//
//	G(f, g, C) = (a − P1, b − Pᵀ1) = 0,   P_ij = a_i b_j exp((f_i + g_j − C_ij)/ε),
//
// by the implicit function theorem. For a loss ℓ(f, g, C), with r = ∂ℓ/∂(f, g) and H
// the Hessian of the dual times ε,
//
//	H = [diag(P1)  P; Pᵀ  diag(Pᵀ1)],   H μ = r,   dℓ/dC_ij = ∂ℓ/∂C_ij + (μ_i + μ_j) P_ij.
//
// H is singular along (1, −1), the shift f + t, g − t that leaves P unchanged; r is
// orthogonal to it for every ℓ that does not see the shift (Σr_f = Σr_g, true of the
// dual ⟨a,f⟩ + ⟨b,g⟩ and of the primal ⟨P,C⟩ whatever the iterate, since H is built from
// P's own sums). The system is solved by eliminating the larger side (the Schur
// complement diag(Pᵀ1) − Pᵀ diag(1/P1) P, made definite by adding γ·11ᵀ, which changes
// no solution of a consistent system) and a Cholesky factorization: O(nm·min(n,m) +
// min(n,m)³) operations, deterministic, exact to rounding.
//
// What it adds to the envelope theorem: for the dual value, μ = (½, ½) solves the
// system at convergence and dℓ/dC = P, the envelope gradient — the two agree there,
// and differ before convergence by the terms the marginal error leaves. For a loss of
// the plan, such as the primal ⟨P, C⟩ (Genevay et al.'s debiased loss), the envelope
// theorem does not apply at all and BackwardEnvelope is not its gradient; the implicit
// one is, at convergence, exactly, and it costs neither the L-fold work nor the tape
// of the unrolled backward pass.

// BackwardImplicit adds to gx and gy the gradients of dDual·Dual + dPrimal·Primal with
// respect to the points, obtained by implicit differentiation of the optimality
// conditions at the record's final potentials: the gradient of the converged solution,
// exact when the record has converged (see the comment above). Destinations as in
// Backward. It fails, wrapping ErrOutOfRange, when the plan has underflowed into
// disconnected blocks (then the potentials are not determined by the conditions), or
// wrapping ErrTooLarge when the linear system would exceed MaxDenseBytes.
func (u *Unrolled) BackwardImplicit(dDual, dPrimal float64, gx, gy Points) error {
	Cbar, err := u.implicitAdjoint(dDual, dPrimal)
	if err != nil {
		return err
	}
	u.addGradTo(Cbar, gx, gy)
	parallel.Float64.Put(Cbar.RawMatrix().Data)
	return nil
}

// implicitAdjoint returns dℓ/dC for ℓ = dDual·Dual + dPrimal·Primal by the implicit
// function theorem at the final potentials.
func (u *Unrolled) implicitAdjoint(dDual, dPrimal float64) (*mat.Dense, error) {
	p := u.p
	n, m := p.n, p.m
	k := min(n, m)
	if err := denseFits(fmt.Sprintf("the implicit backward pass between %d and %d points", n, m),
		3*area(n, m)+area(k, k)); err != nil {
		return nil, err
	}
	src := u.planSource()
	P := mat.NewDense(n, m, parallel.Float64.Get(n*m)) // every row is written
	defer parallel.Float64.Put(P.RawMatrix().Data)
	rs, cs := make([]float64, n), make([]float64, m)
	colAcc := blockVectors(m)
	parallel.For(n, m, func(blk, lo, hi int) {
		for i := lo; i < hi; i++ {
			rs[i] = u.planRow(src, i, P.RawRowView(i))
			floats.Add(colAcc[blk], P.RawRowView(i))
		}
	})
	sumBlocks(cs, colAcc)
	// r = ∂ℓ/∂(f, g); the primal's own ∂/∂C goes to Cbar.
	r1, r2 := make([]float64, n), make([]float64, m)
	floats.AddScaled(r1, dDual, p.a)
	floats.AddScaled(r2, dDual, p.b)
	Cbar := mat.NewDense(n, m, parallel.Float64.Get(n*m))
	if dPrimal != 0 {
		u.seedPrimal(dPrimal, r1, r2, Cbar, src) // writes every row
	} else {
		clear(Cbar.RawMatrix().Data)
	}
	var mu1, mu2 []float64
	var err error
	if n >= m {
		mu1, mu2, err = solveSaddle(P, rs, cs, r1, r2)
	} else {
		mu2, mu1, err = solveSaddle(P.T(), cs, rs, r2, r1)
	}
	if err != nil {
		parallel.Float64.Put(Cbar.RawMatrix().Data)
		return nil, err
	}
	parallel.For(n, m, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row, prow := Cbar.RawRowView(i), P.RawRowView(i)
			for j, pij := range prow {
				row[j] += (mu1[i] + mu2[j]) * pij
			}
		}
	})
	return Cbar, nil
}

// solveSaddle solves [diag(re) Q; Qᵀ diag(rk)] (μe, μk) = (be, bk) for the plan Q
// (elim×keep) with row sums re and column sums rk, by eliminating μe. Entries of zero
// mass (zero weights, or rows that underflowed) get μ = 0: their plan entries are 0.
func solveSaddle(Q mat.Matrix, re, rk, be, bk []float64) (mue, muk []float64, err error) {
	ne, nk := len(re), len(rk)
	// W = diag(1/√re) Q, so that QᵀD⁻¹Q = WᵀW; rhs = bk − Qᵀ(be/re).
	W := mat.NewDense(ne, nk, parallel.Float64.Get(ne*nk))
	defer parallel.Float64.Put(W.RawMatrix().Data)
	rhs := append([]float64(nil), bk...)
	for i := 0; i < ne; i++ {
		row := W.RawRowView(i)
		if !(re[i] > 0) {
			clear(row)
			continue
		}
		s, t := 1/math.Sqrt(re[i]), be[i]/re[i]
		for j := range row {
			q := Q.At(i, j)
			row[j] = s * q
			rhs[j] -= t * q
		}
	}
	S := mat.NewSymDense(nk, nil)
	S.SymRankK(S, -1, W.T())
	// Gauge: γ·vvᵀ over the entries with mass, v their indicator; the others are fixed to 0.
	gamma, active := 0.0, 0
	for _, c := range rk {
		if c > 0 {
			gamma += c
			active++
		}
	}
	if active == 0 {
		return nil, nil, outOfRange("implicit: the plan is zero")
	}
	gamma /= float64(active)
	for j := 0; j < nk; j++ {
		if !(rk[j] > 0) {
			for l := 0; l < nk; l++ {
				S.SetSym(j, l, 0)
			}
			S.SetSym(j, j, 1)
			rhs[j] = 0
			continue
		}
		S.SetSym(j, j, S.At(j, j)+rk[j])
		for l := j; l < nk; l++ {
			if rk[l] > 0 {
				S.SetSym(j, l, S.At(j, l)+gamma)
			}
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(S) {
		return nil, nil, outOfRange("implicit: the linear system of the optimality conditions is singular (the plan has underflowed into disconnected blocks at this ε); use the unrolled backward pass")
	}
	muk = make([]float64, nk)
	if err := ch.SolveVecTo(mat.NewVecDense(nk, muk), mat.NewVecDense(nk, rhs)); err != nil {
		return nil, nil, outOfRange("implicit: %v", err)
	}
	mue = make([]float64, ne)
	for i := 0; i < ne; i++ {
		if !(re[i] > 0) {
			continue
		}
		s := be[i]
		for j := 0; j < nk; j++ {
			s -= Q.At(i, j) * muk[j]
		}
		mue[i] = s / re[i]
	}
	if !allFinite(muk) || !allFinite(mue) {
		return nil, nil, outOfRange("implicit: the solution of the optimality conditions' system is not finite")
	}
	return mue, muk, nil
}

// BackwardImplicit adds to gx, gy the implicit gradients (see Unrolled.BackwardImplicit)
// of dDual·Dual + dPrimal·Primal of the three problems; zero destinations as in
// Backward.
func (d *UnrolledDivergence) BackwardImplicit(dDual, dPrimal float64, gx, gy Points) error {
	if err := d.XY.BackwardImplicit(dDual, 2*dPrimal, gx, gy); err != nil {
		return err
	}
	if !gx.none() {
		if err := d.XX.BackwardImplicit(-dDual/2, -dPrimal, gx, gx); err != nil {
			return err
		}
	}
	if !gy.none() {
		return d.YY.BackwardImplicit(-dDual/2, -dPrimal, gy, gy)
	}
	return nil
}
