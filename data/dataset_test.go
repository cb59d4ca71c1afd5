package data

import (
	"slices"
	"testing"
)

// Holdout: ⌊frac·N⌋ points held out, the two parts disjoint, together the data, each
// in the file's order, labels moving with their points; the same seed holds out the
// same points, another seed others; fractions that leave a part empty are errors.
func TestHoldout(t *testing.T) {
	const n, dim = 50, 3
	mk := func(bytes bool) *Dataset {
		d := &Dataset{N: n, Dim: dim, Source: "test"}
		for i := range n {
			for j := range dim {
				if bytes {
					d.Pix = append(d.Pix, uint8(i))
				} else {
					d.Vals = append(d.Vals, float32(i*dim+j))
				}
			}
			d.Labels = append(d.Labels, i)
		}
		if bytes {
			d.LUT = ScaleLUT(0, 255)
		}
		return d
	}
	// ids returns the original index of every point of a part, checking that its
	// values and label belong to that point.
	ids := func(d *Dataset) []int {
		var out []int
		p := make([]float32, dim)
		for i := range d.N {
			d.Point(p, i)
			id := d.Labels[i]
			for j, v := range p {
				want := float32(id*dim + j)
				if d.Pix != nil {
					want = float32(id) / 255
				}
				if v != want {
					t.Fatalf("point %d (label %d) value %d is %v, want %v", i, id, j, v, want)
				}
			}
			out = append(out, id)
		}
		return out
	}
	var first []int
	for _, bytes := range []bool{false, true} {
		train, test, err := mk(bytes).Holdout(0.3, 7)
		if err != nil {
			t.Fatal(err)
		}
		a, b := ids(train), ids(test)
		if test.N != 15 || train.N != 35 || !slices.IsSorted(a) || !slices.IsSorted(b) {
			t.Fatalf("parts of %d and %d points (%v, %v): want 35 and 15, each in order", train.N, test.N, a, b)
		}
		all := slices.Sorted(slices.Values(append(slices.Clone(a), b...)))
		for i, id := range all {
			if id != i {
				t.Fatalf("the parts together are %v, not the 50 points", all)
			}
		}
		if first == nil {
			first = b
		} else if !slices.Equal(first, b) {
			t.Errorf("float32 and uint8 data hold out %v and %v", first, b)
		}
	}
	if _, again, _ := mk(false).Holdout(0.3, 8); slices.Equal(ids(again), first) {
		t.Error("seeds 7 and 8 hold out the same points")
	}
	for _, frac := range []float64{0, 1, -0.5, 0.01} {
		if _, _, err := mk(false).Holdout(frac, 1); err == nil {
			t.Errorf("holding out %v of %d points: no error", frac, n)
		}
	}
}
