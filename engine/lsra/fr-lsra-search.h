/* fr-lsra-search.h: greedy and beam search over a translation model's incremental decoder
 * (fr-lsra-model.h), as fairseq's SequenceGenerator scores hypotheses: the sum of the tokens' log-
 * probabilities (</s> included) divided by length ** len_penalty, length counting </s>. */
#pragma once
#include "fr-lsra-model.h"

G_BEGIN_DECLS

typedef struct {
  int beam;              /* 1: greedy (default 4) */
  double len_penalty;    /* fairseq's lenpen (default 1.0) */
  double max_len_a;      /* at most max_len_a * source tokens + max_len_b target tokens (1.5, 10), */
  int max_len_b;         /*   capped at FR_LSRA_MAX_TOKENS - 1 */
  const volatile gint *cancel; /* when not NULL and non-zero, the search stops early (FALSE, cancelled) */
  int min_len;           /* at least this many target tokens before </s> (fairseq's min_len, default 1:
                          * no empty translations), unless the length limit is lower */
} FrLsraSearchOpts;

void fr_lsra_search_opts_init(FrLsraSearchOpts *o);

typedef struct {
  int32_t *ids;          /* the translation's ids without </s> (g_malloc) */
  int n;
  double score;          /* normalised as above */
} FrLsraHypothesis;

/* Translates n sentences together (src[i]: src_len[i] ids without </s>); out[i] receives the best
 * finished hypothesis of sentence i (one that reached the length limit counts as finished there).
 * FALSE with an error for bad input or a cancel (FR_LSRA_ERROR_INVALID / G_IO_ERROR_CANCELLED). */
gboolean fr_lsra_search(FrLsraModel *m, int n, const int32_t *const *src, const int *src_len,
                        const FrLsraSearchOpts *o, FrLsraHypothesis *out, GError **error);
void fr_lsra_hypothesis_clear(FrLsraHypothesis *h);

G_END_DECLS
