/* frontier-preferences-window.h: application preferences (worker threads). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_PREFERENCES_WINDOW (frontier_preferences_window_get_type())
G_DECLARE_FINAL_TYPE(FrontierPreferencesWindow, frontier_preferences_window, FRONTIER, PREFERENCES_WINDOW,
                     AdwPreferencesWindow)

/* settings may be NULL (no schema installed): the rows are then shown but disabled. */
GtkWidget *frontier_preferences_window_new (GSettings *settings);

G_END_DECLS
