package eval

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
)

// Target is a held-out reference sample together with the metric options that suit
// its data: what every generator of one comparison is evaluated against.
type Target struct {
	Data    string     // "mnist" or a toy distribution
	Ref     *mat.Dense // reference points, one per row
	Options Options
}

// MNISTTarget returns n MNIST test images drawn with seed (MNISTReference) and the
// MNIST options: ε = DefaultEps, the MMD-GAN bandwidths, and the classifier metrics
// when clf is not nil.
func MNISTTarget(ds *data.MNIST, clf *Classifier, n int, seed uint64) (*Target, error) {
	ref, err := MNISTReference(ds, n, seed)
	if err != nil {
		return nil, err
	}
	return &Target{Data: "mnist", Ref: ref, Options: Options{Classifier: clf, Distances: DistanceOptions{Eps: DefaultEps}}}, nil
}

// Evaluate evaluates gen against the target.
func (t *Target) Evaluate(gen *mat.Dense) (*Metrics, error) {
	if t == nil || t.Ref == nil {
		return nil, fmt.Errorf("eval: no target")
	}
	return Evaluate(gen, t.Ref, t.Options)
}

// DefaultToyEps is the evaluation ε for the toy 2-D data, where ½|x−y|² between two
// modes of the ring is about 1.2 and a mode's σ is 0.05: S_ε stays within a few per
// cent of exact OT there.
const DefaultToyEps = 0.05

// ToyBandwidths are the evaluation MMD bandwidths for the toy 2-D data, from a mode's
// width to the data's extent.
var ToyBandwidths = []float64{0.05, 0.1, 0.2, 0.5, 1, 2}

// toySeedStream separates the evaluation's toy draws from the training streams,
// which are seeded by small run seeds.
const toySeedStream = 0xe7a1_5eed_0000_0000

// ToyTarget returns n fresh points of the toy distribution (data.NewToy with the
// given noise, seeded apart from any training stream) and the toy options:
// DefaultToyEps, ToyBandwidths, and for Ring and Grid the mode metrics with σ =
// noise (left out when noise is 0).
func ToyTarget(kind data.Toy, noise float64, n int, seed uint64) (*Target, error) {
	if n < 2 {
		return nil, fmt.Errorf("eval: a toy target of %d points", n)
	}
	s, err := data.NewToy(kind, noise, seed^toySeedStream)
	if err != nil {
		return nil, err
	}
	if noise < 0 {
		noise = kind.DefaultNoise()
	}
	buf := make([]float32, 2*n)
	s.Next(buf)
	t := &Target{Data: string(kind), Ref: DenseFromFloat32(buf, n, 2),
		Options: Options{Distances: DistanceOptions{Eps: DefaultToyEps, Bandwidths: append([]float64(nil), ToyBandwidths...)}}}
	if centres := kind.Modes(); centres != nil && noise > 0 {
		m := &Modes{Sigma: noise}
		for _, c := range centres {
			m.Centres = append(m.Centres, []float64{c[0], c[1]})
		}
		t.Options.Modes = m
	}
	return t, nil
}
