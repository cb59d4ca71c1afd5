//go:build race

package parallel

// raceEnabled: under the race detector sync.Pool drops items on purpose, so the
// allocation tests skip.
const raceEnabled = true
