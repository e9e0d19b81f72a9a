/* fr-sparse-gen.h: synthetic sparse matrices for the SpArch experiments, seeded and reproducible
 * (the same arguments and seed give the same matrix on every platform; FrRng underneath).
 *
 * Callers must label every generated matrix as synthetic wherever it is shown or reported; the
 * description from fr_sparse_gen_describe() is meant for that label.
 *
 * Spec strings for fr_sparse_generate ("kind:key=value,..."; defaults in brackets):
 *   rmat:scale=S[,edges=16][,a=0.57][,b=0.19][,c=0.19]   R-MAT power-law graph, 2^S nodes
 *   stencil2d:n=N                                       5-point Laplacian on an N x N grid
 *   stencil3d:n=N                                       7-point Laplacian on an N x N x N grid
 *   banded:n=N,band=W[,density=1]                       N x N, entries with |i - j| <= W
 *   uniform:n=N,density=D  or  uniform:rows=R,cols=C,density=D
 * Every generator refuses (FR_SPARSE_ERROR_TOO_LARGE) sizes whose (expected) nonzero count exceeds
 * FR_SPARSE_GEN_MAX_NNZ, and bad arguments or specs with FR_SPARSE_ERROR_INVALID. */
#pragma once
#include "fr-csr.h"

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define FR_SPARSE_GEN_MAX_NNZ ((int64_t)50000000)

/* R-MAT (Chakrabarti et al. 2004): 2^scale nodes, round(edge_factor * 2^scale) edges, each placed by
 * descending the quadrants with probabilities a, b, c and d = 1 - a - b - c (top-left, top-right,
 * bottom-left, bottom-right). Duplicate edges are merged; every value is 1.0. Not symmetric. */
FrCsr *fr_sparse_gen_rmat(int scale, double edge_factor, double a, double b, double c, guint64 seed,
                          GError **error);

/* Finite-difference Laplacians with Dirichlet boundaries, grid points in lexicographic order:
 * 4 (6 in 3D) on the diagonal, -1 for each grid neighbour. Symmetric; no seed needed. */
FrCsr *fr_sparse_gen_stencil2d(int64_t n, GError **error);
FrCsr *fr_sparse_gen_stencil3d(int64_t n, GError **error);

/* n x n with the full diagonal and each other entry within `band` of it present with probability
 * `density`; values uniform in (0, 1]. */
FrCsr *fr_sparse_gen_banded(int64_t n, int64_t band, double density, guint64 seed, GError **error);

/* nrows x ncols, each entry present independently with probability `density` (Erdos-Renyi);
 * values uniform in (0, 1]. */
FrCsr *fr_sparse_gen_uniform(int64_t nrows, int64_t ncols, double density, guint64 seed, GError **error);

/* Parses SPEC (see above) and runs the generator. */
FrCsr *fr_sparse_generate(const char *spec, guint64 seed, GError **error);

/* One-line human description of SPEC, e.g. "synthetic 2D 5-point Laplacian, 256 x 256 grid (65,536
 * rows, 326,656 nonzeros)"; NULL when SPEC is invalid (fr_sparse_generate would refuse it). The
 * string is interned: never free it. */
const char *fr_sparse_gen_describe(const char *spec);

G_END_DECLS
