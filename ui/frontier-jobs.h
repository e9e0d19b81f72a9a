/* frontier-jobs.h: job helpers shared by the pages. */
#pragma once
#include <gio/gio.h>
#include "fr-job.h"

G_BEGIN_DECLS

/* Takes job over from a page that is going away: cancels it and keeps the application alive until
 * the job has stopped (for at most ten seconds), so it never dies half-way through writing a file.
 * Events still queued are dropped. */
void frontier_jobs_cancel_and_release(FrJob *job);

G_END_DECLS
