/* frontier-columns.h: lays its children out side by side when they fit, else stacked.
 *
 * A breakpoint-free adaptive row for GTK 4.8 / libadwaita 1.2 (which lack AdwBreakpoint): in a row,
 * children share the width equally (homogeneous) or get their minimum plus a share of the rest
 * (the expanding ones); when the widget is narrower than min-row-width or the children's minimum
 * widths, they stack vertically at full width. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_COLUMNS (frontier_columns_get_type())
G_DECLARE_FINAL_TYPE(FrontierColumns, frontier_columns, FRONTIER, COLUMNS, GtkWidget)

GtkWidget *frontier_columns_new                (void);
void       frontier_columns_set_spacing        (FrontierColumns *self, int spacing);
void       frontier_columns_set_homogeneous    (FrontierColumns *self, gboolean homogeneous);
void       frontier_columns_set_min_row_width  (FrontierColumns *self, int width);
/* Whether the last allocation put the children in a row. */
gboolean   frontier_columns_get_is_row         (FrontierColumns *self);

G_END_DECLS
