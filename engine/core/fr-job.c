#include "fr-job.h"

#include <stdarg.h>

struct _FrJob {
  gint ref_count;
  char *name;
  FrJobFunc func;
  gpointer data;
  GDestroyNotify free_data;
  GThread *thread;
  GAsyncQueue *events;
  gint cancelled;
  gint status;          /* FrJobStatus */
  GMutex lock;          /* guards error, fraction */
  GError *error;
  double fraction;
  gboolean joined;
};

G_DEFINE_QUARK(fr-job-error-quark, fr_job_error)

void fr_event_free(FrEvent *ev) {
  if (!ev) return;
  g_free(ev->message);
  g_free(ev->payload_type);
  if (ev->payload) g_variant_unref(ev->payload);
  g_free(ev);
}

static void push(FrJob *job, FrEvent *ev) {
  ev->time_us = g_get_monotonic_time();
  g_async_queue_push(job->events, ev);
}

static gpointer job_thread(gpointer p) {
  FrJob *job = p;
  GError *error = NULL;
  gboolean ok = job->func(job, job->data, &error);
  if (job->free_data) job->free_data(job->data);
  job->data = NULL;
  FrJobStatus st;
  if (ok) st = FR_JOB_SUCCEEDED;
  else if (g_error_matches(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED)) st = FR_JOB_CANCELLED;
  else st = FR_JOB_FAILED;
  if (!ok && !error)
    error = g_error_new(FR_JOB_ERROR, FR_JOB_ERROR_FAILED, "%s failed without saying why", job->name);
  g_mutex_lock(&job->lock);
  job->error = error;
  g_mutex_unlock(&job->lock);
  FrEvent *ev = g_new0(FrEvent, 1);
  ev->kind = FR_EVENT_FINISHED;
  ev->status = st;
  ev->fraction = fr_job_get_fraction(job);
  ev->message = g_strdup(error ? error->message : "done");
  g_atomic_int_set(&job->status, st);
  push(job, ev);
  fr_job_unref(job);
  return NULL;
}

FrJob *fr_job_start(const char *name, FrJobFunc func, gpointer data, GDestroyNotify free_data) {
  FrJob *job = g_new0(FrJob, 1);
  job->ref_count = 2;   /* the caller's and the thread's */
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

FrJob *fr_job_ref(FrJob *job) {
  g_atomic_int_inc(&job->ref_count);
  return job;
}

void fr_job_unref(FrJob *job) {
  if (!job || !g_atomic_int_dec_and_test(&job->ref_count)) return;
  /* Last ref. On the job's own thread (the caller let go first) the thread is detached; anywhere else
   * the thread has already dropped its ref, so it is returning and the join is short. */
  if (job->thread && g_thread_self() == job->thread) g_thread_unref(job->thread);
  else if (job->thread) g_thread_join(job->thread);
  g_async_queue_unref(job->events);
  g_clear_error(&job->error);
  g_mutex_clear(&job->lock);
  g_free(job->name);
  g_free(job);
}

const char *fr_job_get_name(FrJob *job) { return job->name; }

void fr_job_progress(FrJob *job, double fraction, const char *fmt, ...) {
  FrEvent *ev = g_new0(FrEvent, 1);
  ev->kind = FR_EVENT_PROGRESS;
  ev->fraction = fraction;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    ev->message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
  }
  g_mutex_lock(&job->lock);
  if (fraction >= 0) job->fraction = fraction;
  g_mutex_unlock(&job->lock);
  push(job, ev);
}

void fr_job_emit(FrJob *job, const char *payload_type, GVariant *payload, const char *message) {
  FrEvent *ev = g_new0(FrEvent, 1);
  ev->kind = FR_EVENT_PAYLOAD;
  ev->fraction = fr_job_get_fraction(job);
  ev->payload_type = g_strdup(payload_type);
  ev->payload = payload ? g_variant_ref_sink(payload) : NULL;
  ev->message = g_strdup(message);
  push(job, ev);
}

void fr_job_log(FrJob *job, const char *fmt, ...) {
  FrEvent *ev = g_new0(FrEvent, 1);
  ev->kind = FR_EVENT_LOG;
  ev->fraction = fr_job_get_fraction(job);
  va_list ap;
  va_start(ap, fmt);
  ev->message = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  push(job, ev);
}

gboolean fr_job_is_cancelled(FrJob *job) { return g_atomic_int_get(&job->cancelled); }
void fr_job_cancel(FrJob *job) { g_atomic_int_set(&job->cancelled, 1); }

FrEvent *fr_job_pop_event(FrJob *job) { return g_async_queue_try_pop(job->events); }

FrEvent *fr_job_wait_event(FrJob *job, gint64 timeout_us) {
  return g_async_queue_timeout_pop(job->events, (guint64)(timeout_us > 0 ? timeout_us : 0));
}

FrJobStatus fr_job_get_status(FrJob *job) { return (FrJobStatus)g_atomic_int_get(&job->status); }

double fr_job_get_fraction(FrJob *job) {
  g_mutex_lock(&job->lock);
  double f = job->fraction;
  g_mutex_unlock(&job->lock);
  return f;
}

FrJobStatus fr_job_join(FrJob *job, GError **error) {
  if (!job->joined) {
    g_thread_join(job->thread);
    job->thread = NULL;
    job->joined = TRUE;
  }
  FrJobStatus st = fr_job_get_status(job);
  g_mutex_lock(&job->lock);
  if (job->error && error) *error = g_error_copy(job->error);
  g_mutex_unlock(&job->lock);
  return st;
}
