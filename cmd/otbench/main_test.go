package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/ot"
)

func TestRunSeedplotAndPlot(t *testing.T) {
	dir := t.TempDir()
	plotFile, dumpFile := filepath.Join(dir, "seed.png"), filepath.Join(dir, "inst.json")
	var out, errb bytes.Buffer
	err := run([]string{"-only", "seedplot", "-maxdim", "128", "-reps", "1", "-plot", plotFile, "-dump", dumpFile}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	// Progress to a pipe: a plain line per dimension (each a tenth or more of the work).
	if p := errb.String(); !strings.HasPrefix(p, "seedplot: 1/2 (50%), ") || !strings.Contains(p, "\nseedplot: 2/2 (100%), ") ||
		strings.Count(p, "\n") != 2 || strings.Contains(p, "\r") {
		t.Errorf("progress: %q", p)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2*5 { // dims 64, 128; exact + two γ at two tolerances each
		t.Fatalf("%d rows, want 10:\n%s", len(lines), out.String())
	}
	converged := 0
	for _, l := range lines {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r["bench"] != "seedplot" || !(r["ms"].(float64) > 0) || !(r["ms_min"].(float64) <= r["ms"].(float64)) {
			t.Errorf("bad row %s", l)
		}
		if mErr, ok := r["marginal_error"].(float64); ok && !(mErr < 1) {
			t.Errorf("Sinkhorn row with marginal error %v", mErr)
		}
		// The converged rows: ℓ1 marginal error (what MarginalError measures) ≤ 1e-6.
		if r["tol"] == 1e-6 {
			if r["norm"] != 1.0 || r["converged"] != true || !(r["marginal_error"].(float64) <= 1e-6) {
				t.Errorf("row at tol 1e-6 not converged: %s", l)
			}
			converged++
		}
	}
	if converged != 4 {
		t.Errorf("%d rows at tol 1e-6, want 4", converged)
	}
	f, err := os.Open(plotFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if img, err := png.Decode(f); err != nil || img.Bounds().Dx() < 100 {
		t.Errorf("plot is not a sensible PNG: %v", err)
	}
	var inst []seedInstance
	raw, _ := os.ReadFile(dumpFile)
	if err := json.Unmarshal(raw, &inst); err != nil || len(inst) != 2 || len(inst[1].Pts) != 128 {
		t.Errorf("dump: %v, %d instances", err, len(inst))
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-only", "nope"}, {"-reps", "0"}, {"-plot", "x.png", "-only", "exact", "-ref", "/does/not/exist"},
		{"-sizes", "100"}, {"-sizes", "256,x"}, {"-budget", "-1s"}} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// The instance dump and the plot replace an existing file as a whole (atomicfile): a
// reader that opened the old file still reads all of it, never a truncated or mixed one.
func TestOutputsReplaceAtomically(t *testing.T) {
	rows := []row{{"bench": "seedplot", "impl": "go", "dim": 64, "ms": 1.0}, {"bench": "seedplot", "impl": "go", "dim": 128, "ms": 3.0}}
	for name, write := range map[string]func(string) error{
		"inst.json": func(path string) error { return writeJSON(path, []int{1, 2}) },
		"seed.png":  func(path string) error { return plotSeed(path, rows) },
	} {
		path := filepath.Join(t.TempDir(), name)
		old := bytes.Repeat([]byte("o"), 1000)
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := write(path); err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(f); err != nil || !bytes.Equal(got, old) {
			t.Errorf("%s: the reader of the old file read %.20q, %v", name, got, err)
		}
		if got, err := os.ReadFile(path); err != nil || bytes.Equal(got, old) {
			t.Errorf("%s: not replaced: %v", name, err)
		}
	}
}

// The float32 divergence rows run ot's float32 path (float32 Points, as training's
// float32 graphs): their values differ from the float64 rows' by float32 rounding, not
// by nothing (otbench once computed float32 inputs in float64) and not by more.
// -sizes runs one size alone.
func TestRunDivergenceFloat32Path(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-only", "divergence", "-sizes", "256", "-reps", "2", "-mnist", ""}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r["n"] != 256.0 || r["reps"] != 2.0 || !(r["ms_min"].(float64) <= r["ms"].(float64)) || !(r["peak_rss_mib"].(float64) > 0) {
			t.Errorf("row %s", l)
		}
		values[r["dtype"].(string)+" "+r["phase"].(string)] = r["value"].(float64)
	}
	if len(values) != 4 {
		t.Fatalf("rows %v, want float32 and float64, fwd and fwd+bwd", values)
	}
	v32, v64 := values["float32 fwd"], values["float64 fwd"]
	if v32 == v64 || math.Abs(v32-v64) > 1e-5*math.Abs(v64) {
		t.Errorf("float32 row %.17g, float64 row %.17g: want float32 rounding apart", v32, v64)
	}
}

// The sliced and unbalanced workloads: rows in reference_extra.py's schema, and the
// ratio row is the quotient of the two solvers' rows.
func TestRunSlicedAndUnbalanced(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-only", "sliced,unbalanced", "-reps", "2", "-mnist", ""}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	byImpl := map[string]row{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		key := r["bench"].(string)
		if impl, ok := r["impl"].(string); ok {
			key = impl
		}
		if dt, ok := r["dtype"].(string); ok {
			key += " " + dt
		}
		byImpl[key] = r
	}
	for _, k := range []string{"go-sliced float32", "go-sliced float64"} {
		r := byImpl[k]
		if r == nil || r["projections"] != 128.0 || r["n"] != 256.0 || r["d"] != 784.0 || !(r["value"].(float64) > 0) {
			t.Errorf("%s: %v", k, r)
		}
	}
	bal, unb, q := byImpl["go-balanced"], byImpl["go-unbalanced"], byImpl["unbalanced_over_balanced"]
	if bal == nil || unb == nil || q == nil {
		t.Fatalf("missing rows: %v", byImpl)
	}
	for _, r := range []row{bal, unb} {
		if r["converged"] != true || r["tol"] != 1e-6 || r["eps"] != 1.0 || r["n"] != 256.0 {
			t.Errorf("row %v", r)
		}
	}
	if got, want := q["ratio_min"].(float64), unb["ms_min"].(float64)/bal["ms_min"].(float64); math.Abs(got-want) > 1e-12*want {
		t.Errorf("ratio_min %g, want %g", got, want)
	}
}

// timer: the median and minimum of the repetitions, and fewer repetitions (never fewer
// than minReps) where the warm-up shows the budget would be exceeded.
func TestTimer(t *testing.T) {
	r := summary([]float64{3, 1, 2, 5, 4})
	if r["ms"] != 3.0 || r["ms_min"] != 1.0 || r["reps"] != 5 {
		t.Errorf("summary %v", r)
	}
	tm := timer{reps: 20, budget: time.Second}
	for _, c := range []struct {
		warm time.Duration
		want int
	}{{time.Millisecond, 20}, {50 * time.Millisecond, 20}, {100 * time.Millisecond, 10}, {400 * time.Millisecond, 3}, {5 * time.Second, 3}} {
		if got := tm.fit(20, c.warm); got != c.want {
			t.Errorf("fit(20, %v) = %d, want %d", c.warm, got, c.want)
		}
	}
	if got := (timer{reps: 20}).fit(20, time.Hour); got != 20 {
		t.Errorf("no budget: fit = %d, want 20", got)
	}
	calls := 0
	r, err := timer{reps: 4}.time(func() error { calls++; return nil })
	if err != nil || calls != 5 || r["reps"] != 4 {
		t.Errorf("time ran fn %d times (want 1 warm-up + 4), row %v, %v", calls, r, err)
	}
}

// -dump-exact writes the exact_points instances that the rows solved: the cost of
// each row is the exact cost between the dumped points.
func TestRunExactDump(t *testing.T) {
	file := filepath.Join(t.TempDir(), "exact.json")
	var out bytes.Buffer
	if err := run([]string{"-only", "exact", "-reps", "1", "-dump-exact", file}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var inst []exactInstance
	if err := json.Unmarshal(raw, &inst); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(inst) != 3 || len(lines) != 3 {
		t.Fatalf("%d instances, %d rows, want 3 each", len(inst), len(lines))
	}
	for k, l := range lines {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		in := inst[k]
		if r["n"] != float64(in.N) || len(in.X) != in.N || len(in.Y) != in.N {
			t.Fatalf("row %s, instance of n = %d with %d, %d points", l, in.N, len(in.X), len(in.Y))
		}
		x, y := mat.NewDense(in.N, 2, nil), mat.NewDense(in.N, 2, nil)
		for i := range in.X {
			x.SetRow(i, in.X[i][:])
			y.SetRow(i, in.Y[i][:])
		}
		res, err := ot.ExactPoints(x, y, nil, nil, ot.SqEuclidean, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := r["cost"].(float64); math.Abs(got-res.Cost) > 1e-12*res.Cost {
			t.Errorf("n = %d: row cost %.17g, the dumped instance's %.17g", in.N, got, res.Cost)
		}
	}
}
