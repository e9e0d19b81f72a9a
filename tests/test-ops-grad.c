/* Every op's gradient against central finite differences of loss = sum(y * r), r random. */
#include "fr-ops.h"

#include <math.h>
#include <string.h>

typedef FrTensor *(*BuildFn)(FrGraph *g, FrTensor **in);

typedef struct {
  const char *name;
  BuildFn build;
  int n_in;
  int ndim[4];
  int64_t shape[4][4];
  bool positive;   /* inputs drawn in (0.5, 1.5) instead of N(0,1) */
} GradCase;

static double loss_of(FrTensor *y, guint64 seed) {
  FrRng r;
  fr_rng_seed(&r, seed);
  double acc = 0;
  for (int64_t i = 0; i < fr_tensor_numel(y); i++) acc += (double)y->data[i] * fr_rng_normal(&r);
  return acc;
}

static FrTensor *run(const GradCase *c, FrGraph *g, FrTensor **in, bool grad) {
  fr_graph_reset(g);
  g->grad_enabled = grad;
  fr_rng_seed(&g->rng, 42);   /* dropout draws the same mask every run */
  return c->build(g, in);
}

static void check_case(gconstpointer data) {
  const GradCase *c = data;
  FrRng rng;
  fr_rng_seed(&rng, 7);
  FrTensor *in[4] = {0};
  for (int i = 0; i < c->n_in; i++) {
    in[i] = fr_param_new("in", c->ndim[i], c->shape[i]);
    if (c->positive) fr_rng_fill_uniform(&rng, in[i]->data, fr_tensor_numel(in[i]), 0.5f, 1.5f);
    else fr_rng_fill_normal(&rng, in[i]->data, fr_tensor_numel(in[i]), 0, 1);
  }
  FrGraph *g = fr_graph_new(0);
  FrTensor *y = run(c, g, in, true);
  FrRng r;
  fr_rng_seed(&r, 99);
  FrTensor *rt = fr_tensor_like(g, y);
  for (int64_t i = 0; i < fr_tensor_numel(y); i++) rt->data[i] = fr_rng_normal(&r);
  fr_graph_backward(g, fr_sum(g, fr_mul(g, y, rt)));
  for (int i = 0; i < c->n_in; i++) {
    int64_t n = fr_tensor_numel(in[i]);
    float *analytic = g_memdup2(in[i]->grad, sizeof(float) * (size_t)n);
    int64_t step = n > 60 ? n / 60 : 1;
    for (int64_t j = 0; j < n; j += step) {
      /* a kink (ReLU, max) inside [x-eps, x+eps] spoils a wide difference, so a mismatch is retried
       * with a narrower one before it counts */
      double numeric = 0;
      bool ok = false;
      for (int t = 0; t < 3 && !ok; t++) {
        float eps = t == 0 ? 1e-2f : (t == 1 ? 1e-3f : 3e-4f);
        float keep = in[i]->data[j];
        in[i]->data[j] = keep + eps;
        double lp = loss_of(run(c, g, in, false), 99);
        in[i]->data[j] = keep - eps;
        double lm = loss_of(run(c, g, in, false), 99);
        in[i]->data[j] = keep;
        numeric = (lp - lm) / (2.0 * eps);
        ok = fabs(numeric - analytic[j]) <= 2e-2 * MAX(1.0, fabs(numeric));
      }
      if (!ok)
        g_error("%s: input %d element %lld: analytic %.6f, finite difference %.6f", c->name, i, (long long)j,
                analytic[j], numeric);
    }
    g_free(analytic);
  }
  for (int i = 0; i < c->n_in; i++) fr_param_free(in[i]);
  fr_graph_free(g);
}

/* ---- the cases ---- */
static FrTensor *b_add(FrGraph *g, FrTensor **x) { return fr_add(g, x[0], x[1]); }
static FrTensor *b_sub(FrGraph *g, FrTensor **x) { return fr_sub(g, x[0], x[1]); }
static FrTensor *b_mul(FrGraph *g, FrTensor **x) { return fr_mul(g, x[0], x[1]); }
static FrTensor *b_scale(FrGraph *g, FrTensor **x) { return fr_add_scalar(g, fr_scale(g, x[0], -1.5f), 2.0f); }
static FrTensor *b_mean(FrGraph *g, FrTensor **x) { return fr_mean(g, fr_mul(g, x[0], x[0])); }
static FrTensor *b_relu(FrGraph *g, FrTensor **x) { return fr_relu(g, x[0]); }
static FrTensor *b_relu6(FrGraph *g, FrTensor **x) { return fr_relu6(g, fr_scale(g, x[0], 4.0f)); }
static FrTensor *b_leaky(FrGraph *g, FrTensor **x) { return fr_leaky_relu(g, x[0], 0.2f); }
static FrTensor *b_tanh(FrGraph *g, FrTensor **x) { return fr_tanh(g, x[0]); }
static FrTensor *b_sigmoid(FrGraph *g, FrTensor **x) { return fr_sigmoid(g, x[0]); }
static FrTensor *b_gelu(FrGraph *g, FrTensor **x) { return fr_gelu(g, x[0]); }
static FrTensor *b_glu(FrGraph *g, FrTensor **x) { return fr_glu(g, x[0], 2); }
static FrTensor *b_softmax(FrGraph *g, FrTensor **x) { return fr_softmax(g, x[0]); }
static FrTensor *b_logsoftmax(FrGraph *g, FrTensor **x) { return fr_log_softmax(g, x[0]); }
static FrTensor *b_dropout(FrGraph *g, FrTensor **x) { g->training = true; return fr_dropout(g, x[0], 0.3f); }
static FrTensor *b_linear(FrGraph *g, FrTensor **x) { return fr_linear(g, x[0], x[1], x[2]); }
static FrTensor *b_mm(FrGraph *g, FrTensor **x) { return fr_matmul(g, x[0], x[1], false, false); }
static FrTensor *b_mm_tt(FrGraph *g, FrTensor **x) { return fr_matmul(g, x[0], x[1], true, true); }
static FrTensor *b_mm_tn(FrGraph *g, FrTensor **x) { return fr_matmul(g, x[0], x[1], true, false); }
static FrTensor *b_attn(FrGraph *g, FrTensor **x) { return fr_attention(g, x[0], x[1], x[2], true); }
static FrTensor *b_embed(FrGraph *g, FrTensor **x) {
  static const int32_t ids[] = { 3, 0, 3, 5, 1 };
  return fr_embedding(g, x[0], ids, 5);
}
static FrTensor *b_reshape_permute(FrGraph *g, FrTensor **x) {
  static const int perm[] = { 2, 0, 1 };
  return fr_permute(g, fr_reshape(g, x[0], 3, FR_SHAPE(2, 3, -1)), perm);
}
static FrTensor *b_concat_slice(FrGraph *g, FrTensor **x) {
  return fr_slice(g, fr_concat(g, x[0], x[1], 1), 1, 1, 4);
}
static FrTensor *b_contig(FrGraph *g, FrTensor **x) {
  /* a transposed view copied to a contiguous tensor; the gradient reaches x through the copy */
  FrTensor *t = fr_permute(g, x[0], (const int[]){ 1, 0 });
  return fr_relu(g, t);
}
static FrTensor *b_conv(FrGraph *g, FrTensor **x) {
  return fr_conv2d(g, x[0], x[1], x[2], (FrConv2dParams){ .stride = 2, .padding = 1, .dilation = 1, .groups = 1 });
}
static FrTensor *b_conv_groups_reflect(FrGraph *g, FrTensor **x) {
  return fr_conv2d(g, x[0], x[1], NULL,
                   (FrConv2dParams){ .stride = 1, .padding = 2, .dilation = 1, .groups = 2, .pad_mode = FR_PAD_REFLECT });
}
static FrTensor *b_conv_dw(FrGraph *g, FrTensor **x) {
  return fr_conv2d(g, x[0], x[1], x[2], (FrConv2dParams){ .stride = 2, .padding = 2, .dilation = 1, .groups = 4 });
}
static FrTensor *b_conv_pointwise(FrGraph *g, FrTensor **x) {
  return fr_conv2d(g, x[0], x[1], x[2], FR_CONV2D_DEFAULT);   /* 1x1: the per-image GEMM path */
}
static FrTensor *b_conv_dw_s1_dil(FrGraph *g, FrTensor **x) {
  return fr_conv2d(g, x[0], x[1], NULL, (FrConv2dParams){ .stride = 1, .padding = 3, .dilation = 2, .groups = 3 });
}
static FrTensor *b_conv_dw_reflect(FrGraph *g, FrTensor **x) {
  return fr_conv2d(g, x[0], x[1], NULL,
                   (FrConv2dParams){ .stride = 2, .padding = 2, .dilation = 1, .groups = 3, .pad_mode = FR_PAD_REFLECT });
}
static FrTensor *b_convt(FrGraph *g, FrTensor **x) { return fr_conv_transpose2d(g, x[0], x[1], x[2], 2, 1, 1); }
static FrTensor *b_bn(FrGraph *g, FrTensor **x) {
  g->training = true;
  float rm[3] = {0}, rv[3] = {1, 1, 1};
  return fr_batch_norm2d(g, x[0], x[1], x[2], rm, rv, 0.1f, 1e-5f, FR_ACT_LEAKY_RELU);
}
static FrTensor *b_in(FrGraph *g, FrTensor **x) { return fr_instance_norm2d(g, x[0], x[1], x[2], 1e-5f, FR_ACT_RELU); }
static FrTensor *b_ln(FrGraph *g, FrTensor **x) { return fr_layer_norm(g, x[0], x[1], x[2], 1e-5f, FR_ACT_NONE); }
static FrTensor *b_maxpool(FrGraph *g, FrTensor **x) { return fr_max_pool2d(g, x[0], 3, 2, 1); }
static FrTensor *b_avgpool(FrGraph *g, FrTensor **x) { return fr_avg_pool2d(g, x[0], 2, 2, 0); }
static FrTensor *b_gap(FrGraph *g, FrTensor **x) { return fr_global_avg_pool(g, x[0]); }
static FrTensor *b_ce(FrGraph *g, FrTensor **x) {
  static const int32_t lab[] = { 1, 0, 4, 2 };
  return fr_cross_entropy(g, x[0], lab, 0.1f);
}
static FrTensor *b_mse(FrGraph *g, FrTensor **x) { return fr_mse_loss(g, x[0], x[1]); }
static FrTensor *b_l1(FrGraph *g, FrTensor **x) { return fr_l1_loss(g, x[0], x[1]); }
static FrTensor *b_hinge(FrGraph *g, FrTensor **x) {
  return fr_add(g, fr_hinge_loss(g, x[0], 1.0f), fr_hinge_loss(g, x[1], -1.0f));
}
static FrTensor *b_lsgan(FrGraph *g, FrTensor **x) { return fr_lsgan_loss(g, x[0], 1.0f); }

#define S(...) { __VA_ARGS__ }
static const GradCase cases[] = {
  { "add", b_add, 2, { 2, 2 }, { S(3, 4), S(3, 4) } },
  { "sub", b_sub, 2, { 2, 2 }, { S(3, 4), S(3, 4) } },
  { "mul", b_mul, 2, { 2, 2 }, { S(3, 4), S(3, 4) } },
  { "scale", b_scale, 1, { 1 }, { S(7) } },
  { "mean", b_mean, 1, { 2 }, { S(3, 5) } },
  { "relu", b_relu, 1, { 2 }, { S(4, 6) } },
  { "relu6", b_relu6, 1, { 2 }, { S(4, 6) } },
  { "leaky_relu", b_leaky, 1, { 2 }, { S(4, 6) } },
  { "tanh", b_tanh, 1, { 2 }, { S(4, 6) } },
  { "sigmoid", b_sigmoid, 1, { 2 }, { S(4, 6) } },
  { "gelu", b_gelu, 1, { 2 }, { S(4, 6) } },
  { "glu", b_glu, 1, { 3 }, { S(2, 3, 8) } },
  { "softmax", b_softmax, 1, { 2 }, { S(3, 7) } },
  { "log_softmax", b_logsoftmax, 1, { 2 }, { S(3, 7) } },
  { "dropout", b_dropout, 1, { 2 }, { S(5, 6) } },
  { "linear", b_linear, 3, { 3, 2, 1 }, { S(2, 3, 5), S(4, 5), S(4) } },
  { "matmul", b_mm, 2, { 3, 3 }, { S(2, 3, 4), S(2, 4, 5) } },
  { "matmul_tt", b_mm_tt, 2, { 3, 3 }, { S(2, 4, 3), S(2, 5, 4) } },
  { "matmul_tn", b_mm_tn, 2, { 3, 3 }, { S(2, 4, 3), S(2, 4, 5) } },
  { "attention_causal", b_attn, 3, { 4, 4, 4 }, { S(1, 2, 4, 3), S(1, 2, 4, 3), S(1, 2, 4, 3) } },
  { "embedding", b_embed, 1, { 2 }, { S(6, 4) } },
  { "reshape_permute", b_reshape_permute, 1, { 2 }, { S(6, 4) } },
  { "concat_slice", b_concat_slice, 2, { 2, 2 }, { S(3, 2), S(3, 4) } },
  { "permute_relu", b_contig, 1, { 2 }, { S(3, 5) } },
  { "conv2d_s2", b_conv, 3, { 4, 4, 1 }, { S(2, 3, 7, 6), S(4, 3, 3, 3), S(4) } },
  { "conv2d_groups_reflect", b_conv_groups_reflect, 2, { 4, 4 }, { S(2, 4, 6, 6), S(4, 2, 5, 5) } },
  { "conv2d_depthwise", b_conv_dw, 3, { 4, 4, 1 }, { S(2, 4, 7, 7), S(4, 1, 5, 5), S(4) } },
  { "conv2d_pointwise", b_conv_pointwise, 3, { 4, 4, 1 }, { S(3, 5, 4, 3), S(6, 5, 1, 1), S(6) } },
  { "conv2d_depthwise_s1_dilated", b_conv_dw_s1_dil, 2, { 4, 4 }, { S(2, 3, 6, 5), S(3, 1, 3, 3) } },
  { "conv2d_depthwise_reflect", b_conv_dw_reflect, 2, { 4, 4 }, { S(2, 3, 7, 6), S(3, 1, 5, 5) } },
  { "conv_transpose2d", b_convt, 3, { 4, 4, 1 }, { S(2, 3, 4, 5), S(3, 2, 3, 3), S(2) } },
  { "batch_norm_leaky", b_bn, 3, { 4, 1, 1 }, { S(3, 3, 4, 4), S(3), S(3) } },
  { "instance_norm_relu", b_in, 3, { 4, 1, 1 }, { S(2, 3, 4, 5), S(3), S(3) } },
  { "layer_norm", b_ln, 3, { 3, 1, 1 }, { S(2, 3, 8), S(8), S(8) } },
  { "max_pool", b_maxpool, 1, { 4 }, { S(2, 2, 7, 6) } },
  { "avg_pool", b_avgpool, 1, { 4 }, { S(2, 2, 6, 6) } },
  { "global_avg_pool", b_gap, 1, { 4 }, { S(2, 3, 4, 5) } },
  { "cross_entropy_smoothing", b_ce, 1, { 2 }, { S(4, 6) } },
  { "mse", b_mse, 2, { 2, 2 }, { S(3, 4), S(3, 4) } },
  { "l1", b_l1, 2, { 2, 2 }, { S(3, 4), S(3, 4) } },
  { "hinge", b_hinge, 2, { 2, 2 }, { S(3, 4), S(3, 4) } },
  { "lsgan", b_lsgan, 1, { 2 }, { S(3, 4) } },
};

/* Straight-through quantisers: the gradient is the identity inside the range, zero where clipped. */
static void test_fake_quant_ste(void) {
  FrGraph *g = fr_graph_new(0);
  FrTensor *x = fr_param_new("x", 1, FR_SHAPE(6));
  const float v[] = { -0.5f, 0.1f, 0.4f, 0.9f, 1.2f, 0.0f };
  memcpy(x->data, v, sizeof v);
  FrTensor *y = fr_fake_quant_act(g, x, 4, 1.0f);
  fr_graph_backward(g, fr_sum(g, y));
  const float want[] = { 0, 1, 1, 1, 0, 1 };
  for (int i = 0; i < 6; i++) g_assert_cmpfloat(x->grad[i], ==, want[i]);
  fr_param_zero_grad(x);
  fr_graph_reset(g);
  fr_graph_backward(g, fr_sum(g, fr_fake_quant_act_signed(g, x, 4, 0.6f)));
  const float want_signed[] = { 1, 1, 1, 0, 0, 1 };
  for (int i = 0; i < 6; i++) g_assert_cmpfloat(x->grad[i], ==, want_signed[i]);
  fr_param_zero_grad(x);
  fr_graph_reset(g);
  FrTensor *w = fr_param_new("w", 2, FR_SHAPE(2, 3));
  for (int i = 0; i < 6; i++) w->data[i] = v[i];
  fr_graph_backward(g, fr_sum(g, fr_fake_quant_weight(g, w, 4)));
  for (int i = 0; i < 6; i++) g_assert_cmpfloat(w->grad[i], ==, 1.0f);
  fr_param_free(x);
  fr_param_free(w);
  fr_graph_free(g);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *p = g_strdup_printf("/ops/grad/%s", cases[i].name);
    g_test_add_data_func(p, &cases[i], check_case);
    g_free(p);
  }
  g_test_add_func("/ops/grad/fake_quant_ste", test_fake_quant_ste);
  return g_test_run();
}
