/* fr-lsra-bpe-words.c: the trainer's first half: sentences in, distinct words and their counts out
 * (the table fr-lsra-bpe-learn.c learns from). */
#include "fr-lsra-bpe-private.h"

#include <string.h>

FrLsraBpeTrainer *fr_lsra_bpe_trainer_new(const FrLsraBpeConfig *cfg) {
  FrLsraBpeTrainer *t = g_new0(FrLsraBpeTrainer, 1);
  if (cfg) t->cfg = *cfg;
  else fr_lsra_bpe_config_init(&t->cfg);
  t->word_index = g_hash_table_new(g_str_hash, g_str_equal);
  t->words = g_ptr_array_new_with_free_func(g_free);
  t->counts = g_array_new(FALSE, FALSE, sizeof(gint64));
  t->key = g_string_new(NULL);
  return t;
}

void fr_lsra_bpe_trainer_free(FrLsraBpeTrainer *t) {
  if (!t) return;
  g_hash_table_destroy(t->word_index);
  g_ptr_array_unref(t->words);
  g_array_unref(t->counts);
  g_string_free(t->key, TRUE);
  g_free(t);
}

static void count_word(const char *word, gsize len, gpointer data) {
  FrLsraBpeTrainer *t = data;
  g_string_truncate(t->key, 0);
  g_string_append_len(t->key, word, (gssize)len);
  guint i = GPOINTER_TO_UINT(g_hash_table_lookup(t->word_index, t->key->str));
  if (!i) {
    char *w = g_strdup(t->key->str);
    g_ptr_array_add(t->words, w);
    gint64 zero = 0;
    g_array_append_val(t->counts, zero);
    i = t->words->len;
    g_hash_table_insert(t->word_index, w, GUINT_TO_POINTER(i));
  }
  g_array_index(t->counts, gint64, i - 1)++;
  t->n_words++;
}

void fr_lsra_bpe_trainer_add_text(FrLsraBpeTrainer *t, const char *text, gssize len) {
  gint64 t0 = g_get_monotonic_time();
  gsize n = len < 0 ? strlen(text) : (gsize)len;
  if (n > (gsize)t->cfg.max_sentence_bytes) {
    t->skipped++; /* spm_train skips them too; they are rarely sentences */
    return;
  }
  char *norm = fr_lsra_bpe_normalize(text, (gssize)n);
  if (norm) fr_lsra_bpe_for_each_word(norm, count_word, t);
  g_free(norm);
  t->sentences++;
  t->count_us += g_get_monotonic_time() - t0;
}

gboolean fr_lsra_bpe_trainer_add_file(FrLsraBpeTrainer *t, const char *path, GError **error) {
  char *data = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &data, &len, &e)) {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_IO, "%s", e->message);
    g_error_free(e);
    return FALSE;
  }
  for (char *line = data, *end = data + len; line < end;) {
    char *nl = memchr(line, '\n', (gsize)(end - line));
    char *stop = nl ? nl : end;
    for (char *field = line; field <= stop;) {
      char *tab = memchr(field, '\t', (gsize)(stop - field));
      char *fend = tab ? tab : stop;
      if (fend > field) fr_lsra_bpe_trainer_add_text(t, field, fend - field);
      field = fend + 1;
    }
    line = stop + 1;
  }
  g_free(data);
  return TRUE;
}

