/* fr-apq-supernet.c: weight-shared MBConv supernet with elastic kernel, width and depth, and fake
 * quantization per block. */
#include "fr-apq-supernet.h"
#include <math.h>
#include <string.h>
#include "fr-ops.h"
#include "fr-safetensors.h"

#define FORMAT_TAG "frontier-apq-supernet"
#define BN_EPS 1e-5f
#define RELU6_CLIP 6.0f
#define MAX_K 7

typedef struct { FrTensor *gamma, *beta; int offset, width; } Bn;

typedef struct {
  FrTensor *expand_w, *dw_w, *project_w;   /* [mid_max,cin,1,1], [mid_max,1,7,7], [cout,mid_max,1,1] */
  Bn expand_bn, dw_bn, project_bn;
} Block;

struct _FrApqSupernet {
  const FrApqSpace *space;
  FrParamSet *params;
  FrTensor *stem_w, *head_w, *fc_w, *fc_b;
  Bn stem_bn, head_bn;
  Block blocks[FR_APQ_MAX_BLOCKS];
  int bn_floats;      /* total width of every BN layer: the size of a FrApqBnStats */
};

/* Per subnet: batch-norm statistics, and the range of each block's (signed) input for its activation
 * quantizer, both set by calibration so that evaluation does not depend on the batch. */
struct _FrApqBnStats { float *mean, *var; int n; float range[FR_APQ_MAX_BLOCKS]; };

static void init_uniform(FrTensor *t, int64_t fan_in, FrRng *rng) {
  float bound = 1.0f / sqrtf((float)fan_in);
  fr_rng_fill_uniform(rng, t->data, fr_tensor_numel(t), -bound, bound);
}

/* Kaiming-normal (fan_out, ReLU gain) for convs, as torchvision's MobileNetV2 initialises them. */
static void init_conv(FrTensor *t, int64_t fan_out, FrRng *rng) {
  fr_rng_fill_normal(rng, t->data, fr_tensor_numel(t), 0.0f, sqrtf(2.0f / (float)fan_out));
}

static Bn add_bn(FrApqSupernet *n, const char *prefix, int width) {
  char name[96];
  Bn bn = { .offset = n->bn_floats, .width = width };
  g_snprintf(name, sizeof name, "%s.weight", prefix);
  bn.gamma = fr_param_set_add(n->params, name, 1, FR_SHAPE(width), TRUE);
  g_snprintf(name, sizeof name, "%s.bias", prefix);
  bn.beta = fr_param_set_add(n->params, name, 1, FR_SHAPE(width), TRUE);
  for (int i = 0; i < width; i++) bn.gamma->data[i] = 1.0f;
  n->bn_floats += width;
  return bn;
}

static FrTensor *add_conv(FrApqSupernet *n, const char *name, int64_t co, int64_t ci, int64_t k, int64_t fan_out, FrRng *rng) {
  FrTensor *w = fr_param_set_add(n->params, name, 4, FR_SHAPE(co, ci, k, k), TRUE);
  init_conv(w, fan_out, rng);
  return w;
}

FrApqSupernet *fr_apq_supernet_new(const FrApqSpace *s, guint64 seed) {
  FrApqSupernet *n = g_new0(FrApqSupernet, 1);
  n->space = s;
  n->params = fr_param_set_new();
  FrRng rng;
  fr_rng_seed(&rng, seed);
  int k = s->stem_kernel;
  n->stem_w = add_conv(n, "stem.conv.weight", s->stem_channels, s->in_channels, k, (int64_t)s->stem_channels * k * k, &rng);
  n->stem_bn = add_bn(n, "stem.bn", s->stem_channels);
  for (int b = 0; b < s->n_blocks; b++) {
    const FrApqBlock *bl = &s->blocks[b];
    Block *B = &n->blocks[b];
    int mid = bl->mid_options[bl->n_mid - 1];
    char name[96];
    g_snprintf(name, sizeof name, "blocks.%d.expand.weight", b);
    B->expand_w = add_conv(n, name, mid, bl->cin, 1, mid, &rng);
    g_snprintf(name, sizeof name, "blocks.%d.expand_bn", b);
    B->expand_bn = add_bn(n, name, mid);
    g_snprintf(name, sizeof name, "blocks.%d.depthwise.weight", b);
    B->dw_w = add_conv(n, name, mid, 1, MAX_K, MAX_K * MAX_K, &rng);
    g_snprintf(name, sizeof name, "blocks.%d.depthwise_bn", b);
    B->dw_bn = add_bn(n, name, mid);
    g_snprintf(name, sizeof name, "blocks.%d.project.weight", b);
    B->project_w = add_conv(n, name, bl->cout, mid, 1, bl->cout, &rng);
    g_snprintf(name, sizeof name, "blocks.%d.project_bn", b);
    B->project_bn = add_bn(n, name, bl->cout);
    /* residual blocks start as identities (zero-init last BN scale), which helps deep subnets train */
    if (bl->identity)
      for (int i = 0; i < bl->cout; i++) B->project_bn.gamma->data[i] = 0.0f;
  }
  int last = s->blocks[s->n_blocks - 1].cout;
  n->head_w = add_conv(n, "head.conv.weight", s->head_channels, last, 1, s->head_channels, &rng);
  n->head_bn = add_bn(n, "head.bn", s->head_channels);
  n->fc_w = fr_param_set_add(n->params, "classifier.weight", 2, FR_SHAPE(s->n_classes, s->head_channels), TRUE);
  n->fc_b = fr_param_set_add(n->params, "classifier.bias", 1, FR_SHAPE(s->n_classes), TRUE);
  init_uniform(n->fc_w, s->head_channels, &rng);
  init_uniform(n->fc_b, s->head_channels, &rng);
  return n;
}

void fr_apq_supernet_free(FrApqSupernet *net) {
  if (!net) return;
  fr_param_set_free(net->params);
  g_free(net);
}

const FrApqSpace *fr_apq_supernet_space(const FrApqSupernet *net) { return net->space; }
FrParamSet *fr_apq_supernet_params(FrApqSupernet *net) { return net->params; }

gboolean fr_apq_supernet_save(FrApqSupernet *net, const char *path, const char *const *metadata, GError **error) {
  GPtrArray *meta = g_ptr_array_new();
  g_ptr_array_add(meta, (gpointer) "format");
  g_ptr_array_add(meta, (gpointer)FORMAT_TAG);
  g_ptr_array_add(meta, (gpointer) "space");
  g_ptr_array_add(meta, (gpointer)net->space->name);
  for (int i = 0; metadata && metadata[i] && metadata[i + 1]; i += 2) {
    g_ptr_array_add(meta, (gpointer)metadata[i]);
    g_ptr_array_add(meta, (gpointer)metadata[i + 1]);
  }
  g_ptr_array_add(meta, NULL);
  gboolean ok = fr_param_set_save(net->params, path, (const char *const *)meta->pdata, error);
  g_ptr_array_free(meta, TRUE);
  return ok;
}

FrApqSupernet *fr_apq_supernet_load(const char *path, GError **error) {
  FrSafetensors *st = fr_safetensors_load(path, error);
  if (!st) return NULL;
  const char *fmt = fr_safetensors_get_metadata(st, "format");
  const char *space_name = fr_safetensors_get_metadata(st, "space");
  const FrApqSpace *space = fr_apq_space_lookup(space_name);
  if (!fmt || strcmp(fmt, FORMAT_TAG) != 0 || !space) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT,
                "%s: not a Frontier APQ supernet (format '%s', space '%s')", path, fmt ? fmt : "(none)",
                space_name ? space_name : "(none)");
    fr_safetensors_free(st);
    return NULL;
  }
  fr_safetensors_free(st);
  FrApqSupernet *net = fr_apq_supernet_new(space, 0);
  if (!fr_param_set_load(net->params, path, NULL, error)) {
    fr_apq_supernet_free(net);
    return NULL;
  }
  return net;
}

FrApqBnStats *fr_apq_bn_stats_new(const FrApqSupernet *net) {
  FrApqBnStats *bn = g_new0(FrApqBnStats, 1);
  bn->n = net->bn_floats;
  bn->mean = g_new0(float, bn->n);
  bn->var = g_new(float, bn->n);
  for (int i = 0; i < bn->n; i++) bn->var[i] = 1.0f;
  return bn;
}

void fr_apq_bn_stats_free(FrApqBnStats *bn) {
  if (!bn) return;
  g_free(bn->mean);
  g_free(bn->var);
  g_free(bn);
}

/* ---- forward ---------------------------------------------------------------------------------- */

typedef struct { FrApqBnStats *stats; float momentum; } BnRun;

static FrTensor *bn_apply(FrGraph *g, FrTensor *x, const Bn *bn, int width, BnRun *r, FrAct act) {
  FrTensor *gamma = bn->gamma, *beta = bn->beta;
  if (width < bn->width) {
    gamma = fr_slice(g, gamma, 0, 0, width);
    beta = fr_slice(g, beta, 0, 0, width);
  }
  float *mean = r->stats ? r->stats->mean + bn->offset : NULL;
  float *var = r->stats ? r->stats->var + bn->offset : NULL;
  return fr_batch_norm2d(g, x, gamma, beta, mean, var, r->momentum, BN_EPS, act);
}

static FrTensor *qweight(FrGraph *g, FrTensor *w, const FrApqSpec *spec, int group, int b) {
  return spec->quantized ? fr_fake_quant_weight(g, w, spec->bits[group][b]) : w;
}

/* Clip of block b's input quantizer. Training on batch statistics: the batch's max |x| (0 tells the
 * quantizer to use it). Calibrating: the same, and its mean over the calibration batches is kept.
 * Evaluating: that calibrated range, so a prediction never depends on what else is in the batch. */
static float input_range(FrGraph *g, FrTensor *x, int b, BnRun *r) {
  if (!r->stats) return 0.0f;
  if (!g->training) return r->stats->range[b] > 0 ? r->stats->range[b] : 0.0f;
  float mx = 0;
  int64_t m = fr_tensor_numel(x);
  for (int64_t i = 0; i < m; i++) mx = fabsf(x->data[i]) > mx ? fabsf(x->data[i]) : mx;
  r->stats->range[b] = (1 - r->momentum) * r->stats->range[b] + r->momentum * mx;
  return mx;
}

/* Profiler scope of block b (static strings: the graph keeps the pointers); numbered from 1 as in
 * docs/APQ.md's tables, by the space's block index, so a subnet that skips blocks shows which it ran. */
static const char *block_scope(int b) {
  static const char *const names[FR_APQ_MAX_BLOCKS] = { "block01", "block02", "block03", "block04", "block05",
    "block06", "block07", "block08", "block09", "block10", "block11", "block12", "block13", "block14", "block15",
    "block16", "block17", "block18", "block19", "block20", "block21", "block22", "block23", "block24" };
  return b >= 0 && b < FR_APQ_MAX_BLOCKS ? names[b] : "block";
}

static FrTensor *block_forward(FrApqSupernet *n, FrGraph *g, FrTensor *x, const FrApqSpec *spec, int b, BnRun *r) {
  const FrApqBlock *bl = &n->space->blocks[b];
  Block *B = &n->blocks[b];
  int mid = spec->mid[b], k = spec->ks[b], mid_max = bl->mid_options[bl->n_mid - 1];
  bool q = spec->quantized;
  FrConv2dParams pw = FR_CONV2D_DEFAULT;

  fr_graph_push_scope(g, block_scope(b));
  fr_graph_push_scope(g, "expand");
  FrTensor *w1 = mid < mid_max ? fr_slice(g, B->expand_w, 0, 0, mid) : B->expand_w;
  FrTensor *in = q ? fr_fake_quant_act_signed(g, x, spec->bits[FR_APQ_PW_A][b], input_range(g, x, b, r)) : x;
  FrTensor *h = fr_conv2d(g, in, qweight(g, w1, spec, FR_APQ_PW_W, b), NULL, pw);
  h = bn_apply(g, h, &B->expand_bn, mid, r, FR_ACT_RELU6);

  fr_graph_pop_scope(g);
  fr_graph_push_scope(g, "depthwise");
  FrTensor *w2 = mid < mid_max ? fr_slice(g, B->dw_w, 0, 0, mid) : B->dw_w;
  if (k < MAX_K) {
    int off = (MAX_K - k) / 2;
    w2 = fr_slice(g, fr_slice(g, w2, 2, off, k), 3, off, k);
  }
  if (q) h = fr_fake_quant_act(g, h, spec->bits[FR_APQ_DW_A][b], RELU6_CLIP);
  FrConv2dParams dw = { .stride = bl->stride, .padding = k / 2, .dilation = 1, .groups = mid };
  h = fr_conv2d(g, h, qweight(g, w2, spec, FR_APQ_DW_W, b), NULL, dw);
  h = bn_apply(g, h, &B->dw_bn, mid, r, FR_ACT_RELU6);

  fr_graph_pop_scope(g);
  fr_graph_push_scope(g, "project");
  FrTensor *w3 = mid < mid_max ? fr_slice(g, B->project_w, 1, 0, mid) : B->project_w;
  if (q) h = fr_fake_quant_act(g, h, spec->bits[FR_APQ_PW_A][b], RELU6_CLIP);
  h = fr_conv2d(g, h, qweight(g, w3, spec, FR_APQ_PW_W, b), NULL, pw);
  h = bn_apply(g, h, &B->project_bn, bl->cout, r, FR_ACT_NONE);
  if (bl->identity) h = fr_add(g, h, x);
  fr_graph_pop_scope(g);
  fr_graph_pop_scope(g);
  return h;
}

/* Without gradients nothing of a finished block is needed again, so each block's output is copied
 * out and the graph's arena reset: the working set stays one block's temporaries (cache-sized)
 * instead of growing with the whole network. */
typedef struct { float *buf[2]; int64_t cap; int next; } PingPong;

static FrTensor *carry_over(FrGraph *g, FrTensor *h, PingPong *pp) {
  int64_t n = fr_tensor_numel(h);
  if (n > pp->cap) {
    g_free(pp->buf[0]);
    g_free(pp->buf[1]);
    pp->buf[0] = g_new(float, n);
    pp->buf[1] = g_new(float, n);
    pp->cap = n;
  }
  float *dst = pp->buf[pp->next];
  pp->next ^= 1;
  memcpy(dst, h->data, sizeof(float) * (size_t)n);
  int64_t shape[FR_MAX_DIMS];
  memcpy(shape, h->shape, sizeof shape);
  int nd = h->ndim;
  fr_graph_reset(g);
  return fr_tensor_wrap(g, nd, shape, dst);
}

FrTensor *fr_apq_supernet_forward(FrApqSupernet *n, FrGraph *g, FrTensor *x, const FrApqSpec *spec,
                                  FrApqBnStats *bn, float bn_momentum) {
  g_return_val_if_fail(bn || g->training, NULL);
  const FrApqSpace *s = n->space;
  BnRun r = { bn, bn_momentum };
  PingPong pp = { { NULL, NULL }, 0, 0 };
  bool stream = !g->grad_enabled;
  FrConv2dParams stem = { .stride = s->stem_stride, .padding = s->stem_kernel / 2, .dilation = 1, .groups = 1 };
  fr_graph_push_scope(g, "stem");
  FrTensor *h = fr_conv2d(g, x, n->stem_w, NULL, stem);
  h = bn_apply(g, h, &n->stem_bn, s->stem_channels, &r, FR_ACT_RELU6);
  fr_graph_pop_scope(g);
  for (int b = 0; b < s->n_blocks; b++) {
    if (!fr_apq_block_active(s, spec, b)) continue;
    if (stream) h = carry_over(g, h, &pp);
    h = block_forward(n, g, h, spec, b, &r);
  }
  fr_graph_push_scope(g, "head");
  h = fr_conv2d(g, h, n->head_w, NULL, FR_CONV2D_DEFAULT);
  h = bn_apply(g, h, &n->head_bn, s->head_channels, &r, FR_ACT_RELU6);
  h = fr_global_avg_pool(g, h);
  fr_graph_pop_scope(g);
  fr_graph_push_scope(g, "classifier");
  FrTensor *logits = fr_linear(g, h, n->fc_w, n->fc_b);
  fr_graph_pop_scope(g);
  g_free(pp.buf[0]);
  g_free(pp.buf[1]);
  return logits;
}

/* ---- calibration and evaluation --------------------------------------------------------------- */

#define FMNIST_MEAN 0.2860f
#define FMNIST_STD 0.3530f

void fr_apq_normalise(const guint8 *pixels, int n, int hw, float *out) {
  int64_t m = (int64_t)n * hw * hw;
  for (int64_t i = 0; i < m; i++) out[i] = ((float)pixels[i] / 255.0f - FMNIST_MEAN) / FMNIST_STD;
}

/* One graph per thread for calibration and evaluation, reused so its arena is not mapped anew (and
 * page-faulted in) for every subnet. */
static GPrivate eval_graph_key = G_PRIVATE_INIT((GDestroyNotify)fr_graph_free);

static FrGraph *eval_graph(bool training) {
  FrGraph *g = g_private_get(&eval_graph_key);
  if (!g) {
    g = fr_graph_new(0);
    g_private_set(&eval_graph_key, g);
  }
  fr_graph_reset(g);
  g->grad_enabled = false;
  g->training = training;
  return g;
}

static FrTensor *image_batch(FrGraph *g, const FrApqSpace *s, const guint8 *pixels, int n) {
  FrTensor *x = fr_tensor_new(g, 4, FR_SHAPE(n, s->in_channels, s->in_hw, s->in_hw));
  fr_apq_normalise(pixels, n * s->in_channels, s->in_hw, x->data);
  return x;
}

void fr_apq_supernet_calibrate(FrApqSupernet *net, const FrApqSpec *spec, FrApqBnStats *bn,
                               const guint8 *pixels, int n, int batch) {
  const FrApqSpace *s = net->space;
  int px = s->in_channels * s->in_hw * s->in_hw;
  FrGraph *g = eval_graph(true);
  g_return_if_fail(batch > 0);
  for (int i = 0; i < bn->n; i++) bn->mean[i] = 0.0f, bn->var[i] = 1.0f;
  memset(bn->range, 0, sizeof bn->range);
  for (int start = 0, k = 0; start < n; start += batch, k++) {
    int b = MIN(batch, n - start);
    fr_graph_reset(g);
    /* momentum 1/(k+1): after the last batch each statistic is the plain mean over batches */
    fr_apq_supernet_forward(net, g, image_batch(g, s, pixels + (size_t)start * px, b), spec, bn, 1.0f / (float)(k + 1));
  }
  fr_graph_reset(g);
}

double fr_apq_supernet_accuracy(FrApqSupernet *net, const FrApqSpec *spec, FrApqBnStats *bn,
                                const guint8 *pixels, const guint8 *labels, int n, int batch) {
  const FrApqSpace *s = net->space;
  g_return_val_if_fail(batch > 0, 0.0);
  int px = s->in_channels * s->in_hw * s->in_hw, correct = 0;
  FrGraph *g = eval_graph(false);
  for (int start = 0; start < n; start += batch) {
    int b = MIN(batch, n - start);
    fr_graph_reset(g);
    FrTensor *logits = fr_apq_supernet_forward(net, g, image_batch(g, s, pixels + (size_t)start * px, b), spec, bn, 0);
    int C = s->n_classes;
    for (int i = 0; i < b; i++) {
      const float *l = logits->data + (size_t)i * C;
      int best = 0;
      for (int c = 1; c < C; c++)
        if (l[c] > l[best]) best = c;
      correct += best == labels[start + i];
    }
  }
  fr_graph_reset(g);
  return n > 0 ? (double)correct / n : 0.0;
}
