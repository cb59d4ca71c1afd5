#!/bin/sh
# Runs the whole Go-vs-reference comparison in one command, on one machine, with the same
# thread count, and prints the ratios of minimums and of medians side by side
# (bench/ratios.py), between two `uptime` lines that show the load it ran under.
#
#     bench/side-by-side.sh [OUTDIR]        (from the repository root; OUTDIR default /tmp/sbs)
#
# Environment: THREADS (2), REPS (20: repetitions per row; rows past BUDGET, 20 s, run
# fewer, at least 3, and say so in their reps key; BUDGET=0: no limit), SLOW_REPS (3: the n = 4096 d = 2
# divergence, seconds per run), SIZES (256,1024: the divergence sizes of the first run) and
# SLOW_SIZES (4096: those run in processes of their own; empty skips them), MNIST (an idx
# directory for both sides; default uniform noise on both, which costs the same per
# iteration), SEED_MAXDIM (2048: largest seedplot dimension), REF
# (../shared/bench/reference.py), PYTHON (/usr/bin/python3). A smoke test:
# REPS=2 SIZES=256 SLOW_SIZES= SEED_MAXDIM=128 bench/side-by-side.sh
#
# Cases: reference.py's divergence n = 256 and 1024 (float32 on training's float32 path, and
# float64; fwd and fwd+bwd) and its train step; the n = 4096 d = 2 divergence in processes of
# their own, so that otbench's peak_rss_mib is that case's alone (PyTorch: forward only, its
# tape does not fit); exact OT n = 256, 1024, 2048 on the same instances (POT's emd2);
# the seedplot at ℓ2 tolerance 1e-2 and ℓ1 tolerance 1e-6 on the same instances; sliced
# Wasserstein (bench/reference_extra.py); the unbalanced divergence against the balanced one
# (Go only: otbench's unbalanced_over_balanced row).
set -eu
out=${1:-/tmp/sbs}
THREADS=${THREADS:-2}
REPS=${REPS:-20}
BUDGET=${BUDGET:-20}
SLOW_REPS=${SLOW_REPS:-3}
SEED_MAXDIM=${SEED_MAXDIM:-2048}
SIZES=${SIZES:-256,1024}
SLOW_SIZES=${SLOW_SIZES-4096}
REF=${REF:-../shared/bench/reference.py}
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p "$out"
if [ -n "${MNIST:-}" ]; then gomnist="$MNIST"; refmnist="--mnist $MNIST"; else gomnist=""; refmnist=""; fi

uptime
go build -o "$out/otbench" ./cmd/otbench
bench="$out/otbench -q -threads $THREADS -budget ${BUDGET}s -mnist=$gomnist"
# shellcheck disable=SC2086
{
	$bench -reps "$REPS" -only exact,seedplot,divergence,sliced,unbalanced,train -sizes "$SIZES" \
		-maxdim "$SEED_MAXDIM" -dump "$out/seed.json" -dump-exact "$out/exact.json"
	for n in $(echo "$SLOW_SIZES" | tr , ' '); do
		$bench -reps "$SLOW_REPS" -only divergence -sizes "$n"
	done
} > "$out/go.jsonl"
# shellcheck disable=SC2086
{
	"$PYTHON" "$REF" --threads "$THREADS" $refmnist --only divergence,train --sizes "$SIZES" --reps "$REPS"
	for n in $(echo "$SLOW_SIZES" | tr , ' '); do
		"$PYTHON" "$REF" --threads "$THREADS" $refmnist --only divergence --sizes "$n" --reps "$SLOW_REPS"
	done
	"$PYTHON" bench/reference_extra.py --threads "$THREADS" $refmnist --reps "$REPS" --budget "$BUDGET" --exact "$out/exact.json"
	"$PYTHON" bench/seedplot_same.py --reps "$REPS" --budget "$BUDGET" "$out/seed.json"
} > "$out/ref.jsonl"
"$PYTHON" bench/ratios.py "$out/go.jsonl" "$out/ref.jsonl"
uptime
