package tensorfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/sinkgen/sinkgen/internal/memtest"
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

// ReadFile hashes the file as a stream and holds only the tensors: reading a 32 MiB
// file allocates little more than its 32 MiB of values (reading it whole first, then
// decoding, allocates three times that). A file larger than any sinkgen file, here a
// sparse 5 GiB one, is refused before it is read.
func TestReadFileStreams(t *testing.T) {
	dir := t.TempDir()
	const n = 8 << 20 // values: 32 MiB
	f := &File{Kind: "params", Version: 1, Meta: json.RawMessage(`{}`), Tensors: []Tensor{{Name: "w", Shape: []int{n}, Data: make([]float32, n)}}}
	path := filepath.Join(dir, "big.params")
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	var got *File
	var err error
	if a := memtest.Allocated(func() { got, err = ReadFile(path, "params", 1) }); err != nil || a > 4*n+4<<20 {
		t.Errorf("reading a file of %d MiB allocated %d MiB (err %v), want at most %d MiB", 4*n>>20, a>>20, err, (4*n+4<<20)>>20)
	}
	if err == nil && len(got.Tensor("w").Data) != n {
		t.Errorf("tensor w has %d values, want %d", len(got.Tensor("w").Data), n)
	}
	huge := filepath.Join(dir, "huge")
	h, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	h.WriteString(Magic)
	if err := h.Truncate(5 << 30); err != nil {
		t.Skipf("no sparse file: %v", err)
	}
	h.Close()
	if a := memtest.Allocated(func() { _, err = ReadFile(huge, "params", 1) }); !errors.Is(err, ErrCorrupt) || a > 1<<20 {
		t.Errorf("a 5 GiB file: err %v after allocating %d bytes, want ErrCorrupt at once", err, a)
	}
}

// FuzzDecode: no input panics, and what decoding allocates is bounded by a multiple
// of the input's size. The fuzzer cannot forge checksums, so each input is also
// decoded with its SHA-256 appended, to reach the parser.
func FuzzDecode(f *testing.F) {
	for _, file := range []*File{sample(), {Kind: "ckpt", Version: 1, Meta: json.RawMessage(`{"step":3}`)}} {
		b, err := Encode(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-sha256.Size])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, appendSum(b[:len(b):len(b)])} {
			bound := 64*uint64(len(in)) + 16<<20
			var file *File
			var err error
			if a := memtest.Allocated(func() { file, err = Decode(in, "params", 2) }); a > bound {
				t.Fatalf("decoding %d bytes allocated %d", len(in), a)
			}
			if err == nil {
				// what decodes re-encodes to the same bytes
				back, err := Encode(file)
				if err != nil || !bytes.Equal(back, in) {
					t.Fatalf("decoded file re-encodes to %d bytes (err %v), not the %d decoded", len(back), err, len(in))
				}
			} else if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
		}
	})
}

// Issue 13 (E3): a name length field set to 65535 makes the name swallow the binary
// data after it; the error quotes a short, escaped prefix, never the raw bytes.
func TestCorruptNameIsNotDumped(t *testing.T) {
	data := make([]float32, 40000)
	for i := range data {
		data[i] = math.Float32frombits(uint32(i) * 0x9E3779B1) // bytes of every value
	}
	f := &File{Kind: "params", Version: 1, Tensors: []Tensor{{Name: "w", Shape: []int{len(data)}, Data: data}}}
	b, _ := Encode(f)
	c := append([]byte(nil), b[:len(b)-sha256.Size]...)
	off := 20 + 4 + 4 // header, meta length, count: the first name's length
	c[off], c[off+1] = 0xff, 0xff
	_, err := Decode(appendSum(c), "params", 1)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	if len(msg) > 300 {
		t.Errorf("a %d-byte error: %.300q", len(msg), msg)
	}
	for _, r := range msg {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			t.Errorf("raw byte %U in %q", r, msg)
			break
		}
	}
}
