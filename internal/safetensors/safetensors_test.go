package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
)

// file builds a safetensors file by hand from the format's description: header
// length, header, data.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func f32s(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// A hand-made file reads as its tensors and metadata; Encode writes the same bytes
// up to the header's key order and padding, and reads back.
func TestReadHandMade(t *testing.T) {
	h := `{"__metadata__":{"kind":"mlp"},"b":{"dtype":"F32","shape":[1,2],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	b := file(h, f32s(1, -2, 0.5, 3))
	ts, meta, err := Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ts, meta); got != "[{a [2] [1 -2]} {b [1 2] [0.5 3]}] map[kind:mlp]" {
		t.Fatalf("got %s", got)
	}
	enc, err := Encode(ts, meta)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(enc); n%8 != 0 || !bytes.Equal(enc[8+n:], f32s(1, -2, 0.5, 3)) {
		t.Fatalf("encoded header length %d, data %v", n, enc[8+n:])
	}
	back, meta2, err := Read(bytes.NewReader(enc), int64(len(enc)))
	if err != nil || fmt.Sprint(back, meta2) != fmt.Sprint(ts, meta) {
		t.Fatalf("round trip: %v %v %v", back, meta2, err)
	}
}

// Files that lie are errors, never allocations of what they announce.
func TestReadHostile(t *testing.T) {
	d := f32s(1, 2)
	for name, c := range map[string]struct {
		b    []byte
		want string
	}{
		"huge header": {append(binary.LittleEndian.AppendUint64(nil, 1<<62), '{'), "header length"},
		"short":       {[]byte{1, 2}, "too short"},
		"gap":         {file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d), "starts at byte 4"},
		"overlap":     {file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d), "starts at byte 4 of the data, want 8"},
		"shape lies":  {file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, d), "shape [3]"},
		"huge shape":  {file(`{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}`, d), "shape"},
		"negative":    {file(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, d), "shape [-2]"},
		"tail":        {file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, d), "cover 4 bytes of the 8"},
		"dtype":       {file(`{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}`, d), `dtype "F16"`},
		"unknown key": {file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, d), "unknown field"},
		"meta types":  {file(`{"__metadata__":{"n":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, d), "strings"},
		"not json":    {file(`{"a":`, d), "header"},
	} {
		if _, _, err := Read(bytes.NewReader(c.b), int64(len(c.b))); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", name, err, c.want)
		}
	}
}

// FuzzRead: no input panics.
func FuzzRead(f *testing.F) {
	f.Add(file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32s(1, 2)))
	f.Fuzz(func(t *testing.T, b []byte) {
		Read(bytes.NewReader(b), int64(len(b)))
	})
}
