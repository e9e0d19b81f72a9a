/* The translation models' own ops: masked multi-head attention on [B, T, A] without transposes,
 * padding masks, row gathers and a threaded label-smoothed cross-entropy (see fr-lsra-ops.h).
 *
 * Attention runs one (batch, head) pair per pool item with plain loops: at the sequence lengths of
 * translation (tens of tokens) and head widths of 14-32 channels the products are too small for a
 * GEMM to pay, and each item writes only its own head's channels, so there are no write races. */
#include "fr-lsra-ops.h"
#include "fr-pool.h"

#include <math.h>
#include <string.h>

/* Built for AVX-512, AVX2 and baseline x86-64; the loader picks one. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FR_KERNEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FR_KERNEL_CLONES
#endif

/* ---- attention ---- */

typedef struct {
  int64_t B, Tq, Tk, A, H, D;
  float scale;
  bool causal;
  const int32_t *key_len;
  const float *q, *k, *v;
  float *o, *p;                 /* out [B, Tq, A], probs [B, H, Tq, Tk] */
  const float *go;              /* backward */
  float *gq, *gk, *gv;          /* NULL when not wanted */
} MhaCtx;

static inline int64_t keys_of(const MhaCtx *c, int64_t b, int64_t i) {
  int64_t n = c->key_len ? c->key_len[b] : c->Tk;
  if (n > c->Tk) n = c->Tk;
  if (c->causal && i + 1 < n) n = i + 1;
  return n;
}

/* One head of one sequence is packed into contiguous [Tk, D] and transposed [D, Tk] copies so that
 * the inner loops run over unit strides (keys or channels) and vectorise. */
static void pack_head(const MhaCtx *c, const float *src, int64_t b, int64_t h, float *rows, float *cols) {
  for (int64_t j = 0; j < c->Tk; j++) {
    const float *s = src + (b * c->Tk + j) * c->A + h * c->D;
    for (int64_t d = 0; d < c->D; d++) {
      if (rows) rows[j * c->D + d] = s[d];
      if (cols) cols[d * c->Tk + j] = s[d];
    }
  }
}

FR_KERNEL_CLONES static void mha_fwd_items(void *ctx, int64_t begin, int64_t end) {
  const MhaCtx *c = ctx;
  const int64_t Tk = c->Tk, D = c->D;
  float *kt = g_new(float, D * Tk), *vh = g_new(float, Tk * D);
  for (int64_t it = begin; it < end; it++) {
    int64_t b = it / c->H, h = it % c->H;
    pack_head(c, c->k, b, h, NULL, kt);
    pack_head(c, c->v, b, h, vh, NULL);
    for (int64_t i = 0; i < c->Tq; i++) {
      const float *qi = c->q + (b * c->Tq + i) * c->A + h * D;
      float *p = c->p + ((b * c->H + h) * c->Tq + i) * Tk;
      int64_t n = keys_of(c, b, i);
      for (int64_t j = 0; j < n; j++) p[j] = 0;
      for (int64_t d = 0; d < D; d++) {
        const float qd = qi[d] * c->scale, *kd = kt + d * Tk;
#pragma omp simd
        for (int64_t j = 0; j < n; j++) p[j] += qd * kd[j];
      }
      float mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < n; j++) mx = p[j] > mx ? p[j] : mx;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < n; j++) {
        p[j] = fr_lsra_exp_neg(p[j] - mx);
        sum += p[j];
      }
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < n; j++) p[j] *= inv;
      for (int64_t j = n; j < Tk; j++) p[j] = 0;
      float *oi = c->o + (b * c->Tq + i) * c->A + h * D;
      for (int64_t d = 0; d < D; d++) oi[d] = 0;
      for (int64_t j = 0; j < n; j++) {
        const float pj = p[j], *vj = vh + j * D;
#pragma omp simd
        for (int64_t d = 0; d < D; d++) oi[d] += pj * vj[d];
      }
    }
  }
  g_free(kt);
  g_free(vh);
}

FR_KERNEL_CLONES static void mha_bwd_items(void *ctx, int64_t begin, int64_t end) {
  const MhaCtx *c = ctx;
  const int64_t Tk = c->Tk, D = c->D;
  float *ds = g_new(float, Tk), *kh = g_new(float, Tk * D), *vt = g_new(float, D * Tk);
  float *gkh = g_new(float, Tk * D), *gvh = g_new(float, Tk * D);
  for (int64_t it = begin; it < end; it++) {
    int64_t b = it / c->H, h = it % c->H;
    pack_head(c, c->k, b, h, kh, NULL);
    pack_head(c, c->v, b, h, NULL, vt);
    memset(gkh, 0, sizeof(float) * (size_t)(Tk * D));
    memset(gvh, 0, sizeof(float) * (size_t)(Tk * D));
    for (int64_t i = 0; i < c->Tq; i++) {
      const float *p = c->p + ((b * c->H + h) * c->Tq + i) * Tk;
      const float *goi = c->go + (b * c->Tq + i) * c->A + h * D;
      const float *qi = c->q + (b * c->Tq + i) * c->A + h * D;
      int64_t n = keys_of(c, b, i);
      for (int64_t j = 0; j < n; j++) ds[j] = 0;
      for (int64_t d = 0; d < D; d++) {
        const float gd = goi[d], *vd = vt + d * Tk;
#pragma omp simd
        for (int64_t j = 0; j < n; j++) ds[j] += gd * vd[j];
      }
      float dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int64_t j = 0; j < n; j++) dot += p[j] * ds[j];
      for (int64_t j = 0; j < n; j++) {
        const float pj = p[j], s = pj * (ds[j] - dot) * c->scale;
        float *gvj = gvh + j * D, *gkj = gkh + j * D;
#pragma omp simd
        for (int64_t d = 0; d < D; d++) {
          gvj[d] += pj * goi[d];
          gkj[d] += s * qi[d];
        }
        ds[j] = s;
      }
      if (c->gq) {
        float *gqi = c->gq + (b * c->Tq + i) * c->A + h * D;
        for (int64_t j = 0; j < n; j++) {
          const float s = ds[j], *kj = kh + j * D;
#pragma omp simd
          for (int64_t d = 0; d < D; d++) gqi[d] += s * kj[d];
        }
      }
    }
    for (int64_t j = 0; j < Tk; j++) {
      float *gk = c->gk ? c->gk + (b * Tk + j) * c->A + h * D : NULL;
      float *gv = c->gv ? c->gv + (b * Tk + j) * c->A + h * D : NULL;
      for (int64_t d = 0; d < D; d++) {
        if (gk) gk[d] += gkh[j * D + d];
        if (gv) gv[d] += gvh[j * D + d];
      }
    }
  }
  g_free(ds);
  g_free(kh);
  g_free(vt);
  g_free(gkh);
  g_free(gvh);
}

static void mha_bwd(FrGraph *g, FrNode *n) {
  MhaCtx c = *(MhaCtx *)n->ctx;
  c.go = n->out->grad;
  c.gq = fr_grad(g, n->in[0]);
  c.gk = fr_grad(g, n->in[1]);
  c.gv = fr_grad(g, n->in[2]);
  fr_parallel_for(c.B * c.H, 1, mha_bwd_items, &c);
}

FrTensor *fr_lsra_mha(FrGraph *g, FrTensor *q, FrTensor *k, FrTensor *v, int heads, const int32_t *key_len,
                      bool causal, const float **probs) {
  g_assert(q->ndim == 3 && k->ndim == 3 && fr_tensor_same_shape(k, v));
  g_assert(q->shape[0] == k->shape[0] && q->shape[2] == k->shape[2] && q->shape[2] % heads == 0);
  g_assert(!causal || q->shape[1] == k->shape[1]);
  gint64 t0 = fr_graph_op_begin(g);
  MhaCtx c = { .B = q->shape[0], .Tq = q->shape[1], .Tk = k->shape[1], .A = q->shape[2], .H = heads,
               .causal = causal, .q = q->data, .k = k->data, .v = v->data };
  c.D = c.A / c.H;
  c.scale = 1.0f / sqrtf((float)c.D);
  if (key_len) {
    int32_t *kl = fr_graph_alloc(g, sizeof(int32_t) * (size_t)c.B);
    memcpy(kl, key_len, sizeof(int32_t) * (size_t)c.B);
    c.key_len = kl;
  }
  FrTensor *y = fr_tensor_new(g, 3, q->shape);
  c.o = y->data;
  c.p = fr_graph_alloc(g, sizeof(float) * (size_t)(c.B * c.H * c.Tq * c.Tk));
  fr_parallel_for(c.B * c.H, 1, mha_fwd_items, &c);
  double macs = 2.0 * (double)c.B * c.Tq * c.Tk * c.A;
  fr_graph_op_end(g, t0, "attention", y, macs, 4.0 * (fr_tensor_numel(q) + 2.0 * fr_tensor_numel(k)),
                  4.0 * fr_tensor_numel(y));
  FrNode *n = fr_graph_record(g, "attention", mha_bwd, y, 3, q, k, v);
  if (n) {
    MhaCtx *saved = fr_graph_alloc(g, sizeof *saved);
    *saved = c;
    n->ctx = saved;
    n->bwd_macs = 2 * macs;
  }
  if (probs) *probs = c.p;
  return y;
}

/* ---- padding mask and row gather ---- */

typedef struct { int64_t B, T, C; const int32_t *len; } MaskCtx;

static void mask_apply(const MaskCtx *c, float *y) {
  for (int64_t b = 0; b < c->B; b++)
    for (int64_t t = c->len[b] < 0 ? 0 : c->len[b]; t < c->T; t++)
      memset(y + (b * c->T + t) * c->C, 0, sizeof(float) * (size_t)c->C);
}

static void mask_bwd(FrGraph *g, FrNode *n) {
  const MaskCtx *c = n->ctx;
  float *gx = fr_grad(g, n->in[0]);
  int64_t m = fr_tensor_numel(n->out);
  float *tmp = g_memdup2(n->out->grad, sizeof(float) * (size_t)m);
  mask_apply(c, tmp);
  for (int64_t i = 0; i < m; i++) gx[i] += tmp[i];
  g_free(tmp);
}

FrTensor *fr_lsra_mask_rows(FrGraph *g, FrTensor *x, const int32_t *len) {
  g_assert(x->ndim == 3);
  MaskCtx *c = fr_graph_alloc(g, sizeof *c);
  *c = (MaskCtx){ x->shape[0], x->shape[1], x->shape[2], NULL };
  int32_t *l = fr_graph_alloc(g, sizeof(int32_t) * (size_t)c->B);
  memcpy(l, len, sizeof(int32_t) * (size_t)c->B);
  c->len = l;
  FrTensor *y = fr_tensor_new(g, 3, x->shape);
  memcpy(y->data, x->data, sizeof(float) * (size_t)fr_tensor_numel(x));
  mask_apply(c, y->data);
  FrNode *n = fr_graph_record(g, "mask_rows", mask_bwd, y, 1, x);
  if (n) n->ctx = c;
  return y;
}

typedef struct { const int32_t *idx; int64_t m; } GatherCtx;

static void gather_bwd(FrGraph *g, FrNode *n) {
  const GatherCtx *c = n->ctx;
  int64_t C = n->in[0]->shape[1];
  float *gx = fr_grad(g, n->in[0]);
  for (int64_t r = 0; r < c->m; r++) {
    float *dst = gx + (int64_t)c->idx[r] * C;
    const float *src = n->out->grad + r * C;
    for (int64_t j = 0; j < C; j++) dst[j] += src[j];
  }
}

FrTensor *fr_lsra_gather_rows(FrGraph *g, FrTensor *x, const int32_t *idx, int64_t m) {
  g_assert(x->ndim == 2);
  int64_t C = x->shape[1];
  FrTensor *y = fr_tensor_new(g, 2, FR_SHAPE(m, C));
  for (int64_t r = 0; r < m; r++) {
    g_assert(idx[r] >= 0 && idx[r] < x->shape[0]);
    memcpy(y->data + r * C, x->data + (int64_t)idx[r] * C, sizeof(float) * (size_t)C);
  }
  FrNode *n = fr_graph_record(g, "gather_rows", gather_bwd, y, 1, x);
  if (n) {
    GatherCtx *c = fr_graph_alloc(g, sizeof *c);
    int32_t *copy = fr_graph_alloc(g, sizeof(int32_t) * (size_t)(m ? m : 1));
    memcpy(copy, idx, sizeof(int32_t) * (size_t)m);
    *c = (GatherCtx){ copy, m };
    n->ctx = c;
  }
  return y;
}

/* ---- label-smoothed cross-entropy ---- */

typedef struct {
  int64_t N, V;
  float eps;
  const float *x;
  const int32_t *labels;
  float *lse;                   /* per row */
  double *row_loss, *row_nll;   /* per row, summed in order afterwards (thread-count independent) */
  float *gx;                    /* backward */
  float scale;
} CeCtx;

FR_KERNEL_CLONES static void ce_fwd_rows(void *ctx, int64_t begin, int64_t end) {
  const CeCtx *c = ctx;
  const int64_t V = c->V;
  for (int64_t i = begin; i < end; i++) {
    const float *x = c->x + i * V;
    float mx = -INFINITY, sumx = 0;
#pragma omp simd reduction(max : mx) reduction(+ : sumx)
    for (int64_t j = 0; j < V; j++) {
      mx = x[j] > mx ? x[j] : mx;
      sumx += x[j];
    }
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < V; j++) s += fr_lsra_exp_neg(x[j] - mx);
    float lse = mx + logf(s);
    c->lse[i] = lse;
    double nll = (double)lse - x[c->labels[i]];
    c->row_nll[i] = nll;
    c->row_loss[i] = (1.0 - c->eps) * nll + c->eps * ((double)lse - (double)sumx / (double)V);
  }
}

FR_KERNEL_CLONES static void ce_bwd_rows(void *ctx, int64_t begin, int64_t end) {
  const CeCtx *c = ctx;
  const float uni = c->eps / (float)c->V, scale = c->scale;
  const int64_t V = c->V;
  for (int64_t i = begin; i < end; i++) {
    const float *x = c->x + i * V;
    float *gx = c->gx + i * V, lse = c->lse[i];
#pragma omp simd
    for (int64_t j = 0; j < V; j++) gx[j] += scale * (fr_lsra_exp_neg(x[j] - lse) - uni);
    gx[c->labels[i]] -= scale * (1.0f - c->eps);
  }
}

static void ce_bwd(FrGraph *g, FrNode *n) {
  CeCtx c = *(CeCtx *)n->ctx;
  c.gx = fr_grad(g, n->in[0]);
  c.scale = n->out->grad[0] / (float)(c.N ? c.N : 1);
  fr_parallel_for(c.N, 16, ce_bwd_rows, &c);
}

FrTensor *fr_lsra_token_loss(FrGraph *g, FrTensor *logits, const int32_t *labels, float eps, double *nll_sum) {
  g_assert(logits->ndim == 2);
  gint64 t0 = fr_graph_op_begin(g);
  CeCtx c = { .N = logits->shape[0], .V = logits->shape[1], .eps = eps, .x = logits->data };
  int32_t *lab = fr_graph_alloc(g, sizeof(int32_t) * (size_t)(c.N ? c.N : 1));
  for (int64_t i = 0; i < c.N; i++) {
    g_assert(labels[i] >= 0 && labels[i] < c.V);
    lab[i] = labels[i];
  }
  c.labels = lab;
  c.lse = fr_graph_alloc(g, sizeof(float) * (size_t)(c.N ? c.N : 1));
  c.row_loss = g_new(double, c.N ? c.N : 1);
  c.row_nll = g_new(double, c.N ? c.N : 1);
  fr_parallel_for(c.N, 16, ce_fwd_rows, &c);
  double loss = 0, nll = 0;
  for (int64_t i = 0; i < c.N; i++) {
    loss += c.row_loss[i];
    nll += c.row_nll[i];
  }
  g_free(c.row_loss);
  g_free(c.row_nll);
  c.row_loss = c.row_nll = NULL;
  if (nll_sum) *nll_sum = nll;
  FrTensor *y = fr_tensor_new(g, 0, NULL);
  y->data[0] = (float)(loss / (double)(c.N ? c.N : 1));
  fr_graph_op_end(g, t0, "token_loss", y, 0, 4.0 * (double)c.N * (double)c.V, 4.0);
  FrNode *n = fr_graph_record(g, "token_loss", ce_bwd, y, 1, logits);
  if (n) {
    CeCtx *saved = fr_graph_alloc(g, sizeof *saved);
    *saved = c;
    n->ctx = saved;
  }
  return y;
}

/* ---- positions ---- */

void fr_lsra_sinusoid(int d, int pos, float *out) {
  int half = d / 2;
  double step = half > 1 ? log(10000.0) / (half - 1) : 0;
  for (int i = 0; i < half; i++) {
    double a = pos * exp(-step * i);
    out[i] = (float)sin(a);
    out[half + i] = (float)cos(a);
  }
  if (d % 2) out[d - 1] = 0;
}
