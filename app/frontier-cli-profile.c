/* frontier-cli profile MODEL: where a model spends its time on this machine, per layer and per op,
 * against the roofline; exports as JSON, CSV and Chrome trace (fr-profiler.h, fr-profile-targets.h). */
#include "frontier-cli.h"
#include "fr-profile-targets.h"
#include "fr-report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void list_targets(FILE *f) {
  int n;
  const FrProfileTargetInfo *t = fr_profile_targets(&n);
  fprintf(f, "Usage: frontier-cli profile MODEL [--threads N] [--batch B] [--runs R] [--json] [--trace out.json] "
             "[--csv out.csv]\n\nModels:\n");
  for (int i = 0; i < n; i++) fprintf(f, "  %-22s %s\n", t[i].name, t[i].summary);
}

static FrProfileResult *profile_one(FrProfileConfig *cfg, int *rc) {
  if (g_str_has_suffix(cfg->target, ".json") && g_file_test(cfg->target, G_FILE_TEST_IS_REGULAR)) {
    GError *error = NULL;   /* a profile saved with --save */
    FrProfileResult *r = fr_profile_result_load(cfg->target, &error);
    if (!r) {
      fprintf(stderr, "frontier-cli: %s\n", error->message);
      g_error_free(error);
      *rc = EXIT_FAILED;
    }
    return r;
  }
  FrProfileTask *task = fr_profile_task_start(cfg);
  GError *error = NULL;
  FrJobStatus st = run_job(fr_profile_task_job(task), NULL, NULL, &error);
  *rc = exit_for(st, error);
  g_clear_error(&error);
  FrProfileResult *r = *rc == EXIT_OK ? fr_profile_task_result(task) : NULL;
  fr_profile_task_unref(task);
  return r;
}

static char *si(double v, const char *unit) { return isfinite(v) ? fr_report_format_si(v, unit) : g_strdup("-"); }

static void print_summary(const FrProfileResult *r) {
  const FrProfInfo *in = fr_profile_result_info(r);
  char *macs = si(in->macs, ""), *bytes = si(in->bytes_read + in->bytes_written, "B");
  printf("%s: %s\n", in->target, in->description);
  printf("  %d thread%s, %d runs after %d warm-up: median %.3f ms per run (min %.3f, max %.3f, MAD %.3f); ops %.3f ms\n",
         in->threads, in->threads == 1 ? "" : "s", in->runs, in->warmup, in->run_ms_median, in->run_ms_min, in->run_ms_max,
         in->run_ms_mad, in->op_ms_median);
  printf("  %s MACs, %s moved (from shapes), %.2f GFLOP/s over the ops\n", macs, bytes,
         in->op_ms_median > 0 ? in->flops / in->op_ms_median / 1e6 : 0.0);
  /* a profiled run also pays for the profiler between the ops: the unprofiled run is the yardstick */
  if (isfinite(in->unprofiled_ms_median) && in->unprofiled_ms_median > 0)
    printf("  the ops cover %.0f %% of an unprofiled run (the rest: work between the ops)\n",
           100 * in->op_ms_median / in->unprofiled_ms_median);
  if (isfinite(in->model_macs)) {
    char *mm = si(in->model_macs, "");
    printf("  the model's cost model: %s MACs\n", mm);
    g_free(mm);
  }
  if (isfinite(in->overhead))
    printf("  without the profiler: median %.3f ms per run: profiling overhead %+.1f %% in wall time, %+.1f %% in "
           "CPU time (%.3f vs %.3f ms)\n", in->unprofiled_ms_median, 100 * in->overhead, 100 * in->overhead_cpu,
           in->run_cpu_ms_median, in->unprofiled_cpu_ms_median);
  if (in->has_roofline)
    printf("  ceilings (%s, %s): GEMM %.1f GFLOP/s on 1 thread, %.1f on %d; copy %.1f GB/s on 1 thread, %.1f on %d\n",
           in->roofline.cpu, in->roofline.from_cache ? "cached" : "measured now", in->roofline.gemm_gflops_1t,
           in->roofline.gemm_gflops, in->roofline.threads, in->roofline.bw_gbs_1t, in->roofline.bw_gbs, in->roofline.threads);
  g_free(macs);
  g_free(bytes);
}

static void print_groups(const FrProfileResult *r, FrProfGroupBy by, int depth) {
  int n;
  FrProfGroup *gs = fr_profile_result_groups(r, by, depth, &n);
  int w = 5;
  for (int i = 0; i < n; i++) w = MAX(w, (int)strlen(gs[i].name));
  w = MIN(w, 40);
  printf("\n%-*s %6s %9s %10s %8s %6s %8s %8s %7s %6s %5s\n", w, by == FR_PROF_BY_LAYER ? "layer" : "op", "calls", "MACs",
         "ms", "±MAD", "share", "GFLOP/s", "GB/s", "FLOP/B", "roof%", "cores");
  for (int i = 0; i < n; i++) {
    const FrProfGroup *g = &gs[i];
    char *macs = si(g->macs, "");
    char roof[16] = "-";
    if (isfinite(g->attainable_gflops) && g->attainable_gflops > 0 && g->flops > 0)
      g_snprintf(roof, sizeof roof, "%.0f", 100 * g->gflops / g->attainable_gflops);
    printf("%-*.*s %6d %9s %10.3f %8.3f %5.1f%% %8.2f %8.2f %7.2f %6s %5.2f\n", w, w, g->name, g->calls, macs,
           g->ms_median, g->ms_mad, 100 * g->share, g->gflops, g->gbps, g->intensity, roof, g->parallelism);
    g_free(macs);
  }
  fr_prof_groups_free(gs, n);
}

static void print_compare(const FrProfCompareRow *rows, int n, const char *a, const char *b) {
  printf("\n%s (a) vs %s (b), per layer group (time: wall medians; CPU: process CPU time medians):\n", a, b);
  printf("%-16s %9s %9s %9s %9s %8s %8s %8s %9s\n", "group", "MACs a", "MACs b", "ms a", "ms b", "MACs a/b", "time a/b",
         "CPU a/b", "time/MACs");
  for (int i = 0; i < n; i++) {
    const FrProfCompareRow *c = &rows[i];
    char *ma = si(c->macs_a, ""), *mb = si(c->macs_b, "");
    printf("%-16.16s %9s %9s %9.3f %9.3f %8.2f %8.2f %8.2f %9.2f\n", c->name, ma, mb, c->ms_a, c->ms_b, c->macs_ratio,
           c->time_ratio, c->cpu_time_ratio, c->speedup_efficiency);
    g_free(ma);
    g_free(mb);
  }
}

static gboolean write_exports(const FrProfileResult *r, const char *trace, const char *csv, const char *csv_ops,
                              const char *save) {
  GError *error = NULL;
  gboolean ok = TRUE;
  if (ok && trace) ok = fr_profile_result_write_trace(r, trace, &error);
  if (ok && csv) ok = fr_profile_result_write_csv(r, FR_PROF_CSV_LAYERS, csv, &error);
  if (ok && csv_ops) ok = fr_profile_result_write_csv(r, FR_PROF_CSV_OPS, csv_ops, &error);
  if (ok && save) ok = fr_profile_result_write_json(r, save, TRUE, &error);
  if (!ok) {
    fprintf(stderr, "frontier-cli: %s\n", error->message);
    g_error_free(error);
  }
  return ok;
}

int cmd_profile(int argc, char **argv) {
  FrProfileConfig cfg;
  fr_profile_config_init(&cfg);
  char *trace = NULL, *csv = NULL, *csv_ops = NULL, *save = NULL, *compare = NULL;
  gboolean by_op = FALSE, no_roofline = FALSE;
  int depth = 0;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &cfg.threads, "Threads (default: all cores)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &cfg.batch, "Batch size (default: the model's)", "B" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &cfg.runs, "Timed runs, median reported (default 5)", "R" },
    { "warmup", 'w', 0, G_OPTION_ARG_INT, &cfg.warmup, "Untimed runs first (default 2)", "N" },
    { "trace", 0, 0, G_OPTION_ARG_FILENAME, &trace, "Write a Chrome trace-event file (Perfetto, chrome://tracing)", "FILE" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "Write the per-layer table as CSV", "FILE" },
    { "csv-ops", 0, 0, G_OPTION_ARG_FILENAME, &csv_ops, "Write every op of every timed run as CSV", "FILE" },
    { "save", 'o', 0, G_OPTION_ARG_FILENAME, &save, "Write the whole profile as JSON, every op included", "FILE" },
    { "overhead", 0, 0, G_OPTION_ARG_NONE, &cfg.overhead, "Also time each run without the profiler", NULL },
    { "compare", 'c', 0, G_OPTION_ARG_STRING, &compare, "Profile a second model (or read a saved profile) and compare "
                                                         "per layer group", "MODEL" },
    { "depth", 'd', 0, G_OPTION_ARG_INT, &depth, "Group layers by their first D scope names (0: whole path; "
                                                  "--compare: default 1)", "D" },
    { "by-op", 0, 0, G_OPTION_ARG_NONE, &by_op, "Table per op type instead of per layer", NULL },
    { "wall-only", 0, 0, G_OPTION_ARG_NONE, &cfg.wall_only, "No per-op CPU clocks (less overhead on tiny ops)", NULL },
    { "no-roofline", 0, 0, G_OPTION_ARG_NONE, &no_roofline, "Do not measure or read the machine's ceilings", NULL },
    { "remeasure-roofline", 0, 0, G_OPTION_ARG_NONE, &cfg.remeasure_roofline, "Measure the ceilings again (cached)", NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("MODEL - where a model spends its time, per layer and op, against the roofline");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  g_option_context_set_description(ctx, "`frontier-cli profile` with no MODEL lists the models. MODEL (and --compare) may "
                                         "also be a profile saved with --save (FILE.json). Timing figures are the "
                                         "median of --runs runs; MACs and bytes are counted from shapes.");
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  int rc = EXIT_OK;
  if (!ok) rc = EXIT_USAGE;
  else if (argc < 2) {
    list_targets(stdout);
  } else if (argc > 2) {
    fprintf(stderr, "frontier-cli: profile takes one MODEL (got %d); compare two with --compare\n", argc - 1);
    rc = EXIT_USAGE;
  } else if (cfg.runs < 1 || cfg.warmup < 0 || cfg.threads < 0 || cfg.batch < 0 || depth < 0) {
    fprintf(stderr, "frontier-cli: --runs must be >= 1; --warmup, --threads, --batch and --depth >= 0\n");
    rc = EXIT_USAGE;
  }
  if (rc != EXIT_OK || argc < 2) goto out;
  cfg.roofline = !no_roofline;
  cfg.target = argv[1];
  FrProfileResult *a = profile_one(&cfg, &rc), *b = NULL;
  if (a && compare) {
    cfg.target = compare;
    b = profile_one(&cfg, &rc);
  }
  if (rc == EXIT_OK && !write_exports(a, trace, csv, csv_ops, save)) rc = EXIT_FAILED;
  if (rc == EXIT_OK) {
    int cdepth = depth > 0 ? depth : 1, n = 0;
    FrProfCompareRow *rows = b ? fr_profile_compare(a, b, cdepth, &n) : NULL;
    if (opt_json) {
      JsonNode *root;
      if (b) {
        JsonObject *o = json_object_new();
        json_object_set_member(o, "a", fr_profile_result_to_json(a, FALSE));
        json_object_set_member(o, "b", fr_profile_result_to_json(b, FALSE));
        json_object_set_member(o, "compare", fr_profile_compare_to_json(rows, n, argv[1], compare));
        root = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(root, o);
      } else {
        root = fr_profile_result_to_json(a, FALSE);
      }
      JsonGenerator *gen = json_generator_new();
      json_generator_set_root(gen, root);
      json_generator_set_pretty(gen, TRUE);
      char *s = json_generator_to_data(gen, NULL);
      printf("%s\n", s);
      g_free(s);
      g_object_unref(gen);
      json_node_unref(root);
    } else {
      print_summary(a);
      print_groups(a, by_op ? FR_PROF_BY_OP : FR_PROF_BY_LAYER, depth);
      if (b) {
        printf("\n");
        print_summary(b);
        print_groups(b, by_op ? FR_PROF_BY_OP : FR_PROF_BY_LAYER, depth);
        print_compare(rows, n, argv[1], compare);
      }
    }
    fr_prof_compare_free(rows, n);
  }
  if (a) fr_profile_result_unref(a);
  if (b) fr_profile_result_unref(b);
out:
  g_free(trace), g_free(csv), g_free(csv_ops), g_free(save), g_free(compare);
  return rc;
}
