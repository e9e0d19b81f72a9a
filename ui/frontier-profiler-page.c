/* frontier-profiler-page.c: see frontier-profiler-page.h.
 *
 * One job at a time (fr_profile_task_start), drained from a tick callback. A "Compare" profiles the
 * second model (after the first when it has no profile yet) with the same threads and runs. Results
 * are immutable and ref-counted (FrProfileResult): the table, the roofline and the timeline read them
 * on the main thread; exports write them on a GTask thread through the engine's atomic writers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontier-profiler-page.h"
#include "frontier-page-util.h"
#include "frontier-profiler-roofline.h"
#include "frontier-profiler-timeline.h"
#include "fr-profile-targets.h"
#include "fr-profiler.h"
#include "fr-report.h"

#define MAX_EVENTS_PER_FRAME 256

typedef enum { JOB_NONE, JOB_PROFILE, JOB_COMPARE_A, JOB_COMPARE_B } JobKind;

typedef enum {
  COL_NAME, COL_CALLS, COL_MACS, COL_MS, COL_MAD, COL_SHARE, COL_GFLOPS, COL_GBPS, COL_INTENSITY, COL_ROOF,
  N_COLS
} Col;

static const struct {
  const char *title;
  const char *tooltip;
} col_info[N_COLS] = {
  { "Layer", "Layer path (or op type); automatic layers are marked with *" },
  { "Calls", "Ops per run" },
  { "MACs", "Multiply-accumulates per run" },
  { "Median ms", "Median over the timed runs of the group's wall time per run" },
  { "±", "Median absolute deviation of the per-run time (ms)" },
  { "Share", "Share of the per-run op time" },
  { "GFLOP/s", "Achieved: 2 × MACs over the median time" },
  { "GB/s", "Compulsory bytes read and written over the median time (a lower bound)" },
  { "FLOP/B", "Arithmetic intensity (an upper bound: caches and im2col copies are not counted)" },
  { "% of roof", "Achieved GFLOP/s over the roofline at this intensity" },
};

typedef struct {
  FrontierProfilerPage *self;
  Col col;
} ColCtx;

struct _FrontierProfilerPage {
  GtkWidget parent_instance;

  GtkScrolledWindow *scroller;
  GtkDropDown *target_drop, *compare_drop, *group_drop;
  GtkSpinButton *threads_spin, *runs_spin, *run_spin;
  GtkButton *profile_button, *cancel_button, *compare_button;
  GtkMenuButton *export_button, *open_button;
  GtkProgressBar *progress_bar;
  GtkLabel *target_summary, *summary_label, *compare_label;
  GtkColumnView *layers_view;
  GtkGrid *compare_grid;
  FrontierProfilerRoofline *roofline;
  FrontierProfilerTimeline *timeline;

  GtkStringList *targets;      /* names shown in both drop-downs */
  char *custom_target;         /* a spgemm:MATRIX given through frontier_profiler_page_profile */

  FrProfileTask *task;
  JobKind job_kind;
  guint tick_id;
  gboolean cancel_requested;
  char *job_target;
  char *pending_target;        /* win.profile-model while a job ran */

  FrProfileResult *result;     /* the shown profile */
  FrProfileResult *result_b;   /* the comparison's second model */

  FrProfGroup *groups;
  int n_groups;
  GListStore *store;           /* GtkStringObject "index into groups" */
  ColCtx cols[N_COLS];

  GtkFileChooserNative *chooser;
  char *export_kind;            /* the dialog's kind (export format, or "main"/"compare") while it is up */
  gboolean chooser_opens;       /* the dialog opens a profile rather than exporting */
};

G_DEFINE_FINAL_TYPE(FrontierProfilerPage, frontier_profiler_page, GTK_TYPE_WIDGET)

/* ---- formatting ---- */

static char *
fmt_count(double v)
{
  if (!isfinite(v))
    return g_strdup("–");
  if (v >= 1e9)
    return g_strdup_printf("%.2f G", v / 1e9);
  if (v >= 1e6)
    return g_strdup_printf("%.2f M", v / 1e6);
  if (v >= 1e3)
    return g_strdup_printf("%.1f k", v / 1e3);
  return g_strdup_printf("%.0f", v);
}

static char *
fmt_ratio(double v)
{
  return isfinite(v) ? g_strdup_printf("%.2f×", v) : g_strdup("–");
}

static double
group_value(const FrProfGroup *g, Col col)
{
  switch (col) {
  case COL_CALLS: return g->calls;
  case COL_MACS: return g->macs;
  case COL_MS: return g->ms_median;
  case COL_MAD: return g->ms_mad;
  case COL_SHARE: return g->share;
  case COL_GFLOPS: return g->gflops;
  case COL_GBPS: return g->gbps;
  case COL_INTENSITY: return g->intensity;
  case COL_ROOF: return g->attainable_gflops > 0 ? g->gflops / g->attainable_gflops : NAN;
  case COL_NAME:
  case N_COLS:
  default: return 0;
  }
}

static char *
group_text(const FrProfGroup *g, Col col)
{
  double v = group_value(g, col);
  switch (col) {
  case COL_NAME: return g_strdup_printf("%s%s", g->name, g->auto_layer ? " *" : "");
  case COL_CALLS: return g_strdup_printf("%d", g->calls);
  case COL_MACS: return g->macs > 0 ? fmt_count(g->macs) : g_strdup("–");
  case COL_MS: return g_strdup_printf("%.3f", v);
  case COL_MAD: return g_strdup_printf("%.3f", v);
  case COL_SHARE: return g_strdup_printf("%.1f %%", 100 * v);
  case COL_GFLOPS: return v > 0 ? g_strdup_printf("%.2f", v) : g_strdup("–");
  case COL_GBPS: return v > 0 ? g_strdup_printf("%.2f", v) : g_strdup("–");
  case COL_INTENSITY: return v > 0 ? g_strdup_printf("%.2f", v) : g_strdup("–");
  case COL_ROOF: return isfinite(v) && v > 0 ? g_strdup_printf("%.0f %%", 100 * v) : g_strdup("–");
  case N_COLS:
  default: return g_strdup("");
  }
}

/* ---- the table ---- */

static const FrProfGroup *
item_group(FrontierProfilerPage *self, gpointer item)
{
  int i = atoi(gtk_string_object_get_string(GTK_STRING_OBJECT(item)));
  return i >= 0 && i < self->n_groups ? &self->groups[i] : NULL;
}

static void
cell_setup_cb(GtkSignalListItemFactory *f, GtkListItem *li, ColCtx *ctx)
{
  GtkWidget *label = gtk_label_new(NULL);
  gtk_label_set_xalign(GTK_LABEL(label), ctx->col == COL_NAME ? 0.0f : 1.0f);
  if (ctx->col != COL_NAME)
    gtk_widget_add_css_class(label, "numeric");
  else
    gtk_label_set_ellipsize(GTK_LABEL(label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_list_item_set_child(li, label);
}

static void
cell_bind_cb(GtkSignalListItemFactory *f, GtkListItem *li, ColCtx *ctx)
{
  const FrProfGroup *g = item_group(ctx->self, gtk_list_item_get_item(li));
  g_autofree char *t = g != NULL ? group_text(g, ctx->col) : g_strdup("");
  gtk_label_set_text(GTK_LABEL(gtk_list_item_get_child(li)), t);
  if (ctx->col == COL_NAME && g != NULL)
    gtk_widget_set_tooltip_text(gtk_list_item_get_child(li), g->ops);
}

static int
sort_cb(gconstpointer a, gconstpointer b, gpointer user)
{
  ColCtx *ctx = user;
  const FrProfGroup *ga = item_group(ctx->self, (gpointer)a), *gb = item_group(ctx->self, (gpointer)b);
  if (ga == NULL || gb == NULL)
    return 0;
  if (ctx->col == COL_NAME)
    return ga->order < gb->order ? -1 : ga->order > gb->order;
  double va = group_value(ga, ctx->col), vb = group_value(gb, ctx->col);
  if (!isfinite(va))
    va = -INFINITY;
  if (!isfinite(vb))
    vb = -INFINITY;
  return va < vb ? -1 : va > vb;
}

static void
build_columns(FrontierProfilerPage *self)
{
  for (int c = 0; c < N_COLS; c++) {
    self->cols[c].self = self;
    self->cols[c].col = (Col)c;
    GtkListItemFactory *f = gtk_signal_list_item_factory_new();
    g_signal_connect(f, "setup", G_CALLBACK(cell_setup_cb), &self->cols[c]);
    g_signal_connect(f, "bind", G_CALLBACK(cell_bind_cb), &self->cols[c]);
    GtkColumnViewColumn *col = gtk_column_view_column_new(col_info[c].title, f);
    GtkSorter *sorter = GTK_SORTER(gtk_custom_sorter_new(sort_cb, &self->cols[c], NULL));
    gtk_column_view_column_set_sorter(col, sorter);
    g_object_unref(sorter);
    if (c == COL_NAME) {
      gtk_column_view_column_set_expand(col, TRUE);
      gtk_column_view_column_set_resizable(col, TRUE);
    }
    gtk_column_view_append_column(self->layers_view, col);
    g_object_unref(col);
  }
  (void)col_info[0].tooltip;
  self->store = g_list_store_new(GTK_TYPE_STRING_OBJECT);
  GtkSortListModel *sorted = gtk_sort_list_model_new(G_LIST_MODEL(g_object_ref(self->store)),
                                                     g_object_ref(gtk_column_view_get_sorter(self->layers_view)));
  GtkNoSelection *sel = gtk_no_selection_new(G_LIST_MODEL(sorted));
  gtk_column_view_set_model(self->layers_view, GTK_SELECTION_MODEL(sel));
  g_object_unref(sel);
}

static FrProfGroupBy
group_by(FrontierProfilerPage *self, int *depth)
{
  guint g = gtk_drop_down_get_selected(self->group_drop);
  *depth = g == 1 ? 1 : 0;
  return g == 2 ? FR_PROF_BY_OP : FR_PROF_BY_LAYER;
}

static void
fill_groups(FrontierProfilerPage *self)
{
  g_list_store_remove_all(self->store);
  frontier_profiler_roofline_clear(self->roofline);
  if (self->groups != NULL)
    fr_prof_groups_free(self->groups, self->n_groups);
  self->groups = NULL;
  self->n_groups = 0;
  if (self->result == NULL) {
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->layers_view), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                   "0 rows", -1);
    return;
  }
  int depth;
  FrProfGroupBy by = group_by(self, &depth);
  self->groups = fr_profile_result_groups(self->result, by, depth, &self->n_groups);

  const FrProfInfo *info = fr_profile_result_info(self->result);
  if (info->has_roofline) {
    gboolean one = info->threads == 1;
    const FrRoofline *rl = &info->roofline;
    g_autofree char *label = g_strdup_printf("%s ceilings, %d thread%s (%s)", one ? "one-thread" : "all-threads",
                                             one ? 1 : rl->threads, one || rl->threads == 1 ? "" : "s",
                                             rl->from_cache ? "cached" : "measured now");
    frontier_profiler_roofline_set_ceilings(self->roofline, one ? rl->gemm_gflops_1t : rl->gemm_gflops,
                                            one ? rl->bw_gbs_1t : rl->bw_gbs, label);
  }
  g_autofree GtkStringObject **items = g_new(GtkStringObject *, MAX(self->n_groups, 1));
  for (int i = 0; i < self->n_groups; i++) {
    char buf[16];
    g_snprintf(buf, sizeof buf, "%d", i);
    items[i] = gtk_string_object_new(buf);
    const FrProfGroup *g = &self->groups[i];
    frontier_profiler_roofline_add_point(self->roofline, g->name, g->intensity, g->gflops, g->share, g->ms_median);
  }
  g_list_store_splice(self->store, 0, 0, (gpointer *)items, (guint)self->n_groups);
  for (int i = 0; i < self->n_groups; i++)
    g_object_unref(items[i]);

  GString *d = g_string_new(NULL);
  g_string_append_printf(d, "%d rows", self->n_groups);
  for (int i = 0; i < self->n_groups && i < 40; i++)
    g_string_append_printf(d, "%s%s %.3f ms", i == 0 ? ": " : "; ", self->groups[i].name, self->groups[i].ms_median);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->layers_view), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, d->str, -1);
  g_string_free(d, TRUE);
}

static void
group_changed_cb(FrontierProfilerPage *self)
{
  fill_groups(self);
}

/* ---- targets ---- */

static const char *
selected_target(FrontierProfilerPage *self, GtkDropDown *drop)
{
  guint i = gtk_drop_down_get_selected(drop);
  const char *name = gtk_string_list_get_string(self->targets, i);
  if (drop == self->target_drop && self->custom_target != NULL && g_strcmp0(name, "spgemm") == 0)
    return self->custom_target;
  return name != NULL ? name : "classifier";
}

static void
target_changed_cb(FrontierProfilerPage *self)
{
  int n;
  const FrProfileTargetInfo *t = fr_profile_targets(&n);
  guint i = gtk_drop_down_get_selected(self->target_drop);
  const char *name = gtk_string_list_get_string(self->targets, i);
  if (self->custom_target != NULL && !(name != NULL && g_str_equal(name, "spgemm")))
    g_clear_pointer(&self->custom_target, g_free);
  gtk_label_set_text(self->target_summary, i < (guint)n ? t[i].summary : "");
}

static int
target_index(FrontierProfilerPage *self, const char *name)
{
  guint n = g_list_model_get_n_items(G_LIST_MODEL(self->targets));
  for (guint i = 0; i < n; i++)
    if (g_strcmp0(gtk_string_list_get_string(self->targets, i), name) == 0)
      return (int)i;
  return -1;
}

/* ---- summary and comparison ---- */

static void
show_summary(FrontierProfilerPage *self)
{
  if (self->result == NULL) {
    gtk_widget_set_visible(GTK_WIDGET(self->summary_label), FALSE);
    return;
  }
  const FrProfInfo *in = fr_profile_result_info(self->result);
  g_autofree char *macs = fmt_count(in->macs);
  g_autofree char *bytes = fmt_count(in->bytes_read + in->bytes_written);
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "<b>%s</b> — %s\n", in->target, in->description ? in->description : "");
  g_string_append_printf(s, "Run: <b>%.3f ms</b> median (%.3f–%.3f, ± %.3f) over %d runs on %d thread%s; ops %.3f ms; "
                            "%sMACs, %sB moved per run; %.2f GFLOP/s",
                         in->run_ms_median, in->run_ms_min, in->run_ms_max, in->run_ms_mad, in->runs, in->threads,
                         in->threads == 1 ? "" : "s", in->op_ms_median, macs, bytes,
                         in->run_ms_median > 0 ? 2 * in->macs / (in->run_ms_median * 1e6) : 0.0);
  if (isfinite(in->run_cpu_ms_median) && in->cpu_clocks)
    g_string_append_printf(s, "; process CPU %.3f ms", in->run_cpu_ms_median);
  g_string_append_printf(s, "\n%s, %s", in->cpu ? in->cpu : "", in->date ? in->date : "");
  if (in->has_roofline)
    g_string_append_printf(s, "; ceilings: GEMM %.1f GFLOP/s, copy %.1f GB/s (1 thread), %.1f GFLOP/s, %.1f GB/s (%d thread%s)",
                           in->roofline.gemm_gflops_1t, in->roofline.bw_gbs_1t, in->roofline.gemm_gflops,
                           in->roofline.bw_gbs, in->roofline.threads, in->roofline.threads == 1 ? "" : "s");
  gtk_label_set_markup(self->summary_label, s->str);
  g_string_free(s, TRUE);
  gtk_widget_set_visible(GTK_WIDGET(self->summary_label), TRUE);
}

static void
grid_cell(FrontierProfilerPage *self, int col, int row, const char *text, gboolean heading, gboolean numeric)
{
  GtkWidget *l = gtk_label_new(text);
  gtk_label_set_xalign(GTK_LABEL(l), col == 0 ? 0.0f : 1.0f);
  if (heading)
    gtk_widget_add_css_class(l, "heading");
  if (numeric)
    gtk_widget_add_css_class(l, "numeric");
  gtk_grid_attach(self->compare_grid, l, col, row, 1, 1);
}

static void
show_compare(FrontierProfilerPage *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->compare_grid))) != NULL)
    gtk_grid_remove(self->compare_grid, child);
  if (self->result == NULL || self->result_b == NULL)
    return;
  const FrProfInfo *a = fr_profile_result_info(self->result), *b = fr_profile_result_info(self->result_b);
  int n;
  FrProfCompareRow *rows = fr_profile_compare(self->result, self->result_b, 1, &n);
  const char *heads[] = { "Group", "MACs A", "MACs B", "MACs ratio", "ms A", "ms B", "Time ratio", "Efficiency" };
  for (guint c = 0; c < G_N_ELEMENTS(heads); c++)
    grid_cell(self, (int)c, 0, heads[c], TRUE, FALSE);
  GString *d = g_string_new(NULL);
  g_string_append_printf(d, "%d rows", n);
  for (int i = 0; i < n; i++) {
    FrProfCompareRow *r = &rows[i];
    g_autofree char *ma = fmt_count(r->macs_a), *mb = fmt_count(r->macs_b);
    g_autofree char *mr = fmt_ratio(r->macs_ratio), *tr = fmt_ratio(r->time_ratio);
    g_autofree char *ta = g_strdup_printf("%.3f", r->ms_a), *tb = g_strdup_printf("%.3f", r->ms_b);
    g_autofree char *ef = isfinite(r->speedup_efficiency) ? g_strdup_printf("%.2f", r->speedup_efficiency)
                                                          : g_strdup("–");
    gboolean total = i == n - 1;
    const char *cells[] = { r->name, ma, mb, mr, ta, tb, tr, ef };
    for (guint c = 0; c < G_N_ELEMENTS(cells); c++)
      grid_cell(self, (int)c, i + 1, cells[c], total, c > 0);
    g_string_append_printf(d, "; %s: MACs %s, time %s", r->name, mr, tr);
  }
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->compare_grid), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, d->str, -1);
  g_string_free(d, TRUE);
  if (n > 0) {
    FrProfCompareRow *t = &rows[n - 1];
    g_autofree char *text = g_strdup_printf("A = %s, B = %s (%d thread%s, %d runs each): B has %.2f× fewer MACs and "
                                            "runs %.2f× faster (efficiency %.2f: 1 means the removed MACs became "
                                            "time saved).",
                                            a->target, b->target, a->threads, a->threads == 1 ? "" : "s", b->runs,
                                            t->macs_ratio, t->time_ratio, t->speedup_efficiency);
    gtk_label_set_text(self->compare_label, text);
  }
  fr_prof_compare_free(rows, n);
}

static void
show_result(FrontierProfilerPage *self)
{
  show_summary(self);
  fill_groups(self);
  int runs = self->result != NULL ? fr_profile_result_info(self->result)->runs : 1;
  gtk_spin_button_set_range(self->run_spin, 1, MAX(runs, 1));
  gtk_spin_button_set_value(self->run_spin, 1);
  frontier_profiler_timeline_set_result(self->timeline, self->result, 0);
}

static void
run_changed_cb(GtkSpinButton *spin, FrontierProfilerPage *self)
{
  if (self->result != NULL)
    frontier_profiler_timeline_set_result(self->timeline, self->result,
                                          gtk_spin_button_get_value_as_int(spin) - 1);
}

/* ---- jobs ---- */

static void
update_sensitivity(FrontierProfilerPage *self)
{
  gboolean busy = self->task != NULL;
  gtk_widget_set_sensitive(GTK_WIDGET(self->profile_button), !busy);
  gtk_widget_set_sensitive(GTK_WIDGET(self->compare_button), !busy);
  gtk_widget_set_sensitive(GTK_WIDGET(self->cancel_button), busy && !self->cancel_requested);
  gtk_widget_set_sensitive(GTK_WIDGET(self->target_drop), !busy);
  gtk_widget_set_sensitive(GTK_WIDGET(self->threads_spin), !busy);
  gtk_widget_set_sensitive(GTK_WIDGET(self->runs_spin), !busy);
  gtk_widget_set_sensitive(GTK_WIDGET(self->export_button), !busy && self->result != NULL);
  gtk_widget_set_sensitive(GTK_WIDGET(self->open_button), !busy);
}

static gboolean tick_cb(GtkWidget *widget, GdkFrameClock *clock, gpointer user_data);

static void
start_job(FrontierProfilerPage *self, const char *target, JobKind kind)
{
  FrProfileConfig c;
  fr_profile_config_init(&c);
  c.target = target;
  c.threads = gtk_spin_button_get_value_as_int(self->threads_spin);
  c.runs = gtk_spin_button_get_value_as_int(self->runs_spin);
  g_free(self->job_target);
  self->job_target = g_strdup(target);
  self->task = fr_profile_task_start(&c);
  self->job_kind = kind;
  self->cancel_requested = FALSE;
  gtk_progress_bar_set_fraction(self->progress_bar, 0);
  g_autofree char *text = g_strdup_printf("Profiling %s: building the model and warming up…", target);
  gtk_progress_bar_set_text(self->progress_bar, text);
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback(GTK_WIDGET(self), tick_cb, NULL, NULL);
  update_sensitivity(self);
}

/* Shows r (owned) as the profile, or as the comparison's second model. */
static void
take_result(FrontierProfilerPage *self, FrProfileResult *r, gboolean as_b)
{
  if (as_b) {
    g_clear_pointer(&self->result_b, fr_profile_result_unref);
    self->result_b = r;
    show_compare(self);
    return;
  }
  g_clear_pointer(&self->result, fr_profile_result_unref);
  self->result = r;
  show_result(self);
  if (self->result_b != NULL)
    show_compare(self);
}

static void
finish_job(FrontierProfilerPage *self, FrEvent *ev)
{
  FrProfileTask *task = g_steal_pointer(&self->task);
  FrJobStatus status = ev->status;
  if (status == FR_JOB_RUNNING)
    status = fr_job_get_status(fr_profile_task_job(task));
  JobKind kind = self->job_kind;
  self->job_kind = JOB_NONE;
  gboolean was_cancel = self->cancel_requested;
  self->cancel_requested = FALSE;
  FrProfileResult *r = status == FR_JOB_SUCCEEDED ? fr_profile_task_result(task) : NULL;
  fr_profile_task_unref(task);

  if (r != NULL) {
    const FrProfInfo *in = fr_profile_result_info(r);
    g_autofree char *text = g_strdup_printf("Profiled %s: %.3f ms median over %d runs", in->target,
                                            in->run_ms_median, in->runs);
    gtk_progress_bar_set_fraction(self->progress_bar, 1.0);
    gtk_progress_bar_set_text(self->progress_bar, text);
    take_result(self, r, kind == JOB_COMPARE_B);
    if (kind == JOB_COMPARE_A && self->pending_target == NULL)
      start_job(self, selected_target(self, self->compare_drop), JOB_COMPARE_B);
  } else if (status == FR_JOB_CANCELLED || was_cancel) {
    gtk_progress_bar_set_fraction(self->progress_bar, 0);
    gtk_progress_bar_set_text(self->progress_bar, "Cancelled");
  } else {
    const char *why = ev->message && *ev->message ? ev->message : "unknown error";
    g_autofree char *text = g_strdup_printf("Failed: %s", why);
    gtk_progress_bar_set_fraction(self->progress_bar, 0);
    gtk_progress_bar_set_text(self->progress_bar, text);
    frontier_page_toast(GTK_WIDGET(self), text, 0);
  }
  update_sensitivity(self);
  if (self->task == NULL && self->pending_target != NULL) {
    g_autofree char *t = g_steal_pointer(&self->pending_target);
    frontier_profiler_page_profile(self, t);
  }
}

static gboolean
tick_cb(GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  FrontierProfilerPage *self = FRONTIER_PROFILER_PAGE(widget);
  if (self->task == NULL) {
    self->tick_id = 0;
    return G_SOURCE_REMOVE;
  }
  FrJob *job = fr_profile_task_job(self->task);
  FrEvent *finished = NULL;
  for (int k = 0; k < MAX_EVENTS_PER_FRAME && finished == NULL; k++) {
    FrEvent *ev = fr_job_pop_event(job);
    if (ev == NULL)
      break;
    if (ev->kind == FR_EVENT_FINISHED) {
      finished = ev;
      break;
    }
    if (!self->cancel_requested) {
      if (ev->kind == FR_EVENT_PAYLOAD && g_strcmp0(ev->payload_type, "profile.run") == 0 && ev->payload != NULL &&
          g_variant_is_of_type(ev->payload, G_VARIANT_TYPE("(uud)"))) {
        guint32 run, runs;
        double ms;
        g_variant_get(ev->payload, "(uud)", &run, &runs, &ms);
        g_autofree char *text = g_strdup_printf("Profiling %s: run %u of %u took %.3f ms", self->job_target, run, runs, ms);
        gtk_progress_bar_set_text(self->progress_bar, text);
        if (runs > 0)
          gtk_progress_bar_set_fraction(self->progress_bar, (double)run / runs);
      } else if (ev->kind == FR_EVENT_PROGRESS) {
        if (ev->fraction >= 0)
          gtk_progress_bar_set_fraction(self->progress_bar, ev->fraction);
        else
          gtk_progress_bar_pulse(self->progress_bar);
        if (ev->message != NULL) {
          g_autofree char *text = g_strdup_printf("Profiling %s: %s", self->job_target, ev->message);
          gtk_progress_bar_set_text(self->progress_bar, text);
        }
      }
    }
    fr_event_free(ev);
  }
  if (finished != NULL) {
    self->tick_id = 0;
    finish_job(self, finished);
    fr_event_free(finished);
    if (self->task != NULL && self->tick_id == 0)
      self->tick_id = gtk_widget_add_tick_callback(widget, tick_cb, NULL, NULL);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
profile_clicked_cb(FrontierProfilerPage *self)
{
  if (self->task == NULL)
    start_job(self, selected_target(self, self->target_drop), JOB_PROFILE);
}

static void
compare_clicked_cb(FrontierProfilerPage *self)
{
  if (self->task != NULL)
    return;
  const char *a = selected_target(self, self->target_drop);
  gboolean have_a = self->result != NULL && g_strcmp0(fr_profile_result_info(self->result)->target, a) == 0;
  if (have_a)
    start_job(self, selected_target(self, self->compare_drop), JOB_COMPARE_B);
  else
    start_job(self, a, JOB_COMPARE_A);
}

static void
cancel_clicked_cb(FrontierProfilerPage *self)
{
  if (self->task == NULL || self->cancel_requested)
    return;
  self->cancel_requested = TRUE;
  fr_job_cancel(fr_profile_task_job(self->task));
  gtk_progress_bar_set_text(self->progress_bar, "Cancelling…");
  update_sensitivity(self);
}

static void
start_action(GtkWidget *widget, const char *action, GVariant *param)
{
  profile_clicked_cb(FRONTIER_PROFILER_PAGE(widget));
}

static void
cancel_action(GtkWidget *widget, const char *action, GVariant *param)
{
  cancel_clicked_cb(FRONTIER_PROFILER_PAGE(widget));
}

gboolean
frontier_profiler_page_profile(FrontierProfilerPage *self, const char *target)
{
  g_return_val_if_fail(FRONTIER_IS_PROFILER_PAGE(self), FALSE);
  if (target == NULL || *target == '\0')
    return FALSE;
  int i = target_index(self, target);
  gboolean spgemm = g_str_has_prefix(target, "spgemm:");
  if (i < 0 && spgemm)
    i = target_index(self, "spgemm");
  if (i < 0)
    return FALSE;
  if (self->task != NULL) {
    g_free(self->pending_target);
    self->pending_target = g_strdup(target);
    cancel_clicked_cb(self);
    return TRUE;
  }
  gtk_drop_down_set_selected(self->target_drop, (guint)i);
  if (spgemm) {
    g_free(self->custom_target);
    self->custom_target = g_strdup(target);
  }
  start_job(self, selected_target(self, self->target_drop), JOB_PROFILE);
  return TRUE;
}

/* ---- export ---- */

/* An export, or the opening of a saved profile (r and data NULL; kind "main" or "compare"). */
typedef struct {
  FrProfileResult *r;
  char *kind, *path;
  char *data;   /* compare-json text */
} ExportJob;

static void
export_job_free(gpointer data)
{
  ExportJob *e = data;
  if (e->r != NULL)
    fr_profile_result_unref(e->r);
  g_free(e->kind);
  g_free(e->path);
  g_free(e->data);
  g_free(e);
}

static void
export_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ExportJob *e = data;
  GError *error = NULL;
  gboolean ok;
  if (g_str_equal(e->kind, "csv"))
    ok = fr_profile_result_write_csv(e->r, FR_PROF_CSV_LAYERS, e->path, &error);
  else if (g_str_equal(e->kind, "csv-ops"))
    ok = fr_profile_result_write_csv(e->r, FR_PROF_CSV_OPS, e->path, &error);
  else if (g_str_equal(e->kind, "json"))
    ok = fr_profile_result_write_json(e->r, e->path, TRUE, &error);
  else if (g_str_equal(e->kind, "trace"))
    ok = fr_profile_result_write_trace(e->r, e->path, &error);
  else
    ok = fr_report_write_file(e->path, e->data, strlen(e->data), &error);
  if (ok)
    g_task_return_boolean(task, TRUE);
  else
    g_task_return_error(task, error);
}

static void
export_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  ExportJob *e = g_task_get_task_data(G_TASK(result));
  g_autoptr(GError) error = NULL;
  g_autofree char *base = g_path_get_basename(e->path);
  g_autofree char *msg = g_task_propagate_boolean(G_TASK(result), &error)
                             ? g_strdup_printf("Saved %s", base)
                             : g_strdup_printf("Could not save %s: %s", base, error->message);
  frontier_page_toast(GTK_WIDGET(source), msg, error ? 0 : 3);
}

static void
draw_roofline(cairo_t *cr, double w, double h, gpointer user)
{
  frontier_profiler_roofline_draw(user, cr, w, h, FALSE);
}

static void
draw_timeline(cairo_t *cr, double w, double h, gpointer user)
{
  frontier_profiler_timeline_draw(user, cr, w, h, FALSE);
}

static void
export_to(FrontierProfilerPage *self, const char *kind, const char *path)
{
  if (g_str_has_prefix(kind, "roofline-") || g_str_has_prefix(kind, "timeline-")) {
    g_autoptr(GError) error = NULL;
    gboolean roof = g_str_has_prefix(kind, "roofline-");
    double w = 640, h = roof ? 420 : MAX(200, gtk_widget_get_height(GTK_WIDGET(self->timeline)));
    gboolean ok = fr_report_render(path, FR_REPORT_FORMAT_AUTO, w, h, roof ? draw_roofline : draw_timeline,
                                   roof ? (gpointer)self->roofline : (gpointer)self->timeline, &error);
    /* The draw functions remember their geometry for hover: redraw on screen to restore it. */
    gtk_widget_queue_draw(roof ? GTK_WIDGET(self->roofline) : GTK_WIDGET(self->timeline));
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *msg = ok ? g_strdup_printf("Saved %s", base)
                              : g_strdup_printf("Could not save %s: %s", base, error->message);
    frontier_page_toast(GTK_WIDGET(self), msg, ok ? 3 : 0);
    return;
  }
  ExportJob *e = g_new0(ExportJob, 1);
  e->r = fr_profile_result_ref(self->result);
  e->kind = g_strdup(kind);
  e->path = g_strdup(path);
  if (g_str_equal(kind, "compare-json")) {
    int n;
    FrProfCompareRow *rows = fr_profile_compare(self->result, self->result_b, 1, &n);
    JsonNode *node = fr_profile_compare_to_json(rows, n, fr_profile_result_info(self->result)->target,
                                                fr_profile_result_info(self->result_b)->target);
    e->data = json_to_string(node, TRUE);
    json_node_unref(node);
    fr_prof_compare_free(rows, n);
  }
  GTask *task = g_task_new(self, NULL, export_done_cb, NULL);
  g_task_set_task_data(task, e, export_job_free);
  g_task_run_in_thread(task, export_thread);
  g_object_unref(task);
}

static const char *
export_suffix(const char *kind)
{
  if (g_str_equal(kind, "csv"))
    return "-layers.csv";
  if (g_str_equal(kind, "csv-ops"))
    return "-ops.csv";
  if (g_str_equal(kind, "json"))
    return "-profile.json";
  if (g_str_equal(kind, "trace"))
    return "-trace.json";
  if (g_str_equal(kind, "compare-json"))
    return "-compare.json";
  if (g_str_equal(kind, "roofline-svg"))
    return "-roofline.svg";
  if (g_str_equal(kind, "roofline-pdf"))
    return "-roofline.pdf";
  if (g_str_equal(kind, "timeline-svg"))
    return "-timeline.svg";
  return "-timeline.pdf";
}

static void open_from(FrontierProfilerPage *self, const char *kind, const char *path);

/* The export and open dialogs' answer: self->chooser_opens says which of the two it was. */
static void
chooser_response_cb(GtkNativeDialog *dialog, int response, FrontierProfilerPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT && (self->chooser_opens || self->result != NULL)) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    g_autofree char *path = file != NULL ? g_file_get_path(file) : NULL;
    if (path != NULL && self->chooser_opens)
      open_from(self, self->export_kind, path);
    else if (path != NULL)
      export_to(self, self->export_kind, path);
  }
  g_clear_object(&self->chooser);
  g_clear_pointer(&self->export_kind, g_free);
}

static void
export_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierProfilerPage *self = FRONTIER_PROFILER_PAGE(widget);
  const char *kind = g_variant_get_string(param, NULL);
  if (self->result == NULL || self->chooser != NULL)
    return;
  if (g_str_equal(kind, "compare-json") && self->result_b == NULL) {
    frontier_page_toast(widget, "Compare two models first", 3);
    return;
  }
  g_autofree char *name = g_strconcat(fr_profile_result_info(self->result)->target, export_suffix(kind), NULL);
  g_strdelimit(name, "/:", '-');
  /* Test hook (as on the APQ page): FRONTIER_EXPORT_PATH, a folder or a file, skips the dialog. */
  const char *hook = g_getenv("FRONTIER_EXPORT_PATH");
  if (hook != NULL && *hook != '\0') {
    g_autofree char *path = g_file_test(hook, G_FILE_TEST_IS_DIR) ? g_build_filename(hook, name, NULL)
                                                                  : g_strdup(hook);
    export_to(self, kind, path);
    return;
  }
  GtkRoot *root = gtk_widget_get_root(widget);
  self->chooser = gtk_file_chooser_native_new("Export Profile", GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                              GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(self->chooser), TRUE);
  gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(self->chooser), name);
  self->export_kind = g_strdup(kind);
  self->chooser_opens = FALSE;
  g_signal_connect(self->chooser, "response", G_CALLBACK(chooser_response_cb), self);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

/* ---- opening a saved profile ---- */

static void
open_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ExportJob *o = data;
  GError *error = NULL;
  FrProfileResult *r = fr_profile_result_load(o->path, &error);
  if (r != NULL)
    g_task_return_pointer(task, r, (GDestroyNotify)fr_profile_result_unref);
  else
    g_task_return_error(task, error);
}

static void
open_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierProfilerPage *self = FRONTIER_PROFILER_PAGE(source);
  ExportJob *o = g_task_get_task_data(G_TASK(result));
  g_autoptr(GError) error = NULL;
  g_autofree char *base = g_path_get_basename(o->path);
  FrProfileResult *r = g_task_propagate_pointer(G_TASK(result), &error);
  if (r == NULL) {
    g_autofree char *msg = g_strdup_printf("Could not open %s: %s", base, error->message);
    frontier_page_toast(GTK_WIDGET(self), msg, 0);
    return;
  }
  const FrProfInfo *in = fr_profile_result_info(r);
  g_autofree char *text = g_strdup_printf("Opened %s: %s, %.3f ms median over %d runs (saved profile)", base,
                                          in->target, in->run_ms_median, in->runs);
  gtk_progress_bar_set_fraction(self->progress_bar, 1.0);
  gtk_progress_bar_set_text(self->progress_bar, text);
  gboolean as_b = g_str_equal(o->kind, "compare");
  take_result(self, r, as_b);
  if (as_b && self->result == NULL)
    frontier_page_toast(GTK_WIDGET(self), "Profile or open a first model to compare against", 3);
  update_sensitivity(self);
}

/* Loads on a worker thread (a profile with every op of many runs is a few MB of JSON). */
static void
open_from(FrontierProfilerPage *self, const char *kind, const char *path)
{
  ExportJob *o = g_new0(ExportJob, 1);
  o->kind = g_strdup(kind);
  o->path = g_strdup(path);
  GTask *task = g_task_new(self, NULL, open_done_cb, NULL);
  g_task_set_task_data(task, o, export_job_free);
  g_task_run_in_thread(task, open_thread);
  g_object_unref(task);
}

static void
open_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierProfilerPage *self = FRONTIER_PROFILER_PAGE(widget);
  const char *kind = g_variant_get_string(param, NULL);
  if (self->task != NULL || self->chooser != NULL)
    return;
  /* Test hook, like FRONTIER_EXPORT_PATH: the file to open, without the dialog. */
  const char *hook = g_getenv("FRONTIER_OPEN_PATH");
  if (hook != NULL && *hook != '\0') {
    open_from(self, kind, hook);
    return;
  }
  GtkRoot *root = gtk_widget_get_root(widget);
  self->chooser = gtk_file_chooser_native_new(g_str_equal(kind, "compare") ? "Open a Profile to Compare With"
                                                                           : "Open a Saved Profile",
                                              GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                              GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", "_Cancel");
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(self->chooser), TRUE);
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new();
  gtk_file_filter_set_name(filter, "Profiles (JSON)");
  gtk_file_filter_add_pattern(filter, "*.json");
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(self->chooser), filter);
  self->export_kind = g_strdup(kind);
  self->chooser_opens = TRUE;
  g_signal_connect(self->chooser, "response", G_CALLBACK(chooser_response_cb), self);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

/* ---- life cycle ---- */

static void
frontier_profiler_page_dispose(GObject *object)
{
  FrontierProfilerPage *self = FRONTIER_PROFILER_PAGE(object);
  if (self->tick_id != 0) {
    gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->tick_id);
    self->tick_id = 0;
  }
  if (self->task != NULL) {
    frontier_jobs_cancel_and_release(fr_job_ref(fr_profile_task_job(self->task)));
    g_clear_pointer(&self->task, fr_profile_task_unref);
  }
  if (self->chooser != NULL) {
    g_signal_handlers_disconnect_by_data(self->chooser, self);
    gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->chooser));
    g_clear_object(&self->chooser);
  }
  gtk_widget_dispose_template(GTK_WIDGET(self), FRONTIER_TYPE_PROFILER_PAGE);
  g_clear_pointer(&self->result, fr_profile_result_unref);
  g_clear_pointer(&self->result_b, fr_profile_result_unref);
  if (self->groups != NULL)
    fr_prof_groups_free(self->groups, self->n_groups);
  self->groups = NULL;
  self->n_groups = 0;
  g_clear_object(&self->store);
  g_clear_object(&self->targets);
  G_OBJECT_CLASS(frontier_profiler_page_parent_class)->dispose(object);
}

static void
frontier_profiler_page_finalize(GObject *object)
{
  FrontierProfilerPage *self = FRONTIER_PROFILER_PAGE(object);
  g_free(self->custom_target);
  g_free(self->job_target);
  g_free(self->pending_target);
  g_free(self->export_kind);
  G_OBJECT_CLASS(frontier_profiler_page_parent_class)->finalize(object);
}

static void
frontier_profiler_page_class_init(FrontierProfilerPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = frontier_profiler_page_dispose;
  object_class->finalize = frontier_profiler_page_finalize;

  g_type_ensure(FRONTIER_TYPE_PROFILER_ROOFLINE);
  g_type_ensure(FRONTIER_TYPE_PROFILER_TIMELINE);

  gtk_widget_class_set_template_from_resource(widget_class, "/org/frontier/Frontier/frontier-profiler-page.ui");
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name(widget_class, "profiler-page");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
#define BIND(name) gtk_widget_class_bind_template_child(widget_class, FrontierProfilerPage, name)
  BIND(scroller);
  BIND(target_drop);
  BIND(compare_drop);
  BIND(group_drop);
  BIND(threads_spin);
  BIND(runs_spin);
  BIND(run_spin);
  BIND(profile_button);
  BIND(cancel_button);
  BIND(compare_button);
  BIND(export_button);
  BIND(open_button);
  BIND(progress_bar);
  BIND(target_summary);
  BIND(summary_label);
  BIND(compare_label);
  BIND(layers_view);
  BIND(compare_grid);
  BIND(roofline);
  BIND(timeline);
#undef BIND
  gtk_widget_class_bind_template_callback(widget_class, target_changed_cb);
  gtk_widget_class_bind_template_callback(widget_class, group_changed_cb);
  gtk_widget_class_bind_template_callback(widget_class, profile_clicked_cb);
  gtk_widget_class_bind_template_callback(widget_class, cancel_clicked_cb);
  gtk_widget_class_bind_template_callback(widget_class, compare_clicked_cb);

  gtk_widget_class_install_action(widget_class, "profiler.export", "s", export_action);
  gtk_widget_class_install_action(widget_class, "profiler.open", "s", open_action);
  gtk_widget_class_install_action(widget_class, "profiler.start", NULL, start_action);
  gtk_widget_class_install_action(widget_class, "profiler.cancel", NULL, cancel_action);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "profiler.start", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_KP_Enter, GDK_CONTROL_MASK, "profiler.start", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0, "profiler.cancel", NULL);
}

static void
frontier_profiler_page_init(FrontierProfilerPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, "Profiler page", -1);

  self->targets = gtk_string_list_new(NULL);
  int n;
  const FrProfileTargetInfo *t = fr_profile_targets(&n);
  for (int i = 0; i < n; i++)
    gtk_string_list_append(self->targets, g_str_has_prefix(t[i].name, "spgemm") ? "spgemm" : t[i].name);
  GtkExpression *expr = gtk_property_expression_new(GTK_TYPE_STRING_OBJECT, NULL, "string");
  gtk_drop_down_set_expression(self->target_drop, expr);
  gtk_drop_down_set_expression(self->compare_drop, expr);
  gtk_expression_unref(expr);
  gtk_drop_down_set_model(self->target_drop, G_LIST_MODEL(self->targets));
  gtk_drop_down_set_model(self->compare_drop, G_LIST_MODEL(self->targets));
  int student = target_index(self, "gan-student-10x");
  int teacher = target_index(self, "gan-teacher");
  (void)teacher;
  if (student >= 0)
    gtk_drop_down_set_selected(self->compare_drop, (guint)student);
  gtk_drop_down_set_selected(self->target_drop, 0);
  target_changed_cb(self);

  gtk_spin_button_set_range(self->threads_spin, 1, MAX(g_get_num_processors(), 1));
  g_signal_connect(self->run_spin, "value-changed", G_CALLBACK(run_changed_cb), self);
  build_columns(self);
  fill_groups(self);
  update_sensitivity(self);
}
