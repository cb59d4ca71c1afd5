//go:build !amd64 || purego

package ot

// argminDiff returns the first k minimising c[k] − p[k] and that minimum, if it lies
// below thr, else (−1, thr): the network simplex's pricing scan. p must be at least
// as long as c.
func argminDiff(c, p []float64, thr float64) (int, float64) { return argminDiffGo(c, p, thr) }

// argminDiff32 is argminDiff in float32.
func argminDiff32(c, p []float32, thr float32) (int, float32) { return argminDiff32Go(c, p, thr) }
