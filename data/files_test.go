package data

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkgen/sinkgen/internal/memtest"
)

// writeFile writes b to dir/name, making its directories.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rgbImage is a w×h image whose pixel (x, y) is (10x, 20y, 7x+3y) (opaque).
func rgbImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(10 * x), uint8(20 * y), uint8(7*x + 3*y), 255})
		}
	}
	return img
}

// Images of the folder's own size are taken pixel for pixel, channel-major, as
// byte/255; grey is the BT.601 luma (0.299 R + 0.587 G + 0.114 B, to ±1); labels come
// from the sub-directories in sorted order; files are read in lexical order.
func TestLoadImagesPixels(t *testing.T) {
	dir := t.TempDir()
	const w, h = 5, 4
	writeFile(t, dir, "b/1.png", encodePNG(t, rgbImage(w, h)))
	writeFile(t, dir, "a/2.png", encodePNG(t, image.NewNRGBA(image.Rect(0, 0, w, h)))) // transparent: black
	writeFile(t, dir, "a/notes.txt", []byte("not an image"))
	d, err := LoadImages(dir, ImageOptions{Channels: 3, Labels: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 2 || d.Dim != 3*w*h || d.Shape != [3]int{3, h, w} || fmt.Sprint(d.Classes) != "[a b]" || fmt.Sprint(d.Labels) != "[0 1]" {
		t.Fatalf("got %d points of %d, shape %v, classes %v, labels %v", d.N, d.Dim, d.Shape, d.Classes, d.Labels)
	}
	p := make([]float32, d.Dim)
	d.Point(p, 0)
	for _, v := range p {
		if v != 0 {
			t.Fatalf("a transparent image gave %v, want black", p)
		}
	}
	d.Point(p, 1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			want := []float32{float32(10*x) / 255, float32(20*y) / 255, float32(7*x+3*y) / 255}
			for c := range 3 {
				if got := p[c*w*h+y*w+x]; got != want[c] {
					t.Fatalf("pixel (%d,%d) channel %d is %v, want %v", x, y, c, got, want[c])
				}
			}
		}
	}
	g, err := LoadImages(dir, ImageOptions{Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	g.Point(p[:w*h], 1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			luma := (0.299*float64(10*x) + 0.587*float64(20*y) + 0.114*float64(7*x+3*y)) / 255
			if got := float64(p[y*w+x]); math.Abs(got-luma) > 1.0/255 {
				t.Fatalf("grey pixel (%d,%d) is %v, want %v ± 1/255", x, y, got, luma)
			}
		}
	}
}

// Resizing covers the target and crops about the centre: a 30×10 image whose middle
// third is white and the rest black becomes an all-white 10×10 image (to the filter's
// ringing at the crop's edge, which only touches the outer pixel), and a constant
// image stays constant; a 1×1 image is resized too.
func TestLoadImagesResize(t *testing.T) {
	dir := t.TempDir()
	wide := image.NewGray(image.Rect(0, 0, 30, 10))
	for y := 0; y < 10; y++ {
		for x := 10; x < 20; x++ {
			wide.SetGray(x, y, color.Gray{255})
		}
	}
	writeFile(t, dir, "0.png", encodePNG(t, wide))
	tall := image.NewGray(image.Rect(0, 0, 7, 40))
	for i := range tall.Pix {
		tall.Pix[i] = 100
	}
	writeFile(t, dir, "1.png", encodePNG(t, tall))
	one := image.NewGray(image.Rect(0, 0, 1, 1))
	one.Pix[0] = 200
	writeFile(t, dir, "2.png", encodePNG(t, one))
	d, err := LoadImages(dir, ImageOptions{Size: [2]int{10, 10}, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	for y := 1; y < 9; y++ {
		for x := 1; x < 9; x++ {
			if v := d.Pix[y*10+x]; v != 255 {
				t.Fatalf("centre crop pixel (%d,%d) is %d, want 255 (the white middle third)", x, y, v)
			}
		}
	}
	for i, v := range d.Pix[100:200] {
		if v != 100 {
			t.Fatalf("constant image pixel %d is %d after resizing, want 100", i, v)
		}
	}
	for i, v := range d.Pix[200:] {
		if v != 200 {
			t.Fatalf("1×1 image pixel %d is %d after resizing, want 200", i, v)
		}
	}
}

// Hostile and odd files: errors name the file; skip_bad counts them instead; a
// 16-bit PNG reads as its high bytes; an animated GIF as its first frame; an image
// announcing 10⁵×10⁵ pixels is refused before it is decoded.
func TestLoadImagesHostile(t *testing.T) {
	good := encodePNG(t, rgbImage(4, 4))
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, rgbImage(4, 4), nil); err != nil {
		t.Fatal(err)
	}
	huge := encodePNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	binary.BigEndian.PutUint32(huge[16:], 100000) // IHDR width and height
	binary.BigEndian.PutUint32(huge[20:], 100000)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29])) // IHDR's CRC
	for name, c := range map[string]struct {
		files map[string][]byte
		size  [2]int
		want  string
	}{
		"truncated png":  {map[string][]byte{"a.png": good, "b.png": good[:len(good)/2]}, [2]int{}, "b.png"},
		"truncated jpeg": {map[string][]byte{"a.png": good, "b.jpg": jb.Bytes()[:jb.Len()/2]}, [2]int{}, "b.jpg"},
		"garbage":        {map[string][]byte{"a.png": good, "b.gif": []byte("GIF89a")}, [2]int{}, "b.gif"},
		"mixed sizes":    {map[string][]byte{"a.png": good, "b.png": encodePNG(t, rgbImage(5, 4))}, [2]int{}, "b.png is 4×5, the first image 4×4; set data.size"},
		"no images":      {map[string][]byte{"readme.txt": []byte("x")}, [2]int{}, "no PNG, JPEG or GIF file"},
		"pixel bomb":     {map[string][]byte{"a.png": huge}, [2]int{8, 8}, "100000×100000 pixels"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for n, b := range c.files {
				writeFile(t, dir, n, b)
			}
			var err error
			if a := memtest.Allocated(func() { _, err = LoadImages(dir, ImageOptions{Size: c.size, Channels: 3}) }); err == nil || !strings.Contains(err.Error(), c.want) || a > 64<<20 {
				t.Fatalf("got %v after allocating %d bytes, want an error with %q", err, a, c.want)
			}
			if len(c.files) == 2 {
				d, err := LoadImages(dir, ImageOptions{Channels: 3, SkipBad: true})
				if err != nil || d.N != 1 || len(d.Skipped) != 1 || !strings.Contains(d.Describe(), "1 unreadable files skipped") {
					t.Fatalf("skip_bad: %v, %+v", err, d)
				}
			}
		})
	}
	dir := t.TempDir()
	g16 := image.NewGray16(image.Rect(0, 0, 2, 1))
	g16.SetGray16(0, 0, color.Gray16{0xABCD})
	g16.SetGray16(1, 0, color.Gray16{0x00FF})
	writeFile(t, dir, "a.png", encodePNG(t, g16))
	anim := &gif.GIF{}
	for _, v := range []uint8{0, 255} {
		fr := image.NewPaletted(image.Rect(0, 0, 2, 1), palette.Plan9)
		for i := range fr.Pix {
			fr.Pix[i] = uint8(fr.Palette.Index(color.Gray{v}))
		}
		anim.Image, anim.Delay = append(anim.Image, fr), append(anim.Delay, 10)
	}
	var gb bytes.Buffer
	if err := gif.EncodeAll(&gb, anim); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "b.gif", gb.Bytes())
	d, err := LoadImages(dir, ImageOptions{Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(d.Pix); got != "[171 0 0 0]" {
		t.Errorf("16-bit PNG then animated GIF (first frame black) read as %s, want [171 0 0 0]", got)
	}
}

// npy builds a .npy file (version 1.0) from a header dictionary and data, as NumPy
// writes it: the header padded with spaces and a newline to a multiple of 64 bytes.
func npy(dict string, payload []byte) []byte {
	h := dict
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	return append(append(b, h...), payload...)
}

// A uint8 N×H×W×C array becomes channel-major images of byte/255 (or scaled by
// scale); N×C×H×W with layout nchw reads the same; float32 and float64 arrays are
// scaled; labels come from a second array.
func TestLoadNPY(t *testing.T) {
	dir := t.TempDir()
	// 2 images of 2×3 pixels, 3 channels; value = 100n + 10·channel + pixel.
	var nhwc, nchw []byte
	for n := range 2 {
		for p := range 6 {
			for c := range 3 {
				nhwc = append(nhwc, byte(100*n+10*c+p))
			}
		}
		for c := range 3 {
			for p := range 6 {
				nchw = append(nchw, byte(100*n+10*c+p))
			}
		}
	}
	a := writeFile(t, dir, "a.npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 3, 3), }", nhwc))
	b := writeFile(t, dir, "b.npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 2, 3), }", nchw))
	lab := writeFile(t, dir, "l.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", []byte{3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}))
	da, err := LoadNPY(a, ArrayOptions{Labels: lab})
	if err != nil {
		t.Fatal(err)
	}
	db, err := LoadNPY(b, ArrayOptions{Layout: "nchw"})
	if err != nil {
		t.Fatal(err)
	}
	if da.Shape != [3]int{3, 2, 3} || !bytes.Equal(da.Pix, nchw) || !bytes.Equal(db.Pix, nchw) || fmt.Sprint(da.Labels, da.Classes) != "[3 1] [0 1 2 3]" {
		t.Fatalf("nhwc %v %v labels %v %v; nchw %v; want %v", da.Shape, da.Pix, da.Labels, da.Classes, db.Pix, nchw)
	}
	if p := make([]float32, 18); true {
		da.Point(p, 1)
		if p[17] != 125.0/255 {
			t.Errorf("value %v, want 125/255", p[17])
		}
	}
	f32 := make([]byte, 0, 16)
	for _, v := range []float32{-1, 0, 1, 0.5} {
		f32 = binary.LittleEndian.AppendUint32(f32, math.Float32bits(v))
	}
	f := writeFile(t, dir, "f.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)}", f32))
	df, err := LoadNPY(f, ArrayOptions{Scale: [2]float64{-1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(df.Vals) != "[0 0.5 1 0.75]" || df.Shape != [3]int{} {
		t.Errorf("float32 scaled from [-1,1]: %v, shape %v", df.Vals, df.Shape)
	}
}

// Headers that lie or say what is not supported are errors naming the file, found
// before the data is allocated.
func TestLoadNPYHostile(t *testing.T) {
	dir := t.TempDir()
	d16 := make([]byte, 16)
	for name, c := range map[string]struct {
		file []byte
		want string
	}{
		"shape too large": {npy("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 8), }", d16), "32 bytes, the file holds 16"},
		"shape too small": {npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 4), }", d16), "8 bytes, the file holds 16"},
		"huge shape":      {npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000000), }", d16), "more than"},
		"fortran":         {npy("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 8), }", d16), "Fortran"},
		"big endian":      {npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", d16), "dtype '>f4' is not supported"},
		"object":          {npy("{'descr': '|O', 'fortran_order': False, 'shape': (2, 8), }", d16), "not supported"},
		"unknown key":     {npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 8), 'x': 1}", d16), "unknown key 'x'"},
		"no shape":        {npy("{'descr': '|u1', 'fortran_order': False}", d16), "no 'shape'"},
		"zero images":     {npy("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 8), }", nil), "N ≥ 1"},
		"one dimension":   {npy("{'descr': '|u1', 'fortran_order': False, 'shape': (16,), }", d16), "want N×D"},
		"not npy":         {[]byte("PK\x03\x04 something else"), "not a .npy file"},
		"truncated":       {npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 8), }", d16)[:40], "header of"},
		"5 channels":      {npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2, 4), }", d16), "4 channels, want 1 or 3"},
	} {
		p := writeFile(t, dir, name+".npy", c.file)
		var err error
		if a := memtest.Allocated(func() { _, err = LoadNPY(p, ArrayOptions{}) }); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) || a > 1<<20 {
			t.Errorf("%s: got %v after allocating %d bytes, want an error naming the file with %q", name, err, a, c.want)
		}
	}
}

// A .npz archive: the data array by name or as the only one besides the labels; an
// archive of several arrays without a name is an error listing them.
func TestLoadNPZ(t *testing.T) {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, b := range map[string][]byte{
		"x.npy": npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }", []byte{0, 255, 255, 0, 1, 2, 3, 4}),
		"y.npy": npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", []byte{1, 0}),
	} {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	zw.Close()
	p := writeFile(t, t.TempDir(), "d.npz", zb.Bytes())
	d, err := LoadNPZ(p, ArrayOptions{Labels: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 2 || d.Shape != [3]int{1, 2, 2} || fmt.Sprint(d.Labels) != "[1 0]" || d.Pix[1] != 255 {
		t.Errorf("got %+v", d)
	}
	if _, err := LoadNPZ(p, ArrayOptions{}); err == nil || !strings.Contains(err.Error(), "holds the arrays [x y]") {
		t.Errorf("no array named: %v", err)
	}
}

// Any idx pair with labels beyond 9 (EMNIST letters), checksums checked when given.
func TestLoadIDX(t *testing.T) {
	dir := t.TempDir()
	imgs := writeFile(t, dir, "i.gz", idx(t, []uint32{0x803, 2, 1, 2}, []byte{0, 51, 102, 255}, true))
	labs := writeFile(t, dir, "l", idx(t, []uint32{0x801, 2}, []byte{26, 3}, false))
	d, err := LoadIDX(imgs, IDXOptions{Labels: labs})
	if err != nil {
		t.Fatal(err)
	}
	if d.Shape != [3]int{1, 1, 2} || fmt.Sprint(d.Labels) != "[26 3]" || len(d.Classes) != 27 || d.LUT[51] != 0.2 {
		t.Errorf("got %+v", d)
	}
	bad := strings.Repeat("0", 64)
	if _, err := LoadIDX(imgs, IDXOptions{SHA256: bad}); err == nil || !strings.Contains(err.Error(), "SHA-256") || !strings.Contains(err.Error(), imgs) {
		t.Errorf("wrong checksum: %v", err)
	}
}

// CSV: a label column, rows read as images, and errors naming the line.
func TestLoadCSV(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "a.csv", []byte("# label,p0,p1,p2,p3\n1,0,0.5,1,0.25\n\n0,1,1,1,1\n"))
	d, err := LoadCSV(p, ArrayOptions{Labels: "first", Size: [2]int{2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 2 || d.Shape != [3]int{1, 2, 2} || fmt.Sprint(d.Vals) != "[0 0.5 1 0.25 1 1 1 1]" || fmt.Sprint(d.Labels) != "[1 0]" {
		t.Errorf("got %+v", d)
	}
	for body, want := range map[string]string{
		"1,2\n3\n":    "a.csv:2: 1 values, the first row has 2",
		"1,x\n":       `a.csv:1: column 2: "x" is not a number`,
		"# nothing\n": "holds no rows",
	} {
		writeFile(t, dir, "a.csv", []byte(body))
		if _, err := LoadCSV(p, ArrayOptions{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", body, err, want)
		}
	}
}

// FuzzNPY: no .npy input panics, and reading allocates at most a small multiple of
// the input's size (the header's shape is checked against the file's length first).
func FuzzNPY(f *testing.F) {
	f.Add(npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2, 3), }", make([]byte, 24)))
	f.Add(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", make([]byte, 32)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var err error
		var a *npyArray
		if n := memtest.Allocated(func() { a, err = readNPY(bytes.NewReader(b), int64(len(b)), "fuzz", &[2]float64{}) }); n > uint64(16*len(b)+1<<16) {
			t.Fatalf("%d bytes allocated for a %d-byte input", n, len(b))
		}
		if err == nil {
			arrayDataset(a, nil, ArrayOptions{}, "fuzz", "")
		}
	})
}

// A float64 N×H×W×C .npy (both layouts' reorder and a scale) loads with allocations
// of about its final float32 values, not the file's bytes as well, and the values
// are (v − lo)/(hi − lo) rounded once to float32 in channel-major order; a value out
// of float32's range is an error naming its point.
func TestLoadNPYFloatMemory(t *testing.T) {
	const n, h, w, c = 100, 8, 8, 3
	dim := h * w * c
	val := func(i, y, x, ch int) float64 { return float64(i) + float64(y*w+x)/1000 + float64(ch)/7 }
	var raw []byte
	for i := range n {
		for p := range h * w {
			for ch := range c {
				raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(val(i, p/w, p%w, ch)))
			}
		}
	}
	dir := t.TempDir()
	path := writeFile(t, dir, "f.npy", npy(fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d, %d, %d), }", n, h, w, c), raw))
	var d *Dataset
	var err error
	final := 4 * n * dim
	if a := memtest.Allocated(func() { d, err = LoadNPY(path, ArrayOptions{Scale: [2]float64{-1, 200}}) }); err != nil || a > uint64(final+final/4+64<<10) {
		t.Fatalf("%d bytes allocated for %d bytes of float32 values (error %v)", a, final, err)
	}
	p := make([]float32, dim)
	for i := range n {
		d.Point(p, i)
		for ch := range c {
			for q := range h * w {
				if want := float32((val(i, q/w, q%w, ch) + 1) / 201); p[ch*h*w+q] != want {
					t.Fatalf("point %d channel %d pixel %d: %v, want %v", i, ch, q, p[ch*h*w+q], want)
				}
			}
		}
	}
	binary.LittleEndian.PutUint64(raw[8*(5*dim+4):], math.Float64bits(1e300))
	path = writeFile(t, dir, "big.npy", npy(fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }", n, dim), raw))
	if _, err := LoadNPY(path, ArrayOptions{}); err == nil || !strings.Contains(err.Error(), "value 4 of point 5 is 1e+300") {
		t.Errorf("1e300 in a float64 array: error %v", err)
	}
}
