/* fr-lsra-eval.h: a translation model on the dev sets: every English side translated (in batches of
 * sentences of similar length), BLEU per source and over all of them, decoding speed.
 *
 * BLEU: sacreBLEU's corpus BLEU with the 13a tokeniser (fr-lsra-bleu.h) on the detokenised output, and
 * a "tokenised" BLEU in the style of the paper's WMT figures (fairseq's compound_split_bleu.sh): 13a
 * tokens with every hyphen between two non-space characters split off as "##AT##-##AT##", scored on
 * those tokens as they are. */
#pragma once
#include "fr-job.h"
#include "fr-lsra-bleu.h"
#include "fr-lsra-translate.h"

G_BEGIN_DECLS

typedef struct {
  char **dev;                /* TSV files (English<TAB>German), NULL-terminated; NULL: the shipped dev sets
                              * lsra/dev.{gettext,ddtp,ding}.en-de.tsv (fr_data_find) */
  int limit;                 /* only the first N pairs of each set (0: all) */
  int batch;                 /* sentences per search, sorted by length (32) */
  FrLsraSearchOpts search;   /* beam 4, lenpen 1; search.cancel also stops the evaluation */
  char *hyp_dir;             /* when set: hyp_dir/NAME.hyp.txt, one translation a line in the set's order */
} FrLsraEvalOpts;

/* Defaults; the strings are the caller's (the job copies them). */
void fr_lsra_eval_opts_init(FrLsraEvalOpts *o);

typedef struct {
  char *name;                /* "gettext" for dev.gettext.en-de.tsv; otherwise the file name up to its first '.' */
  char *path;
  int sentences;
  FrLsraBleu bleu;           /* sacreBLEU, 13a */
  FrLsraBleu bleu_tok;       /* tokenised, compounds split */
  gint64 src_tokens;         /* BPE tokens of the English sides (after truncation, without </s>) */
  gint64 out_tokens;         /* BPE tokens generated, </s> included (fairseq's count) */
  int truncated, unknown;    /* inputs cut to FR_LSRA_MAX_TOKENS - 1; <unk> tokens in the inputs */
  double seconds;            /* encoding, search and decoding (reading files and BLEU excluded) */
} FrLsraEvalSet;

typedef struct {
  char *model;               /* the translator's name */
  int n_sets;
  FrLsraEvalSet *sets;
  FrLsraBleu bleu, bleu_tok; /* over all sets together (statistics summed) */
  int sentences;
  gint64 out_tokens;
  double seconds;
  double tokens_per_second;  /* out_tokens / seconds */
  double mult_adds;          /* the paper's convention (30 + 30 tokens) */
  FrLsraParams params;
  int beam, batch, threads;
} FrLsraEvalResult;

/* Called after every batch; returning FALSE stops the evaluation (cancelled). */
typedef gboolean (*FrLsraEvalProgress)(double fraction, const char *message, gpointer user_data);

/* Synchronous. FALSE with an error for unreadable or malformed files (the message names file and line),
 * an empty set, or a cancel (G_IO_ERROR_CANCELLED). out is cleared first. */
gboolean fr_lsra_eval_run(FrLsraTranslator *t, const FrLsraEvalOpts *o, FrLsraEvalProgress progress,
                          gpointer user_data, FrLsraEvalResult *out, GError **error);
void fr_lsra_eval_result_clear(FrLsraEvalResult *r);
/* The result as a JSON object (pretty): model, bleu, bleu_tok, per_source {NAME: {bleu, bleu_tok, bp,
 * sys_len, ref_len, sentences, ...}}, sentences, output_tokens, seconds, tokens_per_second, macs, params,
 * beam, batch, threads. The GUI reads lsra/eval-NAME.json in this form. */
char *fr_lsra_eval_result_to_json(const FrLsraEvalResult *r);

/* A shipped model by name (fr_lsra_mobile_names) or a model file (anything with a '/' or ending in
 * .safetensors) with bpe_path (NULL: the shipped lsra/bpe.model). */
FrLsraTranslator *fr_lsra_translator_open(const char *name_or_path, const char *bpe_path, GError **error);

/* The evaluation as a job: loads the model (fr_lsra_translator_open), emits progress and, at the end,
 * a "lsra.eval.result" payload: (s) the JSON above. Failures: FR_JOB_ERROR_INVALID_ARGUMENT for an
 * unknown model name, FR_JOB_ERROR_FAILED otherwise. */
FrJob *fr_lsra_eval_job_start(const char *name_or_path, const char *bpe_path, const FrLsraEvalOpts *o);

G_END_DECLS
