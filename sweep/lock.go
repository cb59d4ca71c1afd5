package sweep

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/sinkgen/sinkgen/internal/filelock"
)

// lockDir takes the sweep directory's lock (a flock on dir/.lock, released by the
// kernel however the process ends), or refuses at once when another sweep holds it.
func lockDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, ".lock")
	unlock, err = filelock.TryLock(path)
	switch {
	case errors.Is(err, filelock.ErrLocked):
		return nil, fmt.Errorf("another sweep is writing %s (it holds %s); wait for it to end", dir, path)
	case err != nil:
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return unlock, nil
}
