/* frontier-gan-canvas.c: see frontier-gan-canvas.h.
 *
 * Strokes are stamped into the ink buffer as anti-aliased capsules (a disc swept along each segment
 * between two pointer positions), so fast strokes stay continuous. The buffer is shown as a texture of
 * black ink with alpha = ink over white paper, rebuilt at most once per frame; the 32x32 cells the
 * generators see are computed by the engine's fr_gan_sketch_from_canvas, like the page does. */
#include <math.h>
#include <string.h>

#include "fr-gan.h"

#include "frontier-gan-canvas.h"

#define N FRONTIER_GAN_CANVAS_SIZE
#define PEN_RADIUS 5.5      /* canvas px: a line about one sketch pixel wide (N / 32 = 10 px) */
#define ERASER_RADIUS 14.0
#define MAX_UNDO 32
#define MAX_SIDE 360        /* the tallest the paper asks to be */

struct _FrontierGanCanvas {
  GtkWidget parent_instance;

  guint8 *ink;              /* N x N */
  GQueue undo;              /* guint8 * copies of ink, newest at the head */
  FrontierGanTool tool;
  gboolean show_input;
  guint64 serial;

  /* The stroke in progress. */
  gboolean drawing;
  gboolean erasing;
  double start_x, start_y;  /* widget coordinates of the drag's start */
  double last_x, last_y;    /* canvas coordinates of the last stamped point */
  gboolean stroke_changed;

  /* Pointer, for the brush outline. */
  gboolean hover;
  double hover_x, hover_y;

  /* Caches. */
  GdkTexture *texture;
  float sketch[FR_GAN_PIXELS];
  int strokes;
  gboolean sketch_valid;
  gboolean blank;
  gboolean blank_valid;
  int a11y_strokes;         /* what the accessible description last said */
  gboolean a11y_blank;
};

G_DEFINE_FINAL_TYPE(FrontierGanCanvas, frontier_gan_canvas, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_TOOL, PROP_SHOW_INPUT, PROP_CAN_UNDO, N_PROPS };
static GParamSpec *properties[N_PROPS];
enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- geometry ---- */

/* The paper's square inside the widget: origin and scale (widget px per canvas px). */
static void
paper_rect(FrontierGanCanvas *self, double *ox, double *oy, double *scale)
{
  int w = gtk_widget_get_width(GTK_WIDGET(self)), h = gtk_widget_get_height(GTK_WIDGET(self));
  double side = MAX(1, MIN(w, h));
  *scale = side / N;
  *ox = floor((w - side) / 2);
  *oy = floor((h - side) / 2);
}

static void
to_canvas(FrontierGanCanvas *self, double wx, double wy, double *cx, double *cy)
{
  double ox, oy, scale;
  paper_rect(self, &ox, &oy, &scale);
  *cx = (wx - ox) / scale;
  *cy = (wy - oy) / scale;
}

/* ---- changes ---- */

static void
invalidate(FrontierGanCanvas *self)
{
  self->serial++;
  self->sketch_valid = FALSE;
  self->blank_valid = FALSE;
  g_clear_object(&self->texture);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
update_accessible(FrontierGanCanvas *self)
{
  int strokes = frontier_gan_canvas_get_sketch(self, NULL);
  gboolean blank = frontier_gan_canvas_is_blank(self);
  /* Only when it says something new: a stroke changes the ink at every pointer motion. */
  if (strokes == self->a11y_strokes && blank == self->a11y_blank)
    return;
  self->a11y_strokes = strokes;
  self->a11y_blank = blank;
  g_autofree char *text = frontier_gan_canvas_is_blank(self)
                            ? g_strdup("Blank paper")
                            : g_strdup_printf("A sketch: %d of 1024 input pixels are strokes", strokes);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
}

static void
emit_changed(FrontierGanCanvas *self)
{
  update_accessible(self);
  g_signal_emit(self, signals[CHANGED], 0);
}

static void
push_undo(FrontierGanCanvas *self)
{
  gboolean could = self->undo.length > 0;
  g_queue_push_head(&self->undo, g_memdup2(self->ink, (gsize)N * N));
  while (self->undo.length > MAX_UNDO)
    g_free(g_queue_pop_tail(&self->undo));
  if (!could)
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_CAN_UNDO]);
}

/* Drops the newest undo copy (a stroke that changed nothing). */
static void
drop_undo(FrontierGanCanvas *self)
{
  g_free(g_queue_pop_head(&self->undo));
  if (self->undo.length == 0)
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_CAN_UNDO]);
}

/* Stamps the capsule from (x0, y0) to (x1, y1), canvas px. TRUE when a byte changed. */
static gboolean
stamp_segment(FrontierGanCanvas *self, double x0, double y0, double x1, double y1, gboolean erase)
{
  double r = erase ? ERASER_RADIUS : PEN_RADIUS;
  int bx0 = MAX(0, (int)floor(MIN(x0, x1) - r - 1)), bx1 = MIN(N - 1, (int)ceil(MAX(x0, x1) + r + 1));
  int by0 = MAX(0, (int)floor(MIN(y0, y1) - r - 1)), by1 = MIN(N - 1, (int)ceil(MAX(y0, y1) + r + 1));
  double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  gboolean changed = FALSE;
  for (int y = by0; y <= by1; y++) {
    guint8 *row = self->ink + (gsize)y * N;
    for (int x = bx0; x <= bx1; x++) {
      double px = x + 0.5, py = y + 0.5;
      double t = len2 > 0 ? CLAMP(((px - x0) * dx + (py - y0) * dy) / len2, 0, 1) : 0;
      double ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
      double cov = CLAMP(r + 0.5 - sqrt(ex * ex + ey * ey), 0, 1);
      if (cov <= 0)
        continue;
      guint8 v = (guint8)lround(erase ? (1 - cov) * 255 : cov * 255);
      if (erase ? v < row[x] : v > row[x]) {
        row[x] = v;
        changed = TRUE;
      }
    }
  }
  return changed;
}

/* ---- input ---- */

static gboolean
event_erases(FrontierGanCanvas *self, GtkGesture *gesture)
{
  if (gtk_gesture_single_get_current_button(GTK_GESTURE_SINGLE(gesture)) == GDK_BUTTON_SECONDARY)
    return TRUE;
  GdkEventSequence *seq = gtk_gesture_single_get_current_sequence(GTK_GESTURE_SINGLE(gesture));
  GdkEvent *event = gtk_gesture_get_last_event(gesture, seq);
  GdkDeviceTool *tool = event != NULL ? gdk_event_get_device_tool(event) : NULL;
  if (tool != NULL && gdk_device_tool_get_tool_type(tool) == GDK_DEVICE_TOOL_TYPE_ERASER)
    return TRUE;
  return self->tool == FRONTIER_GAN_TOOL_ERASER;
}

static void
drag_begin_cb(GtkGestureDrag *gesture, double x, double y, FrontierGanCanvas *self)
{
  guint button = gtk_gesture_single_get_current_button(GTK_GESTURE_SINGLE(gesture));
  if (button != 0 && button != GDK_BUTTON_PRIMARY && button != GDK_BUTTON_SECONDARY) {
    gtk_gesture_set_state(GTK_GESTURE(gesture), GTK_EVENT_SEQUENCE_DENIED);
    return;
  }
  gtk_gesture_set_state(GTK_GESTURE(gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  gtk_widget_grab_focus(GTK_WIDGET(self));
  self->drawing = TRUE;
  self->erasing = event_erases(self, GTK_GESTURE(gesture));
  self->start_x = x;
  self->start_y = y;
  to_canvas(self, x, y, &self->last_x, &self->last_y);
  push_undo(self);
  self->stroke_changed = stamp_segment(self, self->last_x, self->last_y, self->last_x, self->last_y, self->erasing);
  if (self->stroke_changed) {
    invalidate(self);
    emit_changed(self);
  }
}

static void
drag_update_cb(GtkGestureDrag *gesture, double off_x, double off_y, FrontierGanCanvas *self)
{
  if (!self->drawing)
    return;
  double cx, cy;
  to_canvas(self, self->start_x + off_x, self->start_y + off_y, &cx, &cy);
  self->hover = TRUE;
  self->hover_x = self->start_x + off_x;
  self->hover_y = self->start_y + off_y;
  if (stamp_segment(self, self->last_x, self->last_y, cx, cy, self->erasing)) {
    self->stroke_changed = TRUE;
    invalidate(self);
    emit_changed(self);
  } else {
    gtk_widget_queue_draw(GTK_WIDGET(self));
  }
  self->last_x = cx;
  self->last_y = cy;
}

static void
drag_end_cb(GtkGestureDrag *gesture, double off_x, double off_y, FrontierGanCanvas *self)
{
  if (!self->drawing)
    return;
  self->drawing = FALSE;
  if (!self->stroke_changed)
    drop_undo(self);
}

static void
drag_cancel_cb(GtkGesture *gesture, GdkEventSequence *sequence, FrontierGanCanvas *self)
{
  drag_end_cb(GTK_GESTURE_DRAG(gesture), 0, 0, self);
}

static void
motion_cb(GtkEventControllerMotion *motion, double x, double y, FrontierGanCanvas *self)
{
  self->hover = TRUE;
  self->hover_x = x;
  self->hover_y = y;
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
leave_cb(GtkEventControllerMotion *motion, FrontierGanCanvas *self)
{
  self->hover = FALSE;
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

/* ---- drawing ---- */

static GdkTexture *
ink_texture(FrontierGanCanvas *self)
{
  /* Black ink, premultiplied: every channel 0 but alpha. */
  guint8 *px = g_malloc0((gsize)N * N * 4);
  for (gsize i = 0; i < (gsize)N * N; i++)
    px[i * 4 + 3] = self->ink[i];
  GBytes *bytes = g_bytes_new_take(px, (gsize)N * N * 4);
  GdkTexture *texture = gdk_memory_texture_new(N, N, GDK_MEMORY_B8G8R8A8_PREMULTIPLIED, bytes, (gsize)N * 4);
  g_bytes_unref(bytes);
  return texture;
}

static void
frontier_gan_canvas_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierGanCanvas *self = FRONTIER_GAN_CANVAS(widget);
  double ox, oy, scale;
  paper_rect(self, &ox, &oy, &scale);
  double side = scale * N;
  graphene_rect_t paper = GRAPHENE_RECT_INIT(ox, oy, side, side);
  GskRoundedRect clip;
  gsk_rounded_rect_init_from_rect(&clip, &paper, 8);
  gtk_snapshot_push_rounded_clip(snapshot, &clip);

  GdkRGBA white = { 1, 1, 1, 1 };
  gtk_snapshot_append_color(snapshot, &white, &paper);

  /* The cells the generators see, faintly, under the ink. */
  if (self->show_input && !frontier_gan_canvas_is_blank(self)) {
    float sketch[FR_GAN_PIXELS];
    frontier_gan_canvas_get_sketch(self, sketch);
    GdkRGBA cell;
    gdk_rgba_parse(&cell, "rgba(53,132,228,0.22)");
    double cs = side / FR_GAN_SIZE;
    for (int y = 0; y < FR_GAN_SIZE; y++)
      for (int x = 0; x < FR_GAN_SIZE; x++)
        if (sketch[y * FR_GAN_SIZE + x] > 0)
          gtk_snapshot_append_color(snapshot, &cell, &GRAPHENE_RECT_INIT(ox + x * cs, oy + y * cs, cs, cs));
  }

  if (!frontier_gan_canvas_is_blank(self)) {
    if (self->texture == NULL)
      self->texture = ink_texture(self);
    gtk_snapshot_append_texture(snapshot, self->texture, &paper);
  } else {
    GdkRGBA dim = { 0, 0, 0, 0.38 };
    PangoLayout *layout = gtk_widget_create_pango_layout(widget, "Draw an outline here");
    pango_layout_set_width(layout, (int)((side - 32) * PANGO_SCALE));
    pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER);
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD);
    int lw, lh;
    pango_layout_get_pixel_size(layout, &lw, &lh);
    gtk_snapshot_save(snapshot);
    gtk_snapshot_translate(snapshot, &GRAPHENE_POINT_INIT(ox + 16, oy + (side - lh) / 2));
    gtk_snapshot_append_layout(snapshot, layout, &dim);
    gtk_snapshot_restore(snapshot);
    g_object_unref(layout);
  }

  /* The brush, where the pointer is. */
  if (self->hover) {
    gboolean erase = self->drawing ? self->erasing : self->tool == FRONTIER_GAN_TOOL_ERASER;
    double r = (erase ? ERASER_RADIUS : PEN_RADIUS) * scale;
    cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &paper);
    cairo_arc(cr, self->hover_x, self->hover_y, r, 0, 2 * G_PI);
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgba(cr, 0, 0, 0, 0.55);
    cairo_stroke_preserve(cr);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.7);
    double dash = 3;
    cairo_set_dash(cr, &dash, 1, 0);
    cairo_stroke(cr);
    cairo_destroy(cr);
  }
  gtk_snapshot_pop(snapshot);

  /* A hairline round the paper, from the theme. */
  GdkRGBA fg;
  gtk_style_context_get_color(gtk_widget_get_style_context(widget), &fg);
  fg.alpha *= 0.18;
  float widths[4] = { 1, 1, 1, 1 };
  GdkRGBA colors[4] = { fg, fg, fg, fg };
  gtk_snapshot_append_border(snapshot, &clip, widths, colors);
}

static GtkSizeRequestMode
frontier_gan_canvas_get_request_mode(GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
frontier_gan_canvas_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                            int *minimum_baseline, int *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = 200;
    *natural = N;
  } else {
    /* Square up to MAX_SIDE px, as the minimum too (widgets in a scrolled window get their minimum);
     * the width-less query answers with the cap, as GTK expects no width to need more. */
    *minimum = *natural = for_size >= 0 ? MIN(for_size, MAX_SIDE) : MAX_SIDE;
  }
}

/* ---- GObject ---- */

static void
frontier_gan_canvas_finalize(GObject *object)
{
  FrontierGanCanvas *self = FRONTIER_GAN_CANVAS(object);
  g_clear_object(&self->texture);
  g_queue_clear_full(&self->undo, g_free);
  g_free(self->ink);
  G_OBJECT_CLASS(frontier_gan_canvas_parent_class)->finalize(object);
}

static void
frontier_gan_canvas_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  FrontierGanCanvas *self = FRONTIER_GAN_CANVAS(object);
  switch (prop_id) {
  case PROP_TOOL:
    g_value_set_int(value, self->tool);
    break;
  case PROP_SHOW_INPUT:
    g_value_set_boolean(value, self->show_input);
    break;
  case PROP_CAN_UNDO:
    g_value_set_boolean(value, self->undo.length > 0);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void
frontier_gan_canvas_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  FrontierGanCanvas *self = FRONTIER_GAN_CANVAS(object);
  switch (prop_id) {
  case PROP_TOOL:
    frontier_gan_canvas_set_tool(self, (FrontierGanTool)g_value_get_int(value));
    break;
  case PROP_SHOW_INPUT:
    frontier_gan_canvas_set_show_input(self, g_value_get_boolean(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void
frontier_gan_canvas_class_init(FrontierGanCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->finalize = frontier_gan_canvas_finalize;
  object_class->get_property = frontier_gan_canvas_get_property;
  object_class->set_property = frontier_gan_canvas_set_property;
  widget_class->snapshot = frontier_gan_canvas_snapshot;
  widget_class->measure = frontier_gan_canvas_measure;
  widget_class->get_request_mode = frontier_gan_canvas_get_request_mode;

  properties[PROP_TOOL] = g_param_spec_int("tool", NULL, NULL, FRONTIER_GAN_TOOL_PEN, FRONTIER_GAN_TOOL_ERASER,
                                           FRONTIER_GAN_TOOL_PEN,
                                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_INPUT] = g_param_spec_boolean("show-input", NULL, NULL, TRUE,
                                                     G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                                                       G_PARAM_STATIC_STRINGS);
  properties[PROP_CAN_UNDO] = g_param_spec_boolean("can-undo", NULL, NULL, FALSE,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(object_class, N_PROPS, properties);

  /**
   * FrontierGanCanvas::changed:
   * The drawing changed (a stroke segment, clear, undo, a loaded sketch).
   */
  signals[CHANGED] = g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                  G_TYPE_NONE, 0);

  gtk_widget_class_set_css_name(widget_class, "gancanvas");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
frontier_gan_canvas_init(FrontierGanCanvas *self)
{
  GtkWidget *widget = GTK_WIDGET(self);
  self->ink = g_malloc0((gsize)N * N);
  self->show_input = TRUE;
  self->a11y_blank = TRUE;
  g_queue_init(&self->undo);
  gtk_widget_set_focusable(widget, TRUE);
  gtk_widget_set_cursor_from_name(widget, "crosshair");

  GtkGesture *drag = gtk_gesture_drag_new();
  gtk_gesture_single_set_button(GTK_GESTURE_SINGLE(drag), 0);
  g_signal_connect(drag, "drag-begin", G_CALLBACK(drag_begin_cb), self);
  g_signal_connect(drag, "drag-update", G_CALLBACK(drag_update_cb), self);
  g_signal_connect(drag, "drag-end", G_CALLBACK(drag_end_cb), self);
  g_signal_connect(drag, "cancel", G_CALLBACK(drag_cancel_cb), self);
  gtk_widget_add_controller(widget, GTK_EVENT_CONTROLLER(drag));

  GtkEventController *motion = gtk_event_controller_motion_new();
  g_signal_connect(motion, "motion", G_CALLBACK(motion_cb), self);
  g_signal_connect(motion, "enter", G_CALLBACK(motion_cb), self);
  g_signal_connect(motion, "leave", G_CALLBACK(leave_cb), self);
  gtk_widget_add_controller(widget, motion);

  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, "Sketch canvas",
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, "Blank paper", -1);
}

GtkWidget *
frontier_gan_canvas_new(void)
{
  return g_object_new(FRONTIER_TYPE_GAN_CANVAS, NULL);
}

void
frontier_gan_canvas_set_tool(FrontierGanCanvas *self, FrontierGanTool tool)
{
  g_return_if_fail(FRONTIER_IS_GAN_CANVAS(self));
  if (self->tool == tool)
    return;
  self->tool = tool;
  gtk_widget_queue_draw(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_TOOL]);
}

FrontierGanTool
frontier_gan_canvas_get_tool(FrontierGanCanvas *self)
{
  g_return_val_if_fail(FRONTIER_IS_GAN_CANVAS(self), FRONTIER_GAN_TOOL_PEN);
  return self->tool;
}

void
frontier_gan_canvas_set_show_input(FrontierGanCanvas *self, gboolean show)
{
  g_return_if_fail(FRONTIER_IS_GAN_CANVAS(self));
  show = !!show;
  if (self->show_input == show)
    return;
  self->show_input = show;
  gtk_widget_queue_draw(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_SHOW_INPUT]);
}

gboolean
frontier_gan_canvas_get_show_input(FrontierGanCanvas *self)
{
  g_return_val_if_fail(FRONTIER_IS_GAN_CANVAS(self), FALSE);
  return self->show_input;
}

void
frontier_gan_canvas_clear(FrontierGanCanvas *self)
{
  g_return_if_fail(FRONTIER_IS_GAN_CANVAS(self));
  if (frontier_gan_canvas_is_blank(self))
    return;
  push_undo(self);
  memset(self->ink, 0, (gsize)N * N);
  invalidate(self);
  emit_changed(self);
}

void
frontier_gan_canvas_set_sketch(FrontierGanCanvas *self, const float *sketch32)
{
  g_return_if_fail(FRONTIER_IS_GAN_CANVAS(self));
  g_return_if_fail(sketch32 != NULL);
  push_undo(self);
  int cell = N / FR_GAN_SIZE;
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++)
      self->ink[y * N + x] = sketch32[(y / cell) * FR_GAN_SIZE + x / cell] > 0 ? 255 : 0;
  invalidate(self);
  emit_changed(self);
}

int
frontier_gan_canvas_get_sketch(FrontierGanCanvas *self, float *sketch32)
{
  g_return_val_if_fail(FRONTIER_IS_GAN_CANVAS(self), 0);
  if (!self->sketch_valid) {
    self->strokes = fr_gan_sketch_from_canvas(self->ink, N, N, N, self->sketch);
    self->sketch_valid = TRUE;
  }
  if (sketch32 != NULL)
    memcpy(sketch32, self->sketch, sizeof self->sketch);
  return self->strokes;
}

gboolean
frontier_gan_canvas_is_blank(FrontierGanCanvas *self)
{
  g_return_val_if_fail(FRONTIER_IS_GAN_CANVAS(self), TRUE);
  if (!self->blank_valid) {
    self->blank = TRUE;
    for (gsize i = 0; i < (gsize)N * N && self->blank; i++)
      if (self->ink[i] != 0)
        self->blank = FALSE;
    self->blank_valid = TRUE;
  }
  return self->blank;
}

gboolean
frontier_gan_canvas_undo(FrontierGanCanvas *self)
{
  g_return_val_if_fail(FRONTIER_IS_GAN_CANVAS(self), FALSE);
  if (self->drawing || self->undo.length == 0)
    return FALSE;
  guint8 *prev = g_queue_pop_head(&self->undo);
  memcpy(self->ink, prev, (gsize)N * N);
  g_free(prev);
  if (self->undo.length == 0)
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_CAN_UNDO]);
  invalidate(self);
  emit_changed(self);
  return TRUE;
}

gboolean
frontier_gan_canvas_can_undo(FrontierGanCanvas *self)
{
  g_return_val_if_fail(FRONTIER_IS_GAN_CANVAS(self), FALSE);
  return self->undo.length > 0;
}

guint64
frontier_gan_canvas_get_serial(FrontierGanCanvas *self)
{
  g_return_val_if_fail(FRONTIER_IS_GAN_CANVAS(self), 0);
  return self->serial;
}

const guint8 *
frontier_gan_canvas_get_ink(FrontierGanCanvas *self)
{
  g_return_val_if_fail(FRONTIER_IS_GAN_CANVAS(self), NULL);
  return self->ink;
}
