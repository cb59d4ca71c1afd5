package ot

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/memtest"
)

// wantTooLarge checks that err reports a problem too large, as both ErrTooLarge and
// ErrInvalidInput, stating the memory needed.
func wantTooLarge(t *testing.T, name string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: no error", name)
	case !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrInvalidInput):
		t.Errorf("%s: %v does not wrap ErrTooLarge and ErrInvalidInput", name, err)
	case !strings.Contains(err.Error(), "needs") || !strings.Contains(err.Error(), "MaxDenseBytes"):
		t.Errorf("%s: %q does not state the memory needed and the bound", name, err)
	}
}

// Issue 13, item 5: every entry point that would allocate dense n×m (or n×n) matrices
// for 200 000 points on each side (320 GB per matrix) fails with ErrTooLarge before
// allocating them, instead of killing the process.
func TestHugeProblemsFailBeforeAllocating(t *testing.T) {
	const n = 200_000
	rng := newTestRand(91)
	x, y := randCloud(rng, n, 2, 0), randCloud(rng, n, 2, 1)
	x32 := FromFloat32(n, 2, make([]float32, 2*n))
	y32 := FromFloat32(n, 2, make([]float32, 2*n))
	eps, two := 1.0, &UnrolledOptions{Iterations: 2}
	calls := []struct {
		name string
		call func() error
	}{
		{"Cost.Matrix", func() error { _, err := SqEuclidean.Matrix(x, y); return err }},
		{"SinkhornPoints", func() error { _, err := SinkhornPoints(x, y, nil, nil, SqEuclidean, 1, nil); return err }},
		{"SinkhornDivergence", func() error {
			_, err := SinkhornDivergence(x, y, nil, nil, SqEuclidean, 1, divOpts(nil, true))
			return err
		}},
		{"SinkhornGradients", func() error { _, err := SinkhornGradients(x, y, nil, nil, SqEuclidean, nil); return err }},
		{"ExactPoints", func() error { _, err := ExactPoints(x, y, nil, nil, SqEuclidean, nil); return err }},
		{"UnrolledSinkhorn", func() error {
			_, err := UnrolledSinkhorn(FromDense(x), FromDense(y), nil, nil, SqEuclidean, eps, two)
			return err
		}},
		{"UnrolledSinkhornDivergence", func() error {
			_, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), nil, nil, SqEuclidean, eps, two)
			return err
		}},
		{"UnrolledSinkhorn32", func() error { _, err := UnrolledSinkhorn(x32, y32, nil, nil, SqEuclidean, eps, two); return err }},
		{"UnrolledSinkhornDivergence32", func() error {
			_, err := UnrolledSinkhornDivergence(x32, y32, nil, nil, SqEuclidean, eps, two)
			return err
		}},
		{"FreeSupportBarycenter", func() error {
			_, err := FreeSupportBarycenter([]*mat.Dense{y}, nil, nil, x, SqEuclidean, &FreeSupportOptions{Eps: 1})
			return err
		}},
		{"Grid.Cost", func() error { _, err := Grid{Rows: 1 << 10, Cols: 1 << 10}.Cost(); return err }},
		{"Barycenter on a long grid", func() error {
			h := Uniform(1 << 20)
			_, err := Barycenter([][]float64{h, h}, Grid{Rows: 1 << 20, Cols: 1}, 1, nil, nil)
			return err
		}},
	}
	for _, c := range calls {
		var err error
		if b := memtest.Allocated(func() { err = c.call() }); b > 64<<20 {
			t.Errorf("%s allocated %s before failing", c.name, byteSize(float64(b)))
		}
		wantTooLarge(t, c.name, err)
		if err != nil && c.name == "SinkhornPoints" {
			t.Log(err)
		}
	}
}

// The entry points that take a cost matrix count it with their own matrices: with the
// bound lowered below what they need, they fail before allocating; at the default
// bound the same calls run.
func TestDenseBoundOnGivenCostMatrices(t *testing.T) {
	rng := newTestRand(92)
	x := randCloud(rng, 300, 2, 0)
	C := SqEuclidean.matrix(x, x) // 300² entries, 720 KB
	hists := [][]float64{Uniform(300), Uniform(300)}
	calls := []struct {
		name string
		call func() error
	}{
		{"Sinkhorn", func() error { _, err := Sinkhorn(nil, nil, C, 1, nil); return err }},
		{"Sinkhorn stabilized", func() error { _, err := Sinkhorn(nil, nil, C, 1, &SinkhornOptions{Method: Stabilized}); return err }},
		{"Exact", func() error { _, err := Exact(nil, nil, C, nil); return err }},
		{"EntropicDual", func() error {
			_, _, _, err := EntropicDual(nil, nil, C, 1, make([]float64, 300), make([]float64, 300))
			return err
		}},
		{"EntropicSemiDual", func() error { _, _, _, err := EntropicSemiDual(nil, nil, C, 1, make([]float64, 300)); return err }},
		{"SemiDualSAG", func() error { _, err := SemiDualSAG(nil, nil, C, 1, &StochasticOptions{MaxIter: 10}); return err }},
		{"SemiDualASGD", func() error { _, err := SemiDualASGD(nil, nil, C, 1, &StochasticOptions{MaxIter: 10}); return err }},
		{"Barycenter", func() error { _, err := Barycenter(hists, DenseSupport(C), 1, nil, nil); return err }},
	}
	defer func(v int64) { MaxDenseBytes = v }(MaxDenseBytes)
	for _, c := range calls {
		MaxDenseBytes = 1 << 20 // above the given matrix, below it with the solver's
		wantTooLarge(t, c.name, c.call())
		MaxDenseBytes = 8 << 30
		if err := c.call(); err != nil {
			t.Errorf("%s at the default bound: %v", c.name, err)
		}
	}
	// An unrolled barycenter's tape grows with L.
	_, err := NewUnrolledBarycenter(hists, DenseSupport(C), 1, 1<<30)
	wantTooLarge(t, "NewUnrolledBarycenter", err)
}

// Legitimate sizes still run: a training-sized unrolled divergence (4096 points, 128
// MiB per matrix) passes the check (checked without running it), and MaxDenseBytes ≤ 0
// disables the check.
func TestDenseBoundAdmitsLegitimateSizes(t *testing.T) {
	if err := denseFits("4096 points", unrolledMatrices(4096, 4096, true)); err != nil {
		t.Errorf("a divergence between 4096 points each: %v", err)
	}
	if err := denseFits("14000 points", divergenceMatrices(14000, 14000, nil, true)); err != nil {
		t.Errorf("a divergence between 14000 points each: %v", err)
	}
	defer func(v int64) { MaxDenseBytes = v }(MaxDenseBytes)
	MaxDenseBytes = 0
	if err := denseFits("huge", 1e30); err != nil {
		t.Errorf("MaxDenseBytes = 0: %v", err)
	}
}

// MMD never stores a kernel matrix: between 1500 points on each side (18 MB per n×m
// matrix, of which it used to allocate three, or six with the gradients) it allocates
// one block (here 512 KiB) and, per block, vectors of the points' size.
func TestMMDMemoryIsBlockBounded(t *testing.T) {
	defer func(v int) { mmdBlockEntries = v }(mmdBlockEntries)
	mmdBlockEntries = 1 << 16
	rng := newTestRand(93)
	x, y := randCloud(rng, 1500, 3, 0), randCloud(rng, 1500, 3, 0.5)
	for _, grad := range []bool{false, true} {
		var err error
		b := memtest.Allocated(func() { _, _, err = mmd(x, y, nil, nil, EnergyKernel{}, grad) })
		if err != nil {
			t.Fatal(err)
		}
		if b > 16<<20 {
			t.Errorf("grad %v: MMD allocated %s", grad, byteSize(float64(b)))
		}
		t.Logf("grad %v: %s allocated", grad, byteSize(float64(b)))
	}
}

// The block-wise MMD and its gradients equal the plain double sums, over many blocks
// (including a last, shorter one).
func TestMMDBlocksMatchDirectSums(t *testing.T) {
	defer func(v int) { mmdBlockEntries = v }(mmdBlockEntries)
	mmdBlockEntries = 7 * 23
	rng := newTestRand(94)
	x, y := randCloud(rng, 40, 3, 0), randCloud(rng, 23, 3, 0.7)
	a, b := randWeights(rng, 40), randWeights(rng, 23)
	for _, k := range []Kernel{GaussianMixture{0.5, 2}, EnergyKernel{}, CostKernel{PowerCost(1.5)}} {
		v, g, err := mmd(x, y, a, b, k, true)
		if err != nil {
			t.Fatal(err)
		}
		// direct sums: w·Σ a_i b_j κ(d²) and its derivatives
		want, gx, gy := 0.0, mat.NewDense(40, 3, nil), mat.NewDense(23, 3, nil)
		ga, gb := make([]float64, 40), make([]float64, 23)
		term := func(p, q *mat.Dense, wp, wq []float64, gp, gq *mat.Dense, gwp, gwq []float64, w float64) {
			np, _ := p.Dims()
			nq, _ := q.Dims()
			for i := 0; i < np; i++ {
				for j := 0; j < nq; j++ {
					pi, qj := p.RawRowView(i), q.RawRowView(j)
					d2 := 0.0
					for k := range pi {
						d2 += (pi[k] - qj[k]) * (pi[k] - qj[k])
					}
					kv, dk := k.Eval(d2)
					want += w * wp[i] * wq[j] * kv
					gwp[i] += w * wq[j] * kv
					gwq[j] += w * wp[i] * kv
					for k := range pi {
						gp.Set(i, k, gp.At(i, k)+w*wp[i]*wq[j]*dk*2*(pi[k]-qj[k]))
						gq.Set(j, k, gq.At(j, k)+w*wp[i]*wq[j]*dk*2*(qj[k]-pi[k]))
					}
				}
			}
		}
		term(x, x, a, a, gx, gx, ga, ga, 1)
		term(y, y, b, b, gy, gy, gb, gb, 1)
		term(x, y, a, b, gx, gy, ga, gb, -2)
		name := fmt.Sprintf("%T", k)
		if math.Abs(v-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: MMD %.15g, direct sum %.15g", name, v, want)
		}
		for _, c := range []struct {
			got, want []float64
		}{{g.X.RawMatrix().Data, gx.RawMatrix().Data}, {g.Y.RawMatrix().Data, gy.RawMatrix().Data}, {g.A, ga}, {g.B, gb}} {
			if d := maxAbsDiff(c.got, c.want); d > 1e-12 {
				t.Errorf("%s: gradient differs from the direct sum by %g", name, d)
			}
		}
	}
}

// Issue 13, item 7: coordinates whose squared distances overflow float64 are rejected
// by every entry point alike, naming the point (MMD with EnergyKernel returned NaN with
// a nil error); a kernel that overflows on finite distances is an error too.
func TestHugeCoordinatesRejectedEverywhere(t *testing.T) {
	rng := newTestRand(95)
	x, y := randCloud(rng, 5, 2, 0), randCloud(rng, 4, 2, 0)
	x.Scale(1e200, x)
	calls := []struct {
		name string
		call func() error
	}{
		{"MMD energy", func() error { _, _, err := mmd(x, y, nil, nil, EnergyKernel{}, true); return err }},
		{"MMD Gaussian", func() error { _, _, err := mmd(x, y, nil, nil, GaussianMixture{1}, false); return err }},
		{"MMD energy without gradients", func() error { _, _, err := mmd(x, y, nil, nil, EnergyKernel{}, false); return err }},
		{"Cost.Matrix", func() error { _, err := Euclidean.Matrix(x, y); return err }},
		{"SinkhornPoints", func() error { _, err := SinkhornPoints(x, y, nil, nil, Euclidean, 1, nil); return err }},
		{"SinkhornDivergence", func() error {
			_, err := SinkhornDivergence(x, y, nil, nil, Euclidean, 1, divOpts(nil, false))
			return err
		}},
		{"ExactPoints", func() error { _, err := ExactPoints(x, y, nil, nil, Euclidean, nil); return err }},
		{"UnrolledSinkhornDivergence", func() error {
			_, err := UnrolledSinkhornDivergence(FromDense(x), FromDense(y), nil, nil, Euclidean, 1, &UnrolledOptions{Iterations: 1})
			return err
		}},
		{"FreeSupportBarycenter", func() error {
			_, err := FreeSupportBarycenter([]*mat.Dense{x}, nil, nil, y, SqEuclidean, nil)
			return err
		}},
	}
	for _, c := range calls {
		err := c.call()
		if !errors.Is(err, ErrInvalidInput) || !strings.Contains(fmt.Sprint(err), "squared norm") {
			t.Errorf("%s: %v, want an ErrInvalidInput naming the point's squared norm", c.name, err)
		}
	}
	// finite points, a cost kernel that overflows: |x−y|³ ≈ 1e360
	z := randCloud(rng, 5, 2, 0)
	z.Scale(1e120, z)
	if v, _, err := mmd(z, y, nil, nil, CostKernel{PowerCost(3)}, true); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("MMD with an overflowing kernel: %v, %v; want ErrInvalidInput", v, err)
	}
}

// Issue 13 (L2): the potentials an unrolled solve keeps grow with L, which is the
// caller's number: a huge Iterations fails with ErrTooLarge before anything is
// allocated, in float64 and float32, alone and in a divergence, and CheckUnrolled
// (what a training config is checked with) returns the same error.
func TestUnrolledIterationsAreBounded(t *testing.T) {
	rng := newTestRand(97)
	x, y := randCloud(rng, 10, 2, 0), randCloud(rng, 12, 2, 1)
	p32 := func(d *mat.Dense) Points {
		r, c := d.Dims()
		v := make([]float32, 0, r*c)
		for i := range r {
			for j := range c {
				v = append(v, float32(d.At(i, j)))
			}
		}
		return FromFloat32(r, c, v)
	}
	huge := func(L int) {
		t.Helper()
		opts := &UnrolledOptions{Iterations: L}
		for _, pts := range [][2]Points{{FromDense(x), FromDense(y)}, {p32(x), p32(y)}} {
			_, err := UnrolledSinkhorn(pts[0], pts[1], nil, nil, SqEuclidean, 1, opts)
			wantTooLarge(t, fmt.Sprintf("UnrolledSinkhorn with L = %d, float32 %v", L, pts[0].IsFloat32()), err)
			_, err = UnrolledSinkhornDivergence(pts[0], pts[1], nil, nil, SqEuclidean, 1, opts)
			wantTooLarge(t, fmt.Sprintf("UnrolledSinkhornDivergence with L = %d, float32 %v", L, pts[0].IsFloat32()), err)
		}
		wantTooLarge(t, fmt.Sprintf("CheckUnrolled with L = %d", L), CheckUnrolled(10, 12, L, true))
	}
	huge(1 << 40)
	huge(math.MaxInt)
	// 2^20 iterations between 10 and 12 points keep 2^20·22·8 bytes = 176 MiB: under
	// a bound of 64 MiB that fails; 1000 iterations (176 KiB) run.
	defer func(v int64) { MaxDenseBytes = v }(MaxDenseBytes)
	MaxDenseBytes = 64 << 20
	huge(1 << 20)
	if err := CheckUnrolled(10, 12, 1000, true); err != nil {
		t.Errorf("CheckUnrolled with L = 1000: %v", err)
	}
	if _, err := UnrolledSinkhorn(FromDense(x), FromDense(y), nil, nil, SqEuclidean, 1, &UnrolledOptions{Iterations: 1000}); err != nil {
		t.Errorf("UnrolledSinkhorn with L = 1000: %v", err)
	}
}
