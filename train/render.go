package train

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/sinkgen/sinkgen/internal/atomicfile"
)

// SaveImageGrid writes points (rows of c·h·w intensities in [0,1], channel-major) as a
// PNG grid of images with cols columns (0: a near-square grid), one pixel of border
// between images. Values outside [0,1] are clamped.
func SaveImageGrid(path string, points []float32, shape [3]int, cols int) error {
	c, h, w := shape[0], shape[1], shape[2]
	d := c * h * w
	if d == 0 || len(points)%d != 0 || len(points) == 0 {
		return fmt.Errorf("image grid: %d values are not whole %d×%d×%d images", len(points), c, h, w)
	}
	if c != 1 && c != 3 {
		return fmt.Errorf("image grid: %d channels, want 1 or 3", c)
	}
	n := len(points) / d
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	rows := (n + cols - 1) / cols
	img := image.NewRGBA(image.Rect(0, 0, cols*(w+1)+1, rows*(h+1)+1))
	border := color.RGBA{60, 60, 60, 255}
	for i := range img.Pix {
		img.Pix[i] = []uint8{border.R, border.G, border.B, border.A}[i%4]
	}
	byte8 := func(v float32) uint8 {
		f := float64(v)
		if math.IsNaN(f) {
			return 0
		}
		return uint8(math.Round(255 * math.Min(math.Max(f, 0), 1)))
	}
	for k := 0; k < n; k++ {
		p := points[k*d : (k+1)*d]
		x0, y0 := 1+(k%cols)*(w+1), 1+(k/cols)*(h+1)
		for i := 0; i < h; i++ {
			for j := 0; j < w; j++ {
				var px color.RGBA
				if c == 1 {
					v := byte8(p[i*w+j])
					px = color.RGBA{v, v, v, 255}
				} else {
					px = color.RGBA{byte8(p[i*w+j]), byte8(p[h*w+i*w+j]), byte8(p[2*h*w+i*w+j]), 255}
				}
				img.SetRGBA(x0+j, y0+i, px)
			}
		}
	}
	return writeFileAtomic(path, func(f *os.File) error { return png.Encode(f, img) })
}

// SaveScatter writes a scatter plot of 2-D points (generated, in colour) over a
// reference set (data, in grey; may be nil) as a PNG. Points with a NaN or infinite
// coordinate are left out, and counted in the title.
func SaveScatter(path, title string, generated, reference []float32) error {
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = "x₁", "x₂"
	skipped := 0
	add := func(pts []float32, c color.Color, radius vg.Length, label string) error {
		xy := make(plotter.XYs, 0, len(pts)/2)
		for i := 0; i+1 < len(pts); i += 2 {
			x, y := float64(pts[i]), float64(pts[i+1])
			if !finite(x) || !finite(y) {
				skipped++
				continue
			}
			xy = append(xy, plotter.XY{X: x, Y: y})
		}
		if len(xy) == 0 {
			return nil
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return err
		}
		s.GlyphStyle.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = c, radius, draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add(label, s)
		return nil
	}
	if err := add(reference, color.RGBA{150, 150, 150, 255}, vg.Points(1.5), "data"); err != nil {
		return err
	}
	if err := add(generated, color.RGBA{200, 40, 40, 255}, vg.Points(1.5), "generated"); err != nil {
		return err
	}
	p.Title.Text = title
	if skipped > 0 {
		p.Title.Text += fmt.Sprintf(" (%d points not finite, not drawn)", skipped)
	}
	p.Legend.Top = true
	return savePlot(p, path, 5*vg.Inch, 5*vg.Inch)
}

// savePlot draws p as a PNG: every plot of the package (loss, ε, scatter) goes
// through it. FitAxes makes any finite data drawable; a panic of the plotting library
// that remains is returned as an error naming the file.
func savePlot(p *plot.Plot, path string, w, h vg.Length) (err error) {
	FitAxes(p)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing %s: %v", path, r)
		}
	}()
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, func(f *os.File) error {
		_, err := wt.WriteTo(f)
		return err
	})
}

// FitAxes sets ranges on p's axes that gonum/plot can draw whatever the data:
// it panics on a range it cannot put tick marks on ("illegal range": a constant
// series at 1e16, where Min−1 == Max+1 in float64; a logarithmic axis over a
// non-positive or degenerate range) and loops on a range wider than a float64 spans.
// Call it after the last Add, before drawing.
func FitAxes(p *plot.Plot) {
	fitAxis(&p.X)
	fitAxis(&p.Y)
}

// maxAxis bounds an axis so that its width, Max − Min, is a finite float64; data
// beyond it is drawn off the chart.
const maxAxis = math.MaxFloat64 / 4

func fitAxis(a *plot.Axis) {
	lo, hi := a.Min, a.Max
	if !(lo <= hi) { // no data (+Inf, −Inf) or NaN: gonum/plot's own empty axis
		lo, hi = -1, 1
	}
	if _, ok := a.Scale.(plot.LogScale); ok {
		// LogTicks needs 0 < Min and a finite power of ten above Max
		if lo > 0 && hi <= 1e308 && hi > lo*1.0001 {
			a.Min, a.Max = lo, hi
			return
		}
		a.Scale, a.Tick.Marker = plot.LinearScale{}, plot.DefaultTicks{}
	}
	lo, hi = math.Min(math.Max(lo, -maxAxis), maxAxis), math.Min(math.Max(hi, -maxAxis), maxAxis)
	// A range the values' own rounding cannot resolve is widened around them, as
	// matplotlib's nonsingular does: by a thousandth of their size, or by 1 at 0.
	if size := math.Max(math.Abs(lo), math.Abs(hi)); hi-lo <= 1e-12*size {
		if size < 1e-290 {
			lo, hi = lo-1, hi+1
		} else {
			lo, hi = lo-1e-3*math.Abs(lo), hi+1e-3*math.Abs(hi)
		}
	}
	a.Min, a.Max = lo, hi
}

// SaveNPY writes an n×d float32 array in NumPy's .npy format (version 1.0).
func SaveNPY(path string, points []float32, d int) error {
	if d < 1 || len(points)%d != 0 {
		return fmt.Errorf("npy: %d values are not rows of %d", len(points), d)
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", len(points)/d, d)
	// magic (6) + version (2) + header length (2) + header, padded with spaces to a
	// multiple of 64 and ended by a newline
	pad := 64 - (10+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header += strings.Repeat(" ", pad) + "\n"
	return writeFileAtomic(path, func(f *os.File) error {
		w := bufio.NewWriter(f)
		w.WriteString("\x93NUMPY\x01\x00")
		binary.Write(w, binary.LittleEndian, uint16(len(header)))
		w.WriteString(header)
		buf := make([]byte, 4)
		for _, v := range points {
			binary.LittleEndian.PutUint32(buf, math.Float32bits(v))
			w.Write(buf)
		}
		return w.Flush()
	})
}

// SaveCSV writes points as CSV rows of d values, after a header line "# x0,x1,…":
// commented out, so that numpy.loadtxt(path, delimiter=",") reads the file as it is
// (pandas: read_csv(path, comment="#", header=None)).
func SaveCSV(path string, points []float32, d int) error {
	if d < 1 || len(points)%d != 0 {
		return fmt.Errorf("csv: %d values are not rows of %d", len(points), d)
	}
	return writeFileAtomic(path, func(f *os.File) error {
		w := bufio.NewWriter(f)
		w.WriteString("# ")
		for j := 0; j < d; j++ {
			if j > 0 {
				w.WriteByte(',')
			}
			fmt.Fprintf(w, "x%d", j)
		}
		w.WriteByte('\n')
		for i := 0; i < len(points); i += d {
			for j := 0; j < d; j++ {
				if j > 0 {
					w.WriteByte(',')
				}
				w.WriteString(strconv.FormatFloat(float64(points[i+j]), 'g', -1, 32))
			}
			w.WriteByte('\n')
		}
		return w.Flush()
	})
}

// writeFileAtomic is the package's name for the one atomic writer: readers never
// see a partial file, a crash leaves no torn one.
var writeFileAtomic = atomicfile.WriteFunc
