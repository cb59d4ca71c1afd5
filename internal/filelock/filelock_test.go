package filelock

import (
	"errors"
	"path/filepath"
	"testing"
)

// A held lock makes TryLock fail with ErrLocked and Lock wait (onWait called) until
// its release.
func TestLock(t *testing.T) {
	if !Supported {
		t.Skip("no flock(2)")
	}
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLock: %v, want ErrLocked", err)
	}
	waited := make(chan struct{})
	got := make(chan error)
	go func() {
		u, err := Lock(path, func() { close(waited) })
		if err == nil {
			u()
		}
		got <- err
	}()
	<-waited // the second Lock found the lock held
	unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	u, err := TryLock(path) // released by both
	if err != nil {
		t.Fatal(err)
	}
	u()
}
