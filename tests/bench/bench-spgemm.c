/* Benchmark (not a test): C = A·A (or A·Aᵀ) with fr_spgemm on Matrix Market files. For each file,
 * loads A (not timed), runs one warm-up product, then --runs timed products and reports the best;
 * the time covers the whole call, output allocation included. Prints one JSON line per file and thread
 * count; run-spgemm-bench.sh runs this and the peers and prints the table.
 *
 *   bench-spgemm [--threads 1,2] [--runs 10] [--transpose] [--check] FILE.mtx[.gz]...
 *
 * checksum fields (the same in graphblas-spgemm.c and scipy_spgemm.py): "pattern" is the wrapping
 * uint64 sum over entries of i * 0x9E3779B97F4A7C15 + j * 0xC2B2AE3D27D4EB4F, "sum" the sum of the
 * values, "wsum" the sum of value * (1 + (i + 2 j) % 7). For pattern inputs the values are integers,
 * so the sums are exact whatever the order. */
#include "fr-csr.h"
#include "fr-mtx.h"
#include "fr-pool.h"
#include "fr-spgemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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

int
main(int argc, char **argv)
{
  char *threads_arg = NULL;
  int runs = 10;
  gboolean transpose = FALSE, check = FALSE;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_STRING, &threads_arg, "Thread counts, comma-separated (default 1,2)", "LIST" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "Timed runs after the warm-up (best is reported)", "N" },
    { "transpose", 0, 0, G_OPTION_ARG_NONE, &transpose, "C = A·Aᵀ instead of A·A", NULL },
    { "check", 0, 0, G_OPTION_ARG_NONE, &check, "Also compare with fr_spgemm_reference", NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("FILE.mtx... - SpGEMM speed");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
    fprintf(stderr, "bench-spgemm: %s\n", error->message);
    return 2;
  }
  g_option_context_free(ctx);
  char **tlist = g_strsplit(threads_arg ? threads_arg : "1,2", ",", -1);
  if (runs < 1)
    runs = 1;
  int max_threads = 1;
  for (char **t = tlist; *t; t++)
    max_threads = MAX(max_threads, atoi(*t));
  fr_pool_set_threads(max_threads);

  int rc = 0;
  for (int f = 1; f < argc; f++) {
    FrCsr *a = fr_mtx_load(argv[f], NULL, &error);
    if (!a) {
      fprintf(stderr, "bench-spgemm: %s\n", error->message);
      g_clear_error(&error);
      rc = 1;
      continue;
    }
    FrCsr *b = transpose ? fr_csr_transpose(a) : fr_csr_copy(a);
    char *base = g_path_get_basename(argv[f]);
    char *dot = strstr(base, ".mtx");
    if (dot)
      *dot = '\0';
    for (char **t = tlist; *t; t++) {
      int threads = atoi(*t);
      fr_pool_set_threads(threads);
      double best = 1e300;
      FrSpgemmStats st = { 0 };
      FrCsr *c = NULL;
      for (int r = 0; r <= runs; r++) {
        fr_csr_free(c);
        double t0 = now();
        c = fr_spgemm(a, b, threads, &st, &error);
        double dt = now() - t0;
        if (!c) {
          fprintf(stderr, "bench-spgemm: %s\n", error->message);
          return 1;
        }
        if (r > 0 && dt < best)
          best = dt;
      }
      guint64 pattern;
      double sum, wsum;
      checksums(c, &pattern, &sum, &wsum);
      printf("{\"peer\": \"frontier\", \"matrix\": \"%s\", \"op\": \"%s\", \"threads\": %d, \"seconds\": %.6f, "
             "\"nnz\": %" G_GINT64_FORMAT ", \"multiplies\": %" G_GINT64_FORMAT
             ", \"pattern\": %" G_GUINT64_FORMAT ", \"sum\": %.17g, \"wsum\": %.17g}\n",
             base, transpose ? "AAt" : "AA", threads, best, c->nnz, st.multiplies, pattern, sum, wsum);
      fflush(stdout);
      if (check && t == tlist) {
        FrCsr *ref = fr_spgemm_reference(a, b);
        if (!fr_csr_validate(c, &error) || !fr_csr_equal(c, ref, 0.0, 0.0, &error)) {
          fprintf(stderr, "bench-spgemm: %s: %s\n", base, error->message);
          g_clear_error(&error);
          rc = 1;
        }
        fr_csr_free(ref);
      }
      fr_csr_free(c);
    }
    g_free(base);
    fr_csr_free(a);
    fr_csr_free(b);
  }
  g_strfreev(tlist);
  g_free(threads_arg);
  return rc;
}
