/* fr-apq-study.c: predictor fitting and the transfer sample-efficiency study. */
#include "fr-apq-study.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "fr-report.h"

#define STUDY_HEADER "size,seed,method,rmse,kendall_tau,train_rows"

/* ---- fitting --------------------------------------------------------------------------------- */

void fr_apq_fit_config_init(FrApqFitConfig *cfg, gboolean quantized) {
  memset(cfg, 0, sizeof *cfg);
  cfg->quantized = quantized;
  cfg->test = quantized ? 60 : 400;
  fr_apq_predictor_train_config_init(&cfg->train);
}

FrApqFitConfig *fr_apq_fit_config_copy(const FrApqFitConfig *cfg) {
  FrApqFitConfig *c = g_memdup2(cfg, sizeof *cfg);
  c->pairs = g_strdup(cfg->pairs);
  c->output = g_strdup(cfg->output);
  c->transfer_from = g_strdup(cfg->transfer_from);
  return c;
}

void fr_apq_fit_config_free(gpointer p) {
  FrApqFitConfig *c = p;
  if (!c) return;
  g_free(c->pairs);
  g_free(c->output);
  g_free(c->transfer_from);
  g_free(c);
}

void fr_apq_predictor_score(const FrApqPredictor *p, const FrApqPairs *pairs, const FrApqSpace *space, int from, int n,
                            double *rmse, double *tau) {
  /* rows as wide as the predictor's input: an fp32 predictor reads the architecture part only */
  int dim = space->arch_dim + space->quant_dim, in = fr_apq_predictor_arch_dim(p) + fr_apq_predictor_quant_dim(p);
  float *full = fr_apq_pairs_features(pairs, space, from, n), *x = g_new(float, (size_t)n * in);
  for (int i = 0; i < n; i++) memcpy(x + (size_t)i * in, full + (size_t)i * dim, sizeof(float) * (size_t)in);
  g_free(full);
  float *y = g_new(float, n);
  double *pred = g_new(double, n);
  fr_apq_predictor_predict(p, x, n, y);
  for (int i = 0; i < n; i++) pred[i] = y[i];
  *rmse = fr_apq_rmse(pred, pairs->accuracy + from, n);
  *tau = fr_apq_kendall_tau(pred, pairs->accuracy + from, n);
  g_free(x);
  g_free(y);
  g_free(pred);
}

/* Trains a predictor on rows idx[0..n) of pairs; quantized: with the bits branch, from `source`
 * when given (transfer). */
static FrApqPredictor *fit(const FrApqPairs *pairs, const FrApqSpace *space, const int *idx, int n, gboolean quantized,
                           const FrApqPredictor *source, const FrApqPredictorTrainConfig *tc, FrJob *job,
                           GError **error) {
  FrApqPredictor *p = fr_apq_predictor_new(space->arch_dim, quantized ? space->quant_dim : 0, 400, tc->seed);
  if (source && !fr_apq_predictor_transfer_from(p, source, error)) {
    fr_apq_predictor_free(p);
    return NULL;
  }
  int dim = space->arch_dim + space->quant_dim, in = space->arch_dim + (quantized ? space->quant_dim : 0);
  float *full = g_new(float, dim), *x = g_new(float, (size_t)n * in), *y = g_new(float, n);
  for (int i = 0; i < n; i++) {
    fr_apq_spec_encode(space, &pairs->specs[idx[i]], full);
    memcpy(x + (size_t)i * in, full, sizeof(float) * (size_t)in);
    y[i] = (float)pairs->accuracy[idx[i]];
  }
  gboolean ok = fr_apq_predictor_train(p, x, y, n, tc, job, error);
  g_free(full);
  g_free(x);
  g_free(y);
  if (!ok) {
    fr_apq_predictor_free(p);
    return NULL;
  }
  return p;
}

static gboolean split(const FrApqPairs *pairs, int test, const char *path, int *n_train, GError **error) {
  if (test < 1 || test >= pairs->n) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "%s has %d pairs: cannot hold out %d for testing and still train on some", path, pairs->n, test);
    return FALSE;
  }
  *n_train = pairs->n - test;
  return TRUE;
}

gboolean fr_apq_fit_job(FrJob *job, gpointer data, GError **error) {
  const FrApqFitConfig *cfg = data;
  const FrApqSpace *space = fr_apq_space_fmnist_mini();
  if (!cfg->pairs || !cfg->output) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "a pairs file and an output are needed");
    return FALSE;
  }
  FrApqPairs *pairs = fr_apq_pairs_load(cfg->pairs, space, error);
  if (!pairs) return FALSE;
  FrApqPredictor *source = NULL, *p = NULL;
  int n_train = 0;
  gboolean ok = split(pairs, cfg->test, cfg->pairs, &n_train, error);
  if (ok && cfg->train_limit > 0) n_train = MIN(n_train, cfg->train_limit);
  if (ok && cfg->transfer_from) {
    source = fr_apq_predictor_load(cfg->transfer_from, error);
    ok = source != NULL;
  }
  if (ok) {
    int *idx = g_new(int, n_train);
    for (int i = 0; i < n_train; i++) idx[i] = i;
    p = fit(pairs, space, idx, n_train, cfg->quantized, source, &cfg->train, job, error);
    g_free(idx);
    ok = p != NULL;
  }
  if (ok) {
    double rmse, tau, train_rmse, train_tau;
    fr_apq_predictor_score(p, pairs, space, pairs->n - cfg->test, cfg->test, &rmse, &tau);
    fr_apq_predictor_score(p, pairs, space, 0, n_train, &train_rmse, &train_tau);
    char *s_rmse = g_strdup_printf("%.6f", rmse), *s_tau = g_strdup_printf("%.6f", tau);
    char *s_rows = g_strdup_printf("%d", n_train), *s_test = g_strdup_printf("%d", cfg->test);
    char *base = g_path_get_basename(cfg->pairs);
    const char *meta[] = { "space", space->name, "pairs", base, "train_rows", s_rows, "test_rows", s_test,
                           "test_rmse", s_rmse, "test_kendall_tau", s_tau,
                           "method", cfg->quantized ? (source ? "transfer" : "scratch") : "fp32",
                           "command", "frontier-cli apq predictor", NULL };
    ok = fr_apq_predictor_save(p, cfg->output, meta, error);
    if (ok)
      fr_job_emit(job, "apq.fit.result",
                  g_variant_new("(dddduu)", rmse, tau, train_rmse, train_tau, (guint32)n_train, (guint32)cfg->test), NULL);
    g_free(s_rmse);
    g_free(s_tau);
    g_free(s_rows);
    g_free(s_test);
    g_free(base);
  }
  fr_apq_predictor_free(p);
  fr_apq_predictor_free(source);
  fr_apq_pairs_free(pairs);
  return ok;
}

/* ---- the study ------------------------------------------------------------------------------- */

void fr_apq_study_config_init(FrApqStudyConfig *cfg) {
  memset(cfg, 0, sizeof *cfg);
  const int sizes[] = { 25, 50, 100, 200, 100000, 0 };
  memcpy(cfg->sizes, sizes, sizeof sizes);
  cfg->seeds = 5;
  cfg->test = 60;
  fr_apq_predictor_train_config_init(&cfg->train);
}

FrApqStudyConfig *fr_apq_study_config_copy(const FrApqStudyConfig *cfg) {
  FrApqStudyConfig *c = g_memdup2(cfg, sizeof *cfg);
  c->quant_pairs = g_strdup(cfg->quant_pairs);
  c->fp32_predictor = g_strdup(cfg->fp32_predictor);
  c->output = g_strdup(cfg->output);
  return c;
}

void fr_apq_study_config_free(gpointer p) {
  FrApqStudyConfig *c = p;
  if (!c) return;
  g_free(c->quant_pairs);
  g_free(c->fp32_predictor);
  g_free(c->output);
  g_free(c);
}

typedef struct { int size, seed; char method[16]; double rmse, tau; } StudyRow;

static GArray *read_study(const char *path) {
  GArray *rows = g_array_new(FALSE, FALSE, sizeof(StudyRow));
  char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL)) return rows;
  char **lines = g_strsplit(text, "\n", -1);
  for (int i = 1; lines[0] && !strcmp(lines[0], STUDY_HEADER) && lines[i]; i++) {
    StudyRow r;
    int train_rows;
    if (sscanf(lines[i], "%d,%d,%15[a-z0-9-],%lf,%lf,%d", &r.size, &r.seed, r.method, &r.rmse, &r.tau, &train_rows) == 6)
      g_array_append_val(rows, r);
  }
  g_strfreev(lines);
  g_free(text);
  return rows;
}

static gboolean have_row(GArray *rows, int size, int seed, const char *method) {
  for (guint i = 0; i < rows->len; i++) {
    StudyRow *r = &g_array_index(rows, StudyRow, i);
    if (r->size == size && r->seed == seed && !strcmp(r->method, method)) return TRUE;
  }
  return FALSE;
}

/* mean and sample standard deviation of one (size, method) cell */
static int cell(GArray *rows, int size, const char *method, gboolean tau, double *mean, double *sd) {
  double s = 0, s2 = 0;
  int n = 0;
  for (guint i = 0; i < rows->len; i++) {
    StudyRow *r = &g_array_index(rows, StudyRow, i);
    if (r->size != size || strcmp(r->method, method)) continue;
    double v = tau ? r->tau : r->rmse;
    s += v;
    s2 += v * v;
    n++;
  }
  *mean = n ? s / n : NAN;
  *sd = n > 1 ? sqrt(fmax(0, (s2 - s * s / n) / (n - 1))) : 0;
  return n;
}

typedef struct { GArray *rows; int sizes[8]; int n_sizes; double fp32_tau, fp32_rmse; } Plot;

static const char *const methods[] = { "scratch", "transfer" };
static const char *const method_labels[] = { "from scratch", "transferred from the fp32 predictor" };

static void draw_panel(cairo_t *cr, const Plot *pl, double x0, double y0, double w, double h, gboolean tau) {
  double lo = 0, hi = tau ? 1 : 0;
  for (int m = 0; m < 2; m++)
    for (int i = 0; i < pl->n_sizes; i++) {
      double mean, sd;
      if (!cell(pl->rows, pl->sizes[i], methods[m], tau, &mean, &sd)) continue;
      if (tau) lo = fmin(lo, floor((mean - sd) * 5) / 5);   /* tau can go below 0 with few pairs */
      else hi = fmax(hi, mean + sd);
    }
  if (!tau) hi = hi > 0 ? hi * 1.1 : 0.05;
  double lx0 = log((double)pl->sizes[0]), lx1 = log((double)pl->sizes[pl->n_sizes - 1]);
  if (lx1 <= lx0) lx1 = lx0 + 1;
#define PX(v) (x0 + (log((double)(v)) - lx0) / (lx1 - lx0) * w)
#define PY(v) (y0 + h - ((v) - lo) / (hi - lo) * h)
  cairo_set_line_width(cr, 1);
  cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
  for (int k = 0; k <= 4; k++) {
    double v = lo + (hi - lo) * k / 4;
    cairo_move_to(cr, x0, PY(v));
    cairo_line_to(cr, x0 + w, PY(v));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    char buf[32];
    g_snprintf(buf, sizeof buf, tau ? "%.2f" : "%.3f", v);
    cairo_move_to(cr, x0 - 34, PY(v) + 3);
    cairo_show_text(cr, buf);
    cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  for (int i = 0; i < pl->n_sizes; i++) {
    char buf[32];
    g_snprintf(buf, sizeof buf, "%d", pl->sizes[i]);
    cairo_move_to(cr, PX(pl->sizes[i]) - 8, y0 + h + 14);
    cairo_show_text(cr, buf);
  }
  cairo_move_to(cr, x0 + w / 2 - 70, y0 + h + 30);
  cairo_show_text(cr, "quantized pairs used for training");
  cairo_move_to(cr, x0, y0 - 8);
  cairo_show_text(cr, tau ? "Kendall tau on held-out quantized pairs (higher is better)"
                          : "RMSE of accuracy on held-out quantized pairs (lower is better)");
  double fp32 = tau ? pl->fp32_tau : pl->fp32_rmse;
  if (isfinite(fp32) && fp32 >= lo && fp32 <= hi) {   /* the fp32 predictor used as it is */
    double dash[] = { 4, 3 };
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
    cairo_move_to(cr, x0, PY(fp32));
    cairo_line_to(cr, x0 + w, PY(fp32));
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
  }
  for (int m = 0; m < 2; m++) {
    double rgb[3];
    fr_report_palette_color((guint)m, FALSE, rgb);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, 2);
    gboolean first = TRUE;
    for (int i = 0; i < pl->n_sizes; i++) {
      double mean, sd;
      if (!cell(pl->rows, pl->sizes[i], methods[m], tau, &mean, &sd)) continue;
      if (first) cairo_move_to(cr, PX(pl->sizes[i]), PY(mean));
      else cairo_line_to(cr, PX(pl->sizes[i]), PY(mean));
      first = FALSE;
    }
    cairo_stroke(cr);
    cairo_set_line_width(cr, 1);
    for (int i = 0; i < pl->n_sizes; i++) {
      double mean, sd;
      if (!cell(pl->rows, pl->sizes[i], methods[m], tau, &mean, &sd)) continue;
      double px = PX(pl->sizes[i]) + (m ? 3 : -3);
      cairo_move_to(cr, px, PY(fmax(lo, mean - sd)));
      cairo_line_to(cr, px, PY(fmin(hi, mean + sd)));
      cairo_stroke(cr);
      cairo_arc(cr, px, PY(mean), 3, 0, 2 * G_PI);
      cairo_fill(cr);
    }
  }
#undef PX
#undef PY
}

static void draw_study(cairo_t *cr, double width, double height, gpointer data) {
  const Plot *pl = data;
  cairo_select_font_face(cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 10);
  double pw = (width - 140) / 2;
  draw_panel(cr, pl, 50, 40, pw, height - 110, TRUE);
  draw_panel(cr, pl, 110 + pw, 40, pw, height - 110, FALSE);
  for (int m = 0; m < 2; m++) {
    double rgb[3];
    fr_report_palette_color((guint)m, FALSE, rgb);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_rectangle(cr, 50 + m * 230, height - 22, 12, 8);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_move_to(cr, 66 + m * 230, height - 14);
    cairo_show_text(cr, method_labels[m]);
  }
  cairo_move_to(cr, 520, height - 14);
  cairo_show_text(cr, "- - fp32 predictor as it is; bars: +/- 1 sd over seeds");
}

static gboolean write_summary(const char *output, GArray *rows, const int *sizes, int n_sizes, double fp32_rmse,
                              double fp32_tau, int available, GError **error) {
  GString *md = g_string_new("| quantized pairs | scratch RMSE | transfer RMSE | scratch tau | transfer tau |\n"
                             "|---:|---:|---:|---:|---:|\n");
  for (int i = 0; i < n_sizes; i++) {
    double v[4], sd[4];
    int n = cell(rows, sizes[i], "scratch", FALSE, &v[0], &sd[0]);
    cell(rows, sizes[i], "transfer", FALSE, &v[1], &sd[1]);
    cell(rows, sizes[i], "scratch", TRUE, &v[2], &sd[2]);
    cell(rows, sizes[i], "transfer", TRUE, &v[3], &sd[3]);
    if (!n) continue;
    g_string_append_printf(md, "| %d%s | %.4f ± %.4f | %.4f ± %.4f | %.3f ± %.3f | %.3f ± %.3f |\n", sizes[i],
                           sizes[i] == available ? " (all)" : "", v[0], sd[0], v[1], sd[1], v[2], sd[2], v[3], sd[3]);
  }
  g_string_append_printf(md, "| 0 (fp32 predictor as it is) | | %.4f | | %.3f |\n", fp32_rmse, fp32_tau);
  char *base = g_str_has_suffix(output, ".csv") ? g_strndup(output, strlen(output) - 4) : g_strdup(output);
  char *md_path = g_strconcat(base, ".md", NULL), *svg_path = g_strconcat(base, ".svg", NULL);
  char *png_path = g_strconcat(base, ".png", NULL);
  gboolean ok = fr_report_write_file(md_path, md->str, md->len, error);
  Plot pl = { .rows = rows, .n_sizes = n_sizes, .fp32_tau = fp32_tau, .fp32_rmse = fp32_rmse };
  memcpy(pl.sizes, sizes, sizeof(int) * (size_t)n_sizes);
  if (ok) ok = fr_report_render(svg_path, FR_REPORT_FORMAT_SVG, 860, 330, draw_study, &pl, error);
  if (ok) ok = fr_report_render(png_path, FR_REPORT_FORMAT_PNG, 860, 330, draw_study, &pl, error);
  g_free(png_path);
  g_free(md_path);
  g_free(svg_path);
  g_free(base);
  g_string_free(md, TRUE);
  return ok;
}

gboolean fr_apq_study_job(FrJob *job, gpointer data, GError **error) {
  const FrApqStudyConfig *cfg = data;
  const FrApqSpace *space = fr_apq_space_fmnist_mini();
  if (!cfg->quant_pairs || !cfg->fp32_predictor || !cfg->output || cfg->seeds < 1 || cfg->seeds > 100 || !cfg->sizes[0]) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT,
                "the study needs quantized pairs, an fp32 predictor, an output, 1..100 seeds and at least one size");
    return FALSE;
  }
  FrApqPairs *pairs = fr_apq_pairs_load(cfg->quant_pairs, space, error);
  if (!pairs) return FALSE;
  int n_train = 0;
  FrApqPredictor *source = NULL;
  gboolean ok = split(pairs, cfg->test, cfg->quant_pairs, &n_train, error);
  if (ok) ok = (source = fr_apq_predictor_load(cfg->fp32_predictor, error)) != NULL;
  if (!ok) {
    fr_apq_pairs_free(pairs);
    return FALSE;
  }
  /* sizes above what is there mean "all"; duplicates dropped */
  int sizes[8], n_sizes = 0;
  for (int i = 0; i < 8 && cfg->sizes[i] > 0; i++) {
    int s = MIN(cfg->sizes[i], n_train);
    if (!n_sizes || sizes[n_sizes - 1] != s) sizes[n_sizes++] = s;
  }
  GArray *rows = cfg->resume ? read_study(cfg->output) : g_array_new(FALSE, FALSE, sizeof(StudyRow));
  GString *csv = g_string_new(STUDY_HEADER "\n");
  for (guint i = 0; i < rows->len; i++) {
    StudyRow *r = &g_array_index(rows, StudyRow, i);
    g_string_append_printf(csv, "%d,%d,%s,%.6f,%.6f,%d\n", r->size, r->seed, r->method, r->rmse, r->tau, r->size);
  }
  double fp32_rmse, fp32_tau;
  {
    /* the fp32 predictor applied to quantized subnets without any quantized data: the floor */
    FrApqPredictor *q = fr_apq_predictor_new(space->arch_dim, space->quant_dim, 400, 1);
    ok = fr_apq_predictor_transfer_from(q, source, error);
    if (ok) fr_apq_predictor_score(q, pairs, space, n_train, cfg->test, &fp32_rmse, &fp32_tau);
    fr_apq_predictor_free(q);
  }
  int total = n_sizes * cfg->seeds * 2, done = 0;
  int *perm = g_new(int, n_train);
  for (int si = 0; ok && si < n_sizes; si++)
    for (int seed = 1; ok && seed <= cfg->seeds; seed++)
      for (int m = 0; ok && m < 2; m++, done++) {
        if (have_row(rows, sizes[si], seed, methods[m])) continue;
        if (fr_job_is_cancelled(job)) {
          g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "cancelled");
          ok = FALSE;
          break;
        }
        /* the subset depends on (size, seed) only: scratch and transfer see the same pairs */
        FrRng rng;
        fr_rng_seed(&rng, (guint64)seed * 7777 + (guint64)sizes[si]);
        for (int i = 0; i < n_train; i++) perm[i] = i;
        fr_rng_shuffle_int(&rng, perm, n_train);
        FrApqPredictorTrainConfig tc = cfg->train;
        tc.seed = (guint64)seed;
        FrApqPredictor *p = fit(pairs, space, perm, sizes[si], TRUE, m ? source : NULL, &tc, NULL, error);
        if (!p) {
          ok = FALSE;
          break;
        }
        StudyRow r = { .size = sizes[si], .seed = seed };
        g_strlcpy(r.method, methods[m], sizeof r.method);
        fr_apq_predictor_score(p, pairs, space, n_train, cfg->test, &r.rmse, &r.tau);
        fr_apq_predictor_free(p);
        g_array_append_val(rows, r);
        g_string_append_printf(csv, "%d,%d,%s,%.6f,%.6f,%d\n", r.size, r.seed, r.method, r.rmse, r.tau, r.size);
        /* rewritten whole and atomically after every fit: an interruption loses one fit at most */
        ok = fr_report_write_file(cfg->output, csv->str, csv->len, error);
        fr_job_emit(job, "apq.study.row", g_variant_new("(usudd)", (guint32)r.size, methods[m], (guint32)seed, r.rmse, r.tau),
                    NULL);
        fr_job_progress(job, (double)(done + 1) / total, "%d pairs, seed %d, %s: RMSE %.4f, tau %.3f", r.size, seed,
                        methods[m], r.rmse, r.tau);
      }
  if (ok) ok = fr_report_write_file(cfg->output, csv->str, csv->len, error);
  if (ok) ok = write_summary(cfg->output, rows, sizes, n_sizes, fp32_rmse, fp32_tau, n_train, error);
  if (ok) fr_job_emit(job, "apq.study.result", g_variant_new("(u)", rows->len), NULL);
  g_free(perm);
  g_string_free(csv, TRUE);
  g_array_free(rows, TRUE);
  fr_apq_predictor_free(source);
  fr_apq_pairs_free(pairs);
  return ok;
}
