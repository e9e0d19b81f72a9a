/* fr-gan-model.c: the ResNet teacher and the once-for-all mobile student (see fr-gan.h).
 *
 * Both keep their weights at their widest config; a narrower config slices the first channels of
 * every weight (fr_slice copies, so gradients reach the shared weights). */
#include <math.h>
#include <string.h>
#include "fr-gan.h"
#include "fr-ops.h"
#include "fr-safetensors.h"

#define MODEL_FORMAT "frontier-gan-generator"

G_DEFINE_QUARK(fr-gan-error-quark, fr_gan_error)

struct FrGanGenerator {
  FrGanKind kind;
  FrGanConfig max;
  int in_c, out_c;
  FrParamSet *ps;
  GHashTable *meta;   /* of the file it was loaded from; may be NULL */
  gpointer spare;     /* a RunGraphs kept between fr_gan_generator_run calls (taken atomically) */
};

/* The two graphs fr_gan_generator_run alternates between, stage by stage (see forward_staged). */
typedef struct { FrGraph *g[2]; } RunGraphs;

static void run_graphs_free(RunGraphs *r) {
  if (!r) return;
  fr_graph_free(r->g[0]);
  fr_graph_free(r->g[1]);
  g_free(r);
}

/* ---- configs ---------------------------------------------------------------------------------- */

gboolean fr_gan_config_parse(const char *s, FrGanConfig *out, GError **error) {
  FrGanConfig c;
  const char *p = s ? s : "";
  for (int i = 0; i < FR_GAN_CONFIG_LEN; i++) {
    char *end = NULL;
    gint64 v = g_ascii_strtoll(p, &end, 10);
    gboolean sep_ok = i == FR_GAN_CONFIG_LEN - 1 ? *end == 0 : *end == '_';
    if (end == p || !sep_ok || v < 1 || v > 1024) {
      g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID,
                  "\"%s\" is not a generator config: eight widths 1..1024 joined by '_' (e.g. 16_16_16_16_16_16_16_16)",
                  s ? s : "");
      return FALSE;
    }
    c.ch[i] = (int)v;
    p = end + 1;
  }
  *out = c;
  return TRUE;
}

char *fr_gan_config_to_string(const FrGanConfig *c) {
  return g_strdup_printf("%d_%d_%d_%d_%d_%d_%d_%d", c->ch[0], c->ch[1], c->ch[2], c->ch[3], c->ch[4], c->ch[5],
                         c->ch[6], c->ch[7]);
}

void fr_gan_config_uniform(FrGanConfig *c, int ngf) {
  for (int i = 0; i < FR_GAN_CONFIG_LEN; i++) c->ch[i] = ngf;
}

bool fr_gan_config_equal(const FrGanConfig *a, const FrGanConfig *b) {
  return memcmp(a->ch, b->ch, sizeof a->ch) == 0;
}

bool fr_gan_config_fits(const FrGanConfig *c, const FrGanConfig *max) {
  for (int i = 0; i < FR_GAN_CONFIG_LEN; i++)
    if (c->ch[i] < 1 || c->ch[i] > max->ch[i]) return false;
  return true;
}

const int *fr_gan_width_options(int ngf, int *n) {
  /* fractions 1, 3/4, 1/2, 3/8, 1/4 of ngf (at least 1, duplicates dropped), tabled once for ngf <= 256 */
  static int table[257][5], counts[257];
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    for (int f = 1; f <= 256; f++) {
      int v[5] = { f, (f * 3) / 4, f / 2, (f * 3) / 8, f / 4 }, k = 0;
      for (int i = 0; i < 5; i++)
        if (v[i] >= 1 && (k == 0 || v[i] != table[f][k - 1])) table[f][k++] = v[i];
      counts[f] = k;
    }
    g_once_init_leave(&once, 1);
  }
  ngf = CLAMP(ngf, 1, 256);
  *n = counts[ngf];
  return table[ngf];
}

/* ---- layer widths ----------------------------------------------------------------------------- */

/* Channel counts a config gives, shared by the cost model and the forward pass. */
typedef struct { int stem, down1, res, inner[FR_GAN_BLOCKS], up1, up2; } Widths;

static Widths widths_of(const FrGanConfig *c) {
  Widths w;
  w.stem = c->ch[0];
  w.down1 = c->ch[1] * 2;
  w.res = c->ch[2] * 4;
  for (int b = 0; b < FR_GAN_BLOCKS; b++) w.inner[b] = c->ch[3 + b / 3] * 4;
  w.up1 = c->ch[6] * 2;
  w.up2 = c->ch[7];
  return w;
}

/* ---- construction ----------------------------------------------------------------------------- */

static void init_normal(FrTensor *t, FrRng *rng, float std) {
  int64_t n = fr_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) t->data[i] = std * fr_rng_normal(rng);
}

static void add_conv(FrGanGenerator *g, const char *name, int64_t d0, int64_t d1, int64_t k, FrRng *rng) {
  char *wn = g_strdup_printf("%s.w", name), *bn = g_strdup_printf("%s.b", name);
  FrTensor *w = fr_param_set_add(g->ps, wn, 4, FR_SHAPE(d0, d1, k, k), TRUE);
  /* bias length: output channels; for a transposed conv ([Cin, Cout, k, k]) that is d1 */
  gboolean transposed = g_str_has_prefix(name, "up");
  fr_param_set_add(g->ps, bn, 1, FR_SHAPE(transposed ? d1 : d0), TRUE);
  if (rng) init_normal(w, rng, 0.02f);
  g_free(wn);
  g_free(bn);
}

static void build(FrGanGenerator *g, FrRng *rng) {
  Widths w = widths_of(&g->max);
  add_conv(g, "stem", w.stem, g->in_c, 7, rng);
  add_conv(g, "down1", w.down1, w.stem, 3, rng);
  add_conv(g, "down2", w.res, w.down1, 3, rng);
  for (int b = 0; b < FR_GAN_BLOCKS; b++) {
    char name[32];
    if (g->kind == FR_GAN_RESNET) {
      g_snprintf(name, sizeof name, "block%d.conv1", b + 1);
      add_conv(g, name, w.inner[b], w.res, 3, rng);
      g_snprintf(name, sizeof name, "block%d.conv2", b + 1);
      add_conv(g, name, w.res, w.inner[b], 3, rng);
    } else {
      g_snprintf(name, sizeof name, "block%d.dw1", b + 1);
      add_conv(g, name, w.res, 1, 3, rng);
      g_snprintf(name, sizeof name, "block%d.pw1", b + 1);
      add_conv(g, name, w.inner[b], w.res, 1, rng);
      g_snprintf(name, sizeof name, "block%d.dw2", b + 1);
      add_conv(g, name, w.inner[b], 1, 3, rng);
      g_snprintf(name, sizeof name, "block%d.pw2", b + 1);
      add_conv(g, name, w.res, w.inner[b], 1, rng);
    }
  }
  add_conv(g, "up1", w.res, w.up1, 3, rng);
  add_conv(g, "up2", w.up1, w.up2, 3, rng);
  add_conv(g, "out", g->out_c, w.up2, 7, rng);
}

FrGanGenerator *fr_gan_generator_new(FrGanKind kind, const FrGanConfig *max, int in_c, int out_c, guint64 seed) {
  FrGanGenerator *g = g_new0(FrGanGenerator, 1);
  g->kind = kind;
  g->max = *max;
  g->in_c = in_c;
  g->out_c = out_c;
  g->ps = fr_param_set_new();
  FrRng rng;
  fr_rng_seed(&rng, seed);
  build(g, &rng);
  return g;
}

void fr_gan_generator_free(FrGanGenerator *g) {
  if (!g) return;
  fr_param_set_free(g->ps);
  run_graphs_free(g->spare);
  if (g->meta) g_hash_table_unref(g->meta);
  g_free(g);
}

FrGanKind fr_gan_generator_kind(const FrGanGenerator *g) { return g->kind; }
const FrGanConfig *fr_gan_generator_max(const FrGanGenerator *g) { return &g->max; }
FrParamSet *fr_gan_generator_params(FrGanGenerator *g) { return g->ps; }
const char *fr_gan_generator_get_meta(const FrGanGenerator *g, const char *key) {
  return g->meta ? g_hash_table_lookup(g->meta, key) : NULL;
}

gboolean fr_gan_generator_save(FrGanGenerator *g, const char *path, const char *const *metadata, GError **error) {
  char *cfg = fr_gan_config_to_string(&g->max);
  char in_c[16], out_c[16];
  g_snprintf(in_c, sizeof in_c, "%d", g->in_c);
  g_snprintf(out_c, sizeof out_c, "%d", g->out_c);
  GPtrArray *md = g_ptr_array_new();
  const char *own[] = { "format", MODEL_FORMAT, "kind", g->kind == FR_GAN_RESNET ? "resnet" : "mobile",
                        "config", cfg, "in_channels", in_c, "out_channels", out_c };
  for (guint i = 0; i < G_N_ELEMENTS(own); i++) g_ptr_array_add(md, (gpointer)own[i]);
  for (int i = 0; metadata && metadata[i] && metadata[i + 1]; i += 2) {
    g_ptr_array_add(md, (gpointer)metadata[i]);
    g_ptr_array_add(md, (gpointer)metadata[i + 1]);
  }
  g_ptr_array_add(md, NULL);
  char *dir = g_path_get_dirname(path);
  gboolean ok = g_mkdir_with_parents(dir, 0755) == 0;
  if (!ok) g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot create folder %s", dir);
  else ok = fr_param_set_save(g->ps, path, (const char *const *)md->pdata, error);
  g_free(dir);
  g_ptr_array_free(md, TRUE);
  g_free(cfg);
  return ok;
}

FrGanGenerator *fr_gan_generator_load(const char *path, GError **error) {
  FrSafetensors *st = fr_safetensors_load(path, error);
  if (!st) return NULL;
  const char *fmt = fr_safetensors_get_metadata(st, "format"), *kind = fr_safetensors_get_metadata(st, "kind");
  const char *cfg = fr_safetensors_get_metadata(st, "config");
  const char *ic = fr_safetensors_get_metadata(st, "in_channels"), *oc = fr_safetensors_get_metadata(st, "out_channels");
  FrGanConfig max;
  if (!fmt || strcmp(fmt, MODEL_FORMAT) || !kind || (strcmp(kind, "resnet") && strcmp(kind, "mobile")) || !ic || !oc ||
      atoi(ic) < 1 || atoi(ic) > 16 || atoi(oc) < 1 || atoi(oc) > 16 || !fr_gan_config_parse(cfg, &max, NULL)) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_MODEL, "%s: not a Frontier GAN generator (format, kind, config or channels missing)", path);
    fr_safetensors_free(st);
    return NULL;
  }
  FrGanGenerator *g = g_new0(FrGanGenerator, 1);
  g->kind = strcmp(kind, "resnet") ? FR_GAN_MOBILE : FR_GAN_RESNET;
  g->max = max;
  g->in_c = atoi(ic);
  g->out_c = atoi(oc);
  /* keep the metadata callers read (the safetensors API offers lookups only) */
  static const char *const keys[] = { "kind", "config", "stage", "steps", "run", "command", "fid_like", "fid_like_search1k",
                                      "train_seconds_this_session", "accuracy", "l1", NULL };
  g->meta = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  for (int k = 0; keys[k]; k++) {
    const char *v = fr_safetensors_get_metadata(st, keys[k]);
    if (v) g_hash_table_insert(g->meta, g_strdup(keys[k]), g_strdup(v));
  }
  fr_safetensors_free(st);   /* the metadata strings above live in it */
  g->ps = fr_param_set_new();
  build(g, NULL);
  if (!fr_param_set_load(g->ps, path, NULL, error)) {
    fr_gan_generator_free(g);
    return NULL;
  }
  return g;
}

/* ---- forward ---------------------------------------------------------------------------------- */

static FrTensor *param(FrGanGenerator *g, const char *layer, const char *what) {
  char name[40];
  g_snprintf(name, sizeof name, "%s.%s", layer, what);
  FrTensor *t = fr_param_set_get(g->ps, name);
  g_assert(t);
  return t;
}

/* First d0 entries of dim 0 and first d1 of dim 1 (d1 < 0: dim 1 untouched). */
static FrTensor *narrow(FrGraph *gr, FrTensor *t, int64_t d0, int64_t d1) {
  if (d0 < t->shape[0]) t = fr_slice(gr, t, 0, 0, d0);
  if (d1 >= 0 && t->ndim > 1 && d1 < t->shape[1]) t = fr_slice(gr, t, 1, 0, d1);
  return t;
}

static FrTensor *conv(FrGanGenerator *g, FrGraph *gr, FrTensor *x, const char *layer, int64_t cout, int stride,
                      int pad, FrPadMode mode, int groups) {
  int64_t cin = x->shape[1];
  FrTensor *w = narrow(gr, param(g, layer, "w"), cout, groups > 1 ? -1 : cin);
  FrTensor *b = narrow(gr, param(g, layer, "b"), cout, -1);
  FrConv2dParams p = { .stride = stride, .padding = pad, .dilation = 1, .groups = groups, .pad_mode = mode };
  return fr_conv2d(gr, x, w, b, p);
}

static FrTensor *conv_t(FrGanGenerator *g, FrGraph *gr, FrTensor *x, const char *layer, int64_t cout) {
  FrTensor *w = narrow(gr, param(g, layer, "w"), x->shape[1], cout);
  FrTensor *b = narrow(gr, param(g, layer, "b"), cout, -1);
  return fr_conv_transpose2d(gr, x, w, b, 2, 1, 1);
}

#define IN_EPS 1e-5f

/* x is always a convolution's fresh output, read by nothing else: in inference it is normalised in place */
static FrTensor *norm(FrGraph *gr, FrTensor *x, FrAct act) {
  return fr_instance_norm2d_(gr, x, NULL, NULL, IN_EPS, act);
}

/* Where each stage of the forward allocates. A training forward runs in one graph (the backward needs
 * everything). Inference alternates between two graphs, resetting the one it enters: a stage reads only
 * the previous stage's output (the residual input included), which lives in the other graph, so memory
 * stays at two stages' worth instead of the whole network's (at 256x256 the ResNet's activations take
 * ~300 MB), and the same memory is reused from stage to stage and from call to call. */
typedef struct {
  FrGraph *g[2];
  int cur;
  bool staged;
} Stages;

static FrGraph *stage(Stages *s) {
  if (!s->staged) return s->g[0];
  s->cur ^= 1;
  fr_graph_reset(s->g[s->cur]);
  return s->g[s->cur];
}

static FrTensor *forward_staged(FrGanGenerator *g, Stages *st, FrTensor *x, const FrGanConfig *c, FrTensor **taps) {
  if (!c) c = &g->max;
  g_assert(fr_gan_config_fits(c, &g->max));
  g_assert(x->ndim == 4 && x->shape[1] == g->in_c && x->shape[2] % 4 == 0 && x->shape[3] % 4 == 0);
  g_assert(!taps || !st->staged);
  Widths w = widths_of(c);
  /* profiler scopes: one per stage (pushed on the stage's graph, popped before the next stage), and
   * inside a residual block one per convolution with its norm */
  static const char *const block_names[FR_GAN_BLOCKS] = { "block1", "block2", "block3", "block4", "block5",
                                                          "block6", "block7", "block8", "block9" };
  FrGraph *gr = stage(st);
  fr_graph_push_scope(gr, "stem");
  FrTensor *h = norm(gr, conv(g, gr, x, "stem", w.stem, 1, 3, FR_PAD_REFLECT, 1), FR_ACT_RELU);
  fr_graph_pop_scope(gr);
  gr = stage(st);
  fr_graph_push_scope(gr, "down1");
  h = norm(gr, conv(g, gr, h, "down1", w.down1, 2, 1, FR_PAD_ZEROS, 1), FR_ACT_RELU);
  fr_graph_pop_scope(gr);
  gr = stage(st);
  fr_graph_push_scope(gr, "down2");
  h = norm(gr, conv(g, gr, h, "down2", w.res, 2, 1, FR_PAD_ZEROS, 1), FR_ACT_RELU);
  fr_graph_pop_scope(gr);
  if (taps) taps[0] = h;
  for (int b = 0; b < FR_GAN_BLOCKS; b++) {
    char l1[24], l2[24], l3[24], l4[24];
    FrTensor *r;
    gr = stage(st);
    fr_graph_push_scope(gr, block_names[b]);
    if (g->kind == FR_GAN_RESNET) {
      g_snprintf(l1, sizeof l1, "block%d.conv1", b + 1);
      g_snprintf(l2, sizeof l2, "block%d.conv2", b + 1);
      fr_graph_push_scope(gr, "conv1");
      r = norm(gr, conv(g, gr, h, l1, w.inner[b], 1, 1, FR_PAD_REFLECT, 1), FR_ACT_RELU);
      fr_graph_pop_scope(gr);
      fr_graph_push_scope(gr, "conv2");
      r = norm(gr, conv(g, gr, r, l2, w.res, 1, 1, FR_PAD_REFLECT, 1), FR_ACT_NONE);
      fr_graph_pop_scope(gr);
    } else {
      /* depthwise 3x3 (reflect), IN, pointwise 1x1, IN + ReLU; then the same back to the residual width */
      g_snprintf(l1, sizeof l1, "block%d.dw1", b + 1);
      g_snprintf(l2, sizeof l2, "block%d.pw1", b + 1);
      g_snprintf(l3, sizeof l3, "block%d.dw2", b + 1);
      g_snprintf(l4, sizeof l4, "block%d.pw2", b + 1);
      fr_graph_push_scope(gr, "dw1");
      r = norm(gr, conv(g, gr, h, l1, w.res, 1, 1, FR_PAD_REFLECT, (int)w.res), FR_ACT_NONE);
      fr_graph_pop_scope(gr);
      fr_graph_push_scope(gr, "pw1");
      r = norm(gr, conv(g, gr, r, l2, w.inner[b], 1, 0, FR_PAD_ZEROS, 1), FR_ACT_RELU);
      fr_graph_pop_scope(gr);
      fr_graph_push_scope(gr, "dw2");
      r = norm(gr, conv(g, gr, r, l3, w.inner[b], 1, 1, FR_PAD_REFLECT, w.inner[b]), FR_ACT_NONE);
      fr_graph_pop_scope(gr);
      fr_graph_push_scope(gr, "pw2");
      r = norm(gr, conv(g, gr, r, l4, w.res, 1, 0, FR_PAD_ZEROS, 1), FR_ACT_NONE);
      fr_graph_pop_scope(gr);
    }
    h = fr_add_(gr, r, h);   /* r is dead after this: in inference the sum overwrites it, not h */
    fr_graph_pop_scope(gr);
    if (taps && (b + 1) % 3 == 0) taps[(b + 1) / 3] = h;
  }
  gr = stage(st);
  fr_graph_push_scope(gr, "up1");
  h = norm(gr, conv_t(g, gr, h, "up1", w.up1), FR_ACT_RELU);
  fr_graph_pop_scope(gr);
  gr = stage(st);
  fr_graph_push_scope(gr, "up2");
  h = norm(gr, conv_t(g, gr, h, "up2", w.up2), FR_ACT_RELU);
  fr_graph_pop_scope(gr);
  gr = stage(st);
  fr_graph_push_scope(gr, "out");
  h = fr_tanh(gr, conv(g, gr, h, "out", g->out_c, 1, 3, FR_PAD_REFLECT, 1));
  fr_graph_pop_scope(gr);
  return h;
}

FrTensor *fr_gan_generator_forward(FrGanGenerator *g, FrGraph *gr, FrTensor *x, const FrGanConfig *c, FrTensor **taps) {
  Stages st = { { gr, gr }, 0, false };
  return forward_staged(g, &st, x, c, taps);
}

void fr_gan_generator_run(FrGanGenerator *g, const FrGanConfig *c, const float *in, int n, int H, int W, float *out) {
  /* the graphs of an earlier call when no other call holds them: their arenas are already the right
   * size, so a steady stream of calls allocates (and page-faults) nothing */
  RunGraphs *rg = g_atomic_pointer_exchange(&g->spare, NULL);
  if (!rg) {
    rg = g_new0(RunGraphs, 1);
    for (int i = 0; i < 2; i++) {
      rg->g[i] = fr_graph_new(0);
      rg->g[i]->grad_enabled = false;
      rg->g[i]->training = false;
    }
  }
  const int chunk = 64;   /* bounds the arenas: activations of 64 images at a time */
  for (int i = 0; i < n; i += chunk) {
    int m = MIN(chunk, n - i);
    /* x lives in g[0]; the first stage enters g[1] */
    Stages st = { { rg->g[0], rg->g[1] }, 0, true };
    fr_graph_reset(rg->g[0]);
    FrTensor *x = fr_tensor_wrap(rg->g[0], 4, FR_SHAPE(m, g->in_c, H, W), (float *)in + (size_t)i * g->in_c * H * W);
    FrTensor *y = forward_staged(g, &st, x, c, NULL);
    memcpy(out + (size_t)i * g->out_c * H * W, y->data, sizeof(float) * (size_t)m * g->out_c * H * W);
  }
  for (int i = 0; i < 2; i++) fr_graph_reset(rg->g[i]);
  if (!g_atomic_pointer_compare_and_exchange(&g->spare, NULL, rg)) run_graphs_free(rg);
}

FrGanGenerator *fr_gan_generator_extract(FrGanGenerator *g, const FrGanConfig *c) {
  g_assert(fr_gan_config_fits(c, &g->max));
  FrGanGenerator *s = g_new0(FrGanGenerator, 1);
  s->kind = g->kind;
  s->max = *c;
  s->in_c = g->in_c;
  s->out_c = g->out_c;
  s->ps = fr_param_set_new();
  build(s, NULL);
  for (int i = 0; i < fr_param_set_len(s->ps); i++) {
    FrTensor *dst = fr_param_set_nth(s->ps, i), *src = fr_param_set_get(g->ps, dst->name);
    g_assert(src && src->ndim == dst->ndim);
    /* copy the leading block of src into dst */
    int64_t d[4] = { 1, 1, 1, 1 }, ss[4] = { 1, 1, 1, 1 };
    for (int k = 0; k < dst->ndim; k++) d[k] = dst->shape[k], ss[k] = src->shape[k];
    for (int64_t a = 0; a < d[0]; a++)
      for (int64_t b = 0; b < d[1]; b++)
        for (int64_t e = 0; e < d[2]; e++)
          memcpy(dst->data + ((a * d[1] + b) * d[2] + e) * d[3], src->data + ((a * ss[1] + b) * ss[2] + e) * ss[3],
                 sizeof(float) * (size_t)d[3]);
  }
  return s;
}
