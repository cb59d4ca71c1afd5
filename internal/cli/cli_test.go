package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	var out strings.Builder
	if Status("x", nil, &out) != 0 || Status("x", fmt.Errorf("parse: %w", flag.ErrHelp), &out) != 0 || out.Len() != 0 {
		t.Errorf("no error or -h: want status 0 and nothing printed, got %q", out.String())
	}
	if got := Status("sweep", errors.New("no such file"), &out); got != 1 || out.String() != "sweep: no such file\n" {
		t.Errorf("status %d, printed %q", got, out.String())
	}
}

func TestList(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var l List
	fs.Var(&l, "set", "")
	if err := fs.Parse([]string{"-set", "a=1", "-set", "b=2"}); err != nil || len(l) != 2 || l[1] != "b=2" || l.String() != "a=1 b=2" {
		t.Errorf("%q, %v", l, err)
	}
}
