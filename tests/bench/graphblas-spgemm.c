/* Peer benchmark (not a test): C = A·A (or A·Aᵀ) with SuiteSparse:GraphBLAS, timed like bench-spgemm:
 * the matrix is read with fr_mtx_load and handed to GraphBLAS untimed (imported as CSR); one warm-up,
 * then --runs timed products, best reported. The timed part is what gives the same thing as
 * fr_spgemm, a finished CSR matrix with sorted rows:
 *   GrB_Matrix_new (by row) + GrB_mxm(PLUS_TIMES_FP64) + GrB_Matrix_wait(MATERIALIZE)
 *   + GxB_Matrix_unpack_CSR with jumbled = NULL (which makes GraphBLAS sort any jumbled rows).
 * Freeing the result is not timed (nor is it for Frontier). Prints one JSON line per file and thread
 * count, with the checksums described in bench-spgemm.c.
 *
 *   graphblas-spgemm [--threads 1,2] [--runs 10] [--transpose] FILE.mtx[.gz]... */
#include "fr-csr.h"
#include "fr-mtx.h"

#include <GraphBLAS.h>
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

#define OK(call)                                                                                   \
  do {                                                                                             \
    GrB_Info info_ = (call);                                                                       \
    if (info_ != GrB_SUCCESS) {                                                                    \
      fprintf(stderr, "graphblas-spgemm: %s failed: %d\n", #call, (int)info_);                    \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static GrB_Matrix
to_graphblas(const FrCsr *m)
{
  GrB_Index *p = malloc((size_t)(m->nrows + 1) * sizeof(GrB_Index));
  GrB_Index *j = malloc((size_t)MAX(m->nnz, 1) * sizeof(GrB_Index));
  double *x = malloc((size_t)MAX(m->nnz, 1) * sizeof(double));
  for (int64_t i = 0; i <= m->nrows; i++)
    p[i] = (GrB_Index)m->rowptr[i];
  for (int64_t q = 0; q < m->nnz; q++) {
    j[q] = (GrB_Index)m->col[q];
    x[q] = m->val[q];
  }
  GrB_Matrix a;
  OK(GrB_Matrix_new(&a, GrB_FP64, (GrB_Index)m->nrows, (GrB_Index)m->ncols));
  OK(GxB_set(a, GxB_FORMAT, GxB_BY_ROW));
  OK(GxB_Matrix_pack_CSR(a, &p, &j, (void **)&x, (GrB_Index)(m->nrows + 1) * sizeof(GrB_Index),
                         (GrB_Index)MAX(m->nnz, 1) * sizeof(GrB_Index), (GrB_Index)MAX(m->nnz, 1) * sizeof(double),
                         false, false, NULL));
  OK(GrB_Matrix_wait(a, GrB_MATERIALIZE));
  return a;
}

int
main(int argc, char **argv)
{
  char *threads_arg = NULL;
  int runs = 10;
  gboolean transpose = FALSE;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_STRING, &threads_arg, "Thread counts, comma-separated (default 1,2)", "LIST" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "Timed runs after the warm-up (best is reported)", "N" },
    { "transpose", 0, 0, G_OPTION_ARG_NONE, &transpose, "C = A·Aᵀ instead of A·A", NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("FILE.mtx... - GraphBLAS SpGEMM speed");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
    fprintf(stderr, "graphblas-spgemm: %s\n", error->message);
    return 2;
  }
  g_option_context_free(ctx);
  char **tlist = g_strsplit(threads_arg ? threads_arg : "1,2", ",", -1);
  if (runs < 1)
    runs = 1;
  OK(GrB_init(GrB_NONBLOCKING));
  int vmaj = 0, vmin = 0, vsub = 0;
  {
    int v[3];
    GxB_get(GxB_LIBRARY_VERSION, v);
    vmaj = v[0];
    vmin = v[1];
    vsub = v[2];
  }

  for (int f = 1; f < argc; f++) {
    FrCsr *m = fr_mtx_load(argv[f], NULL, &error);
    if (!m) {
      fprintf(stderr, "graphblas-spgemm: %s\n", error->message);
      return 1;
    }
    FrCsr *mb = transpose ? fr_csr_transpose(m) : NULL;
    GrB_Matrix a = to_graphblas(m), b = mb ? to_graphblas(mb) : a;
    char *base = g_path_get_basename(argv[f]);
    char *dot = strstr(base, ".mtx");
    if (dot)
      *dot = '\0';
    for (char **t = tlist; *t; t++) {
      int threads = atoi(*t);
      OK(GxB_set(GxB_NTHREADS, threads));
      double best = 1e300;
      GrB_Index *cp = NULL, *cj = NULL;
      double *cx = NULL;
      GrB_Index cps, cjs, cxs;
      bool iso = false;
      for (int r = 0; r <= runs; r++) {
        free(cp);
        free(cj);
        free(cx);
        double t0 = now();
        GrB_Matrix c;
        OK(GrB_Matrix_new(&c, GrB_FP64, (GrB_Index)m->nrows, (GrB_Index)(mb ? mb->ncols : m->ncols)));
        OK(GxB_set(c, GxB_FORMAT, GxB_BY_ROW));
        OK(GrB_mxm(c, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP64, a, b, NULL));
        OK(GrB_Matrix_wait(c, GrB_MATERIALIZE));
        OK(GxB_Matrix_unpack_CSR(c, &cp, &cj, (void **)&cx, &cps, &cjs, &cxs, &iso, NULL, NULL));
        double dt = now() - t0;
        OK(GrB_Matrix_free(&c));
        if (r > 0 && dt < best)
          best = dt;
      }
      /* checksums, as in bench-spgemm.c; also that the rows really are sorted */
      guint64 h = 0;
      double sum = 0, wsum = 0;
      gboolean sorted = TRUE;
      for (int64_t i = 0; i < m->nrows; i++)
        for (GrB_Index q = cp[i]; q < cp[i + 1]; q++) {
          guint64 j = cj[q];
          double v = iso ? cx[0] : cx[q];
          if (q > cp[i] && cj[q - 1] >= j)
            sorted = FALSE;
          h += (guint64)i * 0x9E3779B97F4A7C15ull + j * 0xC2B2AE3D27D4EB4Full;
          sum += v;
          wsum += v * (double)(1 + ((guint64)i + 2 * j) % 7);
        }
      printf("{\"peer\": \"graphblas\", \"version\": \"%d.%d.%d\", \"matrix\": \"%s\", \"op\": \"%s\", "
             "\"threads\": %d, \"seconds\": %.6f, \"nnz\": %" G_GUINT64_FORMAT ", \"sorted\": %s, "
             "\"pattern\": %" G_GUINT64_FORMAT ", \"sum\": %.17g, \"wsum\": %.17g}\n",
             vmaj, vmin, vsub, base, transpose ? "AAt" : "AA", threads, best, (guint64)cp[m->nrows],
             sorted ? "true" : "false", h, sum, wsum);
      fflush(stdout);
      free(cp);
      free(cj);
      free(cx);
    }
    if (b != a)
      GrB_Matrix_free(&b);
    GrB_Matrix_free(&a);
    g_free(base);
    fr_csr_free(m);
    fr_csr_free(mb);
  }
  GrB_finalize();
  g_strfreev(tlist);
  g_free(threads_arg);
  return 0;
}
