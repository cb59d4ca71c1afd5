package ot

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/fastblas"
	"github.com/sinkgen/sinkgen/internal/parallel"
)

// points32 is a float32 point cloud (see Points): Rows points of dimension Cols,
// row-major in Data.
type points32 struct {
	Rows, Cols int
	Data       []float32
}

// same reports whether two clouds are the same memory (x = y in the symmetric terms).
func (x points32) same(y points32) bool {
	return x.Rows == y.Rows && x.Cols == y.Cols && len(x.Data) > 0 && len(y.Data) > 0 && &x.Data[0] == &y.Data[0]
}

// dense copies the cloud into a float64 matrix.
func (x points32) dense() *mat.Dense {
	out := mat.NewDense(x.Rows, x.Cols, nil)
	d := out.RawMatrix().Data
	for i, v := range x.Data[:x.Rows*x.Cols] {
		d[i] = float64(v)
	}
	return out
}

// sqNorms returns |x_i|² in float64 (exact products of float32 values), and an error
// naming the first entry that is not finite: the norm of a row is finite exactly when
// all its entries are (a float32's square cannot overflow float64).
func (x points32) sqNorms(field string) ([]float64, error) {
	out := make([]float64, x.Rows)
	d := x.Cols
	parallel.For(x.Rows, d, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = sqNorm32(x.Data[i*d : (i+1)*d])
		}
	})
	if s := floats.Sum(out); s-s != 0 {
		for i, v := range x.Data[:x.Rows*d] {
			if f := float64(v); f-f != 0 {
				return nil, invalid("%s[%d,%d] is %v", field, i/d, i%d, v)
			}
		}
	}
	return out, nil
}

// sqNorm32 returns Σ v_k² in float64, with four independent sums.
func sqNorm32(v []float32) float64 {
	var s0, s1, s2, s3 float64
	k := 0
	for ; k+4 <= len(v); k += 4 {
		a, b, c, d := float64(v[k]), float64(v[k+1]), float64(v[k+2]), float64(v[k+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; k < len(v); k++ {
		s0 += float64(v[k]) * float64(v[k])
	}
	return (s0 + s1) + (s2 + s3)
}

func (x points32) check(field string) error {
	if x.Rows < 1 || x.Cols < 1 {
		return invalid("%s: no points", field)
	}
	if len(x.Data) < x.Rows*x.Cols {
		return invalid("%s: %d values for %d×%d points", field, len(x.Data), x.Rows, x.Cols)
	}
	return nil
}

// gram32 is the float32 side of a record: the clouds, their squared norms, and
// whether they are the same cloud.
type gram32 struct {
	x, y   points32
	nx, ny []float64
	sym    bool
	xy     []float32 // x·yᵀ computed for the bounds, until the forward pass takes it
}

// takeProducts returns x·yᵀ: the products left from the bounds, or computed afresh.
func (g *gram32) takeProducts() []float32 {
	xy := g.xy
	g.xy = nil
	if xy == nil {
		xy = g.products()
	}
	return xy
}

var sgemm fastblas.Implementation

// products returns x·yᵀ from one float32 product (fastblas's Sgemm, or its Gram for
// x = y, which computes the upper triangle and mirrors it: deterministic, so a rebuild
// is bit for bit the same) in a pooled n×m buffer.
func (g *gram32) products() []float32 {
	n, m, d := g.x.Rows, g.y.Rows, g.x.Cols
	xy := parallel.Float32.Get(n * m) // every entry is written
	if g.sym {
		fastblas.Gram(n, d, g.x.Data, d, xy, m)
	} else {
		sgemm.Sgemm(blas.NoTrans, blas.Trans, n, m, d, 1, g.x.Data, d, g.y.Data, d, 0, xy, m)
	}
	return xy
}

// costRow writes row i of the cost s·(|x_i|² + |y_j|² − 2x_i·y_j) into dst from src,
// row i of x·yᵀ: in float64, clamped at zero, and exactly zero on the diagonal of
// x = y. src may be dst's memory reused (each entry is read before any is written:
// dst is float64, src float32, so they never alias).
func (g *gram32) costRow(c Cost, i int, src []float32, dst []float64) {
	nx, ny, row := g.nx[i], g.ny[:len(src)], dst[:len(src)]
	if c.Power == 2 {
		for j, v := range src {
			row[j] = c.Scale * max(0, nx+ny[j]-2*float64(v))
		}
	} else {
		for j, v := range src {
			row[j] = c.fromSq(max(0, nx+ny[j]-2*float64(v)))
		}
	}
	if g.sym {
		row[i] = c.fromSq(0)
	}
}

// bounds returns the smallest and largest cost entry, from xy = products(), without
// storing the costs, and whether some pair other than a point with itself lies closer
// than resolvedSq allows (always false for p = 2). For p ≠ 2 the cost increases with
// d², so the bounds are those of d² mapped (one square root or power each, not one per
// entry).
func (g *gram32) bounds(c Cost, xy []float32) (lo, hi float64, near bool) {
	m := g.y.Rows
	los, his := make([]float64, parallel.MaxBlocks()), make([]float64, parallel.MaxBlocks())
	for k := range los {
		los[k], his[k] = math.Inf(1), math.Inf(-1)
	}
	if c.Power == 2 {
		parallel.For(g.x.Rows, m, func(blk, lo, hi int) {
			row := make([]float64, m)
			rlo, rhi := math.Inf(1), math.Inf(-1)
			for i := lo; i < hi; i++ {
				g.costRow(c, i, xy[i*m:(i+1)*m], row)
				for _, v := range row { // finite: plain comparisons, no NaN cases
					rlo, rhi = min(rlo, v), max(rhi, v)
				}
			}
			los[blk], his[blk] = min(los[blk], rlo), max(his[blk], rhi)
		})
		return floats.Min(los), floats.Max(his), false
	}
	nears := make([]bool, parallel.MaxBlocks())
	parallel.For(g.x.Rows, m, func(blk, lo, hi int) {
		rlo, rhi, close := math.Inf(1), math.Inf(-1), false
		for i := lo; i < hi; i++ {
			nx := g.nx[i]
			for j, v := range xy[i*m : (i+1)*m] {
				s := nx + g.ny[j]
				d2 := max(0, s-2*float64(v))
				if g.sym && i == j {
					d2 = 0
				} else if d2 < resolvedSq*s {
					close = true
				}
				rlo, rhi = min(rlo, d2), max(rhi, d2)
			}
		}
		los[blk], his[blk], nears[blk] = min(los[blk], rlo), max(his[blk], rhi), nears[blk] || close
	})
	return c.fromSq(floats.Min(los)), c.fromSq(floats.Max(his)), slices.Contains(nears, true)
}

// resolvedSq is the smallest squared distance, relative to |x_i|² + |y_j|², at which
// a float32 record takes a cost power p < 2: the float32 rounding Δ of d² (|Δ| ≤
// 2^-20·|x_i||y_j|, see unrolled32) is then at most 2^-11 of d², so that the cost errs
// by at most (p/2)·2^-11 of itself and c'(d²) by (1 − p/2)·2^-11. Closer pairs, and
// coincident points of x and y (whose float32 squared distance is rounding, for p = 1
// a cost of up to 2^-10·|x|), make the record run in float64.
const resolvedSq = 0x1p-10

// matrix returns the n×m float64 cost (see costRow) in a pooled buffer.
func (g *gram32) matrix(c Cost) []float64 {
	n, m := g.x.Rows, g.y.Rows
	xy := g.takeProducts()
	defer parallel.Float32.Put(xy)
	C := parallel.Float64.Get(n * m) // every entry is written
	parallel.For(n, m, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			g.costRow(c, i, xy[i*m:(i+1)*m], C[i*m:(i+1)*m])
		}
	})
	return C
}

// addGrad adds Σ_j C̄_ij ∇_x c(x_i,y_j) to gx and Σ_i C̄_ij ∇_y c(x_i,y_j) to gy for the
// quadratic cost s|x−y|²: 2s·(diag(C̄1)x − C̄y) and 2s·(diag(C̄ᵀ1)y − C̄ᵀx), each one
// float32 product accumulated into the destination. When x = y and gx = gy the two
// terms are one: 2s·(diag(S1)x − Sx) with S = C̄ + C̄ᵀ. A nil destination is skipped.
// Other powers take the same products with C̄ weighted by c'(d²) (addGradBlocked, on
// the whole C̄ a block at a time: the same bits as a large record's blocked pass).
func (g *gram32) addGrad(Cbar *mat.Dense, cost Cost, gx, gy []float32) {
	n, m := g.x.Rows, g.y.Rows
	cb := parallel.Float32.Get(n * m)
	defer parallel.Float32.Put(cb)
	if cost.Power != 2 {
		g.addGradBlocked(denseCbar{Cbar}, cost, gx, gy, cb)
		return
	}
	s := 2 * cost.Scale
	raw := Cbar.RawMatrix()
	if g.sym && gx != nil && gy != nil && &gx[0] == &gy[0] {
		r := make([]float64, n)
		parallel.For(n, n, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				row := cb[i*n : (i+1)*n]
				sum := 0.0
				for j := range row {
					v := raw.Data[i*raw.Stride+j] + raw.Data[j*raw.Stride+i]
					sum += v
					row[j] = float32(v)
				}
				r[i] = sum
			}
		})
		g.addWeighted(cb, r, nil, s, gx, nil) // y is x
		return
	}
	// Row sums by rows and column sums by columns, each in index order whatever the
	// split between CPUs.
	r := make([]float64, n)
	parallel.For(n, m, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row, dst := raw.Data[i*raw.Stride:i*raw.Stride+m], cb[i*m:(i+1)*m]
			sum := 0.0
			for j, v := range row {
				sum += v
				dst[j] = float32(v)
			}
			r[i] = sum
		}
	})
	var c []float64
	if gy != nil {
		c = make([]float64, m)
		parallel.For(m, n, func(_, lo, hi int) {
			for i := 0; i < n; i++ {
				for j, v := range raw.Data[i*raw.Stride+lo : i*raw.Stride+hi] {
					c[lo+j] += v
				}
			}
		})
	}
	g.addWeighted(cb, r, c, s, gx, gy)
}

// backward32Blocked is Backward for a large float32 record in the scaling domain with
// float32 destinations (nil ones skipped): C̄ is made a block at a time (see
// gram32.addGradBlocked), never whole in float64, and its float32 copy overwrites the
// rebuilt float32 kernel as the kernel is used up. The same bits as Backward's
// addGrad(adjoint).
func (u *Unrolled) backward32Blocked(dDual, dPrimal float64, gx, gy []float32) {
	if gx == nil && gy == nil {
		return
	}
	K := u.kernel()
	f := u.adjointFactors(dDual, dPrimal, K)
	defer f.release()
	cb := K.k32
	if cb == nil || len(u.k32) > 0 && &cb[0] == &u.k32[0] { // a float64 kernel, or one the record keeps
		cb = parallel.Float32.Get(u.p.n * u.p.m)
		defer u.putKernel(K)
	}
	defer parallel.Float32.Put(cb)
	u.g32.addGradBlocked(f, u.cost, gx, gy, cb)
}

// cbarSource makes C̄ a block at a time (see cbarFactors.fill).
type cbarSource interface {
	fill(i0, i1, j0, j1 int, dst []float64)
}

// denseCbar is a whole C̄ read a block at a time.
type denseCbar struct{ *mat.Dense }

func (c denseCbar) fill(i0, i1, j0, j1 int, dst []float64) {
	w := j1 - j0
	for i := i0; i < i1; i++ {
		copy(dst[(i-i0)*w:(i-i0+1)*w], c.RawRowView(i)[j0:j1])
	}
}

// addGradBlocked is addGrad for C̄ = f made a block at a time, its float32 copy written
// to cb (which may be f's kernel: each block of the kernel is read before cb's same
// block is written). Row and column sums run in index order as in addGrad: the
// symmetric case takes the blocks (I, J) for J ≥ I by rows I in order, so that row i
// receives the blocks J = 0, 1, … in turn. For a power p ≠ 2, ∇_x c(x,y) =
// 2c'(|x−y|²)(x − y), so C̄ is replaced by W = C̄ ∘ c'(D) (D the squared distances,
// derivBlock) and the products are those of the quadratic cost with s = 1.
func (g *gram32) addGradBlocked(f cbarSource, cost Cost, gx, gy, cb []float32) {
	n, m := g.x.Rows, g.y.Rows
	r := make([]float64, n)
	s := 2 * cost.Scale
	var db *derivBlocks // nil for p = 2, whose c' is the constant Scale
	if cost.Power != 2 {
		s, db = 2, g.newDerivBlocks(cost)
		defer db.release()
	}
	if g.sym && gx != nil && gy != nil && &gx[0] == &gy[0] {
		bl := cbarBlocks(n)
		side := maxBlock(bl)
		t1, t2 := parallel.Float64.Get(side*side), parallel.Float64.Get(side*side)
		defer parallel.Float64.Put(t1)
		defer parallel.Float64.Put(t2)
		for I := 0; I+1 < len(bl); I++ {
			i0, i1 := bl[I], bl[I+1]
			h := i1 - i0
			for J := I; J+1 < len(bl); J++ {
				j0, j1 := bl[J], bl[J+1]
				w := j1 - j0
				f.fill(i0, i1, j0, j1, t1) // C̄[I,J]
				tt := t1
				if I != J {
					f.fill(j0, j1, i0, i1, t2) // C̄[J,I]
					tt = t2
				}
				cp := db.block(i0, i1, j0, j1) // c'(D[I,J]), or nil
				parallel.For(h, w, func(_, lo, hi int) {
					for a := lo; a < hi; a++ {
						sum, dst := r[i0+a], cb[(i0+a)*n+j0:(i0+a)*n+j1]
						for b := range dst {
							v := t1[a*w+b] + tt[b*h+a]
							if cp != nil {
								v *= cp[a*w+b]
							}
							sum += v
							dst[b] = float32(v)
						}
						r[i0+a] = sum
					}
				})
				if I == J {
					continue
				}
				parallel.For(w, h, func(_, lo, hi int) {
					for b := lo; b < hi; b++ {
						sum, dst := r[j0+b], cb[(j0+b)*n+i0:(j0+b)*n+i1]
						for a := range dst {
							v := t2[b*h+a] + t1[a*w+b]
							if cp != nil {
								v *= cp[a*w+b] // D is symmetric: c'(D[J,I]) = c'(D[I,J])ᵀ
							}
							sum += v
							dst[a] = float32(v)
						}
						r[j0+b] = sum
					}
				})
			}
		}
		g.addWeighted(cb, r, nil, s, gx, nil) // y is x
		return
	}
	// Blocks (I, J) by rows I in order, then columns J in order: row i's sum takes
	// j = 0, 1, … in turn, and so does column j's over i.
	var c []float64
	if gy != nil {
		c = make([]float64, m)
	}
	bi, bj := cbarBlocks(n), cbarBlocks(m)
	t := parallel.Float64.Get(maxBlock(bi) * maxBlock(bj))
	defer parallel.Float64.Put(t)
	for I := 0; I+1 < len(bi); I++ {
		i0, i1 := bi[I], bi[I+1]
		for J := 0; J+1 < len(bj); J++ {
			j0, j1 := bj[J], bj[J+1]
			w := j1 - j0
			f.fill(i0, i1, j0, j1, t)
			cp := db.block(i0, i1, j0, j1)
			parallel.For(i1-i0, w, func(_, lo, hi int) {
				for a := lo; a < hi; a++ {
					sum, dst := r[i0+a], cb[(i0+a)*m+j0:(i0+a)*m+j1]
					row := t[a*w : (a+1)*w]
					if cp != nil { // W for the row and, below, the column sums
						floats.Mul(row, cp[a*w:(a+1)*w])
					}
					for b, v := range row {
						sum += v
						dst[b] = float32(v)
					}
					r[i0+a] = sum
				}
			})
			if c != nil {
				parallel.For(w, i1-i0, func(_, lo, hi int) {
					for a := 0; a < i1-i0; a++ {
						for b, v := range t[a*w+lo : a*w+hi] {
							c[j0+lo+b] += v
						}
					}
				})
			}
		}
	}
	g.addWeighted(cb, r, c, s, gx, gy)
}

// derivBlocks makes c'(d²_ij) a block at a time for addGradBlocked.
type derivBlocks struct {
	g    *gram32
	c    Cost
	prod []float32 // the block's x·yᵀ
	cp   []float64
}

func (g *gram32) newDerivBlocks(c Cost) *derivBlocks {
	side := maxBlock(cbarBlocks(g.x.Rows)) * maxBlock(cbarBlocks(g.y.Rows))
	return &derivBlocks{g: g, c: c, prod: parallel.Float32.Get(side), cp: parallel.Float64.Get(side)}
}

// block returns c'(d²_ij) over [i0,i1)×[j0,j1), row-major with stride j1−j0, or nil
// for a nil receiver. The squared distances are costRow's, |x_i|² + |y_j|² − 2x_i·y_j
// clamped at zero and zero on the diagonal of x = y, from one float32 product of the
// block's rows (whose entries do not depend on the other blocks; fastblas.Gram for a
// diagonal block of x = y); c'(0) is 0 (see Cost.derivSq).
func (db *derivBlocks) block(i0, i1, j0, j1 int) []float64 {
	if db == nil {
		return nil
	}
	g, h, w, d := db.g, i1-i0, j1-j0, db.g.x.Cols
	prod, cp := db.prod[:h*w], db.cp[:h*w]
	if g.sym && i0 == j0 && i1 == j1 { // a diagonal block of x·xᵀ: its upper triangle
		fastblas.Gram(h, d, g.x.Data[i0*d:], d, prod, w)
	} else {
		sgemm.Sgemm(blas.NoTrans, blas.Trans, h, w, d, 1, g.x.Data[i0*d:], d, g.y.Data[j0*d:], d, 0, prod, w)
	}
	parallel.For(h, w, func(_, lo, hi int) {
		for a := lo; a < hi; a++ {
			i, nx := i0+a, g.nx[i0+a]
			for b, v := range prod[a*w : (a+1)*w] {
				s := max(0, nx+g.ny[j0+b]-2*float64(v))
				if g.sym && i == j0+b {
					s = 0
				}
				cp[a*w+b] = db.c.derivSq(s)
			}
		}
	})
	return cp
}

func (db *derivBlocks) release() {
	parallel.Float32.Put(db.prod)
	parallel.Float64.Put(db.cp)
}

// maxBlock returns the longest block of cbarBlocks' bounds bl.
func maxBlock(bl []int) int {
	side := 0
	for k := 1; k < len(bl); k++ {
		side = max(side, bl[k]-bl[k-1])
	}
	return side
}

// addWeighted adds the gradients of s·Σ_ij W_ij |x_i − y_j|² given the n×m weights w
// (float32) and their row and column sums r, c: s(r_i x_i − (W y)_i) to row i of gx and
// s(c_j y_j − (Wᵀx)_j) to row j of gy, each skipped when nil.
func (g *gram32) addWeighted(w []float32, r, c []float64, s float64, gx, gy []float32) {
	n, m, d := g.x.Rows, g.y.Rows, g.x.Cols
	if gx != nil {
		sgemm.Sgemm(blas.NoTrans, blas.NoTrans, n, d, m, float32(-s), w, m, g.y.Data, d, 1, gx, d)
		addScaledRows(gx, s, r, g.x)
	}
	if gy != nil {
		sgemm.Sgemm(blas.Trans, blas.NoTrans, m, d, n, float32(-s), w, m, g.x.Data, d, 1, gy, d)
		addScaledRows(gy, s, c, g.y)
	}
}

// addScaledRows adds s·w_i·x_i to row i of dst.
func addScaledRows(dst []float32, s float64, w []float64, x points32) {
	d := x.Cols
	parallel.For(x.Rows, d, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			f := float32(s * w[i])
			row, src := dst[i*d:(i+1)*d], x.Data[i*d:(i+1)*d]
			for k, v := range src {
				row[k] += f * v
			}
		}
	})
}

// unrolled32 is UnrolledSinkhorn for float32 points, with the squared norms of x and
// y when known. The squared distances |x_i|² + |y_j|² − 2x_i·y_j come from one float32
// product x·yᵀ (internal/fastblas's Sgemm, or its Gram for x = y) and the rest (norms,
// costs s·(d²)^{p/2}, iterations, adjoints) runs in float64: the squared distances then
// carry the float32 rounding Δ of x_i·y_j (|Δ| ≤ 2^-20·|x_i||y_j| observed in 784-D;
// about 1e-7·|x||y| typically), as in a float32 PyTorch loop, and the costs at most
// s·(p/2)·(d² ∓ |Δ|)^{p/2−1}·|Δ| (first order; the larger of the two). For p < 2
// that grows without bound as d → 0 (for p = 1 up to √|Δ| ≈ 2^-10·|x|), so a problem
// with two distinct points closer than resolvedSq allows converts the points to
// float64 instead. In the scaling domain the kernel K is stored in float32 where its
// error stays at that level (see Unrolled.kernel32: every sum of the sweeps,
// accumulated in float64, within 2^-23 relative, so after L updates the potentials
// within ε·L·2^-22 of a float64 kernel's), halving the memory and bandwidth of the
// sweeps. sym as in unrolled64.
func unrolled32(x, y points32, nx, ny []float64, a, b []float64, c Cost, eps float64, o UnrolledOptions, sym bool) (*Unrolled, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	c = c.orDefault()
	if err := x.check("x"); err != nil {
		return nil, err
	}
	if err := y.check("y"); err != nil {
		return nil, err
	}
	if x.Cols != y.Cols {
		return nil, invalid("x has dimension %d but y has %d", x.Cols, y.Cols)
	}
	n, m := x.Rows, y.Rows
	if e := unrolled32Matrices(n, m, false); !fitsDense(e) {
		return nil, denseFits(fmt.Sprintf("unrolled sinkhorn between %d and %d points", n, m), e)
	}
	a, err := weights("a", a, n)
	if err != nil {
		return nil, err
	}
	if b, err = weights("b", b, m); err != nil {
		return nil, err
	}
	g := &gram32{x: x, y: y, nx: nx, ny: ny, sym: x.same(y)}
	if g.nx == nil {
		if g.nx, err = x.sqNorms("x"); err != nil {
			return nil, err
		}
	}
	if g.sym {
		g.ny = g.nx
	} else if g.ny == nil {
		if g.ny, err = y.sqNorms("y"); err != nil {
			return nil, err
		}
	}
	// The cost is finite: the norms are, and so is every float32 product. No float64
	// cost matrix is made here: the forward pass turns the products into a float32
	// kernel in place when kernel32 allows, and builds p.C from them otherwise.
	g.xy = g.products()
	lo, hi, near := g.bounds(c, g.xy)
	if near && c.Power < 2 {
		parallel.Float32.Put(g.xy)
		xd := x.dense()
		yd := xd
		if !g.sym {
			yd = y.dense()
		}
		return unrolled64(xd, yd, a, b, c, eps, o, sym)
	}
	p := &problem{n: n, m: m, a: a, b: b, loga: logs(a), logb: logs(b), lo: lo, hi: hi, boundsKnown: true}
	return newUnrolled(p, c, eps, o, nil, nil, g, sym)
}

// unrolled32Matrices is unrolledMatrices for float32 points, float32 entries counted as
// half. The log domain (annealing, a flat or underflowing kernel) holds the most: each
// record's float64 cost and its transpose, and in the backward pass C̄ with its
// float32 copy (1½ of the largest). The scaling domain holds a float32 kernel per
// record, made in place of x·yᵀ (½ each, one at a time above keepKernelMax), and in the
// backward pass besides the kernel at most the primal's direct term and cost, then C̄
// and its float32 copy (2½ of the largest; above keepKernelMax without the primal, only
// the kernel, overwritten by the float32 copy of C̄ made a block at a time).
func unrolled32Matrices(n, m int, div bool) float64 {
	if !div {
		return 3.5 * area(n, m)
	}
	return 2*(area(n, m)+area(n, n)+area(m, m)) + 1.5*max(area(n, m), area(n, n), area(m, m))
}

// addCostGrad32 maps ∂/∂C to float32 point gradients: by float32 products for a
// float32 record, otherwise through float64 gradients added at the end.
func (u *Unrolled) addCostGrad32(Cbar *mat.Dense, gx, gy []float32) {
	if u.g32 != nil {
		u.g32.addGrad(Cbar, u.cost, gx, gy)
		return
	}
	var dx, dy *mat.Dense
	if gx != nil {
		dx = mat.NewDense(u.p.n, dimOf(u.x), nil)
	}
	switch {
	case gy == nil:
	case gx != nil && &gx[0] == &gy[0]:
		dy = dx
	default:
		dy = mat.NewDense(u.p.m, dimOf(u.y), nil)
	}
	u.addCostGrad(Cbar, dx, dy)
	add := func(dst []float32, src *mat.Dense) {
		for i, v := range src.RawMatrix().Data {
			dst[i] += float32(v)
		}
	}
	if dx != nil {
		add(gx, dx)
	}
	if dy != nil && dy != dx {
		add(gy, dy)
	}
}

// float64Points returns the record's points as float64 matrices, converting float32
// ones once.
func (u *Unrolled) float64Points() (x, y *mat.Dense) {
	if u.x == nil && u.g32 != nil {
		u.x = u.g32.x.dense()
		u.y = u.x
		if !u.g32.sym {
			u.y = u.g32.y.dense()
		}
	}
	return u.x, u.y
}
