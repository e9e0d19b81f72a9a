/* fr-classifier.h: the Fashion-MNIST CNN that proves the engine trains, and whose penultimate
 * features later serve the GAN pages' FID-like metric.
 *
 * Network (NCHW, 28x28x1 input, pixels scaled to [0,1] then normalised by mean 0.2860, std 0.3530):
 *   conv 1->16 3x3 pad 1, batch norm, ReLU, max pool 2
 *   conv 16->32 3x3 pad 1, batch norm, ReLU, max pool 2
 *   flatten 32*7*7 -> linear 128, ReLU, dropout 0.25 -> linear 10
 */
#pragma once
#include <glib.h>
#include "fr-job.h"

G_BEGIN_DECLS

typedef struct _FrClassifier FrClassifier;

typedef struct {
  int epochs;            /* default 4 */
  int batch_size;        /* default 64 */
  double lr;             /* Adam learning rate, default 2e-3, cosine decay to 0 */
  double weight_decay;   /* AdamW decoupled decay, default 1e-4 */
  guint64 seed;          /* default 1 */
  int threads;           /* 0: all cores */
  int max_steps;         /* 0: no limit; else stop after this many steps (tests, demos) */
  int train_limit;       /* 0: all 60k training images; else the first N */
  const char *data_dir;  /* NULL: FR_FMNIST_DIR */
  const char *output;    /* safetensors path to write at the end (and at each epoch); may be NULL */
  struct FrProfile *profile; /* when set, every training op is recorded into it (not owned, not copied) */
} FrClassifierTrainConfig;

void fr_classifier_train_config_init(FrClassifierTrainConfig *cfg);

/* Job payloads emitted by the training job (GVariant types):
 *   "train.step"  (uudd)   step, total_steps, loss (running mean over the last 50 steps), lr
 *   "train.epoch" (udddd)  epoch (1-based), train_loss, train_acc, test_loss, test_acc
 *   "train.result"(dddu)   final test accuracy, seconds in training steps (evaluation excluded),
 *                          training images/s, parameters
 * The data pointer given to fr_job_start is a FrClassifierTrainConfig copied with
 * fr_classifier_train_config_copy (free with fr_classifier_train_config_free). */
gboolean fr_classifier_train_job(FrJob *job, gpointer cfg, GError **error);
FrClassifierTrainConfig *fr_classifier_train_config_copy(const FrClassifierTrainConfig *cfg);
void fr_classifier_train_config_free(gpointer cfg);

FrClassifier *fr_classifier_new(guint64 seed);
void fr_classifier_free(FrClassifier *net);
FrClassifier *fr_classifier_load(const char *path, GError **error);
gboolean fr_classifier_save(FrClassifier *net, const char *path, GError **error);
size_t fr_classifier_n_params(FrClassifier *net);

/* Inference on n images of 28*28 floats in [0,1]; writes n*10 logits and, when features is not
 * NULL, n*128 penultimate features. */
void fr_classifier_forward(FrClassifier *net, const float *images, int n, float *logits, float *features);

typedef struct { double accuracy; double loss; int n; double seconds; } FrClassifierEval;
gboolean fr_classifier_evaluate(FrClassifier *net, const char *data_dir, FrClassifierEval *out, GError **error);

G_END_DECLS
