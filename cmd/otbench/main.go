// Command otbench times the project's OT workloads and prints one JSON object a line,
// in the schema of ../shared/bench/reference.py ({"bench", "impl", "ms", sizes…}), so
// that both can run in one command on one machine and be divided row by row:
//
//	go run ./cmd/otbench -threads 2 > go.jsonl && python3 ../shared/bench/reference.py --threads 2 > ref.jsonl
//
// Workloads: exact_points (exact OT between n uniform points in [0,1]², n = 256, 1024,
// 2048) and seedplot (Cuturi 2013, slide 47 of the seed talk: histograms uniform on the
// simplex over dim random points, Euclidean cost over its median, exact OT against
// Sinkhorn at γ = 0.02 and 0.1 with marginal tolerance 1e-2). With -plot FILE.png it
// draws the seedplot as time against dimension (log–log), adding the reference's rows
// when -ref names its JSONL output.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/atomicfile"
	"github.com/sinkgen/sinkgen/internal/cli"
	"github.com/sinkgen/sinkgen/internal/process"
	"github.com/sinkgen/sinkgen/internal/progress"
	"github.com/sinkgen/sinkgen/ot"
)

// row is one output line.
type row map[string]any

func main() {
	os.Exit(cli.Status("otbench", run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("otbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	threads := fs.Int("threads", 2, "CPU threads (GOMAXPROCS)")
	only := fs.String("only", "exact,seedplot,divergence", "comma-separated workloads: exact, seedplot, divergence, barycenter, train")
	mnist := fs.String("mnist", "module", "MNIST idx directory for the divergence workload; \"module\": the GoMNIST module's copy; empty: uniform noise, as reference.py without --mnist")
	reps := fs.Int("reps", 5, "timed repetitions per Sinkhorn case (median reported)")
	maxDim := fs.Int("maxdim", 4096, "largest seedplot dimension")
	plotFile := fs.String("plot", "", "draw the seedplot figure to this PNG file")
	refFile := fs.String("ref", "", "reference.py JSONL output to add to the plot")
	dumpFile := fs.String("dump", "", "write the seedplot instances (points, a, b) as JSON, for bench/seedplot_same.py")
	quiet := fs.Bool("q", false, "no progress report on standard error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	bars := stderr // progress: a bar on a terminal, plain lines otherwise
	if *quiet {
		bars = nil
	}
	if *threads < 1 || *reps < 1 {
		return fmt.Errorf("-threads and -reps must be positive")
	}
	process.Setup(*threads)
	want := map[string]bool{}
	for _, w := range strings.Split(*only, ",") {
		switch w = strings.TrimSpace(w); w {
		case "exact", "seedplot", "divergence", "barycenter", "train":
			want[w] = true
		default:
			return fmt.Errorf("-only: unknown workload %q (want exact, seedplot, divergence, barycenter, train)", w)
		}
	}
	ref, err := readRows(*refFile) // before the long runs, so a bad path fails fast
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	var rows []row
	emit := func(r row) error {
		rows = append(rows, r)
		return enc.Encode(r)
	}
	if want["exact"] {
		if err := benchExact(emit, bars); err != nil {
			return err
		}
	}
	if want["seedplot"] {
		instances, err := benchSeedplot(emit, bars, *reps, *maxDim)
		if err != nil {
			return err
		}
		if *dumpFile != "" {
			if err := writeJSON(*dumpFile, instances); err != nil {
				return err
			}
		}
	}
	if want["divergence"] {
		pool, err := loadPool(*mnist, 2048)
		if err != nil {
			return err
		}
		if err := benchDivergence(emit, bars, *reps, pool); err != nil {
			return err
		}
	}
	if want["barycenter"] { // opt-in; see barycenter.go and bench/barycenter.py
		if err := benchBarycenter(emit, bars, *reps); err != nil {
			return err
		}
	}
	if want["train"] { // see train.go
		pool, err := loadPool(*mnist, 2048)
		if err != nil {
			return err
		}
		if err := benchTrain(emit, bars, *reps, pool); err != nil {
			return err
		}
	}
	if *plotFile != "" {
		return plotSeed(*plotFile, append(rows, ref...))
	}
	return nil
}

// medianMs runs fn once to warm up, then reps times, and returns the median in ms.
func medianMs(reps int, fn func() error) (float64, error) {
	if err := fn(); err != nil {
		return 0, err
	}
	ts := make([]float64, reps)
	for i := range ts {
		t := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ts[i] = float64(time.Since(t).Microseconds()) / 1000
	}
	slices.Sort(ts)
	return ts[reps/2], nil
}

func uniformPoints(rng *rand.Rand, n int) *mat.Dense {
	x := mat.NewDense(n, 2, nil)
	for i := 0; i < n; i++ {
		x.Set(i, 0, rng.Float64())
		x.Set(i, 1, rng.Float64())
	}
	return x
}

func benchExact(emit func(row) error, bars io.Writer) error {
	rng := rand.New(rand.NewPCG(0, 0))
	sizes := []int{256, 1024, 2048}
	bar := progress.New(bars, "exact_points", len(sizes))
	defer bar.Finish()
	for _, n := range sizes {
		x, y := uniformPoints(rng, n), uniformPoints(rng, n)
		C, err := ot.SqEuclidean.Matrix(x, y)
		if err != nil {
			return err
		}
		var cost float64
		ms, err := medianMs(3, func() error {
			r, err := ot.Exact(nil, nil, C, nil)
			if err == nil {
				cost = r.Cost
			}
			return err
		})
		if err != nil {
			return err
		}
		if err := emit(row{"bench": "exact_points", "impl": "go-exact", "n": n, "d": 2, "ms": ms, "cost": cost}); err != nil {
			return err
		}
		bar.Add(1)
	}
	return nil
}

// seedInstance is one seedplot problem as written by -dump.
type seedInstance struct {
	Dim  int          `json:"dim"`
	Pts  [][2]float64 `json:"pts"`
	A, B []float64
}

// seedProblem draws the slide-47 problem: dim random points in [0,1]², Euclidean cost
// divided by its median, and two histograms uniform on the simplex (Dirichlet(1)).
func seedProblem(rng *rand.Rand, dim int) (inst seedInstance, C *mat.Dense, err error) {
	pts := uniformPoints(rng, dim)
	if C, err = ot.Euclidean.Matrix(pts, pts); err != nil {
		return inst, nil, err
	}
	vals := slices.Clone(C.RawMatrix().Data)
	slices.Sort(vals)
	med := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		med = (vals[len(vals)/2-1] + med) / 2
	}
	C.Scale(1/med, C)
	inst = seedInstance{Dim: dim, Pts: make([][2]float64, dim), A: dirichlet(rng, dim), B: dirichlet(rng, dim)}
	for i := range inst.Pts {
		inst.Pts[i] = [2]float64{pts.At(i, 0), pts.At(i, 1)}
	}
	return inst, C, nil
}

func dirichlet(rng *rand.Rand, n int) []float64 {
	w := make([]float64, n)
	s := 0.0
	for i := range w {
		w[i] = rng.ExpFloat64()
		s += w[i]
	}
	for i := range w {
		w[i] /= s
	}
	return w
}

// seedTol is the seedplot's Sinkhorn tolerance, POT's stopThr of reference.py: the ℓ2
// norm of the marginal error (the plot's title states the rule).
const seedTol = 1e-2

func benchSeedplot(emit func(row) error, bars io.Writer, reps, maxDim int) ([]seedInstance, error) {
	rng := rand.New(rand.NewPCG(0, 1))
	var dims []int
	for d := 64; d <= maxDim; d *= 2 {
		dims = append(dims, d)
	}
	bar := progress.New(bars, "seedplot", len(dims))
	defer bar.Finish()
	var instances []seedInstance
	for _, dim := range dims {
		inst, C, err := seedProblem(rng, dim)
		if err != nil {
			return nil, err
		}
		instances = append(instances, inst)
		a, b := inst.A, inst.B
		var cost float64
		ms, err := medianMs(1, func() error {
			r, err := ot.Exact(a, b, C, nil)
			if err == nil {
				cost = r.Cost
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if err := emit(row{"bench": "seedplot", "impl": "go-exact", "dim": dim, "ms": ms, "cost": cost}); err != nil {
			return nil, err
		}
		for _, gamma := range []float64{0.02, 0.1} {
			var res *ot.SinkhornResult
			// POT's stopping rule: ℓ2 norm of the marginal error below 1e-2.
			opts := &ot.SinkhornOptions{Method: ot.Stabilized, Tol: seedTol, ErrorNorm: 2}
			ms, err := medianMs(reps, func() error {
				var err error
				res, err = ot.Sinkhorn(a, b, C, gamma, opts)
				return err
			})
			if err != nil {
				return nil, err
			}
			if err := emit(row{"bench": "seedplot", "impl": "go-sinkhorn-stabilized", "dim": dim, "gamma": gamma,
				"ms": ms, "iterations": res.Iterations, "marginal_error": res.MarginalError, "cost": res.LinearCost}); err != nil {
				return nil, err
			}
		}
		bar.Add(1)
	}
	return instances, nil
}

func writeJSON(name string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.Write(name, raw)
}

// readRows reads a JSONL file of rows; an empty name gives none.
func readRows(name string) ([]row, error) {
	if name == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out []row
	for i, line := range strings.Split(string(raw), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var r row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}
