/* fuzz-lsra-bpe.c: libFuzzer target for the BPE model file (fr_lsra_bpe_from_data) and for learning
 * and encoding arbitrary text. Any crash, sanitizer report or failed CHECK is a bug:
 *   - bytes either parse into a model whose text form is a fixed point (to_string -> from_data ->
 *     to_string gives the same text) and which encodes any text into ids inside the vocabulary that
 *     decode to valid UTF-8; or they are refused with FR_LSRA_BPE_ERROR_PARSE and a message that
 *     names the line;
 *   - the same bytes as training text (every character kept; unless they start like a model file)
 *     either give a model, or are refused
 *     with FR_LSRA_BPE_ERROR_INVALID (no words, or more characters than the vocabulary holds); the
 *     model encodes the text without <unk>, and decoding gives the text back in canonical form
 *     (NFC, words joined by single spaces).
 * Built both as a real libFuzzer binary (-Dfuzzing=true with clang) and linked with fuzz-driver.c as
 * the 'fuzz-lsra-bpe' test. */
#include "fr-lsra-bpe-private.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);            \
      abort();                                                                            \
    }                                                                                     \
  } while (0)

static void check_encode(const FrLsraBpe *bpe, const char *text, gssize len) {
  GArray *ids = fr_lsra_bpe_encode(bpe, text, len);
  int n = fr_lsra_bpe_vocab_size(bpe);
  for (guint i = 0; i < ids->len; i++) {
    gint32 id = g_array_index(ids, gint32, i);
    CHECK(id == FR_LSRA_BPE_UNK || (id >= FR_LSRA_BPE_N_SPECIAL && id < n));
    CHECK(!(id == FR_LSRA_BPE_UNK && i && g_array_index(ids, gint32, i - 1) == FR_LSRA_BPE_UNK));
  }
  GError *error = NULL;
  char *back = fr_lsra_bpe_decode(bpe, (const gint32 *)(void *)ids->data, ids->len, &error);
  CHECK(back && !error);
  CHECK(g_utf8_validate(back, -1, NULL));
  g_free(back);
  g_array_unref(ids);
}

static void fuzz_model_file(const uint8_t *data, size_t size) {
  GError *error = NULL;
  FrLsraBpe *bpe = fr_lsra_bpe_from_data((const char *)data, size, &error);
  CHECK((bpe == NULL) == (error != NULL));
  if (!bpe) {
    CHECK(error->domain == FR_LSRA_BPE_ERROR && error->code == FR_LSRA_BPE_ERROR_PARSE);
    CHECK(g_str_has_prefix(error->message, "line "));
    g_error_free(error);
    return;
  }
  CHECK(fr_lsra_bpe_vocab_size(bpe) >= FR_LSRA_BPE_N_SPECIAL);
  gsize len;
  char *text = fr_lsra_bpe_to_string(bpe, &len);
  FrLsraBpe *again = fr_lsra_bpe_from_data(text, len, &error);
  CHECK(again && !error);
  char *text2 = fr_lsra_bpe_to_string(again, NULL);
  CHECK(strcmp(text, text2) == 0);
  check_encode(bpe, "Die Größe der Datei wurde geändert. Hello, world! 3.5 x", -1);
  check_encode(bpe, (const char *)data, (gssize)MIN(size, 4096));
  g_free(text2);
  g_free(text);
  fr_lsra_bpe_free(again);
  fr_lsra_bpe_free(bpe);
}

static void add_word(const char *word, gsize len, gpointer data) {
  GString *s = data;
  if (s->len) g_string_append_c(s, ' ');
  g_string_append_len(s, word, (gssize)len);
}

static void fuzz_learning(const uint8_t *data, size_t size) {
  FrLsraBpeConfig cfg;
  fr_lsra_bpe_config_init(&cfg);
  cfg.vocab_size = 160; /* enough for a few merges past the characters of a small input, and fast */
  cfg.character_coverage = 1.0;
  FrLsraBpeTrainer *t = fr_lsra_bpe_trainer_new(&cfg);
  /* lines as sentences, like a text file */
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    fr_lsra_bpe_trainer_add_text(t, p, stop - p);
    p = stop + 1;
  }
  GError *error = NULL;
  FrLsraBpeLearnStats st;
  FrLsraBpe *bpe = fr_lsra_bpe_trainer_learn(t, NULL, NULL, &st, &error);
  fr_lsra_bpe_trainer_free(t);
  CHECK((bpe == NULL) == (error != NULL));
  if (!bpe) {
    CHECK(error->domain == FR_LSRA_BPE_ERROR && error->code == FR_LSRA_BPE_ERROR_INVALID);
    g_error_free(error);
    return;
  }
  CHECK(st.chars_kept == st.chars_seen);
  CHECK(fr_lsra_bpe_vocab_size(bpe) <= cfg.vocab_size);
  /* every line comes back in canonical form */
  for (p = (const char *)data; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    char *norm = fr_lsra_bpe_normalize(p, stop - p);
    GString *canon = g_string_new(NULL);
    if (norm) fr_lsra_bpe_for_each_word(norm, add_word, canon);
    GArray *ids = fr_lsra_bpe_encode(bpe, p, stop - p);
    for (guint i = 0; i < ids->len; i++) CHECK(g_array_index(ids, gint32, i) != FR_LSRA_BPE_UNK);
    char *back = fr_lsra_bpe_decode(bpe, (const gint32 *)(void *)ids->data, ids->len, NULL);
    CHECK(back && strcmp(back, canon->str) == 0);
    g_free(back);
    g_array_unref(ids);
    g_string_free(canon, TRUE);
    g_free(norm);
    p = stop + 1;
  }
  /* and the learned model survives its own file format */
  gsize len;
  char *text = fr_lsra_bpe_to_string(bpe, &len);
  FrLsraBpe *again = fr_lsra_bpe_from_data(text, len, &error);
  CHECK(again && !error);
  fr_lsra_bpe_free(again);
  g_free(text);
  fr_lsra_bpe_free(bpe);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_model_file(data, size);
  /* learning is the slower half (about 0.2 ms an input): only for inputs that are not model files
   * (the text seeds and model files whose first line a mutation broke), and not too long */
  if (size <= 4096 && !(size >= 12 && memcmp(data, "frontier-bpe", 12) == 0)) fuzz_learning(data, size);
  return 0;
}
