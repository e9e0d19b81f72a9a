/* fr-spgemm.h: sparse matrix times sparse matrix on the CPU, C = A·B, CSR in, CSR out.
 *
 * The product is structural, like SuiteSparse:GraphBLAS: C(i,j) is stored whenever some k has both
 * A(i,k) and B(k,j) stored, even when the sum cancels to 0.0 (an explicit zero is kept). SciPy differs
 * here: its csr_matmat drops entries whose sum is exactly 0.0. With no cancellation (for example
 * pattern or nonnegative matrices) the two agree entry for entry.
 *
 * Output: a well-formed FrCsr (sorted columns, no duplicates; col/val never NULL). Each entry is
 * summed in the order of A's row and then B's row, starting from 0.0, with separate multiply and add
 * (no FMA), so the result is bit for bit the same for every thread count and vector ISA, and equal to
 * fr_spgemm_reference(). (This relies on the default rounding mode, round-to-nearest.)
 * Inputs must be well-formed (fr_csr_validate); they are not checked again here.
 *
 * A·Aᵀ: pass fr_csr_transpose(a) as b. Thread safety: calls are reentrant; the work runs on the shared
 * pool (fr-pool.h), so a call made while the pool is busy runs on the calling thread alone. */
#pragma once
#include <glib.h>
#include <stdint.h>

#include "fr-csr.h"

G_BEGIN_DECLS

typedef struct {
  int64_t multiplies; /* sum over k of nnz(A(:,k)) * nnz(B(k,:)) */
  int64_t nnz;        /* of C */
  double seconds;     /* wall time of the call */
  int threads;        /* threads that could run: min(requested, pool size) */
} FrSpgemmStats;

/* C = A·B. threads: at most this many (0: the pool's size, fr_pool_get_threads()); a count above the
 * pool's size is allowed (the work is split that way, and runs on the pool's threads).
 * Errors: FR_SPARSE_ERROR_INVALID for a NULL matrix, FR_SPARSE_ERROR_SHAPE when a->ncols != b->nrows,
 * FR_SPARSE_ERROR_TOO_LARGE when C would need more than the memory limit (below) or memory runs out.
 * stats (nullable) is filled on success. */
FrCsr *fr_spgemm(const FrCsr *a, const FrCsr *b, int threads, FrSpgemmStats *stats, GError **error);

/* Naive and obviously correct: one row at a time, a dense accumulator and "seen" flags, the row's
 * columns sorted with qsort. Same summation order as fr_spgemm. For tests. NULL on shape mismatch. */
FrCsr *fr_spgemm_reference(const FrCsr *a, const FrCsr *b);

/* Sum over k of nnz(A(:,k)) * nnz(B(k,:)), saturating at INT64_MAX; -1 when the shapes do not agree. */
int64_t fr_spgemm_count_multiplies(const FrCsr *a, const FrCsr *b);

/* The memory guard: fr_spgemm refuses a product whose output (12 bytes a nonzero plus the row
 * pointers) would exceed this many bytes. 0 restores the default, half of the physical memory.
 * Process-wide; lower it in tests. */
void fr_spgemm_set_memory_limit(int64_t bytes);
int64_t fr_spgemm_get_memory_limit(void);

/* For tests and diagnostics: the widest vector code the kernels may use (the flag scans and the rank
 * sort have generic, AVX2 and AVX-512BW variants, picked at run time from what the CPU has). AUTO, the
 * default, is the CPU's best; a wider level than the CPU has is lowered to it. Results are identical
 * whatever the level. Process-wide; returns the level now in effect. */
typedef enum {
  FR_SPGEMM_ISA_AUTO = -1,
  FR_SPGEMM_ISA_GENERIC = 0,
  FR_SPGEMM_ISA_AVX2 = 1,
  FR_SPGEMM_ISA_AVX512 = 2,
} FrSpgemmIsa;
FrSpgemmIsa fr_spgemm_set_isa(FrSpgemmIsa isa);

G_END_DECLS
