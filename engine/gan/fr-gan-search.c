/* fr-gan-search.c: the best sub-generator of the once-for-all student under a MACs budget, by evolution
 * or by brute force over a coarse grid, scored by the FID-like metric on the search split (never the
 * test set). No retraining: every candidate runs on the supernet's shared weights. */
#include <math.h>
#include <string.h>
#include <json-glib/json-glib.h>
#include "fr-gan-train.h"
#include "fr-pool.h"
#include "fr-model-io.h"

void fr_gan_search_config_init(FrGanSearchConfig *cfg) {
  *cfg = (FrGanSearchConfig){ .mode = FR_GAN_SEARCH_EVOLUTION, .population = 16, .generations = 8,
                              .eval_images = 2000, .seed = 1 };
}

FrGanSearchConfig *fr_gan_search_config_copy(const FrGanSearchConfig *cfg) {
  FrGanSearchConfig *c = g_memdup2(cfg, sizeof *cfg);
  c->supernet = g_strdup(cfg->supernet);
  c->data_dir = g_strdup(cfg->data_dir);
  c->classifier = g_strdup(cfg->classifier);
  c->output = g_strdup(cfg->output);
  c->teacher = g_strdup(cfg->teacher);
  return c;
}

void fr_gan_search_config_free(gpointer data) {
  FrGanSearchConfig *c = data;
  if (!c) return;
  g_free((char *)c->supernet);
  g_free((char *)c->data_dir);
  g_free((char *)c->classifier);
  g_free((char *)c->output);
  g_free((char *)c->teacher);
  g_free(c);
}

typedef struct {
  FrGanConfig config;
  FrGanCost cost;
  FrGanQuality q;
  int generation;
} Candidate;

typedef struct {
  FrJob *job;
  FrGanGenerator *net;
  FrGanMetric *metric;
  const FrGanData *data;
  int n_eval;
  GHashTable *seen;     /* config string -> index into all */
  GArray *all;          /* Candidate */
  double budget;
} Search;

static FrGanCost cost_of(const FrGanConfig *c) {
  return fr_gan_cost(FR_GAN_MOBILE, c, 1, 1, FR_GAN_SIZE, FR_GAN_SIZE);
}

/* Scores c once; later asks for the same config reuse the score. Returns its index in s->all. */
static guint evaluate(Search *s, const FrGanConfig *c, int generation) {
  char *key = fr_gan_config_to_string(c);
  gpointer idx;
  if (g_hash_table_lookup_extended(s->seen, key, NULL, &idx)) {
    g_free(key);
    return GPOINTER_TO_UINT(idx);
  }
  Candidate cand = { .config = *c, .cost = cost_of(c), .generation = generation };
  cand.q = fr_gan_evaluate(s->net, c, s->metric, s->data, FR_GAN_TRAIN_IMAGES, s->n_eval);
  g_array_append_val(s->all, cand);
  guint i = s->all->len - 1;
  g_hash_table_insert(s->seen, key, GUINT_TO_POINTER(i));
  fr_job_emit(s->job, "gan.search.candidate",
              g_variant_new("(sddddu)", key, cand.cost.macs, cand.cost.macs_paper, cand.q.fid_like, cand.q.accuracy,
                            (guint32)generation), NULL);
  return i;
}

static void random_config(const FrGanConfig *max, FrRng *rng, FrGanConfig *out) {
  for (int i = 0; i < FR_GAN_CONFIG_LEN; i++) {
    int n;
    const int *o = fr_gan_width_options(max->ch[i], &n);
    out->ch[i] = o[fr_rng_below(rng, (guint64)n)];
  }
}

static void smallest_config(const FrGanConfig *max, FrGanConfig *out) {
  for (int i = 0; i < FR_GAN_CONFIG_LEN; i++) {
    int n;
    const int *o = fr_gan_width_options(max->ch[i], &n);
    out->ch[i] = o[n - 1];
  }
}

static int by_fid(gconstpointer a, gconstpointer b, gpointer user) {
  const Candidate *all = user;
  double fa = all[*(const guint *)a].q.fid_like, fb = all[*(const guint *)b].q.fid_like;
  return (fa > fb) - (fa < fb);
}

static gboolean cancelled(FrJob *job, GError **error) {
  if (!job || !fr_job_is_cancelled(job)) return FALSE;
  g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "cancelled");
  return TRUE;
}

/* APQ/OFA-style evolution: keep the best quarter, refill with mutations and uniform crossovers, all
 * within the budget (rejection sampling). */
static gboolean evolve(Search *s, const FrGanSearchConfig *cfg, GError **error) {
  const FrGanConfig *max = fr_gan_generator_max(s->net);
  FrRng rng;
  fr_rng_seed(&rng, cfg->seed);
  GArray *pop = g_array_new(FALSE, FALSE, sizeof(guint));
  int tries = 0;
  while ((int)pop->len < cfg->population && tries++ < 100000) {
    FrGanConfig c;
    random_config(max, &rng, &c);
    if (cost_of(&c).macs > s->budget) continue;
    if (cancelled(s->job, error)) break;
    guint i = evaluate(s, &c, 0);
    g_array_append_val(pop, i);
    fr_job_progress(s->job, (double)pop->len / cfg->population / (cfg->generations + 1), "generation 0: %u of %d",
                    pop->len, cfg->population);
  }
  gboolean ok = !fr_job_is_cancelled(s->job);
  if (!ok && error && !*error) g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "cancelled");
  for (int gen = 1; ok && gen <= cfg->generations; gen++) {
    g_array_sort_with_data(pop, by_fid, s->all->data);
    int keep = MAX(2, cfg->population / 4);
    g_array_set_size(pop, MIN((guint)keep, pop->len));
    int made = 0;
    tries = 0;
    while ((int)pop->len < cfg->population && tries++ < 100000) {
      const Candidate *all = (const Candidate *)s->all->data;
      FrGanConfig c = all[g_array_index(pop, guint, fr_rng_below(&rng, (guint64)keep))].config;
      if (made % 2 == 0) {   /* mutation: each width redrawn with probability 0.25 */
        FrGanConfig r;
        random_config(max, &rng, &r);
        for (int i = 0; i < FR_GAN_CONFIG_LEN; i++)
          if (fr_rng_uniform(&rng) < 0.25) c.ch[i] = r.ch[i];
      } else {               /* crossover with another parent */
        const FrGanConfig *o = &all[g_array_index(pop, guint, fr_rng_below(&rng, (guint64)keep))].config;
        for (int i = 0; i < FR_GAN_CONFIG_LEN; i++)
          if (fr_rng_uniform(&rng) < 0.5) c.ch[i] = o->ch[i];
      }
      if (cost_of(&c).macs > s->budget) continue;
      if (cancelled(s->job, error)) {
        ok = FALSE;
        break;
      }
      guint i = evaluate(s, &c, gen);
      g_array_append_val(pop, i);
      made++;
      fr_job_progress(s->job, (gen + (double)pop->len / cfg->population) / (cfg->generations + 1),
                      "generation %d of %d: %u of %d", gen, cfg->generations, pop->len, cfg->population);
    }
  }
  g_array_free(pop, TRUE);
  return ok;
}

/* The coarse grid: the outer widths (stem, down1, up1, up2) tied at 3 levels, the residual width and the
 * three inner widths (tied) at 4 levels each: 48 sub-generators, those within budget all scored. */
static gboolean grid(Search *s, GError **error) {
  const FrGanConfig *max = fr_gan_generator_max(s->net);
  int n;
  const int *o = fr_gan_width_options(max->ch[2], &n);
  int outer_idx[3] = { 0, MIN(2, n - 1), n - 1 }, level_idx[4] = { 0, MIN(1, n - 1), MIN(2, n - 1), n - 1 };
  GArray *todo = g_array_new(FALSE, FALSE, sizeof(FrGanConfig));
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 4; b++)
      for (int c = 0; c < 4; c++) {
        FrGanConfig cfg;
        int outer = o[outer_idx[a]], res = o[level_idx[b]], inner = o[level_idx[c]];
        int v[8] = { outer, outer, res, inner, inner, inner, outer, outer };
        for (int i = 0; i < 8; i++) cfg.ch[i] = MIN(v[i], max->ch[i]);
        if (cost_of(&cfg).macs <= s->budget) g_array_append_val(todo, cfg);
      }
  gboolean ok = TRUE;
  for (guint i = 0; i < todo->len && ok; i++) {
    if (cancelled(s->job, error)) ok = FALSE;
    else {
      evaluate(s, &g_array_index(todo, FrGanConfig, i), 0);
      fr_job_progress(s->job, (i + 1.0) / todo->len, "grid: %u of %u", i + 1, todo->len);
    }
  }
  g_array_free(todo, TRUE);
  return ok;
}

static void add_entry(JsonBuilder *b, const FrGanConfig *c, FrGanCost cost, FrGanQuality q, int generation) {
  json_builder_begin_object(b);
  char *cs = fr_gan_config_to_string(c);
  json_builder_set_member_name(b, "config");
  json_builder_add_string_value(b, cs);
  g_free(cs);
#define D(k, v) json_builder_set_member_name(b, k), json_builder_add_double_value(b, v)
  D("macs", cost.macs);
  D("macs_paper", cost.macs_paper);
  D("params", cost.params);
  D("fid_like", q.fid_like);
  D("accuracy", q.accuracy);
  D("l1", q.l1);
#undef D
  if (generation >= 0) {
    json_builder_set_member_name(b, "generation");
    json_builder_add_int_value(b, generation);
  }
  json_builder_end_object(b);
}

gboolean fr_gan_search_job(FrJob *job, gpointer data, GError **error) {
  const FrGanSearchConfig *cfg = data;
  if (!cfg->supernet || !(cfg->budget_macs > 0) || !isfinite(cfg->budget_macs) || cfg->population < 2 ||
      cfg->population > 1000 || cfg->generations < 0 || cfg->generations > 1000 || cfg->eval_images < 2 ||
      cfg->threads < 0) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "invalid search settings: a supernet, a MACs budget > 0, population 2..1000, generations 0..1000, "
                "at least 2 evaluation images");
    return FALSE;
  }
  FrGanGenerator *net = fr_gan_generator_load(cfg->supernet, error);
  if (!net) return FALSE;
  if (fr_gan_generator_kind(net) != FR_GAN_MOBILE) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_MODEL, "%s is not a once-for-all (mobile) student", cfg->supernet);
    fr_gan_generator_free(net);
    return FALSE;
  }
  FrGanConfig small;
  smallest_config(fr_gan_generator_max(net), &small);
  double min_macs = cost_of(&small).macs;
  if (cfg->budget_macs < min_macs) {
    char *cs = fr_gan_config_to_string(&small);
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INFEASIBLE,
                "no sub-generator fits %.4g MACs: the smallest (%s) needs %.4g MACs per %dx%d image", cfg->budget_macs,
                cs, min_macs, FR_GAN_SIZE, FR_GAN_SIZE);
    g_free(cs);
    fr_gan_generator_free(net);
    return FALSE;
  }
  FrGanGenerator *teacher = NULL;
  if (cfg->teacher && !(teacher = fr_gan_generator_load(cfg->teacher, error))) {
    fr_gan_generator_free(net);
    return FALSE;
  }
  int old_threads = fr_pool_get_threads();
  if (cfg->threads > 0) fr_pool_set_threads(cfg->threads);
  fr_job_progress(job, 0, "making sketches of the search split");
  FrGanData *d = fr_gan_data_load(cfg->data_dir, TRUE, error);
  FrGanMetric *m = NULL;
  gboolean ok = d != NULL;
  if (ok && d->n <= FR_GAN_TRAIN_IMAGES) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "Fashion-MNIST's training set has no search split (%d images)", d->n);
    ok = FALSE;
  }
  if (ok) {
    m = fr_gan_metric_new(cfg->classifier, d->image + (size_t)FR_GAN_TRAIN_IMAGES * FR_GAN_PIXELS,
                          d->n - FR_GAN_TRAIN_IMAGES, error);
    ok = m != NULL;
  }
  Search s = { .job = job, .net = net, .metric = m, .data = d, .budget = cfg->budget_macs,
               .n_eval = d ? MIN(cfg->eval_images, d->n - FR_GAN_TRAIN_IMAGES) : 0,
               .seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
               .all = g_array_new(FALSE, FALSE, sizeof(Candidate)) };
  FrGanQuality tq = { 0 };
  if (ok && teacher) tq = fr_gan_evaluate(teacher, NULL, m, d, FR_GAN_TRAIN_IMAGES, s.n_eval);
  if (ok) ok = cfg->mode == FR_GAN_SEARCH_GRID ? grid(&s, error) : evolve(&s, cfg, error);
  if (ok && s.all->len == 0) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INFEASIBLE, "no candidate within %.4g MACs was found", cfg->budget_macs);
    ok = FALSE;
  }
  if (ok) {
    const Candidate *all = (const Candidate *)s.all->data, *best = &all[0];
    for (guint i = 1; i < s.all->len; i++)
      if (all[i].q.fid_like < best->q.fid_like) best = &all[i];
    if (cfg->output) {
      JsonBuilder *b = json_builder_new();
      json_builder_begin_object(b);
      json_builder_set_member_name(b, "supernet");
      json_builder_add_string_value(b, cfg->supernet);
      json_builder_set_member_name(b, "mode");
      json_builder_add_string_value(b, cfg->mode == FR_GAN_SEARCH_GRID ? "grid" : "evolution");
      json_builder_set_member_name(b, "budget_macs");
      json_builder_add_double_value(b, cfg->budget_macs);
      json_builder_set_member_name(b, "eval_images");
      json_builder_add_int_value(b, s.n_eval);
      json_builder_set_member_name(b, "split");
      json_builder_add_string_value(b, "search: Fashion-MNIST training images 50000 and on");
      if (teacher) {
        json_builder_set_member_name(b, "teacher");
        add_entry(b, fr_gan_generator_max(teacher), fr_gan_cost(FR_GAN_RESNET, fr_gan_generator_max(teacher), 1, 1, FR_GAN_SIZE, FR_GAN_SIZE), tq, -1);
      }
      json_builder_set_member_name(b, "candidates");
      json_builder_begin_array(b);
      for (guint i = 0; i < s.all->len; i++) add_entry(b, &all[i].config, all[i].cost, all[i].q, all[i].generation);
      json_builder_end_array(b);
      json_builder_set_member_name(b, "winner");
      add_entry(b, &best->config, best->cost, best->q, best->generation);
      json_builder_end_object(b);
      JsonGenerator *gen = json_generator_new();
      json_generator_set_pretty(gen, TRUE);
      JsonNode *root = json_builder_get_root(b);
      json_generator_set_root(gen, root);
      gsize len;
      char *text = json_generator_to_data(gen, &len);
      ok = g_file_set_contents(cfg->output, text, (gssize)len, error);   /* temp file + rename */
      g_free(text);
      json_node_unref(root);
      g_object_unref(gen);
      g_object_unref(b);
    }
    if (ok) {
      char *cs = fr_gan_config_to_string(&best->config);
      fr_job_emit(job, "gan.search.result",
                  g_variant_new("(sddddd)", cs, best->cost.macs, best->cost.macs_paper, best->q.fid_like, best->q.accuracy,
                                best->q.l1), NULL);
      if (teacher)
        fr_job_log(job, "teacher on the same %d images: FID-like %.3f, accuracy %.3f", s.n_eval, tq.fid_like, tq.accuracy);
      g_free(cs);
    }
  }
  fr_pool_set_threads(old_threads);
  g_hash_table_unref(s.seen);
  g_array_free(s.all, TRUE);
  fr_gan_metric_free(m);
  fr_gan_data_free(d);
  fr_gan_generator_free(teacher);
  fr_gan_generator_free(net);
  return ok;
}
