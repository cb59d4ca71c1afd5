package ot

import (
	"math"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// stabilized runs the scaling-domain iteration P = diag(u) K diag(v) with
// K_ij = exp((α_i + β_j − C_ij)/ε), starting from log potentials α = f, β = g and
// u = a, v = b. One sweep over K per iteration computes both K v (for u) and
// Kᵀu (for v): each row is dotted with v, then added to Kᵀu while still in cache.
// When a scaling leaves [e^−τ, e^τ] it is absorbed into α, β and K is rebuilt.
// ok = false reports that the kernel underflowed (a zero row or column sum); the
// returned potentials are then those of the last finite iterate.
//
// The kernel is built inside the first sweep, row by row while each row is hot, and
// that build also checks the cost matrix when p.costUnchecked: a NaN or infinite cost
// sets p.badCost and ends the solve at once. The returned plan carries its marginals
// when the sweeps have computed them (the row sums u_i (Kv)_i come with the error
// test, the column sums v_j (Kᵀu)_j with the v-update), so finish needs no pass for them.
//
// w, when not nil, watches the errors and may stop the iteration for the Newton
// finisher (see stallWatch).
func (p *problem) stabilized(f, g []float64, eps float64, o SinkhornOptions, done int, res *SinkhornResult, w *stallWatch) (_, _ []float64, plan *scaledPlan, iters int, converged, ok bool) {
	return p.stabilizedRelaxed(f, g, eps, o, done, res, nil, w)
}

// relaxation is the unbalanced form of the scaling updates (see Unbalanced): with
// damping λ = ρ/(ρ+ε), u_i = a_i (K v)_i^(−λ) e^((λ−1)α_i/ε), and the row sums are
// compared with a_i e^(−f_i/ρ) = a_i e^(−α_i/ρ) (u_i/a_i)^(−ε/ρ). The per-point factors
// depend on the absorbed potentials only, and are rebuilt with the kernel.
type relaxation struct {
	lamA, lamB, rhoA, rhoB float64
	ca, ta, cb, tb         []float64 // e^((λ−1)α/ε) and a e^(−α/ρ), and b's
}

// factors recomputes the per-point factors from the absorbed potentials.
func (rl *relaxation) factors(p *problem, alpha, beta []float64, eps float64) {
	set := func(c, t, w, pot []float64, lam, rho float64) {
		for i, x := range pot {
			c[i] = math.Exp((lam - 1) * x / eps)
			t[i] = w[i] * math.Exp(-x/rho)
		}
	}
	if rl.ca == nil {
		rl.ca, rl.ta = make([]float64, p.n), make([]float64, p.n)
		rl.cb, rl.tb = make([]float64, p.m), make([]float64, p.m)
	}
	set(rl.ca, rl.ta, p.a, alpha, rl.lamA, rl.rhoA)
	set(rl.cb, rl.tb, p.b, beta, rl.lamB, rl.rhoB)
}

// translate is problem.translate in the absorbed form: the τ that maximizes the dual
// along (f+τ, g−τ) moves α to α+τ and β to β−τ, which leaves the kernel, the scalings
// and the plan unchanged; only the per-point factors follow. Without it the damped
// updates shrink that direction by only λ_a·λ_b per iteration.
func (rl *relaxation) translate(p *problem, alpha, beta, u, v []float64, eps float64) {
	// a e^(−f/ρ_a) = ta (u/a)^(−ε/ρ_a), the row sums' target in the sweep.
	mass := func(t, w, s []float64, rho float64) float64 {
		sum := 0.0
		for i, wi := range w {
			if wi > 0 {
				sum += t[i] * math.Pow(s[i]/wi, -eps/rho)
			}
		}
		return sum
	}
	tau := math.Log(mass(rl.ta, p.a, u, rl.rhoA)/mass(rl.tb, p.b, v, rl.rhoB)) / (1/rl.rhoA + 1/rl.rhoB)
	if tau == 0 || math.IsNaN(tau) || math.IsInf(tau, 0) {
		return
	}
	for i := range alpha {
		alpha[i] += tau
	}
	for j := range beta {
		beta[j] -= tau
	}
	rl.factors(p, alpha, beta, eps)
}

// stabilizedRelaxed is stabilized, with the unbalanced updates of rl when not nil.
func (p *problem) stabilizedRelaxed(f, g []float64, eps float64, o SinkhornOptions, done int, res *SinkhornResult, rl *relaxation, w *stallWatch) (_, _ []float64, plan *scaledPlan, iters int, converged, ok bool) {
	n, m := p.n, p.m
	alpha, beta := append([]float64(nil), f...), append([]float64(nil), g...)
	K := parallel.Float64.Get(n * m) // every row is written before it is read
	stale := true
	u, v := make([]float64, n), make([]float64, m)
	uNew, vNew := make([]float64, n), make([]float64, m)
	// u = a, v = b make the first iterate's potentials exactly (f, g).
	copy(u, p.a)
	copy(v, p.b)
	// rows[i] = u_i (K v)_i, cols[j] = v_j (Kᵀu)_j: the marginals of the current plan
	// (cols only while colsKnown).
	rows, cols := make([]float64, n), make([]float64, m)
	colsKnown := false
	blocks := parallel.MaxBlocks()
	acc := make([][]float64, blocks)
	for k := range acc {
		acc[k] = make([]float64, m)
	}
	stats := make([]sweepStats, blocks)
	hiS, loS := math.Exp(o.AbsorbAt), math.Exp(-o.AbsorbAt)
	if rl != nil {
		rl.factors(p, alpha, beta, eps)
	}
	potentials := func() ([]float64, []float64, *scaledPlan) {
		f, g := p.fromScalings(alpha, beta, u, v, eps)
		sp := &scaledPlan{K: K, u: u, v: v}
		if colsKnown {
			sp.rows, sp.cols = rows, cols
		}
		return f, g, sp
	}
	inv := 1 / eps
	sweep := func(blk, lo, hi int) {
		w, st := acc[blk], sweepStats{finite: true}
		clear(w)
		// update takes row i's K v product s: the row sum and error of the current
		// plan, the new scaling a_i/s and its checks.
		update := func(i int, s float64) float64 {
			ai := p.a[i]
			r := u[i] * s
			rows[i] = r
			target, x := ai, ai/s
			if rl != nil {
				target = rl.ta[i] * math.Pow(u[i]/ai, -eps/rl.rhoA)
				x = ai * math.Pow(s, -rl.lamA) * rl.ca[i]
			}
			d := math.Abs(r - target)
			if o.ErrorNorm == 2 {
				d *= d
			}
			st.err += d
			uNew[i] = x
			if !(x > 0 && x <= math.MaxFloat64) {
				st.bad = true
			} else if x > hiS || x < loS {
				st.out = true
			}
			return x
		}
		var s4, x4 [4]float64
		for i := lo; i < hi; {
			if stale {
				for r := i; r < min(i+4, hi); r++ {
					if !kernelRow(K[r*m:(r+1)*m], p.C[r*m:(r+1)*m], beta, alpha[r], inv) {
						st.finite = false
					}
				}
			}
			if i+4 <= hi && p.a[i] > 0 && p.a[i+1] > 0 && p.a[i+2] > 0 && p.a[i+3] > 0 {
				// Four rows at once: each load of v, and each load and store of Kᵀu,
				// serves four rows.
				k4 := K[i*m : (i+4)*m]
				dot4(k4, m, v, &s4)
				for r := range 4 {
					x4[r] = update(i+r, s4[r])
				}
				axpy4(k4, m, &x4, w)
				i += 4
				continue
			}
			for end := min(i+4, hi); i < end; i++ {
				if p.a[i] == 0 {
					uNew[i], rows[i] = 0, 0
					continue
				}
				row := K[i*m : (i+1)*m]
				axpy(update(i, dot(row, v)), row, w)
			}
		}
		stats[blk] = st
	}
	measured := false
	for {
		for k := range stats {
			stats[k] = sweepStats{finite: true} // blocks a small sweep leaves out
		}
		parallel.For(n, m, sweep)
		var st sweepStats
		st.finite = true
		for _, b := range stats {
			st.err += b.err
			st.finite = st.finite && b.finite
			st.bad = st.bad || b.bad
			st.out = st.out || b.out
		}
		if stale && p.costUnchecked {
			if !st.finite {
				p.badCost = true
				parallel.Float64.Put(K)
				return f, g, nil, iters, false, true
			}
			p.costUnchecked = false
		}
		stale = false
		if measured {
			e := st.err
			if o.ErrorNorm == 2 {
				e = math.Sqrt(e)
			}
			if e <= o.Tol {
				f, g, sp := potentials()
				return f, g, sp, iters, true, true
			}
			if math.IsNaN(e) {
				f, g, _ := potentials()
				return f, g, nil, iters, false, false
			}
			if w.observe(e, done+iters, o) {
				f, g, sp := potentials()
				return f, g, sp, iters, false, true
			}
		}
		if done+iters >= o.MaxIter {
			f, g, sp := potentials()
			return f, g, sp, iters, false, true
		}
		vBad, vOut := false, false
		for j, bj := range p.b {
			s := acc[0][j]
			for _, a := range acc[1:] {
				s += a[j]
			}
			if bj == 0 {
				vNew[j], cols[j] = 0, 0
				continue
			}
			x := bj / s
			if rl != nil {
				x = bj * math.Pow(s, -rl.lamB) * rl.cb[j]
			}
			vNew[j], cols[j] = x, x*s
			if !(x > 0 && x <= math.MaxFloat64) {
				vBad = true
			} else if x > hiS || x < loS {
				vOut = true
			}
		}
		if st.bad || vBad {
			f, g, _ := potentials()
			return f, g, nil, iters, false, false
		}
		u, uNew = uNew, u
		v, vNew = vNew, v
		iters++
		measured, colsKnown = true, true
		if rl != nil {
			rl.translate(p, alpha, beta, u, v, eps)
		}
		if st.out || vOut {
			absorb(alpha, u, p.a, eps)
			absorb(beta, v, p.b, eps)
			if rl != nil {
				rl.factors(p, alpha, beta, eps)
			}
			stale, colsKnown = true, false
			res.Absorptions++
		}
	}
}

// sweepStats is what one block of a sweep reports: its share of the marginal error,
// whether its costs were finite (when the sweep built the kernel), whether a new
// scaling is not finite and positive, or outside the absorption bounds. The padding
// keeps blocks off each other's cache lines.
type sweepStats struct {
	err              float64
	finite, bad, out bool
	_                [64 - 8 - 3]byte
}

// scaledPlan is the plan P_ij = u_i K_ij v_j of a scaling-domain iterate, with its
// row and column sums when the iteration computed them (else nil).
type scaledPlan struct{ K, u, v, rows, cols []float64 }

// kernelRowGo is the portable kernelRow.
func kernelRowGo(dst, c, beta []float64, alpha, inv float64) (finite bool) {
	c, beta = c[:len(dst)], beta[:len(dst)]
	chk := 0.0
	for j, cj := range c {
		dst[j] = (alpha + beta[j] - cj) * inv
		chk += cj - cj // NaN from the first NaN or infinite cost on
	}
	expSlice(dst)
	return chk == 0
}

// dot4Go is the portable dot4.
func dot4Go(k []float64, stride int, v []float64, out *[4]float64) {
	for r := range out {
		out[r] = dot(k[r*stride:r*stride+len(v)], v)
	}
}

// axpy4Go is the portable axpy4.
func axpy4Go(k []float64, stride int, x *[4]float64, acc []float64) {
	for r, xr := range x {
		axpy(xr, k[r*stride:r*stride+len(acc)], acc)
	}
}

// dot3Go is the portable dot3.
func dot3Go(x, y, z []float64) float64 {
	y, z = y[:len(x)], z[:len(x)]
	var s0, s1 float64
	i := 0
	for ; i+1 < len(x); i += 2 {
		s0 += x[i] * y[i] * z[i]
		s1 += x[i+1] * y[i+1] * z[i+1]
	}
	if i < len(x) {
		s0 += x[i] * y[i] * z[i]
	}
	return s0 + s1
}

// absorb moves scalings into the potential: α += ε log u, u = 1.
func absorb(alpha, u, w []float64, eps float64) {
	for i := range u {
		if w[i] > 0 {
			alpha[i] += eps * math.Log(u[i])
			u[i] = 1
		}
	}
}

// fromScalings converts (α, β, u, v) to a⊗b-convention potentials. Zero-weight points
// carry no scaling; their potential is the c-transform of the other side's.
func (p *problem) fromScalings(alpha, beta, u, v []float64, eps float64) (f, g []float64) {
	f, g = make([]float64, p.n), make([]float64, p.m)
	// P_ij = u_i K_ij v_j = a_i b_j exp((f_i + g_j − C_ij)/ε) gives
	// f_i = α_i + ε log(u_i/a_i), g_j = β_j + ε log(v_j/b_j).
	for i := range f {
		if p.a[i] > 0 {
			f[i] = alpha[i] + eps*(math.Log(u[i])-p.loga[i])
		}
	}
	for j := range g {
		if p.b[j] > 0 {
			g[j] = beta[j] + eps*(math.Log(v[j])-p.logb[j])
		}
	}
	fillZeroWeight(f, p.a, g, p.logb, eps, func(i int, _ []float64) []float64 { return p.C[i*p.m : (i+1)*p.m] })
	fillZeroWeight(g, p.b, f, p.loga, eps, func(j int, col []float64) []float64 {
		for i := range col {
			col[i] = p.C[i*p.m+j]
		}
		return col
	})
	return f, g
}

// fillZeroWeight sets f_i = c-transform of h for every i with w_i = 0; costRow(i, buf)
// returns the costs from point i to the other side's points, in buf if it must copy.
func fillZeroWeight(f, w, h, logw []float64, eps float64, costRow func(i int, buf []float64) []float64) {
	var shift, z, buf []float64
	for i, wi := range w {
		if wi > 0 {
			continue
		}
		if shift == nil {
			shift, z, buf = softminShift(h, logw, eps), make([]float64, len(h)), make([]float64, len(h))
		}
		f[i] = softminRow(costRow(i, buf), shift, z, eps)
	}
}
