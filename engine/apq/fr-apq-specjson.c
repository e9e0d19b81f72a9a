/* fr-apq-specjson.c: APQ's [info, q_info] spec JSON, read strictly and written as Python's json.dump
 * would (so files diff cleanly against APQ's). */
#include "fr-apq-specjson.h"

#include <math.h>
#include <string.h>

/* Field names: "<group>_bits_setting" is APQ's, "<group>_bits" the test vectors'. */
static const char *const qgroup_keys[FR_APQ_N_QGROUPS] = {
  "pw_w_bits_setting", "pw_a_bits_setting", "dw_w_bits_setting", "dw_a_bits_setting",
};

/* The deepest depth option of the space; APQ uses it for every stage. */
static int depth_option_max(const FrApqSpace *s) {
  int hi = 0;
  for (int st = 0; st < s->n_stages; st++) hi = MAX(hi, s->stage_max_depth[st]);
  return hi;
}

/* A stage shorter than the smallest depth option (imagenet's last) accepts any option. */
static int depth_lo(const FrApqSpace *s, int st) { return MIN(s->depth_min, s->stage_max_depth[st]); }
static int depth_hi(const FrApqSpace *s, int st) {
  return s->stage_max_depth[st] < s->depth_min ? depth_option_max(s) : s->stage_max_depth[st];
}

/* ---- writing ---------------------------------------------------------------------------------- */

/* Python's repr of a float: the shortest digits that read back to the same double, ".0" if integral. */
static void append_py_float(GString *str, double v) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int prec = 1; prec <= 17; prec++) {
    char fmt[8];
    g_snprintf(fmt, sizeof fmt, "%%.%dg", prec);
    g_ascii_formatd(buf, sizeof buf, fmt, v);
    if (g_ascii_strtod(buf, NULL) == v) break;
  }
  g_string_append(str, buf);
  if (!strpbrk(buf, ".eEn")) g_string_append(str, ".0");
}

static void append_ints(GString *str, const char *key, const int *v, int n, const char *sep) {
  g_string_append_printf(str, "%s\"%s\": [", sep, key);
  for (int i = 0; i < n; i++) g_string_append_printf(str, "%s%d", i ? ", " : "", v[i]);
  g_string_append_c(str, ']');
}

char *fr_apq_spec_to_apq_json_string(const FrApqSpace *s, const FrApqSpec *spec, gboolean pretty) {
  const char *sep = pretty ? ",\n  " : ", ";
  GString *str = g_string_new(pretty ? "[{\n  \"wid\": null" : "[{\"wid\": null");
  append_ints(str, "ks", spec->ks, s->n_blocks, sep);
  g_string_append_printf(str, "%s\"e\": [", sep);
  for (int b = 0; b < s->n_blocks; b++) {
    if (b) g_string_append(str, ", ");
    append_py_float(str, (double)spec->mid[b] / s->blocks[b].cin);
  }
  g_string_append_c(str, ']');
  int d[FR_APQ_MAX_STAGES];
  for (int st = 0; st < s->n_stages; st++)
    d[st] = spec->depth[st] >= s->stage_max_depth[st] ? MAX(spec->depth[st], depth_hi(s, st)) : spec->depth[st];
  append_ints(str, "d", d, s->n_stages, sep);
  append_ints(str, "r", &s->in_hw, 1, sep);
  if (!spec->quantized) {
    g_string_append(str, pretty ? "\n}, null]\n" : "}, null]");
    return g_string_free(str, FALSE);
  }
  g_string_append(str, pretty ? "\n}, {" : "}, {");
  for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
    append_ints(str, qgroup_keys[q], spec->bits[q], s->n_blocks, q ? sep : pretty ? "\n  " : "");
  g_string_append(str, pretty ? "\n}]\n" : "}]");
  return g_string_free(str, FALSE);
}

JsonNode *fr_apq_spec_to_apq_json(const FrApqSpace *s, const FrApqSpec *spec) {
  g_autofree char *text = fr_apq_spec_to_apq_json_string(s, spec, FALSE);
  JsonNode *node = json_from_string(text, NULL);
  g_assert(node);
  return node;
}

gboolean fr_apq_spec_save_apq_json(const FrApqSpace *s, const FrApqSpec *spec, const char *path, GError **error) {
  g_autofree char *text = fr_apq_spec_to_apq_json_string(s, spec, TRUE);
  return g_file_set_contents(path, text, -1, error);
}

/* ---- reading ---------------------------------------------------------------------------------- */

enum { F_WID, F_KS, F_E, F_MID, F_D, F_R, F_BITS, N_FIELDS = F_BITS + FR_APQ_N_QGROUPS };

typedef struct {
  JsonNode *field[N_FIELDS];
  const char *name[N_FIELDS];   /* the key it was given under */
} Fields;

static int field_of(const char *key) {
  static const char *const plain[] = { "wid", "ks", "e", "mid_channels", "d", "r" };
  for (int i = 0; i < (int)G_N_ELEMENTS(plain); i++)
    if (!strcmp(key, plain[i])) return i;
  for (int q = 0; q < FR_APQ_N_QGROUPS; q++) {
    size_t n = strlen(fr_apq_qgroup_names[q]);
    if (!strcmp(key, qgroup_keys[q]) || (!strncmp(key, fr_apq_qgroup_names[q], n) && !strcmp(key + n, "_bits")))
      return F_BITS + q;
  }
  return -1;
}

static gboolean collect_fields(JsonObject *o, Fields *f, GError **error) {
  g_autoptr(GList) members = json_object_get_members(o);
  for (GList *m = members; m; m = m->next) {
    const char *key = m->data;
    int i = field_of(key);
    if (i < 0) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE,
                  "unknown field \"%s\" (known: wid, ks, e, mid_channels, d, r, and pw_w/pw_a/dw_w/dw_a as "
                  "<group>_bits_setting or <group>_bits)", key);
      return FALSE;
    }
    if (f->field[i]) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "\"%s\" and \"%s\" give the same field", f->name[i], key);
      return FALSE;
    }
    f->field[i] = json_object_get_member(o, key);
    f->name[i] = key;
  }
  return TRUE;
}

/* A JSON number, as a double; NULL node or another type is an error. */
static gboolean get_number(JsonNode *node, double *out) {
  if (!node || !JSON_NODE_HOLDS_VALUE(node)) return FALSE;
  GType t = json_node_get_value_type(node);
  if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE) return FALSE;
  *out = json_node_get_double(node);
  return isfinite(*out);
}

static JsonArray *get_list(const char *key, JsonNode *node, int n, const char *what, GError **error) {
  JsonArray *a = node && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
  if (!a) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s: expected a list of %d %s", key, n, what);
    return NULL;
  }
  if ((int)json_array_get_length(a) != n) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s: expected %d %s, got %u", key, n, what,
                json_array_get_length(a));
    return NULL;
  }
  return a;
}

static gboolean get_ints(const char *key, JsonNode *node, int n, int *out, GError **error) {
  JsonArray *a = get_list(key, node, n, "integers", error);
  if (!a) return FALSE;
  for (int i = 0; i < n; i++) {
    double v;
    if (!get_number(json_array_get_element(a, i), &v) || v != floor(v) || fabs(v) > 1e6) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s[%d]: not an integer", key, i);
      return FALSE;
    }
    out[i] = (int)v;
  }
  return TRUE;
}

/* Mid channels from APQ's expand ratios: e*cin must be (up to float rounding) one of the options. */
static gboolean mids_from_e(const FrApqSpace *s, const char *key, JsonNode *node, int *mid, GError **error) {
  JsonArray *a = get_list(key, node, s->n_blocks, "numbers", error);
  if (!a) return FALSE;
  for (int b = 0; b < s->n_blocks; b++) {
    const FrApqBlock *bl = &s->blocks[b];
    double e;
    if (!get_number(json_array_get_element(a, b), &e) || e <= 0) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "%s[%d]: not a positive number", key, b);
      return FALSE;
    }
    double x = e * bl->cin, m = round(x);
    gboolean ok = fabs(x - m) <= 1e-6 * MAX(m, 1);
    for (int i = 0; ok && i < bl->n_mid; i++) {
      if (bl->mid_options[i] == (int)m) break;
      ok = i + 1 < bl->n_mid;
    }
    if (!ok) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                  "%s[%d] = %g: %g x %d input channels = %g mid channels, not an option for block %d "
                  "(%d..%d in steps of %d)", key, b, e, e, bl->cin, x, b, bl->mid_options[0],
                  bl->mid_options[bl->n_mid - 1], bl->n_mid > 1 ? bl->mid_options[1] - bl->mid_options[0] : 0);
      return FALSE;
    }
    mid[b] = (int)m;
  }
  return TRUE;
}

static gboolean read_arch(const FrApqSpace *s, const Fields *f, FrApqSpec *spec, GError **error) {
  if (f->field[F_WID] && !JSON_NODE_HOLDS_NULL(f->field[F_WID])) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "wid: must be null (the space has no width choice)");
    return FALSE;
  }
  if (!f->field[F_KS] || !f->field[F_D] || (!f->field[F_E] && !f->field[F_MID])) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "a spec needs ks, d, and e (or mid_channels)");
    return FALSE;
  }
  if (!get_ints("ks", f->field[F_KS], s->n_blocks, spec->ks, error)) return FALSE;
  if (f->field[F_E] && !mids_from_e(s, f->name[F_E], f->field[F_E], spec->mid, error)) return FALSE;
  if (f->field[F_MID]) {
    int mid[FR_APQ_MAX_BLOCKS];
    if (!get_ints("mid_channels", f->field[F_MID], s->n_blocks, mid, error)) return FALSE;
    for (int b = 0; f->field[F_E] && b < s->n_blocks; b++)
      if (mid[b] != spec->mid[b]) {
        g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                    "mid_channels[%d] = %d but e[%d] gives %d", b, mid[b], b, spec->mid[b]);
        return FALSE;
      }
    memcpy(spec->mid, mid, sizeof mid);
  }
  if (!get_ints("d", f->field[F_D], s->n_stages, spec->depth, error)) return FALSE;
  for (int st = 0; st < s->n_stages; st++) {
    if (spec->depth[st] < depth_lo(s, st) || spec->depth[st] > depth_hi(s, st)) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC, "d[%d] = %d is outside %d..%d", st,
                  spec->depth[st], depth_lo(s, st), depth_hi(s, st));
      return FALSE;
    }
    spec->depth[st] = MIN(spec->depth[st], s->stage_max_depth[st]);
  }
  return TRUE;
}

/* "r": APQ's resolution list (OFA's elastic resolution, fixed here); a bare number is taken too. */
static gboolean check_resolution(const FrApqSpace *s, JsonNode *node, GError **error) {
  if (!node) return TRUE;
  JsonArray *a = JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
  guint n = a ? json_array_get_length(a) : 1;
  for (guint i = 0; i < n; i++) {
    double v;
    if (!get_number(a ? json_array_get_element(a, i) : node, &v) || v != s->in_hw || (a && n != 1)) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC, "r: must be [%d], the space's input size",
                  s->in_hw);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean read_bits(const FrApqSpace *s, const Fields *f, FrApqSpec *spec, GError **error) {
  int given = 0;
  for (int q = 0; q < FR_APQ_N_QGROUPS; q++) given += f->field[F_BITS + q] != NULL;
  if (given == 0) return TRUE;
  if (given != FR_APQ_N_QGROUPS) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE,
                "bits: give all four of pw_w, pw_a, dw_w, dw_a (_bits_setting) or none");
    return FALSE;
  }
  for (int q = 0; q < FR_APQ_N_QGROUPS; q++)
    if (!get_ints(f->name[F_BITS + q], f->field[F_BITS + q], s->n_blocks, spec->bits[q], error)) return FALSE;
  spec->quantized = true;
  return TRUE;
}

gboolean fr_apq_spec_from_apq_json(const FrApqSpace *s, JsonNode *node, FrApqSpec *out, GError **error) {
  Fields f = { { 0 } };
  JsonArray *a = node && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
  JsonNode *info = a && json_array_get_length(a) == 2 ? json_array_get_element(a, 0)
                 : node && JSON_NODE_HOLDS_OBJECT(node) ? node : NULL;
  JsonNode *q_info = a && json_array_get_length(a) == 2 ? json_array_get_element(a, 1) : NULL;
  if (!info || !JSON_NODE_HOLDS_OBJECT(info) || (q_info && !JSON_NODE_HOLDS_OBJECT(q_info) && !JSON_NODE_HOLDS_NULL(q_info))) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE,
                "an APQ spec is [info, q_info] (q_info an object or null) or one object with all fields");
    return FALSE;
  }
  if (!collect_fields(json_node_get_object(info), &f, error)) return FALSE;
  if (q_info && JSON_NODE_HOLDS_OBJECT(q_info) && !collect_fields(json_node_get_object(q_info), &f, error))
    return FALSE;
  FrApqSpec spec;
  memset(&spec, 0, sizeof spec);
  fr_apq_spec_set_bits(s, &spec, 0);
  if (!read_arch(s, &f, &spec, error) || !check_resolution(s, f.field[F_R], error) || !read_bits(s, &f, &spec, error) ||
      !fr_apq_spec_validate(s, &spec, error))
    return FALSE;
  *out = spec;
  return TRUE;
}

gboolean fr_apq_spec_from_apq_json_string(const FrApqSpace *s, const char *text, FrApqSpec *out, GError **error) {
  g_autoptr(JsonParser) parser = json_parser_new();
  GError *json_error = NULL;
  if (!json_parser_load_from_data(parser, text ? text : "", -1, &json_error)) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_PARSE, "not valid JSON: %s", json_error->message);
    g_error_free(json_error);
    return FALSE;
  }
  return fr_apq_spec_from_apq_json(s, json_parser_get_root(parser), out, error);
}

gboolean fr_apq_spec_load_apq_json(const FrApqSpace *s, const char *path, FrApqSpec *out, GError **error) {
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, error)) return FALSE;
  if (!fr_apq_spec_from_apq_json_string(s, text, out, error)) {
    g_prefix_error(error, "%s: ", path);
    return FALSE;
  }
  return TRUE;
}

gboolean fr_apq_spec_parse_any(const FrApqSpace *s, const char *text, FrApqSpec *out, GError **error) {
  const char *p = text ? text : "";
  while (g_ascii_isspace(*p)) p++;
  if (*p == '[' || *p == '{') return fr_apq_spec_from_apq_json_string(s, p, out, error);
  return fr_apq_spec_from_string(s, p, out, error);
}
