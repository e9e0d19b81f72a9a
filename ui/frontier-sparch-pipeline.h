/* frontier-sparch-pipeline.h: SpArch's pipeline drawn from a simulation trace, one frame per FIFO
 * sample: the current round's inputs (condensed columns of A from the multiplier array, and
 * intermediate matrices read back from DRAM) → the multiplier array → the merge tree's layers with
 * their FIFO fill levels as bars → the round's output (a partial matrix to DRAM, or C). Below, the
 * merge schedule (Huffman or naive) as a tree with the rounds done, running and to come, and the
 * prefetch buffer's hits and misses over time with the current moment marked.
 *
 * The widget only draws; the page owns the scrubber and the play/pause clock and sets the frame. */
#pragma once

#include <gtk/gtk.h>

#include "fr-sparch.h"

G_BEGIN_DECLS

#define FRONTIER_TYPE_SPARCH_PIPELINE (frontier_sparch_pipeline_get_type())
G_DECLARE_FINAL_TYPE(FrontierSparchPipeline, frontier_sparch_pipeline, FRONTIER, SPARCH_PIPELINE, GtkWidget)

GtkWidget *frontier_sparch_pipeline_new             (void);
/* result is borrowed: it must outlive the widget's use of it (set NULL before freeing it). A result
 * without a trace shows the placeholder. */
void       frontier_sparch_pipeline_set_result      (FrontierSparchPipeline *self, const FrSparchResult *result);
/* Frames: the trace's FIFO samples (or its rounds when it has no samples); 0 without a trace. */
gint64     frontier_sparch_pipeline_get_n_frames    (FrontierSparchPipeline *self);
/* Fractional frames interpolate the FIFO levels between samples. */
void       frontier_sparch_pipeline_set_frame       (FrontierSparchPipeline *self, double frame);
double     frontier_sparch_pipeline_get_frame       (FrontierSparchPipeline *self);
/* "Round 3 of 12 · cycle 1,234,567 · merge-bound" for the current frame (new string), or NULL. */
char      *frontier_sparch_pipeline_describe_frame  (FrontierSparchPipeline *self);
void       frontier_sparch_pipeline_set_placeholder (FrontierSparchPipeline *self, const char *text);

G_END_DECLS
