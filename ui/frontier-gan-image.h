/* frontier-gan-image.h: a small grey image (a generated 32x32 item, a sketch, a grid of training
 * samples) drawn upscaled to fit, keeping its aspect ratio: crisp pixels (nearest) or smooth (linear).
 * Shows placeholder text while it has no pixels. Its height follows its width (square for 32x32). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_GAN_IMAGE (frontier_gan_image_get_type())
G_DECLARE_FINAL_TYPE(FrontierGanImage, frontier_gan_image, FRONTIER, GAN_IMAGE, GtkWidget)

GtkWidget  *frontier_gan_image_new             (void);
/* Copies w x h grey bytes (0 black .. 255 white, rows of stride bytes); NULL clears. */
void        frontier_gan_image_set_pixels      (FrontierGanImage *self, const guint8 *grey, int w, int h, int stride);
gboolean    frontier_gan_image_has_pixels      (FrontierGanImage *self);
/* TRUE: linear filtering; FALSE (default): every source pixel a sharp square. */
void        frontier_gan_image_set_smooth      (FrontierGanImage *self, gboolean smooth);
gboolean    frontier_gan_image_get_smooth      (FrontierGanImage *self);
void        frontier_gan_image_set_placeholder (FrontierGanImage *self, const char *text);
/* The accessible label (e.g. "Teacher output") and description (what the image shows now). */
void        frontier_gan_image_set_label       (FrontierGanImage *self, const char *label);
void        frontier_gan_image_set_description (FrontierGanImage *self, const char *description);
/* Size asked for when there is room (default 256 px wide); min-size is the least it accepts (64). */
void        frontier_gan_image_set_natural_size (FrontierGanImage *self, int size);
void        frontier_gan_image_set_min_size     (FrontierGanImage *self, int size);

G_END_DECLS
