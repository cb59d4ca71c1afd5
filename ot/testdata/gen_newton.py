"""Reference fixtures for Sinkhorn's Newton finisher (ot/newton.go) on hard instances.

Run: /usr/bin/python3 gen_newton.py   (Debian: apt-get install python3-pot python3-numpy)

Each case is a small-ε entropic OT problem on which plain Sinkhorn creeps: normal clouds,
uniform or uneven commensurate weights (see case), cost ½|x−y|² by explicit differences,
stored as C. The reference solve is
independent of the Go code: POT's log-domain Sinkhorn (sinkhorn_log, 20 000 iterations)
for a start, then Newton steps on the full dual (f, g) — the (n+m)×(n+m) system
[diag(P1) P; Pᵀ diag(Pᵀ1)] δ = ε(a − P1, b − Pᵀ1) with the last g pinned, solved by LU
in float64 — whose plans, marginals, residuals and values are evaluated in numpy's
extended precision (np.longdouble, 64-bit mantissa on x86-64): iterative refinement to
a marginal error near 1e-17. Fields: x, y, a, b, C, eps; f, g (a⊗b convention,
recentred so that ⟨a,f⟩ = ⟨b,g⟩); ot_eps = ⟨P,C⟩ + ε·KL(P|a⊗b) and dual = ⟨a,f⟩ + ⟨b,g⟩
at the reference plan (rounded to float64); marginal_error (ℓ1, both marginals, in
extended precision); emd = POT's exact OT cost ot.emd2 (for the bounds
emd ≤ ⟨P_ε,C⟩ and OT_ε ≤ emd + ε·min(H(a), H(b))); pot_sinkhorn_err, POT's own ℓ1
marginal error after the 20 000 sinkhorn_log iterations (above 1e-9 by selection).
"""
import json, os
import numpy as np
import ot

L = np.longdouble


def plan(la, lb, f, g, C, eps):
    return np.exp(la[:, None] + lb[None, :] + (f[:, None] + g[None, :] - C) / eps)


def reference(a, b, C, eps):
    n, m = C.shape
    P0, log = ot.sinkhorn(a, b, C, eps, method="sinkhorn_log", numItermax=20000, stopThr=1e-300, log=True)
    pot_err = float(np.abs(P0.sum(1) - a).sum() + np.abs(P0.sum(0) - b).sum())
    f = L(eps) * (log["log_u"].astype(L) - np.log(a.astype(L)))
    g = L(eps) * (log["log_v"].astype(L) - np.log(b.astype(L)))
    aL, bL, CL, eL = a.astype(L), b.astype(L), C.astype(L), L(eps)
    la, lb = np.log(aL), np.log(bL)

    def resid(f, g):
        P = plan(la, lb, f, g, CL, eL)
        return P, np.concatenate([aL - P.sum(1), bL - P.sum(0)])

    P, res = resid(f, g)
    for _ in range(200):
        nrm = np.sqrt(np.sum(res * res))
        if np.abs(res).sum() < 1e-17:
            break
        r, c = P.sum(1), P.sum(0)
        H = np.block([[np.diag(r), P], [P.T, np.diag(c)]]).astype(np.float64)
        d = np.linalg.solve(H[:-1, :-1], (eps * res[:-1]).astype(np.float64))
        d = np.append(d, 0.0).astype(L)
        t = L(1)
        for _ in range(60):
            fn, gn = f + t * d[:n], g + t * d[n:]
            Pn, rn = resid(fn, gn)
            if np.sqrt(np.sum(rn * rn)) < (1 - 1e-4 * t) * nrm:
                f, g, P, res = fn, gn, Pn, rn
                break
            t /= 2
        else:
            break
    merr = np.abs(res).sum()
    s = (np.dot(aL, f) - np.dot(bL, g)) / 2
    f, g = f - s, g + s
    lin = np.sum(P * CL)
    kl = np.sum(P * ((f[:, None] + g[None, :] - CL) / eL))  # log(P/(a⊗b)) exactly
    return dict(f=f.astype(np.float64), g=g.astype(np.float64),
                ot_eps=float(lin + eL * kl), dual=float(np.dot(aL, f) + np.dot(bL, g)),
                marginal_error=float(merr), pot_sinkhorn_err=pot_err)


def unit_weights(rng, n, K):
    """n weights k_i/K with integers k_i ≥ 1 summing to K: uneven but commensurate
    (equal partial sums on both sides make the exact problem degenerate, and Sinkhorn slow)."""
    k = np.ones(n, dtype=int)
    while k.sum() < K:
        i = rng.integers(n)
        if k[i] < K // n + 2:
            k[i] += 1
    return k / K


def case(rng, n, m, eps, K):
    """The first draw of clouds (normal, y shifted by 0.5) and weights (uniform when
    K = 0, else unit_weights with total K) on which POT's sinkhorn_log has a marginal
    error above 1e-9 after 20 000 iterations."""
    while True:
        x = rng.normal(size=(n, 2))
        y = rng.normal(size=(m, 2)) + 0.5
        if K == 0:
            a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
        else:
            a, b = unit_weights(rng, n, K), unit_weights(rng, m, K)
        C = 0.5 * ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
        ref = reference(a, b, C, eps)
        if ref["pot_sinkhorn_err"] > 1e-9:
            break
    out = dict(x=x, y=y, a=a, b=b, C=C, eps=eps, emd=float(ot.emd2(a, b, C, numItermax=10**7)))
    out.update(ref)
    return out


def main():
    rng = np.random.default_rng(17)
    cases = {
        "newton_25x25_eps0.01_uniform": case(rng, 25, 25, 0.01, 0),
        "newton_10x40_eps0.005_weighted": case(rng, 10, 40, 0.005, 40),
        "newton_60x45_eps0.02_weighted": case(rng, 60, 45, 0.02, 90),
        "newton_100x100_eps0.05_weighted": case(rng, 100, 100, 0.05, 200),
    }
    here = os.path.dirname(os.path.abspath(__file__))
    for name, c in cases.items():
        c = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in c.items()}
        with open(os.path.join(here, name + ".json"), "w") as fh:
            json.dump(c, fh)
        print(name, "marginal error %.3g" % c["marginal_error"], "POT after 20000: %.3g" % c["pot_sinkhorn_err"], "ot_eps", repr(c["ot_eps"]))


if __name__ == "__main__":
    main()
