"""Writes unrolled_averaged_L1.json, _L10.json and _L50.json, the fixtures of ot's unrolled
Sinkhorn divergence with its default averaged self updates, by PyTorch autograd through the
same updates (no code of ot is involved). The inputs come from unrolled_L*.json, unchanged
copies of ../shared/fixtures (every problem by alternating updates: ot's
UnrolledOptions.AlternatingSelf).

Run from ot/testdata with the project's Python (on the project machine /usr/bin/python3,
with python3-torch):

    /usr/bin/python3 gen_unrolled.py

The inputs of each file (x, y, a, b, eps, L) are kept as they are; every other field is
recomputed in float64 with c(x, y) = ½|x−y|²:
  OT(α,β): L alternating log-domain updates from f = g = 0,
      f_i ← −ε log Σ_j b_j exp((g_j − C_ij)/ε),  then  g_j ← −ε log Σ_i a_i exp((f_i − C_ij)/ε);
      f, g the final potentials, dual_xy = ⟨a,f⟩ + ⟨b,g⟩, primal_xy = ⟨P,C⟩ with
      P = a⊗b exp((f⊕g − C)/ε);
  OT(α,α), OT(β,β): L averaged updates of one potential from p = 0 (GeomLoss's symmetric
      updates), p ← ½(p + T(p)) with T(p)_i = −ε log Σ_j a_j exp((p_j − C_ij)/ε);
      dual = 2⟨a,p⟩, primal = ⟨P,C⟩ with P = a⊗a exp((p⊕p − C)/ε);
  divergence = dual_xy − ½(dual_xx + dual_yy), genevay = 2 primal_xy − primal_xx − primal_yy,
  and the gradients of divergence, genevay and dual_xy with respect to x and y.
"""
import json

import torch

torch.set_default_dtype(torch.float64)


def cost(x, y):
    return 0.5 * ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def cross(x, y, a, b, eps, L):
    C = cost(x, y)
    f = torch.zeros(len(a))
    g = torch.zeros(len(b))
    for _ in range(L):
        f = -eps * torch.logsumexp(torch.log(b)[None, :] + (g[None, :] - C) / eps, dim=1)
        g = -eps * torch.logsumexp(torch.log(a)[:, None] + (f[:, None] - C) / eps, dim=0)
    P = a[:, None] * b[None, :] * torch.exp((f[:, None] + g[None, :] - C) / eps)
    return f, g, (a * f).sum() + (b * g).sum(), (P * C).sum()


def self_term(x, a, eps, L):
    C = cost(x, x)
    p = torch.zeros(len(a))
    for _ in range(L):
        t = -eps * torch.logsumexp(torch.log(a)[None, :] + (p[None, :] - C) / eps, dim=1)
        p = (p + t) / 2
    P = a[:, None] * a[None, :] * torch.exp((p[:, None] + p[None, :] - C) / eps)
    return 2 * (a * p).sum(), (P * C).sum()


def grads(value, x, y):
    gx, gy = torch.autograd.grad(value, (x, y), retain_graph=True)
    return gx.tolist(), gy.tolist()


def main():
    # Inputs from the copies of ../shared/fixtures' unrolled_L*.json (alternating self
    # updates, kept as they are); outputs unrolled_averaged_L*.json.
    for name in ["unrolled_L1", "unrolled_L10", "unrolled_L50"]:
        with open(name + ".json") as fh:
            fx = json.load(fh)
        x = torch.tensor(fx["x"], requires_grad=True)
        y = torch.tensor(fx["y"], requires_grad=True)
        a, b = torch.tensor(fx["a"]), torch.tensor(fx["b"])
        eps, L = fx["eps"], int(fx["L"])
        f, g, dual_xy, primal_xy = cross(x, y, a, b, eps, L)
        dual_xx, primal_xx = self_term(x, a, eps, L)
        dual_yy, primal_yy = self_term(y, b, eps, L)
        divergence = dual_xy - (dual_xx + dual_yy) / 2
        genevay = 2 * primal_xy - primal_xx - primal_yy
        out = {k: fx[k] for k in ["kind", "x", "y", "a", "b", "eps", "L"]}
        out.update({
            "f": f.tolist(), "g": g.tolist(),
            "dual_xy": dual_xy.item(), "primal_xy": primal_xy.item(),
            "dual_xx": dual_xx.item(), "dual_yy": dual_yy.item(),
            "primal_xx": primal_xx.item(), "primal_yy": primal_yy.item(),
            "divergence": divergence.item(), "genevay": genevay.item(),
        })
        out["grad_dual_xy_x"], out["grad_dual_xy_y"] = grads(dual_xy, x, y)
        out["grad_divergence_x"], out["grad_divergence_y"] = grads(divergence, x, y)
        out["grad_genevay_x"], out["grad_genevay_y"] = grads(genevay, x, y)
        with open(name.replace("unrolled_", "unrolled_averaged_") + ".json", "w") as fh:
            json.dump(out, fh)


if __name__ == "__main__":
    main()
