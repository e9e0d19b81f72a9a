/* fr-lsra-ops.h: the translation models' own differentiable ops (see fr-lsra-ops.c). */
#pragma once
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

G_END_DECLS
