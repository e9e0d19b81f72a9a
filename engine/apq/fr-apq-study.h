/* fr-apq-study.h: fitting the APQ predictors on measured pairs, and APQ's central experiment: how
 * good the quantization-aware predictor gets from few quantized pairs, trained from scratch or
 * transferred from the full-precision predictor.
 *
 * Splits are fixed so every number is comparable: of a pairs file, the last `test` rows are held out
 * (default: 400 of the fp32 pairs, 60 of the quantized pairs) and never trained on. */
#pragma once
#include "fr-apq-pairs.h"
#include "fr-apq-predictor.h"

G_BEGIN_DECLS

typedef struct {
  char *pairs;          /* CSV */
  char *output;         /* predictor safetensors */
  gboolean quantized;   /* fit the quantization-aware predictor (with the bits branch) */
  char *transfer_from;  /* quantized: start from this fp32 predictor (NULL: from scratch) */
  int test;             /* held-out rows at the end (default 400 fp32, 60 quantized) */
  int train_limit;      /* 0: every other row; else the first N */
  FrApqPredictorTrainConfig train;
} FrApqFitConfig;

void fr_apq_fit_config_init(FrApqFitConfig *cfg, gboolean quantized);
FrApqFitConfig *fr_apq_fit_config_copy(const FrApqFitConfig *cfg);
void fr_apq_fit_config_free(gpointer cfg);

/* Payload "apq.fit.result" (dddduu): held-out RMSE and Kendall tau, train RMSE and tau, rows
 * trained on, rows held out. */
gboolean fr_apq_fit_job(FrJob *job, gpointer cfg, GError **error);

/* Held-out quality of a predictor on rows [from, from+n) of pairs. */
void fr_apq_predictor_score(const FrApqPredictor *p, const FrApqPairs *pairs, const FrApqSpace *space, int from,
                            int n, double *rmse, double *tau);

typedef struct {
  char *quant_pairs;    /* quantized pairs CSV */
  char *fp32_predictor; /* the transfer source */
  char *output;         /* study CSV (resumable); a summary table (.md) and plot (.svg) next to it */
  int sizes[8];         /* quantized pairs used for training; 0-terminated; a size above the
                           available rows means "all" */
  int seeds;            /* default 5 */
  int test;             /* held-out quantized rows, default 60 */
  gboolean resume;
  FrApqPredictorTrainConfig train;
} FrApqStudyConfig;

void fr_apq_study_config_init(FrApqStudyConfig *cfg);
FrApqStudyConfig *fr_apq_study_config_copy(const FrApqStudyConfig *cfg);
void fr_apq_study_config_free(gpointer cfg);

/* Payload "apq.study.row" (usudd): size, method ("scratch"/"transfer"), seed, RMSE, tau;
 *         "apq.study.result" (u): rows in the study file. */
gboolean fr_apq_study_job(FrJob *job, gpointer cfg, GError **error);

G_END_DECLS
