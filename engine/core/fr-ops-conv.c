/* Convolutions: im2col + one GEMM per group (batch folded into GEMM's N), a direct loop for depthwise,
 * and transposed convolution as the adjoint of im2col. */
#include "fr-ops.h"
#include "fr-pool.h"

#include <string.h>

typedef struct {
  int64_t B, C, H, W;      /* the image side (conv input / transposed-conv output) */
  int64_t kh, kw, Ho, Wo;  /* the column side */
  int stride, pad, dil;
  FrPadMode mode;
} Geom;

static inline int64_t reflect_index(int64_t i, int64_t n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

/* source index along one axis, or -1 for a zero-padded position */
static inline int64_t src_index(int64_t o, int64_t k, const Geom *g, int64_t n) {
  int64_t i = o * g->stride - g->pad + k * g->dil;
  if (i >= 0 && i < n) return i;
  return g->mode == FR_PAD_REFLECT ? reflect_index(i, n) : -1;
}

typedef struct { const Geom *g; const float *img; float *cols; } ColCtx;

/* cols[(c*kh+ki)*kw+kj][(b*Ho+oh)*Wo+ow] */
static void im2col_rows(void *p, int64_t r0, int64_t r1) {
  ColCtx *c = p;
  const Geom *g = c->g;
  int64_t N = g->B * g->Ho * g->Wo;
  for (int64_t r = r0; r < r1; r++) {
    int64_t ch = r / (g->kh * g->kw), ki = r / g->kw % g->kh, kj = r % g->kw;
    float *row = c->cols + r * N;
    for (int64_t b = 0; b < g->B; b++) {
      const float *plane = c->img + (b * g->C + ch) * g->H * g->W;
      for (int64_t oh = 0; oh < g->Ho; oh++) {
        int64_t ih = src_index(oh, ki, g, g->H);
        float *dst = row + (b * g->Ho + oh) * g->Wo;
        if (ih < 0) {
          memset(dst, 0, sizeof(float) * (size_t)g->Wo);
          continue;
        }
        const float *src = plane + ih * g->W;
        if (g->stride == 1 && g->mode == FR_PAD_ZEROS) {
          /* fast path: zero edges around one contiguous copy */
          int64_t off = kj * g->dil - g->pad, Wo = g->Wo, W = g->W;
          int64_t lo = off < 0 ? -off : 0, hi = W - off < Wo ? W - off : Wo;
          if (hi < lo) hi = lo;
          for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0.0f;
          memcpy(dst + lo, src + lo + off, sizeof(float) * (size_t)(hi - lo));
          for (int64_t ow = hi; ow < Wo; ow++) dst[ow] = 0.0f;
        } else {
          for (int64_t ow = 0; ow < g->Wo; ow++) {
            int64_t iw = src_index(ow, kj, g, g->W);
            dst[ow] = iw < 0 ? 0.0f : src[iw];
          }
        }
      }
    }
  }
}

static void im2col(const Geom *g, const float *img, float *cols) {
  ColCtx c = { g, img, cols };
  fr_parallel_for(g->C * g->kh * g->kw, 1, im2col_rows, &c);
}

/* accumulate cols back into the image; one channel per task so no two tasks write the same pixel */
static void col2im_channels(void *p, int64_t c0, int64_t c1) {
  ColCtx *c = p;
  const Geom *g = c->g;
  int64_t N = g->B * g->Ho * g->Wo;
  float *img = (float *)c->img;
  for (int64_t ch = c0; ch < c1; ch++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++) {
        const float *row = c->cols + ((ch * g->kh + ki) * g->kw + kj) * N;
        for (int64_t b = 0; b < g->B; b++) {
          float *plane = img + (b * g->C + ch) * g->H * g->W;
          for (int64_t oh = 0; oh < g->Ho; oh++) {
            int64_t ih = src_index(oh, ki, g, g->H);
            if (ih < 0) continue;
            const float *restrict src = row + (b * g->Ho + oh) * g->Wo;
            float *restrict dst = plane + ih * g->W;
            if (g->stride == 1 && g->mode == FR_PAD_ZEROS) {
              /* the adjoint of im2col's fast path: one contiguous run */
              int64_t off = kj * g->dil - g->pad, Wo = g->Wo, W = g->W;
              int64_t lo = off < 0 ? -off : 0, hi = W - off < Wo ? W - off : Wo;
#pragma omp simd
              for (int64_t ow = lo; ow < hi; ow++) dst[ow + off] += src[ow];
              continue;
            }
            for (int64_t ow = 0; ow < g->Wo; ow++) {
              int64_t iw = src_index(ow, kj, g, g->W);
              if (iw >= 0) dst[iw] += src[ow];
            }
          }
        }
      }
}

static void col2im_add(const Geom *g, const float *cols, float *img) {
  ColCtx c = { g, img, (float *)cols };
  fr_parallel_for(g->C, 1, col2im_channels, &c);
}

/* [B, C, S] <-> [C, B, S] */
static void swap01(const float *src, float *dst, int64_t A, int64_t Bn, int64_t S, bool accumulate) {
  for (int64_t a = 0; a < A; a++)
    for (int64_t b = 0; b < Bn; b++) {
      const float *s = src + (a * Bn + b) * S;
      float *d = dst + (b * A + a) * S;
      if (accumulate) for (int64_t i = 0; i < S; i++) d[i] += s[i];
      else memcpy(d, s, sizeof(float) * (size_t)S);
    }
}

/* ------------------------------------------------------------------ conv2d */

typedef struct {
  Geom geom;
  int groups;
  float *cols;   /* saved im2col of the input */
  bool depthwise;
  bool pointwise; /* 1x1, stride 1, no padding, one group: the input is its own im2col, per image */
} ConvCtx;

static void conv_out_size(const FrTensor *x, const FrTensor *w, FrConv2dParams p, int64_t *Ho, int64_t *Wo) {
  int64_t kh = w->shape[2], kw = w->shape[3];
  *Ho = (x->shape[2] + 2 * p.padding - p.dilation * (kh - 1) - 1) / p.stride + 1;
  *Wo = (x->shape[3] + 2 * p.padding - p.dilation * (kw - 1) - 1) / p.stride + 1;
}

typedef struct { const Geom *g; const float *x, *w, *gy; float *y, *gx, *gw; } DwCtx;

/* Depthwise convolution, one plane at a time. The padded input plane (zeros or reflection) is split
 * into stride x stride phase planes, phase (a, b) holding padded pixels (r*s + a, c*s + b), Hq x Wq
 * each. Output (oh, ow) then reads phase (R % s, C % s) at (oh + R / s, ow + C / s) for the tap at
 * padded offset (R, C), so with the output laid out Wq wide (the columns past Wo are scratch), every
 * tap is ONE contiguous multiply-add over Ho*Wq floats: long, branch-free, vectorised loops even on
 * 7x7 planes, where a row-by-row loop would spend its time in loop overhead. The backward runs the
 * same walk: weight gradients are dot products, input gradients axpys into phase planes of the
 * gradient, folded back through the padding at the end. */
#define DW_IMAGES 32   /* images of one channel handled together: buffers stay in L2 */

typedef struct {
  int64_t Hq, Wq, plane;   /* phase plane size, padded so every output fits in one plane */
  int64_t span;            /* floats of one phase for DW_IMAGES images, plus the taps' overrun */
  int64_t *row_src, *col_src;   /* [st*Hq], [st*Wq]: source row/column of each phase position, -1 = 0 */
  float *ph, *gph, *yq;
} DwScratch;

/* source index along one axis of padded position i, or -1 for a zero */
static inline int64_t padded_src(const Geom *g, int64_t i, int64_t padded, int64_t n) {
  if (i >= padded) return -1;
  i -= g->pad;
  if (i >= 0 && i < n) return i;
  return g->mode == FR_PAD_REFLECT ? reflect_index(i, n) : -1;
}

static void dw_scratch_init(const Geom *g, DwScratch *s, bool grad) {
  int64_t st = g->stride, Hp = g->H + 2 * g->pad, Wp = g->W + 2 * g->pad;
  s->Hq = (Hp + st - 1) / st;
  s->Wq = (Wp + st - 1) / st;
  s->plane = s->Hq * s->Wq;
  s->span = DW_IMAGES * s->plane + s->plane + g->kw * g->dil;
  size_t n = (size_t)(st * st * s->span);
  s->ph = g_malloc0(sizeof(float) * n);
  s->gph = grad ? g_malloc0(sizeof(float) * n) : NULL;
  s->yq = g_malloc0(sizeof(float) * (size_t)s->span);
  s->row_src = g_new(int64_t, st * s->Hq);
  s->col_src = g_new(int64_t, st * s->Wq);
  for (int64_t a = 0; a < st; a++) {
    for (int64_t r = 0; r < s->Hq; r++) s->row_src[a * s->Hq + r] = padded_src(g, r * st + a, Hp, g->H);
    for (int64_t c = 0; c < s->Wq; c++) s->col_src[a * s->Wq + c] = padded_src(g, c * st + a, Wp, g->W);
  }
}

static void dw_scratch_clear(DwScratch *s) {
  g_free(s->ph);
  g_free(s->gph);
  g_free(s->yq);
  g_free(s->row_src);
  g_free(s->col_src);
}

/* phases of image j of the block: phase (a, b) of all images lies at ph + (a*st + b)*span, image
 * after image, `plane` floats apart */
static void dw_phases(const Geom *g, const DwScratch *s, const float *x, int64_t j) {
  int64_t st = g->stride;
  for (int64_t a = 0; a < st; a++)
    for (int64_t b = 0; b < st; b++) {
      float *ph = s->ph + (a * st + b) * s->span + j * s->plane;
      const int64_t *cols = s->col_src + b * s->Wq;
      for (int64_t r = 0; r < s->Hq; r++) {
        int64_t si = s->row_src[a * s->Hq + r];
        float *dst = ph + r * s->Wq;
        if (si < 0) {
          memset(dst, 0, sizeof(float) * (size_t)s->Wq);
          continue;
        }
        const float *src = x + si * g->W;
        if (st == 1 && g->mode != FR_PAD_REFLECT) {   /* the common case: zero border, a row copy */
          memset(dst, 0, sizeof(float) * (size_t)g->pad);
          memcpy(dst + g->pad, src, sizeof(float) * (size_t)g->W);
          memset(dst + g->pad + g->W, 0, sizeof(float) * (size_t)(s->Wq - g->pad - g->W));
          continue;
        }
        for (int64_t c = 0; c < s->Wq; c++) dst[c] = cols[c] >= 0 ? src[cols[c]] : 0.0f;
      }
    }
}

/* where tap (ki, kj) starts reading: phase plane and offset within it */
static inline const float *dw_tap(const Geom *g, const DwScratch *s, float *planes, int64_t ki, int64_t kj) {
  int64_t R = ki * g->dil, C = kj * g->dil, st = g->stride;
  return planes + ((R % st) * st + C % st) * s->span + (R / st) * s->Wq + C / st;
}

/* Built for AVX-512, AVX2 and baseline x86-64; the loader picks one (the engine targets any x86-64). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FR_KERNEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FR_KERNEL_CLONES
#endif

#define DW_ROW_MAX 7

/* yq[t] += sum_j w[j] * taps[j][t] for a constant kw (inlined, so the j loop unrolls inside the
 * vectorised t loop) */
static inline __attribute__((always_inline)) void dw_row(float *restrict yq, const float *const *taps,
                                                         const float *w, int64_t n, const int kw) {
  float wv[DW_ROW_MAX];
  for (int j = 0; j < kw; j++) wv[j] = w[j];
#pragma omp simd
  for (int64_t t = 0; t < n; t++) {
    float acc = yq[t];
    for (int j = 0; j < kw; j++) acc += wv[j] * taps[j][t];
    yq[t] = acc;
  }
}

/* channels [c0, c1) of every image */
FR_KERNEL_CLONES static void dw_fwd(void *p, int64_t c0, int64_t c1) {
  DwCtx *c = p;
  const Geom *g = c->g;
  DwScratch s;
  dw_scratch_init(g, &s, false);
  for (int64_t ch = c0; ch < c1; ch++) {
    const float *w = c->w + ch * g->kh * g->kw;
    for (int64_t b0 = 0; b0 < g->B; b0 += DW_IMAGES) {
      int64_t nb = MIN(DW_IMAGES, g->B - b0), n = nb * s.plane;
      for (int64_t j = 0; j < nb; j++) dw_phases(g, &s, c->x + ((b0 + j) * g->C + ch) * g->H * g->W, j);
      float *restrict yq = s.yq;
      memset(yq, 0, sizeof(float) * (size_t)n);
      for (int64_t ki = 0; ki < g->kh; ki++) {
        const float *taps[DW_ROW_MAX];
        int64_t kw = g->kw;
        for (int64_t kj = 0; kj < MIN(kw, DW_ROW_MAX); kj++) taps[kj] = dw_tap(g, &s, s.ph, ki, kj);
        switch (kw) {   /* a whole row of taps per pass: yq is loaded and stored once, not kw times */
        case 3: dw_row(yq, taps, w + ki * kw, n, 3); break;
        case 5: dw_row(yq, taps, w + ki * kw, n, 5); break;
        case 7: dw_row(yq, taps, w + ki * kw, n, 7); break;
        default:
          for (int64_t kj = 0; kj < kw; kj++) {
            const float wv = w[ki * kw + kj];
            const float *restrict xs = dw_tap(g, &s, s.ph, ki, kj);
#pragma omp simd
            for (int64_t t = 0; t < n; t++) yq[t] += wv * xs[t];
          }
        }
      }
      for (int64_t j = 0; j < nb; j++) {
        float *y = c->y + ((b0 + j) * g->C + ch) * g->Ho * g->Wo;
        const float *q = yq + j * s.plane;
        for (int64_t oh = 0; oh < g->Ho; oh++)
          for (int64_t ow = 0; ow < g->Wo; ow++) y[oh * g->Wo + ow] += q[oh * s.Wq + ow];
      }
    }
  }
  dw_scratch_clear(&s);
}

/* gx += the gradient phase planes folded back through the phases and the padding */
static void dw_unphase_add(const Geom *g, const DwScratch *s, float *gx, int64_t j) {
  int64_t st = g->stride;
  for (int64_t a = 0; a < st; a++)
    for (int64_t b = 0; b < st; b++) {
      const float *gp = s->gph + (a * st + b) * s->span + j * s->plane;
      const int64_t *cols = s->col_src + b * s->Wq;
      for (int64_t r = 0; r < s->Hq; r++) {
        int64_t si = s->row_src[a * s->Hq + r];
        if (si < 0) continue;
        for (int64_t c = 0; c < s->Wq; c++)
          if (cols[c] >= 0) gx[si * g->W + cols[c]] += gp[r * s->Wq + c];
      }
    }
}

FR_KERNEL_CLONES static void dw_bwd(void *p, int64_t c0, int64_t c1) {
  DwCtx *c = p;
  const Geom *g = c->g;
  DwScratch s;
  dw_scratch_init(g, &s, true);
  int64_t st = g->stride;
  for (int64_t ch = c0; ch < c1; ch++) {
    const float *w = c->w + ch * g->kh * g->kw;
    float *gw = c->gw ? c->gw + ch * g->kh * g->kw : NULL;
    for (int64_t b0 = 0; b0 < g->B; b0 += DW_IMAGES) {
      int64_t nb = MIN(DW_IMAGES, g->B - b0), n = nb * s.plane;
      float *restrict gq = s.yq;   /* gy laid out like the output planes, zero in the scratch columns */
      memset(gq, 0, sizeof(float) * (size_t)n);
      for (int64_t j = 0; j < nb; j++) {
        const float *gy = c->gy + ((b0 + j) * g->C + ch) * g->Ho * g->Wo;
        for (int64_t oh = 0; oh < g->Ho; oh++)
          memcpy(gq + j * s.plane + oh * s.Wq, gy + oh * g->Wo, sizeof(float) * (size_t)g->Wo);
        if (gw) dw_phases(g, &s, c->x + ((b0 + j) * g->C + ch) * g->H * g->W, j);
      }
      if (c->gx) memset(s.gph, 0, sizeof(float) * (size_t)(st * st * s.span));
      for (int64_t ki = 0; ki < g->kh; ki++)
        for (int64_t kj = 0; kj < g->kw; kj++) {
          if (gw) {
            const float *restrict xs = dw_tap(g, &s, s.ph, ki, kj);
            float acc = 0;
#pragma omp simd reduction(+ : acc)
            for (int64_t t = 0; t < n; t++) acc += gq[t] * xs[t];
            gw[ki * g->kw + kj] += acc;
          }
          if (c->gx) {
            const float wv = w[ki * g->kw + kj];
            float *restrict gs = (float *)dw_tap(g, &s, s.gph, ki, kj);
#pragma omp simd
            for (int64_t t = 0; t < n; t++) gs[t] += wv * gq[t];
          }
        }
      if (c->gx)
        for (int64_t j = 0; j < nb; j++) dw_unphase_add(g, &s, c->gx + ((b0 + j) * g->C + ch) * g->H * g->W, j);
    }
  }
  dw_scratch_clear(&s);
}

static void bias_grad(const float *gy, int64_t B, int64_t C, int64_t S, float *gb) {
  for (int64_t b = 0; b < B; b++)
    for (int64_t c = 0; c < C; c++) {
      const float *p = gy + (b * C + c) * S;
      double acc = 0;
      for (int64_t i = 0; i < S; i++) acc += p[i];
      gb[c] += (float)acc;
    }
}

static void conv2d_bwd(FrGraph *gr, FrNode *n) {
  ConvCtx *c = n->ctx;
  const Geom *g = &c->geom;
  FrTensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
  int64_t Cout = w->shape[0], S = g->Ho * g->Wo, N = g->B * S;
  float *gx = fr_grad(gr, x), *gw = fr_grad(gr, w), *gb = fr_grad(gr, b);
  if (gb) bias_grad(y->grad, g->B, Cout, S, gb);
  if (c->depthwise) {
    DwCtx d = { .g = g, .x = x->data, .w = w->data, .gy = y->grad, .gx = gx, .gw = gw };
    fr_parallel_for(g->C, 1, dw_bwd, &d);
    return;
  }
  if (c->pointwise) {
    int64_t Cin = g->C;
    for (int64_t i = 0; i < g->B; i++) {
      const float *gyi = y->grad + i * Cout * S, *xi = x->data + i * Cin * S;
      if (gw) fr_gemm(false, true, Cout, Cin, S, 1.0f, gyi, S, xi, S, 1.0f, gw, Cin);
      if (gx) fr_gemm(true, false, Cin, S, Cout, 1.0f, w->data, Cin, gyi, S, 1.0f, gx + i * Cin * S, S);
    }
    return;
  }
  float *gy_mat = fr_graph_alloc(gr, sizeof(float) * (size_t)(Cout * N));
  swap01(y->grad, gy_mat, g->B, Cout, S, false);
  int64_t coutg = Cout / c->groups, K = (g->C / c->groups) * g->kh * g->kw;
  float *gcols = gx ? fr_graph_alloc(gr, sizeof(float) * (size_t)(K * c->groups * N)) : NULL;
  for (int gi = 0; gi < c->groups; gi++) {
    const float *gyg = gy_mat + gi * coutg * N, *colg = c->cols + gi * K * N, *wg = w->data + gi * coutg * K;
    if (gw) fr_gemm(false, true, coutg, K, N, 1.0f, gyg, N, colg, N, 1.0f, gw + gi * coutg * K, K);
    if (gx) fr_gemm(true, false, K, N, coutg, 1.0f, wg, K, gyg, N, 0.0f, gcols + gi * K * N, N);
  }
  if (gx) col2im_add(g, gcols, gx);
}

FrTensor *fr_conv2d(FrGraph *gr, FrTensor *x, FrTensor *w, FrTensor *b, FrConv2dParams p) {
  g_assert(x->ndim == 4 && w->ndim == 4);
  if (p.stride < 1) p.stride = 1;
  if (p.dilation < 1) p.dilation = 1;
  if (p.groups < 1) p.groups = 1;
  int64_t B = x->shape[0], Cin = x->shape[1], Cout = w->shape[0];
  g_assert(Cin % p.groups == 0 && Cout % p.groups == 0 && w->shape[1] == Cin / p.groups);
  g_assert(p.pad_mode != FR_PAD_REFLECT || (p.padding < x->shape[2] && p.padding < x->shape[3]));
  gint64 t0 = fr_graph_op_begin(gr);
  int64_t Ho, Wo;
  conv_out_size(x, w, p, &Ho, &Wo);
  g_assert(Ho > 0 && Wo > 0);
  Geom geom = { B, Cin, x->shape[2], x->shape[3], w->shape[2], w->shape[3], Ho, Wo, p.stride, p.padding,
                p.dilation, p.pad_mode };
  FrTensor *y = fr_tensor_new(gr, 4, FR_SHAPE(B, Cout, Ho, Wo));
  int64_t S = Ho * Wo, N = B * S;
  bool depthwise = p.groups == Cin && Cout == Cin && Cin > 1;
  bool pointwise = !depthwise && p.groups == 1 && geom.kh == 1 && geom.kw == 1 && p.stride == 1 && p.padding == 0;
  float *cols = NULL;
  if (depthwise) {
    for (int64_t i = 0; i < B; i++)
      for (int64_t c = 0; c < Cout; c++) {
        float *yp = y->data + (i * Cout + c) * S;
        float bv = b ? b->data[c] : 0.0f;
        for (int64_t s = 0; s < S; s++) yp[s] = bv;
      }
    DwCtx d = { .g = &geom, .x = x->data, .w = w->data, .y = y->data };
    fr_parallel_for(Cin, 1, dw_fwd, &d);
  } else {
    int64_t K = (Cin / p.groups) * geom.kh * geom.kw, coutg = Cout / p.groups;
    if (pointwise) {
      /* one GEMM per image straight into NCHW: no im2col copy and no [C, B*S] -> [B, C, S] reorder */
      for (int64_t i = 0; i < B; i++)
        fr_gemm(false, false, Cout, S, Cin, 1.0f, w->data, Cin, x->data + i * Cin * S, S, 0.0f, y->data + i * Cout * S, S);
    } else {
      cols = fr_graph_alloc(gr, sizeof(float) * (size_t)(K * p.groups * N));
      im2col(&geom, x->data, cols);
      float *ymat = fr_graph_alloc(gr, sizeof(float) * (size_t)(Cout * N));
      for (int gi = 0; gi < p.groups; gi++)
        fr_gemm(false, false, coutg, N, K, 1.0f, w->data + gi * coutg * K, K, cols + gi * K * N, N, 0.0f,
                ymat + gi * coutg * N, N);
      swap01(ymat, y->data, Cout, B, S, false);
    }
    if (b)
      for (int64_t i = 0; i < B; i++)
        for (int64_t c = 0; c < Cout; c++) {
          float *yp = y->data + (i * Cout + c) * S;
          for (int64_t s = 0; s < S; s++) yp[s] += b->data[c];
        }
  }
  double macs = (double)N * (double)Cout * (double)(Cin / p.groups) * geom.kh * geom.kw;
  fr_graph_op_end(gr, t0, depthwise ? "conv2d_depthwise" : "conv2d", y, macs,
                  4.0 * (double)(fr_tensor_numel(x) + fr_tensor_numel(w)), 4.0 * (double)fr_tensor_numel(y));
  FrNode *n = fr_graph_record(gr, depthwise ? "conv2d_depthwise" : "conv2d", conv2d_bwd, y, 3, x, w, b);
  if (n) {
    ConvCtx *c = fr_graph_alloc(gr, sizeof *c);
    c->geom = geom;
    c->groups = p.groups;
    c->cols = cols;
    c->depthwise = depthwise;
    c->pointwise = pointwise;
    n->ctx = c;
    n->bwd_macs = 2 * macs;
  }
  return y;
}

/* ------------------------------------------------------------------ transposed conv */

typedef struct { Geom geom; float *xmat; } ConvTCtx;

static void conv_t_bwd(FrGraph *gr, FrNode *n) {
  ConvTCtx *c = n->ctx;
  const Geom *g = &c->geom;   /* image side = output y, column side = input x */
  FrTensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
  int64_t Cin = x->shape[1], Cout = y->shape[1], KK = Cout * g->kh * g->kw, N = g->B * g->Ho * g->Wo;
  float *gx = fr_grad(gr, x), *gw = fr_grad(gr, w), *gb = fr_grad(gr, b);
  if (gb) bias_grad(y->grad, g->B, Cout, g->H * g->W, gb);
  if (!gx && !gw) return;
  float *gcols = fr_graph_alloc(gr, sizeof(float) * (size_t)(KK * N));
  im2col(g, y->grad, gcols);
  if (gw) fr_gemm(false, true, Cin, KK, N, 1.0f, c->xmat, N, gcols, N, 1.0f, gw, KK);
  if (gx) {
    float *gxmat = fr_graph_alloc(gr, sizeof(float) * (size_t)(Cin * N));
    fr_gemm(false, false, Cin, N, KK, 1.0f, w->data, KK, gcols, N, 0.0f, gxmat, N);
    swap01(gxmat, gx, Cin, g->B, g->Ho * g->Wo, true);
  }
}

FrTensor *fr_conv_transpose2d(FrGraph *gr, FrTensor *x, FrTensor *w, FrTensor *b, int stride, int padding,
                              int output_padding) {
  g_assert(x->ndim == 4 && w->ndim == 4 && w->shape[0] == x->shape[1]);
  g_assert(stride >= 1 && padding >= 0 && output_padding >= 0 && output_padding < stride);
  gint64 t0 = fr_graph_op_begin(gr);
  int64_t B = x->shape[0], Cin = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t Cout = w->shape[1], kh = w->shape[2], kw = w->shape[3];
  int64_t Ho = (H - 1) * stride - 2 * padding + kh + output_padding;
  int64_t Wo = (W - 1) * stride - 2 * padding + kw + output_padding;
  g_assert(Ho > 0 && Wo > 0);
  Geom geom = { B, Cout, Ho, Wo, kh, kw, H, W, stride, padding, 1, FR_PAD_ZEROS };
  int64_t N = B * H * W, KK = Cout * kh * kw;
  float *xmat = fr_graph_alloc(gr, sizeof(float) * (size_t)(Cin * N));
  swap01(x->data, xmat, B, Cin, H * W, false);
  float *cols = fr_graph_alloc(gr, sizeof(float) * (size_t)(KK * N));
  fr_gemm(true, false, KK, N, Cin, 1.0f, w->data, KK, xmat, N, 0.0f, cols, N);
  FrTensor *y = fr_tensor_zeros(gr, 4, FR_SHAPE(B, Cout, Ho, Wo));
  col2im_add(&geom, cols, y->data);
  if (b)
    for (int64_t i = 0; i < B; i++)
      for (int64_t c = 0; c < Cout; c++) {
        float *yp = y->data + (i * Cout + c) * Ho * Wo;
        for (int64_t s = 0; s < Ho * Wo; s++) yp[s] += b->data[c];
      }
  double macs = (double)N * (double)KK * (double)Cin;
  fr_graph_op_end(gr, t0, "conv_transpose2d", y, macs,
                  4.0 * (double)(fr_tensor_numel(x) + fr_tensor_numel(w)), 4.0 * (double)fr_tensor_numel(y));
  FrNode *n = fr_graph_record(gr, "conv_transpose2d", conv_t_bwd, y, 3, x, w, b);
  if (n) {
    ConvTCtx *c = fr_graph_alloc(gr, sizeof *c);
    c->geom = geom;
    c->xmat = xmat;
    n->ctx = c;
    n->bwd_macs = 2 * macs;
  }
  return y;
}
