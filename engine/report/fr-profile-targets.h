/* fr-profile-targets.h: what the profiler can profile, by name, and the profile itself as a job.
 *
 * A target builds a model (shipped weights when data/ has them, random weights otherwise: timing does
 * not depend on the values) and runs "one forward" of it on a fixed random input:
 *   classifier               the Fashion-MNIST CNN, batch of 28x28 images (default 64)
 *   apq, apq-qat-100M|120M|150M, apq-largest, apq-smallest
 *                            fmnist-mini subnets on the once-for-all supernet (the QAT specs of
 *                            data/apq/qat-*.json run with fake quantization, as the engine does)
 *   gan-teacher, gan-student-10x, gan-student-20x, gan-supernet
 *                            the miniature's generators, 32x32 grey (default batch 1)
 *   gan-resnet-ngf64-256, gan-compressed-256
 *                            GAN Compression's paper scale, 3x256x256: the ResNet ngf 64 teacher and
 *                            the compressed edges2shoes student 32_32_48_32_48_48_16_16 (random)
 *   transformer-small, lite-small, transformer, lite
 *                            the translation models (random weights): the encoder over B source
 *                            sentences of 24 tokens, then 24 greedy decoder steps (default B 1)
 *   spgemm[:MATRIX]          C = A·A with the CPU SpGEMM; MATRIX: a shipped name (wiki-Vote, the
 *                            default), a .mtx(.gz) path or a generator spec (rmat:scale=12,edges=8)
 * Layers: scopes in the classifier and the GAN generators; automatic layers elsewhere (fr-profiler.h);
 * the translation models' top scopes are "encoder" and "decoder" (every step aggregated). */
#pragma once
#include "fr-job.h"
#include "fr-profiler.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;
  const char *family;      /* "classifier", "apq", "gan", "lsra", "spgemm" */
  const char *summary;
  int default_batch;       /* 0: batch does not apply */
} FrProfileTargetInfo;

/* The fixed list (patterns like spgemm:MATRIX appear once, as "spgemm:MATRIX"). */
const FrProfileTargetInfo *fr_profile_targets(int *n);

#define FR_PROFILE_ERROR (fr_profile_error_quark())
GQuark fr_profile_error_quark(void);
typedef enum {
  FR_PROFILE_ERROR_UNKNOWN_TARGET,
  FR_PROFILE_ERROR_INVALID,
  FR_PROFILE_ERROR_LOAD,
} FrProfileError;

typedef struct _FrProfileModel FrProfileModel;

/* Builds target `name`; batch 0: its default. NULL with an error for an unknown name or a file that
 * cannot be read. */
FrProfileModel *fr_profile_model_new(const char *name, int batch, GError **error);
void fr_profile_model_free(FrProfileModel *m);
const char *fr_profile_model_name(const FrProfileModel *m);
const char *fr_profile_model_description(const FrProfileModel *m);
int fr_profile_model_batch(const FrProfileModel *m);
/* MACs of one run by the model's own cost model (fr_gan_cost, fr_apq_spec_macs ...); NAN: none. */
double fr_profile_model_macs(const FrProfileModel *m);
/* One run; p NULL: no profiler anywhere (the unprofiled baseline). The caller brackets a profiled
 * run with fr_profiler_begin_run/end_run; graphs the model makes inside its calls reach p through
 * fr_profiler_set_thread_default, which this sets and clears around the run. */
void fr_profile_model_run(FrProfileModel *m, FrProfiler *p);

/* ---- the profile ---- */

typedef struct {
  const char *target;
  int threads;             /* 0: all cores */
  int batch;               /* 0: the target's default */
  int runs;                /* timed runs, default 5 */
  int warmup;              /* untimed runs first, default 2 */
  gboolean overhead;       /* also time `runs` runs without the profiler (interleaved): info.overhead */
  gboolean roofline;       /* attach the machine's ceilings (cached; measured the first time), default TRUE */
  gboolean remeasure_roofline;
  const char *roofline_cache; /* NULL: the default cache file */
  gboolean wall_only;      /* no CPU clocks per op (fr_graph_set_profile_cpu_clocks): less overhead on
                              models of many tiny ops; thread and process CPU times are then 0 */
} FrProfileConfig;

void fr_profile_config_init(FrProfileConfig *c);

/* Runs a whole profile on the calling thread. Errors are FR_JOB_ERROR: INVALID_ARGUMENT for an unknown
 * target or a bad setting, FAILED for a model that cannot be read. job (nullable) receives progress, "profile.run"
 * payloads "(uud)" (run, runs, ms) and is checked for cancel between runs (then NULL with
 * FR_JOB_ERROR_CANCELLED). The pool's thread count and fr_graph_set_profile_cpu_clocks are set for the
 * profile and restored at the end; both are process-wide, so other engine work running meanwhile
 * (another job in the GUI) sees them, and disturbs the timing: profile with nothing else running. */
FrProfileResult *fr_profile_run(const FrProfileConfig *c, FrJob *job, GError **error);

/* The same as a job. The task keeps the result: fr_profile_task_result after the job finished. */
typedef struct _FrProfileTask FrProfileTask;
FrProfileTask *fr_profile_task_start(const FrProfileConfig *c);
FrJob *fr_profile_task_job(FrProfileTask *t);                 /* borrowed */
FrProfileResult *fr_profile_task_result(FrProfileTask *t);    /* a new ref, NULL unless it succeeded */
void fr_profile_task_unref(FrProfileTask *t);

G_END_DECLS
