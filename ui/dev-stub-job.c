/* dev-stub-job.c: TEMPORARY stand-in for engine/core/fr-job.c so the UI can be built and tried
 * before the engine lands. ui/meson.build only compiles it while engine/core/fr-job.c is absent. */
#include <stdarg.h>
#include "fr-job.h"

struct _FrJob {
  gint ref_count;
  char *name;
  FrJobFunc func;
  gpointer data;
  GDestroyNotify free_data;
  GAsyncQueue *events;
  GThread *thread;
  gint cancelled;
  gint status;
  double fraction;
  GMutex lock;
  GError *error;
};

G_DEFINE_QUARK(fr-job-error-quark, fr_job_error)

void
fr_event_free(FrEvent *ev)
{
  if (ev == NULL)
    return;
  g_free(ev->message);
  g_free(ev->payload_type);
  g_clear_pointer(&ev->payload, g_variant_unref);
  g_free(ev);
}

static void
push(FrJob *job, FrEventKind kind, double fraction, char *message, const char *ptype, GVariant *payload)
{
  FrEvent *ev = g_new0(FrEvent, 1);
  ev->kind = kind;
  ev->fraction = fraction;
  ev->message = message;
  ev->payload_type = g_strdup(ptype);
  ev->payload = payload ? g_variant_ref_sink(payload) : NULL;
  ev->status = (FrJobStatus)g_atomic_int_get(&job->status);
  ev->time_us = g_get_monotonic_time();
  g_async_queue_push(job->events, ev);
}

static gpointer
job_thread(gpointer user_data)
{
  FrJob *job = user_data;
  GError *error = NULL;
  gboolean ok = job->func(job, job->data, &error);
  if (job->free_data)
    job->free_data(job->data);
  FrJobStatus st;
  if (ok)
    st = FR_JOB_SUCCEEDED;
  else if (error && g_error_matches(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED))
    st = FR_JOB_CANCELLED;
  else
    st = FR_JOB_FAILED;
  g_mutex_lock(&job->lock);
  job->error = error;
  g_mutex_unlock(&job->lock);
  g_atomic_int_set(&job->status, st);
  push(job, FR_EVENT_FINISHED, job->fraction, error ? g_strdup(error->message) : NULL, NULL, NULL);
  fr_job_unref(job);
  return NULL;
}

FrJob *
fr_job_start(const char *name, FrJobFunc func, gpointer data, GDestroyNotify free_data)
{
  FrJob *job = g_new0(FrJob, 1);
  job->ref_count = 2; /* caller + thread */
  job->name = g_strdup(name);
  job->func = func;
  job->data = data;
  job->free_data = free_data;
  job->events = g_async_queue_new_full((GDestroyNotify)fr_event_free);
  job->status = FR_JOB_RUNNING;
  g_mutex_init(&job->lock);
  job->thread = g_thread_new(name, job_thread, job);
  return job;
}

FrJob *fr_job_ref(FrJob *job) { g_atomic_int_inc(&job->ref_count); return job; }

void
fr_job_unref(FrJob *job)
{
  if (!g_atomic_int_dec_and_test(&job->ref_count))
    return;
  if (job->thread)
    g_thread_unref(job->thread);
  g_async_queue_unref(job->events);
  g_clear_error(&job->error);
  g_mutex_clear(&job->lock);
  g_free(job->name);
  g_free(job);
}

const char *fr_job_get_name(FrJob *job) { return job->name; }

void
fr_job_progress(FrJob *job, double fraction, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = fmt ? g_strdup_vprintf(fmt, ap) : NULL;
  va_end(ap);
  if (fraction >= 0)
    job->fraction = fraction;
  push(job, FR_EVENT_PROGRESS, fraction, msg, NULL, NULL);
}

void
fr_job_emit(FrJob *job, const char *payload_type, GVariant *payload, const char *message)
{
  push(job, FR_EVENT_PAYLOAD, job->fraction, g_strdup(message), payload_type, payload);
}

void
fr_job_log(FrJob *job, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  push(job, FR_EVENT_LOG, job->fraction, msg, NULL, NULL);
}

gboolean fr_job_is_cancelled(FrJob *job) { return g_atomic_int_get(&job->cancelled); }
void fr_job_cancel(FrJob *job) { g_atomic_int_set(&job->cancelled, 1); }
FrEvent *fr_job_pop_event(FrJob *job) { return g_async_queue_try_pop(job->events); }
FrEvent *fr_job_wait_event(FrJob *job, gint64 timeout_us) { return g_async_queue_timeout_pop(job->events, timeout_us); }
FrJobStatus fr_job_get_status(FrJob *job) { return (FrJobStatus)g_atomic_int_get(&job->status); }
double fr_job_get_fraction(FrJob *job) { return job->fraction; }

FrJobStatus
fr_job_join(FrJob *job, GError **error)
{
  while (fr_job_get_status(job) == FR_JOB_RUNNING)
    g_usleep(1000);
  g_mutex_lock(&job->lock);
  if (job->error && error)
    *error = g_error_copy(job->error);
  g_mutex_unlock(&job->lock);
  return fr_job_get_status(job);
}
