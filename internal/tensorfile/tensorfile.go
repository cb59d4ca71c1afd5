// Package tensorfile is the on-disk container of checkpoints and parameter files:
// JSON metadata and named float32 tensors, versioned and checksummed.
//
// Layout (all integers little-endian):
//
//	magic    "SINKGEN\x00"              8 bytes
//	kind     ASCII, NUL-padded          8 bytes ("ckpt", "params", …)
//	version  uint32
//	meta     uint32 length, JSON bytes
//	count    uint32 number of tensors
//	tensor   uint16 name length, name, uint8 rank, rank × uint32 dims, float32 data
//	…
//	sha256   32 bytes over everything before it
//
// Read verifies the checksum before decoding anything, then checks every length
// against the bytes left: a truncated, corrupted or foreign file gives an error,
// never a panic or a huge allocation.
package tensorfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// Magic starts every file.
const Magic = "SINKGEN\x00"

// ErrCorrupt is wrapped by every error about the content of a file (as opposed to
// failing to read it).
var ErrCorrupt = errors.New("corrupted or not a sinkgen file")

// Tensor is a named float32 array of the given shape (row-major).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// File is the content of a file: its kind and format version, metadata as JSON, and
// tensors.
type File struct {
	Kind    string
	Version uint32
	Meta    json.RawMessage
	Tensors []Tensor
}

// Tensor returns the tensor called name, or nil.
func (f *File) Tensor(name string) *Tensor {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i]
		}
	}
	return nil
}

const headerLen = 8 + 8 + 4

// Encode returns the bytes of f.
func Encode(f *File) ([]byte, error) {
	if len(f.Kind) == 0 || len(f.Kind) > 8 {
		return nil, fmt.Errorf("tensorfile: kind %q must have 1 to 8 bytes", f.Kind)
	}
	size := headerLen + 4 + len(f.Meta) + 4 + sha256.Size
	for _, t := range f.Tensors {
		n := 1
		for _, d := range t.Shape {
			if d < 0 || d > math.MaxUint32 {
				return nil, fmt.Errorf("tensorfile: tensor %q has dimension %d", t.Name, d)
			}
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("tensorfile: tensor %q has shape %v but %d values", t.Name, t.Shape, len(t.Data))
		}
		if len(t.Name) > math.MaxUint16 || len(t.Shape) > math.MaxUint8 {
			return nil, fmt.Errorf("tensorfile: tensor %q: name or rank too long", t.Name)
		}
		size += 2 + len(t.Name) + 1 + 4*len(t.Shape) + 4*len(t.Data)
	}
	b := make([]byte, 0, size)
	b = append(b, Magic...)
	var kind [8]byte
	copy(kind[:], f.Kind)
	b = append(b, kind[:]...)
	b = binary.LittleEndian.AppendUint32(b, f.Version)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Meta)))
	b = append(b, f.Meta...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Tensors)))
	for _, t := range f.Tensors {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(t.Name)))
		b = append(b, t.Name...)
		b = append(b, uint8(len(t.Shape)))
		for _, d := range t.Shape {
			b = binary.LittleEndian.AppendUint32(b, uint32(d))
		}
		for _, v := range t.Data {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:]...), nil
}

// Decode parses the bytes of a file of the given kind whose version is at most
// maxVersion.
func Decode(b []byte, kind string, maxVersion uint32) (*File, error) {
	if len(b) < headerLen+4+4+sha256.Size || string(b[:8]) != Magic {
		return nil, fmt.Errorf("%w: no sinkgen header", ErrCorrupt)
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: SHA-256 checksum mismatch (truncated or modified)", ErrCorrupt)
	}
	f := &File{Kind: string(bytes.TrimRight(body[8:16], "\x00"))}
	if f.Kind != kind {
		return nil, fmt.Errorf("%w: a %q file, want %q", ErrCorrupt, f.Kind, kind)
	}
	r := reader{b: body[16:]}
	f.Version = r.u32()
	if r.err == nil && (f.Version == 0 || f.Version > maxVersion) {
		return nil, fmt.Errorf("%w: format version %d, this program reads versions 1 to %d", ErrCorrupt, f.Version, maxVersion)
	}
	f.Meta = json.RawMessage(r.bytes(int(r.u32())))
	count := int(r.u32())
	for i := 0; i < count && r.err == nil; i++ {
		var t Tensor
		t.Name = string(r.bytes(int(r.u16())))
		rank := int(r.u8())
		n := 1
		for k := 0; k < rank && r.err == nil; k++ {
			d := int(r.u32())
			t.Shape = append(t.Shape, d)
			if d != 0 && n > len(r.b)/4/d {
				r.fail(fmt.Sprintf("tensor %q of shape %v is larger than the file", t.Name, t.Shape))
			}
			n *= d
		}
		raw := r.bytes(4 * n)
		if r.err != nil {
			break
		}
		t.Data = make([]float32, n)
		for k := range t.Data {
			t.Data[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
		}
		f.Tensors = append(f.Tensors, t)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Sprintf("%d bytes after the last tensor", len(r.b)))
	}
	if r.err != nil {
		return nil, r.err
	}
	return f, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrCorrupt, msg)
	}
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail("truncated record")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if v := r.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if v := r.bytes(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.bytes(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

// WriteFile writes f to path atomically: to a temporary file in the same directory,
// synced to disk, then renamed over path, and the directory synced. A crash leaves
// either the old file or the new one, never a torn one.
func WriteFile(path string, f *File) error {
	b, err := Encode(f)
	if err != nil {
		return err
	}
	return WriteAtomic(path, b)
}

// WriteAtomic writes b to path by temporary file, fsync and rename (WriteAtomicFunc).
func WriteAtomic(path string, b []byte) error {
	return WriteAtomicFunc(path, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// WriteAtomicFunc writes path atomically, the one way the project writes its files:
// write fills a temporary file in path's directory, which is synced, given mode 0644
// (os.CreateTemp makes it 0600, readable by its owner only), renamed over path, and
// the directory synced. A crash leaves either the old file or the new one, never a
// torn one. Errors name path, never the temporary file.
func WriteAtomicFunc(path string, write func(*os.File) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot write %s: there is no directory %s", path, dir)
		}
		return writeError(path, "", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = writeError(path, tmp.Name(), err)
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
	return nil
}

// writeError is "cannot write path: why", without the name of the temporary file tmp
// that file system errors carry ("": any name, as os.CreateTemp's errors carry).
func writeError(path, tmp string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe) && (tmp == "" || pe.Path == tmp):
		err = pe.Err
	case errors.As(err, &le) && le.Old == tmp:
		err = le.Err
	}
	return fmt.Errorf("cannot write %s: %w", path, err)
}

// maxFileSize bounds what ReadFile loads (a checkpoint of a 100M-parameter model with
// Adam state is 1.2 GB).
const maxFileSize = 4 << 30

// ReadFile reads and decodes the file at path; errors name the path.
func ReadFile(path, kind string, maxVersion uint32) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("%s: %w: %d bytes", path, ErrCorrupt, st.Size())
	}
	b, err := io.ReadAll(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := Decode(b, kind, maxVersion)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
