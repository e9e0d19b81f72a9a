/* frontier-sparch-comparator.c: see frontier-sparch-comparator.h. */
#include <math.h>
#include <string.h>

#include <adwaita.h>

#include "fr-report.h"
#include "frontier-sparch-comparator.h"
#include "frontier-sparch-draw.h"

struct _FrontierSparchComparator {
  GtkWidget parent_instance;

  FrSparchComparatorStep step; /* deep copy; valid FALSE when none */
  char *placeholder;
};

G_DEFINE_FINAL_TYPE(FrontierSparchComparator, frontier_sparch_comparator, GTK_TYPE_WIDGET)

static void
clear_step(FrSparchComparatorStep *s)
{
  g_free(s->a_col);
  g_free(s->b_col);
  g_free(s->a_le_b);
  g_free(s->boundary);
  g_free(s->out_col);
  g_free(s->out_src);
  memset(s, 0, sizeof *s);
}

static void
show_text(cairo_t *cr, PangoLayout *layout, const char *s, double x, double y, double xalign, double yalign,
          double angle)
{
  pango_layout_set_text(layout, s, -1);
  int w, h;
  pango_layout_get_pixel_size(layout, &w, &h);
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  cairo_move_to(cr, -w * xalign, -h * yalign);
  pango_cairo_show_layout(cr, layout);
  cairo_restore(cr);
}

static void
frontier_sparch_comparator_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierSparchComparator *self = FRONTIER_SPARCH_COMPARATOR(widget);
  int width = gtk_widget_get_width(widget), height = gtk_widget_get_height(widget);
  if (width < 40 || height < 40)
    return;
  /* a's keys in blue, b's in orange, the staircase in red. */
  FrontierSparchPalette pal;
  frontier_sparch_draw_get_palette(widget, &pal);
  const GdkRGBA fg = pal.fg, ca = pal.accent, cb = pal.active, stair = pal.miss;

  const FrSparchComparatorStep *s = &self->step;
  if (!s->valid || s->width <= 0) {
    frontier_sparch_draw_placeholder(widget, snapshot, self->placeholder, 24);
    return;
  }

  cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, width, height));
  PangoLayout *small = gtk_widget_create_pango_layout(widget, NULL);
  PangoLayout *normal = gtk_widget_create_pango_layout(widget, NULL);
  const PangoFontDescription *base = pango_context_get_font_description(gtk_widget_get_pango_context(widget));
  PangoFontDescription *fd = pango_font_description_copy(base);
  pango_font_description_set_size(fd, (int)(pango_font_description_get_size(base) * 0.78));
  pango_font_description_set_family(fd, "Monospace");
  pango_layout_set_font_description(small, fd);
  pango_font_description_free(fd);

  int W = s->width;
  double pad = 16;
  /* Room for the key labels: the widest key in the small monospace font. */
  int max_key = 0;
  for (int i = 0; i < W; i++)
    max_key = MAX(max_key, MAX(s->a_col[i], s->b_col[i]));
  char buf[64];
  g_snprintf(buf, sizeof buf, "%d", max_key);
  pango_layout_set_text(small, buf, -1);
  int kw, kh;
  pango_layout_get_pixel_size(small, &kw, &kh);

  double header = 28;
  double label_left = kw + 30;   /* "a[i]" keys */
  double label_top = kw * 0.75 + 14;
  double right_col = 86;         /* "→ out 12" */
  double out_gap = 40, out_labels = kw * 0.75 + 10;
  double cell = MIN((width - 2 * pad - label_left - right_col) / W,
                    (height - 2 * pad - header - label_top - out_gap - out_labels) / (W + 1));
  cell = CLAMP(floor(cell), 8, 34);
  double gw = cell * W;
  double x0 = pad + label_left + MAX(0, (width - 2 * pad - label_left - right_col - gw) / 2);
  double y0 = pad + header + label_top;

  /* Heading. */
  g_autofree char *head = g_strdup_printf("Row %s · round %d, layer %d · two chunks of %d keys",
                                          frontier_sparch_draw_grp(s->row + 1), s->round + 1, s->layer + 1, W);
  frontier_sparch_draw_set_rgba(cr, &fg, 0.85);
  pango_layout_set_width(normal, (int)((width - 2 * pad) * PANGO_SCALE));
  pango_layout_set_ellipsize(normal, PANGO_ELLIPSIZE_END);
  show_text(cr, normal, head, pad, pad, 0, 0, 0);

  /* Key labels: b across the top (rotated), a down the left. */
  for (int j = 0; j < W; j++) {
    g_snprintf(buf, sizeof buf, "%d", s->b_col[j]);
    frontier_sparch_draw_set_rgba(cr, &cb, 1);
    show_text(cr, small, buf, x0 + (j + 0.5) * cell, y0 - 6, 0, 0.5, -G_PI / 3);
  }
  frontier_sparch_draw_set_rgba(cr, &cb, 1);
  show_text(cr, normal, "b", x0 + 4, y0 - label_top, 0, 0, 0);
  for (int i = 0; i < W; i++) {
    g_snprintf(buf, sizeof buf, "%d", s->a_col[i]);
    frontier_sparch_draw_set_rgba(cr, &ca, 1);
    show_text(cr, small, buf, x0 - 8, y0 + (i + 0.5) * cell, 1, 0.5, 0);
  }
  frontier_sparch_draw_set_rgba(cr, &ca, 1);
  show_text(cr, normal, "a", x0 - 8, y0 - 8, 1, 1, 0);

  /* The comparison array: a[i] <= b[j] cells shaded. */
  for (int i = 0; i < W; i++)
    for (int j = 0; j < W; j++) {
      gboolean le = s->a_le_b[i * W + j] != 0;
      frontier_sparch_draw_set_rgba(cr, le ? &ca : &fg, le ? 0.22 : 0.05);
      cairo_rectangle(cr, x0 + j * cell + 1, y0 + i * cell + 1, cell - 2, cell - 2);
      cairo_fill(cr);
      if (cell >= 16) {
        frontier_sparch_draw_set_rgba(cr, &fg, le ? 0.7 : 0.3);
        show_text(cr, small, le ? "≤" : ">", x0 + (j + 0.5) * cell, y0 + (i + 0.5) * cell, 0.5, 0.5, 0);
      }
    }
  /* The staircase: in row i, b[j] < a[i] for j < boundary[i]. */
  frontier_sparch_draw_set_rgba(cr, &stair, 1);
  cairo_set_line_width(cr, 2.5);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  for (int i = 0; i < W; i++) {
    double bx = x0 + CLAMP(s->boundary[i], 0, W) * cell;
    if (i == 0)
      cairo_move_to(cr, bx, y0);
    else
      cairo_line_to(cr, bx, y0 + i * cell);
    cairo_line_to(cr, bx, y0 + (i + 1) * cell);
  }
  cairo_stroke(cr);

  /* Where each a[i] goes: position i + boundary[i]; beyond the chunk it waits for the next step. */
  for (int i = 0; i < W; i++) {
    int pos = i + s->boundary[i];
    if (pos < W)
      g_snprintf(buf, sizeof buf, "→ out %d", pos);
    else
      g_snprintf(buf, sizeof buf, "→ next");
    frontier_sparch_draw_set_rgba(cr, &fg, pos < W ? 0.75 : 0.4);
    show_text(cr, small, buf, x0 + gw + 8, y0 + (i + 0.5) * cell, 0, 0.5, 0);
  }

  /* The output chunk. */
  double oy = y0 + W * cell + out_gap;
  frontier_sparch_draw_set_rgba(cr, &fg, 0.75);
  show_text(cr, normal, "out", x0 - 8, oy + cell / 2, 1, 0.5, 0);
  for (int k = 0; k < W; k++) {
    const GdkRGBA *c = s->out_src[k] ? &cb : &ca;
    frontier_sparch_draw_set_rgba(cr, c, 0.85);
    cairo_rectangle(cr, x0 + k * cell + 1, oy + 1, cell - 2, cell - 2);
    cairo_fill(cr);
    g_snprintf(buf, sizeof buf, "%d", s->out_col[k]);
    frontier_sparch_draw_set_rgba(cr, c, 1);
    show_text(cr, small, buf, x0 + (k + 0.5) * cell, oy + cell + 6, 1, 0.5, -G_PI / 3);
  }
  /* Legend. */
  double lx = x0 + gw + 8, ly = oy;
  frontier_sparch_draw_set_rgba(cr, &ca, 0.85);
  cairo_rectangle(cr, lx, ly + 2, 10, 10);
  cairo_fill(cr);
  frontier_sparch_draw_set_rgba(cr, &fg, 0.75);
  show_text(cr, small, "from a", lx + 14, ly + 7, 0, 0.5, 0);
  frontier_sparch_draw_set_rgba(cr, &cb, 0.85);
  cairo_rectangle(cr, lx, ly + 18, 10, 10);
  cairo_fill(cr);
  frontier_sparch_draw_set_rgba(cr, &fg, 0.75);
  show_text(cr, small, "from b", lx + 14, ly + 23, 0, 0.5, 0);

  g_object_unref(small);
  g_object_unref(normal);
  cairo_destroy(cr);
}

static void
frontier_sparch_comparator_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                                   int *natural, int *minimum_baseline, int *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = 320;
    *natural = 720;
  } else {
    *minimum = 360;
    *natural = 640;
  }
}

static void
restyle_cb(FrontierSparchComparator *self)
{
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
frontier_sparch_comparator_dispose(GObject *object)
{
  FrontierSparchComparator *self = FRONTIER_SPARCH_COMPARATOR(object);
  g_signal_handlers_disconnect_by_data(adw_style_manager_get_default(), self);
  G_OBJECT_CLASS(frontier_sparch_comparator_parent_class)->dispose(object);
}

static void
frontier_sparch_comparator_finalize(GObject *object)
{
  FrontierSparchComparator *self = FRONTIER_SPARCH_COMPARATOR(object);
  clear_step(&self->step);
  g_free(self->placeholder);
  G_OBJECT_CLASS(frontier_sparch_comparator_parent_class)->finalize(object);
}

static void
frontier_sparch_comparator_class_init(FrontierSparchComparatorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = frontier_sparch_comparator_dispose;
  object_class->finalize = frontier_sparch_comparator_finalize;
  widget_class->snapshot = frontier_sparch_comparator_snapshot;
  widget_class->measure = frontier_sparch_comparator_measure;
  gtk_widget_class_set_css_name(widget_class, "sparchcomparator");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
update_accessible(FrontierSparchComparator *self)
{
  g_autofree char *desc = NULL;
  const FrSparchComparatorStep *s = &self->step;
  if (s->valid && s->width > 0) {
    GString *out = g_string_new(NULL);
    for (int k = 0; k < s->width; k++)
      g_string_append_printf(out, "%s%d", k ? " " : "", s->out_col[k]);
    desc = g_strdup_printf("Merging two chunks of %d column keys of row %" G_GINT64_FORMAT "; output: %s", s->width,
                           s->row + 1, out->str);
    g_string_free(out, TRUE);
  }
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, "Comparator array",
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                 desc != NULL ? desc : (self->placeholder != NULL ? self->placeholder : ""), -1);
}

static void
frontier_sparch_comparator_init(FrontierSparchComparator *self)
{
  g_signal_connect_swapped(adw_style_manager_get_default(), "notify::dark", G_CALLBACK(restyle_cb), self);
  update_accessible(self);
}

GtkWidget *
frontier_sparch_comparator_new(void)
{
  return g_object_new(FRONTIER_TYPE_SPARCH_COMPARATOR, NULL);
}

void
frontier_sparch_comparator_set_step(FrontierSparchComparator *self, const FrSparchComparatorStep *step)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_COMPARATOR(self));
  clear_step(&self->step);
  if (step != NULL && step->valid && step->width > 0 && step->width <= 4096 && step->a_col && step->b_col &&
      step->a_le_b && step->boundary && step->out_col && step->out_src) {
    gsize w = (gsize)step->width;
    self->step = *step;
    self->step.a_col = g_memdup2(step->a_col, w * sizeof(int32_t));
    self->step.b_col = g_memdup2(step->b_col, w * sizeof(int32_t));
    self->step.a_le_b = g_memdup2(step->a_le_b, w * w);
    self->step.boundary = g_memdup2(step->boundary, w * sizeof(int32_t));
    self->step.out_col = g_memdup2(step->out_col, w * sizeof(int32_t));
    self->step.out_src = g_memdup2(step->out_src, w);
  }
  update_accessible(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_sparch_comparator_set_placeholder(FrontierSparchComparator *self, const char *text)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_COMPARATOR(self));
  g_free(self->placeholder);
  self->placeholder = g_strdup(text);
  update_accessible(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}
