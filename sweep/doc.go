// Package sweep trains and evaluates a grid of runs — a sweep — on this machine or as
// one Slurm array job, and reports them side by side (cmd/sweep is its command).
//
// # The sweep file
//
//	name = "toy2d-eps"            # the sweep directory: checkpoints/sweeps/<name>/ (default: the file's name)
//	config = "toy2d.toml"         # the base training config (a bare name: configs/)
//	set = ["steps=500"]           # -set overrides of every run
//	seeds = [1, 2]                # one run per grid point and seed (default: the config's seed)
//	threads = 1                   # threads per run (0: automatic, see below)
//	jobs = 0                      # local executor: runs at once (0: cores / threads)
//	executor = "local"            # or "slurm" (-executor overrides)
//
//	[grid]                        # every combination of these values (any key -set accepts)
//	"loss.eps" = [0.01, 0.1]
//	"optimizer.lr" = [1e-3, 3e-4]
//
//	[[zip]]                       # one axis whose keys move together: i-th values form a point
//	"loss.kind" = ["sinkhorn", "energy"]
//	"loss.bandwidths" = [[1.0], [0.5, 1.0]]
//
//	[eval]                        # cmd/eval on every finished run
//	n = 1000                      # generated samples (-n)
//	ref = 1000                    # held-out samples (-ref)
//	seed = 1                      # its seed (-seed)
//	args = ["-no-c2st"]           # further cmd/eval flags
//	skip = false                  # train only
//
//	[slurm]
//	mem = "2G"                    # --mem
//	time = "01:00:00"             # --time
//	options = ["--partition=short", "--account=proj"]   # further sbatch options
//	poll = "5s"                   # how often squeue is asked
//
//	[[point]]                     # instead of [grid] and [[zip]]: a point by name
//	name = "toy: energy"          # its name in the results
//	config = "toy2d.toml"         # its base config (default: config)
//	set = ["loss.kind=energy"]    # its overrides, after set
//	dir = "runs/toy/energy"       # its runs' directories <dir>/seed-<s> (default runs/<name>)
//
// A point is named by its overrides, "loss.eps=0.01,optimizer.lr=0.001" ([grid] keys
// sorted, then the [[zip]] axes in file order, each zip's keys sorted), never by an
// index: adding a value to an axis leaves the other runs' names — and directories,
// runs/<point>/seed-<s>/ — as they were.
//
// # Runs, identity and resumption
//
// Every run is a separate process, `sweep -task INDEX DIR`, on either executor; it runs
// the train binary on its config (the base config and its overrides, seed and threads
// last) and then the eval binary, and writes sweep-done.json into the run directory.
// The three binaries are built with the go command once per invocation into DIR/bin/,
// so that the nodes of a cluster find them on the shared file system and a task
// started later still runs the code the sweep was planned with (-bin copies prebuilt
// ones instead).
//
// A run's identity is a hash of its full training config (config.toml as train writes
// it) and the code version: the VCS revision the go command stamped into the train
// binary ("-dirty-" and a hash of the binary appended for a tree with uncommitted
// changes), else the module version, else a hash of the binary (as when building with
// -buildvcs=false). A run whose sweep-done.json has its identity and whose newest
// checkpoint is the final one is never redone (-retrain: every run is); one whose
// directory holds a checkpoint of the same identity is resumed from it (train
// -resume: bit-identical to an uninterrupted run); anything else in its directory is
// replaced. Results depend on the thread count, so threads is part of the config and of
// the identity. Its automatic value is cores / runs (at least 1) locally and 1 on
// Slurm: set threads in the file for results that do not depend on the executor or the
// machine.
//
// A sweep directory is locked (flock on DIR/.lock) while a sweep plans, runs or
// collects in it: a second sweep there is refused.
//
// # Executors
//
// local runs jobs tasks at once, each its own process, so that a crash fails one run
// and not the sweep; the task logs are DIR/logs/<index>.log.
//
// slurm writes DIR/job.sh — an array job over the unfinished runs' indices with
// --cpus-per-task = threads, the file's --mem and --time, the extra options, output
// appended to DIR/logs/%a.log — submits it with sbatch, and polls squeue until the
// array has left the queue, showing runs done, running and failed. A task that failed,
// was cancelled or hit its time limit is reported with the end of its log (sacct's
// state where accounting is enabled, else what slurmstepd wrote into the log). The
// cluster must share the sweep directory and the module directory (configs, the MNIST
// classifier cache) between the submitting machine and the nodes.
//
// # Outputs
//
// results.csv (a row per run: status, identity, times, eval's headline metrics),
// results.json (the same with failures and the mean, sample standard deviation and
// count per point and metric) and report.md (a table per metric, mean ± sd over the
// seeds, the best point in bold; the first seed's final samples side by side; the runs
// that did not finish with the end of their logs). A program with a report of its own
// passes Options.Report instead (cmd/compare: a sweep of [[point]]s, trained here and
// evaluated in its process).
package sweep
