/* frontier-training-page.c: see frontier-training-page.h.
 *
 * The job runs on the engine's worker thread; this page only drains its event queue from a tick
 * callback, at most MAX_EVENTS_PER_FRAME per frame, so the main thread never waits on training. */
#include <math.h>

#include <glib/gstdio.h>

#include "fr-classifier.h"
#include "fr-job.h"
#include "frontier-page-util.h"

#include "frontier-application.h"
#include "frontier-chart.h"
#include "frontier-columns.h"
#include "frontier-training-page.h"

#define MAX_EVENTS_PER_FRAME 512
#define MAX_STEPS_PER_FLUSH  MAX_EVENTS_PER_FRAME

struct _FrontierTrainingPage {
  GtkWidget parent_instance;

  /* Template children. */
  GtkWidget      *scroller;
  GtkButton      *start_button;
  GtkButton      *cancel_button;
  GtkButton      *save_button;
  AdwPreferencesGroup *params_group;
  GtkSpinButton  *epochs_spin;
  GtkSpinButton  *batch_spin;
  GtkSpinButton  *lr_spin;
  GtkSpinButton  *images_spin;
  GtkProgressBar *progress_bar;
  GtkLabel       *speed_label;
  GtkLabel       *elapsed_label;
  GtkLabel       *accuracy_label;
  FrontierChart  *loss_chart;
  FrontierChart  *accuracy_chart;

  guint loss_series;
  guint test_loss_series;
  guint train_acc_series;
  guint test_acc_series;

  /* The running job, if any. */
  FrJob   *job;
  guint    tick_id;
  gboolean cancel_requested;
  int      batch_size;
  int      epochs;
  gint64   started_us;
  gint64   last_elapsed_s;
  double   fraction;
  char    *progress_message;
  guint    last_step;
  guint    total_steps;
  gint64   rate_anchor_us;
  guint    rate_anchor_step;
  double   steps_per_s;
  double   final_accuracy;

  /* Where the finished model was written, for "Save model…". */
  char                 *output_path;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE(FrontierTrainingPage, frontier_training_page, GTK_TYPE_WIDGET)

static char *
format_duration(double seconds)
{
  gint64 s = (gint64)floor(MAX(0, seconds));
  if (s >= 3600)
    return g_strdup_printf("%" G_GINT64_FORMAT ":%02d:%02d", s / 3600, (int)(s / 60 % 60), (int)(s % 60));
  return g_strdup_printf("%d:%02d", (int)(s / 60), (int)(s % 60));
}

static void
update_sensitivity(FrontierTrainingPage *self)
{
  gboolean running = self->job != NULL;
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "training.start", !running);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "training.cancel", running && !self->cancel_requested);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "training.save-model",
                                !running && self->output_path != NULL);
  gtk_widget_set_sensitive(GTK_WIDGET(self->params_group), !running);
}

static void
set_progress_text(FrontierTrainingPage *self)
{
  g_autofree char *text = NULL;
  if (self->total_steps > 0) {
    guint per_epoch = MAX(1u, self->total_steps / (guint)MAX(1, self->epochs));
    guint epoch = MIN((guint)MAX(1, self->epochs), (self->last_step + per_epoch - 1) / per_epoch);
    text = g_strdup_printf("Epoch %u of %d · step %u of %u — %.0f %%", MAX(1u, epoch), self->epochs,
                           self->last_step, self->total_steps, self->fraction * 100);
  } else if (self->progress_message != NULL && *self->progress_message) {
    /* Engine messages are lower-case log lines; show them as a sentence. */
    g_autofree char *first = g_utf8_strup(self->progress_message, g_utf8_next_char(self->progress_message) -
                                                                    self->progress_message);
    text = g_strdup_printf("%s%s…", first, g_utf8_next_char(self->progress_message));
  } else {
    text = g_strdup_printf("%.0f %%", self->fraction * 100);
  }
  gtk_progress_bar_set_text(self->progress_bar, text);
}

static void
set_fraction(FrontierTrainingPage *self, double fraction)
{
  fraction = CLAMP(fraction, 0.0, 1.0);
  if (fraction < self->fraction)
    return;
  self->fraction = fraction;
  gtk_progress_bar_set_fraction(self->progress_bar, fraction);
}

static void
update_elapsed(FrontierTrainingPage *self, gint64 now_us)
{
  gint64 s = (now_us - self->started_us) / G_USEC_PER_SEC;
  if (s == self->last_elapsed_s)
    return;
  self->last_elapsed_s = s;
  g_autofree char *text = format_duration((double)s);
  gtk_label_set_text(self->elapsed_label, text);
}

static void
handle_step(FrontierTrainingPage *self, FrEvent *ev, double *xs, double *ys, gsize *n)
{
  guint32 step, total;
  double loss, lr;
  g_variant_get(ev->payload, "(uudd)", &step, &total, &loss, &lr);
  xs[*n] = step;
  ys[*n] = loss;
  (*n)++;
  self->last_step = step;
  self->total_steps = total;
  if (total > 0)
    set_fraction(self, (double)step / total);

  if (self->rate_anchor_us == 0) {
    self->rate_anchor_us = ev->time_us;
    self->rate_anchor_step = step;
  } else if (ev->time_us - self->rate_anchor_us >= G_USEC_PER_SEC) {
    double dt = (ev->time_us - self->rate_anchor_us) / 1e6;
    double rate = (step - self->rate_anchor_step) / dt;
    self->steps_per_s = self->steps_per_s > 0 ? 0.5 * self->steps_per_s + 0.5 * rate : rate;
    self->rate_anchor_us = ev->time_us;
    self->rate_anchor_step = step;
    g_autofree char *text = g_strdup_printf("%.1f steps/s · %'.0f images/s", self->steps_per_s,
                                            self->steps_per_s * self->batch_size);
    gtk_label_set_text(self->speed_label, text);
  }
}

static void
handle_epoch(FrontierTrainingPage *self, FrEvent *ev)
{
  guint32 epoch;
  double train_loss, train_acc, test_loss, test_acc;
  g_variant_get(ev->payload, "(udddd)", &epoch, &train_loss, &train_acc, &test_loss, &test_acc);
  double scale_train = train_acc <= 1.0 ? 100.0 : 1.0;
  double scale_test = test_acc <= 1.0 ? 100.0 : 1.0;
  frontier_chart_append(self->accuracy_chart, self->train_acc_series, epoch, train_acc * scale_train);
  frontier_chart_append(self->accuracy_chart, self->test_acc_series, epoch, test_acc * scale_test);
  frontier_chart_append(self->loss_chart, self->test_loss_series, self->last_step, test_loss);
  g_autofree char *text = g_strdup_printf("%.2f %% after epoch %u", test_acc * scale_test, epoch);
  gtk_label_set_text(self->accuracy_label, text);
}

static void
handle_result(FrontierTrainingPage *self, FrEvent *ev)
{
  double acc, seconds, images_per_s;
  guint32 params;
  g_variant_get(ev->payload, "(dddu)", &acc, &seconds, &images_per_s, &params);
  self->final_accuracy = acc <= 1.0 ? acc * 100 : acc;
  g_autofree char *acc_text = g_strdup_printf("%.2f %%", self->final_accuracy);
  gtk_label_set_text(self->accuracy_label, acc_text);
  g_autofree char *model = g_strdup_printf("A model of %'u parameters", params);
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->accuracy_label), model);
  g_autofree char *dur = seconds < 60 ? g_strdup_printf("%.1f s", seconds) : format_duration(seconds);
  g_autofree char *elapsed = g_strdup_printf("%s in total", dur);
  gtk_label_set_text(self->elapsed_label, elapsed);
  g_autofree char *speed = g_strdup_printf("%'.0f images/s on average", images_per_s);
  gtk_label_set_text(self->speed_label, speed);
}

static void
finish_job(FrontierTrainingPage *self, FrEvent *ev)
{
  FrJobStatus status = ev->status;
  if (status == FR_JOB_RUNNING)
    status = fr_job_get_status(self->job);

  switch (status) {
  case FR_JOB_SUCCEEDED: {
    set_fraction(self, 1.0);
    gtk_progress_bar_set_text(self->progress_bar, "Finished");
    if (self->output_path != NULL && g_file_test(self->output_path, G_FILE_TEST_EXISTS)) {
      gtk_widget_set_visible(GTK_WIDGET(self->save_button), TRUE);
    } else {
      g_clear_pointer(&self->output_path, g_free);
    }
    g_autofree char *msg = self->final_accuracy > 0
      ? g_strdup_printf("Training finished: %.2f %% test accuracy", self->final_accuracy)
      : g_strdup("Training finished");
    frontier_page_toast(GTK_WIDGET(self), msg, 5);
    break;
  }
  case FR_JOB_CANCELLED:
    gtk_progress_bar_set_text(self->progress_bar, "Cancelled");
    g_clear_pointer(&self->output_path, g_free);
    frontier_page_toast(GTK_WIDGET(self), "Training cancelled", 3);
    break;
  case FR_JOB_FAILED:
  default: {
    const char *why = ev->message && *ev->message ? ev->message : "unknown error";
    g_autofree char *text = g_strdup_printf("Failed: %s", why);
    gtk_progress_bar_set_text(self->progress_bar, text);
    g_autofree char *toast = g_strdup_printf("Training failed: %s", why);
    frontier_page_toast(GTK_WIDGET(self), toast, 0);
    g_clear_pointer(&self->output_path, g_free);
    break;
  }
  }

  g_clear_pointer(&self->job, fr_job_unref);
  self->cancel_requested = FALSE;
  update_sensitivity(self);
}

static gboolean
tick_cb(GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  FrontierTrainingPage *self = FRONTIER_TRAINING_PAGE(widget);
  if (self->job == NULL) {
    self->tick_id = 0;
    return G_SOURCE_REMOVE;
  }

  double xs[MAX_STEPS_PER_FLUSH], ys[MAX_STEPS_PER_FLUSH];
  gsize n = 0;
  gboolean progress_changed = FALSE;
  FrEvent *finished = NULL;

  for (int k = 0; k < MAX_EVENTS_PER_FRAME; k++) {
    FrEvent *ev = fr_job_pop_event(self->job);
    if (ev == NULL)
      break;
    switch (ev->kind) {
    case FR_EVENT_PROGRESS:
      if (ev->fraction >= 0)
        set_fraction(self, ev->fraction);
      else
        gtk_progress_bar_pulse(self->progress_bar);
      if (ev->message != NULL) {
        g_free(self->progress_message);
        self->progress_message = g_strdup(ev->message);
      }
      progress_changed = TRUE;
      break;
    case FR_EVENT_PAYLOAD:
      if (ev->payload_type == NULL || ev->payload == NULL)
        break;
      if (g_str_equal(ev->payload_type, "train.step") &&
          g_variant_is_of_type(ev->payload, G_VARIANT_TYPE("(uudd)"))) {
        handle_step(self, ev, xs, ys, &n);
        progress_changed = TRUE;
        if (n == MAX_STEPS_PER_FLUSH) {
          frontier_chart_append_many(self->loss_chart, self->loss_series, xs, ys, n);
          n = 0;
        }
      } else if (g_str_equal(ev->payload_type, "train.epoch") &&
                 g_variant_is_of_type(ev->payload, G_VARIANT_TYPE("(udddd)"))) {
        if (n > 0) {
          frontier_chart_append_many(self->loss_chart, self->loss_series, xs, ys, n);
          n = 0;
        }
        handle_epoch(self, ev);
      } else if (g_str_equal(ev->payload_type, "train.result") &&
                 g_variant_is_of_type(ev->payload, G_VARIANT_TYPE("(dddu)"))) {
        handle_result(self, ev);
      }
      break;
    case FR_EVENT_LOG:
      if (ev->message != NULL)
        g_debug("train-classifier: %s", ev->message);
      break;
    case FR_EVENT_FINISHED:
      finished = ev;
      ev = NULL;
      break;
    default:
      break;
    }
    fr_event_free(ev);
    if (finished != NULL)
      break;
  }

  if (n > 0)
    frontier_chart_append_many(self->loss_chart, self->loss_series, xs, ys, n);
  if (progress_changed && finished == NULL)
    set_progress_text(self);

  if (finished != NULL) {
    finish_job(self, finished);
    fr_event_free(finished);
    self->tick_id = 0;
    return G_SOURCE_REMOVE;
  }

  update_elapsed(self, g_get_monotonic_time());
  return G_SOURCE_CONTINUE;
}

static char *
default_output_path(void)
{
  g_autofree char *dir = g_build_filename(g_get_user_data_dir(), "frontier", NULL);
  if (g_mkdir_with_parents(dir, 0755) != 0)
    return NULL;
  return g_build_filename(dir, "fashion-mnist-classifier.safetensors", NULL);
}

static void
start_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierTrainingPage *self = FRONTIER_TRAINING_PAGE(widget);
  if (self->job != NULL)
    return;

  FrClassifierTrainConfig cfg;
  fr_classifier_train_config_init(&cfg);
  cfg.epochs = gtk_spin_button_get_value_as_int(self->epochs_spin);
  cfg.batch_size = gtk_spin_button_get_value_as_int(self->batch_spin);
  cfg.lr = gtk_spin_button_get_value(self->lr_spin);
  int images = gtk_spin_button_get_value_as_int(self->images_spin);
  cfg.train_limit = images >= 60000 ? 0 : images;
  GSettings *settings = frontier_get_settings();
  cfg.threads = settings ? MAX(0, g_settings_get_int(settings, "threads")) : 0;

  g_free(self->output_path);
  self->output_path = default_output_path();
  if (self->output_path != NULL)
    g_unlink(self->output_path); /* never offer a stale model from an earlier run */
  cfg.output = self->output_path;

  frontier_chart_clear(self->loss_chart);
  frontier_chart_clear(self->accuracy_chart);
  gtk_widget_set_visible(GTK_WIDGET(self->save_button), FALSE);
  gtk_label_set_text(self->speed_label, "—");
  gtk_label_set_text(self->elapsed_label, "0:00");
  gtk_label_set_text(self->accuracy_label, "—");
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->accuracy_label), NULL);

  self->batch_size = cfg.batch_size;
  self->epochs = cfg.epochs;
  self->started_us = g_get_monotonic_time();
  self->last_elapsed_s = 0;
  self->fraction = 0;
  self->last_step = 0;
  self->total_steps = 0;
  self->rate_anchor_us = 0;
  self->rate_anchor_step = 0;
  self->steps_per_s = 0;
  self->final_accuracy = 0;
  self->cancel_requested = FALSE;
  g_clear_pointer(&self->progress_message, g_free);
  gtk_progress_bar_set_fraction(self->progress_bar, 0);
  gtk_progress_bar_set_text(self->progress_bar, "Starting…");

  self->job = fr_job_start("train-classifier", fr_classifier_train_job,
                           fr_classifier_train_config_copy(&cfg), fr_classifier_train_config_free);
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback(GTK_WIDGET(self), tick_cb, NULL, NULL);
  update_sensitivity(self);
}

static void
cancel_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierTrainingPage *self = FRONTIER_TRAINING_PAGE(widget);
  if (self->job == NULL || self->cancel_requested)
    return;
  fr_job_cancel(self->job);
  self->cancel_requested = TRUE;
  gtk_progress_bar_set_text(self->progress_bar, "Cancelling…");
  update_sensitivity(self);
}

static void
copy_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierTrainingPage *self = user_data;
  g_autoptr(GError) error = NULL;
  if (g_file_copy_finish(G_FILE(source), result, &error)) {
    frontier_page_toast(GTK_WIDGET(self), "Model saved", 3);
  } else {
    g_autofree char *msg = g_strdup_printf("Could not save the model: %s", error->message);
    frontier_page_toast(GTK_WIDGET(self), msg, 0);
  }
  g_object_unref(self);
}

static void
chooser_response_cb(GtkNativeDialog *dialog, int response, FrontierTrainingPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->output_path != NULL) {
    g_autoptr(GFile) dest = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    g_autoptr(GFile) src = g_file_new_for_path(self->output_path);
    if (dest != NULL)
      g_file_copy_async(src, dest, G_FILE_COPY_OVERWRITE, G_PRIORITY_DEFAULT, NULL, NULL, NULL,
                        copy_done_cb, g_object_ref(self));
  }
  g_clear_object(&self->chooser);
}

static void
save_model_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierTrainingPage *self = FRONTIER_TRAINING_PAGE(widget);
  if (self->output_path == NULL || self->chooser != NULL)
    return;
  GtkRoot *root = gtk_widget_get_root(widget);
  self->chooser = gtk_file_chooser_native_new("Save Model", GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                              GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(self->chooser), TRUE);
  gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(self->chooser), "fashion-mnist-classifier.safetensors");
  GtkFileFilter *filter = gtk_file_filter_new();
  gtk_file_filter_set_name(filter, "Safetensors models");
  gtk_file_filter_add_pattern(filter, "*.safetensors");
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(self->chooser), filter);
  g_object_unref(filter);
  g_signal_connect(self->chooser, "response", G_CALLBACK(chooser_response_cb), self);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

static void
frontier_training_page_dispose(GObject *object)
{
  FrontierTrainingPage *self = FRONTIER_TRAINING_PAGE(object);

  if (self->tick_id != 0) {
    gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->tick_id);
    self->tick_id = 0;
  }
  frontier_jobs_cancel_and_release(g_steal_pointer(&self->job));
  if (self->chooser != NULL) {
    g_signal_handlers_disconnect_by_data(self->chooser, self);
    gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->chooser));
    g_clear_object(&self->chooser);
  }

  gtk_widget_dispose_template(GTK_WIDGET(self), FRONTIER_TYPE_TRAINING_PAGE);
  G_OBJECT_CLASS(frontier_training_page_parent_class)->dispose(object);
}

static void
frontier_training_page_finalize(GObject *object)
{
  FrontierTrainingPage *self = FRONTIER_TRAINING_PAGE(object);
  g_free(self->progress_message);
  g_free(self->output_path);
  G_OBJECT_CLASS(frontier_training_page_parent_class)->finalize(object);
}

static void
frontier_training_page_class_init(FrontierTrainingPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->dispose = frontier_training_page_dispose;
  object_class->finalize = frontier_training_page_finalize;

  g_type_ensure(FRONTIER_TYPE_CHART);
  g_type_ensure(FRONTIER_TYPE_COLUMNS);

  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/org/frontier/Frontier/frontier-training-page.ui");
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, scroller);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, start_button);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, cancel_button);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, save_button);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, params_group);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, epochs_spin);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, batch_spin);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, lr_spin);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, images_spin);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, progress_bar);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, speed_label);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, elapsed_label);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, accuracy_label);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, loss_chart);
  gtk_widget_class_bind_template_child(widget_class, FrontierTrainingPage, accuracy_chart);

  gtk_widget_class_install_action(widget_class, "training.start", NULL, start_action);
  gtk_widget_class_install_action(widget_class, "training.cancel", NULL, cancel_action);
  gtk_widget_class_install_action(widget_class, "training.save-model", NULL, save_model_action);

  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name(widget_class, "trainingpage");
}

static void
frontier_training_page_init(FrontierTrainingPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));

  /* Defaults come from the engine so the form always matches what the CLI would do. */
  FrClassifierTrainConfig cfg;
  fr_classifier_train_config_init(&cfg);
  if (cfg.epochs > 0)
    gtk_spin_button_set_value(self->epochs_spin, cfg.epochs);
  if (cfg.batch_size > 0)
    gtk_spin_button_set_value(self->batch_spin, cfg.batch_size);
  if (cfg.lr > 0)
    gtk_spin_button_set_value(self->lr_spin, cfg.lr);

  self->loss_series = frontier_chart_add_series(self->loss_chart, "Training loss", FRONTIER_CHART_LINE, NULL);
  self->test_loss_series = frontier_chart_add_series(self->loss_chart, "Test loss",
                                                     FRONTIER_CHART_LINE_MARKERS, NULL);
  frontier_chart_set_y_range(self->loss_chart, 0.0, NAN);
  frontier_chart_set_x_range(self->loss_chart, 0.0, NAN);

  self->train_acc_series = frontier_chart_add_series(self->accuracy_chart, "Train", FRONTIER_CHART_LINE_MARKERS,
                                                     NULL);
  self->test_acc_series = frontier_chart_add_series(self->accuracy_chart, "Test", FRONTIER_CHART_LINE_MARKERS,
                                                    NULL);
  frontier_chart_set_x_integer(self->accuracy_chart, TRUE);

  update_sensitivity(self);
}

GtkWidget *
frontier_training_page_new(void)
{
  return g_object_new(FRONTIER_TYPE_TRAINING_PAGE, NULL);
}

gboolean
frontier_training_page_get_running(FrontierTrainingPage *self)
{
  g_return_val_if_fail(FRONTIER_IS_TRAINING_PAGE(self), FALSE);
  return self->job != NULL;
}
