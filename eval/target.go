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
