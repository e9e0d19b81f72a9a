/* fr-sparch-sim.c: the SpArch dataflow. Partial matrices (leaves) are produced on the fly by the
 * multiplier array from A and B; each round merges up to `ways` inputs (leaves and intermediates
 * read back from DRAM) through a binary tree of 2-way mergers; non-final rounds write their output to
 * DRAM, the final one writes C. Every intermediate is really computed (equal (row, col) summed). */
#include "fr-sparch-private.h"

#include "fr-pool.h"

#include <math.h>
#include <string.h>

typedef struct {
  const int32_t *c;
  const double *v;
  double s;     /* scale: A's element for a leaf segment, 1 for intermediates */
  int64_t n;
} Seg;

typedef struct {
  gboolean is_leaf;
  int64_t id;       /* leaf id, or round index of an intermediate */
  FrSpMat *mat;     /* intermediates */
} Slot;

typedef struct {
  const FrCsr *a, *b;
  const FrSparchConfig *cfg;
  int L, ways;
  int64_t nrows, ncols;
  /* A restricted to elements whose B row is non-empty ("effective"), CSR */
  int64_t *erp;
  int32_t *ecol;
  double *eval;
  int64_t enz;
  /* leaves */
  int64_t n_leaves;
  int64_t *leaf_size;
  int64_t *leaf_elems;
  /* condensed: rows by effective length (descending); leaf j covers row_order[0 .. cnt_gt[j]) */
  int64_t *row_order, *cnt_gt;
  /* columns: CSC of effective A; leaf -> column */
  int64_t *ccp, *crow;
  double *cval;
  int32_t *leaf_col;
  FrSpRows rows;
  FrSpCancel cancel;
  /* per-round leaf table: entries of row i are tab[tab_rp[i] .. tab_rp[i+1]), in slot order */
  int64_t *tab_rp, *tab_cur;
  int32_t *tab_slot, *tab_k;
  double *tab_a;
  int64_t tab_cap;
  GArray *requests;   /* int32 B rows in request order */
  FrSparchTrace *trace;
} Sim;

typedef struct {
  Sim *s;
  int m;
  const Slot *slots;
  int32_t round;
  FrSpMat *out;
  GMutex lock;
  int64_t layer_in[FR_SPARCH_MAX_LAYERS];
  int64_t *merger_in;   /* ways - 1 mergers, layer by layer */
  gboolean oom;
} RoundCtx;

/* ---- leaves ---- */

static void leaf_enumerate_count(Sim *s, int64_t leaf, int64_t *count) {
  if (s->cfg->condense) {
    for (int64_t t = 0; t < s->cnt_gt[leaf]; t++) count[s->row_order[t] + 1]++;
  } else {
    int32_t k = s->leaf_col[leaf];
    for (int64_t p = s->ccp[k]; p < s->ccp[k + 1]; p++) count[s->crow[p] + 1]++;
  }
}

static void leaf_enumerate_fill(Sim *s, int64_t leaf, int32_t slot) {
  if (s->cfg->condense) {
    for (int64_t t = 0; t < s->cnt_gt[leaf]; t++) {
      int64_t i = s->row_order[t], idx = s->erp[i] + leaf, q = s->tab_cur[i]++;
      s->tab_slot[q] = slot;
      s->tab_k[q] = s->ecol[idx];
      s->tab_a[q] = s->eval[idx];
    }
  } else {
    int32_t k = s->leaf_col[leaf];
    for (int64_t p = s->ccp[k]; p < s->ccp[k + 1]; p++) {
      int64_t i = s->crow[p], q = s->tab_cur[i]++;
      s->tab_slot[q] = slot;
      s->tab_k[q] = k;
      s->tab_a[q] = s->cval[p];
    }
  }
}

/* Builds the leaf table of a round and appends its B-row requests. */
static void build_table(Sim *s, const Slot *slots, int m) {
  int64_t n = s->nrows;
  memset(s->tab_rp, 0, (size_t)(n + 1) * sizeof(int64_t));
  int64_t total = 0;
  for (int j = 0; j < m; j++)
    if (slots[j].is_leaf) {
      leaf_enumerate_count(s, slots[j].id, s->tab_rp);
      total += s->leaf_elems[slots[j].id];
    }
  for (int64_t i = 0; i < n; i++) s->tab_rp[i + 1] += s->tab_rp[i];
  if (total > s->tab_cap) {
    s->tab_cap = MAX(total, s->tab_cap * 2);
    s->tab_slot = g_renew(int32_t, s->tab_slot, s->tab_cap);
    s->tab_k = g_renew(int32_t, s->tab_k, s->tab_cap);
    s->tab_a = g_renew(double, s->tab_a, s->tab_cap);
  }
  memcpy(s->tab_cur, s->tab_rp, (size_t)n * sizeof(int64_t));
  for (int j = 0; j < m; j++)
    if (slots[j].is_leaf) leaf_enumerate_fill(s, slots[j].id, j);
  /* the multiplier array asks for B rows by A row, then by input (slot) */
  if (s->cfg->condense) {
    g_array_append_vals(s->requests, s->tab_k, (guint)total);
  } else {
    for (int j = 0; j < m; j++)
      if (slots[j].is_leaf) g_array_append_val(s->requests, s->leaf_col[slots[j].id]);
  }
}

/* ---- one row through the tree ---- */

static int gather_row(const RoundCtx *rc, int64_t i, int b, int64_t r0, Seg *cur, int *last_slot) {
  const Sim *s = rc->s;
  int nonempty = 0;
  for (int64_t t = s->tab_rp[i]; t < s->tab_rp[i + 1]; t++) {
    int32_t k = s->tab_k[t], slot = s->tab_slot[t];
    int64_t p = s->b->rowptr[k];
    cur[slot] = (Seg){s->b->col + p, s->b->val + p, s->tab_a[t], s->b->rowptr[k + 1] - p};
    nonempty++;
    *last_slot = slot;
  }
  for (int j = 0; j < rc->m; j++) {
    if (rc->slots[j].is_leaf) continue;
    const FrSpBlock *blk = &rc->slots[j].mat->blk[b];
    if (!blk->nnz) continue;
    int64_t li = i - r0, p = blk->rowptr[li], q = blk->rowptr[li + 1];
    if (q > p) {
      cur[j] = (Seg){blk->col + p, blk->val + p, 1.0, q - p};
      nonempty++;
      *last_slot = j;
    }
  }
  return nonempty;
}

static int64_t merge2(const Seg *x, const Seg *y, int32_t *restrict oc, double *restrict ov) {
  const int32_t *restrict ac = x->c, *restrict bc = y->c;
  const double *restrict av = x->v, *restrict bv = y->v;
  const double sa = x->s, sb = y->s;
  const int64_t na = x->n, nb = y->n;
  int64_t i = 0, j = 0, o = 0;
  while (i < na && j < nb) {
    int32_t p = ac[i], q = bc[j];
    if (p < q) {
      oc[o] = p;
      ov[o] = sa * av[i++];
    } else if (p > q) {
      oc[o] = q;
      ov[o] = sb * bv[j++];
    } else {
      oc[o] = p;
      ov[o] = sa * av[i++] + sb * bv[j++];
    }
    o++;
  }
  for (; i < na; i++, o++) {
    oc[o] = ac[i];
    ov[o] = sa * av[i];
  }
  for (; j < nb; j++, o++) {
    oc[o] = bc[j];
    ov[o] = sb * bv[j];
  }
  return o;
}

static int64_t copy_scaled(const Seg *x, int32_t *restrict oc, double *restrict ov) {
  memcpy(oc, x->c, (size_t)x->n * sizeof(int32_t));
  if (x->s == 1.0) memcpy(ov, x->v, (size_t)x->n * sizeof(double));
  else
    for (int64_t t = 0; t < x->n; t++) ov[t] = x->s * x->v[t];
  return x->n;
}

typedef struct {
  int32_t *col[FR_SPARCH_MAX_LAYERS];
  double *val[FR_SPARCH_MAX_LAYERS];
} Scratch;

/* Merges the row's segments pairwise, layer by layer, into (oc, ov); counts elements entering each
 * layer and each merger. */
static int64_t tree_row(RoundCtx *rc, Seg *cur, int nonempty, int last_slot, const Scratch *sc, int32_t *oc,
                        double *ov, int64_t *layer_in, int64_t *merger_in, int64_t row, FrSparchComparatorStep *cmp) {
  const int L = rc->s->L, ways = rc->s->ways;
  if (nonempty == 1) {
    /* one input: it passes every layer unmerged */
    int64_t n = cur[last_slot].n, moff = 0;
    for (int l = 0; l < L; l++) {
      layer_in[l] += n;
      merger_in[moff + (last_slot >> (l + 1))] += n;
      moff += ways >> (l + 1);
    }
    return copy_scaled(&cur[last_slot], oc, ov);
  }
  int64_t moff = 0;
  for (int l = 0; l < L; l++) {
    int nm = ways >> (l + 1);
    gboolean top = l == L - 1;
    int32_t *lc = top ? oc : sc->col[l];
    double *lv = top ? ov : sc->val[l];
    int64_t so = 0, sum = 0;
    for (int q = 0; q < nm; q++) {
      Seg x = cur[2 * q], y = cur[2 * q + 1];
      int64_t in = x.n + y.n;
      if (in == 0) {
        cur[q].n = 0;
        continue;
      }
      sum += in;
      merger_in[moff + q] += in;
      if (x.n && y.n) {
        if (cmp) fr_sp_trace_offer_comparator(cmp, rc->s->cfg->merger_width, x.c, x.n, y.c, y.n, rc->round, l, row);
        int64_t n = merge2(&x, &y, lc + so, lv + so);
        cur[q] = (Seg){lc + so, lv + so, 1.0, n};
        so += n;
      } else {
        Seg z = x.n ? x : y;
        if (top) {
          copy_scaled(&z, lc, lv);
          z = (Seg){lc, lv, 1.0, z.n};
        }
        cur[q] = z;
      }
    }
    layer_in[l] += sum;
    moff += nm;
  }
  return cur[0].n;
}

static int64_t row_input_total(const RoundCtx *rc, int64_t i, int b, int64_t r0) {
  const Sim *s = rc->s;
  int64_t tot = 0;
  for (int64_t t = s->tab_rp[i]; t < s->tab_rp[i + 1]; t++) {
    int32_t k = s->tab_k[t];
    tot += s->b->rowptr[k + 1] - s->b->rowptr[k];
  }
  for (int j = 0; j < rc->m; j++) {
    if (rc->slots[j].is_leaf) continue;
    const FrSpBlock *blk = &rc->slots[j].mat->blk[b];
    if (blk->nnz) tot += blk->rowptr[i - r0 + 1] - blk->rowptr[i - r0];
  }
  return tot;
}

static void process_block(RoundCtx *rc, int b) {
  Sim *s = rc->s;
  const int L = s->L, ways = s->ways;
  int64_t r0 = s->rows.start[b], r1 = s->rows.start[b + 1], nr = r1 - r0;
  FrSpBlock *ob = &rc->out->blk[b];
  ob->rowptr = g_new0(int64_t, nr + 1);
  gboolean any_inter = FALSE;
  for (int j = 0; j < rc->m; j++)
    if (!rc->slots[j].is_leaf && rc->slots[j].mat->blk[b].nnz) any_inter = TRUE;
  int64_t cap = 0, maxrow = 0;
  for (int64_t i = r0; i < r1; i++) {
    if (!any_inter && s->tab_rp[i] == s->tab_rp[i + 1]) continue;
    int64_t t = row_input_total(rc, i, b, r0);
    cap += t;
    if (t > maxrow) maxrow = t;
  }
  if (cap == 0) return;
  ob->col = g_try_new(int32_t, cap);
  ob->val = g_try_new(double, cap);
  Scratch sc = {0};
  gboolean ok = ob->col && ob->val;
  for (int l = 0; ok && l < L - 1; l++) {
    sc.col[l] = g_try_new(int32_t, maxrow);
    sc.val[l] = g_try_new(double, maxrow);
    ok = sc.col[l] && sc.val[l];
  }
  Seg *cur = g_new(Seg, ways);
  int64_t layer_in[FR_SPARCH_MAX_LAYERS] = {0};
  int64_t *merger_in = g_new0(int64_t, ways);
  FrSparchComparatorStep *cmp = (s->trace && b == 0) ? &s->trace->comparator : NULL;
  int64_t o = 0;
  for (int64_t i = r0; ok && i < r1; i++) {
    ob->rowptr[i - r0] = o;
    if (((i - r0) & 1023) == 1023 && fr_sp_cancelled(&s->cancel)) {
      ok = FALSE;
      break;
    }
    if (!any_inter && s->tab_rp[i] == s->tab_rp[i + 1]) continue;
    for (int q = 0; q < ways; q++) cur[q].n = 0;
    int last = 0;
    int ne = gather_row(rc, i, b, r0, cur, &last);
    if (ne == 0) continue;
    o += tree_row(rc, cur, ne, last, &sc, ob->col + o, ob->val + o, layer_in, merger_in, i, cmp);
  }
  if (!ok) {
    for (int64_t i = r0; i <= r1; i++) ob->rowptr[i - r0] = 0;
    o = 0;
  }
  ob->rowptr[nr] = o;
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
  for (int l = 0; l < L - 1; l++) {
    g_free(sc.col[l]);
    g_free(sc.val[l]);
  }
  g_free(cur);
  g_mutex_lock(&rc->lock);
  if (!ok && !fr_sp_cancelled(&s->cancel)) rc->oom = TRUE;
  for (int l = 0; l < L; l++) rc->layer_in[l] += layer_in[l];
  for (int q = 0; q < ways - 1; q++) rc->merger_in[q] += merger_in[q];
  g_mutex_unlock(&rc->lock);
  g_free(merger_in);
}

static void round_blocks(void *ctx, int64_t b0, int64_t b1) {
  for (int64_t b = b0; b < b1; b++) process_block(ctx, (int)b);
}

/* The FIFO model's input: the key streams reaching each slot for a window of rows in the middle of
 * the round (serial; only for sampled rounds). */
static void sample_fifo(RoundCtx *rc, int64_t elements_in, int64_t max_samples) {
  Sim *s = rc->s;
  int64_t budget = MAX(4096, MIN(max_samples * s->cfg->merger_width, 1 << 18));
  int64_t target = elements_in * 2 / 5, acc = 0;
  Seg *cur = g_new(Seg, s->ways);
  FrSpFifoSample fs;
  fr_sp_fifo_sample_init(&fs, s->ways);
  for (int j = 0; j < rc->m; j++) fs.slot_is_leaf[j] = rc->slots[j].is_leaf;
  gboolean in_window = FALSE;
  int64_t taken = 0;
  for (int b = 0; b < s->rows.nblocks && taken < budget; b++) {
    int64_t r0 = s->rows.start[b], r1 = s->rows.start[b + 1];
    for (int64_t i = r0; i < r1 && taken < budget; i++) {
      int64_t t = row_input_total(rc, i, b, r0);
      if (!in_window) {
        if (acc + t <= target || t == 0) {
          acc += t;
          continue;
        }
        in_window = TRUE;
        fs.window_offset_elements = acc;
      }
      for (int q = 0; q < s->ways; q++) cur[q].n = 0;
      int last = 0;
      gather_row(rc, i, b, r0, cur, &last);
      for (int q = 0; q < s->ways; q++)
        for (int64_t x = 0; x < cur[q].n; x++) fr_sp_fifo_sample_push(&fs, q, ((int64_t)i << 32) | (uint32_t)cur[q].c[x]);
      taken += t;
    }
  }
  if (taken > 0) fr_sp_trace_fifo_model(s->trace, s->cfg, &fs, rc->round, max_samples);
  fr_sp_fifo_sample_clear(&fs);
  g_free(cur);
}

/* ---- set-up ---- */

static gboolean sim_setup(Sim *s, GError **error) {
  const FrCsr *a = s->a, *b = s->b;
  int64_t n = a->nrows;
  s->nrows = n;
  s->ncols = b->ncols;
  s->L = fr_sparch_config_layers(s->cfg);
  s->ways = s->cfg->merge_ways;
  /* effective A */
  s->erp = g_new0(int64_t, n + 1);
  int64_t enz = 0;
  for (int64_t i = 0; i < n; i++) {
    for (int64_t p = a->rowptr[i]; p < a->rowptr[i + 1]; p++) {
      int32_t k = a->col[p];
      if (b->rowptr[k + 1] > b->rowptr[k]) enz++;
    }
    s->erp[i + 1] = enz;
  }
  s->enz = enz;
  s->ecol = fr_sp_try_alloc((size_t)enz, sizeof(int32_t), error);
  s->eval = s->ecol ? fr_sp_try_alloc((size_t)enz, sizeof(double), error) : NULL;
  if (!s->eval) return FALSE;
  int64_t *row_work = g_new0(int64_t, n);
  for (int64_t i = 0, q = 0; i < n; i++)
    for (int64_t p = a->rowptr[i]; p < a->rowptr[i + 1]; p++) {
      int32_t k = a->col[p];
      int64_t bl = b->rowptr[k + 1] - b->rowptr[k];
      if (bl > 0) {
        s->ecol[q] = k;
        s->eval[q++] = a->val[p];
        row_work[i] += bl;
      }
    }
  fr_sp_rows_init(&s->rows, n, row_work, fr_sp_pick_blocks(n));
  g_free(row_work);

  if (s->cfg->condense) {
    int64_t maxlen = 0;
    for (int64_t i = 0; i < n; i++) maxlen = MAX(maxlen, s->erp[i + 1] - s->erp[i]);
    s->n_leaves = maxlen;
    /* rows by effective length, descending (counting sort) */
    int64_t *cnt = g_new0(int64_t, maxlen + 2);
    for (int64_t i = 0; i < n; i++) cnt[s->erp[i + 1] - s->erp[i]]++;
    s->cnt_gt = g_new0(int64_t, maxlen + 1);
    int64_t acc = 0;
    for (int64_t len = maxlen; len >= 0; len--) {
      s->cnt_gt[len] = acc; /* rows with length > len */
      acc += cnt[len];
    }
    int64_t *pos = g_new0(int64_t, maxlen + 2);
    for (int64_t len = maxlen, off = 0; len >= 0; len--) {
      pos[len] = off;
      off += cnt[len];
    }
    s->row_order = g_new(int64_t, n > 0 ? n : 1);
    for (int64_t i = 0; i < n; i++) s->row_order[pos[s->erp[i + 1] - s->erp[i]]++] = i;
    g_free(pos);
    g_free(cnt);
    s->leaf_size = g_new0(int64_t, maxlen > 0 ? maxlen : 1);
    s->leaf_elems = g_new0(int64_t, maxlen > 0 ? maxlen : 1);
    for (int64_t i = 0; i < n; i++)
      for (int64_t p = s->erp[i]; p < s->erp[i + 1]; p++) {
        int32_t k = s->ecol[p];
        s->leaf_size[p - s->erp[i]] += b->rowptr[k + 1] - b->rowptr[k];
        s->leaf_elems[p - s->erp[i]]++;
      }
  } else {
    int64_t m = a->ncols;
    s->ccp = g_new0(int64_t, m + 1);
    for (int64_t p = 0; p < enz; p++) s->ccp[s->ecol[p] + 1]++;
    for (int64_t k = 0; k < m; k++) s->ccp[k + 1] += s->ccp[k];
    s->crow = fr_sp_try_alloc((size_t)enz, sizeof(int64_t), error);
    s->cval = s->crow ? fr_sp_try_alloc((size_t)enz, sizeof(double), error) : NULL;
    if (!s->cval) return FALSE;
    int64_t *cur = g_memdup2(s->ccp, (size_t)(m + 1) * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++)
      for (int64_t p = s->erp[i]; p < s->erp[i + 1]; p++) {
        int64_t q = cur[s->ecol[p]]++;
        s->crow[q] = i;
        s->cval[q] = s->eval[p];
      }
    g_free(cur);
    int64_t nl = 0;
    for (int64_t k = 0; k < m; k++)
      if (s->ccp[k + 1] > s->ccp[k]) nl++;
    s->n_leaves = nl;
    s->leaf_col = g_new(int32_t, nl > 0 ? nl : 1);
    s->leaf_size = g_new0(int64_t, nl > 0 ? nl : 1);
    s->leaf_elems = g_new0(int64_t, nl > 0 ? nl : 1);
    nl = 0;
    for (int64_t k = 0; k < m; k++)
      if (s->ccp[k + 1] > s->ccp[k]) {
        s->leaf_col[nl] = (int32_t)k;
        s->leaf_elems[nl] = s->ccp[k + 1] - s->ccp[k];
        s->leaf_size[nl] = s->leaf_elems[nl] * (b->rowptr[k + 1] - b->rowptr[k]);
        nl++;
      }
  }
  s->tab_rp = g_new0(int64_t, n + 1);
  s->tab_cur = g_new0(int64_t, n + 1);
  s->requests = g_array_new(FALSE, FALSE, sizeof(int32_t));
  return TRUE;
}

static void sim_clear(Sim *s) {
  g_free(s->erp);
  g_free(s->ecol);
  g_free(s->eval);
  g_free(s->leaf_size);
  g_free(s->leaf_elems);
  g_free(s->row_order);
  g_free(s->cnt_gt);
  g_free(s->ccp);
  g_free(s->crow);
  g_free(s->cval);
  g_free(s->leaf_col);
  fr_sp_rows_clear(&s->rows);
  g_free(s->tab_rp);
  g_free(s->tab_cur);
  g_free(s->tab_slot);
  g_free(s->tab_k);
  g_free(s->tab_a);
  if (s->requests) g_array_free(s->requests, TRUE);
}

/* ---- the run ---- */

static FrSparchResult *sparch_simulate(const FrCsr *a, const FrCsr *b, const FrSparchConfig *cfg, FrJob *job,
                                       double p0, double p1, GError **error) {
  gint64 t0 = g_get_monotonic_time();
  Sim s = {0};
  s.a = a;
  s.b = b;
  s.cfg = cfg;
  s.cancel.job = job;
  if (!sim_setup(&s, error)) {
    sim_clear(&s);
    return NULL;
  }
  const int64_t e = cfg->element_bytes;
  const int ways = s.ways;
  FrSparchResult *res = g_new0(FrSparchResult, 1);
  res->config = *cfg;
  res->partial_matrices = s.n_leaves;
  if (cfg->trace) res->trace = s.trace = fr_sp_trace_new(cfg);

  FrSpNaive naive = {0};
  FrSpHeap heap = {0};
  int64_t total_rounds;
  if (cfg->huffman) {
    total_rounds = fr_sp_huffman_rounds(s.n_leaves, ways);
    fr_sp_heap_init(&heap, s.n_leaves + 1);
    for (int64_t l = 0; l < s.n_leaves; l++) fr_sp_heap_push(&heap, (FrSpItem){s.leaf_size[l], l});
  } else {
    fr_sp_naive_build(&naive, s.n_leaves, ways);
    total_rounds = naive.n_rounds;
  }
  res->n_rounds = total_rounds;
  res->rounds = g_new0(FrSparchRound, total_rounds > 0 ? total_rounds : 1);
  FrSpMat **inter = g_new0(FrSpMat *, total_rounds > 0 ? total_rounds : 1);
  int64_t *req_start = g_new0(int64_t, total_rounds + 1);
  int64_t *node_of_round = g_new0(int64_t, total_rounds > 0 ? total_rounds : 1);
  gboolean store_leaves = s.trace && s.n_leaves + total_rounds <= cfg->trace_max_samples;
  int n_fifo_rounds = (int)MIN(total_rounds, 8);
  Slot *slots = g_new0(Slot, ways);
  FrSpItem *items = g_new0(FrSpItem, ways);
  FrSpMat *final_mat = NULL;
  gboolean failed = FALSE;

  for (int64_t r = 0; r < total_rounds; r++) {
    /* this round's inputs, in slot order */
    int m;
    if (cfg->huffman) {
      m = (int)(r == 0 ? fr_sp_huffman_first(s.n_leaves, ways) : MIN((int64_t)ways, heap.n));
      for (int j = 0; j < m; j++) items[j] = fr_sp_heap_pop(&heap);
    } else {
      m = (int)(naive.offsets[r + 1] - naive.offsets[r]);
      for (int j = 0; j < m; j++) {
        int64_t id = naive.items[naive.offsets[r] + j];
        items[j] = (FrSpItem){id >= 0 ? s.leaf_size[id] : inter[-1 - id]->nnz, id};
      }
    }
    gboolean final = r == total_rounds - 1;
    FrSparchRound *rd = &res->rounds[r];
    rd->inputs = m;
    rd->final = final;
    rd->n_layers = s.L;
    int64_t leaf_a = 0;
    for (int j = 0; j < m; j++) {
      if (items[j].id >= 0) {
        slots[j] = (Slot){TRUE, items[j].id, NULL};
        rd->leaf_inputs++;
        rd->multiplies += s.leaf_size[items[j].id];
        leaf_a += s.leaf_elems[items[j].id];
      } else {
        int64_t rr = -1 - items[j].id;
        slots[j] = (Slot){FALSE, rr, inter[rr]};
        rd->partial_read += inter[rr]->nnz * e;
        rd->elements_in += inter[rr]->nnz;
      }
    }
    rd->elements_in += rd->multiplies;
    rd->a_read = leaf_a * e;
    req_start[r] = s.requests->len;
    build_table(&s, slots, m);

    RoundCtx rc = {.s = &s, .m = m, .slots = slots, .round = (int32_t)r};
    g_mutex_init(&rc.lock);
    rc.merger_in = g_new0(int64_t, ways);
    rc.out = fr_sp_mat_new(&s.rows);
    fr_parallel_for(s.rows.nblocks, 1, round_blocks, &rc);
    g_mutex_clear(&rc.lock);
    if (s.trace && n_fifo_rounds > 0 && !fr_sp_cancelled(&s.cancel) && !rc.oom) {
      /* sampled rounds spread evenly over the run, the final one included */
      if ((r + 1) * n_fifo_rounds / total_rounds != r * n_fifo_rounds / total_rounds)
        sample_fifo(&rc, rd->elements_in, cfg->trace_max_samples / n_fifo_rounds);
    }
    int64_t out_nnz = 0;
    for (int bb = 0; bb < rc.out->nblocks; bb++) out_nnz += rc.out->blk[bb].nnz;
    rc.out->nnz = out_nnz;
    memcpy(rd->layer_in, rc.layer_in, sizeof rd->layer_in);
    int64_t worst = 0;
    for (int q = 0; q < ways - 1; q++) worst = MAX(worst, rc.merger_in[q]);
    g_free(rc.merger_in);
    rd->merge_cycles = (worst + cfg->merger_width - 1) / cfg->merger_width;
    rd->multiply_cycles = (rd->multiplies + cfg->multipliers - 1) / cfg->multipliers;
    rd->elements_out = out_nnz;
    if (final) rd->c_write = out_nnz * e;
    else rd->partial_write = out_nnz * e;
    /* consumed inputs are freed at once */
    for (int j = 0; j < m; j++)
      if (!slots[j].is_leaf) {
        fr_sp_mat_free(inter[slots[j].id]);
        inter[slots[j].id] = NULL;
      }
    if (final) final_mat = rc.out;
    else inter[r] = rc.out;
    if (cfg->huffman && !final) fr_sp_heap_push(&heap, (FrSpItem){out_nnz, -1 - r});

    /* schedule tree for the trace */
    if (s.trace) {
      int64_t me = s.trace->n_nodes + (store_leaves ? rd->leaf_inputs : 0);
      FrSparchScheduleNode node = {out_nnz, (int32_t)r, -1, -1, 0, 0};
      for (int j = 0; j < m; j++) {
        if (slots[j].is_leaf) {
          if (store_leaves)
            fr_sp_trace_add_node(s.trace, (FrSparchScheduleNode){s.leaf_size[slots[j].id], -1, (int32_t)me,
                                                                 (int32_t)slots[j].id, 0, 0});
          else {
            node.folded_leaves++;
            node.folded_size += s.leaf_size[slots[j].id];
          }
        } else {
          s.trace->nodes[node_of_round[slots[j].id]].parent = (int32_t)me;
        }
      }
      node_of_round[r] = s.trace->n_nodes;
      fr_sp_trace_add_node(s.trace, node);
    }

    if (rc.oom) {
      g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE, "out of memory in merge round %" G_GINT64_FORMAT,
                  r);
      failed = TRUE;
      break;
    }
    if (fr_sp_cancelled(&s.cancel)) {
      fr_sp_set_cancel_error(error);
      failed = TRUE;
      break;
    }
    if (job)
      fr_job_progress(job, p0 + (p1 - p0) * 0.95 * (double)(r + 1) / (double)total_rounds, "merge round %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT,
                      r + 1, total_rounds);
  }
  req_start[total_rounds] = s.requests->len;
  for (int64_t r = 0; r < total_rounds; r++) fr_sp_mat_free(inter[r]);
  g_free(inter);
  g_free(slots);
  g_free(items);
  fr_sp_naive_clear(&naive);
  fr_sp_heap_clear(&heap);

  if (!failed) {
    /* the row prefetcher over the whole request sequence */
    int64_t nreq = s.requests->len;
    res->prefetch_requests = nreq;
    if (s.trace) {
      FrSparchTrace *t = s.trace;
      t->n_bins = MIN(nreq, cfg->trace_max_samples);
      t->bin_requests = t->n_bins > 0 ? (nreq + t->n_bins - 1) / t->n_bins : 0;
      if (t->bin_requests > 0) t->n_bins = (nreq + t->bin_requests - 1) / t->bin_requests;
      t->bin_hits = g_new0(int64_t, t->n_bins > 0 ? t->n_bins : 1);
      t->bin_misses = g_new0(int64_t, t->n_bins > 0 ? t->n_bins : 1);
      t->bin_cycle = g_new0(int64_t, t->n_bins > 0 ? t->n_bins : 1);
    }
    int64_t *rb = g_new0(int64_t, total_rounds > 0 ? total_rounds : 1);
    FrSpPrefetchOut po;
    fr_sp_prefetch_run(b, cfg, (const int32_t *)s.requests->data, nreq, req_start, total_rounds, rb, s.trace, &po);
    res->prefetch_hits = po.hits;
    res->prefetch_misses = po.misses;
    int64_t cyc = 0;
    for (int64_t r = 0; r < total_rounds; r++) {
      FrSparchRound *rd = &res->rounds[r];
      rd->b_read = rb[r];
      fr_sp_finish_round_cycles(rd, cfg, cfg->clock_hz, cfg->bandwidth_bytes_per_s);
      rd->start_cycle = cyc;
      cyc += rd->cycles;
      res->a_read += rd->a_read;
      res->b_read += rd->b_read;
      res->partial_read += rd->partial_read;
      res->partial_write += rd->partial_write;
      res->c_write += rd->c_write;
      res->multiplies += rd->multiplies;
    }
    g_free(rb);
    res->total = res->a_read + res->b_read + res->partial_read + res->partial_write + res->c_write;
    res->cycles = cyc;
    res->seconds = (double)cyc / cfg->clock_hz;
    res->gflops = res->seconds > 0 ? 2.0 * (double)res->multiplies / res->seconds / 1e9 : 0.0;
    if (s.trace) {
      fr_sp_trace_finish(s.trace, res->rounds, total_rounds, req_start);
      fr_sp_trace_comparator_finish(&s.trace->comparator);
    }
    /* the product */
    res->nnz_c = final_mat ? final_mat->nnz : 0;
    if (cfg->keep_product) {
      if (final_mat) res->c = fr_sp_mat_to_csr(final_mat, &s.rows, b->ncols, error);
      else res->c = fr_csr_new(a->nrows, b->ncols, 0, error);
      if (!res->c) failed = TRUE;
    }
  }
  fr_sp_mat_free(final_mat);
  g_free(req_start);
  g_free(node_of_round);
  sim_clear(&s);
  if (failed) {
    fr_sparch_result_free(res);
    return NULL;
  }
  res->host_seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
  if (job) fr_job_progress(job, p1, "simulated %" G_GINT64_FORMAT " rounds", total_rounds);
  return res;
}

FrSparchResult *fr_sp_simulate_span(const FrCsr *a, const FrCsr *b, const FrSparchConfig *cfg, FrJob *job,
                                    double p0, double p1, GError **error) {
  g_return_val_if_fail(a != NULL && b != NULL, NULL);
  FrSparchConfig defaults;
  if (!cfg) {
    fr_sparch_config_init(&defaults, FR_SPARCH_ARCH_SPARCH);
    cfg = &defaults;
  }
  if (!fr_sparch_config_validate(cfg, error)) return NULL;
  if (a->ncols != b->nrows) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_SHAPE,
                "cannot multiply %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " by %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
                a->nrows, a->ncols, b->nrows, b->ncols);
    return NULL;
  }
  if (job && fr_job_is_cancelled(job)) {
    fr_sp_set_cancel_error(error);
    return NULL;
  }
  if (cfg->arch == FR_SPARCH_ARCH_OUTERSPACE) return fr_sp_outerspace_simulate(a, b, cfg, job, p0, p1, error);
  return sparch_simulate(a, b, cfg, job, p0, p1, error);
}

FrSparchResult *fr_sparch_simulate(const FrCsr *a, const FrCsr *b, const FrSparchConfig *cfg, FrJob *job,
                                   GError **error) {
  return fr_sp_simulate_span(a, b, cfg, job, 0.0, 1.0, error);
}
