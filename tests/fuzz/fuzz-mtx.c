/* fuzz-mtx.c: libFuzzer target for the Matrix Market reader (and, on inputs it accepts, the writer).
 * Any crash, sanitizer report or failed CHECK is a bug: malformed input must only ever produce a
 * FR_SPARSE_ERROR naming the input and a line. Built both as a real libFuzzer binary
 * (-Dfuzzing=true with clang) and linked with fuzz-driver.c as the 'fuzz-mtx' test. */
#include "fr-csr.h"
#include "fr-mtx.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);            \
      abort();                                                                            \
    }                                                                                     \
  } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* Small enough that a mutated size line ("rows = 2^30") is refused instead of making every run
   * allocate and clear gigabytes (libFuzzer would report that as an out-of-memory crash). */
  fr_mtx_set_memory_guard(16 << 20);

  GError *error = NULL;
  FrMtxInfo info;
  FrCsr *m = fr_mtx_parse((const char *)data, size, "fuzz", &info, &error);
  CHECK((m == NULL) == (error != NULL));
  if (!m) {
    CHECK(error->domain == FR_SPARSE_ERROR);
    CHECK(error->code == FR_SPARSE_ERROR_FORMAT || error->code == FR_SPARSE_ERROR_TOO_LARGE);
    CHECK(strncmp(error->message, "fuzz: line ", 11) == 0);
    g_error_free(error);
    return 0;
  }

  CHECK(fr_csr_validate(m, NULL));
  CHECK(m->nrows == info.nrows && m->ncols == info.ncols);
  CHECK(m->nrows >= 1 && m->ncols >= 1);
  if (info.symmetry == FR_MTX_GENERAL) {
    CHECK(m->nnz == info.stored_entries);
  } else {
    CHECK(m->nnz >= info.stored_entries && m->nnz <= 2 * info.stored_entries);
    FrCsr *t = fr_csr_transpose(m);
    if (info.symmetry == FR_MTX_SYMMETRIC) {
      CHECK(fr_csr_equal(m, t, 0, 0, NULL));
    } else { /* skew: t == -m, with nothing on the diagonal */
      for (int64_t p = 0; p < t->nnz; p++)
        t->val[p] = -t->val[p];
      CHECK(fr_csr_equal(m, t, 0, 0, NULL));
    }
    fr_csr_free(t);
  }
  if (info.field == FR_MTX_PATTERN)
    for (int64_t p = 0; p < m->nnz; p++)
      CHECK(m->val[p] == 1.0);

  /* round trip through the writer's text: the same matrix, bit for bit (NaN payloads aside) */
  for (int pattern = 0; pattern < 2; pattern++) {
    size_t len = 0;
    char *text = fr_mtx_format(m, pattern, &len, &error);
    CHECK(text && !error);
    FrMtxInfo info2;
    FrCsr *b = fr_mtx_parse(text, len, "roundtrip", &info2, &error);
    if (!b)
      fprintf(stderr, "round trip failed: %s\n", error->message);
    CHECK(b && !error);
    CHECK(info2.symmetry == FR_MTX_GENERAL && info2.stored_entries == m->nnz);
    CHECK(info2.field == (pattern ? FR_MTX_PATTERN : FR_MTX_REAL));
    if (pattern) {
      CHECK(b->nnz == m->nnz);
      CHECK(memcmp(b->col, m->col, (size_t)m->nnz * sizeof(int32_t)) == 0);
    } else {
      CHECK(fr_csr_equal(m, b, 0, 0, NULL));
      for (int64_t p = 0; p < m->nnz; p++) /* distinguishes -0 from 0, which fr_csr_equal does not */
        CHECK(m->val[p] != m->val[p] || memcmp(&m->val[p], &b->val[p], sizeof(double)) == 0);
    }
    fr_csr_free(b);
    g_free(text);
  }
  fr_csr_free(m);
  return 0;
}
