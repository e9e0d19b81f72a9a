/* The shipped Fashion-MNIST classifier: reload it and re-measure it on the 10k test images.
 * Floor: 88% test accuracy (the foundation issue's target). */
#include "fr-classifier.h"
#include "fr-model-io.h"

#include <glib/gstdio.h>
#include <math.h>

#define ACCURACY_FLOOR 0.88

static void test_shipped_classifier(void) {
  g_autofree char *path = fr_data_find("classifier/classifier.safetensors");
  g_assert_nonnull(path);
  GError *error = NULL;
  FrClassifier *net = fr_classifier_load(path, &error);
  g_assert_no_error(error);
  FrClassifierEval ev;
  g_assert_true(fr_classifier_evaluate(net, NULL, &ev, &error));
  g_assert_no_error(error);
  g_test_message("shipped classifier: test accuracy %.4f, loss %.4f, %d images, %.2f s", ev.accuracy, ev.loss, ev.n,
                 ev.seconds);
  g_assert_cmpint(ev.n, ==, 10000);
  g_assert_cmpfloat(ev.accuracy, >=, ACCURACY_FLOOR);
  /* the inference entry point used by other pages agrees with the evaluator on a few images */
  float img[4 * 784], logits[40], feats[4 * 128];
  for (int i = 0; i < 4 * 784; i++) img[i] = (float)((i * 37) % 255) / 255.0f;
  fr_classifier_forward(net, img, 4, logits, feats);
  for (int i = 0; i < 40; i++) g_assert_true(isfinite(logits[i]));
  for (int i = 0; i < 4 * 128; i++) g_assert_cmpfloat(feats[i], >=, 0.0f);   /* post-ReLU features */
  fr_classifier_free(net);
}

static void test_bad_model_files(void) {
  g_autofree char *dir = g_dir_make_tmp("fr-classifier-XXXXXX", NULL);
  g_autofree char *garbage = g_build_filename(dir, "garbage.safetensors", NULL);
  g_assert_true(g_file_set_contents(garbage, "not a model", -1, NULL));
  GError *error = NULL;
  g_assert_null(fr_classifier_load(garbage, &error));
  g_assert_nonnull(error);
  g_test_message("garbage file: %s", error->message);
  g_clear_error(&error);
  g_assert_null(fr_classifier_load("/nonexistent/model.safetensors", &error));
  g_assert_nonnull(error);
  g_clear_error(&error);
  g_remove(garbage);
  g_rmdir(dir);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/classifier/shipped-quality", test_shipped_classifier);
  g_test_add_func("/classifier/bad-files", test_bad_model_files);
  return g_test_run();
}
