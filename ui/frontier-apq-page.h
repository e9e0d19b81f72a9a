/* frontier-apq-page.h: the APQ page: choose a design space, a cost model and an accuracy predictor,
 * set latency and energy (or other cost) budgets, and run APQ's evolution or NSGA-II on the engine's
 * job system while the Pareto plot fills in generation by generation. Click a point of the front to
 * see its architecture and per-layer costs, compare two candidates, rerun the joint search against
 * the sequential pipeline, revisit past searches and export the front (PDF, SVG, CSV, JSON).
 *
 * Test hook: with FRONTIER_EXPORT_PATH set, Export writes there without a dialog (a folder: a file
 * named after the search inside it; a path: that file, with the format's extension added when it
 * lacks it). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_APQ_PAGE (frontier_apq_page_get_type())
G_DECLARE_FINAL_TYPE(FrontierApqPage, frontier_apq_page, FRONTIER, APQ_PAGE, GtkWidget)

GtkWidget *frontier_apq_page_new         (void);
/* TRUE while a search or comparison runs (including after Cancel, until it has stopped). */
gboolean   frontier_apq_page_get_running (FrontierApqPage *self);

G_END_DECLS
