/* frontier-window.c: see frontier-window.h. */
#include "frontier-window.h"
#include "frontier-apq-page.h"
#include "frontier-gan-page.h"
#include "frontier-lsra-page.h"
#include "frontier-profiler-page.h"
#include "frontier-sparch-page.h"
#include "frontier-training-page.h"

struct _FrontierWindow {
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  AdwLeaflet      *leaflet;
  GtkListBox      *sidebar;
  GtkStack        *stack;
  AdwWindowTitle  *page_title;
  FrontierProfilerPage *profiler_page;

  GSettings       *settings;  /* may be NULL */
};

G_DEFINE_FINAL_TYPE(FrontierWindow, frontier_window, ADW_TYPE_APPLICATION_WINDOW)

static GtkListBoxRow *
find_row(FrontierWindow *self, const char *name)
{
  for (int i = 0;; i++) {
    GtkListBoxRow *row = gtk_list_box_get_row_at_index(self->sidebar, i);
    if (row == NULL)
      return NULL;
    if (g_strcmp0(gtk_widget_get_name(GTK_WIDGET(row)), name) == 0)
      return row;
  }
}

gboolean
frontier_window_show_page(FrontierWindow *self, const char *name)
{
  g_return_val_if_fail(FRONTIER_IS_WINDOW(self), FALSE);
  if (name == NULL || gtk_stack_get_child_by_name(self->stack, name) == NULL)
    return FALSE;
  gtk_stack_set_visible_child_name(self->stack, name);
  return TRUE;
}

void
frontier_window_add_toast(FrontierWindow *self, AdwToast *toast)
{
  g_return_if_fail(FRONTIER_IS_WINDOW(self));
  adw_toast_overlay_add_toast(self->toast_overlay, toast);
}

static void
visible_child_changed_cb(FrontierWindow *self)
{
  const char *name = gtk_stack_get_visible_child_name(self->stack);
  GtkWidget *child = gtk_stack_get_visible_child(self->stack);
  if (child != NULL) {
    GtkStackPage *page = gtk_stack_get_page(self->stack, child);
    adw_window_title_set_title(self->page_title, gtk_stack_page_get_title(page));
  }
  GtkListBoxRow *row = find_row(self, name);
  if (row != NULL && gtk_list_box_get_selected_row(self->sidebar) != row)
    gtk_list_box_select_row(self->sidebar, row);
  if (self->settings != NULL && name != NULL)
    g_settings_set_string(self->settings, "last-page", name);
}

static void
sidebar_row_selected_cb(FrontierWindow *self, GtkListBoxRow *row)
{
  if (row != NULL)
    frontier_window_show_page(self, gtk_widget_get_name(GTK_WIDGET(row)));
}

static void
sidebar_row_activated_cb(FrontierWindow *self, GtkListBoxRow *row)
{
  frontier_window_show_page(self, gtk_widget_get_name(GTK_WIDGET(row)));
  adw_leaflet_navigate(self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

static void
go_back_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierWindow *self = FRONTIER_WINDOW(widget);
  adw_leaflet_navigate(self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static void
show_page_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierWindow *self = FRONTIER_WINDOW(widget);
  if (frontier_window_show_page(self, g_variant_get_string(param, NULL)))
    adw_leaflet_navigate(self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

/* win.profile-model (s): the Profiler page with that target selected, profiling it. */
static void
profile_model_cb(GSimpleAction *action, GVariant *param, gpointer user_data)
{
  FrontierWindow *self = FRONTIER_WINDOW(user_data);
  const char *target = g_variant_get_string(param, NULL);
  if (!frontier_profiler_page_profile(self->profiler_page, target)) {
    g_autofree char *msg = g_strdup_printf("The profiler does not know “%s”", target);
    adw_toast_overlay_add_toast(self->toast_overlay, adw_toast_new(msg));
    return;
  }
  if (frontier_window_show_page(self, "profiler"))
    adw_leaflet_navigate(self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

static void
save_state(FrontierWindow *self)
{
  if (self->settings == NULL)
    return;
  int width = 0, height = 0;
  gtk_window_get_default_size(GTK_WINDOW(self), &width, &height);
  gboolean maximized = gtk_window_is_maximized(GTK_WINDOW(self));
  g_settings_delay(self->settings);
  if (!maximized && width > 0 && height > 0) {
    g_settings_set_int(self->settings, "window-width", width);
    g_settings_set_int(self->settings, "window-height", height);
  }
  g_settings_set_boolean(self->settings, "window-maximized", maximized);
  const char *page = gtk_stack_get_visible_child_name(self->stack);
  if (page != NULL)
    g_settings_set_string(self->settings, "last-page", page);
  g_settings_apply(self->settings);
}

static void
restore_state(FrontierWindow *self)
{
  if (self->settings == NULL) {
    frontier_window_show_page(self, "training");
    return;
  }
  int width = g_settings_get_int(self->settings, "window-width");
  int height = g_settings_get_int(self->settings, "window-height");
  if (width > 0 && height > 0)
    gtk_window_set_default_size(GTK_WINDOW(self), width, height);
  if (g_settings_get_boolean(self->settings, "window-maximized"))
    gtk_window_maximize(GTK_WINDOW(self));
  g_autofree char *page = g_settings_get_string(self->settings, "last-page");
  if (!frontier_window_show_page(self, page))
    frontier_window_show_page(self, "training");
}

static gboolean
frontier_window_close_request(GtkWindow *window)
{
  save_state(FRONTIER_WINDOW(window));
  return GTK_WINDOW_CLASS(frontier_window_parent_class)->close_request(window);
}

static void
frontier_window_dispose(GObject *object)
{
  FrontierWindow *self = FRONTIER_WINDOW(object);
  gtk_widget_dispose_template(GTK_WIDGET(self), FRONTIER_TYPE_WINDOW);
  g_clear_object(&self->settings);
  G_OBJECT_CLASS(frontier_window_parent_class)->dispose(object);
}

static void
frontier_window_class_init(FrontierWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS(klass);

  object_class->dispose = frontier_window_dispose;
  window_class->close_request = frontier_window_close_request;

  g_type_ensure(FRONTIER_TYPE_TRAINING_PAGE);
  g_type_ensure(FRONTIER_TYPE_APQ_PAGE);
  g_type_ensure(FRONTIER_TYPE_GAN_PAGE);
  g_type_ensure(FRONTIER_TYPE_LSRA_PAGE);
  g_type_ensure(FRONTIER_TYPE_SPARCH_PAGE);
  g_type_ensure(FRONTIER_TYPE_PROFILER_PAGE);

  gtk_widget_class_set_template_from_resource(widget_class, "/org/frontier/Frontier/frontier-window.ui");
  gtk_widget_class_bind_template_child(widget_class, FrontierWindow, toast_overlay);
  gtk_widget_class_bind_template_child(widget_class, FrontierWindow, leaflet);
  gtk_widget_class_bind_template_child(widget_class, FrontierWindow, sidebar);
  gtk_widget_class_bind_template_child(widget_class, FrontierWindow, stack);
  gtk_widget_class_bind_template_child(widget_class, FrontierWindow, page_title);
  gtk_widget_class_bind_template_child(widget_class, FrontierWindow, profiler_page);
  gtk_widget_class_bind_template_callback(widget_class, visible_child_changed_cb);
  gtk_widget_class_bind_template_callback(widget_class, sidebar_row_selected_cb);
  gtk_widget_class_bind_template_callback(widget_class, sidebar_row_activated_cb);

  gtk_widget_class_install_action(widget_class, "window.go-back", NULL, go_back_action);
  gtk_widget_class_install_action(widget_class, "window.show-page", "s", show_page_action);

  static const struct { guint key; const char *page; } pages[] = {
    { GDK_KEY_1, "training" }, { GDK_KEY_2, "apq" }, { GDK_KEY_3, "gan" },
    { GDK_KEY_4, "lite-transformer" }, { GDK_KEY_5, "sparch" },
    { GDK_KEY_6, "profiler" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(pages); i++)
    gtk_widget_class_add_binding_action(widget_class, pages[i].key, GDK_ALT_MASK, "window.show-page", "s",
                                        pages[i].page);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Left, GDK_ALT_MASK, "window.go-back", NULL);
}

static void
frontier_window_init(FrontierWindow *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  static const GActionEntry entries[] = { { "profile-model", profile_model_cb, "s", NULL, NULL, { 0 } } };
  g_action_map_add_action_entries(G_ACTION_MAP(self), entries, G_N_ELEMENTS(entries), self);
}

FrontierWindow *
frontier_window_new(FrontierApplication *application)
{
  FrontierWindow *self = g_object_new(FRONTIER_TYPE_WINDOW, "application", application, NULL);
  GSettings *settings = frontier_application_get_settings(application);
  if (settings != NULL)
    self->settings = g_object_ref(settings);
  restore_state(self);
  visible_child_changed_cb(self);
  return self;
}
