/* fr-gan.h: GAN Compression in miniature: edge sketches -> Fashion-MNIST items.
 *
 * Two generator families, both "ResNet generators" in pix2pix's sense (reflect-pad 7x7 stem, two
 * stride-2 3x3 downsamplings, 9 residual blocks, two stride-2 transposed-conv upsamplings, 7x7 out,
 * tanh; instance norm without affine parameters, ReLU, convolutions with bias):
 *   - FR_GAN_RESNET: the teacher; residual blocks are two plain 3x3 convs.
 *   - FR_GAN_MOBILE: the student; each block's 3x3 convs become depthwise 3x3 + instance norm +
 *     pointwise 1x1 (GAN Compression's MobileResnetBlock). A mobile generator is a once-for-all
 *     supernet: any FrGanConfig no wider than its own runs on sliced weights (first channels).
 *
 * Channel configs are GAN Compression's 8 numbers, in units of the stem width (its "ngf" units):
 *   ch[0] stem width; ch[1]*2 first downsampling; ch[2]*4 residual width (shared by all blocks);
 *   ch[3]*4, ch[4]*4, ch[5]*4 inner widths of blocks 1-3, 4-6, 7-9; ch[6]*2, ch[7] the upsamplings.
 * A teacher of stem width ngf has the config ngf_ngf_..._ngf (its inner widths equal the residual).
 *
 * Images are 32x32 (Fashion-MNIST's 28x28 padded by 2), one channel, NCHW floats in [-1, 1]:
 *   sketches: +1 on a stroke, -1 elsewhere;  items: Fashion-MNIST's grey level mapped to [-1, 1]
 *   (background -1, as in the data set: a bright item on black). */
#pragma once
#include <stdbool.h>
#include <glib.h>
#include "fr-tensor.h"
#include "fr-model-io.h"

G_BEGIN_DECLS

#define FR_GAN_SIZE 32
#define FR_GAN_PIXELS (FR_GAN_SIZE * FR_GAN_SIZE)
#define FR_GAN_BLOCKS 9
#define FR_GAN_CONFIG_LEN 8
/* Splits of Fashion-MNIST's 60k training images: 0..49,999 train, 50,000..59,999 the search split.
 * The 10k test set serves only the final report. */
#define FR_GAN_TRAIN_IMAGES 50000

#define FR_GAN_ERROR (fr_gan_error_quark())
GQuark fr_gan_error_quark(void);
typedef enum {
  FR_GAN_ERROR_INVALID,     /* bad config string, budget, image, argument */
  FR_GAN_ERROR_MODEL,       /* not a Frontier GAN model file, or the wrong kind */
  FR_GAN_ERROR_CHECKPOINT,  /* a checkpoint of another run, or corrupt */
  FR_GAN_ERROR_INFEASIBLE,  /* no sub-generator fits the budget; the message says the minimum */
} FrGanError;

typedef enum { FR_GAN_RESNET, FR_GAN_MOBILE } FrGanKind;

typedef struct { int ch[FR_GAN_CONFIG_LEN]; } FrGanConfig;

/* "16_16_16_16_16_16_16_16" form. */
gboolean fr_gan_config_parse(const char *s, FrGanConfig *out, GError **error);
char *fr_gan_config_to_string(const FrGanConfig *c);
void fr_gan_config_uniform(FrGanConfig *c, int ngf);
bool fr_gan_config_equal(const FrGanConfig *a, const FrGanConfig *b);
/* Every entry <= the same entry of max (and >= 1). */
bool fr_gan_config_fits(const FrGanConfig *c, const FrGanConfig *max);

/* Width choices of the once-for-all student, per config entry, as fractions of the supernet's
 * stem width: {1, 3/4, 1/2, 3/8, 1/4} (16 -> 16, 12, 8, 6, 4). n receives the count. */
const int *fr_gan_width_options(int ngf, int *n);

/* ---- cost ---- */
typedef struct {
  double macs;        /* true multiply-accumulates of one 32x32 image (or the given size) */
  double macs_paper;  /* the paper's convention: a stride-2 transposed conv counted 4x (output-sized) */
  double params;      /* weights + biases */
} FrGanCost;
/* H, W: the input size (FR_GAN_SIZE for the miniature; 256 for the paper's scale). in_c, out_c: image
 * channels (1 here, 3 for the paper's RGB). */
FrGanCost fr_gan_cost(FrGanKind kind, const FrGanConfig *c, int in_c, int out_c, int H, int W);

/* Per-layer costs for charts: fills up to max rows, returns the count. name is static text such as
 * "stem", "down1", "block3.pw1", "up2", "out". */
typedef struct { const char *name; double macs, params; int cin, cout, k, out_h, out_w; } FrGanLayerCost;
int fr_gan_layer_costs(FrGanKind kind, const FrGanConfig *c, int in_c, int out_c, int H, int W,
                       FrGanLayerCost *rows, int max);

/* ---- generators ---- */
typedef struct FrGanGenerator FrGanGenerator;

/* New generator with random init (normal, std 0.02 as pix2pix); max is its widest config. */
FrGanGenerator *fr_gan_generator_new(FrGanKind kind, const FrGanConfig *max, int in_c, int out_c, guint64 seed);
void fr_gan_generator_free(FrGanGenerator *g);
FrGanGenerator *fr_gan_generator_load(const char *path, GError **error);
/* Atomic; metadata pairs (NULL-terminated) are added to the file's own. */
gboolean fr_gan_generator_save(FrGanGenerator *g, const char *path, const char *const *metadata, GError **error);
/* A standalone generator holding only the weights of sub-config c (a chosen student). */
FrGanGenerator *fr_gan_generator_extract(FrGanGenerator *g, const FrGanConfig *c);
FrGanKind fr_gan_generator_kind(const FrGanGenerator *g);
const FrGanConfig *fr_gan_generator_max(const FrGanGenerator *g);
FrParamSet *fr_gan_generator_params(FrGanGenerator *g);
/* Metadata string of a loaded file (e.g. "fid_like", "trained_by"), or NULL. */
const char *fr_gan_generator_get_meta(const FrGanGenerator *g, const char *key);

/* Distillation taps: after the second downsampling and after blocks 3, 6 and 9. */
#define FR_GAN_TAPS 4
/* Differentiable forward on x [N,in_c,H,W] (H, W multiples of 4) in graph gr; c NULL = the widest.
 * When taps is not NULL it receives the FR_GAN_TAPS feature maps. */
FrTensor *fr_gan_generator_forward(FrGanGenerator *g, FrGraph *gr, FrTensor *x, const FrGanConfig *c,
                                   FrTensor **taps);
/* Inference convenience: n images (in_c*H*W floats each) -> out (out_c*H*W each). Thread-safe for
 * concurrent calls on the same generator (weights are only read). c NULL = the widest. Runs stage by
 * stage in two alternating graphs and keeps them for the next call until the generator is freed (two
 * stages' activations: resident memory grows by ~50 MB for the RGB ResNet at 256x256, ~17 MB for 64
 * grey 32x32 images through the miniature's teacher, ~2 MB for one). */
void fr_gan_generator_run(FrGanGenerator *g, const FrGanConfig *c, const float *in, int n, int H, int W, float *out);

/* ---- sketches and data ---- */
/* Edge map of one 28x28 Fashion-MNIST image (bytes) -> 32x32 sketch in [-1, 1]: blur, Sobel, non-maximum
 * suppression, hysteresis thresholds; one-pixel lines like a drawn sketch. */
void fr_gan_edges_from_fmnist(const guint8 *img28, float *sketch32);
/* Any grey image (w x h bytes, 0 = black; an item on a dark background like Fashion-MNIST, or on a light
 * one, which is detected from the border and inverted) -> its edges as a 32x32 sketch. FALSE with error
 * when the image is empty, absurdly sized, or has no edges. */
gboolean fr_gan_edges_from_image(const guint8 *gray, int w, int h, int stride, float *sketch32, GError **error);
/* A drawn canvas (w x h bytes, 0 = white paper .. 255 = full ink) -> 32x32 sketch: area-averaged to
 * 32x32, then ink coverage >= 25% is a stroke. Returns the number of stroke pixels (0: empty canvas). */
int fr_gan_sketch_from_canvas(const guint8 *ink, int w, int h, int stride, float *sketch32);
/* Item 32x32 in [-1, 1] -> bytes (0..255) for display. */
void fr_gan_image_to_bytes(const float *img32, guint8 *out, int n_pixels);

/* The data set as pairs: sketches and items, both n*32*32 floats. train TRUE: Fashion-MNIST's 60k
 * training images (split by FR_GAN_TRAIN_IMAGES), FALSE: the 10k test set. */
typedef struct {
  int n;
  float *sketch, *image;
  guint8 *labels;
} FrGanData;
FrGanData *fr_gan_data_load(const char *fmnist_dir, gboolean train, GError **error);
void fr_gan_data_free(FrGanData *d);

/* ---- quality ---- */
/* The Fashion-MNIST classifier's 128-d penultimate features on generated items (centre 28x28, mapped
 * to [0, 1]). A Frechet distance on them is "FID-like", not Inception FID. */
typedef struct FrGanMetric FrGanMetric;
/* classifier_path NULL: the shipped classifier. Reference statistics are taken from real items. */
FrGanMetric *fr_gan_metric_new(const char *classifier_path, const float *real_items, int n, GError **error);
void fr_gan_metric_free(FrGanMetric *m);
typedef struct {
  double fid_like;     /* Frechet distance of feature statistics, generated vs real */
  double accuracy;     /* classifier accuracy on generated items against the real labels (-1 without labels) */
  double l1;           /* mean |generated - real| in [-1, 1] units (-1 without targets) */
  int n;
} FrGanQuality;
/* Generated items (n*32*32), labels and ground truth items may be NULL. */
FrGanQuality fr_gan_metric_score(FrGanMetric *m, const float *generated, int n, const guint8 *labels,
                                 const float *targets);
/* Frechet distance between two Gaussians (d-dim, float64), exposed for tests. */
double fr_gan_frechet(const double *mu1, const double *cov1, const double *mu2, const double *cov2, int d);
/* Scores generator g at config c on images [start, start+n) of data. */
FrGanQuality fr_gan_evaluate(FrGanGenerator *g, const FrGanConfig *c, FrGanMetric *m, const FrGanData *d,
                             int start, int n);

G_END_DECLS
