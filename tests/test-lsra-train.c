/* test-lsra-train.c: the translation models' training data and training job (fr-lsra-data.h,
 * fr-lsra-train.h). TSV parsing and the pair filters; token batches (every pair once per epoch, the
 * token budget, determinism from the seed); padded batches as the model expects them; tiny Lite and
 * Transformer models trained on part of the 5,000-pair sample in tests/data/lsra with a BPE learned
 * from it: the loss falls, a run stopped half way and resumed ends with the same weights bit for bit,
 * and bad settings or another run's checkpoint are refused. */
#include "fr-lsra-data.h"
#include "fr-lsra-train.h"
#include "fr-model-io.h"
#include "fr-pool.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "fr-test-util.h"

/* ---- fixtures ---- */

static char *tmp_dir;
static FrLsraBpe *bpe;     /* 600 pieces learned from the sample's first 1,500 pairs */
static char *bpe_path, *train_path, *dev_path;

static char *sample_text(void) {
  char *path = fr_test_data_path("lsra", "sample.en-de.tsv");
  if (!path) return NULL;
  char *text = NULL;
  GError *e = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, &e));
  g_assert_no_error(e);
  g_free(path);
  return text;
}

/* lines [a, b) of text, newline-terminated */
static char *slice_lines(const char *text, int a, int b) {
  char **lines = g_strsplit(text, "\n", -1);
  GString *s = g_string_new(NULL);
  for (int i = a; i < b && lines[i]; i++)
    if (*lines[i]) g_string_append_printf(s, "%s\n", lines[i]);
  g_strfreev(lines);
  return g_string_free(s, FALSE);
}

static gboolean fixtures(void) {
  if (bpe) return TRUE;
  char *text = sample_text();
  if (!text) return FALSE;
  tmp_dir = g_dir_make_tmp("fr-lsra-train-XXXXXX", NULL);
  g_assert_nonnull(tmp_dir);
  FrLsraBpeConfig bc;
  fr_lsra_bpe_config_init(&bc);
  bc.vocab_size = 600;
  FrLsraBpeTrainer *t = fr_lsra_bpe_trainer_new(&bc);
  char *learn = slice_lines(text, 0, 1500);
  char **lines = g_strsplit(learn, "\n", -1);
  for (int i = 0; lines[i]; i++) {
    char **f = g_strsplit(lines[i], "\t", -1);
    for (int j = 0; f[j]; j++) fr_lsra_bpe_trainer_add_text(t, f[j], -1);
    g_strfreev(f);
  }
  g_strfreev(lines);
  g_free(learn);
  GError *e = NULL;
  FrLsraBpeLearnStats st;
  bpe = fr_lsra_bpe_trainer_learn(t, NULL, NULL, &st, &e);
  g_assert_no_error(e);
  fr_lsra_bpe_trainer_free(t);
  bpe_path = g_build_filename(tmp_dir, "bpe.model", NULL);
  g_assert_true(fr_lsra_bpe_save(bpe, bpe_path, &e));
  /* short pairs train fastest: the first 300 of the sample with at most 12 + 12 words */
  GString *train = g_string_new(NULL);
  lines = g_strsplit(text, "\n", -1);
  int n = 0;
  for (int i = 0; lines[i] && n < 300; i++) {
    char **w = g_strsplit_set(lines[i], " \t", -1);
    if (g_strv_length(w) <= 24 && strchr(lines[i], '\t')) {
      g_string_append_printf(train, "%s\n", lines[i]);
      n++;
    }
    g_strfreev(w);
  }
  g_strfreev(lines);
  train_path = g_build_filename(tmp_dir, "train.tsv", NULL);
  g_assert_true(g_file_set_contents(train_path, train->str, (gssize)train->len, &e));
  g_string_free(train, TRUE);
  char *dev = slice_lines(text, 4900, 4960);
  dev_path = g_build_filename(tmp_dir, "dev.tsv", NULL);
  g_assert_true(g_file_set_contents(dev_path, dev, -1, &e));
  g_free(dev);
  g_free(text);
  return TRUE;
}

static void fixtures_free(void) {
  if (!bpe) return;
  fr_lsra_bpe_free(bpe);
  g_unlink(bpe_path);
  g_unlink(train_path);
  g_unlink(dev_path);
  g_rmdir(tmp_dir);
  g_free(bpe_path);
  g_free(train_path);
  g_free(dev_path);
  g_free(tmp_dir);
}

/* ---- data ---- */

static void test_data_parse(void) {
  if (!fixtures()) return;
  GString *s = g_string_new("Hello world\tHallo Welt\r\n\n   \nOpen file\t \nSave\tSpeichern\n");
  /* a 300-word source: too long for the models */
  for (int i = 0; i < 300; i++) g_string_append(s, "word ");
  g_string_append(s, "\tWort\nQuit\tBeenden");   /* no final newline */
  GError *e = NULL;
  FrLsraData *d = fr_lsra_data_from_text(bpe, s->str, s->len, "mem", 0, &e);
  g_assert_no_error(e);
  const FrLsraDataStats *st = fr_lsra_data_stats(d);
  g_assert_cmpint(st->lines, ==, 5);
  g_assert_cmpint(st->kept, ==, 3);
  g_assert_cmpint(st->empty, ==, 1);
  g_assert_cmpint(st->too_long, ==, 1);
  g_assert_cmpint(fr_lsra_data_len(d), ==, 3);
  int n;
  const int32_t *ids = fr_lsra_data_tgt(d, 0, &n);
  GArray *want = fr_lsra_bpe_encode(bpe, "Hallo Welt", -1);
  g_assert_cmpmem(ids, n * 4, want->data, want->len * 4);
  g_array_unref(want);
  ids = fr_lsra_data_src(d, 2, &n);
  want = fr_lsra_bpe_encode(bpe, "Quit", -1);
  g_assert_cmpmem(ids, n * 4, want->data, want->len * 4);
  g_array_unref(want);
  g_assert_cmpint(st->src_tokens + st->tgt_tokens, >, 6);
  /* limit keeps the first usable pairs */
  FrLsraData *d1 = fr_lsra_data_from_text(bpe, s->str, s->len, "mem", 2, &e);
  g_assert_no_error(e);
  g_assert_cmpint(fr_lsra_data_len(d1), ==, 2);
  g_assert_cmpuint(fr_lsra_data_fingerprint(d1), !=, fr_lsra_data_fingerprint(d));
  fr_lsra_data_free(d1);
  fr_lsra_data_free(d);
  g_string_free(s, TRUE);

  /* errors name the line */
  const char *bad[] = { "a\tb\nno tab here\n", "a\tb\tc\n", "\t\n \t \n" };
  const char *msg[] = { "line 2", "line 1", "no usable" };
  for (int i = 0; i < 3; i++) {
    g_assert_null(fr_lsra_data_from_text(bpe, bad[i], strlen(bad[i]), "x.tsv", 0, &e));
    g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
    g_assert_nonnull(strstr(e->message, msg[i]));
    g_assert_nonnull(strstr(e->message, "x.tsv"));
    g_clear_error(&e);
  }
  g_assert_null(fr_lsra_data_load(bpe, "/nonexistent/train.tsv", 0, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_IO);
  g_clear_error(&e);
}

/* Encoding over the pool gives the same data at any thread count. */
static void test_data_threads(void) {
  if (!fixtures()) return;
  char *text = sample_text();
  int old = fr_pool_get_threads();
  fr_pool_set_threads(1);
  FrLsraData *a = fr_lsra_data_from_text(bpe, text, strlen(text), "sample", 0, NULL);
  fr_pool_set_threads(0);
  FrLsraData *b = fr_lsra_data_from_text(bpe, text, strlen(text), "sample", 0, NULL);
  fr_pool_set_threads(old);
  g_assert_cmpint(fr_lsra_data_len(a), ==, 5000);
  g_assert_cmpuint(fr_lsra_data_fingerprint(a), ==, fr_lsra_data_fingerprint(b));
  fr_lsra_data_free(a);
  fr_lsra_data_free(b);
  g_free(text);
}

static void test_batches(void) {
  if (!fixtures()) return;
  char *text = sample_text();
  FrLsraData *d = fr_lsra_data_from_text(bpe, text, strlen(text), "sample", 2000, NULL);
  g_free(text);
  g_assert_nonnull(d);
  const int N = fr_lsra_data_len(d);
  GError *e = NULL;
  g_assert_null(fr_lsra_batches_new(d, 100, 1, &e));
  g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
  g_clear_error(&e);
  const int budget = 512;
  FrLsraBatches *b = fr_lsra_batches_new(d, budget, 7, &e);
  g_assert_no_error(e);
  const int nb = fr_lsra_batches_len(b);
  g_assert_cmpint(nb, >, 5);
  int *seen = g_new0(int, N);
  gint64 tokens = 0, padded = 0;
  for (int k = 0; k < nb; k++) {
    int n;
    const int *p = fr_lsra_batches_get(b, k, &n);
    g_assert_cmpint(n, >=, 1);
    FrLsraBatch *x = fr_lsra_batch_new(d, p, n);
    g_assert_cmpint(x->B, ==, n);
    g_assert_cmpint((gint64)MAX(x->S, x->T) * x->B, <=, budget);
    /* fairseq's rule: one more pair of this batch's length would not have fit... unless it is the last */
    if (k + 1 < nb) {
      int n2;
      const int *q = fr_lsra_batches_get(b, k + 1, &n2);
      int sl, tl;
      fr_lsra_data_src(d, q[0], &sl);
      fr_lsra_data_tgt(d, q[0], &tl);
      g_assert_cmpint((gint64)(n + 1) * MAX(MAX(x->S, x->T), MAX(sl, tl) + 1), >, budget);
    }
    for (int i = 0; i < n; i++) {
      seen[p[i]]++;
      int sl, tl;
      const int32_t *s = fr_lsra_data_src(d, p[i], &sl), *t = fr_lsra_data_tgt(d, p[i], &tl);
      const int32_t *src = x->src + (gint64)i * x->S, *ti = x->tgt_in + (gint64)i * x->T, *to = x->tgt_out + (gint64)i * x->T;
      g_assert_cmpint(x->src_len[i], ==, sl + 1);
      g_assert_cmpmem(src, sl * 4, s, sl * 4);
      g_assert_cmpint(src[sl], ==, FR_LSRA_BPE_EOS);
      for (int j = sl + 1; j < x->S; j++) g_assert_cmpint(src[j], ==, 0);
      g_assert_cmpint(ti[0], ==, FR_LSRA_BPE_EOS);
      g_assert_cmpmem(ti + 1, tl * 4, t, tl * 4);
      g_assert_cmpmem(to, tl * 4, t, tl * 4);
      g_assert_cmpint(to[tl], ==, FR_LSRA_BPE_EOS);
      for (int j = tl + 1; j < x->T; j++) g_assert_cmpint(ti[j] | to[j], ==, 0);
    }
    tokens += fr_lsra_batch_tgt_tokens(x);
    padded += (gint64)x->B * x->T;
    fr_lsra_batch_free(x);
  }
  for (int i = 0; i < N; i++) g_assert_cmpint(seen[i], ==, 1);
  const FrLsraDataStats *st = fr_lsra_data_stats(d);
  g_assert_cmpint(tokens, ==, st->tgt_tokens + N);
  g_assert_cmpfloat((double)tokens / (double)padded, >, 0.6);   /* sorting by length keeps padding low */

  /* every epoch visits every batch once, in an order of its own; the same seed gives the same */
  FrLsraBatches *b2 = fr_lsra_batches_new(d, budget, 7, NULL), *b3 = fr_lsra_batches_new(d, budget, 8, NULL);
  int differ_epoch = 0, differ_seed = 0;
  for (gint64 epoch = 0; epoch < 3; epoch++) {
    memset(seen, 0, sizeof(int) * nb);
    for (int i = 0; i < nb; i++) {
      int k = fr_lsra_batches_at(b, epoch, i);
      seen[k]++;
      g_assert_cmpint(fr_lsra_batches_at(b2, epoch, i), ==, k);
      if (epoch > 0) differ_epoch += fr_lsra_batches_at(b, 0, i) != fr_lsra_batches_at(b, epoch, i);
    }
    for (int k = 0; k < nb; k++) g_assert_cmpint(seen[k], ==, 1);
  }
  g_assert_cmpint(differ_epoch, >, nb / 2);
  for (int k = 0; k < nb; k++) {
    int n1, n2;
    const int *p1 = fr_lsra_batches_get(b, k, &n1), *p2 = fr_lsra_batches_get(b2, k, &n2);
    g_assert_cmpmem(p1, n1 * 4, p2, n2 * 4);
  }
  /* another seed breaks length ties differently */
  for (int k = 0; k < MIN(nb, fr_lsra_batches_len(b3)); k++) {
    int n1, n3;
    const int *p1 = fr_lsra_batches_get(b, k, &n1), *p3 = fr_lsra_batches_get(b3, k, &n3);
    differ_seed += n1 != n3 || memcmp(p1, p3, sizeof(int) * n1);
  }
  g_assert_cmpint(differ_seed, >, 0);
  fr_lsra_batches_free(b3);
  fr_lsra_batches_free(b2);
  fr_lsra_batches_free(b);
  g_free(seen);
  fr_lsra_data_free(d);
}

/* ---- training ---- */

static FrLsraConfig tiny(gboolean lite) {
  FrLsraConfig c = lite ? fr_lsra_config_lite(16) : fr_lsra_config_transformer(16);
  c.name = lite ? "tiny-lite" : "tiny-transformer";
  c.enc_layers = c.dec_layers = 1;
  c.heads = 2;
  if (lite) c.conv_heads = 2;
  else c.ffn_dim = 32;
  return c;
}

typedef struct {
  GArray *loss;      /* per step payload */
  double result[6];
  gboolean have_result;
  int evals;
} Events;

static gboolean run_train(const FrLsraTrainConfig *cfg, Events *ev, GError **error) {
  FrJob *job = fr_job_start("t", fr_lsra_train_job, fr_lsra_train_config_copy(cfg), fr_lsra_train_config_free);
  FrJobStatus st = fr_job_join(job, error);
  FrEvent *e;
  while ((e = fr_job_pop_event(job))) {
    if (ev && e->kind == FR_EVENT_PAYLOAD && !g_strcmp0(e->payload_type, "lsra.train.step")) {
      guint32 step, total;
      double loss, nll, lr, tps, secs;
      g_variant_get(e->payload, "(uuddddd)", &step, &total, &loss, &nll, &lr, &tps, &secs);
      g_assert_true(isfinite(loss) && isfinite(nll) && lr > 0 && tps > 0);
      g_array_append_val(ev->loss, loss);
    } else if (ev && e->kind == FR_EVENT_PAYLOAD && !g_strcmp0(e->payload_type, "lsra.train.eval")) {
      ev->evals++;
    } else if (ev && e->kind == FR_EVENT_PAYLOAD && !g_strcmp0(e->payload_type, "lsra.train.result")) {
      gint64 params;
      double *r = ev->result;
      g_variant_get(e->payload, "(ddddddx)", &r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &params);
      g_assert_cmpint(params, >, 0);
      ev->have_result = TRUE;
    }
    fr_event_free(e);
  }
  fr_job_unref(job);
  return st == FR_JOB_SUCCEEDED;
}

static void base_config(FrLsraTrainConfig *cfg, const FrLsraConfig *arch, const char *out) {
  fr_lsra_train_config_init(cfg);
  cfg->custom = arch;
  cfg->bpe = bpe_path;
  cfg->train = train_path;
  cfg->max_tokens = 256;
  cfg->lr = 3e-3;
  cfg->warmup = 8;
  cfg->threads = 2;
  cfg->output = out;
}

/* A tiny Lite Transformer learns: the loss of the last steps is well below the first ones', and the
 * dev perplexity is finite; the saved model carries the training settings. */
static void test_loss_falls(void) {
  if (!fixtures()) return;
  FrLsraConfig arch = tiny(TRUE);
  char *out = g_build_filename(tmp_dir, "falls.safetensors", NULL);
  FrLsraTrainConfig cfg;
  base_config(&cfg, &arch, out);
  const char *dev[] = { dev_path, NULL };
  cfg.dev = dev;
  cfg.steps = 300;
  cfg.lr = 5e-3;
  cfg.eval_every = 150;
  Events ev = { g_array_new(FALSE, FALSE, sizeof(double)) };
  GError *e = NULL;
  g_assert_true(run_train(&cfg, &ev, &e));
  g_assert_no_error(e);
  g_assert_cmpuint(ev.loss->len, ==, 30);
  double first = g_array_index(ev.loss, double, 0), last = g_array_index(ev.loss, double, ev.loss->len - 1);
  g_test_message("loss %.3f -> %.3f, dev nll %.3f (ppl %.1f)", first, last, ev.result[0], ev.result[1]);
  g_assert_cmpfloat(first, >, log(600.0) - 1.0);   /* starts near uniform over the vocabulary */
  g_assert_cmpfloat(last, <, first - 1.0);
  g_assert_true(ev.have_result);
  g_assert_cmpint(ev.evals, ==, 2);
  g_assert_true(isfinite(ev.result[0]) && ev.result[1] > 1 && ev.result[1] < 600);
  GHashTable *md = NULL;
  FrLsraModel *m = fr_lsra_model_load(out, &md, &e);
  g_assert_no_error(e);
  g_assert_cmpstr(g_hash_table_lookup(md, "steps"), ==, "300");
  g_assert_cmpstr(g_hash_table_lookup(md, "max_tokens"), ==, "256");
  g_assert_cmpstr(g_hash_table_lookup(md, "schedule"), ==, "inverse_sqrt");
  g_assert_nonnull(g_hash_table_lookup(md, "dev_ppl"));
  g_assert_nonnull(g_hash_table_lookup(md, "run"));
  g_assert_cmpint(fr_lsra_model_vocab(m), ==, 600);
  g_hash_table_unref(md);
  fr_lsra_model_free(m);
  g_array_unref(ev.loss);
  g_unlink(out);
  g_free(out);
}

static void assert_same_models(const char *a, const char *b) {
  GError *e = NULL;
  FrLsraModel *ma = fr_lsra_model_load(a, NULL, &e), *mb = fr_lsra_model_load(b, NULL, &e);
  g_assert_no_error(e);
  FrParamSet *pa = fr_lsra_model_params(ma), *pb = fr_lsra_model_params(mb);
  g_assert_cmpint(fr_param_set_len(pa), ==, fr_param_set_len(pb));
  for (int i = 0; i < fr_param_set_len(pa); i++) {
    FrTensor *x = fr_param_set_nth(pa, i), *y = fr_param_set_nth(pb, i);
    g_assert_cmpstr(x->name, ==, y->name);
    g_assert_cmpmem(x->data, fr_tensor_numel(x) * 4, y->data, fr_tensor_numel(y) * 4);
  }
  fr_lsra_model_free(ma);
  fr_lsra_model_free(mb);
}

/* Stopped after 13 of 30 steps (mid-epoch, between checkpoints) and resumed: the same weights bit for bit
 * as a run straight through, for both architectures (dropout, weight dropout, clipping and the cosine
 * schedule on). Another run's checkpoint is refused. */
static void test_resume(void) {
  if (!fixtures()) return;
  for (int lite = 0; lite < 2; lite++) {
    FrLsraConfig arch = tiny(lite);
    char *a = g_build_filename(tmp_dir, "a.safetensors", NULL), *b = g_build_filename(tmp_dir, "b.safetensors", NULL);
    char *bck = g_strconcat(b, ".ckpt", NULL), *ack = g_strconcat(a, ".ckpt", NULL);
    FrLsraTrainConfig cfg;
    base_config(&cfg, &arch, a);
    cfg.steps = 30;
    cfg.checkpoint_every = 10;
    cfg.clip_norm = 1.0;
    cfg.schedule = FR_LSRA_SCHED_COSINE;
    cfg.train_limit = 120;   /* a few batches: the run crosses epochs */
    GError *e = NULL;
    g_assert_true(run_train(&cfg, NULL, &e));
    g_assert_no_error(e);
    cfg.output = b;
    cfg.stop_after = 13;
    g_assert_true(run_train(&cfg, NULL, &e));
    g_assert_no_error(e);
    g_assert_false(g_file_test(b, G_FILE_TEST_EXISTS));   /* stopped: only the checkpoint */
    g_assert_true(g_file_test(bck, G_FILE_TEST_EXISTS));
    cfg.stop_after = 0;
    cfg.resume = TRUE;
    g_assert_true(run_train(&cfg, NULL, &e));
    g_assert_no_error(e);
    assert_same_models(a, b);
    /* other settings: refused */
    cfg.lr = 1e-3;
    g_assert_false(run_train(&cfg, NULL, &e));
    g_assert_error(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
    g_assert_nonnull(strstr(e->message, "different run"));
    g_clear_error(&e);
    g_unlink(a), g_unlink(b), g_unlink(ack), g_unlink(bck);
    g_free(a), g_free(b), g_free(ack), g_free(bck);
  }
}

static void test_bad_settings(void) {
  if (!fixtures()) return;
  char *out = g_build_filename(tmp_dir, "bad.safetensors", NULL);
  FrLsraTrainConfig cfg;
  base_config(&cfg, NULL, out);
  cfg.model = "lite-huge";
  GError *e = NULL;
  g_assert_false(run_train(&cfg, NULL, &e));
  g_assert_error(e, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull(strstr(e->message, "lite-huge"));
  g_clear_error(&e);
  cfg.model = "lite";
  cfg.steps = 0;
  g_assert_false(run_train(&cfg, NULL, &e));
  g_assert_error(e, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&e);
  cfg.steps = 10;
  cfg.max_tokens = 64;
  g_assert_false(run_train(&cfg, NULL, &e));
  g_assert_error(e, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&e);
  cfg.max_tokens = 256;
  cfg.train = "/nonexistent/train.tsv";
  g_assert_false(run_train(&cfg, NULL, &e));
  g_assert_nonnull(strstr(e->message, "/nonexistent/train.tsv"));
  g_clear_error(&e);
  cfg.train = train_path;
  cfg.bpe = train_path;   /* not a BPE model */
  g_assert_false(run_train(&cfg, NULL, &e));
  g_assert_error(e, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE);
  g_clear_error(&e);
  g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
  g_free(out);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/lsra-train/data-parse", test_data_parse);
  g_test_add_func("/lsra-train/data-threads", test_data_threads);
  g_test_add_func("/lsra-train/batches", test_batches);
  g_test_add_func("/lsra-train/loss-falls", test_loss_falls);
  g_test_add_func("/lsra-train/resume", test_resume);
  g_test_add_func("/lsra-train/bad-settings", test_bad_settings);
  int rc = g_test_run();
  fixtures_free();
  return rc;
}
