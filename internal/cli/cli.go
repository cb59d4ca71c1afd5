// Package cli holds what every command's main does the same way: the context that
// an interrupt cancels, the exit status of an error, and the repeatable string flag.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// SignalContext returns a context cancelled by the first SIGINT or SIGTERM; a second
// signal kills the process the default way, for a user who does not want to wait for
// the checkpoint the first one asks for.
func SignalContext() context.Context {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx
}

// Status prints err as "name: err" to stderr and returns the exit status: 0 for none
// or for -h (flag.ErrHelp, whose usage the flag package has printed), 1 otherwise.
func Status(name string, err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}

// List is a flag that may be given several times (-set a=1 -set b=2).
type List []string

func (l *List) String() string     { return strings.Join(*l, " ") }
func (l *List) Set(v string) error { *l = append(*l, v); return nil }
