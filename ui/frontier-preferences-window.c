/* frontier-preferences-window.c: see frontier-preferences-window.h. */
#include "frontier-preferences-window.h"

struct _FrontierPreferencesWindow {
  AdwPreferencesWindow parent_instance;

  AdwActionRow  *threads_row;
  GtkSpinButton *threads_spin;
  GSettings     *settings;
};

G_DEFINE_FINAL_TYPE(FrontierPreferencesWindow, frontier_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
frontier_preferences_window_dispose(GObject *object)
{
  FrontierPreferencesWindow *self = FRONTIER_PREFERENCES_WINDOW(object);
  gtk_widget_dispose_template(GTK_WIDGET(self), FRONTIER_TYPE_PREFERENCES_WINDOW);
  g_clear_object(&self->settings);
  G_OBJECT_CLASS(frontier_preferences_window_parent_class)->dispose(object);
}

static void
frontier_preferences_window_class_init(FrontierPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->dispose = frontier_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/org/frontier/Frontier/frontier-preferences-window.ui");
  gtk_widget_class_bind_template_child(widget_class, FrontierPreferencesWindow, threads_row);
  gtk_widget_class_bind_template_child(widget_class, FrontierPreferencesWindow, threads_spin);
}

static void
frontier_preferences_window_init(FrontierPreferencesWindow *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
}

GtkWidget *
frontier_preferences_window_new(GSettings *settings)
{
  FrontierPreferencesWindow *self = g_object_new(FRONTIER_TYPE_PREFERENCES_WINDOW, NULL);
  guint cores = g_get_num_processors();
  g_autofree char *subtitle = NULL;
  if (settings != NULL) {
    self->settings = g_object_ref(settings);
    g_settings_bind(settings, "threads", self->threads_spin, "value", G_SETTINGS_BIND_DEFAULT);
    subtitle = g_strdup_printf("Threads for training and search; 0 uses all %u cores", cores);
  } else {
    gtk_widget_set_sensitive(GTK_WIDGET(self->threads_row), FALSE);
    subtitle = g_strdup("Unavailable: the org.frontier.Frontier settings schema is not installed");
  }
  adw_action_row_set_subtitle(self->threads_row, subtitle);
  return GTK_WIDGET(self);
}
