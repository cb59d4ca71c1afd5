package eval

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/mnisttest"
)

// The MNIST tests share one load and one small classifier trained in a few seconds
// (10000 images, 3 epochs); the full classifier is only checked when it is cached.
var mnistFix struct {
	once sync.Once
	ds   *data.MNIST
	clf  *Classifier
	secs float64
	err  error
}

var tinyRecipe = ClassifierOptions{Hidden: []int{128, 32}, Epochs: 3, TrainN: 10000, Shift: -1, Seed: 3}

func mnistFixture(t *testing.T) (*data.MNIST, *Classifier) {
	t.Helper()
	_, err := data.LocateMNIST()
	mnisttest.Need(t, err)
	mnistFix.once.Do(func() {
		mnistFix.ds, mnistFix.err = data.LoadMNIST("")
		if mnistFix.err != nil {
			return
		}
		t0 := time.Now()
		mnistFix.clf, mnistFix.err = TrainClassifier(mnistFix.ds, tinyRecipe)
		mnistFix.secs = time.Since(t0).Seconds()
	})
	if mnistFix.err != nil {
		t.Fatal(mnistFix.err)
	}
	return mnistFix.ds, mnistFix.clf
}

// testImages returns test images lo…hi−1 as rows.
func testImages(ds *data.MNIST, lo, hi int) *mat.Dense {
	return DenseFromFloat32(ds.Test.Images[lo*data.MNISTPixels:hi*data.MNISTPixels], hi-lo, data.MNISTPixels)
}

func TestTinyClassifier(t *testing.T) {
	_, clf := mnistFixture(t)
	t.Logf("tiny classifier: %.2f%% test accuracy, trained in %.1f s", 100*clf.Info.TestAccuracy, mnistFix.secs)
	if clf.Info.TestAccuracy < 0.9 {
		t.Errorf("tiny classifier test accuracy %.4f, want ≥ 0.9", clf.Info.TestAccuracy)
	}
	if clf.FeatureDim() != 32 {
		t.Errorf("feature dimension %d, want 32", clf.FeatureDim())
	}
}

func TestClassifierFileRoundTripAndDamage(t *testing.T) {
	ds, clf := mnistFixture(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "clf.bin")
	if err := clf.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadClassifier(path)
	if err != nil {
		t.Fatal(err)
	}
	x := testImages(ds, 0, 50)
	p1, f1, _ := clf.Predict(x)
	p2, f2, _ := back.Predict(x)
	if !mat.Equal(p1, p2) || !mat.Equal(f1, f2) {
		t.Error("a reloaded classifier predicts differently")
	}
	if back.Info.TestAccuracy != clf.Info.TestAccuracy || back.Info.Recipe.TrainN != 10000 {
		t.Errorf("header not restored: %+v", back.Info)
	}
	raw, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{
		"flipped byte": func() []byte { b := append([]byte(nil), raw...); b[len(b)/2] ^= 1; return b }(),
		"truncated":    raw[:len(raw)-100],
		"empty":        {},
	} {
		p := filepath.Join(dir, "bad.bin")
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadClassifier(p); !errors.Is(err, ErrBadClassifierFile) {
			t.Errorf("%s: error %v, want ErrBadClassifierFile", name, err)
		}
	}
	// LoadOrTrain: the cached recipe loads; a damaged file or another recipe retrains.
	if c, trained, err := LoadOrTrainClassifier(path, ds, tinyRecipe, false); err != nil || trained || c.Info.TestAccuracy != clf.Info.TestAccuracy {
		t.Fatalf("cached recipe: trained %v, err %v", trained, err)
	}
	other := ClassifierOptions{Hidden: []int{8}, Epochs: 1, TrainN: 500}
	c, trained, err := LoadOrTrainClassifier(path, ds, other, false)
	if err != nil || !trained || c.FeatureDim() != 8 {
		t.Fatalf("other recipe: trained %v, err %v", trained, err)
	}
	if c, trained, _ = LoadOrTrainClassifier(path, ds, other, false); trained || c.FeatureDim() != 8 {
		t.Errorf("the retrained classifier was not saved (trained %v)", trained)
	}
	if err := os.WriteFile(path, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, trained, err = LoadOrTrainClassifier(path, ds, other, false); err != nil || !trained {
		t.Errorf("damaged cache: trained %v, err %v", trained, err)
	}
	if _, trained, _ = LoadOrTrainClassifier(path, ds, other, true); !trained {
		t.Error("retrain did not retrain")
	}
}

// The cached full classifier, when present, reaches 98% and the accuracy its header
// records.
func TestCachedClassifier(t *testing.T) {
	path := filepath.Join(ModuleRoot(), DefaultClassifierPath)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no cached classifier at %s (go run ./cmd/eval -train-classifier)", path)
	}
	ds, _ := mnistFixture(t)
	c, err := LoadClassifier(path)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := c.Accuracy(&ds.Test)
	if err != nil {
		t.Fatal(err)
	}
	if acc < 0.98 || acc != c.Info.TestAccuracy {
		t.Errorf("cached classifier: accuracy %.4f, header %.4f; want ≥ 0.98 and equal", acc, c.Info.TestAccuracy)
	}
}

// Known answers on MNIST: a sample against itself, a brightness shift, two halves of
// the test set, noise, and a collapsed generator against a diverse one.
func TestEvaluateMNIST(t *testing.T) {
	ds, clf := mnistFixture(t)
	ref := testImages(ds, 0, 1000)
	opt := Options{Classifier: clf}

	t0 := time.Now()
	self, err := Evaluate(ref, ref, Options{Classifier: clf, SkipC2ST: true})
	if err != nil {
		t.Fatal(err)
	}
	d := self.Distances
	if d.OT != 0 || math.Abs(d.Sinkhorn) > 1e-4 || d.MMDBiased != 0 || math.Abs(d.EnergyBiased) > 1e-5 || self.Frechet > 1e-4 {
		t.Errorf("a sample against itself: %+v, Fréchet %v", d, self.Frechet)
	}
	if self.Classes.KLUniform != self.ReferenceClasses.KLUniform {
		t.Error("class statistics of one sample differ")
	}
	t.Logf("self: %.2f s %v", time.Since(t0).Seconds(), self.Seconds)

	// Every pixel brighter by 0.05: a translation by v with |v|² = 784·0.0025.
	shifted := mat.DenseCopyOf(ref)
	shifted.Apply(func(_, _ int, v float64) float64 { return v + 0.05 }, shifted)
	sh, err := ComputeDistances(shifted, ref, DistanceOptions{SkipMMD: true, SkipEnergy: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := 0.5 * 784 * 0.0025; math.Abs(sh.OT-want) > 1e-9*want || math.Abs(sh.Sinkhorn-want) > 1e-4*want {
		t.Errorf("brightness shift: OT %v, S_ε %v, want %v", sh.OT, sh.Sinkhorn, want)
	}

	t0 = time.Now()
	diverse, err := Evaluate(testImages(ds, 1000, 2000), ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("diverse (two halves of the test set): %.2f s %v", time.Since(t0).Seconds(), diverse.Seconds)
	for name, r := range map[string]*C2STResult{"features": diverse.C2STFeatures, "pixels": diverse.C2STPixels} {
		if math.Abs(r.Accuracy-0.5) > 4*0.5/math.Sqrt(float64(r.NTest)) {
			t.Errorf("C2ST (%s) between two halves of the test set: accuracy %.3f, want ½", name, r.Accuracy)
		}
	}
	if diverse.Classes.Covered != 10 || diverse.Classes.KLUniform > 0.05 {
		t.Errorf("real images: %+v", diverse.Classes)
	}

	collapsedImg := testImages(ds, 1000, 1001).RawRowView(0)
	collapsed := mat.NewDense(1000, data.MNISTPixels, nil)
	for i := 0; i < 1000; i++ {
		collapsed.SetRow(i, collapsedImg)
	}
	col, err := Evaluate(collapsed, ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	worse := map[string][2]float64{
		"OT":              {col.Distances.OT, diverse.Distances.OT},
		"Sinkhorn":        {col.Distances.Sinkhorn, diverse.Distances.Sinkhorn},
		"MMD":             {col.Distances.MMD, diverse.Distances.MMD},
		"energy":          {col.Distances.Energy, diverse.Distances.Energy},
		"Fréchet":         {col.Frechet, diverse.Frechet},
		"C2ST features":   {col.C2STFeatures.Accuracy, diverse.C2STFeatures.Accuracy},
		"C2ST pixels":     {col.C2STPixels.Accuracy, diverse.C2STPixels.Accuracy},
		"KL to uniform":   {col.Classes.KLUniform, diverse.Classes.KLUniform},
		"missing classes": {float64(10 - col.Classes.Covered), float64(10 - diverse.Classes.Covered)},
		"1/score":         {1 / col.Classes.Score, 1 / diverse.Classes.Score},
	}
	for name, v := range worse {
		if !(v[0] > v[1]) {
			t.Errorf("%s: collapsed %v, diverse %v; the collapsed generator must score worse", name, v[0], v[1])
		}
	}
	if col.Classes.Covered != 1 || col.C2STFeatures.Accuracy < 0.99 {
		t.Errorf("collapsed: %d classes covered, C2ST %.3f", col.Classes.Covered, col.C2STFeatures.Accuracy)
	}

	rng := rand.New(rand.NewPCG(13, 13))
	noise := mat.NewDense(1000, data.MNISTPixels, nil)
	noise.Apply(func(_, _ int, _ float64) float64 { return rng.Float64() }, noise)
	nz, err := Evaluate(noise, ref, Options{Classifier: clf, Distances: DistanceOptions{SkipExact: true, SkipSinkhorn: true}})
	if err != nil {
		t.Fatal(err)
	}
	if nz.C2STPixels.Accuracy < 0.99 || nz.C2STFeatures.Accuracy < 0.99 {
		t.Errorf("C2ST against uniform noise: pixels %.3f, features %.3f; want ≈ 1", nz.C2STPixels.Accuracy, nz.C2STFeatures.Accuracy)
	}
}

// The target's Real sample continues the seeded permutation: disjoint from Ref.
func TestMNISTTargetRealIsDisjoint(t *testing.T) {
	ds, _ := mnistFixture(t)
	tg, err := MNISTTarget(ds, nil, 500, 4)
	if err != nil {
		t.Fatal(err)
	}
	key := func(r []float64) string { return fmt.Sprint(r) }
	seen := map[string]bool{}
	for i := 0; i < 500; i++ {
		seen[key(tg.Ref.RawRowView(i))] = true
	}
	if r, _ := tg.Real.Dims(); r != 500 {
		t.Fatalf("real sample of %d rows", r)
	}
	for i := 0; i < 500; i++ {
		if seen[key(tg.Real.RawRowView(i))] {
			t.Fatalf("real row %d is in the reference", i)
		}
	}
	if big, _ := MNISTTarget(ds, nil, 6000, 4); big.Real != nil {
		t.Error("no room for a disjoint real sample of 6000, yet one was made")
	}
}
