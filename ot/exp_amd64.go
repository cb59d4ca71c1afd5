//go:build amd64 && !purego

package ot

import "golang.org/x/sys/cpu"

// useAVX2 selects the vector exp; without AVX2 and FMA the portable loop runs.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// expAVX2 replaces v[i] by e^v[i] for i < len(v)&^7, eight lanes at a time: a
// degree-13 Taylor polynomial on r = x − k·ln2, |r| ≤ ln2/2, times 2^k. Lanes below
// expMin flush to 0, above expMax give +Inf, NaN stays NaN. Implemented in exp_amd64.s.
//
//go:noescape
func expAVX2(v []float64)

// expSlice replaces every x in v by e^x (within 2 ulp, subnormal results flushed).
func expSlice(v []float64) {
	if useAVX2 && len(v) >= 8 {
		n := len(v) &^ 7
		expAVX2(v[:n])
		v = v[n:]
	}
	expSliceGo(v)
}
