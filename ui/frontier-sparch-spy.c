/* frontier-sparch-spy.c: see frontier-sparch-spy.h. */
#include <math.h>

#include <adwaita.h>

#include "fr-report.h"
#include "frontier-sparch-draw.h"
#include "frontier-sparch-spy.h"

struct _FrontierSparchSpyData {
  int bin_rows, bin_cols;
  int64_t nrows, ncols, nnz;
  guint32 max_count;
  guint32 counts[]; /* bin_rows * bin_cols, row-major */
};

FrontierSparchSpyData *
frontier_sparch_spy_data_new(const FrCsr *m, int max_bins)
{
  g_return_val_if_fail(m != NULL, NULL);
  max_bins = CLAMP(max_bins, 1, 4096);
  int64_t big = MAX(MAX(m->nrows, m->ncols), 1);
  int br, bc;
  if (m->nrows >= m->ncols) {
    br = (int)MIN(m->nrows, max_bins);
    bc = (int)CLAMP(llround((double)br * m->ncols / big), 1, MAX(1, MIN(m->ncols, max_bins)));
  } else {
    bc = (int)MIN(m->ncols, max_bins);
    br = (int)CLAMP(llround((double)bc * m->nrows / big), 1, MAX(1, MIN(m->nrows, max_bins)));
  }
  br = MAX(br, 1);
  bc = MAX(bc, 1);
  FrontierSparchSpyData *d = g_atomic_rc_box_alloc0(sizeof(FrontierSparchSpyData) +
                                                    (gsize)br * bc * sizeof(guint32));
  d->bin_rows = br;
  d->bin_cols = bc;
  d->nrows = m->nrows;
  d->ncols = m->ncols;
  d->nnz = m->nnz;
  for (int64_t i = 0; i < m->nrows; i++) {
    int64_t bi = m->nrows > 0 ? i * br / m->nrows : 0;
    guint32 *row = d->counts + bi * bc;
    for (int64_t p = m->rowptr[i]; p < m->rowptr[i + 1]; p++) {
      int64_t bj = (int64_t)m->col[p] * bc / MAX(m->ncols, 1);
      row[bj]++;
    }
  }
  for (gsize k = 0; k < (gsize)br * bc; k++)
    d->max_count = MAX(d->max_count, d->counts[k]);
  return d;
}

FrontierSparchSpyData *
frontier_sparch_spy_data_ref(FrontierSparchSpyData *data)
{
  return g_atomic_rc_box_acquire(data);
}

void
frontier_sparch_spy_data_unref(FrontierSparchSpyData *data)
{
  if (data != NULL)
    g_atomic_rc_box_release(data);
}

void
frontier_sparch_spy_data_get_size(FrontierSparchSpyData *data, int *bin_rows, int *bin_cols, guint32 *max_count)
{
  g_return_if_fail(data != NULL);
  if (bin_rows)
    *bin_rows = data->bin_rows;
  if (bin_cols)
    *bin_cols = data->bin_cols;
  if (max_count)
    *max_count = data->max_count;
}

guint32
frontier_sparch_spy_data_get_count(FrontierSparchSpyData *data, int bin_row, int bin_col)
{
  g_return_val_if_fail(data != NULL, 0);
  g_return_val_if_fail(bin_row >= 0 && bin_row < data->bin_rows && bin_col >= 0 && bin_col < data->bin_cols, 0);
  return data->counts[(gsize)bin_row * data->bin_cols + bin_col];
}

/* ---- widget ---- */

struct _FrontierSparchSpy {
  GtkWidget parent_instance;

  FrontierSparchSpyData *data;
  char *title;
  char *placeholder;

  cairo_surface_t *image;  /* the density image, rebuilt when the data or the colour scheme changes */
  gboolean image_dark;
  int hover_row, hover_col; /* -1: none */
};

G_DEFINE_FINAL_TYPE(FrontierSparchSpy, frontier_sparch_spy, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_TITLE, PROP_PLACEHOLDER, N_PROPS };
static GParamSpec *props[N_PROPS];

#define PAD 8.0

static void
update_description(FrontierSparchSpy *self)
{
  g_autofree char *desc = NULL;
  if (self->data != NULL)
    desc = g_strdup_printf("%s × %s matrix, %s nonzeros", frontier_sparch_draw_grp(self->data->nrows),
                           frontier_sparch_draw_grp(self->data->ncols),
                           frontier_sparch_draw_grp(self->data->nnz));
  else
    desc = g_strdup(self->placeholder != NULL ? self->placeholder : "Empty");
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 self->title != NULL ? self->title : "Spy plot",
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, desc, -1);
}

static void
build_image(FrontierSparchSpy *self)
{
  g_clear_pointer(&self->image, cairo_surface_destroy);
  if (self->data == NULL)
    return;
  FrontierSparchSpyData *d = self->data;
  gboolean dark = frontier_sparch_draw_is_dark();
  self->image_dark = dark;
  /* Adwaita blue 3 on light, blue 2 on dark. */
  double r = dark ? 0x62 / 255.0 : 0x1c / 255.0, g = dark ? 0xa0 / 255.0 : 0x71 / 255.0,
         b = dark ? 0xea / 255.0 : 0xd8 / 255.0;
  self->image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, d->bin_cols, d->bin_rows);
  cairo_surface_flush(self->image);
  guint8 *px = cairo_image_surface_get_data(self->image);
  int stride = cairo_image_surface_get_stride(self->image);
  double lmax = log1p((double)MAX(d->max_count, 1u));
  for (int i = 0; i < d->bin_rows; i++) {
    guint32 *out = (guint32 *)(px + (gsize)i * stride);
    for (int j = 0; j < d->bin_cols; j++) {
      guint32 c = d->counts[(gsize)i * d->bin_cols + j];
      if (c == 0) {
        out[j] = 0;
        continue;
      }
      double a = (dark ? 0.4 : 0.28) + (dark ? 0.6 : 0.72) * log1p((double)c) / lmax;
      guint32 A = (guint32)lround(a * 255);
      guint32 R = (guint32)lround(r * a * 255), G = (guint32)lround(g * a * 255), B = (guint32)lround(b * a * 255);
      out[j] = (A << 24) | (R << 16) | (G << 8) | B;
    }
  }
  cairo_surface_mark_dirty(self->image);
}

/* The plot's rectangle inside the widget, keeping the matrix's aspect ratio. */
static void
plot_rect(FrontierSparchSpy *self, double *x, double *y, double *w, double *h)
{
  double W = gtk_widget_get_width(GTK_WIDGET(self)) - 2 * PAD;
  double H = gtk_widget_get_height(GTK_WIDGET(self)) - 2 * PAD;
  double aspect = 1;
  if (self->data != NULL && self->data->nrows > 0 && self->data->ncols > 0)
    aspect = (double)self->data->ncols / self->data->nrows;
  double pw = W, ph = W / aspect;
  if (ph > H) {
    ph = H;
    pw = H * aspect;
  }
  pw = MAX(pw, 1);
  ph = MAX(ph, 1);
  *x = floor(PAD + (W - pw) / 2);
  *y = floor(PAD + (H - ph) / 2);
  *w = round(pw);
  *h = round(ph);
}

static void
frontier_sparch_spy_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierSparchSpy *self = FRONTIER_SPARCH_SPY(widget);
  int width = gtk_widget_get_width(widget), height = gtk_widget_get_height(widget);
  if (width <= 2 * PAD || height <= 2 * PAD)
    return;
  GdkRGBA fg;
  gtk_style_context_get_color(gtk_widget_get_style_context(widget), &fg);

  if (self->data == NULL) {
    /* An empty square where the plot will be. */
    double side = MIN(width, height) - 2 * PAD;
    GskRoundedRect outline;
    gsk_rounded_rect_init_from_rect(&outline, &GRAPHENE_RECT_INIT((width - side) / 2, (height - side) / 2, side, side), 6);
    GdkRGBA frame = fg;
    frame.alpha *= 0.15;
    const GdkRGBA colors[4] = { frame, frame, frame, frame };
    const float widths[4] = { 1, 1, 1, 1 };
    gtk_snapshot_append_border(snapshot, &outline, widths, colors);
    frontier_sparch_draw_placeholder(widget, snapshot, self->placeholder, 2 * PAD);
    return;
  }

  if (self->image == NULL || self->image_dark != frontier_sparch_draw_is_dark())
    build_image(self);

  double x, y, w, h;
  plot_rect(self, &x, &y, &w, &h);
  cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, width, height));
  /* Frame. */
  cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.04);
  cairo_rectangle(cr, x, y, w, h);
  cairo_fill(cr);
  cairo_save(cr);
  cairo_rectangle(cr, x, y, w, h);
  cairo_clip(cr);
  cairo_translate(cr, x, y);
  cairo_scale(cr, w / self->data->bin_cols, h / self->data->bin_rows);
  cairo_set_source_surface(cr, self->image, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr),
                           w >= self->data->bin_cols ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.35);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, x - 0.5, y - 0.5, w + 1, h + 1);
  cairo_stroke(cr);
  if (self->hover_row >= 0 && self->hover_col >= 0) {
    double cw = w / self->data->bin_cols, ch = h / self->data->bin_rows;
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.9);
    cairo_set_line_width(cr, 1.5);
    cairo_rectangle(cr, x + self->hover_col * cw - 1, y + self->hover_row * ch - 1, MAX(cw, 1) + 2, MAX(ch, 1) + 2);
    cairo_stroke(cr);
  }
  cairo_destroy(cr);
}

static gboolean
bin_at(FrontierSparchSpy *self, double px, double py, int *bi, int *bj)
{
  if (self->data == NULL)
    return FALSE;
  double x, y, w, h;
  plot_rect(self, &x, &y, &w, &h);
  if (px < x || py < y || px >= x + w || py >= y + h)
    return FALSE;
  *bi = CLAMP((int)((py - y) / h * self->data->bin_rows), 0, self->data->bin_rows - 1);
  *bj = CLAMP((int)((px - x) / w * self->data->bin_cols), 0, self->data->bin_cols - 1);
  return TRUE;
}

/* First index (0-based) in bin b of n indices split into nb bins. */
static int64_t
bin_first(int64_t b, int64_t n, int64_t nb)
{
  return (b * n + nb - 1) / nb;
}

static gboolean
query_tooltip_cb(GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer user)
{
  FrontierSparchSpy *self = FRONTIER_SPARCH_SPY(widget);
  int bi, bj;
  if (keyboard || !bin_at(self, x, y, &bi, &bj))
    return FALSE;
  FrontierSparchSpyData *d = self->data;
  int64_t r0 = bin_first(bi, d->nrows, d->bin_rows), r1 = bin_first(bi + 1, d->nrows, d->bin_rows) - 1;
  int64_t c0 = bin_first(bj, d->ncols, d->bin_cols), c1 = bin_first(bj + 1, d->ncols, d->bin_cols) - 1;
  guint32 n = d->counts[(gsize)bi * d->bin_cols + bj];
  g_autofree char *rows = r1 > r0 ? g_strdup_printf("Rows %s–%s", frontier_sparch_draw_grp(r0 + 1),
                                                    frontier_sparch_draw_grp(r1 + 1))
                                  : g_strdup_printf("Row %s", frontier_sparch_draw_grp(r0 + 1));
  g_autofree char *cols = c1 > c0 ? g_strdup_printf("columns %s–%s", frontier_sparch_draw_grp(c0 + 1),
                                                    frontier_sparch_draw_grp(c1 + 1))
                                  : g_strdup_printf("column %s", frontier_sparch_draw_grp(c0 + 1));
  g_autofree char *text =
    g_strdup_printf("%s, %s: %s nonzero%s", rows, cols, frontier_sparch_draw_grp(n), n == 1 ? "" : "s");
  gtk_tooltip_set_text(tooltip, text);
  return TRUE;
}

static void
motion_cb(GtkEventControllerMotion *motion, double x, double y, FrontierSparchSpy *self)
{
  int bi = -1, bj = -1;
  if (!bin_at(self, x, y, &bi, &bj))
    bi = bj = -1;
  if (bi != self->hover_row || bj != self->hover_col) {
    self->hover_row = bi;
    self->hover_col = bj;
    gtk_widget_queue_draw(GTK_WIDGET(self));
  }
}

static void
leave_cb(GtkEventControllerMotion *motion, FrontierSparchSpy *self)
{
  if (self->hover_row >= 0) {
    self->hover_row = self->hover_col = -1;
    gtk_widget_queue_draw(GTK_WIDGET(self));
  }
}

static void
frontier_sparch_spy_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                            int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = 96;
  *natural = 220;
}

static void
dark_changed_cb(FrontierSparchSpy *self)
{
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
frontier_sparch_spy_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  FrontierSparchSpy *self = FRONTIER_SPARCH_SPY(object);
  switch (id) {
  case PROP_TITLE:
    g_value_set_string(value, self->title);
    break;
  case PROP_PLACEHOLDER:
    g_value_set_string(value, self->placeholder);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void
frontier_sparch_spy_set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  FrontierSparchSpy *self = FRONTIER_SPARCH_SPY(object);
  switch (id) {
  case PROP_TITLE:
    frontier_sparch_spy_set_title(self, g_value_get_string(value));
    break;
  case PROP_PLACEHOLDER:
    frontier_sparch_spy_set_placeholder(self, g_value_get_string(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void
frontier_sparch_spy_dispose(GObject *object)
{
  FrontierSparchSpy *self = FRONTIER_SPARCH_SPY(object);
  g_signal_handlers_disconnect_by_data(adw_style_manager_get_default(), self);
  G_OBJECT_CLASS(frontier_sparch_spy_parent_class)->dispose(object);
}

static void
frontier_sparch_spy_finalize(GObject *object)
{
  FrontierSparchSpy *self = FRONTIER_SPARCH_SPY(object);
  g_clear_pointer(&self->data, frontier_sparch_spy_data_unref);
  g_clear_pointer(&self->image, cairo_surface_destroy);
  g_free(self->title);
  g_free(self->placeholder);
  G_OBJECT_CLASS(frontier_sparch_spy_parent_class)->finalize(object);
}

static void
frontier_sparch_spy_class_init(FrontierSparchSpyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->get_property = frontier_sparch_spy_get_property;
  object_class->set_property = frontier_sparch_spy_set_property;
  object_class->dispose = frontier_sparch_spy_dispose;
  object_class->finalize = frontier_sparch_spy_finalize;
  widget_class->snapshot = frontier_sparch_spy_snapshot;
  widget_class->measure = frontier_sparch_spy_measure;

  props[PROP_TITLE] = g_param_spec_string("title", NULL, NULL, NULL,
                                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_PLACEHOLDER] = g_param_spec_string("placeholder", NULL, NULL, NULL,
                                                G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                                                  G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(object_class, N_PROPS, props);

  gtk_widget_class_set_css_name(widget_class, "spyplot");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
frontier_sparch_spy_init(FrontierSparchSpy *self)
{
  self->hover_row = self->hover_col = -1;
  gtk_widget_set_has_tooltip(GTK_WIDGET(self), TRUE);
  g_signal_connect(self, "query-tooltip", G_CALLBACK(query_tooltip_cb), NULL);
  GtkEventController *motion = gtk_event_controller_motion_new();
  g_signal_connect(motion, "motion", G_CALLBACK(motion_cb), self);
  g_signal_connect(motion, "leave", G_CALLBACK(leave_cb), self);
  gtk_widget_add_controller(GTK_WIDGET(self), motion);
  g_signal_connect_swapped(adw_style_manager_get_default(), "notify::dark", G_CALLBACK(dark_changed_cb), self);
  update_description(self);
}

GtkWidget *
frontier_sparch_spy_new(void)
{
  return g_object_new(FRONTIER_TYPE_SPARCH_SPY, NULL);
}

void
frontier_sparch_spy_set_data(FrontierSparchSpy *self, FrontierSparchSpyData *data)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_SPY(self));
  if (data == self->data)
    return;
  if (data != NULL)
    frontier_sparch_spy_data_ref(data);
  g_clear_pointer(&self->data, frontier_sparch_spy_data_unref);
  self->data = data;
  g_clear_pointer(&self->image, cairo_surface_destroy);
  self->hover_row = self->hover_col = -1;
  update_description(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

FrontierSparchSpyData *
frontier_sparch_spy_get_data(FrontierSparchSpy *self)
{
  g_return_val_if_fail(FRONTIER_IS_SPARCH_SPY(self), NULL);
  return self->data;
}

void
frontier_sparch_spy_set_title(FrontierSparchSpy *self, const char *title)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_SPY(self));
  if (g_strcmp0(title, self->title) == 0)
    return;
  g_free(self->title);
  self->title = g_strdup(title);
  update_description(self);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_TITLE]);
}

const char *
frontier_sparch_spy_get_title(FrontierSparchSpy *self)
{
  g_return_val_if_fail(FRONTIER_IS_SPARCH_SPY(self), NULL);
  return self->title;
}

void
frontier_sparch_spy_set_placeholder(FrontierSparchSpy *self, const char *text)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_SPY(self));
  if (g_strcmp0(text, self->placeholder) == 0)
    return;
  g_free(self->placeholder);
  self->placeholder = g_strdup(text);
  update_description(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PLACEHOLDER]);
}
