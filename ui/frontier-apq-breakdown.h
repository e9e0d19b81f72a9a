/* frontier-apq-breakdown.h: the per-layer cost breakdown of one APQ candidate as stacked horizontal
 * bars, drawn by the same Cairo code as the exported figures (fr_report_draw_stacked_bars).
 *
 * One bar per fixed part (stem, head, ...) and per active block; a block's bar is split into its
 * expand 1x1, depthwise and project 1x1 convolutions; the note after each bar is its share of the
 * total. One objective (latency, energy, BitOps, ...) at a time. Hovering a segment shows the layer's
 * shape, bitwidths and cost; the accessible description lists every bar. */
#pragma once

#include <gtk/gtk.h>

#include "fr-apq-workbench.h"
#include "fr-report.h"

G_BEGIN_DECLS

#define FRONTIER_TYPE_APQ_BREAKDOWN (frontier_apq_breakdown_get_type())
G_DECLARE_FINAL_TYPE(FrontierApqBreakdown, frontier_apq_breakdown, FRONTIER, APQ_BREAKDOWN, GtkWidget)

GtkWidget *frontier_apq_breakdown_new             (void);
/* rows: FrApqLayerRow (fr_apq_workbench_breakdown), copied; NULL shows the placeholder. names and units:
 * n_objectives strings each (copied). */
void       frontier_apq_breakdown_set_rows        (FrontierApqBreakdown *self,
                                                   GArray               *rows,
                                                   int                   n_objectives,
                                                   const char *const    *names,
                                                   const char *const    *units);
void       frontier_apq_breakdown_set_objective   (FrontierApqBreakdown *self, int objective);
int        frontier_apq_breakdown_get_objective   (FrontierApqBreakdown *self);
void       frontier_apq_breakdown_set_placeholder (FrontierApqBreakdown *self, const char *text);
/* The accessible description's text (new string). */
char      *frontier_apq_breakdown_describe        (FrontierApqBreakdown *self);

G_END_DECLS
