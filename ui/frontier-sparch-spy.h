/* frontier-sparch-spy.h: a spy plot of a sparse matrix: nonzeros binned into a small density
 * image (log-scaled), drawn to keep the matrix's aspect ratio. Hovering a cell tells its row and
 * column ranges and how many nonzeros it holds.
 *
 * The binning is done by frontier_sparch_spy_data_new(), which any thread may call (the page does it
 * in its jobs, never on the main thread); the widget only uploads and draws the result. */
#pragma once

#include <gtk/gtk.h>

#include "fr-csr.h"

G_BEGIN_DECLS

/* Immutable, reference-counted binned density of a matrix. */
typedef struct _FrontierSparchSpyData FrontierSparchSpyData;

/* Bins m into at most max_bins x max_bins cells (fewer along the shorter side, so cells stay
 * square-ish; never more cells than rows/columns). Thread-safe. */
FrontierSparchSpyData *frontier_sparch_spy_data_new   (const FrCsr *m, int max_bins);
FrontierSparchSpyData *frontier_sparch_spy_data_ref   (FrontierSparchSpyData *data);
void                   frontier_sparch_spy_data_unref (FrontierSparchSpyData *data);
/* Bins rows x cols; count of the fullest bin. */
void                   frontier_sparch_spy_data_get_size (FrontierSparchSpyData *data,
                                                          int *bin_rows, int *bin_cols,
                                                          guint32 *max_count);
guint32                frontier_sparch_spy_data_get_count (FrontierSparchSpyData *data, int bin_row, int bin_col);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FrontierSparchSpyData, frontier_sparch_spy_data_unref)

#define FRONTIER_TYPE_SPARCH_SPY (frontier_sparch_spy_get_type())
G_DECLARE_FINAL_TYPE(FrontierSparchSpy, frontier_sparch_spy, FRONTIER, SPARCH_SPY, GtkWidget)

GtkWidget  *frontier_sparch_spy_new             (void);
/* data may be NULL: the placeholder text is shown instead. */
void        frontier_sparch_spy_set_data        (FrontierSparchSpy *self, FrontierSparchSpyData *data);
FrontierSparchSpyData *frontier_sparch_spy_get_data (FrontierSparchSpy *self);
/* Also the accessible label ("Spy plot of A"). */
void        frontier_sparch_spy_set_title       (FrontierSparchSpy *self, const char *title);
const char *frontier_sparch_spy_get_title       (FrontierSparchSpy *self);
void        frontier_sparch_spy_set_placeholder (FrontierSparchSpy *self, const char *text);

G_END_DECLS
