package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sinkgen/sinkgen/data"
	"github.com/sinkgen/sinkgen/internal/mnisttest"
	"github.com/sinkgen/sinkgen/internal/tensorfile"
	"github.com/sinkgen/sinkgen/models"
	"github.com/sinkgen/sinkgen/train"
)

// trainTiny trains a few steps of a small MNIST generator (or a toy one without MNIST).
func trainTiny(t *testing.T, toy bool) string {
	t.Helper()
	doc := "name = \"tiny\"\nsteps = 3\nbatch_size = 16\n[model]\nhidden = [8]\n[data]\nlimit = 64\n[log]\nprogress = false\n"
	if toy {
		doc = "name = \"tiny\"\nsteps = 3\nbatch_size = 16\n[model]\nhidden = [8]\noutput = \"linear\"\n[data]\nkind = \"ring\"\n[log]\nprogress = false\n"
	}
	cfg, err := train.ParseConfig([]byte(doc), "tiny", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !toy {
		_, err := data.LocateMNIST()
		mnisttest.Need(t, err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	tr, err := train.New(cfg, train.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSampleFormats(t *testing.T) {
	dir := trainTiny(t, false)
	out := t.TempDir()
	for _, tc := range []struct {
		args  []string
		check func(path string) error
	}{
		{[]string{"-n", "10", "-out", "g.png"}, func(p string) error {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err == nil && img.Bounds().Dx() != 4*29+1 {
				t.Errorf("grid width %d, want 4 columns of 28+1", img.Bounds().Dx())
			}
			return err
		}},
		{[]string{"-n", "5", "-out", "s.npy"}, func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			hl := int(binary.LittleEndian.Uint16(b[8:]))
			if string(b[:6]) != "\x93NUMPY" || (10+hl)%64 != 0 || !strings.Contains(string(b[10:10+hl]), "(5, 784)") || len(b) != 10+hl+5*784*4 {
				t.Errorf("npy header %q, %d bytes", b[10:10+hl], len(b))
			}
			return nil
		}},
		{[]string{"-n", "3", "-out", "s.csv"}, func(p string) error {
			b, err := os.ReadFile(p)
			if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); err == nil && (len(lines) != 4 || len(strings.Split(lines[1], ",")) != 784) {
				t.Errorf("csv: %d lines", len(lines))
			}
			rows, err := loadtxt(b)
			if err != nil || len(rows) != 3 || len(rows[0]) != 784 {
				t.Errorf("numpy.loadtxt(delimiter=\",\") would fail: %v, %d rows", err, len(rows))
			}
			return nil
		}},
		{[]string{"-interp", "3", "-steps", "5", "-out", "i.png"}, func(p string) error {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err == nil && (img.Bounds().Dx() != 5*29+1 || img.Bounds().Dy() != 3*29+1) {
				t.Errorf("interpolation grid %v", img.Bounds())
			}
			return err
		}},
	} {
		path := filepath.Join(out, tc.args[len(tc.args)-1])
		args := append([]string{"-checkpoint", dir}, tc.args...)
		args[len(args)-1] = path
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		if err := tc.check(path); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%v: mode %v, want 0644 (readable by all, as os.Create makes files)", args, st.Mode().Perm())
		}
	}
	// the same seed gives the same samples; from the params file too
	a, b := filepath.Join(out, "a.csv"), filepath.Join(out, "b.csv")
	run([]string{"-checkpoint", dir, "-n", "4", "-seed", "5", "-out", a}, &bytes.Buffer{}, &bytes.Buffer{})
	run([]string{"-checkpoint", filepath.Join(dir, "generator.params"), "-n", "4", "-seed", "5", "-out", b}, &bytes.Buffer{}, &bytes.Buffer{})
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	if len(x) == 0 || !bytes.Equal(x, y) {
		t.Error("same seed, checkpoint vs params file: different samples")
	}
}

func TestSampleErrors(t *testing.T) {
	dir := trainTiny(t, true)
	bad := filepath.Join(t.TempDir(), "bad.ckpt")
	os.WriteFile(bad, []byte("SINKGEN\x00 but then garbage"), 0o644)
	// a parameter file whose spec asks for 2e9-dimensional points, checksum recomputed
	huge := filepath.Join(t.TempDir(), "huge.params")
	f, err := tensorfile.ReadFile(filepath.Join(dir, "generator.params"), models.ParamsKind, models.ParamsVersion)
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	json.Unmarshal(f.Meta, &spec)
	spec["out_dim"] = 2e9
	f.Meta, _ = json.Marshal(spec)
	if err := tensorfile.WriteFile(huge, f); err != nil {
		t.Fatal(err)
	}
	nodir := filepath.Join(t.TempDir(), "nodir")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage"},
		{[]string{"-checkpoint", bad}, 1, "corrupted"},
		{[]string{"-checkpoint", huge}, 1, "output dimension 2000000000"},
		{[]string{"-checkpoint", t.TempDir()}, 1, "no checkpoint"},
		{[]string{"-checkpoint", dir, "-out", "x.jpg"}, 1, "unknown format"},
		{[]string{"-checkpoint", dir, "-interp", "2", "-out", filepath.Join(t.TempDir(), "i.png")}, 1, "image generator"},
		{[]string{"-checkpoint", dir, "-n", "0"}, 2, "-n"},
		{[]string{"-checkpoint", dir, "-out", filepath.Join(nodir, "s.png")}, 1, "sample: cannot write " + filepath.Join(nodir, "s.png") + ": there is no directory " + nodir + "\n"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
	// a 2-D generator draws a scatter plot
	p := filepath.Join(t.TempDir(), "toy.png")
	if code := run([]string{"-checkpoint", dir, "-n", "200", "-out", p}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Error("toy scatter failed")
	}
}

// loadtxt reads b as numpy.loadtxt(f, delimiter=",") does: text from '#' to the end
// of a line is a comment, blank lines are skipped, every other line is a row of
// floats of one length.
func loadtxt(b []byte) ([][]float64, error) {
	var rows [][]float64
	for i, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if strings.TrimSpace(line) == "" {
			continue
		}
		var row []float64
		for _, f := range strings.Split(line, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+1, err)
			}
			row = append(row, v)
		}
		if len(rows) > 0 && len(row) != len(rows[0]) {
			return nil, fmt.Errorf("line %d: %d values, want %d", i+1, len(row), len(rows[0]))
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// The README's NumPy code, run by Debian's python3 on an exported generator, gives
// cmd/sample's samples to float32 rounding, for MLP and conv generators of every
// activation, grey and colour. Without python3-numpy the test is skipped, and under
// CI (CI=true) fails: .ci/run installs python3-numpy.
func TestExportNumPy(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import numpy").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("needs %s with NumPy (apt-get install python3-numpy): %v %s", python, err, out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true makes this a failure)")
		}
		t.Skip(msg)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- export-numpy")
	_, block, ok2 := strings.Cut(block, "```python\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no export-numpy python block")
	}
	mlp := models.DefaultSpec()
	mlp.Hidden, mlp.OutDim, mlp.Image = []int{32, 24}, 3*4*5, [3]int{3, 4, 5}
	leaky := mlp
	leaky.Activation, leaky.Output, leaky.Hidden, leaky.OutDim, leaky.Image = "leaky_relu", "linear", []int{8}, 2, [3]int{}
	conv := models.DefaultSpec()
	conv.Kind, conv.Activation, conv.Channels, conv.Base, conv.Kernel, conv.OutDim, conv.Image = "conv", "softplus", []int{8, 4}, 3, 5, 3*12*12, [3]int{3, 12, 12}
	grey := conv
	grey.Activation, grey.Output, grey.Kernel, grey.OutDim, grey.Image = "tanh", "tanh", 3, 144, [3]int{1, 12, 12}
	for name, spec := range map[string]models.Spec{"mlp": mlp, "leaky": leaky, "conv": conv, "grey": grey} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			g, err := models.New(spec, 7)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Save(filepath.Join(dir, "g.params")); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := run([]string{"-checkpoint", filepath.Join(dir, "g.params"), "-export", filepath.Join(dir, "model.safetensors"),
				"-n", "16", "-out", filepath.Join(dir, "samples.npy"), "-latent", filepath.Join(dir, "z.npy")}, &stdout, &stderr); code != 0 {
				t.Fatalf("sample: %d %s", code, stderr.String())
			}
			cmd := exec.Command(python, "-c", block)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("python: %v\n%s", err, out)
			}
			diff, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
			t.Logf("max difference %g", diff)
			if err != nil || diff > 1e-5 {
				t.Fatalf("NumPy's samples differ from cmd/sample's by %s (want ≤ 1e-5)", out)
			}
		})
	}
}

// Issue 13 (L1): samples are generated 1024 at a time, with the output of one batch
// (the same latent draws in the same order): -n 1000 (one chunk) and -n 3000 (three,
// the last shorter) write the bytes of a single pass over the same draws, and chunks
// of 7 rows give the single pass's values. -n 1 says "1 sample".
func TestSampleChunksMatchOneBatch(t *testing.T) {
	dir := trainTiny(t, true)
	gen, _, err := loadGenerator(dir, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	d := gen.Spec().LatentDim
	for _, n := range []int{1000, 3000} {
		got := filepath.Join(t.TempDir(), "got.npy")
		if code := run([]string{"-checkpoint", dir, "-n", strconv.Itoa(n), "-seed", "7", "-out", got}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
			t.Fatalf("-n %d: exit %d", n, code)
		}
		z := make([]float32, n*d)
		models.Latent(rand.New(rand.NewPCG(7, 0x73616d706c65)), z) // the draws sample makes
		one, err := gen.Generate(z)
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(t.TempDir(), "want.npy")
		if err := train.SaveNPY(want, one, gen.Spec().OutDim); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(got)
		b, _ := os.ReadFile(want)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("-n %d: the output differs from one batch over the same draws", n)
		}
		if n == 3000 {
			small, err := generate(gen, z, 7)
			if err != nil || !slices.Equal(small, one) {
				t.Errorf("chunks of 7: err %v, equal %v", err, slices.Equal(small, one))
			}
		}
	}
	var stdout bytes.Buffer
	if code := run([]string{"-checkpoint", dir, "-n", "1", "-out", filepath.Join(t.TempDir(), "one.csv")}, &stdout, &bytes.Buffer{}); code != 0 || !strings.HasPrefix(stdout.String(), "1 sample of ") {
		t.Errorf("-n 1: exit %d, %q", code, stdout.String())
	}
}
