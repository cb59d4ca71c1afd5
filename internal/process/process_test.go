package process

import (
	"runtime"
	"testing"

	"github.com/sinkgen/sinkgen/internal/fastblas"
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

// After Setup the run log names fastblas's product, as the machine runs it.
func TestBLASAfterSetup(t *testing.T) {
	Setup(0)
	p, _ := fastblas.Active()
	want := "fastblas " + p.String()
	if got := BLAS(); got != want {
		t.Errorf("BLAS() = %q after Setup, want %q", got, want)
	}
}
