// Command train trains a generator with an optimal-transport loss from a TOML config.
//
//	go run ./cmd/train -config mnist.toml
//
// A bare config name is looked up in configs/. Outputs go to checkpoints/<name>/
// (-out to change): config.toml, train.log, metrics.csv, metrics.jsonl, samples/,
// ckpt/, loss.png, eps.png, generator.params. -set key=value overrides any config key
// (repeatable; dotted keys such as optimizer.lr=3e-4). -resume continues the run from
// its newest checkpoint (-resume=FILE: from that checkpoint); the continued run equals
// the uninterrupted one bit for bit at the same thread count. SIGINT or SIGTERM saves a
// checkpoint and exits with status 130; a NaN or infinite loss or gradient stops the
// run with status 1 and keeps the last good checkpoint.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/sinkgen/sinkgen/internal/cli"
	"github.com/sinkgen/sinkgen/internal/process"
	"github.com/sinkgen/sinkgen/train"
)

func main() {
	os.Exit(run(cli.SignalContext(), os.Args[1:], os.Stdout, os.Stderr))
}

// resumeFlag is -resume (the newest checkpoint) or -resume=FILE.
type resumeFlag string

func (r *resumeFlag) String() string { return string(*r) }
func (r *resumeFlag) Set(v string) error {
	switch v {
	case "true", "":
		*r = "latest"
	case "false":
		*r = ""
	default:
		*r = resumeFlag(v)
	}
	return nil
}
func (r *resumeFlag) IsBoolFlag() bool { return true }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "mnist.toml", "config file; a bare name is looked up in configs/")
	out := fs.String("out", "", "run directory (default checkpoints/<name>)")
	var sets cli.List
	fs.Var(&sets, "set", "override a config key, key=value (repeatable), e.g. -set steps=500 -set optimizer.lr=3e-4")
	var resume resumeFlag
	fs.Var(&resume, "resume", "continue the run from its newest checkpoint; -resume=FILE: from that checkpoint")
	force := fs.Bool("force", false, "start over in a run directory that already holds a run (deletes its checkpoints and logs)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	quiet := fs.Bool("q", false, "no progress report (a bar on a terminal, a line every 10% or 30 s otherwise)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: train [-config FILE] [-out DIR] [-set key=value]… [-resume[=FILE]] [-force] [-q]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "train: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if resume != "" && *force {
		fmt.Fprintln(stderr, "train: -resume and -force exclude each other")
		return 2
	}
	configSet := false
	fs.Visit(func(f *flag.Flag) { configSet = configSet || f.Name == "config" })

	cfg, err := loadConfig(*config, configSet, string(resume), *out, sets)
	if err != nil {
		fmt.Fprintln(stderr, "train:", err)
		return 1
	}
	process.Setup(cfg.Threads)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "train:", err)
			return 1
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	progress := stderr
	if *quiet {
		progress = nil
	}
	t, err := train.New(cfg, train.Options{Dir: *out, Resume: string(resume), Force: *force, Progress: progress, Stdout: stdout})
	if err != nil {
		fmt.Fprintln(stderr, "train:", err)
		return 1
	}
	err = t.Run(ctx)
	var nf *train.NonFiniteError
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "done: %d steps; samples in %s, checkpoint %s\n", t.StepCount(), filepath.Join(t.Dir(), "samples"), t.LastCheckpoint())
		return 0
	case errors.Is(err, train.ErrInterrupted):
		fmt.Fprintln(stderr, "train:", err)
		return 130
	case errors.As(err, &nf):
		fmt.Fprintln(stderr, "train:", err)
		return 1
	default:
		fmt.Fprintln(stderr, "train:", err)
		return 1
	}
}

// loadConfig reads the config file, or, when resuming without an explicit -config,
// the checkpoint's own config; -set overrides apply either way.
func loadConfig(config string, configSet bool, resume, out string, sets []string) (train.Config, error) {
	if resume != "" && !configSet {
		where := resume
		if resume == "latest" {
			if out == "" {
				// the default config's run directory
				cfg, err := loadFile(config, sets)
				if err != nil {
					return train.Config{}, err
				}
				out = filepath.Join("checkpoints", cfg.Name)
			}
			where = out
		}
		c, err := train.FindCheckpoint(where, nil)
		if err != nil {
			return train.Config{}, fmt.Errorf("resume: %w", err)
		}
		text, err := c.Config.Marshal()
		if err != nil {
			return train.Config{}, err
		}
		return train.ParseConfig(text, c.Path+" (embedded config)", sets)
	}
	return loadFile(config, sets)
}

func loadFile(config string, sets []string) (train.Config, error) {
	path, err := train.ResolveConfigPath(config)
	if err != nil {
		return train.Config{}, err
	}
	return train.LoadConfig(path, sets)
}
