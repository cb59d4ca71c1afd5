"""POT timings of the seedplot workload on the very instances cmd/otbench drew.

shared/bench/reference.py draws its own random instances, and Sinkhorn's iteration count
at tolerance 1e-2 varies several-fold between instances of one size; this script removes
that noise by timing POT on the points and histograms that `otbench -dump FILE` wrote:

    go run ./cmd/otbench -only seedplot -dump inst.json > go.jsonl && \
        python3 bench/seedplot_same.py inst.json > pot.jsonl

Prints one JSON object a line in reference.py's schema, with impl suffixed "-same".
Needs numpy and POT (Debian: python3-pot); never a dependency of the Go project.
"""
import json, sys, time
import numpy as np
import ot


def median_ms(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2] * 1000


def main():
    with open(sys.argv[1]) as fh:
        instances = json.load(fh)
    for inst in instances:
        pts = np.array(inst["pts"])
        a, b = np.array(inst["A"]), np.array(inst["B"])
        M = ot.dist(pts, pts, metric="euclidean")
        M /= np.median(M)
        dim = inst["dim"]
        print(json.dumps(dict(bench="seedplot", impl="pot-network-simplex-same", dim=dim,
                              ms=median_ms(lambda: ot.emd2(a, b, M, numItermax=10**8), 1))), flush=True)
        for gamma in (0.02, 0.1):
            _, log = ot.sinkhorn(a, b, M, gamma, stopThr=1e-2, numItermax=10**5, log=True)
            ms = median_ms(lambda: ot.sinkhorn2(a, b, M, gamma, stopThr=1e-2, numItermax=10**5), 3)
            print(json.dumps(dict(bench="seedplot", impl="pot-sinkhorn-numpy-same", dim=dim, gamma=gamma,
                                  ms=ms, iterations=log["niter"] + 1)), flush=True)


if __name__ == "__main__":
    main()
