#include "fr-classifier.h"

#include "fr-config.h"
#include "fr-fmnist.h"
#include "fr-model-io.h"
#include "fr-ops.h"
#include "fr-optim.h"
#include "fr-pool.h"
#include "fr-profile.h"

#include <math.h>
#include <string.h>

#define IMG 28
#define C1 16
#define C2 32
#define HID 128
#define NCLS 10
#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f
#define PIX_MEAN 0.2860f
#define PIX_STD 0.3530f
#define FORMAT_TAG "frontier.classifier.v1"

struct _FrClassifier {
  FrParamSet *params;
  FrTensor *conv1_w, *bn1_g, *bn1_b, *bn1_rm, *bn1_rv;
  FrTensor *conv2_w, *bn2_g, *bn2_b, *bn2_rm, *bn2_rv;
  FrTensor *fc1_w, *fc1_b, *fc2_w, *fc2_b;
};

void fr_classifier_train_config_init(FrClassifierTrainConfig *cfg) {
  *cfg = (FrClassifierTrainConfig){ .epochs = 4, .batch_size = 64, .lr = 2e-3, .weight_decay = 1e-4, .seed = 1 };
}

FrClassifierTrainConfig *fr_classifier_train_config_copy(const FrClassifierTrainConfig *cfg) {
  FrClassifierTrainConfig *c = g_new(FrClassifierTrainConfig, 1);
  *c = *cfg;
  c->data_dir = g_strdup(cfg->data_dir);
  c->output = g_strdup(cfg->output);
  return c;
}

void fr_classifier_train_config_free(gpointer p) {
  FrClassifierTrainConfig *c = p;
  if (!c) return;
  g_free((char *)c->data_dir);
  g_free((char *)c->output);
  g_free(c);
}

/* PyTorch's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases. */
static void init_uniform(FrTensor *t, int64_t fan_in, FrRng *rng) {
  float bound = 1.0f / sqrtf((float)fan_in);
  fr_rng_fill_uniform(rng, t->data, fr_tensor_numel(t), -bound, bound);
}

static void fill(FrTensor *t, float v) {
  for (int64_t i = 0; i < fr_tensor_numel(t); i++) t->data[i] = v;
}

FrClassifier *fr_classifier_new(guint64 seed) {
  FrClassifier *n = g_new0(FrClassifier, 1);
  FrParamSet *s = n->params = fr_param_set_new();
  n->conv1_w = fr_param_set_add(s, "conv1.weight", 4, FR_SHAPE(C1, 1, 3, 3), TRUE);
  n->bn1_g = fr_param_set_add(s, "bn1.weight", 1, FR_SHAPE(C1), TRUE);
  n->bn1_b = fr_param_set_add(s, "bn1.bias", 1, FR_SHAPE(C1), TRUE);
  n->bn1_rm = fr_param_set_add(s, "bn1.running_mean", 1, FR_SHAPE(C1), FALSE);
  n->bn1_rv = fr_param_set_add(s, "bn1.running_var", 1, FR_SHAPE(C1), FALSE);
  n->conv2_w = fr_param_set_add(s, "conv2.weight", 4, FR_SHAPE(C2, C1, 3, 3), TRUE);
  n->bn2_g = fr_param_set_add(s, "bn2.weight", 1, FR_SHAPE(C2), TRUE);
  n->bn2_b = fr_param_set_add(s, "bn2.bias", 1, FR_SHAPE(C2), TRUE);
  n->bn2_rm = fr_param_set_add(s, "bn2.running_mean", 1, FR_SHAPE(C2), FALSE);
  n->bn2_rv = fr_param_set_add(s, "bn2.running_var", 1, FR_SHAPE(C2), FALSE);
  n->fc1_w = fr_param_set_add(s, "fc1.weight", 2, FR_SHAPE(HID, C2 * 7 * 7), TRUE);
  n->fc1_b = fr_param_set_add(s, "fc1.bias", 1, FR_SHAPE(HID), TRUE);
  n->fc2_w = fr_param_set_add(s, "fc2.weight", 2, FR_SHAPE(NCLS, HID), TRUE);
  n->fc2_b = fr_param_set_add(s, "fc2.bias", 1, FR_SHAPE(NCLS), TRUE);
  FrRng rng;
  fr_rng_seed(&rng, seed);
  init_uniform(n->conv1_w, 9, &rng);
  init_uniform(n->conv2_w, C1 * 9, &rng);
  init_uniform(n->fc1_w, C2 * 49, &rng);
  init_uniform(n->fc1_b, C2 * 49, &rng);
  init_uniform(n->fc2_w, HID, &rng);
  init_uniform(n->fc2_b, HID, &rng);
  fill(n->bn1_g, 1);
  fill(n->bn2_g, 1);
  fill(n->bn1_rv, 1);
  fill(n->bn2_rv, 1);
  return n;
}

void fr_classifier_free(FrClassifier *net) {
  if (!net) return;
  fr_param_set_free(net->params);
  g_free(net);
}

size_t fr_classifier_n_params(FrClassifier *net) { return fr_param_set_count(net->params, TRUE); }

gboolean fr_classifier_save(FrClassifier *net, const char *path, GError **error) {
  const char *meta[] = {
    "format", FORMAT_TAG,
    "architecture", "conv16-bn-relu-pool, conv32-bn-relu-pool, fc128-relu-dropout0.25, fc10",
    "config", "{\"input\":[1,28,28],\"mean\":0.2860,\"std\":0.3530,\"conv\":[16,32],\"hidden\":128,\"classes\":10}",
    "dataset", "Fashion-MNIST (Debian dataset-fashion-mnist)",
    "frontier.version", FR_VERSION,
    NULL,
  };
  return fr_param_set_save(net->params, path, meta, error);
}

FrClassifier *fr_classifier_load(const char *path, GError **error) {
  FrClassifier *net = fr_classifier_new(0);
  GHashTable *meta = NULL;
  if (!fr_param_set_load(net->params, path, &meta, error)) {
    fr_classifier_free(net);
    return NULL;
  }
  const char *fmt = g_hash_table_lookup(meta, "format");
  if (!fmt || strcmp(fmt, FORMAT_TAG) != 0) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "%s: not a Frontier classifier (metadata format is '%s', expected '%s')", path,
                fmt ? fmt : "(none)", FORMAT_TAG);
    g_hash_table_unref(meta);
    fr_classifier_free(net);
    return NULL;
  }
  g_hash_table_unref(meta);
  return net;
}

/* x: [B,1,28,28] normalised. Returns logits [B,10]; *features (if asked) the 128-d ReLU features. */
static FrTensor *forward(FrClassifier *n, FrGraph *g, FrTensor *x, FrTensor **features) {
  FrConv2dParams p = FR_CONV2D_DEFAULT;
  p.padding = 1;
  /* profiler scopes (fr_graph_push_scope): one per layer with what follows it */
  fr_graph_push_scope(g, "conv1");
  FrTensor *h = fr_conv2d(g, x, n->conv1_w, NULL, p);
  h = fr_batch_norm2d(g, h, n->bn1_g, n->bn1_b, n->bn1_rm->data, n->bn1_rv->data, BN_MOMENTUM, BN_EPS, FR_ACT_RELU);
  h = fr_max_pool2d(g, h, 2, 2, 0);
  fr_graph_pop_scope(g);
  fr_graph_push_scope(g, "conv2");
  h = fr_conv2d(g, h, n->conv2_w, NULL, p);
  h = fr_batch_norm2d(g, h, n->bn2_g, n->bn2_b, n->bn2_rm->data, n->bn2_rv->data, BN_MOMENTUM, BN_EPS, FR_ACT_RELU);
  h = fr_max_pool2d(g, h, 2, 2, 0);
  fr_graph_pop_scope(g);
  fr_graph_push_scope(g, "fc1");
  h = fr_reshape(g, h, 2, FR_SHAPE(x->shape[0], C2 * 7 * 7));
  h = fr_relu(g, fr_linear(g, h, n->fc1_w, n->fc1_b));
  fr_graph_pop_scope(g);
  if (features) *features = h;
  fr_graph_push_scope(g, "fc2");
  h = fr_dropout(g, h, 0.25f);
  h = fr_linear(g, h, n->fc2_w, n->fc2_b);
  fr_graph_pop_scope(g);
  return h;
}

static void normalise(const guint8 *pix, int n, float *dst) {
  for (int64_t i = 0; i < (int64_t)n * IMG * IMG; i++) dst[i] = (pix[i] / 255.0f - PIX_MEAN) / PIX_STD;
}

void fr_classifier_forward(FrClassifier *net, const float *images, int n, float *logits, float *features) {
  FrGraph *g = fr_graph_new(0);
  g->grad_enabled = false;
  g->training = false;
  const int chunk = 125;
  for (int i = 0; i < n; i += chunk) {
    int b = MIN(chunk, n - i);
    FrTensor *x = fr_tensor_new(g, 4, FR_SHAPE(b, 1, IMG, IMG));
    for (int64_t j = 0; j < (int64_t)b * IMG * IMG; j++)
      x->data[j] = (images[(int64_t)i * IMG * IMG + j] - PIX_MEAN) / PIX_STD;
    FrTensor *feat = NULL;
    FrTensor *y = forward(net, g, x, &feat);
    memcpy(logits + (int64_t)i * NCLS, y->data, sizeof(float) * (size_t)b * NCLS);
    if (features) memcpy(features + (int64_t)i * HID, feat->data, sizeof(float) * (size_t)b * HID);
    fr_graph_reset(g);
  }
  fr_graph_free(g);
}

static int argmax10(const float *x) {
  int best = 0;
  for (int j = 1; j < NCLS; j++)
    if (x[j] > x[best]) best = j;
  return best;
}

/* accuracy and mean cross-entropy over a data set, in inference mode */
static void eval_set(FrClassifier *net, const FrFmnist *d, FrClassifierEval *out) {
  gint64 t0 = g_get_monotonic_time();
  FrGraph *g = fr_graph_new(0);
  g->grad_enabled = false;
  g->training = false;
  const int chunk = 125;   /* small batches keep the evaluation's arena (and peak memory) small */
  int correct = 0;
  double loss = 0;
  int32_t labels[125];
  for (int i = 0; i < d->n; i += chunk) {
    int b = MIN(chunk, d->n - i);
    FrTensor *x = fr_tensor_new(g, 4, FR_SHAPE(b, 1, IMG, IMG));
    normalise(d->pixels + (int64_t)i * IMG * IMG, b, x->data);
    for (int j = 0; j < b; j++) labels[j] = d->labels[i + j];
    FrTensor *y = forward(net, g, x, NULL);
    FrTensor *l = fr_cross_entropy(g, y, labels, 0.0f);
    loss += l->data[0] * b;
    for (int j = 0; j < b; j++) correct += argmax10(y->data + j * NCLS) == labels[j];
    fr_graph_reset(g);
  }
  fr_graph_free(g);
  out->n = d->n;
  out->accuracy = d->n ? (double)correct / d->n : 0;
  out->loss = d->n ? loss / d->n : 0;
  out->seconds = (g_get_monotonic_time() - t0) / 1e6;
}

gboolean fr_classifier_evaluate(FrClassifier *net, const char *data_dir, FrClassifierEval *out, GError **error) {
  FrFmnist *test = fr_fmnist_load(data_dir, FALSE, error);
  if (!test) return FALSE;
  eval_set(net, test, out);
  fr_fmnist_free(test);
  return TRUE;
}

static gboolean cancelled(FrJob *job, GError **error) {
  if (!job || !fr_job_is_cancelled(job)) return FALSE;
  g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "cancelled");
  return TRUE;
}

gboolean fr_classifier_train_job(FrJob *job, gpointer data, GError **error) {
  const FrClassifierTrainConfig *cfg = data;
  if (cfg->epochs < 1 || cfg->epochs > 1000 || cfg->batch_size < 1 || cfg->batch_size > 4096 || !(cfg->lr > 0) ||
      cfg->lr > 10 || cfg->weight_decay < 0 || cfg->threads < 0 || cfg->max_steps < 0 || cfg->train_limit < 0) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "invalid training settings: epochs 1..1000, batch 1..4096, learning rate in (0, 10], "
                "weight decay >= 0");
    return FALSE;
  }
  if (cfg->threads > 0) fr_pool_set_threads(cfg->threads);
  fr_job_progress(job, 0, "loading Fashion-MNIST");
  FrFmnist *train = fr_fmnist_load(cfg->data_dir, TRUE, error);
  if (!train) return FALSE;
  FrFmnist *test = fr_fmnist_load(cfg->data_dir, FALSE, error);
  if (!test) {
    fr_fmnist_free(train);
    return FALSE;
  }
  int n_train = cfg->train_limit > 0 ? MIN(cfg->train_limit, train->n) : train->n;
  int B = cfg->batch_size;
  int steps_per_epoch = n_train / B;   /* drop the last partial batch, as PyTorch's drop_last */
  if (steps_per_epoch < 1) steps_per_epoch = 1, B = n_train;
  int64_t total = (int64_t)steps_per_epoch * cfg->epochs;
  if (cfg->max_steps > 0 && cfg->max_steps < total) total = cfg->max_steps;

  FrClassifier *net = fr_classifier_new(cfg->seed);
  int n_trainable;
  FrTensor **trainable = fr_param_set_trainable(net->params, &n_trainable);
  FrOptimConfig oc = fr_optim_config_adam((float)cfg->weight_decay, true);
  FrOptim *opt = fr_optim_new(&oc, trainable, n_trainable);
  FrGraph *g = fr_graph_new(0);
  if (cfg->profile) fr_profile_attach(cfg->profile, g);
  fr_rng_seed(&g->rng, cfg->seed * 7919 + 1);
  FrRng shuf;
  fr_rng_seed(&shuf, cfg->seed);
  int *order = g_new(int, n_train);
  int32_t *labels = g_new(int32_t, B);
  gboolean ok = TRUE;
  gint64 t_start = g_get_monotonic_time();
  int64_t step = 0;
  double loss_window[50] = {0};
  FrClassifierEval last = {0};
  gint64 eval_us = 0;   /* evaluation time, kept out of the training speed */

  for (int epoch = 1; epoch <= cfg->epochs && step < total && ok; epoch++) {
    for (int i = 0; i < n_train; i++) order[i] = i;
    fr_rng_shuffle_int(&shuf, order, n_train);
    double ep_loss = 0;
    int ep_correct = 0, ep_seen = 0;
    for (int s = 0; s < steps_per_epoch && step < total; s++) {
      if (cancelled(job, error)) { ok = FALSE; break; }
      g->training = true;
      FrTensor *x = fr_tensor_new(g, 4, FR_SHAPE(B, 1, IMG, IMG));
      for (int j = 0; j < B; j++) {
        int idx = order[s * B + j];
        normalise(train->pixels + (int64_t)idx * IMG * IMG, 1, x->data + (int64_t)j * IMG * IMG);
        labels[j] = train->labels[idx];
      }
      FrTensor *logits = forward(net, g, x, NULL);
      FrTensor *loss = fr_cross_entropy(g, logits, labels, 0.0f);
      fr_optim_zero_grad(opt);
      fr_graph_backward(g, loss);
      float lr = fr_schedule_lr(FR_SCHED_COSINE, (float)cfg->lr, step, total, 0, 0.0f);
      fr_optim_step(opt, lr);
      for (int j = 0; j < B; j++) ep_correct += argmax10(logits->data + j * NCLS) == labels[j];
      ep_seen += B;
      ep_loss += loss->data[0];
      loss_window[step % 50] = loss->data[0];
      step++;
      fr_graph_reset(g);
      if (step % 10 == 0 || step == total) {
        int w = (int)MIN(step, 50);
        double lw = 0;
        for (int k = 0; k < w; k++) lw += loss_window[k];
        lw /= w;
        fr_job_emit(job, "train.step", g_variant_new("(uudd)", (guint32)step, (guint32)total, lw, (double)lr), NULL);
        double secs = (g_get_monotonic_time() - t_start - eval_us) / 1e6;
        fr_job_progress(job, (double)step / (double)total, "epoch %d/%d, step %lld/%lld, loss %.4f, %.0f img/s",
                        epoch, cfg->epochs, (long long)step, (long long)total, lw, step * B / (secs > 0 ? secs : 1));
      }
    }
    if (!ok) break;
    gint64 t_eval = g_get_monotonic_time();
    eval_set(net, test, &last);
    eval_us += g_get_monotonic_time() - t_eval;
    double train_acc = ep_seen ? (double)ep_correct / ep_seen : 0;
    fr_job_emit(job, "train.epoch",
                g_variant_new("(udddd)", (guint32)epoch, ep_seen ? ep_loss * B / ep_seen : 0, train_acc, last.loss,
                              last.accuracy),
                NULL);
    fr_job_log(job, "epoch %d: train loss %.4f acc %.4f, test loss %.4f acc %.4f", epoch,
               ep_seen ? ep_loss * B / ep_seen : 0.0, train_acc, last.loss, last.accuracy);
    if (cfg->output && !fr_classifier_save(net, cfg->output, error)) ok = FALSE;
  }
  if (ok) {
    double secs = (g_get_monotonic_time() - t_start - eval_us) / 1e6;
    fr_job_emit(job, "train.result",
                g_variant_new("(dddu)", last.accuracy, secs, step * B / (secs > 0 ? secs : 1),
                              (guint32)fr_classifier_n_params(net)),
                NULL);
    fr_job_progress(job, 1.0, "test accuracy %.2f%% after %.1f s", 100 * last.accuracy, secs);
  }
  g_free(order);
  g_free(labels);
  fr_graph_free(g);
  fr_optim_free(opt);
  fr_classifier_free(net);
  fr_fmnist_free(train);
  fr_fmnist_free(test);
  return ok;
}
