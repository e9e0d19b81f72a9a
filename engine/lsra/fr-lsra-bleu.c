/* fr-lsra-bleu.c: BLEU from clipped n-gram counts, as sacreBLEU 2.x scores it. Corpus BLEU sums
 * the counts over all lines and computes one score (it is not a mean of sentence scores); each line
 * here adds to the sums, so a caller can stream segments without keeping them. */
#include "fr-lsra-bleu.h"

#include <math.h>
#include <string.h>

/* n-gram (tokens joined by spaces; tokens hold no whitespace, so the join is unambiguous) -> count */
static GHashTable *count_ngrams(char **tokens, int len, int n) {
  GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GString *key = g_string_new(NULL);
  for (int i = 0; i + n <= len; i++) {
    g_string_assign(key, tokens[i]);
    for (int k = 1; k < n; k++) {
      g_string_append_c(key, ' ');
      g_string_append(key, tokens[i + k]);
    }
    gpointer old;
    if (g_hash_table_lookup_extended(t, key->str, NULL, &old))
      g_hash_table_replace(t, g_strdup(key->str), GINT_TO_POINTER(GPOINTER_TO_INT(old) + 1));
    else
      g_hash_table_insert(t, g_strdup(key->str), GINT_TO_POINTER(1));
  }
  g_string_free(key, TRUE);
  return t;
}

void fr_lsra_bleu_stats_add(FrLsraBleuStats *st, const char *hyp, const char *ref, FrLsraBleuTokenize tok) {
  char **h = fr_lsra_bleu_tokens(hyp, tok), **r = fr_lsra_bleu_tokens(ref, tok);
  int hl = (int)g_strv_length(h), rl = (int)g_strv_length(r);
  st->sys_len += hl;
  st->ref_len += rl; /* one reference: its length is the closest */
  for (int n = 1; n <= FR_LSRA_BLEU_ORDER; n++) {
    if (hl < n) break; /* no hypothesis n-grams of this order or higher */
    st->total[n - 1] += hl - n + 1;
    if (rl < n) continue;
    GHashTable *hc = count_ngrams(h, hl, n), *rc = count_ngrams(r, rl, n);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, hc);
    while (g_hash_table_iter_next(&it, &key, &value)) {
      int in_ref = GPOINTER_TO_INT(g_hash_table_lookup(rc, key));
      st->correct[n - 1] += MIN(GPOINTER_TO_INT(value), in_ref); /* clipping */
    }
    g_hash_table_destroy(hc);
    g_hash_table_destroy(rc);
  }
  g_strfreev(h);
  g_strfreev(r);
}

/* sacreBLEU's stand-in for log(0): large enough that exp() of the mean is exactly 0. */
static double safe_log(double p) { return p == 0.0 ? -9999999999.0 : log(p); }

void fr_lsra_bleu_compute(const FrLsraBleuStats *st, gboolean effective_order, FrLsraBleu *out) {
  memset(out, 0, sizeof *out);
  out->stats = *st;
  if (st->sys_len < st->ref_len)
    out->bp = st->sys_len > 0 ? exp(1.0 - (double)st->ref_len / (double)st->sys_len) : 0.0;
  else
    out->bp = 1.0;
  /* no unigram matches means no matches at all: 0, with every precision left at 0 */
  if (st->correct[0] == 0) return;
  int eff_order = FR_LSRA_BLEU_ORDER;
  double smooth = 1.0;
  for (int n = 1; n <= FR_LSRA_BLEU_ORDER; n++) {
    /* an order with no hypothesis n-grams ends the loop; without effective order its precision
     * (and those above it) stays 0, which zeroes the score */
    if (st->total[n - 1] == 0) break;
    if (effective_order) eff_order = n;
    if (st->correct[n - 1] == 0) {
      smooth *= 2.0; /* 'exp' smoothing: 1/2, 1/4, ... of a match for each successive empty order */
      out->precisions[n - 1] = 100.0 / (smooth * (double)st->total[n - 1]);
    } else {
      out->precisions[n - 1] = 100.0 * (double)st->correct[n - 1] / (double)st->total[n - 1];
    }
  }
  /* summed in order 1..eff_order as Python's sum() does, so identical text gives sacreBLEU's
   * 100.00000000000004 and not a different last bit */
  double s = 0.0;
  for (int n = 0; n < eff_order; n++) s += safe_log(out->precisions[n]);
  out->bleu = out->bp * exp(s / eff_order);
}

void fr_lsra_bleu_corpus(const char *const *hyps, const char *const *refs, gsize n, FrLsraBleuTokenize tok,
                         FrLsraBleu *out) {
  FrLsraBleuStats st = {0};
  for (gsize i = 0; i < n; i++) fr_lsra_bleu_stats_add(&st, hyps[i], refs[i], tok);
  fr_lsra_bleu_compute(&st, FALSE, out);
}

void fr_lsra_bleu_sentence(const char *hyp, const char *ref, FrLsraBleuTokenize tok, FrLsraBleu *out) {
  FrLsraBleuStats st = {0};
  fr_lsra_bleu_stats_add(&st, hyp, ref, tok);
  fr_lsra_bleu_compute(&st, TRUE, out);
}
