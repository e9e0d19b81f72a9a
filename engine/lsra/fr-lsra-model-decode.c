/* Incremental decoding and inspection of a translation model (see fr-lsra-model.h).
 *
 * The encoder runs once as in training (one batched pass, padding masked). Each decoder step then
 * takes one token per hypothesis and walks the layers on [N, d] rows: self-attention reads the keys
 * and values cached at earlier steps, encoder-decoder attention reads keys and values projected once
 * from the encoder output, and a Lite block's causal convolution keeps its last K - 1 inputs in an
 * FrLsraConvState. Linear layers go through fr_linear on a graph with gradients off; the attention
 * over the caches is plain loops, one hypothesis per pool item. The output projection to the
 * vocabulary (the step's largest product: vocab x d weights for a handful of rows) bypasses
 * fr_linear: a GEMM with so few rows spends most of its time packing the weight table each step,
 * so one row goes through sgemv and several through a kernel that streams the table once; the log-
 * softmax follows in place in the caller's buffer. */
#include "fr-lsra-model-private.h"
#include "fr-lsra-bpe.h"
#include "fr-lsra-conv.h"
#include "fr-lsra-ops.h"
#include "fr-pool.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Built for AVX-512, AVX2 and baseline x86-64; the loader picks one. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FR_KERNEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FR_KERNEL_CLONES
#endif

typedef struct {
  float *k, *v;            /* self-attention cache [N, max_steps, A] */
  float *ck, *cv;          /* encoder-decoder keys and values [n, S, d] */
  float *cross_p;          /* the last step's cross-attention weights [N, heads, S] */
  FrLsraConvState *conv;   /* Lite */
} LayerCache;

struct FrLsraDecoder {
  FrLsraModel *m;
  int n, beam, N, S, max_steps, steps;
  int32_t *src_len;        /* [n], with </s> */
  int32_t *sent;           /* [N]: the sentence each hypothesis reads */
  LayerCache layers[FR_LSRA_MAX_LAYERS];
  FrGraph *g;
  float *tmp;              /* reorder scratch */
};

static gboolean check_sources(const FrLsraModel *m, int n, const int32_t *const *src, const int *src_len,
                              GError **error) {
  if (n < 1) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "nothing to translate");
    return FALSE;
  }
  for (int i = 0; i < n; i++) {
    if (src_len[i] < 0 || src_len[i] + 1 > FR_LSRA_MAX_TOKENS) {
      g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID,
                  "sentence %d has %d tokens; the models take 0 to %d", i + 1, src_len[i], FR_LSRA_MAX_TOKENS - 1);
      return FALSE;
    }
    for (int t = 0; t < src_len[i]; t++)
      if (src[i][t] < 0 || src[i][t] >= m->cfg.src_vocab) {
        g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "sentence %d: token id %d outside the vocabulary",
                    i + 1, src[i][t]);
        return FALSE;
      }
  }
  return TRUE;
}

/* src [n, S] with </s> and padding, from the callers' arrays */
static int32_t *pack_sources(int n, const int32_t *const *src, const int *src_len, int *S_out, int32_t *len) {
  int S = 1;
  for (int i = 0; i < n; i++) S = MAX(S, src_len[i] + 1);
  int32_t *ids = g_new0(int32_t, (gsize)n * S);
  for (int i = 0; i < n; i++) {
    memcpy(ids + (gsize)i * S, src[i], sizeof(int32_t) * (size_t)src_len[i]);
    ids[(gsize)i * S + src_len[i]] = FR_LSRA_BPE_EOS;
    len[i] = src_len[i] + 1;
  }
  *S_out = S;
  return ids;
}

static int self_width(const FrLsraConfig *c) {
  return c->arch == FR_LSRA_ARCH_LITE ? c->attn_dim : c->d_model;
}

FrLsraDecoder *fr_lsra_decoder_new(FrLsraModel *m, int n, const int32_t *const *src, const int *src_len, int beam,
                                   int max_steps, GError **error) {
  if (!check_sources(m, n, src, src_len, error)) return NULL;
  if (beam < 1 || max_steps < 1 || max_steps > FR_LSRA_MAX_TOKENS) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "beam must be >= 1 and max steps in [1, %d]",
                FR_LSRA_MAX_TOKENS);
    return NULL;
  }
  const FrLsraConfig *c = &m->cfg;
  FrLsraDecoder *d = g_new0(FrLsraDecoder, 1);
  d->m = m;
  d->n = n;
  d->beam = beam;
  d->N = n * beam;
  d->max_steps = max_steps;
  d->src_len = g_new(int32_t, n);
  int32_t *ids = pack_sources(n, src, src_len, &d->S, d->src_len);
  d->sent = g_new(int32_t, d->N);
  for (int h = 0; h < d->N; h++) d->sent[h] = h / beam;
  d->g = fr_graph_new(1 << 20); /* a step needs well under 1 MB; the default 16 MB chunk costs more to map than a short search takes */
  d->g->grad_enabled = false;
  d->g->training = false;

  FrLsraTrainOpts o = { 0 };
  FrTensor *enc = fr_lsra_encode(d->g, m, ids, d->src_len, n, d->S, &o, NULL);
  const int64_t A = self_width(c), dm = c->d_model;
  fr_graph_push_scope(d->g, "decoder");
  fr_graph_push_scope(d->g, "cross_keys_values");
  for (int l = 0; l < c->dec_layers; l++) {
    LayerCache *lc = &d->layers[l];
    const FrLsraLayer *L = &m->dec[l];
    lc->k = g_new0(float, (gsize)d->N * max_steps * A);
    lc->v = g_new0(float, (gsize)d->N * max_steps * A);
    FrTensor *ck = fr_lsra_lin(d->g, enc, &L->cross.k), *cv = fr_lsra_lin(d->g, enc, &L->cross.v);
    lc->ck = g_memdup2(ck->data, sizeof(float) * (gsize)n * d->S * dm);
    lc->cv = g_memdup2(cv->data, sizeof(float) * (gsize)n * d->S * dm);
    lc->cross_p = g_new0(float, (gsize)d->N * c->heads * d->S);
    if (c->arch == FR_LSRA_ARCH_LITE) lc->conv = fr_lsra_conv_state_new(d->N, dm - c->attn_dim, L->conv.K);
  }
  fr_graph_pop_scope(d->g);
  fr_graph_pop_scope(d->g);
  d->tmp = g_new(float, (gsize)d->N * max_steps * A);
  fr_graph_reset(d->g);
  g_free(ids);
  return d;
}

void fr_lsra_decoder_free(FrLsraDecoder *d) {
  if (!d) return;
  for (int l = 0; l < d->m->cfg.dec_layers; l++) {
    LayerCache *lc = &d->layers[l];
    g_free(lc->k);
    g_free(lc->v);
    g_free(lc->ck);
    g_free(lc->cv);
    g_free(lc->cross_p);
    if (lc->conv) fr_lsra_conv_state_free(lc->conv);
  }
  fr_graph_free(d->g);
  g_free(d->src_len);
  g_free(d->sent);
  g_free(d->tmp);
  g_free(d);
}

int fr_lsra_decoder_n_hyp(const FrLsraDecoder *d) { return d->N; }
int fr_lsra_decoder_steps(const FrLsraDecoder *d) { return d->steps; }

/* ---- attention over caches ---- */

typedef struct {
  const FrLsraDecoder *d;
  int64_t A, H, D, T;        /* width, heads, head width, keys per row (self) */
  const float *q;            /* [N, A] */
  const float *k, *v;        /* self: [N, max_steps, A]; cross: [n, S, A] */
  bool cross;
  float *o;                  /* [N, A] */
  float *probs;              /* cross: [N, H, S] */
} StepAttn;

FR_KERNEL_CLONES static void step_attn_rows(void *ctx, int64_t begin, int64_t end) {
  const StepAttn *c = ctx;
  const FrLsraDecoder *d = c->d;
  float *p = g_new(float, MAX(d->S, d->max_steps));
  float scale = 1.0f / sqrtf((float)c->D);
  for (int64_t h = begin; h < end; h++) {
    int64_t s = d->sent[h], n = c->cross ? d->src_len[s] : c->T, stride = c->cross ? d->S : d->max_steps;
    const float *K = c->k + (c->cross ? s : h) * stride * c->A, *V = c->v + (c->cross ? s : h) * stride * c->A;
    for (int64_t hd = 0; hd < c->H; hd++) {
      const float *q = c->q + h * c->A + hd * c->D;
      float mx = -INFINITY;
      for (int64_t j = 0; j < n; j++) {
        const float *kj = K + j * c->A + hd * c->D;
        float acc = 0;
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < c->D; i++) acc += q[i] * kj[i];
        p[j] = acc * scale;
        mx = p[j] > mx ? p[j] : mx;
      }
      float sum = 0;
      for (int64_t j = 0; j < n; j++) sum += p[j] = expf(p[j] - mx);
      for (int64_t j = 0; j < n; j++) p[j] /= sum;
      float *o = c->o + h * c->A + hd * c->D;
      memset(o, 0, sizeof(float) * (size_t)c->D);
      for (int64_t j = 0; j < n; j++) {
        const float *vj = V + j * c->A + hd * c->D;
        for (int64_t i = 0; i < c->D; i++) o[i] += p[j] * vj[i];
      }
      if (c->probs) {
        float *dst = c->probs + (h * c->H + hd) * d->S;
        memcpy(dst, p, sizeof(float) * (size_t)n);
        for (int64_t j = n; j < d->S; j++) dst[j] = 0;
      }
    }
  }
  g_free(p);
}

/* Self-attention of the step's rows x [N, A] through layer attention a, appending to the cache. */
static FrTensor *self_attention(FrLsraDecoder *d, const FrLsraAttn *a, LayerCache *lc, FrTensor *x, int heads) {
  FrGraph *g = d->g;
  const int64_t A = x->shape[1], t = d->steps;
  FrTensor *q = fr_lsra_lin(g, x, &a->q), *k = fr_lsra_lin(g, x, &a->k), *v = fr_lsra_lin(g, x, &a->v);
  for (int64_t h = 0; h < d->N; h++) {
    memcpy(lc->k + (h * d->max_steps + t) * A, k->data + h * A, sizeof(float) * (size_t)A);
    memcpy(lc->v + (h * d->max_steps + t) * A, v->data + h * A, sizeof(float) * (size_t)A);
  }
  gint64 t0 = fr_graph_op_begin(g);
  FrTensor *o = fr_tensor_new(g, 2, FR_SHAPE(d->N, A));
  StepAttn c = { d, A, heads, A / heads, t + 1, q->data, lc->k, lc->v, false, o->data, NULL };
  fr_parallel_for(d->N, 1, step_attn_rows, &c);
  fr_graph_op_end(g, t0, "cached_attention", o, 2.0 * (double)d->N * (t + 1) * A,
                  4.0 * (double)d->N * (2 * (t + 1) + 1) * A, 4.0 * (double)d->N * A);
  return fr_lsra_lin(g, o, &a->o);
}

static FrTensor *cross_attention(FrLsraDecoder *d, const FrLsraAttn *a, LayerCache *lc, FrTensor *x, int heads) {
  FrGraph *g = d->g;
  const int64_t A = x->shape[1];
  FrTensor *q = fr_lsra_lin(g, x, &a->q);
  gint64 t0 = fr_graph_op_begin(g);
  FrTensor *o = fr_tensor_new(g, 2, FR_SHAPE(d->N, A));
  StepAttn c = { d, A, heads, A / heads, 0, q->data, lc->ck, lc->cv, true, o->data, lc->cross_p };
  fr_parallel_for(d->N, 1, step_attn_rows, &c);
  double keys = 0;
  for (int64_t h = 0; h < d->N; h++) keys += d->src_len[d->sent[h]];
  fr_graph_op_end(g, t0, "cached_cross_attention", o, 2.0 * keys * A, 4.0 * (2 * keys + d->N) * A,
                  4.0 * (double)d->N * A);
  return fr_lsra_lin(g, o, &a->o);
}

static FrTensor *step_conv(FrLsraDecoder *d, const FrLsraConvBranch *cb, LayerCache *lc, FrTensor *x) {
  FrGraph *g = d->g;
  const FrLsraConfig *c = &d->m->cfg;
  FrTensor *u = fr_lsra_lin(g, x, &cb->in);
  if (c->glu) u = fr_glu(g, u, 1);
  FrTensor *y;
  if (c->conv == FR_LSRA_CONV_DYNAMIC) {
    FrTensor *k = fr_linear(g, u, cb->predict, NULL);
    k = fr_softmax(g, fr_reshape(g, k, 3, FR_SHAPE(d->N, c->conv_heads, cb->K)));
    y = fr_dynamic_conv1d_step(g, lc->conv, u, k);
  } else {
    y = fr_lightweight_conv1d_step(g, lc->conv, u, cb->weight, true);
  }
  return fr_lsra_lin(g, y, &cb->out);
}

static FrTensor *add_norm(FrGraph *g, FrTensor *x, FrTensor *y, FrTensor *gamma, FrTensor *beta) {
  return fr_layer_norm(g, fr_add_(g, x, y), gamma, beta, 1e-5f, FR_ACT_NONE);
}

/* ---- the output projection and log-softmax ---- */

typedef struct {
  const float *x;    /* [N, dm] */
  const float *xt;   /* [dm, NP]: x transposed, hypotheses padded with zeros to NP (kernel path) */
  const float *w;    /* [V, dm] */
  float *y;          /* [N, V] */
  int64_t N, NP, dm, V;
} VocabCtx;

/* one hypothesis: y = W x over vocabulary rows [begin, end) * 256 */
static void vocab_gemv(void *ctx, int64_t begin, int64_t end) {
  const VocabCtx *c = ctx;
  int64_t o0 = begin * 256, o1 = MIN(c->V, end * 256);
  cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)(o1 - o0), (blasint)c->dm, 1.0f, c->w + o0 * c->dm,
              (blasint)c->dm, c->x, 1, 0.0f, c->y + o0, 1);
}

/* several hypotheses: blocks of OB vocabulary rows against HB hypotheses at a time, the accumulators
 * in registers (vector extensions, so that they are not spilled), each weight read once per block
 * from L1. HB follows the hypothesis count (4, 8 or 16 lanes: a beam of 4 is not padded to 16, which
 * made the step compute four times the products it needed), OB keeps about 8 accumulators live. */
#define VOCAB_BLOCKS(NAME, HB, OB)                                                                             \
  typedef float NAME##_vec __attribute__((vector_size(HB * sizeof(float))));                                  \
  FR_KERNEL_CLONES static void NAME(void *ctx, int64_t begin, int64_t end) {                                  \
    const VocabCtx *c = ctx;                                                                                  \
    const int64_t dm = c->dm, NP = c->NP, V = c->V;                                                           \
    for (int64_t ob = begin; ob < end; ob++) {                                                                \
      const int64_t o0 = ob * OB, nr = MIN(OB, V - o0);                                                       \
      const float *w[OB];                                                                                     \
      for (int r = 0; r < OB; r++) w[r] = c->w + (o0 + MIN(r, nr - 1)) * dm; /* past the end: repeat a row */ \
      for (int64_t h0 = 0; h0 < NP; h0 += HB) {                                                               \
        NAME##_vec acc[OB];                                                                                   \
        _Pragma("GCC unroll 8") for (int r = 0; r < OB; r++) acc[r] = (NAME##_vec){ 0 };                      \
        for (int64_t i = 0; i < dm; i++) {                                                                    \
          NAME##_vec xv;                                                                                      \
          memcpy(&xv, c->xt + i * NP + h0, sizeof xv);                                                        \
          _Pragma("GCC unroll 8") for (int r = 0; r < OB; r++) acc[r] += w[r][i] * xv;                        \
        }                                                                                                     \
        const int64_t nh = MIN(HB, c->N - h0);                                                                \
        for (int64_t l = 0; l < nh; l++)                                                                      \
          for (int64_t r = 0; r < nr; r++) c->y[(h0 + l) * V + o0 + r] = acc[r][l];                           \
      }                                                                                                       \
    }                                                                                                         \
  }

VOCAB_BLOCKS(vocab_blocks4, 4, 8)
VOCAB_BLOCKS(vocab_blocks8, 8, 8)
VOCAB_BLOCKS(vocab_blocks16, 16, 4)

/* rows [begin, end) of y [N, V] to log-probabilities in place */
FR_KERNEL_CLONES static void log_softmax_rows(void *ctx, int64_t begin, int64_t end) {
  const VocabCtx *c = ctx;
  const int64_t V = c->V;
  for (int64_t h = begin; h < end; h++) {
    float *y = c->y + h * V;
    float mx = y[0];
#pragma omp simd reduction(max : mx)
    for (int64_t j = 1; j < V; j++) mx = y[j] > mx ? y[j] : mx;
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < V; j++) sum += fr_lsra_exp_neg(y[j] - mx);
    const float lse = mx + logf(sum);
    for (int64_t j = 0; j < V; j++) y[j] -= lse;
  }
}

/* logprobs [N, V] = log_softmax(x [N, dm] . W^T) with W = the embedding table [V, dm] */
static void vocab_logprobs(const float *x, int64_t N, const FrTensor *w, float *logprobs) {
  VocabCtx c = { x, NULL, w->data, logprobs, N, 0, w->shape[1], w->shape[0] };
  fr_pool_get_threads();   /* OpenBLAS to one thread before its first use (fr-ops-basic.c) */
  if (N == 1) {
    fr_parallel_for((c.V + 255) / 256, 8, vocab_gemv, &c);
  } else {
    const int64_t hb = N <= 4 ? 4 : N <= 8 ? 8 : 16, ob = hb == 16 ? 4 : 8;
    c.NP = (N + hb - 1) / hb * hb;
    float *xt = g_new0(float, (gsize)(c.dm * c.NP));
    for (int64_t h = 0; h < N; h++)
      for (int64_t i = 0; i < c.dm; i++) xt[i * c.NP + h] = x[h * c.dm + i];
    c.xt = xt;
    fr_parallel_for((c.V + ob - 1) / ob, 64 * 4 / ob,
                    hb == 4 ? vocab_blocks4 : hb == 8 ? vocab_blocks8 : vocab_blocks16, &c);
    g_free(xt);
  }
  fr_parallel_for(N, 1, log_softmax_rows, &c);
}

gboolean fr_lsra_decoder_step(FrLsraDecoder *d, const int32_t *tokens, float *logprobs) {
  if (d->steps >= d->max_steps) return FALSE;
  FrLsraModel *m = d->m;
  const FrLsraConfig *c = &m->cfg;
  FrGraph *g = d->g;
  const int64_t dm = c->d_model, N = d->N;
  fr_graph_reset(g);
  for (int64_t h = 0; h < N; h++) g_return_val_if_fail(tokens[h] >= 0 && tokens[h] < c->tgt_vocab, FALSE);
  FrTensor *x = fr_embedding(g, m->embed, tokens, N);
  float *pos = g_new(float, dm), sc = sqrtf((float)dm);
  fr_lsra_sinusoid((int)dm, d->steps + 1, pos);
  for (int64_t h = 0; h < N; h++)
    for (int64_t i = 0; i < dm; i++) x->data[h * dm + i] = x->data[h * dm + i] * sc + pos[i];
  g_free(pos);
  fr_graph_push_scope(g, "decoder");
  for (int l = 0; l < c->dec_layers; l++) {
    const FrLsraLayer *L = &m->dec[l];
    LayerCache *lc = &d->layers[l];
    FrTensor *mix;
    fr_graph_push_scope(g, fr_lsra_layer_name(l));
    if (c->arch == FR_LSRA_ARCH_TRANSFORMER) {
      fr_graph_push_scope(g, "self_attention");
      mix = self_attention(d, &L->self, lc, x, c->heads);
    } else {
      const int64_t a = c->attn_dim;
      fr_graph_push_scope(g, "lsra");
      FrTensor *xa = fr_slice(g, x, 1, 0, a), *xc = fr_slice(g, x, 1, a, dm - a);
      mix = fr_concat(g, self_attention(d, &L->self, lc, xa, c->heads), step_conv(d, &L->conv, lc, xc), 1);
    }
    x = add_norm(g, x, mix, L->ln1_g, L->ln1_b);
    fr_graph_pop_scope(g);
    fr_graph_push_scope(g, "cross_attention");
    x = add_norm(g, x, cross_attention(d, &L->cross, lc, x, c->heads), L->ln2_g, L->ln2_b);
    fr_graph_pop_scope(g);
    fr_graph_push_scope(g, "ffn");
    FrTensor *f = fr_lsra_lin(g, fr_relu(g, fr_lsra_lin(g, x, &L->ffn1)), &L->ffn2);
    x = add_norm(g, x, f, L->ln3_g, L->ln3_b);
    fr_graph_pop_scope(g);
    fr_graph_pop_scope(g);
  }
  fr_graph_pop_scope(g);
  fr_graph_push_scope(g, "output");
  gint64 t0 = fr_graph_op_begin(g);
  vocab_logprobs(x->data, N, m->embed, logprobs);
  const double V = c->tgt_vocab;
  fr_graph_op_end(g, t0, "output_projection_log_softmax", x, (double)N * V * dm, 4.0 * (V * dm + (double)N * dm),
                  4.0 * N * V);
  fr_graph_pop_scope(g);
  d->steps++;
  return TRUE;
}

void fr_lsra_decoder_reorder(FrLsraDecoder *d, const int32_t *order) {
  for (int h = 0; h < d->N; h++) {
    g_return_if_fail(order[h] >= 0 && order[h] < d->N);
    g_return_if_fail(d->sent[order[h]] == d->sent[h]);
  }
  fr_lsra_decoder_select(d, order, d->N);
}

void fr_lsra_decoder_select(FrLsraDecoder *d, const int32_t *rows, int n) {
  const FrLsraConfig *c = &d->m->cfg;
  const int64_t A = self_width(c), row = (int64_t)d->max_steps * A, used = (int64_t)d->steps * A;
  g_return_if_fail(n >= 1 && n <= d->N);
  for (int h = 0; h < n; h++) g_return_if_fail(rows[h] >= 0 && rows[h] < d->N);
  for (int l = 0; l < c->dec_layers; l++) {
    LayerCache *lc = &d->layers[l];
    float *bufs[2] = { lc->k, lc->v };
    for (int b = 0; b < 2; b++) { /* all sources are read before any row is written; rows that stay put are not copied */
      for (int h = 0; h < n; h++)
        if (rows[h] != h) memcpy(d->tmp + h * row, bufs[b] + (int64_t)rows[h] * row, sizeof(float) * (size_t)used);
      for (int h = 0; h < n; h++)
        if (rows[h] != h) memcpy(bufs[b] + h * row, d->tmp + h * row, sizeof(float) * (size_t)used);
    }
    const int64_t P = (int64_t)c->heads * d->S;
    float *p = g_memdup2(lc->cross_p, sizeof(float) * (gsize)(d->N * P));
    for (int h = 0; h < n; h++) memcpy(lc->cross_p + h * P, p + (int64_t)rows[h] * P, sizeof(float) * (size_t)P);
    g_free(p);
    if (lc->conv) fr_lsra_conv_state_select(lc->conv, rows, n);
  }
  int32_t *sent = g_new(int32_t, n);
  for (int h = 0; h < n; h++) sent[h] = d->sent[rows[h]];
  memcpy(d->sent, sent, sizeof(int32_t) * (size_t)n);
  g_free(sent);
  d->N = n;
}

void fr_lsra_decoder_cross_attention(const FrLsraDecoder *d, int h, int layer, float *out) {
  const FrLsraConfig *c = &d->m->cfg;
  if (layer < 0 || layer >= c->dec_layers) layer = c->dec_layers - 1;
  const int64_t s = d->sent[h], n = d->src_len[s];
  const float *p = d->layers[layer].cross_p + (int64_t)h * c->heads * d->S;
  for (int64_t j = 0; j < n; j++) {
    float acc = 0;
    for (int hd = 0; hd < c->heads; hd++) acc += p[hd * d->S + j];
    out[j] = acc / (float)c->heads;
  }
}

/* ---- inspection ---- */

FrLsraInspect *fr_lsra_model_inspect(FrLsraModel *m, const int32_t *src, int src_len, GError **error) {
  const int32_t *srcs[1] = { src };
  int lens[1] = { src_len };
  if (!check_sources(m, 1, srcs, lens, error)) return NULL;
  const FrLsraConfig *c = &m->cfg;
  int32_t len1;
  int S;
  int32_t *ids = pack_sources(1, srcs, lens, &S, &len1);
  FrGraph *g = fr_graph_new(0);
  g->grad_enabled = false;
  FrLsraTrainOpts o = { 0 };
  FrLsraEncTrace tr = { 0 };
  fr_lsra_encode(g, m, ids, &len1, 1, S, &o, &tr);

  FrLsraInspect *in = g_new0(FrLsraInspect, 1);
  in->layers = c->enc_layers;
  in->S = S;
  in->attn_heads = c->heads;
  const int64_t per = (int64_t)c->heads * S * S;
  in->attn = g_new(float, in->layers * per);
  for (int l = 0; l < in->layers; l++) memcpy(in->attn + l * per, tr.attn[l], sizeof(float) * (size_t)per);
  if (c->arch == FR_LSRA_ARCH_LITE) {
    const int H = c->conv_heads;
    in->conv_heads = H;
    for (int l = 0; l < in->layers; l++) {
      in->kernel_size[l] = m->enc[l].conv.K;
      in->max_k = MAX(in->max_k, m->enc[l].conv.K);
    }
    const int64_t lstride = (int64_t)S * H * in->max_k;
    in->kernels = g_new0(float, in->layers * lstride);
    for (int l = 0; l < in->layers; l++) {
      const int K = in->kernel_size[l];
      for (int t = 0; t < S; t++)
        for (int h = 0; h < H; h++) {
          float *dst = in->kernels + l * lstride + ((int64_t)t * H + h) * in->max_k;
          if (c->conv == FR_LSRA_CONV_DYNAMIC) {
            memcpy(dst, tr.kernels[l] + ((int64_t)t * H + h) * K, sizeof(float) * (size_t)K);
          } else { /* softmax of the raw [H, K] weight */
            const float *w = tr.kernels[l] + (int64_t)h * K;
            float mx = -INFINITY, sum = 0;
            for (int k = 0; k < K; k++) mx = w[k] > mx ? w[k] : mx;
            for (int k = 0; k < K; k++) sum += dst[k] = expf(w[k] - mx);
            for (int k = 0; k < K; k++) dst[k] /= sum;
          }
        }
    }
  }
  fr_graph_free(g);
  g_free(ids);
  return in;
}

void fr_lsra_inspect_free(FrLsraInspect *in) {
  if (!in) return;
  g_free(in->attn);
  g_free(in->kernels);
  g_free(in);
}
