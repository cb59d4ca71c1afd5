package ot

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

// Support is the common support of fixed-support barycenters: the points of the
// barycenter, the points of the input histograms and the ground cost between them.
// It is either a dense cost matrix (DenseSupport) or a regular grid (Grid), whose
// separable kernel is applied by two small matrix products instead of one n×n product.
type Support interface {
	// Dims returns the number of barycenter points m and of histogram points n.
	Dims() (m, n int)
	// baryKernel validates the support and builds its Gibbs kernel at ε.
	baryKernel(eps float64) (baryKernel, error)
}

// baryKernel applies the Gibbs kernel K = exp(−C/ε) (m×n) of a support to a batch of
// vectors stored one after another in a flat slice: x holds N vectors of length n
// (for mul) or m (for mulT), dst receives N vectors of length m (or n).
type baryKernel interface {
	dims() (m, n int)
	// mul sets dst_k = K x_k.
	mul(dst, x []float64, N int)
	// mulT sets dst_k = Kᵀ x_k.
	mulT(dst, x []float64, N int)
	// logMul sets dst_k,i = log Σ_j exp(x_k,j − C_ij/ε), the log-domain K·exp(x).
	logMul(dst, x []float64, N int)
	// logMulT sets dst_k,j = log Σ_i exp(x_k,i − C_ij/ε).
	logMulT(dst, x []float64, N int)
}

// DenseSupport is the support given by an m×n cost matrix C: the barycenter lives on
// m points, the histograms on n points, and C_ij is the cost between them. Usually
// m = n and C is the cost of one point cloud with itself (see Cost.Matrix).
func DenseSupport(C *mat.Dense) Support { return denseSupport{C} }

type denseSupport struct{ C *mat.Dense }

func (s denseSupport) Dims() (m, n int) {
	if s.C == nil || s.C.IsEmpty() {
		return 0, 0
	}
	return s.C.Dims()
}

func (s denseSupport) baryKernel(eps float64) (baryKernel, error) {
	if s.C == nil || s.C.IsEmpty() {
		return nil, invalid("barycenter: cost matrix is empty")
	}
	m, n := s.C.Dims()
	// the cost, K' and K'ᵀ, and their logs
	if err := denseFits(fmt.Sprintf("a barycenter on a %d×%d cost matrix", m, n), 5*area(m, n)); err != nil {
		return nil, err
	}
	if err := costMatrix(s.C, m, n); err != nil {
		return nil, err
	}
	cmin := 0.0
	for i := 0; i < m; i++ {
		for _, c := range s.C.RawRowView(i) {
			cmin = min(cmin, c)
		}
	}
	return &baryDense{m: m, n: n, C: s.C, eps: eps, cmin: cmin, shift: -cmin / eps}, nil
}

// baryDense is the kernel of a dense cost matrix, stored for the shifted cost
// C − c₀ ≥ 0 with c₀ = min(0, min C) (so that its entries are at most 1): K' =
// exp(−(C − c₀)/ε) and K'ᵀ, and their logs L' and L'ᵀ, each built when first needed;
// K = e^shift K' with shift = −c₀/ε. The cost matrix is the caller's and only read.
type baryDense struct {
	m, n        int
	C           *mat.Dense
	eps         float64
	cmin, shift float64
	K, Kt       *mat.Dense // m×n, n×m
	L, Lt       []float64  // m×n, n×m, row-major
	wt          *mat.Dense // scratch for products, (m or n)×N
	scratch     baryLogScratch
}

func (k *baryDense) dims() (int, int) { return k.m, k.n }

func (k *baryDense) scalingKernels() {
	if k.K != nil {
		return
	}
	k.K, k.Kt = mat.NewDense(k.m, k.n, nil), mat.NewDense(k.n, k.m, nil)
	kd, ktd := k.K.RawMatrix().Data, k.Kt.RawMatrix().Data
	for i := 0; i < k.m; i++ {
		row := kd[i*k.n : (i+1)*k.n]
		for j, c := range k.C.RawRowView(i) {
			row[j] = -(c - k.cmin) / k.eps
		}
		expSlice(row)
		for j, v := range row {
			ktd[j*k.m+i] = v
		}
	}
}

func (k *baryDense) logKernels() {
	if k.L != nil {
		return
	}
	k.L, k.Lt = make([]float64, k.m*k.n), make([]float64, k.m*k.n)
	for i := 0; i < k.m; i++ {
		for j, c := range k.C.RawRowView(i) {
			l := -(c - k.cmin) / k.eps
			k.L[i*k.n+j], k.Lt[j*k.m+i] = l, l
		}
	}
}

func (k *baryDense) mul(dst, x []float64, N int) {
	k.scalingKernels()
	k.product(dst, x, k.K, k.m, k.n, N)
}

func (k *baryDense) mulT(dst, x []float64, N int) {
	k.scalingKernels()
	k.product(dst, x, k.Kt, k.n, k.m, N)
}

// product sets dst_b = A x_b for the rows×cols matrix A and the N vectors x_b: one
// register-tiled product (A·Xᵀ) for the batch, then a transpose into dst.
func (k *baryDense) product(dst, x []float64, A *mat.Dense, rows, cols, N int) {
	if k.wt == nil || k.wt.RawMatrix().Cols != N {
		k.wt = mat.NewDense(max(k.m, k.n), N, nil)
	}
	wt := k.wt.Slice(0, rows, 0, N).(*mat.Dense)
	baryMulNT(wt, A, mat.NewDense(N, cols, x[:N*cols]))
	raw := wt.RawMatrix()
	scale := 1.0
	if k.shift != 0 {
		scale = math.Exp(k.shift)
	}
	for i := 0; i < rows; i++ {
		for b, v := range raw.Data[i*raw.Stride : i*raw.Stride+N] {
			dst[b*rows+i] = v * scale
		}
	}
}

func (k *baryDense) logMul(dst, x []float64, N int) {
	k.scalingKernels()
	baryLogLines(dst, x, N, k.K, func() []float64 { k.logKernels(); return k.L }, &k.scratch)
	k.addShift(dst[:N*k.m])
}

func (k *baryDense) logMulT(dst, x []float64, N int) {
	k.scalingKernels()
	baryLogLines(dst, x, N, k.Kt, func() []float64 { k.logKernels(); return k.Lt }, &k.scratch)
	k.addShift(dst[:N*k.n])
}

func (k *baryDense) addShift(v []float64) {
	if k.shift != 0 {
		for i := range v {
			v[i] += k.shift
		}
	}
}

// baryLogScratch holds the buffers of baryLogLines.
type baryLogScratch struct{ e, s, m []float64 }

// Bounds of a kernel-product sum that baryLogLines trusts; outside them the entry is
// recomputed by an exact log-sum-exp.
const (
	baryLogLow  = 1e-280
	baryLogHigh = 1e280
)

// baryLogLines sets dst_l,i = log Σ_j A_ij exp(x_l,j) for the lines l < lines of x
// (row-major, width cols) and the rows×cols kernel A = exp(L), by one kernel product
// after a shift: with M_l = max_j x_l,j,
//
//	dst_l,i = M_l + log Σ_j A_ij exp(x_l,j − M_l).
//
// A term dropped because exp(x_l,j − M_l) or A_ij underflowed is below 1e-308 (A ≤ 1:
// the kernels are built from non-negative costs), so wherever the sum is at least baryLogLow the result is
// the log-sum-exp to rounding; entries with a smaller (or overflowing) sum are
// recomputed exactly from L (built by logK on first need). The log domain then costs
// one exp per input entry and one log per output entry, not one exp per kernel entry,
// and stays exact for any ε.
func baryLogLines(dst, x []float64, lines int, A *mat.Dense, logK func() []float64, sc *baryLogScratch) {
	rows, cols := A.Dims()
	if len(sc.e) < lines*cols {
		sc.e = make([]float64, lines*cols)
	}
	if len(sc.s) < lines*rows {
		sc.s = make([]float64, lines*rows)
	}
	if len(sc.m) < lines {
		sc.m = make([]float64, lines)
	}
	e, sum, mx := sc.e[:lines*cols], sc.s[:lines*rows], sc.m[:lines]
	for l := 0; l < lines; l++ {
		xl, el := x[l*cols:(l+1)*cols], e[l*cols:(l+1)*cols]
		m := math.Inf(-1)
		for _, v := range xl {
			m = max(m, v)
		}
		mx[l] = m
		if math.IsInf(m, 0) || math.IsNaN(m) {
			clear(el)
			continue
		}
		for j, v := range xl {
			el[j] = v - m
		}
		expSlice(el)
	}
	baryMulNT(mat.NewDense(lines, rows, sum), mat.NewDense(lines, cols, e), A)
	var L, z []float64
	for l := 0; l < lines; l++ {
		m := mx[l]
		for i, s := range sum[l*rows : (l+1)*rows] {
			if math.IsInf(m, 0) || math.IsNaN(m) {
				dst[l*rows+i] = m
				continue
			}
			if s >= baryLogLow && s <= baryLogHigh {
				dst[l*rows+i] = m + math.Log(s)
				continue
			}
			if L == nil {
				L, z = logK(), make([]float64, cols)
			}
			dst[l*rows+i] = baryLSE(z, x[l*cols:(l+1)*cols], L[i*cols:(i+1)*cols])
		}
	}
}

// baryLSE returns log Σ_j exp(x_j + l_j), with z (at least as long as x) as scratch.
// Entries x_j = −∞ add nothing; if all are −∞ the result is −∞.
func baryLSE(z, x, l []float64) float64 {
	z = z[:len(x)]
	mx := math.Inf(-1)
	for j, v := range x {
		z[j] = v + l[j]
		mx = max(mx, z[j])
	}
	if math.IsInf(mx, 0) || math.IsNaN(mx) {
		return mx
	}
	for j := range z {
		z[j] -= mx
	}
	expSlice(z)
	s := 0.0
	for _, v := range z {
		s += v
	}
	return mx + math.Log(s)
}

// Grid is a regular Rows×Cols grid of points (r·DY, c·DX), r < Rows, c < Cols, the
// support of images; histograms on it are row-major (index r·Cols + c). The ground
// cost is the squared Euclidean distance |x−y|² (not ½|x−y|²: the convention of POT's
// convolutional_barycenter2d and of ot.utils.dist0), so the Gibbs kernel factorizes,
// K = K_rows ⊗ K_cols, and K·v is the two small matrix products K_rows·V·K_cols
// (Solomon et al., "Convolutional Wasserstein distances", SIGGRAPH 2015).
// A zero spacing means 1/(Rows−1) (or 1/(Cols−1)): the grid spans the unit square,
// as in POT. A grid with Rows = 1 is a 1-D grid.
type Grid struct {
	Rows, Cols int
	DY, DX     float64
}

// Dims returns Rows·Cols twice: barycenter and histograms share the grid.
func (g Grid) Dims() (m, n int) { return g.Rows * g.Cols, g.Rows * g.Cols }

func (g Grid) check() error {
	if g.Rows < 1 || g.Cols < 1 {
		return invalid("grid: %d×%d has no points", g.Rows, g.Cols)
	}
	if g.Rows > 1<<20 || g.Cols > 1<<20 || g.Rows*g.Cols > 1<<28 {
		return invalid("grid: %d×%d is too large", g.Rows, g.Cols)
	}
	for _, d := range []float64{g.DY, g.DX} {
		if d < 0 || math.IsNaN(d) || math.IsInf(d, 0) {
			return invalid("grid: spacing %v must be non-negative and finite", d)
		}
	}
	return nil
}

// spacing returns the row and column spacings with the defaults applied.
func (g Grid) spacing() (dy, dx float64) {
	def := func(d float64, k int) float64 {
		if d > 0 {
			return d
		}
		if k > 1 {
			return 1 / float64(k-1)
		}
		return 1
	}
	return def(g.DY, g.Rows), def(g.DX, g.Cols)
}

// Cost returns the dense (Rows·Cols)² matrix of squared distances between grid points,
// the cost the grid's separable kernel stands for.
func (g Grid) Cost() (*mat.Dense, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	dy, dx := g.spacing()
	n := g.Rows * g.Cols
	if err := denseFits(fmt.Sprintf("the dense cost of a %d×%d grid (use the grid itself as the support)", g.Rows, g.Cols), area(n, n)); err != nil {
		return nil, err
	}
	C := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			r, c := float64(i/g.Cols-j/g.Cols)*dy, float64(i%g.Cols-j%g.Cols)*dx
			C.Set(i, j, r*r+c*c)
		}
	}
	return C, nil
}

func (g Grid) baryKernel(eps float64) (baryKernel, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	// each axis kernel and its log
	if err := denseFits(fmt.Sprintf("the kernel of a %d×%d grid", g.Rows, g.Cols), 2*(area(g.Rows, g.Rows)+area(g.Cols, g.Cols))); err != nil {
		return nil, err
	}
	dy, dx := g.spacing()
	k := &baryGrid{R: g.Rows, C: g.Cols}
	k.Lr, k.Kr = baryAxis(g.Rows, dy, eps)
	k.Lc, k.Kc = baryAxis(g.Cols, dx, eps)
	return k, nil
}

// baryAxis returns the k×k log kernel −(d·(i−j))²/ε of one grid axis and its exp.
func baryAxis(k int, d, eps float64) (L []float64, K *mat.Dense) {
	L = make([]float64, k*k)
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			t := d * float64(i-j)
			L[i*k+j] = -t * t / eps
		}
	}
	K = mat.NewDense(k, k, append([]float64(nil), L...))
	expSlice(K.RawMatrix().Data)
	return L, K
}

// baryGrid is the separable kernel of a Grid, K = K_r ⊗ K_c. Both axis kernels are
// symmetric, so K is symmetric too and mulT = mul.
type baryGrid struct {
	R, C    int
	Kr, Kc  *mat.Dense // R×R, C×C
	Lr, Lc  []float64  // their logs, row-major
	y, z    []float64  // scratch, N·R·C
	scratch baryLogScratch
}

func (k *baryGrid) dims() (int, int) { n := k.R * k.C; return n, n }

// mul sets dst_b = K_r X_b K_c for the N images X_b (R×C, row-major) in two batched
// register-tiled products: Y = X K_c for all images stacked (K_c = K_cᵀ), then, on the
// transposed images, D_bᵀ = Y_bᵀ K_r.
func (k *baryGrid) mul(dst, x []float64, N int) {
	R, C, n := k.R, k.C, k.R*k.C
	if len(k.y) < N*n {
		k.y, k.z = make([]float64, N*n), make([]float64, N*n)
	}
	y, z := k.y[:N*n], k.z[:N*n]
	baryMulNT(mat.NewDense(N*R, C, y), mat.NewDense(N*R, C, x[:N*n]), k.Kc)
	baryTranspose(z, y, N, R, C)
	baryMulNT(mat.NewDense(N*C, R, y), mat.NewDense(N*C, R, z), k.Kr)
	baryTranspose(dst, y, N, C, R)
}

// baryMulNT is mulNT (dst = a·bᵀ) with the rows of a split over the CPUs: the
// barycenter products are thin (b has N rows, or is a small axis kernel), below the
// size at which mulNT parallelizes by itself.
func baryMulNT(dst, a, b *mat.Dense) {
	n, k := a.Dims()
	m, _ := b.Dims()
	blocks := parallel.MaxBlocks()
	if blocks == 1 || n < 2*blocks || n*m*k < 1<<22 { // below, the hand-off costs more (measured)
		mulNT(dst, a, b)
		return
	}
	parallel.For(n, 1<<16, func(_, lo, hi int) {
		mulNT(dst.Slice(lo, hi, 0, m).(*mat.Dense), a.Slice(lo, hi, 0, k).(*mat.Dense), b)
	})
}

// baryTranspose writes the transposes of the N rows×cols blocks of src to dst.
func baryTranspose(dst, src []float64, N, rows, cols int) {
	n := rows * cols
	for b := 0; b < N; b++ {
		s, d := src[b*n:(b+1)*n], dst[b*n:(b+1)*n]
		for r := 0; r < rows; r++ {
			for c, v := range s[r*cols : (r+1)*cols] {
				d[c*rows+r] = v
			}
		}
	}
}

func (k *baryGrid) mulT(dst, x []float64, N int) { k.mul(dst, x, N) }

// logMul is mul in the log domain, one axis at a time (baryLogLines): along the
// columns for the N·R image rows, then along the rows for the N·C transposed columns.
func (k *baryGrid) logMul(dst, x []float64, N int) {
	R, C, n := k.R, k.C, k.R*k.C
	if len(k.y) < N*n {
		k.y, k.z = make([]float64, N*n), make([]float64, N*n)
	}
	y, z := k.y[:N*n], k.z[:N*n]
	baryLogLines(y, x, N*R, k.Kc, func() []float64 { return k.Lc }, &k.scratch)
	baryTranspose(z, y, N, R, C)
	baryLogLines(y, z, N*C, k.Kr, func() []float64 { return k.Lr }, &k.scratch)
	baryTranspose(dst, y, N, C, R)
}

func (k *baryGrid) logMulT(dst, x []float64, N int) { k.logMul(dst, x, N) }
