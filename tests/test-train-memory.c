/* A training job's arena and buffers are freed when it ends: running the same job again does not
 * grow the process's resident memory. Also: a cancelled job stops promptly and saves nothing
 * half-written, and absurd settings are refused with a clear error. */
#include "fr-classifier.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

static long rss_kb(void) {
  g_autofree char *status = NULL;
  g_assert_true(g_file_get_contents("/proc/self/status", &status, NULL, NULL));
  const char *p = strstr(status, "VmRSS:");
  g_assert_nonnull(p);
  return atol(p + 6);
}

static FrJobStatus run(const FrClassifierTrainConfig *cfg, GError **error) {
  FrJob *job = fr_job_start("train", fr_classifier_train_job, fr_classifier_train_config_copy(cfg),
                            fr_classifier_train_config_free);
  FrJobStatus st = fr_job_join(job, error);
  FrEvent *ev;
  while ((ev = fr_job_pop_event(job))) fr_event_free(ev);
  fr_job_unref(job);
  return st;
}

static void test_memory_does_not_grow(void) {
  FrClassifierTrainConfig cfg;
  fr_classifier_train_config_init(&cfg);
  cfg.epochs = 1;
  cfg.max_steps = 40;
  cfg.train_limit = 4000;
  g_assert_cmpint(run(&cfg, NULL), ==, FR_JOB_SUCCEEDED);   /* warms up allocator and pool */
  long after1 = rss_kb();
  g_assert_cmpint(run(&cfg, NULL), ==, FR_JOB_SUCCEEDED);
  long after2 = rss_kb();
  g_assert_cmpint(run(&cfg, NULL), ==, FR_JOB_SUCCEEDED);
  long after3 = rss_kb();
  g_test_message("resident memory after runs: %ld, %ld, %ld KiB", after1, after2, after3);
  /* The data set alone is 55 MB; a leak of the job's buffers would add at least that per run. */
  g_assert_cmpint(after3 - after1, <, 8 * 1024);
}

static void test_cancel_and_bad_settings(void) {
  FrClassifierTrainConfig cfg;
  fr_classifier_train_config_init(&cfg);
  g_autofree char *dir = g_dir_make_tmp("fr-train-XXXXXX", NULL);
  g_autofree char *out = g_build_filename(dir, "model.safetensors", NULL);
  cfg.output = out;
  FrJob *job = fr_job_start("train", fr_classifier_train_job, fr_classifier_train_config_copy(&cfg),
                            fr_classifier_train_config_free);
  /* wait for the first step, then cancel */
  gint64 t0 = g_get_monotonic_time();
  gboolean stepped = FALSE;
  while (!stepped && g_get_monotonic_time() - t0 < 60 * G_USEC_PER_SEC) {
    FrEvent *ev = fr_job_wait_event(job, G_USEC_PER_SEC);
    if (ev && ev->kind == FR_EVENT_PAYLOAD && !g_strcmp0(ev->payload_type, "train.step")) stepped = TRUE;
    fr_event_free(ev);
  }
  g_assert_true(stepped);
  gint64 t_cancel = g_get_monotonic_time();
  fr_job_cancel(job);
  GError *error = NULL;
  g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_CANCELLED);
  g_assert_cmpint(g_get_monotonic_time() - t_cancel, <, 2 * G_USEC_PER_SEC);
  g_clear_error(&error);
  fr_job_unref(job);
  g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));   /* no epoch finished, nothing written */
  g_rmdir(dir);

  cfg.output = NULL;
  cfg.epochs = 0;
  g_assert_cmpint(run(&cfg, &error), ==, FR_JOB_FAILED);
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  fr_classifier_train_config_init(&cfg);
  cfg.data_dir = "/nonexistent";
  g_assert_cmpint(run(&cfg, &error), ==, FR_JOB_FAILED);
  g_assert_nonnull(strstr(error->message, "dataset-fashion-mnist"));
  g_clear_error(&error);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/train/memory-does-not-grow", test_memory_does_not_grow);
  g_test_add_func("/train/cancel-and-bad-settings", test_cancel_and_bad_settings);
  return g_test_run();
}
