//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package eval

// lockFile does not lock where flock(2) is missing: two processes training the
// classifier at once both train it, and the last to finish writes the cache.
func lockFile(path string, onWait func()) (unlock func(), err error) {
	return func() {}, nil
}
