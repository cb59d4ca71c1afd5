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
	k := &baryDense{m: m, n: n, K: mat.NewDense(m, n, nil), L: make([]float64, m*n), Lt: make([]float64, m*n)}
	for i := 0; i < m; i++ {
		for j, c := range s.C.RawRowView(i) {
			k.L[i*n+j] = -c / eps
			k.Lt[j*m+i] = -c / eps
		}
	}
	copy(k.K.RawMatrix().Data, k.L)
	expSlice(k.K.RawMatrix().Data)
	return k, nil
}

// baryDense is the kernel of a dense cost matrix: K for the scaling domain, and
// L = −C/ε with its transpose for the log domain.
type baryDense struct {
	m, n  int
	K     *mat.Dense
	L, Lt []float64
}

func (k *baryDense) dims() (int, int) { return k.m, k.n }

func (k *baryDense) mul(dst, x []float64, N int) {
	// Rows of X are the vectors: (K x_k)ᵀ = x_kᵀ Kᵀ, one GEMM for the batch.
	mat.NewDense(N, k.m, dst[:N*k.m]).Mul(mat.NewDense(N, k.n, x[:N*k.n]), k.K.T())
}

func (k *baryDense) mulT(dst, x []float64, N int) {
	mat.NewDense(N, k.n, dst[:N*k.n]).Mul(mat.NewDense(N, k.m, x[:N*k.m]), k.K)
}

func (k *baryDense) logMul(dst, x []float64, N int) { baryLogMul(dst, x, k.L, k.m, k.n, N) }

func (k *baryDense) logMulT(dst, x []float64, N int) { baryLogMul(dst, x, k.Lt, k.n, k.m, N) }

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

// baryLSE returns log Σ_j exp(x_j + l_j), with z as scratch. Entries x_j = −∞ add
// nothing; if all are −∞ the result is −∞.
func baryLSE(z, x, l []float64) float64 {
	mx := math.Inf(-1)
	for j, v := range x {
		z[j] = v + l[j]
		mx = max(mx, z[j])
	}
	if math.IsInf(mx, 0) || math.IsNaN(mx) {
		return mx
	}
	s := 0.0
	for _, v := range z[:len(x)] {
		s += fastExp(v - mx)
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
func baryAxis(k int, d, eps float64) ([]float64, *mat.Dense) {
	L := make([]float64, k*k)
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			t := d * float64(i-j)
			L[i*k+j] = -t * t / eps
		}
	}
	K := mat.NewDense(k, k, append([]float64(nil), L...))
	expSlice(K.RawMatrix().Data)
	return L, K
}

// baryGrid is the separable kernel of a Grid. Both axis kernels are symmetric, so
// K is symmetric too and mulT = mul.
type baryGrid struct {
	R, C   int
	Kr, Kc *mat.Dense
	Lr, Lc []float64
}

func (k *baryGrid) dims() (int, int) { n := k.R * k.C; return n, n }

func (k *baryGrid) mul(dst, x []float64, N int) {
	n := k.R * k.C
	parallelRange(N, n*(k.R+k.C), func(_, lo, hi int) {
		tmp := mat.NewDense(k.R, k.C, nil)
		for b := lo; b < hi; b++ {
			tmp.Mul(k.Kr, mat.NewDense(k.R, k.C, x[b*n:(b+1)*n]))
			mat.NewDense(k.R, k.C, dst[b*n:(b+1)*n]).Mul(tmp, k.Kc)
		}
	})
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
