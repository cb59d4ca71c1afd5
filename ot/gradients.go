package ot

import (
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// Gradients of a discrepancy between the measures (x, a) and (y, b).
type Gradients struct {
	X, Y *mat.Dense // with respect to the point positions, n×d and m×d
	// A, B are with respect to the weights. The weights live on the simplex, so only
	// differences of entries matter: a step δa with Σδa = 0 changes the value by ⟨A,δa⟩.
	A, B []float64
}

// SinkhornGradients returns the gradients of OT_ε(α,β) at a converged solve res of
// SinkhornPoints(x, y, a, b, c, …): Σ_j P_ij ∇_x c(x_i, y_j) for the points, and the
// potentials F, G for the weights.
func SinkhornGradients(x, y *mat.Dense, a, b []float64, c Cost, res *SinkhornResult) (*Gradients, error) {
	p, c, err := pointProblem(x, y, a, b, c, "sinkhorn gradients", func(n, m int) float64 {
		return 2 * area(n, m) // the cost and the plan
	})
	if err != nil {
		return nil, err
	}
	n, d, m := p.n, dimOf(x), p.m
	if res == nil || len(res.F) != n || len(res.G) != m {
		return nil, invalid("sinkhorn result does not match %d×%d points", n, m)
	}
	gr := &Gradients{X: mat.NewDense(n, d, nil), Y: mat.NewDense(m, d, nil),
		A: append([]float64(nil), res.F...), B: append([]float64(nil), res.G...)}
	p.addPointGrad(gr.X, 1, x, y, res.F, res.G, c, res.Eps, false)
	p.addPointGrad(gr.Y, 1, x, y, res.F, res.G, c, res.Eps, true)
	return gr, nil
}

// ExactGradients returns the gradients of the exact OT cost at a solve res of
// ExactPoints(x, y, a, b, c, …): Σ_j P_ij ∇_x c(x_i, y_j) over the sparse optimal plan
// for the points (the cost is differentiable there when the plan is unique), and the
// dual potentials F, G for the weights (a supergradient; the gradient when the duals
// are unique).
func ExactGradients(x, y *mat.Dense, c Cost, res *ExactResult) (*Gradients, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := pointPair(x, y); err != nil {
		return nil, err
	}
	c = c.orDefault()
	n, d := x.Dims()
	m, _ := y.Dims()
	if res == nil || len(res.F) != n || len(res.G) != m {
		return nil, invalid("exact result does not match %d×%d points", n, m)
	}
	gr := &Gradients{X: mat.NewDense(n, d, nil), Y: mat.NewDense(m, d, nil),
		A: append([]float64(nil), res.F...), B: append([]float64(nil), res.G...)}
	for _, t := range res.Plan {
		xi, yj := x.RawRowView(t.I), y.RawRowView(t.J)
		c.AddGradX(gr.X.RawRowView(t.I), t.Mass, xi, yj)
		c.AddGradX(gr.Y.RawRowView(t.J), t.Mass, yj, xi)
	}
	return gr, nil
}

// addPointGrad adds w·∂OT_ε/∂x (or ∂/∂y when wrtY) at potentials (f, g): by the
// envelope theorem, Σ_j P_ij ∇_x c(x_i, y_j). For quadratic costs this is
// 2s·(diag(P1)x − P y), two GEMM-shaped products; other powers go pair by pair.
func (p *problem) addPointGrad(dst *mat.Dense, w float64, x, y *mat.Dense, f, g []float64, c Cost, eps float64, wrtY bool) {
	P := mat.NewDense(p.n, p.m, nil)
	parallel.For(p.n, p.m, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := P.RawRowView(i)
			for j := range row {
				row[j] = p.loga[i] + p.logb[j] + (f[i]+g[j]-p.C[i*p.m+j])/eps
			}
			expSlice(row)
		}
	})
	var Pm mat.Matrix = P
	if wrtY {
		Pm, x, y = P.T(), y, x
	}
	addPlanGrad(dst, w, x, y, Pm, c)
}

// addPlanGrad adds w·Σ_j P_ij ∇_x c(x_i, y_j) to dst for a dense plan P.
func addPlanGrad(dst *mat.Dense, w float64, x, y *mat.Dense, P mat.Matrix, c Cost) {
	n, d := x.Dims()
	_, m := P.Dims()
	if t, ok := P.(mat.Transpose); ok && c.Power == 2 && d <= 32 {
		// P = Qᵀ: accumulate over Q's rows instead of copying an n×m transpose.
		addPlanGradTransposed(dst, w, x, y, t.Matrix.(*mat.Dense), c)
		return
	}
	if c.Power == 2 {
		// 2s·(diag(P1)x − P y), with P y = P·(yᵀ)ᵀ in mulNT's shape.
		Pd, ok := P.(*mat.Dense)
		if !ok {
			Pd = mat.DenseCopyOf(P) // a transposed view
		}
		yt := mat.DenseCopyOf(y.T())
		Py := mat.NewDense(n, d, nil)
		mulNT(Py, Pd, yt)
		s := 2 * c.Scale * w
		for i := 0; i < n; i++ {
			r := floats.Sum(Pd.RawRowView(i))
			gi, xi, pyi := dst.RawRowView(i), x.RawRowView(i), Py.RawRowView(i)
			for k := 0; k < d; k++ {
				gi[k] += s * (r*xi[k] - pyi[k])
			}
		}
		return
	}
	for i := 0; i < n; i++ {
		gi := dst.RawRowView(i)
		for j := 0; j < m; j++ {
			if pij := P.At(i, j); pij != 0 {
				c.AddGradX(gi, w*pij, x.RawRowView(i), y.RawRowView(j))
			}
		}
	}
}

// addPlanGradTransposed is addPlanGrad for a quadratic cost and P = Qᵀ (Q m×n) with few
// dimensions: r = Qᵀ1 and Py = Qᵀy come from axpys over Q's rows.
func addPlanGradTransposed(dst *mat.Dense, w float64, x, y, Q *mat.Dense, c Cost) {
	n, d := x.Dims()
	m, _ := Q.Dims()
	r := make([]float64, n)
	pyT := make([][]float64, d) // column k of P·y, stored as a row
	for k := range pyT {
		pyT[k] = make([]float64, n)
	}
	for j := 0; j < m; j++ {
		q, yj := Q.RawRowView(j), y.RawRowView(j)
		axpy(1, q, r)
		for k, v := range yj {
			axpy(v, q, pyT[k])
		}
	}
	s := 2 * c.Scale * w
	for i := 0; i < n; i++ {
		gi, xi := dst.RawRowView(i), x.RawRowView(i)
		for k := range gi {
			gi[k] += s * (r[i]*xi[k] - pyT[k][i])
		}
	}
}
