package ot

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// The self problems OT_ε(α,α) of an unrolled divergence have equal potentials, and run
// as GeomLoss does them (sinkhorn_loop's symmetric updates; Feydy et al. 2019, §3.1):
// one potential and the averaged update
//
//	f_k = ½(f_{k−1} + T_k(f_{k−1})),   T_k(f)_i = −ε_k log Σ_j a_j exp((f_j − C_ij)/ε_k),
//
// from f_0 = 0, the fixed point solveSymmetric converges to. The alternating updates of
// a general problem creep on these problems (their two potentials oscillate about the
// symmetric one: at ε = 0.2, 256 points in 2-D, a marginal error of 2e-5 after 50
// iterations, where the averaged ones reach 1e-15), and cost two passes over the
// kernel per iteration where the averaged ones cost one. The record keeps F = G = f_L,
// whose Dual 2⟨a, f_L⟩ = ⟨a, f_{L−1}⟩ + ⟨a, T(f_{L−1})⟩ is the dual at a c-transform pair.
//
// Reverse mode: with π_ij = a_j exp((f_{k−1,j} + T_i − C_ij)/ε_k) the softmax weights of
// T (rows summing to 1; ∂T_i/∂f_j = −π_ij, ∂T_i/∂C_ij = π_ij), step k of the reverse
// sweep is
//
//	t̄ = ½ f̄_k,   f̄_{k−1} = ½ f̄_k − πᵀ t̄,   C̄ += diag(t̄) π,
//
// seeded with f̄_L = 2·dDual·a plus the primal's derivatives in both slots. In the
// scaling domain, K = e^(−C/ε) (the rows' minimum, the diagonal, is 0), z = e^(f/ε),
// s_k = K(a∘z_{k−1}) and z_k = √(z_{k−1}/s_k), so that π = diag(1/s_k) K diag(a∘z_{k−1})
// and each step is one product Kᵀ(t̄/s_k) and one rank-one term of C̄.

// planU is the row scaling of the scaling-domain plan P = diag(a∘u) K diag(b∘v_L).
func (u *Unrolled) planU() []float64 {
	L := len(u.eps)
	if u.sym {
		return u.vs[L]
	}
	return u.us[L]
}

// forwardSymLog runs the averaged updates in the log domain: fs[k] = f_k and
// gs[k] = T_k(f_{k−1}), on the cost p.C.
func (u *Unrolled) forwardSymLog() {
	p, L := u.p, len(u.eps)
	for k := 1; k <= L; k++ {
		f, t := make([]float64, p.n), make([]float64, p.n)
		p.updateF(t, u.fs[k-1], u.eps[k-1]) // b = a, and row i of C holds c(x_i, ·)
		for i := range f {
			f[i] = (u.fs[k-1][i] + t[i]) / 2
		}
		u.fs[k], u.gs[k] = f, t
	}
	u.F, u.G = u.fs[L], append([]float64(nil), u.fs[L]...)
}

// symRows is phase k of a self problem's scaling-domain forward pass over rows
// [lo, hi): s = K(b∘z_{k−1}), us[k] = 1/s, z_k = vs[k] = √(z_{k−1}/s); bz[(k−1)%2]
// holds b∘z_{k−1}, and b∘z_k goes to the other.
func (u *Unrolled) symRows(k, lo, hi int, kr kernelRows, us, vs [][]float64, bz [2][]float64) {
	in, out := bz[(k-1)%2], bz[k%2]
	for i := lo; i < hi; i++ {
		s := kr.dot(i, in)
		z := math.Sqrt(vs[k-1][i] / s)
		us[k][i], vs[k][i] = 1/s, z
		out[i] = u.p.b[i] * z
	}
}

// adjointSymLog is adjointLog's sweep for a self problem: fbar and gbar are the seeds
// of the two slots of f_L, C̄ receives the sweep's terms, acc are sweepVectors.
func (u *Unrolled) adjointSymLog(fbar, gbar []float64, Cbar *mat.Dense, acc [][]float64) {
	p, n := u.p, u.p.n
	floats.Add(fbar, gbar)
	for k := len(u.eps); k >= 1; k-- {
		eps, fPrev, t := u.eps[k-1], u.fs[k-1], u.gs[k]
		for _, a := range acc {
			clear(a)
		}
		forBlocks(n, n, func(blk, lo, hi int) {
			pi := make([]float64, n)
			inv := 1 / eps
			for i := lo; i < hi; i++ {
				crow := p.C[i*n : (i+1)*n]
				for j, c := range crow {
					pi[j] = p.logb[j] + (fPrev[j]+t[i]-c)*inv
				}
				expSlice(pi)
				tb := fbar[i] / 2
				axpy(tb, pi, Cbar.RawRowView(i))
				axpy(-tb, pi, acc[blk])
			}
		})
		floats.Scale(0.5, fbar)
		sumBlocks(fbar, acc)
	}
}

// adjointSymFactors is adjointFactors' sweep for a self problem in the scaling domain:
// C̄ = K ∘ (A·Bᵀ) + direct with one column of A (t̄/s_k) and of B (a∘z_{k−1}) per step.
func (u *Unrolled) adjointSymFactors(fbar, gbar []float64, direct *mat.Dense, K kernelRows) *cbarFactors {
	p, L := u.p, len(u.eps)
	n := p.n
	floats.Add(fbar, gbar)
	// Every entry of A and B is set below.
	A, B := mat.NewDense(n, L, parallel.Float64.Get(n*L)), mat.NewDense(n, L, parallel.Float64.Get(n*L))
	nb := sweepBlocks(n, n)
	acc := sweepVectors(nb, n)
	defer putVectors(acc)
	// Phases 2(L−k) and 2(L−k)+1 are step k's row sweep and column reduction.
	parallel.Phases(2*L, nb, func(phase, blk int) {
		k := L - phase/2
		col := k - 1
		if phase%2 == 0 {
			// the block's rows: t̄/s_k into A and their share of Kᵀ(t̄/s_k)
			lo, hi := parallel.Block(n, nb, blk)
			var c [4]float64
			for i0 := lo; i0 < hi; i0 += 4 {
				rows := min(4, hi-i0)
				for r := range rows {
					i := i0 + r
					c[r] = fbar[i] / 2 * u.us[k][i]
					A.Set(i, col, c[r])
				}
				K.axpyRows(i0, rows, &c, acc[blk])
			}
			return
		}
		// the block's columns: B and f̄_{k−1} (the shares summed in block order)
		jlo, jhi := parallel.Block(n, nb, blk)
		zPrev := u.vs[k-1]
		for j := jlo; j < jhi; j++ {
			w := p.b[j] * zPrev[j]
			B.Set(j, col, w)
			s := 0.0
			for q := range acc {
				s += acc[q][j]
				acc[q][j] = 0
			}
			fbar[j] = fbar[j]/2 - w*s
		}
	})
	return &cbarFactors{A: A, B: B, direct: direct, K: K}
}
