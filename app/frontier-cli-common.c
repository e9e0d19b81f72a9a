/* Shared pieces of frontier-cli: running a job with progress lines and Ctrl-C, JSON output, options. */
#include "frontier-cli.h"

#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t interrupted;
gboolean opt_json;
gboolean opt_quiet;

static void on_sigint(int sig) { interrupted = 1; }

void print_json(JsonBuilder *b) {
  JsonGenerator *gen = json_generator_new();
  JsonNode *root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  char *s = json_generator_to_data(gen, NULL);
  printf("%s\n", s);
  g_free(s);
  json_node_unref(root);
  g_object_unref(gen);
}

/* Runs a job to the end, turning its events into stderr lines; Ctrl-C cancels it. */
FrJobStatus run_job(FrJob *job, GVariant **result, const char *result_type, GError **error) {
  struct sigaction sa = { .sa_handler = on_sigint }, old;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  gboolean cancel_sent = FALSE, done = FALSE;
  gint64 last_line = 0;
  while (!done) {
    if (interrupted && !cancel_sent) {
      fprintf(stderr, "\ncancelling…\n");
      fr_job_cancel(job);
      cancel_sent = TRUE;
    }
    FrEvent *ev = fr_job_wait_event(job, 100000);
    if (!ev) continue;
    switch (ev->kind) {
    case FR_EVENT_PROGRESS:
      /* at most a few lines a second, and always the last one */
      if (!opt_quiet && ev->message && (ev->time_us - last_line > 500000 || ev->fraction >= 1.0)) {
        fprintf(stderr, "[%5.1f%%] %s\n", 100.0 * (ev->fraction < 0 ? 0 : ev->fraction), ev->message);
        last_line = ev->time_us;
      }
      break;
    case FR_EVENT_LOG:
      if (!opt_quiet && ev->message) fprintf(stderr, "%s\n", ev->message);
      break;
    case FR_EVENT_PAYLOAD:
      if (result && result_type && g_strcmp0(ev->payload_type, result_type) == 0 && ev->payload) {
        if (*result) g_variant_unref(*result);
        *result = g_variant_ref(ev->payload);
      }
      break;
    case FR_EVENT_FINISHED:
      done = TRUE;
      break;
    }
    fr_event_free(ev);
  }
  sigaction(SIGINT, &old, NULL);
  return fr_job_join(job, error);
}

int exit_for(FrJobStatus st, GError *error) {
  if (st == FR_JOB_SUCCEEDED) return EXIT_OK;
  if (st == FR_JOB_CANCELLED) {
    fprintf(stderr, "frontier-cli: cancelled\n");
    return EXIT_CANCELLED;
  }
  fprintf(stderr, "frontier-cli: %s\n", error ? error->message : "failed");
  return error && error->code == FR_JOB_ERROR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILED;
}

gboolean parse(GOptionContext *ctx, int *argc, char ***argv) {
  GError *error = NULL;
  g_option_context_set_help_enabled(ctx, TRUE);
  if (!g_option_context_parse(ctx, argc, argv, &error)) {
    fprintf(stderr, "frontier-cli: %s\n", error->message);
    g_error_free(error);
    return FALSE;
  }
  return TRUE;
}

GOptionEntry common_entries[] = {
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print the result as JSON on stdout", NULL },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "No progress lines on stderr", NULL },
  { NULL },
};

