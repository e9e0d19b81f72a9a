/* Checkpoint reading shared by the trainers (see fr-checkpoint.h). */
#include "fr-checkpoint.h"
#include "fr-safetensors.h"

#include <string.h>

typedef struct {
  void *target;
  void *buf;
  size_t size;
} Staged;

struct FrCheckpointIn {
  char *path;
  FrSafetensors *st;
  gint64 step;
  GQuark domain;
  gint code_format;
  GArray *staged;   /* Staged */
};

static void staged_clear(gpointer p) { g_free(((Staged *)p)->buf); }

FrCheckpointIn *fr_checkpoint_in_open(const char *path, const char *format, const char *what, const char *run_id,
                                      gint64 max_step, GQuark domain, gint code_format, gint code_run,
                                      GError **error) {
  FrSafetensors *st = fr_safetensors_load(path, error);
  if (!st) return NULL;
  const char *fmt = fr_safetensors_get_metadata(st, "format"), *run = fr_safetensors_get_metadata(st, "run");
  const char *step_s = fr_safetensors_get_metadata(st, "step");
  char *end = NULL;
  gint64 saved = step_s ? g_ascii_strtoll(step_s, &end, 10) : -1;
  if (!fmt || strcmp(fmt, format) || !step_s || end == step_s || *end || saved < 0 ||
      (max_step >= 0 && saved > max_step)) {
    g_set_error(error, domain, code_format, "%s: not a Frontier %s checkpoint", path, what);
    fr_safetensors_free(st);
    return NULL;
  }
  if (!run || strcmp(run, run_id)) {
    g_set_error(error, domain, code_run,
                "%s: checkpoint of a different run (%s); use the same settings, or remove it to start anew", path,
                run ? run : "?");
    fr_safetensors_free(st);
    return NULL;
  }
  FrCheckpointIn *c = g_new0(FrCheckpointIn, 1);
  c->path = g_strdup(path);
  c->st = st;
  c->step = saved;
  c->domain = domain;
  c->code_format = code_format;
  c->staged = g_array_new(FALSE, FALSE, sizeof(Staged));
  g_array_set_clear_func(c->staged, staged_clear);
  return c;
}

void fr_checkpoint_in_free(FrCheckpointIn *c) {
  if (!c) return;
  g_array_free(c->staged, TRUE);
  fr_safetensors_free(c->st);
  g_free(c->path);
  g_free(c);
}

gint64 fr_checkpoint_in_step(const FrCheckpointIn *c) { return c->step; }

const char *fr_checkpoint_in_metadata(const FrCheckpointIn *c, const char *key) {
  return fr_safetensors_get_metadata(c->st, key);
}

gboolean fr_checkpoint_in_take(FrCheckpointIn *c, const char *name, const FrTensor *like, float *target,
                               GError **error) {
  Staged s = { target, NULL, sizeof(float) * (size_t)fr_tensor_numel(like) };
  s.buf = g_malloc(MAX(s.size, 1));
  if (!fr_safetensors_read_f32(c->st, name, like->ndim, like->shape, s.buf, error)) {
    g_free(s.buf);
    g_prefix_error(error, "%s: ", c->path);
    return FALSE;
  }
  g_array_append_val(c->staged, s);
  return TRUE;
}

gboolean fr_checkpoint_in_take_f64(FrCheckpointIn *c, const char *name, int64_t n, double *target, GError **error) {
  const FrSafeTensor *t = fr_safetensors_get(c->st, name);
  if (!t || t->dtype != FR_DTYPE_F64 || t->ndim != 1 || t->shape[0] != n) {
    g_set_error(error, c->domain, c->code_format, "%s: no %s of %" G_GINT64_FORMAT " doubles", c->path, name, n);
    return FALSE;
  }
  Staged s = { target, g_memdup2(t->data, sizeof(double) * (size_t)n), sizeof(double) * (size_t)n };
  g_array_append_val(c->staged, s);
  return TRUE;
}

gboolean fr_checkpoint_in_take_optim(FrCheckpointIn *c, const char *prefix, FrOptim *opt, FrTensor *const *params,
                                     int n, GError **error) {
  gboolean ok = TRUE;
  for (int i = 0; ok && i < n; i++)
    for (int which = 0; ok && which < 2; which++) {
      char *name = g_strdup_printf("%s%s.%s", prefix, which ? "v" : "m", params[i]->name);
      ok = fr_checkpoint_in_take(c, name, params[i], fr_optim_state(opt, i, which), error);
      g_free(name);
    }
  return ok;
}

FrSafetensorsWriter *fr_checkpoint_writer_new(const char *format, const char *run_id, gint64 step) {
  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  char step_s[32];
  g_snprintf(step_s, sizeof step_s, "%" G_GINT64_FORMAT, step);
  fr_safetensors_writer_set_metadata(w, "format", format);
  fr_safetensors_writer_set_metadata(w, "run", run_id);
  fr_safetensors_writer_set_metadata(w, "step", step_s);
  return w;
}

void fr_checkpoint_add_optim(FrSafetensorsWriter *w, const char *prefix, FrOptim *opt, FrTensor *const *params, int n) {
  for (int i = 0; i < n; i++)
    for (int which = 0; which < 2; which++) {
      char *name = g_strdup_printf("%s%s.%s", prefix, which ? "v" : "m", params[i]->name);
      fr_safetensors_writer_add(w, name, FR_DTYPE_F32, params[i]->ndim, params[i]->shape, fr_optim_state(opt, i, which));
      g_free(name);
    }
}

void fr_checkpoint_in_commit(FrCheckpointIn *c) {
  for (guint i = 0; i < c->staged->len; i++) {
    Staged *s = &g_array_index(c->staged, Staged, i);
    if (s->size) memcpy(s->target, s->buf, s->size);
  }
}
