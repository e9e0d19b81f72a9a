/* frontier-chart.c: see frontier-chart.h. */
#include <math.h>
#include <string.h>

#include <adwaita.h>

#include "frontier-chart.h"

#define PAD           12.0
#define HOVER_RADIUS  24.0
#define MIN_SPAN      1e-12

typedef struct {
  double x, y;
} Point;

typedef struct {
  char              *name;
  FrontierChartStyle style;
  GdkRGBA            color;
  gboolean           has_color;
  guint              palette_index;
  GArray            *points;   /* of Point */
  double             xmin, xmax, ymin, ymax;  /* over finite points; xmin > xmax when none */
  gboolean           sorted;   /* every x finite and non-decreasing: enables binary search */
} Series;

struct _FrontierChart {
  GtkWidget parent_instance;

  char      *title;
  char      *x_label;
  char      *y_label;
  GPtrArray *series;
  guint      next_palette;

  double     fix_x0, fix_x1, fix_y0, fix_y1;
  gboolean   x_integer;

  /* The user's view, once they zoomed or panned; otherwise the view follows the data. */
  gboolean   user_view;
  double     vx0, vx1, vy0, vy1;

  /* Geometry of the last snapshot, for mapping pointer positions. */
  gboolean   have_plot;
  double     px0, py0, pw, ph;       /* plot rectangle in widget coordinates */
  double     dx0, dx1, dy0, dy1;     /* data range it showed */

  /* Pointer state. */
  gboolean   pointer_inside;
  double     pointer_x, pointer_y;
  int        hover_series;
  gssize     hover_index;
  int        hl_series;
  gssize     hl_index;

  gboolean   drag_active;
  gboolean   dragged;
  double     drag_v[4];
  double     pinch_v[4];
  double     pinch_cx, pinch_cy;

  guint      a11y_source;
};

enum {
  PROP_0,
  PROP_TITLE,
  PROP_X_LABEL,
  PROP_Y_LABEL,
  N_PROPS
};

enum {
  POINT_ACTIVATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE(FrontierChart, frontier_chart, GTK_TYPE_WIDGET)

/* The Adwaita palette (libadwaita 1.2 named colours): a lighter shade on dark backgrounds. */
static const char *const palette_light[] = {
  "#3584e4", "#e66100", "#2ec27e", "#9141ac", "#e01b24", "#c88800", "#986a44", "#1c71d8",
};
static const char *const palette_dark[] = {
  "#62a0ea", "#ffa348", "#57e389", "#c061cb", "#f66151", "#f8e45c", "#cdab8f", "#99c1f1",
};

static void
series_free(gpointer data)
{
  Series *s = data;
  g_free(s->name);
  g_array_unref(s->points);
  g_free(s);
}

static void
series_reset_bounds(Series *s)
{
  s->xmin = s->ymin = INFINITY;
  s->xmax = s->ymax = -INFINITY;
  s->sorted = TRUE;
}

static Series *
get_series(FrontierChart *self, guint index)
{
  g_return_val_if_fail(index < self->series->len, NULL);
  return g_ptr_array_index(self->series, index);
}

static GdkRGBA
series_color(Series *s, gboolean dark)
{
  GdkRGBA c;
  if (s->has_color)
    return s->color;
  const char *const *pal = dark ? palette_dark : palette_light;
  gdk_rgba_parse(&c, pal[s->palette_index % G_N_ELEMENTS(palette_light)]);
  return c;
}

/* ---------------------------------------------------------------------------------------------
 * Ranges and ticks
 * ------------------------------------------------------------------------------------------- */

static double
nice_step(double raw)
{
  if (!(raw > 0) || !isfinite(raw))
    return 1.0;
  double e = floor(log10(raw));
  double base = pow(10.0, e);
  double f = raw / base;
  double nf = f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0;
  return nf * base;
}

static void
auto_range(FrontierChart *self, double *x0, double *x1, double *y0, double *y1, gboolean *scatter_only)
{
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  gboolean all_scatter = self->series->len > 0;

  for (guint i = 0; i < self->series->len; i++) {
    Series *s = g_ptr_array_index(self->series, i);
    if (s->xmin > s->xmax)
      continue;
    xmin = MIN(xmin, s->xmin);
    xmax = MAX(xmax, s->xmax);
    ymin = MIN(ymin, s->ymin);
    ymax = MAX(ymax, s->ymax);
    if (s->style != FRONTIER_CHART_SCATTER)
      all_scatter = FALSE;
  }
  if (xmin > xmax) {
    xmin = 0;
    xmax = 1;
    ymin = 0;
    ymax = 1;
  }
  if (isfinite(self->fix_x0))
    xmin = self->fix_x0;
  if (isfinite(self->fix_x1))
    xmax = self->fix_x1;
  if (isfinite(self->fix_y0))
    ymin = self->fix_y0;
  if (isfinite(self->fix_y1))
    ymax = self->fix_y1;

  if (xmax - xmin < MIN_SPAN * MAX(1.0, fabs(xmin))) {
    double d = MAX(fabs(xmin) * 0.05, self->x_integer ? 1.0 : 0.5);
    if (!isfinite(self->fix_x0))
      xmin -= d;
    if (!isfinite(self->fix_x1))
      xmax += d;
    if (xmax <= xmin)
      xmax = xmin + 1;
  } else if (all_scatter) {
    double d = (xmax - xmin) * 0.04;
    if (!isfinite(self->fix_x0))
      xmin -= d;
    if (!isfinite(self->fix_x1))
      xmax += d;
  }

  if (ymax - ymin < MIN_SPAN * MAX(1.0, fabs(ymin))) {
    double d = MAX(fabs(ymin) * 0.05, 0.5);
    if (!isfinite(self->fix_y0))
      ymin -= d;
    if (!isfinite(self->fix_y1))
      ymax += d;
    if (ymax <= ymin)
      ymax = ymin + 1;
  } else {
    double d = (ymax - ymin) * 0.05;
    if (!isfinite(self->fix_y0))
      ymin -= d;
    if (!isfinite(self->fix_y1))
      ymax += d;
  }
  *x0 = xmin;
  *x1 = xmax;
  *y0 = ymin;
  *y1 = ymax;
  if (scatter_only)
    *scatter_only = all_scatter;
}

static void
format_tick(char *buf, gsize len, double v, double step)
{
  if (fabs(v) < step * 1e-6)
    v = 0.0;
  double av = fabs(v);
  if (step >= 1e6 && av < 1e15) {
    int dec = MAX(0, (int)-floor(log10(step / 1e6) + 1e-9));
    g_snprintf(buf, len, "%.*fM", dec, v / 1e6);
  } else if (step >= 1000 && av < 1e15) {
    int dec = MAX(0, (int)-floor(log10(step / 1e3) + 1e-9));
    g_snprintf(buf, len, "%.*fk", dec, v / 1e3);
  } else if (step < 1e-4 || av >= 1e15) {
    g_snprintf(buf, len, "%.3g", v);
  } else {
    int dec = MAX(0, (int)-floor(log10(step) + 1e-9));
    g_snprintf(buf, len, "%.*f", dec, v);
  }
  /* Typographic minus. */
  if (buf[0] == '-') {
    gsize l = strlen(buf);
    if (l + 3 < len) {
      memmove(buf + 3, buf + 1, l);
      memcpy(buf, "\xe2\x88\x92", 3);
    }
  }
}

static void
format_value(char *buf, gsize len, double v, gboolean integer)
{
  if (integer || (fabs(v) < 1e9 && v == floor(v)))
    g_snprintf(buf, len, "%.0f", v);
  else
    g_snprintf(buf, len, "%.4g", v);
}

/* ---------------------------------------------------------------------------------------------
 * Geometry helpers
 * ------------------------------------------------------------------------------------------- */

typedef struct {
  double px0, py0, pw, ph;
  double x0, x1, y0, y1;
  double sx, sy;
} Xform;

static inline double
xf_x(const Xform *t, double x)
{
  return t->px0 + (x - t->x0) * t->sx;
}

static inline double
xf_y(const Xform *t, double y)
{
  return t->py0 + t->ph - (y - t->y0) * t->sy;
}

static inline double
clampc(double v)
{
  return CLAMP(v, -1e5, 1e5);
}

static Xform
last_xform(FrontierChart *self)
{
  Xform t = {
    self->px0, self->py0, self->pw, self->ph,
    self->dx0, self->dx1, self->dy0, self->dy1,
    self->pw / (self->dx1 - self->dx0), self->ph / (self->dy1 - self->dy0),
  };
  return t;
}

/* First index with x >= v in a sorted series. */
static gsize
lower_bound(const Point *p, gsize n, double v)
{
  gsize lo = 0, hi = n;
  while (lo < hi) {
    gsize mid = lo + (hi - lo) / 2;
    if (p[mid].x < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* First index with x > v in a sorted series. */
static gsize
upper_bound(const Point *p, gsize n, double v)
{
  gsize lo = 0, hi = n;
  while (lo < hi) {
    gsize mid = lo + (hi - lo) / 2;
    if (p[mid].x <= v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static void
visible_span(Series *s, const Xform *t, gsize *lo, gsize *hi)
{
  const Point *p = (const Point *)s->points->data;
  gsize n = s->points->len;
  *lo = 0;
  *hi = n;
  if (!s->sorted || n == 0)
    return;
  *lo = lower_bound(p, n, t->x0);
  if (*lo > 0)
    (*lo)--;
  *hi = upper_bound(p, n, t->x1);
  if (*hi < n)
    (*hi)++;
}

/* ---------------------------------------------------------------------------------------------
 * Drawing
 * ------------------------------------------------------------------------------------------- */

static void
set_source(cairo_t *cr, const GdkRGBA *c, double alpha)
{
  cairo_set_source_rgba(cr, c->red, c->green, c->blue, c->alpha * alpha);
}

/* Dense data is rasterised straight into an image (cairo's tessellator is far too slow for tens of
 * thousands of overlapping segments or markers); sparse data is drawn with antialiased paths. */
#define CAIRO_MAX_SEGMENTS 600
#define CAIRO_MAX_MARKERS  2000

typedef struct {
  cairo_surface_t *surface;
  guint32         *px;
  int              stride;  /* in pixels */
  int              w, h;
  int              scale;
  double           ox, oy;  /* widget coordinates of the image's origin */
  guint32          r, g, b; /* colour, 0..255 */
  guint32          alpha;   /* 0..255 */
} Raster;

static gboolean
raster_begin(Raster *r, const Xform *t, int scale, const GdkRGBA *color, double alpha)
{
  r->scale = MAX(1, scale);
  r->ox = floor(t->px0) - 4;
  r->oy = floor(t->py0) - 4;
  r->w = (int)ceil(t->pw + 8) * r->scale;
  r->h = (int)ceil(t->ph + 8) * r->scale;
  if (r->w <= 0 || r->h <= 0)
    return FALSE;
  r->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, r->w, r->h);
  if (cairo_surface_status(r->surface) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(r->surface);
    return FALSE;
  }
  cairo_surface_flush(r->surface);
  r->px = (guint32 *)cairo_image_surface_get_data(r->surface);
  r->stride = cairo_image_surface_get_stride(r->surface) / 4;
  r->r = (guint32)CLAMP(color->red * 255 + 0.5, 0, 255);
  r->g = (guint32)CLAMP(color->green * 255 + 0.5, 0, 255);
  r->b = (guint32)CLAMP(color->blue * 255 + 0.5, 0, 255);
  r->alpha = (guint32)CLAMP(color->alpha * alpha * 255 + 0.5, 0, 255);
  return TRUE;
}

static inline guint32
div255(guint32 v)
{
  return (v + 128 + ((v + 128) >> 8)) >> 8;
}

static inline void
raster_blend(Raster *r, int x, int y, guint32 coverage /* 0..255 */)
{
  if ((unsigned)x >= (unsigned)r->w || (unsigned)y >= (unsigned)r->h)
    return;
  guint32 a = div255(r->alpha * coverage);
  if (a == 0)
    return;
  guint32 *d = &r->px[(gsize)y * r->stride + x];
  guint32 v = *d, ia = 255 - a;
  if (a == 255) {
    *d = 0xff000000u | (r->r << 16) | (r->g << 8) | r->b;
    return;
  }
  guint32 da = v >> 24, dr = (v >> 16) & 0xff, dg = (v >> 8) & 0xff, db = v & 0xff;
  da = a + div255(da * ia);
  dr = div255(r->r * a + dr * ia);
  dg = div255(r->g * a + dg * ia);
  db = div255(r->b * a + db * ia);
  *d = (da << 24) | (dr << 16) | (dg << 8) | db;
}

/* Fills image column x from y0 to y1 (image pixels, y0 <= y1), antialiasing the two ends. */
static void
raster_vspan(Raster *r, int x, double y0, double y1)
{
  if ((unsigned)x >= (unsigned)r->w || y1 <= 0 || y0 >= r->h)
    return;
  y0 = MAX(y0, 0);
  y1 = MIN(y1, r->h);
  int i0 = (int)floor(y0), i1 = (int)floor(y1);
  if (i0 == i1) {
    raster_blend(r, x, i0, (guint32)((y1 - y0) * 255 + 0.5));
    return;
  }
  raster_blend(r, x, i0, (guint32)((i0 + 1 - y0) * 255 + 0.5));
  for (int y = i0 + 1; y < i1; y++)
    raster_blend(r, x, y, 255);
  if (i1 < r->h)
    raster_blend(r, x, i1, (guint32)((y1 - i1) * 255 + 0.5));
}

/* A segment of width 2*hw (image pixels), as one vertical span per column it crosses. */
static void
raster_segment(Raster *r, double x0, double y0, double x1, double y1, double hw)
{
  if (x1 < x0) {
    double tx = x0, ty = y0;
    x0 = x1;
    y0 = y1;
    x1 = tx;
    y1 = ty;
  }
  if (x1 < -hw - 1 || x0 > r->w + hw + 1)
    return;
  double slope = x1 > x0 ? (y1 - y0) / (x1 - x0) : 0;
  int c0 = (int)floor(MAX(x0 - hw, -1)), c1 = (int)floor(MIN(x1 + hw, r->w + 1));
  for (int c = c0; c <= c1; c++) {
    double a = CLAMP(c, x0, x1), b = CLAMP(c + 1, x0, x1);
    double ya, yb;
    if (x1 > x0) {
      ya = y0 + (a - x0) * slope;
      yb = y0 + (b - x0) * slope;
    } else {
      ya = y0;
      yb = y1;
    }
    raster_vspan(r, c, MIN(ya, yb) - hw, MAX(ya, yb) + hw);
  }
}

static void
raster_end(Raster *r, cairo_t *cr)
{
  cairo_surface_mark_dirty(r->surface);
  cairo_surface_set_device_scale(r->surface, r->scale, r->scale);
  cairo_save(cr);
  cairo_set_source_surface(cr, r->surface, r->ox, r->oy);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(r->surface);
  r->surface = NULL;
}

/* The visible part of a line series as a polyline in widget coordinates; dense runs are reduced
 * per pixel column to their first, lowest, highest and last points (M4), which draws the same
 * pixels as the full series. */
static GArray *
line_polyline(Series *s, const Xform *t, gsize *visible)
{
  const Point *p = (const Point *)s->points->data;
  gsize lo, hi;
  visible_span(s, t, &lo, &hi);
  *visible = hi > lo ? hi - lo : 0;
  GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(Point), MIN(*visible, (gsize)(8 * t->pw) + 16));
  if (hi <= lo)
    return out;

  if (!s->sorted || *visible <= (gsize)(2 * t->pw)) {
    for (gsize i = lo; i < hi; i++) {
      if (!isfinite(p[i].x) || !isfinite(p[i].y))
        continue;
      Point q = { clampc(xf_x(t, p[i].x)), clampc(xf_y(t, p[i].y)) };
      g_array_append_val(out, q);
    }
    return out;
  }

  gboolean have = FALSE;
  double col = 0;
  Point first = { 0 }, last = { 0 }, pmin = { 0 }, pmax = { 0 };
  gsize min_i = 0, max_i = 0;
  for (gsize i = lo; i <= hi; i++) {
    Point q = { 0 };
    double c = 0;
    gboolean flush = (i == hi);
    if (!flush) {
      if (!isfinite(p[i].y))
        continue;
      q.x = clampc(xf_x(t, p[i].x));
      q.y = clampc(xf_y(t, p[i].y));
      c = floor(q.x);
      flush = have && c != col;
    }
    if (flush && have) {
      g_array_append_val(out, first);
      if (min_i < max_i) {
        g_array_append_val(out, pmin);
        g_array_append_val(out, pmax);
      } else if (max_i < min_i) {
        g_array_append_val(out, pmax);
        g_array_append_val(out, pmin);
      }
      g_array_append_val(out, last);
      have = FALSE;
    }
    if (i == hi)
      break;
    if (!have) {
      have = TRUE;
      col = c;
      first = last = pmin = pmax = q;
      min_i = max_i = i;
    } else {
      last = q;
      if (q.y < pmin.y) {
        pmin = q;
        min_i = i;
      }
      if (q.y > pmax.y) {
        pmax = q;
        max_i = i;
      }
    }
  }
  return out;
}

static void
draw_line_series(cairo_t *cr, Series *s, const Xform *t, const GdkRGBA *color, int scale, gboolean markers)
{
  gsize visible;
  GArray *line = line_polyline(s, t, &visible);
  const Point *q = (const Point *)line->data;
  guint n = line->len;

  if (n <= CAIRO_MAX_SEGMENTS) {
    cairo_new_path(cr);
    for (guint i = 0; i < n; i++) {
      if (i == 0)
        cairo_move_to(cr, q[i].x, q[i].y);
      else
        cairo_line_to(cr, q[i].x, q[i].y);
    }
    set_source(cr, color, 1.0);
    cairo_stroke(cr);
  } else {
    Raster r;
    if (raster_begin(&r, t, scale, color, 1.0)) {
      double k = r.scale;
      for (guint i = 1; i < n; i++)
        raster_segment(&r, (q[i - 1].x - r.ox) * k, (q[i - 1].y - r.oy) * k, (q[i].x - r.ox) * k,
                       (q[i].y - r.oy) * k, 1.0 * k);
      if (n == 1)
        raster_segment(&r, (q[0].x - r.ox) * k, (q[0].y - r.oy) * k, (q[0].x - r.ox) * k, (q[0].y - r.oy) * k,
                       1.0 * k);
      raster_end(&r, cr);
    }
  }

  if (markers && visible <= (gsize)(t->pw / 8)) {
    const Point *p = (const Point *)s->points->data;
    gsize lo, hi;
    visible_span(s, t, &lo, &hi);
    cairo_new_path(cr);
    for (gsize i = lo; i < hi; i++) {
      if (!isfinite(p[i].x) || !isfinite(p[i].y))
        continue;
      double X = xf_x(t, p[i].x), Y = xf_y(t, p[i].y);
      if (X < t->px0 - 4 || X > t->px0 + t->pw + 4)
        continue;
      cairo_new_sub_path(cr);
      cairo_arc(cr, X, Y, 3.0, 0, 2 * G_PI);
    }
    set_source(cr, color, 1.0);
    cairo_fill(cr);
  }
  g_array_unref(line);
}

static void
draw_scatter_series(cairo_t *cr, Series *s, const Xform *t, const GdkRGBA *color, int scale)
{
  const Point *p = (const Point *)s->points->data;
  gsize lo, hi;
  visible_span(s, t, &lo, &hi);
  if (hi <= lo)
    return;

  if (hi - lo <= CAIRO_MAX_MARKERS) {
    cairo_new_path(cr);
    for (gsize i = lo; i < hi; i++) {
      if (!isfinite(p[i].x) || !isfinite(p[i].y))
        continue;
      double X = xf_x(t, p[i].x), Y = xf_y(t, p[i].y);
      if (X < t->px0 - 4 || X > t->px0 + t->pw + 4 || Y < t->py0 - 4 || Y > t->py0 + t->ph + 4)
        continue;
      cairo_new_sub_path(cr);
      cairo_arc(cr, X, Y, 3.5, 0, 2 * G_PI);
    }
    set_source(cr, color, 0.85);
    cairo_fill(cr);
    return;
  }

  /* Dense clouds: small antialiased dots blended straight into an image. */
  Raster r;
  if (!raster_begin(&r, t, scale, color, 0.7))
    return;
  double rad = 1.7 * r.scale;
  int R = (int)ceil(rad);
  int side = 2 * R + 1;
  guint8 *mask = g_alloca(side * side);
  for (int dy = -R; dy <= R; dy++)
    for (int dx = -R; dx <= R; dx++)
      mask[(dy + R) * side + dx + R] = (guint8)(CLAMP(rad + 0.5 - sqrt(dx * dx + dy * dy), 0, 1) * 255);
  double k = r.scale;
  for (gsize i = lo; i < hi; i++) {
    if (!isfinite(p[i].x) || !isfinite(p[i].y))
      continue;
    double X = (xf_x(t, p[i].x) - r.ox) * k, Y = (xf_y(t, p[i].y) - r.oy) * k;
    if (X < -R || Y < -R || X > r.w + R || Y > r.h + R)
      continue;
    int cx = (int)floor(X), cy = (int)floor(Y);
    for (int dy = -R; dy <= R; dy++)
      for (int dx = -R; dx <= R; dx++) {
        guint8 m = mask[(dy + R) * side + dx + R];
        if (m)
          raster_blend(&r, cx + dx, cy + dy, m);
      }
  }
  raster_end(&r, cr);
}

static PangoLayout *
make_layout(GtkWidget *widget, const char *text, double scale, gboolean bold)
{
  PangoLayout *layout = gtk_widget_create_pango_layout(widget, text);
  PangoAttrList *attrs = pango_attr_list_new();
  if (scale != 1.0)
    pango_attr_list_insert(attrs, pango_attr_scale_new(scale));
  if (bold)
    pango_attr_list_insert(attrs, pango_attr_weight_new(PANGO_WEIGHT_BOLD));
  pango_attr_list_insert(attrs, pango_attr_font_features_new("tnum=1"));
  pango_layout_set_attributes(layout, attrs);
  pango_attr_list_unref(attrs);
  return layout;
}

static void
layout_size(PangoLayout *layout, double *w, double *h)
{
  int iw, ih;
  pango_layout_get_pixel_size(layout, &iw, &ih);
  *w = iw;
  *h = ih;
}

static void
rounded_rect(cairo_t *cr, double x, double y, double w, double h, double r)
{
  cairo_new_sub_path(cr);
  cairo_arc(cr, x + w - r, y + r, r, -G_PI / 2, 0);
  cairo_arc(cr, x + w - r, y + h - r, r, 0, G_PI / 2);
  cairo_arc(cr, x + r, y + h - r, r, G_PI / 2, G_PI);
  cairo_arc(cr, x + r, y + r, r, G_PI, 3 * G_PI / 2);
  cairo_close_path(cr);
}

static void
draw_tooltip(FrontierChart *self, cairo_t *cr, int width, int height, const Xform *t)
{
  Series *s = g_ptr_array_index(self->series, self->hover_series);
  const Point *p = &g_array_index(s->points, Point, self->hover_index);
  char xs[64], ys[64];
  format_value(xs, sizeof xs, p->x, self->x_integer);
  format_value(ys, sizeof ys, p->y, FALSE);
  char *name = g_markup_escape_text(s->name ? s->name : "", -1);
  char *xl = g_markup_escape_text(self->x_label ? self->x_label : "x", -1);
  char *yl = g_markup_escape_text(self->y_label ? self->y_label : "y", -1);
  char *markup = g_strdup_printf("<b>%s</b>\n%s: %s\n%s: %s", name, xl, xs, yl, ys);

  PangoLayout *layout = make_layout(GTK_WIDGET(self), NULL, 0.9, FALSE);
  pango_layout_set_markup(layout, markup, -1);
  double tw, th;
  layout_size(layout, &tw, &th);
  double bw = tw + 16, bh = th + 10;
  double X = xf_x(t, p->x), Y = xf_y(t, p->y);
  double bx = X + 14, by = Y - bh - 10;
  if (bx + bw > width - 2)
    bx = X - 14 - bw;
  if (by < 2)
    by = Y + 14;
  bx = CLAMP(bx, 2, MAX(2, width - bw - 2));
  by = CLAMP(by, 2, MAX(2, height - bh - 2));

  rounded_rect(cr, bx, by, bw, bh, 6);
  cairo_set_source_rgba(cr, 0, 0, 0, 0.8);
  cairo_fill(cr);
  cairo_set_source_rgba(cr, 1, 1, 1, 1);
  cairo_move_to(cr, bx + 8, by + 5);
  pango_cairo_show_layout(cr, layout);

  g_object_unref(layout);
  g_free(markup);
  g_free(name);
  g_free(xl);
  g_free(yl);
}

static void
draw_point_marker(cairo_t *cr, const Xform *t, const Point *p, const GdkRGBA *color, const GdkRGBA *ring,
                  double r)
{
  if (!isfinite(p->x) || !isfinite(p->y))
    return;
  double X = xf_x(t, p->x), Y = xf_y(t, p->y);
  cairo_new_path(cr);
  cairo_arc(cr, X, Y, r + 2, 0, 2 * G_PI);
  set_source(cr, ring, 1.0);
  cairo_fill(cr);
  cairo_arc(cr, X, Y, r, 0, 2 * G_PI);
  set_source(cr, color, 1.0);
  cairo_fill(cr);
}

static void
frontier_chart_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierChart *self = FRONTIER_CHART(widget);
  int width = gtk_widget_get_width(widget);
  int height = gtk_widget_get_height(widget);
  if (width < 60 || height < 60) {
    self->have_plot = FALSE;
    return;
  }

  GdkRGBA fg;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color(gtk_widget_get_style_context(widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  gboolean dark = adw_style_manager_get_dark(adw_style_manager_get_default());
  GdkRGBA ring;
  if (dark)
    gdk_rgba_parse(&ring, "#303030");
  else
    gdk_rgba_parse(&ring, "#ffffff");

  int scale = gtk_widget_get_scale_factor(widget);
  cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, width, height));

  /* Header: title on the left, legend on the right (or on its own row when it does not fit). */
  PangoLayout *small = make_layout(widget, "0", 0.83, FALSE);
  pango_cairo_update_layout(cr, small);
  double sw, sh;
  layout_size(small, &sw, &sh);

  double title_w = 0, title_h = 0;
  PangoLayout *title = NULL;
  if (self->title && *self->title) {
    title = make_layout(widget, self->title, 1.0, TRUE);
    pango_layout_set_ellipsize(title, PANGO_ELLIPSIZE_END);
    pango_layout_set_width(title, (int)((width - 2 * PAD) * PANGO_SCALE));
    layout_size(title, &title_w, &title_h);
  }

  double legend_w = 0;
  for (guint i = 0; i < self->series->len; i++) {
    Series *s = g_ptr_array_index(self->series, i);
    double w, h;
    pango_layout_set_text(small, s->name ? s->name : "", -1);
    layout_size(small, &w, &h);
    legend_w += (i ? 16 : 0) + 18 + 6 + w;
  }
  gboolean legend_same_row = title == NULL || title_w + 24 + legend_w <= width - 2 * PAD;
  double header_h = 0;
  if (title)
    header_h = title_h;
  if (self->series->len > 0)
    header_h = legend_same_row ? MAX(header_h, sh) : header_h + 4 + sh;

  if (title) {
    set_source(cr, &fg, 0.9);
    cairo_move_to(cr, PAD, PAD);
    pango_cairo_show_layout(cr, title);
  }
  if (self->series->len > 0) {
    double lx = legend_same_row ? width - PAD - legend_w : PAD;
    double ly = legend_same_row ? PAD + (header_h - sh) / 2 : PAD + title_h + 4;
    if (lx < PAD)
      lx = PAD;
    for (guint i = 0; i < self->series->len; i++) {
      Series *s = g_ptr_array_index(self->series, i);
      GdkRGBA c = series_color(s, dark);
      set_source(cr, &c, 1.0);
      if (s->style == FRONTIER_CHART_SCATTER) {
        cairo_arc(cr, lx + 9, ly + sh / 2, 4, 0, 2 * G_PI);
        cairo_fill(cr);
      } else {
        rounded_rect(cr, lx, ly + sh / 2 - 1.5, 18, 3, 1.5);
        cairo_fill(cr);
      }
      lx += 24;
      pango_layout_set_text(small, s->name ? s->name : "", -1);
      double w, h;
      layout_size(small, &w, &h);
      set_source(cr, &fg, 0.75);
      cairo_move_to(cr, lx, ly);
      pango_cairo_show_layout(cr, small);
      lx += w + 16;
    }
  }

  gboolean any_points = FALSE;
  for (guint i = 0; i < self->series->len && !any_points; i++)
    any_points = ((Series *)g_ptr_array_index(self->series, i))->points->len > 0;

  /* Plot rectangle, vertically first (it does not depend on the y tick labels' width). */
  double top = PAD + (header_h > 0 ? header_h + 12 : sh / 2);
  double bottom = PAD + sh + 6 + (self->x_label && *self->x_label ? sh + 6 : 0);
  double ph = height - top - bottom;
  if (ph < 20) {
    self->have_plot = FALSE;
    goto out;
  }

  double x0, x1, y0, y1;
  gboolean scatter_only = FALSE;
  if (self->user_view) {
    x0 = self->vx0;
    x1 = self->vx1;
    y0 = self->vy0;
    y1 = self->vy1;
  } else {
    auto_range(self, &x0, &x1, &y0, &y1, &scatter_only);
  }

  /* Y ticks; an automatic range snaps outwards to whole ticks so it moves in calm steps. */
  int ny = MAX(2, (int)(ph / (sh * 2.6)));
  double ystep = nice_step((y1 - y0) / ny);
  if (!self->user_view) {
    if (!isfinite(self->fix_y0))
      y0 = floor(y0 / ystep + 1e-9) * ystep;
    if (!isfinite(self->fix_y1))
      y1 = ceil(y1 / ystep - 1e-9) * ystep;
    ystep = nice_step((y1 - y0) / ny);
  }

  char buf[64];
  double ytick_w = 0;
  double yfirst = ceil(y0 / ystep - 1e-9) * ystep;
  for (int k = 0; k < 200; k++) {
    double v = yfirst + k * ystep;
    if (v > y1 + ystep * 1e-9)
      break;
    format_tick(buf, sizeof buf, v, ystep);
    double w, h;
    pango_layout_set_text(small, buf, -1);
    layout_size(small, &w, &h);
    ytick_w = MAX(ytick_w, w);
  }
  gboolean have_ylabel = self->y_label && *self->y_label;
  double left = PAD + (have_ylabel ? sh + 8 : 0) + ytick_w + 8;
  double right = PAD + 14;
  double pw = width - left - right;
  if (pw < 20) {
    self->have_plot = FALSE;
    goto out;
  }

  Xform t = { left, top, pw, ph, x0, x1, y0, y1, pw / (x1 - x0), ph / (y1 - y0) };
  self->have_plot = TRUE;
  self->px0 = left;
  self->py0 = top;
  self->pw = pw;
  self->ph = ph;
  self->dx0 = x0;
  self->dx1 = x1;
  self->dy0 = y0;
  self->dy1 = y1;

  /* Grid and y tick labels. */
  cairo_set_line_width(cr, 1.0);
  for (int k = 0; k < 200; k++) {
    double v = yfirst + k * ystep;
    if (v > y1 + ystep * 1e-9)
      break;
    double Y = round(xf_y(&t, v)) + 0.5;
    set_source(cr, &fg, 0.08);
    cairo_move_to(cr, left, Y);
    cairo_line_to(cr, left + pw, Y);
    cairo_stroke(cr);
    if (!any_points)
      continue;
    format_tick(buf, sizeof buf, v, ystep);
    double w, h;
    pango_layout_set_text(small, buf, -1);
    layout_size(small, &w, &h);
    set_source(cr, &fg, 0.6);
    cairo_move_to(cr, left - 8 - w, Y - h / 2);
    pango_cairo_show_layout(cr, small);
  }

  /* X ticks: as many as fit, each label centred under its tick. */
  double xstep;
  {
    pango_layout_set_text(small, "000.00", -1);
    double w, h;
    layout_size(small, &w, &h);
    int nx = MAX(2, (int)(pw / (w + 28)));
    xstep = nice_step((x1 - x0) / nx);
    if (self->x_integer && xstep < 1)
      xstep = 1;
  }
  double xfirst = ceil(x0 / xstep - 1e-9) * xstep;
  double last_label_end = -INFINITY;
  for (int k = 0; k < 400; k++) {
    double v = xfirst + k * xstep;
    if (v > x1 + xstep * 1e-9)
      break;
    double X = round(xf_x(&t, v)) + 0.5;
    set_source(cr, &fg, 0.08);
    cairo_move_to(cr, X, top);
    cairo_line_to(cr, X, top + ph);
    cairo_stroke(cr);
    set_source(cr, &fg, 0.35);
    cairo_move_to(cr, X, top + ph);
    cairo_line_to(cr, X, top + ph + 4);
    cairo_stroke(cr);
    if (!any_points)
      continue;
    format_tick(buf, sizeof buf, v, xstep);
    double w, h;
    pango_layout_set_text(small, buf, -1);
    layout_size(small, &w, &h);
    double lx = CLAMP(X - w / 2, 2, width - w - 2);
    if (lx < last_label_end + 8)
      continue;
    last_label_end = lx + w;
    set_source(cr, &fg, 0.6);
    cairo_move_to(cr, lx, top + ph + 6);
    pango_cairo_show_layout(cr, small);
  }

  /* Axes. */
  set_source(cr, &fg, 0.35);
  cairo_move_to(cr, left + 0.5, top);
  cairo_line_to(cr, left + 0.5, top + ph + 0.5);
  cairo_line_to(cr, left + pw, top + ph + 0.5);
  cairo_stroke(cr);

  /* Axis titles. */
  if (self->x_label && *self->x_label) {
    pango_layout_set_text(small, self->x_label, -1);
    double w, h;
    layout_size(small, &w, &h);
    set_source(cr, &fg, 0.75);
    cairo_move_to(cr, left + (pw - w) / 2, top + ph + 6 + sh + 6);
    pango_cairo_show_layout(cr, small);
  }
  if (have_ylabel) {
    pango_layout_set_text(small, self->y_label, -1);
    double w, h;
    layout_size(small, &w, &h);
    cairo_save(cr);
    cairo_translate(cr, PAD, top + (ph + w) / 2);
    cairo_rotate(cr, -G_PI / 2);
    set_source(cr, &fg, 0.75);
    cairo_move_to(cr, 0, 0);
    pango_cairo_update_layout(cr, small);
    pango_cairo_show_layout(cr, small);
    cairo_restore(cr);
    pango_cairo_update_layout(cr, small);
  }

  /* Series, clipped to the plot. */
  cairo_save(cr);
  /* Following the data, leave room for markers on the edges; zoomed in, cut at the axes. */
  double slack = self->user_view ? 0 : 4;
  cairo_rectangle(cr, left - slack, top - slack, pw + 2 * slack, ph + 2 * slack);
  cairo_clip(cr);
  cairo_set_line_width(cr, 2.0);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  for (guint i = 0; i < self->series->len; i++) {
    Series *s = g_ptr_array_index(self->series, i);
    if (s->points->len == 0)
      continue;
    GdkRGBA c = series_color(s, dark);
    if (s->style == FRONTIER_CHART_SCATTER)
      draw_scatter_series(cr, s, &t, &c, scale);
    else
      draw_line_series(cr, s, &t, &c, scale, s->style == FRONTIER_CHART_LINE_MARKERS);
  }

  /* Highlighted point (e.g. a selected candidate). */
  if (self->hl_series >= 0 && (guint)self->hl_series < self->series->len) {
    Series *s = g_ptr_array_index(self->series, self->hl_series);
    if (self->hl_index >= 0 && (gsize)self->hl_index < s->points->len) {
      const Point *p = &g_array_index(s->points, Point, self->hl_index);
      GdkRGBA c = series_color(s, dark);
      if (isfinite(p->x) && isfinite(p->y)) {
        cairo_new_path(cr);
        cairo_set_line_width(cr, 2.0);
        set_source(cr, &c, 1.0);
        cairo_arc(cr, xf_x(&t, p->x), xf_y(&t, p->y), 8, 0, 2 * G_PI);
        cairo_stroke(cr);
      }
    }
  }

  /* Hovered point: a guide line and a marker. */
  gboolean hover = self->hover_series >= 0 && (guint)self->hover_series < self->series->len &&
                   self->hover_index >= 0 &&
                   (gsize)self->hover_index <
                     ((Series *)g_ptr_array_index(self->series, self->hover_series))->points->len;
  if (hover) {
    Series *s = g_ptr_array_index(self->series, self->hover_series);
    const Point *p = &g_array_index(s->points, Point, self->hover_index);
    GdkRGBA c = series_color(s, dark);
    double X = round(xf_x(&t, p->x)) + 0.5;
    static const double dash[] = { 3, 3 };
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_line_width(cr, 1.0);
    set_source(cr, &fg, 0.35);
    cairo_move_to(cr, X, top);
    cairo_line_to(cr, X, top + ph);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    draw_point_marker(cr, &t, p, &c, &ring, 5);
  }
  cairo_restore(cr);

  if (!any_points) {
    PangoLayout *empty = make_layout(widget, "No data yet", 1.0, FALSE);
    double w, h;
    layout_size(empty, &w, &h);
    set_source(cr, &fg, 0.45);
    cairo_move_to(cr, left + (pw - w) / 2, top + (ph - h) / 2);
    pango_cairo_show_layout(cr, empty);
    g_object_unref(empty);
  }

  if (hover)
    draw_tooltip(self, cr, width, height, &t);

out:
  g_clear_object(&title);
  g_object_unref(small);
  cairo_destroy(cr);
}

/* ---------------------------------------------------------------------------------------------
 * Accessibility: a short summary of what the chart shows, refreshed at most once a second.
 * ------------------------------------------------------------------------------------------- */

static gboolean
update_a11y_cb(gpointer data)
{
  FrontierChart *self = data;
  GString *str = g_string_new(NULL);
  if (self->series->len == 0)
    g_string_append(str, "No series");
  for (guint i = 0; i < self->series->len; i++) {
    Series *s = g_ptr_array_index(self->series, i);
    if (i)
      g_string_append(str, "; ");
    g_string_append_printf(str, "%s: %u points", s->name ? s->name : "series", s->points->len);
    if (s->points->len) {
      const Point *p = &g_array_index(s->points, Point, s->points->len - 1);
      g_string_append_printf(str, ", last (%g, %g)", p->x, p->y);
    }
  }
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, str->str, -1);
  g_string_free(str, TRUE);
  self->a11y_source = 0;
  return G_SOURCE_REMOVE;
}

static void
data_changed(FrontierChart *self)
{
  if (self->a11y_source == 0)
    self->a11y_source = g_timeout_add_seconds(1, update_a11y_cb, self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

/* ---------------------------------------------------------------------------------------------
 * Interaction
 * ------------------------------------------------------------------------------------------- */

static void
ensure_user_view(FrontierChart *self)
{
  if (self->user_view || !self->have_plot)
    return;
  self->user_view = TRUE;
  self->vx0 = self->dx0;
  self->vx1 = self->dx1;
  self->vy0 = self->dy0;
  self->vy1 = self->dy1;
}

static void
zoom_span(double *a, double *b, double center, double factor)
{
  double na = center - (center - *a) * factor;
  double nb = center + (*b - center) * factor;
  double scale = MAX(1.0, MAX(fabs(na), fabs(nb)));
  if (nb - na < MIN_SPAN * 100 * scale || nb - na > 1e15 || !isfinite(na) || !isfinite(nb))
    return;
  *a = na;
  *b = nb;
}

/* Zooms the view by fx, fy (<1: in) around widget point (cx, cy), starting from view v. */
static void
zoom_from(FrontierChart *self, const double v[4], double cx, double cy, double fx, double fy)
{
  if (!self->have_plot)
    return;
  double dcx = v[0] + (cx - self->px0) / self->pw * (v[1] - v[0]);
  double dcy = v[2] + (self->py0 + self->ph - cy) / self->ph * (v[3] - v[2]);
  double x0 = v[0], x1 = v[1], y0 = v[2], y1 = v[3];
  zoom_span(&x0, &x1, dcx, fx);
  zoom_span(&y0, &y1, dcy, fy);
  self->user_view = TRUE;
  self->vx0 = x0;
  self->vx1 = x1;
  self->vy0 = y0;
  self->vy1 = y1;
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
zoom_at(FrontierChart *self, double cx, double cy, double fx, double fy)
{
  if (!self->have_plot)
    return;
  ensure_user_view(self);
  double v[4] = { self->vx0, self->vx1, self->vy0, self->vy1 };
  zoom_from(self, v, cx, cy, fx, fy);
}

static gboolean
find_nearest(FrontierChart *self, double mx, double my, int *out_series, gssize *out_index)
{
  if (!self->have_plot)
    return FALSE;
  if (mx < self->px0 - HOVER_RADIUS || mx > self->px0 + self->pw + HOVER_RADIUS ||
      my < self->py0 - HOVER_RADIUS || my > self->py0 + self->ph + HOVER_RADIUS)
    return FALSE;
  Xform t = last_xform(self);
  double best = HOVER_RADIUS * HOVER_RADIUS;
  int bs = -1;
  gssize bi = -1;

  for (guint si = 0; si < self->series->len; si++) {
    Series *s = g_ptr_array_index(self->series, si);
    const Point *p = (const Point *)s->points->data;
    gsize n = s->points->len;
    if (n == 0)
      continue;
#define CONSIDER(i)                                                            \
    G_STMT_START {                                                             \
      if (isfinite(p[i].y) && isfinite(p[i].x)) {                              \
        double ddx = xf_x(&t, p[i].x) - mx, ddy = xf_y(&t, p[i].y) - my;       \
        double d2 = ddx * ddx + ddy * ddy;                                     \
        if (d2 < best) {                                                       \
          best = d2;                                                           \
          bs = (int)si;                                                        \
          bi = (gssize)(i);                                                    \
        }                                                                      \
      }                                                                        \
    } G_STMT_END
    if (s->sorted) {
      double xd = t.x0 + (mx - t.px0) / t.sx;
      gsize mid = lower_bound(p, n, xd);
      for (gsize i = mid; i < n; i++) {
        double ddx = xf_x(&t, p[i].x) - mx;
        if (ddx * ddx > best)
          break;
        CONSIDER(i);
      }
      for (gsize i = mid; i-- > 0;) {
        double ddx = mx - xf_x(&t, p[i].x);
        if (ddx * ddx > best)
          break;
        CONSIDER(i);
      }
    } else {
      for (gsize i = 0; i < n; i++)
        CONSIDER(i);
    }
#undef CONSIDER
  }
  *out_series = bs;
  *out_index = bi;
  return bs >= 0;
}

static void
update_hover(FrontierChart *self)
{
  int s = -1;
  gssize i = -1;
  if (self->pointer_inside && !self->dragged)
    find_nearest(self, self->pointer_x, self->pointer_y, &s, &i);
  if (s != self->hover_series || i != self->hover_index) {
    self->hover_series = s;
    self->hover_index = i;
    gtk_widget_queue_draw(GTK_WIDGET(self));
  }
}

static void
motion_cb(GtkEventControllerMotion *motion, double x, double y, FrontierChart *self)
{
  self->pointer_inside = TRUE;
  self->pointer_x = x;
  self->pointer_y = y;
  update_hover(self);
}

static void
leave_cb(GtkEventControllerMotion *motion, FrontierChart *self)
{
  self->pointer_inside = FALSE;
  update_hover(self);
}

static gboolean
scroll_cb(GtkEventControllerScroll *scroll, double dx, double dy, FrontierChart *self)
{
  if (!self->have_plot || dy == 0)
    return FALSE;
  /* Only the plot itself zooms: scrolling over the title, legend or axes scrolls the page. */
  if (!self->pointer_inside || self->pointer_x < self->px0 || self->pointer_x > self->px0 + self->pw ||
      self->pointer_y < self->py0 || self->pointer_y > self->py0 + self->ph)
    return FALSE;
  GdkModifierType mods = gtk_event_controller_get_current_event_state(GTK_EVENT_CONTROLLER(scroll));
  double f = pow(1.2, CLAMP(dy, -5, 5));
  double cx = self->pointer_x, cy = self->pointer_y;
  double fx = (mods & GDK_ALT_MASK) ? 1.0 : f;
  double fy = (mods & GDK_SHIFT_MASK) ? 1.0 : f;
  zoom_at(self, cx, cy, fx, fy);
  update_hover(self);
  return TRUE;
}

static void
drag_begin_cb(GtkGestureDrag *drag, double x, double y, FrontierChart *self)
{
  self->drag_active = self->have_plot;
  self->dragged = FALSE;
  if (!self->have_plot)
    return;
  if (self->user_view) {
    self->drag_v[0] = self->vx0;
    self->drag_v[1] = self->vx1;
    self->drag_v[2] = self->vy0;
    self->drag_v[3] = self->vy1;
  } else {
    self->drag_v[0] = self->dx0;
    self->drag_v[1] = self->dx1;
    self->drag_v[2] = self->dy0;
    self->drag_v[3] = self->dy1;
  }
}

static void
drag_update_cb(GtkGestureDrag *drag, double ox, double oy, FrontierChart *self)
{
  if (!self->drag_active)
    return;
  if (!self->dragged && hypot(ox, oy) < 4)
    return;
  if (!self->dragged) {
    self->dragged = TRUE;
    gtk_widget_set_cursor_from_name(GTK_WIDGET(self), "grabbing");
    gtk_gesture_set_state(GTK_GESTURE(drag), GTK_EVENT_SEQUENCE_CLAIMED);
  }
  double ux = (self->drag_v[1] - self->drag_v[0]) / self->pw;
  double uy = (self->drag_v[3] - self->drag_v[2]) / self->ph;
  self->user_view = TRUE;
  self->vx0 = self->drag_v[0] - ox * ux;
  self->vx1 = self->drag_v[1] - ox * ux;
  self->vy0 = self->drag_v[2] + oy * uy;
  self->vy1 = self->drag_v[3] + oy * uy;
  self->hover_series = -1;
  self->hover_index = -1;
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
drag_end_cb(GtkGestureDrag *drag, double ox, double oy, FrontierChart *self)
{
  self->drag_active = FALSE;
  if (self->dragged)
    gtk_widget_set_cursor(GTK_WIDGET(self), NULL);
  /* Reset on the next press; released handlers still need to know a drag happened. */
}

static void
click_pressed_cb(GtkGestureClick *click, int n_press, double x, double y, FrontierChart *self)
{
  if (gtk_widget_get_focusable(GTK_WIDGET(self)))
    gtk_widget_grab_focus(GTK_WIDGET(self));
  if (n_press == 2)
    frontier_chart_reset_view(self);
}

static void
click_released_cb(GtkGestureClick *click, int n_press, double x, double y, FrontierChart *self)
{
  if (n_press != 1 || self->dragged)
    return;
  int s;
  gssize i;
  if (find_nearest(self, x, y, &s, &i))
    g_signal_emit(self, signals[POINT_ACTIVATED], 0, (guint)s, (guint)i);
}

static void
pinch_begin_cb(GtkGesture *gesture, GdkEventSequence *sequence, FrontierChart *self)
{
  if (!self->have_plot)
    return;
  ensure_user_view(self);
  self->pinch_v[0] = self->vx0;
  self->pinch_v[1] = self->vx1;
  self->pinch_v[2] = self->vy0;
  self->pinch_v[3] = self->vy1;
  if (!gtk_gesture_get_bounding_box_center(gesture, &self->pinch_cx, &self->pinch_cy)) {
    self->pinch_cx = self->px0 + self->pw / 2;
    self->pinch_cy = self->py0 + self->ph / 2;
  }
}

static void
pinch_scale_cb(GtkGestureZoom *gesture, double scale, FrontierChart *self)
{
  if (!self->have_plot || scale <= 0)
    return;
  zoom_from(self, self->pinch_v, self->pinch_cx, self->pinch_cy, 1.0 / scale, 1.0 / scale);
}

static void
action_reset_view(GtkWidget *widget, const char *action, GVariant *param)
{
  frontier_chart_reset_view(FRONTIER_CHART(widget));
}

static void
action_zoom(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierChart *self = FRONTIER_CHART(widget);
  double f = g_str_equal(action, "chart.zoom-in") ? 1 / 1.25 : 1.25;
  zoom_at(self, self->px0 + self->pw / 2, self->py0 + self->ph / 2, f, f);
}

static gboolean
pan_binding(GtkWidget *widget, GVariant *args, gpointer user_data)
{
  FrontierChart *self = FRONTIER_CHART(widget);
  if (!self->have_plot)
    return FALSE;
  double fx, fy;
  g_variant_get(args, "(dd)", &fx, &fy);
  ensure_user_view(self);
  double dx = (self->vx1 - self->vx0) * fx, dy = (self->vy1 - self->vy0) * fy;
  self->vx0 += dx;
  self->vx1 += dx;
  self->vy0 += dy;
  self->vy1 += dy;
  gtk_widget_queue_draw(widget);
  return TRUE;
}

/* ---------------------------------------------------------------------------------------------
 * GObject
 * ------------------------------------------------------------------------------------------- */

static void
frontier_chart_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                       int *natural, int *minimum_baseline, int *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = 200;
    *natural = 480;
  } else {
    *minimum = 160;
    *natural = 280;
  }
}

static void
frontier_chart_css_changed(GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS(frontier_chart_parent_class)->css_changed(widget, change);
  gtk_widget_queue_draw(widget);
}

static void
dark_changed_cb(AdwStyleManager *manager, GParamSpec *pspec, FrontierChart *self)
{
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
frontier_chart_dispose(GObject *object)
{
  FrontierChart *self = FRONTIER_CHART(object);
  g_clear_handle_id(&self->a11y_source, g_source_remove);
  g_signal_handlers_disconnect_by_func(adw_style_manager_get_default(), dark_changed_cb, self);
  G_OBJECT_CLASS(frontier_chart_parent_class)->dispose(object);
}

static void
frontier_chart_finalize(GObject *object)
{
  FrontierChart *self = FRONTIER_CHART(object);
  g_free(self->title);
  g_free(self->x_label);
  g_free(self->y_label);
  g_ptr_array_unref(self->series);
  G_OBJECT_CLASS(frontier_chart_parent_class)->finalize(object);
}

static void
frontier_chart_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  FrontierChart *self = FRONTIER_CHART(object);
  switch (prop_id) {
  case PROP_TITLE:
    g_value_set_string(value, self->title);
    break;
  case PROP_X_LABEL:
    g_value_set_string(value, self->x_label);
    break;
  case PROP_Y_LABEL:
    g_value_set_string(value, self->y_label);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void
frontier_chart_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  FrontierChart *self = FRONTIER_CHART(object);
  switch (prop_id) {
  case PROP_TITLE:
    frontier_chart_set_title(self, g_value_get_string(value));
    break;
  case PROP_X_LABEL:
    frontier_chart_set_x_label(self, g_value_get_string(value));
    break;
  case PROP_Y_LABEL:
    frontier_chart_set_y_label(self, g_value_get_string(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void
frontier_chart_class_init(FrontierChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->dispose = frontier_chart_dispose;
  object_class->finalize = frontier_chart_finalize;
  object_class->get_property = frontier_chart_get_property;
  object_class->set_property = frontier_chart_set_property;

  widget_class->snapshot = frontier_chart_snapshot;
  widget_class->measure = frontier_chart_measure;
  widget_class->css_changed = frontier_chart_css_changed;

  properties[PROP_TITLE] = g_param_spec_string("title", NULL, NULL, NULL,
                                               G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_X_LABEL] = g_param_spec_string("x-label", NULL, NULL, NULL,
                                                 G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_Y_LABEL] = g_param_spec_string("y-label", NULL, NULL, NULL,
                                                 G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(object_class, N_PROPS, properties);

  /**
   * FrontierChart::point-activated:
   * @series: the series' index
   * @index: the point's index in that series
   *
   * The user clicked a point (the one the hover tooltip showed).
   */
  signals[POINT_ACTIVATED] = g_signal_new("point-activated", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                          NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);

  gtk_widget_class_install_action(widget_class, "chart.reset-view", NULL, action_reset_view);
  gtk_widget_class_install_action(widget_class, "chart.zoom-in", NULL, action_zoom);
  gtk_widget_class_install_action(widget_class, "chart.zoom-out", NULL, action_zoom);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Home, 0, "chart.reset-view", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_0, 0, "chart.reset-view", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_plus, 0, "chart.zoom-in", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_equal, 0, "chart.zoom-in", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_KP_Add, 0, "chart.zoom-in", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_minus, 0, "chart.zoom-out", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_KP_Subtract, 0, "chart.zoom-out", NULL);
  gtk_widget_class_add_binding(widget_class, GDK_KEY_Left, 0, pan_binding, "(dd)", -0.1, 0.0);
  gtk_widget_class_add_binding(widget_class, GDK_KEY_Right, 0, pan_binding, "(dd)", 0.1, 0.0);
  gtk_widget_class_add_binding(widget_class, GDK_KEY_Up, 0, pan_binding, "(dd)", 0.0, 0.1);
  gtk_widget_class_add_binding(widget_class, GDK_KEY_Down, 0, pan_binding, "(dd)", 0.0, -0.1);

  gtk_widget_class_set_css_name(widget_class, "chart");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
frontier_chart_init(FrontierChart *self)
{
  GtkWidget *widget = GTK_WIDGET(self);

  self->series = g_ptr_array_new_with_free_func(series_free);
  self->fix_x0 = self->fix_x1 = self->fix_y0 = self->fix_y1 = NAN;
  self->hover_series = self->hl_series = -1;
  self->hover_index = self->hl_index = -1;

  gtk_widget_set_focusable(widget, TRUE);
  gtk_widget_set_overflow(widget, GTK_OVERFLOW_HIDDEN);

  GtkEventController *motion = gtk_event_controller_motion_new();
  g_signal_connect(motion, "motion", G_CALLBACK(motion_cb), self);
  g_signal_connect(motion, "enter", G_CALLBACK(motion_cb), self);
  g_signal_connect(motion, "leave", G_CALLBACK(leave_cb), self);
  gtk_widget_add_controller(widget, motion);

  GtkEventController *scroll = gtk_event_controller_scroll_new(GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect(scroll, "scroll", G_CALLBACK(scroll_cb), self);
  gtk_widget_add_controller(widget, scroll);

  GtkGesture *drag = gtk_gesture_drag_new();
  g_signal_connect(drag, "drag-begin", G_CALLBACK(drag_begin_cb), self);
  g_signal_connect(drag, "drag-update", G_CALLBACK(drag_update_cb), self);
  g_signal_connect(drag, "drag-end", G_CALLBACK(drag_end_cb), self);
  gtk_widget_add_controller(widget, GTK_EVENT_CONTROLLER(drag));

  GtkGesture *click = gtk_gesture_click_new();
  g_signal_connect(click, "pressed", G_CALLBACK(click_pressed_cb), self);
  g_signal_connect(click, "released", G_CALLBACK(click_released_cb), self);
  gtk_widget_add_controller(widget, GTK_EVENT_CONTROLLER(click));

  GtkGesture *pinch = gtk_gesture_zoom_new();
  g_signal_connect(pinch, "begin", G_CALLBACK(pinch_begin_cb), self);
  g_signal_connect(pinch, "scale-changed", G_CALLBACK(pinch_scale_cb), self);
  gtk_widget_add_controller(widget, GTK_EVENT_CONTROLLER(pinch));

  g_signal_connect(adw_style_manager_get_default(), "notify::dark", G_CALLBACK(dark_changed_cb), self);

  gtk_accessible_update_property(GTK_ACCESSIBLE(self),
                                 GTK_ACCESSIBLE_PROPERTY_LABEL, "Chart",
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, "No series",
                                 -1);
}

/* ---------------------------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------------------------- */

GtkWidget *
frontier_chart_new(void)
{
  return g_object_new(FRONTIER_TYPE_CHART, NULL);
}

static void
set_string(FrontierChart *self, char **field, const char *value, int prop)
{
  if (g_strcmp0(*field, value) == 0)
    return;
  g_free(*field);
  *field = g_strdup(value);
  g_object_notify_by_pspec(G_OBJECT(self), properties[prop]);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_chart_set_title(FrontierChart *self, const char *title)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  set_string(self, &self->title, title, PROP_TITLE);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 title && *title ? title : "Chart", -1);
}

const char *
frontier_chart_get_title(FrontierChart *self)
{
  g_return_val_if_fail(FRONTIER_IS_CHART(self), NULL);
  return self->title;
}

void
frontier_chart_set_x_label(FrontierChart *self, const char *label)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  set_string(self, &self->x_label, label, PROP_X_LABEL);
}

const char *
frontier_chart_get_x_label(FrontierChart *self)
{
  g_return_val_if_fail(FRONTIER_IS_CHART(self), NULL);
  return self->x_label;
}

void
frontier_chart_set_y_label(FrontierChart *self, const char *label)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  set_string(self, &self->y_label, label, PROP_Y_LABEL);
}

const char *
frontier_chart_get_y_label(FrontierChart *self)
{
  g_return_val_if_fail(FRONTIER_IS_CHART(self), NULL);
  return self->y_label;
}

void
frontier_chart_set_x_range(FrontierChart *self, double min, double max)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  self->fix_x0 = min;
  self->fix_x1 = max;
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_chart_set_y_range(FrontierChart *self, double min, double max)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  self->fix_y0 = min;
  self->fix_y1 = max;
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_chart_set_x_integer(FrontierChart *self, gboolean integer)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  self->x_integer = !!integer;
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

guint
frontier_chart_add_series(FrontierChart *self, const char *name, FrontierChartStyle style, const GdkRGBA *color)
{
  g_return_val_if_fail(FRONTIER_IS_CHART(self), 0);
  Series *s = g_new0(Series, 1);
  s->name = g_strdup(name);
  s->style = style;
  s->points = g_array_new(FALSE, FALSE, sizeof(Point));
  if (color) {
    s->color = *color;
    s->has_color = TRUE;
  } else {
    s->palette_index = self->next_palette++;
  }
  series_reset_bounds(s);
  g_ptr_array_add(self->series, s);
  data_changed(self);
  return self->series->len - 1;
}

guint
frontier_chart_get_n_series(FrontierChart *self)
{
  g_return_val_if_fail(FRONTIER_IS_CHART(self), 0);
  return self->series->len;
}

void
frontier_chart_remove_all_series(FrontierChart *self)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  g_ptr_array_set_size(self->series, 0);
  self->next_palette = 0;
  self->hover_series = self->hl_series = -1;
  self->hover_index = self->hl_index = -1;
  data_changed(self);
}

static inline void
series_add(Series *s, double x, double y)
{
  Point p = { x, y };
  if (s->sorted) {
    if (!isfinite(x))
      s->sorted = FALSE;
    else if (s->points->len > 0) {
      const Point *last = &g_array_index(s->points, Point, s->points->len - 1);
      if (x < last->x)
        s->sorted = FALSE;
    }
  }
  g_array_append_val(s->points, p);
  if (isfinite(x) && isfinite(y)) {
    s->xmin = MIN(s->xmin, x);
    s->xmax = MAX(s->xmax, x);
    s->ymin = MIN(s->ymin, y);
    s->ymax = MAX(s->ymax, y);
  }
}

void
frontier_chart_append(FrontierChart *self, guint series, double x, double y)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  Series *s = get_series(self, series);
  if (!s)
    return;
  series_add(s, x, y);
  data_changed(self);
}

void
frontier_chart_append_many(FrontierChart *self, guint series, const double *x, const double *y, gsize n)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  g_return_if_fail(n == 0 || (x != NULL && y != NULL));
  Series *s = get_series(self, series);
  if (!s || n == 0)
    return;
  for (gsize i = 0; i < n; i++)
    series_add(s, x[i], y[i]);
  data_changed(self);
}

gsize
frontier_chart_get_n_points(FrontierChart *self, guint series)
{
  g_return_val_if_fail(FRONTIER_IS_CHART(self), 0);
  Series *s = get_series(self, series);
  return s ? s->points->len : 0;
}

gboolean
frontier_chart_get_point(FrontierChart *self, guint series, gsize index, double *x, double *y)
{
  g_return_val_if_fail(FRONTIER_IS_CHART(self), FALSE);
  Series *s = get_series(self, series);
  if (!s || index >= s->points->len)
    return FALSE;
  const Point *p = &g_array_index(s->points, Point, index);
  if (x)
    *x = p->x;
  if (y)
    *y = p->y;
  return TRUE;
}

void
frontier_chart_clear_series(FrontierChart *self, guint series)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  Series *s = get_series(self, series);
  if (!s)
    return;
  g_array_set_size(s->points, 0);
  series_reset_bounds(s);
  if (self->hover_series == (int)series)
    self->hover_series = -1;
  if (self->hl_series == (int)series)
    self->hl_series = -1;
  data_changed(self);
}

void
frontier_chart_clear(FrontierChart *self)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  for (guint i = 0; i < self->series->len; i++) {
    Series *s = g_ptr_array_index(self->series, i);
    g_array_set_size(s->points, 0);
    series_reset_bounds(s);
  }
  self->hover_series = self->hl_series = -1;
  self->hover_index = self->hl_index = -1;
  self->user_view = FALSE;
  data_changed(self);
}

void
frontier_chart_reset_view(FrontierChart *self)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  self->user_view = FALSE;
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_chart_set_highlight(FrontierChart *self, int series, gssize index)
{
  g_return_if_fail(FRONTIER_IS_CHART(self));
  if (series < 0) {
    series = -1;
    index = -1;
  }
  if (self->hl_series == series && self->hl_index == index)
    return;
  self->hl_series = series;
  self->hl_index = index;
  gtk_widget_queue_draw(GTK_WIDGET(self));
}
