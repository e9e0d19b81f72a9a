/* fr-apq-space.c: spaces, specs, APQ's feature encoding, and per-spec costs. */
#include "fr-apq-space.h"
#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK(fr-apq-error-quark, fr_apq_error)

const char *const fr_apq_qgroup_names[FR_APQ_N_QGROUPS] = { "pw_w", "pw_a", "dw_w", "dw_a" };

/* Stage table of the miniature: (output channels, stride of its first block). Widths were chosen so
 * that the whole pipeline (supernet, 2,000 + 300 pairs, QAT) fits the 2-core budget; see
 * docs/APQ.md for the measured costs. */
static const struct { int cout, stride; } mini_stages[] = { { 12, 2 }, { 16, 1 }, { 24, 2 }, { 32, 1 } };
#define MINI_STEM 8
#define MINI_HEAD 128
#define MINI_MID_STEP 4   /* mid channels from 2*cin to 3*cin in steps of 4: the pruning axis */

static void space_layout(FrApqSpace *s) {
  int f = 0;
  for (int b = 0; b < s->n_blocks; b++, f += FR_APQ_N_KS) s->blocks[b].feat_ks = f;
  for (int b = 0; b < s->n_blocks; b++) {
    s->blocks[b].feat_mid = f;
    f += s->blocks[b].n_mid;
  }
  s->arch_dim = f;
  s->quant_dim = FR_APQ_N_QGROUPS * FR_APQ_N_BITS * s->n_blocks;
}

static FrApqSpace *build_fmnist_mini(void) {
  FrApqSpace *s = g_new0(FrApqSpace, 1);
  s->name = "fmnist-mini";
  s->in_channels = 1;
  s->in_hw = 28;
  s->stem_channels = MINI_STEM;
  s->stem_kernel = 3;
  s->stem_stride = 2;
  s->head_channels = MINI_HEAD;
  s->n_classes = 10;
  s->n_stages = G_N_ELEMENTS(mini_stages);
  s->depth_min = 2;
  memcpy(s->ks_options, (int[]){ 3, 5, 7 }, sizeof s->ks_options);
  memcpy(s->bit_options, (int[]){ 4, 6, 8 }, sizeof s->bit_options);
  int cin = MINI_STEM, hw = (s->in_hw + 1) / 2;
  for (int st = 0; st < s->n_stages; st++) {
    s->stage_max_depth[st] = 4;
    for (int pos = 0; pos < 4; pos++) {
      FrApqBlock *b = &s->blocks[s->n_blocks++];
      b->stage = st;
      b->pos = pos;
      b->cin = cin;
      b->cout = mini_stages[st].cout;
      b->stride = pos == 0 ? mini_stages[st].stride : 1;
      b->in_hw = hw;
      b->out_hw = (hw + b->stride - 1) / b->stride;
      b->identity = b->stride == 1 && b->cin == b->cout;
      for (int m = 2 * cin; m <= 3 * cin; m += MINI_MID_STEP) b->mid_options[b->n_mid++] = m;
      g_assert(b->n_mid <= FR_APQ_MAX_MID);
      cin = b->cout;
      hw = b->out_hw;
    }
  }
  space_layout(s);
  return s;
}

const FrApqSpace *fr_apq_space_fmnist_mini(void) {
  static FrApqSpace *space;
  if (g_once_init_enter(&space)) g_once_init_leave(&space, build_fmnist_mini());
  return space;
}

/* APQ's ImageNet space, as utils/converter.py and utils/latency_predictor.py lay it out: six stages
 * (output channels, stride of the first block, blocks), the first at 112x112 after the fixed stem
 * and fixed first MBConv. Stage 3 keeps the 14x14 resolution (stride 1) and stage 5 has one block. */
static const struct { int cout, stride, blocks; } imagenet_stages[] = {
  { 24, 2, 4 }, { 40, 2, 4 }, { 80, 2, 4 }, { 96, 1, 4 }, { 192, 2, 4 }, { 320, 1, 1 },
};
#define IMAGENET_MID_STEP 8   /* mid channels 4*cin..6*cin in steps of 8 (APQ's expand ratios) */

static FrApqSpace *build_imagenet_bitfusion(void) {
  FrApqSpace *s = g_new0(FrApqSpace, 1);
  s->name = "imagenet-bitfusion";
  s->in_channels = 3;
  s->in_hw = 224;
  /* Fixed parts, for MACs/BitOps only (BitFusion prices them from its LUT's "head" and "tail"):
   * 3x3 s2 conv 3->32, then MBConv(expand 1) = 3x3 depthwise on 32 + 1x1 32->16, all at 112x112;
   * after the blocks a 1x1 conv 320->1280 at 7x7 and the 1280->1000 classifier. The conv MACs are
   * exact; approximate are the BitOps, which count these layers at 32x32 bits (APQ never says how its
   * fixed parts are quantized), and everything but convs (BN, ReLU6, pooling, residual adds) is left
   * out, as for fmnist-mini. */
  s->stem_channels = 32;
  s->stem_kernel = 3;
  s->stem_stride = 2;
  s->stem_block_channels = 16;
  s->head_channels = 1280;
  s->n_classes = 1000;
  s->no_k7_dw_a4 = true;
  s->n_stages = G_N_ELEMENTS(imagenet_stages);
  s->depth_min = 2;
  memcpy(s->ks_options, (int[]){ 3, 5, 7 }, sizeof s->ks_options);
  memcpy(s->bit_options, (int[]){ 4, 6, 8 }, sizeof s->bit_options);
  int cin = s->stem_block_channels, hw = (s->in_hw + 1) / 2;
  for (int st = 0; st < s->n_stages; st++) {
    s->stage_max_depth[st] = imagenet_stages[st].blocks;
    for (int pos = 0; pos < imagenet_stages[st].blocks; pos++) {
      FrApqBlock *b = &s->blocks[s->n_blocks++];
      b->stage = st;
      b->pos = pos;
      b->cin = cin;
      b->cout = imagenet_stages[st].cout;
      b->stride = pos == 0 ? imagenet_stages[st].stride : 1;
      b->in_hw = hw;
      b->out_hw = (hw + b->stride - 1) / b->stride;
      b->identity = b->stride == 1 && b->cin == b->cout;
      for (int m = 4 * cin; m <= 6 * cin; m += IMAGENET_MID_STEP) b->mid_options[b->n_mid++] = m;
      g_assert(b->n_mid <= FR_APQ_MAX_MID);
      cin = b->cout;
      hw = b->out_hw;
    }
  }
  g_assert(s->n_blocks <= FR_APQ_MAX_BLOCKS);
  space_layout(s);
  return s;
}

const FrApqSpace *fr_apq_space_imagenet_bitfusion(void) {
  static FrApqSpace *space;
  if (g_once_init_enter(&space)) g_once_init_leave(&space, build_imagenet_bitfusion());
  return space;
}

const FrApqSpace *fr_apq_space_lookup(const char *name) {
  if (name && !strcmp(name, "fmnist-mini")) return fr_apq_space_fmnist_mini();
  if (name && !strcmp(name, "imagenet-bitfusion")) return fr_apq_space_imagenet_bitfusion();
  return NULL;
}

/* ---- specs ------------------------------------------------------------------------------------ */

void fr_apq_spec_set_bits(const FrApqSpace *s, FrApqSpec *spec, int bits) {
  spec->quantized = bits > 0;
  for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
    for (int b = 0; b < s->n_blocks; b++) spec->bits[q][b] = bits > 0 ? bits : 32;
}

void fr_apq_spec_random(const FrApqSpace *s, FrRng *rng, bool quantized, FrApqSpec *out) {
  memset(out, 0, sizeof *out);
  for (int b = 0; b < s->n_blocks; b++) {
    out->ks[b] = s->ks_options[fr_rng_below(rng, FR_APQ_N_KS)];
    out->mid[b] = s->blocks[b].mid_options[fr_rng_below(rng, (uint64_t)s->blocks[b].n_mid)];
  }
  for (int st = 0; st < s->n_stages; st++) {
    int lo = MIN(s->depth_min, s->stage_max_depth[st]);
    out->depth[st] = lo + (int)fr_rng_below(rng, (uint64_t)(s->stage_max_depth[st] - lo + 1));
  }
  fr_apq_spec_set_bits(s, out, 0);
  if (quantized) {
    out->quantized = true;
    for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
      for (int b = 0; b < s->n_blocks; b++) out->bits[q][b] = s->bit_options[fr_rng_below(rng, FR_APQ_N_BITS)];
    /* Redrawing (rather than APQ's rejecting the whole spec) keeps the other choices uniform and
     * the draws of a space without the rule unchanged. */
    for (int b = 0; s->no_k7_dw_a4 && b < s->n_blocks; b++)
      while (out->ks[b] == 7 && out->bits[FR_APQ_DW_A][b] == 4)
        out->bits[FR_APQ_DW_A][b] = s->bit_options[fr_rng_below(rng, FR_APQ_N_BITS)];
  }
}

static void spec_extreme(const FrApqSpace *s, int bits, bool largest, FrApqSpec *out) {
  memset(out, 0, sizeof *out);
  for (int b = 0; b < s->n_blocks; b++) {
    out->ks[b] = s->ks_options[largest ? FR_APQ_N_KS - 1 : 0];
    out->mid[b] = s->blocks[b].mid_options[largest ? s->blocks[b].n_mid - 1 : 0];
  }
  for (int st = 0; st < s->n_stages; st++)
    out->depth[st] = largest ? s->stage_max_depth[st] : MIN(s->depth_min, s->stage_max_depth[st]);
  fr_apq_spec_set_bits(s, out, bits);
  fr_apq_spec_repair(s, out);
}

void fr_apq_spec_largest(const FrApqSpace *s, int bits, FrApqSpec *out) { spec_extreme(s, bits, true, out); }
void fr_apq_spec_smallest(const FrApqSpace *s, int bits, FrApqSpec *out) { spec_extreme(s, bits, false, out); }

static int index_of(const int *opts, int n, int v) {
  for (int i = 0; i < n; i++)
    if (opts[i] == v) return i;
  return -1;
}

static bool breaks_k7_rule(const FrApqSpace *s, const FrApqSpec *spec, int b) {
  return s->no_k7_dw_a4 && spec->quantized && spec->ks[b] == 7 && spec->bits[FR_APQ_DW_A][b] == 4;
}

gboolean fr_apq_spec_repair(const FrApqSpace *s, FrApqSpec *spec) {
  gboolean changed = FALSE;
  for (int b = 0; b < s->n_blocks; b++)
    if (breaks_k7_rule(s, spec, b)) {
      spec->bits[FR_APQ_DW_A][b] = 6;
      changed = TRUE;
    }
  return changed;
}

gboolean fr_apq_spec_validate(const FrApqSpace *s, const FrApqSpec *spec, GError **error) {
  for (int st = 0; st < s->n_stages; st++) {
    int lo = MIN(s->depth_min, s->stage_max_depth[st]);
    if (spec->depth[st] < lo || spec->depth[st] > s->stage_max_depth[st]) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC, "stage %d: depth %d is outside %d..%d", st,
                  spec->depth[st], lo, s->stage_max_depth[st]);
      return FALSE;
    }
  }
  for (int b = 0; b < s->n_blocks; b++) {
    const FrApqBlock *bl = &s->blocks[b];
    if (index_of(s->ks_options, FR_APQ_N_KS, spec->ks[b]) < 0) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC, "block %d: kernel %d is not one of 3, 5, 7", b,
                  spec->ks[b]);
      return FALSE;
    }
    if (index_of(bl->mid_options, bl->n_mid, spec->mid[b]) < 0) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                  "block %d: %d mid channels is not an option (%d..%d in steps of %d)", b, spec->mid[b],
                  bl->mid_options[0], bl->mid_options[bl->n_mid - 1],
                  bl->n_mid > 1 ? bl->mid_options[1] - bl->mid_options[0] : 0);
      return FALSE;
    }
    if (!spec->quantized) continue;
    for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
      if (index_of(s->bit_options, FR_APQ_N_BITS, spec->bits[q][b]) < 0) {
        g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC, "block %d: %s is %d bits, not 4, 6 or 8", b,
                    fr_apq_qgroup_names[q], spec->bits[q][b]);
        return FALSE;
      }
    /* Checked for inactive blocks too, as APQ's Converter.is_valid does. */
    if (breaks_k7_rule(s, spec, b)) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                  "block %d: kernel 7 with 4-bit depthwise activations is not allowed on BitFusion (no LUT entry)", b);
      return FALSE;
    }
  }
  return TRUE;
}

void fr_apq_spec_encode(const FrApqSpace *s, const FrApqSpec *spec, float *x) {
  memset(x, 0, sizeof(float) * (size_t)(s->arch_dim + s->quant_dim));
  for (int b = 0; b < s->n_blocks; b++) {
    if (!fr_apq_block_active(s, spec, b)) continue;
    const FrApqBlock *bl = &s->blocks[b];
    x[bl->feat_ks + index_of(s->ks_options, FR_APQ_N_KS, spec->ks[b])] = 1;
    x[bl->feat_mid + index_of(bl->mid_options, bl->n_mid, spec->mid[b])] = 1;
    if (!spec->quantized) continue;
    for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
      x[s->arch_dim + (q * s->n_blocks + b) * FR_APQ_N_BITS + index_of(s->bit_options, FR_APQ_N_BITS, spec->bits[q][b])] = 1;
  }
}

void fr_apq_spec_encode_uniform_bits(const FrApqSpace *s, const FrApqSpec *spec, int bits, float *x) {
  FrApqSpec copy = *spec;
  fr_apq_spec_set_bits(s, &copy, bits);
  fr_apq_spec_encode(s, &copy, x);
}

/* ---- text form -------------------------------------------------------------------------------- */

static void append_list(GString *str, const char *key, const int *v, int n) {
  g_string_append_printf(str, "%s%s=", str->len ? ";" : "", key);
  for (int i = 0; i < n; i++) g_string_append_printf(str, "%s%d", i ? "," : "", v[i]);
}

char *fr_apq_spec_to_string(const FrApqSpace *s, const FrApqSpec *spec) {
  GString *str = g_string_new(NULL);
  append_list(str, "ks", spec->ks, s->n_blocks);
  append_list(str, "mid", spec->mid, s->n_blocks);
  append_list(str, "d", spec->depth, s->n_stages);
  if (spec->quantized)
    for (int q = 0; q < FR_APQ_N_QGROUPS; q++) append_list(str, fr_apq_qgroup_names[q], spec->bits[q], s->n_blocks);
  return g_string_free(str, FALSE);
}

static gboolean parse_list(const char *key, const char *text, int *out, int n, GError **error) {
  char **parts = g_strsplit(text, ",", -1);
  int count = (int)g_strv_length(parts);
  gboolean ok = count == n;
  for (int i = 0; ok && i < n; i++) {
    char *end = NULL;
    gint64 v = g_ascii_strtoll(g_strstrip(parts[i]), &end, 10);
    ok = end != parts[i] && *end == '\0' && v >= 0 && v <= 4096;
    out[i] = (int)v;
  }
  g_strfreev(parts);
  if (!ok)
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "spec field %s: expected %d comma-separated integers", key, n);
  return ok;
}

gboolean fr_apq_spec_from_string(const FrApqSpace *s, const char *text, FrApqSpec *out, GError **error) {
  FrApqSpec spec;
  memset(&spec, 0, sizeof spec);
  fr_apq_spec_set_bits(s, &spec, 0);
  unsigned seen = 0, want_arch = 7, want_bits = 0x78;
  char **fields = g_strsplit(text ? text : "", ";", -1);
  gboolean ok = TRUE;
  for (int i = 0; ok && fields[i]; i++) {
    char *eq = strchr(fields[i], '=');
    if (!eq) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "spec: \"%s\" is not key=values", fields[i]);
      ok = FALSE;
      break;
    }
    *eq = '\0';
    const char *key = g_strstrip(fields[i]);
    int bit = -1, *dst = NULL, n = s->n_blocks;
    if (!strcmp(key, "ks")) bit = 0, dst = spec.ks;
    else if (!strcmp(key, "mid")) bit = 1, dst = spec.mid;
    else if (!strcmp(key, "d")) bit = 2, dst = spec.depth, n = s->n_stages;
    for (int q = 0; q < FR_APQ_N_QGROUPS && bit < 0; q++)
      if (!strcmp(key, fr_apq_qgroup_names[q])) bit = 3 + q, dst = spec.bits[q];
    if (bit < 0 || (seen & (1u << bit))) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "spec: %s field \"%s\"", bit < 0 ? "unknown" : "repeated", key);
      ok = FALSE;
      break;
    }
    seen |= 1u << bit;
    ok = parse_list(key, eq + 1, dst, n, error);
  }
  g_strfreev(fields);
  if (!ok) return FALSE;
  if ((seen & want_arch) != want_arch || ((seen & want_bits) && (seen & want_bits) != want_bits)) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE,
                "spec: needs ks, mid and d, and either all four bit lists (pw_w, pw_a, dw_w, dw_a) or none");
    return FALSE;
  }
  spec.quantized = (seen & want_bits) != 0;
  if (!fr_apq_spec_validate(s, &spec, error)) return FALSE;
  *out = spec;
  return TRUE;
}

/* ---- costs ------------------------------------------------------------------------------------ */

typedef struct { double macs, bitops, params; } Cost;

static void add_layer(Cost *c, double macs, double params, int wbits, int abits) {
  c->macs += macs;
  c->bitops += macs * wbits * abits;
  c->params += params;
}

static Cost spec_cost(const FrApqSpace *s, const FrApqSpec *spec) {
  Cost c = { 0, 0, 0 };
  int stem_hw = (s->in_hw + s->stem_stride - 1) / s->stem_stride;
  double k2 = (double)s->stem_kernel * s->stem_kernel;
  add_layer(&c, k2 * s->in_channels * s->stem_channels * stem_hw * stem_hw, k2 * s->in_channels * s->stem_channels,
            32, 32);
  if (s->stem_block_channels > 0) {   /* MobileNetV2's first block: depthwise 3x3, then 1x1 projection */
    double hw2 = (double)stem_hw * stem_hw;
    add_layer(&c, 9.0 * s->stem_channels * hw2, 9.0 * s->stem_channels, 32, 32);
    add_layer(&c, (double)s->stem_channels * s->stem_block_channels * hw2,
              (double)s->stem_channels * s->stem_block_channels, 32, 32);
  }
  for (int b = 0; b < s->n_blocks; b++) {
    if (!fr_apq_block_active(s, spec, b)) continue;
    const FrApqBlock *bl = &s->blocks[b];
    int pw_w = spec->quantized ? spec->bits[FR_APQ_PW_W][b] : 32, pw_a = spec->quantized ? spec->bits[FR_APQ_PW_A][b] : 32;
    int dw_w = spec->quantized ? spec->bits[FR_APQ_DW_W][b] : 32, dw_a = spec->quantized ? spec->bits[FR_APQ_DW_A][b] : 32;
    double mid = spec->mid[b], in2 = (double)bl->in_hw * bl->in_hw, out2 = (double)bl->out_hw * bl->out_hw;
    double kk = (double)spec->ks[b] * spec->ks[b];
    add_layer(&c, bl->cin * mid * in2, bl->cin * mid, pw_w, pw_a);
    add_layer(&c, mid * kk * out2, mid * kk, dw_w, dw_a);
    add_layer(&c, mid * bl->cout * out2, mid * bl->cout, pw_w, pw_a);
  }
  const FrApqBlock *last = &s->blocks[s->n_blocks - 1];
  double last2 = (double)last->out_hw * last->out_hw;
  add_layer(&c, (double)last->cout * s->head_channels * last2, (double)last->cout * s->head_channels, 32, 32);
  add_layer(&c, (double)s->head_channels * s->n_classes, (double)(s->head_channels + 1) * s->n_classes, 32, 32);
  return c;
}

double fr_apq_spec_macs(const FrApqSpace *s, const FrApqSpec *spec) { return spec_cost(s, spec).macs; }
double fr_apq_spec_bitops(const FrApqSpace *s, const FrApqSpec *spec) { return spec_cost(s, spec).bitops; }
int64_t fr_apq_spec_params(const FrApqSpace *s, const FrApqSpec *spec) { return (int64_t)spec_cost(s, spec).params; }
