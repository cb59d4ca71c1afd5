package ot

import (
	"cmp"
	"math"
	"slices"
)

// Exact1D returns the exact optimal transport cost between measures on the line,
//
//	min Σ P_ij |x_i − y_j|^p over couplings P of a and b,
//
// for p ≥ 1 (the cost |x−y|^p of W_p^p, not ½|x−y|^p) and arbitrary weights, nil
// meaning uniform. For a convex cost the monotone (quantile) coupling is optimal, so
// the solver sorts both measures and merges their cumulative distributions:
// O((n+m) log(n+m)). As in Exact, Σa − Σb is added to the largest entry of b.
func Exact1D(x, y, a, b []float64, p float64) (float64, error) {
	if !(p >= 1) || math.IsInf(p, 0) {
		return 0, invalid("p = %v: must be finite and ≥ 1", p)
	}
	if err := exactLine("x", x); err != nil {
		return 0, err
	}
	if err := exactLine("y", y); err != nil {
		return 0, err
	}
	a, err := weights("a", a, len(x))
	if err != nil {
		return 0, err
	}
	b, err = weights("b", b, len(y))
	if err != nil {
		return 0, err
	}
	b = exactBalance(a, b)
	cost := 0.0
	monotoneCoupling(sortedAtoms1D(x, a), sortedAtoms1D(y, b), func(xi, yj atom1D, w float64) {
		cost += w * exactPowAbs(xi.v-yj.v, p)
	})
	return cost, nil
}

// monotoneCoupling visits the entries (x atom, y atom, mass) of the monotone
// (quantile) coupling of two sorted measures of equal mass, the optimal plan for
// every convex cost on the line: walking both CDFs, each step moves the smaller
// remaining mass and exhausts one atom. The mass left over at the end is rounding noise.
func monotoneCoupling(xs, ys []atom1D, visit func(x, y atom1D, w float64)) {
	i, j := 0, 0
	ra, rb := xs[0].w, ys[0].w
	for {
		if w := min(ra, rb); w > 0 {
			visit(xs[i], ys[j], w)
		}
		if ra <= rb {
			rb -= ra
			if i++; i == len(xs) {
				return
			}
			ra = xs[i].w
		} else {
			ra -= rb
			if j++; j == len(ys) {
				return
			}
			rb = ys[j].w
		}
	}
}

// exactLine checks a non-empty list of finite coordinates.
func exactLine(field string, x []float64) error {
	if len(x) == 0 {
		return invalid("%s: no points", field)
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return invalid("%s[%d] is %v", field, i, v)
		}
	}
	return nil
}

// atom1D is a point v of the line with weight w, and its index i in its measure.
type atom1D struct {
	v, w float64
	i    int
}

// sortedAtoms1D pairs positions with weights, sorted by position.
func sortedAtoms1D(x, w []float64) []atom1D {
	return sortAtoms1D(make([]atom1D, len(x)), x, w)
}

// sortAtoms1D is sortedAtoms1D into at, of length len(x).
func sortAtoms1D(at []atom1D, x, w []float64) []atom1D {
	for i := range x {
		at[i] = atom1D{x[i], w[i], i}
	}
	slices.SortFunc(at, func(p, q atom1D) int { return cmp.Compare(p.v, q.v) })
	return at
}

func exactPowAbs(d, p float64) float64 {
	d = math.Abs(d)
	switch p {
	case 1:
		return d
	case 2:
		return d * d
	}
	return math.Pow(d, p)
}
