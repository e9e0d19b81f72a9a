/* fr-apq-predictor.h: APQ's accuracy predictor, an MLP over a one-hot architecture encoding, with the
 * quantization-aware variant's extra bits branch, trained in C; plus the metrics the papers report
 * (RMSE, Kendall tau).
 *
 * Shape (APQ's MLP, tensor names as in its state_dict so released weights convert 1:1):
 *   layers.0.0.{weight [H, arch_dim], bias [H]}
 *   layers.1.0.{weight [H, H], bias}, layers.2.0.{weight [H, H], bias}
 *   quantize_fc.{weight [H, quant_dim], bias [H]}          (quantization-aware predictor only)
 *   regressor.{weight [1, H], bias [1]}
 * Forward, x = [arch (arch_dim) | bits (quant_dim)]:
 *   h = relu(W0 x_arch + b0) (+ Wq x_bits + bq);  h = relu(W1 h + b1);  h = relu(W2 h + b2)
 *   y = Wr h + br          (y is accuracy as a fraction, e.g. 0.91)
 * Note the order in the first layer: ReLU before the bits branch is added, none on the branch.
 *
 * Transfer (APQ section 3.3): a quantization-aware predictor starts from a trained full-precision
 * one: the arch layers and regressor are copied, the bits branch starts at zero (so before
 * fine-tuning it predicts exactly what the fp32 predictor does), then all of it is fine-tuned on
 * the few quantized pairs. */
#pragma once
#include <stdint.h>
#include <glib.h>
#include "fr-job.h"

G_BEGIN_DECLS

typedef struct _FrApqPredictor FrApqPredictor;

/* quant_dim 0: a full-precision predictor (no bits branch). Weights are initialised as PyTorch's
 * nn.Linear does (uniform ±1/sqrt(fan_in)) from seed. */
FrApqPredictor *fr_apq_predictor_new(int arch_dim, int quant_dim, int hidden, guint64 seed);
void fr_apq_predictor_free(FrApqPredictor *p);
int fr_apq_predictor_arch_dim(const FrApqPredictor *p);
int fr_apq_predictor_quant_dim(const FrApqPredictor *p);
int fr_apq_predictor_hidden(const FrApqPredictor *p);
size_t fr_apq_predictor_n_params(const FrApqPredictor *p);

/* Safetensors with the names above; metadata (NULL-terminated key, value pairs) is added to the
 * predictor's own ("format": "frontier-apq-predictor", dims). Load reads the dims from the tensor
 * shapes, so any APQ-shaped file loads; bad files get a clear GError. */
gboolean fr_apq_predictor_save(const FrApqPredictor *p, const char *path, const char *const *metadata,
                               GError **error);
FrApqPredictor *fr_apq_predictor_load(const char *path, GError **error);

/* Makes dst (a quantization-aware predictor) start from src (full precision, same arch_dim and
 * hidden): copies layers 0-2 and the regressor, zeroes quantize_fc. FALSE with error on mismatch. */
gboolean fr_apq_predictor_transfer_from(FrApqPredictor *dst, const FrApqPredictor *src, GError **error);

/* n rows of x, each arch_dim + quant_dim floats (the bits part ignored when quant_dim is 0 is not
 * allowed: rows are exactly the predictor's input width). Writes n predictions. Thread-safe for
 * concurrent calls on the same predictor (no shared scratch). */
void fr_apq_predictor_predict(const FrApqPredictor *p, const float *x, int n, float *y);

/* Fast inference on one-hot inputs, for searches that score tens of thousands of candidates.
 * A plan is a snapshot of the predictor's weights (later training of p does not change it) with the
 * first layer transposed, so a one-hot row's first layer is a sum of contiguous weight columns;
 * the two hidden layers then run as GEMMs over the batch, split across the worker pool.
 * Rows are lists of active input indices, CSR style: row r's ones are at idx[row_ptr[r] ..
 * row_ptr[r + 1]), each in [0, arch_dim + quant_dim) with the same layout as predict's x (every
 * other input is 0; an index listed twice counts twice). Equals fr_apq_predictor_predict on the
 * dense rows up to float rounding (~1e-6). Thread-safe (no shared scratch). */
typedef struct _FrApqPredictorPlan FrApqPredictorPlan;
FrApqPredictorPlan *fr_apq_predictor_plan_new(const FrApqPredictor *p);
void fr_apq_predictor_plan_free(FrApqPredictorPlan *plan);
int fr_apq_predictor_plan_input_dim(const FrApqPredictorPlan *plan);
int fr_apq_predictor_plan_arch_dim(const FrApqPredictorPlan *plan);
int fr_apq_predictor_plan_quant_dim(const FrApqPredictorPlan *plan);
void fr_apq_predictor_plan_predict_onehot(const FrApqPredictorPlan *plan, const int32_t *row_ptr, const int32_t *idx,
                                          int n, float *y);

typedef struct {
  int epochs;           /* default 200 */
  int batch_size;       /* default 64 (clamped to n) */
  double lr;            /* Adam, default 1e-3, cosine decay to 0 */
  double weight_decay;  /* L2 (Adam's coupled decay), default 1e-4 */
  guint64 seed;         /* shuffling, default 1 */
} FrApqPredictorTrainConfig;

void fr_apq_predictor_train_config_init(FrApqPredictorTrainConfig *cfg);

/* Fits p to (x, y) by MSE. x as for predict, y accuracies as fractions. job may be NULL; when set,
 * progress is reported and a cancel stops training with FR_JOB_ERROR_CANCELLED (the weights are
 * then those of the last finished epoch). Returns FALSE with error on bad arguments (n < 1). */
gboolean fr_apq_predictor_train(FrApqPredictor *p, const float *x, const float *y, int n,
                                const FrApqPredictorTrainConfig *cfg, FrJob *job, GError **error);

/* Metrics. Kendall's tau-b (ties in either list handled as scipy.stats.kendalltau does), in
 * O(n log n). RMSE of pred - truth. n < 2 gives tau 0. */
double fr_apq_kendall_tau(const double *a, const double *b, int n);
double fr_apq_rmse(const double *pred, const double *truth, int n);

G_END_DECLS
