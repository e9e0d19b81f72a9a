/* fr-gan-train.h: the GAN Compression pipeline as resumable jobs.
 *
 *   teacher   ResNet generator + conditional PatchGAN, hinge loss + 100 L1, Adam 2e-4 (0.5, 0.999)
 *   supernet  once-for-all mobile student distilled from the teacher: every step samples a config;
 *             loss = GAN + 100 * reconstruction + lambda * sum of MSE(adaptor(student tap), teacher tap)
 *             at FR_GAN_TAPS points through learnable 1x1 adaptors sliced to the sampled width.
 *             unpaired: the reconstruction target is the teacher's output instead of the ground truth.
 *   finetune  the same loss at one fixed config (a chosen student)
 *
 * Checkpoints (generator, discriminator, adaptors, Adam moments, step) are written every
 * checkpoint_every steps next to the output; --resume continues a run with the same settings
 * bit-for-bit and refuses another run's checkpoint. */
#pragma once
#include "fr-gan.h"
#include "fr-job.h"

G_BEGIN_DECLS

typedef enum { FR_GAN_STAGE_TEACHER, FR_GAN_STAGE_SUPERNET, FR_GAN_STAGE_FINETUNE } FrGanStage;

typedef struct {
  FrGanStage stage;
  int ngf;                 /* teacher: its stem width (default 16); supernet: the student's widest (16) */
  int ndf;                 /* discriminator width (default 32) */
  int steps;               /* total steps (default 3000) */
  int batch_size;          /* default 16 */
  double lr;               /* default 2e-4, constant then linear decay over the last half */
  double lambda_l1;        /* default 100 */
  double lambda_distill;   /* default 1 */
  gboolean unpaired;       /* reconstruct the teacher's output */
  gboolean sandwich;       /* supernet: the widest and narrowest sub-generators train every step too */
  guint64 seed;            /* default 1 */
  int threads;             /* 0: all cores */
  int train_limit;         /* 0: all FR_GAN_TRAIN_IMAGES */
  int checkpoint_every;    /* default 100 */
  int stop_after;          /* 0: run to the end; else checkpoint and stop once this many steps are done
                            * (time-sliced runs; a later --resume goes on); no generator is written then */
  int sample_every;        /* emit a sample grid every this many steps (default 100) */
  gboolean resume;
  const char *teacher;     /* supernet, finetune: the teacher's file */
  const char *init;        /* finetune: the supernet to start from */
  const char *config;      /* finetune: the student's config string */
  const char *data_dir;    /* NULL: FR_FMNIST_DIR */
  const char *output;      /* generator file to write; the discriminator goes beside it as NAME.disc.safetensors */
  const char *checkpoint;  /* NULL: output + ".ckpt" */
} FrGanTrainConfig;

void fr_gan_train_config_init(FrGanTrainConfig *cfg, FrGanStage stage);
FrGanTrainConfig *fr_gan_train_config_copy(const FrGanTrainConfig *cfg);
void fr_gan_train_config_free(gpointer cfg);

/* Job payloads:
 *   "gan.train.step"   (uudddd)  step, total, generator loss, discriminator loss, L1, distillation loss
 *                                (the last three running means over 20 steps; distillation 0 for the teacher)
 *   "gan.train.sample" (uuay)    step, n, then n rows of 3 images (sketch, generated, real), 32x32 bytes each
 *   "gan.train.eval"   (udddd)   step, fid_like, accuracy, l1, seconds so far (on 1,000 search-split images)
 *   "gan.train.result" (dddd)    fid_like, accuracy, l1, seconds of training */
gboolean fr_gan_train_job(FrJob *job, gpointer cfg, GError **error);

/* ---- search ---- */
typedef enum { FR_GAN_SEARCH_EVOLUTION, FR_GAN_SEARCH_GRID } FrGanSearchMode;
typedef struct {
  FrGanSearchMode mode;
  const char *supernet;     /* the once-for-all student */
  double budget_macs;       /* true MACs per 32x32 image; required (> 0) */
  int population;           /* evolution: default 16 */
  int generations;          /* evolution: default 8 */
  int eval_images;          /* search-split images per candidate (default 2000) */
  guint64 seed;
  int threads;
  const char *data_dir;
  const char *classifier;   /* NULL: shipped */
  const char *output;       /* JSON of every evaluated candidate and the winner; may be NULL */
  const char *teacher;      /* when set, scored on the same images and written as "teacher" */
} FrGanSearchConfig;
void fr_gan_search_config_init(FrGanSearchConfig *cfg);
FrGanSearchConfig *fr_gan_search_config_copy(const FrGanSearchConfig *cfg);
void fr_gan_search_config_free(gpointer cfg);
/* Payloads:
 *   "gan.search.candidate" (sddddu) config, macs, macs_paper, fid_like, accuracy, generation
 *   "gan.search.result"    (sddddd) winner's config, macs, macs_paper, fid_like, accuracy, l1
 * A budget below the smallest sub-generator fails with FR_GAN_ERROR_INFEASIBLE naming the minimum. */
gboolean fr_gan_search_job(FrJob *job, gpointer cfg, GError **error);

G_END_DECLS
