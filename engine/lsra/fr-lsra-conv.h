/* fr-lsra-conv.h: the convolution branch of Lite Transformer's Long-Short Range Attention (LSRA, Wu et
 * al., ICLR 2020): lightweight and dynamic convolutions (Wu et al., "Pay Less Attention with
 * Lightweight and Dynamic Convolutions", ICLR 2019) as differentiable ops, plus their single-step form
 * for incremental decoding.
 *
 * Layout: sequences are [B, T, C] row-major (batch, time, channels), the same as fr_linear's
 * [..., features], so a Linear -> GLU -> conv -> Linear branch needs no transposes. The C channels are
 * split into H heads of R = C / H consecutive channels: channel c belongs to head c / R (fairseq's TBC
 * modules, the ones Lite Transformer runs, view C as H x R; note that fairseq's BCT example module
 * LightweightConv1d groups channels the other way, c % H).
 *
 * Both ops compute, with x taken as 0 outside [0, T):
 *
 *     y[b, t, c] = sum over k < K of  w[b, t, h(c), k] * x[b, t + k - padding_l, c]
 *
 * where w is one [H, K] weight shared by every position (lightweight) or one kernel per position,
 * [B, T, H, K] (dynamic). padding_l is in [0, K-1]: K-1 is causal (y[t] sees x[t-K+1 .. t], the
 * decoder), K/2 centres an odd kernel (the encoder). Tap k = K-1 of a causal kernel weighs the current
 * input. This is fairseq's unfold1d convention (x_unfold[t, k] = x[t + k - padding_l]).
 *
 * Inputs must be contiguous. Gradients flow to every input that needs one. Forward and backward run
 * over the pool, one (b, t) row per item. */
#pragma once
#include "fr-tensor.h"

G_BEGIN_DECLS

/* x [B, T, C], weight [H, K] (a parameter: fairseq's weight [H, 1, K] without the 1). softmax: the
 * kernel is softmax(weight) over K (fairseq's weight_softmax, on in Lite Transformer), computed
 * inside the op so the gradient reaches the raw weight. Returns [B, T, C]. */
FrTensor *fr_lightweight_conv1d(FrGraph *g, FrTensor *x, FrTensor *weight, int padding_l, bool softmax);

/* The same with fairseq's weight dropout (DropConnect), active only when g->training and p > 0: every
 * (b, t, h, k) tap of the (softmaxed) kernel is dropped independently with probability p and the kept
 * ones scaled by 1/(1-p), as fairseq does after expanding the [H, K] weight to every position. Masks
 * are drawn from g->rng. Otherwise identical to fr_lightweight_conv1d. */
FrTensor *fr_lightweight_conv1d_dropout(FrGraph *g, FrTensor *x, FrTensor *weight, int padding_l, bool softmax,
                                        float weight_dropout);

/* x [B, T, C], kernels [B, T, H, K]: one kernel per position and head, used as given. In Lite
 * Transformer they are predicted from the input by a linear layer [C -> H*K] and normalised by the
 * caller: kernels = fr_softmax(fr_reshape(fr_linear(x, w_k, NULL), [B, T, H, K])), optionally
 * followed by fr_dropout (fairseq's weight dropout on dynamic kernels is exactly that), so the
 * gradient reaches x through both paths and the kernel-predicting weight. Returns [B, T, C]. */
FrTensor *fr_dynamic_conv1d(FrGraph *g, FrTensor *x, FrTensor *kernels, int padding_l);

/* ---- incremental decoding (causal, padding_l = K-1) ----
 * The state of one causal convolution layer: the last K-1 inputs of each of B sequences, oldest first,
 * zeros before a sequence's start (which is what the full op's left zero padding sees). One step
 * gives exactly the full op's output row for the new position. */
typedef struct {
  int64_t B, C;
  int K;
  int64_t steps;   /* inputs appended since the last reset */
  float *hist;     /* [B, K-1, C] */
} FrLsraConvState;

FrLsraConvState *fr_lsra_conv_state_new(int64_t B, int64_t C, int K);
void fr_lsra_conv_state_free(FrLsraConvState *s);
/* Back to the start of a sequence: all history zero. */
void fr_lsra_conv_state_reset(FrLsraConvState *s);
/* Beam search: sequence i continues what old sequence order[i] had seen (order: B entries in [0, B)). */
void fr_lsra_conv_state_reorder(FrLsraConvState *s, const int32_t *order);
/* Keeps n sequences: new sequence i continues old sequence rows[i] (rows in [0, B); n <= B); B becomes n.
 * Search uses it to drop finished sentences from the batch. */
void fr_lsra_conv_state_select(FrLsraConvState *s, const int32_t *rows, int64_t n);

/* One step: x holds B new inputs of C channels ([B, C] or [B, 1, C]); returns y shaped like x (allocated
 * from g; no gradient is recorded) and appends x to the history. weight [H, K] as in
 * fr_lightweight_conv1d (eval mode: no weight dropout). */
FrTensor *fr_lightweight_conv1d_step(FrGraph *g, FrLsraConvState *s, FrTensor *x, FrTensor *weight, bool softmax);
/* kernels [B, H, K] or [B, 1, H, K] (the last two dims are H and K), already normalised. */
FrTensor *fr_dynamic_conv1d_step(FrGraph *g, FrLsraConvState *s, FrTensor *x, FrTensor *kernels);

G_END_DECLS
