// Package safetensors writes and reads float32 tensors in the safetensors format of
// Hugging Face (https://huggingface.co/docs/safetensors), which NumPy reads with a few
// lines and PyTorch with safetensors.torch.load_file:
//
//	8 bytes        N, the header's length, unsigned little-endian
//	N bytes        the header: a JSON object mapping each tensor's name to
//	               {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
//	               and "__metadata__" to an object of string values; padded with
//	               spaces to a multiple of 8 bytes
//	the rest       the tensors' data, little-endian, row-major, at their offsets
//	               (counted from the end of the header), back to back
//
// Read is strict: the header's length is checked against the file's before it is
// read, every tensor's shape must match its byte range, and the ranges must cover the
// data exactly, without gaps or overlaps.
package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/sinkgen/sinkgen/internal/atomicfile"
)

// Tensor is a named float32 array of the given shape (row-major).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// entry is a tensor's description in the header.
type entry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the header (the reference implementation's limit).
const maxHeader = 100 << 20

// Encode returns the bytes of a file holding tensors (in that order) and meta.
func Encode(tensors []Tensor, meta map[string]string) ([]byte, error) {
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off int64
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" {
			return nil, fmt.Errorf("safetensors: tensor name %q", t.Name)
		}
		if _, dup := header[t.Name]; dup {
			return nil, fmt.Errorf("safetensors: tensor %q twice", t.Name)
		}
		if n, ok := count(t.Shape); !ok || n != int64(len(t.Data)) {
			return nil, fmt.Errorf("safetensors: tensor %q has %d values for shape %v", t.Name, len(t.Data), t.Shape)
		}
		end := off + 4*int64(len(t.Data))
		header[t.Name] = entry{Dtype: "F32", Shape: slices.Clone(t.Shape), DataOffsets: [2]int64{off, end}}
		off = end
	}
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(h)+int(off)), uint64(len(h)))
	out = append(out, h...)
	for _, t := range tensors {
		for _, v := range t.Data {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}

// WriteFile writes the tensors and metadata to path atomically.
func WriteFile(path string, tensors []Tensor, meta map[string]string) error {
	b, err := Encode(tensors, meta)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}

// count is the number of values of shape, false if a dimension is negative or the
// product overflows.
func count(shape []int) (int64, bool) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt64/4/int64(d)) {
			return 0, false
		}
		n *= int64(d)
	}
	return n, true
}

// Read decodes a file of size bytes from r: its tensors in the order of their data
// and its metadata. Only F32 tensors are accepted.
func Read(r io.Reader, size int64) ([]Tensor, map[string]string, error) {
	var lb [8]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return nil, nil, fmt.Errorf("safetensors: %d bytes, too short for the header length", size)
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n < 2 || n > maxHeader || int64(n) > size-8 {
		return nil, nil, fmt.Errorf("safetensors: header length %d in a file of %d bytes", n, size)
	}
	h := make([]byte, n)
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header: %w", err)
	}
	if h[0] != '{' {
		return nil, nil, fmt.Errorf("safetensors: the header is not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(h, &raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header: %w", err)
	}
	var meta map[string]string
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, fmt.Errorf("safetensors: __metadata__ must map names to strings: %w", err)
		}
		delete(raw, "__metadata__")
	}
	dataLen := size - 8 - int64(n)
	type named struct {
		name string
		e    entry
	}
	var es []named
	for name, m := range raw {
		var e entry
		d := json.NewDecoder(bytes.NewReader(m))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		if e.Dtype != "F32" {
			return nil, nil, fmt.Errorf("safetensors: tensor %q has dtype %q; only F32 is read", name, e.Dtype)
		}
		c, ok := count(e.Shape)
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		if !ok || b < 0 || end < b || end > dataLen || end-b != 4*c {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: shape %v at bytes [%d, %d) of %d", name, e.Shape, b, end, dataLen)
		}
		es = append(es, named{name, e})
	}
	slices.SortFunc(es, func(a, b named) int { return cmp.Compare(a.e.DataOffsets[0], b.e.DataOffsets[0]) })
	var off int64
	for _, x := range es {
		if x.e.DataOffsets[0] != off {
			return nil, nil, fmt.Errorf("safetensors: tensor %q starts at byte %d of the data, want %d (gaps and overlaps are not allowed)", x.name, x.e.DataOffsets[0], off)
		}
		off = x.e.DataOffsets[1]
	}
	if off != dataLen {
		return nil, nil, fmt.Errorf("safetensors: the tensors cover %d bytes of the %d after the header", off, dataLen)
	}
	buf := make([]byte, dataLen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, nil, fmt.Errorf("safetensors: data: %w", err)
	}
	out := make([]Tensor, len(es))
	for i, x := range es {
		p := buf[x.e.DataOffsets[0]:x.e.DataOffsets[1]]
		t := Tensor{Name: x.name, Shape: x.e.Shape, Data: make([]float32, len(p)/4)}
		for j := range t.Data {
			t.Data[j] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*j:]))
		}
		out[i] = t
	}
	return out, meta, nil
}

// ReadFile reads the file at path (Read); errors name it.
func ReadFile(path string) ([]Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	ts, meta, err := Read(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return ts, meta, nil
}
