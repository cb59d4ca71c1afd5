package ot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sinkgen/sinkgen/internal/fastblas"
)

// powerCosts are the cost powers other than 2 the float32 tests run.
var powerCosts = []Cost{Euclidean, PowerCost(1.5), PowerCost(3), {Power: 1, Scale: 0.7}}

// gaussian32 returns n standard normal points in d dimensions, shifted by shift, as
// float32 Points: in 16-D no two of 900 such points come close enough for a float32
// record with p < 2 to fall back (see resolvedSq).
func gaussian32(rng *rand.Rand, n, d int, shift float64) Points {
	v := make([]float32, n*d)
	for i := range v {
		v[i] = float32(rng.NormFloat64() + shift)
	}
	return FromFloat32(n, d, v)
}

// meanCost returns the mean entry of c's cost matrix between x and y, in float64.
func meanCost(c Cost, x, y Points) float64 {
	C := c.matrix(x.Dense(), y.Dense()).RawMatrix().Data
	s := 0.0
	for _, v := range C {
		s += v
	}
	return s / float64(len(C))
}

// The float32 record's costs for p ≠ 2 carry the float32 rounding Δ of the squared
// distances as ot's doc states: |Δ| ≤ 2^-20·|x_i||y_j|, and each cost entry within
// s·(p/2)·max((d² ± |Δ|)^(p/2−1))·|Δ| of the float64 cost, the gradient weights
// c'(d²) within s·(p/2)·|p/2 − 1|·max((d² ± |Δ|)^(p/2−2))·|Δ| of the exact ones (first
// order, with 2^-40 of the value for the float64 rounding and the second order). On
// MNIST-shaped points, 2-D points, and pairs just above resolvedSq (y_j = x_j + a
// step of d² = 2^-9·2|x_j|², the closest a record with p < 2 takes), on every fastblas
// path. A self problem's diagonal is exactly 0.
func TestUnrolled32PowerCostBound(t *testing.T) {
	old, _ := fastblas.Active()
	defer fastblas.SetPath(old)
	x7, y7 := divergence32Case(70, 784)
	x2, y2 := divergence32Case(90, 2)
	rng := newTestRand(7)
	xn := gaussian32(rng, 60, 784, 0.5)
	yn := gaussian32(rng, 60, 784, 0) // then moved next to xn, row by row
	for i := range 60 {
		xi, yi := xn.f32.Data[i*784:(i+1)*784], yn.f32.Data[i*784:(i+1)*784]
		r := math.Sqrt(0x1p-9 * 2 * sqNorm32(xi) / sqNorm32(yi))
		for k := range yi {
			yi[k] = xi[k] + float32(r*float64(yi[k]))
		}
	}
	for _, p := range fastblas.Paths() {
		fastblas.SetPath(p)
		for _, pts := range [][2]Points{{x7, y7}, {x2, y2}, {xn, yn}, {x7, x7}} {
			x, y := pts[0], pts[1]
			g := &gram32{x: x.f32, y: y.f32, sym: x.f32.same(y.f32)}
			g.nx, _ = x.f32.sqNorms("x")
			g.ny, _ = y.f32.sqNorms("y")
			n, m := x.f32.Rows, y.f32.Rows
			D := SqEuclidean.matrix(x.Dense(), y.Dense()).RawMatrix().Data // ½d², exact to float64
			for _, c := range append([]Cost{{Power: 2, Scale: 1}}, powerCosts...) {
				name := fmt.Sprintf("%v/%v/n=%d,d=%d,sym=%v", p, c, n, x.f32.Cols, g.sym)
				C := g.matrix(c)
				db := g.newDerivBlocks(c)
				worstC, worstW := 0.0, 0.0
				for I, bi := 0, cbarBlocks(n); I+1 < len(bi); I++ {
					for J, bj := 0, cbarBlocks(m); J+1 < len(bj); J++ {
						w := bj[J+1] - bj[J]
						cp := db.block(bi[I], bi[I+1], bj[J], bj[J+1])
						for i := bi[I]; i < bi[I+1]; i++ {
							for j := bj[J]; j < bj[J+1]; j++ {
								d2, q := 2*D[i*m+j], c.Power/2
								if g.sym && i == j {
									if C[i*m+j] != 0 || cp[(i-bi[I])*w+j-bj[J]] != 0 {
										t.Fatalf("%s: diagonal entry %d: cost %v, c' %v", name, i, C[i*m+j], cp[(i-bi[I])*w+j-bj[J]])
									}
									continue
								}
								delta := 0x1p-20 * math.Sqrt(g.nx[i]*g.ny[j])
								if c.Power < 2 && d2 < 0x1p-10*(g.nx[i]+g.ny[j])+delta {
									continue // a record falls back to float64 (tested below)
								}
								lo, hi := math.Max(d2-delta, 0), d2+delta
								want := c.Scale * math.Pow(d2, q)
								boundC := c.Scale*q*math.Max(math.Pow(lo, q-1), math.Pow(hi, q-1))*delta + 0x1p-40*want
								wantW := c.Scale * q * math.Pow(d2, q-1)
								boundW := c.Scale*q*math.Abs(q-1)*math.Max(math.Pow(lo, q-2), math.Pow(hi, q-2))*delta + 0x1p-40*wantW
								gotW := cp[(i-bi[I])*w+j-bj[J]]
								if c.Power == 2 {
									gotW = c.Scale // derivBlocks is not used for p = 2
								}
								if e := math.Abs(C[i*m+j] - want); e > boundC || math.IsNaN(e) {
									t.Fatalf("%s: cost[%d,%d] = %v, float64 %v: off by %.3g, bound %.3g", name, i, j, C[i*m+j], want, e, boundC)
								}
								if e := math.Abs(gotW - wantW); e > boundW || math.IsNaN(e) {
									t.Fatalf("%s: c'[%d,%d] = %v, float64 %v: off by %.3g, bound %.3g", name, i, j, gotW, wantW, e, boundW)
								}
								worstC = math.Max(worstC, math.Abs(C[i*m+j]-want)/boundC)
								worstW = math.Max(worstW, math.Abs(gotW-wantW)/boundW)
							}
						}
					}
				}
				db.release()
				t.Logf("%s: largest error %.2g of the bound (cost), %.2g (c')", name, worstC, worstW)
			}
		}
	}
}

// The float32 divergence for p ≠ 2 (its three records on the float32 path) against the
// float64 path on the same points, which builds its own costs and differentiates pair
// by pair (Cost.AddGradX), on every fastblas path: the final potentials within
// 2L·max|ΔC| + ε·2L·2^-23 (each update moves them by at most the change of the
// costs, plus the float32 kernel's bound), the divergence within 3·4L times that, and
// the gradients (both sides, the primal's term included) within 8L·2^-23 of their
// largest entry, the float32 kernel's bound (TestUnrolledKernel32). MNIST-shaped
// points at ε a tenth of the mean cost, and Gaussian ones in 16-D, also 800 of them
// for p = 1 and 3 (C̄ in blocks of 384 and 416, the symmetric problems' mirrored
// blocks included).
func TestUnrolled32PowersMatchFloat64(t *testing.T) {
	old, _ := fastblas.Active()
	defer fastblas.SetPath(old)
	x7, y7 := divergence32Case(70, 784)
	rng := newTestRand(8)
	x6, y6 := gaussian32(rng, 80, 16, 0), gaussian32(rng, 60, 16, 0.3)
	x8, y8 := gaussian32(rng, 800, 16, 0), gaussian32(rng, 790, 16, 0.3)
	const L = 30
	for _, p := range fastblas.Paths() {
		fastblas.SetPath(p)
		for _, pts := range [][2]Points{{x7, y7}, {x6, y6}, {x8, y8}} {
			x, y := pts[0], pts[1]
			n, d := x.Dims()
			m, _ := y.Dims()
			for _, c := range powerCosts {
				if n == 800 && (c.Power == 1.5 || c.Scale != 1) {
					continue // the large case for p = 1 and 3 only
				}
				eps := 0.1 * meanCost(c, x, y)
				name := fmt.Sprintf("%v/%v/n=%d,d=%d,ε=%.3g", p, c, n, d, eps)
				run := func(x, y Points) (*UnrolledDivergence, []float32, []float32) {
					dv, err := UnrolledSinkhornDivergence(x, y, nil, nil, c, eps, &UnrolledOptions{Iterations: L})
					if err != nil {
						t.Fatal(err)
					}
					gx, gy := make([]float32, n*d), make([]float32, m*d)
					dv.Backward(1, 0.5, FromFloat32(n, d, gx), FromFloat32(m, d, gy))
					return dv, gx, gy
				}
				d32, gx32, gy32 := run(x, y)
				d64, gx64, gy64 := run(FromDense(x.Dense()), FromDense(y.Dense()))
				for _, u := range []*Unrolled{d32.XY, d32.XX, d32.YY} {
					if u.g32 == nil || !u.Scaled {
						t.Fatalf("%s: a record left the float32 scaling domain (float32 %v, scaled %v)", name, u.g32 != nil, u.Scaled)
					}
				}
				dC := 0.0 // the largest cost error of the three records
				for _, u := range []*Unrolled{d32.XY, d32.XX, d32.YY} {
					got := u.g32.matrix(c)
					want := c.matrix(u.g32.x.dense(), u.g32.y.dense()).RawMatrix().Data
					for i, v := range want {
						dC = math.Max(dC, math.Abs(got[i]-v))
					}
				}
				tolF := 2*L*dC + eps*2*L*0x1p-23
				if e := maxAbsDiff(d32.XY.F, d64.XY.F); e > tolF {
					t.Errorf("%s: potentials differ by %.3g, bound %.3g", name, e, tolF)
				}
				if e := math.Abs(d32.Dual - d64.Dual); e > 3*4*L*tolF/2 {
					t.Errorf("%s: divergence %v, float64 %v (diff %.3g, bound %.3g)", name, d32.Dual, d64.Dual, e, 3*4*L*tolF/2)
				}
				scale, diff := 0.0, 0.0
				for _, gs := range [][2][]float32{{gx32, gx64}, {gy32, gy64}} {
					for i, v := range gs[1] {
						scale = math.Max(scale, math.Abs(float64(v)))
						diff = math.Max(diff, math.Abs(float64(gs[0][i]-v)))
					}
				}
				if diff > 8*L*0x1p-23*scale || !(scale > 0) {
					t.Errorf("%s: gradients differ by %.3g of their largest entry %.3g", name, diff/scale, scale)
				}
				t.Logf("%s: max|ΔC| %.2g, potentials %.2g, divergence rel %.2g, gradient %.2g of max", name, dC,
					maxAbsDiff(d32.XY.F, d64.XY.F), relErr(d32.Dual, d64.Dual), diff/scale)
				d32.Release()
				d64.Release()
			}
		}
	}
}

// Directional central differences of the float32 loss (dual and primal terms) for
// p ≠ 2 match its gradient, on every fastblas path: along the gradient's signs on x,
// on y and on both, with steps of 2^-7 per entry in MNIST-shaped and 16-D points, the
// difference quotient errs by its truncation (about h²) and the float32 loss's
// rounding (about 1e-7 of the loss, over 2h); the tolerance, 1e-3 of the derivative,
// is far below a wrong c' factor's error.
func TestUnrolled32PowersFiniteDifferences(t *testing.T) {
	old, _ := fastblas.Active()
	defer fastblas.SetPath(old)
	x7, y7 := divergence32Case(40, 784)
	rng := newTestRand(9)
	x6, y6 := gaussian32(rng, 30, 16, 0), gaussian32(rng, 25, 16, 0.3)
	for _, p := range fastblas.Paths() {
		fastblas.SetPath(p)
		for _, pts := range [][2]Points{{x7, y7}, {x6, y6}} {
			x, y := pts[0], pts[1]
			n, d := x.Dims()
			m, _ := y.Dims()
			for _, c := range powerCosts {
				eps := 0.1 * meanCost(c, x, y)
				opts := &UnrolledOptions{Iterations: 10}
				loss := func(x, y Points) float64 {
					dv, err := UnrolledSinkhornDivergence(x, y, nil, nil, c, eps, opts)
					if err != nil {
						t.Fatal(err)
					}
					defer dv.Release()
					if dv.XY.g32 == nil || dv.XX.g32 == nil || dv.YY.g32 == nil {
						t.Fatalf("%v: not on the float32 path", c)
					}
					return dv.Dual + 0.5*dv.Primal()
				}
				dv, err := UnrolledSinkhornDivergence(x, y, nil, nil, c, eps, opts)
				if err != nil {
					t.Fatal(err)
				}
				gx, gy := make([]float32, n*d), make([]float32, m*d)
				dv.Backward(1, 0.5, FromFloat32(n, d, gx), FromFloat32(m, d, gy))
				dv.Release()
				// step moves pt by ±2^-7 along the signs of g (exact in float32 here) and
				// returns the gradient's derivative along the step.
				step := func(pt Points, g []float32, use bool) (plus, minus Points, deriv float64) {
					r, k := pt.Dims()
					pv, mv := make([]float32, r*k), make([]float32, r*k)
					for i, v := range pt.f32.Data {
						s := float32(0)
						if use {
							s = float32(math.Copysign(0x1p-7, float64(g[i])))
						}
						pv[i], mv[i] = v+s, v-s
						deriv += float64(g[i]) * float64(pv[i]-mv[i]) / 2
					}
					return FromFloat32(r, k, pv), FromFloat32(r, k, mv), deriv
				}
				for dir, side := range []string{"x", "y", "x and y"} {
					xp, xm, dx := step(x, gx, dir != 1)
					yp, ym, dy := step(y, gy, dir != 0)
					fd := (loss(xp, yp) - loss(xm, ym)) / 2
					rel := math.Abs(fd-(dx+dy)) / math.Abs(dx+dy)
					if !(rel <= 1e-3) {
						t.Errorf("%v/%v/n=%d,d=%d along %s: gradient gives %.8g, central difference %.8g (rel %.2g)", p, c, n, d, side, dx+dy, fd, rel)
					}
					t.Logf("%v/%v/n=%d,d=%d along %s: derivative %.6g, rel %.2g", p, c, n, d, side, dx+dy, rel)
				}
			}
		}
	}
}

// Points at distance zero for p ≠ 2, on every fastblas path. A self problem stays on
// the float32 path, its diagonal costs exactly 0 and the diagonal's gradient weight
// c'(0) is the zero subgradient (the float64 path's Cost.AddGradX): its gradient,
// through the symmetric products (one destination for x and y) and the plain ones
// (x's alone), matches the float64 record's within TestUnrolled32PowersMatchFloat64's
// bound. A point of x equal to one of y, or two equal points of x in x's self
// problem, make a record with p < 2 run in float64 (the float32 squared distance
// would be rounding), and so does a pair of x and y at d² = 2^-11·(|x_i|² + |y_j|²),
// below resolvedSq, but not one at 2^-9: the same bits as the float64 path. With
// p = 3 (c'(0) = 0) such records stay in float32 and match the float64 path.
func TestUnrolled32PowersCoincident(t *testing.T) {
	old, _ := fastblas.Active()
	defer fastblas.SetPath(old)
	const L = 20
	x, y := divergence32Case(50, 784)
	xc := FromFloat32(50, 784, append([]float32(nil), x.f32.Data...)) // x with x_7 = y_3
	copy(xc.f32.Data[7*784:8*784], y.f32.Data[3*784:4*784])
	xd := FromFloat32(50, 784, append([]float32(nil), x.f32.Data...)) // x with x_9 = x_2
	copy(xd.f32.Data[9*784:10*784], xd.f32.Data[2*784:3*784])
	// x with x_7 next to y_3: d² = f·(|x_7|² + |y_3|²) for f = 2^-11 (below resolvedSq's
	// 2^-10: float64) and 2^-9 (above: float32)
	near := func(f float64) Points {
		v := append([]float32(nil), x.f32.Data...)
		xi, yj := v[7*784:8*784], y.f32.Data[3*784:4*784]
		dir := x.f32.Data[11*784 : 12*784] // a direction: another point, scaled
		r := math.Sqrt(f * 2 * sqNorm32(yj) / sqNorm32(dir))
		for k := range xi {
			xi[k] = yj[k] + float32(r*float64(dir[k]))
		}
		return FromFloat32(50, 784, v)
	}
	xBelow, xAbove := near(0x1p-11), near(0x1p-9)
	gradDiff := func(a, b []float32) float64 {
		scale, diff := 0.0, 0.0
		for i, v := range b {
			scale = math.Max(scale, math.Abs(float64(v)))
			diff = math.Max(diff, math.Abs(float64(a[i]-v)))
		}
		return diff / scale
	}
	for _, p := range fastblas.Paths() {
		fastblas.SetPath(p)
		for _, c := range powerCosts {
			eps := 0.1 * meanCost(c, x, y)
			opts := &UnrolledOptions{Iterations: L}
			name := fmt.Sprintf("%v/%v", p, c)
			// the self problem, both ways of its backward pass
			u32, err := UnrolledSinkhorn(x, x, nil, nil, c, eps, opts)
			if err != nil {
				t.Fatal(err)
			}
			u64, err := UnrolledSinkhorn(FromDense(x.Dense()), FromDense(x.Dense()), nil, nil, c, eps, opts)
			if err != nil {
				t.Fatal(err)
			}
			if u32.g32 == nil || !u32.g32.sym {
				t.Fatalf("%s: the self problem left the float32 path", name)
			}
			C := u32.g32.matrix(c)
			for i := range 50 {
				if C[i*50+i] != 0 {
					t.Fatalf("%s: self cost[%d,%d] = %v", name, i, i, C[i*50+i])
				}
			}
			for _, same := range []bool{true, false} {
				g32, g64 := make([]float32, 50*784), make([]float32, 50*784)
				for _, r := range []struct {
					u *Unrolled
					g []float32
				}{{u32, g32}, {u64, g64}} {
					gp := FromFloat32(50, 784, r.g)
					if same {
						r.u.Backward(1, 0.5, gp, gp)
					} else {
						r.u.Backward(1, 0.5, gp, Points{})
					}
				}
				if e := gradDiff(g32, g64); !(e <= 8*L*0x1p-23) {
					t.Errorf("%s: self problem (one destination %v): gradients differ by %.3g of the largest entry", name, same, e)
				}
			}
			// coincident points across x and y, and within x
			for _, cs := range []struct {
				what string
				x, y Points
				on32 bool // for p < 2
			}{{"x_7 = y_3", xc, y, false}, {"x_9 = x_2", xd, xd, false}, {"x_7 near y_3, below", xBelow, y, false}, {"x_7 near y_3, above", xAbove, y, true}} {
				u32, err := UnrolledSinkhorn(cs.x, cs.y, nil, nil, c, eps, opts)
				if err != nil {
					t.Fatal(err)
				}
				x64 := FromDense(cs.x.Dense())
				y64 := x64 // the float64 self problem for x = y
				if !cs.x.f32.same(cs.y.f32) {
					y64 = FromDense(cs.y.Dense())
				}
				u64, err := UnrolledSinkhorn(x64, y64, nil, nil, c, eps, opts)
				if err != nil {
					t.Fatal(err)
				}
				if on32 := u32.g32 != nil; on32 != (c.Power > 2 || cs.on32) {
					t.Fatalf("%s, %s: on the float32 path %v", name, cs.what, on32)
				}
				g32, g64 := make([]float32, 50*784), make([]float32, 50*784)
				u32.Backward(1, 0.5, FromFloat32(50, 784, g32), Points{})
				u64.Backward(1, 0.5, FromFloat32(50, 784, g64), Points{})
				e := gradDiff(g32, g64)
				if c.Power < 2 && !cs.on32 && (u32.Dual != u64.Dual || e != 0) {
					t.Errorf("%s, %s: float64 fallback differs from the float64 path: dual %v vs %v, gradient %.3g", name, cs.what, u32.Dual, u64.Dual, e)
				}
				if !(e <= 8*L*0x1p-23) {
					t.Errorf("%s, %s: gradients differ by %.3g of the largest entry", name, cs.what, e)
				}
			}
		}
	}
}
