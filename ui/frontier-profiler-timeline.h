/* frontier-profiler-timeline.h: one profiled run as a timeline, drawn in snapshot().
 *
 * A row per thread, a bar per op from its start to its end (wall clock), coloured by op type (legend
 * underneath). Ctrl+scroll zooms around the pointer, scroll and drag pan, a double click shows the
 * whole run again; hovering an op shows its name, layer, shape, MACs and times. */
#pragma once

#include <gtk/gtk.h>
#include "fr-profiler.h"

G_BEGIN_DECLS

#define FRONTIER_TYPE_PROFILER_TIMELINE (frontier_profiler_timeline_get_type())
G_DECLARE_FINAL_TYPE(FrontierProfilerTimeline, frontier_profiler_timeline, FRONTIER, PROFILER_TIMELINE, GtkWidget)

GtkWidget *frontier_profiler_timeline_new(void);

/* Shows timed run `run` (0-based) of r (a ref is kept); r NULL clears. */
void frontier_profiler_timeline_set_result(FrontierProfilerTimeline *self, FrProfileResult *r, int run);
/* Ops of the shown run. */
guint frontier_profiler_timeline_get_n_ops(FrontierProfilerTimeline *self);
void frontier_profiler_timeline_reset_view(FrontierProfilerTimeline *self);
/* Draws the current view into cr over width x height (for SVG/PDF export). */
void frontier_profiler_timeline_draw(FrontierProfilerTimeline *self, cairo_t *cr, double width, double height,
                                     gboolean dark);

G_END_DECLS
