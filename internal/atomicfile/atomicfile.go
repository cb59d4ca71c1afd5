// Package atomicfile replaces files atomically: the one way sinkgen writes a file
// (checkpoints, parameters, figures, reports, caches). A crash or a kill leaves
// either the old file or the new one, never a torn one, plus at worst a temporary
// file that Target recognizes.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// Write writes b to path atomically (WriteFunc).
func Write(path string, b []byte) error {
	return WriteFunc(path, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// WriteFunc writes path atomically: write fills a temporary file in path's directory
// (named by tempPattern), which is synced, given mode 0644 (os.CreateTemp makes it
// 0600, readable by its owner only), renamed over path, and the directory synced.
// Errors name path, never the temporary file, and leave no temporary file behind.
func WriteFunc(path string, write func(*os.File) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tempPattern(filepath.Base(path)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot write %s: there is no directory %s", path, dir)
		}
		return writeError(path, "", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = writeError(path, tmp.Name(), err)
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
	return nil
}

// tempPattern is the os.CreateTemp pattern of the temporary file of name: hidden,
// "."+name+".tmp-" and the random number os.CreateTemp puts for the "*".
func tempPattern(name string) string { return "." + name + ".tmp-*" }

// tempRE matches what tempPattern makes.
var tempRE = regexp.MustCompile(`^\.(.+)\.tmp-\d+$`)

// Target reports whether name (a base name) is the temporary file of a write of
// target that was interrupted by a kill or a crash, and returns target.
func Target(name string) (target string, ok bool) {
	m := tempRE.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// writeError is "cannot write path: why", without the name of the temporary file tmp
// that file system errors carry ("": any name, as os.CreateTemp's errors carry).
func writeError(path, tmp string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe) && (tmp == "" || pe.Path == tmp):
		err = pe.Err
	case errors.As(err, &le) && le.Old == tmp:
		err = le.Err
	}
	return fmt.Errorf("cannot write %s: %w", path, err)
}
