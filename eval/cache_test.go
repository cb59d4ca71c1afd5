package eval

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/memtest"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// randomMNIST is a stand-in for MNIST: n training and n/5 test images of noise.
func randomMNIST(n int) *data.MNIST {
	rng := rand.New(rand.NewPCG(1, 2))
	set := func(n int) data.MNISTSet {
		s := data.MNISTSet{Images: make([]float32, n*data.MNISTPixels), Labels: make([]uint8, n)}
		for i := range s.Images {
			s.Images[i] = rng.Float32()
		}
		for i := range s.Labels {
			s.Labels[i] = uint8(rng.IntN(MNISTClasses))
		}
		return s
	}
	return &data.MNIST{Train: set(n), Test: set(n / 5)}
}

// Two commands started together (eval and compare) train the cache once: one trains
// it, the other loads what the first saved.
func TestLoadOrTrainTogether(t *testing.T) {
	ds := randomMNIST(2000)
	path := filepath.Join(t.TempDir(), "eval", "clf.bin")
	opt := ClassifierOptions{Hidden: []int{16}, Epochs: 2, Batch: 64, Shift: -1}
	var wg sync.WaitGroup
	var logs [2]syncBuffer
	var trained [2]bool
	var clfs [2]*Classifier
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := opt
			o.Progress = &logs[i]
			var err error
			if clfs[i], trained[i], err = LoadOrTrainClassifier(path, ds, o, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if trained[0] == trained[1] {
		t.Fatalf("trained %v: want exactly one of the two to train", trained)
	}
	// Whether the second call had to wait depends on scheduling (on a loaded machine
	// it may start after the first has finished); TestClassifierCacheLock checks the
	// waiting and its message deterministically.
	if clfs[0].Info.Trained != clfs[1].Info.Trained || clfs[0].Info.TestAccuracy != clfs[1].Info.TestAccuracy {
		t.Errorf("the two calls returned different classifiers: %+v, %+v", clfs[0].Info, clfs[1].Info)
	}
}

// The lock, step by step with stand-in trainings: while one call trains, the other
// (its own open file, as another process would have) waits and says so, then loads
// the result without training; a retrain waits too, then trains.
func TestClassifierCacheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clf.bin")
	recipe, stub := stubClassifier(t)
	started, release := make(chan bool, 1), make(chan bool, 1)
	first := make(chan bool)
	go func() {
		_, trained, err := loadOrTrain(path, recipe, data.MNISTPixels, MNISTClasses, false, nil, func() (*Classifier, error) {
			started <- true
			<-release
			return stub(), nil
		})
		first <- err == nil && trained
	}()
	<-started
	waiting := make(chan bool, 1)
	var log syncBuffer
	second := make(chan bool)
	go func() {
		c, trained, err := loadOrTrain(path, recipe, data.MNISTPixels, MNISTClasses, false, writerFunc(func(p []byte) (int, error) {
			log.Write(p)
			waiting <- true
			return len(p), nil
		}), func() (*Classifier, error) {
			t.Error("the second call trained")
			return stub(), nil
		})
		second <- err == nil && !trained && c.Info.TestAccuracy == 0.5
	}()
	<-waiting // the second call blocks on the lock while the first trains
	release <- true
	if !<-first || !<-second {
		t.Fatalf("first call trained and saved, second loaded: want true, true (log %q)", log.String())
	}
	if !strings.Contains(log.String(), "waiting for another process training the classifier into "+path) {
		t.Errorf("log %q", log.String())
	}
	// retrain takes the lock and trains even though the cache holds the recipe
	calls := 0
	if _, trained, err := loadOrTrain(path, recipe, data.MNISTPixels, MNISTClasses, true, nil, func() (*Classifier, error) { calls++; return stub(), nil }); err != nil || !trained || calls != 1 {
		t.Errorf("retrain: trained %v, %d calls, err %v", trained, calls, err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Classifier files whose header sizes were edited (checksum recomputed) so that their
// products wrap around to the payload's size, or that are huge, are errors, not a
// panic or an allocation of what they claim.
func TestLoadClassifierCraftedSizes(t *testing.T) {
	dir := t.TempDir()
	// sizes [784, a, 10] need 785a + 10(a+1) = 795a + 10 values; choose a > 0 so that
	// this wraps around (mod 2^64) to the few values present.
	inv := uint64(795) // 795⁻¹ mod 2^64 by Newton's iteration
	for range 6 {
		inv *= 2 - 795*inv
	}
	present, a := 11, 0
	for ; a <= 0; present++ {
		a = int(uint64(present-10) * inv)
	}
	present--
	if 795*a+10 != present {
		t.Fatalf("795·%d + 10 = %d, not %d", a, 795*a+10, present)
	}
	hdr, _ := json.Marshal(ClassifierInfo{Sizes: []int{data.MNISTPixels, a, MNISTClasses}})
	var b bytes.Buffer
	b.WriteString(classifierMagic)
	binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
	b.Write(hdr)
	b.Write(make([]byte, 4*present))
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	wrap := filepath.Join(dir, "wrap.bin")
	if err := os.WriteFile(wrap, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.bin")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(classifierMagic)
	if err := f.Truncate(512 << 20); err != nil {
		t.Skipf("no sparse file: %v", err)
	}
	f.Close()
	for _, p := range []string{wrap, huge} {
		var err error
		if a := memtest.Allocated(func() { _, err = LoadClassifier(p) }); !errors.Is(err, ErrBadClassifierFile) || a > 1<<20 {
			t.Errorf("%s: error %v after allocating %d bytes, want ErrBadClassifierFile at once", p, err, a)
		}
	}
}

// Issue 13 (E3): a truncated cache is retrained with a line saying that the cache at
// its path is unreadable, and why.
func TestDamagedCacheIsRetrainedWithANotice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clf.bin")
	recipe, stub := stubClassifier(t)
	c := stub()
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	_, trained, err := loadOrTrain(path, recipe, data.MNISTPixels, MNISTClasses, false, &log, func() (*Classifier, error) { return c, nil })
	if err != nil || !trained {
		t.Fatalf("trained %v, err %v", trained, err)
	}
	if msg := log.String(); !strings.HasPrefix(msg, "the classifier cache at "+path+" is unreadable (") || !strings.HasSuffix(msg, "); retraining it\n") || strings.Count(msg, "\n") != 1 {
		t.Errorf("notice %q", msg)
	}
}

// stubClassifier is the recipe of a 784–4–10 classifier and a function returning an
// untrained one with it, standing in for a trained classifier.
func stubClassifier(t *testing.T) (ClassifierOptions, func() *Classifier) {
	t.Helper()
	full, err := ClassifierOptions{Hidden: []int{4}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	recipe := full.recipe()
	return recipe, func() *Classifier {
		net, err := newMLP([]int{data.MNISTPixels, 4, MNISTClasses}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return &Classifier{net: net, Info: ClassifierInfo{Recipe: recipe, Sizes: net.Sizes, TestAccuracy: 0.5}}
	}
}
