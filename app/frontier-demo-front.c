/* frontier-demo-front.c: the student's budgets from front.json, reduced to their Pareto front. */
#include "frontier-demo.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>

void demo_format_count(double v, char *buf, size_t len) {
  if (v >= 1e9) g_snprintf(buf, len, "%.2fG", v / 1e9);
  else if (v >= 1e6) g_snprintf(buf, len, "%.2fM", v / 1e6);
  else if (v >= 1e3) g_snprintf(buf, len, "%.1fk", v / 1e3);
  else g_snprintf(buf, len, "%.0f", v);
}

static void candidate_init(DemoCandidate *c, const FrGanConfig *cfg, double fid, double acc) {
  c->cfg = *cfg;
  c->name = fr_gan_config_to_string(cfg);
  /* True MACs from the engine rather than the file, so the demo's numbers match what runs. */
  c->cost = fr_gan_cost(FR_GAN_MOBILE, cfg, 1, 1, FR_GAN_SIZE, FR_GAN_SIZE);
  c->fid_like = fid;
  c->accuracy = acc;
}

static const DemoCandidate *sort_base;

/* Fewer MACs first; on equal MACs the better (lower) FID-like first, unknown FID last. */
static int cmp_macs_then_fid(const void *a, const void *b) {
  const DemoCandidate *x = &sort_base[*(const int *)a], *y = &sort_base[*(const int *)b];
  if (x->cost.macs != y->cost.macs) return x->cost.macs < y->cost.macs ? -1 : 1;
  double fx = x->fid_like < 0 ? G_MAXDOUBLE : x->fid_like, fy = y->fid_like < 0 ? G_MAXDOUBLE : y->fid_like;
  return (fx > fy) - (fx < fy);
}

/* Sweep by MACs: a candidate is on the front when its FID-like beats every cheaper one. Without any
 * FID-like (uniform budgets) every distinct MACs count is its own budget. */
static void compute_front(DemoFront *f) {
  int *order = g_new(int, f->n_cand);
  for (int i = 0; i < f->n_cand; i++) order[i] = i;
  sort_base = f->cand;
  qsort(order, f->n_cand, sizeof *order, cmp_macs_then_fid);
  f->front = g_new(int, f->n_cand);
  f->n_front = 0;
  double best = G_MAXDOUBLE, last_macs = -1;
  for (int k = 0; k < f->n_cand; k++) {
    DemoCandidate *c = &f->cand[order[k]];
    gboolean keep = c->fid_like >= 0 ? c->fid_like < best : (best == G_MAXDOUBLE && c->cost.macs != last_macs);
    if (!keep) continue;
    if (c->fid_like >= 0) best = c->fid_like;
    last_macs = c->cost.macs;
    c->on_front = TRUE;
    f->front[f->n_front++] = order[k];
  }
  g_free(order);
}

static double member_double(JsonObject *o, const char *name) {
  JsonNode *n = json_object_get_member(o, name);
  if (!n || JSON_NODE_TYPE(n) != JSON_NODE_VALUE) return -1;
  GType t = json_node_get_value_type(n);
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64) return -1;
  return json_node_get_double(n);
}

/* One entry of "candidates"; FALSE with error when it is malformed, TRUE (and *fits FALSE) when it is
 * fine but wider than the supernet. */
static gboolean read_candidate(JsonNode *node, const FrGanConfig *max, DemoCandidate *out, gboolean *fits,
                               GError **error) {
  JsonObject *o = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
  const char *s = o ? json_object_get_string_member_with_default(o, "config", NULL) : NULL;
  if (!s) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "a candidate has no \"config\" string");
    return FALSE;
  }
  FrGanConfig cfg;
  if (!fr_gan_config_parse(s, &cfg, error)) return FALSE;
  *fits = fr_gan_config_fits(&cfg, max);
  if (*fits) candidate_init(out, &cfg, member_double(o, "fid_like"), member_double(o, "accuracy"));
  else fprintf(stderr, "frontier-demo: warning: candidate %s is wider than the supernet; left out\n", s);
  return TRUE;
}

static gboolean read_front(DemoFront *f, JsonNode *root, const FrGanConfig *max, GError **error) {
  JsonObject *o = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  JsonNode *arr = o ? json_object_get_member(o, "candidates") : NULL;
  if (!arr || !JSON_NODE_HOLDS_ARRAY(arr)) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "no \"candidates\" array");
    return FALSE;
  }
  JsonNode *teacher = json_object_get_member(o, "teacher");
  if (teacher && JSON_NODE_HOLDS_OBJECT(teacher)) f->teacher_fid = member_double(json_node_get_object(teacher), "fid_like");
  JsonArray *a = json_node_get_array(arr);
  int n = (int)json_array_get_length(a);
  f->cand = g_new0(DemoCandidate, MAX(n, 1));
  for (int i = 0; i < n; i++) {
    gboolean fits = FALSE;
    if (!read_candidate(json_array_get_element(a, i), max, &f->cand[f->n_cand], &fits, error)) {
      g_prefix_error(error, "candidate %d: ", i + 1);
      return FALSE;
    }
    if (fits) f->n_cand++;
  }
  if (f->n_cand == 0) {
    char *m = fr_gan_config_to_string(max);
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "no candidate fits the supernet (%s)", m);
    g_free(m);
    return FALSE;
  }
  return TRUE;
}

DemoFront *demo_front_load(const char *path, const FrGanConfig *supernet_max, GError **error) {
  DemoFront *f = g_new0(DemoFront, 1);
  f->teacher_fid = -1;
  f->from_file = TRUE;
  JsonParser *p = json_parser_new();
  gboolean ok = json_parser_load_from_file(p, path, error) &&
                read_front(f, json_parser_get_root(p), supernet_max, error);
  g_object_unref(p);
  if (!ok) {
    g_prefix_error(error, "%s: ", path);
    demo_front_free(f);
    return NULL;
  }
  compute_front(f);
  return f;
}

DemoFront *demo_front_uniform(const FrGanConfig *supernet_max) {
  DemoFront *f = g_new0(DemoFront, 1);
  f->teacher_fid = -1;
  int n = 0;
  const int *widths = fr_gan_width_options(supernet_max->ch[0], &n);
  f->cand = g_new0(DemoCandidate, MAX(n, 1));
  for (int i = 0; i < n; i++) {
    FrGanConfig c;
    fr_gan_config_uniform(&c, widths[i]);
    if (fr_gan_config_fits(&c, supernet_max)) candidate_init(&f->cand[f->n_cand++], &c, -1, -1);
  }
  compute_front(f);
  return f;
}

void demo_front_free(DemoFront *f) {
  if (!f) return;
  for (int i = 0; i < f->n_cand; i++) g_free(f->cand[i].name);
  g_free(f->cand);
  g_free(f->front);
  g_free(f);
}
