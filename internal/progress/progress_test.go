package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clock is a fake time that the test advances.
type clock struct{ t time.Time }

func (c *clock) now() time.Time       { return c.t }
func (c *clock) tick(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Unix(0, 0)} }

// On a file or pipe: a plain line at every tenth, no carriage returns, no escape
// sequences, and never a zero rate.
func TestPlainLinesEveryTenth(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	b := newBar(&buf, "training", 1000, false, 0, c.now)
	for i := 0; i < 1000; i++ {
		c.tick(10 * time.Millisecond)
		b.Describe("loss 0.5")
		b.Add(1)
	}
	b.Finish()
	out := buf.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 10 || strings.ContainsAny(out, "\r\x1b") {
		t.Fatalf("%d lines, want 10 without \\r or escapes:\n%q", len(lines), out)
	}
	if lines[0] != "training: 100/1000 (10%), 100/s, 9.0s left; loss 0.5" {
		t.Errorf("first line %q", lines[0])
	}
	if lines[9] != "training: 1000/1000 (100%), 100/s, took 10s; loss 0.5" {
		t.Errorf("last line %q", lines[9])
	}
	for _, l := range lines {
		if strings.Contains(l, " 0/s") || strings.Contains(l, "0/h") || strings.Contains(l, "0/min") {
			t.Errorf("zero rate in %q", l)
		}
	}
}

// A slow loop gets a line 30 s after the last one even within one tenth.
func TestPlainLinesEvery30s(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	b := newBar(&buf, "compare", 1000, false, 0, c.now)
	for i := 0; i < 12; i++ { // 120 s, far from a tenth
		c.tick(10 * time.Second)
		b.Add(1)
	}
	want := "compare: 3/1000 (0%), 6.0/min, 2h46m left\n" + // 9970 s
		"compare: 6/1000 (0%), 6.0/min, 2h46m left\n" + // 9940 s
		"compare: 9/1000 (0%), 6.0/min, 2h45m left\n" + // 9910 s
		"compare: 12/1000 (1%), 6.0/min, 2h45m left\n" // 9880 s
	if buf.String() != want {
		t.Errorf("got\n%swant\n%s", buf.String(), want)
	}
}

// On a terminal: redrawn in place at most five times a second (progressbar writes the
// line once or twice a redraw: on the new text, and on a new percentage); the first
// drawing has no rate at all (no "0 steps/hr"), the last ends its line.
func TestTerminalRedraws(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	b := newBar(&buf, "training", 4000, true, 200, c.now)
	first := buf.String()
	if first != "\r   0% |                    |  training: 0/4000 (0%) \x1b[0K" {
		t.Errorf("first drawing %q", first)
	}
	for i := 0; i < 4000; i++ {
		c.tick(2 * time.Millisecond)
		b.Add(1)
	}
	b.Finish()
	out := buf.String()
	// 4000 items at 2 ms = 8 s: 40 redraws at 5 per second, plus the first and
	// Finish's.
	if draws := strings.Count(out, "\r"); draws < 42 || draws > 2*42 {
		t.Errorf("%d writes, want 42 redraws of at most two writes each", draws)
	}
	if !strings.HasSuffix(out, "|  training: 4000/4000 (100%), 500/s, took 8.0s \x1b[0K\n") {
		t.Errorf("final drawing %q", out[strings.LastIndex(out, "\r"):])
	}
}

// A terminal line never wraps: it is cut to the width.
func TestTerminalWidth(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	b := newBar(&buf, "training", 10, true, 40, c.now)
	b.Describe(strings.Repeat("ε", 100))
	c.tick(time.Second)
	b.Add(1)
	for _, d := range strings.Split(buf.String(), "\r")[1:] {
		d = strings.TrimSuffix(d, "\x1b[0K")
		if n := len([]rune(d)); n > 39 {
			t.Errorf("drawing of %d runes on a 40-column terminal: %q", n, d)
		}
	}
}

// Items done before the bar started count, but not in the rate.
func TestFrom(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	b := newBar(&buf, "training", 2000, false, 0, c.now).From(1000)
	for i := 0; i < 100; i++ {
		c.tick(time.Second)
		b.Add(1)
	}
	// Lines every 30 s, and at the first tenth of the 1000 items left; the rate is
	// 1.0/s, not 1100 items in 100 s.
	want := "training: 1030/2000 (51%), 1.0/s, 16m10s left\n" +
		"training: 1060/2000 (53%), 1.0/s, 15m40s left\n" +
		"training: 1090/2000 (54%), 1.0/s, 15m10s left\n" +
		"training: 1100/2000 (55%), 1.0/s, 15m00s left\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

// A nil writer gives a nil bar whose methods do nothing; a regular file is not a
// terminal.
func TestNilAndFile(t *testing.T) {
	b := New(nil, "x", 10)
	b.From(1).Describe("d")
	b.Add(1)
	b.Set(5)
	b.Finish()
	b.Abort()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b = New(f, "x", 2)
	b.Add(1)
	b.Add(1)
	b.Finish()
	raw, _ := os.ReadFile(f.Name())
	if got := string(raw); strings.Contains(got, "\r") || strings.Count(got, "\n") != 2 {
		t.Errorf("to a file: %q", got)
	}
}

// Abort ends a drawn terminal line; Finish after it writes nothing more.
func TestAbort(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	b := newBar(&buf, "x", 10, true, 80, c.now)
	c.tick(time.Second)
	b.Add(3)
	b.Abort()
	n := buf.Len()
	b.Add(1)
	b.Finish()
	if !strings.HasSuffix(buf.String(), "\n") || buf.Len() != n {
		t.Errorf("after Abort: %q", buf.String())
	}
}
