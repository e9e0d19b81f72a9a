/* frontier-cli sparch multiply | simulate | generate */
#include "frontier-cli.h"

#include "fr-csr.h"
#include "fr-mtx.h"
#include "fr-pool.h"
#include "fr-sparch.h"
#include "fr-sparse-gen.h"
#include "fr-spgemm.h"

#include <stdio.h>
#include <string.h>

/* A.mtx, then B.mtx or A itself; --transpose-b uses Bᵀ (so `A --transpose-b` is A·Aᵀ). */
static gboolean load_operands(int argc, char **argv, gboolean transpose_b, FrCsr **a, FrCsr **b, GError **error) {
  if (argc < 2 || argc > 3) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID, "expected A.mtx [B.mtx], got %d file names", argc - 1);
    return FALSE;
  }
  *a = fr_mtx_load(argv[1], NULL, error);
  if (!*a) return FALSE;
  FrCsr *rhs = argc == 3 ? fr_mtx_load(argv[2], NULL, error) : fr_csr_copy(*a);
  if (!rhs) {
    fr_csr_free(*a);
    return FALSE;
  }
  if (transpose_b) {
    *b = fr_csr_transpose(rhs);
    fr_csr_free(rhs);
  } else {
    *b = rhs;
  }
  return TRUE;
}

int cmd_sparch_multiply(int argc, char **argv) {
  gboolean transpose_b = FALSE;
  int threads = 0;
  char *output = NULL;
  GOptionEntry entries[] = {
    { "transpose-b", 0, 0, G_OPTION_ARG_NONE, &transpose_b, "Multiply by the transpose of B (A·Aᵀ with one file)", NULL },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write C as Matrix Market (.mtx or .mtx.gz)", "C.mtx" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("A.mtx [B.mtx] - sparse matrix product C = A·B (B defaults to A)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  if (threads < 0) {
    fprintf(stderr, "frontier-cli: --threads must be >= 0\n");
    return EXIT_USAGE;
  }
  GError *error = NULL;
  FrCsr *a = NULL, *b = NULL, *c = NULL;
  int rc = EXIT_OK;
  if (!load_operands(argc, argv, transpose_b, &a, &b, &error)) {
    rc = error->code == FR_SPARSE_ERROR_INVALID ? EXIT_USAGE : EXIT_FAILED;
    goto out;
  }
  FrSpgemmStats st = {0};
  c = fr_spgemm(a, b, threads, &st, &error);
  if (!c) {
    rc = EXIT_FAILED;
    goto out;
  }
  if (output && !fr_mtx_save(c, output, FALSE, &error)) {
    rc = EXIT_FAILED;
    goto out;
  }
  if (opt_json) {
    JsonBuilder *jb = json_builder_new();
    json_builder_begin_object(jb);
    json_builder_set_member_name(jb, "rows"); json_builder_add_int_value(jb, c->nrows);
    json_builder_set_member_name(jb, "cols"); json_builder_add_int_value(jb, c->ncols);
    json_builder_set_member_name(jb, "nnz"); json_builder_add_int_value(jb, c->nnz);
    json_builder_set_member_name(jb, "multiplies"); json_builder_add_int_value(jb, st.multiplies);
    json_builder_set_member_name(jb, "seconds"); json_builder_add_double_value(jb, st.seconds);
    json_builder_set_member_name(jb, "threads"); json_builder_add_int_value(jb, st.threads);
    json_builder_set_member_name(jb, "output"); output ? json_builder_add_string_value(jb, output) : json_builder_add_null_value(jb);
    json_builder_end_object(jb);
    print_json(jb);
    g_object_unref(jb);
  } else {
    printf("C: %lld × %lld, %lld nonzeros, %lld multiplies, %.3f s on %d threads%s%s\n", (long long)c->nrows,
           (long long)c->ncols, (long long)c->nnz, (long long)st.multiplies, st.seconds, st.threads,
           output ? ", written to " : "", output ? output : "");
  }
out:
  if (error) fprintf(stderr, "frontier-cli: %s\n", error->message);
  g_clear_error(&error);
  fr_csr_free(a);
  fr_csr_free(b);
  fr_csr_free(c);
  g_free(output);
  return rc;
}

int cmd_sparch_generate(int argc, char **argv) {
  gint64 seed = 1;
  char *output = NULL;
  GOptionEntry entries[] = {
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Where to write the matrix (.mtx or .mtx.gz)", "FILE" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("SPEC - write a synthetic sparse matrix");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  g_option_context_set_description(ctx, "SPEC is one of:\n"
                                        "  rmat:scale=14,edges=8        R-MAT power-law graph (a,b,c optional)\n"
                                        "  stencil2d:n=256              2-D 5-point Laplacian on an n×n grid\n"
                                        "  stencil3d:n=40               3-D 7-point Laplacian on an n³ grid\n"
                                        "  banded:n=20000,band=16,density=0.5\n"
                                        "  uniform:n=10000,density=0.001\n"
                                        "Generated matrices are synthetic: they stand in for structures like the\n"
                                        "SpArch benchmarks that are not shipped, and are labelled so.");
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  if (argc != 2 || !output) {
    fprintf(stderr, "frontier-cli: usage: frontier-cli sparch generate SPEC -o FILE.mtx\n");
    g_free(output);
    return EXIT_USAGE;
  }
  GError *error = NULL;
  FrCsr *m = fr_sparse_generate(argv[1], (guint64)seed, &error);
  int rc = EXIT_OK;
  if (!m) rc = error->code == FR_SPARSE_ERROR_INVALID ? EXIT_USAGE : EXIT_FAILED;
  else if (!fr_mtx_save(m, output, FALSE, &error)) rc = EXIT_FAILED;
  if (rc == EXIT_OK) {
    FrCsrStats st;
    fr_csr_stats(m, &st);
    if (opt_json) {
      JsonBuilder *jb = json_builder_new();
      json_builder_begin_object(jb);
      json_builder_set_member_name(jb, "spec"); json_builder_add_string_value(jb, argv[1]);
      json_builder_set_member_name(jb, "synthetic"); json_builder_add_boolean_value(jb, TRUE);
      json_builder_set_member_name(jb, "rows"); json_builder_add_int_value(jb, m->nrows);
      json_builder_set_member_name(jb, "cols"); json_builder_add_int_value(jb, m->ncols);
      json_builder_set_member_name(jb, "nnz"); json_builder_add_int_value(jb, m->nnz);
      json_builder_set_member_name(jb, "max_row_nnz"); json_builder_add_int_value(jb, st.max_row_nnz);
      json_builder_set_member_name(jb, "output"); json_builder_add_string_value(jb, output);
      json_builder_end_object(jb);
      print_json(jb);
      g_object_unref(jb);
    } else {
      printf("%s: %lld × %lld, %lld nonzeros, longest row %lld, written to %s\n",
             fr_sparse_gen_describe(argv[1]), (long long)m->nrows, (long long)m->ncols, (long long)m->nnz,
             (long long)st.max_row_nnz, output);
    }
  } else {
    fprintf(stderr, "frontier-cli: %s\n", error->message);
  }
  g_clear_error(&error);
  fr_csr_free(m);
  g_free(output);
  return rc;
}

typedef struct {
  FrCsr *a, *b;
  FrSparchConfig cfg;
  gboolean ablation;
  FrSparchResult *result;       /* out */
  FrSparchAblation *steps;      /* out */
} SimulateJob;

static gboolean simulate_job(FrJob *job, gpointer data, GError **error) {
  SimulateJob *s = data;
  if (s->ablation) s->steps = fr_sparch_ablation(s->a, s->b, &s->cfg, job, error);
  else s->result = fr_sparch_simulate(s->a, s->b, &s->cfg, job, error);
  return s->ablation ? s->steps != NULL : s->result != NULL;
}

static void print_result_text(const char *label, const FrSparchResult *r) {
  const double mb = 1e6;
  printf("%-18s %9.2f MB DRAM (A %.2f, B %.2f, partial write %.2f, partial read %.2f, C %.2f)\n", label,
         r->total / mb, r->a_read / mb, r->b_read / mb, r->partial_write / mb, r->partial_read / mb, r->c_write / mb);
  printf("%-18s %lld cycles, %.3f ms, %.2f GFLOPS, %lld partial matrices, %lld rounds, nnz(C) %lld\n", "",
         (long long)r->cycles, r->seconds * 1e3, r->gflops, (long long)r->partial_matrices, (long long)r->n_rounds,
         (long long)r->nnz_c);
}

int cmd_sparch_simulate(int argc, char **argv) {
  char *arch = NULL, *prefetch = NULL;
  gboolean no_condense = FALSE, no_huffman = FALSE, transpose_b = FALSE, ablation = FALSE;
  int buffer_kb = -1, line_bytes = -1, ways = -1, width = -1, multipliers = -1, threads = 0;
  gint64 lookahead = -1;
  double bandwidth_gbps = -1, clock_ghz = -1;
  GOptionEntry entries[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "sparch (default) or outerspace", "ARCH" },
    { "no-condense", 0, 0, G_OPTION_ARG_NONE, &no_condense, "Plain columns of A instead of condensed ones", NULL },
    { "no-huffman", 0, 0, G_OPTION_ARG_NONE, &no_huffman, "Naive merge order instead of the Huffman scheduler", NULL },
    { "prefetch", 0, 0, G_OPTION_ARG_STRING, &prefetch, "Row prefetcher policy: min (default), lru, none", "POLICY" },
    { "buffer-kb", 0, 0, G_OPTION_ARG_INT, &buffer_kb, "Prefetch buffer size in KiB (default 48)", "N" },
    { "line-bytes", 0, 0, G_OPTION_ARG_INT, &line_bytes, "Prefetch line size in bytes (default 48)", "N" },
    { "lookahead", 0, 0, G_OPTION_ARG_INT64, &lookahead, "B-row requests MIN sees ahead (default 4096)", "N" },
    { "ways", 0, 0, G_OPTION_ARG_INT, &ways, "Merge-tree ways, a power of two (default 64)", "N" },
    { "merger-width", 0, 0, G_OPTION_ARG_INT, &width, "Elements per cycle per merger (default 16)", "N" },
    { "multipliers", 0, 0, G_OPTION_ARG_INT, &multipliers, "Multiplies per cycle (default 16)", "N" },
    { "bandwidth-gbps", 0, 0, G_OPTION_ARG_DOUBLE, &bandwidth_gbps, "DRAM bandwidth in GB/s (default 128)", "GBPS" },
    { "clock-ghz", 0, 0, G_OPTION_ARG_DOUBLE, &clock_ghz, "SpArch clock in GHz (default 1)", "GHZ" },
    { "ablation", 0, 0, G_OPTION_ARG_NONE, &ablation, "Run the paper's ablation (OuterSPACE to full SpArch)", NULL },
    { "transpose-b", 0, 0, G_OPTION_ARG_NONE, &transpose_b, "Multiply by the transpose of B", NULL },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Host threads for the simulation (default: all cores)", "N" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("A.mtx [B.mtx] - simulate SpArch or OuterSPACE on C = A·B");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;

  FrSparchArch a_kind = FR_SPARCH_ARCH_SPARCH;
  if (arch && !fr_sparch_arch_from_name(arch, &a_kind)) {
    fprintf(stderr, "frontier-cli: unknown --arch '%s' (sparch or outerspace)\n", arch);
    return EXIT_USAGE;
  }
  SimulateJob *s = g_new0(SimulateJob, 1);
  fr_sparch_config_init(&s->cfg, a_kind);
  if (prefetch && !fr_sparch_prefetch_from_name(prefetch, &s->cfg.prefetch)) {
    fprintf(stderr, "frontier-cli: unknown --prefetch '%s' (min, lru or none)\n", prefetch);
    g_free(s);
    return EXIT_USAGE;
  }
  s->cfg.condense = !no_condense;
  s->cfg.huffman = !no_huffman;
  if (buffer_kb >= 0) s->cfg.prefetch_buffer_bytes = (int64_t)buffer_kb * 1024;
  if (line_bytes >= 0) s->cfg.prefetch_line_bytes = line_bytes;
  if (lookahead >= 0) s->cfg.lookahead = lookahead;
  if (ways >= 0) s->cfg.merge_ways = ways;
  if (width >= 0) s->cfg.merger_width = width;
  if (multipliers >= 0) s->cfg.multipliers = multipliers;
  if (bandwidth_gbps >= 0) s->cfg.bandwidth_bytes_per_s = bandwidth_gbps * 1e9;
  if (clock_ghz >= 0) s->cfg.clock_hz = clock_ghz * 1e9;
  s->cfg.keep_product = FALSE;
  s->ablation = ablation;
  if (threads > 0) fr_pool_set_threads(threads);

  GError *error = NULL;
  int rc = EXIT_OK;
  if (!fr_sparch_config_validate(&s->cfg, &error)) {
    rc = EXIT_USAGE;
  } else if (!load_operands(argc, argv, transpose_b, &s->a, &s->b, &error)) {
    rc = error->code == FR_SPARSE_ERROR_INVALID ? EXIT_USAGE : EXIT_FAILED;
  } else {
    /* the job owns nothing: s outlives it and is freed here */
    FrJob *job = fr_job_start("sparch-simulate", simulate_job, s, NULL);
    FrJobStatus st = run_job(job, NULL, NULL, &error);
    fr_job_unref(job);
    rc = exit_for(st, error);
    g_clear_error(&error);
    if (rc == EXIT_OK) {
      if (opt_json) {
        char *js = ablation ? fr_sparch_ablation_to_json(s->steps, TRUE) : fr_sparch_result_to_json(s->result, TRUE);
        printf("%s\n", js);
        g_free(js);
      } else if (ablation) {
        for (int i = 0; i < s->steps->n_steps; i++) print_result_text(s->steps->steps[i].label, s->steps->steps[i].result);
        const FrSparchResult *os = s->steps->steps[0].result, *full = s->steps->steps[s->steps->n_steps - 1].result;
        printf("DRAM traffic OuterSPACE / SpArch: %.2f× (paper: %.1f×)\n", (double)os->total / (double)full->total,
               FR_SPARCH_PAPER_OVERALL_FACTOR);
      } else {
        print_result_text(fr_sparch_arch_name(s->cfg.arch), s->result);
      }
    }
  }
  if (error) fprintf(stderr, "frontier-cli: %s\n", error->message);
  g_clear_error(&error);
  fr_sparch_result_free(s->result);
  if (s->steps) fr_sparch_ablation_free(s->steps);
  fr_csr_free(s->a);
  fr_csr_free(s->b);
  g_free(s);
  g_free(arch);
  g_free(prefetch);
  return rc;
}
