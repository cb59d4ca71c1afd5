package eval

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
)

// shapes returns n colour images of side×side (uint8, channel-major) of three
// classes — a red disc, a green square, a blue disc — at random places and sizes on a
// noisy grey background, the class of image i being i mod 3.
func shapes(n, side int, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	dim := 3 * side * side
	d := &data.Dataset{Pix: make([]uint8, n*dim), LUT: data.ScaleLUT(0, 255), N: n, Dim: dim, Shape: [3]int{3, side, side},
		Classes: []string{"red disc", "green square", "blue disc"}, Source: "test shapes"}
	for i := range n {
		c := i % 3
		d.Labels = append(d.Labels, c)
		r := 2 + rng.Float64()*float64(side)/5
		cx, cy := r+rng.Float64()*(float64(side)-2*r), r+rng.Float64()*(float64(side)-2*r)
		img := d.Pix[i*dim : (i+1)*dim]
		for y := range side {
			for x := range side {
				dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
				in := dx*dx+dy*dy <= r*r
				if c == 1 {
					in = max(dx, -dx, dy, -dy) <= r
				}
				for ch := range 3 {
					v := 60 + rng.IntN(40)
					if in && ch == []int{0, 1, 2}[c] {
						v = 200 + rng.IntN(56)
					}
					img[ch*side*side+y*side+x] = uint8(v)
				}
			}
		}
	}
	return d
}

// rowsOf returns the points of ds as rows.
func rowsOf(ds *data.Dataset) *mat.Dense {
	out := make([]float32, ds.N*ds.Dim)
	for i := range ds.N {
		ds.Point(out[i*ds.Dim:(i+1)*ds.Dim], i)
	}
	return DenseFromFloat32(out, ds.N, ds.Dim)
}

// The classifier recipe on labelled colour images of 16×16 with 3 classes: it
// reaches a high accuracy on held-out points, is cached and reloaded (the file
// reader takes its sizes) and computes the same; a sample of one class covers 1 of
// the 3 classes, a sample of all covers 3.
func TestDataClassifierColour(t *testing.T) {
	ds := shapes(600, 16, 1)
	train, test, err := ds.Holdout(0.2, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clf.bin")
	opt := ClassifierOptions{}
	clf, trained, err := LoadOrTrainDataClassifier(path, train, test, opt, false)
	if err != nil || !trained {
		t.Fatalf("trained %v, err %v", trained, err)
	}
	t.Logf("%.2f%% accuracy on %d held-out shapes", 100*clf.Info.TestAccuracy, test.N)
	if clf.Info.TestAccuracy < 0.95 || !slices.Equal(clf.Info.Sizes, []int{768, 512, 128, 3}) || !slices.Equal(clf.Info.Shape, []int{3, 16, 16}) {
		t.Errorf("classifier %+v: want ≥ 95%% accuracy on the held-out shapes, sizes 768…3", clf.Info)
	}
	back, trained, err := LoadOrTrainDataClassifier(path, train, test, opt, false)
	if err != nil || trained {
		t.Fatalf("cached: trained %v, err %v", trained, err)
	}
	x := rowsOf(test)
	p1, f1, _ := clf.Predict(x)
	p2, f2, _ := back.Predict(x)
	if !mat.Equal(p1, p2) || !mat.Equal(f1, f2) || !slices.Equal(back.Info.Classes, ds.Classes) {
		t.Error("the reloaded classifier differs")
	}
	// One class (the red discs of the test part) against all of them.
	var red []int
	for i, l := range test.Labels {
		if l == 0 {
			red = append(red, i)
		}
	}
	one := mat.NewDense(len(red), test.Dim, nil)
	for r, i := range red {
		one.SetRow(r, x.RawRowView(i))
	}
	m, err := Evaluate(one, x, Options{Classifier: clf, SkipC2ST: true, Distances: DistanceOptions{SkipExact: true}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Classes.Covered != 1 || m.ReferenceClasses.Covered != 3 || len(m.Classes.Histogram) != 3 {
		t.Errorf("one class covers %d of %d classes, all of them %d; want 1 and 3", m.Classes.Covered, len(m.Classes.Histogram), m.ReferenceClasses.Covered)
	}
}

// A data set too big for a classifier, or without two classes, is refused before
// anything is allocated.
func TestCheckClassifierData(t *testing.T) {
	ds := shapes(30, 4, 1)
	train, test, _ := ds.Holdout(0.2, 1)
	if err := CheckClassifierData(train, test, ClassifierOptions{}); err != nil {
		t.Errorf("3 classes of 4×4: %v", err)
	}
	big, bigTest := *train, *test
	big.Dim, bigTest.Dim = 1<<40, 1<<40
	if err := CheckClassifierData(&big, &bigTest, ClassifierOptions{}); err == nil || !strings.Contains(err.Error(), "weights") {
		t.Errorf("2^40 inputs: error %v, want one about the weights", err)
	}
	one := *train
	one.Classes = one.Classes[:1]
	if err := CheckClassifierData(&one, test, ClassifierOptions{}); err == nil {
		t.Error("1 class: no error")
	}
	unlabelled := *train
	unlabelled.Labels = nil
	if err := CheckClassifierData(&unlabelled, test, ClassifierOptions{}); err == nil {
		t.Error("no labels: no error")
	}
}

// A classifier file whose header's class names or image shape do not fit its layer
// sizes (the shape's product chosen to wrap around to the inputs) is refused.
func TestLoadClassifierBadShape(t *testing.T) {
	net, err := newMLP([]int{12, 4, 3}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, info := range []ClassifierInfo{
		{Sizes: net.Sizes, Classes: []string{"a", "b"}},
		{Sizes: net.Sizes, Shape: []int{3, 2, 3}},
		{Sizes: net.Sizes, Shape: []int{3, 1 << 62, 1<<62 + 1}},
		{Sizes: net.Sizes, Shape: []int{12}},
	} {
		path := filepath.Join(dir, fmt.Sprintf("c%d.bin", i))
		if err := (&Classifier{net: net, Info: info}).Save(path); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadClassifier(path); !errors.Is(err, ErrBadClassifierFile) {
			t.Errorf("header %+v: error %v, want ErrBadClassifierFile", info, err)
		}
	}
	good := filepath.Join(dir, "good.bin")
	if err := (&Classifier{net: net, Info: ClassifierInfo{Sizes: net.Sizes, Shape: []int{3, 2, 2}, Classes: []string{"a", "b", "c"}}}).Save(good); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadClassifier(good); err != nil {
		t.Errorf("a consistent header: %v", err)
	}
}
