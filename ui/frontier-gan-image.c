/* frontier-gan-image.c: see frontier-gan-image.h.
 *
 * GTK 4.8 has no per-node texture filter, so the sharp look is made by replicating every source pixel
 * into a k x k block of the texture (a 32x32 item becomes 256x256): linear filtering of that texture at
 * any on-screen size only softens the block edges by a fraction of a source pixel. */
#include <math.h>
#include <string.h>

#include "frontier-gan-image.h"
#include "frontier-sparch-draw.h"

#define REPLICATE_TO 256  /* the replicated texture's larger side, at least */

struct _FrontierGanImage {
  GtkWidget parent_instance;

  guint8 *pixels;   /* w x h, packed */
  int w, h;
  gboolean smooth;
  GdkTexture *texture;  /* built lazily for the current pixels and filter */
  char *placeholder;
  int natural_size, min_size;
  double empty_aspect;  /* height / width while there are no pixels */
};

G_DEFINE_FINAL_TYPE(FrontierGanImage, frontier_gan_image, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_SMOOTH, PROP_PLACEHOLDER, PROP_LABEL, PROP_NATURAL_SIZE, PROP_MIN_SIZE, PROP_EMPTY_ASPECT, N_PROPS };
static GParamSpec *properties[N_PROPS];

static GdkTexture *
build_texture(FrontierGanImage *self)
{
  int k = self->smooth ? 1 : MAX(1, (REPLICATE_TO + MAX(self->w, self->h) - 1) / MAX(self->w, self->h));
  int tw = self->w * k, th = self->h * k;
  gsize stride = (gsize)tw * 3;
  guint8 *rgb = g_malloc((gsize)th * stride);
  for (int y = 0; y < self->h; y++) {
    guint8 *row = rgb + (gsize)y * k * stride;
    for (int x = 0; x < self->w; x++) {
      guint8 v = self->pixels[y * self->w + x];
      memset(row + (gsize)x * k * 3, v, (gsize)k * 3);
    }
    for (int r = 1; r < k; r++)
      memcpy(row + r * stride, row, stride);
  }
  GBytes *bytes = g_bytes_new_take(rgb, (gsize)th * stride);
  GdkTexture *texture = gdk_memory_texture_new(tw, th, GDK_MEMORY_R8G8B8, bytes, stride);
  g_bytes_unref(bytes);
  return texture;
}

static void
frontier_gan_image_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierGanImage *self = FRONTIER_GAN_IMAGE(widget);
  int width = gtk_widget_get_width(widget), height = gtk_widget_get_height(widget);
  if (width <= 0 || height <= 0)
    return;
  if (self->pixels == NULL) {
    frontier_sparch_draw_placeholder(widget, snapshot, self->placeholder, 12);
    return;
  }
  if (self->texture == NULL)
    self->texture = build_texture(self);
  double scale = MIN((double)width / self->w, (double)height / self->h);
  double dw = self->w * scale, dh = self->h * scale;
  graphene_rect_t bounds = GRAPHENE_RECT_INIT(floor((width - dw) / 2), floor((height - dh) / 2), dw, dh);
  GskRoundedRect clip;
  gsk_rounded_rect_init_from_rect(&clip, &bounds, 6);
  gtk_snapshot_push_rounded_clip(snapshot, &clip);
  gtk_snapshot_append_texture(snapshot, self->texture, &bounds);
  gtk_snapshot_pop(snapshot);
}

static GtkSizeRequestMode
frontier_gan_image_get_request_mode(GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
frontier_gan_image_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                           int *minimum_baseline, int *natural_baseline)
{
  FrontierGanImage *self = FRONTIER_GAN_IMAGE(widget);
  double aspect = self->pixels != NULL ? (double)self->h / self->w : self->empty_aspect;  /* height / width */
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = self->min_size;
    *natural = MAX(self->min_size, self->natural_size);
    return;
  }
  /* Height follows the width up to the natural size, as the minimum too: inside a scrolled window
   * widgets get their minimum height. GTK expects no width to need a larger minimum height than the
   * width-less query, which answers with the cap. The image is fitted into whatever it gets. */
  int nat = MAX(self->min_size, self->natural_size);
  int w = for_size >= 0 ? MIN(for_size, nat) : nat;
  *minimum = *natural = MAX(1, (int)ceil(w * aspect));
}

static void
frontier_gan_image_dispose(GObject *object)
{
  FrontierGanImage *self = FRONTIER_GAN_IMAGE(object);
  g_clear_object(&self->texture);
  G_OBJECT_CLASS(frontier_gan_image_parent_class)->dispose(object);
}

static void
frontier_gan_image_finalize(GObject *object)
{
  FrontierGanImage *self = FRONTIER_GAN_IMAGE(object);
  g_free(self->pixels);
  g_free(self->placeholder);
  G_OBJECT_CLASS(frontier_gan_image_parent_class)->finalize(object);
}

static void
frontier_gan_image_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  FrontierGanImage *self = FRONTIER_GAN_IMAGE(object);
  switch (prop_id) {
  case PROP_SMOOTH:
    g_value_set_boolean(value, self->smooth);
    break;
  case PROP_PLACEHOLDER:
    g_value_set_string(value, self->placeholder);
    break;
  case PROP_NATURAL_SIZE:
    g_value_set_int(value, self->natural_size);
    break;
  case PROP_MIN_SIZE:
    g_value_set_int(value, self->min_size);
    break;
  case PROP_EMPTY_ASPECT:
    g_value_set_double(value, self->empty_aspect);
    break;
  case PROP_LABEL:
    g_value_set_string(value, NULL);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void
frontier_gan_image_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  FrontierGanImage *self = FRONTIER_GAN_IMAGE(object);
  switch (prop_id) {
  case PROP_SMOOTH:
    frontier_gan_image_set_smooth(self, g_value_get_boolean(value));
    break;
  case PROP_PLACEHOLDER:
    frontier_gan_image_set_placeholder(self, g_value_get_string(value));
    break;
  case PROP_NATURAL_SIZE:
    frontier_gan_image_set_natural_size(self, g_value_get_int(value));
    break;
  case PROP_MIN_SIZE:
    frontier_gan_image_set_min_size(self, g_value_get_int(value));
    break;
  case PROP_EMPTY_ASPECT:
    self->empty_aspect = g_value_get_double(value);
    if (self->pixels == NULL)
      gtk_widget_queue_resize(GTK_WIDGET(self));
    break;
  case PROP_LABEL:
    frontier_gan_image_set_label(self, g_value_get_string(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void
frontier_gan_image_class_init(FrontierGanImageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->dispose = frontier_gan_image_dispose;
  object_class->finalize = frontier_gan_image_finalize;
  object_class->get_property = frontier_gan_image_get_property;
  object_class->set_property = frontier_gan_image_set_property;
  widget_class->snapshot = frontier_gan_image_snapshot;
  widget_class->measure = frontier_gan_image_measure;
  widget_class->get_request_mode = frontier_gan_image_get_request_mode;

  properties[PROP_SMOOTH] = g_param_spec_boolean("smooth", NULL, NULL, FALSE,
                                                 G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PLACEHOLDER] = g_param_spec_string("placeholder", NULL, NULL, NULL,
                                                     G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LABEL] = g_param_spec_string("label", NULL, NULL, NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  properties[PROP_NATURAL_SIZE] = g_param_spec_int("natural-size", NULL, NULL, 16, 4096, 256,
                                                   G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MIN_SIZE] = g_param_spec_int("min-size", NULL, NULL, 16, 4096, 64,
                                               G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Height over width while there are no pixels (the placeholder's room). */
  properties[PROP_EMPTY_ASPECT] = g_param_spec_double("empty-aspect", NULL, NULL, 0.05, 20, 1,
                                                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name(widget_class, "ganimage");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
frontier_gan_image_init(FrontierGanImage *self)
{
  self->natural_size = 256;
  self->min_size = 64;
  self->empty_aspect = 1;
  gtk_widget_set_overflow(GTK_WIDGET(self), GTK_OVERFLOW_HIDDEN);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, "Image",
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, "Empty", -1);
}

GtkWidget *
frontier_gan_image_new(void)
{
  return g_object_new(FRONTIER_TYPE_GAN_IMAGE, NULL);
}

void
frontier_gan_image_set_pixels(FrontierGanImage *self, const guint8 *grey, int w, int h, int stride)
{
  g_return_if_fail(FRONTIER_IS_GAN_IMAGE(self));
  gboolean had = self->pixels != NULL;
  gboolean resized = grey == NULL || w != self->w || h != self->h;
  g_clear_object(&self->texture);
  if (grey == NULL || w <= 0 || h <= 0) {
    g_clear_pointer(&self->pixels, g_free);
    self->w = self->h = 0;
  } else {
    if (self->pixels == NULL || resized)
      self->pixels = g_realloc(self->pixels, (gsize)w * h);
    for (int y = 0; y < h; y++)
      memcpy(self->pixels + (gsize)y * w, grey + (gsize)y * stride, (gsize)w);
    self->w = w;
    self->h = h;
  }
  if (resized || had != (self->pixels != NULL))
    gtk_widget_queue_resize(GTK_WIDGET(self));
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

gboolean
frontier_gan_image_has_pixels(FrontierGanImage *self)
{
  g_return_val_if_fail(FRONTIER_IS_GAN_IMAGE(self), FALSE);
  return self->pixels != NULL;
}

void
frontier_gan_image_set_smooth(FrontierGanImage *self, gboolean smooth)
{
  g_return_if_fail(FRONTIER_IS_GAN_IMAGE(self));
  smooth = !!smooth;
  if (self->smooth == smooth)
    return;
  self->smooth = smooth;
  g_clear_object(&self->texture);
  gtk_widget_queue_draw(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_SMOOTH]);
}

gboolean
frontier_gan_image_get_smooth(FrontierGanImage *self)
{
  g_return_val_if_fail(FRONTIER_IS_GAN_IMAGE(self), FALSE);
  return self->smooth;
}

void
frontier_gan_image_set_placeholder(FrontierGanImage *self, const char *text)
{
  g_return_if_fail(FRONTIER_IS_GAN_IMAGE(self));
  if (g_strcmp0(self->placeholder, text) == 0)
    return;
  g_free(self->placeholder);
  self->placeholder = g_strdup(text);
  if (self->pixels == NULL)
    gtk_widget_queue_draw(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_PLACEHOLDER]);
}

void
frontier_gan_image_set_label(FrontierGanImage *self, const char *label)
{
  g_return_if_fail(FRONTIER_IS_GAN_IMAGE(self));
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 label != NULL ? label : "Image", -1);
}

void
frontier_gan_image_set_description(FrontierGanImage *self, const char *description)
{
  g_return_if_fail(FRONTIER_IS_GAN_IMAGE(self));
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                 description != NULL ? description : "", -1);
}

void
frontier_gan_image_set_natural_size(FrontierGanImage *self, int size)
{
  g_return_if_fail(FRONTIER_IS_GAN_IMAGE(self));
  size = CLAMP(size, 16, 4096);
  if (self->natural_size == size)
    return;
  self->natural_size = size;
  gtk_widget_queue_resize(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_NATURAL_SIZE]);
}

void
frontier_gan_image_set_min_size(FrontierGanImage *self, int size)
{
  g_return_if_fail(FRONTIER_IS_GAN_IMAGE(self));
  size = CLAMP(size, 16, 4096);
  if (self->min_size == size)
    return;
  self->min_size = size;
  gtk_widget_queue_resize(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_MIN_SIZE]);
}
