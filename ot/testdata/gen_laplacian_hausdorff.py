"""Regenerates laplacian_hausdorff.json, the fixture of ot's Laplacian-kernel MMD and
Hausdorff divergence, in plain NumPy (no code of ot is involved).

Run from ot/testdata with the project's Python (on the project machine /usr/bin/python3):

    /usr/bin/python3 gen_laplacian_hausdorff.py

Fields: x (n×3), y (m×3), a, b (weights summing to 1);
  laplacian: list of {sigmas, mmd2, grad_x, grad_y}: the biased squared MMD
      aᵀKxx a + bᵀKyy b − 2aᵀKxy b with k(x,y) = Σ_σ exp(−|x−y|/σ), and its gradients
      with respect to the points (at x = y the kernel's cusp contributes 0);
  hausdorff: list of {eps, power, value}: the Hausdorff divergence of Feydy et al.
      (2019), H_ε(α,β) = ½⟨α − β, p_β − p_α⟩, for the cost c = |x−y| (power 1) or
      ½|x−y|² (power 2), where p_μ is the symmetric potential of OT_ε(μ,μ) (the fixed
      point p = −ε log Σ_k μ_k exp((p_k − c(·,z_k))/ε) on μ's support, found by the
      averaged iteration run to a change below 1e-15), extended to the other measure's
      points by the same soft-min.
"""
import json
import numpy as np


def dist(x, y):
    return np.sqrt(np.maximum(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1), 0))


def lse(m, axis):
    mx = m.max(axis=axis, keepdims=True)
    return (mx + np.log(np.exp(m - mx).sum(axis=axis, keepdims=True))).squeeze(axis)


def laplacian(x, y, a, b, sigmas):
    def term(p, q, wp, wq):
        D = dist(p, q)
        K = sum(np.exp(-D / s) for s in sigmas)
        # d k / d p_i = Σ_σ −exp(−r/σ)/σ · (p_i − q_j)/r, 0 at r = 0
        with np.errstate(divide="ignore", invalid="ignore"):
            dK = sum(-np.exp(-D / s) / s for s in sigmas) / D
        dK[D == 0] = 0
        W = wp[:, None] * wq[None, :] * dK
        gp = W.sum(1)[:, None] * p - W @ q
        gq = W.sum(0)[:, None] * q - W.T @ p
        return wp @ K @ wq, gp, gq
    vxx, gxx1, gxx2 = term(x, x, a, a)
    vyy, gyy1, gyy2 = term(y, y, b, b)
    vxy, gxy1, gxy2 = term(x, y, a, b)
    return vxx + vyy - 2 * vxy, gxx1 + gxx2 - 2 * gxy1, gyy1 + gyy2 - 2 * gxy2


def cost(p, q, power):
    D = dist(p, q)
    return D if power == 1 else 0.5 * D ** 2


def self_potential(z, w, eps, power):
    C = cost(z, z, power)
    f = np.zeros(len(z))
    for _ in range(100000):
        t = -eps * lse(np.log(w)[None, :] + (f[None, :] - C) / eps, 1)
        new = 0.5 * (f + t)
        if np.max(np.abs(new - f)) < 1e-15:
            f = new
            break
        f = new
    return f


def extend(zp, z, w, f, eps, power):
    C = cost(zp, z, power)
    return -eps * lse(np.log(w)[None, :] + (f[None, :] - C) / eps, 1)


def hausdorff(x, y, a, b, eps, power):
    pa, pb = self_potential(x, a, eps, power), self_potential(y, b, eps, power)
    pa_y, pb_x = extend(y, x, a, pa, eps, power), extend(x, y, b, pb, eps, power)
    return 0.5 * (a @ (pb_x - pa) - b @ (pb - pa_y))


rng = np.random.default_rng(1919)
n, m, d = 7, 5, 3
x = rng.normal(size=(n, d))
y = rng.normal(size=(m, d)) * 0.8 + 0.5
a = rng.uniform(0.5, 1.5, n); a /= a.sum()
b = rng.uniform(0.5, 1.5, m); b /= b.sum()
out = {"x": x.tolist(), "y": y.tolist(), "a": a.tolist(), "b": b.tolist(), "laplacian": [], "hausdorff": []}
for sigmas in ([0.5], [2.0], [0.3, 1.0, 4.0]):
    v, gx, gy = laplacian(x, y, a, b, sigmas)
    out["laplacian"].append({"sigmas": sigmas, "mmd2": float(v), "grad_x": gx.tolist(), "grad_y": gy.tolist()})
for power in (1, 2):
    for eps in (0.05, 0.5, 5.0):
        out["hausdorff"].append({"eps": eps, "power": power, "value": float(hausdorff(x, y, a, b, eps, power))})
with open("laplacian_hausdorff.json", "w") as fh:
    json.dump(out, fh)
