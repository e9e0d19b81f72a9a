/* fr-apq-cpucost.h: "this CPU" as an APQ cost model. `frontier-cli apq profile` measures, on the
 * user's machine, the engine's own latency of every layer choice of the fmnist-mini space at batch 1
 * and writes it as a small LUT file; the "this-cpu" cost model (fr-apq-workbench.h) reads it back as a
 * cost table (latency_ms, bitops).
 *
 * What is timed: each conv layer of a block as the supernet runs it (fr-apq-supernet.c), with the
 * engine's ops: fr_conv2d, then batch norm fused with the activation (eval mode), and for quantized
 * choices the fake quantization of the layer's input activations and of its weights in front of it;
 * the projection layer includes the residual add of identity blocks. The weights are pre-sliced to
 * the choice's width and kernel (the supernet's slicing is an artefact of weight sharing, not of
 * the network). The fixed parts are timed once: "stem" (conv + BN + ReLU6) and "head" (1x1 conv +
 * BN + ReLU6, global pooling and the classifier).
 *
 * Bits: the engine computes in float32 whatever the bitwidth. Fake quantization costs the same per
 * element at any bitwidth (a scale, a clamp and a rounding), so the bits of a quantized choice do
 * not change its CPU time: every layer is measured twice, once in full precision ("fp32") and once
 * with fake quantization at 8 bits ("quant"), and every bit policy takes the "quant" figure.
 *
 * Statistic: per layer, `warmup` untimed samples, then `repeats` timed samples; a sample runs the
 * layer back to back until it lasts at least min_sample_ms (the timer's resolution is far below a
 * layer's run time, but one run of a small layer is a few microseconds) and gives the mean run time;
 * the file holds the median of the samples. A block's latency is the sum of its three layers, a
 * network's the sum of its fixed parts and active blocks (so caches warm from the layer before are
 * not modelled; the whole network measured end to end is printed for comparison).
 *
 * File (CSV with '#' header lines: "# key: value", then the column header):
 *   # space: fmnist-mini       # cpu: <model name>     # machine: <OS> <arch>
 *   # threads: N               # date: ISO 8601 UTC    # repeats, warmup, min_sample_ms, frontier,
 *   # blocks: N of 16          # largest_fp32_network_ms: the whole network timed end to end
 *   layer,block,kernel,mid,precision,latency_ms
 *   stem,-1,3,8,fp32,...       head,-1,1,128,fp32,...  (mid: the layer's output channels)
 *   expand,B,1,MID,fp32|quant  depthwise,B,K,MID,...   project,B,1,MID,...
 * Default location: g_get_user_data_dir()/frontier/apq/this-cpu.csv. */
#pragma once
#include "fr-apq-costtable.h"
#include "fr-job.h"

G_BEGIN_DECLS

typedef struct {
  char *output;           /* NULL: fr_apq_cpucost_user_path() */
  int repeats;            /* timed samples per layer (median); default 15 */
  int warmup;             /* untimed samples first; default 3 */
  double min_sample_ms;   /* a sample runs the layer until this long; default 0.5 (the defaults take
                             about 10 s for fmnist-mini's 942 layer rows) */
  int blocks;             /* 0: every block; N: the first N blocks only (a quick check: such a partial
                             file cannot price whole networks, the cost model refuses it) */
  int threads;            /* worker threads while measuring (the pool is restored after); default 1:
                             batch-1 layers this small run fastest, and steadiest, on one core */
} FrApqCpuProfileConfig;

void fr_apq_cpu_profile_config_init(FrApqCpuProfileConfig *cfg);
FrApqCpuProfileConfig *fr_apq_cpu_profile_config_copy(const FrApqCpuProfileConfig *cfg);
void fr_apq_cpu_profile_config_free(FrApqCpuProfileConfig *cfg);

/* Job function (data: a FrApqCpuProfileConfig, e.g. from _copy, freed with _free). Progress per
 * layer; a cancel stops between layers (nothing is written). At the end it writes the file
 * atomically (creating its folder) and emits
 *   "apq.profile.result" FR_APQ_PROFILE_RESULT_TYPE "(sudddd)": path, layer rows written, seconds
 *   spent, the latency (ms) by the table of the smallest and of the largest fp32 network (NAN for a
 *   partial profile), and the largest fp32 network measured end to end. */
#define FR_APQ_PROFILE_RESULT_TYPE "(sudddd)"
gboolean fr_apq_cpu_profile_job(FrJob *job, gpointer data, GError **error);

/* g_get_user_data_dir()/frontier/apq/this-cpu.csv (new string; the file may not exist). */
char *fr_apq_cpucost_user_path(void);
/* The file the "this-cpu" model reads: the user's when it exists, else a shipped
 * data/apq/this-cpu.csv (fr_data_find), else NULL. */
char *fr_apq_cpucost_find(void);

typedef enum {
  FR_APQ_CPU_STEM,
  FR_APQ_CPU_HEAD,
  FR_APQ_CPU_EXPAND,
  FR_APQ_CPU_DEPTHWISE,
  FR_APQ_CPU_PROJECT,
} FrApqCpuLayer;

typedef struct _FrApqCpuLut FrApqCpuLut;

/* Strict: a malformed line, an unknown layer or precision, a repeated row or a negative or
 * non-finite latency is a GError (FR_APQ_ERROR_PARSE) naming file and line. */
FrApqCpuLut *fr_apq_cpu_lut_load(const char *path, GError **error);
void fr_apq_cpu_lut_free(FrApqCpuLut *lut);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FrApqCpuLut, fr_apq_cpu_lut_free)
/* A "# key: value" header field ("space", "cpu", "threads", "date", ...), NULL when absent. */
const char *fr_apq_cpu_lut_get_info(const FrApqCpuLut *lut, const char *key);
int fr_apq_cpu_lut_size(const FrApqCpuLut *lut);
/* One layer's latency (ms). block -1 and kernel/mid ignored for STEM and HEAD; kernel ignored for
 * EXPAND and PROJECT. FALSE when the file has no such row. */
gboolean fr_apq_cpu_lut_layer(const FrApqCpuLut *lut, FrApqCpuLayer layer, int block, int kernel, int mid,
                              gboolean quantized, double *ms);

/* Objectives latency_ms (fixed = stem + head; a block = expand + depthwise + project at its
 * precision) and bitops (the space's counts). A file of another space, or one that lacks a layer
 * the space needs (a partial profile), is a GError that says to run `frontier-cli apq profile`. */
FrApqCostTable *fr_apq_cpu_lut_cost_table(const FrApqCpuLut *lut, const FrApqSpace *space, GError **error);

G_END_DECLS
