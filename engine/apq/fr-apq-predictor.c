/* fr-apq-predictor.c: APQ's accuracy predictor. Inference runs as plain GEMMs over chunks of rows
 * (searches score tens of thousands of candidates); training goes through the engine's graph with
 * Adam, so it shares the ops (and their gradient tests) with every other model. */
#include "fr-apq-predictor.h"

#include "fr-model-io.h"
#include "fr-ops.h"
#include "fr-optim.h"
#include "fr-safetensors.h"
#include "fr-pool.h"

#include <cblas.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FORMAT_TAG "frontier-apq-predictor"
/* Rows per GEMM in predict: enough rows to spread over the pool, scratch 2 x 1024 x H floats. */
#define PREDICT_CHUNK 1024

/* The tensors, in the order of `specs` below; the bits branch comes last so a full-precision
 * predictor is simply the first N_FP32 of them. */
enum { W0, B0, W1, B1, W2, B2, WR, BR, WQ, BQ, N_TENSORS };
#define N_FP32 WQ

struct _FrApqPredictor {
  int arch_dim, quant_dim, hidden;
  FrParamSet *params;
  FrTensor *t[N_TENSORS];   /* WQ, BQ NULL at full precision */
};

typedef struct {
  const char *name;
  int ndim;
  int64_t shape[2];
} TensorSpec;

/* Names and shapes for given dims; returns how many tensors the predictor has. */
static int specs(int arch, int quant, int hidden, TensorSpec out[N_TENSORS]) {
  const TensorSpec all[N_TENSORS] = {
    [W0] = { "layers.0.0.weight", 2, { hidden, arch } },  [B0] = { "layers.0.0.bias", 1, { hidden } },
    [W1] = { "layers.1.0.weight", 2, { hidden, hidden } }, [B1] = { "layers.1.0.bias", 1, { hidden } },
    [W2] = { "layers.2.0.weight", 2, { hidden, hidden } }, [B2] = { "layers.2.0.bias", 1, { hidden } },
    [WR] = { "regressor.weight", 2, { 1, hidden } },       [BR] = { "regressor.bias", 1, { 1 } },
    [WQ] = { "quantize_fc.weight", 2, { hidden, quant } }, [BQ] = { "quantize_fc.bias", 1, { hidden } },
  };
  memcpy(out, all, sizeof all);
  return quant > 0 ? N_TENSORS : N_FP32;
}

/* A predictor with zero weights. */
static FrApqPredictor *build(int arch_dim, int quant_dim, int hidden) {
  FrApqPredictor *p = g_new0(FrApqPredictor, 1);
  p->arch_dim = arch_dim;
  p->quant_dim = quant_dim;
  p->hidden = hidden;
  p->params = fr_param_set_new();
  TensorSpec s[N_TENSORS];
  int n = specs(arch_dim, quant_dim, hidden, s);
  for (int i = 0; i < n; i++) p->t[i] = fr_param_set_add(p->params, s[i].name, s[i].ndim, s[i].shape, TRUE);
  return p;
}

FrApqPredictor *fr_apq_predictor_new(int arch_dim, int quant_dim, int hidden, guint64 seed) {
  g_return_val_if_fail(arch_dim > 0 && quant_dim >= 0 && hidden > 0, NULL);
  FrApqPredictor *p = build(arch_dim, quant_dim, hidden);
  FrRng rng;
  fr_rng_seed(&rng, seed);
  /* nn.Linear's default: weight and bias both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
  for (int i = 0; i < N_TENSORS; i += 2) {
    FrTensor *w = p->t[i], *b = p->t[i + 1];
    if (!w) continue;
    float bound = 1.0f / sqrtf((float)w->shape[1]);
    fr_rng_fill_uniform(&rng, w->data, fr_tensor_numel(w), -bound, bound);
    fr_rng_fill_uniform(&rng, b->data, fr_tensor_numel(b), -bound, bound);
  }
  return p;
}

void fr_apq_predictor_free(FrApqPredictor *p) {
  if (!p) return;
  fr_param_set_free(p->params);
  g_free(p);
}

int fr_apq_predictor_arch_dim(const FrApqPredictor *p) { return p->arch_dim; }
int fr_apq_predictor_quant_dim(const FrApqPredictor *p) { return p->quant_dim; }
int fr_apq_predictor_hidden(const FrApqPredictor *p) { return p->hidden; }
size_t fr_apq_predictor_n_params(const FrApqPredictor *p) { return fr_param_set_count(p->params, TRUE); }

/* ------------------------------------------------------------------ files */

gboolean fr_apq_predictor_save(const FrApqPredictor *p, const char *path, const char *const *metadata,
                               GError **error) {
  char arch[16], quant[16], hidden[16];
  snprintf(arch, sizeof arch, "%d", p->arch_dim);
  snprintf(quant, sizeof quant, "%d", p->quant_dim);
  snprintf(hidden, sizeof hidden, "%d", p->hidden);
  /* the caller's pairs first: a later key replaces an earlier one, so ours always describe the file */
  GPtrArray *meta = g_ptr_array_new();
  for (int i = 0; metadata && metadata[i] && metadata[i + 1]; i += 2) {
    g_ptr_array_add(meta, (gpointer)metadata[i]);
    g_ptr_array_add(meta, (gpointer)metadata[i + 1]);
  }
  const char *own[] = { "format", FORMAT_TAG, "arch_dim", arch, "quant_dim", quant, "hidden", hidden };
  for (guint i = 0; i < G_N_ELEMENTS(own); i++) g_ptr_array_add(meta, (gpointer)own[i]);
  g_ptr_array_add(meta, NULL);
  gboolean ok = fr_param_set_save(p->params, path, (const char *const *)meta->pdata, error);
  g_ptr_array_unref(meta);
  return ok;
}

static const FrSafeTensor *require_matrix(const FrSafetensors *st, const char *path, const char *name,
                                          GError **error) {
  const FrSafeTensor *t = fr_safetensors_get(st, name);
  if (!t) {
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_MISSING,
                "%s: not an APQ accuracy predictor: no tensor '%s'", path, name);
    return NULL;
  }
  if (t->ndim != 2 || t->shape[0] < 1 || t->shape[1] < 1 || t->shape[0] > G_MAXINT || t->shape[1] > G_MAXINT) {
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_SHAPE,
                "%s: tensor '%s' must be a non-empty matrix [out, in]", path, name);
    return NULL;
  }
  return t;
}

static char *shape_str(int ndim, const int64_t *shape) {
  GString *s = g_string_new("[");
  for (int d = 0; d < ndim; d++) g_string_append_printf(s, "%s%lld", d ? ", " : "", (long long)shape[d]);
  g_string_append_c(s, ']');
  return g_string_free(s, FALSE);
}

/* Dims from the first layer and the bits branch (if any), then every tensor checked against them
 * before anything is allocated: a hostile header cannot make us build a huge model. */
static gboolean infer_dims(const FrSafetensors *st, const char *path, int *arch, int *quant, int *hidden,
                           GError **error) {
  const FrSafeTensor *w0 = require_matrix(st, path, "layers.0.0.weight", error);
  if (!w0) return FALSE;
  *hidden = (int)w0->shape[0];
  *arch = (int)w0->shape[1];
  *quant = 0;
  if (fr_safetensors_get(st, "quantize_fc.weight") || fr_safetensors_get(st, "quantize_fc.bias")) {
    const FrSafeTensor *wq = require_matrix(st, path, "quantize_fc.weight", error);
    if (!wq) return FALSE;
    *quant = (int)wq->shape[1];
  }
  TensorSpec s[N_TENSORS];
  int n = specs(*arch, *quant, *hidden, s);
  for (int i = 0; i < n; i++) {
    const FrSafeTensor *t = fr_safetensors_get(st, s[i].name);
    if (!t) {
      g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_MISSING,
                  "%s: not an APQ accuracy predictor: no tensor '%s'", path, s[i].name);
      return FALSE;
    }
    gboolean same = t->ndim == s[i].ndim;
    for (int d = 0; same && d < s[i].ndim; d++) same = t->shape[d] == s[i].shape[d];
    if (!same) {
      g_autofree char *have = shape_str(t->ndim, t->shape);
      g_autofree char *want = shape_str(s[i].ndim, s[i].shape);
      g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_SHAPE,
                  "%s: tensor '%s' has shape %s, expected %s (for hidden %d, arch_dim %d, quant_dim %d, read "
                  "from layers.0.0.weight and quantize_fc.weight)", path, s[i].name, have, want, *hidden, *arch,
                  *quant);
      return FALSE;
    }
  }
  /* an extra layer would otherwise be dropped silently, and the file mean something else */
  if (fr_safetensors_n_tensors(st) != n) {
    for (int i = 0; i < fr_safetensors_n_tensors(st); i++) {
      const char *name = fr_safetensors_nth(st, i)->name;
      gboolean known = FALSE;
      for (int j = 0; j < n && !known; j++) known = strcmp(name, s[j].name) == 0;
      if (!known) {
        g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT,
                    "%s: unexpected tensor '%s' (an APQ accuracy predictor has layers.{0,1,2}.0, "
                    "quantize_fc and regressor only)", path, name);
        return FALSE;
      }
    }
  }
  return TRUE;
}

FrApqPredictor *fr_apq_predictor_load(const char *path, GError **error) {
  FrSafetensors *st = fr_safetensors_load(path, error);
  if (!st) return NULL;
  int arch, quant, hidden;
  FrApqPredictor *p = NULL;
  if (infer_dims(st, path, &arch, &quant, &hidden, error)) {
    p = build(arch, quant, hidden);
    for (int i = 0; i < N_TENSORS && p; i++) {
      FrTensor *t = p->t[i];
      if (t && !fr_safetensors_read_f32(st, t->name, t->ndim, t->shape, t->data, error))
        g_clear_pointer(&p, fr_apq_predictor_free);
    }
  }
  fr_safetensors_free(st);
  return p;
}

gboolean fr_apq_predictor_transfer_from(FrApqPredictor *dst, const FrApqPredictor *src, GError **error) {
  if (dst->quant_dim == 0 || src->quant_dim != 0 || dst->arch_dim != src->arch_dim || dst->hidden != src->hidden) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "predictor transfer needs a full-precision source and a quantization-aware target with the "
                "same arch_dim and hidden (source %d+%d, hidden %d; target %d+%d, hidden %d)",
                src->arch_dim, src->quant_dim, src->hidden, dst->arch_dim, dst->quant_dim, dst->hidden);
    return FALSE;
  }
  for (int i = 0; i < N_FP32; i++)
    memcpy(dst->t[i]->data, src->t[i]->data, sizeof(float) * (size_t)fr_tensor_numel(src->t[i]));
  /* a zero bits branch adds exactly 0, so the target starts out predicting what the source does */
  memset(dst->t[WQ]->data, 0, sizeof(float) * (size_t)fr_tensor_numel(dst->t[WQ]));
  memset(dst->t[BQ]->data, 0, sizeof(float) * (size_t)fr_tensor_numel(dst->t[BQ]));
  return TRUE;
}

/* ------------------------------------------------------------------ inference */

/* dst[rows, out] = x[rows, in] (row stride ldx) · Wᵀ + b */
static void dense(const FrTensor *w, const FrTensor *b, const float *x, int64_t ldx, int rows, float *dst) {
  int64_t out = w->shape[0], in = w->shape[1];
  for (int r = 0; r < rows; r++) memcpy(dst + r * out, b->data, sizeof(float) * (size_t)out);
  fr_gemm(false, true, rows, out, in, 1.0f, x, ldx, w->data, in, 1.0f, dst, out);
}

static void relu_inplace(float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void fr_apq_predictor_predict(const FrApqPredictor *p, const float *x, int n, float *y) {
  if (n <= 0) return;
  const int H = p->hidden, in = p->arch_dim + p->quant_dim, chunk = MIN(n, PREDICT_CHUNK);
  const FrTensor *const *t = (const FrTensor *const *)p->t;
  /* per call, so concurrent calls share nothing */
  float *a = g_new(float, (size_t)chunk * H), *b = g_new(float, (size_t)chunk * H);
  for (int r0 = 0; r0 < n; r0 += chunk) {
    const int m = MIN(chunk, n - r0);
    const int64_t mh = (int64_t)m * H;
    const float *xr = x + (int64_t)r0 * in;
    dense(t[W0], t[B0], xr, in, m, a);
    relu_inplace(a, mh);
    if (p->quant_dim) {   /* APQ adds the bits branch after the ReLU, and puts none on it */
      dense(t[WQ], t[BQ], xr + p->arch_dim, in, m, b);
      for (int64_t i = 0; i < mh; i++) a[i] += b[i];
    }
    dense(t[W1], t[B1], a, H, m, b);
    relu_inplace(b, mh);
    dense(t[W2], t[B2], b, H, m, a);
    relu_inplace(a, mh);
    for (int r = 0; r < m; r++) {
      float acc = t[BR]->data[0];
      for (int j = 0; j < H; j++) acc += t[WR]->data[j] * a[(int64_t)r * H + j];
      y[r0 + r] = acc;
    }
  }
  g_free(a);
  g_free(b);
}

/* ------------------------------------------------------------------ one-hot plans */

struct _FrApqPredictorPlan {
  int arch_dim, quant_dim, hidden;
  float *w0t;          /* [arch_dim + quant_dim][hidden]: W0 columns, then Wq columns */
  float *b0, *bq;      /* bq NULL at full precision */
  float *w1, *b1, *w2, *b2, *wr;   /* w1, w2 transposed: [in][out] */
  float br;
};

static float *dup_floats(const float *src, int64_t n) { return g_memdup2(src, sizeof(float) * (size_t)n); }

FrApqPredictorPlan *fr_apq_predictor_plan_new(const FrApqPredictor *p) {
  const int A = p->arch_dim, Q = p->quant_dim, H = p->hidden;
  FrApqPredictorPlan *plan = g_new0(FrApqPredictorPlan, 1);
  plan->arch_dim = A;
  plan->quant_dim = Q;
  plan->hidden = H;
  plan->w0t = g_new(float, (size_t)(A + Q) * H);
  for (int j = 0; j < H; j++) {
    for (int i = 0; i < A; i++) plan->w0t[(int64_t)i * H + j] = p->t[W0]->data[(int64_t)j * A + i];
    for (int i = 0; i < Q; i++) plan->w0t[(int64_t)(A + i) * H + j] = p->t[WQ]->data[(int64_t)j * Q + i];
  }
  plan->b0 = dup_floats(p->t[B0]->data, H);
  plan->bq = Q ? dup_floats(p->t[BQ]->data, H) : NULL;
  /* W1, W2 transposed to [in][out]: a plain NN product, a little faster for the small batches */
  plan->w1 = g_new(float, (size_t)H * H);
  plan->w2 = g_new(float, (size_t)H * H);
  for (int i = 0; i < H; i++)
    for (int j = 0; j < H; j++) {
      plan->w1[(int64_t)i * H + j] = p->t[W1]->data[(int64_t)j * H + i];
      plan->w2[(int64_t)i * H + j] = p->t[W2]->data[(int64_t)j * H + i];
    }
  plan->b1 = dup_floats(p->t[B1]->data, H);
  plan->b2 = dup_floats(p->t[B2]->data, H);
  plan->wr = dup_floats(p->t[WR]->data, H);
  plan->br = p->t[BR]->data[0];
  return plan;
}

void fr_apq_predictor_plan_free(FrApqPredictorPlan *plan) {
  if (!plan) return;
  g_free(plan->w0t);
  g_free(plan->b0);
  g_free(plan->bq);
  g_free(plan->w1);
  g_free(plan->b1);
  g_free(plan->w2);
  g_free(plan->b2);
  g_free(plan->wr);
  g_free(plan);
}

int fr_apq_predictor_plan_input_dim(const FrApqPredictorPlan *plan) { return plan->arch_dim + plan->quant_dim; }
int fr_apq_predictor_plan_arch_dim(const FrApqPredictorPlan *plan) { return plan->arch_dim; }
int fr_apq_predictor_plan_quant_dim(const FrApqPredictorPlan *plan) { return plan->quant_dim; }

/* Per-thread scratch that lives as long as the thread: a search calls this every generation, and
 * a fresh 100+ KiB buffer each time would be a fresh mmap (and page faults) each time. */
typedef struct {
  size_t n;
  float data[];
} Scratch;
static GPrivate plan_scratch = G_PRIVATE_INIT(g_free);

static float *scratch_floats(size_t n) {
  Scratch *s = g_private_get(&plan_scratch);
  if (!s || s->n < n) {
    s = g_malloc(sizeof(Scratch) + sizeof(float) * n);
    s->n = n;
    g_private_replace(&plan_scratch, s);
  }
  return s->data;
}

/* Built for AVX-512, AVX2 and baseline x86-64; the loader picks one (as in fr-ops-conv.c). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PLAN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PLAN_CLONES
#endif

/* 16 floats: one AVX-512 register, two AVX2 ones, four SSE ones (GCC vector extensions, so every
 * clone is vectorised the same way; unaligned loads through the aligned(4) variant). */
typedef float Vf __attribute__((vector_size(64)));
typedef float VfU __attribute__((vector_size(64), aligned(4)));
typedef int32_t Vi __attribute__((vector_size(64)));
#define VL 16
#define FIRST_VECS 4   /* 64 hidden units at a time; two accumulator sets of 4 vectors */

#define vload(p) (*(const VfU *)(p))
#define vstore(p, v) (*(VfU *)(p) = (v))

/* acc[0, nv) += the (j0, 16 nv) slices of the n columns listed: two columns at a time into two
 * accumulator sets, so consecutive adds do not wait on each other's latency */
static inline __attribute__((always_inline)) void sum_columns(const float *w0t, int H, const int32_t *cols, int n,
                                                              int j0, const int nv, Vf *acc) {
  Vf acc2[FIRST_VECS];
  for (int v = 0; v < nv; v++) acc2[v] = (Vf){ 0 };
  int i = 0;
  for (; i + 1 < n; i += 2) {
    const float *x = w0t + (int64_t)cols[i] * H + j0, *y = w0t + (int64_t)cols[i + 1] * H + j0;
    for (int v = 0; v < nv; v++) {
      acc[v] += vload(x + VL * v);
      acc2[v] += vload(y + VL * v);
    }
  }
  if (i < n) {
    const float *x = w0t + (int64_t)cols[i] * H + j0;
    for (int v = 0; v < nv; v++) acc[v] += vload(x + VL * v);
  }
  for (int v = 0; v < nv; v++) acc[v] += acc2[v];
}

/* h[0, 16 nv) = relu(b0 + the row's arch columns) + (bq + its bits columns), hidden units j0 .. */
static inline __attribute__((always_inline)) void first_vecs(const FrApqPredictorPlan *p, const int32_t *arch,
                                                             int n_arch, const int32_t *bits, int n_bits, int j0,
                                                             const int nv, float *h) {
  Vf acc[FIRST_VECS];
  for (int v = 0; v < nv; v++) acc[v] = vload(p->b0 + j0 + VL * v);
  sum_columns(p->w0t, p->hidden, arch, n_arch, j0, nv, acc);
  for (int v = 0; v < nv; v++) acc[v] = (Vf)((Vi)acc[v] & (acc[v] > (Vf){ 0 }));   /* ReLU (NaN -> 0, as relu_inplace) */
  if (p->quant_dim) {   /* the bits branch: after the ReLU, none of its own */
    for (int v = 0; v < nv; v++) acc[v] += vload(p->bq + j0 + VL * v);
    sum_columns(p->w0t, p->hidden, bits, n_bits, j0, nv, acc);
  }
  for (int v = 0; v < nv; v++) vstore(h + VL * v, acc[v]);
}

/* the same for the last H % 16 units, one at a time */
static void first_tail(const FrApqPredictorPlan *p, const int32_t *arch, int n_arch, const int32_t *bits, int n_bits,
                       int j0, float *h) {
  const int H = p->hidden;
  for (int j = j0; j < H; j++) {
    float x = p->b0[j];
    for (int i = 0; i < n_arch; i++) x += p->w0t[(int64_t)arch[i] * H + j];
    x = x > 0.0f ? x : 0.0f;
    if (p->quant_dim) {
      x += p->bq[j];
      for (int i = 0; i < n_bits; i++) x += p->w0t[(int64_t)bits[i] * H + j];
    }
    h[j - j0] = x;
  }
}

/* The first layer of m rows into a[m][H]; sorted[] holds each row's indices with the arch ones
 * first (n_arch[r] of them) and starts at sorted + row_ptr[r] - row_ptr[0]. Hidden units
 * outermost: one block's slice of every column (772 x 256 B for APQ's ImageNet predictor) stays
 * in L2 while all rows use it, instead of every row streaming whole columns (1.2 MB). */
PLAN_CLONES static void first_layer(const FrApqPredictorPlan *p, const int32_t *row_ptr, const int32_t *sorted,
                                    const int *n_arch, int m, float *a) {
  const int H = p->hidden;
  for (int j0 = 0; j0 < H;) {
    int step = j0 + VL * FIRST_VECS <= H ? VL * FIRST_VECS : j0 + VL <= H ? VL : H - j0;
    for (int r = 0; r < m; r++) {
      const int32_t *cols = sorted + (row_ptr[r] - row_ptr[0]);
      int n = row_ptr[r + 1] - row_ptr[r], na = n_arch[r];
      float *h = a + (int64_t)r * H + j0;
      if (step == VL * FIRST_VECS) first_vecs(p, cols, na, cols + na, n - na, j0, FIRST_VECS, h);
      else if (step == VL) first_vecs(p, cols, na, cols + na, n - na, j0, 1, h);
      else first_tail(p, cols, na, cols + na, n - na, j0, h);
    }
    j0 += step;
  }
}

/* dst[rows, H] = bias (broadcast) + src[rows, H] · wt (wt = Wᵀ, [in][out]), then ReLU */
static void dense_relu(const float *w, const float *bias, const float *src, int rows, int H, float *dst) {
  for (int r = 0; r < rows; r++) memcpy(dst + (int64_t)r * H, bias, sizeof(float) * (size_t)H);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, H, H, 1.0f, src, H, w, H, 1.0f, dst, H);
  relu_inplace(dst, (int64_t)rows * H);
}

typedef struct {
  const FrApqPredictorPlan *plan;
  const int32_t *row_ptr, *idx;
  float *y;
  int n, chunk;
} PlanCtx;

static void plan_rows(const PlanCtx *c, int64_t r0, int64_t r1);

/* tasks [t0, t1) of `chunk` rows each */
static void plan_chunks(void *data, int64_t t0, int64_t t1) {
  const PlanCtx *c = data;
  for (int64_t t = t0; t < t1; t++) plan_rows(c, t * c->chunk, MIN((int64_t)c->n, (t + 1) * c->chunk));
}

static void plan_rows(const PlanCtx *c, int64_t r0, int64_t r1) {
  const FrApqPredictorPlan *p = c->plan;
  const int H = p->hidden, m = (int)(r1 - r0);
  const int32_t *rp = c->row_ptr + r0;
  const int nnz = rp[m] - rp[0];
  float *a = scratch_floats((size_t)2 * m * H + (size_t)nnz + (size_t)m), *b = a + (size_t)m * H;
  /* each row's indices, arch ones first (int32 in the float scratch: same size, no aliasing use) */
  int32_t *sorted = (int32_t *)(b + (size_t)m * H);
  int *n_arch = (int *)(sorted + nnz);
  for (int r = 0, o = 0; r < m; r++) {
    int na = 0;
    for (int32_t i = rp[r]; i < rp[r + 1]; i++)
      if (c->idx[i] < p->arch_dim) sorted[o + na++] = c->idx[i];
    int nb = na;
    for (int32_t i = rp[r]; i < rp[r + 1]; i++)
      if (c->idx[i] >= p->arch_dim) sorted[o + nb++] = c->idx[i];
    n_arch[r] = na;
    o += nb;
  }
  first_layer(p, rp, sorted, n_arch, m, a);
  dense_relu(p->w1, p->b1, a, m, H, b);
  dense_relu(p->w2, p->b2, b, m, H, a);
  for (int r = 0; r < m; r++) {
    const float *h = a + (int64_t)r * H;
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int j = 0; j < H; j++) acc += p->wr[j] * h[j];
    c->y[r0 + r] = acc + p->br;
  }
}

void fr_apq_predictor_plan_predict_onehot(const FrApqPredictorPlan *plan, const int32_t *row_ptr, const int32_t *idx,
                                          int n, float *y) {
  if (n <= 0) return;
  /* The rows are cut into chunks whose size depends on n alone (a quarter of the rows, 8 to 128),
   * never on the thread count: a row's GEMM rounding then does not either, so a search gives the
   * same run with 1 thread or 16. A search's generation (~100 rows) is 4 tasks. */
  PlanCtx c = { plan, row_ptr, idx, y, n, CLAMP((n + 3) / 4, 8, 128) };
  fr_parallel_for((n + c.chunk - 1) / c.chunk, 1, plan_chunks, &c);
}

/* ------------------------------------------------------------------ training */

void fr_apq_predictor_train_config_init(FrApqPredictorTrainConfig *cfg) {
  *cfg = (FrApqPredictorTrainConfig){ .epochs = 200, .batch_size = 64, .lr = 1e-3, .weight_decay = 1e-4, .seed = 1 };
}

/* The same network as predict, on the graph; xq NULL at full precision. */
static FrTensor *forward(const FrApqPredictor *p, FrGraph *g, FrTensor *xa, FrTensor *xq) {
  FrTensor *const *t = p->t;
  FrTensor *h = fr_relu(g, fr_linear(g, xa, t[W0], t[B0]));
  if (xq) h = fr_add(g, h, fr_linear(g, xq, t[WQ], t[BQ]));
  h = fr_relu(g, fr_linear(g, h, t[W1], t[B1]));
  h = fr_relu(g, fr_linear(g, h, t[W2], t[B2]));
  return fr_linear(g, h, t[WR], t[BR]);
}

/* One Adam step on the rows listed; returns the batch's mean squared error. */
static double train_step(FrApqPredictor *p, FrGraph *g, FrOptim *opt, const float *x, const float *y,
                         const int *rows, int m, float lr) {
  const int A = p->arch_dim, Q = p->quant_dim;
  FrTensor *xa = fr_tensor_new(g, 2, FR_SHAPE(m, A));
  FrTensor *xq = Q ? fr_tensor_new(g, 2, FR_SHAPE(m, Q)) : NULL;
  FrTensor *target = fr_tensor_new(g, 2, FR_SHAPE(m, 1));
  for (int i = 0; i < m; i++) {
    const float *row = x + (int64_t)rows[i] * (A + Q);
    memcpy(xa->data + (int64_t)i * A, row, sizeof(float) * (size_t)A);
    if (xq) memcpy(xq->data + (int64_t)i * Q, row + A, sizeof(float) * (size_t)Q);
    target->data[i] = y[rows[i]];
  }
  FrTensor *loss = fr_mse_loss(g, forward(p, g, xa, xq), target);
  fr_optim_zero_grad(opt);
  fr_graph_backward(g, loss);
  fr_optim_step(opt, lr);
  double l = loss->data[0];
  fr_graph_reset(g);
  return l;
}

/* Shifts the regressor bias by the mean residual on the training set. The output is linear in that
 * bias, so this is the best start the current weights allow; above all it spares the hidden layers
 * learning a ~0.9 offset from the few rows, which otherwise they fit in ways that do not generalise
 * (held-out tau 0.67 instead of 0.9+ on a synthetic additive surface). */
static void center_output(FrApqPredictor *p, const float *x, const float *y, int n) {
  float *pred = g_new(float, n);
  fr_apq_predictor_predict(p, x, n, pred);
  double residual = 0;
  for (int i = 0; i < n; i++) residual += (double)y[i] - pred[i];
  p->t[BR]->data[0] += (float)(residual / n);
  g_free(pred);
}

/* output -> scale * output + shift, through the regressor's weights and bias */
static void rescale_output(FrApqPredictor *p, double scale, double shift) {
  FrTensor *w = p->t[WR], *b = p->t[BR];
  for (int64_t i = 0; i < fr_tensor_numel(w); i++) w->data[i] = (float)(w->data[i] * scale);
  b->data[0] = (float)(b->data[0] * scale + shift);
}

static gboolean check_train_args(const float *x, const float *y, int n, const FrApqPredictorTrainConfig *cfg,
                                 GError **error) {
  if (!x || !y || n < 1) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "accuracy predictor training needs at least one (x, y) pair (got %d)", n);
    return FALSE;
  }
  if (cfg->epochs < 1 || cfg->batch_size < 1 || !(cfg->lr > 0) || !isfinite(cfg->lr) || !(cfg->weight_decay >= 0)) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "invalid predictor training settings: epochs and batch size >= 1, learning rate > 0, "
                "weight decay >= 0");
    return FALSE;
  }
  return TRUE;
}

gboolean fr_apq_predictor_train(FrApqPredictor *p, const float *x, const float *y, int n,
                                const FrApqPredictorTrainConfig *cfg, FrJob *job, GError **error) {
  FrApqPredictorTrainConfig defaults;
  if (!cfg) {
    fr_apq_predictor_train_config_init(&defaults);
    cfg = &defaults;
  }
  if (!check_train_args(x, y, n, cfg, error)) return FALSE;
  /* Train on standardised targets: accuracies of one space differ by tenths of a percent (std 0.003
   * for fmnist-mini's pairs), and on the raw scale Adam's first steps, sized by lr whatever the
   * gradient's size, kill the ReLUs before anything is learned (the fp32 predictor came out
   * constant). The regressor is rescaled to z-space here and back at the end, so callers and files
   * see accuracies; a transferred predictor starts from exactly its source's predictions. */
  double mu = 0, var = 0;
  for (int i = 0; i < n; i++) mu += y[i];
  mu /= n;
  for (int i = 0; i < n; i++) var += ((double)y[i] - mu) * ((double)y[i] - mu);
  double sd = sqrt(var / n);
  if (!(sd > 1e-8)) sd = 1.0;
  float *z = g_new(float, n);
  for (int i = 0; i < n; i++) z[i] = (float)(((double)y[i] - mu) / sd);
  /* the regressor as it was, put back bit for bit if no step runs (a cancel before the first epoch) */
  float *saved_wr = g_memdup2(p->t[WR]->data, sizeof(float) * (size_t)fr_tensor_numel(p->t[WR]));
  float saved_br = p->t[BR]->data[0];
  rescale_output(p, 1.0 / sd, -mu / sd);
  y = z;
  const int B = MIN(cfg->batch_size, n);
  /* every row every epoch: the sets are small, a dropped partial batch would be a real loss */
  const int64_t total = (int64_t)((n + B - 1) / B) * cfg->epochs;
  int n_trainable;
  FrTensor **trainable = fr_param_set_trainable(p->params, &n_trainable);
  FrOptimConfig oc = fr_optim_config_adam((float)cfg->weight_decay, false);
  FrOptim *opt = fr_optim_new(&oc, trainable, n_trainable);
  FrGraph *g = fr_graph_new(0);
  FrRng rng;
  fr_rng_seed(&rng, cfg->seed);
  int *order = g_new(int, n);
  for (int i = 0; i < n; i++) order[i] = i;
  gboolean ok = TRUE;
  int64_t step = 0;
  for (int epoch = 1; epoch <= cfg->epochs; epoch++) {
    /* checked between epochs only, so a cancel leaves the weights of a finished epoch */
    if (job && fr_job_is_cancelled(job)) {
      g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "accuracy predictor training cancelled");
      ok = FALSE;
      break;
    }
    if (epoch == 1) center_output(p, x, y, n);
    fr_rng_shuffle_int(&rng, order, n);
    double sse = 0;
    for (int s = 0; s < n; s += B) {
      int m = MIN(B, n - s);
      float lr = fr_schedule_lr(FR_SCHED_COSINE, (float)cfg->lr, step++, total, 0, 0.0f);
      sse += train_step(p, g, opt, x, y, order + s, m, lr) * m;
    }
    if (job)
      fr_job_progress(job, (double)epoch / cfg->epochs, "accuracy predictor: epoch %d/%d, train RMSE %.4f", epoch,
                      cfg->epochs, sqrt(sse / n));
  }
  if (step > 0) {
    rescale_output(p, sd, mu);
  } else {
    memcpy(p->t[WR]->data, saved_wr, sizeof(float) * (size_t)fr_tensor_numel(p->t[WR]));
    p->t[BR]->data[0] = saved_br;
  }
  g_free(saved_wr);
  g_free(z);
  g_free(order);
  fr_graph_free(g);
  fr_optim_free(opt);
  return ok;
}

/* ------------------------------------------------------------------ metrics */

typedef struct {
  const double *a, *b;
} Keys;
typedef int (*KeyCmp)(const Keys *k, int i, int j);

static int cmp_double(double u, double v) { return (u > v) - (u < v); }
static int cmp_a(const Keys *k, int i, int j) { return cmp_double(k->a[i], k->a[j]); }
static int cmp_b(const Keys *k, int i, int j) { return cmp_double(k->b[i], k->b[j]); }
static int cmp_ab(const Keys *k, int i, int j) {
  int c = cmp_a(k, i, j);
  return c ? c : cmp_b(k, i, j);
}

/* Stable merge sort of idx[0, n) by cmp; returns the number of strict inversions it undid (pairs
 * i < j with key i > key j), which is what Knight's algorithm counts as discordant pairs. */
static int64_t merge_sort(int *idx, int *tmp, int n, KeyCmp cmp, const Keys *k) {
  if (n < 2) return 0;
  int h = n / 2;
  int64_t swaps = merge_sort(idx, tmp, h, cmp, k) + merge_sort(idx + h, tmp, n - h, cmp, k);
  int i = 0, j = h, o = 0;
  while (i < h && j < n) {
    if (cmp(k, idx[j], idx[i]) < 0) {
      swaps += h - i;
      tmp[o++] = idx[j++];
    } else {
      tmp[o++] = idx[i++];
    }
  }
  while (i < h) tmp[o++] = idx[i++];
  memcpy(idx, tmp, sizeof(int) * (size_t)o);   /* idx[j, n) is already in place */
  return swaps;
}

/* Pairs tied under cmp, for idx sorted by it: sum of run * (run - 1) / 2 over runs of equal keys. */
static int64_t tied_pairs(const int *idx, int n, KeyCmp cmp, const Keys *k) {
  int64_t ties = 0, run = 1;
  for (int i = 1; i <= n; i++) {
    if (i < n && cmp(k, idx[i - 1], idx[i]) == 0) {
      run++;
    } else {
      ties += run * (run - 1) / 2;
      run = 1;
    }
  }
  return ties;
}

/* Knight (1966), as scipy.stats.kendalltau: sort by (a, b), count ties in a and joint ties, then
 * the swaps a merge sort by b needs are the discordant pairs. tau-b = (C - D) / sqrt((n0 - ta)(n0 - tb))
 * with C - D = n0 - ta - tb + tab - 2 D. Where scipy gives NaN: a NaN input gives NaN too, but a
 * constant list gives 0 (no ranking information, as for n < 2). */
double fr_apq_kendall_tau(const double *a, const double *b, int n) {
  if (n < 2) return 0;
  for (int i = 0; i < n; i++)
    if (isnan(a[i]) || isnan(b[i])) return NAN;
  const Keys k = { a, b };
  int *idx = g_new(int, n), *tmp = g_new(int, n);
  for (int i = 0; i < n; i++) idx[i] = i;
  merge_sort(idx, tmp, n, cmp_ab, &k);
  int64_t tie_a = tied_pairs(idx, n, cmp_a, &k), tie_ab = tied_pairs(idx, n, cmp_ab, &k);
  int64_t discordant = merge_sort(idx, tmp, n, cmp_b, &k);
  int64_t tie_b = tied_pairs(idx, n, cmp_b, &k);
  g_free(idx);
  g_free(tmp);
  int64_t n0 = (int64_t)n * (n - 1) / 2;
  if (tie_a == n0 || tie_b == n0) return 0;
  double tau = (double)(n0 - tie_a - tie_b + tie_ab - 2 * discordant) / sqrt((double)(n0 - tie_a)) /
               sqrt((double)(n0 - tie_b));
  return CLAMP(tau, -1.0, 1.0);
}

double fr_apq_rmse(const double *pred, const double *truth, int n) {
  if (n < 1) return 0;
  double s = 0;
  for (int i = 0; i < n; i++) s += (pred[i] - truth[i]) * (pred[i] - truth[i]);
  return sqrt(s / n);
}
