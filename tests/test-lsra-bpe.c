/* test-lsra-bpe.c: the BPE vocabulary. Round trips, unknown characters, empty and very long input,
 * determinism, the model file, and the comparison with sentencepiece 0.1.97 (spm_train
 * --model_type=bpe) on the 5,000-pair sample in tests/data/lsra (made by
 * tests/reference/make_spm_vectors.sh): the encoder must agree exactly given spm's vocabulary, and the
 * learner's vocabulary and segmentations must agree above a floor (differences: docs/LSRA.md). */
#include "fr-lsra-bpe.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include "fr-test-util.h"

#define SAMPLE_VOCAB 2000 /* what make_spm_vectors.sh gives spm_train */

static char *read_data(const char *name, gsize *len) {
  char *path = fr_test_data_path("lsra", name);
  if (!path) return NULL;
  char *text = NULL;
  GError *error = NULL;
  g_file_get_contents(path, &text, len, &error);
  g_assert_no_error(error);
  g_free(path);
  return text;
}

/* Lines of a data file without the final newline's empty line. */
static char **read_lines(const char *name, guint *n) {
  char *text = read_data(name, NULL);
  if (!text) return NULL;
  gsize len = strlen(text);
  if (len && text[len - 1] == '\n') text[len - 1] = '\0';
  char **lines = g_strsplit(text, "\n", -1);
  g_free(text);
  *n = g_strv_length(lines);
  return lines;
}

static FrLsraBpe *learn_sample(int vocab, gboolean reversed, FrLsraBpeLearnStats *st) {
  guint n = 0;
  char **lines = read_lines("sample.en-de.tsv", &n);
  if (!lines) return NULL;
  FrLsraBpeConfig cfg;
  fr_lsra_bpe_config_init(&cfg);
  cfg.vocab_size = vocab;
  FrLsraBpeTrainer *t = fr_lsra_bpe_trainer_new(&cfg);
  for (guint k = 0; k < n; k++) {
    char **f = g_strsplit(lines[reversed ? n - 1 - k : k], "\t", -1);
    for (int j = 0; f[j]; j++) fr_lsra_bpe_trainer_add_text(t, f[j], -1);
    g_strfreev(f);
  }
  g_strfreev(lines);
  GError *error = NULL;
  FrLsraBpeLearnStats local;
  FrLsraBpe *bpe = fr_lsra_bpe_trainer_learn(t, NULL, NULL, st ? st : &local, &error);
  g_assert_no_error(error);
  fr_lsra_bpe_trainer_free(t);
  return bpe;
}

static FrLsraBpe *sample_bpe; /* learned once, freed at the end */

static FrLsraBpe *sample_model(void) {
  if (!sample_bpe) sample_bpe = learn_sample(SAMPLE_VOCAB, FALSE, NULL);
  return sample_bpe;
}

static gboolean has_unk(GArray *ids) {
  for (guint i = 0; i < ids->len; i++)
    if (g_array_index(ids, gint32, i) == FR_LSRA_BPE_UNK) return TRUE;
  return FALSE;
}

static char *round_trip(const FrLsraBpe *bpe, const char *text, GArray **ids_out) {
  GArray *ids = fr_lsra_bpe_encode(bpe, text, -1);
  GError *error = NULL;
  char *back = fr_lsra_bpe_decode(bpe, (const gint32 *)(void *)ids->data, ids->len, &error);
  g_assert_no_error(error);
  if (ids_out) *ids_out = ids;
  else g_array_unref(ids);
  return back;
}

/* Every sample sentence whose characters are all covered comes back exactly. */
static void test_round_trip(void) {
  FrLsraBpe *bpe = sample_model();
  if (!bpe) return;
  guint n = 0, covered = 0, total = 0;
  char **lines = read_lines("sample.en-de.tsv", &n);
  for (guint k = 0; k < n; k++) {
    char **f = g_strsplit(lines[k], "\t", -1);
    for (int j = 0; f[j]; j++, total++) {
      GArray *ids;
      char *back = round_trip(bpe, f[j], &ids);
      if (!has_unk(ids)) {
        g_assert_cmpstr(back, ==, f[j]);
        covered++;
      }
      for (guint i = 0; i < ids->len; i++) {
        g_assert_cmpint(g_array_index(ids, gint32, i), >=, FR_LSRA_BPE_UNK);
        g_assert_cmpint(g_array_index(ids, gint32, i), <, fr_lsra_bpe_vocab_size(bpe));
      }
      g_array_unref(ids);
      g_free(back);
    }
    g_strfreev(f);
  }
  g_strfreev(lines);
  g_test_message("%u of %u sample sentences fully covered and round-tripped exactly", covered, total);
  g_assert_cmpuint(covered, >=, total * 97 / 100); /* measured 98.2 %: coverage 0.9995 leaves a few rare characters out */
}

static void test_unknown(void) {
  FrLsraBpe *bpe = sample_model();
  if (!bpe) return;
  /* U+9278 and U+1F600 are not in the sample: one <unk> for the run, "⁇" when decoded */
  GArray *ids;
  char *back = round_trip(bpe, "the \xe9\x8b\xb8\xf0\x9f\x98\x80 file", &ids);
  int unks = 0;
  for (guint i = 0; i < ids->len; i++) unks += g_array_index(ids, gint32, i) == FR_LSRA_BPE_UNK;
  g_assert_cmpint(unks, ==, 1);
  g_assert_cmpstr(back, ==, "the \xe2\x81\x87 file");
  g_array_unref(ids);
  g_free(back);
  /* an unknown character inside a word splits it but the word's known parts survive */
  back = round_trip(bpe, "Da\xe9\x8b\xb8tei", NULL);
  g_assert_cmpstr(back, ==, "Da\xe2\x81\x87tei");
  g_free(back);
  /* invalid UTF-8 is replaced, not a crash */
  back = round_trip(bpe, "ab\xff\xfe cd", NULL);
  g_assert_true(g_utf8_validate(back, -1, NULL));
  g_free(back);
  /* ids outside the vocabulary are refused */
  gint32 bad[] = { 5, fr_lsra_bpe_vocab_size(bpe) };
  GError *error = NULL;
  g_assert_null(fr_lsra_bpe_decode(bpe, bad, 2, &error));
  g_assert_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_INVALID);
  g_clear_error(&error);
  /* specials decode to nothing */
  GArray *hello = fr_lsra_bpe_encode(bpe, "Hello world", -1);
  gint32 framed[64] = { FR_LSRA_BPE_BOS };
  g_assert_cmpuint(hello->len, <, 60);
  memcpy(framed + 1, hello->data, hello->len * sizeof(gint32));
  framed[hello->len + 1] = FR_LSRA_BPE_EOS;
  framed[hello->len + 2] = FR_LSRA_BPE_PAD;
  char *text = fr_lsra_bpe_decode(bpe, framed, hello->len + 3, &error);
  g_assert_cmpstr(text, ==, "Hello world");
  g_free(text);
  g_array_unref(hello);
}

static void test_empty(void) {
  FrLsraBpe *bpe = sample_model();
  if (!bpe) return;
  const char *empties[] = { "", " ", "\t\n  \xe2\x80\x83 ", "\xe2\x96\x81" };
  for (gsize i = 0; i < G_N_ELEMENTS(empties); i++) {
    GArray *ids = fr_lsra_bpe_encode(bpe, empties[i], -1);
    g_assert_cmpuint(ids->len, ==, 0);
    g_array_unref(ids);
  }
  char *text = fr_lsra_bpe_decode(bpe, NULL, 0, NULL);
  g_assert_cmpstr(text, ==, "");
  g_free(text);
  /* whitespace runs and ends collapse: the canonical form comes back */
  text = round_trip(bpe, "  Die   Datei\tist\n leer  ", NULL);
  g_assert_cmpstr(text, ==, "Die Datei ist leer");
  g_free(text);
  /* nothing to learn from is an error, not a crash */
  FrLsraBpeTrainer *t = fr_lsra_bpe_trainer_new(NULL);
  fr_lsra_bpe_trainer_add_text(t, "   ", -1);
  GError *error = NULL;
  g_assert_null(fr_lsra_bpe_trainer_learn(t, NULL, NULL, NULL, &error));
  g_assert_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_INVALID);
  g_clear_error(&error);
  fr_lsra_bpe_trainer_free(t);
}

static void test_long(void) {
  FrLsraBpe *bpe = sample_model();
  if (!bpe) return;
  /* about 1 MB of sentences in one string */
  guint n = 0;
  char **lines = read_lines("sample.en-de.tsv", &n);
  GString *big = g_string_new(NULL);
  for (guint k = 0; k < n && big->len < 1000000; k++) {
    char **f = g_strsplit(lines[k], "\t", -1);
    for (int j = 0; f[j]; j++) {
      GArray *ids = fr_lsra_bpe_encode(bpe, f[j], -1);
      if (!has_unk(ids)) g_string_append_printf(big, "%s%s", big->len ? " " : "", f[j]);
      g_array_unref(ids);
    }
    g_strfreev(f);
  }
  g_strfreev(lines);
  gint64 t0 = g_get_monotonic_time();
  char *back = round_trip(bpe, big->str, NULL);
  g_assert_true(strcmp(back, big->str) == 0);
  g_free(back);
  /* one word of 200,000 characters: the heap keeps it fast */
  g_string_truncate(big, 0);
  for (int i = 0; i < 50000; i++) g_string_append(big, "enst");
  back = round_trip(bpe, big->str, NULL);
  g_assert_true(strcmp(back, big->str) == 0);
  g_free(back);
  g_test_message("1 MB of text and a 200k-character word: %.2f s", (g_get_monotonic_time() - t0) / 1e6);
  g_string_free(big, TRUE);
  /* training skips sentences longer than max_sentence_bytes, as spm_train does */
  FrLsraBpeTrainer *t = fr_lsra_bpe_trainer_new(NULL);
  char *huge = g_strnfill(5000, 'a');
  fr_lsra_bpe_trainer_add_text(t, huge, -1);
  fr_lsra_bpe_trainer_add_text(t, "aa ab ba", -1);
  FrLsraBpeLearnStats st;
  FrLsraBpe *small = fr_lsra_bpe_trainer_learn(t, NULL, NULL, &st, NULL);
  g_assert_nonnull(small);
  g_assert_cmpint(st.skipped_sentences, ==, 1);
  g_assert_cmpint(st.words, ==, 3);
  /* the text ran out of pairs before the 8000 asked for */
  g_assert_cmpint(fr_lsra_bpe_vocab_size(small), <, 8000);
  fr_lsra_bpe_free(small);
  fr_lsra_bpe_trainer_free(t);
  g_free(huge);
}

static void test_determinism(void) {
  FrLsraBpe *a = sample_model();
  if (!a) return;
  FrLsraBpe *b = learn_sample(SAMPLE_VOCAB, TRUE, NULL); /* sentences in the opposite order */
  char *sa = fr_lsra_bpe_to_string(a, NULL), *sb = fr_lsra_bpe_to_string(b, NULL);
  g_assert_true(strcmp(sa, sb) == 0);
  g_free(sa);
  g_free(sb);
  fr_lsra_bpe_free(b);
}

/* The layout and the piece rules of a learned model. */
static void test_layout(void) {
  FrLsraBpe *bpe = sample_model();
  if (!bpe) return;
  static const char *specials[] = { "<pad>", "<unk>", "<s>", "</s>" };
  for (int i = 0; i < 4; i++) g_assert_cmpstr(fr_lsra_bpe_piece(bpe, i), ==, specials[i]);
  g_assert_cmpint(fr_lsra_bpe_vocab_size(bpe), ==, SAMPLE_VOCAB);
  int n = fr_lsra_bpe_vocab_size(bpe), merges = fr_lsra_bpe_n_merges(bpe);
  for (int id = 4; id < n; id++) {
    const char *p = fr_lsra_bpe_piece(bpe, id);
    glong len = g_utf8_strlen(p, -1);
    g_assert_cmpint(len > 1, ==, id < 4 + merges); /* merges first, then single characters */
    g_assert_cmpint(len, <=, 16);
    g_assert_null(strstr(g_utf8_next_char(p), "\xe2\x96\x81"));
    g_assert_cmpint(fr_lsra_bpe_piece_to_id(bpe, p), ==, id);
    /* no piece mixes letters with digits or punctuation */
    gboolean letter = FALSE, other = FALSE;
    for (const char *q = p; *q; q = g_utf8_next_char(q)) {
      gunichar c = g_utf8_get_char(q);
      if (c == 0x2581) continue;
      if (g_unichar_get_script(c) == G_UNICODE_SCRIPT_LATIN) letter = TRUE;
      else if (g_unichar_get_script(c) == G_UNICODE_SCRIPT_COMMON) other = TRUE;
    }
    g_assert_false(letter && other);
  }
  g_assert_cmpint(fr_lsra_bpe_piece_to_id(bpe, "no such piece"), ==, FR_LSRA_BPE_UNK);
  /* NFC: a decomposed "é" encodes as the composed one */
  GArray *x = fr_lsra_bpe_encode(bpe, "Caf\xc3\xa9", -1), *y = fr_lsra_bpe_encode(bpe, "Cafe\xcc\x81", -1);
  g_assert_cmpmem(x->data, x->len * sizeof(gint32), y->data, y->len * sizeof(gint32));
  g_array_unref(x);
  g_array_unref(y);
}

static void test_file(void) {
  FrLsraBpe *bpe = sample_model();
  if (!bpe) return;
  gsize len;
  char *text = fr_lsra_bpe_to_string(bpe, &len);
  GError *error = NULL;
  FrLsraBpe *back = fr_lsra_bpe_from_data(text, len, &error);
  g_assert_no_error(error);
  char *again = fr_lsra_bpe_to_string(back, NULL);
  g_assert_cmpstr(text, ==, again);
  GArray *x = fr_lsra_bpe_encode(bpe, "Die Größe der Datei wurde geändert.", -1);
  GArray *y = fr_lsra_bpe_encode(back, "Die Größe der Datei wurde geändert.", -1);
  g_assert_cmpmem(x->data, x->len * sizeof(gint32), y->data, y->len * sizeof(gint32));
  g_array_unref(x);
  g_array_unref(y);
  char *path = g_build_filename(g_get_tmp_dir(), "test-lsra-bpe.model", NULL);
  g_assert_true(fr_lsra_bpe_save(bpe, path, &error));
  FrLsraBpe *loaded = fr_lsra_bpe_load(path, &error);
  g_assert_no_error(error);
  fr_lsra_bpe_free(loaded);
  g_unlink(path);
  g_free(path);
  fr_lsra_bpe_free(back);
  g_free(again);
  g_free(text);

  /* malformed files: a parse error that names the line */
  static const char *head = "frontier-bpe\t1\nnormalization\tnfc\ncharacter_coverage\t1\nmax_piece_length\t16\n"
                            "split_by_script\t1\n";
  static const struct { const char *body, *line; } bad[] = {
    { "pieces\t5\n<pad>\n<unk>\n<s>\n</s>\n", "line 11" },       /* one piece short */
    { "pieces\t5\n<pad>\n<unk>\n<s>\n</s>\nab\n", "line 11" },   /* "ab" without "a" and "b" */
    { "pieces\t6\n<pad>\n<unk>\n<s>\n</s>\na\na\n", "line 12" }, /* duplicate */
    { "pieces\t5\n<pad>\n<unk>\n<s>\n</s>\na b\n", "line 11" },  /* whitespace */
    { "pieces\t7\n<pad>\n<unk>\n<s>\n</s>\na1\na\n1\n", "line 11" }, /* mixed scripts */
    { "pieces\t5\n<pad>\n<unk>\n<s>\n<S>\na\n", "line 10" },     /* a special misspelt */
    { "pieces\t5\n<pad>\n<unk>\n<s>\n</s>\na\nb\n", "line 12" }, /* more than announced */
    { "pieces\t3\n", "line 6" },
    { "pieces\tmany\n", "line 6" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    char *data = g_strconcat(head, bad[i].body, NULL);
    FrLsraBpe *m = fr_lsra_bpe_from_data(data, strlen(data), &error);
    g_assert_null(m);
    g_assert_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE);
    if (!strstr(error->message, bad[i].line)) g_error("case %zu: '%s' does not name %s", i, error->message, bad[i].line);
    g_clear_error(&error);
    g_free(data);
  }
  g_assert_null(fr_lsra_bpe_from_data("frontier-bpe\t2\n", 15, &error));
  g_assert_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE);
  g_clear_error(&error);
  g_assert_null(fr_lsra_bpe_load("/nonexistent/bpe.model", &error));
  g_assert_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_IO);
  g_clear_error(&error);
}

/* ---- sentencepiece ---------------------------------------------------------------------------- */

/* spm.vocab's pieces in id order. */
static GPtrArray *spm_pieces(void) {
  guint n = 0;
  char **lines = read_lines("spm.vocab", &n);
  if (!lines) return NULL;
  GPtrArray *p = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < n; i++) {
    char *tab = strchr(lines[i], '\t');
    g_assert_nonnull(tab);
    g_ptr_array_add(p, g_strndup(lines[i], (gsize)(tab - lines[i])));
  }
  g_strfreev(lines);
  return p;
}

/* spm's vocabulary as a Frontier model, so the encoders can be compared on their own. */
static FrLsraBpe *spm_as_model(GPtrArray *pieces) {
  GString *s = g_string_new("frontier-bpe\t1\nnormalization\tnfc\ncharacter_coverage\t0.9995\nmax_piece_length\t16\n"
                            "split_by_script\t1\n");
  g_string_append_printf(s, "pieces\t%u\n", pieces->len);
  for (guint i = 0; i < pieces->len; i++) g_string_append_printf(s, "%s\n", (char *)pieces->pdata[i]);
  GError *error = NULL;
  FrLsraBpe *bpe = fr_lsra_bpe_from_data(s->str, s->len, &error);
  g_assert_no_error(error);
  g_string_free(s, TRUE);
  return bpe;
}

/* A line of ids as pieces of a vocabulary, "<unk>" for unknown runs. */
static char *ids_to_pieces(const gint32 *ids, guint n, GPtrArray *vocab) {
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < n; i++) {
    g_assert_cmpint(ids[i], >=, 0);
    g_assert_cmpint(ids[i], <, (gint32)vocab->len);
    g_string_append_printf(s, "%s%s", i ? " " : "", (char *)vocab->pdata[ids[i]]);
  }
  return g_string_free(s, FALSE);
}

static GArray *parse_ids(const char *line) {
  GArray *a = g_array_new(FALSE, FALSE, sizeof(gint32));
  char **t = g_strsplit(line, " ", -1);
  for (char **p = t; *p; p++) {
    if (!**p) continue;
    gint32 v = (gint32)g_ascii_strtoll(*p, NULL, 10);
    g_array_append_val(a, v);
  }
  g_strfreev(t);
  return a;
}

/* Given spm's own vocabulary, Frontier's encoder segments every eval sentence as spm_encode does. */
static void test_spm_encode(void) {
  GPtrArray *vocab = spm_pieces();
  if (!vocab) return;
  g_assert_cmpuint(vocab->len, ==, SAMPLE_VOCAB);
  FrLsraBpe *bpe = spm_as_model(vocab);
  guint n = 0, m = 0;
  char **text = read_lines("eval.txt", &n), **ids = read_lines("eval.spm.ids", &m);
  g_assert_cmpuint(n, ==, m);
  g_assert_cmpuint(n, ==, 400);
  for (guint i = 0; i < n; i++) {
    GArray *want = parse_ids(ids[i]), *got = fr_lsra_bpe_encode(bpe, text[i], -1);
    if (want->len != got->len || memcmp(want->data, got->data, want->len * sizeof(gint32))) {
      char *w = ids_to_pieces((gint32 *)(void *)want->data, want->len, vocab);
      char *g = ids_to_pieces((gint32 *)(void *)got->data, got->len, vocab);
      g_error("eval line %u: spm %s, Frontier %s", i + 1, w, g);
    }
    g_array_unref(want);
    g_array_unref(got);
  }
  g_strfreev(text);
  g_strfreev(ids);
  fr_lsra_bpe_free(bpe);
  g_ptr_array_unref(vocab);
}

/* Frontier's learner against spm_train on the same sample and vocabulary size. */
static void test_spm_learn(void) {
  GPtrArray *vocab = spm_pieces();
  if (!vocab) return;
  FrLsraBpe *bpe = sample_model();
  /* the vocabularies: same pieces, and how many at the same id */
  GHashTable *spm_ids = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < vocab->len; i++) g_hash_table_insert(spm_ids, vocab->pdata[i], GUINT_TO_POINTER(i + 1));
  int common = 0, same_id = 0, n = fr_lsra_bpe_vocab_size(bpe);
  for (int id = 0; id < n; id++) {
    guint s = GPOINTER_TO_UINT(g_hash_table_lookup(spm_ids, fr_lsra_bpe_piece(bpe, id)));
    common += s != 0;
    same_id += s == (guint)id + 1;
  }
  /* the segmentations of the eval sentences, as piece strings */
  GPtrArray *mine = g_ptr_array_new();
  for (int id = 0; id < n; id++) g_ptr_array_add(mine, (gpointer)fr_lsra_bpe_piece(bpe, id));
  guint lines = 0, m = 0, identical = 0, tokens_spm = 0, tokens_mine = 0;
  char **text = read_lines("eval.txt", &lines), **ids = read_lines("eval.spm.ids", &m);
  for (guint i = 0; i < lines; i++) {
    GArray *want = parse_ids(ids[i]), *got = fr_lsra_bpe_encode(bpe, text[i], -1);
    char *w = ids_to_pieces((gint32 *)(void *)want->data, want->len, vocab);
    char *g = ids_to_pieces((gint32 *)(void *)got->data, got->len, mine);
    if (!strcmp(w, g)) identical++;
    else if (g_test_verbose()) g_test_message("differs: spm %s | Frontier %s", w, g);
    tokens_spm += want->len;
    tokens_mine += got->len;
    g_free(w);
    g_free(g);
    g_array_unref(want);
    g_array_unref(got);
  }
  g_test_message("vocabulary: %d of %d pieces shared, %d at the same id; eval: %u of %u segmentations identical "
                 "(%.1f %%), %u tokens (spm %u)", common, n, same_id, identical, lines, 100.0 * identical / lines,
                 tokens_mine, tokens_spm);
  /* floors under what was measured (all 2,000 pieces shared, 1,745 at the same id, 400 of 400
   * segmentations identical): the only differences are when "SS", "OS" and "▁SS" were learned, because
   * spm 0.1.97 loses occurrences of a pair of equal symbols ("SSSE3") once a neighbour merges, and
   * every piece learned between them shifts by one id (docs/LSRA.md) */
  g_assert_cmpint(common, >=, n * 99 / 100);
  g_assert_cmpint(same_id, >=, n * 80 / 100);
  g_assert_cmpuint(identical, >=, lines * 98 / 100);
  g_strfreev(text);
  g_strfreev(ids);
  g_ptr_array_unref(mine);
  g_hash_table_destroy(spm_ids);
  g_ptr_array_unref(vocab);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/lsra/bpe/round-trip", test_round_trip);
  g_test_add_func("/lsra/bpe/unknown", test_unknown);
  g_test_add_func("/lsra/bpe/empty", test_empty);
  g_test_add_func("/lsra/bpe/long", test_long);
  g_test_add_func("/lsra/bpe/determinism", test_determinism);
  g_test_add_func("/lsra/bpe/layout", test_layout);
  g_test_add_func("/lsra/bpe/file", test_file);
  g_test_add_func("/lsra/bpe/spm-encode", test_spm_encode);
  g_test_add_func("/lsra/bpe/spm-learn", test_spm_learn);
  int rc = g_test_run();
  fr_lsra_bpe_free(sample_bpe);
  return rc;
}
