package ot

import (
	"math"
	"math/rand/v2"
)

// The ziggurat of fillNormal (Marsaglia and Tsang 2000): 128 layers of equal area
// under the normal density, the base one ending in the tail beyond zigR; zigK are the
// acceptance bounds on the 24-bit abscissa, zigW its scales and zigF the density at
// the layers' edges.
const (
	zigR    = 3.442619855899
	zigArea = 9.91256303526217e-3
	zigOne  = 1 << 23 // the abscissa is a signed 24-bit integer
)

var (
	zigK       [128]uint32
	zigW, zigF [128]float64
)

func init() {
	dn, tn := zigR, zigR
	q := zigArea / math.Exp(-0.5*dn*dn)
	zigK[0] = uint32(dn / q * zigOne)
	zigW[0], zigW[127] = q/zigOne, dn/zigOne
	zigF[0], zigF[127] = 1, math.Exp(-0.5*dn*dn)
	for i := 126; i >= 1; i-- {
		dn = math.Sqrt(-2 * math.Log(zigArea/dn+math.Exp(-0.5*dn*dn)))
		zigK[i+1] = uint32(dn / tn * zigOne)
		tn = dn
		zigF[i] = math.Exp(-0.5 * dn * dn)
		zigW[i] = dn / zigOne
	}
}

// fillNormal fills dst with standard normal deviates from src by the ziggurat method,
// two from each 64-bit draw (a 7-bit layer and a signed 24-bit abscissa each, where
// math/rand's NormFloat64 spends a draw on one): about twice as fast, with deviates
// on a grid of 2⁻²³ of their layer's width, which random directions do not notice.
func fillNormal(dst []float64, src *rand.PCG) {
	i := 0
	for i+1 < len(dst) {
		u := src.Uint64()
		x0, ok0 := zigRect(uint32(u))
		x1, ok1 := zigRect(uint32(u >> 32))
		if ok0 && ok1 {
			dst[i], dst[i+1] = x0, x1
			i += 2
			continue
		}
		for _, c := range [2]uint32{uint32(u), uint32(u >> 32)} {
			if x, ok := zigDraw(src, c); ok && i < len(dst) {
				dst[i] = x
				i++
			}
		}
	}
	for i < len(dst) {
		if x, ok := zigDraw(src, uint32(src.Uint64())); ok {
			dst[i] = x
			i++
		}
	}
}

// zigRect is the deviate of the 32 random bits c when it falls in its layer's
// rectangle (about 79 times in 80).
func zigRect(c uint32) (float64, bool) {
	layer := c & 0x7f
	j := int32(c) >> 8
	return float64(j) * zigW[layer], uint32(max(j, -j)) < zigK[layer]
}

// zigDraw is the deviate of the 32 random bits c, if they give one.
func zigDraw(src *rand.PCG, c uint32) (float64, bool) {
	if x, ok := zigRect(c); ok {
		return x, true
	}
	layer := c & 0x7f
	j := int32(c) >> 8
	return zigEdge(src, j, layer, float64(j)*zigW[layer])
}

// zigEdge decides the draws outside a layer's rectangle, about 1 in 80: in the base
// layer a deviate of the tail (Marsaglia 1964), elsewhere x if it falls under the
// density, else none.
func zigEdge(src *rand.PCG, j int32, layer uint32, x float64) (float64, bool) {
	// uniform in (0, 1]: −log is finite.
	unif := func() float64 { return float64(src.Uint64()>>11+1) / (1 << 53) }
	if layer == 0 {
		for {
			x = -math.Log(unif()) / zigR
			if y := -math.Log(unif()); y+y >= x*x {
				break
			}
		}
		return math.Copysign(zigR+x, float64(j)), true
	}
	return x, zigF[layer]+unif()*(zigF[layer-1]-zigF[layer]) < math.Exp(-0.5*x*x)
}
