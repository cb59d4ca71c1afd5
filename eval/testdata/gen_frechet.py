# Regenerates frechet_scipy.json: Fréchet distances computed with numpy/scipy the way
# pytorch-fid does (np.cov with rowvar=False, scipy.linalg.sqrtm), float64.
#   /usr/bin/python3 gen_frechet.py > frechet_scipy.json
import json
import numpy as np
from scipy import linalg

def fd(mu1, s1, mu2, s2):
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    d = mu1 - mu2
    return float(d.dot(d) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))

rng = np.random.default_rng(20170626)
cases = []
for n, m, d in [(40, 30, 5), (200, 150, 12)]:
    A = rng.normal(size=(d, d))
    B = rng.normal(size=(d, d)) * 0.7
    x = rng.normal(size=(n, d)) @ A + rng.normal(size=d)
    y = rng.normal(size=(m, d)) @ B + 0.5 * rng.normal(size=d)
    mu1, s1 = x.mean(0), np.cov(x, rowvar=False)
    mu2, s2 = y.mean(0), np.cov(y, rowvar=False)
    cases.append({"x": x.tolist(), "y": y.tolist(), "mu_x": mu1.tolist(), "mu_y": mu2.tolist(),
                  "cov_x": s1.tolist(), "cov_y": s2.tolist(), "fd": fd(mu1, s1, mu2, s2)})
print(json.dumps({"generator": "numpy %s, scipy %s" % (np.__version__, __import__('scipy').__version__),
                  "cases": cases}))
