/* fr-lsra-train.h: training the translation models (fr-lsra-model.h) on a parallel TSV, as a
 * resumable job.
 *
 * fairseq's recipe: token batches (fr-lsra-data.h), label-smoothed cross-entropy averaged over the
 * batch's target tokens, Adam (0.9, 0.98, eps 1e-8, no weight decay), linear warm-up then inverse
 * square root decay (or cosine to min_lr), optional gradient-norm clipping.
 *
 * Checkpoints (parameters, Adam moments, step; the data position follows from the step, since
 * (seed, epoch, index) determines every batch and dropout mask) are written every checkpoint_every
 * steps; resume continues a run with the same settings bit for bit (at the same thread count) and
 * refuses another run's checkpoint. */
#pragma once
#include "fr-job.h"
#include "fr-lsra-data.h"
#include "fr-lsra-model.h"

G_BEGIN_DECLS

typedef enum { FR_LSRA_SCHED_INVSQRT, FR_LSRA_SCHED_COSINE } FrLsraSchedule;

typedef struct {
  const char *model;        /* one of fr_lsra_mobile_names(), unless custom is set */
  const FrLsraConfig *custom; /* an explicit architecture (tests); its vocabularies are set from the BPE */
  const char *bpe;          /* the joint BPE model file */
  const char *train;        /* English<TAB>German TSV */
  const char *const *dev;   /* NULL-terminated dev TSVs (may be NULL): dev loss every eval_every steps */
  int train_limit;          /* 0: every pair; else the first N usable pairs */
  int dev_limit;            /* pairs taken from the start of each dev file (default 200) */
  int steps;                /* updates (default 20000) */
  int max_tokens;           /* padded tokens per batch, max(B*S, B*T) (default 4096) */
  double lr;                /* peak learning rate (default 1e-3) */
  int warmup;               /* linear warm-up steps (default 1000) */
  FrLsraSchedule schedule;  /* default inverse square root */
  double min_lr;            /* cosine's floor (default 1e-7) */
  double beta1, beta2, eps; /* Adam (0.9, 0.98, 1e-8) */
  double clip_norm;         /* 0: off (default) */
  FrLsraTrainOpts opts;     /* dropout, label smoothing (fr_lsra_train_opts_init) */
  guint64 seed;             /* default 1: initialisation, batch order, dropout */
  int threads;              /* 0: all cores */
  int checkpoint_every;     /* default 200 */
  int eval_every;           /* default 1000; 0: only at the end */
  int stop_after;           /* 0: run to the end; else checkpoint and stop once this many steps are done */
  gboolean resume;
  const char *output;       /* the model file to write */
  const char *checkpoint;   /* NULL: output + ".ckpt" */
} FrLsraTrainConfig;

void fr_lsra_train_config_init(FrLsraTrainConfig *cfg);
FrLsraTrainConfig *fr_lsra_train_config_copy(const FrLsraTrainConfig *cfg);
void fr_lsra_train_config_free(gpointer cfg);

/* Job payloads:
 *   "lsra.train.data"   (xxxxxuu)  pairs read, kept, dropped empty, dropped too long, train target tokens,
 *                                  batches per epoch, dev pairs
 *   "lsra.train.step"   (uuddddd)  step, total, loss (label-smoothed, nats per target token), NLL per
 *                                  target token, learning rate, target tokens per second, seconds so far
 *                                  (loss and NLL running means over the last 20 steps, tokens per second
 *                                  over the steps since the previous payload; every 10 steps)
 *   "lsra.train.eval"   (udddd)    step, dev NLL per target token, dev perplexity, dev target tokens,
 *                                  seconds of training so far
 *   "lsra.train.result" (ddddddx)  dev NLL, dev perplexity (NaN without dev files), train loss and NLL
 *                                  (running means), seconds of training this session, target tokens per
 *                                  second this session, parameters */
gboolean fr_lsra_train_job(FrJob *job, gpointer cfg, GError **error);

/* Dev NLL per target token (nats) of a model over data batched by max_tokens, without dropout;
 * n_tokens (may be NULL) receives the target token count. Batches in length order (no shuffling), so the
 * result depends only on the model and the data. */
double fr_lsra_dev_nll(FrLsraModel *m, const FrLsraData *data, int max_tokens, gint64 *n_tokens);

G_END_DECLS
