/* fr-checkpoint.h: reading a training run's checkpoint (a safetensors file whose metadata names its
 * format, run and step) all or nothing: every tensor is read and checked into staging buffers first,
 * and only fr_checkpoint_in_commit copies them into the model and optimiser. The APQ, GAN and
 * translation-model trainers share it; each writes its own tensors and names. */
#pragma once
#include "fr-optim.h"
#include "fr-safetensors.h"
#include "fr-tensor.h"

G_BEGIN_DECLS

typedef struct FrCheckpointIn FrCheckpointIn;

/* Opens path and checks its metadata: "format" equals format, "step" is an integer in [0, max_step]
 * (max_step < 0: no upper bound), "run" equals run_id. Errors are (domain, code_format) for a file
 * that is not such a checkpoint, (domain, code_run) for another run's, and say "a Frontier <what>
 * checkpoint"; the safetensors reader's own error for an unreadable file. */
FrCheckpointIn *fr_checkpoint_in_open(const char *path, const char *format, const char *what, const char *run_id,
                                      gint64 max_step, GQuark domain, gint code_format, gint code_run,
                                      GError **error);
void fr_checkpoint_in_free(FrCheckpointIn *c);
gint64 fr_checkpoint_in_step(const FrCheckpointIn *c);
const char *fr_checkpoint_in_metadata(const FrCheckpointIn *c, const char *key);   /* NULL if absent */
/* Stages tensor `name` (shaped like `like`, any float dtype) for `target` (numel(like) floats). */
gboolean fr_checkpoint_in_take(FrCheckpointIn *c, const char *name, const FrTensor *like, float *target,
                               GError **error);
/* Stages an F64 vector of exactly n values for `target`; (domain, code_format) error otherwise. */
gboolean fr_checkpoint_in_take_f64(FrCheckpointIn *c, const char *name, int64_t n, double *target, GError **error);
/* Stages an optimiser's two moment buffers of each of the n parameters, named PREFIX "m." NAME and
 * PREFIX "v." NAME (what fr_checkpoint_add_optim writes). */
gboolean fr_checkpoint_in_take_optim(FrCheckpointIn *c, const char *prefix, FrOptim *opt, FrTensor *const *params,
                                     int n, GError **error);
/* Copies every staged buffer to its target. */
void fr_checkpoint_in_commit(FrCheckpointIn *c);

/* Writing: a writer whose metadata already names format, run and step; add the tensors, then save. */
FrSafetensorsWriter *fr_checkpoint_writer_new(const char *format, const char *run_id, gint64 step);
/* Adds the optimiser's moments of the n parameters, named as fr_checkpoint_in_take_optim reads them. */
void fr_checkpoint_add_optim(FrSafetensorsWriter *w, const char *prefix, FrOptim *opt, FrTensor *const *params, int n);

G_END_DECLS
