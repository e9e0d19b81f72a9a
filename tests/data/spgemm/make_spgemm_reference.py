#!/usr/bin/python3
"""Reference data for tests/test-spgemm.c, made once with SciPy (Debian 12: python3-scipy 1.10.1,
numpy 1.24.2):

    /usr/bin/python3 tests/data/spgemm/make_spgemm_reference.py

writes, next to this script:
  snap-products.json   for C = A·A on each of the five shipped SNAP matrices (data/matrices/), and
                       C = A·Aᵀ on wiki-Vote and p2p-Gnutella31: nnz(C) and three checksums
                       (see bench-spgemm.c: "pattern", the wrapping uint64 sum over entries of
                       i * 0x9E3779B97F4A7C15 + j * 0xC2B2AE3D27D4EB4F; "sum" of the values; "wsum" of
                       value * (1 + (i + 2 j) % 7); "pattern" is written as a decimal string, as it may
                       exceed int64). The inputs are patterns (1.0), so the values are
                       integers and the sums exact in any order.
  small-int-{a,b,c}.mtx  a 23 x 31 times 31 x 19 product with small integer values, chosen so that
                       some entries cancel to 0.0. C is the *structural* product (SciPy's csr_matmat
                       drops the cancelled entries; Frontier and GraphBLAS keep them as explicit zeros):
                       its pattern is that of |A|·|B| and its values those of the dense A·B, both
                       computed with SciPy/numpy and exact (small integers).
  small-float-{a,b,c}.mtx  a 40 x 35 times 35 x 45 product with uniform random values; C is SciPy's
                       A @ B as it stands (no cancellation can occur with such values).
Seeded (numpy default_rng(20261126)): two runs give identical files.
"""
import gzip
import json
import os

import numpy as np
import scipy
import scipy.io
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
MATRICES = os.path.join(HERE, "..", "..", "..", "data", "matrices")


def load(path):
    with gzip.open(path, "rb") as f:
        a = scipy.io.mmread(f)
    a = sp.csr_matrix(a, dtype=np.float64)
    a.sum_duplicates()
    a.sort_indices()
    return a


def checksums(c):
    c = c.tocsr()
    c.sort_indices()
    rows = np.repeat(np.arange(c.shape[0], dtype=np.uint64), np.diff(c.indptr).astype(np.int64))
    cols = c.indices.astype(np.uint64)
    with np.errstate(over="ignore"):
        h = int((rows * np.uint64(0x9E3779B97F4A7C15) + cols * np.uint64(0xC2B2AE3D27D4EB4F)).sum(dtype=np.uint64))
    w = (1 + (rows + 2 * cols) % np.uint64(7)).astype(np.float64)
    return {"nnz": int(c.nnz), "pattern": str(h), "sum": float(c.data.sum()), "wsum": float((c.data * w).sum())}


def write_mtx(path, m, comment):
    """coordinate real general, row-major, every stored entry (explicit zeros included), %.17g."""
    m = m.tocsr()
    m.sort_indices()
    with open(path, "w") as f:
        f.write("%%MatrixMarket matrix coordinate real general\n")
        f.write(f"% {comment}\n")
        f.write(f"{m.shape[0]} {m.shape[1]} {m.nnz}\n")
        for i in range(m.shape[0]):
            for q in range(m.indptr[i], m.indptr[i + 1]):
                f.write(f"{i + 1} {m.indices[q] + 1} {float(m.data[q])!r}\n")


def structural_product(a, b):
    """Pattern of |A|·|B| (no cancellation possible), values from the dense product."""
    pat = (abs(a) @ abs(b)).tocsr()
    pat.sort_indices()
    dense = a.toarray() @ b.toarray()
    rows = np.repeat(np.arange(pat.shape[0]), np.diff(pat.indptr))
    vals = dense[rows, pat.indices]
    return sp.csr_matrix((vals, pat.indices.copy(), pat.indptr.copy()), shape=pat.shape)


def main():
    products = []
    for name in ["wiki-Vote", "ca-CondMat", "p2p-Gnutella31", "email-Enron", "ego-Facebook"]:
        a = load(os.path.join(MATRICES, name + ".mtx.gz"))
        products.append({"matrix": name, "op": "AA", **checksums(a @ a)})
        if name in ("wiki-Vote", "p2p-Gnutella31"):
            at = a.T.tocsr()
            at.sort_indices()
            products.append({"matrix": name, "op": "AAt", **checksums(a @ at)})
    with open(os.path.join(HERE, "snap-products.json"), "w") as f:
        json.dump({"made_with": f"scipy {scipy.__version__}, numpy {np.__version__}", "products": products}, f,
                  indent=1)
        f.write("\n")

    rng = np.random.default_rng(20261126)
    vals = np.array([-3, -2, -1, 1, 2, 3], dtype=np.float64)
    a = sp.random(23, 31, density=0.25, format="csr", random_state=rng, data_rvs=lambda n: rng.choice(vals, n))
    b = sp.random(31, 19, density=0.25, format="csr", random_state=rng, data_rvs=lambda n: rng.choice(vals, n))
    a.data[a.data == 0] = 1.0
    b.data[b.data == 0] = 1.0
    c = structural_product(a, b)
    zeros = int((c.data == 0).sum())
    assert zeros > 0, "the integer case must contain cancellations"
    assert (a @ b).nnz == c.nnz - zeros, "scipy's product is the structural one minus the cancelled entries"
    write_mtx(os.path.join(HERE, "small-int-a.mtx"), a, "A of the small integer case (make_spgemm_reference.py)")
    write_mtx(os.path.join(HERE, "small-int-b.mtx"), b, "B of the small integer case")
    write_mtx(os.path.join(HERE, "small-int-c.mtx"), c,
              f"C = A*B, structural: {zeros} entries cancel to explicit zeros (SciPy alone drops them)")

    a = sp.random(40, 35, density=0.15, format="csr", random_state=rng, data_rvs=lambda n: rng.uniform(-1, 1, n))
    b = sp.random(35, 45, density=0.15, format="csr", random_state=rng, data_rvs=lambda n: rng.uniform(-1, 1, n))
    c = (a @ b).tocsr()
    assert c.nnz == (abs(a) @ abs(b)).nnz
    write_mtx(os.path.join(HERE, "small-float-a.mtx"), a, "A of the small float case (make_spgemm_reference.py)")
    write_mtx(os.path.join(HERE, "small-float-b.mtx"), b, "B of the small float case")
    write_mtx(os.path.join(HERE, "small-float-c.mtx"), c, "C = A @ B computed by SciPy")


if __name__ == "__main__":
    main()
