package eval

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
)

// Two samples of one distribution: accuracy within 4 standard errors of ½, a p-value
// that does not reject.
func TestC2STSameDistribution(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	x, y := gaussianSample(rng, 1000, 10, 0), gaussianSample(rng, 1000, 10, 0)
	r, err := C2ST(x, y, C2STOptions{})
	if err != nil {
		t.Fatal(err)
	}
	se := 0.5 / math.Sqrt(float64(r.NTest))
	if r.NTrain != 1000 || r.NTest != 1000 || math.Abs(r.Accuracy-0.5) > 4*se || r.PValue < 1e-3 {
		t.Errorf("same distribution: %+v", r)
	}
}

// N(0,1) against N(3,1) along one of 5 coordinates: the Bayes classifier is right with
// probability Φ(3/2) = 0.9332; a trained one comes close and cannot beat it beyond noise.
func TestC2STShiftedGaussiansReachBayesAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	x, y := gaussianSample(rng, 1000, 5, 0), gaussianSample(rng, 1000, 5, 0)
	for i := 0; i < 1000; i++ {
		x.Set(i, 2, x.At(i, 2)+3)
	}
	r, err := C2ST(x, y, C2STOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bayes := 0.5 * math.Erfc(-1.5/math.Sqrt2)
	se := math.Sqrt(bayes * (1 - bayes) / float64(r.NTest))
	if r.Accuracy < bayes-0.03 || r.Accuracy > bayes+4*se || r.PValue > 1e-100 || r.PValue <= 0 {
		t.Errorf("shifted: accuracy %.4f, Bayes %.4f (± %.4f), p %v", r.Accuracy, bayes, se, r.PValue)
	}
}

// The p-value is the binomial tail P(Bin(N, ½) ≥ k), checked against a direct sum.
func TestC2STPValueIsBinomialTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	x, y := gaussianSample(rng, 60, 3, 0), gaussianSample(rng, 80, 3, 0.4)
	r, err := C2ST(x, y, C2STOptions{Steps: 50})
	if err != nil {
		t.Fatal(err)
	}
	if r.NTrain != 60 || r.NTest != 60 {
		t.Fatalf("sizes %d/%d, want 60/60 (the smaller sample, halved)", r.NTrain, r.NTest)
	}
	k := int(math.Round(r.Accuracy * 60))
	// P(Bin(n,p) ≥ k) = I_p(k, n−k+1), the regularized incomplete beta function.
	if tail := mathext.RegIncBeta(float64(k), float64(60-k+1), 0.5); math.Abs(r.PValue-tail) > 1e-12 {
		t.Errorf("p-value %v, binomial tail %v (k = %d)", r.PValue, tail, k)
	}
	for _, c := range []struct{ n, k int }{{1000, 500}, {1000, 700}, {1000, 990}, {2000, 1900}, {10, 0}, {10, 10}} {
		want := 1.0
		if c.k > 0 {
			want = mathext.RegIncBeta(float64(c.k), float64(c.n-c.k+1), 0.5)
		}
		if got := binomialHalfTail(c.n, c.k); math.Abs(got-want) > 1e-10*want {
			t.Errorf("P(Bin(%d,½) ≥ %d) = %v, incomplete beta %v", c.n, c.k, got, want)
		}
	}
	if _, err := C2ST(mat.NewDense(3, 2, nil), mat.NewDense(3, 2, nil), C2STOptions{}); err == nil {
		t.Error("C2ST accepted 3 points per sample")
	}
}
