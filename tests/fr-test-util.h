/* fr-test-util.h: helpers the engine tests share. */
#pragma once
#include <glib.h>
#include "fr-csr.h"

/* FR_TEST_SRCDIR/data/<subdir>/<name>; NULL (and the test skipped) when FR_TEST_SRCDIR is unset. */
char *fr_test_data_path(const char *subdir, const char *name);
/* A shipped matrix, FR_DATA_DIR/matrices/<name> (default ./data); asserts it loads. */
FrCsr *fr_test_load_shipped_matrix(const char *name);
/* n×n, about nnz entries skewed towards low rows and columns (a few heavy ones, like the SNAP graphs),
 * values in [0.1, 2), duplicates summed; reproducible from seed. */
FrCsr *fr_test_skewed_csr(int64_t n, int64_t nnz, guint32 seed);
