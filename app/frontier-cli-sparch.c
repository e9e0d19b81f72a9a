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
      printf("synthetic %s: %lld × %lld, %lld nonzeros, longest row %lld, written to %s\n",
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
