/* fr-sparch-trace.c: the pipeline trace for visualisation, bounded by cfg->trace_max_samples.
 *
 * FIFO occupancy comes from a small cycle-level model of the merge tree, run on a window of rows of a
 * few sampled rounds (the simulator's own round timing is analytical): FIFOs of trace_fifo_depth
 * elements sit between layers; each cycle every merger (root first, so data advances one layer a
 * cycle) pops the smaller head of its two input FIFOs (both heads when the keys are equal: the adder
 * sums them) and pushes up to merger_width elements into its output FIFO while there is room; a
 * merger whose one input is exhausted drains the other. Leaf slots are refilled round-robin by the
 * multiplier array (`multipliers` products a cycle), intermediate slots by DRAM (bandwidth / clock /
 * element_bytes elements a cycle). */
#include "fr-sparch-private.h"

#include <string.h>

typedef struct {
  FrSparchTrace pub;          /* first: the public pointer is this struct's address */
  int64_t nodes_cap;
  int64_t fifo_cap;
  double *round_frac;         /* per FIFO sample: elements of its round before its window */
} TraceImpl;

FrSparchTrace *fr_sp_trace_new(const FrSparchConfig *cfg) {
  TraceImpl *ti = g_new0(TraceImpl, 1);
  FrSparchTrace *t = &ti->pub;
  t->n_layers = fr_sparch_config_layers(cfg);
  t->fifo_depth = cfg->trace_fifo_depth;
  t->comparator.width = cfg->merger_width;
  t->comparator.round = -1;
  t->comparator.layer = -1;
  t->comparator.row = -1;
  return t;
}

void fr_sparch_trace_free(FrSparchTrace *t) {
  if (!t) return;
  TraceImpl *ti = (TraceImpl *)t;
  g_free(t->fifo_cycle);
  g_free(t->fifo_round);
  g_free(t->fifo_fill);
  g_free(t->nodes);
  g_free(t->bin_hits);
  g_free(t->bin_misses);
  g_free(t->bin_cycle);
  FrSparchComparatorStep *c = &t->comparator;
  g_free(c->a_col);
  g_free(c->b_col);
  g_free(c->a_le_b);
  g_free(c->boundary);
  g_free(c->out_col);
  g_free(c->out_src);
  g_free(ti->round_frac);
  g_free(ti);
}

void fr_sp_trace_add_node(FrSparchTrace *t, FrSparchScheduleNode node) {
  TraceImpl *ti = (TraceImpl *)t;
  if (t->n_nodes == ti->nodes_cap) {
    ti->nodes_cap = ti->nodes_cap ? ti->nodes_cap * 2 : 64;
    t->nodes = g_renew(FrSparchScheduleNode, t->nodes, ti->nodes_cap);
  }
  t->nodes[t->n_nodes++] = node;
}

/* ---- FIFO samples ---- */

void fr_sp_fifo_sample_init(FrSpFifoSample *s, int n_slots) {
  memset(s, 0, sizeof *s);
  s->n_slots = n_slots;
  s->slot_is_leaf = g_new0(gboolean, n_slots);
  s->keys = g_new0(int64_t *, n_slots);
  s->n_keys = g_new0(int64_t, n_slots);
  s->cap_keys = g_new0(int64_t, n_slots);
}

void fr_sp_fifo_sample_push(FrSpFifoSample *s, int slot, int64_t key) {
  if (s->n_keys[slot] == s->cap_keys[slot]) {
    s->cap_keys[slot] = s->cap_keys[slot] ? 2 * s->cap_keys[slot] : 64;
    s->keys[slot] = g_renew(int64_t, s->keys[slot], s->cap_keys[slot]);
  }
  s->keys[slot][s->n_keys[slot]++] = key;
}

void fr_sp_fifo_sample_clear(FrSpFifoSample *s) {
  for (int i = 0; i < s->n_slots; i++) g_free(s->keys[i]);
  g_free(s->keys);
  g_free(s->n_keys);
  g_free(s->cap_keys);
  g_free(s->slot_is_leaf);
  memset(s, 0, sizeof *s);
}

typedef struct {
  int64_t *buf;
  int32_t head, count;
} Fifo;

static inline int64_t fifo_peek(const Fifo *f) { return f->buf[f->head]; }
static inline void fifo_pop(Fifo *f, int depth) {
  f->head = (f->head + 1) % depth;
  f->count--;
}
static inline void fifo_push(Fifo *f, int depth, int64_t k) {
  f->buf[(f->head + f->count) % depth] = k;
  f->count++;
}

void fr_sp_trace_fifo_model(FrSparchTrace *t, const FrSparchConfig *cfg, const FrSpFifoSample *s, int32_t round,
                            int64_t max_samples) {
  TraceImpl *ti = (TraceImpl *)t;
  const int L = t->n_layers, ways = cfg->merge_ways, D = t->fifo_depth, W = cfg->merger_width;
  /* FIFOs: layer l feeds its mergers from (ways >> l) FIFOs; index base[l] + j */
  int base[FR_SPARCH_MAX_LAYERS + 1];
  int nf = 0;
  for (int l = 0; l < L; l++) {
    base[l] = nf;
    nf += ways >> l;
  }
  base[L] = nf;
  Fifo *f = g_new0(Fifo, nf);
  int64_t *store = g_new(int64_t, (size_t)nf * D);
  for (int i = 0; i < nf; i++) f[i].buf = store + (size_t)i * D;
  gboolean *done = g_new0(gboolean, nf);   /* the stream into FIFO i has ended (upstream finished) */
  int64_t *src_pos = g_new0(int64_t, ways);
  for (int j = 0; j < ways; j++) done[j] = j >= s->n_slots || s->n_keys[j] == 0;
  int64_t total = 0;
  for (int j = 0; j < s->n_slots; j++) total += s->n_keys[j];
  const int mult_rate = cfg->multipliers;
  int dram_rate = (int)(cfg->bandwidth_bytes_per_s / cfg->clock_hz / cfg->element_bytes);
  if (dram_rate < 1) dram_rate = 1;
  GArray *fill = g_array_new(FALSE, FALSE, sizeof(float));
  int64_t cycles = 0, limit = 16 * total + 10000;
  int rr_leaf = 0, rr_dram = 0;
  gboolean root_done = FALSE;
  while (!root_done && cycles < limit) {
    /* mergers, root first */
    for (int l = L - 1; l >= 0; l--) {
      int nm = ways >> (l + 1);
      for (int q = 0; q < nm; q++) {
        Fifo *a = &f[base[l] + 2 * q], *b = &f[base[l] + 2 * q + 1];
        gboolean ad = done[base[l] + 2 * q], bd = done[base[l] + 2 * q + 1];
        Fifo *o = l == L - 1 ? NULL : &f[base[l + 1] + q];
        int emitted = 0;
        while (emitted < W) {
          if (o && o->count == D) break;
          int64_t key;
          if (a->count && b->count) {
            int64_t x = fifo_peek(a), y = fifo_peek(b);
            key = x < y ? x : y;
            if (x <= y) fifo_pop(a, D);
            if (y <= x) fifo_pop(b, D);
          } else if (a->count && bd) {
            key = fifo_peek(a);
            fifo_pop(a, D);
          } else if (b->count && ad) {
            key = fifo_peek(b);
            fifo_pop(b, D);
          } else {
            break;
          }
          if (o) fifo_push(o, D, key);
          emitted++;
        }
        gboolean fin = ad && bd && !a->count && !b->count;
        if (l == L - 1) root_done = fin;
        else done[base[l + 1] + q] = fin;
      }
    }
    /* sources: the multiplier array feeds leaf slots, DRAM feeds intermediate slots */
    for (int pass = 0; pass < 2; pass++) {
      gboolean leaf = pass == 0;
      int budget = leaf ? mult_rate : dram_rate;
      int *rr = leaf ? &rr_leaf : &rr_dram;
      int idle = 0;
      while (budget > 0 && idle < ways) {
        int j = *rr;
        *rr = (*rr + 1) % ways;
        gboolean mine = j < s->n_slots && s->slot_is_leaf[j] == leaf;
        if (mine && src_pos[j] < s->n_keys[j] && f[j].count < D) {
          fifo_push(&f[j], D, s->keys[j][src_pos[j]++]);
          budget--;
          idle = 0;
        } else {
          idle++;
        }
      }
    }
    for (int j = 0; j < ways; j++) done[j] = j >= s->n_slots || src_pos[j] >= s->n_keys[j];
    /* occupancy at the end of the cycle */
    for (int l = 0; l < L; l++) {
      int64_t occ = 0;
      for (int i = base[l]; i < base[l + 1]; i++) occ += f[i].count;
      float v = (float)((double)occ / ((double)(base[l + 1] - base[l]) * D));
      g_array_append_val(fill, v);
    }
    cycles++;
  }
  /* decimate into at most max_samples samples (means over groups of cycles) */
  if (max_samples < 1) max_samples = 1;
  int64_t stride = (cycles + max_samples - 1) / max_samples;
  if (stride < 1) stride = 1;
  int64_t ns = (cycles + stride - 1) / stride;
  int64_t need = t->n_fifo + ns;
  if (need > ti->fifo_cap) {
    ti->fifo_cap = MAX(need, ti->fifo_cap * 2);
    t->fifo_cycle = g_renew(int64_t, t->fifo_cycle, ti->fifo_cap);
    t->fifo_round = g_renew(int32_t, t->fifo_round, ti->fifo_cap);
    t->fifo_fill = g_renew(float, t->fifo_fill, ti->fifo_cap * (L > 0 ? L : 1));
    ti->round_frac = g_renew(double, ti->round_frac, ti->fifo_cap);
  }
  const float *fv = (const float *)fill->data;
  for (int64_t k = 0; k < ns; k++) {
    int64_t c0 = k * stride, c1 = MIN(cycles, c0 + stride);
    int64_t idx = t->n_fifo + k;
    t->fifo_cycle[idx] = c0;
    t->fifo_round[idx] = round;
    ti->round_frac[idx] = s->window_offset_elements;  /* turned into a fraction by the caller's totals */
    for (int l = 0; l < L; l++) {
      double acc = 0;
      for (int64_t c = c0; c < c1; c++) acc += fv[c * L + l];
      t->fifo_fill[idx * L + l] = (float)(acc / (double)(c1 - c0));
    }
  }
  t->n_fifo += ns;
  g_array_free(fill, TRUE);
  g_free(src_pos);
  g_free(done);
  g_free(store);
  g_free(f);
}

void fr_sp_trace_finish(FrSparchTrace *t, const FrSparchRound *rounds, int64_t n_rounds,
                        const int64_t *round_request_start) {
  TraceImpl *ti = (TraceImpl *)t;
  for (int64_t k = 0; k < t->n_fifo; k++) {
    int32_t r = t->fifo_round[k];
    if (r < 0 || r >= n_rounds) continue;
    const FrSparchRound *rd = &rounds[r];
    double frac = rd->elements_in > 0 ? ti->round_frac[k] / (double)rd->elements_in : 0.0;
    t->fifo_cycle[k] += rd->start_cycle + (int64_t)(frac * (double)rd->cycles);
  }
  int64_t r = 0;
  for (int64_t k = 0; k < t->n_bins; k++) {
    int64_t q = k * t->bin_requests;
    while (r + 1 < n_rounds && round_request_start[r + 1] <= q) r++;
    if (n_rounds == 0) break;
    int64_t span = round_request_start[r + 1] - round_request_start[r];
    double frac = span > 0 ? (double)(q - round_request_start[r]) / (double)span : 0.0;
    t->bin_cycle[k] = rounds[r].start_cycle + (int64_t)(frac * (double)rounds[r].cycles);
  }
}

/* ---- comparator step ---- */

void fr_sp_trace_offer_comparator(FrSparchComparatorStep *st, int width, const int32_t *a, int64_t na,
                                  const int32_t *b, int64_t nb, int32_t round, int32_t layer, int64_t row) {
  int64_t w = MIN(MIN(na, nb), width);
  if (st->valid && st->width >= w) return;  /* keep the first, unless this one is wider */
  if (!st->a_col) {
    st->a_col = g_new0(int32_t, width);
    st->b_col = g_new0(int32_t, width);
  }
  st->valid = TRUE;
  st->width = (int32_t)w;
  memcpy(st->a_col, a, (size_t)w * sizeof(int32_t));
  memcpy(st->b_col, b, (size_t)w * sizeof(int32_t));
  st->round = round;
  st->layer = layer;
  st->row = row;
}

void fr_sp_trace_comparator_finish(FrSparchComparatorStep *st) {
  if (!st->valid) {
    st->width = 0;
    return;
  }
  int w = st->width;
  st->a_le_b = g_new0(uint8_t, (size_t)w * w);
  st->boundary = g_new0(int32_t, w > 0 ? w : 1);
  st->out_col = g_new0(int32_t, w > 0 ? w : 1);
  st->out_src = g_new0(uint8_t, w > 0 ? w : 1);
  for (int i = 0; i < w; i++)
    for (int j = 0; j < w; j++) st->a_le_b[i * w + j] = st->a_col[i] <= st->b_col[j];
  for (int i = 0; i < w; i++) {
    int c = 0;
    for (int j = 0; j < w; j++) c += st->b_col[j] < st->a_col[i];
    st->boundary[i] = c;
    int pos = i + c;
    if (pos < w) {
      st->out_col[pos] = st->a_col[i];
      st->out_src[pos] = 0;
    }
  }
  for (int j = 0; j < w; j++) {
    int c = 0;
    for (int i = 0; i < w; i++) c += st->a_col[i] <= st->b_col[j];
    int pos = j + c;
    if (pos < w) {
      st->out_col[pos] = st->b_col[j];
      st->out_src[pos] = 1;
    }
  }
}
