#!/usr/bin/python3
"""Peer benchmark (not a test): C = A·A (or A·Aᵀ) with SciPy, timed like bench-spgemm.

The matrix is read untimed (scipy.io.mmread, as float64 CSR with sorted indices, Aᵀ made as CSR
too); one warm-up, then --runs timed products, best reported. The timed part gives the same thing as
fr_spgemm, a CSR matrix with sorted rows: `C = A @ B` then `C.sort_indices()` (SciPy's csr_matmat
leaves rows unsorted). SciPy's SpGEMM is single-threaded. Note that csr_matmat drops entries that
sum to exactly 0.0 (Frontier and GraphBLAS keep them); the benchmark matrices cannot cancel.

Prints one JSON line per file with the checksums described in bench-spgemm.c.
Needs Debian's python3-scipy: /usr/bin/python3 tests/bench/scipy_spgemm.py FILE.mtx.gz ...
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import scipy
import scipy.io
import scipy.sparse


def load(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        a = scipy.io.mmread(f)
    a = scipy.sparse.csr_matrix(a, dtype=np.float64)
    a.sum_duplicates()
    a.sort_indices()
    return a


def checksums(c):
    rows = np.repeat(np.arange(c.shape[0], dtype=np.uint64), np.diff(c.indptr).astype(np.int64))
    cols = c.indices.astype(np.uint64)
    with np.errstate(over="ignore"):
        h = int((rows * np.uint64(0x9E3779B97F4A7C15) + cols * np.uint64(0xC2B2AE3D27D4EB4F)).sum(dtype=np.uint64))
    w = 1 + (rows + 2 * cols) % np.uint64(7)
    return h, float(c.data.sum()), float((c.data * w.astype(np.float64)).sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--transpose", action="store_true", help="C = A·Aᵀ instead of A·A")
    args = ap.parse_args()
    for path in args.files:
        a = load(path)
        b = a.T.tocsr() if args.transpose else a
        if args.transpose:
            b.sort_indices()
        best = float("inf")
        c = None
        for r in range(max(args.runs, 1) + 1):
            del c
            t0 = time.perf_counter()
            c = a @ b
            c.sort_indices()
            dt = time.perf_counter() - t0
            if r > 0:
                best = min(best, dt)
        h, s, w = checksums(c)
        name = os.path.basename(path).split(".mtx")[0]
        print(json.dumps({"peer": "scipy", "version": scipy.__version__, "matrix": name,
                          "op": "AAt" if args.transpose else "AA", "threads": 1, "seconds": round(best, 6),
                          "nnz": int(c.nnz), "pattern": h, "sum": s, "wsum": w}), flush=True)


if __name__ == "__main__":
    main()
