package ot

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// An unrolled record reports its iteration count and whether its last iterate meets
// the tolerance, judged here from the plan rebuilt from its potentials.
func TestUnrolledConvergedAndIterations(t *testing.T) {
	rng := newTestRand(181)
	x, y := randCloud(rng, 9, 2, 0), randCloud(rng, 7, 2, 0.5)
	C := SqEuclidean.matrix(x, y)
	const eps = 0.5
	for _, L := range []int{1, 3, 400} {
		u, err := UnrolledSinkhorn(FromDense(x), FromDense(y), nil, nil, SqEuclidean, eps, &UnrolledOptions{Iterations: L})
		if err != nil {
			t.Fatal(err)
		}
		// ‖P1 − a‖₁ with P_ij = a_i b_j exp((f_i + g_j − C_ij)/ε), a = 1/9, b = 1/7
		rowErr := 0.0
		for i := 0; i < 9; i++ {
			s := 0.0
			for j := 0; j < 7; j++ {
				s += math.Exp((u.F[i]+u.G[j]-C.At(i, j))/eps) / 63
			}
			rowErr += math.Abs(s - 1.0/9)
		}
		if u.Iterations != L || u.Converged != (rowErr <= DefaultSinkhornTol) || math.Abs(u.MarginalError-rowErr) > 1e-12 {
			t.Errorf("L = %d: Iterations %d, Converged %v, MarginalError %g; want %d, %v, %g", L, u.Iterations, u.Converged, u.MarginalError, L, rowErr <= DefaultSinkhornTol, rowErr)
		}
		if L == 400 && !u.Converged || L == 1 && u.Converged {
			t.Errorf("L = %d: Converged %v at marginal error %g", L, u.Converged, rowErr)
		}
		loose, err := UnrolledSinkhorn(FromDense(x), FromDense(y), nil, nil, SqEuclidean, eps, &UnrolledOptions{Iterations: L, Tol: 1})
		if err != nil || !loose.Converged {
			t.Errorf("L = %d, Tol 1: Converged %v, %v", L, loose != nil && loose.Converged, err)
		}
		d, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), nil, nil, SqEuclidean, eps, &UnrolledOptions{Iterations: L})
		if err != nil {
			t.Fatal(err)
		}
		worst := max(d.XY.MarginalError, d.XX.MarginalError, d.YY.MarginalError)
		if d.Iterations != L || d.MarginalError != worst || d.Converged != (d.XY.Converged && d.XX.Converged && d.YY.Converged) {
			t.Errorf("L = %d: divergence Iterations %d, MarginalError %g, Converged %v", L, d.Iterations, d.MarginalError, d.Converged)
		}
	}
}

// A float32 cloud paired with a float64 one runs in float64 on its converted points,
// and gradient destinations may be of either precision: a float32 destination gets
// the float64 gradient up to float32 rounding (of each of its two terms).
func TestPointsMixedPrecision(t *testing.T) {
	rng := newTestRand(182)
	x64, y := randCloud(rng, 8, 3, 0), randCloud(rng, 6, 3, 0.4)
	x := points32Of(x64)
	if r, c := x.Dims(); r != 8 || c != 3 || !x.IsFloat32() || FromDense(y).IsFloat32() || FromDense(y).Dense() != y {
		t.Fatalf("Points: dims %d×%d, float32 %v", r, c, x.IsFloat32())
	}
	eps, opts := 0.3, &UnrolledOptions{Iterations: 10}
	mixed, err := UnrolledSinkhornDivergence(x, FromDense(y), nil, nil, SqEuclidean, eps, opts)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := UnrolledSinkhornDivergence(FromDense(x.Dense()), FromDense(y), nil, nil, SqEuclidean, eps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if mixed.Dual != ref.Dual || mixed.XY.g32 != nil {
		t.Errorf("mixed precision %.17g (float32 record %v), float64 %.17g", mixed.Dual, mixed.XY.g32 != nil, ref.Dual)
	}
	gx, gy := mat.NewDense(8, 3, nil), mat.NewDense(6, 3, nil)
	ref.Backward(1, 0, FromDense(gx), FromDense(gy))
	mx, my := mat.NewDense(8, 3, nil), make([]float32, 6*3)
	mixed.Backward(1, 0, FromDense(mx), FromFloat32(6, 3, my))
	if !mat.Equal(mx, gx) {
		t.Errorf("float64 destination: %v, want %v", mat.Formatted(mx), mat.Formatted(gx))
	}
	scale := mat.Norm(gy, math.Inf(1))
	for i, v := range gy.RawMatrix().Data {
		if math.Abs(float64(my[i])-v) > 1e-6*scale || !(scale > 0) {
			t.Fatalf("float32 destination entry %d: %v, want %v", i, my[i], v)
		}
	}
}
