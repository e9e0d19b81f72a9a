#include "frontier-page-util.h"

#include <math.h>

#include <adwaita.h>

typedef struct {
  FrJob *job;
  gint64 deadline_us;
} Orphan;

static gboolean
orphan_poll_cb(gpointer data)
{
  Orphan *o = data;
  FrEvent *ev;
  while ((ev = fr_job_pop_event(o->job)) != NULL)
    fr_event_free(ev);
  if (fr_job_get_status(o->job) != FR_JOB_RUNNING || g_get_monotonic_time() > o->deadline_us) {
    GApplication *app = g_application_get_default();
    if (app != NULL)
      g_application_release(app);
    fr_job_unref(o->job);
    g_free(o);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

void
frontier_jobs_cancel_and_release(FrJob *job)
{
  if (job == NULL)
    return;
  fr_job_cancel(job);
  GApplication *app = g_application_get_default();
  if (app == NULL) {
    fr_job_unref(job);
    return;
  }
  Orphan *o = g_new0(Orphan, 1);
  o->job = job;
  o->deadline_us = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  g_application_hold(app);
  g_timeout_add(50, orphan_poll_cb, o);
}

void
frontier_page_toast(GtkWidget *widget, const char *title, guint timeout)
{
  GtkWidget *overlay = gtk_widget_get_ancestor(widget, ADW_TYPE_TOAST_OVERLAY);
  if (overlay == NULL) {
    g_message("%s", title);
    return;
  }
  AdwToast *toast = adw_toast_new(title);
  adw_toast_set_timeout(toast, timeout);
  adw_toast_overlay_add_toast(ADW_TOAST_OVERLAY(overlay), toast);
}

char *
frontier_format_count(double v)
{
  if (!isfinite(v))
    return g_strdup("—");
  if (v >= 1e9)
    return g_strdup_printf("%.3g G", v / 1e9);
  if (v >= 1e6)
    return g_strdup_printf("%.3g M", v / 1e6);
  if (v >= 1e3)
    return g_strdup_printf("%.3g k", v / 1e3);
  return g_strdup_printf("%.0f", v);
}
