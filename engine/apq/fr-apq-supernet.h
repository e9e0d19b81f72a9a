/* fr-apq-supernet.h: the once-for-all network of a space: every block holds its largest weights
 * (kernel 7, widest mid channels) and a subnet uses a slice of them: the first `mid` channels (the
 * weight-sharing of OFA's elastic width), the centre k x k of the depthwise kernel (OFA's elastic
 * kernel, without its learned kernel transform), the first `depth` blocks of each stage.
 *
 * Quantized subnets run with fake quantization (straight-through gradients): per output channel
 * symmetric weights at the block's pw_w / dw_w bits; activations entering the 1x1 convs at pw_a bits,
 * entering the depthwise conv at dw_a bits. Activations after ReLU6 use the unsigned range [0, 6]; a
 * block's input (signed: it comes from a linear projection and a residual sum) uses a symmetric
 * range: in training the batch's max |x|; calibrated (the mean over calibration batches of that) and
 * then fixed for evaluation, like the batch-norm statistics. Stem, head and classifier stay in full
 * precision, as in APQ.
 *
 * Batch-norm statistics are not part of the shared weights: a subnet's statistics depend on which
 * channels and blocks it uses, so they live in a FrApqBnStats that the caller owns and re-calibrates
 * per subnet (OFA's BN re-calibration); this is also what lets threads evaluate different subnets of
 * one supernet at once. */
#pragma once
#include "fr-apq-space.h"
#include "fr-model-io.h"
#include "fr-tensor.h"

G_BEGIN_DECLS

typedef struct _FrApqSupernet FrApqSupernet;
typedef struct _FrApqBnStats FrApqBnStats;

FrApqSupernet *fr_apq_supernet_new(const FrApqSpace *space, guint64 seed);
void fr_apq_supernet_free(FrApqSupernet *net);
const FrApqSpace *fr_apq_supernet_space(const FrApqSupernet *net);
FrParamSet *fr_apq_supernet_params(FrApqSupernet *net);
/* Weights only ("format": "frontier-apq-supernet", the space's name and layout in the metadata). */
gboolean fr_apq_supernet_save(FrApqSupernet *net, const char *path, const char *const *metadata, GError **error);
FrApqSupernet *fr_apq_supernet_load(const char *path, GError **error);

FrApqBnStats *fr_apq_bn_stats_new(const FrApqSupernet *net);
void fr_apq_bn_stats_free(FrApqBnStats *bn);

/* Logits [N, classes] for images x [N, 1, H, W] (already normalised). In training mode (g->training)
 * batch statistics are used and bn's running statistics (and activation ranges) updated with
 * bn_momentum; otherwise bn's statistics are used. bn may be NULL only in training mode.
 * Without gradients (g->grad_enabled false) each finished block's output is carried over and the
 * graph's arena reset, so the caller's tensors in g (x included) are gone when this returns: only
 * the returned logits are valid. */
FrTensor *fr_apq_supernet_forward(FrApqSupernet *net, FrGraph *g, FrTensor *x, const FrApqSpec *spec,
                                  FrApqBnStats *bn, float bn_momentum);

/* Re-calibrates bn for spec on n images (28x28 bytes each, normalised inside), in batches: the
 * statistics become the mean over batches of batch statistics, as OFA's set_running_statistics. */
void fr_apq_supernet_calibrate(FrApqSupernet *net, const FrApqSpec *spec, FrApqBnStats *bn,
                               const guint8 *pixels, int n, int batch);

/* Top-1 accuracy (0..1) of spec on n images with their labels, using bn's statistics. */
double fr_apq_supernet_accuracy(FrApqSupernet *net, const FrApqSpec *spec, FrApqBnStats *bn,
                                const guint8 *pixels, const guint8 *labels, int n, int batch);

/* Fashion-MNIST normalisation shared by every APQ model: (p / 255 - mean) / std. */
void fr_apq_normalise(const guint8 *pixels, int n, int hw, float *out);

G_END_DECLS
