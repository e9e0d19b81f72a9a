/* fr-roofline.c: see fr-roofline.h. */
#include "fr-roofline.h"
#include "fr-ops.h"
#include "fr-pool.h"

#include <cblas.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define GEMM_N 1024
#define COPY_BYTES ((size_t)64 << 20)

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

/* One-thread figures are timed on the thread's CPU clock: time the scheduler gave to other processes
 * does not count, so a busy machine does not lower them. The pool's figures need the wall clock. */
static double timer_s(gboolean pool) { return clock_s(pool ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID); }

static gpointer read_cpu_name(gpointer unused) {
  char *text = NULL, *name = NULL;
  if (g_file_get_contents("/proc/cpuinfo", &text, NULL, NULL)) {
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l && !name; l++) {
      if (g_str_has_prefix(*l, "model name") || g_str_has_prefix(*l, "Model") || g_str_has_prefix(*l, "cpu model")) {
        const char *colon = strchr(*l, ':');
        if (colon) name = g_strstrip(g_strdup(colon + 1));
      }
    }
    g_strfreev(lines);
    g_free(text);
  }
  if (!name || !*name) {
    g_free(name);
    name = g_strdup("unknown");
  }
  return name;
}

const char *fr_roofline_cpu_name(void) {
  static GOnce once = G_ONCE_INIT;
  return g_once(&once, read_cpu_name, NULL);
}

char *fr_roofline_cache_path(void) {
  return g_build_filename(g_get_user_cache_dir(), "frontier", "roofline.json", NULL);
}

/* ---- measuring --------------------------------------------------------------------------------- */

static double best_gemm_gflops(gboolean pool, const float *a, const float *b, float *c) {
  const int n = GEMM_N;
  double best = 0;
  for (int rep = 0; rep < 8; rep++) {   /* the first is a warm-up */
    double t0 = timer_s(pool);
    if (pool)
      fr_gemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double dt = timer_s(pool) - t0;
    if (rep > 0 && dt > 0) best = MAX(best, 2.0 * n * (double)n * n / dt / 1e9);
  }
  return best;
}

typedef struct {
  char *dst;
  const char *src;
} Copy;

static void copy_range(void *ctx, int64_t begin, int64_t end) {
  Copy *c = ctx;
  memcpy(c->dst + begin, c->src + begin, (size_t)(end - begin));
}

static double best_copy_gbs(gboolean pool, int threads, char *dst, const char *src) {
  Copy c = { dst, src };
  double best = 0;
  for (int rep = 0; rep < 8; rep++) {
    double t0 = timer_s(pool);
    if (pool)
      fr_parallel_for((int64_t)COPY_BYTES, (int64_t)(COPY_BYTES / (size_t)MAX(threads, 1)), copy_range, &c);
    else
      memcpy(dst, src, COPY_BYTES);
    double dt = timer_s(pool) - t0;
    if (rep > 0 && dt > 0) best = MAX(best, 2.0 * (double)COPY_BYTES / dt / 1e9);
  }
  return best;
}

void fr_roofline_measure(int threads, FrRoofline *out) {
  int old = fr_pool_get_threads();
  if (threads <= 0) threads = old;
  memset(out, 0, sizeof *out);
  g_strlcpy(out->cpu, fr_roofline_cpu_name(), sizeof out->cpu);
  out->threads = threads;
  double t0 = now_s();

  size_t nn = (size_t)GEMM_N * GEMM_N;
  float *a = g_new(float, nn), *b = g_new(float, nn), *c = g_new0(float, nn);
  for (size_t i = 0; i < nn; i++) {
    a[i] = (float)((i * 7919u) % 1000) * 1e-3f - 0.5f;
    b[i] = (float)((i * 104729u) % 1000) * 1e-3f - 0.5f;
  }
  fr_pool_set_threads(1);
  out->gemm_gflops_1t = best_gemm_gflops(FALSE, a, b, c);
  fr_pool_set_threads(threads);
  out->gemm_gflops = threads == 1 ? out->gemm_gflops_1t : best_gemm_gflops(TRUE, a, b, c);
  g_free(a);
  g_free(b);
  g_free(c);

  char *src = g_malloc(COPY_BYTES), *dst = g_malloc(COPY_BYTES);
  memset(src, 1, COPY_BYTES);
  memset(dst, 2, COPY_BYTES);
  out->bw_gbs_1t = best_copy_gbs(FALSE, 1, dst, src);
  out->bw_gbs = threads == 1 ? out->bw_gbs_1t : best_copy_gbs(TRUE, threads, dst, src);
  g_free(src);
  g_free(dst);
  fr_pool_set_threads(old);

  out->seconds = now_s() - t0;
  GDateTime *now = g_date_time_new_now_utc();
  char *iso = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
  g_strlcpy(out->date, iso, sizeof out->date);
  g_free(iso);
  g_date_time_unref(now);
}

/* ---- cache ------------------------------------------------------------------------------------- */

static char *machine_key(const char *cpu, int threads) { return g_strdup_printf("%s|%d", cpu, threads); }

static JsonNode *read_cache(const char *path) {
  JsonParser *p = json_parser_new();
  JsonNode *root = NULL;
  if (json_parser_load_from_file(p, path, NULL) && JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
    root = json_node_copy(json_parser_get_root(p));
  g_object_unref(p);
  return root;
}

static gboolean get_number(JsonObject *o, const char *name, double *out) {
  JsonNode *n = json_object_get_member(o, name);
  if (!n || !JSON_NODE_HOLDS_VALUE(n)) return FALSE;
  GType t = json_node_get_value_type(n);
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64) return FALSE;
  *out = json_node_get_double(n);
  return isfinite(*out) && *out > 0;
}

gboolean fr_roofline_load(const char *path, int threads, FrRoofline *out) {
  char *def = path ? NULL : fr_roofline_cache_path();
  if (threads <= 0) threads = fr_pool_get_threads();
  JsonNode *root = read_cache(path ? path : def);
  g_free(def);
  if (!root) return FALSE;
  gboolean ok = FALSE;
  char *key = machine_key(fr_roofline_cpu_name(), threads);
  JsonObject *machines = json_object_get_object_member(json_node_get_object(root), "machines");
  JsonNode *e = machines ? json_object_get_member(machines, key) : NULL;
  if (e && JSON_NODE_HOLDS_OBJECT(e)) {
    JsonObject *o = json_node_get_object(e);
    FrRoofline r = { 0 };
    g_strlcpy(r.cpu, fr_roofline_cpu_name(), sizeof r.cpu);
    r.threads = threads;
    ok = get_number(o, "gemm_gflops_1t", &r.gemm_gflops_1t) && get_number(o, "gemm_gflops", &r.gemm_gflops) &&
         get_number(o, "bw_gbs_1t", &r.bw_gbs_1t) && get_number(o, "bw_gbs", &r.bw_gbs);
    double secs = 0;
    if (get_number(o, "seconds", &secs)) r.seconds = secs;
    const char *date = json_object_get_string_member_with_default(o, "date", "");
    g_strlcpy(r.date, date ? date : "", sizeof r.date);
    r.from_cache = TRUE;
    if (ok) *out = r;
  }
  g_free(key);
  json_node_unref(root);
  return ok;
}

gboolean fr_roofline_save(const char *path, const FrRoofline *r, GError **error) {
  char *def = path ? NULL : fr_roofline_cache_path();
  const char *file = path ? path : def;
  JsonNode *root = read_cache(file);
  if (!root) {
    root = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(root, json_object_new());
  }
  JsonObject *top = json_node_get_object(root);
  json_object_set_string_member(top, "format", "frontier-roofline");
  if (!json_object_has_member(top, "machines") || !JSON_NODE_HOLDS_OBJECT(json_object_get_member(top, "machines")))
    json_object_set_object_member(top, "machines", json_object_new());
  JsonObject *machines = json_object_get_object_member(top, "machines");
  JsonObject *e = json_object_new();
  json_object_set_string_member(e, "cpu", r->cpu);
  json_object_set_int_member(e, "threads", r->threads);
  json_object_set_double_member(e, "gemm_gflops_1t", r->gemm_gflops_1t);
  json_object_set_double_member(e, "gemm_gflops", r->gemm_gflops);
  json_object_set_double_member(e, "bw_gbs_1t", r->bw_gbs_1t);
  json_object_set_double_member(e, "bw_gbs", r->bw_gbs);
  json_object_set_double_member(e, "seconds", r->seconds);
  json_object_set_string_member(e, "date", r->date);
  char *key = machine_key(r->cpu, r->threads);
  json_object_set_object_member(machines, key, e);
  g_free(key);

  JsonGenerator *gen = json_generator_new();
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  gsize len = 0;
  char *text = json_generator_to_data(gen, &len);
  g_object_unref(gen);
  json_node_unref(root);
  char *dir = g_path_get_dirname(file);
  gboolean ok = g_mkdir_with_parents(dir, 0755) == 0;
  if (!ok)
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot create %s: %s", dir, g_strerror(errno));
  else
    ok = g_file_set_contents(file, text, (gssize)len, error);   /* temporary file + rename */
  g_free(dir);
  g_free(text);
  g_free(def);
  return ok;
}

void fr_roofline_get(const char *path, int threads, gboolean remeasure, FrRoofline *out) {
  if (threads <= 0) threads = fr_pool_get_threads();
  if (!remeasure && fr_roofline_load(path, threads, out)) return;
  fr_roofline_measure(threads, out);
  GError *error = NULL;
  if (!fr_roofline_save(path, out, &error)) {
    g_debug("roofline cache not written: %s", error->message);
    g_error_free(error);
  }
}

double fr_roofline_attainable(const FrRoofline *r, double intensity, gboolean one_thread) {
  double peak = one_thread ? r->gemm_gflops_1t : r->gemm_gflops, bw = one_thread ? r->bw_gbs_1t : r->bw_gbs;
  if (!(intensity > 0)) return 0;
  return MIN(peak, intensity * bw);
}
