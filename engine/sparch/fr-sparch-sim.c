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
  /* per-round leaf table: one entry per A element of the round's leaves, sorted by (row, slot);
   * block b's entries are [tab_bstart[b], tab_bstart[b+1]) */
  int64_t *tab_rp, *tab_cur;   /* nrows + 1: counting sort for dense rounds */
  int64_t *tab_row;
  int32_t *tab_slot, *tab_k;
  double *tab_a;
  int64_t tab_cap;
  int64_t *tab_bstart;
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
  /* final round with the product kept: blocks write straight into one array at these offsets, which
   * assemble_product() then closes up in place (no second copy of C) */
  int32_t *pre_col;
  double *pre_val;
  int64_t *pre_base;
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

/* Calls put(row, k, a) for every A element of the leaf. */
#define LEAF_FOREACH(s, leaf, ...) \
  do { \
    if ((s)->cfg->condense) { \
      for (int64_t t_ = 0; t_ < (s)->cnt_gt[leaf]; t_++) { \
        int64_t row_ = (s)->row_order[t_], idx_ = (s)->erp[row_] + (leaf); \
        int32_t k_ = (s)->ecol[idx_]; \
        double a_ = (s)->eval[idx_]; \
        __VA_ARGS__; \
      } \
    } else { \
      int32_t k_ = (s)->leaf_col[leaf]; \
      for (int64_t p_ = (s)->ccp[k_]; p_ < (s)->ccp[k_ + 1]; p_++) { \
        int64_t row_ = (s)->crow[p_]; \
        double a_ = (s)->cval[p_]; \
        __VA_ARGS__; \
      } \
    } \
  } while (0)

typedef struct {
  int64_t key;   /* row << 12 | slot */
  int32_t k;
  double a;
} TabEntry;

static int cmp_entry(const void *x, const void *y) {
  int64_t a = ((const TabEntry *)x)->key, b = ((const TabEntry *)y)->key;
  return (a > b) - (a < b);
}

/* Builds the leaf table of a round and appends its B-row requests. */
static void build_table(Sim *s, const Slot *slots, int m) {
  int64_t n = s->nrows, total = 0;
  for (int j = 0; j < m; j++)
    if (slots[j].is_leaf) total += s->leaf_elems[slots[j].id];
  if (total > s->tab_cap) {
    s->tab_cap = MAX(total, s->tab_cap * 2);
    s->tab_row = g_renew(int64_t, s->tab_row, s->tab_cap);
    s->tab_slot = g_renew(int32_t, s->tab_slot, s->tab_cap);
    s->tab_k = g_renew(int32_t, s->tab_k, s->tab_cap);
    s->tab_a = g_renew(double, s->tab_a, s->tab_cap);
  }
  if (total * 8 >= n) {
    /* dense round: counting sort by row (slots enumerated in order keep each row in slot order) */
    memset(s->tab_rp, 0, (size_t)(n + 1) * sizeof(int64_t));
    for (int j = 0; j < m; j++)
      if (slots[j].is_leaf) leaf_enumerate_count(s, slots[j].id, s->tab_rp);
    for (int64_t i = 0; i < n; i++) s->tab_rp[i + 1] += s->tab_rp[i];
    memcpy(s->tab_cur, s->tab_rp, (size_t)n * sizeof(int64_t));
    for (int j = 0; j < m; j++)
      if (slots[j].is_leaf)
        LEAF_FOREACH(s, slots[j].id, {
          int64_t q = s->tab_cur[row_]++;
          s->tab_row[q] = row_;
          s->tab_slot[q] = j;
          s->tab_k[q] = k_;
          s->tab_a[q] = a_;
        });
  } else {
    /* sparse round: sort the few entries instead of sweeping every row */
    TabEntry *e = g_new(TabEntry, total > 0 ? total : 1);
    int64_t q = 0;
    for (int j = 0; j < m; j++)
      if (slots[j].is_leaf) LEAF_FOREACH(s, slots[j].id, e[q++] = (TabEntry){row_ << 12 | j, k_, a_});
    qsort(e, (size_t)total, sizeof *e, cmp_entry);
    for (q = 0; q < total; q++) {
      s->tab_row[q] = e[q].key >> 12;
      s->tab_slot[q] = (int32_t)(e[q].key & 4095);
      s->tab_k[q] = e[q].k;
      s->tab_a[q] = e[q].a;
    }
    g_free(e);
  }
  /* block boundaries in the table */
  for (int b = 0; b <= s->rows.nblocks; b++) {
    int64_t r = s->rows.start[b], lo = 0, hi = total;
    while (lo < hi) {
      int64_t mid = (lo + hi) / 2;
      if (s->tab_row[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    s->tab_bstart[b] = lo;
  }
  /* the multiplier array asks for B rows by A row, then by input (slot) */
  if (s->cfg->condense) {
    g_array_append_vals(s->requests, s->tab_k, (guint)total);
  } else {
    for (int j = 0; j < m; j++)
      if (slots[j].is_leaf) g_array_append_val(s->requests, s->leaf_col[slots[j].id]);
  }
}

/* ---- rows of a round, in order ---- */

typedef struct {
  int32_t pos;   /* position among the tree's leaves (the slot), then among each layer's mergers */
  Seg s;
} PSeg;

typedef struct {
  const Sim *s;
  int64_t t, t1;          /* leaf table cursor */
  int ni;
  int32_t *islot;         /* intermediates: slot, block, cursor */
  const FrSpBlock **ib;
  int64_t *cur;
} RowIter;

static void row_iter_init(RowIter *it, const RoundCtx *rc, int b) {
  const Sim *s = rc->s;
  it->s = s;
  it->t = s->tab_bstart[b];
  it->t1 = s->tab_bstart[b + 1];
  it->ni = 0;
  it->islot = g_new(int32_t, rc->m + 1);
  it->ib = g_new(const FrSpBlock *, rc->m + 1);
  it->cur = g_new0(int64_t, rc->m + 1);
  for (int j = 0; j < rc->m; j++) {
    if (rc->slots[j].is_leaf) continue;
    const FrSpBlock *blk = &rc->slots[j].mat->blk[b];
    if (blk->nr == 0) continue;
    it->islot[it->ni] = j;
    it->ib[it->ni++] = blk;
  }
}

static void row_iter_clear(RowIter *it) {
  g_free(it->islot);
  g_free(it->ib);
  g_free(it->cur);
}

/* The next row with any input: its segments sorted by slot. Returns how many (0: no more rows). */
static int row_iter_next(RowIter *it, int64_t *row_out, PSeg *list, int64_t *total_out) {
  const Sim *s = it->s;
  int64_t row = INT64_MAX;
  if (it->t < it->t1) row = s->tab_row[it->t];
  for (int j = 0; j < it->ni; j++)
    if (it->cur[j] < it->ib[j]->nr && it->ib[j]->row[it->cur[j]] < row) row = it->ib[j]->row[it->cur[j]];
  if (row == INT64_MAX) return 0;
  int n = 0, j = 0;
  int64_t total = 0;
  /* merge the leaf entries of the row (sorted by slot) with the intermediates (sorted by slot) */
  for (;;) {
    while (j < it->ni && !(it->cur[j] < it->ib[j]->nr && it->ib[j]->row[it->cur[j]] == row)) j++;
    gboolean leaf_ok = it->t < it->t1 && s->tab_row[it->t] == row;
    if (!leaf_ok && j >= it->ni) break;
    if (leaf_ok && (j >= it->ni || s->tab_slot[it->t] < it->islot[j])) {
      int32_t k = s->tab_k[it->t];
      int64_t p = s->b->rowptr[k];
      list[n++] = (PSeg){s->tab_slot[it->t], {s->b->col + p, s->b->val + p, s->tab_a[it->t], s->b->rowptr[k + 1] - p}};
      it->t++;
    } else {
      const FrSpBlock *blk = it->ib[j];
      int64_t c = it->cur[j]++, p = blk->rowptr[c];
      list[n++] = (PSeg){it->islot[j], {blk->col + p, blk->val + p, 1.0, blk->rowptr[c + 1] - p}};
      j++;
    }
    total += list[n - 1].s.n;
  }
  *row_out = row;
  *total_out = total;
  return n;
}

/* ---- one row through the tree ---- */

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
  int64_t cap;
} Scratch;

static gboolean scratch_reserve(Scratch *sc, int layers, int64_t n) {
  if (n <= sc->cap) return TRUE;
  int64_t cap = MAX(n, sc->cap * 2);
  for (int l = 0; l < layers; l++) {
    int32_t *c = g_try_realloc(sc->col[l], (size_t)cap * sizeof(int32_t));
    if (c) sc->col[l] = c;
    double *v = g_try_realloc(sc->val[l], (size_t)cap * sizeof(double));
    if (v) sc->val[l] = v;
    if (!c || !v) return FALSE;
  }
  sc->cap = cap;
  return TRUE;
}

static void scratch_clear(Scratch *sc, int layers) {
  for (int l = 0; l < layers; l++) {
    g_free(sc->col[l]);
    g_free(sc->val[l]);
  }
}

/* Merges the row's segments (sorted by slot) pairwise, layer by layer, into (oc, ov): in layer l the
 * merger at position p takes the inputs at positions 2p and 2p+1. Counts elements entering each
 * layer and each merger. */
static int64_t tree_row(RoundCtx *rc, PSeg *list, int n, const Scratch *sc, int32_t *oc, double *ov, int64_t *layer_in,
                        int64_t *merger_in, int64_t row, FrSparchComparatorStep *cmp) {
  const int L = rc->s->L, ways = rc->s->ways;
  int64_t moff = 0;
  for (int l = 0; l < L; l++) {
    gboolean top = l == L - 1;
    int32_t *lc = top ? oc : sc->col[l];
    double *lv = top ? ov : sc->val[l];
    int64_t so = 0, sum = 0;
    int o = 0;
    for (int i = 0; i < n;) {
      int32_t p = list[i].pos >> 1;
      Seg out;
      int64_t in;
      if (i + 1 < n && (list[i + 1].pos >> 1) == p) {
        const Seg *x = &list[i].s, *y = &list[i + 1].s;
        in = x->n + y->n;
        if (cmp) fr_sp_trace_offer_comparator(cmp, rc->s->cfg->merger_width, x->c, x->n, y->c, y->n, rc->round, l, row);
        int64_t m = merge2(x, y, lc + so, lv + so);
        out = (Seg){lc + so, lv + so, 1.0, m};
        so += m;
        i += 2;
      } else {
        out = list[i].s;
        in = out.n;
        if (top) {
          copy_scaled(&out, lc, lv);
          out = (Seg){lc, lv, 1.0, out.n};
        }
        i += 1;
      }
      sum += in;
      merger_in[moff + p] += in;
      list[o++] = (PSeg){p, out};
    }
    n = o;
    layer_in[l] += sum;
    moff += ways >> (l + 1);
  }
  return list[0].s.n;
}

/* The exact output size of a block (distinct columns per row), for the final round: C's arrays are
 * then allocated once, exactly, and every block writes its part in place. */
typedef struct {
  RoundCtx *rc;
  int64_t *nnz;
} CountCtx;

static void count_blocks(void *vctx, int64_t b0, int64_t b1) {
  CountCtx *cc = vctx;
  const Sim *s = cc->rc->s;
  int32_t *mark = g_new0(int32_t, s->ncols > 0 ? s->ncols : 1);
  PSeg *list = g_new(PSeg, s->ways);
  int32_t stamp = 0; /* never reset between blocks: marks of an earlier block must not match */
  for (int64_t b = b0; b < b1; b++) {
    RowIter it;
    row_iter_init(&it, cc->rc, (int)b);
    int64_t row, total, nnz = 0;
    int n;
    while ((n = row_iter_next(&it, &row, list, &total)) > 0) {
      if (++stamp == G_MAXINT32) {
        memset(mark, 0, (size_t)s->ncols * sizeof(int32_t));
        stamp = 1;
      }
      if (n == 1) {
        nnz += total;
        continue;
      }
      for (int q = 0; q < n; q++)
        for (int64_t x = 0; x < list[q].s.n; x++) {
          int32_t c = list[q].s.c[x];
          if (mark[c] != stamp) {
            mark[c] = stamp;
            nnz++;
          }
        }
    }
    row_iter_clear(&it);
    cc->nnz[b] = nnz;
  }
  g_free(list);
  g_free(mark);
}

/* Closes up the final round's blocks inside the one array they were written to, and hands it to C. */
static FrCsr *assemble_product(FrSpMat *m, const FrSpRows *rows, int64_t ncols, int32_t *col, double *val,
                               GError **error) {
  int64_t nnz = 0;
  for (int b = 0; b < m->nblocks; b++) nnz += m->blk[b].nnz;
  int64_t *rowptr = g_try_new(int64_t, rows->nrows + 1);
  if (!rowptr) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE, "out of memory assembling the product");
    return NULL;
  }
  rowptr[0] = 0;
  int64_t off = 0;
  for (int b = 0; b < m->nblocks; b++) {
    FrSpBlock *blk = &m->blk[b];
    if (blk->nnz && blk->col != col + off) {
      memmove(col + off, blk->col, (size_t)blk->nnz * sizeof(int32_t));
      memmove(val + off, blk->val, (size_t)blk->nnz * sizeof(double));
    }
    int64_t idx = 0, pos = 0;
    for (int64_t i = rows->start[b]; i < rows->start[b + 1]; i++) {
      if (idx < blk->nr && blk->row[idx] == i) pos = blk->rowptr[++idx];
      rowptr[i + 1] = off + pos;
    }
    off += blk->nnz;
    blk->col = NULL;
    blk->val = NULL;
    blk->borrowed = FALSE;
  }
  FrCsr *c = g_new0(FrCsr, 1);
  c->nrows = rows->nrows;
  c->ncols = ncols;
  c->nnz = nnz;
  c->rowptr = rowptr;
  c->col = g_realloc(col, (size_t)MAX(nnz, 1) * sizeof(int32_t));
  c->val = g_realloc(val, (size_t)MAX(nnz, 1) * sizeof(double));
  return c;
}

static void process_block(RoundCtx *rc, int b) {
  Sim *s = rc->s;
  const int L = s->L, ways = s->ways;
  FrSpBlock *ob = &rc->out->blk[b];
  RowIter it;
  row_iter_init(&it, rc, b);
  int64_t cap = 0, rows_cap = it.t1 - it.t;
  for (int64_t t = it.t; t < it.t1; t++) cap += s->b->rowptr[s->tab_k[t] + 1] - s->b->rowptr[s->tab_k[t]];
  for (int j = 0; j < it.ni; j++) {
    cap += it.ib[j]->nnz;
    rows_cap += it.ib[j]->nr;
  }
  if (cap == 0) {
    row_iter_clear(&it);
    return;
  }
  if (rc->pre_col) {
    ob->col = rc->pre_col + rc->pre_base[b];
    ob->val = rc->pre_val + rc->pre_base[b];
    ob->borrowed = TRUE;
  } else {
    ob->col = g_try_new(int32_t, cap);
    ob->val = g_try_new(double, cap);
  }
  ob->row = g_try_new(int64_t, rows_cap);
  ob->rowptr = g_try_new(int64_t, rows_cap + 1);
  Scratch sc = {0};
  gboolean ok = ob->col && ob->val && ob->row && ob->rowptr;
  PSeg *list = g_new(PSeg, ways);
  int64_t layer_in[FR_SPARCH_MAX_LAYERS] = {0};
  int64_t *merger_in = g_new0(int64_t, ways);
  FrSparchComparatorStep *cmp = (s->trace && b == 0) ? &s->trace->comparator : NULL;
  int64_t o = 0, nr = 0, row, total;
  int n;
  if (ok) ob->rowptr[0] = 0;
  while (ok && (n = row_iter_next(&it, &row, list, &total)) > 0) {
    if ((nr & 1023) == 1023 && fr_sp_cancelled(&s->cancel)) {
      ok = FALSE;
      break;
    }
    if (!scratch_reserve(&sc, L - 1, total)) {
      ok = FALSE;
      break;
    }
    o += tree_row(rc, list, n, &sc, ob->col + o, ob->val + o, layer_in, merger_in, row, cmp);
    ob->row[nr] = row;
    ob->rowptr[++nr] = o;
  }
  if (!ok) o = nr = 0;
  if (ok && ob->borrowed && o != rc->pre_base[b + 1] - rc->pre_base[b]) {
    /* cannot happen: the count is the number of distinct columns the merge produces */
    g_critical("fr_sparch: block %d wrote %" G_GINT64_FORMAT " elements, %" G_GINT64_FORMAT " counted", b, o,
               rc->pre_base[b + 1] - rc->pre_base[b]);
    ok = FALSE;
    o = nr = 0;
  }
  ob->nr = nr;
  ob->nnz = o;
  if (o == 0) {
    if (!ob->borrowed) {
      g_free(ob->col);
      g_free(ob->val);
    }
    ob->borrowed = FALSE;
    g_free(ob->row);
    g_free(ob->rowptr);
    ob->col = NULL;
    ob->val = NULL;
    ob->row = NULL;
    ob->rowptr = NULL;
    ob->nr = 0;
  } else {
    if (o < cap && !ob->borrowed) {
      ob->col = g_renew(int32_t, ob->col, o);
      ob->val = g_renew(double, ob->val, o);
    }
    if (nr < rows_cap) {
      ob->row = g_renew(int64_t, ob->row, nr);
      ob->rowptr = g_renew(int64_t, ob->rowptr, nr + 1);
    }
  }
  scratch_clear(&sc, L - 1);
  row_iter_clear(&it);
  g_free(list);
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
  PSeg *list = g_new(PSeg, s->ways);
  FrSpFifoSample fs;
  fr_sp_fifo_sample_init(&fs, s->ways);
  for (int j = 0; j < rc->m; j++) fs.slot_is_leaf[j] = rc->slots[j].is_leaf;
  gboolean in_window = FALSE;
  int64_t taken = 0, row, total;
  for (int b = 0; b < s->rows.nblocks && taken < budget; b++) {
    RowIter it;
    row_iter_init(&it, rc, b);
    int n;
    while (taken < budget && (n = row_iter_next(&it, &row, list, &total)) > 0) {
      if (!in_window) {
        if (acc + total <= target) {
          acc += total;
          continue;
        }
        in_window = TRUE;
        fs.window_offset_elements = acc;
      }
      for (int q = 0; q < n; q++)
        for (int64_t x = 0; x < list[q].s.n; x++)
          fr_sp_fifo_sample_push(&fs, list[q].pos, (row << 32) | (uint32_t)list[q].s.c[x]);
      taken += total;
    }
    row_iter_clear(&it);
  }
  if (taken > 0) fr_sp_trace_fifo_model(s->trace, s->cfg, &fs, rc->round, max_samples);
  fr_sp_fifo_sample_clear(&fs);
  g_free(list);
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
  s->tab_bstart = g_new0(int64_t, s->rows.nblocks + 1);
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
  g_free(s->tab_row);
  g_free(s->tab_bstart);
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
  int32_t *final_col = NULL;
  double *final_val = NULL;
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
    if (final && cfg->keep_product) {
      rc.pre_base = g_new0(int64_t, s.rows.nblocks + 1);
      CountCtx cc = {&rc, rc.pre_base + 1};
      fr_parallel_for(s.rows.nblocks, 1, count_blocks, &cc);
      for (int bb = 0; bb < s.rows.nblocks; bb++) rc.pre_base[bb + 1] += rc.pre_base[bb];
      int64_t n = MAX(rc.pre_base[s.rows.nblocks], 1);
      rc.pre_col = g_try_malloc_n((size_t)n, sizeof(int32_t));
      rc.pre_val = g_try_malloc_n((size_t)n, sizeof(double));
      if (!rc.pre_col || !rc.pre_val) rc.oom = TRUE;
    }
    if (!rc.oom) fr_parallel_for(s.rows.nblocks, 1, round_blocks, &rc);
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
    if (final) {
      final_mat = rc.out;
      final_col = rc.pre_col;
      final_val = rc.pre_val;
      g_free(rc.pre_base);
    } else {
      inter[r] = rc.out;
    }
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
    if (job)
      fr_job_progress(job, p0 + (p1 - p0) * 0.96, "row prefetcher (%s): %" G_GINT64_FORMAT " B-row requests",
                      fr_sparch_prefetch_name(cfg->prefetch), nreq);
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
      if (final_mat) {
        res->c = assemble_product(final_mat, &s.rows, b->ncols, final_col, final_val, error);
        if (res->c) final_col = NULL, final_val = NULL;
      }
      else res->c = fr_csr_new(a->nrows, b->ncols, 0, error);
      if (!res->c) failed = TRUE;
    }
  }
  fr_sp_mat_free(final_mat);
  g_free(final_col);
  g_free(final_val);
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
