package data

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Dataset is a set of points read from the user's files (LoadImages, LoadNPY,
// LoadNPZ, LoadIDX, LoadCSV): N points of Dim values each, row after row, held as
// bytes in Pix (images: a quarter of the memory of float32) with their value given by
// LUT, or as float32 in Vals. Images are channel-major (C, H, W), as PyTorch's
// tensors: point i's pixel (c, y, x) is value i·Dim + c·H·W + y·W + x. Labels, if the
// files give them, are class indices into Classes.
type Dataset struct {
	Pix  []uint8
	LUT  *[256]float32
	Vals []float32
	N    int
	Dim  int
	// Shape is (C, H, W) for images, zero for plain vectors.
	Shape   [3]int
	Labels  []int
	Classes []string
	// Source describes where the points come from ("images from DIR", …).
	Source string
	// Skipped lists the files left out as unreadable (ImageOptions.SkipBad).
	Skipped []string
}

// ScaleLUT returns the byte lookup table that maps the bytes lo…hi linearly to 0…1:
// (b − lo)/(hi − lo) in float32. For [0, 255] it is b/255, the values of LoadMNIST.
func ScaleLUT(lo, hi float64) *[256]float32 {
	var t [256]float32
	l, s := float32(lo), float32(hi-lo)
	for b := range t {
		t[b] = (float32(b) - l) / s
	}
	return &t
}

// checkScale validates a stated value range [lo, hi] (what names its origin).
func checkScale(scale [2]float64, what string) error {
	lo, hi := scale[0], scale[1]
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || !(hi > lo) {
		return fmt.Errorf("data: %s: scale = [%v, %v]: want finite lo < hi", what, lo, hi)
	}
	return nil
}

// Head keeps the first n points (all if there are fewer).
func (d *Dataset) Head(n int) {
	if n >= d.N || n < 1 {
		return
	}
	*d = *d.slice(0, n)
}

// slice returns a view of points lo…hi−1 (sharing d's memory; appending to it cannot
// reach d's other points).
func (d *Dataset) slice(lo, hi int) *Dataset {
	v := *d
	v.N = hi - lo
	if d.Pix != nil {
		v.Pix = d.Pix[lo*d.Dim : hi*d.Dim : hi*d.Dim]
	} else {
		v.Vals = d.Vals[lo*d.Dim : hi*d.Dim : hi*d.Dim]
	}
	if d.Labels != nil {
		v.Labels = d.Labels[lo:hi:hi]
	}
	return &v
}

// DefaultHoldout is the fraction of a data file's points held out for evaluation
// (Holdout) when the configuration does not say.
const DefaultHoldout = 0.1

// holdoutStream separates the held-out draw from every other seeded stream.
const holdoutStream = 0x401d_0a75

// Holdout splits the points into a training part and a held-out part of
// ⌊frac·N⌋ points, drawn at random with seed (the first points of a seeded
// permutation, as PyTorch's random_split draws them): the same data, fraction and
// seed always hold out the same points. Both parts keep the file's order. It reorders
// d in place — its training points first — and returns views of the two parts; the
// extra memory is that of the held-out points.
func (d *Dataset) Holdout(frac float64, seed uint64) (train, test *Dataset, err error) {
	if !(frac > 0 && frac < 1) {
		return nil, nil, fmt.Errorf("data: holding out %v of the points: want a fraction in (0, 1)", frac)
	}
	k := int(frac * float64(d.N))
	if k < 1 || k >= d.N {
		return nil, nil, fmt.Errorf("data: holding out %v of %d points leaves no point in one of the parts", frac, d.N)
	}
	held := make([]bool, d.N)
	for _, i := range rand.New(rand.NewPCG(seed, holdoutStream)).Perm(d.N)[:k] {
		held[i] = true
	}
	if d.Pix != nil {
		partition(d.Pix, d.Dim, held, k)
	} else {
		partition(d.Vals, d.Dim, held, k)
	}
	if d.Labels != nil {
		partition(d.Labels, 1, held, k)
	}
	train, test = d.slice(0, d.N-k), d.slice(d.N-k, d.N)
	train.Source += fmt.Sprintf(" (training part, %d points)", train.N)
	test.Source += fmt.Sprintf(" (held-out part, %d points)", test.N)
	return train, test, nil
}

// partition moves the rows (of dim values) marked held, k of them, to the end of v,
// both groups in their order.
func partition[T any](v []T, dim int, held []bool, k int) {
	out := make([]T, 0, k*dim)
	w := 0
	for i, h := range held {
		if h {
			out = append(out, v[i*dim:(i+1)*dim]...)
			continue
		}
		copy(v[w*dim:], v[i*dim:(i+1)*dim])
		w++
	}
	copy(v[w*dim:], out)
}

// NewBatcher returns a Batcher over the points.
func (d *Dataset) NewBatcher(seed uint64, shuffle bool) (*Batcher, error) {
	if d.Pix != nil {
		return NewByteBatcher(d.Pix, d.Dim, d.LUT, seed, shuffle)
	}
	return NewBatcher(d.Vals, d.Dim, seed, shuffle)
}

// Point returns point i as float32 values in dst (len Dim).
func (d *Dataset) Point(dst []float32, i int) {
	if d.Pix != nil {
		for j, v := range d.Pix[i*d.Dim : (i+1)*d.Dim] {
			dst[j] = d.LUT[v]
		}
		return
	}
	copy(dst, d.Vals[i*d.Dim:(i+1)*d.Dim])
}

// Means returns the mean of every coordinate over all points, summed in float64.
func (d *Dataset) Means() []float32 {
	sum := make([]float64, d.Dim)
	row := make([]float32, d.Dim)
	for i := 0; i < d.N; i++ {
		d.Point(row, i)
		for j, v := range row {
			sum[j] += float64(v)
		}
	}
	out := make([]float32, d.Dim)
	for j := range out {
		out[j] = float32(sum[j] / float64(max(d.N, 1)))
	}
	return out
}

// Range returns the smallest and largest value of the points.
func (d *Dataset) Range() (lo, hi float32) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	if d.Pix != nil {
		var seen [256]bool
		for _, v := range d.Pix {
			seen[v] = true
		}
		for b, ok := range seen {
			if ok {
				lo, hi = min(lo, d.LUT[b]), max(hi, d.LUT[b])
			}
		}
		return lo, hi
	}
	for _, v := range d.Vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// Checksum is the SHA-256 of the points' float32 values (little-endian), shape and
// labels: the same data, however it was stored, has the same checksum. Caches keyed
// by data (a classifier trained on it) use it.
func (d *Dataset) Checksum() string {
	h := sha256.New()
	fmt.Fprintf(h, "sinkgen dataset %d×%d shape %v labels %d classes %s\n", d.N, d.Dim, d.Shape, len(d.Labels), strings.Join(d.Classes, "\x00"))
	row := make([]float32, d.Dim)
	buf := make([]byte, 4*d.Dim)
	for i := 0; i < d.N; i++ {
		d.Point(row, i)
		for j, v := range row {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		h.Write(buf)
	}
	for _, l := range d.Labels {
		binary.Write(h, binary.LittleEndian, int64(l))
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// Describe is a line about the data: its source, count, shape, value range, storage
// and classes.
func (d *Dataset) Describe() string {
	shape := fmt.Sprintf("%d values", d.Dim)
	if d.Shape[0] > 0 {
		shape = fmt.Sprintf("%d×%d×%d (C×H×W)", d.Shape[0], d.Shape[1], d.Shape[2])
	}
	store := "float32"
	if d.Pix != nil {
		store = "uint8"
	}
	lo, hi := d.Range()
	labels := "no labels"
	if d.Labels != nil {
		labels = fmt.Sprintf("%d classes", len(d.Classes))
	}
	skipped := ""
	if len(d.Skipped) > 0 {
		skipped = fmt.Sprintf("; %d unreadable files skipped (the first: %s)", len(d.Skipped), d.Skipped[0])
	}
	return fmt.Sprintf("%s: %d points of %s, values in [%.4g, %.4g], held as %s (%s), %s%s",
		d.Source, d.N, shape, lo, hi, store, fmtBytes(len(d.Pix)+4*len(d.Vals)), labels, skipped)
}

func fmtBytes(n int) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}

// maxDataValues bounds the values a data file may announce (2^34 bytes of uint8 is
// 16 GiB), checked against the file's length before anything is allocated.
const maxDataValues = 1 << 34

// checkImageShape validates an image shape (C, H, W) read from a file or a config.
func checkImageShape(c, h, w int, what string) error {
	if c != 1 && c != 3 {
		return fmt.Errorf("data: %s: %d channels, want 1 or 3", what, c)
	}
	if h < 1 || w < 1 || h > 4096 || w > 4096 {
		return fmt.Errorf("data: %s: images of %d×%d, want sides in [1, 4096]", what, h, w)
	}
	return nil
}
