/* frontier-sparch-bars.h: a (stacked) horizontal bar chart on screen, drawn by the same code as the
 * exported figures (fr_report_draw_stacked_bars from engine/report), in the theme's colours.
 *
 * Hovering a segment shows its bar, series, value and share of the bar. The accessible description
 * lists every bar's total and segments ("SpArch: 7.7 MB (A read 1.2 MB, ...); OuterSPACE: ..."), so
 * screen readers and UI tests can read the values. */
#pragma once

#include <gtk/gtk.h>

#include "fr-report.h"

G_BEGIN_DECLS

#define FRONTIER_TYPE_SPARCH_BARS (frontier_sparch_bars_get_type())
G_DECLARE_FINAL_TYPE(FrontierSparchBars, frontier_sparch_bars, FRONTIER, SPARCH_BARS, GtkWidget)

GtkWidget              *frontier_sparch_bars_new             (void);
/* Copies chart (see fr_report_bar_chart_copy); NULL shows the placeholder. The font, colours and
 * dark flag are the widget's own on screen. */
void                    frontier_sparch_bars_set_chart       (FrontierSparchBars     *self,
                                                              const FrReportBarChart *chart);
/* The chart as set (NULL if none), e.g. to export it. */
const FrReportBarChart *frontier_sparch_bars_get_chart       (FrontierSparchBars *self);
/* Shown (and used as the accessible description) while there is no chart. */
void                    frontier_sparch_bars_set_placeholder (FrontierSparchBars *self, const char *text);
/* The accessible label when there is no chart title. */
void                    frontier_sparch_bars_set_label        (FrontierSparchBars *self, const char *label);
/* The text of the accessible description (new string). */
char                   *frontier_sparch_bars_describe        (FrontierSparchBars *self);

G_END_DECLS
