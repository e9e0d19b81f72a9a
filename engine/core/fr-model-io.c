#include "fr-model-io.h"
#include "fr-safetensors.h"

#include <string.h>

struct FrParamSet {
  GPtrArray *all;        /* FrTensor*, owned */
  GPtrArray *trainable;  /* borrowed */
};

FrParamSet *fr_param_set_new(void) {
  FrParamSet *s = g_new0(FrParamSet, 1);
  s->all = g_ptr_array_new_with_free_func((GDestroyNotify)fr_param_free);
  s->trainable = g_ptr_array_new();
  return s;
}

void fr_param_set_free(FrParamSet *s) {
  if (!s) return;
  g_ptr_array_unref(s->trainable);
  g_ptr_array_unref(s->all);
  g_free(s);
}

FrTensor *fr_param_set_add(FrParamSet *s, const char *name, int ndim, const int64_t *shape, gboolean trainable) {
  g_return_val_if_fail(fr_param_set_get(s, name) == NULL, NULL);
  FrTensor *p = fr_param_new(name, ndim, shape);
  p->requires_grad = trainable;
  g_ptr_array_add(s->all, p);
  if (trainable) g_ptr_array_add(s->trainable, p);
  return p;
}

int fr_param_set_len(const FrParamSet *s) { return (int)s->all->len; }
FrTensor *fr_param_set_nth(const FrParamSet *s, int i) { return g_ptr_array_index(s->all, i); }

FrTensor *fr_param_set_get(const FrParamSet *s, const char *name) {
  for (guint i = 0; i < s->all->len; i++) {
    FrTensor *p = g_ptr_array_index(s->all, i);
    if (strcmp(p->name, name) == 0) return p;
  }
  return NULL;
}

FrTensor **fr_param_set_trainable(FrParamSet *s, int *n) {
  *n = (int)s->trainable->len;
  return (FrTensor **)s->trainable->pdata;
}

size_t fr_param_set_count(const FrParamSet *s, gboolean trainable_only) {
  GPtrArray *a = trainable_only ? s->trainable : s->all;
  size_t total = 0;
  for (guint i = 0; i < a->len; i++) total += (size_t)fr_tensor_numel(g_ptr_array_index(a, i));
  return total;
}

gboolean fr_param_set_save(const FrParamSet *s, const char *path, const char *const *metadata, GError **error) {
  FrSafetensorsWriter *w = fr_safetensors_writer_new();
  for (guint i = 0; i < s->all->len; i++) {
    FrTensor *p = g_ptr_array_index(s->all, i);
    fr_safetensors_writer_add(w, p->name, FR_DTYPE_F32, p->ndim, p->shape, p->data);
  }
  for (int i = 0; metadata && metadata[i] && metadata[i + 1]; i += 2)
    fr_safetensors_writer_set_metadata(w, metadata[i], metadata[i + 1]);
  g_autofree char *dir = g_path_get_dirname(path);
  gboolean ok = g_mkdir_with_parents(dir, 0755) == 0;
  if (!ok) g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot create folder %s", dir);
  else ok = fr_safetensors_writer_save(w, path, error);
  fr_safetensors_writer_free(w);
  return ok;
}

gboolean fr_param_set_load(FrParamSet *s, const char *path, GHashTable **metadata_out, GError **error) {
  FrSafetensors *st = fr_safetensors_load(path, error);
  if (!st) return FALSE;
  /* read into scratch first so a failure halfway leaves the model as it was */
  GPtrArray *scratch = g_ptr_array_new_with_free_func(g_free);
  gboolean ok = TRUE;
  for (guint i = 0; i < s->all->len && ok; i++) {
    FrTensor *p = g_ptr_array_index(s->all, i);
    float *buf = g_new(float, fr_tensor_numel(p) ? fr_tensor_numel(p) : 1);
    g_ptr_array_add(scratch, buf);
    GError *e = NULL;
    if (!fr_safetensors_read_f32(st, p->name, p->ndim, p->shape, buf, &e)) {
      g_set_error(error, e->domain, e->code, "%s: %s", path, e->message);
      g_error_free(e);
      ok = FALSE;
    }
  }
  if (ok) {
    for (guint i = 0; i < s->all->len; i++) {
      FrTensor *p = g_ptr_array_index(s->all, i);
      memcpy(p->data, g_ptr_array_index(scratch, i), sizeof(float) * (size_t)fr_tensor_numel(p));
    }
    if (metadata_out) {
      /* the safetensors API exposes lookups only; copy the keys we know callers use */
      GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
      static const char *keys[] = { "format", "architecture", "config", "frontier.version", "command",
                                    "test_accuracy", "dataset", NULL };
      for (int k = 0; keys[k]; k++) {
        const char *v = fr_safetensors_get_metadata(st, keys[k]);
        if (v) g_hash_table_insert(h, g_strdup(keys[k]), g_strdup(v));
      }
      *metadata_out = h;
    }
  }
  g_ptr_array_unref(scratch);
  fr_safetensors_free(st);
  return ok;
}

#include "fr-config.h"

char *fr_data_find(const char *relpath) {
  const char *env = g_getenv("FR_DATA_DIR");
  const char *dirs[] = { env && *env ? env : NULL, FR_PKGDATADIR, FR_SOURCE_DATADIR };
  for (guint i = 0; i < G_N_ELEMENTS(dirs); i++) {
    if (!dirs[i]) continue;
    char *p = g_build_filename(dirs[i], relpath, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_REGULAR)) return p;
    g_free(p);
  }
  return NULL;
}

char *fr_data_default_output(const char *relpath) {
  const char *env = g_getenv("FR_DATA_DIR");
  return g_build_filename(env && *env ? env : FR_SOURCE_DATADIR, relpath, NULL);
}
