/* frontier-apq-arch.h: the architecture diagram of one APQ candidate, drawn in snapshot().
 *
 * One row per stage: its MBConv blocks as boxes, each with its depthwise kernel, its mid (expanded)
 * channel count (the box's tint grows with it: the pruning axis) and four chips for its bitwidths
 * (pointwise weights and activations, depthwise weights and activations; 4, 6, 8 bits or full
 * precision). Blocks past the stage's depth are inactive and drawn as empty dashed slots. The fixed
 * stem and head are the first and last rows. With a reference spec set (the other candidate of a
 * comparison) the blocks that differ from it are outlined. Hovering a block shows all its numbers;
 * the accessible description lists every block. */
#pragma once

#include <gtk/gtk.h>

#include "fr-apq-space.h"

G_BEGIN_DECLS

#define FRONTIER_TYPE_APQ_ARCH (frontier_apq_arch_get_type())
G_DECLARE_FINAL_TYPE(FrontierApqArch, frontier_apq_arch, FRONTIER, APQ_ARCH, GtkWidget)

GtkWidget *frontier_apq_arch_new             (void);
/* space must outlive the widget (the engine's spaces are static); spec is copied; NULL clears. */
void       frontier_apq_arch_set_spec        (FrontierApqArch   *self,
                                              const FrApqSpace  *space,
                                              const FrApqSpec   *spec);
/* Blocks differing from reference (same space) are outlined; NULL: none. Copied. */
void       frontier_apq_arch_set_reference   (FrontierApqArch *self, const FrApqSpec *reference);
/* Shown while there is no spec. */
void       frontier_apq_arch_set_placeholder (FrontierApqArch *self, const char *text);
/* The accessible label. */
void       frontier_apq_arch_set_label       (FrontierApqArch *self, const char *label);
/* The accessible description's text (new string). */
char      *frontier_apq_arch_describe        (FrontierApqArch *self);

G_END_DECLS
