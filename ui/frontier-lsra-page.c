/* frontier-lsra-page.c: see frontier-lsra-page.h.
 *
 * Nothing slow runs on the main thread. The four models and their eval-NAME.json files are read by a
 * GTask thread when the page is first shown (each model then translates a short sentence once, so the
 * first measured latency is not a cold one). Translation runs on a GTask thread too: a keystroke only
 * restarts a 300 ms timer; when it fires, a task translates the text with both models of the budget,
 * one after the other (each translator is only ever used by the one task running), and inspects their
 * encoders for the heatmap. At most one task runs: a newer request sets the running task's cancel
 * flag (the search stops early) and starts as soon as it returns. Every request carries the input's
 * serial; results of an older input are dropped. Models are reference-counted boxes shared with the
 * task, so reloading never pulls one from under a translation. */
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "fr-lsra-model.h"
#include "fr-lsra-translate.h"
#include "fr-model-io.h"

#include "frontier-page-util.h"
#include "frontier-chart.h"
#include "frontier-columns.h"
#include "frontier-lsra-heatmap.h"
#include "frontier-lsra-page.h"

#define DEBOUNCE_MS 300
#define MAX_INPUT_BYTES 16384   /* far more than FR_LSRA_MAX_TOKENS pieces; the engine truncates and says so */

typedef enum { ARCH_TRANSFORMER, ARCH_LITE, N_ARCH } Arch;
typedef enum { BUDGET_SMALL, BUDGET_BASE, N_BUDGETS } Budget;

static const char *const model_names[N_BUDGETS][N_ARCH] = {
  { "transformer-small", "lite-small" },
  { "transformer", "lite" },
};
static const char *const arch_titles[N_ARCH] = { "Transformer", "Lite Transformer" };

static const char *const examples[] = {
  "Open the file in a new window.",
  "This package contains the documentation for the library.",
  "The program could not find the configuration file.",
  "Do you want to save the changes to the document before closing?",
  "The house is small, but the garden is beautiful.",
  "A small tool to convert images between different formats.",
};

/* ---- models, shared with worker threads ---- */

typedef struct {
  FrLsraTranslator *tr;
  char *name;
  FrLsraConfig cfg;         /* cfg.name points at name */
  double mult_adds;
  FrLsraParams params;
} Model;

static void
model_clear(gpointer data)
{
  Model *m = data;
  fr_lsra_translator_free(m->tr);
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

/* ---- eval-NAME.json ---- */

typedef struct {
  double bleu;              /* NAN: none */
  char *per_source;         /* "gettext 25.1 · ddtp 20.3 · ding 18.0", or NULL */
  int beam;                 /* the evaluation's beam width, 0: not said */
} Eval;

static void
eval_clear(Eval *e)
{
  g_clear_pointer(&e->per_source, g_free);
  e->bleu = NAN;
}

static double
json_number(JsonNode *n)
{
  if (n == NULL || JSON_NODE_TYPE(n) != JSON_NODE_VALUE)
    return NAN;
  GType t = json_node_get_value_type(n);
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64 && t != G_TYPE_INT)
    return NAN;
  return json_node_get_double(n);
}

/* A BLEU figure: a number, or an object with "bleu" or "score". */
static double
json_bleu(JsonNode *n)
{
  if (n != NULL && JSON_NODE_HOLDS_OBJECT(n)) {
    JsonObject *o = json_node_get_object(n);
    double v = json_number(json_object_get_member(o, "bleu"));
    return isfinite(v) ? v : json_number(json_object_get_member(o, "score"));
  }
  return json_number(n);
}

/* Worker threads only. Anything unreadable leaves bleu NAN. */
static void
eval_load(const char *path, Eval *e)
{
  e->bleu = NAN;
  e->per_source = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_file(parser, path, NULL))
    return;
  JsonNode *root = json_parser_get_root(parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
    return;
  JsonObject *o = json_node_get_object(root);
  e->bleu = json_bleu(json_object_get_member(o, "bleu"));
  double beam = json_number(json_object_get_member(o, "beam"));
  e->beam = isfinite(beam) && beam >= 1 && beam <= 64 ? (int)beam : 0;
  JsonNode *ps = json_object_get_member(o, "per_source");
  if (ps != NULL && JSON_NODE_HOLDS_OBJECT(ps)) {
    GString *s = g_string_new(NULL);
    JsonObject *po = json_node_get_object(ps);
    g_autoptr(GList) names = json_object_get_members(po);
    for (GList *l = names; l != NULL; l = l->next) {
      double v = json_bleu(json_object_get_member(po, l->data));
      if (isfinite(v))
        g_string_append_printf(s, "%s%s %.1f", s->len ? " · " : "", (const char *)l->data, v);
    }
    if (s->len > 0)
      e->per_source = g_string_free(s, FALSE);
    else
      g_string_free(s, TRUE);
  }
}

/* ---- formatting ---- */

static char *
format_ms(double ms)
{
  if (!isfinite(ms))
    return g_strdup("— ms");
  return g_strdup_printf(ms < 10 ? "%.2f ms" : ms < 1000 ? "%.1f ms" : "%.0f ms", ms);
}

/* "d 112 · 56 attention + 56 convolution channels · 4 + 4 heads · kernels 3, 7, 15 · 3 + 3 layers" */
static char *
describe_config(const FrLsraConfig *c)
{
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "d %d", c->d_model);
  if (c->arch == FR_LSRA_ARCH_LITE) {
    g_string_append_printf(s, " · %d attention + %d convolution channels · %d + %d heads · kernels ", c->attn_dim,
                           c->d_model - c->attn_dim, c->heads, c->conv_heads);
    for (int l = 0; l < c->enc_layers; l++)
      g_string_append_printf(s, "%s%d", l ? ", " : "", c->enc_kernels[l]);
  } else {
    g_string_append_printf(s, " · %d heads · FFN %d", c->heads, c->ffn_dim);
  }
  g_string_append_printf(s, " · %d + %d layers", c->enc_layers, c->dec_layers);
  return g_string_free(s, FALSE);
}

/* ---- the page ---- */

typedef struct _TranslateTask TranslateTask;

struct _FrontierLsraPage {
  GtkWidget parent_instance;

  /* Template children. */
  GtkWidget *scroller;
  GtkLabel *models_label;
  GtkRevealer *missing_revealer;
  GtkLabel *missing_label;
  GtkToggleButton *budget_small;
  GtkMenuButton *profile_button;
  GtkToggleButton *budget_base;
  GtkSpinButton *beam_spin;
  GtkAdjustment *beam_adjustment;
  GtkTextView *input_view;
  GtkLabel *input_status;
  GtkRevealer *notice_revealer;
  GtkLabel *notice_label;
  GtkSpinner *busy_spinner;
  GtkLabel *busy_label;
  GtkStack *outputs_stack;
  GtkLabel *hint_title;
  GtkLabel *hint_label;
  GtkLabel *t_title, *t_subtitle, *t_text, *t_latency, *t_macs, *t_params, *t_bleu;
  GtkLabel *l_title, *l_subtitle, *l_text, *l_latency, *l_macs, *l_params, *l_bleu;
  GtkLabel *compare_label;
  GtkDropDown *heat_model_drop;
  GtkToggleButton *branch_attn;
  GtkToggleButton *branch_conv;
  GtkDropDown *layer_drop;
  GtkDropDown *head_drop;
  FrontierLsraHeatmap *heatmap;
  GtkLabel *heat_caption;
  FrontierChart *chart;
  GtkLabel *chart_caption;
  GtkLabel *paper_label;

  /* Models. */
  gboolean loaded_once, loading;
  Model *models[N_BUDGETS][N_ARCH];
  char *errors[N_BUDGETS][N_ARCH];
  Eval evals[N_BUDGETS][N_ARCH];
  FrLsraConfig configs[N_BUDGETS][N_ARCH];   /* fr_lsra_config_mobile, for the chart's Mult-Adds */
  gboolean have_config[N_BUDGETS][N_ARCH];
  Budget budget;

  /* Translation. */
  guint debounce_id;
  guint focus_idle_id;
  guint serial;                 /* the input's: text, beam and budget */
  TranslateTask *running;       /* the task in flight (its data), or NULL */
  gboolean pending;             /* a request waits for the running task to return */
  FrLsraTranslation *results[N_ARCH];
  char *result_errors[N_ARCH];
  FrLsraInspect *inspect[N_ARCH];
  int results_beam;             /* the beam width the results were searched with */
  char **pieces;                /* the source's BPE pieces and "</s>" */
  int n_pieces;
  gboolean blank;               /* the input is empty or whitespace (updated on every change) */
  int example_next;

  /* The heatmap's current view, for its hover text. */
  gboolean heat_conv;
  int heat_k;
  gboolean heat_updating;       /* the layer and head lists are being rebuilt */

  char *outputs_a11y;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE(FrontierLsraPage, frontier_lsra_page, GTK_TYPE_WIDGET)

static void request_translation(FrontierLsraPage *self, gboolean debounce);
static void update_heatmap(FrontierLsraPage *self);
static void update_cards(FrontierLsraPage *self);

/* ---- small helpers ---- */

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

/* A label's text, and its accessible name with what it is ("Lite Transformer latency: 12.3 ms"). */
static void
set_stat(GtkLabel *label, const char *who, const char *what, const char *text)
{
  gtk_label_set_text(label, text);
  g_autofree char *name = g_strdup_printf("%s %s: %s", who, what, text);
  gtk_accessible_update_property(GTK_ACCESSIBLE(label), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
}

static char *
input_text(FrontierLsraPage *self)
{
  GtkTextBuffer *buf = gtk_text_view_get_buffer(self->input_view);
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds(buf, &start, &end);
  return gtk_text_buffer_get_text(buf, &start, &end, FALSE);
}

static gboolean
text_blank(const char *text)
{
  for (const char *p = text; *p; p = g_utf8_next_char(p))
    if (!g_unichar_isspace(g_utf8_get_char(p)))
      return FALSE;
  return TRUE;
}

static gboolean
input_blank(FrontierLsraPage *self)
{
  return self->blank;
}

static gboolean
budget_has_model(FrontierLsraPage *self)
{
  return self->models[self->budget][ARCH_TRANSFORMER] != NULL || self->models[self->budget][ARCH_LITE] != NULL;
}

static void
card_labels(FrontierLsraPage *self, Arch a, GtkLabel **title, GtkLabel **subtitle, GtkLabel **text,
            GtkLabel **latency, GtkLabel **macs, GtkLabel **params, GtkLabel **bleu)
{
  gboolean t = a == ARCH_TRANSFORMER;
  *title = t ? self->t_title : self->l_title;
  *subtitle = t ? self->t_subtitle : self->l_subtitle;
  *text = t ? self->t_text : self->l_text;
  *latency = t ? self->t_latency : self->l_latency;
  *macs = t ? self->t_macs : self->l_macs;
  *params = t ? self->t_params : self->l_params;
  *bleu = t ? self->t_bleu : self->l_bleu;
}

static void
clear_results(FrontierLsraPage *self)
{
  for (int a = 0; a < N_ARCH; a++) {
    g_clear_pointer(&self->results[a], fr_lsra_translation_free);
    g_clear_pointer(&self->result_errors[a], g_free);
    g_clear_pointer(&self->inspect[a], fr_lsra_inspect_free);
  }
  g_clear_pointer(&self->pieces, g_strfreev);
  self->n_pieces = 0;
}

/* ---- messages ---- */

static void
update_messages(FrontierLsraPage *self)
{
  /* The models of every budget: missing ones named once, with what makes them. */
  GString *s = g_string_new(NULL);
  int missing = 0;
  for (int b = 0; b < N_BUDGETS; b++)
    for (int a = 0; a < N_ARCH; a++) {
      if (self->models[b][a] != NULL || self->errors[b][a] == NULL)
        continue;
      g_autofree char *e = g_markup_escape_text(self->errors[b][a], -1);
      g_string_append_printf(s, "\n• %s", e);
      missing++;
    }
  if (missing > 0) {
    g_autofree char *lsra_dir = fr_data_default_output("lsra");
    g_autofree char *dir = g_markup_escape_text(lsra_dir != NULL ? lsra_dir : "data/lsra", -1);
    g_autofree char *text = g_strdup_printf(
      "<b>%s</b>%s\nLooked in $FR_DATA_DIR, the installed data folder and the source tree’s data/. Train them "
      "with <tt>build-aux/lsra-pipeline.sh</tt> (it writes the models, the BPE vocabulary and their BLEU into "
      "%s), then press Reload.",
      missing == N_BUDGETS * N_ARCH ? "Translation models not found" : "Some translation models are missing",
      s->str, dir);
    gtk_label_set_markup(self->missing_label, text);
    reveal(self->missing_revealer, TRUE);
  } else {
    reveal(self->missing_revealer, FALSE);
  }
  g_string_free(s, TRUE);

  GString *m = g_string_new(NULL);
  for (int b = 0; b < N_BUDGETS; b++)
    for (int a = 0; a < N_ARCH; a++) {
      Model *model = self->models[b][a];
      if (model == NULL)
        continue;
      g_autofree char *params = frontier_format_count((double)model->params.total);
      g_string_append_printf(m, "%s%s (%s parameters)", m->len ? " · " : "", model->name, params);
    }
  gtk_label_set_text(self->models_label, m->len      ? m->str
                                         : self->loading ? "Loading the translation models…"
                                                         : "No translation models");
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->models_label), m->len ? m->str : NULL);
  g_string_free(m, TRUE);
}

/* The outputs area: the translations, or a hint saying why there are none. */
static void
set_outputs_description(FrontierLsraPage *self, const char *text)
{
  if (g_strcmp0(self->outputs_a11y, text) == 0)
    return;
  g_free(self->outputs_a11y);
  self->outputs_a11y = g_strdup(text);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->outputs_stack), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
}

static void
show_outputs_page(FrontierLsraPage *self)
{
  gboolean blank = input_blank(self);
  if (!blank && (budget_has_model(self) || self->loading)) {
    gtk_stack_set_visible_child_name(self->outputs_stack, "outputs");
    /* GTK 4.8 does not tell assistive technologies which stack page shows: the stack says it. */
    set_outputs_description(self, "The Transformer’s and the Lite Transformer’s translations");
    return;
  }
  if (!blank) {
    gtk_label_set_text(self->hint_title, "No models to translate with");
    gtk_label_set_text(self->hint_label, "Neither model of this budget could be loaded: see the message above for "
                                         "what is missing and how to make it.");
  } else {
    gtk_label_set_text(self->hint_title, "Nothing to translate yet");
    gtk_label_set_text(self->hint_label, "Type or paste English on the left, or press “Example”: the Transformer and "
                                         "the Lite Transformer translate it into German side by side as you type.");
  }
  gtk_stack_set_visible_child_name(self->outputs_stack, "hint");
  g_autofree char *d = g_strdup_printf("%s: %s", gtk_label_get_text(self->hint_title),
                                       gtk_label_get_text(self->hint_label));
  set_outputs_description(self, d);
}

static void
set_busy(FrontierLsraPage *self, gboolean busy)
{
  gtk_spinner_set_spinning(self->busy_spinner, busy);
  gtk_widget_set_visible(GTK_WIDGET(self->busy_spinner), busy);
  gtk_label_set_text(self->busy_label, busy ? "Translating…" : "");
}

/* ---- the cards ---- */

static void
update_card(FrontierLsraPage *self, Arch a)
{
  GtkLabel *title, *subtitle, *text, *latency, *macs, *params, *bleu;
  card_labels(self, a, &title, &subtitle, &text, &latency, &macs, &params, &bleu);
  const char *who = arch_titles[a];
  Model *m = self->models[self->budget][a];
  const char *name = model_names[self->budget][a];

  if (m != NULL) {
    g_autofree char *cfg = describe_config(&m->cfg);
    g_autofree char *sub = g_strdup_printf("%s · %s", m->name, cfg);
    gtk_label_set_text(subtitle, sub);
  } else if (self->errors[self->budget][a] != NULL) {
    g_autofree char *sub = g_strdup_printf("%s: not available", name);
    gtk_label_set_text(subtitle, sub);
  } else {
    gtk_label_set_text(subtitle, name);
  }

  /* Mult-Adds and parameters: the loaded model's, else its config's (known without the file). */
  const FrLsraConfig *cfg = m != NULL ? &m->cfg : self->have_config[self->budget][a] ? &self->configs[self->budget][a]
                                                                                     : NULL;
  if (cfg != NULL) {
    double ma = m != NULL ? m->mult_adds : fr_lsra_mult_adds(cfg);
    g_autofree char *v = frontier_format_count(ma);
    set_stat(macs, who, "Mult-Adds", v);
  } else {
    set_stat(macs, who, "Mult-Adds", "—");
  }
  if (m != NULL) {
    g_autofree char *body = frontier_format_count((double)m->params.body);
    g_autofree char *emb = frontier_format_count((double)m->params.embeddings);
    g_autofree char *v = g_strdup_printf("%s (+ %s embeddings)", body, emb);
    set_stat(params, who, "parameters", v);
  } else {
    set_stat(params, who, "parameters", "—");
  }
  const Eval *e = &self->evals[self->budget][a];
  if (isfinite(e->bleu)) {
    g_autofree char *beam = e->beam > 0 ? g_strdup_printf("beam %d", e->beam) : NULL;
    g_autofree char *v = e->per_source != NULL && beam != NULL ? g_strdup_printf("%.1f (%s; %s)", e->bleu,
                                                                                 e->per_source, beam)
                         : e->per_source != NULL ? g_strdup_printf("%.1f (%s)", e->bleu, e->per_source)
                         : beam != NULL          ? g_strdup_printf("%.1f (%s)", e->bleu, beam)
                                                 : g_strdup_printf("%.1f", e->bleu);
    set_stat(bleu, who, "BLEU", v);
  } else {
    set_stat(bleu, who, "BLEU", "not evaluated");
  }

  /* The translation. */
  const FrLsraTranslation *r = self->results[a];
  g_autofree char *shown = NULL;
  if (m == NULL)
    shown = g_strdup(self->errors[self->budget][a] != NULL ? "The model is missing." : "Loading…");
  else if (self->result_errors[a] != NULL)
    shown = g_strdup_printf("Translation failed: %s", self->result_errors[a]);
  else if (r != NULL)
    shown = g_strdup(r->text);
  else
    shown = g_strdup("…");
  gtk_label_set_text(text, shown);
  gtk_widget_set_opacity(GTK_WIDGET(text), r != NULL && self->result_errors[a] == NULL ? 1.0 : 0.55);
  g_autofree char *a11y = g_strdup_printf("%s translation: %s", who, r != NULL ? r->text : "");
  gtk_accessible_update_property(GTK_ACCESSIBLE(text), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
  if (r != NULL) {
    g_autofree char *ms = format_ms(r->ms);
    set_stat(latency, who, "latency", ms);
  } else {
    set_stat(latency, who, "latency", "— ms");
  }
}

static void
update_compare(FrontierLsraPage *self)
{
  Model *t = self->models[self->budget][ARCH_TRANSFORMER], *l = self->models[self->budget][ARCH_LITE];
  if (t == NULL || l == NULL) {
    gtk_label_set_text(self->compare_label, "");
    return;
  }
  GString *s = g_string_new("Lite Transformer against the Transformer: ");
  g_string_append_printf(s, "%.2f× the Mult-Adds", l->mult_adds / MAX(1, t->mult_adds));
  g_string_append_printf(s, " · %.2f× the parameters", (double)l->params.body / MAX(1, (double)t->params.body));
  const FrLsraTranslation *rt = self->results[ARCH_TRANSFORMER], *rl = self->results[ARCH_LITE];
  if (rt != NULL && rl != NULL && rt->ms > 0 && rl->ms > 0)
    g_string_append_printf(s, " · %.2f× %s here", rt->ms >= rl->ms ? rt->ms / rl->ms : rl->ms / rt->ms,
                           rt->ms >= rl->ms ? "faster" : "slower");
  double bt = self->evals[self->budget][ARCH_TRANSFORMER].bleu, bl = self->evals[self->budget][ARCH_LITE].bleu;
  if (isfinite(bt) && isfinite(bl))
    g_string_append_printf(s, " · %+.1f BLEU", bl - bt);
  gtk_label_set_text(self->compare_label, s->str);
  g_string_free(s, TRUE);
}

static void
update_input_status(FrontierLsraPage *self)
{
  const FrLsraTranslation *r = self->results[ARCH_LITE] != NULL ? self->results[ARCH_LITE]
                                                                : self->results[ARCH_TRANSFORMER];
  if (input_blank(self)) {
    gtk_label_set_text(self->input_status, "Type or paste English text.");
    reveal(self->notice_revealer, FALSE);
    return;
  }
  if (r == NULL) {
    gtk_label_set_text(self->input_status, " ");
    return;
  }
  g_autofree char *status = g_strdup_printf("%d BPE token%s (with </s>: %d) · beam %d", r->n_src,
                                            r->n_src == 1 ? "" : "s", r->n_src + 1, self->results_beam);
  gtk_label_set_text(self->input_status, status);
  GString *n = g_string_new(NULL);
  if (r->truncated)
    g_string_append_printf(n, "The text is longer than the models take: only its first %d BPE tokens are "
                              "translated.",
                           FR_LSRA_MAX_TOKENS - 1);
  if (r->unknown > 0)
    g_string_append_printf(n, "%s%d piece%s of the text %s outside the vocabulary and read as “⁇” (unknown).",
                           n->len ? "\n" : "", r->unknown, r->unknown == 1 ? "" : "s",
                           r->unknown == 1 ? "is" : "are");
  if (n->len) {
    gtk_label_set_text(self->notice_label, n->str);
    reveal(self->notice_revealer, TRUE);
  } else {
    reveal(self->notice_revealer, FALSE);
  }
  g_string_free(n, TRUE);
}

static void
update_cards(FrontierLsraPage *self)
{
  update_card(self, ARCH_TRANSFORMER);
  update_card(self, ARCH_LITE);
  update_compare(self);
  update_input_status(self);
}

/* ---- the chart ---- */

static void
fill_chart(FrontierLsraPage *self)
{
  frontier_chart_remove_all_series(self->chart);
  GdkRGBA ct, cl;
  gdk_rgba_parse(&ct, "#3584e4");
  gdk_rgba_parse(&cl, "#e66100");
  guint series[N_ARCH] = {
    frontier_chart_add_series(self->chart, "Transformer", FRONTIER_CHART_LINE_MARKERS, &ct),
    frontier_chart_add_series(self->chart, "Lite Transformer", FRONTIER_CHART_LINE_MARKERS, &cl),
  };
  int n = 0;
  double x_max = 0, y_max = 0;
  GString *missing = g_string_new(NULL);
  for (int a = 0; a < N_ARCH; a++)
    for (int b = 0; b < N_BUDGETS; b++) {
      const Eval *e = &self->evals[b][a];
      Model *m = self->models[b][a];
      double x = m != NULL ? m->mult_adds : self->have_config[b][a] ? fr_lsra_mult_adds(&self->configs[b][a]) : NAN;
      if (isfinite(e->bleu) && isfinite(x)) {
        frontier_chart_append(self->chart, series[a], x / 1e6, e->bleu);
        x_max = MAX(x_max, x / 1e6);
        y_max = MAX(y_max, e->bleu);
        n++;
      } else {
        g_string_append_printf(missing, "%s%s", missing->len ? ", " : "", model_names[b][a]);
      }
    }
  /* From zero on both axes, with room around the dearest and the best model. */
  frontier_chart_set_x_range(self->chart, 0, n > 0 ? ceil(x_max * 1.15 / 5) * 5 : NAN);
  frontier_chart_set_y_range(self->chart, 0, n > 0 ? ceil(MAX(y_max, 1) * 1.15 / 5) * 5 : NAN);
  frontier_chart_reset_view(self->chart);
  g_autofree char *caption = NULL;
  if (n == 0)
    caption = g_strdup("No BLEU scores yet: build-aux/lsra-pipeline.sh evaluates every model it trains on the dev "
                       "sets (gettext, ddtp, ding) and writes lsra/eval-NAME.json, which this chart reads.");
  else if (missing->len)
    caption = g_strdup_printf("Each model’s corpus BLEU on the dev sets against its Mult-Adds (a 30-token sentence "
                              "into 30 tokens). Not evaluated yet: %s.",
                              missing->str);
  else
    caption = g_strdup("Each model’s corpus BLEU on the dev sets against its Mult-Adds (a 30-token sentence into 30 "
                       "tokens); a line joins the two sizes of each architecture.");
  gtk_label_set_text(self->chart_caption, caption);
  g_string_free(missing, TRUE);
}

/* The paper's configurations, by their published Mult-Adds only. */
static void
fill_paper_note(FrontierLsraPage *self)
{
  GString *s = g_string_new("The paper’s configurations, by their published Mult-Adds (6 + 6 layers, trained on "
                            "WMT’14; its BLEU is on another corpus and test set, so it is not plotted against the "
                            "models here, which have 3 + 3 layers and learn from a smaller corpus):");
  int n = 0;
  for (const FrLsraPreset *p = fr_lsra_presets(); p->config.name != NULL; p++) {
    if (!(p->paper_mult_adds > 0))
      continue;
    const FrLsraConfig *c = &p->config;
    g_string_append_printf(s, "\n• %s, d %d: %gM published, %.1fM counted here",
                           c->arch == FR_LSRA_ARCH_LITE ? "Lite Transformer" : "Transformer", c->d_model,
                           p->paper_mult_adds, fr_lsra_mult_adds(c) / 1e6);
    if (p->paper_params > 0)
      g_string_append_printf(s, "; %gM parameters published, %.2fM counted", p->paper_params,
                             (double)fr_lsra_params(c).body / 1e6);
    n++;
  }
  gtk_label_set_text(self->paper_label, n > 0 ? s->str : "");
  g_string_free(s, TRUE);
}

/* ---- the heatmap ---- */

/* "+2", "0", "−1" (a real minus sign) */
static char *
format_offset(int off)
{
  return off < 0 ? g_strdup_printf("−%d", -off) : off > 0 ? g_strdup_printf("+%d", off) : g_strdup("0");
}

static char *
heat_describe(int row, int block, int col, float value, gpointer user_data)
{
  FrontierLsraPage *self = user_data;
  const char *q = self->pieces != NULL && row < self->n_pieces ? self->pieces[row] : "?";
  if (!self->heat_conv) {
    const char *k = self->pieces != NULL && col < self->n_pieces ? self->pieces[col] : "?";
    return g_strdup_printf("%s → %s: %.3f", q, k, value);
  }
  int off = col - self->heat_k / 2;
  int pos = row + off;
  const char *at = self->pieces != NULL && pos >= 0 && pos < self->n_pieces ? self->pieces[pos] : "padding";
  g_autofree char *tap = format_offset(off);
  return g_strdup_printf("Head %d · %s, tap %s (%s): %.3f", block + 1, q, tap, at, value);
}

static void
set_drop_items(GtkDropDown *drop, const char *const *items, int n, guint selected)
{
  GtkStringList *list = gtk_string_list_new(NULL);
  for (int i = 0; i < n; i++)
    gtk_string_list_append(list, items[i]);
  gtk_drop_down_set_model(drop, G_LIST_MODEL(list));
  g_object_unref(list);
  gtk_drop_down_set_selected(drop, MIN(selected, (guint)MAX(n - 1, 0)));
}

/* The layer and head lists follow the inspected model (names only change the lists when needed). */
static void
sync_heat_choices(FrontierLsraPage *self, const FrLsraInspect *in)
{
  int layers = in != NULL ? in->layers : 0, heads = in != NULL ? in->attn_heads : 0;
  self->heat_updating = TRUE;
  GListModel *lm = gtk_drop_down_get_model(self->layer_drop);
  if (lm == NULL || (int)g_list_model_get_n_items(lm) != MAX(layers, 1)) {
    guint sel = gtk_drop_down_get_selected(self->layer_drop);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (int l = 0; l < MAX(layers, 1); l++)
      g_ptr_array_add(names, g_strdup_printf("Layer %d", l + 1));
    set_drop_items(self->layer_drop, (const char *const *)names->pdata, (int)names->len,
                   sel == GTK_INVALID_LIST_POSITION ? 0 : sel);
  }
  GListModel *hm = gtk_drop_down_get_model(self->head_drop);
  if (hm == NULL || (int)g_list_model_get_n_items(hm) != heads + 1) {
    guint sel = gtk_drop_down_get_selected(self->head_drop);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(names, g_strdup("Average of the heads"));
    for (int h = 0; h < heads; h++)
      g_ptr_array_add(names, g_strdup_printf("Head %d", h + 1));
    set_drop_items(self->head_drop, (const char *const *)names->pdata, (int)names->len,
                   sel == GTK_INVALID_LIST_POSITION ? 0 : sel);
  }
  self->heat_updating = FALSE;
}

static void
update_heatmap(FrontierLsraPage *self)
{
  Arch a = gtk_drop_down_get_selected(self->heat_model_drop) == 1 ? ARCH_TRANSFORMER : ARCH_LITE;
  const FrLsraInspect *in = self->inspect[a];
  gboolean has_conv = in != NULL && in->kernels != NULL && in->conv_heads > 0;
  gboolean conv = gtk_toggle_button_get_active(self->branch_conv);
  gtk_widget_set_sensitive(GTK_WIDGET(self->branch_conv), in == NULL || has_conv);
  if (conv && in != NULL && !has_conv) {
    /* The Transformer has no convolution branch: back to attention. */
    gtk_toggle_button_set_active(self->branch_attn, TRUE);
    return; /* the toggle's handler comes back here */
  }
  sync_heat_choices(self, in);
  gtk_widget_set_visible(GTK_WIDGET(self->head_drop), !conv);

  const char *who = arch_titles[a];
  if (in == NULL || self->pieces == NULL || in->S != self->n_pieces) {
    frontier_lsra_heatmap_clear(self->heatmap);
    const char *why = input_blank(self)                          ? "Type a sentence to see where each encoder layer looks"
                      : self->models[self->budget][a] == NULL ? "This model is not loaded"
                                                                 : "Waiting for the translation…";
    frontier_lsra_heatmap_set_placeholder(self->heatmap, why);
    gtk_label_set_text(self->heat_caption, "");
    return;
  }
  int layer = (int)gtk_drop_down_get_selected(self->layer_drop);
  layer = CLAMP(layer, 0, in->layers - 1);
  int S = in->S;
  const char *const *labels = (const char *const *)self->pieces;
  self->heat_conv = conv;
  if (!conv) {
    int head = (int)gtk_drop_down_get_selected(self->head_drop) - 1;   /* -1: average */
    if (head >= in->attn_heads)
      head = -1;
    g_autofree float *m = g_new0(float, (gsize)S * S);
    const float *base = in->attn + (gsize)layer * in->attn_heads * S * S;
    for (int h = 0; h < in->attn_heads; h++) {
      if (head >= 0 && h != head)
        continue;
      const float *w = base + (gsize)h * S * S;
      for (gsize i = 0; i < (gsize)S * S; i++)
        m[i] += w[i];
    }
    if (head < 0)
      for (gsize i = 0; i < (gsize)S * S; i++)
        m[i] /= in->attn_heads;
    frontier_lsra_heatmap_set_axis_names(self->heatmap, "query", "key");
    g_autofree char *title = g_strdup_printf("%s encoder self-attention, layer %d, %s", who, layer + 1,
                                             head < 0 ? "average of the heads" : "one head");
    frontier_lsra_heatmap_set_title(self->heatmap, title);
    frontier_lsra_heatmap_set_data(self->heatmap, m, S, 1, S, labels, labels, NULL);
    g_autofree char *cap = g_strdup_printf(
      "Row i: how much source token i takes from each source token (columns) in layer %d of the %s encoder’s "
      "%s. Each row sums to 1. %s",
      layer + 1, who, a == ARCH_LITE ? "attention branch (half the channels)" : "self-attention",
      a == ARCH_LITE ? "With the local context left to the convolution branch, LSRA’s attention is free to "
                       "look further away."
                     : "");
    gtk_label_set_text(self->heat_caption, cap);
    return;
  }
  int K = in->kernel_size[layer];
  K = CLAMP(K, 1, in->max_k);
  int H = in->conv_heads;
  self->heat_k = K;
  g_autofree float *m = g_new0(float, (gsize)S * H * K);
  for (int t = 0; t < S; t++)
    for (int h = 0; h < H; h++)
      for (int k = 0; k < K; k++)
        m[((gsize)t * H + h) * K + k] = in->kernels[(((gsize)layer * S + t) * H + h) * in->max_k + k];
  g_autoptr(GPtrArray) taps = g_ptr_array_new_with_free_func(g_free);
  for (int k = 0; k < K; k++)
    g_ptr_array_add(taps, format_offset(k - K / 2));
  g_autoptr(GPtrArray) heads = g_ptr_array_new_with_free_func(g_free);
  for (int h = 0; h < H; h++)
    g_ptr_array_add(heads, g_strdup_printf("Head %d", h + 1));
  frontier_lsra_heatmap_set_axis_names(self->heatmap, "position", "tap");
  g_autofree char *title = g_strdup_printf("%s convolution kernels, layer %d, %d heads of %d taps", who, layer + 1, H,
                                           K);
  frontier_lsra_heatmap_set_title(self->heatmap, title);
  frontier_lsra_heatmap_set_data(self->heatmap, m, S, H, K, labels, (const char *const *)taps->pdata,
                                 (const char *const *)heads->pdata);
  g_autofree char *cap = g_strdup_printf(
    "Row i: the %d-tap kernel the dynamic convolution predicted at source token i, per head (one block each), in "
    "layer %d; tap 0 is the token itself, −1 the one before. The kernels are normalised over the taps and only "
    "see the local context: the attention branch handles the long range.",
    K, layer + 1);
  gtk_label_set_text(self->heat_caption, cap);
}

static void
heat_changed_cb(FrontierLsraPage *self)
{
  if (!self->heat_updating)
    update_heatmap(self);
}

static void
branch_toggled_cb(FrontierLsraPage *self, GtkToggleButton *button)
{
  if (gtk_toggle_button_get_active(button))
    update_heatmap(self);
}

/* ---- translating ---- */

struct _TranslateTask {
  Model *models[N_ARCH];     /* may be NULL */
  char *text;
  int beam;
  guint serial;
  gint cancel;
  FrLsraTranslation *out[N_ARCH];
  char *errors[N_ARCH];
  FrLsraInspect *inspect[N_ARCH];
  char **pieces;
  int n_pieces;
};

static void
translate_task_free(gpointer data)
{
  TranslateTask *t = data;
  for (int a = 0; a < N_ARCH; a++) {
    model_unref(t->models[a]);
    if (t->out[a] != NULL)
      fr_lsra_translation_free(t->out[a]);
    g_free(t->errors[a]);
    if (t->inspect[a] != NULL)
      fr_lsra_inspect_free(t->inspect[a]);
  }
  g_free(t->text);
  g_strfreev(t->pieces);
  g_free(t);
}

static void
translate_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  TranslateTask *t = data;
  FrLsraSearchOpts opts;
  fr_lsra_search_opts_init(&opts);
  opts.beam = t->beam;
  opts.cancel = &t->cancel;
  for (int a = 0; a < N_ARCH; a++) {
    Model *m = t->models[a];
    if (m == NULL)
      continue;
    if (g_atomic_int_get(&t->cancel))
      break;
    GError *error = NULL;
    t->out[a] = fr_lsra_translate(m->tr, t->text, &opts, &error);
    if (t->out[a] == NULL) {
      t->errors[a] = g_strdup(error != NULL ? error->message : "unknown error");
      g_clear_error(&error);
      continue;
    }
    if (t->out[a]->n_src <= 0 || g_atomic_int_get(&t->cancel))
      continue;
    /* Where the encoder looks, for the heatmap; nothing shown when it fails. */
    t->inspect[a] = fr_lsra_model_inspect(fr_lsra_translator_model(m->tr), t->out[a]->src_ids, t->out[a]->n_src,
                                          &error);
    if (t->inspect[a] == NULL) {
      g_debug("lsra inspect %s: %s", m->name, error != NULL ? error->message : "failed");
      g_clear_error(&error);
    }
    if (t->pieces == NULL) {
      const FrLsraBpe *bpe = fr_lsra_translator_bpe(m->tr);
      int n = t->out[a]->n_src;
      t->pieces = g_new0(char *, n + 2);
      for (int i = 0; i < n; i++) {
        const char *p = fr_lsra_bpe_piece(bpe, t->out[a]->src_ids[i]);
        t->pieces[i] = g_strdup(p != NULL ? p : "?");
      }
      t->pieces[n] = g_strdup("</s>");
      t->n_pieces = n + 1;
    }
  }
  g_task_return_boolean(task, TRUE);
}

static void start_translation(FrontierLsraPage *self);

static void
translate_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierLsraPage *self = FRONTIER_LSRA_PAGE(source);
  TranslateTask *t = g_task_get_task_data(G_TASK(result));
  g_task_propagate_boolean(G_TASK(result), NULL);
  if (g_cancellable_is_cancelled(self->cancellable))
    return;
  self->running = NULL;
  if (t->serial == self->serial && !g_atomic_int_get(&t->cancel)) {
    clear_results(self);
    for (int a = 0; a < N_ARCH; a++) {
      self->results[a] = g_steal_pointer(&t->out[a]);
      self->result_errors[a] = g_steal_pointer(&t->errors[a]);
      self->inspect[a] = g_steal_pointer(&t->inspect[a]);
    }
    self->pieces = g_steal_pointer(&t->pieces);
    self->n_pieces = t->n_pieces;
    self->results_beam = t->beam;
    update_cards(self);
    update_heatmap(self);
    g_debug("lsra: %s %.1f ms, %s %.1f ms", t->models[0] != NULL ? t->models[0]->name : "-",
            self->results[0] != NULL ? self->results[0]->ms : NAN, t->models[1] != NULL ? t->models[1]->name : "-",
            self->results[1] != NULL ? self->results[1]->ms : NAN);
  }
  if (self->pending) {
    start_translation(self);
  } else if (self->debounce_id == 0) {
    set_busy(self, FALSE);
  }
}

static void
start_translation(FrontierLsraPage *self)
{
  self->pending = FALSE;
  if (input_blank(self) || !budget_has_model(self)) {
    set_busy(self, FALSE);
    return;
  }
  TranslateTask *t = g_new0(TranslateTask, 1);
  for (int a = 0; a < N_ARCH; a++)
    t->models[a] = model_ref(self->models[self->budget][a]);
  t->text = input_text(self);
  if (strlen(t->text) > MAX_INPUT_BYTES) {
    /* Cut at a character boundary: the engine still sees more than it takes and says it truncated. */
    const char *end = g_utf8_find_prev_char(t->text, t->text + MAX_INPUT_BYTES);
    t->text[end != NULL ? end - t->text : 0] = '\0';
  }
  t->beam = gtk_spin_button_get_value_as_int(self->beam_spin);
  t->serial = self->serial;
  self->running = t;
  set_busy(self, TRUE);
  GTask *task = g_task_new(self, self->cancellable, translate_done_cb, NULL);
  g_task_set_task_data(task, t, translate_task_free);
  g_task_run_in_thread(task, translate_thread);
  g_object_unref(task);
}

static gboolean
debounce_cb(gpointer data)
{
  FrontierLsraPage *self = data;
  self->debounce_id = 0;
  request_translation(self, FALSE);
  return G_SOURCE_REMOVE;
}

/* The input changed (text, beam or budget): translate now, or 300 ms after the last change. */
static void
request_translation(FrontierLsraPage *self, gboolean debounce)
{
  if (debounce) {
    if (self->debounce_id != 0)
      g_source_remove(self->debounce_id);
    self->debounce_id = g_timeout_add(DEBOUNCE_MS, debounce_cb, self);
    set_busy(self, !input_blank(self) && budget_has_model(self));
    return;
  }
  if (self->debounce_id != 0) {
    g_source_remove(self->debounce_id);
    self->debounce_id = 0;
  }
  if (self->running != NULL) {
    /* Its result would be stale: stop it early and start again when it returns. */
    g_atomic_int_set(&self->running->cancel, 1);
    self->pending = TRUE;
    return;
  }
  start_translation(self);
}

static void
input_changed(FrontierLsraPage *self, gboolean debounce)
{
  self->serial++;
  g_autofree char *text = input_text(self);
  self->blank = text_blank(text);
  if (input_blank(self)) {
    /* Nothing to translate: the hint at once, the results gone. */
    if (self->debounce_id != 0) {
      g_source_remove(self->debounce_id);
      self->debounce_id = 0;
    }
    if (self->running != NULL)
      g_atomic_int_set(&self->running->cancel, 1);
    self->pending = FALSE;
    clear_results(self);
    set_busy(self, FALSE);
    update_cards(self);
    update_heatmap(self);
    show_outputs_page(self);
    return;
  }
  show_outputs_page(self);
  if (self->pieces == NULL)
    update_heatmap(self); /* its placeholder: waiting, or no model */
  request_translation(self, debounce);
}

static void
buffer_changed_cb(GtkTextBuffer *buffer, FrontierLsraPage *self)
{
  input_changed(self, TRUE);
}

static void
beam_changed_cb(FrontierLsraPage *self)
{
  input_changed(self, TRUE);
}

/* The Profile menu names the budget's two models (the window's win.profile-model action). */
static void
update_profile_menu(FrontierLsraPage *self)
{
  GMenu *menu = g_menu_new();
  for (int a = 0; a < N_ARCH; a++) {
    char *label = g_strdup_printf("Profile the %s (%s)", arch_titles[a], model_names[self->budget][a]);
    GMenuItem *item = g_menu_item_new(label, NULL);
    g_menu_item_set_action_and_target_value(item, "win.profile-model", g_variant_new_string(model_names[self->budget][a]));
    g_menu_append_item(menu, item);
    g_object_unref(item);
    g_free(label);
  }
  gtk_menu_button_set_menu_model(self->profile_button, G_MENU_MODEL(menu));
  g_object_unref(menu);
}

static void
budget_toggled_cb(FrontierLsraPage *self, GtkToggleButton *button)
{
  if (!gtk_toggle_button_get_active(button))
    return;
  Budget b = button == self->budget_base ? BUDGET_BASE : BUDGET_SMALL;
  if (b == self->budget)
    return;
  self->budget = b;
  update_profile_menu(self);
  /* The other pair's translations would be shown under these names: gone until the new ones come. */
  clear_results(self);
  update_cards(self);
  update_heatmap(self);
  input_changed(self, FALSE);
}

/* ---- actions ---- */

static void
clear_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierLsraPage *self = FRONTIER_LSRA_PAGE(widget);
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->input_view), "", 0);
  gtk_widget_grab_focus(GTK_WIDGET(self->input_view));
}

static void
example_action(GtkWidget *widget, const char *action, GVariant *param)
{
  FrontierLsraPage *self = FRONTIER_LSRA_PAGE(widget);
  const char *text = examples[self->example_next % G_N_ELEMENTS(examples)];
  self->example_next++;
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->input_view), text, -1);
  gtk_widget_grab_focus(GTK_WIDGET(self->input_view)); /* to edit it */
}

/* ---- loading ---- */

typedef struct {
  Model *models[N_BUDGETS][N_ARCH];
  char *errors[N_BUDGETS][N_ARCH];
  Eval evals[N_BUDGETS][N_ARCH];
} LoadTask;

static void
load_task_free(gpointer data)
{
  LoadTask *t = data;
  for (int b = 0; b < N_BUDGETS; b++)
    for (int a = 0; a < N_ARCH; a++) {
      model_unref(t->models[b][a]);
      g_free(t->errors[b][a]);
      eval_clear(&t->evals[b][a]);
    }
  g_free(t);
}

static void
load_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  LoadTask *t = data;
  g_autofree char *bpe = fr_data_find("lsra/bpe.model");
  for (int b = 0; b < N_BUDGETS; b++)
    for (int a = 0; a < N_ARCH; a++) {
      const char *name = model_names[b][a];
      g_autofree char *rel = g_strdup_printf("lsra/eval-%s.json", name);
      g_autofree char *eval = fr_data_find(rel);
      t->evals[b][a].bleu = NAN;
      if (eval != NULL)
        eval_load(eval, &t->evals[b][a]);
      if (g_cancellable_is_cancelled(cancellable))
        continue;
      g_autofree char *file = g_strdup_printf("lsra/%s.safetensors", name);
      g_autofree char *path = fr_data_find(file);
      if (path == NULL) {
        t->errors[b][a] = g_strdup_printf("%s was not found", file);
        continue;
      }
      if (bpe == NULL) {
        t->errors[b][a] = g_strdup_printf("%s: lsra/bpe.model (its vocabulary) was not found", file);
        continue;
      }
      GError *error = NULL;
      FrLsraTranslator *tr = fr_lsra_translator_new_from_files(path, bpe, &error);
      if (tr == NULL) {
        t->errors[b][a] = g_strdup_printf("%s cannot be read: %s", file, error != NULL ? error->message : "unknown");
        g_clear_error(&error);
        continue;
      }
      Model *m = g_atomic_rc_box_new0(Model);
      m->tr = tr;
      m->name = g_strdup(name);
      FrLsraModel *fm = fr_lsra_translator_model(tr);
      m->cfg = *fr_lsra_model_config(fm);
      m->cfg.name = m->name;
      m->mult_adds = fr_lsra_translator_mult_adds(tr);
      m->params = fr_lsra_translator_params(tr);
      /* One untimed translation: the first one pays for cold caches and buffers. */
      FrLsraSearchOpts opts;
      fr_lsra_search_opts_init(&opts);
      opts.beam = 1;
      FrLsraTranslation *warm = fr_lsra_translate(tr, "Hello world.", &opts, NULL);
      if (warm != NULL)
        fr_lsra_translation_free(warm);
      t->models[b][a] = m;
    }
  g_task_return_boolean(task, TRUE);
}

static void
load_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrontierLsraPage *self = FRONTIER_LSRA_PAGE(source);
  LoadTask *t = g_task_get_task_data(G_TASK(result));
  g_task_propagate_boolean(G_TASK(result), NULL);
  if (g_cancellable_is_cancelled(self->cancellable))
    return;
  self->loading = FALSE;
  for (int b = 0; b < N_BUDGETS; b++)
    for (int a = 0; a < N_ARCH; a++) {
      g_clear_pointer(&self->models[b][a], model_unref);
      self->models[b][a] = g_steal_pointer(&t->models[b][a]);
      g_free(self->errors[b][a]);
      self->errors[b][a] = g_steal_pointer(&t->errors[b][a]);
      eval_clear(&self->evals[b][a]);
      self->evals[b][a] = t->evals[b][a];
      t->evals[b][a].per_source = NULL;
    }
  clear_results(self);
  update_messages(self);
  update_cards(self);
  update_heatmap(self);
  fill_chart(self);
  show_outputs_page(self);
  input_changed(self, FALSE);
}

static void
load_models(FrontierLsraPage *self)
{
  if (self->loading)
    return;
  self->loading = TRUE;
  update_messages(self);
  LoadTask *t = g_new0(LoadTask, 1);
  GTask *task = g_task_new(self, self->cancellable, load_done_cb, NULL);
  g_task_set_task_data(task, t, load_task_free);
  g_task_run_in_thread(task, load_thread);
  g_object_unref(task);
}

static void
reload_action(GtkWidget *widget, const char *action, GVariant *param)
{
  load_models(FRONTIER_LSRA_PAGE(widget));
}

/* ---- lifetime ---- */

/* Ready to type into as soon as the page shows (Alt+4, or the page restored at start-up), unless the
 * focus is on the sidebar row of this page: a keyboard user walking through the pages, or a click. */
static gboolean
focus_input_idle(gpointer data)
{
  FrontierLsraPage *self = data;
  self->focus_idle_id = 0;
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  if (root == NULL || !gtk_widget_get_mapped(GTK_WIDGET(self)))
    return G_SOURCE_REMOVE;
  /* Focus inside the page now was put there by the stack (its first focusable widget), not by the user. */
  GtkWidget *focus = gtk_root_get_focus(root);
  GtkWidget *row = focus != NULL ? gtk_widget_get_ancestor(focus, GTK_TYPE_LIST_BOX_ROW) : NULL;
  if (row != NULL && gtk_list_box_row_is_selected(GTK_LIST_BOX_ROW(row)))
    return G_SOURCE_REMOVE;
  gtk_widget_grab_focus(GTK_WIDGET(self->input_view));
  return G_SOURCE_REMOVE;
}

static void
page_map_cb(FrontierLsraPage *self)
{
  /* After the window has settled its own focus (start-up picks one when it maps). */
  if (self->focus_idle_id == 0)
    self->focus_idle_id = g_idle_add(focus_input_idle, self);
  if (self->loaded_once)
    return;
  self->loaded_once = TRUE;
  load_models(self);
}

static void
frontier_lsra_page_dispose(GObject *object)
{
  FrontierLsraPage *self = FRONTIER_LSRA_PAGE(object);
  if (self->debounce_id != 0) {
    g_source_remove(self->debounce_id);
    self->debounce_id = 0;
  }
  if (self->focus_idle_id != 0) {
    g_source_remove(self->focus_idle_id);
    self->focus_idle_id = 0;
  }
  g_cancellable_cancel(self->cancellable);
  /* A running translation stops early; its task holds its own references to the models. */
  if (self->running != NULL) {
    g_atomic_int_set(&self->running->cancel, 1);
    self->running = NULL;
  }
  if (self->input_view != NULL)
    g_signal_handlers_disconnect_by_data(gtk_text_view_get_buffer(self->input_view), self);
  gtk_widget_dispose_template(GTK_WIDGET(self), FRONTIER_TYPE_LSRA_PAGE);
  for (int b = 0; b < N_BUDGETS; b++)
    for (int a = 0; a < N_ARCH; a++)
      g_clear_pointer(&self->models[b][a], model_unref);
  clear_results(self);
  G_OBJECT_CLASS(frontier_lsra_page_parent_class)->dispose(object);
}

static void
frontier_lsra_page_finalize(GObject *object)
{
  FrontierLsraPage *self = FRONTIER_LSRA_PAGE(object);
  for (int b = 0; b < N_BUDGETS; b++)
    for (int a = 0; a < N_ARCH; a++) {
      g_free(self->errors[b][a]);
      eval_clear(&self->evals[b][a]);
    }
  g_free(self->outputs_a11y);
  g_clear_object(&self->cancellable);
  G_OBJECT_CLASS(frontier_lsra_page_parent_class)->finalize(object);
}

static void
frontier_lsra_page_class_init(FrontierLsraPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->dispose = frontier_lsra_page_dispose;
  object_class->finalize = frontier_lsra_page_finalize;

  g_type_ensure(FRONTIER_TYPE_COLUMNS);
  g_type_ensure(FRONTIER_TYPE_CHART);
  g_type_ensure(FRONTIER_TYPE_LSRA_HEATMAP);

  gtk_widget_class_set_template_from_resource(widget_class, "/org/frontier/Frontier/frontier-lsra-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child(widget_class, FrontierLsraPage, name)
  BIND(scroller);
  BIND(models_label);
  BIND(missing_revealer);
  BIND(missing_label);
  BIND(budget_small);
  BIND(profile_button);
  BIND(budget_base);
  BIND(beam_spin);
  BIND(beam_adjustment);
  BIND(input_view);
  BIND(input_status);
  BIND(notice_revealer);
  BIND(notice_label);
  BIND(busy_spinner);
  BIND(busy_label);
  BIND(outputs_stack);
  BIND(hint_title);
  BIND(hint_label);
  BIND(t_title);
  BIND(t_subtitle);
  BIND(t_text);
  BIND(t_latency);
  BIND(t_macs);
  BIND(t_params);
  BIND(t_bleu);
  BIND(l_title);
  BIND(l_subtitle);
  BIND(l_text);
  BIND(l_latency);
  BIND(l_macs);
  BIND(l_params);
  BIND(l_bleu);
  BIND(compare_label);
  BIND(heat_model_drop);
  BIND(branch_attn);
  BIND(branch_conv);
  BIND(layer_drop);
  BIND(head_drop);
  BIND(heatmap);
  BIND(heat_caption);
  BIND(chart);
  BIND(chart_caption);
  BIND(paper_label);
#undef BIND
  gtk_widget_class_bind_template_callback(widget_class, budget_toggled_cb);
  gtk_widget_class_bind_template_callback(widget_class, branch_toggled_cb);
  gtk_widget_class_bind_template_callback(widget_class, beam_changed_cb);
  gtk_widget_class_bind_template_callback(widget_class, heat_changed_cb);

  gtk_widget_class_install_action(widget_class, "lsra.clear", NULL, clear_action);
  gtk_widget_class_install_action(widget_class, "lsra.example", NULL, example_action);
  gtk_widget_class_install_action(widget_class, "lsra.reload", NULL, reload_action);

  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name(widget_class, "lsrapage");
}

static void
frontier_lsra_page_init(FrontierLsraPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->cancellable = g_cancellable_new();
  self->budget = BUDGET_SMALL;
  self->blank = TRUE;
  for (int b = 0; b < N_BUDGETS; b++)
    for (int a = 0; a < N_ARCH; a++) {
      self->evals[b][a].bleu = NAN;
      /* The configs are known without the files (Mult-Adds do not depend on the vocabulary). */
      self->have_config[b][a] = fr_lsra_config_mobile(model_names[b][a], 8000, &self->configs[b][a]);
    }
  g_signal_connect(gtk_text_view_get_buffer(self->input_view), "changed", G_CALLBACK(buffer_changed_cb), self);
  g_signal_connect(self->missing_revealer, "notify::child-revealed", G_CALLBACK(revealed_cb), NULL);
  g_signal_connect(self->notice_revealer, "notify::child-revealed", G_CALLBACK(revealed_cb), NULL);
  gtk_widget_set_visible(GTK_WIDGET(self->missing_revealer), FALSE);
  gtk_widget_set_visible(GTK_WIDGET(self->notice_revealer), FALSE);
  frontier_lsra_heatmap_set_describe_func(self->heatmap, heat_describe, self, NULL);

  /* The budget buttons say what they cost. */
  for (int b = 0; b < N_BUDGETS; b++) {
    if (!self->have_config[b][ARCH_TRANSFORMER] || !self->have_config[b][ARCH_LITE])
      continue;
    double m = (fr_lsra_mult_adds(&self->configs[b][ARCH_TRANSFORMER]) +
                fr_lsra_mult_adds(&self->configs[b][ARCH_LITE])) / 2;
    g_autofree char *label = g_strdup_printf("%s · %.0fM", b == BUDGET_SMALL ? "Small" : "Base", m / 1e6);
    GtkWidget *button = GTK_WIDGET(b == BUDGET_SMALL ? self->budget_small : self->budget_base);
    gtk_button_set_label(GTK_BUTTON(button), label);
    g_autofree char *mt = frontier_format_count(fr_lsra_mult_adds(&self->configs[b][ARCH_TRANSFORMER]));
    g_autofree char *ml = frontier_format_count(fr_lsra_mult_adds(&self->configs[b][ARCH_LITE]));
    g_autofree char *tip = g_strdup_printf("%s (%s Mult-Adds) against %s (%s Mult-Adds)",
                                           model_names[b][ARCH_TRANSFORMER], mt, model_names[b][ARCH_LITE], ml);
    gtk_widget_set_tooltip_text(button, tip);
    /* A new label renames the button for assistive technologies: keep the template's name. */
    gtk_accessible_update_property(GTK_ACCESSIBLE(button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   b == BUDGET_SMALL ? "Small budget" : "Base budget", -1);
  }
  self->budget = BUDGET_BASE; /* so that the toggle below counts as a change */
  budget_toggled_cb(self, self->budget_small);

  set_busy(self, FALSE);
  update_messages(self);
  update_cards(self);
  update_heatmap(self);
  fill_chart(self);
  fill_paper_note(self);
  show_outputs_page(self);
  /* The models are read when the page is first shown, not at start-up. */
  g_signal_connect_swapped(self, "map", G_CALLBACK(page_map_cb), self);
}

GtkWidget *
frontier_lsra_page_new(void)
{
  return g_object_new(FRONTIER_TYPE_LSRA_PAGE, NULL);
}
