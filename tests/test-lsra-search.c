/* Greedy and beam search (engine/lsra/fr-lsra-search.h), translation (fr-lsra-translate.h) and the
 * dev-set evaluation (fr-lsra-eval.h) on tiny random models:
 *   greedy is the step-by-step argmax and equals beam 1;
 *   beam search with a beam wide enough to hold every prefix finds exactly the best of all sequences
 *     up to the length limit (enumerated one by one through the decoder), for several length penalties;
 *   narrower beams are never worse than greedy under the same scoring (lenpen 0);
 *   batching sentences gives what each gives alone; cancel; bad input;
 *   translation round trips with a BPE learned on tests/data/lsra (empty input, truncation, <unk>),
 *   files (vocabulary mismatch, corrupt model), the evaluation on a small TSV with hypotheses written. */
#include "fr-lsra-eval.h"
#include "fr-lsra-search.h"
#include "fr-lsra-translate.h"
#include "fr-test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static FrLsraConfig tiny_config(int kind, int vocab) {
  FrLsraConfig c = kind == 0 ? fr_lsra_config_transformer(16) : fr_lsra_config_lite(16);
  c.name = kind == 0 ? "tiny-transformer" : "tiny-lite";
  c.enc_layers = c.dec_layers = 1;
  c.heads = 2;
  c.ffn_dim = kind == 0 ? 32 : 16;
  if (kind != 0) {
    c.attn_dim = 8;
    c.conv_heads = 2;
    c.conv = kind == 1 ? FR_LSRA_CONV_DYNAMIC : FR_LSRA_CONV_LIGHTWEIGHT;
    c.glu = kind == 1;
    c.enc_kernels[0] = 3;
    c.dec_kernels[0] = 3;
  }
  c.src_vocab = c.tgt_vocab = vocab;
  c.share_all = true;
  return c;
}

/* Random weights scaled up so the distributions are far from uniform (a fresh init gives nearly flat
 * log-probabilities, where every search agrees trivially). */
static FrLsraModel *tiny_model(int kind, int vocab, guint64 seed) {
  FrLsraConfig c = tiny_config(kind, vocab);
  GError *e = NULL;
  FrLsraModel *m = fr_lsra_model_new(&c, &e);
  g_assert_no_error(e);
  fr_lsra_model_init(m, seed);
  FrParamSet *ps = fr_lsra_model_params(m);
  for (int i = 0; i < fr_param_set_len(ps); i++) {
    FrTensor *t = fr_param_set_nth(ps, i);
    if (!strcmp(t->name, "embed")) {
      const int64_t d = t->shape[1];
      for (int64_t j = 0; j < fr_tensor_numel(t); j++) t->data[j] *= 4.0f;
      /* tied output projection: each token tends to predict itself, so </s> (the first input) would
       * end a search at once and nothing else would ever lead to </s>; a weaker </s> row and a token 5
       * that looks like </s> (after it, </s> is likely) give outputs of every length */
      for (int64_t j = 0; j < d; j++) {
        t->data[FR_LSRA_BPE_EOS * d + j] *= 0.5f;
        t->data[5 * d + j] = 0.8f * t->data[FR_LSRA_BPE_EOS * d + j] + 0.2f * t->data[5 * d + j];
      }
    }
  }
  return m;
}

static const char *kind_name[] = { "transformer", "lite-dynamic", "lite-lightweight" };

/* ---- independent scoring ----
 * Decoders are made sparingly: each one allocates a graph arena, which costs milliseconds under the
 * test suite's MALLOC_PERTURB_. Several prefixes of one source are scored in one decoder, one
 * hypothesis each, without reorders: hypothesis h is fed </s> + its own tokens (</s> after its end),
 * and its row is read at the step after its last token. */

/* lp[h * V ..] = log-probabilities of the token after </s> + prefix h */
static void prefix_logprobs(FrLsraModel *m, const int32_t *src, int src_len, int count, int32_t *const *prefix,
                            const int *n, float *lp) {
  const int V = fr_lsra_model_vocab(m);
  int steps = 0;
  for (int h = 0; h < count; h++) steps = MAX(steps, n[h] + 1);
  FrLsraDecoder *d = fr_lsra_decoder_new(m, 1, &src, &src_len, count, steps, NULL);
  g_assert_nonnull(d);
  float *row = g_new(float, (gsize)MAX(count, 1) * (gsize)MAX(V, 1));
  int32_t *tok = g_new(int32_t, (gsize)MAX(count, 1));
  for (int t = 0; t < steps; t++) {
    for (int h = 0; h < count; h++) tok[h] = t == 0 || t > n[h] ? FR_LSRA_BPE_EOS : prefix[h][t - 1];
    g_assert_true(fr_lsra_decoder_step(d, tok, row));
    for (int h = 0; h < count; h++)
      if (n[h] == t) memcpy(lp + (gsize)h * V, row + (gsize)h * V, sizeof(float) * V);
  }
  g_free(tok);
  g_free(row);
  fr_lsra_decoder_free(d);
}

/* normalised scores of count sequences (each + </s>) */
static void sequence_scores(FrLsraModel *m, const int32_t *src, int src_len, int count, int32_t *const *ids,
                            const int *n, double lenpen, double *out) {
  const int V = fr_lsra_model_vocab(m);
  int steps = 0;
  for (int h = 0; h < count; h++) steps = MAX(steps, n[h] + 1);
  FrLsraDecoder *d = fr_lsra_decoder_new(m, 1, &src, &src_len, count, steps, NULL);
  float *lp = g_new(float, (gsize)count * V);
  int32_t *tok = g_new(int32_t, count);
  double *sum = g_new0(double, count);
  for (int t = 0; t < steps; t++) {
    for (int h = 0; h < count; h++) tok[h] = t == 0 || t > n[h] ? FR_LSRA_BPE_EOS : ids[h][t - 1];
    g_assert_true(fr_lsra_decoder_step(d, tok, lp));
    for (int h = 0; h < count; h++)
      if (t <= n[h]) sum[h] += lp[(gsize)h * V + (t < n[h] ? ids[h][t] : FR_LSRA_BPE_EOS)];
  }
  for (int h = 0; h < count; h++) out[h] = sum[h] / pow(n[h] + 1, lenpen);
  g_free(sum);
  g_free(tok);
  g_free(lp);
  fr_lsra_decoder_free(d);
}

static gboolean search1(FrLsraModel *m, const int32_t *src, int len, const FrLsraSearchOpts *o, FrLsraHypothesis *h) {
  GError *e = NULL;
  gboolean ok = fr_lsra_search(m, 1, &src, &len, o, h, &e);
  g_assert_no_error(e);
  return ok;
}

/* ---- tests ---- */

static const int32_t SRC[3][6] = { { 5, 6, 7, 8, 9, 10 }, { 11, 4, 4 }, { 7 } };
static const int SRC_LEN[3] = { 6, 3, 1 };

/* greedy = the argmax at every step (no </s> first, ties to the lower id), = beam 1; written out
 * with one decoder per sentence */
static void test_greedy(gconstpointer data) {
  const int kind = GPOINTER_TO_INT(data), V = 12;
  for (guint64 seed = 1; seed <= 3; seed++) {
    FrLsraModel *m = tiny_model(kind, V, seed);
    for (int s = 0; s < 3; s++) {
      FrLsraSearchOpts o;
      fr_lsra_search_opts_init(&o);
      o.beam = 1;
      FrLsraHypothesis h = { 0 };
      search1(m, SRC[s], SRC_LEN[s], &o, &h);
      const int limit = (int)floor(o.max_len_a * SRC_LEN[s] + o.max_len_b);
      const int32_t *src = SRC[s];
      int len = SRC_LEN[s];
      FrLsraDecoder *d = fr_lsra_decoder_new(m, 1, &src, &len, 1, limit + 1, NULL);
      int32_t ids[64], tok = FR_LSRA_BPE_EOS;
      int n = 0;
      double sum = 0;
      float lp[12];
      for (;;) {
        g_assert_true(fr_lsra_decoder_step(d, &tok, lp));
        int best = FR_LSRA_BPE_EOS;
        if (n < limit) {
          best = -1;
          for (int v = 0; v < V; v++)
            if (v != FR_LSRA_BPE_PAD && (v != FR_LSRA_BPE_EOS || n >= o.min_len) && (best < 0 || lp[v] > lp[best]))
              best = v;
        }
        sum += lp[best];
        if (best == FR_LSRA_BPE_EOS) break;
        ids[n++] = tok = best;
      }
      fr_lsra_decoder_free(d);
      g_assert_cmpint(h.n, ==, n);
      g_assert_cmpmem(h.ids, sizeof(int32_t) * h.n, ids, sizeof(int32_t) * n);
      g_assert_cmpfloat_with_epsilon(h.score, sum / (n + 1), 1e-4);
      fr_lsra_hypothesis_clear(&h);
    }
    fr_lsra_model_free(m);
  }
}

/* A beam holding every prefix finds exactly the best of all sequences up to the limit (lenpen 0, 1, 2;
 * min_len 0 and 1): every sequence scored from one batched decoder. */
static void test_exhaustive(gconstpointer data) {
  const int kind = GPOINTER_TO_INT(data);
  const struct { int V, limit, beam; } cases[] = { { 12, 2, 112 }, { 6, 3, 86 } };
  const double lenpens[] = { 0.0, 1.0, 2.0 };
  const int32_t src[3] = { 4, 5, 4 };
  for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
    const int V = cases[c].V, limit = cases[c].limit;
    FrLsraModel *m = tiny_model(kind, V, 7 + c);
    /* every prefix (no <pad>, no </s>) up to limit tokens, breadth first: parent and token */
    GArray *parent = g_array_new(FALSE, FALSE, sizeof(int)), *last = g_array_new(FALSE, FALSE, sizeof(int32_t));
    int root = -1, none = -1;
    g_array_append_val(parent, root);
    g_array_append_val(last, none);
    for (guint i = 0; i < parent->len; i++) {
      int depth = 0;
      for (int p = (int)i; g_array_index(parent, int, p) >= 0; p = g_array_index(parent, int, p)) depth++;
      if (depth == limit) continue;
      for (int v = 0; v < V; v++) {
        if (v == FR_LSRA_BPE_PAD || v == FR_LSRA_BPE_EOS) continue;
        int pi = (int)i;
        g_array_append_val(parent, pi);
        g_array_append_val(last, v);
      }
    }
    const int P = (int)parent->len;
    int32_t **prefix = g_new(int32_t *, P);
    int *n = g_new0(int, P);
    for (int i = 0; i < P; i++) {
      prefix[i] = g_new0(int32_t, limit + 1);
      for (int p = i; g_array_index(parent, int, p) >= 0; p = g_array_index(parent, int, p)) n[i]++;
      int k = n[i];
      for (int p = i; g_array_index(parent, int, p) >= 0; p = g_array_index(parent, int, p))
        prefix[i][--k] = g_array_index(last, int32_t, p);
    }
    float *lp = g_new(float, (gsize)P * V);
    prefix_logprobs(m, src, 3, P, prefix, n, lp);
    double *sum = g_new0(double, P);
    for (int i = 1; i < P; i++) {
      const int p = g_array_index(parent, int, i);
      sum[i] = sum[p] + lp[(gsize)p * V + g_array_index(last, int32_t, i)];
    }
    for (guint l = 0; l < 2 * G_N_ELEMENTS(lenpens); l++) {
      const int min_len = l % 2;
      const double lenpen = lenpens[l / 2];
      int best = -1;
      double best_score = -INFINITY;
      for (int i = 0; i < P; i++) {
        const double fin = (sum[i] + lp[(gsize)i * V + FR_LSRA_BPE_EOS]) / pow(n[i] + 1, lenpen);
        if ((n[i] >= min_len || n[i] == limit) && fin > best_score + 1e-9) {
          best = i;
          best_score = fin;
        }
      }
      FrLsraSearchOpts o;
      fr_lsra_search_opts_init(&o);
      o.beam = cases[c].beam;
      o.len_penalty = lenpen;
      o.min_len = min_len;
      o.max_len_a = 0;
      o.max_len_b = limit;
      FrLsraHypothesis h = { 0 };
      search1(m, src, 3, &o, &h);
      g_test_message("V %d, limit %d, lenpen %.0f, min_len %d: %d sequences, best %.4f (%d tokens), beam %.4f (%d)", V,
                     limit, lenpen, min_len, P, best_score, n[best], h.score, h.n);
      g_assert_cmpint(P, <=, cases[c].beam);
      g_assert_cmpfloat_with_epsilon(h.score, best_score, 1e-4);
      g_assert_cmpint(h.n, ==, n[best]);
      g_assert_cmpmem(h.ids, sizeof(int32_t) * h.n, prefix[best], sizeof(int32_t) * n[best]);
      fr_lsra_hypothesis_clear(&h);
    }
    for (int i = 0; i < P; i++) g_free(prefix[i]);
    g_free(prefix);
    g_free(n);
    g_free(lp);
    g_free(sum);
    g_array_unref(parent);
    g_array_unref(last);
    fr_lsra_model_free(m);
  }
}

/* Beam search is not monotone in the beam (a wider beam can push out the prefix a narrower one
 * follows, and stops once it has `beam` finished hypotheses), so a single search may score below
 * greedy; over many searches (lenpen 0: the plain sum) wider beams must do better on the whole, and
 * every reported score must be its sequence's. */
static void test_beam_vs_greedy(gconstpointer data) {
  const int kind = GPOINTER_TO_INT(data);
  int better = 0, worse = 0, runs = 0;
  double gain = 0;
  const int beams[] = { 1, 2, 4, 8 };
  enum { NB = G_N_ELEMENTS(beams) };
  for (guint64 seed = 1; seed <= 3; seed++) {
    FrLsraModel *m = tiny_model(kind, 12, 100 + seed);
    for (int s = 0; s < 3; s++) {
      FrLsraHypothesis h[NB] = { { 0 } };
      int32_t *ids[NB];
      int n[NB];
      double score[NB];
      for (int b = 0; b < NB; b++) {
        FrLsraSearchOpts o;
        fr_lsra_search_opts_init(&o);
        o.beam = beams[b];
        o.len_penalty = 0;
        search1(m, SRC[s], SRC_LEN[s], &o, &h[b]);
        g_assert_cmpint(h[b].n, >=, 1);
        g_assert_cmpint(h[b].n, <=, (int)floor(1.5 * SRC_LEN[s] + 10));
        ids[b] = h[b].ids;
        n[b] = h[b].n;
      }
      sequence_scores(m, SRC[s], SRC_LEN[s], NB, ids, n, 0, score);
      for (int b = 0; b < NB; b++) {
        g_assert_cmpfloat_with_epsilon(score[b], h[b].score, 1e-3);
        if (b > 0) {
          better += h[b].score > h[0].score + 1e-6;
          worse += h[b].score < h[0].score - 1e-6;
          gain += h[b].score - h[0].score;
          runs++;
        }
      }
      for (int b = 0; b < NB; b++) fr_lsra_hypothesis_clear(&h[b]);
    }
    fr_lsra_model_free(m);
  }
  g_test_message("beams 2, 4, 8 against greedy: %d better, %d worse of %d, mean gain %.3f", better, worse, runs,
                 gain / runs);
  g_assert_cmpint(better, >, worse);
  g_assert_cmpfloat(gain, >, 0);
}

/* A plain reference of the same rules: every candidate of every hypothesis sorted in full, the decoder
 * reordered at every step (one decoder per search, as the search uses). */
typedef struct {
  int32_t ids[64];
  int n;
  double score;
} RefHyp;

typedef struct {
  double score;
  int j, v;
} RefCand;

static int ref_cand_cmp(const void *a, const void *b) {
  const RefCand *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  if (x->j != y->j) return x->j - y->j;
  return x->v - y->v;
}

static RefHyp reference_beam(FrLsraModel *m, const int32_t *src, int src_len, const FrLsraSearchOpts *o) {
  const int V = fr_lsra_model_vocab(m), B = o->beam;
  const int limit = (int)MIN(floor(o->max_len_a * src_len + o->max_len_b), FR_LSRA_MAX_TOKENS - 1);
  FrLsraDecoder *d = fr_lsra_decoder_new(m, 1, &src, &src_len, B, limit + 1, NULL);
  RefHyp *live = g_new0(RefHyp, B), *next = g_new0(RefHyp, B), fin[64];
  int n_live = 1, n_fin = 0;
  RefCand *cands = g_new(RefCand, (gsize)B * V);
  float *lp = g_new(float, (gsize)B * V);
  int32_t *tok = g_new(int32_t, B), *order = g_new(int32_t, B);
  for (int j = 0; j < B; j++) tok[j] = FR_LSRA_BPE_EOS;
  for (int t = 0; n_live > 0 && n_fin < B; t++) {
    g_assert_true(fr_lsra_decoder_step(d, tok, lp));
    int nc = 0;
    for (int j = 0; j < n_live; j++)
      for (int v = 0; v < V; v++) {
        if (v == FR_LSRA_BPE_PAD) continue;
        if (t >= limit && v != FR_LSRA_BPE_EOS) continue;
        if (t < limit && t < o->min_len && v == FR_LSRA_BPE_EOS) continue;
        cands[nc++] = (RefCand){ live[j].score + lp[(gsize)j * V + v], j, v };
      }
    qsort(cands, (size_t)nc, sizeof *cands, ref_cand_cmp);
    nc = MIN(nc, 2 * B);
    for (int c = 0; c < MIN(nc, B) && n_fin < B; c++)
      if (cands[c].v == FR_LSRA_BPE_EOS) {
        fin[n_fin] = live[cands[c].j];
        fin[n_fin].score = cands[c].score / pow(t + 1, o->len_penalty);
        n_fin++;
      }
    int n_next = 0;
    if (n_fin < B)
      for (int c = 0; c < nc && n_next < B; c++) {
        if (cands[c].v == FR_LSRA_BPE_EOS) continue;
        next[n_next] = live[cands[c].j];
        next[n_next].ids[next[n_next].n++] = cands[c].v;
        next[n_next].score = cands[c].score;
        order[n_next] = cands[c].j;
        tok[n_next] = cands[c].v;
        n_next++;
      }
    for (int j = n_next; j < B; j++) {
      order[j] = j;
      tok[j] = FR_LSRA_BPE_EOS;
    }
    fr_lsra_decoder_reorder(d, order);
    RefHyp *tmp = live;
    live = next;
    next = tmp;
    n_live = n_next;
  }
  g_assert_cmpint(n_fin, >, 0);
  int best = 0;
  for (int f = 1; f < n_fin; f++)
    if (fin[f].score > fin[best].score) best = f;
  RefHyp r = fin[best];
  g_free(live);
  g_free(next);
  g_free(cands);
  g_free(lp);
  g_free(tok);
  g_free(order);
  fr_lsra_decoder_free(d);
  return r;
}

static void test_reference(gconstpointer data) {
  const int kind = GPOINTER_TO_INT(data);
  int checked = 0, tokens = 0, early = 0;
  for (guint64 seed = 1; seed <= 2; seed++) {
    FrLsraModel *m = tiny_model(kind, 12, 200 + seed);
    for (int s = 0; s < 3; s++)
      for (int beam = 2; beam <= 5; beam++)
        for (int l = 0; l < 2; l++) {
          FrLsraSearchOpts o;
          fr_lsra_search_opts_init(&o);
          o.beam = beam;
          o.len_penalty = l;
          o.max_len_b = 5;
          FrLsraHypothesis h = { 0 };
          search1(m, SRC[s], SRC_LEN[s], &o, &h);
          RefHyp r = reference_beam(m, SRC[s], SRC_LEN[s], &o);
          g_assert_cmpint(h.n, ==, r.n);
          g_assert_cmpmem(h.ids, sizeof(int32_t) * h.n, r.ids, sizeof(int32_t) * r.n);
          g_assert_cmpfloat_with_epsilon(h.score, r.score, 1e-4);
          checked++;
          tokens += h.n;
          early += h.n < (int)floor(1.5 * SRC_LEN[s] + 5);
          fr_lsra_hypothesis_clear(&h);
        }
    fr_lsra_model_free(m);
  }
  g_test_message("%d searches equal the reference (%d tokens; %d ended before the limit)", checked, tokens, early);
  g_assert_cmpint(early, >=, checked / 8);
}

/* n sentences together = each alone, greedy and beam 3; the length limit binds (max_len_b small). */
static void test_batch(gconstpointer data) {
  const int kind = GPOINTER_TO_INT(data);
  FrLsraModel *m = tiny_model(kind, 12, 21);
  const int32_t *src[3] = { SRC[0], SRC[1], SRC[2] };
  const int beams[] = { 1, 3 };
  for (guint b = 0; b < G_N_ELEMENTS(beams); b++) {
    FrLsraSearchOpts o;
    fr_lsra_search_opts_init(&o);
    o.beam = beams[b];
    o.max_len_b = 3;
    FrLsraHypothesis all[3] = { { 0 } };
    GError *e = NULL;
    g_assert_true(fr_lsra_search(m, 3, src, SRC_LEN, &o, all, &e));
    g_assert_no_error(e);
    for (int s = 0; s < 3; s++) {
      FrLsraHypothesis one = { 0 };
      search1(m, SRC[s], SRC_LEN[s], &o, &one);
      g_assert_cmpint(all[s].n, ==, one.n);
      g_assert_cmpint(all[s].n, <=, (int)floor(1.5 * SRC_LEN[s] + 3));
      g_assert_cmpmem(all[s].ids, sizeof(int32_t) * all[s].n, one.ids, sizeof(int32_t) * one.n);
      g_assert_cmpfloat_with_epsilon(all[s].score, one.score, 1e-4);
      fr_lsra_hypothesis_clear(&one);
      fr_lsra_hypothesis_clear(&all[s]);
    }
  }
  /* a limit of 0 tokens: only </s> */
  FrLsraSearchOpts o;
  fr_lsra_search_opts_init(&o);
  o.max_len_a = 0;
  o.max_len_b = 0;
  FrLsraHypothesis h = { 0 };
  search1(m, SRC[0], SRC_LEN[0], &o, &h);
  g_assert_cmpint(h.n, ==, 0);
  fr_lsra_hypothesis_clear(&h);
  fr_lsra_model_free(m);
}

static void test_cancel_and_bad_input(void) {
  FrLsraModel *m = tiny_model(0, 12, 3);
  FrLsraSearchOpts o;
  fr_lsra_search_opts_init(&o);
  volatile gint flag = 1;
  o.cancel = &flag;
  FrLsraHypothesis h = { 0 };
  GError *e = NULL;
  const int32_t *src = SRC[0];
  int len = SRC_LEN[0];
  g_assert_false(fr_lsra_search(m, 1, &src, &len, &o, &h, &e));
  g_assert_error(e, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error(&e);
  g_assert_null(h.ids);
  flag = 0;
  g_assert_true(fr_lsra_search(m, 1, &src, &len, &o, &h, &e));
  fr_lsra_hypothesis_clear(&h);

  fr_lsra_search_opts_init(&o);
  const int32_t bad_ids[2] = { 5, 12 };
  const int32_t *bad = bad_ids;
  int two = 2, neg = -1, huge = FR_LSRA_MAX_TOKENS;
  g_assert_false(fr_lsra_search(m, 1, &bad, &two, &o, &h, &e)); /* id outside the vocabulary */
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
  g_clear_error(&e);
  g_assert_false(fr_lsra_search(m, 1, &src, &neg, &o, &h, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
  g_clear_error(&e);
  g_assert_false(fr_lsra_search(m, 1, &src, &huge, &o, &h, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
  g_clear_error(&e);
  g_assert_false(fr_lsra_search(m, 0, &src, &len, &o, &h, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
  g_clear_error(&e);
  o.beam = 0;
  g_assert_false(fr_lsra_search(m, 1, &src, &len, &o, &h, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
  g_clear_error(&e);
  fr_lsra_search_opts_init(&o);
  o.max_len_a = NAN;
  g_assert_false(fr_lsra_search(m, 1, &src, &len, &o, &h, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
  g_clear_error(&e);
  /* an empty source (only </s>) is fine; so are defaults (NULL options) */
  int zero = 0;
  g_assert_true(fr_lsra_search(m, 1, &src, &zero, NULL, &h, &e));
  g_assert_no_error(e);
  fr_lsra_hypothesis_clear(&h);
  fr_lsra_model_free(m);
}

/* ---- translation with a BPE learned on the test sample ---- */

typedef struct {
  char *dir, *bpe_path, *model_path, *tsv_path;
  FrLsraTranslator *t;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data) {
  (void)data;
  char *sample = fr_test_data_path("lsra", "sample.en-de.tsv");
  if (!sample) {
    g_test_skip("FR_TEST_SRCDIR is not set");
    return;
  }
  f->dir = g_dir_make_tmp("lsra-search-XXXXXX", NULL);
  FrLsraBpeConfig bc;
  fr_lsra_bpe_config_init(&bc);
  bc.vocab_size = 300;
  FrLsraBpeTrainer *tr = fr_lsra_bpe_trainer_new(&bc);
  /* the first 400 lines are plenty for 300 pieces */
  char *text = NULL;
  g_assert_true(g_file_get_contents(sample, &text, NULL, NULL));
  char **lines = g_strsplit(text, "\n", 401);
  GString *tsv = g_string_new(NULL);
  for (int i = 0; lines[i] && i < 400; i++) {
    char **fields = g_strsplit(lines[i], "\t", 2);
    for (int k = 0; fields[k]; k++) fr_lsra_bpe_trainer_add_text(tr, fields[k], -1);
    if (i < 12) g_string_append_printf(tsv, "%s\n", lines[i]);
    g_strfreev(fields);
  }
  g_strfreev(lines);
  g_free(text);
  GError *e = NULL;
  FrLsraBpe *bpe = fr_lsra_bpe_trainer_learn(tr, NULL, NULL, NULL, &e);
  g_assert_no_error(e);
  fr_lsra_bpe_trainer_free(tr);
  f->bpe_path = g_build_filename(f->dir, "bpe.model", NULL);
  g_assert_true(fr_lsra_bpe_save(bpe, f->bpe_path, &e));
  FrLsraModel *m = tiny_model(1, fr_lsra_bpe_vocab_size(bpe), 5);
  f->model_path = g_build_filename(f->dir, "tiny.safetensors", NULL);
  g_assert_true(fr_lsra_model_save(m, f->model_path, NULL, &e));
  g_assert_no_error(e);
  fr_lsra_model_free(m);
  fr_lsra_bpe_free(bpe);
  f->tsv_path = g_build_filename(f->dir, "dev.sample.en-de.tsv", NULL);
  g_assert_true(g_file_set_contents(f->tsv_path, tsv->str, -1, NULL));
  g_string_free(tsv, TRUE);
  f->t = fr_lsra_translator_new_from_files(f->model_path, f->bpe_path, &e);
  g_assert_no_error(e);
  g_free(sample);
}

static void rm_rf(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) return;
  const char *n;
  while ((n = g_dir_read_name(d))) {
    char *p = g_build_filename(dir, n, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR)) rm_rf(p);
    else g_unlink(p);
    g_free(p);
  }
  g_dir_close(d);
  g_rmdir(dir);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
  (void)data;
  fr_lsra_translator_free(f->t);
  if (f->dir) rm_rf(f->dir);
  g_free(f->dir);
  g_free(f->bpe_path);
  g_free(f->model_path);
  g_free(f->tsv_path);
}

static void test_translate(Fixture *f, gconstpointer data) {
  (void)data;
  if (!f->t) return;
  g_assert_cmpstr(fr_lsra_translator_name(f->t), ==, "tiny-lite");
  g_assert_cmpfloat(fr_lsra_translator_mult_adds(f->t), >, 0);
  g_assert_cmpint(fr_lsra_translator_params(f->t).body, >, 0);
  FrLsraSearchOpts o;
  fr_lsra_search_opts_init(&o);
  GError *e = NULL;
  /* empty and whitespace-only input: an empty translation */
  const char *empties[] = { "", "  \t \n" };
  for (guint i = 0; i < G_N_ELEMENTS(empties); i++) {
    FrLsraTranslation *tr = fr_lsra_translate(f->t, empties[i], &o, &e);
    g_assert_no_error(e);
    g_assert_cmpstr(tr->text, ==, "");
    g_assert_cmpint(tr->n_src, ==, 0);
    g_assert_cmpint(tr->n_out, ==, 0);
    g_assert_false(tr->truncated);
    fr_lsra_translation_free(tr);
  }
  /* a sentence: decode(out_ids) is the text; ids match the encoder */
  FrLsraTranslation *tr = fr_lsra_translate(f->t, "Open the file.", &o, &e);
  g_assert_no_error(e);
  g_assert_false(tr->truncated);
  g_assert_cmpint(tr->unknown, ==, 0);
  g_assert_cmpint(tr->n_src, >, 0);
  g_assert_cmpint(tr->n_out, <=, (int)floor(1.5 * tr->n_src + 10));
  char *back = fr_lsra_bpe_decode(fr_lsra_translator_bpe(f->t), tr->out_ids, tr->n_out, &e);
  g_assert_cmpstr(back, ==, tr->text);
  g_assert_cmpfloat(tr->ms, >, 0);
  g_free(back);
  fr_lsra_translation_free(tr);
  /* characters outside the vocabulary are counted */
  tr = fr_lsra_translate(f->t, "Open \xe2\x98\x83\xe2\x98\x83 and \xe4\xb8\xad", &o, &e);
  g_assert_no_error(e);
  g_assert_cmpint(tr->unknown, ==, 2);
  fr_lsra_translation_free(tr);
  /* a long input is cut to FR_LSRA_MAX_TOKENS - 1 tokens and says so */
  GString *lng = g_string_new(NULL);
  for (int i = 0; i < 400; i++) g_string_append(lng, "the file ");
  o.beam = 1;
  o.max_len_b = 2;
  o.max_len_a = 0;
  tr = fr_lsra_translate(f->t, lng->str, &o, &e);
  g_assert_no_error(e);
  g_assert_true(tr->truncated);
  g_assert_cmpint(tr->n_src, ==, FR_LSRA_MAX_TOKENS - 1);
  g_assert_cmpint(tr->n_out, <=, 2);
  fr_lsra_translation_free(tr);
  g_string_free(lng, TRUE);
  /* cancelled */
  volatile gint flag = 1;
  o.cancel = &flag;
  g_assert_null(fr_lsra_translate(f->t, "Open the file.", &o, &e));
  g_assert_error(e, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error(&e);
}

static void test_files(Fixture *f, gconstpointer data) {
  (void)data;
  if (!f->t) return;
  GError *e = NULL;
  /* a model whose vocabulary is not the BPE's */
  FrLsraModel *m = tiny_model(0, 40, 1);
  char *other = g_build_filename(f->dir, "other.safetensors", NULL);
  g_assert_true(fr_lsra_model_save(m, other, NULL, &e));
  fr_lsra_model_free(m);
  g_assert_null(fr_lsra_translator_new_from_files(other, f->bpe_path, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_FORMAT);
  g_assert_nonnull(strstr(e->message, "vocabulary"));
  g_clear_error(&e);
  /* a truncated model file */
  char *data_ = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(f->model_path, &data_, &len, NULL));
  char *cut = g_build_filename(f->dir, "cut.safetensors", NULL);
  g_assert_true(g_file_set_contents(cut, data_, (gssize)(len / 2), NULL));
  g_assert_null(fr_lsra_translator_new_from_files(cut, f->bpe_path, &e));
  g_assert_nonnull(e);
  g_clear_error(&e);
  /* not a model at all; a missing file; a BPE that is not one */
  g_assert_null(fr_lsra_translator_new_from_files(f->bpe_path, f->bpe_path, &e));
  g_assert_nonnull(e);
  g_clear_error(&e);
  g_assert_null(fr_lsra_translator_open(cut, "/nonexistent/bpe.model", &e));
  g_assert_nonnull(e);
  g_clear_error(&e);
  g_assert_null(fr_lsra_translator_new_from_files(f->model_path, f->model_path, &e));
  g_assert_nonnull(e);
  g_assert_nonnull(strstr(e->message, f->model_path));
  g_clear_error(&e);
  g_assert_null(fr_lsra_translator_load("no-such-model", &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
  g_clear_error(&e);
  g_assert_null(fr_lsra_translator_open("/nonexistent/x.safetensors", NULL, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_IO);
  g_clear_error(&e);
  /* a path through _open works */
  FrLsraTranslator *t = fr_lsra_translator_open(f->model_path, f->bpe_path, &e);
  g_assert_no_error(e);
  fr_lsra_translator_free(t);
  g_free(data_);
  g_free(cut);
  g_free(other);
}

static gboolean count_progress(double fraction, const char *msg, gpointer data) {
  int *calls = data;
  g_assert_cmpfloat(fraction, >, 0);
  g_assert_cmpfloat(fraction, <=, 1);
  g_assert_nonnull(msg);
  (*calls)++;
  return TRUE;
}

static gboolean stop_now(double fraction, const char *msg, gpointer data) {
  (void)fraction, (void)msg, (void)data;
  return FALSE;
}

static void test_eval(Fixture *f, gconstpointer data) {
  (void)data;
  if (!f->t) return;
  FrLsraEvalOpts o;
  fr_lsra_eval_opts_init(&o);
  char *dev[] = { f->tsv_path, f->tsv_path, NULL };
  o.dev = dev;
  o.limit = 10;
  o.batch = 4;
  o.search.beam = 2;
  o.search.max_len_b = 4;
  char *hyp_dir = g_build_filename(f->dir, "hyps", NULL);
  o.hyp_dir = hyp_dir;
  FrLsraEvalResult r;
  GError *e = NULL;
  int calls = 0;
  g_assert_true(fr_lsra_eval_run(f->t, &o, count_progress, &calls, &r, &e));
  g_assert_no_error(e);
  g_assert_cmpint(calls, ==, 6); /* 3 batches of 4, 4, 2 per set */
  g_assert_cmpint(r.n_sets, ==, 2);
  g_assert_cmpstr(r.sets[0].name, ==, "sample");
  g_assert_cmpint(r.sentences, ==, 20);
  g_assert_cmpint(r.sets[0].sentences, ==, 10);
  g_assert_cmpfloat(r.bleu.bleu, >=, 0);
  g_assert_cmpfloat(r.bleu.bleu, <=, 100);
  g_assert_cmpfloat_with_epsilon(r.sets[0].bleu.bleu, r.sets[1].bleu.bleu, 1e-9); /* same set, same output */
  g_assert_cmpint(r.out_tokens, >=, 20);
  g_assert_cmpfloat(r.tokens_per_second, >, 0);
  g_assert_cmpint(r.beam, ==, 2);
  /* the hypotheses: 10 lines, the ones fr_lsra_translate gives one by one */
  char *hp = g_build_filename(o.hyp_dir, "sample.hyp.txt", NULL), *text = NULL;
  g_assert_true(g_file_get_contents(hp, &text, NULL, NULL));
  char **hl = g_strsplit(text, "\n", -1);
  g_assert_cmpint(g_strv_length(hl), ==, 11);
  char *tsv = NULL;
  g_assert_true(g_file_get_contents(f->tsv_path, &tsv, NULL, NULL));
  char **rows = g_strsplit(tsv, "\n", -1);
  for (int i = 0; i < 3; i++) {
    char **fields = g_strsplit(rows[i], "\t", 2);
    FrLsraTranslation *tr = fr_lsra_translate(f->t, fields[0], &o.search, &e);
    g_assert_no_error(e);
    g_assert_cmpstr(tr->text, ==, hl[i]);
    fr_lsra_translation_free(tr);
    g_strfreev(fields);
  }
  char *json = fr_lsra_eval_result_to_json(&r);
  g_assert_nonnull(strstr(json, "\"per_source\""));
  g_assert_nonnull(strstr(json, "\"tokens_per_second\""));
  g_assert_nonnull(strstr(json, "\"macs\""));
  g_free(json);
  fr_lsra_eval_result_clear(&r);

  /* stopping, bad files */
  g_assert_false(fr_lsra_eval_run(f->t, &o, stop_now, NULL, &r, &e));
  g_assert_error(e, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error(&e);
  char *bad = g_build_filename(f->dir, "bad.tsv", NULL);
  g_assert_true(g_file_set_contents(bad, "Hello\tHallo\nno tab here\n", -1, NULL));
  char *dev_bad[] = { bad, NULL };
  o.dev = dev_bad;
  g_assert_false(fr_lsra_eval_run(f->t, &o, NULL, NULL, &r, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_FORMAT);
  g_assert_nonnull(strstr(e->message, "line 2"));
  g_clear_error(&e);
  char *missing = g_build_filename(f->dir, "missing.tsv", NULL);
  char *dev_missing[] = { missing, NULL };
  o.dev = dev_missing;
  g_assert_false(fr_lsra_eval_run(f->t, &o, NULL, NULL, &r, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_IO);
  g_clear_error(&e);

  /* as a job, with a cancel: it ends cancelled or (if it was quicker) succeeded, never failed */
  o.dev = dev;
  o.limit = 0;
  o.hyp_dir = NULL;
  FrJob *job = fr_lsra_eval_job_start(f->model_path, f->bpe_path, &o);
  fr_job_cancel(job);
  FrJobStatus st = fr_job_join(job, NULL);
  g_assert_true(st == FR_JOB_CANCELLED || st == FR_JOB_SUCCEEDED);
  fr_job_unref(job);
  o.limit = 2;
  job = fr_lsra_eval_job_start(f->model_path, f->bpe_path, &o);
  g_assert_cmpint(fr_job_join(job, NULL), ==, FR_JOB_SUCCEEDED);
  gboolean got = FALSE;
  FrEvent *ev;
  while ((ev = fr_job_pop_event(job))) {
    if (ev->kind == FR_EVENT_PAYLOAD && !g_strcmp0(ev->payload_type, "lsra.eval.result")) got = TRUE;
    fr_event_free(ev);
  }
  g_assert_true(got);
  fr_job_unref(job);
  job = fr_lsra_eval_job_start("no-such-model", NULL, &o);
  GError *je = NULL;
  g_assert_cmpint(fr_job_join(job, &je), ==, FR_JOB_FAILED);
  g_assert_error(je, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&je);
  fr_job_unref(job);

  g_free(missing);
  g_free(bad);
  g_strfreev(rows);
  g_free(tsv);
  g_strfreev(hl);
  g_free(text);
  g_free(hp);
  g_free(hyp_dir);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  for (int k = 0; k < 3; k++) {
    char *p = g_strdup_printf("/lsra-search/greedy/%s", kind_name[k]);
    g_test_add_data_func(p, GINT_TO_POINTER(k), test_greedy);
    g_free(p);
    p = g_strdup_printf("/lsra-search/exhaustive/%s", kind_name[k]);
    g_test_add_data_func(p, GINT_TO_POINTER(k), test_exhaustive);
    g_free(p);
    p = g_strdup_printf("/lsra-search/beam-vs-greedy/%s", kind_name[k]);
    g_test_add_data_func(p, GINT_TO_POINTER(k), test_beam_vs_greedy);
    g_free(p);
    p = g_strdup_printf("/lsra-search/reference/%s", kind_name[k]);
    g_test_add_data_func(p, GINT_TO_POINTER(k), test_reference);
    g_free(p);
    p = g_strdup_printf("/lsra-search/batch/%s", kind_name[k]);
    g_test_add_data_func(p, GINT_TO_POINTER(k), test_batch);
    g_free(p);
  }
  g_test_add_func("/lsra-search/cancel-and-bad-input", test_cancel_and_bad_input);
  g_test_add("/lsra-search/translate", Fixture, NULL, fixture_setup, test_translate, fixture_teardown);
  g_test_add("/lsra-search/files", Fixture, NULL, fixture_setup, test_files, fixture_teardown);
  g_test_add("/lsra-search/eval", Fixture, NULL, fixture_setup, test_eval, fixture_teardown);
  return g_test_run();
}
