package losses

import (
	"testing"

	G "gorgonia.org/gorgonia"
)

// Gorgonia panics at init on Go ≥ 1.21 unless go.mod pins a recent
// go4.org/unsafe/assume-no-moving-gc; this test fails to start if that pin is lost.
func TestGorgoniaInitAndGrad(t *testing.T) {
	g := G.NewGraph()
	x := G.NewScalar(g, G.Float64, G.WithValue(3.0), G.WithName("x"))
	y := G.Must(G.Mul(x, x))
	if _, err := G.Grad(y, x); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	gx, err := x.Grad()
	if err != nil {
		t.Fatal(err)
	}
	if y.Value().Data().(float64) != 9 || gx.Data().(float64) != 6 {
		t.Errorf("x² at 3 = %v, gradient %v; want 9 and 6", y.Value(), gx)
	}
}
