"""Regenerates the large exact-OT fixtures of ot/ (TestExactLargeFixtures).

Run with the Python that has POT 0.8.2 (on the project machine /usr/bin/python3), from
ot/testdata:

    /usr/bin/python3 gen_exact_large.py

Writes exact_large.json: an object of cases by name, each {x, y, a, b, cost}: POT's ot.emd2 (network
simplex, numItermax 1e8) between n points x and n points y uniform in [0,1]² under the cost
½|x−y|² (ot.dist / 2, ot.SqEuclidean): n = 1024 and 2048 with uniform weights, and n = 1024 with
random positive weights in [0.1, 1.1) normalized to 1 (a, b empty for uniform). Coordinates are
multiples of 1e-6, to keep the file small.
"""
import json
import numpy as np
import ot


def case(rng, n, weighted):
    x = rng.integers(0, 10**6 + 1, size=(n, 2)) / 1e6
    y = rng.integers(0, 10**6 + 1, size=(n, 2)) / 1e6
    a = b = np.full(n, 1.0 / n)
    out = dict(x=x.tolist(), y=y.tolist(), a=[], b=[])
    if weighted:
        a, b = rng.random(n) + 0.1, rng.random(n) + 0.1
        a, b = a / a.sum(), b / b.sum()
        out.update(a=a.tolist(), b=b.tolist())
    M = ot.dist(x, y) * 0.5
    out["cost"] = float(ot.emd2(a, b, M, numItermax=10**8))
    return out


def main():
    rng = np.random.default_rng(20261128)
    cases = {"uniform_1024": case(rng, 1024, False), "uniform_2048": case(rng, 2048, False),
             "weighted_1024": case(rng, 1024, True)}
    with open("exact_large.json", "w") as fh:
        json.dump(cases, fh, separators=(",", ":"))


if __name__ == "__main__":
    main()
