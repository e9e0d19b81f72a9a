/* English -> German translation with a model file and the joint BPE (see fr-lsra-translate.h). */
#include "fr-lsra-translate.h"
#include "fr-model-io.h"

#include <string.h>

struct FrLsraTranslator {
  FrLsraModel *m;
  FrLsraBpe *bpe;
  char *name;
};

static char *mobile_list(void) {
  return g_strjoinv(", ", (char **)fr_lsra_mobile_names());
}

FrLsraTranslator *fr_lsra_translator_load(const char *name, GError **error) {
  gboolean known = FALSE;
  for (const char *const *n = fr_lsra_mobile_names(); *n; n++) known |= !g_strcmp0(*n, name);
  if (!known) {
    char *list = mobile_list();
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "unknown translation model '%s' (one of: %s)",
                name ? name : "", list);
    g_free(list);
    return NULL;
  }
  char *rel = g_strdup_printf("lsra/%s.safetensors", name);
  char *model = fr_data_find(rel), *bpe = fr_data_find("lsra/bpe.model");
  FrLsraTranslator *t = NULL;
  if (!model) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_IO,
                "the translation model '%s' is not installed (no %s in the data folder; set FR_DATA_DIR or train "
                "it with `frontier-cli lsra train`)", name, rel);
  } else if (!bpe) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_IO,
                "the BPE vocabulary lsra/bpe.model is not in the data folder (set FR_DATA_DIR)");
  } else {
    t = fr_lsra_translator_new_from_files(model, bpe, error);
  }
  g_free(rel);
  g_free(model);
  g_free(bpe);
  return t;
}

FrLsraTranslator *fr_lsra_translator_new_from_files(const char *model_path, const char *bpe_path, GError **error) {
  g_return_val_if_fail(model_path && bpe_path, NULL);
  FrLsraModel *m = fr_lsra_model_load(model_path, NULL, error);
  if (!m) return NULL;
  GError *e = NULL;
  FrLsraBpe *bpe = fr_lsra_bpe_load(bpe_path, &e);
  if (!bpe) {
    /* the BPE's messages may not name the file */
    if (strstr(e->message, bpe_path)) g_propagate_error(error, e);
    else {
      g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_FORMAT, "%s: %s", bpe_path, e->message);
      g_error_free(e);
    }
    fr_lsra_model_free(m);
    return NULL;
  }
  if (fr_lsra_model_vocab(m) != fr_lsra_bpe_vocab_size(bpe)) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_FORMAT,
                "%s has a vocabulary of %d tokens but the BPE %s has %d: they do not belong together", model_path,
                fr_lsra_model_vocab(m), bpe_path, fr_lsra_bpe_vocab_size(bpe));
    fr_lsra_bpe_free(bpe);
    fr_lsra_model_free(m);
    return NULL;
  }
  FrLsraTranslator *t = g_new0(FrLsraTranslator, 1);
  t->m = m;
  t->bpe = bpe;
  const char *cname = fr_lsra_model_config(m)->name;
  if (cname && *cname) t->name = g_strdup(cname);
  else {
    char *base = g_path_get_basename(model_path);
    char *dot = strstr(base, ".safetensors");
    if (dot) *dot = '\0';
    t->name = base;
  }
  return t;
}

void fr_lsra_translator_free(FrLsraTranslator *t) {
  if (!t) return;
  fr_lsra_model_free(t->m);
  fr_lsra_bpe_free(t->bpe);
  g_free(t->name);
  g_free(t);
}

const char *fr_lsra_translator_name(const FrLsraTranslator *t) { return t->name; }
FrLsraModel *fr_lsra_translator_model(FrLsraTranslator *t) { return t->m; }
const FrLsraBpe *fr_lsra_translator_bpe(const FrLsraTranslator *t) { return t->bpe; }

double fr_lsra_translator_mult_adds(const FrLsraTranslator *t) {
  return fr_lsra_mult_adds(fr_lsra_model_config(t->m));
}

FrLsraParams fr_lsra_translator_params(const FrLsraTranslator *t) {
  return fr_lsra_params(fr_lsra_model_config(t->m));
}

int32_t *fr_lsra_translator_encode(const FrLsraTranslator *t, const char *text, int *n, gboolean *truncated,
                                   int *unknown) {
  GArray *ids = fr_lsra_bpe_encode(t->bpe, text ? text : "", -1);
  int len = (int)ids->len, unk = 0;
  gboolean cut = len > FR_LSRA_MAX_TOKENS - 1;
  if (cut) len = FR_LSRA_MAX_TOKENS - 1;
  const int32_t *p = (const int32_t *)(void *)ids->data;
  for (int i = 0; i < len; i++) unk += p[i] == FR_LSRA_BPE_UNK;
  int32_t *out = g_new(int32_t, MAX(len, 1));
  if (len) memcpy(out, p, sizeof(int32_t) * (size_t)len);
  g_array_unref(ids);
  *n = len;
  if (truncated) *truncated = cut;
  if (unknown) *unknown = unk;
  return out;
}

FrLsraTranslation *fr_lsra_translate(FrLsraTranslator *t, const char *text, const FrLsraSearchOpts *opts,
                                     GError **error) {
  g_return_val_if_fail(t != NULL, NULL);
  const gint64 t0 = g_get_monotonic_time();
  FrLsraTranslation *tr = g_new0(FrLsraTranslation, 1);
  tr->src_ids = fr_lsra_translator_encode(t, text, &tr->n_src, &tr->truncated, &tr->unknown);
  if (tr->n_src == 0) { /* whitespace only */
    tr->text = g_strdup("");
    tr->out_ids = g_new0(int32_t, 1);
    tr->ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
    return tr;
  }
  const int32_t *src = tr->src_ids;
  FrLsraHypothesis hyp = { 0 };
  if (!fr_lsra_search(t->m, 1, &src, &tr->n_src, opts, &hyp, error)) {
    fr_lsra_translation_free(tr);
    return NULL;
  }
  tr->out_ids = hyp.ids ? hyp.ids : g_new0(int32_t, 1);
  tr->n_out = hyp.n;
  tr->score = hyp.score;
  tr->text = fr_lsra_bpe_decode(t->bpe, tr->out_ids, (gsize)tr->n_out, error);
  if (!tr->text) {
    fr_lsra_translation_free(tr);
    return NULL;
  }
  tr->ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
  return tr;
}

void fr_lsra_translation_free(FrLsraTranslation *tr) {
  if (!tr) return;
  g_free(tr->text);
  g_free(tr->src_ids);
  g_free(tr->out_ids);
  g_free(tr);
}
