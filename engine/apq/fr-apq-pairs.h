/* fr-apq-pairs.h: <architecture, accuracy> pairs measured on the supernet, the predictors' training
 * data.
 *
 * fp32 pairs: a random subnet's weights are inherited from the supernet, its batch-norm statistics
 * re-calibrated on 1,000 training images, and its top-1 accuracy measured on the 10,000 held-out
 * images. Quantized pairs: a random subnet with a random bit policy is first fine-tuned briefly with
 * quantization-aware training (its own copy of the weights), then measured the same way.
 *
 * Files: CSV with one row per pair, written (and flushed) as each pair finishes, so an interrupted run
 * loses only the pairs in flight; --resume checks that the rows on disk are the ones this run would
 * make (same specs in the same order) and carries on. Columns:
 *   index,spec,accuracy,macs,bitops,params,seconds
 * spec in fr_apq_spec_to_string form (quoted), accuracy in 0..1, costs per image. A JSON copy
 * (atomic) is written at the end. */
#pragma once
#include "fr-apq-space.h"
#include "fr-job.h"

G_BEGIN_DECLS

typedef struct {
  int n;
  FrApqSpec *specs;
  double *accuracy;
  double *macs, *bitops;
} FrApqPairs;

/* Reads a pairs CSV; every spec is validated against space. Clear errors name file and line. */
FrApqPairs *fr_apq_pairs_load(const char *path, const FrApqSpace *space, GError **error);
void fr_apq_pairs_free(FrApqPairs *p);
/* Features (n x (arch_dim + quant_dim)) of the pairs [from, from+n), and their accuracies. */
float *fr_apq_pairs_features(const FrApqPairs *p, const FrApqSpace *space, int from, int n);

typedef struct {
  char *supernet;          /* weights; NULL: the shipped data/apq/supernet.safetensors */
  char *output;            /* CSV path (JSON next to it, .json) */
  gboolean quantized;
  int count;               /* default 2000 (fp32) / 300 (quantized) */
  guint64 seed;            /* default 1 (fp32) / 2 (quantized) */
  int threads;             /* subnets measured at once, default all cores */
  int calib_images;        /* default 1000 */
  int eval_images;         /* default 10000 (the whole held-out split) */
  int finetune_steps;      /* quantized: default 80 */
  int finetune_batch;      /* default 64 */
  double finetune_lr;      /* default 5e-4 */
  gboolean resume;
  char *data_dir;
} FrApqPairsConfig;

void fr_apq_pairs_config_init(FrApqPairsConfig *cfg, gboolean quantized);
FrApqPairsConfig *fr_apq_pairs_config_copy(const FrApqPairsConfig *cfg);
void fr_apq_pairs_config_free(gpointer cfg);

/* The i-th spec of a run (so a resumed run can check what is on disk). */
void fr_apq_pairs_spec(const FrApqSpace *space, gboolean quantized, guint64 seed, int i, FrApqSpec *out);

/* Payloads: "apq.pair" (uddd) index, accuracy, macs, seconds, for every finished pair;
 *           "apq.pairs.result" (udd) pairs on disk, mean accuracy, seconds. */
gboolean fr_apq_pairs_job(FrJob *job, gpointer cfg, GError **error);

G_END_DECLS
