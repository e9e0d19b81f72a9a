/* fr-apq-report.c: Pareto reports of an APQ search as PDF/SVG pages, CSV and JSON, each written
 * atomically through fr-report. */
#include "fr-apq-report.h"

#include "fr-apq-specjson.h"
#include "fr-config.h"
#include "fr-report.h"

#include <math.h>
#include <string.h>

#define PAGE_W 842.0        /* A4 landscape, points */
#define PAGE_H 595.0
#define MARGIN 36.0
#define TABLE_TOP_1 356.0   /* the table's top on the first page (below the plot) */
#define TABLE_TOP_N 64.0    /* on later pages */
#define PAGE_BOTTOM (PAGE_H - 40.0)
#define FONT "Sans"
#define MONO "Monospace"
#define TABLE_FONT 7.0
#define SPEC_FONT 6.5
#define LINE_H 8.6          /* a table text line */
#define ROW_PAD 3.0
#define MAX_PAGE_H 14400.0  /* the largest page fr_report_render draws */

static const char *const axis_names[3] = { "kernels and depths", "mid channels", "bits" };

/* ---- shared pieces ---------------------------------------------------------------------------- */

static const FrApqSpace *report_space(const FrApqReport *r) { return fr_apq_cost_table_space(r->table); }

static int n_obj(const FrApqReport *r) { return fr_apq_cost_table_n_objectives(r->table); }

static gboolean has_objective(const FrApqReport *r, const char *name) {
  return fr_apq_cost_table_find_objective(r->table, name) >= 0;
}

static char *default_title(const FrApqReport *r) {
  if (r->title) return g_strdup(r->title);
  return g_strdup_printf("APQ search: %s, %s", report_space(r)->name, r->cost_model ? r->cost_model : "costs");
}

static const char *mode_word(const FrApqSearchResult *res) {
  if (!res->has_accuracy) return "cost-only";
  return res->mode == FR_APQ_SEARCH_NSGA2 ? "nsga2" : "evolution";
}

static const char *mode_label(const FrApqSearchResult *res) {
  if (!res->has_accuracy) return "cost-only exploration (NSGA-II over the costs)";
  return res->mode == FR_APQ_SEARCH_NSGA2 ? "NSGA-II (whole front)" : "APQ evolution";
}

static char *date_now(void) {
  GDateTime *dt = g_date_time_new_now_local();
  char *s = g_date_time_format(dt, "%Y-%m-%d %H:%M %z");
  g_date_time_unref(dt);
  return s;
}

static gboolean is_count(const char *name) { return !strcmp(name, "bitops") || !strcmp(name, "macs"); }

/* A cost for people: counts in SI units, times and energies with 4 significant digits. */
static char *format_cost(const char *name, const char *unit, double v) {
  if (!isfinite(v)) return g_strdup(isnan(v) ? "-" : "inf");
  if (is_count(name)) return fr_report_format_si(v, "");
  return g_strdup_printf("%.4g%s%s", v, unit && *unit ? " " : "", unit ? unit : "");
}

static char *format_accuracy(double acc) {
  return isfinite(acc) ? g_strdup_printf("%.2f%%", 100 * acc) : g_strdup("-");
}

/* "5/96/8468 3/72/6688 | ...": per stage, each active block as kernel/mid channels/bits (pw_w pw_a
 * dw_w dw_a, one digit each when all are single digits). */
static char *compact_spec(const FrApqSpace *s, const FrApqSpec *spec) {
  GString *out = g_string_new(NULL);
  int stage = -1;
  for (int b = 0; b < s->n_blocks; b++) {
    if (!fr_apq_block_active(s, spec, b)) continue;
    if (s->blocks[b].stage != stage) {
      if (stage >= 0) g_string_append(out, " | ");
      stage = s->blocks[b].stage;
    } else {
      g_string_append_c(out, ' ');
    }
    g_string_append_printf(out, "%d/%d", spec->ks[b], spec->mid[b]);
    if (spec->quantized) {
      gboolean digits = TRUE;
      for (int q = 0; q < FR_APQ_N_QGROUPS; q++) digits &= spec->bits[q][b] < 10;
      g_string_append_c(out, '/');
      for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
        g_string_append_printf(out, "%s%d", q && !digits ? "." : "", spec->bits[q][b]);
    }
  }
  if (!spec->quantized) g_string_append(out, " (fp32)");
  return g_string_free(out, FALSE);
}

/* The bitops of a point: the table's objective when it has one, else the space's count. */
static double point_bitops(const FrApqReport *r, const FrApqSearchPoint *p) {
  int o = fr_apq_cost_table_find_objective(r->table, "bitops");
  return o >= 0 ? p->costs[o] : fr_apq_spec_bitops(report_space(r), &p->spec);
}

static const FrApqSearchResult *sequential_result(const FrApqReport *r) {
  return r->comparison && r->comparison->stages[2] ? r->comparison->stages[2] : NULL;
}

static gboolean check_report(const FrApqReport *r, GError **error) {
  if (!r || !r->table || !r->result || !r->config) {
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID, "APQ report: a table, a search config and a result are needed");
    return FALSE;
  }
  if (r->result->n_objectives != n_obj(r)) {
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID,
                "APQ report: the result has %d objectives but the cost table %d", r->result->n_objectives, n_obj(r));
    return FALSE;
  }
  if (r->n_others < 0 || (r->n_others > 0 && !r->others)) {
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID, "APQ report: bad list of other points");
    return FALSE;
  }
  return TRUE;
}

/* ---- JSON ------------------------------------------------------------------------------------- */

static void add_number(JsonBuilder *b, const char *key, double v) {
  json_builder_set_member_name(b, key);
  if (isfinite(v)) json_builder_add_double_value(b, v);
  else json_builder_add_null_value(b);
}

static void add_int(JsonBuilder *b, const char *key, gint64 v) {
  json_builder_set_member_name(b, key);
  json_builder_add_int_value(b, v);
}

static void add_string(JsonBuilder *b, const char *key, const char *v) {
  json_builder_set_member_name(b, key);
  if (v) json_builder_add_string_value(b, v);
  else json_builder_add_null_value(b);
}

static void add_point(JsonBuilder *b, const FrApqReport *r, const FrApqSearchPoint *p, int rank) {
  const FrApqSpace *s = report_space(r);
  json_builder_begin_object(b);
  if (rank > 0) add_int(b, "rank", rank);
  add_number(b, "accuracy", p->accuracy);
  json_builder_set_member_name(b, "costs");
  json_builder_begin_object(b);
  for (int o = 0; o < n_obj(r); o++) add_number(b, fr_apq_cost_table_objective_name(r->table, o), p->costs[o]);
  json_builder_end_object(b);
  add_number(b, "bitops", point_bitops(r, p));
  add_number(b, "macs", fr_apq_spec_macs(s, &p->spec));
  g_autofree char *text = fr_apq_spec_to_string(s, &p->spec);
  add_string(b, "spec", text);
  if (s == fr_apq_space_imagenet_bitfusion()) {
    json_builder_set_member_name(b, "spec_apq");
    json_builder_add_value(b, fr_apq_spec_to_apq_json(s, &p->spec));
  }
  json_builder_end_object(b);
}

static void add_result_summary(JsonBuilder *b, const FrApqReport *r, const FrApqSearchResult *res, const char *phase) {
  json_builder_begin_object(b);
  if (phase) add_string(b, "phase", phase);
  json_builder_set_member_name(b, "best");
  add_point(b, r, &res->best, 0);
  add_int(b, "front_size", res->n_front);
  add_int(b, "evaluations", (gint64)res->n_evaluations);
  add_number(b, "seconds", res->seconds);
  json_builder_end_object(b);
}

JsonNode *fr_apq_report_to_json(const FrApqReport *r) {
  g_return_val_if_fail(check_report(r, NULL), NULL);
  const FrApqSearchResult *res = r->result;
  const FrApqSearchConfig *cfg = r->config;
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  g_autofree char *title = default_title(r);
  add_string(b, "title", title);

  json_builder_set_member_name(b, "provenance");
  json_builder_begin_object(b);
  add_string(b, "space", report_space(r)->name);
  add_string(b, "cost_model", r->cost_model);
  add_string(b, "predictor", r->predictor);
  add_string(b, "frontier_version", FR_VERSION);
  g_autofree char *date = date_now();
  add_string(b, "date", date);
  json_builder_set_member_name(b, "objectives");
  json_builder_begin_array(b);
  for (int o = 0; o < n_obj(r); o++) {
    json_builder_begin_object(b);
    add_string(b, "name", fr_apq_cost_table_objective_name(r->table, o));
    add_string(b, "unit", fr_apq_cost_table_objective_unit(r->table, o));
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);

  json_builder_set_member_name(b, "settings");
  json_builder_begin_object(b);
  add_string(b, "mode", mode_word(res));
  add_int(b, "population", cfg->population);
  add_int(b, "parents", cfg->parents);
  add_int(b, "mutants", cfg->mutants);
  add_int(b, "crossovers", cfg->crossovers);
  add_number(b, "mutation_prob", cfg->mutation_prob);
  add_int(b, "generations", cfg->generations);
  add_int(b, "seed", (gint64)cfg->seed);
  json_builder_set_member_name(b, "axes");
  json_builder_begin_array(b);
  static const char *const axis_keys[3] = { "arch", "width", "bits" };
  for (int a = 0; a < 3; a++)
    if (cfg->axes & (1u << a)) json_builder_add_string_value(b, axis_keys[a]);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "budgets");
  json_builder_begin_object(b);
  for (int o = 0; o < n_obj(r); o++) add_number(b, fr_apq_cost_table_objective_name(r->table, o), cfg->budget[o]);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "memoize");
  json_builder_add_boolean_value(b, cfg->memoize);
  json_builder_end_object(b);

  json_builder_set_member_name(b, "search");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "complete");
  json_builder_add_boolean_value(b, res->complete);
  json_builder_set_member_name(b, "has_accuracy");
  json_builder_add_boolean_value(b, res->has_accuracy);
  add_int(b, "generations_done", res->generations_done);
  add_int(b, "evaluations", (gint64)res->n_evaluations);
  add_int(b, "predicted", (gint64)res->n_predicted);
  add_int(b, "rejected", (gint64)res->n_rejected);
  add_int(b, "fallbacks", (gint64)res->n_fallbacks);
  add_number(b, "seconds", res->seconds);
  json_builder_end_object(b);

  add_string(b, "note", res->note);
  json_builder_set_member_name(b, "best");
  add_point(b, r, &res->best, 0);
  json_builder_set_member_name(b, "front");
  json_builder_begin_array(b);
  for (int i = 0; i < res->n_front; i++) add_point(b, r, &res->front[i], i + 1);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "best_history");
  json_builder_begin_array(b);
  for (int g = 0; res->best_history && g <= res->generations_done; g++) {
    double v = res->best_history[g];
    if (isfinite(v)) json_builder_add_double_value(b, v);
    else json_builder_add_null_value(b);
  }
  json_builder_end_array(b);

  if (r->comparison) {
    const FrApqSearchComparison *c = r->comparison;
    json_builder_set_member_name(b, "comparison");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "joint");
    add_result_summary(b, r, c->joint ? c->joint : res, "joint");
    json_builder_set_member_name(b, "sequential");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "stages");
    json_builder_begin_array(b);
    static const char *const phases[3] = { "arch", "width", "bits" };
    for (int i = 0; i < 3; i++)
      if (c->stages[i]) add_result_summary(b, r, c->stages[i], phases[i]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "best");
    if (c->stages[2]) add_point(b, r, &c->stages[2]->best, 0);
    else json_builder_add_null_value(b);
    add_string(b, "error", c->sequential_error);
    json_builder_end_object(b);
    json_builder_end_object(b);
  }
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  g_object_unref(b);
  return root;
}

/* ---- CSV -------------------------------------------------------------------------------------- */

static void csv_rows(FrReportTable *t, const FrApqReport *r, const FrApqSearchResult *res, const char *search,
                     gboolean bitops_col, gboolean apq) {
  const FrApqSpace *s = report_space(r);
  const int no = n_obj(r);
  for (int i = 0; i < res->n_front; i++) {
    const FrApqSearchPoint *p = &res->front[i];
    guint row = fr_report_table_add_row(t), col = 0;
    fr_report_table_set_string(t, row, col++, search);
    fr_report_table_set_int(t, row, col++, i + 1);
    fr_report_table_set_double(t, row, col++, p->accuracy);
    for (int o = 0; o < no; o++) fr_report_table_set_double(t, row, col++, p->costs[o]);
    if (bitops_col) fr_report_table_set_double(t, row, col++, point_bitops(r, p));
    fr_report_table_set_double(t, row, col++, fr_apq_spec_macs(s, &p->spec));
    g_autofree char *text = fr_apq_spec_to_string(s, &p->spec);
    fr_report_table_set_string(t, row, col++, text);
    if (apq) {
      g_autofree char *json = fr_apq_spec_to_apq_json_string(s, &p->spec, FALSE);
      fr_report_table_set_string(t, row, col++, json);
    }
  }
}

static gboolean save_csv(const FrApqReport *r, const char *path, GError **error) {
  const FrApqSpace *s = report_space(r);
  gboolean bitops_col = !has_objective(r, "bitops"), macs_dup = has_objective(r, "macs");
  gboolean apq = s == fr_apq_space_imagenet_bitfusion();
  GPtrArray *cols = g_ptr_array_new();
  g_ptr_array_add(cols, (gpointer) "search");
  g_ptr_array_add(cols, (gpointer) "rank");
  g_ptr_array_add(cols, (gpointer) "accuracy");
  for (int o = 0; o < n_obj(r); o++) g_ptr_array_add(cols, (gpointer)fr_apq_cost_table_objective_name(r->table, o));
  if (bitops_col) g_ptr_array_add(cols, (gpointer) "bitops");
  g_ptr_array_add(cols, (gpointer)(macs_dup ? "macs_count" : "macs"));
  g_ptr_array_add(cols, (gpointer) "spec");
  if (apq) g_ptr_array_add(cols, (gpointer) "spec_apq");
  g_ptr_array_add(cols, NULL);
  FrReportTable *t = fr_report_table_new((const char *const *)cols->pdata);
  g_ptr_array_free(cols, TRUE);
  const FrApqSearchResult *seq = sequential_result(r);
  csv_rows(t, r, r->result, r->comparison ? "joint" : "search", bitops_col, apq);
  if (seq) csv_rows(t, r, seq, "sequential", bitops_col, apq);
  gboolean ok = fr_report_table_write_csv(t, path, error);
  fr_report_table_free(t);
  return ok;
}

/* ---- pages ------------------------------------------------------------------------------------ */

typedef struct {
  const FrApqSearchResult *res;
  const FrApqSearchPoint *p;
  int rank;
  const char *tag;           /* NULL, or "seq" for the sequential answer's rows */
  GPtrArray *spec_lines;
  double height;              /* the row itself */
  double extra;              /* a heading line drawn above it (the first sequential row) */
} Row;

typedef struct {
  const FrApqReport *r;
  gboolean paged;            /* PDF: pages; SVG/PNG: one page growing downwards */
  double height;             /* of the single page */
  GArray *rows;              /* Row */
  int *page_first;           /* first row on each page, n_pages + 1 entries */
  int n_pages;
  int n_cut;                 /* rows left out (a single page at its size limit) */
  /* table columns */
  int n_cols;
  double col_x[FR_APQ_COST_MAX_OBJECTIVES + 5], spec_x, spec_w;
  gboolean bitops_col;
} Layout;

static void set_font(cairo_t *cr, const char *family, double size, gboolean bold) {
  cairo_select_font_face(cr, family, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

static double text_w(cairo_t *cr, const char *text) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, text, &e);
  return e.x_advance;
}

/* Splits text into lines no wider than max_w at spaces (a longer word is cut). */
static GPtrArray *wrap(cairo_t *cr, const char *text, double max_w) {
  GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
  g_auto(GStrv) words = g_strsplit(text ? text : "", " ", -1);
  GString *cur = g_string_new(NULL);
  for (int i = 0; words[i]; i++) {
    if (!*words[i]) continue;
    GString *trial = g_string_new(cur->str);
    if (trial->len) g_string_append_c(trial, ' ');
    g_string_append(trial, words[i]);
    if (text_w(cr, trial->str) <= max_w || !cur->len) {
      g_string_assign(cur, trial->str);
    } else {
      g_ptr_array_add(lines, g_strdup(cur->str));
      g_string_assign(cur, words[i]);
    }
    g_string_free(trial, TRUE);
    while (text_w(cr, cur->str) > max_w && cur->len > 1) {   /* one word wider than a line */
      gsize cut = cur->len - 1;
      for (;;) {
        char *head = g_strndup(cur->str, cut);
        gboolean fits = text_w(cr, head) <= max_w;
        g_free(head);
        if (fits || cut <= 1) break;
        cut--;
      }
      while (cut > 1 && (cur->str[cut] & 0xC0) == 0x80) cut--;   /* not inside a UTF-8 character */
      g_ptr_array_add(lines, g_strndup(cur->str, cut));
      g_string_erase(cur, 0, (gssize)cut);
    }
  }
  if (cur->len || lines->len == 0) g_ptr_array_add(lines, g_strdup(cur->str));
  g_string_free(cur, TRUE);
  return lines;
}

static void layout_columns(Layout *L) {
  const FrApqReport *r = L->r;
  double x = MARGIN;
  int c = 0;
  L->col_x[c++] = x;   /* # */
  x += 26;
  L->col_x[c++] = x;   /* accuracy */
  x += 48;
  for (int o = 0; o < n_obj(r); o++) {
    L->col_x[c++] = x;
    x += 62;
  }
  L->bitops_col = !has_objective(r, "bitops");
  if (L->bitops_col) {
    L->col_x[c++] = x;
    x += 52;
  }
  L->n_cols = c;
  L->spec_x = x + 6;
  L->spec_w = PAGE_W - MARGIN - L->spec_x;
}

static void add_rows(Layout *L, cairo_t *cr, const FrApqSearchResult *res, const char *tag) {
  for (int i = 0; i < res->n_front; i++) {
    Row row = { res, &res->front[i], i + 1, tag, NULL, 0, tag && i == 0 ? LINE_H + ROW_PAD : 0 };
    g_autofree char *spec = compact_spec(report_space(L->r), &row.p->spec);
    row.spec_lines = wrap(cr, spec, 0.96 * L->spec_w);   /* slack: hinted image surfaces set text wider */
    row.height = row.spec_lines->len * LINE_H + ROW_PAD;
    g_array_append_val(L->rows, row);
  }
}

static Layout *layout_new(const FrApqReport *r, gboolean paged) {
  Layout *L = g_new0(Layout, 1);
  L->r = r;
  L->paged = paged;
  L->rows = g_array_new(FALSE, TRUE, sizeof(Row));
  layout_columns(L);
  /* measure on a scratch surface with unhinted metrics, as on PDF/SVG */
  cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create(scratch);
  cairo_font_options_t *fo = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_set_font_options(cr, fo);
  cairo_font_options_destroy(fo);
  set_font(cr, MONO, SPEC_FONT, FALSE);
  add_rows(L, cr, r->result, NULL);
  const FrApqSearchResult *seq = sequential_result(r);
  if (seq) add_rows(L, cr, seq, "seq");
  cairo_destroy(cr);
  cairo_surface_destroy(scratch);
  /* pages: the header row takes 2 lines, the legend under the table 2 */
  GArray *first = g_array_new(FALSE, FALSE, sizeof(int));
  int zero = 0;
  g_array_append_val(first, zero);
  double y = TABLE_TOP_1 + 2 * LINE_H, bottom = PAGE_BOTTOM - 2 * LINE_H;
  for (guint i = 0; i < L->rows->len; i++) {
    const Row *row = &g_array_index(L->rows, Row, i);
    double h = row->height + row->extra;
    /* a new page when the row does not fit, unless it is already alone on its page */
    if (paged && y + h > bottom && ((int)i > g_array_index(first, int, first->len - 1) || first->len == 1)) {
      int k = (int)i;
      g_array_append_val(first, k);
      y = TABLE_TOP_N + 2 * LINE_H;
    }
    y += h;
  }
  L->n_pages = (int)first->len;
  int end = (int)L->rows->len;
  if (!paged && y + 3 * LINE_H + 20 > MAX_PAGE_H) {   /* one page cannot grow further: cut, and say so */
    y = TABLE_TOP_1 + 2 * LINE_H;
    for (end = 0; end < (int)L->rows->len; end++) {
      const Row *row = &g_array_index(L->rows, Row, end);
      if (y + row->height + row->extra + 4 * LINE_H + 20 > MAX_PAGE_H) break;
      y += row->height + row->extra;
    }
    y += LINE_H;
  }
  L->n_cut = (int)L->rows->len - end;
  g_array_append_val(first, end);
  L->page_first = (int *)g_array_free(first, FALSE);
  L->height = paged ? PAGE_H : MIN(MAX_PAGE_H, MAX(PAGE_H, y + 3 * LINE_H + 20));
  return L;
}

static void layout_free(Layout *L) {
  for (guint i = 0; i < L->rows->len; i++) g_ptr_array_unref(g_array_index(L->rows, Row, i).spec_lines);
  g_array_unref(L->rows);
  g_free(L->page_first);
  g_free(L);
}

/* ---- the plot --------------------------------------------------------------------------------- */

typedef struct {
  double x0, y0, w, h;         /* plot area, user units */
  double xmin, xmax, ymin, ymax;
} Frame;

static double nice_step(double range, int target) {
  if (!(range > 0)) return 1;
  double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
  return mag * (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10);
}

static double px(const Frame *f, double x) { return f->x0 + (x - f->xmin) / (f->xmax - f->xmin) * f->w; }
static double py(const Frame *f, double y) { return f->y0 + f->h - (y - f->ymin) / (f->ymax - f->ymin) * f->h; }

typedef struct {
  int xo;           /* objective on x */
  int yo;           /* -1: accuracy (in %), else an objective */
} Axes;

static gboolean point_xy(const Axes *a, const FrApqSearchPoint *p, double *x, double *y) {
  *x = p->costs[a->xo];
  *y = a->yo < 0 ? 100 * p->accuracy : p->costs[a->yo];
  return isfinite(*x) && isfinite(*y);
}

static void extend(double *lo, double *hi, double v) {
  if (v < *lo) *lo = v;
  if (v > *hi) *hi = v;
}

static void marker(cairo_t *cr, double x, double y, double r, int shape) {
  switch (shape) {
  case 1:   /* square */
    cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r);
    break;
  case 2:   /* triangle */
    cairo_move_to(cr, x, y - 1.2 * r);
    cairo_line_to(cr, x + 1.1 * r, y + 0.8 * r);
    cairo_line_to(cr, x - 1.1 * r, y + 0.8 * r);
    cairo_close_path(cr);
    break;
  case 3:   /* diamond */
    cairo_move_to(cr, x, y - 1.3 * r);
    cairo_line_to(cr, x + 1.3 * r, y);
    cairo_line_to(cr, x, y + 1.3 * r);
    cairo_line_to(cr, x - 1.3 * r, y);
    cairo_close_path(cr);
    break;
  default:
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, r, 0, 2 * G_PI);
  }
}

static void set_rgb(cairo_t *cr, const double c[3]) { cairo_set_source_rgb(cr, c[0], c[1], c[2]); }

/* The front as a staircase through its points sorted by x (what is reachable at each cost). */
static int cmp_x(gconstpointer a, gconstpointer b) {
  const double *pa = a, *pb = b;
  return (pa[0] > pb[0]) - (pa[0] < pb[0]);
}

static void draw_front(cairo_t *cr, const Frame *f, const Axes *a, const FrApqSearchResult *res, const double rgb[3],
                       int shape, double radius) {
  GArray *pts = g_array_new(FALSE, FALSE, 2 * sizeof(double));
  for (int i = 0; i < res->n_front; i++) {
    double xy[2];
    if (point_xy(a, &res->front[i], &xy[0], &xy[1])) g_array_append_val(pts, xy);
  }
  g_array_sort(pts, cmp_x);
  /* the front is over every objective; in this plane its best trade-offs (more y for more x,
   * y maximised for accuracy, minimised for a cost) are joined by a staircase */
  double sign = a->yo < 0 ? 1 : -1, best = -INFINITY;
  cairo_save(cr);
  cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], 0.6);
  cairo_set_line_width(cr, 0.9);
  gboolean started = FALSE;
  for (guint i = 0; i < pts->len; i++) {
    const double *xy = (const double *)pts->data + 2 * i;
    if (sign * xy[1] <= best) continue;
    if (!started) cairo_move_to(cr, px(f, xy[0]), py(f, xy[1]));
    else {
      cairo_line_to(cr, px(f, xy[0]), py(f, sign * best));
      cairo_line_to(cr, px(f, xy[0]), py(f, xy[1]));
    }
    started = TRUE;
    best = sign * xy[1];
  }
  if (started) cairo_line_to(cr, f->x0 + f->w, py(f, sign * best));
  cairo_stroke(cr);
  set_rgb(cr, rgb);
  for (guint i = 0; i < pts->len; i++) {
    const double *xy = (const double *)pts->data + 2 * i;
    marker(cr, px(f, xy[0]), py(f, xy[1]), radius, shape);
    cairo_fill(cr);
  }
  cairo_restore(cr);
  g_array_unref(pts);
}

static char *axis_label(const FrApqReport *r, int o) {
  if (o < 0) return g_strdup("predicted accuracy (%)");
  const char *name = fr_apq_cost_table_objective_name(r->table, o), *unit = fr_apq_cost_table_objective_unit(r->table, o);
  return g_strdup_printf("%s%s%s%s", name, unit && *unit ? " (" : "", unit ? unit : "", unit && *unit ? ")" : "");
}

static char *tick_text(double v, double step, gboolean count) {
  if (count) return fr_report_format_si(v, "");
  int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  return g_strdup_printf("%.*f", CLAMP(decimals, 0, 8), v);
}

static void draw_plot(cairo_t *cr, const FrApqReport *r, double x0, double y0, double w, double h) {
  const FrApqSearchResult *res = r->result;
  Axes a = { 0, res->has_accuracy ? -1 : (n_obj(r) > 1 ? 1 : 0) };
  Frame f = { x0 + 52, y0 + 18, w - 60, h - 50, INFINITY, -INFINITY, INFINITY, -INFINITY };
  double x, y;
  for (int i = 0; i < res->n_front; i++)
    if (point_xy(&a, &res->front[i], &x, &y)) extend(&f.xmin, &f.xmax, x), extend(&f.ymin, &f.ymax, y);
  for (int i = 0; i < r->n_others; i++)
    if (point_xy(&a, &r->others[i], &x, &y)) extend(&f.xmin, &f.xmax, x), extend(&f.ymin, &f.ymax, y);
  const FrApqSearchComparison *cmp = r->comparison;
  for (int s = 0; cmp && s < 3; s++)
    for (int i = 0; cmp->stages[s] && i < cmp->stages[s]->n_front; i++)
      if (point_xy(&a, &cmp->stages[s]->front[i], &x, &y)) extend(&f.xmin, &f.xmax, x), extend(&f.ymin, &f.ymax, y);
  double budget_x = r->config->budget[a.xo], budget_y = a.yo >= 0 ? r->config->budget[a.yo] : INFINITY;
  if (isfinite(budget_x) && isfinite(f.xmin)) extend(&f.xmin, &f.xmax, budget_x);
  if (isfinite(budget_y) && isfinite(f.ymin)) extend(&f.ymin, &f.ymax, budget_y);
  if (!isfinite(f.xmin)) f.xmin = 0, f.xmax = 1, f.ymin = 0, f.ymax = 1;
  if (f.xmax - f.xmin <= 1e-12 * fabs(f.xmax)) f.xmin -= 0.5 * fabs(f.xmin) + 1e-9, f.xmax += 0.5 * fabs(f.xmax) + 1e-9;
  if (f.ymax - f.ymin <= 1e-12 * fabs(f.ymax)) f.ymin -= 0.5 * fabs(f.ymin) + 1e-9, f.ymax += 0.5 * fabs(f.ymax) + 1e-9;
  double dx = f.xmax - f.xmin, dy = f.ymax - f.ymin;
  f.xmin -= 0.05 * dx, f.xmax += 0.05 * dx, f.ymin -= 0.08 * dy, f.ymax += 0.08 * dy;

  cairo_save(cr);
  /* grid and ticks */
  set_font(cr, FONT, 7, FALSE);
  cairo_set_line_width(cr, 0.4);
  gboolean xcount = is_count(fr_apq_cost_table_objective_name(r->table, a.xo));
  gboolean ycount = a.yo >= 0 && is_count(fr_apq_cost_table_objective_name(r->table, a.yo));
  double sx = nice_step(f.xmax - f.xmin, 6), sy = nice_step(f.ymax - f.ymin, 5);
  for (double t = ceil(f.xmin / sx) * sx; t <= f.xmax + 1e-9 * sx; t += sx) {
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, px(&f, t), f.y0);
    cairo_line_to(cr, px(&f, t), f.y0 + f.h);
    cairo_stroke(cr);
    g_autofree char *lbl = tick_text(fabs(t) < 1e-12 * sx ? 0 : t, sx, xcount);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_move_to(cr, px(&f, t) - text_w(cr, lbl) / 2, f.y0 + f.h + 10);
    cairo_show_text(cr, lbl);
  }
  for (double t = ceil(f.ymin / sy) * sy; t <= f.ymax + 1e-9 * sy; t += sy) {
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, f.x0, py(&f, t));
    cairo_line_to(cr, f.x0 + f.w, py(&f, t));
    cairo_stroke(cr);
    g_autofree char *lbl = tick_text(fabs(t) < 1e-12 * sy ? 0 : t, sy, ycount);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_move_to(cr, f.x0 - 4 - text_w(cr, lbl), py(&f, t) + 2.5);
    cairo_show_text(cr, lbl);
  }
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_set_line_width(cr, 0.7);
  cairo_rectangle(cr, f.x0, f.y0, f.w, f.h);
  cairo_stroke(cr);
  set_font(cr, FONT, 8, FALSE);
  g_autofree char *xl = axis_label(r, a.xo);
  g_autofree char *yl = axis_label(r, a.yo);
  cairo_move_to(cr, f.x0 + f.w / 2 - text_w(cr, xl) / 2, f.y0 + f.h + 24);
  cairo_show_text(cr, xl);
  cairo_save(cr);
  cairo_move_to(cr, x0 + 10, f.y0 + f.h / 2 + text_w(cr, yl) / 2);
  cairo_rotate(cr, -G_PI / 2);
  cairo_show_text(cr, yl);
  cairo_restore(cr);

  /* clip the points to the frame */
  cairo_save(cr);
  cairo_rectangle(cr, f.x0, f.y0, f.w, f.h);
  cairo_clip(cr);
  /* budget lines */
  cairo_set_source_rgb(cr, 0.75, 0.15, 0.15);
  cairo_set_line_width(cr, 0.8);
  const double dash[2] = { 3, 2 };
  cairo_set_dash(cr, dash, 2, 0);
  if (isfinite(budget_x)) {
    cairo_move_to(cr, px(&f, budget_x), f.y0);
    cairo_line_to(cr, px(&f, budget_x), f.y0 + f.h);
    cairo_stroke(cr);
  }
  if (isfinite(budget_y)) {
    cairo_move_to(cr, f.x0, py(&f, budget_y));
    cairo_line_to(cr, f.x0 + f.w, py(&f, budget_y));
    cairo_stroke(cr);
  }
  cairo_set_dash(cr, NULL, 0, 0);
  /* other points, grey */
  cairo_set_source_rgba(cr, 0.55, 0.55, 0.55, 0.45);
  for (int i = 0; i < r->n_others; i++)
    if (point_xy(&a, &r->others[i], &x, &y)) {
      marker(cr, px(&f, x), py(&f, y), 1.3, 0);
      cairo_fill(cr);
    }
  /* the sequential stages, then the front on top */
  double rgb[3];
  for (int s = 0; cmp && s < 3; s++)
    if (cmp->stages[s]) {
      fr_report_palette_color((guint)(s + 1), FALSE, rgb);
      draw_front(cr, &f, &a, cmp->stages[s], rgb, s + 1, 2.4);
    }
  fr_report_palette_color(0, FALSE, rgb);
  draw_front(cr, &f, &a, res, rgb, 0, 2.8);
  /* the best point, ringed */
  if (point_xy(&a, &res->best, &x, &y)) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.0);
    marker(cr, px(&f, x), py(&f, y), 5, 0);
    cairo_stroke(cr);
  }
  cairo_restore(cr);

  /* legend: one line above the frame, right-aligned */
  set_font(cr, FONT, 7, FALSE);
  const char *labels[6];
  int shapes[6], colors[6], n = 0;
  labels[n] = cmp ? "joint search: front" : res->has_accuracy ? "front (non-dominated)" : "front (costs only)";
  shapes[n] = 0, colors[n++] = 0;
  static const char *const stage_labels[3] = { "sequential: arch", "+ width", "+ bits" };
  for (int s = 0; cmp && s < 3; s++)
    if (cmp->stages[s]) labels[n] = stage_labels[s], shapes[n] = s + 1, colors[n++] = s + 1;
  if (r->n_others > 0) labels[n] = "other candidates seen", shapes[n] = 0, colors[n++] = -1;
  labels[n] = res->has_accuracy ? "best (most accurate)" : "best (cheapest)", shapes[n] = -1, colors[n++] = -2;
  double total = 0;
  for (int i = 0; i < n; i++) total += text_w(cr, labels[i]) + 26;
  double lx = f.x0 + f.w - total + 10, cy = f.y0 - 7;
  for (int i = 0; i < n; i++) {
    if (colors[i] == -2) {
      cairo_set_source_rgb(cr, 0, 0, 0);
      cairo_set_line_width(cr, 1.0);
      marker(cr, lx + 6, cy, 4, 0);
      cairo_stroke(cr);
    } else {
      if (colors[i] == -1) cairo_set_source_rgba(cr, 0.55, 0.55, 0.55, 0.8);
      else fr_report_palette_color((guint)colors[i], FALSE, rgb), set_rgb(cr, rgb);
      marker(cr, lx + 6, cy, colors[i] == -1 ? 1.5 : 2.6, shapes[i]);
      cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    cairo_move_to(cr, lx + 14, cy + 2.5);
    cairo_show_text(cr, labels[i]);
    lx += text_w(cr, labels[i]) + 26;
  }
  cairo_restore(cr);
}

/* ---- the settings panel ----------------------------------------------------------------------- */

typedef struct {
  cairo_t *cr;
  double x, y, w;
} Panel;

static void panel_heading(Panel *p, const char *text) {
  set_font(p->cr, FONT, 8.5, TRUE);
  cairo_set_source_rgb(p->cr, 0.1, 0.1, 0.1);
  p->y += 4;
  cairo_move_to(p->cr, p->x, p->y);
  cairo_show_text(p->cr, text);
  p->y += 11;
}

/* "key: value", the value wrapped under itself */
static void panel_item(Panel *p, const char *key, const char *value) {
  cairo_t *cr = p->cr;
  set_font(cr, FONT, 7, TRUE);
  double kw = 74;
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_move_to(cr, p->x, p->y);
  cairo_show_text(cr, key);
  set_font(cr, FONT, 7, FALSE);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  GPtrArray *lines = wrap(cr, value, p->w - kw);
  for (guint i = 0; i < lines->len && i < 6; i++) {
    cairo_move_to(cr, p->x + kw, p->y);
    cairo_show_text(cr, g_ptr_array_index(lines, i));
    p->y += 8.6;
  }
  g_ptr_array_unref(lines);
}

static char *costs_text(const FrApqReport *r, const FrApqSearchPoint *pt) {
  GString *s = g_string_new(NULL);
  for (int o = 0; o < n_obj(r); o++) {
    const char *name = fr_apq_cost_table_objective_name(r->table, o);
    g_autofree char *v = format_cost(name, fr_apq_cost_table_objective_unit(r->table, o), pt->costs[o]);
    g_string_append_printf(s, "%s%s", o ? ", " : "", v);
    if (is_count(name)) g_string_append_printf(s, "%s%s", g_str_has_suffix(v, " ") ? "" : " ",
                                                !strcmp(name, "bitops") ? "BitOps" : "MACs");
  }
  return g_string_free(s, FALSE);
}

static char *point_text(const FrApqReport *r, const FrApqSearchPoint *pt) {
  g_autofree char *acc = format_accuracy(pt->accuracy);
  g_autofree char *costs = costs_text(r, pt);
  return isfinite(pt->accuracy) ? g_strdup_printf("%s at %s", acc, costs) : g_strdup(costs);
}

static void draw_panel(cairo_t *cr, const FrApqReport *r, double x, double y, double w) {
  const FrApqSearchResult *res = r->result;
  const FrApqSearchConfig *cfg = r->config;
  Panel p = { cr, x, y, w };
  panel_heading(&p, "Search settings");
  panel_item(&p, "mode", mode_label(res));
  g_autofree char *pop = res->mode == FR_APQ_SEARCH_EVOLUTION && res->has_accuracy
                             ? g_strdup_printf("%d (%d parents; %d mutants + %d crossovers per generation, p %.2g)",
                                               cfg->population, cfg->parents, cfg->mutants, cfg->crossovers,
                                               cfg->mutation_prob)
                             : g_strdup_printf("%d (%d mutants + %d crossovers per generation, p %.2g)", cfg->population,
                                               cfg->mutants, cfg->crossovers, cfg->mutation_prob);
  panel_item(&p, "population", pop);
  g_autofree char *gens = res->complete ? g_strdup_printf("%d", cfg->generations)
                                        : g_strdup_printf("%d of %d (cancelled)", res->generations_done, cfg->generations);
  panel_item(&p, "generations", gens);
  g_autofree char *seed = g_strdup_printf("%" G_GUINT64_FORMAT, cfg->seed);
  panel_item(&p, "seed", seed);
  GString *budgets = g_string_new(NULL);
  for (int o = 0; o < n_obj(r); o++)
    if (isfinite(cfg->budget[o])) {
      const char *name = fr_apq_cost_table_objective_name(r->table, o);
      g_autofree char *v = format_cost(name, fr_apq_cost_table_objective_unit(r->table, o), cfg->budget[o]);
      g_string_append_printf(budgets, "%s%s <= %s", budgets->len ? ", " : "", name, v);
    }
  panel_item(&p, "budgets", budgets->len ? budgets->str : "none");
  g_string_free(budgets, TRUE);
  GString *axes = g_string_new(NULL);
  for (int i = 0; i < 3; i++)
    if (cfg->axes & (1u << i)) g_string_append_printf(axes, "%s%s", axes->len ? ", " : "", axis_names[i]);
  panel_item(&p, "axes", axes->str);
  g_string_free(axes, TRUE);
  g_autofree char *evals = g_strdup_printf("%" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " predicted, %" G_GUINT64_FORMAT
                                           " redrawn over budget)", res->n_evaluations, res->n_predicted, res->n_rejected);
  panel_item(&p, "evaluations", evals);
  g_autofree char *secs = g_strdup_printf("%.3f s", res->seconds);
  panel_item(&p, "time", secs);

  panel_heading(&p, "Provenance");
  panel_item(&p, "space", report_space(r)->name);
  panel_item(&p, "cost model", r->cost_model ? r->cost_model : "(unnamed)");
  panel_item(&p, "predictor", r->predictor ? r->predictor : "none: cost-only exploration, no accuracy");
  g_autofree char *ver = g_strdup_printf("Frontier %s", FR_VERSION);
  panel_item(&p, "software", ver);
  g_autofree char *date = date_now();
  panel_item(&p, "date", date);

  panel_heading(&p, "Result");
  g_autofree char *best = point_text(r, &res->best);
  panel_item(&p, "best", best);
  g_autofree char *fs = g_strdup_printf("%d networks", res->n_front);
  panel_item(&p, "front", fs);
  if (r->comparison) {
    const FrApqSearchResult *seq = sequential_result(r);
    g_autofree char *st = seq ? point_text(r, &seq->best) : g_strdup_printf("failed: %s",
                                                                            r->comparison->sequential_error
                                                                                ? r->comparison->sequential_error : "-");
    panel_item(&p, "sequential", st);
  }
  if (res->note) panel_item(&p, "note", res->note);
}

/* ---- the table -------------------------------------------------------------------------------- */

static void draw_table_header(cairo_t *cr, const Layout *L, double y) {
  const FrApqReport *r = L->r;
  set_font(cr, FONT, TABLE_FONT, TRUE);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  int c = 0;
  const char *fixed[2] = { "#", "accuracy" };
  for (int i = 0; i < 2; i++) {
    cairo_move_to(cr, L->col_x[c++], y);
    cairo_show_text(cr, fixed[i]);
  }
  for (int o = 0; o < n_obj(r); o++) {
    const char *name = fr_apq_cost_table_objective_name(r->table, o);
    cairo_move_to(cr, L->col_x[c++], y);
    cairo_show_text(cr, !strcmp(name, "bitops") ? "BitOps" : !strcmp(name, "macs") ? "MACs" : name);
  }
  if (L->bitops_col) {
    cairo_move_to(cr, L->col_x[c++], y);
    cairo_show_text(cr, "BitOps");
  }
  cairo_move_to(cr, L->spec_x, y);
  cairo_show_text(cr, "spec (per stage: kernel/mid channels/bits pw_w pw_a dw_w dw_a of each active block)");
  cairo_set_line_width(cr, 0.6);
  cairo_move_to(cr, MARGIN, y + 3);
  cairo_line_to(cr, PAGE_W - MARGIN, y + 3);
  cairo_stroke(cr);
}

static void draw_row(cairo_t *cr, const Layout *L, const Row *row, double y, gboolean shade) {
  const FrApqReport *r = L->r;
  if (shade) {
    cairo_set_source_rgb(cr, 0.95, 0.96, 0.98);
    cairo_rectangle(cr, MARGIN, y - LINE_H + 1.5, PAGE_W - 2 * MARGIN, row->height);
    cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  set_font(cr, FONT, TABLE_FONT, FALSE);
  int c = 0;
  g_autofree char *rank = g_strdup_printf("%s%d", row->tag ? "s" : "", row->rank);
  cairo_move_to(cr, L->col_x[c++], y);
  cairo_show_text(cr, rank);
  g_autofree char *acc = format_accuracy(row->p->accuracy);
  cairo_move_to(cr, L->col_x[c++], y);
  cairo_show_text(cr, acc);
  for (int o = 0; o < n_obj(r); o++) {
    g_autofree char *v = format_cost(fr_apq_cost_table_objective_name(r->table, o),
                                     fr_apq_cost_table_objective_unit(r->table, o), row->p->costs[o]);
    cairo_move_to(cr, L->col_x[c++], y);
    cairo_show_text(cr, v);
  }
  if (L->bitops_col) {
    g_autofree char *v = fr_report_format_si(point_bitops(r, row->p), "");
    cairo_move_to(cr, L->col_x[c++], y);
    cairo_show_text(cr, v);
  }
  set_font(cr, MONO, SPEC_FONT, FALSE);
  for (guint i = 0; i < row->spec_lines->len; i++) {
    cairo_move_to(cr, L->spec_x, y + i * LINE_H);
    cairo_show_text(cr, g_ptr_array_index(row->spec_lines, i));
  }
}

static void draw_footer(cairo_t *cr, const Layout *L, int page, double height) {
  set_font(cr, FONT, 6.5, FALSE);
  cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
  g_autofree char *left = g_strdup_printf("Frontier %s · %s · %s", FR_VERSION, report_space(L->r)->name,
                                          L->r->cost_model ? L->r->cost_model : "");
  cairo_move_to(cr, MARGIN, height - 18);
  cairo_show_text(cr, left);
  if (L->paged) {
    g_autofree char *right = g_strdup_printf("page %d of %d", page + 1, L->n_pages);
    cairo_move_to(cr, PAGE_W - MARGIN - text_w(cr, right), height - 18);
    cairo_show_text(cr, right);
  }
}

static void draw_pages(cairo_t *cr, double width, double height, gpointer data) {
  const Layout *L = data;
  const FrApqReport *r = L->r;
  g_autofree char *title = default_title(r);
  for (int page = 0; page < L->n_pages; page++) {
    if (page > 0) {
      cairo_show_page(cr);
      cairo_set_source_rgb(cr, 1, 1, 1);
      cairo_paint(cr);
    }
    double y;
    if (page == 0) {
      set_font(cr, FONT, 14, TRUE);
      cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
      cairo_move_to(cr, MARGIN, 40);
      cairo_show_text(cr, title);
      draw_plot(cr, r, MARGIN, 52, 500, 292);
      draw_panel(cr, r, 560, 58, PAGE_W - MARGIN - 560);
      y = TABLE_TOP_1;
    } else {
      set_font(cr, FONT, 10, TRUE);
      cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
      g_autofree char *cont = g_strdup_printf("%s (front, continued)", title);
      cairo_move_to(cr, MARGIN, 40);
      cairo_show_text(cr, cont);
      y = TABLE_TOP_N;
    }
    draw_table_header(cr, L, y);
    y += 2 * LINE_H;
    const FrApqSearchResult *seq = sequential_result(r);
    for (int i = L->page_first[page]; i < L->page_first[page + 1]; i++) {
      const Row *row = &g_array_index(L->rows, Row, i);
      if (row->extra > 0) {   /* the sequential answer's rows start */
        set_font(cr, FONT, TABLE_FONT, TRUE);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_move_to(cr, MARGIN, y);
        g_autofree char *head = g_strdup_printf("Sequential pipeline (architecture, then width, then bits): its "
                                                "front (%d networks), rows s1..", seq ? seq->n_front : 0);
        cairo_show_text(cr, head);
        y += row->extra;
      }
      draw_row(cr, L, row, y, i % 2 == 1);
      y += row->height;
    }
    if (page == L->n_pages - 1 && L->n_cut > 0) {
      set_font(cr, FONT, TABLE_FONT, FALSE);
      cairo_move_to(cr, MARGIN, y);
      g_autofree char *more = g_strdup_printf("(%d more rows not shown: this page is at its size limit; the PDF, CSV "
                                              "and JSON reports have them all)", L->n_cut);
      cairo_show_text(cr, more);
    }
    if (L->rows->len == 0 && page == 0) {
      set_font(cr, FONT, TABLE_FONT, FALSE);
      cairo_move_to(cr, MARGIN, y);
      cairo_show_text(cr, "(the search returned no front)");
    }
    draw_footer(cr, L, page, L->paged ? height : L->height);
  }
  (void)width;
}

static gboolean save_figure(const FrApqReport *r, const char *path, FrReportFormat format, GError **error) {
  Layout *L = layout_new(r, format == FR_REPORT_FORMAT_PDF);
  gboolean ok = fr_report_render(path, format, PAGE_W, L->height, draw_pages, L, error);
  layout_free(L);
  return ok;
}

/* ---- entry point ------------------------------------------------------------------------------ */

gboolean fr_apq_report_save(const FrApqReport *r, const char *path, GError **error) {
  if (!check_report(r, error)) return FALSE;
  if (!path || !*path) {
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID, "APQ report: no file name given");
    return FALSE;
  }
  const char *dot = strrchr(path, '.'), *slash = strrchr(path, G_DIR_SEPARATOR);
  if (dot && (!slash || dot > slash)) {
    if (!g_ascii_strcasecmp(dot, ".csv")) return save_csv(r, path, error);
    if (!g_ascii_strcasecmp(dot, ".json")) {
      JsonNode *root = fr_apq_report_to_json(r);
      gboolean ok = fr_report_write_json(path, root, TRUE, error);
      json_node_unref(root);
      return ok;
    }
  }
  FrReportFormat f = fr_report_format_from_path(path);
  if (f == FR_REPORT_FORMAT_AUTO) {
    g_autofree char *display = g_filename_display_name(path);
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_FORMAT,
                "Cannot tell the report format of “%s”: use .pdf, .svg, .csv or .json", display);
    return FALSE;
  }
  return save_figure(r, path, f, error);
}
