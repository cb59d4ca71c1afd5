//go:build !amd64 || purego

package ot

import "gonum.org/v1/gonum/floats"

// dot returns Σ x_i y_i; y must be at least as long as x.
func dot(x, y []float64) float64 { return floats.Dot(x, y[:len(x)]) }

// axpy adds alpha·x to y; y must be at least as long as x.
func axpy(alpha float64, x, y []float64) { floats.AddScaled(y[:len(x)], alpha, x) }
