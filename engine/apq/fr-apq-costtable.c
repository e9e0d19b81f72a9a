/* fr-apq-costtable.c: additive per-block cost tables over APQ design spaces. */
#include "fr-apq-costtable.h"

#include "fr-job.h"

#include <math.h>
#include <string.h>

struct _FrApqCostTable {
  gint ref_count;
  const FrApqSpace *space;
  int n_obj;
  char *names[FR_APQ_COST_MAX_OBJECTIVES], *units[FR_APQ_COST_MAX_OBJECTIVES];
  double fixed[FR_APQ_COST_MAX_OBJECTIVES];
  int block_off[FR_APQ_MAX_BLOCKS];   /* entry index of (block, ks 0, mid 0, code 0) */
  double *entries;                    /* [entry][n_obj] */
};

static inline int64_t entry_index(const FrApqCostTable *t, int b, int ks, int mid, int code) {
  return ((int64_t)t->block_off[b] + (int64_t)ks * t->space->blocks[b].n_mid + mid) * FR_APQ_N_BITS_CODES + code;
}

FrApqCostTable *fr_apq_cost_table_new(const FrApqSpace *s, int n_objectives, const char *const *names,
                                      const char *const *units, const double *fixed, FrApqBlockCostFn fn,
                                      void *user, GError **error) {
  if (!s || !fn || n_objectives < 1 || n_objectives > FR_APQ_COST_MAX_OBJECTIVES || !names) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "a cost table needs a space, a block cost function, names, and 1 to %d objectives (got %d)",
                FR_APQ_COST_MAX_OBJECTIVES, n_objectives);
    return NULL;
  }
  FrApqCostTable *t = g_new0(FrApqCostTable, 1);
  t->ref_count = 1;
  t->space = s;
  t->n_obj = n_objectives;
  for (int o = 0; o < n_objectives; o++) {
    t->names[o] = g_strdup(names[o] ? names[o] : "cost");
    t->units[o] = g_strdup(units && units[o] ? units[o] : "");
    t->fixed[o] = fixed ? fixed[o] : 0.0;
  }
  int64_t n_entries = 0;
  for (int b = 0; b < s->n_blocks; b++) {
    t->block_off[b] = (int)(n_entries / FR_APQ_N_BITS_CODES);
    n_entries += (int64_t)FR_APQ_N_KS * s->blocks[b].n_mid * FR_APQ_N_BITS_CODES;
  }
  t->entries = g_new(double, (size_t)n_entries * (size_t)n_objectives);
  const int *bo = s->bit_options;
  for (int b = 0; b < s->n_blocks; b++)
    for (int k = 0; k < FR_APQ_N_KS; k++)
      for (int m = 0; m < s->blocks[b].n_mid; m++)
        for (int code = 0; code < FR_APQ_N_BITS_CODES; code++) {
          int pw_w = 32, pw_a = 32, dw_w = 32, dw_a = 32;
          if (code != FR_APQ_BITS_CODE_FP) {
            pw_w = bo[code / 27];
            pw_a = bo[code / 9 % 3];
            dw_w = bo[code / 3 % 3];
            dw_a = bo[code % 3];
          }
          double *c = t->entries + entry_index(t, b, k, m, code) * n_objectives;
          if (!fn(s, b, s->ks_options[k], s->blocks[b].mid_options[m], pw_w, pw_a, dw_w, dw_a, c, user, error)) {
            if (error && !*error)
              g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_FAILED, "the block cost model failed on block %d", b);
            fr_apq_cost_table_unref(t);
            return NULL;
          }
          for (int o = 0; o < n_objectives; o++)   /* NaN means unavailable too, and must compare as such */
            if (!isfinite(c[o])) c[o] = INFINITY;
        }
  return t;
}

FrApqCostTable *fr_apq_cost_table_ref(FrApqCostTable *t) {
  g_atomic_int_inc(&t->ref_count);
  return t;
}

void fr_apq_cost_table_unref(FrApqCostTable *t) {
  if (!t || !g_atomic_int_dec_and_test(&t->ref_count)) return;
  for (int o = 0; o < t->n_obj; o++) {
    g_free(t->names[o]);
    g_free(t->units[o]);
  }
  g_free(t->entries);
  g_free(t);
}

const FrApqSpace *fr_apq_cost_table_space(const FrApqCostTable *t) { return t->space; }
int fr_apq_cost_table_n_objectives(const FrApqCostTable *t) { return t->n_obj; }
const char *fr_apq_cost_table_objective_name(const FrApqCostTable *t, int o) {
  return o >= 0 && o < t->n_obj ? t->names[o] : NULL;
}
const char *fr_apq_cost_table_objective_unit(const FrApqCostTable *t, int o) {
  return o >= 0 && o < t->n_obj ? t->units[o] : NULL;
}
int fr_apq_cost_table_find_objective(const FrApqCostTable *t, const char *name) {
  for (int o = 0; name && o < t->n_obj; o++)
    if (!strcmp(t->names[o], name)) return o;
  return -1;
}
const double *fr_apq_cost_table_fixed(const FrApqCostTable *t) { return t->fixed; }

const double *fr_apq_cost_table_entry(const FrApqCostTable *t, int block, int ks_idx, int mid_idx, int bits_code) {
  return t->entries + entry_index(t, block, ks_idx, mid_idx, bits_code) * t->n_obj;
}

gboolean fr_apq_cost_table_eval_genome(const FrApqCostTable *t, const FrApqGenome *g, double *costs) {
  const FrApqSpace *s = t->space;
  const int n = t->n_obj;
  double c[FR_APQ_COST_MAX_OBJECTIVES];
  for (int o = 0; o < n; o++) c[o] = t->fixed[o];
  for (int b = 0; b < s->n_blocks; b++) {
    const FrApqBlock *bl = &s->blocks[b];
    if (bl->pos >= g->depth[bl->stage]) continue;
    const double *e = t->entries + entry_index(t, b, g->ks[b], g->mid[b], fr_apq_genome_bits_code(g, b)) * n;
    for (int o = 0; o < n; o++) c[o] += e[o];
  }
  gboolean ok = TRUE;
  for (int o = 0; o < n; o++) {
    costs[o] = c[o];
    ok &= isfinite(c[o]);
  }
  return ok;
}

/* ---- index form ------------------------------------------------------------------------------- */

static int index_of(const int *opts, int n, int v) {
  for (int i = 0; i < n; i++)
    if (opts[i] == v) return i;
  return -1;
}

gboolean fr_apq_genome_from_spec(const FrApqSpace *s, const FrApqSpec *spec, FrApqGenome *g, GError **error) {
  if (!fr_apq_spec_validate(s, spec, error)) return FALSE;
  memset(g, 0, sizeof *g);
  for (int b = 0; b < s->n_blocks; b++) {
    g->ks[b] = (guint8)index_of(s->ks_options, FR_APQ_N_KS, spec->ks[b]);
    g->mid[b] = (guint8)index_of(s->blocks[b].mid_options, s->blocks[b].n_mid, spec->mid[b]);
    for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
      g->bits[q][b] = spec->quantized ? (guint8)index_of(s->bit_options, FR_APQ_N_BITS, spec->bits[q][b]) : FR_APQ_BIT_FP;
  }
  for (int st = 0; st < s->n_stages; st++) g->depth[st] = (guint8)spec->depth[st];
  return TRUE;
}

void fr_apq_genome_to_spec(const FrApqSpace *s, const FrApqGenome *g, FrApqSpec *spec) {
  memset(spec, 0, sizeof *spec);
  gboolean quantized = FALSE;
  for (int b = 0; b < s->n_blocks; b++) {
    spec->ks[b] = s->ks_options[g->ks[b]];
    spec->mid[b] = s->blocks[b].mid_options[g->mid[b]];
    for (int q = 0; q < FR_APQ_N_QGROUPS; q++) {
      spec->bits[q][b] = g->bits[q][b] == FR_APQ_BIT_FP ? 32 : s->bit_options[g->bits[q][b]];
      quantized |= g->bits[q][b] != FR_APQ_BIT_FP;
    }
  }
  for (int st = 0; st < s->n_stages; st++) spec->depth[st] = g->depth[st];
  spec->quantized = quantized;
}

gboolean fr_apq_cost_table_eval(const FrApqCostTable *t, const FrApqSpec *spec, double *costs) {
  FrApqGenome g;
  if (!fr_apq_genome_from_spec(t->space, spec, &g, NULL)) {
    for (int o = 0; o < t->n_obj; o++) costs[o] = NAN;
    return FALSE;
  }
  return fr_apq_cost_table_eval_genome(t, &g, costs);
}

void fr_apq_cost_table_min(const FrApqCostTable *t, bool quantized, double *min_costs) {
  const FrApqSpace *s = t->space;
  for (int o = 0; o < t->n_obj; o++) {
    double total = t->fixed[o];
    for (int st = 0; st < s->n_stages; st++) {
      double best_stage = INFINITY, prefix = 0;
      int lo = MIN(s->depth_min, s->stage_max_depth[st]);
      for (int b = 0; b < s->n_blocks; b++) {
        const FrApqBlock *bl = &s->blocks[b];
        if (bl->stage != st) continue;
        double m = INFINITY;
        for (int k = 0; k < FR_APQ_N_KS; k++)
          for (int i = 0; i < bl->n_mid; i++) {
            if (!quantized) {
              m = MIN(m, fr_apq_cost_table_entry(t, b, k, i, FR_APQ_BITS_CODE_FP)[o]);
              continue;
            }
            for (int code = 0; code < FR_APQ_BITS_CODE_FP; code++) {
              /* a space's no_k7_dw_a4 rule: kernel 7 with 4-bit depthwise activations is no choice */
              if (s->no_k7_dw_a4 && s->ks_options[k] == 7 && s->bit_options[code % 3] == 4) continue;
              m = MIN(m, fr_apq_cost_table_entry(t, b, k, i, code)[o]);
            }
          }
        prefix += m;
        if (bl->pos + 1 >= lo) best_stage = MIN(best_stage, prefix);   /* depth pos + 1 */
      }
      total += best_stage;
    }
    min_costs[o] = total;
  }
}

/* ---- built-in MACs / BitOps -------------------------------------------------------------------- */

/* The same per-layer counts as fr-apq-space.c's spec_cost, block by block. */
static gboolean counts_block(const FrApqSpace *s, int b, int ks, int mid, int pw_w, int pw_a, int dw_w, int dw_a,
                             double *c, void *user, GError **error) {
  const FrApqBlock *bl = &s->blocks[b];
  double in2 = (double)bl->in_hw * bl->in_hw, out2 = (double)bl->out_hw * bl->out_hw, kk = (double)ks * ks;
  double expand = bl->cin * (double)mid * in2, dw = (double)mid * kk * out2, project = (double)mid * bl->cout * out2;
  c[0] = expand + dw + project;
  c[1] = expand * pw_w * pw_a + dw * dw_w * dw_a + project * pw_w * pw_a;
  return TRUE;
}

FrApqCostTable *fr_apq_cost_table_new_counts(const FrApqSpace *s) {
  /* The fixed parts (stem, any stem block, head, classifier) are whatever fr-apq-space counts beyond
   * the blocks: the smallest full-precision network's total minus its blocks. Every count is an
   * integer below 2^53, so the difference is exact and the table reproduces the space's totals. */
  FrApqSpec small;
  fr_apq_spec_smallest(s, 0, &small);
  double blocks[2] = { 0, 0 };
  for (int b = 0; b < s->n_blocks; b++) {
    if (!fr_apq_block_active(s, &small, b)) continue;
    double c[2];
    counts_block(s, b, small.ks[b], small.mid[b], 32, 32, 32, 32, c, NULL, NULL);
    blocks[0] += c[0];
    blocks[1] += c[1];
  }
  const double fixed[2] = { fr_apq_spec_macs(s, &small) - blocks[0], fr_apq_spec_bitops(s, &small) - blocks[1] };
  const char *names[2] = { "macs", "bitops" }, *units[2] = { "MACs", "BitOps" };
  return fr_apq_cost_table_new(s, 2, names, units, fixed, counts_block, NULL, NULL);
}
