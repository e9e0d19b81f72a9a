/* fr-apq-bitfusion.c: BitFusion costs of APQ specs from APQ's lookup table, and an analytic model
 * fitted to that table. */
#include "fr-apq-bitfusion.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- layer shapes ----------------------------------------------------------------------------- */

int fr_apq_conv_out_hw(const FrApqConvShape *c) {
  return (c->in_hw + 2 * c->padding - c->kernel) / c->stride + 1;
}

double fr_apq_conv_macs(const FrApqConvShape *c) {
  double oh = fr_apq_conv_out_hw(c);
  return (double)c->cout * (c->cin / c->groups) * c->kernel * c->kernel * oh * oh;
}

static FrApqConvShape conv_shape(int cin, int cout, int in_hw, int kernel, int stride, int groups) {
  return (FrApqConvShape){ cin, cout, in_hw, kernel, stride, kernel / 2, groups };
}

void fr_apq_block_layers(const FrApqSpace *s, const FrApqSpec *spec, int b, FrApqConvShape shape[3],
                         int w_bits[3], int a_bits[3]) {
  const FrApqBlock *bl = &s->blocks[b];
  int mid = spec->mid[b], ks = spec->ks[b];
  shape[FR_APQ_LAYER_EXPAND] = conv_shape(bl->cin, mid, bl->in_hw, 1, 1, 1);
  shape[FR_APQ_LAYER_DEPTHWISE] = conv_shape(mid, mid, bl->in_hw, ks, bl->stride, mid);
  /* APQ keys the projection at in_hw // stride; out_hw is the real size and the same for every
   * even input size (all of APQ's). */
  shape[FR_APQ_LAYER_PROJECT] = conv_shape(mid, bl->cout, bl->out_hw, 1, 1, 1);
  for (int l = 0; l < 3; l++) {
    FrApqQGroup wq = l == FR_APQ_LAYER_DEPTHWISE ? FR_APQ_DW_W : FR_APQ_PW_W;
    FrApqQGroup aq = l == FR_APQ_LAYER_DEPTHWISE ? FR_APQ_DW_A : FR_APQ_PW_A;
    w_bits[l] = spec->quantized ? spec->bits[wq][b] : 32;
    a_bits[l] = spec->quantized ? spec->bits[aq][b] : 32;
  }
}

static const char *const role_names[] = { "expand", "depthwise", "project" };

/* Both pricings: check the spec, then walk the active blocks' layers in APQ's order. */
typedef gboolean (*PriceFn)(const void *pricer, const FrApqConvShape *shape, int w, int a, FrApqHwCost *out,
                            GError **error);

static gboolean price_blocks(const void *pricer, PriceFn price, const FrApqSpace *s, const FrApqSpec *spec,
                             FrApqCostBreakdown *out, GError **error) {
  out->total.latency_ms = out->head.latency_ms + out->tail.latency_ms;
  out->total.energy_mj = out->head.energy_mj + out->tail.energy_mj;
  for (int b = 0; b < s->n_blocks; b++) {
    if (!fr_apq_block_active(s, spec, b)) continue;
    FrApqConvShape shape[3];
    int w[3], a[3];
    fr_apq_block_layers(s, spec, b, shape, w, a);
    for (int l = 0; l < 3; l++) {
      FrApqLayerCost *lc = &out->layers[out->n_layers++];
      *lc = (FrApqLayerCost){ .block = b, .role = (FrApqLayerRole)l, .shape = shape[l], .w_bits = w[l], .a_bits = a[l] };
      lc->macs = fr_apq_conv_macs(&shape[l]);
      lc->bitops = lc->macs * w[l] * a[l];
      if (!price(pricer, &shape[l], w[l], a[l], &lc->cost, error)) {
        g_prefix_error(error, "block %d %s layer: ", b, role_names[l]);
        return FALSE;
      }
      out->total.latency_ms += lc->cost.latency_ms;
      out->total.energy_mj += lc->cost.energy_mj;
      out->macs += lc->macs;
      out->bitops += lc->bitops;
    }
  }
  return TRUE;
}

static gboolean check_spec(const FrApqSpace *s, const FrApqSpec *spec, GError **error) {
  if (!fr_apq_spec_validate(s, spec, error)) return FALSE;
  if (!spec->quantized) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                "BitFusion prices quantized layers only (up to 8 bits); this spec is full precision");
    return FALSE;
  }
  return TRUE;
}

/* ---- the lookup table ------------------------------------------------------------------------ */

typedef struct {
  FrApqConvShape shape;
  int w_bits, a_bits;
  FrApqHwCost cost;
  int line;
} LutRow;

struct _FrApqBitfusionLut {
  GArray *rows;         /* LutRow, file order */
  GHashTable *index;    /* LutRow* (key fields) -> the same LutRow* */
  FrApqHwCost head, tail;
};

static guint row_hash(gconstpointer p) {
  const LutRow *r = p;
  int v[9] = { r->shape.cin, r->shape.cout, r->shape.in_hw, r->shape.kernel, r->shape.stride,
               r->shape.padding, r->shape.groups, r->w_bits, r->a_bits };
  guint h = 2166136261u;
  for (int i = 0; i < 9; i++) h = (h ^ (guint)v[i]) * 16777619u;
  return h;
}

static gboolean row_equal(gconstpointer pa, gconstpointer pb) {
  const LutRow *a = pa, *b = pb;
  return !memcmp(&a->shape, &b->shape, sizeof a->shape) && a->w_bits == b->w_bits && a->a_bits == b->a_bits;
}

/* The file's lines without the final newline; a trailing '\r' is dropped from each line. */
static char **read_lines(const char *path, GError **error) {
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, error)) return NULL;
  size_t len = strlen(text);
  if (len > 0 && text[len - 1] == '\n') text[len - 1] = '\0';
  char **lines = g_strsplit(text, "\n", -1);
  for (int i = 0; lines[i]; i++) {
    size_t n = strlen(lines[i]);
    if (n > 0 && lines[i][n - 1] == '\r') lines[i][n - 1] = '\0';
  }
  return lines;
}

typedef struct {
  const char *path;
  int line;
} Where;

static gboolean parse_int_field(const Where *at, const char *name, const char *text, int lo, int hi, int *out,
                                GError **error) {
  gint64 v;
  if (!g_ascii_string_to_signed(text, 10, lo, hi, &v, NULL)) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: %s \"%s\" is not an integer in %d..%d", at->path,
                at->line, name, text, lo, hi);
    return FALSE;
  }
  *out = (int)v;
  return TRUE;
}

static gboolean parse_cost_field(const Where *at, const char *name, const char *text, double *out, GError **error) {
  char *end = NULL;
  double v = g_ascii_strtod(text, &end);
  if (!*text || end == text || *end || !isfinite(v) || v < 0) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: %s \"%s\" is not a finite number >= 0", at->path,
                at->line, name, text);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

static const char *const lut_columns[] = { "cin", "cout", "in_hw", "kernel", "stride", "padding", "groups",
                                           "w_bits", "a_bits", "latency_ms", "energy_mj" };

static gboolean parse_lut_row(const Where *at, char **f, LutRow *r, GError **error) {
  int v[9];
  /* lower bounds: channels, size, kernel, stride >= 1; padding >= 0; groups >= 1; bits 1..32 */
  static const int lo[9] = { 1, 1, 1, 1, 1, 0, 1, 1, 1 };
  static const int hi[9] = { 1 << 20, 1 << 20, 1 << 16, 64, 64, 64, 1 << 20, 32, 32 };
  for (int i = 0; i < 9; i++)
    if (!parse_int_field(at, lut_columns[i], f[i], lo[i], hi[i], &v[i], error)) return FALSE;
  *r = (LutRow){ .shape = { v[0], v[1], v[2], v[3], v[4], v[5], v[6] }, .w_bits = v[7], .a_bits = v[8], .line = at->line };
  if (r->shape.cin % r->shape.groups || r->shape.cout % r->shape.groups || fr_apq_conv_out_hw(&r->shape) < 1) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE,
                "%s:%d: not a valid conv layer (groups must divide cin and cout; the output must be non-empty)",
                at->path, at->line);
    return FALSE;
  }
  return parse_cost_field(at, lut_columns[9], f[9], &r->cost.latency_ms, error) &&
         parse_cost_field(at, lut_columns[10], f[10], &r->cost.energy_mj, error);
}

/* Checks the header line and each row's field count; calls row() for each data line. */
static gboolean parse_csv(const char *path, const char *header, int n_fields,
                          gboolean (*row)(const Where *, char **, gpointer, GError **), gpointer data,
                          GError **error) {
  g_auto(GStrv) lines = read_lines(path, error);
  if (!lines) return FALSE;
  if (!lines[0] || strcmp(lines[0], header) != 0) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:1: expected the header \"%s\"", path, header);
    return FALSE;
  }
  for (int i = 1; lines[i]; i++) {
    Where at = { path, i + 1 };
    if (!*lines[i]) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: empty line", path, at.line);
      return FALSE;
    }
    g_auto(GStrv) f = g_strsplit(lines[i], ",", -1);
    if ((int)g_strv_length(f) != n_fields) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: expected %d comma-separated fields, found %u",
                  path, at.line, n_fields, g_strv_length(f));
      return FALSE;
    }
    if (!row(&at, f, data, error)) return FALSE;
  }
  return TRUE;
}

static gboolean lut_row_cb(const Where *at, char **f, gpointer data, GError **error) {
  FrApqBitfusionLut *lut = data;
  LutRow r;
  if (!parse_lut_row(at, f, &r, error)) return FALSE;
  g_array_append_val(lut->rows, r);
  return TRUE;
}

typedef struct {
  FrApqBitfusionLut *lut;
  int head_line, tail_line;
} FixedParse;

static gboolean fixed_row_cb(const Where *at, char **f, gpointer data, GError **error) {
  FixedParse *fp = data;
  int *seen = !strcmp(f[0], "head") ? &fp->head_line : !strcmp(f[0], "tail") ? &fp->tail_line : NULL;
  if (!seen || *seen) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: part \"%s\" is %s", at->path, at->line, f[0],
                seen ? "given twice" : "not head or tail");
    return FALSE;
  }
  *seen = at->line;
  FrApqHwCost *c = seen == &fp->head_line ? &fp->lut->head : &fp->lut->tail;
  return parse_cost_field(at, "latency_ms", f[1], &c->latency_ms, error) &&
         parse_cost_field(at, "energy_mj", f[2], &c->energy_mj, error);
}

static gboolean index_rows(FrApqBitfusionLut *lut, const char *path, GError **error) {
  for (guint i = 0; i < lut->rows->len; i++) {
    LutRow *r = &g_array_index(lut->rows, LutRow, i);
    LutRow *old = g_hash_table_lookup(lut->index, r);
    if (old) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: repeats the layer and bits of line %d", path,
                  r->line, old->line);
      return FALSE;
    }
    g_hash_table_add(lut->index, r);
  }
  return TRUE;
}

FrApqBitfusionLut *fr_apq_bitfusion_lut_load(const char *lut_csv, const char *fixed_csv, GError **error) {
  FrApqBitfusionLut *lut = g_new0(FrApqBitfusionLut, 1);
  lut->rows = g_array_new(FALSE, FALSE, sizeof(LutRow));
  lut->index = g_hash_table_new(row_hash, row_equal);
  g_autofree char *header = g_strjoinv(",", (char **)lut_columns);
  FixedParse fp = { lut, 0, 0 };
  gboolean ok = parse_csv(lut_csv, header, G_N_ELEMENTS(lut_columns), lut_row_cb, lut, error) &&
                index_rows(lut, lut_csv, error) &&
                parse_csv(fixed_csv, "part,latency_ms,energy_mj", 3, fixed_row_cb, &fp, error);
  if (ok && lut->rows->len == 0) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s: no rows", lut_csv);
    ok = FALSE;
  }
  if (ok && (!fp.head_line || !fp.tail_line)) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s: no \"%s\" row", fixed_csv, fp.head_line ? "tail" : "head");
    ok = FALSE;
  }
  if (!ok) g_clear_pointer(&lut, fr_apq_bitfusion_lut_free);
  return lut;
}

FrApqBitfusionLut *fr_apq_bitfusion_lut_load_dir(const char *dir, GError **error) {
  g_autofree char *lut = g_build_filename(dir, "bitfusion_lut_b1.csv", NULL);
  g_autofree char *fixed = g_build_filename(dir, "bitfusion_lut_b1_fixed.csv", NULL);
  return fr_apq_bitfusion_lut_load(lut, fixed, error);
}

void fr_apq_bitfusion_lut_free(FrApqBitfusionLut *lut) {
  if (!lut) return;
  g_hash_table_unref(lut->index);
  g_array_unref(lut->rows);
  g_free(lut);
}

int fr_apq_bitfusion_lut_size(const FrApqBitfusionLut *lut) { return (int)lut->rows->len; }

void fr_apq_bitfusion_lut_row(const FrApqBitfusionLut *lut, int i, FrApqConvShape *shape, int *w_bits,
                              int *a_bits, FrApqHwCost *cost) {
  g_return_if_fail(i >= 0 && (guint)i < lut->rows->len);
  const LutRow *r = &g_array_index(lut->rows, LutRow, i);
  if (shape) *shape = r->shape;
  if (w_bits) *w_bits = r->w_bits;
  if (a_bits) *a_bits = r->a_bits;
  if (cost) *cost = r->cost;
}

FrApqHwCost fr_apq_bitfusion_lut_head(const FrApqBitfusionLut *lut) { return lut->head; }
FrApqHwCost fr_apq_bitfusion_lut_tail(const FrApqBitfusionLut *lut) { return lut->tail; }

gboolean fr_apq_bitfusion_lut_lookup(const FrApqBitfusionLut *lut, const FrApqConvShape *shape, int w_bits,
                                     int a_bits, FrApqHwCost *out, GError **error) {
  LutRow key = { .shape = *shape, .w_bits = w_bits, .a_bits = a_bits };
  const LutRow *r = g_hash_table_lookup(lut->index, &key);
  if (!r) {
    /* APQ's own key string, so the entry can be searched for in BitFusion_new.b1.dict */
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                "no BitFusion LUT entry for \"(%d, %d, %d, %d, %d, %d, %d)-W%dA%d\" "
                "(cin, cout, in_hw, kernel, stride, padding, groups)",
                shape->cin, shape->cout, shape->in_hw, shape->kernel, shape->stride, shape->padding, shape->groups,
                w_bits, a_bits);
    return FALSE;
  }
  *out = r->cost;
  return TRUE;
}

static gboolean lut_price(const void *pricer, const FrApqConvShape *shape, int w, int a, FrApqHwCost *out,
                          GError **error) {
  return fr_apq_bitfusion_lut_lookup(pricer, shape, w, a, out, error);
}

gboolean fr_apq_bitfusion_spec_breakdown(const FrApqBitfusionLut *lut, const FrApqSpace *s,
                                         const FrApqSpec *spec, FrApqCostBreakdown *out, GError **error) {
  memset(out, 0, sizeof *out);
  if (!check_spec(s, spec, error)) return FALSE;
  out->head = lut->head;
  out->tail = lut->tail;
  return price_blocks(lut, lut_price, s, spec, out, error);
}

gboolean fr_apq_bitfusion_spec_cost(const FrApqBitfusionLut *lut, const FrApqSpace *s, const FrApqSpec *spec,
                                    FrApqHwCost *out, GError **error) {
  FrApqCostBreakdown *bd = g_new(FrApqCostBreakdown, 1);
  gboolean ok = fr_apq_bitfusion_spec_breakdown(lut, s, spec, bd, error);
  if (ok) *out = bd->total;
  g_free(bd);
  return ok;
}

/* ---- the analytic model -----------------------------------------------------------------------
 *
 * What the table shows (data/apq/bitfusion, 779 shapes x bits): a depthwise layer's latency at 8/8
 * bits is almost exactly proportional to its MACs (about 250 ns per MAC, a little more at 7x7), and
 * halves from 8 to 4 bits in either operand, but 6 bits costs as much as 8: BitFusion multiplies with
 * 2-bit "BitBricks", 16 to a fusion unit, so a unit does floor(16 / (ceil(w/2) * ceil(a/2))) MACs per
 * cycle (4x4: 4, 4x6 and 4x8: 2, 6x6 to 8x8: 1). Pointwise layers are mostly memory-bound: latency
 * grows linearly in the output size (written at full width), the input at a bits and the weights at
 * w bits. On top of that the simulator's tiling adds steps (e.g. a 1x1 layer at 7x7 jumps by a third
 * once its weights no longer fit a buffer) that no smooth model follows.
 *
 * Model: for each layer class (dense convs; depthwise by kernel 3/5/7 and stride 1/2: 7 classes),
 * cost = sum_j c_j f_j with 14 features f_j >= 0 that are non-decreasing in every size and bitwidth:
 *   1, MACs x cycles-per-MAC (the brick rule above), MACs, MACs x w x a, output elements, output
 *   elements x a, input elements, input elements x a, input elements x brick width of a,
 *   parameters, parameters x w, parameters x brick width of w, output rows (cout x out_hw), input
 *   channel rows (cin x out_hw).
 * The c_j are fitted by non-negative least squares on relative error (each row weighted by 1/cost),
 * separately for latency and energy. Non-negative weights on non-decreasing features keep every
 * prediction positive and make more bits, channels or pixels never cheaper, also far outside the
 * table (fmnist-mini's layers are ~50x smaller than any LUT layer), which an unconstrained or
 * log-space fit does not. Held-out accuracy is in FrApqModelFitStats (docs/APQ.md has the numbers). */

enum { N_FEAT = 14, N_CLASS = 7 };

static const char *const feat_names[N_FEAT] = {
  "1", "macs*cycles_per_mac", "macs", "macs*w*a", "out", "out*a", "in", "in*a", "in*brick_a",
  "params", "params*w", "params*brick_w", "cout*out_hw", "cin*out_hw",
};
static const char *const class_names[N_CLASS] = {
  "dense", "dw k3 s1", "dw k5 s1", "dw k7 s1", "dw k3 s2", "dw k5 s2", "dw k7 s2",
};

struct _FrApqBitfusionModel {
  double lat[N_CLASS][N_FEAT], energy[N_CLASS][N_FEAT];
  gboolean fitted[N_CLASS];
};

/* -1 with a GError for a layer outside the model's classes. */
static int layer_class(const FrApqConvShape *c, GError **error) {
  if (c->cin < 1 || c->cout < 1 || c->in_hw < 1 || c->kernel < 1 || c->stride < 1 || c->padding < 0 ||
      c->groups < 1 || fr_apq_conv_out_hw(c) < 1) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC, "not a valid conv layer (cin %d, cout %d, in_hw %d, "
                "kernel %d, stride %d, padding %d, groups %d)", c->cin, c->cout, c->in_hw, c->kernel, c->stride,
                c->padding, c->groups);
    return -1;
  }
  if (c->groups == 1) return 0;
  if (c->groups == c->cin && c->cin == c->cout && (c->kernel == 3 || c->kernel == 5 || c->kernel == 7) &&
      (c->stride == 1 || c->stride == 2))
    return 1 + (c->kernel - 3) / 2 + 3 * (c->stride - 1);
  g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
              "the BitFusion model prices dense convs and depthwise convs with kernel 3/5/7 and stride 1/2; "
              "not kernel %d, stride %d, groups %d of %d channels", c->kernel, c->stride, c->groups, c->cin);
  return -1;
}

static int bricks(int bits) { return (bits + 1) / 2; }
static int brick_width(int bits) { return bits <= 2 ? 2 : bits <= 4 ? 4 : 8; }   /* bricks fuse in powers of 2 */

static void layer_features(const FrApqConvShape *c, int w, int a, double f[N_FEAT]) {
  double oh = fr_apq_conv_out_hw(c), macs = fr_apq_conv_macs(c);
  double in = (double)c->cin * c->in_hw * c->in_hw, out = (double)c->cout * oh * oh;
  double params = (double)c->cout * (c->cin / c->groups) * c->kernel * c->kernel;
  double cycles_per_mac = 1.0 / (16 / (bricks(w) * bricks(a)));
  double v[N_FEAT] = { 1, macs * cycles_per_mac, macs, macs * w * a, out, out * a, in, in * a, in * brick_width(a),
                       params, params * w, params * brick_width(w), (double)c->cout * oh, (double)c->cin * oh };
  memcpy(f, v, sizeof v);
}

/* Solves min ||A z - b|| for the n columns A (column-major, m rows, destroyed) by Householder QR;
 * columns whose pivot is negligible get z = 0 (they add nothing the others do not). */
static void least_squares(double *A, double *b, int m, int n, double *z) {
  double rmax = 0;
  for (int j = 0; j < n; j++) {
    double *col = A + (size_t)j * m, norm = 0;
    for (int i = j; i < m; i++) norm += col[i] * col[i];
    norm = sqrt(norm);
    double alpha = col[j] > 0 ? -norm : norm;
    double v0 = col[j] - alpha, vnorm2 = norm * norm - col[j] * col[j] + v0 * v0;
    col[j] = v0;
    if (vnorm2 > 0) {
      for (int k = j + 1; k < n; k++) {   /* apply I - 2vv'/v'v to the remaining columns and b */
        double *ck = A + (size_t)k * m, dot = 0;
        for (int i = j; i < m; i++) dot += col[i] * ck[i];
        dot *= 2 / vnorm2;
        for (int i = j; i < m; i++) ck[i] -= dot * col[i];
      }
      double dot = 0;
      for (int i = j; i < m; i++) dot += col[i] * b[i];
      dot *= 2 / vnorm2;
      for (int i = j; i < m; i++) b[i] -= dot * col[i];
    }
    col[j] = alpha;   /* R's diagonal */
    rmax = MAX(rmax, fabs(alpha));
  }
  for (int j = n - 1; j >= 0; j--) {
    double r = A[(size_t)j * m + j], sum = b[j];
    if (fabs(r) <= 1e-12 * rmax) {
      z[j] = 0;
      continue;
    }
    for (int k = j + 1; k < n; k++) sum -= A[(size_t)k * m + j] * z[k];
    z[j] = sum / r;
  }
}

/* Lawson-Hanson non-negative least squares: min ||X c - y||, c >= 0. X is m x n row-major. */
static void nnls(const double *X, const double *y, int m, int n, double *c) {
  gboolean passive[N_FEAT] = { FALSE };
  double grad[N_FEAT], z[N_FEAT], sub_z[N_FEAT];
  double *A = g_new(double, (size_t)m * n), *b = g_new(double, m), *res = g_new(double, m);
  double norm1 = 0;   /* the largest column sum of |X|: gradients below tol are rounding noise */
  for (int j = 0; j < n; j++) {
    double sum = 0;
    for (int i = 0; i < m; i++) sum += fabs(X[(size_t)i * n + j]);
    norm1 = MAX(norm1, sum);
  }
  double tol = 10 * DBL_EPSILON * MAX(m, n) * norm1;
  memset(c, 0, sizeof(double) * n);
  for (int outer = 0; outer < 3 * n; outer++) {
    for (int i = 0; i < m; i++) {   /* gradient of -1/2 ||X c - y||^2 */
      res[i] = y[i];
      for (int j = 0; j < n; j++) res[i] -= X[(size_t)i * n + j] * c[j];
    }
    int best = -1;
    for (int j = 0; j < n; j++) {
      grad[j] = 0;
      for (int i = 0; i < m; i++) grad[j] += X[(size_t)i * n + j] * res[i];
      if (!passive[j] && grad[j] > tol && (best < 0 || grad[j] > grad[best])) best = j;
    }
    if (best < 0) break;
    passive[best] = TRUE;
    for (int inner = 0; inner < 3 * n; inner++) {
      int cols[N_FEAT], np = 0;
      for (int j = 0; j < n; j++)
        if (passive[j]) cols[np++] = j;
      for (int k = 0; k < np; k++)
        for (int i = 0; i < m; i++) A[(size_t)k * m + i] = X[(size_t)i * n + cols[k]];
      memcpy(b, y, sizeof(double) * m);
      least_squares(A, b, m, np, sub_z);
      memset(z, 0, sizeof z);
      gboolean feasible = TRUE;
      for (int k = 0; k < np; k++) {
        z[cols[k]] = sub_z[k];
        feasible = feasible && sub_z[k] > 0;
      }
      if (feasible) {
        memcpy(c, z, sizeof(double) * n);
        break;
      }
      /* step from c towards z as far as c stays >= 0, and drop the columns that reach 0 */
      double alpha = 1;
      int stop = -1;
      for (int j = 0; j < n; j++)
        if (passive[j] && z[j] <= 0 && c[j] / (c[j] - z[j]) < alpha) alpha = c[j] / (c[j] - z[j]), stop = j;
      for (int j = 0; j < n; j++) {
        c[j] += alpha * (z[j] - c[j]);
        if (passive[j] && (j == stop || c[j] <= 0)) passive[j] = FALSE, c[j] = 0;
      }
    }
  }
  g_free(A);
  g_free(b);
  g_free(res);
}

typedef struct {
  int n;
  double *x;          /* n x N_FEAT features */
  double *lat, *en;   /* targets */
} ClassRows;

/* Fits one class and target: rows weighted by 1/target (relative error), columns scaled to unit norm
 * so the solver sees numbers of one magnitude. */
static void fit_target(const ClassRows *cr, const double *target, double coef[N_FEAT]) {
  double *X = g_new(double, (size_t)cr->n * N_FEAT), *y = g_new(double, cr->n), scale[N_FEAT] = { 0 };
  for (int i = 0; i < cr->n; i++) {
    for (int j = 0; j < N_FEAT; j++) {
      X[(size_t)i * N_FEAT + j] = cr->x[(size_t)i * N_FEAT + j] / target[i];
      scale[j] += X[(size_t)i * N_FEAT + j] * X[(size_t)i * N_FEAT + j];
    }
    y[i] = 1;
  }
  for (int j = 0; j < N_FEAT; j++) scale[j] = scale[j] > 0 ? sqrt(scale[j]) : 1;
  for (int i = 0; i < cr->n; i++)
    for (int j = 0; j < N_FEAT; j++) X[(size_t)i * N_FEAT + j] /= scale[j];
  nnls(X, y, cr->n, N_FEAT, coef);
  for (int j = 0; j < N_FEAT; j++) coef[j] /= scale[j];
  g_free(X);
  g_free(y);
}

static double dot(const double *a, const double *b) {
  double s = 0;
  for (int j = 0; j < N_FEAT; j++) s += a[j] * b[j];
  return s;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct {
  double sse, sum, sum2, worst;
  GArray *rel;
  int n;
} Accuracy;

static void accuracy_add(Accuracy *acc, double pred, double truth) {
  acc->sse += (pred - truth) * (pred - truth);
  acc->sum += truth;
  acc->sum2 += truth * truth;
  double rel = fabs(pred / truth - 1);
  acc->worst = MAX(acc->worst, rel);
  g_array_append_val(acc->rel, rel);
  acc->n++;
}

static void accuracy_finish(Accuracy *acc, double *r2, double *worst, double *median) {
  double sst = acc->sum2 - acc->sum * acc->sum / MAX(acc->n, 1);
  *r2 = sst > 0 ? 1 - acc->sse / sst : 0;
  *worst = acc->worst;
  g_array_sort(acc->rel, cmp_double);
  guint n = acc->rel->len;
  *median = n == 0 ? 0
          : n % 2 ? g_array_index(acc->rel, double, n / 2)
                  : 0.5 * (g_array_index(acc->rel, double, n / 2 - 1) + g_array_index(acc->rel, double, n / 2));
  g_array_unref(acc->rel);
}

FrApqBitfusionModel *fr_apq_bitfusion_model_fit(const FrApqBitfusionLut *lut, int holdout_every,
                                                FrApqModelFitStats *stats, GError **error) {
  if (holdout_every < 0 || holdout_every == 1) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "holdout_every must be 0 (none) or at least 2, not %d",
                holdout_every);
    return NULL;
  }
  int n = fr_apq_bitfusion_lut_size(lut);
  ClassRows cr[N_CLASS];
  for (int k = 0; k < N_CLASS; k++)
    cr[k] = (ClassRows){ 0, g_new(double, (size_t)n * N_FEAT), g_new(double, n), g_new(double, n) };
  gboolean ok = TRUE;
  int n_fit = 0;
  for (int i = 0; i < n && ok; i++) {
    if (holdout_every && i % holdout_every == holdout_every - 1) continue;
    const LutRow *r = &g_array_index(lut->rows, LutRow, i);
    int k = layer_class(&r->shape, NULL);
    if (k < 0 || r->w_bits > 8 || r->a_bits > 8 || r->cost.latency_ms <= 0 || r->cost.energy_mj <= 0)
      continue;   /* not a layer the model prices (none in APQ's table) */
    ClassRows *c = &cr[k];
    layer_features(&r->shape, r->w_bits, r->a_bits, c->x + (size_t)c->n * N_FEAT);
    c->lat[c->n] = r->cost.latency_ms;
    c->en[c->n] = r->cost.energy_mj;
    c->n++;
    n_fit++;
  }
  FrApqBitfusionModel *model = g_new0(FrApqBitfusionModel, 1);
  for (int k = 0; k < N_CLASS; k++) {
    /* a class needs more rows than features to say anything */
    model->fitted[k] = cr[k].n > N_FEAT;
    if (model->fitted[k]) {
      fit_target(&cr[k], cr[k].lat, model->lat[k]);
      fit_target(&cr[k], cr[k].en, model->energy[k]);
    }
    g_free(cr[k].x);
    g_free(cr[k].lat);
    g_free(cr[k].en);
  }
  if (n_fit == 0) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "the LUT has no rows the model can be fitted to");
    g_clear_pointer(&model, g_free);
    return NULL;
  }
  if (stats) {
    Accuracy al = { .rel = g_array_new(FALSE, FALSE, sizeof(double)) };
    Accuracy ae = { .rel = g_array_new(FALSE, FALSE, sizeof(double)) };
    for (int i = 0; i < n; i++) {
      gboolean held = holdout_every && i % holdout_every == holdout_every - 1;
      if (holdout_every && !held) continue;
      const LutRow *r = &g_array_index(lut->rows, LutRow, i);
      FrApqHwCost p;
      if (!fr_apq_bitfusion_model_predict(model, &r->shape, r->w_bits, r->a_bits, &p, NULL)) continue;
      accuracy_add(&al, p.latency_ms, r->cost.latency_ms);
      accuracy_add(&ae, p.energy_mj, r->cost.energy_mj);
    }
    *stats = (FrApqModelFitStats){ .n_fit = n_fit, .n_heldout = holdout_every ? al.n : 0 };
    accuracy_finish(&al, &stats->r2_latency, &stats->worst_rel_latency, &stats->median_rel_latency);
    accuracy_finish(&ae, &stats->r2_energy, &stats->worst_rel_energy, &stats->median_rel_energy);
  }
  return model;
}

void fr_apq_bitfusion_model_free(FrApqBitfusionModel *model) { g_free(model); }

gboolean fr_apq_bitfusion_model_predict(const FrApqBitfusionModel *model, const FrApqConvShape *shape,
                                        int w_bits, int a_bits, FrApqHwCost *out, GError **error) {
  int k = layer_class(shape, error);
  if (k < 0) return FALSE;
  if (w_bits < 1 || w_bits > 8 || a_bits < 1 || a_bits > 8) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC, "BitFusion runs 1..8-bit operands, not W%dA%d",
                w_bits, a_bits);
    return FALSE;
  }
  if (!model->fitted[k]) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC, "the model has no fit for %s layers (none in its LUT)",
                class_names[k]);
    return FALSE;
  }
  double f[N_FEAT];
  layer_features(shape, w_bits, a_bits, f);
  out->latency_ms = dot(model->lat[k], f);
  out->energy_mj = dot(model->energy[k], f);
  return TRUE;
}

static gboolean model_price(const void *pricer, const FrApqConvShape *shape, int w, int a, FrApqHwCost *out,
                            GError **error) {
  return fr_apq_bitfusion_model_predict(pricer, shape, w, a, out, error);
}

static gboolean price_fixed(const FrApqBitfusionModel *model, const FrApqConvShape *layers, int n, FrApqHwCost *sum,
                            GError **error) {
  *sum = (FrApqHwCost){ 0, 0 };
  for (int i = 0; i < n; i++) {
    FrApqHwCost c;
    if (!fr_apq_bitfusion_model_predict(model, &layers[i], 8, 8, &c, error)) return FALSE;
    sum->latency_ms += c.latency_ms;
    sum->energy_mj += c.energy_mj;
  }
  return TRUE;
}

int fr_apq_fixed_layers(const FrApqSpace *s, FrApqConvShape shapes[5], int *n_head) {
  int n = 0;
  shapes[n++] = conv_shape(s->in_channels, s->stem_channels, s->in_hw, s->stem_kernel, s->stem_stride, 1);
  int stem_hw = fr_apq_conv_out_hw(&shapes[0]);
  if (s->stem_block_channels > 0) {
    shapes[n++] = conv_shape(s->stem_channels, s->stem_channels, stem_hw, 3, 1, s->stem_channels);
    shapes[n++] = conv_shape(s->stem_channels, s->stem_block_channels, stem_hw, 1, 1, 1);
  }
  if (n_head) *n_head = n;
  const FrApqBlock *last = &s->blocks[s->n_blocks - 1];
  shapes[n++] = conv_shape(last->cout, s->head_channels, last->out_hw, 1, 1, 1);
  shapes[n++] = conv_shape(s->head_channels, s->n_classes, 1, 1, 1, 1);
  return n;
}

gboolean fr_apq_bitfusion_model_spec_breakdown(const FrApqBitfusionModel *model, const FrApqSpace *s,
                                               const FrApqSpec *spec, FrApqCostBreakdown *out, GError **error) {
  memset(out, 0, sizeof *out);
  if (!check_spec(s, spec, error)) return FALSE;
  FrApqConvShape fixed[5];
  int n_head, n_fixed = fr_apq_fixed_layers(s, fixed, &n_head);
  if (!price_fixed(model, fixed, n_head, &out->head, error) ||
      !price_fixed(model, fixed + n_head, n_fixed - n_head, &out->tail, error)) {
    g_prefix_error(error, "fixed layers: ");
    return FALSE;
  }
  return price_blocks(model, model_price, s, spec, out, error);
}

gboolean fr_apq_bitfusion_model_spec_cost(const FrApqBitfusionModel *model, const FrApqSpace *s,
                                          const FrApqSpec *spec, FrApqHwCost *out, GError **error) {
  FrApqCostBreakdown *bd = g_new(FrApqCostBreakdown, 1);
  gboolean ok = fr_apq_bitfusion_model_spec_breakdown(model, s, spec, bd, error);
  if (ok) *out = bd->total;
  g_free(bd);
  return ok;
}

char *fr_apq_bitfusion_model_describe(const FrApqBitfusionModel *model) {
  GString *str = g_string_new("class\tfeature\tlatency_ms_coef\tenergy_mj_coef\n");
  for (int k = 0; k < N_CLASS; k++) {
    if (!model->fitted[k]) continue;
    for (int j = 0; j < N_FEAT; j++)
      if (model->lat[k][j] != 0 || model->energy[k][j] != 0)
        g_string_append_printf(str, "%s\t%s\t%.6g\t%.6g\n", class_names[k], feat_names[j], model->lat[k][j],
                                model->energy[k][j]);
  }
  return g_string_free(str, FALSE);
}

/* ---- as cost tables --------------------------------------------------------------------------- */

typedef struct {
  const FrApqBitfusionLut *lut;       /* one of the two */
  const FrApqBitfusionModel *model;
} TablePricer;

/* The space's BitOps count of one block choice, as fr_apq_cost_table_new_counts has it (integers
 * below 2^53: exact in any order). */
static double block_bitops(const FrApqSpace *s, int b, int ks, int mid, int pw_w, int pw_a, int dw_w, int dw_a) {
  const FrApqBlock *bl = &s->blocks[b];
  double in2 = (double)bl->in_hw * bl->in_hw, out2 = (double)bl->out_hw * bl->out_hw, kk = (double)ks * ks;
  double expand = bl->cin * (double)mid * in2, dw = (double)mid * kk * out2, project = (double)mid * bl->cout * out2;
  return expand * pw_w * pw_a + dw * dw_w * dw_a + project * pw_w * pw_a;
}

static gboolean table_block(const FrApqSpace *s, int b, int ks, int mid, int pw_w, int pw_a, int dw_w, int dw_a,
                            double *c, void *user, GError **error) {
  const TablePricer *tp = user;
  c[2] = block_bitops(s, b, ks, mid, pw_w, pw_a, dw_w, dw_a);
  if (pw_w == 32) {   /* BitFusion runs 1..8-bit operands only */
    c[0] = c[1] = INFINITY;
    return TRUE;
  }
  FrApqSpec spec;
  memset(&spec, 0, sizeof spec);
  spec.quantized = true;
  spec.ks[b] = ks;
  spec.mid[b] = mid;
  spec.bits[FR_APQ_PW_W][b] = pw_w;
  spec.bits[FR_APQ_PW_A][b] = pw_a;
  spec.bits[FR_APQ_DW_W][b] = dw_w;
  spec.bits[FR_APQ_DW_A][b] = dw_a;
  FrApqConvShape shape[3];
  int w[3], a[3];
  fr_apq_block_layers(s, &spec, b, shape, w, a);
  c[0] = c[1] = 0;
  for (int l = 0; l < 3; l++) {
    FrApqHwCost hc;
    if (tp->lut && s->no_k7_dw_a4 && l == FR_APQ_LAYER_DEPTHWISE && ks == 7 && dw_a == 4) {
      c[0] = c[1] = INFINITY;   /* the space's rule: the LUT has no such layer */
      return TRUE;
    }
    gboolean ok = tp->lut ? fr_apq_bitfusion_lut_lookup(tp->lut, &shape[l], w[l], a[l], &hc, error)
                          : fr_apq_bitfusion_model_predict(tp->model, &shape[l], w[l], a[l], &hc, error);
    if (!ok) {
      g_prefix_error(error, "%s space, block %d %s layer (kernel %d, %d mid channels): ", s->name, b, role_names[l],
                     ks, mid);
      return FALSE;
    }
    c[0] += hc.latency_ms;
    c[1] += hc.energy_mj;
  }
  return TRUE;
}

static FrApqCostTable *bf_table(const TablePricer *tp, const FrApqSpace *s, FrApqHwCost head, FrApqHwCost tail,
                                GError **error) {
  FrApqCostTable *counts = fr_apq_cost_table_new_counts(s);
  const double fixed[3] = { head.latency_ms + tail.latency_ms, head.energy_mj + tail.energy_mj,
                            fr_apq_cost_table_fixed(counts)[1] };
  fr_apq_cost_table_unref(counts);
  const char *names[3] = { "latency_ms", "energy_mj", "bitops" }, *units[3] = { "ms", "mJ", "BitOps" };
  return fr_apq_cost_table_new(s, 3, names, units, fixed, table_block, (void *)tp, error);
}

FrApqCostTable *fr_apq_bitfusion_cost_table(const FrApqBitfusionLut *lut, const FrApqSpace *space, GError **error) {
  g_return_val_if_fail(lut && space, NULL);
  TablePricer tp = { .lut = lut };
  FrApqCostTable *t = bf_table(&tp, space, lut->head, lut->tail, error);
  if (!t) g_prefix_error(error, "the BitFusion LUT does not cover this space (it has APQ's ImageNet layers only): ");
  return t;
}

FrApqCostTable *fr_apq_bitfusion_model_cost_table(const FrApqBitfusionModel *model, const FrApqSpace *space,
                                                  GError **error) {
  g_return_val_if_fail(model && space, NULL);
  FrApqConvShape fixed[5];
  int n_head, n_fixed = fr_apq_fixed_layers(space, fixed, &n_head);
  FrApqHwCost head, tail;
  if (!price_fixed(model, fixed, n_head, &head, error) ||
      !price_fixed(model, fixed + n_head, n_fixed - n_head, &tail, error)) {
    g_prefix_error(error, "BitFusion model, fixed layers of the %s space: ", space->name);
    return NULL;
  }
  TablePricer tp = { .model = model };
  return bf_table(&tp, space, head, tail, error);
}
