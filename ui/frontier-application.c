/* frontier-application.c: application actions, settings and the main window. */
#include "fr-config.h"

#include "frontier-application.h"
#include "frontier-preferences-window.h"
#include "frontier-window.h"

struct _FrontierApplication {
  AdwApplication parent_instance;

  GSettings *settings;
};

G_DEFINE_FINAL_TYPE(FrontierApplication, frontier_application, ADW_TYPE_APPLICATION)

FrontierApplication *
frontier_application_new(void)
{
  return g_object_new(FRONTIER_TYPE_APPLICATION,
                      "application-id", FR_APP_ID,
                      "flags", G_APPLICATION_DEFAULT_FLAGS,
                      "resource-base-path", "/org/frontier/Frontier",
                      NULL);
}

GSettings *
frontier_application_get_settings(FrontierApplication *self)
{
  g_return_val_if_fail(FRONTIER_IS_APPLICATION(self), NULL);
  return self->settings;
}

GSettings *
frontier_get_settings(void)
{
  GApplication *app = g_application_get_default();
  if (app == NULL || !FRONTIER_IS_APPLICATION(app))
    return NULL;
  return FRONTIER_APPLICATION(app)->settings;
}

static void
frontier_application_startup(GApplication *application)
{
  FrontierApplication *self = FRONTIER_APPLICATION(application);

  G_APPLICATION_CLASS(frontier_application_parent_class)->startup(application);

  GSettingsSchemaSource *source = g_settings_schema_source_get_default();
  GSettingsSchema *schema = source ? g_settings_schema_source_lookup(source, FR_APP_ID, TRUE) : NULL;
  if (schema != NULL) {
    self->settings = g_settings_new_full(schema, NULL, NULL);
    g_settings_schema_unref(schema);
  } else {
    g_message("GSettings schema %s not found: window state and preferences will not be saved "
              "(set GSETTINGS_SCHEMA_DIR for uninstalled runs)", FR_APP_ID);
  }

  static const char *const quit_accels[] = { "<Control>q", NULL };
  static const char *const prefs_accels[] = { "<Control>comma", NULL };
  static const char *const close_accels[] = { "<Control>w", NULL };
  gtk_application_set_accels_for_action(GTK_APPLICATION(self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action(GTK_APPLICATION(self), "app.preferences", prefs_accels);
  gtk_application_set_accels_for_action(GTK_APPLICATION(self), "window.close", close_accels);
}

static void
frontier_application_activate(GApplication *application)
{
  GtkWindow *window = gtk_application_get_active_window(GTK_APPLICATION(application));
  if (window == NULL)
    window = GTK_WINDOW(frontier_window_new(FRONTIER_APPLICATION(application)));
  gtk_window_present(window);
}

static void
frontier_application_dispose(GObject *object)
{
  FrontierApplication *self = FRONTIER_APPLICATION(object);
  g_clear_object(&self->settings);
  G_OBJECT_CLASS(frontier_application_parent_class)->dispose(object);
}

static void
quit_action(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GtkApplication *app = GTK_APPLICATION(user_data);
  /* Close the windows rather than stopping the main loop: they save their state and cancel their
   * jobs, and the application then exits once the last job has stopped (see the training page). */
  GList *windows = g_list_copy(gtk_application_get_windows(app));
  for (GList *l = windows; l; l = l->next) {
    gtk_window_close(GTK_WINDOW(l->data));
  }
  g_list_free(windows);
}

static void
about_action(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GtkApplication *app = GTK_APPLICATION(user_data);
  static const char *developers[] = { "The Frontier developers", NULL };
  const char *icon = FR_APP_ID;
  GdkDisplay *display = gdk_display_get_default();
  if (display && !gtk_icon_theme_has_icon(gtk_icon_theme_get_for_display(display), icon))
    icon = "applications-science-symbolic";

  GtkWidget *about = g_object_new(ADW_TYPE_ABOUT_WINDOW,
                                  "transient-for", gtk_application_get_active_window(app),
                                  "modal", TRUE,
                                  "application-name", "Frontier",
                                  "application-icon", icon,
                                  "developer-name", "The Frontier developers",
                                  "developers", developers,
                                  "version", FR_VERSION,
                                  "comments",
                                  "A workbench for efficient deep learning: train a classifier on "
                                  "Fashion-MNIST, search architectures with pruning and quantization, "
                                  "compress GANs, compare Lite Transformer translations and simulate "
                                  "the SpArch sparse-matrix accelerator.",
                                  "license-type", GTK_LICENSE_GPL_3_0,
                                  "copyright", "© 2024 The Frontier developers",
                                  NULL);
  gtk_window_present(GTK_WINDOW(about));
}

static void
preferences_action(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  FrontierApplication *self = FRONTIER_APPLICATION(user_data);
  GtkWindow *parent = gtk_application_get_active_window(GTK_APPLICATION(self));
  GtkWidget *prefs = frontier_preferences_window_new(self->settings);
  gtk_window_set_transient_for(GTK_WINDOW(prefs), parent);
  gtk_window_present(GTK_WINDOW(prefs));
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = quit_action },
  { .name = "about", .activate = about_action },
  { .name = "preferences", .activate = preferences_action },
};

static void
frontier_application_class_init(FrontierApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS(klass);

  object_class->dispose = frontier_application_dispose;
  app_class->startup = frontier_application_startup;
  app_class->activate = frontier_application_activate;
}

static void
frontier_application_init(FrontierApplication *self)
{
  g_action_map_add_action_entries(G_ACTION_MAP(self), app_actions, G_N_ELEMENTS(app_actions), self);
}
