/* fr-apq-train.c: supernet training (sandwich rule) and QAT of one subnet, resumable. */
#include "fr-apq-train.h"
#include "fr-checkpoint.h"
#include <string.h>
#include "fr-ops.h"
#include "fr-optim.h"
#include "fr-pool.h"
#include "fr-safetensors.h"

#define CKPT_FORMAT "frontier-apq-checkpoint"
#define BN_MOMENTUM 0.1f
#define LABEL_SMOOTHING 0.1f
#define CALIB_IMAGES 1000
#define EPOCH_EVAL_IMAGES 2000
#define EVAL_BATCH 250

void fr_apq_train_config_init(FrApqTrainConfig *cfg, gboolean qat) {
  memset(cfg, 0, sizeof *cfg);
  cfg->epochs = qat ? 3 : 5;
  cfg->batch_size = 128;
  cfg->lr = qat ? 5e-4 : 3e-3;
  cfg->weight_decay = 5e-5;
  cfg->seed = 1;
  cfg->checkpoint_every = 100;
}

FrApqTrainConfig *fr_apq_train_config_copy(const FrApqTrainConfig *cfg) {
  FrApqTrainConfig *c = g_memdup2(cfg, sizeof *cfg);
  c->data_dir = g_strdup(cfg->data_dir);
  c->output = g_strdup(cfg->output);
  c->checkpoint = g_strdup(cfg->checkpoint);
  c->init = g_strdup(cfg->init);
  c->spec = g_strdup(cfg->spec);
  return c;
}

void fr_apq_train_config_free(gpointer p) {
  FrApqTrainConfig *c = p;
  if (!c) return;
  g_free(c->data_dir);
  g_free(c->output);
  g_free(c->checkpoint);
  g_free(c->init);
  g_free(c->spec);
  g_free(c);
}

FrApqSupernet *fr_apq_supernet_clone(FrApqSupernet *net) {
  FrApqSupernet *c = fr_apq_supernet_new(fr_apq_supernet_space(net), 0);
  FrParamSet *src = fr_apq_supernet_params(net), *dst = fr_apq_supernet_params(c);
  for (int i = 0; i < fr_param_set_len(src); i++) {
    FrTensor *a = fr_param_set_nth(src, i), *b = fr_param_set_nth(dst, i);
    memcpy(b->data, a->data, sizeof(float) * (size_t)fr_tensor_numel(a));
  }
  return c;
}

/* ---- one optimisation step over a list of subnets ---------------------------------------------- */

typedef struct {
  FrApqSupernet *net;
  FrOptim *opt;
  FrGraph *g;
  int32_t *labels;
  int batch;
} Stepper;

static void stepper_init(Stepper *s, FrApqSupernet *net, int batch, double wd, guint64 seed) {
  s->net = net;
  int n;
  FrTensor **trainable = fr_param_set_trainable(fr_apq_supernet_params(net), &n);
  FrOptimConfig oc = fr_optim_config_adam((float)wd, true);
  s->opt = fr_optim_new(&oc, trainable, n);
  s->g = fr_graph_new(0);
  fr_rng_seed(&s->g->rng, seed);
  s->labels = g_new(int32_t, batch);
  s->batch = batch;
}

static void stepper_clear(Stepper *s) {
  fr_optim_free(s->opt);
  fr_graph_free(s->g);
  g_free(s->labels);
}

/* Accumulates the gradients of every spec on the batch idx[0..batch), then steps; returns the mean
 * loss. */
static double stepper_step(Stepper *s, const FrFmnist *d, const int *idx, const FrApqSpec *specs, int n_specs, float lr) {
  const FrApqSpace *sp = fr_apq_supernet_space(s->net);
  int px = sp->in_hw * sp->in_hw;
  fr_optim_zero_grad(s->opt);
  double loss_sum = 0;
  for (int k = 0; k < n_specs; k++) {
    FrGraph *g = s->g;
    fr_graph_reset(g);
    g->training = true;
    FrTensor *x = fr_tensor_new(g, 4, FR_SHAPE(s->batch, 1, sp->in_hw, sp->in_hw));
    for (int j = 0; j < s->batch; j++) {
      fr_apq_normalise(d->pixels + (size_t)idx[j] * px, 1, sp->in_hw, x->data + (size_t)j * px);
      s->labels[j] = d->labels[idx[j]];
    }
    FrTensor *logits = fr_apq_supernet_forward(s->net, g, x, &specs[k], NULL, BN_MOMENTUM);
    FrTensor *loss = fr_cross_entropy(g, logits, s->labels, LABEL_SMOOTHING);
    loss_sum += loss->data[0];
    fr_graph_backward(g, loss);
  }
  fr_graph_reset(s->g);
  fr_optim_step(s->opt, lr);
  return loss_sum / n_specs;
}

/* Subnets of one supernet step, from a generator seeded by the step so that a resumed run samples
 * exactly what an uninterrupted one would. */
static int sandwich_specs(const FrApqSpace *sp, guint64 seed, int64_t step, FrApqSpec *specs) {
  FrRng rng;
  fr_rng_seed(&rng, seed * 1000003u + (guint64)step * 2654435761u + 17);
  fr_apq_spec_largest(sp, 0, &specs[0]);
  fr_apq_spec_smallest(sp, 0, &specs[1]);
  if (step % 2 == 1) {
    FrApqSpec q;
    fr_apq_spec_random(sp, &rng, true, &q);
    memcpy(specs[1].bits, q.bits, sizeof q.bits);
    specs[1].quantized = true;
  }
  fr_apq_spec_random(sp, &rng, false, &specs[2]);
  fr_apq_spec_random(sp, &rng, true, &specs[3]);
  return 4;
}

void fr_apq_finetune(FrApqSupernet *net, const FrApqSpec *spec, const FrFmnist *train, int n, int steps, int batch,
                     double lr, guint64 seed) {
  Stepper s;
  stepper_init(&s, net, batch, 0.0, seed);
  FrRng rng;
  fr_rng_seed(&rng, seed);
  int *idx = g_new(int, batch);
  for (int step = 0; step < steps; step++) {
    for (int j = 0; j < batch; j++) idx[j] = (int)fr_rng_below(&rng, (uint64_t)n);
    stepper_step(&s, train, idx, spec, 1, fr_schedule_lr(FR_SCHED_COSINE, (float)lr, step, steps, 0, 0.0f));
  }
  g_free(idx);
  stepper_clear(&s);
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

/* Weights, AdamW moments and the step, atomically in one safetensors file. */
#define LOSS_WINDOW 20

static gboolean checkpoint_save(const char *path, FrApqSupernet *net, FrOptim *opt, int64_t step, const char *run_id,
                                const double *loss_window, GError **error) {
  FrSafetensorsWriter *w = fr_checkpoint_writer_new(CKPT_FORMAT, run_id, step);
  fr_safetensors_writer_add(w, "train.loss_window", FR_DTYPE_F64, 1, FR_SHAPE(LOSS_WINDOW), loss_window);
  FrParamSet *ps = fr_apq_supernet_params(net);
  for (int i = 0; i < fr_param_set_len(ps); i++) {
    FrTensor *p = fr_param_set_nth(ps, i);
    fr_safetensors_writer_add(w, p->name, FR_DTYPE_F32, p->ndim, p->shape, p->data);
  }
  int n;
  FrTensor **trainable = fr_param_set_trainable(ps, &n);
  fr_checkpoint_add_optim(w, "optim.", opt, trainable, n);
  char *dir = g_path_get_dirname(path);
  gboolean ok = g_mkdir_with_parents(dir, 0755) == 0;
  if (!ok) g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot create folder %s", dir);
  else ok = fr_safetensors_writer_save(w, path, error);
  g_free(dir);
  fr_safetensors_writer_free(w);
  return ok;
}

/* Restores into net and opt (both untouched on error); *step receives the saved step. */
static gboolean checkpoint_load(const char *path, FrApqSupernet *net, FrOptim *opt, const char *run_id, int64_t *step,
                                double *loss_window, GError **error) {
  FrCheckpointIn *c = fr_checkpoint_in_open(path, CKPT_FORMAT, "APQ", run_id, -1, FR_APQ_ERROR,
                                            FR_APQ_ERROR_CHECKPOINT, FR_APQ_ERROR_CHECKPOINT, error);
  if (!c) return FALSE;
  FrParamSet *ps = fr_apq_supernet_params(net);
  int n;
  FrTensor **trainable = fr_param_set_trainable(ps, &n);
  gboolean ok = TRUE;
  for (int i = 0; ok && i < fr_param_set_len(ps); i++) {
    FrTensor *p = fr_param_set_nth(ps, i);
    ok = fr_checkpoint_in_take(c, p->name, p, p->data, error);
  }
  if (ok) ok = fr_checkpoint_in_take_optim(c, "optim.", opt, trainable, n, error);
  if (ok) ok = fr_checkpoint_in_take_f64(c, "train.loss_window", LOSS_WINDOW, loss_window, error);
  if (ok) {
    fr_checkpoint_in_commit(c);
    *step = fr_checkpoint_in_step(c);
    fr_optim_set_step(opt, *step);
  }
  fr_checkpoint_in_free(c);
  return ok;
}

/* ---- the job ---------------------------------------------------------------------------------- */

static gboolean cancelled(FrJob *job, GError **error) {
  if (!job || !fr_job_is_cancelled(job)) return FALSE;
  g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "cancelled");
  return TRUE;
}

static double heldout_accuracy(FrApqSupernet *net, const FrApqSpec *spec, const FrFmnist *d, int n_train, int n_eval) {
  FrApqBnStats *bn = fr_apq_bn_stats_new(net);
  int px = d->rows * d->cols;
  fr_apq_supernet_calibrate(net, spec, bn, d->pixels, MIN(CALIB_IMAGES, n_train), EVAL_BATCH);
  double acc = fr_apq_supernet_accuracy(net, spec, bn, d->pixels + (size_t)n_train * px, d->labels + n_train,
                                        MIN(n_eval, d->n - n_train), EVAL_BATCH);
  fr_apq_bn_stats_free(bn);
  return acc;
}

static gboolean check_config(const FrApqTrainConfig *c, GError **error) {
  if (c->epochs < 1 || c->epochs > 1000 || c->batch_size < 2 || c->batch_size > 4096 || !(c->lr > 0) || c->lr > 1 ||
      c->weight_decay < 0 || c->threads < 0 || c->max_steps < 0 || c->train_limit < 0 || c->checkpoint_every < 1 ||
      !c->output || !*c->output || (c->spec && !c->init)) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "invalid training settings: epochs 1..1000, batch 2..4096, learning rate in (0, 1], weight decay >= 0, "
                "an output path; QAT (a spec) needs the supernet to start from");
    return FALSE;
  }
  return TRUE;
}

gboolean fr_apq_train_job(FrJob *job, gpointer data, GError **error) {
  const FrApqTrainConfig *cfg = data;
  if (!check_config(cfg, error)) return FALSE;
  const FrApqSpace *sp = fr_apq_space_fmnist_mini();
  gboolean qat = cfg->spec != NULL;
  FrApqSpec qat_spec;
  if (qat && !fr_apq_spec_from_string(sp, cfg->spec, &qat_spec, error)) return FALSE;
  FrApqSupernet *net = qat ? fr_apq_supernet_load(cfg->init, error) : fr_apq_supernet_new(sp, cfg->seed);
  if (!net) return FALSE;
  fr_job_progress(job, 0, "loading Fashion-MNIST");
  FrFmnist *d = fr_fmnist_load(cfg->data_dir, TRUE, error);
  if (!d) {
    fr_apq_supernet_free(net);
    return FALSE;
  }
  int old_threads = fr_pool_get_threads();   /* restored at the end: the setting is process-wide */
  if (cfg->threads > 0) fr_pool_set_threads(cfg->threads);
  int n_train = cfg->train_limit > 0 ? MIN(cfg->train_limit, FR_APQ_TRAIN_IMAGES) : FR_APQ_TRAIN_IMAGES;
  n_train = MIN(n_train, d->n);
  int B = MIN(cfg->batch_size, n_train), steps_per_epoch = n_train / B;
  int64_t total = (int64_t)steps_per_epoch * cfg->epochs;
  if (cfg->max_steps > 0 && cfg->max_steps < total) total = cfg->max_steps;

  /* everything that changes the run's result identifies it, so --resume never mixes two runs */
  char *run_id = g_strdup_printf("%s e%d b%d lr%g wd%g seed%" G_GUINT64_FORMAT " n%d steps%" G_GINT64_FORMAT "%s%s",
                                 qat ? "qat" : "supernet", cfg->epochs, B, cfg->lr, cfg->weight_decay, cfg->seed,
                                 n_train, total, qat ? " spec " : "", qat ? cfg->spec : "");
  char *ckpt = cfg->checkpoint ? g_strdup(cfg->checkpoint) : g_strconcat(cfg->output, ".ckpt", NULL);
  Stepper s;
  stepper_init(&s, net, B, cfg->weight_decay, cfg->seed * 7919 + 1);
  int64_t step = 0;
  double loss_window[LOSS_WINDOW] = { 0 };
  gboolean ok = TRUE;
  if (cfg->resume && g_file_test(ckpt, G_FILE_TEST_EXISTS)) {
    ok = checkpoint_load(ckpt, net, s.opt, run_id, &step, loss_window, error);
    if (ok) fr_job_log(job, "resumed from %s at step %" G_GINT64_FORMAT, ckpt, step);
  }
  int *order = g_new(int, n_train);
  gint64 t0 = g_get_monotonic_time();
  double acc_large = 0, acc_small = 0;
  gboolean evaluated = FALSE;
  FrApqSpec probe[2];
  if (qat) probe[0] = probe[1] = qat_spec;
  else fr_apq_spec_largest(sp, 0, &probe[0]), fr_apq_spec_smallest(sp, 0, &probe[1]);

  while (ok && step < total) {
    int epoch = (int)(step / steps_per_epoch), in_epoch = (int)(step % steps_per_epoch);
    /* the epoch's order depends only on (seed, epoch): a resumed run sees the same batches */
    FrRng shuf;
    fr_rng_seed(&shuf, cfg->seed * 31 + (guint64)epoch);
    for (int i = 0; i < n_train; i++) order[i] = i;
    fr_rng_shuffle_int(&shuf, order, n_train);
    for (int k = in_epoch; k < steps_per_epoch && step < total; k++) {
      if (cancelled(job, error)) {
        ok = FALSE;
        break;
      }
      FrApqSpec specs[4];
      int n_specs = qat ? (specs[0] = qat_spec, 1) : sandwich_specs(sp, cfg->seed, step, specs);
      float lr = fr_schedule_lr(FR_SCHED_COSINE, (float)cfg->lr, step, total, 0, 0.0f);
      double loss = stepper_step(&s, d, order + (size_t)k * B, specs, n_specs, lr);
      loss_window[step % LOSS_WINDOW] = loss;
      step++;
      if (step % 10 == 0 || step == total) {
        int w = (int)MIN(step, LOSS_WINDOW);
        double lw = 0;
        for (int j = 0; j < w; j++) lw += loss_window[j];
        lw /= w;
        double secs = (g_get_monotonic_time() - t0) / 1e6;
        fr_job_emit(job, "apq.train.step", g_variant_new("(uudd)", (guint32)step, (guint32)total, lw, (double)lr), NULL);
        fr_job_progress(job, (double)step / (double)total, "epoch %d/%d, step %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
                        ", loss %.4f, %.1f s", epoch + 1, cfg->epochs, step, total, lw, secs);
      }
      if (step % cfg->checkpoint_every == 0 || step == total)
        ok = checkpoint_save(ckpt, net, s.opt, step, run_id, loss_window, error);
      if (!ok) break;
    }
    if (!ok) break;
    if (step % steps_per_epoch == 0 || step == total) {
      acc_large = heldout_accuracy(net, &probe[0], d, n_train, EPOCH_EVAL_IMAGES);
      acc_small = qat ? acc_large : heldout_accuracy(net, &probe[1], d, n_train, EPOCH_EVAL_IMAGES);
      evaluated = TRUE;
      fr_job_emit(job, "apq.train.epoch", g_variant_new("(udd)", (guint32)(step / steps_per_epoch), acc_large, acc_small), NULL);
      int ep = (int)((step + steps_per_epoch - 1) / steps_per_epoch);
      if (qat) fr_job_log(job, "epoch %d: held-out accuracy (2,000 images) %.4f", ep, acc_large);
      else fr_job_log(job, "epoch %d: held-out accuracy (2,000 images) largest %.4f, smallest %.4f", ep, acc_large, acc_small);
    }
  }
  if (ok && !evaluated) {   /* resumed at the last step: nothing ran, measure what is there */
    acc_large = heldout_accuracy(net, &probe[0], d, n_train, EPOCH_EVAL_IMAGES);
    acc_small = qat ? acc_large : heldout_accuracy(net, &probe[1], d, n_train, EPOCH_EVAL_IMAGES);
  }
  if (ok) {
    const char *meta[] = { "command", qat ? "frontier-cli apq qat" : "frontier-cli apq supernet", "run", run_id, NULL };
    ok = fr_apq_supernet_save(net, cfg->output, meta, error);
  }
  if (ok) {
    double secs = (g_get_monotonic_time() - t0) / 1e6, second = -1;
    if (qat && cfg->evaluate_test) {
      FrFmnist *test = fr_fmnist_load(cfg->data_dir, FALSE, error);
      ok = test != NULL;
      if (ok) {
        FrApqBnStats *bn = fr_apq_bn_stats_new(net);
        fr_apq_supernet_calibrate(net, &qat_spec, bn, d->pixels, MIN(CALIB_IMAGES * 2, n_train), EVAL_BATCH);
        second = fr_apq_supernet_accuracy(net, &qat_spec, bn, test->pixels, test->labels, test->n, EVAL_BATCH);
        fr_apq_bn_stats_free(bn);
        fr_fmnist_free(test);
      }
    } else if (!qat) {
      second = acc_small;
    }
    if (ok) {
      fr_job_emit(job, "apq.train.result", g_variant_new("(ddd)", acc_large, second, secs), NULL);
      fr_job_progress(job, 1.0, "done in %.1f s", secs);
    }
  }
  g_free(order);
  g_free(ckpt);
  g_free(run_id);
  stepper_clear(&s);
  fr_fmnist_free(d);
  fr_apq_supernet_free(net);
  fr_pool_set_threads(old_threads);
  return ok;
}
