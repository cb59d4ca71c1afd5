// Command sweep trains and evaluates a grid of runs from a sweep file (package sweep
// documents the format) on this machine or on a Slurm cluster:
//
//	go run ./cmd/sweep -config toy2d-eps.toml [-executor local|slurm] [-out DIR] [-jobs N] [-threads N]
//	go run ./cmd/sweep -config FILE -executor slurm -submit-only   # print the job id and exit
//	go run ./cmd/sweep -config FILE -collect                       # the report of what has finished
//
// A bare file name is looked up in configs/sweeps/. Outputs go to checkpoints/sweeps/<name>/
// (-out to change): results.csv, results.json, report.md, the runs in runs/<point>/seed-<s>/,
// the task logs in logs/, plan.json, bin/ and, with Slurm, job.sh. Running the sweep
// again skips finished runs and resumes interrupted ones (-retrain trains them all again). -sbatch passes an option to
// sbatch (repeatable), e.g. -sbatch --partition=short -sbatch --account=proj.
//
// `sweep -task INDEX DIR` is what each run's process executes; it is not for people.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sinkgen/sinkgen/internal/cli"
	"github.com/sinkgen/sinkgen/sweep"
)

func main() {
	os.Exit(cli.Status("sweep", run(cli.SignalContext(), os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "sweep file; a bare name is looked up in configs/sweeps/")
	var o sweep.Options
	fs.StringVar(&o.Dir, "out", "", "sweep directory (default checkpoints/sweeps/<name>)")
	fs.StringVar(&o.Executor, "executor", "", "local or slurm (default: the file's executor, else local)")
	fs.IntVar(&o.Jobs, "jobs", 0, "local: runs at once (0: the file's jobs, else cores / threads)")
	fs.IntVar(&o.Threads, "threads", 0, "threads per run (0: the file's threads, else automatic)")
	fs.StringVar(&o.Bin, "bin", "", "directory with prebuilt train, eval and sweep binaries (default: build them with go)")
	fs.BoolVar(&o.SubmitOnly, "submit-only", false, "slurm: submit the array job, print its id and exit")
	fs.BoolVar(&o.Collect, "collect", false, "only gather the finished runs and write the report")
	fs.BoolVar(&o.Retrain, "retrain", false, "train every run again, even the finished ones")
	fs.DurationVar(&o.Poll, "poll", 0, "slurm: how often to ask squeue (0: the file's slurm.poll, 5s by default)")
	var sb cli.List
	fs.Var(&sb, "sbatch", "an extra sbatch option such as --partition=short (repeatable)")
	quiet := fs.Bool("q", false, "no progress report")
	task := fs.Int("task", -1, "internal: train and evaluate run INDEX of the sweep directory given as argument")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *task >= 0 {
		if fs.NArg() != 1 {
			return errors.New("-task INDEX needs the sweep directory as its one argument")
		}
		return sweep.Task(ctx, fs.Arg(0), *task, stderr)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *config == "" {
		fs.Usage()
		return errors.New("-config is required")
	}
	for _, s := range sb {
		if !strings.HasPrefix(s, "-") {
			return fmt.Errorf("-sbatch %q: want an sbatch option such as --partition=short", s)
		}
	}
	spec, err := sweep.LoadSpec(*config)
	if err != nil {
		return err
	}
	o.Sbatch = sb
	o.Stdout = stdout
	if !*quiet {
		o.Progress = stderr
	}
	return sweep.Execute(ctx, spec, o)
}
