/* frontier-sparch-page.c: see frontier-sparch-page.h.
 *
 * Everything slow runs on the engine's job system: reading or generating a matrix (with its spy
 * plot's binning) and simulating. One job at a time; the page drains its events from a tick callback,
 * at most MAX_EVENTS_PER_FRAME per frame, so the main thread never waits. A job's inputs and outputs
 * live in a reference-counted task shared with the worker thread; the page reads the outputs after the
 * job's FINISHED event. Exports are written by GTask threads through engine/report (atomically). */
#include <math.h>
#include <string.h>
#include <zlib.h>

#include <glib/gstdio.h>

#include "fr-job.h"
#include "frontier-page-util.h"
#include "fr-model-io.h"
#include "fr-mtx.h"
#include "fr-report.h"
#include "fr-sparch.h"
#include "fr-sparse-gen.h"

#include "frontier-columns.h"
#include "frontier-sparch-bars.h"
#include "frontier-sparch-comparator.h"
#include "frontier-sparch-page.h"
#include "frontier-sparch-pipeline.h"
#include "frontier-sparch-spy.h"

#define MAX_EVENTS_PER_FRAME 512
#define SPY_BINS 256
#define N_CATEGORIES 5

static const char *const category_labels[N_CATEGORIES] = {
  "A read", "B read", "Partial write", "Partial read", "C write",
};

/* ---- tasks shared with the worker threads ---- */

/* A loaded matrix, shared by the page and the jobs that use it. */
typedef struct {
  FrCsr *a;
  char *name;       /* "wiki-Vote", or the generator spec */
  char *source;     /* file path or generator spec */
  char *detail;     /* one line for the page */
  gboolean synthetic;
  guint64 seed;
  FrCsrStats stats;
  FrontierSparchSpyData *spy;
} Matrix;

static void
matrix_clear(gpointer data)
{
  Matrix *m = data;
  fr_csr_free(m->a);
  g_free(m->name);
  g_free(m->source);
  g_free(m->detail);
  frontier_sparch_spy_data_unref(m->spy);
}

static Matrix *
matrix_ref(Matrix *m)
{
  return g_atomic_rc_box_acquire(m);
}

static void
matrix_unref(Matrix *m)
{
  if (m != NULL)
    g_atomic_rc_box_release_full(m, matrix_clear);
}

typedef struct {
  char *path;       /* read this file... */
  char *spec;       /* ...or generate this */
  guint64 seed;
  Matrix *result;   /* set by the job on success */
} LoadTask;

static void
load_task_clear(gpointer data)
{
  LoadTask *t = data;
  g_free(t->path);
  g_free(t->spec);
  matrix_unref(t->result);
}

static void
load_task_unref(gpointer t)
{
  g_atomic_rc_box_release_full(t, load_task_clear);
}

typedef struct {
  Matrix *m;
  gboolean transpose_b;
  FrSparchConfig sp_cfg, os_cfg;
  FrSparchArch arch;       /* whose numbers are the page's main result */
  gboolean ablation;
  /* Outputs. */
  FrSparchAblation *ab;
  FrSparchResult *sp, *os; /* owned by the task unless borrowed from ab */
  gboolean sp_in_ab, os_in_ab;
  FrontierSparchSpyData *spy_c;
  int64_t c_nrows, c_ncols, c_nnz;
} SimTask;

static void
sim_task_clear(gpointer data)
{
  SimTask *t = data;
  if (!t->sp_in_ab)
    fr_sparch_result_free(t->sp);
  if (!t->os_in_ab)
    fr_sparch_result_free(t->os);
  fr_sparch_ablation_free(t->ab);
  matrix_unref(t->m);
  frontier_sparch_spy_data_unref(t->spy_c);
}

static SimTask *
sim_task_ref(SimTask *t)
{
  return g_atomic_rc_box_acquire(t);
}

static void
sim_task_unref(gpointer t)
{
  if (t != NULL)
    g_atomic_rc_box_release_full(t, sim_task_clear);
}

static const FrSparchResult *
sim_main(const SimTask *t)
{
  return t->arch == FR_SPARCH_ARCH_OUTERSPACE ? t->os : t->sp;
}

/* ---- the page ---- */

typedef enum { JOB_NONE, JOB_LOAD, JOB_SIMULATE } JobKind;

struct _FrontierSparchPage {
  GtkWidget parent_instance;

  /* Template children. */
  GtkWidget *scroller;
  GtkButton *open_button;
  GtkMenuButton *export_button;
  GtkButton *cancel_button;
  GtkButton *simulate_button;
  GtkWidget *sources_box;
  GtkListBox *shipped_list;
  GtkLabel *shipped_placeholder;
  AdwPreferencesGroup *generate_group;
  AdwEntryRow *spec_row;
  GtkSpinButton *seed_spin;
  GtkLabel *matrix_title;
  GtkLabel *synthetic_tag;
  GtkLabel *matrix_detail;
  FrontierSparchSpy *spy_a;
  FrontierSparchSpy *spy_c;
  GtkLabel *spy_a_label;
  GtkLabel *spy_c_label;
  AdwComboRow *product_row;
  AdwPreferencesGroup *params_group;
  AdwPreferencesGroup *hardware_group;
  AdwComboRow *arch_row;
  GtkSwitch *condense_switch;
  GtkSwitch *huffman_switch;
  AdwComboRow *prefetch_row;
  GtkSpinButton *buffer_spin;
  GtkSpinButton *line_spin;
  GtkSpinButton *lookahead_spin;
  AdwComboRow *ways_row;
  GtkSpinButton *width_spin;
  GtkSpinButton *multipliers_spin;
  GtkSpinButton *bandwidth_spin;
  GtkSpinButton *clock_spin;
  GtkSwitch *ablation_switch;
  GtkProgressBar *progress_bar;
  GtkLabel *dram_label, *dram_detail;
  GtkLabel *time_label, *time_detail;
  GtkLabel *gflops_label, *gflops_detail;
  GtkLabel *partials_label, *partials_detail;
  GtkLabel *rounds_label, *rounds_detail;
  GtkLabel *nnz_c_label, *nnz_c_detail;
  GtkLabel *hits_label, *hits_detail;
  GtkLabel *host_label, *host_detail;
  GtkWidget *content_box;
  GtkWidget *results_box;
  AdwViewStack *results_stack;
  FrontierSparchBars *dram_chart;
  FrontierSparchBars *ablation_chart;
  FrontierSparchPipeline *pipeline;
  GtkButton *play_button;
  GtkScale *scrubber;
  GtkAdjustment *scrub_adjustment;
  GtkLabel *frame_label;
  FrontierSparchComparator *comparator;

  /* State. */
  Matrix *matrix;           /* the loaded matrix, or NULL */
  SimTask *sim;             /* the last finished simulation, or NULL */

  FrJob *job;
  JobKind job_kind;
  LoadTask *load_task;
  SimTask *sim_task;
  guint tick_id;
  gboolean cancel_requested;
  double fraction;
  guint stage, n_stages;
  char *stage_label;
  char *job_message;
  char *pending_path;       /* a shipped matrix chosen while another load was running */
  gboolean selecting;       /* programmatic selection change in shipped_list */

  gboolean playing;
  guint play_tick_id;
  gint64 play_last_us;

  AdwAnimation *scroll_animation;

  GtkFileChooserNative *chooser;
  char *export_kind;        /* what the save dialog is for */
  GCancellable *cancellable; /* listing and exports; cancelled on dispose */
};

G_DEFINE_FINAL_TYPE(FrontierSparchPage, frontier_sparch_page, GTK_TYPE_WIDGET)

/* Thousands-grouped integers for labels, independent of the locale; main thread only (a ring of
 * buffers, so several may appear in one printf). */
static const char *
grp(gint64 v)
{
  static char ring[8][48];
  static guint next;
  char *buf = ring[next++ % G_N_ELEMENTS(ring)];
  return fr_report_format_int_buf(v, buf, sizeof ring[0]);
}

static void update_sensitivity(FrontierSparchPage *self);
static void start_load(FrontierSparchPage *self, const char *path, const char *spec, guint64 seed);

/* ---- formatting ---- */

static char *
format_seconds(double s)
{
  if (!(s > 0))
    return g_strdup("0 s");
  if (s < 1e-6)
    return g_strdup_printf("%.3g ns", s * 1e9);
  if (s < 1e-3)
    return g_strdup_printf("%.3g µs", s * 1e6);
  if (s < 1)
    return g_strdup_printf("%.3g ms", s * 1e3);
  return g_strdup_printf("%.3g s", s);
}

static char *
format_factor(double f)
{
  if (!isfinite(f) || f <= 0)
    return g_strdup("—");
  return g_strdup_printf(f >= 10 ? "%.0f×" : "%.2g×", f);
}

/* "wiki-Vote" from ".../wiki-Vote.mtx.gz". */
static char *
matrix_name_from_path(const char *path)
{
  char *base = g_path_get_basename(path);
  if (g_str_has_suffix(base, ".gz"))
    base[strlen(base) - 3] = '\0';
  if (g_str_has_suffix(base, ".mtx"))
    base[strlen(base) - 4] = '\0';
  return base;
}

/* ---- the load job ---- */

static gboolean
load_job(FrJob *job, gpointer data, GError **error)
{
  LoadTask *t = data;
  FrCsr *a;
  if (t->spec != NULL) {
    fr_job_progress(job, -1, "generating %s", t->spec);
    a = fr_sparse_generate(t->spec, t->seed, error);
  } else {
    g_autofree char *name = g_path_get_basename(t->path);
    fr_job_progress(job, -1, "reading %s", name);
    a = fr_mtx_load(t->path, NULL, error);
  }
  if (a == NULL)
    return FALSE;
  if (fr_job_is_cancelled(job)) {
    fr_csr_free(a);
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "cancelled");
    return FALSE;
  }
  fr_job_progress(job, 0.9, "drawing the spy plot");
  Matrix *m = g_atomic_rc_box_new0(Matrix);
  m->a = a;
  m->synthetic = t->spec != NULL;
  m->seed = t->seed;
  m->source = g_strdup(t->spec != NULL ? t->spec : t->path);
  m->name = t->spec != NULL ? g_strdup(t->spec) : matrix_name_from_path(t->path);
  fr_csr_stats(a, &m->stats);
  m->spy = frontier_sparch_spy_data_new(a, SPY_BINS);
  /* On the worker thread: no grp() here. */
  g_autofree char *nr = fr_report_format_int(a->nrows), *nc = fr_report_format_int(a->ncols),
                  *nz = fr_report_format_int(a->nnz), *longest = fr_report_format_int(m->stats.max_row_nnz),
                  *empty = fr_report_format_int(m->stats.empty_rows);
  g_autofree char *shape = g_strdup_printf("%s × %s · %s nonzeros · longest row %s · %s empty rows", nr, nc, nz,
                                           longest, empty);
  if (m->synthetic) {
    const char *desc = fr_sparse_gen_describe(t->spec);
    m->detail = g_strdup_printf("%s, seed %" G_GUINT64_FORMAT ".\n%s", desc != NULL ? desc : "synthetic matrix",
                                t->seed, shape);
  } else {
    m->detail = g_strdup_printf("%s\n%s", shape, t->path);
  }
  t->result = m;
  fr_job_progress(job, 1.0, "loaded");
  return TRUE;
}

/* ---- the simulation job ---- */

static void
emit_stage(FrJob *job, guint index, guint count, const char *label)
{
  fr_job_emit(job, "sparch.stage", g_variant_new("(uus)", index, count, label), NULL);
}

static gboolean
sim_job(FrJob *job, gpointer data, GError **error)
{
  SimTask *t = data;
  const FrCsr *a = t->m->a;
  FrCsr *bt = NULL;
  const FrCsr *b = a;
  if (t->transpose_b) {
    fr_job_progress(job, -1, "transposing A");
    bt = fr_csr_transpose(a);
    b = bt;
  }
  gboolean ok = FALSE;
  /* The ablation's last step is the configured SpArch when condensing and Huffman are on and a
   * prefetcher is chosen: then it carries the trace and the product, and no extra run is needed. */
  gboolean last_step_is_sp = t->sp_cfg.condense && t->sp_cfg.huffman && t->sp_cfg.prefetch != FR_SPARCH_PREFETCH_NONE;
  guint n_stages = t->ablation ? (last_step_is_sp ? 1 : 2) : 2, stage = 0;

  if (t->ablation) {
    FrSparchConfig base = t->sp_cfg;
    base.trace = last_step_is_sp;
    base.keep_product = last_step_is_sp;
    emit_stage(job, stage++, n_stages, "ablation (5 configurations)");
    t->ab = fr_sparch_ablation(a, b, &base, job, error);
    if (t->ab == NULL)
      goto out;
    t->os = t->ab->steps[0].result;
    t->os_in_ab = TRUE;
    if (last_step_is_sp) {
      t->sp = t->ab->steps[FR_SPARCH_ABLATION_STEPS - 1].result;
      t->sp_in_ab = TRUE;
    }
  } else {
    emit_stage(job, stage++, n_stages, "OuterSPACE");
    t->os = fr_sparch_simulate(a, b, &t->os_cfg, job, error);
    if (t->os == NULL)
      goto out;
  }
  if (t->sp == NULL) {
    emit_stage(job, stage++, n_stages, "SpArch");
    FrSparchConfig cfg = t->sp_cfg;
    cfg.trace = TRUE;
    cfg.keep_product = TRUE;
    t->sp = fr_sparch_simulate(a, b, &cfg, job, error);
    if (t->sp == NULL)
      goto out;
  }
  if (fr_job_is_cancelled(job)) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "cancelled");
    goto out;
  }
  if (t->sp->c != NULL) {
    fr_job_progress(job, -1, "drawing the spy plot of C");
    t->spy_c = frontier_sparch_spy_data_new(t->sp->c, SPY_BINS);
    t->c_nrows = t->sp->c->nrows;
    t->c_ncols = t->sp->c->ncols;
    t->c_nnz = t->sp->c->nnz;
    /* The page needs only the plot: give the product's memory back. */
    fr_csr_free(t->sp->c);
    t->sp->c = NULL;
  } else {
    t->c_nrows = a->nrows;
    t->c_ncols = b->ncols;
    t->c_nnz = t->sp->nnz_c;
  }
  ok = TRUE;
out:
  fr_csr_free(bt);
  return ok;
}

/* ---- sensitivity and progress ---- */

static void
update_sensitivity(FrontierSparchPage *self)
{
  gboolean running = self->job != NULL;
  GtkWidget *w = GTK_WIDGET(self);
  gboolean have_results = self->sim != NULL;
  gtk_widget_action_set_enabled(w, "sparch.simulate", !running && self->matrix != NULL);
  gtk_widget_action_set_enabled(w, "sparch.cancel", running && !self->cancel_requested);
  gtk_widget_action_set_enabled(w, "sparch.open", !running);
  const char *spec = gtk_editable_get_text(GTK_EDITABLE(self->spec_row));
  gtk_widget_action_set_enabled(w, "sparch.generate", !running && spec != NULL && *spec);
  gtk_widget_action_set_enabled(w, "sparch.export-csv", !running && have_results);
  gtk_widget_action_set_enabled(w, "sparch.export-json", !running && have_results);
  gtk_widget_action_set_enabled(w, "sparch.export-figure", !running && have_results);
  gtk_widget_set_sensitive(GTK_WIDGET(self->export_button), !running && have_results);
  gtk_widget_action_set_enabled(w, "sparch.play", frontier_sparch_pipeline_get_n_frames(self->pipeline) > 1);
  gboolean loading = running && self->job_kind == JOB_LOAD;
  /* While a matrix loads, another benchmark may still be picked (the last pick wins). */
  gtk_widget_set_sensitive(GTK_WIDGET(self->shipped_list), !running || loading);
  gtk_widget_set_sensitive(GTK_WIDGET(self->generate_group), !running);
  gtk_widget_set_sensitive(GTK_WIDGET(self->params_group), !running);
  gtk_widget_set_sensitive(GTK_WIDGET(self->hardware_group), !running);
  gtk_widget_set_sensitive(GTK_WIDGET(self->product_row), !running);
}

static void
set_progress_text(FrontierSparchPage *self)
{
  g_autofree char *text = NULL;
  const char *msg = self->job_message;
  g_autofree char *sentence = NULL;
  if (msg != NULL && *msg) {
    g_autofree char *first = g_utf8_strup(msg, g_utf8_next_char(msg) - msg);
    sentence = g_strdup_printf("%s%s", first, g_utf8_next_char(msg));
  }
  if (self->job_kind == JOB_SIMULATE && self->n_stages > 1 && self->stage_label != NULL)
    text = g_strdup_printf("Step %u of %u, %s: %s — %.0f %%", self->stage + 1, self->n_stages, self->stage_label,
                           sentence != NULL ? sentence : "…", self->fraction * 100);
  else if (sentence != NULL)
    text = self->fraction > 0 ? g_strdup_printf("%s — %.0f %%", sentence, self->fraction * 100)
                              : g_strdup_printf("%s…", sentence);
  else
    text = g_strdup_printf("%.0f %%", self->fraction * 100);
  gtk_progress_bar_set_text(self->progress_bar, text);
}

static void
set_fraction(FrontierSparchPage *self, double f)
{
  f = CLAMP(f, 0.0, 1.0);
  if (f < self->fraction)
    return;
  self->fraction = f;
  gtk_progress_bar_set_fraction(self->progress_bar, f);
}

/* ---- showing a matrix ---- */

static void
select_shipped_row(FrontierSparchPage *self, const char *path)
{
  self->selecting = TRUE;
  GtkListBoxRow *target = NULL;
  for (int i = 0; path != NULL; i++) {
    GtkListBoxRow *row = gtk_list_box_get_row_at_index(self->shipped_list, i);
    if (row == NULL)
      break;
    if (g_strcmp0(g_object_get_data(G_OBJECT(row), "path"), path) == 0) {
      target = row;
      break;
    }
  }
  if (target != NULL)
    gtk_list_box_select_row(self->shipped_list, target);
  else
    gtk_list_box_unselect_all(self->shipped_list);
  self->selecting = FALSE;
}

static void
clear_results(FrontierSparchPage *self)
{
  if (self->playing) {
    self->playing = FALSE;
    gtk_button_set_icon_name(self->play_button, "media-playback-start-symbolic");
  }
  frontier_sparch_pipeline_set_result(self->pipeline, NULL);
  frontier_sparch_comparator_set_step(self->comparator, NULL);
  frontier_sparch_bars_set_chart(self->dram_chart, NULL);
  frontier_sparch_bars_set_chart(self->ablation_chart, NULL);
  frontier_sparch_spy_set_data(self->spy_c, NULL);
  gtk_label_set_text(self->spy_c_label, "—");
  gtk_adjustment_configure(self->scrub_adjustment, 0, 0, 0, 1, 10, 0);
  gtk_widget_set_sensitive(GTK_WIDGET(self->scrubber), FALSE);
  gtk_label_set_text(self->frame_label, " ");
  GtkLabel *labels[] = { self->dram_label,     self->time_label,
                         self->gflops_label,   self->partials_label, self->rounds_label,
                         self->nnz_c_label,    self->hits_label,   self->host_label };
  GtkLabel *details[] = { self->dram_detail,   self->time_detail,
                          self->gflops_detail, self->partials_detail, self->rounds_detail,
                          self->nnz_c_detail,  self->hits_detail,  self->host_detail };
  for (guint i = 0; i < G_N_ELEMENTS(labels); i++) {
    gtk_label_set_text(labels[i], "—");
    gtk_label_set_text(details[i], " ");
  }
  g_clear_pointer(&self->sim, sim_task_unref);
}

static void
show_matrix(FrontierSparchPage *self, Matrix *m)
{
  clear_results(self);
  g_clear_pointer(&self->matrix, matrix_unref);
  self->matrix = matrix_ref(m);
  gtk_label_set_text(self->matrix_title, m->name);
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->matrix_title), m->source);
  gtk_widget_set_visible(GTK_WIDGET(self->synthetic_tag), m->synthetic);
  gtk_label_set_text(self->matrix_detail, m->detail);
  frontier_sparch_spy_set_data(self->spy_a, m->spy);
  g_autofree char *a_text = g_strdup_printf("%s × %s, %s nonzeros%s", grp(m->a->nrows), grp(m->a->ncols),
                                            grp(m->a->nnz), m->synthetic ? " (synthetic)" : "");
  gtk_label_set_text(self->spy_a_label, a_text);
  g_autofree char *spy_title = g_strdup_printf("Spy plot of A (%s)", m->name);
  frontier_sparch_spy_set_title(self->spy_a, spy_title);
  /* A·A needs a square matrix. */
  if (m->a->nrows != m->a->ncols)
    adw_combo_row_set_selected(self->product_row, 1);
  gtk_progress_bar_set_fraction(self->progress_bar, 0);
  gtk_progress_bar_set_text(self->progress_bar, "Ready to simulate");
  if (!m->synthetic)
    select_shipped_row(self, m->source);
  else
    select_shipped_row(self, NULL);
}

/* ---- showing a simulation ---- */

static void
fill_categories(const FrSparchResult *r, double *out)
{
  out[0] = (double)r->a_read;
  out[1] = (double)r->b_read;
  out[2] = (double)r->partial_write;
  out[3] = (double)r->partial_read;
  out[4] = (double)r->c_write;
}

static char *
product_label(const SimTask *t)
{
  return g_strdup(t->transpose_b ? "A·Aᵀ" : "A·A");
}

static char *
chart_subject(const SimTask *t)
{
  g_autofree char *prod = product_label(t);
  return g_strdup_printf("%s%s, %s", t->m->name, t->m->synthetic ? " (synthetic)" : "", prod);
}

static void
set_dram_chart(FrontierSparchPage *self, const SimTask *t)
{
  double values[2 * N_CATEGORIES];
  fill_categories(t->sp, values);
  fill_categories(t->os, values + N_CATEGORIES);
  double sp_total = (double)t->sp->total, os_total = (double)t->os->total;
  g_autofree char *note0 = NULL;
  if (sp_total > 0 && os_total >= sp_total) {
    g_autofree char *f = format_factor(os_total / sp_total);
    note0 = g_strdup_printf("%s less", f);
  } else if (os_total > 0) {
    g_autofree char *f = format_factor(sp_total / os_total);
    note0 = g_strdup_printf("%s more", f);
  }
  const char *bar_labels[] = { "SpArch", "OuterSPACE" };
  const char *notes[] = { note0, NULL };
  double markers[2] = { os_total / FR_SPARCH_PAPER_OVERALL_FACTOR, NAN };
  g_autofree char *subject = chart_subject(t);
  g_autofree char *title = g_strdup_printf("DRAM traffic · %s", subject);
  FrReportBarChart c = {
    .title = title,
    .value_label = "Bytes to and from DRAM",
    .n_bars = 2,
    .n_segments = N_CATEGORIES,
    .bar_labels = bar_labels,
    .bar_notes = notes,
    .segment_labels = category_labels,
    .values = values,
    .markers = markers,
    .marker_label = "Paper: 2.8× less than OuterSPACE",
    .format_value = fr_report_format_bytes_func,
  };
  frontier_sparch_bars_set_chart(self->dram_chart, &c);
}

static void
set_ablation_chart(FrontierSparchPage *self, const SimTask *t)
{
  if (t->ab == NULL) {
    frontier_sparch_bars_set_chart(self->ablation_chart, NULL);
    frontier_sparch_bars_set_placeholder(self->ablation_chart,
                                         "Ablation was off: turn it on and simulate again to see what each "
                                         "technique saves");
    return;
  }
  int n = t->ab->n_steps;
  double values[FR_SPARCH_ABLATION_STEPS * N_CATEGORIES];
  const char *labels[FR_SPARCH_ABLATION_STEPS];
  char *notes[FR_SPARCH_ABLATION_STEPS] = { 0 };
  double markers[FR_SPARCH_ABLATION_STEPS];
  /* The paper's factors, anchored at this run's OuterSPACE bytes: full SpArch = OuterSPACE / 2.8, and
   * each earlier step the next one times its factor. */
  /* The paper's reduction for the step into configuration k. */
  static const double paper_step[FR_SPARCH_ABLATION_STEPS] = {
    NAN, NAN, FR_SPARCH_PAPER_CONDENSE_FACTOR, FR_SPARCH_PAPER_HUFFMAN_FACTOR, FR_SPARCH_PAPER_PREFETCH_FACTOR,
  };
  double os_total = (double)t->ab->steps[0].result->total;
  /* Markers only where the paper states a factor: full SpArch (2.8x below OuterSPACE) and the steps
   * into it (prefetcher 1.5x, Huffman 1.8x, condensing 5.4x); none for OuterSPACE itself or the
   * pipelined merger without condensing. */
  markers[0] = markers[1] = NAN;
  markers[4] = os_total / FR_SPARCH_PAPER_OVERALL_FACTOR;
  markers[3] = markers[4] * FR_SPARCH_PAPER_PREFETCH_FACTOR;
  markers[2] = markers[3] * FR_SPARCH_PAPER_HUFFMAN_FACTOR;
  for (int k = 0; k < n && k < FR_SPARCH_ABLATION_STEPS; k++) {
    const FrSparchResult *r = t->ab->steps[k].result;
    fill_categories(r, values + k * N_CATEGORIES);
    labels[k] = t->ab->steps[k].label;
    double cur = MAX((double)r->total, 1);
    if (k == 0) {
      notes[k] = g_strdup("baseline");
    } else if (k == 1) {
      gboolean more = cur > os_total;
      g_autofree char *f = format_factor(more ? cur / MAX(os_total, 1) : os_total / cur);
      notes[k] = g_strdup_printf("%s %s than OuterSPACE", f, more ? "more" : "less");
    } else {
      double prev = MAX((double)t->ab->steps[k - 1].result->total, 1);
      gboolean more = cur > prev;
      g_autofree char *f = format_factor(more ? cur / prev : prev / cur);
      g_autofree char *p = format_factor(paper_step[k]);
      notes[k] = g_strdup_printf("%s %s (paper: %s less)", f, more ? "more" : "less", p);
    }
  }
  g_autofree char *subject = chart_subject(t);
  g_autofree char *title = g_strdup_printf("Ablation · %s", subject);
  FrReportBarChart c = {
    .title = title,
    .value_label = "Bytes to and from DRAM",
    .n_bars = (guint)n,
    .n_segments = N_CATEGORIES,
    .bar_labels = labels,
    .bar_notes = (const char *const *)notes,
    .segment_labels = category_labels,
    .values = values,
    .markers = markers,
    .marker_label = "Paper’s factors, from OuterSPACE ÷ 2.8",
    .format_value = fr_report_format_bytes_func,
  };
  frontier_sparch_bars_set_chart(self->ablation_chart, &c);
  for (int k = 0; k < FR_SPARCH_ABLATION_STEPS; k++)
    g_free(notes[k]);
}

static void
update_frame_label(FrontierSparchPage *self)
{
  g_autofree char *text = frontier_sparch_pipeline_describe_frame(self->pipeline);
  gtk_label_set_text(self->frame_label, text != NULL ? text : " ");
}

static void
show_simulation(FrontierSparchPage *self, SimTask *t)
{
  clear_results(self);
  self->sim = sim_task_ref(t);
  const FrSparchResult *r = sim_main(t);
  const FrSparchResult *other = r == t->sp ? t->os : t->sp;

  /* Key numbers. */
  const char *who = r == t->sp ? "SpArch" : "OuterSPACE";
  const char *whom = r == t->sp ? "OuterSPACE" : "SpArch";
  g_autofree char *bytes = fr_report_format_bytes((double)r->total);
  gtk_label_set_text(self->dram_label, bytes);
  g_autofree char *dram = NULL;
  if (other->total > 0 && r->total > 0) {
    gboolean less = r->total <= other->total;
    g_autofree char *f = format_factor(less ? (double)other->total / r->total : (double)r->total / other->total);
    g_autofree char *ob = fr_report_format_bytes((double)other->total);
    dram = g_strdup_printf("%s: %s %s than %s (%s)", who, f, less ? "less" : "more", whom, ob);
  } else {
    dram = g_strdup(who);
  }
  gtk_label_set_text(self->dram_detail, dram);
  double clock = r->config.arch == FR_SPARCH_ARCH_OUTERSPACE ? r->config.os_clock_hz : r->config.clock_hz;
  g_autofree char *secs = format_seconds(r->seconds);
  gtk_label_set_text(self->time_label, secs);
  g_autofree char *other_secs = format_seconds(other->seconds);
  g_autofree char *time_detail = g_strdup_printf("%s cycles at %.3g GHz; %s: %s", grp(r->cycles), clock / 1e9, whom,
                                                 other_secs);
  gtk_label_set_text(self->time_detail, time_detail);
  g_autofree char *gflops = g_strdup_printf("%.2f GFLOPS", r->gflops);
  gtk_label_set_text(self->gflops_label, gflops);
  gtk_label_set_text(self->gflops_detail, "2 flops per multiply, over the simulated time");
  gtk_label_set_text(self->partials_label, grp(r->partial_matrices));
  g_autofree char *partials = g_strdup_printf("%s: %s", whom, grp(other->partial_matrices));
  gtk_label_set_text(self->partials_detail, partials);
  gtk_label_set_text(self->rounds_label, grp(r->n_rounds));
  gtk_label_set_text(self->rounds_detail, r == t->sp ? (r->config.huffman ? "Huffman schedule" : "index-order schedule")
                                                     : "multiply phase, then merge phase");
  gtk_label_set_text(self->nnz_c_label, grp(r->nnz_c));
  g_autofree char *mults = g_strdup_printf("from %s products", grp(r->multiplies));
  gtk_label_set_text(self->nnz_c_detail, mults);
  int64_t lines = t->sp->prefetch_hits + t->sp->prefetch_misses;
  if (t->sp->config.prefetch == FR_SPARCH_PREFETCH_NONE || lines == 0) {
    gtk_label_set_text(self->hits_label, "—");
    gtk_label_set_text(self->hits_detail, "no row prefetcher");
  } else {
    g_autofree char *hits = g_strdup_printf("%.1f %%", 100.0 * t->sp->prefetch_hits / lines);
    gtk_label_set_text(self->hits_label, hits);
    g_autofree char *hits_detail = g_strdup_printf("SpArch, %s, of %s lines",
                                                   t->sp->config.prefetch == FR_SPARCH_PREFETCH_LRU ? "LRU" : "MIN",
                                                   grp(lines));
    gtk_label_set_text(self->hits_detail, hits_detail);
  }
  double host = t->sp->host_seconds + (t->os_in_ab ? 0 : t->os->host_seconds);
  int runs = 2;
  if (t->ab != NULL) {
    host = 0;
    for (int k = 0; k < t->ab->n_steps; k++)
      host += t->ab->steps[k].result->host_seconds;
    runs = t->ab->n_steps;
    if (!t->sp_in_ab) {
      host += t->sp->host_seconds;
      runs++;
    }
  }
  g_autofree char *host_text = g_strdup_printf("%.2f s", host);
  gtk_label_set_text(self->host_label, host_text);
  g_autofree char *host_detail = g_strdup_printf("%d simulations on this machine", runs);
  gtk_label_set_text(self->host_detail, host_detail);

  /* Spy plot of C. */
  frontier_sparch_spy_set_data(self->spy_c, t->spy_c);
  g_autofree char *c_text = g_strdup_printf("%s × %s, %s nonzeros", grp(t->c_nrows), grp(t->c_ncols), grp(t->c_nnz));
  gtk_label_set_text(self->spy_c_label, c_text);
  g_autofree char *prod = product_label(t);
  g_autofree char *c_title = g_strdup_printf("Spy plot of C = %s", prod);
  frontier_sparch_spy_set_title(self->spy_c, c_title);

  /* Charts. */
  set_dram_chart(self, t);
  set_ablation_chart(self, t);

  /* Pipeline and comparator: SpArch's trace. */
  frontier_sparch_pipeline_set_result(self->pipeline, t->sp);
  gint64 frames = frontier_sparch_pipeline_get_n_frames(self->pipeline);
  gtk_adjustment_configure(self->scrub_adjustment, 0, 0, MAX(frames - 1, 0), 1, MAX(1, frames / 20), 0);
  gtk_widget_set_sensitive(GTK_WIDGET(self->scrubber), frames > 1);
  update_frame_label(self);
  if (t->sp->trace != NULL)
    frontier_sparch_comparator_set_step(self->comparator, &t->sp->trace->comparator);
  frontier_sparch_comparator_set_placeholder(self->comparator,
                                             "No merger had two inputs in this run (every round merged a single "
                                             "partial matrix)");
}

/* Brings the results into view, unless they already are. */
static void
scroll_value_cb(double value, gpointer user_data)
{
  FrontierSparchPage *self = user_data;
  gtk_adjustment_set_value(gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(self->scroller)), value);
}

static void
scroll_to_results(FrontierSparchPage *self)
{
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(self->scroller));
  double x = 0, y = 0;
  if (!gtk_widget_translate_coordinates(self->results_box, self->content_box, 0, 0, &x, &y))
    return;
  double top = gtk_adjustment_get_value(adj), page = gtk_adjustment_get_page_size(adj);
  /* The stats and the first chart: about 420 px below the results' top. */
  if (y >= top && y + MIN(420, page) <= top + page)
    return;
  double target = CLAMP(y - 12 + 18 /* the content's top margin */, gtk_adjustment_get_lower(adj),
                        gtk_adjustment_get_upper(adj) - page);
  if (self->scroll_animation == NULL) {
    AdwAnimationTarget *t = adw_callback_animation_target_new(scroll_value_cb, self, NULL);
    self->scroll_animation = adw_timed_animation_new(GTK_WIDGET(self), 0, 1, 400, t);
    adw_timed_animation_set_easing(ADW_TIMED_ANIMATION(self->scroll_animation), ADW_EASE_OUT_CUBIC);
  }
  adw_timed_animation_set_value_from(ADW_TIMED_ANIMATION(self->scroll_animation), top);
  adw_timed_animation_set_value_to(ADW_TIMED_ANIMATION(self->scroll_animation), target);
  adw_animation_play(self->scroll_animation);
}

/* ---- job plumbing ---- */

static void
finish_job(FrontierSparchPage *self, FrEvent *ev)
{
  FrJobStatus status = ev->status;
  if (status == FR_JOB_RUNNING)
    status = fr_job_get_status(self->job);
  JobKind kind = self->job_kind;
  LoadTask *load = g_steal_pointer(&self->load_task);
  SimTask *sim = g_steal_pointer(&self->sim_task);

  g_clear_pointer(&self->job, fr_job_unref);
  self->job_kind = JOB_NONE;
  self->cancel_requested = FALSE;

  switch (status) {
  case FR_JOB_SUCCEEDED:
    if (kind == JOB_LOAD && load->result != NULL && self->pending_path == NULL) {
      show_matrix(self, load->result);
    } else if (kind == JOB_SIMULATE) {
      set_fraction(self, 1.0);
      show_simulation(self, sim);
      scroll_to_results(self);
      const FrSparchResult *r = sim_main(sim);
      g_autofree char *bytes = fr_report_format_bytes((double)r->total);
      g_autofree char *text = g_strdup_printf("Finished: %s of DRAM traffic in %s cycles", bytes,
                                              grp(r->cycles));
      gtk_progress_bar_set_text(self->progress_bar, text);
    }
    break;
  case FR_JOB_CANCELLED:
    gtk_progress_bar_set_fraction(self->progress_bar, 0);
    gtk_progress_bar_set_text(self->progress_bar, "Cancelled");
    if (self->pending_path == NULL)
      frontier_page_toast(GTK_WIDGET(self), kind == JOB_LOAD ? "Loading cancelled" : "Simulation cancelled", 3);
    if (kind == JOB_LOAD)
      select_shipped_row(self, self->matrix != NULL && !self->matrix->synthetic ? self->matrix->source : NULL);
    break;
  case FR_JOB_FAILED:
  default: {
    const char *why = ev->message && *ev->message ? ev->message : "unknown error";
    g_autofree char *text = g_strdup_printf("Failed: %s", why);
    gtk_progress_bar_set_fraction(self->progress_bar, 0);
    gtk_progress_bar_set_text(self->progress_bar, text);
    g_autofree char *toast = g_strdup_printf(kind == JOB_LOAD ? "Could not load the matrix: %s"
                                                              : "Simulation failed: %s",
                                             why);
    frontier_page_toast(GTK_WIDGET(self), toast, 0);
    if (kind == JOB_LOAD)
      select_shipped_row(self, self->matrix != NULL && !self->matrix->synthetic ? self->matrix->source : NULL);
    break;
  }
  }
  if (load != NULL)
    load_task_unref(load);
  sim_task_unref(sim);
  update_sensitivity(self);

  /* A benchmark picked while the last load ran. */
  if (self->pending_path != NULL) {
    g_autofree char *path = g_steal_pointer(&self->pending_path);
    start_load(self, path, NULL, 0);
  }
}

static gboolean
tick_cb(GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(widget);
  if (self->job == NULL) {
    self->tick_id = 0;
    return G_SOURCE_REMOVE;
  }
  gboolean changed = FALSE;
  FrEvent *finished = NULL;
  for (int k = 0; k < MAX_EVENTS_PER_FRAME; k++) {
    FrEvent *ev = fr_job_pop_event(self->job);
    if (ev == NULL)
      break;
    switch (ev->kind) {
    case FR_EVENT_PROGRESS:
      if (ev->fraction >= 0) {
        double f = self->n_stages > 0 ? (self->stage + ev->fraction) / self->n_stages : ev->fraction;
        set_fraction(self, f);
      } else if (self->fraction == 0) {
        gtk_progress_bar_pulse(self->progress_bar);
      }
      if (ev->message != NULL) {
        g_free(self->job_message);
        self->job_message = g_strdup(ev->message);
      }
      changed = TRUE;
      break;
    case FR_EVENT_PAYLOAD:
      if (ev->payload_type != NULL && g_str_equal(ev->payload_type, "sparch.stage") && ev->payload != NULL &&
          g_variant_is_of_type(ev->payload, G_VARIANT_TYPE("(uus)"))) {
        const char *label;
        g_variant_get(ev->payload, "(uu&s)", &self->stage, &self->n_stages, &label);
        g_free(self->stage_label);
        self->stage_label = g_strdup(label);
        set_fraction(self, self->n_stages > 0 ? (double)self->stage / self->n_stages : 0);
        changed = TRUE;
      }
      break;
    case FR_EVENT_LOG:
      if (ev->message != NULL)
        g_debug("%s: %s", fr_job_get_name(self->job), ev->message);
      break;
    case FR_EVENT_FINISHED:
      finished = ev;
      ev = NULL;
      break;
    default:
      break;
    }
    fr_event_free(ev);
    if (finished != NULL)
      break;
  }
  if (changed && finished == NULL && !self->cancel_requested)
    set_progress_text(self);
  if (finished != NULL) {
    self->tick_id = 0;
    finish_job(self, finished);
    fr_event_free(finished);
    if (self->job != NULL && self->tick_id == 0) /* finish_job started a pending load */
      self->tick_id = gtk_widget_add_tick_callback(widget, tick_cb, NULL, NULL);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
begin_job(FrontierSparchPage *self, JobKind kind)
{
  self->job_kind = kind;
  self->cancel_requested = FALSE;
  self->fraction = 0;
  self->stage = 0;
  self->n_stages = 0;
  g_clear_pointer(&self->stage_label, g_free);
  g_clear_pointer(&self->job_message, g_free);
  gtk_progress_bar_set_fraction(self->progress_bar, 0);
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback(GTK_WIDGET(self), tick_cb, NULL, NULL);
  update_sensitivity(self);
}

static void
start_load(FrontierSparchPage *self, const char *path, const char *spec, guint64 seed)
{
  if (self->job != NULL) {
    /* Only a load can be superseded, and only by a file: cancel it and load this one next. */
    if (self->job_kind == JOB_LOAD && path != NULL) {
      g_free(self->pending_path);
      self->pending_path = g_strdup(path);
      if (!self->cancel_requested) {
        fr_job_cancel(self->job);
        self->cancel_requested = TRUE;
      }
    }
    return;
  }
  LoadTask *t = g_atomic_rc_box_new0(LoadTask);
  t->path = g_strdup(path);
  t->spec = g_strdup(spec);
  t->seed = seed;
  self->load_task = t;
  self->job = fr_job_start("sparch-load", load_job, g_atomic_rc_box_acquire(t), load_task_unref);
  begin_job(self, JOB_LOAD);
  g_autofree char *name = spec != NULL ? g_strdup(spec) : g_path_get_basename(path);
  g_autofree char *text = g_strdup_printf("%s %s…", spec != NULL ? "Generating" : "Reading", name);
  gtk_progress_bar_set_text(self->progress_bar, text);
}

void
frontier_sparch_page_open_file(FrontierSparchPage *self, GFile *file)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_PAGE(self));
  g_return_if_fail(G_IS_FILE(file));
  g_autofree char *path = g_file_get_path(file);
  if (path == NULL) {
    frontier_page_toast(GTK_WIDGET(self), "Only local files can be opened", 3);
    return;
  }
  if (self->job != NULL && self->job_kind != JOB_LOAD) {
    frontier_page_toast(GTK_WIDGET(self), "Wait for the simulation to finish, or cancel it", 3);
    return;
  }
  select_shipped_row(self, path);
  start_load(self, path, NULL, 0);
}

gboolean
frontier_sparch_page_get_running(FrontierSparchPage *self)
{
  g_return_val_if_fail(FRONTIER_IS_SPARCH_PAGE(self), FALSE);
  return self->job != NULL;
}

/* ---- parameters ---- */

static void
params_from_config(FrontierSparchPage *self, const FrSparchConfig *cfg)
{
  adw_combo_row_set_selected(self->arch_row, cfg->arch == FR_SPARCH_ARCH_OUTERSPACE ? 1 : 0);
  gtk_switch_set_active(self->condense_switch, cfg->condense);
  gtk_switch_set_active(self->huffman_switch, cfg->huffman);
  adw_combo_row_set_selected(self->prefetch_row, cfg->prefetch == FR_SPARCH_PREFETCH_LRU    ? 1
                                                 : cfg->prefetch == FR_SPARCH_PREFETCH_NONE ? 2
                                                                                            : 0);
  gtk_spin_button_set_value(self->buffer_spin, (double)cfg->prefetch_buffer_bytes / 1024.0);
  gtk_spin_button_set_value(self->line_spin, cfg->prefetch_line_bytes);
  gtk_spin_button_set_value(self->lookahead_spin, (double)cfg->lookahead);
  int layers = fr_sparch_config_layers(cfg);
  adw_combo_row_set_selected(self->ways_row, (guint)CLAMP(layers - 1, 0, FR_SPARCH_MAX_LAYERS - 1));
  gtk_spin_button_set_value(self->width_spin, cfg->merger_width);
  gtk_spin_button_set_value(self->multipliers_spin, cfg->multipliers);
  gtk_spin_button_set_value(self->bandwidth_spin, cfg->bandwidth_bytes_per_s / 1e9);
  gtk_spin_button_set_value(self->clock_spin, cfg->clock_hz / 1e9);
}

static void
config_from_params(FrontierSparchPage *self, FrSparchConfig *cfg)
{
  fr_sparch_config_init(cfg, FR_SPARCH_ARCH_SPARCH);
  cfg->arch = adw_combo_row_get_selected(self->arch_row) == 1 ? FR_SPARCH_ARCH_OUTERSPACE : FR_SPARCH_ARCH_SPARCH;
  cfg->condense = gtk_switch_get_active(self->condense_switch);
  cfg->huffman = gtk_switch_get_active(self->huffman_switch);
  guint p = adw_combo_row_get_selected(self->prefetch_row);
  cfg->prefetch = p == 1 ? FR_SPARCH_PREFETCH_LRU : p == 2 ? FR_SPARCH_PREFETCH_NONE : FR_SPARCH_PREFETCH_MIN;
  cfg->prefetch_buffer_bytes = (int64_t)llround(gtk_spin_button_get_value(self->buffer_spin) * 1024);
  cfg->prefetch_line_bytes = gtk_spin_button_get_value_as_int(self->line_spin);
  cfg->lookahead = (int64_t)llround(gtk_spin_button_get_value(self->lookahead_spin));
  cfg->merge_ways = 1 << (adw_combo_row_get_selected(self->ways_row) + 1);
  cfg->merger_width = gtk_spin_button_get_value_as_int(self->width_spin);
  cfg->multipliers = gtk_spin_button_get_value_as_int(self->multipliers_spin);
  cfg->bandwidth_bytes_per_s = gtk_spin_button_get_value(self->bandwidth_spin) * 1e9;
  cfg->clock_hz = gtk_spin_button_get_value(self->clock_spin) * 1e9;
}

static void
reset_params_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(widget);
  FrSparchConfig cfg;
  fr_sparch_config_init(&cfg, FR_SPARCH_ARCH_SPARCH);
  params_from_config(self, &cfg);
  gtk_switch_set_active(self->ablation_switch, TRUE);
}

/* ---- actions ---- */

static void
simulate_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(widget);
  if (self->job != NULL || self->matrix == NULL)
    return;
  gboolean transpose = adw_combo_row_get_selected(self->product_row) == 1;
  if (!transpose && self->matrix->a->nrows != self->matrix->a->ncols) {
    frontier_page_toast(GTK_WIDGET(self), "A·A needs a square matrix: choose A·Aᵀ", 4);
    return;
  }
  FrSparchConfig cfg;
  config_from_params(self, &cfg);
  g_autoptr(GError) error = NULL;
  if (!fr_sparch_config_validate(&cfg, &error)) {
    g_autofree char *msg = g_strdup_printf("Invalid parameters: %s", error->message);
    frontier_page_toast(GTK_WIDGET(self), msg, 0);
    return;
  }
  SimTask *t = g_atomic_rc_box_new0(SimTask);
  t->m = matrix_ref(self->matrix);
  t->transpose_b = transpose;
  t->arch = cfg.arch;
  t->ablation = gtk_switch_get_active(self->ablation_switch);
  t->sp_cfg = cfg;
  t->sp_cfg.arch = FR_SPARCH_ARCH_SPARCH;
  t->sp_cfg.trace = FALSE;
  t->sp_cfg.keep_product = FALSE;
  t->os_cfg = t->sp_cfg;
  t->os_cfg.arch = FR_SPARCH_ARCH_OUTERSPACE;
  self->sim_task = t;
  self->job = fr_job_start("sparch-simulate", sim_job, sim_task_ref(t), sim_task_unref);
  begin_job(self, JOB_SIMULATE);
  gtk_progress_bar_set_text(self->progress_bar, "Starting…");
}

static void
cancel_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(widget);
  if (self->job == NULL || self->cancel_requested)
    return;
  g_clear_pointer(&self->pending_path, g_free);
  fr_job_cancel(self->job);
  self->cancel_requested = TRUE;
  gtk_progress_bar_set_text(self->progress_bar, "Cancelling…");
  update_sensitivity(self);
}

static void
generate_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(widget);
  if (self->job != NULL)
    return;
  const char *spec = gtk_editable_get_text(GTK_EDITABLE(self->spec_row));
  if (spec == NULL || *spec == '\0')
    return;
  if (fr_sparse_gen_describe(spec) == NULL) {
    /* Let the generator say what is wrong. */
    g_autoptr(GError) error = NULL;
    FrCsr *m = NULL;
    if (strchr(spec, ':') == NULL)
      g_set_error(&error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID, "a spec reads kind:key=value,…");
    else
      m = fr_sparse_generate(spec, 1, &error); /* only reached for specs describe() refused: fails fast */
    fr_csr_free(m);
    g_autofree char *msg = g_strdup_printf("Invalid generator spec “%s”: %s", spec,
                                           error != NULL ? error->message : "unknown kind");
    frontier_page_toast(GTK_WIDGET(self), msg, 0);
    gtk_widget_add_css_class(GTK_WIDGET(self->spec_row), "error");
    return;
  }
  guint64 seed = (guint64)llround(gtk_spin_button_get_value(self->seed_spin));
  start_load(self, NULL, spec, seed);
}

static void
spec_activated_cb(FrontierSparchPage *self)
{
  gtk_widget_activate_action(GTK_WIDGET(self), "sparch.generate", NULL);
}

static void
spec_changed_cb(FrontierSparchPage *self)
{
  gtk_widget_remove_css_class(GTK_WIDGET(self->spec_row), "error");
  update_sensitivity(self);
}

static void
open_response_cb(GtkNativeDialog *dialog, int response, FrontierSparchPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    if (file != NULL)
      frontier_sparch_page_open_file(self, file);
  }
  g_clear_object(&self->chooser);
  g_clear_pointer(&self->export_kind, g_free);
}

static GtkFileChooserNative *
new_chooser(FrontierSparchPage *self, const char *title, GtkFileChooserAction mode, const char *accept)
{
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new(title, GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                                              mode, accept, "_Cancel");
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(chooser), TRUE);
  return chooser;
}

static void
add_filter(GtkFileChooserNative *chooser, const char *name, const char *const *patterns)
{
  GtkFileFilter *filter = gtk_file_filter_new();
  gtk_file_filter_set_name(filter, name);
  for (guint i = 0; patterns[i] != NULL; i++)
    gtk_file_filter_add_pattern(filter, patterns[i]);
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(chooser), filter);
  g_object_unref(filter);
}

static void
open_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(widget);
  if (self->chooser != NULL || self->job != NULL)
    return;
  self->chooser = new_chooser(self, "Open Matrix", GTK_FILE_CHOOSER_ACTION_OPEN, "_Open");
  static const char *const mtx[] = { "*.mtx", "*.mtx.gz", "*.MTX", "*.MTX.GZ", NULL };
  static const char *const all[] = { "*", NULL };
  add_filter(self->chooser, "Matrix Market files", mtx);
  add_filter(self->chooser, "All files", all);
  if (self->matrix != NULL && !self->matrix->synthetic) {
    g_autofree char *dir = g_path_get_dirname(self->matrix->source);
    g_autoptr(GFile) folder = g_file_new_for_path(dir);
    gtk_file_chooser_set_current_folder(GTK_FILE_CHOOSER(self->chooser), folder, NULL);
  }
  g_signal_connect(self->chooser, "response", G_CALLBACK(open_response_cb), self);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

/* ---- export ---- */

typedef struct {
  char *path;
  char *data;        /* CSV or JSON text */
  gsize len;
  FrReportBarChart *chart; /* figure to render */
  double width_pt, height_pt;
} ExportJob;

static void
export_job_free(gpointer data)
{
  ExportJob *e = data;
  g_free(e->path);
  g_free(e->data);
  fr_report_bar_chart_free(e->chart);
  g_free(e);
}

static void
draw_export_chart(cairo_t *cr, double w, double h, gpointer user)
{
  fr_report_draw_stacked_bars(cr, 0, 0, w, h, user);
}

static void
export_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ExportJob *e = data;
  GError *error = NULL;
  gboolean ok;
  if (e->chart != NULL)
    ok = fr_report_render(e->path, FR_REPORT_FORMAT_AUTO, e->width_pt, e->height_pt, draw_export_chart, e->chart,
                          &error);
  else
    ok = fr_report_write_file(e->path, e->data, e->len, &error);
  if (ok)
    g_task_return_boolean(task, TRUE);
  else
    g_task_return_error(task, error);
}

static void
export_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(source);
  ExportJob *e = g_task_get_task_data(G_TASK(result));
  g_autoptr(GError) error = NULL;
  if (g_task_propagate_boolean(G_TASK(result), &error)) {
    g_autofree char *name = g_path_get_basename(e->path);
    g_autofree char *msg = g_strdup_printf("Saved %s", name);
    frontier_page_toast(GTK_WIDGET(self), msg, 3);
  } else if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_autofree char *msg = g_strdup_printf("Could not export: %s", error->message);
    frontier_page_toast(GTK_WIDGET(self), msg, 0);
  }
}

static FrReportTable *
build_csv(FrontierSparchPage *self)
{
  const SimTask *t = self->sim;
  FrReportTable *table = fr_report_table_new_with_columns(
    "matrix", "synthetic", "product", "configuration", "arch", "condense", "huffman", "prefetch", "a_read", "b_read",
    "partial_write", "partial_read", "c_write", "total", "cycles", "seconds", "gflops", "multiplies", "nnz_c",
    "partial_matrices", "rounds", "prefetch_hits", "prefetch_misses", "reduction_vs_previous", "paper_reduction",
    "reduction_vs_outerspace", NULL);
  const FrSparchResult *rows[FR_SPARCH_ABLATION_STEPS + 1];
  const char *labels[FR_SPARCH_ABLATION_STEPS + 1];
  int n = 0;
  if (t->ab != NULL) {
    for (int k = 0; k < t->ab->n_steps; k++) {
      rows[n] = t->ab->steps[k].result;
      labels[n++] = t->ab->steps[k].label;
    }
    if (!t->sp_in_ab) {
      rows[n] = t->sp;
      labels[n++] = "SpArch (as configured)";
    }
  } else {
    rows[n] = t->os;
    labels[n++] = "OuterSPACE";
    rows[n] = t->sp;
    labels[n++] = "SpArch (as configured)";
  }
  static const double paper[FR_SPARCH_ABLATION_STEPS] = {
    NAN, NAN, FR_SPARCH_PAPER_CONDENSE_FACTOR, FR_SPARCH_PAPER_HUFFMAN_FACTOR, FR_SPARCH_PAPER_PREFETCH_FACTOR,
  };
  const char *prod = t->transpose_b ? "A*A^T" : "A*A";
  for (int k = 0; k < n; k++) {
    const FrSparchResult *r = rows[k];
    guint row = fr_report_table_add_row(table);
    guint c = 0;
    fr_report_table_set_string(table, row, c++, t->m->name);
    fr_report_table_set_string(table, row, c++, t->m->synthetic ? "yes" : "no");
    fr_report_table_set_string(table, row, c++, prod);
    fr_report_table_set_string(table, row, c++, labels[k]);
    fr_report_table_set_string(table, row, c++, fr_sparch_arch_name(r->config.arch));
    gboolean os = r->config.arch == FR_SPARCH_ARCH_OUTERSPACE;
    fr_report_table_set_string(table, row, c++, os ? "" : r->config.condense ? "yes" : "no");
    fr_report_table_set_string(table, row, c++, os ? "" : r->config.huffman ? "yes" : "no");
    fr_report_table_set_string(table, row, c++, os ? "" : fr_sparch_prefetch_name(r->config.prefetch));
    fr_report_table_set_int(table, row, c++, r->a_read);
    fr_report_table_set_int(table, row, c++, r->b_read);
    fr_report_table_set_int(table, row, c++, r->partial_write);
    fr_report_table_set_int(table, row, c++, r->partial_read);
    fr_report_table_set_int(table, row, c++, r->c_write);
    fr_report_table_set_int(table, row, c++, r->total);
    fr_report_table_set_int(table, row, c++, r->cycles);
    fr_report_table_set_double(table, row, c++, r->seconds);
    fr_report_table_set_double(table, row, c++, r->gflops);
    fr_report_table_set_int(table, row, c++, r->multiplies);
    fr_report_table_set_int(table, row, c++, r->nnz_c);
    fr_report_table_set_int(table, row, c++, r->partial_matrices);
    fr_report_table_set_int(table, row, c++, r->n_rounds);
    fr_report_table_set_int(table, row, c++, r->prefetch_hits);
    fr_report_table_set_int(table, row, c++, r->prefetch_misses);
    gboolean in_ablation = t->ab != NULL && k < t->ab->n_steps;
    double prev = k > 0 && in_ablation ? (double)rows[k - 1]->total : NAN;
    fr_report_table_set_double(table, row, c++, k > 0 && in_ablation && r->total > 0 ? prev / r->total : NAN);
    fr_report_table_set_double(table, row, c++, in_ablation ? paper[k] : NAN);
    fr_report_table_set_double(table, row, c++, r->total > 0 ? (double)t->os->total / r->total : NAN);
  }
  return table;
}

static void
add_json_string_member(JsonBuilder *b, const char *name, const char *json)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json != NULL ? json_from_string(json, &error) : NULL;
  json_builder_set_member_name(b, name);
  if (node != NULL)
    json_builder_add_value(b, node); /* takes ownership */
  else
    json_builder_add_null_value(b);
}

static char *
build_json(FrontierSparchPage *self, gsize *len)
{
  const SimTask *t = self->sim;
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "matrix");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "name");
  json_builder_add_string_value(b, t->m->name);
  json_builder_set_member_name(b, t->m->synthetic ? "spec" : "path");
  json_builder_add_string_value(b, t->m->source);
  json_builder_set_member_name(b, "synthetic");
  json_builder_add_boolean_value(b, t->m->synthetic);
  if (t->m->synthetic) {
    json_builder_set_member_name(b, "seed");
    json_builder_add_int_value(b, (gint64)t->m->seed);
  }
  json_builder_set_member_name(b, "nrows");
  json_builder_add_int_value(b, t->m->a->nrows);
  json_builder_set_member_name(b, "ncols");
  json_builder_add_int_value(b, t->m->a->ncols);
  json_builder_set_member_name(b, "nnz");
  json_builder_add_int_value(b, t->m->a->nnz);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "product");
  json_builder_add_string_value(b, t->transpose_b ? "A*A^T" : "A*A");
  json_builder_set_member_name(b, "shown");
  json_builder_add_string_value(b, fr_sparch_arch_name(t->arch));
  g_autofree char *sp = fr_sparch_result_to_json(t->sp, FALSE);
  add_json_string_member(b, "sparch", sp);
  g_autofree char *os = fr_sparch_result_to_json(t->os, FALSE);
  add_json_string_member(b, "outerspace", os);
  if (t->ab != NULL) {
    g_autofree char *ab = fr_sparch_ablation_to_json(t->ab, FALSE);
    add_json_string_member(b, "ablation", ab);
  }
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_indent(gen, 2);
  g_autofree char *text = json_generator_to_data(gen, NULL);
  char *out = g_strconcat(text, "\n", NULL);
  *len = strlen(out);
  return out;
}

static void
save_response_cb(GtkNativeDialog *dialog, int response, FrontierSparchPage *self)
{
  g_autofree char *kind = g_steal_pointer(&self->export_kind);
  g_autoptr(GFile) file = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog)) : NULL;
  g_clear_object(&self->chooser);
  if (file == NULL || kind == NULL || self->sim == NULL)
    return;
  g_autofree char *path = g_file_get_path(file);
  if (path == NULL) {
    frontier_page_toast(GTK_WIDGET(self), "Only local files can be written", 3);
    return;
  }
  ExportJob *e = g_new0(ExportJob, 1);
  e->path = g_steal_pointer(&path);
  if (g_str_equal(kind, "csv")) {
    FrReportTable *table = build_csv(self);
    e->data = fr_report_table_to_csv(table, &e->len);
    fr_report_table_free(table);
  } else if (g_str_equal(kind, "json")) {
    e->data = build_json(self, &e->len);
  } else {
    gboolean ablation = g_str_has_prefix(kind, "ablation");
    const FrReportBarChart *shown = frontier_sparch_bars_get_chart(ablation ? self->ablation_chart : self->dram_chart);
    if (shown == NULL) {
      frontier_page_toast(GTK_WIDGET(self), "There is no ablation to export: simulate with Ablation on", 4);
      export_job_free(e);
      return;
    }
    e->chart = fr_report_bar_chart_copy(shown);
    e->chart->font_size = 10; /* black on white, the default font */
    e->width_pt = 540;
    e->height_pt = 120 + 38.0 * e->chart->n_bars;
    /* A figure's format is its extension: add it when the name has none. */
    FrReportFormat want = g_str_has_suffix(kind, ".pdf") ? FR_REPORT_FORMAT_PDF : FR_REPORT_FORMAT_SVG;
    if (fr_report_format_from_path(e->path) == FR_REPORT_FORMAT_AUTO) {
      char *with = g_strconcat(e->path, want == FR_REPORT_FORMAT_PDF ? ".pdf" : ".svg", NULL);
      g_free(e->path);
      e->path = with;
    }
  }
  GTask *task = g_task_new(self, self->cancellable, export_done_cb, NULL);
  g_task_set_task_data(task, e, export_job_free);
  g_task_run_in_thread(task, export_thread);
  g_object_unref(task);
}

static char *
safe_name(const char *name)
{
  char *s = g_strdup(name);
  for (char *p = s; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
      *p = '-';
  return s;
}

static void
start_export(FrontierSparchPage *self, const char *kind, const char *title, const char *suffix,
             const char *filter_name, const char *pattern)
{
  if (self->sim == NULL || self->chooser != NULL)
    return;
  self->chooser = new_chooser(self, title, GTK_FILE_CHOOSER_ACTION_SAVE, "_Save");
  g_autofree char *base = safe_name(self->sim->m->name);
  g_autofree char *name = g_strdup_printf("%s-%s", base, suffix);
  gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(self->chooser), name);
  const char *patterns[] = { pattern, NULL };
  add_filter(self->chooser, filter_name, patterns);
  self->export_kind = g_strdup(kind);
  g_signal_connect(self->chooser, "response", G_CALLBACK(save_response_cb), self);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

static void
export_csv_action(GtkWidget *widget, const char *action, GVariant *param)
{
  start_export(FRONTIER_SPARCH_PAGE(widget), "csv", "Export Ablation Table", "sparch.csv", "CSV tables", "*.csv");
}

static void
export_json_action(GtkWidget *widget, const char *action, GVariant *param)
{
  start_export(FRONTIER_SPARCH_PAGE(widget), "json", "Export Results", "sparch.json", "JSON documents", "*.json");
}

static void
export_figure_action(GtkWidget *widget, const char *action, GVariant *param)
{
  const char *which = g_variant_get_string(param, NULL);
  gboolean pdf = g_str_has_suffix(which, ".pdf");
  gboolean ablation = g_str_has_prefix(which, "ablation");
  g_autofree char *suffix = g_strdup_printf("%s.%s", ablation ? "ablation" : "dram", pdf ? "pdf" : "svg");
  start_export(FRONTIER_SPARCH_PAGE(widget), which, ablation ? "Export Ablation Chart" : "Export DRAM Chart", suffix,
               pdf ? "PDF documents" : "SVG images", pdf ? "*.pdf" : "*.svg");
}

/* ---- pipeline playback ---- */

static void
set_playing(FrontierSparchPage *self, gboolean playing);

static gboolean
play_tick_cb(GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(widget);
  if (!self->playing) {
    self->play_tick_id = 0;
    return G_SOURCE_REMOVE;
  }
  gint64 now = gdk_frame_clock_get_frame_time(clock);
  double dt = self->play_last_us > 0 ? (now - self->play_last_us) / 1e6 : 0;
  self->play_last_us = now;
  gint64 frames = frontier_sparch_pipeline_get_n_frames(self->pipeline);
  /* The whole trace in about 15 s, but at least 3 frames a second. */
  double speed = MAX(frames / 15.0, 3.0);
  double v = gtk_adjustment_get_value(self->scrub_adjustment) + speed * MIN(dt, 0.25);
  if (v >= frames - 1) {
    gtk_adjustment_set_value(self->scrub_adjustment, (double)(frames - 1));
    self->play_tick_id = 0;
    set_playing(self, FALSE);
    return G_SOURCE_REMOVE;
  }
  gtk_adjustment_set_value(self->scrub_adjustment, v);
  return G_SOURCE_CONTINUE;
}

static void
set_playing(FrontierSparchPage *self, gboolean playing)
{
  self->playing = playing;
  gtk_button_set_icon_name(self->play_button, playing ? "media-playback-pause-symbolic"
                                                      : "media-playback-start-symbolic");
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->play_button), playing ? "Pause" : "Play");
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->play_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 playing ? "Pause" : "Play", -1);
  if (playing && self->play_tick_id == 0) {
    self->play_last_us = 0;
    self->play_tick_id = gtk_widget_add_tick_callback(GTK_WIDGET(self), play_tick_cb, NULL, NULL);
  } else if (!playing && self->play_tick_id != 0) {
    gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->play_tick_id);
    self->play_tick_id = 0;
  }
}

static void
play_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(widget);
  gint64 frames = frontier_sparch_pipeline_get_n_frames(self->pipeline);
  if (frames <= 1)
    return;
  if (!self->playing && gtk_adjustment_get_value(self->scrub_adjustment) >= frames - 1)
    gtk_adjustment_set_value(self->scrub_adjustment, 0);
  set_playing(self, !self->playing);
}

static void
scrub_changed_cb(FrontierSparchPage *self)
{
  frontier_sparch_pipeline_set_frame(self->pipeline, gtk_adjustment_get_value(self->scrub_adjustment));
  update_frame_label(self);
}

/* ---- shipped matrices ---- */

typedef struct {
  char *path, *name, *subtitle;
} Shipped;

static void
shipped_free(gpointer data)
{
  Shipped *s = data;
  g_free(s->path);
  g_free(s->name);
  g_free(s->subtitle);
  g_free(s);
}

/* "8,297 × 8,297 · 103,689 entries, pattern general" from the Matrix Market header. */
static char *
peek_header(const char *path)
{
  gzFile f = gzopen(path, "rb");
  if (f == NULL)
    return NULL;
  char line[1024];
  char *out = NULL;
  g_autofree char *kind = NULL;
  for (int i = 0; i < 200 && gzgets(f, line, sizeof line) != NULL; i++) {
    if (i == 0 && g_str_has_prefix(line, "%%MatrixMarket")) {
      g_auto(GStrv) words = g_strsplit_set(g_strstrip(line), " \t", -1);
      if (g_strv_length(words) >= 5)
        kind = g_strdup_printf("%s %s", words[3], words[4]);
      continue;
    }
    if (line[0] == '%' || line[0] == '\n' || line[0] == '\r')
      continue;
    long long r, c, n;
    if (sscanf(line, "%lld %lld %lld", &r, &c, &n) == 3) {
      g_autofree char *rs = fr_report_format_int(r), *cs = fr_report_format_int(c), *ns = fr_report_format_int(n);
      out = g_strdup_printf("%s × %s · %s stored entries%s%s", rs, cs, ns, kind ? ", " : "", kind ? kind : "");
    }
    break;
  }
  gzclose(f);
  return out;
}

static int
compare_shipped(gconstpointer a, gconstpointer b)
{
  const Shipped *x = *(Shipped *const *)a, *y = *(Shipped *const *)b;
  return g_ascii_strcasecmp(x->name, y->name);
}

static void
list_shipped_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(shipped_free);
  g_autofree char *probe = fr_data_find("matrices/wiki-Vote.mtx.gz");
  if (probe != NULL) {
    g_autofree char *dir = g_path_get_dirname(probe);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
      if (!g_str_has_suffix(n, ".mtx.gz") && !g_str_has_suffix(n, ".mtx"))
        continue;
      Shipped *s = g_new0(Shipped, 1);
      s->path = g_build_filename(dir, n, NULL);
      s->name = matrix_name_from_path(n);
      s->subtitle = peek_header(s->path);
      g_ptr_array_add(out, s);
    }
    if (d != NULL)
      g_dir_close(d);
  }
  g_ptr_array_sort(out, compare_shipped);
  g_task_return_pointer(task, out, (GDestroyNotify)g_ptr_array_unref);
}

static void
list_shipped_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GPtrArray) list = g_task_propagate_pointer(G_TASK(result), NULL);
  if (g_task_had_error(G_TASK(result)) || list == NULL || !FRONTIER_IS_SPARCH_PAGE(source))
    return;
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(source);
  if (list->len == 0) {
    gtk_label_set_text(self->shipped_placeholder,
                       "No shipped matrices found (data/matrices, or $FR_DATA_DIR/matrices)");
    return;
  }
  for (guint i = 0; i < list->len; i++) {
    Shipped *s = g_ptr_array_index(list, i);
    GtkWidget *row = adw_action_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), s->name);
    if (s->subtitle != NULL)
      adw_action_row_set_subtitle(ADW_ACTION_ROW(row), s->subtitle);
    gtk_widget_set_name(row, s->name);
    g_object_set_data_full(G_OBJECT(row), "path", g_strdup(s->path), g_free);
    /* AdwActionRow is labelled by its title: its accessible name is the matrix's name. */
    gtk_list_box_append(self->shipped_list, row);
  }
  if (self->matrix != NULL && !self->matrix->synthetic)
    select_shipped_row(self, self->matrix->source);
}

static void
shipped_row_selected_cb(FrontierSparchPage *self, GtkListBoxRow *row)
{
  if (self->selecting || row == NULL)
    return;
  const char *path = g_object_get_data(G_OBJECT(row), "path");
  if (path == NULL)
    return;
  if (self->job == NULL && self->matrix != NULL && g_strcmp0(self->matrix->source, path) == 0)
    return;
  if (self->job != NULL && self->job_kind != JOB_LOAD)
    return;
  start_load(self, path, NULL, 0);
}

/* ---- drag and drop ---- */

static gboolean
drop_cb(GtkDropTarget *target, const GValue *value, double x, double y, FrontierSparchPage *self)
{
  if (!G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST))
    return FALSE;
  GSList *files = gdk_file_list_get_files(g_value_get_boxed(value));
  if (files == NULL)
    return FALSE;
  if (self->job != NULL && self->job_kind != JOB_LOAD) {
    frontier_page_toast(GTK_WIDGET(self), "Wait for the simulation to finish, or cancel it", 3);
    g_slist_free(files);
    return FALSE;
  }
  frontier_sparch_page_open_file(self, G_FILE(files->data));
  g_slist_free(files);
  return TRUE;
}

/* ---- lifetime ---- */


static void
frontier_sparch_page_dispose(GObject *object)
{
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(object);
  if (self->tick_id != 0) {
    gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->tick_id);
    self->tick_id = 0;
  }
  if (self->play_tick_id != 0) {
    gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->play_tick_id);
    self->play_tick_id = 0;
  }
  g_cancellable_cancel(self->cancellable);
  if (self->scroll_animation != NULL)
    adw_animation_skip(self->scroll_animation);
  g_clear_object(&self->scroll_animation);
  /* A job still running is cancelled; the application stays up until it has stopped (10 s at most). */
  frontier_jobs_cancel_and_release(g_steal_pointer(&self->job));
  if (self->chooser != NULL) {
    g_signal_handlers_disconnect_by_data(self->chooser, self);
    gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->chooser));
    g_clear_object(&self->chooser);
  }
  /* The pipeline borrows the simulation's result: let it go before the result does. */
  if (self->pipeline != NULL)
    frontier_sparch_pipeline_set_result(self->pipeline, NULL);
  gtk_widget_dispose_template(GTK_WIDGET(self), FRONTIER_TYPE_SPARCH_PAGE);
  self->pipeline = NULL;
  g_clear_pointer(&self->sim, sim_task_unref);
  g_clear_pointer(&self->sim_task, sim_task_unref);
  if (self->load_task != NULL) {
    load_task_unref(self->load_task);
    self->load_task = NULL;
  }
  g_clear_pointer(&self->matrix, matrix_unref);
  G_OBJECT_CLASS(frontier_sparch_page_parent_class)->dispose(object);
}

static void
frontier_sparch_page_finalize(GObject *object)
{
  FrontierSparchPage *self = FRONTIER_SPARCH_PAGE(object);
  g_free(self->stage_label);
  g_free(self->job_message);
  g_free(self->pending_path);
  g_free(self->export_kind);
  g_clear_object(&self->cancellable);
  G_OBJECT_CLASS(frontier_sparch_page_parent_class)->finalize(object);
}


static void
frontier_sparch_page_class_init(FrontierSparchPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->dispose = frontier_sparch_page_dispose;
  object_class->finalize = frontier_sparch_page_finalize;

  g_type_ensure(FRONTIER_TYPE_COLUMNS);
  g_type_ensure(FRONTIER_TYPE_SPARCH_SPY);
  g_type_ensure(FRONTIER_TYPE_SPARCH_BARS);
  g_type_ensure(FRONTIER_TYPE_SPARCH_PIPELINE);
  g_type_ensure(FRONTIER_TYPE_SPARCH_COMPARATOR);

  gtk_widget_class_set_template_from_resource(widget_class, "/org/frontier/Frontier/frontier-sparch-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child(widget_class, FrontierSparchPage, name)
  BIND(scroller);
  BIND(open_button);
  BIND(export_button);
  BIND(cancel_button);
  BIND(simulate_button);
  BIND(sources_box);
  BIND(shipped_list);
  BIND(shipped_placeholder);
  BIND(generate_group);
  BIND(spec_row);
  BIND(seed_spin);
  BIND(matrix_title);
  BIND(synthetic_tag);
  BIND(matrix_detail);
  BIND(spy_a);
  BIND(spy_c);
  BIND(spy_a_label);
  BIND(spy_c_label);
  BIND(product_row);
  BIND(params_group);
  BIND(hardware_group);
  BIND(arch_row);
  BIND(condense_switch);
  BIND(huffman_switch);
  BIND(prefetch_row);
  BIND(buffer_spin);
  BIND(line_spin);
  BIND(lookahead_spin);
  BIND(ways_row);
  BIND(width_spin);
  BIND(multipliers_spin);
  BIND(bandwidth_spin);
  BIND(clock_spin);
  BIND(ablation_switch);
  BIND(progress_bar);
  BIND(dram_label);
  BIND(dram_detail);
  BIND(time_label);
  BIND(time_detail);
  BIND(gflops_label);
  BIND(gflops_detail);
  BIND(partials_label);
  BIND(partials_detail);
  BIND(rounds_label);
  BIND(rounds_detail);
  BIND(nnz_c_label);
  BIND(nnz_c_detail);
  BIND(hits_label);
  BIND(hits_detail);
  BIND(host_label);
  BIND(host_detail);
  BIND(content_box);
  BIND(results_box);
  BIND(results_stack);
  BIND(dram_chart);
  BIND(ablation_chart);
  BIND(pipeline);
  BIND(play_button);
  BIND(scrubber);
  BIND(scrub_adjustment);
  BIND(frame_label);
  BIND(comparator);
#undef BIND
  gtk_widget_class_bind_template_callback(widget_class, shipped_row_selected_cb);
  gtk_widget_class_bind_template_callback(widget_class, spec_activated_cb);
  gtk_widget_class_bind_template_callback(widget_class, spec_changed_cb);
  gtk_widget_class_bind_template_callback(widget_class, scrub_changed_cb);

  gtk_widget_class_install_action(widget_class, "sparch.open", NULL, open_action);
  gtk_widget_class_install_action(widget_class, "sparch.generate", NULL, generate_action);
  gtk_widget_class_install_action(widget_class, "sparch.simulate", NULL, simulate_action);
  gtk_widget_class_install_action(widget_class, "sparch.cancel", NULL, cancel_action);
  gtk_widget_class_install_action(widget_class, "sparch.reset-params", NULL, reset_params_action);
  gtk_widget_class_install_action(widget_class, "sparch.play", NULL, play_action);
  gtk_widget_class_install_action(widget_class, "sparch.export-csv", NULL, export_csv_action);
  gtk_widget_class_install_action(widget_class, "sparch.export-json", NULL, export_json_action);
  gtk_widget_class_install_action(widget_class, "sparch.export-figure", "s", export_figure_action);

  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "sparch.open", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "sparch.simulate", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0, "sparch.cancel", NULL);

  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name(widget_class, "sparchpage");
}

static void
frontier_sparch_page_init(FrontierSparchPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->cancellable = g_cancellable_new();

  /* Defaults come from the engine so the form always matches what the CLI does. */
  FrSparchConfig cfg;
  fr_sparch_config_init(&cfg, FR_SPARCH_ARCH_SPARCH);
  params_from_config(self, &cfg);

  frontier_sparch_spy_set_title(self->spy_a, "Spy plot of A");
  frontier_sparch_spy_set_placeholder(self->spy_a, "No matrix");
  frontier_sparch_spy_set_title(self->spy_c, "Spy plot of C");
  frontier_sparch_spy_set_placeholder(self->spy_c, "Simulate to see the product");
  frontier_sparch_pipeline_set_placeholder(self->pipeline,
                                           "Simulate to watch SpArch’s pipeline: condensed columns flow through the "
                                           "multipliers into the merge tree, round after round");
  frontier_sparch_comparator_set_placeholder(self->comparator, "Simulate to see one step of a comparator-array "
                                                               "merger");

  GtkDropTarget *drop = gtk_drop_target_new(GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect(drop, "drop", G_CALLBACK(drop_cb), self);
  gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(drop));

  GTask *task = g_task_new(self, self->cancellable, list_shipped_done_cb, NULL);
  g_task_run_in_thread(task, list_shipped_thread);
  g_object_unref(task);

  update_sensitivity(self);
}

GtkWidget *
frontier_sparch_page_new(void)
{
  return g_object_new(FRONTIER_TYPE_SPARCH_PAGE, NULL);
}
