/* fr-mtx.h: Matrix Market coordinate files (.mtx, or .mtx.gz) to and from FrCsr.
 *
 * Reading accepts "%%MatrixMarket matrix coordinate {real|double|integer|pattern}
 * {general|symmetric|skew-symmetric}" (keywords case-insensitive), comment lines (%) and blank lines
 * anywhere after the banner, LF or CRLF line endings. Symmetric files are expanded (each off-diagonal
 * entry mirrored; skew-symmetric mirrors negated). Pattern entries get 1.0. Indices are 1-based in the
 * file and 0-based in the FrCsr.
 *
 * The reader is strict: every problem (bad banner or size line, unsupported array/complex/hermitian
 * files, too few or too many entries, indices outside 1..n, duplicate entries, malformed numbers,
 * anything after the last field of a line) is a FR_SPARSE_ERROR_FORMAT error, and sizes beyond the
 * limits below a FR_SPARSE_ERROR_TOO_LARGE one. Messages read "LABEL: line N: what is wrong". */
#pragma once
#include "fr-csr.h"

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum { FR_MTX_REAL, FR_MTX_INTEGER, FR_MTX_PATTERN } FrMtxField;
typedef enum { FR_MTX_GENERAL, FR_MTX_SYMMETRIC, FR_MTX_SKEW_SYMMETRIC } FrMtxSymmetry;

/* What the file declares; stored_entries is the count on the size line (before expansion). */
typedef struct {
  FrMtxField field;
  FrMtxSymmetry symmetry;
  int64_t nrows, ncols, stored_entries;
} FrMtxInfo;

#define FR_MTX_MAX_DIM ((int64_t)G_MAXINT32)      /* rows and columns */
#define FR_MTX_MAX_ENTRIES ((int64_t)1 << 31)     /* declared (stored) entries */
#define FR_MTX_DEFAULT_MEMORY_GUARD ((guint64)8 << 30)

/* Reads PATH, gzip-compressed or not (decided by the gzip magic bytes, not the name). info_out
 * (nullable) is filled on success. Errors name PATH. */
FrCsr *fr_mtx_load(const char *path, FrMtxInfo *info_out, GError **error);

/* Parses LEN bytes of TEXT (need not be NUL-terminated; never read beyond LEN). LABEL (nullable)
 * names the input in error messages. */
FrCsr *fr_mtx_parse(const char *text, size_t len, const char *label, FrMtxInfo *info_out, GError **error);

/* Writes M as "coordinate real general" (or "pattern general" when PATTERN) in row-major order,
 * values as %.17g (so they read back bit-exactly). Atomic: written to a temporary file next to PATH,
 * then renamed over it. gzip-compressed when PATH ends in ".gz". M must be valid with at least one
 * row and column (what the reader accepts). */
gboolean fr_mtx_save(const FrCsr *m, const char *path, gboolean pattern, GError **error);

/* The text fr_mtx_save would write (uncompressed), NUL-terminated; *len_out (nullable) gets its
 * length without the NUL. Free with g_free. */
char *fr_mtx_format(const FrCsr *m, gboolean pattern, size_t *len_out, GError **error);

/* Readers refuse, before allocating, any file whose declared sizes would need more memory than this
 * (default FR_MTX_DEFAULT_MEMORY_GUARD; also the limit on decompressed .gz size). Process-wide; set it
 * before reading, e.g. lower in fuzzers and tests. */
void fr_mtx_set_memory_guard(guint64 bytes);
guint64 fr_mtx_get_memory_guard(void);

G_END_DECLS
