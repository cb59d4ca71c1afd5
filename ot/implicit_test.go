package ot

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// fdPoints returns the central finite differences (step h) of value with respect to
// every coordinate of x and of y.
func fdPoints(x, y *mat.Dense, h float64, value func() float64) [2]*mat.Dense {
	var out [2]*mat.Dense
	for side, P := range []*mat.Dense{x, y} {
		r, c := P.Dims()
		out[side] = mat.NewDense(r, c, nil)
		for i := 0; i < r; i++ {
			for k := 0; k < c; k++ {
				v := P.At(i, k)
				P.Set(i, k, v+h)
				up := value()
				P.Set(i, k, v-h)
				down := value()
				P.Set(i, k, v)
				out[side].Set(i, k, (up-down)/(2*h))
			}
		}
	}
	return out
}

func maxDiff(a, b *mat.Dense) float64 { return maxAbsDiff(a.RawMatrix().Data, b.RawMatrix().Data) }

// implicitCase is a small weighted problem whose Sinkhorn solve converges to rounding
// within convergedL iterations.
func implicitCase() (x, y *mat.Dense, a, b []float64) {
	rng := rand.New(rand.NewPCG(19, 3))
	return randCloud(rng, 6, 2, 0), randCloud(rng, 5, 2, 0.5), randWeights(rng, 6), randWeights(rng, 5)
}

const convergedL = 2000

// At convergence the implicit gradient of OT_ε's dual value and of the primal ⟨P,C⟩
// equals the unrolled gradient (to 1e-9) and the central finite differences of the
// converged value (step 1e-5, to 1e-7 of the gradient's scale), for x and y.
func TestImplicitMatchesUnrolledAndFD(t *testing.T) {
	x, y, a, b := implicitCase()
	for _, c := range []Cost{SqEuclidean, Euclidean} {
		for _, eps := range []float64{0.1, 1} {
			for _, w := range [][2]float64{{1, 0}, {0, 1}} {
				name := fmt.Sprintf("%v ε=%g dDual=%g dPrimal=%g", c, eps, w[0], w[1])
				u, err := UnrolledSinkhorn(FromDense(x), FromDense(y), a, b, c, eps, &UnrolledOptions{Iterations: convergedL})
				if err != nil {
					t.Fatal(err)
				}
				if !u.Converged || u.MarginalError > 1e-13 {
					t.Fatalf("%s: not converged (%g)", name, u.MarginalError)
				}
				n, d := x.Dims()
				m, _ := y.Dims()
				gi := [2]*mat.Dense{mat.NewDense(n, d, nil), mat.NewDense(m, d, nil)}
				gu := [2]*mat.Dense{mat.NewDense(n, d, nil), mat.NewDense(m, d, nil)}
				if err := u.BackwardImplicit(w[0], w[1], FromDense(gi[0]), FromDense(gi[1])); err != nil {
					t.Fatal(err)
				}
				u.Backward(w[0], w[1], FromDense(gu[0]), FromDense(gu[1]))
				fd := fdPoints(x, y, 1e-5, func() float64 {
					v, err := UnrolledSinkhorn(FromDense(x), FromDense(y), a, b, c, eps, &UnrolledOptions{Iterations: convergedL})
					if err != nil {
						t.Fatal(err)
					}
					return w[0]*v.Dual + w[1]*v.Primal()
				})
				for s := range gi {
					scale := math.Max(1e-3, mat.Norm(gi[s], math.Inf(1)))
					if e := maxDiff(gi[s], gu[s]); e > 1e-9*scale {
						t.Errorf("%s: implicit and unrolled ∂/∂%c differ by %g", name, "xy"[s], e)
					}
					if e := maxDiff(gi[s], fd[s]); e > 1e-7*scale {
						t.Errorf("%s: implicit ∂/∂%c and finite differences differ by %g", name, "xy"[s], e)
					}
				}
			}
		}
	}
}

// The debiased losses: the implicit gradient of the divergence's dual and of Genevay
// et al.'s primal form against finite differences of their converged values, and what
// sets it apart: for the primal form the envelope gradient is wrong even at
// convergence, and before convergence (L = 3) implicit, envelope and unrolled are three
// different gradients.
func TestImplicitDivergence(t *testing.T) {
	x, y, a, b := implicitCase()
	n, d := x.Dims()
	m, _ := y.Dims()
	run := func(L int) *UnrolledDivergence {
		r, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), a, b, SqEuclidean, 0.5, &UnrolledOptions{Iterations: L})
		if err != nil {
			t.Fatal(err)
		}
		if L == convergedL && r.MarginalError > 1e-13 {
			t.Fatalf("not converged: %g", r.MarginalError)
		}
		return r
	}
	grads := func(f func(gx, gy Points)) [2]*mat.Dense {
		g := [2]*mat.Dense{mat.NewDense(n, d, nil), mat.NewDense(m, d, nil)}
		f(FromDense(g[0]), FromDense(g[1]))
		return g
	}
	r := run(convergedL)
	for _, w := range [][2]float64{{1, 0}, {0, 1}} {
		gi := grads(func(gx, gy Points) {
			if err := r.BackwardImplicit(w[0], w[1], gx, gy); err != nil {
				t.Fatal(err)
			}
		})
		fd := fdPoints(x, y, 1e-5, func() float64 {
			v := run(convergedL)
			return w[0]*v.Dual + w[1]*v.Primal()
		})
		ge := grads(func(gx, gy Points) { r.BackwardEnvelope(1, gx, gy) })
		for s := range gi {
			scale := math.Max(1e-3, mat.Norm(gi[s], math.Inf(1)))
			if e := maxDiff(gi[s], fd[s]); e > 1e-7*scale {
				t.Errorf("dDual=%g dPrimal=%g: implicit ∂/∂%c and finite differences differ by %g", w[0], w[1], "xy"[s], e)
			}
			e := maxDiff(gi[s], ge[s])
			if w[1] == 0 && e > 1e-9*scale {
				t.Errorf("dual: implicit and envelope ∂/∂%c differ by %g at convergence", "xy"[s], e)
			}
			if w[1] == 1 && e < 1e-3*scale {
				t.Errorf("primal: the envelope ∂/∂%c is within %g of the implicit gradient", "xy"[s], e)
			}
		}
	}
	early := run(3)
	gi := grads(func(gx, gy Points) {
		if err := early.BackwardImplicit(1, 0, gx, gy); err != nil {
			t.Fatal(err)
		}
	})
	ge := grads(func(gx, gy Points) { early.BackwardEnvelope(1, gx, gy) })
	gu := grads(func(gx, gy Points) { early.Backward(1, 0, gx, gy) })
	if maxDiff(gi[1], ge[1]) < 1e-6 || maxDiff(gi[1], gu[1]) < 1e-6 {
		t.Errorf("L = 3: implicit within %g of envelope, %g of unrolled", maxDiff(gi[1], ge[1]), maxDiff(gi[1], gu[1]))
	}
}

// float32 points give the float64 gradient to float32 accuracy; a zero weight leaves
// its point's gradient zero and the others right.
func TestImplicitFloat32AndZeroWeight(t *testing.T) {
	x, y, a, b := implicitCase()
	n, d := x.Dims()
	m, _ := y.Dims()
	u, err := UnrolledSinkhorn(FromDense(x), FromDense(y), a, b, SqEuclidean, 0.5, &UnrolledOptions{Iterations: convergedL})
	if err != nil {
		t.Fatal(err)
	}
	gy := mat.NewDense(m, d, nil)
	if err := u.BackwardImplicit(0, 1, Points{}, FromDense(gy)); err != nil {
		t.Fatal(err)
	}
	x32, y32 := toFloat32Points(x), toFloat32Points(y)
	u32, err := UnrolledSinkhorn(x32, y32, a, b, SqEuclidean, 0.5, &UnrolledOptions{Iterations: convergedL})
	if err != nil {
		t.Fatal(err)
	}
	g32 := make([]float32, m*d)
	if err := u32.BackwardImplicit(0, 1, Points{}, FromFloat32(m, d, g32)); err != nil {
		t.Fatal(err)
	}
	for i, v := range gy.RawMatrix().Data {
		if math.Abs(float64(g32[i])-v) > 1e-4*math.Max(1, math.Abs(v)) {
			t.Errorf("float32 ∂/∂y[%d] = %g, float64 %g", i, g32[i], v)
		}
	}
	// A zero weight on x's first point: its gradient is 0; the others match finite
	// differences.
	a0 := append([]float64(nil), a...)
	a0[1] += a0[0]
	a0[0] = 0
	u0, err := UnrolledSinkhorn(FromDense(x), FromDense(y), a0, b, SqEuclidean, 0.5, &UnrolledOptions{Iterations: convergedL})
	if err != nil {
		t.Fatal(err)
	}
	gx := mat.NewDense(n, d, nil)
	if err := u0.BackwardImplicit(0, 1, FromDense(gx), Points{}); err != nil {
		t.Fatal(err)
	}
	fd := fdPoints(x, y, 1e-5, func() float64 {
		v, _ := UnrolledSinkhorn(FromDense(x), FromDense(y), a0, b, SqEuclidean, 0.5, &UnrolledOptions{Iterations: convergedL})
		return v.Primal()
	})
	if e := maxDiff(gx, fd[0]); e > 1e-7 || gx.At(0, 0) != 0 {
		t.Errorf("zero weight: implicit ∂/∂x off by %g (first row %v)", e, gx.RawRowView(0))
	}
}

func toFloat32Points(x *mat.Dense) Points {
	r, c := x.Dims()
	d := make([]float32, r*c)
	for i, v := range x.RawMatrix().Data {
		d[i] = float32(v)
	}
	return FromFloat32(r, c, d)
}

// Clusters 100 apart at ε = 0.01: the plan underflows into two blocks, each with its
// own free shift of the potentials. Balanced blocks (2 + 2 points against 2 + 2) at
// convergence: the implicit gradient is the unrolled one and the finite differences'
// (to 1e-9); unbalanced ones (4 against 3 points, no fixed point) still give a finite
// gradient. A system that is singular all the same (inconsistent sums) is an error
// wrapping ErrOutOfRange.
func TestImplicitBlocks(t *testing.T) {
	x := mat.NewDense(4, 1, []float64{0, 0.2, 100, 100.3})
	y := mat.NewDense(4, 1, []float64{0.1, 0.15, 100.1, 100.2})
	const eps = 1e-2
	u, err := UnrolledSinkhorn(FromDense(x), FromDense(y), nil, nil, SqEuclidean, eps, &UnrolledOptions{Iterations: convergedL})
	if err != nil || u.MarginalError > 1e-13 {
		t.Fatalf("%v, marginal error %v", err, u.MarginalError)
	}
	gi, gu := mat.NewDense(4, 1, nil), mat.NewDense(4, 1, nil)
	if err := u.BackwardImplicit(0, 1, Points{}, FromDense(gi)); err != nil {
		t.Fatal(err)
	}
	u.Backward(0, 1, Points{}, FromDense(gu))
	fd := fdPoints(x, y, 1e-6, func() float64 {
		v, _ := UnrolledSinkhorn(FromDense(x), FromDense(y), nil, nil, SqEuclidean, eps, &UnrolledOptions{Iterations: convergedL})
		return v.Primal()
	})
	if maxDiff(gi, gu) > 1e-9 || maxDiff(gi, fd[1]) > 1e-7 {
		t.Errorf("blocks: implicit %v, unrolled %v, finite differences %v", gi.RawMatrix().Data, gu.RawMatrix().Data, fd[1].RawMatrix().Data)
	}
	u3, err := UnrolledSinkhorn(FromDense(x), FromDense(y.Slice(1, 4, 0, 1).(*mat.Dense)), nil, nil, SqEuclidean, eps, &UnrolledOptions{Iterations: 100})
	if err != nil {
		t.Fatal(err)
	}
	g3 := mat.NewDense(3, 1, nil)
	if err := u3.BackwardImplicit(0, 1, Points{}, FromDense(g3)); err != nil || !allFinite(g3.RawMatrix().Data) {
		t.Errorf("unbalanced blocks: %v, gradient %v", err, g3.RawMatrix().Data)
	}
	// Column sums ½ for a plan of ones: diag(½) − 11ᵀ + ½·11ᵀ is indefinite.
	P := mat.NewDense(2, 2, []float64{1, 1, 1, 1})
	if _, _, err := solveSaddle(P, false, []float64{2, 2}, []float64{0.5, 0.5}, []float64{1, 1}, []float64{1, 1}); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("singular system: %v", err)
	}
}
