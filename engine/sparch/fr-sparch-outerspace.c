/* fr-sparch-outerspace.c: the OuterSPACE baseline (Pal et al., HPCA 2018), as SpArch compares to it.
 *
 * Multiply phase: A (by columns) and B (by rows) are read once; every partial product
 * A(i,k)·B(k,j) is written to DRAM (multiplies x element_bytes). Merge phase: all partial products are
 * read back, merged per row of C, and C is written. Each phase takes max(compute, DRAM) cycles at the
 * OuterSPACE clock: compute = work / PEs (one multiply, or one merged element, per PE per cycle),
 * DRAM = bytes / (channels x channel bandwidth / clock). The product itself is computed row by row
 * with a dense accumulator (the merge order does not change C beyond rounding). */
#include "fr-sparch-private.h"

#include "fr-pool.h"

#include <math.h>
#include <string.h>

static void sort_i32(int32_t *x, int64_t n) {
  while (n > 24) {
    /* median of three, Hoare partition; recurse on the smaller side */
    int32_t a = x[0], b = x[n / 2], c = x[n - 1];
    int32_t p = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
    int64_t i = -1, j = n;
    for (;;) {
      do i++; while (x[i] < p);
      do j--; while (x[j] > p);
      if (i >= j) break;
      int32_t t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
    int64_t left = j + 1;
    if (left < n - left) {
      sort_i32(x, left);
      x += left;
      n -= left;
    } else {
      sort_i32(x + left, n - left);
      n = left;
    }
  }
  for (int64_t i = 1; i < n; i++) {
    int32_t v = x[i];
    int64_t j = i - 1;
    while (j >= 0 && x[j] > v) {
      x[j + 1] = x[j];
      j--;
    }
    x[j + 1] = v;
  }
}

typedef struct {
  const FrCsr *a, *b;
  const FrSpRows *rows;
  FrSpMat *out;
  FrSpCancel *cancel;
  gint oom;
} OsCtx;

static void os_block(void *vctx, int64_t b0, int64_t b1) {
  OsCtx *c = vctx;
  const FrCsr *a = c->a, *b = c->b;
  int64_t ncols = b->ncols;
  int32_t *mark = NULL;
  double *acc = NULL;
  for (int64_t bi = b0; bi < b1; bi++) {
    int64_t r0 = c->rows->start[bi], r1 = c->rows->start[bi + 1];
    FrSpBlock *ob = &c->out->blk[bi];
    int64_t cap = 0, rows_cap = 0;
    for (int64_t i = r0; i < r1; i++) {
      int64_t w = 0;
      for (int64_t p = a->rowptr[i]; p < a->rowptr[i + 1]; p++) w += b->rowptr[a->col[p] + 1] - b->rowptr[a->col[p]];
      cap += MIN(w, ncols);
      rows_cap += w > 0;
    }
    if (cap == 0) continue;
    if (!mark) {
      mark = g_new(int32_t, ncols > 0 ? ncols : 1);
      memset(mark, 0xff, (size_t)ncols * sizeof(int32_t));
      acc = g_new(double, ncols > 0 ? ncols : 1);
    }
    ob->col = g_try_new(int32_t, cap);
    ob->val = g_try_new(double, cap);
    ob->row = g_new(int64_t, rows_cap);
    ob->rowptr = g_new(int64_t, rows_cap + 1);
    ob->rowptr[0] = 0;
    if (!ob->col || !ob->val) {
      g_atomic_int_set(&c->oom, 1);
      continue;
    }
    int64_t o = 0, nr = 0;
    for (int64_t i = r0; i < r1; i++) {
      if (((i - r0) & 1023) == 1023 && fr_sp_cancelled(c->cancel)) break;
      int64_t start = o;
      int32_t tag = (int32_t)(i - r0);
      for (int64_t p = a->rowptr[i]; p < a->rowptr[i + 1]; p++) {
        int32_t k = a->col[p];
        double av = a->val[p];
        for (int64_t q = b->rowptr[k]; q < b->rowptr[k + 1]; q++) {
          int32_t j = b->col[q];
          if (mark[j] != tag) {
            mark[j] = tag;
            acc[j] = av * b->val[q];
            ob->col[o++] = j;
          } else {
            acc[j] += av * b->val[q];
          }
        }
      }
      if (o == start) continue;
      sort_i32(ob->col + start, o - start);
      for (int64_t t = start; t < o; t++) {
        ob->val[t] = acc[ob->col[t]];
        mark[ob->col[t]] = -1;
      }
      ob->row[nr] = i;
      ob->rowptr[++nr] = o;
    }
    ob->nr = nr;
    ob->nnz = o;
    if (o == 0) {
      g_free(ob->col);
      g_free(ob->val);
      ob->col = NULL;
      ob->val = NULL;
    } else if (o < cap) {
      ob->col = g_renew(int32_t, ob->col, o);
      ob->val = g_renew(double, ob->val, o);
    }
  }
  g_free(mark);
  g_free(acc);
}

FrSparchResult *fr_sp_outerspace_simulate(const FrCsr *a, const FrCsr *b, const FrSparchConfig *cfg, FrJob *job,
                                          double p0, double p1, GError **error) {
  gint64 t0 = g_get_monotonic_time();
  const int64_t e = cfg->element_bytes;
  FrSparchResult *res = g_new0(FrSparchResult, 1);
  res->config = *cfg;
  /* columns of A that meet a non-empty row of B */
  int64_t *colcnt = g_new0(int64_t, a->ncols + 1);
  int64_t *row_work = g_new0(int64_t, a->nrows > 0 ? a->nrows : 1);
  int64_t a_eff = 0, mult = 0;
  for (int64_t i = 0; i < a->nrows; i++)
    for (int64_t p = a->rowptr[i]; p < a->rowptr[i + 1]; p++) {
      int32_t k = a->col[p];
      int64_t bl = b->rowptr[k + 1] - b->rowptr[k];
      if (bl == 0) continue;
      colcnt[k]++;
      a_eff++;
      mult += bl;
      row_work[i] += bl;
    }
  int64_t partial = 0, b_used = 0;
  for (int64_t k = 0; k < a->ncols; k++)
    if (colcnt[k]) {
      partial++;
      b_used += b->rowptr[k + 1] - b->rowptr[k];
    }
  g_free(colcnt);

  FrSpRows rows;
  fr_sp_rows_init(&rows, a->nrows, row_work, fr_sp_pick_blocks(a->nrows));
  g_free(row_work);
  FrSpCancel cancel = {job, 0};
  OsCtx ctx = {a, b, &rows, fr_sp_mat_new(&rows), &cancel, 0};
  if (job) fr_job_progress(job, p0 + 0.05 * (p1 - p0), "OuterSPACE: multiply and merge");
  fr_parallel_for(rows.nblocks, 1, os_block, &ctx);
  int64_t nnz = 0;
  for (int bi = 0; bi < rows.nblocks; bi++) nnz += ctx.out->blk[bi].nnz;
  ctx.out->nnz = nnz;
  gboolean failed = FALSE;
  if (fr_sp_cancelled(&cancel)) {
    fr_sp_set_cancel_error(error);
    failed = TRUE;
  } else if (ctx.oom) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE, "out of memory computing the product");
    failed = TRUE;
  }
  if (!failed) {
    res->partial_matrices = partial;
    res->multiplies = mult;
    res->nnz_c = nnz;
    res->n_rounds = 2;
    res->rounds = g_new0(FrSparchRound, 2);
    double bw = cfg->os_channels * cfg->os_channel_bytes_per_s;
    FrSparchRound *m = &res->rounds[0], *g = &res->rounds[1];
    m->inputs = m->leaf_inputs = (int32_t)MIN(partial, G_MAXINT32);
    m->multiplies = mult;
    m->elements_in = mult;
    m->elements_out = mult;
    m->a_read = a_eff * e;
    m->b_read = b_used * e;
    m->partial_write = mult * e;
    m->multiply_cycles = (mult + cfg->os_pes - 1) / cfg->os_pes;
    fr_sp_finish_round_cycles(m, cfg, cfg->os_clock_hz, bw);
    g->inputs = m->inputs;
    g->final = TRUE;
    g->elements_in = mult;
    g->elements_out = nnz;
    g->partial_read = mult * e;
    g->c_write = nnz * e;
    g->merge_cycles = (mult + cfg->os_pes - 1) / cfg->os_pes;
    fr_sp_finish_round_cycles(g, cfg, cfg->os_clock_hz, bw);
    g->start_cycle = m->cycles;
    res->a_read = m->a_read;
    res->b_read = m->b_read;
    res->partial_write = m->partial_write;
    res->partial_read = g->partial_read;
    res->c_write = g->c_write;
    res->total = res->a_read + res->b_read + res->partial_write + res->partial_read + res->c_write;
    res->cycles = m->cycles + g->cycles;
    res->seconds = (double)res->cycles / cfg->os_clock_hz;
    res->gflops = res->seconds > 0 ? 2.0 * (double)mult / res->seconds / 1e9 : 0.0;
    if (cfg->keep_product) {
      res->c = fr_sp_mat_to_csr(ctx.out, &rows, b->ncols, error);
      if (!res->c) failed = TRUE;
    }
    if (cfg->trace && !failed) {
      res->trace = fr_sp_trace_new(cfg);
      res->trace->n_layers = 0;
      res->trace->comparator.width = 0;
    }
  }
  fr_sp_mat_free(ctx.out);
  fr_sp_rows_clear(&rows);
  if (failed) {
    fr_sparch_result_free(res);
    return NULL;
  }
  res->host_seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
  if (job) fr_job_progress(job, p1, "OuterSPACE simulated");
  return res;
}
