/* test-fmnist.c: the Fashion-MNIST IDX reader, on the Debian data set and on hand-made files. */
#include "fr-fmnist.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <zlib.h>

/* ---- helpers ---------------------------------------------------------------------------------- */

typedef struct {
  char *dir;
} TmpDir;

static void tmp_setup(TmpDir *t, gconstpointer data) {
  GError *err = NULL;
  t->dir = g_dir_make_tmp("fr-fmnist-XXXXXX", &err);
  g_assert_no_error(err);
}

static void tmp_teardown(TmpDir *t, gconstpointer data) {
  GDir *d = g_dir_open(t->dir, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name(d))) {
      char *p = g_build_filename(t->dir, name, NULL);
      g_remove(p);
      g_free(p);
    }
    g_dir_close(d);
  }
  g_rmdir(t->dir);
  g_free(t->dir);
}

static void put_be32(GByteArray *b, guint32 v) {
  guint8 x[4] = { (guint8)(v >> 24), (guint8)(v >> 16), (guint8)(v >> 8), (guint8)v };
  g_byte_array_append(b, x, 4);
}

/* IDX image file: n_declared in the header, n_written images of pixel pattern (i*7 + k) & 0xff. */
static GByteArray *make_images(guint32 magic, guint32 n_declared, guint32 rows, guint32 cols,
                               guint32 n_written) {
  GByteArray *b = g_byte_array_new();
  put_be32(b, magic);
  put_be32(b, n_declared);
  put_be32(b, rows);
  put_be32(b, cols);
  for (guint32 i = 0; i < n_written; i++)
    for (guint32 k = 0; k < rows * cols; k++) {
      guint8 v = (guint8)((i * 7 + k) & 0xff);
      g_byte_array_append(b, &v, 1);
    }
  return b;
}

static GByteArray *make_labels(guint32 magic, guint32 n_declared, guint32 n_written) {
  GByteArray *b = g_byte_array_new();
  put_be32(b, magic);
  put_be32(b, n_declared);
  for (guint32 i = 0; i < n_written; i++) {
    guint8 v = (guint8)(i % 10);
    g_byte_array_append(b, &v, 1);
  }
  return b;
}

static char *write_plain(const char *dir, const char *name, GByteArray *b) {
  char *path = g_build_filename(dir, name, NULL);
  GError *err = NULL;
  g_file_set_contents(path, (const char *)b->data, (gssize)b->len, &err);
  g_assert_no_error(err);
  g_byte_array_unref(b);
  return path;
}

/* Writes b gzip-compressed to dir/name.gz; returns the path. */
static char *write_gz(const char *dir, const char *name, GByteArray *b) {
  char *file = g_strconcat(name, ".gz", NULL);
  char *path = g_build_filename(dir, file, NULL);
  g_free(file);
  gzFile gz = gzopen(path, "wb6");
  g_assert_nonnull(gz);
  if (b->len) g_assert_cmpint(gzwrite(gz, b->data, b->len), ==, (int)b->len);
  g_assert_cmpint(gzclose(gz), ==, Z_OK);
  g_byte_array_unref(b);
  return path;
}

/* A valid small split in dir ("train" names), n images of rows x cols. */
static void write_good_split(const char *dir, guint32 n, guint32 rows, guint32 cols, gboolean gz) {
  char *(*w)(const char *, const char *, GByteArray *) = gz ? write_gz : write_plain;
  g_free(w(dir, "train-images-idx3-ubyte", make_images(0x803, n, rows, cols, n)));
  g_free(w(dir, "train-labels-idx1-ubyte", make_labels(0x801, n, n)));
}

static void assert_format_error(const char *dir, const char *must_mention) {
  GError *err = NULL;
  FrFmnist *d = fr_fmnist_load(dir, TRUE, &err);
  g_assert_null(d);
  g_assert_error(err, FR_FMNIST_ERROR, FR_FMNIST_ERROR_FORMAT);
  g_test_message("error: %s", err->message);
  g_assert_nonnull(strstr(err->message, must_mention));
  g_error_free(err);
}

static char *slurp(const char *path, gsize *len) {
  char *buf = NULL;
  GError *err = NULL;
  g_file_get_contents(path, &buf, len, &err);
  g_assert_no_error(err);
  return buf;
}

/* ---- the Debian data set ---------------------------------------------------------------------- */

static FrFmnist *load_real(gboolean train) {
  GError *err = NULL;
  FrFmnist *d = fr_fmnist_load(NULL, train, &err);
  if (!d && g_error_matches(err, FR_FMNIST_ERROR, FR_FMNIST_ERROR_MISSING)) {
    g_test_skip(err->message);
    g_error_free(err);
    return NULL;
  }
  g_assert_no_error(err);
  g_assert_nonnull(d);
  return d;
}

/* Expected values computed once with Debian's python3 + numpy from the .gz files of
 * dataset-fashion-mnist 0.0~git20200523.55506a9-1:
 *   im = np.frombuffer(gzip.open(f).read()[16:], np.uint8).reshape(-1, 28, 28)
 *   f = im[0].reshape(-1).astype(np.uint64)
 *   sum = f.sum(); weighted = (f * np.arange(1, 785)).sum(); crc = zlib.crc32(im[0].tobytes())
 *   total = im.astype(np.uint64).sum(); first labels = lb[:10] */
typedef struct {
  gboolean train;
  int n;
  guint64 first_sum, first_weighted, total;
  guint32 first_crc;
  guint8 first_labels[10];
} RealExpect;

static const RealExpect expect_train = {
  TRUE, 60000, 76247, 35954273, 3431114169u, 4067475125u, { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 },
};
static const RealExpect expect_test = {
  FALSE, 10000, 33456, 16008570, 573469082u, 1384319072u, { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 },
};

static void test_real(gconstpointer data) {
  const RealExpect *e = data;
  FrFmnist *d = load_real(e->train);
  if (!d) return;
  g_assert_cmpint(d->n, ==, e->n);
  g_assert_cmpint(d->rows, ==, 28);
  g_assert_cmpint(d->cols, ==, 28);

  int hist[10] = { 0 };
  for (int i = 0; i < d->n; i++) {
    g_assert_cmpuint(d->labels[i], <, 10);
    hist[d->labels[i]]++;
  }
  for (int c = 0; c < 10; c++) g_assert_cmpint(hist[c], ==, e->n / 10);
  for (int i = 0; i < 10; i++) g_assert_cmpuint(d->labels[i], ==, e->first_labels[i]);

  guint64 sum = 0, weighted = 0, total = 0;
  for (int k = 0; k < 28 * 28; k++) {
    sum += d->pixels[k];
    weighted += (guint64)d->pixels[k] * (guint64)(k + 1);
  }
  gsize bytes = (gsize)d->n * 28 * 28;
  for (gsize k = 0; k < bytes; k++) total += d->pixels[k];
  g_assert_cmpuint(sum, ==, e->first_sum);
  g_assert_cmpuint(weighted, ==, e->first_weighted);
  g_assert_cmpuint(total, ==, e->total);
  g_assert_cmpuint(crc32(0, d->pixels, 28 * 28), ==, e->first_crc);
  fr_fmnist_free(d);
}

static void test_class_names(void) {
  g_assert_cmpstr(fr_fmnist_class_names[0], ==, "T-shirt/top");
  g_assert_cmpstr(fr_fmnist_class_names[1], ==, "Trouser");
  g_assert_cmpstr(fr_fmnist_class_names[9], ==, "Ankle boot");
  for (int i = 0; i < 10; i++) {
    g_assert_nonnull(fr_fmnist_class_names[i]);
    g_assert_cmpuint(strlen(fr_fmnist_class_names[i]), >, 0);
  }
  fr_fmnist_free(NULL);
}

/* ---- missing files ---------------------------------------------------------------------------- */

static void test_missing_dir(TmpDir *t, gconstpointer data) {
  char *dir = g_build_filename(t->dir, "no-such-dir", NULL);
  GError *err = NULL;
  g_assert_null(fr_fmnist_load(dir, FALSE, &err));
  g_assert_error(err, FR_FMNIST_ERROR, FR_FMNIST_ERROR_MISSING);
  g_test_message("error: %s", err->message);
  g_assert_nonnull(strstr(err->message, "Fashion-MNIST not found at"));
  g_assert_nonnull(strstr(err->message, dir));
  g_assert_nonnull(strstr(err->message, "sudo apt install dataset-fashion-mnist"));
  g_error_free(err);
  g_free(dir);
}

static void test_missing_labels(TmpDir *t, gconstpointer data) {
  g_free(write_gz(t->dir, "train-images-idx3-ubyte", make_images(0x803, 2, 4, 4, 2)));
  GError *err = NULL;
  g_assert_null(fr_fmnist_load(t->dir, TRUE, &err));
  g_assert_error(err, FR_FMNIST_ERROR, FR_FMNIST_ERROR_MISSING);
  g_assert_nonnull(strstr(err->message, "train-labels-idx1-ubyte.gz"));
  g_assert_nonnull(strstr(err->message, "dataset-fashion-mnist"));
  g_error_free(err);
}

static void test_env_dir(TmpDir *t, gconstpointer data) {
  char *old = g_strdup(g_getenv("FR_FMNIST_DIR"));
  g_setenv("FR_FMNIST_DIR", t->dir, TRUE);
  GError *err = NULL;
  g_assert_null(fr_fmnist_load(NULL, TRUE, &err));
  g_assert_error(err, FR_FMNIST_ERROR, FR_FMNIST_ERROR_MISSING);
  g_assert_nonnull(strstr(err->message, t->dir));
  g_clear_error(&err);

  write_good_split(t->dir, 3, 5, 4, TRUE);
  FrFmnist *d = fr_fmnist_load(NULL, TRUE, &err);
  g_assert_no_error(err);
  g_assert_cmpint(d->n, ==, 3);
  fr_fmnist_free(d);
  /* an explicit dir wins over the environment */
  char *other = g_build_filename(t->dir, "elsewhere", NULL);
  g_assert_null(fr_fmnist_load(other, TRUE, &err));
  g_assert_error(err, FR_FMNIST_ERROR, FR_FMNIST_ERROR_MISSING);
  g_clear_error(&err);
  g_free(other);

  if (old) g_setenv("FR_FMNIST_DIR", old, TRUE);
  else g_unsetenv("FR_FMNIST_DIR");
  g_free(old);
}

/* ---- hand-made valid files -------------------------------------------------------------------- */

static void check_small(const char *dir, guint32 n, guint32 rows, guint32 cols) {
  GError *err = NULL;
  FrFmnist *d = fr_fmnist_load(dir, TRUE, &err);
  g_assert_no_error(err);
  g_assert_nonnull(d);
  g_assert_cmpint(d->n, ==, (int)n);
  g_assert_cmpint(d->rows, ==, (int)rows);
  g_assert_cmpint(d->cols, ==, (int)cols);
  for (guint32 i = 0; i < n; i++) {
    g_assert_cmpuint(d->labels[i], ==, i % 10);
    for (guint32 k = 0; k < rows * cols; k++)
      g_assert_cmpuint(d->pixels[i * rows * cols + k], ==, (i * 7 + k) & 0xff);
  }
  fr_fmnist_free(d);
}

static void test_small_gz(TmpDir *t, gconstpointer data) {
  write_good_split(t->dir, 13, 5, 3, TRUE);
  check_small(t->dir, 13, 5, 3);
}

static void test_small_plain(TmpDir *t, gconstpointer data) {
  write_good_split(t->dir, 3, 2, 7, FALSE);
  check_small(t->dir, 3, 2, 7);
  /* the test split is not there */
  GError *err = NULL;
  g_assert_null(fr_fmnist_load(t->dir, FALSE, &err));
  g_assert_error(err, FR_FMNIST_ERROR, FR_FMNIST_ERROR_MISSING);
  g_error_free(err);
}

/* ---- broken files ----------------------------------------------------------------------------- */

static void test_truncated_payload_gz(TmpDir *t, gconstpointer data) {
  char *p = write_gz(t->dir, "train-images-idx3-ubyte", make_images(0x803, 5, 28, 28, 3));
  g_free(write_gz(t->dir, "train-labels-idx1-ubyte", make_labels(0x801, 5, 5)));
  assert_format_error(t->dir, p);
  assert_format_error(t->dir, "truncated");
  g_free(p);
}

static void test_truncated_payload_plain(TmpDir *t, gconstpointer data) {
  g_free(write_plain(t->dir, "train-images-idx3-ubyte", make_images(0x803, 5, 4, 4, 5)));
  char *p = write_plain(t->dir, "train-labels-idx1-ubyte", make_labels(0x801, 5, 4));
  assert_format_error(t->dir, p);
  assert_format_error(t->dir, "truncated");
  g_free(p);
}

static void test_truncated_header(TmpDir *t, gconstpointer data) {
  GByteArray *b = make_images(0x803, 5, 4, 4, 0);
  g_byte_array_set_size(b, 10);
  char *p = write_gz(t->dir, "train-images-idx3-ubyte", b);
  g_free(write_gz(t->dir, "train-labels-idx1-ubyte", make_labels(0x801, 5, 5)));
  assert_format_error(t->dir, p);
  g_free(p);
}

/* A valid .gz whose compressed stream is cut in the middle. */
static void test_truncated_gz_stream(TmpDir *t, gconstpointer data) {
  write_good_split(t->dir, 200, 28, 28, TRUE);
  char *p = g_build_filename(t->dir, "train-images-idx3-ubyte.gz", NULL);
  gsize len;
  char *buf = slurp(p, &len);
  g_assert_cmpuint(len, >, 400);
  g_assert_true(g_file_set_contents(p, buf, (gssize)(len / 2), NULL));
  assert_format_error(t->dir, p);
  /* only the 8-byte gzip trailer (CRC + size) missing */
  g_assert_true(g_file_set_contents(p, buf, (gssize)(len - 8), NULL));
  assert_format_error(t->dir, p);
  /* a wrong CRC */
  buf[len - 8] ^= 0x5a;
  g_assert_true(g_file_set_contents(p, buf, (gssize)len, NULL));
  assert_format_error(t->dir, p);
  g_free(buf);
  g_free(p);
}

/* Gzip magic followed by garbage. */
static void test_corrupt_gz(TmpDir *t, gconstpointer data) {
  write_good_split(t->dir, 20, 28, 28, TRUE);
  char *p = g_build_filename(t->dir, "train-images-idx3-ubyte.gz", NULL);
  gsize len;
  char *buf = slurp(p, &len);
  for (gsize i = 12; i < len - 8; i++) buf[i] = (char)(0xa5 ^ (i * 31));
  g_assert_true(g_file_set_contents(p, buf, (gssize)len, NULL));
  assert_format_error(t->dir, p);
  g_free(buf);
  g_free(p);
}

static void test_bad_magic(TmpDir *t, gconstpointer data) {
  /* labels where images belong */
  char *p = write_gz(t->dir, "train-images-idx3-ubyte", make_labels(0x801, 5, 5));
  g_free(write_gz(t->dir, "train-labels-idx1-ubyte", make_labels(0x801, 5, 5)));
  assert_format_error(t->dir, p);
  assert_format_error(t->dir, "magic");
  g_free(p);
  /* float data type in a labels file */
  g_free(write_gz(t->dir, "train-images-idx3-ubyte", make_images(0x803, 5, 2, 2, 5)));
  p = write_gz(t->dir, "train-labels-idx1-ubyte", make_labels(0xd01, 5, 5));
  assert_format_error(t->dir, p);
  g_free(p);
}

static void test_bad_dims(TmpDir *t, gconstpointer data) {
  static const guint32 bad[][3] = {
    { 0, 28, 28 }, { 10000001, 28, 28 }, { 3, 0, 28 }, { 3, 28, 0 }, { 3, 4097, 28 },
    { 3, 28, 100000 }, { 0xffffffffu, 0xffffffffu, 0xffffffffu },
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    char *p = write_gz(t->dir, "train-images-idx3-ubyte",
                       make_images(0x803, bad[i][0], bad[i][1], bad[i][2], 0));
    g_free(write_gz(t->dir, "train-labels-idx1-ubyte", make_labels(0x801, 3, 3)));
    assert_format_error(t->dir, p);
    g_free(p);
  }
  /* the largest allowed sides are accepted by the header check (then the data is short) */
  char *p = write_gz(t->dir, "train-images-idx3-ubyte", make_images(0x803, 1, 4096, 4096, 0));
  g_free(write_gz(t->dir, "train-labels-idx1-ubyte", make_labels(0x801, 1, 1)));
  assert_format_error(t->dir, "truncated");
  g_free(p);
}

static void test_count_mismatch(TmpDir *t, gconstpointer data) {
  g_free(write_gz(t->dir, "train-images-idx3-ubyte", make_images(0x803, 5, 3, 3, 5)));
  g_free(write_gz(t->dir, "train-labels-idx1-ubyte", make_labels(0x801, 6, 6)));
  assert_format_error(t->dir, "5 images but");
}

static void test_bad_label(TmpDir *t, gconstpointer data) {
  g_free(write_gz(t->dir, "train-images-idx3-ubyte", make_images(0x803, 5, 3, 3, 5)));
  GByteArray *b = make_labels(0x801, 5, 5);
  b->data[8 + 3] = 10;
  char *p = write_gz(t->dir, "train-labels-idx1-ubyte", b);
  assert_format_error(t->dir, p);
  assert_format_error(t->dir, "label 10 of item 3");
  g_free(p);
}

static void test_trailing_data(TmpDir *t, gconstpointer data) {
  char *p = write_gz(t->dir, "train-images-idx3-ubyte", make_images(0x803, 4, 3, 3, 5));
  g_free(write_gz(t->dir, "train-labels-idx1-ubyte", make_labels(0x801, 4, 4)));
  assert_format_error(t->dir, p);
  assert_format_error(t->dir, "trailing");
  g_free(p);
}

static void test_empty_file(TmpDir *t, gconstpointer data) {
  char *p = write_plain(t->dir, "train-images-idx3-ubyte", g_byte_array_new());
  g_free(write_plain(t->dir, "train-labels-idx1-ubyte", make_labels(0x801, 4, 4)));
  assert_format_error(t->dir, p);
  g_free(p);
}

#define ADD_TMP(path, fn) g_test_add(path, TmpDir, NULL, tmp_setup, fn, tmp_teardown)

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/fmnist/class-names", test_class_names);
  g_test_add_data_func("/fmnist/real/train", &expect_train, test_real);
  g_test_add_data_func("/fmnist/real/test", &expect_test, test_real);
  ADD_TMP("/fmnist/missing/dir", test_missing_dir);
  ADD_TMP("/fmnist/missing/labels", test_missing_labels);
  ADD_TMP("/fmnist/missing/env", test_env_dir);
  ADD_TMP("/fmnist/small/gz", test_small_gz);
  ADD_TMP("/fmnist/small/plain", test_small_plain);
  ADD_TMP("/fmnist/broken/truncated-payload-gz", test_truncated_payload_gz);
  ADD_TMP("/fmnist/broken/truncated-payload-plain", test_truncated_payload_plain);
  ADD_TMP("/fmnist/broken/truncated-header", test_truncated_header);
  ADD_TMP("/fmnist/broken/truncated-gz-stream", test_truncated_gz_stream);
  ADD_TMP("/fmnist/broken/corrupt-gz", test_corrupt_gz);
  ADD_TMP("/fmnist/broken/bad-magic", test_bad_magic);
  ADD_TMP("/fmnist/broken/bad-dims", test_bad_dims);
  ADD_TMP("/fmnist/broken/count-mismatch", test_count_mismatch);
  ADD_TMP("/fmnist/broken/bad-label", test_bad_label);
  ADD_TMP("/fmnist/broken/trailing-data", test_trailing_data);
  ADD_TMP("/fmnist/broken/empty-file", test_empty_file);
  return g_test_run();
}
