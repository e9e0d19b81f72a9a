#include "fr-test-util.h"
#include "fr-mtx.h"

char *fr_test_data_path(const char *subdir, const char *name) {
  const char *srcdir = g_getenv("FR_TEST_SRCDIR");
  if (!srcdir) {
    g_test_skip("FR_TEST_SRCDIR not set");
    return NULL;
  }
  return g_build_filename(srcdir, "data", subdir, name, NULL);
}

FrCsr *fr_test_load_shipped_matrix(const char *name) {
  const char *dir = g_getenv("FR_DATA_DIR");
  char *path = g_build_filename(dir ? dir : "data", "matrices", name, NULL);
  GError *err = NULL;
  FrCsr *m = fr_mtx_load(path, NULL, &err);
  g_assert_no_error(err);
  g_free(path);
  return m;
}

FrCsr *fr_test_skewed_csr(int64_t n, int64_t nnz, guint32 seed) {
  GRand *rng = g_rand_new_with_seed(seed);
  int64_t *ri = g_new(int64_t, nnz), *ci = g_new(int64_t, nnz);
  double *v = g_new(double, nnz);
  for (int64_t t = 0; t < nnz; t++) {
    double u = g_rand_double(rng), w = g_rand_double(rng);
    ri[t] = (int64_t)(n * u * u * u) % n;
    ci[t] = (int64_t)(n * w * w) % n;
    v[t] = g_rand_double_range(rng, 0.1, 2.0);
  }
  GError *err = NULL;
  FrCsr *m = fr_csr_from_coo(n, n, nnz, ri, ci, v, TRUE, &err);
  g_assert_no_error(err);
  g_free(ri);
  g_free(ci);
  g_free(v);
  g_rand_free(rng);
  return m;
}
