/* frontier-sparch-bars.c: see frontier-sparch-bars.h. */
#include <math.h>

#include <adwaita.h>

#include "frontier-sparch-bars.h"
#include "frontier-sparch-draw.h"

#define SCREEN_FONT_PX 13.0

struct _FrontierSparchBars {
  GtkWidget parent_instance;

  FrReportBarChart *chart;   /* owned copy, or NULL */
  char *placeholder;
  char *label;
  char *family;              /* the UI font's family */
  cairo_surface_t *measure_surface;
  cairo_t *measure_cr;       /* for hit-testing text widths */
};

G_DEFINE_FINAL_TYPE(FrontierSparchBars, frontier_sparch_bars, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_PLACEHOLDER, PROP_LABEL, N_PROPS };
static GParamSpec *props[N_PROPS];

static char *
format_for(const FrReportBarChart *c, double v)
{
  if (c->format_value != NULL)
    return c->format_value(v, c->format_user_data);
  return fr_report_format_si(v, "");
}

char *
frontier_sparch_bars_describe(FrontierSparchBars *self)
{
  g_return_val_if_fail(FRONTIER_IS_SPARCH_BARS(self), NULL);
  const FrReportBarChart *c = self->chart;
  if (c == NULL || c->n_bars == 0)
    return g_strdup(self->placeholder != NULL ? self->placeholder : "No data");
  GString *s = g_string_new(NULL);
  for (guint b = 0; b < c->n_bars; b++) {
    double total = 0;
    for (guint k = 0; k < c->n_segments; k++) {
      double v = c->values[(gsize)b * c->n_segments + k];
      total += isfinite(v) && v > 0 ? v : 0;
    }
    g_autofree char *t = format_for(c, total);
    if (b > 0)
      g_string_append(s, "; ");
    g_string_append_printf(s, "%s: %s", c->bar_labels != NULL && c->bar_labels[b] ? c->bar_labels[b] : "?", t);
    if (c->n_segments > 1 && c->segment_labels != NULL) {
      g_string_append(s, " (");
      for (guint k = 0; k < c->n_segments; k++) {
        g_autofree char *v = format_for(c, c->values[(gsize)b * c->n_segments + k]);
        g_string_append_printf(s, "%s%s %s", k > 0 ? ", " : "", c->segment_labels[k], v);
      }
      g_string_append(s, ")");
    }
    if (c->bar_notes != NULL && c->bar_notes[b] != NULL)
      g_string_append_printf(s, ", %s", c->bar_notes[b]);
  }
  return g_string_free(s, FALSE);
}

static void
update_accessible(FrontierSparchBars *self)
{
  g_autofree char *desc = frontier_sparch_bars_describe(self);
  const char *label = self->chart != NULL && self->chart->title != NULL ? self->chart->title
                      : self->label != NULL                               ? self->label
                                                                         : "Bar chart";
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, desc, -1);
}

static void
update_family(FrontierSparchBars *self)
{
  g_free(self->family);
  self->family = frontier_sparch_draw_font_family(GTK_WIDGET(self));
}

/* The chart as drawn on screen: the stored copy with the widget's font and colours. */
static FrReportBarChart
screen_chart(FrontierSparchBars *self)
{
  return frontier_sparch_draw_screen_chart(GTK_WIDGET(self), self->chart, SCREEN_FONT_PX, self->family);
}

static void
frontier_sparch_bars_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierSparchBars *self = FRONTIER_SPARCH_BARS(widget);
  int width = gtk_widget_get_width(widget), height = gtk_widget_get_height(widget);
  if (width < 8 || height < 8)
    return;
  if (self->chart == NULL) {
    frontier_sparch_draw_placeholder(widget, snapshot, self->placeholder, 24);
    return;
  }
  FrReportBarChart c = screen_chart(self);
  cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, width, height));
  fr_report_draw_stacked_bars(cr, 0, 0, width, height, &c);
  cairo_destroy(cr);
}

static gboolean
query_tooltip_cb(GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer user)
{
  FrontierSparchBars *self = FRONTIER_SPARCH_BARS(widget);
  if (self->chart == NULL || keyboard)
    return FALSE;
  if (self->measure_cr == NULL) {
    self->measure_surface = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    self->measure_cr = cairo_create(self->measure_surface);
  }
  FrReportBarChart c = screen_chart(self);
  guint bar, seg;
  if (!fr_report_stacked_bars_hit(self->measure_cr, gtk_widget_get_width(widget), gtk_widget_get_height(widget), &c,
                                  x, y, &bar, &seg))
    return FALSE;
  const char *bar_label = c.bar_labels != NULL && c.bar_labels[bar] ? c.bar_labels[bar] : "";
  g_autofree char *text = NULL;
  if (seg >= c.n_segments) {
    g_autofree char *v = format_for(&c, c.markers[bar]);
    text = g_strdup_printf("%s\n%s: %s", bar_label, c.marker_label != NULL ? c.marker_label : "Reference", v);
  } else {
    double total = 0;
    for (guint k = 0; k < c.n_segments; k++) {
      double v = c.values[(gsize)bar * c.n_segments + k];
      total += isfinite(v) && v > 0 ? v : 0;
    }
    double v = c.values[(gsize)bar * c.n_segments + seg];
    g_autofree char *vs = format_for(&c, v);
    g_autofree char *ts = format_for(&c, total);
    const char *seg_label = c.segment_labels != NULL ? c.segment_labels[seg] : NULL;
    if (c.n_segments > 1)
      text = g_strdup_printf("%s · %s\n%s (%.1f %% of %s)", bar_label, seg_label ? seg_label : "", vs,
                             total > 0 ? 100 * v / total : 0, ts);
    else
      text = g_strdup_printf("%s\n%s", bar_label, vs);
  }
  gtk_tooltip_set_text(tooltip, text);
  return TRUE;
}

static void
frontier_sparch_bars_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                             int *natural, int *minimum_baseline, int *natural_baseline)
{
  FrontierSparchBars *self = FRONTIER_SPARCH_BARS(widget);
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = 240;
    *natural = 520;
  } else {
    guint bars = self->chart != NULL ? MAX(self->chart->n_bars, 2u) : 2;
    *minimum = 160;
    *natural = MAX(200, (int)(110 + 46 * bars));
  }
}

static void
restyle_cb(FrontierSparchBars *self)
{
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
font_changed_cb(FrontierSparchBars *self)
{
  update_family(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
frontier_sparch_bars_root(GtkWidget *widget)
{
  GTK_WIDGET_CLASS(frontier_sparch_bars_parent_class)->root(widget);
  FrontierSparchBars *self = FRONTIER_SPARCH_BARS(widget);
  update_family(self);
  g_signal_connect_object(gtk_widget_get_settings(widget), "notify::gtk-font-name", G_CALLBACK(font_changed_cb),
                          self, G_CONNECT_SWAPPED);
}

static void
frontier_sparch_bars_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  FrontierSparchBars *self = FRONTIER_SPARCH_BARS(object);
  switch (id) {
  case PROP_PLACEHOLDER:
    g_value_set_string(value, self->placeholder);
    break;
  case PROP_LABEL:
    g_value_set_string(value, self->label);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void
frontier_sparch_bars_set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  FrontierSparchBars *self = FRONTIER_SPARCH_BARS(object);
  switch (id) {
  case PROP_PLACEHOLDER:
    frontier_sparch_bars_set_placeholder(self, g_value_get_string(value));
    break;
  case PROP_LABEL:
    frontier_sparch_bars_set_label(self, g_value_get_string(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void
frontier_sparch_bars_dispose(GObject *object)
{
  FrontierSparchBars *self = FRONTIER_SPARCH_BARS(object);
  g_signal_handlers_disconnect_by_data(adw_style_manager_get_default(), self);
  G_OBJECT_CLASS(frontier_sparch_bars_parent_class)->dispose(object);
}

static void
frontier_sparch_bars_finalize(GObject *object)
{
  FrontierSparchBars *self = FRONTIER_SPARCH_BARS(object);
  g_clear_pointer(&self->chart, fr_report_bar_chart_free);
  g_clear_pointer(&self->measure_cr, cairo_destroy);
  g_clear_pointer(&self->measure_surface, cairo_surface_destroy);
  g_free(self->placeholder);
  g_free(self->label);
  g_free(self->family);
  G_OBJECT_CLASS(frontier_sparch_bars_parent_class)->finalize(object);
}

static void
frontier_sparch_bars_class_init(FrontierSparchBarsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->get_property = frontier_sparch_bars_get_property;
  object_class->set_property = frontier_sparch_bars_set_property;
  object_class->dispose = frontier_sparch_bars_dispose;
  object_class->finalize = frontier_sparch_bars_finalize;
  widget_class->snapshot = frontier_sparch_bars_snapshot;
  widget_class->measure = frontier_sparch_bars_measure;
  widget_class->root = frontier_sparch_bars_root;

  props[PROP_PLACEHOLDER] = g_param_spec_string("placeholder", NULL, NULL, NULL,
                                                G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                                                  G_PARAM_STATIC_STRINGS);
  props[PROP_LABEL] = g_param_spec_string("label", NULL, NULL, NULL,
                                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(object_class, N_PROPS, props);

  gtk_widget_class_set_css_name(widget_class, "barchart");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
frontier_sparch_bars_init(FrontierSparchBars *self)
{
  gtk_widget_set_has_tooltip(GTK_WIDGET(self), TRUE);
  g_signal_connect(self, "query-tooltip", G_CALLBACK(query_tooltip_cb), NULL);
  g_signal_connect_swapped(adw_style_manager_get_default(), "notify::dark", G_CALLBACK(restyle_cb), self);
  update_accessible(self);
}

GtkWidget *
frontier_sparch_bars_new(void)
{
  return g_object_new(FRONTIER_TYPE_SPARCH_BARS, NULL);
}

void
frontier_sparch_bars_set_chart(FrontierSparchBars *self, const FrReportBarChart *chart)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_BARS(self));
  g_clear_pointer(&self->chart, fr_report_bar_chart_free);
  if (chart != NULL)
    self->chart = fr_report_bar_chart_copy(chart);
  update_accessible(self);
  gtk_widget_queue_resize(GTK_WIDGET(self));
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

const FrReportBarChart *
frontier_sparch_bars_get_chart(FrontierSparchBars *self)
{
  g_return_val_if_fail(FRONTIER_IS_SPARCH_BARS(self), NULL);
  return self->chart;
}

void
frontier_sparch_bars_set_placeholder(FrontierSparchBars *self, const char *text)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_BARS(self));
  if (g_strcmp0(text, self->placeholder) == 0)
    return;
  g_free(self->placeholder);
  self->placeholder = g_strdup(text);
  update_accessible(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PLACEHOLDER]);
}

void
frontier_sparch_bars_set_label(FrontierSparchBars *self, const char *label)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_BARS(self));
  if (g_strcmp0(label, self->label) == 0)
    return;
  g_free(self->label);
  self->label = g_strdup(label);
  update_accessible(self);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_LABEL]);
}
