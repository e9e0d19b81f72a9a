/* frontier-application.h: the Frontier application (app id org.frontier.Frontier). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_APPLICATION (frontier_application_get_type())
G_DECLARE_FINAL_TYPE(FrontierApplication, frontier_application, FRONTIER, APPLICATION, AdwApplication)

FrontierApplication *frontier_application_new          (void);

/* The app's GSettings, or NULL when the org.frontier.Frontier schema is not installed (the app
 * then runs without saving state). */
GSettings           *frontier_application_get_settings (FrontierApplication *self);

/* Shorthand for the default application's settings; NULL as above or without an application. */
GSettings           *frontier_get_settings             (void);

G_END_DECLS
