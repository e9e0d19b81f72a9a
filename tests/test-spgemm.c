/* test-spgemm.c: fr_spgemm against fr_spgemm_reference (exactly: both sum in the same order) on random
 * matrices of every awkward shape and density, with 1, 2 and 3 threads; every row kernel (scaled
 * copy, dense scan, list + insertion / rank / bucket sort, hash) and both reservation paths (bound,
 * exact count); explicit zeros; errors; the shipped SNAP matrices (A·A, A·Aᵀ) against the reference
 * and against SciPy's checksums; two small products against SciPy's full C
 * (tests/data/spgemm/, made by make_spgemm_reference.py). */
#include "fr-csr.h"
#include "fr-mtx.h"
#include "fr-pool.h"
#include "fr-spgemm.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------------ */

typedef enum { VALS_UNIFORM, VALS_SMALL_INT, VALS_ONES, VALS_ZEROS } ValKind;

static double
random_value(GRand *r, ValKind kind)
{
  switch (kind) {
  case VALS_UNIFORM:
    return g_rand_double_range(r, -1.0, 1.0);
  case VALS_SMALL_INT: {
    static const double v[] = { -2, -1, 1, 2 };
    return v[g_rand_int_range(r, 0, 4)];
  }
  case VALS_ZEROS: {
    /* signed zeros, products that underflow to zero, infinities (whose sums give the default NaN):
     * the corners of the "touched" marking (see EMPTY_BITS in fr-spgemm.c) */
    static const double v[] = { 0.0, -0.0, 1e-200, -1e-200, 1e200, -1.0, 2.0, 1.0 / 0.0, -1.0 / 0.0 };
    return v[g_rand_int_range(r, 0, G_N_ELEMENTS(v))];
  }
  default:
    return 1.0;
  }
}

/* About density * ncols entries a row (duplicates merged), a fraction of rows left empty. */
static FrCsr *
random_csr(GRand *r, int64_t nrows, int64_t ncols, double density, double empty_rows, ValKind kind)
{
  GArray *ri = g_array_new(FALSE, FALSE, sizeof(int64_t)), *ci = g_array_new(FALSE, FALSE, sizeof(int64_t));
  GArray *vi = g_array_new(FALSE, FALSE, sizeof(double));
  for (int64_t i = 0; i < nrows && ncols > 0; i++) {
    if (g_rand_double(r) < empty_rows)
      continue;
    double want = density * (double)ncols;
    int64_t n = (int64_t)want + (g_rand_double(r) < want - (double)(int64_t)want);
    for (int64_t e = 0; e < n; e++) {
      int64_t j = (int64_t)g_rand_int_range(r, 0, (gint32)ncols);
      double v = random_value(r, kind);
      g_array_append_val(ri, i);
      g_array_append_val(ci, j);
      g_array_append_val(vi, v);
    }
  }
  GError *err = NULL;
  FrCsr *m = fr_csr_from_coo(nrows, ncols, ri->len, (int64_t *)ri->data, (int64_t *)ci->data,
                             (double *)vi->data, TRUE, &err);
  g_assert_no_error(err);
  g_array_free(ri, TRUE);
  g_array_free(ci, TRUE);
  g_array_free(vi, TRUE);
  /* summed duplicates of small ints may be 0: keep values nonzero so that cancellation is only in C */
  if (kind == VALS_SMALL_INT || kind == VALS_ONES)
    for (int64_t p = 0; p < m->nnz; p++)
      if (m->val[p] == 0.0)
        m->val[p] = 1.0;
  return m;
}

static FrCsr *
from_rows(int64_t nrows, int64_t ncols, const char *spec)
{
  /* spec: rows separated by ';', entries "col:value" separated by ',' */
  GArray *ri = g_array_new(FALSE, FALSE, sizeof(int64_t)), *ci = g_array_new(FALSE, FALSE, sizeof(int64_t));
  GArray *vi = g_array_new(FALSE, FALSE, sizeof(double));
  char **rows = g_strsplit(spec, ";", -1);
  for (int64_t i = 0; rows[i]; i++) {
    char **ents = g_strsplit(rows[i], ",", -1);
    for (int e = 0; ents[e]; e++) {
      if (!*g_strstrip(ents[e]))
        continue;
      int64_t j = g_ascii_strtoll(ents[e], NULL, 10);
      double v = g_ascii_strtod(strchr(ents[e], ':') + 1, NULL);
      g_array_append_val(ri, i);
      g_array_append_val(ci, j);
      g_array_append_val(vi, v);
    }
    g_strfreev(ents);
  }
  g_strfreev(rows);
  GError *err = NULL;
  FrCsr *m = fr_csr_from_coo(nrows, ncols, ri->len, (int64_t *)ri->data, (int64_t *)ci->data,
                             (double *)vi->data, FALSE, &err);
  g_assert_no_error(err);
  g_array_free(ri, TRUE);
  g_array_free(ci, TRUE);
  g_array_free(vi, TRUE);
  return m;
}

static int64_t
brute_multiplies(const FrCsr *a, const FrCsr *b)
{
  int64_t t = 0;
  for (int64_t p = 0; p < a->nnz; p++)
    t += b->rowptr[a->col[p] + 1] - b->rowptr[a->col[p]];
  return t;
}

/* Same pattern and bit-identical values (-0.0 and 0.0 count as equal, as in fr_csr_equal). */
static void
assert_same(const FrCsr *c, const FrCsr *ref, const char *what)
{
  GError *err = NULL;
  if (!fr_csr_validate(c, &err))
    g_error("%s: invalid output: %s", what, err->message);
  if (!fr_csr_equal(c, ref, 0.0, 0.0, &err))
    g_error("%s: differs from the reference: %s", what, err->message);
  /* and bit for bit, signs of zero included */
  if (c->nnz > 0 && memcmp(c->val, ref->val, (size_t)c->nnz * sizeof(double)) != 0)
    g_error("%s: values equal but not bit for bit", what);
}

static int tests_products = 0;

/* fr_spgemm with threads 1, 2, 3 and 0 against the reference; outputs identical across counts. */
static void
check_product(const FrCsr *a, const FrCsr *b, const char *what)
{
  FrCsr *ref = fr_spgemm_reference(a, b);
  g_assert_nonnull(ref);
  int64_t mult = fr_spgemm_count_multiplies(a, b);
  g_assert_cmpint(mult, ==, brute_multiplies(a, b));
  FrCsr *first = NULL;
  for (int t = 0; t <= 3; t++) {
    GError *err = NULL;
    FrSpgemmStats st;
    memset(&st, 0xab, sizeof st);
    FrCsr *c = fr_spgemm(a, b, t, &st, &err);
    g_assert_no_error(err);
    g_assert_nonnull(c);
    g_assert_nonnull(c->col);
    g_assert_nonnull(c->val);
    char *label = g_strdup_printf("%s, %d threads", what, t);
    assert_same(c, ref, label);
    g_free(label);
    g_assert_cmpint(st.multiplies, ==, mult);
    g_assert_cmpint(st.nnz, ==, c->nnz);
    g_assert_cmpint(st.threads, >=, 1);
    g_assert_cmpint(st.threads, <=, MAX(t, fr_pool_get_threads()));
    g_assert_cmpfloat(st.seconds, >=, 0.0);
    if (!first) {
      first = c;
    } else {
      g_assert_cmpmem(c->val, c->nnz * sizeof(double), first->val, first->nnz * sizeof(double));
      fr_csr_free(c);
    }
    tests_products++;
  }
  fr_csr_free(first);
  fr_csr_free(ref);
}

/* ---- random matrices ---------------------------------------------------------------------------- */

static void
test_shapes(void)
{
  GRand *r = g_rand_new_with_seed(11);
  const struct {
    int64_t m, k, n;
    double da, db, empty;
  } cases[] = {
    { 0, 0, 0, 0.5, 0.5, 0 },       /* 0 x 0 */
    { 0, 5, 3, 0.5, 0.5, 0 },       /* no rows */
    { 4, 0, 3, 0.5, 0.5, 0 },       /* inner dimension 0: C is 4 x 3, empty */
    { 5, 3, 0, 0.5, 0.5, 0 },       /* no columns */
    { 1, 50, 1, 0.3, 0.3, 0 },      /* 1 x N times N x 1 */
    { 60, 1, 70, 0.9, 0.9, 0 },     /* N x 1 times 1 x N: an outer product, dense */
    { 1, 200, 300, 0.1, 0.05, 0 },  /* one row */
    { 300, 200, 1, 0.05, 0.5, 0 },  /* one column */
    { 37, 53, 29, 0.1, 0.1, 0.3 },  /* rectangular, empty rows */
    { 40, 40, 40, 0.9, 0.9, 0 },    /* dense-ish */
    { 200, 150, 180, 0.5, 0.5, 0.1 },
    { 500, 500, 500, 0.002, 0.002, 0.5 }, /* very sparse */
    { 100, 100, 100, 0.0, 0.3, 0 },       /* A has no entries */
    { 100, 100, 100, 0.3, 0.0, 0 },       /* B has no entries */
    { 2000, 2500, 3000, 0.004, 0.004, 0.2 }, /* big enough for several parts and threads */
    { 3000, 3000, 3000, 0.003, 0.003, 0 },
    { 800, 600, 700, 0.05, 0.05, 0.05 },  /* dense-path rows, many parts */
    { 400, 300, 60000, 0.02, 0.0015, 0 }, /* wide: sparse-path rows with rank and bucket sorts */
  };
  for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
    for (ValKind kind = VALS_UNIFORM; kind <= VALS_ZEROS; kind++) {
      FrCsr *a = random_csr(r, cases[c].m, cases[c].k, cases[c].da, cases[c].empty, kind);
      FrCsr *b = random_csr(r, cases[c].k, cases[c].n, cases[c].db, cases[c].empty, kind);
      char *what = g_strdup_printf("case %u (%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " * %" G_GINT64_FORMAT
                                   "x%" G_GINT64_FORMAT ", values %d)",
                                   c, a->nrows, a->ncols, b->nrows, b->ncols, kind);
      check_product(a, b, what);
      /* A·Aᵀ of the same */
      FrCsr *at = fr_csr_transpose(a);
      check_product(a, at, what);
      g_free(what);
      fr_csr_free(at);
      fr_csr_free(a);
      fr_csr_free(b);
    }
  }
  g_rand_free(r);
}

/* Many small random products, with random shapes. */
static void
test_random_many(void)
{
  GRand *r = g_rand_new_with_seed(7);
  for (int it = 0; it < 150; it++) {
    int64_t m = g_rand_int_range(r, 0, 60), k = g_rand_int_range(r, 0, 60), n = g_rand_int_range(r, 0, 60);
    double da = g_rand_double_range(r, 0, 0.6), db = g_rand_double_range(r, 0, 0.6);
    ValKind kind = (ValKind)g_rand_int_range(r, 0, 4);
    FrCsr *a = random_csr(r, m, k, da, g_rand_double_range(r, 0, 0.5), kind);
    FrCsr *b = random_csr(r, k, n, db, g_rand_double_range(r, 0, 0.5), kind);
    char *what = g_strdup_printf("random %d", it);
    check_product(a, b, what);
    g_free(what);
    fr_csr_free(a);
    fr_csr_free(b);
  }
  g_rand_free(r);
}

/* Rows whose columns are spread over a wide span with clusters: the list path's sorts, including the
 * bucket sort's recursion on a crowded bucket. */
static void
test_sort_paths(void)
{
  GRand *r = g_rand_new_with_seed(3);
  const int64_t k = 400, n = 200000;
  GArray *ri = g_array_new(FALSE, FALSE, sizeof(int64_t)), *ci = g_array_new(FALSE, FALSE, sizeof(int64_t));
  for (int64_t i = 0; i < k; i++) {
    /* each B row: a few far-apart columns and a cluster somewhere */
    int64_t base = g_rand_int_range(r, 0, (gint32)(n - 600));
    int64_t cl = g_rand_int_range(r, 0, 40);
    for (int64_t e = 0; e < cl; e++) {
      int64_t j = base + g_rand_int_range(r, 0, 600);
      g_array_append_val(ri, i);
      g_array_append_val(ci, j);
    }
    for (int e = 0; e < 3; e++) {
      int64_t j = g_rand_int_range(r, 0, (gint32)n);
      g_array_append_val(ri, i);
      g_array_append_val(ci, j);
    }
    int64_t j0 = 0, j1 = n - 1, j2 = 1000 + i % 7;
    g_array_append_val(ri, i);
    g_array_append_val(ci, j0);
    g_array_append_val(ri, i);
    g_array_append_val(ci, j1);
    g_array_append_val(ri, i);
    g_array_append_val(ci, j2);
  }
  GError *err = NULL;
  FrCsr *b = fr_csr_from_coo(k, n, ri->len, (int64_t *)ri->data, (int64_t *)ci->data, NULL, TRUE, &err);
  g_assert_no_error(err);
  for (int64_t p = 0; p < b->nnz; p++)
    b->val[p] = g_rand_double_range(r, -1, 1);
  /* rows of A with 1..12 entries pointing at rows that share a cluster or not */
  FrCsr *a = random_csr(r, 300, k, 0.012, 0.05, VALS_UNIFORM);
  check_product(a, b, "wide clustered");
  /* and rows taking many B rows whose clusters coincide (crowded buckets) */
  FrCsr *a2 = random_csr(r, 50, k, 0.15, 0.0, VALS_UNIFORM);
  check_product(a2, b, "wide clustered, long rows");
  fr_csr_free(a);
  fr_csr_free(a2);
  fr_csr_free(b);
  g_array_free(ri, TRUE);
  g_array_free(ci, TRUE);
  g_rand_free(r);
}

/* More than 2^22 columns: every row uses the hash accumulator (short rows rank-sorted, long ones
 * radix-sorted with their values). */
static void
test_hash_path(void)
{
  GRand *r = g_rand_new_with_seed(5);
  const int64_t k = 300, n = ((int64_t)1 << 22) + 12345;
  FrCsr *b = random_csr(r, k, n, 8.0 / (double)n, 0.1, VALS_UNIFORM);
  FrCsr *a = random_csr(r, 200, k, 0.03, 0.1, VALS_SMALL_INT);
  check_product(a, b, "hash, short rows");
  FrCsr *a2 = random_csr(r, 30, k, 0.4, 0.0, VALS_UNIFORM);
  check_product(a2, b, "hash, long rows");
  fr_csr_free(a);
  fr_csr_free(a2);
  fr_csr_free(b);
  g_rand_free(r);
}

/* The generic and AVX2 variants of the flag scan and rank sort give the same as AVX-512. */
static void
test_isa_variants(void)
{
  GRand *r = g_rand_new_with_seed(17);
  FrCsr *a = random_csr(r, 600, 600, 0.04, 0.05, VALS_UNIFORM);   /* dense-path rows */
  FrCsr *w = random_csr(r, 600, 50000, 0.0006, 0.05, VALS_UNIFORM); /* list-path rows, rank sorts */
  FrCsr *h = random_csr(r, 600, ((int64_t)1 << 22) + 7, 6.0 / (double)(1 << 22), 0.05, VALS_UNIFORM);
  FrCsr *s = random_csr(r, 600, 600, 0.003, 0.0, VALS_UNIFORM);   /* 1-2 entries a row: rank sorts */
  const FrSpgemmIsa isas[] = { FR_SPGEMM_ISA_GENERIC, FR_SPGEMM_ISA_AVX2, FR_SPGEMM_ISA_AVX512 };
  for (guint q = 0; q < G_N_ELEMENTS(isas); q++) {
    FrSpgemmIsa got = fr_spgemm_set_isa(isas[q]);
    g_assert_cmpint(got, <=, isas[q]);
    char *what = g_strdup_printf("ISA level %d (asked %d)", got, isas[q]);
    check_product(a, a, what);
    check_product(a, w, what);
    check_product(a, h, what);
    check_product(s, w, what);
    check_product(s, h, what);
    g_free(what);
  }
  g_assert_cmpint(fr_spgemm_set_isa(FR_SPGEMM_ISA_AUTO), >=, FR_SPGEMM_ISA_GENERIC);
  fr_csr_free(a);
  fr_csr_free(w);
  fr_csr_free(h);
  fr_csr_free(s);
  g_rand_free(r);
}

/* ---- semantics ---------------------------------------------------------------------------------- */

/* Cancellation leaves an explicit zero (structural product, like GraphBLAS; SciPy would drop it). */
static void
test_explicit_zeros(void)
{
  FrCsr *a = from_rows(2, 2, "0:1,1:1;1:2");
  FrCsr *b = from_rows(2, 3, "0:1,2:5;0:-1,1:3");
  GError *err = NULL;
  FrCsr *c = fr_spgemm(a, b, 1, NULL, &err);
  g_assert_no_error(err);
  /* row 0: [1 1] * B = [1-1, 3, 5] = [0, 3, 5]; row 1: [0 2] * B = [-2, 6, 0] (col 2 not reached) */
  g_assert_cmpint(c->nnz, ==, 5);
  const int64_t rp[] = { 0, 3, 5 };
  const int32_t col[] = { 0, 1, 2, 0, 1 };
  const double val[] = { 0, 3, 5, -2, 6 };
  g_assert_cmpmem(c->rowptr, sizeof rp, rp, sizeof rp);
  g_assert_cmpmem(c->col, sizeof col, col, sizeof col);
  for (int q = 0; q < 5; q++)
    g_assert_cmpfloat(c->val[q], ==, val[q]);
  fr_csr_free(c);
  fr_csr_free(a);
  fr_csr_free(b);
}

static void
test_errors(void)
{
  FrCsr *a = from_rows(2, 3, "0:1;2:1");
  FrCsr *b = from_rows(2, 2, "0:1;1:1");
  GError *err = NULL;
  g_assert_null(fr_spgemm(a, b, 1, NULL, &err));
  g_assert_error(err, FR_SPARSE_ERROR, FR_SPARSE_ERROR_SHAPE);
  g_clear_error(&err);
  g_assert_null(fr_spgemm(NULL, b, 1, NULL, &err));
  g_assert_error(err, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_clear_error(&err);
  g_assert_null(fr_spgemm_reference(a, b));
  g_assert_cmpint(fr_spgemm_count_multiplies(a, b), ==, -1);

  /* 1M x 1 times 1 x 1M of ones: 10^12 nonzeros, refused before any big allocation */
  const int64_t big = 1000000;
  FrCsr *col = fr_csr_new(big, 1, big, &err);
  g_assert_no_error(err);
  FrCsr *row = fr_csr_new(1, big, big, &err);
  g_assert_no_error(err);
  for (int64_t i = 0; i < big; i++) {
    col->rowptr[i + 1] = i + 1;
    col->col[i] = 0;
    col->val[i] = 1.0;
    row->col[i] = (int32_t)i;
    row->val[i] = 1.0;
  }
  row->rowptr[1] = big;
  g_assert_cmpint(fr_spgemm_count_multiplies(col, row), ==, big * big);
  g_assert_null(fr_spgemm(col, row, 2, NULL, &err));
  g_assert_error(err, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE);
  g_clear_error(&err);
  /* the other way round is a 1 x 1 matrix */
  FrCsr *one = fr_spgemm(row, col, 2, NULL, &err);
  g_assert_no_error(err);
  g_assert_cmpint(one->nnz, ==, 1);
  g_assert_cmpfloat(one->val[0], ==, (double)big);
  fr_csr_free(one);
  fr_csr_free(col);
  fr_csr_free(row);
  fr_csr_free(a);
  fr_csr_free(b);
}

/* The memory limit: a bound over the limit takes the exact-count path, and succeeds when the exact
 * size fits; an exact size over the limit is TOO_LARGE. */
static void
test_memory_limit(void)
{
  GRand *r = g_rand_new_with_seed(9);
  /* f ~ 900 a row over ~1000 columns: the bound (900 a row) is well above the ~600 distinct */
  FrCsr *a = random_csr(r, 1000, 1000, 0.03, 0.0, VALS_UNIFORM);
  FrCsr *ref = fr_spgemm_reference(a, a);
  int64_t exact = ref->nnz * 12 + (a->nrows + 1) * 8;
  for (int t = 1; t <= 3; t++) {
    GError *err = NULL;
    fr_spgemm_set_memory_limit(exact);
    g_assert_cmpint(fr_spgemm_get_memory_limit(), ==, exact);
    FrCsr *c = fr_spgemm(a, a, t, NULL, &err);
    g_assert_no_error(err);
    assert_same(c, ref, "exact-count path");
    fr_csr_free(c);
    fr_spgemm_set_memory_limit(exact - 1);
    g_assert_null(fr_spgemm(a, a, t, NULL, &err));
    g_assert_error(err, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE);
    g_clear_error(&err);
  }
  fr_spgemm_set_memory_limit(0);
  g_assert_cmpint(fr_spgemm_get_memory_limit(), >, 0);
  fr_csr_free(ref);
  fr_csr_free(a);
  g_rand_free(r);
}

/* Called from inside a pool loop, fr_spgemm runs inline (no deadlock) and gives the same result. */
typedef struct {
  const FrCsr *a;
  const FrCsr *ref;
  gint bad;
} NestCtx;

static void
nested_fn(void *vctx, int64_t begin, int64_t end)
{
  NestCtx *ctx = vctx;
  for (int64_t i = begin; i < end; i++) {
    FrCsr *c = fr_spgemm(ctx->a, ctx->a, 2, NULL, NULL);
    if (!c || !fr_csr_equal(c, ctx->ref, 0.0, 0.0, NULL))
      g_atomic_int_set(&ctx->bad, 1);
    fr_csr_free(c);
  }
}

static void
test_nested(void)
{
  GRand *r = g_rand_new_with_seed(13);
  FrCsr *a = random_csr(r, 2000, 2000, 0.005, 0.0, VALS_UNIFORM);
  FrCsr *ref = fr_spgemm_reference(a, a);
  NestCtx ctx = { a, ref, 0 };
  fr_parallel_for(4, 1, nested_fn, &ctx);
  g_assert_cmpint(ctx.bad, ==, 0);
  fr_csr_free(ref);
  fr_csr_free(a);
  g_rand_free(r);
}

/* ---- real matrices and SciPy references ----------------------------------------------------------- */

static char *
data_path(const char *sub, const char *name)
{
  const char *dir = g_getenv(g_str_equal(sub, "matrices") ? "FR_DATA_DIR" : "FR_TEST_SRCDIR");
  g_assert_nonnull(dir);
  return g_str_equal(sub, "matrices") ? g_build_filename(dir, "matrices", name, NULL)
                                      : g_build_filename(dir, "data", "spgemm", name, NULL);
}

static FrCsr *
load(const char *sub, const char *name)
{
  char *path = data_path(sub, name);
  GError *err = NULL;
  FrCsr *m = fr_mtx_load(path, NULL, &err);
  g_assert_no_error(err);
  g_free(path);
  return m;
}

static void
checksums(const FrCsr *c, guint64 *pattern, double *sum, double *wsum)
{
  guint64 h = 0;
  double s = 0, w = 0;
  for (int64_t i = 0; i < c->nrows; i++)
    for (int64_t p = c->rowptr[i]; p < c->rowptr[i + 1]; p++) {
      guint64 j = (guint64)c->col[p];
      h += (guint64)i * 0x9E3779B97F4A7C15ull + j * 0xC2B2AE3D27D4EB4Full;
      s += c->val[p];
      w += c->val[p] * (double)(1 + ((guint64)i + 2 * j) % 7);
    }
  *pattern = h;
  *sum = s;
  *wsum = w;
}

/* All five A·A and two A·Aᵀ against SciPy's nnz and checksums; the four smaller also against the
 * reference, entry by entry (email-Enron, 51 M multiplies, only by checksum to keep this fast). */
static void
test_snap(void)
{
  char *path = data_path("spgemm", "snap-products.json");
  JsonParser *parser = json_parser_new();
  GError *err = NULL;
  g_assert_true(json_parser_load_from_file(parser, path, &err));
  g_assert_no_error(err);
  JsonArray *products = json_object_get_array_member(json_node_get_object(json_parser_get_root(parser)), "products");
  g_assert_cmpint(json_array_get_length(products), ==, 7);
  for (guint q = 0; q < json_array_get_length(products); q++) {
    JsonObject *o = json_array_get_object_element(products, q);
    const char *name = json_object_get_string_member(o, "matrix");
    gboolean aat = g_str_equal(json_object_get_string_member(o, "op"), "AAt");
    char *file = g_strconcat(name, ".mtx.gz", NULL);
    FrCsr *a = load("matrices", file);
    FrCsr *b = aat ? fr_csr_transpose(a) : fr_csr_copy(a);
    FrSpgemmStats st;
    FrCsr *c = fr_spgemm(a, b, 2, &st, &err);
    g_assert_no_error(err);
    g_assert_true(fr_csr_validate(c, &err));
    g_assert_cmpint(c->nnz, ==, json_object_get_int_member(o, "nnz"));
    guint64 h;
    double s, w;
    checksums(c, &h, &s, &w);
    /* the pattern checksum is a uint64, stored as a decimal string */
    char *got = g_strdup_printf("%" G_GUINT64_FORMAT, h);
    g_assert_cmpstr(got, ==, json_object_get_string_member(o, "pattern"));
    g_assert_cmpfloat(s, ==, json_object_get_double_member(o, "sum"));
    g_assert_cmpfloat(w, ==, json_object_get_double_member(o, "wsum"));
    g_assert_cmpint(st.multiplies, ==, fr_spgemm_count_multiplies(a, b));
    if (!g_str_equal(name, "email-Enron")) {
      FrCsr *ref = fr_spgemm_reference(a, b);
      char *what = g_strdup_printf("%s %s", name, aat ? "A*At" : "A*A");
      assert_same(c, ref, what);
      g_free(what);
      fr_csr_free(ref);
    }
    if (g_test_verbose())
      g_printerr("%s %s: %" G_GINT64_FORMAT " nonzeros, %.1f ms\n", name, aat ? "AAt" : "AA", c->nnz,
                 1e3 * st.seconds);
    g_free(got);
    g_free(file);
    fr_csr_free(a);
    fr_csr_free(b);
    fr_csr_free(c);
  }
  g_object_unref(parser);
  g_free(path);
}

/* The small products in full: SciPy's C (structural for the integer case, explicit zeros included). */
static void
test_scipy_small(void)
{
  const char *cases[] = { "small-int", "small-float" };
  for (guint q = 0; q < G_N_ELEMENTS(cases); q++) {
    char *fa = g_strconcat(cases[q], "-a.mtx", NULL), *fb = g_strconcat(cases[q], "-b.mtx", NULL),
         *fc = g_strconcat(cases[q], "-c.mtx", NULL);
    FrCsr *a = load("spgemm", fa), *b = load("spgemm", fb), *want = load("spgemm", fc);
    int zeros = 0;
    for (int64_t p = 0; p < want->nnz; p++)
      zeros += want->val[p] == 0.0;
    if (q == 0)
      g_assert_cmpint(zeros, >, 0); /* the case is there to have cancellations */
    for (int t = 1; t <= 3; t++) {
      GError *err = NULL;
      FrCsr *c = fr_spgemm(a, b, t, NULL, &err);
      g_assert_no_error(err);
      assert_same(c, want, cases[q]);
      fr_csr_free(c);
    }
    check_product(a, b, cases[q]);
    fr_csr_free(a);
    fr_csr_free(b);
    fr_csr_free(want);
    g_free(fa);
    g_free(fb);
    g_free(fc);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  fr_pool_set_threads(3); /* so that 3 threads really run, even on a 2-core machine */
  g_test_add_func("/spgemm/shapes", test_shapes);
  g_test_add_func("/spgemm/random-many", test_random_many);
  g_test_add_func("/spgemm/sort-paths", test_sort_paths);
  g_test_add_func("/spgemm/hash-path", test_hash_path);
  g_test_add_func("/spgemm/isa-variants", test_isa_variants);
  g_test_add_func("/spgemm/explicit-zeros", test_explicit_zeros);
  g_test_add_func("/spgemm/errors", test_errors);
  g_test_add_func("/spgemm/memory-limit", test_memory_limit);
  g_test_add_func("/spgemm/nested", test_nested);
  g_test_add_func("/spgemm/scipy-small", test_scipy_small);
  g_test_add_func("/spgemm/snap", test_snap);
  int rc = g_test_run();
  if (g_test_verbose())
    g_printerr("%d products checked against the reference\n", tests_products);
  return rc;
}
