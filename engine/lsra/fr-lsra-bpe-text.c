/* fr-lsra-bpe-text.c: the text rules learning and encoding must agree on: NFC, what a word is, and
 * which strings may become pieces. */
#include "fr-lsra-bpe-private.h"

#include <string.h>

char *fr_lsra_bpe_normalize(const char *text, gssize len) {
  gsize n = len < 0 ? strlen(text) : (gsize)len;
  gboolean ascii = TRUE;
  for (gsize i = 0; i < n && ascii; i++) ascii = (unsigned char)text[i] < 0x80 && text[i] != '\0';
  if (ascii) return g_strndup(text, n); /* ASCII is its own NFC, and most of the corpus is ASCII */
  char *valid = g_utf8_validate(text, (gssize)n, NULL) ? NULL : g_utf8_make_valid(text, (gssize)n);
  char *out = g_utf8_normalize(valid ? valid : text, valid ? -1 : (gssize)n, G_NORMALIZE_NFC);
  g_free(valid);
  return out;
}

/* Python's str.split() whitespace (GLib's White_Space misses U+000B, U+001C..U+001F and U+0085),
 * so "words" here are the tokens BLEU's tokenize='none' sees; plus the marker itself. */
static gboolean is_word_space(gunichar c) {
  return g_unichar_isspace(c) || c == 0x0B || (c >= 0x1C && c <= 0x1F) || c == 0x85 || c == FR_LSRA_BPE_MARKER;
}

void fr_lsra_bpe_for_each_word(const char *s, FrLsraBpeWordFunc f, gpointer data) {
  const char *start = NULL, *p = s;
  while (*p) {
    gboolean space;
    const char *next;
    if ((unsigned char)*p < 0x80) {
      space = *p == ' ' || (*p >= 0x09 && *p <= 0x0D) || (*p >= 0x1C && *p <= 0x1F);
      next = p + 1;
    } else {
      space = is_word_space(g_utf8_get_char(p));
      next = g_utf8_next_char(p);
    }
    if (space && start) {
      f(start, (gsize)(p - start), data);
      start = NULL;
    } else if (!space && !start) {
      start = p;
    }
    p = next;
  }
  if (start) f(start, (gsize)(p - start), data);
}

gboolean fr_lsra_bpe_piece_allowed(const FrLsraBpeConfig *cfg, const gunichar *c, int n) {
  if (n < 1 || n > cfg->max_piece_length) return FALSE;
  const int any = -1;
  int prev = any;
  for (int i = 0; i < n; i++) {
    if (c[i] == 0 || !g_unichar_validate(c[i])) return FALSE;
    if (c[i] == FR_LSRA_BPE_MARKER) {
      if (i > 0) return FALSE; /* the marker begins a word, so only a piece's first character */
      continue;
    }
    if (is_word_space(c[i])) return FALSE;
    if (!cfg->split_by_script) continue;
    /* sentencepiece's script rule: kana count as Han (Japanese mixes them within words), combining
     * marks take the script of what they follow */
    int s = (int)g_unichar_get_script(c[i]);
    if (s == G_UNICODE_SCRIPT_HIRAGANA || s == G_UNICODE_SCRIPT_KATAKANA || c[i] == 0x30FC)
      s = G_UNICODE_SCRIPT_HAN;
    else if (s == G_UNICODE_SCRIPT_INHERITED)
      s = prev;
    if (s != any && prev != any && s != prev) return FALSE;
    prev = s;
  }
  return TRUE;
}
