// Command sample draws samples from a trained generator.
//
//	go run ./cmd/sample -checkpoint checkpoints/mnist -n 64 -out grid.png
//
// -checkpoint is a run directory (its newest readable checkpoint), a checkpoint file,
// or a generator.params file. The output's extension chooses the format: .png (an
// image grid, or a scatter plot for 2-D data), .npy (an n×d float32 array) or .csv (n
// rows of d values after a header line "# x0,x1,…" that numpy.loadtxt(FILE,
// delimiter=",") skips as a comment). The directory of -out must exist.
// -interp R draws instead R rows of -steps images each along great-circle paths
// between random latent vectors (a latent interpolation grid). -seed seeds the latent
// draws: the same seed and checkpoint give the same samples. -latent FILE.npy writes
// the latent vectors used, as an n×latent_dim float32 array.
//
// -export model.safetensors writes the generator's parameters in the safetensors
// format with its architecture in the metadata (README: "Export for NumPy and
// PyTorch"); samples are then written only if -out is given too.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/sinkgen/sinkgen/internal/safetensors"
	"github.com/sinkgen/sinkgen/models"
	"github.com/sinkgen/sinkgen/train"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ckpt := fs.String("checkpoint", "", "run directory, checkpoint file or generator.params file (required)")
	n := fs.Int("n", 64, "number of samples")
	out := fs.String("out", "samples.png", "output file: .png (grid or 2-D scatter), .npy or .csv")
	seed := fs.Uint64("seed", 1, "seed of the latent draws")
	cols := fs.Int("cols", 0, "columns of an image grid (0: near-square)")
	interp := fs.Int("interp", 0, "draw this many rows of a latent interpolation grid instead of -n samples")
	steps := fs.Int("steps", 10, "images per interpolation row")
	latent := fs.String("latent", "", "also write the latent vectors to this .npy file")
	export := fs.String("export", "", "write the generator's parameters to this .safetensors file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *ckpt == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: sample -checkpoint RUN_DIR|FILE [-n 64] [-out samples.png|.npy|.csv] [-seed 1] [-interp ROWS -steps 10] [-latent z.npy] [-export model.safetensors]")
		return 2
	}
	if *n < 1 || *n > 1<<20 || *interp < 0 || *steps < 2 || *interp*(*steps) > 1<<16 {
		fmt.Fprintln(stderr, "sample: -n must be in [1, 2^20], -interp ≥ 0, -steps ≥ 2")
		return 2
	}
	outSet := false
	fs.Visit(func(f *flag.Flag) { outSet = outSet || f.Name == "out" })
	if *export != "" {
		if err := exportGenerator(*ckpt, *export, stdout); err != nil {
			fmt.Fprintln(stderr, "sample:", err)
			return 1
		}
		if !outSet {
			return 0
		}
	}
	if *latent != "" && !strings.EqualFold(filepath.Ext(*latent), ".npy") {
		fmt.Fprintf(stderr, "sample: -latent %s: want a .npy file\n", *latent)
		return 2
	}
	if err := sample(*ckpt, *out, *latent, *n, *seed, *cols, *interp, *steps, stdout); err != nil {
		fmt.Fprintln(stderr, "sample:", err)
		return 1
	}
	return 0
}

func sample(ckpt, out, latent string, n int, seed uint64, cols, interp, steps int, stdout io.Writer) error {
	gen, from, err := loadGenerator(ckpt, stdout)
	if err != nil {
		return err
	}
	spec := gen.Spec()
	ext := strings.ToLower(filepath.Ext(out))
	switch ext {
	case ".png", ".npy", ".csv":
	default:
		return fmt.Errorf("-out %s: unknown format %q (want .png, .npy or .csv)", out, ext)
	}
	rng := rand.New(rand.NewPCG(seed, 0x73616d706c65))
	var z []float32
	if interp > 0 {
		if spec.Image[0] == 0 && ext == ".png" {
			return fmt.Errorf("-interp: a PNG interpolation grid needs an image generator (this one makes %d-D points); use .npy or .csv", spec.OutDim)
		}
		z = interpolationGrid(rng, interp, steps, spec.LatentDim)
		n, cols = interp*steps, steps
	} else {
		z = make([]float32, n*spec.LatentDim)
		models.Latent(rng, z)
	}
	pts, err := generate(gen, z, sampleChunk)
	if err != nil {
		return err
	}
	if latent != "" {
		if err := train.SaveNPY(latent, z, spec.LatentDim); err != nil {
			return err
		}
	}
	switch {
	case ext == ".npy":
		err = train.SaveNPY(out, pts, spec.OutDim)
	case ext == ".csv":
		err = train.SaveCSV(out, pts, spec.OutDim)
	case spec.Image[0] > 0:
		err = train.SaveImageGrid(out, pts, spec.Image, cols)
	case spec.OutDim == 2:
		err = train.SaveScatter(out, fmt.Sprintf("%s of %s", samples(n), filepath.Base(from)), pts, nil)
	default:
		return fmt.Errorf("-out %s: %d-D points are neither images nor 2-D; use .npy or .csv", out, spec.OutDim)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s of %s written to %s\n", samples(n), from, out)
	return nil
}

// samples is "1 sample" or "n samples".
func samples(n int) string {
	if n == 1 {
		return "1 sample"
	}
	return fmt.Sprintf("%d samples", n)
}

// sampleChunk is how many points one pass of the generator makes: 2^20 MNIST points
// in one batch would hold several GB of activations.
const sampleChunk = 1024

// generate maps the latent rows z to points chunk rows at a time, in order, so the
// output is that of one batch (each row's pass is independent of the others).
func generate(gen *models.Generator, z []float32, chunk int) ([]float32, error) {
	spec := gen.Spec()
	n := len(z) / spec.LatentDim
	pts := make([]float32, n*spec.OutDim)
	var s *models.Sampler
	defer func() {
		if s != nil {
			s.Close()
		}
	}()
	for i := 0; i < n; i += chunk {
		k := min(chunk, n-i)
		if i == 0 || k < chunk { // the first chunk, and a shorter last one
			if s != nil {
				s.Close()
			}
			var err error
			if s, err = gen.NewSampler(k); err != nil {
				return nil, err
			}
		}
		if _, err := s.GenerateInto(pts[i*spec.OutDim:(i+k)*spec.OutDim], z[i*spec.LatentDim:(i+k)*spec.LatentDim]); err != nil {
			return nil, err
		}
	}
	return pts, nil
}

// loadGenerator reads a generator from a run directory, checkpoint or params file.
func loadGenerator(path string, stdout io.Writer) (*models.Generator, string, error) {
	if st, err := os.Stat(path); err == nil && !st.IsDir() && strings.HasSuffix(path, ".params") {
		g, err := models.Load(path)
		return g, path, err
	}
	c, err := train.FindCheckpoint(path, func(w string) { fmt.Fprintln(stdout, "warning:", w) })
	if err != nil {
		return nil, "", err
	}
	g, err := c.Generator()
	if err != nil {
		return nil, "", err
	}
	return g, fmt.Sprintf("%s (step %d)", c.Path, c.Step), nil
}

// exportGenerator writes the generator of ckpt to path in the safetensors format: its
// parameters by their names (dense layers: w in×out, y = x·w + b; convolutions: w
// out×in×k×k, PyTorch's Conv2d layout) and its Spec in the metadata, as JSON
// ("spec") and key by key, every value a string.
func exportGenerator(ckpt, path string, stdout io.Writer) error {
	if !strings.EqualFold(filepath.Ext(path), ".safetensors") {
		return fmt.Errorf("-export %s: want a .safetensors file", path)
	}
	gen, from, err := loadGenerator(ckpt, stdout)
	if err != nil {
		return err
	}
	spec := gen.Spec()
	js, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	var fields map[string]any
	if err := json.Unmarshal(js, &fields); err != nil {
		return err
	}
	meta := map[string]string{"format": "pt", "framework": "sinkgen", "spec": string(js)}
	for k, v := range fields {
		b, _ := json.Marshal(v)
		meta[k] = strings.Trim(string(b), `"`)
	}
	var ts []safetensors.Tensor
	for _, p := range gen.Params() {
		ts = append(ts, safetensors.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data()})
	}
	if err := safetensors.WriteFile(path, ts, meta); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the %s generator of %s (%d parameters) exported to %s\n", spec.Kind, from, gen.NumParams(), path)
	return nil
}

// interpolationGrid returns rows·steps latent vectors: row r runs along the great
// circle from one random z to another (spherical interpolation keeps the norm typical
// of N(0, I) in between, where a straight line would pass near the origin).
func interpolationGrid(rng *rand.Rand, rows, steps, k int) []float32 {
	z := make([]float32, rows*steps*k)
	a, b := make([]float32, k), make([]float32, k)
	for r := 0; r < rows; r++ {
		models.Latent(rng, a)
		models.Latent(rng, b)
		var dot, na, nb float64
		for i := range a {
			dot += float64(a[i]) * float64(b[i])
			na += float64(a[i]) * float64(a[i])
			nb += float64(b[i]) * float64(b[i])
		}
		omega := math.Acos(math.Max(-1, math.Min(1, dot/math.Sqrt(na*nb))))
		for s := 0; s < steps; s++ {
			t := float64(s) / float64(steps-1)
			wa, wb := 1-t, t
			if so := math.Sin(omega); so > 1e-6 {
				wa, wb = math.Sin((1-t)*omega)/so, math.Sin(t*omega)/so
			}
			row := z[(r*steps+s)*k : (r*steps+s+1)*k]
			for i := range row {
				row[i] = float32(wa*float64(a[i]) + wb*float64(b[i]))
			}
		}
	}
	return z
}
