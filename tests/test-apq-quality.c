/* The shipped APQ artefacts (data/apq, made by build-aux/apq-pipeline.sh) evaluated anew: the
 * supernet's subnets, both predictors on their held-out pairs, and the QAT ground-truth models on the
 * Fashion-MNIST test set, each against the value recorded when it was made and a floor. */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include "fr-apq-study.h"
#include "fr-apq-supernet.h"
#include "fr-apq-train.h"
#include "fr-fmnist.h"
#include "fr-model-io.h"
#include "fr-safetensors.h"

/* Floors: what the shipped models must reach (docs/APQ.md has the measured values). */
#define SUPERNET_LARGEST_FLOOR 0.885
#define SUPERNET_SMALLEST_FLOOR 0.865
#define FP32_TAU_FLOOR 0.45     /* measured 0.488 on the last 400 fp32 pairs */
#define QUANT_TAU_FLOOR 0.40    /* measured 0.448 on the last 60 quantized pairs (transferred) */
#define QAT_TEST_FLOOR 0.86     /* measured 86.96 / 88.48 / … % at 100 / 120 / 150 M BitOps */

static char *shipped(const char *name) {
  char *rel = g_build_filename("apq", name, NULL);
  char *p = fr_data_find(rel);
  if (!p) g_error("data/%s is missing: the APQ pipeline's outputs are shipped (build-aux/apq-pipeline.sh)", rel);
  g_free(rel);
  return p;
}

static FrFmnist *train_set(void) {
  GError *error = NULL;
  FrFmnist *d = fr_fmnist_load(NULL, TRUE, &error);
  g_assert_no_error(error);
  return d;
}

static void test_supernet(void) {
  char *path = shipped("supernet.safetensors");
  GError *error = NULL;
  FrApqSupernet *net = fr_apq_supernet_load(path, &error);
  g_assert_no_error(error);
  FrFmnist *d = train_set();
  const FrApqSpace *sp = fr_apq_supernet_space(net);
  FrApqSpec spec[2];
  fr_apq_spec_largest(sp, 0, &spec[0]);
  fr_apq_spec_smallest(sp, 0, &spec[1]);
  const double floors[2] = { SUPERNET_LARGEST_FLOOR, SUPERNET_SMALLEST_FLOOR };
  for (int i = 0; i < 2; i++) {
    FrApqBnStats *bn = fr_apq_bn_stats_new(net);
    fr_apq_supernet_calibrate(net, &spec[i], bn, d->pixels, 1000, 250);
    double acc = fr_apq_supernet_accuracy(net, &spec[i], bn, d->pixels + (size_t)FR_APQ_TRAIN_IMAGES * 784,
                                          d->labels + FR_APQ_TRAIN_IMAGES, 10000, 250);
    g_test_message("%s subnet: held-out accuracy %.4f (floor %.2f)", i ? "smallest" : "largest", acc, floors[i]);
    g_assert_cmpfloat(acc, >=, floors[i]);
    fr_apq_bn_stats_free(bn);
  }
  fr_fmnist_free(d);
  fr_apq_supernet_free(net);
  g_free(path);
}

static double meta_double(const char *path, const char *key) {
  GError *error = NULL;
  FrSafetensors *st = fr_safetensors_load(path, &error);
  g_assert_no_error(error);
  const char *v = fr_safetensors_get_metadata(st, key);
  g_assert_nonnull(v);
  double x = g_ascii_strtod(v, NULL);
  fr_safetensors_free(st);
  return x;
}

/* The predictor's held-out quality, recomputed on the shipped pairs, equals what its file records. */
static void check_predictor(const char *pred_name, const char *pairs_name, double tau_floor) {
  char *pp = shipped(pred_name), *cp = shipped(pairs_name);
  GError *error = NULL;
  FrApqPredictor *p = fr_apq_predictor_load(pp, &error);
  g_assert_no_error(error);
  const FrApqSpace *sp = fr_apq_space_fmnist_mini();
  FrApqPairs *pairs = fr_apq_pairs_load(cp, sp, &error);
  g_assert_no_error(error);
  int test = (int)meta_double(pp, "test_rows");
  g_assert_cmpint(test, >, 0);
  g_assert_cmpint(test, <, pairs->n);
  double rmse, tau;
  fr_apq_predictor_score(p, pairs, sp, pairs->n - test, test, &rmse, &tau);
  g_test_message("%s on the last %d pairs of %s: RMSE %.5f, Kendall tau %.4f", pred_name, test, pairs_name, rmse, tau);
  g_assert_cmpfloat(fabs(rmse - meta_double(pp, "test_rmse")), <, 1e-5);
  g_assert_cmpfloat(fabs(tau - meta_double(pp, "test_kendall_tau")), <, 1e-5);
  g_assert_cmpfloat(tau, >=, tau_floor);
  fr_apq_pairs_free(pairs);
  fr_apq_predictor_free(p);
  g_free(pp);
  g_free(cp);
}

static void test_predictor_fp32(void) {
  check_predictor("predictor-fp32.safetensors", "pairs-fp32.csv", FP32_TAU_FLOOR);
}

static void test_predictor_quant(void) {
  check_predictor("predictor-quant.safetensors", "pairs-quant.csv", QUANT_TAU_FLOOR);
}

/* Each ground-truth model: its test accuracy, measured again, is the recorded one. */
static void test_qat_models(void) {
  const char *budgets[] = { "100M", "120M", "150M" };
  FrFmnist *train = train_set();
  GError *error = NULL;
  FrFmnist *test = fr_fmnist_load(NULL, FALSE, &error);
  g_assert_no_error(error);
  for (guint i = 0; i < G_N_ELEMENTS(budgets); i++) {
    char *jname = g_strdup_printf("qat-%s.json", budgets[i]), *wname = g_strdup_printf("qat-%s.safetensors", budgets[i]);
    char *jp = shipped(jname), *wp = shipped(wname);
    JsonParser *parser = json_parser_new();
    g_assert_true(json_parser_load_from_file(parser, jp, &error));
    JsonObject *o = json_node_get_object(json_parser_get_root(parser));
    const char *spec_s = json_object_get_string_member(o, "spec");
    double recorded = json_object_get_double_member(o, "test_accuracy");
    double predicted = json_object_get_double_member(o, "predicted_accuracy");
    FrApqSupernet *net = fr_apq_supernet_load(wp, &error);
    g_assert_no_error(error);
    const FrApqSpace *sp = fr_apq_supernet_space(net);
    FrApqSpec spec;
    g_assert_true(fr_apq_spec_from_string(sp, spec_s, &spec, &error));
    g_assert_true(spec.quantized);
    FrApqBnStats *bn = fr_apq_bn_stats_new(net);
    /* as the QAT job measured it: statistics from the first 2,000 training images */
    fr_apq_supernet_calibrate(net, &spec, bn, train->pixels, 2000, 250);
    double acc = fr_apq_supernet_accuracy(net, &spec, bn, test->pixels, test->labels, test->n, 250);
    g_test_message("QAT model at %s BitOps: test accuracy %.4f (recorded %.4f, predicted %.4f)", budgets[i], acc, recorded,
                   predicted);
    g_assert_cmpfloat(fabs(acc - recorded), <=, 0.003);
    g_assert_cmpfloat(acc, >=, QAT_TEST_FLOOR);
    fr_apq_bn_stats_free(bn);
    fr_apq_supernet_free(net);
    g_object_unref(parser);
    g_free(jname);
    g_free(wname);
    g_free(jp);
    g_free(wp);
  }
  fr_fmnist_free(test);
  fr_fmnist_free(train);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/apq-quality/supernet", test_supernet);
  g_test_add_func("/apq-quality/predictor-fp32", test_predictor_fp32);
  g_test_add_func("/apq-quality/predictor-quant", test_predictor_quant);
  g_test_add_func("/apq-quality/qat-models", test_qat_models);
  return g_test_run();
}
