/* fr-apq-space.h: APQ design spaces (MobileNetV2-style MBConv blocks with a searchable kernel size,
 * mid channel count, stage depth and four bitwidths per block), candidate specs, and APQ's one-hot
 * feature encoding.
 *
 * A spec holds a value for every block; blocks at positions >= the stage's depth are inactive and
 * contribute nothing (not to cost, not to the encoding), exactly as in APQ. Feature layout (APQ's):
 *   [kernel one-hots, 3 per block][mid one-hots, n_mid per block]          = arch_dim
 *   [pw_w one-hots][pw_a][dw_w][dw_a], 3 per block in each group           = quant_dim
 * "pw" bits apply to both 1x1 convs of a block (weights, and the activations entering them), "dw" to
 * the depthwise conv. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "fr-rng.h"

G_BEGIN_DECLS

#define FR_APQ_MAX_BLOCKS 24
#define FR_APQ_MAX_STAGES 6
#define FR_APQ_MAX_MID 64
#define FR_APQ_N_KS 3
#define FR_APQ_N_BITS 3

#define FR_APQ_ERROR (fr_apq_error_quark())
GQuark fr_apq_error_quark(void);
typedef enum {
  FR_APQ_ERROR_INVALID_SPEC,  /* a spec breaks the space's rules */
  FR_APQ_ERROR_PARSE,         /* a spec string or file cannot be read */
  FR_APQ_ERROR_BUDGET,        /* no candidate meets the budget */
  FR_APQ_ERROR_CHECKPOINT,    /* a checkpoint or pairs file is corrupt or belongs to another run */
} FrApqError;

typedef struct {
  int stage, pos;                 /* pos: index within the stage */
  int cin, cout, in_hw, out_hw, stride;
  bool identity;                  /* residual connection (stride 1 and cin == cout) */
  int n_mid;
  int mid_options[FR_APQ_MAX_MID];
  int feat_ks, feat_mid;          /* offsets of this block's one-hots */
} FrApqBlock;

typedef struct {
  const char *name;
  /* fixed parts (not searched, kept in full precision) */
  int in_channels, in_hw;
  int stem_channels, stem_kernel, stem_stride;
  int head_channels, n_classes;
  /* searched blocks */
  int n_blocks, n_stages;
  int stage_max_depth[FR_APQ_MAX_STAGES];
  int depth_min;                  /* depth options: depth_min..stage_max_depth */
  int ks_options[FR_APQ_N_KS];
  int bit_options[FR_APQ_N_BITS];
  FrApqBlock blocks[FR_APQ_MAX_BLOCKS];
  int arch_dim, quant_dim;
  /* Fields below are zero/false for fmnist-mini. */
  int stem_block_channels;        /* > 0: a fixed MBConv with expand ratio 1 (3x3 depthwise on the stem's
                                     channels, then a 1x1 projection to this many) follows the stem, as in
                                     MobileNetV2; blocks[0].cin is then this */
  bool no_k7_dw_a4;               /* kernel 7 with 4-bit depthwise activations is invalid (BitFusion's LUT
                                     has no such layer; APQ's Converter.is_valid), in every block */
} FrApqSpace;

typedef enum { FR_APQ_PW_W, FR_APQ_PW_A, FR_APQ_DW_W, FR_APQ_DW_A, FR_APQ_N_QGROUPS } FrApqQGroup;
extern const char *const fr_apq_qgroup_names[FR_APQ_N_QGROUPS];   /* "pw_w", "pw_a", "dw_w", "dw_a" */

typedef struct {
  int ks[FR_APQ_MAX_BLOCKS];
  int mid[FR_APQ_MAX_BLOCKS];
  int depth[FR_APQ_MAX_STAGES];
  bool quantized;                                 /* false: full precision, bits ignored */
  int bits[FR_APQ_N_QGROUPS][FR_APQ_MAX_BLOCKS];
} FrApqSpec;

/* The Fashion-MNIST miniature (see docs/APQ.md): 28x28x1 input, 3x3 stride-2 stem, 4 stages of up to
 * 4 MBConv blocks, 1x1 head, global pooling, 10 classes. */
const FrApqSpace *fr_apq_space_fmnist_mini(void);
/* APQ's own ImageNet space ("imagenet-bitfusion"): OFA/ProxylessNAS MobileNetV2 at 224x224, a fixed
 * 3x3 s2 stem (3->32) and fixed first MBConv (32->16, expand 1), then 21 searchable blocks in 6 stages
 * (24, 40, 80, 96, 192, 320 channels; depth 2..4 except the one-block last stage), kernels 3/5/7, mid
 * channels 4*cin..6*cin in steps of 8, bits 4/6/8, then a 1x1 conv 320->1280 and a 1000-way
 * classifier. arch_dim 520, quant_dim 252, feature offsets as APQ's Converter. no_k7_dw_a4 is set. */
const FrApqSpace *fr_apq_space_imagenet_bitfusion(void);
/* "fmnist-mini" or "imagenet-bitfusion" -> the space; NULL for an unknown name. */
const FrApqSpace *fr_apq_space_lookup(const char *name);

static inline bool fr_apq_block_active(const FrApqSpace *s, const FrApqSpec *spec, int b) {
  return s->blocks[b].pos < spec->depth[s->blocks[b].stage];
}

/* Uniformly random choices per block and stage; bits random when quantized. In a no_k7_dw_a4 space,
 * a block's dw_a is drawn again while it would be 4 with kernel 7 (so the result is always valid;
 * fmnist-mini draws exactly as before). */
void fr_apq_spec_random(const FrApqSpace *s, FrRng *rng, bool quantized, FrApqSpec *out);
/* Largest (kernel 7, widest, deepest) and smallest; bits set to `bits` when > 0 (quantized). In a
 * no_k7_dw_a4 space, 4-bit depthwise activations next to kernel 7 are raised to 6 (see repair). */
void fr_apq_spec_largest(const FrApqSpace *s, int bits, FrApqSpec *out);
void fr_apq_spec_smallest(const FrApqSpace *s, int bits, FrApqSpec *out);
void fr_apq_spec_set_bits(const FrApqSpace *s, FrApqSpec *spec, int bits);   /* bits 0: full precision */
gboolean fr_apq_spec_validate(const FrApqSpace *s, const FrApqSpec *spec, GError **error);
/* Makes a quantized spec obey the space's no_k7_dw_a4 rule by raising each offending dw_a to the next
 * bit option (4 -> 6), in every block as APQ checks inactive blocks too. TRUE if anything changed. */
gboolean fr_apq_spec_repair(const FrApqSpace *s, FrApqSpec *spec);

/* Writes arch_dim + quant_dim floats; the bits part is zero for a full-precision spec. */
void fr_apq_spec_encode(const FrApqSpace *s, const FrApqSpec *spec, float *x);
/* The same with every active block's four bitwidths taken as `bits` whatever the spec holds. APQ's
 * search (AccuracyPredictor.predict_accuracy -> spec2feature(quantize=False)) encodes this way with
 * bits 8, so the quantization-aware predictor sees 8/8/8/8 for every candidate. */
void fr_apq_spec_encode_uniform_bits(const FrApqSpace *s, const FrApqSpec *spec, int bits, float *x);

/* Text form used in CSV files: "ks=3,5,..;mid=24,..;d=2,3,4,4" and, when quantized,
 * ";pw_w=8,..;pw_a=..;dw_w=..;dw_a=..". Values for inactive blocks are kept. */
char *fr_apq_spec_to_string(const FrApqSpace *s, const FrApqSpec *spec);
gboolean fr_apq_spec_from_string(const FrApqSpace *s, const char *text, FrApqSpec *out, GError **error);

/* Costs of the searched part plus the fixed stem (and stem block) and head, per image:
 * multiply-accumulates, and BitOps (MACs x weight bits x activation bits; fixed and full-precision
 * parts count 32x32). Convolutions only: BN, activations, pooling and residual adds are not counted. */
double fr_apq_spec_macs(const FrApqSpace *s, const FrApqSpec *spec);
double fr_apq_spec_bitops(const FrApqSpace *s, const FrApqSpec *spec);
int64_t fr_apq_spec_params(const FrApqSpace *s, const FrApqSpec *spec);

G_END_DECLS
