package fastblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// SINKGEN_KERNEL names a path; an unknown or unavailable one falls back to the best
// path with an error that names the variable.
func TestInitialPath(t *testing.T) {
	best := Paths()[len(Paths())-1]
	if p, err := initialPath(""); p != best || err != nil {
		t.Errorf("unset: %v, %v; want %v", p, err, best)
	}
	for _, p := range Paths() {
		if got, err := initialPath(p.String()); got != p || err != nil {
			t.Errorf("%s: %v, %v", p, got, err)
		}
	}
	for _, env := range []string{"avx", "AVX2", "fast"} {
		if p, err := initialPath(env); p != best || err == nil || !strings.Contains(err.Error(), EnvKernel) {
			t.Errorf("%q: %v, %v; want %v and an error naming %s", env, p, err, best, EnvKernel)
		}
	}
	for p := range Path(len(pathNames)) {
		if !available(p) {
			if got, err := initialPath(p.String()); got != best || err == nil {
				t.Errorf("unavailable %v: %v, %v", p, got, err)
			}
			if _, err := SetPath(p); err == nil {
				t.Errorf("SetPath(%v) succeeded on a machine without it", p)
			}
		}
	}
}

// The paths agree on the same inputs. The assembly paths run the same chain of fused
// multiply-adds for every entry of C over the same k blocks, so AVX2 and AVX-512 give
// the same bits for β ∈ {0, 1} (β·C exact); the pure-Go path (gonum's loops, separate
// roundings) stays within checkClose's float32 bound. Dot agrees within 2n·2⁻⁵³·Σ|x_i y_i|
// (different partial sums) and Axpy within one rounding of each entry.
func TestPathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	old, _ := Active()
	defer SetPath(old)
	for _, s := range [][3]int{{256, 256, 784}, {97, 131, 513}, {12, 1000, 300}, {256, 784, 256}} {
		m, n, k := s[0], s[1], s[2]
		a, b := randSlice(rng, m*k), randSlice(rng, n*k)
		c0 := randSlice(rng, m*n)
		for _, beta := range []float32{0, 1, 0.5} {
			var ref []float32
			var refPath Path
			for _, p := range Paths() {
				SetPath(p)
				c := append([]float32(nil), c0...)
				Implementation{}.Sgemm(blas.NoTrans, blas.Trans, m, n, k, -1.5, a, k, b, k, beta, c, n)
				name := fmt.Sprintf("%v β=%g %v vs %v", s, beta, p, refPath)
				switch {
				case ref == nil:
					ref, refPath = c, p
				case refPath == PureGo:
					checkClose(t, name, c, ref, m, n, n, k)
					ref, refPath = c, p
				case beta == 0 || beta == 1:
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(ref[i]) {
							t.Fatalf("%s: C[%d] = %v, %v", name, i, c[i], ref[i])
						}
					}
				default:
					checkClose(t, name, c, ref, m, n, n, k)
				}
			}
		}
	}
	for _, n := range []int{1, 15, 16, 17, 31, 32, 33, 255, 1000} {
		x, y := randFloat64(n), randFloat64(n+3)
		y0 := append([]float64(nil), y...)
		var dots []float64
		var axpys [][]float64
		scale := 0.0
		for i := range x {
			scale += math.Abs(x[i] * y[i])
		}
		for _, p := range Paths() {
			SetPath(p)
			dots = append(dots, Dot(x, y))
			yy := append([]float64(nil), y0...)
			Axpy(0.3, x, yy)
			axpys = append(axpys, yy)
		}
		for i := range dots {
			if math.Abs(dots[i]-dots[0]) > 2*float64(n)*0x1p-53*scale { // twice the bound γ_n·Σ|x_i y_i| of each
				t.Errorf("n=%d: Dot on %v %v, on %v %v", n, Paths()[i], dots[i], Paths()[0], dots[0])
			}
			for j, v := range axpys[i] {
				if w := axpys[0][j]; math.Abs(v-w) > 0x1p-52*(math.Abs(y0[j])+math.Abs(0.3*x[min(j, n-1)])) {
					t.Errorf("n=%d: Axpy on %v: y[%d] = %v, on %v %v", n, Paths()[i], j, v, Paths()[0], w)
				}
			}
			if axpys[i][n] != y0[n] {
				t.Errorf("n=%d: Axpy on %v wrote past len(x)", n, Paths()[i])
			}
		}
	}
}

// Dot32 and Axpy32 (float32 x, float64 y and sums) on every path against float64 loops
// on the converted x: Dot32 within 2n·2⁻⁵³·Σ|x_i y_i|, Axpy32 within one rounding of
// each entry.
func TestDot32Axpy32(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(23, 24))
		for _, n := range []int{0, 1, 3, 15, 16, 17, 31, 32, 33, 100, 1000} {
			x := randSlice(rng, n)
			y := randFloat64(n + 2)
			want, scale := 0.0, 0.0
			for i, v := range x {
				want += float64(v) * y[i]
				scale += math.Abs(float64(v) * y[i])
			}
			if got := Dot32(x, y); math.Abs(got-want) > 2*float64(n)*0x1p-53*scale || got != got {
				t.Errorf("n=%d: Dot32 = %v, want %v", n, got, want)
			}
			yy := append([]float64(nil), y...)
			Axpy32(-0.7, x, yy)
			for i := range yy {
				w := y[i]
				if i < n {
					w += -0.7 * float64(x[i])
				}
				if math.Abs(yy[i]-w) > 0x1p-52*(math.Abs(y[i])+math.Abs(w)) {
					t.Errorf("n=%d: Axpy32 y[%d] = %v, want %v", n, i, yy[i], w)
				}
			}
		}
	})
}

// Axpy32x4 gives the bits of four Axpy32 calls on every path, also on rows that overlap
// (stride < len(y)) and with a short tail.
func TestAxpy32x4(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, s := range [][2]int{{1, 1}, {7, 9}, {16, 16}, {33, 40}, {100, 50}, {1000, 1003}} {
			n, stride := s[0], s[1]
			x := randSlice(rng, 3*stride+n)
			y := randFloat64(n)
			want := append([]float64(nil), y...)
			c := [4]float64{0.3, -1.7, 2.5e-3, 11}
			for r := range 4 {
				Axpy32(c[r], x[r*stride:r*stride+n], want)
			}
			Axpy32x4(&c, x, stride, y)
			for i := range y {
				if math.Float64bits(y[i]) != math.Float64bits(want[i]) {
					t.Fatalf("n=%d stride=%d: y[%d] = %v, four Axpy32 %v", n, stride, i, y[i], want[i])
				}
			}
		}
	})
}
