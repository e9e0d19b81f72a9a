/* fr-lsra-translate.h: English -> German translation with a shipped model: text in, text out, with
 * the joint BPE (data/lsra/bpe.model) and beam search. */
#pragma once
#include "fr-lsra-bpe.h"
#include "fr-lsra-search.h"

G_BEGIN_DECLS

typedef struct FrLsraTranslator FrLsraTranslator;

/* One of fr_lsra_mobile_names() ("lite-small", "lite", "transformer-small", "transformer"), found
 * with fr_data_find("lsra/NAME.safetensors") and "lsra/bpe.model". Clear errors for a missing or
 * corrupt file. */
FrLsraTranslator *fr_lsra_translator_load(const char *name, GError **error);
FrLsraTranslator *fr_lsra_translator_new_from_files(const char *model_path, const char *bpe_path, GError **error);
void fr_lsra_translator_free(FrLsraTranslator *t);
const char *fr_lsra_translator_name(const FrLsraTranslator *t);   /* the config's name */
FrLsraModel *fr_lsra_translator_model(FrLsraTranslator *t);
const FrLsraBpe *fr_lsra_translator_bpe(const FrLsraTranslator *t);
double fr_lsra_translator_mult_adds(const FrLsraTranslator *t);   /* the paper's convention, 30 + 30 tokens */
FrLsraParams fr_lsra_translator_params(const FrLsraTranslator *t);

/* text's BPE ids as fr_lsra_translate feeds them to the model (g_free; *n may be 0): cut to
 * FR_LSRA_MAX_TOKENS - 1 tokens (*truncated), <unk> tokens counted in *unknown (both may be NULL). */
int32_t *fr_lsra_translator_encode(const FrLsraTranslator *t, const char *text, int *n, gboolean *truncated,
                                   int *unknown);

typedef struct {
  char *text;              /* the translation (empty for empty input) */
  gboolean truncated;      /* the input had more than FR_LSRA_MAX_TOKENS - 1 BPE tokens and was cut */
  int unknown;             /* <unk> tokens in the encoded input (characters outside the vocabulary) */
  int32_t *src_ids;        /* the encoded (possibly truncated) input without </s> */
  int n_src;
  int32_t *out_ids;        /* the translation's ids without </s> */
  int n_out;
  double score;            /* the hypothesis' normalised log-probability */
  double ms;               /* wall time of encoding, search and decoding */
} FrLsraTranslation;

/* Whitespace-only input gives an empty translation, not an error. A translator is used by one
 * thread at a time. */
FrLsraTranslation *fr_lsra_translate(FrLsraTranslator *t, const char *text, const FrLsraSearchOpts *opts,
                                     GError **error);
void fr_lsra_translation_free(FrLsraTranslation *tr);

G_END_DECLS
