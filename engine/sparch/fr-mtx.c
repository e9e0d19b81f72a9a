/* fr-mtx.c: Matrix Market coordinate reader and writer.
 *
 * The reader works on the whole text in memory (mapped, or inflated from .gz) with a hand-written
 * tokenizer and number parser: sscanf/strtod per line would dominate the load time of the SNAP
 * matrices, and a length-bounded scanner can never read past the input (the fuzzer's inputs are not
 * NUL-terminated). Entries are collected as triplets and handed to fr_csr_from_coo, whose stable
 * counting sorts keep the build linear in the number of entries.
 *
 * gzip goes through GIO's GZlibCompressor/GZlibDecompressor (zlib underneath) rather than zlib
 * directly, so that the libFuzzer build of this file links with only the GLib/GIO libraries. */
#include "fr-mtx.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

/* Bytes per stored triplet while parsing: row and column (int64) and value in the triplet arrays,
 * then fr_csr_from_coo's scratch row (int32) and value and the result's column and value. */
#define BYTES_PER_ENTRY 48

static guint64 memory_guard = FR_MTX_DEFAULT_MEMORY_GUARD;

void
fr_mtx_set_memory_guard(guint64 bytes)
{
  memory_guard = bytes ? bytes : FR_MTX_DEFAULT_MEMORY_GUARD;
}

guint64
fr_mtx_get_memory_guard(void)
{
  return memory_guard;
}

/* ---- lines and tokens -------------------------------------------------------------------------- */

typedef struct {
  const char *text;
  size_t len, pos; /* pos: start of the next line */
  int64_t lineno;  /* 1-based number of the line last returned */
} Lines;

/* The next line as [*b, *e), without its '\n' or a '\r' before it (CRLF files). A final newline
 * does not start another (empty) line. */
static gboolean
next_line(Lines *L, const char **b, const char **e)
{
  if (L->pos >= L->len)
    return FALSE;
  const char *s = L->text + L->pos;
  const char *nl = memchr(s, '\n', L->len - L->pos);
  const char *end = nl ? nl : L->text + L->len;
  L->pos = (size_t)(end - L->text) + (nl ? 1 : 0);
  L->lineno++;
  if (end > s && end[-1] == '\r')
    end--;
  *b = s;
  *e = end;
  return TRUE;
}

static inline gboolean
is_space(char c)
{
  return c == ' ' || c == '\t';
}

/* Blank (only spaces/tabs) or a comment (first non-blank character '%'). */
static gboolean
is_skippable(const char *b, const char *e)
{
  while (b < e && is_space(*b))
    b++;
  return b == e || *b == '%';
}

/* The next whitespace-delimited token of [*s, e) as [*tb, *te); FALSE when only blanks remain. */
static gboolean
next_token(const char **s, const char *e, const char **tb, const char **te)
{
  const char *p = *s;
  while (p < e && is_space(*p))
    p++;
  if (p == e) {
    *s = p;
    return FALSE;
  }
  *tb = p;
  while (p < e && !is_space(*p))
    p++;
  *te = p;
  *s = p;
  return TRUE;
}

static gboolean
token_is(const char *b, const char *e, const char *word)
{
  size_t n = strlen(word);
  return (size_t)(e - b) == n && g_ascii_strncasecmp(b, word, n) == 0;
}

/* A token quoted for a message: shortened, with control bytes, NULs and non-ASCII bytes as \xHH
 * (the message must stay readable and valid UTF-8 whatever the file holds). */
static char *
show(const char *b, const char *e)
{
  enum { SHOWN = 32 };
  GString *s = g_string_new("'");
  for (const char *p = b; p < e && p < b + SHOWN; p++) {
    guint8 c = (guint8)*p;
    if (c == '\\' || c == '\'')
      g_string_append_printf(s, "\\%c", c);
    else if (c >= 0x20 && c < 0x7f)
      g_string_append_c(s, (char)c);
    else
      g_string_append_printf(s, "\\x%02x", c);
  }
  g_string_append(s, e - b > SHOWN ? "...'" : "'");
  return g_string_free(s, FALSE);
}

/* ---- numbers ----------------------------------------------------------------------------------- */

typedef enum { NUM_OK, NUM_SYNTAX, NUM_RANGE } NumStatus;

/* A decimal integer with optional sign. NUM_RANGE beyond +-2^62, far past every limit we check. */
static NumStatus
parse_int(const char *b, const char *e, int64_t *out)
{
  gboolean neg = FALSE;
  if (b < e && (*b == '+' || *b == '-')) {
    neg = *b == '-';
    b++;
  }
  if (b == e)
    return NUM_SYNTAX;
  int64_t v = 0;
  gboolean big = FALSE;
  for (; b < e; b++) {
    if (*b < '0' || *b > '9')
      return NUM_SYNTAX;
    if (v > ((int64_t)1 << 62) / 10)
      big = TRUE;
    else
      v = v * 10 + (*b - '0');
  }
  if (big)
    return NUM_RANGE;
  *out = neg ? -v : v;
  return NUM_OK;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A decimal real: [+-] (digits [. digits] | . digits) [(e|E) [+-] digits], or inf, infinity, nan
 * (any case, with optional sign). NaN and infinities are accepted: they are valid IEEE values that
 * our own writer produces for such matrices, and refusing them would break round trips. Values out
 * of double range round to +-inf or to (sub)normals / zero, as strtod does.
 *
 * Fast path (Clinger): at most 19 significant digits forming a mantissa <= 2^53 and a power of ten
 * <= 22 in magnitude give a correctly rounded result with one multiplication or division, because
 * both operands are exact doubles. Everything else goes to g_ascii_strtod, which is correctly rounded
 * and locale-independent, after the grammar check above (so it sees only what we accept). */
static NumStatus
parse_real(const char *b, const char *e, gboolean integer_only, double *out)
{
  const char *s = b;
  gboolean neg = FALSE;
  if (s < e && (*s == '+' || *s == '-')) {
    neg = *s == '-';
    s++;
  }
  if (s == e)
    return NUM_SYNTAX;
  if (!integer_only && ((*s | 0x20) == 'i' || (*s | 0x20) == 'n')) {
    if (token_is(s, e, "inf") || token_is(s, e, "infinity"))
      *out = neg ? -INFINITY : INFINITY;
    else if (token_is(s, e, "nan"))
      *out = NAN;
    else
      return NUM_SYNTAX;
    return NUM_OK;
  }
  guint64 mant = 0;
  int digits = 0; /* significant digits in mant */
  int64_t exp10 = 0;
  gboolean any = FALSE, exact = TRUE;
  for (; s < e && *s >= '0' && *s <= '9'; s++) {
    any = TRUE;
    if (digits < 19) {
      mant = mant * 10 + (guint64)(*s - '0');
      digits += mant != 0; /* leading zeros are not significant */
    } else {
      exp10++;
      exact &= *s == '0';
    }
  }
  if (s < e && *s == '.' && !integer_only) {
    for (s++; s < e && *s >= '0' && *s <= '9'; s++) {
      any = TRUE;
      if (digits < 19) {
        mant = mant * 10 + (guint64)(*s - '0');
        digits += mant != 0;
        exp10--;
      } else {
        exact &= *s == '0';
      }
    }
  }
  if (!any)
    return NUM_SYNTAX;
  if (s < e && (*s == 'e' || *s == 'E') && !integer_only) {
    s++;
    gboolean eneg = FALSE;
    if (s < e && (*s == '+' || *s == '-')) {
      eneg = *s == '-';
      s++;
    }
    if (s == e || *s < '0' || *s > '9')
      return NUM_SYNTAX;
    int64_t ev = 0;
    for (; s < e && *s >= '0' && *s <= '9'; s++)
      if (ev < 1000000) /* beyond any double; saturate instead of overflowing */
        ev = ev * 10 + (*s - '0');
    exp10 += eneg ? -ev : ev;
  }
  if (s != e)
    return NUM_SYNTAX;

  if (mant == 0 && exact) {
    *out = neg ? -0.0 : 0.0;
    return NUM_OK;
  }
  if (exact && mant <= ((guint64)1 << 53) && exp10 >= -22 && exp10 <= 22) {
    double v = (double)mant;
    v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
    *out = neg ? -v : v;
    return NUM_OK;
  }
  char small[64];
  size_t n = (size_t)(e - b);
  char *copy = n < sizeof small ? small : g_malloc(n + 1);
  memcpy(copy, b, n);
  copy[n] = '\0';
  char *end = NULL;
  *out = g_ascii_strtod(copy, &end);
  gboolean ok = end == copy + n;
  if (copy != small)
    g_free(copy);
  return ok ? NUM_OK : NUM_SYNTAX;
}

/* ---- parser ------------------------------------------------------------------------------------ */

typedef struct {
  const char *label;
  GError **error;
  Lines L;
  FrMtxInfo info;
  size_t data_pos;     /* where the entries start (after the size line) */
  int64_t data_lineno; /* lines before that */
} Parser;

static void fail(Parser *P, int code, int64_t line, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static void
fail(Parser *P, int code, int64_t line, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(P->error, FR_SPARSE_ERROR, code, "%s: line %" G_GINT64_FORMAT ": %s", P->label, line, msg);
  g_free(msg);
}

#define FORMAT_ERROR FR_SPARSE_ERROR_FORMAT

static gboolean
parse_banner(Parser *P)
{
  const char *b, *e, *tb, *te;
  if (!next_line(&P->L, &b, &e)) {
    fail(P, FORMAT_ERROR, 1, "empty file; expected the '%%%%MatrixMarket matrix coordinate ...' banner");
    return FALSE;
  }
  if (!next_token(&b, e, &tb, &te) || !token_is(tb, te, "%%MatrixMarket")) {
    fail(P, FORMAT_ERROR, 1, "missing banner: the file must start with '%%%%MatrixMarket matrix coordinate ...'");
    return FALSE;
  }
  const char *what[] = {"object (matrix)", "format (coordinate)", "field (real, integer or pattern)",
                        "symmetry (general, symmetric or skew-symmetric)"};
  const char *tok[4][2];
  for (int i = 0; i < 4; i++) {
    if (!next_token(&b, e, &tok[i][0], &tok[i][1])) {
      fail(P, FORMAT_ERROR, 1, "incomplete banner: missing the %s", what[i]);
      return FALSE;
    }
  }
  char *t;
  if (!token_is(tok[0][0], tok[0][1], "matrix")) {
    fail(P, FORMAT_ERROR, 1, "object %s is not supported, only 'matrix'", t = show(tok[0][0], tok[0][1]));
    g_free(t);
    return FALSE;
  }
  if (token_is(tok[1][0], tok[1][1], "array")) {
    fail(P, FORMAT_ERROR, 1, "dense 'array' files are not supported, only sparse 'coordinate' ones");
    return FALSE;
  }
  if (!token_is(tok[1][0], tok[1][1], "coordinate")) {
    fail(P, FORMAT_ERROR, 1, "format %s is not supported, only 'coordinate'", t = show(tok[1][0], tok[1][1]));
    g_free(t);
    return FALSE;
  }
  if (token_is(tok[2][0], tok[2][1], "real") || token_is(tok[2][0], tok[2][1], "double"))
    P->info.field = FR_MTX_REAL;
  else if (token_is(tok[2][0], tok[2][1], "integer"))
    P->info.field = FR_MTX_INTEGER;
  else if (token_is(tok[2][0], tok[2][1], "pattern"))
    P->info.field = FR_MTX_PATTERN;
  else if (token_is(tok[2][0], tok[2][1], "complex")) {
    fail(P, FORMAT_ERROR, 1, "complex matrices are not supported (only real, integer and pattern)");
    return FALSE;
  } else {
    fail(P, FORMAT_ERROR, 1, "unknown field %s (expected real, integer or pattern)", t = show(tok[2][0], tok[2][1]));
    g_free(t);
    return FALSE;
  }
  if (token_is(tok[3][0], tok[3][1], "general"))
    P->info.symmetry = FR_MTX_GENERAL;
  else if (token_is(tok[3][0], tok[3][1], "symmetric"))
    P->info.symmetry = FR_MTX_SYMMETRIC;
  else if (token_is(tok[3][0], tok[3][1], "skew-symmetric"))
    P->info.symmetry = FR_MTX_SKEW_SYMMETRIC;
  else if (token_is(tok[3][0], tok[3][1], "hermitian")) {
    fail(P, FORMAT_ERROR, 1, "hermitian matrices are not supported (they are complex)");
    return FALSE;
  } else {
    fail(P, FORMAT_ERROR, 1, "unknown symmetry %s (expected general, symmetric or skew-symmetric)",
         t = show(tok[3][0], tok[3][1]));
    g_free(t);
    return FALSE;
  }
  if (next_token(&b, e, &tb, &te)) {
    fail(P, FORMAT_ERROR, 1, "unexpected text after the banner: %s", t = show(tb, te));
    g_free(t);
    return FALSE;
  }
  if (P->info.field == FR_MTX_PATTERN && P->info.symmetry == FR_MTX_SKEW_SYMMETRIC) {
    fail(P, FORMAT_ERROR, 1, "'pattern skew-symmetric' is contradictory (a pattern has no signs to negate)");
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_size_line(Parser *P)
{
  const char *b, *e;
  do {
    if (!next_line(&P->L, &b, &e)) {
      fail(P, FORMAT_ERROR, P->L.lineno, "missing size line ('rows columns entries') after the banner");
      return FALSE;
    }
  } while (is_skippable(b, e));
  int64_t line = P->L.lineno, v[3];
  const char *names[] = {"number of rows", "number of columns", "number of entries"};
  char *t;
  for (int i = 0; i < 3; i++) {
    const char *tb, *te;
    if (!next_token(&b, e, &tb, &te)) {
      fail(P, FORMAT_ERROR, line, "bad size line: missing the %s (expected 'rows columns entries')", names[i]);
      return FALSE;
    }
    NumStatus st = parse_int(tb, te, &v[i]);
    if (st == NUM_SYNTAX) {
      fail(P, FORMAT_ERROR, line, "bad size line: %s %s is not an integer", names[i], t = show(tb, te));
      g_free(t);
      return FALSE;
    }
    if (st == NUM_RANGE || (i < 2 && v[i] > FR_MTX_MAX_DIM) || (i == 2 && v[i] > FR_MTX_MAX_ENTRIES)) {
      fail(P, FR_SPARSE_ERROR_TOO_LARGE, line, "%s %s exceeds the limit of %s", names[i], t = show(tb, te),
           i < 2 ? "2^31 - 1" : "2^31");
      g_free(t);
      return FALSE;
    }
    if (v[i] < (i < 2 ? 1 : 0)) {
      fail(P, FORMAT_ERROR, line, "bad size line: %s is %" G_GINT64_FORMAT " (must be %s)", names[i], v[i],
           i < 2 ? "at least 1" : "non-negative");
      return FALSE;
    }
  }
  const char *tb, *te;
  if (next_token(&b, e, &tb, &te)) {
    fail(P, FORMAT_ERROR, line, "bad size line: unexpected %s after 'rows columns entries'", t = show(tb, te));
    g_free(t);
    return FALSE;
  }
  P->info.nrows = v[0];
  P->info.ncols = v[1];
  P->info.stored_entries = v[2];

  FrMtxSymmetry sym = P->info.symmetry;
  if (sym != FR_MTX_GENERAL && v[0] != v[1]) {
    fail(P, FORMAT_ERROR, line, "a %s matrix must be square, not %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT,
         sym == FR_MTX_SYMMETRIC ? "symmetric" : "skew-symmetric", v[0], v[1]);
    return FALSE;
  }
  /* cells that may be stored: all; the lower (or upper) triangle; without the diagonal for skew */
  int64_t cells = sym == FR_MTX_GENERAL     ? v[0] * v[1]
                  : sym == FR_MTX_SYMMETRIC ? v[0] * (v[0] + 1) / 2
                                            : v[0] * (v[0] - 1) / 2;
  if (v[2] > cells) {
    fail(P, FORMAT_ERROR, line,
         "%" G_GINT64_FORMAT " entries cannot fit in a %s %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT
         " matrix without duplicates",
         v[2], sym == FR_MTX_GENERAL ? "general" : sym == FR_MTX_SYMMETRIC ? "symmetric" : "skew-symmetric", v[0],
         v[1]);
    return FALSE;
  }
  /* refuse before allocating anything in proportion to the declared sizes */
  guint64 entries = (guint64)v[2] * (sym == FR_MTX_GENERAL ? 1 : 2);
  guint64 need = entries * BYTES_PER_ENTRY + (guint64)(v[0] + v[1] + 2) * sizeof(int64_t);
  if (need > memory_guard) {
    fail(P, FR_SPARSE_ERROR_TOO_LARGE, line,
         "a %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT " matrix with %" G_GINT64_FORMAT
         " entries would need about %.1f GiB, more than the memory guard of %.1f GiB",
         v[0], v[1], v[2], (double)need / 1073741824.0, (double)memory_guard / 1073741824.0);
    return FALSE;
  }
  P->data_pos = P->L.pos;
  P->data_lineno = P->L.lineno;
  return TRUE;
}

/* Line numbers of the first `count` entry lines (error path only: rescans the text). */
static int64_t *
entry_lines(Parser *P, int64_t count)
{
  int64_t *lines = g_new(int64_t, MAX(count, 1));
  Lines L = {P->L.text, P->L.len, P->data_pos, P->data_lineno};
  const char *b, *e;
  for (int64_t k = 0; k < count && next_line(&L, &b, &e);)
    if (!is_skippable(b, e))
      lines[k++] = L.lineno;
  return lines;
}

static int64_t
find_in_row(const FrCsr *m, int64_t r, int64_t c)
{
  int64_t lo = m->rowptr[r], hi = m->rowptr[r + 1];
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (m->col[mid] < c)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Reports the duplicate that completes earliest in the file: stored entries are visited in file
 * order, each followed by its mirror, and the first coordinate seen twice is the one. `mult` is the
 * entries' pattern summed (every value >= 1); its values are overwritten with "seen" marks. */
static void
report_duplicate(Parser *P, FrCsr *mult, const int64_t *rows, const int64_t *cols, int64_t stored)
{
  gboolean mirrored = P->info.symmetry != FR_MTX_GENERAL;
  int64_t *lines = entry_lines(P, stored);
  for (int64_t k = 0; k < stored; k++) {
    for (int side = 0; side < (mirrored && rows[k] != cols[k] ? 2 : 1); side++) {
      int64_t r = side ? cols[k] : rows[k], c = side ? rows[k] : cols[k];
      int64_t q = find_in_row(mult, r, c);
      if (mult->val[q] >= 0) {
        mult->val[q] = -1.0;
        continue;
      }
      /* the earlier entry holding (r, c), directly or (symmetric files) as the mirror of (c, r) */
      int64_t j = 0;
      gboolean same_pair = side == 1;
      for (; j < k; j++) {
        if (rows[j] == r && cols[j] == c)
          break;
        if (mirrored && rows[j] == c && cols[j] == r) {
          same_pair = TRUE;
          break;
        }
      }
      if (same_pair)
        fail(P, FORMAT_ERROR, lines[k],
             "entry (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ") and the entry on line %" G_GINT64_FORMAT
             " are the same pair of a %s matrix (store only one triangle)",
             rows[k] + 1, cols[k] + 1, lines[j],
             P->info.symmetry == FR_MTX_SYMMETRIC ? "symmetric" : "skew-symmetric");
      else
        fail(P, FORMAT_ERROR, lines[k],
             "duplicate entry (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "), already given on line %" G_GINT64_FORMAT,
             r + 1, c + 1, lines[j]);
      g_free(lines);
      return;
    }
  }
  g_free(lines);
  fail(P, FORMAT_ERROR, P->L.lineno, "duplicate entries"); /* not reached: the counts said so */
}

FrCsr *
fr_mtx_parse(const char *text, size_t len, const char *label, FrMtxInfo *info_out, GError **error)
{
  g_return_val_if_fail(text != NULL || len == 0, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  Parser P = {.label = label ? label : "<input>", .error = error, .L = {text ? text : "", len, 0, 0}};
  if (!parse_banner(&P) || !parse_size_line(&P))
    return NULL;

  const FrMtxField field = P.info.field;
  const FrMtxSymmetry sym = P.info.symmetry;
  const int64_t nrows = P.info.nrows, ncols = P.info.ncols, declared = P.info.stored_entries;
  /* Allocate for what the rest of the text can hold, not for what it claims: an entry line has at
   * least 3 characters ("1 1") and all but the last a newline, so a short file declaring billions
   * of entries costs nothing before it is found out. */
  int64_t fit = (int64_t)((len - P.L.pos + 1) / 4);
  int64_t cap = MIN(declared, fit) * (sym == FR_MTX_GENERAL ? 1 : 2);
  int64_t *rows = g_try_malloc((size_t)MAX(cap, 1) * sizeof(int64_t));
  int64_t *cols = g_try_malloc((size_t)MAX(cap, 1) * sizeof(int64_t));
  double *vals = field != FR_MTX_PATTERN ? g_try_malloc((size_t)MAX(cap, 1) * sizeof(double)) : NULL;
  FrCsr *m = NULL;
  char *t = NULL;
  if (!rows || !cols || (field != FR_MTX_PATTERN && !vals)) {
    fail(&P, FR_SPARSE_ERROR_TOO_LARGE, P.L.lineno, "out of memory for %" G_GINT64_FORMAT " entries", declared);
    goto out;
  }

  int64_t n = 0;
  const char *b, *e, *tb, *te;
  while (n < declared) {
    if (!next_line(&P.L, &b, &e)) {
      fail(&P, FORMAT_ERROR, P.L.lineno, "the file ends after %" G_GINT64_FORMAT " of the %" G_GINT64_FORMAT
           " entries declared on the size line", n, declared);
      goto out;
    }
    if (is_skippable(b, e))
      continue;
    const int64_t line = P.L.lineno;
    int64_t idx[2];
    for (int i = 0; i < 2; i++) {
      const char *what = i ? "column" : "row";
      if (!next_token(&b, e, &tb, &te)) {
        fail(&P, FORMAT_ERROR, line, "expected a %s index", what);
        goto out;
      }
      NumStatus st = parse_int(tb, te, &idx[i]);
      int64_t lim = i ? ncols : nrows;
      if (st == NUM_SYNTAX) {
        fail(&P, FORMAT_ERROR, line, "%s index %s is not an integer", what, t = show(tb, te));
        goto out;
      }
      if (st == NUM_RANGE || idx[i] < 1 || idx[i] > lim) {
        fail(&P, FORMAT_ERROR, line, "%s index %s is outside 1..%" G_GINT64_FORMAT, what, t = show(tb, te), lim);
        goto out;
      }
    }
    double v = 1.0;
    if (field != FR_MTX_PATTERN) {
      if (!next_token(&b, e, &tb, &te)) {
        fail(&P, FORMAT_ERROR, line, "expected a value after the indices");
        goto out;
      }
      if (parse_real(tb, te, field == FR_MTX_INTEGER, &v) != NUM_OK) {
        fail(&P, FORMAT_ERROR, line, "value %s is not %s", t = show(tb, te),
             field == FR_MTX_INTEGER ? "an integer" : "a number");
        goto out;
      }
    }
    if (next_token(&b, e, &tb, &te)) {
      fail(&P, FORMAT_ERROR, line, "unexpected %s after the entry", t = show(tb, te));
      goto out;
    }
    if (sym == FR_MTX_SKEW_SYMMETRIC && idx[0] == idx[1]) {
      fail(&P, FORMAT_ERROR, line,
           "diagonal entry (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ") in a skew-symmetric matrix (its diagonal is "
           "zero by definition)",
           idx[0], idx[1]);
      goto out;
    }
    if (n >= cap) { /* cannot happen for a well-formed line (see `fit`); guards the arrays anyway */
      fail(&P, FORMAT_ERROR, line, "more entry lines than the file size allows");
      goto out;
    }
    rows[n] = idx[0] - 1;
    cols[n] = idx[1] - 1;
    if (vals)
      vals[n] = v;
    n++;
  }
  while (next_line(&P.L, &b, &e)) {
    if (!is_skippable(b, e)) {
      fail(&P, FORMAT_ERROR, P.L.lineno, "more entries than the %" G_GINT64_FORMAT " declared on the size line",
           declared);
      goto out;
    }
  }

  int64_t total = n;
  if (sym != FR_MTX_GENERAL) {
    for (int64_t k = 0; k < n; k++) {
      if (rows[k] == cols[k])
        continue;
      rows[total] = cols[k];
      cols[total] = rows[k];
      if (vals)
        vals[total] = sym == FR_MTX_SKEW_SYMMETRIC ? -vals[k] : vals[k];
      total++;
    }
  }
  GError *cerr = NULL;
  m = fr_csr_from_coo(nrows, ncols, total, rows, cols, vals, TRUE, &cerr);
  if (!m) {
    fail(&P, cerr->code == FR_SPARSE_ERROR_TOO_LARGE ? FR_SPARSE_ERROR_TOO_LARGE : FORMAT_ERROR, P.L.lineno, "%s",
         cerr->message);
    g_error_free(cerr);
    goto out;
  }
  if (m->nnz != total) { /* merged duplicates: find them for the message */
    fr_csr_free(m);
    m = NULL;
    FrCsr *mult = fr_csr_from_coo(nrows, ncols, total, rows, cols, NULL, TRUE, NULL);
    if (mult)
      report_duplicate(&P, mult, rows, cols, n);
    else
      fail(&P, FORMAT_ERROR, P.L.lineno, "duplicate entries");
    fr_csr_free(mult);
    goto out;
  }
  if (info_out)
    *info_out = P.info;

out:
  g_free(t);
  g_free(rows);
  g_free(cols);
  g_free(vals);
  return m;
}

/* ---- load -------------------------------------------------------------------------------------- */

/* Inflates every gzip member of IN (gzip -c a b > c concatenates members). The output is capped
 * at the memory guard, which also stops decompression bombs. */
static char *
gunzip(const guint8 *in, size_t inlen, size_t *outlen, const char *label, GError **error)
{
  size_t cap = MIN(MAX(inlen * 4, (size_t)1 << 16), (size_t)memory_guard + 1), len = 0, pos = 0;
  char *out = g_try_malloc(cap);
  if (!out)
    goto oom;
  while (pos < inlen) {
    if (inlen - pos < 2 || in[pos] != 0x1f || in[pos + 1] != 0x8b) {
      g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_FORMAT,
                  "%s: unexpected bytes after the gzip data (at compressed offset %zu)", label, pos);
      goto fail;
    }
    GZlibDecompressor *z = g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP);
    GConverterResult res;
    do {
      if (len == cap) {
        if (len > memory_guard) {
          g_object_unref(z);
          g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE,
                      "%s: decompresses to more than the memory guard of %.1f GiB", label,
                      (double)memory_guard / 1073741824.0);
          goto fail;
        }
        cap = MIN(cap * 2, (size_t)memory_guard + 1);
        char *grown = g_try_realloc(out, cap);
        if (!grown) {
          g_object_unref(z);
          goto oom;
        }
        out = grown;
      }
      gsize nread = 0, nwritten = 0;
      GError *zerr = NULL;
      res = g_converter_convert(G_CONVERTER(z), in + pos, inlen - pos, out + len, cap - len,
                                G_CONVERTER_INPUT_AT_END, &nread, &nwritten, &zerr);
      if (res == G_CONVERTER_ERROR) {
        g_object_unref(z);
        g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_FORMAT, "%s: corrupt or truncated gzip data: %s", label,
                    zerr->message);
        g_error_free(zerr);
        goto fail;
      }
      pos += nread;
      len += nwritten;
    } while (res != G_CONVERTER_FINISHED);
    g_object_unref(z);
  }
  *outlen = len;
  return out;
oom:
  g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE, "%s: out of memory decompressing", label);
fail:
  g_free(out);
  return NULL;
}

FrCsr *
fr_mtx_load(const char *path, FrMtxInfo *info_out, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  char *label = g_filename_display_name(path);
  GError *ferr = NULL;
  FrCsr *m = NULL;
  /* Mapped rather than read: the text of a plain file is parsed in place. */
  GMappedFile *mf = g_mapped_file_new(path, FALSE, &ferr);
  if (!mf) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_IO, "%s", ferr->message);
    g_error_free(ferr);
    g_free(label);
    return NULL;
  }
  const char *data = g_mapped_file_get_contents(mf);
  size_t len = g_mapped_file_get_length(mf);
  if (len >= 2 && (guint8)data[0] == 0x1f && (guint8)data[1] == 0x8b) {
    size_t tlen = 0;
    char *text = gunzip((const guint8 *)data, len, &tlen, label, error);
    if (text)
      m = fr_mtx_parse(text, tlen, label, info_out, error);
    g_free(text);
  } else {
    m = fr_mtx_parse(data, len, label, info_out, error);
  }
  g_mapped_file_unref(mf);
  g_free(label);
  return m;
}

/* ---- writer ------------------------------------------------------------------------------------ */

/* Where formatted text goes: a string (fr_mtx_format), or a file descriptor, optionally through a
 * gzip compressor. */
typedef struct {
  GString *mem;
  int fd;
  GConverter *gz;
  const char *label;
  char zbuf[1 << 16];
} Sink;

static gboolean
write_all(Sink *s, const char *p, size_t n, GError **error)
{
  while (n > 0) {
    ssize_t w = write(s->fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int err = w < 0 ? errno : ENOSPC;
      g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_IO, "%s: write failed: %s", s->label, g_strerror(err));
      return FALSE;
    }
    p += w;
    n -= (size_t)w;
  }
  return TRUE;
}

static gboolean
sink_write(Sink *s, const char *p, size_t n, gboolean last, GError **error)
{
  if (s->mem) {
    g_string_append_len(s->mem, p, (gssize)n);
    return TRUE;
  }
  if (!s->gz)
    return write_all(s, p, n, error);
  for (;;) {
    gsize nread = 0, nwritten = 0;
    GError *zerr = NULL;
    GConverterResult res = g_converter_convert(s->gz, p, n, s->zbuf, sizeof s->zbuf,
                                               last ? G_CONVERTER_INPUT_AT_END : G_CONVERTER_NO_FLAGS, &nread,
                                               &nwritten, &zerr);
    if (res == G_CONVERTER_ERROR) {
      g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_IO, "%s: compression failed: %s", s->label, zerr->message);
      g_error_free(zerr);
      return FALSE;
    }
    if (!write_all(s, s->zbuf, nwritten, error))
      return FALSE;
    p += nread;
    n -= nread;
    if (res == G_CONVERTER_FINISHED || (!last && n == 0))
      return TRUE;
  }
}

static char *
put_uint(char *p, guint64 v)
{
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n)
    *p++ = tmp[--n];
  return p;
}

/* %.17g, which reads back bit-exactly. Integral values below 2^53 print as plain integers, which is
 * exactly what %.17g gives for them, without the cost of printf (pattern-like 1.0 values are common). */
static char *
put_real(char *p, double v)
{
  if (v == floor(v) && fabs(v) < 9007199254740992.0 && !(v == 0 && signbit(v))) {
    if (v < 0) {
      *p++ = '-';
      v = -v;
    }
    return put_uint(p, (guint64)v);
  }
  g_ascii_formatd(p, G_ASCII_DTOSTR_BUF_SIZE, "%.17g", v);
  return p + strlen(p);
}

static gboolean
check_writable(const FrCsr *m, const char *label, GError **error)
{
  GError *verr = NULL;
  if (!fr_csr_validate(m, &verr)) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID, "%s: not a valid matrix: %s", label, verr->message);
    g_error_free(verr);
    return FALSE;
  }
  if (m->nrows < 1 || m->ncols < 1) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID,
                "%s: a %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT " matrix cannot be written (the reader needs at "
                "least one row and column)",
                label, m->nrows, m->ncols);
    return FALSE;
  }
  if (m->nnz > FR_MTX_MAX_ENTRIES) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE,
                "%s: %" G_GINT64_FORMAT " nonzeros exceed the Matrix Market limit of 2^31 entries", label, m->nnz);
    return FALSE;
  }
  return TRUE;
}

static gboolean
emit(const FrCsr *m, gboolean pattern, Sink *s, GError **error)
{
  enum { CHUNK = 1 << 20, MAX_LINE = 3 * 24 + G_ASCII_DTOSTR_BUF_SIZE };
  char *buf = g_malloc(CHUNK + MAX_LINE), *p = buf;
  p += g_snprintf(p, MAX_LINE,
                  "%%%%MatrixMarket matrix coordinate %s general\n%" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                  " %" G_GINT64_FORMAT "\n",
                  pattern ? "pattern" : "real", m->nrows, m->ncols, m->nnz);
  for (int64_t i = 0; i < m->nrows; i++) {
    for (int64_t q = m->rowptr[i]; q < m->rowptr[i + 1]; q++) {
      p = put_uint(p, (guint64)i + 1);
      *p++ = ' ';
      p = put_uint(p, (guint64)m->col[q] + 1);
      if (!pattern) {
        *p++ = ' ';
        p = put_real(p, m->val[q]);
      }
      *p++ = '\n';
      if (p - buf >= CHUNK) {
        if (!sink_write(s, buf, (size_t)(p - buf), FALSE, error)) {
          g_free(buf);
          return FALSE;
        }
        p = buf;
      }
    }
  }
  gboolean ok = sink_write(s, buf, (size_t)(p - buf), TRUE, error);
  g_free(buf);
  return ok;
}

char *
fr_mtx_format(const FrCsr *m, gboolean pattern, size_t *len_out, GError **error)
{
  g_return_val_if_fail(m != NULL, NULL);
  if (!check_writable(m, "<matrix>", error))
    return NULL;
  Sink *s = g_new0(Sink, 1);
  s->mem = g_string_sized_new(64 + (gsize)m->nnz * (pattern ? 12 : 32));
  s->label = "<matrix>";
  emit(m, pattern, s, NULL); /* cannot fail in memory */
  if (len_out)
    *len_out = s->mem->len;
  char *text = g_string_free(s->mem, FALSE);
  g_free(s);
  return text;
}

gboolean
fr_mtx_save(const FrCsr *m, const char *path, gboolean pattern, GError **error)
{
  g_return_val_if_fail(m != NULL && path != NULL, FALSE);
  char *label = g_filename_display_name(path);
  if (!check_writable(m, label, error)) {
    g_free(label);
    return FALSE;
  }
  /* next to the target, so that the rename stays on one file system and is atomic */
  char *tmp = g_strconcat(path, ".XXXXXX", NULL);
  Sink *s = g_new0(Sink, 1);
  s->label = label;
  s->fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0666);
  gboolean ok = FALSE;
  if (s->fd < 0) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_IO, "%s: cannot create a temporary file: %s", label,
                g_strerror(errno));
    goto out;
  }
  if (g_str_has_suffix(path, ".gz"))
    s->gz = G_CONVERTER(g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1));
  ok = emit(m, pattern, s, error);
  /* fsync before the rename: otherwise a crash could leave an empty file under the final name */
  if (ok && fsync(s->fd) != 0) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_IO, "%s: fsync failed: %s", label, g_strerror(errno));
    ok = FALSE;
  }
  if (close(s->fd) != 0 && ok) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_IO, "%s: close failed: %s", label, g_strerror(errno));
    ok = FALSE;
  }
  if (ok && g_rename(tmp, path) != 0) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_IO, "%s: cannot rename the temporary file into place: %s",
                label, g_strerror(errno));
    ok = FALSE;
  }
  if (!ok)
    g_unlink(tmp);
out:
  if (s->gz)
    g_object_unref(s->gz);
  g_free(s);
  g_free(tmp);
  g_free(label);
  return ok;
}
