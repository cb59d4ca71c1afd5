package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestArgumentErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s.toml")
	if err := os.WriteFile(file, []byte("config = \"../../configs/toy2d.toml\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "-config is required"},
		{[]string{"-config", filepath.Join(dir, "missing.toml")}, "missing.toml"},
		{[]string{"-config", file, "-submit-only"}, "-submit-only needs the slurm executor"},
		{[]string{"-config", file, "-executor", "pbs"}, `-executor "pbs"`},
		{[]string{"-config", file, "-sbatch", "partition=x"}, "want an sbatch option"},
		{[]string{"-task", "0"}, "needs the sweep directory"},
		{[]string{"-config", file, "extra"}, "unexpected arguments"},
	} {
		err := run(context.Background(), c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error saying %q", c.args, err, c.want)
		}
	}
}
