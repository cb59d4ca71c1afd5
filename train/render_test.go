package train

import (
	"context"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// The loss and ε curves are drawn, without a panic or an error, for any series a run
// can log: constant at any magnitude (a constant ε ≥ 1e16 used to panic in gonum/plot's
// tick marks, "illegal range"), ranges wider than a float64 can span, ranges narrower
// than the values' rounding, ε = +Inf and NaN points, a single step.
func TestCurvesAnySeries(t *testing.T) {
	const big = math.MaxFloat64
	ramp := func(a, b float64) func(i, n int) float64 {
		return func(i, n int) float64 { u := float64(i) / float64(n-1); return a*(1-u) + b*u }
	}
	geo := func(a, b float64) func(i, n int) float64 {
		return func(i, n int) float64 {
			return math.Exp(math.Log(a) + (math.Log(b)-math.Log(a))*float64(i)/float64(n-1))
		}
	}
	konst := func(v float64) func(int, int) float64 { return func(int, int) float64 { return v } }
	cases := []struct {
		name      string
		n         int
		loss, eps func(i, n int) float64
	}{
		{"eps 1e16", 50, ramp(1, 0.1), konst(1e16)},
		{"eps 1e300", 50, ramp(1, 0.1), konst(1e300)},
		{"eps max float", 50, ramp(1, 0.1), konst(big)},
		{"eps smallest subnormal", 50, ramp(1, 0.1), konst(5e-324)},
		{"eps 1e-300 to 1e300", 50, ramp(1, 0.1), geo(1e-300, 1e300)},
		{"eps subnormal to max", 50, ramp(1, 0.1), geo(5e-324, big)},
		{"eps within rounding", 50, ramp(1, 0.1), func(i, _ int) float64 { return 1e16 + 2*float64(i%2) }},
		{"eps inf and nan", 50, ramp(1, 0.1), func(i, _ int) float64 { return []float64{math.Inf(1), math.NaN(), 0.5, -1}[i%4] }},
		{"eps all inf", 50, ramp(1, 0.1), konst(math.Inf(1))},
		{"loss constant 1e16", 50, konst(1e16), konst(1)},
		{"loss constant -1e300", 50, konst(-1e300), konst(1)},
		{"loss constant zero", 50, konst(0), konst(1)},
		{"loss -max to max", 50, ramp(-big, big), konst(1)},
		{"loss within rounding", 50, func(i, _ int) float64 { return 1 + 2.220446049250313e-16*float64(i%3) }, konst(1)},
		{"loss nan and inf", 50, func(i, _ int) float64 { return []float64{math.NaN(), math.Inf(1), 2, math.Inf(-1)}[i%4] }, konst(1)},
		{"one step", 1, konst(3), konst(1e16)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var b strings.Builder
			b.WriteString(strings.Join(csvHeader, ",") + "\n")
			for i := 0; i < tc.n; i++ {
				row := StepStats{Step: i + 1, Loss: tc.loss(i, tc.n), Eps: tc.eps(i, tc.n), LR: 1e-3}.csvRow()
				b.WriteString(strings.Join(row, ",") + "\n")
			}
			csvPath := filepath.Join(dir, "metrics.csv")
			if err := os.WriteFile(csvPath, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			lossPNG, epsPNG := filepath.Join(dir, "loss.png"), filepath.Join(dir, "eps.png")
			if err := saveCurves(csvPath, lossPNG, epsPNG, tc.name); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{lossPNG, epsPNG} {
				checkPNG(t, p)
			}
		})
	}
}

// Scatter plots of generated points cope with huge, coincident and non-finite points.
func TestScatterAnyPoints(t *testing.T) {
	const big = math.MaxFloat32
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for name, pts := range map[string][]float32{
		"coincident":      {1e30, 1e30, 1e30, 1e30},
		"huge":            {-big, -big, big, big, 0, 0},
		"non-finite":      {inf, 0, nan, 1, 2, 3, -inf, inf},
		"all non-finite":  {nan, nan, inf, inf},
		"one point":       {0, 0},
		"zero everywhere": {0, 0, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.png")
			if err := SaveScatter(path, name, pts, nil); err != nil {
				t.Fatal(err)
			}
			checkPNG(t, path)
		})
	}
}

// The curve and scatter panels of cmd/compare draw, without a panic or an error,
// constant curves at any magnitude (a constant 1e16 used to panic in gonum/plot's tick
// marks), curves spanning the float64 range, and non-finite points.
func TestPanelsAnyData(t *testing.T) {
	const big = math.MaxFloat64
	steps := []float64{1, 2, 3, 4}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for name, vals := range map[string][]float64{
		"constant 1e16":   {1e16, 1e16, 1e16, 1e16},
		"constant 1e300":  {1e300, 1e300, 1e300, 1e300},
		"within rounding": {1e16, 1e16 + 2, 1e16, 1e16 + 2},
		"constant -5":     {-5, -5, -5, -5},
		"float64 range":   {-big, big, -big / 2, big / 2},
		"log range":       {5e-324, 1e-300, 1e300, big},
		"non-finite":      {math.NaN(), math.Inf(1), 1, 1},
	} {
		t.Run(name, func(t *testing.T) {
			cp, err := CurvesPlot(name, "loss", []Curve{{Label: "seed 1", Steps: steps, Values: vals, Window: 2}})
			if err != nil {
				t.Fatal(err)
			}
			sp, err := Scatter(name, []float32{1e30, 1e30, nan, 0, inf, 1}, []float32{0, 0, 1, 1})
			if err != nil {
				t.Fatal(err)
			}
			sp.X.Min, sp.X.Max, sp.Y.Min, sp.Y.Max = 0, 0, 0, 0
			path := filepath.Join(t.TempDir(), "tiles.png")
			if err := SavePlots(path, []*plot.Plot{cp, sp}, 2, 200, 150); err != nil {
				t.Fatal(err)
			}
			checkPNG(t, path)
		})
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.DecodeConfig(f); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

// A run at a constant ε of 1e16 or 1e300 (accepted values) ends with its curves drawn
// instead of a panic in eps.png.
func TestHugeConstantEpsRunFinishes(t *testing.T) {
	for _, eps := range []string{"1e16", "1e300"} {
		t.Run(eps, func(t *testing.T) {
			dir := t.TempDir()
			tr, err := New(toyConfig(t, "steps=3", "loss.eps="+eps), Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			checkPNG(t, filepath.Join(dir, "eps.png"))
			checkPNG(t, filepath.Join(dir, "loss.png"))
		})
	}
}

// A curve's running mean is over its last Window finite values: a NaN or infinite
// loss is left out, and the curve goes on after it (a NaN in the running sum used to
// blank out the rest of a curve in cmd/compare).
func TestCurveRunningMeanSkipsNonFinite(t *testing.T) {
	steps := []float64{1, 2, 3, 4, 5, 6, 7}
	vals := []float64{1, 2, math.NaN(), 4, math.Inf(1), 6, 8}
	got := runningMean(steps, vals, 2)
	// by hand: the means of {1}, {1,2}, {2,4}, {4,6}, {6,8}
	want := plotter.XYs{{X: 1, Y: 1}, {X: 2, Y: 1.5}, {X: 4, Y: 3}, {X: 6, Y: 5}, {X: 7, Y: 7}}
	if !slices.Equal(got, want) {
		t.Errorf("running mean %v, want %v", got, want)
	}
}

// metrics.csv is read by its header's column names, not by position.
func TestReadMetricsByHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.csv")
	if err := os.WriteFile(path, []byte("lr,eps,loss,step\n0.1,2,0.5,1\n0.1,4,0.25,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cols, err := ReadMetrics(path, "step", "loss", "eps")
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]float64{{1, 2}, {0.5, 0.25}, {2, 4}}; !reflect.DeepEqual(cols, want) {
		t.Errorf("columns %v, want %v", cols, want)
	}
	if _, err := ReadMetrics(path, "step", "elapsed_s"); err == nil || err.Error() != path+": no elapsed_s column" {
		t.Errorf("missing column: %v", err)
	}
	if err := os.WriteFile(path, []byte("step,loss\n1,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMetrics(path, "step", "loss"); err == nil || err.Error() != path+`: row 1: loss = "x" is not a number` {
		t.Errorf("bad value: %v", err)
	}
}
