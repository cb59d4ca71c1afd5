package losses

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// geomFixture is ot/testdata/laplacian_hausdorff.json (gen_laplacian_hausdorff.py).
type geomFixture struct {
	X, Y      [][]float64
	A, B      []float64
	Laplacian []struct {
		Sigmas []float64
		MMD2   float64
	}
	Hausdorff []struct {
		Eps   float64
		Power float64
		Value float64
	}
}

func loadGeomFixture(t *testing.T) (geomFixture, *mat.Dense, *mat.Dense) {
	t.Helper()
	raw, err := os.ReadFile("../ot/testdata/laplacian_hausdorff.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx geomFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	dense := func(rows [][]float64) *mat.Dense {
		m := mat.NewDense(len(rows), len(rows[0]), nil)
		for i, r := range rows {
			m.SetRow(i, r)
		}
		return m
	}
	return fx, dense(fx.X), dense(fx.Y)
}

// Kind MMD with kernel = "laplacian" is NumPy's Laplacian MMD²; an unknown kernel is
// a FieldError naming the key.
func TestLaplacianKernelKind(t *testing.T) {
	fx, x, y := loadGeomFixture(t)
	for _, c := range fx.Laplacian {
		cfg := Config{Kind: MMD, Kernel: "laplacian", Bandwidths: c.Sigmas, DataWeights: fx.A, GenWeights: fx.B}
		got, _, g, _, err := Evaluate(x, y, cfg, WantGenerated)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-c.MMD2) > 1e-12*c.MMD2 || g == nil {
			t.Errorf("laplacian %v: %.15g, NumPy %.15g", c.Sigmas, got, c.MMD2)
		}
		gauss, _, _, _, _ := Evaluate(x, y, Config{Kind: MMD, Bandwidths: c.Sigmas, DataWeights: fx.A, GenWeights: fx.B}, WantNone)
		if gauss == got {
			t.Errorf("laplacian %v: equal to the Gaussian MMD", c.Sigmas)
		}
	}
	err := Config{Kind: MMD, Kernel: "cauchy"}.Validate()
	if fe, ok := err.(*FieldError); !ok || fe.Key != "kernel" {
		t.Errorf("unknown kernel: %v", err)
	}
}
