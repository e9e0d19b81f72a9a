/* fr-apq-costtable.h: an additive cost model over an APQ design space, tabulated once so that the
 * cost of a candidate is a few array lookups.
 *
 *   cost_o(spec) = fixed_o + sum over active blocks b of block_cost_o(b, ks, mid, pw_w, pw_a, dw_w, dw_a)
 *
 * for up to FR_APQ_COST_MAX_OBJECTIVES objectives (latency_ms, energy_mj, macs, bitops, ...). The table
 * is built from a per-block callback that is asked once for every (block, kernel, mid, four bits)
 * combination: [block][ks idx][mid idx][bits code] with 3^4 = 81 quantized bit codes plus one
 * full-precision entry (code FR_APQ_BITS_CODE_FP), for which the callback is asked with all four
 * bitwidths = 32.
 *
 * Unavailable choices: a model that has no figure for a combination (BitFusion's LUT has no
 * depthwise kernel 7 with 4-bit activations, and no full-precision figures at all) writes a
 * non-finite value (INFINITY) for it. Such a choice gives the spec an infinite cost: the table's
 * eval returns FALSE for it and the search never proposes it, under a budget or not. The callback's
 * FALSE return is for real failures only (it aborts the build with its GError).
 *
 * Full precision: fp specs (spec->quantized false) use the 32-bit entry. A model without
 * full-precision figures can either leave it INFINITY (fp specs are then unavailable, which is right
 * for an integer accelerator) or, the caller's choice, answer the 32-bit request with a figure of its
 * own (e.g. its 8-bit cost): the table only records what the callback says.
 *
 * Plugging in a model (e.g. BitFusion's LUT): write a FrApqBlockCostFn that sums the block's three
 * layers (expand 1x1 at pw bits, depthwise at dw bits, project 1x1 at pw bits) for each objective, and
 * pass the fixed (always present, unsearched) head + tail costs:
 *
 *   static gboolean bf_block(const FrApqSpace *s, int b, int ks, int mid, int pw_w, int pw_a, int dw_w,
 *                            int dw_a, double *c, void *lut, GError **error) {
 *     if (pw_w == 32) { c[0] = c[1] = INFINITY; return TRUE; }   // no fp figures
 *     ... c[0] = latency(expand) + latency(dw) + latency(project); c[1] = the same for energy;
 *     // a missing LUT row (ks 7, dw_a 4) -> INFINITY; a corrupt LUT -> g_set_error, return FALSE
 *   }
 *   const char *names[] = { "latency_ms", "energy_mj" }, *units[] = { "ms", "mJ" };
 *   double fixed[] = { head_ms + tail_ms, head_mj + tail_mj };
 *   FrApqCostTable *t = fr_apq_cost_table_new(space, 2, names, units, fixed, bf_block, lut, &error);
 *
 * Exactness: the table adds fixed + block_0 + block_1 + ... in double, with each block's cost as the
 * callback summed it. For integer counts (MACs, BitOps below 2^53) that is exact; for float costs it
 * differs from a layer-by-layer sum in the last bits only (relative ~1e-15).
 *
 * Tables are immutable once built and may be shared between threads and searches (ref-counted). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "fr-apq-space.h"

G_BEGIN_DECLS

#define FR_APQ_COST_MAX_OBJECTIVES 4
/* bits codes: ((pw_w * 3 + pw_a) * 3 + dw_w) * 3 + dw_a over indices into bit_options; then fp */
#define FR_APQ_BITS_CODE_FP 81
#define FR_APQ_N_BITS_CODES 82
/* a bit index (FrApqGenome.bits) meaning full precision */
#define FR_APQ_BIT_FP FR_APQ_N_BITS

typedef gboolean (*FrApqBlockCostFn)(const FrApqSpace *s, int block, int ks, int mid, int pw_w, int pw_a, int dw_w,
                                     int dw_a, double *costs /* n_objectives */, void *user, GError **error);

typedef struct _FrApqCostTable FrApqCostTable;

/* names and units: n_objectives strings each (copied); fixed: n_objectives values (NULL: zeros).
 * FALSE/NULL with the callback's error, or FR_JOB_ERROR_INVALID_ARGUMENT for bad arguments. */
FrApqCostTable *fr_apq_cost_table_new(const FrApqSpace *s, int n_objectives, const char *const *names,
                                      const char *const *units, const double *fixed, FrApqBlockCostFn fn,
                                      void *user, GError **error);
/* Built in, from fr-apq-space's counting (so it reproduces fr_apq_spec_macs / fr_apq_spec_bitops exactly):
 * objective 0 "macs", objective 1 "bitops" (MACs x weight bits x activation bits; the fixed stem
 * and head, and full-precision layers, count as 32 x 32). */
FrApqCostTable *fr_apq_cost_table_new_counts(const FrApqSpace *s);

FrApqCostTable *fr_apq_cost_table_ref(FrApqCostTable *t);
void fr_apq_cost_table_unref(FrApqCostTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FrApqCostTable, fr_apq_cost_table_unref)

const FrApqSpace *fr_apq_cost_table_space(const FrApqCostTable *t);
int fr_apq_cost_table_n_objectives(const FrApqCostTable *t);
const char *fr_apq_cost_table_objective_name(const FrApqCostTable *t, int o);
const char *fr_apq_cost_table_objective_unit(const FrApqCostTable *t, int o);
/* index of the objective called name, -1 if none */
int fr_apq_cost_table_find_objective(const FrApqCostTable *t, const char *name);
const double *fr_apq_cost_table_fixed(const FrApqCostTable *t);

/* costs[n_objectives] of a spec (values, as in FrApqSpec). FALSE when the spec is not in the
 * space (bad value: costs set to NAN) or uses a choice the model marks unavailable (costs +inf). */
gboolean fr_apq_cost_table_eval(const FrApqCostTable *t, const FrApqSpec *spec, double *costs);

/* Exact minimum of each objective over the whole space (quantized specs when quantized, else full
 * precision), computed from the table: per block the cheapest available choice (a space's
 * no_k7_dw_a4 rule respected), per stage the cheapest depth. INFINITY when nothing is available. */
void fr_apq_cost_table_min(const FrApqCostTable *t, bool quantized, double *min_costs);

/* ---- the index form of a spec ------------------------------------------------------------------
 * Searches work on indices into the space's option lists instead of values. */
typedef struct {
  guint8 ks[FR_APQ_MAX_BLOCKS];                       /* index into ks_options */
  guint8 mid[FR_APQ_MAX_BLOCKS];                      /* index into the block's mid_options */
  guint8 depth[FR_APQ_MAX_STAGES];                    /* the depth itself */
  guint8 bits[FR_APQ_N_QGROUPS][FR_APQ_MAX_BLOCKS];   /* index into bit_options, FR_APQ_BIT_FP = full precision */
} FrApqGenome;

/* FALSE with FR_APQ_ERROR_INVALID_SPEC when the spec is not in the space. */
gboolean fr_apq_genome_from_spec(const FrApqSpace *s, const FrApqSpec *spec, FrApqGenome *g, GError **error);
/* A full-precision genome (all bits FR_APQ_BIT_FP) gives quantized = false. Mixed genomes are
 * not produced by the search; they convert with the fp groups as 32 bits. */
void fr_apq_genome_to_spec(const FrApqSpace *s, const FrApqGenome *g, FrApqSpec *spec);

static inline int fr_apq_genome_bits_code(const FrApqGenome *g, int b) {
  if (g->bits[0][b] == FR_APQ_BIT_FP) return FR_APQ_BITS_CODE_FP;
  return ((g->bits[0][b] * 3 + g->bits[1][b]) * 3 + g->bits[2][b]) * 3 + g->bits[3][b];
}

/* The n_objectives costs of one block choice (indices); never NULL for indices in range. */
const double *fr_apq_cost_table_entry(const FrApqCostTable *t, int block, int ks_idx, int mid_idx, int bits_code);
/* costs of a genome; FALSE when some cost is not finite */
gboolean fr_apq_cost_table_eval_genome(const FrApqCostTable *t, const FrApqGenome *g, double *costs);

G_END_DECLS
