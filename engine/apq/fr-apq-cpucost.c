/* fr-apq-cpucost.c: per-layer latency of an APQ space on this CPU with the engine's own ops, as a
 * LUT file and a cost table. See the header for what is timed and why bits do not matter. */
#include "fr-apq-cpucost.h"

#include "fr-config.h"
#include "fr-model-io.h"
#include "fr-ops.h"
#include "fr-pool.h"
#include "fr-report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#define BN_EPS 1e-5f
#define RELU6_CLIP 6.0f
#define QUANT_BITS 8      /* any bitwidth costs the same; see the header */
#define LUT_HEADER "layer,block,kernel,mid,precision,latency_ms"

static const char *const layer_names[] = { "stem", "head", "expand", "depthwise", "project" };

void fr_apq_cpu_profile_config_init(FrApqCpuProfileConfig *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->repeats = 15;
  cfg->warmup = 3;
  cfg->min_sample_ms = 0.5;
  cfg->threads = 1;
}

FrApqCpuProfileConfig *fr_apq_cpu_profile_config_copy(const FrApqCpuProfileConfig *cfg) {
  FrApqCpuProfileConfig *c = g_memdup2(cfg, sizeof *cfg);
  c->output = g_strdup(cfg->output);
  return c;
}

void fr_apq_cpu_profile_config_free(FrApqCpuProfileConfig *cfg) {
  if (!cfg) return;
  g_free(cfg->output);
  g_free(cfg);
}

char *fr_apq_cpucost_user_path(void) {
  return g_build_filename(g_get_user_data_dir(), "frontier", "apq", "this-cpu.csv", NULL);
}

char *fr_apq_cpucost_find(void) {
  char *user = fr_apq_cpucost_user_path();
  if (g_file_test(user, G_FILE_TEST_IS_REGULAR)) return user;
  g_free(user);
  return fr_data_find("apq/this-cpu.csv");
}

/* ---- one layer, as the supernet runs it --------------------------------------------------------- */

typedef struct {
  FrApqCpuLayer kind;
  int block, kernel, mid;        /* mid: the layer's width as the file keys it */
  int cin, cout, in_hw, stride, groups;
  gboolean quant, identity;
  FrTensor *w, *gamma, *beta, *fc_w, *fc_b;
  float *mean, *var;
  FrTensor *input;               /* for timing the layer alone */
  FrTensor *residual;            /* project of an identity block: the block's input */
} Layer;

static FrTensor *param(const int64_t *shape, int ndim, FrRng *rng, float lo, float hi) {
  FrTensor *t = fr_param_new("x", ndim, shape);
  fr_rng_fill_uniform(rng, t->data, fr_tensor_numel(t), lo, hi);
  return t;
}

/* cin -> cout at in_hw; conv kernel k, stride, groups. For HEAD, cout is the head conv's width and
 * n_classes the classifier's. */
static Layer *layer_new(FrApqCpuLayer kind, int block, int cin, int cout, int in_hw, int k, int stride, int groups,
                        gboolean quant, gboolean identity, int n_classes, FrRng *rng) {
  Layer *L = g_new0(Layer, 1);
  *L = (Layer){ .kind = kind, .block = block, .kernel = k, .cin = cin, .cout = cout, .in_hw = in_hw,
                .stride = stride, .groups = groups, .quant = quant, .identity = identity };
  L->mid = kind == FR_APQ_CPU_PROJECT ? cin : cout;
  float bound = 1.0f / sqrtf((float)(cin / groups * k * k));
  L->w = param(FR_SHAPE(cout, cin / groups, k, k), 4, rng, -bound, bound);
  L->gamma = param(FR_SHAPE(cout), 1, rng, 0.5f, 1.5f);
  L->beta = param(FR_SHAPE(cout), 1, rng, -0.1f, 0.1f);
  L->mean = g_new0(float, cout);
  L->var = g_new(float, cout);
  for (int i = 0; i < cout; i++) L->var[i] = 1.0f;
  /* inputs after ReLU6 lie in [0, 6]; a block's input (a projection, a residual sum) is signed */
  gboolean signed_in = kind == FR_APQ_CPU_STEM || kind == FR_APQ_CPU_EXPAND || kind == FR_APQ_CPU_HEAD;
  L->input = param(FR_SHAPE(1, cin, in_hw, in_hw), 4, rng, signed_in ? -2.0f : 0.0f, signed_in ? 2.0f : RELU6_CLIP);
  if (kind == FR_APQ_CPU_PROJECT && identity) {
    int out_hw = (in_hw + 2 * (k / 2) - k) / stride + 1;
    L->residual = param(FR_SHAPE(1, cout, out_hw, out_hw), 4, rng, -2.0f, 2.0f);
  }
  if (kind == FR_APQ_CPU_HEAD) {
    L->fc_w = param(FR_SHAPE(n_classes, cout), 2, rng, -0.1f, 0.1f);
    L->fc_b = param(FR_SHAPE(n_classes), 1, rng, -0.1f, 0.1f);
  }
  return L;
}

static void layer_free(Layer *L) {
  if (!L) return;
  fr_param_free(L->w);
  fr_param_free(L->gamma);
  fr_param_free(L->beta);
  fr_param_free(L->input);
  if (L->residual) fr_param_free(L->residual);
  if (L->fc_w) fr_param_free(L->fc_w);
  if (L->fc_b) fr_param_free(L->fc_b);
  g_free(L->mean);
  g_free(L->var);
  g_free(L);
}

/* The ops of block_forward (fr-apq-supernet.c) for one layer, and of the stem and head. */
static FrTensor *layer_run(FrGraph *g, const Layer *L, FrTensor *x, FrTensor *residual) {
  FrConv2dParams p = { .stride = L->stride, .padding = L->kernel / 2, .dilation = 1, .groups = L->groups };
  FrTensor *w = L->quant ? fr_fake_quant_weight(g, L->w, QUANT_BITS) : L->w;
  FrAct act = L->kind == FR_APQ_CPU_PROJECT ? FR_ACT_NONE : FR_ACT_RELU6;
  if (L->quant)
    x = L->kind == FR_APQ_CPU_EXPAND ? fr_fake_quant_act_signed(g, x, QUANT_BITS, 0.0f)
                                     : fr_fake_quant_act(g, x, QUANT_BITS, RELU6_CLIP);
  FrTensor *h = fr_conv2d(g, x, w, NULL, p);
  h = fr_batch_norm2d(g, h, L->gamma, L->beta, L->mean, L->var, 0.0f, BN_EPS, act);
  if (L->kind == FR_APQ_CPU_PROJECT && L->identity) h = fr_add(g, h, residual);
  if (L->kind == FR_APQ_CPU_HEAD) h = fr_linear(g, fr_global_avg_pool(g, h), L->fc_w, L->fc_b);
  return h;
}

/* ---- timing ----------------------------------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef void (*RunFn)(FrGraph *g, gpointer data);

static void run_layer(FrGraph *g, gpointer data) {
  const Layer *L = data;
  fr_graph_reset(g);
  layer_run(g, L, L->input, L->residual);
}

typedef struct {
  Layer **layers;   /* stem, (expand, depthwise, project) per active block, head */
  int n;
} Chain;

static void run_chain(FrGraph *g, gpointer data) {
  const Chain *c = data;
  fr_graph_reset(g);
  FrTensor *h = c->layers[0]->input, *block_in = NULL;
  for (int i = 0; i < c->n; i++) {
    const Layer *L = c->layers[i];
    if (L->kind == FR_APQ_CPU_EXPAND) block_in = h;
    h = layer_run(g, L, h, block_in);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median over samples of the mean run time in ms; see the header. */
static double measure(FrGraph *g, RunFn fn, gpointer data, const FrApqCpuProfileConfig *cfg) {
  double t0 = now_s();
  fn(g, data);
  double one = now_s() - t0;
  double min_s = cfg->min_sample_ms * 1e-3;
  int inner = one > 0 ? (int)CLAMP(ceil(min_s / one), 1.0, 100000.0) : 1000;
  double *samples = g_new(double, cfg->repeats);
  for (int r = -cfg->warmup; r < cfg->repeats; r++) {
    double s0 = now_s();
    for (int i = 0; i < inner; i++) fn(g, data);
    double dt = (now_s() - s0) / inner;
    if (r >= 0) samples[r] = dt;
  }
  qsort(samples, cfg->repeats, sizeof(double), cmp_double);
  int n = cfg->repeats;
  double med = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  g_free(samples);
  return 1e3 * med;
}

/* ---- machine description ---------------------------------------------------------------------- */

static char *cpu_model(void) {
  g_autofree char *text = NULL;
  if (g_file_get_contents("/proc/cpuinfo", &text, NULL, NULL)) {
    static const char *const keys[] = { "model name", "Hardware", "Processor", "cpu model" };
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (guint k = 0; k < G_N_ELEMENTS(keys); k++)
      for (int i = 0; lines[i]; i++) {
        char *colon = strchr(lines[i], ':');
        if (!colon || strncmp(lines[i], keys[k], strlen(keys[k])) != 0) continue;
        char *v = g_strstrip(g_strdup(colon + 1));
        if (*v) return v;
        g_free(v);
      }
  }
  return g_strdup("unknown CPU");
}

static char *machine_words(void) {
  struct utsname u;
  if (uname(&u) == 0) return g_strdup_printf("%s %s", u.sysname, u.machine);
  return g_strdup("unknown");
}

/* "# key: value" lines must stay one line each */
static char *one_line(const char *text) {
  char *s = g_strdup(text);
  for (char *p = s; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  return s;
}

/* ---- the profile job -------------------------------------------------------------------------- */

typedef struct {
  GString *csv;
  int rows;
} Out;

static void add_row(Out *o, const Layer *L, double ms) {
  int block = L->kind == FR_APQ_CPU_STEM || L->kind == FR_APQ_CPU_HEAD ? -1 : L->block;
  g_string_append_printf(o->csv, "%s,%d,%d,%d,%s,%.6g\n", layer_names[L->kind], block, L->kernel, L->mid,
                         L->quant ? "quant" : "fp32", ms);
  o->rows++;
}

static int n_profiled_blocks(const FrApqSpace *s, const FrApqCpuProfileConfig *cfg) {
  return cfg->blocks > 0 ? MIN(cfg->blocks, s->n_blocks) : s->n_blocks;
}

/* Layers of block b for one (kernel, mid) at one precision; made on demand. */
static Layer *block_layer(const FrApqSpace *s, int b, FrApqCpuLayer kind, int ks, int mid, gboolean quant, FrRng *rng) {
  const FrApqBlock *bl = &s->blocks[b];
  Layer *L;
  if (kind == FR_APQ_CPU_EXPAND) L = layer_new(kind, b, bl->cin, mid, bl->in_hw, 1, 1, 1, quant, FALSE, 0, rng);
  else if (kind == FR_APQ_CPU_DEPTHWISE) L = layer_new(kind, b, mid, mid, bl->in_hw, ks, bl->stride, mid, quant, FALSE, 0, rng);
  else L = layer_new(kind, b, mid, bl->cout, bl->out_hw, 1, 1, 1, quant, bl->identity, 0, rng);
  return L;
}

static Layer *stem_layer(const FrApqSpace *s, FrRng *rng) {
  return layer_new(FR_APQ_CPU_STEM, -1, s->in_channels, s->stem_channels, s->in_hw, s->stem_kernel, s->stem_stride, 1,
                   FALSE, FALSE, 0, rng);
}

static Layer *head_layer(const FrApqSpace *s, FrRng *rng) {
  const FrApqBlock *last = &s->blocks[s->n_blocks - 1];
  return layer_new(FR_APQ_CPU_HEAD, -1, last->cout, s->head_channels, last->out_hw, 1, 1, 1, FALSE, FALSE,
                   s->n_classes, rng);
}

/* The largest fp32 network end to end, with the same ops. */
static double measure_largest(const FrApqSpace *s, FrGraph *g, const FrApqCpuProfileConfig *cfg, FrRng *rng) {
  Chain c = { g_new0(Layer *, 2 + 3 * s->n_blocks), 0 };
  c.layers[c.n++] = stem_layer(s, rng);
  for (int b = 0; b < s->n_blocks; b++) {
    int mid = s->blocks[b].mid_options[s->blocks[b].n_mid - 1], ks = s->ks_options[FR_APQ_N_KS - 1];
    c.layers[c.n++] = block_layer(s, b, FR_APQ_CPU_EXPAND, ks, mid, FALSE, rng);
    c.layers[c.n++] = block_layer(s, b, FR_APQ_CPU_DEPTHWISE, ks, mid, FALSE, rng);
    c.layers[c.n++] = block_layer(s, b, FR_APQ_CPU_PROJECT, ks, mid, FALSE, rng);
  }
  c.layers[c.n++] = head_layer(s, rng);
  double ms = measure(g, run_chain, &c, cfg);
  for (int i = 0; i < c.n; i++) layer_free(c.layers[i]);
  g_free(c.layers);
  return ms;
}

gboolean fr_apq_cpu_profile_job(FrJob *job, gpointer data, GError **error) {
  const FrApqCpuProfileConfig *cfg = data;
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  if (cfg->repeats < 1 || cfg->repeats > 10000 || cfg->warmup < 0 || cfg->warmup > 10000 ||
      !(cfg->min_sample_ms >= 0 && cfg->min_sample_ms <= 1000) || cfg->blocks < 0 || cfg->threads < 0) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "APQ profile: repeats must be 1..10000, warm-up 0..10000, the sample length 0..1000 ms, and "
                "blocks and threads >= 0");
    return FALSE;
  }
  g_autofree char *path = cfg->output ? g_strdup(cfg->output) : fr_apq_cpucost_user_path();
  double t_start = now_s();
  int old_threads = fr_pool_get_threads();
  if (cfg->threads > 0) fr_pool_set_threads(cfg->threads);
  int threads = fr_pool_get_threads();

  const int nb = n_profiled_blocks(s, cfg);
  int total = 2 + 1;   /* stem, head, and the end-to-end run */
  for (int b = 0; b < nb; b++) total += 2 * 5 * s->blocks[b].n_mid;

  Out o = { g_string_new(NULL), 0 };
  FrGraph *g = fr_graph_new(0);
  g->grad_enabled = false;
  g->training = false;
  FrRng rng;
  fr_rng_seed(&rng, 1);
  gboolean ok = TRUE;
  int done = 0;
  for (int part = 0; part < 2 && ok; part++) {
    Layer *L = part == 0 ? stem_layer(s, &rng) : head_layer(s, &rng);
    double ms = measure(g, run_layer, L, cfg);
    add_row(&o, L, ms);
    layer_free(L);
    fr_job_progress(job, (double)++done / total, "APQ profile: %s %.4f ms", part == 0 ? "stem" : "head", ms);
  }
  for (int b = 0; b < nb && ok; b++) {
    const FrApqBlock *bl = &s->blocks[b];
    for (int q = 0; q < 2 && ok; q++)
      for (int m = 0; m < bl->n_mid && ok; m++)
        for (int kind = FR_APQ_CPU_EXPAND; kind <= FR_APQ_CPU_PROJECT && ok; kind++)
          for (int k = 0; k < (kind == FR_APQ_CPU_DEPTHWISE ? FR_APQ_N_KS : 1) && ok; k++) {
            if (fr_job_is_cancelled(job)) {
              g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "APQ profile cancelled (nothing written)");
              ok = FALSE;
              break;
            }
            int ks = kind == FR_APQ_CPU_DEPTHWISE ? s->ks_options[k] : 1;
            Layer *L = block_layer(s, b, (FrApqCpuLayer)kind, ks, bl->mid_options[m], q == 1, &rng);
            double ms = measure(g, run_layer, L, cfg);
            add_row(&o, L, ms);
            layer_free(L);
            fr_job_progress(job, (double)++done / total, "APQ profile: block %d/%d %s k%d mid %d %s: %.4f ms", b + 1,
                            nb, layer_names[kind], ks, bl->mid_options[m], q ? "quant" : "fp32", ms);
          }
  }
  double whole = NAN, small_ms = NAN, large_ms = NAN;
  if (ok && fr_job_is_cancelled(job)) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "APQ profile cancelled (nothing written)");
    ok = FALSE;
  }
  if (ok) {
    whole = measure_largest(s, g, cfg, &rng);
    fr_job_progress(job, 1.0, "APQ profile: the largest fp32 network end to end: %.4f ms", whole);
  }
  fr_graph_free(g);
  if (cfg->threads > 0) fr_pool_set_threads(old_threads);

  GString *file = g_string_new(NULL);
  if (ok) {
    g_autofree char *cpu = cpu_model();
    g_autofree char *cpu1 = one_line(cpu);
    g_autofree char *machine = machine_words();
    g_autoptr(GDateTime) dt = g_date_time_new_now_utc();
    g_autofree char *date = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
    g_string_append_printf(file,
                           "# Frontier APQ latency table of this CPU (frontier-cli apq profile)\n"
                           "# space: %s\n# cpu: %s\n# machine: %s\n# threads: %d\n# date: %s\n# frontier: %s\n"
                           "# repeats: %d\n# warmup: %d\n# min_sample_ms: %g\n# blocks: %d of %d\n"
                           "# largest_fp32_network_ms: %.6g (measured end to end)\n"
                           "# method: batch 1, float32 engine ops as the supernet runs them; 'quant' adds fake "
                           "quantization at %d bits (any bitwidth costs the same); latency_ms is the median of the "
                           "samples\n" LUT_HEADER "\n%s",
                           s->name, cpu1, machine, threads, date, FR_VERSION, cfg->repeats, cfg->warmup,
                           cfg->min_sample_ms, nb, s->n_blocks, whole, QUANT_BITS, o.csv->str);
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0755) != 0) {
      int e = errno;
      g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_FAILED, "cannot create the folder %s: %s", dir, g_strerror(e));
      ok = FALSE;
    }
  }
  ok = ok && fr_report_write_file(path, file->str, file->len, error);
  g_string_free(file, TRUE);
  if (ok && nb == s->n_blocks) {
    /* the table's view of the extremes, read back from what was written */
    g_autoptr(FrApqCpuLut) lut = fr_apq_cpu_lut_load(path, NULL);
    FrApqCostTable *t = lut ? fr_apq_cpu_lut_cost_table(lut, s, NULL) : NULL;
    if (t) {
      FrApqSpec spec;
      double c[FR_APQ_COST_MAX_OBJECTIVES];
      fr_apq_spec_smallest(s, 0, &spec);
      if (fr_apq_cost_table_eval(t, &spec, c)) small_ms = c[0];
      fr_apq_spec_largest(s, 0, &spec);
      if (fr_apq_cost_table_eval(t, &spec, c)) large_ms = c[0];
      fr_apq_cost_table_unref(t);
    }
  }
  if (ok)
    fr_job_emit(job, "apq.profile.result",
                g_variant_new(FR_APQ_PROFILE_RESULT_TYPE, path, (guint32)o.rows, now_s() - t_start, small_ms, large_ms,
                              whole),
                NULL);
  g_string_free(o.csv, TRUE);
  return ok;
}

/* ---- the LUT file ----------------------------------------------------------------------------- */

struct _FrApqCpuLut {
  GHashTable *info;    /* key -> value */
  GHashTable *rows;    /* "layer/block/kernel/mid/q" -> double* */
  int n;
};

static char *row_key(FrApqCpuLayer layer, int block, int kernel, int mid, gboolean quant) {
  if (layer == FR_APQ_CPU_STEM || layer == FR_APQ_CPU_HEAD) return g_strdup_printf("%s/%d", layer_names[layer], quant);
  if (layer != FR_APQ_CPU_DEPTHWISE) kernel = 1;
  return g_strdup_printf("%s/%d/%d/%d/%d", layer_names[layer], block, kernel, mid, quant);
}

void fr_apq_cpu_lut_free(FrApqCpuLut *lut) {
  if (!lut) return;
  g_hash_table_unref(lut->info);
  g_hash_table_unref(lut->rows);
  g_free(lut);
}

static gboolean parse_int(const char *path, int line, const char *name, const char *text, int lo, int hi, int *out,
                          GError **error) {
  gint64 v;
  if (!g_ascii_string_to_signed(text, 10, lo, hi, &v, NULL)) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: %s \"%s\" is not an integer in %d..%d", path, line,
                name, text, lo, hi);
    return FALSE;
  }
  *out = (int)v;
  return TRUE;
}

FrApqCpuLut *fr_apq_cpu_lut_load(const char *path, GError **error) {
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, error)) return NULL;
  FrApqCpuLut *lut = g_new0(FrApqCpuLut, 1);
  lut->info = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  lut->rows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  gboolean header = FALSE, ok = TRUE;
  for (int i = 0; lines[i] && ok; i++) {
    int line = i + 1;
    char *l = lines[i];
    size_t len = strlen(l);
    if (len && l[len - 1] == '\r') l[len - 1] = '\0';
    if (!*l) {
      if (lines[i + 1] && *lines[i + 1]) {
        g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: empty line", path, line);
        ok = FALSE;
      }
      continue;
    }
    if (l[0] == '#') {
      char *colon = strchr(l, ':');
      if (colon && !header) {
        char *key = g_strstrip(g_strndup(l + 1, (gsize)(colon - l - 1)));
        g_hash_table_replace(lut->info, key, g_strstrip(g_strdup(colon + 1)));
      }
      continue;
    }
    if (!header) {
      if (strcmp(l, LUT_HEADER) != 0) {
        g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: expected the header \"%s\"", path, line, LUT_HEADER);
        ok = FALSE;
      }
      header = TRUE;
      continue;
    }
    g_auto(GStrv) f = g_strsplit(l, ",", -1);
    if (g_strv_length(f) != 6) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: expected 6 comma-separated fields, found %u", path,
                  line, g_strv_length(f));
      ok = FALSE;
      break;
    }
    int layer = -1, block, kernel, mid;
    for (guint k = 0; k < G_N_ELEMENTS(layer_names); k++)
      if (!strcmp(f[0], layer_names[k])) layer = (int)k;
    gboolean quant = !strcmp(f[4], "quant");
    if (layer < 0 || (!quant && strcmp(f[4], "fp32") != 0)) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: unknown %s \"%s\"", path, line,
                  layer < 0 ? "layer" : "precision", layer < 0 ? f[0] : f[4]);
      ok = FALSE;
      break;
    }
    if (!parse_int(path, line, "block", f[1], -1, FR_APQ_MAX_BLOCKS - 1, &block, error) ||
        !parse_int(path, line, "kernel", f[2], 1, 64, &kernel, error) ||
        !parse_int(path, line, "mid", f[3], 1, 1 << 20, &mid, error)) {
      ok = FALSE;
      break;
    }
    char *end = NULL;
    double ms = g_ascii_strtod(f[5], &end);
    if (!*f[5] || *end || !isfinite(ms) || ms < 0) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: latency_ms \"%s\" is not a finite number >= 0", path,
                  line, f[5]);
      ok = FALSE;
      break;
    }
    char *key = row_key((FrApqCpuLayer)layer, block, kernel, mid, quant);
    if (g_hash_table_contains(lut->rows, key)) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s:%d: repeats an earlier row (%s)", path, line, key);
      g_free(key);
      ok = FALSE;
      break;
    }
    g_hash_table_insert(lut->rows, key, g_memdup2(&ms, sizeof ms));
    lut->n++;
  }
  if (ok && !header) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s: no \"%s\" header: not a Frontier CPU latency table", path,
                LUT_HEADER);
    ok = FALSE;
  }
  if (!ok) g_clear_pointer(&lut, fr_apq_cpu_lut_free);
  return lut;
}

const char *fr_apq_cpu_lut_get_info(const FrApqCpuLut *lut, const char *key) {
  return g_hash_table_lookup(lut->info, key);
}

int fr_apq_cpu_lut_size(const FrApqCpuLut *lut) { return lut->n; }

gboolean fr_apq_cpu_lut_layer(const FrApqCpuLut *lut, FrApqCpuLayer layer, int block, int kernel, int mid,
                              gboolean quantized, double *ms) {
  g_autofree char *key = row_key(layer, block, kernel, mid, quantized && layer != FR_APQ_CPU_STEM && layer != FR_APQ_CPU_HEAD);
  const double *v = g_hash_table_lookup(lut->rows, key);
  if (v && ms) *ms = *v;
  return v != NULL;
}

typedef struct {
  const FrApqCpuLut *lut;
  const FrApqCostTable *counts;
} CpuTablePricer;

static int option_index(const int *opts, int n, int v) {
  for (int i = 0; i < n; i++)
    if (opts[i] == v) return i;
  return -1;
}

static gboolean cpu_block(const FrApqSpace *s, int b, int ks, int mid, int pw_w, int pw_a, int dw_w, int dw_a,
                          double *c, void *user, GError **error) {
  const CpuTablePricer *p = user;
  gboolean q = pw_w != 32;
  c[0] = 0;
  for (int kind = FR_APQ_CPU_EXPAND; kind <= FR_APQ_CPU_PROJECT; kind++) {
    double ms;
    if (!fr_apq_cpu_lut_layer(p->lut, (FrApqCpuLayer)kind, b, ks, mid, q, &ms)) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                  "the CPU latency table has no %s row for block %d (kernel %d, %d mid channels, %s): it is partial "
                  "or of another space; run `frontier-cli apq profile` to measure the whole space",
                  layer_names[kind], b, ks, mid, q ? "quant" : "fp32");
      return FALSE;
    }
    c[0] += ms;
  }
  int code = FR_APQ_BITS_CODE_FP;
  if (q) {
    const int *bo = s->bit_options;
    code = ((option_index(bo, FR_APQ_N_BITS, pw_w) * 3 + option_index(bo, FR_APQ_N_BITS, pw_a)) * 3 +
            option_index(bo, FR_APQ_N_BITS, dw_w)) * 3 + option_index(bo, FR_APQ_N_BITS, dw_a);
  }
  c[1] = fr_apq_cost_table_entry(p->counts, b, option_index(s->ks_options, FR_APQ_N_KS, ks),
                                 option_index(s->blocks[b].mid_options, s->blocks[b].n_mid, mid), code)[1];
  return TRUE;
}

FrApqCostTable *fr_apq_cpu_lut_cost_table(const FrApqCpuLut *lut, const FrApqSpace *space, GError **error) {
  const char *sp = fr_apq_cpu_lut_get_info(lut, "space");
  if (!sp || strcmp(sp, space->name) != 0) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                "the CPU latency table is of the %s space, not %s; run `frontier-cli apq profile`",
                sp ? sp : "(unnamed)", space->name);
    return NULL;
  }
  double stem, head;
  if (!fr_apq_cpu_lut_layer(lut, FR_APQ_CPU_STEM, -1, 0, 0, FALSE, &stem) ||
      !fr_apq_cpu_lut_layer(lut, FR_APQ_CPU_HEAD, -1, 0, 0, FALSE, &head)) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                "the CPU latency table has no stem or head row; run `frontier-cli apq profile`");
    return NULL;
  }
  FrApqCostTable *counts = fr_apq_cost_table_new_counts(space);
  CpuTablePricer p = { lut, counts };
  const double fixed[2] = { stem + head, fr_apq_cost_table_fixed(counts)[1] };
  const char *names[2] = { "latency_ms", "bitops" }, *units[2] = { "ms", "BitOps" };
  FrApqCostTable *t = fr_apq_cost_table_new(space, 2, names, units, fixed, cpu_block, &p, error);
  fr_apq_cost_table_unref(counts);
  return t;
}
