package sweep

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/sinkgen/sinkgen/eval"
)

// lockDir takes the sweep directory's lock (a flock on dir/.lock, released by the
// kernel however the process ends), or refuses when another sweep holds it.
func lockDir(dir string) (unlock func(), err error) {
	// eval.LockFile waits for the lock after calling onWait; a sweep refuses instead,
	// and lets the waiting call release the lock at once should it ever get it.
	var mu sync.Mutex
	refused := false
	got := make(chan func(), 1)
	errc := make(chan error, 1)
	wait := make(chan struct{})
	go func() {
		unlock, err := eval.LockFile(filepath.Join(dir, ".lock"), func() {
			mu.Lock()
			refused = true
			mu.Unlock()
			close(wait)
		})
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			errc <- err
		case refused:
			unlock()
		default:
			got <- unlock
		}
	}()
	select {
	case u := <-got:
		return u, nil
	case err := <-errc:
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	case <-wait:
		return nil, fmt.Errorf("another sweep is writing %s (it holds %s); wait for it to end", dir, filepath.Join(dir, ".lock"))
	}
}
