package main

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/progress"
	"github.com/sinkgen/sinkgen/ot"
)

// The barycenter workload (-only barycenter) times ot's barycenter and stochastic
// semi-dual solvers on instances that bench/barycenter.py rebuilds from the same
// closed-form formulas (no random numbers), with fixed iteration counts so that both
// sides do the same work:
//
//   - barycenter: N = 4 bumps on n grid points of [0,1], dense cost (i−j)²/(n−1)²,
//     reg 0.01; scaling domain (POT method="sinkhorn") and log domain ("sinkhorn_log").
//   - barycenter_grid: N = 4 images on an R×R grid spanning the unit square, cost
//     |x−y|², reg 0.004; separable kernel (POT convolutional_barycenter2d).
//   - semi_dual: n = m points of the R2 low-discrepancy sequence in [0,1]², cost
//     ½|x−y|², reg 0.05; SAG and averaged SGD (POT solve_semi_dual_entropic).
//   - free_support: N = 3 clouds of 200 points, 100 barycenter points, exact
//     couplings, 10 point updates (POT ot.lp.free_support_barycenter).
//   - coordinates: barycentric coordinates on a 28×28 grid (no POT counterpart).

// baryBumps returns N bumps on n points: bump k centred at 0.2 + 0.6k/(N−1) with width
// 0.04 + 0.01k, normalized.
func baryBumps(n, N int) [][]float64 {
	out := make([][]float64, N)
	for k := range out {
		c, s := 0.2+0.6*float64(k)/float64(N-1), 0.04+0.01*float64(k)
		h := make([]float64, n)
		for i := range h {
			x := float64(i) / float64(n-1)
			h[i] = math.Exp(-(x - c) * (x - c) / (2 * s * s))
		}
		floats.Scale(1/floats.Sum(h), h)
		out[k] = h
	}
	return out
}

// baryImages returns N R×R images: a blob at (0.3 + 0.4 frac(0.618k), 0.3 + 0.4
// frac(0.382k)) of width 0.08 plus a ring of radius 0.25 around the centre, normalized.
func baryImages(R, N int) [][]float64 {
	out := make([][]float64, N)
	frac := func(x float64) float64 { return x - math.Floor(x) }
	for k := range out {
		cy, cx := 0.3+0.4*frac(0.618*float64(k)), 0.3+0.4*frac(0.382*float64(k))
		h := make([]float64, R*R)
		for i := range h {
			y, x := float64(i/R)/float64(R-1), float64(i%R)/float64(R-1)
			d2 := (y-cy)*(y-cy) + (x-cx)*(x-cx)
			r := math.Sqrt((y-0.5)*(y-0.5)+(x-0.5)*(x-0.5)) - 0.25
			h[i] = math.Exp(-d2/(2*0.08*0.08)) + 0.5*math.Exp(-r*r/(2*0.03*0.03))
		}
		floats.Scale(1/floats.Sum(h), h)
		out[k] = h
	}
	return out
}

// baryR2 returns n points of the R2 sequence shifted by k: (frac(0.5 + iφ₁ + 0.1k),
// frac(0.5 + iφ₂ + 0.3k)), φ₁ = 1/g, φ₂ = 1/g², g the plastic number.
func baryR2(n, k int) *mat.Dense {
	const g = 1.32471795724474602596
	x := mat.NewDense(n, 2, nil)
	for i := 0; i < n; i++ {
		a := 0.5 + float64(i)/g + 0.1*float64(k)
		b := 0.5 + float64(i)/(g*g) + 0.3*float64(k)
		x.Set(i, 0, a-math.Floor(a))
		x.Set(i, 1, b-math.Floor(b))
	}
	return x
}

func benchBarycenter(emit func(row) error, bars io.Writer, tm timer) error {
	type job struct {
		name string
		run  func() (row, error)
	}
	var jobs []job
	// Dense fixed-support barycenters.
	for _, n := range []int{100, 400, 1024} {
		hists := baryBumps(n, 4)
		C, err := ot.Grid{Rows: 1, Cols: n}.Cost()
		if err != nil {
			return err
		}
		for _, m := range []struct {
			method ot.BarycenterMethod
			impl   string
			iters  int
		}{{ot.BarycenterScaling, "go-scaling", 500}, {ot.BarycenterLog, "go-log", 50}} {
			jobs = append(jobs, job{fmt.Sprintf("barycenter n=%d %s", n, m.impl), func() (row, error) {
				o := &ot.BarycenterOptions{Method: m.method, MaxIter: m.iters, Tol: 1e-300}
				var res *ot.BarycenterResult
				t, err := tm.time(func() (err error) {
					res, err = ot.Barycenter(hists, ot.DenseSupport(C), 0.01, nil, o)
					return err
				})
				if err != nil {
					return nil, err
				}
				return row{"bench": "barycenter", "impl": m.impl, "n": n, "N": 4, "reg": 0.01, "iters": res.Iterations}.with(t), nil
			}})
		}
	}
	// Grid barycenters.
	for _, R := range []int{28, 64} {
		imgs := baryImages(R, 4)
		g := ot.Grid{Rows: R, Cols: R}
		for _, m := range []struct {
			method ot.BarycenterMethod
			impl   string
			iters  int
		}{{ot.BarycenterScaling, "go-grid-scaling", 500}, {ot.BarycenterLog, "go-grid-log", 50}} {
			jobs = append(jobs, job{fmt.Sprintf("barycenter_grid %d×%d %s", R, R, m.impl), func() (row, error) {
				o := &ot.BarycenterOptions{Method: m.method, MaxIter: m.iters, Tol: 1e-300}
				var res *ot.BarycenterResult
				t, err := tm.time(func() (err error) {
					res, err = ot.Barycenter(imgs, g, 0.004, nil, o)
					return err
				})
				if err != nil {
					return nil, err
				}
				return row{"bench": "barycenter_grid", "impl": m.impl, "size": R, "N": 4, "reg": 0.004, "iters": res.Iterations}.with(t), nil
			}})
		}
	}
	// Stochastic semi-dual.
	for _, n := range []int{100, 1000} {
		C, err := ot.Cost{Power: 2, Scale: 0.5}.Matrix(baryR2(n, 0), baryR2(n, 1))
		if err != nil {
			return err
		}
		for _, m := range []struct {
			impl string
			fn   func([]float64, []float64, *mat.Dense, float64, *ot.StochasticOptions) (*ot.SemiDualResult, error)
		}{{"go-sag", ot.SemiDualSAG}, {"go-asgd", ot.SemiDualASGD}} {
			jobs = append(jobs, job{fmt.Sprintf("semi_dual n=%d %s", n, m.impl), func() (row, error) {
				var res *ot.SemiDualResult
				t, err := tm.time(func() (err error) {
					res, err = m.fn(nil, nil, C, 0.05, &ot.StochasticOptions{MaxIter: 20000})
					return err
				})
				if err != nil {
					return nil, err
				}
				return row{"bench": "semi_dual", "impl": m.impl, "n": n, "m": n, "reg": 0.05, "iters": 20000, "value": res.Value}.with(t), nil
			}})
		}
	}
	// Free-support barycenter.
	jobs = append(jobs, job{"free_support", func() (row, error) {
		clouds := []*mat.Dense{baryR2(200, 1), baryR2(200, 2), baryR2(200, 3)}
		for k, c := range clouds {
			c.Apply(func(_, j int, v float64) float64 { return v + float64(k*(1-j)) }, c) // shift x by k
		}
		init := baryR2(100, 0)
		var res *ot.FreeSupportResult
		t, err := tm.time(func() (err error) {
			res, err = ot.FreeSupportBarycenter(clouds, nil, nil, init, ot.Cost{Power: 2, Scale: 1}, &ot.FreeSupportOptions{MaxIter: 10, Tol: 1e-300})
			return err
		})
		if err != nil {
			return nil, err
		}
		return row{"bench": "free_support", "impl": "go-exact", "n": 200, "N": 3, "m": 100, "iters": res.Iterations}.with(t), nil
	}})
	// Barycentric coordinates (no POT counterpart).
	jobs = append(jobs, job{"coordinates", func() (row, error) {
		imgs := baryImages(28, 7)
		g := ot.Grid{Rows: 28, Cols: 28}
		var res *ot.CoordinatesResult
		t, err := tm.time(func() (err error) {
			res, err = ot.BarycentricCoordinates(imgs[1:], imgs[0], g, 0.004, &ot.CoordinatesOptions{Iterations: 40})
			return err
		})
		if err != nil {
			return nil, err
		}
		return row{"bench": "coordinates", "impl": "go-lbfgs", "size": 28, "N": 6, "L": 40, "iters": res.Iterations, "evaluations": res.Evaluations}.with(t), nil
	}})
	bar := progress.New(bars, "barycenter", len(jobs))
	defer bar.Finish()
	for _, j := range jobs {
		r, err := j.run()
		if err != nil {
			return fmt.Errorf("%s: %w", j.name, err)
		}
		if err := emit(r); err != nil {
			return err
		}
		bar.Add(1)
	}
	return nil
}
