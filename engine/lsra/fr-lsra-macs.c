/* Mult-Adds and parameters of Transformer / Lite Transformer configs (see fr-lsra-macs.h).
 *
 * How the convention was pinned down: counting every linear layer plus dense Q.K^T and A.V gives
 * 86.73M for the d=128 Transformer (the paper's 86.7M; counting only the causal half of the decoder's
 * Q.K^T would give 86.06M). For the d=200 Lite Transformer the same count without the convolution taps
 * gives 89.95M, and with K taps per channel and token (padding included) 90.66M, the paper's 90.7M;
 * counting only the taps that land inside the sequence would give about 90.3M. The figures in the
 * repository's README (Lite d=408: 360M, d=496: 527M) come out as 360.6M and 528.7M (see docs/LSRA.md
 * for the 1.7M at d=496).
 *
 * Parameters follow fairseq's modules: attention has Q, K, V and output projections with biases
 * (4a^2 + 4a), every Linear has a bias except the dynamic conv's kernel predictor, the lightweight
 * kernel is [H, K], two layer norms per encoder layer and three per decoder layer, no final norm
 * (post-norm), sinusoidal positions. */
#include "fr-lsra-macs.h"

#include <gio/gio.h>
#include <string.h>

/* ---- Mult-Adds ---- */

/* Multi-head attention of width a: n_q queries, n_kv keys/values. */
static void macs_attention(double a, double n_q, double n_kv, double *linear, double *attn) {
  *linear += n_q * a * a * 2.0    /* Q and output projections */
           + n_kv * a * a * 2.0;  /* K and V projections */
  *attn += 2.0 * n_q * n_kv * a;  /* Q.K^T and A.V, dense */
}

/* The LSRA convolution branch of width c over n tokens: input linear (GLU: c -> 2c), kernel predictor
 * (dynamic: c -> H*K), K taps per channel, output linear c -> c. */
static void macs_conv_branch(const FrLsraConfig *cfg, double c, int K, double n, double *linear, double *conv) {
  *linear += n * c * c * (cfg->glu ? 2.0 : 1.0);
  if (cfg->conv == FR_LSRA_CONV_DYNAMIC) *linear += n * c * (double)cfg->conv_heads * K;
  *conv += n * c * K;
  *linear += n * c * c;
}

/* Self-attention of a block: the whole width, or LSRA's two branches. */
static void macs_self_block(const FrLsraConfig *cfg, int K, double n, double *linear, double *attn, double *conv) {
  const double d = cfg->d_model;
  if (cfg->arch == FR_LSRA_ARCH_TRANSFORMER) {
    macs_attention(d, n, n, linear, attn);
    return;
  }
  macs_attention(cfg->attn_dim, n, n, linear, attn);
  macs_conv_branch(cfg, d - cfg->attn_dim, K, n, linear, conv);
}

FrLsraMacs fr_lsra_macs(const FrLsraConfig *cfg, int src_len, int tgt_len) {
  FrLsraMacs m = { 0 };
  const double d = cfg->d_model, f = cfg->ffn_dim, S = src_len, T = tgt_len;
  for (int i = 0; i < cfg->enc_layers; i++) {
    macs_self_block(cfg, cfg->enc_kernels[i], S, &m.enc_linear, &m.enc_attn, &m.enc_conv);
    m.enc_linear += S * 2.0 * d * f;   /* FFN */
  }
  for (int i = 0; i < cfg->dec_layers; i++) {
    macs_self_block(cfg, cfg->dec_kernels[i], T, &m.dec_linear, &m.dec_attn, &m.dec_conv);
    /* encoder-decoder attention, full width in both architectures; its K and V projections of the
     * encoder output are counted in every decoder layer (each layer has its own) */
    macs_attention(d, T, S, &m.dec_linear, &m.dec_attn);
    m.dec_linear += T * 2.0 * d * f;
  }
  m.total = m.enc_linear + m.enc_attn + m.enc_conv + m.dec_linear + m.dec_attn + m.dec_conv;
  return m;
}

double fr_lsra_mult_adds(const FrLsraConfig *cfg) {
  return fr_lsra_macs(cfg, 30, 30).total;
}

/* ---- parameters ---- */

static int64_t params_attention(int64_t a) { return 4 * a * a + 4 * a; }
static int64_t params_ffn(int64_t d, int64_t f) { return d * f + f + f * d + d; }

static int64_t params_self_block(const FrLsraConfig *cfg, int K) {
  const int64_t d = cfg->d_model;
  if (cfg->arch == FR_LSRA_ARCH_TRANSFORMER) return params_attention(d);
  const int64_t a = cfg->attn_dim, c = d - a, H = cfg->conv_heads;
  int64_t p = params_attention(a);
  p += cfg->glu ? c * 2 * c + 2 * c : c * c + c;         /* input linear */
  p += cfg->conv == FR_LSRA_CONV_DYNAMIC ? c * H * K     /* kernel predictor, no bias */
                                         : H * K;        /* the [H, K] kernel */
  p += c * c + c;                                        /* output linear */
  return p;
}

FrLsraParams fr_lsra_params(const FrLsraConfig *cfg) {
  FrLsraParams p = { 0 };
  const int64_t d = cfg->d_model, f = cfg->ffn_dim;
  for (int i = 0; i < cfg->enc_layers; i++)
    p.body += params_self_block(cfg, cfg->enc_kernels[i]) + params_ffn(d, f) + 2 * 2 * d;
  for (int i = 0; i < cfg->dec_layers; i++)
    p.body += params_self_block(cfg, cfg->dec_kernels[i]) + params_attention(d) + params_ffn(d, f) + 3 * 2 * d;
  if (cfg->share_all)
    p.embeddings = (int64_t)cfg->src_vocab * d;
  else
    p.embeddings = (int64_t)cfg->src_vocab * d + 2 * (int64_t)cfg->tgt_vocab * d;
  p.total = p.body + p.embeddings;
  return p;
}

gboolean fr_lsra_config_validate(const FrLsraConfig *cfg, GError **error) {
  const char *why = NULL;
  if (cfg->d_model < 1 || cfg->ffn_dim < 1 || cfg->heads < 1)
    why = "d_model, ffn_dim and heads must be positive";
  else if (cfg->enc_layers < 0 || cfg->enc_layers > FR_LSRA_MAX_LAYERS || cfg->dec_layers < 0 ||
           cfg->dec_layers > FR_LSRA_MAX_LAYERS)
    why = "layer counts must be in [0, 16]";
  else if (cfg->arch == FR_LSRA_ARCH_TRANSFORMER && cfg->d_model % cfg->heads != 0)
    why = "d_model must divide by heads";
  else if (cfg->arch == FR_LSRA_ARCH_LITE) {
    const int c = cfg->d_model - cfg->attn_dim;
    if (cfg->attn_dim < 1 || c < 1)
      why = "both LSRA branches need channels (0 < attn_dim < d_model)";
    else if (cfg->attn_dim % cfg->heads != 0)
      why = "attn_dim must divide by heads";
    else if (cfg->conv_heads < 1 || c % cfg->conv_heads != 0)
      why = "the conv branch's channels must divide by conv_heads";
    else {
      for (int i = 0; i < cfg->enc_layers && !why; i++)
        if (cfg->enc_kernels[i] < 1) why = "every encoder layer needs a kernel size";
      for (int i = 0; i < cfg->dec_layers && !why; i++)
        if (cfg->dec_kernels[i] < 1) why = "every decoder layer needs a kernel size";
    }
  }
  if (why) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: %s", cfg->name ? cfg->name : "config", why);
    return FALSE;
  }
  return TRUE;
}

/* ---- configurations ---- */

static const int default_kernels[6] = { 3, 7, 15, 31, 31, 31 };

static void set_kernels(FrLsraConfig *c) {
  for (int i = 0; i < FR_LSRA_MAX_LAYERS; i++) c->enc_kernels[i] = c->dec_kernels[i] = i < 6 ? default_kernels[i] : 31;
}

FrLsraConfig fr_lsra_config_lite(int d_model) {
  FrLsraConfig c = { .name = "lite", .arch = FR_LSRA_ARCH_LITE, .d_model = d_model, .enc_layers = 6,
                     .dec_layers = 6, .heads = 4, .ffn_dim = d_model, .attn_dim = d_model / 2, .conv_heads = 4,
                     .conv = FR_LSRA_CONV_DYNAMIC, .glu = true, .share_all = true };
  set_kernels(&c);
  return c;
}

FrLsraConfig fr_lsra_config_transformer(int d_model) {
  FrLsraConfig c = { .name = "transformer", .arch = FR_LSRA_ARCH_TRANSFORMER, .d_model = d_model, .enc_layers = 6,
                     .dec_layers = 6, .heads = 8, .ffn_dim = 4 * d_model, .share_all = true };
  return c;
}

static FrLsraPreset presets[8];
static GOnce presets_once = G_ONCE_INIT;

static FrLsraPreset preset(FrLsraConfig c, const char *name, double macs, double params, const char *source) {
  c.name = name;
  return (FrLsraPreset){ .config = c, .paper_mult_adds = macs, .paper_params = params, .source = source };
}

static gpointer init_presets(gpointer unused) {
  int i = 0;
  presets[i++] = preset(fr_lsra_config_transformer(128), "transformer-128", 86.7, 2.8,
                        "paper (mobile setting, 30+30 tokens), as quoted in issue 7");
  presets[i++] = preset(fr_lsra_config_lite(200), "lite-200", 90.7, 2.9,
                        "paper, as quoted in issue 7; repo configs/wmt14.en-fr/.../embed200.yml (README: 90M)");
  presets[i++] = preset(fr_lsra_config_lite(408), "lite-408", 360, 0,
                        "repo configs/wmt14.en-fr/.../embed408.yml, README: 360M");
  presets[i++] = preset(fr_lsra_config_lite(496), "lite-496", 527, 0,
                        "repo configs/wmt14.en-fr/.../embed496.yml, README: 527M");
  presets[i++] = preset(fr_lsra_config_transformer(256), "transformer-256", 0, 0, "Transformer scaled to d=256");
  presets[i++] = preset(fr_lsra_config_transformer(320), "transformer-320", 0, 0, "Transformer scaled to d=320");
  /* IWSLT'14 De-En: lightweight convolution, no GLU (configs/iwslt14.de-en/.../embed160.yml) */
  FrLsraConfig iw = fr_lsra_config_lite(160);
  iw.conv = FR_LSRA_CONV_LIGHTWEIGHT;
  iw.glu = false;
  iw.share_all = false;
  presets[i++] = preset(iw, "lite-iwslt-160", 0, 0, "repo configs/iwslt14.de-en/.../embed160.yml");
  presets[i] = (FrLsraPreset){ 0 };
  return NULL;
}

const FrLsraPreset *fr_lsra_presets(void) {
  g_once(&presets_once, init_presets, NULL);
  return presets;
}

const FrLsraPreset *fr_lsra_preset_find(const char *name) {
  for (const FrLsraPreset *p = fr_lsra_presets(); p->config.name; p++)
    if (!strcmp(p->config.name, name)) return p;
  return NULL;
}
