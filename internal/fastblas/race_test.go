//go:build race

package fastblas

// raceEnabled: under the race detector sync.Pool drops items on purpose, so the
// allocation tests skip.
const raceEnabled = true
