/* Lightweight and dynamic convolutions (engine/lsra/fr-lsra-conv.c): forward against a float64 loop,
 * gradients of every input against finite differences, PyTorch vectors in fairseq's semantics
 * (tests/reference/make_lsra_vectors.py), the incremental step against the full op, causality through
 * gradients, weight dropout, and thread-count independence. */
#include "fr-lsra-conv.h"
#include "fr-ops.h"
#include "fr-pool.h"
#include "fr-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static FrTensor *param_randn(FrRng *r, int ndim, const int64_t *shape, float scale) {
  FrTensor *p = fr_param_new("p", ndim, shape);
  fr_rng_fill_normal(r, p->data, fr_tensor_numel(p), 0.0f, scale);
  return p;
}

/* y[b,t,c] = sum_k kern[(b,t)][h,k] x[b, t+k-P, c] in double; kstride 0 shares one [H,K] kernel */
static void naive(const float *x, const double *kern, int64_t kstride, int64_t B, int64_t T, int64_t C, int64_t H,
                  int64_t K, int64_t P, double *y) {
  int64_t R = C / H;
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t c = 0; c < C; c++) {
        const double *kr = kern + (b * T + t) * kstride;
        double acc = 0;
        for (int64_t k = 0; k < K; k++) {
          int64_t s = t + k - P;
          if (s >= 0 && s < T) acc += kr[(c / R) * K + k] * (double)x[(b * T + s) * C + c];
        }
        y[(b * T + t) * C + c] = acc;
      }
}

static void assert_close_d(const char *what, const float *got, const double *want, int64_t n, double tol) {
  for (int64_t i = 0; i < n; i++)
    if (fabs(got[i] - want[i]) > tol * (1.0 + fabs(want[i])))
      g_error("%s: element %lld is %.8g, want %.8g", what, (long long)i, got[i], want[i]);
}

static void assert_close_f(const char *what, const float *got, const float *want, int64_t n, double tol) {
  for (int64_t i = 0; i < n; i++)
    if (fabs((double)got[i] - want[i]) > tol * (1.0 + fabs((double)want[i])))
      g_error("%s: element %lld is %.8g, want %.8g", what, (long long)i, got[i], want[i]);
}

typedef struct { int64_t B, T, C, H, K, P; } Shape;

static const Shape shapes[] = {
  { 2, 9, 12, 3, 5, 4 },      /* causal */
  { 2, 8, 8, 2, 3, 1 },       /* centred */
  { 1, 4, 6, 2, 7, 6 },       /* causal, K > T */
  { 2, 5, 6, 3, 7, 3 },       /* centred, K > T */
  { 2, 6, 4, 4, 3, 0 },       /* padding_l 0, one channel per head */
  { 1, 1, 8, 2, 3, 2 },       /* one step */
  { 2, 5, 6, 6, 1, 0 },       /* K = 1 */
  { 3, 30, 100, 4, 31, 30 },  /* the paper's decoder layer 4+ (runs over the pool) */
  { 2, 30, 100, 4, 15, 7 },   /* encoder layer 3 */
};

/* ------------------------------------------------------------------ forward vs float64 */

static void test_forward(void) {
  FrRng rng;
  fr_rng_seed(&rng, 1);
  for (guint si = 0; si < G_N_ELEMENTS(shapes); si++) {
    const Shape *s = &shapes[si];
    const int64_t n = s->B * s->T * s->C, HK = s->H * s->K;
    FrGraph *g = fr_graph_new(0);
    FrTensor *x = param_randn(&rng, 3, FR_SHAPE(s->B, s->T, s->C), 1.0f);
    FrTensor *w = param_randn(&rng, 2, FR_SHAPE(s->H, s->K), 1.0f);
    FrTensor *kern = param_randn(&rng, 4, FR_SHAPE(s->B, s->T, s->H, s->K), 0.5f);
    double *want = g_new(double, n), *wd = g_new(double, HK), *kd = g_new(double, s->B * s->T * HK);
    for (int softmax = 0; softmax < 2; softmax++) {
      for (int64_t h = 0; h < s->H; h++) {
        double mx = -INFINITY, sum = 0;
        for (int64_t k = 0; k < s->K; k++) mx = fmax(mx, w->data[h * s->K + k]);
        for (int64_t k = 0; k < s->K; k++) sum += exp(w->data[h * s->K + k] - mx);
        for (int64_t k = 0; k < s->K; k++)
          wd[h * s->K + k] = softmax ? exp(w->data[h * s->K + k] - mx) / sum : w->data[h * s->K + k];
      }
      naive(x->data, wd, 0, s->B, s->T, s->C, s->H, s->K, s->P, want);
      FrTensor *y = fr_lightweight_conv1d(g, x, w, (int)s->P, softmax);
      g_assert_true(fr_tensor_same_shape(x, y));
      assert_close_d("lightweight", y->data, want, n, 1e-5);
    }
    for (int64_t i = 0; i < s->B * s->T * HK; i++) kd[i] = kern->data[i];
    naive(x->data, kd, HK, s->B, s->T, s->C, s->H, s->K, s->P, want);
    FrTensor *y = fr_dynamic_conv1d(g, x, kern, (int)s->P);
    assert_close_d("dynamic", y->data, want, n, 1e-5);
    g_free(want);
    g_free(wd);
    g_free(kd);
    fr_param_free(x);
    fr_param_free(w);
    fr_param_free(kern);
    fr_graph_free(g);
  }
}

/* ------------------------------------------------------------------ finite differences */

typedef struct GradCase GradCase;
typedef FrTensor *(*BuildFn)(FrGraph *g, FrTensor **in, const GradCase *c);

struct GradCase {
  const char *name;
  BuildFn build;
  Shape s;
  bool softmax;
  float dropout;
  int n_in;
  int ndim[6];
  int64_t shape[6][4];
};

static FrTensor *predict_kernels(FrGraph *g, FrTensor *q, FrTensor *wk, const Shape *s) {
  FrTensor *logits = fr_linear(g, q, wk, NULL);
  return fr_softmax(g, fr_reshape(g, logits, 4, FR_SHAPE(s->B, s->T, s->H, s->K)));
}

static FrTensor *b_light(FrGraph *g, FrTensor **in, const GradCase *c) {
  return fr_lightweight_conv1d(g, in[0], in[1], (int)c->s.P, c->softmax);
}
static FrTensor *b_light_dropout(FrGraph *g, FrTensor **in, const GradCase *c) {
  g->training = true;
  return fr_lightweight_conv1d_dropout(g, in[0], in[1], (int)c->s.P, c->softmax, c->dropout);
}
static FrTensor *b_dyn(FrGraph *g, FrTensor **in, const GradCase *c) {
  return fr_dynamic_conv1d(g, in[0], in[1], (int)c->s.P);
}
/* fairseq's DynamicConv1dTBC with query = x: kernels = softmax(x wk^T) per position */
static FrTensor *b_dyn_module(FrGraph *g, FrTensor **in, const GradCase *c) {
  return fr_dynamic_conv1d(g, in[0], predict_kernels(g, in[0], in[1], &c->s), (int)c->s.P);
}
/* the LSRA conv branch: Linear(c, 2c) -> GLU -> dynamic conv (kernels from the GLU output) -> Linear */
static FrTensor *b_branch(FrGraph *g, FrTensor **in, const GradCase *c) {
  FrTensor *u = fr_glu(g, fr_linear(g, in[0], in[1], in[2]), 2);
  FrTensor *v = fr_dynamic_conv1d(g, u, predict_kernels(g, u, in[3], &c->s), (int)c->s.P);
  return fr_linear(g, v, in[4], in[5]);
}
/* kernels with fairseq's weight dropout on dynamic kernels: fr_dropout after the softmax */
static FrTensor *b_dyn_dropout(FrGraph *g, FrTensor **in, const GradCase *c) {
  g->training = true;
  FrTensor *k = fr_dropout(g, predict_kernels(g, in[0], in[1], &c->s), c->dropout);
  return fr_dynamic_conv1d(g, in[0], k, (int)c->s.P);
}

static const GradCase grad_cases[] = {
  { "light-causal-softmax", b_light, { 2, 7, 6, 2, 4, 3 }, true, 0, 2, { 3, 2 }, { { 2, 7, 6 }, { 2, 4 } } },
  { "light-centred", b_light, { 2, 6, 6, 3, 3, 1 }, false, 0, 2, { 3, 2 }, { { 2, 6, 6 }, { 3, 3 } } },
  { "light-k-gt-t", b_light, { 1, 3, 4, 2, 5, 2 }, true, 0, 2, { 3, 2 }, { { 1, 3, 4 }, { 2, 5 } } },
  { "light-dropout", b_light_dropout, { 2, 6, 4, 2, 3, 2 }, true, 0.3f, 2, { 3, 2 }, { { 2, 6, 4 }, { 2, 3 } } },
  { "dyn-causal", b_dyn, { 2, 6, 6, 3, 4, 3 }, false, 0, 2, { 3, 4 }, { { 2, 6, 6 }, { 2, 6, 3, 4 } } },
  { "dyn-centred", b_dyn, { 2, 5, 4, 2, 3, 1 }, false, 0, 2, { 3, 4 }, { { 2, 5, 4 }, { 2, 5, 2, 3 } } },
  { "dyn-module", b_dyn_module, { 2, 6, 6, 2, 3, 2 }, false, 0, 2, { 3, 2 }, { { 2, 6, 6 }, { 6, 6 } } },
  { "dyn-dropout", b_dyn_dropout, { 2, 5, 4, 2, 3, 2 }, false, 0.3f, 2, { 3, 2 }, { { 2, 5, 4 }, { 6, 4 } } },
  { "lsra-branch", b_branch, { 2, 5, 4, 2, 3, 2 }, false, 0, 6, { 3, 2, 1, 2, 2, 1 },
    { { 2, 5, 4 }, { 8, 4 }, { 8 }, { 6, 4 }, { 4, 4 }, { 4 } } },
};

static FrTensor *run_case(const GradCase *c, FrGraph *g, FrTensor **in, bool grad) {
  fr_graph_reset(g);
  g->grad_enabled = grad;
  g->training = false;
  fr_rng_seed(&g->rng, 42);   /* dropout draws the same masks every run */
  return c->build(g, in, c);
}

static double weighted_sum(const FrTensor *y, const float *r) {
  double acc = 0;
  for (int64_t i = 0; i < fr_tensor_numel(y); i++) acc += (double)y->data[i] * r[i];
  return acc;
}

static void test_grad(gconstpointer data) {
  const GradCase *c = data;
  FrRng rng;
  fr_rng_seed(&rng, 7);
  FrTensor *in[6] = { 0 };
  for (int i = 0; i < c->n_in; i++) in[i] = param_randn(&rng, c->ndim[i], c->shape[i], i == 0 ? 1.0f : 0.7f);
  FrGraph *g = fr_graph_new(0);
  FrTensor *y = run_case(c, g, in, true);
  float *r = g_new(float, fr_tensor_numel(y));
  fr_rng_fill_normal(&rng, r, fr_tensor_numel(y), 0.0f, 1.0f);
  FrTensor *rt = fr_tensor_from_data(g, y->ndim, y->shape, r);
  fr_graph_backward(g, fr_sum(g, fr_mul(g, y, rt)));
  for (int i = 0; i < c->n_in; i++) {
    int64_t n = fr_tensor_numel(in[i]);
    g_assert_nonnull(in[i]->grad);
    float *analytic = g_memdup2(in[i]->grad, sizeof(float) * (size_t)n);
    for (int64_t j = 0; j < n; j++) {
      double numeric = 0;
      bool ok = false;
      for (int t = 0; t < 3 && !ok; t++) {
        float eps = t == 0 ? 1e-2f : (t == 1 ? 3e-3f : 1e-3f);
        float keep = in[i]->data[j];
        in[i]->data[j] = keep + eps;
        double lp = weighted_sum(run_case(c, g, in, false), r);
        in[i]->data[j] = keep - eps;
        double lm = weighted_sum(run_case(c, g, in, false), r);
        in[i]->data[j] = keep;
        numeric = (lp - lm) / (2.0 * eps);
        ok = fabs(numeric - analytic[j]) <= 1e-2 * MAX(1.0, fabs(numeric));
      }
      if (!ok)
        g_error("%s: input %d element %lld: analytic %.6f, finite difference %.6f", c->name, i, (long long)j,
                analytic[j], numeric);
    }
    g_free(analytic);
  }
  g_free(r);
  for (int i = 0; i < c->n_in; i++) fr_param_free(in[i]);
  fr_graph_free(g);
}

/* ------------------------------------------------------------------ PyTorch vectors */

static FrSafetensors *vectors;

static FrTensor *load(const char *cas, const char *name) {
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

static void test_torch(gconstpointer data) {
  const char *cas = data;
  JsonNode *node = json_from_string(fr_safetensors_get_metadata(vectors, cas), NULL);
  JsonObject *m = json_node_get_object(node);
  const char *op = json_object_get_string_member(m, "op");
  const int P = (int)json_object_get_int_member(m, "padding_l");
  JsonArray *names = json_object_get_array_member(m, "inputs");
  const guint n_in = json_array_get_length(names);
  g_assert_cmpuint(n_in, <=, 6);
  FrTensor *in[6] = { 0 };
  for (guint i = 0; i < n_in; i++) in[i] = load(cas, json_array_get_string_element(names, i));
  FrTensor *gout = load(cas, "gout"), *want = load(cas, "y");
  GradCase c = { .s = { .B = in[0]->shape[0], .T = in[0]->shape[1], .C = in[0]->shape[2],
                        .H = json_object_get_int_member(m, "heads"), .K = json_object_get_int_member(m, "kernel"),
                        .P = P } };
  if (!strcmp(op, "lightweight")) {
    c.build = b_light;
    c.softmax = json_object_get_boolean_member(m, "softmax");
  } else if (!strcmp(op, "dynamic")) {
    c.build = b_dyn;
  } else if (!strcmp(op, "dynamic_module")) {
    c.build = b_dyn_module;
  } else if (!strcmp(op, "lsra_branch")) {
    c.build = b_branch;
  } else {
    g_error("unknown op %s", op);
  }
  FrGraph *g = fr_graph_new(0);
  FrTensor *y = run_case(&c, g, in, true);
  g_assert_true(fr_tensor_same_shape(y, want));
  assert_close_f("y", y->data, want->data, fr_tensor_numel(y), 2e-5);
  FrTensor *gt = fr_tensor_wrap(g, gout->ndim, gout->shape, gout->data);
  fr_graph_backward(g, fr_sum(g, fr_mul(g, y, gt)));
  for (guint i = 0; i < n_in; i++) {
    char dname[32];
    g_snprintf(dname, sizeof dname, "d%s", json_array_get_string_element(names, i));
    FrTensor *d = load(cas, dname);
    g_assert_nonnull(d);
    g_assert_nonnull(in[i]->grad);
    assert_close_f(dname, in[i]->grad, d->data, fr_tensor_numel(d), 2e-5);
    fr_param_free(d);
  }
  for (guint i = 0; i < n_in; i++) fr_param_free(in[i]);
  fr_param_free(gout);
  fr_param_free(want);
  fr_graph_free(g);
  json_node_unref(node);
}

/* ------------------------------------------------------------------ incremental decoding */

/* rows [B, T, C] -> row t as [B, C] */
static void take_step(const float *seq, int64_t B, int64_t T, int64_t C, int64_t t, float *out) {
  for (int64_t b = 0; b < B; b++) memcpy(out + b * C, seq + (b * T + t) * C, sizeof(float) * (size_t)C);
}

static void test_incremental(void) {
  FrRng rng;
  fr_rng_seed(&rng, 3);
  const Shape cases[] = { { 3, 12, 8, 2, 5, 4 }, { 2, 4, 6, 3, 7, 6 }, { 2, 6, 4, 1, 1, 0 }, { 2, 35, 100, 4, 31, 30 } };
  for (guint ci = 0; ci < G_N_ELEMENTS(cases); ci++) {
    const Shape *s = &cases[ci];
    FrGraph *g = fr_graph_new(0);
    FrTensor *x = param_randn(&rng, 3, FR_SHAPE(s->B, s->T, s->C), 1.0f);
    FrTensor *w = param_randn(&rng, 2, FR_SHAPE(s->H, s->K), 1.0f);
    FrTensor *kern = param_randn(&rng, 4, FR_SHAPE(s->B, s->T, s->H, s->K), 0.5f);
    FrTensor *yl = fr_lightweight_conv1d(g, x, w, (int)s->P, true);
    FrTensor *yd = fr_dynamic_conv1d(g, x, kern, (int)s->P);
    FrLsraConvState *sl = fr_lsra_conv_state_new(s->B, s->C, (int)s->K);
    FrLsraConvState *sd = fr_lsra_conv_state_new(s->B, s->C, (int)s->K);
    float *xt = g_new(float, s->B * s->C), *want = g_new(float, s->B * s->C);
    float *kt = g_new(float, s->B * s->H * s->K);
    for (int64_t t = 0; t < s->T; t++) {
      take_step(x->data, s->B, s->T, s->C, t, xt);
      for (int64_t b = 0; b < s->B; b++)
        memcpy(kt + b * s->H * s->K, kern->data + (b * s->T + t) * s->H * s->K, sizeof(float) * (size_t)(s->H * s->K));
      FrTensor *xs = fr_tensor_from_data(g, 3, FR_SHAPE(s->B, 1, s->C), xt);
      FrTensor *ks = fr_tensor_from_data(g, 4, FR_SHAPE(s->B, 1, s->H, s->K), kt);
      FrTensor *a = fr_lightweight_conv1d_step(g, sl, xs, w, true);
      FrTensor *d = fr_dynamic_conv1d_step(g, sd, xs, ks);
      g_assert_true(fr_tensor_same_shape(a, xs));
      take_step(yl->data, s->B, s->T, s->C, t, want);
      assert_close_f("lightweight step", a->data, want, s->B * s->C, 1e-6);
      take_step(yd->data, s->B, s->T, s->C, t, want);
      assert_close_f("dynamic step", d->data, want, s->B * s->C, 1e-6);
    }
    g_assert_cmpint(sl->steps, ==, s->T);
    /* after a reset the first step sees zeros again */
    fr_lsra_conv_state_reset(sl);
    take_step(x->data, s->B, s->T, s->C, 0, xt);
    FrTensor *a = fr_lightweight_conv1d_step(g, sl, fr_tensor_from_data(g, 2, FR_SHAPE(s->B, s->C), xt), w, true);
    take_step(yl->data, s->B, s->T, s->C, 0, want);
    assert_close_f("step after reset", a->data, want, s->B * s->C, 1e-6);
    g_free(xt);
    g_free(want);
    g_free(kt);
    fr_lsra_conv_state_free(sl);
    fr_lsra_conv_state_free(sd);
    fr_param_free(x);
    fr_param_free(w);
    fr_param_free(kern);
    fr_graph_free(g);
  }
}

/* Beam search: after reordering, sequence i continues old sequence order[i]. Checked against the full
 * op on the sequences that history implies. */
static void test_reorder(void) {
  const int64_t B = 3, C = 6, H = 2, K = 4, T1 = 5, T2 = 4, T = T1 + T2;
  FrRng rng;
  fr_rng_seed(&rng, 11);
  FrGraph *g = fr_graph_new(0);
  FrTensor *w = param_randn(&rng, 2, FR_SHAPE(H, K), 1.0f);
  float *first = g_new(float, B * T1 * C), *second = g_new(float, B * T2 * C);
  fr_rng_fill_normal(&rng, first, B * T1 * C, 0, 1);
  fr_rng_fill_normal(&rng, second, B * T2 * C, 0, 1);
  const int32_t order[3] = { 2, 0, 2 };
  FrLsraConvState *s = fr_lsra_conv_state_new(B, C, (int)K);
  float *xt = g_new(float, B * C);
  for (int64_t t = 0; t < T1; t++) {
    take_step(first, B, T1, C, t, xt);
    fr_lightweight_conv1d_step(g, s, fr_tensor_from_data(g, 2, FR_SHAPE(B, C), xt), w, false);
  }
  fr_lsra_conv_state_reorder(s, order);
  /* the full sequences: old order[i]'s first part, then the new inputs of i */
  FrTensor *full = fr_tensor_new(g, 3, FR_SHAPE(B, T, C));
  for (int64_t b = 0; b < B; b++) {
    memcpy(full->data + b * T * C, first + order[b] * T1 * C, sizeof(float) * (size_t)(T1 * C));
    memcpy(full->data + (b * T + T1) * C, second + b * T2 * C, sizeof(float) * (size_t)(T2 * C));
  }
  FrTensor *y = fr_lightweight_conv1d(g, full, w, (int)K - 1, false);
  float *want = g_new(float, B * C);
  for (int64_t t = 0; t < T2; t++) {
    take_step(second, B, T2, C, t, xt);
    FrTensor *a = fr_lightweight_conv1d_step(g, s, fr_tensor_from_data(g, 2, FR_SHAPE(B, C), xt), w, false);
    take_step(y->data, B, T, C, T1 + t, want);
    assert_close_f("reordered step", a->data, want, B * C, 1e-6);
  }
  g_free(first);
  g_free(second);
  g_free(xt);
  g_free(want);
  fr_lsra_conv_state_free(s);
  fr_param_free(w);
  fr_graph_free(g);
}

/* ------------------------------------------------------------------ causality through gradients */

static void check_dependence(const GradCase *c, bool causal) {
  const Shape *s = &c->s;
  FrRng rng;
  fr_rng_seed(&rng, 5);
  FrTensor *in[2];
  for (int i = 0; i < 2; i++) in[i] = param_randn(&rng, c->ndim[i], c->shape[i], 1.0f);
  FrGraph *g = fr_graph_new(0);
  for (int64_t t = 0; t < s->T; t++) {
    for (int i = 0; i < 2; i++) fr_param_zero_grad(in[i]);
    FrTensor *y = run_case(c, g, in, true);
    /* loss = sum of y at time t only, with random weights */
    FrTensor *r = fr_tensor_zeros(g, 3, y->shape);
    for (int64_t b = 0; b < s->B; b++)
      for (int64_t ch = 0; ch < s->C; ch++) r->data[(b * s->T + t) * s->C + ch] = 1.0f + 0.1f * (float)ch;
    fr_graph_backward(g, fr_sum(g, fr_mul(g, y, r)));
    const float *gx = in[0]->grad;
    for (int64_t b = 0; b < s->B; b++)
      for (int64_t u = 0; u < s->T; u++) {
        double mag = 0;
        for (int64_t ch = 0; ch < s->C; ch++) mag += fabs(gx[(b * s->T + u) * s->C + ch]);
        bool in_window = u <= t + (s->K - 1 - s->P) && u >= t - s->P;
        if (causal && u > t && mag != 0.0)
          g_error("%s: output %lld depends on the later input %lld", c->name, (long long)t, (long long)u);
        if (!in_window && mag != 0.0)
          g_error("%s: output %lld depends on input %lld outside its window", c->name, (long long)t, (long long)u);
        if (in_window && mag == 0.0)
          g_error("%s: output %lld does not depend on input %lld in its window", c->name, (long long)t, (long long)u);
      }
  }
  for (int i = 0; i < 2; i++) fr_param_free(in[i]);
  fr_graph_free(g);
}

static void test_causal(void) {
  /* causal: output t sees inputs t-K+1 .. t and nothing later, for the shared weight, given kernels,
   * and kernels predicted from the input itself (that path is causal too: one position's kernel comes
   * from that position only) */
  const GradCase causal[] = {
    { "light", b_light, { 2, 9, 6, 2, 4, 3 }, true, 0, 2, { 3, 2 }, { { 2, 9, 6 }, { 2, 4 } } },
    { "dyn", b_dyn, { 2, 9, 6, 3, 3, 2 }, false, 0, 2, { 3, 4 }, { { 2, 9, 6 }, { 2, 9, 3, 3 } } },
    { "dyn-module", b_dyn_module, { 2, 9, 6, 2, 5, 4 }, false, 0, 2, { 3, 2 }, { { 2, 9, 6 }, { 10, 6 } } },
  };
  for (guint i = 0; i < G_N_ELEMENTS(causal); i++) check_dependence(&causal[i], true);
  /* and the centred op does look ahead, by exactly K-1-P */
  const GradCase centred = { "light-centred", b_light, { 2, 9, 6, 2, 5, 2 }, true, 0, 2, { 3, 2 }, { { 2, 9, 6 }, { 2, 5 } } };
  check_dependence(&centred, false);
}

/* ------------------------------------------------------------------ weight dropout */

static void test_dropout(void) {
  FrRng rng;
  fr_rng_seed(&rng, 9);
  const int64_t B = 400, T = 1, C = 8, H = 2, K = 3;
  FrTensor *x = param_randn(&rng, 3, FR_SHAPE(B, T, C), 1.0f);
  FrTensor *w = param_randn(&rng, 2, FR_SHAPE(H, K), 1.0f);
  FrGraph *g = fr_graph_new(0);
  g->training = true;
  FrTensor *plain = fr_lightweight_conv1d(g, x, w, 1, true);
  /* eval mode, or p = 0: no dropout */
  g->training = false;
  FrTensor *ev = fr_lightweight_conv1d_dropout(g, x, w, 1, true, 0.5f);
  g_assert_cmpmem(ev->data, sizeof(float) * B * C, plain->data, sizeof(float) * B * C);
  g->training = true;
  FrTensor *p0 = fr_lightweight_conv1d_dropout(g, x, w, 1, true, 0.0f);
  g_assert_cmpmem(p0->data, sizeof(float) * B * C, plain->data, sizeof(float) * B * C);
  /* T = 1, P = 1: y = kept tap 1 of the kernel x x, the same mask for every channel of a head */
  FrTensor *y = fr_lightweight_conv1d_dropout(g, x, w, 1, true, 0.5f);
  int64_t dropped = 0;
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < H; h++) {
      bool kept = y->data[b * C + h * 4] != 0.0f;
      dropped += !kept;
      for (int64_t j = 0; j < 4; j++) {
        int64_t c = b * C + h * 4 + j;
        float want = kept ? 2.0f * plain->data[c] : 0.0f;
        g_assert_cmpfloat(fabsf(y->data[c] - want), <=, 1e-6f * (1.0f + fabsf(want)));
      }
    }
  /* 800 coin flips: 400 +- 5 sigma */
  g_assert_cmpint(llabs(dropped - 400), <, 72);
  fr_param_free(x);
  fr_param_free(w);
  fr_graph_free(g);
}

/* ------------------------------------------------------------------ threads */

static void test_threads(void) {
  FrRng rng;
  fr_rng_seed(&rng, 13);
  const Shape s = { 4, 30, 100, 4, 31, 30 };
  FrTensor *x = param_randn(&rng, 3, FR_SHAPE(s.B, s.T, s.C), 1.0f);
  FrTensor *w = param_randn(&rng, 2, FR_SHAPE(s.H, s.K), 1.0f);
  FrTensor *k = param_randn(&rng, 4, FR_SHAPE(s.B, s.T, s.H, s.K), 0.5f);
  FrGraph *g = fr_graph_new(0);
  const int64_t n = s.B * s.T * s.C;
  float *ref[5] = { 0 };
  int old = fr_pool_get_threads();
  for (int pass = 0; pass < 2; pass++) {
    fr_pool_set_threads(pass == 0 ? 1 : 0);
    fr_graph_reset(g);
    fr_param_zero_grad(x);
    fr_param_zero_grad(w);
    fr_param_zero_grad(k);
    FrTensor *a = fr_lightweight_conv1d(g, x, w, (int)s.P, true);
    FrTensor *b = fr_dynamic_conv1d(g, x, k, (int)s.P);
    FrTensor *r = fr_tensor_new(g, 3, a->shape);
    for (int64_t i = 0; i < n; i++) r->data[i] = (float)((i * 7919) % 13) - 6.0f;
    fr_graph_backward(g, fr_sum(g, fr_add(g, fr_mul(g, a, r), fr_mul(g, b, r))));
    const float *out[5] = { a->data, b->data, x->grad, w->grad, k->grad };
    const int64_t len[5] = { n, n, n, s.H * s.K, s.B * s.T * s.H * s.K };
    for (int i = 0; i < 5; i++) {
      if (pass == 0) ref[i] = g_memdup2(out[i], sizeof(float) * (size_t)len[i]);
      else g_assert_cmpmem(out[i], sizeof(float) * (size_t)len[i], ref[i], sizeof(float) * (size_t)len[i]);
    }
  }
  fr_pool_set_threads(old);
  for (int i = 0; i < 5; i++) g_free(ref[i]);
  fr_param_free(x);
  fr_param_free(w);
  fr_param_free(k);
  fr_graph_free(g);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/lsra/conv/forward", test_forward);
  for (guint i = 0; i < G_N_ELEMENTS(grad_cases); i++) {
    char *p = g_strdup_printf("/lsra/conv/grad/%s", grad_cases[i].name);
    g_test_add_data_func(p, &grad_cases[i], test_grad);
    g_free(p);
  }
  g_test_add_func("/lsra/conv/incremental", test_incremental);
  g_test_add_func("/lsra/conv/reorder", test_reorder);
  g_test_add_func("/lsra/conv/causal", test_causal);
  g_test_add_func("/lsra/conv/dropout", test_dropout);
  g_test_add_func("/lsra/conv/threads", test_threads);

  const char *srcdir = g_getenv("FR_TEST_SRCDIR");
  g_autofree char *path = g_build_filename(srcdir ? srcdir : ".", "reference", "lsra_vectors.safetensors", NULL);
  GError *e = NULL;
  vectors = fr_safetensors_load(path, &e);
  g_assert_no_error(e);
  JsonNode *cases = json_from_string(fr_safetensors_get_metadata(vectors, "cases"), NULL);
  JsonArray *a = json_node_get_array(cases);
  for (guint i = 0; i < json_array_get_length(a); i++) {
    const char *name = json_array_get_string_element(a, i);
    char *tp = g_strdup_printf("/lsra/conv/torch/%s", name);
    g_test_add_data_func(tp, name, test_torch);
    g_free(tp);
  }
  int rc = g_test_run();
  json_node_unref(cases);
  fr_safetensors_free(vectors);
  return rc;
}
