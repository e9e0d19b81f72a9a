/* Benchmark (not a test): time per training epoch of the Fashion-MNIST classifier, the same network,
 * batch, optimiser and data as tests/bench/torch_classifier.py. Prints one JSON line;
 * run-classifier-bench.sh runs both and prints the ratio. --profile adds the per-op breakdown. */
#include "fr-classifier.h"
#include "fr-pool.h"
#include "fr-profile.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  int threads = 2, epochs = 1, steps = 0;
  gboolean profile = FALSE;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads", "N" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Epochs", "N" },
    { "steps", 's', 0, G_OPTION_ARG_INT, &steps, "Stop after N steps (0: full epochs)", "N" },
    { "profile", 'p', 0, G_OPTION_ARG_NONE, &profile, "Print the per-op breakdown on stderr", NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- classifier training speed");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!g_option_context_parse(ctx, &argc, &argv, NULL)) return 2;
  g_option_context_free(ctx);
  FrClassifierTrainConfig cfg;
  fr_classifier_train_config_init(&cfg);
  cfg.threads = threads;
  cfg.epochs = epochs;
  cfg.max_steps = steps;
  FrProfile *prof = profile ? fr_profile_new() : NULL;
  cfg.profile = prof;
  FrJob *job = fr_job_start("bench", fr_classifier_train_job, fr_classifier_train_config_copy(&cfg),
                            fr_classifier_train_config_free);
  double acc = 0, secs = 0, ips = 0;
  guint32 params = 0;
  for (;;) {
    FrEvent *ev = fr_job_wait_event(job, G_USEC_PER_SEC);
    if (!ev) continue;
    gboolean end = ev->kind == FR_EVENT_FINISHED;
    if (ev->kind == FR_EVENT_PAYLOAD && !strcmp(ev->payload_type, "train.result"))
      g_variant_get(ev->payload, "(dddu)", &acc, &secs, &ips, &params);
    fr_event_free(ev);
    if (end) break;
  }
  GError *error = NULL;
  if (fr_job_join(job, &error) != FR_JOB_SUCCEEDED) {
    fprintf(stderr, "bench-classifier: %s\n", error->message);
    return 1;
  }
  fr_job_unref(job);
  int64_t images = (int64_t)(ips * secs + 0.5);
  printf("{\"peer\": \"frontier\", \"threads\": %d, \"epoch_seconds\": %.3f, \"images_per_s\": %.1f, "
         "\"test_acc\": %.4f, \"images\": %lld}\n",
         threads, images ? secs * 60000.0 / (double)images * 1.0 : secs, ips, acc, (long long)images);
  if (prof) {
    fr_profile_print(prof, stderr);
    fr_profile_free(prof);
  }
  return 0;
}
