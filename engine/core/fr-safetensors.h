/* fr-safetensors.h: reader and writer for the safetensors format.
 *
 * File layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON (possibly padded with
 * spaces), then the data buffer:
 *   {"__metadata__": {"key": "value", ...},
 *    "name": {"dtype": "F32", "shape": [16, 1, 3, 3], "data_offsets": [begin, end]}, ...}
 * data_offsets are relative to the start of the data buffer. Tensor data is stored (and handed
 * out) little-endian, which is the host order on every platform we build for (x86-64, arm64).
 *
 * The reader is strict and never trusts the file: it checks the header length, the JSON syntax,
 * every field's type, dtype, shape (at most FR_ST_MAX_DIMS non-negative dims whose byte size
 * does not overflow), that data_offsets match dtype*shape, and that the tensors cover the data
 * buffer exactly, without gaps or overlaps. Names and metadata keys must be unique. Any problem is
 * a GError saying what is wrong and where (file, tensor name, byte offset). */
#pragma once
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum { FR_DTYPE_F32, FR_DTYPE_F16, FR_DTYPE_BF16, FR_DTYPE_F64, FR_DTYPE_I64, FR_DTYPE_I32,
               FR_DTYPE_I16, FR_DTYPE_I8, FR_DTYPE_U8, FR_DTYPE_BOOL } FrDType;

#define FR_ST_MAX_DIMS 8

/* One tensor of a loaded file. Owned by the FrSafetensors it came from; `data` points into its
 * private copy of the data buffer (nbytes bytes, may be unaligned if the file's offsets are). */
typedef struct {
  const char *name;
  FrDType dtype;
  int ndim;
  int64_t shape[FR_ST_MAX_DIMS];
  const void *data;
  size_t nbytes;
} FrSafeTensor;

typedef struct FrSafetensors FrSafetensors;

#define FR_SAFETENSORS_ERROR (fr_safetensors_error_quark())
GQuark fr_safetensors_error_quark(void);

typedef enum {
  FR_SAFETENSORS_ERROR_IO,      /* the file could not be opened / read / written */
  FR_SAFETENSORS_ERROR_FORMAT,  /* malformed file, or read_f32 on a non-float dtype */
  FR_SAFETENSORS_ERROR_MISSING, /* read_f32: no tensor of that name */
  FR_SAFETENSORS_ERROR_SHAPE,   /* read_f32: the tensor's shape is not the expected one */
} FrSafetensorsError;

size_t fr_dtype_size(FrDType t);       /* bytes per element; 0 for an invalid value */
const char *fr_dtype_name(FrDType t);  /* "F32", "BF16", ...; "?" for an invalid value */

/* Reading. Errors mention the path given (or "<buffer>" for parse). */
FrSafetensors *fr_safetensors_load(const char *path, GError **error);                 /* whole file */
FrSafetensors *fr_safetensors_parse(const void *buf, size_t len, GError **error);     /* copies buf */
void fr_safetensors_free(FrSafetensors *st);
int fr_safetensors_n_tensors(const FrSafetensors *st);
const FrSafeTensor *fr_safetensors_nth(const FrSafetensors *st, int i);               /* in file order of offsets */
const FrSafeTensor *fr_safetensors_get(const FrSafetensors *st, const char *name);    /* NULL if absent */
const char *fr_safetensors_get_metadata(const FrSafetensors *st, const char *key);    /* NULL if absent */
/* A new table holding copies of every metadata key and value. */
GHashTable *fr_safetensors_dup_metadata(const FrSafetensors *st);

/* Copies a tensor into dst as float32 (F32, F16, BF16, F64 accepted), checking that its shape equals
 * (ndim, shape); a clear FR_SAFETENSORS_ERROR_SHAPE / _MISSING error otherwise (and _FORMAT for a
 * non-float dtype). dst holds the product of shape elements. */
gboolean fr_safetensors_read_f32(const FrSafetensors *st, const char *name, int ndim, const int64_t *shape, float *dst, GError **error);

/* Writing. Output matches the Python safetensors library: "__metadata__" first (keys sorted),
 * then tensors in data order, sorted by dtype alignment (largest first) then name; header padded
 * with spaces to a multiple of 8 bytes so every tensor is naturally aligned in the file. */
typedef struct FrSafetensorsWriter FrSafetensorsWriter;
FrSafetensorsWriter *fr_safetensors_writer_new(void);
/* Copies data (product(shape) * fr_dtype_size(dtype) bytes, little-endian). Names must be valid
 * UTF-8, unique and not "__metadata__"; violations are g_critical()s and the tensor is ignored. */
void fr_safetensors_writer_add(FrSafetensorsWriter *w, const char *name, FrDType dtype, int ndim, const int64_t *shape, const void *data); /* copies data */
void fr_safetensors_writer_set_metadata(FrSafetensorsWriter *w, const char *key, const char *value); /* replaces */
gboolean fr_safetensors_writer_save(FrSafetensorsWriter *w, const char *path, GError **error);  /* atomic: temp file in same folder + fsync + rename */
GBytes *fr_safetensors_writer_to_bytes(FrSafetensorsWriter *w);  /* the whole file in memory */
void fr_safetensors_writer_free(FrSafetensorsWriter *w);

G_END_DECLS
