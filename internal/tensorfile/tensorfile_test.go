package tensorfile

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
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
