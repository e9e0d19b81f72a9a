/* frontier-chart.h: a general 2-D chart (lines and scatter) for live training curves, Pareto
 * fronts and pipelines.
 *
 * Series are appended to cheaply (amortised O(1)); drawing decimates lines per pixel column, so
 * 100k-point series stay smooth. The view follows the data until the user zooms (scroll wheel or
 * pinch, around the pointer; Shift: x only, Alt: y only) or pans (drag); a double click or the
 * "chart.reset-view" action (Home/0) returns to following the data. Hovering shows the nearest
 * point (series name, x, y) with a highlighted marker; clicking it emits ::point-activated. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum {
  FRONTIER_CHART_LINE,          /* polyline, decimated per pixel column when dense */
  FRONTIER_CHART_SCATTER,       /* filled markers; dense clouds are thinned per 2x2 pixel cell */
  FRONTIER_CHART_LINE_MARKERS,  /* polyline with markers while points are sparse enough to see */
} FrontierChartStyle;

#define FRONTIER_TYPE_CHART (frontier_chart_get_type())
G_DECLARE_FINAL_TYPE(FrontierChart, frontier_chart, FRONTIER, CHART, GtkWidget)

GtkWidget  *frontier_chart_new            (void);

void        frontier_chart_set_title      (FrontierChart *self, const char *title);
const char *frontier_chart_get_title      (FrontierChart *self);
void        frontier_chart_set_x_label    (FrontierChart *self, const char *label);
const char *frontier_chart_get_x_label    (FrontierChart *self);
void        frontier_chart_set_y_label    (FrontierChart *self, const char *label);
const char *frontier_chart_get_y_label    (FrontierChart *self);

/* Bounds the automatic range on each axis: a finite value pins that end, NAN lets it follow the
 * data (the default for all four). */
void        frontier_chart_set_x_range    (FrontierChart *self, double min, double max);
void        frontier_chart_set_y_range    (FrontierChart *self, double min, double max);
/* Ticks on the x axis fall on whole numbers only (epochs, steps, layer indices). */
void        frontier_chart_set_x_integer  (FrontierChart *self, gboolean integer);

/* Returns the new series' index. color may be NULL: the next colour of the Adwaita palette. */
guint       frontier_chart_add_series     (FrontierChart     *self,
                                           const char        *name,
                                           FrontierChartStyle style,
                                           const GdkRGBA     *color);
guint       frontier_chart_get_n_series   (FrontierChart *self);
void        frontier_chart_remove_all_series (FrontierChart *self);

/* Non-finite values are kept (indices stay the caller's) but are neither drawn nor ranged. */
void        frontier_chart_append         (FrontierChart *self, guint series, double x, double y);
void        frontier_chart_append_many    (FrontierChart *self,
                                           guint          series,
                                           const double  *x,
                                           const double  *y,
                                           gsize          n);
gsize       frontier_chart_get_n_points   (FrontierChart *self, guint series);
gboolean    frontier_chart_get_point      (FrontierChart *self, guint series, gsize index,
                                           double *x, double *y);
void        frontier_chart_clear_series   (FrontierChart *self, guint series);
void        frontier_chart_clear          (FrontierChart *self);  /* all points; series stay */

void        frontier_chart_reset_view     (FrontierChart *self);

/* Marks one point (e.g. the selected Pareto candidate) with a ring; series < 0 clears it. */
void        frontier_chart_set_highlight  (FrontierChart *self, int series, gssize index);

G_END_DECLS
