package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
		{[]string{"-config", "nosuch.toml"}, 1, "the configs in configs/ are fashion-mnist.toml, images.toml, mnist-adversarial-sinkhorn.toml, mnist-conv.toml, "},
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
	bin := buildTrain(t)
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

// buildTrain builds the command once for the tests that run it (from the repository
// root) and returns its path.
func buildTrain(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "train-test-")
		if err != nil {
			built.err = err
			return
		}
		built.dir, built.path = dir, filepath.Join(dir, "train")
		if out, err := exec.Command("go", "build", "-o", built.path, "./cmd/train").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

var built struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// The command killed with SIGKILL at random moments — while starting, between steps,
// inside checkpoint and metrics writes (a checkpoint every step) — and resumed each
// time ends with the parameters of an uninterrupted run, bit for bit, metrics.csv and
// metrics.jsonl with every step exactly once and equal to its rows, and no temporary
// files left behind.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and kills it many times")
	}
	inRoot(t)
	bin := buildTrain(t)
	const steps = 300
	args := []string{"-config", "toy2d", "-set", fmt.Sprint("steps=", steps), "-set", "batch_size=64", "-set", "threads=1",
		"-set", "log.progress=false", "-set", "log.checkpoint_every=1", "-set", "log.every=7", "-set", "log.sample_every=25",
		"-set", "log.samples=64", "-set", "log.keep=2"}
	tmp := t.TempDir()
	whole, killed := filepath.Join(tmp, "whole"), filepath.Join(tmp, "killed")
	began := time.Now()
	if out, err := exec.Command(bin, append(args, "-out", whole)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	// Random delays are drawn within a fifth of the uninterrupted run's wall time,
	// which scales with the machine's load.
	span := time.Since(began) / 5
	ckptDir := filepath.Join(killed, "ckpt")
	final := filepath.Join(ckptDir, fmt.Sprintf("step-%08d.ckpt", steps)) // written last
	rng := rand.New(rand.NewPCG(13, 1))
	const maxKills = 40
	kills, inWrite := 0, 0
	for attempt := 0; ; attempt++ {
		cmdArgs := append(slices.Clone(args), "-out", killed)
		if newestCheckpoint(ckptDir) != "" {
			cmdArgs = append(cmdArgs, "-resume")
		} else {
			cmdArgs = append(cmdArgs, "-force") // killed before its first checkpoint: start over
		}
		before := newestCheckpoint(ckptDir)
		cmd := exec.Command(bin, cmdArgs...)
		var output bytes.Buffer
		cmd.Stdout, cmd.Stderr = &output, &output
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if kills == maxKills { // enough: let it finish
			if err := <-done; err != nil {
				t.Fatalf("the last run: %v\n%s", err, output.String())
			}
			break
		}
		// Kill by turns: after a random delay from the start (while starting, or
		// anywhere later); as soon as a checkpoint is being written; a few
		// milliseconds (random) after the first new checkpoint, between or inside steps.
		deadline := time.Now().Add(2 * span) // the turns that wait for an event, if it never comes
		mode := attempt % 3
		if mode == 0 {
			deadline = time.Now().Add(time.Duration(rng.Int64N(int64(span))))
		}
		var err error
	wait:
		for {
			select {
			case err = <-done:
				break wait
			default:
			}
			switch {
			case mode == 1 && tempFiles(ckptDir) > 0:
				deadline = time.Now()
			case mode == 2 && newestCheckpoint(ckptDir) != before:
				deadline, mode = time.Now().Add(time.Duration(rng.Int64N(int64(10*time.Millisecond)))), -1
			}
			if !time.Now().Before(deadline) {
				cmd.Process.Kill()
				err = <-done
				break wait
			}
			time.Sleep(100 * time.Microsecond)
		}
		if err == nil {
			break // finished before the kill
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("attempt %d: %v\n%s", attempt, err, output.String())
		}
		kills++
		if tempFiles(ckptDir) > 0 {
			inWrite++
		}
		if _, err := os.Stat(final); err == nil {
			break // killed after the last checkpoint: the run is complete
		}
	}
	t.Logf("%d kills, %d inside a checkpoint write", kills, inWrite)
	a, err := os.ReadFile(filepath.Join(whole, "generator.params"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(killed, "generator.params"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("generator.params differs from the uninterrupted run's")
	}
	for _, f := range []string{"metrics.csv", "metrics.jsonl"} {
		wa, wb := metricsRows(t, filepath.Join(whole, f)), metricsRows(t, filepath.Join(killed, f))
		var bad []int
		for s := 1; s <= steps; s++ {
			if wa[s] == "" || wa[s] != wb[s] {
				bad = append(bad, s)
			}
		}
		if len(wb) != steps || len(bad) > 0 {
			t.Errorf("%s: %d rows; steps missing or not the uninterrupted run's: %v", f, len(wb), bad)
		}
	}
	filepath.WalkDir(killed, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("left behind: %s", path)
		}
		return nil
	})
}

// newestCheckpoint returns the name of the newest checkpoint in dir ("": none).
func newestCheckpoint(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "step-*.ckpt"))
	if len(files) == 0 {
		return ""
	}
	return filepath.Base(slices.Max(files))
}

// tempFiles counts the temporary files of atomic writes in dir.
func tempFiles(dir string) int {
	entries, _ := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			n++
		}
	}
	return n
}

// wallTime matches the wall-time fields of a metrics row, which differ between runs.
var wallTime = regexp.MustCompile(`(,[0-9.]+,[0-9.]+$)|("(step_ms|elapsed_s)":[0-9.e+-]+,?)`)

// metricsRows reads metrics.csv or metrics.jsonl by step, without the wall times;
// a step logged twice is an error.
func metricsRows(t *testing.T, path string) map[int]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int]string{}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var step int
		if strings.HasSuffix(path, ".csv") {
			if i == 0 {
				continue // header
			}
			step, err = strconv.Atoi(line[:strings.IndexByte(line+",", ',')])
		} else {
			var r struct{ Step int }
			err = json.Unmarshal([]byte(line), &r)
			step = r.Step
		}
		if err != nil || step < 1 {
			t.Fatalf("%s line %d: %q", path, i+1, line)
		}
		if _, dup := rows[step]; dup {
			t.Errorf("%s: step %d twice", path, step)
		}
		rows[step] = wallTime.ReplaceAllString(line, "")
	}
	return rows
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

// Issue 13 (E2, E3): values that pass the parser but fail in training, and bad
// arguments, read as messages naming the key or the -set argument, never as a
// dump of gorgonia's machine ("PC 49. Failed to execute instruction …").
func TestTrainStepFailuresReadAsMessages(t *testing.T) {
	inRoot(t)
	dir := t.TempDir()
	for i, tc := range []struct {
		set  string
		want []string
	}{
		// 65536² points: the loss's matrices need 256 GiB; refused before step 1
		{"batch_size=65536", []string{"-set batch_size=65536: batch_size = 65536: ", "needs 256 GiB", "MaxDenseBytes"}},
		// 6000 points: the matrices fit, 100000 iterations' potentials (18 GiB) do not
		{"loss.iters=100000", []string{"-set loss.iters=100000: loss.iters = 100000: ", "needs"}},
		// ot refuses ε = 5e-324 (1/ε overflows) in the loss's op
		{"loss.eps=5e-324", []string{"train: step 1: ", "1/ε overflows float64"}},
		// Adam at lr = 1e308 makes a parameter infinite; the next pass fails on it
		{"optimizer.lr=1e308", []string{"train: step 1: the parameter ", "is not finite", "Inf"}},
		{"data.noise=1e308", []string{"-set data.noise=1e308: data.noise = 1e+308: must be in [0, 1000]"}},
	} {
		var stdout, stderr bytes.Buffer
		args := []string{"-config", "toy2d", "-q", "-out", filepath.Join(dir, fmt.Sprint(i)), "-set", "steps=3", "-set", "log.progress=false", "-set", tc.set}
		if tc.set == "loss.iters=100000" {
			args = append(args, "-set", "batch_size=6000")
		}
		code := run(context.Background(), args, &stdout, &stderr)
		msg := stderr.String()
		if code != 1 || strings.Contains(msg, "PC ") || strings.Contains(msg, "Failed to execute instruction") || strings.Contains(msg, "op.Do") {
			t.Errorf("-set %s: exit %d, %q; want 1 and a message without the machine's wrapping", tc.set, code, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("-set %s: %q does not say %q", tc.set, msg, w)
			}
		}
	}
}

// Issue 13 (E3): an invalid -set given with -resume is the argument's fault, not the
// checkpoint's; a directory given as -config is said to be one.
func TestTrainBlamesTheRightInput(t *testing.T) {
	inRoot(t)
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-config", "toy2d", "-q", "-out", out, "-set", "steps=2"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	code := run(context.Background(), []string{"-resume", "-q", "-out", out, "-set", "steps=-1"}, &stdout, &stderr)
	if msg := stderr.String(); code != 1 || msg != "train: -set steps=-1: steps = -1: must be positive\n" {
		t.Errorf("resume -set steps=-1: exit %d, %q", code, msg)
	}
	stderr.Reset()
	code = run(context.Background(), []string{"-config", t.TempDir()}, &stdout, &stderr)
	if msg := stderr.String(); code != 1 || !strings.Contains(msg, "is a directory, not a config file") || strings.Contains(msg, "no such file") {
		t.Errorf("-config DIR: exit %d, %q", code, msg)
	}
	stderr.Reset()
	code = run(context.Background(), []string{"-config", "configs"}, &stdout, &stderr)
	if msg := stderr.String(); code != 1 || !strings.Contains(msg, `config "configs" is a directory`) {
		t.Errorf("-config configs: exit %d, %q", code, msg)
	}
}
