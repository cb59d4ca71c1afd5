package losses
import (
	"testing"
	G "gorgonia.org/gorgonia"
)
func TestInit(t *testing.T) {
	g := G.NewGraph()
	x := G.NewScalar(g, G.Float64, G.WithValue(3.0))
	y := G.Must(G.Mul(x, x))
	if _, err := G.Grad(y, x); err != nil { t.Fatal(err) }
	m := G.NewTapeMachine(g)
	if err := m.RunAll(); err != nil { t.Fatal(err) }
	gx, _ := x.Grad(); t.Log(y.Value(), gx)
}
