/* frontier-page-util.h: small helpers the pages share. */
#pragma once
#include <gtk/gtk.h>
#include "fr-job.h"

G_BEGIN_DECLS

/* Takes job over from a page that is going away: cancels it and keeps the application alive until
 * the job has stopped (for at most ten seconds), so it never dies half-way through writing a file.
 * Events still queued are dropped. */
void frontier_jobs_cancel_and_release(FrJob *job);

/* Shows title as a toast in the window's AdwToastOverlay (timeout in seconds, 0 = until dismissed);
 * logs it when the widget is not inside one. */
void frontier_page_toast(GtkWidget *widget, const char *title, guint timeout);

/* 1234567 -> "1.23 M" (G, M, k; plain below 1000; "—" when not finite): MACs, parameters. */
char *frontier_format_count(double v);

G_END_DECLS
