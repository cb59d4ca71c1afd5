package fastblas

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// Implementation is gonum's BLAS with a faster Sgemm. The zero value is ready to use.
type Implementation struct {
	gonum.Implementation
}

const (
	kc = 256 // largest k block: an mr×kc panel of A and a kc×nr panel of B stay in L1/L2
	mc = 120 // rows of A packed at a time (a multiple of every tiling's mr)
	nc = 2048

	// smallWork is the number of multiply-adds below which gonum's unpacked loops win.
	smallWork = 1 << 15
	// parallelWork is the number of multiply-adds above which Sgemm splits across cores.
	parallelWork = 1 << 18
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C, where op(X) is X or Xᵀ, op(A) is m×k,
// op(B) k×n and C m×n, all row-major with leading dimensions lda, ldb, ldc. It panics
// on invalid arguments, as every BLAS routine does.
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !packed(m, n, k, alpha) {
		impl.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	aT, bT := checkGemm(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	sc := sgemmCalls.Get().(*sgemmCall)
	defer sgemmCalls.Put(sc)
	p := &sc.p
	*p = problem{t: tilingOf(active), aT: aT, bT: bT, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, alpha: alpha, beta: beta}
	defer func() { *p = problem{} }() // the pool keeps no caller's matrices alive
	// Split the longer side into whole tiles, one contiguous range of tiles per CPU,
	// from parallelWork multiply-adds on.
	sc.m, sc.n, sc.k, sc.split, sc.tile = m, n, k, n, p.t.nr
	if m > n {
		sc.split, sc.tile = m, p.t.mr
	}
	tileCost := parallel.MinWork // any split pays
	if m*n*k < parallelWork {
		tileCost = 0
	}
	parallel.For((sc.split+sc.tile-1)/sc.tile, tileCost, sc.body)
}

// sgemmCall is one Sgemm call and how it is split. It is pooled together with body,
// its bound run method, so that a call allocates nothing: a closure over the problem
// would move both to the heap on every call.
type sgemmCall struct {
	p                    problem
	m, n, k, split, tile int
	body                 func(block, lo, hi int)
}

var sgemmCalls = sync.Pool{New: func() any {
	sc := new(sgemmCall)
	sc.body = sc.run
	return sc
}}

// run computes the tiles [lo, hi) of the split side.
func (sc *sgemmCall) run(_, lo, hi int) {
	lo, hi = lo*sc.tile, min(hi*sc.tile, sc.split)
	if sc.split == sc.n {
		sc.p.run(0, sc.m, lo, hi, sc.k)
	} else {
		sc.p.run(lo, hi, 0, sc.n, sc.k)
	}
}

// SgemmSerial is Implementation.Sgemm on the calling goroutine only, for callers that
// parallelize over many small products themselves.
func SgemmSerial(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !packed(m, n, k, alpha) {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	aT, bT := checkGemm(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	p := problem{t: tilingOf(active), aT: aT, bT: bT, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, alpha: alpha, beta: beta}
	p.run(0, m, 0, n, k)
}

// packed reports whether an m×n×k product runs packed on the active path's micro-kernel.
// Small products and thin ones (a few rows or columns waste most of a tile) run
// gonum's loops, as does every product on the pure-Go path.
func packed(m, n, k int, alpha float32) bool {
	if active == PureGo || m*n*k < smallWork || alpha == 0 || k == 0 {
		return false
	}
	t := tilingOf(active)
	return n >= t.nr/2 && m >= t.mr/2
}

// problem is one Sgemm call; run computes the block C[i0:i1, j0:j1].
type problem struct {
	t           tiling
	upper       bool // compute only the tiles that reach the diagonal or lie above it
	aT, bT      bool
	a, b, c     []float32
	lda, ldb    int
	ldc         int
	alpha, beta float32
}

func (p *problem) run(i0, i1, j0, j1, k int) {
	mr, nr, kernel := p.t.mr, p.t.nr, p.t.kern
	// Balanced k blocks: 784 becomes 4×196 rather than 3×256 + 16.
	kb := (k + kc - 1) / kc
	kstep := (k + kb - 1) / kb
	// Packed panels of op(A) and op(B) at their largest, and a scratch edge tile.
	packA := parallel.Float32.Get(min(mc, roundUp(i1-i0, mr)) * kstep)
	packB := parallel.Float32.Get(roundUp(min(nc, j1-j0), nr) * kstep)
	defer parallel.Float32.Put(packA)
	defer parallel.Float32.Put(packB)
	// A pooled edge tile: an array on the stack would escape to the heap on every call,
	// through the kernel function value. Zeroed, as that array was, so that no stale
	// NaN meets the kernel's beta = 0.
	edge := parallel.Float32.Get(mr * nr)
	defer parallel.Float32.Put(edge)
	clear(edge)
	for jc := j0; jc < j1; jc += nc {
		ncur := min(nc, j1-jc)
		npan := (ncur + nr - 1) / nr
		for pc := 0; pc < k; pc += kstep {
			kcur := min(kstep, k-pc)
			beta := p.beta
			if pc > 0 {
				beta = 1
			}
			p.packB(packB, pc, kcur, jc, ncur)
			for ic := i0; ic < i1; ic += mc {
				if p.upper && ic >= jc+ncur {
					break // the remaining rows lie below every column of this range
				}
				mcur := min(mc, i1-ic)
				mpan := (mcur + mr - 1) / mr
				p.packA(packA, ic, mcur, pc, kcur)
				for jp := 0; jp < npan; jp++ {
					bp := packB[jp*nr*kcur:]
					j := jc + jp*nr
					cols := min(nr, j1-j)
					for ip := 0; ip < mpan; ip++ {
						ap := packA[ip*mr*kcur:]
						i := ic + ip*mr
						if p.upper && i >= j+nr {
							break // this tile and those below it lie under the diagonal
						}
						rows := min(mr, i1-i)
						if rows == mr && cols == nr {
							kernel(kcur, ap, bp, p.c[i*p.ldc+j:], p.ldc, p.alpha, beta)
							continue
						}
						// Edge tile: compute into a scratch tile, then add the part inside C.
						kernel(kcur, ap, bp, edge, nr, p.alpha, 0)
						for r := 0; r < rows; r++ {
							crow := p.c[(i+r)*p.ldc+j : (i+r)*p.ldc+j+cols]
							erow := edge[r*nr : r*nr+cols]
							if beta == 0 {
								copy(crow, erow)
								continue
							}
							for q, v := range erow {
								crow[q] = v + beta*crow[q]
							}
						}
					}
				}
			}
		}
	}
}

// packA copies op(A)[i0:i0+rows, p0:p0+kk] into panels of mr rows, each stored k-major
// (mr values per k), zero-padding the last panel.
func (p *problem) packA(dst []float32, i0, rows, p0, kk int) {
	mr := p.t.mr
	panels := (rows + mr - 1) / mr
	for ip := 0; ip < panels; ip++ {
		d := dst[ip*mr*kk : (ip+1)*mr*kk]
		if ip*mr+mr <= rows {
			p.packAFull(d, i0+ip*mr, p0, kk)
			continue
		}
		for r := 0; r < mr; r++ {
			i := i0 + ip*mr + r
			if ip*mr+r >= rows {
				for q := 0; q < kk; q++ {
					d[q*mr+r] = 0
				}
				continue
			}
			if p.aT { // A is k×m: op(A)[i][q] = a[q·lda + i]
				src := p.a[p0*p.lda+i:]
				for q := 0; q < kk; q++ {
					d[q*mr+r] = src[q*p.lda]
				}
			} else {
				src := p.a[i*p.lda+p0 : i*p.lda+p0+kk]
				for q, v := range src {
					d[q*mr+r] = v
				}
			}
		}
	}
}

// packAFull packs one whole panel, rows i..i+mr of op(A), with contiguous writes:
// mr values per k, read from mr rows (A as stored, six at a time) or one row of Aᵀ.
func (p *problem) packAFull(d []float32, i, p0, kk int) {
	mr := p.t.mr
	d = d[:kk*mr]
	if p.aT { // op(A)[i+r][q] = a[(p0+q)·lda + i + r]: mr contiguous values per q
		for q := 0; q < kk; q++ {
			copy(d[q*mr:q*mr+mr], p.a[(p0+q)*p.lda+i:])
		}
		return
	}
	lda := p.lda
	for r := 0; r < mr; r += 6 {
		s0 := p.a[(i+r)*lda+p0:][:kk]
		s1 := p.a[(i+r+1)*lda+p0:][:kk]
		s2 := p.a[(i+r+2)*lda+p0:][:kk]
		s3 := p.a[(i+r+3)*lda+p0:][:kk]
		s4 := p.a[(i+r+4)*lda+p0:][:kk]
		s5 := p.a[(i+r+5)*lda+p0:][:kk]
		for q := range s0 {
			t := (*[6]float32)(d[q*mr+r:])
			t[0], t[1], t[2], t[3], t[4], t[5] = s0[q], s1[q], s2[q], s3[q], s4[q], s5[q]
		}
	}
}

// packBFullT packs one whole panel of nr columns j..j+nr of op(B) = Bᵀ (B stored n×k)
// with contiguous writes: nr values per k, one from each of nr rows of B.
func (p *problem) packBFullT(d []float32, p0, kk, j int) {
	nr := p.t.nr
	d = d[:kk*nr]
	ldb := p.ldb
	var rows [32][]float32
	s := rows[:nr]
	for c := range s {
		s[c] = p.b[(j+c)*ldb+p0:][:kk]
	}
	// Four columns of the panel at a time: four source rows stay in registers.
	for c0 := 0; c0 < nr; c0 += 4 {
		a, b, c, e := s[c0], s[c0+1], s[c0+2], s[c0+3]
		for q := range a {
			t := (*[4]float32)(d[q*nr+c0:])
			t[0], t[1], t[2], t[3] = a[q], b[q], c[q], e[q]
		}
	}
}

// packB copies op(B)[p0:p0+kk, j0:j0+cols] into panels of nr columns, each stored
// k-major (nr values per k), zero-padding the last panel.
func (p *problem) packB(dst []float32, p0, kk, j0, cols int) {
	nr := p.t.nr
	panels := (cols + nr - 1) / nr
	for jp := 0; jp < panels; jp++ {
		d := dst[jp*nr*kk : (jp+1)*nr*kk]
		w := min(nr, cols-jp*nr)
		j := j0 + jp*nr
		if p.bT && w == nr {
			p.packBFullT(d, p0, kk, j)
			continue
		}
		if !p.bT && w == nr {
			for q := 0; q < kk; q++ {
				copy(d[q*nr:q*nr+nr], p.b[(p0+q)*p.ldb+j:])
			}
			continue
		}
		if p.bT { // B is n×k: op(B)[q][j] = b[j·ldb + q]
			for c := 0; c < nr; c++ {
				if c >= w {
					for q := 0; q < kk; q++ {
						d[q*nr+c] = 0
					}
					continue
				}
				src := p.b[(j+c)*p.ldb+p0 : (j+c)*p.ldb+p0+kk]
				for q, v := range src {
					d[q*nr+c] = v
				}
			}
			continue
		}
		for q := 0; q < kk; q++ {
			row := d[q*nr : (q+1)*nr]
			n := copy(row[:w], p.b[(p0+q)*p.ldb+j:])
			clear(row[n:])
		}
	}
}

// roundUp rounds n up to a multiple of r.
func roundUp(n, r int) int { return (n + r - 1) / r * r }

// checkGemm panics as gonum's Sgemm does on invalid arguments and reports whether A
// and B are transposed.
func checkGemm(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) (aT, bT bool) {
	if tA != blas.NoTrans && tA != blas.Trans && tA != blas.ConjTrans ||
		tB != blas.NoTrans && tB != blas.Trans && tB != blas.ConjTrans {
		panic("blas: illegal transpose")
	}
	aT, bT = tA != blas.NoTrans, tB != blas.NoTrans
	switch {
	case m < 0:
		panic("blas: m < 0")
	case n < 0:
		panic("blas: n < 0")
	case k < 0:
		panic("blas: k < 0")
	case aT && lda < max(1, m) || !aT && lda < max(1, k):
		panic("blas: bad leading dimension of A")
	case bT && ldb < max(1, k) || !bT && ldb < max(1, n):
		panic("blas: bad leading dimension of B")
	case ldc < max(1, n):
		panic("blas: bad leading dimension of C")
	case aT && len(a) < (k-1)*lda+m || !aT && len(a) < (m-1)*lda+k:
		panic("blas: insufficient length of a")
	case bT && len(b) < (n-1)*ldb+k || !bT && len(b) < (k-1)*ldb+n:
		panic("blas: insufficient length of b")
	case len(c) < (m-1)*ldc+n:
		panic("blas: insufficient length of c")
	}
	return aT, bT
}

// gramBlock is the number of rows of a block of Gram's upper triangle: a multiple of
// every tiling's mr, small enough that the triangle wastes little beside the diagonal.
const gramBlock = 48

// Gram sets the n×n matrix C = A·Aᵀ for A n×k (row-major, leading dimensions lda and
// ldc), computing only the micro-tiles that reach the diagonal or lie above it and
// mirroring them: about half the multiply-adds of a full product for large n, with
// the same packing. Each computed entry is the one Sgemm computes (the same chain of
// fused multiply-adds), so the result is as deterministic as Sgemm's, and exactly
// symmetric.
func Gram(n, k int, a []float32, lda int, c []float32, ldc int) {
	if !packed(n, n, k, 1) {
		Implementation{}.Sgemm(blas.NoTrans, blas.Trans, n, n, k, 1, a, lda, a, lda, 0, c, ldc)
		mirrorLower(n, c, ldc)
		return
	}
	checkGemm(blas.NoTrans, blas.Trans, n, n, k, a, lda, a, lda, c, ldc)
	gc := gramCalls.Get().(*gramCall)
	gc.p = problem{t: tilingOf(active), upper: true, bT: true, a: a, lda: lda, b: a, ldb: lda, c: c, ldc: ldc, alpha: 1}
	// Column tile j costs about j: split the columns where the triangle's area, ∝ j²,
	// is balanced between the CPUs.
	gc.n, gc.k, gc.nb = n, k, 1
	if n*n*k >= 2*parallelWork {
		gc.nb = parallel.MaxBlocks()
	}
	parallel.Phases(1, gc.nb, gc.body)
	gc.p = problem{} // the pool keeps no caller's matrices alive
	gramCalls.Put(gc)
	mirrorLower(n, c, ldc)
}

// gramCall is one Gram call, pooled with body, its bound run method, as sgemmCall is.
type gramCall struct {
	p        problem
	n, k, nb int
	body     func(phase, block int)
}

var gramCalls = sync.Pool{New: func() any {
	gc := new(gramCall)
	gc.body = gc.run
	return gc
}}

// bound is where column block b starts.
func (gc *gramCall) bound(b int) int {
	return min(gc.n, roundUp(int(float64(gc.n)*math.Sqrt(float64(b)/float64(gc.nb))), gc.p.t.nr))
}

// run computes column block b of the upper triangle.
func (gc *gramCall) run(_, b int) {
	if lo, hi := gc.bound(b), gc.bound(b+1); lo < hi {
		gc.p.run(0, min(gc.n, hi), lo, hi, gc.k)
	}
}

// mirrorLower copies the upper triangle of the n×n matrix c onto the lower one, in
// square tiles so that both the rows read and the rows written stay in cache.
func mirrorLower(n int, c []float32, ldc int) {
	const t = 64
	parallel.For((n+t-1)/t, t*n, func(_, lo, hi int) {
		for ib := lo * t; ib < min(hi*t, n); ib += t {
			for jb := 0; jb <= ib; jb += t {
				for i := ib; i < min(ib+t, n); i++ {
					row := c[i*ldc:]
					for j := jb; j < min(jb+t, i); j++ {
						row[j] = c[j*ldc+i]
					}
				}
			}
		}
	})
}
