package eval

// LockFile is lockFile for package sweep, which locks its directory with the same
// flock(2) (the lock moves to an internal package; this is the one call to change).
func LockFile(path string, onWait func()) (unlock func(), err error) {
	return lockFile(path, onWait)
}
