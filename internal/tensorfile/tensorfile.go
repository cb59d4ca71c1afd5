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
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/sinkgen/sinkgen/internal/atomicfile"
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
	if err := checkHeader(b, int64(len(b))); err != nil {
		return nil, err
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, errChecksum
	}
	return parse(bytes.NewReader(body), int64(len(body)), kind, maxVersion)
}

var errChecksum = fmt.Errorf("%w: SHA-256 checksum mismatch (truncated or modified)", ErrCorrupt)

// checkHeader checks the size of a file and the magic at the start of head.
func checkHeader(head []byte, size int64) error {
	if size < headerLen+4+4+sha256.Size || len(head) < len(Magic) || string(head[:len(Magic)]) != Magic {
		return fmt.Errorf("%w: no sinkgen header", ErrCorrupt)
	}
	return nil
}

// parse decodes a body of n bytes (a file without its checksum, already verified)
// from r. Every length is checked against the bytes left before anything is
// allocated, so what it allocates is proportional to n.
func parse(r io.Reader, n int64, kind string, maxVersion uint32) (*File, error) {
	p := &parser{r: r, n: n}
	head := p.bytes(int64(len(Magic) + 8))
	if p.err != nil {
		return nil, p.err
	}
	f := &File{Kind: string(bytes.TrimRight(head[len(Magic):], "\x00"))}
	if f.Kind != kind {
		return nil, fmt.Errorf("%w: a %q file, want %q", ErrCorrupt, f.Kind, kind)
	}
	f.Version = p.u32()
	if p.err == nil && (f.Version == 0 || f.Version > maxVersion) {
		return nil, fmt.Errorf("%w: format version %d, this program reads versions 1 to %d", ErrCorrupt, f.Version, maxVersion)
	}
	f.Meta = json.RawMessage(p.bytes(int64(p.u32())))
	count := p.u32()
	for i := uint32(0); i < count && p.err == nil; i++ {
		var t Tensor
		t.Name = string(p.bytes(int64(p.u16())))
		rank := int(p.u8())
		size := int64(1)
		for k := 0; k < rank && p.err == nil; k++ {
			d := int64(p.u32())
			t.Shape = append(t.Shape, int(d))
			if d != 0 && size > p.n/4/d {
				p.fail(fmt.Sprintf("tensor %s of shape %v is larger than the file", quoted(t.Name), t.Shape))
			}
			size *= d
		}
		t.Data = p.floats(size)
		if p.err != nil {
			break
		}
		f.Tensors = append(f.Tensors, t)
	}
	if p.err == nil && p.n != 0 {
		p.fail(fmt.Sprintf("%d bytes after the last tensor", p.n))
	}
	if p.err != nil {
		return nil, p.err
	}
	return f, nil
}

// quoted is a name read from a file as an error shows it: escaped and, past 24 bytes,
// cut (a corrupt length can make a "name" of 65535 bytes of binary data).
func quoted(name string) string {
	if len(name) > 24 {
		return fmt.Sprintf("%q… (%d bytes)", name[:24], len(name))
	}
	return fmt.Sprintf("%q", name)
}

// parser reads the fields of a body from r, n bytes left; the first error sticks.
type parser struct {
	r   io.Reader
	n   int64
	err error
	buf [4096]byte
}

func (p *parser) fail(msg string) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s", ErrCorrupt, msg)
	}
}

// read fills b from r, failing when fewer than len(b) bytes are left.
func (p *parser) read(b []byte) bool {
	if p.err != nil {
		return false
	}
	if int64(len(b)) > p.n {
		p.fail("truncated record")
		return false
	}
	if _, err := io.ReadFull(p.r, b); err != nil {
		// The file changed or shrank since its checksum was verified.
		p.err = fmt.Errorf("reading: %w", err)
		return false
	}
	p.n -= int64(len(b))
	return true
}

func (p *parser) bytes(k int64) []byte {
	if p.err != nil {
		return nil
	}
	if k < 0 || k > p.n {
		p.fail("truncated record")
		return nil
	}
	b := make([]byte, k)
	if !p.read(b) {
		return nil
	}
	return b
}

// floats reads k little-endian float32 values through the fixed buffer.
func (p *parser) floats(k int64) []float32 {
	if p.err != nil {
		return nil
	}
	if k < 0 || k > p.n/4 {
		p.fail("truncated record")
		return nil
	}
	out := make([]float32, k)
	for i := 0; i < len(out); {
		chunk := p.buf[:4*min(len(out)-i, len(p.buf)/4)]
		if !p.read(chunk) {
			return nil
		}
		for j := 0; j < len(chunk); j += 4 {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(chunk[j:]))
			i++
		}
	}
	return out
}

func (p *parser) u8() uint8 {
	if p.read(p.buf[:1]) {
		return p.buf[0]
	}
	return 0
}

func (p *parser) u16() uint16 {
	if p.read(p.buf[:2]) {
		return binary.LittleEndian.Uint16(p.buf[:2])
	}
	return 0
}

func (p *parser) u32() uint32 {
	if p.read(p.buf[:4]) {
		return binary.LittleEndian.Uint32(p.buf[:4])
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
	return atomicfile.Write(path, b)
}

// maxFileSize bounds what ReadFile accepts (a checkpoint of a 100M-parameter model
// with Adam state is 1.2 GB).
const maxFileSize = 4 << 30

// ReadFile reads and decodes the file at path; errors name the path. The checksum is
// computed as the file streams through, then the file is parsed from the start: only
// the tensors are held in memory, never the whole file.
func ReadFile(path, kind string, maxVersion uint32) (*File, error) {
	f, err := readFile(path, kind, maxVersion)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

func readFile(path, kind string, maxVersion uint32) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file", ErrCorrupt)
	}
	if size > maxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d a sinkgen file may have", ErrCorrupt, size, int64(maxFileSize))
	}
	var head [len(Magic)]byte
	if _, err := io.ReadFull(fh, head[:]); err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	if err := checkHeader(head[:], size); err != nil {
		return nil, err
	}
	body := size - sha256.Size
	h := sha256.New()
	h.Write(head[:])
	if _, err := io.CopyN(h, fh, body-int64(len(head))); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	var sum [sha256.Size]byte
	if _, err := io.ReadFull(fh, sum[:]); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	if !bytes.Equal(h.Sum(nil), sum[:]) {
		return nil, errChecksum
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return parse(bufio.NewReaderSize(io.LimitReader(fh, body), 1<<16), body, kind, maxVersion)
}
