package memtest

import "testing"

var sink []byte

// A 1 MiB allocation is counted, and counted once.
func TestAllocated(t *testing.T) {
	const n = 1 << 20
	got := Allocated(func() { sink = make([]byte, n) })
	if got < n || got > n+64<<10 {
		t.Errorf("Allocated = %d bytes for a %d-byte slice", got, n)
	}
	if got := Allocated(func() {}); got > 64<<10 {
		t.Errorf("Allocated = %d bytes for nothing", got)
	}
}
