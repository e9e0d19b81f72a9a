/* frontier-profiler-roofline.h: the Profiler page's roofline plot, drawn in snapshot().
 *
 * Log-log axes: arithmetic intensity (FLOP/byte) against achieved GFLOP/s. Each point is a layer
 * group (a disc whose area follows its share of the time); the machine's measured ceilings are the
 * memory slope (intensity x GB/s) and the compute roof (GEMM GFLOP/s). Hover (or the tooltip) names
 * the layer with its figures. The same drawing renders into any cairo_t (SVG/PDF export). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_PROFILER_ROOFLINE (frontier_profiler_roofline_get_type())
G_DECLARE_FINAL_TYPE(FrontierProfilerRoofline, frontier_profiler_roofline, FRONTIER, PROFILER_ROOFLINE, GtkWidget)

GtkWidget *frontier_profiler_roofline_new(void);

/* Replaces every point and ceiling. Points with a non-positive intensity or GFLOP/s are skipped (they
 * cannot sit on log axes). peak_gflops / bw_gbs NAN or <= 0: that ceiling is not drawn. */
void frontier_profiler_roofline_clear(FrontierProfilerRoofline *self);
void frontier_profiler_roofline_set_ceilings(FrontierProfilerRoofline *self, double peak_gflops, double bw_gbs,
                                             const char *label);
void frontier_profiler_roofline_add_point(FrontierProfilerRoofline *self, const char *name, double intensity,
                                          double gflops, double share, double ms);
/* Points drawn (the ones on the axes). */
guint frontier_profiler_roofline_get_n_points(FrontierProfilerRoofline *self);
/* Draws the plot into cr over width x height (light theme colours when dark is FALSE). */
void frontier_profiler_roofline_draw(FrontierProfilerRoofline *self, cairo_t *cr, double width, double height,
                                     gboolean dark);

G_END_DECLS
