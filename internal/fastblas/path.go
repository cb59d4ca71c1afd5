package fastblas

import (
	"fmt"
	"os"
	"slices"
)

// Path is one implementation of the kernels: the products and vector kernels run on
// one path at a time, the best the CPU offers unless SINKGEN_KERNEL or SetPath says
// otherwise.
type Path uint8

const (
	// PureGo is gonum's BLAS and vector loops: the portable path.
	PureGo Path = iota
	// AVX2 is the AVX2+FMA assembly: the 6×16 Sgemm tile, 4-lane float64 kernels.
	AVX2
	// AVX512 is the AVX-512 assembly: the 12×32 Sgemm tile, 8-lane vector kernels
	// and DgemmNT tiles.
	AVX512
)

var pathNames = [...]string{PureGo: "purego", AVX2: "avx2", AVX512: "avx512"}

func (p Path) String() string {
	if int(p) < len(pathNames) {
		return pathNames[p]
	}
	return fmt.Sprintf("Path(%d)", int(p))
}

// EnvKernel is the environment variable that chooses the path at start-up: purego,
// avx2 or avx512.
const EnvKernel = "SINKGEN_KERNEL"

// active is the path in use; envErr says why SINKGEN_KERNEL was not followed.
var active, envErr = initialPath(os.Getenv(EnvKernel))

// initialPath returns the path SINKGEN_KERNEL names, or the best available one with an
// error when it names none or one this machine and build lack.
func initialPath(env string) (Path, error) {
	best := Paths()[len(Paths())-1]
	if env == "" {
		return best, nil
	}
	i := slices.Index(pathNames[:], env)
	if i < 0 {
		return best, fmt.Errorf("%s=%q is not one of purego, avx2, avx512: using %v", EnvKernel, env, best)
	}
	if !available(Path(i)) {
		return best, fmt.Errorf("%s=%s: this CPU or build lacks it, using %v", EnvKernel, env, best)
	}
	return Path(i), nil
}

// Paths returns the paths this machine and build can run, slowest first.
func Paths() []Path {
	var out []Path
	for p := range Path(len(pathNames)) {
		if available(p) {
			out = append(out, p)
		}
	}
	return out
}

// Active returns the path the kernels run on, and an error when SINKGEN_KERNEL named
// one that could not be used (the best available then runs instead).
func Active() (Path, error) { return active, envErr }

// SetPath makes the kernels run on p and returns the path used before, or an error
// when p is not available. It is meant for tests and benchmarks that compare the
// paths, and must not be called while a product runs.
func SetPath(p Path) (Path, error) {
	if !available(p) {
		return active, fmt.Errorf("fastblas: path %v is not available on this machine and build", p)
	}
	old := active
	active = p
	return old, nil
}

// Accelerated reports whether the kernels run in assembly (AVX2 or AVX-512).
func Accelerated() bool { return active != PureGo }

// tiling is one assembly path's Sgemm micro-kernel: kern sets an mr×nr tile of C (row
// stride ldc) to alpha·A·B + beta·C from a packed mr×k panel of A (mr values per k) and
// a packed k×nr panel of B (nr values per k), not reading C when beta is 0.
type tiling struct {
	mr, nr int
	kern   func(k int, a, b, c []float32, ldc int, alpha, beta float32)
}
