/* frontier-apq-budget.c: see frontier-apq-budget.h. */
#include <math.h>

#include "frontier-apq-budget.h"

#define DEBOUNCE_MS 200

struct _FrontierApqBudget {
  AdwPreferencesRow parent_instance;

  GtkLabel *title_label;
  GtkLabel *subtitle_label;
  GtkSpinButton *spin;
  GtkSwitch *toggle;
  GtkScale *scale;
  GtkAdjustment *adjustment;

  char *name, *unit;
  double minimum;
  int digits;
  gboolean silent;   /* programmatic changes: no ::changed */
  guint debounce_id;
};

G_DEFINE_FINAL_TYPE(FrontierApqBudget, frontier_apq_budget, ADW_TYPE_PREFERENCES_ROW)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static char *
format_value(FrontierApqBudget *self, double v)
{
  if (!isfinite(v))
    return g_strdup("—");
  if (fabs(v) >= 1e5)
    return g_strdup_printf("%.4g %s", v, self->unit != NULL ? self->unit : "");
  return g_strdup_printf("%.*f %s", self->digits, v, self->unit != NULL ? self->unit : "");
}

static void
update_subtitle(FrontierApqBudget *self)
{
  g_autofree char *min = format_value(self, self->minimum);
  g_autofree char *text = NULL;
  gboolean on = gtk_switch_get_active(self->toggle);
  if (isfinite(self->minimum))
    text = g_strdup_printf(on ? "Minimum %s" : "No budget · minimum %s", min);
  else
    text = g_strdup(on ? " " : "No budget");
  gtk_label_set_text(self->subtitle_label, text);
  gtk_widget_set_opacity(GTK_WIDGET(self->scale), on ? 1.0 : 0.55);
}

static void
update_accessible(FrontierApqBudget *self)
{
  const char *name = self->name != NULL ? self->name : "Budget";
  g_autofree char *spin = self->unit != NULL && *self->unit ? g_strdup_printf("%s budget (%s)", name, self->unit)
                                                            : g_strdup_printf("%s budget", name);
  g_autofree char *lower_name = g_ascii_strdown(name, -1);
  g_autofree char *lower = g_strdup_printf("Limit %s", lower_name);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->spin), GTK_ACCESSIBLE_PROPERTY_LABEL, spin, -1);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->scale), GTK_ACCESSIBLE_PROPERTY_LABEL, spin, -1);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->toggle), GTK_ACCESSIBLE_PROPERTY_LABEL, lower, -1);
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->toggle), lower);
}

static gboolean
debounce_cb(gpointer data)
{
  FrontierApqBudget *self = data;
  self->debounce_id = 0;
  g_signal_emit(self, signals[CHANGED], 0);
  return G_SOURCE_REMOVE;
}

static void
value_changed_cb(FrontierApqBudget *self)
{
  if (self->silent)
    return;
  /* Moving the slider or typing a value turns the budget on. */
  if (!gtk_switch_get_active(self->toggle)) {
    self->silent = TRUE;
    gtk_switch_set_active(self->toggle, TRUE);
    self->silent = FALSE;
    update_subtitle(self);
  }
  g_clear_handle_id(&self->debounce_id, g_source_remove);
  self->debounce_id = g_timeout_add(DEBOUNCE_MS, debounce_cb, self);
}

static void
toggled_cb(FrontierApqBudget *self)
{
  update_subtitle(self);
  if (self->silent)
    return;
  g_clear_handle_id(&self->debounce_id, g_source_remove);
  g_signal_emit(self, signals[CHANGED], 0);
}

static void
frontier_apq_budget_dispose(GObject *object)
{
  FrontierApqBudget *self = FRONTIER_APQ_BUDGET(object);
  g_clear_handle_id(&self->debounce_id, g_source_remove);
  G_OBJECT_CLASS(frontier_apq_budget_parent_class)->dispose(object);
}

static void
frontier_apq_budget_finalize(GObject *object)
{
  FrontierApqBudget *self = FRONTIER_APQ_BUDGET(object);
  g_free(self->name);
  g_free(self->unit);
  G_OBJECT_CLASS(frontier_apq_budget_parent_class)->finalize(object);
}

static void
frontier_apq_budget_class_init(FrontierApqBudgetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->dispose = frontier_apq_budget_dispose;
  object_class->finalize = frontier_apq_budget_finalize;
  signals[CHANGED] = g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                  G_TYPE_NONE, 0);
}

static void
frontier_apq_budget_init(FrontierApqBudget *self)
{
  self->minimum = NAN;
  self->digits = 2;
  gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(self), FALSE);
  gtk_widget_add_css_class(GTK_WIDGET(self), "frontier-apq-budget");

  GtkWidget *outer = gtk_box_new(GTK_ORIENTATION_VERTICAL, 4);
  gtk_widget_set_margin_top(outer, 8);
  gtk_widget_set_margin_bottom(outer, 6);
  gtk_widget_set_margin_start(outer, 12);
  gtk_widget_set_margin_end(outer, 12);

  GtkWidget *top = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *titles = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
  gtk_widget_set_hexpand(titles, TRUE);
  gtk_widget_set_valign(titles, GTK_ALIGN_CENTER);
  self->title_label = GTK_LABEL(gtk_label_new("Budget"));
  gtk_label_set_xalign(self->title_label, 0);
  gtk_label_set_ellipsize(self->title_label, PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class(GTK_WIDGET(self->title_label), "title");
  self->subtitle_label = GTK_LABEL(gtk_label_new(" "));
  gtk_label_set_xalign(self->subtitle_label, 0);
  gtk_label_set_wrap(self->subtitle_label, TRUE);
  gtk_widget_add_css_class(GTK_WIDGET(self->subtitle_label), "subtitle");
  gtk_widget_add_css_class(GTK_WIDGET(self->subtitle_label), "numeric");
  gtk_box_append(GTK_BOX(titles), GTK_WIDGET(self->title_label));
  gtk_box_append(GTK_BOX(titles), GTK_WIDGET(self->subtitle_label));
  gtk_box_append(GTK_BOX(top), titles);

  self->toggle = GTK_SWITCH(gtk_switch_new());
  gtk_widget_set_valign(GTK_WIDGET(self->toggle), GTK_ALIGN_CENTER);
  gtk_box_append(GTK_BOX(top), GTK_WIDGET(self->toggle));
  gtk_box_append(GTK_BOX(outer), top);

  /* The slider and the exact value side by side. */
  GtkWidget *bottom = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
  self->adjustment = gtk_adjustment_new(1, 0, 10, 0.01, 0.1, 0);
  self->scale = GTK_SCALE(gtk_scale_new(GTK_ORIENTATION_HORIZONTAL, self->adjustment));
  gtk_scale_set_draw_value(self->scale, FALSE);
  gtk_widget_set_hexpand(GTK_WIDGET(self->scale), TRUE);
  gtk_widget_set_valign(GTK_WIDGET(self->scale), GTK_ALIGN_CENTER);
  gtk_box_append(GTK_BOX(bottom), GTK_WIDGET(self->scale));
  self->spin = GTK_SPIN_BUTTON(gtk_spin_button_new(self->adjustment, 0.01, 2));
  gtk_spin_button_set_numeric(self->spin, TRUE);
  gtk_editable_set_width_chars(GTK_EDITABLE(self->spin), 7);
  gtk_widget_set_valign(GTK_WIDGET(self->spin), GTK_ALIGN_CENTER);
  gtk_box_append(GTK_BOX(bottom), GTK_WIDGET(self->spin));
  gtk_box_append(GTK_BOX(outer), bottom);

  gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(self), outer);

  g_signal_connect_swapped(self->adjustment, "value-changed", G_CALLBACK(value_changed_cb), self);
  g_signal_connect_swapped(self->toggle, "notify::active", G_CALLBACK(toggled_cb), self);
  update_accessible(self);
  update_subtitle(self);
}

GtkWidget *
frontier_apq_budget_new(void)
{
  return g_object_new(FRONTIER_TYPE_APQ_BUDGET, NULL);
}

void
frontier_apq_budget_set_objective(FrontierApqBudget *self, const char *name, const char *unit)
{
  g_return_if_fail(FRONTIER_IS_APQ_BUDGET(self));
  g_free(self->name);
  g_free(self->unit);
  self->name = g_strdup(name);
  self->unit = g_strdup(unit);
  g_autofree char *title = unit != NULL && *unit ? g_strdup_printf("%s (%s)", name, unit) : g_strdup(name);
  gtk_label_set_text(self->title_label, title);
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self), title);
  update_accessible(self);
  update_subtitle(self);
}

void
frontier_apq_budget_configure(FrontierApqBudget *self, double lower, double upper, double minimum, int digits)
{
  g_return_if_fail(FRONTIER_IS_APQ_BUDGET(self));
  self->minimum = minimum;
  self->digits = CLAMP(digits, 0, 6);
  double step = pow(10, -self->digits);
  double value = gtk_adjustment_get_value(self->adjustment);
  self->silent = TRUE;
  gtk_spin_button_set_digits(self->spin, (guint)self->digits);
  gtk_adjustment_configure(self->adjustment, CLAMP(value, lower, upper), lower, upper, step,
                           MAX(step, (upper - lower) / 20), 0);
  gtk_scale_clear_marks(self->scale);
  if (isfinite(minimum) && minimum >= lower && minimum <= upper)
    gtk_scale_add_mark(self->scale, minimum, GTK_POS_BOTTOM, NULL);
  self->silent = FALSE;
  update_subtitle(self);
}

double
frontier_apq_budget_get_budget(FrontierApqBudget *self)
{
  g_return_val_if_fail(FRONTIER_IS_APQ_BUDGET(self), INFINITY);
  return gtk_switch_get_active(self->toggle) ? gtk_adjustment_get_value(self->adjustment) : INFINITY;
}

gboolean
frontier_apq_budget_get_enabled(FrontierApqBudget *self)
{
  g_return_val_if_fail(FRONTIER_IS_APQ_BUDGET(self), FALSE);
  return gtk_switch_get_active(self->toggle);
}

double
frontier_apq_budget_get_value(FrontierApqBudget *self)
{
  g_return_val_if_fail(FRONTIER_IS_APQ_BUDGET(self), NAN);
  return gtk_adjustment_get_value(self->adjustment);
}

void
frontier_apq_budget_set_value(FrontierApqBudget *self, double value)
{
  g_return_if_fail(FRONTIER_IS_APQ_BUDGET(self));
  self->silent = TRUE;
  gtk_adjustment_set_value(self->adjustment, value);
  self->silent = FALSE;
}

void
frontier_apq_budget_set_enabled(FrontierApqBudget *self, gboolean enabled)
{
  g_return_if_fail(FRONTIER_IS_APQ_BUDGET(self));
  self->silent = TRUE;
  gtk_switch_set_active(self->toggle, enabled);
  self->silent = FALSE;
  update_subtitle(self);
}

void
frontier_apq_budget_set_error(FrontierApqBudget *self, gboolean error)
{
  g_return_if_fail(FRONTIER_IS_APQ_BUDGET(self));
  if (error)
    gtk_widget_add_css_class(GTK_WIDGET(self->spin), "error");
  else
    gtk_widget_remove_css_class(GTK_WIDGET(self->spin), "error");
}
