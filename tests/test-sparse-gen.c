/* test-sparse-gen.c: the synthetic matrix generators: shapes, nonzero counts, structure and
 * symmetry, values, reproducibility by seed, spec parsing and its errors, descriptions. */
#include "fr-csr.h"
#include "fr-sparse-gen.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#define RMAT_PINNED_NNZ 6776
#define RMAT_PINNED_FINGERPRINT G_GUINT64_CONSTANT(0xd297f4e209e7beb7)

static FrCsr *
gen(const char *spec, guint64 seed)
{
  GError *error = NULL;
  FrCsr *m = fr_sparse_generate(spec, seed, &error);
  g_assert_no_error(error);
  g_assert_nonnull(m);
  g_assert_true(fr_csr_validate(m, NULL));
  return m;
}

static gboolean
is_symmetric(const FrCsr *m)
{
  FrCsr *t = fr_csr_transpose(m);
  gboolean eq = fr_csr_equal(m, t, 0, 0, NULL);
  fr_csr_free(t);
  return eq;
}

/* FNV-1a over the arrays: a fingerprint for "the same matrix" */
static guint64
fingerprint(const FrCsr *m)
{
  guint64 h = 0xcbf29ce484222325ull;
  const guint8 *parts[] = {(const guint8 *)m->rowptr, (const guint8 *)m->col, (const guint8 *)m->val};
  size_t sizes[] = {(size_t)(m->nrows + 1) * 8, (size_t)m->nnz * 4, (size_t)m->nnz * 8};
  for (int k = 0; k < 3; k++)
    for (size_t i = 0; i < sizes[k]; i++)
      h = (h ^ parts[k][i]) * 0x100000001b3ull;
  return h;
}

static void
test_stencil2d(void)
{
  for (int64_t n = 1; n <= 64; n = n * 2 + 1) {
    char *spec = g_strdup_printf("stencil2d:n=%" G_GINT64_FORMAT, n);
    FrCsr *m = gen(spec, 0);
    g_assert_cmpint(m->nrows, ==, n * n);
    g_assert_cmpint(m->ncols, ==, n * n);
    g_assert_cmpint(m->nnz, ==, 5 * n * n - 4 * n);
    g_assert_true(is_symmetric(m));
    for (int64_t i = 0; i < m->nrows; i++) {
      double sum = 0;
      int64_t x = i % n, y = i / n;
      for (int64_t p = m->rowptr[i]; p < m->rowptr[i + 1]; p++) {
        sum += m->val[p];
        if (m->col[p] == i)
          g_assert_cmpfloat(m->val[p], ==, 4.0);
        else
          g_assert_cmpfloat(m->val[p], ==, -1.0);
      }
      gboolean interior = x > 0 && x < n - 1 && y > 0 && y < n - 1;
      g_assert_cmpint(m->rowptr[i + 1] - m->rowptr[i] == 5, ==, interior);
      if (interior)
        g_assert_cmpfloat(sum, ==, 0.0); /* Laplacian rows sum to zero away from the boundary */
    }
    fr_csr_free(m);
    g_free(spec);
  }
}

static void
test_stencil3d(void)
{
  for (int64_t n = 1; n <= 20; n += 6) {
    GError *error = NULL;
    FrCsr *m = fr_sparse_gen_stencil3d(n, &error);
    g_assert_no_error(error);
    g_assert_true(fr_csr_validate(m, NULL));
    g_assert_cmpint(m->nrows, ==, n * n * n);
    g_assert_cmpint(m->nnz, ==, 7 * n * n * n - 6 * n * n);
    g_assert_true(is_symmetric(m));
    FrCsrStats s;
    fr_csr_stats(m, &s);
    g_assert_cmpint(s.max_row_nnz, ==, n >= 3 ? 7 : n == 1 ? 1 : 4);
    for (int64_t i = 0; i < m->nrows; i++)
      for (int64_t p = m->rowptr[i]; p < m->rowptr[i + 1]; p++)
        g_assert_cmpfloat(m->val[p], ==, m->col[p] == i ? 6.0 : -1.0);
    fr_csr_free(m);
  }
  FrCsr *m = gen("stencil3d:n=40", 0);
  g_assert_cmpint(m->nrows, ==, 64000);
  g_assert_cmpint(m->nnz, ==, 438400);
  fr_csr_free(m);
}

static void
test_banded(void)
{
  /* density 1: the whole band */
  FrCsr *m = gen("banded:n=1000,band=16", 1);
  g_assert_cmpint(m->nnz, ==, 1000 + 2 * (16 * 1000 - 16 * 17 / 2));
  fr_csr_free(m);
  /* band wider than the matrix: dense */
  m = gen("banded:n=10,band=50,density=1", 1);
  g_assert_cmpint(m->nnz, ==, 100);
  fr_csr_free(m);
  /* band 0: diagonal */
  m = gen("banded:n=10,band=0,density=0.3", 1);
  g_assert_cmpint(m->nnz, ==, 10);
  fr_csr_free(m);

  m = gen("banded:n=20000,band=16,density=0.5", 42);
  double expect = 20000 + 0.5 * 2 * (16.0 * 20000 - 16 * 17 / 2);
  double sd = sqrt(2 * (16.0 * 20000) * 0.25);
  g_assert_cmpfloat(fabs((double)m->nnz - expect), <, 6 * sd);
  for (int64_t i = 0; i < m->nrows; i++) {
    gboolean diag = FALSE;
    for (int64_t p = m->rowptr[i]; p < m->rowptr[i + 1]; p++) {
      g_assert_cmpint(llabs(m->col[p] - i), <=, 16);
      g_assert_true(m->val[p] > 0.0 && m->val[p] <= 1.0);
      diag |= m->col[p] == i;
    }
    g_assert_true(diag);
  }
  fr_csr_free(m);
}

static void
test_uniform(void)
{
  FrCsr *m = gen("uniform:n=10000,density=0.001", 7);
  g_assert_cmpint(m->nrows, ==, 10000);
  g_assert_cmpint(m->ncols, ==, 10000);
  g_assert_cmpfloat(fabs((double)m->nnz - 100000), <, 6 * sqrt(100000.0));
  FrCsrStats s;
  fr_csr_stats(m, &s);
  g_assert_cmpint(s.max_row_nnz, <, 40); /* Poisson(10): no heavy rows */
  for (int64_t p = 0; p < m->nnz; p++)
    g_assert_true(m->val[p] > 0.0 && m->val[p] <= 1.0);
  fr_csr_free(m);

  m = gen("uniform:rows=300,cols=5000,density=0.01", 7);
  g_assert_cmpint(m->nrows, ==, 300);
  g_assert_cmpint(m->ncols, ==, 5000);
  g_assert_cmpfloat(fabs((double)m->nnz - 15000), <, 6 * sqrt(15000.0));
  fr_csr_free(m);

  m = gen("uniform:n=30,density=1", 7);
  g_assert_cmpint(m->nnz, ==, 900);
  fr_csr_free(m);
  m = gen("uniform:n=30,density=0", 7);
  g_assert_cmpint(m->nnz, ==, 0);
  fr_csr_free(m);
}

static void
test_rmat(void)
{
  FrCsr *m = gen("rmat:scale=14,edges=8", 1);
  g_assert_cmpint(m->nrows, ==, 16384);
  g_assert_cmpint(m->ncols, ==, 16384);
  g_assert_cmpint(m->nnz, <=, 8 * 16384);
  g_assert_cmpint(m->nnz, >, 4 * 16384); /* merging removes some, not most */
  for (int64_t p = 0; p < m->nnz; p++)
    g_assert_cmpfloat(m->val[p], ==, 1.0);
  FrCsrStats s;
  fr_csr_stats(m, &s);
  /* power law: the heaviest row is far above the mean, and many rows are empty */
  g_assert_cmpfloat((double)s.max_row_nnz, >, 20 * s.mean_row_nnz);
  g_assert_cmpint(s.empty_rows, >, 1000);
  g_assert_false(is_symmetric(m));
  fr_csr_free(m);

  /* a = b = c = d = 1/4 is uniform: no heavy rows */
  GError *error = NULL;
  m = fr_sparse_gen_rmat(12, 4, 0.25, 0.25, 0.25, 3, &error);
  g_assert_no_error(error);
  fr_csr_stats(m, &s);
  g_assert_cmpint(s.max_row_nnz, <, 25);
  fr_csr_free(m);

  /* the spec's defaults are Graph500's */
  FrCsr *a = gen("rmat:scale=10", 9);
  FrCsr *b = fr_sparse_gen_rmat(10, 16, 0.57, 0.19, 0.19, 9, NULL);
  g_assert_true(fr_csr_equal(a, b, 0, 0, NULL));
  fr_csr_free(a);
  fr_csr_free(b);
}

/* Same seed, same matrix (from the spec or the function); other seed, other matrix. */
static void
test_reproducible(void)
{
  static const char *const specs[] = {"rmat:scale=12,edges=8,a=0.45,b=0.15,c=0.15", "banded:n=5000,band=8,density=0.3",
                                      "uniform:n=3000,density=0.002"};
  for (size_t i = 0; i < G_N_ELEMENTS(specs); i++) {
    FrCsr *a = gen(specs[i], 123), *b = gen(specs[i], 123), *c = gen(specs[i], 124);
    g_assert_cmpuint(fingerprint(a), ==, fingerprint(b));
    g_assert_cmpuint(fingerprint(a), !=, fingerprint(c));
    fr_csr_free(a);
    fr_csr_free(b);
    fr_csr_free(c);
  }
  FrCsr *a = gen("banded:n=5000,band=8,density=0.3", 5), *b = fr_sparse_gen_banded(5000, 8, 0.3, 5, NULL);
  g_assert_true(fr_csr_equal(a, b, 0, 0, NULL));
  fr_csr_free(a);
  fr_csr_free(b);
  a = gen("uniform:rows=100,cols=200,density=0.1", 5);
  b = fr_sparse_gen_uniform(100, 200, 0.1, 5, NULL);
  g_assert_true(fr_csr_equal(a, b, 0, 0, NULL));
  fr_csr_free(a);
  fr_csr_free(b);

  /* pinned: R-MAT needs only integer arithmetic and comparisons of FrRng doubles, so its output is
   * the same on every platform; a change here changes every experiment that used a seed */
  a = gen("rmat:scale=10,edges=8", 42);
  g_test_message("rmat:scale=10,edges=8 seed 42: nnz %" G_GINT64_FORMAT ", fingerprint %016" G_GINT64_MODIFIER "x",
                 a->nnz, fingerprint(a));
  g_assert_cmpint(a->nnz, ==, RMAT_PINNED_NNZ);
  g_assert_cmpuint(fingerprint(a), ==, RMAT_PINNED_FINGERPRINT);
  fr_csr_free(a);
}

typedef struct {
  const char *spec;
  int code;
  const char *needle;
} BadSpec;

static const BadSpec bad_specs[] = {
  {"", FR_SPARSE_ERROR_INVALID, "unknown generator"},
  {"foo:n=3", FR_SPARSE_ERROR_INVALID, "unknown generator"},
  {"stencil2d", FR_SPARSE_ERROR_INVALID, "needs 'n='"},
  {"stencil2d:", FR_SPARSE_ERROR_INVALID, "needs 'n='"},
  {"stencil2d:n=", FR_SPARSE_ERROR_INVALID, "integer"},
  {"stencil2d:n=abc", FR_SPARSE_ERROR_INVALID, "integer"},
  {"stencil2d:n=12x", FR_SPARSE_ERROR_INVALID, "integer"},
  {"stencil2d:n=1.5", FR_SPARSE_ERROR_INVALID, "integer"},
  {"stencil2d:n=0", FR_SPARSE_ERROR_INVALID, NULL},
  {"stencil2d:n=-5", FR_SPARSE_ERROR_INVALID, NULL},
  {"stencil2d:n=4,n=5", FR_SPARSE_ERROR_INVALID, "twice"},
  {"stencil2d:m=4", FR_SPARSE_ERROR_INVALID, "unknown parameter 'm'"},
  {"stencil2d:n", FR_SPARSE_ERROR_INVALID, "no value"},
  {"stencil2d:n=4,", FR_SPARSE_ERROR_INVALID, "empty"},
  {"stencil2d:n=4000", FR_SPARSE_ERROR_TOO_LARGE, "limit"},
  {"stencil2d:n=99999999999", FR_SPARSE_ERROR_TOO_LARGE, "limit"},
  {"stencil3d:n=300", FR_SPARSE_ERROR_TOO_LARGE, "limit"},
  {"rmat:edges=8", FR_SPARSE_ERROR_INVALID, "needs 'scale='"},
  {"rmat:scale=0", FR_SPARSE_ERROR_INVALID, NULL},
  {"rmat:scale=40", FR_SPARSE_ERROR_TOO_LARGE, NULL},
  {"rmat:scale=26,edges=16", FR_SPARSE_ERROR_TOO_LARGE, "limit"},
  {"rmat:scale=10,edges=0", FR_SPARSE_ERROR_INVALID, NULL},
  {"rmat:scale=10,edges=nan", FR_SPARSE_ERROR_INVALID, NULL},
  {"rmat:scale=10,a=0.6,b=0.3,c=0.3", FR_SPARSE_ERROR_INVALID, "a + b + c"},
  {"rmat:scale=10,a=-0.1", FR_SPARSE_ERROR_INVALID, NULL},
  {"banded:n=100", FR_SPARSE_ERROR_INVALID, "needs 'band='"},
  {"banded:n=100,band=-1", FR_SPARSE_ERROR_INVALID, "negative"},
  {"banded:n=100,band=3,density=1.5", FR_SPARSE_ERROR_INVALID, "density"},
  {"banded:n=100000000,band=100", FR_SPARSE_ERROR_TOO_LARGE, "limit"},
  {"banded:n=1000000000,band=1", FR_SPARSE_ERROR_TOO_LARGE, "2^28"},
  {"uniform:n=100", FR_SPARSE_ERROR_INVALID, "needs 'density='"},
  {"uniform:density=0.1", FR_SPARSE_ERROR_INVALID, "either n="},
  {"uniform:rows=10,density=0.1", FR_SPARSE_ERROR_INVALID, "either n="},
  {"uniform:n=10,rows=10,cols=10,density=0.1", FR_SPARSE_ERROR_INVALID, "either n="},
  {"uniform:n=100000,density=0.01", FR_SPARSE_ERROR_TOO_LARGE, "limit"},
  {"uniform:n=100,density=-0.1", FR_SPARSE_ERROR_INVALID, "density"},
};

static void
test_bad_spec(gconstpointer data)
{
  const BadSpec *b = data;
  GError *error = NULL;
  g_assert_null(fr_sparse_generate(b->spec, 1, &error));
  g_assert_error(error, FR_SPARSE_ERROR, b->code);
  g_test_message("%s", error->message);
  if (b->needle && !strstr(error->message, b->needle))
    g_error("message \"%s\" does not mention \"%s\"", error->message, b->needle);
  g_error_free(error);
  g_assert_null(fr_sparse_gen_describe(b->spec));
}

static void
test_bad_args(void)
{
  GError *error = NULL;
  g_assert_null(fr_sparse_gen_stencil2d(0, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_clear_error(&error);
  g_assert_null(fr_sparse_gen_uniform(10, 0, 0.5, 1, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_clear_error(&error);
  g_assert_null(fr_sparse_gen_banded(10, 2, NAN, 1, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_clear_error(&error);
  g_assert_null(fr_sparse_gen_rmat(31, 1, 0.25, 0.25, 0.25, 1, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE);
  g_clear_error(&error);
  g_assert_null(fr_sparse_generate(NULL, 1, &error));
  g_assert_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID);
  g_clear_error(&error);
}

static void
test_describe(void)
{
  static const struct { const char *spec, *want; } cases[] = {
    {"stencil2d:n=256", "synthetic 2D 5-point Laplacian, 256 x 256 grid (65,536 rows, 326,656 nonzeros)"},
    {"stencil3d:n=40", "synthetic 3D 7-point Laplacian, 40 x 40 x 40 grid (64,000 rows, 438,400 nonzeros)"},
    {"rmat:scale=14,edges=8", "synthetic R-MAT power-law graph, 2^14 = 16,384 nodes, 131,072 edges drawn "
                              "(duplicates merged), a=0.57 b=0.19 c=0.19 d=0.05"},
    {"banded:n=20000,band=16,density=0.5",
     "synthetic banded matrix, 20,000 x 20,000, half-bandwidth 16, density 0.5 in the band (~339,864 nonzeros)"},
    {"uniform:n=10000,density=0.001",
     "synthetic uniform random matrix, 10,000 x 10,000, density 0.001 (~100,000 nonzeros)"},
    {" Uniform : rows=10 , cols=20, density=0.5 ",
     "synthetic uniform random matrix, 10 x 20, density 0.5 (~100 nonzeros)"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    const char *d = fr_sparse_gen_describe(cases[i].spec);
    g_assert_cmpstr(d, ==, cases[i].want);
    g_assert_true(d == fr_sparse_gen_describe(cases[i].spec)); /* interned */
    g_assert_null(strchr(d, '\n'));
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sparse-gen/stencil2d", test_stencil2d);
  g_test_add_func("/sparse-gen/stencil3d", test_stencil3d);
  g_test_add_func("/sparse-gen/banded", test_banded);
  g_test_add_func("/sparse-gen/uniform", test_uniform);
  g_test_add_func("/sparse-gen/rmat", test_rmat);
  g_test_add_func("/sparse-gen/reproducible", test_reproducible);
  g_test_add_func("/sparse-gen/bad-args", test_bad_args);
  g_test_add_func("/sparse-gen/describe", test_describe);
  for (size_t i = 0; i < G_N_ELEMENTS(bad_specs); i++) {
    char *p = g_strdup_printf("/sparse-gen/bad-spec/%zu", i);
    g_test_add_data_func(p, &bad_specs[i], test_bad_spec);
    g_free(p);
  }
  return g_test_run();
}
