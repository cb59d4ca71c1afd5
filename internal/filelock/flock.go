//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

// Package filelock takes exclusive advisory locks on files with flock(2): the
// classifier cache of package eval and the run directories of package train. The
// kernel releases a lock when the process ends, however it ends. A lock belongs to
// an open file, so two Lock calls on one path conflict within a process too.
package filelock

import (
	"errors"
	"os"
	"syscall"
)

// Supported reports whether locks lock here (flock(2) exists).
const Supported = true

// ErrLocked is returned by TryLock when another open file holds the lock.
var ErrLocked = errors.New("locked by another process")

// Lock takes an exclusive lock on the file at path (created if needed), calling
// onWait first when another open file holds it, and returns its release.
func Lock(path string, onWait func()) (unlock func(), err error) {
	return lock(path, onWait)
}

// TryLock takes an exclusive lock on the file at path (created if needed) without
// waiting: it fails with ErrLocked when another open file holds it.
func TryLock(path string) (unlock func(), err error) {
	return lock(path, nil)
}

// lock waits for the lock after calling onWait, or fails with ErrLocked when onWait
// is nil.
func lock(path string, onWait func()) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		if onWait == nil {
			f.Close()
			return nil, ErrLocked
		}
		onWait()
		err = syscall.Flock(fd, syscall.LOCK_EX)
		for errors.Is(err, syscall.EINTR) {
			err = syscall.Flock(fd, syscall.LOCK_EX)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(fd, syscall.LOCK_UN)
		f.Close()
	}, nil
}
