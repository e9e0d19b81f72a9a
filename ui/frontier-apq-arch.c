/* frontier-apq-arch.c: see frontier-apq-arch.h. */
#include <math.h>

#include <adwaita.h>
#include <pango/pangocairo.h>

#include "frontier-apq-arch.h"
#include "frontier-sparch-draw.h"

#define PAD 12.0
#define LABEL_W 78.0
#define GAP 6.0
#define STAGE_H 50.0
#define FIXED_H 30.0
#define LEGEND_H 26.0
#define MAX_BOX_W 150.0

struct _FrontierApqArch {
  GtkWidget parent_instance;

  const FrApqSpace *space;
  FrApqSpec spec;
  gboolean has_spec;
  FrApqSpec reference;
  gboolean has_reference;
  char *placeholder;
  char *label;
};

G_DEFINE_FINAL_TYPE(FrontierApqArch, frontier_apq_arch, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_PLACEHOLDER, PROP_LABEL, N_PROPS };
static GParamSpec *props[N_PROPS];

/* ---- geometry ---- */

typedef struct {
  double width;
  double box_w;
  int max_depth;
} Layout;

static void
layout_init(FrontierApqArch *self, double width, Layout *L)
{
  const FrApqSpace *s = self->space;
  L->width = width;
  L->max_depth = 1;
  for (int st = 0; s != NULL && st < s->n_stages; st++)
    L->max_depth = MAX(L->max_depth, s->stage_max_depth[st]);
  double avail = width - 2 * PAD - LABEL_W - (L->max_depth - 1) * GAP;
  L->box_w = CLAMP(avail / L->max_depth, 24.0, MAX_BOX_W);
}

/* Top of row r: 0 the stem, 1..n_stages the stages, n_stages + 1 the head. */
static double
row_top(const FrApqSpace *s, int r)
{
  double y = PAD;
  for (int i = 0; i < r; i++)
    y += (i == 0 || i == s->n_stages + 1 ? FIXED_H : STAGE_H) + GAP;
  return y;
}

static double
natural_height(const FrApqSpace *s)
{
  if (s == NULL)
    return 200;
  return row_top(s, s->n_stages + 2) - GAP + 8 + LEGEND_H + PAD / 2;
}

static void
block_rect(const FrApqSpace *s, const Layout *L, int b, graphene_rect_t *r)
{
  const FrApqBlock *blk = &s->blocks[b];
  double x = PAD + LABEL_W + blk->pos * (L->box_w + GAP);
  graphene_rect_init(r, (float)x, (float)row_top(s, blk->stage + 1), (float)L->box_w, (float)STAGE_H);
}

static int
mid_index(const FrApqBlock *blk, int mid)
{
  for (int i = 0; i < blk->n_mid; i++)
    if (blk->mid_options[i] == mid)
      return i;
  return -1;
}

static gboolean
block_differs(FrontierApqArch *self, int b)
{
  if (!self->has_reference || !self->has_spec)
    return FALSE;
  const FrApqSpace *s = self->space;
  gboolean a1 = fr_apq_block_active(s, &self->spec, b), a2 = fr_apq_block_active(s, &self->reference, b);
  if (a1 != a2)
    return TRUE;
  if (!a1)
    return FALSE;
  if (self->spec.ks[b] != self->reference.ks[b] || self->spec.mid[b] != self->reference.mid[b] ||
      self->spec.quantized != self->reference.quantized)
    return TRUE;
  for (int q = 0; self->spec.quantized && q < FR_APQ_N_QGROUPS; q++)
    if (self->spec.bits[q][b] != self->reference.bits[q][b])
      return TRUE;
  return FALSE;
}

static int
block_bits(FrontierApqArch *self, int q, int b)
{
  return self->spec.quantized ? self->spec.bits[q][b] : 32;
}

/* ---- text ---- */

static char *
describe_block(FrontierApqArch *self, int b)
{
  const FrApqSpace *s = self->space;
  const FrApqBlock *blk = &s->blocks[b];
  if (!fr_apq_block_active(s, &self->spec, b))
    return g_strdup_printf("Block %d (stage %d, position %d): inactive (stage depth %d)", b + 1, blk->stage + 1,
                           blk->pos + 1, self->spec.depth[blk->stage]);
  g_autofree char *bits = NULL;
  if (self->spec.quantized)
    bits = g_strdup_printf("pointwise W%d/A%d, depthwise W%d/A%d bits", self->spec.bits[FR_APQ_PW_W][b],
                           self->spec.bits[FR_APQ_PW_A][b], self->spec.bits[FR_APQ_DW_W][b],
                           self->spec.bits[FR_APQ_DW_A][b]);
  else
    bits = g_strdup("full precision");
  return g_strdup_printf("Block %d (stage %d, position %d): kernel %d, %d mid channels (of %d–%d), %s; "
                         "%d→%d channels, %d→%d px%s",
                         b + 1, blk->stage + 1, blk->pos + 1, self->spec.ks[b], self->spec.mid[b], blk->mid_options[0],
                         blk->mid_options[blk->n_mid - 1], bits, blk->cin, blk->cout, blk->in_hw, blk->out_hw,
                         blk->identity ? ", residual" : "");
}

static char *
stem_text(const FrApqSpace *s)
{
  g_autofree char *block = s->stem_block_channels > 0
                             ? g_strdup_printf(" + MBConv %d→%d", s->stem_channels, s->stem_block_channels)
                             : g_strdup("");
  return g_strdup_printf("%d×%d conv %d→%d, stride %d%s · %d px in · full precision", s->stem_kernel, s->stem_kernel,
                         s->in_channels, s->stem_channels, s->stem_stride, block, s->in_hw);
}

static char *
head_text(const FrApqSpace *s)
{
  int last = s->n_blocks > 0 ? s->blocks[s->n_blocks - 1].cout : 0;
  return g_strdup_printf("1×1 conv %d→%d, pool, linear →%d · full precision", last, s->head_channels, s->n_classes);
}

char *
frontier_apq_arch_describe(FrontierApqArch *self)
{
  g_return_val_if_fail(FRONTIER_IS_APQ_ARCH(self), NULL);
  if (!self->has_spec || self->space == NULL)
    return g_strdup(self->placeholder != NULL ? self->placeholder : "No candidate");
  const FrApqSpace *s = self->space;
  GString *str = g_string_new(NULL);
  g_autofree char *stem = stem_text(s);
  g_string_append_printf(str, "Stem: %s. ", stem);
  for (int st = 0; st < s->n_stages; st++)
    g_string_append_printf(str, "Stage %d: depth %d of %d. ", st + 1, self->spec.depth[st], s->stage_max_depth[st]);
  for (int b = 0; b < s->n_blocks; b++) {
    if (!fr_apq_block_active(s, &self->spec, b))
      continue;
    g_autofree char *d = describe_block(self, b);
    g_string_append_printf(str, "%s%s. ", d, block_differs(self, b) ? " (differs)" : "");
  }
  g_autofree char *head = head_text(s);
  g_string_append_printf(str, "Head: %s.", head);
  return g_string_free(str, FALSE);
}

static void
update_accessible(FrontierApqArch *self)
{
  g_autofree char *desc = frontier_apq_arch_describe(self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 self->label != NULL ? self->label : "Architecture",
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, desc, -1);
}

/* ---- drawing ---- */

static void
rounded_rect(cairo_t *cr, double x, double y, double w, double h, double r)
{
  r = MIN(r, MIN(w, h) / 2);
  cairo_new_sub_path(cr);
  cairo_arc(cr, x + w - r, y + r, r, -G_PI / 2, 0);
  cairo_arc(cr, x + w - r, y + h - r, r, 0, G_PI / 2);
  cairo_arc(cr, x + r, y + h - r, r, G_PI / 2, G_PI);
  cairo_arc(cr, x + r, y + r, r, G_PI, 3 * G_PI / 2);
  cairo_close_path(cr);
}

/* Draws text in the widget's font scaled by `scale`, at (x, y), aligned in width w (w <= 0: left,
 * unbounded). Returns the text's width. */
static double
draw_text(GtkWidget *widget, cairo_t *cr, const char *text, double x, double y, double w, PangoAlignment align,
          double scale, gboolean bold, const GdkRGBA *color, double alpha)
{
  PangoLayout *layout = gtk_widget_create_pango_layout(widget, text);
  const PangoFontDescription *base = pango_context_get_font_description(pango_layout_get_context(layout));
  PangoFontDescription *desc = pango_font_description_copy(base);
  int size = pango_font_description_get_size(desc);
  if (size <= 0)
    size = 10 * PANGO_SCALE;
  if (pango_font_description_get_size_is_absolute(desc))
    pango_font_description_set_absolute_size(desc, size * scale);
  else
    pango_font_description_set_size(desc, (int)(size * scale));
  if (bold)
    pango_font_description_set_weight(desc, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description(layout, desc);
  pango_font_description_free(desc);
  if (w > 0) {
    pango_layout_set_width(layout, (int)(w * PANGO_SCALE));
    pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
    pango_layout_set_alignment(layout, align);
  }
  int lw, lh;
  pango_layout_get_pixel_size(layout, &lw, &lh);
  frontier_sparch_draw_set_rgba(cr, color, alpha);
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, layout);
  g_object_unref(layout);
  return lw;
}

/* Chips sit on an opaque base so the block's tint does not muddy their colour. */
static void
set_chip_base(cairo_t *cr)
{
  if (frontier_sparch_draw_is_dark())
    cairo_set_source_rgb(cr, 0.19, 0.19, 0.21);
  else
    cairo_set_source_rgb(cr, 1, 1, 1);
}

static const GdkRGBA *
bits_color(const FrontierSparchPalette *p, int bits)
{
  switch (bits) {
  case 4:
    return &p->active;
  case 6:
    return &p->hit;
  case 8:
    return &p->accent;
  default:
    return &p->fg;
  }
}

static void
draw_fixed_row(GtkWidget *widget, cairo_t *cr, const FrontierSparchPalette *p, const Layout *L, double y,
               const char *title, const char *text)
{
  double x = PAD + LABEL_W;
  double w = L->max_depth * L->box_w + (L->max_depth - 1) * GAP;
  rounded_rect(cr, x, y, w, FIXED_H, 6);
  frontier_sparch_draw_set_rgba(cr, &p->fg, 0.06);
  cairo_fill(cr);
  draw_text(widget, cr, title, PAD, y + FIXED_H / 2 - 8, LABEL_W - 6, PANGO_ALIGN_LEFT, 0.9, TRUE, &p->fg, 0.8);
  draw_text(widget, cr, text, x + 10, y + FIXED_H / 2 - 8, w - 20, PANGO_ALIGN_LEFT, 0.85, FALSE, &p->fg, 0.75);
}

static void
draw_block(GtkWidget *widget, cairo_t *cr, FrontierApqArch *self, const FrontierSparchPalette *p, const Layout *L,
           int b)
{
  const FrApqSpace *s = self->space;
  const FrApqBlock *blk = &s->blocks[b];
  graphene_rect_t r;
  block_rect(s, L, b, &r);
  double x = r.origin.x, y = r.origin.y, w = r.size.width, h = r.size.height;
  gboolean differs = block_differs(self, b);
  if (!fr_apq_block_active(s, &self->spec, b)) {
    rounded_rect(cr, x + 0.5, y + 0.5, w - 1, h - 1, 6);
    double dash[] = { 4, 3 };
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_line_width(cr, 1);
    frontier_sparch_draw_set_rgba(cr, differs ? &p->active : &p->fg, differs ? 0.8 : 0.25);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    draw_text(widget, cr, "inactive", x, y + h / 2 - 8, w, PANGO_ALIGN_CENTER, 0.8, FALSE, &p->fg, 0.35);
    return;
  }
  int mi = mid_index(blk, self->spec.mid[b]);
  double wf = blk->n_mid > 1 && mi >= 0 ? (double)mi / (blk->n_mid - 1) : 1.0;
  rounded_rect(cr, x, y, w, h, 6);
  frontier_sparch_draw_set_rgba(cr, &p->accent, 0.08 + 0.24 * wf);
  cairo_fill_preserve(cr);
  cairo_set_line_width(cr, differs ? 2.5 : 1);
  frontier_sparch_draw_set_rgba(cr, differs ? &p->active : &p->accent, differs ? 1.0 : 0.55);
  cairo_stroke(cr);

  /* Line 1: kernel and mid channels. */
  g_autofree char *l1 = w >= 70 ? g_strdup_printf("k%d · %d", self->spec.ks[b], self->spec.mid[b])
                                : g_strdup_printf("k%d", self->spec.ks[b]);
  draw_text(widget, cr, l1, x + 4, y + 5, w - 8, PANGO_ALIGN_CENTER, 0.9, TRUE, &p->fg, 0.95);
  if (blk->stride > 1 && w >= 96)
    draw_text(widget, cr, "↓", x + w - 14, y + 4, 0, PANGO_ALIGN_LEFT, 0.8, FALSE, &p->fg, 0.5);

  /* Line 2: four bit chips. */
  double cgap = 3, cx0 = x + 6, cw = (w - 12 - 3 * cgap) / 4, ch = 16, cy = y + h - ch - 6;
  for (int q = 0; q < FR_APQ_N_QGROUPS; q++) {
    int bits = block_bits(self, q, b);
    const GdkRGBA *c = bits_color(p, bits);
    double cx = cx0 + q * (cw + cgap);
    rounded_rect(cr, cx, cy, cw, ch, 3);
    set_chip_base(cr);
    cairo_fill_preserve(cr);
    frontier_sparch_draw_set_rgba(cr, c, bits == 32 ? 0.12 : 0.45);
    cairo_fill(cr);
    if (cw >= 12) {
      g_autofree char *t = bits == 32 ? g_strdup(cw >= 20 ? "fp" : "f") : g_strdup_printf("%d", bits);
      draw_text(widget, cr, t, cx, cy + 0.5, cw, PANGO_ALIGN_CENTER, 0.72, TRUE, &p->fg, 0.9);
    }
  }
}

static void
frontier_apq_arch_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierApqArch *self = FRONTIER_APQ_ARCH(widget);
  int width = gtk_widget_get_width(widget), height = gtk_widget_get_height(widget);
  if (width < 8 || height < 8)
    return;
  if (!self->has_spec || self->space == NULL) {
    frontier_sparch_draw_placeholder(widget, snapshot, self->placeholder, 24);
    return;
  }
  const FrApqSpace *s = self->space;
  FrontierSparchPalette p;
  frontier_sparch_draw_get_palette(widget, &p);
  Layout L;
  layout_init(self, width, &L);
  cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, width, height));

  g_autofree char *stem = stem_text(s);
  draw_fixed_row(widget, cr, &p, &L, row_top(s, 0), "Stem", stem);
  for (int st = 0; st < s->n_stages; st++) {
    double y = row_top(s, st + 1);
    int cout = 0;
    for (int b = 0; b < s->n_blocks; b++)
      if (s->blocks[b].stage == st)
        cout = s->blocks[b].cout;
    g_autofree char *t = g_strdup_printf("Stage %d", st + 1);
    g_autofree char *sub = g_strdup_printf("%d ch · %d/%d", cout, self->spec.depth[st], s->stage_max_depth[st]);
    draw_text(widget, cr, t, PAD, y + 8, LABEL_W - 6, PANGO_ALIGN_LEFT, 0.9, TRUE, &p.fg, 0.85);
    draw_text(widget, cr, sub, PAD, y + 27, LABEL_W - 6, PANGO_ALIGN_LEFT, 0.78, FALSE, &p.fg, 0.6);
  }
  for (int b = 0; b < s->n_blocks; b++)
    draw_block(widget, cr, self, &p, &L, b);
  g_autofree char *head = head_text(s);
  draw_fixed_row(widget, cr, &p, &L, row_top(s, s->n_stages + 1), "Head", head);

  /* Legend. */
  double ly = row_top(s, s->n_stages + 2) - GAP + 10;
  double lx = PAD;
  static const int legend_bits[] = { 4, 6, 8, 32 };
  for (guint i = 0; i < G_N_ELEMENTS(legend_bits); i++) {
    const GdkRGBA *c = bits_color(&p, legend_bits[i]);
    rounded_rect(cr, lx, ly + 2, 12, 12, 3);
    set_chip_base(cr);
    cairo_fill_preserve(cr);
    frontier_sparch_draw_set_rgba(cr, c, legend_bits[i] == 32 ? 0.12 : 0.45);
    cairo_fill(cr);
    g_autofree char *t = legend_bits[i] == 32 ? g_strdup("full precision") : g_strdup_printf("%d bits", legend_bits[i]);
    double tw = draw_text(widget, cr, t, lx + 16, ly, 0, PANGO_ALIGN_LEFT, 0.8, FALSE, &p.fg, 0.7);
    lx += 16 + tw + 14;
  }
  draw_text(widget, cr, "box: kernel · mid channels; chips: pointwise W, A, depthwise W, A", lx + 4, ly, MAX(0, width - lx - PAD - 4),
            PANGO_ALIGN_LEFT, 0.8, FALSE, &p.fg, 0.55);
  cairo_destroy(cr);
}

static void
frontier_apq_arch_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                          int *minimum_baseline, int *natural_baseline)
{
  FrontierApqArch *self = FRONTIER_APQ_ARCH(widget);
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = 300;
    *natural = 520;
  } else {
    *minimum = *natural = (int)ceil(natural_height(self->space != NULL && self->has_spec ? self->space : NULL));
  }
}

static gboolean
query_tooltip_cb(GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer user)
{
  FrontierApqArch *self = FRONTIER_APQ_ARCH(widget);
  if (!self->has_spec || self->space == NULL || keyboard)
    return FALSE;
  Layout L;
  layout_init(self, gtk_widget_get_width(widget), &L);
  for (int b = 0; b < self->space->n_blocks; b++) {
    graphene_rect_t r;
    block_rect(self->space, &L, b, &r);
    if (graphene_rect_contains_point(&r, &GRAPHENE_POINT_INIT(x, y))) {
      g_autofree char *d = describe_block(self, b);
      if (block_differs(self, b)) {
        g_autofree char *with = g_strconcat(d, "\nDiffers from the other candidate", NULL);
        gtk_tooltip_set_text(tooltip, with);
      } else {
        gtk_tooltip_set_text(tooltip, d);
      }
      return TRUE;
    }
  }
  return FALSE;
}

static void
restyle_cb(FrontierApqArch *self)
{
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
frontier_apq_arch_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  FrontierApqArch *self = FRONTIER_APQ_ARCH(object);
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
frontier_apq_arch_set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  FrontierApqArch *self = FRONTIER_APQ_ARCH(object);
  switch (id) {
  case PROP_PLACEHOLDER:
    frontier_apq_arch_set_placeholder(self, g_value_get_string(value));
    break;
  case PROP_LABEL:
    frontier_apq_arch_set_label(self, g_value_get_string(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void
frontier_apq_arch_dispose(GObject *object)
{
  FrontierApqArch *self = FRONTIER_APQ_ARCH(object);
  g_signal_handlers_disconnect_by_data(adw_style_manager_get_default(), self);
  G_OBJECT_CLASS(frontier_apq_arch_parent_class)->dispose(object);
}

static void
frontier_apq_arch_finalize(GObject *object)
{
  FrontierApqArch *self = FRONTIER_APQ_ARCH(object);
  g_free(self->placeholder);
  g_free(self->label);
  G_OBJECT_CLASS(frontier_apq_arch_parent_class)->finalize(object);
}

static void
frontier_apq_arch_class_init(FrontierApqArchClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->get_property = frontier_apq_arch_get_property;
  object_class->set_property = frontier_apq_arch_set_property;
  object_class->dispose = frontier_apq_arch_dispose;
  object_class->finalize = frontier_apq_arch_finalize;
  widget_class->snapshot = frontier_apq_arch_snapshot;
  widget_class->measure = frontier_apq_arch_measure;

  props[PROP_PLACEHOLDER] = g_param_spec_string("placeholder", NULL, NULL, NULL,
                                                G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_LABEL] = g_param_spec_string("label", NULL, NULL, NULL,
                                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(object_class, N_PROPS, props);

  gtk_widget_class_set_css_name(widget_class, "apqarch");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
frontier_apq_arch_init(FrontierApqArch *self)
{
  gtk_widget_set_has_tooltip(GTK_WIDGET(self), TRUE);
  g_signal_connect(self, "query-tooltip", G_CALLBACK(query_tooltip_cb), NULL);
  g_signal_connect_swapped(adw_style_manager_get_default(), "notify::dark", G_CALLBACK(restyle_cb), self);
  update_accessible(self);
}

GtkWidget *
frontier_apq_arch_new(void)
{
  return g_object_new(FRONTIER_TYPE_APQ_ARCH, NULL);
}

void
frontier_apq_arch_set_spec(FrontierApqArch *self, const FrApqSpace *space, const FrApqSpec *spec)
{
  g_return_if_fail(FRONTIER_IS_APQ_ARCH(self));
  if (space != self->space)
    self->has_reference = FALSE;
  self->space = space;
  self->has_spec = space != NULL && spec != NULL;
  if (self->has_spec)
    self->spec = *spec;
  update_accessible(self);
  gtk_widget_queue_resize(GTK_WIDGET(self));
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_apq_arch_set_reference(FrontierApqArch *self, const FrApqSpec *reference)
{
  g_return_if_fail(FRONTIER_IS_APQ_ARCH(self));
  self->has_reference = reference != NULL;
  if (reference != NULL)
    self->reference = *reference;
  update_accessible(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_apq_arch_set_placeholder(FrontierApqArch *self, const char *text)
{
  g_return_if_fail(FRONTIER_IS_APQ_ARCH(self));
  if (g_strcmp0(text, self->placeholder) == 0)
    return;
  g_free(self->placeholder);
  self->placeholder = g_strdup(text);
  update_accessible(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PLACEHOLDER]);
}

void
frontier_apq_arch_set_label(FrontierApqArch *self, const char *label)
{
  g_return_if_fail(FRONTIER_IS_APQ_ARCH(self));
  if (g_strcmp0(label, self->label) == 0)
    return;
  g_free(self->label);
  self->label = g_strdup(label);
  update_accessible(self);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_LABEL]);
}
