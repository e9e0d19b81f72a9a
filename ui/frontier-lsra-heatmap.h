/* frontier-lsra-heatmap.h: a matrix of weights drawn as coloured cells, for "where LSRA looks":
 * attention weights (rows: query tokens, columns: the tokens they attend to) or convolution kernels
 * (rows: source positions, columns: taps, one block per head).
 *
 * Values are [rows][blocks][cols] floats, copied. Rows and columns carry text labels (BPE pieces,
 * tap offsets), blocks a title each. The colour scale runs from 0 (or the smallest value, when
 * negative) to the largest value, drawn as a legend under the cells. Hovering (or moving the cursor
 * with the arrow keys while focused) outlines a cell and shows its row, column and value in the
 * legend row and a tooltip; a describe function may word that text. The accessible description
 * summarises the matrix (each row's strongest column). Drawn in snapshot; height follows width. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_LSRA_HEATMAP (frontier_lsra_heatmap_get_type())
G_DECLARE_FINAL_TYPE(FrontierLsraHeatmap, frontier_lsra_heatmap, FRONTIER, LSRA_HEATMAP, GtkWidget)

/* The text for the cell (row, block, col) of the given value, as a new string. */
typedef char *(*FrontierLsraHeatmapDescribe)(int row, int block, int col, float value, gpointer user_data);

GtkWidget *frontier_lsra_heatmap_new              (void);

/* values: rows * blocks * cols floats, row-major as [row][block][col]. The labels (rows, cols and
 * blocks strings) may each be NULL. Replaces what was shown. */
void       frontier_lsra_heatmap_set_data         (FrontierLsraHeatmap *self,
                                                   const float         *values,
                                                   int                  rows,
                                                   int                  blocks,
                                                   int                  cols,
                                                   const char *const   *row_labels,
                                                   const char *const   *col_labels,
                                                   const char *const   *block_titles);
/* Nothing to show: the placeholder text instead. */
void       frontier_lsra_heatmap_clear            (FrontierLsraHeatmap *self);
gboolean   frontier_lsra_heatmap_has_data         (FrontierLsraHeatmap *self);

/* The accessible label and the text before the summary in the accessible description. */
void       frontier_lsra_heatmap_set_title        (FrontierLsraHeatmap *self, const char *title);
void       frontier_lsra_heatmap_set_placeholder  (FrontierLsraHeatmap *self, const char *text);
/* What rows and columns are ("Query", "Key"), named in the hover text and drawn at the corner. */
void       frontier_lsra_heatmap_set_axis_names   (FrontierLsraHeatmap *self, const char *rows, const char *cols);
void       frontier_lsra_heatmap_set_describe_func(FrontierLsraHeatmap        *self,
                                                   FrontierLsraHeatmapDescribe func,
                                                   gpointer                    user_data,
                                                   GDestroyNotify              destroy);

G_END_DECLS
