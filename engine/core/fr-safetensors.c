/* fr-safetensors.c: strict safetensors reader and Python-compatible writer.
 *
 * The header is parsed by a small schema-directed JSON parser rather than a generic JSON library:
 * the schema is fixed (object of objects of strings / integer arrays), so the parser needs no
 * recursion, sees duplicate keys (generic parsers silently keep the last one), keeps integers
 * exact up to INT64_MAX and can say at which byte of the file a problem is. */
#include "fr-safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* Tensor data is little-endian in the file and handed out as-is. */
#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "fr-safetensors assumes a little-endian host"
#endif

/* Offsets are u64 in the file and size_t in memory; we only build for 64-bit targets. */
G_STATIC_ASSERT(sizeof(size_t) >= sizeof(guint64));

#define ST_MAX_HEADER_BYTES ((guint64)100000000) /* same limit as the reference implementation */
#define ST_NAME_SHOWN 80                          /* longest name quoted in an error message */

G_DEFINE_QUARK(fr-safetensors-error-quark, fr_safetensors_error)

/* ---- dtypes ---------------------------------------------------------------------------------- */

typedef struct {
  const char *name;
  size_t size;
  int rank; /* position in the reference implementation's Dtype enum (increasing alignment) */
} DTypeInfo;

static const DTypeInfo dtype_info[] = {
  [FR_DTYPE_F32] = {"F32", 4, 7},  [FR_DTYPE_F16] = {"F16", 2, 4}, [FR_DTYPE_BF16] = {"BF16", 2, 5},
  [FR_DTYPE_F64] = {"F64", 8, 8},  [FR_DTYPE_I64] = {"I64", 8, 9}, [FR_DTYPE_I32] = {"I32", 4, 6},
  [FR_DTYPE_I16] = {"I16", 2, 3},  [FR_DTYPE_I8] = {"I8", 1, 2},   [FR_DTYPE_U8] = {"U8", 1, 1},
  [FR_DTYPE_BOOL] = {"BOOL", 1, 0},
};
#define N_DTYPES ((int)G_N_ELEMENTS(dtype_info))

static gboolean
dtype_valid(FrDType t)
{
  return (unsigned)t < (unsigned)N_DTYPES;
}

size_t
fr_dtype_size(FrDType t)
{
  return dtype_valid(t) ? dtype_info[t].size : 0;
}

const char *
fr_dtype_name(FrDType t)
{
  return dtype_valid(t) ? dtype_info[t].name : "?";
}

static gboolean
dtype_from_name(const char *s, FrDType *out)
{
  for (int i = 0; i < N_DTYPES; i++)
    if (strcmp(s, dtype_info[i].name) == 0) {
      *out = (FrDType)i;
      return TRUE;
    }
  return FALSE;
}

/* ---- small helpers --------------------------------------------------------------------------- */

/* A name fit for an error message: truncated, control characters replaced. Input is valid UTF-8. */
static char *
shown_name(const char *name)
{
  GString *s = g_string_new(NULL);
  glong n = g_utf8_strlen(name, -1);
  const char *p = name;
  for (glong i = 0; i < n && i < ST_NAME_SHOWN; i++, p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (c < 0x20 || c == 0x7f)
      g_string_append_c(s, '?');
    else
      g_string_append_unichar(s, c);
  }
  if (n > ST_NAME_SHOWN)
    g_string_append(s, "...");
  return g_string_free(s, FALSE);
}

static void
append_shape(GString *s, int ndim, const int64_t *shape)
{
  g_string_append_c(s, '[');
  for (int d = 0; d < ndim; d++)
    g_string_append_printf(s, d ? ",%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, shape[d]);
  g_string_append_c(s, ']');
}

static char *
shape_str(int ndim, const int64_t *shape)
{
  GString *s = g_string_new(NULL);
  append_shape(s, ndim, shape);
  return g_string_free(s, FALSE);
}

/* Element count of a validated shape; FALSE on overflow. A zero dim makes the count 0. */
static gboolean
shape_numel(int ndim, const int64_t *shape, guint64 *out)
{
  guint64 n = 1;
  for (int d = 0; d < ndim; d++)
    if (shape[d] == 0) {
      *out = 0;
      return TRUE;
    }
  for (int d = 0; d < ndim; d++)
    if (shape[d] < 0 || !g_uint64_checked_mul(&n, n, (guint64)shape[d]))
      return FALSE;
  *out = n;
  return TRUE;
}

/* ---- the loaded file ------------------------------------------------------------------------- */

typedef struct {
  FrSafeTensor t;
  guint64 begin, end;
  int order; /* position in the header, to keep the sort stable */
} Entry;

struct FrSafetensors {
  char *label;        /* path or "<buffer>", prefix of every error message */
  guint8 *data;       /* the data buffer (after the header), never NULL */
  size_t data_len;
  GArray *entries;    /* Entry, sorted by offsets once parsed */
  GHashTable *index;  /* name -> Entry* (after sorting); borrowed keys */
  GHashTable *meta;   /* key -> value, owned */
};

static FrSafetensors *
st_new(const char *label)
{
  FrSafetensors *st = g_new0(FrSafetensors, 1);
  st->label = g_strdup(label);
  st->entries = g_array_new(FALSE, TRUE, sizeof(Entry));
  st->index = g_hash_table_new(g_str_hash, g_str_equal);
  st->meta = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return st;
}

void
fr_safetensors_free(FrSafetensors *st)
{
  if (!st)
    return;
  for (guint i = 0; i < st->entries->len; i++)
    g_free((char *)g_array_index(st->entries, Entry, i).t.name);
  g_array_free(st->entries, TRUE);
  g_hash_table_destroy(st->index);
  g_hash_table_destroy(st->meta);
  g_free(st->data);
  g_free(st->label);
  g_free(st);
}

/* ---- header JSON parser ---------------------------------------------------------------------- */

typedef struct {
  const char *label;
  const guint8 *s; /* the header bytes (file offset 8) */
  size_t n;
  size_t pos;
  GError **error;
  gboolean failed;
} Lex;

static void fail(Lex *lx, const char *ctx, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Sets the error "<label>: <ctx><message> (at file offset N)"; the first error wins. */
static void
fail(Lex *lx, const char *ctx, const char *fmt, ...)
{
  if (lx->failed)
    return;
  lx->failed = TRUE;
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(lx->error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT, "%s: %s%s (at file offset %zu)",
              lx->label, ctx ? ctx : "", msg, lx->pos + 8);
  g_free(msg);
}

/* Describes what is at the cursor, for "expected X, found Y" messages. */
static const char *
found(Lex *lx, char buf[32])
{
  if (lx->pos >= lx->n)
    return "the end of the header";
  guint8 c = lx->s[lx->pos];
  if (c >= 0x20 && c < 0x7f)
    g_snprintf(buf, 32, "'%c'", c);
  else
    g_snprintf(buf, 32, "byte 0x%02x", c);
  return buf;
}

static void
skip_ws(Lex *lx)
{
  while (lx->pos < lx->n) {
    guint8 c = lx->s[lx->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
      break;
    lx->pos++;
  }
}

/* Skips whitespace; TRUE if the next byte is c (not consumed). */
static gboolean
peek(Lex *lx, char c)
{
  skip_ws(lx);
  return lx->pos < lx->n && lx->s[lx->pos] == (guint8)c;
}

static gboolean
expect(Lex *lx, char c, const char *ctx, const char *what)
{
  char buf[32];
  if (peek(lx, c)) {
    lx->pos++;
    return TRUE;
  }
  fail(lx, ctx, "expected '%c' %s, found %s", c, what, found(lx, buf));
  return FALSE;
}

static int
hexval(guint8 c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Reads the 4 hex digits after "\u" at lx->pos. */
static gboolean
read_u4(Lex *lx, const char *ctx, unsigned *out)
{
  unsigned v = 0;
  if (lx->n - lx->pos < 4) {
    fail(lx, ctx, "truncated \\u escape in a string");
    return FALSE;
  }
  for (int i = 0; i < 4; i++) {
    int h = hexval(lx->s[lx->pos + i]);
    if (h < 0) {
      fail(lx, ctx, "invalid \\u escape in a string");
      return FALSE;
    }
    v = v * 16 + (unsigned)h;
  }
  lx->pos += 4;
  *out = v;
  return TRUE;
}

/* Parses a JSON string (the header was checked to be valid UTF-8 beforehand). NUL characters are
 * refused since names and metadata are handed out as C strings. Returns a new string or NULL. */
static char *
parse_string(Lex *lx, const char *ctx, const char *what)
{
  if (!expect(lx, '"', ctx, what))
    return NULL;
  GString *s = g_string_new(NULL);
  for (;;) {
    if (lx->pos >= lx->n) {
      fail(lx, ctx, "unterminated string");
      goto bad;
    }
    guint8 c = lx->s[lx->pos];
    if (c == '"') {
      lx->pos++;
      return g_string_free(s, FALSE);
    }
    if (c < 0x20) {
      fail(lx, ctx, "control character 0x%02x inside a string", c);
      goto bad;
    }
    if (c != '\\') {
      g_string_append_c(s, (char)c);
      lx->pos++;
      continue;
    }
    lx->pos++;
    if (lx->pos >= lx->n) {
      fail(lx, ctx, "unterminated string");
      goto bad;
    }
    c = lx->s[lx->pos++];
    switch (c) {
    case '"': g_string_append_c(s, '"'); break;
    case '\\': g_string_append_c(s, '\\'); break;
    case '/': g_string_append_c(s, '/'); break;
    case 'b': g_string_append_c(s, '\b'); break;
    case 'f': g_string_append_c(s, '\f'); break;
    case 'n': g_string_append_c(s, '\n'); break;
    case 'r': g_string_append_c(s, '\r'); break;
    case 't': g_string_append_c(s, '\t'); break;
    case 'u': {
      unsigned u;
      if (!read_u4(lx, ctx, &u))
        goto bad;
      if (u >= 0xdc00 && u <= 0xdfff) {
        fail(lx, ctx, "lone low surrogate \\u%04x in a string", u);
        goto bad;
      }
      if (u >= 0xd800 && u <= 0xdbff) {
        unsigned lo;
        if (lx->n - lx->pos < 2 || lx->s[lx->pos] != '\\' || lx->s[lx->pos + 1] != 'u') {
          fail(lx, ctx, "lone high surrogate \\u%04x in a string", u);
          goto bad;
        }
        lx->pos += 2;
        if (!read_u4(lx, ctx, &lo))
          goto bad;
        if (lo < 0xdc00 || lo > 0xdfff) {
          fail(lx, ctx, "high surrogate \\u%04x not followed by a low surrogate", u);
          goto bad;
        }
        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
      }
      if (u == 0) {
        fail(lx, ctx, "string contains a NUL character (\\u0000)");
        goto bad;
      }
      g_string_append_unichar(s, u);
      break;
    }
    default:
      lx->pos--;
      fail(lx, ctx, "invalid escape '\\%c' in a string", c >= 0x20 && c < 0x7f ? c : '?');
      goto bad;
    }
  }
bad:
  g_string_free(s, TRUE);
  return NULL;
}

/* Parses a non-negative JSON integer no larger than INT64_MAX. */
static gboolean
parse_uint(Lex *lx, const char *ctx, const char *what, guint64 *out)
{
  char buf[32];
  skip_ws(lx);
  if (lx->pos < lx->n && lx->s[lx->pos] == '-') {
    fail(lx, ctx, "%s is negative", what);
    return FALSE;
  }
  if (lx->pos >= lx->n || lx->s[lx->pos] < '0' || lx->s[lx->pos] > '9') {
    fail(lx, ctx, "%s must be a non-negative integer, found %s", what, found(lx, buf));
    return FALSE;
  }
  size_t start = lx->pos;
  guint64 v = 0;
  while (lx->pos < lx->n && lx->s[lx->pos] >= '0' && lx->s[lx->pos] <= '9') {
    unsigned dig = lx->s[lx->pos] - '0';
    if (v > ((guint64)G_MAXINT64 - dig) / 10) {
      fail(lx, ctx, "%s is too large (more than %" G_GINT64_FORMAT ")", what, G_MAXINT64);
      return FALSE;
    }
    v = v * 10 + dig;
    lx->pos++;
  }
  if (lx->s[start] == '0' && lx->pos - start > 1) {
    lx->pos = start;
    fail(lx, ctx, "%s has a leading zero, which JSON does not allow", what);
    return FALSE;
  }
  if (lx->pos < lx->n && (lx->s[lx->pos] == '.' || lx->s[lx->pos] == 'e' || lx->s[lx->pos] == 'E')) {
    fail(lx, ctx, "%s is not an integer", what);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

/* After an element of an array or object: TRUE and *more when ',' follows, TRUE and !*more at the
 * closing bracket. */
static gboolean
next_item(Lex *lx, char close, const char *ctx, const char *where, gboolean *more)
{
  char buf[32];
  skip_ws(lx);
  if (lx->pos < lx->n && lx->s[lx->pos] == ',') {
    lx->pos++;
    *more = TRUE;
    return TRUE;
  }
  if (lx->pos < lx->n && lx->s[lx->pos] == (guint8)close) {
    lx->pos++;
    *more = FALSE;
    return TRUE;
  }
  fail(lx, ctx, "expected ',' or '%c' %s, found %s", close, where, found(lx, buf));
  return FALSE;
}

static gboolean
match_literal(Lex *lx, const char *lit)
{
  size_t l = strlen(lit);
  skip_ws(lx);
  if (lx->n - lx->pos >= l && memcmp(lx->s + lx->pos, lit, l) == 0) {
    lx->pos += l;
    return TRUE;
  }
  return FALSE;
}

/* "__metadata__": null or an object of string -> string. */
static gboolean
parse_metadata(Lex *lx, FrSafetensors *st)
{
  const char *ctx = "__metadata__: ";
  char buf[32];
  if (match_literal(lx, "null"))
    return TRUE;
  if (!peek(lx, '{')) {
    fail(lx, ctx, "must be an object of strings, found %s", found(lx, buf));
    return FALSE;
  }
  lx->pos++;
  if (peek(lx, '}')) {
    lx->pos++;
    return TRUE;
  }
  for (gboolean more = TRUE; more;) {
    size_t key_pos = (skip_ws(lx), lx->pos);
    char *key = parse_string(lx, ctx, "(a metadata key)");
    if (!key)
      return FALSE;
    char *shown = shown_name(key);
    char *kctx = g_strdup_printf("__metadata__ '%s': ", shown);
    g_free(shown);
    char *value = NULL;
    if (g_hash_table_contains(st->meta, key)) {
      lx->pos = key_pos;
      fail(lx, kctx, "duplicate metadata key");
    } else if (expect(lx, ':', kctx, "after the key")) {
      if (!peek(lx, '"'))
        fail(lx, kctx, "value must be a string, found %s", found(lx, buf));
      else
        value = parse_string(lx, kctx, "(the value)");
    }
    if (value && next_item(lx, '}', kctx, "after the value", &more)) {
      g_hash_table_insert(st->meta, key, value);
      key = value = NULL;
    }
    g_free(kctx);
    if (key) {
      g_free(key);
      g_free(value);
      return FALSE;
    }
  }
  return TRUE;
}

/* One tensor entry: {"dtype": str, "shape": [int...], "data_offsets": [int, int]} in any order.
 * Fills e (except the name and data pointer) and checks it against the data buffer size. */
static gboolean
parse_tensor(Lex *lx, const char *ctx, size_t data_len, Entry *e)
{
  char buf[32];
  gboolean have_dtype = FALSE, have_shape = FALSE, have_offsets = FALSE;
  size_t entry_pos = (skip_ws(lx), lx->pos);
  if (!peek(lx, '{')) {
    fail(lx, ctx, "expected an object {\"dtype\", \"shape\", \"data_offsets\"}, found %s", found(lx, buf));
    return FALSE;
  }
  lx->pos++;
  if (peek(lx, '}')) {
    lx->pos++;
    fail(lx, ctx, "empty tensor entry (needs \"dtype\", \"shape\" and \"data_offsets\")");
    return FALSE;
  }
  for (gboolean more = TRUE; more;) {
    size_t key_pos = (skip_ws(lx), lx->pos);
    char *key = parse_string(lx, ctx, "(a field name)");
    if (!key)
      return FALSE;
    gboolean *have = NULL;
    if (strcmp(key, "dtype") == 0)
      have = &have_dtype;
    else if (strcmp(key, "shape") == 0)
      have = &have_shape;
    else if (strcmp(key, "data_offsets") == 0)
      have = &have_offsets;
    if (!have || *have) {
      char *shown = shown_name(key);
      lx->pos = key_pos;
      if (!have)
        fail(lx, ctx, "unknown field \"%s\" (expected \"dtype\", \"shape\", \"data_offsets\")", shown);
      else
        fail(lx, ctx, "field \"%s\" given twice", shown);
      g_free(shown);
      g_free(key);
      return FALSE;
    }
    *have = TRUE;
    if (!expect(lx, ':', ctx, "after a field name")) {
      g_free(key);
      return FALSE;
    }
    if (have == &have_dtype) {
      size_t vpos = (skip_ws(lx), lx->pos);
      if (!peek(lx, '"')) {
        fail(lx, ctx, "\"dtype\" must be a string, found %s", found(lx, buf));
        g_free(key);
        return FALSE;
      }
      char *dt = parse_string(lx, ctx, "(the dtype)");
      if (!dt) {
        g_free(key);
        return FALSE;
      }
      if (!dtype_from_name(dt, &e->t.dtype)) {
        char *shown = shown_name(dt);
        lx->pos = vpos;
        fail(lx, ctx, "unsupported dtype \"%s\" (supported: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)",
             shown);
        g_free(shown);
        g_free(dt);
        g_free(key);
        return FALSE;
      }
      g_free(dt);
    } else if (have == &have_shape) {
      if (!peek(lx, '[')) {
        fail(lx, ctx, "\"shape\" must be an array of integers, found %s", found(lx, buf));
        g_free(key);
        return FALSE;
      }
      lx->pos++;
      e->t.ndim = 0;
      if (peek(lx, ']')) {
        lx->pos++;
      } else {
        for (gboolean more_dims = TRUE; more_dims;) {
          if (e->t.ndim == FR_ST_MAX_DIMS) {
            fail(lx, ctx, "shape has more than %d dimensions", FR_ST_MAX_DIMS);
            g_free(key);
            return FALSE;
          }
          char what[32];
          guint64 v;
          g_snprintf(what, sizeof what, "shape[%d]", e->t.ndim);
          if (!parse_uint(lx, ctx, what, &v) || !next_item(lx, ']', ctx, "in \"shape\"", &more_dims)) {
            g_free(key);
            return FALSE;
          }
          e->t.shape[e->t.ndim++] = (int64_t)v;
        }
      }
    } else {
      guint64 b = 0, en = 0;
      gboolean more_offs = FALSE;
      if (!peek(lx, '[')) {
        fail(lx, ctx, "\"data_offsets\" must be an array [begin, end], found %s", found(lx, buf));
        g_free(key);
        return FALSE;
      }
      lx->pos++;
      if (!parse_uint(lx, ctx, "data_offsets[0]", &b) || !expect(lx, ',', ctx, "in \"data_offsets\" [begin, end]") ||
          !parse_uint(lx, ctx, "data_offsets[1]", &en) || !next_item(lx, ']', ctx, "in \"data_offsets\"", &more_offs)) {
        g_free(key);
        return FALSE;
      }
      if (more_offs) {
        fail(lx, ctx, "\"data_offsets\" must have exactly 2 entries [begin, end]");
        g_free(key);
        return FALSE;
      }
      e->begin = b;
      e->end = en;
    }
    g_free(key);
    if (!next_item(lx, '}', ctx, "in the tensor entry", &more))
      return FALSE;
  }
  size_t end_pos = lx->pos;
  lx->pos = entry_pos; /* semantic errors point at the start of the entry */
  if (!have_dtype || !have_shape || !have_offsets) {
    fail(lx, ctx, "missing \"%s\"", !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
    return FALSE;
  }
  guint64 numel, nbytes;
  if (!shape_numel(e->t.ndim, e->t.shape, &numel) ||
      !g_uint64_checked_mul(&nbytes, numel, dtype_info[e->t.dtype].size)) {
    char *sh = shape_str(e->t.ndim, e->t.shape);
    fail(lx, ctx, "%s shape %s is too large (its byte size overflows)", dtype_info[e->t.dtype].name, sh);
    g_free(sh);
    return FALSE;
  }
  if (e->begin > e->end) {
    fail(lx, ctx, "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] end before they begin",
         e->begin, e->end);
    return FALSE;
  }
  if (e->end - e->begin != nbytes) {
    char *sh = shape_str(e->t.ndim, e->t.shape);
    fail(lx, ctx, "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] do not match %s shape %s (%" G_GUINT64_FORMAT " bytes)",
         e->begin, e->end, dtype_info[e->t.dtype].name, sh, nbytes);
    g_free(sh);
    return FALSE;
  }
  if (e->end > data_len) {
    fail(lx, ctx, "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] lie outside the %zu-byte data buffer",
         e->begin, e->end, data_len);
    return FALSE;
  }
  e->t.nbytes = (size_t)nbytes;
  lx->pos = end_pos;
  return TRUE;
}

static int
entry_cmp(const void *a, const void *b)
{
  const Entry *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return (x->order > y->order) - (x->order < y->order);
}

static gboolean
fail_st(FrSafetensors *st, GError **error, const char *ctx_name, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* A FORMAT error about the whole file, "<label>: [tensor 'x': ]<message>". */
static gboolean
fail_st(FrSafetensors *st, GError **error, const char *ctx_name, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (ctx_name) {
    char *shown = shown_name(ctx_name);
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT, "%s: tensor '%s': %s", st->label, shown, msg);
    g_free(shown);
  } else {
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT, "%s: %s", st->label, msg);
  }
  g_free(msg);
  return FALSE;
}

/* Parses and validates the header of a file whose data buffer is data_len bytes long. Tensor data
 * pointers are set later by attach_data(). */
static gboolean
parse_header(FrSafetensors *st, const guint8 *hdr, size_t hlen, size_t data_len, GError **error)
{
  const char *bad_utf8 = NULL;
  if (!g_utf8_validate_len((const char *)hdr, hlen, &bad_utf8))
    return fail_st(st, error, NULL, "header is not valid UTF-8 or contains a NUL byte (at file offset %zu)",
                   (size_t)((const guint8 *)bad_utf8 - hdr) + 8);

  Lex lx = {.label = st->label, .s = hdr, .n = hlen, .pos = 0, .error = error};
  char buf[32];
  gboolean seen_meta = FALSE;
  st->data_len = data_len;

  if (!peek(&lx, '{')) {
    fail(&lx, NULL, "header is not a JSON object (expected '{', found %s)", found(&lx, buf));
    return FALSE;
  }
  lx.pos++;
  gboolean more = TRUE;
  if (peek(&lx, '}')) {
    lx.pos++;
    more = FALSE;
  }
  while (more) {
    size_t key_pos = (skip_ws(&lx), lx.pos);
    char *name = parse_string(&lx, NULL, "(a tensor name)");
    if (!name)
      return FALSE;
    if (strcmp(name, "__metadata__") == 0) {
      g_free(name);
      if (seen_meta) {
        lx.pos = key_pos;
        fail(&lx, NULL, "\"__metadata__\" given twice");
        return FALSE;
      }
      seen_meta = TRUE;
      if (!expect(&lx, ':', NULL, "after \"__metadata__\"") || !parse_metadata(&lx, st))
        return FALSE;
    } else {
      char *shown = shown_name(name);
      char *ctx = g_strdup_printf("tensor '%s': ", shown);
      g_free(shown);
      if (g_hash_table_contains(st->index, name)) {
        lx.pos = key_pos;
        fail(&lx, ctx, "duplicate tensor name");
        g_free(ctx);
        g_free(name);
        return FALSE;
      }
      Entry e = {.t = {.name = NULL}, .order = (int)st->entries->len};
      gboolean ok = expect(&lx, ':', ctx, "after the tensor name") && parse_tensor(&lx, ctx, data_len, &e);
      g_free(ctx);
      if (!ok) {
        g_free(name);
        return FALSE;
      }
      e.t.name = name;
      g_array_append_val(st->entries, e);
      g_hash_table_add(st->index, name);
    }
    if (!next_item(&lx, '}', NULL, "after a header entry", &more))
      return FALSE;
  }
  skip_ws(&lx);
  if (lx.pos != lx.n) {
    fail(&lx, NULL, "unexpected %s after the header object", found(&lx, buf));
    return FALSE;
  }

  /* The tensors must tile the data buffer exactly. */
  g_array_sort(st->entries, entry_cmp);
  guint64 covered = 0;
  const char *prev = NULL;
  for (guint i = 0; i < st->entries->len; i++) {
    Entry *e = &g_array_index(st->entries, Entry, i);
    if (e->begin < covered) {
      char *p = shown_name(prev);
      fail_st(st, error, e->t.name,
              "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] overlap tensor '%s' (which ends at %" G_GUINT64_FORMAT ")",
              e->begin, e->end, p, covered);
      g_free(p);
      return FALSE;
    }
    if (e->begin > covered)
      return fail_st(st, error, e->t.name,
                     "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] leave a gap of %" G_GUINT64_FORMAT
                     " unused bytes at data offset %" G_GUINT64_FORMAT " (tensors must cover the buffer without holes)",
                     e->begin, e->end, e->begin - covered, covered);
    covered = e->end;
    prev = e->t.name;
  }
  if (covered != data_len)
    return fail_st(st, error, NULL,
                   "the tensors cover %" G_GUINT64_FORMAT " bytes but the data buffer has %zu (%zu trailing bytes unaccounted for, from file offset %zu)",
                   covered, data_len, data_len - (size_t)covered, (size_t)covered + 8 + hlen);
  g_hash_table_remove_all(st->index);
  for (guint i = 0; i < st->entries->len; i++) {
    Entry *e = &g_array_index(st->entries, Entry, i);
    g_hash_table_insert(st->index, (char *)e->t.name, e);
  }
  return TRUE;
}

/* Takes ownership of data (data_len bytes, or at least 1 allocated byte when empty). */
static void
attach_data(FrSafetensors *st, guint8 *data)
{
  st->data = data;
  for (guint i = 0; i < st->entries->len; i++) {
    Entry *e = &g_array_index(st->entries, Entry, i);
    e->t.data = data + e->begin;
  }
}

static guint64
read_le64(const guint8 *p)
{
  guint64 v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

/* Checks the 8-byte length prefix against the file size; sets *hlen. */
static gboolean
check_prefix(FrSafetensors *st, const guint8 prefix[8], guint64 file_len, size_t *hlen, GError **error)
{
  guint64 n = read_le64(prefix);
  if (n > ST_MAX_HEADER_BYTES)
    return fail_st(st, error, NULL, "header length %" G_GUINT64_FORMAT " (bytes 0-7) is absurd (limit %" G_GUINT64_FORMAT "); not a safetensors file?",
                   n, ST_MAX_HEADER_BYTES);
  if (n > file_len - 8)
    return fail_st(st, error, NULL, "header length %" G_GUINT64_FORMAT " (bytes 0-7) runs past the end of the %" G_GUINT64_FORMAT "-byte file",
                   n, file_len);
  *hlen = (size_t)n;
  return TRUE;
}

static FrSafetensors *
parse_buffer(const char *label, const guint8 *buf, size_t len, GError **error)
{
  FrSafetensors *st = st_new(label);
  size_t hlen = 0;
  if (len < 8) {
    fail_st(st, error, NULL, "file is %zu bytes, too short for the 8-byte header length", len);
    goto bad;
  }
  if (!check_prefix(st, buf, len, &hlen, error) || !parse_header(st, buf + 8, hlen, len - 8 - hlen, error))
    goto bad;
  guint8 *data = g_malloc(MAX(st->data_len, 1));
  if (st->data_len)
    memcpy(data, buf + 8 + hlen, st->data_len);
  attach_data(st, data);
  return st;
bad:
  fr_safetensors_free(st);
  return NULL;
}

FrSafetensors *
fr_safetensors_parse(const void *buf, size_t len, GError **error)
{
  g_return_val_if_fail(buf != NULL || len == 0, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  static const guint8 empty[1];
  return parse_buffer("<buffer>", buf ? buf : empty, len, error);
}

static gboolean
read_exact(FILE *f, void *dst, size_t n)
{
  return n == 0 || fread(dst, 1, n, f) == n;
}

FrSafetensors *
fr_safetensors_load(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  FILE *f = fopen(path, "rbe");
  if (!f) {
    int err = errno;
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_IO, "%s: cannot open: %s", path, g_strerror(err));
    return NULL;
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    /* Not a regular file (a pipe, say): read it whole. */
    fclose(f);
    char *contents = NULL;
    gsize len = 0;
    GError *ioerr = NULL;
    if (!g_file_get_contents(path, &contents, &len, &ioerr)) {
      g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_IO, "%s", ioerr->message);
      g_error_free(ioerr);
      return NULL;
    }
    FrSafetensors *st = parse_buffer(path, (const guint8 *)contents, len, error);
    g_free(contents);
    return st;
  }

  /* Regular file: read the header, validate it, then read the data buffer straight into place. */
  FrSafetensors *st = st_new(path);
  guint8 prefix[8];
  guint8 *hdr = NULL, *data = NULL;
  size_t hlen = 0;
  guint64 file_len = (guint64)sb.st_size;
  if (file_len < 8) {
    fail_st(st, error, NULL, "file is %" G_GUINT64_FORMAT " bytes, too short for the 8-byte header length", file_len);
    goto bad;
  }
  if (!read_exact(f, prefix, 8))
    goto io_error;
  if (!check_prefix(st, prefix, file_len, &hlen, error))
    goto bad;
  hdr = g_malloc(MAX(hlen, 1));
  if (!read_exact(f, hdr, hlen))
    goto io_error;
  if (!parse_header(st, hdr, hlen, (size_t)(file_len - 8 - hlen), error))
    goto bad;
  data = g_try_malloc(MAX(st->data_len, 1));
  if (!data) {
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_IO, "%s: out of memory for the %zu-byte data buffer",
                path, st->data_len);
    goto bad;
  }
  if (!read_exact(f, data, st->data_len))
    goto io_error;
  fclose(f);
  g_free(hdr);
  attach_data(st, data);
  return st;

io_error:
  if (ferror(f))
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_IO, "%s: read error: %s", path, g_strerror(errno));
  else
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_IO, "%s: file shrank while being read", path);
bad:
  fclose(f);
  g_free(hdr);
  g_free(data);
  fr_safetensors_free(st);
  return NULL;
}

int
fr_safetensors_n_tensors(const FrSafetensors *st)
{
  g_return_val_if_fail(st != NULL, 0);
  return (int)st->entries->len;
}

const FrSafeTensor *
fr_safetensors_nth(const FrSafetensors *st, int i)
{
  g_return_val_if_fail(st != NULL, NULL);
  g_return_val_if_fail(i >= 0 && (guint)i < st->entries->len, NULL);
  return &g_array_index(st->entries, Entry, i).t;
}

const FrSafeTensor *
fr_safetensors_get(const FrSafetensors *st, const char *name)
{
  g_return_val_if_fail(st != NULL, NULL);
  g_return_val_if_fail(name != NULL, NULL);
  Entry *e = g_hash_table_lookup(st->index, name);
  return e ? &e->t : NULL;
}

GHashTable *
fr_safetensors_dup_metadata(const FrSafetensors *st)
{
  GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, st->meta);
  while (g_hash_table_iter_next(&it, &k, &v))
    g_hash_table_insert(t, g_strdup(k), g_strdup(v));
  return t;
}

const char *
fr_safetensors_get_metadata(const FrSafetensors *st, const char *key)
{
  g_return_val_if_fail(st != NULL, NULL);
  g_return_val_if_fail(key != NULL, NULL);
  return g_hash_table_lookup(st->meta, key);
}

/* ---- conversions ----------------------------------------------------------------------------- */

static float
f16_to_f32(guint16 h)
{
  guint32 sign = (guint32)(h & 0x8000u) << 16;
  guint32 exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  guint32 bits;
  if (exp == 0) {
    float v = ldexpf((float)mant, -24); /* zero or subnormal: exact */
    return sign ? -v : v;
  }
  if (exp == 31)
    bits = sign | 0x7f800000u | (mant << 13); /* inf / NaN (payload kept) */
  else
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static float
bf16_to_f32(guint16 h)
{
  guint32 bits = (guint32)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

gboolean
fr_safetensors_read_f32(const FrSafetensors *st, const char *name, int ndim, const int64_t *shape, float *dst,
                        GError **error)
{
  g_return_val_if_fail(st != NULL, FALSE);
  g_return_val_if_fail(name != NULL, FALSE);
  g_return_val_if_fail(ndim >= 0 && ndim <= FR_ST_MAX_DIMS, FALSE);
  g_return_val_if_fail(shape != NULL || ndim == 0, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  const FrSafeTensor *t = fr_safetensors_get(st, name);
  char *shown = shown_name(name);
  gboolean ok = FALSE;
  if (!t) {
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_MISSING, "%s: no tensor named '%s'", st->label, shown);
    goto out;
  }
  gboolean same = t->ndim == ndim;
  for (int d = 0; same && d < ndim; d++)
    same = t->shape[d] == shape[d];
  if (!same) {
    char *have = shape_str(t->ndim, t->shape), *want = shape_str(ndim, shape);
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_SHAPE, "%s: tensor '%s' has shape %s, expected %s",
                st->label, shown, have, want);
    g_free(have);
    g_free(want);
    goto out;
  }
  size_t n = t->nbytes / dtype_info[t->dtype].size;
  const guint8 *src = t->data;
  if (!dst && n) {
    g_free(shown);
    g_return_val_if_fail(dst != NULL, FALSE);
  }
  switch (t->dtype) {
  case FR_DTYPE_F32:
    if (n)
      memcpy(dst, src, n * 4);
    break;
  case FR_DTYPE_F16:
  case FR_DTYPE_BF16:
    for (size_t i = 0; i < n; i++) {
      guint16 h;
      memcpy(&h, src + 2 * i, 2);
      dst[i] = t->dtype == FR_DTYPE_F16 ? f16_to_f32(h) : bf16_to_f32(h);
    }
    break;
  case FR_DTYPE_F64:
    for (size_t i = 0; i < n; i++) {
      double v;
      memcpy(&v, src + 8 * i, 8);
      dst[i] = (float)v; /* IEEE rounding; out-of-range values become +-inf */
    }
    break;
  default:
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT,
                "%s: tensor '%s' has dtype %s; only F32, F16, BF16 and F64 can be read as float32", st->label, shown,
                dtype_info[t->dtype].name);
    goto out;
  }
  ok = TRUE;
out:
  g_free(shown);
  return ok;
}

/* ---- writer ---------------------------------------------------------------------------------- */

typedef struct {
  char *name;
  FrDType dtype;
  int ndim;
  int64_t shape[FR_ST_MAX_DIMS];
  guint8 *data;
  size_t nbytes;
} WTensor;

struct FrSafetensorsWriter {
  GPtrArray *tensors; /* WTensor*, in the order added */
  GHashTable *names;  /* borrowed name -> WTensor* */
  GHashTable *meta;   /* owned key -> owned value */
};

static void
wtensor_free(gpointer p)
{
  WTensor *t = p;
  g_free(t->name);
  g_free(t->data);
  g_free(t);
}

FrSafetensorsWriter *
fr_safetensors_writer_new(void)
{
  FrSafetensorsWriter *w = g_new0(FrSafetensorsWriter, 1);
  w->tensors = g_ptr_array_new_with_free_func(wtensor_free);
  w->names = g_hash_table_new(g_str_hash, g_str_equal);
  w->meta = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return w;
}

void
fr_safetensors_writer_free(FrSafetensorsWriter *w)
{
  if (!w)
    return;
  g_hash_table_destroy(w->names);
  g_ptr_array_free(w->tensors, TRUE);
  g_hash_table_destroy(w->meta);
  g_free(w);
}

void
fr_safetensors_writer_add(FrSafetensorsWriter *w, const char *name, FrDType dtype, int ndim, const int64_t *shape,
                          const void *data)
{
  g_return_if_fail(w != NULL);
  g_return_if_fail(name != NULL && g_utf8_validate(name, -1, NULL));
  g_return_if_fail(strcmp(name, "__metadata__") != 0);
  g_return_if_fail(dtype_valid(dtype));
  g_return_if_fail(ndim >= 0 && ndim <= FR_ST_MAX_DIMS);
  g_return_if_fail(shape != NULL || ndim == 0);
  if (g_hash_table_contains(w->names, name)) {
    g_critical("fr_safetensors_writer_add: tensor '%s' added twice", name);
    return;
  }
  for (int d = 0; d < ndim; d++)
    if (shape[d] < 0) {
      g_critical("fr_safetensors_writer_add: tensor '%s' has negative dim %d", name, d);
      return;
    }
  guint64 numel, nbytes;
  if (!shape_numel(ndim, shape, &numel) || !g_uint64_checked_mul(&nbytes, numel, dtype_info[dtype].size) ||
      nbytes > G_MAXSIZE / 2) {
    g_critical("fr_safetensors_writer_add: tensor '%s' is too large", name);
    return;
  }
  g_return_if_fail(data != NULL || nbytes == 0);
  WTensor *t = g_new0(WTensor, 1);
  t->name = g_strdup(name);
  t->dtype = dtype;
  t->ndim = ndim;
  for (int d = 0; d < ndim; d++)
    t->shape[d] = shape[d];
  t->nbytes = (size_t)nbytes;
  t->data = nbytes ? g_memdup2(data, t->nbytes) : NULL;
  g_ptr_array_add(w->tensors, t);
  g_hash_table_insert(w->names, t->name, t);
}

void
fr_safetensors_writer_set_metadata(FrSafetensorsWriter *w, const char *key, const char *value)
{
  g_return_if_fail(w != NULL);
  g_return_if_fail(key != NULL && g_utf8_validate(key, -1, NULL));
  g_return_if_fail(value != NULL && g_utf8_validate(value, -1, NULL));
  g_hash_table_replace(w->meta, g_strdup(key), g_strdup(value));
}

/* JSON string as serde_json (and Python's json with ensure_ascii=False) writes it. */
static void
append_json_string(GString *s, const char *str)
{
  g_string_append_c(s, '"');
  for (const guint8 *p = (const guint8 *)str; *p; p++) {
    switch (*p) {
    case '"': g_string_append(s, "\\\""); break;
    case '\\': g_string_append(s, "\\\\"); break;
    case '\b': g_string_append(s, "\\b"); break;
    case '\f': g_string_append(s, "\\f"); break;
    case '\n': g_string_append(s, "\\n"); break;
    case '\r': g_string_append(s, "\\r"); break;
    case '\t': g_string_append(s, "\\t"); break;
    default:
      if (*p < 0x20)
        g_string_append_printf(s, "\\u%04x", *p);
      else
        g_string_append_c(s, (char)*p);
    }
  }
  g_string_append_c(s, '"');
}

static int
wtensor_cmp(const void *a, const void *b)
{
  const WTensor *x = *(WTensor *const *)a, *y = *(WTensor *const *)b;
  int rx = dtype_info[x->dtype].rank, ry = dtype_info[y->dtype].rank;
  if (rx != ry)
    return ry - rx; /* larger alignment first */
  return strcmp(x->name, y->name);
}

static int
str_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Builds the 8-byte prefix + padded header; *order gets the tensors in data order. */
static GString *
build_header(FrSafetensorsWriter *w, GPtrArray **order)
{
  GPtrArray *sorted = g_ptr_array_sized_new(w->tensors->len);
  for (guint i = 0; i < w->tensors->len; i++)
    g_ptr_array_add(sorted, g_ptr_array_index(w->tensors, i));
  g_ptr_array_sort(sorted, wtensor_cmp);

  GString *s = g_string_new(NULL);
  g_string_append_len(s, "\0\0\0\0\0\0\0\0", 8);
  g_string_append_c(s, '{');
  gboolean first = TRUE;
  if (g_hash_table_size(w->meta) > 0) {
    guint nkeys = 0;
    gpointer *keys = g_hash_table_get_keys_as_array(w->meta, &nkeys);
    qsort(keys, nkeys, sizeof(gpointer), str_cmp);
    g_string_append(s, "\"__metadata__\":{");
    for (guint i = 0; i < nkeys; i++) {
      if (i)
        g_string_append_c(s, ',');
      append_json_string(s, keys[i]);
      g_string_append_c(s, ':');
      append_json_string(s, g_hash_table_lookup(w->meta, keys[i]));
    }
    g_string_append_c(s, '}');
    g_free(keys);
    first = FALSE;
  }
  guint64 offset = 0;
  for (guint i = 0; i < sorted->len; i++) {
    WTensor *t = g_ptr_array_index(sorted, i);
    if (!first)
      g_string_append_c(s, ',');
    first = FALSE;
    append_json_string(s, t->name);
    g_string_append_printf(s, ":{\"dtype\":\"%s\",\"shape\":", dtype_info[t->dtype].name);
    append_shape(s, t->ndim, t->shape);
    g_string_append_printf(s, ",\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}", offset,
                           offset + t->nbytes);
    offset += t->nbytes;
  }
  g_string_append_c(s, '}');
  while ((s->len - 8) % 8 != 0)
    g_string_append_c(s, ' ');
  guint64 n = s->len - 8;
  for (int i = 0; i < 8; i++)
    s->str[i] = (char)((n >> (8 * i)) & 0xff);
  *order = sorted;
  return s;
}

GBytes *
fr_safetensors_writer_to_bytes(FrSafetensorsWriter *w)
{
  g_return_val_if_fail(w != NULL, NULL);
  GPtrArray *order;
  GString *hdr = build_header(w, &order);
  size_t total = hdr->len;
  for (guint i = 0; i < order->len; i++)
    total += ((WTensor *)g_ptr_array_index(order, i))->nbytes;
  guint8 *out = g_malloc(total); /* total >= 16: the prefix and "{}" padded */
  memcpy(out, hdr->str, hdr->len);
  size_t at = hdr->len;
  for (guint i = 0; i < order->len; i++) {
    WTensor *t = g_ptr_array_index(order, i);
    if (t->nbytes)
      memcpy(out + at, t->data, t->nbytes);
    at += t->nbytes;
  }
  g_string_free(hdr, TRUE);
  g_ptr_array_free(order, TRUE);
  return g_bytes_new_take(out, total);
}

gboolean
fr_safetensors_writer_save(FrSafetensorsWriter *w, const char *path, GError **error)
{
  g_return_val_if_fail(w != NULL, FALSE);
  g_return_val_if_fail(path != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  GPtrArray *order;
  GString *hdr = build_header(w, &order);
  char *tmp = g_strconcat(path, ".XXXXXX", NULL);
  FILE *f = NULL;
  gboolean ok = FALSE;
  const char *what = "create a temporary file next to it";
  int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0)
    goto out;
  what = "write";
  f = fdopen(fd, "wb");
  if (!f) {
    int err = errno;
    close(fd);
    errno = err;
    goto out;
  }
  if (fwrite(hdr->str, 1, hdr->len, f) != hdr->len)
    goto out;
  for (guint i = 0; i < order->len; i++) {
    WTensor *t = g_ptr_array_index(order, i);
    if (t->nbytes && fwrite(t->data, 1, t->nbytes, f) != t->nbytes)
      goto out;
  }
  if (fflush(f) != 0)
    goto out;
  what = "sync";
  if (fsync(fileno(f)) != 0)
    goto out;
  what = "close";
  int rc = fclose(f);
  f = NULL;
  if (rc != 0)
    goto out;
  what = "rename the temporary file into place";
  if (g_rename(tmp, path) != 0)
    goto out;
  ok = TRUE;
out:
  if (!ok) {
    int err = errno;
    if (f)
      fclose(f);
    if (fd >= 0)
      g_unlink(tmp);
    g_set_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_IO, "%s: could not %s: %s", path, what,
                g_strerror(err));
  }
  g_free(tmp);
  g_string_free(hdr, TRUE);
  g_ptr_array_free(order, TRUE);
  return ok;
}
