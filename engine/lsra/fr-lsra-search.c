/* Greedy and beam search over the incremental decoder (see fr-lsra-search.h).
 *
 * fairseq's SequenceGenerator, step by step, for n sentences at once (n * beam hypotheses in one
 * decoder; hypothesis h belongs to sentence h / beam):
 *   - every hypothesis' log-probabilities get <pad> at -inf (<unk> stays allowed); </s> too before
 *     min_len tokens (fairseq's default 1: no empty translation); at a sentence's last step (its
 *     length limit) everything but </s> is -inf, so what is still open finishes there;
 *   - at step 0 only the first hypothesis of a sentence is live (the others are identical copies),
 *     so the beam does not fill with duplicates;
 *   - candidates: the best 2 * beam of (hypothesis, token) pairs by cumulative log-probability, ties
 *     to the lower hypothesis, then the lower token;
 *   - a candidate ending in </s> among the first `beam` of them finishes, scored sum / len ** lenpen
 *     with len counting </s>, while its sentence has fewer than `beam` finished hypotheses;
 *   - the first `beam` candidates not ending in </s> are the next step's hypotheses;
 *   - a sentence is done once it has `beam` finished hypotheses (or nothing is left alive); its best
 *     finished hypothesis (first finished wins a tie) is the result, and its hypotheses leave the
 *     decoder (fr_lsra_decoder_select), so later steps compute only open sentences, as in fairseq.
 * One difference from fairseq: the length limit is per sentence (max_len_a * its source tokens +
 * max_len_b), where fairseq uses the longest source of the batch, so that a sentence's translation
 * does not depend on what it is batched with.
 *
 * The candidates come from partial selection: each live hypothesis' best k = 2 * beam tokens in one
 * pass over the vocabulary (an insertion into a sorted list of k, reached only by values above the
 * current k-th), then the best 2 * beam of the sentence's beam * k; no sort over the vocabulary. */
#include "fr-lsra-search.h"
#include "fr-lsra-bpe.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#define MAX_BEAM 1024

void fr_lsra_search_opts_init(FrLsraSearchOpts *o) {
  memset(o, 0, sizeof *o);
  o->beam = 4;
  o->len_penalty = 1.0;
  o->max_len_a = 1.5;
  o->max_len_b = 10;
  o->min_len = 1;
}

void fr_lsra_hypothesis_clear(FrLsraHypothesis *h) {
  if (!h) return;
  g_clear_pointer(&h->ids, g_free);
  h->n = 0;
  h->score = 0;
}

typedef struct {
  double val;
  int32_t idx;             /* per row: token; per sentence: hypothesis-in-beam * V + token */
} Cand;

/* Inserts (val, idx) into best[0..k) (sorted, best first) if it beats the k-th; equal values keep
 * their order of arrival, so the caller's scan order decides ties. */
static inline void cand_insert(Cand *best, int k, double val, int32_t idx) {
  int i = k - 1;
  while (i > 0 && best[i - 1].val < val) {
    best[i] = best[i - 1];
    i--;
  }
  best[i].val = val;
  best[i].idx = idx;
}

/* The best k tokens of one row of log-probabilities (ties to the lower token); slots beyond the
 * finite values stay at -inf. */
static void row_topk(const float *row, int V, int k, Cand *best) {
  for (int i = 0; i < k; i++) best[i] = (Cand){ -INFINITY, -1 };
  float thr = -INFINITY;
  for (int v = 0; v < V; v++) {
    if (row[v] > thr) {
      cand_insert(best, k, row[v], v);
      thr = (float)best[k - 1].val;
    }
  }
}

typedef struct {
  int32_t *ids;            /* without </s> */
  int n;
  double score;
} Finished;

typedef struct {
  int limit;               /* target tokens at most (without </s>); the step with index limit forces </s> */
  int n_fin;
  Finished *fin;           /* [beam] */
  gboolean done;
} Sentence;

static gboolean check_input(const FrLsraModel *m, int n, const int32_t *const *src, const int *src_len,
                            const FrLsraSearchOpts *o, GError **error) {
  if (n < 1 || !src || !src_len) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "nothing to translate");
    return FALSE;
  }
  if (o->beam < 1 || o->beam > MAX_BEAM) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "beam %d: must be 1 to %d", o->beam, MAX_BEAM);
    return FALSE;
  }
  if ((gint64)n * o->beam > (1 << 20)) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "%d sentences with beam %d are too many at once", n,
                o->beam);
    return FALSE;
  }
  if (!isfinite(o->len_penalty) || !isfinite(o->max_len_a) || o->max_len_a < 0 || o->max_len_b < 0 ||
      o->min_len < 0) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID,
                "length settings must be finite, max_len_a, max_len_b and min_len >= 0");
    return FALSE;
  }
  const int V = fr_lsra_model_vocab(m);
  for (int i = 0; i < n; i++) {
    if (src_len[i] < 0 || src_len[i] > FR_LSRA_MAX_TOKENS - 1 || (src_len[i] > 0 && !src[i])) {
      g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "sentence %d has %d tokens; the models take 0 to %d",
                  i + 1, src_len[i], FR_LSRA_MAX_TOKENS - 1);
      return FALSE;
    }
    for (int t = 0; t < src_len[i]; t++)
      if (src[i][t] < 0 || src[i][t] >= V) {
        g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "sentence %d: token id %d outside the vocabulary",
                    i + 1, src[i][t]);
        return FALSE;
      }
  }
  return TRUE;
}

static inline gboolean cancelled(const FrLsraSearchOpts *o) {
  return o->cancel && g_atomic_int_get(o->cancel) != 0;
}

gboolean fr_lsra_search(FrLsraModel *m, int n, const int32_t *const *src, const int *src_len,
                        const FrLsraSearchOpts *opts, FrLsraHypothesis *out, GError **error) {
  FrLsraSearchOpts defaults;
  if (!opts) {
    fr_lsra_search_opts_init(&defaults);
    opts = &defaults;
  }
  g_return_val_if_fail(m != NULL && out != NULL, FALSE);
  if (!check_input(m, n, src, src_len, opts, error)) return FALSE;
  if (cancelled(opts)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "translation cancelled");
    return FALSE;
  }
  const int B = opts->beam, V = fr_lsra_model_vocab(m), N = n * B;
  const int k_row = MIN(2 * B, V), k_cand = 2 * B;

  Sentence *sent = g_new0(Sentence, n);
  int max_limit = 0;
  for (int i = 0; i < n; i++) {
    double lim = floor(opts->max_len_a * src_len[i] + opts->max_len_b);
    sent[i].limit = (int)MIN(lim, (double)(FR_LSRA_MAX_TOKENS - 1));
    sent[i].fin = g_new0(Finished, B);
    max_limit = MAX(max_limit, sent[i].limit);
  }
  const int max_steps = max_limit + 1;
  FrLsraDecoder *dec = fr_lsra_decoder_new(m, n, src, src_len, B, max_steps, error);
  if (!dec) {
    for (int i = 0; i < n; i++) g_free(sent[i].fin);
    g_free(sent);
    return FALSE;
  }

  float *lp = g_new(float, (gsize)N * V);
  double *score = g_new(double, N), *next_score = g_new(double, N);
  int32_t *hist = g_new0(int32_t, (gsize)N * max_steps), *next_hist = g_new0(int32_t, (gsize)N * max_steps);
  int32_t *tok = g_new(int32_t, N), *order = g_new(int32_t, N);
  /* the decoder holds only the open sentences: act[a] is the sentence in its rows a * B .. a * B + B - 1 */
  int32_t *act = g_new(int32_t, n), *dec_tok = g_new(int32_t, N), *rows = g_new(int32_t, N);
  int n_act = n;
  for (int i = 0; i < n; i++) act[i] = i;
  Cand *row_best = g_new(Cand, (gsize)B * k_row), *best = g_new(Cand, k_cand);
  for (int h = 0; h < N; h++) {
    tok[h] = FR_LSRA_BPE_EOS;
    score[h] = h % B == 0 ? 0.0 : -INFINITY; /* step 0: one live hypothesis per sentence */
  }

  gboolean ok = TRUE;
  int open = n;
  for (int t = 0; open > 0; t++) {
    if (cancelled(opts)) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "translation cancelled");
      ok = FALSE;
      break;
    }
    for (int a = 0; a < n_act; a++) memcpy(dec_tok + a * B, tok + act[a] * B, sizeof(int32_t) * (size_t)B);
    if (!fr_lsra_decoder_step(dec, dec_tok, lp)) { /* cannot happen: every sentence ends by its limit */
      g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "decoder ran out of steps");
      ok = FALSE;
      break;
    }
    gboolean identity = TRUE;
    const int open_before = open;
    for (int a = 0; a < n_act; a++) {
      const int i = act[a];
      Sentence *s = &sent[i];
      const int h0 = i * B;
      const gboolean force_eos = t >= s->limit, no_eos = !force_eos && t < opts->min_len;
      /* per live hypothesis: its best tokens; then the sentence's best 2B of all of them */
      for (int c = 0; c < k_cand; c++) best[c] = (Cand){ -INFINITY, -1 };
      double thr = -INFINITY;
      for (int j = 0; j < B; j++) {
        const double sc = score[h0 + j];
        if (sc == -INFINITY) continue;
        float *row = lp + (gsize)(a * B + j) * V;
        row[FR_LSRA_BPE_PAD] = -INFINITY;
        if (no_eos) row[FR_LSRA_BPE_EOS] = -INFINITY;
        Cand *rb = row_best + (gsize)j * k_row;
        int kk = k_row;
        if (force_eos) {
          rb[0] = (Cand){ row[FR_LSRA_BPE_EOS], FR_LSRA_BPE_EOS };
          kk = 1;
        } else {
          row_topk(row, V, k_row, rb);
        }
        for (int c = 0; c < kk; c++) {
          if (rb[c].val == -INFINITY) break;
          const double v = sc + rb[c].val;
          if (v > thr) {
            cand_insert(best, k_cand, v, j * V + rb[c].idx);
            thr = best[k_cand - 1].val;
          } else {
            break; /* rb is sorted: the rest of this row cannot enter either */
          }
        }
      }
      /* finished: </s> among the first B candidates */
      for (int c = 0; c < B && c < k_cand; c++) {
        if (best[c].idx < 0 || best[c].val == -INFINITY) break;
        if (best[c].idx % V != FR_LSRA_BPE_EOS) continue;
        if (s->n_fin >= B) break;
        const int j = best[c].idx / V;
        Finished *f = &s->fin[s->n_fin++];
        f->n = t;
        f->ids = g_memdup2(hist + (gsize)(h0 + j) * max_steps, sizeof(int32_t) * (gsize)MAX(t, 1));
        f->score = best[c].val / pow((double)(t + 1), opts->len_penalty);
      }
      /* the next hypotheses: the first B candidates that do not end in </s> */
      int kept = 0;
      if (s->n_fin < B) {
        for (int c = 0; c < k_cand && kept < B; c++) {
          if (best[c].idx < 0 || best[c].val == -INFINITY) break;
          const int32_t token = best[c].idx % V;
          if (token == FR_LSRA_BPE_EOS) continue;
          const int j = best[c].idx / V, h = h0 + kept;
          order[h] = h0 + j;
          tok[h] = token;
          next_score[h] = best[c].val;
          memcpy(next_hist + (gsize)h * max_steps, hist + (gsize)(h0 + j) * max_steps, sizeof(int32_t) * (gsize)t);
          next_hist[(gsize)h * max_steps + t] = token;
          if (h0 + j != h) identity = FALSE;
          kept++;
        }
      }
      for (int j = kept; j < B; j++) { /* dead slots: fed </s>, never extended */
        order[h0 + j] = h0 + j;
        tok[h0 + j] = FR_LSRA_BPE_EOS;
        next_score[h0 + j] = -INFINITY;
      }
      if (kept == 0) {
        s->done = TRUE;
        open--;
      }
    }
    if (open == 0) break;
    if (open < open_before || !identity) {
      /* decoder rows: each open sentence's hypotheses continue their parents; finished sentences leave */
      int kept_act = 0;
      for (int a = 0; a < n_act; a++) {
        const int i = act[a];
        if (sent[i].done) continue;
        for (int j = 0; j < B; j++) rows[kept_act * B + j] = a * B + (order[i * B + j] - i * B);
        act[kept_act++] = i;
      }
      fr_lsra_decoder_select(dec, rows, kept_act * B);
      n_act = kept_act;
    }
    double *ts = score;
    score = next_score;
    next_score = ts;
    int32_t *th = hist;
    hist = next_hist;
    next_hist = th;
  }

  if (ok) {
    for (int i = 0; i < n; i++) {
      Sentence *s = &sent[i];
      if (s->n_fin == 0) { /* only if the model gave </s> -inf at the limit */
        out[i] = (FrLsraHypothesis){ NULL, 0, -INFINITY };
        continue;
      }
      int b = 0;
      for (int f = 1; f < s->n_fin; f++)
        if (s->fin[f].score > s->fin[b].score) b = f;
      out[i].ids = s->fin[b].ids;
      out[i].n = s->fin[b].n;
      out[i].score = s->fin[b].score;
      s->fin[b].ids = NULL;
    }
  }
  for (int i = 0; i < n; i++) {
    for (int f = 0; f < sent[i].n_fin; f++) g_free(sent[i].fin[f].ids);
    g_free(sent[i].fin);
  }
  g_free(sent);
  g_free(lp);
  g_free(score);
  g_free(next_score);
  g_free(hist);
  g_free(next_hist);
  g_free(tok);
  g_free(order);
  g_free(act);
  g_free(dec_tok);
  g_free(rows);
  g_free(row_best);
  g_free(best);
  fr_lsra_decoder_free(dec);
  return ok;
}
