package train

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/mnisttest"
)

// MNIST's first training images written as PNG files and read back by kind "images"
// are the tensors of kind "mnist", and a short run from either (MLP and conv
// generators) ends with bit-identical parameters.
func TestImagesKindMatchesMNIST(t *testing.T) {
	src, err := data.LocateMNIST()
	mnisttest.Need(t, err)
	m, err := data.LoadMNIST(src)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	dir := t.TempDir()
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for j, v := range m.Train.Image(i) {
			img.Pix[j] = uint8(math.Round(float64(v) * 255))
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%05d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	ds, err := data.LoadImages(dir, data.ImageOptions{Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := m.Train.Images[:n*784]
	got := make([]float32, 784)
	for i := range n {
		ds.Point(got, i)
		for j, v := range got {
			if math.Float32bits(v) != math.Float32bits(want[i*784+j]) {
				t.Fatalf("image %d pixel %d: %v from PNG, %v from MNIST", i, j, v, want[i*784+j])
			}
		}
	}
	for _, model := range []string{"mlp", "conv"} {
		t.Run(model, func(t *testing.T) {
			base := []string{"steps=3", "batch_size=32", "log.samples=16", "log.progress=false", "model.kind=" + model, fmt.Sprintf("data.limit=%d", n)}
			run := func(extra ...string) [][]float32 {
				cfg, err := ParseConfig(nil, "test", append(append([]string{}, base...), extra...))
				if err != nil {
					t.Fatal(err)
				}
				tr := newTestTrainer(t, cfg)
				if err := tr.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
				var out [][]float32
				for _, p := range tr.Generator().Params() {
					out = append(out, p.Data())
				}
				return out
			}
			a := run()
			// every image, as MNIST's training split holds them all (data.split "train"
			// would hold out a tenth)
			b := run("data.kind=images", "data.path="+dir, "data.channels=1", "data.split=all")
			for i := range a {
				for j := range a[i] {
					if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
						t.Fatalf("parameter %d value %d: %v after the MNIST run, %v after the PNG run", i, j, a[i][j], b[i][j])
					}
				}
			}
		})
	}
}

// colourNPY writes n colour images of side×side as an n×(3·side·side) float32 .npy
// file (SaveNPY), channel-major, whose red, green and blue values rise in that
// order: data.size and data.channels = 3 read its rows as images.
func colourNPY(t *testing.T, path string, n, side int) {
	t.Helper()
	plane := side * side
	vals := make([]float32, n*3*plane)
	for i := range vals {
		vals[i] = float32((i/plane)%3*100+i%plane%50) / 255
	}
	if err := SaveNPY(path, vals, 3*plane); err != nil {
		t.Fatal(err)
	}
}

// A colour 32×32 array trains a conv generator built for it (base 8), writing colour
// sample grids; the default conv generator (base 7:
// 28×28) is refused with an error that names the data's shape and the sizes it makes.
func TestColourNPYRun(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.npy")
	colourNPY(t, path, 40, 32)
	base := []string{"data.kind=npy", "data.path=" + path, "data.size=[32,32]", "data.channels=3", "steps=2", "batch_size=16", "log.samples=4", "log.progress=false", "model.kind=conv"}
	cfg, err := ParseConfig(nil, "test", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, Options{NoFiles: true}); err == nil || !strings.Contains(err.Error(), "3×32×32") || !strings.Contains(err.Error(), "base = 7") {
		t.Fatalf("default conv on 32×32 data: %v", err)
	}
	cfg, err = ParseConfig(nil, "test", append(base, "model.base=8"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	tr, err := New(cfg, Options{Dir: out})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if s := tr.Generator().Spec(); s.Image != [3]int{3, 32, 32} {
		t.Errorf("generator makes %v images", s.Image)
	}
	f, err := os.Open(filepath.Join(out, "samples", "data.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	r, g, b, _ := img.At(1, 1).RGBA() // an image's pixel (0, 0): 0, 100, 200 (/255)
	if !(r < g && g < b) {
		t.Errorf("data grid pixel is (%d, %d, %d), want the data's colour (red < green < blue)", r>>8, g>>8, b>>8)
	}
}

// A run on a data file resumes from its checkpoint to the parameters of the
// uninterrupted run, bit for bit (the checkpoint's config does not hold the data's
// shape: its specs do).
func TestFileRunResumes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.npy")
	colourNPY(t, path, 50, 8)
	cfg, err := ParseConfig(nil, "test", []string{"data.kind=npy", "data.path=" + path, "data.size=[8,8]", "data.channels=3", "steps=6", "batch_size=16", "log.samples=4", "log.progress=false",
		"model.kind=conv", "model.base=2", "critic.kind=conv", "critic.channels=[4]", "critic.features=4"})
	if err != nil {
		t.Fatal(err)
	}
	params := func(tr *Trainer) (out []float32) {
		for _, p := range tr.Generator().Params() {
			out = append(out, p.Data()...)
		}
		return out
	}
	whole, parts := filepath.Join(dir, "whole"), filepath.Join(dir, "parts")
	tr, err := New(cfg, Options{Dir: whole})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := params(tr)
	tr.Close()
	tr, err = New(cfg, Options{Dir: parts})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(&stopAfter{Context: context.Background(), n: 3}); err == nil {
		t.Fatal("the interrupted run finished")
	}
	tr.Close()
	tr, err = New(cfg, Options{Dir: parts, Resume: "latest"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.StepCount() == 0 || tr.StepCount() == 6 {
		t.Fatalf("resumed at step %d", tr.StepCount())
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, v := range params(tr) {
		if math.Float32bits(v) != math.Float32bits(want[i]) {
			t.Fatalf("parameter value %d: %v resumed, %v uninterrupted", i, v, want[i])
		}
	}
}

// data.split of a data file: "train" is all but the held-out tenth, "test" that
// tenth, "all" every point in the file's order; train and test are disjoint and
// together the file (LoadSplits gives the same parts), data.holdout sets the
// fraction.
func TestDataSplit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.npy")
	const n = 40
	vals := make([]float32, n*2)
	for i := range vals {
		vals[i] = float32(i / 2) // point i is (i, i)
	}
	if err := SaveNPY(path, vals, 2); err != nil {
		t.Fatal(err)
	}
	points := func(split string, sets ...string) []float32 {
		cfg, err := ParseConfig(nil, "test", append([]string{"data.kind=npy", "data.path=" + path, "data.split=" + split}, sets...))
		if err != nil {
			t.Fatal(err)
		}
		ds, err := cfg.Data.LoadData(nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []float32
		p := make([]float32, 2)
		for i := range ds.N {
			ds.Point(p, i)
			out = append(out, p[0])
		}
		return out
	}
	all, train, test := points("all"), points("train"), points("test")
	for i, v := range all {
		if v != float32(i) {
			t.Fatalf("split all: %v, want the file's points in order", all)
		}
	}
	both := slices.Sorted(slices.Values(append(slices.Clone(train), test...)))
	if len(test) != n/10 || !slices.Equal(both, all) || !slices.IsSorted(train) || !slices.IsSorted(test) {
		t.Errorf("train %v and test %v: want the file split 36 + 4, each in order", train, test)
	}
	if got := points("test", "data.holdout=0.25"); len(got) != n/4 {
		t.Errorf("data.holdout = 0.25 holds out %d points, want %d", len(got), n/4)
	}
}
