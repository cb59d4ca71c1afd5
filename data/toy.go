package data

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
)

// Toy names a 2-D toy distribution for fast experiments.
type Toy string

const (
	// Ring is 8 Gaussians of standard deviation Noise centred on the circle of radius 2
	// (Metz et al., "Unrolled GANs", 2017).
	Ring Toy = "ring"
	// Grid is 25 Gaussians of standard deviation Noise centred on {−4,−2,0,2,4}²
	// (Srivastava et al., "VEEGAN", 2017).
	Grid Toy = "grid"
	// Moons is two interleaved half circles of radius 1 plus Gaussian noise, scikit-learn's
	// make_moons centred at the origin.
	Moons Toy = "moons"
	// SwissRoll is the 2-D swiss roll (t cos t, t sin t)/5 for t uniform in [1.5π, 4.5π],
	// plus Gaussian noise: a spiral within radius ≈ 2.8.
	SwissRoll Toy = "swissroll"
)

// Toys lists every toy distribution.
var Toys = []Toy{Ring, Grid, Moons, SwissRoll}

// DefaultNoise is the standard deviation of the Gaussian noise of each toy
// distribution when none is given.
func (t Toy) DefaultNoise() float64 {
	switch t {
	case Ring:
		return 0.05
	case Grid:
		return 0.05
	case Moons:
		return 0.05
	}
	return 0.05
}

// Modes returns the centres of the Gaussians of Ring and Grid (nil for the others):
// a generator covers a mode when some of its samples fall near the centre.
func (t Toy) Modes() [][2]float64 {
	switch t {
	case Ring:
		out := make([][2]float64, 8)
		for k := range out {
			a := 2 * math.Pi * float64(k) / 8
			out[k] = [2]float64{2 * math.Cos(a), 2 * math.Sin(a)}
		}
		return out
	case Grid:
		out := make([][2]float64, 0, 25)
		for i := -2; i <= 2; i++ {
			for j := -2; j <= 2; j++ {
				out = append(out, [2]float64{2 * float64(i), 2 * float64(j)})
			}
		}
		return out
	}
	return nil
}

// ToySampler draws independent points of a toy distribution from its own seeded
// generator. It is a Source of dimension 2.
type ToySampler struct {
	kind  Toy
	noise float64
	pcg   *rand.PCG
	rng   *rand.Rand
}

// NewToy returns a sampler of the toy distribution kind with Gaussian noise of
// standard deviation noise (negative: the kind's DefaultNoise), seeded by seed.
func NewToy(kind Toy, noise float64, seed uint64) (*ToySampler, error) {
	switch kind {
	case Ring, Grid, Moons, SwissRoll:
	default:
		return nil, fmt.Errorf("data: unknown toy distribution %q (want one of %v)", kind, Toys)
	}
	if noise < 0 {
		noise = kind.DefaultNoise()
	}
	if math.IsNaN(noise) || math.IsInf(noise, 0) {
		return nil, fmt.Errorf("data: toy noise %v must be finite", noise)
	}
	pcg := rand.NewPCG(seed, 0x70795f64617461) // a stream of its own
	return &ToySampler{kind: kind, noise: noise, pcg: pcg, rng: rand.New(pcg)}, nil
}

// Kind returns the distribution drawn.
func (s *ToySampler) Kind() Toy { return s.kind }

// Dim returns 2.
func (s *ToySampler) Dim() int { return 2 }

// Next fills dst with len(dst)/2 points (x, y).
func (s *ToySampler) Next(dst []float32) {
	if len(dst)%2 != 0 {
		panic(fmt.Sprintf("data: ToySampler.Next: %d values, not a whole number of 2-D points", len(dst)))
	}
	for i := 0; i < len(dst); i += 2 {
		x, y := s.point()
		dst[i] = float32(x + s.noise*s.rng.NormFloat64())
		dst[i+1] = float32(y + s.noise*s.rng.NormFloat64())
	}
}

// point draws the noiseless part of one point.
func (s *ToySampler) point() (x, y float64) {
	switch s.kind {
	case Ring:
		a := 2 * math.Pi * float64(s.rng.IntN(8)) / 8
		return 2 * math.Cos(a), 2 * math.Sin(a)
	case Grid:
		return 2 * float64(s.rng.IntN(5)-2), 2 * float64(s.rng.IntN(5)-2)
	case Moons:
		t := math.Pi * s.rng.Float64()
		if s.rng.IntN(2) == 0 {
			return math.Cos(t) - 0.5, math.Sin(t) - 0.25
		}
		return 1 - math.Cos(t) - 0.5, 0.5 - math.Sin(t) - 0.25
	default: // SwissRoll
		t := 1.5 * math.Pi * (1 + 2*s.rng.Float64())
		return t * math.Cos(t) / 5, t * math.Sin(t) / 5
	}
}

// MarshalBinary saves the generator state (the kind and noise are configuration).
func (s *ToySampler) MarshalBinary() ([]byte, error) {
	st, err := s.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	out := binary.LittleEndian.AppendUint64(nil, math.Float64bits(s.noise))
	return append(out, st...), nil
}

// UnmarshalBinary restores a state saved by MarshalBinary for the same distribution.
func (s *ToySampler) UnmarshalBinary(b []byte) error {
	r := &stateReader{b: b, what: "toy sampler"}
	noise := math.Float64frombits(r.uint64())
	st := r.bytes(pcgStateLen)
	if err := r.done(); err != nil {
		return err
	}
	if noise != s.noise {
		return fmt.Errorf("data: toy sampler state has noise %g, this sampler %g", noise, s.noise)
	}
	if err := s.pcg.UnmarshalBinary(st); err != nil {
		return fmt.Errorf("data: toy sampler state: %w", err)
	}
	return nil
}
