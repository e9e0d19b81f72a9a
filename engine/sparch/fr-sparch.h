/* fr-sparch.h: a cycle-approximate model of the SpArch SpGEMM accelerator (Zhang, Wang, Han, Dally,
 * HPCA 2020) and of its baseline OuterSPACE (Pal et al., HPCA 2018).
 *
 * The simulator really computes C = A·B through the modelled dataflow (every intermediate matrix of
 * every merge round is built and summed), so its product equals the CPU SpGEMM's; on the way it
 * counts DRAM bytes by category, elements through each merge-tree layer, prefetch hits and misses,
 * and turns them into cycles per round. docs/SPARCH.md describes the model, every parameter's source
 * and what is approximated.
 *
 * Ownership: every pointer inside a result (rounds, product, trace and the trace's arrays) is owned by
 * the result and released by fr_sparch_result_free(); the configuration is copied into the result.
 * Nothing here keeps a reference to the input matrices after a call returns.
 * Thread safety: calls are reentrant (no global state); the row loops use the shared pool
 * (fr-pool.h), so two simulations at once run one of them single-threaded. */
#pragma once
#include <glib.h>
#include <stdint.h>

#include "fr-csr.h"
#include "fr-job.h"

G_BEGIN_DECLS

typedef enum {
  FR_SPARCH_ARCH_SPARCH,
  FR_SPARCH_ARCH_OUTERSPACE,
} FrSparchArch;

typedef enum {
  FR_SPARCH_PREFETCH_MIN,   /* evict the line whose next use is farthest ahead within the look-ahead */
  FR_SPARCH_PREFETCH_LRU,   /* evict the least recently used line */
  FR_SPARCH_PREFETCH_NONE,  /* no buffer: every request streams the B row from DRAM */
} FrSparchPrefetch;

/* The largest merge tree the simulator accepts: 2^FR_SPARCH_MAX_LAYERS ways. */
#define FR_SPARCH_MAX_LAYERS 12

/* The paper's reported average reductions of DRAM traffic (abstract and Sec. V), for comparison. */
#define FR_SPARCH_PAPER_CONDENSE_FACTOR 5.4   /* pipelined merger -> + condensing */
#define FR_SPARCH_PAPER_HUFFMAN_FACTOR 1.8    /* + condensing -> + Huffman scheduler */
#define FR_SPARCH_PAPER_PREFETCH_FACTOR 1.5   /* + Huffman -> + row prefetcher */
#define FR_SPARCH_PAPER_OVERALL_FACTOR 2.8    /* OuterSPACE -> full SpArch */

typedef struct {
  FrSparchArch arch;

  /* ---- shared ---- */
  int element_bytes;            /* 12: 4-byte index + 8-byte double, for A, B, partials and C */

  /* ---- SpArch (defaults: see fr_sparch_config_init and docs/SPARCH.md) ---- */
  double clock_hz;              /* 1e9 */
  double bandwidth_bytes_per_s; /* 128e9: HBM, 16 channels x 8 GB/s (1 GB = 1e9 B) */
  int merge_ways;               /* 64: power of two, 2 .. 2^FR_SPARCH_MAX_LAYERS; layers = log2 */
  int merger_width;             /* 16: elements each comparator-array merger emits per cycle */
  int multipliers;              /* 16: multiplies per cycle of the multiplier array (our choice, see doc) */
  gboolean condense;            /* condensed representation of A (TRUE) or plain columns (FALSE) */
  gboolean huffman;             /* Huffman tree scheduler (TRUE) or the naive index-order tree */
  FrSparchPrefetch prefetch;    /* MIN */
  int64_t prefetch_buffer_bytes;/* 48 KiB = 1024 lines of 48 B */
  int prefetch_line_bytes;      /* 48 B = 4 elements */
  int64_t lookahead;            /* 4096: B-row requests visible to MIN ahead of the current one */

  /* ---- OuterSPACE ---- */
  int os_pes;                   /* 256 processing elements, 1 multiply or 1 merged element each per cycle */
  double os_clock_hz;           /* 1.5e9 */
  int os_channels;              /* 16 HBM channels ... */
  double os_channel_bytes_per_s;/* ... of 8e9 B/s = 128 GB/s */

  /* ---- outputs ---- */
  gboolean keep_product;        /* TRUE: result->c holds C; FALSE: C is computed, counted and freed */
  gboolean trace;               /* FALSE: fill result->trace (see FrSparchTrace) */
  int64_t trace_max_samples;    /* 4096: cap on FIFO samples, prefetch bins and schedule nodes */
  int trace_fifo_depth;         /* 32: elements per FIFO between tree layers in the cycle-level model */
} FrSparchConfig;

/* Fills every field with the defaults of `arch` (both architectures' fields are always set, so one
 * config can be switched between them by changing ->arch). */
void fr_sparch_config_init(FrSparchConfig *cfg, FrSparchArch arch);
/* FALSE with FR_SPARSE_ERROR_INVALID naming the first bad field. */
gboolean fr_sparch_config_validate(const FrSparchConfig *cfg, GError **error);
/* merge_ways' log2 (6 for 64). */
int fr_sparch_config_layers(const FrSparchConfig *cfg);

typedef enum {
  FR_SPARCH_BOUND_MULTIPLY,
  FR_SPARCH_BOUND_MERGE,
  FR_SPARCH_BOUND_DRAM,
} FrSparchBound;
const char *fr_sparch_bound_name(FrSparchBound b);          /* "multiply", "merge", "dram" */
const char *fr_sparch_prefetch_name(FrSparchPrefetch p);    /* "min", "lru", "none" */
const char *fr_sparch_arch_name(FrSparchArch a);            /* "sparch", "outerspace" */
/* Parses the names above (case-insensitive); FALSE if unknown. */
gboolean fr_sparch_prefetch_from_name(const char *name, FrSparchPrefetch *out);
gboolean fr_sparch_arch_from_name(const char *name, FrSparchArch *out);

/* One merge round (SpArch) or one phase (OuterSPACE: round 0 = multiply phase, 1 = merge phase). */
typedef struct {
  int32_t inputs;               /* matrices merged: leaf partial matrices + intermediates from DRAM */
  int32_t leaf_inputs;          /* of which partial matrices produced on the fly by the multipliers */
  gboolean final;               /* this round writes C */
  int64_t multiplies;           /* products made in this round */
  int64_t elements_in;          /* elements entering the tree (products + intermediate elements) */
  int64_t elements_out;         /* elements leaving it (after summing equal (row, col)) */
  int32_t n_layers;             /* tree layers (0 for OuterSPACE) */
  int64_t layer_in[FR_SPARCH_MAX_LAYERS]; /* elements entering layer l (0 = the leaf mergers) */
  int64_t a_read, b_read, partial_read, partial_write, c_write, bytes; /* DRAM bytes */
  int64_t multiply_cycles, merge_cycles, dram_cycles;
  int64_t cycles;               /* max of the three: the units are pipelined */
  FrSparchBound bound;          /* which of the three it is */
  int64_t start_cycle;          /* rounds run one after another */
} FrSparchRound;

/* ---- trace for visualisation (only with cfg->trace) ---- */

/* A node of the merge schedule: leaves are partial matrices, internal nodes are round outputs. */
typedef struct {
  int64_t size;                 /* nnz of the matrix */
  int32_t round;                /* internal: the round that produced it; leaves: -1 */
  int32_t parent;               /* node index of the round output that consumed it; -1 for the root */
  int32_t leaf_index;           /* leaves: partial matrix index (condensed column / column of A); else -1 */
  int32_t folded_leaves;        /* internal nodes: leaf inputs not stored as nodes (trace cap) */
  int64_t folded_size;          /* their total size */
} FrSparchScheduleNode;

/* One step of a comparator-array merger: two sorted chunks a, b of `width` column keys (same row);
 * a_le_b[i * width + j] = (a[i] <= b[j]). boundary[i] = #{ j : b[j] < a[i] } is the staircase that
 * splits the matrix; a[i] lands at output position i + boundary[i], and the `width` smallest of the
 * 2·width keys are the step's output (out_col, with out_src 0 = from a, 1 = from b; equal keys are
 * summed by the adder after the array, so out_col may repeat a key once). */
typedef struct {
  gboolean valid;               /* FALSE when no merger ever had two inputs */
  int32_t width;
  int32_t round, layer;         /* where it was taken */
  int64_t row;
  int32_t *a_col, *b_col;       /* width each */
  uint8_t *a_le_b;              /* width * width */
  int32_t *boundary;            /* width */
  int32_t *out_col;             /* width */
  uint8_t *out_src;             /* width */
} FrSparchComparatorStep;

typedef struct {
  /* Merge-tree FIFO occupancy: a cycle-level model of the tree (FIFOs of trace_fifo_depth elements
   * between layers, each merger pops from its two children and pushes up to merger_width elements a
   * cycle) run on sampled windows of rows of sampled rounds. */
  int32_t n_layers;
  int32_t fifo_depth;
  int64_t n_fifo;               /* samples */
  int64_t *fifo_cycle;          /* n_fifo: cycle of the sample on the whole run's time line */
  int32_t *fifo_round;          /* n_fifo: round index */
  float *fifo_fill;             /* n_fifo * n_layers: mean fill (0..1) of the FIFOs feeding layer l */
  /* Merge schedule (Huffman or naive), as a tree. Nodes are stored in execution order; the root
   * (C) is last. */
  int64_t n_nodes;
  FrSparchScheduleNode *nodes;
  /* Prefetch hits/misses over time: bin k covers B-row requests [k*bin_requests, (k+1)*bin_requests). */
  int64_t n_bins;
  int64_t bin_requests;
  int64_t *bin_hits, *bin_misses; /* line hits / misses (NONE: misses = line fetches) */
  int64_t *bin_cycle;           /* cycle at which the bin's first request was made (round granularity) */
  FrSparchComparatorStep comparator;
} FrSparchTrace;

typedef struct {
  FrSparchConfig config;        /* copy of what ran */
  /* DRAM traffic in bytes */
  int64_t a_read, b_read, partial_write, partial_read, c_write, total;
  int64_t cycles;               /* at config.clock_hz (SpArch) or config.os_clock_hz (OuterSPACE) */
  double seconds;               /* simulated time = cycles / clock */
  /* GFLOPS = 2 * multiplies / seconds / 1e9: two flops per multiply-accumulate, over the simulated time */
  double gflops;
  int64_t multiplies;           /* scalar products A(i,k)*B(k,j) */
  int64_t nnz_c;
  int64_t partial_matrices;     /* leaves of the merge: condensed columns, or columns of A (with a
                                   non-empty B row); OuterSPACE: columns of A */
  int64_t n_rounds;
  FrSparchRound *rounds;        /* n_rounds, in execution order */
  int64_t prefetch_requests;    /* B-row requests made by the multiplier array */
  int64_t prefetch_hits, prefetch_misses; /* in buffer lines */
  FrCsr *c;                     /* owned; NULL when !config.keep_product */
  FrSparchTrace *trace;         /* owned; NULL unless config.trace */
  double host_seconds;          /* wall time the simulation took on this machine */
} FrSparchResult;

/* C = A·B through the model of cfg->arch. job (nullable) receives progress and is polled for cancel
 * between rounds and inside the row loops (then FALSE/NULL with FR_JOB_ERROR_CANCELLED).
 * Errors: FR_SPARSE_ERROR_SHAPE (a->ncols != b->nrows), FR_SPARSE_ERROR_INVALID (config),
 * FR_SPARSE_ERROR_TOO_LARGE (beyond 2^31-1 elements in one row of an intermediate). */
FrSparchResult *fr_sparch_simulate(const FrCsr *a, const FrCsr *b, const FrSparchConfig *cfg, FrJob *job,
                                   GError **error);
void fr_sparch_result_free(FrSparchResult *r);
void fr_sparch_trace_free(FrSparchTrace *t);

/* The paper's ablation: 0 OuterSPACE, 1 pipelined merger (no condensing, naive order, no prefetcher),
 * 2 + condensing, 3 + Huffman scheduler, 4 + row prefetcher (base->prefetch, or MIN when base says
 * NONE). Hardware parameters come from `base`; only the last step keeps the product (keep_product as
 * in base) and the trace (if base->trace). Progress of the job spans all five runs. */
#define FR_SPARCH_ABLATION_STEPS 5
typedef struct {
  const char *label;            /* static: "OuterSPACE", "Pipelined merger", "+ Condensing", ... */
  FrSparchConfig config;
  FrSparchResult *result;       /* owned */
} FrSparchAblationStep;
typedef struct {
  int n_steps;                  /* FR_SPARCH_ABLATION_STEPS */
  FrSparchAblationStep steps[FR_SPARCH_ABLATION_STEPS];
} FrSparchAblation;
FrSparchAblation *fr_sparch_ablation(const FrCsr *a, const FrCsr *b, const FrSparchConfig *base, FrJob *job,
                                     GError **error);
void fr_sparch_ablation_free(FrSparchAblation *ab);

/* JSON (json-glib), g_free the string. Keys: arch, nnz, multiplies, seconds, cycles, gflops,
 * partial_matrices, rounds, a_read, b_read, partial_write, partial_read, c_write, total,
 * prefetch_requests, prefetch_hits, prefetch_misses, host_seconds, config {every FrSparchConfig field
 * by its name}, round_records [{inputs, leaf_inputs, final, multiplies, elements_in, elements_out,
 * layer_in[], a_read, b_read, partial_read, partial_write, c_write, bytes, multiply_cycles,
 * merge_cycles, dram_cycles, cycles, bound, start_cycle}] (omitted beyond 10,000 rounds). The trace is
 * not serialised. */
char *fr_sparch_result_to_json(const FrSparchResult *r, gboolean pretty);
/* {"steps": [{"label", "result": {...as above...}, "factor_vs_previous", "factor_vs_outerspace"}],
 *  "paper": {"condense": 5.4, "huffman": 1.8, "prefetch": 1.5, "overall": 2.8}} */
char *fr_sparch_ablation_to_json(const FrSparchAblation *ab, gboolean pretty);

G_END_DECLS
