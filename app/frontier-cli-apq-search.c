/* frontier-cli apq search | profile: the APQ search workbench from the command line (the same engine
 * calls as the GUI's search page) and the per-layer latency profile of this CPU. */
#include "frontier-cli.h"

#include "fr-apq-cpucost.h"
#include "fr-apq-report.h"
#include "fr-apq-specjson.h"
#include "fr-apq-workbench.h"
#include "fr-pool.h"
#include "fr-rng.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define MAX_OTHERS 5000   /* grey points kept for the report's plot (a uniform sample beyond this) */

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { interrupted = 1; }

static void json_number(JsonBuilder *b, const char *k, double v) {
  json_builder_set_member_name(b, k);
  if (isfinite(v)) json_builder_add_double_value(b, v);
  else json_builder_add_null_value(b);
}

static void json_string(JsonBuilder *b, const char *k, const char *v) {
  json_builder_set_member_name(b, k);
  if (v) json_builder_add_string_value(b, v);
  else json_builder_add_null_value(b);
}

/* ---- collecting what the search shows --------------------------------------------------------- */

typedef struct {
  GArray *points;          /* FrApqSearchPoint, accuracy and costs only */
  GHashTable *seen;        /* candidate ids already kept */
  guint64 offered;
  FrRng rng;
  int n_obj;
} Others;

static void others_add(Others *o, double acc, const double *costs) {
  FrApqSearchPoint p;
  memset(&p, 0, sizeof p);
  p.accuracy = acc;
  memcpy(p.costs, costs, sizeof(double) * (size_t)o->n_obj);
  o->offered++;
  if (o->points->len < MAX_OTHERS) {
    g_array_append_val(o->points, p);
    return;
  }
  guint64 j = fr_rng_below(&o->rng, o->offered);   /* reservoir sampling */
  if (j < MAX_OTHERS) g_array_index(o->points, FrApqSearchPoint, j) = p;
}

static void on_generation(GVariant *v, Others *others, gint64 *last_line, gboolean has_acc) {
  const char *phase;
  guint32 gen, n_gen;
  guint64 evals;
  GVariant *acc_v, *costs_v, *ids_v, *ranks_v, *bcost_v;
  gint32 best;
  double best_acc;
  if (!g_variant_is_of_type(v, G_VARIANT_TYPE(FR_APQ_SEARCH_GENERATION_TYPE))) return;
  /* the specs (last member) are for the GUI's inspector; the CLI plots numbers only */
  g_variant_get(v, "(&suut@ad@ad@au@auid@ad*)", &phase, &gen, &n_gen, &evals, &acc_v, &costs_v, &ids_v, &ranks_v, &best,
                &best_acc, &bcost_v, NULL);
  gsize n, nc, ni, nr;
  const double *acc = g_variant_get_fixed_array(acc_v, &n, sizeof(double));
  const double *costs = g_variant_get_fixed_array(costs_v, &nc, sizeof(double));
  const guint32 *ids = g_variant_get_fixed_array(ids_v, &ni, sizeof(guint32));
  const guint32 *ranks = g_variant_get_fixed_array(ranks_v, &nr, sizeof(guint32));
  gsize nb;
  const double *bcost = g_variant_get_fixed_array(bcost_v, &nb, sizeof(double));
  guint front = 0;
  for (gsize i = 0; i < nr; i++) front += ranks[i] == 0;
  /* the joint (or single) search's points become the report's grey cloud */
  if (others && (!strcmp(phase, "search") || !strcmp(phase, "joint")) && nc == n * (gsize)others->n_obj && ni == n)
    for (gsize i = 0; i < n; i++)
      if (g_hash_table_add(others->seen, GUINT_TO_POINTER(ids[i]))) others_add(others, acc[i], costs + i * others->n_obj);
  gint64 now = g_get_monotonic_time();
  if (!opt_quiet && (now - *last_line > 250000 || gen == n_gen)) {
    if (has_acc)
      fprintf(stderr, "[%s] generation %u/%u: best predicted accuracy %.4f, %u on the current front, %" G_GUINT64_FORMAT
                      " evaluations\n", phase, gen, n_gen, best_acc, front, evals);
    else
      fprintf(stderr, "[%s] generation %u/%u: cheapest first cost %.6g, %u on the current front, %" G_GUINT64_FORMAT
                      " evaluations\n", phase, gen, n_gen, nb ? bcost[0] : NAN, front, evals);
    *last_line = now;
  }
  g_variant_unref(acc_v);
  g_variant_unref(costs_v);
  g_variant_unref(ids_v);
  g_variant_unref(ranks_v);
  g_variant_unref(bcost_v);
}

/* Runs the search job to the end: progress lines per generation (a few a second at most), logs,
 * Ctrl-C cancels. */
static FrJobStatus run_search_job(FrJob *job, Others *others, gboolean has_acc, GError **error) {
  struct sigaction sa = { .sa_handler = on_sigint }, old;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  gboolean cancel_sent = FALSE, done = FALSE;
  gint64 last_line = 0;
  while (!done) {
    if (interrupted && !cancel_sent) {
      fprintf(stderr, "\ncancelling…\n");
      fr_job_cancel(job);
      cancel_sent = TRUE;
    }
    FrEvent *ev = fr_job_wait_event(job, 100000);
    if (!ev) continue;
    if (ev->kind == FR_EVENT_PAYLOAD && ev->payload && !g_strcmp0(ev->payload_type, "apq.search.generation"))
      on_generation(ev->payload, others, &last_line, has_acc);
    else if (ev->kind == FR_EVENT_LOG && ev->message && !opt_quiet)
      fprintf(stderr, "%s\n", ev->message);
    else if (ev->kind == FR_EVENT_FINISHED)
      done = TRUE;
    fr_event_free(ev);
  }
  sigaction(SIGINT, &old, NULL);
  return fr_job_join(job, error);
}

/* ---- output ----------------------------------------------------------------------------------- */

static void json_point(JsonBuilder *b, const FrApqCostTable *t, const FrApqSearchPoint *p) {
  const FrApqSpace *s = fr_apq_cost_table_space(t);
  json_builder_begin_object(b);
  g_autofree char *spec = fr_apq_spec_to_string(s, &p->spec);
  json_string(b, "spec", spec);
  if (s == fr_apq_space_imagenet_bitfusion()) {
    json_builder_set_member_name(b, "spec_apq");
    json_builder_add_value(b, fr_apq_spec_to_apq_json(s, &p->spec));
  }
  json_number(b, "accuracy", p->accuracy);
  json_builder_set_member_name(b, "costs");
  json_builder_begin_object(b);
  for (int o = 0; o < fr_apq_cost_table_n_objectives(t); o++)
    json_number(b, fr_apq_cost_table_objective_name(t, o), p->costs[o]);
  json_builder_end_object(b);
  int ob = fr_apq_cost_table_find_objective(t, "bitops");
  json_number(b, "bitops", ob >= 0 ? p->costs[ob] : fr_apq_spec_bitops(s, &p->spec));
  json_builder_end_object(b);
}

static void json_result(JsonBuilder *b, const FrApqCostTable *t, const FrApqSearchResult *r) {
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "best");
  json_point(b, t, &r->best);
  json_builder_set_member_name(b, "front_size");
  json_builder_add_int_value(b, r->n_front);
  json_builder_set_member_name(b, "evaluations");
  json_builder_add_int_value(b, (gint64)r->n_evaluations);
  json_number(b, "seconds", r->seconds);
  json_string(b, "note", r->note);
  json_builder_end_object(b);
}

static char *costs_line(const FrApqCostTable *t, const FrApqSearchPoint *p) {
  GString *s = g_string_new(NULL);
  for (int o = 0; o < fr_apq_cost_table_n_objectives(t); o++)
    g_string_append_printf(s, "%s%s %.6g %s", o ? ", " : "", fr_apq_cost_table_objective_name(t, o), p->costs[o],
                           fr_apq_cost_table_objective_unit(t, o));
  return g_string_free(s, FALSE);
}

static void print_result(const char *label, const FrApqCostTable *t, const FrApqSearchResult *r) {
  const FrApqSpace *s = fr_apq_cost_table_space(t);
  g_autofree char *costs = costs_line(t, &r->best);
  g_autofree char *spec = fr_apq_spec_to_string(s, &r->best.spec);
  if (r->has_accuracy) printf("%s: best predicted accuracy %.2f%% at %s\n", label, 100 * r->best.accuracy, costs);
  else printf("%s: cheapest network at %s (no accuracy: cost-only)\n", label, costs);
  printf("  spec %s\n  front of %d networks, %" G_GUINT64_FORMAT " evaluations, %.3f s\n", spec, r->n_front,
         r->n_evaluations, r->seconds);
}

/* ---- apq search ------------------------------------------------------------------------------- */

static gboolean set_budget(const FrApqCostTable *t, FrApqSearchConfig *cfg, const char *name, const char *option,
                           double value, double scale) {
  if (isnan(value)) return TRUE;   /* not given */
  if (!(value > 0) || !isfinite(value)) {
    fprintf(stderr, "frontier-cli: %s must be a positive number\n", option);
    return FALSE;
  }
  int o = fr_apq_cost_table_find_objective(t, name);
  if (o < 0) {
    GString *names = g_string_new(NULL);
    for (int i = 0; i < fr_apq_cost_table_n_objectives(t); i++)
      g_string_append_printf(names, "%s%s", i ? ", " : "", fr_apq_cost_table_objective_name(t, i));
    fprintf(stderr, "frontier-cli: %s: this cost model has no %s objective (it has %s)\n", option, name, names->str);
    g_string_free(names, TRUE);
    return FALSE;
  }
  cfg->budget[o] = value * scale;
  return TRUE;
}

int cmd_apq_search(int argc, char **argv) {
  char *space_name = NULL, *cost_model = NULL, *predictor_path = NULL;
  char **reports = NULL;
  double latency = NAN, energy = NAN, bitops_m = NAN, macs_m = NAN;
  gboolean pareto = FALSE, compare = FALSE, no_predictor = FALSE;
  int generations = -1, population = -1, stage_bits = 8, threads = 0;
  gint64 seed = 1;
  GOptionEntry entries[] = {
    { "space", 's', 0, G_OPTION_ARG_STRING, &space_name, "fmnist-mini (default) or imagenet-bitfusion", "NAME" },
    { "cost-model", 'c', 0, G_OPTION_ARG_STRING, &cost_model,
      "bitfusion-lut (imagenet-bitfusion), bitfusion-model, this-cpu (fmnist-mini), counts; default: the space's first", "NAME" },
    { "predictor", 'p', 0, G_OPTION_ARG_FILENAME, &predictor_path,
      "Accuracy predictor (safetensors, APQ's MLP shape); default: fmnist-mini's shipped one, none for imagenet-bitfusion", "PATH" },
    { "no-predictor", 0, 0, G_OPTION_ARG_NONE, &no_predictor, "Cost-only exploration: no accuracy", NULL },
    { "latency-ms", 0, 0, G_OPTION_ARG_DOUBLE, &latency, "Latency budget (ms)", "X" },
    { "energy-mj", 0, 0, G_OPTION_ARG_DOUBLE, &energy, "Energy budget (mJ)", "Y" },
    { "bitops-m", 0, 0, G_OPTION_ARG_DOUBLE, &bitops_m, "BitOps budget (millions)", "Z" },
    { "macs-m", 0, 0, G_OPTION_ARG_DOUBLE, &macs_m, "MACs budget (millions; the counts model)", "Z" },
    { "pareto", 0, 0, G_OPTION_ARG_NONE, &pareto, "NSGA-II: the whole accuracy/cost front in one run", NULL },
    { "compare", 0, 0, G_OPTION_ARG_NONE, &compare, "Joint search against the sequential pipeline (arch, then width, then bits)", NULL },
    { "stage-bits", 0, 0, G_OPTION_ARG_INT, &stage_bits, "--compare: bits of the sequential pipeline's first two stages (0: fp32; default 8)", "N" },
    { "generations", 'g', 0, G_OPTION_ARG_INT, &generations, "Generations (default 500, as APQ)", "N" },
    { "population", 0, 0, G_OPTION_ARG_INT, &population, "Population (default 100)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "report", 'r', 0, G_OPTION_ARG_FILENAME_ARRAY, &reports, "Write the Pareto report (.pdf, .svg, .csv or .json; repeatable)", "PATH" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- APQ's joint architecture, pruning and quantization search under budgets");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  g_option_context_set_description(ctx,
      "Examples:\n"
      "  frontier-cli apq search --space fmnist-mini --cost-model this-cpu --latency-ms 0.5 --report front.pdf\n"
      "  frontier-cli apq search --space imagenet-bitfusion --latency-ms 8.4 --predictor acc_quant.safetensors --compare\n"
      "An impossible budget (below the cheapest network) is refused with the minimum (exit 1).");
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  int rc = EXIT_USAGE;
  FrApqCostTable *table = NULL;
  FrApqPredictor *pred = NULL;
  char *label = NULL;
  FrApqSearch *search = NULL;
  GError *error = NULL;
  Others others;
  memset(&others, 0, sizeof others);
  if (!ok) goto out;
  if (argc > 1) {
    fprintf(stderr, "frontier-cli: unexpected argument '%s'\n", argv[1]);
    goto out;
  }
  const FrApqSpace *space = fr_apq_space_lookup(space_name ? space_name : "fmnist-mini");
  if (!space) {
    fprintf(stderr, "frontier-cli: unknown space '%s' (fmnist-mini or imagenet-bitfusion)\n", space_name);
    goto out;
  }
  if (!cost_model) cost_model = g_strdup(fr_apq_cost_models_for_space(space)[0].name);
  if ((generations != -1 && generations < 0) || (population != -1 && population < 1) || threads < 0 ||
      (compare && stage_bits != 0 && stage_bits != 4 && stage_bits != 6 && stage_bits != 8)) {
    fprintf(stderr, "frontier-cli: --generations must be >= 0, --population >= 1, --threads >= 0 and --stage-bits "
                    "0, 4, 6 or 8\n");
    goto out;
  }
  if (no_predictor && predictor_path) {
    fprintf(stderr, "frontier-cli: --predictor and --no-predictor exclude each other\n");
    goto out;
  }
  for (int i = 0; reports && reports[i]; i++) {
    const char *dot = strrchr(reports[i], '.');
    if (!dot || (g_ascii_strcasecmp(dot, ".pdf") && g_ascii_strcasecmp(dot, ".svg") && g_ascii_strcasecmp(dot, ".csv") &&
                 g_ascii_strcasecmp(dot, ".json") && g_ascii_strcasecmp(dot, ".png"))) {
      fprintf(stderr, "frontier-cli: --report %s: use .pdf, .svg, .csv or .json\n", reports[i]);
      goto out;
    }
  }
  if (threads > 0) fr_pool_set_threads(threads);

  table = fr_apq_workbench_cost_table(space, cost_model, &error);
  if (!table) {
    fprintf(stderr, "frontier-cli: %s\n", error->message);
    rc = g_error_matches(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT) ? EXIT_USAGE : EXIT_FAILED;
    goto out;
  }
  FrApqSearchConfig cfg;
  fr_apq_search_config_init(&cfg);
  if (pareto) cfg.mode = FR_APQ_SEARCH_NSGA2;
  if (generations >= 0) cfg.generations = generations;
  if (population > 0) {
    cfg.population = population;
    cfg.parents = MAX(1, MIN(cfg.parents, population / 4));
  }
  cfg.seed = (guint64)seed;
  if (!set_budget(table, &cfg, "latency_ms", "--latency-ms", latency, 1) ||
      !set_budget(table, &cfg, "energy_mj", "--energy-mj", energy, 1) ||
      !set_budget(table, &cfg, "bitops", "--bitops-m", bitops_m, 1e6) ||
      !set_budget(table, &cfg, "macs", "--macs-m", macs_m, 1e6))
    goto out;
  if (!no_predictor) {
    pred = fr_apq_workbench_predictor(space, predictor_path, &label, &error);
    if (error) {
      fprintf(stderr, "frontier-cli: %s\n", error->message);
      rc = EXIT_FAILED;
      goto out;
    }
  }
  if (!pred && !opt_quiet)
    fprintf(stderr, "frontier-cli: no accuracy predictor: this is a cost-only exploration of the %s space (the front "
                    "is over the costs alone)\n", space->name);

  search = compare ? fr_apq_search_start_compare(table, pred, &cfg, stage_bits, &error)
                   : fr_apq_search_start(table, pred, &cfg, &error);
  if (!search) {
    fprintf(stderr, "frontier-cli: %s\n", error->message);
    rc = g_error_matches(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT) ? EXIT_USAGE : EXIT_FAILED;
    goto out;
  }
  others.points = g_array_new(FALSE, FALSE, sizeof(FrApqSearchPoint));
  others.seen = g_hash_table_new(g_direct_hash, g_direct_equal);
  others.n_obj = fr_apq_cost_table_n_objectives(table);
  fr_rng_seed(&others.rng, 1);
  FrJobStatus st = run_search_job(fr_apq_search_get_job(search), reports ? &others : NULL, pred != NULL, &error);
  rc = exit_for(st, error);
  if (rc != EXIT_OK) goto out;

  const FrApqSearchResult *res = fr_apq_search_get_result(search);
  const FrApqSearchComparison *cmp = compare ? fr_apq_search_get_comparison(search) : NULL;
  FrApqReport report = {
    .table = table, .cost_model = cost_model, .predictor = label, .config = &cfg, .result = res,
    .comparison = cmp, .others = (const FrApqSearchPoint *)others.points->data, .n_others = (int)others.points->len,
  };
  for (int i = 0; reports && reports[i]; i++) {
    g_clear_error(&error);
    if (!fr_apq_report_save(&report, reports[i], &error)) {
      fprintf(stderr, "frontier-cli: %s\n", error->message);
      rc = EXIT_FAILED;
      goto out;
    }
    if (!opt_quiet) fprintf(stderr, "wrote %s\n", reports[i]);
  }
  if (opt_json) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_string(b, "space", space->name);
    json_string(b, "cost_model", cost_model);
    json_string(b, "predictor", label);
    json_string(b, "mode", !res->has_accuracy ? "cost-only" : res->mode == FR_APQ_SEARCH_NSGA2 ? "nsga2" : "evolution");
    json_builder_set_member_name(b, "best");
    json_point(b, table, &res->best);
    json_builder_set_member_name(b, "front_size");
    json_builder_add_int_value(b, res->n_front);
    json_builder_set_member_name(b, "evaluations");
    json_builder_add_int_value(b, (gint64)res->n_evaluations);
    json_number(b, "seconds", res->seconds);
    json_string(b, "note", res->note);
    json_builder_set_member_name(b, "reports");
    json_builder_begin_array(b);
    for (int i = 0; reports && reports[i]; i++) json_builder_add_string_value(b, reports[i]);
    json_builder_end_array(b);
    if (cmp) {
      json_builder_set_member_name(b, "joint");
      json_result(b, table, cmp->joint);
      json_builder_set_member_name(b, "sequential");
      if (cmp->stages[2]) json_result(b, table, cmp->stages[2]);
      else json_builder_add_null_value(b);
      json_string(b, "sequential_error", cmp->sequential_error);
    }
    json_builder_end_object(b);
    print_json(b);
    g_object_unref(b);
  } else {
    printf("%s on %s, cost model %s, predictor %s\n", compare ? "joint vs sequential" : res->has_accuracy ?
           (res->mode == FR_APQ_SEARCH_NSGA2 ? "NSGA-II" : "APQ evolution") : "cost-only exploration", space->name,
           cost_model, label ? label : "none");
    print_result(compare ? "joint" : "search", table, res);
    if (cmp && cmp->stages[2]) print_result("sequential (arch, then width, then bits)", table, cmp->stages[2]);
    else if (cmp) printf("sequential: %s\n", cmp->sequential_error ? cmp->sequential_error : "did not finish");
    printf("  %s\n", res->note);
  }

out:
  g_clear_error(&error);
  fr_apq_search_free(search);
  fr_apq_predictor_free(pred);
  if (table) fr_apq_cost_table_unref(table);
  if (others.points) g_array_free(others.points, TRUE);
  if (others.seen) g_hash_table_unref(others.seen);
  g_free(label);
  g_free(space_name);
  g_free(cost_model);
  g_free(predictor_path);
  g_strfreev(reports);
  return rc;
}

/* ---- apq profile ------------------------------------------------------------------------------ */

int cmd_apq_profile(int argc, char **argv) {
  FrApqCpuProfileConfig cfg;
  fr_apq_cpu_profile_config_init(&cfg);
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &cfg.output, "LUT file to write (default: the user's data folder, "
      "where the this-cpu cost model reads it)", "PATH" },
    { "repeats", 'r', 0, G_OPTION_ARG_INT, &cfg.repeats, "Timed samples per layer, the median is kept (default 15)", "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &cfg.warmup, "Untimed samples first (default 3)", "N" },
    { "min-sample-ms", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.min_sample_ms, "A sample repeats the layer for this long (default 0.5)", "MS" },
    { "blocks", 0, 0, G_OPTION_ARG_INT, &cfg.blocks, "Only the first N blocks (a quick check; the file then cannot price networks)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &cfg.threads, "Threads while measuring (default 1)", "N" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- measure this CPU's latency of every fmnist-mini layer choice (the this-cpu cost model)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  g_option_context_set_description(ctx, "Batch 1, the engine's own ops as the supernet runs them (conv, batch norm with "
                                         "its activation, fake quantization for quantized choices), median of repeats "
                                         "after warm-up. About 10 seconds with the defaults.");
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  if (argc > 1) {
    fprintf(stderr, "frontier-cli: unexpected argument '%s'\n", argv[1]);
    g_free(cfg.output);
    return EXIT_USAGE;
  }
  GError *error = NULL;
  GVariant *result = NULL;
  FrJob *job = fr_job_start("apq-profile", fr_apq_cpu_profile_job, fr_apq_cpu_profile_config_copy(&cfg),
                            (GDestroyNotify)fr_apq_cpu_profile_config_free);
  FrJobStatus st = run_job(job, &result, "apq.profile.result", &error);
  fr_job_unref(job);
  int rc = exit_for(st, error);
  if (rc == EXIT_OK && result) {
    const char *path;
    guint32 rows;
    double secs, small, large, whole;
    g_variant_get(result, "(&sudddd)", &path, &rows, &secs, &small, &large, &whole);
    FrApqCpuLut *lut = fr_apq_cpu_lut_load(path, NULL);
    const char *cpu = lut ? fr_apq_cpu_lut_get_info(lut, "cpu") : NULL;
    const char *thr = lut ? fr_apq_cpu_lut_get_info(lut, "threads") : NULL;
    if (opt_json) {
      JsonBuilder *b = json_builder_new();
      json_builder_begin_object(b);
      json_string(b, "output", path);
      json_builder_set_member_name(b, "rows");
      json_builder_add_int_value(b, rows);
      json_number(b, "seconds", secs);
      json_string(b, "cpu", cpu);
      json_builder_set_member_name(b, "threads");
      json_builder_add_int_value(b, thr ? g_ascii_strtoll(thr, NULL, 10) : 0);
      json_number(b, "smallest_fp32_ms", small);
      json_number(b, "largest_fp32_ms", large);
      json_number(b, "largest_fp32_measured_ms", whole);
      json_builder_end_object(b);
      print_json(b);
      g_object_unref(b);
    } else {
      printf("%s: %u layer rows in %.1f s on %s\n", path, rows, secs, cpu ? cpu : "this CPU");
      if (isfinite(small))
        printf("  fmnist-mini at fp32 by the table: smallest network %.4f ms, largest %.4f ms (measured end to end: "
               "%.4f ms)\n", small, large, whole);
      else
        printf("  a partial profile (--blocks): the this-cpu cost model needs every block\n");
    }
    fr_apq_cpu_lut_free(lut);
  }
  if (result) g_variant_unref(result);
  g_clear_error(&error);
  g_free(cfg.output);
  return rc;
}
