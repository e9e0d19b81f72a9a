/* frontier-sparch-draw.c: see frontier-sparch-draw.h. */
#include <adwaita.h>

#include "fr-report.h"
#include "frontier-sparch-draw.h"

gboolean
frontier_sparch_draw_is_dark(void)
{
  return adw_style_manager_get_dark(adw_style_manager_get_default());
}

void
frontier_sparch_draw_get_palette(GtkWidget *widget, FrontierSparchPalette *p)
{
  gboolean dark = frontier_sparch_draw_is_dark();
  gtk_style_context_get_color(gtk_widget_get_style_context(widget), &p->fg);
  gdk_rgba_parse(&p->accent, dark ? "#78aeed" : "#1c71d8");
  gdk_rgba_parse(&p->active, dark ? "#ffa348" : "#e66100");
  gdk_rgba_parse(&p->dram, dark ? "#c061cb" : "#813d9c");
  gdk_rgba_parse(&p->hit, dark ? "#57e389" : "#26a269");
  gdk_rgba_parse(&p->miss, dark ? "#f66151" : "#c01c28");
  p->grid = p->fg;
  p->grid.alpha = 0.15;
}

void
frontier_sparch_draw_set_rgba(cairo_t *cr, const GdkRGBA *c, double alpha)
{
  cairo_set_source_rgba(cr, c->red, c->green, c->blue, c->alpha * alpha);
}

const char *
frontier_sparch_draw_grp(gint64 v)
{
  static char ring[8][48];
  static guint next;
  char *buf = ring[next++ % G_N_ELEMENTS(ring)];
  return fr_report_format_int_buf(v, buf, sizeof ring[0]);
}

void
frontier_sparch_draw_placeholder(GtkWidget *widget, GtkSnapshot *snapshot, const char *text, double margin)
{
  int width = gtk_widget_get_width(widget), height = gtk_widget_get_height(widget);
  GdkRGBA dim;
  gtk_style_context_get_color(gtk_widget_get_style_context(widget), &dim);
  dim.alpha *= 0.55;
  PangoLayout *layout = gtk_widget_create_pango_layout(widget, text != NULL ? text : "");
  pango_layout_set_width(layout, (int)((width - 2 * margin) * PANGO_SCALE));
  pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER);
  pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
  int lw, lh;
  pango_layout_get_pixel_size(layout, &lw, &lh);
  gtk_snapshot_save(snapshot);
  gtk_snapshot_translate(snapshot, &GRAPHENE_POINT_INIT(margin, (height - lh) / 2.0));
  gtk_snapshot_append_layout(snapshot, layout, &dim);
  gtk_snapshot_restore(snapshot);
  g_object_unref(layout);
}

char *
frontier_sparch_draw_font_family(GtkWidget *widget)
{
  g_autofree char *font = NULL;
  g_object_get(gtk_widget_get_settings(widget), "gtk-font-name", &font, NULL);
  if (font == NULL)
    return NULL;
  PangoFontDescription *desc = pango_font_description_from_string(font);
  char *family = g_strdup(pango_font_description_get_family(desc));
  pango_font_description_free(desc);
  return family;
}

FrReportBarChart
frontier_sparch_draw_screen_chart(GtkWidget *widget, const FrReportBarChart *chart, double font_px, const char *family)
{
  FrReportBarChart c = *chart;
  GdkRGBA fg;
  gtk_style_context_get_color(gtk_widget_get_style_context(widget), &fg);
  c.fg[0] = fg.red;
  c.fg[1] = fg.green;
  c.fg[2] = fg.blue;
  c.dark = frontier_sparch_draw_is_dark();
  c.font_size = font_px;
  c.font_family = family;
  return c;
}
