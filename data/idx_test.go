package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkgen/sinkgen/internal/memtest"
)

// An MNIST file replaced by a huge (here sparse) file is refused by its size, before
// it is read or hashed.
func TestLoadMNISTHugeFile(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, mnistTrainImages.name))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(256 << 20); err != nil {
		t.Skipf("no sparse file: %v", err)
	}
	f.Close()
	var a uint64
	if a = memtest.Allocated(func() { _, err = LoadMNIST(dir) }); err == nil || !strings.Contains(err.Error(), "268435456 bytes, more than any MNIST file") || a > 1<<20 {
		t.Errorf("LoadMNIST gave %v after allocating %d bytes; want a size error at once", err, a)
	}
}

// A compressed idx file that inflates to far more than its header announces (a gzip
// bomb) is refused after reading one byte more than announced, not after inflating it.
func TestReadIDXGzipBomb(t *testing.T) {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	for _, w := range []uint32{0x803, 1, 28, 28} {
		binary.Write(zw, binary.BigEndian, w)
	}
	zeros := make([]byte, 1<<20)
	for range 64 {
		zw.Write(zeros)
	}
	zw.Close()
	path := filepath.Join(t.TempDir(), "bomb.gz")
	if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	if a := memtest.Allocated(func() { _, _, _, err = ReadIDXImages(path) }); err == nil || !strings.Contains(err.Error(), "more than 784 bytes") || a > 1<<20 {
		t.Errorf("ReadIDXImages of %d compressed bytes gave %v after allocating %d bytes; want a payload error at once", z.Len(), err, a)
	}
}

// FuzzIDX: no input panics, and the readers allocate at most a multiple of the
// input's size, or, for gzip input, of what it can inflate to (1032 bytes per byte).
func FuzzIDX(f *testing.F) {
	px := []byte{0, 255, 51, 102, 0, 0}
	for _, zip := range []bool{false, true} {
		f.Add(idx(f, []uint32{0x803, 1, 2, 3}, px, zip))
		f.Add(idx(f, []uint32{0x801, 3}, []byte{3, 0, 9}, zip))
		f.Add(idx(f, []uint32{0x803, 2, 28, 28}, make([]byte, 2*784), zip))
	}
	// a real file: the 10000 test labels, 4542 bytes compressed
	if dir, err := LocateMNIST(); err == nil {
		if b, err := os.ReadFile(filepath.Join(dir, mnistTestLabels.name)); err == nil {
			f.Add(b)
		}
	} else if !errors.Is(err, ErrMNISTNotFound) {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		bound := 64*uint64(len(b)) + 16<<20
		if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
			bound = 8*1032*uint64(len(b)) + 16<<20
		}
		var images []float32
		var rows, cols int
		var err error
		if a := memtest.Allocated(func() { images, rows, cols, err = decodeImages("fuzz", bytes.NewReader(b), int64(len(b))) }); a > bound {
			t.Fatalf("decoding images from %d bytes allocated %d", len(b), a)
		}
		if err == nil && len(images) != len(images)/(rows*cols)*rows*cols {
			t.Fatalf("%d values for images of %d×%d", len(images), rows, cols)
		}
		var labels []uint8
		if a := memtest.Allocated(func() { labels, err = decodeLabels("fuzz", bytes.NewReader(b), int64(len(b))) }); a > bound {
			t.Fatalf("decoding labels from %d bytes allocated %d", len(b), a)
		}
		for _, l := range labels {
			if l > 9 {
				t.Fatalf("label %d accepted", l)
			}
		}
	})
}
