/* test-gan.c: GAN Compression engine: configs, the cost model against the paper's figures, sliced
 * sub-generators against extracted ones, the Frechet distance against SciPy, sketches, model files,
 * and training that resumes bit for bit. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include "fr-gan-train.h"
#include "fr-model-io.h"
#include "fr-test-util.h"

static void test_config(void) {
  FrGanConfig c;
  g_assert_true(fr_gan_config_parse("32_32_48_32_48_48_16_16", &c, NULL));
  g_assert_cmpint(c.ch[2], ==, 48);
  char *s = fr_gan_config_to_string(&c);
  g_assert_cmpstr(s, ==, "32_32_48_32_48_48_16_16");
  g_free(s);
  const char *bad[] = { "", "1_2_3", "1_2_3_4_5_6_7_8_9", "0_1_1_1_1_1_1_1", "a_1_1_1_1_1_1_1", "1_1_1_1_1_1_1_1_", "1__1_1_1_1_1_1" };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    GError *e = NULL;
    g_assert_false(fr_gan_config_parse(bad[i], &c, &e));
    g_assert_error(e, FR_GAN_ERROR, FR_GAN_ERROR_INVALID);
    g_error_free(e);
  }
  int n;
  const int *o = fr_gan_width_options(16, &n);
  g_assert_cmpint(n, ==, 5);
  g_assert_cmpint(o[0], ==, 16);
  g_assert_cmpint(o[4], ==, 4);
}

/* pix2pix's ResNet generator, ngf 64, 9 blocks, 256x256 RGB: GAN Compression reports 56.8G MACs (its
 * profiler counts a stride-2 transposed conv per output pixel). */
static void test_cost(void) {
  FrGanConfig t;
  fr_gan_config_uniform(&t, 64);
  FrGanCost c = fr_gan_cost(FR_GAN_RESNET, &t, 3, 3, 256, 256);
  g_assert_cmpfloat(fabs(c.macs_paper / 56.8e9 - 1), <, 0.002);
  g_assert_cmpfloat(c.macs, <, c.macs_paper);
  /* parameters counted from shapes equal the model's own tensors */
  FrGanConfig m;
  g_assert_true(fr_gan_config_parse("12_8_16_8_12_6_4_16", &m, NULL));
  for (int k = 0; k < 2; k++) {
    FrGanGenerator *g = fr_gan_generator_new(k ? FR_GAN_MOBILE : FR_GAN_RESNET, &m, 1, 1, 1);
    FrGanCost gc = fr_gan_cost(k ? FR_GAN_MOBILE : FR_GAN_RESNET, &m, 1, 1, 32, 32);
    g_assert_cmpfloat(gc.params, ==, (double)fr_param_set_count(fr_gan_generator_params(g), FALSE));
    FrGanLayerCost rows[64];
    int n = fr_gan_layer_costs(k ? FR_GAN_MOBILE : FR_GAN_RESNET, &m, 1, 1, 32, 32, rows, 64);
    g_assert_cmpint(n, ==, k ? 6 + 36 : 6 + 18);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += rows[i].macs;
    g_assert_cmpfloat(fabs(sum - gc.macs), <, 1e-6 * gc.macs);
    fr_gan_generator_free(g);
  }
}

static void random_sketches(float *x, int n, guint64 seed) {
  FrRng r;
  fr_rng_seed(&r, seed);
  for (int i = 0; i < n * FR_GAN_PIXELS; i++) x[i] = fr_rng_uniform(&r) < 0.1 ? 1.0f : -1.0f;
}

/* Running a sub-config on the supernet's sliced weights equals running the extracted student. */
static void test_slicing(void) {
  FrGanConfig max, sub;
  fr_gan_config_uniform(&max, 8);
  g_assert_true(fr_gan_config_parse("6_4_8_2_6_4_8_2", &sub, NULL));
  FrGanGenerator *g = fr_gan_generator_new(FR_GAN_MOBILE, &max, 1, 1, 3);
  /* larger weights than the 0.02 init, so differences would show */
  FrParamSet *ps = fr_gan_generator_params(g);
  FrRng r;
  fr_rng_seed(&r, 5);
  for (int i = 0; i < fr_param_set_len(ps); i++) {
    FrTensor *t = fr_param_set_nth(ps, i);
    fr_rng_fill_normal(&r, t->data, fr_tensor_numel(t), 0, 0.3f);
  }
  FrGanGenerator *s = fr_gan_generator_extract(g, &sub);
  float x[2 * FR_GAN_PIXELS], a[2 * FR_GAN_PIXELS], b[2 * FR_GAN_PIXELS];
  random_sketches(x, 2, 9);
  fr_gan_generator_run(g, &sub, x, 2, 32, 32, a);
  fr_gan_generator_run(s, NULL, x, 2, 32, 32, b);
  double diff = 0, spread = 0;
  for (int i = 0; i < 2 * FR_GAN_PIXELS; i++) diff = MAX(diff, fabs(a[i] - b[i])), spread += fabs(a[i]);
  g_assert_cmpfloat(diff, <, 1e-5);
  g_assert_cmpfloat(spread / (2 * FR_GAN_PIXELS), >, 0.05);   /* not a constant output */
  /* the full config differs from the sub-config */
  fr_gan_generator_run(g, NULL, x, 2, 32, 32, b);
  diff = 0;
  for (int i = 0; i < 2 * FR_GAN_PIXELS; i++) diff = MAX(diff, fabs(a[i] - b[i]));
  g_assert_cmpfloat(diff, >, 1e-3);
  fr_gan_generator_free(s);
  fr_gan_generator_free(g);
}

static void test_frechet(void) {
  char *path = fr_test_data_path("../reference", "frechet_vectors.txt");
  if (!path) return;
  char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  char *p = text;
  for (int k = 0; k < 2; k++) {
    int d = (int)g_ascii_strtoll(p, &p, 10);
    g_assert_cmpint(d, >, 0);
    double *v[4];
    int len[4] = { d, d * d, d, d * d };
    for (int j = 0; j < 4; j++) {
      v[j] = g_new(double, len[j]);
      for (int i = 0; i < len[j]; i++) v[j][i] = g_ascii_strtod(p, &p);
    }
    double want = g_ascii_strtod(p, &p);
    double got = fr_gan_frechet(v[0], v[1], v[2], v[3], d);
    g_assert_cmpfloat(fabs(got - want), <, 1e-6 * MAX(1.0, want));
    g_assert_cmpfloat(fr_gan_frechet(v[0], v[1], v[0], v[1], d), <, 1e-8 * want);
    for (int j = 0; j < 4; j++) g_free(v[j]);
  }
  g_free(text);
  g_free(path);
}

static int strokes(const float *s) {
  int n = 0;
  for (int i = 0; i < FR_GAN_PIXELS; i++) {
    g_assert_true(s[i] == 1.0f || s[i] == -1.0f);
    n += s[i] > 0;
  }
  return n;
}

static void test_sketches(void) {
  /* a filled rectangle: its outline, one pixel thin, inside the 28x28 area */
  guint8 img[28 * 28] = { 0 };
  for (int y = 6; y < 22; y++)
    for (int x = 8; x < 20; x++) img[y * 28 + x] = 200;
  float s[FR_GAN_PIXELS];
  fr_gan_edges_from_fmnist(img, s);
  int n = strokes(s);
  g_assert_cmpint(n, >, 30);
  g_assert_cmpint(n, <, 90);   /* the perimeter is 52 pixels; a thick edge would be far more */
  for (int i = 0; i < FR_GAN_SIZE; i++) g_assert_cmpfloat(s[i], ==, -1.0f);   /* the padding row */
  /* the same item drawn dark on white paper, larger: edges found after inverting and fitting */
  guint8 *photo = g_new(guint8, 200 * 150);
  memset(photo, 255, 200 * 150);
  for (int y = 40; y < 160; y++)
    for (int x = 30; x < 120; x++) photo[y * 150 + x] = 40;
  float s2[FR_GAN_PIXELS];
  GError *e = NULL;
  g_assert_true(fr_gan_edges_from_image(photo, 150, 200, 150, s2, &e));
  g_assert_no_error(e);
  g_assert_cmpint(strokes(s2), >, 30);
  memset(photo, 128, 200 * 150);   /* flat: nothing to take edges from */
  g_assert_false(fr_gan_edges_from_image(photo, 150, 200, 150, s2, &e));
  g_assert_error(e, FR_GAN_ERROR, FR_GAN_ERROR_INVALID);
  g_clear_error(&e);
  g_assert_false(fr_gan_edges_from_image(photo, 0, 0, 0, s2, &e));
  g_clear_error(&e);
  g_free(photo);
  /* canvas: empty -> 0; a diagonal stroke ~1 cell wide -> about 32 cells */
  guint8 *ink = g_new0(guint8, 320 * 320);
  g_assert_cmpint(fr_gan_sketch_from_canvas(ink, 320, 320, 320, s), ==, 0);
  for (int i = 0; i < 320; i++)
    for (int t = -5; t <= 5; t++)
      if (i + t >= 0 && i + t < 320) ink[i * 320 + i + t] = 255;
  n = fr_gan_sketch_from_canvas(ink, 320, 320, 320, s);
  g_assert_cmpint(n, >=, 32);
  g_assert_cmpint(n, <=, 96);
  g_free(ink);
}

static void test_files(void) {
  FrGanConfig c;
  fr_gan_config_uniform(&c, 4);
  FrGanGenerator *g = fr_gan_generator_new(FR_GAN_MOBILE, &c, 1, 1, 2);
  char *dir = g_dir_make_tmp("fr-gan-XXXXXX", NULL), *path = g_build_filename(dir, "g.safetensors", NULL);
  const char *md[] = { "fid_like", "1.5", NULL };
  g_assert_true(fr_gan_generator_save(g, path, md, NULL));
  GError *e = NULL;
  FrGanGenerator *h = fr_gan_generator_load(path, &e);
  g_assert_no_error(e);
  g_assert_true(fr_gan_generator_kind(h) == FR_GAN_MOBILE);
  g_assert_true(fr_gan_config_equal(fr_gan_generator_max(h), &c));
  g_assert_cmpstr(fr_gan_generator_get_meta(h, "fid_like"), ==, "1.5");
  float x[FR_GAN_PIXELS], a[FR_GAN_PIXELS], b[FR_GAN_PIXELS];
  random_sketches(x, 1, 4);
  fr_gan_generator_run(g, NULL, x, 1, 32, 32, a);
  fr_gan_generator_run(h, NULL, x, 1, 32, 32, b);
  g_assert_cmpmem(a, sizeof a, b, sizeof b);
  fr_gan_generator_free(h);
  /* truncated, and not a generator at all */
  char *bytes;
  gsize len;
  g_assert_true(g_file_get_contents(path, &bytes, &len, NULL));
  g_assert_true(g_file_set_contents(path, bytes, (gssize)(len / 2), NULL));
  g_assert_null(fr_gan_generator_load(path, &e));
  g_assert_nonnull(e);
  g_clear_error(&e);
  FrParamSet *ps = fr_param_set_new();
  fr_param_set_add(ps, "x", 1, FR_SHAPE(3), TRUE);
  g_assert_true(fr_param_set_save(ps, path, NULL, NULL));
  g_assert_null(fr_gan_generator_load(path, &e));
  g_assert_error(e, FR_GAN_ERROR, FR_GAN_ERROR_MODEL);
  g_clear_error(&e);
  fr_param_set_free(ps);
  g_free(bytes);
  g_unlink(path);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
  fr_gan_generator_free(g);
}

static gboolean run_train(FrGanTrainConfig *cfg, GError **error) {
  FrJob *job = fr_job_start("t", fr_gan_train_job, fr_gan_train_config_copy(cfg), fr_gan_train_config_free);
  FrJobStatus st = fr_job_join(job, error);
  fr_job_unref(job);
  return st == FR_JOB_SUCCEEDED;
}

static void assert_same_file_tensors(const char *a, const char *b) {
  FrGanGenerator *ga = fr_gan_generator_load(a, NULL), *gb = fr_gan_generator_load(b, NULL);
  g_assert_nonnull(ga);
  g_assert_nonnull(gb);
  FrParamSet *pa = fr_gan_generator_params(ga), *pb = fr_gan_generator_params(gb);
  for (int i = 0; i < fr_param_set_len(pa); i++) {
    FrTensor *x = fr_param_set_nth(pa, i), *y = fr_param_set_nth(pb, i);
    g_assert_cmpmem(x->data, fr_tensor_numel(x) * 4, y->data, fr_tensor_numel(y) * 4);
  }
  fr_gan_generator_free(ga);
  fr_gan_generator_free(gb);
}

/* Teacher, supernet and fine-tune stages on a tiny model: a run stopped half way and resumed ends with
 * the same weights as one run straight through; bad settings and foreign checkpoints are refused. */
static void test_train_resume(void) {
  if (!g_file_test("/usr/share/datasets/fashion-mnist", G_FILE_TEST_IS_DIR) && !g_getenv("FR_FMNIST_DIR")) {
    g_test_skip("Fashion-MNIST is not installed");
    return;
  }
  char *dir = g_dir_make_tmp("fr-gan-train-XXXXXX", NULL);
  char *teacher = g_build_filename(dir, "teacher.safetensors", NULL), *t2 = g_build_filename(dir, "t2.safetensors", NULL);
  char *super = g_build_filename(dir, "super.safetensors", NULL), *s2 = g_build_filename(dir, "s2.safetensors", NULL);
  FrGanTrainConfig cfg;
  fr_gan_train_config_init(&cfg, FR_GAN_STAGE_TEACHER);
  cfg.ngf = 4, cfg.ndf = 4, cfg.steps = 4, cfg.batch_size = 2, cfg.train_limit = 16, cfg.checkpoint_every = 1;
  cfg.output = teacher;
  GError *e = NULL;
  g_assert_true(run_train(&cfg, &e));
  g_assert_no_error(e);
  cfg.output = t2;
  cfg.stop_after = 2;
  g_assert_true(run_train(&cfg, &e));
  g_assert_false(g_file_test(t2, G_FILE_TEST_EXISTS));   /* stopped: only the checkpoint */
  cfg.stop_after = 0;
  cfg.resume = TRUE;
  g_assert_true(run_train(&cfg, &e));
  assert_same_file_tensors(teacher, t2);
  /* a checkpoint of other settings is refused */
  cfg.lr = 1e-3;
  g_assert_false(run_train(&cfg, &e));
  g_assert_error(e, FR_GAN_ERROR, FR_GAN_ERROR_CHECKPOINT);
  g_clear_error(&e);

  FrGanTrainConfig sc;
  fr_gan_train_config_init(&sc, FR_GAN_STAGE_SUPERNET);
  sc.ngf = 4, sc.ndf = 4, sc.steps = 4, sc.batch_size = 2, sc.train_limit = 16, sc.checkpoint_every = 1;
  sc.teacher = teacher;
  sc.output = super;
  g_assert_true(run_train(&sc, &e));
  g_assert_no_error(e);
  sc.output = s2;
  sc.stop_after = 3;
  g_assert_true(run_train(&sc, &e));
  sc.stop_after = 0;
  sc.resume = TRUE;
  g_assert_true(run_train(&sc, &e));
  assert_same_file_tensors(super, s2);
  /* the sandwich rule: its own run (a plain checkpoint is refused), and it resumes bit for bit too */
  sc.sandwich = TRUE;
  g_assert_false(run_train(&sc, &e));
  g_assert_error(e, FR_GAN_ERROR, FR_GAN_ERROR_CHECKPOINT);
  g_clear_error(&e);
  sc.resume = FALSE;
  sc.output = super;
  g_assert_true(run_train(&sc, &e));
  g_assert_no_error(e);
  sc.output = s2;
  sc.stop_after = 2;
  g_assert_true(run_train(&sc, &e));
  sc.stop_after = 0;
  sc.resume = TRUE;
  g_assert_true(run_train(&sc, &e));
  assert_same_file_tensors(super, s2);

  /* fine-tune: a config wider than the supernet, and a missing teacher, are clear errors */
  FrGanTrainConfig fc;
  fr_gan_train_config_init(&fc, FR_GAN_STAGE_FINETUNE);
  fc.ndf = 4, fc.steps = 2, fc.batch_size = 2, fc.train_limit = 16;
  fc.teacher = teacher, fc.init = super, fc.output = s2, fc.config = "8_4_4_4_4_4_4_4";
  g_assert_false(run_train(&fc, &e));
  g_assert_error(e, FR_GAN_ERROR, FR_GAN_ERROR_INVALID);
  g_clear_error(&e);
  fc.config = "2_2_3_1_2_3_4_1";
  g_assert_true(run_train(&fc, &e));
  g_assert_no_error(e);
  FrGanGenerator *st = fr_gan_generator_load(s2, NULL);
  g_assert_cmpint(fr_gan_generator_max(st)->ch[2], ==, 3);
  fr_gan_generator_free(st);
  fc.teacher = "/nonexistent/teacher.safetensors";
  g_assert_false(run_train(&fc, &e));
  g_assert_nonnull(e);
  g_clear_error(&e);

  /* search: a budget below the smallest sub-generator names the minimum; a tiny grid runs */
  FrGanSearchConfig q;
  fr_gan_search_config_init(&q);
  q.supernet = super, q.budget_macs = 1000, q.eval_images = 20, q.mode = FR_GAN_SEARCH_GRID;
  FrJob *job = fr_job_start("s", fr_gan_search_job, fr_gan_search_config_copy(&q), fr_gan_search_config_free);
  g_assert_true(fr_job_join(job, &e) == FR_JOB_FAILED);
  g_assert_error(e, FR_GAN_ERROR, FR_GAN_ERROR_INFEASIBLE);
  g_assert_nonnull(strstr(e->message, "1_1_1_1_1_1_1_1"));
  g_clear_error(&e);
  fr_job_unref(job);
  q.budget_macs = 1e9;
  job = fr_job_start("s", fr_gan_search_job, fr_gan_search_config_copy(&q), fr_gan_search_config_free);
  g_assert_true(fr_job_join(job, &e) == FR_JOB_SUCCEEDED);
  int candidates = 0;
  FrEvent *ev;
  while ((ev = fr_job_pop_event(job))) {
    if (ev->payload_type && !strcmp(ev->payload_type, "gan.search.candidate")) candidates++;
    fr_event_free(ev);
  }
  g_assert_cmpint(candidates, >, 1);
  fr_job_unref(job);

  const char *names[] = { "teacher.safetensors", "teacher.safetensors.ckpt", "teacher.disc.safetensors", "t2.safetensors",
                          "t2.safetensors.ckpt", "t2.disc.safetensors", "super.safetensors", "super.safetensors.ckpt",
                          "s2.safetensors", "s2.safetensors.ckpt" };
  for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
    char *p = g_build_filename(dir, names[i], NULL);
    g_unlink(p);
    g_free(p);
  }
  g_assert_cmpint(g_rmdir(dir), ==, 0);
  g_free(teacher), g_free(t2), g_free(super), g_free(s2), g_free(dir);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/gan/config", test_config);
  g_test_add_func("/gan/cost", test_cost);
  g_test_add_func("/gan/slicing", test_slicing);
  g_test_add_func("/gan/frechet", test_frechet);
  g_test_add_func("/gan/sketches", test_sketches);
  g_test_add_func("/gan/files", test_files);
  g_test_add_func("/gan/train-resume", test_train_resume);
  return g_test_run();
}
