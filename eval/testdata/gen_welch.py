# Regenerates welch_ref.json: Welch's t-test computed independently of gonum — the
# statistic and Welch–Satterthwaite df from numpy, the Student t tail by Gauss–Legendre
# quadrature of its density (no scipy: x = √ν·tan θ turns P(T > t) into
# c·∫_0^{π/2−atan(t/√ν)} sin^{ν−1}φ dφ, c = Γ((ν+1)/2)/(√π Γ(ν/2)); φ = w² smooths the
# endpoint for non-integer ν).
#   /usr/bin/python3 gen_welch.py > welch_ref.json
import json, math
import numpy as np

nodes, weights = np.polynomial.legendre.leggauss(4000)

def tail(t, nu):  # P(T_nu > t), t >= 0
    top = math.sqrt(math.pi / 2 - math.atan(t / math.sqrt(nu)))
    w = (nodes + 1) * top / 2
    f = np.sin(w * w) ** (nu - 1) * 2 * w
    c = math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(math.pi)
    return float(c * np.sum(weights * f) * top / 2)

def welch(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    v1, v2 = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 ** 2 / (len(a) - 1) + v2 ** 2 / (len(b) - 1))
    return t, df, 2 * tail(abs(t), df)

rng = np.random.default_rng(20260)
groups = [
    # Wikipedia, "Welch's t-test", example 1 (t = −2.46, df ≈ 25.0, p ≈ 0.021 there)
    ([27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4],
     [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]),
    ([1.0, 2.0], [3.0, 5.0]),  # n = 2 per group, as compare -quick
    (rng.normal(0, 1, 5).tolist(), rng.normal(1, 3, 5).tolist()),
    (rng.normal(10, 0.1, 5).tolist(), rng.normal(10.05, 0.5, 3).tolist()),
    (rng.normal(0, 2, 7).tolist(), rng.normal(0.1, 0.01, 4).tolist()),
]
cases = []
for a, b in groups:
    t, df, p = welch(a, b)
    cases.append({"a": a, "b": b, "t": t, "df": df, "p": p})
tails = [{"t": t, "nu": nu, "tail": tail(t, nu)} for t, nu in
         [(0.5, 1), (2.0, 1.37), (1.0, 2), (3.0, 2.5), (2.571, 5), (0.1, 9.4), (4.0, 30), (1.96, 200)]]
print(json.dumps({"generator": "numpy %s, Gauss-Legendre 4000 nodes" % np.__version__,
                  "welch": cases, "tails": tails}))
