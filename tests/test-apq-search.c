/* test-apq-search.c: the APQ search engine. Cost tables against fr-apq-space's counts, the one-hot
 * predictor plan against the dense forward pass, and the searches (evolution, NSGA-II, cost-only,
 * joint vs sequential) for determinism, validity, budgets, improvement, fronts, the impossible-
 * budget error, cancel, the evaluation count and the job payloads. Runs in a few seconds: small
 * generation counts, and predictors with weights set by hand (accuracy grows with depth). */
#include "fr-apq-costtable.h"
#include "fr-apq-search.h"

#include "fr-rng.h"
#include "fr-safetensors.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *tmp_dir;

/* ---- helpers ---------------------------------------------------------------------------------- */

static const FrApqSpace *mini(void) { return fr_apq_space_fmnist_mini(); }

static int active_blocks(const FrApqSpace *s, const FrApqSpec *spec) {
  int n = 0;
  for (int b = 0; b < s->n_blocks; b++) n += fr_apq_block_active(s, spec, b);
  return n;
}

/* A predictor whose output is 0.02 per active block, plus (bits branch) 0.002 per 8-bit and 0.001
 * per 6-bit choice of an active block: deeper is better, then more bits. Hidden width 4; written
 * as a safetensors file and loaded, the way released weights arrive. */
static FrApqPredictor *depth_predictor(const FrApqSpace *s, gboolean quantized) {
  const int H = 4, A = s->arch_dim, Q = quantized ? s->quant_dim : 0;
  float *w0 = g_new0(float, (size_t)H * A), *wq = g_new0(float, (size_t)H * MAX(Q, 1));
  float w1[16] = { 0 }, w2[16] = { 0 }, wr[4] = { 0 }, bias[4] = { 0 }, br[1] = { 0 };
  for (int i = 0; i < A; i++) w0[i] = 1.0f;   /* unit 0 counts the ks and mid one-hots: 2 per active block */
  for (int i = 0; i < Q; i++) {
    int bit = s->bit_options[i % FR_APQ_N_BITS];
    wq[i] = bit == 8 ? 0.1f : bit == 6 ? 0.05f : 0.0f;
  }
  w1[0] = 1.0f;
  w2[0] = 1.0f;
  wr[0] = 0.01f;
  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  int64_t sh_w0[2] = { H, A }, sh_hh[2] = { H, H }, sh_h[1] = { H }, sh_r[2] = { 1, H }, sh_1[1] = { 1 },
          sh_q[2] = { H, Q };
  fr_safetensors_writer_add(w, "layers.0.0.weight", FR_DTYPE_F32, 2, sh_w0, w0);
  fr_safetensors_writer_add(w, "layers.0.0.bias", FR_DTYPE_F32, 1, sh_h, bias);
  fr_safetensors_writer_add(w, "layers.1.0.weight", FR_DTYPE_F32, 2, sh_hh, w1);
  fr_safetensors_writer_add(w, "layers.1.0.bias", FR_DTYPE_F32, 1, sh_h, bias);
  fr_safetensors_writer_add(w, "layers.2.0.weight", FR_DTYPE_F32, 2, sh_hh, w2);
  fr_safetensors_writer_add(w, "layers.2.0.bias", FR_DTYPE_F32, 1, sh_h, bias);
  fr_safetensors_writer_add(w, "regressor.weight", FR_DTYPE_F32, 2, sh_r, wr);
  fr_safetensors_writer_add(w, "regressor.bias", FR_DTYPE_F32, 1, sh_1, br);
  if (Q) {
    fr_safetensors_writer_add(w, "quantize_fc.weight", FR_DTYPE_F32, 2, sh_q, wq);
    fr_safetensors_writer_add(w, "quantize_fc.bias", FR_DTYPE_F32, 1, sh_h, bias);
  }
  g_autofree char *path = g_build_filename(tmp_dir, quantized ? "depth-q.safetensors" : "depth.safetensors", NULL);
  GError *error = NULL;
  g_assert_true(fr_safetensors_writer_save(w, path, &error));
  fr_safetensors_writer_free(w);
  FrApqPredictor *p = fr_apq_predictor_load(path, &error);
  g_assert_no_error(error);
  g_free(w0);
  g_free(wq);
  return p;
}

/* what depth_predictor predicts, computed directly */
static double depth_accuracy(const FrApqSpace *s, const FrApqSpec *spec, gboolean quantized) {
  double acc = 0;
  for (int b = 0; b < s->n_blocks; b++) {
    if (!fr_apq_block_active(s, spec, b)) continue;
    acc += 0.02;
    if (quantized && spec->quantized)
      for (int q = 0; q < FR_APQ_N_QGROUPS; q++) acc += spec->bits[q][b] == 8 ? 0.001 : spec->bits[q][b] == 6 ? 0.0005 : 0;
  }
  return acc;
}

static double median_bitops(const FrApqSpace *s) {
  FrRng rng;
  fr_rng_seed(&rng, 11);
  double v[401];
  for (int i = 0; i < 401; i++) {
    FrApqSpec spec;
    fr_apq_spec_random(s, &rng, TRUE, &spec);
    v[i] = fr_apq_spec_bitops(s, &spec);
  }
  for (int i = 1; i < 401; i++)
    for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[200];
}

/* a BitOps budget frac of the way from the cheapest network to the median random one */
static double bitops_budget(const FrApqSpace *s, double frac) {
  FrApqSpec small;
  fr_apq_spec_smallest(s, s->bit_options[0], &small);
  double lo = fr_apq_spec_bitops(s, &small);
  return lo + frac * (median_bitops(s) - lo);
}

static void small_config(FrApqSearchConfig *cfg, int generations) {
  fr_apq_search_config_init(cfg);
  cfg->population = 40;
  cfg->parents = 10;
  cfg->mutants = 20;
  cfg->crossovers = 20;
  cfg->generations = generations;
}

/* the spec, its costs recomputed from fr-apq-space, checked valid and within the budgets */
static void assert_point_ok(const FrApqSpace *s, const FrApqSearchPoint *p, const double *budget, int n_obj) {
  GError *error = NULL;
  g_assert_true(fr_apq_spec_validate(s, &p->spec, &error));
  g_assert_no_error(error);
  g_assert_cmpfloat(p->costs[0], ==, fr_apq_spec_macs(s, &p->spec));
  g_assert_cmpfloat(p->costs[1], ==, fr_apq_spec_bitops(s, &p->spec));
  for (int o = 0; o < n_obj; o++) g_assert_cmpfloat(p->costs[o], <=, budget[o]);
}

/* a dominates b for (maximise accuracy if has_acc, minimise costs[0..n)) */
static gboolean dominates(const FrApqSearchPoint *a, const FrApqSearchPoint *b, gboolean has_acc, int n) {
  gboolean strict = FALSE;
  if (has_acc) {
    if (a->accuracy < b->accuracy) return FALSE;
    strict |= a->accuracy > b->accuracy;
  }
  for (int o = 0; o < n; o++) {
    if (a->costs[o] > b->costs[o]) return FALSE;
    strict |= a->costs[o] < b->costs[o];
  }
  return strict;
}

/* ---- cost tables ------------------------------------------------------------------------------ */

static void check_counts_exact(const FrApqSpace *s) {
  FrApqCostTable *t = fr_apq_cost_table_new_counts(s);
  g_assert_nonnull(t);
  g_assert_cmpint(fr_apq_cost_table_n_objectives(t), ==, 2);
  g_assert_cmpstr(fr_apq_cost_table_objective_name(t, 0), ==, "macs");
  g_assert_cmpint(fr_apq_cost_table_find_objective(t, "bitops"), ==, 1);
  g_assert_cmpint(fr_apq_cost_table_find_objective(t, "latency_ms"), ==, -1);
  FrRng rng;
  fr_rng_seed(&rng, 5);
  for (int i = 0; i < 600; i++) {
    FrApqSpec spec;
    if (i == 0) fr_apq_spec_largest(s, 8, &spec);
    else if (i == 1) fr_apq_spec_smallest(s, 4, &spec);
    else if (i == 2) fr_apq_spec_largest(s, 0, &spec);
    else fr_apq_spec_random(s, &rng, i % 3 != 0, &spec);
    double c[2];
    g_assert_true(fr_apq_cost_table_eval(t, &spec, c));
    g_assert_cmpfloat(c[0], ==, fr_apq_spec_macs(s, &spec));
    g_assert_cmpfloat(c[1], ==, fr_apq_spec_bitops(s, &spec));
  }
  /* the exact minimum: the smallest network (4-bit when quantized), and nothing random below it */
  double mq[2], mf[2];
  fr_apq_cost_table_min(t, TRUE, mq);
  fr_apq_cost_table_min(t, FALSE, mf);
  FrApqSpec small4, small_fp;
  fr_apq_spec_smallest(s, s->bit_options[0], &small4);
  fr_apq_spec_smallest(s, 0, &small_fp);
  g_assert_cmpfloat(mq[0], ==, fr_apq_spec_macs(s, &small4));
  g_assert_cmpfloat(mq[1], ==, fr_apq_spec_bitops(s, &small4));
  g_assert_cmpfloat(mf[1], ==, fr_apq_spec_bitops(s, &small_fp));
  fr_apq_cost_table_unref(t);
}

static void test_counts_exact(void) {
  check_counts_exact(mini());
  const FrApqSpace *inet = fr_apq_space_lookup("imagenet-bitfusion");
  if (inet) check_counts_exact(inet);
}

/* a model with no kernel-7 figures and a failure on request */
static gboolean no_k7(const FrApqSpace *s, int b, int ks, int mid, int pw_w, int pw_a, int dw_w, int dw_a, double *c,
                      void *user, GError **error) {
  if (user && b == 3) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "cost model broke on block %d", b);
    return FALSE;
  }
  c[0] = ks == 7 ? INFINITY : mid * (double)pw_w;
  c[1] = ks == 7 ? NAN : 1.0;
  c[2] = (double)ks;
  return TRUE;
}

static void test_callback_table(void) {
  const FrApqSpace *s = mini();
  const char *names[] = { "a", "b", "c" };
  const double fixed[] = { 10, 20, 30 };
  GError *error = NULL;
  FrApqCostTable *t = fr_apq_cost_table_new(s, 3, names, NULL, fixed, no_k7, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(fr_apq_cost_table_objective_unit(t, 1), ==, "");
  FrApqSpec spec;
  fr_apq_spec_smallest(s, 8, &spec);
  double c[3];
  g_assert_true(fr_apq_cost_table_eval(t, &spec, c));
  int n = active_blocks(s, &spec);
  double mids = 0;
  for (int b = 0; b < s->n_blocks; b++)
    if (fr_apq_block_active(s, &spec, b)) mids += spec.mid[b] * 8.0;
  g_assert_cmpfloat(c[0], ==, 10 + mids);
  g_assert_cmpfloat(c[1], ==, 20 + n);
  g_assert_cmpfloat(c[2], ==, 30 + 3.0 * n);
  /* a kernel-7 block is unavailable while active, and only then */
  spec.ks[0] = 7;
  g_assert_false(fr_apq_cost_table_eval(t, &spec, c));
  g_assert_true(isinf(c[0]) && isinf(c[1]));
  spec.ks[0] = 3;
  spec.ks[s->n_blocks - 1] = 7;   /* the last stage's last block: inactive at the smallest depth */
  g_assert_true(fr_apq_cost_table_eval(t, &spec, c));
  /* an out-of-space spec */
  spec.mid[0] = 3;
  g_assert_false(fr_apq_cost_table_eval(t, &spec, c));
  g_assert_true(isnan(c[0]));
  fr_apq_cost_table_unref(t);
  /* the callback's failure is the build's */
  t = fr_apq_cost_table_new(s, 3, names, NULL, fixed, no_k7, GINT_TO_POINTER(1), &error);
  g_assert_null(t);
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE);
  g_assert_nonnull(strstr(error->message, "block 3"));
  g_clear_error(&error);
  t = fr_apq_cost_table_new(s, 0, names, NULL, NULL, no_k7, NULL, &error);
  g_assert_null(t);
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

/* ---- the one-hot plan ------------------------------------------------------------------------- */

static void check_plan(const FrApqSpace *s, int arch, int quant, int hidden, int n, guint64 seed) {
  FrApqPredictor *p = fr_apq_predictor_new(arch, quant, hidden, seed);
  FrApqPredictorPlan *plan = fr_apq_predictor_plan_new(p);
  const int in = arch + quant, full = s->arch_dim + s->quant_dim;
  float *x = g_new0(float, (size_t)n * in), *row = g_new(float, full), *dense = g_new(float, n),
        *fast = g_new(float, n);
  int32_t *row_ptr = g_new(int32_t, n + 1), *idx = g_new(int32_t, (size_t)n * in);
  FrRng rng;
  fr_rng_seed(&rng, seed + 1);
  int nnz = 0;
  for (int i = 0; i < n; i++) {
    FrApqSpec spec;
    fr_apq_spec_random(s, &rng, quant > 0 && i % 5 != 0, &spec);   /* some full-precision rows: bits all zero */
    fr_apq_spec_encode(s, &spec, row);
    row_ptr[i] = nnz;
    /* reversed order: the plan must not rely on arch indices coming first */
    for (int j = in - 1; j >= 0; j--)
      if (row[j] != 0) {
        x[(size_t)i * in + j] = 1;
        idx[nnz++] = j;
      }
  }
  row_ptr[n] = nnz;
  fr_apq_predictor_predict(p, x, n, dense);
  fr_apq_predictor_plan_predict_onehot(plan, row_ptr, idx, n, fast);
  for (int i = 0; i < n; i++) g_assert_cmpfloat_with_epsilon(fast[i], dense[i], 1e-5);
  /* the plan is a snapshot: freeing the predictor does not matter */
  fr_apq_predictor_free(p);
  float *again = g_new(float, n);
  fr_apq_predictor_plan_predict_onehot(plan, row_ptr, idx, n, again);
  g_assert_cmpmem(again, sizeof(float) * n, fast, sizeof(float) * n);
  fr_apq_predictor_plan_free(plan);
  g_free(x);
  g_free(row);
  g_free(dense);
  g_free(fast);
  g_free(again);
  g_free(row_ptr);
  g_free(idx);
}

static void test_plan_matches_dense(void) {
  const FrApqSpace *s = mini();
  check_plan(s, s->arch_dim, s->quant_dim, 400, 300, 1);   /* several chunks */
  check_plan(s, s->arch_dim, 0, 37, 50, 2);                /* full precision, odd width */
  check_plan(s, s->arch_dim, s->quant_dim, 70, 3, 3);      /* a 64 block + a remainder */
  const FrApqSpace *inet = fr_apq_space_lookup("imagenet-bitfusion");
  if (inet) check_plan(inet, 520, 252, 400, 120, 4);        /* APQ's ImageNet predictor dims */
}

/* ---- searches --------------------------------------------------------------------------------- */

static void assert_same_result(const FrApqSearchResult *a, const FrApqSearchResult *b) {
  g_assert_cmpmem(&a->best.spec, sizeof a->best.spec, &b->best.spec, sizeof b->best.spec);
  g_assert_cmpfloat(a->best.accuracy, ==, b->best.accuracy);
  g_assert_cmpint(a->generations_done, ==, b->generations_done);
  g_assert_cmpmem(a->best_history, sizeof(double) * (a->generations_done + 1), b->best_history,
                  sizeof(double) * (b->generations_done + 1));
  g_assert_cmpint(a->n_front, ==, b->n_front);
  for (int i = 0; i < a->n_front; i++)
    g_assert_cmpmem(&a->front[i].spec, sizeof(FrApqSpec), &b->front[i].spec, sizeof(FrApqSpec));
  g_assert_cmpuint(a->n_evaluations, ==, b->n_evaluations);
  g_assert_cmpuint(a->n_rejected, ==, b->n_rejected);
}

static void test_determinism(void) {
  const FrApqSpace *s = mini();
  FrApqCostTable *t = fr_apq_cost_table_new_counts(s);
  FrApqPredictor *p = fr_apq_predictor_new(s->arch_dim, s->quant_dim, 32, 9);   /* random: a rugged landscape */
  FrApqSearchConfig cfg;
  small_config(&cfg, 15);
  cfg.budget[1] = median_bitops(s);
  GError *error = NULL;
  for (int mode = 0; mode < 2; mode++) {
    cfg.mode = mode ? FR_APQ_SEARCH_NSGA2 : FR_APQ_SEARCH_EVOLUTION;
    cfg.memoize = TRUE;
    g_autoptr(FrApqSearchResult) a = fr_apq_search_run(t, p, &cfg, NULL, &error);
    g_assert_no_error(error);
    g_autoptr(FrApqSearchResult) b = fr_apq_search_run(t, p, &cfg, NULL, &error);
    assert_same_result(a, b);
    /* memoizing changes how much runs through the MLP, not the answer */
    cfg.memoize = FALSE;
    g_autoptr(FrApqSearchResult) c = fr_apq_search_run(t, p, &cfg, NULL, &error);
    assert_same_result(a, c);
    g_assert_cmpuint(c->n_predicted, ==, c->n_evaluations);
    g_assert_cmpuint(a->n_predicted, <, a->n_evaluations);
    /* as a job, with payloads: still the same run */
    cfg.memoize = TRUE;
    FrApqSearch *job = fr_apq_search_start(t, p, &cfg, &error);
    g_assert_no_error(error);
    g_assert_cmpint(fr_job_join(fr_apq_search_get_job(job), &error), ==, FR_JOB_SUCCEEDED);
    assert_same_result(a, fr_apq_search_get_result(job));
    fr_apq_search_free(job);
    /* another seed, another run */
    cfg.seed = 2;
    g_autoptr(FrApqSearchResult) d = fr_apq_search_run(t, p, &cfg, NULL, &error);
    g_assert_true(memcmp(&a->best.spec, &d->best.spec, sizeof(FrApqSpec)) != 0 || a->n_rejected != d->n_rejected);
    cfg.seed = 1;
  }
  fr_apq_predictor_free(p);
  fr_apq_cost_table_unref(t);
}

/* Every point of every generation payload within the budget; the result's points valid. */
static void test_valid_within_budget(void) {
  const FrApqSpace *s = mini();
  FrApqCostTable *t = fr_apq_cost_table_new_counts(s);
  FrApqPredictor *p = depth_predictor(s, TRUE);
  double budget[2] = { INFINITY, bitops_budget(s, 0.5) };
  for (int mode = 0; mode < 2; mode++) {
    FrApqSearchConfig cfg;
    small_config(&cfg, 12);
    cfg.mode = mode ? FR_APQ_SEARCH_NSGA2 : FR_APQ_SEARCH_EVOLUTION;
    cfg.budget[1] = budget[1];
    GError *error = NULL;
    FrApqSearch *search = fr_apq_search_start(t, p, &cfg, &error);
    g_assert_no_error(error);
    FrJob *job = fr_apq_search_get_job(search);
    g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_SUCCEEDED);
    int n_gen = 0;
    for (FrEvent *ev; (ev = fr_job_pop_event(job)); fr_event_free(ev)) {
      if (ev->kind != FR_EVENT_PAYLOAD || strcmp(ev->payload_type, "apq.search.generation")) continue;
      g_assert_true(g_variant_is_of_type(ev->payload, G_VARIANT_TYPE(FR_APQ_SEARCH_GENERATION_TYPE)));
      g_autoptr(GVariant) costs = g_variant_get_child_value(ev->payload, 5);
      gsize n;
      const double *c = g_variant_get_fixed_array(costs, &n, sizeof(double));
      g_assert_cmpuint(n % 2, ==, 0);
      for (gsize i = 0; i < n; i += 2) g_assert_cmpfloat(c[i + 1], <=, budget[1]);
      /* every point comes with its spec, which is valid and has the costs shown */
      g_autoptr(GVariant) specs = g_variant_get_child_value(ev->payload, 11);
      g_assert_cmpuint(g_variant_n_children(specs), ==, n / 2);
      for (gsize i = 0; i < n / 2; i++) {
        const char *text = NULL;
        g_variant_get_child(specs, i, "&s", &text);
        FrApqSpec sp;
        g_assert_true(fr_apq_spec_from_string(s, text, &sp, NULL));
        double got[FR_APQ_COST_MAX_OBJECTIVES];
        g_assert_true(fr_apq_cost_table_eval(t, &sp, got));
        g_assert_cmpfloat_with_epsilon(got[1], c[2 * i + 1], 1e-9 * (1 + fabs(got[1])));
      }
      n_gen++;
    }
    g_assert_cmpint(n_gen, ==, cfg.generations + 1);
    const FrApqSearchResult *r = fr_apq_search_get_result(search);
    g_assert_true(r->complete);
    assert_point_ok(s, &r->best, budget, 2);
    g_assert_cmpfloat_with_epsilon(r->best.accuracy, depth_accuracy(s, &r->best.spec, TRUE), 1e-5);
    g_assert_cmpint(r->n_front, >=, 1);
    for (int i = 0; i < r->n_front; i++) assert_point_ok(s, &r->front[i], budget, 2);
    fr_apq_search_free(search);
  }
  /* APQ's ImageNet space: its rule (no kernel 7 with 4-bit depthwise activations, in any block)
   * holds for everything returned */
  const FrApqSpace *inet = fr_apq_space_lookup("imagenet-bitfusion");
  if (inet) {
    FrApqCostTable *ti = fr_apq_cost_table_new_counts(inet);
    FrApqPredictor *pi = fr_apq_predictor_new(520, 252, 16, 3);
    FrApqSearchConfig cfg;
    small_config(&cfg, 10);
    GError *error = NULL;
    g_autoptr(FrApqSearchResult) r = fr_apq_search_run(ti, pi, &cfg, NULL, &error);
    g_assert_no_error(error);
    for (int i = -1; i < r->n_front; i++) {
      const FrApqSpec *spec = i < 0 ? &r->best.spec : &r->front[i].spec;
      g_assert_true(fr_apq_spec_validate(inet, spec, &error));
      g_assert_no_error(error);
    }
    fr_apq_predictor_free(pi);
    fr_apq_cost_table_unref(ti);
  }
  fr_apq_predictor_free(p);
  fr_apq_cost_table_unref(t);
}

static double mean_accuracy(GVariant *payload) {
  g_autoptr(GVariant) acc = g_variant_get_child_value(payload, 4);
  gsize n;
  const double *a = g_variant_get_fixed_array(acc, &n, sizeof(double));
  double m = 0;
  for (gsize i = 0; i < n; i++) m += a[i];
  return m / (double)n;
}

/* A predictor that prefers depth: the evolution climbs to the deepest network. */
static void test_improves(void) {
  const FrApqSpace *s = mini();
  FrApqCostTable *t = fr_apq_cost_table_new_counts(s);
  FrApqPredictor *p = depth_predictor(s, FALSE);
  FrApqSearchConfig cfg;
  small_config(&cfg, 40);
  cfg.axes = FR_APQ_AXIS_ARCH | FR_APQ_AXIS_WIDTH;   /* full precision: bits fixed */
  GError *error = NULL;
  FrApqSearch *search = fr_apq_search_start(t, p, &cfg, &error);
  g_assert_no_error(error);
  FrJob *job = fr_apq_search_get_job(search);
  g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_SUCCEEDED);
  double first_mean = NAN, last_mean = NAN;
  for (FrEvent *ev; (ev = fr_job_pop_event(job)); fr_event_free(ev))
    if (ev->kind == FR_EVENT_PAYLOAD && !strcmp(ev->payload_type, "apq.search.generation")) {
      if (isnan(first_mean)) first_mean = mean_accuracy(ev->payload);
      last_mean = mean_accuracy(ev->payload);
    }
  const FrApqSearchResult *r = fr_apq_search_get_result(search);
  for (int g = 1; g <= r->generations_done; g++) g_assert_cmpfloat(r->best_history[g], >=, r->best_history[g - 1]);
  /* every block active, the maximum the predictor gives */
  g_assert_cmpint(active_blocks(s, &r->best.spec), ==, s->n_blocks);
  g_assert_cmpfloat_with_epsilon(r->best.accuracy, 0.02 * s->n_blocks, 1e-5);
  g_assert_false(r->best.spec.quantized);
  g_assert_cmpfloat(last_mean, >, first_mean + 0.02);
  fr_apq_search_free(search);

  /* under a budget the search still climbs (a depth/cost trade-off), and stays within it */
  FrApqSearchConfig cb;
  small_config(&cb, 30);
  double budget[2] = { INFINITY, bitops_budget(s, 0.5) };
  cb.budget[1] = budget[1];
  FrApqPredictor *pq = depth_predictor(s, TRUE);
  g_autoptr(FrApqSearchResult) rb = fr_apq_search_run(t, pq, &cb, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpfloat(rb->best_history[rb->generations_done], >, rb->best_history[0]);
  assert_point_ok(s, &rb->best, budget, 2);
  fr_apq_predictor_free(pq);
  fr_apq_predictor_free(p);
  fr_apq_cost_table_unref(t);
}

static void test_nsga2_front(void) {
  const FrApqSpace *s = mini();
  FrApqCostTable *t = fr_apq_cost_table_new_counts(s);
  FrApqPredictor *p = depth_predictor(s, TRUE);
  FrApqSearchConfig cfg;
  small_config(&cfg, 30);
  cfg.mode = FR_APQ_SEARCH_NSGA2;
  GError *error = NULL;
  FrApqSearch *search = fr_apq_search_start(t, p, &cfg, &error);
  g_assert_no_error(error);
  FrJob *job = fr_apq_search_get_job(search);
  g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_SUCCEEDED);
  /* the cheapest and most accurate points any generation showed */
  double min_cost[2] = { INFINITY, INFINITY }, max_acc = -INFINITY;
  for (FrEvent *ev; (ev = fr_job_pop_event(job)); fr_event_free(ev)) {
    if (ev->kind != FR_EVENT_PAYLOAD || strcmp(ev->payload_type, "apq.search.generation")) continue;
    g_autoptr(GVariant) acc = g_variant_get_child_value(ev->payload, 4);
    g_autoptr(GVariant) costs = g_variant_get_child_value(ev->payload, 5);
    gsize n, nc;
    const double *a = g_variant_get_fixed_array(acc, &n, sizeof(double));
    const double *c = g_variant_get_fixed_array(costs, &nc, sizeof(double));
    g_assert_cmpuint(nc, ==, 2 * n);
    for (gsize i = 0; i < n; i++) {
      max_acc = MAX(max_acc, a[i]);
      min_cost[0] = MIN(min_cost[0], c[2 * i]);
      min_cost[1] = MIN(min_cost[1], c[2 * i + 1]);
    }
  }
  const FrApqSearchResult *r = fr_apq_search_get_result(search);
  g_assert_cmpint(r->mode, ==, FR_APQ_SEARCH_NSGA2);
  g_assert_cmpint(r->n_front, >=, 3);
  double front_max_acc = -INFINITY, front_min[2] = { INFINITY, INFINITY };
  for (int i = 0; i < r->n_front; i++) {
    for (int j = 0; j < r->n_front; j++) g_assert_false(dominates(&r->front[j], &r->front[i], TRUE, 2));
    if (i) g_assert_cmpfloat(r->front[i].accuracy, <=, r->front[i - 1].accuracy);   /* sorted */
    front_max_acc = MAX(front_max_acc, r->front[i].accuracy);
    front_min[0] = MIN(front_min[0], r->front[i].costs[0]);
    front_min[1] = MIN(front_min[1], r->front[i].costs[1]);
    g_assert_cmpfloat_with_epsilon(r->front[i].accuracy, depth_accuracy(s, &r->front[i].spec, TRUE), 1e-5);
  }
  /* the extremes: the best accuracy ever scored, the cheapest points ever shown */
  g_assert_cmpfloat(front_max_acc, ==, r->best.accuracy);
  g_assert_cmpfloat(front_max_acc, ==, max_acc);
  g_assert_cmpfloat(front_min[0], ==, min_cost[0]);
  g_assert_cmpfloat(front_min[1], ==, min_cost[1]);
  /* the front spans the trade-off: from the deepest network to a cheap one */
  g_assert_cmpfloat(r->front[r->n_front - 1].costs[1], <, r->front[0].costs[1]);
  fr_apq_search_free(search);
  fr_apq_predictor_free(p);
  fr_apq_cost_table_unref(t);
}

static void test_cost_only(void) {
  const FrApqSpace *s = mini();
  FrApqCostTable *t = fr_apq_cost_table_new_counts(s);
  FrApqSearchConfig cfg;
  small_config(&cfg, 20);
  cfg.objective_sense[0] = FR_APQ_OBJ_MAXIMIZE;   /* most MACs (capacity) for the fewest BitOps */
  GError *error = NULL;
  FrApqSearch *search = fr_apq_search_start(t, NULL, &cfg, &error);
  g_assert_no_error(error);
  FrJob *job = fr_apq_search_get_job(search);
  g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_SUCCEEDED);
  gboolean saw_start = FALSE, saw_log = FALSE;
  for (FrEvent *ev; (ev = fr_job_pop_event(job)); fr_event_free(ev)) {
    if (ev->kind == FR_EVENT_LOG) saw_log |= strstr(ev->message, "no accuracy") != NULL;
    if (ev->kind != FR_EVENT_PAYLOAD) continue;
    if (!strcmp(ev->payload_type, "apq.search.start")) {
      g_assert_true(g_variant_is_of_type(ev->payload, G_VARIANT_TYPE(FR_APQ_SEARCH_START_TYPE)));
      const char *mode;
      gboolean has_acc;
      g_variant_get_child(ev->payload, 0, "&s", &mode);
      g_variant_get_child(ev->payload, 2, "b", &has_acc);
      g_assert_cmpstr(mode, ==, "cost-only");
      g_assert_false(has_acc);
      saw_start = TRUE;
    } else if (!strcmp(ev->payload_type, "apq.search.generation")) {
      g_assert_true(isnan(mean_accuracy(ev->payload)));
    }
  }
  g_assert_true(saw_start && saw_log);
  const FrApqSearchResult *r = fr_apq_search_get_result(search);
  g_assert_false(r->has_accuracy);
  g_assert_nonnull(strstr(r->note, "no accuracy"));
  g_assert_true(isnan(r->best.accuracy));
  g_assert_cmpint(r->n_front, >=, 2);
  for (int i = 0; i < r->n_front; i++) {
    g_assert_true(isnan(r->front[i].accuracy));
    for (int j = 0; j < r->n_front; j++) {   /* maximise costs[0], minimise costs[1] */
      const double *a = r->front[j].costs, *b = r->front[i].costs;
      g_assert_false(a[0] >= b[0] && a[1] <= b[1] && (a[0] > b[0] || a[1] < b[1]));
    }
  }
  fr_apq_search_free(search);
  /* nothing left to optimise */
  cfg.objective_sense[0] = cfg.objective_sense[1] = FR_APQ_OBJ_IGNORE;
  g_assert_null(fr_apq_search_run(t, NULL, &cfg, NULL, &error));
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  fr_apq_cost_table_unref(t);
}

static void test_joint_vs_sequential(void) {
  const FrApqSpace *s = mini();
  FrApqCostTable *t = fr_apq_cost_table_new_counts(s);
  FrApqPredictor *p = depth_predictor(s, TRUE);
  FrApqSearchConfig cfg;
  small_config(&cfg, 15);
  /* a BitOps budget the widest 8-bit networks can meet at some depth, but only just */
  FrApqSpec wide;
  fr_apq_spec_largest(s, 8, &wide);
  for (int st = 0; st < s->n_stages; st++) wide.depth[st] = 3;
  double budget[2] = { INFINITY, fr_apq_spec_bitops(s, &wide) };
  cfg.budget[1] = budget[1];
  GError *error = NULL;
  FrApqSearch *search = fr_apq_search_start_compare(t, p, &cfg, 8, &error);
  g_assert_no_error(error);
  FrJob *job = fr_apq_search_get_job(search);
  g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_SUCCEEDED);
  GHashTable *phases = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (FrEvent *ev; (ev = fr_job_pop_event(job)); fr_event_free(ev))
    if (ev->kind == FR_EVENT_PAYLOAD && !strcmp(ev->payload_type, "apq.search.result")) {
      g_assert_true(g_variant_is_of_type(ev->payload, G_VARIANT_TYPE(FR_APQ_SEARCH_RESULT_TYPE)));
      const char *phase;
      g_variant_get_child(ev->payload, 0, "&s", &phase);
      g_hash_table_add(phases, g_strdup(phase));
    }
  g_assert_cmpuint(g_hash_table_size(phases), ==, 4);
  g_assert_true(g_hash_table_contains(phases, "joint") && g_hash_table_contains(phases, "bits"));
  g_hash_table_unref(phases);
  const FrApqSearchComparison *c = fr_apq_search_get_comparison(search);
  g_assert_nonnull(c);
  g_assert_null(c->sequential_error);
  g_assert_true(fr_apq_search_get_result(search) == c->joint);
  assert_point_ok(s, &c->joint->best, budget, 2);
  for (int i = 0; i < 3; i++) {
    g_assert_nonnull(c->stages[i]);
    assert_point_ok(s, &c->stages[i]->best, budget, 2);
  }
  const FrApqSpec *a = &c->stages[0]->best.spec, *w = &c->stages[1]->best.spec, *q = &c->stages[2]->best.spec;
  /* stage 1: architecture at 8 bits, widest; stage 2 keeps the architecture; stage 3 the width too */
  g_assert_true(a->quantized && w->quantized && q->quantized);
  for (int b = 0; b < s->n_blocks; b++) {
    g_assert_cmpint(a->mid[b], ==, s->blocks[b].mid_options[s->blocks[b].n_mid - 1]);
    for (int g = 0; g < FR_APQ_N_QGROUPS; g++) g_assert_cmpint(a->bits[g][b], ==, 8);
    g_assert_cmpint(w->ks[b], ==, a->ks[b]);
    g_assert_cmpint(q->ks[b], ==, a->ks[b]);
    g_assert_cmpint(q->mid[b], ==, w->mid[b]);
  }
  g_assert_cmpmem(w->depth, sizeof w->depth, a->depth, sizeof a->depth);
  g_assert_cmpmem(q->depth, sizeof q->depth, a->depth, sizeof a->depth);
  /* each sequential stage starts from the last one's answer, which stays reachable: no stage loses */
  g_assert_cmpfloat(c->stages[1]->best.accuracy, >=, c->stages[0]->best.accuracy - 1e-6);
  fr_apq_search_free(search);

  /* the plain helpers agree with the job */
  FrApqSearchResult *stages[3];
  g_autoptr(FrApqSearchResult) seq = fr_apq_search_sequential(t, p, &cfg, 8, NULL, stages, &error);
  g_assert_no_error(error);
  g_assert_true(seq == stages[2]);
  g_assert_cmpfloat(seq->best.accuracy, >=, stages[0]->best.accuracy - 1e-6);
  fr_apq_search_result_free(stages[0]);
  fr_apq_search_result_free(stages[1]);
  g_autoptr(FrApqSearchResult) joint = fr_apq_search_joint(t, p, &cfg, NULL, &error);
  g_assert_no_error(error);
  assert_point_ok(s, &joint->best, budget, 2);

  /* a budget the widest 8-bit network cannot meet: sequential stops at stage 1, joint does not */
  FrApqSpec small8;
  fr_apq_spec_smallest(s, 8, &small8);
  for (int b = 0; b < s->n_blocks; b++) small8.mid[b] = s->blocks[b].mid_options[s->blocks[b].n_mid - 1];
  cfg.budget[1] = fr_apq_spec_bitops(s, &small8) * 0.9;
  g_autoptr(FrApqSearchComparison) cmp = fr_apq_search_compare(t, p, &cfg, 8, NULL, &error);
  g_assert_no_error(error);
  g_assert_nonnull(cmp->joint);
  g_assert_null(cmp->stages[0]);
  g_assert_nonnull(cmp->sequential_error);
  g_assert_nonnull(strstr(cmp->sequential_error, "stage 1"));
  g_assert_nonnull(strstr(cmp->sequential_error, "minimum"));
  fr_apq_predictor_free(p);
  fr_apq_cost_table_unref(t);
}

static void test_impossible_budget(void) {
  const FrApqSpace *s = mini();
  FrApqCostTable *t = fr_apq_cost_table_new_counts(s);
  FrApqPredictor *p = depth_predictor(s, TRUE);
  double min[2];
  fr_apq_cost_table_min(t, TRUE, min);
  FrApqSearchConfig cfg;
  small_config(&cfg, 5);
  cfg.budget[1] = min[1] * 0.999;
  char want[64];
  g_snprintf(want, sizeof want, "%.6g", min[1]);
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time();
  g_assert_null(fr_apq_search_run(t, p, &cfg, NULL, &error));
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_BUDGET);
  g_assert_nonnull(strstr(error->message, "bitops"));
  g_assert_nonnull(strstr(error->message, want));
  g_clear_error(&error);
  /* fails before a job starts */
  g_assert_null(fr_apq_search_start(t, p, &cfg, &error));
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_BUDGET);
  g_clear_error(&error);
  g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC);
  /* at the minimum exactly it runs, and finds the smallest 4-bit network */
  cfg.budget[1] = min[1];
  g_autoptr(FrApqSearchResult) r = fr_apq_search_run(t, p, &cfg, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpfloat(r->best.costs[1], ==, min[1]);
  /* with some axes fixed, the minimum is the reachable one: the widest 8-bit base */
  cfg.axes = FR_APQ_AXIS_ARCH;
  cfg.has_base = TRUE;
  fr_apq_spec_largest(s, 8, &cfg.base);
  g_assert_null(fr_apq_search_run(t, p, &cfg, NULL, &error));
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_BUDGET);
  FrApqSpec reach;
  fr_apq_spec_smallest(s, 8, &reach);
  for (int b = 0; b < s->n_blocks; b++) reach.mid[b] = s->blocks[b].mid_options[s->blocks[b].n_mid - 1];
  g_snprintf(want, sizeof want, "%.6g", fr_apq_spec_bitops(s, &reach));
  g_assert_nonnull(strstr(error->message, want));
  g_clear_error(&error);
  /* bad configurations */
  small_config(&cfg, 5);
  cfg.parents = 0;
  g_assert_null(fr_apq_search_run(t, p, &cfg, NULL, &error));
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  small_config(&cfg, 5);
  cfg.budget[0] = NAN;
  g_assert_null(fr_apq_search_run(t, p, &cfg, NULL, &error));
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  FrApqPredictor *wrong = fr_apq_predictor_new(s->arch_dim + 1, 0, 8, 1);
  small_config(&cfg, 5);
  g_assert_null(fr_apq_search_run(t, wrong, &cfg, NULL, &error));
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC);
  g_clear_error(&error);
  fr_apq_predictor_free(wrong);
  fr_apq_predictor_free(p);
  fr_apq_cost_table_unref(t);
}

static void test_cancel(void) {
  const FrApqSpace *s = mini();
  FrApqCostTable *t = fr_apq_cost_table_new_counts(s);
  FrApqPredictor *p = fr_apq_predictor_new(s->arch_dim, s->quant_dim, 16, 4);
  FrApqSearchConfig cfg;
  small_config(&cfg, 1000000);
  GError *error = NULL;
  FrApqSearch *search = fr_apq_search_start(t, p, &cfg, &error);
  g_assert_no_error(error);
  FrJob *job = fr_apq_search_get_job(search);
  g_assert_null(fr_apq_search_get_result(search));
  int last_gen = -1;
  while (last_gen < 3) {
    FrEvent *ev = fr_job_wait_event(job, 10 * G_USEC_PER_SEC);
    g_assert_nonnull(ev);
    if (ev->kind == FR_EVENT_PAYLOAD && !strcmp(ev->payload_type, "apq.search.generation"))
      g_variant_get_child(ev->payload, 1, "u", &last_gen);
    fr_event_free(ev);
  }
  gint64 t0 = g_get_monotonic_time();
  fr_job_cancel(job);
  g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_CANCELLED);
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED);
  g_clear_error(&error);
  g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
  for (FrEvent *ev; (ev = fr_job_pop_event(job)); fr_event_free(ev))
    if (ev->kind == FR_EVENT_PAYLOAD && !strcmp(ev->payload_type, "apq.search.generation"))
      g_variant_get_child(ev->payload, 1, "u", &last_gen);
  const FrApqSearchResult *r = fr_apq_search_get_result(search);
  g_assert_nonnull(r);
  g_assert_false(r->complete);
  /* stopped between generations: the partial result holds exactly the generations reported */
  g_assert_cmpint(r->generations_done, ==, last_gen);
  g_assert_cmpint(r->generations_done, <, cfg.generations);
  g_assert_cmpuint(r->n_evaluations, ==, (guint64)cfg.population + (guint64)last_gen * 40);
  g_assert_false(isnan(r->best.accuracy));
  fr_apq_search_free(search);
  /* freeing a running search cancels it */
  search = fr_apq_search_start(t, p, &cfg, &error);
  g_assert_no_error(error);
  fr_apq_search_free(search);
  fr_apq_predictor_free(p);
  fr_apq_cost_table_unref(t);
}

static void test_evaluation_count(void) {
  FrApqSearchConfig cfg;
  fr_apq_search_config_init(&cfg);
  /* the reference's sizes: 100 + 500 x (50 + 50) */
  g_assert_cmpuint(fr_apq_search_expected_evaluations(&cfg), ==, 50100);
  g_assert_cmpint(cfg.population, ==, 100);
  g_assert_cmpint(cfg.parents, ==, 25);
  g_assert_cmpfloat(cfg.mutation_prob, ==, 0.1);
  const FrApqSpace *s = mini();
  FrApqCostTable *t = fr_apq_cost_table_new_counts(s);
  FrApqPredictor *p = fr_apq_predictor_new(s->arch_dim, s->quant_dim, 8, 4);
  cfg.population = 23;
  cfg.parents = 6;
  cfg.mutants = 7;
  cfg.crossovers = 5;
  cfg.generations = 9;
  cfg.budget[1] = median_bitops(s);
  for (int mode = 0; mode < 2; mode++) {
    cfg.mode = mode ? FR_APQ_SEARCH_NSGA2 : FR_APQ_SEARCH_EVOLUTION;
    GError *error = NULL;
    g_autoptr(FrApqSearchResult) r = fr_apq_search_run(t, p, &cfg, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(r->n_evaluations, ==, 23 + 9 * 12);
    g_assert_cmpuint(r->n_evaluations, ==, fr_apq_search_expected_evaluations(&cfg));
    g_assert_cmpint(r->generations_done, ==, 9);
    g_assert_cmpuint(r->n_rejected, >, 0);   /* half the random draws break a median budget */
  }
  fr_apq_predictor_free(p);
  fr_apq_cost_table_unref(t);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  GError *error = NULL;
  tmp_dir = g_dir_make_tmp("apq-search-XXXXXX", &error);
  g_assert_no_error(error);
  g_test_add_func("/apq-search/costtable/counts-exact", test_counts_exact);
  g_test_add_func("/apq-search/costtable/callback", test_callback_table);
  g_test_add_func("/apq-search/plan/matches-dense", test_plan_matches_dense);
  g_test_add_func("/apq-search/determinism", test_determinism);
  g_test_add_func("/apq-search/valid-within-budget", test_valid_within_budget);
  g_test_add_func("/apq-search/evolution-improves", test_improves);
  g_test_add_func("/apq-search/nsga2-front", test_nsga2_front);
  g_test_add_func("/apq-search/cost-only", test_cost_only);
  g_test_add_func("/apq-search/joint-vs-sequential", test_joint_vs_sequential);
  g_test_add_func("/apq-search/impossible-budget", test_impossible_budget);
  g_test_add_func("/apq-search/cancel", test_cancel);
  g_test_add_func("/apq-search/evaluation-count", test_evaluation_count);
  int rc = g_test_run();
  g_autoptr(GDir) dir = g_dir_open(tmp_dir, 0, NULL);
  for (const char *name; dir && (name = g_dir_read_name(dir));) {
    g_autofree char *path = g_build_filename(tmp_dir, name, NULL);
    g_unlink(path);
  }
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
