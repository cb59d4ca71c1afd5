package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Written files are readable by everyone (0644, as os.Create makes them under the usual
// umask, not os.CreateTemp's 0600); errors name the file asked for, never the
// temporary one, and leave nothing behind.
func TestWriteModeAndErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "grid.png")
	if err := Write(path, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode().Perm(), err)
	}
	missing := filepath.Join(dir, "nodir", "grid.png")
	err := Write(missing, []byte("x"))
	if want := "cannot write " + missing + ": there is no directory " + filepath.Join(dir, "nodir"); err == nil || err.Error() != want {
		t.Errorf("missing directory: %v, want %q", err, want)
	}
	failed := errors.New("encoder failed")
	err = WriteFunc(filepath.Join(dir, "a"), func(f *os.File) error {
		f.Write([]byte("partial"))
		return failed
	})
	if !errors.Is(err, failed) || err.Error() != "cannot write "+filepath.Join(dir, "a")+": encoder failed" {
		t.Errorf("failing write: %v", err)
	}
	// renaming over a non-empty directory fails
	os.MkdirAll(filepath.Join(dir, "d", "e"), 0o755)
	if err := Write(filepath.Join(dir, "d"), []byte("x")); err == nil || strings.Contains(err.Error(), ".tmp-") ||
		!strings.HasPrefix(err.Error(), "cannot write "+filepath.Join(dir, "d")+": ") {
		t.Errorf("over a directory: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Target recognizes the temporary file a write actually makes (what a kill mid-write
// leaves), and nothing that merely looks like one.
func TestTarget(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"step-00000004.ckpt", "metrics.csv", ".hidden", "a.tmp-1"} {
		var tmp string
		if err := WriteFunc(filepath.Join(dir, name), func(f *os.File) error {
			tmp = filepath.Base(f.Name())
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got, ok := Target(tmp); !ok || got != name {
			t.Errorf("Target(%q) = %q, %v; want %q", tmp, got, ok, name)
		}
	}
	for _, name := range []string{"metrics.csv", ".metrics.csv", "metrics.csv.tmp-1", ".metrics.csv.tmp-", ".metrics.csv.tmp-1.bak", ".metrics.csv.tmp-x1"} {
		if got, ok := Target(name); ok {
			t.Errorf("Target(%q) = %q, want none", name, got)
		}
	}
}
