/* fr-lsra-bleu.h: BLEU as sacreBLEU 2.x computes it (13a or whitespace tokenisation, exponential
 * smoothing, corpus statistics summed per line, effective order for sentence BLEU), so that the
 * Lite Transformer's scores are comparable with published ones. One reference per segment. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define FR_LSRA_BLEU_ORDER 4

typedef enum {
  FR_LSRA_BLEU_TOK_13A,  /* mteval-v13a as sacreBLEU does it: the default, for detokenised text */
  FR_LSRA_BLEU_TOK_NONE, /* whitespace split only: fairseq/multi-bleu style, on tokenised text */
} FrLsraBleuTokenize;

/* Sufficient statistics: summed over lines for corpus BLEU. */
typedef struct {
  gint64 correct[FR_LSRA_BLEU_ORDER]; /* clipped n-gram matches */
  gint64 total[FR_LSRA_BLEU_ORDER];   /* hypothesis n-grams */
  gint64 sys_len, ref_len;            /* tokens */
} FrLsraBleuStats;

typedef struct {
  double bleu;                            /* 0..100 */
  double bp;                              /* brevity penalty, 0..1 */
  double precisions[FR_LSRA_BLEU_ORDER];  /* percent; smoothed where a count was 0 */
  FrLsraBleuStats stats;
} FrLsraBleu;

/* Tokens of one line as sacreBLEU sees them: the line is rstripped, tokenised (13a or not) and split
 * on Python's str.split() whitespace. Returns a NULL-terminated vector (g_strfreev). Invalid UTF-8 is
 * replaced first (g_utf8_make_valid), as Python would have refused to read it. */
char **fr_lsra_bleu_tokens(const char *line, FrLsraBleuTokenize tok);
/* The 13a-tokenised line, tokens joined by single spaces (what `sacrebleu --tokenize 13a` compares). */
char *fr_lsra_bleu_tokenize_13a(const char *line);
/* TRUE for the characters Python's str.split() and str.rstrip() treat as whitespace. */
gboolean fr_lsra_bleu_is_py_space(gunichar c);

/* Adds one segment's n-gram matches, totals and lengths to st. */
void fr_lsra_bleu_stats_add(FrLsraBleuStats *st, const char *hyp, const char *ref, FrLsraBleuTokenize tok);
/* The score from statistics. effective_order: orders with no hypothesis n-grams are left out of the
 * geometric mean (sacreBLEU's sentence-level default) instead of making the score 0. */
void fr_lsra_bleu_compute(const FrLsraBleuStats *st, gboolean effective_order, FrLsraBleu *out);

/* Corpus BLEU of n hypotheses against n references (one each). */
void fr_lsra_bleu_corpus(const char *const *hyps, const char *const *refs, gsize n, FrLsraBleuTokenize tok,
                         FrLsraBleu *out);
/* Sentence BLEU with effective order (sacreBLEU's sentence_score). */
void fr_lsra_bleu_sentence(const char *hyp, const char *ref, FrLsraBleuTokenize tok, FrLsraBleu *out);

G_END_DECLS
