/* frontier-profiler-timeline.c: see frontier-profiler-timeline.h. */
#include <math.h>
#include <string.h>

#include <adwaita.h>
#include <pango/pangocairo.h>

#include "frontier-profiler-timeline.h"

#define ROW_H     26.0
#define LEFT      78.0
#define TOP       22.0
#define LEGEND_H  40.0

struct _FrontierProfilerTimeline {
  GtkWidget parent_instance;

  FrProfileResult *result;
  int run;
  const FrProfOp *ops;     /* the run's ops, in start order (borrowed from result) */
  int n_ops;
  int n_threads;
  gint64 t0, len;          /* the run's start and length (ns) */
  GPtrArray *types;        /* distinct op names (borrowed), in first-appearance order */
  int *type_of;            /* per op: index into types */

  double v0, v1;           /* view, ns from t0 */
  double drag_v0, drag_v1;
  double plot_w;           /* width of the bars' area in the last draw */
  int hover;               /* op index, -1: none */
  double pointer_x;
};

G_DEFINE_FINAL_TYPE(FrontierProfilerTimeline, frontier_profiler_timeline, GTK_TYPE_WIDGET)

static const char *const palette_light[] = {
  "#3584e4", "#e66100", "#2ec27e", "#9141ac", "#e01b24", "#c88800", "#986a44", "#1c71d8",
  "#26a269", "#a51d2d", "#613583", "#63452c",
};
static const char *const palette_dark[] = {
  "#62a0ea", "#ffa348", "#57e389", "#c061cb", "#f66151", "#f8e45c", "#cdab8f", "#99c1f1",
  "#8ff0a4", "#ff7b63", "#dc8add", "#b5835a",
};

static void
set_hex(cairo_t *cr, const char *hex, double alpha)
{
  GdkRGBA c;
  gdk_rgba_parse(&c, hex);
  cairo_set_source_rgba(cr, c.red, c.green, c.blue, alpha);
}

static void
fg(cairo_t *cr, gboolean dark, double alpha)
{
  cairo_set_source_rgba(cr, dark, dark, dark, alpha);
}

static PangoLayout *
layout_new(cairo_t *cr, const char *s, double size)
{
  PangoLayout *layout = pango_cairo_create_layout(cr);
  PangoFontDescription *font = pango_font_description_from_string("Sans");
  pango_font_description_set_absolute_size(font, size * PANGO_SCALE);
  pango_layout_set_font_description(layout, font);
  pango_font_description_free(font);
  pango_layout_set_text(layout, s, -1);
  return layout;
}

static double
text(cairo_t *cr, const char *s, double x, double y, double xalign, double yalign, double size)
{
  PangoLayout *layout = layout_new(cr, s, size);
  int w, h;
  pango_layout_get_pixel_size(layout, &w, &h);
  cairo_move_to(cr, x - xalign * w, y - yalign * h);
  pango_cairo_show_layout(cr, layout);
  g_object_unref(layout);
  return w;
}

static double
nice_step(double raw)
{
  if (!(raw > 0))
    return 1;
  double e = floor(log10(raw)), b = pow(10, e), f = raw / b;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * b;
}

static void
format_time(char *buf, gsize len, double ns, double step)
{
  if (step >= 1e6)
    g_snprintf(buf, len, "%.*f ms", step >= 1e7 ? 0 : 1, ns / 1e6);
  else if (step >= 1e3)
    g_snprintf(buf, len, "%.*f µs", step >= 1e4 ? 0 : 1, ns / 1e3);
  else
    g_snprintf(buf, len, "%.0f ns", ns);
}

static void
format_count(char *buf, gsize len, double v)
{
  if (v >= 1e9)
    g_snprintf(buf, len, "%.2f G", v / 1e9);
  else if (v >= 1e6)
    g_snprintf(buf, len, "%.2f M", v / 1e6);
  else if (v >= 1e3)
    g_snprintf(buf, len, "%.1f k", v / 1e3);
  else
    g_snprintf(buf, len, "%.0f", v);
}

static double
bars_bottom(FrontierProfilerTimeline *self)
{
  return TOP + MAX(self->n_threads, 1) * ROW_H;
}

void
frontier_profiler_timeline_draw(FrontierProfilerTimeline *self, cairo_t *cr, double width, double height,
                                gboolean dark)
{
  const char *const *pal = dark ? palette_dark : palette_light;
  double pw = width - LEFT - 10;
  self->plot_w = pw;
  if (pw < 20)
    return;
  if (self->n_ops == 0) {
    fg(cr, dark, 0.5);
    text(cr, "Profile a model to see its ops on a timeline", width / 2, height / 2, 0.5, 0.5, 13);
    return;
  }
  double span = MAX(self->v1 - self->v0, 1.0);
#define TX(ns) (LEFT + ((ns) - self->v0) / span * pw)

  /* Time axis. */
  double step = nice_step(span / MAX(pw / 90.0, 1.0));
  cairo_set_line_width(cr, 1);
  for (double t = ceil(self->v0 / step) * step; t <= self->v1; t += step) {
    double X = round(TX(t)) + 0.5;
    fg(cr, dark, 0.12);
    cairo_move_to(cr, X, TOP - 2);
    cairo_line_to(cr, X, bars_bottom(self));
    cairo_stroke(cr);
    char buf[48];
    format_time(buf, sizeof buf, t, step);
    fg(cr, dark, 0.65);
    text(cr, buf, X + 3, 2, 0, 0, 10);
  }

  /* Rows. */
  for (int r = 0; r < self->n_threads; r++) {
    char buf[32];
    g_snprintf(buf, sizeof buf, "thread %d", r + 1);
    fg(cr, dark, 0.75);
    text(cr, buf, 6, TOP + r * ROW_H + ROW_H / 2, 0, 0.5, 11);
    fg(cr, dark, 0.05);
    cairo_rectangle(cr, LEFT, TOP + r * ROW_H + 2, pw, ROW_H - 4);
    cairo_fill(cr);
  }

  /* Bars (at least a pixel wide), clipped to the plot. */
  cairo_save(cr);
  cairo_rectangle(cr, LEFT, 0, pw, height);
  cairo_clip(cr);
  for (int i = 0; i < self->n_ops; i++) {
    const FrProfOp *op = &self->ops[i];
    double s = (double)(op->start_ns - self->t0), e = (double)(op->end_ns - self->t0);
    if (e < self->v0 || s > self->v1)
      continue;
    double X0 = TX(s), X1 = TX(e);
    if (X1 - X0 < 1)
      X1 = X0 + 1;
    double Y = TOP + (CLAMP(op->tid, 1, self->n_threads) - 1) * ROW_H + 3;
    set_hex(cr, pal[self->type_of[i] % G_N_ELEMENTS(palette_light)], i == self->hover ? 1.0 : 0.8);
    cairo_rectangle(cr, X0, Y, X1 - X0, ROW_H - 6);
    cairo_fill(cr);
    if (X1 - X0 > 40) {
      fg(cr, !dark, 0.9);
      cairo_save(cr);
      cairo_rectangle(cr, X0, Y, X1 - X0, ROW_H - 6);
      cairo_clip(cr);
      text(cr, op->op, X0 + 3, Y + (ROW_H - 6) / 2, 0, 0.5, 10);
      cairo_restore(cr);
    }
  }
  cairo_restore(cr);

  /* Legend. */
  double lx = LEFT, ly = bars_bottom(self) + 8;
  for (guint k = 0; k < self->types->len; k++) {
    const char *name = g_ptr_array_index(self->types, k);
    PangoLayout *l = layout_new(cr, name, 10);
    int w, h;
    pango_layout_get_pixel_size(l, &w, &h);
    g_object_unref(l);
    if (lx + w + 20 > width && lx > LEFT) {
      lx = LEFT;
      ly += 16;
    }
    if (ly > height - 10)
      break;
    set_hex(cr, pal[k % G_N_ELEMENTS(palette_light)], 0.85);
    cairo_rectangle(cr, lx, ly + 2, 10, 10);
    cairo_fill(cr);
    fg(cr, dark, 0.75);
    lx += 14 + text(cr, name, lx + 14, ly, 0, 0, 10) + 12;
  }

  /* Hover: the op's details in a box near the pointer. */
  if (self->hover >= 0 && self->hover < self->n_ops) {
    const FrProfOp *op = &self->ops[self->hover];
    char macs[32], rd[32], wr[32];
    format_count(macs, sizeof macs, op->macs);
    format_count(rd, sizeof rd, op->bytes_read);
    format_count(wr, sizeof wr, op->bytes_written);
    double ms = (op->end_ns - op->start_ns) / 1e6;
    g_autofree char *s = g_strdup_printf("%s (%s)\nlayer %s\nshape %s\n%sMACs · %sB read · %sB written\n"
                                         "%.3f ms wall · %.3f ms thread CPU · start %.3f ms",
                                         op->op, op->phase, op->layer, *op->shape ? op->shape : "–", macs, rd, wr,
                                         ms, op->thread_ns / 1e6, (op->start_ns - self->t0) / 1e6);
    PangoLayout *l = layout_new(cr, s, 11);
    int w, h;
    pango_layout_get_pixel_size(l, &w, &h);
    double tx = self->pointer_x + 12, ty = bars_bottom(self) + 4;
    if (tx + w + 10 > width)
      tx = MAX(0, width - w - 10);
    if (ty + h + 6 > height)
      ty = MAX(0, height - h - 6);
    cairo_rectangle(cr, tx, ty, w + 8, h + 6);
    if (dark)
      cairo_set_source_rgba(cr, 0.2, 0.2, 0.2, 0.96);
    else
      cairo_set_source_rgba(cr, 1, 1, 1, 0.96);
    cairo_fill_preserve(cr);
    fg(cr, dark, 0.3);
    cairo_stroke(cr);
    fg(cr, dark, 0.9);
    cairo_move_to(cr, tx + 4, ty + 3);
    pango_cairo_show_layout(cr, l);
    g_object_unref(l);
  }
#undef TX
}

static void
frontier_profiler_timeline_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierProfilerTimeline *self = FRONTIER_PROFILER_TIMELINE(widget);
  int w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
  cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, w, h));
  frontier_profiler_timeline_draw(self, cr, w, h, adw_style_manager_get_dark(adw_style_manager_get_default()));
  cairo_destroy(cr);
}

static void
frontier_profiler_timeline_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                                   int *natural, int *minimum_baseline, int *natural_baseline)
{
  FrontierProfilerTimeline *self = FRONTIER_PROFILER_TIMELINE(widget);
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = 240;
    *natural = 600;
  } else {
    *minimum = *natural = (int)(bars_bottom(self) + LEGEND_H + 64);
  }
}

static void
clamp_view(FrontierProfilerTimeline *self)
{
  double len = MAX((double)self->len, 1.0);
  double span = self->v1 - self->v0;
  span = CLAMP(span, 1000.0, len);
  if (self->v0 < 0)
    self->v0 = 0;
  if (self->v0 + span > len)
    self->v0 = len - span;
  self->v1 = self->v0 + span;
}

static int
op_at(FrontierProfilerTimeline *self, double x, double y)
{
  if (self->n_ops == 0 || x < LEFT || self->plot_w <= 0)
    return -1;
  int row = (int)floor((y - TOP) / ROW_H);
  if (row < 0 || row >= self->n_threads)
    return -1;
  double span = MAX(self->v1 - self->v0, 1.0);
  double ns = self->v0 + (x - LEFT) / self->plot_w * span;
  double slack = span / self->plot_w * 2; /* two pixels either side */
  int best = -1;
  double bd = INFINITY;
  for (int i = 0; i < self->n_ops; i++) {
    const FrProfOp *op = &self->ops[i];
    if (op->tid - 1 != row)
      continue;
    double s = (double)(op->start_ns - self->t0), e = (double)(op->end_ns - self->t0);
    double d = ns < s ? s - ns : ns > e ? ns - e : 0;
    if (d <= slack && d < bd) {
      bd = d;
      best = i;
    }
  }
  return best;
}

static void
motion_cb(GtkEventControllerMotion *m, double x, double y, FrontierProfilerTimeline *self)
{
  int h = op_at(self, x, y);
  self->pointer_x = x;
  if (h != self->hover || h >= 0) {
    self->hover = h;
    gtk_widget_queue_draw(GTK_WIDGET(self));
  }
}

static void
leave_cb(GtkEventControllerMotion *m, FrontierProfilerTimeline *self)
{
  self->hover = -1;
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static gboolean
scroll_cb(GtkEventControllerScroll *scroll, double dx, double dy, FrontierProfilerTimeline *self)
{
  if (self->n_ops == 0 || self->plot_w <= 0)
    return FALSE;
  GdkModifierType mods = gtk_event_controller_get_current_event_state(GTK_EVENT_CONTROLLER(scroll));
  double span = self->v1 - self->v0;
  if (mods & GDK_CONTROL_MASK) {
    double f = pow(1.25, dy);
    double c = self->v0 + CLAMP((self->pointer_x - LEFT) / self->plot_w, 0, 1) * span;
    self->v0 = c - (c - self->v0) * f;
    self->v1 = c + (self->v1 - c) * f;
  } else {
    double d = (dx != 0 ? dx : dy) * span * 0.1;
    self->v0 += d;
    self->v1 += d;
  }
  clamp_view(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
  return TRUE;
}

static void
drag_begin_cb(GtkGestureDrag *drag, double x, double y, FrontierProfilerTimeline *self)
{
  self->drag_v0 = self->v0;
  self->drag_v1 = self->v1;
}

static void
drag_update_cb(GtkGestureDrag *drag, double ox, double oy, FrontierProfilerTimeline *self)
{
  if (self->plot_w <= 0)
    return;
  double d = -ox / self->plot_w * (self->drag_v1 - self->drag_v0);
  self->v0 = self->drag_v0 + d;
  self->v1 = self->drag_v1 + d;
  clamp_view(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
click_cb(GtkGestureClick *click, int n_press, double x, double y, FrontierProfilerTimeline *self)
{
  if (n_press == 2)
    frontier_profiler_timeline_reset_view(self);
}

static void
dark_changed_cb(AdwStyleManager *manager, GParamSpec *pspec, FrontierProfilerTimeline *self)
{
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
clear(FrontierProfilerTimeline *self)
{
  g_clear_pointer(&self->result, fr_profile_result_unref);
  g_clear_pointer(&self->type_of, g_free);
  g_ptr_array_set_size(self->types, 0);
  self->ops = NULL;
  self->n_ops = 0;
  self->n_threads = 1;
  self->hover = -1;
}

static void
frontier_profiler_timeline_finalize(GObject *object)
{
  FrontierProfilerTimeline *self = FRONTIER_PROFILER_TIMELINE(object);
  g_signal_handlers_disconnect_by_data(adw_style_manager_get_default(), self);
  clear(self);
  g_ptr_array_unref(self->types);
  G_OBJECT_CLASS(frontier_profiler_timeline_parent_class)->finalize(object);
}

static void
frontier_profiler_timeline_class_init(FrontierProfilerTimelineClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = frontier_profiler_timeline_finalize;
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  widget_class->snapshot = frontier_profiler_timeline_snapshot;
  widget_class->measure = frontier_profiler_timeline_measure;
  gtk_widget_class_set_css_name(widget_class, "profiler-timeline");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
frontier_profiler_timeline_init(FrontierProfilerTimeline *self)
{
  self->types = g_ptr_array_new();
  self->n_threads = 1;
  self->hover = -1;
  GtkEventController *motion = gtk_event_controller_motion_new();
  g_signal_connect(motion, "motion", G_CALLBACK(motion_cb), self);
  g_signal_connect(motion, "leave", G_CALLBACK(leave_cb), self);
  gtk_widget_add_controller(GTK_WIDGET(self), motion);
  GtkEventController *scroll = gtk_event_controller_scroll_new(GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect(scroll, "scroll", G_CALLBACK(scroll_cb), self);
  gtk_widget_add_controller(GTK_WIDGET(self), scroll);
  GtkGesture *drag = gtk_gesture_drag_new();
  g_signal_connect(drag, "drag-begin", G_CALLBACK(drag_begin_cb), self);
  g_signal_connect(drag, "drag-update", G_CALLBACK(drag_update_cb), self);
  gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(drag));
  GtkGesture *click = gtk_gesture_click_new();
  g_signal_connect(click, "pressed", G_CALLBACK(click_cb), self);
  gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(click));
  g_signal_connect(adw_style_manager_get_default(), "notify::dark", G_CALLBACK(dark_changed_cb), self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, "Timeline", -1,
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, "0 ops", -1);
}

GtkWidget *
frontier_profiler_timeline_new(void)
{
  return g_object_new(FRONTIER_TYPE_PROFILER_TIMELINE, NULL);
}

void
frontier_profiler_timeline_set_result(FrontierProfilerTimeline *self, FrProfileResult *r, int run)
{
  g_return_if_fail(FRONTIER_IS_PROFILER_TIMELINE(self));
  clear(self);
  if (r != NULL) {
    self->result = fr_profile_result_ref(r);
    const FrProfInfo *info = fr_profile_result_info(r);
    self->run = CLAMP(run, 0, MAX(info->runs - 1, 0));
    int n;
    const FrProfOp *ops = fr_profile_result_ops(r, &n);
    int first = 0;
    while (first < n && ops[first].run < self->run)
      first++;
    int last = first;
    while (last < n && ops[last].run == self->run)
      last++;
    self->ops = ops + first;
    self->n_ops = last - first;
    self->n_threads = MAX(fr_profile_result_n_threads(r), 1);
    self->t0 = fr_profile_result_run_start(r, self->run);
    self->len = MAX(fr_profile_result_run_length(r, self->run), 1);
    self->type_of = g_new0(int, MAX(self->n_ops, 1));
    for (int i = 0; i < self->n_ops; i++) {
      const char *name = self->ops[i].op;
      guint k;
      for (k = 0; k < self->types->len; k++)
        if (g_str_equal(g_ptr_array_index(self->types, k), name))
          break;
      if (k == self->types->len)
        g_ptr_array_add(self->types, (gpointer)name);
      self->type_of[i] = (int)k;
    }
  }
  g_autofree char *desc = g_strdup_printf("%d ops on %d thread%s in run %d, %.3f ms", self->n_ops, self->n_threads, self->n_threads == 1 ? "" : "s",
                                          self->run + 1, self->n_ops ? self->len / 1e6 : 0.0);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, desc, -1);
  frontier_profiler_timeline_reset_view(self);
  gtk_widget_queue_resize(GTK_WIDGET(self));
}

guint
frontier_profiler_timeline_get_n_ops(FrontierProfilerTimeline *self)
{
  g_return_val_if_fail(FRONTIER_IS_PROFILER_TIMELINE(self), 0);
  return (guint)self->n_ops;
}

void
frontier_profiler_timeline_reset_view(FrontierProfilerTimeline *self)
{
  g_return_if_fail(FRONTIER_IS_PROFILER_TIMELINE(self));
  self->v0 = 0;
  self->v1 = MAX((double)self->len, 1.0);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}
