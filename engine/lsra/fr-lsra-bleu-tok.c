/* fr-lsra-bleu-tok.c: sacreBLEU's tokenisation. Scores are only comparable between papers when the
 * tokens are the same, so this follows sacreBLEU 2.x rule for rule: rstrip, then (13a) the mteval
 * replacements and four regular expressions, then Python's str.split().
 *
 * The four expressions are applied as passes over bytes. They only name ASCII characters ([0-9],
 * '.', ',', '-', and the punctuation class), and "any character but a digit" consumes the last byte
 * of a multi-byte character where Python consumes the whole code point; the output is the same
 * because the replacements only insert spaces around the ASCII part of a match. */
#include "fr-lsra-bleu.h"

#include <string.h>

/* Py_UNICODE_ISSPACE: the whitespace of str.split() and str.rstrip(). Not U+200B (a format
 * character), which the vectors' case9 checks. */
gboolean fr_lsra_bleu_is_py_space(gunichar c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Tokens between runs of Python whitespace. */
static char **py_split(const char *s) {
  GPtrArray *out = g_ptr_array_new();
  const char *start = NULL;
  for (const char *p = s; *p; p = g_utf8_next_char(p)) {
    gboolean space = fr_lsra_bleu_is_py_space(g_utf8_get_char(p));
    if (space && start) {
      g_ptr_array_add(out, g_strndup(start, (gsize)(p - start)));
      start = NULL;
    } else if (!space && !start) {
      start = p;
    }
  }
  if (start) g_ptr_array_add(out, g_strdup(start));
  g_ptr_array_add(out, NULL);
  return (char **)g_ptr_array_free(out, FALSE);
}

/* A valid UTF-8 copy of the line without trailing Python whitespace. */
static char *rstrip_copy(const char *line) {
  char *s = g_utf8_make_valid(line, -1);
  char *end = s;
  for (char *p = s; *p; p = g_utf8_next_char(p))
    if (!fr_lsra_bleu_is_py_space(g_utf8_get_char(p))) end = g_utf8_next_char(p);
  *end = '\0';
  return s;
}

static void replace_all(GString *s, const char *from, const char *to) {
  if (strstr(s->str, from)) g_string_replace(s, from, to, 0);
}

static gboolean is_digit(char c) { return c >= '0' && c <= '9'; }

/* [{-~[-` -&(-+:-@/]: the ASCII punctuation 13a separates everywhere (not ' , - .). */
static gboolean is_13a_punct(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

/* The 13a line before the final whitespace normalisation. */
static GString *tokenize_13a_raw(const char *line) {
  GString *s = g_string_new(line);
  /* the mteval language-independent part, in its order (so "&amp;lt;" becomes "<") */
  replace_all(s, "<skipped>", "");
  replace_all(s, "-\n", "");
  replace_all(s, "\n", " ");
  if (strchr(s->str, '&')) {
    replace_all(s, "&quot;", "\"");
    replace_all(s, "&amp;", "&");
    replace_all(s, "&lt;", "<");
    replace_all(s, "&gt;", ">");
  }
  GString *a = g_string_sized_new(s->len * 2 + 8), *b = g_string_sized_new(s->len * 2 + 8);
  /* pass 1 on " line ": punctuation gets a space either side */
  g_string_append_c(a, ' ');
  for (gsize i = 0; i < s->len; i++) {
    char c = s->str[i];
    if (is_13a_punct(c)) {
      g_string_append_c(a, ' ');
      g_string_append_c(a, c);
      g_string_append_c(a, ' ');
    } else {
      g_string_append_c(a, c);
    }
  }
  g_string_append_c(a, ' ');
  g_string_free(s, TRUE);
  /* pass 2: ([^0-9])([.,]) -> "\1 \2 ", matches left to right without overlap */
  for (gsize i = 0; i < a->len;) {
    if (i + 1 < a->len && !is_digit(a->str[i]) && (a->str[i + 1] == '.' || a->str[i + 1] == ',')) {
      g_string_append_c(b, a->str[i]);
      g_string_append_c(b, ' ');
      g_string_append_c(b, a->str[i + 1]);
      g_string_append_c(b, ' ');
      i += 2;
    } else {
      g_string_append_c(b, a->str[i++]);
    }
  }
  g_string_truncate(a, 0);
  /* pass 3: ([.,])([^0-9]) -> " \1 \2" */
  for (gsize i = 0; i < b->len;) {
    if (i + 1 < b->len && (b->str[i] == '.' || b->str[i] == ',') && !is_digit(b->str[i + 1])) {
      g_string_append_c(a, ' ');
      g_string_append_c(a, b->str[i]);
      g_string_append_c(a, ' ');
      g_string_append_c(a, b->str[i + 1]);
      i += 2;
    } else {
      g_string_append_c(a, b->str[i++]);
    }
  }
  g_string_truncate(b, 0);
  /* pass 4: ([0-9])(-) -> "\1 \2 " */
  for (gsize i = 0; i < a->len;) {
    if (i + 1 < a->len && is_digit(a->str[i]) && a->str[i + 1] == '-') {
      g_string_append_c(b, a->str[i]);
      g_string_append_c(b, ' ');
      g_string_append_c(b, '-');
      g_string_append_c(b, ' ');
      i += 2;
    } else {
      g_string_append_c(b, a->str[i++]);
    }
  }
  g_string_free(a, TRUE);
  return b;
}

char **fr_lsra_bleu_tokens(const char *line, FrLsraBleuTokenize tok) {
  char *s = rstrip_copy(line ? line : "");
  char **tokens;
  if (tok == FR_LSRA_BLEU_TOK_13A) {
    GString *t = tokenize_13a_raw(s);
    tokens = py_split(t->str);
    g_string_free(t, TRUE);
  } else {
    tokens = py_split(s);
  }
  g_free(s);
  return tokens;
}

char *fr_lsra_bleu_tokenize_13a(const char *line) {
  char **tokens = fr_lsra_bleu_tokens(line, FR_LSRA_BLEU_TOK_13A);
  char *out = g_strjoinv(" ", tokens);
  g_strfreev(tokens);
  return out;
}
