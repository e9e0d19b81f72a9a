/* fr-gan-metric.c: the "FID-like" score: a Frechet distance between Gaussians fitted to the Fashion-MNIST
 * classifier's 128-d penultimate features of generated and of real items (not Inception FID), plus
 * the classifier's accuracy on generated items and the L1 distance to the ground truth. */
#include <math.h>
#include <string.h>
#include "fr-gan.h"
#include "fr-classifier.h"

#define FEAT 128

struct FrGanMetric {
  FrClassifier *net;
  double mu[FEAT], *cov;
};

/* 32x32 items in [-1, 1] -> the classifier's 28x28 input in [0, 1] */
static void to_classifier(const float *items, int n, float *out) {
  const int pad = (FR_GAN_SIZE - 28) / 2;
  for (int i = 0; i < n; i++)
    for (int y = 0; y < 28; y++)
      for (int x = 0; x < 28; x++) {
        float v = 0.5f * (items[(size_t)i * FR_GAN_PIXELS + (y + pad) * FR_GAN_SIZE + x + pad] + 1.0f);
        out[(size_t)i * 784 + y * 28 + x] = CLAMP(v, 0.0f, 1.0f);
      }
}

/* Features and logits of n items, in slices so memory stays bounded. */
static void features(FrClassifier *net, const float *items, int n, float *feat, float *logits) {
  const int slice = 500;
  float *img = g_new(float, (size_t)slice * 784), *lg = g_new(float, (size_t)slice * 10);
  for (int i = 0; i < n; i += slice) {
    int m = MIN(slice, n - i);
    to_classifier(items + (size_t)i * FR_GAN_PIXELS, m, img);
    fr_classifier_forward(net, img, m, lg, feat + (size_t)i * FEAT);
    if (logits) memcpy(logits + (size_t)i * 10, lg, sizeof(float) * (size_t)m * 10);
  }
  g_free(img);
  g_free(lg);
}

static void moments(const float *feat, int n, double *mu, double *cov) {
  memset(mu, 0, sizeof(double) * FEAT);
  memset(cov, 0, sizeof(double) * FEAT * FEAT);
  for (int i = 0; i < n; i++)
    for (int a = 0; a < FEAT; a++) mu[a] += feat[(size_t)i * FEAT + a];
  for (int a = 0; a < FEAT; a++) mu[a] /= n;
  double *c = g_new(double, FEAT);
  for (int i = 0; i < n; i++) {
    for (int a = 0; a < FEAT; a++) c[a] = feat[(size_t)i * FEAT + a] - mu[a];
    for (int a = 0; a < FEAT; a++)
      for (int b = a; b < FEAT; b++) cov[a * FEAT + b] += c[a] * c[b];
  }
  for (int a = 0; a < FEAT; a++)
    for (int b = a; b < FEAT; b++) cov[b * FEAT + a] = cov[a * FEAT + b] /= MAX(n - 1, 1);
  g_free(c);
}

/* Cyclic Jacobi eigen-decomposition of a symmetric d x d matrix (float64): a is destroyed, its
 * diagonal left holding the eigenvalues; v (may be NULL) receives the eigenvectors as columns. */
static void jacobi(double *a, int d, double *v) {
  if (v)
    for (int i = 0; i < d; i++)
      for (int j = 0; j < d; j++) v[i * d + j] = i == j;
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0, diag = 0;
    for (int i = 0; i < d; i++) {
      diag += a[i * d + i] * a[i * d + i];
      for (int j = i + 1; j < d; j++) off += a[i * d + j] * a[i * d + j];
    }
    if (off <= 1e-30 * diag || off == 0) break;
    for (int p = 0; p < d; p++)
      for (int q = p + 1; q < d; q++) {
        double apq = a[p * d + q];
        if (fabs(apq) < 1e-300) continue;
        double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
        double c = 1 / sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < d; k++) {   /* columns p, q */
          double akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (int k = 0; k < d; k++) {   /* rows p, q */
          double apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        if (v)
          for (int k = 0; k < d; k++) {
            double vkp = v[k * d + p], vkq = v[k * d + q];
            v[k * d + p] = c * vkp - s * vkq;
            v[k * d + q] = s * vkp + c * vkq;
          }
      }
  }
}

double fr_gan_frechet(const double *mu1, const double *cov1, const double *mu2, const double *cov2, int d) {
  /* tr sqrt(C1 C2) = sum of sqrt(eig(S C2 S)) with S = sqrt(C1), which is symmetric PSD */
  double *a = g_new(double, (size_t)d * d), *v = g_new(double, (size_t)d * d), *s = g_new(double, (size_t)d * d);
  double *m = g_new(double, (size_t)d * d), *t = g_new(double, (size_t)d * d);
  memcpy(a, cov1, sizeof(double) * d * d);
  jacobi(a, d, v);
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) {
      double acc = 0;
      for (int k = 0; k < d; k++) acc += v[i * d + k] * sqrt(MAX(a[k * d + k], 0)) * v[j * d + k];
      s[i * d + j] = acc;
    }
  for (int i = 0; i < d; i++)        /* t = S C2 */
    for (int j = 0; j < d; j++) {
      double acc = 0;
      for (int k = 0; k < d; k++) acc += s[i * d + k] * cov2[k * d + j];
      t[i * d + j] = acc;
    }
  for (int i = 0; i < d; i++)        /* m = t S, symmetrised against rounding */
    for (int j = 0; j < d; j++) {
      double acc = 0;
      for (int k = 0; k < d; k++) acc += t[i * d + k] * s[k * d + j];
      m[i * d + j] = acc;
    }
  for (int i = 0; i < d; i++)
    for (int j = i + 1; j < d; j++) m[i * d + j] = m[j * d + i] = 0.5 * (m[i * d + j] + m[j * d + i]);
  jacobi(m, d, NULL);
  double tr_sqrt = 0, tr1 = 0, tr2 = 0, dmu = 0;
  for (int i = 0; i < d; i++) {
    tr_sqrt += sqrt(MAX(m[i * d + i], 0));
    tr1 += cov1[i * d + i];
    tr2 += cov2[i * d + i];
    dmu += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
  }
  g_free(a), g_free(v), g_free(s), g_free(m), g_free(t);
  return MAX(dmu + tr1 + tr2 - 2 * tr_sqrt, 0.0);
}

FrGanMetric *fr_gan_metric_new(const char *classifier_path, const float *real_items, int n, GError **error) {
  if (n < 2) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "the FID-like score needs at least 2 real items (got %d)", n);
    return NULL;
  }
  char *found = classifier_path ? g_strdup(classifier_path) : fr_data_find("classifier/classifier.safetensors");
  if (!found) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_MODEL,
                "the shipped classifier (data/classifier/classifier.safetensors) was not found; the FID-like score needs it");
    return NULL;
  }
  FrClassifier *net = fr_classifier_load(found, error);
  g_free(found);
  if (!net) return NULL;
  FrGanMetric *m = g_new0(FrGanMetric, 1);
  m->net = net;
  m->cov = g_new(double, FEAT * FEAT);
  float *feat = g_new(float, (size_t)n * FEAT);
  features(net, real_items, n, feat, NULL);
  moments(feat, n, m->mu, m->cov);
  g_free(feat);
  return m;
}

void fr_gan_metric_free(FrGanMetric *m) {
  if (!m) return;
  fr_classifier_free(m->net);
  g_free(m->cov);
  g_free(m);
}

FrGanQuality fr_gan_metric_score(FrGanMetric *m, const float *generated, int n, const guint8 *labels, const float *targets) {
  FrGanQuality q = { .fid_like = -1, .accuracy = -1, .l1 = -1, .n = n };
  if (n < 2) return q;
  float *feat = g_new(float, (size_t)n * FEAT), *logits = g_new(float, (size_t)n * 10);
  features(m->net, generated, n, feat, logits);
  double mu[FEAT], *cov = g_new(double, FEAT * FEAT);
  moments(feat, n, mu, cov);
  q.fid_like = fr_gan_frechet(mu, cov, m->mu, m->cov, FEAT);
  if (labels) {
    int right = 0;
    for (int i = 0; i < n; i++) {
      int best = 0;
      for (int k = 1; k < 10; k++)
        if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
      right += best == labels[i];
    }
    q.accuracy = (double)right / n;
  }
  if (targets) {
    double s = 0;
    for (size_t i = 0; i < (size_t)n * FR_GAN_PIXELS; i++) s += fabsf(generated[i] - targets[i]);
    q.l1 = s / ((double)n * FR_GAN_PIXELS);
  }
  g_free(cov);
  g_free(feat);
  g_free(logits);
  return q;
}

FrGanQuality fr_gan_evaluate(FrGanGenerator *g, const FrGanConfig *c, FrGanMetric *m, const FrGanData *d, int start, int n) {
  n = MIN(n, d->n - start);
  float *out = g_new(float, (size_t)n * FR_GAN_PIXELS);
  fr_gan_generator_run(g, c, d->sketch + (size_t)start * FR_GAN_PIXELS, n, FR_GAN_SIZE, FR_GAN_SIZE, out);
  FrGanQuality q = fr_gan_metric_score(m, out, n, d->labels + start, d->image + (size_t)start * FR_GAN_PIXELS);
  g_free(out);
  return q;
}
