//go:build !amd64 || purego

package ot

// expSlice replaces every x in v by e^x (within 2 ulp, subnormal results flushed).
func expSlice(v []float64) { expSliceGo(v) }

// useAVX2 is false in portable builds.
const useAVX2 = false
