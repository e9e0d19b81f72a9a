/* fr-lsra-train.c: the translation models' training job (fr-lsra-train.h). */
#include "fr-lsra-train.h"
#include "fr-checkpoint.h"
#include "fr-lsra-bpe.h"
#include "fr-model-io.h"
#include "fr-optim.h"
#include "fr-pool.h"
#include "fr-safetensors.h"

#include <math.h>
#include <string.h>

#define CKPT_FORMAT "frontier-lsra-checkpoint"
#define WINDOW 20

void fr_lsra_train_config_init(FrLsraTrainConfig *cfg) {
  *cfg = (FrLsraTrainConfig){ .dev_limit = 200, .steps = 20000, .max_tokens = 4096, .lr = 1e-3, .warmup = 1000,
                              .schedule = FR_LSRA_SCHED_INVSQRT, .min_lr = 1e-7, .beta1 = 0.9, .beta2 = 0.98,
                              .eps = 1e-8, .seed = 1, .checkpoint_every = 200, .eval_every = 1000 };
  fr_lsra_train_opts_init(&cfg->opts);
}

FrLsraTrainConfig *fr_lsra_train_config_copy(const FrLsraTrainConfig *cfg) {
  FrLsraTrainConfig *c = g_memdup2(cfg, sizeof *cfg);
  c->model = g_strdup(cfg->model);
  if (cfg->custom) {
    FrLsraConfig *a = g_memdup2(cfg->custom, sizeof *cfg->custom);
    a->name = g_strdup(cfg->custom->name);
    c->custom = a;
  }
  c->bpe = g_strdup(cfg->bpe);
  c->train = g_strdup(cfg->train);
  c->dev = cfg->dev ? (const char *const *)g_strdupv((char **)cfg->dev) : NULL;
  c->output = g_strdup(cfg->output);
  c->checkpoint = g_strdup(cfg->checkpoint);
  return c;
}

void fr_lsra_train_config_free(gpointer data) {
  FrLsraTrainConfig *c = data;
  if (!c) return;
  g_free((char *)c->model);
  if (c->custom) {
    g_free((char *)c->custom->name);
    g_free((FrLsraConfig *)c->custom);
  }
  g_free((char *)c->bpe);
  g_free((char *)c->train);
  g_strfreev((char **)c->dev);
  g_free((char *)c->output);
  g_free((char *)c->checkpoint);
  g_free(c);
}

/* ---- dev loss ---- */

double fr_lsra_dev_nll(FrLsraModel *m, const FrLsraData *data, int max_tokens, gint64 *n_tokens) {
  FrLsraBatches *bs = fr_lsra_batches_new(data, MAX(max_tokens, FR_LSRA_MAX_TOKENS), 0, NULL);
  FrGraph *g = fr_graph_new(0);
  g->training = false;
  g->grad_enabled = false;
  FrLsraTrainOpts o;
  fr_lsra_train_opts_init(&o);
  o.dropout = o.attn_dropout = o.act_dropout = o.weight_dropout = 0;
  o.label_smoothing = 0;
  double nll = 0;
  gint64 tokens = 0;
  for (int k = 0; k < fr_lsra_batches_len(bs); k++) {
    int n;
    const int *pairs = fr_lsra_batches_get(bs, k, &n);
    FrLsraBatch *b = fr_lsra_batch_new(data, pairs, n);
    fr_graph_reset(g);
    double s = 0;
    int64_t t = 0;
    fr_lsra_model_loss(g, m, b, &o, &s, &t);
    nll += s;
    tokens += t;
    fr_lsra_batch_free(b);
  }
  fr_graph_free(g);
  fr_lsra_batches_free(bs);
  if (n_tokens) *n_tokens = tokens;
  return tokens > 0 ? nll / (double)tokens : NAN;
}

/* ---- one run ---- */

typedef struct {
  const FrLsraTrainConfig *cfg;
  FrLsraBpe *bpe;
  FrLsraData *train;
  FrLsraData **dev;
  char **dev_names;
  int n_dev;
  FrLsraBatches *batches;
  FrLsraModel *model;
  FrOptim *opt;
  FrTensor **params;
  int n_params;
  FrGraph *g;
  char *run_id;
} Run;

static void run_clear(Run *r) {
  fr_lsra_bpe_free(r->bpe);
  fr_lsra_data_free(r->train);
  for (int i = 0; i < r->n_dev; i++) fr_lsra_data_free(r->dev[i]);
  g_free(r->dev);
  g_strfreev(r->dev_names);
  fr_lsra_batches_free(r->batches);
  if (r->opt) fr_optim_free(r->opt);
  fr_lsra_model_free(r->model);
  if (r->g) fr_graph_free(r->g);
  g_free(r->run_id);
}

static guint64 fnv(const void *data, gsize len) {
  guint64 h = 1469598103934665603ull;
  const guint8 *p = data;
  for (gsize i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static gboolean check_config(const FrLsraTrainConfig *c, GError **error) {
  const FrLsraTrainOpts *o = &c->opts;
  const char *why = NULL;
  if (!c->custom && (!c->model || !*c->model)) why = "a model name is needed";
  else if (!c->bpe || !*c->bpe) why = "a BPE model is needed";
  else if (!c->train || !*c->train) why = "a training TSV is needed";
  else if (!c->output || !*c->output) why = "an output file is needed";
  else if (c->steps < 1 || c->steps > 10000000) why = "steps must be 1..10,000,000";
  else if (c->max_tokens < FR_LSRA_MAX_TOKENS || c->max_tokens > (1 << 20)) why = "max tokens must be 256..1,048,576";
  else if (!(c->lr > 0) || c->lr > 1) why = "the learning rate must be in (0, 1]";
  else if (!(c->min_lr >= 0) || c->min_lr > c->lr) why = "the minimum learning rate must be in [0, lr]";
  else if (c->warmup < 0 || c->warmup > 10000000) why = "warm-up must be 0..10,000,000 steps";
  else if (c->schedule != FR_LSRA_SCHED_INVSQRT && c->schedule != FR_LSRA_SCHED_COSINE) why = "unknown schedule";
  else if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) || !(c->eps > 0)) why = "Adam needs 0 <= betas < 1 and eps > 0";
  else if (!(c->clip_norm >= 0)) why = "the clip norm must be >= 0";
  else if (!(o->dropout >= 0 && o->dropout < 1) || !(o->attn_dropout >= 0 && o->attn_dropout < 1) ||
           !(o->act_dropout >= 0 && o->act_dropout < 1) || !(o->weight_dropout >= 0 && o->weight_dropout < 1))
    why = "dropout rates must be in [0, 1)";
  else if (!(o->label_smoothing >= 0 && o->label_smoothing < 1)) why = "label smoothing must be in [0, 1)";
  else if (c->threads < 0 || c->threads > 1024) why = "threads must be 0..1024";
  else if (c->train_limit < 0 || c->dev_limit < 0 || c->stop_after < 0 || c->eval_every < 0 || c->checkpoint_every < 1)
    why = "limits and intervals must be >= 0 (checkpoint interval >= 1)";
  if (!why && !c->custom) {
    FrLsraConfig tmp;
    if (!fr_lsra_config_mobile(c->model, 8000, &tmp)) {
      char *names = g_strjoinv(", ", (char **)fr_lsra_mobile_names());
      g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "unknown model '%s' (one of %s)", c->model, names);
      g_free(names);
      return FALSE;
    }
  }
  if (!why) return TRUE;
  g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "invalid translation training settings: %s", why);
  return FALSE;
}

static gboolean cancelled(FrJob *job, GError **error) {
  if (!job || !fr_job_is_cancelled(job)) return FALSE;
  g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "cancelled");
  return TRUE;
}

static const char *sched_name(FrLsraSchedule s) { return s == FR_LSRA_SCHED_COSINE ? "cosine" : "inverse_sqrt"; }

static gboolean setup(FrJob *job, Run *r, GError **error) {
  const FrLsraTrainConfig *cfg = r->cfg;
  r->bpe = fr_lsra_bpe_load(cfg->bpe, error);
  if (!r->bpe) return FALSE;
  int vocab = fr_lsra_bpe_vocab_size(r->bpe);
  FrLsraConfig arch;
  if (cfg->custom) {
    arch = *cfg->custom;
    arch.src_vocab = arch.tgt_vocab = vocab;
    arch.share_all = true;
  } else if (!fr_lsra_config_mobile(cfg->model, vocab, &arch)) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "unknown model '%s'", cfg->model);
    return FALSE;
  }
  r->model = fr_lsra_model_new(&arch, error);
  if (!r->model) return FALSE;
  fr_lsra_model_init(r->model, cfg->seed);

  fr_job_progress(job, 0, "encoding %s with the BPE", cfg->train);
  r->train = fr_lsra_data_load(r->bpe, cfg->train, cfg->train_limit, error);
  if (!r->train) return FALSE;
  const FrLsraDataStats *st = fr_lsra_data_stats(r->train);
  fr_job_log(job, "%s: %" G_GINT64_FORMAT " pairs kept of %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " with an empty side, %"
             G_GINT64_FORMAT " over %d tokens dropped), %" G_GINT64_FORMAT " + %" G_GINT64_FORMAT " tokens, %.1f s",
             cfg->train, st->kept, st->lines, st->empty, st->too_long, FR_LSRA_MAX_TOKENS - 1, st->src_tokens,
             st->tgt_tokens, st->seconds);
  r->n_dev = cfg->dev ? (int)g_strv_length((char **)cfg->dev) : 0;
  r->dev = g_new0(FrLsraData *, MAX(r->n_dev, 1));
  r->dev_names = g_new0(char *, r->n_dev + 1);
  int dev_pairs = 0;
  for (int i = 0; i < r->n_dev; i++) {
    r->dev[i] = fr_lsra_data_load(r->bpe, cfg->dev[i], cfg->dev_limit, error);
    if (!r->dev[i]) return FALSE;
    r->dev_names[i] = g_path_get_basename(cfg->dev[i]);
    dev_pairs += fr_lsra_data_len(r->dev[i]);
  }
  r->batches = fr_lsra_batches_new(r->train, cfg->max_tokens, cfg->seed, error);
  if (!r->batches) return FALSE;
  {
    const int nb = fr_lsra_batches_len(r->batches);
    gint64 slots = 0;
    for (int k = 0; k < nb; k++) {
      int n, S = 0, T = 0;
      const int *p = fr_lsra_batches_get(r->batches, k, &n);
      for (int i = 0; i < n; i++) {
        int sl, tl;
        fr_lsra_data_src(r->train, p[i], &sl);
        fr_lsra_data_tgt(r->train, p[i], &tl);
        S = MAX(S, sl + 1);
        T = MAX(T, tl + 1);
      }
      slots += (gint64)n * (S + T);
    }
    gint64 real = st->src_tokens + st->tgt_tokens + 2 * st->kept;
    fr_job_log(job, "%d batches of at most %d padded tokens an epoch: %.1f pairs and %.0f target tokens on average, "
               "%.1f%% of the padded slots hold tokens", nb, cfg->max_tokens, (double)st->kept / nb,
               (double)(st->tgt_tokens + st->kept) / nb, 100.0 * (double)real / (double)MAX(slots, 1));
  }
  fr_job_emit(job, "lsra.train.data",
              g_variant_new("(xxxxxuu)", (gint64)st->lines, (gint64)st->kept, (gint64)st->empty, (gint64)st->too_long,
                            (gint64)st->tgt_tokens, (guint32)fr_lsra_batches_len(r->batches), (guint32)dev_pairs),
              NULL);

  FrOptimConfig oc = fr_optim_config_adam(0, false);
  oc.beta1 = (float)cfg->beta1;
  oc.beta2 = (float)cfg->beta2;
  oc.eps = (float)cfg->eps;
  r->params = fr_param_set_trainable(fr_lsra_model_params(r->model), &r->n_params);
  r->opt = fr_optim_new(&oc, r->params, r->n_params);
  r->g = fr_graph_new(0);
  r->g->training = true;

  /* everything that changes the trajectory; not the thread count, the output or the intervals */
  gsize bpe_len = 0;
  char *bpe_text = fr_lsra_bpe_to_string(r->bpe, &bpe_len);
  guint64 bpe_hash = fnv(bpe_text, bpe_len);
  g_free(bpe_text);
  const FrLsraTrainOpts *o = &cfg->opts;
  char lr[G_ASCII_DTOSTR_BUF_SIZE], min_lr[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd(lr, sizeof lr, "%g", cfg->lr);
  g_ascii_formatd(min_lr, sizeof min_lr, "%g", cfg->min_lr);
  char *opts = g_strdup_printf("drop %g/%g/%g/%g ls %g adam %g,%g,%g clip %g", o->dropout, o->attn_dropout,
                               o->act_dropout, o->weight_dropout, o->label_smoothing, cfg->beta1, cfg->beta2, cfg->eps,
                               cfg->clip_norm);
  r->run_id = g_strdup_printf("%s d%d L%d+%d v%d bpe %016" G_GINT64_MODIFIER "x data %d/%016" G_GINT64_MODIFIER
                              "x steps%d tok%d lr%s %s warm%d min%s %s seed%" G_GUINT64_FORMAT,
                              arch.name ? arch.name : "custom", arch.d_model, arch.enc_layers, arch.dec_layers, vocab,
                              bpe_hash, fr_lsra_data_len(r->train), fr_lsra_data_fingerprint(r->train), cfg->steps,
                              cfg->max_tokens, lr, sched_name(cfg->schedule), cfg->warmup, min_lr, opts, cfg->seed);
  g_free(opts);
  return TRUE;
}

/* ---- checkpoints ---- */

static gboolean checkpoint_save(Run *r, const char *path, gint64 step, double seconds, const double *window,
                                GError **error) {
  FrSafetensorsWriter *w = fr_checkpoint_writer_new(CKPT_FORMAT, r->run_id, step);
  FrParamSet *ps = fr_lsra_model_params(r->model);
  for (int i = 0; i < fr_param_set_len(ps); i++) {
    FrTensor *p = fr_param_set_nth(ps, i);
    char *name = g_strconcat("m.", p->name, NULL);
    fr_safetensors_writer_add(w, name, FR_DTYPE_F32, p->ndim, p->shape, p->data);
    g_free(name);
  }
  fr_checkpoint_add_optim(w, "o.", r->opt, r->params, r->n_params);
  fr_safetensors_writer_add(w, "train.window", FR_DTYPE_F64, 1, FR_SHAPE(2 * WINDOW), window);
  char secs[G_ASCII_DTOSTR_BUF_SIZE], epoch_s[32];
  g_snprintf(epoch_s, sizeof epoch_s, "%" G_GINT64_FORMAT, step / fr_lsra_batches_len(r->batches));
  g_ascii_dtostr(secs, sizeof secs, seconds);
  fr_safetensors_writer_set_metadata(w, "epoch", epoch_s);
  fr_safetensors_writer_set_metadata(w, "seconds", secs);
  gboolean ok = fr_safetensors_writer_save(w, path, error);
  fr_safetensors_writer_free(w);
  return ok;
}

/* All or nothing: every tensor is read into buffers first and copied only when all of them are there. */
static gboolean checkpoint_load(Run *r, const char *path, gint64 *step, double *seconds, double *window,
                                GError **error) {
  FrCheckpointIn *c = fr_checkpoint_in_open(path, CKPT_FORMAT, "translation-model", r->run_id, r->cfg->steps,
                                            FR_LSRA_ERROR, FR_LSRA_ERROR_FORMAT, FR_LSRA_ERROR_INVALID, error);
  if (!c) return FALSE;
  FrParamSet *ps = fr_lsra_model_params(r->model);
  const int n_all = fr_param_set_len(ps);
  gboolean ok = TRUE;
  for (int k = 0; ok && k < n_all; k++) {
    FrTensor *p = fr_param_set_nth(ps, k);
    char *name = g_strconcat("m.", p->name, NULL);
    ok = fr_checkpoint_in_take(c, name, p, p->data, error);
    g_free(name);
  }
  if (ok) ok = fr_checkpoint_in_take_optim(c, "o.", r->opt, r->params, r->n_params, error);
  if (ok) ok = fr_checkpoint_in_take_f64(c, "train.window", 2 * WINDOW, window, error);
  if (ok) {
    fr_checkpoint_in_commit(c);
    *step = fr_checkpoint_in_step(c);
    fr_optim_set_step(r->opt, *step);
    const char *secs = fr_checkpoint_in_metadata(c, "seconds");
    *seconds = secs ? g_ascii_strtod(secs, NULL) : 0;
  }
  fr_checkpoint_in_free(c);
  return ok;
}

/* ---- training ---- */

static float step_lr(const FrLsraTrainConfig *cfg, gint64 step) {
  FrSchedKind k = cfg->schedule == FR_LSRA_SCHED_COSINE ? FR_SCHED_COSINE : FR_SCHED_INVSQRT;
  return fr_schedule_lr(k, (float)cfg->lr, step, cfg->steps, cfg->warmup, (float)cfg->min_lr);
}

/* Scales every gradient so that their joint L2 norm is at most max_norm (a fixed-order double sum). */
static void clip_grads(Run *r, double max_norm) {
  double ss = 0;
  for (int i = 0; i < r->n_params; i++) {
    const float *g = r->params[i]->grad;
    int64_t n = fr_tensor_numel(r->params[i]);
    for (int64_t j = 0; j < n; j++) ss += (double)g[j] * g[j];
  }
  double norm = sqrt(ss);
  if (norm <= max_norm || norm == 0) return;
  float s = (float)(max_norm / (norm + 1e-6));
  for (int i = 0; i < r->n_params; i++) {
    float *g = r->params[i]->grad;
    int64_t n = fr_tensor_numel(r->params[i]);
    for (int64_t j = 0; j < n; j++) g[j] *= s;
  }
}

typedef struct { double loss, nll; gint64 tokens; } StepResult;

static StepResult train_step(Run *r, gint64 step) {
  const FrLsraTrainConfig *cfg = r->cfg;
  int nb = fr_lsra_batches_len(r->batches);
  int k = fr_lsra_batches_at(r->batches, step / nb, (int)(step % nb));
  int n;
  const int *pairs = fr_lsra_batches_get(r->batches, k, &n);
  FrLsraBatch *b = fr_lsra_batch_new(r->train, pairs, n);
  FrGraph *g = r->g;
  fr_graph_reset(g);
  /* dropout masks drawn from (seed, step) alone */
  fr_rng_seed(&g->rng, cfg->seed * 0x9E3779B97F4A7C15ull + (guint64)step * 0xBF58476D1CE4E5B9ull + 7);
  fr_optim_zero_grad(r->opt);
  double nll = 0;
  int64_t tokens = 0;
  FrTensor *loss = fr_lsra_model_loss(g, r->model, b, &cfg->opts, &nll, &tokens);
  double l = loss->data[0];
  fr_graph_backward(g, loss);
  if (cfg->clip_norm > 0) clip_grads(r, cfg->clip_norm);
  fr_optim_step(r->opt, step_lr(cfg, step));
  fr_lsra_batch_free(b);
  return (StepResult){ l, tokens > 0 ? nll / (double)tokens : 0, tokens };
}

/* Dev NLL per token over every dev file (token-weighted), with one log line per file. */
static double dev_eval(FrJob *job, Run *r, gint64 step, gint64 *tokens_out) {
  double nll = 0;
  gint64 tokens = 0;
  GString *line = g_string_new(NULL);
  for (int i = 0; i < r->n_dev; i++) {
    gint64 t = 0;
    double x = fr_lsra_dev_nll(r->model, r->dev[i], r->cfg->max_tokens, &t);
    g_string_append_printf(line, "%s%s %.3f (ppl %.2f)", i ? ", " : "", r->dev_names[i], x, exp(x));
    nll += x * (double)t;
    tokens += t;
  }
  double mean = tokens > 0 ? nll / (double)tokens : NAN;
  if (r->n_dev) fr_job_log(job, "step %" G_GINT64_FORMAT ": dev NLL %.4f, perplexity %.2f; %s", step, mean, exp(mean), line->str);
  g_string_free(line, TRUE);
  *tokens_out = tokens;
  return mean;
}

static double window_mean(const double *w, gint64 step) {
  int n = (int)MIN(step, WINDOW);
  double s = 0;
  for (int j = 0; j < n; j++) s += w[j];
  return n ? s / n : NAN;
}

gboolean fr_lsra_train_job(FrJob *job, gpointer data, GError **error) {
  const FrLsraTrainConfig *cfg = data;
  if (!check_config(cfg, error)) return FALSE;
  int old_threads = fr_pool_get_threads();
  if (cfg->threads > 0) fr_pool_set_threads(cfg->threads);
  Run r = { .cfg = cfg };
  char *ckpt = cfg->checkpoint ? g_strdup(cfg->checkpoint) : g_strconcat(cfg->output, ".ckpt", NULL);
  gboolean ok = setup(job, &r, error);
  if (!ok) goto out;

  const gint64 total = cfg->steps;
  gint64 step = 0;
  double window[2 * WINDOW] = { 0 }, secs_before = 0;
  if (cfg->resume && g_file_test(ckpt, G_FILE_TEST_EXISTS)) {
    ok = checkpoint_load(&r, ckpt, &step, &secs_before, window, error);
    if (!ok) goto out;
    fr_job_log(job, "resumed from %s at step %" G_GINT64_FORMAT, ckpt, step);
  }
  const gint64 stop = cfg->stop_after > 0 ? MIN((gint64)cfg->stop_after, total) : total;
  double train_secs = 0, dev_nll = NAN;
  gint64 session_tokens = 0, tok_since = 0, t_since = g_get_monotonic_time();
  while (step < stop) {
    if (cancelled(job, error)) {
      ok = FALSE;
      break;
    }
    gint64 ts = g_get_monotonic_time();
    StepResult s = train_step(&r, step);
    train_secs += (double)(g_get_monotonic_time() - ts) / 1e6;
    if (!isfinite(s.loss)) {
      g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_FAILED,
                  "the loss diverged at step %" G_GINT64_FORMAT " (try a lower --lr or --clip-norm)", step + 1);
      ok = FALSE;
      break;
    }
    window[step % WINDOW] = s.loss;
    window[WINDOW + step % WINDOW] = s.nll;
    session_tokens += s.tokens;
    tok_since += s.tokens;
    step++;
    if (step % 10 == 0 || step == stop) {
      gint64 now = g_get_monotonic_time();
      double tps = now > t_since ? (double)tok_since / ((double)(now - t_since) / 1e6) : 0;
      double ml = window_mean(window, step), mn = window_mean(window + WINDOW, step);
      float lr = step_lr(cfg, step - 1);
      fr_job_emit(job, "lsra.train.step",
                  g_variant_new("(uuddddd)", (guint32)step, (guint32)total, ml, mn, (double)lr, tps,
                                secs_before + train_secs),
                  NULL);
      fr_job_progress(job, (double)step / (double)total,
                      "step %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT ", loss %.3f, nll %.3f (ppl %.1f), lr %.2e, %.0f tok/s",
                      step, total, ml, mn, exp(mn), lr, tps);
      tok_since = 0;
      t_since = g_get_monotonic_time();
    }
    if (step % cfg->checkpoint_every == 0 || step == stop) {
      ok = checkpoint_save(&r, ckpt, step, secs_before + train_secs, window, error);
      if (!ok) break;
    }
    if (cfg->eval_every > 0 && step % cfg->eval_every == 0 && step < total && r.n_dev) {
      gint64 dt = 0;
      double x = dev_eval(job, &r, step, &dt);
      fr_job_emit(job, "lsra.train.eval", g_variant_new("(udddd)", (guint32)step, x, exp(x), (double)dt,
                                                        secs_before + train_secs), NULL);
      t_since = g_get_monotonic_time();
    }
  }
  if (!ok) goto out;
  if (step < total) {
    fr_job_log(job, "stopped at step %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT "; --resume goes on from %s", step, total,
               ckpt);
    goto out;
  }
  {
    gint64 dt = 0;
    if (r.n_dev) {
      dev_nll = dev_eval(job, &r, step, &dt);
      fr_job_emit(job, "lsra.train.eval", g_variant_new("(udddd)", (guint32)step, dev_nll, exp(dev_nll), (double)dt,
                                                        secs_before + train_secs), NULL);
    }
    const FrLsraDataStats *st = fr_lsra_data_stats(r.train);
    double tps = train_secs > 0 ? (double)session_tokens / train_secs : 0;
    double ml = window_mean(window, step), mn = window_mean(window + WINDOW, step);
    char steps_s[32], tok_s[32], lr_s[32], warm_s[32], seed_s[32], drop_s[32], ls_s[32], wd_s[32], secs_s[32],
        pairs_s[32], dev_s[32], ppl_s[32], tps_s[32], loss_s[32], clip_s[32], b2_s[32];
    g_snprintf(steps_s, sizeof steps_s, "%d", cfg->steps);
    g_snprintf(tok_s, sizeof tok_s, "%d", cfg->max_tokens);
    g_ascii_formatd(lr_s, sizeof lr_s, "%g", cfg->lr);
    g_snprintf(warm_s, sizeof warm_s, "%d", cfg->warmup);
    g_snprintf(seed_s, sizeof seed_s, "%" G_GUINT64_FORMAT, cfg->seed);
    g_ascii_formatd(drop_s, sizeof drop_s, "%g", cfg->opts.dropout);
    g_ascii_formatd(wd_s, sizeof wd_s, "%g", cfg->opts.weight_dropout);
    g_ascii_formatd(ls_s, sizeof ls_s, "%g", cfg->opts.label_smoothing);
    g_ascii_formatd(clip_s, sizeof clip_s, "%g", cfg->clip_norm);
    g_ascii_formatd(b2_s, sizeof b2_s, "%g", cfg->beta2);
    g_ascii_formatd(secs_s, sizeof secs_s, "%.0f", secs_before + train_secs);
    g_snprintf(pairs_s, sizeof pairs_s, "%" G_GINT64_FORMAT, st->kept);
    g_ascii_formatd(dev_s, sizeof dev_s, "%.4f", dev_nll);
    g_ascii_formatd(ppl_s, sizeof ppl_s, "%.3f", exp(dev_nll));
    g_ascii_formatd(tps_s, sizeof tps_s, "%.0f", tps);
    g_ascii_formatd(loss_s, sizeof loss_s, "%.4f", ml);
    char *train_name = g_path_get_basename(cfg->train), *bpe_name = g_path_get_basename(cfg->bpe);
    const char *md[64];
    int k = 0;
#define MD(key, val) (md[k++] = (key), md[k++] = (val))
    MD("run", r.run_id);
    MD("steps", steps_s);
    MD("train_file", train_name);
    MD("train_pairs", pairs_s);
    MD("bpe_file", bpe_name);
    MD("max_tokens", tok_s);
    MD("lr", lr_s);
    MD("schedule", sched_name(cfg->schedule));
    MD("warmup", warm_s);
    MD("adam_beta2", b2_s);
    MD("clip_norm", clip_s);
    MD("dropout", drop_s);
    MD("weight_dropout", wd_s);
    MD("label_smoothing", ls_s);
    MD("seed", seed_s);
    MD("train_seconds", secs_s);
    MD("train_loss", loss_s);
    if (r.n_dev) {
      MD("dev_nll", dev_s);
      MD("dev_ppl", ppl_s);
    }
    MD("tokens_per_second", tps_s);
#undef MD
    md[k] = NULL;
    ok = fr_lsra_model_save(r.model, cfg->output, md, error);
    g_free(train_name);
    g_free(bpe_name);
    if (ok) {
      fr_job_emit(job, "lsra.train.result",
                  g_variant_new("(ddddddx)", dev_nll, exp(dev_nll), ml, mn, train_secs, tps,
                                (gint64)fr_param_set_count(fr_lsra_model_params(r.model), TRUE)),
                  NULL);
      fr_job_log(job, "saved %s after %d steps (%.0f s of training in all)", cfg->output, cfg->steps,
                 secs_before + train_secs);
    }
  }
out:
  fr_pool_set_threads(old_threads);
  g_free(ckpt);
  run_clear(&r);
  return ok;
}
