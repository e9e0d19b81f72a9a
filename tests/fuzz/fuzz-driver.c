/* fuzz-driver.c: a standalone main() for any libFuzzer target (a file defining
 * LLVMFuzzerTestOneInput), so fuzz targets also run as ordinary, deterministic tests without
 * clang/libFuzzer.
 *
 *   fuzz-NAME-driver [options] PATH...
 *
 * Every regular file in each PATH (a directory, not recursed, taken in name order; or a single file)
 * is fed to the target as is, then as N pseudo-random mutations: bit flips, byte overwrites with
 * interesting values, truncations, inserts, deletes, duplicated chunks, number rewrites, appended
 * bytes, and changes of the leading 8-byte little-endian length field (the length prefix of
 * safetensors; harmless for other formats). The mutations are a pure function of the seed input,
 * its index and the mutation number, so a failure reproduces exactly.
 *
 * Options:
 *   -n N         mutations per corpus file (default 20000; 0: corpus only)
 *   --only K     run only mutation K of each file (K = -1: the unmutated file)
 *   --out FILE   with --only: also write that input to FILE (e.g. to hand to a libFuzzer binary)
 *   -v           print each input's id before running it (to find the one that crashes)
 *
 * A crash prints "fuzz-driver: crashed on FILE mutation K"; rerun with --only K --out x.bin. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* ---- crash reporting ------------------------------------------------------------------------- */

static const char *volatile cur_file = "(none)";
static volatile long cur_iter = -1;

static void
put(const char *s)
{
  ssize_t r = write(STDERR_FILENO, s, strlen(s));
  (void)r;
}

static void
on_crash(int sig)
{
  char num[24];
  long v = cur_iter;
  int neg = v < 0, i = (int)sizeof num - 1;
  unsigned long u = neg ? (unsigned long)(-v) : (unsigned long)v;
  num[i] = '\0';
  do {
    num[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u && i > 1);
  if (neg)
    num[--i] = '-';
  put("\nfuzz-driver: crashed on ");
  put(cur_file);
  put(" mutation ");
  put(num + i);
  put(" (rerun with --only that number)\n");
  signal(sig, SIG_DFL);
  raise(sig);
}

/* ---- deterministic mutations ----------------------------------------------------------------- */

typedef struct {
  uint64_t s;
} Rng;

static uint64_t
rng_next(Rng *r) /* splitmix64 */
{
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static size_t
rng_below(Rng *r, size_t n) /* uniform-ish in [0, n); n > 0 */
{
  return (size_t)(rng_next(r) % n);
}

static uint64_t
fnv1a(const uint8_t *p, size_t n)
{
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static const uint8_t interesting_bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '"', '\\', '{', '}', '[', ']', ',',
                                            ':', '-', '0', '1', '9', ' ', '\n', 'e', '.', 'u', 'n', 0xc3};
static const char *const interesting_numbers[] = {
  "0", "1", "2", "-1", "8", "255", "4294967296", "9223372036854775807", "9223372036854775808",
  "18446744073709551615", "18446744073709551616", "1e3", "1.5", "-0", "00", "99999999999999999999999"};
static const char *const interesting_strings[] = {
  "\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"I64\"", "\"BOOL\"", "\"F8_E4M3\"", "\"__metadata__\"",
  "\"dtype\"", "\"shape\"", "\"data_offsets\"", "[]", "[0,0]", "{}", "null", "\"\\u0000\"", "\"\\ud800\"", ",", ":"};

typedef struct {
  uint8_t *p;
  size_t len, cap;
} Buf;

static void
buf_reserve(Buf *b, size_t extra)
{
  if (b->len + extra <= b->cap)
    return;
  b->cap = (b->len + extra) * 2 + 16;
  b->p = g_realloc(b->p, b->cap);
}

static void
buf_insert(Buf *b, size_t at, const uint8_t *src, size_t n)
{
  buf_reserve(b, n);
  memmove(b->p + at + n, b->p + at, b->len - at);
  memcpy(b->p + at, src, n);
  b->len += n;
}

static void
buf_delete(Buf *b, size_t at, size_t n)
{
  memmove(b->p + at, b->p + at + n, b->len - at - n);
  b->len -= n;
}

static uint64_t
get_le64(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static void
set_le64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* Applies 1-4 mutations to b. *hlen tracks where the length-prefixed part ends (when the seed has a
 * plausible length prefix) so that edits inside it can keep the prefix consistent. */
static void
mutate(Buf *b, Rng *r)
{
  int have_prefix = b->len >= 8 && get_le64(b->p) <= b->len - 8;
  uint64_t hlen = have_prefix ? get_le64(b->p) : 0;
  int rounds = 1 + (int)rng_below(r, 4);
  for (int k = 0; k < rounds; k++) {
    size_t at = b->len ? rng_below(r, b->len) : 0;
    switch (rng_below(r, 12)) {
    case 0: /* bit flip */
      if (b->len)
        b->p[at] ^= (uint8_t)(1u << rng_below(r, 8));
      break;
    case 1: /* interesting byte */
      if (b->len)
        b->p[at] = interesting_bytes[rng_below(r, sizeof interesting_bytes)];
      break;
    case 2: /* truncate */
      b->len = b->len ? rng_below(r, b->len + 1) : 0;
      break;
    case 3: { /* insert random bytes */
      uint8_t tmp[8];
      size_t n = 1 + rng_below(r, sizeof tmp);
      for (size_t i = 0; i < n; i++)
        tmp[i] = rng_below(r, 2) ? (uint8_t)rng_next(r) : interesting_bytes[rng_below(r, sizeof interesting_bytes)];
      at = rng_below(r, b->len + 1);
      buf_insert(b, at, tmp, n);
      if (at >= 8 && at <= 8 + hlen)
        hlen += n;
      break;
    }
    case 4: /* delete a range */
      if (b->len) {
        size_t n = 1 + rng_below(r, MIN(b->len - at, (size_t)32));
        buf_delete(b, at, n);
        if (at >= 8 && at < 8 + hlen)
          hlen -= MIN(n, 8 + hlen - at);
      }
      break;
    case 5: { /* duplicate a chunk somewhere else (duplicate keys, overlaps) */
      if (b->len) {
        size_t n = 1 + rng_below(r, MIN(b->len - at, (size_t)128));
        uint8_t *tmp = g_memdup2(b->p + at, n);
        size_t to = rng_below(r, b->len + 1);
        buf_insert(b, to, tmp, n);
        if (to >= 8 && to <= 8 + hlen)
          hlen += n;
        g_free(tmp);
      }
      break;
    }
    case 6: { /* rewrite a number */
      size_t i = at, end;
      while (i < b->len && !(b->p[i] >= '0' && b->p[i] <= '9'))
        i++;
      if (i >= b->len)
        break;
      for (end = i; end < b->len && b->p[end] >= '0' && b->p[end] <= '9'; end++)
        ;
      char num[32];
      if (rng_below(r, 2))
        g_snprintf(num, sizeof num, "%s", interesting_numbers[rng_below(r, G_N_ELEMENTS(interesting_numbers))]);
      else
        g_snprintf(num, sizeof num, "%" G_GUINT64_FORMAT, (guint64)(rng_next(r) >> rng_below(r, 64)));
      buf_delete(b, i, end - i);
      buf_insert(b, i, (const uint8_t *)num, strlen(num));
      if (i >= 8 && i < 8 + hlen)
        hlen = hlen - (end - i) + strlen(num);
      break;
    }
    case 7: { /* insert a token */
      const char *s = interesting_strings[rng_below(r, G_N_ELEMENTS(interesting_strings))];
      at = rng_below(r, b->len + 1);
      buf_insert(b, at, (const uint8_t *)s, strlen(s));
      if (at >= 8 && at <= 8 + hlen)
        hlen += strlen(s);
      break;
    }
    case 8: /* swap two bytes */
      if (b->len) {
        size_t j = rng_below(r, b->len);
        uint8_t t = b->p[at];
        b->p[at] = b->p[j];
        b->p[j] = t;
      }
      break;
    case 9: { /* append bytes (grows the data part) */
      uint8_t tmp[16];
      size_t n = 1 + rng_below(r, sizeof tmp);
      for (size_t i = 0; i < n; i++)
        tmp[i] = (uint8_t)rng_next(r);
      buf_insert(b, b->len, tmp, n);
      break;
    }
    default: { /* the length field */
      if (b->len < 8)
        break;
      uint64_t v;
      switch (rng_below(r, 6)) {
      case 0: v = get_le64(b->p) + (uint64_t)(int64_t)(rng_below(r, 33) - 16); break;
      case 1: v = 0; break;
      case 2: v = rng_next(r); break;
      case 3: v = (uint64_t)1 << rng_below(r, 64); break;
      case 4: v = b->len - 8; break;
      default: v = rng_below(r, b->len); break;
      }
      set_le64(b->p, v);
      have_prefix = 0; /* keep this change */
      break;
    }
    }
  }
  /* usually keep the length prefix consistent with the edits, so the input gets past it */
  if (have_prefix && b->len >= 8 && hlen <= b->len - 8 && rng_below(r, 4) != 0)
    set_le64(b->p, hlen);
}

/* ---- main ------------------------------------------------------------------------------------ */

static int
cmp_paths(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
collect(const char *path, GPtrArray *files)
{
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    GError *error = NULL;
    GDir *d = g_dir_open(path, 0, &error);
    if (!d) {
      fprintf(stderr, "fuzz-driver: %s\n", error->message);
      exit(2);
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (const char *n; (n = g_dir_read_name(d));) {
      char *full = g_build_filename(path, n, NULL);
      if (g_file_test(full, G_FILE_TEST_IS_REGULAR) && n[0] != '.')
        g_ptr_array_add(names, full);
      else
        g_free(full);
    }
    g_dir_close(d);
    g_ptr_array_sort(names, cmp_paths);
    for (guint i = 0; i < names->len; i++)
      g_ptr_array_add(files, g_strdup(g_ptr_array_index(names, i)));
    g_ptr_array_free(names, TRUE);
  } else if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
    g_ptr_array_add(files, g_strdup(path));
  } else {
    fprintf(stderr, "fuzz-driver: %s: no such file or directory\n", path);
    exit(2);
  }
}

int
main(int argc, char **argv)
{
  long mutations = 20000, only = LONG_MIN;
  const char *out = NULL;
  int verbose = 0;
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);

  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
      mutations = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
      only = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
      out = argv[++i];
    else if (strcmp(argv[i], "-v") == 0)
      verbose = 1;
    else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "usage: %s [-n MUTATIONS] [--only K [--out FILE]] [-v] CORPUS_DIR_OR_FILE...\n", argv[0]);
      return 2;
    } else
      collect(argv[i], files);
  }
  if (files->len == 0) {
    fprintf(stderr, "fuzz-driver: no corpus files given\n");
    return 2;
  }
  signal(SIGSEGV, on_crash);
  signal(SIGBUS, on_crash);
  signal(SIGABRT, on_crash);
  signal(SIGFPE, on_crash);
  signal(SIGILL, on_crash);

  gint64 t0 = g_get_monotonic_time();
  unsigned long runs = 0;
  Buf b = {0};
  for (guint f = 0; f < files->len; f++) {
    const char *path = g_ptr_array_index(files, f);
    char *seed;
    gsize seed_len;
    GError *error = NULL;
    if (!g_file_get_contents(path, &seed, &seed_len, &error)) {
      fprintf(stderr, "fuzz-driver: %s\n", error->message);
      return 2;
    }
    cur_file = path;
    uint64_t seed_hash = fnv1a((const uint8_t *)seed, seed_len);
    long first = only != LONG_MIN ? only : -1, last = only != LONG_MIN ? only : mutations - 1;
    for (long k = first; k <= last; k++) {
      b.len = 0;
      buf_reserve(&b, seed_len);
      memcpy(b.p, seed, seed_len);
      b.len = seed_len;
      if (k >= 0) {
        Rng r = {seed_hash ^ ((uint64_t)k * 0x2545f4914f6cdd1dull)};
        mutate(&b, &r);
      }
      cur_iter = k;
      if (verbose) {
        fprintf(stderr, "%s mutation %ld (%zu bytes)\n", path, k, b.len);
        fflush(stderr);
      }
      if (out && !g_file_set_contents(out, (const char *)b.p, (gssize)b.len, &error)) {
        fprintf(stderr, "fuzz-driver: %s\n", error->message);
        return 2;
      }
      /* a private copy of exactly b.len bytes, so sanitizers see reads past the end */
      uint8_t *input = b.len ? g_memdup2(b.p, b.len) : NULL;
      LLVMFuzzerTestOneInput(input, b.len);
      g_free(input);
      runs++;
    }
    g_free(seed);
  }
  double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
  printf("fuzz-driver: %lu inputs from %u corpus file%s (%ld mutations each) in %.1f s, no crash\n", runs,
         files->len, files->len == 1 ? "" : "s", only != LONG_MIN ? 1 : mutations, secs);
  g_free(b.p);
  g_ptr_array_free(files, TRUE);
  return 0;
}
