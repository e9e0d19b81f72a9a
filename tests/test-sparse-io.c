/* test-sparse-io.c: FrCsr construction, transposition, validation and comparison; the Matrix
 * Market reader and writer (round trips, gzip, symmetric expansion, exact number parsing) and its
 * error reports on malformed input (code, file label and line number). */
#include "fr-csr.h"
#include "fr-mtx.h"
#include "fr-rng.h"

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fr-test-util.h"

static char *tmp_dir;

static char *
tmp_path(const char *name)
{
  return g_build_filename(tmp_dir, name, NULL);
}


static gboolean
same_double(double a, double b)
{
  return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)); /* bitwise: -0 differs from 0 */
}

typedef struct {
  int64_t i, j;
  double v;
} Trip;

/* m holds exactly the entries in `want`, which are listed in row-major order. */
static void
assert_entries(const FrCsr *m, int64_t nrows, int64_t ncols, const Trip *want, int64_t n)
{
  g_assert_nonnull(m);
  g_assert_true(fr_csr_validate(m, NULL));
  g_assert_cmpint(m->nrows, ==, nrows);
  g_assert_cmpint(m->ncols, ==, ncols);
  g_assert_cmpint(m->nnz, ==, n);
  int64_t k = 0;
  for (int64_t i = 0; i < m->nrows; i++)
    for (int64_t p = m->rowptr[i]; p < m->rowptr[i + 1]; p++, k++) {
      g_assert_cmpint(i, ==, want[k].i);
      g_assert_cmpint(m->col[p], ==, want[k].j);
      if (!same_double(m->val[p], want[k].v))
        g_error("entry (%" G_GINT64_FORMAT ", %d): got %.17g, want %.17g", i, m->col[p], m->val[p], want[k].v);
    }
}

/* A random m x n matrix with about `nnz` entries (duplicates summed), values from `vals` if given. */
static FrCsr *
random_csr(FrRng *r, int64_t m, int64_t n, int64_t nnz)
{
  int64_t *rows = g_new(int64_t, MAX(nnz, 1)), *cols = g_new(int64_t, MAX(nnz, 1));
  double *vals = g_new(double, MAX(nnz, 1));
  for (int64_t k = 0; k < nnz; k++) {
    rows[k] = (int64_t)fr_rng_below(r, (uint64_t)m);
    cols[k] = (int64_t)fr_rng_below(r, (uint64_t)n);
    vals[k] = fr_rng_uniform(r) * 2 - 1;
  }
  FrCsr *a = fr_csr_from_coo(m, n, nnz, rows, cols, vals, TRUE, NULL);
  g_assert_nonnull(a);
  g_free(rows);
  g_free(cols);
  g_free(vals);
  return a;
}

/* ---- CSR ------------------------------------------------------------------------------------- */

static void
test_csr_new(void)
{
  GError *error = NULL;
  FrCsr *m = fr_csr_new(3, 4, 5, &error);
  g_assert_no_error(error);
  g_assert_cmpint(m->rowptr[0], ==, 0);
  g_assert_cmpint(m->rowptr[3], ==, 0); /* zeroed */
  g_assert_nonnull(m->col);
  fr_csr_free(m);

  m = fr_csr_new(0, 0, 0, &error); /* empty is fine */
  g_assert_no_error(error);
  g_assert_true(fr_csr_validate(m, NULL));
  fr_csr_free(m);

  static const struct { int64_t r, c, nnz; int code; } bad[] = {
    {-1, 3, 0, FR_SPARSE_ERROR_INVALID},
    {3, -1, 0, FR_SPARSE_ERROR_INVALID},
    {3, 3, -1, FR_SPARSE_ERROR_INVALID},
    {3, 3, 10, FR_SPARSE_ERROR_INVALID}, /* more nonzeros than cells */
    {(int64_t)1 << 31, 1, 0, FR_SPARSE_ERROR_TOO_LARGE},
    {1, (int64_t)1 << 31, 0, FR_SPARSE_ERROR_TOO_LARGE},
    {G_MAXINT32, G_MAXINT32, (int64_t)1 << 61, FR_SPARSE_ERROR_TOO_LARGE}, /* refused before malloc */
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_assert_null(fr_csr_new(bad[i].r, bad[i].c, bad[i].nnz, &error));
    g_assert_error(error, FR_SPARSE_ERROR, bad[i].code);
    g_clear_error(&error);
  }
  fr_csr_free(NULL);
}

static void
test_csr_from_coo(void)
{
  GError *error = NULL;
  /* unsorted, no duplicates */
  int64_t r1[] = {2, 0, 1, 0, 2, 1};
  int64_t c1[] = {3, 2, 0, 0, 1, 3};
  double v1[] = {6, 2, 3, 1, 5, 4};
  FrCsr *m = fr_csr_from_coo(3, 4, 6, r1, c1, v1, FALSE, &error);
  g_assert_no_error(error);
  Trip w1[] = {{0, 0, 1}, {0, 2, 2}, {1, 0, 3}, {1, 3, 4}, {2, 1, 5}, {2, 3, 6}};
  assert_entries(m, 3, 4, w1, 6);
  fr_csr_free(m);

  /* vals NULL means 1.0; empty rows and columns */
  m = fr_csr_from_coo(5, 5, 2, (int64_t[]){4, 0}, (int64_t[]){4, 0}, NULL, FALSE, &error);
  g_assert_no_error(error);
  assert_entries(m, 5, 5, (Trip[]){{0, 0, 1}, {4, 4, 1}}, 2);
  fr_csr_free(m);

  /* no entries at all */
  m = fr_csr_from_coo(3, 2, 0, NULL, NULL, NULL, FALSE, &error);
  g_assert_no_error(error);
  assert_entries(m, 3, 2, NULL, 0);
  fr_csr_free(m);

  /* duplicates summed, in any order */
  int64_t r2[] = {1, 0, 1, 1, 0};
  int64_t c2[] = {1, 0, 1, 0, 0};
  double v2[] = {1, 10, 2, 5, 20};
  m = fr_csr_from_coo(2, 2, 5, r2, c2, v2, TRUE, &error);
  g_assert_no_error(error);
  assert_entries(m, 2, 2, (Trip[]){{0, 0, 30}, {1, 0, 5}, {1, 1, 3}}, 3);
  fr_csr_free(m);

  /* duplicates refused: the message names the earliest repeat, triplets 0 and 2 (not 1 and 4) */
  g_assert_null(fr_csr_from_coo(2, 2, 5, r2, c2, v2, FALSE, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_assert_nonnull(strstr(error->message, "(1, 1)"));
  g_assert_nonnull(strstr(error->message, "triplets 0 and 2"));
  g_clear_error(&error);

  /* indices out of range */
  g_assert_null(fr_csr_from_coo(2, 2, 1, (int64_t[]){2}, (int64_t[]){0}, NULL, FALSE, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_clear_error(&error);
  g_assert_null(fr_csr_from_coo(2, 2, 2, (int64_t[]){0, 0}, (int64_t[]){0, -1}, NULL, FALSE, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_assert_nonnull(strstr(error->message, "triplet 1"));
  g_clear_error(&error);
}

static int
cmp_trip(const void *pa, const void *pb)
{
  const Trip *a = pa, *b = pb;
  if (a->i != b->i)
    return a->i < b->i ? -1 : 1;
  return a->j < b->j ? -1 : a->j > b->j;
}

/* Against a qsort-based reference, with many duplicates (small matrix) and few (large). */
static void
test_csr_from_coo_random(void)
{
  FrRng r;
  fr_rng_seed(&r, 11);
  static const int64_t shapes[][3] = {{7, 5, 300},         {1000, 3, 5000},          {3, 1000, 5000},
                                      {20000, 30000, 200000}, {2, 3000000, 300000}, {1, 1 << 30, 1000}};
  for (size_t s = 0; s < G_N_ELEMENTS(shapes); s++) {
    int64_t m = shapes[s][0], n = shapes[s][1], nnz = shapes[s][2];
    int64_t *rows = g_new(int64_t, nnz), *cols = g_new(int64_t, nnz);
    double *vals = g_new(double, nnz);
    Trip *t = g_new(Trip, nnz);
    for (int64_t k = 0; k < nnz; k++) {
      rows[k] = t[k].i = (int64_t)fr_rng_below(&r, (uint64_t)m);
      cols[k] = t[k].j = (int64_t)fr_rng_below(&r, (uint64_t)n);
      vals[k] = t[k].v = (double)fr_rng_below(&r, 1000); /* integers: sums exact in any order */
    }
    qsort(t, (size_t)nnz, sizeof *t, cmp_trip);
    int64_t u = 0;
    for (int64_t k = 0; k < nnz; k++) {
      if (u > 0 && t[u - 1].i == t[k].i && t[u - 1].j == t[k].j)
        t[u - 1].v += t[k].v;
      else
        t[u++] = t[k];
    }
    FrCsr *a = fr_csr_from_coo(m, n, nnz, rows, cols, vals, TRUE, NULL);
    assert_entries(a, m, n, t, u);
    fr_csr_free(a);
    GError *error = NULL;
    a = fr_csr_from_coo(m, n, nnz, rows, cols, vals, FALSE, &error);
    g_assert_true((a == NULL) == (u < nnz));
    if (!a)
      g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
    g_clear_error(&error);
    fr_csr_free(a);
    g_free(rows);
    g_free(cols);
    g_free(vals);
    g_free(t);
  }
}

/* Linear time in practice: 4M random triplets (40M with -m perf) must not take long. */
static void
test_csr_from_coo_speed(void)
{
  int64_t nnz = g_test_perf() ? 40000000 : 4000000, n = 2000000;
  FrRng r;
  fr_rng_seed(&r, 5);
  int64_t *rows = g_new(int64_t, nnz), *cols = g_new(int64_t, nnz);
  double *vals = g_new(double, nnz);
  for (int64_t k = 0; k < nnz; k++) {
    rows[k] = (int64_t)(fr_rng_next(&r) % (uint64_t)n);
    cols[k] = (int64_t)(fr_rng_next(&r) % (uint64_t)n);
    vals[k] = 1.0;
  }
  gint64 t0 = g_get_monotonic_time();
  FrCsr *a = fr_csr_from_coo(n, n, nnz, rows, cols, vals, TRUE, NULL);
  double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
  g_test_message("fr_csr_from_coo: %" G_GINT64_FORMAT " random triplets in %.3f s", nnz, secs);
  g_assert_true(fr_csr_validate(a, NULL));
  t0 = g_get_monotonic_time();
  FrCsr *t = fr_csr_transpose(a);
  g_test_message("fr_csr_transpose: %" G_GINT64_FORMAT " nonzeros in %.3f s", a->nnz,
                 (double)(g_get_monotonic_time() - t0) / 1e6);
  g_assert_true(fr_csr_validate(t, NULL));
  g_assert_cmpint(t->nnz, ==, a->nnz);
  g_assert_cmpfloat(secs, <, 30.0); /* generous: sanitizer builds run this too */
  fr_csr_free(a);
  fr_csr_free(t);
  g_free(rows);
  g_free(cols);
  g_free(vals);
}

static void
test_csr_transpose(void)
{
  FrRng r;
  fr_rng_seed(&r, 3);
  static const int64_t shapes[][3] = {{1, 1, 1}, {5, 9, 20}, {9, 5, 20}, {300, 200, 4000}, {4, 4, 0}, {0, 3, 0}};
  for (size_t s = 0; s < G_N_ELEMENTS(shapes); s++) {
    FrCsr *a = random_csr(&r, shapes[s][0], shapes[s][1], shapes[s][2]);
    FrCsr *t = fr_csr_transpose(a);
    g_assert_true(fr_csr_validate(t, NULL));
    g_assert_cmpint(t->nrows, ==, a->ncols);
    g_assert_cmpint(t->ncols, ==, a->nrows);
    /* every entry of a appears at the mirrored position of t */
    for (int64_t i = 0; i < a->nrows; i++)
      for (int64_t p = a->rowptr[i]; p < a->rowptr[i + 1]; p++) {
        int64_t j = a->col[p], q = t->rowptr[j];
        while (q < t->rowptr[j + 1] && t->col[q] != i)
          q++;
        g_assert_cmpint(q, <, t->rowptr[j + 1]);
        g_assert_true(same_double(t->val[q], a->val[p]));
      }
    FrCsr *tt = fr_csr_transpose(t);
    GError *why = NULL;
    g_assert_true(fr_csr_equal(a, tt, 0, 0, &why)); /* transposing twice is the identity, exactly */
    g_assert_no_error(why);
    g_assert_cmpmem(a->rowptr, (gsize)(a->nrows + 1) * sizeof(int64_t), tt->rowptr,
                    (gsize)(tt->nrows + 1) * sizeof(int64_t));
    fr_csr_free(a);
    fr_csr_free(t);
    fr_csr_free(tt);
  }
}

/* A small valid matrix to break in one way at a time. */
static FrCsr *
sample(void)
{
  int64_t rows[] = {0, 0, 1, 2, 2, 2};
  int64_t cols[] = {0, 3, 1, 0, 2, 3};
  return fr_csr_from_coo(3, 4, 6, rows, cols, NULL, FALSE, NULL);
}

static void
test_csr_validate(void)
{
  GError *error = NULL;
  FrCsr *m = sample();
  g_assert_true(fr_csr_validate(m, &error));
  g_assert_no_error(error);
  fr_csr_free(m);

  static const char *const broken[] = {
    "rowptr0", "rowptr-decreasing", "rowptr-end-short", "rowptr-end-long", "rowptr-past-nnz", "col-negative",
    "col-too-big", "col-unsorted", "col-duplicate", "negative-nnz", "negative-rows", "huge-cols", "no-col",
  };
  for (size_t b = 0; b < G_N_ELEMENTS(broken); b++) {
    m = sample();
    const char *what = broken[b];
    int32_t *saved_col = NULL;
    /* rowptr = {0, 2, 3, 6}, col = {0, 3, 1, 0, 2, 3} */
    if (!strcmp(what, "rowptr0"))
      m->rowptr[0] = 1;
    else if (!strcmp(what, "rowptr-decreasing"))
      m->rowptr[2] = 1; /* 0, 2, 1, 6 */
    else if (!strcmp(what, "rowptr-end-short"))
      m->rowptr[3] = 5;
    else if (!strcmp(what, "rowptr-end-long"))
      m->nnz = 5;
    else if (!strcmp(what, "rowptr-past-nnz"))
      m->rowptr[2] = 7;
    else if (!strcmp(what, "col-negative"))
      m->col[2] = -1;
    else if (!strcmp(what, "col-too-big"))
      m->col[1] = 4;
    else if (!strcmp(what, "col-unsorted"))
      m->col[3] = 2, m->col[4] = 0;
    else if (!strcmp(what, "col-duplicate"))
      m->col[4] = 0;
    else if (!strcmp(what, "negative-nnz"))
      m->nnz = -1;
    else if (!strcmp(what, "negative-rows"))
      m->nrows = -1;
    else if (!strcmp(what, "huge-cols"))
      m->ncols = (int64_t)1 << 31;
    else if (!strcmp(what, "no-col"))
      saved_col = m->col, m->col = NULL;
    g_assert_false(fr_csr_validate(m, &error));
    g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
    g_test_message("%s: %s", what, error->message);
    g_clear_error(&error);
    if (saved_col)
      m->col = saved_col;
    fr_csr_free(m);
  }
  g_assert_false(fr_csr_validate(NULL, &error));
  g_clear_error(&error);
}

static void
test_csr_equal(void)
{
  GError *why = NULL;
  FrCsr *a = sample(), *b = sample();
  g_assert_true(fr_csr_equal(a, b, 0, 0, &why));
  g_assert_no_error(why);

  b->val[2] = 1.0 + 1e-12;
  g_assert_false(fr_csr_equal(a, b, 0, 0, &why));
  g_assert_error(why, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_assert_nonnull(strstr(why->message, "(1, 1)"));
  g_clear_error(&why);
  g_assert_true(fr_csr_equal(a, b, 1e-9, 0, NULL));  /* relative */
  g_assert_true(fr_csr_equal(a, b, 0, 1e-9, NULL));  /* absolute */
  g_assert_false(fr_csr_equal(a, b, 1e-13, 1e-13, NULL));

  b->val[2] = NAN;
  g_assert_false(fr_csr_equal(a, b, 1, 1, NULL));
  a->val[2] = NAN;
  g_assert_true(fr_csr_equal(a, b, 0, 0, NULL)); /* NaN == NaN here */
  fr_csr_free(b);

  b = sample();
  b->col[1] = 2; /* same counts, other pattern */
  g_assert_false(fr_csr_equal(a, b, 1, 1, &why));
  g_assert_error(why, FR_SPARSE_ERROR, FR_SPARSE_ERROR_SHAPE);
  g_clear_error(&why);
  fr_csr_free(b);

  b = fr_csr_from_coo(3, 5, 0, NULL, NULL, NULL, FALSE, NULL);
  g_assert_false(fr_csr_equal(a, b, 1, 1, &why));
  g_assert_error(why, FR_SPARSE_ERROR, FR_SPARSE_ERROR_SHAPE);
  g_clear_error(&why);
  fr_csr_free(b);

  b = fr_csr_from_coo(3, 4, 1, (int64_t[]){0}, (int64_t[]){0}, NULL, FALSE, NULL);
  g_assert_false(fr_csr_equal(a, b, 1, 1, &why));
  g_assert_error(why, FR_SPARSE_ERROR, FR_SPARSE_ERROR_SHAPE);
  g_clear_error(&why);
  fr_csr_free(b);

  b = fr_csr_copy(a);
  g_assert_true(b->col != a->col);
  g_assert_true(fr_csr_equal(a, b, 0, 0, NULL));
  fr_csr_free(b);
  fr_csr_free(a);
}

static void
test_csr_stats(void)
{
  FrCsr *m = fr_csr_from_coo(4, 6, 5, (int64_t[]){0, 0, 0, 2, 3}, (int64_t[]){1, 2, 5, 1, 1}, NULL, FALSE, NULL);
  FrCsrStats s;
  fr_csr_stats(m, &s);
  g_assert_cmpint(s.max_row_nnz, ==, 3);
  g_assert_cmpint(s.empty_rows, ==, 1);
  g_assert_cmpint(s.nonempty_cols, ==, 3);
  g_assert_cmpfloat_with_epsilon(s.mean_row_nnz, 1.25, 1e-12);
  fr_csr_free(m);
}

/* ---- Matrix Market: reading the shipped test files -------------------------------------------- */

static FrCsr *
load_data(const char *name, FrMtxInfo *info)
{
  char *path = fr_test_data_path("mtx", name);
  if (!path)
    return NULL;
  GError *error = NULL;
  FrCsr *m = fr_mtx_load(path, info, &error);
  g_assert_no_error(error);
  g_free(path);
  return m;
}

static const Trip general_want[] = {{0, 0, 1.5}, {0, 3, -0.025}, {1, 1, 0}, {1, 2, 0.5},
                                    {2, 0, 100}, {2, 4, 7},      {3, 4, -2}};

static void
test_mtx_general(void)
{
  FrMtxInfo info;
  FrCsr *m = load_data("general.mtx", &info);
  if (!m)
    return;
  assert_entries(m, 4, 5, general_want, 7);
  g_assert_cmpint(info.field, ==, FR_MTX_REAL);
  g_assert_cmpint(info.symmetry, ==, FR_MTX_GENERAL);
  g_assert_cmpint(info.nrows, ==, 4);
  g_assert_cmpint(info.ncols, ==, 5);
  g_assert_cmpint(info.stored_entries, ==, 7);
  fr_csr_free(m);

  /* the same file gzip-compressed, and split into two gzip members (gzip -c a b) */
  m = load_data("general.mtx.gz", &info);
  assert_entries(m, 4, 5, general_want, 7);
  fr_csr_free(m);
  m = load_data("two-members.mtx.gz", &info);
  g_assert_cmpint(info.symmetry, ==, FR_MTX_SYMMETRIC);
  g_assert_cmpint(m->nnz, ==, 8);
  fr_csr_free(m);
}

static void
test_mtx_symmetric(void)
{
  FrMtxInfo info;
  FrCsr *m = load_data("symmetric.mtx", &info);
  if (!m)
    return;
  const Trip want[] = {{0, 0, 2}, {0, 1, -1}, {1, 0, -1}, {1, 1, 2}, {1, 3, 3.25}, {2, 2, 2}, {3, 1, 3.25}, {3, 3, 1}};
  assert_entries(m, 4, 4, want, 8);
  g_assert_cmpint(info.symmetry, ==, FR_MTX_SYMMETRIC);
  g_assert_cmpint(info.stored_entries, ==, 6);
  FrCsr *t = fr_csr_transpose(m);
  g_assert_true(fr_csr_equal(m, t, 0, 0, NULL));
  fr_csr_free(t);
  fr_csr_free(m);

  m = load_data("skew.mtx", &info);
  const Trip skew[] = {{0, 1, -1.5}, {1, 0, 1.5}, {1, 2, 4}, {2, 1, -4}};
  assert_entries(m, 3, 3, skew, 4);
  g_assert_cmpint(info.symmetry, ==, FR_MTX_SKEW_SYMMETRIC);
  fr_csr_free(m);
}

static void
test_mtx_pattern_integer(void)
{
  FrMtxInfo info;
  FrCsr *m = load_data("pattern.mtx", &info);
  if (!m)
    return;
  assert_entries(m, 3, 4, (Trip[]){{0, 1, 1}, {0, 3, 1}, {1, 0, 1}, {2, 3, 1}}, 4);
  g_assert_cmpint(info.field, ==, FR_MTX_PATTERN);
  fr_csr_free(m);

  m = load_data("integer.mtx", &info);
  /* 9007199254740993 is not a double: it rounds to even, 2^53 */
  const Trip want[] = {{0, 0, 7}, {0, 2, -12}, {1, 1, 3}, {2, 0, -12}, {2, 2, 9007199254740992.0}};
  assert_entries(m, 3, 3, want, 5);
  g_assert_cmpint(info.field, ==, FR_MTX_INTEGER);
  fr_csr_free(m);

  m = load_data("crlf.mtx", &info);
  assert_entries(m, 2, 2, (Trip[]){{0, 0, 1}, {0, 1, 3}, {1, 1, 2}}, 3);
  fr_csr_free(m);
}

/* Every spelling in numbers.mtx parses to the correctly rounded double that Python computed
 * (numbers.hex: C99 hex floats, which g_ascii_strtod reads exactly). */
static void
test_mtx_numbers(void)
{
  FrCsr *m = load_data("numbers.mtx", NULL);
  if (!m)
    return;
  char *path = fr_test_data_path("mtx", "numbers.hex"), *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  char **lines = g_strsplit(g_strstrip(text), "\n", -1);
  g_assert_cmpint(g_strv_length(lines), ==, m->nnz);
  for (int64_t k = 0; k < m->nnz; k++) {
    double want = g_ascii_strtod(lines[k], NULL);
    g_assert_cmpint(m->col[k], ==, k);
    if (!same_double(m->val[k], want))
      g_error("numbers.mtx entry %" G_GINT64_FORMAT ": got %a, want %s", k + 1, m->val[k], lines[k]);
  }
  g_strfreev(lines);
  g_free(text);
  g_free(path);
  fr_csr_free(m);
}

/* ---- Matrix Market: writing ------------------------------------------------------------------ */

static void
check_roundtrip(const FrCsr *a, const char *name, gboolean pattern)
{
  char *path = tmp_path(name);
  GError *error = NULL;
  g_assert_true(fr_mtx_save(a, path, pattern, &error));
  g_assert_no_error(error);
  FrMtxInfo info;
  FrCsr *b = fr_mtx_load(path, &info, &error);
  g_assert_no_error(error);
  g_assert_cmpint(info.field, ==, pattern ? FR_MTX_PATTERN : FR_MTX_REAL);
  g_assert_cmpint(info.symmetry, ==, FR_MTX_GENERAL);
  g_assert_cmpint(info.stored_entries, ==, a->nnz);
  g_assert_cmpint(b->nnz, ==, a->nnz);
  g_assert_cmpmem(a->rowptr, (gsize)(a->nrows + 1) * 8, b->rowptr, (gsize)(b->nrows + 1) * 8);
  g_assert_cmpmem(a->col, (gsize)a->nnz * 4, b->col, (gsize)b->nnz * 4);
  for (int64_t p = 0; p < a->nnz; p++)
    g_assert_true(same_double(b->val[p], pattern ? 1.0 : a->val[p]));
  /* gzip or not: decided by the content, so the compressed file really is compressed */
  char *bytes = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(path, &bytes, &len, NULL));
  g_assert_cmpint(len >= 2 && (guint8)bytes[0] == 0x1f && (guint8)bytes[1] == 0x8b, ==,
                  g_str_has_suffix(name, ".gz"));
  g_free(bytes);
  fr_csr_free(b);
  g_free(path);
}

static void
test_mtx_roundtrip(void)
{
  FrRng r;
  fr_rng_seed(&r, 17);
  FrCsr *a = random_csr(&r, 300, 200, 5000);
  /* values that stress the formatting: every kind of double */
  static const double special[] = {0.0, -0.0, 1.0, -1.0, 0.1, 1e-310, -4.9e-324, 1.7976931348623157e308,
                                   INFINITY, -INFINITY, NAN, 9007199254740993.0, 123456789.0, 1e17, 3.0e16,
                                   2.5, 1.0 / 3.0, -2.0 / 3.0e-200};
  for (size_t i = 0; i < G_N_ELEMENTS(special); i++)
    a->val[i * 7] = special[i];
  for (int64_t p = 200; p < a->nnz; p += 3) /* random bit patterns, finite */
    for (;;) {
      guint64 bits = fr_rng_next(&r);
      double v;
      memcpy(&v, &bits, sizeof v);
      if (isfinite(v)) {
        a->val[p] = v;
        break;
      }
    }
  check_roundtrip(a, "rt.mtx", FALSE);
  check_roundtrip(a, "rt.mtx.gz", FALSE);
  check_roundtrip(a, "rt-pattern.mtx", TRUE);
  check_roundtrip(a, "rt-pattern.mtx.gz", TRUE);

  /* in memory: fr_mtx_format is exactly what save writes */
  size_t len = 0;
  char *text = fr_mtx_format(a, FALSE, &len, NULL);
  g_assert_cmpuint(strlen(text), ==, len);
  g_assert_true(g_str_has_prefix(text, "%%MatrixMarket matrix coordinate real general\n300 200 "));
  char *path = tmp_path("rt.mtx"), *file = NULL;
  gsize flen = 0;
  g_assert_true(g_file_get_contents(path, &file, &flen, NULL));
  g_assert_cmpmem(text, len, file, flen);
  FrCsr *b = fr_mtx_parse(text, len, "mem", NULL, NULL);
  g_assert_true(fr_csr_equal(a, b, 0, 0, NULL));
  fr_csr_free(b);
  g_free(file);
  g_free(path);
  g_free(text);
  fr_csr_free(a);

  /* 1 x 1 with no entries; a matrix with empty rows and columns */
  a = fr_csr_from_coo(1, 1, 0, NULL, NULL, NULL, FALSE, NULL);
  check_roundtrip(a, "empty.mtx", FALSE);
  fr_csr_free(a);
  a = fr_csr_from_coo(50, 70, 2, (int64_t[]){49, 3}, (int64_t[]){0, 69}, (double[]){-5e-5, 2}, FALSE, NULL);
  check_roundtrip(a, "sparse.mtx.gz", FALSE);
  fr_csr_free(a);

  /* larger than one write chunk, so the writer's buffering and compression loop are exercised */
  a = random_csr(&r, 20000, 20000, 200000);
  check_roundtrip(a, "big.mtx.gz", FALSE);
  fr_csr_free(a);
}

static int
count_files(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  int n = 0;
  while (g_dir_read_name(d))
    n++;
  g_dir_close(d);
  return n;
}

static void
test_mtx_save_errors(void)
{
  char *dir = tmp_path("save");
  g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
  char *path = g_build_filename(dir, "m.mtx", NULL);
  GError *error = NULL;
  FrCsr *a = sample();
  g_assert_true(fr_mtx_save(a, path, FALSE, &error));
  char *before = NULL;
  g_assert_true(g_file_get_contents(path, &before, NULL, NULL));

  /* an invalid matrix is refused and the existing file is left alone */
  a->col[1] = 0;
  g_assert_false(fr_mtx_save(a, path, FALSE, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_assert_nonnull(strstr(error->message, "m.mtx"));
  g_clear_error(&error);
  g_assert_null(fr_mtx_format(a, FALSE, NULL, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_clear_error(&error);
  fr_csr_free(a);

  /* zero rows or columns: the reader would refuse the file, so the writer does too */
  a = fr_csr_new(0, 3, 0, NULL);
  g_assert_false(fr_mtx_save(a, path, FALSE, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_clear_error(&error);
  fr_csr_free(a);

  char *after = NULL;
  g_assert_true(g_file_get_contents(path, &after, NULL, NULL));
  g_assert_cmpstr(before, ==, after);
  g_assert_cmpint(count_files(dir), ==, 1); /* no temporary file left behind */

  /* replacing works and also leaves nothing behind */
  a = fr_csr_from_coo(2, 2, 1, (int64_t[]){1}, (int64_t[]){1}, NULL, FALSE, NULL);
  g_assert_true(fr_mtx_save(a, path, TRUE, &error));
  g_assert_no_error(error);
  g_assert_cmpint(count_files(dir), ==, 1);

  /* a directory that does not exist */
  char *nowhere = g_build_filename(dir, "no", "such", "dir.mtx", NULL);
  g_assert_false(fr_mtx_save(a, nowhere, FALSE, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_IO);
  g_clear_error(&error);
  fr_csr_free(a);

  g_free(nowhere);
  g_free(before);
  g_free(after);
  g_free(path);
  g_free(dir);
}

/* ---- Matrix Market: broken files ------------------------------------------------------------- */

static void
test_mtx_load_errors(void)
{
  GError *error = NULL;
  char *missing = tmp_path("does-not-exist.mtx");
  g_assert_null(fr_mtx_load(missing, NULL, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_IO);
  g_clear_error(&error);
  g_free(missing);

  char *src = fr_test_data_path("mtx", "general.mtx.gz"), *gz = NULL;
  if (!src)
    return;
  gsize gzlen = 0;
  g_assert_true(g_file_get_contents(src, &gz, &gzlen, NULL));
  char *path = tmp_path("broken.mtx.gz");

  /* truncated at many points: always a clean FORMAT error, never a partial matrix */
  for (gsize cut = 2; cut < gzlen; cut += 7) {
    g_assert_true(g_file_set_contents(path, gz, (gssize)cut, NULL));
    g_assert_null(fr_mtx_load(path, NULL, &error));
    g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_FORMAT);
    g_assert_nonnull(strstr(error->message, "broken.mtx.gz"));
    g_clear_error(&error);
  }
  /* corrupt deflate data */
  char *bad = g_memdup2(gz, gzlen);
  for (gsize i = 20; i < 40; i++)
    bad[i] ^= 0x55;
  g_assert_true(g_file_set_contents(path, bad, (gssize)gzlen, NULL));
  g_assert_null(fr_mtx_load(path, NULL, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_FORMAT);
  g_clear_error(&error);
  g_free(bad);
  /* garbage after the gzip member */
  GString *s = g_string_new_len(gz, (gssize)gzlen);
  g_string_append(s, "junk");
  g_assert_true(g_file_set_contents(path, s->str, (gssize)s->len, NULL));
  g_assert_null(fr_mtx_load(path, NULL, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, "after the gzip data"));
  g_clear_error(&error);
  g_string_free(s, TRUE);

  /* a decompression bomb stops at the memory guard */
  char *zeros = g_malloc0(4 << 20);
  GConverter *z = G_CONVERTER(g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9));
  char *out = g_malloc(1 << 20);
  gsize nread = 0, nwritten = 0;
  g_assert_cmpint(g_converter_convert(z, zeros, 4 << 20, out, 1 << 20, G_CONVERTER_INPUT_AT_END, &nread, &nwritten,
                                      NULL),
                  ==, G_CONVERTER_FINISHED);
  g_assert_true(g_file_set_contents(path, out, (gssize)nwritten, NULL));
  guint64 guard = fr_mtx_get_memory_guard();
  fr_mtx_set_memory_guard(1 << 20);
  g_assert_null(fr_mtx_load(path, NULL, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE);
  g_clear_error(&error);
  fr_mtx_set_memory_guard(guard);
  g_object_unref(z);
  g_free(out);
  g_free(zeros);

  /* a directory */
  g_assert_null(fr_mtx_load(tmp_dir, NULL, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_IO);
  g_clear_error(&error);

  g_free(path);
  g_free(gz);
  g_free(src);
}

#define BANNER "%%MatrixMarket matrix coordinate real general\n"

typedef struct {
  const char *name;
  const char *text;
  size_t len; /* 0: strlen(text) */
  int code;
  int line;
  const char *needle; /* NULL, or a phrase the message must contain */
} BadCase;

static const BadCase bad_cases[] = {
  /* banner */
  {"empty", "", 0, FR_SPARSE_ERROR_FORMAT, 1, "empty file"},
  {"blank-only", "   \n\n", 0, FR_SPARSE_ERROR_FORMAT, 1, "banner"},
  {"no-banner", "% just a comment\n3 3 0\n", 0, FR_SPARSE_ERROR_FORMAT, 1, "banner"},
  {"banner-late", "\n" BANNER "1 1 0\n", 0, FR_SPARSE_ERROR_FORMAT, 1, "banner"},
  {"banner-typo", "%%MatrixMarkt matrix coordinate real general\n1 1 0\n", 0, FR_SPARSE_ERROR_FORMAT, 1, NULL},
  {"banner-short", "%%MatrixMarket matrix coordinate real\n1 1 0\n", 0, FR_SPARSE_ERROR_FORMAT, 1, "symmetry"},
  {"banner-extra", "%%MatrixMarket matrix coordinate real general yes\n1 1 0\n", 0, FR_SPARSE_ERROR_FORMAT, 1, NULL},
  {"array", "%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n", 0, FR_SPARSE_ERROR_FORMAT, 1,
   "not supported"},
  {"complex", "%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n", 0, FR_SPARSE_ERROR_FORMAT, 1,
   "not supported"},
  {"hermitian", "%%MatrixMarket matrix coordinate real hermitian\n1 1 0\n", 0, FR_SPARSE_ERROR_FORMAT, 1,
   "not supported"},
  {"vector", "%%MatrixMarket vector coordinate real general\n1 1 0\n", 0, FR_SPARSE_ERROR_FORMAT, 1,
   "not supported"},
  {"field-unknown", "%%MatrixMarket matrix coordinate float general\n1 1 0\n", 0, FR_SPARSE_ERROR_FORMAT, 1,
   "unknown field"},
  {"pattern-skew", "%%MatrixMarket matrix coordinate pattern skew-symmetric\n2 2 0\n", 0, FR_SPARSE_ERROR_FORMAT, 1,
   NULL},
  /* size line */
  {"no-size-line", BANNER "% only comments\n\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "size line"},
  {"size-two-numbers", BANNER "% c\n3 3\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "number of entries"},
  {"size-not-numeric", BANNER "3 x 1\n1 1 1\n", 0, FR_SPARSE_ERROR_FORMAT, 2, "not an integer"},
  {"size-float", BANNER "3 3 2.0\n", 0, FR_SPARSE_ERROR_FORMAT, 2, "not an integer"},
  {"size-extra", BANNER "3 3 1 4\n1 1 1\n", 0, FR_SPARSE_ERROR_FORMAT, 2, NULL},
  {"size-negative", BANNER "-3 3 1\n1 1 1\n", 0, FR_SPARSE_ERROR_FORMAT, 2, "at least 1"},
  {"size-zero-cols", BANNER "3 0 0\n", 0, FR_SPARSE_ERROR_FORMAT, 2, "at least 1"},
  {"size-negative-entries", BANNER "3 3 -1\n", 0, FR_SPARSE_ERROR_FORMAT, 2, "non-negative"},
  {"size-huge-rows", BANNER "2147483648 1 0\n", 0, FR_SPARSE_ERROR_TOO_LARGE, 2, "2^31 - 1"},
  {"size-huge-digits", BANNER "1 99999999999999999999999 0\n", 0, FR_SPARSE_ERROR_TOO_LARGE, 2, NULL},
  {"size-huge-entries", BANNER "3 3 2147483649\n", 0, FR_SPARSE_ERROR_TOO_LARGE, 2, "2^31"},
  {"size-memory-guard", BANNER "2147483647 2147483647 1\n1 1 1\n", 0, FR_SPARSE_ERROR_TOO_LARGE, 2,
   "memory guard"},
  {"size-more-than-cells", BANNER "2 2 5\n", 0, FR_SPARSE_ERROR_FORMAT, 2, "cannot fit"},
  {"symmetric-not-square", "%%MatrixMarket matrix coordinate real symmetric\n2 3 1\n1 1 1\n", 0,
   FR_SPARSE_ERROR_FORMAT, 2, "square"},
  /* entry counts */
  {"too-few", BANNER "3 3 3\n1 1 1\n2 2 2\n", 0, FR_SPARSE_ERROR_FORMAT, 4, "2 of the 3"},
  {"too-few-trailing-comments", BANNER "3 3 3\n1 1 1\n% c\n\n", 0, FR_SPARSE_ERROR_FORMAT, 5, "1 of the 3"},
  {"too-few-none", BANNER "% c\n3 3 1", 0, FR_SPARSE_ERROR_FORMAT, 3, "0 of the 1"},
  {"too-many", BANNER "2 2 1\n1 1 1\n2 2 2\n", 0, FR_SPARSE_ERROR_FORMAT, 4, "more entries"},
  {"too-many-after-comments", BANNER "2 2 1\n1 1 1\n%c\n\n2 2 2\n", 0, FR_SPARSE_ERROR_FORMAT, 6, "more entries"},
  /* indices */
  {"row-zero", BANNER "3 3 1\n0 1 1\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "outside 1..3"},
  {"col-too-big", BANNER "3 4 2\n1 1 1\n3 5 1\n", 0, FR_SPARSE_ERROR_FORMAT, 4, "outside 1..4"},
  {"row-negative", BANNER "3 3 1\n-1 1 1\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "outside"},
  {"row-huge", BANNER "3 3 1\n99999999999999999999 1 1\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "outside"},
  {"row-not-numeric", BANNER "3 3 1\na 1 1\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "not an integer"},
  {"row-float", BANNER "3 3 1\n1.0 1 1\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "not an integer"},
  {"col-missing", BANNER "3 3 1\n1\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "column index"},
  {"col-inf", BANNER "3 3 1\n1 inf 1\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "not an integer"},
  /* values */
  {"value-missing", BANNER "3 3 1\n1 1\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "expected a value"},
  {"value-word", BANNER "3 3 2\n1 1 1\n2 2 abc\n", 0, FR_SPARSE_ERROR_FORMAT, 4, "not a number"},
  {"value-two-dots", BANNER "3 3 1\n1 1 1.2.3\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "not a number"},
  {"value-bare-exponent", BANNER "3 3 1\n1 1 1e\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "not a number"},
  {"value-hex", BANNER "3 3 1\n1 1 0x10\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "not a number"},
  {"value-double-sign", BANNER "3 3 1\n1 1 --1\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "not a number"},
  {"value-nan-payload", BANNER "3 3 1\n1 1 nan(1)\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "not a number"},
  {"value-dot", BANNER "3 3 1\n1 1 .\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "not a number"},
  {"integer-fraction", "%%MatrixMarket matrix coordinate integer general\n3 3 1\n1 1 1.5\n", 0,
   FR_SPARSE_ERROR_FORMAT, 3, "not an integer"},
  {"integer-exponent", "%%MatrixMarket matrix coordinate integer general\n3 3 1\n1 1 1e3\n", 0,
   FR_SPARSE_ERROR_FORMAT, 3, "not an integer"},
  /* trailing garbage */
  {"trailing-token", BANNER "3 3 1\n1 1 1 x\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "after the entry"},
  {"trailing-comment", BANNER "3 3 1\n1 1 1 % c\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "after the entry"},
  {"pattern-with-value", "%%MatrixMarket matrix coordinate pattern general\n3 3 2\n1 1\n2 2 1\n", 0,
   FR_SPARSE_ERROR_FORMAT, 4, "after the entry"},
  {"value-glued", BANNER "3 3 1\n1 1 1.5x\n", 0, FR_SPARSE_ERROR_FORMAT, 3, "not a number"},
  {"lone-cr", BANNER "3 3 1\n1 1\r1\n", 0, FR_SPARSE_ERROR_FORMAT, 3, NULL},
  {"nul-byte", BANNER "3 3 1\n1 1 1\0\n", sizeof(BANNER "3 3 1\n1 1 1\0\n") - 1, FR_SPARSE_ERROR_FORMAT, 3, NULL},
  {"nul-in-size", BANNER "3 3\0 1\n", sizeof(BANNER "3 3\0 1\n") - 1, FR_SPARSE_ERROR_FORMAT, 2, NULL},
  /* duplicates and symmetry */
  {"duplicate", BANNER "3 3 3\n1 2 1\n3 3 1\n1 2 5\n", 0, FR_SPARSE_ERROR_FORMAT, 5, "already given on line 3"},
  {"duplicate-after-comments", BANNER "% c\n3 3 3\n2 2 1\n%\n\n2 2 1\n1 1 1\n", 0, FR_SPARSE_ERROR_FORMAT, 7,
   "line 4"},
  {"symmetric-both-triangles", "%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n2 1 1\n3 3 1\n1 2 1\n", 0,
   FR_SPARSE_ERROR_FORMAT, 5, "line 3"},
  {"skew-diagonal", "%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n2 1 1\n2 2 1\n", 0,
   FR_SPARSE_ERROR_FORMAT, 4, "diagonal"},
  {"skew-both-triangles", "%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n1 3 1\n3 1 -1\n", 0,
   FR_SPARSE_ERROR_FORMAT, 4, "line 3"},
  {"crlf-line-numbers", "%%MatrixMarket matrix coordinate real general\r\n2 2 1\r\n\r\n1 1 x\r\n", 0,
   FR_SPARSE_ERROR_FORMAT, 4, NULL},
};

static void
test_malformed(gconstpointer data)
{
  const BadCase *c = data;
  size_t len = c->len ? c->len : strlen(c->text);
  /* an exact-size heap copy, so that ASan sees any read past the end */
  char *buf = g_memdup2(c->text, len);
  GError *error = NULL;
  FrMtxInfo info = {0};
  FrCsr *m = fr_mtx_parse(buf, len, "bad.mtx", &info, &error);
  g_assert_null(m);
  g_assert_error(error, FR_SPARSE_ERROR, c->code);
  g_test_message("%s", error->message);
  char *prefix = g_strdup_printf("bad.mtx: line %d: ", c->line);
  if (!g_str_has_prefix(error->message, prefix))
    g_error("message \"%s\" does not start with \"%s\"", error->message, prefix);
  if (c->needle && !strstr(error->message, c->needle))
    g_error("message \"%s\" does not mention \"%s\"", error->message, c->needle);
  g_free(prefix);
  g_error_free(error);
  g_free(buf);
}

/* The size line refuses sizes beyond the memory guard, before allocating. */
static void
test_memory_guard(void)
{
  const char *text = BANNER "1000 1000 20000\n1 1 1\n";
  GError *error = NULL;
  guint64 guard = fr_mtx_get_memory_guard();
  g_assert_cmpuint(guard, ==, FR_MTX_DEFAULT_MEMORY_GUARD);
  fr_mtx_set_memory_guard(100000);
  g_assert_null(fr_mtx_parse(text, strlen(text), "g", NULL, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE);
  g_assert_true(g_str_has_prefix(error->message, "g: line 2: "));
  g_clear_error(&error);
  fr_mtx_set_memory_guard(0); /* back to the default */
  g_assert_cmpuint(fr_mtx_get_memory_guard(), ==, guard);
  /* within the guard it is just short of entries */
  g_assert_null(fr_mtx_parse(text, strlen(text), "g", NULL, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_FORMAT);
  g_clear_error(&error);
}

/* Every prefix of valid files either parses or fails cleanly (never reads past the end: run under ASan). */
static void
test_prefixes(void)
{
  static const char *const names[] = {"general.mtx", "symmetric.mtx", "crlf.mtx", "integer.mtx"};
  for (size_t f = 0; f < G_N_ELEMENTS(names); f++) {
    char *path = fr_test_data_path("mtx", names[f]), *text = NULL;
    if (!path)
      return;
    gsize len = 0;
    g_assert_true(g_file_get_contents(path, &text, &len, NULL));
    for (gsize n = 0; n <= len; n++) {
      char *buf = g_memdup2(text, n);
      GError *error = NULL;
      FrCsr *m = fr_mtx_parse(buf, n, names[f], NULL, &error);
      g_assert_true((m == NULL) != (error == NULL));
      if (m)
        g_assert_true(fr_csr_validate(m, NULL));
      else
        g_assert_nonnull(strstr(error->message, ": line "));
      fr_csr_free(m);
      g_clear_error(&error);
      g_free(buf);
    }
    g_free(text);
    g_free(path);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp("fr-sparse-io-XXXXXX", NULL);
  g_assert_nonnull(tmp_dir);

  g_test_add_func("/sparse-io/csr/new", test_csr_new);
  g_test_add_func("/sparse-io/csr/from-coo", test_csr_from_coo);
  g_test_add_func("/sparse-io/csr/from-coo-random", test_csr_from_coo_random);
  g_test_add_func("/sparse-io/csr/from-coo-speed", test_csr_from_coo_speed);
  g_test_add_func("/sparse-io/csr/transpose", test_csr_transpose);
  g_test_add_func("/sparse-io/csr/validate", test_csr_validate);
  g_test_add_func("/sparse-io/csr/equal", test_csr_equal);
  g_test_add_func("/sparse-io/csr/stats", test_csr_stats);
  g_test_add_func("/sparse-io/mtx/general", test_mtx_general);
  g_test_add_func("/sparse-io/mtx/symmetric", test_mtx_symmetric);
  g_test_add_func("/sparse-io/mtx/pattern-integer", test_mtx_pattern_integer);
  g_test_add_func("/sparse-io/mtx/numbers", test_mtx_numbers);
  g_test_add_func("/sparse-io/mtx/roundtrip", test_mtx_roundtrip);
  g_test_add_func("/sparse-io/mtx/save-errors", test_mtx_save_errors);
  g_test_add_func("/sparse-io/mtx/load-errors", test_mtx_load_errors);
  g_test_add_func("/sparse-io/mtx/memory-guard", test_memory_guard);
  g_test_add_func("/sparse-io/mtx/prefixes", test_prefixes);
  for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
    char *p = g_strdup_printf("/sparse-io/mtx/malformed/%s", bad_cases[i].name);
    g_test_add_data_func(p, &bad_cases[i], test_malformed);
    g_free(p);
  }

  int rc = g_test_run();
  char *argv_rm[] = {"rm", "-rf", tmp_dir, NULL};
  g_spawn_sync(NULL, argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free(tmp_dir);
  return rc;
}
