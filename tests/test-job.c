/* Jobs: events in order, payloads, cancellation, failure, and the pool's parallel loops. */
#include "fr-job.h"
#include "fr-pool.h"

#include <string.h>

static gboolean counting_job(FrJob *job, gpointer data, GError **error) {
  int n = GPOINTER_TO_INT(data);
  for (int i = 1; i <= n; i++) {
    if (fr_job_is_cancelled(job)) {
      g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "cancelled at %d", i);
      return FALSE;
    }
    fr_job_emit(job, "test.step", g_variant_new("(u)", (guint32)i), NULL);
    fr_job_progress(job, (double)i / n, "step %d", i);
    g_usleep(n > 100 ? 2000 : 0);
  }
  return TRUE;
}

static gboolean failing_job(FrJob *job, gpointer data, GError **error) {
  g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_FAILED, "bad input: %s", (const char *)data);
  return FALSE;
}

static void test_events(void) {
  FrJob *job = fr_job_start("count", counting_job, GINT_TO_POINTER(20), NULL);
  guint32 expect = 1;
  double last_fraction = 0;
  gboolean finished = FALSE;
  while (!finished) {
    FrEvent *ev = fr_job_wait_event(job, G_USEC_PER_SEC * 5);
    g_assert_nonnull(ev);
    if (ev->kind == FR_EVENT_PAYLOAD) {
      g_assert_cmpstr(ev->payload_type, ==, "test.step");
      guint32 i;
      g_variant_get(ev->payload, "(u)", &i);
      g_assert_cmpuint(i, ==, expect++);
    } else if (ev->kind == FR_EVENT_PROGRESS) {
      g_assert_cmpfloat(ev->fraction, >=, last_fraction);
      last_fraction = ev->fraction;
    } else if (ev->kind == FR_EVENT_FINISHED) {
      g_assert_cmpint(ev->status, ==, FR_JOB_SUCCEEDED);
      finished = TRUE;
    }
    fr_event_free(ev);
  }
  g_assert_cmpuint(expect, ==, 21);
  g_assert_cmpint(fr_job_join(job, NULL), ==, FR_JOB_SUCCEEDED);
  g_assert_cmpfloat(fr_job_get_fraction(job), ==, 1.0);
  fr_job_unref(job);
}

static void test_cancel(void) {
  FrJob *job = fr_job_start("count", counting_job, GINT_TO_POINTER(100000), NULL);
  g_usleep(20000);
  fr_job_cancel(job);
  GError *error = NULL;
  g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_CANCELLED);
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED);
  g_error_free(error);
  /* the last event says so */
  FrEvent *ev, *last = NULL;
  while ((ev = fr_job_pop_event(job))) {
    fr_event_free(last);
    last = ev;
  }
  g_assert_nonnull(last);
  g_assert_cmpint(last->kind, ==, FR_EVENT_FINISHED);
  g_assert_cmpint(last->status, ==, FR_JOB_CANCELLED);
  fr_event_free(last);
  fr_job_unref(job);
}

static void test_failure(void) {
  FrJob *job = fr_job_start("fail", failing_job, g_strdup("x"), g_free);
  GError *error = NULL;
  g_assert_cmpint(fr_job_join(job, &error), ==, FR_JOB_FAILED);
  g_assert_error(error, FR_JOB_ERROR, FR_JOB_ERROR_FAILED);
  g_assert_cmpstr(error->message, ==, "bad input: x");
  g_error_free(error);
  fr_job_unref(job);
}

static void test_unref_while_running(void) {
  /* the caller may let go first; the job finishes and frees itself */
  FrJob *job = fr_job_start("count", counting_job, GINT_TO_POINTER(5), NULL);
  fr_job_unref(job);
  g_usleep(100000);
}

typedef struct { gint64 *out; } SumCtx;
static void square_range(void *p, int64_t b, int64_t e) {
  SumCtx *c = p;
  for (int64_t i = b; i < e; i++) c->out[i] = i * i;
}

static void test_pool(void) {
  for (int threads = 1; threads <= 3; threads++) {
    fr_pool_set_threads(threads);
    g_assert_cmpint(fr_pool_get_threads(), ==, threads);
    for (int64_t n = 0; n < 3000; n += 997) {
      gint64 *out = g_new0(gint64, n + 1);
      SumCtx c = { out };
      for (int rep = 0; rep < 50; rep++) fr_parallel_for(n, 7, square_range, &c);
      for (int64_t i = 0; i < n; i++) g_assert_cmpint(out[i], ==, i * i);
      g_free(out);
    }
  }
  fr_pool_set_threads(0);
}

static gpointer pool_user(gpointer data) {
  gint64 *out = g_new0(gint64, 5000);
  SumCtx c = { out };
  for (int rep = 0; rep < 200; rep++) fr_parallel_for(5000, 16, square_range, &c);
  gboolean ok = TRUE;
  for (int64_t i = 0; i < 5000; i++) ok &= out[i] == i * i;
  g_free(out);
  return GINT_TO_POINTER(ok);
}

static void test_pool_concurrent(void) {
  /* two jobs sharing the pool: one gets it, the other runs inline; both correct */
  GThread *a = g_thread_new("a", pool_user, NULL), *b = g_thread_new("b", pool_user, NULL);
  g_assert_true(GPOINTER_TO_INT(g_thread_join(a)));
  g_assert_true(GPOINTER_TO_INT(g_thread_join(b)));
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/job/events", test_events);
  g_test_add_func("/job/cancel", test_cancel);
  g_test_add_func("/job/failure", test_failure);
  g_test_add_func("/job/unref-while-running", test_unref_while_running);
  g_test_add_func("/pool/parallel-for", test_pool);
  g_test_add_func("/pool/concurrent", test_pool_concurrent);
  return g_test_run();
}
