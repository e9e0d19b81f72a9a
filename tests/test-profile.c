/* The visual profiler's engine half (issue 8): records of a small known graph against sums by hand,
 * scopes that nest and group, warm-up runs dropped, the Chrome trace, CSV and JSON exports, two
 * profiles compared, the roofline cache, the profile targets (their recorded MACs against the models'
 * own cost models), the job with cancel, and the profiled-vs-unprofiled timing (printed, never
 * asserted: performance is measured, not asserted). */
#include "fr-gan.h"
#include "fr-ops.h"
#include "fr-pool.h"
#include "fr-profile-targets.h"
#include "fr-profile.h"
#include "fr-profiler.h"
#include "fr-roofline.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static char *make_tmpdir(void) {
  GError *error = NULL;
  char *dir = g_dir_make_tmp("fr-profile-XXXXXX", &error);
  g_assert_no_error(error);
  return dir;
}

static void rm_rf(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name(d))) {
    char *p = g_build_filename(dir, n, NULL);
    g_unlink(p);
    g_free(p);
  }
  if (d) g_dir_close(d);
  g_rmdir(dir);
}

static FrTensor *filled(FrGraph *g, int ndim, const int64_t *shape, float v) {
  FrTensor *t = fr_tensor_new(g, ndim, shape);
  for (int64_t i = 0; i < fr_tensor_numel(t); i++) t->data[i] = v * (float)(1 + i % 3);
  return t;
}

/* x [2,8] -> scope "blockA" { scope "fc" { linear 8->4 } relu } -> add(r, r) outside any scope.
 * By hand: linear 2*4*8 = 64 MACs, reads x (64 B) + w (128 B), writes y (32 B); relu reads 32, writes
 * 32; add reads 2 x 32, writes 32. */
static void small_graph(FrGraph *g) {
  FrTensor *x = filled(g, 2, FR_SHAPE(2, 8), 0.5f), *w = filled(g, 2, FR_SHAPE(4, 8), -0.25f);
  FrTensor *b = filled(g, 1, FR_SHAPE(4), 0.1f);
  fr_graph_push_scope(g, "blockA");
  fr_graph_push_scope(g, "fc");
  FrTensor *h = fr_linear(g, x, w, b);
  fr_graph_pop_scope(g);
  FrTensor *r = fr_relu(g, h);
  fr_graph_pop_scope(g);
  fr_add(g, r, r);
}

static FrProfileResult *profile_small(int warmup, int runs) {
  FrGraph *g = fr_graph_new(0);
  g->grad_enabled = false;
  FrProfiler *p = fr_profiler_new();
  fr_profiler_attach(p, g);
  for (int i = 0; i < warmup + runs; i++) {
    fr_profiler_begin_run(p, i >= warmup);
    small_graph(g);
    fr_profiler_end_run(p);
    fr_graph_reset(g);
  }
  FrProfInfo info = { .target = "small", .threads = fr_pool_get_threads(), .batch = 2, .warmup = warmup,
                      .unprofiled_ms_median = NAN, .model_macs = 64 };
  FrProfileResult *r = fr_profiler_finish(p, &info, NULL);
  fr_profiler_free(p);
  fr_graph_free(g);
  return r;
}

static void test_small_graph_sums(void) {
  FrProfileResult *r = profile_small(2, 3);
  const FrProfInfo *in = fr_profile_result_info(r);
  g_assert_cmpint(in->runs, ==, 3);
  int n;
  const FrProfOp *ops = fr_profile_result_ops(r, &n);
  g_assert_cmpint(n, ==, 3 * 3);   /* warm-up runs leave nothing */
  const char *names[] = { "linear", "relu", "add" };
  const char *layers[] = { "blockA/fc", "blockA", "L00 add" };
  const double br[] = { 64 + 128, 32, 64 }, bw[] = { 32, 32, 32 }, macs[] = { 64, 0, 0 };
  for (int i = 0; i < n; i++) {
    const FrProfOp *o = &ops[i];
    g_assert_cmpint(o->run, ==, i / 3);
    g_assert_cmpint(o->seq, ==, i % 3);
    g_assert_cmpstr(o->op, ==, names[i % 3]);
    g_assert_cmpstr(o->phase, ==, "forward");
    g_assert_cmpstr(o->layer, ==, layers[i % 3]);
    g_assert_true(o->auto_layer == (i % 3 == 2));
    g_assert_cmpfloat(o->macs, ==, macs[i % 3]);
    g_assert_cmpfloat(o->bytes_read, ==, br[i % 3]);
    g_assert_cmpfloat(o->bytes_written, ==, bw[i % 3]);
    g_assert_cmpstr(o->shape, ==, "[2,4]");
    g_assert_cmpint(o->tid, ==, 1);
    g_assert_cmpint(o->end_ns, >=, o->start_ns);
    g_assert_cmpint(o->thread_ns, >=, 0);
    g_assert_cmpint(o->cpu_ns, >=, 0);
    if (i > 0) g_assert_cmpint(o->start_ns, >=, ops[i - 1].start_ns);
    gint64 rs = fr_profile_result_run_start(r, o->run);
    g_assert_cmpint(o->start_ns, >=, rs);
    g_assert_cmpint(o->end_ns, <=, rs + fr_profile_result_run_length(r, o->run));
  }
  g_assert_cmpfloat(in->macs, ==, 64);
  g_assert_cmpfloat(in->flops, ==, 128);
  g_assert_cmpfloat(in->bytes_read, ==, 192 + 32 + 64);
  g_assert_cmpfloat(in->bytes_written, ==, 96);
  g_assert_true(isnan(in->overhead));
  g_assert_cmpfloat(in->run_ms_min, <=, in->run_ms_median);
  g_assert_cmpfloat(in->run_ms_median, <=, in->run_ms_max);
  g_assert_cmpint(fr_profile_result_n_threads(r), ==, 1);
  fr_profile_result_unref(r);
}

static void test_scopes_group(void) {
  FrProfileResult *r = profile_small(0, 3);
  int n;
  FrProfGroup *gs = fr_profile_result_groups(r, FR_PROF_BY_LAYER, 0, &n);
  g_assert_cmpint(n, ==, 3);
  g_assert_cmpstr(gs[0].name, ==, "blockA/fc");
  g_assert_cmpstr(gs[0].ops, ==, "linear");
  g_assert_cmpint(gs[0].calls, ==, 1);
  g_assert_cmpfloat(gs[0].macs, ==, 64);
  g_assert_cmpfloat(gs[0].flops, ==, 128);
  g_assert_cmpfloat(gs[0].intensity, ==, 128.0 / (192 + 32));
  g_assert_cmpstr(gs[1].name, ==, "blockA");
  g_assert_cmpstr(gs[2].name, ==, "L00 add");
  g_assert_true(gs[2].auto_layer);
  double share = 0;
  for (int i = 0; i < n; i++) {
    g_assert_cmpint(gs[i].order, ==, i);
    g_assert_cmpfloat(gs[i].ms_min, <=, gs[i].ms_median);
    g_assert_cmpfloat(gs[i].ms_median, <=, gs[i].ms_max);
    g_assert_true(isnan(gs[i].attainable_gflops));   /* no roofline given */
    share += gs[i].share;
  }
  g_assert_cmpfloat(fabs(share - 1), <, 1e-9);
  fr_prof_groups_free(gs, n);

  /* depth 1: the linear joins its parent */
  gs = fr_profile_result_groups(r, FR_PROF_BY_LAYER, 1, &n);
  g_assert_cmpint(n, ==, 2);
  g_assert_cmpstr(gs[0].name, ==, "blockA");
  g_assert_cmpstr(gs[0].ops, ==, "linear+relu");
  g_assert_cmpint(gs[0].calls, ==, 2);
  g_assert_cmpfloat(gs[0].bytes_read, ==, 192 + 32);
  fr_prof_groups_free(gs, n);

  gs = fr_profile_result_groups(r, FR_PROF_BY_OP, 0, &n);
  g_assert_cmpint(n, ==, 3);
  g_assert_cmpstr(gs[0].name, ==, "linear");
  g_assert_cmpstr(gs[0].ops, ==, "1 layer");
  fr_prof_groups_free(gs, n);
  fr_profile_result_unref(r);
}

/* Scopes without a profiler are a stack of names; deeper than the limit they are counted, not kept. */
static FrOpRecord last;
static char last_scopes[256];
static void keep_last(const FrOpRecord *rec, void *user) {
  last = *rec;
  last_scopes[0] = 0;
  for (int i = 0; i < rec->n_scopes; i++) {
    g_strlcat(last_scopes, rec->scopes[i], sizeof last_scopes);
    g_strlcat(last_scopes, "/", sizeof last_scopes);
  }
  (*(int *)user)++;
}

static void test_scope_stack(void) {
  FrGraph *g = fr_graph_new(0);
  g->grad_enabled = false;
  const char *names[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j" };
  for (int i = 0; i < 10; i++) fr_graph_push_scope(g, names[i]);
  g_assert_cmpint(g->n_scopes, ==, 10);
  int calls = 0;
  fr_graph_set_profiler(g, keep_last, &calls);
  FrTensor *x = filled(g, 1, FR_SHAPE(5), 1);
  fr_relu(g, x);
  g_assert_cmpint(calls, ==, 1);
  g_assert_cmpint(last.n_scopes, ==, FR_GRAPH_MAX_SCOPES);
  g_assert_cmpstr(last_scopes, ==, "a/b/c/d/e/f/g/h/");
  for (int i = 0; i < 9; i++) fr_graph_pop_scope(g);
  fr_graph_reset(g);   /* scopes outlive a reset */
  g_assert_cmpint(g->n_scopes, ==, 1);
  fr_relu(g, filled(g, 1, FR_SHAPE(5), 1));
  g_assert_cmpstr(last_scopes, ==, "a/");
  fr_graph_pop_scope(g);
  fr_graph_pop_scope(g);   /* one too many: ignored */
  g_assert_cmpint(g->n_scopes, ==, 0);
  fr_relu(g, filled(g, 1, FR_SHAPE(5), 1));
  g_assert_cmpint(last.n_scopes, ==, 0);
  g_assert_cmpint(calls, ==, 3);
  fr_graph_set_profiler(g, NULL, NULL);
  fr_relu(g, filled(g, 1, FR_SHAPE(5), 1));
  g_assert_cmpint(calls, ==, 3);
  /* graphs made while a thread default is set start with it */
  fr_graph_set_thread_profiler(keep_last, &calls);
  FrGraph *g2 = fr_graph_new(0);
  fr_graph_set_thread_profiler(NULL, NULL);
  FrGraph *g3 = fr_graph_new(0);
  g_assert_true(g2->profile == keep_last);
  g_assert_null(g3->profile);
  fr_graph_free(g3);
  fr_graph_free(g2);
  fr_graph_free(g);
}

/* A scope name from a buffer rewritten between pushes (a loop over layers) names each layer. */
static void test_scope_buffer_reuse(void) {
  FrGraph *g = fr_graph_new(0);
  g->grad_enabled = false;
  FrProfiler *p = fr_profiler_new();
  fr_profiler_attach(p, g);
  fr_profiler_begin_run(p, TRUE);
  char name[16];
  for (int l = 0; l < 3; l++) {
    g_snprintf(name, sizeof name, "enc.%d", l);
    fr_graph_push_scope(g, name);
    fr_relu(g, filled(g, 1, FR_SHAPE(4), 1));
    fr_relu(g, filled(g, 1, FR_SHAPE(4), 1));
    fr_graph_pop_scope(g);
  }
  fr_profiler_end_run(p);
  FrProfileResult *r = fr_profiler_finish(p, NULL, NULL);
  int n;
  const FrProfOp *ops = fr_profile_result_ops(r, &n);
  g_assert_cmpint(n, ==, 6);
  for (int i = 0; i < n; i++) {
    char want[16];
    g_snprintf(want, sizeof want, "enc.%d", i / 2);
    g_assert_cmpstr(ops[i].layer, ==, want);
  }
  fr_profile_result_unref(r);
  fr_profiler_free(p);
  fr_graph_free(g);
}

/* The backward pass reports its ops too. */
static void test_backward_records(void) {
  FrGraph *g = fr_graph_new(0);
  FrTensor *w = fr_param_new("w", 2, FR_SHAPE(4, 8));
  for (int i = 0; i < 32; i++) w->data[i] = 0.01f * (float)i;
  FrProfiler *p = fr_profiler_new();
  fr_profiler_attach(p, g);
  fr_profiler_begin_run(p, TRUE);
  FrTensor *x = filled(g, 2, FR_SHAPE(2, 8), 0.5f);
  FrTensor *loss = fr_sum(g, fr_relu(g, fr_linear(g, x, w, NULL)));
  fr_graph_backward(g, loss);
  fr_profiler_end_run(p);
  FrProfileResult *r = fr_profiler_finish(p, NULL, NULL);
  int n, backward = 0;
  const FrProfOp *ops = fr_profile_result_ops(r, &n);
  for (int i = 0; i < n; i++)
    if (!strcmp(ops[i].phase, "backward")) {
      backward++;
      if (!strcmp(ops[i].op, "linear")) g_assert_cmpfloat(ops[i].macs, ==, 2 * 64);
      g_assert_cmpfloat(ops[i].bytes_read, >, 0);
    }
  /* forward: linear and relu (the sum's forward is not instrumented); backward: sum, relu, linear */
  g_assert_cmpint(n - backward, >=, 2);
  g_assert_cmpint(backward, ==, 3);
  int ng;
  FrProfGroup *gs = fr_profile_result_groups(r, FR_PROF_BY_OP, 0, &ng);
  gboolean found = FALSE;
  for (int i = 0; i < ng; i++) found |= !strcmp(gs[i].name, "linear (backward)");
  g_assert_true(found);
  fr_prof_groups_free(gs, ng);
  fr_profile_result_unref(r);
  fr_profiler_free(p);
  fr_param_free(w);
  fr_graph_free(g);
}

static int count_lines(const char *text) {
  int n = 0;
  for (const char *c = text; *c; c++) n += *c == '\n';
  return n;
}

static void test_exports(void) {
  FrProfileResult *r = profile_small(1, 2);
  int n;
  fr_profile_result_ops(r, &n);
  char *dir = make_tmpdir();

  /* Chrome trace: parses, one "X" per op plus one per run, µs times, args */
  char *trace = g_build_filename(dir, "trace.json", NULL);
  GError *error = NULL;
  g_assert_true(fr_profile_result_write_trace(r, trace, &error));
  g_assert_no_error(error);
  JsonParser *parser = json_parser_new();
  g_assert_true(json_parser_load_from_file(parser, trace, &error));
  g_assert_no_error(error);
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  JsonArray *events = json_object_get_array_member(root, "traceEvents");
  int x_ops = 0, x_runs = 0, meta = 0;
  for (guint i = 0; i < json_array_get_length(events); i++) {
    JsonObject *e = json_array_get_object_element(events, i);
    const char *ph = json_object_get_string_member(e, "ph");
    g_assert_cmpint(json_object_get_int_member(e, "pid"), ==, 1);
    g_assert_true(json_object_has_member(e, "tid"));
    if (!strcmp(ph, "M")) meta++;
    if (strcmp(ph, "X")) continue;
    g_assert_cmpfloat(json_object_get_double_member(e, "dur"), >=, 0);
    g_assert_cmpfloat(json_object_get_double_member(e, "ts"), >=, 0);
    if (!strcmp(json_object_get_string_member(e, "cat"), "run")) {
      x_runs++;
      continue;
    }
    x_ops++;
    JsonObject *args = json_object_get_object_member(e, "args");
    g_assert_nonnull(args);
    g_assert_true(json_object_has_member(args, "shape") && json_object_has_member(args, "macs") &&
                  json_object_has_member(args, "layer"));
    if (!strcmp(json_object_get_string_member(e, "name"), "linear"))
      g_assert_cmpfloat(json_object_get_double_member(args, "macs"), ==, 64);
  }
  g_assert_cmpint(x_ops, ==, n);
  g_assert_cmpint(x_runs, ==, 2);
  g_assert_cmpint(meta, >=, 2);
  g_object_unref(parser);

  /* CSV: the columns, one row per layer / per op */
  const FrProfCsvKind kinds[] = { FR_PROF_CSV_LAYERS, FR_PROF_CSV_OPTYPES, FR_PROF_CSV_OPS };
  const int rows[] = { 3, 3, n };
  for (int k = 0; k < 3; k++) {
    char *csv = g_build_filename(dir, "t.csv", NULL), *text = NULL;
    g_assert_true(fr_profile_result_write_csv(r, kinds[k], csv, &error));
    g_assert_no_error(error);
    g_assert_true(g_file_get_contents(csv, &text, NULL, NULL));
    char *header = g_strjoinv(",", (char **)fr_profile_csv_columns(kinds[k]));
    g_assert_true(g_str_has_prefix(text, header));
    g_assert_cmpint(text[strlen(header)], ==, '\n');
    g_assert_cmpint(count_lines(text), ==, rows[k] + 1);
    if (k == 0) g_assert_nonnull(strstr(text, "\nblockA/fc,linear,0,1,64,128,192,32,"));
    g_free(header);
    g_free(text);
    g_free(csv);
  }

  /* JSON: the sections, every op with with_ops */
  char *js = g_build_filename(dir, "p.json", NULL);
  g_assert_true(fr_profile_result_write_json(r, js, TRUE, &error));
  g_assert_no_error(error);
  parser = json_parser_new();
  g_assert_true(json_parser_load_from_file(parser, js, &error));
  root = json_node_get_object(json_parser_get_root(parser));
  g_assert_cmpstr(json_object_get_string_member(root, "format"), ==, "frontier-profile");
  JsonObject *info = json_object_get_object_member(root, "info");
  g_assert_cmpint(json_object_get_int_member(info, "runs"), ==, 2);
  g_assert_cmpfloat(json_object_get_double_member(info, "macs"), ==, 64);
  g_assert_true(json_object_get_null_member(root, "roofline"));
  g_assert_cmpint(json_array_get_length(json_object_get_array_member(root, "layers")), ==, 3);
  g_assert_cmpint(json_array_get_length(json_object_get_array_member(root, "top_layers")), ==, 2);
  g_assert_cmpint(json_array_get_length(json_object_get_array_member(root, "op_types")), ==, 3);
  g_assert_cmpint(json_array_get_length(json_object_get_array_member(root, "ops")), ==, n);
  g_object_unref(parser);

  /* read back: the same ops, runs and groups */
  FrProfileResult *back = fr_profile_result_load(js, &error);
  g_assert_no_error(error);
  int nb;
  const FrProfOp *ob = fr_profile_result_ops(back, &nb), *oa = fr_profile_result_ops(r, &n);
  g_assert_cmpint(nb, ==, n);
  for (int i = 0; i < n; i++) {
    g_assert_cmpstr(ob[i].layer, ==, oa[i].layer);
    g_assert_cmpstr(ob[i].op, ==, oa[i].op);
    g_assert_cmpint(ob[i].start_ns, ==, oa[i].start_ns);
    g_assert_cmpint(ob[i].end_ns, ==, oa[i].end_ns);
    g_assert_cmpfloat(ob[i].macs, ==, oa[i].macs);
  }
  g_assert_cmpint(fr_profile_result_info(back)->runs, ==, 2);
  g_assert_cmpint(fr_profile_result_run_length(back, 1), ==, fr_profile_result_run_length(r, 1));
  g_assert_cmpstr(fr_profile_result_info(back)->target, ==, "small");
  int ga_n, gb_n;
  FrProfGroup *ga = fr_profile_result_groups(r, FR_PROF_BY_LAYER, 0, &ga_n);
  FrProfGroup *gb = fr_profile_result_groups(back, FR_PROF_BY_LAYER, 0, &gb_n);
  g_assert_cmpint(ga_n, ==, gb_n);
  for (int i = 0; i < ga_n; i++) {
    g_assert_cmpstr(ga[i].name, ==, gb[i].name);
    g_assert_cmpfloat(ga[i].ms_median, ==, gb[i].ms_median);
    g_assert_cmpfloat(ga[i].bytes_read, ==, gb[i].bytes_read);
  }
  fr_prof_groups_free(ga, ga_n);
  fr_prof_groups_free(gb, gb_n);
  fr_profile_result_unref(back);
  char *csvp = g_build_filename(dir, "t.csv", NULL);   /* not a profile */
  g_assert_null(fr_profile_result_load(csvp, &error));
  g_assert_nonnull(error);
  g_clear_error(&error);
  g_free(csvp);

  /* a failed write leaves nothing behind */
  char *bad = g_build_filename(dir, "missing", "t.json", NULL);
  g_assert_false(fr_profile_result_write_trace(r, bad, &error));
  g_assert_nonnull(error);
  g_clear_error(&error);
  g_free(bad);

  g_free(js);
  g_free(trace);
  rm_rf(dir);
  g_free(dir);
  fr_profile_result_unref(r);
}

/* Phases added by hand (as the SpGEMM target does), and two profiles compared per group. */
static FrProfileResult *manual_profile(const char *target, double scale) {
  FrProfiler *p = fr_profiler_new();
  for (int run = 0; run < 3; run++) {
    fr_profiler_begin_run(p, TRUE);
    const char *layers[] = { "stem", "body", "head" };
    const double macs[] = { 100, 1000, 10 };
    for (int l = 0; l < 3; l++) {
      FrProfClock t0;
      fr_prof_clock_read(&t0);
      fr_profiler_push_scope(p, layers[l]);
      fr_profiler_add(p, "work", "part", NULL, &t0, macs[l] * scale, 8, 4);
      fr_profiler_pop_scope(p);
    }
    fr_profiler_end_run(p);
  }
  FrProfInfo info = { .target = (char *)target, .unprofiled_ms_median = NAN, .model_macs = NAN };
  FrProfileResult *r = fr_profiler_finish(p, &info, NULL);
  fr_profiler_free(p);
  return r;
}

static void test_compare(void) {
  FrProfileResult *a = manual_profile("a", 1), *b = manual_profile("b", 0.25);
  int n;
  const FrProfOp *ops = fr_profile_result_ops(a, &n);
  g_assert_cmpint(n, ==, 9);
  g_assert_cmpstr(ops[1].layer, ==, "body/part");
  FrProfCompareRow *rows = fr_profile_compare(a, b, 1, &n);
  g_assert_cmpint(n, ==, 4);
  g_assert_cmpstr(rows[0].name, ==, "stem");
  g_assert_cmpstr(rows[1].name, ==, "body");
  g_assert_cmpstr(rows[3].name, ==, "total");
  for (int i = 0; i < 3; i++) g_assert_cmpfloat(fabs(rows[i].macs_ratio - 4), <, 1e-12);
  g_assert_cmpfloat(rows[3].macs_a, ==, 1110);
  g_assert_cmpfloat(rows[3].macs_b, ==, 1110 * 0.25);
  JsonNode *j = fr_profile_compare_to_json(rows, n, "a", "b");
  g_assert_cmpint(json_array_get_length(json_object_get_array_member(json_node_get_object(j), "rows")), ==, 4);
  json_node_unref(j);
  fr_prof_compare_free(rows, n);
  /* names only one side has */
  FrProfileResult *c = profile_small(0, 1);
  rows = fr_profile_compare(a, c, 1, &n);
  g_assert_cmpint(n, ==, 3 + 2 + 1);
  g_assert_true(isnan(rows[0].macs_ratio));
  fr_prof_compare_free(rows, n);
  fr_profile_result_unref(c);
  fr_profile_result_unref(a);
  fr_profile_result_unref(b);
}

static void test_roofline_cache(void) {
  char *dir = make_tmpdir(), *path = g_build_filename(dir, "sub", "roofline.json", NULL);
  FrRoofline r = { 0 }, back;
  g_strlcpy(r.cpu, fr_roofline_cpu_name(), sizeof r.cpu);
  r.threads = 3;
  r.gemm_gflops_1t = 40.5;
  r.gemm_gflops = 101.25;
  r.bw_gbs_1t = 9.5;
  r.bw_gbs = 14.75;
  g_strlcpy(r.date, "2026-11-26T00:00:00Z", sizeof r.date);
  g_assert_false(fr_roofline_load(path, 3, &back));
  GError *error = NULL;
  g_assert_true(fr_roofline_save(path, &r, &error));
  g_assert_no_error(error);
  g_assert_true(fr_roofline_load(path, 3, &back));
  g_assert_true(back.from_cache);
  g_assert_cmpfloat(back.gemm_gflops_1t, ==, 40.5);
  g_assert_cmpfloat(back.gemm_gflops, ==, 101.25);
  g_assert_cmpfloat(back.bw_gbs_1t, ==, 9.5);
  g_assert_cmpfloat(back.bw_gbs, ==, 14.75);
  g_assert_cmpstr(back.date, ==, r.date);
  g_assert_false(fr_roofline_load(path, 4, &back));   /* keyed by thread count */
  FrRoofline r4 = r;
  r4.threads = 4;
  r4.gemm_gflops = 7;
  g_assert_true(fr_roofline_save(path, &r4, &error));
  g_assert_true(fr_roofline_load(path, 3, &back));   /* the other entry kept */
  g_assert_cmpfloat(back.gemm_gflops, ==, 101.25);
  g_assert_true(fr_roofline_load(path, 4, &back));
  g_assert_cmpfloat(back.gemm_gflops, ==, 7);
  /* fr_roofline_get reads the cache, measures nothing */
  FrRoofline got;
  fr_roofline_get(path, 3, FALSE, &got);
  g_assert_true(got.from_cache);
  g_assert_cmpfloat(got.gemm_gflops, ==, 101.25);
  /* the roofline: bandwidth-bound below the ridge, compute-bound above */
  g_assert_cmpfloat(fr_roofline_attainable(&r, 1.0, FALSE), ==, 14.75);
  g_assert_cmpfloat(fr_roofline_attainable(&r, 1000.0, FALSE), ==, 101.25);
  g_assert_cmpfloat(fr_roofline_attainable(&r, 1.0, TRUE), ==, 9.5);
  /* a corrupt cache is no cache */
  g_assert_true(g_file_set_contents(path, "{not json", -1, NULL));
  g_assert_false(fr_roofline_load(path, 3, &back));
  char *sub = g_path_get_dirname(path);
  rm_rf(sub);
  g_free(sub);
  rm_rf(dir);
  g_free(path);
  g_free(dir);
}

/* The targets: every op recorded, the layers named by the models' scopes, and the recorded MACs equal
 * to the models' own cost models. */
static FrProfileResult *profile_target(const char *name, int runs, gboolean overhead) {
  FrProfileConfig c;
  fr_profile_config_init(&c);
  c.target = name;
  c.runs = runs;
  c.warmup = 1;
  c.overhead = overhead;
  c.roofline = FALSE;
  GError *error = NULL;
  FrProfileResult *r = fr_profile_run(&c, NULL, &error);
  g_assert_no_error(error);
  g_assert_nonnull(r);
  return r;
}

static gboolean has_layer(const FrProfileResult *r, const char *layer) {
  int n;
  const FrProfOp *ops = fr_profile_result_ops(r, &n);
  for (int i = 0; i < n; i++)
    if (!strcmp(ops[i].layer, layer)) return TRUE;
  return FALSE;
}

static void test_targets_gan(void) {
  const char *names[] = { "gan-teacher", "gan-supernet" };
  for (int t = 0; t < 2; t++) {
    FrProfileResult *r = profile_target(names[t], 2, FALSE);
    const FrProfInfo *in = fr_profile_result_info(r);
    g_assert_cmpfloat(in->model_macs, >, 0);
    g_assert_cmpfloat(fabs(in->macs - in->model_macs), <=, 1e-9 * in->model_macs);
    int n;
    FrProfGroup *gs = fr_profile_result_groups(r, FR_PROF_BY_LAYER, 1, &n);
    g_assert_cmpint(n, ==, 3 + 9 + 3);   /* stem, down1, down2, block1..9, up1, up2, out */
    g_assert_cmpstr(gs[0].name, ==, "stem");
    g_assert_cmpstr(gs[3].name, ==, "block1");
    g_assert_cmpstr(gs[n - 1].name, ==, "out");
    g_assert_false(gs[0].auto_layer);
    fr_prof_groups_free(gs, n);
    g_assert_true(has_layer(r, t == 0 ? "block5/conv2" : "block5/pw1"));
    fr_profile_result_unref(r);
  }
}

static void test_targets_others(void) {
  FrProfileResult *r = profile_target("classifier", 1, FALSE);
  const FrProfInfo *in = fr_profile_result_info(r);
  g_assert_cmpfloat(fabs(in->macs - in->model_macs), <=, 1e-9 * in->model_macs);
  g_assert_true(has_layer(r, "conv1") && has_layer(r, "fc2"));
  fr_profile_result_unref(r);

  r = profile_target("apq-smallest", 1, FALSE);
  in = fr_profile_result_info(r);
  g_assert_cmpfloat(fabs(in->macs - in->model_macs), <=, 1e-9 * in->model_macs);   /* fr_apq_spec_macs */
  /* the supernet's scopes: stem, blockNN/expand|depthwise|project, head, classifier */
  g_assert_true(has_layer(r, "stem") && has_layer(r, "head") && has_layer(r, "classifier"));
  g_assert_true(has_layer(r, "block01/expand") && has_layer(r, "block01/depthwise") && has_layer(r, "block01/project"));
  fr_profile_result_unref(r);

  r = profile_target("spgemm:stencil2d:n=24", 2, FALSE);
  in = fr_profile_result_info(r);
  g_assert_cmpfloat(in->macs, ==, in->model_macs);
  g_assert_true(has_layer(r, "spgemm"));
  fr_profile_result_unref(r);

  r = profile_target("transformer-small", 1, FALSE);
  /* the model's own scopes: encoder/layerN/..., decoder/layerN/..., output */
  g_assert_true(has_layer(r, "encoder/layer0/self_attention"));
  g_assert_true(has_layer(r, "decoder/layer2/cross_attention"));
  g_assert_true(has_layer(r, "output"));
  int n;
  FrProfGroup *gs = fr_profile_result_groups(r, FR_PROF_BY_LAYER, 1, &n);
  g_assert_cmpint(n, ==, 3);
  g_assert_cmpstr(gs[0].name, ==, "encoder");
  g_assert_cmpstr(gs[1].name, ==, "decoder");
  g_assert_cmpstr(gs[2].name, ==, "output");
  fr_prof_groups_free(gs, n);
  fr_profile_result_unref(r);

  GError *error = NULL;
  g_assert_null(fr_profile_model_new("gan-nonexistent", 0, &error));
  g_assert_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_UNKNOWN_TARGET);
  g_clear_error(&error);
  g_assert_null(fr_profile_model_new("no-such-model", 0, &error));
  g_assert_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_UNKNOWN_TARGET);
  g_clear_error(&error);
  FrProfileConfig c;
  fr_profile_config_init(&c);
  c.target = "no-such-model";
  g_assert_null(fr_profile_run(&c, NULL, &error));
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  int nt;
  const FrProfileTargetInfo *t = fr_profile_targets(&nt);
  g_assert_cmpint(nt, >=, 15);
  g_assert_cmpstr(t[0].name, ==, "classifier");
}

/* Profiled against unprofiled, interleaved run by run: the figure is printed; the test asserts only
 * that it was measured. */
static void test_overhead(void) {
  FrProfileResult *r = profile_target("gan-teacher", 5, TRUE);
  const FrProfInfo *in = fr_profile_result_info(r);
  g_assert_cmpfloat(in->unprofiled_ms_median, >, 0);
  g_assert_true(isfinite(in->overhead));
  g_test_message("gan-teacher, %d thread(s): profiled %.3f ms, unprofiled %.3f ms per run: overhead %+.1f %% "
                 "(CPU time %+.1f %%)", in->threads, in->run_ms_median, in->unprofiled_ms_median, 100 * in->overhead,
                 100 * in->overhead_cpu);
  fr_profile_result_unref(r);
}

static void test_job(void) {
  FrProfileConfig c;
  fr_profile_config_init(&c);
  c.target = "gan-student-10x";
  c.runs = 2;
  c.warmup = 0;
  c.roofline = FALSE;
  FrProfileTask *t = fr_profile_task_start(&c);
  int runs_seen = 0;
  FrJob *job = fr_profile_task_job(t);
  for (;;) {
    FrEvent *ev = fr_job_wait_event(job, 100000);
    if (!ev) continue;
    gboolean done = ev->kind == FR_EVENT_FINISHED;
    if (ev->kind == FR_EVENT_PAYLOAD && !g_strcmp0(ev->payload_type, "profile.run")) runs_seen++;
    fr_event_free(ev);
    if (done) break;
  }
  g_assert_cmpint(fr_job_join(job, NULL), ==, FR_JOB_SUCCEEDED);
  g_assert_cmpint(runs_seen, ==, 2);
  FrProfileResult *r = fr_profile_task_result(t);
  g_assert_nonnull(r);
  g_assert_cmpint(fr_profile_result_info(r)->runs, ==, 2);
  fr_profile_result_unref(r);
  fr_profile_task_unref(t);

  /* cancelled at once: no result */
  c.runs = 10000;
  t = fr_profile_task_start(&c);
  fr_job_cancel(fr_profile_task_job(t));
  GError *error = NULL;
  g_assert_cmpint(fr_job_join(fr_profile_task_job(t), &error), ==, FR_JOB_CANCELLED);
  g_clear_error(&error);
  g_assert_null(fr_profile_task_result(t));
  fr_profile_task_unref(t);
}

/* The old per-op-name aggregator still sees every op. */
static void test_old_aggregator(void) {
  FrGraph *g = fr_graph_new(0);
  g->grad_enabled = false;
  FrProfile *p = fr_profile_new();
  fr_profile_attach(p, g);
  small_graph(g);
  int n;
  const FrProfileRow *rows = fr_profile_rows(p, &n);
  g_assert_cmpint(n, ==, 3);
  double macs = 0;
  for (int i = 0; i < n; i++) macs += rows[i].macs;
  g_assert_cmpfloat(macs, ==, 64);
  fr_profile_free(p);
  fr_graph_free(g);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  /* the roofline cache of anything measured here goes to a scratch folder, never the user's */
  char *cache = g_dir_make_tmp("fr-profile-cache-XXXXXX", NULL);
  g_setenv("XDG_CACHE_HOME", cache, TRUE);
  fr_pool_set_threads(2);
  g_test_add_func("/profile/small-graph-sums", test_small_graph_sums);
  g_test_add_func("/profile/scopes-group", test_scopes_group);
  g_test_add_func("/profile/scope-stack", test_scope_stack);
  g_test_add_func("/profile/scope-buffer-reuse", test_scope_buffer_reuse);
  g_test_add_func("/profile/backward", test_backward_records);
  g_test_add_func("/profile/exports", test_exports);
  g_test_add_func("/profile/compare", test_compare);
  g_test_add_func("/profile/roofline-cache", test_roofline_cache);
  g_test_add_func("/profile/targets-gan", test_targets_gan);
  g_test_add_func("/profile/targets-others", test_targets_others);
  g_test_add_func("/profile/overhead", test_overhead);
  g_test_add_func("/profile/job", test_job);
  g_test_add_func("/profile/old-aggregator", test_old_aggregator);
  int rc = g_test_run();
  rm_rf(cache);
  g_free(cache);
  return rc;
}
