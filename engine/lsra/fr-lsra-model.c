/* The Transformer and the Lite Transformer as one encoder-decoder (see fr-lsra-model.h): parameters,
 * initialisation, files, and the teacher-forced training forward with its loss. */
#include "fr-lsra-model-private.h"
#include "fr-lsra-bpe.h"
#include "fr-lsra-conv.h"
#include "fr-lsra-ops.h"
#include "fr-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK(fr-lsra-error-quark, fr_lsra_error)

/* ---- the four mobile configs ---- */

static const char *const mobile_names[] = { "transformer-small", "lite-small", "transformer", "lite", NULL };

const char *const *fr_lsra_mobile_names(void) {
  return mobile_names;
}

gboolean fr_lsra_config_mobile(const char *name, int vocab, FrLsraConfig *out) {
  FrLsraConfig c;
  if (!g_strcmp0(name, "transformer-small")) c = fr_lsra_config_transformer(72);
  else if (!g_strcmp0(name, "lite-small")) c = fr_lsra_config_lite(112);
  else if (!g_strcmp0(name, "transformer")) c = fr_lsra_config_transformer(128);
  else if (!g_strcmp0(name, "lite")) c = fr_lsra_config_lite(200);
  else return FALSE;
  for (const char *const *n = mobile_names; *n; n++)
    if (!strcmp(*n, name)) c.name = *n;
  c.enc_layers = c.dec_layers = 3;
  c.heads = 4;
  c.src_vocab = c.tgt_vocab = vocab;
  c.share_all = true;
  *out = c;
  return TRUE;
}

/* ---- parameters ---- */

static FrTensor *add(FrLsraModel *m, const char *prefix, const char *name, int64_t rows, int64_t cols) {
  char *full = g_strconcat(prefix, name, NULL);
  FrTensor *t = cols > 0 ? fr_param_set_add(m->params, full, 2, FR_SHAPE(rows, cols), TRUE)
                         : fr_param_set_add(m->params, full, 1, FR_SHAPE(rows), TRUE);
  g_free(full);
  return t;
}

static FrLsraLinear add_linear(FrLsraModel *m, const char *prefix, const char *name, int64_t in, int64_t out,
                               gboolean bias) {
  char *p = g_strconcat(prefix, name, NULL);
  FrLsraLinear l = { add(m, p, ".weight", out, in), bias ? add(m, p, ".bias", out, 0) : NULL };
  g_free(p);
  return l;
}

static FrLsraAttn add_attn(FrLsraModel *m, const char *prefix, int64_t a) {
  return (FrLsraAttn){ add_linear(m, prefix, "q", a, a, TRUE), add_linear(m, prefix, "k", a, a, TRUE),
                       add_linear(m, prefix, "v", a, a, TRUE), add_linear(m, prefix, "o", a, a, TRUE) };
}

static void add_layer(FrLsraModel *m, FrLsraLayer *L, const char *side, int i, int K, gboolean decoder) {
  const FrLsraConfig *c = &m->cfg;
  const int64_t d = c->d_model;
  char *p = g_strdup_printf("%s.%d.", side, i), *sp = g_strconcat(p, "self.", NULL);
  if (c->arch == FR_LSRA_ARCH_TRANSFORMER) {
    L->self = add_attn(m, sp, d);
  } else {
    const int64_t a = c->attn_dim, ch = d - a, H = c->conv_heads;
    char *cp = g_strconcat(p, "conv.", NULL);
    L->self = add_attn(m, sp, a);
    L->conv.K = K;
    L->conv.in = add_linear(m, cp, "in", ch, c->glu ? 2 * ch : ch, TRUE);
    if (c->conv == FR_LSRA_CONV_DYNAMIC) L->conv.predict = add(m, cp, "predict.weight", H * K, ch);
    else L->conv.weight = add(m, cp, "weight", H, K);
    L->conv.out = add_linear(m, cp, "out", ch, ch, TRUE);
    g_free(cp);
  }
  L->ln1_g = add(m, p, "ln1.weight", d, 0);
  L->ln1_b = add(m, p, "ln1.bias", d, 0);
  if (decoder) {
    char *xp = g_strconcat(p, "cross.", NULL);
    L->cross = add_attn(m, xp, d);
    g_free(xp);
  }
  L->ffn1 = add_linear(m, p, "ffn1", d, c->ffn_dim, TRUE);
  L->ffn2 = add_linear(m, p, "ffn2", c->ffn_dim, d, TRUE);
  L->ln2_g = add(m, p, "ln2.weight", d, 0);
  L->ln2_b = add(m, p, "ln2.bias", d, 0);
  if (decoder) {
    L->ln3_g = add(m, p, "ln3.weight", d, 0);
    L->ln3_b = add(m, p, "ln3.bias", d, 0);
  }
  g_free(sp);
  g_free(p);
}

FrLsraModel *fr_lsra_model_new(const FrLsraConfig *cfg, GError **error) {
  GError *e = NULL;
  if (!fr_lsra_config_validate(cfg, &e)) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "%s", e->message);
    g_error_free(e);
    return NULL;
  }
  if (!cfg->share_all || cfg->src_vocab != cfg->tgt_vocab || cfg->src_vocab <= FR_LSRA_BPE_N_SPECIAL ||
      cfg->enc_layers < 1 || cfg->dec_layers < 1) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID,
                "%s: a translation model needs one shared vocabulary of more than %d pieces and at least one "
                "encoder and one decoder layer", cfg->name ? cfg->name : "config", FR_LSRA_BPE_N_SPECIAL);
    return NULL;
  }
  FrLsraModel *m = g_new0(FrLsraModel, 1);
  m->cfg = *cfg;
  m->name = g_strdup(cfg->name ? cfg->name : "model");
  m->cfg.name = m->name;
  m->params = fr_param_set_new();
  m->embed = add(m, "", "embed", cfg->src_vocab, cfg->d_model);
  for (int i = 0; i < cfg->enc_layers; i++) add_layer(m, &m->enc[i], "enc", i, cfg->enc_kernels[i], FALSE);
  for (int i = 0; i < cfg->dec_layers; i++) add_layer(m, &m->dec[i], "dec", i, cfg->dec_kernels[i], TRUE);
  return m;
}

void fr_lsra_model_free(FrLsraModel *m) {
  if (!m) return;
  fr_param_set_free(m->params);
  g_free(m->name);
  g_free(m);
}

const FrLsraConfig *fr_lsra_model_config(const FrLsraModel *m) { return &m->cfg; }
int fr_lsra_model_vocab(const FrLsraModel *m) { return m->cfg.src_vocab; }
FrParamSet *fr_lsra_model_params(FrLsraModel *m) { return m->params; }

void fr_lsra_model_init(FrLsraModel *m, guint64 seed) {
  FrRng rng;
  fr_rng_seed(&rng, seed);
  const int64_t d = m->cfg.d_model;
  for (int i = 0; i < fr_param_set_len(m->params); i++) {
    FrTensor *t = fr_param_set_nth(m->params, i);
    int64_t n = fr_tensor_numel(t);
    if (t == m->embed) {
      fr_rng_fill_normal(&rng, t->data, n, 0.0f, (float)(1.0 / sqrt((double)d)));
      memset(t->data, 0, sizeof(float) * (size_t)d); /* <pad> */
    } else if (t->ndim == 2) {
      /* Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
      float a = (float)sqrt(6.0 / (double)(t->shape[0] + t->shape[1]));
      fr_rng_fill_uniform(&rng, t->data, n, -a, a);
    } else {
      float v = g_str_has_suffix(t->name, "ln1.weight") || g_str_has_suffix(t->name, "ln2.weight") ||
                g_str_has_suffix(t->name, "ln3.weight") ? 1.0f : 0.0f;
      for (int64_t j = 0; j < n; j++) t->data[j] = v;
    }
  }
}

/* ---- files ---- */

static void json_int(JsonBuilder *b, const char *k, gint64 v) {
  json_builder_set_member_name(b, k);
  json_builder_add_int_value(b, v);
}

static char *config_to_json(const FrLsraConfig *c) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "name");
  json_builder_add_string_value(b, c->name);
  json_builder_set_member_name(b, "arch");
  json_builder_add_string_value(b, c->arch == FR_LSRA_ARCH_LITE ? "lite" : "transformer");
  json_int(b, "d_model", c->d_model);
  json_int(b, "enc_layers", c->enc_layers);
  json_int(b, "dec_layers", c->dec_layers);
  json_int(b, "heads", c->heads);
  json_int(b, "ffn_dim", c->ffn_dim);
  json_int(b, "vocab", c->src_vocab);
  if (c->arch == FR_LSRA_ARCH_LITE) {
    json_int(b, "attn_dim", c->attn_dim);
    json_int(b, "conv_heads", c->conv_heads);
    json_builder_set_member_name(b, "conv");
    json_builder_add_string_value(b, c->conv == FR_LSRA_CONV_DYNAMIC ? "dynamic" : "lightweight");
    json_builder_set_member_name(b, "glu");
    json_builder_add_boolean_value(b, c->glu);
    const char *keys[2] = { "enc_kernels", "dec_kernels" };
    for (int s = 0; s < 2; s++) {
      json_builder_set_member_name(b, keys[s]);
      json_builder_begin_array(b);
      for (int i = 0; i < (s ? c->dec_layers : c->enc_layers); i++)
        json_builder_add_int_value(b, s ? c->dec_kernels[i] : c->enc_kernels[i]);
      json_builder_end_array(b);
    }
  }
  json_builder_end_object(b);
  JsonGenerator *gen = json_generator_new();
  JsonNode *root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  char *s = json_generator_to_data(gen, NULL);
  json_node_unref(root);
  g_object_unref(gen);
  g_object_unref(b);
  return s;
}

static gboolean config_from_json(const char *text, FrLsraConfig *c, char **name, GError **error) {
  JsonParser *p = json_parser_new();
  gboolean ok = json_parser_load_from_data(p, text, -1, NULL);
  JsonNode *root = ok ? json_parser_get_root(p) : NULL;
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  const char *need[] = { "name", "arch", "d_model", "enc_layers", "dec_layers", "heads", "ffn_dim", "vocab" };
  for (guint i = 0; o && i < G_N_ELEMENTS(need); i++)
    if (!json_object_has_member(o, need[i])) o = NULL;
  if (!o) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_FORMAT, "the model's config is not valid JSON with every field");
    g_object_unref(p);
    return FALSE;
  }
  memset(c, 0, sizeof *c);
  *name = g_strdup(json_object_get_string_member(o, "name"));
  c->arch = !g_strcmp0(json_object_get_string_member(o, "arch"), "lite") ? FR_LSRA_ARCH_LITE : FR_LSRA_ARCH_TRANSFORMER;
  c->d_model = (int)json_object_get_int_member(o, "d_model");
  c->enc_layers = (int)json_object_get_int_member(o, "enc_layers");
  c->dec_layers = (int)json_object_get_int_member(o, "dec_layers");
  c->heads = (int)json_object_get_int_member(o, "heads");
  c->ffn_dim = (int)json_object_get_int_member(o, "ffn_dim");
  c->src_vocab = c->tgt_vocab = (int)json_object_get_int_member(o, "vocab");
  c->share_all = true;
  if (c->arch == FR_LSRA_ARCH_LITE) {
    c->attn_dim = (int)json_object_get_int_member_with_default(o, "attn_dim", 0);
    c->conv_heads = (int)json_object_get_int_member_with_default(o, "conv_heads", 0);
    c->conv = !g_strcmp0(json_object_get_string_member_with_default(o, "conv", ""), "lightweight")
                ? FR_LSRA_CONV_LIGHTWEIGHT : FR_LSRA_CONV_DYNAMIC;
    c->glu = json_object_get_boolean_member_with_default(o, "glu", TRUE);
    const char *keys[2] = { "enc_kernels", "dec_kernels" };
    for (int s = 0; s < 2; s++) {
      JsonArray *a = json_object_has_member(o, keys[s]) ? json_object_get_array_member(o, keys[s]) : NULL;
      for (guint i = 0; a && i < json_array_get_length(a) && i < FR_LSRA_MAX_LAYERS; i++)
        (s ? c->dec_kernels : c->enc_kernels)[i] = (int)json_array_get_int_element(a, i);
    }
  }
  c->name = *name;
  g_object_unref(p);
  return TRUE;
}

gboolean fr_lsra_model_save(FrLsraModel *m, const char *path, const char *const *extra_metadata, GError **error) {
  char *json = config_to_json(&m->cfg);
  GPtrArray *md = g_ptr_array_new();
  g_ptr_array_add(md, (gpointer) "format");
  g_ptr_array_add(md, (gpointer) "frontier-lsra");
  g_ptr_array_add(md, (gpointer) "config");
  g_ptr_array_add(md, json);
  for (const char *const *kv = extra_metadata; kv && kv[0] && kv[1]; kv += 2) {
    g_ptr_array_add(md, (gpointer)kv[0]);
    g_ptr_array_add(md, (gpointer)kv[1]);
  }
  g_ptr_array_add(md, NULL);
  gboolean ok = fr_param_set_save(m->params, path, (const char *const *)md->pdata, error);
  g_ptr_array_free(md, TRUE);
  g_free(json);
  return ok;
}

FrLsraModel *fr_lsra_model_load(const char *path, GHashTable **metadata_out, GError **error) {
  FrSafetensors *st = fr_safetensors_load(path, error);
  if (!st) return NULL;
  const char *format = fr_safetensors_get_metadata(st, "format"), *json = fr_safetensors_get_metadata(st, "config");
  if (g_strcmp0(format, "frontier-lsra") || !json) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_FORMAT, "%s: not a Frontier translation model", path);
    fr_safetensors_free(st);
    return NULL;
  }
  FrLsraConfig cfg;
  char *name = NULL;
  GError *e = NULL;
  FrLsraModel *m = NULL;
  if (config_from_json(json, &cfg, &name, &e)) m = fr_lsra_model_new(&cfg, &e);
  g_free(name);
  if (!m) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_FORMAT, "%s: %s", path, e->message);
    g_error_free(e);
    fr_safetensors_free(st);
    return NULL;
  }
  if (!fr_param_set_load(m->params, path, NULL, error)) {
    fr_safetensors_free(st);
    fr_lsra_model_free(m);
    return NULL;
  }
  if (metadata_out) *metadata_out = fr_safetensors_dup_metadata(st);
  fr_safetensors_free(st);
  return m;
}

/* ---- forward ---- */

void fr_lsra_train_opts_init(FrLsraTrainOpts *o) {
  *o = (FrLsraTrainOpts){ .dropout = 0.1f, .attn_dropout = 0.0f, .act_dropout = 0.0f, .weight_dropout = 0.1f,
                          .label_smoothing = 0.1f };
}

FrTensor *fr_lsra_embed(FrGraph *g, FrLsraModel *m, const int32_t *ids, int B, int T, float dropout) {
  const int d = m->cfg.d_model;
  FrTensor *e = fr_embedding(g, m->embed, ids, (int64_t)B * T);
  e = fr_scale(g, e, sqrtf((float)d));
  FrTensor *pos = fr_tensor_new(g, 2, FR_SHAPE((int64_t)B * T, d));
  for (int t = 0; t < T; t++) fr_lsra_sinusoid(d, t + 1, pos->data + (int64_t)t * d);
  for (int b = 1; b < B; b++)
    memcpy(pos->data + (int64_t)b * T * d, pos->data, sizeof(float) * (size_t)T * d);
  e = fr_add(g, e, pos);
  e = fr_reshape(g, e, 3, FR_SHAPE(B, T, d));
  return fr_dropout(g, e, dropout);
}

static FrTensor *attention(FrGraph *g, const FrLsraAttn *a, FrTensor *xq, FrTensor *xkv, int heads,
                           const int32_t *key_len, bool causal, const float **probs) {
  FrTensor *q = fr_lsra_lin(g, xq, &a->q), *k = fr_lsra_lin(g, xkv, &a->k), *v = fr_lsra_lin(g, xkv, &a->v);
  return fr_lsra_lin(g, fr_lsra_mha(g, q, k, v, heads, key_len, causal, probs), &a->o);
}

/* Linear -> GLU -> lightweight/dynamic conv -> Linear on x [B, T, c]. */
static FrTensor *conv_branch(FrGraph *g, const FrLsraModel *m, const FrLsraConvBranch *cb, FrTensor *x,
                             const int32_t *len, bool causal, const FrLsraTrainOpts *o, const float **kernels) {
  const FrLsraConfig *c = &m->cfg;
  const int64_t B = x->shape[0], T = x->shape[1], H = c->conv_heads;
  const int pad = causal ? cb->K - 1 : cb->K / 2;
  FrTensor *u = fr_lsra_lin(g, x, &cb->in);
  if (c->glu) u = fr_glu(g, u, 2);
  /* padded positions enter the convolution as zeros, as positions outside the sentence do, so a
   * sentence's output does not depend on the padding of its batch (fairseq masks here too) */
  if (len) u = fr_lsra_mask_rows(g, u, len);
  FrTensor *y;
  if (c->conv == FR_LSRA_CONV_DYNAMIC) {
    FrTensor *k = fr_linear(g, u, cb->predict, NULL);
    k = fr_softmax(g, fr_reshape(g, k, 4, FR_SHAPE(B, T, H, cb->K)));
    if (kernels) *kernels = k->data;
    k = fr_dropout(g, k, o->weight_dropout);
    y = fr_dynamic_conv1d(g, u, k, pad);
  } else {
    if (kernels) *kernels = cb->weight->data;
    y = fr_lightweight_conv1d_dropout(g, u, cb->weight, pad, true, o->weight_dropout);
  }
  return fr_lsra_lin(g, y, &cb->out);
}

/* The block's token mixer: attention (Transformer) or attention || convolution (LSRA). */
static FrTensor *mixer(FrGraph *g, const FrLsraModel *m, const FrLsraLayer *L, FrTensor *x, const int32_t *len,
                       bool causal, const FrLsraTrainOpts *o, const float **probs, const float **kernels) {
  const FrLsraConfig *c = &m->cfg;
  if (c->arch == FR_LSRA_ARCH_TRANSFORMER) return attention(g, &L->self, x, x, c->heads, len, causal, probs);
  const int64_t a = c->attn_dim, ch = c->d_model - a;
  FrTensor *xa = fr_slice(g, x, 2, 0, a), *xc = fr_slice(g, x, 2, a, ch);
  FrTensor *ya = attention(g, &L->self, xa, xa, c->heads, len, causal, probs);
  FrTensor *yc = conv_branch(g, m, &L->conv, xc, causal ? NULL : len, causal, o, kernels);
  return fr_concat(g, ya, yc, 2);
}

static FrTensor *add_norm(FrGraph *g, FrTensor *x, FrTensor *y, FrTensor *gamma, FrTensor *beta, float dropout) {
  return fr_layer_norm(g, fr_add(g, x, fr_dropout(g, y, dropout)), gamma, beta, 1e-5f, FR_ACT_NONE);
}

static FrTensor *ffn(FrGraph *g, const FrLsraLayer *L, FrTensor *x, const FrLsraTrainOpts *o) {
  FrTensor *h = fr_relu(g, fr_lsra_lin(g, x, &L->ffn1));
  return fr_lsra_lin(g, fr_dropout(g, h, o->act_dropout), &L->ffn2);
}

const char *fr_lsra_layer_name(int l) {
  static const char *const names[FR_LSRA_MAX_LAYERS] = { "layer0", "layer1", "layer2", "layer3", "layer4", "layer5",
    "layer6", "layer7", "layer8", "layer9", "layer10", "layer11", "layer12", "layer13", "layer14", "layer15" };
  return l >= 0 && l < FR_LSRA_MAX_LAYERS ? names[l] : "layer";
}

FrTensor *fr_lsra_encode(FrGraph *g, FrLsraModel *m, const int32_t *src, const int32_t *src_len, int B, int S,
                         const FrLsraTrainOpts *o, FrLsraEncTrace *trace) {
  fr_graph_push_scope(g, "encoder");
  FrTensor *x = fr_lsra_embed(g, m, src, B, S, o->dropout);
  const char *mix_name = m->cfg.arch == FR_LSRA_ARCH_LITE ? "lsra" : "self_attention";
  for (int l = 0; l < m->cfg.enc_layers; l++) {
    const FrLsraLayer *L = &m->enc[l];
    fr_graph_push_scope(g, fr_lsra_layer_name(l));
    fr_graph_push_scope(g, mix_name);
    FrTensor *h = mixer(g, m, L, x, src_len, false, o, trace ? &trace->attn[l] : NULL,
                        trace ? &trace->kernels[l] : NULL);
    x = add_norm(g, x, h, L->ln1_g, L->ln1_b, o->dropout);
    fr_graph_pop_scope(g);
    fr_graph_push_scope(g, "ffn");
    x = add_norm(g, x, ffn(g, L, x, o), L->ln2_g, L->ln2_b, o->dropout);
    fr_graph_pop_scope(g);
    fr_graph_pop_scope(g);
  }
  fr_graph_pop_scope(g);
  return x;
}

FrTensor *fr_lsra_model_loss(FrGraph *g, FrLsraModel *m, const FrLsraBatch *b, const FrLsraTrainOpts *o,
                             double *nll_sum, int64_t *n_tokens) {
  const FrLsraConfig *c = &m->cfg;
  FrTensor *enc = fr_lsra_encode(g, m, b->src, b->src_len, b->B, b->S, o, NULL);
  fr_graph_push_scope(g, "decoder");
  FrTensor *x = fr_lsra_embed(g, m, b->tgt_in, b->B, b->T, o->dropout);
  for (int l = 0; l < c->dec_layers; l++) {
    const FrLsraLayer *L = &m->dec[l];
    fr_graph_push_scope(g, fr_lsra_layer_name(l));
    fr_graph_push_scope(g, c->arch == FR_LSRA_ARCH_LITE ? "lsra" : "self_attention");
    x = add_norm(g, x, mixer(g, m, L, x, NULL, true, o, NULL, NULL), L->ln1_g, L->ln1_b, o->dropout);
    fr_graph_pop_scope(g);
    fr_graph_push_scope(g, "cross_attention");
    x = add_norm(g, x, attention(g, &L->cross, x, enc, c->heads, b->src_len, false, NULL), L->ln2_g, L->ln2_b,
                 o->dropout);
    fr_graph_pop_scope(g);
    fr_graph_push_scope(g, "ffn");
    x = add_norm(g, x, ffn(g, L, x, o), L->ln3_g, L->ln3_b, o->dropout);
    fr_graph_pop_scope(g);
    fr_graph_pop_scope(g);
  }
  fr_graph_pop_scope(g);
  fr_graph_push_scope(g, "output");
  /* only the rows that predict a token go through the output projection */
  const int64_t rows = (int64_t)b->B * b->T;
  int32_t *idx = g_new(int32_t, rows), *labels = g_new(int32_t, rows);
  int64_t n = 0;
  for (int64_t r = 0; r < rows; r++)
    if (b->tgt_out[r] != FR_LSRA_BPE_PAD) {
      idx[n] = (int32_t)r;
      labels[n++] = b->tgt_out[r];
    }
  FrTensor *flat = fr_reshape(g, x, 2, FR_SHAPE(rows, c->d_model));
  FrTensor *logits = fr_linear(g, fr_lsra_gather_rows(g, flat, idx, n), m->embed, NULL);
  FrTensor *loss = fr_lsra_token_loss(g, logits, labels, o->label_smoothing, nll_sum);
  fr_graph_pop_scope(g);
  if (n_tokens) *n_tokens = n;
  g_free(idx);
  g_free(labels);
  return loss;
}
