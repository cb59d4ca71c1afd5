package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	pdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sinkgen/sinkgen/train"
)

// asciiLabel spells ε and ∞ out for the bitmap font of the image grids.
func asciiLabel(s string) string {
	r := strings.NewReplacer("ε", "eps", "∞", "inf", "→", "->", "²", "^2", "₂", "2", "−", "-", "·", "*")
	s = r.Replace(s)
	var b strings.Builder
	for _, c := range s {
		if c < 128 {
			b.WriteRune(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// saveImagePanel writes, side by side, one block of 28×28 images per variant (cols
// images a row, the images of imgs[k] row-major 784 intensities each) under its name,
// perRow blocks a row, magnified by scale.
func saveImagePanel(path string, names []string, imgs [][]float32, cols, perRow, scale int) error {
	const side, pad, labelH, gap = 28, 1, 16, 10
	if len(names) != len(imgs) || len(names) == 0 {
		return fmt.Errorf("image panel: %d names for %d blocks", len(names), len(imgs))
	}
	maxN := 0
	for _, im := range imgs {
		maxN = max(maxN, len(im)/(side*side))
	}
	if maxN == 0 {
		return fmt.Errorf("image panel: no images")
	}
	rows := (maxN + cols - 1) / cols
	bw := cols*(side+pad) + pad
	bh := rows*(side+pad) + pad
	blocksPerRow := min(perRow, len(names))
	blockRows := (len(names) + perRow - 1) / perRow
	// Labels get the block's width at least, text permitting.
	W := gap + blocksPerRow*(bw*scale+gap)
	H := gap + blockRows*(labelH+bh*scale+gap)
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	for k, name := range names {
		bx := gap + (k%perRow)*(bw*scale+gap)
		by := gap + (k/perRow)*(labelH+bh*scale+gap)
		d := &font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13,
			Dot: fixed.P(bx, by+12)}
		label := asciiLabel(name)
		for d.MeasureString(label).Ceil() > bw*scale && len(label) > 1 {
			label = label[:len(label)-1]
		}
		d.DrawString(label)
		oy := by + labelH
		draw.Draw(img, image.Rect(bx, oy, bx+bw*scale, oy+bh*scale), image.NewUniform(color.RGBA{60, 60, 60, 255}), image.Point{}, draw.Src)
		n := len(imgs[k]) / (side * side)
		for t := 0; t < n; t++ {
			p := imgs[k][t*side*side : (t+1)*side*side]
			x0 := bx + (pad+(t%cols)*(side+pad))*scale
			y0 := oy + (pad+(t/cols)*(side+pad))*scale
			for i := 0; i < side; i++ {
				for j := 0; j < side; j++ {
					v := float64(p[i*side+j])
					if math.IsNaN(v) {
						v = 0
					}
					g := uint8(math.Round(255 * math.Min(math.Max(v, 0), 1)))
					draw.Draw(img, image.Rect(x0+j*scale, y0+i*scale, x0+(j+1)*scale, y0+(i+1)*scale),
						image.NewUniform(color.RGBA{g, g, g, 255}), image.Point{}, draw.Src)
				}
			}
		}
	}
	return writeFile(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// saveTiles lays the plots out perRow a row, each w×h, and writes a PNG. Axes are
// fitted as train's own plots are (train.FitAxes); a panic of the plotting library
// that remains is returned as an error naming the file.
func saveTiles(path string, plots []*plot.Plot, perRow int, w, h vg.Length) (err error) {
	if len(plots) == 0 {
		return fmt.Errorf("no plots")
	}
	for _, p := range plots {
		train.FitAxes(p)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing %s: %v", path, r)
		}
	}()
	cols := min(perRow, len(plots))
	rows := (len(plots) + perRow - 1) / perRow
	img := vgimg.New(vg.Length(cols)*w, vg.Length(rows)*h)
	dc := pdraw.New(img)
	t := pdraw.Tiles{Rows: rows, Cols: cols, PadTop: vg.Points(4), PadBottom: vg.Points(4),
		PadLeft: vg.Points(4), PadRight: vg.Points(4), PadX: vg.Points(6), PadY: vg.Points(6)}
	canvases := plot.Align(gridOf(plots, rows, cols), t, dc)
	for i, p := range plots {
		p.Draw(canvases[i/cols][i%cols])
	}
	return writeFile(path, func(w io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w)
		return err
	})
}

// gridOf arranges plots row-major in a rows×cols grid, padding with empty plots.
func gridOf(plots []*plot.Plot, rows, cols int) [][]*plot.Plot {
	g := make([][]*plot.Plot, rows)
	for r := range g {
		g[r] = make([]*plot.Plot, cols)
		for c := range g[r] {
			if i := r*cols + c; i < len(plots) {
				g[r][c] = plots[i]
			}
		}
	}
	return g
}

// scatterPlot draws generated 2-D points over reference points.
func scatterPlot(title string, gen, ref []float32, lim float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	add := func(pts []float32, c color.Color) error {
		xy := make(plotter.XYs, 0, len(pts)/2)
		for i := 0; i+1 < len(pts); i += 2 {
			x, y := float64(pts[i]), float64(pts[i+1])
			if !math.IsNaN(x) && !math.IsNaN(y) && !math.IsInf(x, 0) && !math.IsInf(y, 0) { // plotter rejects them
				xy = append(xy, plotter.XY{X: x, Y: y})
			}
		}
		if len(xy) == 0 {
			return nil
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return err
		}
		s.GlyphStyle.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = c, vg.Points(1), pdraw.CircleGlyph{}
		p.Add(s)
		return nil
	}
	if err := add(ref, color.RGBA{170, 170, 170, 255}); err != nil {
		return nil, err
	}
	if err := add(gen, color.RGBA{200, 40, 40, 255}); err != nil {
		return nil, err
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -lim, lim, -lim, lim
	return p, nil
}

// curve is one training curve: loss against step.
type curve struct {
	label       string
	steps, vals []float64
}

var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
}

// curvesPlot draws curves (one colour each) with a logarithmic y axis when every
// value is positive; long curves are smoothed by a running mean over window steps.
func curvesPlot(title, ylabel string, cs []curve, window int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = "step", ylabel
	positive := true
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range cs {
		for _, v := range c.vals {
			if !(v > 0) {
				positive = false
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	// A logarithmic axis when the values are positive and span more than a decade.
	if positive = positive && hi > 10*lo; positive {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	for i, c := range cs {
		xy := make(plotter.XYs, 0, len(c.steps))
		var sum float64
		for k := range c.steps {
			sum += c.vals[k]
			if k >= window {
				sum -= c.vals[k-window]
			}
			v := sum / float64(min(k+1, window))
			if math.IsNaN(v) || math.IsInf(v, 0) || (positive && !(v > 0)) {
				continue
			}
			xy = append(xy, plotter.XY{X: c.steps[k], Y: v})
		}
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1)
		p.Add(l)
		p.Legend.Add(c.label, l)
	}
	p.Legend.Top = true
	return p, nil
}
