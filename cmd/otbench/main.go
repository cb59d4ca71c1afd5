// Command otbench times the project's OT workloads and prints one JSON object a line,
// in the schema of ../shared/bench/reference.py ({"bench", "impl", "ms", "ms_min",
// sizes…}: ms the median, ms_min the minimum over the repetitions), so that both can
// run in one command on one machine and be divided row by row (bench/ratios.py;
// bench/side-by-side.sh runs the whole comparison):
//
//	go run ./cmd/otbench -threads 2 > go.jsonl && python3 ../shared/bench/reference.py --threads 2 > ref.jsonl
//
// Workloads: exact_points (exact OT between n uniform points in [0,1]², n = 256, 1024,
// 2048); seedplot (Cuturi 2013, slide 47 of the seed talk: histograms uniform on the
// simplex over dim random points, Euclidean cost over its median, exact OT against
// Sinkhorn at γ = 0.02 and 0.1, to ℓ2 marginal error 1e-2 as POT's stopThr and to ℓ1
// marginal error 1e-6, a converged solve; the rows' tol and norm keys say which);
// divergence (reference.py's unrolled Sinkhorn divergence, float32 on training's
// float32 path and float64; -sizes picks the n); sliced (sliced Wasserstein, 128
// directions, 256 × 784 points, value and gradients, as bench/reference_extra.py);
// unbalanced (the unbalanced divergence n = 256 against the balanced one, same ε,
// data and tolerance, timed interleaved); barycenter and train (opt-in). With
// -plot FILE.png it draws the seedplot as time against dimension (log–log), adding
// the reference's rows when -ref names its JSONL output.
//
// Each row runs once to warm up, then -reps times (default 20); a row whose warm-up
// shows that -reps runs would take longer than -budget runs fewer (at least 3), and
// its reps key says how many.
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
	only := fs.String("only", "exact,seedplot,divergence,sliced,unbalanced", "comma-separated workloads: exact, seedplot, divergence, sliced, unbalanced, barycenter, train")
	mnist := fs.String("mnist", "module", "MNIST idx directory for the divergence workload; \"module\": the GoMNIST module's copy; empty: uniform noise, as reference.py without --mnist")
	reps := fs.Int("reps", 20, "timed repetitions per row (median ms and minimum ms_min reported)")
	budget := fs.Duration("budget", 20*time.Second, "time per row beyond which fewer repetitions run (at least 3)")
	sizes := fs.String("sizes", "", "divergence sizes n to run, e.g. 4096 (default: 256,1024,4096)")
	maxDim := fs.Int("maxdim", 4096, "largest seedplot dimension")
	plotFile := fs.String("plot", "", "draw the seedplot figure to this PNG file")
	refFile := fs.String("ref", "", "reference.py JSONL output to add to the plot")
	dumpFile := fs.String("dump", "", "write the seedplot instances (points, a, b) as JSON, for bench/seedplot_same.py")
	dumpExact := fs.String("dump-exact", "", "write the exact_points instances (x, y) as JSON, for bench/reference_extra.py --exact")
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
	if *budget < 0 {
		return fmt.Errorf("-budget %v is negative", *budget)
	}
	tm := timer{reps: *reps, budget: *budget}
	cases, err := divergenceCases(*sizes)
	if err != nil {
		return err
	}
	process.Setup(*threads)
	want := map[string]bool{}
	for _, w := range strings.Split(*only, ",") {
		switch w = strings.TrimSpace(w); w {
		case "exact", "seedplot", "divergence", "sliced", "unbalanced", "barycenter", "train":
			want[w] = true
		default:
			return fmt.Errorf("-only: unknown workload %q (want exact, seedplot, divergence, sliced, unbalanced, barycenter, train)", w)
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
		instances, err := benchExact(emit, bars, tm)
		if err != nil {
			return err
		}
		if *dumpExact != "" {
			if err := writeJSON(*dumpExact, instances); err != nil {
				return err
			}
		}
	}
	if want["seedplot"] {
		instances, err := benchSeedplot(emit, bars, tm, *maxDim)
		if err != nil {
			return err
		}
		if *dumpFile != "" {
			if err := writeJSON(*dumpFile, instances); err != nil {
				return err
			}
		}
	}
	var pool *mat.Dense // loaded once, and only where a workload needs it
	needPool := want["sliced"] || want["unbalanced"] || want["train"]
	for _, c := range cases {
		needPool = needPool || (want["divergence"] && c.d == 784)
	}
	if needPool {
		if pool, err = loadPool(*mnist, 2048); err != nil {
			return err
		}
	}
	if want["divergence"] {
		if err := benchDivergence(emit, bars, tm, cases, pool); err != nil {
			return err
		}
	}
	if want["sliced"] { // see extra.go and bench/reference_extra.py
		if err := benchSliced(emit, bars, tm, pool); err != nil {
			return err
		}
	}
	if want["unbalanced"] {
		if err := benchUnbalanced(emit, bars, tm, pool); err != nil {
			return err
		}
	}
	if want["barycenter"] { // opt-in; see barycenter.go and bench/barycenter.py
		if err := benchBarycenter(emit, bars, tm); err != nil {
			return err
		}
	}
	if want["train"] { // see train.go
		if err := benchTrain(emit, bars, tm, pool); err != nil {
			return err
		}
	}
	if *plotFile != "" {
		return plotSeed(*plotFile, append(rows, ref...))
	}
	return nil
}

// timer runs a row's repetitions.
type timer struct {
	reps   int
	budget time.Duration // 0: no limit
}

// time runs fn once to warm up, then t.reps times, and returns the row's timing keys
// in reference.py's convention: ms the median, ms_min the minimum (the steadiest figure
// on a shared host: stalls only ever add time), reps the repetitions. Where the warm-up
// shows that t.reps runs would exceed t.budget, fewer run (at least minReps).
func (t timer) time(fn func() error) (row, error) {
	return t.timeN(t.reps, fn)
}

// timeN is time with reps repetitions.
func (t timer) timeN(reps int, fn func() error) (row, error) {
	start := time.Now()
	if err := fn(); err != nil {
		return nil, err
	}
	reps = t.fit(reps, time.Since(start))
	ts := make([]float64, reps)
	for i := range ts {
		start := time.Now()
		if err := fn(); err != nil {
			return nil, err
		}
		ts[i] = msSince(start)
	}
	return summary(ts), nil
}

// fit is the number of repetitions of a run that took warm that fit in the budget.
func (t timer) fit(reps int, warm time.Duration) int {
	if t.budget > 0 && time.Duration(reps)*warm > t.budget {
		return min(reps, max(minReps, int(t.budget/max(warm, 1))))
	}
	return reps
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Nanoseconds()) / 1e6 }

// summary is the timing keys of the times ts (ms), which it sorts.
func summary(ts []float64) row {
	slices.Sort(ts)
	return row{"ms": ts[len(ts)/2], "ms_min": ts[0], "reps": len(ts)}
}

// minReps is the fewest repetitions timing runs, whatever its budget.
const minReps = 3

// with returns r with the keys of more added.
func (r row) with(more row) row {
	for k, v := range more {
		r[k] = v
	}
	return r
}

func uniformPoints(rng *rand.Rand, n int) *mat.Dense {
	x := mat.NewDense(n, 2, nil)
	for i := 0; i < n; i++ {
		x.Set(i, 0, rng.Float64())
		x.Set(i, 1, rng.Float64())
	}
	return x
}

// exactInstance is one exact_points problem as written by -dump-exact.
type exactInstance struct {
	N int          `json:"n"`
	X [][2]float64 `json:"x"`
	Y [][2]float64 `json:"y"`
}

func benchExact(emit func(row) error, bars io.Writer, tm timer) ([]exactInstance, error) {
	rng := rand.New(rand.NewPCG(0, 0))
	sizes := []int{256, 1024, 2048}
	bar := progress.New(bars, "exact_points", len(sizes))
	defer bar.Finish()
	var instances []exactInstance
	for _, n := range sizes {
		x, y := uniformPoints(rng, n), uniformPoints(rng, n)
		instances = append(instances, exactInstance{N: n, X: pairs(x), Y: pairs(y)})
		C, err := ot.SqEuclidean.Matrix(x, y)
		if err != nil {
			return nil, err
		}
		var res *ot.ExactResult
		t, err := tm.time(func() (err error) {
			res, err = ot.Exact(nil, nil, C, nil)
			return err
		})
		if err != nil {
			return nil, err
		}
		if err := emit(row{"bench": "exact_points", "impl": "go-exact", "n": n, "d": 2, "cost": res.Cost, "pivots": res.Iterations}.with(t)); err != nil {
			return nil, err
		}
		bar.Add(1)
	}
	return instances, nil
}

// pairs returns the rows of an n×2 matrix.
func pairs(x *mat.Dense) [][2]float64 {
	n, _ := x.Dims()
	out := make([][2]float64, n)
	for i := range out {
		out[i] = [2]float64{x.At(i, 0), x.At(i, 1)}
	}
	return out
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
	inst = seedInstance{Dim: dim, Pts: pairs(pts), A: dirichlet(rng, dim), B: dirichlet(rng, dim)}
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

// seedTols are the seedplot's Sinkhorn stopping rules: POT's stopThr of reference.py,
// the ℓ2 norm of the marginal error below 1e-2 (often 1–2 iterations, the plot's
// title states the rule), and a converged solve, the ℓ1 norm below 1e-6
// (bench/seedplot_same.py times POT to the same ℓ1 error on the same instances).
var seedTols = []struct {
	tol  float64
	norm int
}{{1e-2, 2}, {1e-6, 1}}

// seedMaxIter is the seedplot's Sinkhorn iteration cap, POT's numItermax there.
const seedMaxIter = 100_000

func benchSeedplot(emit func(row) error, bars io.Writer, tm timer, maxDim int) ([]seedInstance, error) {
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
		var exact *ot.ExactResult
		t, err := tm.time(func() (err error) {
			exact, err = ot.Exact(a, b, C, nil)
			return err
		})
		if err != nil {
			return nil, err
		}
		if err := emit(row{"bench": "seedplot", "impl": "go-exact", "dim": dim, "cost": exact.Cost}.with(t)); err != nil {
			return nil, err
		}
		for _, st := range seedTols {
			for _, gamma := range []float64{0.02, 0.1} {
				var res *ot.SinkhornResult
				opts := &ot.SinkhornOptions{Method: ot.Stabilized, Tol: st.tol, ErrorNorm: st.norm, MaxIter: seedMaxIter}
				t, err := tm.time(func() (err error) {
					res, err = ot.Sinkhorn(a, b, C, gamma, opts)
					return err
				})
				if err != nil {
					return nil, err
				}
				if err := emit(row{"bench": "seedplot", "impl": "go-sinkhorn-stabilized", "dim": dim, "gamma": gamma,
					"tol": st.tol, "norm": st.norm, "iterations": res.Iterations, "converged": res.Converged,
					"marginal_error": res.MarginalError, "cost": res.LinearCost}.with(t)); err != nil {
					return nil, err
				}
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
