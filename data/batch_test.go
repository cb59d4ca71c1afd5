package data

import (
	"math"
	"slices"
	"testing"
)

func TestBatcherEpochs(t *testing.T) {
	const n, dim = 10, 3
	rows := make([]float32, n*dim)
	for i := range rows {
		rows[i] = float32(i / dim) // row i holds i
	}
	b, err := NewBatcher(rows, dim, 7, true)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]float32, 4*dim)
	var seen []int
	for len(seen) < 3*n {
		b.Next(batch)
		for k := 0; k < 4; k++ {
			r := batch[k*dim]
			if batch[k*dim+1] != r || batch[k*dim+2] != r {
				t.Fatalf("row copied wrong: %v", batch[k*dim:(k+1)*dim])
			}
			seen = append(seen, int(r))
		}
	}
	// each epoch (n consecutive draws) is a permutation, and epochs differ
	for e := 0; e < 3; e++ {
		ep := slices.Clone(seen[e*n : (e+1)*n])
		slices.Sort(ep)
		for i, v := range ep {
			if v != i {
				t.Fatalf("epoch %d is not a permutation: %v", e, seen[e*n:(e+1)*n])
			}
		}
	}
	if slices.Equal(seen[:n], seen[n:2*n]) {
		t.Error("two epochs in the same order")
	}
	// same seed, same order; no shuffle, file order
	b2, _ := NewBatcher(rows, dim, 7, true)
	b3, _ := NewBatcher(rows, dim, 7, false)
	one := make([]float32, dim)
	for i := 0; i < 2*n; i++ {
		b2.Next(one)
		if int(one[0]) != seen[i] {
			t.Fatalf("same seed, draw %d: %v vs %v", i, one[0], seen[i])
		}
		b3.Next(one)
		if int(one[0]) != i%n {
			t.Fatalf("unshuffled draw %d is row %v", i, one[0])
		}
	}
}

func TestBatcherState(t *testing.T) {
	rows := make([]float32, 50*2)
	for i := range rows {
		rows[i] = float32(i)
	}
	a, _ := NewBatcher(rows, 2, 3, true)
	buf := make([]float32, 2*7)
	for i := 0; i < 9; i++ { // into the second epoch
		a.Next(buf)
	}
	st, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewBatcher(rows, 2, 3, true)
	if err := b.UnmarshalBinary(st); err != nil {
		t.Fatal(err)
	}
	x, y := make([]float32, 2*13), make([]float32, 2*13)
	for i := 0; i < 10; i++ {
		a.Next(x)
		b.Next(y)
		if !slices.Equal(x, y) {
			t.Fatalf("restored batcher differs at batch %d", i)
		}
	}
	other, _ := NewBatcher(rows, 2, 4, true)
	for _, bad := range [][]byte{st[:len(st)-1], append(slices.Clone(st), 0), nil} {
		if err := b.UnmarshalBinary(bad); err == nil {
			t.Errorf("state of %d bytes accepted", len(bad))
		}
	}
	if err := other.UnmarshalBinary(st); err == nil {
		t.Error("state of another seed accepted")
	}
	if _, err := NewBatcher(rows[:5], 2, 1, true); err == nil {
		t.Error("ragged rows accepted")
	}
}

func TestToys(t *testing.T) {
	for _, kind := range Toys {
		s, err := NewToy(kind, 0.05, 1)
		if err != nil {
			t.Fatal(err)
		}
		pts := make([]float32, 2*20000)
		s.Next(pts)
		var mx, my, r2max float64
		for i := 0; i < len(pts); i += 2 {
			x, y := float64(pts[i]), float64(pts[i+1])
			mx, my = mx+x, my+y
			r2max = math.Max(r2max, x*x+y*y)
		}
		mx, my = mx/20000, my/20000
		switch kind {
		case Ring, Grid:
			// centred, and every point within 5σ of a mode, each mode drawn about equally
			if math.Hypot(mx, my) > 0.05 {
				t.Errorf("%s: mean (%.3f, %.3f)", kind, mx, my)
			}
			modes := kind.Modes()
			counts := make([]int, len(modes))
			for i := 0; i < len(pts); i += 2 {
				best, bd := 0, math.Inf(1)
				for k, c := range modes {
					if d := math.Hypot(float64(pts[i])-c[0], float64(pts[i+1])-c[1]); d < bd {
						best, bd = k, d
					}
				}
				if bd > 0.3 {
					t.Fatalf("%s: point (%v, %v) is %.2f from every mode", kind, pts[i], pts[i+1], bd)
				}
				counts[best]++
			}
			for k, c := range counts {
				if want := 20000 / len(modes); math.Abs(float64(c-want)) > 5*math.Sqrt(float64(want)) {
					t.Errorf("%s: mode %d drawn %d times, expected about %d", kind, k, c, want)
				}
			}
		case Moons:
			if math.Abs(mx) > 0.05 || math.Abs(my) > 0.05 || r2max > 2.5*2.5 {
				t.Errorf("moons: mean (%.3f, %.3f), max radius %.2f", mx, my, math.Sqrt(r2max))
			}
		case SwissRoll:
			if r2max > 3*3 {
				t.Errorf("swiss roll reaches radius %.2f", math.Sqrt(r2max))
			}
		}
		// state round trip
		st, _ := s.MarshalBinary()
		a := make([]float32, 64)
		s.Next(a)
		s2, _ := NewToy(kind, 0.05, 99)
		if err := s2.UnmarshalBinary(st); err != nil {
			t.Fatal(err)
		}
		b := make([]float32, 64)
		s2.Next(b)
		if !slices.Equal(a, b) {
			t.Errorf("%s: restored sampler differs", kind)
		}
		if err := s2.UnmarshalBinary(st[:5]); err == nil {
			t.Errorf("%s: truncated state accepted", kind)
		}
	}
	if _, err := NewToy("spiral", 0.1, 1); err == nil {
		t.Error("unknown toy accepted")
	}
}

func TestSelectMNIST(t *testing.T) {
	_, m := realMNIST(t)
	all, err := SelectMNIST(m, "all", nil, 0)
	if err != nil || len(all) != 70000*MNISTPixels {
		t.Fatalf("all: %d values, %v", len(all), err)
	}
	sevens, err := SelectMNIST(m, "test", []int{7}, 0)
	if err != nil || len(sevens) != 1028*MNISTPixels { // the test set has 1028 sevens
		t.Fatalf("test sevens: %d images, %v", len(sevens)/MNISTPixels, err)
	}
	if !slices.Equal(sevens[:MNISTPixels], m.Test.Image(0)) { // the first test image is a 7
		t.Error("first selected seven is not test image 0")
	}
	few, err := SelectMNIST(m, "train", []int{0, 1}, 5)
	if err != nil || len(few) != 5*MNISTPixels {
		t.Fatalf("limit: %d, %v", len(few)/MNISTPixels, err)
	}
	for _, bad := range []struct {
		split  string
		digits []int
	}{{"valid", nil}, {"train", []int{10}}} {
		if _, err := SelectMNIST(m, bad.split, bad.digits, 0); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
