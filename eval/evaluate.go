package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/sinkgen/sinkgen/data"
)

// DefaultSamples is the default number of generated and of reference samples.
const DefaultSamples = 1000

// Options select and tune the metrics of Evaluate.
type Options struct {
	// Distances tunes the sample distances (exact OT, Sinkhorn, MMD, energy).
	Distances DistanceOptions
	// Classifier enables the classifier metrics on MNIST-shaped samples (784
	// columns): class histogram, confidence, score, Fréchet distance and the C2ST in
	// its feature space. nil leaves them out.
	Classifier *Classifier
	// C2ST tunes both two-sample tests; SkipC2ST leaves them out, SkipPixelC2ST only
	// the one on raw coordinates.
	C2ST                    C2STOptions
	SkipC2ST, SkipPixelC2ST bool
	// Modes enables the toy-data mode metrics (nil: none); ModeRadius and MinShare
	// tune them and the class coverage (0: 3σ and DefaultMinShare).
	Modes      *Modes
	ModeRadius float64
	MinShare   float64
}

// Metrics are the evaluation of a generated sample against a reference sample.
// Float fields that were not computed are NaN (null in JSON).
type Metrics struct {
	NGenerated int `json:"n_generated"`
	NReference int `json:"n_reference"`
	// Distances between the samples themselves.
	Distances *Distances `json:"distances"`
	// Classes of the generated samples and, for comparison, of the reference.
	Classes          *ClassStats `json:"classes,omitempty"`
	ReferenceClasses *ClassStats `json:"reference_classes,omitempty"`
	// Frechet is the Fréchet distance between Gaussians fitted to the classifier's
	// penultimate features of the two samples (FID with the MNIST classifier).
	Frechet float64 `json:"frechet"`
	// C2STFeatures is the two-sample test in the classifier's feature space,
	// C2STPixels on raw coordinates (pixels, or the toy points).
	C2STFeatures *C2STResult `json:"c2st_features,omitempty"`
	C2STPixels   *C2STResult `json:"c2st_pixels,omitempty"`
	// Modes are the toy-data mode metrics.
	Modes *ModeStats `json:"modes,omitempty"`
	// Seconds is the wall time of each group of metrics.
	Seconds map[string]float64 `json:"seconds"`
}

// Evaluate computes the metrics between the rows of gen (generated) and of ref
// (held-out real data). Use the same ref, sizes and options for every model you
// compare: the estimates depend on them.
func Evaluate(gen, ref *mat.Dense, opt Options) (*Metrics, error) {
	if err := checkPair(gen, ref); err != nil {
		return nil, err
	}
	n, _ := gen.Dims()
	m, _ := ref.Dims()
	out := &Metrics{NGenerated: n, NReference: m, Frechet: math.NaN(), Seconds: map[string]float64{}}
	d, err := ComputeDistances(gen, ref, opt.Distances)
	if err != nil {
		return nil, err
	}
	out.Distances = d
	for k, v := range d.Seconds {
		out.Seconds[k] = v
	}
	if c := opt.Classifier; c != nil {
		t0 := time.Now()
		pg, fg, err := c.Predict(gen)
		if err != nil {
			return nil, err
		}
		pr, fr, err := c.Predict(ref)
		if err != nil {
			return nil, err
		}
		if out.Classes, err = ClassMetrics(pg, opt.MinShare); err != nil {
			return nil, err
		}
		if out.ReferenceClasses, err = ClassMetrics(pr, opt.MinShare); err != nil {
			return nil, err
		}
		gg, err := FitGaussian(fg)
		if err != nil {
			return nil, err
		}
		gr, err := FitGaussian(fr)
		if err != nil {
			return nil, err
		}
		if out.Frechet, err = FrechetDistance(gg, gr); err != nil {
			return nil, err
		}
		out.Seconds["classifier"] = time.Since(t0).Seconds()
		if !opt.SkipC2ST {
			t0 = time.Now()
			if out.C2STFeatures, err = C2ST(fg, fr, opt.C2ST); err != nil {
				return nil, err
			}
			out.Seconds["c2st_features"] = time.Since(t0).Seconds()
		}
	}
	if !opt.SkipC2ST && !opt.SkipPixelC2ST {
		t0 := time.Now()
		if out.C2STPixels, err = C2ST(gen, ref, opt.C2ST); err != nil {
			return nil, err
		}
		out.Seconds["c2st_pixels"] = time.Since(t0).Seconds()
	}
	if opt.Modes != nil {
		t0 := time.Now()
		if out.Modes, err = ModeCoverage(gen, *opt.Modes, opt.ModeRadius, opt.MinShare); err != nil {
			return nil, err
		}
		out.Seconds["modes"] = time.Since(t0).Seconds()
	}
	return out, nil
}

// JSON: encoding/json cannot write NaN or ±Inf, which mark metrics that were not
// computed (or are undefined), so the float fields of the metric structs are written
// as null then, and null reads back as NaN.

// MarshalJSON implements json.Marshaler.
func (m Metrics) MarshalJSON() ([]byte, error) { return marshalFinite(m) }

// UnmarshalJSON implements json.Unmarshaler.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	type plain Metrics
	return unmarshalFinite(b, (*plain)(m))
}

// MarshalJSON implements json.Marshaler.
func (d Distances) MarshalJSON() ([]byte, error) { return marshalFinite(d) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Distances) UnmarshalJSON(b []byte) error {
	type plain Distances
	return unmarshalFinite(b, (*plain)(d))
}

// MarshalJSON implements json.Marshaler.
func (s ModeStats) MarshalJSON() ([]byte, error) { return marshalFinite(s) }

// UnmarshalJSON implements json.Unmarshaler.
func (s *ModeStats) UnmarshalJSON(b []byte) error {
	type plain ModeStats
	return unmarshalFinite(b, (*plain)(s))
}

// marshalFinite writes a struct as a JSON object in field order, with the json tag
// names (or the field names), non-finite float64 fields as null.
func marshalFinite(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		name, omitEmpty := f.Name, false
		if tag, ok := f.Tag.Lookup("json"); ok {
			parts := strings.Split(tag, ",")
			if parts[0] == "-" {
				continue
			}
			if parts[0] != "" {
				name = parts[0]
			}
			for _, p := range parts[1:] {
				omitEmpty = omitEmpty || p == "omitempty"
			}
		}
		fv := rv.Field(i)
		if omitEmpty && fv.IsZero() {
			continue
		}
		var enc []byte
		if fv.Kind() == reflect.Float64 && (math.IsNaN(fv.Float()) || math.IsInf(fv.Float(), 0)) {
			enc = []byte("null")
		} else {
			var err error
			if enc, err = json.Marshal(fv.Interface()); err != nil {
				return nil, fmt.Errorf("eval: field %s: %w", f.Name, err)
			}
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		key, _ := json.Marshal(name)
		b.Write(key)
		b.WriteByte(':')
		b.Write(enc)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// unmarshalFinite decodes into *struct p (a method-less alias) after setting its
// float64 fields to NaN, so that null and absent fields read back as NaN.
func unmarshalFinite(b []byte, p any) error {
	rv := reflect.ValueOf(p).Elem()
	for i := 0; i < rv.NumField(); i++ {
		if f := rv.Field(i); f.Kind() == reflect.Float64 && f.CanSet() {
			f.SetFloat(math.NaN())
		}
	}
	return json.Unmarshal(b, p)
}

// MNISTReference returns n distinct MNIST test images (all 10000 when n ≤ 0 or
// larger), drawn by a generator seeded with seed, as rows: the held-out sample
// generators are compared against (the classifier never saw the test split).
func MNISTReference(ds *data.MNIST, n int, seed uint64) (*mat.Dense, error) {
	if ds == nil || ds.Test.Len() == 0 {
		return nil, fmt.Errorf("eval: no MNIST test images")
	}
	total := ds.Test.Len()
	if n <= 0 || n > total {
		n = total
	}
	perm := rand.New(rand.NewPCG(seed, 0x7e57)).Perm(total)[:n]
	out := mat.NewDense(n, data.MNISTPixels, nil)
	for i, k := range perm {
		row := out.RawRowView(i)
		for j, v := range ds.Test.Image(k) {
			row[j] = float64(v)
		}
	}
	return out, nil
}

// Headline is one headline number of Metrics.
type Headline struct {
	Key   string  // stable identifier (JSON, tables)
	Name  string  // for people
	Value float64 // NaN when not computed
	// Better is −1 when lower is better, +1 when higher is, 0 when neither (the C2ST
	// accuracy is best at ½, and cannot usefully fall below it).
	Better int
}

// Headlines lists the metrics worth a table column, in a fixed order: the distances,
// then the classifier metrics, then the mode metrics, each NaN when not computed.
func (m *Metrics) Headlines() []Headline {
	nan := math.NaN()
	d := m.Distances
	if d == nil {
		d = &Distances{OT: nan, W2: nan, Sinkhorn: nan, MMD: nan, Energy: nan}
	}
	h := []Headline{
		{"w2", "W₂ (exact)", d.W2, -1},
		{"sinkhorn", fmt.Sprintf("S_ε (ε=%g)", d.Eps), d.Sinkhorn, -1},
		{"mmd", "MMD² (Gaussian mix)", d.MMD, -1},
		{"energy", "energy distance", d.Energy, -1},
	}
	c2 := func(r *C2STResult) float64 {
		if r == nil {
			return nan
		}
		return r.Accuracy
	}
	h = append(h, Headline{"frechet", "Fréchet (classifier)", m.Frechet, -1})
	h = append(h, Headline{"c2st_features", "C2ST acc. (features)", c2(m.C2STFeatures), 0})
	h = append(h, Headline{"c2st_pixels", "C2ST acc. (data space)", c2(m.C2STPixels), 0})
	if c := m.Classes; c != nil {
		h = append(h, Headline{"classes_covered", "classes covered", float64(c.Covered), 1},
			Headline{"kl_uniform", "KL(classes ‖ uniform)", c.KLUniform, -1},
			Headline{"confidence", "mean confidence", c.MeanConfidence, 1},
			Headline{"score", "classifier score", c.Score, 1})
	} else {
		h = append(h, Headline{"classes_covered", "classes covered", nan, 1},
			Headline{"kl_uniform", "KL(classes ‖ uniform)", nan, -1},
			Headline{"confidence", "mean confidence", nan, 1},
			Headline{"score", "classifier score", nan, 1})
	}
	if s := m.Modes; s != nil {
		h = append(h, Headline{"modes_covered", fmt.Sprintf("modes covered (of %d)", s.Modes), float64(s.Covered), 1},
			Headline{"high_quality", "high-quality fraction", s.HighQuality, 1},
			Headline{"mode_kl", "KL(modes ‖ weights)", s.KL, -1})
	}
	return h
}
