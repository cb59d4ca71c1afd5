package ot

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func sameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// batchPairs returns B pairs of clouds of different sizes, half of them weighted.
func batchPairs(B int) (xs, ys []*mat.Dense, as, bs [][]float64) {
	rng := rand.New(rand.NewPCG(19, 5))
	for k := 0; k < B; k++ {
		n, m := 20+7*k, 15+5*k
		xs = append(xs, randCloud(rng, n, 3, 0))
		ys = append(ys, randCloud(rng, m, 3, 0.5))
		if k%2 == 0 {
			as, bs = append(as, randWeights(rng, n)), append(bs, randWeights(rng, m))
		} else {
			as, bs = append(as, nil), append(bs, nil)
		}
	}
	return xs, ys, as, bs
}

// Every result of a batch is the separate call's, bit for bit, gradients included.
func TestSinkhornDivergenceBatchEqualsSeparate(t *testing.T) {
	xs, ys, as, bs := batchPairs(5)
	opts := &DivergenceOptions{Grad: true}
	got, err := SinkhornDivergenceBatch(xs, ys, as, bs, SqEuclidean, 0.3, opts)
	if err != nil {
		t.Fatal(err)
	}
	for k := range xs {
		want, err := SinkhornDivergence(xs[k], ys[k], as[k], bs[k], SqEuclidean, 0.3, opts)
		if err != nil {
			t.Fatal(err)
		}
		g, w := got[k], want
		if math.Float64bits(g.Value) != math.Float64bits(w.Value) || g.Iterations != w.Iterations ||
			!sameBits(g.Grad.X.RawMatrix().Data, w.Grad.X.RawMatrix().Data) || !sameBits(g.Grad.Y.RawMatrix().Data, w.Grad.Y.RawMatrix().Data) ||
			!sameBits(g.Grad.A, w.Grad.A) || !sameBits(g.Grad.B, w.Grad.B) {
			t.Errorf("pair %d: batch %.17g, separate %.17g (or their gradients differ)", k, g.Value, w.Value)
		}
	}
}

// The unrolled records of a batch, float64 and float32, and their backward passes
// run in parallel, are the separate calls', bit for bit.
func TestUnrolledBatchEqualsSeparate(t *testing.T) {
	xs, ys, as, bs := batchPairs(4)
	for _, f32 := range []bool{false, true} {
		px, py := make([]Points, len(xs)), make([]Points, len(ys))
		for k := range xs {
			px[k], py[k] = FromDense(xs[k]), FromDense(ys[k])
			if f32 {
				px[k], py[k] = toFloat32Points(xs[k]), toFloat32Points(ys[k])
			}
		}
		opts := &UnrolledOptions{Iterations: 20}
		recs, err := UnrolledSinkhornDivergenceBatch(px, py, as, bs, SqEuclidean, 0.5, opts)
		if err != nil {
			t.Fatal(err)
		}
		grads, err := Batch(len(recs), func(k int) (*mat.Dense, error) {
			n, d := xs[k].Dims()
			g := mat.NewDense(n, d, nil)
			recs[k].Backward(1, 0, FromDense(g), Points{})
			return g, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for k := range xs {
			want, err := UnrolledSinkhornDivergence(px[k], py[k], as[k], bs[k], SqEuclidean, 0.5, opts)
			if err != nil {
				t.Fatal(err)
			}
			n, d := xs[k].Dims()
			g := mat.NewDense(n, d, nil)
			want.Backward(1, 0, FromDense(g), Points{})
			if math.Float64bits(recs[k].Dual) != math.Float64bits(want.Dual) || !sameBits(grads[k].RawMatrix().Data, g.RawMatrix().Data) {
				t.Errorf("float32 %v, pair %d: batch %.17g, separate %.17g (or the gradients differ)", f32, k, recs[k].Dual, want.Dual)
			}
		}
	}
}

// A bad pair is named by its index; mismatched list lengths are errors.
func TestBatchErrors(t *testing.T) {
	xs, ys, as, bs := batchPairs(4)
	bad := append([]*mat.Dense(nil), ys...)
	bad[2] = mat.NewDense(3, 2, nil) // dimension 2 against x's 3
	if _, err := SinkhornDivergenceBatch(xs, bad, nil, nil, SqEuclidean, 1, nil); !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "pair 2:") {
		t.Errorf("pair 2 of dimension 2: %v", err)
	}
	wbad := append([][]float64(nil), as...)
	wbad[3] = []float64{1}
	if _, err := SinkhornDivergenceBatch(xs, ys, wbad, bs, SqEuclidean, 1, nil); !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "pair 3:") {
		t.Errorf("pair 3 with one weight: %v", err)
	}
	for name, f := range map[string]func() error{
		"lengths": func() error { _, err := SinkhornDivergenceBatch(xs, ys[:3], nil, nil, SqEuclidean, 1, nil); return err },
		"as":      func() error { _, err := SinkhornDivergenceBatch(xs, ys, as[:1], nil, SqEuclidean, 1, nil); return err },
		"unrolled lengths": func() error {
			_, err := UnrolledSinkhornDivergenceBatch([]Points{FromDense(xs[0])}, nil, nil, nil, SqEuclidean, 1, nil)
			return err
		},
	} {
		if err := f(); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if r, err := SinkhornDivergenceBatch(nil, nil, nil, nil, SqEuclidean, 1, nil); err != nil || len(r) != 0 {
		t.Errorf("empty batch: %v, %v", r, err)
	}
}

// Rows is a view: pair k of a stacked cloud.
func TestPointsRows(t *testing.T) {
	x := mat.NewDense(4, 2, []float64{0, 1, 2, 3, 4, 5, 6, 7})
	r := FromDense(x).Rows(1, 3).Dense()
	if n, _ := r.Dims(); n != 2 || r.At(0, 0) != 2 || r.At(1, 1) != 5 {
		t.Errorf("float64 rows 1..3: %v", mat.Formatted(r))
	}
	f := FromFloat32(4, 2, []float32{0, 1, 2, 3, 4, 5, 6, 7}).Rows(2, 4)
	if n, _ := f.Dims(); n != 2 || f.f32.Data[0] != 4 || len(f.f32.Data) != 4 {
		t.Errorf("float32 rows 2..4: %v", f.f32)
	}
}

// A batch whose lists disagree in length is refused before anything runs, and the
// message names the list at fault.
func TestBatchSizes(t *testing.T) {
	xs, ys, as, bs := batchPairs(3)
	pts := func(ds []*mat.Dense) []Points {
		out := make([]Points, len(ds))
		for i, d := range ds {
			out[i] = FromDense(d)
		}
		return out
	}
	for _, c := range []struct {
		name   string
		xs, ys []*mat.Dense
		as, bs [][]float64
		want   string
	}{
		{"clouds", xs, ys[:2], nil, nil, "3 x clouds but 2 y clouds"},
		{"as", xs, ys, as[:1], nil, "as has 1 weight vectors for 3 pairs"},
		{"bs", xs, ys, nil, bs[:2], "bs has 2 weight vectors for 3 pairs"},
	} {
		_, err := SinkhornDivergenceBatch(c.xs, c.ys, c.as, c.bs, SqEuclidean, 1, nil)
		if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: SinkhornDivergenceBatch error %v, want one saying %q", c.name, err, c.want)
		}
		_, err = UnrolledSinkhornDivergenceBatch(pts(c.xs), pts(c.ys), c.as, c.bs, SqEuclidean, 1, nil)
		if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: UnrolledSinkhornDivergenceBatch error %v, want one saying %q", c.name, err, c.want)
		}
	}
}
