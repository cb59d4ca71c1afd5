package data

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// IDXOptions name an idx image file's labels and checksums (LoadIDX).
type IDXOptions struct {
	// Labels is the idx1-ubyte label file ("": no labels).
	Labels string
	// SHA256 and LabelsSHA256, if set, are the hex SHA-256 the files must have (of the
	// files as they are, gzip-compressed or not).
	SHA256, LabelsSHA256 string
}

// LoadIDX reads any idx3-ubyte image file (gzip-compressed or not: Fashion-MNIST,
// KMNIST and EMNIST share MNIST's format) as 1×rows×cols images held as bytes, values
// byte/255, with labels from an idx1-ubyte file, checking the optional checksums first.
func LoadIDX(path string, opt IDXOptions) (*Dataset, error) {
	for _, c := range []struct{ path, sum string }{{path, opt.SHA256}, {opt.Labels, opt.LabelsSHA256}} {
		if c.sum != "" {
			if err := checkSHA256(c.path, c.sum); err != nil {
				return nil, err
			}
		}
	}
	f, size, err := openIDX(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pix, rows, cols, err := decodeImageBytes(path, f, size)
	if err != nil {
		return nil, err
	}
	if err := checkImageShape(1, rows, cols, path); err != nil {
		return nil, err
	}
	dim := rows * cols
	if len(pix) == 0 {
		return nil, fmt.Errorf("data: idx file %s holds no images", path)
	}
	d := &Dataset{Pix: pix, LUT: ScaleLUT(0, 255), N: len(pix) / dim, Dim: dim, Shape: [3]int{1, rows, cols}, Source: "idx file " + path}
	if opt.Labels != "" {
		lf, lsize, err := openIDX(opt.Labels)
		if err != nil {
			return nil, err
		}
		defer lf.Close()
		labs, err := decodeLabelsUpTo(opt.Labels, lf, lsize, 255)
		if err != nil {
			return nil, err
		}
		if len(labs) != d.N {
			return nil, fmt.Errorf("data: idx file %s has %d labels for the %d images of %s", opt.Labels, len(labs), d.N, path)
		}
		ls := make([]float64, len(labs))
		for i, l := range labs {
			ls[i] = float64(l)
		}
		if d.Labels, d.Classes, err = classLabels(ls, opt.Labels); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// checkSHA256 checks the SHA-256 of the file at path, streaming it through the hash.
func checkSHA256(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("data: %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("data: %s: SHA-256 %s, want %s (corrupted or not the expected file)", path, got, want)
	}
	return nil
}

// maxCSVLine bounds a line of a CSV file (a 1024×1024 colour image in decimal).
const maxCSVLine = 64 << 20

// LoadCSV reads a CSV file with one point per row: comma-separated numbers, lines
// starting with '#' and empty lines skipped, every row of the same length. With
// opt.Labels "first" or "last" that column is the point's integer label. opt.Scale maps
// the values ([0, 1]: as they are) and opt.Size, opt.Channels read the rows as images.
func LoadCSV(path string, opt ArrayOptions) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	switch opt.Labels {
	case "", "first", "last":
	default:
		return nil, fmt.Errorf("data: %s: labels %q: want \"first\" or \"last\" (the column), or none", path, opt.Labels)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), maxCSVLine)
	var vals []float64
	var labels []float64
	width, line := -1, 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		if width < 0 {
			width = len(fields)
			if opt.Labels != "" && width < 2 {
				return nil, fmt.Errorf("data: %s:%d: one column, which cannot be both the label and the point", path, line)
			}
		}
		if len(fields) != width {
			return nil, fmt.Errorf("data: %s:%d: %d values, the first row has %d", path, line, len(fields), width)
		}
		for i, s := range fields {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, fmt.Errorf("data: %s:%d: column %d: %q is not a number", path, line, i+1, s)
			}
			if (opt.Labels == "first" && i == 0) || (opt.Labels == "last" && i == width-1) {
				labels = append(labels, v)
			} else {
				vals = append(vals, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	if width < 0 {
		return nil, fmt.Errorf("data: %s holds no rows", path)
	}
	n := len(vals) / width // rows
	if opt.Labels != "" {
		n = len(labels)
	}
	// The rows as a float64 N×D array (NumPy's '<f8') for the path of .npy arrays.
	a := &npyArray{kind: 'f', size: 8, shape: []int{n, len(vals) / n}}
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
	}
	if err := a.readFloats(bytes.NewReader(raw), len(vals), opt.Scale, path); err != nil {
		return nil, err
	}
	return arrayDataset(a, labels, opt, path, path+" (label column)")
}
