// Command wbary draws Wasserstein barycenters of MNIST digits as PNG files:
//
//	go run ./cmd/wbary [-out DIR] [-digits 0,2,3,5] [-n 4] [-eps 0.0015] [-dict 6] [-targets 2,3,4,7] [-L 40]
//
// It writes three figures into DIR (default wbary-out):
//
//   - barycenters.png: for each digit of -digits, -n test images of that digit, their
//     Euclidean mean and their entropic Wasserstein barycenter (ot.Barycenter on the
//     28×28 grid, separable kernel; Cuturi & Doucet 2014, Benamou et al. 2015).
//   - interpolation.png: from the first to the second of -digits images, the Euclidean
//     interpolation (1−t)a + tb against the Wasserstein one, the barycenter with
//     weights (1−t, t) (displacement interpolation).
//   - projection.png: the figure of slide 75 of the seed talk (Bonneel, Peyré, Cuturi,
//     "Wasserstein barycentric coordinates", SIGGRAPH 2016): for each digit of
//     -targets, an original test image, its Euclidean projection onto the convex hull
//     of a dictionary of -dict other images of the same digit (least squares over the
//     simplex) and its Wasserstein projection (ot.BarycentricCoordinates: the
//     barycenter P(λ) with λ minimizing ‖P(λ) − h‖²), followed by the dictionary.
//
// Images are normalized to histograms (mass 1) on the grid spanning the unit square
// (cost |x−y|², as POT's convolutional_barycenter2d); -eps is ε in those units (one
// pixel is 1/27, so ε = 0.0015 is a blur of about one pixel). Each tile is scaled to
// its own maximum, dark on white. MNIST comes from the GoMNIST module in the module
// cache unless -mnist names a directory with the idx files.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/gonum/floats"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/atomicfile"
	"github.com/sinkgen/sinkgen/internal/cli"
	"github.com/sinkgen/sinkgen/internal/progress"
	"github.com/sinkgen/sinkgen/ot"
)

func main() {
	os.Exit(cli.Status("wbary", run(os.Args[1:], os.Stderr), os.Stderr))
}

// config is the command line.
type config struct {
	out, mnist      string
	digits, targets []int
	n, dict, L      int
	eps             float64
	loss            ot.CoordinatesLoss
	seed            uint64
	scale           int
	progress        io.Writer // stderr, nil with -q
}

func parse(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("wbary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.StringVar(&c.out, "out", "wbary-out", "output directory for the PNG files")
	fs.StringVar(&c.mnist, "mnist", "", "directory with the MNIST idx files (default: the GoMNIST module in the module cache)")
	digits := fs.String("digits", "0,2,3,5", "digits for barycenters.png (the first two also for interpolation.png)")
	targets := fs.String("targets", "2,3,4,7", "digits projected in projection.png")
	fs.IntVar(&c.n, "n", 4, "images per digit in barycenters.png")
	fs.IntVar(&c.dict, "dict", 6, "dictionary size in projection.png")
	fs.IntVar(&c.L, "L", 40, "unrolled Bregman iterations of the barycentric coordinates")
	fs.Float64Var(&c.eps, "eps", 0.0015, "entropic regularization ε (grid on the unit square, cost |x−y|²)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed for the choice of images")
	loss := fs.String("loss", "l2", "loss of the Wasserstein projection: l2 (½‖P−h‖²) or kl (KL(h|P))")
	fs.IntVar(&c.scale, "scale", 3, "pixels per MNIST pixel in the PNG files")
	quiet := fs.Bool("q", false, "no progress report")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if !*quiet {
		c.progress = stderr
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch *loss {
	case "l2":
		c.loss = ot.L2Loss
	case "kl":
		c.loss = ot.KLLoss
	default:
		return nil, fmt.Errorf("-loss: %q is neither l2 nor kl", *loss)
	}
	var err error
	if c.digits, err = parseDigits("-digits", *digits); err != nil {
		return nil, err
	}
	if c.targets, err = parseDigits("-targets", *targets); err != nil {
		return nil, err
	}
	switch {
	case len(c.digits) < 2:
		return nil, fmt.Errorf("-digits: need at least two digits")
	case c.n < 1 || c.dict < 1 || c.L < 1 || c.scale < 1:
		return nil, fmt.Errorf("-n, -dict, -L and -scale must be positive")
	case !(c.eps > 0) || math.IsInf(c.eps, 0):
		return nil, fmt.Errorf("-eps must be positive and finite")
	}
	return c, nil
}

func parseDigits(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || d < 0 || d > 9 {
			return nil, fmt.Errorf("%s: %q is not a digit 0–9", flagName, f)
		}
		out = append(out, d)
	}
	return out, nil
}

func run(args []string, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	m, err := data.LoadMNIST(c.mnist)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	p := &picker{set: &m.Test, rng: rand.New(rand.NewPCG(c.seed, 0x6b))}
	grid := ot.Grid{Rows: data.MNISTRows, Cols: data.MNISTCols}
	if err := barycenters(c, p, grid, stderr); err != nil {
		return err
	}
	if err := interpolation(c, p, grid, stderr); err != nil {
		return err
	}
	return projection(c, p, grid, stderr)
}

// picker draws distinct test images of a digit as histograms.
type picker struct {
	set  *data.MNISTSet
	rng  *rand.Rand
	used map[int]bool
}

func (p *picker) draw(digit, k int) ([][]float64, error) {
	if p.used == nil {
		p.used = map[int]bool{}
	}
	var idx []int
	for i, l := range p.set.Labels {
		if int(l) == digit && !p.used[i] {
			idx = append(idx, i)
		}
	}
	if len(idx) < k {
		return nil, fmt.Errorf("only %d unused test images of digit %d", len(idx), digit)
	}
	p.rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	var out [][]float64
	for _, i := range idx[:k] {
		p.used[i] = true
		h := make([]float64, data.MNISTPixels)
		for j, v := range p.set.Image(i) {
			h[j] = float64(v)
		}
		floats.Scale(1/floats.Sum(h), h)
		out = append(out, h)
	}
	return out, nil
}

func euclideanMean(hists [][]float64, lambda []float64) []float64 {
	out := make([]float64, len(hists[0]))
	for k, h := range hists {
		floats.AddScaled(out, lambda[k], h)
	}
	return out
}

func barycenters(c *config, p *picker, grid ot.Grid, stderr io.Writer) error {
	fig := &figure{scale: c.scale, header: append(make([]string, c.n), "Euclidean", "Wasserstein")}
	fig.header[0] = fmt.Sprintf("%d test images", c.n)
	bar := progress.New(c.progress, "barycenters", len(c.digits))
	var notes []string
	for _, d := range c.digits {
		hists, err := p.draw(d, c.n)
		if err != nil {
			return err
		}
		t := time.Now()
		res, err := ot.Barycenter(hists, grid, c.eps, nil, nil)
		if err != nil {
			return err
		}
		notes = append(notes, fmt.Sprintf("digit %d: Wasserstein barycenter of %d images in %d iterations (%s, %v, converged %v)",
			d, c.n, res.Iterations, res.Method, time.Since(t).Round(time.Millisecond), res.Converged))
		fig.rows = append(fig.rows, append(hists, euclideanMean(hists, ot.Uniform(c.n)), res.Barycenter))
		bar.Add(1)
	}
	bar.Finish()
	printNotes(stderr, notes)
	return fig.save(filepath.Join(c.out, "barycenters.png"), stderr)
}

func interpolation(c *config, p *picker, grid ot.Grid, stderr io.Writer) error {
	a, err := p.draw(c.digits[0], 1)
	if err != nil {
		return err
	}
	b, err := p.draw(c.digits[1], 1)
	if err != nil {
		return err
	}
	pair := [][]float64{a[0], b[0]}
	const steps = 7
	fig := &figure{scale: c.scale, rowLabels: []string{"Euclidean", "Wasserstein"}}
	var eu, wa [][]float64
	bar := progress.New(c.progress, "interpolation", steps)
	for s := 0; s < steps; s++ {
		t := float64(s) / (steps - 1)
		lam := []float64{1 - t, t}
		fig.header = append(fig.header, fmt.Sprintf("t=%.2f", t))
		eu = append(eu, euclideanMean(pair, lam))
		res, err := ot.Barycenter(pair, grid, c.eps, lam, nil)
		if err != nil {
			return err
		}
		wa = append(wa, res.Barycenter)
		bar.Add(1)
	}
	bar.Finish()
	fig.rows = [][][]float64{eu, wa}
	return fig.save(filepath.Join(c.out, "interpolation.png"), stderr)
}

func projection(c *config, p *picker, grid ot.Grid, stderr io.Writer) error {
	fig := &figure{scale: c.scale, header: []string{"original", "Euclidean", "Wasserstein", "dictionary"}}
	bar := progress.New(c.progress, "projections", len(c.targets))
	var notes []string
	for _, d := range c.targets {
		target, err := p.draw(d, 1)
		if err != nil {
			return err
		}
		dict, err := p.draw(d, c.dict)
		if err != nil {
			return err
		}
		h := target[0]
		lamE := simplexLeastSquares(dict, h)
		t := time.Now()
		res, err := ot.BarycentricCoordinates(dict, h, grid, c.eps, &ot.CoordinatesOptions{Iterations: c.L, Loss: c.loss})
		if err != nil {
			return fmt.Errorf("digit %d: %w", d, err)
		}
		eu := euclideanMean(dict, lamE)
		notes = append(notes, fmt.Sprintf("digit %d: Euclidean λ %.3f (‖P−h‖ %.4g); Wasserstein λ %.3f (‖P−h‖ %.4g, %d L-BFGS iterations, %v, converged %v)",
			d, lamE, dist(eu, h), res.Lambda, dist(res.Barycenter, h), res.Iterations, time.Since(t).Round(time.Millisecond), res.Converged))
		fig.rows = append(fig.rows, append([][]float64{h, eu, res.Barycenter}, dict...))
		bar.Add(1)
	}
	bar.Finish()
	printNotes(stderr, notes)
	return fig.save(filepath.Join(c.out, "projection.png"), stderr)
}

// printNotes prints what a loop found once its progress bar is done.
func printNotes(w io.Writer, notes []string) {
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
}

func dist(a, b []float64) float64 { return floats.Distance(a, b, 2) }

// simplexLeastSquares returns argmin_{λ ∈ simplex} ‖Σ_k λ_k d_k − h‖² by accelerated
// projected gradient (FISTA, Beck & Teboulle 2009) with the exact Euclidean projection
// onto the simplex (Duchi et al., ICML 2008): the Euclidean projection of h onto the
// convex hull of the dictionary.
func simplexLeastSquares(dict [][]float64, h []float64) []float64 {
	K := len(dict)
	G := make([]float64, K*K) // Gram matrix
	r := make([]float64, K)   // ⟨d_k, h⟩
	for i := range dict {
		r[i] = floats.Dot(dict[i], h)
		for j := range dict {
			G[i*K+j] = floats.Dot(dict[i], dict[j])
		}
	}
	L := 0.0 // a bound on the largest eigenvalue of G: its largest row sum
	for i := 0; i < K; i++ {
		L = math.Max(L, floats.Norm(G[i*K:(i+1)*K], 1))
	}
	lam := ot.Uniform(K)
	y, prev, grad := append([]float64(nil), lam...), make([]float64, K), make([]float64, K)
	tk := 1.0
	for it := 0; it < 20000; it++ {
		for i := range grad {
			grad[i] = floats.Dot(G[i*K:(i+1)*K], y) - r[i]
		}
		copy(prev, lam)
		for i := range lam {
			lam[i] = y[i] - grad[i]/L
		}
		projectSimplex(lam)
		tNext := (1 + math.Sqrt(1+4*tk*tk)) / 2
		for i := range y {
			y[i] = lam[i] + (tk-1)/tNext*(lam[i]-prev[i])
		}
		tk = tNext
		if floats.Distance(lam, prev, math.Inf(1)) < 1e-12 {
			break
		}
	}
	return lam
}

// projectSimplex replaces v by its Euclidean projection onto the probability simplex.
func projectSimplex(v []float64) {
	u := append([]float64(nil), v...)
	// Sort descending (K is small).
	for i := 1; i < len(u); i++ {
		for j := i; j > 0 && u[j] > u[j-1]; j-- {
			u[j], u[j-1] = u[j-1], u[j]
		}
	}
	css, theta := 0.0, 0.0
	for i, x := range u {
		css += x
		if t := (css - 1) / float64(i+1); x-t > 0 {
			theta = t
		}
	}
	for i := range v {
		v[i] = math.Max(v[i]-theta, 0)
	}
}

// figure is a table of 28×28 histograms drawn as tiles, with an optional header row
// of column labels and labels at the start of each row.
type figure struct {
	scale     int
	header    []string
	rowLabels []string
	rows      [][][]float64
}

const (
	pad     = 6
	lineH   = 16
	labelW  = 90
	tileRaw = 28
)

func (f *figure) save(path string, stderr io.Writer) error {
	cols := 0
	for _, r := range f.rows {
		cols = max(cols, len(r))
	}
	tile := tileRaw * f.scale
	left := pad
	if f.rowLabels != nil {
		left += labelW
	}
	top := pad
	if f.header != nil {
		top += lineH
	}
	W := left + cols*(tile+pad)
	H := top + len(f.rows)*(tile+pad)
	img := image.NewGray(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	face := basicfont.Face7x13
	text := func(s string, x, y int) {
		d := &font.Drawer{Dst: img, Src: image.Black, Face: face, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	for j, h := range f.header {
		text(h, left+j*(tile+pad), pad+11)
	}
	for i, row := range f.rows {
		y0 := top + i*(tile+pad)
		if i < len(f.rowLabels) {
			text(f.rowLabels[i], pad, y0+tile/2)
		}
		for j, hist := range row {
			x0 := left + j*(tile+pad)
			mx := floats.Max(hist)
			for p, v := range hist {
				g := uint8(255)
				if mx > 0 {
					g = uint8(math.Round(255 * (1 - math.Max(0, v)/mx)))
				}
				r, c := p/tileRaw, p%tileRaw
				for dy := 0; dy < f.scale; dy++ {
					for dx := 0; dx < f.scale; dx++ {
						img.SetGray(x0+c*f.scale+dx, y0+r*f.scale+dy, color.Gray{Y: g})
					}
				}
			}
		}
	}
	if err := atomicfile.WriteFunc(path, func(f *os.File) error { return png.Encode(f, img) }); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "wrote", path)
	return nil
}
