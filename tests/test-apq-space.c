/* test-apq-space.c: the fmnist-mini design space: its layout against the stage table of docs/APQ.md,
 * APQ's one-hot encoding (active blocks only, group-major bits), the text form (round trip and every
 * kind of bad input), validation messages, and MACs / BitOps / params against an independent naive
 * count written here layer by layer; random sampling covers every option. */
#include "fr-apq-space.h"

#include <math.h>
#include <string.h>

/* The miniature as docs/APQ.md describes it, written out independently of fr-apq-space.c. */
static const int stage_cout[4] = { 12, 16, 24, 32 };
static const int stage_stride[4] = { 2, 1, 2, 1 };
#define STEM_CH 8
#define HEAD_CH 128

static gboolean spec_equal(const FrApqSpec *a, const FrApqSpec *b) {
  return !memcmp(a->ks, b->ks, sizeof a->ks) && !memcmp(a->mid, b->mid, sizeof a->mid) &&
         !memcmp(a->depth, b->depth, sizeof a->depth) && a->quantized == b->quantized &&
         !memcmp(a->bits, b->bits, sizeof a->bits);
}

/* ---- layout --------------------------------------------------------------------------------- */

static void test_layout(void) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  g_assert_nonnull(s);
  g_assert_true(fr_apq_space_lookup("fmnist-mini") == s);
  g_assert_null(fr_apq_space_lookup("fmnist-Mini"));
  g_assert_null(fr_apq_space_lookup("cifar"));
  g_assert_null(fr_apq_space_lookup(""));
  g_assert_null(fr_apq_space_lookup(NULL));
  g_assert_cmpstr(s->name, ==, "fmnist-mini");
  g_assert_cmpint(s->in_channels, ==, 1);
  g_assert_cmpint(s->in_hw, ==, 28);
  g_assert_cmpint(s->stem_channels, ==, STEM_CH);
  g_assert_cmpint(s->stem_kernel, ==, 3);
  g_assert_cmpint(s->stem_stride, ==, 2);
  g_assert_cmpint(s->head_channels, ==, HEAD_CH);
  g_assert_cmpint(s->n_classes, ==, 10);
  g_assert_cmpint(s->n_stages, ==, 4);
  g_assert_cmpint(s->n_blocks, ==, 16);
  g_assert_cmpint(s->depth_min, ==, 2);
  g_assert_cmpint(s->ks_options[0], ==, 3);
  g_assert_cmpint(s->ks_options[1], ==, 5);
  g_assert_cmpint(s->ks_options[2], ==, 7);
  g_assert_cmpint(s->bit_options[0], ==, 4);
  g_assert_cmpint(s->bit_options[1], ==, 6);
  g_assert_cmpint(s->bit_options[2], ==, 8);
  g_assert_cmpstr(fr_apq_qgroup_names[FR_APQ_PW_W], ==, "pw_w");
  g_assert_cmpstr(fr_apq_qgroup_names[FR_APQ_PW_A], ==, "pw_a");
  g_assert_cmpstr(fr_apq_qgroup_names[FR_APQ_DW_W], ==, "dw_w");
  g_assert_cmpstr(fr_apq_qgroup_names[FR_APQ_DW_A], ==, "dw_a");

  int depth_sum = 0;
  for (int st = 0; st < s->n_stages; st++) {
    g_assert_cmpint(s->stage_max_depth[st], ==, 4);
    depth_sum += s->stage_max_depth[st];
  }
  g_assert_cmpint(depth_sum, ==, s->n_blocks);

  /* blocks: stage-major, positions 0..depth-1, channels and resolution chained from the stem */
  int b = 0, cin = STEM_CH, hw = (28 + 2 * 1 - 3) / 2 + 1; /* stem: 3x3, padding 1, stride 2 -> 14 */
  g_assert_cmpint(hw, ==, 14);
  int sum_mid = 0, f_ks = 0;
  for (int st = 0; st < 4; st++)
    for (int pos = 0; pos < 4; pos++, b++) {
      const FrApqBlock *bl = &s->blocks[b];
      int stride = pos == 0 ? stage_stride[st] : 1;
      int out_hw = (hw + 2 * 1 - 3) / stride + 1; /* any odd k with padding k/2 gives the same */
      g_assert_cmpint(bl->stage, ==, st);
      g_assert_cmpint(bl->pos, ==, pos);
      g_assert_cmpint(bl->cin, ==, cin);
      g_assert_cmpint(bl->cout, ==, stage_cout[st]);
      g_assert_cmpint(bl->stride, ==, stride);
      g_assert_cmpint(bl->in_hw, ==, hw);
      g_assert_cmpint(bl->out_hw, ==, out_hw);
      /* a residual exactly when the shapes allow it */
      g_assert_cmpint(bl->identity, ==, stride == 1 && cin == stage_cout[st]);
      /* mid options: 2*cin .. 3*cin in steps of 4, increasing */
      g_assert_cmpint(bl->n_mid, >=, 1);
      g_assert_cmpint(bl->n_mid, <=, FR_APQ_MAX_MID);
      g_assert_cmpint(bl->n_mid, ==, (3 * cin - 2 * cin) / 4 + 1);
      for (int m = 0; m < bl->n_mid; m++) g_assert_cmpint(bl->mid_options[m], ==, 2 * cin + 4 * m);
      g_assert_cmpint(bl->mid_options[bl->n_mid - 1], <=, 3 * cin);
      /* contiguous offsets: all kernel one-hots first (3 per block), then the mid one-hots */
      g_assert_cmpint(bl->feat_ks, ==, f_ks);
      f_ks += FR_APQ_N_KS;
      sum_mid += bl->n_mid;
      cin = stage_cout[st];
      hw = out_hw;
    }
  g_assert_cmpint(hw, ==, 4); /* 28 -> 14 -> 7 -> 7 -> 4 -> 4 */
  int f = FR_APQ_N_KS * s->n_blocks;
  for (b = 0; b < s->n_blocks; b++) {
    g_assert_cmpint(s->blocks[b].feat_mid, ==, f);
    f += s->blocks[b].n_mid;
  }
  g_assert_cmpint(s->arch_dim, ==, 3 * s->n_blocks + sum_mid);
  g_assert_cmpint(s->arch_dim, ==, f);
  g_assert_cmpint(s->arch_dim, ==, 48 + 94);
  g_assert_cmpint(s->quant_dim, ==, 4 * 3 * s->n_blocks);
  /* the first block of a stage with stride 1 and a channel change is not a residual */
  g_assert_false(s->blocks[4].identity);
  g_assert_true(s->blocks[5].identity);
  g_assert_false(s->blocks[0].identity);
}

static gpointer once_thread(G_GNUC_UNUSED gpointer p) { return (gpointer)fr_apq_space_fmnist_mini(); }

static void test_space_threads(void) {
  GThread *t[4];
  for (int i = 0; i < 4; i++) t[i] = g_thread_new("space", once_thread, NULL);
  for (int i = 0; i < 4; i++) g_assert_true(g_thread_join(t[i]) == fr_apq_space_fmnist_mini());
}

/* ---- specs ------------------------------------------------------------------------------------ */

static void test_extremes(void) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSpec big, small;
  GError *error = NULL;
  fr_apq_spec_largest(s, 0, &big);
  fr_apq_spec_smallest(s, 0, &small);
  g_assert_false(big.quantized);
  g_assert_false(small.quantized);
  for (int b = 0; b < s->n_blocks; b++) {
    g_assert_cmpint(big.ks[b], ==, 7);
    g_assert_cmpint(small.ks[b], ==, 3);
    g_assert_cmpint(big.mid[b], ==, s->blocks[b].mid_options[s->blocks[b].n_mid - 1]);
    g_assert_cmpint(small.mid[b], ==, s->blocks[b].mid_options[0]);
  }
  for (int st = 0; st < 4; st++) {
    g_assert_cmpint(big.depth[st], ==, 4);
    g_assert_cmpint(small.depth[st], ==, 2);
  }
  g_assert_true(fr_apq_spec_validate(s, &big, &error));
  g_assert_true(fr_apq_spec_validate(s, &small, &error));
  g_assert_no_error(error);

  for (int bits = 4; bits <= 8; bits += 2) {
    fr_apq_spec_largest(s, bits, &big);
    g_assert_true(big.quantized);
    for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
      for (int b = 0; b < s->n_blocks; b++) g_assert_cmpint(big.bits[q][b], ==, bits);
    g_assert_true(fr_apq_spec_validate(s, &big, &error));
    g_assert_no_error(error);
    fr_apq_spec_set_bits(s, &big, 0);
    g_assert_false(big.quantized);
    g_assert_true(fr_apq_spec_validate(s, &big, &error));
  }

  /* random: valid, deterministic for a seed, different across seeds */
  FrRng r1, r2;
  fr_rng_seed(&r1, 42);
  fr_rng_seed(&r2, 42);
  for (int i = 0; i < 200; i++) {
    FrApqSpec a, c;
    fr_apq_spec_random(s, &r1, i % 2, &a);
    fr_apq_spec_random(s, &r2, i % 2, &c);
    g_assert_true(spec_equal(&a, &c));
    g_assert_cmpint(a.quantized, ==, i % 2);
    g_assert_true(fr_apq_spec_validate(s, &a, &error));
    g_assert_no_error(error);
    if (!a.quantized)
      for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
        for (int b = 0; b < s->n_blocks; b++) g_assert_cmpint(a.bits[q][b], ==, 32);
  }
}

/* ---- encoding -------------------------------------------------------------------------------- */

static int option_index(const int *opts, int n, int v) {
  for (int i = 0; i < n; i++)
    if (opts[i] == v) return i;
  g_assert_not_reached();
  return -1;
}

static void check_encoding(const FrApqSpace *s, const FrApqSpec *spec) {
  int dim = s->arch_dim + s->quant_dim;
  float *x = g_new(float, dim + 1);
  x[dim] = 12345.0f; /* guard */
  for (int i = 0; i < dim; i++) x[i] = NAN; /* encode must overwrite every element */
  fr_apq_spec_encode(s, spec, x);
  g_assert_cmpfloat(x[dim], ==, 12345.0f);
  float *want = g_new0(float, dim);
  int n_active = 0;
  for (int b = 0; b < s->n_blocks; b++) {
    const FrApqBlock *bl = &s->blocks[b];
    gboolean active = bl->pos < spec->depth[bl->stage];
    /* the inline helper agrees with the depth rule */
    g_assert_cmpint(fr_apq_block_active(s, spec, b), ==, active);
    int ones_ks = 0, ones_mid = 0;
    for (int k = 0; k < 3; k++) ones_ks += x[bl->feat_ks + k] == 1.0f;
    for (int m = 0; m < bl->n_mid; m++) ones_mid += x[bl->feat_mid + m] == 1.0f;
    g_assert_cmpint(ones_ks, ==, active ? 1 : 0);
    g_assert_cmpint(ones_mid, ==, active ? 1 : 0);
    if (!active) continue;
    n_active++;
    want[3 * b + option_index(s->ks_options, 3, spec->ks[b])] = 1;
    want[bl->feat_mid + option_index(bl->mid_options, bl->n_mid, spec->mid[b])] = 1;
    if (spec->quantized)
      for (int q = 0; q < 4; q++) /* group-major: all pw_w, then pw_a, dw_w, dw_a */
        want[s->arch_dim + q * 3 * s->n_blocks + 3 * b + option_index(s->bit_options, 3, spec->bits[q][b])] = 1;
  }
  for (int i = 0; i < dim; i++)
    if (x[i] != want[i]) g_error("feature %d: %g, expected %g", i, x[i], want[i]);
  /* counts: 2 arch one-hots per active block; 4 bit one-hots per active block when quantized */
  int arch_ones = 0, bit_ones = 0;
  for (int i = 0; i < s->arch_dim; i++) arch_ones += x[i] != 0;
  for (int i = s->arch_dim; i < dim; i++) bit_ones += x[i] != 0;
  g_assert_cmpint(arch_ones, ==, 2 * n_active);
  g_assert_cmpint(bit_ones, ==, spec->quantized ? 4 * n_active : 0);
  g_free(x);
  g_free(want);
}

static void test_encode(void) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSpec spec;
  fr_apq_spec_largest(s, 0, &spec);
  check_encoding(s, &spec);
  fr_apq_spec_smallest(s, 4, &spec);
  check_encoding(s, &spec);
  FrRng rng;
  fr_rng_seed(&rng, 7);
  for (int i = 0; i < 500; i++) {
    fr_apq_spec_random(s, &rng, i % 2, &spec);
    check_encoding(s, &spec);
  }

  /* values of inactive blocks do not show: two specs differing only there encode identically */
  int dim = s->arch_dim + s->quant_dim;
  float *x1 = g_new(float, dim), *x2 = g_new(float, dim);
  fr_apq_spec_random(s, &rng, TRUE, &spec);
  spec.depth[2] = 2;
  FrApqSpec other = spec;
  other.ks[8 + 3] = other.ks[8 + 3] == 3 ? 7 : 3;
  other.mid[8 + 2] = s->blocks[8 + 2].mid_options[(s->blocks[8 + 2].n_mid - 1) - 0];
  other.bits[FR_APQ_DW_A][8 + 3] = other.bits[FR_APQ_DW_A][8 + 3] == 4 ? 8 : 4;
  fr_apq_spec_encode(s, &spec, x1);
  fr_apq_spec_encode(s, &other, x2);
  g_assert_cmpmem(x1, sizeof(float) * dim, x2, sizeof(float) * dim);
  /* ... while an active block's change does */
  other.ks[8] = other.ks[8] == 3 ? 5 : 3;
  fr_apq_spec_encode(s, &other, x2);
  g_assert_true(memcmp(x1, x2, sizeof(float) * dim) != 0);

  /* a specific spot check of the group-major bits layout: block 5, dw_w = 6 bits */
  fr_apq_spec_largest(s, 8, &spec);
  spec.bits[FR_APQ_DW_W][5] = 6;
  fr_apq_spec_encode(s, &spec, x1);
  g_assert_cmpfloat(x1[s->arch_dim + (2 * 16 + 5) * 3 + 1], ==, 1.0f);
  g_assert_cmpfloat(x1[s->arch_dim + (2 * 16 + 5) * 3 + 2], ==, 0.0f);
  g_assert_cmpfloat(x1[s->arch_dim + (0 * 16 + 5) * 3 + 2], ==, 1.0f);
  g_free(x1);
  g_free(x2);
}

/* ---- text form ------------------------------------------------------------------------------- */

static void test_text_round_trip(void) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrRng rng;
  fr_rng_seed(&rng, 2024);
  for (int i = 0; i < 1000; i++) {
    FrApqSpec spec, back;
    fr_apq_spec_random(s, &rng, i % 2 == 1, &spec);
    char *text = fr_apq_spec_to_string(s, &spec);
    GError *error = NULL;
    memset(&back, 0xA5, sizeof back);
    g_assert_true(fr_apq_spec_from_string(s, text, &back, &error));
    g_assert_no_error(error);
    if (!spec_equal(&spec, &back)) g_error("round trip changed %s", text);
    char *again = fr_apq_spec_to_string(s, &back);
    g_assert_cmpstr(again, ==, text);
    /* the text form: fields in a fixed order, bits only when quantized */
    g_assert_true(g_str_has_prefix(text, "ks="));
    g_assert_nonnull(strstr(text, ";mid="));
    g_assert_nonnull(strstr(text, ";d="));
    g_assert_cmpint(strstr(text, ";pw_w=") != NULL, ==, spec.quantized);
    g_assert_cmpint(strstr(text, ";dw_a=") != NULL, ==, spec.quantized);
    g_free(again);
    g_free(text);
  }
  /* exact form for the largest spec */
  FrApqSpec big;
  fr_apq_spec_largest(s, 0, &big);
  char *text = fr_apq_spec_to_string(s, &big);
  g_assert_cmpstr(text, ==,
                  "ks=7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7;mid=24,36,36,36,36,48,48,48,48,72,72,72,72,96,96,96;d=4,4,4,4");
  g_free(text);

  /* whitespace around keys and values and fields in another order are accepted */
  FrApqSpec a, b;
  GError *error = NULL;
  g_assert_true(fr_apq_spec_from_string(
      s, " d = 2,3, 4 ,4 ; ks=3,5,7,3,5,7,3,5,7,3,5,7,3,5,7,3;mid=16,24,28,32,24,32,36,40,32,48,52,56,48,64,68,72", &a,
      &error));
  g_assert_no_error(error);
  g_assert_false(a.quantized);
  g_assert_cmpint(a.depth[1], ==, 3);
  g_assert_cmpint(a.ks[2], ==, 7);
  g_assert_cmpint(a.mid[15], ==, 72);
  char *t = fr_apq_spec_to_string(s, &a);
  g_assert_true(fr_apq_spec_from_string(s, t, &b, &error));
  g_assert_true(spec_equal(&a, &b));
  g_free(t);
}

/* from_string must fail with FR_APQ_ERROR `code`, a message containing `mention`, and leave out
 * untouched. */
static void assert_parse_fails(const char *text, int code, const char *mention) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSpec out, before;
  memset(&out, 0x5A, sizeof out);
  before = out;
  GError *error = NULL;
  gboolean ok = fr_apq_spec_from_string(s, text, &out, &error);
  if (ok) g_error("accepted: \"%s\"", text ? text : "(null)");
  g_assert_error(error, FR_APQ_ERROR, code);
  g_assert_nonnull(error->message);
  if (mention && !strstr(error->message, mention))
    g_error("\"%s\": message \"%s\" does not mention \"%s\"", text ? text : "(null)", error->message, mention);
  g_assert_cmpmem(&out, sizeof out, &before, sizeof before);
  g_error_free(error);
}

#define KS16 "3,5,7,3,5,7,3,5,7,3,5,7,3,5,7,3"
#define MID16 "16,24,28,32,24,32,36,40,32,48,52,56,48,64,68,72"
#define B16 "4,6,8,4,6,8,4,6,8,4,6,8,4,6,8,4"
#define GOOD "ks=" KS16 ";mid=" MID16 ";d=2,3,4,4"
#define BITS ";pw_w=" B16 ";pw_a=" B16 ";dw_w=" B16 ";dw_a=" B16

static void test_text_errors(void) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSpec ok_spec;
  GError *error = NULL;
  /* the bases used below are valid */
  g_assert_true(fr_apq_spec_from_string(s, GOOD, &ok_spec, &error));
  g_assert_false(ok_spec.quantized);
  g_assert_true(fr_apq_spec_from_string(s, GOOD BITS, &ok_spec, &error));
  g_assert_true(ok_spec.quantized);
  g_assert_cmpint(ok_spec.bits[FR_APQ_DW_A][2], ==, 8);
  g_assert_no_error(error);

  /* empty and missing fields */
  assert_parse_fails("", FR_APQ_ERROR_PARSE, "needs ks, mid and d");
  assert_parse_fails(NULL, FR_APQ_ERROR_PARSE, "needs ks, mid and d");
  assert_parse_fails("ks=" KS16 ";mid=" MID16, FR_APQ_ERROR_PARSE, "needs ks, mid and d");
  assert_parse_fails("ks=" KS16 ";d=2,3,4,4", FR_APQ_ERROR_PARSE, "needs ks, mid and d");
  assert_parse_fails("mid=" MID16 ";d=2,3,4,4", FR_APQ_ERROR_PARSE, "needs ks, mid and d");
  /* only some of the bit groups */
  assert_parse_fails(GOOD ";pw_w=" B16, FR_APQ_ERROR_PARSE, "all four bit lists");
  assert_parse_fails(GOOD ";pw_w=" B16 ";pw_a=" B16 ";dw_w=" B16, FR_APQ_ERROR_PARSE, "all four bit lists");
  assert_parse_fails(GOOD ";dw_a=" B16, FR_APQ_ERROR_PARSE, "all four bit lists");
  /* not key=values, unknown and repeated keys */
  assert_parse_fails("ks", FR_APQ_ERROR_PARSE, "not key=values");
  assert_parse_fails(GOOD ";", FR_APQ_ERROR_PARSE, "not key=values");
  assert_parse_fails(GOOD ";;", FR_APQ_ERROR_PARSE, "not key=values");
  assert_parse_fails(GOOD ";depth=2,2,2,2", FR_APQ_ERROR_PARSE, "unknown field \"depth\"");
  assert_parse_fails(GOOD ";KS=" KS16, FR_APQ_ERROR_PARSE, "unknown field \"KS\"");
  assert_parse_fails("=3;" GOOD, FR_APQ_ERROR_PARSE, "unknown field");
  assert_parse_fails(GOOD ";ks=" KS16, FR_APQ_ERROR_PARSE, "repeated field \"ks\"");
  assert_parse_fails(GOOD ";d=2,2,2,2", FR_APQ_ERROR_PARSE, "repeated field \"d\"");
  assert_parse_fails(GOOD BITS ";dw_w=" B16, FR_APQ_ERROR_PARSE, "repeated field \"dw_w\"");
  /* wrong list lengths */
  assert_parse_fails("ks=3,5;mid=" MID16 ";d=2,3,4,4", FR_APQ_ERROR_PARSE, "spec field ks: expected 16");
  assert_parse_fails("ks=" KS16 ",3;mid=" MID16 ";d=2,3,4,4", FR_APQ_ERROR_PARSE, "spec field ks: expected 16");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,3,4", FR_APQ_ERROR_PARSE, "spec field d: expected 4");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,3,4,4,4", FR_APQ_ERROR_PARSE, "spec field d: expected 4");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=", FR_APQ_ERROR_PARSE, "spec field d");
  assert_parse_fails(GOOD ";pw_w=4,4;pw_a=" B16 ";dw_w=" B16 ";dw_a=" B16, FR_APQ_ERROR_PARSE, "spec field pw_w");
  /* garbage numbers */
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,3,4,x", FR_APQ_ERROR_PARSE, "spec field d");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,3,4,4x", FR_APQ_ERROR_PARSE, "spec field d");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,3,,4", FR_APQ_ERROR_PARSE, "spec field d");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,3,4.0,4", FR_APQ_ERROR_PARSE, "spec field d");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,3,-4,4", FR_APQ_ERROR_PARSE, "spec field d");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,3,0x4,4", FR_APQ_ERROR_PARSE, "spec field d");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,3,99999999999999999999,4", FR_APQ_ERROR_PARSE, "spec field d");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,3,4294967300,4", FR_APQ_ERROR_PARSE, "spec field d");
  /* out-of-range values: parsed, then refused by validate */
  assert_parse_fails("ks=4,5,7,3,5,7,3,5,7,3,5,7,3,5,7,3;mid=" MID16 ";d=2,3,4,4", FR_APQ_ERROR_INVALID_SPEC,
                     "block 0: kernel 4 is not one of 3, 5, 7");
  assert_parse_fails("ks=" KS16 ";mid=16,24,28,32,24,32,36,40,32,48,52,56,48,64,68,70;d=2,3,4,4",
                     FR_APQ_ERROR_INVALID_SPEC, "block 15: 70 mid channels is not an option (64..96 in steps of 4)");
  assert_parse_fails("ks=" KS16 ";mid=28,24,28,32,24,32,36,40,32,48,52,56,48,64,68,72;d=2,3,4,4",
                     FR_APQ_ERROR_INVALID_SPEC, "block 0: 28 mid channels");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=1,3,4,4", FR_APQ_ERROR_INVALID_SPEC, "stage 0: depth 1 is outside 2..4");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,3,4,5", FR_APQ_ERROR_INVALID_SPEC, "stage 3: depth 5 is outside 2..4");
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,0,4,4", FR_APQ_ERROR_INVALID_SPEC, "stage 1: depth 0");
  assert_parse_fails(GOOD ";pw_w=" B16 ";pw_a=" B16 ";dw_w=4,6,8,4,6,8,4,6,8,4,6,8,4,6,8,5;dw_a=" B16,
                     FR_APQ_ERROR_INVALID_SPEC, "block 15: dw_w is 5 bits, not 4, 6 or 8");
  assert_parse_fails(GOOD ";pw_w=32,6,8,4,6,8,4,6,8,4,6,8,4,6,8,4;pw_a=" B16 ";dw_w=" B16 ";dw_a=" B16,
                     FR_APQ_ERROR_INVALID_SPEC, "block 0: pw_w is 32 bits");
  /* inactive blocks must still hold valid values (they are kept in the text form) */
  assert_parse_fails("ks=" KS16 ";mid=" MID16 ";d=2,2,2,2;pw_w=" B16 ";pw_a=" B16 ";dw_w=" B16
                     ";dw_a=4,6,8,4,6,8,4,6,8,4,6,8,4,6,8,2",
                     FR_APQ_ERROR_INVALID_SPEC, "block 15: dw_a is 2 bits");
}

static void test_validate(void) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSpec spec, bad;
  GError *error = NULL;
  fr_apq_spec_largest(s, 6, &spec);
  g_assert_true(fr_apq_spec_validate(s, &spec, NULL));

  bad = spec;
  bad.depth[2] = 5;
  g_assert_false(fr_apq_spec_validate(s, &bad, NULL)); /* NULL error is fine */
  g_assert_false(fr_apq_spec_validate(s, &bad, &error));
  g_assert_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC);
  g_assert_cmpstr(error->message, ==, "stage 2: depth 5 is outside 2..4");
  g_clear_error(&error);

  bad = spec;
  bad.ks[9] = 1;
  g_assert_false(fr_apq_spec_validate(s, &bad, &error));
  g_assert_cmpstr(error->message, ==, "block 9: kernel 1 is not one of 3, 5, 7");
  g_clear_error(&error);

  bad = spec;
  bad.mid[0] = 0;
  g_assert_false(fr_apq_spec_validate(s, &bad, &error));
  g_assert_cmpstr(error->message, ==, "block 0: 0 mid channels is not an option (16..24 in steps of 4)");
  g_clear_error(&error);

  bad = spec;
  bad.mid[3] = 40; /* an option of another block, not this one (24..36) */
  g_assert_false(fr_apq_spec_validate(s, &bad, &error));
  g_assert_cmpstr(error->message, ==, "block 3: 40 mid channels is not an option (24..36 in steps of 4)");
  g_clear_error(&error);

  bad = spec;
  bad.bits[FR_APQ_PW_A][7] = 7;
  g_assert_false(fr_apq_spec_validate(s, &bad, &error));
  g_assert_cmpstr(error->message, ==, "block 7: pw_a is 7 bits, not 4, 6 or 8");
  g_clear_error(&error);
  /* bits are ignored for a full-precision spec */
  bad.quantized = false;
  g_assert_true(fr_apq_spec_validate(s, &bad, &error));
  g_assert_no_error(error);
}

/* ---- costs ----------------------------------------------------------------------------------- */

typedef struct { double macs, bitops, params, macs_fixed, macs_searched; } NaiveCost;

/* Layer by layer, from the stage table above; conv output sizes from the usual formula. */
static NaiveCost naive_cost(const FrApqSpace *s, const FrApqSpec *spec) {
  NaiveCost c = { 0 };
  int hw = (28 + 2 * 1 - 3) / 2 + 1;
  double m = 9.0 * 1 * STEM_CH * hw * hw; /* stem 3x3, 1 -> 8 channels, at 14x14 */
  c.macs_fixed += m;
  c.bitops += m * 32 * 32;
  c.params += 9.0 * STEM_CH;
  int cin = STEM_CH, b = 0;
  for (int st = 0; st < 4; st++)
    for (int pos = 0; pos < 4; pos++, b++) {
      int stride = pos == 0 ? stage_stride[st] : 1, cout = stage_cout[st];
      int k = spec->ks[b], mid = spec->mid[b];
      int out_hw = (hw + 2 * (k / 2) - k) / stride + 1;
      if (pos < spec->depth[st]) {
        int pw_w = 32, pw_a = 32, dw_w = 32, dw_a = 32;
        if (spec->quantized) {
          pw_w = spec->bits[FR_APQ_PW_W][b];
          pw_a = spec->bits[FR_APQ_PW_A][b];
          dw_w = spec->bits[FR_APQ_DW_W][b];
          dw_a = spec->bits[FR_APQ_DW_A][b];
        }
        double expand = (double)cin * mid * hw * hw;           /* 1x1 at the input resolution */
        double depthwise = (double)k * k * mid * out_hw * out_hw; /* k x k, strided */
        double project = (double)mid * cout * out_hw * out_hw;
        c.macs_searched += expand + depthwise + project;
        c.bitops += (expand + project) * pw_w * pw_a + depthwise * dw_w * dw_a;
        c.params += (double)cin * mid + (double)k * k * mid + (double)mid * cout;
        cin = cout;
        hw = out_hw;
      } else {
        /* an inactive block is skipped; the stage's first block is always active (depth >= 2) so
         * the channel count and resolution at the next stage are the same either way */
        g_assert_cmpint(pos, >=, 2);
      }
    }
  /* with stride-1 stages after their first block, skipping blocks never changes hw or channels */
  g_assert_cmpint(hw, ==, 4);
  g_assert_cmpint(cin, ==, 32);
  double head = 32.0 * HEAD_CH * 4 * 4, fc = HEAD_CH * 10.0;
  c.macs_fixed += head + fc;
  c.bitops += (head + fc) * 32 * 32;
  c.params += 32.0 * HEAD_CH + (HEAD_CH + 1) * 10.0;
  c.macs = c.macs_fixed + c.macs_searched;
  return c;
}

static void check_costs(const FrApqSpace *s, const FrApqSpec *spec) {
  NaiveCost want = naive_cost(s, spec);
  double macs = fr_apq_spec_macs(s, spec), bitops = fr_apq_spec_bitops(s, spec);
  int64_t params = fr_apq_spec_params(s, spec);
  if (macs != want.macs || bitops != want.bitops || (double)params != want.params) {
    char *t = fr_apq_spec_to_string(s, spec);
    g_error("%s: MACs %.0f (naive %.0f), BitOps %.0f (naive %.0f), params %" G_GINT64_FORMAT " (naive %.0f)", t, macs,
            want.macs, bitops, want.bitops, params, want.params);
  }
}

static void test_costs(void) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSpec spec;
  fr_apq_spec_largest(s, 0, &spec);
  check_costs(s, &spec);
  fr_apq_spec_smallest(s, 0, &spec);
  check_costs(s, &spec);
  fr_apq_spec_smallest(s, 4, &spec);
  check_costs(s, &spec);
  FrRng rng;
  fr_rng_seed(&rng, 99);
  for (int i = 0; i < 2000; i++) {
    fr_apq_spec_random(s, &rng, i % 3 == 0, &spec);
    check_costs(s, &spec);
  }
  /* a worked example by hand: the smallest fp32 spec.
   * stem 9*8*196 = 14112; stage 0 (14 -> 7): block 0 8*16*196 + 9*16*49 + 16*12*49 = 41552,
   * block 1 at 7x7: 12*24*49 + 9*24*49 + 24*12*49 = 38808; stage 1: 12*24*49 + 9*24*49 + 24*16*49
   * = 43512, 16*32*49 + 9*32*49 + 32*16*49 = 64288; stage 2 (7 -> 4): 16*32*49 + 9*32*16 + 32*24*16
   * = 41984, 24*48*16 + 9*48*16 + 48*24*16 = 43776; stage 3: 24*48*16 + 9*48*16 + 48*32*16 = 49920,
   * 32*64*16 + 9*64*16 + 64*32*16 = 74752; head 32*128*16 = 65536; classifier 1280. */
  fr_apq_spec_smallest(s, 0, &spec);
  double by_hand = 14112 + 41552 + 38808 + 43512 + 64288 + 41984 + 43776 + 49920 + 74752 + 65536 + 1280;
  g_assert_cmpfloat(fr_apq_spec_macs(s, &spec), ==, by_hand);
}

static void test_bitops_uniform(void) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrRng rng;
  fr_rng_seed(&rng, 5);
  for (int i = 0; i < 200; i++) {
    FrApqSpec spec;
    fr_apq_spec_random(s, &rng, FALSE, &spec);
    NaiveCost c = naive_cost(s, &spec);
    /* fp32: everything counts 32 x 32 */
    g_assert_cmpfloat(fr_apq_spec_bitops(s, &spec), ==, 1024.0 * fr_apq_spec_macs(s, &spec));
    for (int bits = 4; bits <= 8; bits += 2) {
      fr_apq_spec_set_bits(s, &spec, bits);
      double want = c.macs_searched * bits * bits + 1024.0 * c.macs_fixed;
      g_assert_cmpfloat(fr_apq_spec_bitops(s, &spec), ==, want);
      /* bits do not change MACs or params */
      g_assert_cmpfloat(fr_apq_spec_macs(s, &spec), ==, c.macs);
      g_assert_cmpfloat((double)fr_apq_spec_params(s, &spec), ==, c.params);
    }
    fr_apq_spec_set_bits(s, &spec, 0);
  }
  /* BitOps grow with any one group's bits */
  FrApqSpec spec;
  fr_apq_spec_largest(s, 4, &spec);
  double prev = fr_apq_spec_bitops(s, &spec);
  for (int q = 0; q < FR_APQ_N_QGROUPS; q++) {
    spec.bits[q][0] = 8;
    double now = fr_apq_spec_bitops(s, &spec);
    g_assert_cmpfloat(now, >, prev);
    prev = now;
  }
  /* a quantized spec's bits on an inactive block do not count */
  fr_apq_spec_smallest(s, 4, &spec);
  double before = fr_apq_spec_bitops(s, &spec);
  spec.bits[FR_APQ_PW_W][3] = 8;
  g_assert_cmpfloat(fr_apq_spec_bitops(s, &spec), ==, before);
}

static void test_cost_order(void) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  FrApqSpec big, small, r;
  fr_apq_spec_largest(s, 0, &big);
  fr_apq_spec_smallest(s, 0, &small);
  double mb = fr_apq_spec_macs(s, &big), ms = fr_apq_spec_macs(s, &small);
  int64_t pb = fr_apq_spec_params(s, &big), ps = fr_apq_spec_params(s, &small);
  g_assert_cmpfloat(mb, >, ms);
  g_assert_cmpint(pb, >, ps);
  FrApqSpec big8, small4;
  fr_apq_spec_largest(s, 8, &big8);
  fr_apq_spec_smallest(s, 4, &small4);
  FrRng rng;
  fr_rng_seed(&rng, 11);
  for (int i = 0; i < 500; i++) {
    fr_apq_spec_random(s, &rng, i % 2, &r);
    double m = fr_apq_spec_macs(s, &r);
    int64_t p = fr_apq_spec_params(s, &r);
    g_assert_cmpfloat(m, <, mb);
    g_assert_cmpfloat(m, >, ms);
    g_assert_cmpint(p, <, pb);
    g_assert_cmpint(p, >, ps);
    if (r.quantized) {
      g_assert_cmpfloat(fr_apq_spec_bitops(s, &r), <, fr_apq_spec_bitops(s, &big8));
      g_assert_cmpfloat(fr_apq_spec_bitops(s, &r), >, fr_apq_spec_bitops(s, &small4));
      /* quantizing never costs more BitOps than full precision */
      FrApqSpec fp = r;
      fr_apq_spec_set_bits(s, &fp, 0);
      g_assert_cmpfloat(fr_apq_spec_bitops(s, &r), <, fr_apq_spec_bitops(s, &fp));
    }
  }
}

static void test_random_coverage(void) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  enum { N = 3000 };
  int ks[FR_APQ_MAX_BLOCKS][3] = { { 0 } }, mid[FR_APQ_MAX_BLOCKS][FR_APQ_MAX_MID] = { { 0 } };
  int depth[FR_APQ_MAX_STAGES][5] = { { 0 } }, bits[FR_APQ_N_QGROUPS][FR_APQ_MAX_BLOCKS][3] = { { { 0 } } };
  FrRng rng;
  fr_rng_seed(&rng, 123);
  for (int i = 0; i < N; i++) {
    FrApqSpec spec;
    fr_apq_spec_random(s, &rng, TRUE, &spec);
    for (int b = 0; b < s->n_blocks; b++) {
      ks[b][option_index(s->ks_options, 3, spec.ks[b])]++;
      mid[b][option_index(s->blocks[b].mid_options, s->blocks[b].n_mid, spec.mid[b])]++;
      for (int q = 0; q < 4; q++) bits[q][b][option_index(s->bit_options, 3, spec.bits[q][b])]++;
    }
    for (int st = 0; st < s->n_stages; st++) {
      g_assert_cmpint(spec.depth[st], >=, 2);
      g_assert_cmpint(spec.depth[st], <=, 4);
      depth[st][spec.depth[st]]++;
    }
  }
  /* every option is drawn, each about uniformly (within 25% of N / options: > 6 sigma here) */
#define ROUGHLY(count, n_opt) \
  g_assert_cmpfloat(fabs((count) - (double)N / (n_opt)), <, 0.25 * N / (n_opt))
  for (int b = 0; b < s->n_blocks; b++) {
    for (int k = 0; k < 3; k++) ROUGHLY(ks[b][k], 3);
    for (int m = 0; m < s->blocks[b].n_mid; m++) ROUGHLY(mid[b][m], s->blocks[b].n_mid);
    for (int q = 0; q < 4; q++)
      for (int k = 0; k < 3; k++) ROUGHLY(bits[q][b][k], 3);
  }
  for (int st = 0; st < s->n_stages; st++)
    for (int d = 2; d <= 4; d++) ROUGHLY(depth[st][d], 3);
#undef ROUGHLY
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/apq-space/layout", test_layout);
  g_test_add_func("/apq-space/threads", test_space_threads);
  g_test_add_func("/apq-space/extremes-random", test_extremes);
  g_test_add_func("/apq-space/encode", test_encode);
  g_test_add_func("/apq-space/text-round-trip", test_text_round_trip);
  g_test_add_func("/apq-space/text-errors", test_text_errors);
  g_test_add_func("/apq-space/validate", test_validate);
  g_test_add_func("/apq-space/costs-naive", test_costs);
  g_test_add_func("/apq-space/bitops-uniform", test_bitops_uniform);
  g_test_add_func("/apq-space/cost-order", test_cost_order);
  g_test_add_func("/apq-space/random-coverage", test_random_coverage);
  return g_test_run();
}
