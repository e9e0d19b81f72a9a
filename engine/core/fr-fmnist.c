/* fr-fmnist.c: Fashion-MNIST IDX reader (gzip via zlib, or plain files). */
#include "fr-fmnist.h"

#include "fr-config.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

G_DEFINE_QUARK(fr-fmnist-error-quark, fr_fmnist_error)

const char *const fr_fmnist_class_names[10] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

#define FMNIST_PACKAGE "dataset-fashion-mnist"
#define IDX_MAGIC_LABELS 0x00000801u /* unsigned byte data, 1 dimension */
#define IDX_MAGIC_IMAGES 0x00000803u /* unsigned byte data, 3 dimensions */
#define IDX_MAX_N 10000000u
#define IDX_MAX_SIDE 4096u
#define READ_CHUNK (1u << 30)

typedef struct {
  gzFile gz;
  char *path;
} IdxFile;

static void idx_close(IdxFile *f) {
  if (f->gz) gzclose(f->gz);
  g_free(f->path);
  f->gz = NULL;
  f->path = NULL;
}

/* Finds DIR/BASE.gz, else DIR/BASE, and opens it. */
static gboolean idx_open(IdxFile *f, const char *dir, const char *base, GError **error) {
  char *gzname = g_strconcat(base, ".gz", NULL);
  char *gzpath = g_build_filename(dir, gzname, NULL);
  char *plain = g_build_filename(dir, base, NULL);
  char *path = NULL;
  if (g_file_test(gzpath, G_FILE_TEST_IS_REGULAR)) {
    path = gzpath;
    g_free(plain);
    g_free(gzname);
  } else if (g_file_test(plain, G_FILE_TEST_IS_REGULAR)) {
    path = plain;
    g_free(gzpath);
    g_free(gzname);
  } else {
    g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_MISSING,
                "Fashion-MNIST not found at %s (no %s): install it with `sudo apt install %s`",
                dir, gzname, FMNIST_PACKAGE);
    g_free(gzname);
    g_free(gzpath);
    g_free(plain);
    return FALSE;
  }
  gzFile gz = gzopen(path, "rb");
  if (!gz) {
    int e = errno;
    g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_MISSING,
                "Fashion-MNIST file %s cannot be opened (%s): reinstall it with "
                "`sudo apt install --reinstall %s`",
                path, e ? g_strerror(e) : "out of memory", FMNIST_PACKAGE);
    g_free(path);
    return FALSE;
  }
  gzbuffer(gz, 256 * 1024);
  f->gz = gz;
  f->path = path;
  return TRUE;
}

/* zlib's message, without the "path: " it puts in front. */
static const char *gz_message(IdxFile *f, int *errnum) {
  const char *msg = gzerror(f->gz, errnum);
  if (*errnum == Z_ERRNO) return g_strerror(errno);
  gsize n = strlen(f->path);
  if (msg && strncmp(msg, f->path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') msg += n + 2;
  return msg ? msg : "unknown zlib error";
}

/* Reads exactly len bytes; what names the part being read for the error message. */
static gboolean idx_read(IdxFile *f, void *buf, guint64 len, const char *what, GError **error) {
  guint8 *p = buf;
  guint64 got = 0;
  while (got < len) {
    guint64 want = MIN(len - got, (guint64)READ_CHUNK);
    int r = gzread(f->gz, p + got, (unsigned)want);
    if (r <= 0) break;
    got += (guint64)r;
  }
  if (got == len) return TRUE;
  int errnum = Z_OK;
  const char *msg = gz_message(f, &errnum);
  if (errnum != Z_OK && errnum != Z_STREAM_END)
    g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_FORMAT,
                "%s: corrupt or truncated gzip data while reading the %s (%s; %" G_GUINT64_FORMAT
                " of %" G_GUINT64_FORMAT " bytes read)",
                f->path, what, msg, got, len);
  else
    g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_FORMAT,
                "%s: truncated: expected %" G_GUINT64_FORMAT " bytes of %s, found only %" G_GUINT64_FORMAT,
                f->path, len, what, got);
  return FALSE;
}

/* After the payload: the file (and its gzip stream, CRC included) must end here. */
static gboolean idx_expect_end(IdxFile *f, GError **error) {
  guint8 extra;
  int r = gzread(f->gz, &extra, 1);
  int errnum = Z_OK;
  const char *msg = gz_message(f, &errnum);
  if (r > 0) {
    g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_FORMAT,
                "%s: unexpected trailing data after the declared contents", f->path);
    return FALSE;
  }
  if (r < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
    g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_FORMAT,
                "%s: corrupt or truncated gzip data at the end of the file (%s)", f->path, msg);
    return FALSE;
  }
  return TRUE;
}

static guint32 be32(const guint8 *b) {
  return ((guint32)b[0] << 24) | ((guint32)b[1] << 16) | ((guint32)b[2] << 8) | (guint32)b[3];
}

/* Reads the magic and ndims dimensions of an IDX header. */
static gboolean idx_header(IdxFile *f, guint32 magic, guint32 *dims, int ndims, GError **error) {
  guint8 hdr[16];
  /* The magic first, so that a wrong kind of file is named as such even when it is short. */
  if (!idx_read(f, hdr, 4, "IDX header", error)) return FALSE;
  guint32 m = be32(hdr);
  if (m != magic) {
    g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_FORMAT,
                "%s: not an IDX %s file (magic 0x%08x, expected 0x%08x)", f->path,
                magic == IDX_MAGIC_IMAGES ? "image" : "label", m, magic);
    return FALSE;
  }
  if (!idx_read(f, hdr + 4, 4 * (guint64)ndims, "IDX dimensions", error)) return FALSE;
  for (int i = 0; i < ndims; i++) dims[i] = be32(hdr + 4 + 4 * i);
  if (dims[0] < 1 || dims[0] > IDX_MAX_N) {
    g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_FORMAT,
                "%s: implausible item count %u (allowed 1..%u)", f->path, dims[0], IDX_MAX_N);
    return FALSE;
  }
  for (int i = 1; i < ndims; i++) {
    if (dims[i] < 1 || dims[i] > IDX_MAX_SIDE) {
      g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_FORMAT,
                  "%s: implausible image size %ux%u (each side must be 1..%u)", f->path, dims[1],
                  dims[2], IDX_MAX_SIDE);
      return FALSE;
    }
  }
  return TRUE;
}

void fr_fmnist_free(FrFmnist *d) {
  if (!d) return;
  g_free(d->pixels);
  g_free(d->labels);
  g_free(d);
}

FrFmnist *fr_fmnist_load(const char *dir, gboolean train, GError **error) {
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (!dir) {
    const char *env = g_getenv("FR_FMNIST_DIR");
    dir = (env && *env) ? env : FR_FMNIST_DIR;
  }
  const char *split = train ? "train" : "t10k";
  char *img_base = g_strdup_printf("%s-images-idx3-ubyte", split);
  char *lab_base = g_strdup_printf("%s-labels-idx1-ubyte", split);
  IdxFile img = { 0 }, lab = { 0 };
  FrFmnist *d = NULL;
  guint32 idims[3], ldims[1];

  /* Open and check both headers before reading any payload. */
  if (!idx_open(&img, dir, img_base, error) || !idx_open(&lab, dir, lab_base, error)) goto out;
  if (!idx_header(&img, IDX_MAGIC_IMAGES, idims, 3, error)) goto out;
  if (!idx_header(&lab, IDX_MAGIC_LABELS, ldims, 1, error)) goto out;
  if (idims[0] != ldims[0]) {
    g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_FORMAT,
                "Fashion-MNIST in %s is inconsistent: %s holds %u images but %s holds %u labels",
                dir, img.path, idims[0], lab.path, ldims[0]);
    goto out;
  }

  d = g_new0(FrFmnist, 1);
  d->n = (int)idims[0];
  d->rows = (int)idims[1];
  d->cols = (int)idims[2];

  d->labels = g_malloc((gsize)d->n);
  if (!idx_read(&lab, d->labels, (guint64)d->n, "labels", error) || !idx_expect_end(&lab, error))
    goto fail;
  for (int i = 0; i < d->n; i++) {
    if (d->labels[i] >= 10) {
      g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_FORMAT,
                  "%s: label %u of item %d is out of range (0..9)", lab.path, d->labels[i], i);
      goto fail;
    }
  }

  guint64 bytes = (guint64)d->n * (guint64)d->rows * (guint64)d->cols;
  if (bytes > G_MAXSIZE || !(d->pixels = g_try_malloc((gsize)bytes))) {
    g_set_error(error, FR_FMNIST_ERROR, FR_FMNIST_ERROR_FORMAT,
                "%s: %u images of %ux%u (%" G_GUINT64_FORMAT " bytes) do not fit in memory",
                img.path, idims[0], idims[1], idims[2], bytes);
    goto fail;
  }
  if (!idx_read(&img, d->pixels, bytes, "pixel data", error) || !idx_expect_end(&img, error))
    goto fail;
  goto out;

fail:
  fr_fmnist_free(d);
  d = NULL;
out:
  idx_close(&img);
  idx_close(&lab);
  g_free(img_base);
  g_free(lab_base);
  return d;
}
