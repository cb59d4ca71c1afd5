package ot

import (
	"math"

	"gonum.org/v1/gonum/mat"
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
	if err := costMatrix(s.C, m, n); err != nil {
		return nil, err
	}
	return &baryDense{m: m, n: n, C: s.C, eps: eps}, nil
}

// baryDense is the kernel of a dense cost matrix: K = exp(−C/ε) and Kᵀ for the scaling
// domain, L = −C/ε and Lᵀ for the log domain, each built when first needed. The cost
// matrix is the caller's and only read.
type baryDense struct {
	m, n  int
	C     *mat.Dense
	eps   float64
	K, Kt *mat.Dense // m×n, n×m
	L, Lt []float64  // m×n, n×m, row-major
	wt    *mat.Dense // scratch for products, (m or n)×N
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
			row[j] = -c / k.eps
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
			k.L[i*k.n+j] = -c / k.eps
			k.Lt[j*k.m+i] = -c / k.eps
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
	mulNT(wt, A, mat.NewDense(N, cols, x[:N*cols]))
	raw := wt.RawMatrix()
	for i := 0; i < rows; i++ {
		for b, v := range raw.Data[i*raw.Stride : i*raw.Stride+N] {
			dst[b*rows+i] = v
		}
	}
}

func (k *baryDense) logMul(dst, x []float64, N int) {
	k.logKernels()
	baryLogMul(dst, x, k.L, k.m, k.n, N)
}

func (k *baryDense) logMulT(dst, x []float64, N int) {
	k.logKernels()
	baryLogMul(dst, x, k.Lt, k.n, k.m, N)
}

// baryLogMul sets dst_k,i = log Σ_j exp(x_k,j + L_ij) for the rows×cols matrix L,
// one stabilized log-sum-exp per entry.
func baryLogMul(dst, x, L []float64, rows, cols, N int) {
	parallelRange(rows, cols*N, func(_, lo, hi int) {
		z := make([]float64, cols)
		for i := lo; i < hi; i++ {
			row := L[i*cols : (i+1)*cols]
			for k := 0; k < N; k++ {
				dst[k*rows+i] = baryLSE(z, x[k*cols:(k+1)*cols], row)
			}
		}
	})
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
	R, C   int
	Kr, Kc *mat.Dense // R×R, C×C
	Lr, Lc []float64  // their logs, row-major
	y, z   []float64  // scratch, N·R·C
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
	mulNT(mat.NewDense(N*R, C, y), mat.NewDense(N*R, C, x[:N*n]), k.Kc)
	baryTranspose(z, y, N, R, C)
	mulNT(mat.NewDense(N*C, R, y), mat.NewDense(N*C, R, z), k.Kr)
	baryTranspose(dst, y, N, C, R)
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

func (k *baryGrid) logMul(dst, x []float64, N int) {
	n := k.R * k.C
	parallelRange(N, n*(k.R+k.C), func(_, lo, hi int) {
		tmp := make([]float64, n)
		z, col := make([]float64, max(k.R, k.C)), make([]float64, k.R)
		for b := lo; b < hi; b++ {
			X, D := x[b*n:(b+1)*n], dst[b*n:(b+1)*n]
			// Along the columns: tmp_{r,c} = LSE_c' (X_{r,c'} + Lc_{c,c'}).
			for r := 0; r < k.R; r++ {
				xr := X[r*k.C : (r+1)*k.C]
				for c := 0; c < k.C; c++ {
					tmp[r*k.C+c] = baryLSE(z, xr, k.Lc[c*k.C:(c+1)*k.C])
				}
			}
			// Along the rows: D_{r,c} = LSE_r' (tmp_{r',c} + Lr_{r,r'}).
			for c := 0; c < k.C; c++ {
				for r := range col {
					col[r] = tmp[r*k.C+c]
				}
				for r := 0; r < k.R; r++ {
					D[r*k.C+c] = baryLSE(z, col, k.Lr[r*k.R:(r+1)*k.R])
				}
			}
		}
	})
}

func (k *baryGrid) logMulT(dst, x []float64, N int) { k.logMul(dst, x, N) }
