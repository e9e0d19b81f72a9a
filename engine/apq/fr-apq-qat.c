/* fr-apq-qat.c: random search under a MACs or BitOps budget, scored by a predictor. */
#include "fr-apq-qat.h"
#include <string.h>

#define SEARCH_BATCH 1024

double fr_apq_budget_cost(const FrApqSpace *space, const FrApqSpec *spec, FrApqBudgetKind kind) {
  return kind == FR_APQ_BUDGET_MACS ? fr_apq_spec_macs(space, spec) : fr_apq_spec_bitops(space, spec);
}

gboolean fr_apq_random_search(const FrApqSpace *space, const FrApqPredictor *predictor, FrApqBudgetKind kind,
                              double budget, int candidates, guint64 seed, FrApqSpec *best, double *predicted,
                              int *n_feasible, GError **error) {
  gboolean quantized = fr_apq_predictor_quant_dim(predictor) > 0;
  int in = fr_apq_predictor_arch_dim(predictor) + fr_apq_predictor_quant_dim(predictor);
  int dim = space->arch_dim + space->quant_dim;
  if (fr_apq_predictor_arch_dim(predictor) != space->arch_dim ||
      (quantized && fr_apq_predictor_quant_dim(predictor) != space->quant_dim)) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                "the predictor's input (%d + %d) does not fit the %s space (%d + %d)",
                fr_apq_predictor_arch_dim(predictor), fr_apq_predictor_quant_dim(predictor), space->name,
                space->arch_dim, space->quant_dim);
    return FALSE;
  }
  FrRng rng;
  fr_rng_seed(&rng, seed);
  FrApqSpec *batch = g_new(FrApqSpec, SEARCH_BATCH);
  float *x = g_new(float, (size_t)SEARCH_BATCH * in), *full = g_new(float, dim), *y = g_new(float, SEARCH_BATCH);
  double best_pred = -1, cheapest = G_MAXDOUBLE;
  int feasible = 0;
  for (int done = 0; done < candidates;) {
    int n = 0;
    while (n < SEARCH_BATCH && done < candidates) {
      FrApqSpec s;
      fr_apq_spec_random(space, &rng, quantized, &s);
      done++;
      double cost = fr_apq_budget_cost(space, &s, kind);
      cheapest = MIN(cheapest, cost);
      if (cost > budget) continue;
      batch[n] = s;
      fr_apq_spec_encode(space, &s, full);
      memcpy(x + (size_t)n * in, full, sizeof(float) * (size_t)in);
      n++;
    }
    if (!n) continue;
    feasible += n;
    fr_apq_predictor_predict(predictor, x, n, y);
    for (int i = 0; i < n; i++)
      if (y[i] > best_pred) best_pred = y[i], *best = batch[i];
  }
  g_free(batch);
  g_free(x);
  g_free(full);
  g_free(y);
  if (n_feasible) *n_feasible = feasible;
  if (!feasible) {
    FrApqSpec smallest;
    fr_apq_spec_smallest(space, quantized ? space->bit_options[0] : 0, &smallest);
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_BUDGET,
                "no candidate within %.4g %s: the cheapest of %d sampled costs %.4g, the smallest network in the space "
                "costs %.4g",
                budget, kind == FR_APQ_BUDGET_MACS ? "MACs" : "BitOps", candidates, cheapest,
                fr_apq_budget_cost(space, &smallest, kind));
    return FALSE;
  }
  *predicted = best_pred;
  return TRUE;
}
