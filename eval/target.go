package eval

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/losses"
	"github.com/sinkgen/sinkgen/models"
)

// Target is a held-out reference sample together with the metric options that suit
// its data: what every generator of one comparison is evaluated against.
type Target struct {
	Data string     // "mnist" or a toy distribution
	Ref  *mat.Dense // reference points, one per row
	// Real is a second held-out sample of the data, disjoint from Ref and of its size
	// (nil when the test split is too small): evaluating it gives each metric's value
	// for a perfect generator at this sample size.
	Real    *mat.Dense
	Options Options
}

// MNISTTarget returns n MNIST test images drawn with seed (MNISTReference) and the
// MNIST options: ε = DefaultEps, the MMD-GAN bandwidths, and the classifier metrics
// when clf is not nil.
//
// Real holds the next n images of the same seeded permutation of the test split.
func MNISTTarget(ds *data.MNIST, clf *Classifier, n int, seed uint64) (*Target, error) {
	ref, err := MNISTReference(ds, n, seed)
	if err != nil {
		return nil, err
	}
	t := &Target{Data: "mnist", Ref: ref, Options: Options{Classifier: clf,
		Distances: DistanceOptions{Eps: DefaultEps, Bandwidths: append([]float64(nil), losses.DefaultBandwidths...)}}}
	if all, _ := ref.Dims(); 2*all <= ds.Test.Len() {
		both, err := MNISTReference(ds, 2*all, seed)
		if err != nil {
			return nil, err
		}
		t.Real = mat.DenseCopyOf(both.Slice(all, 2*all, 0, data.MNISTPixels))
	}
	return t, nil
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
	buf := make([]float32, 4*n)
	s.Next(buf)
	t := &Target{Data: string(kind), Ref: DenseFromFloat32(buf[:2*n], n, 2), Real: DenseFromFloat32(buf[2*n:], n, 2),
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

// Sample draws n points from the generator g, with latent noise z ~ N(0, I) from a
// generator seeded by seed (cmd/eval and cmd/compare draw the same points for a seed).
func Sample(g *models.Generator, n int, seed uint64) (*mat.Dense, error) {
	if g == nil || n < 1 {
		return nil, fmt.Errorf("eval: sampling %d points from %v", n, g)
	}
	spec := g.Spec()
	z := make([]float32, n*spec.LatentDim)
	models.Latent(rand.New(rand.NewPCG(seed, 0x1a7e_47)), z)
	out, err := g.Generate(z)
	if err != nil {
		return nil, err
	}
	if len(out) != n*spec.OutDim {
		return nil, fmt.Errorf("eval: the generator gave %d values for %d points of dimension %d", len(out), n, spec.OutDim)
	}
	return DenseFromFloat32(out, n, spec.OutDim), nil
}

// DataTarget returns n points of a data set read from the user's files (data.Dataset;
// the points held out from training, data.Dataset.Holdout) drawn with seed, the next
// n as Real, and the MNIST options (ε = DefaultEps, the MMD-GAN bandwidths, for points
// in [0, 1]) with the classifier metrics when clf is not nil.
func DataTarget(ds *data.Dataset, kind string, clf *Classifier, n int, seed uint64) (*Target, error) {
	if ds == nil || ds.N < 2 {
		return nil, fmt.Errorf("eval: a data target needs at least 2 points")
	}
	n = min(n, ds.N)
	perm := rand.New(rand.NewPCG(seed, 0x7e57)).Perm(ds.N)
	rows := func(idx []int) *mat.Dense {
		out := mat.NewDense(len(idx), ds.Dim, nil)
		p := make([]float32, ds.Dim)
		for i, k := range idx {
			ds.Point(p, k)
			row := out.RawRowView(i)
			for j, v := range p {
				row[j] = float64(v)
			}
		}
		return out
	}
	t := &Target{Data: kind, Ref: rows(perm[:n]), Options: Options{Classifier: clf,
		Distances: DistanceOptions{Eps: DefaultEps, Bandwidths: append([]float64(nil), losses.DefaultBandwidths...)}}}
	if 2*n <= ds.N {
		t.Real = rows(perm[n : 2*n])
	}
	return t, nil
}

// DataClassifierPath is where the classifier of a data set split into train and
// test is cached under the module root: keyed by the checksums of the two parts
// (data.Dataset.Checksum), so that other data, the same file changed or another
// split trains its own.
func DataClassifierPath(root string, train, test *data.Dataset) string {
	sum := sha256.Sum256([]byte(train.Checksum() + " " + test.Checksum()))
	return filepath.Join(root, filepath.Dir(DefaultClassifierPath), fmt.Sprintf("classifier-%x.bin", sum[:8]))
}
