"""Regenerates the unbalanced Sinkhorn and sliced Wasserstein fixtures of ot/.

Run with the Python that has POT 0.8.2 (on the project machine /usr/bin/python3), from
ot/testdata:

    /usr/bin/python3 gen_unbalanced_sliced.py

Writes
  unbalanced_<case>.json  POT sinkhorn_unbalanced / sinkhorn_unbalanced2 (method="sinkhorn",
      run to stopThr=1e-15) on x (n×2), y (m×2) with weights a, b of different masses.
      POT regularizes by the entropy Σ P(log P − 1); ot by ε KL(P | a⊗b). The two agree on
      the cost M = C − ε log(a⊗b), which is what POT is given (C = ½|x−y|²). Fields: x, y,
      a, b, eps, rho, plan (POT's), pot_value (sinkhorn_unbalanced2, i.e. ⟨P, M⟩), primal
      (⟨P,C⟩ + ε KL(P|a⊗b) + ρ KL(P1|a) + ρ KL(Pᵀ1|b), generalized KL, on POT's plan),
      divergence (primal(a,b) − ½primal(a,a) − ½primal(b,b) + ε/2 (Σa − Σb)², Séjourné et
      al. 2019, each term solved by POT).
  sliced.json  POT sliced_wasserstein_distance and max_sliced_wasserstein_distance on given
      projections (k unit directions, stored as rows), for p = 1, 2, 3, uniform and
      weighted. Fields: x, y, a, b, directions, and cases: list of {p, weighted, sw, max_sw};
      and x_eq, y_eq, two clouds of one size with uniform weights (where the coupling pairs
      the sorted projections one to one), with eq_cases: list of {p, sw, max_sw}.
      POT 0.8.2 divides by n_projections even when projections are given, so it is
      passed the number of directions too.
"""
import json
import numpy as np
import ot


def dump(name, d):
    d = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}
    with open(name, "w") as fh:
        json.dump(d, fh)


def cost(x, y):
    return 0.5 * ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def kl(p, q):
    p = np.asarray(p)
    return float(np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / q), 0) - p + q))


def solve(a, b, C, eps, rho):
    M = C - eps * np.log(np.outer(a, b))
    P = ot.sinkhorn_unbalanced(a, b, M, eps, rho, method="sinkhorn", numItermax=200000, stopThr=1e-15)
    val = ot.sinkhorn_unbalanced2(a, b, M, eps, rho, method="sinkhorn", numItermax=200000, stopThr=1e-15)
    primal = float(np.sum(P * C) + eps * kl(P.ravel(), np.outer(a, b).ravel())
                   + rho * kl(P.sum(1), a) + rho * kl(P.sum(0), b))
    return P, float(val), primal


def unbalanced(name, seed, n, m, eps, rho, mb):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = rng.normal(size=(m, 2)) + 0.5
    a = rng.uniform(0.5, 1.5, n)
    a /= a.sum()
    b = rng.uniform(0.5, 1.5, m)
    b *= mb / b.sum()
    P, val, primal = solve(a, b, cost(x, y), eps, rho)
    _, _, pxx = solve(a, a, cost(x, x), eps, rho)
    _, _, pyy = solve(b, b, cost(y, y), eps, rho)
    div = primal - pxx / 2 - pyy / 2 + eps / 2 * (a.sum() - b.sum()) ** 2
    dump(name, dict(kind="unbalanced", x=x, y=y, a=a, b=b, eps=eps, rho=rho, plan=P,
                    pot_value=val, primal=primal, divergence=div))


def sliced():
    rng = np.random.default_rng(7)
    n, m, d, k = 9, 6, 3, 20
    x = rng.normal(size=(n, d))
    y = rng.normal(size=(m, d)) * 1.5 + 0.3
    a = rng.uniform(0.5, 1.5, n)
    a /= a.sum()
    b = rng.uniform(0.5, 1.5, m)
    b /= b.sum()
    dirs = rng.normal(size=(k, d))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    cases = []
    for p in (1, 2, 3):
        for weighted in (False, True):
            wa, wb = (a, b) if weighted else (None, None)
            sw = ot.sliced_wasserstein_distance(x, y, wa, wb, n_projections=k, p=p, projections=dirs.T)
            mx = ot.max_sliced_wasserstein_distance(x, y, wa, wb, n_projections=k, p=p, projections=dirs.T)
            cases.append(dict(p=p, weighted=weighted, sw=float(sw), max_sw=float(mx)))
    x_eq = rng.normal(size=(8, d))
    y_eq = rng.normal(size=(8, d)) * 1.2 - 0.2
    eq_cases = []
    for p in (1, 2, 3):
        sw = ot.sliced_wasserstein_distance(x_eq, y_eq, n_projections=k, p=p, projections=dirs.T)
        mx = ot.max_sliced_wasserstein_distance(x_eq, y_eq, n_projections=k, p=p, projections=dirs.T)
        eq_cases.append(dict(p=p, sw=float(sw), max_sw=float(mx)))
    dump("sliced.json", dict(kind="sliced", x=x, y=y, a=a, b=b, directions=dirs, cases=cases,
                             x_eq=x_eq, y_eq=y_eq, eq_cases=eq_cases))


def main():
    unbalanced("unbalanced_eps0.5_rho1.json", 1, 7, 5, 0.5, 1.0, 1.5)
    unbalanced("unbalanced_eps0.1_rho0.5.json", 2, 8, 6, 0.1, 0.5, 0.7)
    unbalanced("unbalanced_eps1_rho10.json", 3, 6, 9, 1.0, 10.0, 1.0)
    sliced()


if __name__ == "__main__":
    main()
