/* frontier-sparch-page.h: the SpArch page: load, pick or generate a sparse matrix, set the
 * accelerator's parameters, simulate SpArch against OuterSPACE (and the paper's ablation) on the
 * engine's job system, and explore the results: DRAM traffic bars, the ablation chart, the animated
 * pipeline, the comparator array; export them as CSV, JSON, SVG or PDF. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_SPARCH_PAGE (frontier_sparch_page_get_type())
G_DECLARE_FINAL_TYPE(FrontierSparchPage, frontier_sparch_page, FRONTIER, SPARCH_PAGE, GtkWidget)

GtkWidget *frontier_sparch_page_new         (void);
/* Starts loading a Matrix Market file (.mtx or .mtx.gz) on a job, as "Open matrix…" does. */
void       frontier_sparch_page_open_file   (FrontierSparchPage *self, GFile *file);
/* TRUE while a load or a simulation runs (including after Cancel, until it has stopped). */
gboolean   frontier_sparch_page_get_running (FrontierSparchPage *self);

G_END_DECLS
