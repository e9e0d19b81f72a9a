/* frontier-cli-lsra.c: `frontier-cli lsra bpe | bleu`, the Lite Transformer's text tools: learning,
 * applying and inverting the joint BPE vocabulary, and scoring translations as sacreBLEU does
 * (docs/LSRA.md). */
#include "frontier-cli.h"

#include "fr-lsra-bleu.h"
#include "fr-lsra-bpe.h"

#include <stdio.h>
#include <string.h>

static void json_int(JsonBuilder *b, const char *k, gint64 v) {
  json_builder_set_member_name(b, k);
  json_builder_add_int_value(b, v);
}

static void json_double(JsonBuilder *b, const char *k, double v) {
  json_builder_set_member_name(b, k);
  json_builder_add_double_value(b, v);
}

static void json_string(JsonBuilder *b, const char *k, const char *v) {
  json_builder_set_member_name(b, k);
  v ? json_builder_add_string_value(b, v) : json_builder_add_null_value(b);
}

static int fail(GError *error, int rc) {
  fprintf(stderr, "frontier-cli: %s\n", error->message);
  g_error_free(error);
  return rc;
}

/* ---- bpe -------------------------------------------------------------------------------------- */

/* a line every tenth of the merges, not every 100 merges */
static void on_progress(double fraction, gpointer data) {
  int *last = data, tenth = (int)(fraction * 10);
  if (opt_quiet || tenth <= *last) return;
  *last = tenth;
  fprintf(stderr, "[%5.1f%%] learning merges\n", 100.0 * fraction);
}

static int bpe_learn(char **train, const FrLsraBpeConfig *cfg, const char *output) {
  GError *error = NULL;
  FrLsraBpeTrainer *t = fr_lsra_bpe_trainer_new(cfg);
  for (char **p = train; *p; p++) {
    if (!fr_lsra_bpe_trainer_add_file(t, *p, &error)) {
      fr_lsra_bpe_trainer_free(t);
      return fail(error, EXIT_FAILED);
    }
  }
  FrLsraBpeLearnStats st;
  int last = 0;
  FrLsraBpe *bpe = fr_lsra_bpe_trainer_learn(t, on_progress, &last, &st, &error);
  fr_lsra_bpe_trainer_free(t);
  if (!bpe) return fail(error, error->code == FR_LSRA_BPE_ERROR_INVALID ? EXIT_USAGE : EXIT_FAILED);
  if (!fr_lsra_bpe_save(bpe, output, &error)) {
    fr_lsra_bpe_free(bpe);
    return fail(error, EXIT_FAILED);
  }
  if (opt_json) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_int(b, "vocab_size", fr_lsra_bpe_vocab_size(bpe));
    json_int(b, "merges", st.merges);
    json_int(b, "chars_kept", st.chars_kept);
    json_int(b, "chars_seen", st.chars_seen);
    json_double(b, "coverage", st.coverage);
    json_int(b, "sentences", st.sentences);
    json_int(b, "skipped_sentences", st.skipped_sentences);
    json_int(b, "words", st.words);
    json_int(b, "unique_words", st.unique_words);
    json_double(b, "count_seconds", st.count_seconds);
    json_double(b, "learn_seconds", st.merge_seconds);
    json_string(b, "output", output);
    json_builder_end_object(b);
    print_json(b);
    g_object_unref(b);
  } else {
    printf("%d pieces (%d merges, %d of %d characters, coverage %.5f) from %" G_GINT64_FORMAT " sentences, %"
           G_GINT64_FORMAT " words (%" G_GINT64_FORMAT " distinct); counting %.2f s, learning %.2f s; saved to %s\n",
           fr_lsra_bpe_vocab_size(bpe), st.merges, st.chars_kept, st.chars_seen, st.coverage, st.sentences, st.words,
           st.unique_words, st.count_seconds, st.merge_seconds, output);
  }
  fr_lsra_bpe_free(bpe);
  return EXIT_OK;
}

static void print_ids(const FrLsraBpe *bpe, GArray *ids) {
  if (opt_json) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "ids");
    json_builder_begin_array(b);
    for (guint i = 0; i < ids->len; i++) json_builder_add_int_value(b, g_array_index(ids, gint32, i));
    json_builder_end_array(b);
    json_builder_set_member_name(b, "pieces");
    json_builder_begin_array(b);
    for (guint i = 0; i < ids->len; i++) json_builder_add_string_value(b, fr_lsra_bpe_piece(bpe, g_array_index(ids, gint32, i)));
    json_builder_end_array(b);
    json_builder_end_object(b);
    print_json(b);
    g_object_unref(b);
    return;
  }
  for (guint i = 0; i < ids->len; i++) printf("%s%d", i ? " " : "", g_array_index(ids, gint32, i));
  printf("\n");
  for (guint i = 0; i < ids->len; i++) printf("%s%s", i ? " " : "", fr_lsra_bpe_piece(bpe, g_array_index(ids, gint32, i)));
  printf("\n");
}

/* Each line (each tab-separated field) as space-separated pieces; counts per field on stderr/JSON. */
static int bpe_encode_file(const FrLsraBpe *bpe, const char *path, const char *output) {
  char *data = NULL;
  gsize len = 0;
  GError *error = NULL;
  if (!g_file_get_contents(path, &data, &len, &error)) return fail(error, EXIT_FAILED);
  GString *out = g_string_new(NULL);
  gint64 lines = 0, tokens[2] = { 0, 0 }, words[2] = { 0, 0 };
  gint64 t0 = g_get_monotonic_time();
  char **rows = g_strsplit(data, "\n", -1);
  for (char **r = rows; *r; r++) {
    if (!r[1] && !**r) break; /* after the final newline */
    char **fields = g_strsplit(*r, "\t", -1);
    for (int f = 0; fields[f]; f++) {
      GArray *ids = fr_lsra_bpe_encode(bpe, fields[f], -1);
      if (f) g_string_append_c(out, '\t');
      for (guint i = 0; i < ids->len; i++) {
        if (i) g_string_append_c(out, ' ');
        g_string_append(out, fr_lsra_bpe_piece(bpe, g_array_index(ids, gint32, i)));
      }
      if (f < 2) {
        tokens[f] += ids->len;
        char **w = g_strsplit_set(g_strstrip(fields[f]), " ", -1);
        for (char **x = w; *x; x++) words[f] += **x != '\0';
        g_strfreev(w);
      }
      g_array_unref(ids);
    }
    g_string_append_c(out, '\n');
    g_strfreev(fields);
    lines++;
  }
  double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
  g_strfreev(rows);
  g_free(data);
  gboolean ok = output ? g_file_set_contents(output, out->str, (gssize)out->len, &error) : (fputs(out->str, stdout), TRUE);
  g_string_free(out, TRUE);
  if (!ok) return fail(error, EXIT_FAILED);
  FILE *f = output ? stdout : stderr; /* stdout holds the pieces when there is no -o */
  if (opt_json && output) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_int(b, "lines", lines);
    json_int(b, "tokens_col1", tokens[0]);
    json_int(b, "tokens_col2", tokens[1]);
    json_int(b, "words_col1", words[0]);
    json_int(b, "words_col2", words[1]);
    json_double(b, "seconds", secs);
    json_string(b, "output", output);
    json_builder_end_object(b);
    print_json(b);
    g_object_unref(b);
  } else if (!opt_quiet) {
    fprintf(f, "%" G_GINT64_FORMAT " lines; column 1: %" G_GINT64_FORMAT " tokens (%.2f a line, %.3f a word); column 2: %"
            G_GINT64_FORMAT " tokens (%.2f a line, %.3f a word); %.2f s\n", lines, tokens[0],
            (double)tokens[0] / MAX(lines, 1), (double)tokens[0] / (double)MAX(words[0], 1), tokens[1],
            (double)tokens[1] / MAX(lines, 1), (double)tokens[1] / (double)MAX(words[1], 1), secs);
  }
  return EXIT_OK;
}

int cmd_lsra_bpe(int argc, char **argv) {
  FrLsraBpeConfig cfg;
  fr_lsra_bpe_config_init(&cfg);
  char **train = NULL, *model = NULL, *output = NULL, *encode = NULL, *decode = NULL, *encode_file = NULL;
  GOptionEntry entries[] = {
    { "train", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &train, "Learn from this text or TSV (every field; repeatable)", "FILE" },
    { "vocab", 'v', 0, G_OPTION_ARG_INT, &cfg.vocab_size, "Vocabulary size, specials included (default 8000)", "N" },
    { "coverage", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.character_coverage,
      "Share of character occurrences the kept characters cover (default 0.9995)", "X" },
    { "max-piece-length", 0, 0, G_OPTION_ARG_INT, &cfg.max_piece_length, "Longest piece in characters (default 16)", "N" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "A model written by --train", "FILE" },
    { "encode", 'e', 0, G_OPTION_ARG_STRING, &encode, "Print the ids and pieces of TEXT", "TEXT" },
    { "decode", 'd', 0, G_OPTION_ARG_STRING, &decode, "Print the text of space-separated ids", "IDS" },
    { "encode-file", 0, 0, G_OPTION_ARG_FILENAME, &encode_file, "Encode every line (every field) of FILE", "FILE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Where to write the model (--train) or the pieces (--encode-file)", "FILE" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- learn, apply or invert a joint BPE vocabulary");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  g_option_context_set_description(ctx, "Learn:   frontier-cli lsra bpe --train train.en-de.tsv --vocab 8000 -o bpe.model\n"
                                        "Encode:  frontier-cli lsra bpe --model bpe.model --encode \"Hello world\"\n"
                                        "Decode:  frontier-cli lsra bpe --model bpe.model --decode \"412 97 5\"\n"
                                        "Files:   frontier-cli lsra bpe --model bpe.model --encode-file dev.tsv -o dev.bpe\n"
                                        "Ids: 0 <pad>, 1 <unk>, 2 <s>, 3 </s>, then merges in learned order, then characters.");
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  int rc = EXIT_OK;
  int modes = (train != NULL) + (encode != NULL) + (decode != NULL) + (encode_file != NULL);
  if (!ok) {
    rc = EXIT_USAGE;
  } else if (modes != 1 || argc > 1) {
    fprintf(stderr, "frontier-cli: give exactly one of --train, --encode, --decode, --encode-file (see --help)\n");
    rc = EXIT_USAGE;
  } else if (train) {
    if (!output) {
      fprintf(stderr, "frontier-cli: --train needs -o MODEL\n");
      rc = EXIT_USAGE;
    } else {
      rc = bpe_learn(train, &cfg, output);
    }
  } else if (!model) {
    fprintf(stderr, "frontier-cli: --encode, --decode and --encode-file need --model FILE\n");
    rc = EXIT_USAGE;
  } else {
    GError *error = NULL;
    FrLsraBpe *bpe = fr_lsra_bpe_load(model, &error);
    if (!bpe) {
      rc = fail(error, EXIT_FAILED);
    } else if (encode) {
      GArray *ids = fr_lsra_bpe_encode(bpe, encode, -1);
      print_ids(bpe, ids);
      g_array_unref(ids);
    } else if (encode_file) {
      rc = bpe_encode_file(bpe, encode_file, output);
    } else {
      char **tok = g_strsplit_set(decode, " \t\n,", -1);
      GArray *ids = g_array_new(FALSE, FALSE, sizeof(gint32));
      for (char **t = tok; *t && rc == EXIT_OK; t++) {
        if (!**t) continue;
        char *end = NULL;
        gint64 v = g_ascii_strtoll(*t, &end, 10);
        if (*end || v < G_MININT32 || v > G_MAXINT32) {
          fprintf(stderr, "frontier-cli: '%s' is not an id\n", *t);
          rc = EXIT_USAGE;
        }
        gint32 id = (gint32)v;
        g_array_append_val(ids, id);
      }
      char *text = rc == EXIT_OK ? fr_lsra_bpe_decode(bpe, (const gint32 *)(void *)ids->data, ids->len, &error) : NULL;
      if (rc == EXIT_OK && !text) {
        rc = fail(error, EXIT_USAGE);
      } else if (text && opt_json) {
        JsonBuilder *b = json_builder_new();
        json_builder_begin_object(b);
        json_string(b, "text", text);
        json_builder_end_object(b);
        print_json(b);
        g_object_unref(b);
      } else if (text) {
        printf("%s\n", text);
      }
      g_free(text);
      g_array_unref(ids);
      g_strfreev(tok);
    }
    fr_lsra_bpe_free(bpe);
  }
  g_strfreev(train);
  g_free(model);
  g_free(output);
  g_free(encode);
  g_free(decode);
  g_free(encode_file);
  return rc;
}

/* ---- bleu ------------------------------------------------------------------------------------- */

/* Lines split on '\n' only (a final newline ends the last line), as sacreBLEU reads them. */
static char **read_lines(const char *path, gsize *n, GError **error) {
  char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &data, &len, error)) return NULL;
  if (memchr(data, '\0', len)) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a text file (NUL byte)", path);
    g_free(data);
    return NULL;
  }
  if (len && data[len - 1] == '\n') data[len - 1] = '\0';
  char **lines = len ? g_strsplit(data, "\n", -1) : g_new0(char *, 1);
  g_free(data);
  *n = g_strv_length(lines);
  return lines;
}

static void json_score(JsonBuilder *b, const FrLsraBleu *s) {
  json_double(b, "bleu", s->bleu);
  json_double(b, "bp", s->bp);
  json_double(b, "ratio", s->stats.ref_len ? (double)s->stats.sys_len / (double)s->stats.ref_len : 0.0);
  json_int(b, "sys_len", s->stats.sys_len);
  json_int(b, "ref_len", s->stats.ref_len);
  json_builder_set_member_name(b, "precisions");
  json_builder_begin_array(b);
  for (int n = 0; n < FR_LSRA_BLEU_ORDER; n++) json_builder_add_double_value(b, s->precisions[n]);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "counts");
  json_builder_begin_array(b);
  for (int n = 0; n < FR_LSRA_BLEU_ORDER; n++) json_builder_add_int_value(b, s->stats.correct[n]);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "totals");
  json_builder_begin_array(b);
  for (int n = 0; n < FR_LSRA_BLEU_ORDER; n++) json_builder_add_int_value(b, s->stats.total[n]);
  json_builder_end_array(b);
}

/* sacreBLEU's one-line form. */
static void print_score(const char *prefix, const FrLsraBleu *s) {
  printf("%sBLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %" G_GINT64_FORMAT " ref_len = %"
         G_GINT64_FORMAT ")\n", prefix, s->bleu, s->precisions[0], s->precisions[1], s->precisions[2], s->precisions[3],
         s->bp, s->stats.ref_len ? (double)s->stats.sys_len / (double)s->stats.ref_len : 0.0, s->stats.sys_len,
         s->stats.ref_len);
}

int cmd_lsra_bleu(int argc, char **argv) {
  char *ref = NULL, *hyp = NULL, *tokenize = NULL;
  gboolean sentence = FALSE;
  GOptionEntry entries[] = {
    { "ref", 'r', 0, G_OPTION_ARG_FILENAME, &ref, "Reference translations, one segment a line", "FILE" },
    { "hyp", 'i', 0, G_OPTION_ARG_FILENAME, &hyp, "System output, line for line with --ref", "FILE" },
    { "tokenize", 0, 0, G_OPTION_ARG_STRING, &tokenize, "13a (default, detokenised text) or none (tokenised text, fairseq style)", "TOK" },
    { "sentence", 0, 0, G_OPTION_ARG_NONE, &sentence, "Also score every line (sentence BLEU, effective order)", NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- BLEU as sacreBLEU 2.x computes it (corpus level, exp smoothing)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  int rc = EXIT_OK;
  FrLsraBleuTokenize tok = FR_LSRA_BLEU_TOK_13A;
  char **r = NULL, **h = NULL;
  GError *error = NULL;
  if (!ok) {
    rc = EXIT_USAGE;
  } else if (!ref || !hyp || argc > 1) {
    fprintf(stderr, "frontier-cli: usage: frontier-cli lsra bleu --ref REF --hyp HYP [--tokenize 13a|none] [--sentence]\n");
    rc = EXIT_USAGE;
  } else if (tokenize && strcmp(tokenize, "13a") != 0 && strcmp(tokenize, "none") != 0) {
    fprintf(stderr, "frontier-cli: --tokenize must be 13a or none, not '%s'\n", tokenize);
    rc = EXIT_USAGE;
  }
  if (rc != EXIT_OK) goto out;
  if (tokenize && !strcmp(tokenize, "none")) tok = FR_LSRA_BLEU_TOK_NONE;
  gsize nr = 0, nh = 0;
  if (!(r = read_lines(ref, &nr, &error)) || !(h = read_lines(hyp, &nh, &error))) {
    rc = fail(error, EXIT_FAILED);
    goto out;
  }
  if (nr != nh) {
    fprintf(stderr, "frontier-cli: %s has %" G_GSIZE_FORMAT " lines but %s has %" G_GSIZE_FORMAT "\n", hyp, nh, ref, nr);
    rc = EXIT_FAILED;
    goto out;
  }
  FrLsraBleu corpus;
  fr_lsra_bleu_corpus((const char *const *)h, (const char *const *)r, nh, tok, &corpus);
  char *signature = g_strdup_printf("nrefs:1|case:mixed|eff:no|tok:%s|smooth:exp|frontier", tok == FR_LSRA_BLEU_TOK_13A ? "13a" : "none");
  if (opt_json) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_score(b, &corpus);
    json_int(b, "lines", (gint64)nh);
    json_string(b, "tokenize", tok == FR_LSRA_BLEU_TOK_13A ? "13a" : "none");
    json_string(b, "signature", signature);
    if (sentence) {
      json_builder_set_member_name(b, "sentences");
      json_builder_begin_array(b);
      for (gsize i = 0; i < nh; i++) {
        FrLsraBleu s;
        fr_lsra_bleu_sentence(h[i], r[i], tok, &s);
        json_builder_begin_object(b);
        json_score(b, &s);
        json_builder_end_object(b);
      }
      json_builder_end_array(b);
    }
    json_builder_end_object(b);
    print_json(b);
    g_object_unref(b);
  } else {
    if (sentence) {
      for (gsize i = 0; i < nh; i++) {
        FrLsraBleu s;
        fr_lsra_bleu_sentence(h[i], r[i], tok, &s);
        char *prefix = g_strdup_printf("%" G_GSIZE_FORMAT "\t", i + 1);
        print_score(prefix, &s);
        g_free(prefix);
      }
    }
    print_score("", &corpus);
    printf("%s\n", signature);
  }
  g_free(signature);
out:
  g_strfreev(r);
  g_strfreev(h);
  g_free(ref);
  g_free(hyp);
  g_free(tokenize);
  return rc;
}
