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
 * Data files are found with fr_data_find ("apq/bitfusion/..."); the this-cpu table is
 * g_get_user_data_dir()/frontier/apq/this-cpu.csv, else a shipped data/apq/this-cpu.csv
 * (fr-apq-cpucost.h). A space other than the two gets "bitfusion-model" and "counts".
 *
 * Every function here is thread-safe. The BitFusion LUT and the model fitted to it are loaded once
 * per process, and each (space, cost model) table is built once and shared (a new reference each
 * call), so switching back and forth costs nothing; the this-cpu table is rebuilt when its file
 * changes. */
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
 * does not fit the space or is unknown (FR_JOB_ERROR_INVALID_ARGUMENT) or a missing data file
 * (FR_APQ_ERROR_CHECKPOINT, saying which command makes it). Unref the table when done. */
FrApqCostTable *fr_apq_workbench_cost_table(const FrApqSpace *space, const char *cost_model, GError **error);

/* The space's default predictor (NULL path) or the given file; checks it fits the space's encoding.
 * *label_out (may be NULL) receives a short provenance string (file name and its metadata). For
 * imagenet-bitfusion with path NULL: returns NULL with no error (cost-only). fmnist-mini's default
 * is data/apq/predictor-quant.safetensors, else predictor-fp32.safetensors (the label then says that
 * bits do not change its predictions), else an FR_APQ_ERROR_CHECKPOINT error naming the command
 * that makes it. A file whose "space" metadata names another space, or whose input does not fit,
 * is FR_APQ_ERROR_INVALID_SPEC. */
FrApqPredictor *fr_apq_workbench_predictor(const FrApqSpace *space, const char *path, char **label_out,
                                           GError **error);

/* One row per layer of a candidate under a cost model: fixed parts first, then for each active block
 * its expand, depthwise and project convs. costs[] are in the cost table's objectives (entries past
 * the table's objectives are 0).
 * Fixed parts: one row per fixed conv ("stem", "head", "classifier"; "stem block depthwise/project"
 * in imagenet-bitfusion) where the model prices layers one by one ("counts", "bitfusion-model" at 8/8
 * bits); composite rows where it prices them together: the LUT's "head (stem, first block)" and "tail
 * (head conv, classifier)", the CPU table's "head (conv, pooling, classifier)". A composite row has
 * kernel, stride and groups 0, cin of its first and cout of its last layer, macs summed; w_bits and
 * a_bits are what its hardware cost assumes (0: unknown, the LUT's). bitops and macs objectives count
 * every fixed layer at 32 x 32 bits, as fr_apq_spec_bitops does.
 * A model that cannot price the spec (BitFusion and a full-precision spec) is a GError. */
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
