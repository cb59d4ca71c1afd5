package ot

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/fastblas"
	"github.com/sinkgen/sinkgen/internal/parallel"
)

// DefaultProjections is the number of random directions of SlicedOptions, POT's default.
const DefaultProjections = 50

// SlicedOptions tunes SlicedWasserstein and MaxSlicedWasserstein. A nil *SlicedOptions
// means all defaults.
type SlicedOptions struct {
	// Projections is the number of random directions, drawn uniformly on the unit
	// sphere, direction t from a PCG stream seeded with Seed and t: the directions of
	// one Seed do not depend on the number of threads, and more Projections keep the
	// first ones. 0 means DefaultProjections.
	Projections int
	Seed        uint64
	// Directions, when not nil, are the directions to use (one per row, k×d, taken as
	// given like POT's projections: unit rows give the usual distance); Projections
	// and Seed are then ignored.
	Directions *mat.Dense
	// Grad asks for the gradients with respect to both clouds in the result's Grad.
	Grad bool
	// Record keeps the per-direction derivatives (k(n+m) numbers) so that
	// SlicedResult.Backward can add the gradient of either side later, in the
	// destination's precision, as the unrolled records do; a side never asked for
	// costs nothing. Grad implies it.
	Record bool
}

// SlicedResult is the output of SlicedWasserstein and MaxSlicedWasserstein.
type SlicedResult struct {
	// Value is SW_p (the mean over the directions of W_p^p, to the power 1/p) or, for
	// MaxSlicedWasserstein, the largest W_p over the directions.
	Value float64
	// PerDirection[t] is W_p^p between the measures projected on direction t.
	PerDirection []float64
	// Directions are the directions used, k×d.
	Directions *mat.Dense
	// Grad holds ∂Value/∂x and ∂Value/∂y when SlicedOptions.Grad is set (A and B are nil).
	// Where Value is 0 it is the zero subgradient.
	Grad *Gradients

	// With Grad or Record: rx (n×k) and ry (m×k) hold ∂W_p^p(θ_t)/∂(θ_t·x_i) and
	// ∂W_p^p(θ_t)/∂(θ_t·y_j), coef[t] ∂Value/∂W_p^p(θ_t) (applied by Backward, on the
	// side it computes), and theta32 the directions in float32 for float32 clouds.
	rx, ry, coef []float64
	theta32      []float32
}

// SlicedWasserstein returns the sliced Wasserstein distance (Rabin et al. 2011;
// Kolouri et al. 2018; Deshpande et al. 2018)
//
//	SW_p(α,β) = ( 1/k Σ_t W_p^p(θ_t#α, θ_t#β) )^(1/p)
//
// between α = Σ a_i δ_{x_i} and β = Σ b_j δ_{y_j} over k directions θ_t, each W_p^p
// between the projections on the line in closed form (the monotone coupling, as in
// Exact1D), p ≥ 1. It is POT's sliced_wasserstein_distance given the same directions
// (projections = Directionsᵀ). In one dimension, with the direction 1 (or −1), it is
// W_p exactly. The cost is O(k(n+m)(d + log(n+m))) and needs no n×m matrix.
func SlicedWasserstein(x, y *mat.Dense, a, b []float64, p float64, opts *SlicedOptions) (*SlicedResult, error) {
	if err := pointPair(x, y); err != nil {
		return nil, err
	}
	return sliced(FromDense(x), FromDense(y), a, b, p, opts, false)
}

// SlicedWassersteinPoints is SlicedWasserstein between clouds of either precision. For
// float32 clouds the projections x·Θᵀ, y·Θᵀ and Backward's products run as float32
// matrix products (internal/fastblas's Sgemm), the sorting and the costs on the
// projections in float64: the projections then carry float32 rounding (about
// 1e-7·|θ||x|), as in a float32 PyTorch loss.
func SlicedWassersteinPoints(x, y Points, a, b []float64, p float64, opts *SlicedOptions) (*SlicedResult, error) {
	x, y = samePrecision(x, y)
	if x.IsFloat32() {
		if err := x.f32.check("x"); err != nil {
			return nil, err
		}
		if err := y.f32.check("y"); err != nil {
			return nil, err
		}
		// sqNorms names the first entry that is not finite.
		if _, err := x.f32.sqNorms("x"); err != nil {
			return nil, err
		}
		if _, err := y.f32.sqNorms("y"); err != nil {
			return nil, err
		}
		if x.f32.Cols != y.f32.Cols {
			return nil, invalid("x has dimension %d but y has %d", x.f32.Cols, y.f32.Cols)
		}
	} else if err := pointPair(x.f64, y.f64); err != nil {
		return nil, err
	}
	return sliced(x, y, a, b, p, opts, false)
}

// MaxSlicedWasserstein returns max_t W_p(θ_t#α, θ_t#β) over the directions of opts, as
// POT's max_sliced_wasserstein_distance does over its projections (Deshpande et al.
// 2019 maximize over the sphere instead). Its gradient is that of the maximizing
// direction's W_p.
func MaxSlicedWasserstein(x, y *mat.Dense, a, b []float64, p float64, opts *SlicedOptions) (*SlicedResult, error) {
	if err := pointPair(x, y); err != nil {
		return nil, err
	}
	return sliced(FromDense(x), FromDense(y), a, b, p, opts, true)
}

// sliced computes both distances on checked clouds of one precision.
func sliced(x, y Points, a, b []float64, p float64, opts *SlicedOptions, maxOnly bool) (*SlicedResult, error) {
	if !(p >= 1) || math.IsInf(p, 0) {
		return nil, invalid("sliced wasserstein: p = %v must be finite and ≥ 1", p)
	}
	n, d := x.Dims()
	m, _ := y.Dims()
	a, err := weights("a", a, n)
	if err != nil {
		return nil, err
	}
	if b, err = weights("b", b, m); err != nil {
		return nil, err
	}
	b = exactBalance(a, b)
	var o SlicedOptions
	if opts != nil {
		o = *opts
	}
	record := o.Grad || o.Record
	k := o.Projections
	if o.Directions != nil {
		if o.Directions.IsEmpty() {
			return nil, invalid("sliced wasserstein: Directions is empty")
		}
		var dd int
		if k, dd = o.Directions.Dims(); dd != d {
			return nil, invalid("sliced wasserstein: Directions has %d columns for points of dimension %d", dd, d)
		}
		for t := 0; t < k; t++ {
			if !allFinite(o.Directions.RawRowView(t)) {
				return nil, invalid("sliced wasserstein: direction %d is not finite", t)
			}
		}
	} else if k < 0 {
		return nil, invalid("sliced wasserstein: Projections = %d is negative", k)
	} else if k == 0 {
		k = DefaultProjections
	}
	// The projections (k×(n+m)) and, with gradients, their derivatives and the
	// gradients.
	entries := area(k, n+m) + area(k, d)
	if record {
		entries = 2*entries + area(n+m, d)
	}
	if err := denseFits(fmt.Sprintf("sliced wasserstein with %d directions between %d and %d points", k, n, m), entries); err != nil {
		return nil, err
	}
	res := &SlicedResult{PerDirection: make([]float64, k), Directions: o.Directions}
	if x.IsFloat32() {
		res.theta32 = make([]float32, k*d)
	}
	if res.Directions == nil {
		res.Directions = randomDirections(k, d, o.Seed, res.theta32)
	} else if res.theta32 != nil {
		for i, v := range res.Directions.RawMatrix().Data {
			res.theta32[i] = float32(v)
		}
	}
	// proj(t, dst) returns the projections θ_t·x_i and θ_t·y_j, float32 ones converted
	// into dst.
	var proj func(t int, dst []float64) (px, py []float64)
	if x.IsFloat32() {
		// Row t of p32 holds θ_t·x_i then θ_t·y_j.
		p32 := parallel.Float32.Get(k * (n + m))
		defer parallel.Float32.Put(p32)
		sgemm.Sgemm(blas.NoTrans, blas.Trans, k, n, d, 1, res.theta32, d, x.f32.Data, d, 0, p32, n+m)
		sgemm.Sgemm(blas.NoTrans, blas.Trans, k, m, d, 1, res.theta32, d, y.f32.Data, d, 0, p32[n:], n+m)
		for _, v := range p32 {
			if v-v != 0 {
				return nil, errProjection
			}
		}
		proj = func(t int, dst []float64) ([]float64, []float64) {
			for i, v := range p32[t*(n+m) : (t+1)*(n+m)] {
				dst[i] = float64(v)
			}
			return dst[:n], dst[n:]
		}
	} else {
		// Row t of pxy holds θ_t·x_i then θ_t·y_j.
		pxy := parallel.Float64.Get(k * (n + m))
		defer parallel.Float64.Put(pxy)
		rt := res.Directions.RawMatrix()
		xr, yr := x.f64.RawMatrix(), y.f64.RawMatrix()
		fastblas.DgemmNT(k, n, d, rt.Data, rt.Stride, xr.Data, xr.Stride, pxy, n+m)
		fastblas.DgemmNT(k, m, d, rt.Data, rt.Stride, yr.Data, yr.Stride, pxy[n:], n+m)
		if !allFinite(pxy) {
			return nil, errProjection
		}
		proj = func(t int, _ []float64) ([]float64, []float64) {
			return pxy[t*(n+m) : t*(n+m)+n], pxy[t*(n+m)+n : (t+1)*(n+m)]
		}
	}
	if record {
		res.rx, res.ry = make([]float64, n*k), make([]float64, m*k)
	}
	// Where all the weights are equal (uniform ones between clouds of one size) the
	// monotone coupling pairs the r-th smallest projections of each side.
	pairwise := n == m
	for i := range n {
		pairwise = pairwise && a[i] == a[0] && b[i] == a[0]
	}
	parallel.For(k, 8*(n+m), func(_, lo, hi int) {
		at, keys, v := atomPool.Get(n+m), keyPool.Get(2*(n+m)), parallel.Float64.Get(n+m)
		defer atomPool.Put(at)
		defer keyPool.Put(keys)
		defer parallel.Float64.Put(v)
		xa, ya := at[:n], at[n:]
		keys, tmp := keys[:n+m], keys[n+m:]
		for t := lo; t < hi; t++ {
			px, py := proj(t, v)
			cost := 0.0
			pair := func(xi, yj atom1D, w float64) {
				diff := xi.v - yj.v
				cost += w * exactPowAbs(diff, p)
				if record && diff != 0 {
					// d/dx |x−y|^p = p|x−y|^(p−1) sign(x−y)
					g := w * p * exactPowAbs(diff, p-1) * math.Copysign(1, diff)
					res.rx[xi.i*k+t] += g
					res.ry[yj.i*k+t] -= g
				}
			}
			xs, ys := sortProjections(xa, keys, tmp, px, a), sortProjections(ya, keys, tmp, py, b)
			if pairwise {
				for r, xi := range xs {
					pair(xi, ys[r], xi.w)
				}
			} else {
				monotoneCoupling(xs, ys, pair)
			}
			res.PerDirection[t] = cost
		}
	})
	coef := make([]float64, k)
	if maxOnly {
		t := floats.MaxIdx(res.PerDirection)
		res.Value = math.Pow(res.PerDirection[t], 1/p)
		if res.Value > 0 {
			coef[t] = math.Pow(res.Value, 1-p) / p
		}
	} else {
		res.Value = math.Pow(floats.Sum(res.PerDirection)/float64(k), 1/p)
		if res.Value > 0 {
			floats.AddConst(math.Pow(res.Value, 1-p)/(p*float64(k)), coef)
		}
	}
	res.coef = coef
	if o.Grad {
		res.Grad = &Gradients{X: mat.NewDense(n, d, nil), Y: mat.NewDense(m, d, nil)}
		if err := res.Backward(1, FromDense(res.Grad.X), FromDense(res.Grad.Y)); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// atomPool and keyPool hold sortProjections' scratch.
var (
	atomPool parallel.Pool[atom1D]
	keyPool  parallel.Pool[uint64]
)

var errProjection = outOfRange("sliced wasserstein: a projection overflows; rescale the points or the directions")

// sortProjections is sortAtoms1D for the projections v (finite) with weights w, and
// keys and tmp scratch of len(v), stably: a radix sort of each projection's step on a
// grid of 2^16 steps between the extremes, then an insertion sort for the few atoms
// that share a step out of order. Where that takes more than a few moves an atom (many
// atoms or tight clusters on a step) it sorts by comparisons instead.
func sortProjections(at []atom1D, keys, tmp []uint64, v, w []float64) []atom1D {
	n := len(v)
	at, keys, tmp = at[:n], keys[:n], tmp[:n]
	lo, hi := v[0], v[0]
	for _, x := range v { // comparisons: the builtin min and max, careful with NaN and −0, are slower
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	// Key i holds ⌊(v_i−lo)/(hi−lo)·top⌋ above i; (x−lo)·scale lies in [0, top], and an
	// overflowing span or scale gives NaN or +Inf, clamped like the top step.
	const top = 1<<16 - 1
	scale := top / (hi - lo)
	var count0, count1 [256]uint32 // histograms of the steps' low and high bytes
	for i, x := range v {
		step := uint32(0)
		if f := (x - lo) * scale; f >= top {
			step = top
		} else if f > 0 {
			step = uint32(f)
		}
		keys[i] = uint64(step)<<32 | uint64(i)
		count0[byte(step)]++
		count1[byte(step>>8)]++
	}
	radixSteps(keys, tmp, &count0, &count1)
	for r, key := range keys {
		i := int(uint32(key))
		at[r] = atom1D{v[i], w[i], i}
	}
	budget := 8 * n
	for r := 1; r < n; r++ {
		if cur := at[r]; cur.v < at[r-1].v {
			q := r
			for ; q > 0 && cur.v < at[q-1].v; q-- {
				at[q] = at[q-1]
			}
			at[q] = cur
			if budget -= r - q; budget < 0 {
				slices.SortFunc(at, func(p, q atom1D) int { return cmp.Or(cmp.Compare(p.v, q.v), p.i-q.i) })
				break
			}
		}
	}
	return at
}

// radixSteps sorts keys by bits 32 to 47 (sortProjections' steps) stably, by two
// counting passes through tmp (of len(keys)) given the histograms of those bits' two
// bytes, which it uses up. For a
// few hundred keys it is several times faster than a comparison sort, whose branches
// the random projections defeat.
func radixSteps(keys, tmp []uint64, count0, count1 *[256]uint32) {
	p0, p1 := uint32(0), uint32(0)
	for b := range 256 {
		c0, c1 := count0[b], count1[b]
		count0[b], count1[b] = p0, p1
		p0 += c0
		p1 += c1
	}
	for _, key := range keys {
		b := byte(key >> 32)
		tmp[count0[b]] = key
		count0[b]++
	}
	for _, key := range tmp {
		b := byte(key >> 40)
		keys[count1[b]] = key
		count1[b]++
	}
}

// Backward adds seed·∂Value/∂x to gx (n×d) and seed·∂Value/∂y to gy (m×d), each one
// matrix product in the destination's precision (float32 for a float32 destination of
// float32 clouds); the zero Points skips a side. It needs SlicedOptions.Grad or Record.
func (r *SlicedResult) Backward(seed float64, gx, gy Points) error {
	if r.rx == nil {
		return invalid("sliced wasserstein: Backward needs SlicedOptions.Grad or Record")
	}
	k, d := r.Directions.Dims()
	for _, s := range []struct {
		g     Points
		resid []float64
	}{{gx, r.rx}, {gy, r.ry}} {
		if s.g.none() {
			continue
		}
		rows, cols := s.g.Dims()
		if rows*k != len(s.resid) || cols != d {
			return invalid("sliced wasserstein: a %d×%d gradient for %d points of dimension %d", rows, cols, len(s.resid)/k, d)
		}
		// ∂/∂x_i = Σ_t coef_t rx_it θ_t: (rx·diag(coef))·Θ.
		if s.g.IsFloat32() && r.theta32 != nil {
			rf := parallel.Float32.Get(len(s.resid))
			for i := 0; i < len(rf); i += k {
				for t, v := range s.resid[i : i+k] {
					rf[i+t] = float32(v * r.coef[t])
				}
			}
			sgemm.Sgemm(blas.NoTrans, blas.NoTrans, rows, d, k, float32(seed), rf, k, r.theta32, d, 1, s.g.f32.Data, d)
			parallel.Float32.Put(rf)
			continue
		}
		rc := parallel.Float64.Get(len(s.resid))
		for i := 0; i < len(rc); i += k {
			floats.MulTo(rc[i:i+k], s.resid[i:i+k], r.coef)
		}
		// rc·Θ = rc·(Θᵀ)ᵀ, the shape of DgemmNT.
		tt := mat.DenseCopyOf(r.Directions.T())
		prod := parallel.Float64.Get(rows * d)
		fastblas.DgemmNT(rows, d, k, rc, k, tt.RawMatrix().Data, k, prod, d)
		parallel.Float64.Put(rc)
		if s.g.IsFloat32() {
			for i, v := range prod {
				s.g.f32.Data[i] += float32(seed * v)
			}
		} else {
			g := s.g.f64.RawMatrix()
			for i := 0; i < rows; i++ {
				floats.AddScaled(g.Data[i*g.Stride:i*g.Stride+d], seed, prod[i*d:(i+1)*d])
			}
		}
		parallel.Float64.Put(prod)
	}
	return nil
}

// randomDirections returns k directions drawn uniformly on the unit sphere of R^d
// (normalized Gaussian vectors, as POT's get_random_projections), one per row, direction
// t from a PCG stream of its own seeded with seed and t: drawn in parallel, they do not
// depend on the number of threads. A non-nil theta32 (k·d) receives them in float32.
func randomDirections(k, d int, seed uint64, theta32 []float32) *mat.Dense {
	theta := mat.NewDense(k, d, nil)
	parallel.For(k, 8*d, func(_, lo, hi int) {
		var pcg rand.PCG
		for t := lo; t < hi; t++ {
			pcg.Seed(seed, splitMix64(0x51ced<<32|uint64(t)))
			row := theta.RawRowView(t)
			for ss := 0.0; ss == 0; {
				fillNormal(row, &pcg)
				ss = floats.Dot(row, row) // no overflow: the deviates are below 15
				if ss != 0 {
					floats.Scale(1/math.Sqrt(ss), row)
				}
			}
			if theta32 != nil {
				for i, v := range row {
					theta32[t*d+i] = float32(v)
				}
			}
		}
	})
	return theta
}

// splitMix64 is SplitMix64's output function (Steele et al. 2014), a bijection that
// spreads consecutive integers over the PCG seeds of randomDirections' streams.
func splitMix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
