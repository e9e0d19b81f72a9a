/* test-sparch-trace.c: the simulator's visualisation trace is consistent with the run and bounded. */
#include "fr-mtx.h"
#include "fr-sparch.h"
#include "fr-test-util.h"

#include <string.h>



static size_t trace_bytes(const FrSparchTrace *t) {
  return sizeof *t + (size_t)t->n_fifo * (sizeof(int64_t) + sizeof(int32_t) + sizeof(float) * (size_t)t->n_layers) +
         (size_t)t->n_nodes * sizeof(FrSparchScheduleNode) + (size_t)t->n_bins * 3 * sizeof(int64_t) +
         (size_t)t->comparator.width * (size_t)(t->comparator.width + 14);
}

/* Checks every invariant of a trace against its result. */
static void check_trace(const FrSparchResult *r) {
  const FrSparchTrace *t = r->trace;
  const FrSparchConfig *cfg = &r->config;
  g_assert_nonnull(t);
  int64_t cap = cfg->trace_max_samples;
  /* FIFO occupancy */
  g_assert_cmpint(t->n_layers, ==, fr_sparch_config_layers(cfg));
  g_assert_cmpint(t->fifo_depth, ==, cfg->trace_fifo_depth);
  g_assert_cmpint(t->n_fifo, <=, cap + 8);
  if (r->n_rounds > 0 && r->multiplies > 0) g_assert_cmpint(t->n_fifo, >, 0);
  for (int64_t k = 0; k < t->n_fifo; k++) {
    g_assert_cmpint(t->fifo_round[k], >=, 0);
    g_assert_cmpint(t->fifo_round[k], <, r->n_rounds);
    const FrSparchRound *rd = &r->rounds[t->fifo_round[k]];
    g_assert_cmpint(t->fifo_cycle[k], >=, rd->start_cycle);
    if (k > 0 && t->fifo_round[k] == t->fifo_round[k - 1]) g_assert_cmpint(t->fifo_cycle[k], >, t->fifo_cycle[k - 1]);
    if (k > 0) g_assert_cmpint(t->fifo_round[k], >=, t->fifo_round[k - 1]);
    for (int l = 0; l < t->n_layers; l++) {
      float f = t->fifo_fill[k * t->n_layers + l];
      g_assert_cmpfloat(f, >=, 0.0f);
      g_assert_cmpfloat(f, <=, 1.0f);
    }
  }
  /* the final round is among the sampled ones */
  if (t->n_fifo > 0) g_assert_cmpint(t->fifo_round[t->n_fifo - 1], ==, r->n_rounds - 1);
  /* the schedule: one internal node a round, in execution order, the root (C) last */
  int64_t internal = 0, leaves = 0, folded = 0;
  for (int64_t i = 0; i < t->n_nodes; i++) {
    const FrSparchScheduleNode *n = &t->nodes[i];
    if (n->round >= 0) {
      g_assert_cmpint(n->round, ==, internal);
      g_assert_cmpint(n->size, ==, r->rounds[n->round].elements_out);
      g_assert_cmpint(n->leaf_index, ==, -1);
      internal++;
      folded += n->folded_leaves;
    } else {
      g_assert_cmpint(n->leaf_index, >=, 0);
      g_assert_cmpint(n->leaf_index, <, r->partial_matrices);
      leaves++;
    }
    if (i == t->n_nodes - 1) {
      g_assert_cmpint(n->parent, ==, -1);
      g_assert_cmpint(n->size, ==, r->nnz_c);
    } else {
      g_assert_cmpint(n->parent, >, i); /* consumed later */
      g_assert_cmpint(n->parent, <, t->n_nodes);
      g_assert_cmpint(t->nodes[n->parent].round, >=, 0);
    }
  }
  g_assert_cmpint(internal, ==, r->n_rounds);
  g_assert_cmpint(leaves + folded, ==, r->partial_matrices);
  g_assert_cmpint(t->n_nodes, <=, MAX(cap, r->n_rounds));
  /* prefetch bins add up to the totals */
  g_assert_cmpint(t->n_bins, <=, cap);
  int64_t h = 0, m = 0;
  for (int64_t k = 0; k < t->n_bins; k++) {
    h += t->bin_hits[k];
    m += t->bin_misses[k];
    if (k > 0) g_assert_cmpint(t->bin_cycle[k], >=, t->bin_cycle[k - 1]);
    g_assert_cmpint(t->bin_cycle[k], <=, r->cycles);
  }
  g_assert_cmpint(h, ==, r->prefetch_hits);
  g_assert_cmpint(m, ==, r->prefetch_misses);
  if (t->n_bins > 0) g_assert_cmpint(t->n_bins * t->bin_requests, >=, r->prefetch_requests);
  /* the comparator step */
  const FrSparchComparatorStep *c = &t->comparator;
  if (c->valid) {
    int w = c->width;
    g_assert_cmpint(w, >=, 1);
    g_assert_cmpint(w, <=, cfg->merger_width);
    g_assert_cmpint(c->round, >=, 0);
    g_assert_cmpint(c->layer, >=, 0);
    g_assert_cmpint(c->layer, <, t->n_layers);
    for (int i = 0; i + 1 < w; i++) {
      g_assert_cmpint(c->a_col[i], <, c->a_col[i + 1]);
      g_assert_cmpint(c->b_col[i], <, c->b_col[i + 1]);
      g_assert_cmpint(c->boundary[i], <=, c->boundary[i + 1]); /* a staircase */
      g_assert_cmpint(c->out_col[i], <=, c->out_col[i + 1]);
    }
    for (int i = 0; i < w; i++)
      for (int j = 0; j < w; j++) {
        g_assert_cmpint(c->a_le_b[i * w + j], ==, c->a_col[i] <= c->b_col[j]);
        /* the boundary splits row i of the matrix: b[j] < a[i] exactly for j < boundary[i] */
        g_assert_cmpint(j < c->boundary[i], ==, c->b_col[j] < c->a_col[i]);
      }
    /* the outputs are the w smallest of the 2w keys */
    int32_t all[2 * 4096];
    memcpy(all, c->a_col, (size_t)w * sizeof(int32_t));
    memcpy(all + w, c->b_col, (size_t)w * sizeof(int32_t));
    for (int i = 1; i < 2 * w; i++)
      for (int j = i; j > 0 && all[j - 1] > all[j]; j--) {
        int32_t x = all[j];
        all[j] = all[j - 1];
        all[j - 1] = x;
      }
    for (int i = 0; i < w; i++) g_assert_cmpint(c->out_col[i], ==, all[i]);
    /* a[x] lands at x + boundary[x]; b[j] at j + #{a <= b[j]} */
    for (int x = 0; x < w; x++)
      if (x + c->boundary[x] < w) {
        g_assert_cmpint(c->out_src[x + c->boundary[x]], ==, 0);
        g_assert_cmpint(c->out_col[x + c->boundary[x]], ==, c->a_col[x]);
      }
    for (int j = 0; j < w; j++) {
      int le = 0;
      for (int x = 0; x < w; x++) le += c->a_col[x] <= c->b_col[j];
      if (j + le < w) {
        g_assert_cmpint(c->out_src[j + le], ==, 1);
        g_assert_cmpint(c->out_col[j + le], ==, c->b_col[j]);
      }
    }
    int from_a = 0;
    for (int i = 0; i < w; i++) from_a += c->out_src[i] == 0;
    int expect_a = 0;
    for (int i = 0; i < w; i++) expect_a += i + c->boundary[i] < w;
    g_assert_cmpint(from_a, ==, expect_a);
  }
}

static FrSparchResult *run(const FrCsr *a, const FrSparchConfig *cfg) {
  GError *err = NULL;
  FrSparchResult *r = fr_sparch_simulate(a, a, cfg, NULL, &err);
  g_assert_no_error(err);
  return r;
}

static void test_consistent(void) {
  FrCsr *a = fr_test_skewed_csr(2000, 30000, 9);
  for (int cond = 0; cond < 2; cond++)
    for (int huff = 0; huff < 2; huff++)
      for (int ways = 4; ways <= 64; ways *= 16) {
        FrSparchConfig cfg;
        fr_sparch_config_init(&cfg, FR_SPARCH_ARCH_SPARCH);
        cfg.condense = cond;
        cfg.huffman = huff;
        cfg.merge_ways = ways;
        cfg.keep_product = FALSE;
        FrSparchResult *plain = run(a, &cfg);
        g_assert_null(plain->trace);
        cfg.trace = TRUE;
        FrSparchResult *r = run(a, &cfg);
        check_trace(r);
        g_assert_true(r->trace->comparator.valid);
        /* tracing changes nothing in the results */
        g_assert_cmpint(r->total, ==, plain->total);
        g_assert_cmpint(r->cycles, ==, plain->cycles);
        g_assert_cmpint(r->prefetch_hits, ==, plain->prefetch_hits);
        fr_sparch_result_free(plain);
        fr_sparch_result_free(r);
      }
  fr_csr_free(a);
}

static void test_bounded(void) {
  /* many partial matrices and rounds, a tiny sample budget: leaves fold into their rounds */
  FrCsr *a = fr_test_load_shipped_matrix("p2p-Gnutella31.mtx.gz");
  FrSparchConfig cfg;
  fr_sparch_config_init(&cfg, FR_SPARCH_ARCH_SPARCH);
  cfg.condense = FALSE;
  cfg.huffman = FALSE;
  cfg.merge_ways = 16;
  cfg.trace = TRUE;
  cfg.trace_max_samples = 64;
  cfg.keep_product = FALSE;
  FrSparchResult *r = run(a, &cfg);
  check_trace(r);
  g_assert_cmpint(r->trace->n_fifo, <=, 72);
  g_assert_cmpint(r->trace->n_bins, <=, 64);
  g_assert_cmpint(r->trace->n_nodes, ==, r->n_rounds); /* leaves folded */
  g_assert_cmpuint(trace_bytes(r->trace), <, 256 * 1024);
  fr_sparch_result_free(r);
  /* the default budget on a real matrix stays within a few MB */
  fr_sparch_config_init(&cfg, FR_SPARCH_ARCH_SPARCH);
  cfg.trace = TRUE;
  cfg.keep_product = FALSE;
  r = run(a, &cfg);
  check_trace(r);
  g_test_message("p2p-Gnutella31 trace: %" G_GINT64_FORMAT " FIFO samples, %" G_GINT64_FORMAT " nodes, %" G_GINT64_FORMAT
                 " bins, %zu bytes",
                 r->trace->n_fifo, r->trace->n_nodes, r->trace->n_bins, trace_bytes(r->trace));
  g_assert_cmpuint(trace_bytes(r->trace), <, 4 * 1024 * 1024);
  fr_sparch_result_free(r);
  fr_csr_free(a);
}

static void test_tiny(void) {
  /* one partial matrix, one round; and an empty product */
  int64_t rows[] = {0, 1, 2}, cols[] = {0, 0, 0};
  FrCsr *a = fr_csr_from_coo(3, 3, 3, rows, cols, NULL, FALSE, NULL);
  FrSparchConfig cfg;
  fr_sparch_config_init(&cfg, FR_SPARCH_ARCH_SPARCH);
  cfg.trace = TRUE;
  FrSparchResult *r = run(a, &cfg);
  g_assert_cmpint(r->partial_matrices, ==, 1);
  g_assert_cmpint(r->n_rounds, ==, 1);
  check_trace(r);
  g_assert_false(r->trace->comparator.valid); /* no merger ever had two inputs */
  fr_sparch_result_free(r);
  FrCsr *z = fr_csr_new(4, 4, 0, NULL);
  r = run(z, &cfg);
  g_assert_cmpint(r->n_rounds, ==, 0);
  check_trace(r);
  g_assert_cmpint(r->trace->n_nodes, ==, 0);
  fr_sparch_result_free(r);
  /* OuterSPACE has no tree: an empty trace */
  cfg.arch = FR_SPARCH_ARCH_OUTERSPACE;
  r = run(a, &cfg);
  g_assert_nonnull(r->trace);
  g_assert_cmpint(r->trace->n_fifo, ==, 0);
  g_assert_false(r->trace->comparator.valid);
  fr_sparch_result_free(r);
  fr_csr_free(a);
  fr_csr_free(z);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sparch/trace/consistent", test_consistent);
  g_test_add_func("/sparch/trace/bounded", test_bounded);
  g_test_add_func("/sparch/trace/tiny", test_tiny);
  return g_test_run();
}
