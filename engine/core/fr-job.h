/* fr-job.h: long-running engine work on a worker thread, with progress events and cancellation.
 *
 * One API serves every sink: the CLI turns events into stderr lines, the GUI drains them once per
 * frame. A job function runs on its own thread, emits events (thread-safe, never blocks), checks
 * fr_job_is_cancelled() at step boundaries and returns TRUE on success or FALSE with a GError
 * (FR_JOB_ERROR_CANCELLED when it stopped because of a cancel). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct _FrJob FrJob;

typedef enum {
  FR_EVENT_PROGRESS, /* fraction (0..1, or -1 when unknown) + message */
  FR_EVENT_PAYLOAD,  /* typed payload: payload_type names the GVariant's meaning */
  FR_EVENT_LOG,      /* a message only */
  FR_EVENT_FINISHED, /* last event of a job; status + error message */
} FrEventKind;

typedef enum {
  FR_JOB_RUNNING,
  FR_JOB_SUCCEEDED,
  FR_JOB_FAILED,
  FR_JOB_CANCELLED,
} FrJobStatus;

typedef struct {
  FrEventKind kind;
  double fraction;          /* PROGRESS: 0..1, -1 when unknown; others: last known fraction */
  char *message;            /* may be NULL */
  char *payload_type;       /* PAYLOAD: e.g. "train.step", "train.epoch"; NULL otherwise */
  GVariant *payload;        /* PAYLOAD: floating refs are sunk; NULL otherwise */
  FrJobStatus status;       /* FINISHED */
  gint64 time_us;           /* monotonic time the event was emitted */
} FrEvent;

void fr_event_free(FrEvent *ev);

#define FR_JOB_ERROR (fr_job_error_quark())
GQuark fr_job_error_quark(void);
typedef enum {
  FR_JOB_ERROR_CANCELLED,
  FR_JOB_ERROR_FAILED,
  FR_JOB_ERROR_INVALID_ARGUMENT,
} FrJobError;

typedef gboolean (*FrJobFunc)(FrJob *job, gpointer data, GError **error);

/* Starts func(job, data) on a new worker thread. free_data runs on that thread when func returns. */
FrJob *fr_job_start(const char *name, FrJobFunc func, gpointer data, GDestroyNotify free_data);
FrJob *fr_job_ref(FrJob *job);
void fr_job_unref(FrJob *job);       /* the job keeps running; its thread holds its own ref */
const char *fr_job_get_name(FrJob *job);

/* Called from the job's thread. */
void fr_job_progress(FrJob *job, double fraction, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void fr_job_emit(FrJob *job, const char *payload_type, GVariant *payload, const char *message);
void fr_job_log(FrJob *job, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
gboolean fr_job_is_cancelled(FrJob *job);  /* also callable from any thread */

/* Called from any thread. */
void fr_job_cancel(FrJob *job);
FrEvent *fr_job_pop_event(FrJob *job);                       /* NULL when the queue is empty */
FrEvent *fr_job_wait_event(FrJob *job, gint64 timeout_us);   /* NULL on time-out */
FrJobStatus fr_job_get_status(FrJob *job);
double fr_job_get_fraction(FrJob *job);
/* Waits for the thread to end. Returns the final status; on failure sets error (a copy). */
FrJobStatus fr_job_join(FrJob *job, GError **error);

G_END_DECLS
