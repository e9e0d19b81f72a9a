/* frontier-profiler-page.h: the Profiler page (issue 8's GUI half): pick a model, profile it on a job
 * (progress, Cancel), and see where its time goes: a sortable per-layer table, a roofline plot, a
 * timeline of one run, a comparison with a second model, and exports (CSV, JSON, Chrome trace,
 * SVG/PDF charts). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_PROFILER_PAGE (frontier_profiler_page_get_type())
G_DECLARE_FINAL_TYPE(FrontierProfilerPage, frontier_profiler_page, FRONTIER, PROFILER_PAGE, GtkWidget)

/* Selects target (a name of fr_profile_targets, or spgemm:MATRIX) and starts profiling it; a profile
 * already running is cancelled first. FALSE for a name the profiler does not know. */
gboolean frontier_profiler_page_profile(FrontierProfilerPage *self, const char *target);

G_END_DECLS
