/* Whole generators against PyTorch: tests/reference/gan_vectors.safetensors holds weights, inputs and
 * the outputs of tests/bench/torch_gan.py's torch.nn generators (made once by
 * tests/reference/make_gan_vectors.py, float64 reference). Each case runs through
 * fr_gan_generator_run (inference: tiled and direct convolutions, staged graphs) and through
 * fr_gan_generator_forward in a graph that records gradients (the training path), at the full config
 * and at sub-configs of the same weights (the supernet's slicing). */
#include "fr-gan.h"
#include "fr-ops.h"
#include "fr-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static FrSafetensors *vectors;

static float *read_tensor(const char *cas, const char *name, int64_t *numel) {
  char key[128];
  g_snprintf(key, sizeof key, "%s/%s", cas, name);
  const FrSafeTensor *t = fr_safetensors_get(vectors, key);
  g_assert_nonnull(t);
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  float *d = g_new(float, n);
  GError *e = NULL;
  g_assert_true(fr_safetensors_read_f32(vectors, key, t->ndim, t->shape, d, &e));
  g_assert_no_error(e);
  if (numel) *numel = n;
  return d;
}

static double max_diff(const float *a, const float *b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
  return m;
}

static void run_case(gconstpointer data) {
  const char *cas = data;
  JsonNode *node = json_from_string(fr_safetensors_get_metadata(vectors, cas), NULL);
  JsonObject *m = json_node_get_object(node);
  FrGanConfig max;
  g_assert_true(fr_gan_config_parse(json_object_get_string_member(m, "config"), &max, NULL));
  FrGanKind kind = strcmp(json_object_get_string_member(m, "kind"), "resnet") ? FR_GAN_MOBILE : FR_GAN_RESNET;
  int in_c = (int)json_object_get_int_member(m, "in_channels"), out_c = (int)json_object_get_int_member(m, "out_channels");
  FrGanGenerator *g = fr_gan_generator_new(kind, &max, in_c, out_c, 1);
  FrParamSet *ps = fr_gan_generator_params(g);
  for (int i = 0; i < fr_param_set_len(ps); i++) {
    FrTensor *p = fr_param_set_nth(ps, i);
    int64_t n;
    float *d = read_tensor(cas, p->name, &n);
    g_assert_cmpint(n, ==, fr_tensor_numel(p));
    memcpy(p->data, d, sizeof(float) * (size_t)n);
    g_free(d);
  }
  char key[128];
  g_snprintf(key, sizeof key, "%s/x", cas);
  const FrSafeTensor *xt = fr_safetensors_get(vectors, key);
  int N = (int)xt->shape[0], H = (int)xt->shape[2], W = (int)xt->shape[3];
  float *x = read_tensor(cas, "x", NULL);
  JsonArray *runs = json_object_get_array_member(m, "runs");
  for (guint r = 0; r < json_array_get_length(runs); r++) {
    FrGanConfig c;
    g_assert_true(fr_gan_config_parse(json_array_get_string_element(runs, r), &c, NULL));
    char yname[16];
    g_snprintf(yname, sizeof yname, "y%u", r);
    int64_t n;
    float *want = read_tensor(cas, yname, &n);
    g_assert_cmpint(n, ==, (int64_t)N * out_c * H * W);
    /* inference, twice: the second call reuses the first one's graphs */
    float *y = g_new(float, n);
    for (int rep = 0; rep < 2; rep++) {
      memset(y, 0, sizeof(float) * (size_t)n);
      fr_gan_generator_run(g, &c, x, N, H, W, y);
      double d = max_diff(y, want, n);
      if (d > 5e-5) g_error("%s config %u, inference: max |frontier - torch| = %g", cas, r, d);
    }
    /* the training path: a graph that records gradients (saved im2col, statistics) */
    FrGraph *gr = fr_graph_new(0);
    FrTensor *xt4 = fr_tensor_wrap(gr, 4, FR_SHAPE(N, in_c, H, W), x);
    FrTensor *yt = fr_gan_generator_forward(g, gr, xt4, &c, NULL);
    g_assert_true(yt->requires_grad);
    double d = max_diff(yt->data, want, n);
    if (d > 5e-5) g_error("%s config %u, training forward: max |frontier - torch| = %g", cas, r, d);
    fr_graph_free(gr);
    g_free(y);
    g_free(want);
  }
  g_free(x);
  fr_gan_generator_free(g);
  json_node_unref(node);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  const char *srcdir = g_getenv("FR_TEST_SRCDIR");
  g_autofree char *path = g_build_filename(srcdir ? srcdir : ".", "reference", "gan_vectors.safetensors", NULL);
  GError *e = NULL;
  vectors = fr_safetensors_load(path, &e);
  g_assert_no_error(e);
  JsonNode *cases = json_from_string(fr_safetensors_get_metadata(vectors, "cases"), NULL);
  JsonArray *a = json_node_get_array(cases);
  for (guint i = 0; i < json_array_get_length(a); i++) {
    const char *name = json_array_get_string_element(a, i);
    char *tp = g_strdup_printf("/gan/torch/%s", name);
    g_test_add_data_func_full(tp, g_strdup(name), run_case, g_free);
    g_free(tp);
  }
  int rc = g_test_run();
  json_node_unref(cases);
  fr_safetensors_free(vectors);
  return rc;
}
