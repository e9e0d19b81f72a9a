/* fr-apq-search.c: APQ's evolution and NSGA-II over an APQ design space, on a cost table and a
 * one-hot predictor plan. Candidates are genomes (indices into the option lists); costs are table
 * lookups; each generation's children are scored in one batch (fr_apq_predictor_plan_predict_onehot).
 * All random draws happen on the calling thread, so a seed gives the same run. */
#include "fr-apq-search.h"

#include "fr-rng.h"

#include <math.h>
#include <string.h>

#define MAXO FR_APQ_COST_MAX_OBJECTIVES
#define MAXD (MAXO + 1)             /* dominance objectives: accuracy + costs */
#define INIT_UNIFORM_DRAWS 100      /* uniform draws before the sampler leans towards cheap genes */
#define INIT_RAMP_DRAWS 1000        /* draws over which that lean grows to 1 */
#define INIT_MAX_DRAWS 2000
#define CHILD_MAX_DRAWS 1000
#define MAX_POOL 4096                /* population + one generation's children (NSGA-II sorts them in O(n^2) memory) */
#define MAX_GENERATIONS 100000000

typedef struct {
  FrApqGenome g;
  guint32 id;
  float acc;                 /* NAN without a predictor */
  double cost[MAXO];
  double v[MAXD];            /* objectives in minimisation form */
  int rank;
  double crowd;
} Cand;

typedef struct {
  const FrApqSpace *s;
  const FrApqCostTable *t;
  const FrApqPredictorPlan *plan;   /* NULL: cost-only */
  FrApqSearchConfig cfg;
  FrApqSearchMode mode;
  int n_obj;
  gboolean has_acc;
  FrApqGenome base;
  int n_dom;
  int dom_src[MAXD];         /* -1 accuracy, else a cost objective */
  double dom_sign[MAXD];     /* +1 minimise, -1 maximise */
  int rule_ks, rule_bits;    /* no_k7_dw_a4: the indices of kernel 7 and of 4 bits; rule_ks -1 if no rule */
  guint8 cheap_ks[FR_APQ_MAX_BLOCKS], cheap_mid[FR_APQ_MAX_BLOCKS], cheap_bits[FR_APQ_N_QGROUPS][FR_APQ_MAX_BLOCKS];
  FrRng rng;
  guint32 next_id;
  guint64 n_eval, n_rejected, n_fallbacks, n_predicted;
  /* memo of predictions (cfg.memoize) */
  GArray *memo;              /* MemoEntry */
  guint memo_base;           /* first entry of the batch being scored */
  int *memo_slots, memo_cap;
  int *row_of;               /* per candidate of a batch: its row (relative to memo_base when memoized) */
  /* scratch */
  int cap;                   /* candidates per batch / pool */
  int32_t *row_ptr, *idx;
  float *y;
  int *dom_count, *dom_list, *dom_n, *tmp_idx;
  Cand *best;                /* best so far (a copy) */
  gboolean have_best;
  /* job */
  FrJob *job;
  const char *phase;
  double frac0, frac_span;
} Search;

void fr_apq_search_config_init(FrApqSearchConfig *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->mode = FR_APQ_SEARCH_EVOLUTION;
  cfg->population = 100;
  cfg->parents = 25;
  cfg->mutants = 50;
  cfg->crossovers = 50;
  cfg->mutation_prob = 0.1;
  cfg->generations = 500;
  cfg->seed = 1;
  for (int o = 0; o < MAXO; o++) {
    cfg->budget[o] = INFINITY;
    cfg->objective_sense[o] = FR_APQ_OBJ_MINIMIZE;
  }
  cfg->axes = FR_APQ_AXIS_ALL;
  cfg->memoize = TRUE;
}

guint64 fr_apq_search_expected_evaluations(const FrApqSearchConfig *cfg) {
  return (guint64)cfg->population + (guint64)cfg->generations * (guint64)(cfg->mutants + cfg->crossovers);
}

void fr_apq_search_result_free(FrApqSearchResult *r) {
  if (!r) return;
  g_free(r->note);
  g_free(r->front);
  g_free(r->best_history);
  g_free(r);
}

void fr_apq_search_comparison_free(FrApqSearchComparison *c) {
  if (!c) return;
  fr_apq_search_result_free(c->joint);
  for (int i = 0; i < 3; i++) fr_apq_search_result_free(c->stages[i]);
  g_free(c->sequential_error);
  g_free(c);
}

/* ---- genes ------------------------------------------------------------------------------------ */

static inline int depth_lo(const FrApqSpace *s, int st) { return MIN(s->depth_min, s->stage_max_depth[st]); }

static inline gboolean block_active(const FrApqSpace *s, const FrApqGenome *g, int b) {
  return s->blocks[b].pos < g->depth[s->blocks[b].stage];
}

static void draw_block_once(Search *S, FrApqGenome *g, int b, double q);

static inline gboolean coin(Search *S, double q) { return q > 0 && fr_rng_uniform(&S->rng) < q; }

static inline gboolean breaks_rule(const Search *S, const FrApqGenome *g, int b) {
  return S->rule_ks >= 0 && g->ks[b] == S->rule_ks && g->bits[FR_APQ_DW_A][b] == S->rule_bits;
}

/* New values for the searched genes of block b; q: chance of each taking its cheapest value. A
 * block that breaks the space's rule (no_k7_dw_a4: kernel 7 with 4-bit depthwise activations) is
 * drawn again. The reference rejects the whole spec instead: for a random spec (blocks drawn
 * independently) the accepted draws have the same distribution, at a ninth of the draws; in a
 * mutation the rate at which blocks change stays exactly mutation_prob. */
static void draw_block(Search *S, FrApqGenome *g, int b, double q) {
  for (int tries = 0; tries < 1000; tries++) {
    draw_block_once(S, g, b, q);
    if (!breaks_rule(S, g, b)) return;
  }
}

static void draw_block_once(Search *S, FrApqGenome *g, int b, double q) {
  const unsigned ax = S->cfg.axes;
  if (ax & FR_APQ_AXIS_ARCH)
    g->ks[b] = coin(S, q) ? S->cheap_ks[b] : (guint8)fr_rng_below(&S->rng, FR_APQ_N_KS);
  if (ax & FR_APQ_AXIS_WIDTH)
    g->mid[b] = coin(S, q) ? S->cheap_mid[b] : (guint8)fr_rng_below(&S->rng, (uint64_t)S->s->blocks[b].n_mid);
  if (ax & FR_APQ_AXIS_BITS)
    for (int k = 0; k < FR_APQ_N_QGROUPS; k++)
      g->bits[k][b] = coin(S, q) ? S->cheap_bits[k][b] : (guint8)fr_rng_below(&S->rng, FR_APQ_N_BITS);
}

static void draw_depth(Search *S, FrApqGenome *g, int st, double q) {
  int lo = depth_lo(S->s, st);
  g->depth[st] = coin(S, q) ? (guint8)lo : (guint8)(lo + (int)fr_rng_below(&S->rng, (uint64_t)(S->s->stage_max_depth[st] - lo + 1)));
}

static void random_genome(Search *S, FrApqGenome *g, double q) {
  *g = S->base;
  for (int b = 0; b < S->s->n_blocks; b++) draw_block(S, g, b, q);
  if (S->cfg.axes & FR_APQ_AXIS_ARCH)
    for (int st = 0; st < S->s->n_stages; st++) draw_depth(S, g, st, q);
}

static void mutate(Search *S, const FrApqGenome *parent, FrApqGenome *child) {
  *child = *parent;
  const double p = S->cfg.mutation_prob;
  for (int b = 0; b < S->s->n_blocks; b++)
    if (fr_rng_uniform(&S->rng) < p) draw_block(S, child, b, 0);
  if (S->cfg.axes & FR_APQ_AXIS_ARCH)
    for (int st = 0; st < S->s->n_stages; st++)
      if (fr_rng_uniform(&S->rng) < p) draw_depth(S, child, st, 0);
}

static void crossover(Search *S, const FrApqGenome *a, const FrApqGenome *b, FrApqGenome *child) {
  *child = *a;
  for (int k = 0; k < S->s->n_blocks; k++) {
    if (fr_rng_uniform(&S->rng) < 0.5) continue;
    child->ks[k] = b->ks[k];
    child->mid[k] = b->mid[k];
    for (int q = 0; q < FR_APQ_N_QGROUPS; q++) child->bits[q][k] = b->bits[q][k];
  }
  for (int st = 0; st < S->s->n_stages; st++)
    if (fr_rng_uniform(&S->rng) >= 0.5) child->depth[st] = b->depth[st];
}

/* costs into c; TRUE when every cost is available and within its budget */
static gboolean feasible(Search *S, Cand *c) {
  if (!fr_apq_cost_table_eval_genome(S->t, &c->g, c->cost)) return FALSE;
  for (int o = 0; o < S->n_obj; o++)
    if (c->cost[o] > S->cfg.budget[o]) return FALSE;
  return TRUE;
}

static void new_candidate(Search *S, Cand *c) {
  c->id = S->next_id++;
  c->acc = NAN;
  c->rank = 0;
  c->crowd = 0;
}

/* An initial candidate within the budgets; FALSE when INIT_MAX_DRAWS draws found none. */
static gboolean sample_initial(Search *S, Cand *c) {
  for (int t = 0; t < INIT_MAX_DRAWS; t++) {
    double q = t < INIT_UNIFORM_DRAWS ? 0 : MIN(1.0, (double)(t - INIT_UNIFORM_DRAWS + 1) / INIT_RAMP_DRAWS);
    random_genome(S, &c->g, q);
    if (feasible(S, c)) {
      new_candidate(S, c);
      return TRUE;
    }
    S->n_rejected++;
  }
  return FALSE;
}

static void make_child(Search *S, const Cand *p1, const Cand *p2, Cand *c) {
  for (int t = 0; t < CHILD_MAX_DRAWS; t++) {
    if (p2) crossover(S, &p1->g, &p2->g, &c->g);
    else mutate(S, &p1->g, &c->g);
    if (feasible(S, c)) {
      new_candidate(S, c);
      return;
    }
    S->n_rejected++;
  }
  c->g = p1->g;   /* a feasible parent's copy rather than an endless loop */
  feasible(S, c);
  new_candidate(S, c);
  S->n_fallbacks++;
}

static gboolean same_network(const FrApqSpace *s, const FrApqGenome *a, const FrApqGenome *b) {
  if (memcmp(a->depth, b->depth, sizeof a->depth)) return FALSE;
  for (int k = 0; k < s->n_blocks; k++) {
    if (!block_active(s, a, k)) continue;
    if (a->ks[k] != b->ks[k] || a->mid[k] != b->mid[k]) return FALSE;
    for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
      if (a->bits[q][k] != b->bits[q][k]) return FALSE;
  }
  return TRUE;
}

/* ---- scoring ---------------------------------------------------------------------------------- */

static void set_objectives(Search *S, Cand *c) {
  for (int d = 0; d < S->n_dom; d++) {
    int src = S->dom_src[d];
    c->v[d] = src < 0 ? -(double)c->acc : S->dom_sign[d] * c->cost[src];
  }
}

/* ---- memo: predictions are a pure function of the network, and late in a search most children
 * (crossovers of near-identical parents, mutations of inactive blocks) are networks already
 * scored. Keyed on the canonical genome: inactive blocks zeroed (and the bits, for a predictor
 * without a bits branch). Open addressing over indices into a growing entry array. */

typedef struct {
  guint64 hash;
  float acc;
  FrApqGenome key;
} MemoEntry;

static void canonical(const Search *S, const FrApqGenome *g, FrApqGenome *k, gboolean bits) {
  memset(k, 0, sizeof *k);
  memcpy(k->depth, g->depth, sizeof k->depth);
  for (int b = 0; b < S->s->n_blocks; b++) {
    if (!block_active(S->s, g, b)) continue;
    k->ks[b] = g->ks[b];
    k->mid[b] = g->mid[b];
    if (bits)
      for (int q = 0; q < FR_APQ_N_QGROUPS; q++) k->bits[q][b] = g->bits[q][b];
  }
}

static guint64 hash_bytes(const void *p, size_t n) {
  const guint8 *b = p;
  guint64 h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

/* slot of key (an empty slot, -1, if absent) */
static gint64 memo_find(const Search *S, const FrApqGenome *key, guint64 h) {
  guint64 mask = (guint64)S->memo_cap - 1;
  for (guint64 i = h & mask;; i = (i + 1) & mask) {
    int e = S->memo_slots[i];
    if (e < 0) return (gint64)i;
    const MemoEntry *m = &g_array_index(S->memo, MemoEntry, e);
    if (m->hash == h && !memcmp(&m->key, key, sizeof *key)) return (gint64)i;
  }
}

static void memo_grow(Search *S) {
  int cap = S->memo_cap ? S->memo_cap * 2 : 4096;
  g_free(S->memo_slots);
  S->memo_slots = g_new(int, cap);
  S->memo_cap = cap;
  for (int i = 0; i < cap; i++) S->memo_slots[i] = -1;
  for (guint e = 0; e < S->memo->len; e++) {
    const MemoEntry *m = &g_array_index(S->memo, MemoEntry, e);
    S->memo_slots[memo_find(S, &m->key, m->hash)] = (int)e;
  }
}

/* Predicts c[0..n) (one batch for the networks not seen before) and counts them as evaluated. */
/* Entries kept before the memo starts over: bounds its memory (~MEMO_LIMIT genomes) in very long
 * runs; a forgotten network is simply predicted again, with the same result. */
#define MEMO_LIMIT (1 << 16)

static void memo_reset_if_full(Search *S) {
  if (S->memo->len < MEMO_LIMIT) return;
  g_array_set_size(S->memo, 0);
  S->memo_base = 0;
  for (int i = 0; i < S->memo_cap; i++) S->memo_slots[i] = -1;
}

static void score(Search *S, Cand *c, int n) {
  S->n_eval += (guint64)n;
  if (S->cfg.memoize) memo_reset_if_full(S);
  if (S->plan) {
    const FrApqSpace *s = S->s;
    const int A = s->arch_dim;
    const gboolean bits = fr_apq_predictor_plan_quant_dim(S->plan) > 0;
    int rows = 0, nnz = 0;
    for (int i = 0; i < n; i++) {
      const FrApqGenome *g = &c[i].g;
      if (S->cfg.memoize) {
        if ((guint64)(S->memo->len + 1) * 2 > (guint64)S->memo_cap) memo_grow(S);
        MemoEntry m;
        canonical(S, g, &m.key, bits);
        m.hash = hash_bytes(&m.key, sizeof m.key);
        gint64 slot = memo_find(S, &m.key, m.hash);
        int e = S->memo_slots[slot];
        if (e >= 0) {   /* seen before: in an earlier batch, or earlier in this one */
          S->row_of[i] = e - (int)S->memo_base;
          continue;
        }
        m.acc = NAN;
        S->memo_slots[slot] = (int)S->memo->len;
        g_array_append_val(S->memo, m);
      }
      S->row_of[i] = rows;
      S->row_ptr[rows] = nnz;
      for (int b = 0; b < s->n_blocks; b++) {
        if (!block_active(s, g, b)) continue;
        const FrApqBlock *bl = &s->blocks[b];
        S->idx[nnz++] = bl->feat_ks + g->ks[b];
        S->idx[nnz++] = bl->feat_mid + g->mid[b];
        if (!bits || g->bits[0][b] == FR_APQ_BIT_FP) continue;
        for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
          S->idx[nnz++] = A + (q * s->n_blocks + b) * FR_APQ_N_BITS + g->bits[q][b];
      }
      rows++;
    }
    S->row_ptr[rows] = nnz;
    fr_apq_predictor_plan_predict_onehot(S->plan, S->row_ptr, S->idx, rows, S->y);
    S->n_predicted += (guint64)rows;
    if (S->cfg.memoize) {
      /* this batch's new entries are memo[memo_base ..]; row r is entry memo_base + r */
      for (int r = 0; r < rows; r++) g_array_index(S->memo, MemoEntry, S->memo_base + (guint)r).acc = S->y[r];
      for (int i = 0; i < n; i++) c[i].acc = g_array_index(S->memo, MemoEntry, (guint)((int)S->memo_base + S->row_of[i])).acc;
      S->memo_base = S->memo->len;
    } else {
      for (int i = 0; i < n; i++) c[i].acc = S->y[S->row_of[i]];
    }
  }
  for (int i = 0; i < n; i++) set_objectives(S, &c[i]);
}

/* the best-so-far order: accuracy (or, cost-only, the first objective), then the first objective, then
 * the earlier id */
static gboolean better(const Search *S, const Cand *a, const Cand *b) {
  if (S->has_acc && a->acc != b->acc) return a->acc > b->acc;
  /* equal accuracy (e.g. every bit policy of one network under an fp32 predictor): the cheaper one,
   * so the best is never a dearer twin of a front member */
  if (a->v[0] != b->v[0]) return a->v[0] < b->v[0];
  return a->id < b->id;
}

static void track_best(Search *S, const Cand *c, int n) {
  for (int i = 0; i < n; i++)
    if (!S->have_best || better(S, &c[i], S->best)) {
      *S->best = c[i];
      S->have_best = TRUE;
    }
}

static double best_score(const Search *S) {
  if (!S->have_best) return NAN;
  if (S->has_acc) return S->best->acc;
  return S->best->cost[S->dom_src[0]];
}

/* ---- non-dominated sorting -------------------------------------------------------------------- */

static inline gboolean dominates(const double *a, const double *b, int k) {
  gboolean strict = FALSE;
  for (int j = 0; j < k; j++) {
    if (a[j] > b[j]) return FALSE;
    strict |= a[j] < b[j];
  }
  return strict;
}

/* Deb's fast non-dominated sort: sets c[i].rank (0 = first front); returns the number of fronts. */
static int nd_sort(Search *S, Cand *c, int n) {
  const int k = S->n_dom;
  int *count = S->dom_count, *list = S->dom_list, *nlist = S->dom_n, *cur = S->tmp_idx;
  for (int i = 0; i < n; i++) count[i] = nlist[i] = 0;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      if (dominates(c[i].v, c[j].v, k)) {
        list[(int64_t)i * n + nlist[i]++] = j;
        count[j]++;
      } else if (dominates(c[j].v, c[i].v, k)) {
        list[(int64_t)j * n + nlist[j]++] = i;
        count[i]++;
      }
    }
  int n_cur = 0;
  for (int i = 0; i < n; i++)
    if (!count[i]) cur[n_cur++] = i, c[i].rank = 0;
  int rank = 0, done = 0;
  while (n_cur) {
    done += n_cur;
    int n_next = 0;
    /* the next front is built in place after the current one's entries are consumed */
    int *next = cur + n_cur;
    for (int a = 0; a < n_cur; a++) {
      int i = cur[a];
      for (int m = 0; m < nlist[i]; m++) {
        int j = list[(int64_t)i * n + m];
        if (--count[j] == 0) {
          c[j].rank = rank + 1;
          next[n_next++] = j;
        }
      }
    }
    cur = next;
    n_cur = n_next;
    rank++;
  }
  g_assert(done == n);
  return rank;
}

typedef struct {
  const Cand *c;
  int obj;
} SortCtx;

static gint cmp_obj(gconstpointer pa, gconstpointer pb, gpointer data) {
  const SortCtx *x = data;
  const Cand *a = &x->c[*(const int *)pa], *b = &x->c[*(const int *)pb];
  if (a->v[x->obj] != b->v[x->obj]) return a->v[x->obj] < b->v[x->obj] ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

/* crowding distance of the members (indices) of one front */
static void crowding(Search *S, Cand *c, int *members, int m) {
  for (int i = 0; i < m; i++) c[members[i]].crowd = 0;
  for (int d = 0; d < S->n_dom; d++) {
    SortCtx x = { c, d };
    g_qsort_with_data(members, m, sizeof(int), cmp_obj, &x);
    double lo = c[members[0]].v[d], hi = c[members[m - 1]].v[d];
    c[members[0]].crowd = c[members[m - 1]].crowd = INFINITY;
    if (!(hi > lo)) continue;
    for (int i = 1; i + 1 < m; i++)
      c[members[i]].crowd += (c[members[i + 1]].v[d] - c[members[i - 1]].v[d]) / (hi - lo);
  }
}

static gint cmp_survivor(gconstpointer pa, gconstpointer pb, gpointer data) {
  const Cand *c = data, *a = &c[*(const int *)pa], *b = &c[*(const int *)pb];
  if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
  if (a->crowd != b->crowd) return a->crowd > b->crowd ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

/* ranks + crowding for all n, then order[] = the n indices best first (rank, then crowding) */
static void rank_and_crowd(Search *S, Cand *c, int n, int *order) {
  int n_fronts = nd_sort(S, c, n);
  int *members = g_new(int, n);
  for (int r = 0; r < n_fronts; r++) {
    int m = 0;
    for (int i = 0; i < n; i++)
      if (c[i].rank == r) members[m++] = i;
    if (m) crowding(S, c, members, m);
  }
  g_free(members);
  for (int i = 0; i < n; i++) order[i] = i;
  g_qsort_with_data(order, n, sizeof(int), cmp_survivor, c);
}

/* ---- events ----------------------------------------------------------------------------------- */

static void emit_generation(Search *S, Cand *c, int n, int gen) {
  if (!S->job) return;
  /* rank among the points shown; the search's own ranks are put back after */
  int *saved = g_new(int, n);
  for (int i = 0; i < n; i++) saved[i] = c[i].rank;
  nd_sort(S, c, n);
  const int no = S->n_obj;
  double *acc = g_new(double, n), *costs = g_new(double, (size_t)n * no);
  guint32 *ids = g_new(guint32, n), *ranks = g_new(guint32, n);
  int best = -1;
  for (int i = 0; i < n; i++) {
    acc[i] = c[i].acc;
    memcpy(costs + (size_t)i * no, c[i].cost, sizeof(double) * (size_t)no);
    ids[i] = c[i].id;
    ranks[i] = (guint32)c[i].rank;
    if (best < 0 || better(S, &c[i], &c[best])) best = i;
  }
  for (int i = 0; i < n; i++) c[i].rank = saved[i];
  g_free(saved);
  const Cand *b = S->best;
  GVariantBuilder specs;   /* so that any point shown can be inspected, not only the final front */
  g_variant_builder_init(&specs, G_VARIANT_TYPE_STRING_ARRAY);
  for (int i = 0; i < n; i++) {
    FrApqSpec spec;
    fr_apq_genome_to_spec(S->s, &c[i].g, &spec);
    g_variant_builder_add_value(&specs, g_variant_new_take_string(fr_apq_spec_to_string(S->s, &spec)));
  }
  fr_job_emit(S->job, "apq.search.generation",
              g_variant_new("(suut@ad@ad@au@auid@ad@as)", S->phase, (guint32)gen, (guint32)S->cfg.generations,
                            (guint64)S->n_eval,
                            g_variant_new_fixed_array(G_VARIANT_TYPE_DOUBLE, acc, (gsize)n, sizeof(double)),
                            g_variant_new_fixed_array(G_VARIANT_TYPE_DOUBLE, costs, (gsize)n * no, sizeof(double)),
                            g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, ids, (gsize)n, sizeof(guint32)),
                            g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, ranks, (gsize)n, sizeof(guint32)),
                            (gint32)best, (double)b->acc,
                            g_variant_new_fixed_array(G_VARIANT_TYPE_DOUBLE, b->cost, (gsize)no, sizeof(double)),
                            g_variant_builder_end(&specs)),
              NULL);
  g_free(acc);
  g_free(costs);
  g_free(ids);
  g_free(ranks);
  int every = MAX(1, S->cfg.generations / 100);
  if (gen % every == 0 || gen == S->cfg.generations) {
    double f = S->cfg.generations > 0 ? (double)gen / S->cfg.generations : 1.0;
    if (S->has_acc)
      fr_job_progress(S->job, S->frac0 + S->frac_span * f, "APQ search (%s): generation %d/%d, best predicted accuracy %.4f",
                      S->phase, gen, S->cfg.generations, best_score(S));
    else
      fr_job_progress(S->job, S->frac0 + S->frac_span * f, "APQ cost-only exploration (%s): generation %d/%d", S->phase,
                      gen, S->cfg.generations);
  }
}

static const char *mode_name(const Search *S) {
  return !S->has_acc ? "cost-only" : S->mode == FR_APQ_SEARCH_NSGA2 ? "nsga2" : "evolution";
}

static void emit_start(Search *S) {
  if (!S->job) return;
  GVariantBuilder names, units;
  g_variant_builder_init(&names, G_VARIANT_TYPE("as"));
  g_variant_builder_init(&units, G_VARIANT_TYPE("as"));
  for (int o = 0; o < S->n_obj; o++) {
    g_variant_builder_add(&names, "s", fr_apq_cost_table_objective_name(S->t, o));
    g_variant_builder_add(&units, "s", fr_apq_cost_table_objective_unit(S->t, o));
  }
  fr_job_emit(S->job, "apq.search.start",
              g_variant_new("(ssbuuasas@ad)", mode_name(S), S->phase, S->has_acc, (guint32)S->cfg.generations,
                            (guint32)S->n_obj, &names, &units,
                            g_variant_new_fixed_array(G_VARIANT_TYPE_DOUBLE, S->cfg.budget, (gsize)S->n_obj,
                                                      sizeof(double))),
              NULL);
  if (!S->has_acc)
    fr_job_log(S->job, "APQ search: no accuracy predictor, so this is a cost-only exploration (no accuracy is predicted)");
}

/* ---- setup ------------------------------------------------------------------------------------ */

static const char *axes_words(unsigned axes) {
  static const char *const words[8] = {
    "nothing", "kernels and depths", "mid channels", "kernels, depths and mid channels", "bits",
    "kernels, depths and bits", "mid channels and bits", "kernels, depths, mid channels and bits",
  };
  return words[axes & 7];
}

/* kernel index k with bits code: breaks the space's no_k7_dw_a4 rule? (dw_a is the code's last digit) */
static inline gboolean code_breaks_rule(const Search *S, int k, int code) {
  return S->rule_ks >= 0 && k == S->rule_ks && code != FR_APQ_BITS_CODE_FP && code % 3 == S->rule_bits;
}

/* Exact minimum of each objective over what the search can reach: the searched genes free, the
 * others as in the base. */
static void reachable_min(const Search *S, double *min_costs) {
  const FrApqSpace *s = S->s;
  const unsigned ax = S->cfg.axes;
  for (int o = 0; o < S->n_obj; o++) {
    double total = fr_apq_cost_table_fixed(S->t)[o];
    for (int st = 0; st < s->n_stages; st++) {
      double best_stage = INFINITY, prefix = 0;
      int lo = (ax & FR_APQ_AXIS_ARCH) ? depth_lo(s, st) : S->base.depth[st];
      int hi = (ax & FR_APQ_AXIS_ARCH) ? s->stage_max_depth[st] : S->base.depth[st];
      for (int b = 0; b < s->n_blocks; b++) {
        const FrApqBlock *bl = &s->blocks[b];
        if (bl->stage != st || bl->pos >= hi) continue;
        double m = INFINITY;
        int k0 = (ax & FR_APQ_AXIS_ARCH) ? 0 : S->base.ks[b], k1 = (ax & FR_APQ_AXIS_ARCH) ? FR_APQ_N_KS : k0 + 1;
        int m0 = (ax & FR_APQ_AXIS_WIDTH) ? 0 : S->base.mid[b], m1 = (ax & FR_APQ_AXIS_WIDTH) ? bl->n_mid : m0 + 1;
        int base_code = fr_apq_genome_bits_code(&S->base, b);
        int c0 = (ax & FR_APQ_AXIS_BITS) ? 0 : base_code, c1 = (ax & FR_APQ_AXIS_BITS) ? FR_APQ_BITS_CODE_FP : base_code + 1;
        for (int k = k0; k < k1; k++)
          for (int i = m0; i < m1; i++)
            for (int code = c0; code < c1; code++)
              if (!code_breaks_rule(S, k, code)) m = MIN(m, fr_apq_cost_table_entry(S->t, b, k, i, code)[o]);
        prefix += m;
        if (bl->pos + 1 >= lo) best_stage = MIN(best_stage, prefix);
      }
      total += best_stage;
    }
    min_costs[o] = total;
  }
}

/* Per block, the reachable choice with the least cost relative to the budgets. */
static void find_cheap_genes(Search *S, const double *min_costs) {
  const FrApqSpace *s = S->s;
  const unsigned ax = S->cfg.axes;
  double w[MAXO];
  gboolean any = FALSE;
  for (int o = 0; o < S->n_obj; o++) {
    double b = S->cfg.budget[o];
    w[o] = isfinite(b) && b > 0 ? 1.0 / b : 0.0;
    any |= w[o] > 0;
  }
  if (!any)
    for (int o = 0; o < S->n_obj; o++) w[o] = 1.0 / MAX(fabs(min_costs[o]), 1e-300);
  for (int b = 0; b < s->n_blocks; b++) {
    const FrApqBlock *bl = &s->blocks[b];
    S->cheap_ks[b] = S->base.ks[b];
    S->cheap_mid[b] = S->base.mid[b];
    for (int q = 0; q < FR_APQ_N_QGROUPS; q++) S->cheap_bits[q][b] = S->base.bits[q][b];
    double best = INFINITY;
    int k0 = (ax & FR_APQ_AXIS_ARCH) ? 0 : S->base.ks[b], k1 = (ax & FR_APQ_AXIS_ARCH) ? FR_APQ_N_KS : k0 + 1;
    int m0 = (ax & FR_APQ_AXIS_WIDTH) ? 0 : S->base.mid[b], m1 = (ax & FR_APQ_AXIS_WIDTH) ? bl->n_mid : m0 + 1;
    int base_code = fr_apq_genome_bits_code(&S->base, b);
    int c0 = (ax & FR_APQ_AXIS_BITS) ? 0 : base_code, c1 = (ax & FR_APQ_AXIS_BITS) ? FR_APQ_BITS_CODE_FP : base_code + 1;
    for (int k = k0; k < k1; k++)
      for (int i = m0; i < m1; i++)
        for (int code = c0; code < c1; code++) {
          if (code_breaks_rule(S, k, code)) continue;
          const double *e = fr_apq_cost_table_entry(S->t, b, k, i, code);
          double v = 0;
          for (int o = 0; o < S->n_obj; o++) v += isfinite(e[o]) ? w[o] * e[o] : INFINITY;
          if (v < best) {
            best = v;
            S->cheap_ks[b] = (guint8)k;
            S->cheap_mid[b] = (guint8)i;
            if (ax & FR_APQ_AXIS_BITS) {
              S->cheap_bits[0][b] = (guint8)(code / 27);
              S->cheap_bits[1][b] = (guint8)(code / 9 % 3);
              S->cheap_bits[2][b] = (guint8)(code / 3 % 3);
              S->cheap_bits[3][b] = (guint8)(code % 3);
            }
          }
        }
  }
}

static gboolean check_config(const FrApqSearchConfig *c, GError **error) {
  const char *bad = NULL;
  if (c->mode != FR_APQ_SEARCH_EVOLUTION && c->mode != FR_APQ_SEARCH_NSGA2) bad = "unknown mode";
  else if (c->population < 1 || c->population > MAX_POOL) bad = "population must be 1 to 4,096";
  else if (c->mode == FR_APQ_SEARCH_EVOLUTION && (c->parents < 1 || c->parents > c->population))
    bad = "parents must be 1 to the population size";
  else if (c->mutants < 0 || c->crossovers < 0 || c->population + c->mutants + c->crossovers > MAX_POOL)
    bad = "mutants and crossovers must be >= 0, and population + mutants + crossovers at most 4,096";
  else if (c->generations < 0 || c->generations > MAX_GENERATIONS) bad = "generations must be 0 to 100,000,000";
  else if (c->generations > 0 && c->mutants + c->crossovers < 1) bad = "a generation needs at least one mutant or crossover child";
  else if (!(c->mutation_prob >= 0 && c->mutation_prob <= 1)) bad = "mutation probability must be in [0, 1]";
  else if (!(c->axes & FR_APQ_AXIS_ALL) || (c->axes & ~(unsigned)FR_APQ_AXIS_ALL)) bad = "axes must name at least one of architecture, width, bits";
  for (int o = 0; !bad && o < MAXO; o++) {
    if (isnan(c->budget[o])) bad = "a budget is NaN (use INFINITY for none)";
    else if ((unsigned)c->objective_sense[o] > FR_APQ_OBJ_IGNORE) bad = "unknown objective sense";
  }
  if (bad) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "APQ search: %s", bad);
    return FALSE;
  }
  return TRUE;
}

static gboolean setup(Search *S, const FrApqCostTable *t, const FrApqPredictorPlan *plan, const FrApqSearchConfig *cfg,
                      GError **error) {
  memset(S, 0, sizeof *S);
  if (!t) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "APQ search: no cost table");
    return FALSE;
  }
  FrApqSearchConfig defaults;
  if (!cfg) {
    fr_apq_search_config_init(&defaults);
    cfg = &defaults;
  }
  if (!check_config(cfg, error)) return FALSE;
  const FrApqSpace *s = fr_apq_cost_table_space(t);
  S->s = s;
  S->t = t;
  S->plan = plan;
  S->cfg = *cfg;
  S->n_obj = fr_apq_cost_table_n_objectives(t);
  S->has_acc = plan != NULL;
  S->mode = plan ? cfg->mode : FR_APQ_SEARCH_NSGA2;
  S->phase = "search";
  S->frac_span = 1;
  for (int o = S->n_obj; o < MAXO; o++) S->cfg.budget[o] = INFINITY;
  if (plan && (fr_apq_predictor_plan_arch_dim(plan) != s->arch_dim ||
               (fr_apq_predictor_plan_quant_dim(plan) && fr_apq_predictor_plan_quant_dim(plan) != s->quant_dim))) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                "the predictor's input (%d + %d) does not fit the %s space (%d + %d, or %d + 0 for a full-precision "
                "predictor)", fr_apq_predictor_plan_arch_dim(plan), fr_apq_predictor_plan_quant_dim(plan), s->name,
                s->arch_dim, s->quant_dim, s->arch_dim);
    return FALSE;
  }
  /* the fixed genes */
  if (cfg->has_base) {
    GError *local = NULL;
    if (!fr_apq_genome_from_spec(s, &cfg->base, &S->base, &local)) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC, "APQ search: the base spec: %s", local->message);
      g_error_free(local);
      return FALSE;
    }
  } else {
    FrApqSpec largest;
    fr_apq_spec_largest(s, (cfg->axes & FR_APQ_AXIS_BITS) ? s->bit_options[FR_APQ_N_BITS - 1] : 0, &largest);
    fr_apq_genome_from_spec(s, &largest, &S->base, NULL);
  }
  if (cfg->axes & FR_APQ_AXIS_BITS)   /* searched bits are always quantized */
    for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
      for (int b = 0; b < s->n_blocks; b++)
        if (S->base.bits[q][b] == FR_APQ_BIT_FP) S->base.bits[q][b] = FR_APQ_N_BITS - 1;
  /* what is optimised: accuracy first, then the costs not ignored */
  if (S->has_acc) S->dom_src[S->n_dom] = -1, S->dom_sign[S->n_dom++] = -1;
  for (int o = 0; o < S->n_obj; o++) {
    if (cfg->objective_sense[o] == FR_APQ_OBJ_IGNORE) continue;
    S->dom_src[S->n_dom] = o;
    S->dom_sign[S->n_dom++] = cfg->objective_sense[o] == FR_APQ_OBJ_MAXIMIZE ? -1 : 1;
  }
  if (!S->n_dom) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "APQ search: nothing to optimise (no accuracy predictor, and every cost objective is ignored)");
    return FALSE;
  }
  S->rule_ks = S->rule_bits = -1;
  for (int i = 0; s->no_k7_dw_a4 && i < FR_APQ_N_KS; i++)
    if (s->ks_options[i] == 7) S->rule_ks = i;
  for (int i = 0; i < FR_APQ_N_BITS; i++)
    if (s->bit_options[i] == 4) S->rule_bits = i;
  if (S->rule_bits < 0) S->rule_ks = -1;
  /* impossible budgets fail here, with the exact minimum */
  double min_costs[MAXO];
  reachable_min(S, min_costs);
  for (int o = 0; o < S->n_obj; o++) {
    const char *name = fr_apq_cost_table_objective_name(t, o), *unit = fr_apq_cost_table_objective_unit(t, o);
    if (!isfinite(min_costs[o])) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_BUDGET,
                  "no network in the %s space has a %s figure in this cost model with %s searched and the rest "
                  "fixed as given (is full precision, or some fixed choice, unavailable in the model?)",
                  s->name, name, axes_words(cfg->axes));
      return FALSE;
    }
    if (min_costs[o] > S->cfg.budget[o]) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_BUDGET,
                  "the %s budget %.6g %s is below the cheapest network in the %s space%s: the minimum is %.6g %s",
                  name, S->cfg.budget[o], unit, s->name,
                  cfg->axes == FR_APQ_AXIS_ALL ? "" : " with only some axes searched", min_costs[o], unit);
      return FALSE;
    }
  }
  find_cheap_genes(S, min_costs);
  fr_rng_seed(&S->rng, cfg->seed);
  /* scratch: the largest pool is population (or parents) + one generation's children */
  S->cap = MAX(cfg->population, (S->mode == FR_APQ_SEARCH_EVOLUTION ? MIN(cfg->parents, cfg->population) : cfg->population) +
                                    cfg->mutants + cfg->crossovers);
  int per_row = 2 * s->n_blocks + FR_APQ_N_QGROUPS * s->n_blocks;
  S->row_ptr = g_new(int32_t, S->cap + 1);
  S->idx = g_new(int32_t, (size_t)S->cap * per_row);
  S->y = g_new(float, S->cap);
  S->dom_count = g_new(int, S->cap);
  S->dom_n = g_new(int, S->cap);
  S->dom_list = g_new(int, (size_t)S->cap * S->cap);
  S->tmp_idx = g_new(int, 2 * (size_t)S->cap);
  S->row_of = g_new(int, S->cap);
  S->memo = g_array_new(FALSE, FALSE, sizeof(MemoEntry));
  S->best = g_new0(Cand, 1);
  return TRUE;
}

static void teardown(Search *S) {
  g_free(S->row_ptr);
  g_free(S->idx);
  g_free(S->y);
  g_free(S->dom_count);
  g_free(S->dom_n);
  g_free(S->dom_list);
  g_free(S->tmp_idx);
  g_free(S->best);
  g_free(S->row_of);
  g_free(S->memo_slots);
  if (S->memo) g_array_free(S->memo, TRUE);
}

/* ---- result ----------------------------------------------------------------------------------- */

static void to_point(const Search *S, const Cand *c, FrApqSearchPoint *p) {
  fr_apq_genome_to_spec(S->s, &c->g, &p->spec);
  p->accuracy = c->acc;
  for (int o = 0; o < MAXO; o++) p->costs[o] = o < S->n_obj ? c->cost[o] : 0;
}

static gint cmp_front(gconstpointer pa, gconstpointer pb, gpointer data) {
  const Search *S = data;
  const Cand *a = *(Cand *const *)pa, *b = *(Cand *const *)pb;
  return better(S, a, b) ? -1 : better(S, b, a) ? 1 : 0;
}

static FrApqSearchResult *make_result(Search *S, Cand *pool, int n, double *history, int gens_done, gboolean complete,
                                      double seconds) {
  FrApqSearchResult *r = g_new0(FrApqSearchResult, 1);
  r->mode = S->mode;
  r->has_accuracy = S->has_acc;
  r->complete = complete;
  r->n_objectives = S->n_obj;
  if (!S->has_acc)
    r->note = g_strdup("cost-only exploration: no accuracy predictor was given, so no accuracy is predicted "
                       "(accuracy is NaN); the front is over the costs alone");
  else if (fr_apq_predictor_plan_quant_dim(S->plan) == 0 && (S->cfg.axes & FR_APQ_AXIS_BITS))
    r->note = g_strdup("the predictor is full precision: the bit policy does not change its predictions");
  else
    r->note = g_strdup_printf("%s search of %s; accuracy is the predictor's",
                              S->mode == FR_APQ_SEARCH_NSGA2 ? "NSGA-II" : "evolutionary", axes_words(S->cfg.axes));
  if (S->have_best) to_point(S, S->best, &r->best);
  else r->best.accuracy = NAN;
  /* the front of the final population, one entry per distinct network */
  if (n > 0) {
    nd_sort(S, pool, n);
    Cand **f = g_new(Cand *, n);
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (pool[i].rank) continue;
      gboolean dup = FALSE;
      for (int j = 0; j < m && !dup; j++) dup = same_network(S->s, &f[j]->g, &pool[i].g);
      if (!dup) f[m++] = &pool[i];
    }
    g_qsort_with_data(f, m, sizeof(Cand *), cmp_front, S);
    r->front = g_new(FrApqSearchPoint, m);
    for (int i = 0; i < m; i++) to_point(S, f[i], &r->front[i]);
    r->n_front = m;
    g_free(f);
  }
  r->best_history = history;
  r->generations_done = gens_done;
  r->n_evaluations = S->n_eval;
  r->n_rejected = S->n_rejected;
  r->n_fallbacks = S->n_fallbacks;
  r->n_predicted = S->n_predicted;
  r->seconds = seconds;
  return r;
}

/* ---- the searches ----------------------------------------------------------------------------- */

static gint cmp_acc(gconstpointer pa, gconstpointer pb, gpointer data) {
  const Search *S = data;
  const Cand *a = pa, *b = pb;
  return better(S, a, b) ? -1 : better(S, b, a) ? 1 : 0;
}

static gboolean initial_population(Search *S, Cand *pool, int n, GError **error) {
  int i = 0;
  if (S->cfg.has_base && S->cfg.seed_base) {
    pool[0].g = S->base;
    if (feasible(S, &pool[0])) {
      new_candidate(S, &pool[0]);
      i = 1;
    }
  }
  for (; i < n; i++)
    if (!sample_initial(S, &pool[i])) {
      GString *msg = g_string_new(NULL);
      for (int o = 0; o < S->n_obj; o++)
        if (isfinite(S->cfg.budget[o]))
          g_string_append_printf(msg, "%s%s <= %.6g %s", msg->len ? ", " : "", fr_apq_cost_table_objective_name(S->t, o),
                                 S->cfg.budget[o], fr_apq_cost_table_objective_unit(S->t, o));
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_BUDGET,
                  "no network meets all the budgets together (%s): each is reachable alone, but %d draws, ending "
                  "with the cheapest genes, found none", msg->str, INIT_MAX_DRAWS);
      g_string_free(msg, TRUE);
      return FALSE;
    }
  score(S, pool, n);
  track_best(S, pool, n);
  return TRUE;
}

static gboolean cancelled(Search *S, int gen, GError **error) {
  if (!S->job || !fr_job_is_cancelled(S->job)) return FALSE;
  g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "APQ search cancelled after generation %d of %d", gen,
              S->cfg.generations);
  return TRUE;
}

/* Runs the configured search. Returns the result (partial after a cancel, with error set), or NULL
 * with error when it could not start. */
static FrApqSearchResult *run_search(Search *S, GError **error) {
  const FrApqSearchConfig *c = &S->cfg;
  gint64 t0 = g_get_monotonic_time();
  Cand *pool = g_new0(Cand, S->cap), *next = g_new0(Cand, S->cap);
  double *history = g_new(double, (size_t)c->generations + 1);
  int *order = g_new(int, S->cap);
  int n = c->population, gen = 0;
  gboolean ok = TRUE;
  emit_start(S);
  if (!initial_population(S, pool, n, error)) {
    g_free(pool);
    g_free(next);
    g_free(history);
    g_free(order);
    return NULL;
  }
  if (S->mode == FR_APQ_SEARCH_NSGA2) rank_and_crowd(S, pool, n, order);
  history[0] = best_score(S);
  emit_generation(S, pool, n, 0);
  const int kids = c->mutants + c->crossovers;
  for (gen = 1; gen <= c->generations; gen++) {
    if (cancelled(S, gen - 1, error)) {
      ok = FALSE;
      gen--;
      break;
    }
    if (S->mode == FR_APQ_SEARCH_EVOLUTION) {
      /* the top `parents` survive; children are bred from them */
      g_qsort_with_data(pool, n, sizeof(Cand), cmp_acc, S);
      int np = MIN(c->parents, n);
      Cand *kid = pool + np;
      for (int i = 0; i < c->mutants; i++) make_child(S, &pool[fr_rng_below(&S->rng, (uint64_t)np)], NULL, &kid[i]);
      for (int i = 0; i < c->crossovers; i++) {
        const Cand *a = &pool[fr_rng_below(&S->rng, (uint64_t)np)], *b = &pool[fr_rng_below(&S->rng, (uint64_t)np)];
        make_child(S, a, b, &kid[c->mutants + i]);
      }
      score(S, kid, kids);
      track_best(S, kid, kids);
      n = np + kids;
    } else {
      /* binary tournaments on (rank, crowding) pick parents; parents + children compete for the places */
      Cand *kid = pool + n;
      for (int i = 0; i < kids; i++) {
        const Cand *pa[2];
        for (int k = 0; k < (i < c->mutants ? 1 : 2); k++) {
          int x = (int)fr_rng_below(&S->rng, (uint64_t)n), y = (int)fr_rng_below(&S->rng, (uint64_t)n);
          int sx = 0;
          if (pool[x].rank != pool[y].rank) sx = pool[x].rank < pool[y].rank ? 0 : 1;
          else if (pool[x].crowd != pool[y].crowd) sx = pool[x].crowd > pool[y].crowd ? 0 : 1;
          pa[k] = &pool[sx ? y : x];
        }
        make_child(S, pa[0], i < c->mutants ? NULL : pa[1], &kid[i]);
      }
      score(S, kid, kids);
      track_best(S, kid, kids);
      int total = n + kids;
      rank_and_crowd(S, pool, total, order);
      n = MIN(c->population, total);
      for (int i = 0; i < n; i++) next[i] = pool[order[i]];
      memcpy(pool, next, sizeof(Cand) * (size_t)n);
    }
    history[gen] = best_score(S);
    emit_generation(S, pool, n, gen);
  }
  if (ok) gen = c->generations;
  double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
  FrApqSearchResult *r = make_result(S, pool, n, history, gen, ok, secs);
  if (S->job && ok) {
    g_autofree char *spec = fr_apq_spec_to_string(S->s, &r->best.spec);
    fr_job_emit(S->job, "apq.search.result",
                g_variant_new("(ssd@adtu)", S->phase, spec, r->best.accuracy,
                              g_variant_new_fixed_array(G_VARIANT_TYPE_DOUBLE, r->best.costs, (gsize)S->n_obj,
                                                        sizeof(double)),
                              (guint64)r->n_evaluations, (guint32)r->n_front),
                NULL);
  }
  g_free(pool);
  g_free(next);
  g_free(order);
  return r;
}

/* One search with a plan. On a cancel returns the partial result *and* sets error. */
static FrApqSearchResult *search_with_plan(const FrApqCostTable *t, const FrApqPredictorPlan *plan,
                                           const FrApqSearchConfig *cfg, FrJob *job, const char *phase, double frac0,
                                           double span, GError **error) {
  Search S;
  if (!setup(&S, t, plan, cfg, error)) {
    teardown(&S);
    return NULL;
  }
  S.job = job;
  S.phase = phase;
  S.frac0 = frac0;
  S.frac_span = span;
  FrApqSearchResult *r = run_search(&S, error);
  teardown(&S);
  return r;
}

FrApqSearchResult *fr_apq_search_run(const FrApqCostTable *table, const FrApqPredictor *predictor,
                                     const FrApqSearchConfig *cfg, FrJob *job, GError **error) {
  FrApqPredictorPlan *plan = predictor ? fr_apq_predictor_plan_new(predictor) : NULL;
  GError *local = NULL;
  FrApqSearchResult *r = search_with_plan(table, plan, cfg, job, "search", 0, 1, &local);
  fr_apq_predictor_plan_free(plan);
  if (local) {
    g_propagate_error(error, local);
    g_clear_pointer(&r, fr_apq_search_result_free);
  }
  return r;
}

/* ---- joint vs sequential ---------------------------------------------------------------------- */

FrApqSearchResult *fr_apq_search_joint(const FrApqCostTable *table, const FrApqPredictor *predictor,
                                       const FrApqSearchConfig *cfg, FrJob *job, GError **error) {
  FrApqSearchConfig c;
  if (cfg) c = *cfg;
  else fr_apq_search_config_init(&c);
  c.axes = FR_APQ_AXIS_ALL;
  return fr_apq_search_run(table, predictor, &c, job, error);
}

/* stage configs of the sequential pipeline; base_out is stage 1's base */
static gboolean sequential_base(const FrApqCostTable *t, const FrApqSearchConfig *cfg, int stage_bits, FrApqSpec *base,
                                GError **error) {
  const FrApqSpace *s = fr_apq_cost_table_space(t);
  gboolean bits_ok = stage_bits == 0;
  for (int i = 0; i < FR_APQ_N_BITS; i++) bits_ok |= s->bit_options[i] == stage_bits;
  if (!bits_ok) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "sequential search: stage bits %d is not one of the space's bitwidths (%d, %d, %d) or 0 for full precision",
                stage_bits, s->bit_options[0], s->bit_options[1], s->bit_options[2]);
    return FALSE;
  }
  if (cfg->has_base) *base = cfg->base;
  else fr_apq_spec_largest(s, 0, base);
  fr_apq_spec_set_bits(s, base, stage_bits);
  return TRUE;
}

static const char *const stage_phase[3] = { "arch", "width", "bits" };
static const unsigned stage_axes[3] = { FR_APQ_AXIS_ARCH, FR_APQ_AXIS_WIDTH, FR_APQ_AXIS_BITS };

/* The three stages; stages[] gets each result (NULL where not reached). On a stage that cannot
 * run (budget), FALSE with that error; on a cancel FALSE with the cancel. */
static gboolean run_sequential(const FrApqCostTable *t, const FrApqPredictorPlan *plan, const FrApqSearchConfig *cfg,
                               int stage_bits, FrJob *job, double frac0, double span, FrApqSearchResult *stages[3],
                               GError **error) {
  FrApqSearchConfig defaults;
  if (!cfg) {
    fr_apq_search_config_init(&defaults);
    cfg = &defaults;
  }
  for (int i = 0; i < 3; i++) stages[i] = NULL;
  FrApqSearchConfig c = *cfg;
  c.has_base = TRUE;
  c.seed_base = TRUE;
  if (!sequential_base(t, cfg, stage_bits, &c.base, error)) return FALSE;
  for (int i = 0; i < 3; i++) {
    c.axes = stage_axes[i];
    GError *local = NULL;
    stages[i] = search_with_plan(t, plan, &c, job, stage_phase[i], frac0 + span * i / 3, span / 3, &local);
    if (local) {
      g_prefix_error(&local, "sequential stage %d (%s): ", i + 1, axes_words(stage_axes[i]));
      g_propagate_error(error, local);
      return FALSE;
    }
    c.base = stages[i]->best.spec;
  }
  return TRUE;
}

FrApqSearchResult *fr_apq_search_sequential(const FrApqCostTable *table, const FrApqPredictor *predictor,
                                            const FrApqSearchConfig *cfg, int stage_bits, FrJob *job,
                                            FrApqSearchResult *stages_out[3], GError **error) {
  FrApqPredictorPlan *plan = predictor ? fr_apq_predictor_plan_new(predictor) : NULL;
  FrApqSearchResult *st[3];
  gboolean ok = run_sequential(table, plan, cfg, stage_bits, job, 0, 1, st, error);
  fr_apq_predictor_plan_free(plan);
  FrApqSearchResult *last = NULL;
  if (ok) {
    last = st[2];
    if (stages_out) {
      for (int i = 0; i < 3; i++) stages_out[i] = st[i];
      return last;
    }
    fr_apq_search_result_free(st[0]);
    fr_apq_search_result_free(st[1]);
    return last;
  }
  for (int i = 0; i < 3; i++) {
    if (stages_out) stages_out[i] = NULL;
    fr_apq_search_result_free(st[i]);
  }
  return NULL;
}

/* The comparison on a plan. Returns the comparison (partial after a cancel, with error set), or
 * NULL with error when the joint search cannot run. */
static FrApqSearchComparison *compare_with_plan(const FrApqCostTable *t, const FrApqPredictorPlan *plan,
                                                const FrApqSearchConfig *cfg, int stage_bits, FrJob *job,
                                                GError **error) {
  FrApqSearchConfig c;
  if (cfg) c = *cfg;
  else fr_apq_search_config_init(&c);
  c.axes = FR_APQ_AXIS_ALL;
  GError *local = NULL;
  FrApqSearchResult *joint = search_with_plan(t, plan, &c, job, "joint", 0, 0.25, &local);
  if (!joint) {
    g_propagate_error(error, local);
    return NULL;
  }
  FrApqSearchComparison *cmp = g_new0(FrApqSearchComparison, 1);
  cmp->joint = joint;
  if (local) {   /* cancelled */
    g_propagate_error(error, local);
    return cmp;
  }
  if (!run_sequential(t, plan, cfg, stage_bits, job, 0.25, 0.75, cmp->stages, &local)) {
    if (g_error_matches(local, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED)) {
      g_propagate_error(error, local);
      return cmp;
    }
    cmp->sequential_error = g_strdup(local->message);
    if (job) fr_job_log(job, "APQ comparison: the sequential pipeline stopped: %s", local->message);
    g_error_free(local);
  }
  return cmp;
}

FrApqSearchComparison *fr_apq_search_compare(const FrApqCostTable *table, const FrApqPredictor *predictor,
                                             const FrApqSearchConfig *cfg, int stage_bits, FrJob *job,
                                             GError **error) {
  FrApqPredictorPlan *plan = predictor ? fr_apq_predictor_plan_new(predictor) : NULL;
  GError *local = NULL;
  FrApqSearchComparison *cmp = compare_with_plan(table, plan, cfg, stage_bits, job, &local);
  fr_apq_predictor_plan_free(plan);
  if (local) {
    g_propagate_error(error, local);
    g_clear_pointer(&cmp, fr_apq_search_comparison_free);
  }
  return cmp;
}

/* ---- jobs ------------------------------------------------------------------------------------- */

struct _FrApqSearch {
  gint ref_count;
  FrJob *job;
  FrApqCostTable *table;
  FrApqPredictorPlan *plan;
  FrApqSearchConfig cfg;
  gboolean compare;
  int stage_bits;
  GMutex lock;
  FrApqSearchResult *result;
  FrApqSearchComparison *comparison;
};

static void search_unref(FrApqSearch *s) {
  if (!g_atomic_int_dec_and_test(&s->ref_count)) return;
  fr_apq_cost_table_unref(s->table);
  fr_apq_predictor_plan_free(s->plan);
  fr_apq_search_result_free(s->result);
  fr_apq_search_comparison_free(s->comparison);
  g_mutex_clear(&s->lock);
  g_free(s);
}

static gboolean search_job(FrJob *job, gpointer data, GError **error) {
  FrApqSearch *s = data;
  GError *local = NULL;
  if (s->compare) {
    FrApqSearchComparison *cmp = compare_with_plan(s->table, s->plan, &s->cfg, s->stage_bits, job, &local);
    g_mutex_lock(&s->lock);
    s->comparison = cmp;
    g_mutex_unlock(&s->lock);
  } else {
    FrApqSearchResult *r = search_with_plan(s->table, s->plan, &s->cfg, job, "search", 0, 1, &local);
    g_mutex_lock(&s->lock);
    s->result = r;
    g_mutex_unlock(&s->lock);
  }
  if (local) {
    g_propagate_error(error, local);
    return FALSE;
  }
  return TRUE;
}

static FrApqSearch *start(FrApqCostTable *table, const FrApqPredictor *predictor, const FrApqSearchConfig *cfg,
                          gboolean compare, int stage_bits, GError **error) {
  FrApqSearch *s = g_new0(FrApqSearch, 1);
  s->ref_count = 2;   /* the caller's and the job's */
  g_mutex_init(&s->lock);
  if (cfg) s->cfg = *cfg;
  else fr_apq_search_config_init(&s->cfg);
  if (compare) s->cfg.axes = FR_APQ_AXIS_ALL;
  s->compare = compare;
  s->stage_bits = stage_bits;
  s->plan = predictor ? fr_apq_predictor_plan_new(predictor) : NULL;
  s->table = table ? fr_apq_cost_table_ref(table) : NULL;
  /* check everything that can be checked before a thread starts */
  Search probe;
  gboolean ok = setup(&probe, table, s->plan, &s->cfg, error);
  teardown(&probe);
  FrApqSpec base;
  if (ok && compare) ok = sequential_base(table, &s->cfg, stage_bits, &base, error);
  if (!ok) {
    s->ref_count = 1;
    search_unref(s);
    return NULL;
  }
  s->job = fr_job_start(compare ? "apq-search-compare" : "apq-search", search_job, s, (GDestroyNotify)search_unref);
  return s;
}

FrApqSearch *fr_apq_search_start(FrApqCostTable *table, const FrApqPredictor *predictor, const FrApqSearchConfig *cfg,
                                 GError **error) {
  return start(table, predictor, cfg, FALSE, 0, error);
}

FrApqSearch *fr_apq_search_start_compare(FrApqCostTable *table, const FrApqPredictor *predictor,
                                         const FrApqSearchConfig *cfg, int stage_bits, GError **error) {
  return start(table, predictor, cfg, TRUE, stage_bits, error);
}

FrJob *fr_apq_search_get_job(FrApqSearch *search) { return search->job; }

const FrApqSearchResult *fr_apq_search_get_result(FrApqSearch *search) {
  if (fr_job_get_status(search->job) == FR_JOB_RUNNING) return NULL;
  g_mutex_lock(&search->lock);
  const FrApqSearchResult *r = search->compare ? (search->comparison ? search->comparison->joint : NULL) : search->result;
  g_mutex_unlock(&search->lock);
  return r;
}

const FrApqSearchComparison *fr_apq_search_get_comparison(FrApqSearch *search) {
  if (fr_job_get_status(search->job) == FR_JOB_RUNNING) return NULL;
  g_mutex_lock(&search->lock);
  const FrApqSearchComparison *c = search->comparison;
  g_mutex_unlock(&search->lock);
  return c;
}

void fr_apq_search_free(FrApqSearch *search) {
  if (!search) return;
  fr_job_cancel(search->job);
  fr_job_join(search->job, NULL);
  fr_job_unref(search->job);
  search_unref(search);
}
