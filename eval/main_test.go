package eval

import (
	"os"
	"testing"

	"github.com/sinkgen/sinkgen/internal/process"
)

// TestMain makes the process-wide settings the commands make (gorgonia's BLAS).
func TestMain(m *testing.M) {
	process.Setup(0)
	os.Exit(m.Run())
}
