"""POT timings of the seedplot workload on the very instances cmd/otbench drew.

shared/bench/reference.py draws its own random instances, and Sinkhorn's iteration count
at tolerance 1e-2 varies several-fold between instances of one size; this script removes
that noise by timing POT on the points and histograms that `otbench -dump FILE` wrote:

    go run ./cmd/otbench -only seedplot -dump inst.json > go.jsonl && \\
        python3 bench/seedplot_same.py [--reps 20] [--budget 20] inst.json > pot.jsonl

Two stopping rules, as otbench's rows (keys tol and norm): POT's own, stopThr = 1e-2 on the
ℓ2 norm of the column-marginal error (often a few iterations); and a converged solve, ℓ1
marginal error ≤ 1e-6. POT tests only the ℓ2 norm, so for the latter the script finds the
largest stopThr in 1e-6·2^−k, k ≥ 0, whose solve meets ℓ1 ≤ 1e-6 (the error of both marginals,
measured on the returned plan) and times that; the row gives stopThr and the ℓ1 error met.
Prints one JSON object a line in reference.py's schema ("ms" median, "ms_min" minimum), impl
suffixed "-same". Needs numpy and POT (Debian: python3-pot); never a dependency of the Go
project.
"""
import argparse, json
import numpy as np
import ot

from benchtime import emit, timing

MAX_ITER = 10**5


def l1_error(a, b, M, gamma, thr):
    """Iterations and ℓ1 marginal error (rows and columns) of POT's Sinkhorn at stopThr thr."""
    P, log = ot.sinkhorn(a, b, M, gamma, stopThr=thr, numItermax=MAX_ITER, log=True)
    return log["niter"] + 1, float(np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("instances", help="otbench -dump output")
    ap.add_argument("--reps", type=int, default=20, help="as otbench; fewer past the budget")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds per row past which fewer reps run (0: none)")
    args = ap.parse_args()
    with open(args.instances) as fh:
        instances = json.load(fh)
    for inst in instances:
        pts = np.array(inst["pts"])
        a, b = np.array(inst["A"]), np.array(inst["B"])
        M = ot.dist(pts, pts, metric="euclidean")
        M /= np.median(M)
        dim = inst["dim"]
        emit(bench="seedplot", impl="pot-network-simplex-same", dim=dim,
             **timing(lambda: ot.emd2(a, b, M, numItermax=10**8), args.reps, args.budget))
        for tol, norm in ((1e-2, 2), (1e-6, 1)):
            for gamma in (0.02, 0.1):
                thr = tol
                iters, err = l1_error(a, b, M, gamma, thr)
                while norm == 1 and err > tol and thr > 1e-16:
                    thr /= 2
                    iters, err = l1_error(a, b, M, gamma, thr)
                t = timing(lambda: ot.sinkhorn2(a, b, M, gamma, stopThr=thr, numItermax=MAX_ITER), args.reps, args.budget)
                emit(bench="seedplot", impl="pot-sinkhorn-numpy-same", dim=dim, gamma=gamma, tol=tol, norm=norm,
                     stopThr=thr, iterations=iters, marginal_error_l1=err, **t)


if __name__ == "__main__":
    main()
