/* Shape ops, elementwise ops, activations, dense layers and attention. */
#include "fr-ops.h"
#include "fr-pool.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Built for AVX-512, AVX2 and baseline x86-64; the loader picks one (the engine targets any x86-64). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FR_KERNEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FR_KERNEL_CLONES
#endif

#define GRAIN 32768

typedef struct {
  bool ta, tb, split_n;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  const float *A, *B;
  float *C;
} GemmCtx;

static void gemm_block(const GemmCtx *c, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const float *A = c->A + (c->ta ? m0 : m0 * c->lda);
  const float *B = c->B + (c->tb ? n0 * c->ldb : n0);
  cblas_sgemm(CblasRowMajor, c->ta ? CblasTrans : CblasNoTrans, c->tb ? CblasTrans : CblasNoTrans,
              (blasint)(m1 - m0), (blasint)(n1 - n0), (blasint)c->K, c->alpha, A, (blasint)c->lda, B,
              (blasint)c->ldb, c->beta, c->C + m0 * c->ldc + n0, (blasint)c->ldc);
}

static void gemm_range(void *p, int64_t b, int64_t e) {
  const GemmCtx *c = p;
  /* chunks are in units of 16 columns (or rows) so the kernels see aligned panels */
  int64_t lo = b * 16, hi = e * 16;
  if (c->split_n) gemm_block(c, 0, c->M, lo, MIN(hi, c->N));
  else gemm_block(c, lo, MIN(hi, c->M), 0, c->N);
}

typedef struct { const GemmCtx *g; float *partial; int64_t kchunk; } SplitK;

static void gemm_k_range(void *p, int64_t b, int64_t e) {
  SplitK *s = p;
  const GemmCtx *c = s->g;
  for (int64_t t = b; t < e; t++) {
    int64_t k0 = t * s->kchunk, k1 = MIN(c->K, k0 + s->kchunk);
    const float *A = c->A + (c->ta ? k0 * c->lda : k0);
    const float *B = c->B + (c->tb ? k0 : k0 * c->ldb);
    cblas_sgemm(CblasRowMajor, c->ta ? CblasTrans : CblasNoTrans, c->tb ? CblasTrans : CblasNoTrans,
                (blasint)c->M, (blasint)c->N, (blasint)(k1 - k0), c->alpha, A, (blasint)c->lda, B, (blasint)c->ldb,
                0.0f, s->partial + t * c->M * c->N, (blasint)c->N);
  }
}

/* Small outputs with a long inner dimension (a convolution's weight gradient: the batch is summed
 * out) split the sum across the pool, each thread into its own partial, then add the partials. */
static void gemm_split_k(const GemmCtx *c, int threads) {
  int64_t parts = threads;
  SplitK s = { c, g_new(float, parts * c->M * c->N), (c->K + parts - 1) / parts };
  fr_parallel_for(parts, 1, gemm_k_range, &s);
  for (int64_t i = 0; i < c->M; i++)
    for (int64_t j = 0; j < c->N; j++) {
      float acc = 0;
      for (int64_t t = 0; t < parts; t++) acc += s.partial[(t * c->M + i) * c->N + j];
      float *dst = c->C + i * c->ldc + j;
      *dst = (c->beta == 0.0f ? 0.0f : c->beta * *dst) + acc;
    }
  g_free(s.partial);
}

/* OpenBLAS runs single-threaded (the pool owns the cores, see fr-pool.c); big products are split
 * into column (or row) panels across the pool instead, which avoids OpenBLAS's spinning threads
 * competing with ours. */
void fr_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
             const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  fr_pool_get_threads();   /* sets OpenBLAS to one thread before its first use */
  GemmCtx c = { ta, tb, N >= M, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C };
  double work = (double)M * (double)N * (double)K;
  int64_t units = ((c.split_n ? N : M) + 15) / 16;
  int threads = fr_pool_get_threads();
  /* a long inner dimension and a small output: split the sum (weight gradients of convolutions) */
  if (threads > 1 && K >= 2048 * threads && K >= 4 * MAX(M, N) && (double)M * (double)N <= 65536.0) {
    gemm_split_k(&c, threads);
    return;
  }
  if (work < 2e5 || units < 2) {
    gemm_block(&c, 0, M, 0, N);
    return;
  }
  /* at least ~100k MACs per task keeps the dispatch overhead small */
  int64_t per_unit = (int64_t)(work / (double)units);
  int64_t grain = per_unit > 0 ? MAX(1, (int64_t)(1e5 / (double)per_unit)) : 1;
  fr_parallel_for(units, grain, gemm_range, &c);
}

static double numel_bytes(const FrTensor *t) { return 4.0 * (double)fr_tensor_numel(t); }

/* ------------------------------------------------------------------ shape */

static void copy_strided(const FrTensor *x, float *dst) {
  int64_t idx[FR_MAX_DIMS] = {0};
  int64_t n = fr_tensor_numel(x);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int d = 0; d < x->ndim; d++) off += idx[d] * x->stride[d];
    dst[i] = x->data[off];
    for (int d = x->ndim - 1; d >= 0; d--) {
      if (++idx[d] < x->shape[d]) break;
      idx[d] = 0;
    }
  }
}

static void contiguous_bwd(FrGraph *g, FrNode *n) {
  /* only leaves that require grad are contiguous by construction; views carry no gradient */
  float *gx = fr_grad(g, n->in[0]);
  int64_t m = fr_tensor_numel(n->out);
  for (int64_t i = 0; i < m; i++) gx[i] += n->out->grad[i];
}

FrTensor *fr_contiguous(FrGraph *g, FrTensor *x) {
  if (fr_tensor_is_contiguous(x)) return x;
  gint64 t0 = fr_graph_op_begin(g);
  FrTensor *y = fr_tensor_like(g, x);
  copy_strided(x, y->data);
  fr_graph_op_end(g, t0, "contiguous", y, 0, numel_bytes(x), numel_bytes(y));
  fr_graph_record(g, "contiguous", contiguous_bwd, y, 1, x);
  return y;
}

static void reshape_bwd(FrGraph *g, FrNode *n) {
  float *gx = fr_grad(g, n->in[0]);
  int64_t m = fr_tensor_numel(n->out);
  for (int64_t i = 0; i < m; i++) gx[i] += n->out->grad[i];
}

FrTensor *fr_reshape(FrGraph *g, FrTensor *x, int ndim, const int64_t *shape) {
  g_assert(fr_tensor_is_contiguous(x));
  int64_t s[FR_MAX_DIMS], known = 1;
  int infer = -1;
  for (int i = 0; i < ndim; i++) {
    s[i] = shape[i];
    if (s[i] == -1) infer = i;
    else known *= s[i];
  }
  if (infer >= 0) s[infer] = known ? fr_tensor_numel(x) / known : 0;
  FrTensor *y = fr_tensor_wrap(g, ndim, s, x->data);
  g_assert(fr_tensor_numel(y) == fr_tensor_numel(x));
  fr_graph_record(g, "reshape", reshape_bwd, y, 1, x);
  return y;
}

typedef struct { int perm[FR_MAX_DIMS]; } PermCtx;

static void permute_into(const float *src, const int64_t *src_shape, int ndim, const int *perm, float *dst,
                         bool accumulate_into_src_layout, const float *gsrc) {
  /* dst has shape src_shape[perm[i]]; iterate over dst indices */
  int64_t sstride[FR_MAX_DIMS], dshape[FR_MAX_DIMS], n = 1;
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--) { sstride[i] = s; s *= src_shape[i]; }
  for (int i = 0; i < ndim; i++) { dshape[i] = src_shape[perm[i]]; n *= dshape[i]; }
  int64_t idx[FR_MAX_DIMS] = {0};
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int d = 0; d < ndim; d++) off += idx[d] * sstride[perm[d]];
    if (accumulate_into_src_layout) dst[off] += gsrc[i];
    else dst[i] = src[off];
    for (int d = ndim - 1; d >= 0; d--) {
      if (++idx[d] < dshape[d]) break;
      idx[d] = 0;
    }
  }
}

static void permute_bwd(FrGraph *g, FrNode *n) {
  PermCtx *c = n->ctx;
  float *gx = fr_grad(g, n->in[0]);
  permute_into(NULL, n->in[0]->shape, n->in[0]->ndim, c->perm, gx, true, n->out->grad);
}

FrTensor *fr_permute(FrGraph *g, FrTensor *x, const int *perm) {
  gint64 t0 = fr_graph_op_begin(g);
  int64_t s[FR_MAX_DIMS];
  for (int i = 0; i < x->ndim; i++) s[i] = x->shape[perm[i]];
  FrTensor *y = fr_tensor_new(g, x->ndim, s);
  permute_into(x->data, x->shape, x->ndim, perm, y->data, false, NULL);
  fr_graph_op_end(g, t0, "permute", y, 0, numel_bytes(x), numel_bytes(y));
  FrNode *n = fr_graph_record(g, "permute", permute_bwd, y, 1, x);
  if (n) {
    PermCtx *c = fr_graph_alloc(g, sizeof *c);
    memcpy(c->perm, perm, sizeof(int) * (size_t)x->ndim);
    n->ctx = c;
  }
  return y;
}

/* outer = prod(shape[:dim]), inner = prod(shape[dim+1:]) */
static void split_dims(const FrTensor *t, int dim, int64_t *outer, int64_t *inner) {
  *outer = 1;
  *inner = 1;
  for (int i = 0; i < dim; i++) *outer *= t->shape[i];
  for (int i = dim + 1; i < t->ndim; i++) *inner *= t->shape[i];
}

typedef struct { int dim; int64_t start; } SliceCtx;

static void concat_bwd(FrGraph *g, FrNode *n) {
  SliceCtx *c = n->ctx;
  FrTensor *a = n->in[0], *b = n->in[1];
  int64_t outer, inner;
  split_dims(n->out, c->dim, &outer, &inner);
  int64_t la = a->shape[c->dim] * inner, lb = b->shape[c->dim] * inner, lo = la + lb;
  float *ga = fr_grad(g, a), *gb = fr_grad(g, b);
  for (int64_t o = 0; o < outer; o++) {
    const float *go = n->out->grad + o * lo;
    if (ga) for (int64_t i = 0; i < la; i++) ga[o * la + i] += go[i];
    if (gb) for (int64_t i = 0; i < lb; i++) gb[o * lb + i] += go[la + i];
  }
}

FrTensor *fr_concat(FrGraph *g, FrTensor *a, FrTensor *b, int dim) {
  g_assert(a->ndim == b->ndim);
  int64_t s[FR_MAX_DIMS];
  for (int i = 0; i < a->ndim; i++) {
    g_assert(i == dim || a->shape[i] == b->shape[i]);
    s[i] = a->shape[i] + (i == dim ? b->shape[i] : 0);
  }
  FrTensor *y = fr_tensor_new(g, a->ndim, s);
  int64_t outer, inner;
  split_dims(y, dim, &outer, &inner);
  int64_t la = a->shape[dim] * inner, lb = b->shape[dim] * inner;
  for (int64_t o = 0; o < outer; o++) {
    memcpy(y->data + o * (la + lb), a->data + o * la, sizeof(float) * (size_t)la);
    memcpy(y->data + o * (la + lb) + la, b->data + o * lb, sizeof(float) * (size_t)lb);
  }
  FrNode *n = fr_graph_record(g, "concat", concat_bwd, y, 2, a, b);
  if (n) {
    SliceCtx *c = fr_graph_alloc(g, sizeof *c);
    c->dim = dim;
    n->ctx = c;
  }
  return y;
}

static void slice_bwd(FrGraph *g, FrNode *n) {
  SliceCtx *c = n->ctx;
  FrTensor *x = n->in[0];
  int64_t outer, inner;
  split_dims(x, c->dim, &outer, &inner);
  int64_t lx = x->shape[c->dim] * inner, ly = n->out->shape[c->dim] * inner;
  float *gx = fr_grad(g, x);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < ly; i++) gx[o * lx + c->start * inner + i] += n->out->grad[o * ly + i];
}

FrTensor *fr_slice(FrGraph *g, FrTensor *x, int dim, int64_t start, int64_t len) {
  g_assert(dim >= 0 && dim < x->ndim && start >= 0 && len >= 0 && start + len <= x->shape[dim]);
  int64_t s[FR_MAX_DIMS];
  memcpy(s, x->shape, sizeof s);
  s[dim] = len;
  FrTensor *y = fr_tensor_new(g, x->ndim, s);
  int64_t outer, inner;
  split_dims(x, dim, &outer, &inner);
  int64_t lx = x->shape[dim] * inner, ly = len * inner;
  for (int64_t o = 0; o < outer; o++)
    memcpy(y->data + o * ly, x->data + o * lx + start * inner, sizeof(float) * (size_t)ly);
  FrNode *n = fr_graph_record(g, "slice", slice_bwd, y, 1, x);
  if (n) {
    SliceCtx *c = fr_graph_alloc(g, sizeof *c);
    c->dim = dim;
    c->start = start;
    n->ctx = c;
  }
  return y;
}

/* ------------------------------------------------------------------ elementwise */

typedef enum { EW_ADD, EW_SUB, EW_MUL } EwKind;
typedef struct { const float *a, *b; float *y; EwKind k; } EwCtx;

FR_KERNEL_CLONES static void ew_range(void *p, int64_t b, int64_t e) {
  EwCtx *c = p;
  const float *a = c->a, *bb = c->b;   /* y may be a or b (in-place callers): no restrict */
  float *y = c->y;
  switch (c->k) {   /* omp simd: element i is read and then written, so y == a is fine */
  case EW_ADD:
#pragma omp simd
    for (int64_t i = b; i < e; i++) y[i] = a[i] + bb[i];
    break;
  case EW_SUB:
#pragma omp simd
    for (int64_t i = b; i < e; i++) y[i] = a[i] - bb[i];
    break;
  case EW_MUL:
#pragma omp simd
    for (int64_t i = b; i < e; i++) y[i] = a[i] * bb[i];
    break;
  }
}

static void binary_bwd(FrGraph *g, FrNode *n) {
  EwKind k = (EwKind)GPOINTER_TO_INT(n->ctx);
  FrTensor *a = n->in[0], *b = n->in[1];
  const float *gy = n->out->grad;
  float *ga = fr_grad(g, a), *gb = fr_grad(g, b);
  int64_t m = fr_tensor_numel(n->out);
  if (ga) for (int64_t i = 0; i < m; i++) ga[i] += k == EW_MUL ? gy[i] * b->data[i] : gy[i];
  if (gb) for (int64_t i = 0; i < m; i++) gb[i] += k == EW_MUL ? gy[i] * a->data[i] : (k == EW_SUB ? -gy[i] : gy[i]);
}

static FrTensor *binary(FrGraph *g, FrTensor *a, FrTensor *b, EwKind k, const char *name, bool inplace) {
  g_assert(fr_tensor_same_shape(a, b));
  gint64 t0 = fr_graph_op_begin(g);
  bool records = g->grad_enabled && (a->requires_grad || b->requires_grad);
  FrTensor *y = inplace && !records ? fr_tensor_wrap(g, a->ndim, a->shape, a->data) : fr_tensor_like(g, a);
  EwCtx c = { a->data, b->data, y->data, k };
  fr_parallel_for(fr_tensor_numel(y), GRAIN, ew_range, &c);
  fr_graph_op_end(g, t0, name, y, 0, 2 * numel_bytes(a), numel_bytes(y));
  FrNode *n = fr_graph_record(g, name, binary_bwd, y, 2, a, b);
  if (n) n->ctx = GINT_TO_POINTER(k);
  return y;
}

FrTensor *fr_add(FrGraph *g, FrTensor *a, FrTensor *b) { return binary(g, a, b, EW_ADD, "add", false); }
FrTensor *fr_sub(FrGraph *g, FrTensor *a, FrTensor *b) { return binary(g, a, b, EW_SUB, "sub", false); }
FrTensor *fr_mul(FrGraph *g, FrTensor *a, FrTensor *b) { return binary(g, a, b, EW_MUL, "mul", false); }
FrTensor *fr_add_(FrGraph *g, FrTensor *a, FrTensor *b) {
  g_assert(fr_tensor_is_contiguous(a) && fr_tensor_is_contiguous(b));
  return binary(g, a, b, EW_ADD, "add", true);
}

typedef struct { float s; } ScaleCtx;

static void scale_bwd(FrGraph *g, FrNode *n) {
  float s = ((ScaleCtx *)n->ctx)->s;
  float *gx = fr_grad(g, n->in[0]);
  int64_t m = fr_tensor_numel(n->out);
  for (int64_t i = 0; i < m; i++) gx[i] += s * n->out->grad[i];
}

static FrTensor *affine_scalar(FrGraph *g, FrTensor *x, float mul, float add, const char *name) {
  FrTensor *y = fr_tensor_like(g, x);
  int64_t m = fr_tensor_numel(x);
  for (int64_t i = 0; i < m; i++) y->data[i] = x->data[i] * mul + add;
  FrNode *n = fr_graph_record(g, name, scale_bwd, y, 1, x);
  if (n) {
    ScaleCtx *c = fr_graph_alloc(g, sizeof *c);
    c->s = mul;
    n->ctx = c;
  }
  return y;
}

FrTensor *fr_scale(FrGraph *g, FrTensor *x, float s) { return affine_scalar(g, x, s, 0.0f, "scale"); }
FrTensor *fr_add_scalar(FrGraph *g, FrTensor *x, float s) { return affine_scalar(g, x, 1.0f, s, "add_scalar"); }

static void sum_bwd(FrGraph *g, FrNode *n) {
  float gy = n->out->grad[0] * ((ScaleCtx *)n->ctx)->s;
  float *gx = fr_grad(g, n->in[0]);
  int64_t m = fr_tensor_numel(n->in[0]);
  for (int64_t i = 0; i < m; i++) gx[i] += gy;
}

static FrTensor *reduce_sum(FrGraph *g, FrTensor *x, bool mean) {
  int64_t m = fr_tensor_numel(x);
  double acc = 0;
  for (int64_t i = 0; i < m; i++) acc += x->data[i];
  float s = mean ? (m ? 1.0f / (float)m : 0.0f) : 1.0f;
  FrTensor *y = fr_tensor_new(g, 0, NULL);
  y->data[0] = (float)(acc * s);
  FrNode *n = fr_graph_record(g, mean ? "mean" : "sum", sum_bwd, y, 1, x);
  if (n) {
    ScaleCtx *c = fr_graph_alloc(g, sizeof *c);
    c->s = s;
    n->ctx = c;
  }
  return y;
}

FrTensor *fr_sum(FrGraph *g, FrTensor *x) { return reduce_sum(g, x, false); }
FrTensor *fr_mean(FrGraph *g, FrTensor *x) { return reduce_sum(g, x, true); }

/* ------------------------------------------------------------------ activations */

typedef enum { A_RELU, A_RELU6, A_LEAKY, A_TANH, A_SIGMOID, A_GELU } ActKind;

/* tanh without a libm call, so the loop vectorises (a generator's output layer: 200k of them per RGB
 * 256x256 image). |x| < 0.4: the Taylor series to x^13 (next term < 2e-9 relative); otherwise
 * sign(x) (1 - 2 / (e^(2|x|) + 1)), with e^t = 2^n e^r, |r| <= ln2/2, e^r to r^7 (< 6e-9 relative);
 * |x| >= 10 gives +-1, as it should in float. Within 2 ulp of the correctly rounded tanh; NaN stays NaN. */
static inline float tanh_fast(float x) {
  /* branch-free (both halves computed, then selected) so the loop vectorises; NaN flows through both */
  float a = fabsf(x), a2 = x * x;
  float small = a + a * a2 * (-1.0f / 3 + a2 * (2.0f / 15 + a2 * (-17.0f / 315 + a2 * (62.0f / 2835 +
                  a2 * (-1382.0f / 155925 + a2 * (21844.0f / 6081075))))));
  float t = 2.0f * (a > 10.0f ? 10.0f : a);
  float nf = (t * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round to nearest */
  nf = nf == nf ? nf : 0.0f;                                            /* no NaN into the int */
  float r = (t - nf * 0.693145751953125f) - nf * 1.428606765330187e-06f;
  float er = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
               r * (1.0f / 720 + r * (1.0f / 5040)))))));
  int32_t bits = ((int32_t)nf + 127) << 23;
  float two_n;
  memcpy(&two_n, &bits, sizeof two_n);
  float big = 1.0f - 2.0f / (er * two_n + 1.0f);
  return copysignf(a < 0.4f ? small : big, x);   /* copysign: tanh(-0) = -0 */
}
typedef struct { const float *x; float *y; const float *gy; float *gx; ActKind k; float slope; } ActCtx;

FR_KERNEL_CLONES static void act_fwd_range(void *p, int64_t b, int64_t e) {
  ActCtx *c = p;
  const float *x = c->x;
  float *y = c->y;
  switch (c->k) {
  case A_RELU: for (int64_t i = b; i < e; i++) y[i] = x[i] > 0 ? x[i] : 0; break;
  case A_RELU6: for (int64_t i = b; i < e; i++) y[i] = x[i] < 0 ? 0 : (x[i] > 6 ? 6 : x[i]); break;
  case A_LEAKY: for (int64_t i = b; i < e; i++) y[i] = x[i] > 0 ? x[i] : c->slope * x[i]; break;
  case A_TANH:
#pragma omp simd
    for (int64_t i = b; i < e; i++) y[i] = tanh_fast(x[i]);
    break;
  case A_SIGMOID: for (int64_t i = b; i < e; i++) y[i] = 1.0f / (1.0f + expf(-x[i])); break;
  case A_GELU:
    for (int64_t i = b; i < e; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
    break;
  }
}

static void act_bwd_range(void *p, int64_t b, int64_t e) {
  ActCtx *c = p;
  const float *x = c->x, *y = c->y, *gy = c->gy;
  float *gx = c->gx;
  switch (c->k) {
  case A_RELU: for (int64_t i = b; i < e; i++) { float g = gy[i]; gx[i] += x[i] > 0 ? g : 0; } break;
  case A_RELU6: for (int64_t i = b; i < e; i++) gx[i] += (x[i] > 0 && x[i] < 6) ? gy[i] : 0; break;
  case A_LEAKY: for (int64_t i = b; i < e; i++) gx[i] += x[i] > 0 ? gy[i] : c->slope * gy[i]; break;
  case A_TANH: for (int64_t i = b; i < e; i++) gx[i] += gy[i] * (1 - y[i] * y[i]); break;
  case A_SIGMOID: for (int64_t i = b; i < e; i++) gx[i] += gy[i] * y[i] * (1 - y[i]); break;
  case A_GELU:
    for (int64_t i = b; i < e; i++) {
      float cdf = 0.5f * (1.0f + erff(x[i] * (float)M_SQRT1_2));
      float pdf = expf(-0.5f * x[i] * x[i]) * 0.3989422804014327f;
      gx[i] += gy[i] * (cdf + x[i] * pdf);
    }
    break;
  }
}

static void act_bwd(FrGraph *g, FrNode *n) {
  ActCtx *c = n->ctx;
  c->gy = n->out->grad;
  c->gx = fr_grad(g, n->in[0]);
  fr_parallel_for(fr_tensor_numel(n->out), GRAIN, act_bwd_range, c);
}

static const char *act_names[] = { "relu", "relu6", "leaky_relu", "tanh", "sigmoid", "gelu" };

static FrTensor *activation(FrGraph *g, FrTensor *x, ActKind k, float slope) {
  gint64 t0 = fr_graph_op_begin(g);
  FrTensor *y = fr_tensor_like(g, x);
  ActCtx c = { .x = x->data, .y = y->data, .k = k, .slope = slope };
  fr_parallel_for(fr_tensor_numel(x), GRAIN, act_fwd_range, &c);
  fr_graph_op_end(g, t0, act_names[k], y, 0, numel_bytes(x), numel_bytes(y));
  FrNode *n = fr_graph_record(g, act_names[k], act_bwd, y, 1, x);
  if (n) {
    ActCtx *s = fr_graph_alloc(g, sizeof *s);
    *s = c;
    n->ctx = s;
  }
  return y;
}

FrTensor *fr_relu(FrGraph *g, FrTensor *x) { return activation(g, x, A_RELU, 0); }
FrTensor *fr_relu6(FrGraph *g, FrTensor *x) { return activation(g, x, A_RELU6, 0); }
FrTensor *fr_leaky_relu(FrGraph *g, FrTensor *x, float slope) { return activation(g, x, A_LEAKY, slope); }
FrTensor *fr_tanh(FrGraph *g, FrTensor *x) { return activation(g, x, A_TANH, 0); }
FrTensor *fr_sigmoid(FrGraph *g, FrTensor *x) { return activation(g, x, A_SIGMOID, 0); }
FrTensor *fr_gelu(FrGraph *g, FrTensor *x) { return activation(g, x, A_GELU, 0); }

static void glu_bwd(FrGraph *g, FrNode *n) {
  int dim = GPOINTER_TO_INT(n->ctx);
  FrTensor *x = n->in[0];
  int64_t outer, inner;
  split_dims(x, dim, &outer, &inner);
  int64_t half = x->shape[dim] / 2 * inner;
  float *gx = fr_grad(g, x);
  for (int64_t o = 0; o < outer; o++) {
    const float *a = x->data + o * 2 * half, *b = a + half;
    const float *gy = n->out->grad + o * half;
    float *ga = gx + o * 2 * half, *gb = ga + half;
    for (int64_t i = 0; i < half; i++) {
      float s = 1.0f / (1.0f + expf(-b[i]));
      ga[i] += gy[i] * s;
      gb[i] += gy[i] * a[i] * s * (1 - s);
    }
  }
}

FrTensor *fr_glu(FrGraph *g, FrTensor *x, int dim) {
  g_assert(dim >= 0 && dim < x->ndim && x->shape[dim] % 2 == 0);
  gint64 t0 = fr_graph_op_begin(g);
  int64_t s[FR_MAX_DIMS];
  memcpy(s, x->shape, sizeof s);
  s[dim] /= 2;
  FrTensor *y = fr_tensor_new(g, x->ndim, s);
  int64_t outer, inner;
  split_dims(x, dim, &outer, &inner);
  int64_t half = s[dim] * inner;
  for (int64_t o = 0; o < outer; o++) {
    const float *a = x->data + o * 2 * half, *b = a + half;
    float *yo = y->data + o * half;
    for (int64_t i = 0; i < half; i++) yo[i] = a[i] / (1.0f + expf(-b[i]));
  }
  fr_graph_op_end(g, t0, "glu", y, 0, numel_bytes(x), numel_bytes(y));
  FrNode *n = fr_graph_record(g, "glu", glu_bwd, y, 1, x);
  if (n) n->ctx = GINT_TO_POINTER(dim);
  return y;
}

static void softmax_rows(const float *x, float *y, int64_t rows, int64_t cols, bool use_log) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    float mx = -INFINITY;
    for (int64_t j = 0; j < cols; j++) mx = xr[j] > mx ? xr[j] : mx;
    if (mx == -INFINITY) mx = 0;  /* a fully masked row */
    double sum = 0;
    for (int64_t j = 0; j < cols; j++) sum += expf(xr[j] - mx);
    if (use_log) {
      float lse = mx + (float)log(sum);
      for (int64_t j = 0; j < cols; j++) yr[j] = xr[j] - lse;
    } else {
      float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
      for (int64_t j = 0; j < cols; j++) yr[j] = expf(xr[j] - mx) * inv;
    }
  }
}

static void softmax_bwd(FrGraph *g, FrNode *n) {
  bool use_log = GPOINTER_TO_INT(n->ctx);
  FrTensor *y = n->out;
  int64_t cols = y->shape[y->ndim - 1], rows = fr_tensor_numel(y) / (cols ? cols : 1);
  float *gx = fr_grad(g, n->in[0]);
  for (int64_t r = 0; r < rows; r++) {
    const float *yr = y->data + r * cols, *gy = y->grad + r * cols;
    float *gr = gx + r * cols;
    double dot = 0;
    if (use_log) {
      for (int64_t j = 0; j < cols; j++) dot += gy[j];
      for (int64_t j = 0; j < cols; j++) gr[j] += gy[j] - expf(yr[j]) * (float)dot;
    } else {
      for (int64_t j = 0; j < cols; j++) dot += gy[j] * yr[j];
      for (int64_t j = 0; j < cols; j++) gr[j] += yr[j] * (gy[j] - (float)dot);
    }
  }
}

static FrTensor *softmax_op(FrGraph *g, FrTensor *x, bool use_log) {
  gint64 t0 = fr_graph_op_begin(g);
  FrTensor *y = fr_tensor_like(g, x);
  int64_t cols = x->shape[x->ndim - 1], rows = fr_tensor_numel(x) / (cols ? cols : 1);
  softmax_rows(x->data, y->data, rows, cols, use_log);
  const char *name = use_log ? "log_softmax" : "softmax";
  fr_graph_op_end(g, t0, name, y, 0, numel_bytes(x), numel_bytes(y));
  FrNode *n = fr_graph_record(g, name, softmax_bwd, y, 1, x);
  if (n) n->ctx = GINT_TO_POINTER(use_log);
  return y;
}

FrTensor *fr_softmax(FrGraph *g, FrTensor *x) { return softmax_op(g, x, false); }
FrTensor *fr_log_softmax(FrGraph *g, FrTensor *x) { return softmax_op(g, x, true); }

static void dropout_bwd(FrGraph *g, FrNode *n) {
  const float *mask = n->ctx;
  float *gx = fr_grad(g, n->in[0]);
  int64_t m = fr_tensor_numel(n->out);
  for (int64_t i = 0; i < m; i++) gx[i] += n->out->grad[i] * mask[i];
}

FrTensor *fr_dropout(FrGraph *g, FrTensor *x, float p) {
  if (!g->training || p <= 0.0f) return x;
  g_assert(p < 1.0f);
  FrTensor *y = fr_tensor_like(g, x);
  int64_t m = fr_tensor_numel(x);
  float *mask = fr_graph_alloc(g, sizeof(float) * (size_t)m);
  float keep = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < m; i++) {
    mask[i] = fr_rng_uniform(&g->rng) < p ? 0.0f : keep;
    y->data[i] = x->data[i] * mask[i];
  }
  FrNode *n = fr_graph_record(g, "dropout", dropout_bwd, y, 1, x);
  if (n) n->ctx = mask;
  return y;
}

/* ------------------------------------------------------------------ dense */

static void linear_bwd(FrGraph *g, FrNode *n) {
  FrTensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
  int64_t in = w->shape[1], out = w->shape[0], rows = fr_tensor_numel(x) / in;
  const float *gy = n->out->grad;
  float *gx = fr_grad(g, x), *gw = fr_grad(g, w), *gb = fr_grad(g, b);
  if (gx) fr_gemm(false, false, rows, in, out, 1.0f, gy, out, w->data, in, 1.0f, gx, in);
  if (gw) fr_gemm(true, false, out, in, rows, 1.0f, gy, out, x->data, in, 1.0f, gw, in);
  if (gb)
    for (int64_t r = 0; r < rows; r++)
      for (int64_t o = 0; o < out; o++) gb[o] += gy[r * out + o];
}

FrTensor *fr_linear(FrGraph *g, FrTensor *x, FrTensor *w, FrTensor *b) {
  g_assert(w->ndim == 2 && x->shape[x->ndim - 1] == w->shape[1]);
  g_assert(!b || fr_tensor_numel(b) == w->shape[0]);
  gint64 t0 = fr_graph_op_begin(g);
  int64_t in = w->shape[1], out = w->shape[0], rows = fr_tensor_numel(x) / in;
  int64_t s[FR_MAX_DIMS];
  memcpy(s, x->shape, sizeof s);
  s[x->ndim - 1] = out;
  FrTensor *y = fr_tensor_new(g, x->ndim, s);
  if (b)
    for (int64_t r = 0; r < rows; r++) memcpy(y->data + r * out, b->data, sizeof(float) * (size_t)out);
  fr_gemm(false, true, rows, out, in, 1.0f, x->data, in, w->data, in, b ? 1.0f : 0.0f, y->data, out);
  double macs = (double)rows * (double)in * (double)out;
  fr_graph_op_end(g, t0, "linear", y, macs, numel_bytes(x) + numel_bytes(w), numel_bytes(y));
  FrNode *n = fr_graph_record(g, "linear", linear_bwd, y, 3, x, w, b);
  if (n) n->bwd_macs = 2 * macs;
  return y;
}

typedef struct { bool ta, tb; } MatmulCtx;

static void mm_dims(const FrTensor *a, const FrTensor *b, bool ta, bool tb, int64_t *batch, int64_t *M,
                    int64_t *N, int64_t *K) {
  int nd = a->ndim;
  g_assert(nd >= 2 && b->ndim == nd);
  *batch = 1;
  for (int i = 0; i < nd - 2; i++) {
    g_assert(a->shape[i] == b->shape[i]);
    *batch *= a->shape[i];
  }
  *M = ta ? a->shape[nd - 1] : a->shape[nd - 2];
  *K = ta ? a->shape[nd - 2] : a->shape[nd - 1];
  int64_t kb = tb ? b->shape[nd - 1] : b->shape[nd - 2];
  *N = tb ? b->shape[nd - 2] : b->shape[nd - 1];
  g_assert(kb == *K);
}

static void matmul_bwd(FrGraph *g, FrNode *n) {
  MatmulCtx *c = n->ctx;
  FrTensor *a = n->in[0], *b = n->in[1];
  int64_t batch, M, N, K;
  mm_dims(a, b, c->ta, c->tb, &batch, &M, &N, &K);
  float *ga = fr_grad(g, a), *gb = fr_grad(g, b);
  int64_t lda = c->ta ? M : K, ldb = c->tb ? K : N;
  for (int64_t i = 0; i < batch; i++) {
    const float *A = a->data + i * M * K, *B = b->data + i * K * N, *G = n->out->grad + i * M * N;
    /* C = op(A) op(B).  dop(A) = G op(B)ᵀ, dop(B) = op(A)ᵀ G */
    if (ga) {
      if (!c->ta) fr_gemm(false, !c->tb, M, K, N, 1, G, N, B, ldb, 1, ga + i * M * K, lda);
      else fr_gemm(c->tb, true, K, M, N, 1, B, ldb, G, N, 1, ga + i * M * K, lda);
    }
    if (gb) {
      if (!c->tb) fr_gemm(!c->ta, false, K, N, M, 1, A, lda, G, N, 1, gb + i * K * N, ldb);
      else fr_gemm(true, c->ta, N, K, M, 1, G, N, A, lda, 1, gb + i * K * N, ldb);
    }
  }
}

FrTensor *fr_matmul(FrGraph *g, FrTensor *a, FrTensor *b, bool trans_a, bool trans_b) {
  int64_t batch, M, N, K;
  mm_dims(a, b, trans_a, trans_b, &batch, &M, &N, &K);
  gint64 t0 = fr_graph_op_begin(g);
  int64_t s[FR_MAX_DIMS];
  memcpy(s, a->shape, sizeof s);
  s[a->ndim - 2] = M;
  s[a->ndim - 1] = N;
  FrTensor *y = fr_tensor_new(g, a->ndim, s);
  int64_t lda = trans_a ? M : K, ldb = trans_b ? K : N;
  for (int64_t i = 0; i < batch; i++)
    fr_gemm(trans_a, trans_b, M, N, K, 1.0f, a->data + i * M * K, lda, b->data + i * K * N, ldb, 0.0f,
            y->data + i * M * N, N);
  double macs = (double)batch * M * N * K;
  fr_graph_op_end(g, t0, "matmul", y, macs, numel_bytes(a) + numel_bytes(b), numel_bytes(y));
  FrNode *n = fr_graph_record(g, "matmul", matmul_bwd, y, 2, a, b);
  if (n) {
    MatmulCtx *c = fr_graph_alloc(g, sizeof *c);
    c->ta = trans_a;
    c->tb = trans_b;
    n->ctx = c;
    n->bwd_macs = 2 * macs;
  }
  return y;
}

static void mask_bwd(FrGraph *g, FrNode *n) {
  float *gx = fr_grad(g, n->in[0]);
  int64_t m = fr_tensor_numel(n->out);
  for (int64_t i = 0; i < m; i++)
    if (n->out->data[i] != -INFINITY) gx[i] += n->out->grad[i];
}

static FrTensor *causal_mask(FrGraph *g, FrTensor *x) {
  FrTensor *y = fr_tensor_like(g, x);
  int64_t tq = x->shape[x->ndim - 2], tk = x->shape[x->ndim - 1], mats = fr_tensor_numel(x) / (tq * tk);
  for (int64_t m = 0; m < mats; m++)
    for (int64_t i = 0; i < tq; i++)
      for (int64_t j = 0; j < tk; j++) {
        int64_t o = (m * tq + i) * tk + j;
        y->data[o] = j > i ? -INFINITY : x->data[o];
      }
  fr_graph_record(g, "causal_mask", mask_bwd, y, 1, x);
  return y;
}

FrTensor *fr_attention(FrGraph *g, FrTensor *q, FrTensor *k, FrTensor *v, bool causal) {
  g_assert(q->ndim == 4 && k->ndim == 4 && v->ndim == 4);
  float scale = 1.0f / sqrtf((float)q->shape[3]);
  FrTensor *s = fr_scale(g, fr_matmul(g, q, k, false, true), scale);
  if (causal) s = causal_mask(g, s);
  return fr_matmul(g, fr_softmax(g, s), v, false, false);
}

static void embedding_bwd(FrGraph *g, FrNode *n) {
  const int32_t *ids = n->ctx;
  FrTensor *table = n->in[0];
  int64_t D = table->shape[1], rows = n->out->shape[0];
  float *gt = fr_grad(g, table);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t d = 0; d < D; d++) gt[(int64_t)ids[r] * D + d] += n->out->grad[r * D + d];
}

FrTensor *fr_embedding(FrGraph *g, FrTensor *table, const int32_t *ids, int64_t n) {
  g_assert(table->ndim == 2);
  int64_t D = table->shape[1];
  FrTensor *y = fr_tensor_new(g, 2, FR_SHAPE(n, D));
  for (int64_t r = 0; r < n; r++) {
    g_assert(ids[r] >= 0 && ids[r] < table->shape[0]);
    memcpy(y->data + r * D, table->data + (int64_t)ids[r] * D, sizeof(float) * (size_t)D);
  }
  FrNode *node = fr_graph_record(g, "embedding", embedding_bwd, y, 1, table);
  if (node) {
    int32_t *copy = fr_graph_alloc(g, sizeof(int32_t) * (size_t)(n ? n : 1));
    memcpy(copy, ids, sizeof(int32_t) * (size_t)n);
    node->ctx = copy;
  }
  return y;
}
