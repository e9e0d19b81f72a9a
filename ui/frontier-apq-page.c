/* frontier-apq-page.c: see frontier-apq-page.h.
 *
 * Slow work stays off the main thread: cost tables and predictors are prepared by GTask threads (and
 * cached per space and cost model), the search runs as the engine's job (fr_apq_search_start), whose
 * events the page drains from a tick callback (at most MAX_EVENTS_PER_FRAME per frame), per-layer
 * breakdowns and exports run on GTask threads. One search at a time: a budget change while one runs
 * cancels it and starts the next as soon as the job has stopped (a generation at most). A finished
 * search becomes a Run, kept in the list of past searches; the plot, the candidate views and the
 * exports read the shown Run only. A search still running when the page goes away is cancelled and
 * freed on a thread, the application held until then. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "fr-apq-report.h"
#include "fr-apq-search.h"
#include "fr-apq-workbench.h"
#include "fr-job.h"
#include "fr-report.h"

#include "frontier-apq-arch.h"
#include "frontier-apq-breakdown.h"
#include "frontier-apq-budget.h"
#include "frontier-apq-page.h"
#include "frontier-chart.h"
#include "frontier-columns.h"
#include "frontier-page-util.h"

#define MAX_EVENTS_PER_FRAME 512
#define MAX_HISTORY 20
#define MAX_REPORT_OTHERS 4000
#define MAX_CLOUD 40000          /* explored candidates kept per search (a uniform sample beyond) */
#define CLOUD_REDRAW_US 500000   /* how often a resampled cloud is sent to the chart again */
#define N_SPACES 2
#define MAXO FR_APQ_COST_MAX_OBJECTIVES

static const char *const space_names[N_SPACES] = { "fmnist-mini", "imagenet-bitfusion" };

/* ---- cost tables, with what the page shows of them ---- */

typedef struct {
  FrApqCostTable *table;
  const FrApqSpace *space;
  char *space_name, *cost_model, *cost_label;
  int n_obj;
  double min[MAXO], max[MAXO];   /* raw units */
  double scale[MAXO];            /* shown = raw / scale */
  char *title[MAXO];             /* "Latency" */
  char *unit[MAXO];              /* shown unit: "ms", "M BitOps" */
  gboolean fp_available;         /* full-precision networks have finite costs (the sequential baseline) */
} TableInfo;

static void
table_info_clear(gpointer data)
{
  TableInfo *t = data;
  if (t->table != NULL)
    fr_apq_cost_table_unref(t->table);
  g_free(t->space_name);
  g_free(t->cost_model);
  g_free(t->cost_label);
  for (int o = 0; o < MAXO; o++) {
    g_free(t->title[o]);
    g_free(t->unit[o]);
  }
}

static TableInfo *
table_info_ref(TableInfo *t)
{
  return g_atomic_rc_box_acquire(t);
}

static void
table_info_unref(gpointer t)
{
  if (t != NULL)
    g_atomic_rc_box_release_full(t, table_info_clear);
}

static const char *
objective_title(const char *name)
{
  if (g_strcmp0(name, "latency_ms") == 0)
    return "Latency";
  if (g_strcmp0(name, "energy_mj") == 0)
    return "Energy";
  if (g_strcmp0(name, "bitops") == 0)
    return "BitOps";
  if (g_strcmp0(name, "macs") == 0)
    return "MACs";
  return name;
}

static gboolean
unit_is_physical(const char *unit)
{
  static const char *const physical[] = { "ms", "mJ", "s", "J", "us", "µs", "ns", "uJ", "µJ", "nJ" };
  for (guint i = 0; i < G_N_ELEMENTS(physical); i++)
    if (g_strcmp0(unit, physical[i]) == 0)
      return TRUE;
  return FALSE;
}

/* "0.412 ms", "123 M BitOps" */
static char *
format_raw(double v, const char *unit)
{
  if (!isfinite(v))
    return g_strdup(v > 0 ? "∞" : "—");
  if (unit == NULL)
    unit = "";
  if (unit_is_physical(unit) || fabs(v) < 1e3)
    return g_strdup_printf("%.3g%s%s", v, *unit ? " " : "", unit);
  static const char *const prefix[] = { "k", "M", "G", "T", "P" };
  int p = -1;
  while (fabs(v) >= 1e3 && p < 4) {
    v /= 1e3;
    p++;
  }
  return g_strdup_printf("%.3g %s%s%s", v, prefix[p], *unit ? " " : "", unit);
}

static void
table_info_fill(TableInfo *t)
{
  const FrApqSpace *s = t->space;
  t->n_obj = fr_apq_cost_table_n_objectives(t->table);
  fr_apq_cost_table_min(t->table, TRUE, t->min);
  double fp_min[MAXO];
  fr_apq_cost_table_min(t->table, FALSE, fp_min);
  t->fp_available = TRUE;
  for (int o = 0; o < t->n_obj; o++)
    if (!isfinite(fp_min[o]))
      t->fp_available = FALSE;
  /* The top of the sliders: the largest network at the widest bits (a full-precision one when the
   * model prices it, which is dearer still). */
  FrApqSpec big;
  double c8[MAXO], cfp[MAXO];
  fr_apq_spec_largest(s, s->bit_options[FR_APQ_N_BITS - 1], &big);
  gboolean ok8 = fr_apq_cost_table_eval(t->table, &big, c8);
  fr_apq_spec_largest(s, 0, &big);
  gboolean okfp = fr_apq_cost_table_eval(t->table, &big, cfp);
  for (int o = 0; o < t->n_obj; o++) {
    double mx = 0;
    if (ok8 && isfinite(c8[o]))
      mx = MAX(mx, c8[o]);
    if (okfp && isfinite(cfp[o]))
      mx = MAX(mx, cfp[o]);
    if (!(mx > t->min[o]))
      mx = isfinite(t->min[o]) && t->min[o] > 0 ? t->min[o] * 4 : 1;
    t->max[o] = mx;
    const char *name = fr_apq_cost_table_objective_name(t->table, o);
    const char *unit = fr_apq_cost_table_objective_unit(t->table, o);
    t->title[o] = g_strdup(objective_title(name));
    t->scale[o] = 1;
    if (!unit_is_physical(unit)) {
      const char *prefix = "";
      if (mx >= 1e10) {
        t->scale[o] = 1e9;
        prefix = "G";
      } else if (mx >= 1e7) {
        t->scale[o] = 1e6;
        prefix = "M";
      } else if (mx >= 1e4) {
        t->scale[o] = 1e3;
        prefix = "k";
      }
      t->unit[o] = g_strdup_printf("%s%s%s", prefix, *prefix && unit && *unit ? " " : "", unit ? unit : "");
    } else {
      t->unit[o] = g_strdup(unit);
    }
  }
}

/* "Latency (ms)" */
static char *
axis_label(const TableInfo *t, int o)
{
  if (o < 0)
    return g_strdup("Predicted top-1 accuracy (%)");
  return t->unit[o] != NULL && *t->unit[o] ? g_strdup_printf("%s (%s)", t->title[o], t->unit[o])
                                           : g_strdup(t->title[o]);
}

/* ---- searches kept for the history ---- */

typedef struct {
  guint number;                 /* 1, 2, ... in this session */
  FrApqSearch *search;          /* finished: owns the result (and comparison); NULL while running */
  TableInfo *info;
  char *predictor_label;        /* NULL: cost-only */
  FrApqSearchConfig cfg;
  gboolean compare;
  int stage_bits;
  gboolean has_accuracy;
  int x_obj, y_obj;             /* y_obj -1: accuracy */
  GArray *cloud_x, *cloud_y;    /* every candidate shown, once, in display units */
  GArray *pop_x, *pop_y;        /* the last generation shown */
  GArray *pop_points;           /* FrApqSearchPoint: the same points with their specs, to inspect them */
  GArray *cloud_raw;            /* the same candidates: accuracy, then n_obj costs (raw), for the report */
  guint32 max_id;
  gboolean any_id;
  guint64 seen;                 /* new candidates seen; past MAX_CLOUD the cloud is a reservoir sample */
  GRand *rand;
  gboolean cloud_dirty;         /* resampled since the chart last got the cloud */
  guint generation, n_generations;
  guint64 evaluations;
  gboolean cancelled;
  char *when;                   /* "14:03" */
} Run;

static void
run_clear(gpointer data)
{
  Run *r = data;
  fr_apq_search_free(r->search); /* finished: the join is immediate */
  table_info_unref(r->info);
  g_free(r->predictor_label);
  g_array_unref(r->cloud_x);
  g_array_unref(r->cloud_y);
  g_array_unref(r->pop_x);
  g_array_unref(r->pop_y);
  g_array_unref(r->pop_points);
  g_array_unref(r->cloud_raw);
  if (r->rand != NULL)
    g_rand_free(r->rand);
  g_free(r->when);
}

static Run *
run_ref(Run *r)
{
  return g_atomic_rc_box_acquire(r);
}

static void
run_unref(gpointer r)
{
  if (r != NULL)
    g_atomic_rc_box_release_full(r, run_clear);
}

static const FrApqSearchResult *
run_result(Run *r)
{
  return r != NULL && r->search != NULL ? fr_apq_search_get_result(r->search) : NULL;
}

static double
point_x(const Run *r, const FrApqSearchPoint *p)
{
  return p->costs[r->x_obj] / r->info->scale[r->x_obj];
}

static double
point_y(const Run *r, const FrApqSearchPoint *p)
{
  return r->y_obj < 0 ? p->accuracy * 100 : p->costs[r->y_obj] / r->info->scale[r->y_obj];
}

/* Indices of result's front sorted by x (then y). */
static const Run *sort_run;
static const FrApqSearchResult *sort_result;

static int
compare_front(gconstpointer a, gconstpointer b)
{
  const FrApqSearchPoint *p = &sort_result->front[*(const int *)a], *q = &sort_result->front[*(const int *)b];
  double px = point_x(sort_run, p), qx = point_x(sort_run, q);
  if (px != qx)
    return px < qx ? -1 : 1;
  double py = point_y(sort_run, p), qy = point_y(sort_run, q);
  return py < qy ? -1 : py > qy;
}

static GArray *
sorted_front(const Run *r, const FrApqSearchResult *res)
{
  GArray *order = g_array_sized_new(FALSE, FALSE, sizeof(int), res != NULL ? res->n_front : 0);
  for (int i = 0; res != NULL && i < res->n_front; i++)
    g_array_append_val(order, i);
  sort_run = r;
  sort_result = res;
  g_array_sort(order, compare_front);
  return order;
}

/* A candidate: a member of a run's front. */
typedef struct {
  Run *run;
  int index;
} Candidate;

static void
candidate_clear(Candidate *c)
{
  g_clear_pointer(&c->run, run_unref);
  c->index = -1;
}

/* A candidate's point: indices below n_front are front members; the ones after, the points of the
 * last generation shown (any point of the population can be inspected, not only the front). */
static const FrApqSearchPoint *
run_point(const Run *run, const FrApqSearchResult *res, int index)
{
  if (res == NULL || index < 0)
    return NULL;
  if (index < res->n_front)
    return &res->front[index];
  guint k = (guint)(index - res->n_front);
  return k < run->pop_points->len ? &g_array_index(run->pop_points, FrApqSearchPoint, k) : NULL;
}

static const FrApqSearchPoint *
candidate_point(const Candidate *c)
{
  if (c->run == NULL)
    return NULL;
  return run_point(c->run, run_result(c->run), c->index);
}

/* The index of res's front member to show first: the most accurate, the cheaper of equals (the engine's
 * best is the most accurate, whichever came first among ties: an fp32 predictor ties every bit policy); a
 * cost-only front's first member (its cheapest). */
static int
best_index(const Run *run, const FrApqSearchResult *res)
{
  if (res == NULL || res->n_front == 0)
    return -1;
  if (!run->has_accuracy)
    return 0;
  int best = 0;
  for (int i = 1; i < res->n_front; i++) {
    const FrApqSearchPoint *p = &res->front[i], *b = &res->front[best];
    if (p->accuracy > b->accuracy || (p->accuracy == b->accuracy && p->costs[run->x_obj] < b->costs[run->x_obj]))
      best = i;
  }
  return best;
}

static const FrApqSearchPoint *
best_point(const Run *run, const FrApqSearchResult *res)
{
  int i = best_index(run, res);
  return i >= 0 ? &res->front[i] : res != NULL ? &res->best : NULL;
}

/* ---- predictors, one slot per space ---- */

typedef struct {
  FrApqPredictor *predictor;    /* NULL: cost-only */
  char *label;                  /* provenance, for the report */
  char *error;                  /* why the default could not be loaded */
  gboolean attempted;           /* the default was tried */
} PredictorSlot;

/* ---- the page ---- */

typedef enum { PENDING_NONE, PENDING_SEARCH, PENDING_COMPARE } Pending;

struct _FrontierApqPage {
  GtkWidget parent_instance;

  /* Template children. */
  GtkWidget *scroller;
  GtkMenuButton *export_button;
  GtkButton *cancel_button;
  GtkButton *search_button;
  GtkProgressBar *progress_bar;
  GtkRevealer *error_revealer;
  GtkLabel *error_label;
  GtkButton *minimum_button;
  GtkRevealer *cost_only_revealer;
  GtkLabel *cost_only_label;
  AdwPreferencesGroup *search_group;
  AdwComboRow *space_row;
  AdwComboRow *cost_row;
  AdwActionRow *predictor_row;
  GtkButton *predictor_button;
  AdwComboRow *mode_row;
  GtkSpinButton *generations_spin;
  GtkSpinButton *seed_spin;
  AdwPreferencesGroup *budgets_group;
  FrontierApqBudget *budget0;
  FrontierApqBudget *budget1;
  GtkListBox *history_list;
  GtkLabel *plot_heading;
  GtkLabel *status_label;
  FrontierChart *pareto_chart;
  GtkLabel *plot_hint;
  GtkStack *detail_stack;
  GtkLabel *candidate_title;
  GtkLabel *candidate_summary;
  GtkLabel *candidate_spec;
  FrontierApqArch *arch_view;
  GtkDropDown *breakdown_dropdown;
  FrontierApqBreakdown *breakdown;
  GtkLabel *compare_summary;
  GtkLabel *compare_a_label;
  GtkLabel *compare_b_label;
  FrontierApqArch *arch_a;
  FrontierApqArch *arch_b;
  GtkButton *compare_button;
  FrontierChart *seq_chart;
  GtkLabel *seq_summary;

  /* Chart series. */
  guint s_explored, s_population, s_front, s_budget;

  /* Settings. */
  GHashTable *tables;           /* "space\tmodel" -> TableInfo */
  TableInfo *info;              /* the current selection's, or NULL while it is prepared */
  TableInfo *budget_info;       /* the table the budget rows were last set up for */
  char **cost_models;           /* names offered for the current space */
  guint prepare_serial;
  gboolean preparing;
  char *prepare_error;
  PredictorSlot predictors[N_SPACES];
  gboolean updating;            /* programmatic changes of the combo rows */
  gboolean prepared_once;

  /* The running search. */
  FrApqSearch *search;
  Run *run;
  gboolean cancel_requested;
  gboolean user_cancelled;
  Pending pending;
  guint tick_id;
  GVariant *last_generation;    /* the newest generation payload not drawn yet */
  double fraction;
  char *progress_text;
  gboolean searched_once;
  guint run_counter;
  gint64 cloud_sent_us;

  /* What is shown. */
  Run *shown;
  GArray *front_order;          /* front series index -> index into the shown result's front */
  Candidate selected, cmp_a, cmp_b;
  guint breakdown_serial;

  GtkFileChooserNative *chooser;
  char *export_format;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE(FrontierApqPage, frontier_apq_page, GTK_TYPE_WIDGET)

static void update_sensitivity(FrontierApqPage *self);
static void start_job(FrontierApqPage *self, gboolean compare);
static void request_prepare(FrontierApqPage *self);
static void show_run(FrontierApqPage *self, Run *run);
static void select_candidate(FrontierApqPage *self, Run *run, int index);

static int
current_space_index(FrontierApqPage *self)
{
  guint i = adw_combo_row_get_selected(self->space_row);
  return i < N_SPACES ? (int)i : 0;
}

static const FrApqSpace *
current_space(FrontierApqPage *self)
{
  return fr_apq_space_lookup(space_names[current_space_index(self)]);
}

static const char *
current_cost_model(FrontierApqPage *self)
{
  guint i = adw_combo_row_get_selected(self->cost_row);
  if (self->cost_models == NULL || i >= g_strv_length(self->cost_models))
    return NULL;
  return self->cost_models[i];
}

static char *
table_key(const char *space, const char *model)
{
  return g_strdup_printf("%s\t%s", space, model);
}

static PredictorSlot *
current_predictor(FrontierApqPage *self)
{
  return &self->predictors[current_space_index(self)];
}

static FrontierApqBudget *
budget_row(FrontierApqPage *self, int o)
{
  return o == 0 ? self->budget0 : self->budget1;
}

/* ---- messages ---- */

/* A hidden revealer is also made invisible once closed, so the page's spacing does not count it. */
static void
revealed_cb(GtkRevealer *revealer)
{
  if (!gtk_revealer_get_reveal_child(revealer) && !gtk_revealer_get_child_revealed(revealer))
    gtk_widget_set_visible(GTK_WIDGET(revealer), FALSE);
}

static void
reveal(GtkRevealer *revealer, gboolean show)
{
  if (show)
    gtk_widget_set_visible(GTK_WIDGET(revealer), TRUE);
  gtk_revealer_set_reveal_child(revealer, show);
  if (!show && !gtk_widget_get_mapped(GTK_WIDGET(revealer)))
    gtk_widget_set_visible(GTK_WIDGET(revealer), FALSE);
}

static void
show_error(FrontierApqPage *self, const char *text, gboolean budget)
{
  gtk_label_set_text(self->error_label, text);
  gtk_widget_set_visible(GTK_WIDGET(self->minimum_button), FALSE);
  if (budget && self->info != NULL) {
    for (int o = 0; o < MIN(2, self->info->n_obj); o++) {
      FrontierApqBudget *row = budget_row(self, o);
      double b = frontier_apq_budget_get_budget(row) * self->info->scale[o];
      gboolean low = isfinite(b) && b < self->info->min[o];
      frontier_apq_budget_set_error(row, low);
      if (low)
        gtk_widget_set_visible(GTK_WIDGET(self->minimum_button), TRUE);
    }
  }
  reveal(self->error_revealer, TRUE);
}

static void
hide_error(FrontierApqPage *self)
{
  reveal(self->error_revealer, FALSE);
  frontier_apq_budget_set_error(self->budget0, FALSE);
  frontier_apq_budget_set_error(self->budget1, FALSE);
}

static void
update_predictor_ui(FrontierApqPage *self)
{
  PredictorSlot *slot = current_predictor(self);
  gboolean imagenet = current_space_index(self) == 1;
  if (!slot->attempted) {
    adw_action_row_set_subtitle(self->predictor_row, "Loading…");
    reveal(self->cost_only_revealer, FALSE);
    return;
  }
  if (slot->predictor != NULL) {
    adw_action_row_set_subtitle(self->predictor_row, slot->label != NULL ? slot->label : "Loaded");
    reveal(self->cost_only_revealer, FALSE);
    return;
  }
  adw_action_row_set_subtitle(self->predictor_row, "None: cost-only exploration");
  g_autofree char *text = NULL;
  if (slot->error != NULL)
    text = g_strdup_printf("Cost-only exploration: no accuracy predictor loaded (the shipped one could not be read: %s)",
                           slot->error);
  else if (imagenet)
    text = g_strdup("Cost-only exploration: no accuracy predictor loaded. Load one in APQ’s MLP shape (safetensors, "
                    "e.g. converted with tools/apq-convert-predictor.py) to search for accuracy.");
  else
    text = g_strdup("Cost-only exploration: no accuracy predictor loaded");
  gtk_label_set_text(self->cost_only_label, text);
  reveal(self->cost_only_revealer, TRUE);
}

/* ---- progress ---- */

static void
set_progress(FrontierApqPage *self, double fraction, const char *text)
{
  if (fraction >= 0)
    gtk_progress_bar_set_fraction(self->progress_bar, CLAMP(fraction, 0, 1));
  if (text != NULL)
    gtk_progress_bar_set_text(self->progress_bar, text);
}

/* ---- the Pareto plot ---- */

static void
setup_pareto_series(FrontierApqPage *self)
{
  frontier_chart_remove_all_series(self->pareto_chart);
  GdkRGBA explored, population, front, budget;
  gdk_rgba_parse(&explored, "rgba(145,155,175,0.28)");
  gdk_rgba_parse(&population, "#3584e4");
  gdk_rgba_parse(&front, "#ff7800");
  gdk_rgba_parse(&budget, "rgba(224,27,36,0.75)");
  self->s_explored = frontier_chart_add_series(self->pareto_chart, "Earlier generations", FRONTIER_CHART_SCATTER,
                                               &explored);
  self->s_population = frontier_chart_add_series(self->pareto_chart, "Current population", FRONTIER_CHART_SCATTER,
                                                 &population);
  self->s_front = frontier_chart_add_series(self->pareto_chart, "Pareto front", FRONTIER_CHART_LINE_MARKERS, &front);
  self->s_budget = frontier_chart_add_series(self->pareto_chart, "Budget", FRONTIER_CHART_LINE, &budget);
}

static void
set_axes(FrontierApqPage *self, FrontierChart *chart, const Run *run)
{
  g_autofree char *x = axis_label(run->info, run->x_obj);
  g_autofree char *y = axis_label(run->info, run->y_obj);
  frontier_chart_set_x_label(chart, x);
  frontier_chart_set_y_label(chart, y);
}

static void
pin_axes(FrontierChart *chart, const Run *run)
{
  /* Nothing lies left of the cheapest network: start just below it. */
  const TableInfo *t = run->info;
  double xmin = t->min[run->x_obj] / t->scale[run->x_obj];
  frontier_chart_set_x_range(chart, isfinite(xmin) ? xmin * 0.9 : NAN, NAN);
  double ymin = run->y_obj >= 0 ? t->min[run->y_obj] / t->scale[run->y_obj] : NAN;
  frontier_chart_set_y_range(chart, isfinite(ymin) ? ymin * 0.9 : NAN, NAN);
}

/* The x budget as a vertical line over the plotted y range. */
static void
update_budget_line(FrontierApqPage *self, const Run *run)
{
  frontier_chart_clear_series(self->pareto_chart, self->s_budget);
  double b = run->cfg.budget[run->x_obj];
  if (!isfinite(b) || run->cloud_y->len == 0)
    return;
  double lo = INFINITY, hi = -INFINITY;
  for (guint i = 0; i < run->cloud_y->len; i++) {
    double y = g_array_index(run->cloud_y, double, i);
    if (isfinite(y)) {
      lo = MIN(lo, y);
      hi = MAX(hi, y);
    }
  }
  if (!(hi >= lo))
    return;
  double x = b / run->info->scale[run->x_obj];
  frontier_chart_append(self->pareto_chart, self->s_budget, x, lo);
  frontier_chart_append(self->pareto_chart, self->s_budget, x, hi);
}

static void
set_status(FrontierApqPage *self, const char *prefix, guint shown, guint front)
{
  g_autofree char *text = g_strdup_printf("%s%s%u candidates shown · front: %u members", prefix != NULL ? prefix : "",
                                          prefix != NULL && *prefix ? " · " : "", shown, front);
  gtk_label_set_text(self->status_label, text);
}

/* One "apq.search.generation" payload, unpacked; the arrays point into the child values it holds
 * (generation_clear releases them). */
typedef struct {
  guint32 gen, ngen;
  guint64 evals;
  gsize n;
  const double *acc, *costs;
  const guint32 *ids, *ranks;
  GVariant *held[5];
} Generation;

static void
generation_clear(Generation *g)
{
  for (int i = 0; i < 5; i++)
    g_clear_pointer(&g->held[i], g_variant_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Generation, generation_clear)

/* FALSE when the arrays do not agree with each other or with the run's objectives. */
static gboolean
parse_generation(const Run *run, GVariant *payload, Generation *g)
{
  const char *phase;
  gint32 best;
  double best_acc;
  GVariant **h = g->held;
  g_variant_get(payload, "(&suut@ad@ad@au@auid@ad@as)", &phase, &g->gen, &g->ngen, &g->evals, &h[0], &h[1], &h[2], &h[3],
                &best, &best_acc, &h[4], NULL);
  gsize nc, ni, nr;
  g->acc = g_variant_get_fixed_array(h[0], &g->n, sizeof(double));
  g->costs = g_variant_get_fixed_array(h[1], &nc, sizeof(double));
  g->ids = g_variant_get_fixed_array(h[2], &ni, sizeof(guint32));
  g->ranks = g_variant_get_fixed_array(h[3], &nr, sizeof(guint32));
  return nc >= g->n * (gsize)run->info->n_obj && ni >= g->n && nr >= g->n;
}

/* Where point i of g goes on the plot, in display units. */
static void
generation_xy(const Run *run, const Generation *g, gsize i, double *x, double *y)
{
  int no = run->info->n_obj;
  double sx = run->info->scale[run->x_obj], sy = run->y_obj >= 0 ? run->info->scale[run->y_obj] : 1;
  *x = g->costs[i * no + run->x_obj] / sx;
  *y = run->y_obj < 0 ? g->acc[i] * 100 : g->costs[i * no + run->y_obj] / sy;
}

/* Draws the newest generation: the population and its front (rank 0), sorted by x. */
static void
draw_generation(FrontierApqPage *self, GVariant *payload)
{
  Run *run = self->run;
  g_auto(Generation) g = { 0 };
  if (!parse_generation(run, payload, &g))
    return;
  gsize n = g.n;
  const double *acc = g.acc, *costs = g.costs;
  const guint32 *ranks = g.ranks;
  int no = run->info->n_obj;
  frontier_chart_clear_series(self->pareto_chart, self->s_population);
  frontier_chart_clear_series(self->pareto_chart, self->s_front);
  g_autofree double *xs = g_new(double, MAX(n, 1));
  g_autofree double *ys = g_new(double, MAX(n, 1));
  for (gsize i = 0; i < n; i++)
    generation_xy(run, &g, i, &xs[i], &ys[i]);
  frontier_chart_append_many(self->pareto_chart, self->s_population, xs, ys, n);
  /* The front: rank 0, sorted by x, each point once. */
  g_autoptr(GArray) idx = g_array_new(FALSE, FALSE, sizeof(int));
  for (gsize i = 0; i < n; i++)
    if (ranks[i] == 0)
      g_array_append_val(idx, i);
  for (guint a = 1; a < idx->len; a++) { /* insertion sort: the front is small */
    int v = g_array_index(idx, int, a);
    guint b = a;
    while (b > 0 && (xs[g_array_index(idx, int, b - 1)] > xs[v] ||
                     (xs[g_array_index(idx, int, b - 1)] == xs[v] && ys[g_array_index(idx, int, b - 1)] > ys[v]))) {
      g_array_index(idx, int, b) = g_array_index(idx, int, b - 1);
      b--;
    }
    g_array_index(idx, int, b) = v;
  }
  guint members = 0;
  double lx = NAN, ly = NAN;
  for (guint k = 0; k < idx->len; k++) {
    int i = g_array_index(idx, int, k);
    if (xs[i] == lx && ys[i] == ly)
      continue;
    frontier_chart_append(self->pareto_chart, self->s_front, xs[i], ys[i]);
    lx = xs[i];
    ly = ys[i];
    members++;
  }
  g_array_set_size(run->pop_x, 0);
  g_array_set_size(run->pop_y, 0);
  g_array_append_vals(run->pop_x, xs, n);
  g_array_append_vals(run->pop_y, ys, n);
  /* the points again with their specs (same order as the population series), to inspect any of them */
  g_array_set_size(run->pop_points, 0);
  g_autoptr(GVariant) specs = g_variant_get_child_value(payload, 11);
  gsize n_specs = g_variant_n_children(specs);
  for (gsize i = 0; i < n && i < n_specs; i++) {
    FrApqSearchPoint pt = { .accuracy = acc[i] };
    const char *text = NULL;
    g_variant_get_child(specs, i, "&s", &text);
    if (!fr_apq_spec_from_string(run->info->space, text, &pt.spec, NULL))
      break;
    for (int o = 0; o < no && o < FR_APQ_COST_MAX_OBJECTIVES; o++)
      pt.costs[o] = costs[i * no + o];
    g_array_append_val(run->pop_points, pt);
  }
  update_budget_line(self, run);
  g_autofree char *evaluated = fr_report_format_int((gint64)g.evals);
  g_autofree char *prefix = g_strdup_printf("Generation %u of %u · %s evaluated", g.gen, g.ngen, evaluated);
  set_status(self, prefix, (guint)n, members);
}

/* Adds the candidates of a generation not seen before to the explored cloud. */
static void
absorb_generation(FrontierApqPage *self, GVariant *payload)
{
  Run *run = self->run;
  g_auto(Generation) g = { 0 };
  if (!parse_generation(run, payload, &g))
    return;
  gsize n = g.n;
  const double *acc = g.acc, *costs = g.costs;
  const guint32 *ids = g.ids;
  int no = run->info->n_obj;
  run->generation = g.gen;
  run->n_generations = g.ngen;
  run->evaluations = g.evals;
  guint32 max_id = run->max_id;
  gboolean any = run->any_id;
  guint first = run->cloud_x->len;
  for (gsize i = 0; i < n; i++) {
    if (any && ids[i] <= run->max_id)
      continue;
    max_id = MAX(max_id, ids[i]);
    double x, y;
    generation_xy(run, &g, i, &x, &y);
    run->seen++;
    if (run->cloud_x->len < MAX_CLOUD) {
      g_array_append_val(run->cloud_x, x);
      g_array_append_val(run->cloud_y, y);
      g_array_append_val(run->cloud_raw, acc[i]);
      g_array_append_vals(run->cloud_raw, costs + i * no, (guint)no);
      continue;
    }
    /* Reservoir sampling: every candidate seen stays with the same chance, memory stays bounded. */
    guint64 j = (guint64)(g_rand_double(run->rand) * (double)run->seen);
    if (j >= MAX_CLOUD)
      continue;
    g_array_index(run->cloud_x, double, j) = x;
    g_array_index(run->cloud_y, double, j) = y;
    double *raw = &g_array_index(run->cloud_raw, double, j * (no + 1));
    raw[0] = acc[i];
    memcpy(raw + 1, costs + i * no, sizeof(double) * no);
    run->cloud_dirty = TRUE;
  }
  run->max_id = max_id;
  run->any_id = TRUE;
  guint added = run->cloud_x->len - first;
  if (added > 0)
    frontier_chart_append_many(self->pareto_chart, self->s_explored, &g_array_index(run->cloud_x, double, first),
                               &g_array_index(run->cloud_y, double, first), added);
}

/* ---- the candidate views ---- */

static char *
point_summary(const Run *run, const FrApqSearchPoint *p)
{
  GString *s = g_string_new(NULL);
  if (run->has_accuracy)
    g_string_append_printf(s, "Predicted top-1 %.2f %%", p->accuracy * 100);
  for (int o = 0; o < run->info->n_obj; o++) {
    g_autofree char *v = format_raw(p->costs[o], fr_apq_cost_table_objective_unit(run->info->table, o));
    g_string_append_printf(s, "%s%s %s", s->len ? " · " : "", run->info->title[o], v);
  }
  double macs = fr_apq_spec_macs(run->info->space, &p->spec);
  gint64 params = fr_apq_spec_params(run->info->space, &p->spec);
  g_autofree char *m = format_raw(macs, "MACs");
  g_autofree char *pa = format_raw((double)params, "parameters");
  g_string_append_printf(s, " · %s · %s", m, pa);
  return g_string_free(s, FALSE);
}

/* "91.2 % at 0.412 ms" */
static char *
point_short(const Run *run, const FrApqSearchPoint *p)
{
  g_autofree char *x = format_raw(p->costs[run->x_obj], fr_apq_cost_table_objective_unit(run->info->table, run->x_obj));
  if (run->has_accuracy)
    return g_strdup_printf("%.1f %% at %s", p->accuracy * 100, x);
  g_autofree char *y = format_raw(p->costs[run->y_obj], fr_apq_cost_table_objective_unit(run->info->table, run->y_obj));
  return g_strdup_printf("%s, %s", x, y);
}

typedef struct {
  const FrApqSpace *space;
  char *cost_model;
  FrApqSpec spec;
  guint serial;
  GArray *rows;
} BreakdownTask;

static void
breakdown_task_free(gpointer data)
{
  BreakdownTask *t = data;
  g_free(t->cost_model);
  if (t->rows != NULL)
    g_array_unref(t->rows);
  g_free(t);
}

static void
breakdown_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  BreakdownTask *t = data;
  GError *error = NULL;
  t->rows = fr_apq_workbench_breakdown(t->space, t->cost_model, &t->spec, &error);
  if (t->rows == NULL)
    g_task_return_error(task, error);
  else
    g_task_return_boolean(task, TRUE);
}

static void
breakdown_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(source);
  BreakdownTask *t = g_task_get_task_data(G_TASK(result));
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean(G_TASK(result), &error);
  if (g_cancellable_is_cancelled(self->cancellable) || t->serial != self->breakdown_serial ||
      self->selected.run == NULL)
    return;
  if (!ok) {
    g_autofree char *msg = g_strdup_printf("No per-layer breakdown: %s", error->message);
    frontier_apq_breakdown_set_rows(self->breakdown, NULL, 0, NULL, NULL);
    frontier_apq_breakdown_set_placeholder(self->breakdown, msg);
    return;
  }
  const TableInfo *info = self->selected.run->info;
  const char *names[MAXO], *units[MAXO];
  for (int o = 0; o < info->n_obj; o++) {
    names[o] = info->title[o];
    units[o] = fr_apq_cost_table_objective_unit(info->table, o);
  }
  frontier_apq_breakdown_set_rows(self->breakdown, t->rows, info->n_obj, names, units);
}

static void
show_breakdown(FrontierApqPage *self, const Run *run, const FrApqSearchPoint *p)
{
  self->breakdown_serial++;
  frontier_apq_breakdown_set_rows(self->breakdown, NULL, 0, NULL, NULL);
  frontier_apq_breakdown_set_placeholder(self->breakdown, "Pricing each layer…");
  BreakdownTask *t = g_new0(BreakdownTask, 1);
  t->space = run->info->space;
  t->cost_model = g_strdup(run->info->cost_model);
  t->spec = p->spec;
  t->serial = self->breakdown_serial;
  GTask *task = g_task_new(self, self->cancellable, breakdown_done_cb, NULL);
  g_task_set_task_data(task, t, breakdown_task_free);
  g_task_run_in_thread(task, breakdown_thread);
  g_object_unref(task);
}

static void
set_breakdown_objectives(FrontierApqPage *self, const Run *run)
{
  const char *titles[MAXO + 1] = { NULL };
  for (int o = 0; o < run->info->n_obj; o++)
    titles[o] = run->info->title[o];
  self->updating = TRUE;
  GtkStringList *list = gtk_string_list_new(titles);
  gtk_drop_down_set_model(self->breakdown_dropdown, G_LIST_MODEL(list));
  g_object_unref(list);
  gtk_drop_down_set_selected(self->breakdown_dropdown, (guint)run->x_obj);
  frontier_apq_breakdown_set_objective(self->breakdown, run->x_obj);
  self->updating = FALSE;
}

static void
breakdown_objective_cb(FrontierApqPage *self)
{
  if (self->updating)
    return;
  guint i = gtk_drop_down_get_selected(self->breakdown_dropdown);
  if (i != GTK_INVALID_LIST_POSITION)
    frontier_apq_breakdown_set_objective(self->breakdown, (int)i);
}

static void
clear_candidate_view(FrontierApqPage *self, const char *why)
{
  candidate_clear(&self->selected);
  self->breakdown_serial++;
  gtk_label_set_text(self->candidate_title, "No candidate selected");
  gtk_label_set_text(self->candidate_summary, why);
  gtk_label_set_text(self->candidate_spec, " ");
  frontier_apq_arch_set_spec(self->arch_view, NULL, NULL);
  frontier_apq_breakdown_set_rows(self->breakdown, NULL, 0, NULL, NULL);
  frontier_apq_breakdown_set_placeholder(self->breakdown, "The selected candidate’s cost, layer by layer");
  frontier_chart_set_highlight(self->pareto_chart, -1, 0);
  update_sensitivity(self);
}

static void
select_candidate(FrontierApqPage *self, Run *run, int index)
{
  const FrApqSearchResult *res = run_result(run);
  const FrApqSearchPoint *p = run_point(run, res, index);
  if (p == NULL)
    return;
  Run *keep = run_ref(run);
  candidate_clear(&self->selected);
  self->selected.run = keep;
  self->selected.index = index;
  gboolean on_front = index < res->n_front;

  /* Ring it on the plot when that run is shown. */
  if (run == self->shown && self->front_order != NULL) {
    for (guint k = 0; k < self->front_order->len; k++)
      if (g_array_index(self->front_order, int, k) == index)
        frontier_chart_set_highlight(self->pareto_chart, (int)self->s_front, k);
  }
  int rank_by_x = 0;
  if (self->front_order != NULL && run == self->shown)
    for (guint k = 0; k < self->front_order->len; k++)
      if (g_array_index(self->front_order, int, k) == index)
        rank_by_x = (int)k;
  if (!on_front) {
    frontier_chart_set_highlight(self->pareto_chart, (int)self->s_population, index - res->n_front);
  }
  g_autofree char *title = on_front ? g_strdup_printf("Front member %d of %d%s", rank_by_x + 1, res->n_front,
                                                      index == best_index(run, res)
                                                        ? (run->has_accuracy ? " · most accurate" : " · cheapest")
                                                        : "")
                                    : g_strdup("A member of the last generation (not on the front)");
  gtk_label_set_text(self->candidate_title, title);
  g_autofree char *summary = point_summary(run, p);
  gtk_label_set_text(self->candidate_summary, summary);
  g_autofree char *spec = fr_apq_spec_to_string(run->info->space, &p->spec);
  gtk_label_set_text(self->candidate_spec, spec);
  frontier_apq_arch_set_spec(self->arch_view, run->info->space, &p->spec);
  set_breakdown_objectives(self, run);
  show_breakdown(self, run, p);
  update_sensitivity(self);
}

static void
update_compare_view(FrontierApqPage *self)
{
  const FrApqSearchPoint *a = candidate_point(&self->cmp_a), *b = candidate_point(&self->cmp_b);
  Candidate *cands[2] = { &self->cmp_a, &self->cmp_b };
  GtkLabel *labels[2] = { self->compare_a_label, self->compare_b_label };
  FrontierApqArch *archs[2] = { self->arch_a, self->arch_b };
  const FrApqSearchPoint *pts[2] = { a, b };
  for (int i = 0; i < 2; i++) {
    if (pts[i] == NULL) {
      gtk_label_set_text(labels[i], i == 0 ? "A: none" : "B: none");
      frontier_apq_arch_set_spec(archs[i], NULL, NULL);
      continue;
    }
    Run *r = cands[i]->run;
    g_autofree char *s = point_short(r, pts[i]);
    g_autofree char *t = g_strdup_printf("%s: %s (search %u)", i == 0 ? "A" : "B", s, r->number);
    gtk_label_set_text(labels[i], t);
    frontier_apq_arch_set_spec(archs[i], r->info->space, &pts[i]->spec);
  }
  gboolean same_space = a != NULL && b != NULL && self->cmp_a.run->info->space == self->cmp_b.run->info->space;
  frontier_apq_arch_set_reference(self->arch_a, same_space ? &b->spec : NULL);
  frontier_apq_arch_set_reference(self->arch_b, same_space ? &a->spec : NULL);
  if (a == NULL || b == NULL) {
    gtk_label_set_text(self->compare_summary,
                       a == NULL && b == NULL
                         ? "Pick two candidates with “Compare as A” and “B” to see them side by side."
                         : "Pick the other candidate too: select a point on the front and use “Compare as A” or “B”.");
    return;
  }
  const TableInfo *ia = self->cmp_a.run->info, *ib = self->cmp_b.run->info;
  GString *s = g_string_new("B against A: ");
  gboolean any = FALSE;
  if (self->cmp_a.run->has_accuracy && self->cmp_b.run->has_accuracy) {
    double d = (b->accuracy - a->accuracy) * 100;
    g_string_append_printf(s, "accuracy %s%.2f points", d < 0 ? "−" : "+", fabs(d));
    any = TRUE;
  }
  if (ia->n_obj == ib->n_obj && g_strcmp0(ia->cost_model, ib->cost_model) == 0) {
    for (int o = 0; o < ia->n_obj; o++) {
      const char *unit = fr_apq_cost_table_objective_unit(ia->table, o);
      double d = b->costs[o] - a->costs[o];
      g_autofree char *v = format_raw(fabs(d), unit);
      g_string_append_printf(s, "%s%s %s%s", any ? " · " : "", ia->title[o], d < 0 ? "−" : "+", v);
      if (a->costs[o] > 0)
        g_string_append_printf(s, " (%s%.0f %%)", d < 0 ? "−" : "+", fabs(100 * d / a->costs[o]));
      any = TRUE;
    }
  } else {
    g_string_append_printf(s, "%s(costs from different cost models: %s and %s)", any ? " · " : "", ia->cost_label,
                           ib->cost_label);
  }
  if (same_space)
    g_string_append(s, ". Blocks that differ are outlined.");
  else
    g_string_append(s, ". The two come from different spaces.");
  gtk_label_set_text(self->compare_summary, s->str);
  g_string_free(s, TRUE);
}

/* ---- joint vs sequential ---- */

static void
add_front_series(FrontierChart *chart, const Run *run, const FrApqSearchResult *res, const char *name,
                 FrontierChartStyle style, const char *color)
{
  GdkRGBA c;
  gdk_rgba_parse(&c, color);
  guint s = frontier_chart_add_series(chart, name, style, &c);
  if (res == NULL)
    return;
  g_autoptr(GArray) order = sorted_front(run, res);
  for (guint k = 0; k < order->len; k++) {
    const FrApqSearchPoint *p = &res->front[g_array_index(order, int, k)];
    frontier_chart_append(chart, s, point_x(run, p), point_y(run, p));
  }
}

static void
fill_seq_chart(FrontierApqPage *self, Run *run)
{
  const FrApqSearchComparison *cmp = run->search != NULL ? fr_apq_search_get_comparison(run->search) : NULL;
  frontier_chart_remove_all_series(self->seq_chart);
  if (cmp == NULL || cmp->joint == NULL) {
    gtk_label_set_text(self->seq_summary, "The comparison did not finish.");
    return;
  }
  set_axes(self, self->seq_chart, run);
  pin_axes(self->seq_chart, run);
  static const char *const stage_names[3] = { "Sequential 1: architecture", "Sequential 2: + channel pruning",
                                              "Sequential 3: + bit allocation" };
  static const char *const stage_colors[3] = { "#99c1f1", "#9141ac", "#2ec27e" };
  for (int k = 0; k < 3; k++)
    add_front_series(self->seq_chart, run, cmp->stages[k], stage_names[k],
                     k == 2 ? FRONTIER_CHART_LINE_MARKERS : FRONTIER_CHART_SCATTER, stage_colors[k]);
  add_front_series(self->seq_chart, run, cmp->joint, "Joint (APQ)", FRONTIER_CHART_LINE_MARKERS, "#ff7800");

  GString *s = g_string_new("Measured here (predicted top-1, ");
  g_string_append_printf(s, "%s, %s, %u generations per search): ", run->info->space_name, run->info->cost_label,
                         (guint)run->cfg.generations);
  const FrApqSearchPoint *jb = best_point(run, cmp->joint);
  g_autofree char *joint = point_short(run, jb);
  g_string_append_printf(s, "joint %s", joint);
  const FrApqSearchResult *seq = cmp->stages[2];
  if (seq != NULL) {
    const FrApqSearchPoint *sb = best_point(run, seq);
    g_autofree char *sq = point_short(run, sb);
    double d = (jb->accuracy - sb->accuracy) * 100;
    g_string_append_printf(s, "; sequential (architecture%s, then pruning, then bits) %s. Joint minus sequential: "
                              "%s%.2f points.",
                           run->stage_bits > 0 ? " at 8 bits" : " at full precision", sq, d < 0 ? "−" : "+",
                           fabs(d));
  } else {
    g_string_append_printf(s, "; the sequential pipeline stopped: %s.",
                           cmp->sequential_error != NULL ? cmp->sequential_error : "no result");
  }
  g_string_append(s, " For reference, APQ’s paper reports 74.1 % for the joint search against 71.8 % for ProxylessNAS + "
                     "AMC + HAQ at about 8.4 ms on ImageNet; those figures are the paper’s, not measured here.");
  gtk_label_set_text(self->seq_summary, s->str);
  g_string_free(s, TRUE);
}

/* ---- showing a run ---- */

static void
show_run(FrontierApqPage *self, Run *run)
{
  if (run != self->shown) {
    Run *keep = run_ref(run);
    g_clear_pointer(&self->shown, run_unref);
    self->shown = keep;
  }
  setup_pareto_series(self);
  set_axes(self, self->pareto_chart, run);
  pin_axes(self->pareto_chart, run);
  frontier_chart_reset_view(self->pareto_chart);
  if (run->cloud_x->len > 0)
    frontier_chart_append_many(self->pareto_chart, self->s_explored, (double *)run->cloud_x->data,
                               (double *)run->cloud_y->data, run->cloud_x->len);
  if (run->pop_x->len > 0)
    frontier_chart_append_many(self->pareto_chart, self->s_population, (double *)run->pop_x->data,
                               (double *)run->pop_y->data, run->pop_x->len);
  const FrApqSearchResult *res = run_result(run);
  g_clear_pointer(&self->front_order, g_array_unref);
  self->front_order = sorted_front(run, res);
  for (guint k = 0; k < self->front_order->len; k++) {
    const FrApqSearchPoint *p = &res->front[g_array_index(self->front_order, int, k)];
    frontier_chart_append(self->pareto_chart, self->s_front, point_x(run, p), point_y(run, p));
  }
  update_budget_line(self, run);
  g_autofree char *evaluated = fr_report_format_int((gint64)run->evaluations);
  g_autofree char *prefix = run->cancelled ? g_strdup_printf("Search %u · cancelled at generation %u · %s evaluated",
                                                              run->number, run->generation, evaluated)
                                            : g_strdup_printf("Search %u · %s evaluated", run->number, evaluated);
  set_status(self, prefix, run->pop_x->len, self->front_order->len);
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->status_label), prefix);
  if (res != NULL && res->n_front > 0)
    select_candidate(self, run, best_index(run, res));
  else
    clear_candidate_view(self, "This search has no front to pick from.");
  if (run->compare)
    fill_seq_chart(self, run);
  update_sensitivity(self);
}

static char *
settings_summary(const Run *run)
{
  GString *s = g_string_new(run->info->space_name);
  for (int o = 0; o < run->info->n_obj; o++) {
    if (!isfinite(run->cfg.budget[o]))
      continue;
    g_autofree char *v = format_raw(run->cfg.budget[o], fr_apq_cost_table_objective_unit(run->info->table, o));
    g_string_append_printf(s, " · %s ≤ %s", run->info->title[o], v);
  }
  g_string_append_printf(s, " · %u generations · seed %" G_GUINT64_FORMAT, (guint)run->cfg.generations, run->cfg.seed);
  return g_string_free(s, FALSE);
}

static void
add_history(FrontierApqPage *self, Run *run)
{
  const FrApqSearchResult *res = run_result(run);
  GtkWidget *row = adw_action_row_new();
  const char *mode = run->compare ? "Joint vs sequential"
                     : !run->has_accuracy ? "Cost-only"
                     : run->cfg.mode == FR_APQ_SEARCH_NSGA2 ? "NSGA-II"
                                                            : "Evolution";
  g_autofree char *title = g_strdup_printf("%u · %s · %s", run->number, mode, run->info->cost_label);
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
  g_autofree char *settings = settings_summary(run);
  g_autofree char *best = res != NULL ? point_short(run, best_point(run, res)) : g_strdup("no result");
  g_autofree char *sub = g_strdup_printf("%s\n%s %s · front of %d%s", settings, run->has_accuracy ? "Best" : "Cheapest",
                                         best, res != NULL ? res->n_front : 0, run->cancelled ? " · cancelled" : "");
  adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
  adw_action_row_set_subtitle_lines(ADW_ACTION_ROW(row), 4);
  gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), TRUE);
  GtkWidget *when = gtk_label_new(run->when);
  gtk_widget_add_css_class(when, "dim-label");
  gtk_widget_add_css_class(when, "caption");
  gtk_widget_add_css_class(when, "numeric");
  adw_action_row_add_suffix(ADW_ACTION_ROW(row), when);
  g_object_set_data_full(G_OBJECT(row), "run", run_ref(run), run_unref);
  gtk_list_box_prepend(self->history_list, row);
  gtk_list_box_select_row(self->history_list, GTK_LIST_BOX_ROW(row));
  /* Keep the newest MAX_HISTORY. */
  GtkListBoxRow *last;
  while ((last = gtk_list_box_get_row_at_index(self->history_list, MAX_HISTORY)) != NULL)
    gtk_list_box_remove(self->history_list, GTK_WIDGET(last));
}

static void
history_activated_cb(FrontierApqPage *self, GtkListBoxRow *row)
{
  Run *run = g_object_get_data(G_OBJECT(row), "run");
  if (run == NULL)
    return;
  if (self->search != NULL) {
    frontier_page_toast(GTK_WIDGET(self), "Wait for the search to finish, or cancel it", 3);
    return;
  }
  show_run(self, run);
  if (run->compare)
    gtk_stack_set_visible_child_name(self->detail_stack, "sequential");
}

/* ---- the job ---- */

static void
search_orphan_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  fr_apq_search_free(data); /* cancelled: stops after the current generation */
  g_task_return_boolean(task, TRUE);
}

static void
search_orphan_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  GApplication *app = user_data;
  if (app != NULL) {
    g_application_release(app);
    g_object_unref(app);
  }
}

/* Cancels a running search and frees it on a thread, holding the application until then. */
static void
search_orphan(FrApqSearch *search)
{
  if (search == NULL)
    return;
  fr_job_cancel(fr_apq_search_get_job(search));
  GApplication *app = g_application_get_default();
  if (app != NULL) {
    g_object_ref(app);
    g_application_hold(app);
  }
  GTask *task = g_task_new(NULL, NULL, search_orphan_done, app);
  g_task_set_task_data(task, search, NULL);
  g_task_run_in_thread(task, search_orphan_thread);
  g_object_unref(task);
}

static void
finish_job(FrontierApqPage *self, FrEvent *ev)
{
  FrJobStatus status = ev->status;
  FrApqSearch *search = g_steal_pointer(&self->search);
  Run *run = g_steal_pointer(&self->run);
  if (status == FR_JOB_RUNNING)
    status = fr_job_get_status(fr_apq_search_get_job(search));
  gboolean superseded = self->pending != PENDING_NONE && !self->user_cancelled;
  self->cancel_requested = FALSE;
  g_clear_pointer(&self->last_generation, g_variant_unref);

  if (status == FR_JOB_SUCCEEDED || status == FR_JOB_CANCELLED) {
    run->search = search;
    run->cancelled = status == FR_JOB_CANCELLED;
    const FrApqSearchResult *res = fr_apq_search_get_result(search);
    if (res != NULL) {
      run->has_accuracy = res->has_accuracy;
      run->evaluations = res->n_evaluations;
      run->generation = (guint)res->generations_done;
    }
    if (superseded) {
      set_progress(self, 0, "Restarting with the new budgets…");
    } else if (res != NULL) {
      add_history(self, run);
      show_run(self, run);
      g_autofree char *evaluated = fr_report_format_int((gint64)res->n_evaluations);
      g_autofree char *text = run->cancelled
                                ? g_strdup_printf("Cancelled after %d generations: the front so far", res->generations_done)
                                : g_strdup_printf("Finished in %.2f s: %s candidates scored, front of %d", res->seconds,
                                                  evaluated, res->n_front);
      set_progress(self, run->cancelled ? -1 : 1, text);
      if (run->compare)
        gtk_stack_set_visible_child_name(self->detail_stack, "sequential");
    } else {
      set_progress(self, 0, "Cancelled before the first generation");
      frontier_page_toast(GTK_WIDGET(self), "Search cancelled", 3);
    }
  } else {
    const char *why = ev->message != NULL && *ev->message ? ev->message : "unknown error";
    g_autofree char *text = g_strdup_printf("The search failed: %s", why);
    set_progress(self, 0, "Failed");
    show_error(self, text, FALSE);
    fr_apq_search_free(search); /* finished: immediate */
  }
  run_unref(run);
  self->user_cancelled = FALSE;
  update_sensitivity(self);

  Pending pending = self->pending;
  self->pending = PENDING_NONE;
  if (pending != PENDING_NONE)
    start_job(self, pending == PENDING_COMPARE);
}

static const char *
phase_words(const char *phase)
{
  if (g_strcmp0(phase, "joint") == 0)
    return "Joint search";
  if (g_strcmp0(phase, "arch") == 0)
    return "Sequential 1 of 3, architecture";
  if (g_strcmp0(phase, "width") == 0)
    return "Sequential 2 of 3, channel pruning";
  if (g_strcmp0(phase, "bits") == 0)
    return "Sequential 3 of 3, bit allocation";
  return "Searching";
}

static gboolean
tick_cb(GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(widget);
  if (self->search == NULL) {
    self->tick_id = 0;
    return G_SOURCE_REMOVE;
  }
  FrJob *job = fr_apq_search_get_job(self->search);
  FrEvent *finished = NULL;
  gboolean progressed = FALSE;
  const char *live_phase = self->run->compare ? "joint" : "search";
  for (int k = 0; k < MAX_EVENTS_PER_FRAME && finished == NULL; k++) {
    FrEvent *ev = fr_job_pop_event(job);
    if (ev == NULL)
      break;
    switch (ev->kind) {
    case FR_EVENT_PROGRESS:
      if (ev->fraction >= 0) {
        self->fraction = MAX(self->fraction, ev->fraction);
        progressed = TRUE;
      }
      break;
    case FR_EVENT_PAYLOAD:
      if (ev->payload == NULL || ev->payload_type == NULL)
        break;
      if (g_str_equal(ev->payload_type, "apq.search.generation") &&
          g_variant_is_of_type(ev->payload, G_VARIANT_TYPE(FR_APQ_SEARCH_GENERATION_TYPE))) {
        const char *phase = NULL;
        guint32 gen = 0, ngen = 0;
        g_variant_get_child(ev->payload, 0, "&s", &phase);
        g_variant_get_child(ev->payload, 1, "u", &gen);
        g_variant_get_child(ev->payload, 2, "u", &ngen);
        if (g_strcmp0(phase, live_phase) == 0) {
          absorb_generation(self, ev->payload);
          g_clear_pointer(&self->last_generation, g_variant_unref);
          self->last_generation = g_variant_ref(ev->payload);
        }
        g_free(self->progress_text);
        self->progress_text = g_strdup_printf("%s: generation %u of %u", phase_words(phase), gen, ngen);
        progressed = TRUE;
      } else if (g_str_equal(ev->payload_type, "apq.search.start") &&
                 g_variant_is_of_type(ev->payload, G_VARIANT_TYPE(FR_APQ_SEARCH_START_TYPE))) {
        const char *phase = NULL;
        gboolean has_acc = FALSE;
        g_variant_get_child(ev->payload, 1, "&s", &phase);
        g_variant_get_child(ev->payload, 2, "b", &has_acc);
        if (g_strcmp0(phase, live_phase) == 0)
          self->run->has_accuracy = has_acc;
      }
      break;
    case FR_EVENT_LOG:
      if (ev->message != NULL)
        g_debug("apq search: %s", ev->message);
      break;
    case FR_EVENT_FINISHED:
      finished = ev;
      ev = NULL;
      break;
    default:
      break;
    }
    fr_event_free(ev);
  }
  if (self->last_generation != NULL) {
    draw_generation(self, self->last_generation);
    g_clear_pointer(&self->last_generation, g_variant_unref);
  }
  /* A resampled cloud goes to the chart again, twice a second at most. */
  gint64 now = gdk_frame_clock_get_frame_time(clock);
  if (self->run->cloud_dirty && (now - self->cloud_sent_us >= CLOUD_REDRAW_US || finished != NULL)) {
    frontier_chart_clear_series(self->pareto_chart, self->s_explored);
    frontier_chart_append_many(self->pareto_chart, self->s_explored, (double *)self->run->cloud_x->data,
                               (double *)self->run->cloud_y->data, self->run->cloud_x->len);
    self->run->cloud_dirty = FALSE;
    self->cloud_sent_us = now;
  }
  if (progressed && finished == NULL && !self->cancel_requested) {
    g_autofree char *text = g_strdup_printf("%s — %.0f %%", self->progress_text != NULL ? self->progress_text
                                                                                        : "Searching",
                                            self->fraction * 100);
    set_progress(self, self->fraction, text);
  }
  if (finished != NULL) {
    self->tick_id = 0;
    finish_job(self, finished);
    fr_event_free(finished);
    if (self->search != NULL && self->tick_id == 0) /* a pending search started */
      self->tick_id = gtk_widget_add_tick_callback(widget, tick_cb, NULL, NULL);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
build_config(FrontierApqPage *self, const TableInfo *info, gboolean has_accuracy, FrApqSearchConfig *cfg)
{
  fr_apq_search_config_init(cfg);
  cfg->mode = adw_combo_row_get_selected(self->mode_row) == 1 ? FR_APQ_SEARCH_NSGA2 : FR_APQ_SEARCH_EVOLUTION;
  cfg->generations = gtk_spin_button_get_value_as_int(self->generations_spin);
  cfg->seed = (guint64)llround(gtk_spin_button_get_value(self->seed_spin));
  for (int o = 0; o < MAXO; o++) {
    cfg->budget[o] = INFINITY;
    cfg->objective_sense[o] = FR_APQ_OBJ_IGNORE;
  }
  for (int o = 0; o < MIN(2, info->n_obj); o++) {
    double b = frontier_apq_budget_get_budget(budget_row(self, o));
    cfg->budget[o] = isfinite(b) ? b * info->scale[o] : INFINITY;
  }
  /* The plot is two-dimensional: the front is taken over what it shows (accuracy against the first
   * cost, or the first two costs without a predictor); the other costs are budgets only. */
  cfg->objective_sense[0] = FR_APQ_OBJ_MINIMIZE;
  if (!has_accuracy && info->n_obj > 1)
    cfg->objective_sense[1] = FR_APQ_OBJ_MINIMIZE;
}

static void
start_job(FrontierApqPage *self, gboolean compare)
{
  if (self->search != NULL) {
    /* One at a time: stop this one, start the next when it has. */
    if (!self->cancel_requested) {
      fr_job_cancel(fr_apq_search_get_job(self->search));
      self->cancel_requested = TRUE;
    }
    self->user_cancelled = FALSE;
    self->pending = compare ? PENDING_COMPARE : PENDING_SEARCH;
    set_progress(self, -1, "Restarting with the new settings…");
    update_sensitivity(self);
    return;
  }
  TableInfo *info = self->info;
  if (info == NULL)
    return;
  PredictorSlot *slot = current_predictor(self);
  gboolean has_accuracy = slot->predictor != NULL;
  if (compare && !has_accuracy)
    return;
  FrApqSearchConfig cfg;
  build_config(self, info, has_accuracy, &cfg);
  int stage_bits = info->fp_available ? 0 : info->space->bit_options[FR_APQ_N_BITS - 1];
  g_autoptr(GError) error = NULL;
  FrApqSearch *search = compare ? fr_apq_search_start_compare(info->table, slot->predictor, &cfg, stage_bits, &error)
                                : fr_apq_search_start(info->table, slot->predictor, &cfg, &error);
  if (search == NULL) {
    gboolean budget = g_error_matches(error, FR_APQ_ERROR, FR_APQ_ERROR_BUDGET);
    g_autofree char *text = g_strdup_printf(budget ? "Impossible budget: %s" : "The search cannot start: %s",
                                            error->message);
    show_error(self, text, budget);
    set_progress(self, 0, budget ? "No network meets the budgets" : "Not started");
    update_sensitivity(self);
    return;
  }
  hide_error(self);

  Run *run = g_atomic_rc_box_new0(Run);
  run->number = ++self->run_counter;
  run->info = table_info_ref(info);
  run->predictor_label = has_accuracy ? g_strdup(slot->label != NULL ? slot->label : "predictor") : NULL;
  run->cfg = cfg;
  run->compare = compare;
  run->stage_bits = stage_bits;
  run->has_accuracy = has_accuracy;
  run->x_obj = 0;
  run->y_obj = has_accuracy ? -1 : (info->n_obj > 1 ? 1 : 0);
  run->cloud_x = g_array_new(FALSE, FALSE, sizeof(double));
  run->cloud_y = g_array_new(FALSE, FALSE, sizeof(double));
  run->pop_x = g_array_new(FALSE, FALSE, sizeof(double));
  run->pop_y = g_array_new(FALSE, FALSE, sizeof(double));
  run->pop_points = g_array_new(FALSE, FALSE, sizeof(FrApqSearchPoint));
  run->cloud_raw = g_array_new(FALSE, FALSE, sizeof(double));
  run->rand = g_rand_new_with_seed((guint32)cfg.seed);
  run->n_generations = (guint)cfg.generations;
  g_autoptr(GDateTime) now = g_date_time_new_now_local();
  run->when = g_date_time_format(now, "%H:%M");

  self->search = search;
  self->run = run;
  self->cancel_requested = FALSE;
  self->user_cancelled = FALSE;
  self->fraction = 0;
  self->searched_once = TRUE;
  g_clear_pointer(&self->progress_text, g_free);

  /* The plot follows the new search from its first generation. */
  g_clear_pointer(&self->shown, run_unref);
  g_clear_pointer(&self->front_order, g_array_unref);
  gtk_list_box_unselect_all(self->history_list);
  setup_pareto_series(self);
  set_axes(self, self->pareto_chart, run);
  pin_axes(self->pareto_chart, run);
  frontier_chart_reset_view(self->pareto_chart);
  frontier_chart_set_highlight(self->pareto_chart, -1, 0);
  set_status(self, "Starting", 0, 0);
  set_progress(self, 0, compare ? "Starting the joint search…" : "Starting…");
  if (compare) {
    frontier_chart_remove_all_series(self->seq_chart);
    gtk_label_set_text(self->seq_summary, "Running the joint search, then the three sequential stages…");
  }
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback(GTK_WIDGET(self), tick_cb, NULL, NULL);
  update_sensitivity(self);
}

/* ---- sensitivity ---- */

static void
update_sensitivity(FrontierApqPage *self)
{
  GtkWidget *w = GTK_WIDGET(self);
  gboolean running = self->search != NULL;
  gboolean ready = self->info != NULL && !self->preparing;
  gboolean has_pred = current_predictor(self)->predictor != NULL;
  gtk_widget_action_set_enabled(w, "apq.search", ready && !running);
  gtk_widget_action_set_enabled(w, "apq.cancel", running && !self->cancel_requested);
  gtk_widget_action_set_enabled(w, "apq.compare", ready && !running && has_pred);
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->compare_button),
                              has_pred ? "Run the joint search and the three sequential stages with these settings"
                                       : "The comparison needs an accuracy predictor");
  gboolean can_export = self->shown != NULL && run_result(self->shown) != NULL;
  gtk_widget_action_set_enabled(w, "apq.export", can_export);
  gtk_widget_set_sensitive(GTK_WIDGET(self->export_button), can_export);
  gtk_widget_action_set_enabled(w, "apq.load-predictor", !running);
  gtk_widget_action_set_enabled(w, "apq.set-compare", self->selected.run != NULL);
  gboolean can_step = !running && self->shown != NULL && self->front_order != NULL && self->front_order->len > 1;
  gtk_widget_action_set_enabled(w, "apq.step-member", can_step);
  gtk_widget_set_sensitive(GTK_WIDGET(self->space_row), !running);
  gtk_widget_set_sensitive(GTK_WIDGET(self->cost_row), !running);
  gtk_widget_set_sensitive(GTK_WIDGET(self->mode_row), !running);
}

/* ---- preparing cost tables and predictors ---- */

typedef struct {
  char *space_name, *cost_model;
  guint serial;
  gboolean need_table, need_predictor;
  TableInfo *info;
  FrApqPredictor *predictor;
  char *predictor_label;
  char *predictor_error;
  char *table_error;
} PrepareTask;

static void
prepare_task_free(gpointer data)
{
  PrepareTask *t = data;
  g_free(t->space_name);
  g_free(t->cost_model);
  table_info_unref(t->info);
  if (t->predictor != NULL)
    fr_apq_predictor_free(t->predictor);
  g_free(t->predictor_label);
  g_free(t->predictor_error);
  g_free(t->table_error);
  g_free(t);
}

static void
prepare_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PrepareTask *t = data;
  const FrApqSpace *space = fr_apq_space_lookup(t->space_name);
  if (t->need_table && space != NULL) {
    GError *error = NULL;
    FrApqCostTable *table = fr_apq_workbench_cost_table(space, t->cost_model, &error);
    if (table == NULL) {
      t->table_error = g_strdup(error != NULL ? error->message : "unknown error");
      g_clear_error(&error);
    } else {
      TableInfo *info = g_atomic_rc_box_new0(TableInfo);
      info->table = table;
      info->space = space;
      info->space_name = g_strdup(t->space_name);
      info->cost_model = g_strdup(t->cost_model);
      const FrApqCostModelInfo *models = fr_apq_cost_models_for_space(space);
      for (int i = 0; models != NULL && models[i].name != NULL; i++)
        if (g_strcmp0(models[i].name, t->cost_model) == 0)
          info->cost_label = g_strdup(models[i].label);
      if (info->cost_label == NULL)
        info->cost_label = g_strdup(t->cost_model);
      table_info_fill(info);
      t->info = info;
    }
  }
  if (t->need_predictor && space != NULL) {
    GError *error = NULL;
    t->predictor = fr_apq_workbench_predictor(space, NULL, &t->predictor_label, &error);
    if (t->predictor == NULL && error != NULL) {
      t->predictor_error = g_strdup(error->message);
      g_clear_error(&error);
    }
  }
  g_task_return_boolean(task, TRUE);
}

/* Sensible starting budgets for a table: the first objective on, well inside its range. */
static void
configure_budgets(FrontierApqPage *self, const TableInfo *info, gboolean reset)
{
  for (int o = 0; o < 2; o++) {
    FrontierApqBudget *row = budget_row(self, o);
    gboolean present = o < info->n_obj;
    gtk_widget_set_visible(GTK_WIDGET(row), present);
    if (!present)
      continue;
    double lo = info->min[o] / info->scale[o], hi = info->max[o] / info->scale[o];
    double top = hi * 1.05;
    int digits = top < 0.1 ? 4 : top < 1 ? 3 : top < 10 ? 2 : top < 1000 ? 1 : 0;
    frontier_apq_budget_set_objective(row, info->title[o], info->unit[o]);
    frontier_apq_budget_configure(row, 0, top, lo, digits);
    if (reset) {
      double v = lo + (o == 0 ? 0.45 : 0.7) * (hi - lo);
      double q = pow(10, digits);
      frontier_apq_budget_set_value(row, ceil(v * q) / q);
      frontier_apq_budget_set_enabled(row, o == 0);
    }
  }
}

static void
apply_info(FrontierApqPage *self, TableInfo *info)
{
  /* The user's budgets stay when the new table has the same objectives in the same space. */
  const TableInfo *old = self->budget_info;
  gboolean reset = old == NULL || old->n_obj != info->n_obj || old->space != info->space;
  for (int o = 0; !reset && o < MIN(2, info->n_obj); o++)
    if (g_strcmp0(old->title[o], info->title[o]) != 0 || old->scale[o] != info->scale[o])
      reset = TRUE;
  TableInfo *keep = table_info_ref(info);
  table_info_unref(self->info);
  self->info = keep;
  table_info_unref(self->budget_info);
  self->budget_info = table_info_ref(info);
  configure_budgets(self, info, reset);
  const FrApqCostModelInfo *models = fr_apq_cost_models_for_space(info->space);
  for (int i = 0; models != NULL && models[i].name != NULL; i++)
    if (g_strcmp0(models[i].name, info->cost_model) == 0)
      gtk_widget_set_tooltip_text(GTK_WIDGET(self->cost_row), models[i].description);
  if (self->search == NULL && !self->searched_once)
    set_progress(self, 0, "Set your budgets, then search");
}

static void
prepare_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(source);
  PrepareTask *t = g_task_get_task_data(G_TASK(result));
  g_task_propagate_boolean(G_TASK(result), NULL);
  if (g_cancellable_is_cancelled(self->cancellable))
    return;
  for (int i = 0; i < N_SPACES; i++) {
    if (!t->need_predictor || g_strcmp0(space_names[i], t->space_name) != 0)
      continue;
    PredictorSlot *slot = &self->predictors[i];
    if (slot->predictor == NULL) { /* not replaced by a loaded file meanwhile */
      slot->predictor = g_steal_pointer(&t->predictor);
      g_free(slot->label);
      slot->label = g_steal_pointer(&t->predictor_label);
      g_free(slot->error);
      slot->error = g_steal_pointer(&t->predictor_error);
    }
    slot->attempted = TRUE;
  }
  if (t->info != NULL) {
    g_autofree char *key = table_key(t->space_name, t->cost_model);
    g_hash_table_replace(self->tables, g_steal_pointer(&key), table_info_ref(t->info));
  }
  if (t->serial != self->prepare_serial)
    return; /* the selection changed meanwhile; its own preparation follows */
  self->preparing = FALSE;
  g_clear_pointer(&self->prepare_error, g_free);
  if (t->info != NULL) {
    apply_info(self, t->info);
    reveal(self->error_revealer, FALSE);
  } else if (t->table_error != NULL) {
    self->prepare_error = g_strdup(t->table_error);
    g_autofree char *text = g_strdup_printf("The %s cost model is not available: %s", t->cost_model, t->table_error);
    show_error(self, text, FALSE);
    set_progress(self, 0, "Choose another cost model");
  }
  update_predictor_ui(self);
  update_sensitivity(self);
}

static void
request_prepare(FrontierApqPage *self)
{
  const char *model = current_cost_model(self);
  if (model == NULL)
    return;
  const char *space = space_names[current_space_index(self)];
  PredictorSlot *slot = current_predictor(self);
  g_autofree char *key = table_key(space, model);
  TableInfo *cached = g_hash_table_lookup(self->tables, key);
  self->prepare_serial++;
  g_clear_pointer(&self->info, table_info_unref);
  if (cached != NULL && slot->attempted) {
    self->preparing = FALSE;
    apply_info(self, cached);
    reveal(self->error_revealer, FALSE);
    update_predictor_ui(self);
    update_sensitivity(self);
    return;
  }
  self->preparing = TRUE;
  PrepareTask *t = g_new0(PrepareTask, 1);
  t->space_name = g_strdup(space);
  t->cost_model = g_strdup(model);
  t->serial = self->prepare_serial;
  t->need_table = cached == NULL;
  t->need_predictor = !slot->attempted;
  if (cached != NULL)
    t->info = table_info_ref(cached);
  if (!self->searched_once)
    set_progress(self, -1, "Preparing the cost model…");
  GTask *task = g_task_new(self, self->cancellable, prepare_done_cb, NULL);
  g_task_set_task_data(task, t, prepare_task_free);
  g_task_run_in_thread(task, prepare_thread);
  g_object_unref(task);
  update_predictor_ui(self);
  update_sensitivity(self);
}

static void
fill_cost_models(FrontierApqPage *self)
{
  const FrApqCostModelInfo *models = fr_apq_cost_models_for_space(current_space(self));
  g_strfreev(self->cost_models);
  GStrvBuilder *names = g_strv_builder_new();
  GtkStringList *labels = gtk_string_list_new(NULL);
  for (int i = 0; models != NULL && models[i].name != NULL; i++) {
    g_strv_builder_add(names, models[i].name);
    gtk_string_list_append(labels, models[i].label != NULL ? models[i].label : models[i].name);
  }
  self->cost_models = g_strv_builder_end(names);
  g_strv_builder_unref(names);
  self->updating = TRUE;
  adw_combo_row_set_model(self->cost_row, G_LIST_MODEL(labels));
  adw_combo_row_set_selected(self->cost_row, 0);
  self->updating = FALSE;
  g_object_unref(labels);
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->cost_row),
                              models != NULL && models[0].name != NULL ? models[0].description : NULL);
}

static void
space_changed_cb(FrontierApqPage *self)
{
  if (self->updating || self->cost_models == NULL)
    return;
  fill_cost_models(self);
  request_prepare(self);
}

static void
cost_model_changed_cb(FrontierApqPage *self)
{
  if (self->updating || self->cost_models == NULL)
    return;
  request_prepare(self);
}

static void
budget_changed_cb(FrontierApqPage *self)
{
  if (self->info == NULL)
    return;
  hide_error(self);
  /* Once a search has run, a new budget re-runs it at once. */
  if (self->search != NULL || self->searched_once)
    start_job(self, FALSE);
}

static void
page_map_cb(FrontierApqPage *self)
{
  if (self->prepared_once)
    return;
  self->prepared_once = TRUE;
  fill_cost_models(self);
  request_prepare(self);
}

/* ---- actions ---- */

static void
search_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(widget);
  /* From now on a budget change re-runs, even when this first try is refused. */
  self->searched_once = TRUE;
  start_job(self, FALSE);
}

static void
compare_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(widget);
  gtk_stack_set_visible_child_name(self->detail_stack, "sequential");
  start_job(self, TRUE);
}

static void
cancel_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(widget);
  if (self->search == NULL || self->cancel_requested)
    return;
  self->pending = PENDING_NONE;
  self->user_cancelled = TRUE;
  self->cancel_requested = TRUE;
  fr_job_cancel(fr_apq_search_get_job(self->search));
  set_progress(self, -1, "Cancelling…");
  update_sensitivity(self);
}

static void
use_minimum_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(widget);
  if (self->info == NULL)
    return;
  gboolean changed = FALSE;
  for (int o = 0; o < MIN(2, self->info->n_obj); o++) {
    FrontierApqBudget *row = budget_row(self, o);
    double b = frontier_apq_budget_get_budget(row);
    double min = self->info->min[o] / self->info->scale[o];
    if (isfinite(b) && b < min) {
      /* Just above the minimum, at the precision the spin button shows. */
      double top = self->info->max[o] / self->info->scale[o] * 1.05;
      int digits = top < 0.1 ? 4 : top < 1 ? 3 : top < 10 ? 2 : top < 1000 ? 1 : 0;
      double q = pow(10, digits);
      frontier_apq_budget_set_value(row, ceil(min * q * (1 + 1e-9)) / q);
      changed = TRUE;
    }
  }
  hide_error(self);
  if (changed && (self->searched_once || self->search != NULL))
    start_job(self, FALSE);
}

static void
set_compare_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(widget);
  if (self->selected.run == NULL)
    return;
  gboolean b = g_strcmp0(g_variant_get_string(param, NULL), "b") == 0;
  Candidate *c = b ? &self->cmp_b : &self->cmp_a;
  Run *keep = run_ref(self->selected.run);
  candidate_clear(c);
  c->run = keep;
  c->index = self->selected.index;
  update_compare_view(self);
  if (self->cmp_a.run != NULL && self->cmp_b.run != NULL)
    gtk_stack_set_visible_child_name(self->detail_stack, "compare");
  else
    frontier_page_toast(GTK_WIDGET(self), b ? "Candidate B set: now pick A" : "Candidate A set: now pick B", 2);
}

/* Walks the shown front along x: for keyboards and screen readers, which cannot click a point. */
static void
step_member_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(widget);
  if (self->shown == NULL || self->front_order == NULL || self->front_order->len == 0 || self->search != NULL)
    return;
  int step = g_variant_get_int32(param);
  int pos = -1;
  if (self->selected.run == self->shown)
    for (guint k = 0; k < self->front_order->len; k++)
      if (g_array_index(self->front_order, int, k) == self->selected.index)
        pos = (int)k;
  pos = pos < 0 ? 0 : CLAMP(pos + step, 0, (int)self->front_order->len - 1);
  select_candidate(self, self->shown, g_array_index(self->front_order, int, pos));
}

static void
point_activated_cb(FrontierApqPage *self, guint series, guint index)
{
  Run *run = self->shown;
  const FrApqSearchResult *res = run_result(run);
  if (self->search != NULL || res == NULL || self->front_order == NULL) {
    frontier_page_toast(GTK_WIDGET(self), "Pick a candidate when the search has finished", 2);
    return;
  }
  if (series == self->s_front && index < self->front_order->len) {
    select_candidate(self, run, g_array_index(self->front_order, int, index));
    gtk_stack_set_visible_child_name(self->detail_stack, "candidate");
    return;
  }
  if (series == self->s_population && index < run->pop_points->len) {
    select_candidate(self, run, res->n_front + (int)index);
    gtk_stack_set_visible_child_name(self->detail_stack, "candidate");
    return;
  }
  /* Another series' point (the same candidates are also in the population and the explored cloud, and the
   * chart prefers the earlier series on ties): take the front member nearest to it, relative to the
   * plotted ranges, when it is close. */
  /* Another series' point: the explored cloud also holds the current population's points (and the chart
   * reports the earlier series on ties). Take the population member or front member nearest to it,
   * relative to the plotted ranges, when one is close. */
  double x, y;
  if (frontier_chart_get_point(self->pareto_chart, series, index, &x, &y)) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (guint i = 0; i < run->cloud_x->len; i++) {
      x0 = MIN(x0, g_array_index(run->cloud_x, double, i));
      x1 = MAX(x1, g_array_index(run->cloud_x, double, i));
      y0 = MIN(y0, g_array_index(run->cloud_y, double, i));
      y1 = MAX(y1, g_array_index(run->cloud_y, double, i));
    }
    double wx = x1 > x0 ? x1 - x0 : 1, wy = y1 > y0 ? y1 - y0 : 1;
    double best = INFINITY;
    int best_index = -1;
    for (guint k = 0; self->front_order != NULL && k < self->front_order->len; k++) {
      double fx, fy;
      if (!frontier_chart_get_point(self->pareto_chart, self->s_front, k, &fx, &fy))
        continue;
      double d = pow((fx - x) / wx, 2) + pow((fy - y) / wy, 2);
      if (d < best) {
        best = d;
        best_index = g_array_index(self->front_order, int, k);
      }
    }
    for (guint k = 0; k < run->pop_points->len && k < run->pop_x->len; k++) {
      double d = pow((g_array_index(run->pop_x, double, k) - x) / wx, 2) +
                 pow((g_array_index(run->pop_y, double, k) - y) / wy, 2);
      if (d < best) {   /* strictly nearer: a point on the front is taken as the front member */
        best = d;
        best_index = res->n_front + (int)k;
      }
    }
    if (best_index >= 0 && best <= 0.03 * 0.03) {
      select_candidate(self, run, best_index);
      gtk_stack_set_visible_child_name(self->detail_stack, "candidate");
      return;
    }
  }
  frontier_page_toast(GTK_WIDGET(self), "Earlier generations are kept as points only: click a point of the current "
                                        "population (blue) or of the front (orange)", 3);
}

/* ---- predictor files ---- */

typedef struct {
  int space_index;
  char *path;
  FrApqPredictor *predictor;
  char *label;
} PredictorTask;

static void
predictor_task_free(gpointer data)
{
  PredictorTask *t = data;
  g_free(t->path);
  if (t->predictor != NULL)
    fr_apq_predictor_free(t->predictor);
  g_free(t->label);
  g_free(t);
}

static void
predictor_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PredictorTask *t = data;
  GError *error = NULL;
  t->predictor = fr_apq_workbench_predictor(fr_apq_space_lookup(space_names[t->space_index]), t->path, &t->label,
                                            &error);
  if (t->predictor == NULL) {
    if (error == NULL)
      g_set_error(&error, G_IO_ERROR, G_IO_ERROR_FAILED, "no predictor in %s", t->path);
    g_task_return_error(task, error);
  } else {
    g_task_return_boolean(task, TRUE);
  }
}

static void
predictor_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(source);
  PredictorTask *t = g_task_get_task_data(G_TASK(result));
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean(G_TASK(result), &error);
  if (g_cancellable_is_cancelled(self->cancellable))
    return;
  if (!ok) {
    g_autofree char *msg = g_strdup_printf("Could not load the predictor: %s", error->message);
    frontier_page_toast(GTK_WIDGET(self), msg, 0);
    return;
  }
  PredictorSlot *slot = &self->predictors[t->space_index];
  if (slot->predictor != NULL)
    fr_apq_predictor_free(slot->predictor);
  slot->predictor = g_steal_pointer(&t->predictor);
  g_free(slot->label);
  slot->label = g_steal_pointer(&t->label);
  if (slot->label == NULL)
    slot->label = g_path_get_basename(t->path);
  g_clear_pointer(&slot->error, g_free);
  slot->attempted = TRUE;
  update_predictor_ui(self);
  update_sensitivity(self);
  g_autofree char *name = g_path_get_basename(t->path);
  g_autofree char *msg = g_strdup_printf("Predictor %s loaded", name);
  frontier_page_toast(GTK_WIDGET(self), msg, 3);
}

static GtkFileChooserNative *
new_chooser(FrontierApqPage *self, const char *title, GtkFileChooserAction mode, const char *accept)
{
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new(title, GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                                              mode, accept, "_Cancel");
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(chooser), TRUE);
  return chooser;
}

static void
add_filter(GtkFileChooserNative *chooser, const char *name, const char *pattern)
{
  GtkFileFilter *filter = gtk_file_filter_new();
  gtk_file_filter_set_name(filter, name);
  gtk_file_filter_add_pattern(filter, pattern);
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(chooser), filter);
  g_object_unref(filter);
}

static void
open_predictor_response_cb(GtkNativeDialog *dialog, int response, FrontierApqPage *self)
{
  g_autoptr(GFile) file = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog)) : NULL;
  g_clear_object(&self->chooser);
  if (file == NULL)
    return;
  g_autofree char *path = g_file_get_path(file);
  if (path == NULL) {
    frontier_page_toast(GTK_WIDGET(self), "Only local files can be opened", 3);
    return;
  }
  PredictorTask *t = g_new0(PredictorTask, 1);
  t->space_index = current_space_index(self);
  t->path = g_steal_pointer(&path);
  GTask *task = g_task_new(self, self->cancellable, predictor_done_cb, NULL);
  g_task_set_task_data(task, t, predictor_task_free);
  g_task_run_in_thread(task, predictor_thread);
  g_object_unref(task);
}

static void
load_predictor_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(widget);
  if (self->chooser != NULL)
    return;
  self->chooser = new_chooser(self, "Load Accuracy Predictor", GTK_FILE_CHOOSER_ACTION_OPEN, "_Load");
  add_filter(self->chooser, "Safetensors files", "*.safetensors");
  add_filter(self->chooser, "All files", "*");
  g_signal_connect(self->chooser, "response", G_CALLBACK(open_predictor_response_cb), self);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

/* ---- export ---- */

typedef struct {
  Run *run;
  char *path;
} ExportTask;

static void
export_task_free(gpointer data)
{
  ExportTask *e = data;
  run_unref(e->run);
  g_free(e->path);
  g_free(e);
}

static void
export_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ExportTask *e = data;
  Run *run = e->run;
  const FrApqSearchResult *res = run_result(run);
  GError *error = NULL;
  /* The candidates the search showed, grey behind the front: at most MAX_REPORT_OTHERS of them. */
  guint stride = (guint)run->info->n_obj + 1;
  guint n = run->cloud_raw->len / stride;
  guint step = MAX(1u, (n + MAX_REPORT_OTHERS - 1) / MAX_REPORT_OTHERS);
  g_autofree FrApqSearchPoint *others = g_new0(FrApqSearchPoint, n / step + 1);
  int n_others = 0;
  for (guint i = 0; i < n; i += step) {
    const double *v = &g_array_index(run->cloud_raw, double, (gsize)i * stride);
    others[n_others].accuracy = v[0];
    for (guint o = 1; o < stride; o++)
      others[n_others].costs[o - 1] = v[o];
    n_others++;
  }
  FrApqReport report = {
    .table = run->info->table,
    .cost_model = run->info->cost_model,
    .predictor = run->predictor_label,
    .config = &run->cfg,
    .result = res,
    .title = NULL,
    .comparison = run->compare ? fr_apq_search_get_comparison(run->search) : NULL,
    .others = others,
    .n_others = n_others,
  };
  if (fr_apq_report_save(&report, e->path, &error))
    g_task_return_boolean(task, TRUE);
  else
    g_task_return_error(task, error);
}

static void
export_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(source);
  ExportTask *e = g_task_get_task_data(G_TASK(result));
  g_autoptr(GError) error = NULL;
  if (g_task_propagate_boolean(G_TASK(result), &error)) {
    g_autofree char *name = g_path_get_basename(e->path);
    g_autofree char *msg = g_strdup_printf("Saved %s", name);
    frontier_page_toast(GTK_WIDGET(self), msg, 3);
  } else if (!g_cancellable_is_cancelled(self->cancellable)) {
    g_autofree char *msg = g_strdup_printf("Could not export: %s", error->message);
    frontier_page_toast(GTK_WIDGET(self), msg, 0);
  }
}

static void
start_export(FrontierApqPage *self, const char *path)
{
  ExportTask *e = g_new0(ExportTask, 1);
  e->run = run_ref(self->shown);
  e->path = g_strdup(path);
  GTask *task = g_task_new(self, self->cancellable, export_done_cb, NULL);
  g_task_set_task_data(task, e, export_task_free);
  g_task_run_in_thread(task, export_thread);
  g_object_unref(task);
}

static char *
with_extension(const char *path, const char *ext)
{
  g_autofree char *dot = g_strconcat(".", ext, NULL);
  g_autofree char *lower = g_ascii_strdown(path, -1);
  if (g_str_has_suffix(lower, dot))
    return g_strdup(path);
  return g_strconcat(path, dot, NULL);
}

static char *
default_name(const Run *run, const char *ext)
{
  return g_strdup_printf("apq-%s-%s-%u.%s", run->info->space_name, run->info->cost_model, run->number, ext);
}

static void
save_response_cb(GtkNativeDialog *dialog, int response, FrontierApqPage *self)
{
  g_autofree char *format = g_steal_pointer(&self->export_format);
  g_autoptr(GFile) file = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog)) : NULL;
  g_clear_object(&self->chooser);
  if (file == NULL || format == NULL || self->shown == NULL)
    return;
  g_autofree char *path = g_file_get_path(file);
  if (path == NULL) {
    frontier_page_toast(GTK_WIDGET(self), "Only local files can be written", 3);
    return;
  }
  g_autofree char *full = with_extension(path, format);
  start_export(self, full);
}

static void
export_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(widget);
  const char *format = g_variant_get_string(param, NULL);
  if (self->shown == NULL || run_result(self->shown) == NULL || self->chooser != NULL)
    return;
  if (!g_str_equal(format, "pdf") && !g_str_equal(format, "svg") && !g_str_equal(format, "csv") &&
      !g_str_equal(format, "json"))
    return;
  const char *hook = g_getenv("FRONTIER_EXPORT_PATH");
  if (hook != NULL && *hook) {
    g_autofree char *name = default_name(self->shown, format);
    g_autofree char *path = g_file_test(hook, G_FILE_TEST_IS_DIR) ? g_build_filename(hook, name, NULL)
                                                                  : with_extension(hook, format);
    start_export(self, path);
    return;
  }
  static const struct { const char *format, *title, *filter, *pattern; } kinds[] = {
    { "pdf", "Export Pareto Report (PDF)", "PDF documents", "*.pdf" },
    { "svg", "Export Pareto Report (SVG)", "SVG images", "*.svg" },
    { "csv", "Export Pareto Front (CSV)", "CSV tables", "*.csv" },
    { "json", "Export Search (JSON)", "JSON documents", "*.json" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(kinds); i++) {
    if (!g_str_equal(kinds[i].format, format))
      continue;
    self->chooser = new_chooser(self, kinds[i].title, GTK_FILE_CHOOSER_ACTION_SAVE, "_Save");
    g_autofree char *name = default_name(self->shown, format);
    gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(self->chooser), name);
    add_filter(self->chooser, kinds[i].filter, kinds[i].pattern);
    self->export_format = g_strdup(format);
    g_signal_connect(self->chooser, "response", G_CALLBACK(save_response_cb), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
    return;
  }
}

/* ---- lifetime ---- */

gboolean
frontier_apq_page_get_running(FrontierApqPage *self)
{
  g_return_val_if_fail(FRONTIER_IS_APQ_PAGE(self), FALSE);
  return self->search != NULL;
}

static void
frontier_apq_page_dispose(GObject *object)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(object);
  if (self->tick_id != 0) {
    gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->tick_id);
    self->tick_id = 0;
  }
  g_cancellable_cancel(self->cancellable);
  /* A search still running is cancelled and freed on a thread; the application stays up until then. */
  search_orphan(g_steal_pointer(&self->search));
  g_clear_pointer(&self->run, run_unref); /* its search was not attached yet */
  if (self->chooser != NULL) {
    g_signal_handlers_disconnect_by_data(self->chooser, self);
    gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->chooser));
    g_clear_object(&self->chooser);
  }
  gtk_widget_dispose_template(GTK_WIDGET(self), FRONTIER_TYPE_APQ_PAGE);
  candidate_clear(&self->selected);
  candidate_clear(&self->cmp_a);
  candidate_clear(&self->cmp_b);
  g_clear_pointer(&self->shown, run_unref);
  g_clear_pointer(&self->front_order, g_array_unref);
  g_clear_pointer(&self->last_generation, g_variant_unref);
  g_clear_pointer(&self->info, table_info_unref);
  g_clear_pointer(&self->budget_info, table_info_unref);
  g_clear_pointer(&self->tables, g_hash_table_unref);
  for (int i = 0; i < N_SPACES; i++) {
    PredictorSlot *slot = &self->predictors[i];
    g_clear_pointer(&slot->predictor, fr_apq_predictor_free);
    g_clear_pointer(&slot->label, g_free);
    g_clear_pointer(&slot->error, g_free);
  }
  G_OBJECT_CLASS(frontier_apq_page_parent_class)->dispose(object);
}

static void
frontier_apq_page_finalize(GObject *object)
{
  FrontierApqPage *self = FRONTIER_APQ_PAGE(object);
  g_strfreev(self->cost_models);
  g_free(self->prepare_error);
  g_free(self->progress_text);
  g_free(self->export_format);
  g_clear_object(&self->cancellable);
  G_OBJECT_CLASS(frontier_apq_page_parent_class)->finalize(object);
}


static void
frontier_apq_page_class_init(FrontierApqPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->dispose = frontier_apq_page_dispose;
  object_class->finalize = frontier_apq_page_finalize;

  g_type_ensure(FRONTIER_TYPE_COLUMNS);
  g_type_ensure(FRONTIER_TYPE_CHART);
  g_type_ensure(FRONTIER_TYPE_APQ_ARCH);
  g_type_ensure(FRONTIER_TYPE_APQ_BREAKDOWN);
  g_type_ensure(FRONTIER_TYPE_APQ_BUDGET);

  gtk_widget_class_set_template_from_resource(widget_class, "/org/frontier/Frontier/frontier-apq-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child(widget_class, FrontierApqPage, name)
  BIND(scroller);
  BIND(export_button);
  BIND(cancel_button);
  BIND(search_button);
  BIND(progress_bar);
  BIND(error_revealer);
  BIND(error_label);
  BIND(minimum_button);
  BIND(cost_only_revealer);
  BIND(cost_only_label);
  BIND(search_group);
  BIND(space_row);
  BIND(cost_row);
  BIND(predictor_row);
  BIND(predictor_button);
  BIND(mode_row);
  BIND(generations_spin);
  BIND(seed_spin);
  BIND(budgets_group);
  BIND(budget0);
  BIND(budget1);
  BIND(history_list);
  BIND(plot_heading);
  BIND(status_label);
  BIND(pareto_chart);
  BIND(plot_hint);
  BIND(detail_stack);
  BIND(candidate_title);
  BIND(candidate_summary);
  BIND(candidate_spec);
  BIND(arch_view);
  BIND(breakdown_dropdown);
  BIND(breakdown);
  BIND(compare_summary);
  BIND(compare_a_label);
  BIND(compare_b_label);
  BIND(arch_a);
  BIND(arch_b);
  BIND(compare_button);
  BIND(seq_chart);
  BIND(seq_summary);
#undef BIND
  gtk_widget_class_bind_template_callback(widget_class, space_changed_cb);
  gtk_widget_class_bind_template_callback(widget_class, cost_model_changed_cb);
  gtk_widget_class_bind_template_callback(widget_class, budget_changed_cb);
  gtk_widget_class_bind_template_callback(widget_class, history_activated_cb);
  gtk_widget_class_bind_template_callback(widget_class, point_activated_cb);
  gtk_widget_class_bind_template_callback(widget_class, breakdown_objective_cb);

  gtk_widget_class_install_action(widget_class, "apq.search", NULL, search_action);
  gtk_widget_class_install_action(widget_class, "apq.cancel", NULL, cancel_action);
  gtk_widget_class_install_action(widget_class, "apq.compare", NULL, compare_action);
  gtk_widget_class_install_action(widget_class, "apq.use-minimum", NULL, use_minimum_action);
  gtk_widget_class_install_action(widget_class, "apq.set-compare", "s", set_compare_action);
  gtk_widget_class_install_action(widget_class, "apq.step-member", "i", step_member_action);
  gtk_widget_class_install_action(widget_class, "apq.load-predictor", NULL, load_predictor_action);
  gtk_widget_class_install_action(widget_class, "apq.export", "s", export_action);

  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "apq.search", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0, "apq.cancel", NULL);

  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name(widget_class, "apqpage");
}

static void
frontier_apq_page_init(FrontierApqPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->cancellable = g_cancellable_new();
  self->tables = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, table_info_unref);
  self->selected.index = self->cmp_a.index = self->cmp_b.index = -1;
  setup_pareto_series(self);
  frontier_chart_set_x_label(self->pareto_chart, "Latency (ms)");
  frontier_chart_set_y_label(self->pareto_chart, "Predicted top-1 accuracy (%)");
  frontier_chart_set_x_label(self->seq_chart, "Latency (ms)");
  frontier_chart_set_y_label(self->seq_chart, "Predicted top-1 accuracy (%)");
  frontier_apq_breakdown_set_placeholder(self->breakdown, "The selected candidate’s cost, layer by layer");
  g_signal_connect(self->error_revealer, "notify::child-revealed", G_CALLBACK(revealed_cb), NULL);
  g_signal_connect(self->cost_only_revealer, "notify::child-revealed", G_CALLBACK(revealed_cb), NULL);
  gtk_widget_set_visible(GTK_WIDGET(self->error_revealer), FALSE);
  gtk_widget_set_visible(GTK_WIDGET(self->cost_only_revealer), FALSE);
  /* Tables and predictors are prepared when the page is first shown, not at start-up. */
  g_signal_connect_swapped(self, "map", G_CALLBACK(page_map_cb), self);
  update_sensitivity(self);
}

GtkWidget *
frontier_apq_page_new(void)
{
  return g_object_new(FRONTIER_TYPE_APQ_PAGE, NULL);
}
