/* test-apq-supernet.c: the weight-shared MBConv supernet of fmnist-mini on real Fashion-MNIST images:
 * forward shapes in every mode; weight sharing (a subnet reads exactly the first `mid` channels, the
 * centre k x k of the depthwise kernel and the first `depth` blocks of a stage: everything else may
 * hold anything); gradients reach exactly the weights a subnet uses; fake quantization (8 bits close
 * to fp32, 4 bits further); BN re-calibration against a direct computation of the stem's statistics;
 * accuracy, deterministic and thread-safe with per-caller BN statistics; save / load / clone. */
#include "fr-apq-supernet.h"
#include "fr-apq-train.h"

#include "fr-fmnist.h"
#include "fr-ops.h"
#include "fr-safetensors.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* White box: the layout of FrApqBnStats (fr-apq-supernet.c), to read the calibrated statistics. The
 * header keeps the type opaque; keep this in step with the definition there. */
struct _FrApqBnStats { float *mean, *var; int n; };

static char *tmp_dir;
static FrFmnist *data; /* the 10k test split: plenty for these checks, and quick to load */

#define PX (28 * 28)

static gboolean have_data(void) {
  if (!data) g_test_skip("Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)");
  return data != NULL;
}

static char *tmp_path(const char *name) { return g_build_filename(tmp_dir, name, NULL); }

/* A supernet whose BN affine parameters are not at their initial values (gamma 1, beta 0, and gamma 0
 * on residual blocks, which would make every residual block's weights irrelevant to the output). */
static FrApqSupernet *make_net(guint64 seed) {
  FrApqSupernet *net = fr_apq_supernet_new(fr_apq_space_fmnist_mini(), seed);
  FrParamSet *ps = fr_apq_supernet_params(net);
  FrRng rng;
  fr_rng_seed(&rng, seed + 1000);
  for (int i = 0; i < fr_param_set_len(ps); i++) {
    FrTensor *p = fr_param_set_nth(ps, i);
    if (g_str_has_suffix(p->name, "bn.weight")) fr_rng_fill_uniform(&rng, p->data, fr_tensor_numel(p), 0.5f, 1.5f);
    if (g_str_has_suffix(p->name, "bn.bias")) fr_rng_fill_uniform(&rng, p->data, fr_tensor_numel(p), -0.2f, 0.2f);
  }
  return net;
}

/* "blocks.<b>.<suffix>", or the name as it is when b < 0 */
static FrTensor *param(FrApqSupernet *net, const char *suffix, int b) {
  char name[96];
  if (b >= 0) g_snprintf(name, sizeof name, "blocks.%d.%s", b, suffix);
  else g_strlcpy(name, suffix, sizeof name);
  FrTensor *t = fr_param_set_get(fr_apq_supernet_params(net), name);
  if (!t) g_error("no parameter %s", name);
  return t;
}

static FrTensor *image_tensor(FrGraph *g, int from, int n) {
  FrTensor *x = fr_tensor_new(g, 4, FR_SHAPE(n, 1, 28, 28));
  fr_apq_normalise(data->pixels + (size_t)from * PX, n, 28, x->data);
  return x;
}

/* Logits [n, 10] (copied out: without gradients the forward pass resets the graph as it goes). */
static float *logits_of(FrApqSupernet *net, const FrApqSpec *spec, FrApqBnStats *bn, gboolean training, gboolean grad,
                        int from, int n) {
  FrGraph *g = fr_graph_new(0);
  g->training = training;
  g->grad_enabled = grad;
  FrTensor *y = fr_apq_supernet_forward(net, g, image_tensor(g, from, n), spec, bn, 0.1f);
  g_assert_nonnull(y);
  g_assert_cmpint(y->ndim, ==, 2);
  g_assert_cmpint(y->shape[0], ==, n);
  g_assert_cmpint(y->shape[1], ==, 10);
  float *out = g_memdup2(y->data, sizeof(float) * (size_t)n * 10);
  fr_graph_free(g);
  return out;
}

static void assert_finite(const float *x, int n) {
  for (int i = 0; i < n; i++)
    if (!isfinite(x[i])) g_error("element %d is %g", i, x[i]);
}

static double rel_diff(const float *a, const float *b, int n) {
  double d = 0, s = 0;
  for (int i = 0; i < n; i++) {
    d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    s += (double)b[i] * b[i];
  }
  return sqrt(d / fmax(s, 1e-30));
}

/* A spec with mid < max and kernel < 7 on every block, and depth 2 or 3 in every stage. */
static void partial_spec(const FrApqSpace *s, guint64 seed, gboolean quantized, FrApqSpec *spec) {
  FrRng rng;
  fr_rng_seed(&rng, seed);
  fr_apq_spec_random(s, &rng, quantized, spec);
  for (int b = 0; b < s->n_blocks; b++) {
    const FrApqBlock *bl = &s->blocks[b];
    spec->mid[b] = bl->mid_options[(int)fr_rng_below(&rng, (uint64_t)bl->n_mid - 1)];
    spec->ks[b] = fr_rng_below(&rng, 2) ? 5 : 3;
  }
  for (int st = 0; st < s->n_stages; st++) spec->depth[st] = 2 + (int)fr_rng_below(&rng, 2);
  g_assert_true(fr_apq_spec_validate(s, spec, NULL));
}

/* ---- (a) shapes ------------------------------------------------------------------------------- */

static void test_forward_shapes(void) {
  if (!have_data()) return;
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSupernet *net = make_net(3);
  g_assert_true(fr_apq_supernet_space(net) == s);
  FrApqSpec specs[6];
  fr_apq_spec_largest(s, 0, &specs[0]);
  fr_apq_spec_smallest(s, 0, &specs[1]);
  FrRng rng;
  fr_rng_seed(&rng, 1);
  fr_apq_spec_random(s, &rng, FALSE, &specs[2]);
  fr_apq_spec_random(s, &rng, TRUE, &specs[3]);
  fr_apq_spec_largest(s, 4, &specs[4]);
  fr_apq_spec_smallest(s, 8, &specs[5]);
  for (int i = 0; i < 6; i++) {
    FrApqBnStats *bn = fr_apq_bn_stats_new(net);
    float *a = logits_of(net, &specs[i], NULL, TRUE, TRUE, 0, 8);   /* training, with gradients */
    float *b = logits_of(net, &specs[i], NULL, TRUE, FALSE, 0, 8);  /* training, streamed */
    float *c = logits_of(net, &specs[i], bn, TRUE, FALSE, 0, 8);    /* training, updating bn */
    float *d = logits_of(net, &specs[i], bn, FALSE, FALSE, 0, 8);   /* eval */
    float *e = logits_of(net, &specs[i], bn, FALSE, TRUE, 0, 8);    /* eval, gradient graph */
    assert_finite(a, 80);
    assert_finite(d, 80);
    /* the streamed path (graph reset between blocks) computes the same as the recorded one */
    g_assert_cmpfloat(rel_diff(b, a, 80), <, 1e-5);
    g_assert_cmpfloat(rel_diff(c, a, 80), <, 1e-5);
    g_assert_cmpfloat(rel_diff(e, d, 80), <, 1e-5);
    /* eval with running statistics is not the batch-statistics forward */
    g_assert_cmpfloat(rel_diff(d, a, 80), >, 1e-4);
    g_free(a);
    g_free(b);
    g_free(c);
    g_free(d);
    g_free(e);
    fr_apq_bn_stats_free(bn);
  }
  /* bn may be NULL only in training mode */
  if (g_test_undefined()) {
    g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*bn || g->training*");
    FrGraph *g = fr_graph_new(0);
    g->training = false;
    g->grad_enabled = false;
    g_assert_null(fr_apq_supernet_forward(net, g, image_tensor(g, 0, 2), &specs[0], NULL, 0));
    fr_graph_free(g);
    g_test_assert_expected_messages();
  }
  fr_apq_supernet_free(net);
}

/* The largest fp32 spec uses every conv weight of the supernet: its parameter count (which excludes
 * batch norm) equals the conv and classifier weights in the file; and the BN statistics cover every
 * BN layer at full width. */
static void test_param_layout(void) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSupernet *net = fr_apq_supernet_new(s, 1);
  FrParamSet *ps = fr_apq_supernet_params(net);
  int64_t conv = 0, bn_width = 0;
  for (int i = 0; i < fr_param_set_len(ps); i++) {
    FrTensor *p = fr_param_set_nth(ps, i);
    g_assert_true(p->requires_grad);
    if (g_str_has_suffix(p->name, "bn.weight")) bn_width += fr_tensor_numel(p);
    else if (!g_str_has_suffix(p->name, "bn.bias")) conv += fr_tensor_numel(p);
  }
  FrApqSpec big;
  fr_apq_spec_largest(s, 0, &big);
  g_assert_cmpint(conv, ==, fr_apq_spec_params(s, &big));
  FrApqBnStats *bn = fr_apq_bn_stats_new(net);
  g_assert_cmpint(bn->n, ==, bn_width);
  for (int i = 0; i < bn->n; i++) {
    g_assert_cmpfloat(bn->mean[i], ==, 0.0f);
    g_assert_cmpfloat(bn->var[i], ==, 1.0f);
  }
  fr_apq_bn_stats_free(bn);
  /* shapes of one block's shared weights: the largest options */
  g_assert_cmpint(param(net, "expand.weight", 15)->shape[0], ==, 96);
  g_assert_cmpint(param(net, "depthwise.weight", 15)->shape[2], ==, 7);
  g_assert_cmpint(param(net, "project.weight", 15)->shape[1], ==, 96);
  /* residual blocks start as identities */
  for (int b = 0; b < s->n_blocks; b++) {
    FrTensor *gamma = param(net, "project_bn.weight", b);
    g_assert_cmpfloat(gamma->data[0], ==, s->blocks[b].identity ? 0.0f : 1.0f);
  }
  /* deterministic for a seed, different across seeds */
  FrApqSupernet *same = fr_apq_supernet_new(s, 1), *other = fr_apq_supernet_new(s, 2);
  FrTensor *w0 = param(net, "expand.weight", 3);
  g_assert_cmpmem(w0->data, 4 * fr_tensor_numel(w0), param(same, "expand.weight", 3)->data, 4 * fr_tensor_numel(w0));
  g_assert_true(memcmp(w0->data, param(other, "expand.weight", 3)->data, 4 * fr_tensor_numel(w0)) != 0);
  fr_apq_supernet_free(same);
  fr_apq_supernet_free(other);
  fr_apq_supernet_free(net);
}

/* ---- (b) weight sharing ----------------------------------------------------------------------- */

static void fill_channels_from(FrTensor *w, int dim, int from, float v) {
  /* sets w[..., c >= from (along dim), ...] = v for a 4-d or 1-d tensor */
  int64_t n = fr_tensor_numel(w);
  for (int64_t i = 0; i < n; i++) {
    int64_t rest = i, idx[4] = { 0 };
    for (int d = w->ndim - 1; d >= 0; d--) {
      idx[d] = rest % w->shape[d];
      rest /= w->shape[d];
    }
    if (idx[dim] >= from) w->data[i] = v;
  }
}

/* dw [mid, 1, 7, 7]: taps with max(|dy|, |dx|) == ring (centre 3) set to v */
static void fill_ring(FrTensor *w, int ring, float v) {
  for (int64_t c = 0; c < w->shape[0]; c++)
    for (int y = 0; y < 7; y++)
      for (int x = 0; x < 7; x++)
        if (MAX(abs(y - 3), abs(x - 3)) == ring) w->data[(c * 7 + y) * 7 + x] = v;
}

static gboolean same_floats(const float *a, const float *b, int n) { return memcmp(a, b, sizeof(float) * n) == 0; }

static void check_sharing(gboolean quantized) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  const int N = 16;
  FrApqSpec spec, big;
  partial_spec(s, quantized ? 77 : 78, quantized, &spec);
  fr_apq_spec_largest(s, quantized ? 6 : 0, &big);
  FrApqSupernet *net = make_net(5);
  FrApqBnStats *bn = fr_apq_bn_stats_new(net), *bn_big = fr_apq_bn_stats_new(net);
  fr_apq_supernet_calibrate(net, &spec, bn, data->pixels, 64, 32);
  fr_apq_supernet_calibrate(net, &big, bn_big, data->pixels, 64, 32);
  float *ref = logits_of(net, &spec, bn, FALSE, FALSE, 100, N);
  float *ref_train = logits_of(net, &spec, NULL, TRUE, FALSE, 100, N);
  float *ref_big = logits_of(net, &big, bn_big, FALSE, FALSE, 100, N);
  assert_finite(ref, N * 10);

  /* channels >= mid of every active block, weights and BN affine parameters: huge */
  for (int b = 0; b < s->n_blocks; b++) {
    if (!fr_apq_block_active(s, &spec, b)) continue;
    int m = spec.mid[b];
    fill_channels_from(param(net, "expand.weight", b), 0, m, 1e6f);
    fill_channels_from(param(net, "depthwise.weight", b), 0, m, -1e6f);
    fill_channels_from(param(net, "project.weight", b), 1, m, 1e6f);
    fill_channels_from(param(net, "expand_bn.weight", b), 0, m, 1e6f);
    fill_channels_from(param(net, "expand_bn.bias", b), 0, m, 1e6f);
    fill_channels_from(param(net, "depthwise_bn.weight", b), 0, m, 1e6f);
    fill_channels_from(param(net, "depthwise_bn.bias", b), 0, m, 1e6f);
  }
  float *now = logits_of(net, &spec, bn, FALSE, FALSE, 100, N);
  float *now_train = logits_of(net, &spec, NULL, TRUE, FALSE, 100, N);
  g_assert_true(same_floats(now, ref, N * 10));
  g_assert_true(same_floats(now_train, ref_train, N * 10));
  float *now_big = logits_of(net, &big, bn_big, FALSE, FALSE, 100, N);
  g_assert_cmpfloat(rel_diff(now_big, ref_big, N * 10), >, 1e-3); /* the widest subnet reads them */
  g_free(now);
  g_free(now_train);
  g_free(now_big);

  /* depthwise taps outside the subnet's k x k centre: huge (ring 3 is outside 5x5, ring 2 outside
   * 3x3) */
  for (int b = 0; b < s->n_blocks; b++) {
    if (!fr_apq_block_active(s, &spec, b)) continue;
    FrTensor *dw = param(net, "depthwise.weight", b);
    for (int ring = spec.ks[b] / 2 + 1; ring <= 3; ring++) fill_ring(dw, ring, 1e6f);
  }
  now = logits_of(net, &spec, bn, FALSE, FALSE, 100, N);
  g_assert_true(same_floats(now, ref, N * 10));
  g_free(now);
  /* ... but the centre tap is read: changing it on one block changes the output */
  {
    FrApqSupernet *c = fr_apq_supernet_clone(net);
    FrTensor *dw = param(c, "depthwise.weight", 0);
    for (int ch = 0; ch < spec.mid[0]; ch++) dw->data[(ch * 7 + 3) * 7 + 3] += 1.0f;
    float *changed = logits_of(c, &spec, bn, FALSE, FALSE, 100, N);
    g_assert_false(same_floats(changed, ref, N * 10));
    g_free(changed);
    fr_apq_supernet_free(c);
  }
  /* ... and with k = 5 the taps of ring 2 are read, with k = 3 they are not */
  {
    FrApqSpec k3 = spec, k5 = spec;
    k3.ks[0] = 3;
    k5.ks[0] = 5;
    FrApqSupernet *c = fr_apq_supernet_clone(net);
    float *a3 = logits_of(c, &k3, bn, FALSE, FALSE, 100, N), *a5 = logits_of(c, &k5, bn, FALSE, FALSE, 100, N);
    FrTensor *dw = param(c, "depthwise.weight", 0);
    fill_ring(dw, 3, -3e5f);
    fill_ring(dw, 2, 0.5f);
    float *b3 = logits_of(c, &k3, bn, FALSE, FALSE, 100, N), *b5 = logits_of(c, &k5, bn, FALSE, FALSE, 100, N);
    g_assert_true(same_floats(a3, b3, N * 10));
    g_assert_false(same_floats(a5, b5, N * 10));
    g_free(a3);
    g_free(a5);
    g_free(b3);
    g_free(b5);
    fr_apq_supernet_free(c);
  }

  /* every weight of the inactive blocks: NaN */
  float *prev_big = logits_of(net, &big, bn_big, FALSE, FALSE, 100, N);
  for (int b = 0; b < s->n_blocks; b++) {
    if (fr_apq_block_active(s, &spec, b)) continue;
    const char *names[] = { "expand.weight", "depthwise.weight", "project.weight",
                            "expand_bn.weight", "expand_bn.bias", "depthwise_bn.weight",
                            "depthwise_bn.bias", "project_bn.weight", "project_bn.bias" };
    for (guint k = 0; k < G_N_ELEMENTS(names); k++) {
      FrTensor *t = param(net, names[k], b);
      for (int64_t i = 0; i < fr_tensor_numel(t); i++) t->data[i] = NAN;
    }
  }
  now = logits_of(net, &spec, bn, FALSE, FALSE, 100, N);
  now_train = logits_of(net, &spec, NULL, TRUE, FALSE, 100, N);
  g_assert_true(same_floats(now, ref, N * 10));
  g_assert_true(same_floats(now_train, ref_train, N * 10));
  g_free(now);
  g_free(now_train);
  /* the deepest subnet reads them */
  now_big = logits_of(net, &big, bn_big, FALSE, FALSE, 100, N);
  g_assert_false(same_floats(now_big, prev_big, N * 10));
  g_free(now_big);
  g_free(prev_big);

  g_free(ref);
  g_free(ref_train);
  g_free(ref_big);
  fr_apq_bn_stats_free(bn);
  fr_apq_bn_stats_free(bn_big);
  fr_apq_supernet_free(net);
}

static void test_sharing_fp32(void) {
  if (have_data()) check_sharing(FALSE);
}

static void test_sharing_quantized(void) {
  if (have_data()) check_sharing(TRUE);
}

/* BN offsets in a FrApqBnStats: stem, then per block expand (mid_max), depthwise (mid_max), project
 * (cout), then head. */
static int bn_offset(const FrApqSpace *s, int block, int which) {
  int off = s->stem_channels;
  for (int b = 0; b < block; b++) off += 2 * s->blocks[b].mid_options[s->blocks[b].n_mid - 1] + s->blocks[b].cout;
  const FrApqBlock *bl = &s->blocks[block];
  return off + which * bl->mid_options[bl->n_mid - 1];
}

/* Training forwards update only the statistics of the channels and blocks the subnet uses. */
static void test_bn_isolation(void) {
  if (!have_data()) return;
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSpec spec;
  partial_spec(s, 9, FALSE, &spec);
  FrApqSupernet *net = make_net(6);
  FrApqBnStats *bn = fr_apq_bn_stats_new(net);
  g_free(logits_of(net, &spec, bn, TRUE, TRUE, 0, 16));
  g_free(logits_of(net, &spec, bn, TRUE, FALSE, 16, 16));
  for (int b = 0; b < s->n_blocks; b++) {
    const FrApqBlock *bl = &s->blocks[b];
    int mid_max = bl->mid_options[bl->n_mid - 1];
    gboolean active = fr_apq_block_active(s, &spec, b);
    for (int which = 0; which < 3; which++) {
      int width = which < 2 ? mid_max : bl->cout, used = !active ? 0 : which < 2 ? spec.mid[b] : bl->cout;
      int off = bn_offset(s, b, which);
      for (int c = 0; c < width; c++) {
        gboolean untouched = bn->mean[off + c] == 0.0f && bn->var[off + c] == 1.0f;
        if (c < used && untouched) g_error("block %d bn %d channel %d: not updated", b, which, c);
        if (c >= used && !untouched) g_error("block %d bn %d channel %d: updated, but not in the subnet", b, which, c);
      }
    }
  }
  fr_apq_bn_stats_free(bn);
  fr_apq_supernet_free(net);
}

/* ---- (c) gradients ---------------------------------------------------------------------------- */

static int count_nonzero(const float *g, int64_t n) {
  int k = 0;
  for (int64_t i = 0; i < n; i++) k += g[i] != 0.0f;
  return k;
}

static void check_gradients(gboolean quantized) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSpec spec;
  partial_spec(s, quantized ? 21 : 22, quantized, &spec);
  FrApqSupernet *net = make_net(7);
  FrParamSet *ps = fr_apq_supernet_params(net);
  for (int i = 0; i < fr_param_set_len(ps); i++) {
    FrTensor *p = fr_param_set_nth(ps, i);
    g_assert_nonnull(p->grad);
    fr_param_zero_grad(p);
  }
  const int N = 32;
  FrGraph *g = fr_graph_new(0);
  g->training = true;
  FrTensor *logits = fr_apq_supernet_forward(net, g, image_tensor(g, 200, N), &spec, NULL, 0.1f);
  int32_t labels[32];
  for (int i = 0; i < N; i++) labels[i] = data->labels[200 + i];
  FrTensor *loss = fr_cross_entropy(g, logits, labels, 0.1f);
  g_assert_true(isfinite(loss->data[0]));
  fr_graph_backward(g, loss);
  fr_graph_free(g);

  /* fixed parts: all used */
  const char *fixed[] = { "stem.conv.weight", "stem.bn.weight", "head.conv.weight", "head.bn.bias", "classifier.weight",
                          "classifier.bias" };
  for (guint k = 0; k < G_N_ELEMENTS(fixed); k++) {
    FrTensor *p = fr_param_set_get(ps, fixed[k]);
    g_assert_cmpint(count_nonzero(p->grad, fr_tensor_numel(p)), >, fr_tensor_numel(p) / 2);
  }
  for (int b = 0; b < s->n_blocks; b++) {
    const FrApqBlock *bl = &s->blocks[b];
    int m = fr_apq_block_active(s, &spec, b) ? spec.mid[b] : 0, k = spec.ks[b], cin = bl->cin, cout = bl->cout;
    int mid_max = bl->mid_options[bl->n_mid - 1];
    FrTensor *e = param(net, "expand.weight", b), *d = param(net, "depthwise.weight", b);
    FrTensor *p = param(net, "project.weight", b);
    for (int c = 0; c < mid_max; c++) {
      int nz = count_nonzero(e->grad + (size_t)c * cin, cin);
      if (c < m ? nz == 0 : nz != 0) g_error("block %d expand row %d (mid %d): %d non-zero gradients", b, c, m, nz);
      for (int y = 0; y < 7; y++)
        for (int x = 0; x < 7; x++) {
          gboolean used = c < m && abs(y - 3) <= k / 2 && abs(x - 3) <= k / 2;
          float gv = d->grad[((size_t)c * 7 + y) * 7 + x];
          if (!used && gv != 0.0f) g_error("block %d depthwise [%d,%d,%d] (mid %d, k %d): gradient %g", b, c, y, x, m, k, gv);
          if (used && gv == 0.0f) g_error("block %d depthwise [%d,%d,%d] (mid %d, k %d): no gradient", b, c, y, x, m, k);
        }
      int pz = 0;
      for (int o = 0; o < cout; o++) pz += p->grad[(size_t)o * mid_max + c] != 0.0f;
      if (c < m ? pz == 0 : pz != 0) g_error("block %d project column %d (mid %d): %d non-zero gradients", b, c, m, pz);
      const char *bns[] = { "expand_bn.weight", "expand_bn.bias", "depthwise_bn.weight",
                            "depthwise_bn.bias" };
      for (guint q = 0; q < G_N_ELEMENTS(bns); q++) {
        float gv = param(net, bns[q], b)->grad[c];
        if (c >= m && gv != 0.0f) g_error("block %d %s channel %d (mid %d): gradient %g", b, bns[q], c, m, gv);
      }
    }
    FrTensor *pb = param(net, "project_bn.bias", b);
    int nz = count_nonzero(pb->grad, cout);
    if (m ? nz == 0 : nz != 0) g_error("block %d project_bn.bias (%s): %d non-zero gradients", b, m ? "active" : "inactive", nz);
  }
  fr_apq_supernet_free(net);
}

static void test_gradients_fp32(void) {
  if (have_data()) check_gradients(FALSE);
}

static void test_gradients_quantized(void) {
  if (have_data()) check_gradients(TRUE);
}

/* ---- (d) fake quantization -------------------------------------------------------------------- */

static void test_quantized_forward(void) {
  if (!have_data()) return;
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  /* Quantization noise compounds through an untrained net's layers (8 bits already moves its logits
   * by ~7-20%), so the smallest subnet is first trained briefly (~45% accuracy): then 8 bits is close
   * to fp32, as with the real supernet (about 2% there). */
  FrApqSupernet *net = fr_apq_supernet_new(s, 8);
  FrApqSpec smallest;
  fr_apq_spec_smallest(s, 0, &smallest);
  fr_apq_finetune(net, &smallest, data, 5000, 40, 32, 3e-3, 1);
  const int N = 100;
  FrRng rng;
  fr_rng_seed(&rng, 4);
  for (int trial = 0; trial < 2; trial++) {
    FrApqSpec fp = smallest;
    if (trial == 1) fr_apq_spec_random(s, &rng, FALSE, &fp); /* mostly untrained: only looser checks */
    double diff[3], acc[4] = { -1, -1, -1, -1 };
    float *ref = NULL;
    for (int i = -1; i < 3; i++) {
      FrApqSpec q = fp;
      if (i >= 0) fr_apq_spec_set_bits(s, &q, 8 - 2 * i);
      FrApqBnStats *bn = fr_apq_bn_stats_new(net);
      fr_apq_supernet_calibrate(net, &q, bn, data->pixels, 100, 100);
      float *y = logits_of(net, &q, bn, FALSE, FALSE, 6000, N);
      if (trial == 0)
        acc[i + 1] = fr_apq_supernet_accuracy(net, &q, bn, data->pixels + 6000 * PX, data->labels + 6000, 400, 200);
      assert_finite(y, N * 10);
      if (i < 0) ref = y;
      else {
        diff[i] = rel_diff(y, ref, N * 10);
        g_free(y);
      }
      fr_apq_bn_stats_free(bn);
    }
    g_test_message("%s: relative logit difference to fp32: 8 bits %.4f, 6 bits %.4f, 4 bits %.4f", trial ? "random" : "smallest (trained)",
                   diff[0], diff[1], diff[2]);
    if (trial == 0)
      g_test_message("accuracy on 400 images: fp32 %.3f, 8 bits %.3f, 6 bits %.3f, 4 bits %.3f", acc[0], acc[1], acc[2], acc[3]);
    g_assert_cmpfloat(diff[0], >, 0.0);   /* quantization does something */
    g_assert_cmpfloat(diff[1], >, diff[0]);
    g_assert_cmpfloat(diff[2], >, diff[1]);
    g_assert_cmpfloat(diff[2], >, 3 * diff[0]);
    if (trial == 0) {
      g_assert_cmpfloat(acc[0], >, 0.3);      /* the brief training worked */
      g_assert_cmpfloat(diff[0], <, 0.06);    /* 8 bits: close */
      g_assert_cmpfloat(fabs(acc[1] - acc[0]), <=, 0.03);
    } else {
      g_assert_cmpfloat(diff[0], <, 0.25);
    }
    g_free(ref);
  }
  /* one group at a time at 4 bits also changes the output */
  for (int grp = 0; grp < FR_APQ_N_QGROUPS; grp++) {
    FrApqSpec q8, q;
    fr_apq_spec_smallest(s, 8, &q8);
    q = q8;
    for (int b = 0; b < s->n_blocks; b++) q.bits[grp][b] = 4;
    FrApqBnStats *bn = fr_apq_bn_stats_new(net);
    fr_apq_supernet_calibrate(net, &q8, bn, data->pixels, 100, 100);
    float *a = logits_of(net, &q8, bn, FALSE, FALSE, 1000, 20), *b = logits_of(net, &q, bn, FALSE, FALSE, 1000, 20);
    if (same_floats(a, b, 200)) g_error("%s at 4 bits changes nothing", fr_apq_qgroup_names[grp]);
    g_free(a);
    g_free(b);
    fr_apq_bn_stats_free(bn);
  }
  fr_apq_supernet_free(net);
}

/* Evaluation is per image: an image's logits do not depend on the other images in its batch, at full
 * precision and quantized. (Quantized block inputs once took their range from the batch's max |x|:
 * 75.8% top-1 at batch 1 against 84.6% at batch 250 at 4 bits. The range is now calibrated with the
 * batch-norm statistics and fixed in evaluation.) */
static void test_eval_batch_independence(void) {
  if (!have_data()) return;
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSupernet *net = make_net(13);
  const int N = 24;
  for (int quantized = 0; quantized < 2; quantized++) {
    FrApqSpec spec;
    FrRng rng;
    fr_rng_seed(&rng, 6);
    fr_apq_spec_random(s, &rng, FALSE, &spec);
    fr_apq_spec_set_bits(s, &spec, quantized ? 4 : 0);
    FrApqBnStats *bn = fr_apq_bn_stats_new(net);
    fr_apq_supernet_calibrate(net, &spec, bn, data->pixels, 50, 50);
    float *whole = logits_of(net, &spec, bn, FALSE, FALSE, 3000, N);
    double worst = 0;
    for (int i = 0; i < N; i += 6) {
      float *part = logits_of(net, &spec, bn, FALSE, FALSE, 3000 + i, 1);
      worst = MAX(worst, rel_diff(part, whole + i * 10, 10));
      g_free(part);
    }
    g_test_message("%s: largest relative logit change between batch %d and batch 1: %.2g", quantized ? "4-bit" : "fp32", N,
                   worst);
    g_assert_cmpfloat(worst, <, 1e-5);
    g_free(whole);
    fr_apq_bn_stats_free(bn);
  }
  fr_apq_supernet_free(net);
}

/* ---- (e) calibration ------------------------------------------------------------------------- */

/* The stem's output (conv 3x3, stride 2, padding 1, no bias) per channel, in double: its batch mean
 * and unbiased variance over images [from, from+n). */
static void stem_stats(FrApqSupernet *net, int from, int n, double *mean, double *var) {
  const float *w = param(net, "stem.conv.weight", -1)->data; /* [8, 1, 3, 3] */
  float *x = g_new(float, (size_t)n * PX);
  fr_apq_normalise(data->pixels + (size_t)from * PX, n, 28, x);
  for (int c = 0; c < 8; c++) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++)
      for (int oy = 0; oy < 14; oy++)
        for (int ox = 0; ox < 14; ox++) {
          double acc = 0;
          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
              int y = 2 * oy + ky - 1, xx = 2 * ox + kx - 1;
              if (y < 0 || y >= 28 || xx < 0 || xx >= 28) continue;
              acc += (double)w[c * 9 + ky * 3 + kx] * x[(size_t)i * PX + y * 28 + xx];
            }
          s += acc;
          s2 += acc * acc;
        }
    double m = (double)n * 196;
    mean[c] = s / m;
    var[c] = (s2 - s * s / m) / (m - 1);
  }
  g_free(x);
}

static void test_calibrate(void) {
  if (!have_data()) return;
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSupernet *net = make_net(10);
  FrApqSpec spec;
  fr_apq_spec_smallest(s, 0, &spec);
  FrApqBnStats *bn = fr_apq_bn_stats_new(net);
  /* garbage in the statistics first: calibration starts from scratch */
  for (int i = 0; i < bn->n; i++) bn->mean[i] = 123.0f, bn->var[i] = 456.0f;
  /* three equal batches */
  fr_apq_supernet_calibrate(net, &spec, bn, data->pixels + 500 * PX, 300, 100);
  double want_m[8] = { 0 }, want_v[8] = { 0 };
  for (int k = 0; k < 3; k++) {
    double m[8], v[8];
    stem_stats(net, 500 + 100 * k, 100, m, v);
    for (int c = 0; c < 8; c++) want_m[c] += m[c] / 3, want_v[c] += v[c] / 3;
  }
  for (int c = 0; c < 8; c++) {
    g_assert_cmpfloat_with_epsilon(bn->mean[c], want_m[c], 1e-4 * (1 + fabs(want_m[c])));
    g_assert_cmpfloat_with_epsilon(bn->var[c], want_v[c], 1e-4 * (1 + want_v[c]));
  }
  /* BN layers outside the subnet keep the initial statistics (block 15 is inactive in the smallest) */
  int off = bn_offset(s, 15, 0);
  g_assert_cmpfloat(bn->mean[off], ==, 0.0f);
  g_assert_cmpfloat(bn->var[off], ==, 1.0f);
  /* channels beyond the subnet's mid in an active block too */
  off = bn_offset(s, 0, 0);
  g_assert_cmpfloat(bn->mean[off + spec.mid[0]], ==, 0.0f);
  g_assert_cmpfloat(bn->var[off + spec.mid[0]], ==, 1.0f);
  g_assert_cmpfloat(bn->var[off + spec.mid[0] - 1], !=, 1.0f);

  /* an uneven last batch: each batch counts once, as the header says ("mean over batches of batch
   * statistics"; OFA's set_running_statistics weights batches by their size instead) */
  fr_apq_supernet_calibrate(net, &spec, bn, data->pixels + 500 * PX, 250, 100);
  double m3[3][8], v3[3][8];
  stem_stats(net, 500, 100, m3[0], v3[0]);
  stem_stats(net, 600, 100, m3[1], v3[1]);
  stem_stats(net, 700, 50, m3[2], v3[2]);
  for (int c = 0; c < 8; c++) {
    double per_batch = (m3[0][c] + m3[1][c] + m3[2][c]) / 3;
    g_assert_cmpfloat_with_epsilon(bn->mean[c], per_batch, 1e-4 * (1 + fabs(per_batch)));
  }
  /* one batch: exactly that batch's statistics */
  fr_apq_supernet_calibrate(net, &spec, bn, data->pixels + 500 * PX, 100, 100);
  for (int c = 0; c < 8; c++) g_assert_cmpfloat_with_epsilon(bn->mean[c], m3[0][c], 1e-4 * (1 + fabs(m3[0][c])));

  /* calibrated statistics in eval give about what batch statistics give on the same images */
  fr_apq_supernet_calibrate(net, &spec, bn, data->pixels + 500 * PX, 100, 100);
  float *eval = logits_of(net, &spec, bn, FALSE, FALSE, 500, 100), *train = logits_of(net, &spec, NULL, TRUE, FALSE, 500, 100);
  g_assert_cmpfloat(rel_diff(eval, train, 1000), <, 0.05);
  g_free(eval);
  g_free(train);
  fr_apq_bn_stats_free(bn);
  fr_apq_supernet_free(net);
}

/* ---- (f) accuracy and threads ----------------------------------------------------------------- */

typedef struct {
  FrApqSupernet *net;
  FrApqSpec spec;
  double acc;
  FrApqBnStats *bn;
} EvalTask;

static gpointer eval_task(gpointer p) {
  EvalTask *t = p;
  t->bn = fr_apq_bn_stats_new(t->net);
  fr_apq_supernet_calibrate(t->net, &t->spec, t->bn, data->pixels + 2000 * PX, 100, 50);
  t->acc = fr_apq_supernet_accuracy(t->net, &t->spec, t->bn, data->pixels, data->labels, 500, 128);
  return NULL;
}

static void test_accuracy_threads(void) {
  if (!have_data()) return;
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSupernet *net = make_net(11);
  EvalTask seq[2] = { { .net = net }, { .net = net } }, par[2];
  FrRng rng;
  fr_rng_seed(&rng, 3);
  fr_apq_spec_smallest(s, 0, &seq[0].spec);
  fr_apq_spec_random(s, &rng, TRUE, &seq[1].spec);
  for (int i = 0; i < 2; i++) {
    eval_task(&seq[i]);
    g_assert_cmpfloat(seq[i].acc, >=, 0.0);
    g_assert_cmpfloat(seq[i].acc, <=, 1.0);
    /* a whole number of the 500 images */
    g_assert_cmpfloat(fabs(seq[i].acc * 500 - round(seq[i].acc * 500)), <, 1e-9);
    /* deterministic */
    double again = fr_apq_supernet_accuracy(net, &seq[i].spec, seq[i].bn, data->pixels, data->labels, 500, 128);
    g_assert_cmpfloat(again, ==, seq[i].acc);
    par[i] = (EvalTask){ .net = net, .spec = seq[i].spec };
  }
  g_test_message("untrained accuracy: smallest %.3f, random quantized %.3f", seq[0].acc, seq[1].acc);
  GThread *t0 = g_thread_new("eval0", eval_task, &par[0]), *t1 = g_thread_new("eval1", eval_task, &par[1]);
  g_thread_join(t0);
  g_thread_join(t1);
  for (int i = 0; i < 2; i++) {
    g_assert_cmpfloat(par[i].acc, ==, seq[i].acc);
    g_assert_cmpint(par[i].bn->n, ==, seq[i].bn->n);
    for (int k = 0; k < seq[i].bn->n; k++)
      if (fabsf(par[i].bn->mean[k] - seq[i].bn->mean[k]) > 1e-6f * (1 + fabsf(seq[i].bn->mean[k])) ||
          fabsf(par[i].bn->var[k] - seq[i].bn->var[k]) > 1e-6f * (1 + fabsf(seq[i].bn->var[k])))
        g_error("subnet %d: BN statistic %d differs between threaded and sequential calibration", i, k);
    fr_apq_bn_stats_free(par[i].bn);
    fr_apq_bn_stats_free(seq[i].bn);
  }
  /* n = 0 and labels that can never match */
  FrApqBnStats *bn = fr_apq_bn_stats_new(net);
  g_assert_cmpfloat(fr_apq_supernet_accuracy(net, &seq[0].spec, bn, data->pixels, data->labels, 0, 100), ==, 0.0);
  guint8 *bad = g_malloc(50);
  memset(bad, 200, 50);
  g_assert_cmpfloat(fr_apq_supernet_accuracy(net, &seq[0].spec, bn, data->pixels, bad, 50, 16), ==, 0.0);
  g_free(bad);
  fr_apq_bn_stats_free(bn);
  fr_apq_supernet_free(net);
}

/* ---- (g) files and clones -------------------------------------------------------------------- */

static void assert_load_fails(const char *path, GQuark domain, int code, const char *mention) {
  GError *error = NULL;
  FrApqSupernet *net = fr_apq_supernet_load(path, &error);
  g_assert_null(net);
  g_assert_nonnull(error);
  if (domain) g_assert_error(error, domain, code);
  if (mention && !strstr(error->message, mention)) g_error("message \"%s\" does not mention \"%s\"", error->message, mention);
  g_error_free(error);
}

/* Writes the tensors of `src` to `dst` with the given format and space tags; `drop` and `reshape`
 * name a tensor to leave out / to write with a wrong shape. */
static void rewrite(const char *src, const char *dst, const char *format, const char *space, const char *drop,
                    const char *reshape) {
  GError *error = NULL;
  FrSafetensors *st = fr_safetensors_load(src, &error);
  g_assert_no_error(error);
  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  for (int i = 0; i < fr_safetensors_n_tensors(st); i++) {
    const FrSafeTensor *t = fr_safetensors_nth(st, i);
    if (drop && !strcmp(t->name, drop)) continue;
    if (reshape && !strcmp(t->name, reshape)) {
      int64_t shape[1] = { (int64_t)(t->nbytes / 4) };
      fr_safetensors_writer_add(w, t->name, t->dtype, 1, shape, t->data);
    } else {
      fr_safetensors_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
    }
  }
  if (format) fr_safetensors_writer_set_metadata(w, "format", format);
  if (space) fr_safetensors_writer_set_metadata(w, "space", space);
  g_assert_true(fr_safetensors_writer_save(w, dst, &error));
  fr_safetensors_writer_free(w);
  fr_safetensors_free(st);
}

static void assert_same_weights(FrApqSupernet *a, FrApqSupernet *b) {
  FrParamSet *pa = fr_apq_supernet_params(a), *pb = fr_apq_supernet_params(b);
  g_assert_cmpint(fr_param_set_len(pa), ==, fr_param_set_len(pb));
  for (int i = 0; i < fr_param_set_len(pa); i++) {
    FrTensor *x = fr_param_set_nth(pa, i), *y = fr_param_set_nth(pb, i);
    g_assert_cmpstr(x->name, ==, y->name);
    g_assert_cmpint(fr_tensor_numel(x), ==, fr_tensor_numel(y));
    if (memcmp(x->data, y->data, sizeof(float) * fr_tensor_numel(x))) g_error("%s differs", x->name);
  }
}

static void test_save_load_clone(void) {
  if (!have_data()) return;
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSupernet *net = make_net(12);
  g_autofree char *path = tmp_path("supernet.safetensors");
  GError *error = NULL;
  const char *meta[] = { "run", "test run", "odd", NULL };   /* an unpaired key is ignored */
  g_assert_true(fr_apq_supernet_save(net, path, meta, &error));
  g_assert_no_error(error);
  FrSafetensors *st = fr_safetensors_load(path, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(fr_safetensors_get_metadata(st, "format"), ==, "frontier-apq-supernet");
  g_assert_cmpstr(fr_safetensors_get_metadata(st, "space"), ==, "fmnist-mini");
  g_assert_cmpstr(fr_safetensors_get_metadata(st, "run"), ==, "test run");
  g_assert_null(fr_safetensors_get_metadata(st, "odd"));
  fr_safetensors_free(st);

  FrApqSupernet *back = fr_apq_supernet_load(path, &error);
  g_assert_no_error(error);
  g_assert_nonnull(back);
  g_assert_true(fr_apq_supernet_space(back) == s);
  assert_same_weights(net, back);
  FrApqSpec spec;
  FrRng rng;
  fr_rng_seed(&rng, 8);
  fr_apq_spec_random(s, &rng, TRUE, &spec);
  FrApqBnStats *bn = fr_apq_bn_stats_new(net);
  fr_apq_supernet_calibrate(net, &spec, bn, data->pixels, 100, 50);
  float *a = logits_of(net, &spec, bn, FALSE, FALSE, 0, 20), *b = logits_of(back, &spec, bn, FALSE, FALSE, 0, 20);
  g_assert_true(same_floats(a, b, 200));
  g_free(b);

  /* clone: equal, same outputs, and independent of the original */
  FrApqSupernet *c = fr_apq_supernet_clone(net);
  assert_same_weights(net, c);
  b = logits_of(c, &spec, bn, FALSE, FALSE, 0, 20);
  g_assert_true(same_floats(a, b, 200));
  g_free(b);
  param(c, "stem.conv.weight", -1)->data[0] += 1.0f;
  b = logits_of(net, &spec, bn, FALSE, FALSE, 0, 20);
  g_assert_true(same_floats(a, b, 200));
  g_free(b);
  g_assert_cmpfloat(param(c, "stem.conv.weight", -1)->data[0], !=, param(net, "stem.conv.weight", -1)->data[0]);
  fr_apq_supernet_free(c);
  g_free(a);

  /* bad files */
  g_autofree char *other = tmp_path("other-format.safetensors");
  rewrite(path, other, "frontier-classifier", "fmnist-mini", NULL, NULL);
  assert_load_fails(other, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT, "not a Frontier APQ supernet (format 'frontier-classifier'");
  rewrite(path, other, "frontier-apq-checkpoint", "fmnist-mini", NULL, NULL);
  assert_load_fails(other, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT, "not a Frontier APQ supernet");
  rewrite(path, other, NULL, "fmnist-mini", NULL, NULL);
  assert_load_fails(other, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT, "format '(none)'");
  rewrite(path, other, "frontier-apq-supernet", "cifar-mini", NULL, NULL);
  assert_load_fails(other, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT, "space 'cifar-mini'");
  g_autofree char *missing_tensor = tmp_path("missing-tensor.safetensors");
  rewrite(path, missing_tensor, "frontier-apq-supernet", "fmnist-mini", "blocks.7.depthwise.weight", NULL);
  assert_load_fails(missing_tensor, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_MISSING, "blocks.7.depthwise.weight");
  g_autofree char *bad_shape = tmp_path("bad-shape.safetensors");
  rewrite(path, bad_shape, "frontier-apq-supernet", "fmnist-mini", NULL, "head.conv.weight");
  assert_load_fails(bad_shape, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_SHAPE, "head.conv.weight");

  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true(g_file_get_contents(path, &bytes, &len, NULL));
  g_autofree char *truncated = tmp_path("truncated.safetensors");
  g_assert_true(g_file_set_contents(truncated, bytes, (gssize)(len / 2), NULL));
  assert_load_fails(truncated, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT, "truncated.safetensors");
  g_assert_true(g_file_set_contents(truncated, bytes, 5, NULL));
  assert_load_fails(truncated, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT, NULL);
  g_assert_true(g_file_set_contents(truncated, "", 0, NULL));
  assert_load_fails(truncated, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT, NULL);
  g_autofree char *nowhere = tmp_path("no-such-file.safetensors");
  assert_load_fails(nowhere, 0, 0, "no-such-file.safetensors");

  g_unlink(path);
  g_unlink(other);
  g_unlink(missing_tensor);
  g_unlink(bad_shape);
  g_unlink(truncated);
  fr_apq_bn_stats_free(bn);
  fr_apq_supernet_free(back);
  fr_apq_supernet_free(net);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  GError *error = NULL;
  tmp_dir = g_dir_make_tmp("test-apq-supernet-XXXXXX", &error);
  g_assert_no_error(error);
  data = fr_fmnist_load(NULL, FALSE, &error);
  if (!data) {
    g_assert_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_MISSING);
    g_clear_error(&error);
  }
  g_test_add_func("/apq-supernet/forward-shapes", test_forward_shapes);
  g_test_add_func("/apq-supernet/param-layout", test_param_layout);
  g_test_add_func("/apq-supernet/sharing-fp32", test_sharing_fp32);
  g_test_add_func("/apq-supernet/sharing-quantized", test_sharing_quantized);
  g_test_add_func("/apq-supernet/bn-isolation", test_bn_isolation);
  g_test_add_func("/apq-supernet/gradients-fp32", test_gradients_fp32);
  g_test_add_func("/apq-supernet/gradients-quantized", test_gradients_quantized);
  g_test_add_func("/apq-supernet/quantized-forward", test_quantized_forward);
  g_test_add_func("/apq-supernet/eval-batch-independence", test_eval_batch_independence);
  g_test_add_func("/apq-supernet/calibrate", test_calibrate);
  g_test_add_func("/apq-supernet/accuracy-threads", test_accuracy_threads);
  g_test_add_func("/apq-supernet/save-load-clone", test_save_load_clone);
  int rc = g_test_run();
  fr_fmnist_free(data);
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
