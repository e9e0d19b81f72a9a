/* frontier-cli-translate.c: `frontier-cli translate` (English -> German with a shipped or given model,
 * one translation a line) and `frontier-cli lsra eval` (BLEU per dev set, Mult-Adds, decoding speed). */
#include "frontier-cli.h"

#include "fr-lsra-eval.h"
#include "fr-lsra-translate.h"
#include "fr-pool.h"

#include <errno.h>
#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile gint translate_cancel;

static void on_sigint(int sig) {
  (void)sig;
  g_atomic_int_set(&translate_cancel, 1);
}

static int open_error(GError *e) {
  fprintf(stderr, "frontier-cli: %s\n", e->message);
  int rc = g_error_matches(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID) ? EXIT_USAGE : EXIT_FAILED;
  g_error_free(e);
  return rc;
}

/* Translates one line; prints it (text or a JSON line). FALSE on failure (reported). */
static gboolean translate_line(FrLsraTranslator *t, const char *line, const FrLsraSearchOpts *so, int *rc) {
  GError *e = NULL;
  FrLsraTranslation *tr = fr_lsra_translate(t, line, so, &e);
  if (!tr) {
    fprintf(stderr, "frontier-cli: %s\n", e->message);
    *rc = g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? EXIT_CANCELLED : EXIT_FAILED;
    g_error_free(e);
    return FALSE;
  }
  if (opt_json) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "source");
    json_builder_add_string_value(b, line);
    json_builder_set_member_name(b, "text");
    json_builder_add_string_value(b, tr->text);
    json_builder_set_member_name(b, "ms");
    json_builder_add_double_value(b, tr->ms);
    json_builder_set_member_name(b, "tokens");
    json_builder_add_int_value(b, tr->n_out);
    json_builder_set_member_name(b, "source_tokens");
    json_builder_add_int_value(b, tr->n_src);
    json_builder_set_member_name(b, "truncated");
    json_builder_add_boolean_value(b, tr->truncated);
    json_builder_set_member_name(b, "unknown");
    json_builder_add_int_value(b, tr->unknown);
    json_builder_set_member_name(b, "score");
    json_builder_add_double_value(b, tr->score);
    json_builder_end_object(b);
    JsonGenerator *gen = json_generator_new();
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    char *s = json_generator_to_data(gen, NULL);
    printf("%s\n", s);
    g_free(s);
    json_node_unref(root);
    g_object_unref(gen);
    g_object_unref(b);
  } else {
    printf("%s\n", tr->text);
    if (tr->truncated && !opt_quiet)
      fprintf(stderr, "frontier-cli: an input line had more than %d tokens and was cut\n", FR_LSRA_MAX_TOKENS - 1);
  }
  fflush(stdout);
  fr_lsra_translation_free(tr);
  return TRUE;
}

int cmd_translate(int argc, char **argv) {
  char *model = NULL, *bpe = NULL, *input = NULL;
  int beam = 4, threads = 0;
  double lenpen = 1.0;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
      "transformer-small, lite-small, transformer, lite (default: lite, else lite-small) or a model file", "NAME|PATH" },
    { "bpe", 0, 0, G_OPTION_ARG_FILENAME, &bpe, "BPE vocabulary (default: the shipped lsra/bpe.model)", "PATH" },
    { "beam", 'b', 0, G_OPTION_ARG_INT, &beam, "Beam size (default 4; 1: greedy)", "N" },
    { "lenpen", 0, 0, G_OPTION_ARG_DOUBLE, &lenpen, "Length penalty, fairseq's (default 1.0)", "X" },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &input, "Translate every line of FILE ('-': stdin)", "FILE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("[TEXT…] - translate English to German");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  g_option_context_set_description(ctx, "Each TEXT argument, else each line of --input or of stdin, gives one line "
                                         "on stdout (an empty line for an empty one). --json prints one JSON object "
                                         "a line: source, text, ms, tokens, source_tokens, truncated, unknown, score.");
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  int rc = EXIT_OK;
  if (!ok) rc = EXIT_USAGE;
  else if (beam < 1 || beam > 1024 || threads < 0) {
    fprintf(stderr, "frontier-cli: --beam must be 1 to 1024 and --threads positive\n");
    rc = EXIT_USAGE;
  } else if (input && argc > 1) {
    fprintf(stderr, "frontier-cli: give either TEXT arguments or --input, not both\n");
    rc = EXIT_USAGE;
  }
  FILE *in = NULL;
  if (rc == EXIT_OK && argc <= 1) {
    if (!input || !strcmp(input, "-")) in = stdin;
    else if (!(in = fopen(input, "r"))) {
      fprintf(stderr, "frontier-cli: %s: %s\n", input, g_strerror(errno));
      rc = EXIT_FAILED;
    }
  }
  FrLsraTranslator *t = NULL;
  if (rc == EXIT_OK) {
    if (threads > 0) fr_pool_set_threads(threads);
    GError *e = NULL;
    if (model) {
      t = fr_lsra_translator_open(model, bpe, &e);
    } else { /* the largest shipped Lite Transformer */
      const char *const choices[] = { "lite", "lite-small" };
      for (guint i = 0; i < G_N_ELEMENTS(choices) && !t; i++) {
        g_clear_error(&e);
        t = fr_lsra_translator_open(choices[i], bpe, &e);
      }
    }
    if (!t) rc = open_error(e);
  }
  if (rc == EXIT_OK) {
    FrLsraSearchOpts so;
    fr_lsra_search_opts_init(&so);
    so.beam = beam;
    so.len_penalty = lenpen;
    so.cancel = &translate_cancel;
    struct sigaction sa = { .sa_handler = on_sigint }, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    if (argc > 1) {
      for (int i = 1; i < argc && translate_line(t, argv[i], &so, &rc); i++) {}
    } else {
      char *line = NULL;
      size_t cap = 0;
      ssize_t len;
      while (!g_atomic_int_get(&translate_cancel) && (len = getline(&line, &cap, in)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (!translate_line(t, line, &so, &rc)) break;
      }
      free(line);
      if (g_atomic_int_get(&translate_cancel) && rc == EXIT_OK) {
        fprintf(stderr, "frontier-cli: cancelled\n");
        rc = EXIT_CANCELLED;
      }
    }
    sigaction(SIGINT, &old, NULL);
  }
  if (in && in != stdin) fclose(in);
  fr_lsra_translator_free(t);
  g_free(model);
  g_free(bpe);
  g_free(input);
  return rc;
}

/* ---- lsra eval ---- */

int cmd_lsra_eval(int argc, char **argv) {
  char *bpe = NULL, *hyp_dir = NULL, *output = NULL;
  char **dev = NULL;
  int beam = 4, limit = 0, batch = 32, threads = 0;
  double lenpen = 1.0;
  GOptionEntry entries[] = {
    { "dev", 'd', 0, G_OPTION_ARG_FILENAME_ARRAY, &dev,
      "A dev set, English<TAB>German (repeatable; default: the shipped gettext, ddtp and ding sets)", "FILE" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, "Only the first N pairs of each set", "N" },
    { "beam", 'b', 0, G_OPTION_ARG_INT, &beam, "Beam size (default 4; 1: greedy)", "N" },
    { "lenpen", 0, 0, G_OPTION_ARG_DOUBLE, &lenpen, "Length penalty, fairseq's (default 1.0)", "X" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Sentences decoded together, sorted by length (default 32)", "N" },
    { "bpe", 0, 0, G_OPTION_ARG_FILENAME, &bpe, "BPE vocabulary (default: the shipped lsra/bpe.model)", "PATH" },
    { "hyp-dir", 0, 0, G_OPTION_ARG_FILENAME, &hyp_dir, "Write the translations to DIR/NAME.hyp.txt", "DIR" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Also write the JSON result to FILE", "FILE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("MODEL|PATH - BLEU, Mult-Adds and decoding speed on the dev sets");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  g_option_context_set_description(ctx, "MODEL is transformer-small, lite-small, transformer or lite (the shipped "
                                         "lsra/NAME.safetensors), or a model file. BLEU is sacreBLEU's (13a); "
                                         "bleu_tok is on 13a tokens with hyphenated compounds split, as the "
                                         "paper's tokenised BLEU.");
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  int rc = EXIT_OK;
  if (!ok) rc = EXIT_USAGE;
  else if (argc != 2) {
    fprintf(stderr, "frontier-cli: lsra eval needs one MODEL or model file\n");
    rc = EXIT_USAGE;
  } else if (beam < 1 || beam > 1024 || limit < 0 || batch < 1 || threads < 0) {
    fprintf(stderr, "frontier-cli: --beam must be 1 to 1024, --batch at least 1, --limit and --threads >= 0\n");
    rc = EXIT_USAGE;
  }
  if (rc == EXIT_OK && dev) {
    for (char **p = dev; *p; p++)
      if (!g_file_test(*p, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "frontier-cli: %s: no such dev set\n", *p);
        rc = EXIT_FAILED;
        break;
      }
  }
  if (rc == EXIT_OK) {
    if (threads > 0) fr_pool_set_threads(threads);
    FrLsraEvalOpts o;
    fr_lsra_eval_opts_init(&o);
    o.dev = dev;
    o.limit = limit;
    o.batch = batch;
    o.search.beam = beam;
    o.search.len_penalty = lenpen;
    o.hyp_dir = hyp_dir;
    FrJob *job = fr_lsra_eval_job_start(argv[1], bpe, &o);
    GVariant *result = NULL;
    GError *error = NULL;
    FrJobStatus st = run_job(job, &result, "lsra.eval.result", &error);
    fr_job_unref(job);
    rc = exit_for(st, error);
    g_clear_error(&error);
    if (rc == EXIT_OK && result) {
      const char *json = NULL;
      g_variant_get(result, "(&s)", &json);
      if (output && !g_file_set_contents(output, json, -1, &error)) {
        fprintf(stderr, "frontier-cli: %s\n", error->message);
        g_clear_error(&error);
        rc = EXIT_FAILED;
      }
      if (opt_json) {
        printf("%s\n", json);
      } else {
        JsonParser *p = json_parser_new();
        if (json_parser_load_from_data(p, json, -1, NULL)) {
          JsonObject *r = json_node_get_object(json_parser_get_root(p));
          printf("%s: BLEU %.2f (tokenised %.2f), %.1fM Mult-Adds, %.2fM parameters, %.0f tokens/s (beam %d)\n",
                 json_object_get_string_member(r, "model"), json_object_get_double_member(r, "bleu"),
                 json_object_get_double_member(r, "bleu_tok"), json_object_get_double_member(r, "macs") / 1e6,
                 (double)json_object_get_int_member(r, "params") / 1e6,
                 json_object_get_double_member(r, "tokens_per_second"), beam);
          JsonObject *ps = json_object_get_object_member(r, "per_source");
          GList *names = json_object_get_members(ps);
          for (GList *l = names; l; l = l->next) {
            JsonObject *s = json_object_get_object_member(ps, l->data);
            printf("  %-10s BLEU %6.2f (tokenised %6.2f) on %" G_GINT64_FORMAT " sentences, %.0f tokens/s\n",
                   (const char *)l->data, json_object_get_double_member(s, "bleu"),
                   json_object_get_double_member(s, "bleu_tok"), json_object_get_int_member(s, "sentences"),
                   json_object_get_double_member(s, "tokens_per_second"));
          }
          g_list_free(names);
        }
        g_object_unref(p);
      }
    }
    if (result) g_variant_unref(result);
  }
  g_strfreev(dev);
  g_free(bpe);
  g_free(hyp_dir);
  g_free(output);
  return rc;
}
