/* frontier-profiler-roofline.c: see frontier-profiler-roofline.h. */
#include <math.h>

#include <adwaita.h>
#include <pango/pangocairo.h>

#include "frontier-profiler-roofline.h"

#define HOVER_RADIUS 18.0

typedef struct {
  char *name;
  double x, y, share, ms;
} RoofPoint;

struct _FrontierProfilerRoofline {
  GtkWidget parent_instance;

  GArray *points;         /* of RoofPoint */
  double peak, bw;        /* NAN: none */
  char *ceiling_label;

  /* Geometry of the last draw, for hover. */
  double px0, py0, pw, ph;
  double lx0, lx1, ly0, ly1;   /* log10 ranges shown */
  gboolean have_plot;
  int hover;              /* -1: none */
};

G_DEFINE_FINAL_TYPE(FrontierProfilerRoofline, frontier_profiler_roofline, GTK_TYPE_WIDGET)

static const char *const palette_light[] = {
  "#3584e4", "#e66100", "#2ec27e", "#9141ac", "#e01b24", "#c88800", "#986a44", "#1c71d8",
};
static const char *const palette_dark[] = {
  "#62a0ea", "#ffa348", "#57e389", "#c061cb", "#f66151", "#f8e45c", "#cdab8f", "#99c1f1",
};

static void
point_clear(gpointer data)
{
  RoofPoint *p = data;
  g_free(p->name);
}

static void
set_rgba(cairo_t *cr, const char *hex, double alpha)
{
  GdkRGBA c;
  gdk_rgba_parse(&c, hex);
  cairo_set_source_rgba(cr, c.red, c.green, c.blue, alpha);
}

static void
fg(cairo_t *cr, gboolean dark, double alpha)
{
  if (dark)
    cairo_set_source_rgba(cr, 1, 1, 1, alpha);
  else
    cairo_set_source_rgba(cr, 0, 0, 0, alpha);
}

static void
text(cairo_t *cr, const char *s, double x, double y, double xalign, double yalign, gboolean bold, double size)
{
  PangoLayout *layout = pango_cairo_create_layout(cr);
  PangoFontDescription *font = pango_font_description_from_string(bold ? "Sans Bold" : "Sans");
  pango_font_description_set_absolute_size(font, size * PANGO_SCALE);
  pango_layout_set_font_description(layout, font);
  pango_font_description_free(font);
  pango_layout_set_text(layout, s, -1);
  int w, h;
  pango_layout_get_pixel_size(layout, &w, &h);
  cairo_move_to(cr, x - xalign * w, y - yalign * h);
  pango_cairo_show_layout(cr, layout);
  g_object_unref(layout);
}

static void
format_decade(char *buf, gsize len, int e)
{
  double v = pow(10.0, e);
  if (e >= 0 && e <= 5)
    g_snprintf(buf, len, "%.0f", v);
  else if (e < 0 && e >= -3)
    g_snprintf(buf, len, "%.*f", -e, v);
  else
    g_snprintf(buf, len, "1e%d", e);
}

static void
ranges(FrontierProfilerRoofline *self, double *x0, double *x1, double *y0, double *y1)
{
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (guint i = 0; i < self->points->len; i++) {
    RoofPoint *p = &g_array_index(self->points, RoofPoint, i);
    xmin = MIN(xmin, p->x);
    xmax = MAX(xmax, p->x);
    ymin = MIN(ymin, p->y);
    ymax = MAX(ymax, p->y);
  }
  if (isfinite(self->peak) && isfinite(self->bw)) {
    double ridge = self->peak / self->bw;
    xmin = MIN(xmin, ridge);
    xmax = MAX(xmax, ridge);
    ymax = MAX(ymax, self->peak);
  } else if (isfinite(self->peak)) {
    ymax = MAX(ymax, self->peak);
  }
  if (!isfinite(xmin)) {
    xmin = 0.1;
    xmax = 100;
  }
  if (!isfinite(ymin)) {
    ymin = 0.1;
    ymax = 100;
  }
  *x0 = floor(log10(xmin) - 0.15);
  *x1 = ceil(log10(xmax) + 0.15);
  *y0 = floor(log10(ymin) - 0.15);
  *y1 = ceil(log10(ymax) + 0.15);
  if (*x1 - *x0 < 1)
    *x1 = *x0 + 1;
  if (*y1 - *y0 < 1)
    *y1 = *y0 + 1;
}

static double
radius_of(const RoofPoint *p)
{
  return 3.5 + 14.0 * sqrt(CLAMP(p->share, 0.0, 1.0));
}

void
frontier_profiler_roofline_draw(FrontierProfilerRoofline *self, cairo_t *cr, double width, double height,
                                gboolean dark)
{
  const char *const *pal = dark ? palette_dark : palette_light;
  double x0, x1, y0, y1;
  ranges(self, &x0, &x1, &y0, &y1);
  double left = 62, right = 16, top = 28, bottom = 46;
  double pw = width - left - right, ph = height - top - bottom;
  if (pw < 40 || ph < 40)
    return;
  self->px0 = left;
  self->py0 = top;
  self->pw = pw;
  self->ph = ph;
  self->lx0 = x0;
  self->lx1 = x1;
  self->ly0 = y0;
  self->ly1 = y1;
  self->have_plot = TRUE;
#define MX(v) (left + (log10(v) - x0) / (x1 - x0) * pw)
#define MY(v) (top + ph - (log10(v) - y0) / (y1 - y0) * ph)

  fg(cr, dark, 0.85);
  text(cr, "Roofline: achieved GFLOP/s against arithmetic intensity", left, 4, 0, 0, TRUE, 12);

  /* Grid: decades and the 2x, 5x minor lines. */
  cairo_set_line_width(cr, 1);
  for (int e = (int)x0; e <= (int)x1; e++) {
    for (int m = 1; m <= 9; m++) {
      double v = m * pow(10.0, e);
      if (log10(v) > x1 + 1e-9)
        break;
      double X = round(MX(v)) + 0.5;
      fg(cr, dark, m == 1 ? 0.18 : 0.06);
      cairo_move_to(cr, X, top);
      cairo_line_to(cr, X, top + ph);
      cairo_stroke(cr);
    }
    char buf[32];
    format_decade(buf, sizeof buf, e);
    fg(cr, dark, 0.7);
    text(cr, buf, MX(pow(10.0, e)), top + ph + 4, 0.5, 0, FALSE, 11);
  }
  for (int e = (int)y0; e <= (int)y1; e++) {
    for (int m = 1; m <= 9; m++) {
      double v = m * pow(10.0, e);
      if (log10(v) > y1 + 1e-9)
        break;
      double Y = round(MY(v)) + 0.5;
      fg(cr, dark, m == 1 ? 0.18 : 0.06);
      cairo_move_to(cr, left, Y);
      cairo_line_to(cr, left + pw, Y);
      cairo_stroke(cr);
    }
    char buf[32];
    format_decade(buf, sizeof buf, e);
    fg(cr, dark, 0.7);
    text(cr, buf, left - 6, MY(pow(10.0, e)), 1, 0.5, FALSE, 11);
  }
  fg(cr, dark, 0.7);
  text(cr, "Arithmetic intensity (FLOP/byte)", left + pw / 2, height - 18, 0.5, 0, FALSE, 11);
  cairo_save(cr);
  cairo_translate(cr, 4, top + ph / 2);
  cairo_rotate(cr, -G_PI / 2);
  text(cr, "Achieved GFLOP/s", 0, 0, 0.5, 0, FALSE, 11);
  cairo_restore(cr);

  cairo_save(cr);
  cairo_rectangle(cr, left, top, pw, ph);
  cairo_clip(cr);

  /* Ceilings. */
  double xlo = pow(10.0, x0), xhi = pow(10.0, x1);
  cairo_set_line_width(cr, 2);
  if (isfinite(self->bw) && isfinite(self->peak)) {
    double ridge = self->peak / self->bw;
    set_rgba(cr, pal[4], 0.9);
    cairo_move_to(cr, MX(xlo), MY(xlo * self->bw));
    cairo_line_to(cr, MX(ridge), MY(self->peak));
    cairo_stroke(cr);
    set_rgba(cr, pal[1], 0.9);
    cairo_move_to(cr, MX(ridge), MY(self->peak));
    cairo_line_to(cr, MX(xhi), MY(self->peak));
    cairo_stroke(cr);
  } else if (isfinite(self->peak)) {
    set_rgba(cr, pal[1], 0.9);
    cairo_move_to(cr, MX(xlo), MY(self->peak));
    cairo_line_to(cr, MX(xhi), MY(self->peak));
    cairo_stroke(cr);
  }

  /* Points: biggest first so small ones stay visible. */
  guint n = self->points->len;
  g_autofree guint *order = g_new(guint, MAX(n, 1));
  for (guint i = 0; i < n; i++)
    order[i] = i;
  for (guint i = 1; i < n; i++) { /* insertion sort by share, descending */
    guint k = order[i];
    double s = g_array_index(self->points, RoofPoint, k).share;
    guint j = i;
    while (j > 0 && g_array_index(self->points, RoofPoint, order[j - 1]).share < s) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = k;
  }
  cairo_set_line_width(cr, 1.2);
  for (guint o = 0; o < n; o++) {
    guint i = order[o];
    RoofPoint *p = &g_array_index(self->points, RoofPoint, i);
    double r = radius_of(p);
    cairo_arc(cr, MX(p->x), MY(p->y), r, 0, 2 * G_PI);
    set_rgba(cr, pal[0], (int)i == self->hover ? 0.85 : 0.45);
    cairo_fill_preserve(cr);
    set_rgba(cr, pal[7], 1.0);
    cairo_stroke(cr);
  }
  cairo_restore(cr);

  /* Ceiling labels. */
  if (isfinite(self->peak)) {
    char buf[96];
    g_snprintf(buf, sizeof buf, "GEMM %.1f GFLOP/s", self->peak);
    set_rgba(cr, pal[1], 1);
    text(cr, buf, left + pw - 4, MY(self->peak) - 2, 1, 1, FALSE, 11);
  }
  if (isfinite(self->bw)) {
    char buf[96];
    g_snprintf(buf, sizeof buf, "copy %.1f GB/s", self->bw);
    set_rgba(cr, pal[4], 1);
    text(cr, buf, left + 6, top + 4, 0, 0, FALSE, 11);
  }
  if (self->ceiling_label != NULL) {
    fg(cr, dark, 0.55);
    text(cr, self->ceiling_label, left + pw, 6, 1, 0, FALSE, 10);
  }
  if (n == 0) {
    fg(cr, dark, 0.5);
    text(cr, "Profile a model to place its layers here", left + pw / 2, top + ph / 2, 0.5, 0.5, FALSE, 13);
  }

  /* The hovered point's label. */
  if (self->hover >= 0 && (guint)self->hover < n) {
    RoofPoint *p = &g_array_index(self->points, RoofPoint, self->hover);
    char buf[256];
    g_snprintf(buf, sizeof buf, "%s\n%.2f FLOP/B · %.2f GFLOP/s · %.3f ms (%.1f %%)", p->name, p->x, p->y, p->ms,
               100 * p->share);
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoFontDescription *font = pango_font_description_from_string("Sans");
    pango_font_description_set_absolute_size(font, 11 * PANGO_SCALE);
    pango_layout_set_font_description(layout, font);
    pango_font_description_free(font);
    pango_layout_set_text(layout, buf, -1);
    int w, h;
    pango_layout_get_pixel_size(layout, &w, &h);
    double tx = MX(p->x) + 12, ty = MY(p->y) - h - 10;
    if (tx + w + 8 > width)
      tx = MX(p->x) - w - 20;
    if (ty < 0)
      ty = MY(p->y) + 12;
    cairo_rectangle(cr, tx, ty, w + 8, h + 6);
    if (dark)
      cairo_set_source_rgba(cr, 0.2, 0.2, 0.2, 0.95);
    else
      cairo_set_source_rgba(cr, 1, 1, 1, 0.95);
    cairo_fill_preserve(cr);
    fg(cr, dark, 0.3);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    fg(cr, dark, 0.9);
    cairo_move_to(cr, tx + 4, ty + 3);
    pango_cairo_show_layout(cr, layout);
    g_object_unref(layout);
  }
#undef MX
#undef MY
}

static void
frontier_profiler_roofline_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierProfilerRoofline *self = FRONTIER_PROFILER_ROOFLINE(widget);
  int w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
  cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, w, h));
  gboolean dark = adw_style_manager_get_dark(adw_style_manager_get_default());
  frontier_profiler_roofline_draw(self, cr, w, h, dark);
  cairo_destroy(cr);
}

static void
update_a11y(FrontierProfilerRoofline *self)
{
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "%u layer points", self->points->len);
  if (isfinite(self->peak))
    g_string_append_printf(s, "; compute roof %.1f GFLOP/s", self->peak);
  if (isfinite(self->bw))
    g_string_append_printf(s, "; memory slope %.1f GB/s", self->bw);
  for (guint i = 0; i < self->points->len && i < 40; i++) {
    RoofPoint *p = &g_array_index(self->points, RoofPoint, i);
    g_string_append_printf(s, "%s%s: %.2f FLOP/B, %.2f GFLOP/s", i == 0 ? ". " : "; ", p->name, p->x, p->y);
  }
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, s->str, -1);
  g_string_free(s, TRUE);
}

static int
nearest(FrontierProfilerRoofline *self, double mx, double my)
{
  if (!self->have_plot)
    return -1;
  int best = -1;
  double bd = HOVER_RADIUS * HOVER_RADIUS;
  for (guint i = 0; i < self->points->len; i++) {
    RoofPoint *p = &g_array_index(self->points, RoofPoint, i);
    double X = self->px0 + (log10(p->x) - self->lx0) / (self->lx1 - self->lx0) * self->pw;
    double Y = self->py0 + self->ph - (log10(p->y) - self->ly0) / (self->ly1 - self->ly0) * self->ph;
    double r = radius_of(p);
    double d = (X - mx) * (X - mx) + (Y - my) * (Y - my) - r * r;
    if (d < bd) {
      bd = d;
      best = (int)i;
    }
  }
  return best;
}

static void
motion_cb(GtkEventControllerMotion *motion, double x, double y, FrontierProfilerRoofline *self)
{
  int h = nearest(self, x, y);
  if (h != self->hover) {
    self->hover = h;
    gtk_widget_queue_draw(GTK_WIDGET(self));
  }
}

static void
leave_cb(GtkEventControllerMotion *motion, FrontierProfilerRoofline *self)
{
  if (self->hover != -1) {
    self->hover = -1;
    gtk_widget_queue_draw(GTK_WIDGET(self));
  }
}

static void
dark_changed_cb(AdwStyleManager *manager, GParamSpec *pspec, FrontierProfilerRoofline *self)
{
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
frontier_profiler_roofline_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                                   int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 220;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 520 : 360;
}

static void
frontier_profiler_roofline_finalize(GObject *object)
{
  FrontierProfilerRoofline *self = FRONTIER_PROFILER_ROOFLINE(object);
  g_signal_handlers_disconnect_by_data(adw_style_manager_get_default(), self);
  g_array_unref(self->points);
  g_free(self->ceiling_label);
  G_OBJECT_CLASS(frontier_profiler_roofline_parent_class)->finalize(object);
}

static void
frontier_profiler_roofline_class_init(FrontierProfilerRooflineClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = frontier_profiler_roofline_finalize;
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  widget_class->snapshot = frontier_profiler_roofline_snapshot;
  widget_class->measure = frontier_profiler_roofline_measure;
  gtk_widget_class_set_css_name(widget_class, "profiler-roofline");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
frontier_profiler_roofline_init(FrontierProfilerRoofline *self)
{
  self->points = g_array_new(FALSE, TRUE, sizeof(RoofPoint));
  g_array_set_clear_func(self->points, point_clear);
  self->peak = self->bw = NAN;
  self->hover = -1;
  GtkEventController *motion = gtk_event_controller_motion_new();
  g_signal_connect(motion, "motion", G_CALLBACK(motion_cb), self);
  g_signal_connect(motion, "leave", G_CALLBACK(leave_cb), self);
  gtk_widget_add_controller(GTK_WIDGET(self), motion);
  g_signal_connect(adw_style_manager_get_default(), "notify::dark", G_CALLBACK(dark_changed_cb), self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, "Roofline plot", -1);
  update_a11y(self);
}

GtkWidget *
frontier_profiler_roofline_new(void)
{
  return g_object_new(FRONTIER_TYPE_PROFILER_ROOFLINE, NULL);
}

void
frontier_profiler_roofline_clear(FrontierProfilerRoofline *self)
{
  g_return_if_fail(FRONTIER_IS_PROFILER_ROOFLINE(self));
  g_array_set_size(self->points, 0);
  self->peak = self->bw = NAN;
  g_clear_pointer(&self->ceiling_label, g_free);
  self->hover = -1;
  update_a11y(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_profiler_roofline_set_ceilings(FrontierProfilerRoofline *self, double peak_gflops, double bw_gbs,
                                        const char *label)
{
  g_return_if_fail(FRONTIER_IS_PROFILER_ROOFLINE(self));
  self->peak = peak_gflops > 0 ? peak_gflops : NAN;
  self->bw = bw_gbs > 0 ? bw_gbs : NAN;
  g_free(self->ceiling_label);
  self->ceiling_label = g_strdup(label);
  update_a11y(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_profiler_roofline_add_point(FrontierProfilerRoofline *self, const char *name, double intensity,
                                     double gflops, double share, double ms)
{
  g_return_if_fail(FRONTIER_IS_PROFILER_ROOFLINE(self));
  if (!(intensity > 0) || !(gflops > 0) || !isfinite(intensity) || !isfinite(gflops))
    return;
  RoofPoint p = { g_strdup(name), intensity, gflops, share, ms };
  g_array_append_val(self->points, p);
  update_a11y(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

guint
frontier_profiler_roofline_get_n_points(FrontierProfilerRoofline *self)
{
  g_return_val_if_fail(FRONTIER_IS_PROFILER_ROOFLINE(self), 0);
  return self->points->len;
}
