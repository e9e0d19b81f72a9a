/* fr-lsra-bpe-io.c: the model file, plain UTF-8 text so a vocabulary can be read and diffed:
 *
 *   frontier-bpe<TAB>1
 *   normalization<TAB>nfc
 *   character_coverage<TAB>0.99950000000000006
 *   max_piece_length<TAB>16
 *   split_by_script<TAB>1
 *   pieces<TAB>8000
 *   <pad>
 *   <unk>
 *   <s>
 *   </s>
 *   ▁t                      one piece a line, in id order: merges in the order learned, then characters
 *   ...
 *
 * Pieces hold no whitespace, so a line is a piece. The reader is strict (every key once, in this
 * order, nothing after the last piece) and fuzzed (tests/fuzz/fuzz-lsra-bpe.c). */
#include "fr-lsra-bpe-private.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC "frontier-bpe\t1"
#define MAX_PIECES (1 << 20)

char *fr_lsra_bpe_to_string(const FrLsraBpe *bpe, gsize *len) {
  GString *s = g_string_new(MAGIC "\nnormalization\tnfc\n");
  char num[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append_printf(s, "character_coverage\t%s\n", g_ascii_dtostr(num, sizeof num, bpe->cfg.character_coverage));
  g_string_append_printf(s, "max_piece_length\t%d\n", bpe->cfg.max_piece_length);
  g_string_append_printf(s, "split_by_script\t%d\n", bpe->cfg.split_by_script ? 1 : 0);
  g_string_append_printf(s, "pieces\t%u\n", bpe->pieces->len);
  for (guint i = 0; i < bpe->pieces->len; i++) {
    g_string_append(s, bpe->pieces->pdata[i]);
    g_string_append_c(s, '\n');
  }
  if (len) *len = s->len;
  return g_string_free(s, FALSE);
}

gboolean fr_lsra_bpe_save(const FrLsraBpe *bpe, const char *path, GError **error) {
  gsize len;
  char *text = fr_lsra_bpe_to_string(bpe, &len);
  GError *e = NULL;
  gboolean ok = g_file_set_contents(path, text, (gssize)len, &e); /* atomic: a temp file renamed */
  if (!ok) {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_IO, "%s", e->message);
    g_error_free(e);
  }
  g_free(text);
  return ok;
}

typedef struct {
  const char *p, *end;
  int line;
} Reader;

/* The next line without its '\n' (NULL at the end); a line may not hold NUL or '\r'. */
static char *next_line(Reader *r, GError **error) {
  if (r->p >= r->end) return NULL;
  const char *nl = memchr(r->p, '\n', (gsize)(r->end - r->p));
  const char *stop = nl ? nl : r->end;
  r->line++;
  if (memchr(r->p, '\0', (gsize)(stop - r->p)) || memchr(r->p, '\r', (gsize)(stop - r->p))) {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "line %d: NUL or carriage return", r->line);
    return NULL;
  }
  char *line = g_strndup(r->p, (gsize)(stop - r->p));
  r->p = nl ? nl + 1 : r->end;
  return line;
}

/* "key<TAB>value" with the given key; the value is returned. */
static char *expect_key(Reader *r, const char *key, GError **error) {
  GError *e = NULL;
  char *line = next_line(r, &e);
  if (!line) {
    if (e) g_propagate_error(error, e);
    else g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "line %d: ended before '%s'", r->line + 1, key);
    return NULL;
  }
  gsize k = strlen(key);
  if (strncmp(line, key, k) != 0 || line[k] != '\t') {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "line %d: expected '%s<TAB>value'", r->line, key);
    g_free(line);
    return NULL;
  }
  char *value = g_strdup(line + k + 1);
  g_free(line);
  return value;
}

static gboolean parse_int(Reader *r, const char *key, gint64 lo, gint64 hi, gint64 *out, GError **error) {
  char *v = expect_key(r, key, error), *end = NULL;
  if (!v) return FALSE;
  gint64 x = g_ascii_strtoll(v, &end, 10);
  gboolean ok = *v && end && !*end && x >= lo && x <= hi && g_ascii_isdigit(v[0]);
  if (!ok) g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "line %d: %s must be an integer in %"
                       G_GINT64_FORMAT "..%" G_GINT64_FORMAT, r->line, key, lo, hi);
  g_free(v);
  *out = x;
  return ok;
}

FrLsraBpe *fr_lsra_bpe_from_data(const char *data, gsize len, GError **error) {
  Reader r = { data, data + len, 0 };
  FrLsraBpeConfig cfg;
  fr_lsra_bpe_config_init(&cfg);
  GError *e = NULL;
  char *line = next_line(&r, &e);
  if (!line || strcmp(line, MAGIC) != 0) {
    if (!e) g_set_error(&e, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "line 1: not a frontier-bpe version 1 model");
    g_free(line);
    g_propagate_error(error, e);
    return NULL;
  }
  g_free(line);
  char *v = expect_key(&r, "normalization", error);
  if (!v) return NULL;
  gboolean nfc = strcmp(v, "nfc") == 0;
  g_free(v);
  if (!nfc) {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "line %d: only nfc normalization is known", r.line);
    return NULL;
  }
  if (!(v = expect_key(&r, "character_coverage", error))) return NULL;
  char *end = NULL;
  cfg.character_coverage = g_ascii_strtod(v, &end);
  gboolean ok = *v && !*end && cfg.character_coverage > 0 && cfg.character_coverage <= 1;
  g_free(v);
  if (!ok) {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "line %d: character_coverage must be in (0, 1]", r.line);
    return NULL;
  }
  gint64 x;
  if (!parse_int(&r, "max_piece_length", 1, 256, &x, error)) return NULL;
  cfg.max_piece_length = (int)x;
  if (!parse_int(&r, "split_by_script", 0, 1, &x, error)) return NULL;
  cfg.split_by_script = x == 1;
  if (!parse_int(&r, "pieces", FR_LSRA_BPE_N_SPECIAL, MAX_PIECES, &x, error)) return NULL;
  cfg.vocab_size = (int)x;
  int first_piece_line = r.line + 1;
  GPtrArray *pieces = g_ptr_array_new_full((guint)MIN(x, 65536), g_free);
  for (gint64 i = 0; i < x; i++) {
    if (!(line = next_line(&r, &e))) {
      if (!e) g_set_error(&e, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "line %d: %" G_GINT64_FORMAT
                          " pieces announced, %" G_GINT64_FORMAT " found", r.line + 1, x, i);
      g_propagate_error(error, e);
      g_ptr_array_unref(pieces);
      return NULL;
    }
    g_ptr_array_add(pieces, line);
  }
  if (r.p < r.end) {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "line %d: text after the last piece", r.line + 1);
    g_ptr_array_unref(pieces);
    return NULL;
  }
  int bad = -1;
  FrLsraBpe *bpe = fr_lsra_bpe_new_from_pieces(&cfg, pieces, &bad, &e);
  if (!bpe) {
    if (bad >= 0) g_prefix_error(&e, "line %d: ", first_piece_line + bad);
    g_propagate_error(error, e);
  }
  return bpe;
}

FrLsraBpe *fr_lsra_bpe_load(const char *path, GError **error) {
  char *data = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &data, &len, &e)) {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_IO, "%s", e->message);
    g_error_free(e);
    return NULL;
  }
  FrLsraBpe *bpe = fr_lsra_bpe_from_data(data, len, &e);
  g_free(data);
  if (!bpe) {
    g_prefix_error(&e, "%s: ", path);
    g_propagate_error(error, e);
  }
  return bpe;
}
