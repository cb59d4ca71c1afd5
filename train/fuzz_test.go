package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sinkgen/sinkgen/internal/memtest"
)

// FuzzParseConfig: no config file or -set override panics or allocates more than a
// multiple of its size, and an accepted config survives the round trip through its
// TOML (as checkpoints embed it).
func FuzzParseConfig(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "configs", "*.toml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no configs/*.toml: %v", err)
	}
	for i, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, "")
		f.Add(src, []string{"steps=7", "loss.eps=0.5", "model.hidden=[8, 8]", "critic.kind=mlp", "data.digits=[3]"}[i%5])
	}
	f.Fuzz(func(t *testing.T, src []byte, set string) {
		var sets []string
		if set != "" {
			sets = []string{set}
		}
		var cfg Config
		var err error
		bound := 64*uint64(len(src)+len(set)) + 16<<20
		if a := memtest.Allocated(func() { cfg, err = ParseConfig(src, "fuzz.toml", sets) }); a > bound {
			t.Fatalf("parsing %d bytes allocated %d", len(src)+len(set), a)
		}
		if err != nil {
			return
		}
		text, err := cfg.Marshal()
		if err != nil {
			t.Fatalf("an accepted config does not marshal: %v", err)
		}
		back, err := ParseConfig(text, "marshalled", nil)
		if err != nil {
			t.Fatalf("an accepted config does not parse back: %v\n%s", err, text)
		}
		if again, err := back.Marshal(); err != nil || !bytes.Equal(again, text) {
			t.Fatalf("round trip changed the config (err %v):\n%s\nvs\n%s", err, text, again)
		}
	})
}

// FuzzReadCheckpoint: no checkpoint panics or allocates more than a multiple of its
// size. The fuzzer cannot forge checksums: inputs are file bodies, written with their
// SHA-256 appended. Seeds: the checkpoints of two short runs, with and without a
// critic.
func FuzzReadCheckpoint(f *testing.F) {
	dir := f.TempDir()
	const toy = "name = \"toy\"\nsteps = 1\nbatch_size = 32\n[data]\nkind = \"ring\"\n[model]\nlatent_dim = 2\nhidden = [8]\noutput = \"linear\"\n[log]\nprogress = false\n"
	for name, sets := range map[string][]string{"plain": nil, "adv": {"critic.kind=mlp", "critic.hidden=[8]", "critic.features=4"}} {
		cfg, err := ParseConfig([]byte(toy), "toy", sets)
		if err != nil {
			f.Fatal(err)
		}
		tr, err := New(cfg, Options{Dir: filepath.Join(dir, name)})
		if err != nil {
			f.Fatal(err)
		}
		if err := tr.Run(context.Background()); err != nil {
			f.Fatal(err)
		}
		tr.Close()
		b, err := os.ReadFile(filepath.Join(dir, name, checkpointDir, checkpointName(1)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:len(b)-sha256.Size])
	}
	path := filepath.Join(dir, "fuzz.ckpt")
	f.Fuzz(func(t *testing.T, body []byte) {
		sum := sha256.Sum256(body)
		if err := os.WriteFile(path, append(body[:len(body):len(body)], sum[:]...), 0o644); err != nil {
			t.Fatal(err)
		}
		var c *Checkpoint
		var err error
		if a := memtest.Allocated(func() { c, err = ReadCheckpoint(path) }); a > 64*uint64(len(body))+16<<20 {
			t.Fatalf("reading a checkpoint of %d bytes allocated %d", len(body), a)
		}
		if err == nil {
			if _, err := c.Generator(); err != nil {
				t.Fatalf("a checkpoint that reads has no generator: %v", err)
			}
		} else if errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	})
}
