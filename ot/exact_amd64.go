//go:build amd64 && !purego

package ot

//go:noescape
func argminDiffAVX2(c, p *float64, n int, thr float64, val *[8]float64, idx *[8]int)

// argminDiff returns the first k minimising c[k] − p[k] and that minimum, if it lies
// below thr, else (−1, thr): the network simplex's pricing scan. p must be at least
// as long as c. The AVX2 kernel keeps eight lanes of running minima with their first
// indices, so it picks the same k as the scalar loop.
func argminDiff(c, p []float64, thr float64) (int, float64) {
	n := len(c) &^ 7
	if !useAVX2 || n == 0 {
		return argminDiffGo(c, p, thr)
	}
	_ = p[len(c)-1]
	var val [8]float64
	var idx [8]int
	argminDiffAVX2(&c[0], &p[0], n, thr, &val, &idx)
	best := -1
	for l, k := range idx {
		if k >= 0 && (val[l] < thr || val[l] == thr && k < best) {
			best, thr = k, val[l]
		}
	}
	if k, v := argminDiffGo(c[n:], p[n:len(c)], thr); k >= 0 {
		return n + k, v
	}
	return best, thr
}

//go:noescape
func argminDiff32AVX2(c, p *float32, n int, thr float32, val *[16]float32, idx *[16]int32)

// argminDiff32 is argminDiff in float32.
func argminDiff32(c, p []float32, thr float32) (int, float32) {
	n := len(c) &^ 15
	if !useAVX2 || n == 0 {
		return argminDiff32Go(c, p, thr)
	}
	_ = p[len(c)-1]
	var val [16]float32
	var idx [16]int32
	argminDiff32AVX2(&c[0], &p[0], n, thr, &val, &idx)
	best := -1
	for l, k := range idx {
		if k >= 0 && (val[l] < thr || val[l] == thr && int(k) < best) {
			best, thr = int(k), val[l]
		}
	}
	if k, v := argminDiff32Go(c[n:], p[n:len(c)], thr); k >= 0 {
		return n + k, v
	}
	return best, thr
}
