package parallel

import "sync"

// Pool recycles slices of T by length. The zero value is ready to use.
type Pool[T any] struct {
	byLen sync.Map  // int → *sync.Pool of *[]T
	boxes sync.Pool // empty *[]T, so that Put does not allocate one per call
}

// Float32 and Float64 are the process's scratch pools.
var (
	Float32 Pool[float32]
	Float64 Pool[float64]
)

// Get returns a slice of length n with arbitrary contents.
func (p *Pool[T]) Get(n int) []T {
	if sp, ok := p.byLen.Load(n); ok {
		if box, ok := sp.(*sync.Pool).Get().(*[]T); ok {
			b := *box
			*box = nil
			p.boxes.Put(box)
			return b
		}
	}
	return make([]T, n)
}

// Put hands b back for a Get of len(b); the caller must not use it afterwards. Empty
// slices are ignored.
func (p *Pool[T]) Put(b []T) {
	if len(b) == 0 {
		return
	}
	sp, ok := p.byLen.Load(len(b))
	if !ok {
		sp, _ = p.byLen.LoadOrStore(len(b), new(sync.Pool))
	}
	box, _ := p.boxes.Get().(*[]T)
	if box == nil {
		box = new([]T)
	}
	*box = b
	sp.(*sync.Pool).Put(box)
}
