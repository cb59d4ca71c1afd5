package sweep

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/sinkgen/sinkgen/internal/strict"
	"github.com/sinkgen/sinkgen/train"
)

// Spec is a sweep file, decoded strictly from TOML (doc.go describes every key).
type Spec struct {
	Name     string             `toml:"name"`
	Config   string             `toml:"config"`
	Set      []string           `toml:"set"`
	Grid     map[string][]any   `toml:"grid"`
	Zip      []map[string][]any `toml:"zip"`
	Named    []NamedPoint       `toml:"point"`
	Seeds    []uint64           `toml:"seeds"`
	Threads  int                `toml:"threads"`
	Jobs     int                `toml:"jobs"`
	Executor string             `toml:"executor"`
	Eval     EvalSpec           `toml:"eval"`
	Slurm    SlurmSpec          `toml:"slurm"`
}

// EvalSpec is what cmd/eval measures for every run.
type EvalSpec struct {
	N    int      `toml:"n"`
	Ref  int      `toml:"ref"`
	Seed uint64   `toml:"seed"`
	Args []string `toml:"args"` // further cmd/eval flags, e.g. "-no-c2st"
	Skip bool     `toml:"skip"` // train only
}

// SlurmSpec is the array job's resources; Options are further sbatch options
// (partition, account, QOS), one per element.
type SlurmSpec struct {
	Mem     string   `toml:"mem"`
	Time    string   `toml:"time"`
	Options []string `toml:"options"`
	Poll    string   `toml:"poll"`
}

// NamedPoint is a grid point given by name ([[point]]) rather than expanded from
// [grid] and [[zip]]: its own base config and run directories (cmd/compare's
// runs/<experiment>/<variant>/seed-<s>).
type NamedPoint struct {
	Name   string   `toml:"name"`
	Config string   `toml:"config"` // base training config ("": the sweep's)
	Set    []string `toml:"set"`    // overrides after the sweep's set
	Dir    string   `toml:"dir"`    // run directories <dir>/seed-<s>, relative to the sweep directory ("": runs/<name>)
}

// maxRuns bounds a sweep's expansion: a file cannot ask for more runs than a
// person could mean (nor exhaust memory expanding them).
const maxRuns = 100000

// LoadSpec reads and checks a sweep file. A bare name is looked up in configs/sweeps/.
func LoadSpec(path string) (*Spec, error) {
	if !strings.ContainsRune(path, filepath.Separator) {
		if _, err := os.Stat(path); err != nil {
			bare := path
			path = filepath.Join(train.ConfigDir, "sweeps", path)
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("sweep file %q: no such file here or in %s", bare, filepath.Dir(path))
			}
		}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &Spec{Eval: EvalSpec{N: 1000, Ref: 1000, Seed: 1}, Slurm: SlurmSpec{Poll: "5s"}}
	if err := strict.Decode(src, s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// a path in the sweep file is relative to the file
	relative := func(c string) string {
		if !filepath.IsAbs(c) && strings.ContainsRune(c, filepath.Separator) {
			if _, err := os.Stat(c); err != nil {
				return filepath.Join(filepath.Dir(path), c)
			}
		}
		return c
	}
	s.Config = relative(s.Config)
	for i := range s.Named {
		if s.Named[i].Config != "" {
			s.Named[i].Config = relative(s.Named[i].Config)
		}
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (s *Spec) check() error {
	if len(s.Named) > 0 && (len(s.Grid) > 0 || len(s.Zip) > 0) {
		return errors.New("[[point]] names the points itself: it cannot be combined with [grid] or [[zip]]")
	}
	names := map[string]bool{}
	for i, p := range s.Named {
		switch {
		case p.Name == "" || names[p.Name]:
			return fmt.Errorf("[[point]] %d: name %q: want a non-empty name that no other point has", i+1, p.Name)
		case p.Config == "" && s.Config == "":
			return fmt.Errorf("[[point]] %s: config is missing (and the sweep has none)", p.Name)
		case p.Dir != "" && !filepath.IsLocal(p.Dir):
			return fmt.Errorf("[[point]] %s: dir %q must be a relative path inside the sweep directory", p.Name, p.Dir)
		}
		names[p.Name] = true
		for _, o := range p.Set {
			if k, _, _ := strings.Cut(o, "="); strings.TrimSpace(k) == "seed" {
				return fmt.Errorf("[[point]] %s: set %q: seed is not a point's; list the seeds in seeds", p.Name, o)
			}
		}
	}
	if s.Config == "" && len(s.Named) == 0 {
		return errors.New("config (the base training config) is missing")
	}
	if strings.ContainsAny(s.Name, `/\`) || s.Name == "." || s.Name == ".." {
		return fmt.Errorf("name %q must not be a path", s.Name)
	}
	if s.Threads < 0 || s.Jobs < 0 {
		return fmt.Errorf("threads %d and jobs %d must be ≥ 0 (0: automatic)", s.Threads, s.Jobs)
	}
	switch s.Executor {
	case "", "local", "slurm":
	default:
		return fmt.Errorf("executor %q: want local or slurm", s.Executor)
	}
	if s.Eval.N < 4 || s.Eval.Ref < 4 {
		return fmt.Errorf("eval.n %d and eval.ref %d must be at least 4", s.Eval.N, s.Eval.Ref)
	}
	if _, err := time.ParseDuration(s.Slurm.Poll); err != nil {
		return fmt.Errorf("slurm.poll %q: %v", s.Slurm.Poll, err)
	}
	for _, o := range s.Slurm.Options {
		if !strings.HasPrefix(o, "-") || strings.ContainsAny(o, "\n\r") {
			return fmt.Errorf("slurm.options %q: want one sbatch option such as --partition=debug", o)
		}
	}
	for _, v := range []string{s.Slurm.Mem, s.Slurm.Time} {
		if strings.ContainsAny(v, " \t\n\r") {
			return fmt.Errorf("slurm.mem/time %q must not contain spaces", v)
		}
	}
	seen := map[string]string{}
	axis := func(key, where string) error {
		if key == "seed" {
			return fmt.Errorf("%s: seed is not an axis; list the seeds in seeds", where)
		}
		if prev, ok := seen[key]; ok {
			return fmt.Errorf("%s: %s is already an axis in %s", where, key, prev)
		}
		seen[key] = where
		return nil
	}
	for k, vs := range s.Grid {
		if err := axis(k, "[grid]"); err != nil {
			return err
		}
		if len(vs) == 0 {
			return fmt.Errorf("[grid] %s has no values", k)
		}
	}
	for i, z := range s.Zip {
		where := fmt.Sprintf("[[zip]] %d", i+1)
		n := -1
		for k, vs := range z {
			if err := axis(k, where); err != nil {
				return err
			}
			if n >= 0 && len(vs) != n {
				return fmt.Errorf("%s: its lists differ in length (%s has %d values, another %d)", where, k, len(vs), n)
			}
			n = len(vs)
		}
		if n <= 0 {
			return fmt.Errorf("%s has no values", where)
		}
	}
	return nil
}

// Point is one grid point: its overrides, in a fixed order.
type Point struct {
	Name   string   // "loss.eps=0.1,optimizer.lr=0.001" ("base" for an empty grid), or a [[point]]'s name
	Set    []string // key=value, the -set arguments
	Config string   // a [[point]]'s base config ("": the sweep's)
	Dir    string   // a [[point]]'s directory ("": runs/<name>)
}

// Run is one training run of the sweep: a grid point and a seed.
type Run struct {
	Index int    `json:"index"`
	Point string `json:"point"`
	Seed  uint64 `json:"seed"`
	// Dir is the run directory relative to the sweep directory: runs/<point>/seed-<s>
	// (a [[point]]'s dir/seed-<s>).
	Dir string `json:"dir"`
	// Config is the run's base training config, absolute.
	Config string `json:"config"`
	// Set is every override of the run, in order: the sweep's set, the point's, seed
	// and threads.
	Set []string `json:"set"`
	// ID is the run identity: a hash of its full training config and the code version.
	ID    string `json:"id"`
	Steps int    `json:"steps"`
}

// value writes a decoded TOML value in the TOML syntax -set reads.
func value(v any) (string, error) {
	switch x := v.(type) {
	case string:
		if x != "" && !strings.ContainsAny(x, " \t\"'=[]{},#\n\r\\") {
			return x, nil // a bare word is a string to -set
		}
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			break
		}
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return fmt.Sprintf("%.1f", x), nil // keep it a float for -set
		}
	}
	b, err := toml.Marshal(map[string]any{"v": v})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimPrefix(string(bytes.TrimSpace(b)), "v = ")), nil
}

// Points expands the grid (every combination of [grid]'s values and of the [[zip]]
// axes) into points, in a stable order: [grid] keys sorted, then the zip axes in file
// order, the last axis varying fastest.
func (s *Spec) Points() ([]Point, error) {
	if len(s.Named) > 0 {
		if len(s.Named)*max(len(s.Seeds), 1) > maxRuns {
			return nil, fmt.Errorf("the sweep has more than %d runs", maxRuns)
		}
		points := make([]Point, len(s.Named))
		for i, p := range s.Named {
			points[i] = Point{Name: p.Name, Set: p.Set, Config: p.Config, Dir: p.Dir}
		}
		return points, nil
	}
	type axis struct {
		keys []string
		vals [][]string // vals[i][j]: the i-th value of keys[j]
	}
	var axes []axis
	keys := make([]string, 0, len(s.Grid))
	for k := range s.Grid {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := axis{keys: []string{k}}
		for _, v := range s.Grid[k] {
			t, err := value(v)
			if err != nil {
				return nil, fmt.Errorf("[grid] %s: %w", k, err)
			}
			a.vals = append(a.vals, []string{t})
		}
		axes = append(axes, a)
	}
	for i, z := range s.Zip {
		a := axis{}
		for k := range z {
			a.keys = append(a.keys, k)
		}
		sort.Strings(a.keys)
		for j := range len(z[a.keys[0]]) {
			var row []string
			for _, k := range a.keys {
				t, err := value(z[k][j])
				if err != nil {
					return nil, fmt.Errorf("[[zip]] %d %s: %w", i+1, k, err)
				}
				row = append(row, t)
			}
			a.vals = append(a.vals, row)
		}
		axes = append(axes, a)
	}
	n := 1
	for _, a := range axes {
		n *= len(a.vals)
		if n*max(len(s.Seeds), 1) > maxRuns {
			return nil, fmt.Errorf("the grid has more than %d runs", maxRuns)
		}
	}
	points := make([]Point, 0, n)
	idx := make([]int, len(axes))
	for range n {
		var p Point
		var names []string
		for ai, a := range axes {
			for j, k := range a.keys {
				kv := k + "=" + a.vals[idx[ai]][j]
				p.Set = append(p.Set, kv)
				names = append(names, kv)
			}
		}
		p.Name = strings.Join(names, ",")
		if p.Name == "" {
			p.Name = "base"
		}
		points = append(points, p)
		for ai := len(axes) - 1; ai >= 0; ai-- { // odometer, last axis fastest
			idx[ai]++
			if idx[ai] < len(axes[ai].vals) {
				break
			}
			idx[ai] = 0
		}
	}
	return points, nil
}

// dirName makes a point's name a directory name: no path separators, no spaces,
// and at most 120 bytes (longer names are cut and keep a hash of the whole).
func dirName(name string) string {
	b := []rune{}
	for _, r := range name {
		switch {
		case r == '/' || r == '\\' || r == ' ' || r == '"' || r == '\'' || r < 32:
			b = append(b, '_')
		default:
			b = append(b, r)
		}
	}
	d := string(b)
	if len(d) > 120 {
		d = strings.ToValidUTF8(d[:100], "") + "~" + shortHash(name)
	}
	if d == "." || d == ".." {
		d = "_" + d
	}
	return d
}

// Runs expands the sweep into runs: every point with every seed, the point varying
// slowest. threads is written into every run's config; version is the code version
// that enters each run's identity.
func (s *Spec) Runs(threads int, version string) ([]Run, error) {
	points, err := s.Points()
	if err != nil {
		return nil, err
	}
	var runs []Run
	dirs := map[string]string{}
	for _, p := range points {
		base, err := train.ResolveConfigPath(cmp.Or(p.Config, s.Config))
		if err != nil {
			return nil, fmt.Errorf("point %s: config: %w", p.Name, err)
		}
		if base, err = filepath.Abs(base); err != nil {
			return nil, err
		}
		pset := append(append([]string(nil), s.Set...), p.Set...)
		seeds := s.Seeds
		if len(seeds) == 0 {
			cfg, err := train.LoadConfig(base, pset)
			if err != nil {
				return nil, fmt.Errorf("point %s: %w", p.Name, err)
			}
			seeds = []uint64{cfg.Seed}
		}
		d := filepath.Clean(cmp.Or(p.Dir, filepath.Join("runs", dirName(p.Name))))
		if prev, ok := dirs[d]; ok {
			return nil, fmt.Errorf("points %q and %q would share the directory %s", prev, p.Name, d)
		}
		dirs[d] = p.Name
		for _, seed := range seeds {
			set := append(append([]string(nil), pset...), fmt.Sprintf("seed=%d", seed), fmt.Sprintf("threads=%d", threads))
			cfg, err := train.LoadConfig(base, set)
			if err != nil {
				return nil, fmt.Errorf("point %s, seed %d: %w", p.Name, seed, err)
			}
			id, err := identity(cfg, version)
			if err != nil {
				return nil, err
			}
			runs = append(runs, Run{Index: len(runs), Point: p.Name, Seed: seed,
				Dir: filepath.Join(d, fmt.Sprintf("seed-%d", seed)), Config: base, Set: set, ID: id, Steps: cfg.Steps})
		}
	}
	if len(runs) == 0 {
		return nil, errors.New("the sweep has no runs")
	}
	return runs, nil
}
