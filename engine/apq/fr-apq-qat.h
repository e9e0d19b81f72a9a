/* fr-apq-qat.h: the simple predictor-driven random search that picks the ground-truth models (the
 * full evolutionary search is the APQ search workbench's): sample candidates, keep those within the
 * budget, return the one with the best predicted accuracy. */
#pragma once
#include "fr-apq-predictor.h"
#include "fr-apq-space.h"

G_BEGIN_DECLS

typedef enum { FR_APQ_BUDGET_MACS, FR_APQ_BUDGET_BITOPS } FrApqBudgetKind;

/* Quantized candidates when the predictor has a bits branch, full precision otherwise. On an
 * impossible budget: FALSE with FR_APQ_ERROR_BUDGET saying the cheapest candidate seen and the
 * space's minimum. *n_feasible (may be NULL) receives how many candidates met the budget. */
gboolean fr_apq_random_search(const FrApqSpace *space, const FrApqPredictor *predictor, FrApqBudgetKind kind,
                              double budget, int candidates, guint64 seed, FrApqSpec *best, double *predicted,
                              int *n_feasible, GError **error);

/* What the budget measures for spec. */
double fr_apq_budget_cost(const FrApqSpace *space, const FrApqSpec *spec, FrApqBudgetKind kind);

G_END_DECLS
