/* Every op against vectors made once with PyTorch 1.13 (tests/reference/make_torch_vectors.py):
 * outputs and the gradients of sum(y * gout) for each input. */
#include "fr-ops.h"
#include "fr-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static FrSafetensors *vectors;

static FrTensor *load_param(const char *cas, const char *name) {
  char key[128];
  g_snprintf(key, sizeof key, "%s/%s", cas, name);
  const FrSafeTensor *t = fr_safetensors_get(vectors, key);
  if (!t) return NULL;
  FrTensor *p = fr_param_new(key, t->ndim, t->shape);
  GError *e = NULL;
  g_assert_true(fr_safetensors_read_f32(vectors, key, t->ndim, t->shape, p->data, &e));
  g_assert_no_error(e);
  return p;
}

static void assert_close(const char *what, const float *got, const FrTensor *want, double rtol, double atol) {
  int64_t n = fr_tensor_numel(want);
  double worst = 0;
  int64_t wi = -1;
  for (int64_t i = 0; i < n; i++) {
    double err = fabs((double)got[i] - want->data[i]) - rtol * fabs(want->data[i]);
    if (err > worst) { worst = err; wi = i; }
  }
  if (worst > atol)
    g_error("%s: element %lld is %g, PyTorch says %g", what, (long long)wi, got[wi], want->data[wi]);
}

static void run_case(gconstpointer data) {
  const char *cas = data;
  JsonNode *node = json_from_string(fr_safetensors_get_metadata(vectors, cas), NULL);
  JsonObject *m = json_node_get_object(node);
  const char *op = json_object_get_string_member(m, "op");
  FrGraph *g = fr_graph_new(0);
  FrTensor *x = load_param(cas, "x"), *w = load_param(cas, "w"), *b = load_param(cas, "b");
  FrTensor *q = load_param(cas, "q"), *k = load_param(cas, "k"), *v = load_param(cas, "v");
  FrTensor *logits = load_param(cas, "logits"), *labels = load_param(cas, "labels");
  FrTensor *rm = load_param(cas, "running_mean"), *rv = load_param(cas, "running_var");
  FrTensor *gout = load_param(cas, "gout"), *want_y = load_param(cas, "y");
  FrTensor *y = NULL;
  const char *act_s = json_object_has_member(m, "act") ? json_object_get_string_member(m, "act") : "none";
  FrAct act = strcmp(act_s, "relu") == 0 ? FR_ACT_RELU : FR_ACT_NONE;
  if (!strcmp(op, "conv2d")) {
    FrConv2dParams p = {
      .stride = (int)json_object_get_int_member(m, "stride"),
      .padding = (int)json_object_get_int_member(m, "padding"),
      .dilation = (int)json_object_get_int_member(m, "dilation"),
      .groups = (int)json_object_get_int_member(m, "groups"),
      .pad_mode = !strcmp(json_object_get_string_member(m, "padding_mode"), "reflect") ? FR_PAD_REFLECT : FR_PAD_ZEROS,
    };
    y = fr_conv2d(g, x, w, b, p);
  } else if (!strcmp(op, "conv_transpose2d")) {
    y = fr_conv_transpose2d(g, x, w, b, (int)json_object_get_int_member(m, "stride"),
                            (int)json_object_get_int_member(m, "padding"),
                            (int)json_object_get_int_member(m, "output_padding"));
  } else if (!strcmp(op, "batch_norm2d")) {
    g->training = json_object_get_boolean_member(m, "training");
    y = fr_batch_norm2d(g, x, w, b, rm->data, rv->data, (float)json_object_get_double_member(m, "momentum"),
                        (float)json_object_get_double_member(m, "eps"), act);
  } else if (!strcmp(op, "instance_norm2d")) {
    y = fr_instance_norm2d(g, x, w, b, (float)json_object_get_double_member(m, "eps"), act);
  } else if (!strcmp(op, "layer_norm")) {
    y = fr_layer_norm(g, x, w, b, (float)json_object_get_double_member(m, "eps"), act);
  } else if (!strcmp(op, "attention")) {
    y = fr_attention(g, q, k, v, json_object_get_boolean_member(m, "causal"));
  } else if (!strcmp(op, "gelu")) {
    y = fr_gelu(g, x);
  } else if (!strcmp(op, "glu")) {
    y = fr_glu(g, x, (int)json_object_get_int_member(m, "dim"));
  } else if (!strcmp(op, "log_softmax")) {
    y = fr_log_softmax(g, x);
  } else if (!strcmp(op, "softmax")) {
    y = fr_softmax(g, x);
  } else if (!strcmp(op, "linear")) {
    y = fr_linear(g, x, w, b);
  } else if (!strcmp(op, "cross_entropy")) {
    int64_t n = fr_tensor_numel(labels);
    int32_t *lab = g_new(int32_t, n);
    for (int64_t i = 0; i < n; i++) lab[i] = (int32_t)labels->data[i];
    y = fr_cross_entropy(g, logits, lab, (float)json_object_get_double_member(m, "label_smoothing"));
    g_free(lab);
  } else if (!strcmp(op, "max_pool2d") || !strcmp(op, "avg_pool2d")) {
    int kk = (int)json_object_get_int_member(m, "kernel"), s = (int)json_object_get_int_member(m, "stride"),
        p = (int)json_object_get_int_member(m, "padding");
    y = op[0] == 'm' ? fr_max_pool2d(g, x, kk, s, p) : fr_avg_pool2d(g, x, kk, s, p);
  } else {
    g_error("unknown op %s in the reference vectors", op);
  }
  g_assert_true(fr_tensor_same_shape(y, want_y));
  assert_close("y", y->data, want_y, 1e-4, 1e-5);
  if (!strcmp(op, "conv2d") || !strcmp(op, "conv_transpose2d") || !strcmp(op, "instance_norm2d")) {
    /* the inference path (no gradient: tiled convolutions, no saved statistics) against the same vectors */
    FrGraph *gi = fr_graph_new(0);
    gi->grad_enabled = false;
    FrTensor *yi;
    if (op[0] == 'i') {
      yi = fr_instance_norm2d(gi, x, w, b, (float)json_object_get_double_member(m, "eps"), act);
    } else if (!strcmp(op, "conv2d")) {
      FrConv2dParams p = {
        .stride = (int)json_object_get_int_member(m, "stride"),
        .padding = (int)json_object_get_int_member(m, "padding"),
        .dilation = (int)json_object_get_int_member(m, "dilation"),
        .groups = (int)json_object_get_int_member(m, "groups"),
        .pad_mode = !strcmp(json_object_get_string_member(m, "padding_mode"), "reflect") ? FR_PAD_REFLECT : FR_PAD_ZEROS,
      };
      yi = fr_conv2d(gi, x, w, b, p);
    } else {
      yi = fr_conv_transpose2d(gi, x, w, b, (int)json_object_get_int_member(m, "stride"),
                               (int)json_object_get_int_member(m, "padding"),
                               (int)json_object_get_int_member(m, "output_padding"));
    }
    g_assert_true(fr_tensor_same_shape(yi, want_y));
    assert_close("y (no gradient)", yi->data, want_y, 1e-4, 1e-5);
    fr_graph_free(gi);
  }
  FrTensor *go = fr_tensor_wrap(g, gout->ndim, gout->shape, gout->data);
  fr_graph_backward(g, fr_sum(g, fr_mul(g, y, go)));
  struct { const char *grad; FrTensor *t; } grads[] = {
    { "dx", x }, { "dw", w }, { "db", b }, { "dq", q }, { "dk", k }, { "dv", v }, { "dlogits", logits },
  };
  for (guint i = 0; i < G_N_ELEMENTS(grads); i++) {
    FrTensor *want = load_param(cas, grads[i].grad);
    if (!want) continue;
    g_assert_nonnull(grads[i].t);
    char what[64];
    g_snprintf(what, sizeof what, "%s", grads[i].grad);
    assert_close(what, grads[i].t->grad, want, 1e-4, 1e-5);
    fr_param_free(want);
  }
  FrTensor *rm_out = load_param(cas, "running_mean_out"), *rv_out = load_param(cas, "running_var_out");
  if (rm_out) assert_close("running_mean", rm->data, rm_out, 1e-5, 1e-6);
  if (rv_out) assert_close("running_var", rv->data, rv_out, 1e-5, 1e-6);
  FrTensor *all[] = { x, w, b, q, k, v, logits, labels, rm, rv, gout, want_y, rm_out, rv_out };
  for (guint i = 0; i < G_N_ELEMENTS(all); i++) fr_param_free(all[i]);
  fr_graph_free(g);
  json_node_unref(node);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  const char *srcdir = g_getenv("FR_TEST_SRCDIR");
  g_autofree char *path = g_build_filename(srcdir ? srcdir : ".", "reference", "torch_vectors.safetensors", NULL);
  GError *e = NULL;
  vectors = fr_safetensors_load(path, &e);
  g_assert_no_error(e);
  JsonNode *cases = json_from_string(fr_safetensors_get_metadata(vectors, "cases"), NULL);
  JsonArray *a = json_node_get_array(cases);
  for (guint i = 0; i < json_array_get_length(a); i++) {
    const char *name = json_array_get_string_element(a, i);
    char *tp = g_strdup_printf("/ops/torch/%s", name);
    g_test_add_data_func(tp, g_strdup(name), run_case);
    g_free(tp);
  }
  int rc = g_test_run();
  json_node_unref(cases);
  fr_safetensors_free(vectors);
  return rc;
}
