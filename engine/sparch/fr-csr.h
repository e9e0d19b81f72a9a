/* fr-csr.h: compressed sparse row matrices (CSC is the CSR of the transpose), float64 values.
 *
 * Invariants of a well-formed matrix, which every producer in engine/sparch/ guarantees and
 * fr_csr_validate() checks: rowptr[0] == 0, rowptr nondecreasing, rowptr[nrows] == nnz, column
 * indices in [0, ncols), strictly increasing within a row (sorted, no duplicates). */
#pragma once
#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  int64_t nrows, ncols, nnz;
  int64_t *rowptr;   /* nrows + 1 */
  int32_t *col;      /* nnz; matrices are limited to 2^31 - 1 columns */
  double *val;       /* nnz; pattern matrices hold 1.0 */
} FrCsr;

#define FR_SPARSE_ERROR (fr_sparse_error_quark())
GQuark fr_sparse_error_quark(void);
typedef enum {
  FR_SPARSE_ERROR_IO,        /* cannot open / read / write */
  FR_SPARSE_ERROR_FORMAT,    /* malformed file (message names the line) */
  FR_SPARSE_ERROR_SHAPE,     /* dimensions do not agree */
  FR_SPARSE_ERROR_TOO_LARGE, /* beyond the supported sizes or the memory guard */
  FR_SPARSE_ERROR_INVALID,   /* bad argument */
} FrSparseError;

/* Allocates arrays for nnz entries (rowptr zeroed); NULL with error if sizes are absurd. */
FrCsr *fr_csr_new(int64_t nrows, int64_t ncols, int64_t nnz, GError **error);
void fr_csr_free(FrCsr *m);
FrCsr *fr_csr_copy(const FrCsr *m);
/* From coordinate triplets (0-based); vals NULL means 1.0. Duplicates are summed when sum_duplicates,
 * otherwise they are an error naming the first duplicate. */
FrCsr *fr_csr_from_coo(int64_t nrows, int64_t ncols, int64_t nnz, const int64_t *rows, const int64_t *cols,
                       const double *vals, gboolean sum_duplicates, GError **error);
FrCsr *fr_csr_transpose(const FrCsr *m);          /* also CSR -> CSC */
gboolean fr_csr_validate(const FrCsr *m, GError **error);
/* Same shape and pattern, values equal within rtol (relative) or atol. */
gboolean fr_csr_equal(const FrCsr *a, const FrCsr *b, double rtol, double atol, GError **why);
/* Longest row, non-empty columns, etc.: cheap structural statistics. */
typedef struct { int64_t max_row_nnz, empty_rows, nonempty_cols; double mean_row_nnz; } FrCsrStats;
void fr_csr_stats(const FrCsr *m, FrCsrStats *out);

G_END_DECLS
