/* Benchmark (not a test): inference latency of GAN Compression's generators, the same cases as
 * tests/bench/torch_gan.py (run-gan-bench.sh runs both and prints the ratios).
 *
 * Cases: the paper-scale ResNet teacher (ngf 64, 64_64_64_64_64_64_64_64) and the compressed
 * edges2shoes student (32_32_48_32_48_48_16_16 as a mobile generator), 3 channels, 256x256, one image;
 * the miniature's 32x32 one-channel ResNet 16 teacher and mobile 16 and 8 students, one image
 * (latency) and 64 at once (throughput). Random weights (pix2pix's init), random input in [-1, 1].
 * Timed: fr_gan_generator_run, the app's inference call (graph, forward, copy out), `--warmup` untimed
 * calls, then the median of `--runs` (wall time "ms" and process CPU time "cpu_ms", all threads
 * together: on a loaded machine the 1-thread cpu_ms is the cleaner figure). One JSON line per case.
 *
 *   bench-gan --threads 1 [--cases resnet64_256,mobile_e2s_256] [--runs 5] [--warmup 2]
 *   bench-gan --profile --cases resnet64_256        # per-op breakdown on stderr
 *   bench-gan --export DIR --size 64                # generators, inputs and outputs for torch_gan.py --check */
#include "fr-gan.h"
#include "fr-ops.h"
#include "fr-pool.h"
#include "fr-profile.h"
#include "fr-safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  const char *name;
  FrGanKind kind;
  const char *config;
  int in_c, out_c, size, batch;
} Case;

/* the same table as torch_gan.py's CASES */
static const Case cases[] = {
  { "resnet64_256", FR_GAN_RESNET, "64_64_64_64_64_64_64_64", 3, 3, 256, 1 },
  { "mobile_e2s_256", FR_GAN_MOBILE, "32_32_48_32_48_48_16_16", 3, 3, 256, 1 },
  { "mini_resnet16", FR_GAN_RESNET, "16_16_16_16_16_16_16_16", 1, 1, 32, 1 },
  { "mini_mobile16", FR_GAN_MOBILE, "16_16_16_16_16_16_16_16", 1, 1, 32, 1 },
  { "mini_mobile8", FR_GAN_MOBILE, "8_8_8_8_8_8_8_8", 1, 1, 32, 1 },
  { "mini_resnet16_b64", FR_GAN_RESNET, "16_16_16_16_16_16_16_16", 1, 1, 32, 64 },
  { "mini_mobile16_b64", FR_GAN_MOBILE, "16_16_16_16_16_16_16_16", 1, 1, 32, 64 },
  { "mini_mobile8_b64", FR_GAN_MOBILE, "8_8_8_8_8_8_8_8", 1, 1, 32, 64 },
};

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* sorts v */
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* process CPU time, all threads */
static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static float *random_images(int n, int c, int size, guint64 seed) {
  size_t len = (size_t)n * c * size * size;
  float *x = g_new(float, len);
  FrRng rng;
  fr_rng_seed(&rng, seed);
  for (size_t i = 0; i < len; i++) x[i] = (float)(2.0 * fr_rng_uniform(&rng) - 1.0);
  return x;
}

static void run_case(const Case *c, int threads, int runs, int warmup, int batch_override, FrProfile *prof) {
  FrGanConfig cfg;
  g_assert(fr_gan_config_parse(c->config, &cfg, NULL));
  int batch = batch_override > 0 ? batch_override : c->batch;
  FrGanGenerator *g = fr_gan_generator_new(c->kind, &cfg, c->in_c, c->out_c, 1);
  float *x = random_images(batch, c->in_c, c->size, 2);
  float *y = g_new(float, (size_t)batch * c->out_c * c->size * c->size);
  double *t = g_new(double, runs), *cpu = g_new(double, runs);
  if (prof) {
    /* the forward inside fr_gan_generator_run, on a graph with the profiler attached */
    FrGraph *gr = fr_graph_new(0);
    gr->grad_enabled = false;
    for (int i = 0; i < warmup + runs; i++) {
      if (i == warmup) fr_profile_attach(prof, gr);
      FrTensor *xt = fr_tensor_wrap(gr, 4, FR_SHAPE(batch, c->in_c, c->size, c->size), x);
      fr_gan_generator_forward(g, gr, xt, NULL, NULL);
      fr_graph_reset(gr);
    }
    fr_graph_free(gr);
    fprintf(stderr, "%s, %d thread(s), %d runs:\n", c->name, threads, runs);
    fr_profile_print(prof, stderr);
    fr_profile_clear(prof);
  }
  for (int i = 0; i < warmup + runs; i++) {
    double c0 = cpu_ms();
    gint64 t0 = g_get_monotonic_time();
    fr_gan_generator_run(g, NULL, x, batch, c->size, c->size, y);
    double dt = (double)(g_get_monotonic_time() - t0) / 1e3;
    if (i >= warmup) {
      t[i - warmup] = dt;
      cpu[i - warmup] = cpu_ms() - c0;
    }
  }
  size_t n = (size_t)batch * c->out_c * c->size * c->size;
  for (size_t i = 0; i < n; i++) g_assert(isfinite(y[i]));
  double ms = median(t, runs), cms = median(cpu, runs);
  FrGanCost cost = fr_gan_cost(c->kind, &cfg, c->in_c, c->out_c, c->size, c->size);
  printf("{\"peer\": \"frontier\", \"case\": \"%s\", \"kind\": \"%s\", \"config\": \"%s\", \"size\": %d, "
         "\"channels\": %d, \"threads\": %d, \"batch\": %d, \"ms\": %.3f, \"ms_min\": %.3f, \"cpu_ms\": %.3f, \"ms_per_image\": %.4f, "
         "\"images_per_s\": %.1f, \"runs\": %d, \"macs\": %.6g, \"macs_paper\": %.6g}\n",
         c->name, c->kind == FR_GAN_RESNET ? "resnet" : "mobile", c->config, c->size, c->in_c, threads, batch, ms, t[0], cms,
         ms / batch, batch * 1e3 / ms, runs, cost.macs, cost.macs_paper);
  fflush(stdout);
  g_free(t);
  g_free(cpu);
  g_free(x);
  g_free(y);
  fr_gan_generator_free(g);
}

/* DIR/<case>.model.safetensors (the generator, fr_gan_generator_save) and DIR/<case>.io.safetensors
 * (x and Frontier's y), at `size`, with weights scaled up from pix2pix's init so that the output is
 * not flattened to ~0 (a meaningful comparison). */
static gboolean export_case(const Case *c, const char *dir, int size, int batch, GError **error) {
  FrGanConfig cfg;
  g_assert(fr_gan_config_parse(c->config, &cfg, NULL));
  FrGanGenerator *g = fr_gan_generator_new(c->kind, &cfg, c->in_c, c->out_c, 7);
  FrParamSet *ps = fr_gan_generator_params(g);
  for (int i = 0; i < fr_param_set_len(ps); i++) {
    FrTensor *p = fr_param_set_nth(ps, i);
    int64_t fan_in = p->ndim == 4 ? p->shape[1] * p->shape[2] * p->shape[3] : 1;
    if (p->ndim == 4 && strncmp(p->name, "up", 2) == 0) fan_in = p->shape[0] * p->shape[2] * p->shape[3] / 4;
    float s = p->ndim == 4 ? 50.0f / sqrtf((float)fan_in) : 0.0f;
    FrRng rng;
    fr_rng_seed(&rng, 100 + (guint64)i);
    for (int64_t j = 0; j < fr_tensor_numel(p); j++)
      p->data[j] = p->ndim == 4 ? p->data[j] * s : 0.1f * fr_rng_normal(&rng);
  }
  float *x = random_images(batch, c->in_c, size, 3);
  float *y = g_new(float, (size_t)batch * c->out_c * size * size);
  fr_gan_generator_run(g, NULL, x, batch, size, size, y);
  char *mp = g_strdup_printf("%s/%s.model.safetensors", dir, c->name), *ip = g_strdup_printf("%s/%s.io.safetensors", dir, c->name);
  gboolean ok = fr_gan_generator_save(g, mp, NULL, error);
  if (ok) {
    FrSafetensorsWriter *w = fr_safetensors_writer_new();
    fr_safetensors_writer_add(w, "x", FR_DTYPE_F32, 4, FR_SHAPE(batch, c->in_c, size, size), x);
    fr_safetensors_writer_add(w, "y", FR_DTYPE_F32, 4, FR_SHAPE(batch, c->out_c, size, size), y);
    ok = fr_safetensors_writer_save(w, ip, error);
    fr_safetensors_writer_free(w);
  }
  g_free(mp);
  g_free(ip);
  g_free(x);
  g_free(y);
  fr_gan_generator_free(g);
  return ok;
}

int main(int argc, char **argv) {
  int threads = 1, runs = 5, warmup = 2, batch = 0, size = 64;
  char *case_list = NULL, *export_dir = NULL;
  gboolean profile = FALSE;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default 1)", "N" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "Timed runs per case, median reported (default 5)", "N" },
    { "warmup", 'w', 0, G_OPTION_ARG_INT, &warmup, "Untimed runs first (default 2)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Override every case's batch", "N" },
    { "cases", 'c', 0, G_OPTION_ARG_STRING, &case_list, "Comma-separated cases (default all)", "LIST" },
    { "profile", 'p', 0, G_OPTION_ARG_NONE, &profile, "Per-op breakdown on stderr", NULL },
    { "export", 'e', 0, G_OPTION_ARG_FILENAME, &export_dir, "Write generators, inputs and outputs for torch_gan.py --check", "DIR" },
    { "size", 's', 0, G_OPTION_ARG_INT, &size, "Image size for --export (default 64)", "N" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- GAN generator inference speed");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
    fprintf(stderr, "bench-gan: %s\n", error->message);
    return 2;
  }
  g_option_context_free(ctx);
  if (runs < 1 || warmup < 0 || threads < 1 || size < 4 || size % 4) {
    fprintf(stderr, "bench-gan: bad --runs, --warmup, --threads or --size\n");
    return 2;
  }
  fr_pool_set_threads(threads);
  char **names = case_list ? g_strsplit(case_list, ",", -1) : NULL;
  FrProfile *prof = profile ? fr_profile_new() : NULL;
  int rc = 0;
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    if (names && !g_strv_contains((const char *const *)names, cases[i].name)) continue;
    if (export_dir) {
      if (cases[i].batch > 1) continue;   /* the same generator as its one-image case */
      if (!export_case(&cases[i], export_dir, cases[i].size == 32 ? 32 : size, batch > 0 ? batch : 2, &error)) {
        fprintf(stderr, "bench-gan: %s\n", error->message);
        g_clear_error(&error);
        rc = 1;
      }
      continue;
    }
    run_case(&cases[i], threads, runs, warmup, batch, prof);
  }
  if (names)
    for (char **n = names; *n; n++) {
      gboolean known = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS(cases); i++) known |= !strcmp(*n, cases[i].name);
      if (!known) {
        fprintf(stderr, "bench-gan: unknown case %s\n", *n);
        rc = 2;
      }
    }
  if (prof) fr_profile_free(prof);
  g_strfreev(names);
  g_free(case_list);
  g_free(export_dir);
  return rc;
}
