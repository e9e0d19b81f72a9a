/* fr-sparch-config.c: configuration defaults, names, result ownership and small shared helpers. */
#include "fr-sparch-private.h"

#include "fr-pool.h"

#include <math.h>
#include <string.h>

void fr_sparch_config_init(FrSparchConfig *cfg, FrSparchArch arch) {
  memset(cfg, 0, sizeof *cfg);
  cfg->arch = arch;
  cfg->element_bytes = 12;
  /* SpArch (HPCA 2020): 1 GHz, HBM 128 GB/s, 64-way merge tree of 6 layers of comparator-array
   * mergers 16 elements wide, row prefetcher with a 1024 x 48 B buffer. The multiplier count is our
   * choice: 16 products a cycle, matching the root merger's 16 elements a cycle (docs/SPARCH.md). */
  cfg->clock_hz = 1e9;
  cfg->bandwidth_bytes_per_s = 128e9;
  cfg->merge_ways = 64;
  cfg->merger_width = 16;
  cfg->multipliers = 16;
  cfg->condense = TRUE;
  cfg->huffman = TRUE;
  cfg->prefetch = FR_SPARCH_PREFETCH_MIN;
  cfg->prefetch_buffer_bytes = 1024 * 48;
  cfg->prefetch_line_bytes = 48;
  cfg->lookahead = 4096;
  /* OuterSPACE (HPCA 2018) as configured in SpArch's comparison: 256 PEs at 1.5 GHz, 16 HBM channels
   * of 8 GB/s. */
  cfg->os_pes = 256;
  cfg->os_clock_hz = 1.5e9;
  cfg->os_channels = 16;
  cfg->os_channel_bytes_per_s = 8e9;
  cfg->keep_product = TRUE;
  cfg->trace = FALSE;
  cfg->trace_max_samples = 4096;
  cfg->trace_fifo_depth = 32;
}

int fr_sparch_config_layers(const FrSparchConfig *cfg) {
  int l = 0;
  while ((1 << l) < cfg->merge_ways && l < 30) l++;
  return l;
}

#define BAD(...) \
  do { \
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID, __VA_ARGS__); \
    return FALSE; \
  } while (0)

gboolean fr_sparch_config_validate(const FrSparchConfig *cfg, GError **error) {
  if (!cfg) BAD("no configuration");
  if (cfg->arch != FR_SPARCH_ARCH_SPARCH && cfg->arch != FR_SPARCH_ARCH_OUTERSPACE) BAD("arch: unknown (%d)", cfg->arch);
  if (cfg->element_bytes < 1 || cfg->element_bytes > 1024) BAD("element_bytes: %d is not in 1..1024", cfg->element_bytes);
  if (!(cfg->clock_hz > 0) || !isfinite(cfg->clock_hz)) BAD("clock_hz: must be positive");
  if (!(cfg->bandwidth_bytes_per_s > 0) || !isfinite(cfg->bandwidth_bytes_per_s)) BAD("bandwidth_bytes_per_s: must be positive");
  if (cfg->merge_ways < 2 || cfg->merge_ways > (1 << FR_SPARCH_MAX_LAYERS) || (cfg->merge_ways & (cfg->merge_ways - 1)))
    BAD("merge_ways: %d is not a power of two in 2..%d", cfg->merge_ways, 1 << FR_SPARCH_MAX_LAYERS);
  if (cfg->merger_width < 1 || cfg->merger_width > 4096) BAD("merger_width: %d is not in 1..4096", cfg->merger_width);
  if (cfg->multipliers < 1) BAD("multipliers: must be at least 1");
  if (cfg->prefetch != FR_SPARCH_PREFETCH_MIN && cfg->prefetch != FR_SPARCH_PREFETCH_LRU &&
      cfg->prefetch != FR_SPARCH_PREFETCH_NONE)
    BAD("prefetch: unknown policy (%d)", cfg->prefetch);
  if (cfg->prefetch_line_bytes < 1) BAD("prefetch_line_bytes: must be at least 1");
  if (cfg->prefetch != FR_SPARCH_PREFETCH_NONE && cfg->prefetch_buffer_bytes < cfg->prefetch_line_bytes)
    BAD("prefetch_buffer_bytes: must hold at least one line");
  if (cfg->prefetch_buffer_bytes / cfg->prefetch_line_bytes > (int64_t)1 << 30) BAD("prefetch_buffer_bytes: too large");
  if (cfg->lookahead < 0) BAD("lookahead: must not be negative");
  if (cfg->os_pes < 1) BAD("os_pes: must be at least 1");
  if (!(cfg->os_clock_hz > 0) || !isfinite(cfg->os_clock_hz)) BAD("os_clock_hz: must be positive");
  if (cfg->os_channels < 1) BAD("os_channels: must be at least 1");
  if (!(cfg->os_channel_bytes_per_s > 0) || !isfinite(cfg->os_channel_bytes_per_s)) BAD("os_channel_bytes_per_s: must be positive");
  if (cfg->trace && cfg->trace_max_samples < 16) BAD("trace_max_samples: must be at least 16");
  if (cfg->trace && (cfg->trace_fifo_depth < 1 || cfg->trace_fifo_depth > 65536)) BAD("trace_fifo_depth: not in 1..65536");
  return TRUE;
}

const char *fr_sparch_bound_name(FrSparchBound b) {
  switch (b) {
  case FR_SPARCH_BOUND_MULTIPLY: return "multiply";
  case FR_SPARCH_BOUND_MERGE: return "merge";
  case FR_SPARCH_BOUND_DRAM: return "dram";
  }
  return "?";
}

const char *fr_sparch_prefetch_name(FrSparchPrefetch p) {
  switch (p) {
  case FR_SPARCH_PREFETCH_MIN: return "min";
  case FR_SPARCH_PREFETCH_LRU: return "lru";
  case FR_SPARCH_PREFETCH_NONE: return "none";
  }
  return "?";
}

const char *fr_sparch_arch_name(FrSparchArch a) {
  return a == FR_SPARCH_ARCH_OUTERSPACE ? "outerspace" : a == FR_SPARCH_ARCH_SPARCH ? "sparch" : "?";
}

gboolean fr_sparch_prefetch_from_name(const char *name, FrSparchPrefetch *out) {
  if (!name) return FALSE;
  for (int p = FR_SPARCH_PREFETCH_MIN; p <= FR_SPARCH_PREFETCH_NONE; p++)
    if (g_ascii_strcasecmp(name, fr_sparch_prefetch_name(p)) == 0) {
      *out = p;
      return TRUE;
    }
  return FALSE;
}

gboolean fr_sparch_arch_from_name(const char *name, FrSparchArch *out) {
  if (!name) return FALSE;
  if (g_ascii_strcasecmp(name, "sparch") == 0) *out = FR_SPARCH_ARCH_SPARCH;
  else if (g_ascii_strcasecmp(name, "outerspace") == 0) *out = FR_SPARCH_ARCH_OUTERSPACE;
  else return FALSE;
  return TRUE;
}

void fr_sparch_result_free(FrSparchResult *r) {
  if (!r) return;
  g_free(r->rounds);
  if (r->c) fr_csr_free(r->c);
  fr_sparch_trace_free(r->trace);
  g_free(r);
}

/* ---- helpers ---- */

gpointer fr_sp_try_alloc(size_t n, size_t size, GError **error) {
  if (n == 0) n = 1;
  gpointer p = g_try_malloc_n(n, size);
  if (!p)
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE, "out of memory allocating %zu x %zu bytes", n,
                size);
  return p;
}

gboolean fr_sp_cancelled(FrSpCancel *c) {
  if (g_atomic_int_get(&c->cancelled)) return TRUE;
  if (c->job && fr_job_is_cancelled(c->job)) {
    g_atomic_int_set(&c->cancelled, 1);
    return TRUE;
  }
  return FALSE;
}

void fr_sp_set_cancel_error(GError **error) {
  g_set_error_literal(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "simulation cancelled");
}

int fr_sp_pick_blocks(int64_t nrows) {
  int t = fr_pool_get_threads();
  int64_t n = (int64_t)t * 8;
  if (n < 8) n = 8;
  if (n > 256) n = 256;
  if (n > nrows) n = nrows > 0 ? nrows : 1;
  return (int)n;
}

void fr_sp_rows_init(FrSpRows *rows, int64_t nrows, const int64_t *row_work, int nblocks) {
  if (nblocks < 1) nblocks = 1;
  rows->nrows = nrows;
  rows->nblocks = nblocks;
  rows->start = g_new0(int64_t, nblocks + 1);
  double total = 0;
  for (int64_t i = 0; i < nrows; i++) total += (double)row_work[i] + 1.0; /* +1: every row costs a visit */
  double acc = 0;
  int b = 1;
  for (int64_t i = 0; i < nrows && b < nblocks; i++) {
    acc += (double)row_work[i] + 1.0;
    while (b < nblocks && acc >= total * b / nblocks) rows->start[b++] = i + 1;
  }
  while (b < nblocks) rows->start[b++] = nrows;
  rows->start[nblocks] = nrows;
  for (int k = 1; k <= nblocks; k++)
    if (rows->start[k] < rows->start[k - 1]) rows->start[k] = rows->start[k - 1];
}

void fr_sp_rows_clear(FrSpRows *rows) {
  g_free(rows->start);
  rows->start = NULL;
}

FrSpMat *fr_sp_mat_new(const FrSpRows *rows) {
  FrSpMat *m = g_new0(FrSpMat, 1);
  m->nblocks = rows->nblocks;
  m->blk = g_new0(FrSpBlock, rows->nblocks);
  return m;
}

void fr_sp_mat_free(FrSpMat *m) {
  if (!m) return;
  for (int b = 0; b < m->nblocks; b++) {
    g_free(m->blk[b].row);
    g_free(m->blk[b].rowptr);
    if (!m->blk[b].borrowed) {
      g_free(m->blk[b].col);
      g_free(m->blk[b].val);
    }
  }
  g_free(m->blk);
  g_free(m);
}

typedef struct {
  FrSpMat *m;
  const FrSpRows *rows;
  FrCsr *c;
  int64_t *base;
} ToCsr;

static void to_csr_block(void *ctx, int64_t b0, int64_t b1) {
  ToCsr *t = ctx;
  for (int64_t b = b0; b < b1; b++) {
    FrSpBlock *blk = &t->m->blk[b];
    int64_t r0 = t->rows->start[b], r1 = t->rows->start[b + 1], idx = 0, pos = 0;
    for (int64_t i = r0; i < r1; i++) {
      if (idx < blk->nr && blk->row[idx] == i) pos = blk->rowptr[++idx];
      t->c->rowptr[i + 1] = t->base[b] + pos;
    }
    if (blk->nnz) {
      memcpy(t->c->col + t->base[b], blk->col, (size_t)blk->nnz * sizeof(int32_t));
      memcpy(t->c->val + t->base[b], blk->val, (size_t)blk->nnz * sizeof(double));
    }
    g_free(blk->col);
    g_free(blk->val);
    g_free(blk->rowptr);
    g_free(blk->row);
    memset(blk, 0, sizeof *blk);
  }
}

FrCsr *fr_sp_mat_to_csr(FrSpMat *m, const FrSpRows *rows, int64_t ncols, GError **error) {
  FrCsr *c = fr_csr_new(rows->nrows, ncols, m->nnz, error);
  if (!c) return NULL;
  int64_t *base = g_new0(int64_t, m->nblocks + 1);
  for (int b = 0; b < m->nblocks; b++) base[b + 1] = base[b] + m->blk[b].nnz;
  c->rowptr[0] = 0;
  ToCsr t = {m, rows, c, base};
  fr_parallel_for(m->nblocks, 1, to_csr_block, &t);
  g_free(base);
  return c;
}

void fr_sp_finish_round_cycles(FrSparchRound *r, const FrSparchConfig *cfg, double clock_hz, double bw) {
  r->bytes = r->a_read + r->b_read + r->partial_read + r->partial_write + r->c_write;
  double bytes_per_cycle = bw / clock_hz;
  r->dram_cycles = (int64_t)ceil((double)r->bytes / bytes_per_cycle);
  r->cycles = r->multiply_cycles;
  r->bound = FR_SPARCH_BOUND_MULTIPLY;
  if (r->merge_cycles > r->cycles) {
    r->cycles = r->merge_cycles;
    r->bound = FR_SPARCH_BOUND_MERGE;
  }
  if (r->dram_cycles > r->cycles) {
    r->cycles = r->dram_cycles;
    r->bound = FR_SPARCH_BOUND_DRAM;
  }
}
