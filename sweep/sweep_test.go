package sweep

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sinkgen/sinkgen/eval"
	"github.com/sinkgen/sinkgen/internal/strict"
	"github.com/sinkgen/sinkgen/train"
)

func parseSpec(t *testing.T, src string) (*Spec, error) {
	t.Helper()
	s := &Spec{Eval: EvalSpec{N: 100, Ref: 100, Seed: 1}, Slurm: SlurmSpec{Poll: "1s"}}
	if err := strict.Decode([]byte(src), s); err != nil {
		return nil, err
	}
	return s, s.check()
}

func TestPointsGridAndZip(t *testing.T) {
	s, err := parseSpec(t, `
config = "toy2d.toml"
[grid]
"optimizer.lr" = [1e-3, 3e-4]
"loss.eps" = [0.01, 1.0]
[[zip]]
"loss.kind" = ["sinkhorn", "energy"]
"loss.iters" = [10, 20]
`)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.Points()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	// [grid] keys sorted, then the zip axis (its keys sorted); the last axis fastest
	want := []string{
		"loss.eps=0.01,optimizer.lr=0.001,loss.iters=10,loss.kind=sinkhorn",
		"loss.eps=0.01,optimizer.lr=0.001,loss.iters=20,loss.kind=energy",
		"loss.eps=0.01,optimizer.lr=0.0003,loss.iters=10,loss.kind=sinkhorn",
		"loss.eps=0.01,optimizer.lr=0.0003,loss.iters=20,loss.kind=energy",
		"loss.eps=1.0,optimizer.lr=0.001,loss.iters=10,loss.kind=sinkhorn",
		"loss.eps=1.0,optimizer.lr=0.001,loss.iters=20,loss.kind=energy",
		"loss.eps=1.0,optimizer.lr=0.0003,loss.iters=10,loss.kind=sinkhorn",
		"loss.eps=1.0,optimizer.lr=0.0003,loss.iters=20,loss.kind=energy",
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("points\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if got := strings.Join(ps[3].Set, " "); got != "loss.eps=0.01 optimizer.lr=0.0003 loss.iters=20 loss.kind=energy" {
		t.Errorf("point 3 sets %s", got)
	}
}

// A value written for -set reads back as the value the sweep file gave.
// [[point]]s are the points by name, each with its own base config and run directory
// (cmd/compare's layout); a run's config is its point's config with the sweep's set,
// the point's set, the seed and the threads, in that order.
func TestNamedPoints(t *testing.T) {
	t.Chdir("..") // configs/ resolve from the module root
	s, err := parseSpec(t, `
set = ["steps=7"]
seeds = [4, 5]
[[point]]
name = "toy: S_ε"
config = "toy2d.toml"
set = ["loss.kind=energy"]
dir = "runs/toy/s-eps"
[[point]]
name = "mnist: MMD"
config = "mnist.toml"
set = ["loss.kind=mmd", "steps=9"]
`)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(3, "test")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, strings.Join([]string{r.Point, r.Dir, filepath.Base(r.Config), strconv.Itoa(r.Steps), strings.Join(r.Set, " ")}, " | "))
		cfg, err := train.LoadConfig(r.Config, r.Set)
		if err != nil || cfg.Seed != r.Seed || cfg.Threads != 3 || !filepath.IsAbs(r.Config) {
			t.Errorf("run %d: config %s (seed %d, threads %d): %v", r.Index, r.Config, cfg.Seed, cfg.Threads, err)
		}
	}
	want := []string{
		"toy: S_ε | runs/toy/s-eps/seed-4 | toy2d.toml | 7 | steps=7 loss.kind=energy seed=4 threads=3",
		"toy: S_ε | runs/toy/s-eps/seed-5 | toy2d.toml | 7 | steps=7 loss.kind=energy seed=5 threads=3",
		"mnist: MMD | runs/mnist:_MMD/seed-4 | mnist.toml | 9 | steps=7 loss.kind=mmd steps=9 seed=4 threads=3",
		"mnist: MMD | runs/mnist:_MMD/seed-5 | mnist.toml | 9 | steps=7 loss.kind=mmd steps=9 seed=5 threads=3",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("runs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n, _ := s.Count(); n != 4 {
		t.Errorf("Count %d, want 4", n)
	}
	s.Named[1].Dir = "runs/toy/s-eps/"
	if _, err := s.Runs(1, "test"); err == nil || !strings.Contains(err.Error(), "would share the directory runs/toy/s-eps") {
		t.Errorf("two points in one directory: %v", err)
	}
}

func TestValueReadsBackThroughSet(t *testing.T) {
	base, err := train.ResolveConfigPath("toy2d.toml")
	if err != nil {
		t.Skip(err)
	}
	cases := []struct {
		key string
		v   any
		get func(train.Config) any
	}{
		{"loss.eps", 1.0, func(c train.Config) any { return c.Loss.Eps }},
		{"loss.eps", 3e-4, func(c train.Config) any { return c.Loss.Eps }},
		{"optimizer.lr", 0.1, func(c train.Config) any { return c.Optimizer.LR }},
		{"loss.iters", int64(17), func(c train.Config) any { return int64(c.Loss.Iters) }},
		{"loss.kind", "energy", func(c train.Config) any { return c.Loss.Kind }},
		{"model.hidden", []any{int64(8), int64(4)}, func(c train.Config) any {
			var out []any
			for _, h := range c.Model.Hidden {
				out = append(out, int64(h))
			}
			return out
		}},
	}
	for _, c := range cases {
		text, err := value(c.v)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := train.LoadConfig(base, []string{c.key + "=" + text})
		if err != nil {
			t.Fatalf("%s=%s: %v", c.key, text, err)
		}
		if got := c.get(cfg); !reflect.DeepEqual(got, c.v) {
			t.Errorf("%s=%s reads back as %v, want %v", c.key, text, got, c.v)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"[grid]\n\"loss.eps\" = [1.0]\n[[zip]]\n\"loss.eps\" = [2.0]", "loss.eps is already an axis in [grid]"},
		{"[[zip]]\n\"loss.eps\" = [1.0, 2.0]\n\"loss.iters\" = [1]", "differ in length"},
		{"[grid]\nseed = [1, 2]", "seed is not an axis"},
		{"[grid]\n\"loss.eps\" = []", "has no values"},
		{"executor = \"pbs\"", "executor \"pbs\""},
		{"[slurm]\noptions = [\"partition=x\"]", "want one sbatch option"},
		{"name = \"../x\"", "must not be a path"},
		{"[grid]\n\"loss.eps\" = [1.0]\n[[point]]\nname = \"a\"", "cannot be combined"},
		{"[[point]]\nname = \"a\"\n[[point]]\nname = \"a\"", "name \"a\": want a non-empty name that no other point has"},
		{"[[point]]\nname = \"a\"\ndir = \"../a\"", "must be a relative path inside the sweep directory"},
		{"[[point]]\nname = \"a\"\nset = [\"seed=3\"]", "seed is not a point's"},
	} {
		_, err := parseSpec(t, "config = \"toy2d.toml\"\n"+c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to say %q", c.src, err, c.want)
		}
	}
}

func TestDirNameIsOneComponent(t *testing.T) {
	for _, n := range []string{"a/b", "..", "loss.bandwidths=[0.1, 0.2]", strings.Repeat("x=1,", 100)} {
		d := dirName(n)
		if strings.ContainsAny(d, "/ ") || d == ".." || len(d) > 120 {
			t.Errorf("dirName(%q) = %q", n, d)
		}
	}
	if dirName(strings.Repeat("x=1,", 100)) == dirName(strings.Repeat("x=1,", 99)+"x=2,") {
		t.Error("two long names cut to the same directory")
	}
}

func TestRanges(t *testing.T) {
	if got := ranges([]int{7, 0, 1, 2, 5, 8, 3}); got != "0-3,5,7-8" {
		t.Errorf("ranges = %q", got)
	}
}

func TestIdentity(t *testing.T) {
	a, b := train.DefaultConfig(), train.DefaultConfig()
	b.Loss.Eps *= 2
	ia, _ := identity(a, "v1")
	ia2, _ := identity(a, "v1")
	ib, _ := identity(b, "v1")
	iv, _ := identity(a, "v2")
	if ia != ia2 || ia == ib || ia == iv {
		t.Errorf("identities %s %s %s %s: want the same config and version to agree, any change to differ", ia, ia2, ib, iv)
	}
}

func TestLockRefusesASecondSweep(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDir(dir); err == nil || !strings.Contains(err.Error(), "another sweep") {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	u2, err := lockDir(dir)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	u2()
}

// tinySweep is a toy sweep of a few seconds per run.
func tinySweep(t *testing.T, steps int, extra string) *Spec {
	t.Helper()
	src := `name = "tiny"
config = "../configs/toy2d.toml"
set = ["steps=` + strconv.Itoa(steps) + `", "batch_size=64", "model.hidden=[16, 16]", "loss.iters=10", "log.every=10",
       "log.sample_every=` + strconv.Itoa(steps) + `", "log.samples=64", "log.checkpoint_every=10"]
seeds = [1, 2]
threads = 1
[grid]
"loss.eps" = [0.1, 1.0]
[eval]
n = 64
ref = 64
args = ["-no-exact"]
[slurm]
poll = "500ms"
` + extra
	s, err := parseSpec(t, src)
	if err != nil {
		t.Fatal(err)
	}
	s.Name = "tiny"
	return s
}

// The reasons read from the lines slurmstepd writes into a task's output.
func TestLogReason(t *testing.T) {
	for _, c := range []struct{ tail, want string }{
		{"step 3\nslurmstepd: error: *** JOB 12 ON node1 CANCELLED AT 2026-11-28T10:30:27 DUE TO TIME LIMIT ***", "timed out (Slurm time limit)"},
		{"slurmstepd-vm: error: *** JOB 11 ON vm CANCELLED AT 2026-11-28T10:30:27 ***\nsweep: train: interrupted", "cancelled"},
		{"slurmstepd: error: Detected 1 oom-kill event(s) in StepId=5.batch.", "out of memory (Slurm memory limit)"},
		{"train: loss is NaN\nsweep: train: exit status 1", "failed: train: exit status 1"},
		{"", "ended without finishing"},
	} {
		if got := logReason(c.tail, "ended without finishing"); got != c.want {
			t.Errorf("logReason(%q) = %q, want %q", c.tail, got, c.want)
		}
	}
}

// Every example sweep file loads and expands into valid training configs.
func TestExampleSweepFiles(t *testing.T) {
	files, _ := filepath.Glob("../configs/sweeps/*.toml")
	if len(files) == 0 {
		t.Fatal("no configs/sweeps/*.toml")
	}
	t.Chdir("..") // configs/ resolve from the module root
	for _, f := range files {
		s, err := LoadSpec(filepath.Join("configs", "sweeps", filepath.Base(f)))
		if err != nil {
			t.Error(err)
			continue
		}
		n, _ := s.Count()
		runs, err := s.Runs(1, "test")
		if err != nil || len(runs) != n || n == 0 {
			t.Errorf("%s: %d runs of %d: %v", f, len(runs), n, err)
		}
	}
}

// report.md marks (†) the means that Welch's test tells apart from the best point's.
func TestMarkdownSignificance(t *testing.T) {
	res := &Results{Name: "s", Threads: 1, Version: "v", metrics: []eval.Headline{{Key: "w2", Name: "W2", Better: -1}},
		Points: map[string]map[string]Summary{
			"best": {"w2": {Mean: 1, SD: 0.1, N: 5}},
			"far":  {"w2": {Mean: 2, SD: 0.1, N: 5}},
			"near": {"w2": {Mean: 1.05, SD: 0.2, N: 5}},
		}}
	for _, p := range []string{"best", "far", "near"} {
		res.Runs = append(res.Runs, RunResult{Point: p})
	}
	var b strings.Builder
	res.writeMarkdown(&b, &sweepDir{spec: &Spec{}})
	md := b.String()
	for _, want := range []string{"| **`best`** | **1 ± 0.1** |", "| `far` | 2 ± 0.1 † |", "| `near` | 1.05 ± 0.2 |", "Welch"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
