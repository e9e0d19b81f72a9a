/* fr-optim.h: optimisers (PyTorch semantics) and learning-rate schedules. */
#pragma once
#include "fr-tensor.h"

G_BEGIN_DECLS

typedef enum { FR_OPT_SGD, FR_OPT_ADAM, FR_OPT_ADAMW } FrOptKind;

typedef struct {
  FrOptKind kind;
  float momentum;       /* SGD */
  bool nesterov;        /* SGD */
  float weight_decay;   /* SGD/Adam: L2 added to the gradient; AdamW: decoupled */
  float beta1, beta2, eps;
} FrOptimConfig;

FrOptimConfig fr_optim_config_sgd(float momentum, bool nesterov, float weight_decay);
FrOptimConfig fr_optim_config_adam(float weight_decay, bool decoupled);

typedef struct FrOptim FrOptim;

/* The optimiser keeps pointers to params (owned by the model) and its own state. */
FrOptim *fr_optim_new(const FrOptimConfig *cfg, FrTensor **params, int n_params);
void fr_optim_free(FrOptim *o);
void fr_optim_zero_grad(FrOptim *o);
void fr_optim_step(FrOptim *o, float lr);
int64_t fr_optim_get_step(const FrOptim *o);
/* Per-parameter state for checkpoints: first and second moment (or momentum buffer), may be NULL. */
float *fr_optim_state(FrOptim *o, int i, int which);
void fr_optim_set_step(FrOptim *o, int64_t step);

typedef enum { FR_SCHED_CONSTANT, FR_SCHED_COSINE, FR_SCHED_LINEAR, FR_SCHED_INVSQRT } FrSchedKind;
/* Linear warm-up over `warmup` steps, then the schedule from base to min_lr at step `total`
 * (inverse square root ignores total). */
float fr_schedule_lr(FrSchedKind kind, float base, int64_t step, int64_t total, int64_t warmup, float min_lr);

G_END_DECLS
