/* test-safetensors.c: reader/writer round trips, float conversions, malformed inputs, and
 * compatibility with files laid out like the Python safetensors library (PyTorch). */
#include "fr-safetensors.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "fr-test-util.h"
#include <sys/wait.h>

static char *tmp_dir;

static char *
tmp_path(const char *name)
{
  return g_build_filename(tmp_dir, name, NULL);
}


static guint64
le64(const guint8 *p)
{
  guint64 v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static gboolean
same_float(float a, float b)
{
  if (isnan(a) || isnan(b))
    return isnan(a) && isnan(b);
  return memcmp(&a, &b, sizeof a) == 0; /* bitwise: distinguishes -0 from 0 */
}

/* ---- dtypes ---------------------------------------------------------------------------------- */

static void
test_dtype(void)
{
  static const struct { FrDType t; size_t size; const char *name; } want[] = {
    {FR_DTYPE_F32, 4, "F32"}, {FR_DTYPE_F16, 2, "F16"}, {FR_DTYPE_BF16, 2, "BF16"}, {FR_DTYPE_F64, 8, "F64"},
    {FR_DTYPE_I64, 8, "I64"}, {FR_DTYPE_I32, 4, "I32"}, {FR_DTYPE_I16, 2, "I16"}, {FR_DTYPE_I8, 1, "I8"},
    {FR_DTYPE_U8, 1, "U8"},   {FR_DTYPE_BOOL, 1, "BOOL"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
    g_assert_cmpuint(fr_dtype_size(want[i].t), ==, want[i].size);
    g_assert_cmpstr(fr_dtype_name(want[i].t), ==, want[i].name);
  }
  g_assert_cmpuint(fr_dtype_size((FrDType)99), ==, 0);
  g_assert_cmpstr(fr_dtype_name((FrDType)99), ==, "?");
}

/* ---- round trip ------------------------------------------------------------------------------ */

typedef struct {
  const char *name;
  FrDType dtype;
  int ndim;
  int64_t shape[FR_ST_MAX_DIMS];
  size_t nbytes;
  guint8 bytes[64];
} RtTensor;

static void
check_roundtrip(const FrSafetensors *st, const RtTensor *rt, size_t n)
{
  g_assert_cmpint(fr_safetensors_n_tensors(st), ==, (int)n);
  for (size_t i = 0; i < n; i++) {
    const FrSafeTensor *t = fr_safetensors_get(st, rt[i].name);
    g_assert_nonnull(t);
    g_assert_cmpstr(t->name, ==, rt[i].name);
    g_assert_cmpint(t->dtype, ==, rt[i].dtype);
    g_assert_cmpint(t->ndim, ==, rt[i].ndim);
    for (int d = 0; d < t->ndim; d++)
      g_assert_cmpint(t->shape[d], ==, rt[i].shape[d]);
    g_assert_cmpuint(t->nbytes, ==, rt[i].nbytes);
    g_assert_nonnull(t->data);
    if (rt[i].nbytes)
      g_assert_cmpmem(t->data, t->nbytes, rt[i].bytes, rt[i].nbytes);
  }
  /* nth: in offset order, contiguous, each tensor naturally aligned relative to the buffer start */
  const guint8 *base = fr_safetensors_nth(st, 0)->data;
  const guint8 *next = base;
  for (int i = 0; i < fr_safetensors_n_tensors(st); i++) {
    const FrSafeTensor *t = fr_safetensors_nth(st, i);
    g_assert_true((const guint8 *)t->data == next);
    g_assert_cmpuint((size_t)((const guint8 *)t->data - base) % fr_dtype_size(t->dtype), ==, 0);
    next += t->nbytes;
  }
  g_assert_null(fr_safetensors_get(st, "nope"));
  g_assert_null(fr_safetensors_get_metadata(st, "nope"));
  g_assert_cmpstr(fr_safetensors_get_metadata(st, "format"), ==, "pt");
  g_assert_cmpstr(fr_safetensors_get_metadata(st, "odd \"key\"\n"), ==, "tab\there \\ caf\xc3\xa9 \x01\b\f\r");
  g_assert_cmpstr(fr_safetensors_get_metadata(st, "empty"), ==, "");
}

static void
test_roundtrip(void)
{
  static const RtTensor rt[] = {
    {"w.f32", FR_DTYPE_F32, 2, {2, 2}, 16, {0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 192}},
    {"w.f16", FR_DTYPE_F16, 1, {3}, 6, {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c}},
    {"w.bf16", FR_DTYPE_BF16, 1, {2}, 4, {0x80, 0x3f, 0x49, 0x40}},
    {"w.f64", FR_DTYPE_F64, 1, {1}, 8, {0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
    {"steps", FR_DTYPE_I64, 1, {2}, 16, {1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
    {"i32", FR_DTYPE_I32, 3, {1, 1, 1}, 4, {0x78, 0x56, 0x34, 0x12}},
    {"i16", FR_DTYPE_I16, 1, {2}, 4, {1, 0x80, 0xff, 0x7f}},
    {"i8", FR_DTYPE_I8, 1, {3}, 3, {0x80, 0x7f, 0}},
    {"u8", FR_DTYPE_U8, 2, {1, 5}, 5, {1, 2, 3, 4, 255}},
    {"mask", FR_DTYPE_BOOL, 1, {4}, 4, {1, 0, 0, 1}},
    {"scalar", FR_DTYPE_F32, 0, {0}, 4, {0, 0, 32, 64}},
    {"empty", FR_DTYPE_F16, 2, {0, 7}, 0, {0}},
    {"quote\"back\\slash\tcaf\xc3\xa9", FR_DTYPE_U8, 1, {1}, 1, {42}},
    {"eight.dims", FR_DTYPE_I8, 8, {1, 1, 1, 1, 1, 1, 1, 2}, 2, {7, 8}},
  };
  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  for (size_t i = 0; i < G_N_ELEMENTS(rt); i++)
    fr_safetensors_writer_add(w, rt[i].name, rt[i].dtype, rt[i].ndim, rt[i].shape, rt[i].nbytes ? rt[i].bytes : NULL);
  fr_safetensors_writer_set_metadata(w, "format", "np");
  fr_safetensors_writer_set_metadata(w, "format", "pt"); /* replaces */
  fr_safetensors_writer_set_metadata(w, "odd \"key\"\n", "tab\there \\ caf\xc3\xa9 \x01\b\f\r");
  fr_safetensors_writer_set_metadata(w, "empty", "");

  GBytes *bytes = fr_safetensors_writer_to_bytes(w);
  gsize len;
  const guint8 *buf = g_bytes_get_data(bytes, &len);
  g_assert_cmpuint(len, >=, 8);
  g_assert_cmpuint(le64(buf) % 8, ==, 0);
  g_assert_true(memcmp(buf + 8, "{\"__metadata__\":{\"empty\":\"\",\"format\":\"pt\",", 42) == 0);
  /* largest alignment first: I64, F64, F32..., and names in order within a dtype */
  g_assert_nonnull(strstr((const char *)buf + 8, "\"steps\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}"));
  g_assert_nonnull(strstr((const char *)buf + 8, "\"w.f64\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[16,24]}"));
  g_assert_nonnull(strstr((const char *)buf + 8, "\"quote\\\"back\\\\slash\\tcaf\xc3\xa9\":"));
  g_assert_nonnull(strstr((const char *)buf + 8, "\"odd \\\"key\\\"\\n\":\"tab\\there \\\\ caf\xc3\xa9 \\u0001\\b\\f\\r\""));

  GError *error = NULL;
  FrSafetensors *st = fr_safetensors_parse(buf, len, &error);
  g_assert_no_error(error);
  check_roundtrip(st, rt, G_N_ELEMENTS(rt));
  g_assert_cmpstr(fr_safetensors_nth(st, 0)->name, ==, "steps");
  g_assert_cmpstr(fr_safetensors_nth(st, 1)->name, ==, "w.f64");
  fr_safetensors_free(st);

  /* the same through a file */
  char *path = tmp_path("roundtrip.safetensors");
  g_assert_true(fr_safetensors_writer_save(w, path, &error));
  g_assert_no_error(error);
  char *contents;
  gsize clen;
  g_assert_true(g_file_get_contents(path, &contents, &clen, NULL));
  g_assert_cmpmem(contents, clen, buf, len);
  st = fr_safetensors_load(path, &error);
  g_assert_no_error(error);
  check_roundtrip(st, rt, G_N_ELEMENTS(rt));
  fr_safetensors_free(st);

  g_free(contents);
  g_free(path);
  g_bytes_unref(bytes);
  fr_safetensors_writer_free(w);
}

/* Byte-exact layouts from the reference implementation's own tests. */
static void
test_python_layout(void)
{
  static const guint8 attn[] = {
    64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34,
    70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95,
    111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0,
    64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64};
  static const guint8 attn_padded[] = {
    72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70,
    51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97,
    95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32, 32, 32, 0, 0,
    0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64};
  static const guint8 empty[] = {8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32};
  static const guint8 empty_meta[] = {40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97,
                                      95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34,
                                      112, 116, 34, 125, 125, 32, 32, 32, 32, 32};
  const float v[] = {0, 1, 2, 3, 4, 5};
  GBytes *b;

  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  fr_safetensors_writer_add(w, "attn.0", FR_DTYPE_F32, 3, (const int64_t[]){1, 2, 3}, v);
  b = fr_safetensors_writer_to_bytes(w);
  g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), attn, sizeof attn);
  g_bytes_unref(b);
  fr_safetensors_writer_free(w);

  w = fr_safetensors_writer_new();
  fr_safetensors_writer_add(w, "attn0", FR_DTYPE_F32, 4, (const int64_t[]){1, 1, 2, 3}, v);
  b = fr_safetensors_writer_to_bytes(w);
  g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), attn_padded, sizeof attn_padded);
  g_bytes_unref(b);
  fr_safetensors_writer_free(w);

  w = fr_safetensors_writer_new();
  b = fr_safetensors_writer_to_bytes(w);
  g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), empty, sizeof empty);
  g_bytes_unref(b);
  fr_safetensors_writer_set_metadata(w, "framework", "pt");
  b = fr_safetensors_writer_to_bytes(w);
  g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), empty_meta, sizeof empty_meta);
  g_bytes_unref(b);
  fr_safetensors_writer_free(w);

  /* and all of them parse */
  const struct { const guint8 *p; size_t n; int tensors; } in[] = {
    {attn, sizeof attn, 1}, {attn_padded, sizeof attn_padded, 1}, {empty, sizeof empty, 0}, {empty_meta, sizeof empty_meta, 0}};
  for (size_t i = 0; i < G_N_ELEMENTS(in); i++) {
    GError *error = NULL;
    FrSafetensors *st = fr_safetensors_parse(in[i].p, in[i].n, &error);
    g_assert_no_error(error);
    g_assert_cmpint(fr_safetensors_n_tensors(st), ==, in[i].tensors);
    fr_safetensors_free(st);
  }
}

/* ---- read_f32 -------------------------------------------------------------------------------- */

static void
test_read_f32(void)
{
  static const struct { guint16 bits; float want; } f16[] = {
    {0x0000, 0.0f},        {0x8000, -0.0f},         {0x3c00, 1.0f},         {0xc100, -2.5f},
    {0x7bff, 65504.0f},    {0x0400, 0x1p-14f},      {0x0001, 0x1p-24f},     {0x03ff, 0x1.ff8p-15f},
    {0x8001, -0x1p-24f},   {0x3555, 0.333251953125f}, {0x5640, 100.0f},     {0x7c00, INFINITY},
    {0xfc00, -INFINITY},   {0x7e00, NAN},           {0xfe01, NAN},
  };
  static const struct { guint16 bits; float want; } bf16[] = {
    {0x3f80, 1.0f},   {0xc000, -2.0f},      {0x4049, 3.140625f}, {0x7f00, 0x1p127f},
    {0xff80, -INFINITY}, {0x0001, 0x1p-133f}, {0x8000, -0.0f},     {0x7fc0, NAN},
  };
  static const struct { double v; float want; } f64[] = {
    {0.1, 0x1.99999ap-4f}, {-1e-3, -0x1.0624dep-10f}, {3.5, 3.5f},       {1e300, INFINITY},
    {-1e300, -INFINITY},   {1e-50, 0.0f},            {-1e-50, -0.0f},    {16777217.0, 16777216.0f},
    {1e-40, 0x1.16c2p-133f}, {-0.0, -0.0f},            {NAN, NAN},
  };
  guint16 hb[G_N_ELEMENTS(f16)], bb[G_N_ELEMENTS(bf16)];
  double db[G_N_ELEMENTS(f64)];
  float fb[3] = {1.5f, -0.0f, 3e38f};
  for (size_t i = 0; i < G_N_ELEMENTS(f16); i++)
    hb[i] = f16[i].bits;
  for (size_t i = 0; i < G_N_ELEMENTS(bf16); i++)
    bb[i] = bf16[i].bits;
  for (size_t i = 0; i < G_N_ELEMENTS(f64); i++)
    db[i] = f64[i].v;

  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  int64_t sh16[1] = {G_N_ELEMENTS(f16)}, shb[2] = {2, G_N_ELEMENTS(bf16) / 2}, sh64[1] = {G_N_ELEMENTS(f64)},
          sh32[1] = {3};
  fr_safetensors_writer_add(w, "h", FR_DTYPE_F16, 1, sh16, hb);
  fr_safetensors_writer_add(w, "b", FR_DTYPE_BF16, 2, shb, bb);
  fr_safetensors_writer_add(w, "d", FR_DTYPE_F64, 1, sh64, db);
  fr_safetensors_writer_add(w, "f", FR_DTYPE_F32, 1, sh32, fb);
  fr_safetensors_writer_add(w, "s", FR_DTYPE_F16, 0, NULL, &hb[2]);
  GBytes *bytes = fr_safetensors_writer_to_bytes(w);
  GError *error = NULL;
  FrSafetensors *st = fr_safetensors_parse(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), &error);
  g_assert_no_error(error);

  float out[32];
  g_assert_true(fr_safetensors_read_f32(st, "h", 1, sh16, out, &error));
  g_assert_no_error(error);
  for (size_t i = 0; i < G_N_ELEMENTS(f16); i++)
    if (!same_float(out[i], f16[i].want))
      g_error("F16 0x%04x -> %a, want %a", f16[i].bits, out[i], f16[i].want);
  g_assert_true(fr_safetensors_read_f32(st, "b", 2, shb, out, &error));
  for (size_t i = 0; i < G_N_ELEMENTS(bf16); i++)
    if (!same_float(out[i], bf16[i].want))
      g_error("BF16 0x%04x -> %a, want %a", bf16[i].bits, out[i], bf16[i].want);
  g_assert_true(fr_safetensors_read_f32(st, "d", 1, sh64, out, &error));
  for (size_t i = 0; i < G_N_ELEMENTS(f64); i++)
    if (!same_float(out[i], f64[i].want))
      g_error("F64 %a -> %a, want %a", f64[i].v, out[i], f64[i].want);
  g_assert_true(fr_safetensors_read_f32(st, "f", 1, sh32, out, &error));
  for (size_t i = 0; i < 3; i++)
    g_assert_true(same_float(out[i], fb[i]));
  g_assert_true(fr_safetensors_read_f32(st, "s", 0, NULL, out, &error));
  g_assert_cmpfloat(out[0], ==, 1.0f);
  g_assert_no_error(error);

  fr_safetensors_free(st);
  g_bytes_unref(bytes);
  fr_safetensors_writer_free(w);
}

static void
test_read_f32_errors(void)
{
  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  int32_t iv[6] = {1, 2, 3, 4, 5, 6};
  float fv[6] = {1, 2, 3, 4, 5, 6};
  fr_safetensors_writer_add(w, "conv1.weight", FR_DTYPE_F32, 2, (const int64_t[]){2, 3}, fv);
  fr_safetensors_writer_add(w, "ids", FR_DTYPE_I32, 1, (const int64_t[]){6}, iv);
  GBytes *bytes = fr_safetensors_writer_to_bytes(w);
  FrSafetensors *st = fr_safetensors_parse(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), NULL);
  g_assert_nonnull(st);
  GError *error = NULL;
  float out[6];

  g_assert_false(fr_safetensors_read_f32(st, "conv2.weight", 2, (const int64_t[]){2, 3}, out, &error));
  g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_MISSING);
  g_assert_nonnull(strstr(error->message, "conv2.weight"));
  g_clear_error(&error);

  g_assert_false(fr_safetensors_read_f32(st, "conv1.weight", 2, (const int64_t[]){3, 2}, out, &error));
  g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_SHAPE);
  g_assert_cmpstr(error->message, ==, "<buffer>: tensor 'conv1.weight' has shape [2,3], expected [3,2]");
  g_clear_error(&error);

  g_assert_false(fr_safetensors_read_f32(st, "conv1.weight", 1, (const int64_t[]){6}, out, &error));
  g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_SHAPE);
  g_clear_error(&error);

  g_assert_false(fr_safetensors_read_f32(st, "conv1.weight", 3, (const int64_t[]){2, 3, 1}, out, &error));
  g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_SHAPE);
  g_clear_error(&error);

  g_assert_false(fr_safetensors_read_f32(st, "ids", 1, (const int64_t[]){6}, out, &error));
  g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, "'ids' has dtype I32"));
  g_clear_error(&error);

  g_assert_true(fr_safetensors_read_f32(st, "conv1.weight", 2, (const int64_t[]){2, 3}, out, &error));
  g_assert_cmpmem(out, sizeof out, fv, sizeof fv);

  fr_safetensors_free(st);
  g_bytes_unref(bytes);
  fr_safetensors_writer_free(w);
}

/* ---- malformed input ------------------------------------------------------------------------- */

typedef struct {
  const char *id;
  const char *json;   /* the header */
  size_t data_len;    /* zero bytes after the header */
  gint64 hlen;        /* the length field; -1: strlen(json) */
  gssize trunc;       /* -1: whole file; else cut it to this many bytes */
  int code;
  const char *substr; /* expected in the message */
} BadCase;

#define T1(extra) "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]" extra "}}"
#define TA "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"
#define FMT FR_SAFETENSORS_ERROR_FORMAT

static const BadCase bad_cases[] = {
  {"too-short", "{}", 0, -1, 3, FMT, "3 bytes, too short"},
  {"length-past-eof", "{}      ", 0, 100, -1, FMT, "header length 100 (bytes 0-7) runs past the end of the 16-byte file"},
  {"length-absurd", "{}", 0, G_GINT64_CONSTANT(0x4000000000000000), -1, FMT, "absurd"},
  {"length-just-over-limit", "{}", 0, 100000001, -1, FMT, "absurd"},
  {"length-zero", "{}", 2, 0, -1, FMT, "not a JSON object (expected '{', found the end of the header)"},
  {"not-json", "hello world", 0, -1, -1, FMT, "not a JSON object (expected '{', found 'h') (at file offset 8)"},
  {"not-object", "[1, 2, 3]", 0, -1, -1, FMT, "not a JSON object"},
  {"truncated-json", "{\"a\":{\"dtype\":\"F32\"", 0, -1, -1, FMT, "tensor 'a': expected ',' or '}' in the tensor entry, found the end of the header"},
  {"unterminated-string", "{\"abc", 0, -1, -1, FMT, "unterminated string"},
  {"trailing-garbage", "{} x", 0, -1, -1, FMT, "unexpected 'x' after the header object (at file offset 11)"},
  {"trailing-comma", "{" TA ",}", 8, -1, -1, FMT, "expected '\"'"},
  {"entry-not-object", "{\"a\":5}", 0, -1, -1, FMT, "tensor 'a': expected an object"},
  {"entry-empty", "{\"a\":{}}", 0, -1, -1, FMT, "tensor 'a': empty tensor entry"},
  {"dtype-not-string", "{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "tensor 'a': \"dtype\" must be a string, found '4'"},
  {"unknown-dtype", "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, -1, -1, FMT, "tensor 'a': unsupported dtype \"F8_E4M3\""},
  {"lowercase-dtype", "{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "unsupported dtype \"f32\""},
  {"shape-not-array", "{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "\"shape\" must be an array"},
  {"shape-string-dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "shape[0] must be a non-negative integer"},
  {"negative-dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-2],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "tensor 'a': shape[1] is negative"},
  {"huge-dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "shape[0] is too large"},
  {"fractional-dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "shape[0] is not an integer"},
  {"exponent-dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "shape[0] is not an integer"},
  {"leading-zero-dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "leading zero"},
  {"too-many-dims", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "more than 8 dimensions"},
  {"shape-overflow", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "F32 shape [4294967296,4294967296,16] is too large"},
  {"bytes-overflow", "{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "overflows"},
  {"offsets-mismatch", "{\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[16,1,3,3],\"data_offsets\":[0,100]}}", 100, -1, -1, FMT,
   "<buffer>: tensor 'conv1.weight': data_offsets [0, 100] do not match F32 shape [16,1,3,3] (576 bytes) (at file offset 24)"},
  {"offsets-outside-buffer", T1(""), 4, -1, -1, FMT, "tensor 'a': data_offsets [0, 8] lie outside the 4-byte data buffer"},
  {"offsets-huge", "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[9223372036854775800,9223372036854775807]}}", 8, -1, -1, FMT, "do not match"},
  {"offsets-huge-consistent", "{\"a\":{\"dtype\":\"U8\",\"shape\":[7],\"data_offsets\":[9223372036854775800,9223372036854775807]}}", 8, -1, -1, FMT, "lie outside the 8-byte data buffer"},
  {"offsets-reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, -1, -1, FMT, "end before they begin"},
  {"offsets-three", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", 8, -1, -1, FMT, "exactly 2 entries"},
  {"offsets-one", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}", 8, -1, -1, FMT, "expected ','"},
  {"offsets-negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, -1, -1, FMT, "data_offsets[0] is negative"},
  {"offsets-not-array", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{\"begin\":0}}}", 8, -1, -1, FMT, "must be an array [begin, end]"},
  {"overlap", "{" TA ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, -1, -1, FMT, "tensor 'b': data_offsets [4, 12] overlap tensor 'a' (which ends at 8)"},
  {"overlap-same", "{" TA ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "overlap tensor 'a'"},
  {"overlap-empty-inside", "{" TA ",\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8, -1, -1, FMT, "tensor 'b': data_offsets [4, 4] overlap"},
  {"gap", "{" TA ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20, -1, -1, FMT, "tensor 'b': data_offsets [12, 20] leave a gap of 4 unused bytes at data offset 8"},
  {"gap-at-start", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, -1, -1, FMT, "gap of 4 unused bytes at data offset 0"},
  {"trailing-bytes", "{" TA "}", 16, -1, -1, FMT, "the tensors cover 8 bytes but the data buffer has 16 (8 trailing bytes"},
  {"no-tensors-but-data", "{}", 8, -1, -1, FMT, "cover 0 bytes"},
  {"duplicate-name", "{" TA "," TA "}", 8, -1, -1, FMT, "tensor 'a': duplicate tensor name"},
  {"duplicate-field", "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "field \"dtype\" given twice"},
  {"unknown-field", T1(",\"offsets\":[0,8]"), 8, -1, -1, FMT, "unknown field \"offsets\""},
  {"missing-offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, -1, -1, FMT, "tensor 'a': missing \"data_offsets\""},
  {"missing-dtype", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, -1, -1, FMT, "missing \"dtype\""},
  {"metadata-not-object", "{\"__metadata__\":\"x\"}", 0, -1, -1, FMT, "__metadata__: must be an object of strings"},
  {"metadata-number-value", "{\"__metadata__\":{\"epoch\":3}}", 0, -1, -1, FMT, "__metadata__ 'epoch': value must be a string, found '3'"},
  {"metadata-null-value", "{\"__metadata__\":{\"epoch\":null}}", 0, -1, -1, FMT, "value must be a string"},
  {"metadata-nested", "{\"__metadata__\":{\"cfg\":{\"lr\":\"1\"}}}", 0, -1, -1, FMT, "value must be a string"},
  {"metadata-duplicate-key", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, -1, -1, FMT, "__metadata__ 'k': duplicate metadata key"},
  {"metadata-twice", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, -1, -1, FMT, "\"__metadata__\" given twice"},
  {"invalid-utf8", "{\"\xff\":1}", 0, -1, -1, FMT, "not valid UTF-8 or contains a NUL byte (at file offset 10)"},
  {"nul-in-header", "{}\0     ", 0, 8, -1, FMT, "contains a NUL byte (at file offset 10)"},
  {"nul-escape", "{\"a\\u0000b\":1}", 0, -1, -1, FMT, "NUL character"},
  {"lone-surrogate", "{\"\\ud800\":1}", 0, -1, -1, FMT, "lone high surrogate"},
  {"lone-low-surrogate", "{\"\\udc00x\":1}", 0, -1, -1, FMT, "lone low surrogate"},
  {"bad-escape", "{\"a\\q\":1}", 0, -1, -1, FMT, "invalid escape '\\q'"},
  {"bad-surrogate-pair", "{\"\\ud800\\u0041\":1}", 0, -1, -1, FMT, "high surrogate \\ud800 not followed by a low surrogate"},
  {"bad-u-escape", "{\"\\u12g4\":1}", 0, -1, -1, FMT, "invalid \\u escape"},
  {"truncated-u-escape", "{\"\\u12", 0, -1, -1, FMT, "truncated \\u escape"},
  {"truncated-after-backslash", "{\"a\\", 0, -1, -1, FMT, "unterminated string"},
  {"binary-value", "{\"a\":\x01}", 0, -1, -1, FMT, "tensor 'a': expected an object {\"dtype\", \"shape\", \"data_offsets\"}, found byte 0x01"},
  {"control-char-in-name", "{\"a\nb\":1}", 0, -1, -1, FMT, "control character 0x0a inside a string"},
  {"missing-colon", "{\"a\" 5}", 0, -1, -1, FMT, "expected ':' after the tensor name, found '5'"},
};

/* Builds the file for a case: length field, header, zeroed data, then truncation. */
static GByteArray *
bad_file(const BadCase *c)
{
  size_t jl = strlen(c->json);
  if (strcmp(c->id, "nul-in-header") == 0)
    jl = 8;
  GByteArray *a = g_byte_array_new();
  guint64 n = c->hlen < 0 ? jl : (guint64)c->hlen;
  guint8 prefix[8];
  for (int i = 0; i < 8; i++)
    prefix[i] = (guint8)(n >> (8 * i));
  g_byte_array_append(a, prefix, 8);
  g_byte_array_append(a, (const guint8 *)c->json, (guint)jl);
  for (size_t i = 0; i < c->data_len; i++)
    g_byte_array_append(a, (const guint8 *)"", 1);
  if (c->trunc >= 0)
    g_byte_array_set_size(a, (guint)c->trunc);
  return a;
}

static void
test_malformed(gconstpointer data)
{
  const BadCase *c = data;
  GByteArray *a = bad_file(c);
  GError *error = NULL;

  FrSafetensors *st = fr_safetensors_parse(a->data, a->len, &error);
  g_assert_null(st);
  g_assert_error(error, FR_SAFETENSORS_ERROR, c->code);
  if (!strstr(error->message, c->substr))
    g_error("case %s: message \"%s\" lacks \"%s\"", c->id, error->message, c->substr);
  g_assert_true(g_str_has_prefix(error->message, "<buffer>: "));
  g_clear_error(&error);

  /* same through a file: the message names the file */
  char *name = g_strdup_printf("bad-%s.safetensors", c->id);
  char *path = tmp_path(name);
  g_assert_true(g_file_set_contents(path, (const char *)a->data, a->len, NULL));
  st = fr_safetensors_load(path, &error);
  g_assert_null(st);
  g_assert_error(error, FR_SAFETENSORS_ERROR, c->code);
  g_assert_true(g_str_has_prefix(error->message, path));
  const char *msg_tail = strstr(c->substr, "<buffer>: ");
  g_assert_nonnull(strstr(error->message, msg_tail ? c->substr + strlen("<buffer>: ") : c->substr));
  g_clear_error(&error);
  g_unlink(path);

  g_free(path);
  g_free(name);
  g_byte_array_unref(a);
}

/* Valid oddities the reader must accept. */
static void
test_lenient(void)
{
  static const struct { const char *json; size_t data_len; int n; } ok[] = {
    {"{}", 0, 0},
    {" \t\r\n{ } \n\t  ", 0, 0},
    {"{\"__metadata__\":null}", 0, 0},
    {"{\"__metadata__\":{}}", 0, 0},
    /* fields in any order, whitespace everywhere, escapes in names */
    {"{ \"b\" : { \"data_offsets\" : [ 8 , 16 ] , \"shape\" : [ 2 ] , \"dtype\" : \"F32\" } ,\n"
     "  \"a\\u00E9\\/\\ud83d\\ude00\" : {\"shape\":[2],\"dtype\":\"F32\",\"data_offsets\":[0,8]}}      ", 16, 2},
    /* zero-size tensors anywhere, including several at the same offset */
    {"{\"z1\":{\"dtype\":\"F64\",\"shape\":[0],\"data_offsets\":[0,0]},\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
     "\"z2\":{\"dtype\":\"I32\",\"shape\":[5,0],\"data_offsets\":[3,3]},\"z3\":{\"dtype\":\"BOOL\",\"shape\":[0,9223372036854775807],\"data_offsets\":[3,3]}}", 3, 4},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
    BadCase c = {"ok", ok[i].json, ok[i].data_len, -1, -1, 0, NULL};
    GByteArray *a = bad_file(&c);
    GError *error = NULL;
    FrSafetensors *st = fr_safetensors_parse(a->data, a->len, &error);
    g_assert_no_error(error);
    g_assert_cmpint(fr_safetensors_n_tensors(st), ==, ok[i].n);
    if (i == 4) {
      g_assert_cmpstr(fr_safetensors_nth(st, 0)->name, ==, "a\xc3\xa9/\xf0\x9f\x98\x80"); /* offset order, not header order */
      g_assert_cmpstr(fr_safetensors_nth(st, 1)->name, ==, "b");
    }
    if (i == 5) {
      g_assert_cmpstr(fr_safetensors_nth(st, 0)->name, ==, "z1");
      g_assert_cmpstr(fr_safetensors_nth(st, 1)->name, ==, "a");
      g_assert_cmpstr(fr_safetensors_nth(st, 2)->name, ==, "z2");
      g_assert_cmpstr(fr_safetensors_nth(st, 3)->name, ==, "z3");
      g_assert_cmpuint(fr_safetensors_get(st, "z3")->nbytes, ==, 0);
    }
    fr_safetensors_free(st);
    g_byte_array_unref(a);
  }
}

/* Names in messages are shortened, so a hostile 1 MB name cannot flood a log. */
static void
test_long_name_message(void)
{
  GString *json = g_string_new("{");
  GString *name = g_string_new(NULL);
  for (int i = 0; i < 100000; i++)
    g_string_append(name, "\xc3\xa9");
  for (int k = 0; k < 2; k++)
    g_string_append_printf(json, "%s\"%s\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}", k ? "," : "",
                           name->str);
  g_string_append_c(json, '}');
  BadCase c = {"long", json->str, 0, -1, -1, 0, NULL};
  GByteArray *a = bad_file(&c);
  GError *error = NULL;
  g_assert_null(fr_safetensors_parse(a->data, a->len, &error));
  g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, "...': duplicate tensor name"));
  g_assert_cmpuint(strlen(error->message), <, 400);
  g_assert_true(g_utf8_validate(error->message, -1, NULL));
  g_error_free(error);
  g_byte_array_unref(a);
  g_string_free(name, TRUE);
  g_string_free(json, TRUE);
}

static void
test_load_errors(void)
{
  GError *error = NULL;
  char *missing = tmp_path("does-not-exist.safetensors");
  g_assert_null(fr_safetensors_load(missing, &error));
  g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_IO);
  g_assert_nonnull(strstr(error->message, "does-not-exist.safetensors"));
  g_clear_error(&error);

  g_assert_null(fr_safetensors_load(tmp_dir, &error)); /* a directory */
  g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_IO);
  g_clear_error(&error);

  /* not a regular file: read whole, then parsed as usual */
  if (g_file_test("/dev/null", G_FILE_TEST_EXISTS)) {
    g_assert_null(fr_safetensors_load("/dev/null", &error));
    g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT);
    g_assert_cmpstr(error->message, ==, "/dev/null: file is 0 bytes, too short for the 8-byte header length");
    g_clear_error(&error);
  }

  /* an empty file and a truncated one are format errors */
  char *empty = tmp_path("empty.safetensors");
  g_assert_true(g_file_set_contents(empty, "", 0, NULL));
  g_assert_null(fr_safetensors_load(empty, &error));
  g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT);
  g_clear_error(&error);

  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  float v[4] = {1, 2, 3, 4};
  fr_safetensors_writer_add(w, "v", FR_DTYPE_F32, 1, (const int64_t[]){4}, v);
  GBytes *b = fr_safetensors_writer_to_bytes(w);
  char *cut = tmp_path("cut.safetensors");
  g_assert_true(g_file_set_contents(cut, g_bytes_get_data(b, NULL), (gssize)g_bytes_get_size(b) - 1, NULL));
  g_assert_null(fr_safetensors_load(cut, &error));
  g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, "tensor 'v': data_offsets [0, 16] lie outside the 15-byte data buffer"));
  g_clear_error(&error);

  g_unlink(empty);
  g_unlink(cut);
  g_bytes_unref(b);
  fr_safetensors_writer_free(w);
  g_free(cut);
  g_free(empty);
  g_free(missing);
}

static void
test_save_atomic(void)
{
  char *dir = tmp_path("atomic");
  g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
  char *path = g_build_filename(dir, "model.safetensors", NULL);
  g_assert_true(g_file_set_contents(path, "old contents", -1, NULL));

  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  double d[2] = {1.0, -2.0};
  fr_safetensors_writer_add(w, "d", FR_DTYPE_F64, 1, (const int64_t[]){2}, d);
  GError *error = NULL;
  g_assert_true(fr_safetensors_writer_save(w, path, &error));
  g_assert_no_error(error);

  /* replaced in place, no temporary file left behind */
  GDir *gd = g_dir_open(dir, 0, NULL);
  int entries = 0;
  for (const char *n; (n = g_dir_read_name(gd)); entries++)
    g_assert_cmpstr(n, ==, "model.safetensors");
  g_dir_close(gd);
  g_assert_cmpint(entries, ==, 1);
  FrSafetensors *st = fr_safetensors_load(path, &error);
  g_assert_no_error(error);
  float f[2];
  g_assert_true(fr_safetensors_read_f32(st, "d", 1, (const int64_t[]){2}, f, &error));
  g_assert_cmpfloat(f[0], ==, 1.0f);
  g_assert_cmpfloat(f[1], ==, -2.0f);
  fr_safetensors_free(st);

  /* an unwritable destination is an IO error naming the path */
  char *bad = g_build_filename(dir, "no-such-dir", "model.safetensors", NULL);
  g_assert_false(fr_safetensors_writer_save(w, bad, &error));
  g_assert_error(error, FR_SAFETENSORS_ERROR, FR_SAFETENSORS_ERROR_IO);
  g_assert_true(g_str_has_prefix(error->message, bad));
  g_clear_error(&error);

  fr_safetensors_writer_free(w);
  g_unlink(path);
  g_rmdir(dir);
  g_free(bad);
  g_free(path);
  g_free(dir);
}

static void
test_writer_misuse(void)
{
  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  guint8 b[2] = {1, 2};
  fr_safetensors_writer_add(w, "x", FR_DTYPE_U8, 1, (const int64_t[]){2}, b);
  g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*tensor 'x' added twice*");
  fr_safetensors_writer_add(w, "x", FR_DTYPE_U8, 1, (const int64_t[]){2}, b);
  g_test_assert_expected_messages();
  g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*negative dim*");
  fr_safetensors_writer_add(w, "y", FR_DTYPE_U8, 1, (const int64_t[]){-2}, b);
  g_test_assert_expected_messages();
  g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*too large*");
  fr_safetensors_writer_add(w, "z", FR_DTYPE_F64, 3, (const int64_t[]){1 << 30, 1 << 30, 1 << 30}, b);
  g_test_assert_expected_messages();
  g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*__metadata__*");
  fr_safetensors_writer_add(w, "__metadata__", FR_DTYPE_U8, 1, (const int64_t[]){2}, b);
  g_test_assert_expected_messages();

  GBytes *bytes = fr_safetensors_writer_to_bytes(w);
  FrSafetensors *st = fr_safetensors_parse(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), NULL);
  g_assert_cmpint(fr_safetensors_n_tensors(st), ==, 1);
  fr_safetensors_free(st);
  g_bytes_unref(bytes);
  fr_safetensors_writer_free(w);
}

/* ---- the PyTorch-made reference file ---------------------------------------------------------- */

static const char *const ref_order[] = {
  "long", "double", "conv1.bias", "conv1.weight", "empty", "scalar", "unicode.\xc3\xa9", "int",
  "bhalf", "half", "short", "byte", "ubyte", "mask",
};
static const char *const ref_meta_keys[] = {"format", "note", "producer"};

/* Re-writes every tensor and metadata entry of st with our writer. */
static GBytes *
rewrite(const FrSafetensors *st, FrSafetensorsWriter **wout)
{
  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  for (int i = 0; i < fr_safetensors_n_tensors(st); i++) {
    const FrSafeTensor *t = fr_safetensors_nth(st, i);
    fr_safetensors_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
  }
  for (size_t i = 0; i < G_N_ELEMENTS(ref_meta_keys); i++)
    fr_safetensors_writer_set_metadata(w, ref_meta_keys[i], fr_safetensors_get_metadata(st, ref_meta_keys[i]));
  *wout = w;
  return fr_safetensors_writer_to_bytes(w);
}

static void
test_reference(void)
{
  char *path = fr_test_data_path("safetensors", "reference.safetensors");
  if (!path)
    return;
  GError *error = NULL;
  FrSafetensors *st = fr_safetensors_load(path, &error);
  g_assert_no_error(error);

  g_assert_cmpint(fr_safetensors_n_tensors(st), ==, G_N_ELEMENTS(ref_order));
  for (size_t i = 0; i < G_N_ELEMENTS(ref_order); i++)
    g_assert_cmpstr(fr_safetensors_nth(st, (int)i)->name, ==, ref_order[i]);
  g_assert_cmpstr(fr_safetensors_get_metadata(st, "format"), ==, "pt");
  g_assert_cmpstr(fr_safetensors_get_metadata(st, "note"), ==,
                  "quote \" backslash \\ tab \t newline \n unicode \xc3\xa9\xe2\x9c\x93");

  float f[64];
  g_assert_true(fr_safetensors_read_f32(st, "conv1.weight", 4, (const int64_t[]){4, 1, 3, 3}, f, &error));
  for (int i = 0; i < 36; i++)
    g_assert_cmpfloat(f[i], ==, (float)(i - 18) / 8);
  g_assert_true(fr_safetensors_read_f32(st, "conv1.bias", 1, (const int64_t[]){4}, f, &error));
  g_assert_cmpfloat(f[0], ==, 0.5f);
  g_assert_cmpfloat(f[1], ==, -1.25f);
  g_assert_cmpfloat(f[3], ==, 1e-3f);

  const float half[] = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 0x1p-14f, 0x1p-24f, INFINITY, NAN};
  g_assert_true(fr_safetensors_read_f32(st, "half", 1, (const int64_t[]){9}, f, &error));
  for (int i = 0; i < 9; i++)
    g_assert_true(same_float(f[i], half[i]));
  const float bhalf[] = {1.0f, -2.0f, 3.140625f, 0x1p127f, -INFINITY, 0x1p-133f};
  g_assert_true(fr_safetensors_read_f32(st, "bhalf", 2, (const int64_t[]){2, 3}, f, &error));
  for (int i = 0; i < 6; i++)
    g_assert_true(same_float(f[i], bhalf[i]));
  const float dbl[] = {(float)0.1, (float)-1e-3, INFINITY, 3.5f, 0.0f, -7.25f};
  g_assert_true(fr_safetensors_read_f32(st, "double", 2, (const int64_t[]){2, 3}, f, &error));
  for (int i = 0; i < 6; i++)
    g_assert_true(same_float(f[i], dbl[i]));
  g_assert_true(fr_safetensors_read_f32(st, "scalar", 0, NULL, f, &error));
  g_assert_cmpfloat(f[0], ==, 2.5f);
  g_assert_true(fr_safetensors_read_f32(st, "empty", 2, (const int64_t[]){0, 3}, NULL, &error));
  g_assert_true(fr_safetensors_read_f32(st, "unicode.\xc3\xa9", 1, (const int64_t[]){1}, f, &error));
  g_assert_cmpfloat(f[0], ==, 1.0f);
  g_assert_no_error(error);

  const FrSafeTensor *t = fr_safetensors_get(st, "long");
  int64_t l[3];
  memcpy(l, t->data, sizeof l);
  g_assert_cmpint(l[0], ==, -1);
  g_assert_cmpint(l[1], ==, G_GINT64_CONSTANT(1) << 40);
  g_assert_cmpint(l[2], ==, 7);
  t = fr_safetensors_get(st, "int");
  int32_t iv[4];
  memcpy(iv, t->data, sizeof iv);
  g_assert_cmpint(iv[0], ==, G_MININT32);
  g_assert_cmpint(iv[1], ==, G_MAXINT32);
  g_assert_cmpint(iv[3], ==, 42);
  t = fr_safetensors_get(st, "short");
  g_assert_cmpint(((const int16_t *)t->data)[0], ==, -32768);
  t = fr_safetensors_get(st, "byte");
  g_assert_cmpmem(t->data, t->nbytes, "\x80\x7f\x00\xff", 4);
  t = fr_safetensors_get(st, "ubyte");
  g_assert_cmpmem(t->data, t->nbytes, "\x00\xff\x11", 3);
  t = fr_safetensors_get(st, "mask");
  g_assert_cmpint(t->dtype, ==, FR_DTYPE_BOOL);
  g_assert_cmpmem(t->data, t->nbytes, "\x01\x00\x00\x01", 4);

  /* our writer reproduces the file byte for byte */
  FrSafetensorsWriter *w;
  GBytes *ours = rewrite(st, &w);
  char *contents;
  gsize len;
  g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
  g_assert_cmpmem(g_bytes_get_data(ours, NULL), g_bytes_get_size(ours), contents, len);

  g_free(contents);
  g_bytes_unref(ours);
  fr_safetensors_writer_free(w);
  fr_safetensors_free(st);
  g_free(path);
}

/* The reference script's reader (PyTorch) reads a file our writer saved. */
static void
test_python_reads_ours(void)
{
  const char *python = "/usr/bin/python3";
  if (!g_file_test(python, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip("no /usr/bin/python3");
    return;
  }
  char *ref = fr_test_data_path("safetensors", "reference.safetensors");
  char *script = fr_test_data_path("safetensors", "make_reference.py");
  if (!ref || !script)
    return;
  GError *error = NULL;
  FrSafetensors *st = fr_safetensors_load(ref, &error);
  g_assert_no_error(error);
  FrSafetensorsWriter *w;
  GBytes *unused = rewrite(st, &w);
  char *out = tmp_path("ours.safetensors");
  g_assert_true(fr_safetensors_writer_save(w, out, &error));
  g_assert_no_error(error);

  const char *argv[] = {python, script, "--check", out, NULL};
  char *sout = NULL, *serr = NULL;
  int status = 0;
  g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &sout, &serr, &status, &error));
  g_assert_no_error(error);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
    g_test_skip("PyTorch not available to the reference script");
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    g_error("make_reference.py --check failed (status %d):\n%s%s", status, sout, serr);
  } else {
    g_test_message("%s", sout);
  }

  g_unlink(out);
  g_free(sout);
  g_free(serr);
  g_free(out);
  g_bytes_unref(unused);
  fr_safetensors_writer_free(w);
  fr_safetensors_free(st);
  g_free(script);
  g_free(ref);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  GError *error = NULL;
  tmp_dir = g_dir_make_tmp("test-safetensors-XXXXXX", &error);
  g_assert_no_error(error);

  g_test_add_func("/safetensors/dtype", test_dtype);
  g_test_add_func("/safetensors/roundtrip", test_roundtrip);
  g_test_add_func("/safetensors/python-layout", test_python_layout);
  g_test_add_func("/safetensors/read-f32", test_read_f32);
  g_test_add_func("/safetensors/read-f32-errors", test_read_f32_errors);
  g_test_add_func("/safetensors/lenient", test_lenient);
  g_test_add_func("/safetensors/long-name-message", test_long_name_message);
  g_test_add_func("/safetensors/load-errors", test_load_errors);
  g_test_add_func("/safetensors/save-atomic", test_save_atomic);
  g_test_add_func("/safetensors/writer-misuse", test_writer_misuse);
  g_test_add_func("/safetensors/reference", test_reference);
  g_test_add_func("/safetensors/python-reads-ours", test_python_reads_ours);
  for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
    char *p = g_strdup_printf("/safetensors/malformed/%s", bad_cases[i].id);
    g_test_add_data_func(p, &bad_cases[i], test_malformed);
    g_free(p);
  }

  int rc = g_test_run();
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
