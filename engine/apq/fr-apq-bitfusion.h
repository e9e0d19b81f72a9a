/* fr-apq-bitfusion.h: APQ's hardware cost on BitFusion (Sharma et al., ISCA 2018), two ways.
 *
 * 1. The lookup table APQ searches with (lut/BitFusion_new.b1.dict, as CSV in data/apq/bitfusion/):
 *    latency (ms) and energy (mJ) of one conv layer at batch 1, keyed by the layer's shape
 *    (cin, cout, in_hw, kernel, stride, padding, groups) and its weight/activation bits, plus fixed
 *    "head" and "tail" costs. A spec's cost is computed exactly as APQ's LatencyPredictor.predict_lat
 *    does, in the same order in double, so it matches the repo bit for bit. Only layers of APQ's
 *    ImageNet space are in the table.
 * 2. An analytic model fitted to that table, which prices any conv layer (so any space, e.g.
 *    fmnist-mini) at 1..8 bits: per layer class (dense; depthwise by kernel 3/5/7 x stride 1/2) a
 *    non-negative combination of 14 size x bits features (MACs at BitFusion's 2-bit-brick rate,
 *    bytes of weights and activations, output size, ...), fitted by non-negative least squares on
 *    relative error. Every prediction is positive and never falls with more bits or channels. On
 *    every 5th LUT row held out: latency R^2 0.9992 (worst layer off by 38%), energy R^2 0.963 (worst
 *    41%); whole specs come out 0-11% low on latency. Details in fr-apq-bitfusion.c.
 *
 * The layers of an MBConv block, in APQ's order, each at its own bits:
 *   expand    1x1  cin -> mid at in_hw          (pw_w, pw_a)
 *   depthwise ks   mid, stride, pad ks/2        (dw_w, dw_a)
 *   project   1x1  mid -> cout at out_hw        (pw_w, pw_a)
 * Only active blocks (position < the stage's depth) are priced. */
#pragma once
#include <glib.h>
#include "fr-apq-costtable.h"
#include "fr-apq-space.h"

G_BEGIN_DECLS

/* A conv layer as the LUT keys it. padding is part of the key; out_hw = (in_hw + 2p - k) / s + 1. */
typedef struct {
  int cin, cout, in_hw, kernel, stride, padding, groups;
} FrApqConvShape;

typedef struct {
  double latency_ms, energy_mj;
} FrApqHwCost;

typedef enum { FR_APQ_LAYER_EXPAND, FR_APQ_LAYER_DEPTHWISE, FR_APQ_LAYER_PROJECT } FrApqLayerRole;

typedef struct {
  int block;
  FrApqLayerRole role;
  FrApqConvShape shape;
  int w_bits, a_bits;
  double macs, bitops;       /* bitops = macs * w_bits * a_bits */
  FrApqHwCost cost;
} FrApqLayerCost;

/* A spec's cost, layer by layer (for the GUI's breakdown). */
typedef struct {
  /* Fixed parts. LUT: its "head" (stem conv + first MBConv) and "tail" (1x1 head conv + classifier).
   * Model: the same layers of the space priced by the model at 8/8 bits. */
  FrApqHwCost head, tail;
  FrApqHwCost total;         /* head + tail, then every layer in order, summed as APQ does */
  double macs, bitops;       /* of the searched layers only (fr_apq_spec_macs adds the fixed parts) */
  int n_layers;              /* 3 per active block, blocks in order */
  FrApqLayerCost layers[3 * FR_APQ_MAX_BLOCKS];
} FrApqCostBreakdown;

/* The three conv layers of block b for spec (whatever the block's activity), with their bits (32 for
 * a full-precision spec). */
void fr_apq_block_layers(const FrApqSpace *s, const FrApqSpec *spec, int b, FrApqConvShape shape[3],
                         int w_bits[3], int a_bits[3]);
double fr_apq_conv_macs(const FrApqConvShape *shape);
int fr_apq_conv_out_hw(const FrApqConvShape *shape);

/* ---- the lookup table ------------------------------------------------------------------------ */

typedef struct _FrApqBitfusionLut FrApqBitfusionLut;

/* lut_csv: header cin,cout,in_hw,kernel,stride,padding,groups,w_bits,a_bits,latency_ms,energy_mj;
 * fixed_csv: header part,latency_ms,energy_mj with rows head and tail. Strict: any malformed field,
 * negative or non-finite cost, repeated key, or missing part is a GError naming file and line. */
FrApqBitfusionLut *fr_apq_bitfusion_lut_load(const char *lut_csv, const char *fixed_csv, GError **error);
/* dir/bitfusion_lut_b1.csv and dir/bitfusion_lut_b1_fixed.csv. */
FrApqBitfusionLut *fr_apq_bitfusion_lut_load_dir(const char *dir, GError **error);
void fr_apq_bitfusion_lut_free(FrApqBitfusionLut *lut);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FrApqBitfusionLut, fr_apq_bitfusion_lut_free)

int fr_apq_bitfusion_lut_size(const FrApqBitfusionLut *lut);
/* Row i (0-based, file order). */
void fr_apq_bitfusion_lut_row(const FrApqBitfusionLut *lut, int i, FrApqConvShape *shape, int *w_bits,
                              int *a_bits, FrApqHwCost *cost);
FrApqHwCost fr_apq_bitfusion_lut_head(const FrApqBitfusionLut *lut);
FrApqHwCost fr_apq_bitfusion_lut_tail(const FrApqBitfusionLut *lut);
/* FALSE with a GError (FR_APQ_ERROR_INVALID_SPEC) naming the key when the table has no such layer. */
gboolean fr_apq_bitfusion_lut_lookup(const FrApqBitfusionLut *lut, const FrApqConvShape *shape, int w_bits,
                                     int a_bits, FrApqHwCost *out, GError **error);

/* APQ's predict_lat: head + tail, then for blocks 0..n-1 that are active, expand + depthwise +
 * project. The spec must be quantized (the LUT has 4/6/8 bits only) and its layers in the LUT; the
 * error names the block and layer otherwise. */
gboolean fr_apq_bitfusion_spec_cost(const FrApqBitfusionLut *lut, const FrApqSpace *s, const FrApqSpec *spec,
                                    FrApqHwCost *out, GError **error);
gboolean fr_apq_bitfusion_spec_breakdown(const FrApqBitfusionLut *lut, const FrApqSpace *s,
                                         const FrApqSpec *spec, FrApqCostBreakdown *out, GError **error);

/* ---- the analytic model ---------------------------------------------------------------------- */

typedef struct _FrApqBitfusionModel FrApqBitfusionModel;

typedef struct {
  int n_fit, n_heldout;            /* rows used to fit; rows held out (0 when holdout_every is 0) */
  /* On the held-out rows (on the fitted rows when none are held out), in linear space: */
  double r2_latency, r2_energy;    /* 1 - SSE / SST */
  double worst_rel_latency, worst_rel_energy;   /* max |pred / lut - 1| */
  double median_rel_latency, median_rel_energy;
} FrApqModelFitStats;

/* Fits the model to the LUT. holdout_every k > 1 keeps every k-th row (rows k-1, 2k-1, ...) out of the
 * fit and measures on them; 0 fits all rows. stats may be NULL. Deterministic. */
FrApqBitfusionModel *fr_apq_bitfusion_model_fit(const FrApqBitfusionLut *lut, int holdout_every,
                                                FrApqModelFitStats *stats, GError **error);
void fr_apq_bitfusion_model_free(FrApqBitfusionModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FrApqBitfusionModel, fr_apq_bitfusion_model_free)

/* One layer: a dense conv (groups 1, any kernel; kernels > 1 are outside the LUT's range) or a
 * depthwise conv (groups = cin = cout) with kernel 3, 5 or 7 and stride 1 or 2, at 2..8 bits. Other
 * layers get a GError. */
gboolean fr_apq_bitfusion_model_predict(const FrApqBitfusionModel *model, const FrApqConvShape *shape,
                                        int w_bits, int a_bits, FrApqHwCost *out, GError **error);
/* A quantized spec of any space. head = stem conv (+ stem block), tail = head conv + classifier (as a
 * 1x1 conv at 1x1), both at 8/8 bits (BitFusion's widest; APQ does not say how its fixed parts were
 * quantized); then the active blocks' layers at their bits. */
gboolean fr_apq_bitfusion_model_spec_breakdown(const FrApqBitfusionModel *model, const FrApqSpace *s,
                                               const FrApqSpec *spec, FrApqCostBreakdown *out, GError **error);
gboolean fr_apq_bitfusion_model_spec_cost(const FrApqBitfusionModel *model, const FrApqSpace *s,
                                          const FrApqSpec *spec, FrApqHwCost *out, GError **error);
/* The fitted coefficients, one line per (layer class, feature), for docs and debugging. */
char *fr_apq_bitfusion_model_describe(const FrApqBitfusionModel *model);

/* ---- as cost tables (fr-apq-costtable.h) -------------------------------------------------------
 * Objectives, in this order: latency_ms, energy_mj, bitops. A block's entry sums its three layers
 * (expand, depthwise, project) in APQ's order; fixed = head + tail. BitFusion has no full-precision
 * figures, so the full-precision entries are INFINITY (fp specs are unavailable), as are the LUT's
 * missing layers (kernel 7 with 4-bit depthwise activations). bitops are the space's counts
 * (fr_apq_cost_table_new_counts: fixed parts at 32 x 32), so they equal fr_apq_spec_bitops.
 *
 * LUT: only imagenet-bitfusion's layers are in it; any other space, or a LUT that lacks a layer
 * the space needs at some bits (other than the k7/dw_a4 rule's), is a GError. The table's
 * latency and energy equal fr_apq_bitfusion_spec_cost's up to the order of the additions
 * (relative ~1e-15).
 * Model: any space whose layers it prices (fmnist-mini and imagenet-bitfusion); fixed parts at
 * 8/8 bits as fr_apq_bitfusion_model_spec_breakdown. */
FrApqCostTable *fr_apq_bitfusion_cost_table(const FrApqBitfusionLut *lut, const FrApqSpace *space, GError **error);
FrApqCostTable *fr_apq_bitfusion_model_cost_table(const FrApqBitfusionModel *model, const FrApqSpace *space,
                                                  GError **error);
/* The fixed (unsearched) layers the model prices, in order: stem conv, the stem block's depthwise
 * and projection convs when the space has one (head part), then the head conv and the classifier
 * as a 1x1 conv at 1x1 (tail part). Returns the number of layers (<= 5); *n_head receives how many
 * belong to the head. */
int fr_apq_fixed_layers(const FrApqSpace *s, FrApqConvShape shapes[5], int *n_head);

G_END_DECLS
