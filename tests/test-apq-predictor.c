/* test-apq-predictor.c: APQ's accuracy predictor against the forward pass of APQ's own MLP (synthetic
 * weights, shared/data/apq), file round trips and bad files, learning a synthetic accuracy surface,
 * the fp32 -> quantization-aware transfer, Kendall tau-b against the O(n^2) definition, and cancel. */
#include "fr-apq-predictor.h"

#include "fr-rng.h"
#include "fr-safetensors.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static char *tmp_dir;

static char *tmp_path(const char *name) { return g_build_filename(tmp_dir, name, NULL); }

/* FR_TEST_SRCDIR/../../shared/data/apq, or NULL with the test skipped. */
static char *apq_data_dir(void) {
  const char *srcdir = g_getenv("FR_TEST_SRCDIR");
  if (!srcdir) {
    g_test_skip("FR_TEST_SRCDIR not set");
    return NULL;
  }
  char *dir = g_build_filename(srcdir, "..", "..", "shared", "data", "apq", NULL);
  if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
    g_test_skip("shared/data/apq not present");
    g_clear_pointer(&dir, g_free);
  }
  return dir;
}

static JsonNode *parse_json_file(const char *dir, const char *name) {
  g_autofree char *path = g_build_filename(dir, name, NULL);
  GError *error = NULL;
  JsonParser *parser = json_parser_new();
  json_parser_load_from_file(parser, path, &error);
  g_assert_no_error(error);
  JsonNode *root = json_node_copy(json_parser_get_root(parser));
  g_object_unref(parser);
  return root;
}

static float *random_rows(int n, int dim, guint64 seed) {
  FrRng rng;
  fr_rng_seed(&rng, seed);
  float *x = g_new(float, (size_t)n * dim);
  fr_rng_fill_uniform(&rng, x, (int64_t)n * dim, -1.0f, 1.0f);
  return x;
}

/* ---- the forward pass against APQ's MLP ------------------------------------------------------- */

/* The .f32 blob + its JSON index as a safetensors file (the form released weights convert to). */
static char *reference_weights_file(const char *dir) {
  JsonNode *index = parse_json_file(dir, "apq_predictor_random_seed0.json");
  JsonObject *o = json_node_get_object(index);
  g_autofree char *blob_path = g_build_filename(dir, "apq_predictor_random_seed0.f32", NULL);
  g_autofree char *blob = NULL;
  gsize len;
  GError *error = NULL;
  g_assert_true(g_file_get_contents(blob_path, &blob, &len, &error));
  g_assert_cmpuint(len, ==, 4 * (gsize)json_object_get_int_member(o, "total_floats"));
  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  JsonArray *tensors = json_object_get_array_member(o, "tensors");
  for (guint i = 0; i < json_array_get_length(tensors); i++) {
    JsonObject *t = json_array_get_object_element(tensors, i);
    JsonArray *shape_a = json_object_get_array_member(t, "shape");
    int64_t shape[2], numel = 1;
    int ndim = (int)json_array_get_length(shape_a);
    g_assert_cmpint(ndim, <=, 2);
    for (int d = 0; d < ndim; d++) {
      shape[d] = json_array_get_int_element(shape_a, d);
      numel *= shape[d];
    }
    g_assert_cmpint(numel, ==, json_object_get_int_member(t, "n_floats"));
    const char *data = blob + 4 * json_object_get_int_member(t, "offset_floats");
    fr_safetensors_writer_add(w, json_object_get_string_member(t, "name"), FR_DTYPE_F32, ndim, shape, data);
  }
  char *path = tmp_path("apq-reference.safetensors");
  g_assert_true(fr_safetensors_writer_save(w, path, &error));
  g_assert_no_error(error);
  fr_safetensors_writer_free(w);
  json_node_unref(index);
  return path;
}

static void one_hot(JsonArray *indices, float *x, int dim) {
  memset(x, 0, sizeof(float) * (size_t)dim);
  for (guint k = 0; k < json_array_get_length(indices); k++) {
    gint64 j = json_array_get_int_element(indices, k);
    g_assert_cmpint(j, >=, 0);
    g_assert_cmpint(j, <, dim);
    x[j] = 1.0f;
  }
}

static void test_reference_forward(void) {
  g_autofree char *dir = apq_data_dir();
  if (!dir) return;
  g_autofree char *weights = reference_weights_file(dir);
  GError *error = NULL;
  FrApqPredictor *p = fr_apq_predictor_load(weights, &error);
  g_assert_no_error(error);
  g_assert_cmpint(fr_apq_predictor_arch_dim(p), ==, 520);
  g_assert_cmpint(fr_apq_predictor_quant_dim(p), ==, 252);
  g_assert_cmpint(fr_apq_predictor_hidden(p), ==, 400);
  g_assert_cmpuint(fr_apq_predictor_n_params(p), ==, 630801);

  JsonNode *root = parse_json_file(dir, "apq_testvectors.json");
  JsonArray *vectors = json_object_get_array_member(json_node_get_object(root), "vectors");
  const int nv = (int)json_array_get_length(vectors), dim = 772;
  g_assert_cmpint(nv, ==, 6);
  /* both encodings of each spec, in one batch: the real bits, and the repo search's all-8-bit */
  const char *variants[][2] = { { "active_feature_indices", "predictor_random_seed0_out_f32" },
                                { "active_feature_indices_repo_search", "predictor_random_seed0_out_f32_repo_search" } };
  float *x = g_new(float, 2 * nv * dim);
  float y[12], y1;
  double want[12], worst = 0;
  for (int v = 0; v < 2; v++)
    for (int i = 0; i < nv; i++) {
      JsonObject *vec = json_array_get_object_element(vectors, i);
      one_hot(json_object_get_array_member(vec, variants[v][0]), x + (v * nv + i) * dim, dim);
      want[v * nv + i] = json_object_get_double_member(vec, variants[v][1]);
    }
  fr_apq_predictor_predict(p, x, 2 * nv, y);
  for (int r = 0; r < 2 * nv; r++) {
    g_assert_cmpfloat_with_epsilon(y[r], want[r], 1e-5);
    worst = fmax(worst, fabs(y[r] - want[r]));
    fr_apq_predictor_predict(p, x + r * dim, 1, &y1);   /* a batch of one agrees with the batch */
    g_assert_cmpfloat_with_epsilon(y1, y[r], 1e-6);
  }
  g_test_message("largest difference from torch's float32 forward: %.3g", worst);
  g_free(x);
  json_node_unref(root);
  fr_apq_predictor_free(p);
  g_unlink(weights);
}

/* ---- files ------------------------------------------------------------------------------------ */

static void assert_same_predictions(FrApqPredictor *a, FrApqPredictor *b, int n) {
  int dim = fr_apq_predictor_arch_dim(a) + fr_apq_predictor_quant_dim(a);
  float *x = random_rows(n, dim, 11), *ya = g_new(float, n), *yb = g_new(float, n);
  fr_apq_predictor_predict(a, x, n, ya);
  fr_apq_predictor_predict(b, x, n, yb);
  g_assert_cmpmem(ya, sizeof(float) * n, yb, sizeof(float) * n);
  g_free(x);
  g_free(ya);
  g_free(yb);
}

static void test_round_trip(void) {
  static const int dims[][3] = { { 30, 12, 16 }, { 25, 0, 9 } };
  for (guint i = 0; i < G_N_ELEMENTS(dims); i++) {
    FrApqPredictor *p = fr_apq_predictor_new(dims[i][0], dims[i][1], dims[i][2], 3 + i);
    g_autofree char *path = tmp_path("round-trip.safetensors");
    const char *meta[] = { "note", "from the test", "format", "not ours", NULL };
    GError *error = NULL;
    g_assert_true(fr_apq_predictor_save(p, path, meta, &error));
    g_assert_no_error(error);
    FrApqPredictor *q = fr_apq_predictor_load(path, &error);
    g_assert_no_error(error);
    g_assert_cmpint(fr_apq_predictor_arch_dim(q), ==, dims[i][0]);
    g_assert_cmpint(fr_apq_predictor_quant_dim(q), ==, dims[i][1]);
    g_assert_cmpint(fr_apq_predictor_hidden(q), ==, dims[i][2]);
    g_assert_cmpuint(fr_apq_predictor_n_params(q), ==, fr_apq_predictor_n_params(p));
    assert_same_predictions(p, q, 300);
    /* the caller's metadata is kept, but cannot overwrite the predictor's own keys */
    FrSafetensors *st = fr_safetensors_load(path, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(fr_safetensors_get_metadata(st, "note"), ==, "from the test");
    g_assert_cmpstr(fr_safetensors_get_metadata(st, "format"), ==, "frontier-apq-predictor");
    g_assert_cmpint(atoi(fr_safetensors_get_metadata(st, "quant_dim")), ==, dims[i][1]);
    g_assert_cmpint(fr_safetensors_n_tensors(st), ==, dims[i][1] ? 10 : 8);
    fr_safetensors_free(st);
    fr_apq_predictor_free(q);
    fr_apq_predictor_free(p);
    g_unlink(path);
  }
}

/* Loads path and asserts it fails with (domain, code) and a message naming `mention`. */
static void assert_load_fails(const char *path, GQuark domain, int code, const char *mention) {
  GError *error = NULL;
  g_assert_null(fr_apq_predictor_load(path, &error));
  g_assert_nonnull(error);
  if (domain) g_assert_error(error, domain, code);
  g_test_message("%s", error->message);
  g_assert_nonnull(strstr(error->message, mention));
  g_error_free(error);
}

/* A predictor-shaped file, with the tensors named `drop`... left out, `resize`'s last dim grown by one, and
 * `extra` added; `int_bias` stores layers.0.0.bias as I32. */
static char *write_variant(const char *name, const char *drop, const char *resize, const char *extra,
                           gboolean int_bias) {
  FrApqPredictor *p = fr_apq_predictor_new(8, 4, 6, 1);
  g_autofree char *good = tmp_path("good.safetensors");
  GError *error = NULL;
  g_assert_true(fr_apq_predictor_save(p, good, NULL, &error));
  FrSafetensors *st = fr_safetensors_load(good, &error);
  g_assert_no_error(error);
  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  static const float zeros[64] = { 0 };
  static const gint32 izeros[64] = { 0 };
  for (int i = 0; i < fr_safetensors_n_tensors(st); i++) {
    const FrSafeTensor *t = fr_safetensors_nth(st, i);
    if (drop && g_str_has_prefix(t->name, drop)) continue;
    int64_t shape[2] = { t->shape[0], t->ndim > 1 ? t->shape[1] : 0 };
    if (resize && !strcmp(t->name, resize)) {
      shape[t->ndim - 1]++;
      fr_safetensors_writer_add(w, t->name, FR_DTYPE_F32, t->ndim, shape, zeros);
    } else if (int_bias && !strcmp(t->name, "layers.0.0.bias")) {
      fr_safetensors_writer_add(w, t->name, FR_DTYPE_I32, t->ndim, shape, izeros);
    } else {
      fr_safetensors_writer_add(w, t->name, t->dtype, t->ndim, shape, t->data);
    }
  }
  if (extra) fr_safetensors_writer_add(w, extra, FR_DTYPE_F32, 1, (int64_t[]){ 6 }, zeros);
  char *path = tmp_path(name);
  g_assert_true(fr_safetensors_writer_save(w, path, &error));
  fr_safetensors_writer_free(w);
  fr_safetensors_free(st);
  fr_apq_predictor_free(p);
  g_unlink(good);
  return path;
}

static void test_bad_files(void) {
  GError *error = NULL;
  g_autofree char *missing_file = tmp_path("does-not-exist.safetensors");
  assert_load_fails(missing_file, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_IO, "does-not-exist");

  /* truncated: every prefix of a valid file is rejected without a crash */
  FrApqPredictor *p = fr_apq_predictor_new(8, 4, 6, 1);
  g_autofree char *path = tmp_path("truncated.safetensors");
  g_assert_true(fr_apq_predictor_save(p, path, NULL, &error));
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true(g_file_get_contents(path, &bytes, &len, NULL));
  for (gsize cut = 0; cut < len; cut += cut < 64 ? 1 : 37) {
    g_assert_true(g_file_set_contents(path, bytes, (gssize)cut, NULL));
    g_assert_null(fr_apq_predictor_load(path, &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
  }
  /* garbage after a plausible length */
  memset(bytes + 8, '#', len - 8);
  g_assert_true(g_file_set_contents(path, bytes, (gssize)len, NULL));
  assert_load_fails(path, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT, path);
  g_unlink(path);
  fr_apq_predictor_free(p);

  static const struct {
    const char *drop, *resize, *extra;
    gboolean int_bias;
    int code;
    const char *mention;
  } cases[] = {
    { "layers.2.0.bias", NULL, NULL, FALSE, FR_SAFETENSORS_ERROR_MISSING, "layers.2.0.bias" },
    { "layers.0.0.weight", NULL, NULL, FALSE, FR_SAFETENSORS_ERROR_MISSING, "layers.0.0.weight" },
    { "quantize_fc.weight", NULL, NULL, FALSE, FR_SAFETENSORS_ERROR_MISSING, "quantize_fc.weight" },
    { "quantize_fc.bias", NULL, NULL, FALSE, FR_SAFETENSORS_ERROR_MISSING, "quantize_fc.bias" },
    { "regressor.weight", NULL, NULL, FALSE, FR_SAFETENSORS_ERROR_MISSING, "regressor.weight" },
    { NULL, "layers.1.0.weight", NULL, FALSE, FR_SAFETENSORS_ERROR_SHAPE, "layers.1.0.weight" },
    { NULL, "quantize_fc.bias", NULL, FALSE, FR_SAFETENSORS_ERROR_SHAPE, "quantize_fc.bias" },
    { NULL, "regressor.bias", NULL, FALSE, FR_SAFETENSORS_ERROR_SHAPE, "regressor.bias" },
    { NULL, NULL, "layers.3.0.bias", FALSE, FR_SAFETENSORS_ERROR_FORMAT, "layers.3.0.bias" },
    { NULL, NULL, NULL, TRUE, FR_SAFETENSORS_ERROR_FORMAT, "layers.0.0.bias" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *v = write_variant("variant.safetensors", cases[i].drop, cases[i].resize, cases[i].extra,
                                       cases[i].int_bias);
    assert_load_fails(v, FR_SAFETENSORS_ERROR, cases[i].code, cases[i].mention);
    g_unlink(v);
  }
  /* the bits branch dropped as a whole is a valid full-precision predictor */
  g_autofree char *fp = write_variant("fp.safetensors", "quantize_fc.", NULL, NULL, FALSE);
  p = fr_apq_predictor_load(fp, &error);
  g_assert_no_error(error);
  g_assert_cmpint(fr_apq_predictor_quant_dim(p), ==, 0);
  g_assert_cmpint(fr_apq_predictor_arch_dim(p), ==, 8);
  fr_apq_predictor_free(p);
  g_unlink(fp);
}

/* ---- learning --------------------------------------------------------------------------------- */

#define BLOCKS 10
#define CHOICES 3
#define DIM (BLOCKS * CHOICES)

/* An invented space: 10 blocks of 3 choices (a block may be skipped: all zero), accuracy an additive
 * term per choice plus milder interactions between neighbouring blocks, scaled to [0.80, 0.95]. */
static void synthetic_set(int n, guint64 seed, float *x, float *y) {
  FrRng rng;
  fr_rng_seed(&rng, 99);   /* the surface is fixed; seed only picks the samples */
  float w[DIM], v[BLOCKS][CHOICES][CHOICES];
  fr_rng_fill_normal(&rng, w, DIM, 0, 1);
  fr_rng_fill_normal(&rng, &v[0][0][0], BLOCKS * CHOICES * CHOICES, 0, 0.4f);
  fr_rng_seed(&rng, seed);
  double *raw = g_new(double, n), lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++) {
    float *row = x + (int64_t)i * DIM;
    int pick[BLOCKS];
    memset(row, 0, sizeof(float) * DIM);
    raw[i] = 0;
    for (int b = 0; b < BLOCKS; b++) {
      pick[b] = fr_rng_uniform(&rng) < 0.15 ? -1 : (int)fr_rng_below(&rng, CHOICES);
      if (pick[b] < 0) continue;
      row[b * CHOICES + pick[b]] = 1;
      raw[i] += w[b * CHOICES + pick[b]];
      if (b > 0 && pick[b - 1] >= 0) raw[i] += v[b][pick[b - 1]][pick[b]];
    }
    lo = fmin(lo, raw[i]);
    hi = fmax(hi, raw[i]);
  }
  for (int i = 0; i < n; i++) y[i] = (float)(0.80 + 0.15 * (raw[i] - lo) / (hi - lo));
  g_free(raw);
}

static void evaluate(FrApqPredictor *p, const float *x, const float *y, int n, double *rmse, double *tau) {
  float *pred = g_new(float, n);
  double *pd = g_new(double, n), *yd = g_new(double, n);
  fr_apq_predictor_predict(p, x, n, pred);
  for (int i = 0; i < n; i++) pd[i] = pred[i], yd[i] = y[i];
  *rmse = fr_apq_rmse(pd, yd, n);
  *tau = fr_apq_kendall_tau(pd, yd, n);
  g_free(pred);
  g_free(pd);
  g_free(yd);
}

static double stddev(const float *y, int n) {
  double m = 0, s = 0;
  for (int i = 0; i < n; i++) m += y[i] / n;
  for (int i = 0; i < n; i++) s += (y[i] - m) * (y[i] - m) / n;
  return sqrt(s);
}

static void test_learns(void) {
  const int n = 600, n_train = 500, n_test = n - n_train;
  float *x = g_new(float, n * DIM), *y = g_new(float, n);
  synthetic_set(n, 5, x, y);
  FrApqPredictor *p = fr_apq_predictor_new(DIM, 0, 400, 1);   /* APQ's size */
  FrApqPredictorTrainConfig cfg;
  fr_apq_predictor_train_config_init(&cfg);
  g_assert_cmpint(cfg.epochs, ==, 200);
  g_assert_cmpint(cfg.batch_size, ==, 64);
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time();
  g_assert_true(fr_apq_predictor_train(p, x, y, n_train, &cfg, NULL, &error));
  g_assert_no_error(error);
  double secs = (g_get_monotonic_time() - t0) / 1e6, rmse, tau, train_rmse, train_tau;
  evaluate(p, x + n_train * DIM, y + n_train, n_test, &rmse, &tau);
  evaluate(p, x, y, n_train, &train_rmse, &train_tau);
  double sd = stddev(y + n_train, n_test);
  g_test_message("trained in %.2f s: held-out RMSE %.4f (target std %.4f), tau %.3f; train RMSE %.4f tau %.3f",
                 secs, rmse, sd, tau, train_rmse, train_tau);
  g_assert_cmpfloat(rmse, <, 0.3 * sd);
  g_assert_cmpfloat(tau, >, 0.8);
  fr_apq_predictor_free(p);
  g_free(x);
  g_free(y);
}

/* ---- transfer --------------------------------------------------------------------------------- */

static void test_transfer(void) {
  const int A = 30, Q = 12, H = 64, n = 200;
  FrApqPredictor *fp = fr_apq_predictor_new(A, 0, H, 1), *q = fr_apq_predictor_new(A, Q, H, 2);
  GError *error = NULL;
  g_assert_true(fr_apq_predictor_transfer_from(q, fp, &error));
  g_assert_no_error(error);
  /* any bits at all (not only one-hot) leave the output as the fp32 predictor's */
  float *xq = random_rows(n, A + Q, 4), *xa = g_new(float, n * A), *yq = g_new(float, n), *ya = g_new(float, n);
  for (int i = 0; i < n; i++) memcpy(xa + i * A, xq + i * (A + Q), sizeof(float) * A);
  fr_apq_predictor_predict(q, xq, n, yq);
  fr_apq_predictor_predict(fp, xa, n, ya);
  for (int i = 0; i < n; i++) g_assert_cmpfloat_with_epsilon(yq[i], ya[i], 1e-6);

  /* fine-tuning on a target that depends on the bits makes the branch matter */
  float *t = g_new(float, n);
  for (int i = 0; i < n; i++) t[i] = ya[i] + 0.05f * xq[i * (A + Q) + A];
  FrApqPredictorTrainConfig cfg;
  fr_apq_predictor_train_config_init(&cfg);
  cfg.epochs = 60;
  g_assert_true(fr_apq_predictor_train(q, xq, t, n, &cfg, NULL, &error));
  fr_apq_predictor_predict(q, xq, n, yq);
  double moved = 0;
  for (int i = 0; i < n; i++) moved = fmax(moved, fabs(yq[i] - ya[i]));
  g_assert_cmpfloat(moved, >, 0.01);

  /* mismatches */
  FrApqPredictor *wrong_arch = fr_apq_predictor_new(A + 1, Q, H, 3), *wrong_h = fr_apq_predictor_new(A, Q, H + 1, 3);
  FrApqPredictor *targets[] = { wrong_arch, wrong_h, fp };
  for (guint i = 0; i < G_N_ELEMENTS(targets); i++) {
    g_assert_false(fr_apq_predictor_transfer_from(targets[i], fp, &error));
    g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
  }
  g_assert_false(fr_apq_predictor_transfer_from(q, q, &error));   /* the source must be full precision */
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  fr_apq_predictor_free(wrong_arch);
  fr_apq_predictor_free(wrong_h);
  fr_apq_predictor_free(fp);
  fr_apq_predictor_free(q);
  g_free(xq);
  g_free(xa);
  g_free(yq);
  g_free(ya);
  g_free(t);
}

/* ---- concurrent predict ----------------------------------------------------------------------- */

typedef struct {
  FrApqPredictor *p;
  const float *x;
  int n;
  float *y;
} PredictCall;

static gpointer predict_thread(gpointer data) {
  PredictCall *c = data;
  for (int rep = 0; rep < 5; rep++) fr_apq_predictor_predict(c->p, c->x, c->n, c->y);
  return NULL;
}

static void test_concurrent_predict(void) {
  const int n = 2500, dim = 40;   /* more than one internal chunk */
  FrApqPredictor *p = fr_apq_predictor_new(30, 10, 48, 7);
  float *x = random_rows(n, dim, 8), *want = g_new(float, n), *got[4];
  fr_apq_predictor_predict(p, x, n, want);
  PredictCall calls[4];
  GThread *threads[4];
  for (int i = 0; i < 4; i++) {
    got[i] = g_new(float, n);
    calls[i] = (PredictCall){ p, x, n, got[i] };
    threads[i] = g_thread_new("predict", predict_thread, &calls[i]);
  }
  for (int i = 0; i < 4; i++) {
    g_thread_join(threads[i]);
    for (int r = 0; r < n; r++) g_assert_cmpfloat_with_epsilon(got[i][r], want[r], 1e-6);
    g_free(got[i]);
  }
  fr_apq_predictor_free(p);
  g_free(x);
  g_free(want);
}

/* ---- metrics ---------------------------------------------------------------------------------- */

static int sign(double v) { return (v > 0) - (v < 0); }

/* tau-b from its definition: (C - D) / sqrt((n0 - ties in a)(n0 - ties in b)). */
static double naive_tau_b(const double *a, const double *b, int n) {
  int64_t s = 0, ta = 0, tb = 0, n0 = (int64_t)n * (n - 1) / 2;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      s += sign(a[i] - a[j]) * sign(b[i] - b[j]);
      ta += a[i] == a[j];
      tb += b[i] == b[j];
    }
  return (double)s / sqrt((double)(n0 - ta) * (double)(n0 - tb));
}

static void test_kendall(void) {
  FrRng rng;
  fr_rng_seed(&rng, 17);
  const int n = 500;
  double a[500], b[500];
  for (int rep = 0; rep < 20; rep++) {
    int la = 2 + rep % 5, lb = 3 + rep % 4;   /* a few levels: many ties in both lists */
    for (int i = 0; i < n; i++) {
      a[i] = (double)fr_rng_below(&rng, la) * 0.1;
      /* half the reps correlated, so tau is far from 0 too */
      b[i] = rep % 2 ? (double)fr_rng_below(&rng, lb) : floor(a[i] * 10 + fr_rng_below(&rng, 2)) * 0.7;
    }
    double want = naive_tau_b(a, b, n), got = fr_apq_kendall_tau(a, b, n);
    g_assert_cmpfloat_with_epsilon(got, want, 1e-12);
    g_assert_cmpfloat_with_epsilon(fr_apq_kendall_tau(b, a, n), want, 1e-12);   /* symmetric */
  }
  /* continuous values, no ties */
  for (int i = 0; i < n; i++) a[i] = fr_rng_normal(&rng), b[i] = a[i] + fr_rng_normal(&rng);
  g_assert_cmpfloat_with_epsilon(fr_apq_kendall_tau(a, b, n), naive_tau_b(a, b, n), 1e-12);

  const double up[] = { 1, 2, 3, 4, 5 }, down[] = { 9, 7, 5, 3, 1 }, tied[] = { 1, 1, 2, 2, 3 };
  /* 10 / sqrt(10) / sqrt(10) rounds just below 1, as in scipy */
  g_assert_cmpfloat_with_epsilon(fr_apq_kendall_tau(up, up, 5), 1.0, 1e-15);
  g_assert_cmpfloat_with_epsilon(fr_apq_kendall_tau(up, down, 5), -1.0, 1e-15);
  g_assert_cmpfloat_with_epsilon(fr_apq_kendall_tau(tied, tied, 5), 1.0, 1e-15);
  /* scipy.stats.kendalltau's documented example */
  const double x1[] = { 12, 2, 1, 12, 2 }, x2[] = { 1, 4, 7, 1, 0 };
  g_assert_cmpfloat_with_epsilon(fr_apq_kendall_tau(x1, x2, 5), -0.47140452079103173, 1e-15);
  /* degenerate: nothing to rank gives 0; a NaN gives NaN as in scipy */
  const double same[] = { 4, 4, 4, 4, 4 }, with_nan[] = { 1, NAN, 3, 4, 5 };
  g_assert_cmpfloat(fr_apq_kendall_tau(up, up, 1), ==, 0.0);
  g_assert_cmpfloat(fr_apq_kendall_tau(up, same, 5), ==, 0.0);
  g_assert_true(isnan(fr_apq_kendall_tau(up, with_nan, 5)));

  const double pred[] = { 1, 2, 3 }, truth[] = { 1, 2, 5 };
  g_assert_cmpfloat_with_epsilon(fr_apq_rmse(pred, truth, 3), sqrt(4.0 / 3.0), 1e-15);
  g_assert_cmpfloat(fr_apq_rmse(pred, pred, 3), ==, 0.0);
}

/* ---- arguments, progress, cancel -------------------------------------------------------------- */

typedef struct {
  FrApqPredictor *p;
  const float *x, *y;
  int n, epochs;
  gboolean wait_for_cancel;
} TrainJob;

static gboolean train_job(FrJob *job, gpointer data, GError **error) {
  TrainJob *t = data;
  while (t->wait_for_cancel && !fr_job_is_cancelled(job)) g_usleep(1000);
  FrApqPredictorTrainConfig cfg;
  fr_apq_predictor_train_config_init(&cfg);
  cfg.epochs = t->epochs;
  return fr_apq_predictor_train(t->p, t->x, t->y, t->n, &cfg, job, error);
}

static void test_bad_arguments(void) {
  FrApqPredictor *p = fr_apq_predictor_new(4, 0, 8, 1);
  float x[8] = { 1, 0, 0, 1, 0, 1, 1, 0 }, y[2] = { 0.9f, 0.8f };
  FrApqPredictorTrainConfig cfg;
  fr_apq_predictor_train_config_init(&cfg);
  GError *error = NULL;
  g_assert_false(fr_apq_predictor_train(p, x, y, 0, &cfg, NULL, &error));
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  FrApqPredictorTrainConfig bad[4] = { cfg, cfg, cfg, cfg };
  bad[0].epochs = 0;
  bad[1].batch_size = 0;
  bad[2].lr = -1;
  bad[3].weight_decay = NAN;
  for (int i = 0; i < 4; i++) {
    g_assert_false(fr_apq_predictor_train(p, x, y, 2, &bad[i], NULL, &error));
    g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
  }
  /* batch larger than the set is clamped */
  cfg.epochs = 3;
  g_assert_true(fr_apq_predictor_train(p, x, y, 2, &cfg, NULL, &error));
  g_assert_no_error(error);
  fr_apq_predictor_free(p);
}

static void test_progress(void) {
  const int n = 100;
  float *x = g_new(float, n * DIM), *y = g_new(float, n);
  synthetic_set(n, 6, x, y);
  TrainJob t = { fr_apq_predictor_new(DIM, 0, 32, 1), x, y, n, 7, FALSE };
  FrJob *job = fr_job_start("predictor", train_job, &t, NULL);
  g_assert_cmpint(fr_job_join(job, NULL), ==, FR_JOB_SUCCEEDED);
  int progress = 0;
  double last = 0;
  FrEvent *ev;
  while ((ev = fr_job_pop_event(job))) {
    if (ev->kind == FR_EVENT_PROGRESS) {
      g_assert_cmpfloat(ev->fraction, >, last);
      last = ev->fraction;
      progress++;
    }
    fr_event_free(ev);
  }
  g_assert_cmpint(progress, ==, 7);   /* one per epoch */
  g_assert_cmpfloat(last, ==, 1.0);
  fr_job_unref(job);
  fr_apq_predictor_free(t.p);
  g_free(x);
  g_free(y);
}

static void test_cancel(void) {
  const int n = 100;
  float *x = g_new(float, n * DIM), *y = g_new(float, n);
  synthetic_set(n, 6, x, y);
  FrApqPredictor *p = fr_apq_predictor_new(DIM, 0, 32, 1), *before = fr_apq_predictor_new(DIM, 0, 32, 1);
  TrainJob t = { p, x, y, n, 50, TRUE };
  FrJob *job = fr_job_start("predictor", train_job, &t, NULL);
  fr_job_cancel(job);
  GError *error = NULL;
  g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_CANCELLED);
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED);
  g_clear_error(&error);
  fr_job_unref(job);
  assert_same_predictions(p, before, 50);   /* cancelled before the first epoch: untouched */
  fr_apq_predictor_free(p);
  fr_apq_predictor_free(before);
  g_free(x);
  g_free(y);
}

/* ---- timing (-m perf) ------------------------------------------------------------------------- */

static void test_timing(void) {
  /* training at the top of APQ's sizes: 2000 rows, 520 arch features, hidden 400, 200 epochs */
  const int n = 2000, A = 520;
  float *x = g_new0(float, (size_t)n * A), *y = g_new(float, n);
  FrRng rng;
  fr_rng_seed(&rng, 3);
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < 60; k++) x[(int64_t)i * A + fr_rng_below(&rng, A)] = 1;
    y[i] = 0.8f + 0.15f * (float)fr_rng_uniform(&rng);
  }
  FrApqPredictor *p = fr_apq_predictor_new(A, 0, 400, 1);
  FrApqPredictorTrainConfig cfg;
  fr_apq_predictor_train_config_init(&cfg);
  gint64 t0 = g_get_monotonic_time();
  g_assert_true(fr_apq_predictor_train(p, x, y, n, &cfg, NULL, NULL));
  g_test_message("train %d x %d, 200 epochs: %.2f s", n, A, (g_get_monotonic_time() - t0) / 1e6);
  fr_apq_predictor_free(p);
  g_free(x);
  g_free(y);

  const int m = 50000, D = 772;
  p = fr_apq_predictor_new(520, 252, 400, 1);
  float *xs = g_new0(float, (size_t)m * D), *ys = g_new(float, m);
  for (int i = 0; i < m; i++)
    for (int k = 0; k < 120; k++) xs[(int64_t)i * D + fr_rng_below(&rng, D)] = 1;
  t0 = g_get_monotonic_time();
  fr_apq_predictor_predict(p, xs, m, ys);
  double secs = (g_get_monotonic_time() - t0) / 1e6;
  g_test_message("predict %d rows of 772: %.3f s, %.0f rows/s", m, secs, m / secs);
  fr_apq_predictor_free(p);
  g_free(xs);
  g_free(ys);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  GError *error = NULL;
  tmp_dir = g_dir_make_tmp("test-apq-predictor-XXXXXX", &error);
  g_assert_no_error(error);
  g_test_add_func("/apq-predictor/reference-forward", test_reference_forward);
  g_test_add_func("/apq-predictor/round-trip", test_round_trip);
  g_test_add_func("/apq-predictor/bad-files", test_bad_files);
  g_test_add_func("/apq-predictor/learns", test_learns);
  g_test_add_func("/apq-predictor/transfer", test_transfer);
  g_test_add_func("/apq-predictor/concurrent-predict", test_concurrent_predict);
  g_test_add_func("/apq-predictor/kendall-rmse", test_kendall);
  g_test_add_func("/apq-predictor/bad-arguments", test_bad_arguments);
  g_test_add_func("/apq-predictor/progress", test_progress);
  g_test_add_func("/apq-predictor/cancel", test_cancel);
  if (g_test_perf()) g_test_add_func("/apq-predictor/timing", test_timing);
  int rc = g_test_run();
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
