/* fr-lsra-model.h: the encoder-decoder translation models of Lite Transformer (Wu et al., ICLR 2020):
 * the Transformer baseline and the Lite Transformer (Long-Short Range Attention), in one code path.
 *
 * Both are fairseq's post-norm encoder-decoder: token embeddings scaled by sqrt(d) plus sinusoidal
 * positions, one joint table shared by the encoder, the decoder and the output projection (the BPE
 * vocabulary is joint English-German), dropout after every sublayer, then residual + layer norm.
 *   Transformer block   self-attention over all d channels, FFN d -> ffn -> d (ReLU)
 *   Lite block          the d channels split in two: attn_dim go through multi-head self-attention,
 *                       the other d - attn_dim through the convolution branch (Linear -> GLU ->
 *                       lightweight or dynamic conv with conv_heads heads -> Linear; centred kernels in
 *                       the encoder, causal in the decoder; padded source positions zeroed first); the
 *                       two outputs are concatenated; FFN "flattened" (ffn = d)
 *   decoder             the same blocks (causal) plus full-width encoder-decoder attention
 * Sequences are [B, T, d]. Ids follow fr-lsra-bpe.h: 0 <pad>, 2 <s>, 3 </s>. Like fairseq, a source
 * ends with </s>, and the decoder's input is </s> followed by the target (</s> doubles as the start
 * symbol); the decoder predicts the target followed by </s>. */
#pragma once
#include "fr-lsra-macs.h"
#include "fr-model-io.h"
#include "fr-tensor.h"

G_BEGIN_DECLS

#define FR_LSRA_ERROR (fr_lsra_error_quark())
GQuark fr_lsra_error_quark(void);
typedef enum {
  FR_LSRA_ERROR_INVALID,   /* a bad config, empty or over-long input, ids out of range */
  FR_LSRA_ERROR_FORMAT,    /* a model file that is not a Frontier translation model */
  FR_LSRA_ERROR_IO,
} FrLsraError;

/* Longest source or target the models take, in BPE tokens including </s> (sinusoidal positions have
 * no table; the limit bounds the caches and the training data filter). */
#define FR_LSRA_MAX_TOKENS 256

/* ---- the four mobile models Frontier trains (docs/LSRA.md) ----
 * "transformer-small" d 72, "lite-small" d 112 (~15M Mult-Adds), "transformer" d 128, "lite" d 200
 * (~44M); 3 + 3 layers, 4 heads (Lite: 4 attention and 4 convolution heads), Lite kernels 3, 7, 15,
 * dynamic with GLU. vocab is the BPE vocabulary size. FALSE for an unknown name. */
gboolean fr_lsra_config_mobile(const char *name, int vocab, FrLsraConfig *out);
/* The names above, NULL-terminated. */
const char *const *fr_lsra_mobile_names(void);

typedef struct FrLsraModel FrLsraModel;

/* A model with zero weights; the config is validated (fr_lsra_config_validate) and must have
 * share_all with src_vocab == tgt_vocab > 4. The config's name is copied. */
FrLsraModel *fr_lsra_model_new(const FrLsraConfig *cfg, GError **error);
void fr_lsra_model_free(FrLsraModel *m);
/* fairseq's initialisation: Xavier-uniform linear weights, zero biases, embeddings N(0, d^-1/2)
 * with the <pad> row zero, layer norms 1 / 0; lightweight kernels Xavier-uniform. */
void fr_lsra_model_init(FrLsraModel *m, guint64 seed);
const FrLsraConfig *fr_lsra_model_config(const FrLsraModel *m);
int fr_lsra_model_vocab(const FrLsraModel *m);
FrParamSet *fr_lsra_model_params(FrLsraModel *m);

/* safetensors with the config in the metadata ("format": "frontier-lsra", "config": JSON) plus the
 * extra NULL-terminated key, value pairs; written atomically. */
gboolean fr_lsra_model_save(FrLsraModel *m, const char *path, const char *const *extra_metadata, GError **error);
/* metadata_out (may be NULL) receives every metadata key of the file. */
FrLsraModel *fr_lsra_model_load(const char *path, GHashTable **metadata_out, GError **error);

/* ---- training ---- */

/* Sentence pairs, padded with 0 on the right. */
typedef struct {
  int B, S, T;
  const int32_t *src;      /* [B, S]: the source, </s>, then pad */
  const int32_t *src_len;  /* [B]: tokens including </s>, >= 1 */
  const int32_t *tgt_in;   /* [B, T]: </s>, the target, then pad */
  const int32_t *tgt_out;  /* [B, T]: the target, </s>, then pad (ignored by the loss) */
} FrLsraBatch;

typedef struct {
  float dropout;           /* after embeddings and every sublayer (0.1) */
  float attn_dropout;      /* on attention probabilities (0) */
  float act_dropout;       /* after the FFN's ReLU (0) */
  float weight_dropout;    /* on the convolution kernels (0.1) */
  float label_smoothing;   /* 0.1 */
} FrLsraTrainOpts;

void fr_lsra_train_opts_init(FrLsraTrainOpts *o);

/* Teacher-forced forward on g and the loss to minimise: label-smoothed cross-entropy summed over the
 * batch's target tokens (pad excluded) divided by their number. Dropout is on when g->training.
 * nll_sum (may be NULL) receives the summed negative log-likelihood without smoothing (nats), and
 * n_tokens the number of target tokens, for perplexity. */
FrTensor *fr_lsra_model_loss(FrGraph *g, FrLsraModel *m, const FrLsraBatch *b, const FrLsraTrainOpts *o,
                             double *nll_sum, int64_t *n_tokens);

/* ---- incremental decoding ----
 * The encoder runs once over n source sentences; the decoder then keeps n * beam hypotheses
 * (hypothesis h reads sentence h / beam) and advances them one token at a time with cached self-
 * attention keys and values, cached encoder-decoder keys and values, and for Lite the last K - 1
 * inputs of every causal convolution. Uses the engine's thread pool; not thread-safe per decoder. */
typedef struct FrLsraDecoder FrLsraDecoder;

/* src[i] holds src_len[i] ids of sentence i without </s> (it is appended); 1 <= src_len[i] + 1 <=
 * FR_LSRA_MAX_TOKENS; max_steps <= FR_LSRA_MAX_TOKENS bounds the target length. NULL with an error
 * for bad input. */
FrLsraDecoder *fr_lsra_decoder_new(FrLsraModel *m, int n, const int32_t *const *src, const int *src_len, int beam,
                                   int max_steps, GError **error);
void fr_lsra_decoder_free(FrLsraDecoder *d);
int fr_lsra_decoder_n_hyp(const FrLsraDecoder *d);
int fr_lsra_decoder_steps(const FrLsraDecoder *d);   /* tokens fed so far */
/* Feeds tokens[h] to every hypothesis (the first step: FR_LSRA_BPE_EOS) and writes the log-
 * probabilities of the next token, [n_hyp, vocab] floats. FALSE (and nothing written) once
 * max_steps tokens have been fed. */
gboolean fr_lsra_decoder_step(FrLsraDecoder *d, const int32_t *tokens, float *logprobs);
/* Hypothesis h continues what hypothesis order[h] had seen; order[h] must read the same sentence. */
void fr_lsra_decoder_reorder(FrLsraDecoder *d, const int32_t *order);
/* Keeps n hypotheses (1 <= n <= n_hyp): new hypothesis h continues old hypothesis rows[h], whatever its
 * sentence; n_hyp becomes n. Search drops the hypotheses of finished sentences with it, so that later
 * steps compute only what is still open (fairseq does the same). */
void fr_lsra_decoder_select(FrLsraDecoder *d, const int32_t *rows, int n);
/* Encoder-decoder attention of the last step for hypothesis h, averaged over the heads of decoder
 * layer `layer` (-1: the last): writes the source length (with </s>) floats. */
void fr_lsra_decoder_cross_attention(const FrLsraDecoder *d, int h, int layer, float *out);

/* ---- what the encoder looks at (the GUI's heatmaps) ---- */
typedef struct {
  int layers, S;           /* encoder layers; source tokens including </s> */
  int attn_heads;          /* heads of the (Lite: attention branch's) self-attention */
  float *attn;             /* [layers, attn_heads, S, S]: row i is query i's weights over the source */
  int conv_heads, max_k;   /* Lite only (0 otherwise) */
  int kernel_size[FR_LSRA_MAX_LAYERS];
  float *kernels;          /* [layers, S, conv_heads, max_k]: the normalised kernel each position used
                            * (taps beyond kernel_size[l] are 0; a lightweight kernel repeats per position);
                            * NULL for the Transformer */
} FrLsraInspect;

/* Runs the encoder over one sentence (src_len ids without </s>) and returns its weights. */
FrLsraInspect *fr_lsra_model_inspect(FrLsraModel *m, const int32_t *src, int src_len, GError **error);
void fr_lsra_inspect_free(FrLsraInspect *in);

G_END_DECLS
