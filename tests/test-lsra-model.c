/* The translation models (engine/lsra/fr-lsra-model.h, fr-lsra-ops.h): the attention op against a
 * float64 loop and finite differences, the token loss against the engine's cross-entropy, whole-model
 * gradients against finite differences for both architectures, the incremental decoder against the
 * teacher-forced forward (with a beam reorder), files, and the mobile configs' Mult-Adds. */
#include "fr-lsra-model.h"
#include "fr-lsra-bpe.h"
#include "fr-lsra-ops.h"
#include "fr-ops.h"
#include "fr-optim.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static FrTensor *rand_param(const char *name, int64_t a, int64_t b, int64_t c, FrRng *r) {
  FrTensor *t = fr_param_new(name, 3, FR_SHAPE(a, b, c));
  fr_rng_fill_uniform(r, t->data, fr_tensor_numel(t), -1, 1);
  return t;
}

/* ---- attention ---- */

static void naive_mha(const FrTensor *q, const FrTensor *k, const FrTensor *v, int H, const int32_t *len, bool causal,
                      double *out) {
  int64_t B = q->shape[0], Tq = q->shape[1], Tk = k->shape[1], A = q->shape[2], D = A / H;
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t i = 0; i < Tq; i++) {
        double s[64], mx = -INFINITY, sum = 0;
        int64_t n = len ? len[b] : Tk;
        if (causal && i + 1 < n) n = i + 1;
        for (int64_t j = 0; j < n; j++) {
          s[j] = 0;
          for (int64_t e = 0; e < D; e++)
            s[j] += (double)q->data[(b * Tq + i) * A + h * D + e] * k->data[(b * Tk + j) * A + h * D + e];
          s[j] /= sqrt((double)D);
          mx = fmax(mx, s[j]);
        }
        for (int64_t j = 0; j < n; j++) sum += s[j] = exp(s[j] - mx);
        for (int64_t e = 0; e < D; e++) {
          double acc = 0;
          for (int64_t j = 0; j < n; j++) acc += s[j] / sum * v->data[(b * Tk + j) * A + h * D + e];
          out[(b * Tq + i) * A + h * D + e] = acc;
        }
      }
}

/* loss = sum(w * mha(q, k, v)) with fixed random w */
static double mha_loss(FrTensor *q, FrTensor *k, FrTensor *v, int H, const int32_t *len, bool causal, const float *w,
                       bool backward) {
  FrGraph *g = fr_graph_new(0);
  FrTensor *y = fr_lsra_mha(g, q, k, v, H, len, causal, NULL);
  FrTensor *wt = fr_tensor_from_data(g, 3, y->shape, w);
  FrTensor *loss = fr_sum(g, fr_mul(g, y, wt));
  double val = loss->data[0];
  if (backward) fr_graph_backward(g, loss);
  fr_graph_free(g);
  return val;
}

static void test_mha(gconstpointer data) {
  const bool causal = GPOINTER_TO_INT(data);
  FrRng r;
  fr_rng_seed(&r, 7);
  const int B = 2, T = 5, A = 8, H = 2;
  FrTensor *q = rand_param("q", B, T, A, &r), *k = rand_param("k", B, T, A, &r), *v = rand_param("v", B, T, A, &r);
  int32_t len[2] = { 5, 3 };
  const int32_t *lens = causal ? NULL : len;
  FrGraph *g = fr_graph_new(0);
  FrTensor *y = fr_lsra_mha(g, q, k, v, H, lens, causal, NULL);
  double want[B * T * A];
  naive_mha(q, k, v, H, lens, causal, want);
  for (int i = 0; i < B * T * A; i++) g_assert_cmpfloat_with_epsilon(y->data[i], want[i], 1e-5);
  fr_graph_free(g);

  float w[B * T * A];
  fr_rng_fill_uniform(&r, w, B * T * A, -1, 1);
  FrTensor *ps[3] = { q, k, v };
  for (int p = 0; p < 3; p++) fr_param_zero_grad(ps[p]);
  mha_loss(q, k, v, H, lens, causal, w, true);
  for (int p = 0; p < 3; p++)
    for (int i = 0; i < B * T * A; i++) {
      float save = ps[p]->data[i];
      const float h = 1e-2f;
      ps[p]->data[i] = save + h;
      double up = mha_loss(q, k, v, H, lens, causal, w, false);
      ps[p]->data[i] = save - h;
      double down = mha_loss(q, k, v, H, lens, causal, w, false);
      ps[p]->data[i] = save;
      double fd = (up - down) / (2 * h);
      g_assert_cmpfloat_with_epsilon(ps[p]->grad[i], fd, 2e-3 + 2e-3 * fabs(fd));
    }
  for (int p = 0; p < 3; p++) fr_param_free(ps[p]);
}

/* ---- token loss ---- */

static void test_token_loss(void) {
  FrRng r;
  fr_rng_seed(&r, 3);
  const int N = 7, V = 11;
  FrTensor *x = fr_param_new("x", 2, FR_SHAPE(N, V));
  fr_rng_fill_uniform(&r, x->data, N * V, -3, 3);
  int32_t labels[N];
  for (int i = 0; i < N; i++) labels[i] = (int32_t)fr_rng_below(&r, V);
  float gx_ref[N * V];
  double ref[2] = { 0, 0 }, nll_ref = 0;
  for (int pass = 0; pass < 2; pass++) {
    fr_param_zero_grad(x);
    FrGraph *g = fr_graph_new(0);
    double nll = 0;
    FrTensor *loss = pass ? fr_lsra_token_loss(g, x, labels, 0.1f, &nll) : fr_cross_entropy(g, x, labels, 0.1f);
    ref[pass] = loss->data[0];
    fr_graph_backward(g, loss);
    if (!pass) memcpy(gx_ref, x->grad, sizeof gx_ref);
    else
      for (int i = 0; i < N * V; i++) g_assert_cmpfloat_with_epsilon(x->grad[i], gx_ref[i], 1e-6);
    if (pass) nll_ref = nll;
    fr_graph_free(g);
  }
  g_assert_cmpfloat_with_epsilon(ref[1], ref[0], 1e-5);
  /* the unsmoothed NLL against a float64 loop */
  double want = 0;
  for (int i = 0; i < N; i++) {
    double mx = -INFINITY, s = 0;
    for (int j = 0; j < V; j++) mx = fmax(mx, x->data[i * V + j]);
    for (int j = 0; j < V; j++) s += exp(x->data[i * V + j] - mx);
    want += mx + log(s) - x->data[i * V + labels[i]];
  }
  g_assert_cmpfloat_with_epsilon(nll_ref, want, 1e-4);
  fr_param_free(x);
}

/* ---- whole models ---- */

static FrLsraConfig tiny_config(FrLsraArch arch, FrLsraConvKind conv) {
  FrLsraConfig c = arch == FR_LSRA_ARCH_LITE ? fr_lsra_config_lite(16) : fr_lsra_config_transformer(16);
  c.name = arch == FR_LSRA_ARCH_LITE ? "tiny-lite" : "tiny-transformer";
  c.enc_layers = c.dec_layers = 2;
  c.heads = 2;
  c.ffn_dim = arch == FR_LSRA_ARCH_LITE ? 16 : 24;
  if (arch == FR_LSRA_ARCH_LITE) {
    c.attn_dim = 8;
    c.conv_heads = 2;
    c.conv = conv;
    c.glu = conv == FR_LSRA_CONV_DYNAMIC;
    c.enc_kernels[0] = 3, c.enc_kernels[1] = 5;
    c.dec_kernels[0] = 3, c.dec_kernels[1] = 4;
  }
  c.src_vocab = c.tgt_vocab = 13;
  c.share_all = true;
  return c;
}

/* Two pairs: lengths 4 (+</s>) and 2 (+</s>) on the source, 3 and 5 on the target. */
typedef struct {
  int32_t src[2 * 5], src_len[2], tin[2 * 6], tout[2 * 6];
  FrLsraBatch b;
} TinyBatch;

static void tiny_batch(TinyBatch *t) {
  const int32_t src[10] = { 5, 6, 7, 8, 3, 9, 10, 3, 0, 0 };
  const int32_t tout[12] = { 11, 12, 4, 3, 0, 0, 4, 5, 6, 7, 8, 3 };
  memcpy(t->src, src, sizeof src);
  memcpy(t->tout, tout, sizeof tout);
  t->src_len[0] = 5;
  t->src_len[1] = 3;
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < 6; i++) {
      int32_t prev = i == 0 ? FR_LSRA_BPE_EOS : tout[b * 6 + i - 1];
      t->tin[b * 6 + i] = (i > 0 && tout[b * 6 + i - 1] == FR_LSRA_BPE_EOS) || (i > 0 && tout[b * 6 + i - 1] == 0) ? 0 : prev;
    }
  t->b = (FrLsraBatch){ 2, 5, 6, t->src, t->src_len, t->tin, t->tout };
}

static double model_loss(FrLsraModel *m, const FrLsraBatch *b, bool backward, double *nll, int64_t *n) {
  FrLsraTrainOpts o;
  fr_lsra_train_opts_init(&o);
  o.dropout = o.weight_dropout = 0;
  FrGraph *g = fr_graph_new(0);
  FrTensor *loss = fr_lsra_model_loss(g, m, b, &o, nll, n);
  double v = loss->data[0];
  if (backward) fr_graph_backward(g, loss);
  fr_graph_free(g);
  return v;
}

static FrLsraModel *tiny_model(int kind) {
  FrLsraConfig c = kind == 0 ? tiny_config(FR_LSRA_ARCH_TRANSFORMER, 0)
                 : tiny_config(FR_LSRA_ARCH_LITE, kind == 1 ? FR_LSRA_CONV_DYNAMIC : FR_LSRA_CONV_LIGHTWEIGHT);
  GError *e = NULL;
  FrLsraModel *m = fr_lsra_model_new(&c, &e);
  g_assert_no_error(e);
  fr_lsra_model_init(m, 11);
  /* layer norms and biases away from their initial 1 / 0 so that their gradients are checked too */
  FrRng r;
  fr_rng_seed(&r, 5);
  FrParamSet *ps = fr_lsra_model_params(m);
  for (int i = 0; i < fr_param_set_len(ps); i++) {
    FrTensor *t = fr_param_set_nth(ps, i);
    if (t->ndim == 1)
      for (int64_t j = 0; j < fr_tensor_numel(t); j++) t->data[j] += 0.2f * (float)fr_rng_uniform(&r) - 0.1f;
  }
  return m;
}

static void test_model_grad(gconstpointer data) {
  FrLsraModel *m = tiny_model(GPOINTER_TO_INT(data));
  TinyBatch tb;
  tiny_batch(&tb);
  FrParamSet *ps = fr_lsra_model_params(m);
  for (int i = 0; i < fr_param_set_len(ps); i++) fr_param_zero_grad(fr_param_set_nth(ps, i));
  int64_t n = 0;
  model_loss(m, &tb.b, true, NULL, &n);
  g_assert_cmpint(n, ==, 4 + 6);
  /* a few entries of every tensor, in float32: central differences with a loose tolerance */
  FrRng r;
  fr_rng_seed(&r, 9);
  int checked = 0, bad = 0;
  for (int i = 0; i < fr_param_set_len(ps); i++) {
    FrTensor *t = fr_param_set_nth(ps, i);
    for (int rep = 0; rep < 3; rep++) {
      int64_t j = (int64_t)fr_rng_below(&r, (uint64_t)fr_tensor_numel(t));
      if (!strcmp(t->name, "embed") && j < fr_lsra_model_config(m)->d_model) continue; /* <pad> row: never used */
      float save = t->data[j];
      const float h = 5e-3f;
      t->data[j] = save + h;
      double up = model_loss(m, &tb.b, false, NULL, NULL);
      t->data[j] = save - h;
      double down = model_loss(m, &tb.b, false, NULL, NULL);
      t->data[j] = save;
      double fd = (up - down) / (2 * h), an = t->grad[j];
      checked++;
      if (fabs(fd - an) > 3e-3 + 3e-2 * fabs(fd)) {
        bad++;
        g_test_message("%s[%" G_GINT64_FORMAT "]: analytic %g, numeric %g", t->name, j, an, fd);
      }
    }
  }
  g_test_message("%d gradient entries checked", checked);
  g_assert_cmpint(bad, ==, 0);
  fr_lsra_model_free(m);
}

/* The decoder's step-by-step log-probabilities equal the teacher-forced forward's. */
static void test_decoder_matches_forward(gconstpointer data) {
  FrLsraModel *m = tiny_model(GPOINTER_TO_INT(data));
  TinyBatch tb;
  tiny_batch(&tb);
  double nll_ref = 0;
  int64_t n = 0;
  FrLsraBatch one = tb.b;
  const int V = fr_lsra_model_vocab(m);
  for (int s = 0; s < 2; s++) {
    /* forward of sentence s alone (padding must not matter, so compare against the batch too) */
    one.B = 1;
    one.src = tb.src + s * 5;
    one.src_len = tb.src_len + s;
    one.tgt_in = tb.tin + s * 6;
    one.tgt_out = tb.tout + s * 6;
    FrLsraTrainOpts o;
    fr_lsra_train_opts_init(&o);
    o.label_smoothing = 0;
    double nll = 0;
    FrGraph *g = fr_graph_new(0);
    g->grad_enabled = false;
    g->training = false;
    fr_lsra_model_loss(g, m, &one, &o, &nll, &n);
    fr_graph_free(g);
    nll_ref += nll;

    /* the decoder, beam 2: hypothesis 0 gets the target, hypothesis 1 junk; reorder so that both carry
     * the target from step 2 on, and both must then give the forward's probabilities */
    const int32_t *src = tb.src + s * 5;
    int len = tb.src_len[s] - 1;
    GError *e = NULL;
    FrLsraDecoder *d = fr_lsra_decoder_new(m, 1, &src, &len, 2, 8, &e);
    g_assert_no_error(e);
    float *lp = g_new(float, 2 * V);
    double got = 0;
    for (int t = 0; t < 6 && one.tgt_out[t]; t++) {
      int32_t tok[2] = { one.tgt_in[t], t < 2 ? 9 : one.tgt_in[t] };
      g_assert_true(fr_lsra_decoder_step(d, tok, lp));
      got -= lp[one.tgt_out[t]];
      if (t >= 2) g_assert_cmpfloat_with_epsilon(lp[V + one.tgt_out[t]], lp[one.tgt_out[t]], 1e-4);
      if (t == 1) {
        const int32_t order[2] = { 0, 0 };
        fr_lsra_decoder_reorder(d, order);
      }
    }
    float cross[8];
    fr_lsra_decoder_cross_attention(d, 0, -1, cross);
    double sum = 0;
    for (int j = 0; j < tb.src_len[s]; j++) sum += cross[j];
    g_assert_cmpfloat_with_epsilon(sum, 1.0, 1e-4);
    g_assert_cmpfloat_with_epsilon(got, nll, 1e-3);
    g_free(lp);
    fr_lsra_decoder_free(d);
  }
  /* the padded batch gives the same summed NLL as the sentences alone */
  FrLsraTrainOpts o;
  fr_lsra_train_opts_init(&o);
  o.label_smoothing = 0;
  double nll = 0;
  FrGraph *g = fr_graph_new(0);
  g->grad_enabled = false;
  g->training = false;
  fr_lsra_model_loss(g, m, &tb.b, &o, &nll, &n);
  fr_graph_free(g);
  g_assert_cmpfloat_with_epsilon(nll, nll_ref, 1e-3);
  fr_lsra_model_free(m);
}

/* Dropping and shuffling hypotheses mid-search (fr_lsra_decoder_select, as search does when sentences
 * finish): the kept rows go on exactly as they would have in the full decoder, across sentences. */
static void test_decoder_select(gconstpointer data) {
  FrLsraModel *m = tiny_model(GPOINTER_TO_INT(data));
  const int V = fr_lsra_model_vocab(m);
  const int32_t s0[3] = { 5, 6, 7 }, s1[2] = { 9, 10 };
  const int32_t *src[2] = { s0, s1 };
  const int len[2] = { 3, 2 };
  FrLsraDecoder *full = fr_lsra_decoder_new(m, 2, src, len, 2, 8, NULL);
  FrLsraDecoder *sel = fr_lsra_decoder_new(m, 2, src, len, 2, 8, NULL);
  g_assert_nonnull(full);
  g_assert_nonnull(sel);
  float *lf = g_new(float, 4 * V), *ls = g_new(float, 4 * V);
  /* two steps with four different histories */
  for (int t = 0; t < 2; t++) {
    const int32_t tok[4] = { t ? 4 : 3, t ? 5 : 3, t ? 6 : 3, t ? 7 : 3 };
    g_assert_true(fr_lsra_decoder_step(full, tok, lf));
    g_assert_true(fr_lsra_decoder_step(sel, tok, ls));
  }
  /* keep sentence 1's second hypothesis and sentence 0's second, in that order */
  const int32_t rows[2] = { 3, 1 };
  fr_lsra_decoder_select(sel, rows, 2);
  g_assert_cmpint(fr_lsra_decoder_n_hyp(sel), ==, 2);
  for (int t = 2; t < 6; t++) {
    const int32_t tf[4] = { 8, (int32_t)(4 + t), 9, (int32_t)(5 + t) }, ts[2] = { tf[3], tf[1] };
    g_assert_true(fr_lsra_decoder_step(full, tf, lf));
    g_assert_true(fr_lsra_decoder_step(sel, ts, ls));
    for (int r = 0; r < 2; r++)
      for (int v = 0; v < V; v++) g_assert_cmpfloat_with_epsilon(ls[r * V + v], lf[rows[r] * V + v], 1e-5);
  }
  float cf[4], cs[4];
  fr_lsra_decoder_cross_attention(full, 3, -1, cf);
  fr_lsra_decoder_cross_attention(sel, 0, -1, cs);
  for (int j = 0; j < 3; j++) g_assert_cmpfloat_with_epsilon(cs[j], cf[j], 1e-6);
  g_free(lf);
  g_free(ls);
  fr_lsra_decoder_free(full);
  fr_lsra_decoder_free(sel);
  fr_lsra_model_free(m);
}

/* The output projection's kernels (one hypothesis: sgemv; 2-4, 5-8 and more: 4, 8 and 16 lanes, with
 * the vocabulary's tail block) all give the one-hypothesis decoder's log-probabilities. */
static void test_decoder_widths(gconstpointer data) {
  FrLsraModel *m = tiny_model(GPOINTER_TO_INT(data));
  const int V = fr_lsra_model_vocab(m);
  const int32_t s0[3] = { 5, 6, 7 };
  const int32_t *src = s0;
  const int len = 3, widths[] = { 2, 3, 4, 6, 8, 12, 20 };
  FrLsraDecoder *one = fr_lsra_decoder_new(m, 1, &src, &len, 1, 6, NULL);
  float *l1 = g_new(float, 6 * V);
  for (int t = 0; t < 6; t++) {
    const int32_t tok = t ? 4 + t : 3;
    g_assert_true(fr_lsra_decoder_step(one, &tok, l1 + t * V));
  }
  for (size_t w = 0; w < G_N_ELEMENTS(widths); w++) {
    const int N = widths[w];
    FrLsraDecoder *d = fr_lsra_decoder_new(m, 1, &src, &len, N, 6, NULL);
    float *lp = g_new(float, N * V);
    int32_t *tok = g_new(int32_t, N);
    for (int t = 0; t < 6; t++) {
      for (int h = 0; h < N; h++) tok[h] = t ? 4 + t : 3;
      g_assert_true(fr_lsra_decoder_step(d, tok, lp));
      for (int h = 0; h < N; h++)
        for (int v = 0; v < V; v++) g_assert_cmpfloat_with_epsilon(lp[h * V + v], l1[t * V + v], 1e-5);
    }
    g_free(tok);
    g_free(lp);
    fr_lsra_decoder_free(d);
  }
  g_free(l1);
  fr_lsra_decoder_free(one);
  fr_lsra_model_free(m);
}

static void test_overfit(gconstpointer data) {
  FrLsraModel *m = tiny_model(GPOINTER_TO_INT(data));
  TinyBatch tb;
  tiny_batch(&tb);
  FrOptimConfig oc = fr_optim_config_adam(0, false);
  int np;
  FrTensor **params = fr_param_set_trainable(fr_lsra_model_params(m), &np);
  FrOptim *opt = fr_optim_new(&oc, params, np);
  double first = 0, last = 0;
  for (int step = 0; step < 150; step++) {
    fr_optim_zero_grad(opt);
    double l = model_loss(m, &tb.b, true, NULL, NULL);
    fr_optim_step(opt, 3e-3f);
    if (!step) first = l;
    last = l;
  }
  g_test_message("loss %.3f -> %.3f", first, last);
  g_assert_cmpfloat(last, <, 0.5 * first);
  /* greedy decoding now reproduces the memorised targets */
  const int V = fr_lsra_model_vocab(m);
  for (int s = 0; s < 2; s++) {
    const int32_t *src = tb.src + s * 5;
    int len = tb.src_len[s] - 1;
    FrLsraDecoder *d = fr_lsra_decoder_new(m, 1, &src, &len, 1, 8, NULL);
    float *lp = g_new(float, V);
    int32_t tok = FR_LSRA_BPE_EOS;
    for (int t = 0; t < 6 && tb.tout[s * 6 + t]; t++) {
      fr_lsra_decoder_step(d, &tok, lp);
      int best = 0;
      for (int j = 1; j < V; j++) best = lp[j] > lp[best] ? j : best;
      g_assert_cmpint(best, ==, tb.tout[s * 6 + t]);
      tok = best;
    }
    g_free(lp);
    fr_lsra_decoder_free(d);
  }
  fr_optim_free(opt);
  fr_lsra_model_free(m);
}

static void test_files(void) {
  FrLsraModel *m = tiny_model(1);
  char *dir = g_dir_make_tmp("lsra-model-XXXXXX", NULL), *path = g_build_filename(dir, "m.safetensors", NULL);
  GError *e = NULL;
  const char *extra[] = { "steps", "42", NULL };
  g_assert_true(fr_lsra_model_save(m, path, extra, &e));
  g_assert_no_error(e);
  GHashTable *md = NULL;
  FrLsraModel *back = fr_lsra_model_load(path, &md, &e);
  g_assert_no_error(e);
  g_assert_cmpstr(g_hash_table_lookup(md, "steps"), ==, "42");
  g_hash_table_unref(md);
  const FrLsraConfig *a = fr_lsra_model_config(m), *b = fr_lsra_model_config(back);
  g_assert_cmpstr(a->name, ==, b->name);
  g_assert_true(a->arch == b->arch && a->d_model == b->d_model && a->attn_dim == b->attn_dim &&
                a->conv == b->conv && a->glu == b->glu && a->dec_kernels[1] == b->dec_kernels[1]);
  g_assert_cmpfloat(fr_lsra_mult_adds(a), ==, fr_lsra_mult_adds(b));
  TinyBatch tb;
  tiny_batch(&tb);
  g_assert_cmpfloat(model_loss(m, &tb.b, false, NULL, NULL), ==, model_loss(back, &tb.b, false, NULL, NULL));
  fr_lsra_model_free(back);

  /* not a model, truncated */
  char *bad = g_build_filename(dir, "bad.safetensors", NULL);
  g_file_set_contents(bad, "garbage", -1, NULL);
  g_assert_null(fr_lsra_model_load(bad, NULL, &e));
  g_assert_nonnull(e);
  g_clear_error(&e);
  gchar *bytes;
  gsize len;
  g_file_get_contents(path, &bytes, &len, NULL);
  g_file_set_contents(bad, bytes, (gssize)(len / 2), NULL);
  g_assert_null(fr_lsra_model_load(bad, NULL, &e));
  g_assert_nonnull(e);
  g_clear_error(&e);
  g_free(bytes);
  g_remove(bad);
  g_remove(path);
  g_rmdir(dir);
  g_free(bad);
  g_free(path);
  g_free(dir);
  fr_lsra_model_free(m);
}

static void test_bad_input(void) {
  FrLsraModel *m = tiny_model(0);
  GError *e = NULL;
  int32_t ids[2] = { 5, 99 };
  const int32_t *src = ids;
  int len = 2;
  g_assert_null(fr_lsra_decoder_new(m, 1, &src, &len, 1, 8, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
  g_clear_error(&e);
  len = FR_LSRA_MAX_TOKENS;
  g_assert_null(fr_lsra_model_inspect(m, src, len, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
  g_clear_error(&e);
  FrLsraConfig c = tiny_config(FR_LSRA_ARCH_LITE, FR_LSRA_CONV_DYNAMIC);
  c.attn_dim = 7;
  g_assert_null(fr_lsra_model_new(&c, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
  g_clear_error(&e);
  /* an empty source is fine: the encoder sees </s> alone */
  len = 0;
  FrLsraDecoder *d = fr_lsra_decoder_new(m, 1, &src, &len, 1, 2, &e);
  g_assert_no_error(e);
  float lp[13];
  int32_t tok = FR_LSRA_BPE_EOS;
  g_assert_true(fr_lsra_decoder_step(d, &tok, lp));
  g_assert_true(fr_lsra_decoder_step(d, &tok, lp));
  g_assert_false(fr_lsra_decoder_step(d, &tok, lp)); /* max steps */
  fr_lsra_decoder_free(d);
  fr_lsra_model_free(m);
}

static void test_inspect(void) {
  for (int kind = 0; kind < 3; kind++) {
    FrLsraModel *m = tiny_model(kind);
    int32_t ids[4] = { 5, 6, 7, 8 };
    GError *e = NULL;
    FrLsraInspect *in = fr_lsra_model_inspect(m, ids, 4, &e);
    g_assert_no_error(e);
    g_assert_cmpint(in->S, ==, 5);
    g_assert_cmpint(in->layers, ==, 2);
    for (int l = 0; l < in->layers; l++)
      for (int h = 0; h < in->attn_heads; h++)
        for (int i = 0; i < in->S; i++) {
          double s = 0;
          for (int j = 0; j < in->S; j++) s += in->attn[((l * in->attn_heads + h) * in->S + i) * in->S + j];
          g_assert_cmpfloat_with_epsilon(s, 1.0, 1e-5);
        }
    if (kind == 0) {
      g_assert_null(in->kernels);
    } else {
      g_assert_cmpint(in->max_k, ==, 5);
      for (int l = 0; l < in->layers; l++)
        for (int t = 0; t < in->S; t++)
          for (int h = 0; h < in->conv_heads; h++) {
            const float *k = in->kernels + ((l * in->S + t) * in->conv_heads + h) * in->max_k;
            double s = 0;
            for (int j = 0; j < in->max_k; j++) {
              if (j >= in->kernel_size[l]) g_assert_cmpfloat(k[j], ==, 0);
              s += k[j];
            }
            g_assert_cmpfloat_with_epsilon(s, 1.0, 1e-5);
          }
    }
    fr_lsra_inspect_free(in);
    fr_lsra_model_free(m);
  }
}

/* The four mobile configs: two budgets, Transformer and Lite matched within 5 % at each. */
static void test_mobile_configs(void) {
  double macs[4];
  int i = 0;
  for (const char *const *n = fr_lsra_mobile_names(); *n; n++, i++) {
    FrLsraConfig c;
    g_assert_true(fr_lsra_config_mobile(*n, 8000, &c));
    g_assert_true(fr_lsra_config_validate(&c, NULL));
    macs[i] = fr_lsra_mult_adds(&c);
    g_test_message("%s: %.2fM Mult-Adds, %.2fM body parameters", *n, macs[i] / 1e6, fr_lsra_params(&c).body / 1e6);
  }
  g_assert_cmpint(i, ==, 4);
  g_assert_cmpfloat(fabs(macs[1] / macs[0] - 1), <, 0.05);
  g_assert_cmpfloat(fabs(macs[3] / macs[2] - 1), <, 0.05);
  g_assert_cmpfloat(macs[0], >, 12e6);
  g_assert_cmpfloat(macs[0], <, 18e6);
  g_assert_cmpfloat(macs[2], >, 35e6);
  g_assert_cmpfloat(macs[2], <, 50e6);
  FrLsraConfig c;
  g_assert_false(fr_lsra_config_mobile("nope", 8000, &c));
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_data_func("/lsra-model/mha/padded", GINT_TO_POINTER(0), test_mha);
  g_test_add_data_func("/lsra-model/mha/causal", GINT_TO_POINTER(1), test_mha);
  g_test_add_func("/lsra-model/token-loss", test_token_loss);
  const char *kinds[3] = { "transformer", "lite-dynamic", "lite-lightweight" };
  for (int k = 0; k < 3; k++) {
    char *p = g_strdup_printf("/lsra-model/grad/%s", kinds[k]);
    g_test_add_data_func(p, GINT_TO_POINTER(k), test_model_grad);
    g_free(p);
    p = g_strdup_printf("/lsra-model/decoder/%s", kinds[k]);
    g_test_add_data_func(p, GINT_TO_POINTER(k), test_decoder_matches_forward);
    g_free(p);
    p = g_strdup_printf("/lsra-model/decoder-select/%s", kinds[k]);
    g_test_add_data_func(p, GINT_TO_POINTER(k), test_decoder_select);
    g_free(p);
    p = g_strdup_printf("/lsra-model/decoder-widths/%s", kinds[k]);
    g_test_add_data_func(p, GINT_TO_POINTER(k), test_decoder_widths);
    g_free(p);
    p = g_strdup_printf("/lsra-model/overfit/%s", kinds[k]);
    g_test_add_data_func(p, GINT_TO_POINTER(k), test_overfit);
    g_free(p);
  }
  g_test_add_func("/lsra-model/files", test_files);
  g_test_add_func("/lsra-model/bad-input", test_bad_input);
  g_test_add_func("/lsra-model/inspect", test_inspect);
  g_test_add_func("/lsra-model/mobile-configs", test_mobile_configs);
  return g_test_run();
}
