"""POT timings of the barycenter workload of cmd/otbench, side by side with the Go solvers.

The instances are rebuilt from the same closed-form formulas as cmd/otbench/barycenter.go
(no random numbers) and every solver runs a fixed number of iterations, so both sides do the
same work. One command times both and prints the ratios:

    /usr/bin/python3 bench/barycenter.py --go [--threads 2] [--reps 3] > bary.jsonl

With --go the script first runs `go run ./cmd/otbench -only barycenter` from the repository
root and passes its rows through; then it times POT 0.8.2 and prints its rows; the ratio table
(POT ms / Go ms, >1 means Go is faster) goes to stderr. One JSON object a line, in the schema of
../shared/bench/reference.py: {"bench", "impl", "ms" (median), sizes...}.
Needs numpy and POT (Debian: python3-pot; on the project machine /usr/bin/python3); never a
dependency of the Go project.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time
import warnings


def median_ms(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2] * 1000


def emit(rows, **kw):
    rows.append(kw)
    print(json.dumps(kw), flush=True)


def bumps(np, n, N):
    x = np.arange(n) / (n - 1)
    out = []
    for k in range(N):
        c, s = 0.2 + 0.6 * k / (N - 1), 0.04 + 0.01 * k
        h = np.exp(-(x - c) ** 2 / (2 * s * s))
        out.append(h / h.sum())
    return np.array(out)


def images(np, R, N):
    frac = lambda v: v - math.floor(v)
    t = np.arange(R) / (R - 1)
    y, x = np.meshgrid(t, t, indexing="ij")
    out = []
    for k in range(N):
        cy, cx = 0.3 + 0.4 * frac(0.618 * k), 0.3 + 0.4 * frac(0.382 * k)
        d2 = (y - cy) ** 2 + (x - cx) ** 2
        r = np.sqrt((y - 0.5) ** 2 + (x - 0.5) ** 2) - 0.25
        h = np.exp(-d2 / (2 * 0.08 ** 2)) + 0.5 * np.exp(-r * r / (2 * 0.03 ** 2))
        out.append(h / h.sum())
    return np.array(out)


def r2(np, n, k):
    g = 1.32471795724474602596
    i = np.arange(n)
    a = 0.5 + i / g + 0.1 * k
    b = 0.5 + i / (g * g) + 0.3 * k
    return np.stack([a - np.floor(a), b - np.floor(b)], axis=1)


def bench_pot(reps, rows):
    import numpy as np
    import ot
    warnings.simplefilter("ignore")  # fixed iteration counts: POT warns it did not converge
    for n in (100, 400, 1024):
        A = bumps(np, n, 4).T.copy()
        M = ot.utils.dist0(n)
        M /= M.max()
        for method, impl, iters in (("sinkhorn", "pot-sinkhorn", 500), ("sinkhorn_log", "pot-sinkhorn_log", 50)):
            ms = median_ms(lambda: ot.bregman.barycenter(A, M, 0.01, method=method, numItermax=iters,
                                                         stopThr=0, warn=False), reps)
            emit(rows, bench="barycenter", impl=impl, n=n, N=4, reg=0.01, iters=iters, ms=ms)
    for R in (28, 64):
        imgs = images(np, R, 4)
        for method, impl, iters in (("sinkhorn", "pot-conv-sinkhorn", 500), ("sinkhorn_log", "pot-conv-sinkhorn_log", 50)):
            ms = median_ms(lambda: ot.bregman.convolutional_barycenter2d(imgs, 0.004, method=method, numItermax=iters,
                                                                         stopThr=0, warn=False), reps)
            emit(rows, bench="barycenter_grid", impl=impl, size=R, N=4, reg=0.004, iters=iters, ms=ms)
    for n in (100, 1000):
        x, y = r2(np, n, 0), r2(np, n, 1)
        M = 0.5 * ot.dist(x, y)
        a = b = np.full(n, 1.0 / n)
        for method, impl in (("sag", "pot-sag"), ("asgd", "pot-asgd")):
            np.random.seed(0)
            ms = median_ms(lambda: ot.stochastic.solve_semi_dual_entropic(a, b, M, 0.05, method, numItermax=20000), reps)
            emit(rows, bench="semi_dual", impl=impl, n=n, m=n, reg=0.05, iters=20000, ms=ms)
    clouds = []
    for k in (1, 2, 3):
        c = r2(np, 200, k)
        c[:, 0] += k - 1  # the Go side shifts cloud k (0-based) by k
        clouds.append(c)
    weights = [np.full(200, 1 / 200)] * 3
    X0 = r2(np, 100, 0)
    its = []

    def free():
        _, log = ot.lp.free_support_barycenter(clouds, weights, X0, numItermax=10, stopThr=0, log=True)
        its.append(len(log["displacement_square_norms"]))

    ms = median_ms(free, reps)
    emit(rows, bench="free_support", impl="pot-emd", n=200, N=3, m=100, iters=its[-1], ms=ms)


KEYS = ("bench", "n", "size", "N", "m")


def ratios(rows):
    """POT ms / Go ms for rows of the same bench and sizes, pairing implementations."""
    pairs = {
        "barycenter": [("go-scaling", "pot-sinkhorn"), ("go-log", "pot-sinkhorn_log")],
        "barycenter_grid": [("go-grid-scaling", "pot-conv-sinkhorn"), ("go-grid-log", "pot-conv-sinkhorn_log")],
        "semi_dual": [("go-sag", "pot-sag"), ("go-asgd", "pot-asgd")],
        "free_support": [("go-exact", "pot-emd")],
    }
    by = {}
    for r in rows:
        by[tuple(r.get(k) for k in KEYS) + (r["impl"],)] = r
    out = []
    for key in sorted({tuple(r.get(k) for k in KEYS) for r in rows}, key=str):
        for go, pot in pairs.get(key[0], []):
            g, p = by.get(key + (go,)), by.get(key + (pot,))
            if g and p and g["ms"] and p["ms"]:
                size = {k: v for k, v in zip(KEYS[1:], key[1:]) if v is not None}
                out.append((key[0], size, go, g["ms"], pot, p["ms"], p["ms"] / g["ms"]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--go", action="store_true", help="run cmd/otbench -only barycenter first")
    args = ap.parse_args()
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = str(args.threads)
    rows = []
    if args.go:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        out = subprocess.run(["go", "run", "./cmd/otbench", "-only", "barycenter", "-threads", str(args.threads),
                              "-reps", str(args.reps)], cwd=root, stdout=subprocess.PIPE, check=True, text=True)
        for line in out.stdout.splitlines():
            if line.strip():
                rows.append(json.loads(line))
                print(line, flush=True)
    bench_pot(args.reps, rows)
    table = ratios(rows)
    if table:
        print(f"{'bench':16} {'size':22} {'go impl':16} {'go ms':>9} {'pot impl':22} {'pot ms':>9} {'POT/Go':>7}",
              file=sys.stderr)
        for b, size, go, gms, pot, pms, r in table:
            s = ",".join(f"{k}={v}" for k, v in size.items())
            print(f"{b:16} {s:22} {go:16} {gms:9.2f} {pot:22} {pms:9.2f} {r:7.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
