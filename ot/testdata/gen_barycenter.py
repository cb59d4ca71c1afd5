"""Regenerates the barycenter fixtures of ot/ that are not in ../shared/fixtures.

Run with the Python that has POT 0.8.2 (on the project machine /usr/bin/python3, not the
pyenv python3 on PATH), from ot/testdata:

    /usr/bin/python3 gen_barycenter.py

Writes, next to barycenter_1d_reg0.01.json (copied from ../shared/fixtures, POT
method="sinkhorn"):
  barycenter_1d_reg0.01_log.json   same inputs, POT method="sinkhorn_log" (starts from u = 1)
  barycenter_1d_reg0.001_log.json  sharper inputs at reg = 1e-3, where exp(-M/reg) underflows
  barycenter_grid.json             POT convolutional_barycenter2d (method="sinkhorn") of three
                                   images on a 12x9 grid spanning the unit square, cost |x-y|^2,
                                   stabThr=0
Fields as in ../shared/fixtures/README.md (barycenter kind); the grid fixture has `rows`,
`cols` and `images` (one row-major image per row) instead of `grid` and `cost`.
"""
import json
import numpy as np
import ot


def dump(name, d):
    d = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}
    with open(name, "w") as fh:
        json.dump(d, fh)


def main():
    src = json.load(open("barycenter_1d_reg0.01.json"))
    A = np.array(src["histograms"]).T
    M = np.array(src["cost"])
    lam = np.array(src["weights"])
    bary = ot.bregman.barycenter(A, M, src["reg"], weights=lam, method="sinkhorn_log",
                                 numItermax=100000, stopThr=1e-13)
    dump("barycenter_1d_reg0.01_log.json", dict(src, barycenter=bary, method="sinkhorn_log"))

    n = 100
    t = np.arange(n, dtype=np.float64)
    hs = [np.exp(-((t - 20) ** 2) / (2 * 3.0 ** 2)),
          np.exp(-((t - 75) ** 2) / (2 * 6.0 ** 2)) + 0.5 * np.exp(-((t - 55) ** 2) / (2 * 2.0 ** 2))]
    A = np.stack([h / h.sum() for h in hs], axis=1)
    M = ot.utils.dist0(n)
    M /= M.max()
    lam = np.array([0.35, 0.65])
    reg = 1e-3
    bary = ot.bregman.barycenter(A, M, reg, weights=lam, method="sinkhorn_log",
                                 numItermax=100000, stopThr=1e-12)
    dump("barycenter_1d_reg0.001_log.json",
         dict(kind="barycenter", grid=t, histograms=A.T, cost=M, reg=reg, weights=lam,
              barycenter=bary, method="sinkhorn_log"))

    rows, cols = 12, 9
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    imgs = []
    for (r0, c0, s) in [(2.5, 2.0, 1.2), (8.0, 6.5, 1.5), (5.0, 1.5, 1.0)]:
        im = np.exp(-((r - r0) ** 2 + (c - c0) ** 2) / (2 * s ** 2)) + 1e-3
        imgs.append(im / im.sum())
    imgs = np.array(imgs)
    lam = np.array([0.5, 0.2, 0.3])
    reg = 0.01
    # stabThr=0: POT's default 1e-30, added to K·U before the log, moves this barycenter by
    # 2e-7 (its log-domain variant and the dense solvers agree with stabThr=0 to 4e-15).
    bary = ot.bregman.convolutional_barycenter2d(imgs, reg, weights=lam, method="sinkhorn",
                                                 numItermax=100000, stopThr=1e-13, stabThr=0)
    dump("barycenter_grid.json",
         dict(kind="barycenter_grid", rows=rows, cols=cols, images=imgs.reshape(3, -1), reg=reg,
              weights=lam, barycenter=bary.reshape(-1), method="convolutional_barycenter2d",
              stabThr=0))


if __name__ == "__main__":
    main()
