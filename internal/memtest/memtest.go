// Package memtest measures what a piece of code allocates, for the tests that bound
// the memory a reader or solver may ask for before it has checked its input.
package memtest

import "runtime"

// Allocated returns the bytes fn allocates (runtime.MemStats.TotalAlloc): what the
// heap was asked for, freed or not, so a transient huge buffer counts.
func Allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
