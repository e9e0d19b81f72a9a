/* frontier-gan-page.c: see frontier-gan-page.h.
 *
 * Nothing slow runs on the main thread. Models, the front and the students are read by a GTask thread
 * when the page is first shown; test sketches (Fashion-MNIST's test set through fr_gan_data_load) on
 * another, once, on the first "Load Test Sketch"; an opened image is decoded and traced on a third.
 * Synthesis runs on a GTask thread too: a change of the drawing or of the student only marks the
 * outputs dirty, and the tick callback starts at most one synthesis per frame, never while one is
 * still running (the newest drawing wins, nothing queues up). Both generators run in the same task,
 * one after the other, each timed on its own (wall clock, the median of the last LATENCY_WINDOW runs
 * is shown). Training and searching are engine jobs (fr_gan_train_job, fr_gan_search_job) whose events
 * the same tick callback drains, at most MAX_EVENTS_PER_FRAME per frame. Models are reference-counted
 * boxes shared with those threads, so replacing one never pulls it from under a synthesis. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "fr-gan-train.h"
#include "fr-gan.h"
#include "fr-job.h"
#include "fr-model-io.h"

#include "frontier-application.h"
#include "frontier-chart.h"
#include "frontier-columns.h"
#include "frontier-gan-canvas.h"
#include "frontier-gan-image.h"
#include "frontier-gan-page.h"
#include "frontier-page-util.h"

#define MAX_EVENTS_PER_FRAME 512
#define TEST_PER_CLASS 20          /* test sketches kept: the first 20 of each class, classes interleaved */
#define LATENCY_WINDOW 9
#define MAX_IMAGE_SIDE 16384       /* an opened image larger than this is refused before decoding */
#define DECODE_SIDE 512            /* larger images are decoded scaled down to this */

static const char *const fmnist_classes[10] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

typedef enum { ROLE_TEACHER, ROLE_SUPERNET, ROLE_STUDENT, N_ROLES } Role;
static const char *const role_names[N_ROLES] = { "teacher", "supernet", "student" };

typedef enum { JOB_NONE, JOB_FINETUNE, JOB_SUPERNET, JOB_TEACHER, JOB_SEARCH } JobKind;
/* The job combo's rows, in order. */
static const JobKind job_rows[] = { JOB_FINETUNE, JOB_SEARCH, JOB_SUPERNET, JOB_TEACHER };

/* ---- models, shared with worker threads ---- */

typedef struct {
  FrGanGenerator *gen;
  char *path, *name;
  FrGanKind kind;
  FrGanConfig max;
  FrGanCost cost;   /* at its widest */
} Model;

static void
model_clear(gpointer data)
{
  Model *m = data;
  fr_gan_generator_free(m->gen);
  g_free(m->path);
  g_free(m->name);
}

static Model *
model_ref(Model *m)
{
  return m != NULL ? g_atomic_rc_box_acquire(m) : NULL;
}

static void
model_unref(gpointer m)
{
  if (m != NULL)
    g_atomic_rc_box_release_full(m, model_clear);
}

/* Worker threads only. */
static Model *
model_load(const char *path, GError **error)
{
  FrGanGenerator *gen = fr_gan_generator_load(path, error);
  if (gen == NULL)
    return NULL;
  Model *m = g_atomic_rc_box_new0(Model);
  m->gen = gen;
  m->path = g_strdup(path);
  m->name = g_path_get_basename(path);
  m->kind = fr_gan_generator_kind(gen);
  m->max = *fr_gan_generator_max(gen);
  m->cost = fr_gan_cost(m->kind, &m->max, 1, 1, FR_GAN_SIZE, FR_GAN_SIZE);
  return m;
}

/* ---- sub-generators and students ---- */

typedef struct {
  FrGanConfig config;
  double macs, macs_paper, params;
  double fid, acc, l1;   /* NAN: not scored */
} Candidate;

typedef struct {
  char *name;       /* "10x", or "trained 14:03" */
  char *path;       /* its generator file; NULL when missing */
  FrGanConfig config;
  double macs, macs_paper, fid, acc, l1;
  gboolean test_split;            /* scored on the test set (students.json), not the search split */
  double teacher_fid, teacher_acc;  /* the teacher on the same images, when known */
} Student;

static void
student_free(gpointer data)
{
  Student *s = data;
  g_free(s->name);
  g_free(s->path);
  g_free(s);
}

static double
json_num(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  if (n == NULL || JSON_NODE_TYPE(n) != JSON_NODE_VALUE)
    return NAN;
  GType t = json_node_get_value_type(n);
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64 && t != G_TYPE_INT)
    return NAN;
  return json_node_get_double(n);
}

static void
candidate_fill_cost(Candidate *c)
{
  FrGanCost cost = fr_gan_cost(FR_GAN_MOBILE, &c->config, 1, 1, FR_GAN_SIZE, FR_GAN_SIZE);
  if (!isfinite(c->macs))
    c->macs = cost.macs;
  if (!isfinite(c->macs_paper))
    c->macs_paper = cost.macs_paper;
  if (!isfinite(c->params))
    c->params = cost.params;
}

static gboolean
candidate_from_json(JsonObject *o, Candidate *c, GError **error)
{
  const char *config = json_object_get_string_member_with_default(o, "config", NULL);
  if (config == NULL) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "a candidate has no config");
    return FALSE;
  }
  if (!fr_gan_config_parse(config, &c->config, error))
    return FALSE;
  c->macs = json_num(o, "macs");
  c->macs_paper = json_num(o, "macs_paper");
  c->params = json_num(o, "params");
  c->fid = json_num(o, "fid_like");
  c->acc = json_num(o, "accuracy");
  c->l1 = json_num(o, "l1");
  candidate_fill_cost(c);
  return TRUE;
}

/* Reads front.json: the teacher's row (may stay unset) and every scored sub-generator. */
static GArray *
front_load(const char *path, Candidate *teacher, gboolean *has_teacher, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_file(parser, path, error))
    return NULL;
  JsonNode *root = json_parser_get_root(parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "not a JSON object");
    return NULL;
  }
  JsonObject *obj = json_node_get_object(root);
  JsonNode *list = json_object_get_member(obj, "candidates");
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY(list)) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "no \"candidates\" list");
    return NULL;
  }
  GArray *out = g_array_new(FALSE, FALSE, sizeof(Candidate));
  JsonArray *arr = json_node_get_array(list);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    JsonNode *n = json_array_get_element(arr, i);
    Candidate c;
    if (!JSON_NODE_HOLDS_OBJECT(n) || !candidate_from_json(json_node_get_object(n), &c, NULL))
      continue;
    g_array_append_val(out, c);
  }
  if (out->len == 0) {
    g_array_unref(out);
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "no readable candidate");
    return NULL;
  }
  *has_teacher = FALSE;
  JsonNode *t = json_object_get_member(obj, "teacher");
  if (t != NULL && JSON_NODE_HOLDS_OBJECT(t)) {
    JsonObject *to = json_node_get_object(t);
    teacher->macs = json_num(to, "macs");
    teacher->macs_paper = json_num(to, "macs_paper");
    teacher->params = json_num(to, "params");
    teacher->fid = json_num(to, "fid_like");
    teacher->acc = json_num(to, "accuracy");
    teacher->l1 = json_num(to, "l1");
    *has_teacher = isfinite(teacher->fid) || isfinite(teacher->macs);
  }
  return out;
}

static GPtrArray *
students_load(const char *path, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_file(parser, path, error))
    return NULL;
  JsonNode *root = json_parser_get_root(parser);
  JsonNode *list = root != NULL && JSON_NODE_HOLDS_OBJECT(root)
                     ? json_object_get_member(json_node_get_object(root), "students")
                     : NULL;
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY(list)) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "no \"students\" list");
    return NULL;
  }
  g_autofree char *dir = g_path_get_dirname(path);
  GPtrArray *out = g_ptr_array_new_with_free_func(student_free);
  /* Its students (and its teacher) were scored on the same images, possibly not the front's. */
  JsonObject *top = json_node_get_object(root);
  const char *split = json_object_get_string_member_with_default(top, "split", "");
  double teacher_fid = NAN, teacher_acc = NAN;
  JsonNode *tn = json_object_get_member(top, "teacher");
  if (tn != NULL && JSON_NODE_HOLDS_OBJECT(tn)) {
    teacher_fid = json_num(json_node_get_object(tn), "fid_like");
    teacher_acc = json_num(json_node_get_object(tn), "accuracy");
  }
  JsonArray *arr = json_node_get_array(list);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    JsonNode *n = json_array_get_element(arr, i);
    if (!JSON_NODE_HOLDS_OBJECT(n))
      continue;
    JsonObject *o = json_node_get_object(n);
    Candidate c;
    if (!candidate_from_json(o, &c, NULL))
      continue;
    Student *s = g_new0(Student, 1);
    s->name = g_strdup(json_object_get_string_member_with_default(o, "name", "student"));
    const char *file = json_object_get_string_member_with_default(o, "file", NULL);
    if (file != NULL) {
      g_autofree char *p = g_path_is_absolute(file) ? g_strdup(file) : g_build_filename(dir, file, NULL);
      if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
        s->path = g_steal_pointer(&p);
    }
    s->config = c.config;
    s->macs = c.macs;
    s->macs_paper = c.macs_paper;
    s->fid = c.fid;
    s->acc = c.acc;
    s->l1 = c.l1;
    s->test_split = g_str_has_prefix(split, "test");
    s->teacher_fid = teacher_fid;
    s->teacher_acc = teacher_acc;
    g_ptr_array_add(out, s);
  }
  return out;
}

/* ---- formatting ---- */

/* "48.3 M", "512 k" */
static char *
format_ms(double ms)
{
  if (!isfinite(ms))
    return g_strdup("— ms");
  return g_strdup_printf(ms < 10 ? "%.2f ms" : "%.1f ms", ms);
}

/* Accuracy as a percentage (files may hold a fraction or a percentage). */
static double
acc_percent(double acc)
{
  return isfinite(acc) && acc <= 1.0 ? acc * 100 : acc;
}

static char *
format_quality(double fid, double acc)
{
  if (!isfinite(fid) && !isfinite(acc))
    return g_strdup("not scored");
  GString *s = g_string_new(NULL);
  if (isfinite(fid))
    g_string_append_printf(s, "FID-like %.2f", fid);
  if (isfinite(acc))
    g_string_append_printf(s, "%sclassified right %.1f %%", s->len ? " · " : "", acc_percent(acc));
  return g_string_free(s, FALSE);
}

static double
median(const double *v, int n)
{
  if (n <= 0)
    return NAN;
  double tmp[LATENCY_WINDOW];
  memcpy(tmp, v, sizeof(double) * n);
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && tmp[j - 1] > tmp[j]; j--) {
      double t = tmp[j];
      tmp[j] = tmp[j - 1];
      tmp[j - 1] = t;
    }
  return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

typedef struct {
  double v[LATENCY_WINDOW];
  int n, next;
} Latency;

static void
latency_reset(Latency *l)
{
  l->n = l->next = 0;
}

static void
latency_add(Latency *l, double ms)
{
  l->v[l->next] = ms;
  l->next = (l->next + 1) % LATENCY_WINDOW;
  l->n = MIN(l->n + 1, LATENCY_WINDOW);
}

/* ---- the page ---- */

struct _FrontierGanPage {
  GtkWidget parent_instance;

  /* Template children. */
  GtkWidget *scroller;
  GtkLabel *models_label;
  GtkRevealer *missing_revealer;
  GtkLabel *missing_label;
  GtkRevealer *front_revealer;
  GtkLabel *front_label;
  GtkToggleButton *pen_button;
  GtkToggleButton *eraser_button;
  FrontierGanCanvas *canvas;
  GtkButton *test_button;
  GtkBox *test_row;
  FrontierGanImage *test_image;
  GtkLabel *test_label;
  GtkRevealer *canvas_revealer;
  GtkLabel *canvas_message;
  GtkStack *outputs_stack;
  GtkLabel *hint_title;
  GtkLabel *hint_label;
  GtkCheckButton *smooth_check;
  GtkLabel *teacher_subtitle;
  FrontierGanImage *teacher_image;
  GtkLabel *teacher_latency;
  GtkLabel *teacher_macs;
  GtkLabel *teacher_paper;
  GtkLabel *teacher_params;
  GtkLabel *teacher_fid;
  GtkLabel *teacher_acc;
  GtkLabel *student_title;
  GtkLabel *student_subtitle;
  FrontierGanImage *student_image;
  GtkLabel *student_latency;
  GtkLabel *student_macs;
  GtkLabel *student_paper;
  GtkLabel *student_params;
  GtkLabel *student_fid;
  GtkLabel *student_acc;
  GtkLabel *student_ratio;
  GtkScale *budget_scale;
  GtkSpinButton *budget_spin;
  GtkAdjustment *budget_adjustment;
  GtkLabel *budget_status;
  GtkLabel *selection_label;
  FrontierChart *front_chart;
  AdwComboRow *job_row;
  AdwActionRow *steps_row;
  GtkSpinButton *steps_spin;
  AdwActionRow *generations_row;
  GtkSpinButton *generations_spin;
  AdwActionRow *eval_row;
  GtkSpinButton *eval_spin;
  GtkButton *start_button;
  GtkButton *use_button;
  GtkProgressBar *job_progress;
  GtkLabel *job_label;
  GtkWidget *loss_box;
  FrontierChart *loss_chart;
  FrontierChart *distill_chart;
  FrontierGanImage *sample_image;

  /* Chart series. */
  guint s_cand, s_front, s_search, s_students, s_teacher, s_teacher_level;
  guint s_loss_g, s_loss_d, s_loss_l1, s_loss_distill;

  /* Models and what was measured of them. */
  gboolean loaded_once, loading;
  Model *models[N_ROLES];         /* ROLE_STUDENT: a fine-tuned student in use, else NULL */
  char *model_errors[N_ROLES];    /* why the teacher or supernet is missing or unreadable */
  char *front_error;
  char *front_path;
  gboolean front_measured;        /* candidates come from front.json (else: uniform widths, unscored) */
  gboolean front_stale;           /* another supernet was loaded since */
  GArray *candidates;             /* Candidate */
  GArray *front;                  /* int: indices into candidates, by MACs ascending */
  Candidate teacher_row;
  gboolean has_teacher_row;
  GPtrArray *students;            /* Student: shipped, then trained here */
  GArray *search_cands;           /* Candidate: the running or last search's */

  /* The student shown. */
  FrGanConfig student_cfg;        /* sub-generator of the supernet (when models[ROLE_STUDENT] is NULL) */
  int sel_candidate;              /* index into candidates, or -1 */
  int sel_search;                 /* index into search_cands, or -1 */
  int sel_student;                /* index into students while models[ROLE_STUDENT] is one of them, or -1 */
  gboolean have_student;
  gboolean updating;              /* programmatic budget changes */
  guint student_serial;

  /* Synthesis. */
  gboolean synth_dirty, synth_busy;
  Latency lat_teacher, lat_student;
  guint tick_id;

  /* Test sketches. */
  gboolean tests_loading, tests_pending;
  int n_tests, next_test, shown_test;
  float *test_sketches;
  guint8 *test_real;
  guint8 *test_labels;
  int *test_index;
  guint64 test_serial;

  /* The job. */
  FrJob *job;
  JobKind job_kind;
  gboolean cancel_requested;
  char *job_output;               /* the generator file the job writes */
  char *job_supernet;             /* search: the supernet it searched */
  double job_result[3];           /* fid, acc, l1 from gan.train.result */
  gboolean job_has_result;
  char *job_config;               /* finetune: the student's config */
  JobKind trained_kind;           /* the last finished training's, for "Use the Result" */
  char *trained_path;
  double trained_result[3];
  char *trained_config;

  char *outputs_a11y;             /* the outputs area's accessible description */

  GtkFileChooserNative *chooser;
  Role chooser_role;
  gboolean chooser_image;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE(FrontierGanPage, frontier_gan_page, GTK_TYPE_WIDGET)

static void update_sensitivity(FrontierGanPage *self);
static void update_student_view(FrontierGanPage *self);
static void request_synthesis(FrontierGanPage *self);
static void load_models(FrontierGanPage *self, Role role, const char *path);
static void load_student_file(FrontierGanPage *self, int student_index);

/* ---- messages ---- */

static void
revealed_cb(GtkRevealer *revealer)
{
  if (!gtk_revealer_get_reveal_child(revealer) && !gtk_revealer_get_child_revealed(revealer))
    gtk_widget_set_visible(GTK_WIDGET(revealer), FALSE);
}

static void
reveal(GtkRevealer *revealer, gboolean show)
{
  if (show)
    gtk_widget_set_visible(GTK_WIDGET(revealer), TRUE);
  gtk_revealer_set_reveal_child(revealer, show);
  if (!show && !gtk_widget_get_mapped(GTK_WIDGET(revealer)))
    gtk_widget_set_visible(GTK_WIDGET(revealer), FALSE);
}

static void
canvas_message(FrontierGanPage *self, const char *text)
{
  if (text == NULL) {
    reveal(self->canvas_revealer, FALSE);
    return;
  }
  gtk_label_set_text(self->canvas_message, text);
  reveal(self->canvas_revealer, TRUE);
}

/* A label's text, and its accessible name with what it is ("Student MACs: 4.2 M"). */
static void
set_stat(GtkLabel *label, const char *what, const char *text)
{
  gtk_label_set_text(label, text);
  g_autofree char *name = g_strdup_printf("%s: %s", what, text);
  gtk_accessible_update_property(GTK_ACCESSIBLE(label), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
}

/* One generator's cost and quality into its card's labels (who: "Teacher" or "Student"). */
static void
set_card(GtkLabel *macs_l, GtkLabel *paper_l, GtkLabel *params_l, GtkLabel *fid_l, GtkLabel *acc_l, const char *who,
         const FrGanCost *cost, double fid, double acc)
{
  g_autofree char *what_macs = g_strdup_printf("%s MACs", who);
  g_autofree char *what_paper = g_strdup_printf("%s paper MACs", who);
  g_autofree char *what_params = g_strdup_printf("%s parameters", who);
  g_autofree char *what_fid = g_strdup_printf("%s FID-like", who);
  g_autofree char *what_acc = g_strdup_printf("%s classified right", who);
  if (cost == NULL) {
    set_stat(macs_l, what_macs, "—");
    set_stat(paper_l, what_paper, "—");
    set_stat(params_l, what_params, "—");
    set_stat(fid_l, what_fid, "—");
    set_stat(acc_l, what_acc, "—");
    return;
  }
  g_autofree char *macs = frontier_format_count(cost->macs);
  g_autofree char *paper = frontier_format_count(cost->macs_paper);
  gtk_label_set_text(macs_l, macs);
  g_autofree char *a11y = g_strdup_printf("%s: %s (paper convention %s)", what_macs, macs, paper);
  gtk_accessible_update_property(GTK_ACCESSIBLE(macs_l), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
  set_stat(paper_l, what_paper, paper);
  g_autofree char *params = frontier_format_count(cost->params);
  set_stat(params_l, what_params, params);
  g_autofree char *f = isfinite(fid) ? g_strdup_printf("%.2f", fid) : g_strdup("not scored");
  set_stat(fid_l, what_fid, f);
  g_autofree char *a = isfinite(acc) ? g_strdup_printf("%.1f %%", acc_percent(acc)) : g_strdup("not scored");
  set_stat(acc_l, what_acc, a);
}

/* The commands that make a missing file, as the page shows them. */
static char *
make_command(Role role)
{
  g_autofree char *teacher = fr_data_default_output("gan/teacher.safetensors");
  g_autofree char *supernet = fr_data_default_output("gan/supernet.safetensors");
  switch (role) {
  case ROLE_TEACHER:
    return g_strdup_printf("frontier-cli gan train-teacher -o %s", teacher);
  case ROLE_SUPERNET:
    return g_strdup_printf("frontier-cli gan train-supernet --teacher %s -o %s", teacher, supernet);
  default:
    return NULL;
  }
}

static char *
front_command(void)
{
  g_autofree char *supernet = fr_data_default_output("gan/supernet.safetensors");
  g_autofree char *front = fr_data_default_output("gan/front.json");
  return g_strdup_printf("frontier-cli gan search --supernet %s --grid --budget 1e9 -o %s", supernet, front);
}

static void
update_messages(FrontierGanPage *self)
{
  GString *s = g_string_new(NULL);
  for (int r = ROLE_TEACHER; r <= ROLE_SUPERNET; r++) {
    if (self->models[r] != NULL || self->model_errors[r] == NULL)
      continue;
    g_autofree char *cmd = make_command(r);
    g_autofree char *msg = g_markup_escape_text(self->model_errors[r], -1);
    g_autofree char *cmd_e = g_markup_escape_text(cmd, -1);
    if (s->len)
      g_string_append(s, "\n\n");
    g_string_append_printf(s, "<b>%s</b>: %s\nMake it with <tt>%s</tt>, or load one from the Models menu.",
                           r == ROLE_TEACHER ? "No teacher" : "No student supernet", msg, cmd_e);
  }
  if (s->len) {
    gtk_label_set_markup(self->missing_label, s->str);
    reveal(self->missing_revealer, TRUE);
  } else {
    reveal(self->missing_revealer, FALSE);
  }
  g_string_free(s, TRUE);

  g_autofree char *front_text = NULL;
  if (self->models[ROLE_SUPERNET] != NULL && !self->front_measured) {
    g_autofree char *cmd = front_command();
    front_text = g_strdup_printf("No scored front (%s): the budget offers uniform widths of the supernet, unscored. "
                                 "Score its sub-generators with “Search” below, or with\n%s",
                                 self->front_error != NULL ? self->front_error : "gan/front.json not found", cmd);
  } else if (self->models[ROLE_SUPERNET] != NULL && self->front_stale) {
    front_text = g_strdup_printf("The front’s quality was measured for the shipped supernet, not for %s: its FID-like "
                                 "numbers may not hold. Run a search to score this one.",
                                 self->models[ROLE_SUPERNET]->name);
  }
  if (front_text != NULL) {
    gtk_label_set_text(self->front_label, front_text);
    reveal(self->front_revealer, TRUE);
  } else {
    reveal(self->front_revealer, FALSE);
  }

  GString *m = g_string_new(NULL);
  for (int r = 0; r < N_ROLES; r++) {
    Model *model = self->models[r];
    if (model == NULL)
      continue;
    g_autofree char *params = frontier_format_count(model->cost.params);
    g_string_append_printf(m, "%s%s %s (%s parameters)", m->len ? " · " : "",
                           r == ROLE_TEACHER ? "Teacher" : r == ROLE_SUPERNET ? "Supernet" : "Student", model->name,
                           params);
  }
  gtk_label_set_text(self->models_label, m->len ? m->str : self->loading ? "Loading the generators…" : "No generators");
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->models_label), m->len ? m->str : NULL);
  g_string_free(m, TRUE);
}

/* ---- the front ---- */

static int
compare_macs(gconstpointer a, gconstpointer b, gpointer data)
{
  GArray *cands = data;
  const Candidate *p = &g_array_index(cands, Candidate, *(const int *)a);
  const Candidate *q = &g_array_index(cands, Candidate, *(const int *)b);
  if (p->macs != q->macs)
    return p->macs < q->macs ? -1 : 1;
  double pf = isfinite(p->fid) ? p->fid : INFINITY, qf = isfinite(q->fid) ? q->fid : INFINITY;
  return pf < qf ? -1 : pf > qf;
}

/* Indices of the candidates on the front (fewer MACs and lower FID-like are better), by MACs. Unscored
 * candidates: every distinct MACs value is on it. */
static GArray *
compute_front(GArray *cands)
{
  g_autoptr(GArray) order = g_array_sized_new(FALSE, FALSE, sizeof(int), cands->len);
  for (guint i = 0; i < cands->len; i++)
    g_array_append_val(order, i);
  g_array_sort_with_data(order, compare_macs, cands);
  GArray *front = g_array_new(FALSE, FALSE, sizeof(int));
  double best = INFINITY, last_macs = -1;
  for (guint k = 0; k < order->len; k++) {
    int i = g_array_index(order, int, k);
    const Candidate *c = &g_array_index(cands, Candidate, i);
    if (!isfinite(c->fid)) {
      if (c->macs != last_macs)
        g_array_append_val(front, i);
      last_macs = c->macs;
      continue;
    }
    if (c->fid < best) {
      if (front->len > 0 && g_array_index(cands, Candidate, g_array_index(front, int, front->len - 1)).macs == c->macs)
        g_array_index(front, int, front->len - 1) = i;
      else
        g_array_append_val(front, i);
      best = c->fid;
    }
  }
  return front;
}

/* Without front.json: the supernet's uniform widths, unscored. */
static GArray *
uniform_candidates(const Model *supernet)
{
  GArray *out = g_array_new(FALSE, FALSE, sizeof(Candidate));
  int n = 0;
  const int *widths = fr_gan_width_options(supernet->max.ch[0], &n);
  for (int i = 0; i < n; i++) {
    Candidate c = { .macs = NAN, .macs_paper = NAN, .params = NAN, .fid = NAN, .acc = NAN, .l1 = NAN };
    fr_gan_config_uniform(&c.config, widths[i]);
    if (!fr_gan_config_fits(&c.config, &supernet->max))
      continue;
    candidate_fill_cost(&c);
    g_array_append_val(out, c);
  }
  return out;
}

static int
front_position(FrontierGanPage *self, int candidate)
{
  for (guint k = 0; self->front != NULL && k < self->front->len; k++)
    if (g_array_index(self->front, int, k) == candidate)
      return (int)k;
  return -1;
}

static const Candidate *
front_member(FrontierGanPage *self, int k)
{
  if (self->front == NULL || k < 0 || (guint)k >= self->front->len)
    return NULL;
  return &g_array_index(self->candidates, Candidate, g_array_index(self->front, int, k));
}

static void
setup_front_series(FrontierGanPage *self)
{
  frontier_chart_remove_all_series(self->front_chart);
  GdkRGBA cand, front, teacher;
  gdk_rgba_parse(&cand, "rgba(145,155,175,0.45)");
  gdk_rgba_parse(&front, "#ff7800");
  gdk_rgba_parse(&teacher, "#e01b24");
  GdkRGBA level = teacher;
  level.alpha = 0.45;
  /* First, so the points are drawn over it. */
  self->s_teacher_level = frontier_chart_add_series(self->front_chart, "Teacher FID", FRONTIER_CHART_LINE,
                                                    &level);
  self->s_cand = frontier_chart_add_series(self->front_chart, "Candidates", FRONTIER_CHART_SCATTER, &cand);
  self->s_front = frontier_chart_add_series(self->front_chart, "Front", FRONTIER_CHART_LINE_MARKERS, &front);
  self->s_teacher = frontier_chart_add_series(self->front_chart, "Teacher", FRONTIER_CHART_SCATTER, &teacher);
  /* Added with their first point, so the legend lists only what there is. */
  self->s_search = self->s_students = G_MAXUINT;
}

static guint
search_series(FrontierGanPage *self)
{
  if (self->s_search == G_MAXUINT) {
    GdkRGBA c;
    gdk_rgba_parse(&c, "#3584e4");
    self->s_search = frontier_chart_add_series(self->front_chart, "Searched", FRONTIER_CHART_SCATTER, &c);
  }
  return self->s_search;
}

static guint
students_series(FrontierGanPage *self)
{
  if (self->s_students == G_MAXUINT) {
    GdkRGBA c;
    gdk_rgba_parse(&c, "#2ec27e");
    self->s_students = frontier_chart_add_series(self->front_chart, "Fine-tuned", FRONTIER_CHART_SCATTER, &c);
  }
  return self->s_students;
}

static void
fill_front_chart(FrontierGanPage *self)
{
  setup_front_series(self);
  if (self->candidates != NULL) {
    for (guint i = 0; i < self->candidates->len; i++) {
      const Candidate *c = &g_array_index(self->candidates, Candidate, i);
      frontier_chart_append(self->front_chart, self->s_cand, c->macs / 1e6, c->fid);
    }
    for (guint k = 0; k < self->front->len; k++) {
      const Candidate *c = front_member(self, (int)k);
      frontier_chart_append(self->front_chart, self->s_front, c->macs / 1e6, c->fid);
    }
  }
  for (guint i = 0; self->search_cands != NULL && i < self->search_cands->len; i++) {
    const Candidate *c = &g_array_index(self->search_cands, Candidate, i);
    frontier_chart_append(self->front_chart, search_series(self), c->macs / 1e6, c->fid);
  }
  for (guint i = 0; self->students != NULL && i < self->students->len; i++) {
    const Student *s = g_ptr_array_index(self->students, i);
    frontier_chart_append(self->front_chart, students_series(self), s->macs / 1e6, s->fid);
  }
  if (self->has_teacher_row || self->models[ROLE_TEACHER] != NULL) {
    double macs = self->has_teacher_row && isfinite(self->teacher_row.macs) ? self->teacher_row.macs
                  : self->models[ROLE_TEACHER] != NULL                         ? self->models[ROLE_TEACHER]->cost.macs
                                                                               : NAN;
    double fid = self->has_teacher_row ? self->teacher_row.fid : NAN;
    frontier_chart_append(self->front_chart, self->s_teacher, macs / 1e6, fid);
    /* Its quality as a level across the plot, to read the students against. */
    if (isfinite(fid) && isfinite(macs)) {
      frontier_chart_append(self->front_chart, self->s_teacher_level, 0, fid);
      frontier_chart_append(self->front_chart, self->s_teacher_level, macs / 1e6, fid);
    }
  }
  frontier_chart_reset_view(self->front_chart);
}

static void
update_highlight(FrontierGanPage *self)
{
  int k = self->sel_candidate >= 0 ? front_position(self, self->sel_candidate) : -1;
  if (self->models[ROLE_STUDENT] != NULL && self->sel_student >= 0 && self->s_students != G_MAXUINT)
    frontier_chart_set_highlight(self->front_chart, (int)self->s_students, self->sel_student);
  else if (self->models[ROLE_STUDENT] != NULL)
    frontier_chart_set_highlight(self->front_chart, -1, 0);
  else if (k >= 0)
    frontier_chart_set_highlight(self->front_chart, (int)self->s_front, k);
  else if (self->sel_candidate >= 0)
    frontier_chart_set_highlight(self->front_chart, (int)self->s_cand, self->sel_candidate);
  else if (self->sel_search >= 0 && self->s_search != G_MAXUINT)
    frontier_chart_set_highlight(self->front_chart, (int)self->s_search, self->sel_search);
  else
    frontier_chart_set_highlight(self->front_chart, -1, 0);
}

/* The budget's range and marks follow the front. */
static void
configure_budget(FrontierGanPage *self)
{
  self->updating = TRUE;
  gtk_scale_clear_marks(self->budget_scale);
  if (self->front == NULL || self->front->len == 0) {
    gtk_adjustment_configure(self->budget_adjustment, 0, 0, 1, 0.01, 0.1, 0);
  } else {
    double lo = front_member(self, 0)->macs / 1e6, hi = front_member(self, (int)self->front->len - 1)->macs / 1e6;
    if (!(hi > lo))
      hi = lo + 0.01;
    double step = hi - lo < 1 ? 0.001 : 0.01;
    gtk_adjustment_configure(self->budget_adjustment, gtk_adjustment_get_value(self->budget_adjustment), lo, hi,
                             step, (hi - lo) / 10, 0);
    gtk_spin_button_set_digits(self->budget_spin, hi < 1 ? 3 : 2);
    for (guint k = 0; k < self->front->len; k++)
      gtk_scale_add_mark(self->budget_scale, front_member(self, (int)k)->macs / 1e6, GTK_POS_BOTTOM, NULL);
  }
  self->updating = FALSE;
}

static void
set_budget_value(FrontierGanPage *self, double macs)
{
  self->updating = TRUE;
  gtk_adjustment_set_value(self->budget_adjustment, macs / 1e6);
  self->updating = FALSE;
}

/* ---- choosing the student ---- */

static void
student_changed(FrontierGanPage *self)
{
  self->student_serial++;
  latency_reset(&self->lat_student);
  update_student_view(self);
  update_highlight(self);
  request_synthesis(self);
  update_sensitivity(self);
}

/* A sub-generator of the supernet: a candidate (index), a searched one (search index) or any config. */
static void
select_config(FrontierGanPage *self, const FrGanConfig *cfg, int candidate, int searched, gboolean move_budget)
{
  self->student_cfg = *cfg;
  self->sel_candidate = candidate;
  self->sel_search = searched;
  self->sel_student = -1;
  self->have_student = TRUE;
  g_clear_pointer(&self->models[ROLE_STUDENT], model_unref);
  if (move_budget) {
    FrGanCost cost = fr_gan_cost(FR_GAN_MOBILE, cfg, 1, 1, FR_GAN_SIZE, FR_GAN_SIZE);
    double macs = candidate >= 0 ? g_array_index(self->candidates, Candidate, candidate).macs : cost.macs;
    set_budget_value(self, macs);
  }
  update_messages(self);
  student_changed(self);
}

static void
select_front(FrontierGanPage *self, int k, gboolean move_budget)
{
  const Candidate *c = front_member(self, k);
  if (c != NULL)
    select_config(self, &c->config, g_array_index(self->front, int, k), -1, move_budget);
}

/* The front member the budget affords: the best (dearest) one within it, else the cheapest. */
static int
front_for_budget(FrontierGanPage *self, double macs)
{
  int best = 0;
  for (guint k = 0; self->front != NULL && k < self->front->len; k++)
    if (front_member(self, (int)k)->macs <= macs * (1 + 1e-9) + 1)
      best = (int)k;
  return best;
}

static void
budget_changed_cb(FrontierGanPage *self)
{
  if (self->updating || self->front == NULL || self->front->len == 0 || self->models[ROLE_SUPERNET] == NULL)
    return;
  double macs = gtk_adjustment_get_value(self->budget_adjustment) * 1e6;
  int k = front_for_budget(self, macs);
  const Candidate *c = front_member(self, k);
  if (self->models[ROLE_STUDENT] == NULL && self->sel_candidate == g_array_index(self->front, int, k) &&
      fr_gan_config_equal(&self->student_cfg, &c->config)) {
    update_student_view(self); /* the budget's text only */
    return;
  }
  select_front(self, k, FALSE);
}

/* The position along the front of what is shown (the nearest member by MACs when it is off the front). */
static int
current_front_position(FrontierGanPage *self)
{
  if (self->front == NULL || self->front->len == 0)
    return -1;
  int k = self->sel_candidate >= 0 && self->models[ROLE_STUDENT] == NULL ? front_position(self, self->sel_candidate)
                                                                          : -1;
  if (k >= 0)
    return k;
  return front_for_budget(self, gtk_adjustment_get_value(self->budget_adjustment) * 1e6);
}

static void
step_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(widget);
  if (self->front == NULL || self->front->len == 0 || self->models[ROLE_SUPERNET] == NULL)
    return;
  int k = current_front_position(self);
  gboolean on_front = self->models[ROLE_STUDENT] == NULL && self->sel_candidate >= 0 &&
                      front_position(self, self->sel_candidate) >= 0;
  int step = g_str_equal(action, "gan.cheaper") ? -1 : 1;
  if (on_front)
    k += step;
  k = CLAMP(k, 0, (int)self->front->len - 1);
  select_front(self, k, TRUE);
}

/* Student from a file (a fine-tuned one). */
static void
use_student_model(FrontierGanPage *self, Model *m, int student_index)
{
  g_clear_pointer(&self->models[ROLE_STUDENT], model_unref);
  self->models[ROLE_STUDENT] = model_ref(m);
  self->sel_student = student_index;
  self->sel_candidate = -1;
  self->sel_search = -1;
  self->have_student = TRUE;
  self->student_cfg = m->max;
  set_budget_value(self, m->cost.macs);
  update_messages(self);
  student_changed(self);
}

/* ---- the output cards ---- */

static void
update_teacher_view(FrontierGanPage *self)
{
  Model *t = self->models[ROLE_TEACHER];
  if (t == NULL) {
    gtk_label_set_text(self->teacher_subtitle, "No teacher loaded");
    frontier_gan_image_set_pixels(self->teacher_image, NULL, 0, 0, 0);
    frontier_gan_image_set_placeholder(self->teacher_image, "No teacher");
    set_card(self->teacher_macs, self->teacher_paper, self->teacher_params, self->teacher_fid, self->teacher_acc,
             "Teacher", NULL, NAN, NAN);
    set_stat(self->teacher_latency, "Teacher latency", "— ms");
    return;
  }
  frontier_gan_image_set_placeholder(self->teacher_image, "Generating…");
  g_autofree char *cfg = fr_gan_config_to_string(&t->max);
  g_autofree char *sub = g_strdup_printf("%s · %s", t->kind == FR_GAN_RESNET ? "ResNet" : "Mobile ResNet", cfg);
  gtk_label_set_text(self->teacher_subtitle, sub);
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->teacher_subtitle), t->path);
  set_card(self->teacher_macs, self->teacher_paper, self->teacher_params, self->teacher_fid, self->teacher_acc,
           "Teacher", &t->cost, self->has_teacher_row ? self->teacher_row.fid : NAN,
           self->has_teacher_row ? self->teacher_row.acc : NAN);
}

/* The student's cost now (a file's widest, or the sub-generator). */
static FrGanCost
student_cost(FrontierGanPage *self)
{
  if (self->models[ROLE_STUDENT] != NULL)
    return self->models[ROLE_STUDENT]->cost;
  return fr_gan_cost(FR_GAN_MOBILE, &self->student_cfg, 1, 1, FR_GAN_SIZE, FR_GAN_SIZE);
}

static void
student_quality(FrontierGanPage *self, double *fid, double *acc)
{
  *fid = *acc = NAN;
  if (self->models[ROLE_STUDENT] != NULL) {
    if (self->sel_student >= 0 && (guint)self->sel_student < self->students->len) {
      const Student *s = g_ptr_array_index(self->students, self->sel_student);
      *fid = s->fid;
      *acc = s->acc;
    }
  } else if (self->sel_candidate >= 0 && !self->front_stale) {
    const Candidate *c = &g_array_index(self->candidates, Candidate, self->sel_candidate);
    *fid = c->fid;
    *acc = c->acc;
  } else if (self->sel_search >= 0) {
    const Candidate *c = &g_array_index(self->search_cands, Candidate, self->sel_search);
    *fid = c->fid;
    *acc = c->acc;
  }
}

static void
update_ratio(FrontierGanPage *self)
{
  Model *t = self->models[ROLE_TEACHER];
  if (t == NULL || !self->have_student) {
    gtk_label_set_text(self->student_ratio, " ");
    return;
  }
  FrGanCost c = student_cost(self);
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "%.1f× fewer MACs", t->cost.macs / MAX(1, c.macs));
  double lt = median(self->lat_teacher.v, self->lat_teacher.n), ls = median(self->lat_student.v, self->lat_student.n);
  if (isfinite(lt) && isfinite(ls) && ls > 0)
    g_string_append_printf(s, " · %.1f× %s here", lt >= ls ? lt / ls : ls / lt, lt >= ls ? "faster" : "slower");
  g_string_append_printf(s, " · %.1f× fewer parameters", t->cost.params / MAX(1, c.params));
  gtk_label_set_text(self->student_ratio, s->str);
  g_string_free(s, TRUE);
}

static void
update_student_view(FrontierGanPage *self)
{
  if (!self->have_student || (self->models[ROLE_SUPERNET] == NULL && self->models[ROLE_STUDENT] == NULL)) {
    gtk_label_set_text(self->student_title, "Student");
    gtk_label_set_text(self->student_subtitle, "No student loaded");
    frontier_gan_image_set_pixels(self->student_image, NULL, 0, 0, 0);
    frontier_gan_image_set_placeholder(self->student_image, "No student");
    set_card(self->student_macs, self->student_paper, self->student_params, self->student_fid, self->student_acc,
             "Student", NULL, NAN, NAN);
    set_stat(self->student_latency, "Student latency", "— ms");
    gtk_label_set_text(self->selection_label, "No student supernet loaded.");
    gtk_label_set_text(self->budget_status, " ");
    update_ratio(self);
    return;
  }
  Model *file = self->models[ROLE_STUDENT];
  frontier_gan_image_set_placeholder(self->student_image, "Generating…");
  g_autofree char *cfg = fr_gan_config_to_string(file != NULL ? &file->max : &self->student_cfg);
  g_autofree char *sub = NULL;
  if (file != NULL) {
    const Student *s = self->sel_student >= 0 ? g_ptr_array_index(self->students, self->sel_student) : NULL;
    gtk_label_set_text(self->student_title, "Student · fine-tuned");
    sub = s != NULL ? g_strdup_printf("“%s” · %s", s->name, cfg) : g_strdup(cfg);
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->student_subtitle), file->path);
  } else {
    gtk_label_set_text(self->student_title, "Student · once-for-all");
    sub = g_strdup_printf("Sub-generator %s", cfg);
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->student_subtitle), self->models[ROLE_SUPERNET]->path);
  }
  gtk_label_set_text(self->student_subtitle, sub);
  FrGanCost c = student_cost(self);
  g_autofree char *macs = frontier_format_count(c.macs);
  double fid, acc;
  student_quality(self, &fid, &acc);
  set_card(self->student_macs, self->student_paper, self->student_params, self->student_fid, self->student_acc,
           "Student", &c, fid, acc);
  const Student *shipped = file != NULL && self->sel_student >= 0 ? g_ptr_array_index(self->students, self->sel_student)
                                                                  : NULL;
  if (shipped != NULL && shipped->test_split && isfinite(fid)) {
    /* Not the front's images: say so, with the teacher on the same ones. */
    g_autofree char *f = isfinite(shipped->teacher_fid)
                           ? g_strdup_printf("%.2f (test set; teacher %.2f)", fid, shipped->teacher_fid)
                           : g_strdup_printf("%.2f (test set)", fid);
    set_stat(self->student_fid, "Student FID-like", f);
  }

  /* Where it sits on the front, for the budget row. */
  int k = file == NULL && self->sel_candidate >= 0 ? front_position(self, self->sel_candidate) : -1;
  g_autofree char *budget = frontier_format_count(gtk_adjustment_get_value(self->budget_adjustment) * 1e6);
  g_autofree char *status = NULL;
  if (k >= 0)
    status = g_strdup_printf("Front member %d of %u · budget %s MACs", k + 1, self->front->len, budget);
  else if (file != NULL)
    status = g_strdup("A fine-tuned student: move the budget to go back to the supernet’s front");
  else if (self->sel_candidate >= 0)
    status = g_strdup("A scored sub-generator off the front");
  else
    status = g_strdup("A searched sub-generator");
  gtk_label_set_text(self->budget_status, status);

  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "%s %s: %s MACs", file != NULL ? "Fine-tuned student" : "Sub-generator", cfg, macs);
  if (isfinite(fid) || isfinite(acc)) {
    g_autofree char *qq = format_quality(fid, acc);
    g_string_append_printf(s, " · %s", qq);
  }
  if (shipped != NULL && shipped->test_split)
    g_string_append(s, " on the test set");
  if (shipped != NULL && isfinite(shipped->teacher_fid))
    g_string_append_printf(s, " (teacher on the same images: FID-like %.2f)", shipped->teacher_fid);
  else if (self->has_teacher_row && isfinite(self->teacher_row.fid))
    g_string_append_printf(s, " (teacher: FID-like %.2f)", self->teacher_row.fid);
  if (!self->front_measured && file == NULL)
    g_string_append(s, " · not scored");
  gtk_label_set_text(self->selection_label, s->str);
  g_string_free(s, TRUE);
  update_ratio(self);
}

/* Called at every stroke: tells assistive technologies only what changed. */
static void
set_outputs_description(FrontierGanPage *self, const char *text)
{
  if (g_strcmp0(self->outputs_a11y, text) == 0)
    return;
  g_free(self->outputs_a11y);
  self->outputs_a11y = g_strdup(text);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->outputs_stack), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
}

static void
show_outputs_page(FrontierGanPage *self)
{
  gboolean have_models = self->models[ROLE_TEACHER] != NULL || self->models[ROLE_SUPERNET] != NULL ||
                         self->models[ROLE_STUDENT] != NULL;
  int strokes = frontier_gan_canvas_get_sketch(self->canvas, NULL);
  if (strokes > 0 && (have_models || self->loading)) {
    gtk_stack_set_visible_child_name(self->outputs_stack, "outputs");
    /* GTK 4.8 does not tell assistive technologies which stack page shows: the stack says it. */
    set_outputs_description(self, "The teacher’s and the student’s outputs");
    return;
  }
  if (strokes > 0) {
    gtk_label_set_text(self->hint_title, "No generators to run");
    gtk_label_set_text(self->hint_label, "Neither the teacher nor the student could be loaded: see the message above "
                                         "for what is missing and how to make it.");
  } else if (!frontier_gan_canvas_is_blank(self->canvas)) {
    gtk_label_set_text(self->hint_title, "Nothing to generate yet");
    gtk_label_set_text(self->hint_label, "The strokes are too faint or too small to reach the generators’ 32×32 "
                                         "input: draw bolder lines, or a larger outline.");
  } else {
    gtk_label_set_text(self->hint_title, "Nothing to generate yet");
    gtk_label_set_text(self->hint_label, "Draw an item’s outline on the paper, or press “Load Test Sketch”: the "
                                         "teacher and the compressed student will each turn it into a Fashion-MNIST "
                                         "item, side by side.");
  }
  gtk_stack_set_visible_child_name(self->outputs_stack, "hint");
  g_autofree char *d = g_strdup_printf("%s: %s", gtk_label_get_text(self->hint_title),
                                       gtk_label_get_text(self->hint_label));
  set_outputs_description(self, d);
}

/* ---- synthesis ---- */

typedef struct {
  Model *teacher, *student;
  FrGanConfig cfg;
  gboolean use_cfg;
  gboolean warm_teacher, warm_student;  /* first run of this generator: one untimed run first */
  guint student_serial;
  float sketch[FR_GAN_PIXELS];
  guint8 out_t[FR_GAN_PIXELS], out_s[FR_GAN_PIXELS];
  double ms_t, ms_s;
} SynthTask;

static void
synth_task_free(gpointer data)
{
  SynthTask *t = data;
  model_unref(t->teacher);
  model_unref(t->student);
  g_free(t);
}

static double
run_timed(Model *m, const FrGanConfig *cfg, const float *in, guint8 *bytes, gboolean warm_up)
{
  float out[FR_GAN_PIXELS];
  /* A generator's first run pays for cold caches and buffers: not what a user waits for afterwards. */
  if (warm_up)
    fr_gan_generator_run(m->gen, cfg, in, 1, FR_GAN_SIZE, FR_GAN_SIZE, out);
  gint64 t0 = g_get_monotonic_time();
  fr_gan_generator_run(m->gen, cfg, in, 1, FR_GAN_SIZE, FR_GAN_SIZE, out);
  gint64 t1 = g_get_monotonic_time();
  fr_gan_image_to_bytes(out, bytes, FR_GAN_PIXELS);
  return (t1 - t0) / 1000.0;
}

static void
synth_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  SynthTask *t = data;
  t->ms_t = t->ms_s = NAN;
  if (t->teacher != NULL)
    t->ms_t = run_timed(t->teacher, NULL, t->sketch, t->out_t, t->warm_teacher);
  if (t->student != NULL)
    t->ms_s = run_timed(t->student, t->use_cfg ? &t->cfg : NULL, t->sketch, t->out_s, t->warm_student);
  g_task_return_boolean(task, TRUE);
}

static void
ensure_tick(FrontierGanPage *self);

static void
synth_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(source);
  SynthTask *t = g_task_get_task_data(G_TASK(result));
  g_task_propagate_boolean(G_TASK(result), NULL);
  if (g_cancellable_is_cancelled(self->cancellable))
    return;
  self->synth_busy = FALSE;
  /* A drawing wiped meanwhile shows the hint, not this. */
  if (frontier_gan_canvas_get_sketch(self->canvas, NULL) == 0)
    return;
  /* Shown even when the drawing moved on meanwhile: the next synthesis follows within a frame. */
  if (t->teacher != NULL && t->teacher == self->models[ROLE_TEACHER]) {
    frontier_gan_image_set_pixels(self->teacher_image, t->out_t, FR_GAN_SIZE, FR_GAN_SIZE, FR_GAN_SIZE);
    latency_add(&self->lat_teacher, t->ms_t);
    g_autofree char *ms = format_ms(median(self->lat_teacher.v, self->lat_teacher.n));
    set_stat(self->teacher_latency, "Teacher latency", ms);
    g_autofree char *d = g_strdup_printf("A generated item, 32×32, in %s", ms);
    frontier_gan_image_set_description(self->teacher_image, d);
  }
  if (t->student != NULL && t->student_serial == self->student_serial) {
    frontier_gan_image_set_pixels(self->student_image, t->out_s, FR_GAN_SIZE, FR_GAN_SIZE, FR_GAN_SIZE);
    latency_add(&self->lat_student, t->ms_s);
    g_autofree char *ms = format_ms(median(self->lat_student.v, self->lat_student.n));
    set_stat(self->student_latency, "Student latency", ms);
    g_autofree char *d = g_strdup_printf("A generated item, 32×32, in %s", ms);
    frontier_gan_image_set_description(self->student_image, d);
  }
  update_ratio(self);
  g_debug("gan synthesis: teacher %.3f ms, student %.3f ms", t->ms_t, t->ms_s);
  if (self->synth_dirty)
    ensure_tick(self);
}

static void
start_synthesis(FrontierGanPage *self)
{
  self->synth_dirty = FALSE;
  Model *student = self->models[ROLE_STUDENT] != NULL ? self->models[ROLE_STUDENT]
                   : self->have_student               ? self->models[ROLE_SUPERNET]
                                                      : NULL;
  if (self->models[ROLE_TEACHER] == NULL && student == NULL)
    return;
  SynthTask *t = g_new0(SynthTask, 1);
  if (frontier_gan_canvas_get_sketch(self->canvas, t->sketch) == 0) {
    g_free(t);
    return;
  }
  t->teacher = model_ref(self->models[ROLE_TEACHER]);
  t->student = model_ref(student);
  t->use_cfg = self->models[ROLE_STUDENT] == NULL;
  t->cfg = self->student_cfg;
  t->student_serial = self->student_serial;
  t->warm_teacher = self->lat_teacher.n == 0;
  t->warm_student = self->lat_student.n == 0;
  self->synth_busy = TRUE;
  GTask *task = g_task_new(self, self->cancellable, synth_done_cb, NULL);
  g_task_set_task_data(task, t, synth_task_free);
  g_task_run_in_thread(task, synth_thread);
  g_object_unref(task);
}

/* Marks the outputs stale; the next frame starts a synthesis (or the one after the running one). */
static void
request_synthesis(FrontierGanPage *self)
{
  show_outputs_page(self);
  if (frontier_gan_canvas_get_sketch(self->canvas, NULL) == 0)
    return;
  self->synth_dirty = TRUE;
  ensure_tick(self);
}

static void
canvas_changed_cb(FrontierGanPage *self)
{
  if (frontier_gan_canvas_get_serial(self->canvas) != self->test_serial)
    gtk_widget_set_visible(GTK_WIDGET(self->test_row), FALSE);
  if (frontier_gan_canvas_get_sketch(self->canvas, NULL) == 0) {
    /* Nothing for the generators: the hint replaces the outputs, which are cleared. */
    frontier_gan_image_set_pixels(self->teacher_image, NULL, 0, 0, 0);
    frontier_gan_image_set_pixels(self->student_image, NULL, 0, 0, 0);
    frontier_gan_image_set_description(self->teacher_image, "No output: nothing to generate");
    frontier_gan_image_set_description(self->student_image, "No output: nothing to generate");
  }
  request_synthesis(self);
  update_sensitivity(self);
}

/* ---- the job ---- */

static const char *
job_title(JobKind kind)
{
  switch (kind) {
  case JOB_FINETUNE:
    return "Fine-tuning";
  case JOB_SUPERNET:
    return "Distilling a supernet";
  case JOB_TEACHER:
    return "Training a teacher";
  case JOB_SEARCH:
    return "Searching";
  default:
    return "Working";
  }
}

static void
setup_loss_series(FrontierGanPage *self, JobKind kind)
{
  frontier_chart_remove_all_series(self->loss_chart);
  GdkRGBA g, d, l1, dist;
  gdk_rgba_parse(&g, "#3584e4");
  gdk_rgba_parse(&d, "#e66100");
  gdk_rgba_parse(&l1, "#2ec27e");
  gdk_rgba_parse(&dist, "#9141ac");
  self->s_loss_g = frontier_chart_add_series(self->loss_chart, "Generator", FRONTIER_CHART_LINE, &g);
  self->s_loss_d = frontier_chart_add_series(self->loss_chart, "Discriminator", FRONTIER_CHART_LINE, &d);
  self->s_loss_l1 = frontier_chart_add_series(self->loss_chart, "L1", FRONTIER_CHART_LINE, &l1);
  /* Distillation (a sum of feature MSEs) lives on another scale: its own chart, hidden for a teacher. */
  frontier_chart_remove_all_series(self->distill_chart);
  self->s_loss_distill = frontier_chart_add_series(self->distill_chart, "Distillation", FRONTIER_CHART_LINE, &dist);
  gtk_widget_set_visible(GTK_WIDGET(self->distill_chart), kind != JOB_TEACHER);
}

static void
handle_sample(FrontierGanPage *self, GVariant *payload)
{
  guint32 step, n;
  g_autoptr(GVariant) bytes_v = NULL;
  g_variant_get(payload, "(uu@ay)", &step, &n, &bytes_v);
  gsize len = 0;
  const guint8 *bytes = g_variant_get_fixed_array(bytes_v, &len, 1);
  if (n == 0 || len < (gsize)n * 3 * FR_GAN_PIXELS)
    return;
  n = MIN(n, 16u);
  /* Three rows (sketches, generated, real), one column per sample, 2 px gaps. */
  const int gap = 2, cell = FR_GAN_SIZE + gap;
  int w = (int)n * cell - gap, h = 3 * cell - gap;
  g_autofree guint8 *grid = g_malloc((gsize)w * h);
  memset(grid, 60, (gsize)w * h);
  for (guint i = 0; i < n; i++)
    for (int r = 0; r < 3; r++) {
      const guint8 *img = bytes + ((gsize)i * 3 + r) * FR_GAN_PIXELS;
      for (int y = 0; y < FR_GAN_SIZE; y++)
        memcpy(grid + (gsize)(r * cell + y) * w + i * cell, img + y * FR_GAN_SIZE, FR_GAN_SIZE);
    }
  frontier_gan_image_set_pixels(self->sample_image, grid, w, h, w);
  g_autofree char *d = g_strdup_printf("Samples at step %u: %u sketches (top), generated (middle), real (bottom)",
                                       step, n);
  frontier_gan_image_set_description(self->sample_image, d);
}

static void
handle_search_candidate(FrontierGanPage *self, GVariant *payload)
{
  const char *config;
  double macs, macs_paper, fid, acc;
  guint32 gen;
  g_variant_get(payload, "(&sddddu)", &config, &macs, &macs_paper, &fid, &acc, &gen);
  Candidate c = { .params = NAN, .l1 = NAN };
  if (!fr_gan_config_parse(config, &c.config, NULL))
    return;
  c.macs = macs;
  c.macs_paper = macs_paper;
  c.fid = fid;
  c.acc = acc;
  candidate_fill_cost(&c);
  g_array_append_val(self->search_cands, c);
  frontier_chart_append(self->front_chart, search_series(self), macs / 1e6, fid);
}

static void
handle_search_result(FrontierGanPage *self, GVariant *payload)
{
  const char *config;
  double macs, macs_paper, fid, acc, l1;
  g_variant_get(payload, "(&sddddd)", &config, &macs, &macs_paper, &fid, &acc, &l1);
  FrGanConfig cfg;
  if (!fr_gan_config_parse(config, &cfg, NULL))
    return;
  g_autofree char *m = frontier_format_count(macs);
  g_autofree char *q = format_quality(fid, acc);
  g_autofree char *text = g_strdup_printf("Best within the budget: %s, %s MACs, %s", config, m, q);
  gtk_label_set_text(self->job_label, text);
  /* Show the winner, when it is a sub-generator of the supernet in use. */
  Model *sn = self->models[ROLE_SUPERNET];
  if (sn == NULL || g_strcmp0(sn->path, self->job_supernet) != 0 || !fr_gan_config_fits(&cfg, &sn->max))
    return;
  int searched = -1;
  for (guint i = 0; i < self->search_cands->len; i++)
    if (fr_gan_config_equal(&g_array_index(self->search_cands, Candidate, i).config, &cfg))
      searched = (int)i;
  int candidate = -1;
  for (guint i = 0; self->candidates != NULL && i < self->candidates->len && !self->front_stale; i++)
    if (fr_gan_config_equal(&g_array_index(self->candidates, Candidate, i).config, &cfg))
      candidate = (int)i;
  select_config(self, &cfg, candidate, candidate >= 0 ? -1 : searched, TRUE);
}

static void
finish_job(FrontierGanPage *self, FrEvent *ev)
{
  FrJobStatus status = ev->status;
  JobKind kind = self->job_kind;
  fr_job_unref(g_steal_pointer(&self->job));
  self->job_kind = JOB_NONE;
  self->cancel_requested = FALSE;
  if (status == FR_JOB_SUCCEEDED) {
    gtk_progress_bar_set_fraction(self->job_progress, 1);
    if (kind == JOB_SEARCH) {
      gtk_progress_bar_set_text(self->job_progress, "Search finished");
    } else {
      g_free(self->trained_path);
      self->trained_path = g_strdup(self->job_output);
      self->trained_kind = kind;
      memcpy(self->trained_result, self->job_result, sizeof self->trained_result);
      if (!self->job_has_result)
        self->trained_result[0] = self->trained_result[1] = self->trained_result[2] = NAN;
      g_free(self->trained_config);
      self->trained_config = g_strdup(self->job_config);
      g_autofree char *q = format_quality(self->trained_result[0], self->trained_result[1]);
      g_autofree char *name = g_path_get_basename(self->job_output);
      g_autofree char *text = g_strdup_printf("%s finished: %s (%s). “Use the Result” puts it on the page.",
                                              job_title(kind), name, q);
      gtk_label_set_text(self->job_label, text);
      gtk_progress_bar_set_text(self->job_progress, "Finished");
      AdwToast *toast = adw_toast_new(kind == JOB_TEACHER    ? "The new teacher is ready"
                                      : kind == JOB_SUPERNET ? "The new supernet is ready"
                                                             : "The fine-tuned student is ready");
      adw_toast_set_button_label(toast, "Use It");
      adw_toast_set_action_name(toast, "gan.use-trained");
      adw_toast_set_timeout(toast, 8);
      GtkWidget *overlay = gtk_widget_get_ancestor(GTK_WIDGET(self), ADW_TYPE_TOAST_OVERLAY);
      if (overlay != NULL)
        adw_toast_overlay_add_toast(ADW_TOAST_OVERLAY(overlay), toast);
      else
        g_object_unref(g_object_ref_sink(toast));
    }
  } else if (status == FR_JOB_CANCELLED) {
    gtk_progress_bar_set_text(self->job_progress, "Cancelled");
    gtk_label_set_text(self->job_label, kind == JOB_SEARCH ? "Search cancelled: the candidates scored so far stay "
                                                              "on the plot."
                                                           : "Training cancelled: no model was written.");
  } else {
    const char *why = ev->message != NULL && *ev->message ? ev->message : "unknown error";
    g_autofree char *text = g_strdup_printf("%s failed: %s", job_title(kind), why);
    gtk_label_set_text(self->job_label, text);
    gtk_progress_bar_set_text(self->job_progress, "Failed");
  }
  update_sensitivity(self);
}

/* Drains the job's events; TRUE when it finished. */
static gboolean
drain_job(FrontierGanPage *self)
{
  FrEvent *finished = NULL;
  double fraction = -1;
  const char *message = NULL;
  g_autofree char *message_copy = NULL;
  guint n_loss = 0;
  double xs[4][MAX_EVENTS_PER_FRAME], ys[4][MAX_EVENTS_PER_FRAME];
  GVariant *last_sample = NULL;
  for (int k = 0; k < MAX_EVENTS_PER_FRAME && finished == NULL; k++) {
    FrEvent *ev = fr_job_pop_event(self->job);
    if (ev == NULL)
      break;
    switch (ev->kind) {
    case FR_EVENT_PROGRESS:
      if (ev->fraction >= 0)
        fraction = ev->fraction;
      if (ev->message != NULL) {
        g_free(message_copy);
        message = message_copy = g_strdup(ev->message);
      }
      break;
    case FR_EVENT_PAYLOAD: {
      const char *type = ev->payload_type;
      GVariant *p = ev->payload;
      if (type == NULL || p == NULL)
        break;
      if (g_str_equal(type, "gan.train.step") && g_variant_is_of_type(p, G_VARIANT_TYPE("(uudddd)"))) {
        guint32 step, total;
        double lg, ld, l1, dist;
        g_variant_get(p, "(uudddd)", &step, &total, &lg, &ld, &l1, &dist);
        xs[0][n_loss] = xs[1][n_loss] = xs[2][n_loss] = xs[3][n_loss] = step;
        ys[0][n_loss] = lg;
        ys[1][n_loss] = ld;
        ys[2][n_loss] = l1;
        ys[3][n_loss] = dist;
        n_loss++;
        if (total > 0)
          fraction = (double)step / total;
        g_free(message_copy);
        message = message_copy = g_strdup_printf("%s: step %u of %u", job_title(self->job_kind), step, total);
      } else if (g_str_equal(type, "gan.train.sample") && g_variant_is_of_type(p, G_VARIANT_TYPE("(uuay)"))) {
        g_clear_pointer(&last_sample, g_variant_unref);
        last_sample = g_variant_ref(p);
      } else if (g_str_equal(type, "gan.train.eval") && g_variant_is_of_type(p, G_VARIANT_TYPE("(udddd)"))) {
        guint32 step;
        double fid, acc, l1, secs;
        g_variant_get(p, "(udddd)", &step, &fid, &acc, &l1, &secs);
        g_autofree char *q = format_quality(fid, acc);
        g_autofree char *text = g_strdup_printf("Step %u: %s · L1 %.3f (1,000 search-split images) · %.0f s", step, q,
                                                l1, secs);
        gtk_label_set_text(self->job_label, text);
      } else if (g_str_equal(type, "gan.train.result") && g_variant_is_of_type(p, G_VARIANT_TYPE("(dddd)"))) {
        double secs;
        g_variant_get(p, "(dddd)", &self->job_result[0], &self->job_result[1], &self->job_result[2], &secs);
        self->job_has_result = TRUE;
      } else if (g_str_equal(type, "gan.search.candidate") && g_variant_is_of_type(p, G_VARIANT_TYPE("(sddddu)"))) {
        handle_search_candidate(self, p);
      } else if (g_str_equal(type, "gan.search.result") && g_variant_is_of_type(p, G_VARIANT_TYPE("(sddddd)"))) {
        handle_search_result(self, p);
      }
      break;
    }
    case FR_EVENT_LOG:
      if (ev->message != NULL)
        g_debug("gan job: %s", ev->message);
      break;
    case FR_EVENT_FINISHED:
      finished = ev;
      ev = NULL;
      break;
    default:
      break;
    }
    fr_event_free(ev);
  }
  if (n_loss > 0) {
    frontier_chart_append_many(self->loss_chart, self->s_loss_g, xs[0], ys[0], n_loss);
    frontier_chart_append_many(self->loss_chart, self->s_loss_d, xs[1], ys[1], n_loss);
    frontier_chart_append_many(self->loss_chart, self->s_loss_l1, xs[2], ys[2], n_loss);
    frontier_chart_append_many(self->distill_chart, self->s_loss_distill, xs[3], ys[3], n_loss);
  }
  if (last_sample != NULL) {
    handle_sample(self, last_sample);
    g_variant_unref(last_sample);
  }
  if (!self->cancel_requested && finished == NULL) {
    if (fraction >= 0)
      gtk_progress_bar_set_fraction(self->job_progress, CLAMP(fraction, 0, 1));
    if (message != NULL) {
      g_autofree char *text = g_strdup_printf("%s — %.0f %%", message,
                                              100 * gtk_progress_bar_get_fraction(self->job_progress));
      gtk_progress_bar_set_text(self->job_progress, text);
    }
  }
  if (finished != NULL) {
    finish_job(self, finished);
    fr_event_free(finished);
    return TRUE;
  }
  return FALSE;
}

static gboolean
tick_cb(GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(widget);
  if (self->job != NULL)
    drain_job(self);
  if (self->synth_dirty && !self->synth_busy)
    start_synthesis(self);
  if (self->job == NULL && !self->synth_dirty) {
    self->tick_id = 0;
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
ensure_tick(FrontierGanPage *self)
{
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback(GTK_WIDGET(self), tick_cb, NULL, NULL);
}

static JobKind
selected_job(FrontierGanPage *self)
{
  guint i = adw_combo_row_get_selected(self->job_row);
  return i < G_N_ELEMENTS(job_rows) ? job_rows[i] : JOB_FINETUNE;
}

static char *
output_path(const char *stem, const char *ext)
{
  g_autofree char *dir = g_build_filename(g_get_user_data_dir(), "frontier", "gan", NULL);
  if (g_mkdir_with_parents(dir, 0755) != 0)
    return NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_local();
  g_autofree char *when = g_date_time_format(now, "%Y%m%d-%H%M%S");
  g_autofree char *name = g_strdup_printf("%s-%s.%s", stem, when, ext);
  return g_build_filename(dir, name, NULL);
}

static void
start_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(widget);
  if (self->job != NULL)
    return;
  JobKind kind = selected_job(self);
  Model *teacher = self->models[ROLE_TEACHER], *supernet = self->models[ROLE_SUPERNET];
  GSettings *settings = frontier_get_settings();
  int threads = settings != NULL ? MAX(0, g_settings_get_int(settings, "threads")) : 0;
  int steps = gtk_spin_button_get_value_as_int(self->steps_spin);
  g_clear_pointer(&self->job_output, g_free);
  g_clear_pointer(&self->job_supernet, g_free);
  g_clear_pointer(&self->job_config, g_free);
  self->job_has_result = FALSE;

  if (kind == JOB_SEARCH) {
    if (supernet == NULL)
      return;
    FrGanSearchConfig cfg;
    fr_gan_search_config_init(&cfg);
    cfg.mode = FR_GAN_SEARCH_EVOLUTION;
    cfg.supernet = supernet->path;
    cfg.budget_macs = gtk_adjustment_get_value(self->budget_adjustment) * 1e6;
    if (!(cfg.budget_macs > 0))
      cfg.budget_macs = supernet->cost.macs;
    cfg.population = 8;
    cfg.generations = gtk_spin_button_get_value_as_int(self->generations_spin);
    cfg.eval_images = gtk_spin_button_get_value_as_int(self->eval_spin);
    cfg.threads = threads;
    self->job_output = output_path("search", "json");
    cfg.output = self->job_output;
    self->job_supernet = g_strdup(supernet->path);
    g_array_set_size(self->search_cands, 0);
    if (self->s_search != G_MAXUINT)
      frontier_chart_clear_series(self->front_chart, self->s_search);
    self->sel_search = -1;
    self->job = fr_job_start("gan-search", fr_gan_search_job, fr_gan_search_config_copy(&cfg),
                             fr_gan_search_config_free);
    g_autofree char *b = frontier_format_count(cfg.budget_macs);
    g_autofree char *text = g_strdup_printf("Searching sub-generators within %s MACs: %d generations of 8, each "
                                            "scored on %d search-split images…",
                                            b, cfg.generations, cfg.eval_images);
    gtk_label_set_text(self->job_label, text);
  } else {
    FrGanStage stage = kind == JOB_TEACHER ? FR_GAN_STAGE_TEACHER
                       : kind == JOB_SUPERNET ? FR_GAN_STAGE_SUPERNET
                                              : FR_GAN_STAGE_FINETUNE;
    if (stage != FR_GAN_STAGE_TEACHER && teacher == NULL)
      return;
    if (stage == FR_GAN_STAGE_FINETUNE && (supernet == NULL || self->models[ROLE_STUDENT] != NULL))
      return;
    FrGanTrainConfig cfg;
    fr_gan_train_config_init(&cfg, stage);
    cfg.steps = steps;
    cfg.sample_every = MAX(1, MIN(50, steps / 10));
    cfg.checkpoint_every = MAX(cfg.checkpoint_every, steps);
    cfg.threads = threads;
    g_autofree char *config = fr_gan_config_to_string(&self->student_cfg);
    if (stage != FR_GAN_STAGE_TEACHER)
      cfg.teacher = teacher->path;
    if (stage == FR_GAN_STAGE_FINETUNE) {
      cfg.init = supernet->path;
      cfg.config = config;
      self->job_config = g_strdup(config);
    }
    g_autofree char *stem = stage == FR_GAN_STAGE_TEACHER    ? g_strdup("teacher")
                            : stage == FR_GAN_STAGE_SUPERNET ? g_strdup("supernet")
                                                             : g_strdup_printf("student-%s", config);
    self->job_output = output_path(stem, "safetensors");
    if (self->job_output == NULL) {
      gtk_label_set_text(self->job_label, "Cannot create the output folder in the user data folder.");
      return;
    }
    cfg.output = self->job_output;
    self->job = fr_job_start("gan-train", fr_gan_train_job, fr_gan_train_config_copy(&cfg), fr_gan_train_config_free);
    setup_loss_series(self, kind);
    frontier_gan_image_set_pixels(self->sample_image, NULL, 0, 0, 0);
    g_autofree char *name = g_path_get_basename(self->job_output);
    g_autofree char *text = g_strdup_printf("%s for %d steps into %s (the training images load first)…",
                                            job_title(kind), steps, name);
    gtk_label_set_text(self->job_label, text);
  }
  self->job_kind = kind;
  self->cancel_requested = FALSE;
  gtk_progress_bar_set_fraction(self->job_progress, 0);
  gtk_progress_bar_set_text(self->job_progress, "Starting…");
  ensure_tick(self);
  update_sensitivity(self);
}

static void
cancel_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(widget);
  if (self->job == NULL || self->cancel_requested)
    return;
  fr_job_cancel(self->job);
  self->cancel_requested = TRUE;
  gtk_progress_bar_set_text(self->job_progress, "Cancelling…");
  update_sensitivity(self);
}

static void
use_trained_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(widget);
  if (self->trained_path == NULL)
    return;
  Role role = self->trained_kind == JOB_TEACHER ? ROLE_TEACHER : self->trained_kind == JOB_SUPERNET ? ROLE_SUPERNET
                                                                                                    : ROLE_STUDENT;
  if (role == ROLE_STUDENT) {
    /* Kept with the students, on the plot with its measured quality. */
    Student *s = g_new0(Student, 1);
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *when = g_date_time_format(now, "%H:%M");
    s->name = g_strdup_printf("fine-tuned here %s", when);
    s->path = g_strdup(self->trained_path);
    if (self->trained_config == NULL || !fr_gan_config_parse(self->trained_config, &s->config, NULL))
      fr_gan_config_uniform(&s->config, 1);
    FrGanCost cost = fr_gan_cost(FR_GAN_MOBILE, &s->config, 1, 1, FR_GAN_SIZE, FR_GAN_SIZE);
    s->macs = cost.macs;
    s->macs_paper = cost.macs_paper;
    s->fid = self->trained_result[0];
    s->acc = self->trained_result[1];
    s->l1 = self->trained_result[2];
    s->teacher_fid = s->teacher_acc = NAN;
    g_ptr_array_add(self->students, s);
    frontier_chart_append(self->front_chart, students_series(self), s->macs / 1e6, s->fid);
    load_student_file(self, (int)self->students->len - 1);
    return;
  }
  load_models(self, role, self->trained_path);
}

/* ---- loading models, the front and the students ---- */

typedef struct {
  Role only;               /* N_ROLES: everything, found with fr_data_find */
  char *path;              /* only: this file */
  int student_index;       /* ROLE_STUDENT: its index in students, or -1 */
  Model *models[N_ROLES];
  char *errors[N_ROLES];
  GArray *candidates;
  Candidate teacher_row;
  gboolean has_teacher_row;
  char *front_path, *front_error;
  GPtrArray *students;
} LoadTask;

static void
load_task_free(gpointer data)
{
  LoadTask *t = data;
  g_free(t->path);
  for (int r = 0; r < N_ROLES; r++) {
    model_unref(t->models[r]);
    g_free(t->errors[r]);
  }
  if (t->candidates != NULL)
    g_array_unref(t->candidates);
  g_free(t->front_path);
  g_free(t->front_error);
  if (t->students != NULL)
    g_ptr_array_unref(t->students);
  g_free(t);
}

static const char *const role_files[N_ROLES] = { "gan/teacher.safetensors", "gan/supernet.safetensors", NULL };

static void
load_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  LoadTask *t = data;
  for (int r = 0; r < N_ROLES; r++) {
    if (t->only != N_ROLES && t->only != (Role)r)
      continue;
    g_autofree char *path = t->only != N_ROLES ? g_strdup(t->path) : role_files[r] ? fr_data_find(role_files[r]) : NULL;
    if (path == NULL) {
      if (role_files[r] != NULL)
        t->errors[r] = g_strdup_printf("%s was not found (looked in $FR_DATA_DIR, the installed data folder and the "
                                       "source tree’s data/)",
                                       role_files[r]);
      continue;
    }
    GError *error = NULL;
    Model *m = model_load(path, &error);
    g_autofree char *name = g_path_get_basename(path);
    if (m == NULL) {
      t->errors[r] = g_strdup_printf("%s cannot be read: %s", name, error != NULL ? error->message : "unknown error");
      g_clear_error(&error);
    } else if (r == ROLE_SUPERNET && m->kind != FR_GAN_MOBILE) {
      t->errors[r] = g_strdup_printf("%s is a ResNet generator, not a once-for-all mobile student", name);
      model_unref(m);
    } else if (r == ROLE_STUDENT && m->kind != FR_GAN_MOBILE) {
      t->errors[r] = g_strdup_printf("%s is a ResNet generator, not a mobile student", name);
      model_unref(m);
    } else {
      t->models[r] = m;
    }
  }
  if (t->only == N_ROLES) {
    t->front_path = fr_data_find("gan/front.json");
    if (t->front_path != NULL) {
      GError *error = NULL;
      t->candidates = front_load(t->front_path, &t->teacher_row, &t->has_teacher_row, &error);
      if (t->candidates == NULL) {
        t->front_error = g_strdup_printf("front.json cannot be read: %s", error->message);
        g_clear_error(&error);
      }
    }
    g_autofree char *students = fr_data_find("gan/students.json");
    if (students != NULL)
      t->students = students_load(students, NULL);
  }
  g_task_return_boolean(task, TRUE);
}

/* The candidates the budget offers, for the supernet now loaded. */
static void
apply_candidates(FrontierGanPage *self, GArray *candidates, gboolean measured)
{
  g_clear_pointer(&self->candidates, g_array_unref);
  g_clear_pointer(&self->front, g_array_unref);
  Model *sn = self->models[ROLE_SUPERNET];
  /* Only sub-generators the supernet can run. */
  if (candidates != NULL && sn != NULL) {
    GArray *fit = g_array_new(FALSE, FALSE, sizeof(Candidate));
    for (guint i = 0; i < candidates->len; i++)
      if (fr_gan_config_fits(&g_array_index(candidates, Candidate, i).config, &sn->max))
        g_array_append_val(fit, g_array_index(candidates, Candidate, i));
    if (fit->len > 0) {
      self->candidates = fit;
      self->front_measured = measured;
    } else {
      g_array_unref(fit);
    }
  }
  if (self->candidates == NULL && sn != NULL) {
    self->candidates = uniform_candidates(sn);
    self->front_measured = FALSE;
  }
  if (self->candidates != NULL)
    self->front = compute_front(self->candidates);
  configure_budget(self);
  fill_front_chart(self);
}

/* A default student: the shipped "10x"-like pick when students.json names one on the front, else the
 * front member nearest to a tenth of the teacher's MACs. */
static void
select_default_student(FrontierGanPage *self)
{
  if (self->front == NULL || self->front->len == 0)
    return;
  double target = self->models[ROLE_TEACHER] != NULL ? self->models[ROLE_TEACHER]->cost.macs / 10
                                                     : front_member(self, (int)self->front->len - 1)->macs / 2;
  int best = 0;
  double best_d = INFINITY;
  for (guint k = 0; k < self->front->len; k++) {
    double d = fabs(log(front_member(self, (int)k)->macs / MAX(1, target)));
    if (d < best_d) {
      best_d = d;
      best = (int)k;
    }
  }
  select_front(self, best, TRUE);
}

static void
load_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(source);
  LoadTask *t = g_task_get_task_data(G_TASK(result));
  g_task_propagate_boolean(G_TASK(result), NULL);
  if (g_cancellable_is_cancelled(self->cancellable))
    return;
  self->loading = FALSE;
  if (t->only == N_ROLES) {
    for (int r = 0; r < N_ROLES; r++) {
      g_clear_pointer(&self->models[r], model_unref);
      self->models[r] = g_steal_pointer(&t->models[r]);
      g_free(self->model_errors[r]);
      self->model_errors[r] = g_steal_pointer(&t->errors[r]);
    }
    g_free(self->front_error);
    self->front_error = g_steal_pointer(&t->front_error);
    g_free(self->front_path);
    self->front_path = g_steal_pointer(&t->front_path);
    self->teacher_row = t->teacher_row;
    self->has_teacher_row = t->has_teacher_row;
    self->front_stale = FALSE;
    if (t->students != NULL) {
      g_ptr_array_unref(self->students);
      self->students = g_steal_pointer(&t->students);
    }
    apply_candidates(self, t->candidates, TRUE);
    latency_reset(&self->lat_teacher);
    update_teacher_view(self);
    self->have_student = FALSE;
    select_default_student(self);
  } else if (t->models[t->only] == NULL) {
    g_autofree char *msg = g_strdup_printf("Could not load the %s: %s", role_names[t->only],
                                           t->errors[t->only] != NULL ? t->errors[t->only] : "unknown error");
    frontier_page_toast(GTK_WIDGET(self), msg, 0);
  } else if (t->only == ROLE_TEACHER) {
    g_clear_pointer(&self->models[ROLE_TEACHER], model_unref);
    self->models[ROLE_TEACHER] = g_steal_pointer(&t->models[ROLE_TEACHER]);
    g_clear_pointer(&self->model_errors[ROLE_TEACHER], g_free);
    self->has_teacher_row = FALSE; /* front.json scored the shipped teacher */
    latency_reset(&self->lat_teacher);
    update_teacher_view(self);
    fill_front_chart(self);
    update_student_view(self);
    g_autofree char *msg = g_strdup_printf("Teacher %s loaded", self->models[ROLE_TEACHER]->name);
    frontier_page_toast(GTK_WIDGET(self), msg, 3);
  } else if (t->only == ROLE_SUPERNET) {
    g_clear_pointer(&self->models[ROLE_SUPERNET], model_unref);
    self->models[ROLE_SUPERNET] = g_steal_pointer(&t->models[ROLE_SUPERNET]);
    g_clear_pointer(&self->model_errors[ROLE_SUPERNET], g_free);
    /* The shipped front was scored on the shipped supernet: keep its configs, flag their numbers. */
    g_autoptr(GArray) keep = self->candidates != NULL && self->front_measured ? g_array_ref(self->candidates) : NULL;
    self->front_stale = keep != NULL;
    apply_candidates(self, keep, keep != NULL);
    self->have_student = FALSE;
    select_default_student(self);
    g_autofree char *msg = g_strdup_printf("Supernet %s loaded", self->models[ROLE_SUPERNET]->name);
    frontier_page_toast(GTK_WIDGET(self), msg, 3);
  } else {
    int index = t->student_index;
    use_student_model(self, t->models[ROLE_STUDENT], index < (int)self->students->len ? index : -1);
    frontier_page_toast(GTK_WIDGET(self), "The fine-tuned student is in use", 3);
  }
  update_messages(self);
  update_student_view(self);
  request_synthesis(self);
  update_sensitivity(self);
}

/* role N_ROLES: everything shipped (fr_data_find); else that role from path. */
static void
load_models(FrontierGanPage *self, Role role, const char *path)
{
  LoadTask *t = g_new0(LoadTask, 1);
  t->only = role;
  t->path = g_strdup(path);
  t->student_index = -1;
  if (role == N_ROLES)
    self->loading = TRUE;
  update_messages(self);
  GTask *task = g_task_new(self, self->cancellable, load_done_cb, NULL);
  g_task_set_task_data(task, t, load_task_free);
  g_task_run_in_thread(task, load_thread);
  g_object_unref(task);
}

static void
load_student_file(FrontierGanPage *self, int student_index)
{
  const Student *s = g_ptr_array_index(self->students, student_index);
  if (s->path == NULL) {
    g_autofree char *msg = g_strdup_printf("The file of student “%s” is missing", s->name);
    frontier_page_toast(GTK_WIDGET(self), msg, 4);
    return;
  }
  LoadTask *t = g_new0(LoadTask, 1);
  t->only = ROLE_STUDENT;
  t->path = g_strdup(s->path);
  t->student_index = student_index;
  GTask *task = g_task_new(self, self->cancellable, load_done_cb, NULL);
  g_task_set_task_data(task, t, load_task_free);
  g_task_run_in_thread(task, load_thread);
  g_object_unref(task);
}

static void
reload_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(widget);
  load_models(self, N_ROLES, NULL);
}

/* ---- the plot ---- */

static void
point_activated_cb(FrontierGanPage *self, guint series, guint index)
{
  if (self->models[ROLE_SUPERNET] == NULL && series != self->s_students)
    return;
  if (series == self->s_front && self->front != NULL && index < self->front->len) {
    select_front(self, (int)index, TRUE);
  } else if (series == self->s_cand && self->candidates != NULL && index < self->candidates->len) {
    int k = front_position(self, (int)index);
    if (k >= 0)
      select_front(self, k, TRUE);
    else
      select_config(self, &g_array_index(self->candidates, Candidate, index).config, (int)index, -1, TRUE);
  } else if (series == self->s_search && index < self->search_cands->len) {
    const Candidate *c = &g_array_index(self->search_cands, Candidate, index);
    if (fr_gan_config_fits(&c->config, &self->models[ROLE_SUPERNET]->max))
      select_config(self, &c->config, -1, (int)index, TRUE);
  } else if (series == self->s_students && index < self->students->len) {
    load_student_file(self, (int)index);
  } else if (series == self->s_teacher || series == self->s_teacher_level) {
    frontier_page_toast(GTK_WIDGET(self), "That is the teacher: the student is always compared with it", 3);
  }
}

/* ---- test sketches ---- */

typedef struct {
  int n;
  float *sketches;
  guint8 *real, *labels;
  int *index;
  char *error;
} TestSet;

static void
test_set_free(gpointer data)
{
  TestSet *t = data;
  g_free(t->sketches);
  g_free(t->real);
  g_free(t->labels);
  g_free(t->index);
  g_free(t->error);
  g_free(t);
}

static void
tests_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  TestSet *t = data;
  GError *error = NULL;
  FrGanData *d = fr_gan_data_load(NULL, FALSE, &error);
  if (d == NULL) {
    t->error = g_strdup(error != NULL ? error->message : "unknown error");
    g_clear_error(&error);
    g_task_return_boolean(task, TRUE);
    return;
  }
  /* The first TEST_PER_CLASS of each class, interleaved: consecutive sketches are different items. */
  int per[10] = { 0 };
  int max = 10 * TEST_PER_CLASS;
  t->sketches = g_new(float, (gsize)max * FR_GAN_PIXELS);
  t->real = g_new(guint8, (gsize)max * FR_GAN_PIXELS);
  t->labels = g_new(guint8, max);
  t->index = g_new(int, max);
  g_autofree int *picked = g_new(int, max);
  int n = 0;
  for (int i = 0; i < d->n && n < max; i++) {
    int c = d->labels != NULL ? d->labels[i] % 10 : n % 10;
    if (per[c] >= TEST_PER_CLASS)
      continue;
    picked[c * TEST_PER_CLASS + per[c]++] = i;
    n++;
  }
  t->n = 0;
  for (int k = 0; k < TEST_PER_CLASS; k++)
    for (int c = 0; c < 10; c++) {
      if (k >= per[c])
        continue;
      int i = picked[c * TEST_PER_CLASS + k];
      memcpy(t->sketches + (gsize)t->n * FR_GAN_PIXELS, d->sketch + (gsize)i * FR_GAN_PIXELS,
             sizeof(float) * FR_GAN_PIXELS);
      fr_gan_image_to_bytes(d->image + (gsize)i * FR_GAN_PIXELS, t->real + (gsize)t->n * FR_GAN_PIXELS, FR_GAN_PIXELS);
      t->labels[t->n] = d->labels != NULL ? d->labels[i] : 255;
      t->index[t->n] = i;
      t->n++;
    }
  fr_gan_data_free(d);
  g_task_return_boolean(task, TRUE);
}

static void
show_test_sketch(FrontierGanPage *self)
{
  if (self->n_tests == 0)
    return;
  int i = self->next_test % self->n_tests;
  self->next_test = i + 1;
  self->shown_test = i;
  canvas_message(self, NULL);
  frontier_gan_canvas_set_sketch(self->canvas, self->test_sketches + (gsize)i * FR_GAN_PIXELS);
  self->test_serial = frontier_gan_canvas_get_serial(self->canvas);
  frontier_gan_image_set_pixels(self->test_image, self->test_real + (gsize)i * FR_GAN_PIXELS, FR_GAN_SIZE, FR_GAN_SIZE,
                                FR_GAN_SIZE);
  guint8 label = self->test_labels[i];
  g_autofree char *text = g_strdup_printf("The real item: %s, Fashion-MNIST test image %d. Its edges are the sketch.",
                                          label < 10 ? fmnist_classes[label] : "unlabelled", self->test_index[i]);
  gtk_label_set_text(self->test_label, text);
  frontier_gan_image_set_description(self->test_image, text);
  gtk_widget_set_visible(GTK_WIDGET(self->test_row), TRUE);
}

static void
tests_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(source);
  TestSet *t = g_task_get_task_data(G_TASK(result));
  g_task_propagate_boolean(G_TASK(result), NULL);
  if (g_cancellable_is_cancelled(self->cancellable))
    return;
  self->tests_loading = FALSE;
  gtk_button_set_label(self->test_button, "Load Test Sketch");
  if (t->error != NULL || t->n == 0) {
    g_autofree char *msg = g_strdup_printf("No test sketches: %s", t->error != NULL ? t->error : "the test set is empty");
    canvas_message(self, msg);
    self->tests_pending = FALSE;
    update_sensitivity(self);
    return;
  }
  self->n_tests = t->n;
  self->test_sketches = g_steal_pointer(&t->sketches);
  self->test_real = g_steal_pointer(&t->real);
  self->test_labels = g_steal_pointer(&t->labels);
  self->test_index = g_steal_pointer(&t->index);
  if (self->tests_pending)
    show_test_sketch(self);
  self->tests_pending = FALSE;
  update_sensitivity(self);
}

static void
test_sketch_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(widget);
  if (self->n_tests > 0) {
    show_test_sketch(self);
    return;
  }
  self->tests_pending = TRUE;
  if (self->tests_loading)
    return;
  self->tests_loading = TRUE;
  gtk_button_set_label(self->test_button, "Loading Test Sketches…");
  GTask *task = g_task_new(self, self->cancellable, tests_done_cb, NULL);
  g_task_set_task_data(task, g_new0(TestSet, 1), test_set_free);
  g_task_run_in_thread(task, tests_thread);
  g_object_unref(task);
  update_sensitivity(self);
}

/* ---- opening images ---- */

typedef struct {
  char *path;
  float sketch[FR_GAN_PIXELS];
  char *error;
} ImageTask;

static void
image_task_free(gpointer data)
{
  ImageTask *t = data;
  g_free(t->path);
  g_free(t->error);
  g_free(t);
}

static void
image_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ImageTask *t = data;
  g_autofree char *name = g_path_get_basename(t->path);
  int fw = 0, fh = 0;
  if (gdk_pixbuf_get_file_info(t->path, &fw, &fh) == NULL) {
    t->error = g_strdup_printf("“%s” is not an image this system can read", name);
    g_task_return_boolean(task, TRUE);
    return;
  }
  if (fw > MAX_IMAGE_SIDE || fh > MAX_IMAGE_SIDE) {
    t->error = g_strdup_printf("“%s” is too large (%d×%d pixels; at most %d on a side)", name, fw, fh, MAX_IMAGE_SIDE);
    g_task_return_boolean(task, TRUE);
    return;
  }
  GError *error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = fw > DECODE_SIDE || fh > DECODE_SIDE
                                  ? gdk_pixbuf_new_from_file_at_size(t->path, DECODE_SIDE, DECODE_SIDE, &error)
                                  : gdk_pixbuf_new_from_file(t->path, &error);
  if (pixbuf == NULL) {
    t->error = g_strdup_printf("Could not read “%s”: %s", name, error != NULL ? error->message : "unknown error");
    g_clear_error(&error);
    g_task_return_boolean(task, TRUE);
    return;
  }
  int w = gdk_pixbuf_get_width(pixbuf), h = gdk_pixbuf_get_height(pixbuf);
  int nc = gdk_pixbuf_get_n_channels(pixbuf), stride = gdk_pixbuf_get_rowstride(pixbuf);
  gboolean alpha = gdk_pixbuf_get_has_alpha(pixbuf);
  const guint8 *px = gdk_pixbuf_read_pixels(pixbuf);
  g_autofree guint8 *grey = g_malloc((gsize)w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const guint8 *p = px + (gsize)y * stride + (gsize)x * nc;
      double v = nc >= 3 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
      if (alpha) /* transparent parts are paper: over white */
        v = v * p[nc - 1] / 255.0 + 255.0 * (1 - p[nc - 1] / 255.0);
      grey[y * w + x] = (guint8)CLAMP(lround(v), 0, 255);
    }
  if (!fr_gan_edges_from_image(grey, w, h, w, t->sketch, &error)) {
    t->error = g_strdup_printf("No sketch from “%s”: %s", name, error != NULL ? error->message : "no edges");
    g_clear_error(&error);
  }
  g_task_return_boolean(task, TRUE);
}

static void
image_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(source);
  ImageTask *t = g_task_get_task_data(G_TASK(result));
  g_task_propagate_boolean(G_TASK(result), NULL);
  if (g_cancellable_is_cancelled(self->cancellable))
    return;
  if (t->error != NULL) {
    canvas_message(self, t->error);
    return;
  }
  canvas_message(self, NULL);
  frontier_gan_canvas_set_sketch(self->canvas, t->sketch);
  g_autofree char *name = g_path_get_basename(t->path);
  g_autofree char *msg = g_strdup_printf("Traced the edges of %s", name);
  frontier_page_toast(GTK_WIDGET(self), msg, 2);
}

static void
open_image_path(FrontierGanPage *self, const char *path)
{
  ImageTask *t = g_new0(ImageTask, 1);
  t->path = g_strdup(path);
  GTask *task = g_task_new(self, self->cancellable, image_done_cb, NULL);
  g_task_set_task_data(task, t, image_task_free);
  g_task_run_in_thread(task, image_thread);
  g_object_unref(task);
}

static void
chooser_response_cb(GtkNativeDialog *dialog, int response, FrontierGanPage *self)
{
  g_autoptr(GFile) file = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog)) : NULL;
  gboolean image = self->chooser_image;
  Role role = self->chooser_role;
  g_clear_object(&self->chooser);
  if (file == NULL)
    return;
  g_autofree char *path = g_file_get_path(file);
  if (path == NULL) {
    canvas_message(self, "Only local files can be opened");
    return;
  }
  if (image)
    open_image_path(self, path);
  else
    load_models(self, role, path);
}

static void
show_chooser(FrontierGanPage *self, const char *title, gboolean image, Role role)
{
  if (self->chooser != NULL)
    return;
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  self->chooser = gtk_file_chooser_native_new(title, GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                              GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", "_Cancel");
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(self->chooser), TRUE);
  self->chooser_image = image;
  self->chooser_role = role;
  GtkFileFilter *filter = gtk_file_filter_new();
  if (image) {
    gtk_file_filter_set_name(filter, "Images");
    gtk_file_filter_add_pixbuf_formats(filter);
  } else {
    gtk_file_filter_set_name(filter, "Safetensors files");
    gtk_file_filter_add_pattern(filter, "*.safetensors");
  }
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(self->chooser), filter);
  g_object_unref(filter);
  GtkFileFilter *all = gtk_file_filter_new();
  gtk_file_filter_set_name(all, "All files");
  gtk_file_filter_add_pattern(all, "*");
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(self->chooser), all);
  g_object_unref(all);
  g_signal_connect(self->chooser, "response", G_CALLBACK(chooser_response_cb), self);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

static void
open_image_action(GtkWidget *widget, const char *action, GVariant *param)
{
  /* Test hook: open this file without a dialog. */
  const char *hook = g_getenv("FRONTIER_OPEN_PATH");
  if (hook != NULL && *hook) {
    open_image_path(FRONTIER_GAN_PAGE(widget), hook);
    return;
  }
  show_chooser(FRONTIER_GAN_PAGE(widget), "Open Image to Trace", TRUE, ROLE_TEACHER);
}

static void
load_model_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(widget);
  const char *which = g_variant_get_string(param, NULL);
  for (int r = 0; r < N_ROLES; r++)
    if (g_str_equal(which, role_names[r])) {
      static const char *const titles[N_ROLES] = { "Load Teacher Generator", "Load Student Supernet",
                                                   "Load Fine-Tuned Student" };
      show_chooser(self, titles[r], FALSE, (Role)r);
    }
}

static gboolean
drop_cb(GtkDropTarget *target, const GValue *value, double x, double y, FrontierGanPage *self)
{
  if (!G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST))
    return FALSE;
  GSList *files = g_value_get_boxed(value);
  if (files == NULL)
    return FALSE;
  g_autofree char *path = g_file_get_path(files->data);
  if (path == NULL) {
    canvas_message(self, "Only local files can be opened");
    return FALSE;
  }
  open_image_path(self, path);
  return TRUE;
}

/* ---- the canvas's actions ---- */

static void
clear_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(widget);
  canvas_message(self, NULL);
  frontier_gan_canvas_clear(self->canvas);
}

static void
undo_action(GtkWidget *widget, const char *action, GVariant *param)
{
  frontier_gan_canvas_undo(FRONTIER_GAN_PAGE(widget)->canvas);
}

static void
tool_toggled_cb(FrontierGanPage *self)
{
  frontier_gan_canvas_set_tool(self->canvas, gtk_toggle_button_get_active(self->eraser_button)
                                               ? FRONTIER_GAN_TOOL_ERASER
                                               : FRONTIER_GAN_TOOL_PEN);
}

static void
dismiss_action(GtkWidget *widget, const char *action, GVariant *param)
{
  canvas_message(FRONTIER_GAN_PAGE(widget), NULL);
}

static void
smooth_toggled_cb(FrontierGanPage *self)
{
  gboolean smooth = gtk_check_button_get_active(self->smooth_check);
  frontier_gan_image_set_smooth(self->teacher_image, smooth);
  frontier_gan_image_set_smooth(self->student_image, smooth);
  frontier_gan_image_set_smooth(self->test_image, smooth);
  frontier_gan_image_set_smooth(self->sample_image, smooth);
}

static void
job_kind_changed_cb(FrontierGanPage *self)
{
  JobKind kind = selected_job(self);
  gtk_widget_set_visible(GTK_WIDGET(self->steps_row), kind != JOB_SEARCH);
  gtk_widget_set_visible(GTK_WIDGET(self->generations_row), kind == JOB_SEARCH);
  gtk_widget_set_visible(GTK_WIDGET(self->eval_row), kind == JOB_SEARCH);
  gtk_button_set_label(self->start_button, kind == JOB_SEARCH ? "Search" : kind == JOB_FINETUNE ? "Fine-Tune" : "Train");
  /* A search has no losses or samples: its candidates go on the plot. */
  gtk_widget_set_visible(self->loss_box, kind != JOB_SEARCH);
  gtk_widget_set_visible(GTK_WIDGET(self->sample_image), kind != JOB_SEARCH);
  static const char *const subtitles[] = {
    [JOB_FINETUNE] = "Trains the shown sub-generator alone, distilled from the teacher, from the supernet’s weights",
    [JOB_SEARCH] = "Evolution over sub-generators within the budget above, each scored on search-split images",
    [JOB_SUPERNET] = "Distils a new once-for-all student from the teacher; every step trains a random sub-generator",
    [JOB_TEACHER] = "Trains a new ResNet teacher from scratch on Fashion-MNIST’s sketches",
  };
  adw_action_row_set_subtitle(ADW_ACTION_ROW(self->job_row), subtitles[kind]);
  update_sensitivity(self);
}

/* ---- sensitivity ---- */

static void
update_sensitivity(FrontierGanPage *self)
{
  GtkWidget *w = GTK_WIDGET(self);
  gboolean running = self->job != NULL;
  Model *teacher = self->models[ROLE_TEACHER], *supernet = self->models[ROLE_SUPERNET];
  gboolean has_front = supernet != NULL && self->front != NULL && self->front->len > 0;
  int k = has_front ? current_front_position(self) : -1;
  gboolean on_front = has_front && self->models[ROLE_STUDENT] == NULL && self->sel_candidate >= 0 &&
                      front_position(self, self->sel_candidate) >= 0;
  gtk_widget_action_set_enabled(w, "gan.cheaper", has_front && (k > 0 || !on_front));
  gtk_widget_action_set_enabled(w, "gan.better", has_front && (k < (int)self->front->len - 1 || !on_front));
  gtk_widget_set_sensitive(GTK_WIDGET(self->budget_scale), has_front);
  gtk_widget_set_sensitive(GTK_WIDGET(self->budget_spin), has_front);
  gtk_widget_action_set_enabled(w, "gan.clear", !frontier_gan_canvas_is_blank(self->canvas));
  gtk_widget_action_set_enabled(w, "gan.undo", frontier_gan_canvas_can_undo(self->canvas));
  gtk_widget_action_set_enabled(w, "gan.test-sketch", !self->tests_loading);

  JobKind kind = selected_job(self);
  gboolean can_start = !running && (kind == JOB_TEACHER                          ? TRUE
                                    : kind == JOB_SUPERNET                       ? teacher != NULL
                                    : kind == JOB_SEARCH                         ? supernet != NULL
                                                                                 : teacher != NULL && supernet != NULL &&
                                                                   self->models[ROLE_STUDENT] == NULL &&
                                                                   self->have_student);
  gtk_widget_action_set_enabled(w, "gan.start", can_start);
  gtk_widget_action_set_enabled(w, "gan.cancel", running && !self->cancel_requested);
  gtk_widget_action_set_enabled(w, "gan.use-trained", !running && self->trained_path != NULL);
  gtk_widget_set_visible(GTK_WIDGET(self->use_button), self->trained_path != NULL);
  gtk_widget_set_sensitive(GTK_WIDGET(self->job_row), !running);
  const char *why = NULL;
  if (!running && !can_start) {
    if (kind == JOB_FINETUNE && self->models[ROLE_STUDENT] != NULL)
      why = "Pick a sub-generator on the front to fine-tune it";
    else if (kind != JOB_TEACHER && (teacher == NULL || (kind != JOB_SUPERNET && supernet == NULL)))
      why = "This needs the teacher and the supernet";
  }
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->start_button), why);
}

/* ---- lifetime ---- */

gboolean
frontier_gan_page_get_running(FrontierGanPage *self)
{
  g_return_val_if_fail(FRONTIER_IS_GAN_PAGE(self), FALSE);
  return self->job != NULL;
}

static void
page_map_cb(FrontierGanPage *self)
{
  if (self->loaded_once)
    return;
  self->loaded_once = TRUE;
  load_models(self, N_ROLES, NULL);
}

static void
frontier_gan_page_dispose(GObject *object)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(object);
  if (self->tick_id != 0) {
    gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->tick_id);
    self->tick_id = 0;
  }
  g_cancellable_cancel(self->cancellable);
  /* A job still running is cancelled; the application stays up until it has stopped. */
  frontier_jobs_cancel_and_release(g_steal_pointer(&self->job));
  if (self->chooser != NULL) {
    g_signal_handlers_disconnect_by_data(self->chooser, self);
    gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->chooser));
    g_clear_object(&self->chooser);
  }
  gtk_widget_dispose_template(GTK_WIDGET(self), FRONTIER_TYPE_GAN_PAGE);
  for (int r = 0; r < N_ROLES; r++)
    g_clear_pointer(&self->models[r], model_unref);
  g_clear_pointer(&self->candidates, g_array_unref);
  g_clear_pointer(&self->front, g_array_unref);
  g_clear_pointer(&self->students, g_ptr_array_unref);
  g_clear_pointer(&self->search_cands, g_array_unref);
  G_OBJECT_CLASS(frontier_gan_page_parent_class)->dispose(object);
}

static void
frontier_gan_page_finalize(GObject *object)
{
  FrontierGanPage *self = FRONTIER_GAN_PAGE(object);
  for (int r = 0; r < N_ROLES; r++)
    g_free(self->model_errors[r]);
  g_free(self->front_error);
  g_free(self->front_path);
  g_free(self->test_sketches);
  g_free(self->test_real);
  g_free(self->test_labels);
  g_free(self->test_index);
  g_free(self->job_output);
  g_free(self->job_supernet);
  g_free(self->job_config);
  g_free(self->trained_path);
  g_free(self->trained_config);
  g_free(self->outputs_a11y);
  g_clear_object(&self->cancellable);
  G_OBJECT_CLASS(frontier_gan_page_parent_class)->finalize(object);
}


static void
frontier_gan_page_class_init(FrontierGanPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->dispose = frontier_gan_page_dispose;
  object_class->finalize = frontier_gan_page_finalize;

  g_type_ensure(FRONTIER_TYPE_COLUMNS);
  g_type_ensure(FRONTIER_TYPE_CHART);
  g_type_ensure(FRONTIER_TYPE_GAN_CANVAS);
  g_type_ensure(FRONTIER_TYPE_GAN_IMAGE);

  gtk_widget_class_set_template_from_resource(widget_class, "/org/frontier/Frontier/frontier-gan-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child(widget_class, FrontierGanPage, name)
  BIND(scroller);
  BIND(models_label);
  BIND(missing_revealer);
  BIND(missing_label);
  BIND(front_revealer);
  BIND(front_label);
  BIND(pen_button);
  BIND(eraser_button);
  BIND(canvas);
  BIND(test_button);
  BIND(test_row);
  BIND(test_image);
  BIND(test_label);
  BIND(canvas_revealer);
  BIND(canvas_message);
  BIND(outputs_stack);
  BIND(hint_title);
  BIND(hint_label);
  BIND(smooth_check);
  BIND(teacher_subtitle);
  BIND(teacher_image);
  BIND(teacher_latency);
  BIND(teacher_macs);
  BIND(teacher_paper);
  BIND(teacher_params);
  BIND(teacher_fid);
  BIND(teacher_acc);
  BIND(student_title);
  BIND(student_subtitle);
  BIND(student_image);
  BIND(student_latency);
  BIND(student_macs);
  BIND(student_paper);
  BIND(student_params);
  BIND(student_fid);
  BIND(student_acc);
  BIND(student_ratio);
  BIND(budget_scale);
  BIND(budget_spin);
  BIND(budget_adjustment);
  BIND(budget_status);
  BIND(selection_label);
  BIND(front_chart);
  BIND(job_row);
  BIND(steps_row);
  BIND(steps_spin);
  BIND(generations_row);
  BIND(generations_spin);
  BIND(eval_row);
  BIND(eval_spin);
  BIND(start_button);
  BIND(use_button);
  BIND(job_progress);
  BIND(job_label);
  BIND(loss_box);
  BIND(loss_chart);
  BIND(distill_chart);
  BIND(sample_image);
#undef BIND
  gtk_widget_class_bind_template_callback(widget_class, canvas_changed_cb);
  gtk_widget_class_bind_template_callback(widget_class, tool_toggled_cb);
  gtk_widget_class_bind_template_callback(widget_class, smooth_toggled_cb);
  gtk_widget_class_bind_template_callback(widget_class, budget_changed_cb);
  gtk_widget_class_bind_template_callback(widget_class, point_activated_cb);
  gtk_widget_class_bind_template_callback(widget_class, job_kind_changed_cb);

  gtk_widget_class_install_action(widget_class, "gan.clear", NULL, clear_action);
  gtk_widget_class_install_action(widget_class, "gan.undo", NULL, undo_action);
  gtk_widget_class_install_action(widget_class, "gan.test-sketch", NULL, test_sketch_action);
  gtk_widget_class_install_action(widget_class, "gan.open-image", NULL, open_image_action);
  gtk_widget_class_install_action(widget_class, "gan.dismiss", NULL, dismiss_action);
  gtk_widget_class_install_action(widget_class, "gan.cheaper", NULL, step_action);
  gtk_widget_class_install_action(widget_class, "gan.better", NULL, step_action);
  gtk_widget_class_install_action(widget_class, "gan.start", NULL, start_action);
  gtk_widget_class_install_action(widget_class, "gan.cancel", NULL, cancel_action);
  gtk_widget_class_install_action(widget_class, "gan.use-trained", NULL, use_trained_action);
  gtk_widget_class_install_action(widget_class, "gan.load-model", "s", load_model_action);
  gtk_widget_class_install_action(widget_class, "gan.reload", NULL, reload_action);

  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "gan.undo", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "gan.open-image", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_t, GDK_CONTROL_MASK, "gan.test-sketch", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Delete, GDK_CONTROL_MASK, "gan.clear", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "gan.start", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0, "gan.cancel", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Page_Down, GDK_CONTROL_MASK, "gan.cheaper", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Page_Up, GDK_CONTROL_MASK, "gan.better", NULL);

  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name(widget_class, "ganpage");
}

static void
frontier_gan_page_init(FrontierGanPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->cancellable = g_cancellable_new();
  self->sel_candidate = self->sel_search = self->sel_student = -1;
  self->students = g_ptr_array_new_with_free_func(student_free);
  self->search_cands = g_array_new(FALSE, FALSE, sizeof(Candidate));
  self->shown_test = -1;
  self->test_serial = G_MAXUINT64;
  setup_front_series(self);
  setup_loss_series(self, JOB_FINETUNE);
  frontier_chart_set_x_integer(self->loss_chart, TRUE);
  frontier_chart_set_x_integer(self->distill_chart, TRUE);
  g_signal_connect(self->missing_revealer, "notify::child-revealed", G_CALLBACK(revealed_cb), NULL);
  g_signal_connect(self->front_revealer, "notify::child-revealed", G_CALLBACK(revealed_cb), NULL);
  g_signal_connect(self->canvas_revealer, "notify::child-revealed", G_CALLBACK(revealed_cb), NULL);
  gtk_widget_set_visible(GTK_WIDGET(self->missing_revealer), FALSE);
  gtk_widget_set_visible(GTK_WIDGET(self->front_revealer), FALSE);
  gtk_widget_set_visible(GTK_WIDGET(self->canvas_revealer), FALSE);
  gtk_widget_set_visible(GTK_WIDGET(self->test_row), FALSE);

  GtkDropTarget *drop = gtk_drop_target_new(GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect(drop, "drop", G_CALLBACK(drop_cb), self);
  gtk_widget_add_controller(GTK_WIDGET(self->canvas), GTK_EVENT_CONTROLLER(drop));

  update_teacher_view(self);
  update_student_view(self);
  update_messages(self);
  show_outputs_page(self);
  job_kind_changed_cb(self);
  /* The generators are read when the page is first shown, not at start-up. */
  g_signal_connect_swapped(self, "map", G_CALLBACK(page_map_cb), self);
}

GtkWidget *
frontier_gan_page_new(void)
{
  return g_object_new(FRONTIER_TYPE_GAN_PAGE, NULL);
}
