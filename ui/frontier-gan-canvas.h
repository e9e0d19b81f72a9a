/* frontier-gan-canvas.h: the GAN page's sketch pad. Draw with the mouse, a touchpad or a stylus
 * (pen or eraser tool; the secondary button and a stylus's eraser end always erase). It keeps an ink
 * buffer of FRONTIER_GAN_CANVAS_SIZE² bytes (0 paper .. 255 full ink) and hands the generators its
 * 32x32 sketch (fr_gan_sketch_from_canvas). Every change is undoable and emits ::changed. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define FRONTIER_GAN_CANVAS_SIZE 320

typedef enum {
  FRONTIER_GAN_TOOL_PEN,
  FRONTIER_GAN_TOOL_ERASER,
} FrontierGanTool;

#define FRONTIER_TYPE_GAN_CANVAS (frontier_gan_canvas_get_type())
G_DECLARE_FINAL_TYPE(FrontierGanCanvas, frontier_gan_canvas, FRONTIER, GAN_CANVAS, GtkWidget)

GtkWidget      *frontier_gan_canvas_new          (void);
void            frontier_gan_canvas_set_tool     (FrontierGanCanvas *self, FrontierGanTool tool);
FrontierGanTool frontier_gan_canvas_get_tool     (FrontierGanCanvas *self);
/* Draws the 32x32 cells the generators see under the ink (faintly). Default TRUE. */
void            frontier_gan_canvas_set_show_input (FrontierGanCanvas *self, gboolean show);
gboolean        frontier_gan_canvas_get_show_input (FrontierGanCanvas *self);

/* Wipes the paper (undoable; nothing happens when it is blank already). */
void            frontier_gan_canvas_clear        (FrontierGanCanvas *self);
/* Replaces the drawing with a 32x32 sketch in [-1, 1] (a stroke where > 0), each pixel a full cell. */
void            frontier_gan_canvas_set_sketch   (FrontierGanCanvas *self, const float *sketch32);
/* The generators' input: fills sketch32 (1024 floats) and returns the number of stroke pixels (0: nothing
 * the generators would see, even when there is a little ink). */
int             frontier_gan_canvas_get_sketch   (FrontierGanCanvas *self, float *sketch32);
/* No ink at all. */
gboolean        frontier_gan_canvas_is_blank     (FrontierGanCanvas *self);
gboolean        frontier_gan_canvas_undo         (FrontierGanCanvas *self);
gboolean        frontier_gan_canvas_can_undo     (FrontierGanCanvas *self);
/* Counts changes: equal serials mean the same drawing. */
guint64         frontier_gan_canvas_get_serial   (FrontierGanCanvas *self);
/* The ink buffer (FRONTIER_GAN_CANVAS_SIZE² bytes, rows packed); read-only. */
const guint8   *frontier_gan_canvas_get_ink      (FrontierGanCanvas *self);

G_END_DECLS
