/* fr-lsra-ops.h: the translation models' own differentiable ops (see fr-lsra-ops.c). */
#pragma once
#include <string.h>
#include "fr-tensor.h"

G_BEGIN_DECLS

/* Multi-head scaled dot-product attention on q [B, Tq, A], k, v [B, Tk, A] with H heads of A / H
 * consecutive channels each, so the projections need no transposes. key_len (may be NULL) masks keys
 * j >= key_len[b] (padding); causal masks j > i (Tq == Tk). Returns [B, Tq, A]. When probs is not
 * NULL it receives the attention weights [B, H, Tq, Tk] (arena memory, valid until the graph resets). */
FrTensor *fr_lsra_mha(FrGraph *g, FrTensor *q, FrTensor *k, FrTensor *v, int heads, const int32_t *key_len,
                      bool causal, const float **probs);

/* x [B, T, C] with rows t >= len[b] zeroed (and no gradient through them). */
FrTensor *fr_lsra_mask_rows(FrGraph *g, FrTensor *x, const int32_t *len);

/* Rows idx[0..m) of x [N, C]: [m, C]. */
FrTensor *fr_lsra_gather_rows(FrGraph *g, FrTensor *x, const int32_t *idx, int64_t m);

/* Label-smoothed cross-entropy of logits [N, V] against labels, averaged over the N rows: per row
 * (1 - eps) * nll + eps * (lse - mean logit), PyTorch's label_smoothing (the uniform share includes
 * the true class). nll_sum (may be NULL) receives the summed unsmoothed NLL. Float math, rows split
 * over the pool. */
FrTensor *fr_lsra_token_loss(FrGraph *g, FrTensor *logits, const int32_t *labels, float eps, double *nll_sum);

/* fairseq's sinusoidal position embedding of position pos (>= 1) into out[d]: d/2 sines then d/2
 * cosines with frequencies 10000^(-i / (d/2 - 1)); an odd d leaves the last channel 0. */
void fr_lsra_sinusoid(int d, int pos, float *out);

/* e^x for x <= 0 (softmax arguments after the max is subtracted) without a libm call, so that the
 * loops vectorise: e^x = 2^n e^r with |r| <= ln2/2 and e^r to r^7 (under 1e-7 relative); x below -87
 * gives e^-87 (about 1.6e-38, nothing next to the row's largest term, which is 1). */
static inline float fr_lsra_exp_neg(float x) {
  x = x < -87.0f ? -87.0f : x;
  float nf = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = (x - nf * 0.693145751953125f) - nf * 1.428606765330187e-06f;
  float er = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
               r * (1.0f / 720 + r * (1.0f / 5040)))))));
  int32_t bits = ((int32_t)nf + 127) << 23;
  float two_n;
  memcpy(&two_n, &bits, sizeof two_n);
  return er * two_n;
}

G_END_DECLS
