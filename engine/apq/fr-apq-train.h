/* fr-apq-train.h: training the once-for-all supernet (sandwich rule) and quantization-aware
 * training of one subnet, both as resumable jobs; and the brief in-memory QAT fine-tune the
 * quantized pairs use.
 *
 * Data split (fixed, shared by the whole pipeline): the first FR_APQ_TRAIN_IMAGES images of the
 * Fashion-MNIST training set train; the remaining 10,000 are held out for accuracy pairs and the
 * search; the test set is touched only by the final ground-truth report.
 *
 * Sandwich rule (BigNAS/OFA-style): every step accumulates the gradients of the largest subnet, the
 * smallest, and two random ones, one of the random ones and (every other step) the smallest with a
 * random bit policy under fake quantization, so that quantized subnets inherit weights that work
 * quantized. */
#pragma once
#include "fr-apq-supernet.h"
#include "fr-fmnist.h"
#include "fr-job.h"

G_BEGIN_DECLS

#define FR_APQ_TRAIN_IMAGES 50000

typedef struct {
  int epochs;              /* default 6 (supernet), 3 (QAT) */
  int batch_size;          /* default 128 */
  double lr;               /* AdamW, cosine to 0; default 3e-3 (supernet), 5e-4 (QAT) */
  double weight_decay;     /* default 5e-5 */
  guint64 seed;            /* default 1 */
  int threads;             /* 0: all cores */
  int max_steps;           /* 0: no limit (tests) */
  int train_limit;         /* 0: all FR_APQ_TRAIN_IMAGES */
  int checkpoint_every;    /* steps between checkpoints, default 100 */
  gboolean resume;         /* continue from the checkpoint when it exists */
  char *data_dir;          /* NULL: FR_FMNIST_DIR */
  char *output;            /* final weights (safetensors) */
  char *checkpoint;        /* NULL: output + ".ckpt" */
  /* QAT of one subnet: start from init (a supernet) and train only spec */
  char *init;
  char *spec;              /* fr_apq_spec_to_string form */
  gboolean evaluate_test;  /* QAT: report test-set accuracy at the end */
} FrApqTrainConfig;

void fr_apq_train_config_init(FrApqTrainConfig *cfg, gboolean qat);
FrApqTrainConfig *fr_apq_train_config_copy(const FrApqTrainConfig *cfg);
void fr_apq_train_config_free(gpointer cfg);

/* Job payloads:
 *   "apq.train.step"   (uudd)  step, total, loss (mean of the step's subnets, last 20 steps), lr
 *   "apq.train.epoch"  (udd)   epoch, held-out accuracy of the largest subnet, of the smallest
 *                              (QAT: both are the trained subnet's)
 *   "apq.train.result" (ddd)   held-out accuracy (largest or the QAT subnet), smallest (or test
 *                              accuracy for QAT, -1 when not asked), seconds */
gboolean fr_apq_train_job(FrJob *job, gpointer cfg, GError **error);

/* Brief QAT fine-tune of spec on net (in place): steps of batch images drawn from the first n
 * training images, AdamW at lr with cosine decay. Deterministic for a seed. Single-threaded use of
 * the caller's thread; safe to run on different nets from different threads. */
void fr_apq_finetune(FrApqSupernet *net, const FrApqSpec *spec, const FrFmnist *train, int n, int steps,
                     int batch, double lr, guint64 seed);

/* A deep copy of the weights (for per-thread fine-tuning). */
FrApqSupernet *fr_apq_supernet_clone(FrApqSupernet *net);

G_END_DECLS
