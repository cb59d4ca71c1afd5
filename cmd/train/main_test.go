package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// run from the repository root, where configs/ is.
func inRoot(t *testing.T) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir("../.."); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(wd) })
}

func TestTrainToyAndResume(t *testing.T) {
	inRoot(t)
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	args := []string{"-config", "toy2d", "-out", out, "-set", "steps=30", "-set", "log.progress=false", "-set", "log.checkpoint_every=10"}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, f := range []string{"config.toml", "train.log", "metrics.csv", "metrics.jsonl", "loss.png", "eps.png", "generator.params", "samples/step-000030.png", "ckpt/step-00000030.ckpt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// the same command again refuses to overwrite the run
	stderr.Reset()
	if code := run(context.Background(), args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "-resume") {
		t.Errorf("second run: exit %d, %s", code, stderr.String())
	}
	// -resume without -config continues from the checkpoint's own config, with more steps
	stderr.Reset()
	if code := run(context.Background(), []string{"-resume", "-out", out, "-set", "steps=40"}, &stdout, &stderr); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "ckpt/step-00000040.ckpt")); err != nil {
		t.Error(err)
	}
	// interrupted before the first step: a checkpoint and status 130
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stderr.Reset()
	if code := run(ctx, []string{"-config", "toy2d", "-out", filepath.Join(t.TempDir(), "x"), "-set", "log.progress=false"}, &stdout, &stderr); code != 130 {
		t.Errorf("interrupted: exit %d, %s", code, stderr.String())
	}
}

func TestTrainUsageErrors(t *testing.T) {
	inRoot(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-nope"}, 2, "flag provided but not defined"},
		{[]string{"-config", "nonexistent.toml"}, 1, "no such file"},
		{[]string{"-config", "toy2d", "-set", "model.widht=3"}, 1, "unknown key model.widht"},
		{[]string{"-config", "toy2d", "-set", "optimizer.lr=0"}, 1, "optimizer.lr = 0"},
		{[]string{"-config", "toy2d", "-resume", "-force"}, 2, "exclude"},
		{[]string{"-config", "toy2d", "extra"}, 2, "unexpected"},
		// the messages of a user's first hour
		{[]string{"-config", "toy2d", "-set", "stepz=10"}, 1, "train: -set stepz=10: unknown key stepz (did you mean steps?)\n"},
		{[]string{"-config", "toy2d", "-set", "steps=abc"}, 1, "train: -set steps=abc: steps must be an integer, got \"abc\"\n"},
		{[]string{"-config", "nosuch.toml"}, 1, "the configs in configs/ are mnist-adversarial-sinkhorn.toml, mnist-conv.toml, "},
		{[]string{"-config", "nosuch.toml"}, 1, ", mnist.toml, toy2d.toml\n"}, // not compare.toml, cmd/compare's
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// SIGINT (and SIGTERM) end a real process cleanly: a checkpoint, status 130.
func TestSignalSavesCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	inRoot(t)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "train")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/train").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		out := filepath.Join(tmp, fmt.Sprint("run-", sig))
		cmd := exec.Command(bin, "-config", "toy2d", "-out", out, "-set", "steps=1000000", "-set", "log.progress=false", "-set", "log.every=10")
		stdout, _ := cmd.StdoutPipe()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() && !strings.Contains(sc.Text(), "step 20/") {
		}
		cmd.Process.Signal(sig)
		go io.Copy(io.Discard, stdout)
		err := cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 130 {
			t.Fatalf("%v: %v, want exit status 130; stderr: %s", sig, err, stderr.String())
		}
		files, _ := filepath.Glob(filepath.Join(out, "ckpt", "step-*.ckpt"))
		if len(files) != 1 || !strings.Contains(stderr.String(), "checkpoint saved") {
			t.Errorf("%v: checkpoints %v; stderr %s", sig, files, stderr.String())
		}
	}
}

// Progress to a file or pipe is plain lines, one per tenth of the run (no carriage
// returns, no zero rate); -q leaves standard error empty and prints no step lines.
func TestTrainProgressPlainAndQuiet(t *testing.T) {
	inRoot(t)
	var stdout, stderr bytes.Buffer
	args := []string{"-config", "toy2d", "-out", filepath.Join(t.TempDir(), "run"), "-set", "steps=50", "-set", "log.every=10"}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) != 10 || strings.ContainsAny(stderr.String(), "\r\x1b") {
		t.Errorf("%d lines of progress, want 10 plain lines:\n%q", len(lines), stderr.String())
	}
	for i, l := range lines {
		if want := fmt.Sprintf("toy2d: %d/50 (%d%%), ", 5*(i+1), 10*(i+1)); !strings.HasPrefix(l, want) || strings.Contains(l, " 0/") {
			t.Errorf("line %d: %q, want %q…", i, l, want)
		}
	}
	stdout.Reset()
	stderr.Reset()
	args = []string{"-q", "-config", "toy2d", "-out", filepath.Join(t.TempDir(), "quiet"), "-set", "steps=50", "-set", "log.every=10"}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("-q: exit %d: %s", code, stderr.String())
	}
	if stderr.Len() != 0 || strings.Contains(stdout.String(), "step 10/") {
		t.Errorf("-q: stderr %q, stdout %q", stderr.String(), stdout.String())
	}
}
