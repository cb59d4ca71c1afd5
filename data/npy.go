package data

import (
	"archive/zip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ArrayOptions says how LoadNPY, LoadNPZ and LoadCSV read arrays as points.
type ArrayOptions struct {
	// Layout of a 4-D array: "nhwc" (N×H×W×C, the default: NumPy and PIL's order) or
	// "nchw" (N×C×H×W, PyTorch's).
	Layout string
	// Scale is the range [lo, hi] of the stored values, mapped linearly to [0, 1]
	// (zero: [0, 255] for uint8, [0, 1] — values as they are — otherwise).
	Scale [2]float64
	// Size and Channels read the rows of an N×D array (or of a CSV file) as images of
	// Channels×Size[0]×Size[1] values, channel-major (zero: plain vectors).
	Size     [2]int
	Channels int
	// Labels is the labels array: a .npy file for LoadNPY, an array name for LoadNPZ,
	// "first" or "last" (the column) for LoadCSV ("": no labels).
	Labels string
	// Array is the name of the data array in a .npz file ("": its only array besides
	// the labels).
	Array string
}

// npyArray is a parsed .npy array: its element type, shape and raw little-endian data,
// or for float data read as points its values as float32 (readNPY).
type npyArray struct {
	kind  byte // 'u', 'i' or 'f'
	size  int  // bytes per element
	shape []int
	raw   []byte
	vals  []float32
}

// maxNPYHeader bounds a .npy header (NumPy writes a few hundred bytes).
const maxNPYHeader = 1 << 16

// readNPY reads a .npy array of size bytes (what names it in errors): the magic string,
// version, header dictionary (dtype, order and shape, parsed strictly), and exactly
// the data the header announces, its length checked against size before allocation.
// With floats set, float data is converted to float32 while it is read, a chunk at a
// time, mapped from the range *floats to [0, 1] ([0, 0]: as they are), into a.vals:
// the array's memory is then that of the float32 values only.
func readNPY(r io.Reader, size int64, what string, floats *[2]float64) (*npyArray, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("data: %s: %s", what, fmt.Sprintf(format, args...))
	}
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil || string(pre[:6]) != "\x93NUMPY" {
		return nil, bad("not a .npy file (no \\x93NUMPY magic string)")
	}
	major, n := pre[6], 10
	var hlen int
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, bad("truncated header")
		}
		hlen = int(binary.LittleEndian.Uint16(pre[8:]))
	case 2, 3:
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, bad("truncated header")
		}
		hlen, n = int(binary.LittleEndian.Uint32(l[:])), 12
	default:
		return nil, bad(".npy format version %d.%d, want 1.0, 2.0 or 3.0", pre[6], pre[7])
	}
	if hlen > maxNPYHeader || int64(n+hlen) > size {
		return nil, bad("header of %d bytes in a file of %d", hlen, size)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, bad("truncated header")
	}
	a, err := parseNPYHeader(string(hdr))
	if err != nil {
		return nil, bad("header %q: %v", strings.TrimSpace(string(hdr)), err)
	}
	count := int64(1)
	for _, d := range a.shape {
		if count *= int64(max(d, 1)); count > maxDataValues {
			return nil, bad("shape %v: more than %d values", a.shape, int64(maxDataValues))
		}
	}
	for _, d := range a.shape {
		if d == 0 {
			count = 0
		}
	}
	want := count * int64(a.size)
	if got := size - int64(n+hlen); got != want {
		return nil, bad("the header announces shape %v of %d-byte values, %d bytes, the file holds %d", a.shape, a.size, want, got)
	}
	if floats != nil && a.kind == 'f' {
		return a, a.readFloats(r, int(count), *floats, what)
	}
	a.raw = make([]byte, want)
	if _, err := io.ReadFull(r, a.raw); err != nil {
		return nil, bad("%v", err)
	}
	return a, nil
}

// readFloats reads count float values into a.vals as float32, (v − lo)/(hi − lo) for
// the scale [lo, hi] ([0, 0]: v), refusing values that are not finite as float32.
func (a *npyArray) readFloats(r io.Reader, count int, scale [2]float64, what string) error {
	if scale == [2]float64{} {
		scale = [2]float64{0, 1}
	}
	if err := checkScale(scale, what); err != nil {
		return err
	}
	lo, span := scale[0], scale[1]-scale[0]
	a.vals = make([]float32, count)
	perPoint := 1 // values per point, for the error message
	if len(a.shape) > 0 && a.shape[0] > 0 {
		perPoint = count / a.shape[0]
	}
	buf := make([]byte, min(1<<16, count*a.size))
	for done := 0; done < count; {
		k := min(count-done, len(buf)/a.size)
		if _, err := io.ReadFull(r, buf[:k*a.size]); err != nil {
			return fmt.Errorf("data: %s: %v", what, err)
		}
		for i := range k {
			var v float64
			if b := buf[i*a.size:]; a.size == 4 {
				v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
			} else {
				v = math.Float64frombits(binary.LittleEndian.Uint64(b))
			}
			f := float32(v)
			if lo != 0 || span != 1 {
				f = float32((v - lo) / span)
			}
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				e := done + i
				return fmt.Errorf("data: %s: value %d of point %d is %v, which is not finite as a float32 in [0, 1] scale", what, e%perPoint, e/perPoint, v)
			}
			a.vals[done+i] = f
		}
		done += k
	}
	return nil
}

// parseNPYHeader parses the Python dictionary of a .npy header: exactly the keys
// 'descr' (a little-endian or byte-sized integer or float type), 'fortran_order'
// (False) and 'shape' (a tuple of non-negative integers).
func parseNPYHeader(h string) (*npyArray, error) {
	h = strings.TrimRight(h, " \n")
	if !strings.HasPrefix(h, "{") || !strings.HasSuffix(h, "}") {
		return nil, fmt.Errorf("not a dictionary")
	}
	s := strings.TrimSpace(h[1 : len(h)-1])
	a := &npyArray{}
	seen := map[string]bool{}
	for s != "" {
		key, rest, ok := quoted(s)
		if !ok {
			return nil, fmt.Errorf("want a quoted key at %q", s)
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return nil, fmt.Errorf("want ':' after '%s'", key)
		}
		rest = strings.TrimSpace(rest[1:])
		if seen[key] {
			return nil, fmt.Errorf("key '%s' twice", key)
		}
		seen[key] = true
		switch key {
		case "descr":
			var d string
			if d, rest, ok = quoted(rest); !ok {
				return nil, fmt.Errorf("descr is not a string")
			}
			if err := a.setDescr(d); err != nil {
				return nil, err
			}
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "False"):
				rest = rest[5:]
			case strings.HasPrefix(rest, "True"):
				return nil, fmt.Errorf("Fortran (column-major) order is not supported; save with np.ascontiguousarray")
			default:
				return nil, fmt.Errorf("fortran_order is not True or False")
			}
		case "shape":
			end := strings.IndexByte(rest, ')')
			if !strings.HasPrefix(rest, "(") || end < 0 {
				return nil, fmt.Errorf("shape is not a tuple")
			}
			a.shape = []int{}
			for f := range strings.SplitSeq(rest[1:end], ",") {
				f = strings.TrimSpace(f)
				if f == "" {
					continue
				}
				d, err := strconv.Atoi(f)
				if err != nil || d < 0 || d > maxDataValues {
					return nil, fmt.Errorf("shape entry %q is not a size", f)
				}
				a.shape = append(a.shape, d)
			}
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("unknown key '%s'", key)
		}
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, ",") {
			rest = strings.TrimSpace(rest[1:])
		} else if rest != "" {
			return nil, fmt.Errorf("want ',' before %q", rest)
		}
		s = rest
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return nil, fmt.Errorf("no '%s'", k)
		}
	}
	return a, nil
}

// quoted splits a leading Python string literal ('…' or "…", no escapes) off s.
func quoted(s string) (val, rest string, ok bool) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, false
	}
	return s[1 : 1+end], s[2+end:], true
}

// setDescr sets the element type from a NumPy type string such as '<f4' or '|u1'.
func (a *npyArray) setDescr(d string) error {
	if len(d) == 3 && (d[0] == '<' || d[0] == '|' || d[0] == '=') {
		a.kind, a.size = d[1], int(d[2]-'0')
		ok := (a.kind == 'u' || a.kind == 'i') && (a.size == 1 || a.size == 2 || a.size == 4 || a.size == 8) ||
			a.kind == 'f' && (a.size == 4 || a.size == 8)
		if ok && (a.size == 1 || d[0] != '|') {
			return nil
		}
	}
	return fmt.Errorf("dtype '%s' is not supported: want uint8 ('|u1'), float32 ('<f4') or float64 ('<f8') (integers for labels)", d)
}

// value returns element i as float64.
func (a *npyArray) value(i int) float64 {
	b := a.raw[i*a.size:]
	switch {
	case a.kind == 'f' && a.size == 4:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case a.kind == 'f':
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	case a.size == 1 && a.kind == 'u':
		return float64(b[0])
	case a.size == 1:
		return float64(int8(b[0]))
	case a.size == 2 && a.kind == 'u':
		return float64(binary.LittleEndian.Uint16(b))
	case a.size == 2:
		return float64(int16(binary.LittleEndian.Uint16(b)))
	case a.size == 4 && a.kind == 'u':
		return float64(binary.LittleEndian.Uint32(b))
	case a.size == 4:
		return float64(int32(binary.LittleEndian.Uint32(b)))
	case a.kind == 'u':
		return float64(binary.LittleEndian.Uint64(b))
	}
	return float64(int64(binary.LittleEndian.Uint64(b)))
}

// labels returns a 1-D integer array's values.
func (a *npyArray) labels(what string) ([]float64, error) {
	if a.kind == 'f' || len(a.shape) != 1 {
		return nil, fmt.Errorf("data: %s: labels of shape %v and type %c%d, want a 1-D integer array", what, a.shape, a.kind, 8*a.size)
	}
	out := make([]float64, a.shape[0])
	for i := range out {
		out[i] = a.value(i)
	}
	return out, nil
}

// LoadNPY reads the .npy array at path as points (ArrayOptions), with labels from the
// .npy array at opt.Labels if set.
func LoadNPY(path string, opt ArrayOptions) (*Dataset, error) {
	return loadArrays(readNPYFile, path, opt, path, opt.Labels)
}

func readNPYFile(path string, floats *[2]float64) (*npyArray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	return readNPY(f, st.Size(), path, floats)
}

// LoadNPZ reads the array opt.Array of the .npz file at path (NumPy's savez: a zip
// archive of .npy files) as points, with labels from its array opt.Labels if set.
func LoadNPZ(path string, opt ArrayOptions) (*Dataset, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	defer z.Close()
	var names []string
	for _, f := range z.File {
		names = append(names, strings.TrimSuffix(f.Name, ".npy"))
	}
	name := opt.Array
	if name == "" {
		others := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == opt.Labels })
		if len(others) != 1 {
			return nil, fmt.Errorf("data: %s holds the arrays %v: set data.array to the one to train on", path, slices.Sorted(slices.Values(names)))
		}
		name = others[0]
	}
	read := func(n string, floats *[2]float64) (*npyArray, error) {
		i := slices.Index(names, n)
		if i < 0 {
			return nil, fmt.Errorf("data: %s has no array %q (it holds %v)", path, n, names)
		}
		f := z.File[i]
		if f.UncompressedSize64 > maxDataValues*8 {
			return nil, fmt.Errorf("data: %s: array %s of %d bytes", path, n, f.UncompressedSize64)
		}
		r, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("data: %s: array %s: %w", path, n, err)
		}
		defer r.Close()
		a, err := readNPY(r, int64(f.UncompressedSize64), path+":"+n, floats)
		if err != nil {
			return nil, err
		}
		// The zip reader checks the length and CRC-32 at the end of the member.
		if _, err := r.Read(make([]byte, 1)); err != io.EOF {
			return nil, fmt.Errorf("data: %s: array %s: longer than its header says, or corrupted (%v)", path, n, err)
		}
		return a, nil
	}
	return loadArrays(read, name, opt, path+":"+name, path+":"+opt.Labels)
}

// loadArrays reads the data array name (float data converted as it is read, with
// opt.Scale) and the labels array opt.Labels (if set) with read, and turns them into
// points; what and labelsWhat name them in errors.
func loadArrays(read func(name string, floats *[2]float64) (*npyArray, error), name string, opt ArrayOptions, what, labelsWhat string) (*Dataset, error) {
	a, err := read(name, &opt.Scale)
	if err != nil {
		return nil, err
	}
	var labels []float64
	if opt.Labels != "" {
		l, err := read(opt.Labels, nil)
		if err != nil {
			return nil, err
		}
		if labels, err = l.labels(labelsWhat); err != nil {
			return nil, err
		}
	}
	return arrayDataset(a, labels, opt, what, labelsWhat)
}

// arrayDataset turns a parsed array (and labels) into points.
func arrayDataset(a *npyArray, labels []float64, opt ArrayOptions, what, labelsWhat string) (*Dataset, error) {
	if a.kind != 'f' && !(a.kind == 'u' && a.size == 1) {
		return nil, fmt.Errorf("data: %s: integer arrays other than uint8 are not supported as data; convert to uint8 or float32", what)
	}
	if len(a.shape) < 2 || len(a.shape) > 4 || a.shape[0] == 0 {
		return nil, fmt.Errorf("data: %s: shape %v: want N×D, N×H×W or N×H×W×C (N×C×H×W with data.layout = \"nchw\") with N ≥ 1", what, a.shape)
	}
	n := a.shape[0]
	var c, h, w int
	switch len(a.shape) {
	case 2:
		if opt.Size != [2]int{} {
			c, h, w = max(opt.Channels, 1), opt.Size[0], opt.Size[1]
			if c*h*w != a.shape[1] {
				return nil, fmt.Errorf("data: %s: rows of %d values are not images of %d×%d×%d (data.size, data.channels)", what, a.shape[1], c, h, w)
			}
		}
	case 3:
		c, h, w = 1, a.shape[1], a.shape[2]
	case 4:
		switch opt.Layout {
		case "", "nhwc":
			h, w, c = a.shape[1], a.shape[2], a.shape[3]
		case "nchw":
			c, h, w = a.shape[1], a.shape[2], a.shape[3]
		default:
			return nil, fmt.Errorf("data: layout %q: want \"nhwc\" or \"nchw\"", opt.Layout)
		}
	}
	if c > 0 {
		if err := checkImageShape(c, h, w, what); err != nil {
			return nil, err
		}
	}
	d := &Dataset{Shape: [3]int{c, h, w}, Source: what}
	// The values become the points in place (one copy of the data in memory: bytes,
	// or float32 converted as they were read), each point reordered to channel-major.
	nhwc := len(a.shape) == 4 && opt.Layout != "nchw" && c > 1
	if a.kind == 'u' {
		scale := opt.Scale
		if scale == [2]float64{} {
			scale = [2]float64{0, 255}
		}
		if err := checkScale(scale, what); err != nil {
			return nil, err
		}
		d.LUT = ScaleLUT(scale[0], scale[1])
		d.Pix = a.raw
		d.N, d.Dim = n, len(d.Pix)/n
		if nhwc {
			toChannelMajor(d.Pix, d.Dim, c)
		}
	} else {
		d.Vals = a.vals
		d.N, d.Dim = n, len(d.Vals)/n
		if nhwc {
			toChannelMajor(d.Vals, d.Dim, c)
		}
	}
	if labels != nil {
		if len(labels) != n {
			return nil, fmt.Errorf("data: %s: %d labels for the %d points of %s", labelsWhat, len(labels), n, what)
		}
		var err error
		if d.Labels, d.Classes, err = classLabels(labels, labelsWhat); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// toChannelMajor reorders every point (dim values) of v from pixel-major (H×W×C, c
// channels) to channel-major (C×H×W) in place, through a buffer of one point.
func toChannelMajor[T any](v []T, dim, c int) {
	buf := make([]T, dim)
	plane := dim / c
	for i := 0; i+dim <= len(v); i += dim {
		row := v[i : i+dim]
		copy(buf, row)
		for p := 0; p < plane; p++ {
			for ch := 0; ch < c; ch++ {
				row[ch*plane+p] = buf[p*c+ch]
			}
		}
	}
}

// maxClasses bounds the number of classes of labelled data.
const maxClasses = 1 << 12

// classLabels checks integer labels 0…K−1 (K ≤ maxClasses) and names the classes by
// their numbers.
func classLabels(ls []float64, what string) ([]int, []string, error) {
	out := make([]int, len(ls))
	k := 0
	for i, l := range ls {
		if l < 0 || l >= maxClasses || l != math.Trunc(l) {
			return nil, nil, fmt.Errorf("data: %s: label %d is %v, want an integer in [0, %d)", what, i, l, maxClasses)
		}
		out[i] = int(l)
		k = max(k, out[i]+1)
	}
	classes := make([]string, k)
	for i := range classes {
		classes[i] = strconv.Itoa(i)
	}
	return out, classes, nil
}
