package data

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Batcher draws points from a fixed set of rows (MNIST images, say) in epochs: each
// epoch visits every row once, in an order drawn from (seed, epoch) alone, and a
// batch that crosses the end of an epoch continues into the next. Its state is the
// epoch and the position in it, so that saving and restoring it is cheap and exact.
// It is a Source.
type Batcher struct {
	rows    []float32
	pix     []uint8       // the rows as bytes instead of rows (NewByteBatcher)
	lut     *[256]float32 // the value of each byte of pix
	dim, n  int
	seed    uint64
	epoch   uint64
	pos     int
	perm    []int
	shuffle bool
}

// NewBatcher returns a Batcher over rows, which holds whole points of dim values
// (len(rows)/dim of them, at least one). With shuffle false every epoch visits the
// rows in order. The Batcher keeps rows (no copy); do not modify them.
func NewBatcher(rows []float32, dim int, seed uint64, shuffle bool) (*Batcher, error) {
	if dim < 1 {
		return nil, fmt.Errorf("data: batcher dimension %d, want ≥ 1", dim)
	}
	if len(rows) == 0 || len(rows)%dim != 0 {
		return nil, fmt.Errorf("data: batcher over %d values, not a positive whole number of %d-value rows", len(rows), dim)
	}
	b := &Batcher{rows: rows, dim: dim, n: len(rows) / dim, seed: seed, shuffle: shuffle}
	b.startEpoch(0)
	return b, nil
}

// NewByteBatcher is NewBatcher over rows held as bytes, pix, which it converts to
// float32 one batch at a time through lut (the value of each byte): images held as
// uint8 take a quarter of the memory.
func NewByteBatcher(pix []uint8, dim int, lut *[256]float32, seed uint64, shuffle bool) (*Batcher, error) {
	if dim < 1 {
		return nil, fmt.Errorf("data: batcher dimension %d, want ≥ 1", dim)
	}
	if len(pix) == 0 || len(pix)%dim != 0 {
		return nil, fmt.Errorf("data: batcher over %d values, not a positive whole number of %d-value rows", len(pix), dim)
	}
	b := &Batcher{pix: pix, lut: lut, dim: dim, n: len(pix) / dim, seed: seed, shuffle: shuffle}
	b.startEpoch(0)
	return b, nil
}

// Dim returns the number of values per point.
func (b *Batcher) Dim() int { return b.dim }

// Len returns the number of rows.
func (b *Batcher) Len() int { return b.n }

// Epoch returns the current epoch (0-based) and how many of its rows have been drawn.
func (b *Batcher) Epoch() (epoch uint64, pos int) { return b.epoch, b.pos }

func (b *Batcher) startEpoch(e uint64) {
	b.epoch, b.pos = e, 0
	if cap(b.perm) < b.n {
		b.perm = make([]int, b.n)
	}
	b.perm = b.perm[:b.n]
	for i := range b.perm {
		b.perm[i] = i
	}
	if b.shuffle {
		rng := rand.New(rand.NewPCG(b.seed, 0x62617463680000+e))
		rng.Shuffle(b.n, func(i, j int) { b.perm[i], b.perm[j] = b.perm[j], b.perm[i] })
	}
}

// Next fills dst with the next len(dst)/Dim() rows.
func (b *Batcher) Next(dst []float32) {
	if len(dst)%b.dim != 0 {
		panic(fmt.Sprintf("data: Batcher.Next: %d values, not a whole number of %d-value rows", len(dst), b.dim))
	}
	for off := 0; off < len(dst); off += b.dim {
		if b.pos == b.n {
			b.startEpoch(b.epoch + 1)
		}
		r := b.perm[b.pos]
		if b.pix != nil {
			for i, v := range b.pix[r*b.dim : (r+1)*b.dim] {
				dst[off+i] = b.lut[v]
			}
		} else {
			copy(dst[off:off+b.dim], b.rows[r*b.dim:(r+1)*b.dim])
		}
		b.pos++
	}
}

// MarshalBinary saves the seed, the number of rows, the epoch and the position.
func (b *Batcher) MarshalBinary() ([]byte, error) {
	out := binary.LittleEndian.AppendUint64(nil, b.seed)
	out = binary.LittleEndian.AppendUint64(out, uint64(b.n))
	out = binary.LittleEndian.AppendUint64(out, b.epoch)
	return binary.LittleEndian.AppendUint64(out, uint64(b.pos)), nil
}

// UnmarshalBinary restores a state saved by MarshalBinary from a Batcher over the same
// rows with the same seed.
func (b *Batcher) UnmarshalBinary(data []byte) error {
	r := &stateReader{b: data, what: "batcher"}
	seed, n, epoch, pos := r.uint64(), r.uint64(), r.uint64(), r.uint64()
	if err := r.done(); err != nil {
		return err
	}
	if seed != b.seed || n != uint64(b.n) {
		return fmt.Errorf("data: batcher state for seed %d over %d rows, this batcher has seed %d over %d rows", seed, n, b.seed, b.n)
	}
	if pos > n {
		return fmt.Errorf("data: batcher state position %d beyond its %d rows", pos, n)
	}
	b.startEpoch(epoch)
	b.pos = int(pos)
	return nil
}

// SelectMNIST selects images of m as rows for a Batcher: split is "train", "test" or
// "all" (train then test); digits, if not empty, keeps only those labels; limit > 0
// keeps the first limit images selected. A whole split is returned without a copy
// (it is m's Images slice): do not modify it.
func SelectMNIST(m *MNIST, split string, digits []int, limit int) ([]float32, error) {
	var sets []*MNISTSet
	switch split {
	case "train", "":
		sets = []*MNISTSet{&m.Train}
	case "test":
		sets = []*MNISTSet{&m.Test}
	case "all":
		sets = []*MNISTSet{&m.Train, &m.Test}
	default:
		return nil, fmt.Errorf("data: MNIST split %q: want train, test or all", split)
	}
	keep := [10]bool{}
	for _, d := range digits {
		if d < 0 || d > 9 {
			return nil, fmt.Errorf("data: MNIST digit %d is not 0–9", d)
		}
		keep[d] = true
	}
	if len(sets) == 1 && len(digits) == 0 && (limit <= 0 || limit >= sets[0].Len()) && sets[0].Len() > 0 {
		return sets[0].Images, nil
	}
	var out []float32
	count := 0
	for _, s := range sets {
		for i, l := range s.Labels {
			if limit > 0 && count == limit {
				break
			}
			if len(digits) > 0 && !keep[l] {
				continue
			}
			out = append(out, s.Image(i)...)
			count++
		}
	}
	if count == 0 {
		return nil, fmt.Errorf("data: no MNIST image matches split %q, digits %v", split, digits)
	}
	return out, nil
}
