package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // registers GIF with image.Decode (the first frame of an animation)
	_ "image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/image/draw"

	"github.com/sinkgen/sinkgen/internal/progress"
)

// ImageOptions says how LoadImages turns a folder of image files into points.
type ImageOptions struct {
	// Size is the (height, width) every image is brought to: scaled with the
	// Catmull-Rom filter so that it covers Size, keeping its aspect ratio, then cropped
	// to Size about its centre. An image already of that size is taken pixel for pixel.
	// Zero: the images' own size, which must then be the same for all.
	Size [2]int
	// Channels is 1 (grey: ITU-R BT.601 luma of the colour) or 3 (RGB). Transparent
	// pixels are composited onto black.
	Channels int
	// Labels takes each image's class from the name of the sub-directory of the folder
	// it is in (classes sorted by name).
	Labels bool
	// SkipBad skips the files that cannot be decoded, counting them (Dataset.Skipped),
	// instead of failing on the first.
	SkipBad bool
	// Progress receives a progress report of the decoding (nil: none).
	Progress io.Writer
}

// Limits of one image file, checked before it is decoded: a 100 MB PNG can announce a
// 10⁵×10⁵ image, and the decoder would allocate 40 GB for it.
const (
	maxImageFile   = 256 << 20
	maxImagePixels = 1 << 26
)

// imageExts are the file extensions LoadImages reads (case-insensitive).
var imageExts = []string{".png", ".jpg", ".jpeg", ".gif"}

// LoadImages reads every PNG, JPEG and GIF file under dir (recursively, in lexical
// order of their paths) as an image of opt.Size and opt.Channels, held as bytes whose
// values are byte/255. An unreadable file is an error naming it unless opt.SkipBad.
func LoadImages(dir string, opt ImageOptions) (*Dataset, error) {
	if opt.Channels != 1 && opt.Channels != 3 {
		return nil, fmt.Errorf("data: images: %d channels, want 1 or 3", opt.Channels)
	}
	var files []string
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() && slices.Contains(imageExts, strings.ToLower(filepath.Ext(path))) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data: images: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("data: images: no PNG, JPEG or GIF file in %s (searched recursively)", dir)
	}
	d := &Dataset{LUT: ScaleLUT(0, 255), Source: "images from " + dir}
	if d.Labels, d.Classes, err = dirLabels(dir, files, opt.Labels); err != nil {
		return nil, err
	}
	h, w := opt.Size[0], opt.Size[1]
	first := 0
	if h == 0 && w == 0 { // the first readable image's size
		for ; first < len(files); first++ {
			cfg, err := imageConfig(files[first])
			if err == nil {
				h, w = cfg.Height, cfg.Width
				break
			}
			if !opt.SkipBad {
				return nil, err
			}
		}
		if first == len(files) {
			return nil, fmt.Errorf("data: images: none of the %d files in %s can be decoded", len(files), dir)
		}
	}
	if err := checkImageShape(opt.Channels, h, w, "images in "+dir); err != nil {
		return nil, err
	}
	c := opt.Channels
	dim := c * h * w
	if int64(len(files))*int64(dim) > maxDataValues {
		return nil, fmt.Errorf("data: images: %d images of %d×%d×%d are more than %d bytes", len(files), c, h, w, int64(maxDataValues))
	}
	pix := make([]uint8, len(files)*dim)
	errs := make([]error, len(files))
	bar := progress.New(opt.Progress, "decoding images", len(files))
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := false
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := failed
				mu.Unlock()
				if i >= len(files) || stop {
					return
				}
				err := loadImage(files[i], pix[i*dim:(i+1)*dim], c, h, w, opt.Size != [2]int{})
				if err != nil {
					errs[i] = err
					if !opt.SkipBad {
						mu.Lock()
						failed = true
						mu.Unlock()
					}
				}
				bar.Add(1)
			}
		}()
	}
	wg.Wait()
	// Keep the good images (and labels) in order; report the first bad file.
	n := 0
	for i, err := range errs {
		if err != nil {
			if !opt.SkipBad {
				bar.Abort()
				return nil, err
			}
			d.Skipped = append(d.Skipped, err.Error())
			continue
		}
		if n != i {
			copy(pix[n*dim:(n+1)*dim], pix[i*dim:(i+1)*dim])
			if d.Labels != nil {
				d.Labels[n] = d.Labels[i]
			}
		}
		n++
	}
	bar.Finish()
	if n == 0 {
		return nil, fmt.Errorf("data: images: none of the %d files in %s can be decoded (the first: %v)", len(files), dir, errs[0])
	}
	d.Pix, d.N, d.Dim, d.Shape = slices.Clip(pix[:n*dim]), n, dim, [3]int{c, h, w}
	if d.Labels != nil {
		d.Labels = d.Labels[:n]
	}
	return d, nil
}

// dirLabels gives each file the class of the sub-directory of dir it is in.
func dirLabels(dir string, files []string, on bool) ([]int, []string, error) {
	if !on {
		return nil, nil, nil
	}
	names := make([]string, len(files))
	for i, f := range files {
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			return nil, nil, fmt.Errorf("data: images: %w", err)
		}
		cls, _, ok := strings.Cut(filepath.ToSlash(rel), "/")
		if !ok {
			return nil, nil, fmt.Errorf("data: images: %s is not in a sub-directory of %s; with labels from directories every image must be in its class's folder", f, dir)
		}
		names[i] = cls
	}
	classes := slices.Compact(slices.Sorted(slices.Values(names)))
	labels := make([]int, len(files))
	for i, n := range names {
		labels[i], _ = slices.BinarySearch(classes, n)
	}
	return labels, classes, nil
}

// readImageFile reads an image file whole, bounded by maxImageFile.
func readImageFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: image %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxImageFile+1))
	if err != nil {
		return nil, fmt.Errorf("data: image %s: %w", path, err)
	}
	if len(b) > maxImageFile {
		return nil, fmt.Errorf("data: image %s: more than %d bytes", path, maxImageFile)
	}
	return b, nil
}

// decodeConfig reads an image's format and size from its header and bounds the size.
func decodeConfig(path string, b []byte) (image.Config, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return cfg, fmt.Errorf("data: image %s: %w", path, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return cfg, fmt.Errorf("data: image %s: %d×%d pixels, want between 1 and %d", path, cfg.Width, cfg.Height, maxImagePixels)
	}
	return cfg, nil
}

func imageConfig(path string) (image.Config, error) {
	b, err := readImageFile(path)
	if err != nil {
		return image.Config{}, err
	}
	return decodeConfig(path, b)
}

// loadImage decodes the image file at path into dst as c×h×w bytes, resized (if
// resize) or required to be h×w.
func loadImage(path string, dst []uint8, c, h, w int, resize bool) error {
	b, err := readImageFile(path)
	if err != nil {
		return err
	}
	if _, err := decodeConfig(path, b); err != nil {
		return err
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("data: image %s: %w", path, err)
	}
	r := img.Bounds()
	if r.Dx() != w || r.Dy() != h {
		if !resize {
			return fmt.Errorf("data: image %s is %d×%d, the first image %d×%d; set data.size = [H, W] to resize them all", path, r.Dy(), r.Dx(), h, w)
		}
		img = coverCrop(img, h, w)
		r = img.Bounds()
	}
	plane := h * w
	gray, _ := img.(*image.Gray)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if c == 1 {
				if gray != nil {
					dst[i] = gray.Pix[gray.PixOffset(r.Min.X+x, r.Min.Y+y)]
				} else {
					dst[i] = color.GrayModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.Gray).Y
				}
				continue
			}
			rr, gg, bb, _ := img.At(r.Min.X+x, r.Min.Y+y).RGBA() // premultiplied: on black
			dst[i], dst[plane+i], dst[2*plane+i] = uint8(rr>>8), uint8(gg>>8), uint8(bb>>8)
		}
	}
	return nil
}

// coverCrop scales img with the Catmull-Rom filter so that it covers h×w, keeping its
// aspect ratio, and crops the result to h×w about the centre (computed the other way
// round: the centred crop of img with h×w's aspect ratio is scaled to h×w).
func coverCrop(img image.Image, h, w int) image.Image {
	r := img.Bounds()
	sw, sh := r.Dx(), r.Dy()
	crop := r
	if sw*h > sh*w { // wider than h×w: keep the full height
		cw := max(1, (sh*w+h/2)/h)
		crop.Min.X += (sw - cw) / 2
		crop.Max.X = crop.Min.X + cw
	} else {
		ch := max(1, (sw*h+w/2)/w)
		crop.Min.Y += (sh - ch) / 2
		crop.Max.Y = crop.Min.Y + ch
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, crop, draw.Src, nil)
	return dst
}
