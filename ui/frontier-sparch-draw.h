/* frontier-sparch-draw.h: small drawing helpers shared by the SpArch page's widgets (bars,
 * comparator, pipeline, spy plot): the theme's palette, cairo colours, grouped integers for labels
 * and the centred placeholder text shown while a widget has nothing to draw. */
#pragma once

#include <gtk/gtk.h>

#include "fr-report.h"

G_BEGIN_DECLS

/* Colours from the widget's style and Adwaita's palette, light or dark to match the style manager. */
typedef struct {
  GdkRGBA fg;     /* the widget's foreground */
  GdkRGBA accent; /* blue */
  GdkRGBA active; /* orange */
  GdkRGBA dram;   /* purple */
  GdkRGBA hit;    /* green */
  GdkRGBA miss;   /* red */
  GdkRGBA grid;   /* fg at 15 % */
} FrontierSparchPalette;

/* Whether libadwaita's style manager shows the dark scheme. */
gboolean    frontier_sparch_draw_is_dark     (void);
/* Fills p for widget (see FrontierSparchPalette). */
void        frontier_sparch_draw_get_palette (GtkWidget *widget, FrontierSparchPalette *p);
/* Sets c, its alpha multiplied by alpha, as cr's source. */
void        frontier_sparch_draw_set_rgba    (cairo_t *cr, const GdkRGBA *c, double alpha);
/* v with thousands grouped, independent of the locale; main thread only (a ring of 8 buffers, so
 * several may appear in one printf). */
const char *frontier_sparch_draw_grp         (gint64 v);
/* text (NULL: none), centred and word-wrapped between margins of `margin` px, vertically centred,
 * in the widget's foreground at 55 %. */
void        frontier_sparch_draw_placeholder (GtkWidget   *widget,
                                              GtkSnapshot *snapshot,
                                              const char  *text,
                                              double       margin);

/* The family of the GTK font setting (new string, NULL if none): Cairo text that matches the UI. */
char            *frontier_sparch_draw_font_family  (GtkWidget *widget);
/* chart as drawn on screen (fr_report_draw_stacked_bars): the widget's foreground, the dark flag,
 * font_px and family (may be NULL); everything else as given. */
FrReportBarChart frontier_sparch_draw_screen_chart (GtkWidget              *widget,
                                                    const FrReportBarChart *chart,
                                                    double                  font_px,
                                                    const char             *family);

G_END_DECLS
