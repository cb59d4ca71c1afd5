package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/sinkgen/sinkgen/internal/strict"
)

// compareConfig is configs/compare.toml, decoded strictly (an unknown key is an error).
type compareConfig struct {
	// Name names the comparison: its runs and report go to checkpoints/<name>/ unless
	// -out says otherwise.
	Name string `toml:"name"`
	// Seeds are the training seeds of every variant (mean ± std over them).
	Seeds []uint64 `toml:"seeds"`
	// Samples is the number of generated and of held-out points per evaluation.
	Samples int `toml:"samples"`
	// EvalSeed seeds the latent draws of the evaluation and the held-out sample.
	EvalSeed uint64 `toml:"eval_seed"`
	// Grid is the number of samples per variant in the side-by-side figures.
	Grid int `toml:"grid"`
	// Quick replaces the above (when set) for -quick.
	Quick quickConfig `toml:"quick"`
	// Experiments are run in order; each trains every variant with every seed.
	Experiments []experiment `toml:"experiment"`
}

// quickConfig is what -quick changes.
type quickConfig struct {
	Seeds   []uint64 `toml:"seeds"`
	Samples int      `toml:"samples"`
	// Experiments restricts -quick to these experiments (empty: all).
	Experiments []string `toml:"experiments"`
}

// experiment is one data set: a base training config and the loss variants.
type experiment struct {
	Name string `toml:"name"`
	// Config is a training config (a path, or a name in configs/).
	Config string `toml:"config"`
	// Set overrides keys of Config for every run ("key=value", as cmd/train -set).
	Set []string `toml:"set"`
	// QuickSet is applied after Set under -quick (fewer steps, say).
	QuickSet []string `toml:"quick_set"`
	// EvalEps and Bandwidths override the evaluation's Sinkhorn ε and MMD bandwidths
	// (0 / empty: the data's defaults, see package eval).
	EvalEps    float64   `toml:"eval_eps"`
	Bandwidths []float64 `toml:"eval_bandwidths"`
	Variants   []variant `toml:"variant"`
}

// variant is one loss. Set may only touch loss keys (lossKey): the runs of an
// experiment differ in the loss (with its learned cost, if any) and the seed, nothing
// else.
type variant struct {
	Name string   `toml:"name"`
	Set  []string `toml:"set"`
	// QuickSet is applied after Set under -quick (a schedule's length, say).
	QuickSet []string `toml:"quick_set"`
	// Quick: false leaves the variant out of -quick.
	Quick *bool `toml:"quick"`
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// selectExperiments returns the experiments named, in the order named.
func selectExperiments(all []experiment, names []string) ([]experiment, error) {
	var keep []experiment
	for _, name := range names {
		i := slices.IndexFunc(all, func(e experiment) bool { return e.Name == name })
		if i < 0 {
			known := make([]string, len(all))
			for k, e := range all {
				known[k] = e.Name
			}
			return nil, fmt.Errorf("%q is not an experiment (have %s)", name, strings.Join(known, ", "))
		}
		keep = append(keep, all[i])
	}
	return keep, nil
}

// loadCompareConfig reads and validates the config; quick applies the -quick values.
func loadCompareConfig(path string, quick bool) (*compareConfig, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &compareConfig{Samples: 1000, EvalSeed: 1, Grid: 36}
	if err := strict.Decode(src, c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if quick {
		if len(c.Quick.Seeds) > 0 {
			c.Seeds = c.Quick.Seeds
		}
		if c.Quick.Samples > 0 {
			c.Samples = c.Quick.Samples
		}
		if len(c.Quick.Experiments) > 0 {
			if c.Experiments, err = selectExperiments(c.Experiments, c.Quick.Experiments); err != nil {
				return nil, fmt.Errorf("%s: quick.experiments: %w", path, err)
			}
		}
		for i := range c.Experiments {
			e := &c.Experiments[i]
			e.Set = append(append([]string(nil), e.Set...), e.QuickSet...)
			var vs []variant
			for _, v := range e.Variants {
				if v.Quick == nil || *v.Quick {
					v.Set = append(append([]string(nil), v.Set...), v.QuickSet...)
					vs = append(vs, v)
				}
			}
			e.Variants = vs
		}
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *compareConfig) validate() error {
	if !slugRE.MatchString(c.Name) {
		return fmt.Errorf("name = %q: want a plain lower-case name (letters, digits, . _ -)", c.Name)
	}
	if len(c.Seeds) == 0 {
		return errors.New("seeds: at least one seed")
	}
	seen := map[uint64]bool{}
	for _, s := range c.Seeds {
		if seen[s] {
			return fmt.Errorf("seeds = %v: seed %d twice", c.Seeds, s)
		}
		seen[s] = true
	}
	if c.Samples < 10 || c.Samples > 10000 {
		return fmt.Errorf("samples = %d: want 10…10000", c.Samples)
	}
	if c.Grid < 1 || c.Grid > 400 {
		return fmt.Errorf("grid = %d: want 1…400", c.Grid)
	}
	if len(c.Experiments) == 0 {
		return errors.New("no [[experiment]]")
	}
	names := map[string]bool{}
	for _, e := range c.Experiments {
		if !slugRE.MatchString(e.Name) || names[e.Name] {
			return fmt.Errorf("experiment name %q: want a unique plain lower-case name", e.Name)
		}
		names[e.Name] = true
		if e.Config == "" {
			return fmt.Errorf("experiment %s: config is required", e.Name)
		}
		if e.EvalEps < 0 {
			return fmt.Errorf("experiment %s: eval_eps = %v must be positive (0: default)", e.Name, e.EvalEps)
		}
		for _, b := range e.Bandwidths {
			if !(b > 0) {
				return fmt.Errorf("experiment %s: eval_bandwidths %v must be positive", e.Name, e.Bandwidths)
			}
		}
		for _, s := range append(append([]string(nil), e.Set...), e.QuickSet...) {
			if k := setKey(s); k == "seed" || k == "name" {
				return fmt.Errorf("experiment %s: set %q: the comparison sets %s itself", e.Name, s, k)
			}
		}
		if len(e.Variants) == 0 {
			return fmt.Errorf("experiment %s: no [[experiment.variant]]", e.Name)
		}
		vn := map[string]bool{}
		for _, v := range e.Variants {
			if slug(v.Name) == "" || vn[slug(v.Name)] {
				return fmt.Errorf("experiment %s: variant name %q: want a non-empty name whose directory name %q is unique", e.Name, v.Name, slug(v.Name))
			}
			vn[slug(v.Name)] = true
			for _, s := range append(append([]string(nil), v.Set...), v.QuickSet...) {
				if k := setKey(s); !lossKey(k) {
					return fmt.Errorf("experiment %s, variant %q: set %q: variants may only set loss.*, critic.* and adversarial.* keys (runs differ only in the loss and its learned cost)", e.Name, v.Name, s)
				}
			}
		}
	}
	return nil
}

// lossKey reports whether a config key belongs to the loss: its own table, or the
// critic of a learned cost and the critic's training.
func lossKey(k string) bool {
	for _, p := range []string{"loss.", "critic.", "adversarial."} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// setKey returns the key of a "key=value" override.
func setKey(s string) string {
	k, _, _ := strings.Cut(s, "=")
	return strings.TrimSpace(k)
}

// slug turns a variant name into a directory name.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.':
			b.WriteRune(r)
			dash = false
		case r == 'ε':
			b.WriteString("eps")
			dash = false
		case r == '∞':
			b.WriteString("inf")
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.Trim(b.String(), "-")
}
