package sweep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sinkgen/sinkgen/internal/progress"
)

// local runs the tasks on this machine, several at once, each its own process: a
// crash of one fails that run alone.
type local struct{}

func (local) run(ctx context.Context, s *sweepDir, pending []Run) (map[int]Failure, error) {
	jobs := s.opts.Jobs
	if jobs == 0 {
		jobs = s.spec.Jobs
	}
	if jobs == 0 {
		jobs = max(1, s.cores()/s.plan.Threads)
	}
	jobs = min(jobs, len(pending))
	fmt.Fprintf(s.opts.Stdout, "local: %d run(s) at once, %d thread(s) each; logs in %s\n", jobs, s.plan.Threads, filepath.Join(s.dir, logDir))
	bar := progress.New(s.opts.Progress, "runs", len(pending))
	var mu sync.Mutex
	failures := map[int]Failure{}
	running := 0
	describe := func() {
		bar.Describe(fmt.Sprintf("%d running, %d failed", running, len(failures)))
	}
	queue := make(chan Run)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range queue {
				mu.Lock()
				running++
				describe()
				mu.Unlock()
				err := s.runTask(ctx, r.Index)
				mu.Lock()
				running--
				if err != nil && ctx.Err() == nil {
					failures[r.Index] = Failure{Reason: err.Error(), Tail: tail(s.logPath(r.Index), 20)}
					fmt.Fprintf(s.opts.Stdout, "run %s seed %d failed: %v (log %s)\n", r.Point, r.Seed, err, s.logPath(r.Index))
				}
				bar.Add(1)
				describe()
				mu.Unlock()
			}
		}()
	}
feed:
	for _, r := range pending {
		select {
		case queue <- r:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if ctx.Err() != nil {
		bar.Abort()
		return nil, fmt.Errorf("interrupted: the runs saved checkpoints; run the sweep again to resume them")
	}
	bar.Finish()
	return failures, nil
}

// runTask runs `bin/sweep -task INDEX DIR`, its output appended to logs/INDEX.log.
func (s *sweepDir) runTask(ctx context.Context, index int) error {
	log, err := os.OpenFile(s.logPath(index), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(s.dir, binDir, "sweep"), "-task", strconv.Itoa(index), s.dir)
	cmd.Dir = s.plan.Root
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Minute
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return fmt.Errorf("task killed by %v", st.Signal())
		}
		return fmt.Errorf("task exited with status %d", ee.ExitCode())
	}
	return err
}
