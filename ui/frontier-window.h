/* frontier-window.h: the main window: a sidebar of pages and the page stack. */
#pragma once

#include <adwaita.h>

#include "frontier-application.h"

G_BEGIN_DECLS

#define FRONTIER_TYPE_WINDOW (frontier_window_get_type())
G_DECLARE_FINAL_TYPE(FrontierWindow, frontier_window, FRONTIER, WINDOW, AdwApplicationWindow)

FrontierWindow *frontier_window_new        (FrontierApplication *application);
/* Shows the page named name ("training", "apq", "gan", "lite-transformer", "sparch"). */
gboolean        frontier_window_show_page  (FrontierWindow *self, const char *name);
void            frontier_window_add_toast  (FrontierWindow *self, AdwToast *toast);

G_END_DECLS
