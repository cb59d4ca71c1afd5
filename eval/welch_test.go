package eval

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// TestWelchReference checks Welch's t, df and p against testdata/welch_ref.json
// (gen_welch.py: numpy, and the t tail by quadrature of the density, not gonum).
func TestWelchReference(t *testing.T) {
	raw, err := os.ReadFile("testdata/welch_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Welch []struct {
			A, B     []float64
			T, DF, P float64
		}
		Tails []struct{ T, Nu, Tail float64 }
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Welch) == 0 || len(ref.Tails) == 0 {
		t.Fatal("empty fixture")
	}
	for i, c := range ref.Welch {
		ma, sa := stat.MeanStdDev(c.A, nil)
		mb, sb := stat.MeanStdDev(c.B, nil)
		tt, df, p := Welch(ma, sa, len(c.A), mb, sb, len(c.B))
		if math.Abs(tt-c.T) > 1e-10*math.Abs(c.T) || math.Abs(df-c.DF) > 1e-10*c.DF || math.Abs(p-c.P) > 1e-9 {
			t.Errorf("case %d: t, df, p = %v, %v, %v; reference %v, %v, %v", i, tt, df, p, c.T, c.DF, c.P)
		}
		// symmetric in the groups but for the sign of t
		if t2, df2, p2 := Welch(mb, sb, len(c.B), ma, sa, len(c.A)); t2 != -tt || df2 != df || p2 != p {
			t.Errorf("case %d: swapped groups give %v, %v, %v", i, t2, df2, p2)
		}
	}
	for _, c := range ref.Tails {
		if got := (distuv.StudentsT{Mu: 0, Sigma: 1, Nu: c.Nu}).Survival(c.T); math.Abs(got-c.Tail) > 1e-9 {
			t.Errorf("P(T_%v > %v) = %v, reference %v", c.Nu, c.T, got, c.Tail)
		}
	}
}

// TestWelchTables checks the two-sided p-value at the tabulated 97.5% quantiles of
// Student's t (p = 0.05) and the closed forms of ν = 1 (Cauchy) and ν = 2, with
// groups whose Welch df is exactly ν: equal sizes n and equal sds give df = 2(n−1).
func TestWelchTables(t *testing.T) {
	// t_{0.975, ν} for ν = 2, 4, 8, 30 (any table of Student's t, 3 decimals)
	for nu, q := range map[int]float64{2: 4.303, 4: 2.776, 8: 2.306, 30: 2.042} {
		n := nu/2 + 1
		// means apart by q standard errors: √(2s²/n) = 1 with s = √(n/2)
		_, df, p := Welch(q, math.Sqrt(float64(n)/2), n, 0, math.Sqrt(float64(n)/2), n)
		if df != float64(nu) || math.Abs(p-0.05) > 2e-4 {
			t.Errorf("ν = %d, t = %v: df %v, p = %v, want %d, 0.05 (table)", nu, q, df, p, nu)
		}
	}
	for _, x := range []float64{0.3, 1, 2.5, 10} {
		_, _, p := Welch(x, 1, 2, 0, 1, 2) // n = 2, s = 1: t = x, df = 2
		if want := 1 - x/math.Sqrt(x*x+2); math.Abs(p-want) > 1e-12 {
			t.Errorf("ν = 2, t = %v: p = %v, want %v", x, p, want)
		}
		if got, want := 2*(distuv.StudentsT{Mu: 0, Sigma: 1, Nu: 1}).Survival(x), 1-2*math.Atan(x)/math.Pi; math.Abs(got-want) > 1e-12 {
			t.Errorf("ν = 1, t = %v: p = %v, want %v", x, got, want)
		}
	}
}

func TestWelchDegenerate(t *testing.T) {
	if _, _, p := Welch(1, 0, 3, 1, 0, 5); p != 1 {
		t.Errorf("equal constants: p = %v, want 1", p)
	}
	if tt, _, p := Welch(1, 0, 3, 2, 0, 5); p != 0 || !math.IsInf(tt, -1) {
		t.Errorf("different constants: t = %v, p = %v, want -Inf, 0", tt, p)
	}
	for _, c := range [][2]int{{1, 5}, {5, 1}, {0, 0}} {
		if _, _, p := Welch(1, 1, c[0], 2, 1, c[1]); !math.IsNaN(p) {
			t.Errorf("n = %v: p = %v, want NaN", c, p)
		}
	}
	if _, _, p := Welch(math.NaN(), 1, 3, 2, 1, 3); !math.IsNaN(p) {
		t.Errorf("NaN mean: p = %v, want NaN", p)
	}
}
