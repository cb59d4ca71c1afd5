package sweep

import (
	"testing"

	"github.com/sinkgen/sinkgen/internal/strict"
)

// FuzzSpec: whatever a sweep file says, checking and expanding it returns runs or an
// error, never a panic or an unbounded expansion.
func FuzzSpec(f *testing.F) {
	f.Add([]byte("config = \"toy2d.toml\"\n[grid]\n\"loss.eps\" = [0.1, 1.0]\n[[zip]]\na = [1, 2]\nb = [\"x\", [1.5]]\n"))
	f.Add([]byte("config = \"x\"\nseeds = [1, 2, 3]\n[grid]\na = [{b = 1}]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s := &Spec{Eval: EvalSpec{N: 100, Ref: 100}, Slurm: SlurmSpec{Poll: "1s"}}
		if strict.Decode(src, s) != nil || s.check() != nil {
			return
		}
		ps, err := s.Points()
		if err == nil && len(ps)*max(len(s.Seeds), 1) > maxRuns {
			t.Fatalf("%d points", len(ps))
		}
	})
}
