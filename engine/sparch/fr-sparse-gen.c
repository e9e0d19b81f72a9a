/* fr-sparse-gen.c: seeded synthetic sparse matrices (R-MAT, stencils, banded, uniform random).
 *
 * Generators that draw per candidate position (banded, uniform) skip ahead with geometrically
 * distributed gaps instead of testing every position, so their cost is proportional to the nonzeros
 * produced, not to the area they are drawn from. Rows are produced in order with sorted columns, so
 * the CSR arrays are filled directly; only R-MAT, whose edges land anywhere and repeat, goes through
 * fr_csr_from_coo. */
#include "fr-sparse-gen.h"

#include "fr-rng.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

/* rowptr alone is 8 bytes a row: 2^28 rows is 2 GB, beyond anything these experiments need */
#define GEN_MAX_DIM ((int64_t)1 << 28)

static gboolean
too_large(GError **error, const char *what, double nnz)
{
  g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE,
              "%s would have about %.0f nonzeros, more than the generator limit of %" G_GINT64_FORMAT, what, nnz,
              FR_SPARSE_GEN_MAX_NNZ);
  return FALSE;
}

static gboolean
dim_ok(GError **error, const char *what, int64_t n)
{
  if (n < 1) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID, "%s: size %" G_GINT64_FORMAT " must be at least 1",
                what, n);
    return FALSE;
  }
  if (n > GEN_MAX_DIM) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE,
                "%s: %" G_GINT64_FORMAT " rows or columns exceed the generator limit of 2^28", what, n);
    return FALSE;
  }
  return TRUE;
}

static gboolean
density_ok(GError **error, const char *what, double density)
{
  if (!(density >= 0.0 && density <= 1.0)) { /* also refuses NaN */
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID, "%s: density %g is not in [0, 1]", what, density);
    return FALSE;
  }
  return TRUE;
}

/* ---- argument checks (shared by the generators and fr_sparse_gen_describe) ----------------------- */

static gboolean
rmat_check(int64_t scale, double edge_factor, double a, double b, double c, GError **error)
{
  if (scale < 1 || scale > 28) {
    g_set_error(error, FR_SPARSE_ERROR, scale > 28 ? FR_SPARSE_ERROR_TOO_LARGE : FR_SPARSE_ERROR_INVALID,
                "rmat: scale %" G_GINT64_FORMAT " is not in 1..28 (2^28 nodes at most)", scale);
    return FALSE;
  }
  if (!(edge_factor > 0.0) || !isfinite(edge_factor)) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID, "rmat: edge factor %g must be positive",
                edge_factor);
    return FALSE;
  }
  if (!(a >= 0 && b >= 0 && c >= 0 && a + b + c <= 1.0 + 1e-12)) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID,
                "rmat: probabilities a=%g b=%g c=%g must be non-negative with a + b + c <= 1", a, b, c);
    return FALSE;
  }
  double edges = round(edge_factor * (double)((int64_t)1 << scale));
  if (edges > (double)FR_SPARSE_GEN_MAX_NNZ)
    return too_large(error, "rmat", edges);
  return TRUE;
}

static int64_t
stencil_nnz(int dim, int64_t n)
{
  return dim == 2 ? 5 * n * n - 4 * n : 7 * n * n * n - 6 * n * n;
}

static gboolean
stencil_check(int dim, int64_t n, GError **error)
{
  const char *what = dim == 2 ? "stencil2d" : "stencil3d";
  if (n < 1) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID, "%s: grid size %" G_GINT64_FORMAT " must be >= 1",
                what, n);
    return FALSE;
  }
  /* 7 * 1000^3 still fits in int64; larger n are refused before multiplying */
  if (n > (dim == 2 ? 100000 : 1000) || stencil_nnz(dim, n) > FR_SPARSE_GEN_MAX_NNZ)
    return too_large(error, what, dim == 2 ? 5.0 * (double)n * (double)n : 7.0 * pow((double)n, 3));
  return TRUE;
}

static double
banded_expected(int64_t n, int64_t band, double density)
{
  double w = (double)MIN(band, n - 1);
  double offdiag = 2.0 * (w * (double)n - w * (w + 1) / 2);
  return (double)n + density * offdiag;
}

static gboolean
banded_check(int64_t n, int64_t band, double density, GError **error)
{
  if (!dim_ok(error, "banded", n) || !density_ok(error, "banded", density))
    return FALSE;
  if (band < 0) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID, "banded: bandwidth %" G_GINT64_FORMAT " is negative",
                band);
    return FALSE;
  }
  double expect = banded_expected(n, band, density);
  if (expect > (double)FR_SPARSE_GEN_MAX_NNZ)
    return too_large(error, "banded", expect);
  return TRUE;
}

static gboolean
uniform_check(int64_t nrows, int64_t ncols, double density, GError **error)
{
  if (!dim_ok(error, "uniform", nrows) || !dim_ok(error, "uniform", ncols) || !density_ok(error, "uniform", density))
    return FALSE;
  double expect = (double)nrows * (double)ncols * density;
  if (expect > (double)FR_SPARSE_GEN_MAX_NNZ)
    return too_large(error, "uniform", expect);
  return TRUE;
}

/* ---- building rows in order -------------------------------------------------------------------- */

typedef struct {
  FrCsr *m;
  int64_t cap;
} Builder;

static FrCsr *
builder_start(Builder *bd, int64_t nrows, int64_t ncols, int64_t cap, GError **error)
{
  bd->cap = MAX(cap, 16);
  bd->m = fr_csr_new(nrows, ncols, 0, error);
  if (!bd->m)
    return NULL;
  bd->m->col = g_realloc(bd->m->col, (size_t)bd->cap * sizeof(int32_t));
  bd->m->val = g_realloc(bd->m->val, (size_t)bd->cap * sizeof(double));
  return bd->m;
}

static inline void
builder_push(Builder *bd, int64_t j, double v)
{
  FrCsr *m = bd->m;
  if (m->nnz == bd->cap) {
    bd->cap *= 2;
    m->col = g_realloc(m->col, (size_t)bd->cap * sizeof(int32_t));
    m->val = g_realloc(m->val, (size_t)bd->cap * sizeof(double));
  }
  m->col[m->nnz] = (int32_t)j;
  m->val[m->nnz] = v;
  m->nnz++;
}

static inline void
builder_end_row(Builder *bd, int64_t i)
{
  bd->m->rowptr[i + 1] = bd->m->nnz;
}

static FrCsr *
builder_finish(Builder *bd)
{
  FrCsr *m = bd->m;
  size_t n = (size_t)MAX(m->nnz, 1);
  m->col = g_realloc(m->col, n * sizeof(int32_t));
  m->val = g_realloc(m->val, n * sizeof(double));
  return m;
}

/* Values in (0, 1]: never an explicit zero. */
static inline double
value(FrRng *r)
{
  return 1.0 - fr_rng_uniform(r);
}

/* Failures before the next success of a Bernoulli(p) sequence, p in (0, 1); log1mp = log(1 - p). */
static inline int64_t
geometric_gap(FrRng *r, double log1mp)
{
  double g = floor(log1p(-fr_rng_uniform(r)) / log1mp);
  return g < 4e18 ? (int64_t)g : (int64_t)4e18;
}

/* ---- generators -------------------------------------------------------------------------------- */

FrCsr *
fr_sparse_gen_rmat(int scale, double edge_factor, double a, double b, double c, guint64 seed, GError **error)
{
  if (!rmat_check(scale, edge_factor, a, b, c, error))
    return NULL;
  int64_t n = (int64_t)1 << scale, m = (int64_t)round(edge_factor * (double)n);
  int64_t *rows = g_try_malloc((size_t)MAX(m, 1) * sizeof(int64_t));
  int64_t *cols = g_try_malloc((size_t)MAX(m, 1) * sizeof(int64_t));
  if (!rows || !cols) {
    g_free(rows);
    g_free(cols);
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE, "rmat: out of memory for %" G_GINT64_FORMAT " edges",
                m);
    return NULL;
  }
  FrRng r;
  fr_rng_seed(&r, seed);
  const double ab = a + b, abc = a + b + c;
  for (int64_t k = 0; k < m; k++) {
    int64_t i = 0, j = 0;
    for (int64_t bit = n >> 1; bit; bit >>= 1) {
      double u = fr_rng_uniform(&r);
      if (u >= abc) {
        i |= bit;
        j |= bit;
      } else if (u >= ab) {
        i |= bit;
      } else if (u >= a) {
        j |= bit;
      }
    }
    rows[k] = i;
    cols[k] = j;
  }
  FrCsr *res = fr_csr_from_coo(n, n, m, rows, cols, NULL, TRUE, error);
  g_free(rows);
  g_free(cols);
  if (res) /* merged, not summed: a graph edge is there or not */
    for (int64_t p = 0; p < res->nnz; p++)
      res->val[p] = 1.0;
  return res;
}

static FrCsr *
stencil(int dim, int64_t n, GError **error)
{
  if (!stencil_check(dim, n, error))
    return NULL;
  int64_t plane = n * n, N = dim == 2 ? plane : plane * n;
  Builder bd;
  if (!builder_start(&bd, N, N, stencil_nnz(dim, n), error))
    return NULL;
  const double diag = 2.0 * dim;
  for (int64_t idx = 0; idx < N; idx++) {
    int64_t x = idx % n, y = (idx / n) % n, z = idx / plane; /* x fastest */
    if (dim == 3 && z > 0)
      builder_push(&bd, idx - plane, -1.0);
    if (y > 0)
      builder_push(&bd, idx - n, -1.0);
    if (x > 0)
      builder_push(&bd, idx - 1, -1.0);
    builder_push(&bd, idx, diag);
    if (x < n - 1)
      builder_push(&bd, idx + 1, -1.0);
    if (y < n - 1)
      builder_push(&bd, idx + n, -1.0);
    if (dim == 3 && z < n - 1)
      builder_push(&bd, idx + plane, -1.0);
    builder_end_row(&bd, idx);
  }
  return builder_finish(&bd);
}

FrCsr *
fr_sparse_gen_stencil2d(int64_t n, GError **error)
{
  return stencil(2, n, error);
}

FrCsr *
fr_sparse_gen_stencil3d(int64_t n, GError **error)
{
  return stencil(3, n, error);
}

FrCsr *
fr_sparse_gen_banded(int64_t n, int64_t band, double density, guint64 seed, GError **error)
{
  if (!banded_check(n, band, density, error))
    return NULL;
  Builder bd;
  if (!builder_start(&bd, n, n, (int64_t)(banded_expected(n, band, density) * 1.01) + 64, error))
    return NULL;
  FrRng r;
  fr_rng_seed(&r, seed);
  const double log1mp = density < 1.0 ? log1p(-density) : 0.0;
  for (int64_t i = 0; i < n; i++) {
    int64_t lo = MAX(0, i - band), hi = MIN(n - 1, i + band);
    int64_t cand = hi - lo; /* off-diagonal positions, numbered 0..cand-1 left to right */
    gboolean diag_done = FALSE;
    for (int64_t t = -1; density > 0.0;) {
      t += 1 + (density < 1.0 ? geometric_gap(&r, log1mp) : 0);
      if (t >= cand)
        break;
      int64_t j = lo + t + (lo + t >= i);
      if (!diag_done && j > i) {
        builder_push(&bd, i, value(&r));
        diag_done = TRUE;
      }
      builder_push(&bd, j, value(&r));
    }
    if (!diag_done)
      builder_push(&bd, i, value(&r));
    builder_end_row(&bd, i);
  }
  return builder_finish(&bd);
}

FrCsr *
fr_sparse_gen_uniform(int64_t nrows, int64_t ncols, double density, guint64 seed, GError **error)
{
  if (!uniform_check(nrows, ncols, density, error))
    return NULL;
  double expect = (double)nrows * (double)ncols * density;
  Builder bd;
  if (!builder_start(&bd, nrows, ncols, (int64_t)(expect * 1.01) + 64, error))
    return NULL;
  FrRng r;
  fr_rng_seed(&r, seed);
  const double log1mp = density < 1.0 ? log1p(-density) : 0.0;
  for (int64_t i = 0; i < nrows; i++) {
    for (int64_t j = -1; density > 0.0;) {
      j += 1 + (density < 1.0 ? geometric_gap(&r, log1mp) : 0);
      if (j >= ncols)
        break;
      builder_push(&bd, j, value(&r));
    }
    builder_end_row(&bd, i);
  }
  return builder_finish(&bd);
}

/* ---- specs ------------------------------------------------------------------------------------- */

typedef enum { GEN_RMAT, GEN_STENCIL2D, GEN_STENCIL3D, GEN_BANDED, GEN_UNIFORM } GenKind;

typedef struct {
  GenKind kind;
  int64_t scale, n, band, rows, cols;
  double edges, a, b, c, density;
} GenSpec;

typedef struct {
  const char *name;
  gboolean is_int;
  gboolean required;
  size_t offset;
} GenParam;

#define P_INT(name, field, req) {name, TRUE, req, G_STRUCT_OFFSET(GenSpec, field)}
#define P_DBL(name, field, req) {name, FALSE, req, G_STRUCT_OFFSET(GenSpec, field)}

static const struct {
  const char *kind;
  GenKind id;
  GenParam params[6];
} gen_kinds[] = {
  {"rmat", GEN_RMAT, {P_INT("scale", scale, TRUE), P_DBL("edges", edges, FALSE), P_DBL("a", a, FALSE),
                      P_DBL("b", b, FALSE), P_DBL("c", c, FALSE)}},
  {"stencil2d", GEN_STENCIL2D, {P_INT("n", n, TRUE)}},
  {"stencil3d", GEN_STENCIL3D, {P_INT("n", n, TRUE)}},
  {"banded", GEN_BANDED, {P_INT("n", n, TRUE), P_INT("band", band, TRUE), P_DBL("density", density, FALSE)}},
  {"uniform", GEN_UNIFORM,
   {P_INT("n", n, FALSE), P_INT("rows", rows, FALSE), P_INT("cols", cols, FALSE), P_DBL("density", density, TRUE)}},
};

static gboolean
spec_error(GError **error, const char *spec, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static gboolean
spec_error(GError **error, const char *spec, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID, "bad generator spec '%s': %s", spec, msg);
  g_free(msg);
  return FALSE;
}

static gboolean
parse_spec(const char *spec, GenSpec *out, GError **error)
{
  *out = (GenSpec){.edges = 16, .a = 0.57, .b = 0.19, .c = 0.19, .density = 1.0, .n = -1, .rows = -1, .cols = -1};
  if (!spec)
    return spec_error(error, "(null)", "no spec");
  char *s = g_strstrip(g_strdup(spec));
  char *colon = strchr(s, ':');
  if (colon)
    *colon = '\0';
  gboolean ok = FALSE;
  guint seen = 0;
  int kind = -1;
  for (guint k = 0; k < G_N_ELEMENTS(gen_kinds); k++)
    if (g_ascii_strcasecmp(g_strstrip(s), gen_kinds[k].kind) == 0)
      kind = (int)k;
  if (kind < 0) {
    spec_error(error, spec, "unknown generator '%s' (expected rmat, stencil2d, stencil3d, banded or uniform)", s);
    goto out;
  }
  out->kind = gen_kinds[kind].id;
  const GenParam *params = gen_kinds[kind].params;
  char **items = g_strsplit(colon ? colon + 1 : "", ",", -1);
  for (char **it = items; *it; it++) {
    char *item = g_strstrip(*it);
    if (!*item) {
      if (it[1] || it != items) { /* "kind:" alone is fine; empty items between commas are not */
        spec_error(error, spec, "empty parameter");
        g_strfreev(items);
        goto out;
      }
      continue;
    }
    char *eq = strchr(item, '=');
    if (!eq) {
      spec_error(error, spec, "parameter '%s' has no value (expected key=value)", item);
      g_strfreev(items);
      goto out;
    }
    *eq = '\0';
    char *key = g_strstrip(item), *val = g_strstrip(eq + 1);
    int p = -1;
    for (int q = 0; q < 6 && params[q].name; q++)
      if (strcmp(key, params[q].name) == 0)
        p = q;
    if (p < 0) {
      GString *known = g_string_new(NULL);
      for (int q = 0; q < 6 && params[q].name; q++)
        g_string_append_printf(known, "%s%s", q ? ", " : "", params[q].name);
      spec_error(error, spec, "unknown parameter '%s' for %s (known: %s)", key, gen_kinds[kind].kind, known->str);
      g_string_free(known, TRUE);
      g_strfreev(items);
      goto out;
    }
    if (seen & (1u << p)) {
      spec_error(error, spec, "parameter '%s' given twice", key);
      g_strfreev(items);
      goto out;
    }
    seen |= 1u << p;
    char *end = NULL;
    if (params[p].is_int) {
      gint64 v = 0;
      if (!g_ascii_string_to_signed(val, 10, G_MININT64, G_MAXINT64, &v, NULL)) {
        spec_error(error, spec, "'%s' needs an integer, not '%s'", key, val);
        g_strfreev(items);
        goto out;
      }
      *(int64_t *)((char *)out + params[p].offset) = v;
    } else {
      double v = g_ascii_strtod(val, &end);
      if (!*val || *end || !isfinite(v)) {
        spec_error(error, spec, "'%s' needs a number, not '%s'", key, val);
        g_strfreev(items);
        goto out;
      }
      *(double *)((char *)out + params[p].offset) = v;
    }
  }
  g_strfreev(items);
  for (int q = 0; q < 6 && params[q].name; q++) {
    if (params[q].required && !(seen & (1u << q))) {
      spec_error(error, spec, "%s needs '%s='", gen_kinds[kind].kind, params[q].name);
      goto out;
    }
  }
  if (out->kind == GEN_UNIFORM) {
    gboolean has_n = (seen & 1) != 0, has_rc = (seen & 6) == 6; /* params 0: n, 1: rows, 2: cols */
    if (has_n ? (seen & 6) != 0 : !has_rc) {
      spec_error(error, spec, "uniform needs either n= or both rows= and cols=");
      goto out;
    }
    if (has_n)
      out->rows = out->cols = out->n;
  }
  ok = TRUE;
out:
  g_free(s);
  return ok;
}

static gboolean
spec_check(const GenSpec *g, GError **error)
{
  switch (g->kind) {
  case GEN_RMAT:
    return rmat_check(g->scale, g->edges, g->a, g->b, g->c, error);
  case GEN_STENCIL2D:
    return stencil_check(2, g->n, error);
  case GEN_STENCIL3D:
    return stencil_check(3, g->n, error);
  case GEN_BANDED:
    return banded_check(g->n, g->band, g->density, error);
  case GEN_UNIFORM:
  default:
    return uniform_check(g->rows, g->cols, g->density, error);
  }
}

FrCsr *
fr_sparse_generate(const char *spec, guint64 seed, GError **error)
{
  GenSpec g;
  if (!parse_spec(spec, &g, error) || !spec_check(&g, error))
    return NULL;
  switch (g.kind) {
  case GEN_RMAT:
    return fr_sparse_gen_rmat((int)g.scale, g.edges, g.a, g.b, g.c, seed, error);
  case GEN_STENCIL2D:
    return fr_sparse_gen_stencil2d(g.n, error);
  case GEN_STENCIL3D:
    return fr_sparse_gen_stencil3d(g.n, error);
  case GEN_BANDED:
    return fr_sparse_gen_banded(g.n, g.band, g.density, seed, error);
  case GEN_UNIFORM:
  default:
    return fr_sparse_gen_uniform(g.rows, g.cols, g.density, seed, error);
  }
}

/* 1234567 -> "1,234,567" */
static char *
grouped(double v)
{
  char *digits = g_strdup_printf("%.0f", v);
  GString *s = g_string_new(NULL);
  size_t n = strlen(digits);
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      g_string_append_c(s, ',');
    g_string_append_c(s, digits[i]);
  }
  g_free(digits);
  return g_string_free(s, FALSE);
}

const char *
fr_sparse_gen_describe(const char *spec)
{
  GenSpec g;
  if (!parse_spec(spec, &g, NULL) || !spec_check(&g, NULL))
    return NULL;
  char *d = NULL, *a = NULL, *b = NULL, *c = NULL;
  switch (g.kind) {
  case GEN_RMAT: {
    double n = ldexp(1.0, (int)g.scale);
    a = grouped(n);
    b = grouped(round(g.edges * n));
    d = g_strdup_printf("synthetic R-MAT power-law graph, 2^%d = %s nodes, %s edges drawn (duplicates merged), "
                        "a=%g b=%g c=%g d=%g",
                        (int)g.scale, a, b, g.a, g.b, g.c, fmax(0.0, 1.0 - g.a - g.b - g.c));
    break;
  }
  case GEN_STENCIL2D:
  case GEN_STENCIL3D: {
    int dim = g.kind == GEN_STENCIL2D ? 2 : 3;
    a = grouped(dim == 2 ? (double)(g.n * g.n) : (double)(g.n * g.n * g.n));
    b = grouped((double)stencil_nnz(dim, g.n));
    if (dim == 2)
      d = g_strdup_printf("synthetic 2D 5-point Laplacian, %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT
                          " grid (%s rows, %s nonzeros)",
                          g.n, g.n, a, b);
    else
      d = g_strdup_printf("synthetic 3D 7-point Laplacian, %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT
                          " x %" G_GINT64_FORMAT " grid (%s rows, %s nonzeros)",
                          g.n, g.n, g.n, a, b);
    break;
  }
  case GEN_BANDED:
    a = grouped((double)g.n);
    b = grouped(round(banded_expected(g.n, g.band, g.density)));
    d = g_strdup_printf("synthetic banded matrix, %s x %s, half-bandwidth %" G_GINT64_FORMAT
                        ", density %g in the band (~%s nonzeros)",
                        a, a, g.band, g.density, b);
    break;
  case GEN_UNIFORM:
  default:
    a = grouped((double)g.rows);
    c = grouped((double)g.cols);
    b = grouped(round((double)g.rows * (double)g.cols * g.density));
    d = g_strdup_printf("synthetic uniform random matrix, %s x %s, density %g (~%s nonzeros)", a, c, g.density, b);
    break;
  }
  const char *interned = g_intern_string(d);
  g_free(a);
  g_free(b);
  g_free(c);
  g_free(d);
  return interned;
}
