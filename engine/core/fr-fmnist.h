/* fr-fmnist.h: the Fashion-MNIST data set (Debian package dataset-fashion-mnist), read from its
 * IDX files, gzip-compressed (*.gz, via zlib) or plain.
 *
 * Files looked for in the directory: {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz, falling back
 * to the same names without .gz. Everything in them is validated (magic numbers, dimensions, equal
 * image/label counts, labels < 10, truncation, trailing bytes); a problem is reported as a GError
 * that names the file. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int n, rows, cols;
  guint8 *pixels; /* n*rows*cols, row-major per image, 0 = background */
  guint8 *labels; /* n, each 0..9 */
} FrFmnist;

#define FR_FMNIST_ERROR (fr_fmnist_error_quark())
GQuark fr_fmnist_error_quark(void);

typedef enum {
  FR_FMNIST_ERROR_MISSING, /* a file is absent (or cannot be opened); message names the package */
  FR_FMNIST_ERROR_FORMAT,  /* a file is corrupt, truncated or not IDX data */
} FrFmnistError;

/* dir NULL: the environment variable FR_FMNIST_DIR when set and non-empty, else the FR_FMNIST_DIR
 * macro from fr-config.h (/usr/share/datasets/fashion-mnist). train: TRUE for the 60k training
 * split, FALSE for the 10k test split. Returns NULL with error set on failure. */
FrFmnist *fr_fmnist_load(const char *dir, gboolean train, GError **error);
void fr_fmnist_free(FrFmnist *d); /* NULL is fine */

/* "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
 * "Ankle boot" */
extern const char *const fr_fmnist_class_names[10];

G_END_DECLS
