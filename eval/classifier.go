package eval

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/atomicfile"
	"github.com/sinkgen/sinkgen/internal/filelock"
	"github.com/sinkgen/sinkgen/internal/progress"
)

// DefaultClassifierPath is where the MNIST classifier is cached, relative to the
// module root (the directory of go.mod); checkpoints/ is git-ignored.
const DefaultClassifierPath = "checkpoints/eval/mnist-classifier.bin"

// MNISTClasses is the number of digit classes.
const MNISTClasses = 10

// ClassifierOptions is the recipe of the MNIST classifier: an MLP 784 → Hidden… → 10
// with ReLU, trained by AdamW (cosine-decayed rate) on the MNIST training split. The
// zero value of each field means its default; the defaults reach 98.63% test
// accuracy in about 70 seconds on 2 cores.
type ClassifierOptions struct {
	Hidden      []int   // hidden widths (default 512, 128); the last is the feature dimension
	Epochs      int     // default 12
	Batch       int     // default 128
	LR          float64 // default 1e-3
	WeightDecay float64 // decoupled weight decay (default 0.01; negative: none)
	// Shift is the largest random translation, in pixels along each axis, of the
	// training images (augmentation; default 2, negative: none).
	Shift int
	Seed  uint64 // default 1
	// TrainN limits training to the first TrainN images (0: all 60000): small
	// classifiers for tests.
	TrainN int
	// MinAccuracy makes TrainClassifier fail when the test accuracy is lower
	// (0: none).
	MinAccuracy float64 `json:"-"`
	// Progress receives the progress report (package progress; nil: none).
	Progress io.Writer `json:"-"`
	// Notices receives LoadOrTrainClassifier's lines saying why the cache is not
	// used (unreadable) or that another process is training it (nil: Progress).
	Notices io.Writer `json:"-"`
}

func (o ClassifierOptions) withDefaults() (ClassifierOptions, error) {
	if o.Hidden == nil {
		o.Hidden = []int{512, 128}
	}
	if o.Epochs == 0 {
		o.Epochs = 12
	}
	if o.Batch == 0 {
		o.Batch = 128
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.WeightDecay == 0 {
		o.WeightDecay = 0.01
	} else if o.WeightDecay < 0 {
		o.WeightDecay = 0
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Shift == 0 {
		o.Shift = 2
	} else if o.Shift < 0 {
		o.Shift = -1
	}
	if len(o.Hidden) == 0 {
		return o, errors.New("eval: the classifier needs at least one hidden layer (its features)")
	}
	for _, h := range o.Hidden {
		if h < 1 {
			return o, fmt.Errorf("eval: hidden widths %v must be positive", o.Hidden)
		}
	}
	if o.Epochs < 1 || o.Batch < 1 || !(o.LR > 0) || o.Shift > 8 || o.TrainN < 0 {
		return o, fmt.Errorf("eval: bad classifier options %+v", o)
	}
	return o, nil
}

// recipe is the part of the options that determines the trained weights.
func (o ClassifierOptions) recipe() ClassifierOptions {
	o.MinAccuracy, o.Progress = 0, nil
	o.Hidden = slices.Clone(o.Hidden)
	return o
}

// ClassifierInfo describes a trained classifier; it is the header of the cache file.
type ClassifierInfo struct {
	Recipe       ClassifierOptions
	Sizes        []int   // layer widths, 784 … 10 for MNIST: inputs … classes
	TestAccuracy float64 // on the 10000 MNIST test images, or the data's held-out points
	// Classes names the classes and Shape is the images' C×H×W (none for vectors) of
	// a classifier trained on the user's data (TrainDataClassifier); both are absent
	// for MNIST.
	Classes      []string `json:",omitempty"`
	Shape        []int    `json:",omitempty"`
	TrainSeconds float64
	Trained      time.Time
}

// Classifier is a trained classifier (of MNIST or of the user's labelled data). Its penultimate layer (the last hidden
// layer, after ReLU) gives the features of the Fréchet distance and of the feature
// space two-sample test.
type Classifier struct {
	Info ClassifierInfo
	net  *mlp
}

// sizes returns the layer widths (nil for a nil classifier).
func (c *Classifier) sizes() []int {
	if c == nil {
		return []int{0}
	}
	return c.Info.Sizes
}

// FeatureDim returns the dimension of the penultimate features.
func (c *Classifier) FeatureDim() int { return c.net.Sizes[len(c.net.Sizes)-2] }

// TrainClassifier trains the classifier of the recipe opt on ds.Train and measures
// its accuracy on ds.Test. The weights are rounded to float32, as they are stored, so
// a saved and reloaded classifier computes exactly what the returned one does.
func TrainClassifier(ds *data.MNIST, opt ClassifierOptions) (*Classifier, error) {
	if ds == nil || ds.Train.Len() == 0 || ds.Test.Len() == 0 {
		return nil, errors.New("eval: classifier training needs the MNIST training and test splits")
	}
	return TrainDataClassifier(mnistDataset(&ds.Train), mnistDataset(&ds.Test), opt)
}

// mnistDataset views an MNIST split as a labelled data set (the images are shared).
func mnistDataset(s *data.MNISTSet) *data.Dataset {
	labels := make([]int, s.Len())
	for i, l := range s.Labels {
		labels[i] = int(l)
	}
	classes := make([]string, MNISTClasses)
	for c := range classes {
		classes[c] = fmt.Sprint(c)
	}
	return &data.Dataset{Vals: s.Images, N: s.Len(), Dim: data.MNISTPixels, Shape: [3]int{1, data.MNISTRows, data.MNISTCols},
		Labels: labels, Classes: classes, Source: mnistSource}
}

const mnistSource = "MNIST"

// maxClassifierWeights bounds the weights of a classifier (what a classifier file
// may hold), checked before anything is allocated.
const maxClassifierWeights = maxClassifierFile / 4

// CheckClassifierData says why the classifier recipe cannot be trained on labelled
// points split into train and test (nil: it can): it needs labels, at least two
// classes, points in both parts and a network of at most maxClassifierWeights.
func CheckClassifierData(train, test *data.Dataset, opt ClassifierOptions) error {
	opt, err := opt.withDefaults()
	if err != nil {
		return err
	}
	switch {
	case train == nil || test == nil || train.Labels == nil || test.Labels == nil:
		return errors.New("the data has no labels (data.labels)")
	case len(train.Classes) < 2:
		return fmt.Errorf("the data has %d class, a classifier needs at least 2", len(train.Classes))
	case train.Dim != test.Dim || !slices.Equal(train.Classes, test.Classes):
		return errors.New("the training and test points differ in dimension or classes")
	case train.N < 2 || test.N < 1:
		return fmt.Errorf("%d training and %d test points are too few to train a classifier", train.N, test.N)
	}
	w, prev := 0, train.Dim
	for _, h := range append(slices.Clone(opt.Hidden), len(train.Classes)) {
		if prev > maxClassifierWeights/h { // (prev+1)·h could overflow
			return fmt.Errorf("a classifier of %d inputs and hidden widths %v would exceed %d weights", train.Dim, opt.Hidden, maxClassifierWeights)
		}
		w += (prev + 1) * h
		prev = h
	}
	if w > maxClassifierWeights {
		return fmt.Errorf("a classifier of %d inputs and hidden widths %v has %d weights, more than %d", train.Dim, opt.Hidden, w, maxClassifierWeights)
	}
	return nil
}

// TrainDataClassifier trains the classifier of the recipe opt — an MLP of
// train.Dim inputs, the recipe's hidden widths and one output per class of
// train.Classes — on train and measures its accuracy on test. The shift augmentation
// applies to images (train.Shape set), every channel alike. It reads the points
// batch by batch (data.Dataset.Point), so uint8 data stays uint8 in memory.
func TrainDataClassifier(train, test *data.Dataset, opt ClassifierOptions) (*Classifier, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := CheckClassifierData(train, test, opt); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	n := train.N
	if opt.TrainN > 0 && opt.TrainN < n {
		n = opt.TrainN
	}
	in, k := train.Dim, len(train.Classes)
	sizes := append(append([]int{in}, opt.Hidden...), k)
	rng := rand.New(rand.NewPCG(opt.Seed, 0xc1a551f1e4))
	net, err := newMLP(sizes, rng)
	if err != nil {
		return nil, err
	}
	to := trainOptions{Epochs: opt.Epochs, Batch: opt.Batch, LR: opt.LR, WeightDecay: opt.WeightDecay, Seed: opt.Seed}
	if sh := train.Shape; opt.Shift > 0 && sh[0] > 0 {
		s := opt.Shift
		buf := make([]float32, in)
		to.Augment = func(row []float32, rng *rand.Rand) { shiftImage(row, buf, sh, rng.IntN(2*s+1)-s, rng.IntN(2*s+1)-s) }
	}
	if opt.Progress != nil {
		steps := (n / min(opt.Batch, n)) * opt.Epochs
		bar := progress.New(opt.Progress, "training the classifier of "+train.Source, steps)
		var avg float64
		to.Progress = func(step, steps int, loss float64) {
			avg = 0.98*avg + 0.02*loss
			if step < 50 {
				avg = loss
			}
			bar.Describe(fmt.Sprintf("loss %.4f", avg))
			bar.Set(step)
		}
		defer bar.Finish()
	}
	t0 := time.Now()
	if err := trainMLPRows(net, train.Point, train.Labels[:n], to); err != nil {
		return nil, err
	}
	for l := range net.W {
		roundToFloat32(net.W[l])
		roundToFloat32(net.B[l])
	}
	c := &Classifier{net: net, Info: ClassifierInfo{Recipe: opt.recipe(), Sizes: sizes,
		TrainSeconds: time.Since(t0).Seconds(), Trained: time.Now().UTC().Truncate(time.Second)}}
	if train.Source != mnistSource { // MNIST's header stays as it was
		c.Info.Classes = slices.Clone(train.Classes)
		if train.Shape[0] > 0 {
			c.Info.Shape = train.Shape[:]
		}
	}
	acc, err := c.accuracy(test)
	if err != nil {
		return nil, err
	}
	c.Info.TestAccuracy = acc
	if acc < opt.MinAccuracy {
		return c, fmt.Errorf("eval: classifier test accuracy %.4f below the required %.4f", acc, opt.MinAccuracy)
	}
	return c, nil
}

func roundToFloat32(v []float64) {
	for i, x := range v {
		v[i] = float64(float32(x))
	}
}

// shiftImage translates a C×H×W image (shape) by (dx, dy) pixels in place, every
// channel alike, filling with 0.
func shiftImage(img, buf []float32, shape [3]int, dx, dy int) {
	if dx == 0 && dy == 0 {
		return
	}
	clear(buf)
	rows, cols := shape[1], shape[2]
	for ch := 0; ch < shape[0]; ch++ {
		src, dst := img[ch*rows*cols:], buf[ch*rows*cols:]
		for r := 0; r < rows; r++ {
			sr := r - dy
			if sr < 0 || sr >= rows {
				continue
			}
			for c := 0; c < cols; c++ {
				sc := c - dx
				if sc >= 0 && sc < cols {
					dst[r*cols+c] = src[sr*cols+sc]
				}
			}
		}
	}
	copy(img, buf)
}

// Predict returns the class probabilities (softmax of the logits) and the
// penultimate features of the rows of x (784 columns, intensities in [0,1] as
// data.MNISTSet holds them).
func (c *Classifier) Predict(x *mat.Dense) (probs, features *mat.Dense, err error) {
	logits, feats, err := c.net.forward(x)
	if err != nil {
		return nil, nil, err
	}
	n, _ := logits.Dims()
	for i := 0; i < n; i++ {
		softmaxInPlace(logits.RawRowView(i))
	}
	return logits, feats, nil
}

func softmaxInPlace(r []float64) {
	mx := math.Inf(-1)
	for _, v := range r {
		mx = math.Max(mx, v)
	}
	var z float64
	for j, v := range r {
		r[j] = math.Exp(v - mx)
		z += r[j]
	}
	for j := range r {
		r[j] /= z
	}
}

// Accuracy returns the fraction of set's images whose most probable class is their
// label.
func (c *Classifier) Accuracy(set *data.MNISTSet) (float64, error) {
	return c.accuracy(mnistDataset(set))
}

// accuracy returns the fraction of ds's points whose most probable class is their
// label, predicting a chunk of points at a time.
func (c *Classifier) accuracy(ds *data.Dataset) (float64, error) {
	if ds.N == 0 {
		return 0, errors.New("eval: accuracy of an empty set")
	}
	correct := 0
	const chunk = 2000
	buf := make([]float32, min(chunk, ds.N)*ds.Dim)
	for lo := 0; lo < ds.N; lo += chunk {
		hi := min(ds.N, lo+chunk)
		for i := lo; i < hi; i++ {
			ds.Point(buf[(i-lo)*ds.Dim:(i-lo+1)*ds.Dim], i)
		}
		p, _, err := c.Predict(DenseFromFloat32(buf[:(hi-lo)*ds.Dim], hi-lo, ds.Dim))
		if err != nil {
			return 0, err
		}
		for i := lo; i < hi; i++ {
			if argmax(p.RawRowView(i-lo)) == ds.Labels[i] {
				correct++
			}
		}
	}
	return float64(correct) / float64(ds.N), nil
}

func argmax(r []float64) int {
	b := 0
	for j, v := range r {
		if v > r[b] {
			b = j
		}
	}
	return b
}

// DenseFromFloat32 copies n rows of d float32 values into a float64 matrix.
func DenseFromFloat32(v []float32, n, d int) *mat.Dense {
	if len(v) != n*d {
		panic(fmt.Sprintf("eval: DenseFromFloat32: %d values for %d×%d", len(v), n, d))
	}
	out := make([]float64, n*d)
	for i, x := range v {
		out[i] = float64(x)
	}
	return mat.NewDense(n, d, out)
}

// The cache file: the magic line, a little-endian uint32 length and that many bytes
// of JSON header (ClassifierInfo), the weights and biases of each layer as
// little-endian float32 (W0, b0, W1, b1, …; W row-major inputs × outputs), and the
// SHA-256 of everything before it.
const classifierMagic = "sinkgen eval classifier v1\n"

// Save writes the classifier to path atomically (a temporary file renamed into
// place), creating the directory.
func (c *Classifier) Save(path string) error {
	var buf bytes.Buffer
	buf.WriteString(classifierMagic)
	hdr, err := json.Marshal(c.Info)
	if err != nil {
		return fmt.Errorf("eval: classifier header: %w", err)
	}
	_ = binary.Write(&buf, binary.LittleEndian, uint32(len(hdr)))
	buf.Write(hdr)
	for l := range c.net.W {
		for _, v := range [][]float64{c.net.W[l], c.net.B[l]} {
			for _, x := range v {
				_ = binary.Write(&buf, binary.LittleEndian, math.Float32bits(float32(x)))
			}
		}
	}
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sum[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

// ErrBadClassifierFile is wrapped by LoadClassifier's error when the file is not a
// complete, uncorrupted classifier (bad magic, checksum or sizes).
var ErrBadClassifierFile = errors.New("eval: not a valid classifier file")

// maxClassifierFile bounds the size of a classifier file (64M weights; the default
// classifier has 468k).
const maxClassifierFile = 256 << 20

// LoadClassifier reads a classifier written by Save, verifying its SHA-256 and that
// the header's sizes match the payload.
func LoadClassifier(path string) (*Classifier, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadClassifierFile, path, fmt.Sprintf(format, a...))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	if st.Size() > maxClassifierFile {
		return nil, bad("%d bytes, more than a classifier file may have (%d)", st.Size(), maxClassifierFile)
	}
	raw := make([]byte, st.Size())
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, fmt.Errorf("eval: reading %s: %w", path, err)
	}
	if len(raw) < len(classifierMagic)+4+sha256.Size || string(raw[:len(classifierMagic)]) != classifierMagic {
		return nil, bad("no classifier header")
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, bad("SHA-256 %s, the file records %s (corrupted or truncated)", hex.EncodeToString(got[:]), hex.EncodeToString(sum))
	}
	rest := body[len(classifierMagic):]
	hl := int(binary.LittleEndian.Uint32(rest))
	rest = rest[4:]
	if hl > len(rest) {
		return nil, bad("header of %d bytes in a file of %d", hl, len(raw))
	}
	c := &Classifier{}
	if err := json.Unmarshal(rest[:hl], &c.Info); err != nil {
		return nil, bad("header: %v", err)
	}
	rest = rest[hl:]
	sz := c.Info.Sizes
	if len(sz) < 3 || sz[0] < 1 || sz[len(sz)-1] < 2 {
		return nil, bad("layer sizes %v, want inputs … classes (at least 2) with a hidden layer", sz)
	}
	if c.Info.Classes != nil && len(c.Info.Classes) != sz[len(sz)-1] {
		return nil, bad("%d class names for %d outputs", len(c.Info.Classes), sz[len(sz)-1])
	}
	// Every size is checked against the payload before any product, which could
	// otherwise wrap around to match it.
	want := 0
	for l := 0; l+1 < len(sz) && want <= len(rest); l++ {
		if sz[l+1] < 1 || sz[l] > len(rest) || sz[l+1] > len(rest) {
			return nil, bad("layer sizes %v for %d bytes of weights", sz, len(rest))
		}
		want += (sz[l] + 1) * sz[l+1]
	}
	if len(rest) != 4*want {
		return nil, bad("%d bytes of weights, the sizes %v need %d", len(rest), sz, 4*want)
	}
	// sz[0] is now at most the payload's length, so the product cannot overflow.
	if sh := c.Info.Shape; sh != nil && (len(sh) != 3 || slices.Min(sh) < 1 || slices.Max(sh) > sz[0] || sh[0]*sh[1] > sz[0] || sh[0]*sh[1]*sh[2] != sz[0]) {
		return nil, bad("image shape %v for %d inputs", sh, sz[0])
	}
	c.net = &mlp{Sizes: slices.Clone(sz)}
	next := func(k int) []float64 {
		out := make([]float64, k)
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(rest)))
			rest = rest[4:]
		}
		return out
	}
	for l := 0; l+1 < len(sz); l++ {
		c.net.W = append(c.net.W, next(sz[l]*sz[l+1]))
		c.net.B = append(c.net.B, next(sz[l+1]))
	}
	for l := range c.net.W {
		for _, v := range [][]float64{c.net.W[l], c.net.B[l]} {
			for _, x := range v {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return nil, bad("non-finite weight")
				}
			}
		}
	}
	return c, nil
}

// LoadOrTrainClassifier returns the classifier cached at path when it exists, is
// valid and was trained with the recipe opt; otherwise (or when retrain is set) it
// trains one on ds — loading MNIST from the module cache when ds is nil — and saves
// it at path. trained reports which happened. A damaged file is replaced, never
// trusted, with a line on opt.Notices saying why. Processes sharing the cache train
// it one at a time (a lock file beside it, path+".lock"): one that finds another
// training says so on opt.Notices, waits, and loads what the other saved when it
// holds the same recipe.
func LoadOrTrainClassifier(path string, ds *data.MNIST, opt ClassifierOptions, retrain bool) (c *Classifier, trained bool, err error) {
	full, err := opt.withDefaults()
	if err != nil {
		return nil, false, err
	}
	return loadOrTrain(path, full.recipe(), data.MNISTPixels, MNISTClasses, retrain, cmp.Or(opt.Notices, opt.Progress), func() (*Classifier, error) {
		if ds == nil {
			if ds, err = data.LoadMNIST(""); err != nil {
				return nil, err
			}
		}
		return TrainClassifier(ds, opt)
	})
}

// LoadOrTrainDataClassifier is LoadOrTrainClassifier for the user's labelled data
// (TrainDataClassifier on train, tested on test). Key path by the data
// (DataClassifierPath): the cache is used when it holds the recipe opt for as many
// inputs and classes.
func LoadOrTrainDataClassifier(path string, train, test *data.Dataset, opt ClassifierOptions, retrain bool) (c *Classifier, trained bool, err error) {
	full, err := opt.withDefaults()
	if err != nil {
		return nil, false, err
	}
	if err := CheckClassifierData(train, test, full); err != nil {
		return nil, false, fmt.Errorf("eval: %w", err)
	}
	return loadOrTrain(path, full.recipe(), train.Dim, len(train.Classes), retrain, cmp.Or(opt.Notices, opt.Progress), func() (*Classifier, error) {
		return TrainDataClassifier(train, test, opt)
	})
}

// loadOrTrain is LoadOrTrainClassifier with the training as a function; a cached
// classifier must hold recipe for in inputs and k classes.
func loadOrTrain(path string, recipe ClassifierOptions, in, k int, retrain bool, log io.Writer, train func() (*Classifier, error)) (*Classifier, bool, error) {
	cached := func(notice bool) (*Classifier, error) { // notice: say why a damaged file is not used
		c, err := LoadClassifier(path)
		if sz := c.sizes(); err == nil && reflect.DeepEqual(c.Info.Recipe, recipe) && sz[0] == in && sz[len(sz)-1] == k {
			return c, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, ErrBadClassifierFile) {
			return nil, err
		}
		if notice && errors.Is(err, ErrBadClassifierFile) && log != nil {
			fmt.Fprintf(log, "the classifier cache at %s is unreadable (%v); retraining it\n", path, err)
		}
		return nil, nil // absent, damaged or another recipe: train
	}
	if !retrain {
		if c, err := cached(false); c != nil || err != nil {
			return c, false, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, false, fmt.Errorf("eval: %w", err)
	}
	unlock, err := filelock.Lock(path+".lock", func() {
		if log != nil {
			fmt.Fprintf(log, "waiting for another process training the classifier into %s\n", path)
		}
	})
	if err != nil {
		return nil, false, fmt.Errorf("eval: locking the classifier cache: %w", err)
	}
	defer unlock()
	if !retrain {
		// Another process may have trained it while this one waited for the lock.
		if c, err := cached(true); c != nil || err != nil {
			return c, false, err
		}
	}
	c, err := train()
	if err != nil {
		return nil, false, err
	}
	if err := c.Save(path); err != nil {
		return nil, false, err
	}
	return c, true, nil
}

// ModuleRoot returns the nearest directory at or above the working directory that
// holds a go.mod, so that commands and tests find checkpoints/ from anywhere inside
// the module; it returns "." when there is none.
func ModuleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && st.Mode().IsRegular() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}
