// Package progress reports how far a long loop has got, the one way for every command.
//
// On a terminal a Bar is one line redrawn in place by schollz/progressbar, at most five
// times a second (the rate and time left are computed here, so that the terminal and
// the log say the same). On a file or a pipe it writes plain lines instead, one each
// time another tenth of the work is done or 30 s after the last line, whichever comes
// first, so that a redirected log stays readable. The rate and the time left appear once the first
// item is done: never a rate of zero.
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

const (
	redrawEvery = 200 * time.Millisecond // terminal
	plainEvery  = 30 * time.Second       // file or pipe, at the latest
	plainParts  = 10                     // file or pipe: a line at every tenth
	barWidth    = 20
)

// Bar is the progress of one loop of a known number of items. A nil *Bar does
// nothing, so that callers need not check whether progress is wanted. Its methods
// may be called from several goroutines.
type Bar struct {
	mu          sync.Mutex
	w           io.Writer
	what, desc  string
	total, done int
	base        int // items done before the bar started: not in the rate
	tty         bool
	cols        int // terminal width; 0: unknown
	now         func() time.Time
	start, last time.Time // last: the last line written
	lastDone    int       // done at the last plain line
	drawn, over bool
	pb          *progressbar.ProgressBar // terminal only
}

// New returns a bar for total items named what, written to w: redrawn in place if w
// is a terminal, plain lines otherwise. A nil w gives a nil Bar: no output.
func New(w io.Writer, what string, total int) *Bar {
	if w == nil {
		return nil
	}
	tty, cols := false, 0
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
		if c, _, err := term.GetSize(int(f.Fd())); err == nil {
			cols = c
		}
	}
	return newBar(w, what, total, tty, cols, time.Now)
}

func newBar(w io.Writer, what string, total int, tty bool, cols int, now func() time.Time) *Bar {
	b := &Bar{w: w, what: what, total: max(total, 0), tty: tty, cols: cols, now: now}
	b.start = now()
	b.last = b.start
	if tty {
		// The bar draws only when told to (throttle 0; draw throttles), and its own
		// count, rate and prediction are off: status() is the one text of both paths.
		b.pb = progressbar.NewOptions(max(b.total, 1),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(barWidth),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionUseANSICodes(true),
			progressbar.OptionThrottle(0))
		b.draw()
	}
	return b
}

// From counts done items as done before the bar started (a resumed run): they show
// in the count but not in the rate. Call it before the first Add.
func (b *Bar) From(done int) *Bar {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	redraw := b.tty && done != b.done
	b.done, b.base, b.lastDone = done, done, done
	if redraw {
		b.draw()
	}
	return b
}

// Describe sets the text after the numbers (a loss, the current case); it shows with
// the next update.
func (b *Bar) Describe(s string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.desc = s
	b.mu.Unlock()
}

// Add counts n more items done.
func (b *Bar) Add(n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.set(b.done + n)
}

// Set sets the number of items done.
func (b *Bar) Set(done int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.set(done)
}

func (b *Bar) set(done int) {
	if b.over {
		return
	}
	b.done = min(max(done, 0), b.total)
	now := b.now()
	if b.tty {
		if now.Sub(b.last) >= redrawEvery || b.done == b.total {
			b.draw()
		}
		return
	}
	span := max(b.total-b.base, 1)
	part := func(d int) int { return (d - b.base) * plainParts / span }
	if part(b.done) > part(b.lastDone) || now.Sub(b.last) >= plainEvery {
		b.line()
	}
}

// Finish ends the bar with its final state and the time it took.
func (b *Bar) Finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.over {
		return
	}
	switch {
	case b.tty:
		b.draw()
		io.WriteString(b.w, "\n")
	case b.lastDone != b.done || b.done == b.base:
		b.line()
	}
	b.over = true
}

// Abort ends the bar where it is (an error or an interrupt follows): a terminal line
// is ended, so that the next message starts on a line of its own.
func (b *Bar) Abort() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty && b.drawn && !b.over {
		io.WriteString(b.w, "\n")
	}
	b.over = true
}

// draw redraws the terminal line: the description first (progressbar draws on
// Describe), then the count, which draws again only when the percentage moved and
// draws the final state once.
func (b *Bar) draw() {
	s := b.what + ": " + b.status()
	// " 100% |" + bar + "|  " + s + " " within cols−1: a wrapped line would not be
	// redrawn in place.
	if room := b.cols - barWidth - 12; b.cols > 1 && utf8.RuneCountInString(s) > room {
		s = string([]rune(s)[:max(room, 0)])
	}
	b.pb.Describe(s)
	b.pb.Set(b.done)
	b.last, b.drawn = b.now(), true
}

// line writes one plain line.
func (b *Bar) line() {
	fmt.Fprintf(b.w, "%s: %s\n", b.what, b.status())
	b.last, b.lastDone = b.now(), b.done
}

// status is "done/total (p%), rate, time left; description".
func (b *Bar) status() string {
	var s strings.Builder
	fmt.Fprintf(&s, "%d/%d (%d%%)", b.done, b.total, 100*b.done/max(b.total, 1))
	elapsed := b.now().Sub(b.start)
	if n := b.done - b.base; n > 0 && elapsed > 0 {
		rate := float64(n) / elapsed.Seconds()
		s.WriteString(", " + fmtRate(rate))
		if b.done < b.total {
			left := time.Duration(float64(b.total-b.done) / rate * float64(time.Second))
			s.WriteString(", " + fmtDuration(left) + " left")
		} else {
			s.WriteString(", took " + fmtDuration(elapsed))
		}
	}
	if b.desc != "" {
		s.WriteString("; " + b.desc)
	}
	return s.String()
}

func fmtRate(r float64) string {
	switch {
	case r >= 10:
		return fmt.Sprintf("%.0f/s", r)
	case r >= 1:
		return fmt.Sprintf("%.1f/s", r)
	case r*60 >= 1:
		return fmt.Sprintf("%.1f/min", r*60)
	default:
		return fmt.Sprintf("%.2g/h", r*3600)
	}
}

// fmtDuration writes d to the precision a reader needs: 2h05m, 3m07s, 42s, 4.2s.
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Hour:
		m := int(d.Round(time.Minute).Minutes())
		return fmt.Sprintf("%dh%02dm", m/60, m%60)
	case d >= time.Minute:
		s := int(d.Round(time.Second).Seconds())
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0fs", d.Seconds())
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}
