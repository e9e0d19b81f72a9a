/* fr-gan-data.c: sketches (edge maps) from Fashion-MNIST items, from any picture, and from a drawn
 * canvas; the sketch -> item pairs the GAN learns from. */
#include <math.h>
#include <string.h>
#include "fr-gan.h"
#include "fr-fmnist.h"

#define PAD ((FR_GAN_SIZE - 28) / 2)

/* ---- edge detection (a small Canny) ------------------------------------------------------------ */

/* img: n x n floats in [0, 1]; edges: n x n bytes set to 1 on an edge. Returns the edge count. */
static int canny(const float *img, int n, guint8 *edges) {
  float *blur = g_new(float, n * n), *tmp = g_new(float, n * n), *mag = g_new0(float, n * n);
  guint8 *dir = g_new0(guint8, n * n);
  /* separable [1 2 1]/4 blur, borders clamped */
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++) {
      int a = MAX(x - 1, 0), b = MIN(x + 1, n - 1);
      tmp[y * n + x] = 0.25f * img[y * n + a] + 0.5f * img[y * n + x] + 0.25f * img[y * n + b];
    }
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++) {
      int a = MAX(y - 1, 0), b = MIN(y + 1, n - 1);
      blur[y * n + x] = 0.25f * tmp[a * n + x] + 0.5f * tmp[y * n + x] + 0.25f * tmp[b * n + x];
    }
  float maxmag = 0;
  for (int y = 1; y < n - 1; y++)
    for (int x = 1; x < n - 1; x++) {
      const float *p = blur + y * n + x;
      float gx = (p[-n + 1] + 2 * p[1] + p[n + 1]) - (p[-n - 1] + 2 * p[-1] + p[n - 1]);
      float gy = (p[n - 1] + 2 * p[n] + p[n + 1]) - (p[-n - 1] + 2 * p[-n] + p[-n + 1]);
      float m = sqrtf(gx * gx + gy * gy);
      mag[y * n + x] = m;
      maxmag = MAX(maxmag, m);
      /* direction quantised to 0: horizontal gradient, 1: 45 deg, 2: vertical, 3: 135 deg */
      float ang = atan2f(gy, gx) * (float)(180.0 / G_PI);
      if (ang < 0) ang += 180;
      dir[y * n + x] = ang < 22.5f || ang >= 157.5f ? 0 : ang < 67.5f ? 1 : ang < 112.5f ? 2 : 3;
    }
  /* non-maximum suppression: keep a pixel only where it is a ridge across the gradient */
  static const int off[4][2] = { { 1, 0 }, { 1, 1 }, { 0, 1 }, { -1, 1 } };
  float *thin = tmp;
  memset(thin, 0, sizeof(float) * n * n);
  for (int y = 1; y < n - 1; y++)
    for (int x = 1; x < n - 1; x++) {
      float m = mag[y * n + x];
      int dx = off[dir[y * n + x]][0], dy = off[dir[y * n + x]][1];
      if (m >= mag[(y + dy) * n + x + dx] && m > mag[(y - dy) * n + x - dx]) thin[y * n + x] = m;
    }
  /* hysteresis: strong edges seed, weak ones join when connected (8-neighbourhood) */
  float hi = MAX(0.20f * maxmag, 0.08f), lo = 0.45f * hi;
  memset(edges, 0, (size_t)n * n);
  int *stack = g_new(int, n * n), sp = 0, count = 0;
  for (int i = 0; i < n * n; i++)
    if (thin[i] >= hi) edges[i] = 1, stack[sp++] = i, count++;
  while (sp > 0) {
    int i = stack[--sp], y = i / n, x = i % n;
    for (int dy = -1; dy <= 1; dy++)
      for (int dx = -1; dx <= 1; dx++) {
        int yy = y + dy, xx = x + dx;
        if (yy < 0 || yy >= n || xx < 0 || xx >= n) continue;
        int j = yy * n + xx;
        if (!edges[j] && thin[j] >= lo) edges[j] = 1, stack[sp++] = j, count++;
      }
  }
  g_free(stack);
  g_free(blur);
  g_free(tmp);
  g_free(mag);
  g_free(dir);
  return count;
}

static int edges_to_sketch(const float *img28, float *sketch32) {
  guint8 e[28 * 28];
  int count = canny(img28, 28, e);
  for (int i = 0; i < FR_GAN_PIXELS; i++) sketch32[i] = -1.0f;
  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++)
      if (e[y * 28 + x]) sketch32[(y + PAD) * FR_GAN_SIZE + x + PAD] = 1.0f;
  return count;
}

void fr_gan_edges_from_fmnist(const guint8 *img28, float *sketch32) {
  float f[28 * 28];
  for (int i = 0; i < 28 * 28; i++) f[i] = img28[i] / 255.0f;
  edges_to_sketch(f, sketch32);
}

/* ---- any picture ------------------------------------------------------------------------------- */

gboolean fr_gan_edges_from_image(const guint8 *gray, int w, int h, int stride, float *sketch32, GError **error) {
  if (!gray || w < 4 || h < 4 || w > 16384 || h > 16384 || stride < w) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "the image is empty or its size (%d x %d) is out of range", w, h);
    return FALSE;
  }
  /* background from the border: a light one (a photo on white) is inverted to Fashion-MNIST's dark */
  double border = 0;
  int nb = 0;
  for (int x = 0; x < w; x++) border += gray[x] + gray[(size_t)(h - 1) * stride + x], nb += 2;
  for (int y = 0; y < h; y++) border += gray[(size_t)y * stride] + gray[(size_t)y * stride + w - 1], nb += 2;
  border /= nb;
  gboolean invert = border > 127;
  double bg = invert ? 255 - border : border;
  /* bounding box of what differs from the background */
  int x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int v = gray[(size_t)y * stride + x];
      if (invert) v = 255 - v;
      if (v - bg > 40) x0 = MIN(x0, x), x1 = MAX(x1, x), y0 = MIN(y0, y), y1 = MAX(y1, y);
    }
  if (x1 < 0) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "the image has no object to take edges from (it is one flat colour)");
    return FALSE;
  }
  /* fit the box into 28x28 keeping the aspect, centred, by area averaging */
  int bw = x1 - x0 + 1, bh = y1 - y0 + 1, side = MAX(bw, bh);
  double scale = 28.0 / side;
  int ow = MAX(1, (int)lround(bw * scale)), oh = MAX(1, (int)lround(bh * scale));
  int ox = (28 - ow) / 2, oy = (28 - oh) / 2;
  float img[28 * 28] = { 0 };
  for (int ty = 0; ty < oh; ty++)
    for (int tx = 0; tx < ow; tx++) {
      int sx0 = x0 + (int)(tx / scale), sx1 = MAX(sx0 + 1, x0 + (int)((tx + 1) / scale));
      int sy0 = y0 + (int)(ty / scale), sy1 = MAX(sy0 + 1, y0 + (int)((ty + 1) / scale));
      sx1 = MIN(sx1, x1 + 1), sy1 = MIN(sy1, y1 + 1);
      double s = 0;
      int cnt = 0;
      for (int y = sy0; y < sy1; y++)
        for (int x = sx0; x < sx1; x++) {
          int v = gray[(size_t)y * stride + x];
          s += invert ? 255 - v : v, cnt++;
        }
      double v = cnt ? (s / cnt - bg) / MAX(1.0, 255 - bg) : 0;
      img[(oy + ty) * 28 + ox + tx] = (float)CLAMP(v, 0.0, 1.0);
    }
  if (edges_to_sketch(img, sketch32) < 3) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "no edges found in the image");
    return FALSE;
  }
  return TRUE;
}

/* ---- a drawn canvas ---------------------------------------------------------------------------- */

int fr_gan_sketch_from_canvas(const guint8 *ink, int w, int h, int stride, float *sketch32) {
  int count = 0;
  for (int i = 0; i < FR_GAN_PIXELS; i++) sketch32[i] = -1.0f;
  if (!ink || w < 1 || h < 1) return 0;
  for (int cy = 0; cy < FR_GAN_SIZE; cy++)
    for (int cx = 0; cx < FR_GAN_SIZE; cx++) {
      int xa = cx * w / FR_GAN_SIZE, xb = MAX(xa + 1, (cx + 1) * w / FR_GAN_SIZE);
      int ya = cy * h / FR_GAN_SIZE, yb = MAX(ya + 1, (cy + 1) * h / FR_GAN_SIZE);
      xb = MIN(xb, w), yb = MIN(yb, h);
      double s = 0;
      int n = 0;
      for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++) s += ink[(size_t)y * stride + x], n++;
      if (n && s / n >= 0.25 * 255) sketch32[cy * FR_GAN_SIZE + cx] = 1.0f, count++;
    }
  return count;
}

void fr_gan_image_to_bytes(const float *img32, guint8 *out, int n_pixels) {
  for (int i = 0; i < n_pixels; i++) {
    float v = (img32[i] + 1.0f) * 127.5f;
    out[i] = (guint8)CLAMP(lrintf(v), 0, 255);
  }
}

/* ---- the data set ------------------------------------------------------------------------------ */

FrGanData *fr_gan_data_load(const char *fmnist_dir, gboolean train, GError **error) {
  FrFmnist *f = fr_fmnist_load(fmnist_dir, train, error);
  if (!f) return NULL;
  FrGanData *d = g_new0(FrGanData, 1);
  d->n = f->n;
  d->sketch = g_new(float, (size_t)f->n * FR_GAN_PIXELS);
  d->image = g_new(float, (size_t)f->n * FR_GAN_PIXELS);
  d->labels = g_memdup2(f->labels, (gsize)f->n);
  for (int i = 0; i < f->n; i++) {
    const guint8 *px = f->pixels + (size_t)i * 28 * 28;
    fr_gan_edges_from_fmnist(px, d->sketch + (size_t)i * FR_GAN_PIXELS);
    float *im = d->image + (size_t)i * FR_GAN_PIXELS;
    for (int k = 0; k < FR_GAN_PIXELS; k++) im[k] = -1.0f;
    for (int y = 0; y < 28; y++)
      for (int x = 0; x < 28; x++) im[(y + PAD) * FR_GAN_SIZE + x + PAD] = px[y * 28 + x] / 127.5f - 1.0f;
  }
  fr_fmnist_free(f);
  return d;
}

void fr_gan_data_free(FrGanData *d) {
  if (!d) return;
  g_free(d->sketch);
  g_free(d->image);
  g_free(d->labels);
  g_free(d);
}
