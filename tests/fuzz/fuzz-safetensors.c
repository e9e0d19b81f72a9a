/* fuzz-safetensors.c: libFuzzer target for the safetensors reader (and, on inputs it accepts, the
 * writer). Any crash, sanitizer report or failed CHECK is a bug: malformed input must only ever
 * produce a GError. Built both as a real libFuzzer binary (-Dfuzzing=true with clang) and linked
 * with fuzz-driver.c as the 'fuzz-safetensors' test. */
#include "fr-safetensors.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);            \
      abort();                                                                            \
    }                                                                                     \
  } while (0)

static volatile unsigned sink; /* keeps the byte walks from being optimised away */

static void
walk(const FrSafetensors *st)
{
  int n = fr_safetensors_n_tensors(st);
  CHECK(n >= 0);
  const uint8_t *prev_end = NULL;
  for (int i = 0; i < n; i++) {
    const FrSafeTensor *t = fr_safetensors_nth(st, i);
    CHECK(t && t->name && t->data);
    CHECK(fr_safetensors_get(st, t->name) == t);
    CHECK(t->ndim >= 0 && t->ndim <= FR_ST_MAX_DIMS);
    size_t esize = fr_dtype_size(t->dtype);
    CHECK(esize > 0);
    uint64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
      CHECK(t->shape[d] >= 0);
      numel *= (uint64_t)t->shape[d]; /* cannot overflow unless a dim is 0, then nbytes is 0 */
    }
    CHECK(t->nbytes == numel * esize || (t->nbytes == 0 && numel == 0));
    /* tensors tile the buffer in order */
    CHECK(prev_end == NULL || (const uint8_t *)t->data == prev_end);
    prev_end = (const uint8_t *)t->data + t->nbytes;
    unsigned acc = 0;
    for (size_t b = 0; b < t->nbytes; b++)
      acc += ((const uint8_t *)t->data)[b];
    sink += acc;
    (void)fr_safetensors_get_metadata(st, t->name);

    /* read_f32 with the right shape works exactly for the float dtypes */
    size_t cnt = t->nbytes / esize;
    float *dst = malloc((cnt ? cnt : 1) * sizeof(float));
    CHECK(dst);
    GError *error = NULL;
    gboolean ok = fr_safetensors_read_f32(st, t->name, t->ndim, t->shape, dst, &error);
    gboolean is_float = t->dtype == FR_DTYPE_F32 || t->dtype == FR_DTYPE_F16 || t->dtype == FR_DTYPE_BF16 ||
                        t->dtype == FR_DTYPE_F64;
    CHECK(ok == is_float);
    CHECK(ok == (error == NULL));
    if (error) {
      CHECK(error->domain == FR_SAFETENSORS_ERROR && error->code == FR_SAFETENSORS_ERROR_FORMAT);
      g_error_free(error);
      error = NULL;
    }
    /* and a wrong shape is a SHAPE error */
    int64_t other[FR_ST_MAX_DIMS + 1];
    memcpy(other, t->shape, sizeof t->shape);
    other[t->ndim] = 1;
    CHECK(!fr_safetensors_read_f32(st, t->name, t->ndim < FR_ST_MAX_DIMS ? t->ndim + 1 : t->ndim - 1, other, dst,
                                   &error));
    CHECK(error && error->code == FR_SAFETENSORS_ERROR_SHAPE);
    g_error_free(error);
    free(dst);
  }
  static const char *const keys[] = {"format", "__metadata__", "", "producer", "note"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    const char *v = fr_safetensors_get_metadata(st, keys[k]);
    if (v)
      sink += (unsigned)strlen(v);
  }
  GError *error = NULL;
  CHECK(!fr_safetensors_read_f32(st, "\x01no such tensor", 0, NULL, NULL, &error));
  CHECK(error && error->code == FR_SAFETENSORS_ERROR_MISSING);
  g_error_free(error);
}

/* What the reader accepted, the writer writes back and the reader accepts again, unchanged. */
static void
roundtrip(const FrSafetensors *st)
{
  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  int n = fr_safetensors_n_tensors(st);
  for (int i = 0; i < n; i++) {
    const FrSafeTensor *t = fr_safetensors_nth(st, i);
    fr_safetensors_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
  }
  GBytes *bytes = fr_safetensors_writer_to_bytes(w);
  GError *error = NULL;
  FrSafetensors *again = fr_safetensors_parse(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), &error);
  if (!again)
    fprintf(stderr, "re-parse failed: %s\n", error->message);
  CHECK(again);
  CHECK(fr_safetensors_n_tensors(again) == n);
  for (int i = 0; i < n; i++) {
    const FrSafeTensor *a = fr_safetensors_nth(st, i), *b = fr_safetensors_get(again, a->name);
    CHECK(b && b->dtype == a->dtype && b->ndim == a->ndim && b->nbytes == a->nbytes);
    CHECK(memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) == 0);
    CHECK(a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0);
  }
  fr_safetensors_free(again);
  g_bytes_unref(bytes);
  fr_safetensors_writer_free(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static gboolean inited;
  if (!inited) {
    /* a g_return_if_fail() tripping inside the library is a bug too */
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_FATAL_MASK);
    inited = TRUE;
  }
  GError *error = NULL;
  FrSafetensors *st = fr_safetensors_parse(data, size, &error);
  if (!st) {
    CHECK(error != NULL);
    CHECK(error->domain == FR_SAFETENSORS_ERROR);
    CHECK(error->code == FR_SAFETENSORS_ERROR_FORMAT);
    CHECK(g_str_has_prefix(error->message, "<buffer>: "));
    CHECK(g_utf8_validate(error->message, -1, NULL));
    g_error_free(error);
    return 0;
  }
  CHECK(error == NULL);
  walk(st);
  roundtrip(st);
  fr_safetensors_free(st);
  return 0;
}
