/* test-sparch-matrices.c: the five SNAP matrices shipped in data/matrices/ load, and have the
 * dimensions and nonzero counts of data/matrices/PROVENANCE.md's table (after symmetric expansion).
 * Also reports load times and checks that parsing email-Enron, the largest, stays fast. */
#include "fr-csr.h"
#include "fr-mtx.h"

#include <gio/gio.h>
#include <glib.h>
#include <string.h>

typedef struct {
  const char *file;
  int64_t n, nnz, stored;
  FrMtxSymmetry symmetry;
} Shipped;

/* PROVENANCE.md: "n x n", "nnz (full, after symmetric expansion)", "stored entries" */
static const Shipped shipped[] = {
  {"wiki-Vote.mtx.gz", 8297, 103689, 103689, FR_MTX_GENERAL},
  {"ca-CondMat.mtx.gz", 23133, 186936, 93497, FR_MTX_SYMMETRIC},
  {"p2p-Gnutella31.mtx.gz", 62586, 147892, 147892, FR_MTX_GENERAL},
  {"email-Enron.mtx.gz", 36692, 367662, 183831, FR_MTX_SYMMETRIC},
  {"ego-Facebook.mtx.gz", 4039, 176468, 88234, FR_MTX_SYMMETRIC},
};

static char *
matrix_path(const char *file)
{
  const char *dir = g_getenv("FR_DATA_DIR");
  if (!dir) {
    g_test_skip("FR_DATA_DIR not set");
    return NULL;
  }
  return g_build_filename(dir, "matrices", file, NULL);
}

static void
test_shipped(gconstpointer data)
{
  const Shipped *s = data;
  char *path = matrix_path(s->file);
  if (!path)
    return;
  GError *error = NULL;
  FrMtxInfo info;
  gint64 t0 = g_get_monotonic_time();
  FrCsr *m = fr_mtx_load(path, &info, &error);
  double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
  g_assert_no_error(error);
  g_test_message("%s: %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " nonzeros, loaded in %.1f ms",
                 s->file, m->nrows, m->ncols, m->nnz, secs * 1e3);
  g_assert_true(fr_csr_validate(m, NULL));
  g_assert_cmpint(m->nrows, ==, s->n);
  g_assert_cmpint(m->ncols, ==, s->n);
  g_assert_cmpint(m->nnz, ==, s->nnz);
  g_assert_cmpint(info.stored_entries, ==, s->stored);
  g_assert_cmpint(info.symmetry, ==, s->symmetry);
  g_assert_cmpint(info.field, ==, FR_MTX_PATTERN); /* SNAP graphs: A(i,j) = 1 */
  for (int64_t p = 0; p < m->nnz; p++)
    g_assert_cmpfloat(m->val[p], ==, 1.0);
  if (s->symmetry == FR_MTX_SYMMETRIC) {
    FrCsr *t = fr_csr_transpose(m);
    g_assert_true(fr_csr_equal(m, t, 0, 0, NULL));
    fr_csr_free(t);
  }
  fr_csr_free(m);
  g_free(path);
}

/* email-Enron (about 2 MB of text here; 183,831 stored entries expanded to 367,662) parses in well
 * under half a second. Timed on the decompressed text, best of three, so that only the parser is
 * measured. */
static void
test_enron_speed(void)
{
  char *path = matrix_path("email-Enron.mtx.gz");
  if (!path)
    return;
  char *gz = NULL;
  gsize gzlen = 0;
  g_assert_true(g_file_get_contents(path, &gz, &gzlen, NULL));
  GConverter *z = G_CONVERTER(g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP));
  gsize cap = 64 << 20, nread = 0, nwritten = 0;
  char *text = g_malloc(cap);
  g_assert_cmpint(g_converter_convert(z, gz, gzlen, text, cap, G_CONVERTER_INPUT_AT_END, &nread, &nwritten, NULL), ==,
                  G_CONVERTER_FINISHED);
  g_object_unref(z);
  double best = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    gint64 t0 = g_get_monotonic_time();
    FrCsr *m = fr_mtx_parse(text, nwritten, "email-Enron", NULL, NULL);
    best = MIN(best, (double)(g_get_monotonic_time() - t0) / 1e6);
    g_assert_cmpint(m->nnz, ==, 367662);
    fr_csr_free(m);
  }
  g_test_message("email-Enron: parsed %.1f MB of text in %.1f ms (%.0f MB/s)", (double)nwritten / 1e6, best * 1e3,
                 (double)nwritten / 1e6 / best);
  g_assert_cmpfloat(best, <, 0.5);
  g_free(text);
  g_free(gz);
  g_free(path);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(shipped); i++) {
    char *p = g_strdup_printf("/sparch-matrices/%s", shipped[i].file);
    *strstr(p, ".mtx.gz") = '\0';
    g_test_add_data_func(p, &shipped[i], test_shipped);
    g_free(p);
  }
  g_test_add_func("/sparch-matrices/email-Enron-speed", test_enron_speed);
  return g_test_run();
}
