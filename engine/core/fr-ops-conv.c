/* Convolutions.
 *
 * Training (a gradient will be taken): im2col + one GEMM per group (batch folded into GEMM's N), the
 * im2col kept for the weight gradient; depthwise as batched phase planes (direct rows at stride 1 on
 * planes >= 16 wide).
 * Inference (nothing recorded), by shape:
 *   - stride 1 or 2 on planes at least 16 wide (a ResNet block's 3x3, 7x7 stems, 1x1 pointwise, the
 *     downsamplings): a direct kernel, no im2col and no GEMM packing, accumulators in vector registers
 *     (stride 2 on the input's phase planes);
 *   - at most 4 output channels (a generator's RGB/grey output layer): a direct kernel that shares each
 *     input load between two output rows;
 *   - everything else (small planes, groups, other strides): im2col a tile at a time into an L2-sized
 *     per-thread scratch, one GEMM per tile straight into the NCHW output;
 *   - depthwise at stride 1 on wide planes: direct rows on a padded plane.
 * Reflect padding is applied by the copy each path makes (padded planes, tiles). Transposed convolution,
 * forward always: stride x stride phases, each an ordinary stride-1 convolution of x (shifted GEMMs,
 * phases sharing a GEMM where they read the same shift; tiled im2col on small planes), no col2im; its
 * backward is the adjoint of im2col as before. */
#include "fr-ops.h"
#include "fr-pool.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Built for AVX-512, AVX2 and baseline x86-64; the loader picks one (the engine targets any x86-64). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FR_KERNEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FR_KERNEL_CLONES
#endif

/* The least work (multiply-adds) worth a parallel task: waking a pool thread costs about as much. */
#define TASK_MACS (1 << 20)

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

/* ------------------------------------------------------------------ tiled forward (no gradient) */

/* When no gradient will be taken, a convolution needs no saved im2col: the output is made tile by
 * tile, each tile's im2col written into a per-thread scratch that stays in L2 and consumed at once
 * by one GEMM whose result goes straight into the NCHW output (or through a small scatter when a tile
 * spans images or the output is a strided grid: transposed convolutions' phases). Reflect padding is
 * folded into the copy: interior runs are memcpy, only the border columns go through the index map. */

typedef struct { size_t n; float *p; } Scratch;

static void scratch_destroy(gpointer data) {
  Scratch *s = data;
  free(s->p);
  g_free(s);
}

static GPrivate scratch_key = G_PRIVATE_INIT(scratch_destroy);

/* this thread's scratch of at least n floats (contents undefined); one user at a time */
static float *thread_scratch(size_t n) {
  Scratch *s = g_private_get(&scratch_key);
  if (!s) {
    s = g_new0(Scratch, 1);
    g_private_set(&scratch_key, s);
  }
  if (s->n < n) {
    free(s->p);
    s->n = (n + 4095) / 4096 * 4096;
    s->p = aligned_alloc(64, s->n * sizeof(float));
    if (!s->p) g_error("conv scratch: out of memory (%zu floats)", s->n);
  }
  return s->p;
}

typedef struct {
  Geom g;                      /* input x [B, C, H, W]; output grid Ho x Wo */
  const float *x, *wmat, *bias;  /* wmat [Cout, K] */
  int64_t Cout, K;
  float *y;
  /* where output grid point (b, co, oh, ow) goes: y[b*y_img + co*y_ch + y_off + oh*y_row + ow*y_col] */
  int64_t y_img, y_ch, y_off, y_row, y_col;
  bool identity;               /* the grid is the whole output plane: y_off 0, y_row Wo, y_col 1, y_ch Ho*Wo */
  bool pointwise;              /* 1x1, stride 1, no padding: a one-image tile's im2col is x itself */
  int pad_w;                   /* padding along W (g.pad is along H); they differ in transposed phases */
  int64_t ntile;               /* output pixels per tile (tiles within an image), or */
  int64_t tiles_per_img, imgs_per_tile;   /* one of them is 0 */
} TileCtx;

/* dst[0, n) = row ih of the input plane read at columns ow*stride - pad + kj*dil for ow in [ow0, ow0+n) */
static inline void im2col_run(const Geom *g, const float *src, int64_t kj, int64_t ow0, int64_t n, float *dst) {
  int64_t st = g->stride, off = kj * g->dil - g->pad, W = g->W;
  /* interior: 0 <= ow*st + off < W */
  int64_t lo = off >= 0 ? 0 : (-off + st - 1) / st;
  int64_t hi = W - off > 0 ? (W - off + st - 1) / st : 0;
  int64_t a = MAX(ow0, MIN(lo, ow0 + n)), e = ow0 + n, b = MAX(a, MIN(hi, e));
  for (int64_t ow = ow0; ow < a; ow++) {
    int64_t iw = src_index(ow, kj, g, W);
    dst[ow - ow0] = iw < 0 ? 0.0f : src[iw];
  }
  if (st == 1) {
    memcpy(dst + (a - ow0), src + a + off, sizeof(float) * (size_t)(b - a));
  } else if (st == 2) {   /* a constant stride vectorises (two loads and a permute) */
    const float *restrict s2 = src + off;
    float *restrict d2 = dst - ow0;
    for (int64_t ow = a; ow < b; ow++) d2[ow] = s2[2 * ow];
  } else {
    for (int64_t ow = a; ow < b; ow++) dst[ow - ow0] = src[ow * st + off];
  }
  for (int64_t ow = b; ow < e; ow++) {
    int64_t iw = src_index(ow, kj, g, W);
    dst[ow - ow0] = iw < 0 ? 0.0f : src[iw];
  }
}

/* dst [Hp, Wp]: the input rows and columns an output grid reads, from (-top, -left) on, padded with
 * zeros or the reflection (top, left may be negative: a crop) */
static void pad_window(const Geom *g, int pad_w, const float *plane, int64_t Hp, int64_t Wp, float *dst) {
  Geom gr = *g, gw = *g;   /* rows and columns read one by one */
  gr.stride = gr.dil = gw.stride = gw.dil = 1;
  gw.pad = pad_w;
  for (int64_t r = 0; r < Hp; r++) {
    int64_t ih = src_index(r, 0, &gr, g->H);   /* r - top, mapped */
    float *d = dst + r * Wp;
    if (ih < 0) memset(d, 0, sizeof(float) * (size_t)Wp);
    else im2col_run(&gw, plane + ih * g->W, 0, 0, Wp, d);
  }
}

/* the im2col of output pixels [p0, p0+np) of images [b0, b0+nb): [C*kh*kw, nb*np] */
static inline __attribute__((always_inline)) void im2col_tile(const Geom *g, int pad_w, const float *x, int64_t b0,
                                                              int64_t nb, int64_t p0, int64_t np, float *cols,
                                                              float *win) {
  int64_t KK = g->kh * g->kw, ncol = nb * np, HW = g->H * g->W;
  if (p0 == 0 && np == g->Ho * g->Wo) {
    /* whole images (small planes, many per tile): pad each plane once, then plain strided copies */
    int64_t st = g->stride, d = g->dil, Wo = g->Wo, Ho = g->Ho;
    int64_t Hp = (Ho - 1) * st + (g->kh - 1) * d + 1, Wp = (Wo - 1) * st + (g->kw - 1) * d + 1;
    for (int64_t ch = 0; ch < g->C; ch++)
      for (int64_t j = 0; j < nb; j++) {
        pad_window(g, pad_w, x + ((b0 + j) * g->C + ch) * HW, Hp, Wp, win);
        for (int64_t ki = 0; ki < g->kh; ki++)
          for (int64_t kj = 0; kj < g->kw; kj++) {
            float *restrict dst = cols + ((ch * g->kh + ki) * g->kw + kj) * ncol + j * np;
            const float *restrict src = win + ki * d * Wp + kj * d;
            for (int64_t oh = 0; oh < Ho; oh++, dst += Wo, src += st * Wp) {
              if (st == 1) {
                for (int64_t ow = 0; ow < Wo; ow++) dst[ow] = src[ow];
              } else if (st == 2) {
                for (int64_t ow = 0; ow < Wo; ow++) dst[ow] = src[2 * ow];
              } else {
                for (int64_t ow = 0; ow < Wo; ow++) dst[ow] = src[ow * st];
              }
            }
          }
      }
    return;
  }
  Geom gw = *g;   /* the W axis */
  gw.pad = pad_w;
  for (int64_t r = 0; r < g->C * KK; r++) {
    int64_t ch = r / KK, ki = r / g->kw % g->kh, kj = r % g->kw;
    float *dst = cols + r * ncol;
    for (int64_t j = 0; j < nb; j++) {
      const float *plane = x + ((b0 + j) * g->C + ch) * HW;
      for (int64_t p = p0, end = p0 + np; p < end;) {
        int64_t oh = p / g->Wo, ow0 = p % g->Wo, n = MIN(g->Wo - ow0, end - p);
        int64_t ih = src_index(oh, ki, g, g->H);
        if (ih < 0) memset(dst, 0, sizeof(float) * (size_t)n);
        else im2col_run(&gw, plane + ih * g->W, kj, ow0, n, dst);
        dst += n;
        p += n;
      }
    }
  }
}

FR_KERNEL_CLONES static void conv_tiles(void *p, int64_t t0, int64_t t1) {
  TileCtx *c = p;
  const Geom *g = &c->g;
  int64_t S = g->Ho * g->Wo, Cout = c->Cout;
  for (int64_t t = t0; t < t1; t++) {
    int64_t b0, nb, p0, np;
    if (c->tiles_per_img) {
      b0 = t / c->tiles_per_img;
      nb = 1;
      p0 = t % c->tiles_per_img * c->ntile;
      np = MIN(c->ntile, S - p0);
    } else {
      b0 = t * c->imgs_per_tile;
      nb = MIN(c->imgs_per_tile, g->B - b0);
      p0 = 0;
      np = S;
    }
    int64_t ncol = nb * np;
    bool direct_in = c->pointwise && nb == 1, direct_out = c->identity && nb == 1;
    bool whole = p0 == 0 && np == S;
    int64_t win = whole && !direct_in ? ((g->Ho - 1) * g->stride + (g->kh - 1) * g->dil + 1) *
                                          ((g->Wo - 1) * g->stride + (g->kw - 1) * g->dil + 1) : 0;
    float *scratch =
      thread_scratch((size_t)((direct_in ? 0 : c->K * ncol) + (direct_out ? 0 : Cout * ncol) + win));
    const float *B = scratch;
    int64_t ldb = ncol;
    if (direct_in) {
      B = c->x + b0 * g->C * g->H * g->W + p0;
      ldb = g->H * g->W;
    } else {
      float *win_buf = scratch + c->K * ncol + (direct_out ? 0 : Cout * ncol);   /* whole images' padded plane */
      im2col_tile(g, c->pad_w, c->x, b0, nb, p0, np, scratch, win_buf);
    }
    if (direct_out) {
      /* the output starts as the bias and the GEMM adds to it (GEMM would zero it first anyway) */
      float *out = c->y + b0 * c->y_img + p0;
      if (c->bias)
        for (int64_t co = 0; co < Cout; co++) {
          float *o = out + co * c->y_ch, bv = c->bias[co];
#pragma omp simd
          for (int64_t i = 0; i < ncol; i++) o[i] = bv;
        }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)Cout, (blasint)ncol, (blasint)c->K, 1.0f,
                  c->wmat, (blasint)c->K, B, (blasint)ldb, c->bias ? 1.0f : 0.0f, out, (blasint)c->y_ch);
      continue;
    }
    float *ct = scratch + (direct_in ? 0 : c->K * ncol);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)Cout, (blasint)ncol, (blasint)c->K, 1.0f, c->wmat,
                (blasint)c->K, B, (blasint)ldb, 0.0f, ct, (blasint)ncol);
    if (c->identity && whole) {   /* whole images: each (image, channel) is one contiguous plane */
      for (int64_t co = 0; co < Cout; co++) {
        float bv = c->bias ? c->bias[co] : 0.0f;
        for (int64_t j = 0; j < nb; j++) {
          float *restrict d = c->y + (b0 + j) * c->y_img + co * c->y_ch;
          const float *restrict src = ct + co * ncol + j * S;
#pragma omp simd
          for (int64_t i = 0; i < S; i++) d[i] = src[i] + bv;
        }
      }
      continue;
    }
    for (int64_t co = 0; co < Cout; co++) {
      float bv = c->bias ? c->bias[co] : 0.0f;
      const float *src = ct + co * ncol;
      for (int64_t j = 0; j < nb; j++) {
        float *base = c->y + (b0 + j) * c->y_img + co * c->y_ch + c->y_off;
        for (int64_t q = p0, end = p0 + np; q < end;) {
          int64_t oh = q / g->Wo, ow0 = q % g->Wo, n = MIN(g->Wo - ow0, end - q);
          float *d = base + oh * c->y_row + ow0 * c->y_col;
          if (c->y_col == 1) {
#pragma omp simd
            for (int64_t i = 0; i < n; i++) d[i] = src[i] + bv;
          } else {
            for (int64_t i = 0; i < n; i++) d[i * c->y_col] = src[i] + bv;
          }
          src += n;
          q += n;
        }
      }
    }
  }
}

/* runs the tiled forward for c (geometry, operands and output mapping filled in) */
static void conv_tiled_run(TileCtx *c) {
  const Geom *g = &c->g;
  int64_t S = g->Ho * g->Wo;
  /* about 1 MiB of im2col per tile (L2), in multiples of 16 columns; a few tiles per thread, but not
   * under TASK_MACS a tile */
  int64_t ntile = MAX(16, 256 * 1024 / MAX(c->K, 1) / 16 * 16);
  int64_t threads = fr_pool_get_threads();
  int64_t want = 4 * threads;
  if (threads > 1 && g->B * ((S + ntile - 1) / ntile) < want) {
    int64_t per = (g->B * S + want - 1) / want, least = TASK_MACS / MAX(c->Cout * c->K, 1);
    ntile = MIN(ntile, MAX(MAX(64, least), (per + 15) / 16 * 16));
  }
  c->ntile = ntile;
  int64_t n_tiles;
  if (S >= ntile || g->B == 1) {
    c->tiles_per_img = (S + ntile - 1) / ntile;
    c->imgs_per_tile = 0;
    n_tiles = g->B * c->tiles_per_img;
  } else {
    c->tiles_per_img = 0;
    c->imgs_per_tile = MAX(1, ntile / S);
    n_tiles = (g->B + c->imgs_per_tile - 1) / c->imgs_per_tile;
  }
  fr_parallel_for(n_tiles, 1, conv_tiles, c);
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

/* ------------------------------------------------------------------ direct kernels */

/* Convolutions computed directly on a padded copy of the input (the padding, zeros or reflection,
 * applied once by the copy), one output row segment at a time with the segment's accumulators in
 * vector registers:
 *   - few output channels (a generator's 7x7 RGB or grey output layer): the im2col would copy
 *     Cin*kh*kw floats per pixel for only Cout*Cin*kh*kw MACs, and GEMM with M = 3 runs at a fraction
 *     of its speed;
 *   - depthwise at stride 1 on planes at least 16 wide: nine multiply-adds per output from one L1
 *     resident plane (small planes keep the batched phase kernel above);
 *   - every other stride-1 or stride-2 convolution on planes at least 16 wide (conv_direct below). */

typedef float v16sf __attribute__((vector_size(64)));

/* acc += w * x as fused multiply-adds (ISO C mode leaves contraction off; these kernels are nothing but
 * multiply-adds, and a fused one is also the more accurate) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")
#endif

/* an unaligned load (a macro: a function returning a 64-byte vector changes the ABI in the baseline build) */
#define V16_LOAD(dst, p) memcpy(&(dst), (p), sizeof(v16sf))

/* dst [H + 2*pad][W + 2*pad]: the plane padded on every side with zeros or its reflection */
static void pad_plane(const float *src, int64_t H, int64_t W, int pad, FrPadMode mode, float *dst) {
  int64_t Wp = W + 2 * pad, Hp = H + 2 * pad;
  bool refl = mode == FR_PAD_REFLECT;
  for (int64_t r = 0; r < Hp; r++) {
    float *d = dst + r * Wp;
    int64_t ih = r - pad;
    if (ih < 0 || ih >= H) {
      if (!refl) {
        memset(d, 0, sizeof(float) * (size_t)Wp);
        continue;
      }
      ih = reflect_index(ih, H);
    }
    const float *s = src + ih * W;
    memcpy(d + pad, s, sizeof(float) * (size_t)W);
    for (int j = 0; j < pad; j++) {
      d[j] = refl ? s[reflect_index(j - pad, W)] : 0.0f;
      d[pad + W + j] = refl ? s[reflect_index(W + j, W)] : 0.0f;
    }
  }
}

#define SC_COUT_MAX 4   /* output channels of the small-Cout kernel */

typedef struct {
  const float *xp;        /* padded input [B, Cin, Hp, Wp] (+ slack for the last row's overrun) */
  const float *wt;        /* weights as [Cin, kh, kw, SC_COUT_MAX] */
  const float *bias;      /* [Cout] or NULL */
  float *y;
  int64_t B, Cin, Hp, Wp, Cout, kh, kw, Ho, Wo;
  int nv;                 /* 16-float vectors per output segment: 1, 2 or 4 */
} SmallCtx;

/* out[(r*CO + co)*16*NV ...]: R output rows of a segment of CO channels, xp at tap (0, 0) of channel 0.
 * With R = 2 the rows share every loaded input vector (input row ir feeds output row r with kernel row
 * ir - r), so each load serves 2*CO multiply-adds. */
static inline __attribute__((always_inline)) void small_cout_seg(const SmallCtx *c, const float *xp, const float *bias,
                                                                 float *out, const int CO, const int NV, const int R) {
  v16sf acc[2][SC_COUT_MAX][4];
  for (int r = 0; r < R; r++)
    for (int co = 0; co < CO; co++)
      for (int j = 0; j < NV; j++) acc[r][co][j] = (v16sf){ 0 } + (bias ? bias[co] : 0.0f);
  int64_t plane = c->Hp * c->Wp, kh = c->kh, kw = c->kw, Wp = c->Wp;
  for (int64_t ci = 0; ci < c->Cin; ci++)
    for (int64_t ir = 0; ir < kh + R - 1; ir++) {
      const float *row = xp + ci * plane + ir * Wp;
      for (int64_t kj = 0; kj < kw; kj++) {
        v16sf xv[4];
        for (int j = 0; j < NV; j++) V16_LOAD(xv[j], row + kj + 16 * j);
        for (int r = 0; r < R; r++) {
          int64_t ki = ir - r;
          if (ki < 0 || ki >= kh) continue;
          const float *wr = c->wt + ((ci * kh + ki) * kw + kj) * SC_COUT_MAX;
          for (int co = 0; co < CO; co++) {
            float wv = wr[co];
            for (int j = 0; j < NV; j++) acc[r][co][j] += wv * xv[j];
          }
        }
      }
    }
  for (int r = 0; r < R; r++)
    for (int co = 0; co < CO; co++)
      for (int j = 0; j < NV; j++) memcpy(out + ((r * CO + co) * NV + j) * 16, &acc[r][co][j], sizeof(v16sf));
}

/* One function per (CO, NV), out of line (inlined side by side, GCC spilled the accumulators). Always
 * two rows: for an odd last row the second is computed from the slack past the input and dropped. */
#define SC_FN(CO, NV)                                                                                   \
  FR_KERNEL_CLONES __attribute__((noinline)) static void small_cout_##CO##_##NV(const SmallCtx *c,         \
                                                                               const float *xp, float *out) { \
    small_cout_seg(c, xp, c->bias, out, CO, NV, 2);                                                     \
  }
SC_FN(1, 1) SC_FN(1, 2) SC_FN(1, 4) SC_FN(2, 1) SC_FN(2, 2) SC_FN(2, 4)
SC_FN(3, 1) SC_FN(3, 2) SC_FN(3, 4) SC_FN(4, 1) SC_FN(4, 2) SC_FN(4, 4)
#undef SC_FN

/* pairs of output rows [r0, r1) of all images: pair r = b * ceil(Ho / 2) + oh / 2 */
static void small_cout_rows(void *p, int64_t r0, int64_t r1) {
  const SmallCtx *c = p;
  int64_t seg = 16 * c->nv, pairs = (c->Ho + 1) / 2;
  float out[2 * SC_COUT_MAX * 64];
  for (int64_t r = r0; r < r1; r++) {
    int64_t b = r / pairs, oh = r % pairs * 2, R = MIN(2, c->Ho - oh);
    for (int64_t ow0 = 0; ow0 < c->Wo; ow0 += seg) {
      const float *xp = c->xp + b * c->Cin * c->Hp * c->Wp + oh * c->Wp + ow0;
#define SC_CASE(CO, NV) \
  case (CO) * 8 + (NV): small_cout_##CO##_##NV(c, xp, out); break;
      switch (c->Cout * 8 + c->nv) {
        SC_CASE(1, 1) SC_CASE(1, 2) SC_CASE(1, 4) SC_CASE(2, 1) SC_CASE(2, 2) SC_CASE(2, 4)
        SC_CASE(3, 1) SC_CASE(3, 2) SC_CASE(3, 4) SC_CASE(4, 1) SC_CASE(4, 2) SC_CASE(4, 4)
      default: g_assert_not_reached();
      }
#undef SC_CASE
      int64_t n = MIN(seg, c->Wo - ow0);
      for (int64_t q = 0; q < R; q++)
        for (int64_t co = 0; co < c->Cout; co++)
          memcpy(c->y + ((b * c->Cout + co) * c->Ho + oh + q) * c->Wo + ow0, out + (q * c->Cout + co) * seg,
                 sizeof(float) * (size_t)n);
    }
  }
}

typedef struct { const float *x; float *xp; int64_t H, W, Hp, Wp; int pad; FrPadMode mode; } PadCtx;

FR_KERNEL_CLONES static void pad_planes(void *p, int64_t i0, int64_t i1) {
  const PadCtx *c = p;
  for (int64_t i = i0; i < i1; i++) pad_plane(c->x + i * c->H * c->W, c->H, c->W, c->pad, c->mode, c->xp + i * c->Hp * c->Wp);
}

static inline int seg_vectors(int64_t Wo) { return Wo >= 48 ? 4 : Wo >= 24 ? 2 : 1; }

/* stride 1, dilation 1, groups 1, Cout <= SC_COUT_MAX; y [B, Cout, Ho, Wo] is written whole */
static void conv_small_cout(FrGraph *gr, const Geom *g, const float *x, const float *w, const float *bias,
                            int64_t Cout, float *y) {
  int64_t Hp = g->H + 2 * g->pad, Wp = g->W + 2 * g->pad, planes = g->B * g->C;
  int nv = seg_vectors(g->Wo);
  int64_t slack = Wp + 16 * nv + g->kw + 64;   /* an odd last row's partner row, the last segment's overrun */
  float *xp = fr_graph_alloc(gr, sizeof(float) * (size_t)(planes * Hp * Wp + slack));
  memset(xp + planes * Hp * Wp, 0, sizeof(float) * (size_t)slack);
  PadCtx pc = { x, xp, g->H, g->W, Hp, Wp, g->pad, g->mode };
  fr_parallel_for(planes, MAX(1, 32768 / (Hp * Wp)), pad_planes, &pc);
  int64_t K = g->C * g->kh * g->kw;
  float *wt = fr_graph_alloc(gr, sizeof(float) * (size_t)(K * SC_COUT_MAX));
  memset(wt, 0, sizeof(float) * (size_t)(K * SC_COUT_MAX));
  for (int64_t co = 0; co < Cout; co++)
    for (int64_t k = 0; k < K; k++) wt[k * SC_COUT_MAX + co] = w[co * K + k];
  SmallCtx c = { xp, wt, bias, y, g->B, g->C, Hp, Wp, Cout, g->kh, g->kw, g->Ho, g->Wo, nv };
  int64_t pair_macs = 2 * Cout * K * g->Wo;
  fr_parallel_for(g->B * ((g->Ho + 1) / 2), MAX(1, TASK_MACS / pair_macs), small_cout_rows, &c);
}

typedef struct { const Geom *g; const float *x, *w, *bias; float *y; int nv; } DwDirectCtx;

static inline __attribute__((always_inline)) void dw_direct_seg(const float *xp, int64_t Wp, const float *w,
                                                                int64_t kh, int64_t kw, float bv, float *out,
                                                                const int NV) {
  v16sf acc[4];
  for (int j = 0; j < NV; j++) acc[j] = (v16sf){ 0 } + bv;
  for (int64_t ki = 0; ki < kh; ki++)
    for (int64_t kj = 0; kj < kw; kj++) {
      float wv = w[ki * kw + kj];
      const float *s = xp + ki * Wp + kj;
      for (int j = 0; j < NV; j++) {
        v16sf xv;
        V16_LOAD(xv, s + 16 * j);
        acc[j] += wv * xv;
      }
    }
  for (int j = 0; j < NV; j++) memcpy(out + 16 * j, &acc[j], sizeof(v16sf));
}

/* channels [c0, c1) of every image, stride 1, dilation 1 */
FR_KERNEL_CLONES static void dw_direct(void *p, int64_t c0, int64_t c1) {
  const DwDirectCtx *c = p;
  const Geom *g = c->g;
  int64_t Hp = g->H + 2 * g->pad, Wp = g->W + 2 * g->pad, seg = 16 * c->nv;
  float *xp = thread_scratch((size_t)(Hp * Wp + seg + g->kw + 64));
  memset(xp + Hp * Wp, 0, sizeof(float) * (size_t)(seg + g->kw + 64));
  float out[64];
  for (int64_t ch = c0; ch < c1; ch++) {
    const float *w = c->w + ch * g->kh * g->kw;
    float bv = c->bias ? c->bias[ch] : 0.0f;
    for (int64_t b = 0; b < g->B; b++) {
      pad_plane(c->x + (b * g->C + ch) * g->H * g->W, g->H, g->W, g->pad, g->mode, xp);
      float *y = c->y + (b * g->C + ch) * g->Ho * g->Wo;
      for (int64_t oh = 0; oh < g->Ho; oh++)
        for (int64_t ow0 = 0; ow0 < g->Wo; ow0 += seg) {
          const float *s = xp + oh * Wp + ow0;
          int64_t n = MIN(seg, g->Wo - ow0);
          float *dst = n == seg ? y + oh * g->Wo + ow0 : out;
          switch (c->nv) {
          case 1: dw_direct_seg(s, Wp, w, g->kh, g->kw, bv, dst, 1); break;
          case 2: dw_direct_seg(s, Wp, w, g->kh, g->kw, bv, dst, 2); break;
          default: dw_direct_seg(s, Wp, w, g->kh, g->kw, bv, dst, 4); break;
          }
          if (dst == out) memcpy(y + oh * g->Wo + ow0, out, sizeof(float) * (size_t)n);
        }
    }
  }
}

/* Stride-1 and stride-2 convolutions (3x3 blocks, 7x7 stems, 1x1 pointwise, downsamplings) on planes at
 * least 16 wide: a direct kernel, no im2col and no GEMM packing. A register block holds DC_CB output
 * channels x 16*NV output columns (24 accumulators for NV = 4); for every input channel and tap it
 * loads NV input vectors (unaligned, from a padded copy of the input) and broadcasts DC_CB weights. The
 * input rows a block reads (all channels, kh rows) stay in L2 while every channel block passes over
 * them. 1x1 convolutions read x itself, each plane as one long row. Stride 2 reads the input's four
 * phase planes (even/odd rows x even/odd columns), where every tap is again a contiguous run. On this
 * machine a ResNet block's 3x3 runs at ~54 GMAC/s (the FMA peak is ~58), against ~48 for OpenBLAS
 * with its packing. */
#define DC_CB 6

typedef struct {
  const float *xp;           /* padded input [B, Cin, Hp, Wp] (stride 2: its 4 phase planes per channel)
                              * + slack; 1x1: x itself */
  int64_t img, plane, Wp;    /* floats between images, channels, output rows' reads in xp */
  const int64_t *toff;       /* per tap: offset of output (0, 0)'s read from channel 0's start */
  int64_t ntaps;
  const float *wt;           /* [ceil(Cout / DC_CB), Cin, ntaps, DC_CB], zero-padded */
  const float *bias;
  float *y;
  int64_t B, Cin, Cout, Ho, Wo;
  int64_t rows, rowlen, chunk;  /* per image: rows of rowlen outputs, in column chunks (tasks) */
  int nv;
  bool one;                  /* one tap at offset 0 (1x1) */
} DirectCtx;

/* out[o * ldo + (0 .. 16*NV)] for DC_CB channels: one segment of 16*NV outputs starting at xs (tap (0, 0),
 * channel 0). ONE: a 1x1 kernel (no tap loops). */
static inline __attribute__((always_inline)) void direct_seg(const DirectCtx *c, const float *xs, const float *w,
                                                             const float *bias6, float *out, int64_t ldo,
                                                             const int NV, const bool ONE) {
  v16sf acc[DC_CB][4];
  for (int o = 0; o < DC_CB; o++)
    for (int j = 0; j < NV; j++) acc[o][j] = (v16sf){ 0 } + bias6[o];
  int64_t ntaps = c->ntaps, plane = c->plane;
  const int64_t *toff = c->toff;
  for (int64_t ci = 0; ci < c->Cin; ci++) {
    const float *r = xs + ci * plane;
    if (ONE) {
      v16sf xv[4];
      for (int j = 0; j < NV; j++) V16_LOAD(xv[j], r + 16 * j);
      const float *wt = w + ci * DC_CB;
      for (int o = 0; o < DC_CB; o++) {
        float wv = wt[o];
        for (int j = 0; j < NV; j++) acc[o][j] += wv * xv[j];
      }
      continue;
    }
    const float *wc = w + ci * ntaps * DC_CB;
    for (int64_t t = 0; t < ntaps; t++) {
      v16sf xv[4];
      const float *rt = r + toff[t];
      for (int j = 0; j < NV; j++) V16_LOAD(xv[j], rt + 16 * j);
      const float *wt = wc + t * DC_CB;
      for (int o = 0; o < DC_CB; o++) {
        float wv = wt[o];
        for (int j = 0; j < NV; j++) acc[o][j] += wv * xv[j];
      }
    }
  }
  for (int o = 0; o < DC_CB; o++)
    for (int j = 0; j < NV; j++) memcpy(out + o * ldo + 16 * j, &acc[o][j], sizeof(v16sf));
}

/* One function per variant, not inlined into the task loop: alone, each keeps its input vectors in
 * registers (inlined side by side, GCC reloaded them from memory in every FMA: 20 % slower). */
#define DIRECT_SEG_FN(name, NV, ONE)                                                                      \
  FR_KERNEL_CLONES __attribute__((noinline)) static void name(const DirectCtx *c, const float *xs,       \
                                                              const float *w, const float *bias6,       \
                                                              float *out, int64_t ldo) {                \
    direct_seg(c, xs, w, bias6, out, ldo, NV, ONE);                                                     \
  }
DIRECT_SEG_FN(direct_seg1, 1, false)
DIRECT_SEG_FN(direct_seg1_one, 1, true)
DIRECT_SEG_FN(direct_seg2, 2, false)
DIRECT_SEG_FN(direct_seg2_one, 2, true)
DIRECT_SEG_FN(direct_seg4, 4, false)
DIRECT_SEG_FN(direct_seg4_one, 4, true)
#undef DIRECT_SEG_FN

/* tasks t = (image, row, column chunk) */
static void direct_tasks(void *p, int64_t t0, int64_t t1) {
  const DirectCtx *c = p;
  int64_t seg = 16 * c->nv, chunks = (c->rowlen + c->chunk - 1) / c->chunk, nb = (c->Cout + DC_CB - 1) / DC_CB;
  int64_t S = c->Ho * c->Wo;
  float out[DC_CB * 64];
  for (int64_t t = t0; t < t1; t++) {
    int64_t b = t / (c->rows * chunks), row = t / chunks % c->rows, q0 = t % chunks * c->chunk;
    int64_t q1 = MIN(c->rowlen, q0 + c->chunk);
    const float *xs = c->xp + b * c->img + row * c->Wp;
    for (int64_t cb = 0; cb < nb; cb++) {
      int64_t nco = MIN(DC_CB, c->Cout - cb * DC_CB);
      float bias6[DC_CB] = { 0 };
      for (int64_t o = 0; o < nco; o++) bias6[o] = c->bias ? c->bias[cb * DC_CB + o] : 0.0f;
      const float *w = c->wt + cb * c->Cin * c->ntaps * DC_CB;
      float *yb = c->y + (b * c->Cout + cb * DC_CB) * S + row * c->Wo;
      for (int64_t q = q0; q < q1; q += seg) {
        /* a whole segment of a whole channel block goes straight to y, a partial one through out */
        int64_t n = MIN(seg, q1 - q);
        bool whole = n == seg && nco == DC_CB;
        float *dst = whole ? yb + q : out;
        int64_t ldo = whole ? S : seg;
        switch (c->nv * 2 + c->one) {
        case 2: direct_seg1(c, xs + q, w, bias6, dst, ldo); break;
        case 3: direct_seg1_one(c, xs + q, w, bias6, dst, ldo); break;
        case 4: direct_seg2(c, xs + q, w, bias6, dst, ldo); break;
        case 5: direct_seg2_one(c, xs + q, w, bias6, dst, ldo); break;
        case 9: direct_seg4_one(c, xs + q, w, bias6, dst, ldo); break;
        default: direct_seg4(c, xs + q, w, bias6, dst, ldo); break;
        }
        if (!whole)
          for (int64_t o = 0; o < nco; o++) memcpy(yb + o * S + q, out + o * seg, sizeof(float) * (size_t)n);
      }
    }
  }
}

typedef struct { const float *w; float *wt; int64_t Cout, K; } DcWeightsCtx;

/* wt[cb][k][o] = w[cb*DC_CB + o][k] (zero past Cout) for channel blocks [b0, b1) */
static void direct_weights(void *p, int64_t b0, int64_t b1) {
  const DcWeightsCtx *c = p;
  for (int64_t cb = b0; cb < b1; cb++)
    for (int64_t o = 0; o < DC_CB; o++) {
      int64_t co = cb * DC_CB + o;
      float *d = c->wt + cb * c->K * DC_CB + o;
      if (co >= c->Cout) {
        for (int64_t k = 0; k < c->K; k++) d[k * DC_CB] = 0.0f;
        continue;
      }
      const float *s = c->w + co * c->K;
      for (int64_t k = 0; k < c->K; k++) d[k * DC_CB] = s[k];
    }
}

typedef struct { const Geom *g; const float *x; float *xp; int64_t Hq, Wq; } PhaseCtx;

/* channel planes [i0, i1) into their stride-2 phase planes: phase (a, b) holds padded positions
 * (2i + a, 2j + b). Each plane is padded once (zeros or reflection) into a scratch, then its rows are
 * split into even and odd columns. */
FR_KERNEL_CLONES static void phase_planes(void *p, int64_t i0, int64_t i1) {
  const PhaseCtx *c = p;
  const Geom *g = c->g;
  int64_t Hp = g->H + 2 * g->pad, Wp = g->W + 2 * g->pad, Hq = c->Hq, Wq = c->Wq;
  float *pad = thread_scratch((size_t)(Hp * Wp + 2));
  for (int64_t i = i0; i < i1; i++) {
    pad_plane(c->x + i * g->H * g->W, g->H, g->W, g->pad, g->mode, pad);
    float *base = c->xp + i * 4 * Hq * Wq;
    for (int64_t r = 0; r < Hq; r++)
      for (int a = 0; a < 2; a++) {
        float *restrict d0 = base + (a * 2) * Hq * Wq + r * Wq, *restrict d1 = d0 + Hq * Wq;
        if (2 * r + a >= Hp) {   /* the odd phase's row past the padded plane */
          memset(d0, 0, sizeof(float) * (size_t)Wq);
          memset(d1, 0, sizeof(float) * (size_t)Wq);
          continue;
        }
        const float *restrict row = pad + (2 * r + a) * Wp;
        int64_t n1 = Wp / 2;   /* odd columns that exist */
        for (int64_t j = 0; j < n1; j++) {
          d0[j] = row[2 * j];
          d1[j] = row[2 * j + 1];
        }
        if (Wq > n1) {   /* Wp odd: one more even column, and the odd phase's last is past the plane */
          d0[n1] = row[2 * n1];
          d1[n1] = 0.0f;
        }
      }
  }
}

/* stride 1 or 2, groups 1; y [B, Cout, Ho, Wo] is written whole */
static void conv_direct(FrGraph *gr, const Geom *g, const float *x, const float *w, const float *bias, int64_t Cout,
                        float *y) {
  int64_t taps = g->kh * g->kw, K = g->C * taps, nb = (Cout + DC_CB - 1) / DC_CB, S = g->Ho * g->Wo;
  float *wt = fr_graph_alloc(gr, sizeof(float) * (size_t)(nb * K * DC_CB));
  DcWeightsCtx wc = { w, wt, Cout, K };
  fr_parallel_for(nb, MAX(1, 65536 / (K * DC_CB)), direct_weights, &wc);
  int64_t *toff = fr_graph_alloc(gr, sizeof(int64_t) * (size_t)taps);
  DirectCtx c = { .toff = toff, .ntaps = taps, .wt = wt, .bias = bias, .y = y, .B = g->B, .Cin = g->C, .Cout = Cout,
                  .Ho = g->Ho, .Wo = g->Wo };
  bool flat = taps == 1 && g->pad == 0 && g->stride == 1;
  if (flat && S % 16 == 0) {
    /* 1x1: x itself, each plane one row, in tasks of columns whose input (all channels) takes about
     * 192 KiB, so that it stays in L2 while every channel block passes over it (1024 columns of 192
     * channels measured 9 % slower; chunks small enough for L1 did not help) */
    toff[0] = 0;
    c.one = true;
    c.xp = x;
    c.img = g->C * S;
    c.plane = S;
    c.Wp = 0;
    c.rows = 1;
    c.rowlen = S;
    c.nv = S % 64 == 0 ? 4 : S % 32 == 0 ? 2 : 1;
    c.chunk = MIN(S, MAX(64, 48 * 1024 / g->C / 64 * 64));
  } else {
    int64_t planes = g->B * g->C, Hp = g->H + 2 * g->pad, Wp = g->W + 2 * g->pad, chan;
    int nv = seg_vectors(g->Wo);
    if (g->stride == 1) {
      chan = Hp * Wp;
      for (int64_t t = 0; t < taps; t++) toff[t] = t / g->kw * g->dil * Wp + t % g->kw * g->dil;
      c.Wp = Wp;
    } else {   /* stride 2: tap (ki, kj) reads phase (ki % 2, kj % 2) at row ki / 2, column kj / 2 */
      int64_t Hq = (Hp + 1) / 2, Wq = (Wp + 1) / 2;
      chan = 4 * Hq * Wq;
      for (int64_t t = 0; t < taps; t++) {
        int64_t ki = t / g->kw, kj = t % g->kw;
        toff[t] = ((ki % 2) * 2 + kj % 2) * Hq * Wq + ki / 2 * Wq + kj / 2;
      }
      c.Wp = Wq;
    }
    /* past the last channel: the furthest read of the last row's last segment */
    int64_t far = 0;
    for (int64_t t = 0; t < taps; t++) far = MAX(far, toff[t]);
    far += (g->Ho - 1) * c.Wp + (g->Wo + 16 * nv - 1) / (16 * nv) * (16 * nv);
    int64_t slack = MAX(far - chan, 0) + 64;
    float *xp = fr_graph_alloc(gr, sizeof(float) * (size_t)(planes * chan + slack));
    memset(xp + planes * chan, 0, sizeof(float) * (size_t)slack);
    if (g->stride == 1) {
      PadCtx pc = { x, xp, g->H, g->W, Hp, Wp, g->pad, g->mode };
      fr_parallel_for(planes, MAX(1, 32768 / chan), pad_planes, &pc);
    } else {
      PhaseCtx pc = { g, x, xp, (Hp + 1) / 2, (Wp + 1) / 2 };
      fr_parallel_for(planes, MAX(1, 32768 / chan), phase_planes, &pc);
    }
    c.one = false;
    c.xp = xp;
    c.img = g->C * chan;
    c.plane = chan;
    c.rows = g->Ho;
    c.rowlen = g->Wo;
    c.nv = nv;
    c.chunk = g->Wo;
  }
  int64_t tasks = g->B * c.rows * ((c.rowlen + c.chunk - 1) / c.chunk);
  int64_t task_macs = c.chunk * Cout * K;
  fr_parallel_for(tasks, MAX(1, TASK_MACS / MAX(task_macs, 1)), direct_tasks, &c);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* Convolutions with many input channels on wide planes: no im2col at all. On a padded copy of the
 * input (padding applied once), a kernel tap reads, for output row oh and column ow, the padded
 * position (oh + di) * Wp + ow + dj: for a run of output rows that is one contiguous range per channel,
 * so the padded input itself, offset by the tap, is the GEMM's [Cin, n] operand (rows a padded plane
 * apart). Each tap is one GEMM of its [Cout, Cin] weights into the same accumulator, which holds Wp
 * columns per output row (the extra ones are computed and dropped) and starts as the bias, so no GEMM
 * has to zero it. Used for the phases of transposed convolutions, whose output grid is strided. */
typedef struct {
  const float *src;          /* the padded input of image 0; channel c at src + c*ld */
  int64_t img, ld, Wp;       /* floats between images, channels and rows of src */
  const int64_t *off;        /* per tap: where output (0, 0) reads */
  const float *wt;           /* per tap: weights [Cout, Cin] */
  int ntaps;
  int64_t B, Cin, Cout, Hg, Wg, rows;   /* output grid Hg x Wg, rows of it per task */
  const float *bias;
  float *y;                  /* grid point (b, co, oh, ow) -> y[b*y_img + co*y_ch + y_off + oh*y_row + ow*y_col] */
  int64_t y_img, y_ch, y_off, y_row, y_col;
} ShiftCtx;

FR_KERNEL_CLONES static void shifted_tasks(void *p, int64_t t0, int64_t t1) {
  const ShiftCtx *c = p;
  int64_t per_img = (c->Hg + c->rows - 1) / c->rows, Wp = c->Wp, Cin = c->Cin, Cout = c->Cout;
  for (int64_t t = t0; t < t1; t++) {
    int64_t b = t / per_img, oh0 = t % per_img * c->rows, nr = MIN(c->rows, c->Hg - oh0);
    int64_t n = (nr - 1) * Wp + c->Wg;
    float *acc = thread_scratch((size_t)(Cout * n));
    for (int64_t co = 0; co < Cout; co++) {
      float bv = c->bias ? c->bias[co] : 0.0f, *a = acc + co * n;
      for (int64_t i = 0; i < n; i++) a[i] = bv;
    }
    const float *xb = c->src + b * c->img + oh0 * Wp;
    for (int tap = 0; tap < c->ntaps; tap++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)Cout, (blasint)n, (blasint)Cin, 1.0f,
                  c->wt + tap * Cout * Cin, (blasint)Cin, xb + c->off[tap], (blasint)c->ld, 1.0f, acc, (blasint)n);
    for (int64_t co = 0; co < Cout; co++)
      for (int64_t r = 0; r < nr; r++) {
        float *d = c->y + b * c->y_img + co * c->y_ch + c->y_off + (oh0 + r) * c->y_row;
        const float *a = acc + co * n + r * Wp;
        if (c->y_col == 1) {
          memcpy(d, a, sizeof(float) * (size_t)c->Wg);
        } else {
          for (int64_t i = 0; i < c->Wg; i++) d[i * c->y_col] = a[i];
        }
      }
  }
}

static void shifted_run(ShiftCtx *c) {
  /* tasks of whole output rows, about 2k accumulator columns each, a few per thread unless that makes
   * them smaller than TASK_MACS */
  int64_t rows = MAX(1, 2048 / c->Wp), threads = fr_pool_get_threads();
  int64_t least = TASK_MACS / MAX(1, c->Wg * c->Cout * c->Cin * c->ntaps);
  while (rows > 1 && rows / 2 >= least && c->B * ((c->Hg + rows - 1) / rows) < 3 * threads) rows = (rows + 1) / 2;
  c->rows = rows;
  fr_parallel_for(c->B * ((c->Hg + rows - 1) / rows), 1, shifted_tasks, c);
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
  bool records = gr->grad_enabled && (x->requires_grad || w->requires_grad || (b && b->requires_grad));
  bool direct_dw = depthwise && p.stride == 1 && p.dilation == 1 && Wo >= 16;
  if (!depthwise && !records && p.groups == 1 && Cout <= SC_COUT_MAX && p.stride == 1 && p.dilation == 1) {
    conv_small_cout(gr, &geom, x->data, w->data, b ? b->data : NULL, Cout, y->data);
  } else if (direct_dw) {
    /* the forward only: the backward below reads x and w, not anything saved here */
    DwDirectCtx d = { &geom, x->data, w->data, b ? b->data : NULL, y->data, seg_vectors(Wo) };
    fr_parallel_for(Cin, MAX(1, TASK_MACS / (B * S * geom.kh * geom.kw)), dw_direct, &d);
  } else if (!depthwise && !records && p.groups == 1 && (p.stride == 1 || (p.stride == 2 && p.dilation == 1)) &&
             (pointwise ? S % 16 == 0 : Wo >= 16)) {
    conv_direct(gr, &geom, x->data, w->data, b ? b->data : NULL, Cout, y->data);
  } else if (!depthwise && !records && p.groups == 1) {
    int64_t K = Cin * geom.kh * geom.kw;
    TileCtx c = { .g = geom, .x = x->data, .wmat = w->data, .bias = b ? b->data : NULL, .Cout = Cout, .K = K,
                  .y = y->data, .y_img = Cout * S, .y_ch = S, .y_off = 0, .y_row = Wo, .y_col = 1, .identity = true,
                  .pointwise = pointwise, .pad_w = p.padding };
    conv_tiled_run(&c);
  } else if (depthwise) {
    for (int64_t i = 0; i < B; i++)
      for (int64_t c = 0; c < Cout; c++) {
        float *yp = y->data + (i * Cout + c) * S;
        float bv = b ? b->data[c] : 0.0f;
        for (int64_t s = 0; s < S; s++) yp[s] = bv;
      }
    DwCtx d = { .g = &geom, .x = x->data, .w = w->data, .y = y->data };
    fr_parallel_for(Cin, MAX(1, TASK_MACS / (B * S * geom.kh * geom.kw)), dw_fwd, &d);
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

/* The forward as stride x stride phases: output pixels (ph + s*a, pw + s*b) see only the taps
 * ki = ph + pad (mod s), kj = pw + pad (mod s), at input (a + d_i, b + d_j): each phase is an ordinary
 * stride-1 convolution of x with a (flipped) sub-kernel and zero padding, written to its strided grid of
 * the output. Wide planes run the phases as shifted GEMMs on one zero-padded copy of x, small ones
 * through the tiled im2col. No col2im, no overlapping writes, true MACs only. */
typedef struct { int64_t Hg, Wg, th, tw, rh, rw, dmin_h, dmin_w; } TPhase;

static TPhase t_phase(int ph, int pw, int s, int pad, int64_t kh, int64_t kw, int64_t Ho, int64_t Wo) {
  TPhase q;
  q.Hg = ph < Ho ? (Ho - ph + s - 1) / s : 0;
  q.Wg = pw < Wo ? (Wo - pw + s - 1) / s : 0;
  /* taps t = 0..th-1: ki = rh + s*(th-1-t), input row a + dmin_h + t */
  q.rh = (ph + pad) % s;
  q.rw = (pw + pad) % s;
  q.th = q.rh < kh ? (kh - 1 - q.rh) / s + 1 : 0;
  q.tw = q.rw < kw ? (kw - 1 - q.rw) / s + 1 : 0;
  q.dmin_h = (ph + pad - q.rh) / s - (q.th - 1);
  q.dmin_w = (pw + pad - q.rw) / s - (q.tw - 1);
  return q;
}

/* Stride-s transposed convolutions whose phases share one grid (the GAN's 3x3, stride 2, output
 * padding 1): the phases read x at a few shifts (here (0,0), (0,1), (1,0), (1,1)), and a shift used by
 * several phases is one GEMM for all of them, their weights stacked along M, into an accumulator that
 * holds the phases one after another (ordered so that every shift's phases are adjacent: 00, 01, 11,
 * 10 for stride 2). Then each output row is written once, the phases of its row interleaved. For
 * stride 2: 4 GEMMs with M = 4, 2, 2, 1 x Cout instead of 9 with M = Cout. */
#define CT_MAX_PH 16
#define CT_MAX_SH 64

typedef struct {
  const float *xp;          /* the zero-padded input, as for the shifted phases */
  int64_t img, ld, Wp;
  int s, nph, pos[CT_MAX_PH];      /* pos[ph * s + pw]: the phase's place in the accumulator */
  int nsh, first[CT_MAX_SH], count[CT_MAX_SH];
  int64_t off[CT_MAX_SH];
  const float *wt[CT_MAX_SH];      /* [count * Cout, Cin] */
  int64_t B, Cin, Cout, Hg, Wg, Ho, Wo, rows;
  const float *bias;
  float *y;
} StackCtx;

FR_KERNEL_CLONES static void convt_stacked_tasks(void *p, int64_t t0, int64_t t1) {
  const StackCtx *c = p;
  int64_t per_img = (c->Hg + c->rows - 1) / c->rows, Wp = c->Wp, Cout = c->Cout, s = c->s, Wg = c->Wg;
  for (int64_t t = t0; t < t1; t++) {
    int64_t b = t / per_img, a0 = t % per_img * c->rows, nr = MIN(c->rows, c->Hg - a0);
    int64_t n = (nr - 1) * Wp + Wg;
    float *acc = thread_scratch((size_t)(c->nph * Cout * n));
    for (int64_t i = 0; i < c->nph * Cout; i++) {
      float bv = c->bias ? c->bias[i % Cout] : 0.0f, *a = acc + i * n;
      for (int64_t j = 0; j < n; j++) a[j] = bv;
    }
    const float *xb = c->xp + b * c->img + a0 * Wp;
    for (int sh = 0; sh < c->nsh; sh++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)(c->count[sh] * Cout), (blasint)n,
                  (blasint)c->Cin, 1.0f, c->wt[sh], (blasint)c->Cin, xb + c->off[sh], (blasint)c->ld, 1.0f,
                  acc + c->first[sh] * Cout * n, (blasint)n);
    for (int64_t co = 0; co < Cout; co++)
      for (int64_t r = 0; r < nr; r++)
        for (int64_t ph = 0; ph < s; ph++) {
          float *restrict d = c->y + ((b * Cout + co) * c->Ho + ph + s * (a0 + r)) * c->Wo;
          if (s == 2) {
            const float *restrict e0 = acc + (c->pos[ph * 2] * Cout + co) * n + r * Wp;
            const float *restrict e1 = acc + (c->pos[ph * 2 + 1] * Cout + co) * n + r * Wp;
            for (int64_t j = 0; j < Wg; j++) {
              d[2 * j] = e0[j];
              d[2 * j + 1] = e1[j];
            }
            continue;
          }
          for (int64_t pw = 0; pw < s; pw++) {
            const float *e = acc + (c->pos[ph * s + pw] * Cout + co) * n + r * Wp;
            for (int64_t j = 0; j < Wg; j++) d[s * j + pw] = e[j];
          }
        }
  }
}

/* true when it did the whole forward (every phase on the same grid, tapped, and each shift's phases
 * adjacent in the order), false to fall back to the phases one by one */
static bool conv_t_stacked(FrGraph *gr, const float *xp, int64_t Hp, int64_t Wp, int64_t top, int64_t left,
                           const float *w, const float *bias, float *y, int64_t B, int64_t Cin, int64_t Cout,
                           int64_t kh, int64_t kw, int64_t Ho, int64_t Wo, int s, int pad) {
  if (s < 2 || s * s > CT_MAX_PH || Ho % s || Wo % s) return false;
  StackCtx c = { .xp = xp, .img = Cin * Hp * Wp, .ld = Hp * Wp, .Wp = Wp, .s = s, .nph = s * s, .B = B, .Cin = Cin,
                 .Cout = Cout, .Hg = Ho / s, .Wg = Wo / s, .Ho = Ho, .Wo = Wo, .bias = bias, .y = y };
  int order[CT_MAX_PH];   /* phase (ph * s + pw) at each place */
  for (int i = 0; i < s * s; i++) order[i] = i;
  if (s == 2) {
    order[2] = 3;
    order[3] = 2;
  }
  /* users[sh][place]: the tap (t * tw + u) of the phase at that place reading shift sh, or -1 */
  static const int none = -1;
  int users[CT_MAX_SH][CT_MAX_PH];
  c.nsh = 0;
  for (int i = 0; i < s * s; i++) {
    int ph = order[i] / s, pw = order[i] % s;
    c.pos[order[i]] = i;
    TPhase q = t_phase(ph, pw, s, pad, kh, kw, Ho, Wo);
    if (!q.th || !q.tw) return false;
    for (int64_t t = 0; t < q.th; t++)
      for (int64_t u = 0; u < q.tw; u++) {
        int64_t off = (q.dmin_h + t + top) * Wp + q.dmin_w + u + left;
        int sh = 0;
        while (sh < c.nsh && c.off[sh] != off) sh++;
        if (sh == c.nsh) {
          if (c.nsh == CT_MAX_SH) return false;
          c.off[c.nsh++] = off;
          for (int k = 0; k < CT_MAX_PH; k++) users[sh][k] = none;
        }
        users[sh][i] = (int)(t * q.tw + u);
      }
  }
  for (int sh = 0; sh < c.nsh; sh++) {
    int first = -1, last = -1;
    for (int i = 0; i < s * s; i++)
      if (users[sh][i] >= 0) {
        if (first < 0) first = i;
        else if (last != i - 1) return false;   /* not adjacent */
        last = i;
      }
    c.first[sh] = first;
    c.count[sh] = last - first + 1;
  }
  for (int sh = 0; sh < c.nsh; sh++) {
    float *wt = fr_graph_alloc(gr, sizeof(float) * (size_t)(c.count[sh] * Cout * Cin));
    for (int i = c.first[sh]; i < c.first[sh] + c.count[sh]; i++) {
      TPhase q = t_phase(order[i] / s, order[i] % s, s, pad, kh, kw, Ho, Wo);
      int tap = users[sh][i];
      int64_t ki = q.rh + s * (q.th - 1 - tap / q.tw), kj = q.rw + s * (q.tw - 1 - tap % q.tw);
      float *d = wt + (int64_t)(i - c.first[sh]) * Cout * Cin;
      for (int64_t co = 0; co < Cout; co++)
        for (int64_t ci = 0; ci < Cin; ci++) d[co * Cin + ci] = w[((ci * Cout + co) * kh + ki) * kw + kj];
    }
    c.wt[sh] = wt;
  }
  int64_t rows = MAX(1, 1024 / Wp), threads = fr_pool_get_threads(), taps = 0;
  for (int sh = 0; sh < c.nsh; sh++) taps += c.count[sh];
  int64_t least = TASK_MACS / MAX(1, c.Wg * Cout * Cin * taps);
  while (rows > 1 && rows / 2 >= least && B * ((c.Hg + rows - 1) / rows) < 3 * threads) rows = (rows + 1) / 2;
  c.rows = rows;
  fr_parallel_for(B * ((c.Hg + rows - 1) / rows), 1, convt_stacked_tasks, &c);
  return true;
}

typedef struct { const float *x; float *xp; int64_t H, W, Hp, Wp, top, left; } ZPadCtx;

/* planes [i0, i1) of x into xp with `top` zero rows and `left` zero columns before, zeros after */
static void zero_pad_planes(void *p, int64_t i0, int64_t i1) {
  const ZPadCtx *c = p;
  int64_t right = c->Wp - c->W - c->left;
  for (int64_t i = i0; i < i1; i++) {
    float *d = c->xp + i * c->Hp * c->Wp;
    memset(d, 0, sizeof(float) * (size_t)(c->top * c->Wp));
    for (int64_t r = 0; r < c->H; r++) {
      float *row = d + (c->top + r) * c->Wp;
      memset(row, 0, sizeof(float) * (size_t)c->left);
      memcpy(row + c->left, c->x + (i * c->H + r) * c->W, sizeof(float) * (size_t)c->W);
      memset(row + c->left + c->W, 0, sizeof(float) * (size_t)right);
    }
    memset(d + (c->top + c->H) * c->Wp, 0, sizeof(float) * (size_t)((c->Hp - c->top - c->H) * c->Wp));
  }
}

static void conv_t_phases(FrGraph *gr, const float *x, const float *w, const float *bias, float *y, int64_t B,
                          int64_t Cin, int64_t H, int64_t W, int64_t Cout, int64_t kh, int64_t kw, int64_t Ho, int64_t Wo,
                          int s, int pad) {
  bool shifted = Cin >= 32 && W >= 16;
  float *xp = NULL;
  int64_t top = 0, left = 0, Hp = H, Wp = W;
  if (shifted) {
    /* zero rows and columns around x so that every phase's taps stay inside */
    int64_t bottom = 0, right = 0;
    for (int ph = 0; ph < s; ph++)
      for (int pw = 0; pw < s; pw++) {
        TPhase q = t_phase(ph, pw, s, pad, kh, kw, Ho, Wo);
        if (!q.Hg || !q.Wg || !q.th || !q.tw) continue;
        top = MAX(top, -q.dmin_h);
        left = MAX(left, -q.dmin_w);
        bottom = MAX(bottom, q.Hg - 1 + q.dmin_h + q.th - 1 - (H - 1));
        right = MAX(right, q.Wg - 1 + q.dmin_w + q.tw - 1 - (W - 1));
      }
    Hp = H + top + bottom;
    Wp = W + left + right;
    xp = fr_graph_alloc(gr, sizeof(float) * (size_t)(B * Cin * Hp * Wp));
    ZPadCtx zc = { x, xp, H, W, Hp, Wp, top, left };
    fr_parallel_for(B * Cin, MAX(1, 32768 / (Hp * Wp)), zero_pad_planes, &zc);
    if (conv_t_stacked(gr, xp, Hp, Wp, top, left, w, bias, y, B, Cin, Cout, kh, kw, Ho, Wo, s, pad)) return;
  }
  for (int ph = 0; ph < s; ph++)
    for (int pw = 0; pw < s; pw++) {
      TPhase q = t_phase(ph, pw, s, pad, kh, kw, Ho, Wo);
      if (!q.Hg || !q.Wg) continue;
      int64_t th = q.th, tw = q.tw, K = Cin * th * tw;
      if (K == 0) {   /* no tap reaches this phase: bias only */
        for (int64_t i = 0; i < B; i++)
          for (int64_t co = 0; co < Cout; co++)
            for (int64_t a = 0; a < q.Hg; a++)
              for (int64_t bb = 0; bb < q.Wg; bb++)
                y[((i * Cout + co) * Ho + ph + s * a) * Wo + pw + s * bb] = bias ? bias[co] : 0.0f;
        continue;
      }
      float *wm = fr_graph_alloc(gr, sizeof(float) * (size_t)(Cout * K));
      if (shifted) {
        /* per tap [Cout, Cin], and where output (0, 0) of the phase reads in xp */
        int64_t *off = fr_graph_alloc(gr, sizeof(int64_t) * (size_t)(th * tw));
        for (int64_t t = 0; t < th; t++)
          for (int64_t u = 0; u < tw; u++) {
            int64_t ki = q.rh + s * (th - 1 - t), kj = q.rw + s * (tw - 1 - u), tap = t * tw + u;
            off[tap] = (q.dmin_h + t + top) * Wp + q.dmin_w + u + left;
            for (int64_t co = 0; co < Cout; co++)
              for (int64_t ci = 0; ci < Cin; ci++)
                wm[(tap * Cout + co) * Cin + ci] = w[((ci * Cout + co) * kh + ki) * kw + kj];
          }
        ShiftCtx c = { .src = xp, .img = Cin * Hp * Wp, .ld = Hp * Wp, .Wp = Wp, .off = off, .wt = wm,
                       .ntaps = (int)(th * tw), .B = B, .Cin = Cin, .Cout = Cout, .Hg = q.Hg, .Wg = q.Wg,
                       .bias = bias, .y = y, .y_img = Cout * Ho * Wo, .y_ch = Ho * Wo, .y_off = ph * Wo + pw,
                       .y_row = s * Wo, .y_col = s };
        shifted_run(&c);
        continue;
      }
      for (int64_t co = 0; co < Cout; co++)
        for (int64_t ci = 0; ci < Cin; ci++)
          for (int64_t t = 0; t < th; t++)
            for (int64_t u = 0; u < tw; u++) {
              int64_t ki = q.rh + s * (th - 1 - t), kj = q.rw + s * (tw - 1 - u);
              wm[co * K + (ci * th + t) * tw + u] = w[((ci * Cout + co) * kh + ki) * kw + kj];
            }
      TileCtx c = { .g = { B, Cin, H, W, th, tw, q.Hg, q.Wg, 1, (int)-q.dmin_h, 1, FR_PAD_ZEROS }, .x = x, .wmat = wm,
                    .bias = bias, .Cout = Cout, .K = K, .y = y, .y_img = Cout * Ho * Wo, .y_ch = Ho * Wo,
                    .y_off = ph * Wo + pw, .y_row = s * Wo, .y_col = s, .identity = s == 1, .pointwise = false,
                    .pad_w = (int)-q.dmin_w };
      conv_tiled_run(&c);
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
  FrTensor *y = fr_tensor_new(gr, 4, FR_SHAPE(B, Cout, Ho, Wo));
  conv_t_phases(gr, x->data, w->data, b ? b->data : NULL, y->data, B, Cin, H, W, Cout, kh, kw, Ho, Wo, stride, padding);
  double macs = (double)N * (double)KK * (double)Cin;
  fr_graph_op_end(gr, t0, "conv_transpose2d", y, macs,
                  4.0 * (double)(fr_tensor_numel(x) + fr_tensor_numel(w)), 4.0 * (double)fr_tensor_numel(y));
  FrNode *n = fr_graph_record(gr, "conv_transpose2d", conv_t_bwd, y, 3, x, w, b);
  if (n) {
    ConvTCtx *c = fr_graph_alloc(gr, sizeof *c);
    c->geom = geom;
    c->xmat = fr_graph_alloc(gr, sizeof(float) * (size_t)(Cin * N));   /* x as [Cin, B*H*W] for the backward */
    swap01(x->data, c->xmat, B, Cin, H * W, false);
    n->ctx = c;
    n->bwd_macs = 2 * macs;
  }
  return y;
}
