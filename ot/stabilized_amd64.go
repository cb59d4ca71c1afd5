//go:build amd64 && !purego

package ot

//go:noescape
func kernelRowAVX2(dst, c, beta []float64, alpha, inv float64) (nonFinite int)

//go:noescape
func dot3AVX2(x, y, z []float64) float64

// kernelRow sets dst[j] = exp((alpha + beta[j] − c[j])·inv) (within 2 ulp, flushed to
// 0 below expMin, as expSlice) and reports whether every c[j] is finite. c and beta
// must be at least as long as dst.
func kernelRow(dst, c, beta []float64, alpha, inv float64) (finite bool) {
	if !useAVX2 || len(dst) < 8 {
		return kernelRowGo(dst, c, beta, alpha, inv)
	}
	_, _ = c[len(dst)-1], beta[len(dst)-1]
	n := len(dst) &^ 7
	bad := kernelRowAVX2(dst[:n], c, beta, alpha, inv)
	return kernelRowGo(dst[n:], c[n:], beta[n:], alpha, inv) && bad == 0
}

// dot3 returns Σ x_i y_i z_i; y and z must be at least as long as x.
func dot3(x, y, z []float64) float64 {
	if !useAVX2 || len(x) == 0 {
		return dot3Go(x, y, z)
	}
	_, _ = y[len(x)-1], z[len(x)-1]
	return dot3AVX2(x, y, z)
}

//go:noescape
func dot4AVX2(k *float64, stride int, v []float64, out *[4]float64)

//go:noescape
func axpy4AVX2(k *float64, stride int, x *[4]float64, acc []float64)

// dot4 sets out[r] = k[r·stride : r·stride+len(v)] · v for r = 0…3.
func dot4(k []float64, stride int, v []float64, out *[4]float64) {
	if !useAVX2 || len(v) == 0 {
		dot4Go(k, stride, v, out)
		return
	}
	_ = k[3*stride+len(v)-1]
	dot4AVX2(&k[0], stride, v, out)
}

// axpy4 adds x[r]·k[r·stride : r·stride+len(acc)] to acc for r = 0…3 in turn.
func axpy4(k []float64, stride int, x *[4]float64, acc []float64) {
	if !useAVX2 || len(acc) == 0 {
		axpy4Go(k, stride, x, acc)
		return
	}
	_ = k[3*stride+len(acc)-1]
	axpy4AVX2(&k[0], stride, x, acc)
}
