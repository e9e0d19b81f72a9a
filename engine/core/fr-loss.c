/* Losses: scalar outputs, mean over the batch. */
#include "fr-ops.h"

#include <math.h>
#include <string.h>

typedef struct { float *probs; const int32_t *labels; float smoothing; } CeCtx;

static void ce_bwd(FrGraph *g, FrNode *n) {
  CeCtx *c = n->ctx;
  FrTensor *logits = n->in[0];
  int64_t N = logits->shape[0], C = logits->shape[1];
  float *gx = fr_grad(g, logits);
  float scale = n->out->grad[0] / (float)N;
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < C; j++) {
      float target = c->smoothing / (float)C + (j == c->labels[i] ? 1.0f - c->smoothing : 0.0f);
      gx[i * C + j] += scale * (c->probs[i * C + j] - target);
    }
}

FrTensor *fr_cross_entropy(FrGraph *g, FrTensor *logits, const int32_t *labels, float label_smoothing) {
  g_assert(logits->ndim == 2);
  gint64 t0 = fr_graph_op_begin(g);
  int64_t N = logits->shape[0], C = logits->shape[1];
  float *probs = fr_graph_alloc(g, sizeof(float) * (size_t)(N * C));
  double total = 0;
  for (int64_t i = 0; i < N; i++) {
    g_assert(labels[i] >= 0 && labels[i] < C);
    const float *x = logits->data + i * C;
    float mx = -INFINITY;
    for (int64_t j = 0; j < C; j++) mx = x[j] > mx ? x[j] : mx;
    double s = 0;
    for (int64_t j = 0; j < C; j++) s += exp((double)x[j] - mx);
    double lse = mx + log(s), mean_logp = 0;
    for (int64_t j = 0; j < C; j++) {
      probs[i * C + j] = (float)exp((double)x[j] - lse);
      mean_logp += (double)x[j] - lse;
    }
    mean_logp /= (double)C;
    double nll = lse - x[labels[i]];
    total += (1.0 - label_smoothing) * nll - label_smoothing * mean_logp;
  }
  FrTensor *y = fr_tensor_new(g, 0, NULL);
  y->data[0] = (float)(total / (double)(N ? N : 1));
  fr_graph_op_end(g, t0, "cross_entropy", y, 0, 4.0 * (double)(N * C), 4.0);
  FrNode *n = fr_graph_record(g, "cross_entropy", ce_bwd, y, 1, logits);
  if (n) {
    CeCtx *c = fr_graph_alloc(g, sizeof *c);
    int32_t *lab = fr_graph_alloc(g, sizeof(int32_t) * (size_t)(N ? N : 1));
    memcpy(lab, labels, sizeof(int32_t) * (size_t)N);
    *c = (CeCtx){ probs, lab, label_smoothing };
    n->ctx = c;
  }
  return y;
}

typedef enum { L_MSE, L_L1 } PairKind;

static void pair_bwd(FrGraph *g, FrNode *n) {
  PairKind k = (PairKind)GPOINTER_TO_INT(n->ctx);
  FrTensor *a = n->in[0], *b = n->in[1];
  int64_t m = fr_tensor_numel(a);
  float s = n->out->grad[0] / (float)m;
  float *ga = fr_grad(g, a), *gb = fr_grad(g, b);
  for (int64_t i = 0; i < m; i++) {
    float d = a->data[i] - b->data[i];
    float gd = k == L_MSE ? 2.0f * d * s : (d > 0 ? s : (d < 0 ? -s : 0.0f));
    if (ga) ga[i] += gd;
    if (gb) gb[i] -= gd;
  }
}

static FrTensor *pair_loss(FrGraph *g, FrTensor *a, FrTensor *b, PairKind k) {
  g_assert(fr_tensor_same_shape(a, b));
  int64_t m = fr_tensor_numel(a);
  double acc = 0;
  for (int64_t i = 0; i < m; i++) {
    double d = (double)a->data[i] - b->data[i];
    acc += k == L_MSE ? d * d : fabs(d);
  }
  FrTensor *y = fr_tensor_new(g, 0, NULL);
  y->data[0] = (float)(acc / (double)(m ? m : 1));
  FrNode *n = fr_graph_record(g, k == L_MSE ? "mse_loss" : "l1_loss", pair_bwd, y, 2, a, b);
  if (n) n->ctx = GINT_TO_POINTER(k);
  return y;
}

FrTensor *fr_mse_loss(FrGraph *g, FrTensor *a, FrTensor *b) { return pair_loss(g, a, b, L_MSE); }
FrTensor *fr_l1_loss(FrGraph *g, FrTensor *a, FrTensor *b) { return pair_loss(g, a, b, L_L1); }

typedef struct { float sign, target; bool hinge; } GanCtx;

static void gan_bwd(FrGraph *g, FrNode *n) {
  GanCtx *c = n->ctx;
  FrTensor *x = n->in[0];
  int64_t m = fr_tensor_numel(x);
  float s = n->out->grad[0] / (float)m;
  float *gx = fr_grad(g, x);
  for (int64_t i = 0; i < m; i++) {
    if (c->hinge) gx[i] += (1.0f - c->sign * x->data[i]) > 0 ? -c->sign * s : 0.0f;
    else gx[i] += 2.0f * (x->data[i] - c->target) * s;
  }
}

static FrTensor *gan_loss(FrGraph *g, FrTensor *x, GanCtx ctx, const char *name) {
  int64_t m = fr_tensor_numel(x);
  double acc = 0;
  for (int64_t i = 0; i < m; i++) {
    if (ctx.hinge) {
      double h = 1.0 - ctx.sign * x->data[i];
      acc += h > 0 ? h : 0;
    } else {
      double d = x->data[i] - ctx.target;
      acc += d * d;
    }
  }
  FrTensor *y = fr_tensor_new(g, 0, NULL);
  y->data[0] = (float)(acc / (double)(m ? m : 1));
  FrNode *n = fr_graph_record(g, name, gan_bwd, y, 1, x);
  if (n) {
    GanCtx *c = fr_graph_alloc(g, sizeof *c);
    *c = ctx;
    n->ctx = c;
  }
  return y;
}

FrTensor *fr_hinge_loss(FrGraph *g, FrTensor *x, float sign) {
  return gan_loss(g, x, (GanCtx){ .sign = sign, .hinge = true }, "hinge_loss");
}

FrTensor *fr_lsgan_loss(FrGraph *g, FrTensor *x, float target) {
  return gan_loss(g, x, (GanCtx){ .target = target, .hinge = false }, "lsgan_loss");
}
