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
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sinkgen/sinkgen/internal/atomicfile"
)

// SaveImageGrid writes points as a PNG grid of images (ImageGrid).
func SaveImageGrid(path string, points []float32, shape [3]int, cols int) error {
	img, err := ImageGrid(points, shape, cols)
	if err != nil {
		return err
	}
	return atomicfile.WriteFunc(path, func(f *os.File) error { return png.Encode(f, img) })
}

// ImageGrid lays points (rows of c·h·w intensities in [0,1], channel-major) out as a
// grid of images with cols columns (0: a near-square grid), one grey pixel of border
// between images. Values outside [0,1] are clamped, NaN is black.
func ImageGrid(points []float32, shape [3]int, cols int) (*image.RGBA, error) {
	c, h, w := shape[0], shape[1], shape[2]
	d := c * h * w
	if d == 0 || len(points)%d != 0 || len(points) == 0 {
		return nil, fmt.Errorf("image grid: %d values are not whole %d×%d×%d images", len(points), c, h, w)
	}
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("image grid: %d channels, want 1 or 3", c)
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
	return img, nil
}

// SaveScatter writes a scatter plot of 2-D points (Scatter) as a PNG.
func SaveScatter(path, title string, generated, reference []float32) error {
	p, err := Scatter(title, generated, reference)
	if err != nil {
		return err
	}
	return SavePlots(path, []*plot.Plot{p}, 1, 5*vg.Inch, 5*vg.Inch)
}

// Scatter plots 2-D points (rows of two values: generated, in colour) over a
// reference set (data, in grey; may be nil). Points with a NaN or infinite coordinate
// are left out, and counted in the title.
func Scatter(title string, generated, reference []float32) (*plot.Plot, error) {
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
		return nil, err
	}
	if err := add(generated, color.RGBA{200, 40, 40, 255}, vg.Points(1.5), "generated"); err != nil {
		return nil, err
	}
	p.Title.Text = title
	if skipped > 0 {
		p.Title.Text += fmt.Sprintf(" (%d points not finite, not drawn)", skipped)
	}
	p.Legend.Top = true
	return p, nil
}

// Curve is a series of values by step (a column of metrics.csv), drawn as its running
// mean over Window steps (1: as it is), in Color (nil: the next of a palette).
type Curve struct {
	Label         string
	Steps, Values []float64
	Window        int
	Color         color.Color
}

var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
}

// CurvesPlot draws curves against the step, on a logarithmic y axis when every
// finite value is positive and they span more than two decades (so that at least two
// powers of ten are labelled). NaN and infinite values are left out of the running
// means.
func CurvesPlot(title, ylabel string, curves []Curve) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = "step", ylabel
	positive := true
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		for _, v := range c.Values {
			if finite(v) {
				positive = positive && v > 0
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if positive = positive && hi > 100*lo; positive {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	p.Add(plotter.NewGrid())
	for i, c := range curves {
		xy := runningMean(c.Steps, c.Values, max(1, c.Window))
		if positive { // a mean may underflow to 0
			xy = slices.DeleteFunc(xy, func(q plotter.XY) bool { return !(q.Y > 0) })
		}
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = c.Color, vg.Points(1)
		if l.Color == nil {
			l.Color = palette[i%len(palette)]
		}
		p.Add(l)
		p.Legend.Add(c.Label, l)
	}
	p.Legend.Top = true
	return p, nil
}

// runningMean is the mean of the last window finite values at each step, computed
// without overflow whatever the values (a sum of value/window).
func runningMean(steps, vals []float64, window int) plotter.XYs {
	w := float64(window)
	xy := make(plotter.XYs, 0, len(steps))
	var last []float64 // the finite values so far
	sum := 0.0
	for i := range steps {
		if !finite(vals[i]) {
			continue
		}
		last = append(last, vals[i])
		sum += vals[i] / w
		if len(last) > window {
			sum -= last[len(last)-1-window] / w
		}
		if m := sum / float64(min(len(last), window)) * w; finite(m) {
			xy = append(xy, plotter.XY{X: steps[i], Y: m})
		}
	}
	return xy
}

// SavePlots draws plots as one PNG, perRow a row, each w×h: every plot of the
// project goes through it. fitAxes makes any finite data drawable; a panic of the
// plotting library that remains is returned as an error naming the file.
func SavePlots(path string, plots []*plot.Plot, perRow int, w, h vg.Length) (err error) {
	if len(plots) == 0 || perRow < 1 {
		return fmt.Errorf("drawing %s: no plots", path)
	}
	for _, p := range plots {
		fitAxes(p)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing %s: %v", path, r)
		}
	}()
	cols := min(perRow, len(plots))
	rows := (len(plots) + perRow - 1) / perRow
	img := vgimg.New(vg.Length(cols)*w, vg.Length(rows)*h)
	dc := draw.New(img)
	if len(plots) == 1 {
		plots[0].Draw(dc)
	} else {
		grid := make([][]*plot.Plot, rows)
		for r := range grid {
			grid[r] = make([]*plot.Plot, cols)
			for c := range grid[r] {
				if i := r*cols + c; i < len(plots) {
					grid[r][c] = plots[i]
				}
			}
		}
		t := draw.Tiles{Rows: rows, Cols: cols, PadTop: vg.Points(4), PadBottom: vg.Points(4),
			PadLeft: vg.Points(4), PadRight: vg.Points(4), PadX: vg.Points(6), PadY: vg.Points(6)}
		canvases := plot.Align(grid, t, dc)
		for i, p := range plots {
			p.Draw(canvases[i/cols][i%cols])
		}
	}
	return atomicfile.WriteFunc(path, func(f *os.File) error {
		_, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f)
		return err
	})
}

// fitAxes sets ranges on p's axes that gonum/plot can draw whatever the data:
// it panics on a range it cannot put tick marks on ("illegal range": a constant
// series at 1e16, where Min−1 == Max+1 in float64; a logarithmic axis over a
// non-positive or degenerate range) and loops on a range wider than a float64 spans.
// Call it after the last Add, before drawing.
func fitAxes(p *plot.Plot) {
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
	return atomicfile.WriteFunc(path, func(f *os.File) error {
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
	return atomicfile.WriteFunc(path, func(f *os.File) error {
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
