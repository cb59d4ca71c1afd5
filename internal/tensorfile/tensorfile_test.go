package tensorfile

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sample() *File {
	return &File{
		Kind: "params", Version: 2, Meta: json.RawMessage(`{"a":1}`),
		Tensors: []Tensor{
			{Name: "w", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, float32(math.Inf(-1))}},
			{Name: "scalar", Shape: nil, Data: []float32{7}},
			{Name: "empty", Shape: []int{0, 4}, Data: []float32{}},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.bin")
	if err := WriteFile(path, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path, "params", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := sample()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.Tensor("w") == nil || got.Tensor("nope") != nil {
		t.Error("Tensor lookup")
	}
	// no temporary files left behind
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries", len(entries))
	}
}

// Every single-byte corruption and every truncation is an error wrapping ErrCorrupt.
func TestCorruptionIsAnError(t *testing.T) {
	b, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0x5a
		if _, err := Decode(c, "params", 2); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: err = %v", i, err)
		}
	}
	for n := 0; n < len(b); n++ {
		if _, err := Decode(b[:n], "params", 2); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: err = %v", n, err)
		}
	}
	if _, err := Decode(b, "ckpt", 2); !errors.Is(err, ErrCorrupt) {
		t.Error("wrong kind accepted")
	}
	if _, err := Decode(b, "params", 1); !errors.Is(err, ErrCorrupt) {
		t.Error("newer version accepted")
	}
}

// A file with a valid checksum but lying lengths (as a buggy writer could produce) is
// still an error, without a huge allocation.
func TestLyingLengths(t *testing.T) {
	f := &File{Kind: "params", Version: 1, Tensors: []Tensor{{Name: "w", Shape: []int{1}, Data: []float32{1}}}}
	b, _ := Encode(f)
	body := b[:len(b)-32]
	// the first dimension of tensor "w" sits after header, meta length, count, name length, name, rank
	off := 20 + 4 + 4 + 2 + 1 + 1
	for _, d := range []uint32{0xffffffff, 1 << 30, 2} {
		c := append([]byte(nil), body...)
		c[off], c[off+1], c[off+2], c[off+3] = byte(d), byte(d>>8), byte(d>>16), byte(d>>24)
		c = appendSum(c)
		if _, err := Decode(c, "params", 1); !errors.Is(err, ErrCorrupt) {
			t.Errorf("dimension %d: err = %v", d, err)
		}
	}
}

func appendSum(b []byte) []byte {
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// Written files are readable by everyone (0644, as os.Create makes them under the usual
// umask, not os.CreateTemp's 0600); errors name the file asked for, never the
// temporary one, and leave nothing behind.
func TestWriteAtomicModeAndErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "grid.png")
	if err := WriteAtomic(path, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode().Perm(), err)
	}
	missing := filepath.Join(dir, "nodir", "grid.png")
	err := WriteAtomic(missing, []byte("x"))
	if want := "cannot write " + missing + ": there is no directory " + filepath.Join(dir, "nodir"); err == nil || err.Error() != want {
		t.Errorf("missing directory: %v, want %q", err, want)
	}
	failed := errors.New("encoder failed")
	err = WriteAtomicFunc(filepath.Join(dir, "a"), func(f *os.File) error {
		f.Write([]byte("partial"))
		return failed
	})
	if !errors.Is(err, failed) || err.Error() != "cannot write "+filepath.Join(dir, "a")+": encoder failed" {
		t.Errorf("failing write: %v", err)
	}
	// renaming over a non-empty directory fails
	os.MkdirAll(filepath.Join(dir, "d", "e"), 0o755)
	if err := WriteAtomic(filepath.Join(dir, "d"), []byte("x")); err == nil || strings.Contains(err.Error(), ".tmp-") ||
		!strings.HasPrefix(err.Error(), "cannot write "+filepath.Join(dir, "d")+": ") {
		t.Errorf("over a directory: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
