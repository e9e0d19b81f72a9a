/* frontier-lsra-heatmap.c: see frontier-lsra-heatmap.h.
 *
 * The cells are one ARGB image ([rows] x [blocks * cols] pixels, rebuilt by set_data) scaled up with
 * nearest-neighbour filtering in a Cairo node, one block at a time; labels are Pango layouts appended
 * to the snapshot (column labels rotated). The geometry is computed from the width alone, so the
 * widget asks for height-for-width and draws what it measured. */
#include <math.h>
#include <string.h>

#include "frontier-lsra-heatmap.h"

#define PAD 8.0
#define BLOCK_GAP 10.0
#define MAX_CELL 28.0
#define MAX_ROW_LABEL 120   /* px; longer labels are ellipsized */
#define MAX_COL_LABEL 84
#define LEGEND_BAR_W 140.0
#define LABEL_SCALE 0.82
#define SUMMARY_ROWS 12     /* rows named in the accessible description */

struct _FrontierLsraHeatmap {
  GtkWidget parent_instance;

  float *values;             /* rows * blocks * cols */
  int rows, blocks, cols;
  char **row_labels, **col_labels, **block_titles;   /* NULL-terminated copies, or NULL */
  float vmin, vmax;
  cairo_surface_t *image;

  char *title, *placeholder, *row_name, *col_name;
  FrontierLsraHeatmapDescribe describe;
  gpointer describe_data;
  GDestroyNotify describe_destroy;

  /* Label extents (px), measured lazily; -1 = stale. */
  double row_label_w, col_label_w, line_h;

  int hover_row, hover_block, hover_col;   /* -1: none */
};

G_DEFINE_FINAL_TYPE(FrontierLsraHeatmap, frontier_lsra_heatmap, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_TITLE, PROP_PLACEHOLDER, N_PROPS };
static GParamSpec *props[N_PROPS];

typedef struct {
  double row_w;      /* band of row labels, left of the cells */
  double col_h;      /* band of rotated column labels, above the cells */
  double title_h;    /* band of block titles, above the column labels */
  double cell_w, cell_h;
  double x0, y0;     /* the first block's top-left cell corner */
  double block_w;    /* cols * cell_w */
  double legend_y;   /* top of the legend row */
  double height;
  int row_step, col_step;   /* a label every n rows / columns, so they never overlap */
} Geom;

/* ---- colours: viridis, 9 stops, reads on light and dark backgrounds ---- */

static const double viridis[9][3] = {
  { 0.267, 0.005, 0.329 }, { 0.279, 0.175, 0.483 }, { 0.230, 0.322, 0.546 },
  { 0.173, 0.449, 0.558 }, { 0.128, 0.567, 0.551 }, { 0.153, 0.683, 0.498 },
  { 0.361, 0.785, 0.388 }, { 0.667, 0.862, 0.196 }, { 0.993, 0.906, 0.144 },
};

static void
ramp(double t, double rgb[3])
{
  t = isfinite(t) ? CLAMP(t, 0, 1) : 0;
  double p = t * 8;
  int i = MIN((int)p, 7);
  double f = p - i;
  for (int c = 0; c < 3; c++)
    rgb[c] = viridis[i][c] + f * (viridis[i + 1][c] - viridis[i][c]);
}

static double
normalised(FrontierLsraHeatmap *self, float v)
{
  if (!(self->vmax > self->vmin))
    return 0;
  return (v - self->vmin) / (self->vmax - self->vmin);
}

static void
build_image(FrontierLsraHeatmap *self)
{
  g_clear_pointer(&self->image, cairo_surface_destroy);
  if (self->values == NULL)
    return;
  int w = self->blocks * self->cols, h = self->rows;
  self->image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  cairo_surface_flush(self->image);
  guint8 *px = cairo_image_surface_get_data(self->image);
  int stride = cairo_image_surface_get_stride(self->image);
  for (int r = 0; r < h; r++) {
    guint32 *out = (guint32 *)(px + (gsize)r * stride);
    const float *in = self->values + (gsize)r * w;
    for (int j = 0; j < w; j++) {
      double rgb[3];
      ramp(normalised(self, in[j]), rgb);
      out[j] = 0xff000000u | ((guint32)lround(rgb[0] * 255) << 16) | ((guint32)lround(rgb[1] * 255) << 8) |
               (guint32)lround(rgb[2] * 255);
    }
  }
  cairo_surface_mark_dirty(self->image);
}

/* ---- text ---- */

static PangoLayout *
label_layout(FrontierLsraHeatmap *self, const char *text, int max_width)
{
  PangoLayout *layout = gtk_widget_create_pango_layout(GTK_WIDGET(self), text);
  PangoAttrList *attrs = pango_attr_list_new();
  pango_attr_list_insert(attrs, pango_attr_scale_new(LABEL_SCALE));
  pango_attr_list_insert(attrs, pango_attr_font_features_new("tnum"));
  pango_layout_set_attributes(layout, attrs);
  pango_attr_list_unref(attrs);
  if (max_width > 0) {
    pango_layout_set_width(layout, max_width * PANGO_SCALE);
    pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
  }
  return layout;
}

static double
strv_max_width(FrontierLsraHeatmap *self, char **labels, int n, int cap)
{
  double w = 0;
  for (int i = 0; labels != NULL && i < n && labels[i] != NULL; i++) {
    PangoLayout *l = label_layout(self, labels[i], cap);
    int lw, lh;
    pango_layout_get_pixel_size(l, &lw, &lh);
    w = MAX(w, lw);
    g_object_unref(l);
  }
  return MIN(w, cap);
}

static void
measure_labels(FrontierLsraHeatmap *self)
{
  if (self->line_h >= 0)
    return;
  PangoLayout *l = label_layout(self, "Hg▁", -1);
  int lw, lh;
  pango_layout_get_pixel_size(l, &lw, &lh);
  g_object_unref(l);
  self->line_h = lh;
  self->row_label_w = strv_max_width(self, self->row_labels, self->rows, MAX_ROW_LABEL);
  self->col_label_w = strv_max_width(self, self->col_labels, self->cols, MAX_COL_LABEL);
}

/* ---- geometry ---- */

static void
compute_geom(FrontierLsraHeatmap *self, double width, Geom *g)
{
  memset(g, 0, sizeof *g);
  measure_labels(self);
  double lh = self->line_h;
  g->row_w = self->row_labels != NULL ? self->row_label_w + 6 : 0;
  g->col_h = self->col_labels != NULL ? self->col_label_w + 6 : 0;
  g->title_h = self->block_titles != NULL ? lh + 4 : 0;
  int ncols = MAX(1, self->blocks * self->cols);
  double avail = width - 2 * PAD - g->row_w - (self->blocks - 1) * BLOCK_GAP;
  double cw = floor(avail / ncols);
  cw = CLAMP(cw, 2, MAX_CELL);
  double ch = cw;
  /* Rows stay tall enough for their labels while there are few of them. */
  if (ch < lh && self->rows <= 48)
    ch = ceil(lh);
  ch = MAX(ch, 3);
  g->cell_w = cw;
  g->cell_h = ch;
  g->block_w = self->cols * cw;
  double grid_w = g->row_w + self->blocks * g->block_w + (self->blocks - 1) * BLOCK_GAP;
  g->x0 = floor(PAD + MAX(0, (width - 2 * PAD - grid_w) / 2) + g->row_w);
  g->y0 = PAD + g->title_h + g->col_h;
  g->row_step = MAX(1, (int)ceil(lh / ch));
  g->col_step = MAX(1, (int)ceil(lh / cw));
  g->legend_y = g->y0 + self->rows * ch + 10;
  g->height = g->legend_y + lh + 4 + PAD;
}

static double
block_x(const Geom *g, int b)
{
  return g->x0 + b * (g->block_w + BLOCK_GAP);
}

static gboolean
cell_at(FrontierLsraHeatmap *self, double x, double y, int *row, int *block, int *col)
{
  if (self->values == NULL)
    return FALSE;
  Geom g;
  compute_geom(self, gtk_widget_get_width(GTK_WIDGET(self)), &g);
  if (y < g.y0 || y >= g.y0 + self->rows * g.cell_h)
    return FALSE;
  for (int b = 0; b < self->blocks; b++) {
    double bx = block_x(&g, b);
    if (x >= bx && x < bx + g.block_w) {
      *row = CLAMP((int)((y - g.y0) / g.cell_h), 0, self->rows - 1);
      *block = b;
      *col = CLAMP((int)((x - bx) / g.cell_w), 0, self->cols - 1);
      return TRUE;
    }
  }
  return FALSE;
}

static float
value_at(FrontierLsraHeatmap *self, int row, int block, int col)
{
  return self->values[((gsize)row * self->blocks + block) * self->cols + col];
}

static char *
describe_cell(FrontierLsraHeatmap *self, int row, int block, int col)
{
  float v = value_at(self, row, block, col);
  if (self->describe != NULL)
    return self->describe(row, block, col, v, self->describe_data);
  const char *rl = self->row_labels != NULL ? self->row_labels[row] : NULL;
  const char *cl = self->col_labels != NULL ? self->col_labels[col] : NULL;
  g_autofree char *r = rl != NULL ? g_strdup(rl) : g_strdup_printf("%d", row + 1);
  g_autofree char *c = cl != NULL ? g_strdup(cl) : g_strdup_printf("%d", col + 1);
  g_autofree char *b = self->block_titles != NULL ? g_strdup_printf("%s · ", self->block_titles[block]) : g_strdup("");
  return g_strdup_printf("%s%s %s → %s %s: %.3f", b, self->row_name != NULL ? self->row_name : "row", r,
                         self->col_name != NULL ? self->col_name : "column", c, v);
}

/* ---- drawing ---- */

static void
append_text(GtkSnapshot *snapshot, PangoLayout *layout, double x, double y, const GdkRGBA *color)
{
  gtk_snapshot_save(snapshot);
  gtk_snapshot_translate(snapshot, &GRAPHENE_POINT_INIT(x, y));
  gtk_snapshot_append_layout(snapshot, layout, color);
  gtk_snapshot_restore(snapshot);
}

static void
draw_placeholder(FrontierLsraHeatmap *self, GtkSnapshot *snapshot, const GdkRGBA *fg)
{
  int width = gtk_widget_get_width(GTK_WIDGET(self)), height = gtk_widget_get_height(GTK_WIDGET(self));
  if (self->placeholder == NULL || width <= 4 * PAD)
    return;
  PangoLayout *l = gtk_widget_create_pango_layout(GTK_WIDGET(self), self->placeholder);
  pango_layout_set_width(l, (int)(width - 4 * PAD) * PANGO_SCALE);
  pango_layout_set_alignment(l, PANGO_ALIGN_CENTER);
  pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
  int lw, lh;
  pango_layout_get_pixel_size(l, &lw, &lh);
  GdkRGBA c = *fg;
  c.alpha *= 0.55;
  append_text(snapshot, l, 2 * PAD, MAX(PAD, (height - lh) / 2.0), &c);
  g_object_unref(l);
}

static void
frontier_lsra_heatmap_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierLsraHeatmap *self = FRONTIER_LSRA_HEATMAP(widget);
  int width = gtk_widget_get_width(widget), height = gtk_widget_get_height(widget);
  GdkRGBA fg;
  gtk_style_context_get_color(gtk_widget_get_style_context(widget), &fg);
  if (self->values == NULL) {
    draw_placeholder(self, snapshot, &fg);
    return;
  }
  if (self->image == NULL)
    build_image(self);
  Geom g;
  compute_geom(self, width, &g);
  double grid_h = self->rows * g.cell_h;

  cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, width, MAX(height, g.height)));
  for (int b = 0; b < self->blocks; b++) {
    double bx = block_x(&g, b);
    cairo_save(cr);
    cairo_rectangle(cr, bx, g.y0, g.block_w, grid_h);
    cairo_clip(cr);
    cairo_translate(cr, bx, g.y0);
    cairo_scale(cr, g.cell_w, g.cell_h);
    cairo_set_source_surface(cr, self->image, -b * self->cols, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.3);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, bx - 0.5, g.y0 - 0.5, g.block_w + 1, grid_h + 1);
    cairo_stroke(cr);
  }
  if (self->hover_row >= 0) {
    double hx = block_x(&g, self->hover_block) + self->hover_col * g.cell_w;
    double hy = g.y0 + self->hover_row * g.cell_h;
    /* The hovered row and column, faintly, then the cell. */
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.5);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, block_x(&g, self->hover_block) + 0.5, hy + 0.5, g.block_w - 1, g.cell_h - 1);
    cairo_stroke(cr);
    cairo_rectangle(cr, hx + 0.5, g.y0 + 0.5, g.cell_w - 1, grid_h - 1);
    cairo_stroke(cr);
    cairo_set_line_width(cr, 2);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.95);
    cairo_rectangle(cr, hx - 1, hy - 1, g.cell_w + 2, g.cell_h + 2);
    cairo_stroke(cr);
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgba(cr, 0, 0, 0, 0.9);
    cairo_rectangle(cr, hx - 2.5, hy - 2.5, g.cell_w + 5, g.cell_h + 5);
    cairo_stroke(cr);
  }
  /* The legend's colour bar. */
  double lx = PAD + 1, ly = g.legend_y + 2, lh = MAX(8, self->line_h - 6);
  g_autofree char *lo_text = g_strdup_printf("%.2g", self->vmin);
  PangoLayout *lo = label_layout(self, lo_text, -1);
  int low_w, low_h;
  pango_layout_get_pixel_size(lo, &low_w, &low_h);
  double bar_x = lx + low_w + 6;
  cairo_pattern_t *grad = cairo_pattern_create_linear(bar_x, 0, bar_x + LEGEND_BAR_W, 0);
  for (int i = 0; i < 9; i++)
    cairo_pattern_add_color_stop_rgb(grad, i / 8.0, viridis[i][0], viridis[i][1], viridis[i][2]);
  cairo_set_source(cr, grad);
  cairo_rectangle(cr, bar_x, ly + (self->line_h - lh) / 2 - 2, LEGEND_BAR_W, lh);
  cairo_fill(cr);
  cairo_pattern_destroy(grad);
  cairo_destroy(cr);

  /* Text: the legend's ends and the hovered cell. */
  GdkRGBA dim = fg;
  dim.alpha *= 0.7;
  append_text(snapshot, lo, lx, g.legend_y, &dim);
  g_object_unref(lo);
  g_autofree char *hi_text = g_strdup_printf("%.2g", self->vmax);
  PangoLayout *hi = label_layout(self, hi_text, -1);
  int hi_w, hi_h;
  pango_layout_get_pixel_size(hi, &hi_w, &hi_h);
  append_text(snapshot, hi, bar_x + LEGEND_BAR_W + 6, g.legend_y, &dim);
  g_object_unref(hi);
  double text_x = bar_x + LEGEND_BAR_W + 6 + hi_w + 18;
  g_autofree char *hover = self->hover_row >= 0 ? describe_cell(self, self->hover_row, self->hover_block,
                                                                 self->hover_col)
                                                : g_strdup("Hover a cell for its value");
  if (width - PAD - text_x > 40) {
    PangoLayout *hl = label_layout(self, hover, (int)(width - PAD - text_x));
    append_text(snapshot, hl, text_x, g.legend_y, self->hover_row >= 0 ? &fg : &dim);
    g_object_unref(hl);
  }

  /* Row labels, right-aligned against the cells. */
  for (int r = 0; self->row_labels != NULL && r < self->rows; r += g.row_step) {
    if (self->row_labels[r] == NULL)
      break;
    PangoLayout *l = label_layout(self, self->row_labels[r], MAX_ROW_LABEL);
    int w, h;
    pango_layout_get_pixel_size(l, &w, &h);
    gboolean hot = r == self->hover_row;
    append_text(snapshot, l, g.x0 - 6 - w, g.y0 + r * g.cell_h + (g.cell_h - h) / 2, hot ? &fg : &dim);
    g_object_unref(l);
  }
  /* Column labels, rotated, read bottom to top, above every block; block titles above them. */
  for (int b = 0; b < self->blocks; b++) {
    double bx = block_x(&g, b);
    for (int c = 0; self->col_labels != NULL && c < self->cols; c += g.col_step) {
      if (self->col_labels[c] == NULL)
        break;
      PangoLayout *l = label_layout(self, self->col_labels[c], MAX_COL_LABEL);
      int w, h;
      pango_layout_get_pixel_size(l, &w, &h);
      gboolean hot = c == self->hover_col && b == self->hover_block;
      gtk_snapshot_save(snapshot);
      gtk_snapshot_translate(snapshot, &GRAPHENE_POINT_INIT(bx + c * g.cell_w + (g.cell_w - h) / 2, g.y0 - 4));
      gtk_snapshot_rotate(snapshot, -90);
      gtk_snapshot_append_layout(snapshot, l, hot ? &fg : &dim);
      gtk_snapshot_restore(snapshot);
      g_object_unref(l);
    }
    if (self->block_titles != NULL && self->block_titles[b] != NULL) {
      PangoLayout *l = label_layout(self, self->block_titles[b], (int)MAX(g.block_w + BLOCK_GAP - 2, 8));
      int w, h;
      pango_layout_get_pixel_size(l, &w, &h);
      append_text(snapshot, l, bx + MAX(0, (g.block_w - w) / 2), PAD, &fg);
      g_object_unref(l);
    }
  }
}

static void
frontier_lsra_heatmap_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                              int *natural, int *minimum_baseline, int *natural_baseline)
{
  FrontierLsraHeatmap *self = FRONTIER_LSRA_HEATMAP(widget);
  if (self->values == NULL) {
    *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 120 : 96;
    *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 320 : 160;
    return;
  }
  measure_labels(self);
  double fixed = 2 * PAD + (self->row_labels != NULL ? self->row_label_w + 6 : 0) + (self->blocks - 1) * BLOCK_GAP;
  int ncols = self->blocks * self->cols;
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = (int)ceil(MAX(fixed + 2 * ncols, 2 * PAD + LEGEND_BAR_W + 80));
    *natural = (int)ceil(MAX(fixed + 22 * ncols, *minimum));
    return;
  }
  double width = for_size >= 0 ? for_size : fixed + 22 * ncols;
  Geom g;
  compute_geom(self, width, &g);
  *minimum = *natural = (int)ceil(g.height);
}

static GtkSizeRequestMode
frontier_lsra_heatmap_get_request_mode(GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
frontier_lsra_heatmap_css_changed(GtkWidget *widget, GtkCssStyleChange *change)
{
  FRONTIER_LSRA_HEATMAP(widget)->line_h = -1;
  GTK_WIDGET_CLASS(frontier_lsra_heatmap_parent_class)->css_changed(widget, change);
  gtk_widget_queue_resize(widget);
}

/* ---- hover, keyboard, tooltip ---- */

static void
set_hover(FrontierLsraHeatmap *self, int row, int block, int col)
{
  if (row == self->hover_row && block == self->hover_block && col == self->hover_col)
    return;
  self->hover_row = row;
  self->hover_block = block;
  self->hover_col = col;
  gtk_widget_queue_draw(GTK_WIDGET(self));
  gtk_widget_trigger_tooltip_query(GTK_WIDGET(self));
}

static void
motion_cb(GtkEventControllerMotion *motion, double x, double y, FrontierLsraHeatmap *self)
{
  int r, b, c;
  if (cell_at(self, x, y, &r, &b, &c))
    set_hover(self, r, b, c);
  else
    set_hover(self, -1, -1, -1);
}

static void
leave_cb(GtkEventControllerMotion *motion, FrontierLsraHeatmap *self)
{
  if (!gtk_widget_has_focus(GTK_WIDGET(self)))
    set_hover(self, -1, -1, -1);
}

static gboolean
key_pressed_cb(GtkEventControllerKey *key, guint keyval, guint keycode, GdkModifierType state,
               FrontierLsraHeatmap *self)
{
  int dr = 0, dc = 0;
  switch (keyval) {
  case GDK_KEY_Up:
  case GDK_KEY_KP_Up:
    dr = -1;
    break;
  case GDK_KEY_Down:
  case GDK_KEY_KP_Down:
    dr = 1;
    break;
  case GDK_KEY_Left:
  case GDK_KEY_KP_Left:
    dc = -1;
    break;
  case GDK_KEY_Right:
  case GDK_KEY_KP_Right:
    dc = 1;
    break;
  case GDK_KEY_Home:
    break;
  default:
    return FALSE;
  }
  if (self->values == NULL)
    return FALSE;
  int r = self->hover_row, b = self->hover_block, c = self->hover_col;
  if (r < 0 || keyval == GDK_KEY_Home) {
    set_hover(self, 0, 0, 0);
    return TRUE;
  }
  r += dr;
  c += dc;
  /* Left and right run on across the blocks' edges. */
  if (c < 0 && b > 0) {
    b--;
    c = self->cols - 1;
  } else if (c >= self->cols && b < self->blocks - 1) {
    b++;
    c = 0;
  }
  set_hover(self, CLAMP(r, 0, self->rows - 1), CLAMP(b, 0, self->blocks - 1), CLAMP(c, 0, self->cols - 1));
  return TRUE;
}

static gboolean
query_tooltip_cb(GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer user)
{
  FrontierLsraHeatmap *self = FRONTIER_LSRA_HEATMAP(widget);
  int r, b, c;
  if (keyboard) {
    if (self->hover_row < 0)
      return FALSE;
    r = self->hover_row;
    b = self->hover_block;
    c = self->hover_col;
  } else if (!cell_at(self, x, y, &r, &b, &c)) {
    return FALSE;
  }
  g_autofree char *text = describe_cell(self, r, b, c);
  gtk_tooltip_set_text(tooltip, text);
  return TRUE;
}

/* ---- accessibility ---- */

static void
update_accessible(FrontierLsraHeatmap *self)
{
  const char *title = self->title != NULL ? self->title : "Heatmap";
  GString *s = g_string_new(NULL);
  if (self->values == NULL) {
    g_string_append(s, self->placeholder != NULL ? self->placeholder : "Empty");
  } else {
    g_string_append_printf(s, "%d rows × %d columns", self->rows, self->cols);
    if (self->blocks > 1)
      g_string_append_printf(s, " in %d blocks", self->blocks);
    g_string_append(s, ". Strongest per row: ");
    int n = MIN(self->rows, SUMMARY_ROWS);
    for (int r = 0; r < n; r++) {
      int bb = 0, bc = 0;
      float best = -INFINITY;
      for (int b = 0; b < self->blocks; b++)
        for (int c = 0; c < self->cols; c++)
          if (value_at(self, r, b, c) > best) {
            best = value_at(self, r, b, c);
            bb = b;
            bc = c;
          }
      g_autofree char *d = describe_cell(self, r, bb, bc);
      g_string_append_printf(s, "%s%s", r ? "; " : "", d);
    }
    if (self->rows > n)
      g_string_append_printf(s, "; and %d more rows", self->rows - n);
  }
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, title,
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, s->str, -1);
  g_string_free(s, TRUE);
}

/* ---- API ---- */

static char **
copy_labels(const char *const *labels, int n)
{
  if (labels == NULL)
    return NULL;
  char **out = g_new0(char *, n + 1);
  for (int i = 0; i < n; i++)
    out[i] = g_strdup(labels[i] != NULL ? labels[i] : "");
  return out;
}

static void
drop_data(FrontierLsraHeatmap *self)
{
  g_clear_pointer(&self->values, g_free);
  g_clear_pointer(&self->row_labels, g_strfreev);
  g_clear_pointer(&self->col_labels, g_strfreev);
  g_clear_pointer(&self->block_titles, g_strfreev);
  g_clear_pointer(&self->image, cairo_surface_destroy);
  self->rows = self->cols = self->blocks = 0;
  self->hover_row = self->hover_block = self->hover_col = -1;
  self->line_h = -1;
}

GtkWidget *
frontier_lsra_heatmap_new(void)
{
  return g_object_new(FRONTIER_TYPE_LSRA_HEATMAP, NULL);
}

void
frontier_lsra_heatmap_set_data(FrontierLsraHeatmap *self, const float *values, int rows, int blocks, int cols,
                               const char *const *row_labels, const char *const *col_labels,
                               const char *const *block_titles)
{
  g_return_if_fail(FRONTIER_IS_LSRA_HEATMAP(self));
  g_return_if_fail(values != NULL && rows > 0 && blocks > 0 && cols > 0);
  int hr = self->hover_row, hb = self->hover_block, hc = self->hover_col;
  drop_data(self);
  gsize n = (gsize)rows * blocks * cols;
  self->values = g_memdup2(values, n * sizeof(float));
  self->rows = rows;
  self->blocks = blocks;
  self->cols = cols;
  self->row_labels = copy_labels(row_labels, rows);
  self->col_labels = copy_labels(col_labels, cols);
  self->block_titles = copy_labels(block_titles, blocks);
  self->vmin = 0;
  self->vmax = 0;
  for (gsize i = 0; i < n; i++) {
    if (!isfinite(values[i]))
      continue;
    self->vmin = MIN(self->vmin, values[i]);
    self->vmax = MAX(self->vmax, values[i]);
  }
  if (!(self->vmax > self->vmin))
    self->vmax = self->vmin + 1;
  /* The cursor stays where it was when the cell still exists (a keyboard user switching layers). */
  if (hr >= 0 && hr < rows && hb < blocks && hc < cols) {
    self->hover_row = hr;
    self->hover_block = hb;
    self->hover_col = hc;
  }
  update_accessible(self);
  gtk_widget_queue_resize(GTK_WIDGET(self));
}

void
frontier_lsra_heatmap_clear(FrontierLsraHeatmap *self)
{
  g_return_if_fail(FRONTIER_IS_LSRA_HEATMAP(self));
  drop_data(self);
  update_accessible(self);
  gtk_widget_queue_resize(GTK_WIDGET(self));
}

gboolean
frontier_lsra_heatmap_has_data(FrontierLsraHeatmap *self)
{
  g_return_val_if_fail(FRONTIER_IS_LSRA_HEATMAP(self), FALSE);
  return self->values != NULL;
}

void
frontier_lsra_heatmap_set_title(FrontierLsraHeatmap *self, const char *title)
{
  g_return_if_fail(FRONTIER_IS_LSRA_HEATMAP(self));
  if (g_strcmp0(self->title, title) == 0)
    return;
  g_free(self->title);
  self->title = g_strdup(title);
  update_accessible(self);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_TITLE]);
}

void
frontier_lsra_heatmap_set_placeholder(FrontierLsraHeatmap *self, const char *text)
{
  g_return_if_fail(FRONTIER_IS_LSRA_HEATMAP(self));
  if (g_strcmp0(self->placeholder, text) == 0)
    return;
  g_free(self->placeholder);
  self->placeholder = g_strdup(text);
  if (self->values == NULL) {
    update_accessible(self);
    gtk_widget_queue_draw(GTK_WIDGET(self));
  }
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PLACEHOLDER]);
}

void
frontier_lsra_heatmap_set_axis_names(FrontierLsraHeatmap *self, const char *rows, const char *cols)
{
  g_return_if_fail(FRONTIER_IS_LSRA_HEATMAP(self));
  g_free(self->row_name);
  g_free(self->col_name);
  self->row_name = g_strdup(rows);
  self->col_name = g_strdup(cols);
  if (self->values != NULL)
    update_accessible(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_lsra_heatmap_set_describe_func(FrontierLsraHeatmap *self, FrontierLsraHeatmapDescribe func,
                                        gpointer user_data, GDestroyNotify destroy)
{
  g_return_if_fail(FRONTIER_IS_LSRA_HEATMAP(self));
  if (self->describe_destroy != NULL)
    self->describe_destroy(self->describe_data);
  self->describe = func;
  self->describe_data = user_data;
  self->describe_destroy = destroy;
  if (self->values != NULL)
    update_accessible(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

/* ---- GObject ---- */

static void
frontier_lsra_heatmap_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  FrontierLsraHeatmap *self = FRONTIER_LSRA_HEATMAP(object);
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
frontier_lsra_heatmap_set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  FrontierLsraHeatmap *self = FRONTIER_LSRA_HEATMAP(object);
  switch (id) {
  case PROP_TITLE:
    frontier_lsra_heatmap_set_title(self, g_value_get_string(value));
    break;
  case PROP_PLACEHOLDER:
    frontier_lsra_heatmap_set_placeholder(self, g_value_get_string(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void
frontier_lsra_heatmap_finalize(GObject *object)
{
  FrontierLsraHeatmap *self = FRONTIER_LSRA_HEATMAP(object);
  drop_data(self);
  if (self->describe_destroy != NULL)
    self->describe_destroy(self->describe_data);
  g_free(self->title);
  g_free(self->placeholder);
  g_free(self->row_name);
  g_free(self->col_name);
  G_OBJECT_CLASS(frontier_lsra_heatmap_parent_class)->finalize(object);
}

static void
frontier_lsra_heatmap_class_init(FrontierLsraHeatmapClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->get_property = frontier_lsra_heatmap_get_property;
  object_class->set_property = frontier_lsra_heatmap_set_property;
  object_class->finalize = frontier_lsra_heatmap_finalize;
  widget_class->snapshot = frontier_lsra_heatmap_snapshot;
  widget_class->measure = frontier_lsra_heatmap_measure;
  widget_class->get_request_mode = frontier_lsra_heatmap_get_request_mode;
  widget_class->css_changed = frontier_lsra_heatmap_css_changed;

  props[PROP_TITLE] = g_param_spec_string("title", NULL, NULL, NULL,
                                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_PLACEHOLDER] = g_param_spec_string("placeholder", NULL, NULL, NULL,
                                                G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                                                  G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(object_class, N_PROPS, props);

  gtk_widget_class_set_css_name(widget_class, "lsraheatmap");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
frontier_lsra_heatmap_init(FrontierLsraHeatmap *self)
{
  self->hover_row = self->hover_block = self->hover_col = -1;
  self->line_h = -1;
  gtk_widget_set_focusable(GTK_WIDGET(self), TRUE);
  gtk_widget_set_has_tooltip(GTK_WIDGET(self), TRUE);
  g_signal_connect(self, "query-tooltip", G_CALLBACK(query_tooltip_cb), NULL);
  GtkEventController *motion = gtk_event_controller_motion_new();
  g_signal_connect(motion, "motion", G_CALLBACK(motion_cb), self);
  g_signal_connect(motion, "leave", G_CALLBACK(leave_cb), self);
  gtk_widget_add_controller(GTK_WIDGET(self), motion);
  GtkEventController *key = gtk_event_controller_key_new();
  g_signal_connect(key, "key-pressed", G_CALLBACK(key_pressed_cb), self);
  gtk_widget_add_controller(GTK_WIDGET(self), key);
  update_accessible(self);
}
