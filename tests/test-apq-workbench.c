/* test-apq-workbench.c: the APQ workbench (cost models by name, predictors, per-layer breakdowns),
 * the BitFusion cost tables, the this-CPU profile and its table, and the Pareto reports (each format
 * written, then read back; a failed write leaves nothing). Runs in a few seconds: tiny profiles
 * (one sample per layer) and searches of a few generations. The user's data folder is pointed at a
 * temporary folder (XDG_DATA_HOME) so the real this-cpu table is never touched. */
#include "fr-apq-bitfusion.h"
#include "fr-apq-cpucost.h"
#include "fr-apq-report.h"
#include "fr-apq-specjson.h"
#include "fr-apq-workbench.h"
#include "fr-model-io.h"
#include "fr-report.h"
#include "fr-rng.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *tmp_dir;

static const FrApqSpace *mini(void) { return fr_apq_space_fmnist_mini(); }
static const FrApqSpace *inet(void) { return fr_apq_space_imagenet_bitfusion(); }

static gboolean have_bitfusion_data(void) {
  g_autofree char *p = fr_data_find("apq/bitfusion/bitfusion_lut_b1.csv");
  if (!p) g_test_skip("no BitFusion LUT (FR_DATA_DIR/apq/bitfusion)");
  return p != NULL;
}

static char *lut_dir(void) {
  g_autofree char *p = fr_data_find("apq/bitfusion/bitfusion_lut_b1.csv");
  return p ? g_path_get_dirname(p) : NULL;
}

static void assert_close(double a, double b, double rel) {
  if (!(fabs(a - b) <= rel * MAX(fabs(a), fabs(b)) + 1e-300))
    g_error("%.17g and %.17g differ by more than %g relative", a, b, rel);
}

/* Runs the profile job with one sample per layer (a second or so) into path; NULL: the user's file. */
static void quick_profile(const char *path, int blocks) {
  FrApqCpuProfileConfig cfg;
  fr_apq_cpu_profile_config_init(&cfg);
  cfg.output = g_strdup(path);
  cfg.repeats = 1;
  cfg.warmup = 0;
  cfg.min_sample_ms = 0;
  cfg.blocks = blocks;
  FrJob *job = fr_job_start("profile", fr_apq_cpu_profile_job, fr_apq_cpu_profile_config_copy(&cfg),
                            (GDestroyNotify)fr_apq_cpu_profile_config_free);
  gboolean payload = FALSE;
  for (;;) {
    FrEvent *ev = fr_job_wait_event(job, 1000000);
    if (!ev) continue;
    gboolean fin = ev->kind == FR_EVENT_FINISHED;
    if (ev->kind == FR_EVENT_PAYLOAD && !g_strcmp0(ev->payload_type, "apq.profile.result")) {
      g_assert_true(g_variant_is_of_type(ev->payload, G_VARIANT_TYPE(FR_APQ_PROFILE_RESULT_TYPE)));
      guint32 rows;
      const char *out;
      double secs, small, large, whole;
      g_variant_get(ev->payload, "(&sudddd)", &out, &rows, &secs, &small, &large, &whole);
      g_assert_cmpint(rows, >, 2);
      g_assert_true(whole > 0);
      g_assert_true(blocks ? isnan(small) : small > 0 && large > small);
      payload = TRUE;
    }
    fr_event_free(ev);
    if (fin) break;
  }
  GError *error = NULL;
  g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_SUCCEEDED);
  g_assert_no_error(error);
  g_assert_true(payload);
  fr_job_unref(job);
  g_free(cfg.output);
}

/* ---- cost models ------------------------------------------------------------------------------ */

static void test_models_list(void) {
  const char *want_mini[] = { "bitfusion-model", "this-cpu", "counts", NULL };
  const char *want_inet[] = { "bitfusion-lut", "bitfusion-model", "counts", NULL };
  const FrApqCostModelInfo *m = fr_apq_cost_models_for_space(mini());
  for (int i = 0; want_mini[i]; i++) {
    g_assert_cmpstr(m[i].name, ==, want_mini[i]);
    g_assert_true(m[i].label && *m[i].label && m[i].description && *m[i].description);
  }
  g_assert_null(m[3].name);
  m = fr_apq_cost_models_for_space(inet());
  for (int i = 0; want_inet[i]; i++) g_assert_cmpstr(m[i].name, ==, want_inet[i]);
  g_assert_null(m[3].name);
}

typedef struct {
  const FrApqSpace *space;
  const char *model;
  FrApqCostTable *got;
} ThreadArg;

static gpointer get_table(gpointer data) {
  ThreadArg *a = data;
  GError *error = NULL;
  a->got = fr_apq_workbench_cost_table(a->space, a->model, &error);
  g_assert_no_error(error);
  return NULL;
}

/* First use from several threads at once: one LUT, one fit, one shared table. */
static void test_tables_shared(void) {
  if (!have_bitfusion_data()) return;
  ThreadArg args[6];
  GThread *th[6];
  for (int i = 0; i < 6; i++) {
    args[i] = (ThreadArg){ i % 2 ? inet() : mini(), "bitfusion-model", NULL };
    th[i] = g_thread_new("table", get_table, &args[i]);
  }
  for (int i = 0; i < 6; i++) g_thread_join(th[i]);
  for (int i = 2; i < 6; i++) g_assert_true(args[i].got == args[i % 2].got);
  g_assert_true(args[0].got != args[1].got);
  for (int i = 0; i < 6; i++) fr_apq_cost_table_unref(args[i].got);
  FrApqCostTable *t = fr_apq_workbench_cost_table(mini(), "bitfusion-model", NULL);
  g_assert_cmpint(fr_apq_cost_table_n_objectives(t), ==, 3);
  g_assert_cmpstr(fr_apq_cost_table_objective_name(t, 0), ==, "latency_ms");
  g_assert_cmpstr(fr_apq_cost_table_objective_name(t, 1), ==, "energy_mj");
  g_assert_cmpstr(fr_apq_cost_table_objective_name(t, 2), ==, "bitops");
  fr_apq_cost_table_unref(t);
}

static void test_model_errors(void) {
  GError *error = NULL;
  g_assert_null(fr_apq_workbench_cost_table(mini(), "bitfusion-lut", &error));
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull(strstr(error->message, "ImageNet"));
  g_clear_error(&error);
  g_assert_null(fr_apq_workbench_cost_table(mini(), "abacus", &error));
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull(strstr(error->message, "unknown"));
  g_clear_error(&error);
  g_assert_null(fr_apq_workbench_cost_table(inet(), "this-cpu", &error));
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  /* the LUT itself refuses a space it has no layers of */
  if (!have_bitfusion_data()) return;
  g_autofree char *dir = lut_dir();
  g_autoptr(FrApqBitfusionLut) lut = fr_apq_bitfusion_lut_load_dir(dir, &error);
  g_assert_no_error(error);
  g_assert_null(fr_apq_bitfusion_cost_table(lut, mini(), &error));
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC);
  g_assert_nonnull(strstr(error->message, "no BitFusion LUT entry"));
  g_clear_error(&error);
}

/* The LUT table against APQ's predict_lat (fr_apq_bitfusion_spec_cost), and its BitOps against the
 * space's counts, on random ImageNet specs; the model tables against the model's spec cost. */
static void test_bitfusion_tables_exact(void) {
  if (!have_bitfusion_data()) return;
  GError *error = NULL;
  g_autoptr(FrApqCostTable) t = fr_apq_workbench_cost_table(inet(), "bitfusion-lut", &error);
  g_assert_no_error(error);
  g_autofree char *dir = lut_dir();
  g_autoptr(FrApqBitfusionLut) lut = fr_apq_bitfusion_lut_load_dir(dir, &error);
  g_assert_no_error(error);
  g_autoptr(FrApqBitfusionModel) model = fr_apq_bitfusion_model_fit(lut, 0, NULL, &error);
  g_assert_no_error(error);
  FrRng rng;
  fr_rng_seed(&rng, 5);
  for (int i = 0; i < 300; i++) {
    FrApqSpec spec;
    fr_apq_spec_random(inet(), &rng, TRUE, &spec);
    double c[FR_APQ_COST_MAX_OBJECTIVES];
    FrApqHwCost hw;
    g_assert_true(fr_apq_cost_table_eval(t, &spec, c));
    g_assert_true(fr_apq_bitfusion_spec_cost(lut, inet(), &spec, &hw, &error));
    g_assert_no_error(error);
    assert_close(c[0], hw.latency_ms, 1e-12);
    assert_close(c[1], hw.energy_mj, 1e-12);
    g_assert_cmpfloat(c[2], ==, fr_apq_spec_bitops(inet(), &spec));
  }
  /* full precision and kernel 7 with 4-bit depthwise activations are unavailable */
  FrApqSpec spec;
  double c[FR_APQ_COST_MAX_OBJECTIVES];
  FrApqHwCost hw;
  fr_apq_spec_largest(inet(), 0, &spec);
  g_assert_false(fr_apq_cost_table_eval(t, &spec, c));
  g_assert_true(isinf(c[0]));
  g_assert_true(isinf(fr_apq_cost_table_entry(t, 0, 2, 0, 0)[0]));   /* ks 7, bits code 0: dw_a 4 */
  g_assert_true(isfinite(fr_apq_cost_table_entry(t, 0, 2, 0, 1)[0]));
  for (int sp = 0; sp < 2; sp++) {
    const FrApqSpace *s = sp ? inet() : mini();
    g_autoptr(FrApqCostTable) mt = fr_apq_workbench_cost_table(s, "bitfusion-model", &error);
    g_assert_no_error(error);
    for (int i = 0; i < 100; i++) {
      fr_apq_spec_random(s, &rng, TRUE, &spec);
      g_assert_true(fr_apq_cost_table_eval(mt, &spec, c));
      g_assert_true(fr_apq_bitfusion_model_spec_cost(model, s, &spec, &hw, &error));
      assert_close(c[0], hw.latency_ms, 1e-12);
      assert_close(c[1], hw.energy_mj, 1e-12);
      g_assert_cmpfloat(c[2], ==, fr_apq_spec_bitops(s, &spec));
    }
  }
}

/* ---- this CPU --------------------------------------------------------------------------------- */

static void test_profile(void) {
  GError *error = NULL;
  /* nothing measured yet: a clear error that names the command */
  g_assert_null(fr_apq_workbench_cost_table(mini(), "this-cpu", &error));
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT);
  g_assert_nonnull(strstr(error->message, "frontier-cli apq profile"));
  g_clear_error(&error);

  /* a partial profile: readable, but it cannot price networks */
  g_autofree char *partial = g_build_filename(tmp_dir, "partial.csv", NULL);
  quick_profile(partial, 2);
  g_autoptr(FrApqCpuLut) lut = fr_apq_cpu_lut_load(partial, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(fr_apq_cpu_lut_get_info(lut, "space"), ==, "fmnist-mini");
  g_assert_nonnull(fr_apq_cpu_lut_get_info(lut, "cpu"));
  g_assert_cmpstr(fr_apq_cpu_lut_get_info(lut, "threads"), ==, "1");
  g_assert_nonnull(fr_apq_cpu_lut_get_info(lut, "date"));
  int rows = 2;
  for (int b = 0; b < 2; b++) rows += 2 * 5 * mini()->blocks[b].n_mid;
  g_assert_cmpint(fr_apq_cpu_lut_size(lut), ==, rows);
  double ms;
  g_assert_true(fr_apq_cpu_lut_layer(lut, FR_APQ_CPU_DEPTHWISE, 1, 7, mini()->blocks[1].mid_options[0], TRUE, &ms));
  g_assert_true(ms > 0);
  g_assert_false(fr_apq_cpu_lut_layer(lut, FR_APQ_CPU_EXPAND, 2, 1, mini()->blocks[2].mid_options[0], FALSE, &ms));
  g_assert_null(fr_apq_cpu_lut_cost_table(lut, mini(), &error));
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC);
  g_assert_nonnull(strstr(error->message, "partial"));
  g_clear_error(&error);

  /* the whole space, into the user's data folder, where the this-cpu model reads it */
  g_autofree char *user = fr_apq_cpucost_user_path();
  g_assert_true(g_str_has_prefix(user, tmp_dir));
  quick_profile(NULL, 0);
  g_autofree char *found = fr_apq_cpucost_find();
  g_assert_cmpstr(found, ==, user);
  g_autoptr(FrApqCostTable) t = fr_apq_workbench_cost_table(mini(), "this-cpu", &error);
  g_assert_no_error(error);
  g_assert_cmpstr(fr_apq_cost_table_objective_name(t, 0), ==, "latency_ms");
  g_assert_cmpstr(fr_apq_cost_table_objective_name(t, 1), ==, "bitops");
  FrApqSpec small, large;
  double cs[FR_APQ_COST_MAX_OBJECTIVES], cl[FR_APQ_COST_MAX_OBJECTIVES];
  fr_apq_spec_smallest(mini(), 0, &small);
  fr_apq_spec_largest(mini(), 0, &large);
  g_assert_true(fr_apq_cost_table_eval(t, &small, cs));
  g_assert_true(fr_apq_cost_table_eval(t, &large, cl));
  g_assert_true(cs[0] > 0 && cl[0] > cs[0]);   /* 16 wide blocks cost more than 8 narrow ones */
  /* bits do not change the CPU time: every bit policy of a quantized block costs the same */
  const double *e0 = fr_apq_cost_table_entry(t, 3, 1, 0, 0), *e1 = fr_apq_cost_table_entry(t, 3, 1, 0, 80);
  g_assert_cmpfloat(e0[0], ==, e1[0]);
  g_assert_cmpfloat(e0[1], <, e1[1]);          /* but BitOps do */

  /* a corrupt file: a clear error with the line */
  g_autofree char *bad = g_build_filename(tmp_dir, "bad.csv", NULL);
  g_assert_true(g_file_set_contents(bad, "# space: fmnist-mini\nlayer,block,kernel,mid,precision,latency_ms\n"
                                         "stem,-1,3,8,fp32,-1\n", -1, NULL));
  g_assert_null(fr_apq_cpu_lut_load(bad, &error));
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE);
  g_assert_nonnull(strstr(error->message, ":3:"));
  g_clear_error(&error);
}

static void test_profile_cancel(void) {
  FrApqCpuProfileConfig cfg;
  fr_apq_cpu_profile_config_init(&cfg);
  g_autofree char *path = g_build_filename(tmp_dir, "cancelled.csv", NULL);
  cfg.output = path;
  FrJob *job = fr_job_start("profile", fr_apq_cpu_profile_job, fr_apq_cpu_profile_config_copy(&cfg),
                            (GDestroyNotify)fr_apq_cpu_profile_config_free);
  fr_job_cancel(job);
  GError *error = NULL;
  g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_CANCELLED);
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED);
  g_clear_error(&error);
  fr_job_unref(job);
  g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* ---- breakdowns ------------------------------------------------------------------------------- */

static void check_breakdown(const FrApqSpace *s, const char *model, const FrApqSpec *spec) {
  GError *error = NULL;
  g_autoptr(FrApqCostTable) t = fr_apq_workbench_cost_table(s, model, &error);
  g_assert_no_error(error);
  GArray *rows = fr_apq_workbench_breakdown(s, model, spec, &error);
  g_assert_no_error(error);
  const int no = fr_apq_cost_table_n_objectives(t);
  double want[FR_APQ_COST_MAX_OBJECTIVES], sum[FR_APQ_COST_MAX_OBJECTIVES] = { 0 };
  g_assert_true(fr_apq_cost_table_eval(t, spec, want));
  int active = 0, fixed = 0;
  for (int b = 0; b < s->n_blocks; b++) active += fr_apq_block_active(s, spec, b);
  double macs = 0;
  for (guint i = 0; i < rows->len; i++) {
    const FrApqLayerRow *r = &g_array_index(rows, FrApqLayerRow, i);
    g_assert_true(r->name[0] != '\0');
    fixed += r->block < 0;
    if (r->block >= 0) g_assert_true(fixed > 0 && fr_apq_block_active(s, spec, r->block));
    for (int o = 0; o < no; o++) sum[o] += r->costs[o];
    for (int o = no; o < FR_APQ_COST_MAX_OBJECTIVES; o++) g_assert_cmpfloat(r->costs[o], ==, 0);
    macs += r->macs;
  }
  g_assert_cmpint((int)rows->len - fixed, ==, 3 * active);
  for (int o = 0; o < no; o++) assert_close(sum[o], want[o], 1e-9);
  g_assert_cmpfloat(macs, ==, fr_apq_spec_macs(s, spec));
  g_array_unref(rows);
}

static void test_breakdown_sums(void) {
  FrRng rng;
  fr_rng_seed(&rng, 11);
  g_autofree char *lut = fr_data_find("apq/bitfusion/bitfusion_lut_b1.csv");
  g_autofree char *cpu = fr_apq_cpucost_find();   /* measured by test_profile */
  gboolean bf = lut != NULL;
  for (int i = 0; i < 25; i++) {
    FrApqSpec spec;
    fr_apq_spec_random(mini(), &rng, i % 3 != 0, &spec);
    check_breakdown(mini(), "counts", &spec);
    if (cpu) check_breakdown(mini(), "this-cpu", &spec);
    if (spec.quantized && bf) check_breakdown(mini(), "bitfusion-model", &spec);
    fr_apq_spec_random(inet(), &rng, i % 3 != 0, &spec);
    check_breakdown(inet(), "counts", &spec);
    if (spec.quantized && bf) {
      check_breakdown(inet(), "bitfusion-lut", &spec);
      check_breakdown(inet(), "bitfusion-model", &spec);
    }
  }
  /* BitFusion cannot price a full-precision spec; a spec outside the space is refused */
  FrApqSpec spec;
  GError *error = NULL;
  fr_apq_spec_largest(mini(), 0, &spec);
  if (bf) {
    g_assert_null(fr_apq_workbench_breakdown(mini(), "bitfusion-model", &spec, &error));
    g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC);
    g_clear_error(&error);
  }
  spec.mid[0] = 17;
  g_assert_null(fr_apq_workbench_breakdown(mini(), "counts", &spec, &error));
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC);
  g_clear_error(&error);
}

/* ---- predictors ------------------------------------------------------------------------------- */

static char *random_predictor(const FrApqSpace *s, const char *name, int quant_dim) {
  FrApqPredictor *p = fr_apq_predictor_new(s->arch_dim, quant_dim, 16, 3);
  char *path = g_build_filename(tmp_dir, name, NULL);
  const char *meta[] = { "space", s->name, "method", "test", NULL };
  GError *error = NULL;
  g_assert_true(fr_apq_predictor_save(p, path, meta, &error));
  g_assert_no_error(error);
  fr_apq_predictor_free(p);
  return path;
}

static void test_predictors(void) {
  GError *error = NULL;
  char *label = NULL;
  /* imagenet-bitfusion without a file: cost-only, no error */
  g_assert_null(fr_apq_workbench_predictor(inet(), NULL, &label, &error));
  g_assert_no_error(error);
  g_assert_null(label);
  g_autofree char *path = random_predictor(mini(), "mini-q.safetensors", mini()->quant_dim);
  FrApqPredictor *p = fr_apq_workbench_predictor(mini(), path, &label, &error);
  g_assert_no_error(error);
  g_assert_nonnull(p);
  g_assert_true(g_str_has_prefix(label, "mini-q.safetensors"));
  g_assert_nonnull(strstr(label, "method test"));
  g_clear_pointer(&label, g_free);
  fr_apq_predictor_free(p);
  /* wrong space: by its metadata and by its dims */
  g_assert_null(fr_apq_workbench_predictor(inet(), path, &label, &error));
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC);
  g_assert_null(label);
  g_clear_error(&error);
  g_autofree char *fp = random_predictor(mini(), "mini-fp.safetensors", 0);
  p = fr_apq_workbench_predictor(mini(), fp, &label, &error);
  g_assert_no_error(error);
  g_assert_nonnull(strstr(label, "full precision"));
  g_clear_pointer(&label, g_free);
  fr_apq_predictor_free(p);
  g_autofree char *missing = g_build_filename(tmp_dir, "missing.safetensors", NULL);
  g_assert_null(fr_apq_workbench_predictor(mini(), missing, NULL, &error));
  g_assert_nonnull(error);
  g_clear_error(&error);
  /* the shipped default, when it is there */
  g_autofree char *shipped = fr_data_find("apq/predictor-quant.safetensors");
  if (!shipped) shipped = fr_data_find("apq/predictor-fp32.safetensors");
  p = fr_apq_workbench_predictor(mini(), NULL, NULL, &error);
  if (shipped) {
    g_assert_no_error(error);
    g_assert_nonnull(p);
  } else {
    g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT);
    g_clear_error(&error);
  }
  fr_apq_predictor_free(p);
}

/* ---- reports ---------------------------------------------------------------------------------- */

/* RFC 4180 records of a whole file. */
static GPtrArray *parse_csv(const char *text) {
  GPtrArray *records = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
  GPtrArray *rec = g_ptr_array_new_with_free_func(g_free);
  GString *cell = g_string_new(NULL);
  gboolean quoted = FALSE, any = FALSE;
  for (const char *p = text; *p; p++) {
    if (quoted) {
      if (*p == '"' && p[1] == '"') g_string_append_c(cell, '"'), p++;
      else if (*p == '"') quoted = FALSE;
      else g_string_append_c(cell, *p);
    } else if (*p == '"') {
      quoted = TRUE;
    } else if (*p == ',') {
      g_ptr_array_add(rec, g_strdup(cell->str));
      g_string_truncate(cell, 0);
    } else if (*p == '\n') {
      g_ptr_array_add(rec, g_strdup(cell->str));
      g_string_truncate(cell, 0);
      g_ptr_array_add(records, rec);
      rec = g_ptr_array_new_with_free_func(g_free);
    } else {
      g_string_append_c(cell, *p);
    }
    any = TRUE;
  }
  g_assert_true(any && !quoted && cell->len == 0 && rec->len == 0);   /* ends with a newline */
  g_ptr_array_unref(rec);
  g_string_free(cell, TRUE);
  return records;
}

static int column(GPtrArray *header, const char *name) {
  for (guint i = 0; i < header->len; i++)
    if (!strcmp(g_ptr_array_index(header, i), name)) return (int)i;
  return -1;
}

static void check_magic(const char *path, const char *magic) {
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true(g_file_get_contents(path, &data, &len, NULL));
  g_assert_cmpuint(len, >, 1000);
  g_assert_true(memcmp(data, magic, strlen(magic)) == 0);
}

static void no_temp_files(void) {
  g_autoptr(GDir) dir = g_dir_open(tmp_dir, 0, NULL);
  for (const char *name; (name = g_dir_read_name(dir));)
    if (name[0] == '.') g_error("a temporary file was left behind: %s", name);
}

static void check_reports(const FrApqReport *rep, const char *stem) {
  const FrApqSearchResult *res = rep->result;
  const FrApqSpace *s = fr_apq_cost_table_space(rep->table);
  GError *error = NULL;
  static const char *const exts[] = { "pdf", "svg", "csv", "json", "png" };
  static const char *const magic[] = { "%PDF-", "<?xml", NULL, NULL, "\x89PNG" };
  for (guint i = 0; i < G_N_ELEMENTS(exts); i++) {
    g_autofree char *path = g_strdup_printf("%s/%s.%s", tmp_dir, stem, exts[i]);
    g_assert_true(fr_apq_report_save(rep, path, &error));
    g_assert_no_error(error);
    if (magic[i]) check_magic(path, magic[i]);
  }
  g_autofree char *svg_path = g_strdup_printf("%s/%s.svg", tmp_dir, stem);
  g_autofree char *svg = NULL;
  g_assert_true(g_file_get_contents(svg_path, &svg, NULL, NULL));
  g_assert_nonnull(strstr(svg, "<svg"));

  /* CSV: one row per front member (the joint front, then the sequential answer's) */
  g_autofree char *csv_path = g_strdup_printf("%s/%s.csv", tmp_dir, stem);
  g_autofree char *csv = NULL;
  g_assert_true(g_file_get_contents(csv_path, &csv, NULL, NULL));
  GPtrArray *recs = parse_csv(csv);
  GPtrArray *header = g_ptr_array_index(recs, 0);
  const FrApqSearchResult *seq = rep->comparison ? rep->comparison->stages[2] : NULL;
  g_assert_cmpint((int)recs->len - 1, ==, res->n_front + (seq ? seq->n_front : 0));
  int c_rank = column(header, "rank"), c_acc = column(header, "accuracy"), c_spec = column(header, "spec");
  int c_apq = column(header, "spec_apq"), c_bitops = column(header, "bitops");
  g_assert_cmpint(c_rank, >=, 0);
  g_assert_cmpint(c_acc, >=, 0);
  g_assert_cmpint(c_spec, >=, 0);
  g_assert_cmpint(c_bitops, >=, 0);
  g_assert_cmpint(c_apq >= 0, ==, s == inet());
  for (int o = 0; o < fr_apq_cost_table_n_objectives(rep->table); o++)
    g_assert_cmpint(column(header, fr_apq_cost_table_objective_name(rep->table, o)), >=, 0);
  for (int i = 0; i < res->n_front; i++) {
    GPtrArray *row = g_ptr_array_index(recs, i + 1);
    g_assert_cmpuint(row->len, ==, header->len);
    g_assert_cmpint(atoi(g_ptr_array_index(row, c_rank)), ==, i + 1);
    const char *acc = g_ptr_array_index(row, c_acc);
    if (res->has_accuracy) g_assert_cmpfloat(g_ascii_strtod(acc, NULL), ==, res->front[i].accuracy);
    else g_assert_cmpstr(acc, ==, "");
    FrApqSpec spec;
    g_assert_true(fr_apq_spec_from_string(s, g_ptr_array_index(row, c_spec), &spec, &error));
    g_assert_no_error(error);
    g_assert_true(memcmp(&spec, &res->front[i].spec, sizeof spec) == 0);
    if (c_apq >= 0) {
      FrApqSpec a;
      g_assert_true(fr_apq_spec_from_apq_json_string(s, g_ptr_array_index(row, c_apq), &a, &error));
      g_assert_no_error(error);
      for (int b = 0; b < s->n_blocks; b++)
        if (fr_apq_block_active(s, &spec, b)) g_assert_cmpint(a.mid[b], ==, spec.mid[b]);
    }
  }
  g_ptr_array_unref(recs);

  /* JSON: the keys, the front in both spec forms */
  g_autofree char *json_path = g_strdup_printf("%s/%s.json", tmp_dir, stem);
  JsonParser *parser = json_parser_new();
  g_assert_true(json_parser_load_from_file(parser, json_path, &error));
  g_assert_no_error(error);
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  static const char *const keys[] = { "title", "provenance", "settings", "search", "note", "best", "front", "best_history" };
  for (guint i = 0; i < G_N_ELEMENTS(keys); i++) g_assert_true(json_object_has_member(root, keys[i]));
  JsonObject *prov = json_object_get_object_member(root, "provenance");
  g_assert_cmpstr(json_object_get_string_member(prov, "space"), ==, s->name);
  g_assert_cmpstr(json_object_get_string_member(prov, "cost_model"), ==, rep->cost_model);
  g_assert_true(json_object_has_member(prov, "frontier_version") && json_object_has_member(prov, "date"));
  JsonObject *set = json_object_get_object_member(root, "settings");
  g_assert_cmpint(json_object_get_int_member(set, "generations"), ==, rep->config->generations);
  g_assert_cmpint(json_object_get_int_member(set, "seed"), ==, (gint64)rep->config->seed);
  g_assert_true(json_object_has_member(set, "budgets") && json_object_has_member(set, "axes"));
  JsonArray *front = json_object_get_array_member(root, "front");
  g_assert_cmpint(json_array_get_length(front), ==, res->n_front);
  JsonObject *f0 = json_array_get_object_element(front, 0);
  g_assert_true(json_object_has_member(f0, "spec") && json_object_has_member(f0, "costs") &&
                json_object_has_member(f0, "bitops"));
  g_assert_cmpint(json_object_has_member(f0, "spec_apq"), ==, s == inet());
  if (!res->has_accuracy) g_assert_true(json_object_get_null_member(f0, "accuracy"));
  g_assert_cmpint(json_array_get_length(json_object_get_array_member(root, "best_history")), ==,
                  res->generations_done + 1);
  g_assert_cmpint(json_object_has_member(root, "comparison"), ==, rep->comparison != NULL);
  g_object_unref(parser);
  no_temp_files();
}

static void test_reports(void) {
  GError *error = NULL;
  g_autoptr(FrApqCostTable) t = fr_apq_workbench_cost_table(mini(), "counts", &error);
  g_assert_no_error(error);
  g_autofree char *path = random_predictor(mini(), "report-q.safetensors", mini()->quant_dim);
  char *label = NULL;
  FrApqPredictor *p = fr_apq_workbench_predictor(mini(), path, &label, &error);
  g_assert_no_error(error);
  FrApqSearchConfig cfg;
  fr_apq_search_config_init(&cfg);
  cfg.generations = 6;
  cfg.mode = FR_APQ_SEARCH_NSGA2;
  FrApqSpec largest;
  fr_apq_spec_largest(mini(), 8, &largest);
  double c[FR_APQ_COST_MAX_OBJECTIVES], lo[FR_APQ_COST_MAX_OBJECTIVES];
  fr_apq_cost_table_eval(t, &largest, c);
  fr_apq_cost_table_min(t, TRUE, lo);
  cfg.budget[1] = lo[1] + 0.4 * (c[1] - lo[1]);
  g_autoptr(FrApqSearchResult) res = fr_apq_search_run(t, p, &cfg, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpint(res->n_front, >, 1);
  FrApqSearchPoint others[3];
  for (int i = 0; i < 3; i++) others[i] = res->front[0], others[i].accuracy -= 0.01 * (i + 1);
  FrApqReport rep = { .table = t, .cost_model = "counts", .predictor = label, .config = &cfg, .result = res,
                      .others = others, .n_others = 3 };
  check_reports(&rep, "nsga2");

  /* joint vs sequential */
  cfg.mode = FR_APQ_SEARCH_EVOLUTION;
  cfg.budget[1] = lo[1] + 0.8 * (c[1] - lo[1]);
  g_autoptr(FrApqSearchComparison) cmp = fr_apq_search_compare(t, p, &cfg, 8, NULL, &error);
  g_assert_no_error(error);
  g_assert_nonnull(cmp->stages[2]);
  FrApqReport rc = { .table = t, .cost_model = "counts", .predictor = label, .config = &cfg, .result = cmp->joint,
                     .comparison = cmp, .title = "joint vs sequential" };
  check_reports(&rc, "compare");

  /* a cost-only exploration of APQ's ImageNet space: specs also in APQ's JSON form */
  g_autofree char *lut = fr_data_find("apq/bitfusion/bitfusion_lut_b1.csv");
  if (lut) {
    g_autoptr(FrApqCostTable) lt = fr_apq_workbench_cost_table(inet(), "bitfusion-lut", &error);
    g_assert_no_error(error);
    FrApqSearchConfig ic;
    fr_apq_search_config_init(&ic);
    ic.generations = 4;
    g_autoptr(FrApqSearchResult) ir = fr_apq_search_run(lt, NULL, &ic, NULL, &error);
    g_assert_no_error(error);
    FrApqReport ri = { .table = lt, .cost_model = "bitfusion-lut", .config = &ic, .result = ir };
    check_reports(&ri, "imagenet");
  }

  /* a failed write leaves nothing: a folder that does not exist, an unknown format */
  static const char *const exts[] = { "pdf", "svg", "csv", "json" };
  g_autofree char *nodir = g_build_filename(tmp_dir, "no-such-dir", NULL);
  for (guint i = 0; i < G_N_ELEMENTS(exts); i++) {
    g_autofree char *bad = g_strdup_printf("%s/r.%s", nodir, exts[i]);
    g_assert_false(fr_apq_report_save(&rep, bad, &error));
    g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_IO);
    g_clear_error(&error);
  }
  g_assert_false(g_file_test(nodir, G_FILE_TEST_EXISTS));
  g_autofree char *odd = g_build_filename(tmp_dir, "r.docx", NULL);
  g_assert_false(fr_apq_report_save(&rep, odd, &error));
  g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_FORMAT);
  g_clear_error(&error);
  g_assert_false(g_file_test(odd, G_FILE_TEST_EXISTS));
  /* an old report survives a failed rewrite */
  g_autofree char *keep = g_build_filename(tmp_dir, "nsga2.json", NULL);
  g_autofree char *before = NULL;
  g_assert_true(g_file_get_contents(keep, &before, NULL, NULL));
  FrApqReport broken = rep;
  broken.table = NULL;
  g_assert_false(fr_apq_report_save(&broken, keep, &error));
  g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID);
  g_clear_error(&error);
  g_autofree char *after = NULL;
  g_assert_true(g_file_get_contents(keep, &after, NULL, NULL));
  g_assert_cmpstr(before, ==, after);
  no_temp_files();
  fr_apq_predictor_free(p);
  g_free(label);
}

static gboolean fr_report_save_ok(const FrApqReport *rep, const char *path) {
  GError *error = NULL;
  gboolean ok = fr_apq_report_save(rep, path, &error);
  g_assert_no_error(error);
  return ok;
}

/* A front long enough for several PDF pages. */
static void test_report_pages(void) {
  GError *error = NULL;
  g_autoptr(FrApqCostTable) t = fr_apq_workbench_cost_table(inet(), "counts", &error);
  g_assert_no_error(error);
  FrApqSearchConfig cfg;
  fr_apq_search_config_init(&cfg);
  FrApqSearchResult res = { .mode = FR_APQ_SEARCH_NSGA2, .has_accuracy = TRUE, .complete = TRUE, .n_objectives = 2,
                            .note = (char *)"made up", .generations_done = 0 };
  double history[1] = { 0.7 };
  res.best_history = history;
  res.front = g_new0(FrApqSearchPoint, 1200);
  FrRng rng;
  fr_rng_seed(&rng, 2);
  for (int i = 0; i < 1200; i++) {
    fr_apq_spec_random(inet(), &rng, TRUE, &res.front[i].spec);
    fr_apq_cost_table_eval(t, &res.front[i].spec, res.front[i].costs);
    res.front[i].accuracy = 0.8 - 0.001 * i;
  }
  res.best = res.front[0];
  res.n_front = 80;
  FrApqReport rep = { .table = t, .cost_model = "counts", .predictor = "made up", .config = &cfg, .result = &res };
  g_autofree char *pdf = g_build_filename(tmp_dir, "pages.pdf", NULL);
  g_assert_true(fr_apq_report_save(&rep, pdf, &error));
  g_assert_no_error(error);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true(g_file_get_contents(pdf, &data, &len, NULL));
  int pages = 0;   /* page objects: "/Type /Page" not followed by "s" (the data has NUL bytes: memmem) */
  const char *key = "/Type /Page";
  for (const char *p = data; (p = memmem(p, len - (gsize)(p - data), key, strlen(key)));) {
    p += strlen(key);
    pages += p < data + len && *p != 's';
  }
  g_assert_cmpint(pages, >=, 3);
  /* SVG is one page: it grows with the table up to Cairo's largest, then cuts the table */
  g_autofree char *svg = g_build_filename(tmp_dir, "pages.svg", NULL);
  res.n_front = 1200;
  g_assert_true(fr_report_save_ok(&rep, svg));
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(svg, &text, NULL, NULL));
  const char *h = strstr(text, "height=\"");
  g_assert_nonnull(h);
  double height = g_ascii_strtod(h + strlen("height=\""), NULL);
  g_assert_cmpfloat(height, >, 10000);
  g_assert_cmpfloat(height, <=, 14400);
  g_free(res.front);
}

int main(int argc, char **argv) {
  GError *error = NULL;
  tmp_dir = g_dir_make_tmp("apq-workbench-XXXXXX", &error);
  g_assert_no_error(error);
  /* before GLib reads it: the user's data folder, where the this-cpu table lives */
  g_setenv("XDG_DATA_HOME", tmp_dir, TRUE);
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/apq-workbench/models/list", test_models_list);
  g_test_add_func("/apq-workbench/models/shared", test_tables_shared);
  g_test_add_func("/apq-workbench/models/errors", test_model_errors);
  g_test_add_func("/apq-workbench/bitfusion/tables-exact", test_bitfusion_tables_exact);
  g_test_add_func("/apq-workbench/cpu/profile", test_profile);
  g_test_add_func("/apq-workbench/cpu/cancel", test_profile_cancel);
  g_test_add_func("/apq-workbench/breakdown/sums", test_breakdown_sums);
  g_test_add_func("/apq-workbench/predictors", test_predictors);
  g_test_add_func("/apq-workbench/reports/formats", test_reports);
  g_test_add_func("/apq-workbench/reports/pages", test_report_pages);
  int rc = g_test_run();
  /* remove the temporary tree (files and the frontier/apq folders) */
  g_autofree char *user = g_build_filename(tmp_dir, "frontier", "apq", "this-cpu.csv", NULL);
  g_unlink(user);
  g_autofree char *apq = g_build_filename(tmp_dir, "frontier", "apq", NULL);
  g_rmdir(apq);
  g_autofree char *fr = g_build_filename(tmp_dir, "frontier", NULL);
  g_rmdir(fr);
  g_autoptr(GDir) dir = g_dir_open(tmp_dir, 0, NULL);
  for (const char *name; dir && (name = g_dir_read_name(dir));) {
    g_autofree char *path = g_build_filename(tmp_dir, name, NULL);
    g_unlink(path);
  }
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
