package ot

import (
	"math"

	"gonum.org/v1/gonum/floats"
)

// stabilized runs the scaling-domain iteration P = diag(u) K diag(v) with
// K_ij = exp((α_i + β_j − C_ij)/ε), starting from log potentials α = f, β = g and
// u = a, v = b. One sweep over K per iteration computes both K v (for u) and
// Kᵀu (for v): each row is dotted with v, then added to Kᵀu while still in cache.
// When a scaling leaves [e^−τ, e^τ] it is absorbed into α, β and K is rebuilt.
// ok = false reports that the kernel underflowed (a zero row or column sum); the
// returned potentials are then those of the last finite iterate.
func (p *problem) stabilized(f, g []float64, eps float64, o SinkhornOptions, done int, res *SinkhornResult) (_, _ []float64, plan *scaledPlan, iters int, converged, ok bool) {
	n, m := p.n, p.m
	alpha, beta := append([]float64(nil), f...), append([]float64(nil), g...)
	K := getScratch(n * m) // every row is written before it is read
	// The kernel is (re)built inside the next sweep, row by row, while each row is hot.
	stale := true
	u, v := make([]float64, n), make([]float64, m)
	uNew, vNew := make([]float64, n), make([]float64, m)
	// u = a, v = b make the first iterate's potentials exactly (f, g).
	copy(u, p.a)
	copy(v, p.b)
	blocks := numBlocks()
	acc := make([][]float64, blocks)
	for k := range acc {
		acc[k] = make([]float64, m)
	}
	errs := make([]float64, blocks)
	potentials := func() ([]float64, []float64, *scaledPlan) {
		f, g := p.fromScalings(alpha, beta, u, v, eps)
		return f, g, &scaledPlan{K: K, u: u, v: v}
	}
	measured := false
	for {
		for k := range acc {
			clear(acc[k])
			errs[k] = 0
		}
		parallelRange(n, m, func(blk, lo, hi int) {
			w, e, inv := acc[blk], 0.0, 1/eps
			for i := lo; i < hi; i++ {
				row := K[i*m : (i+1)*m]
				if stale {
					for j, c := range p.C[i*m : (i+1)*m] {
						row[j] = (alpha[i] + beta[j] - c) * inv
					}
					expSlice(row)
				}
				if p.a[i] == 0 {
					uNew[i] = 0
					continue
				}
				s := dot(row, v)
				d := math.Abs(u[i]*s - p.a[i])
				if o.ErrorNorm == 2 {
					d *= d
				}
				e += d
				uNew[i] = p.a[i] / s
				axpy(uNew[i], row, w)
			}
			errs[blk] = e
		})
		stale = false
		if measured {
			e := floats.Sum(errs)
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
		}
		if done+iters >= o.MaxIter {
			f, g, sp := potentials()
			return f, g, sp, iters, false, true
		}
		for k := 1; k < blocks; k++ {
			floats.Add(acc[0], acc[k])
		}
		for j, s := range acc[0] {
			if p.b[j] > 0 {
				vNew[j] = p.b[j] / s
			} else {
				vNew[j] = 0
			}
		}
		if !scalingsOK(uNew, p.a) || !scalingsOK(vNew, p.b) {
			f, g, _ := potentials()
			return f, g, nil, iters, false, false
		}
		u, uNew = uNew, u
		v, vNew = vNew, v
		iters++
		measured = true
		if outside(u, p.a, o.AbsorbAt) || outside(v, p.b, o.AbsorbAt) {
			absorb(alpha, u, p.a, eps)
			absorb(beta, v, p.b, eps)
			stale = true
			res.Absorptions++
		}
	}
}

// scaledPlan is the plan P_ij = u_i K_ij v_j of a scaling-domain iterate.
type scaledPlan struct{ K, u, v []float64 }

// scalingsOK reports that every scaling of a positive weight is finite and positive.
func scalingsOK(u, w []float64) bool {
	for i, x := range u {
		if w[i] > 0 && !(x > 0 && x <= math.MaxFloat64) {
			return false
		}
	}
	return true
}

// outside reports a scaling of a positive weight with |log u| > tau.
func outside(u, w []float64, tau float64) bool {
	hi, lo := math.Exp(tau), math.Exp(-tau)
	for i, x := range u {
		if w[i] > 0 && (x > hi || x < lo) {
			return true
		}
	}
	return false
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
