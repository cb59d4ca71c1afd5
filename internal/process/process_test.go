package process

import (
	"runtime"
	"testing"
)

func TestSetup(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	Setup(1)
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("GOMAXPROCS %d after Setup(1)", n)
	}
	Setup(0) // leaves it
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("GOMAXPROCS %d after Setup(0), want it left at 1", n)
	}
}
