#!/usr/bin/python3
"""Reference Frechet distances for tests/test-gan.c, made once with SciPy's sqrtm (the way pytorch-fid
computes FID): random Gaussians in 6 and 24 dimensions. Run: /usr/bin/python3 make_frechet_vectors.py
> frechet_vectors.txt. Format per case: d, then mu1, cov1 (row-major), mu2, cov2, then the distance."""
import numpy as np
from scipy import linalg

rng = np.random.default_rng(7)
for d in (6, 24):
    def gauss():
        a = rng.normal(size=(d, 3 * d))
        return rng.normal(size=d), a @ a.T / (3 * d)
    mu1, c1 = gauss()
    mu2, c2 = gauss()
    covmean, _ = linalg.sqrtm(c1 @ c2, disp=False)
    fd = float(np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.trace(covmean.real))
    print(d)
    for v in (mu1, c1.ravel(), mu2, c2.ravel()):
        print(" ".join(repr(float(x)) for x in v))
    print(repr(fd))
