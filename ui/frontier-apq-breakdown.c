/* frontier-apq-breakdown.c: see frontier-apq-breakdown.h. */
#include <math.h>
#include <string.h>

#include <adwaita.h>

#include "frontier-apq-breakdown.h"
#include "frontier-sparch-draw.h"

#define SCREEN_FONT_PX 13.0
#define N_SEGMENTS 4

static const char *const segment_labels[N_SEGMENTS] = { "Expand 1×1", "Depthwise", "Project 1×1", "Fixed" };

/* One bar: a fixed part or a block, and which rows make up each of its segments. */
typedef struct {
  char *label;
  int rows[N_SEGMENTS];   /* index into self->rows, -1 if none */
} Bar;

struct _FrontierApqBreakdown {
  GtkWidget parent_instance;

  GArray *rows;            /* FrApqLayerRow */
  int n_objectives;
  char *names[FR_APQ_COST_MAX_OBJECTIVES];
  char *units[FR_APQ_COST_MAX_OBJECTIVES];
  int objective;

  GArray *bars;            /* Bar */
  FrReportBarChart chart;  /* points into the arrays below */
  char **bar_labels;
  char **bar_notes;
  double *values;
  char *title;
  char *value_label;

  char *placeholder;
  char *family;
  cairo_surface_t *measure_surface;
  cairo_t *measure_cr;
};

G_DEFINE_FINAL_TYPE(FrontierApqBreakdown, frontier_apq_breakdown, GTK_TYPE_WIDGET)

static void
bar_clear(gpointer data)
{
  g_free(((Bar *)data)->label);
}

static char *
format_cost(double v, gpointer user_data)
{
  const char *unit = user_data;
  if (!isfinite(v))
    return g_strdup("—");
  if (unit == NULL || *unit == '\0')
    return fr_report_format_si(v, "");
  return g_strdup_printf("%.3g %s", v, unit);
}

static char *
format_plain(double v, gpointer user_data)
{
  return fr_report_format_si(v, "");
}

static int
segment_of(const FrApqLayerRow *r)
{
  if (r->block < 0)
    return 3;
  if (strstr(r->name, "depthwise") != NULL || strstr(r->name, "dw") != NULL)
    return 1;
  if (strstr(r->name, "project") != NULL)
    return 2;
  return 0;
}

static void
clear_chart(FrontierApqBreakdown *self)
{
  if (self->bar_labels != NULL)
    g_strfreev(self->bar_labels);
  if (self->bar_notes != NULL)
    g_strfreev(self->bar_notes);
  self->bar_labels = self->bar_notes = NULL;
  g_clear_pointer(&self->values, g_free);
  g_clear_pointer(&self->title, g_free);
  g_clear_pointer(&self->value_label, g_free);
  memset(&self->chart, 0, sizeof self->chart);
}

static void
rebuild(FrontierApqBreakdown *self)
{
  clear_chart(self);
  g_array_set_size(self->bars, 0);
  if (self->rows == NULL || self->rows->len == 0)
    return;
  int o = CLAMP(self->objective, 0, MAX(self->n_objectives - 1, 0));
  /* Bars in row order: each fixed part on its own, a block's three convs together. */
  int block_bar[FR_APQ_MAX_BLOCKS];
  for (int b = 0; b < FR_APQ_MAX_BLOCKS; b++)
    block_bar[b] = -1;
  g_autofree int *bar_of_row = g_new(int, self->rows->len);
  for (guint i = 0; i < self->rows->len; i++) {
    const FrApqLayerRow *r = &g_array_index(self->rows, FrApqLayerRow, i);
    gboolean is_block = r->block >= 0 && r->block < FR_APQ_MAX_BLOCKS;
    if (is_block && block_bar[r->block] >= 0) {
      bar_of_row[i] = block_bar[r->block];
    } else {
      Bar nb = { 0 };
      for (int k = 0; k < N_SEGMENTS; k++)
        nb.rows[k] = -1;
      if (is_block) {
        nb.label = g_strdup_printf("Block %d", r->block + 1);
      } else {
        nb.label = g_strdup(r->name);
        if (nb.label[0] != '\0')
          nb.label[0] = g_ascii_toupper(nb.label[0]);
      }
      g_array_append_val(self->bars, nb);
      bar_of_row[i] = (int)self->bars->len - 1;
      if (is_block)
        block_bar[r->block] = bar_of_row[i];
    }
    Bar *bar = &g_array_index(self->bars, Bar, bar_of_row[i]);
    int seg = segment_of(r);
    if (bar->rows[seg] < 0)
      bar->rows[seg] = (int)i;
  }
  guint n = self->bars->len;
  self->bar_labels = g_new0(char *, n + 1);
  self->bar_notes = g_new0(char *, n + 1);
  self->values = g_new0(double, (gsize)n * N_SEGMENTS);
  for (guint b = 0; b < n; b++)
    self->bar_labels[b] = g_strdup(g_array_index(self->bars, Bar, b).label);
  double total = 0;
  for (guint i = 0; i < self->rows->len; i++) {
    const FrApqLayerRow *r = &g_array_index(self->rows, FrApqLayerRow, i);
    double v = r->costs[o];
    if (!(isfinite(v) && v > 0))
      continue;
    total += v;
    self->values[bar_of_row[i] * N_SEGMENTS + segment_of(r)] += v;
  }
  for (guint b = 0; b < n; b++) {
    double sum = 0;
    for (int k = 0; k < N_SEGMENTS; k++)
      sum += self->values[b * N_SEGMENTS + k];
    self->bar_notes[b] = total > 0 ? g_strdup_printf("%.1f %%", 100 * sum / total) : g_strdup("");
  }
  const char *name = self->names[o] != NULL ? self->names[o] : "cost";
  const char *unit = self->units[o] != NULL ? self->units[o] : "";
  g_autofree char *tot = format_cost(total, (gpointer)unit);
  self->title = g_strdup_printf("Per-layer %s · total %s", name, tot);
  self->value_label = *unit ? g_strdup_printf("%s (%s)", name, unit) : g_strdup(name);
  self->chart.title = self->title;
  self->chart.value_label = self->value_label;
  self->chart.n_bars = n;
  self->chart.n_segments = N_SEGMENTS;
  self->chart.bar_labels = (const char *const *)self->bar_labels;
  self->chart.bar_notes = (const char *const *)self->bar_notes;
  self->chart.segment_labels = segment_labels;
  self->chart.values = self->values;
  self->chart.format_value = *unit ? format_cost : format_plain;
  self->chart.format_user_data = self->units[o];
}

char *
frontier_apq_breakdown_describe(FrontierApqBreakdown *self)
{
  g_return_val_if_fail(FRONTIER_IS_APQ_BREAKDOWN(self), NULL);
  const FrReportBarChart *c = &self->chart;
  if (c->n_bars == 0)
    return g_strdup(self->placeholder != NULL ? self->placeholder : "No candidate");
  GString *s = g_string_new(NULL);
  for (guint b = 0; b < c->n_bars; b++) {
    double total = 0;
    for (guint k = 0; k < c->n_segments; k++)
      total += c->values[b * c->n_segments + k];
    g_autofree char *t = c->format_value(total, c->format_user_data);
    g_string_append_printf(s, "%s%s: %s (%s)", b > 0 ? "; " : "", c->bar_labels[b], t, c->bar_notes[b]);
  }
  return g_string_free(s, FALSE);
}

static void
update_accessible(FrontierApqBreakdown *self)
{
  g_autofree char *desc = frontier_apq_breakdown_describe(self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 self->title != NULL ? self->title : "Per-layer cost",
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, desc, -1);
}

static void
update_family(FrontierApqBreakdown *self)
{
  g_free(self->family);
  self->family = frontier_sparch_draw_font_family(GTK_WIDGET(self));
}

static FrReportBarChart
screen_chart(FrontierApqBreakdown *self)
{
  return frontier_sparch_draw_screen_chart(GTK_WIDGET(self), &self->chart, SCREEN_FONT_PX, self->family);
}

static void
frontier_apq_breakdown_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierApqBreakdown *self = FRONTIER_APQ_BREAKDOWN(widget);
  int width = gtk_widget_get_width(widget), height = gtk_widget_get_height(widget);
  if (width < 8 || height < 8)
    return;
  if (self->chart.n_bars == 0) {
    frontier_sparch_draw_placeholder(widget, snapshot, self->placeholder, 24);
    return;
  }
  FrReportBarChart c = screen_chart(self);
  cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, width, height));
  fr_report_draw_stacked_bars(cr, 0, 0, width, height, &c);
  cairo_destroy(cr);
}

static void
frontier_apq_breakdown_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                               int *natural, int *minimum_baseline, int *natural_baseline)
{
  FrontierApqBreakdown *self = FRONTIER_APQ_BREAKDOWN(widget);
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = 280;
    *natural = 520;
  } else {
    guint bars = self->chart.n_bars;
    *minimum = *natural = bars == 0 ? 120 : (int)(112 + 21 * bars);
  }
}

static gboolean
query_tooltip_cb(GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer user)
{
  FrontierApqBreakdown *self = FRONTIER_APQ_BREAKDOWN(widget);
  if (self->chart.n_bars == 0 || keyboard)
    return FALSE;
  if (self->measure_cr == NULL) {
    self->measure_surface = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    self->measure_cr = cairo_create(self->measure_surface);
  }
  FrReportBarChart c = screen_chart(self);
  guint bar, seg;
  if (!fr_report_stacked_bars_hit(self->measure_cr, gtk_widget_get_width(widget), gtk_widget_get_height(widget), &c,
                                  x, y, &bar, &seg) ||
      seg >= N_SEGMENTS || bar >= self->bars->len)
    return FALSE;
  Bar *b = &g_array_index(self->bars, Bar, bar);
  int ri = b->rows[seg];
  if (ri < 0)
    return FALSE;
  const FrApqLayerRow *r = &g_array_index(self->rows, FrApqLayerRow, ri);
  g_autofree char *v = c.format_value(c.values[bar * N_SEGMENTS + seg], c.format_user_data);
  g_autofree char *bits = r->w_bits <= 0 || r->a_bits <= 0   ? g_strdup("bits as the model assumes")
                         : r->w_bits >= 32 && r->a_bits >= 32 ? g_strdup("full precision")
                                                              : g_strdup_printf("W%d/A%d bits", r->w_bits, r->a_bits);
  g_autofree char *shape = r->kernel > 0 ? g_strdup_printf("%d×%d conv %d→%d%s, stride %d, %d px", r->kernel, r->kernel,
                                                           r->cin, r->cout, r->groups > 1 ? ", depthwise" : "",
                                                           r->stride, r->hw)
                                         : g_strdup_printf("%d→%d channels, several layers", r->cin, r->cout);
  g_autofree char *macs = fr_report_format_si(r->macs, "MACs");
  g_autofree char *text = g_strdup_printf("%s\n%s · %s\n%s · %s (%s of the total)", r->name, shape, bits, macs, v,
                                          self->bar_notes[bar]);
  gtk_tooltip_set_text(tooltip, text);
  return TRUE;
}

static void
restyle_cb(FrontierApqBreakdown *self)
{
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
font_changed_cb(FrontierApqBreakdown *self)
{
  update_family(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
frontier_apq_breakdown_root(GtkWidget *widget)
{
  GTK_WIDGET_CLASS(frontier_apq_breakdown_parent_class)->root(widget);
  FrontierApqBreakdown *self = FRONTIER_APQ_BREAKDOWN(widget);
  update_family(self);
  g_signal_connect_object(gtk_widget_get_settings(widget), "notify::gtk-font-name", G_CALLBACK(font_changed_cb), self,
                          G_CONNECT_SWAPPED);
}

static void
frontier_apq_breakdown_dispose(GObject *object)
{
  FrontierApqBreakdown *self = FRONTIER_APQ_BREAKDOWN(object);
  g_signal_handlers_disconnect_by_data(adw_style_manager_get_default(), self);
  G_OBJECT_CLASS(frontier_apq_breakdown_parent_class)->dispose(object);
}

static void
frontier_apq_breakdown_finalize(GObject *object)
{
  FrontierApqBreakdown *self = FRONTIER_APQ_BREAKDOWN(object);
  clear_chart(self);
  g_clear_pointer(&self->rows, g_array_unref);
  g_array_unref(self->bars);
  for (int o = 0; o < FR_APQ_COST_MAX_OBJECTIVES; o++) {
    g_free(self->names[o]);
    g_free(self->units[o]);
  }
  g_clear_pointer(&self->measure_cr, cairo_destroy);
  g_clear_pointer(&self->measure_surface, cairo_surface_destroy);
  g_free(self->placeholder);
  g_free(self->family);
  G_OBJECT_CLASS(frontier_apq_breakdown_parent_class)->finalize(object);
}

static void
frontier_apq_breakdown_class_init(FrontierApqBreakdownClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = frontier_apq_breakdown_dispose;
  object_class->finalize = frontier_apq_breakdown_finalize;
  widget_class->snapshot = frontier_apq_breakdown_snapshot;
  widget_class->measure = frontier_apq_breakdown_measure;
  widget_class->root = frontier_apq_breakdown_root;
  gtk_widget_class_set_css_name(widget_class, "barchart");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
frontier_apq_breakdown_init(FrontierApqBreakdown *self)
{
  self->bars = g_array_new(FALSE, TRUE, sizeof(Bar));
  g_array_set_clear_func(self->bars, bar_clear);
  gtk_widget_set_has_tooltip(GTK_WIDGET(self), TRUE);
  g_signal_connect(self, "query-tooltip", G_CALLBACK(query_tooltip_cb), NULL);
  g_signal_connect_swapped(adw_style_manager_get_default(), "notify::dark", G_CALLBACK(restyle_cb), self);
  update_accessible(self);
}

GtkWidget *
frontier_apq_breakdown_new(void)
{
  return g_object_new(FRONTIER_TYPE_APQ_BREAKDOWN, NULL);
}

void
frontier_apq_breakdown_set_rows(FrontierApqBreakdown *self, GArray *rows, int n_objectives, const char *const *names,
                                const char *const *units)
{
  g_return_if_fail(FRONTIER_IS_APQ_BREAKDOWN(self));
  g_clear_pointer(&self->rows, g_array_unref);
  if (rows != NULL) {
    self->rows = g_array_sized_new(FALSE, FALSE, sizeof(FrApqLayerRow), rows->len);
    g_array_append_vals(self->rows, rows->data, rows->len);
  }
  self->n_objectives = CLAMP(n_objectives, 0, FR_APQ_COST_MAX_OBJECTIVES);
  for (int o = 0; o < FR_APQ_COST_MAX_OBJECTIVES; o++) {
    g_free(self->names[o]);
    g_free(self->units[o]);
    self->names[o] = o < self->n_objectives && names != NULL ? g_strdup(names[o]) : NULL;
    self->units[o] = o < self->n_objectives && units != NULL ? g_strdup(units[o]) : NULL;
  }
  rebuild(self);
  update_accessible(self);
  gtk_widget_queue_resize(GTK_WIDGET(self));
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_apq_breakdown_set_objective(FrontierApqBreakdown *self, int objective)
{
  g_return_if_fail(FRONTIER_IS_APQ_BREAKDOWN(self));
  if (objective == self->objective)
    return;
  self->objective = objective;
  rebuild(self);
  update_accessible(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

int
frontier_apq_breakdown_get_objective(FrontierApqBreakdown *self)
{
  g_return_val_if_fail(FRONTIER_IS_APQ_BREAKDOWN(self), 0);
  return self->objective;
}

void
frontier_apq_breakdown_set_placeholder(FrontierApqBreakdown *self, const char *text)
{
  g_return_if_fail(FRONTIER_IS_APQ_BREAKDOWN(self));
  g_free(self->placeholder);
  self->placeholder = g_strdup(text);
  update_accessible(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}
