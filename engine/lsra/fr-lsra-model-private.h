/* fr-lsra-model-private.h: the model's layers, shared by the training forward (fr-lsra-model.c) and
 * the incremental decoder (fr-lsra-model-decode.c). */
#pragma once
#include "fr-lsra-model.h"
#include "fr-ops.h"

typedef struct { FrTensor *w, *b; } FrLsraLinear;
typedef struct { FrLsraLinear q, k, v, o; } FrLsraAttn;
typedef struct {
  FrLsraLinear in;       /* [c -> 2c] with GLU, else [c -> c] */
  FrTensor *predict;     /* dynamic: [H*K, c], no bias */
  FrTensor *weight;      /* lightweight: [H, K] */
  FrLsraLinear out;
  int K;
} FrLsraConvBranch;
typedef struct {
  FrLsraAttn self;       /* Transformer: d wide; Lite: attn_dim wide */
  FrLsraConvBranch conv; /* Lite only */
  FrTensor *ln1_g, *ln1_b;
  FrLsraAttn cross;      /* decoder only, d wide */
  FrTensor *ln2_g, *ln2_b;
  FrLsraLinear ffn1, ffn2;
  FrTensor *ln3_g, *ln3_b; /* decoder: after the FFN (the encoder's is ln2) */
} FrLsraLayer;

struct FrLsraModel {
  FrLsraConfig cfg;
  char *name;
  FrParamSet *params;
  FrTensor *embed;       /* [V, d], shared by both sides and the output projection */
  FrLsraLayer enc[FR_LSRA_MAX_LAYERS], dec[FR_LSRA_MAX_LAYERS];
};

/* What an encoder pass can leave behind for inspection (NULL pointers: not wanted). */
typedef struct {
  const float *attn[FR_LSRA_MAX_LAYERS];     /* [B, H, S, S] */
  const float *kernels[FR_LSRA_MAX_LAYERS];  /* dynamic: [B, S, H, K]; lightweight: the raw [H, K] weight */
} FrLsraEncTrace;

static inline FrTensor *fr_lsra_lin(FrGraph *g, FrTensor *x, const FrLsraLinear *l) {
  return fr_linear(g, x, l->w, l->b);
}

/* "layer0" ... : scope names for the profiler (string literals). */
const char *fr_lsra_layer_name(int l);

/* Embeddings * sqrt(d) + positions 1..T of ids [B, T] (dropout when training). */
FrTensor *fr_lsra_embed(FrGraph *g, FrLsraModel *m, const int32_t *ids, int B, int T, float dropout);
/* The encoder over src [B, S] with lengths; trace may be NULL. Returns [B, S, d]. */
FrTensor *fr_lsra_encode(FrGraph *g, FrLsraModel *m, const int32_t *src, const int32_t *src_len, int B, int S,
                         const FrLsraTrainOpts *o, FrLsraEncTrace *trace);
