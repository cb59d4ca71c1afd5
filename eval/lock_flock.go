//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package eval

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) on the file at path (created if needed),
// calling onWait first when another open file holds it, and returns its release.
// The kernel releases it when the process ends, however it ends.
func lockFile(path string, onWait func()) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
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
