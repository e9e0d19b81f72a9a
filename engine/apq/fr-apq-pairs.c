/* fr-apq-pairs.c: measuring accuracy pairs on worker threads, resumable CSV, and the reader. */
#include "fr-apq-pairs.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include "fr-apq-train.h"
#include "fr-model-io.h"
#include "fr-pool.h"
#include "fr-report.h"

#define CSV_HEADER "index,spec,accuracy,macs,bitops,params,seconds"
#define EVAL_BATCH 250

void fr_apq_pairs_config_init(FrApqPairsConfig *cfg, gboolean quantized) {
  memset(cfg, 0, sizeof *cfg);
  cfg->quantized = quantized;
  cfg->count = quantized ? 300 : 2000;
  cfg->seed = quantized ? 2 : 1;
  cfg->calib_images = 1000;
  cfg->eval_images = 10000;
  cfg->finetune_steps = 80;
  cfg->finetune_batch = 64;
  cfg->finetune_lr = 5e-4;
}

FrApqPairsConfig *fr_apq_pairs_config_copy(const FrApqPairsConfig *cfg) {
  FrApqPairsConfig *c = g_memdup2(cfg, sizeof *cfg);
  c->supernet = g_strdup(cfg->supernet);
  c->output = g_strdup(cfg->output);
  c->data_dir = g_strdup(cfg->data_dir);
  return c;
}

void fr_apq_pairs_config_free(gpointer p) {
  FrApqPairsConfig *c = p;
  if (!c) return;
  g_free(c->supernet);
  g_free(c->output);
  g_free(c->data_dir);
  g_free(c);
}

void fr_apq_pairs_spec(const FrApqSpace *space, gboolean quantized, guint64 seed, int i, FrApqSpec *out) {
  FrRng rng;
  fr_rng_seed(&rng, seed * 0x9E3779B97F4A7C15ull + (guint64)i * 1315423911u + (quantized ? 77 : 0));
  fr_apq_spec_random(space, &rng, quantized, out);
}

/* ---- reading ---------------------------------------------------------------------------------- */

/* Splits one CSV line (RFC 4180 quoting) into at most max fields; returns the count or -1. */
static int csv_split(char *line, char **fields, int max) {
  int n = 0;
  char *p = line;
  for (;;) {
    if (n == max) return -1;
    if (*p == '"') {
      char *out = ++p;
      fields[n++] = out;
      for (;;) {
        if (!*p) return -1;
        if (*p == '"' && p[1] == '"') *out++ = '"', p += 2;
        else if (*p == '"') { p++; break; }
        else *out++ = *p++;
      }
      *out = '\0';
      if (*p != ',' && *p) return -1;
    } else {
      fields[n++] = p;
      while (*p && *p != ',') p++;
    }
    if (!*p) return n;
    *p++ = '\0';
  }
}

static gboolean parse_double(const char *s, double *v) {
  char *end = NULL;
  *v = g_ascii_strtod(s, &end);
  return end != s && *end == '\0';
}

FrApqPairs *fr_apq_pairs_load(const char *path, const FrApqSpace *space, GError **error) {
  char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, error)) return NULL;
  char **lines = g_strsplit(text, "\n", -1);
  g_free(text);
  FrApqPairs *p = g_new0(FrApqPairs, 1);
  int cap = (int)g_strv_length(lines);
  p->specs = g_new(FrApqSpec, cap);
  p->accuracy = g_new(double, cap);
  p->macs = g_new(double, cap);
  p->bitops = g_new(double, cap);
  gboolean ok = lines[0] && !strcmp(g_strchomp(lines[0]), CSV_HEADER);
  if (!ok) g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s: line 1: expected the header \"%s\"", path, CSV_HEADER);
  for (int i = 1; ok && lines[i]; i++) {
    char *line = g_strchomp(lines[i]);
    if (!*line) continue;
    char *f[8];
    double idx, acc, macs, bitops, params, secs;
    GError *e = NULL;
    if (csv_split(line, f, 8) != 7 || !parse_double(f[0], &idx) || idx != p->n || !parse_double(f[2], &acc) ||
        !(acc >= 0 && acc <= 1) || !parse_double(f[3], &macs) || !parse_double(f[4], &bitops) ||
        !parse_double(f[5], &params) || !parse_double(f[6], &secs)) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE,
                  "%s: line %d: expected %s with index %d and accuracy in 0..1", path, i + 1, CSV_HEADER, p->n);
      ok = FALSE;
    } else if (!fr_apq_spec_from_string(space, f[1], &p->specs[p->n], &e)) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s: line %d: %s", path, i + 1, e->message);
      g_error_free(e);
      ok = FALSE;
    } else {
      p->accuracy[p->n] = acc;
      p->macs[p->n] = macs;
      p->bitops[p->n] = bitops;
      p->n++;
    }
  }
  g_strfreev(lines);
  if (ok && p->n == 0) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s: no pairs", path);
    ok = FALSE;
  }
  if (!ok) {
    fr_apq_pairs_free(p);
    return NULL;
  }
  return p;
}

void fr_apq_pairs_free(FrApqPairs *p) {
  if (!p) return;
  g_free(p->specs);
  g_free(p->accuracy);
  g_free(p->macs);
  g_free(p->bitops);
  g_free(p);
}

float *fr_apq_pairs_features(const FrApqPairs *p, const FrApqSpace *space, int from, int n) {
  int dim = space->arch_dim + space->quant_dim;
  float *x = g_new(float, (size_t)n * dim);
  for (int i = 0; i < n; i++) fr_apq_spec_encode(space, &p->specs[from + i], x + (size_t)i * dim);
  return x;
}

/* ---- measuring ------------------------------------------------------------------------------- */

typedef struct {
  const FrApqPairsConfig *cfg;
  const FrApqSpace *space;
  FrApqSupernet *net;
  FrFmnist *data;
  GMutex lock;
  GCond cond;
  int next, count;
  double *acc, *secs;
  gboolean *done;
  gboolean stop;
} Work;

static void measure(Work *w, int i) {
  gint64 t0 = g_get_monotonic_time();
  FrApqSpec spec;
  fr_apq_pairs_spec(w->space, w->cfg->quantized, w->cfg->seed, i, &spec);
  FrApqSupernet *net = w->net;
  if (w->cfg->quantized) {
    net = fr_apq_supernet_clone(w->net);
    fr_apq_finetune(net, &spec, w->data, FR_APQ_TRAIN_IMAGES, w->cfg->finetune_steps, w->cfg->finetune_batch,
                    w->cfg->finetune_lr, w->cfg->seed * 1000 + (guint64)i);
  }
  FrApqBnStats *bn = fr_apq_bn_stats_new(net);
  int px = w->data->rows * w->data->cols;
  fr_apq_supernet_calibrate(net, &spec, bn, w->data->pixels, w->cfg->calib_images, EVAL_BATCH);
  int n_eval = MIN(w->cfg->eval_images, w->data->n - FR_APQ_TRAIN_IMAGES);
  double acc = fr_apq_supernet_accuracy(net, &spec, bn, w->data->pixels + (size_t)FR_APQ_TRAIN_IMAGES * px,
                                        w->data->labels + FR_APQ_TRAIN_IMAGES, n_eval, EVAL_BATCH);
  fr_apq_bn_stats_free(bn);
  if (net != w->net) fr_apq_supernet_free(net);
  g_mutex_lock(&w->lock);
  w->acc[i] = acc;
  w->secs[i] = (g_get_monotonic_time() - t0) / 1e6;
  w->done[i] = TRUE;
  g_cond_broadcast(&w->cond);
  g_mutex_unlock(&w->lock);
}

static gpointer worker_main(gpointer data) {
  Work *w = data;
  for (;;) {
    g_mutex_lock(&w->lock);
    int i = w->stop || w->next >= w->count ? -1 : w->next++;
    g_mutex_unlock(&w->lock);
    if (i < 0) return NULL;
    measure(w, i);
  }
}

/* Rows already on disk that this run would also write; truncates a torn last line. Returns the
 * number of rows to keep, or -1 with error when the file belongs to another run. */
static int resume_rows(const char *path, const FrApqSpace *space, const FrApqPairsConfig *cfg, GError **error) {
  char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &text, &len, NULL)) return 0;
  gsize keep = 0;
  int rows = 0;
  gboolean ok = TRUE;
  char *line = text;
  for (int ln = 0; ok; ln++) {
    char *nl = strchr(line, '\n');
    if (!nl) break;   /* a torn last line (no newline) is dropped */
    *nl = '\0';
    if (ln == 0) {
      ok = !strcmp(line, CSV_HEADER);
    } else {
      char *f[8];
      FrApqSpec spec;
      fr_apq_pairs_spec(space, cfg->quantized, cfg->seed, rows, &spec);
      char *want = fr_apq_spec_to_string(space, &spec);
      ok = csv_split(line, f, 8) == 7 && atoi(f[0]) == rows && !strcmp(f[1], want);
      g_free(want);
      if (ok) rows++;
    }
    if (ok) keep = (gsize)(nl + 1 - text);
    line = nl + 1;
  }
  g_free(text);
  if (!ok) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT,
                "%s: row %d is not what this run (seed %" G_GUINT64_FORMAT ", %s) would write; remove the file or use "
                "the seed that made it",
                path, rows, cfg->seed, cfg->quantized ? "quantized" : "fp32");
    return -1;
  }
  if (keep < len && truncate(path, (off_t)keep) != 0) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: cannot truncate: %s", path, g_strerror(errno));
    return -1;
  }
  return rows;
}

static gboolean write_json(const char *csv_path, const FrApqSpace *space, const FrApqPairsConfig *cfg, GError **error) {
  FrApqPairs *p = fr_apq_pairs_load(csv_path, space, error);
  if (!p) return FALSE;
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "space");
  json_builder_add_string_value(b, space->name);
  json_builder_set_member_name(b, "kind");
  json_builder_add_string_value(b, cfg->quantized ? "quantized" : "fp32");
  json_builder_set_member_name(b, "seed");
  json_builder_add_int_value(b, (gint64)cfg->seed);
  json_builder_set_member_name(b, "calibration_images");
  json_builder_add_int_value(b, cfg->calib_images);
  json_builder_set_member_name(b, "eval_images");
  json_builder_add_int_value(b, cfg->eval_images);
  if (cfg->quantized) {
    json_builder_set_member_name(b, "finetune");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "steps");
    json_builder_add_int_value(b, cfg->finetune_steps);
    json_builder_set_member_name(b, "batch");
    json_builder_add_int_value(b, cfg->finetune_batch);
    json_builder_set_member_name(b, "lr");
    json_builder_add_double_value(b, cfg->finetune_lr);
    json_builder_end_object(b);
  }
  json_builder_set_member_name(b, "pairs");
  json_builder_begin_array(b);
  for (int i = 0; i < p->n; i++) {
    json_builder_begin_object(b);
    char *s = fr_apq_spec_to_string(space, &p->specs[i]);
    json_builder_set_member_name(b, "spec");
    json_builder_add_string_value(b, s);
    g_free(s);
    json_builder_set_member_name(b, "accuracy");
    json_builder_add_double_value(b, p->accuracy[i]);
    json_builder_set_member_name(b, "macs");
    json_builder_add_double_value(b, p->macs[i]);
    json_builder_set_member_name(b, "bitops");
    json_builder_add_double_value(b, p->bitops[i]);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  JsonGenerator *gen = json_generator_new();
  JsonNode *root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  gsize len = 0;
  char *text = json_generator_to_data(gen, &len);
  char *json_path = g_str_has_suffix(csv_path, ".csv") ? g_strndup(csv_path, strlen(csv_path) - 4) : g_strdup(csv_path);
  char *full = g_strconcat(json_path, ".json", NULL);
  gboolean ok = fr_report_write_file(full, text, len, error);
  g_free(full);
  g_free(json_path);
  g_free(text);
  json_node_unref(root);
  g_object_unref(gen);
  g_object_unref(b);
  fr_apq_pairs_free(p);
  return ok;
}

gboolean fr_apq_pairs_job(FrJob *job, gpointer data, GError **error) {
  const FrApqPairsConfig *cfg = data;
  if (cfg->count < 1 || cfg->count > 1000000 || cfg->threads < 0 || cfg->calib_images < 1 || cfg->eval_images < 1 ||
      cfg->finetune_steps < 0 || cfg->finetune_batch < 2 || !(cfg->finetune_lr > 0) || !cfg->output) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "invalid pair settings: count >= 1, images >= 1, fine-tune batch >= 2, a learning rate > 0, an output");
    return FALSE;
  }
  char *supernet = cfg->supernet ? g_strdup(cfg->supernet) : fr_data_find("apq/supernet.safetensors");
  if (!supernet) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "no supernet: run `frontier-cli apq supernet` first");
    return FALSE;
  }
  Work w = { .cfg = cfg, .count = cfg->count };
  w.net = fr_apq_supernet_load(supernet, error);
  g_free(supernet);
  if (!w.net) return FALSE;
  w.space = fr_apq_supernet_space(w.net);
  w.data = fr_fmnist_load(cfg->data_dir, TRUE, error);
  if (w.data && (w.data->n <= FR_APQ_TRAIN_IMAGES || cfg->calib_images > FR_APQ_TRAIN_IMAGES)) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "pairs need the full Fashion-MNIST training set (%d images: %d to train and calibrate on, the rest "
                "held out), and at most %d calibration images; this one has %d",
                FR_APQ_TRAIN_IMAGES + 10000, FR_APQ_TRAIN_IMAGES, FR_APQ_TRAIN_IMAGES, w.data->n);
    fr_fmnist_free(w.data);
    w.data = NULL;
  }
  if (!w.data) {
    fr_apq_supernet_free(w.net);
    return FALSE;
  }
  int start = cfg->resume ? resume_rows(cfg->output, w.space, cfg, error) : 0;
  FILE *f = NULL;
  if (start >= 0) {
    char *dir = g_path_get_dirname(cfg->output);
    g_mkdir_with_parents(dir, 0755);
    g_free(dir);
    f = fopen(cfg->output, start > 0 ? "a" : "w");
    if (!f) g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", cfg->output, g_strerror(errno));
    else if (start == 0) fprintf(f, "%s\n", CSV_HEADER);
    if (start > 0) fr_job_log(job, "resuming: %d pairs already in %s", start, cfg->output);
  }
  if (!f) {
    fr_fmnist_free(w.data);
    fr_apq_supernet_free(w.net);
    return FALSE;
  }
  g_mutex_init(&w.lock);
  g_cond_init(&w.cond);
  w.next = start;
  w.acc = g_new0(double, cfg->count);
  w.secs = g_new0(double, cfg->count);
  w.done = g_new0(gboolean, cfg->count);
  /* one subnet per thread: the kernels then run single-threaded, with no pool hand-offs */
  int threads = cfg->threads > 0 ? cfg->threads : (int)g_get_num_processors();
  int old_threads = fr_pool_get_threads();
  fr_pool_set_threads(1);
  GThread **workers = g_new(GThread *, threads);
  for (int t = 0; t < threads; t++) workers[t] = g_thread_new("apq-pairs", worker_main, &w);

  gint64 t0 = g_get_monotonic_time();
  int written = start;
  double acc_sum = 0;
  gboolean ok = TRUE;
  g_mutex_lock(&w.lock);
  while (written < cfg->count) {
    if (fr_job_is_cancelled(job)) {
      w.stop = TRUE;
      ok = FALSE;
      g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "cancelled");
      break;
    }
    if (!w.done[written]) {
      g_cond_wait_until(&w.cond, &w.lock, g_get_monotonic_time() + 200000);
      continue;
    }
    int i = written++;
    double acc = w.acc[i], secs = w.secs[i];
    g_mutex_unlock(&w.lock);
    FrApqSpec spec;
    fr_apq_pairs_spec(w.space, cfg->quantized, cfg->seed, i, &spec);
    char *s = fr_apq_spec_to_string(w.space, &spec);
    double macs = fr_apq_spec_macs(w.space, &spec);
    fprintf(f, "%d,\"%s\",%.4f,%.0f,%.0f,%" G_GINT64_FORMAT ",%.2f\n", i, s, acc, macs, fr_apq_spec_bitops(w.space, &spec),
            fr_apq_spec_params(w.space, &spec), secs);
    fflush(f);
    g_free(s);
    acc_sum += acc;
    double el = (g_get_monotonic_time() - t0) / 1e6;
    fr_job_emit(job, "apq.pair", g_variant_new("(uddd)", (guint32)i, acc, macs, secs), NULL);
    fr_job_progress(job, (double)written / cfg->count, "%d/%d pairs, last %.2f%% at %.2fM MACs, %.1f s elapsed", written,
                    cfg->count, 100 * acc, macs / 1e6, el);
    g_mutex_lock(&w.lock);
  }
  g_mutex_unlock(&w.lock);
  for (int t = 0; t < threads; t++) g_thread_join(workers[t]);
  g_free(workers);
  fr_pool_set_threads(old_threads);
  if (fclose(f) != 0 && ok) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", cfg->output, g_strerror(errno));
    ok = FALSE;
  }
  if (ok) ok = write_json(cfg->output, w.space, cfg, error);
  if (ok) {
    double secs = (g_get_monotonic_time() - t0) / 1e6;
    fr_job_emit(job, "apq.pairs.result",
                g_variant_new("(udd)", (guint32)written, written > start ? acc_sum / (written - start) : 0.0, secs), NULL);
  }
  g_free(w.acc);
  g_free(w.secs);
  g_free(w.done);
  g_mutex_clear(&w.lock);
  g_cond_clear(&w.cond);
  fr_fmnist_free(w.data);
  fr_apq_supernet_free(w.net);
  return ok;
}
