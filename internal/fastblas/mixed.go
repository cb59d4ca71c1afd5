package fastblas

// dot32Go is Dot32's portable loop, with four partial sums.
func dot32Go(x []float32, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i]) * y[i]
		s1 += float64(x[i+1]) * y[i+1]
		s2 += float64(x[i+2]) * y[i+2]
		s3 += float64(x[i+3]) * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i]) * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy32Go is Axpy32's portable loop.
func axpy32Go(alpha float64, x []float32, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * float64(v)
	}
}

// axpy32x4Go is Axpy32x4's portable loop: per entry, the four updates of axpy32Go in
// turn.
func axpy32x4Go(c *[4]float64, x []float32, stride int, y []float64) {
	x0, x1 := x[:len(y)], x[stride:stride+len(y)]
	x2, x3 := x[2*stride:2*stride+len(y)], x[3*stride:3*stride+len(y)]
	for i := range y {
		v := y[i] + c[0]*float64(x0[i])
		v += c[1] * float64(x1[i])
		v += c[2] * float64(x2[i])
		y[i] = v + c[3]*float64(x3[i])
	}
}
