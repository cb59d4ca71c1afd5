package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"strings"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/sinkgen/sinkgen/train"
)

// asciiLabel spells ε, ∞, × and the like out for the bitmap font of the image grids.
func asciiLabel(s string) string {
	r := strings.NewReplacer("ε", "eps", "∞", "inf", "→", "->", "²", "^2", "₂", "2", "−", "-", "·", "*", "×", "x", "ρ", "rho")
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
// images a row, the images of imgs[k] row-major 784 intensities each, as
// train.ImageGrid lays them out) under its name, perRow blocks a row, magnified by
// scale.
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
		block := image.Rect(bx, oy, bx+bw*scale, oy+bh*scale)
		draw.Draw(img, block, image.NewUniform(color.RGBA{60, 60, 60, 255}), image.Point{}, draw.Src)
		if len(imgs[k]) == 0 {
			continue
		}
		grid, err := train.ImageGrid(imgs[k], [3]int{1, side, side}, cols)
		if err != nil {
			return err
		}
		b := grid.Bounds()
		xdraw.NearestNeighbor.Scale(img, image.Rect(bx, oy, bx+b.Dx()*scale, oy+b.Dy()*scale), grid, b, draw.Src, nil)
	}
	return writeFile(path, func(w io.Writer) error { return png.Encode(w, img) })
}
