/* Batch, instance and layer normalisation, each fused with the activation that follows it: the
 * normalised tensor is written once, activated in the same pass, and the backward recovers the
 * activation's mask from the output. */
#include "fr-ops.h"
#include "fr-pool.h"

#include <math.h>
#include <string.h>

/* Kernels built for AVX-512, AVX2 and baseline x86-64; the loader picks one (the engine targets any x86-64). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FR_KERNEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FR_KERNEL_CLONES
#endif

typedef struct {
  float *xhat;     /* normalised input */
  float *invstd;   /* one per statistics group */
  FrAct act;
  bool batch_stats;
  float slope;
} NormCtx;

#define LEAKY_SLOPE 0.2f

static inline float act_apply(FrAct a, float v) {
  switch (a) {
  case FR_ACT_RELU: return v > 0 ? v : 0;
  case FR_ACT_RELU6: return v < 0 ? 0 : (v > 6 ? 6 : v);
  case FR_ACT_LEAKY_RELU: return v > 0 ? v : LEAKY_SLOPE * v;
  default: return v;
  }
}

/* derivative of the activation, read from its output */
static inline float act_grad(FrAct a, float y) {
  switch (a) {
  case FR_ACT_RELU: return y > 0 ? 1.0f : 0.0f;
  case FR_ACT_RELU6: return (y > 0 && y < 6) ? 1.0f : 0.0f;
  case FR_ACT_LEAKY_RELU: return y > 0 ? 1.0f : LEAKY_SLOPE;
  default: return 1.0f;
  }
}

static const char *norm_name(const char *base, FrAct a) {
  static const char *bn[] = { "batch_norm", "batch_norm+relu", "batch_norm+relu6", "batch_norm+leaky_relu" };
  static const char *in[] = { "instance_norm", "instance_norm+relu", "instance_norm+relu6", "instance_norm+leaky_relu" };
  static const char *ln[] = { "layer_norm", "layer_norm+relu", "layer_norm+relu6", "layer_norm+leaky_relu" };
  return base[0] == 'b' ? bn[a] : base[0] == 'i' ? in[a] : ln[a];
}

/* ------------------------------------------------------------------ batch norm */

typedef struct {
  const FrTensor *x; FrTensor *y; const float *gamma, *beta; NormCtx *c;
  int64_t B, C, S;
  float *gx, *gg, *gb; const float *gy; bool stats;
  float *mean, *var;         /* per channel: statistics used to normalise */
} BnCtx;

/* per-plane sums in float (vectorisable), accumulated across planes in double */
static void bn_stats_channels(void *p, int64_t c0, int64_t c1) {
  BnCtx *k = p;
  for (int64_t c = c0; c < c1; c++) {
    double s = 0;
    const int64_t S = k->S;
    for (int64_t i = 0; i < k->B; i++) {
      const float *x = k->x->data + (i * k->C + c) * S;
      float ps = 0;
#pragma omp simd reduction(+:ps)
      for (int64_t j = 0; j < S; j++) ps += x[j];
      s += ps;
    }
    double m = s / (double)(k->B * k->S), s2 = 0;
    float mf = (float)m;
    for (int64_t i = 0; i < k->B; i++) {
      const float *x = k->x->data + (i * k->C + c) * S;
      float ps = 0;
#pragma omp simd reduction(+:ps)
      for (int64_t j = 0; j < S; j++) ps += (x[j] - mf) * (x[j] - mf);
      s2 += ps;
    }
    k->mean[c] = mf;
    k->var[c] = (float)(s2 / (double)(k->B * k->S));
  }
}

/* y = act(gamma * (x - mean) * invstd + beta) as one affine map per channel; xhat is kept only when a
 * backward will need it (training graphs), so inference writes one tensor instead of two. */
static void bn_fwd_channels(void *p, int64_t c0, int64_t c1) {
  BnCtx *k = p;
  for (int64_t c = c0; c < c1; c++) {
    float g = k->gamma ? k->gamma[c] : 1.0f, b = k->beta ? k->beta[c] : 0.0f;
    float m = k->mean[c], is = k->c->invstd[c];
    float scale = g * is, shift = b - m * scale;
    const int64_t S = k->S;
    const FrAct act = k->c->act;
    for (int64_t i = 0; i < k->B; i++) {
      int64_t o = (i * k->C + c) * S;
      const float *restrict x = k->x->data + o;
      float *restrict y = k->y->data + o;
      if (k->c->xhat) {
        float *restrict xh = k->c->xhat + o;
#pragma omp simd
        for (int64_t s = 0; s < S; s++) xh[s] = (x[s] - m) * is;
      }
      switch (act) {
      case FR_ACT_RELU:
#pragma omp simd
        for (int64_t s = 0; s < S; s++) { float v = x[s] * scale + shift; y[s] = v > 0 ? v : 0; }
        break;
      case FR_ACT_NONE:
#pragma omp simd
        for (int64_t s = 0; s < S; s++) y[s] = x[s] * scale + shift;
        break;
      case FR_ACT_RELU6:
#pragma omp simd
        for (int64_t s = 0; s < S; s++) { float v = x[s] * scale + shift; v = v > 0 ? v : 0; y[s] = v < 6 ? v : 6; }
        break;
      default:
        for (int64_t s = 0; s < S; s++) y[s] = act_apply(act, x[s] * scale + shift);
      }
    }
  }
}

/* (Loads come before the selects: a conditional load is control flow that stops vectorisation.)
 * The two passes of the backward for one channel, each fused with the activation's mask so that
 * dL/dpre is never stored: pass 1 sums it (and its product with xhat), pass 2 writes dL/dx. */
static inline void bn_bwd_sums(FrAct act, const float *restrict gy, const float *restrict y,
                               const float *restrict xh, int64_t S, float *sd, float *sdx) {
  float a = 0, b = 0;
  switch (act) {
  case FR_ACT_RELU:
#pragma omp simd reduction(+:a, b)
    for (int64_t s = 0; s < S; s++) { float gv = gy[s], d = y[s] > 0 ? gv : 0.0f; a += d; b += d * xh[s]; }
    break;
  case FR_ACT_NONE:
#pragma omp simd reduction(+:a, b)
    for (int64_t s = 0; s < S; s++) { a += gy[s]; b += gy[s] * xh[s]; }
    break;
  default:
    for (int64_t s = 0; s < S; s++) { float d = gy[s] * act_grad(act, y[s]); a += d; b += d * xh[s]; }
  }
  *sd = a;
  *sdx = b;
}

static inline void bn_bwd_dx(FrAct act, const float *restrict gy, const float *restrict y,
                             const float *restrict xh, int64_t S, float gis, float md, float mdx,
                             float *restrict gx) {
  switch (act) {
  case FR_ACT_RELU:
#pragma omp simd
    for (int64_t s = 0; s < S; s++) { float gv = gy[s]; gx[s] += gis * ((y[s] > 0 ? gv : 0.0f) - md - xh[s] * mdx); }
    break;
  case FR_ACT_NONE:
#pragma omp simd
    for (int64_t s = 0; s < S; s++) gx[s] += gis * (gy[s] - md - xh[s] * mdx);
    break;
  default:
    for (int64_t s = 0; s < S; s++) gx[s] += gis * (gy[s] * act_grad(act, y[s]) - md - xh[s] * mdx);
  }
}

static void bn_bwd_channels(void *p, int64_t c0, int64_t c1) {
  BnCtx *k = p;
  const int64_t S = k->S;
  const FrAct act = k->c->act;
  double M = (double)(k->B * S);
  for (int64_t c = c0; c < c1; c++) {
    float g = k->gamma ? k->gamma[c] : 1.0f;
    double sd = 0, sdx = 0;
    for (int64_t i = 0; i < k->B; i++) {
      int64_t o = (i * k->C + c) * S;
      float a, b;
      bn_bwd_sums(act, k->gy + o, k->y->data + o, k->c->xhat + o, S, &a, &b);
      sd += a;
      sdx += b;
    }
    if (k->gg) k->gg[c] += (float)sdx;
    if (k->gb) k->gb[c] += (float)sd;
    if (!k->gx) continue;
    float is = k->c->invstd[c];
    float mean_d = k->stats ? (float)(sd / M) : 0.0f, mean_dx = k->stats ? (float)(sdx / M) : 0.0f;
    for (int64_t i = 0; i < k->B; i++) {
      int64_t o = (i * k->C + c) * S;
      bn_bwd_dx(act, k->gy + o, k->y->data + o, k->c->xhat + o, S, g * is, mean_d, mean_dx, k->gx + o);
    }
  }
}

static void bn_bwd(FrGraph *g, FrNode *n) {
  NormCtx *c = n->ctx;
  FrTensor *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
  BnCtx k = { .x = x, .y = n->out, .gamma = gamma ? gamma->data : NULL, .c = c, .B = x->shape[0],
              .C = x->shape[1], .S = x->shape[2] * x->shape[3], .gx = fr_grad(g, x), .gg = fr_grad(g, gamma),
              .gb = fr_grad(g, beta), .gy = n->out->grad, .stats = c->batch_stats };
  fr_parallel_for(k.C, 1, bn_bwd_channels, &k);
}

FrTensor *fr_batch_norm2d(FrGraph *g, FrTensor *x, FrTensor *gamma, FrTensor *beta, float *running_mean,
                          float *running_var, float momentum, float eps, FrAct act) {
  g_assert(x->ndim == 4);
  gint64 t0 = fr_graph_op_begin(g);
  int64_t B = x->shape[0], C = x->shape[1], S = x->shape[2] * x->shape[3], M = B * S;
  FrTensor *y = fr_tensor_like(g, x);
  NormCtx *c = fr_graph_alloc(g, sizeof *c);
  c->xhat = g->grad_enabled ? fr_graph_alloc(g, sizeof(float) * (size_t)fr_tensor_numel(x)) : NULL;
  c->invstd = fr_graph_alloc(g, sizeof(float) * (size_t)C);
  c->act = act;
  c->batch_stats = g->training || !running_mean;
  BnCtx k = { .x = x, .y = y, .gamma = gamma ? gamma->data : NULL, .beta = beta ? beta->data : NULL,
              .c = c, .B = B, .C = C, .S = S };
  k.mean = fr_graph_alloc(g, sizeof(float) * (size_t)C);
  k.var = fr_graph_alloc(g, sizeof(float) * (size_t)C);
  if (c->batch_stats) {
    fr_parallel_for(C, 1, bn_stats_channels, &k);
    if (g->training && running_mean)
      for (int64_t ch = 0; ch < C; ch++) {
        double unbiased = M > 1 ? k.var[ch] * (double)M / (double)(M - 1) : k.var[ch];
        running_mean[ch] = (1 - momentum) * running_mean[ch] + momentum * k.mean[ch];
        running_var[ch] = (float)((1 - momentum) * running_var[ch] + momentum * unbiased);
      }
  } else {
    memcpy(k.mean, running_mean, sizeof(float) * (size_t)C);
    memcpy(k.var, running_var, sizeof(float) * (size_t)C);
  }
  for (int64_t ch = 0; ch < C; ch++) c->invstd[ch] = (float)(1.0 / sqrt((double)k.var[ch] + eps));
  fr_parallel_for(C, 1, bn_fwd_channels, &k);
  const char *name = norm_name("batch", act);
  fr_graph_op_end(g, t0, name, y, 0, 8.0 * (double)fr_tensor_numel(x), 4.0 * (double)fr_tensor_numel(y));
  FrNode *n = fr_graph_record(g, name, bn_bwd, y, 3, x, gamma, beta);
  if (n) n->ctx = c;
  return y;
}

/* ------------------------------------------------------------------ instance and layer norm */

/* Statistics over rows of length S: x is [R, S]; the affine parameter index of element (r, s) is
 * r % C for instance norm (per channel), s for layer norm (per feature). */
typedef struct {
  const float *x; float *y; const float *gamma, *beta; NormCtx *c; int64_t R, S, C; bool per_feature;
  float eps; const float *gy; float *gx; float *gg_rows, *gb_rows;
} RowCtx;

static inline int64_t aff_idx(const RowCtx *k, int64_t r, int64_t s) { return k->per_feature ? s : r % k->C; }

/* Instance norm: one affine pair per row, so y = act(x * scale + shift) in one vectorised pass after
 * the two statistics passes (the row is in L1/L2 by then); xhat only when a backward will read it. */
FR_KERNEL_CLONES static void rows_fwd_instance(void *p, int64_t r0, int64_t r1) {
  RowCtx *k = p;
  const int64_t S = k->S;
  const FrAct act = k->c->act;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = k->x + r * S;   /* y may be x (fr_instance_norm2d_): no restrict, omp simd loops */
    /* one pass: sums of d = x - x[0] and d^2 (the shift keeps d^2's sum free of cancellation), float
     * lanes over blocks of 2048, the blocks summed in double */
    const float piv = x[0];
    double s1 = 0, s2 = 0;
    for (int64_t j0 = 0; j0 < S; j0 += 2048) {
      int64_t j1 = MIN(S, j0 + 2048);
      float a1 = 0, a2 = 0;
#pragma omp simd reduction(+:a1, a2)
      for (int64_t j = j0; j < j1; j++) {
        float d = x[j] - piv;
        a1 += d;
        a2 += d * d;
      }
      s1 += a1;
      s2 += a2;
    }
    double dm = s1 / (double)S, var = MAX(0.0, s2 / (double)S - dm * dm);
    float m = (float)(piv + dm);
    float is = (float)(1.0 / sqrt(var + k->eps));
    k->c->invstd[r] = is;
    int64_t a = r % k->C;
    float ga = k->gamma ? k->gamma[a] : 1.0f, be = k->beta ? k->beta[a] : 0.0f;
    float scale = ga * is, shift = be - m * scale;
    float *y = k->y + r * S;
    if (k->c->xhat) {
      float *restrict xh = k->c->xhat + r * S;
#pragma omp simd
      for (int64_t j = 0; j < S; j++) xh[j] = (x[j] - m) * is;
    }
    switch (act) {
    case FR_ACT_RELU:
#pragma omp simd
      for (int64_t j = 0; j < S; j++) { float v = x[j] * scale + shift; y[j] = v > 0 ? v : 0; }
      break;
    case FR_ACT_NONE:
#pragma omp simd
      for (int64_t j = 0; j < S; j++) y[j] = x[j] * scale + shift;
      break;
    default:
#pragma omp simd
      for (int64_t j = 0; j < S; j++) y[j] = act_apply(act, x[j] * scale + shift);
    }
  }
}

static void rows_fwd(void *p, int64_t r0, int64_t r1) {
  RowCtx *k = p;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = k->x + r * k->S;
    double s = 0, s2 = 0;
    for (int64_t j = 0; j < k->S; j++) s += x[j];
    double m = s / (double)k->S;
    for (int64_t j = 0; j < k->S; j++) s2 += (x[j] - m) * (x[j] - m);
    float is = (float)(1.0 / sqrt(s2 / (double)k->S + k->eps));
    k->c->invstd[r] = is;
    float *xh = k->c->xhat + r * k->S, *y = k->y + r * k->S;
    for (int64_t j = 0; j < k->S; j++) {
      int64_t a = aff_idx(k, r, j);
      xh[j] = (float)(x[j] - m) * is;
      y[j] = act_apply(k->c->act, xh[j] * (k->gamma ? k->gamma[a] : 1.0f) + (k->beta ? k->beta[a] : 0.0f));
    }
  }
}

/* gg_rows/gb_rows: per-row partial sums of the affine gradients (instance norm), or per-thread-free
 * direct accumulation is impossible for layer norm, so those are reduced after the loop. */
static void rows_bwd(void *p, int64_t r0, int64_t r1) {
  RowCtx *k = p;
  for (int64_t r = r0; r < r1; r++) {
    const float *xh = k->c->xhat + r * k->S, *y = k->y + r * k->S, *gy = k->gy + r * k->S;
    double sd = 0, sdx = 0;   /* sums of dxhat and dxhat*xhat */
    double gsum = 0, bsum = 0;
    for (int64_t j = 0; j < k->S; j++) {
      float d = gy[j] * act_grad(k->c->act, y[j]);
      float ga = k->gamma ? k->gamma[aff_idx(k, r, j)] : 1.0f;
      sd += d * ga;
      sdx += d * ga * xh[j];
      gsum += d * xh[j];
      bsum += d;
    }
    if (!k->per_feature && k->gg_rows) { k->gg_rows[r] = (float)gsum; k->gb_rows[r] = (float)bsum; }
    if (!k->gx) continue;
    float is = k->c->invstd[r];
    float *gx = k->gx + r * k->S;
    double S = (double)k->S;
    for (int64_t j = 0; j < k->S; j++) {
      float d = gy[j] * act_grad(k->c->act, y[j]);
      float ga = k->gamma ? k->gamma[aff_idx(k, r, j)] : 1.0f;
      gx[j] += is * (float)((d * ga * S - sd - xh[j] * sdx) / S);
    }
  }
}

static void rows_bwd_node(FrGraph *g, FrNode *n) {
  RowCtx *k = n->ctx;
  FrTensor *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
  k->gy = n->out->grad;
  k->gx = fr_grad(g, x);
  float *gg = fr_grad(g, gamma), *gb = fr_grad(g, beta);
  k->gg_rows = k->gb_rows = NULL;
  if (!k->per_feature && (gg || gb)) {
    k->gg_rows = fr_graph_alloc(g, sizeof(float) * (size_t)k->R);
    k->gb_rows = fr_graph_alloc(g, sizeof(float) * (size_t)k->R);
  }
  fr_parallel_for(k->R, 1, rows_bwd, k);
  if (k->per_feature) {
    for (int64_t r = 0; r < k->R; r++) {
      const float *xh = k->c->xhat + r * k->S, *y = k->y + r * k->S, *gy = k->gy + r * k->S;
      for (int64_t j = 0; j < k->S; j++) {
        float d = gy[j] * act_grad(k->c->act, y[j]);
        if (gg) gg[j] += d * xh[j];
        if (gb) gb[j] += d;
      }
    }
  } else if (k->gg_rows) {
    for (int64_t r = 0; r < k->R; r++) {
      if (gg) gg[r % k->C] += k->gg_rows[r];
      if (gb) gb[r % k->C] += k->gb_rows[r];
    }
  }
}

static FrTensor *row_norm(FrGraph *g, FrTensor *x, FrTensor *gamma, FrTensor *beta, float eps, FrAct act,
                          int64_t R, int64_t S, int64_t C, bool per_feature, const char *name, bool inplace) {
  gint64 t0 = fr_graph_op_begin(g);
  bool records = g->grad_enabled && (x->requires_grad || (gamma && gamma->requires_grad) ||
                                     (beta && beta->requires_grad));
  /* in place only for instance norm (layer norm's row pass reads xhat it wrote): y is x's memory */
  FrTensor *y = inplace && !records && !per_feature ? fr_tensor_wrap(g, x->ndim, x->shape, x->data)
                                                    : fr_tensor_like(g, x);
  NormCtx *c = fr_graph_alloc(g, sizeof *c);
  /* layer norm's forward writes xhat on its way to y, so it always gets one */
  c->xhat = records || per_feature ? fr_graph_alloc(g, sizeof(float) * (size_t)fr_tensor_numel(x)) : NULL;
  c->invstd = fr_graph_alloc(g, sizeof(float) * (size_t)(R ? R : 1));
  c->act = act;
  RowCtx *k = fr_graph_alloc(g, sizeof *k);
  *k = (RowCtx){ .x = x->data, .y = y->data, .gamma = gamma ? gamma->data : NULL,
                 .beta = beta ? beta->data : NULL, .c = c, .R = R, .S = S, .C = C,
                 .per_feature = per_feature, .eps = eps };
  /* rows of at least ~64k floats a task: splitting less is slower than one thread */
  fr_parallel_for(R, MAX(1, 65536 / MAX(S, 1)), per_feature ? rows_fwd : rows_fwd_instance, k);
  fr_graph_op_end(g, t0, name, y, 0, 8.0 * (double)fr_tensor_numel(x), 4.0 * (double)fr_tensor_numel(y));
  FrNode *n = fr_graph_record(g, name, rows_bwd_node, y, 3, x, gamma, beta);
  if (n) n->ctx = k;
  return y;
}

FrTensor *fr_instance_norm2d(FrGraph *g, FrTensor *x, FrTensor *gamma, FrTensor *beta, float eps, FrAct act) {
  g_assert(x->ndim == 4);
  int64_t C = x->shape[1];
  g_assert(!gamma || fr_tensor_numel(gamma) == C);
  return row_norm(g, x, gamma, beta, eps, act, x->shape[0] * C, x->shape[2] * x->shape[3], C, false,
                  norm_name("instance", act), false);
}

FrTensor *fr_instance_norm2d_(FrGraph *g, FrTensor *x, FrTensor *gamma, FrTensor *beta, float eps, FrAct act) {
  g_assert(x->ndim == 4 && fr_tensor_is_contiguous(x));
  int64_t C = x->shape[1];
  g_assert(!gamma || fr_tensor_numel(gamma) == C);
  return row_norm(g, x, gamma, beta, eps, act, x->shape[0] * C, x->shape[2] * x->shape[3], C, false,
                  norm_name("instance", act), true);
}

FrTensor *fr_layer_norm(FrGraph *g, FrTensor *x, FrTensor *gamma, FrTensor *beta, float eps, FrAct act) {
  int64_t D = x->shape[x->ndim - 1];
  g_assert(!gamma || fr_tensor_numel(gamma) == D);
  return row_norm(g, x, gamma, beta, eps, act, fr_tensor_numel(x) / (D ? D : 1), D, D, true,
                  norm_name("layer", act), false);
}
