package ot

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

var tightHausdorff = &DivergenceOptions{SinkhornOptions: SinkhornOptions{Tol: 1e-14, MaxIter: 100000}}

func hausdorffCost(power float64) Cost {
	if power == 1 {
		return Euclidean
	}
	return SqEuclidean
}

// H_ε against the paper's formula evaluated in NumPy
// (testdata/gen_laplacian_hausdorff.py), to 1e-10.
func TestHausdorffFixture(t *testing.T) {
	fx := loadFixture(t, "laplacian_hausdorff")
	x, y, a, b := fixtureDense(t, fx, "x"), fixtureDense(t, fx, "y"), fixtureFloats(t, fx, "a"), fixtureFloats(t, fx, "b")
	for _, c := range fixtureField(t, fx, "hausdorff").([]any) {
		cs := c.(map[string]any)
		eps, power, want := fixtureFloat(t, cs, "eps"), fixtureFloat(t, cs, "power"), fixtureFloat(t, cs, "value")
		r, err := Hausdorff(x, y, a, b, hausdorffCost(power), eps, tightHausdorff)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r.Value-want) > 1e-10*math.Max(1, math.Abs(want)) || !r.Converged {
			t.Errorf("p=%g ε=%g: H = %.15g, NumPy %.15g (converged %v)", power, eps, r.Value, want, r.Converged)
		}
	}
}

// Gradients with respect to points and weights against central finite differences.
func TestHausdorffGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 21))
	x, y := randCloud(rng, 6, 2, 0), randCloud(rng, 5, 2, 0.5)
	a, b := randWeights(rng, 6), randWeights(rng, 5)
	for _, c := range []Cost{SqEuclidean, Euclidean} {
		for _, eps := range []float64{0.05, 0.5, 5} {
			o := *tightHausdorff
			o.Grad = true
			r, err := Hausdorff(x, y, a, b, c, eps, &o)
			if err != nil {
				t.Fatal(err)
			}
			checkGradients(t, fmt.Sprintf("hausdorff %v ε=%g", c, eps), x, y, a, b, r.Grad, func(x, y *mat.Dense, a, b []float64) float64 {
				v, err := Hausdorff(x, y, a, b, c, eps, tightHausdorff)
				if err != nil {
					t.Fatal(err)
				}
				return v.Value
			}, 1e-6)
		}
	}
}

// The limits: ICP (chamfer) as ε → 0, the kernel norm ⟨α⊗β,c⟩ − ½⟨α⊗α,c⟩ − ½⟨β⊗β,c⟩
// as ε → ∞ (errors O(ε log n) and O(1/ε): the test asks for both to shrink tenfold
// with ε); H(α,α) = 0 and H ≥ 0.
func TestHausdorffLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 22))
	x, y := randCloud(rng, 7, 2, 0), randCloud(rng, 6, 2, 1)
	a, b := randWeights(rng, 7), randWeights(rng, 6)
	for _, c := range []Cost{SqEuclidean, Euclidean} {
		C := c.matrix(x, y)
		icp := 0.0
		for i := 0; i < 7; i++ {
			icp += a[i] * floatsMin(C.RawRowView(i))
		}
		for j := 0; j < 6; j++ {
			icp += b[j] * floatsMin(mat.Col(nil, j, C))
		}
		icp /= 2
		km, err := MMD(x, y, a, b, CostKernel{Cost: c}, nil)
		if err != nil {
			t.Fatal(err)
		}
		kernel := km.Value / 2
		value := func(eps float64) float64 {
			r, err := Hausdorff(x, y, a, b, c, eps, tightHausdorff)
			if err != nil {
				t.Fatal(err)
			}
			if r.Value < 0 {
				t.Errorf("%v ε=%g: H = %g < 0", c, eps, r.Value)
			}
			return r.Value
		}
		e1, e2 := math.Abs(value(1e-3)-icp), math.Abs(value(1e-4)-icp)
		if e1 > 1e-2 || e2 > e1/5 {
			t.Errorf("%v: ICP %g, ε=1e-3 off by %g, 1e-4 by %g", c, icp, e1, e2)
		}
		k1, k2 := math.Abs(value(1e3)-kernel), math.Abs(value(1e4)-kernel)
		if k1 > 1e-2 || k2 > k1/5 {
			t.Errorf("%v: kernel norm %g, ε=1e3 off by %g, 1e4 by %g", c, kernel, k1, k2)
		}
		self, err := Hausdorff(x, x, a, a, c, 0.3, tightHausdorff)
		if err != nil || math.Abs(self.Value) > 1e-14 {
			t.Errorf("%v: H(α,α) = %v (%v)", c, self.Value, err)
		}
	}
	if _, err := Hausdorff(x, y, a, b, SqEuclidean, math.Inf(1), nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("ε = +Inf: %v", err)
	}
}

func floatsMin(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}
