/* frontier-sparch-comparator.h: one step of a comparator-array merger (SpArch Fig. 5): two sorted
 * chunks of column indices, the array of a[i] <= b[j] comparisons whose staircase boundary tells
 * where every element of a lands, and the merged output chunk, coloured by where each element came
 * from. Drawn from the trace's FrSparchComparatorStep. */
#pragma once

#include <gtk/gtk.h>

#include "fr-sparch.h"

G_BEGIN_DECLS

#define FRONTIER_TYPE_SPARCH_COMPARATOR (frontier_sparch_comparator_get_type())
G_DECLARE_FINAL_TYPE(FrontierSparchComparator, frontier_sparch_comparator, FRONTIER, SPARCH_COMPARATOR,
                     GtkWidget)

GtkWidget *frontier_sparch_comparator_new             (void);
/* step is copied; NULL (or an invalid step) shows the placeholder. */
void       frontier_sparch_comparator_set_step        (FrontierSparchComparator     *self,
                                                       const FrSparchComparatorStep *step);
void       frontier_sparch_comparator_set_placeholder (FrontierSparchComparator *self, const char *text);

G_END_DECLS
