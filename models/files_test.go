package models

import (
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkgen/sinkgen/internal/memtest"
	"github.com/sinkgen/sinkgen/internal/tensorfile"
)

// Parameter files whose spec was edited (and the checksum recomputed, as anyone can)
// to ask for huge networks, or for networks the tensors do not describe, are errors
// found before the network is allocated, not "fatal error: out of memory" or a panic.
func TestCraftedParamsFiles(t *testing.T) {
	dir := t.TempDir()
	small, err := New(mlpSpec(), 1)
	if err != nil {
		t.Fatal(err)
	}
	// a consistent conv generator that computes 64 channels of 1024×1024 per point
	wide := convSpec()
	wide.LatentDim, wide.Channels, wide.Base, wide.OutDim, wide.Image = 2, []int{64, 64, 64, 64, 64}, 32, 1<<20, [3]int{1, 1024, 1024}
	var wideTensors []tensorfile.Tensor // written out: New refuses the spec
	for _, p := range []struct {
		name  string
		shape []int
	}{
		{"dense.w", []int{2, 64 * 32 * 32}}, {"dense.b", []int{1, 64 * 32 * 32}},
		{"conv1.w", []int{64, 64, 3, 3}}, {"conv1.b", []int{1, 64, 1, 1}}, {"conv2.w", []int{64, 64, 3, 3}}, {"conv2.b", []int{1, 64, 1, 1}},
		{"conv3.w", []int{64, 64, 3, 3}}, {"conv3.b", []int{1, 64, 1, 1}}, {"conv4.w", []int{64, 64, 3, 3}}, {"conv4.b", []int{1, 64, 1, 1}},
		{"conv5.w", []int{1, 64, 3, 3}}, {"conv5.b", []int{1, 1, 1, 1}},
	} {
		n := 1
		for _, d := range p.shape {
			n *= d
		}
		wideTensors = append(wideTensors, tensorfile.Tensor{Name: p.name, Shape: p.shape, Data: make([]float32, n)})
	}
	mlp := func(edit func(*Spec)) Spec { s := mlpSpec(); edit(&s); return s }
	conv := func(edit func(*Spec)) Spec { s := convSpec(); edit(&s); return s }
	for _, tc := range []struct {
		name    string
		spec    Spec
		tensors []tensorfile.Tensor
		want    string
	}{
		{"hidden 65536×3", mlp(func(s *Spec) { s.Hidden = []int{65536, 65536, 65536} }), small.Tensors(""), "parameters, more than"},
		{"out_dim 2e9", mlp(func(s *Spec) { s.OutDim = 2e9 }), small.Tensors(""), "output dimension 2000000000"},
		{"hidden 4096×2, small tensors", mlp(func(s *Spec) { s.Hidden = []int{4096, 4096} }), small.Tensors(""), "has shape [5 7], the model wants [5 4096]"},
		{"a stray tensor", mlpSpec(), append(small.Tensors(""), tensorfile.Tensor{Name: "stray", Shape: []int{1}, Data: []float32{1}}), `"stray" is not a parameter`},
		{"wide conv layers", wide, wideTensors, "values per point"},
		// channels × height × width wraps around to out_dim
		{"wrapping image", conv(func(s *Spec) { s.Channels, s.Base, s.OutDim, s.Image = []int{4}, 1, 4, [3]int{1<<62 + 1, 2, 2} }), small.Tensors(""), "needs image data"},
		// base · 2^len(channels) wraps around to the image side
		{"wrapping base", conv(func(s *Spec) { s.Channels, s.Base, s.OutDim, s.Image = []int{4, 4}, 1<<62+7, 784, [3]int{1, 28, 28} }), small.Tensors(""), "gives larger images"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meta, err := json.Marshal(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".params")
			if err := tensorfile.WriteFile(path, &tensorfile.File{Kind: ParamsKind, Version: ParamsVersion, Meta: meta, Tensors: tc.tensors}); err != nil {
				t.Fatal(err)
			}
			size := 0
			for _, x := range tc.tensors {
				size += 4 * len(x.Data)
			}
			bound := uint64(2*size + 1<<20)
			var g *Generator
			if a := memtest.Allocated(func() { g, err = Load(path) }); err == nil || !strings.Contains(err.Error(), tc.want) || a > bound {
				t.Errorf("Load gave %v, %v after allocating %d bytes; want an error containing %q within %d bytes", g != nil, err, a, tc.want, bound)
			}
		})
	}
}

// The same for critics: their spec is read from checkpoints.
func TestCraftedCriticSpecs(t *testing.T) {
	c := mlpCritic(t, 6, []int{5}, 3, "tanh")
	f := &tensorfile.File{Tensors: c.Tensors("critic/")}
	for _, tc := range []struct {
		edit func(*CriticSpec)
		want string
	}{
		{func(s *CriticSpec) { s.Hidden = []int{65536, 65536, 65536} }, "parameters, more than"},
		{func(s *CriticSpec) { s.InDim = 2e9 }, "input dimension 2000000000"},
		{func(s *CriticSpec) { s.Decoder = []int{65536, 65536, 65536} }, "parameters, more than"},
		{func(s *CriticSpec) { s.Hidden = []int{4096, 4096} }, "the model wants [6 4096]"},
		{func(s *CriticSpec) { s.Decoder = []int{7} }, "parameter critic/decoder.dense0.w missing"},
		{func(s *CriticSpec) {
			s.Kind, s.Channels, s.Kernel, s.InDim, s.Image = "conv", []int{4}, 3, 4, [3]int{1<<62 + 1, 2, 2}
		}, "needs image data"},
	} {
		s := c.Spec()
		tc.edit(&s)
		var err error
		if a := memtest.Allocated(func() { _, err = CriticFromFile(s, f, "critic/") }); err == nil || !strings.Contains(err.Error(), tc.want) || a > 1<<20 {
			t.Errorf("%+v: CriticFromFile gave %v after allocating %d bytes; want an error containing %q", s, err, a, tc.want)
		}
	}
	if back, err := CriticFromFile(c.Spec(), f, "critic/"); err != nil || back.NumParams() != c.NumParams() {
		t.Errorf("the critic's own file: %v", err)
	}
}

// FuzzLoad: no parameter file panics or allocates more than a multiple of its size.
// The fuzzer cannot forge checksums: inputs are file bodies, written with their
// SHA-256 appended. Seeds: the files of an MLP and a conv generator.
func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	for _, s := range []Spec{mlpSpec(), convSpec()} {
		g, err := New(s, 1)
		if err != nil {
			f.Fatal(err)
		}
		path := filepath.Join(dir, s.Kind+".params")
		if err := g.Save(path); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:len(b)-sha256.Size])
	}
	path := filepath.Join(dir, "fuzz.params")
	f.Fuzz(func(t *testing.T, body []byte) {
		sum := sha256.Sum256(body)
		if err := os.WriteFile(path, append(body[:len(body):len(body)], sum[:]...), 0o644); err != nil {
			t.Fatal(err)
		}
		var g *Generator
		var err error
		if a := memtest.Allocated(func() { g, err = Load(path) }); a > 64*uint64(len(body))+16<<20 {
			t.Fatalf("loading a file of %d bytes allocated %d", len(body), a)
		}
		if err == nil && g.NumParams() > len(body)/4 {
			t.Fatalf("%d parameters from %d bytes", g.NumParams(), len(body))
		}
	})
}
