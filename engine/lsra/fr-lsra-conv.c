/* Lightweight and dynamic convolutions over [B, T, C] sequences (see fr-lsra-conv.h).
 *
 * One kernel core serves both ops: the kernel of output row r = (b, t) sits at kern + r * kstride,
 * so kstride 0 is the lightweight op's shared [H, K] weight and kstride H*K the dynamic op's
 * per-position kernels. Every loop runs over rows, so the pool splits work without write races:
 *   forward   y[r]  = sum_k  kern[r][h, k] * x[r + k - P]                      (scatter-free gather)
 *   dx        dx[s] = sum_k  kern[s - k + P][h, k] * dy[s - k + P]              (gather over outputs)
 *   dkernel   dk[r][h, k] = sum_{c in h} dy[r, c] * x[r + k - P, c]             (per row)
 * The lightweight op's weight gradient sums the per-row kernel gradients in a fixed order (so results
 * do not depend on the thread count), then goes through the softmax's Jacobian. */
#include "fr-lsra-conv.h"
#include "fr-pool.h"

#include <math.h>
#include <string.h>

typedef struct {
  int64_t B, T, C, H, K, R;
  int64_t P;
  const float *x;       /* [B*T, C] */
  const float *kern;    /* row r's kernel [H, K] at kern + r * kstride */
  int64_t kstride;
  float *y;             /* [B*T, C] */
  const float *gy;
  float *gx;            /* NULL: no input gradient wanted */
  float *gk;            /* per-row kernel gradient [B*T, H*K], accumulated; NULL: not wanted */
} ConvCtx;

/* about this many multiply-adds per pool chunk */
static int64_t row_grain(const ConvCtx *c) {
  int64_t per_row = c->C * c->K;
  int64_t g = 32768 / (per_row > 0 ? per_row : 1);
  return g > 0 ? g : 1;
}

/* taps k of output time t that read inside [0, T): 0 <= t + k - P < T */
static inline void out_taps(const ConvCtx *c, int64_t t, int64_t *k0, int64_t *k1) {
  int64_t lo = c->P - t, hi = c->T - t + c->P;
  *k0 = lo > 0 ? lo : 0;
  *k1 = hi < c->K ? hi : c->K;
}

static void fwd_rows(void *p, int64_t r0, int64_t r1) {
  const ConvCtx *c = p;
  const int64_t C = c->C, R = c->R, K = c->K;
  for (int64_t r = r0; r < r1; r++) {
    const float *kr = c->kern + r * c->kstride;
    float *yr = c->y + r * C;
    memset(yr, 0, sizeof(float) * (size_t)C);
    int64_t k0, k1;
    out_taps(c, r % c->T, &k0, &k1);
    for (int64_t k = k0; k < k1; k++) {
      const float *xs = c->x + (r + k - c->P) * C;
      for (int64_t h = 0; h < c->H; h++) {
        const float w = kr[h * K + k];
        float *restrict yo = yr + h * R;
        const float *restrict xi = xs + h * R;
        for (int64_t j = 0; j < R; j++) yo[j] += w * xi[j];
      }
    }
  }
}

static void bwd_rows(void *p, int64_t r0, int64_t r1) {
  const ConvCtx *c = p;
  const int64_t C = c->C, R = c->R, K = c->K, T = c->T;
  for (int64_t r = r0; r < r1; r++) {
    const int64_t s = r % T;
    if (c->gx) {
      /* input row s feeds output t = s - k + P for the taps with 0 <= t < T */
      int64_t lo = s + c->P - T + 1, hi = s + c->P + 1;
      int64_t k0 = lo > 0 ? lo : 0, k1 = hi < K ? hi : K;
      float *gxr = c->gx + r * C;
      for (int64_t k = k0; k < k1; k++) {
        const int64_t rt = r - k + c->P;
        const float *kr = c->kern + rt * c->kstride;
        const float *gyt = c->gy + rt * C;
        for (int64_t h = 0; h < c->H; h++) {
          const float w = kr[h * K + k];
          float *restrict go = gxr + h * R;
          const float *restrict gi = gyt + h * R;
          for (int64_t j = 0; j < R; j++) go[j] += w * gi[j];
        }
      }
    }
    if (c->gk) {
      int64_t k0, k1;
      out_taps(c, s, &k0, &k1);
      float *gkr = c->gk + r * c->H * K;
      const float *gyr = c->gy + r * C;
      for (int64_t k = k0; k < k1; k++) {
        const float *xs = c->x + (r + k - c->P) * C;
        for (int64_t h = 0; h < c->H; h++) {
          const float *restrict a = gyr + h * R, *restrict b = xs + h * R;
          float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
          for (int64_t j = 0; j < R; j++) acc += a[j] * b[j];
          gkr[h * K + k] += acc;
        }
      }
    }
  }
}

static void check_seq(const FrTensor *x, int64_t H, int64_t K, int padding_l) {
  g_assert(x->ndim == 3 && fr_tensor_is_contiguous(x));
  g_assert(H >= 1 && K >= 1 && x->shape[2] % H == 0);
  g_assert(padding_l >= 0 && padding_l < K);
}

static ConvCtx conv_ctx(const FrTensor *x, int64_t H, int64_t K, int padding_l) {
  return (ConvCtx){ .B = x->shape[0], .T = x->shape[1], .C = x->shape[2], .H = H, .K = K,
                    .R = x->shape[2] / H, .P = padding_l, .x = x->data };
}

/* o = softmax(w) over K for each head (or a copy), in double: the full and the step op share it */
static void head_kernels(const float *weight, float *out, int64_t H, int64_t K, bool softmax) {
  for (int64_t h = 0; h < H; h++) {
    const float *w = weight + h * K;
    float *o = out + h * K;
    if (!softmax) {
      memcpy(o, w, sizeof(float) * (size_t)K);
      continue;
    }
    float mx = w[0];
    for (int64_t k = 1; k < K; k++) mx = w[k] > mx ? w[k] : mx;
    double sum = 0;
    for (int64_t k = 0; k < K; k++) sum += exp((double)w[k] - mx);
    for (int64_t k = 0; k < K; k++) o[k] = (float)(exp((double)w[k] - mx) / sum);
  }
}

/* ------------------------------------------------------------------ lightweight */

typedef struct {
  ConvCtx conv;
  bool softmax;
  float *wn;      /* the kernel actually used, softmax(weight) or weight, [H, K] */
  float *mask;    /* weight dropout: [B*T, H*K] of 0 or 1/(1-p); NULL when off */
} LightCtx;

static void light_bwd(FrGraph *g, FrNode *n) {
  LightCtx *lc = n->ctx;
  ConvCtx c = lc->conv;
  const int64_t HK = c.H * c.K, rows = c.B * c.T;
  float *gw = fr_grad(g, n->in[1]);
  c.gy = n->out->grad;
  c.gx = fr_grad(g, n->in[0]);
  c.gk = NULL;
  if (gw) {
    c.gk = fr_graph_alloc(g, sizeof(float) * (size_t)(rows * HK));
    memset(c.gk, 0, sizeof(float) * (size_t)(rows * HK));
  }
  if (!c.gx && !c.gk) return;
  fr_parallel_for(rows, row_grain(&c), bwd_rows, &c);
  if (!gw) return;
  /* d(used kernel)[h, k]: the per-row kernel gradients summed in row order, through the dropout mask */
  double *dwn = g_new0(double, HK);
  for (int64_t r = 0; r < rows; r++) {
    const float *gkr = c.gk + r * HK;
    if (lc->mask) {
      const float *m = lc->mask + r * HK;
      for (int64_t i = 0; i < HK; i++) dwn[i] += (double)gkr[i] * m[i];
    } else {
      for (int64_t i = 0; i < HK; i++) dwn[i] += gkr[i];
    }
  }
  for (int64_t h = 0; h < c.H; h++) {
    const float *s = lc->wn + h * c.K;
    const double *d = dwn + h * c.K;
    float *gr = gw + h * c.K;
    if (lc->softmax) {
      double dot = 0;
      for (int64_t k = 0; k < c.K; k++) dot += d[k] * s[k];
      for (int64_t k = 0; k < c.K; k++) gr[k] += (float)(s[k] * (d[k] - dot));
    } else {
      for (int64_t k = 0; k < c.K; k++) gr[k] += (float)d[k];
    }
  }
  g_free(dwn);
}

FrTensor *fr_lightweight_conv1d_dropout(FrGraph *g, FrTensor *x, FrTensor *weight, int padding_l, bool softmax,
                                        float weight_dropout) {
  g_assert(weight->ndim == 2 && fr_tensor_is_contiguous(weight));
  const int64_t H = weight->shape[0], K = weight->shape[1];
  check_seq(x, H, K, padding_l);
  g_assert(weight_dropout >= 0.0f && weight_dropout < 1.0f);
  gint64 t0 = fr_graph_op_begin(g);
  LightCtx *lc = fr_graph_alloc(g, sizeof *lc);
  *lc = (LightCtx){ .conv = conv_ctx(x, H, K, padding_l), .softmax = softmax };
  ConvCtx *c = &lc->conv;
  const int64_t HK = H * K, rows = c->B * c->T;

  lc->wn = fr_graph_alloc(g, sizeof(float) * (size_t)HK);
  head_kernels(weight->data, lc->wn, H, K, softmax);

  c->kern = lc->wn;
  c->kstride = 0;
  if (g->training && weight_dropout > 0.0f) {
    /* DropConnect per (b, t, h, k): the run becomes a dynamic convolution with masked kernels */
    lc->mask = fr_graph_alloc(g, sizeof(float) * (size_t)(rows * HK));
    float *kern = fr_graph_alloc(g, sizeof(float) * (size_t)(rows * HK));
    const float keep = 1.0f / (1.0f - weight_dropout);
    for (int64_t i = 0; i < rows * HK; i++) {
      lc->mask[i] = fr_rng_uniform(&g->rng) < weight_dropout ? 0.0f : keep;
      kern[i] = lc->wn[i % HK] * lc->mask[i];
    }
    c->kern = kern;
    c->kstride = HK;
  }

  FrTensor *y = fr_tensor_new(g, 3, x->shape);
  c->y = y->data;
  fr_parallel_for(rows, row_grain(c), fwd_rows, c);
  c->y = NULL;
  const double macs = (double)rows * (double)c->C * (double)K;
  fr_graph_op_end(g, t0, "lightweight_conv1d", y, macs, 4.0 * (double)(fr_tensor_numel(x) + HK),
                  4.0 * (double)fr_tensor_numel(y));
  FrNode *n = fr_graph_record(g, "lightweight_conv1d", light_bwd, y, 2, x, weight);
  if (n) {
    n->ctx = lc;
    n->bwd_macs = 2.0 * macs;
  }
  return y;
}

FrTensor *fr_lightweight_conv1d(FrGraph *g, FrTensor *x, FrTensor *weight, int padding_l, bool softmax) {
  return fr_lightweight_conv1d_dropout(g, x, weight, padding_l, softmax, 0.0f);
}

/* ------------------------------------------------------------------ dynamic */

static void dyn_bwd(FrGraph *g, FrNode *n) {
  ConvCtx c = *(ConvCtx *)n->ctx;
  c.gy = n->out->grad;
  c.gx = fr_grad(g, n->in[0]);
  c.gk = fr_grad(g, n->in[1]);
  if (!c.gx && !c.gk) return;
  fr_parallel_for(c.B * c.T, row_grain(&c), bwd_rows, &c);
}

FrTensor *fr_dynamic_conv1d(FrGraph *g, FrTensor *x, FrTensor *kernels, int padding_l) {
  g_assert(kernels->ndim == 4 && fr_tensor_is_contiguous(kernels));
  const int64_t H = kernels->shape[2], K = kernels->shape[3];
  check_seq(x, H, K, padding_l);
  g_assert(kernels->shape[0] == x->shape[0] && kernels->shape[1] == x->shape[1]);
  gint64 t0 = fr_graph_op_begin(g);
  ConvCtx *c = fr_graph_alloc(g, sizeof *c);
  *c = conv_ctx(x, H, K, padding_l);
  c->kern = kernels->data;
  c->kstride = H * K;
  FrTensor *y = fr_tensor_new(g, 3, x->shape);
  c->y = y->data;
  const int64_t rows = c->B * c->T;
  fr_parallel_for(rows, row_grain(c), fwd_rows, c);
  c->y = NULL;
  const double macs = (double)rows * (double)c->C * (double)K;
  fr_graph_op_end(g, t0, "dynamic_conv1d", y, macs,
                  4.0 * (double)(fr_tensor_numel(x) + fr_tensor_numel(kernels)), 4.0 * (double)fr_tensor_numel(y));
  FrNode *n = fr_graph_record(g, "dynamic_conv1d", dyn_bwd, y, 2, x, kernels);
  if (n) {
    n->ctx = c;
    n->bwd_macs = 2.0 * macs;
  }
  return y;
}

/* ------------------------------------------------------------------ incremental decoding */

FrLsraConvState *fr_lsra_conv_state_new(int64_t B, int64_t C, int K) {
  g_return_val_if_fail(B >= 1 && C >= 1 && K >= 1, NULL);
  FrLsraConvState *s = g_new0(FrLsraConvState, 1);
  s->B = B;
  s->C = C;
  s->K = K;
  s->hist = g_new0(float, (gsize)(B * (K - 1) * C) + 1);
  return s;
}

void fr_lsra_conv_state_free(FrLsraConvState *s) {
  if (!s) return;
  g_free(s->hist);
  g_free(s);
}

void fr_lsra_conv_state_reset(FrLsraConvState *s) {
  memset(s->hist, 0, sizeof(float) * (size_t)(s->B * (s->K - 1) * s->C));
  s->steps = 0;
}

void fr_lsra_conv_state_reorder(FrLsraConvState *s, const int32_t *order) {
  fr_lsra_conv_state_select(s, order, s->B);
}

void fr_lsra_conv_state_select(FrLsraConvState *s, const int32_t *rows, int64_t n) {
  g_assert(n >= 1 && n <= s->B);
  const int64_t per = (int64_t)(s->K - 1) * s->C;
  if (per > 0) {
    float *old = g_memdup2(s->hist, sizeof(float) * (size_t)(s->B * per));
    for (int64_t i = 0; i < n; i++) {
      g_assert(rows[i] >= 0 && rows[i] < s->B);
      memcpy(s->hist + i * per, old + (int64_t)rows[i] * per, sizeof(float) * (size_t)per);
    }
    g_free(old);
  }
  s->B = n;
}

/* y[b] = sum_{k < K-1} kern[h, k] * hist[b, k] + kern[h, K-1] * x[b], taps in the full op's order; then
 * x joins the history. */
static FrTensor *conv_step(FrGraph *g, FrLsraConvState *s, FrTensor *x, const float *kern, int64_t kstride,
                           int64_t H, const char *name) {
  const int64_t B = s->B, C = s->C, K = s->K, R = C / H;
  g_assert(fr_tensor_is_contiguous(x) && fr_tensor_numel(x) == B * C && x->shape[x->ndim - 1] == C);
  g_assert(C % H == 0);
  gint64 t0 = fr_graph_op_begin(g);
  FrTensor *y = fr_tensor_new(g, x->ndim, x->shape);
  for (int64_t b = 0; b < B; b++) {
    const float *kb = kern + b * kstride, *xb = x->data + b * C;
    float *hb = s->hist + b * (K - 1) * C, *yb = y->data + b * C;
    memset(yb, 0, sizeof(float) * (size_t)C);
    for (int64_t k = 0; k < K; k++) {
      const float *src = k < K - 1 ? hb + k * C : xb;
      for (int64_t h = 0; h < H; h++) {
        const float w = kb[h * K + k];
        float *restrict yo = yb + h * R;
        const float *restrict xi = src + h * R;
        for (int64_t j = 0; j < R; j++) yo[j] += w * xi[j];
      }
    }
    if (K > 1) {
      memmove(hb, hb + C, sizeof(float) * (size_t)((K - 2) * C));
      memcpy(hb + (K - 2) * C, xb, sizeof(float) * (size_t)C);
    }
  }
  s->steps++;
  fr_graph_op_end(g, t0, name, y, (double)(B * C * K), 4.0 * (double)(B * C * K), 4.0 * (double)(B * C));
  return y;
}

FrTensor *fr_lightweight_conv1d_step(FrGraph *g, FrLsraConvState *s, FrTensor *x, FrTensor *weight, bool softmax) {
  g_assert(weight->ndim == 2 && weight->shape[1] == s->K && fr_tensor_is_contiguous(weight));
  const int64_t H = weight->shape[0], K = s->K;
  float *wn = fr_graph_alloc(g, sizeof(float) * (size_t)(H * K));
  head_kernels(weight->data, wn, H, K, softmax);
  return conv_step(g, s, x, wn, 0, H, "lightweight_conv1d_step");
}

FrTensor *fr_dynamic_conv1d_step(FrGraph *g, FrLsraConvState *s, FrTensor *x, FrTensor *kernels) {
  g_assert(kernels->ndim >= 2 && fr_tensor_is_contiguous(kernels));
  const int64_t H = kernels->shape[kernels->ndim - 2], K = kernels->shape[kernels->ndim - 1];
  g_assert(K == s->K && fr_tensor_numel(kernels) == s->B * H * K);
  return conv_step(g, s, x, kernels->data, H * K, H, "dynamic_conv1d_step");
}
