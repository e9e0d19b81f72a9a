/* fr-roofline.h: this machine's ceilings for a roofline plot, measured once and cached.
 *
 * Compute: single-precision GEMM as the engine runs it, 2*M*N*K flops per product of M = N = K = 1024
 * (OpenBLAS sgemm on one thread; and fr_gemm split across the engine's pool at the given thread count,
 * which is how every convolution and linear layer multiplies). Memory: a 64 MiB memcpy (well past the
 * last-level cache), bytes counted read + written (2 x size; the write-allocate traffic a copy also
 * causes is not counted), on one thread and split across the pool. Each figure is the best of several
 * repetitions after a warm-up: a ceiling, not a typical value. The one-thread figures are timed on the
 * thread's CPU clock (a busy machine that preempts the thread does not lower them); the all-threads
 * figures need the wall clock, so on a busy machine they come out low (fr_roofline_get with
 * remeasure on a quiet machine replaces them).
 *
 * Cache: one JSON file, $XDG_CACHE_HOME/frontier/roofline.json (fr_roofline_cache_path()), holding an
 * entry per machine key "CPU model name|threads"; written atomically; entries for other keys are kept.
 *
 * Attainable performance at arithmetic intensity I (flops per byte): min(peak_gflops, I * bw_gbs). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char cpu[128];          /* CPU model name (/proc/cpuinfo), "unknown" elsewhere */
  int threads;            /* thread count of the "all" figures */
  double gemm_gflops_1t;  /* sgemm, one thread */
  double gemm_gflops;     /* fr_gemm on `threads` threads */
  double bw_gbs_1t;       /* copy, one thread, GB/s (1e9 bytes) */
  double bw_gbs;          /* copy on `threads` threads */
  double seconds;         /* spent measuring */
  char date[32];          /* ISO 8601 UTC of the measurement */
  gboolean from_cache;    /* TRUE when read back from the cache file */
} FrRoofline;

/* The CPU's model name (static string). */
const char *fr_roofline_cpu_name(void);
/* New string: g_get_user_cache_dir()/frontier/roofline.json. */
char *fr_roofline_cache_path(void);

/* Measures now (about a second). threads 0: the pool's current count. The pool's thread count is
 * restored afterwards. */
void fr_roofline_measure(int threads, FrRoofline *out);

/* The entry for (this CPU, threads) of the cache file at path (NULL: the default); FALSE when the
 * file, the entry or a field is missing or malformed. */
gboolean fr_roofline_load(const char *path, int threads, FrRoofline *out);
/* Adds or replaces r's entry in the cache file at path (NULL: the default), creating its folder. */
gboolean fr_roofline_save(const char *path, const FrRoofline *r, GError **error);

/* The cached ceilings for threads (0: the pool's count), measured and saved first when the cache has
 * none or remeasure is set. A cache that cannot be written is not an error (the figures are still
 * returned). path NULL: the default cache file. */
void fr_roofline_get(const char *path, int threads, gboolean remeasure, FrRoofline *out);

/* min(peak, intensity * bandwidth), GFLOP/s; one_thread picks the 1-thread ceilings. */
double fr_roofline_attainable(const FrRoofline *r, double intensity, gboolean one_thread);

G_END_DECLS
