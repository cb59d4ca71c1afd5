package data

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Source yields batches of points (rows of Dim float32 values) deterministically from
// its state, which it can save and restore: a training run resumed from a saved state
// sees the same batches as the uninterrupted run.
type Source interface {
	// Dim is the number of values per point.
	Dim() int
	// Next fills dst with len(dst)/Dim() points; len(dst) must be a multiple of Dim().
	Next(dst []float32)
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// stateReader decodes the fixed-size fields of a saved state, remembering the first
// error.
type stateReader struct {
	b    []byte
	what string
	err  error
}

func (r *stateReader) uint64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.err = fmt.Errorf("data: %s state truncated", r.what)
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *stateReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = fmt.Errorf("data: %s state truncated", r.what)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *stateReader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("data: %s state has %d trailing bytes", r.what, len(r.b))
	}
	return r.err
}

// pcgStateLen is the length of a marshaled rand.PCG.
var pcgStateLen = func() int {
	b, _ := rand.NewPCG(0, 0).MarshalBinary()
	return len(b)
}()
