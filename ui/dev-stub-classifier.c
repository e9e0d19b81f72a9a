/* dev-stub-classifier.c: TEMPORARY stand-in for engine/core/fr-classifier.c (simulated training
 * curves, no real learning) so the UI can be exercised before the engine lands. ui/meson.build
 * only compiles it while engine/core/fr-classifier.c is absent. */
#include <math.h>
#include "fr-classifier.h"

void
fr_classifier_train_config_init(FrClassifierTrainConfig *cfg)
{
  *cfg = (FrClassifierTrainConfig){ .epochs = 4, .batch_size = 64, .lr = 2e-3, .weight_decay = 1e-4, .seed = 1 };
}

FrClassifierTrainConfig *
fr_classifier_train_config_copy(const FrClassifierTrainConfig *cfg)
{
  FrClassifierTrainConfig *c = g_memdup2(cfg, sizeof *cfg);
  c->data_dir = g_strdup(cfg->data_dir);
  c->output = g_strdup(cfg->output);
  return c;
}

void
fr_classifier_train_config_free(gpointer p)
{
  FrClassifierTrainConfig *c = p;
  if (!c)
    return;
  g_free((char *)c->data_dir);
  g_free((char *)c->output);
  g_free(c);
}

gboolean
fr_classifier_train_job(FrJob *job, gpointer data, GError **error)
{
  FrClassifierTrainConfig *cfg = data;
  int n = cfg->train_limit > 0 ? cfg->train_limit : 60000;
  guint per_epoch = (guint)((n + cfg->batch_size - 1) / cfg->batch_size);
  guint total = per_epoch * (guint)cfg->epochs;
  if (cfg->max_steps > 0 && (guint)cfg->max_steps < total)
    total = (guint)cfg->max_steps;
  gint64 t0 = g_get_monotonic_time();
  GRand *r = g_rand_new_with_seed((guint32)cfg->seed);
  fr_job_progress(job, 0, "Loading Fashion-MNIST (dev stub)");
  g_usleep(200000);
  for (guint s = 1; s <= total; s++) {
    if (fr_job_is_cancelled(job)) {
      g_rand_free(r);
      g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "Cancelled");
      return FALSE;
    }
    g_usleep(2000);
    double t = (double)s / total;
    double loss = 0.25 + 2.0 * exp(-6.0 * t) + 0.05 * g_rand_double(r);
    double lr = cfg->lr * 0.5 * (1 + cos(M_PI * t));
    fr_job_emit(job, "train.step", g_variant_new("(uudd)", s, total, loss, lr), NULL);
    if (s % per_epoch == 0 || s == total) {
      guint e = (s + per_epoch - 1) / per_epoch;
      double acc = 0.93 - 0.2 * exp(-3.0 * e);
      fr_job_emit(job, "train.epoch", g_variant_new("(udddd)", e, loss, acc + 0.01, loss * 1.1, acc), NULL);
    }
    if (s % 20 == 0)
      fr_job_progress(job, t, "Epoch %u/%d · step %u/%u", (s - 1) / per_epoch + 1, cfg->epochs, s, total);
  }
  double secs = (g_get_monotonic_time() - t0) / 1e6;
  fr_job_emit(job, "train.result", g_variant_new("(dddu)", 0.9123, secs, total * cfg->batch_size / secs, 206922u), NULL);
  if (cfg->output)
    g_file_set_contents(cfg->output, "dev-stub model\n", -1, NULL);
  fr_job_progress(job, 1.0, "Done");
  g_rand_free(r);
  return TRUE;
}
