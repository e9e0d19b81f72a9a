/* A translation model on the dev sets (see fr-lsra-eval.h). */
#include "fr-lsra-eval.h"
#include "fr-model-io.h"
#include "fr-pool.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const shipped_dev[] = { "gettext", "ddtp", "ding", NULL };

void fr_lsra_eval_opts_init(FrLsraEvalOpts *o) {
  memset(o, 0, sizeof *o);
  o->batch = 32;
  fr_lsra_search_opts_init(&o->search);
}

void fr_lsra_eval_result_clear(FrLsraEvalResult *r) {
  if (!r) return;
  for (int i = 0; i < r->n_sets; i++) {
    g_free(r->sets[i].name);
    g_free(r->sets[i].path);
  }
  g_free(r->sets);
  g_free(r->model);
  memset(r, 0, sizeof *r);
}

FrLsraTranslator *fr_lsra_translator_open(const char *name_or_path, const char *bpe_path, GError **error) {
  if (!name_or_path || !*name_or_path) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "no model given");
    return NULL;
  }
  const gboolean is_path = strchr(name_or_path, '/') || g_str_has_suffix(name_or_path, ".safetensors");
  if (!is_path && !bpe_path) return fr_lsra_translator_load(name_or_path, error);
  char *model = NULL;
  if (is_path) {
    if (!g_file_test(name_or_path, G_FILE_TEST_IS_REGULAR)) {
      g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_IO, "%s: no such model file", name_or_path);
      return NULL;
    }
    model = g_strdup(name_or_path);
  } else {
    FrLsraConfig c;
    if (!fr_lsra_config_mobile(name_or_path, 8, &c)) return fr_lsra_translator_load(name_or_path, error);
    char *rel = g_strdup_printf("lsra/%s.safetensors", name_or_path);
    model = fr_data_find(rel);
    g_free(rel);
    if (!model) return fr_lsra_translator_load(name_or_path, error); /* its error names what is missing */
  }
  char *bpe = bpe_path ? g_strdup(bpe_path) : fr_data_find("lsra/bpe.model");
  FrLsraTranslator *t = NULL;
  if (!bpe) g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_IO,
                        "the BPE vocabulary lsra/bpe.model is not in the data folder (set FR_DATA_DIR or pass one)");
  else if (!g_file_test(bpe, G_FILE_TEST_IS_REGULAR))
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_IO, "%s: no such BPE model", bpe);
  else t = fr_lsra_translator_new_from_files(model, bpe, error);
  g_free(model);
  g_free(bpe);
  return t;
}

/* ---- reading a dev set ---- */

typedef struct {
  GPtrArray *src, *ref;    /* char *, owned */
} Pairs;

static gboolean read_pairs(const char *path, int limit, Pairs *p, GError **error) {
  char *data = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &data, &len, &e)) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_IO, "%s", e->message);
    g_error_free(e);
    return FALSE;
  }
  p->src = g_ptr_array_new_with_free_func(g_free);
  p->ref = g_ptr_array_new_with_free_func(g_free);
  char *line = data, *end = data + len;
  int lineno = 0;
  gboolean ok = TRUE;
  while (line < end && (limit <= 0 || (int)p->src->len < limit)) {
    char *nl = memchr(line, '\n', (size_t)(end - line));
    char *stop = nl ? nl : end;
    lineno++;
    if (stop > line && stop[-1] == '\r') stop[-1] = '\0';
    *stop = '\0';
    if (*line) {
      char *tab = strchr(line, '\t');
      if (!tab) {
        g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_FORMAT, "%s: line %d: expected English<TAB>German", path,
                    lineno);
        ok = FALSE;
        break;
      }
      *tab = '\0';
      char *de = tab + 1, *tab2 = strchr(de, '\t');
      if (tab2) *tab2 = '\0';
      g_ptr_array_add(p->src, g_utf8_make_valid(line, -1));
      g_ptr_array_add(p->ref, g_utf8_make_valid(de, -1));
    }
    line = stop + 1;
  }
  g_free(data);
  if (ok && p->src->len == 0) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_FORMAT, "%s: no sentence pairs", path);
    ok = FALSE;
  }
  if (!ok) {
    g_ptr_array_unref(p->src);
    g_ptr_array_unref(p->ref);
    p->src = p->ref = NULL;
  }
  return ok;
}

static char *set_name(const char *path) {
  char *base = g_path_get_basename(path);
  char *name = NULL;
  if (g_str_has_prefix(base, "dev.") || g_str_has_prefix(base, "test.")) {
    const char *s = strchr(base, '.') + 1, *dot = strchr(s, '.');
    name = dot ? g_strndup(s, (gsize)(dot - s)) : g_strdup(s);
  } else {
    const char *dot = strchr(base, '.');
    name = dot && dot != base ? g_strndup(base, (gsize)(dot - base)) : g_strdup(base);
  }
  g_free(base);
  return name;
}

/* ---- tokenised BLEU: 13a tokens, hyphenated compounds split as compound_split_bleu.sh does ---- */

static char *compound_split(const char *line) {
  char *tok = fr_lsra_bleu_tokenize_13a(line);
  GString *s = g_string_sized_new(strlen(tok) + 16);
  const size_t n = strlen(tok);
  for (size_t i = 0; i < n; i++) {
    if (tok[i] == '-' && i > 0 && i + 1 < n && tok[i - 1] != ' ' && tok[i + 1] != ' ')
      g_string_append(s, " ##AT##-##AT## ");
    else g_string_append_c(s, tok[i]);
  }
  g_free(tok);
  return g_string_free(s, FALSE);
}

/* ---- evaluation ---- */

typedef struct {
  int idx, len;
} ByLen;

static int by_len_desc(const void *a, const void *b) {
  const ByLen *x = a, *y = b;
  if (x->len != y->len) return x->len > y->len ? -1 : 1;
  return x->idx - y->idx;
}

static gboolean write_hyps(const char *dir, const char *name, char **hyps, int n, GError **error) {
  if (g_mkdir_with_parents(dir, 0755) != 0) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_IO, "%s: %s", dir, g_strerror(errno));
    return FALSE;
  }
  GString *s = g_string_new(NULL);
  for (int i = 0; i < n; i++) {
    g_string_append(s, hyps[i]);
    g_string_append_c(s, '\n');
  }
  char *file = g_strdup_printf("%s.hyp.txt", name), *path = g_build_filename(dir, file, NULL);
  GError *e = NULL;
  gboolean ok = g_file_set_contents(path, s->str, (gssize)s->len, &e);
  if (!ok) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_IO, "%s", e->message);
    g_error_free(e);
  }
  g_free(file);
  g_free(path);
  g_string_free(s, TRUE);
  return ok;
}

gboolean fr_lsra_eval_run(FrLsraTranslator *t, const FrLsraEvalOpts *o, FrLsraEvalProgress progress,
                          gpointer user_data, FrLsraEvalResult *out, GError **error) {
  g_return_val_if_fail(t != NULL && out != NULL, FALSE);
  memset(out, 0, sizeof *out);
  FrLsraEvalOpts defaults;
  if (!o) {
    fr_lsra_eval_opts_init(&defaults);
    o = &defaults;
  }
  const int batch = o->batch > 0 ? o->batch : 32;
  if (o->search.beam < 1) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "beam %d: must be at least 1", o->search.beam);
    return FALSE;
  }

  /* the files */
  GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
  if (o->dev) {
    for (char **p = o->dev; *p; p++) g_ptr_array_add(paths, g_strdup(*p));
  } else {
    for (const char *const *s = shipped_dev; *s; s++) {
      char *rel = g_strdup_printf("lsra/dev.%s.en-de.tsv", *s), *p = fr_data_find(rel);
      if (!p) {
        g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_IO, "the dev set %s is not in the data folder (set FR_DATA_DIR)",
                    rel);
        g_free(rel);
        g_ptr_array_unref(paths);
        return FALSE;
      }
      g_free(rel);
      g_ptr_array_add(paths, p);
    }
  }
  if (paths->len == 0) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "no dev sets given");
    g_ptr_array_unref(paths);
    return FALSE;
  }
  const int n_sets = (int)paths->len;
  Pairs *pairs = g_new0(Pairs, n_sets);
  int total = 0;
  gboolean ok = TRUE;
  for (int s = 0; s < n_sets && ok; s++) {
    ok = read_pairs(paths->pdata[s], o->limit, &pairs[s], error);
    if (ok) total += (int)pairs[s].src->len;
  }

  const FrLsraBpe *bpe = fr_lsra_translator_bpe(t);
  FrLsraModel *m = fr_lsra_translator_model(t);
  out->model = g_strdup(fr_lsra_translator_name(t));
  out->n_sets = n_sets;
  out->sets = g_new0(FrLsraEvalSet, n_sets);
  out->mult_adds = fr_lsra_translator_mult_adds(t);
  out->params = fr_lsra_translator_params(t);
  out->beam = o->search.beam;
  out->batch = batch;
  out->threads = fr_pool_get_threads();
  FrLsraBleuStats all = { 0 }, all_tok = { 0 };
  int done = 0;

  for (int s = 0; s < n_sets && ok; s++) {
    FrLsraEvalSet *es = &out->sets[s];
    es->path = g_strdup(paths->pdata[s]);
    es->name = set_name(es->path);
    const int n = (int)pairs[s].src->len;
    es->sentences = n;
    char **hyps = g_new0(char *, n + 1);
    int32_t **ids = g_new0(int32_t *, n);
    int *lens = g_new0(int, n);
    ByLen *order = g_new(ByLen, n);
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < n; i++) {
      gboolean cut = FALSE;
      int unk = 0;
      ids[i] = fr_lsra_translator_encode(t, pairs[s].src->pdata[i], &lens[i], &cut, &unk);
      es->truncated += cut;
      es->unknown += unk;
      es->src_tokens += lens[i];
      order[i] = (ByLen){ i, lens[i] };
    }
    qsort(order, (size_t)n, sizeof *order, by_len_desc);
    double busy = (double)(g_get_monotonic_time() - t0) / 1e6;
    FrLsraHypothesis *hyp = g_new0(FrLsraHypothesis, batch);
    const int32_t **src = g_new(const int32_t *, batch);
    int *slen = g_new(int, batch);
    for (int b0 = 0; b0 < n && ok; b0 += batch) {
      const int nb = MIN(batch, n - b0);
      t0 = g_get_monotonic_time();
      int k = 0;
      for (int j = 0; j < nb; j++) {
        const int i = order[b0 + j].idx;
        if (lens[i] == 0) { /* whitespace only: an empty translation, as fr_lsra_translate gives */
          hyps[i] = g_strdup("");
          continue;
        }
        src[k] = ids[i];
        slen[k] = lens[i];
        k++;
      }
      if (k > 0) ok = fr_lsra_search(m, k, src, slen, &o->search, hyp, error);
      for (int j = 0, q = 0; ok && j < nb; j++) {
        const int i = order[b0 + j].idx;
        if (lens[i] == 0) continue;
        hyps[i] = fr_lsra_bpe_decode(bpe, hyp[q].ids, (gsize)hyp[q].n, error);
        if (!hyps[i]) ok = FALSE;
        es->out_tokens += hyp[q].n + 1;
        q++;
      }
      for (int q = 0; q < k; q++) fr_lsra_hypothesis_clear(&hyp[q]);
      busy += (double)(g_get_monotonic_time() - t0) / 1e6;
      done += nb;
      if (ok && progress) {
        char *msg = g_strdup_printf("%s: %d of %d sentences, %.0f tokens/s", es->name, MIN(b0 + nb, n), n,
                                    busy > 0 ? (double)es->out_tokens / busy : 0.0);
        gboolean go_on = progress((double)done / total, msg, user_data);
        g_free(msg);
        if (!go_on) {
          g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "evaluation cancelled");
          ok = FALSE;
        }
      }
    }
    es->seconds = busy;
    if (ok) {
      FrLsraBleuStats st = { 0 }, st_tok = { 0 };
      for (int i = 0; i < n; i++) {
        const char *ref = pairs[s].ref->pdata[i];
        fr_lsra_bleu_stats_add(&st, hyps[i], ref, FR_LSRA_BLEU_TOK_13A);
        char *h = compound_split(hyps[i]), *r = compound_split(ref);
        fr_lsra_bleu_stats_add(&st_tok, h, r, FR_LSRA_BLEU_TOK_NONE);
        g_free(h);
        g_free(r);
      }
      fr_lsra_bleu_compute(&st, FALSE, &es->bleu);
      fr_lsra_bleu_compute(&st_tok, FALSE, &es->bleu_tok);
      for (int k = 0; k < FR_LSRA_BLEU_ORDER; k++) {
        all.correct[k] += st.correct[k];
        all.total[k] += st.total[k];
        all_tok.correct[k] += st_tok.correct[k];
        all_tok.total[k] += st_tok.total[k];
      }
      all.sys_len += st.sys_len;
      all.ref_len += st.ref_len;
      all_tok.sys_len += st_tok.sys_len;
      all_tok.ref_len += st_tok.ref_len;
      out->sentences += n;
      out->out_tokens += es->out_tokens;
      out->seconds += es->seconds;
      if (o->hyp_dir) ok = write_hyps(o->hyp_dir, es->name, hyps, n, error);
    }
    for (int i = 0; i < n; i++) g_free(ids[i]);
    g_free(ids);
    g_free(lens);
    g_free(order);
    g_free(hyp);
    g_free(src);
    g_free(slen);
    for (int i = 0; i < n; i++) g_free(hyps[i]);
    g_free(hyps);
  }
  if (ok) {
    fr_lsra_bleu_compute(&all, FALSE, &out->bleu);
    fr_lsra_bleu_compute(&all_tok, FALSE, &out->bleu_tok);
    out->tokens_per_second = out->seconds > 0 ? (double)out->out_tokens / out->seconds : 0;
  } else {
    fr_lsra_eval_result_clear(out);
  }
  for (int s = 0; s < n_sets; s++) {
    if (pairs[s].src) g_ptr_array_unref(pairs[s].src);
    if (pairs[s].ref) g_ptr_array_unref(pairs[s].ref);
  }
  g_free(pairs);
  g_ptr_array_unref(paths);
  return ok;
}

/* ---- JSON ---- */

static void jd(JsonBuilder *b, const char *k, double v) {
  json_builder_set_member_name(b, k);
  json_builder_add_double_value(b, isfinite(v) ? v : 0.0);
}

static void ji(JsonBuilder *b, const char *k, gint64 v) {
  json_builder_set_member_name(b, k);
  json_builder_add_int_value(b, v);
}

static void bleu_detail(JsonBuilder *b, const char *k, const FrLsraBleu *bl) {
  json_builder_set_member_name(b, k);
  json_builder_begin_object(b);
  jd(b, "bleu", bl->bleu);
  jd(b, "bp", bl->bp);
  json_builder_set_member_name(b, "precisions");
  json_builder_begin_array(b);
  for (int i = 0; i < FR_LSRA_BLEU_ORDER; i++) json_builder_add_double_value(b, bl->precisions[i]);
  json_builder_end_array(b);
  ji(b, "sys_len", bl->stats.sys_len);
  ji(b, "ref_len", bl->stats.ref_len);
  json_builder_end_object(b);
}

char *fr_lsra_eval_result_to_json(const FrLsraEvalResult *r) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "model");
  json_builder_add_string_value(b, r->model ? r->model : "");
  jd(b, "bleu", r->bleu.bleu);
  jd(b, "bleu_tok", r->bleu_tok.bleu);
  bleu_detail(b, "sacrebleu", &r->bleu);
  bleu_detail(b, "tokenized", &r->bleu_tok);
  json_builder_set_member_name(b, "per_source");
  json_builder_begin_object(b);
  for (int s = 0; s < r->n_sets; s++) {
    const FrLsraEvalSet *e = &r->sets[s];
    json_builder_set_member_name(b, e->name);
    json_builder_begin_object(b);
    jd(b, "bleu", e->bleu.bleu);
    jd(b, "bleu_tok", e->bleu_tok.bleu);
    jd(b, "bp", e->bleu.bp);
    ji(b, "sys_len", e->bleu.stats.sys_len);
    ji(b, "ref_len", e->bleu.stats.ref_len);
    ji(b, "sentences", e->sentences);
    ji(b, "source_tokens", e->src_tokens);
    ji(b, "output_tokens", e->out_tokens);
    ji(b, "truncated", e->truncated);
    ji(b, "unknown", e->unknown);
    jd(b, "seconds", e->seconds);
    jd(b, "tokens_per_second", e->seconds > 0 ? (double)e->out_tokens / e->seconds : 0.0);
    json_builder_set_member_name(b, "path");
    json_builder_add_string_value(b, e->path);
    json_builder_end_object(b);
  }
  json_builder_end_object(b);
  ji(b, "sentences", r->sentences);
  ji(b, "output_tokens", r->out_tokens);
  jd(b, "seconds", r->seconds);
  jd(b, "tokens_per_second", r->tokens_per_second);
  jd(b, "macs", r->mult_adds);
  ji(b, "params", r->params.body);
  ji(b, "params_total", r->params.total);
  ji(b, "beam", r->beam);
  ji(b, "batch", r->batch);
  ji(b, "threads", r->threads);
  json_builder_end_object(b);
  JsonGenerator *gen = json_generator_new();
  JsonNode *root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  char *s = json_generator_to_data(gen, NULL);
  json_node_unref(root);
  g_object_unref(gen);
  g_object_unref(b);
  return s;
}

/* ---- the job ---- */

typedef struct {
  char *model, *bpe, *hyp_dir;
  char **dev;
  FrLsraEvalOpts opts;
  gint cancel;
  FrJob *job;
  gboolean stop_watch;
} EvalJob;

static void eval_job_free(gpointer p) {
  EvalJob *j = p;
  g_free(j->model);
  g_free(j->bpe);
  g_free(j->hyp_dir);
  g_strfreev(j->dev);
  g_free(j);
}

/* fr_job_cancel sets the job's flag; the search reads a plain flag every step: relay it */
static gpointer watch_cancel(gpointer p) {
  EvalJob *j = p;
  while (!g_atomic_int_get(&j->stop_watch)) {
    if (fr_job_is_cancelled(j->job)) {
      g_atomic_int_set(&j->cancel, 1);
      break;
    }
    g_usleep(20000);
  }
  return NULL;
}

static gboolean on_progress(double fraction, const char *message, gpointer data) {
  EvalJob *j = data;
  fr_job_progress(j->job, fraction, "%s", message);
  return !fr_job_is_cancelled(j->job);
}

static gboolean eval_job(FrJob *job, gpointer data, GError **error) {
  EvalJob *j = data;
  j->job = job;
  GError *e = NULL;
  fr_job_progress(job, 0, "loading %s", j->model);
  FrLsraTranslator *t = fr_lsra_translator_open(j->model, j->bpe, &e);
  if (!t) {
    g_set_error_literal(error, FR_JOB_ERROR,
                        g_error_matches(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID) ? FR_JOB_ERROR_INVALID_ARGUMENT
                                                                                  : FR_JOB_ERROR_FAILED,
                        e->message);
    g_error_free(e);
    return FALSE;
  }
  j->opts.search.cancel = &j->cancel;
  GThread *watcher = g_thread_new("lsra-eval-cancel", watch_cancel, j);
  FrLsraEvalResult r;
  gboolean ok = fr_lsra_eval_run(t, &j->opts, on_progress, j, &r, &e);
  g_atomic_int_set(&j->stop_watch, 1);
  g_thread_join(watcher);
  fr_lsra_translator_free(t);
  if (!ok) {
    const gboolean cancel = g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    const gboolean usage = g_error_matches(e, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID);
    g_set_error_literal(error, FR_JOB_ERROR,
                        cancel ? FR_JOB_ERROR_CANCELLED : usage ? FR_JOB_ERROR_INVALID_ARGUMENT : FR_JOB_ERROR_FAILED,
                        e->message);
    g_error_free(e);
    return FALSE;
  }
  char *json = fr_lsra_eval_result_to_json(&r);
  char *msg = g_strdup_printf("%s: BLEU %.2f (tokenised %.2f) on %d sentences, %.0f tokens/s", r.model, r.bleu.bleu,
                              r.bleu_tok.bleu, r.sentences, r.tokens_per_second);
  fr_job_progress(job, 1.0, "%s", msg);
  fr_job_emit(job, "lsra.eval.result", g_variant_new("(s)", json), msg);
  g_free(msg);
  g_free(json);
  fr_lsra_eval_result_clear(&r);
  return TRUE;
}

FrJob *fr_lsra_eval_job_start(const char *name_or_path, const char *bpe_path, const FrLsraEvalOpts *o) {
  EvalJob *j = g_new0(EvalJob, 1);
  j->model = g_strdup(name_or_path);
  j->bpe = g_strdup(bpe_path);
  if (o) j->opts = *o;
  else fr_lsra_eval_opts_init(&j->opts);
  j->hyp_dir = g_strdup(j->opts.hyp_dir);
  j->dev = j->opts.dev ? g_strdupv(j->opts.dev) : NULL;
  j->opts.hyp_dir = j->hyp_dir;
  j->opts.dev = j->dev;
  return fr_job_start("lsra-eval", eval_job, j, eval_job_free);
}
