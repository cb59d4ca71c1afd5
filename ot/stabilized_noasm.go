//go:build !amd64 || purego

package ot

// kernelRow sets dst[j] = exp((alpha + beta[j] − c[j])·inv) (as expSlice) and reports
// whether every c[j] is finite. c and beta must be at least as long as dst.
func kernelRow(dst, c, beta []float64, alpha, inv float64) (finite bool) {
	return kernelRowGo(dst, c, beta, alpha, inv)
}

// dot3 returns Σ x_i y_i z_i; y and z must be at least as long as x.
func dot3(x, y, z []float64) float64 { return dot3Go(x, y, z) }

// dot4 sets out[r] = k[r·stride : r·stride+len(v)] · v for r = 0…3.
func dot4(k []float64, stride int, v []float64, out *[4]float64) { dot4Go(k, stride, v, out) }

// axpy4 adds x[r]·k[r·stride : r·stride+len(acc)] to acc for r = 0…3 in turn.
func axpy4(k []float64, stride int, x *[4]float64, acc []float64) { axpy4Go(k, stride, x, acc) }
