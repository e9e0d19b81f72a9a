/* fr-lsra-macs.h: model configurations of the Transformer and the Lite Transformer (Wu et al., ICLR
 * 2020) and their cost in the paper's convention: Mult-Adds of one translation with a 30-token source
 * and a 30-token target, and parameter counts.
 *
 * The Mult-Adds convention (the one that reproduces the paper's figures, see fr-lsra-macs.c and
 * docs/LSRA.md):
 *   counted      every linear layer's weight multiply-adds (in x out per token): attention's Q, K, V
 *                and output projections, the FFN, the conv branch's input linear (with the GLU it is
 *                [c -> 2c]) and output linear, the dynamic conv's kernel-predicting linear [c -> H*K];
 *                attention's Q.K^T and A.V as dense T_q x T_k products (a causal mask saves nothing);
 *                the convolution taps, K per channel and token including those that fall on padding;
 *                encoder-decoder attention once per decoder layer: Q and output projections over the
 *                target, K and V projections over the source, Q.K^T and A.V as T_tgt x T_src.
 *   not counted  embeddings (token and positional), the output projection to the vocabulary, biases,
 *                softmaxes (attention's and the kernels'), the GLU's sigmoid and product, layer norms,
 *                residual additions, dropout.
 * Decoding is counted as one pass over the whole target (teacher forcing), not step by step. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

#define FR_LSRA_MAX_LAYERS 16

typedef enum {
  FR_LSRA_ARCH_TRANSFORMER,   /* every block: multi-head attention over all d channels, FFN */
  FR_LSRA_ARCH_LITE,          /* every block: LSRA (attention on attn_dim channels || conv branch), FFN */
} FrLsraArch;

typedef enum {
  FR_LSRA_CONV_LIGHTWEIGHT,   /* one [H, K] kernel per layer */
  FR_LSRA_CONV_DYNAMIC,       /* kernels predicted per position by a linear [c -> H*K] */
} FrLsraConvKind;

typedef struct {
  const char *name;
  FrLsraArch arch;
  int d_model;
  int enc_layers, dec_layers;
  int heads;                  /* attention heads (Lite: of the attention branch) */
  int ffn_dim;                /* FFN inner size: 4d in the Transformer, d ("flattened") in the Lite */
  /* Lite only: the branch widths (attn_dim + conv channels = d_model) and the convolution. */
  int attn_dim;
  int conv_heads;
  FrLsraConvKind conv;
  bool glu;                   /* conv branch input linear [c -> 2c] + GLU; else [c -> c] */
  int enc_kernels[FR_LSRA_MAX_LAYERS];   /* kernel size per encoder layer (centred) */
  int dec_kernels[FR_LSRA_MAX_LAYERS];   /* per decoder layer (causal) */
  /* Vocabularies, for parameter counts only. share_all: one joined table for source, target and the
   * output projection (the WMT configs); otherwise source, target and output tables. */
  int src_vocab, tgt_vocab;
  bool share_all;
} FrLsraConfig;

typedef struct {
  double total;
  double enc_linear, enc_attn, enc_conv;   /* linear layers, Q.K^T + A.V, conv taps */
  double dec_linear, dec_attn, dec_conv;
} FrLsraMacs;

typedef struct {
  int64_t body;         /* every layer's weights, biases and layer norms: the paper's #Params */
  int64_t embeddings;   /* token tables and the output projection (sinusoidal positions have none) */
  int64_t total;
} FrLsraParams;

/* Mult-Adds of one src_len-token source and tgt_len-token target, in the convention above. */
FrLsraMacs fr_lsra_macs(const FrLsraConfig *cfg, int src_len, int tgt_len);
/* The paper's figure: fr_lsra_macs(cfg, 30, 30).total. */
double fr_lsra_mult_adds(const FrLsraConfig *cfg);
FrLsraParams fr_lsra_params(const FrLsraConfig *cfg);
/* Config sanity: dims divide by heads, branch widths add up, kernel sizes given. FALSE with a message. */
gboolean fr_lsra_config_validate(const FrLsraConfig *cfg, GError **error);

/* ---- the paper's and the repository's configurations ---- */
typedef struct {
  FrLsraConfig config;
  double paper_mult_adds;   /* as printed (M), 0 when none is given */
  double paper_params;      /* M, 0 when none is given */
  const char *source;       /* where the figure and the config come from */
} FrLsraPreset;

/* NULL-terminated by a preset with config.name == NULL. */
const FrLsraPreset *fr_lsra_presets(void);
const FrLsraPreset *fr_lsra_preset_find(const char *name);

/* A Lite Transformer config with the repository's defaults: d/2 attention, d/2 conv channels with
 * 4 heads each, FFN d, kernels 3,7,15,31,31,31 (31 beyond), dynamic conv with GLU; 6+6 layers. */
FrLsraConfig fr_lsra_config_lite(int d_model);
/* A Transformer config (fairseq's transformer_wmt_en_de scaled to d): FFN 4d, 8 heads, 6+6 layers. */
FrLsraConfig fr_lsra_config_transformer(int d_model);

G_END_DECLS
