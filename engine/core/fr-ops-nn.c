/* Pooling and fake quantisation. */
#include "fr-ops.h"
#include "fr-pool.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ pooling */

typedef struct {
  int k, stride, pad;
  bool is_max;
  int32_t *argmax;   /* max pool: flat index into the input plane, -1 when the window is all padding */
  int64_t H, W, Ho, Wo;
  const float *x; float *y; const float *gy; float *gx;
} PoolCtx;

/* the common 2x2 stride-2 max pool without padding, branch-light */
static void maxpool2_fwd(PoolCtx *c, int64_t i) {
  const float *x = c->x + i * c->H * c->W;
  float *y = c->y + i * c->Ho * c->Wo;
  int32_t *am = c->argmax + i * c->Ho * c->Wo;
  for (int64_t oh = 0; oh < c->Ho; oh++) {
    const float *r0 = x + 2 * oh * c->W, *r1 = r0 + c->W;
    const int32_t base = (int32_t)(2 * oh * c->W), W = (int32_t)c->W;
    const int64_t Wo = c->Wo;
    float *restrict yo = y + oh * Wo;
    int32_t *restrict ao = am + oh * Wo;
    /* selects only, so the loop vectorises */
    for (int64_t ow = 0; ow < Wo; ow++) {
      int64_t j = 2 * ow;
      float a = r0[j], b = r0[j + 1], d = r1[j], e = r1[j + 1];
      int32_t ia = base + (int32_t)j, best = ia;
      float m = a;
      best = b > m ? ia + 1 : best; m = b > m ? b : m;
      best = d > m ? ia + W : best; m = d > m ? d : m;
      best = e > m ? ia + W + 1 : best; m = e > m ? e : m;
      yo[ow] = m;
      ao[ow] = best;
    }
  }
}

static void pool_fwd(void *p, int64_t i0, int64_t i1) {
  PoolCtx *c = p;
  if (c->is_max && c->k == 2 && c->stride == 2 && c->pad == 0) {
    for (int64_t i = i0; i < i1; i++) maxpool2_fwd(c, i);
    return;
  }
  for (int64_t i = i0; i < i1; i++) {
    const float *x = c->x + i * c->H * c->W;
    float *y = c->y + i * c->Ho * c->Wo;
    int32_t *am = c->argmax ? c->argmax + i * c->Ho * c->Wo : NULL;
    for (int64_t oh = 0; oh < c->Ho; oh++)
      for (int64_t ow = 0; ow < c->Wo; ow++) {
        float best = -INFINITY, sum = 0;
        int32_t bi = -1;
        for (int ki = 0; ki < c->k; ki++) {
          int64_t ih = oh * c->stride - c->pad + ki;
          if (ih < 0 || ih >= c->H) continue;
          for (int kj = 0; kj < c->k; kj++) {
            int64_t iw = ow * c->stride - c->pad + kj;
            if (iw < 0 || iw >= c->W) continue;
            float v = x[ih * c->W + iw];
            sum += v;
            if (v > best || bi < 0) { best = v; bi = (int32_t)(ih * c->W + iw); }
          }
        }
        if (c->is_max) {
          y[oh * c->Wo + ow] = bi < 0 ? 0.0f : best;
          am[oh * c->Wo + ow] = bi;
        } else {
          y[oh * c->Wo + ow] = sum / (float)(c->k * c->k);
        }
      }
  }
}

static void pool_bwd_planes(void *p, int64_t i0, int64_t i1) {
  PoolCtx *c = p;
  for (int64_t i = i0; i < i1; i++) {
    const float *gy = c->gy + i * c->Ho * c->Wo;
    float *gx = c->gx + i * c->H * c->W;
    for (int64_t oh = 0; oh < c->Ho; oh++)
      for (int64_t ow = 0; ow < c->Wo; ow++) {
        float d = gy[oh * c->Wo + ow];
        if (c->is_max) {
          int32_t a = c->argmax[i * c->Ho * c->Wo + oh * c->Wo + ow];
          if (a >= 0) gx[a] += d;
          continue;
        }
        d /= (float)(c->k * c->k);
        for (int ki = 0; ki < c->k; ki++) {
          int64_t ih = oh * c->stride - c->pad + ki;
          if (ih < 0 || ih >= c->H) continue;
          for (int kj = 0; kj < c->k; kj++) {
            int64_t iw = ow * c->stride - c->pad + kj;
            if (iw >= 0 && iw < c->W) gx[ih * c->W + iw] += d;
          }
        }
      }
  }
}

static void pool_bwd(FrGraph *g, FrNode *n) {
  PoolCtx *c = n->ctx;
  c->gy = n->out->grad;
  c->gx = fr_grad(g, n->in[0]);
  fr_parallel_for(n->in[0]->shape[0] * n->in[0]->shape[1], 4, pool_bwd_planes, c);
}

static FrTensor *pool2d(FrGraph *g, FrTensor *x, int k, int stride, int pad, bool is_max) {
  g_assert(x->ndim == 4 && k >= 1 && stride >= 1 && pad >= 0 && pad <= k / 2);
  gint64 t0 = fr_graph_op_begin(g);
  int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t Ho = (H + 2 * pad - k) / stride + 1, Wo = (W + 2 * pad - k) / stride + 1;
  g_assert(Ho > 0 && Wo > 0);
  FrTensor *y = fr_tensor_new(g, 4, FR_SHAPE(B, C, Ho, Wo));
  PoolCtx *c = fr_graph_alloc(g, sizeof *c);
  *c = (PoolCtx){ .k = k, .stride = stride, .pad = pad, .is_max = is_max, .H = H, .W = W, .Ho = Ho,
                  .Wo = Wo, .x = x->data, .y = y->data };
  if (is_max) c->argmax = fr_graph_alloc(g, sizeof(int32_t) * (size_t)fr_tensor_numel(y));
  fr_parallel_for(B * C, 4, pool_fwd, c);
  const char *name = is_max ? "max_pool2d" : "avg_pool2d";
  fr_graph_op_end(g, t0, name, y, 0, 4.0 * (double)fr_tensor_numel(x), 4.0 * (double)fr_tensor_numel(y));
  FrNode *n = fr_graph_record(g, name, pool_bwd, y, 1, x);
  if (n) n->ctx = c;
  return y;
}

FrTensor *fr_max_pool2d(FrGraph *g, FrTensor *x, int k, int stride, int padding) {
  return pool2d(g, x, k, stride, padding, true);
}

FrTensor *fr_avg_pool2d(FrGraph *g, FrTensor *x, int k, int stride, int padding) {
  return pool2d(g, x, k, stride, padding, false);
}

static void gap_bwd(FrGraph *g, FrNode *n) {
  FrTensor *x = n->in[0];
  int64_t NC = x->shape[0] * x->shape[1], S = x->shape[2] * x->shape[3];
  float *gx = fr_grad(g, x);
  for (int64_t i = 0; i < NC; i++) {
    float d = n->out->grad[i] / (float)S;
    for (int64_t s = 0; s < S; s++) gx[i * S + s] += d;
  }
}

FrTensor *fr_global_avg_pool(FrGraph *g, FrTensor *x) {
  g_assert(x->ndim == 4);
  int64_t NC = x->shape[0] * x->shape[1], S = x->shape[2] * x->shape[3];
  FrTensor *y = fr_tensor_new(g, 2, FR_SHAPE(x->shape[0], x->shape[1]));
  for (int64_t i = 0; i < NC; i++) {
    double acc = 0;
    for (int64_t s = 0; s < S; s++) acc += x->data[i * S + s];
    y->data[i] = (float)(acc / (double)S);
  }
  fr_graph_record(g, "global_avg_pool", gap_bwd, y, 1, x);
  return y;
}

/* ------------------------------------------------------------------ fake quantisation */

/* Straight-through estimator: the gradient passes unchanged where the input lies inside the
 * quantiser's range, and is zero where it was clipped. */
static void ste_bwd(FrGraph *g, FrNode *n) {
  const uint8_t *pass = n->ctx;
  float *gx = fr_grad(g, n->in[0]);
  int64_t m = fr_tensor_numel(n->out);
  for (int64_t i = 0; i < m; i++)
    if (pass[i]) gx[i] += n->out->grad[i];
}

FrTensor *fr_fake_quant_weight(FrGraph *g, FrTensor *w, int bits) {
  g_assert(bits >= 2 && bits <= 16);
  gint64 t0 = fr_graph_op_begin(g);
  FrTensor *y = fr_tensor_like(g, w);
  int64_t rows = w->shape[0], per = fr_tensor_numel(w) / (rows ? rows : 1);
  float qmax = (float)((1 << (bits - 1)) - 1);
  for (int64_t r = 0; r < rows; r++) {
    const float *x = w->data + r * per;
    float *o = y->data + r * per;
    float mx = 0;
    for (int64_t i = 0; i < per; i++) mx = fabsf(x[i]) > mx ? fabsf(x[i]) : mx;
    if (mx == 0) {
      memset(o, 0, sizeof(float) * (size_t)per);
      continue;
    }
    float scale = mx / qmax;
    for (int64_t i = 0; i < per; i++) {
      float q = nearbyintf(x[i] / scale);
      q = q > qmax ? qmax : (q < -qmax ? -qmax : q);
      o[i] = q * scale;
    }
  }
  fr_graph_op_end(g, t0, "fake_quant_weight", y, 0, 4.0 * (double)fr_tensor_numel(w), 4.0 * (double)fr_tensor_numel(y));
  FrNode *n = fr_graph_record(g, "fake_quant_weight", ste_bwd, y, 1, w);
  if (n) {
    uint8_t *pass = fr_graph_alloc(g, (size_t)fr_tensor_numel(w));
    memset(pass, 1, (size_t)fr_tensor_numel(w));   /* max-abs scaling never clips */
    n->ctx = pass;
  }
  return y;
}

FrTensor *fr_fake_quant_act(FrGraph *g, FrTensor *x, int bits, float clip) {
  g_assert(bits >= 1 && bits <= 16);
  gint64 t0 = fr_graph_op_begin(g);
  FrTensor *y = fr_tensor_like(g, x);
  int64_t m = fr_tensor_numel(x);
  float hi = clip;
  if (hi <= 0) {
    hi = 0;
    for (int64_t i = 0; i < m; i++) hi = x->data[i] > hi ? x->data[i] : hi;
  }
  float levels = (float)((1 << bits) - 1);
  float scale = hi > 0 ? hi / levels : 1.0f;
  uint8_t *pass = fr_graph_alloc(g, (size_t)(m ? m : 1));
  for (int64_t i = 0; i < m; i++) {
    float v = x->data[i];
    pass[i] = v >= 0 && v <= hi;
    v = v < 0 ? 0 : (v > hi ? hi : v);
    y->data[i] = hi > 0 ? nearbyintf(v / scale) * scale : 0.0f;
  }
  fr_graph_op_end(g, t0, "fake_quant_act", y, 0, 4.0 * (double)m, 4.0 * (double)m);
  FrNode *n = fr_graph_record(g, "fake_quant_act", ste_bwd, y, 1, x);
  if (n) n->ctx = pass;
  return y;
}

FrTensor *fr_fake_quant_act_signed(FrGraph *g, FrTensor *x, int bits, float clip) {
  g_assert(bits >= 2 && bits <= 16);
  gint64 t0 = fr_graph_op_begin(g);
  FrTensor *y = fr_tensor_like(g, x);
  int64_t m = fr_tensor_numel(x);
  float hi = clip;
  if (hi <= 0) {
    hi = 0;
    for (int64_t i = 0; i < m; i++) hi = fabsf(x->data[i]) > hi ? fabsf(x->data[i]) : hi;
  }
  float qmax = (float)((1 << (bits - 1)) - 1);
  float scale = hi > 0 ? hi / qmax : 1.0f;
  uint8_t *pass = fr_graph_alloc(g, (size_t)(m ? m : 1));
  for (int64_t i = 0; i < m; i++) {
    float v = x->data[i];
    pass[i] = v >= -hi && v <= hi;
    v = v < -hi ? -hi : (v > hi ? hi : v);
    y->data[i] = hi > 0 ? nearbyintf(v / scale) * scale : 0.0f;
  }
  fr_graph_op_end(g, t0, "fake_quant_act", y, 0, 4.0 * (double)m, 4.0 * (double)m);
  FrNode *n = fr_graph_record(g, "fake_quant_act", ste_bwd, y, 1, x);
  if (n) n->ctx = pass;
  return y;
}
