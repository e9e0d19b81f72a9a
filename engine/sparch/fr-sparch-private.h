/* fr-sparch-private.h: shared internals of the SpArch / OuterSPACE simulator (fr-sparch-*.c). */
#pragma once
#include "fr-sparch.h"

/* ---- matrices stored in row blocks (intermediates, outputs) ---- */

/* Rows are split once per simulation into blocks of roughly equal work; an intermediate matrix keeps
 * one compact array per block holding only its non-empty rows, so blocks fill in parallel without a
 * counting pass and a round costs O(its rows and elements), never O(all rows). */
typedef struct {
  int64_t nr;        /* non-empty rows */
  int64_t *row;      /* nr: global row indices, ascending */
  int64_t *rowptr;   /* nr + 1: offsets into col/val */
  int32_t *col;
  double *val;
  int64_t nnz;
  gboolean borrowed; /* col/val point into an array owned elsewhere */
} FrSpBlock;

typedef struct {
  int nblocks;
  FrSpBlock *blk;
  int64_t nnz;
} FrSpMat;

typedef struct {
  int64_t nrows;
  int nblocks;
  int64_t *start;    /* nblocks + 1 row boundaries */
} FrSpRows;

void fr_sp_rows_init(FrSpRows *rows, int64_t nrows, const int64_t *row_work, int nblocks);
void fr_sp_rows_clear(FrSpRows *rows);
FrSpMat *fr_sp_mat_new(const FrSpRows *rows);
void fr_sp_mat_free(FrSpMat *m);
/* Moves the blocks into one CSR (frees m's storage block by block). NULL with error if too large. */
FrCsr *fr_sp_mat_to_csr(FrSpMat *m, const FrSpRows *rows, int64_t ncols, GError **error);
/* Allocation that fails with FR_SPARSE_ERROR_TOO_LARGE instead of aborting. */
gpointer fr_sp_try_alloc(size_t n, size_t size, GError **error);

/* ---- cancellation shared across threads ---- */
typedef struct {
  FrJob *job;
  gint cancelled;
} FrSpCancel;
gboolean fr_sp_cancelled(FrSpCancel *c);  /* polls the job; sticky */
void fr_sp_set_cancel_error(GError **error);

/* ---- merge schedule (fr-sparch-huffman.c) ---- */

/* An item of a merge: leaf partial matrix (id >= 0) or the output of round r (id = -1 - r). */
typedef struct {
  int64_t size;
  int64_t id;
} FrSpItem;

/* Naive order: partial matrices in index order merged in groups of `ways`, the group outputs merged in
 * groups of `ways` the same way, level by level (a group of one passes up unmerged), executed depth
 * first so at most (ways - 1) outputs per level wait in DRAM. Returns rounds in execution order:
 * round r's inputs are items[offsets[r] .. offsets[r+1]). */
typedef struct {
  int64_t n_rounds;
  int64_t *offsets;
  int64_t *items;     /* leaf id >= 0 or -1 - round */
} FrSpNaive;
void fr_sp_naive_build(FrSpNaive *s, int64_t n_leaves, int ways);
void fr_sp_naive_clear(FrSpNaive *s);

/* Online k-ary Huffman: a min-heap over (size, id). */
typedef struct {
  FrSpItem *heap;
  int64_t n, cap;
} FrSpHeap;
void fr_sp_heap_init(FrSpHeap *h, int64_t cap);
void fr_sp_heap_push(FrSpHeap *h, FrSpItem it);
FrSpItem fr_sp_heap_pop(FrSpHeap *h);
void fr_sp_heap_clear(FrSpHeap *h);
/* Size of the first Huffman round so that every later round is exactly `ways` wide. */
int64_t fr_sp_huffman_first(int64_t n, int ways);
/* Rounds a schedule of n leaves takes (both orders). */
int64_t fr_sp_huffman_rounds(int64_t n, int ways);
int64_t fr_sp_naive_rounds(int64_t n, int ways);

/* ---- row prefetcher (fr-sparch-prefetch.c) ---- */

/* requests[q] = B row asked for by the q-th request; round_start[r] = first request of round r.
 * Fills per-round b_read, the totals and (if trace) the bins. */
typedef struct {
  int64_t hits, misses, b_read;
} FrSpPrefetchOut;
void fr_sp_prefetch_run(const FrCsr *b, const FrSparchConfig *cfg, const int32_t *requests, int64_t n_requests,
                        const int64_t *round_start, int64_t n_rounds, int64_t *round_b_read,
                        FrSparchTrace *trace, FrSpPrefetchOut *out);

/* ---- trace (fr-sparch-trace.c) ---- */

/* Collected during a sampled round: the key streams (row << 32 | col) reaching each tree slot for a
 * window of rows; consumed by fr_sp_trace_fifo_model. */
typedef struct {
  int n_slots;
  gboolean *slot_is_leaf;
  int64_t **keys;       /* per slot */
  int64_t *n_keys;
  int64_t *cap_keys;
  int64_t window_offset_elements; /* elements of the round before the window */
} FrSpFifoSample;

FrSparchTrace *fr_sp_trace_new(const FrSparchConfig *cfg);
void fr_sp_fifo_sample_init(FrSpFifoSample *s, int n_slots);
void fr_sp_fifo_sample_push(FrSpFifoSample *s, int slot, int64_t key);
void fr_sp_fifo_sample_clear(FrSpFifoSample *s);
/* Runs the cycle-level tree model on the sample and appends up to max_samples samples for round r
 * (cycles relative to the round start; fr_sp_trace_finish shifts them). */
void fr_sp_trace_fifo_model(FrSparchTrace *t, const FrSparchConfig *cfg, const FrSpFifoSample *s, int32_t round,
                            int64_t max_samples);
/* Adds start cycles of rounds to FIFO samples and prefetch bins (needs rounds' start_cycle). */
void fr_sp_trace_finish(FrSparchTrace *t, const FrSparchRound *rounds, int64_t n_rounds,
                        const int64_t *round_request_start);
/* Comparator-step capture: offers the chunk heads of a 2-way merge; keeps the first with both sides
 * at least `width` long, else the one with the longest shorter side. */
void fr_sp_trace_offer_comparator(FrSparchComparatorStep *st, int width, const int32_t *a, int64_t na,
                                  const int32_t *b, int64_t nb, int32_t round, int32_t layer, int64_t row);
void fr_sp_trace_comparator_finish(FrSparchComparatorStep *st);
/* Schedule nodes. */
void fr_sp_trace_add_node(FrSparchTrace *t, FrSparchScheduleNode node);

/* ---- OuterSPACE (fr-sparch-outerspace.c) ---- */
FrSparchResult *fr_sp_outerspace_simulate(const FrCsr *a, const FrCsr *b, const FrSparchConfig *cfg, FrJob *job,
                                          double p0, double p1, GError **error);
/* fr_sparch_simulate with its progress mapped into [p0, p1] of the job. */
FrSparchResult *fr_sp_simulate_span(const FrCsr *a, const FrCsr *b, const FrSparchConfig *cfg, FrJob *job,
                                    double p0, double p1, GError **error);

/* ---- helpers ---- */
void fr_sp_finish_round_cycles(FrSparchRound *r, const FrSparchConfig *cfg, double clock_hz, double bw);
int fr_sp_pick_blocks(int64_t nrows);
