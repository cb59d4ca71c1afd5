//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

// Package filelock takes exclusive advisory locks on files with flock(2); where
// flock(2) is missing it does not lock (two processes may then share a cache or a
// run directory, as before the lock existed).
package filelock

import "errors"

// Supported reports whether locks lock here (flock(2) exists).
const Supported = false

// ErrLocked is returned by TryLock when another open file holds the lock.
var ErrLocked = errors.New("locked by another process")

// Lock does not lock where flock(2) is missing.
func Lock(path string, onWait func()) (unlock func(), err error) { return func() {}, nil }

// TryLock does not lock where flock(2) is missing.
func TryLock(path string) (unlock func(), err error) { return func() {}, nil }
