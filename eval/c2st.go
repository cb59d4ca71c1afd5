package eval

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// C2STOptions configure the classifier two-sample test. Zero fields take defaults.
type C2STOptions struct {
	Hidden int // hidden width of the MLP (default 64)
	// Steps is the least number of Adam steps: whole passes over the training half
	// are run until at least Steps (default 1200).
	Steps int
	Batch int     // default 64
	LR    float64 // default 3e-3, cosine-decayed
	Seed  uint64  // split, initialization and shuffling (default 1)
}

func (o C2STOptions) withDefaults() (C2STOptions, error) {
	if o.Hidden == 0 {
		o.Hidden = 64
	}
	if o.Steps == 0 {
		o.Steps = 1200
	}
	if o.Batch == 0 {
		o.Batch = 64
	}
	if o.LR == 0 {
		o.LR = 3e-3
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Hidden < 1 || o.Steps < 1 || o.Batch < 1 || !(o.LR > 0) {
		return o, fmt.Errorf("eval: bad C2ST options %+v", o)
	}
	return o, nil
}

// C2STResult is the outcome of a classifier two-sample test.
type C2STResult struct {
	// Accuracy on the held-out half: ½ when the classifier cannot tell the samples
	// apart, 1 when it always can.
	Accuracy float64 `json:"accuracy"`
	// NTrain and NTest count the points (both samples together) of each half.
	NTrain int `json:"n_train"`
	NTest  int `json:"n_test"`
	// PValue is P(Binomial(NTest, ½) ≥ correct answers), the one-sided p-value of
	// the null hypothesis that both samples come from one distribution.
	PValue float64 `json:"p_value"`
}

// C2ST is the classifier two-sample test of Lopez-Paz & Oquab (2017): n = min(rows)
// points are drawn from each sample (seeded), each sample is split in half, an MLP
// with one ReLU hidden layer learns to tell generated (label 1) from reference
// (label 0) on the first halves — coordinates centred and scaled by the training
// half's mean and root mean variance — and its accuracy is measured on the second halves.
// Under the null hypothesis the NTest answers are fair coin flips, whence PValue.
func C2ST(gen, ref *mat.Dense, opt C2STOptions) (*C2STResult, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkPair(gen, ref); err != nil {
		return nil, err
	}
	ng, d := gen.Dims()
	nr, _ := ref.Dims()
	n := min(ng, nr)
	if n < 4 {
		return nil, fmt.Errorf("eval: C2ST needs at least 4 points per sample, got %d", n)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0xc257))
	pg, pr := rng.Perm(ng)[:n], rng.Perm(nr)[:n]
	half := n / 2
	nTrain, nTest := 2*half, 2*(n-half)
	xTrain := make([]float64, nTrain*d)
	yTrain := make([]int, nTrain)
	xTest := mat.NewDense(nTest, d, nil)
	yTest := make([]int, nTest)
	ti, si := 0, 0
	for k := 0; k < n; k++ {
		for side, src := range []*mat.Dense{ref, gen} {
			var row []float64
			if side == 0 {
				row = src.RawRowView(pr[k])
			} else {
				row = src.RawRowView(pg[k])
			}
			if k < half {
				copy(xTrain[ti*d:(ti+1)*d], row)
				yTrain[ti] = side
				ti++
			} else {
				xTest.SetRow(si, row)
				yTest[si] = side
				si++
			}
		}
	}
	// Centre each coordinate and divide by one common scale, the root mean variance
	// of the training half: per-coordinate scaling would blow up nearly constant
	// coordinates (the border pixels of MNIST) into huge inputs.
	mean := make([]float64, d)
	for i := 0; i < nTrain; i++ {
		for j, v := range xTrain[i*d : (i+1)*d] {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(nTrain)
	}
	var ss float64
	for i := 0; i < nTrain; i++ {
		for j, v := range xTrain[i*d : (i+1)*d] {
			ss += (v - mean[j]) * (v - mean[j])
		}
	}
	scale := math.Sqrt(ss / float64(nTrain*d))
	if !(scale > 1e-12) {
		scale = 1
	}
	standardize := func(row []float64) {
		for j := range row {
			row[j] = (row[j] - mean[j]) / scale
		}
	}
	for i := 0; i < nTrain; i++ {
		standardize(xTrain[i*d : (i+1)*d])
	}
	for i := 0; i < nTest; i++ {
		standardize(xTest.RawRowView(i))
	}
	net, err := newMLP([]int{d, opt.Hidden, 2}, rng)
	if err != nil {
		return nil, err
	}
	perEpoch := nTrain / min(opt.Batch, nTrain)
	epochs := (opt.Steps + perEpoch - 1) / perEpoch
	if err := trainMLP(net, xTrain, yTrain, trainOptions{Epochs: epochs, Batch: opt.Batch, LR: opt.LR, WeightDecay: 0.01, Seed: opt.Seed}); err != nil {
		return nil, fmt.Errorf("eval: C2ST: %w", err)
	}
	logits, _, err := net.forward(xTest)
	if err != nil {
		return nil, err
	}
	correct := 0
	for i := 0; i < nTest; i++ {
		if argmax(logits.RawRowView(i)) == yTest[i] {
			correct++
		}
	}
	res := &C2STResult{Accuracy: float64(correct) / float64(nTest), NTrain: nTrain, NTest: nTest}
	res.PValue = binomialHalfTail(nTest, correct)
	return res, nil
}

// binomialHalfTail returns P(Binomial(n, ½) ≥ k), summed in the log domain so that
// tiny tails do not cancel to 0 (1 − CDF would).
func binomialHalfTail(n, k int) float64 {
	if k <= 0 {
		return 1
	}
	if k > n {
		return 0
	}
	lgn, _ := math.Lgamma(float64(n + 1))
	logs := make([]float64, 0, n-k+1)
	mx := math.Inf(-1)
	for j := k; j <= n; j++ {
		a, _ := math.Lgamma(float64(j + 1))
		b, _ := math.Lgamma(float64(n - j + 1))
		l := lgn - a - b - float64(n)*math.Ln2
		logs = append(logs, l)
		mx = math.Max(mx, l)
	}
	s := 0.0
	for _, l := range logs {
		s += math.Exp(l - mx)
	}
	return math.Min(1, math.Exp(mx)*s)
}
