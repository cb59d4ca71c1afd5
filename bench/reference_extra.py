"""Reference timings for the workloads of cmd/otbench that ../shared/bench/reference.py lacks.

    /usr/bin/python3 bench/reference_extra.py --threads 2 [--reps 20] [--budget 20] [--mnist DIR]
                                              [--only sliced,exact] [--exact FILE]

sliced: the sliced Wasserstein distance SW_2 in PyTorch (CPU) between 256 generated points
(requiring the gradient) and 256 data points of dimension 784, over 128 directions drawn
uniformly on the sphere in each run, forward and backward, float32 and float64: the same
computation as otbench's sliced rows (issue 19; both compute the generated side's gradient only).
exact: POT's network simplex (ot.emd2) on the very exact_points instances that
`otbench -dump-exact FILE` wrote, so that both sides solve the same problems; impl suffixed
"-same" as bench/seedplot_same.py.

Follows reference.py's conventions: torch.set_num_threads(--threads), the point pool from
--mnist or uniform noise, one JSON object a line with "ms" (median) and "ms_min" (minimum);
divide by otbench's rows with bench/ratios.py. Needs numpy, PyTorch and POT (Debian:
python3-torch, python3-pot); never a dependency of the Go project.
"""
import argparse, gzip, json, os
import numpy as np

from benchtime import emit, timing


def load_pool(dirname, count):
    """reference.py's pool: the first MNIST training images in [0,1], or uniform noise."""
    if not dirname:
        return np.random.default_rng(0).random((count, 784), dtype=np.float32)
    with gzip.open(os.path.join(dirname, "train-images-idx3-ubyte.gz")) as fh:
        raw = fh.read()
    imgs = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 784)[:count]
    return imgs.astype(np.float32) / 255.0


def sliced_w2(x, y, k, gen):
    """SW_2 over k random unit directions: the mean over directions of W_2^2 between the
    sorted projections (uniform weights, equal sizes), to the power 1/2."""
    theta = torch.randn(x.shape[1], k, generator=gen, dtype=x.dtype)
    theta = theta / theta.norm(dim=0, keepdim=True)
    px, _ = torch.sort(x @ theta, dim=0)
    py, _ = torch.sort(y @ theta, dim=0)
    return ((px - py) ** 2).mean().sqrt()


def bench_sliced(pool, reps, budget):
    n, k = 256, 128
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor(pool[:n], dtype=dtype, requires_grad=True)
        y = torch.tensor(pool[n:2 * n], dtype=dtype)
        gen = torch.Generator().manual_seed(0)
        out = {}

        def fwd_bwd():
            x.grad = None
            v = sliced_w2(x, y, k, gen)
            v.backward()
            out["value"] = v.item()

        t = timing(fwd_bwd, reps, budget)
        emit(bench="sliced", impl="pytorch-sliced", dtype=str(dtype)[6:], n=n, d=784, p=2, projections=k,
             phase="fwd+bwd", value=out["value"], **t)


def bench_exact(path, reps, budget):
    import ot
    with open(path) as fh:
        instances = json.load(fh)
    for inst in instances:
        x, y = np.array(inst["x"]), np.array(inst["y"])
        n = inst["n"]
        a = b = np.full(n, 1.0 / n)
        M = ot.dist(x, y) * 0.5  # ½|x−y|², otbench's ot.SqEuclidean
        cost = ot.emd2(a, b, M, numItermax=10**8)
        emit(bench="exact_points", impl="pot-network-simplex-same", n=n, d=2, cost=float(cost),
             **timing(lambda: ot.emd2(a, b, M, numItermax=10**8), reps, budget))


def main():
    global torch
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mnist", default=None)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--budget", type=float, default=20.0, help="seconds per row past which fewer reps run (0: none)")
    ap.add_argument("--only", default="sliced,exact")
    ap.add_argument("--exact", default=None, help="otbench -dump-exact output (needed for exact)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    only = set(args.only.split(","))
    if "sliced" in only:
        import torch
        torch.set_num_threads(args.threads)
        bench_sliced(load_pool(args.mnist, 2048), args.reps, args.budget)
    if "exact" in only:
        if not args.exact:
            ap.error("exact needs --exact FILE (from otbench -dump-exact FILE)")
        bench_exact(args.exact, args.reps, args.budget)


if __name__ == "__main__":
    main()
