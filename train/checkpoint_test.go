package train

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkgen/sinkgen/internal/memtest"
	"github.com/sinkgen/sinkgen/internal/tensorfile"
)

// writeRun trains cfg for its steps in dir and returns its last checkpoint.
func writeRun(t *testing.T, cfg Config, dir string) string {
	t.Helper()
	tr, err := New(cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, checkpointDir, checkpointName(cfg.Steps))
}

// craftCheckpoint writes to dst the checkpoint src with edit applied to its metadata
// (decoded as a JSON object) and its embedded config, and the checksum recomputed, as
// anyone can.
func craftCheckpoint(t *testing.T, src, dst string, edit func(meta map[string]any, cfg *Config)) {
	t.Helper()
	f, err := tensorfile.ReadFile(src, CheckpointKind, CheckpointVersion)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(f.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig([]byte(meta["config"].(string)), "embedded", nil)
	if err != nil {
		t.Fatal(err)
	}
	edit(meta, &cfg)
	text, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	meta["config"] = string(text)
	if f.Meta, err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	if err := tensorfile.WriteFile(dst, f); err != nil {
		t.Fatal(err)
	}
}

// Checkpoints whose spec or config was edited to ask for huge networks, or networks
// the tensors do not describe, are errors found before anything is allocated: train
// -resume=FILE, sample and eval read them through ReadCheckpoint.
func TestCraftedCheckpoints(t *testing.T) {
	dir := t.TempDir()
	plain := writeRun(t, toyConfig(t, "steps=1"), filepath.Join(dir, "plain"))
	adv := writeRun(t, advToy(t, "steps=1"), filepath.Join(dir, "adv"))
	spec := func(key string, v any) func(map[string]any, *Config) {
		return func(meta map[string]any, _ *Config) { meta["spec"].(map[string]any)[key] = v }
	}
	critic := func(key string, v any) func(map[string]any, *Config) {
		return func(meta map[string]any, _ *Config) { meta["critic"].(map[string]any)[key] = v }
	}
	huge := []int{65536, 65536, 65536}
	for _, tc := range []struct {
		name string
		src  string
		edit func(map[string]any, *Config)
		want string
	}{
		{"spec hidden 65536×3", plain, spec("hidden", huge), "disagree on the generator"},
		{"spec out_dim 2e9", plain, spec("out_dim", 2e9), "disagree on the generator"},
		{"config and spec hidden 65536×3", plain, func(meta map[string]any, cfg *Config) {
			spec("hidden", huge)(meta, cfg)
			cfg.Model.Hidden = huge
		}, "parameters, more than"},
		{"config and spec hidden 4096×2", plain, func(meta map[string]any, cfg *Config) {
			spec("hidden", []int{4096, 4096})(meta, cfg)
			cfg.Model.Hidden = []int{4096, 4096}
		}, "the model wants [4 4096]"},
		{"critic hidden 65536×3", adv, critic("hidden", huge), "disagree on the critic"},
		{"critic in_dim 2e9", adv, critic("in_dim", 2e9), "disagree on the critic"},
		{"config and critic hidden 4096×2", adv, func(meta map[string]any, cfg *Config) {
			critic("hidden", []int{4096, 4096})(meta, cfg)
			cfg.Critic.Hidden = []int{4096, 4096}
		}, "the model wants [2 4096]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".ckpt")
			craftCheckpoint(t, tc.src, path, tc.edit)
			var err error
			if a := memtest.Allocated(func() { _, err = ReadCheckpoint(path) }); err == nil || !strings.Contains(err.Error(), tc.want) || a > 8<<20 {
				t.Errorf("ReadCheckpoint gave %v after allocating %d bytes; want an error containing %q within 8 MiB", err, a, tc.want)
			}
		})
	}
	// the checkpoints rewritten without an edit read
	for i, src := range []string{plain, adv} {
		path := filepath.Join(dir, fmt.Sprintf("same-%d.ckpt", i))
		craftCheckpoint(t, src, path, func(map[string]any, *Config) {})
		if _, err := ReadCheckpoint(path); err != nil {
			t.Error(err)
		}
	}
}
