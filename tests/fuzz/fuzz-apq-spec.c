/* fuzz-apq-spec.c: libFuzzer target for the APQ spec text form (fr_apq_spec_from_string) and the
 * pairs CSV reader (fr_apq_pairs_load). Any crash, sanitizer report or failed CHECK is a bug:
 *   - a string either parses into a spec that validates, encodes to exactly one kernel and one mid
 *     one-hot per active block (four bit one-hots more when quantized), has finite positive costs
 *     and survives to_string -> from_string unchanged; or it is refused with an FR_APQ_ERROR (PARSE
 *     or INVALID_SPEC) and a message, leaving the output untouched;
 *   - the same bytes as a pairs file load into valid pairs, or fail with FR_APQ_ERROR_PARSE and a
 *     message that names the file.
 * Built both as a real libFuzzer binary (-Dfuzzing=true with clang; that build compiles only the
 * space sources, so the pairs reader, which pulls in the whole engine, is left out of it) and linked
 * with fuzz-driver.c as the 'fuzz-apq-spec' test. */
#include "fr-apq-space.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The libFuzzer binary (-fsanitize=fuzzer turns on coverage instrumentation) links only the
 * sources listed for it in meson.build; the driver links the whole engine. */
#if defined(__has_feature)
#if __has_feature(coverage_sanitizer)
#define FUZZ_SPEC_ONLY 1
#endif
#endif

#ifndef FUZZ_SPEC_ONLY
#include "fr-apq-pairs.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);            \
      abort();                                                                            \
    }                                                                                     \
  } while (0)

static gboolean spec_equal(const FrApqSpec *a, const FrApqSpec *b) {
  return !memcmp(a->ks, b->ks, sizeof a->ks) && !memcmp(a->mid, b->mid, sizeof a->mid) &&
         !memcmp(a->depth, b->depth, sizeof a->depth) && a->quantized == b->quantized &&
         !memcmp(a->bits, b->bits, sizeof a->bits);
}

/* Everything a valid spec must satisfy. */
static void check_valid_spec(const FrApqSpace *s, const FrApqSpec *spec) {
  GError *error = NULL;
  CHECK(fr_apq_spec_validate(s, spec, &error));
  CHECK(error == NULL);

  int dim = s->arch_dim + s->quant_dim, active = 0;
  float *x = g_new(float, dim);
  fr_apq_spec_encode(s, spec, x);
  int ones_arch = 0, ones_bits = 0;
  for (int i = 0; i < dim; i++) {
    CHECK(x[i] == 0.0f || x[i] == 1.0f);
    if (i < s->arch_dim) ones_arch += x[i] == 1.0f;
    else ones_bits += x[i] == 1.0f;
  }
  for (int b = 0; b < s->n_blocks; b++) active += fr_apq_block_active(s, spec, b);
  CHECK(ones_arch == 2 * active);
  CHECK(ones_bits == (spec->quantized ? 4 * active : 0));
  g_free(x);

  double macs = fr_apq_spec_macs(s, spec), bitops = fr_apq_spec_bitops(s, spec);
  CHECK(isfinite(macs) && macs > 0);
  CHECK(isfinite(bitops) && bitops >= 16 * macs && bitops <= 1024 * macs);
  CHECK(fr_apq_spec_params(s, spec) > 0);

  /* text round trip: the same spec, and the text is a fixed point */
  char *text = fr_apq_spec_to_string(s, spec);
  FrApqSpec back;
  memset(&back, 0, sizeof back);
  CHECK(fr_apq_spec_from_string(s, text, &back, &error));
  CHECK(error == NULL);
  CHECK(spec_equal(spec, &back));
  char *again = fr_apq_spec_to_string(s, &back);
  CHECK(strcmp(text, again) == 0);
  g_free(again);
  g_free(text);
}

static void fuzz_spec_string(const FrApqSpace *s, const char *text) {
  FrApqSpec spec, untouched;
  memset(&spec, 0x5A, sizeof spec);
  untouched = spec;
  GError *error = NULL;
  gboolean ok = fr_apq_spec_from_string(s, text, &spec, &error);
  CHECK(ok == (error == NULL));
  if (!ok) {
    CHECK(error->domain == FR_APQ_ERROR);
    CHECK(error->code == FR_APQ_ERROR_PARSE || error->code == FR_APQ_ERROR_INVALID_SPEC);
    CHECK(error->message && error->message[0]);
    CHECK(memcmp(&spec, &untouched, sizeof spec) == 0);
    g_error_free(error);
    return;
  }
  check_valid_spec(s, &spec);
}

#ifndef FUZZ_SPEC_ONLY
static char *csv_path;

static void fuzz_pairs_file(const FrApqSpace *s, const uint8_t *data, size_t size) {
  if (!csv_path) {
    const char *dir = g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : g_get_tmp_dir();
    csv_path = g_strdup_printf("%s/fuzz-apq-pairs-%d.csv", dir, (int)getpid());
  }
  FILE *f = fopen(csv_path, "wb");
  CHECK(f != NULL);
  CHECK(size == 0 || fwrite(data, 1, size, f) == size);
  CHECK(fclose(f) == 0);
  GError *error = NULL;
  FrApqPairs *p = fr_apq_pairs_load(csv_path, s, &error);
  CHECK((p == NULL) == (error != NULL));
  if (!p) {
    CHECK(error->domain == FR_APQ_ERROR && error->code == FR_APQ_ERROR_PARSE);
    CHECK(strncmp(error->message, csv_path, strlen(csv_path)) == 0);
    g_error_free(error);
    return;
  }
  CHECK(p->n >= 1);
  for (int i = 0; i < p->n; i++) {
    CHECK(p->accuracy[i] >= 0 && p->accuracy[i] <= 1);
    GError *e = NULL;
    CHECK(fr_apq_spec_validate(s, &p->specs[i], &e));
  }
  float *x = fr_apq_pairs_features(p, s, 0, p->n);
  g_free(x);
  fr_apq_pairs_free(p);
}

static void remove_csv(void) {
  if (csv_path) g_unlink(csv_path);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  /* from_string takes a C string: a NUL-terminated copy (stopping at an embedded NUL) */
  char *text = g_malloc(size + 1);
  if (size) memcpy(text, data, size);
  text[size] = '\0';
  fuzz_spec_string(s, text);
  /* each line as a spec too, so the CSV seeds also exercise the spec parser past their header */
  for (char *line = text, *nl; line; line = nl ? nl + 1 : NULL) {
    nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    char *q0 = strchr(line, '"'), *q1 = q0 ? strchr(q0 + 1, '"') : NULL;
    if (q1) {
      *q1 = '\0';
      fuzz_spec_string(s, q0 + 1);
    }
  }
  g_free(text);
#ifndef FUZZ_SPEC_ONLY
  static gboolean registered;
  if (!registered) {
    registered = TRUE;
    atexit(remove_csv);
  }
  /* Through a file only what can get past the header check (and short inputs): anything else is
   * refused at line 1 after a strcmp, and the file round trip would be most of the run time. */
  if (size < 16 || (size >= 5 && !memcmp(data, "index", 5))) fuzz_pairs_file(s, data, size);
#endif
  return 0;
}
