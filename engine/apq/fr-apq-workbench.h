/* fr-apq-workbench.h: what the APQ search page and `frontier-cli apq search` share: choosing a
 * space, a cost model and a predictor by name, and turning them into the search's inputs; and the
 * per-layer cost breakdown of one candidate.
 *
 * Spaces: "fmnist-mini" (predictor: the shipped data/apq/predictor-quant.safetensors),
 *         "imagenet-bitfusion" (predictor: one the user loads, APQ's MLP shape, e.g. converted with
 *         tools/apq-convert-predictor.py; without one the search is a cost-only exploration).
 * Cost models (objectives in this order):
 *   "bitfusion-lut"    latency_ms, energy_mj from APQ's BitFusion LUT (imagenet-bitfusion only: the
 *                      LUT has no entries for other layer shapes), plus bitops
 *   "bitfusion-model"  the analytic BitFusion model fitted to the LUT: any space; latency_ms,
 *                      energy_mj, bitops
 *   "this-cpu"         latency_ms measured on this machine by `frontier-cli apq profile` (a LUT file
 *                      in the user's data dir, fmnist-mini), plus bitops
 *   "counts"           macs, bitops (no hardware model)
 * Data files are found with fr_data_find ("apq/bitfusion/..."). */
#pragma once
#include "fr-apq-costtable.h"
#include "fr-apq-predictor.h"
#include "fr-apq-search.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;          /* "bitfusion-lut" ... */
  const char *label;         /* "BitFusion (LUT)", for menus */
  const char *description;   /* one sentence */
} FrApqCostModelInfo;

/* The cost models offered for a space (NULL-name terminated array, static). */
const FrApqCostModelInfo *fr_apq_cost_models_for_space(const FrApqSpace *space);

/* Builds the cost table (loading and fitting what the model needs). Clear errors for a model that
 * does not fit the space or a missing data file (saying which command makes it). */
FrApqCostTable *fr_apq_workbench_cost_table(const FrApqSpace *space, const char *cost_model, GError **error);

/* The space's default predictor (NULL path) or the given file; checks it fits the space's encoding.
 * *label_out (may be NULL) receives a short provenance string (file name and its metadata). For
 * imagenet-bitfusion with path NULL: returns NULL with no error (cost-only). */
FrApqPredictor *fr_apq_workbench_predictor(const FrApqSpace *space, const char *path, char **label_out,
                                           GError **error);

/* One row per layer of a candidate under a cost model: fixed parts first, then for each active block
 * its expand, depthwise and project convs. costs[] are in the cost table's objectives. */
typedef struct {
  char name[48];             /* "stem", "block 3 expand", "block 3 depthwise", "head" ... */
  int block;                 /* -1 for fixed parts */
  int cin, cout, hw, kernel, stride, groups;
  int w_bits, a_bits;        /* 32: full precision */
  double macs;
  double costs[FR_APQ_COST_MAX_OBJECTIVES];
} FrApqLayerRow;

/* Rows in a new GArray of FrApqLayerRow; their costs sum to fr_apq_cost_table_eval's (tested). */
GArray *fr_apq_workbench_breakdown(const FrApqSpace *space, const char *cost_model, const FrApqSpec *spec,
                                   GError **error);

G_END_DECLS
