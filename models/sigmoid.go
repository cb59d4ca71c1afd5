package models

import (
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"

	"github.com/sinkgen/sinkgen/internal/parallel"
)

func matrix(a hm.Type) G.TensorType { return G.TensorType{Dims: 2, Of: a} }

// chunked runs body over [0,n) in one contiguous range per CPU from 2^15 values on.
func chunked(n int, body func(lo, hi int)) {
	parallel.For(n, 2, func(_, lo, hi int) { body(lo, hi) })
}

// sigmoid32 is 1/(1+e^−x), evaluated through e^−|x| so that nothing overflows:
// 1/(1+e) for x ≥ 0, e/(1+e) below. Both are computed and one is picked by x's sign
// bit, without a branch: the signs of a layer's inputs are random, and a mispredicted
// branch cost more than the second division.
func sigmoid32(x float32) float32 {
	e := expNeg32(-abs32(x))
	pos, neg := math.Float32bits(1/(1+e)), math.Float32bits(e/(1+e))
	mask := uint32(int32(math.Float32bits(x)) >> 31) // all ones when the sign bit is set
	return math.Float32frombits(pos&^mask | neg&mask)
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// expNeg32 returns e^x for x ≤ 0 within a few float32 ulp (0 below −87, where
// e^x is subnormal): x = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-6 Taylor
// polynomial (remainder below 2e−7 relative), times 2^n by exponent arithmetic.
func expNeg32(x float32) float32 {
	if !(x >= -87) { // NaN stays NaN
		if x != x {
			return x
		}
		return 0
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375 // ln2 split so that n·ln2hi is exact
		ln2lo = -2.12194440e-4
	)
	n := float32(int32(x*log2e - 0.5)) // round to nearest for x ≤ 0
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}
