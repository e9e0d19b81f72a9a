/* fr-profile-targets.c: see fr-profile-targets.h. */
#include "fr-profile-targets.h"
#include "fr-apq-space.h"
#include "fr-apq-supernet.h"
#include "fr-classifier.h"
#include "fr-gan.h"
#include "fr-lsra-bpe.h"
#include "fr-lsra-model.h"
#include "fr-model-io.h"
#include "fr-mtx.h"
#include "fr-pool.h"
#include "fr-sparse-gen.h"
#include "fr-spgemm.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK(fr-profile-error-quark, fr_profile_error)

static const FrProfileTargetInfo targets[] = {
  { "classifier", "classifier", "Fashion-MNIST CNN (shipped weights), 28x28 images", 64 },
  { "apq", "apq", "APQ fmnist-mini: the shipped QAT candidate (qat-100M), fake-quantized", 1 },
  { "apq-qat-100M", "apq", "APQ fmnist-mini QAT candidate under 100M BitOps", 1 },
  { "apq-qat-120M", "apq", "APQ fmnist-mini QAT candidate under 120M BitOps", 1 },
  { "apq-qat-150M", "apq", "APQ fmnist-mini QAT candidate under 150M BitOps", 1 },
  { "apq-largest", "apq", "APQ fmnist-mini largest subnet, full precision", 1 },
  { "apq-smallest", "apq", "APQ fmnist-mini smallest subnet, full precision", 1 },
  { "gan-teacher", "gan", "GAN miniature: ResNet teacher ngf 16, 1x32x32", 1 },
  { "gan-student-10x", "gan", "GAN miniature: the shipped 10x student, 1x32x32", 1 },
  { "gan-student-20x", "gan", "GAN miniature: the shipped 20x student, 1x32x32", 1 },
  { "gan-supernet", "gan", "GAN miniature: the once-for-all mobile supernet (widest), 1x32x32", 1 },
  { "gan-resnet-ngf64-256", "gan", "GAN Compression paper scale: ResNet ngf 64, 3x256x256 (random weights)", 1 },
  { "gan-compressed-256", "gan", "GAN Compression paper scale: edges2shoes student 32_32_48_32_48_48_16_16, 3x256x256", 1 },
  { "transformer-small", "lsra", "Transformer d 72: encoder + 24 greedy decoder steps (random weights)", 1 },
  { "lite-small", "lsra", "Lite Transformer d 112: encoder + 24 greedy decoder steps (random weights)", 1 },
  { "transformer", "lsra", "Transformer d 128: encoder + 24 greedy decoder steps (random weights)", 1 },
  { "lite", "lsra", "Lite Transformer d 200: encoder + 24 greedy decoder steps (random weights)", 1 },
  { "spgemm:MATRIX", "spgemm", "CPU SpGEMM C = A·A (default wiki-Vote; a shipped name, a file or rmat:...)", 0 },
};

const FrProfileTargetInfo *fr_profile_targets(int *n) {
  *n = (int)G_N_ELEMENTS(targets);
  return targets;
}

typedef enum { T_CLASSIFIER, T_APQ, T_GAN, T_LSRA, T_SPGEMM } Kind;

#define LSRA_TOKENS 24

struct _FrProfileModel {
  Kind kind;
  char *name, *description;
  int batch;
  double macs;
  FrGraph *g;                 /* for the models run on a graph of ours */
  float *x;                   /* the input */
  float *out;
  /* classifier */
  FrClassifier *cls;
  /* apq */
  FrApqSupernet *apq;
  FrApqBnStats *bn;
  FrApqSpec spec;
  /* gan */
  FrGanGenerator *gan;
  int in_c, size;
  /* lsra */
  FrLsraModel *lsra;
  int32_t **src;
  int *src_len;
  int32_t *tokens;
  /* spgemm */
  FrCsr *a;
};

static float *random_floats(size_t n, float lo, float hi, guint64 seed) {
  float *x = g_new(float, n);
  FrRng rng;
  fr_rng_seed(&rng, seed);
  for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)fr_rng_uniform(&rng);
  return x;
}

static FrGraph *inference_graph(void) {
  FrGraph *g = fr_graph_new(0);
  g->grad_enabled = false;
  g->training = false;
  fr_graph_set_profiler(g, NULL, NULL);   /* not the thread's default: attached per run */
  return g;
}

/* ---- builders ---------------------------------------------------------------------------------- */

static gboolean build_classifier(FrProfileModel *m, GError **error) {
  char *path = fr_data_find("classifier/classifier.safetensors");
  if (path) {
    m->cls = fr_classifier_load(path, error);
    if (!m->cls) {
      g_free(path);
      return FALSE;
    }
  } else {
    m->cls = fr_classifier_new(1);
  }
  m->x = random_floats((size_t)m->batch * 28 * 28, 0, 1, 7);
  m->out = g_new(float, (size_t)m->batch * 10);
  /* conv 1->16 and 16->32 3x3 at 28 and 14, fc 1568->128->10 */
  m->macs = (double)m->batch * (28.0 * 28 * 16 * 9 + 14.0 * 14 * 32 * 16 * 9 + 1568.0 * 128 + 128.0 * 10);
  m->description = g_strdup_printf("Fashion-MNIST classifier (%s), batch %d of 1x28x28", path ? "shipped" : "random weights",
                                   m->batch);
  g_free(path);
  return TRUE;
}

static gboolean apq_qat_spec(const FrApqSpace *s, const char *which, FrApqSpec *spec, GError **error) {
  char *rel = g_strdup_printf("apq/qat-%s.json", which);
  char *path = fr_data_find(rel);
  g_free(rel);
  if (!path) {
    g_set_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_LOAD, "data/apq/qat-%s.json is not there", which);
    return FALSE;
  }
  JsonParser *p = json_parser_new();
  gboolean ok = json_parser_load_from_file(p, path, error);
  if (ok) {
    JsonNode *root = json_parser_get_root(p);
    const char *text = JSON_NODE_HOLDS_OBJECT(root)
                         ? json_object_get_string_member_with_default(json_node_get_object(root), "spec", NULL)
                         : NULL;
    if (!text) {
      g_set_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_LOAD, "%s has no \"spec\"", path);
      ok = FALSE;
    } else {
      ok = fr_apq_spec_from_string(s, text, spec, error);
    }
  }
  g_object_unref(p);
  g_free(path);
  return ok;
}

static gboolean build_apq(FrProfileModel *m, GError **error) {
  const FrApqSpace *s = fr_apq_space_fmnist_mini();
  const char *which = !strcmp(m->name, "apq") ? "qat-100M" : m->name + 4;
  if (!strcmp(which, "largest")) fr_apq_spec_largest(s, 0, &m->spec);
  else if (!strcmp(which, "smallest")) fr_apq_spec_smallest(s, 0, &m->spec);
  else if (g_str_has_prefix(which, "qat-")) {
    if (!apq_qat_spec(s, which + 4, &m->spec, error)) return FALSE;
  } else {
    g_set_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_UNKNOWN_TARGET, "unknown APQ target \"%s\"", m->name);
    return FALSE;
  }
  char *path = fr_data_find("apq/supernet.safetensors");
  m->apq = path ? fr_apq_supernet_load(path, NULL) : NULL;
  if (!m->apq) m->apq = fr_apq_supernet_new(s, 1);
  m->bn = fr_apq_bn_stats_new(m->apq);
  m->x = random_floats((size_t)m->batch * s->in_channels * s->in_hw * s->in_hw, -1.5f, 2.5f, 7);
  m->g = inference_graph();
  m->macs = m->batch * fr_apq_spec_macs(s, &m->spec);
  char *spec = fr_apq_spec_to_string(s, &m->spec);
  m->description = g_strdup_printf("APQ fmnist-mini %s (%s), batch %d: %s", which,
                                   m->spec.quantized ? "fake-quantized" : "full precision", m->batch, spec);
  g_free(spec);
  g_free(path);
  return TRUE;
}

static gboolean build_gan(FrProfileModel *m, GError **error) {
  const char *n = m->name + 4;
  FrGanConfig cfg;
  m->in_c = 1;
  m->size = FR_GAN_SIZE;
  const char *file = NULL, *what = NULL;
  if (!strcmp(n, "resnet-ngf64-256") || !strcmp(n, "compressed-256")) {
    gboolean teacher = n[0] == 'r';
    fr_gan_config_parse(teacher ? "64_64_64_64_64_64_64_64" : "32_32_48_32_48_48_16_16", &cfg, NULL);
    m->gan = fr_gan_generator_new(teacher ? FR_GAN_RESNET : FR_GAN_MOBILE, &cfg, 3, 3, 1);
    m->in_c = 3;
    m->size = 256;
    what = "random weights";
  } else {
    if (!strcmp(n, "teacher")) file = "gan/teacher.safetensors";
    else if (!strcmp(n, "supernet")) file = "gan/supernet.safetensors";
    else if (!strcmp(n, "student-10x")) file = "gan/student-10x.safetensors";
    else if (!strcmp(n, "student-20x")) file = "gan/student-20x.safetensors";
    else {
      g_set_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_UNKNOWN_TARGET, "unknown GAN target \"%s\"", m->name);
      return FALSE;
    }
    char *path = fr_data_find(file);
    if (path) {
      m->gan = fr_gan_generator_load(path, error);
      g_free(path);
      if (!m->gan) return FALSE;
      what = "shipped";
    } else if (!strcmp(n, "teacher") || !strcmp(n, "supernet")) {
      fr_gan_config_uniform(&cfg, 16);
      m->gan = fr_gan_generator_new(n[0] == 't' ? FR_GAN_RESNET : FR_GAN_MOBILE, &cfg, 1, 1, 1);
      what = "random weights";
    } else {
      g_set_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_LOAD, "data/%s is not there", file);
      return FALSE;
    }
  }
  const FrGanConfig *c = fr_gan_generator_max(m->gan);
  FrGanKind kind = fr_gan_generator_kind(m->gan);
  m->macs = m->batch * fr_gan_cost(kind, c, m->in_c, m->in_c, m->size, m->size).macs;
  m->x = random_floats((size_t)m->batch * m->in_c * m->size * m->size, -1, 1, 7);
  m->g = inference_graph();
  char *cs = fr_gan_config_to_string(c);
  m->description = g_strdup_printf("%s generator %s (%s), batch %d of %dx%dx%d", kind == FR_GAN_RESNET ? "ResNet" : "mobile",
                                   cs, what, m->batch, m->in_c, m->size, m->size);
  g_free(cs);
  return TRUE;
}

static gboolean build_lsra(FrProfileModel *m, GError **error) {
  int vocab = 8000;
  char *bpe_path = fr_data_find("lsra/bpe.model");
  if (bpe_path) {
    FrLsraBpe *bpe = fr_lsra_bpe_load(bpe_path, NULL);
    if (bpe) vocab = fr_lsra_bpe_vocab_size(bpe);
    fr_lsra_bpe_free(bpe);
    g_free(bpe_path);
  }
  FrLsraConfig cfg;
  if (!fr_lsra_config_mobile(m->name, vocab, &cfg)) {
    g_set_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_UNKNOWN_TARGET, "unknown translation model \"%s\"", m->name);
    return FALSE;
  }
  m->lsra = fr_lsra_model_new(&cfg, error);
  if (!m->lsra) return FALSE;
  fr_lsra_model_init(m->lsra, 1);
  FrRng rng;
  fr_rng_seed(&rng, 7);
  m->src = g_new(int32_t *, m->batch);
  m->src_len = g_new(int, m->batch);
  for (int i = 0; i < m->batch; i++) {
    m->src_len[i] = LSRA_TOKENS - 1;   /* </s> is appended */
    m->src[i] = g_new(int32_t, LSRA_TOKENS);
    for (int t = 0; t < LSRA_TOKENS; t++) m->src[i][t] = 4 + (int32_t)(fr_rng_uniform(&rng) * (vocab - 4));
  }
  m->tokens = g_new(int32_t, m->batch);
  m->out = g_new(float, (size_t)m->batch * vocab);
  m->macs = NAN;
  m->description = g_strdup_printf("%s (d %d, vocab %d, random weights): encoder over %d sentence%s of %d tokens, then %d "
                                   "greedy decoder steps", m->name, cfg.d_model, vocab, m->batch, m->batch == 1 ? "" : "s",
                                   LSRA_TOKENS, LSRA_TOKENS);
  return TRUE;
}

static gboolean build_spgemm(FrProfileModel *m, GError **error) {
  const char *spec = m->name[6] == ':' ? m->name + 7 : "wiki-Vote";
  char *path = NULL;
  if (g_file_test(spec, G_FILE_TEST_EXISTS)) path = g_strdup(spec);
  else if (!strchr(spec, ':') && !strchr(spec, '/')) {
    char *rel = g_strdup_printf("matrices/%s.mtx.gz", spec);
    path = fr_data_find(rel);
    g_free(rel);
  }
  if (path) m->a = fr_mtx_load(path, NULL, error);
  else if (strchr(spec, ':')) m->a = fr_sparse_generate(spec, 1, error);
  else
    g_set_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_LOAD,
                "no matrix \"%s\": give a shipped name (wiki-Vote, email-Enron ...), a file or a generator spec", spec);
  g_free(path);
  if (!m->a) return FALSE;
  if (m->a->nrows != m->a->ncols) {
    g_set_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_INVALID, "%s is not square: A·A needs a square matrix", spec);
    return FALSE;
  }
  m->macs = (double)fr_spgemm_count_multiplies(m->a, m->a);
  m->batch = 1;
  m->description = g_strdup_printf("C = A·A, A = %s (%lld x %lld, %lld nonzeros)", spec, (long long)m->a->nrows,
                                   (long long)m->a->ncols, (long long)m->a->nnz);
  return TRUE;
}

FrProfileModel *fr_profile_model_new(const char *name, int batch, GError **error) {
  g_return_val_if_fail(name != NULL, NULL);
  FrProfileModel *m = g_new0(FrProfileModel, 1);
  m->name = g_strdup(name);
  int default_batch = 1;
  for (guint i = 0; i < G_N_ELEMENTS(targets); i++)
    if (!strcmp(targets[i].name, name)) default_batch = targets[i].default_batch;
  m->batch = batch > 0 ? batch : MAX(default_batch, 1);
  if (batch < 0 || batch > 4096) {
    g_set_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_INVALID, "batch %d is out of range (1..4096)", batch);
    fr_profile_model_free(m);
    return NULL;
  }
  gboolean ok;
  if (!strcmp(name, "classifier")) m->kind = T_CLASSIFIER, ok = build_classifier(m, error);
  else if (!strcmp(name, "apq") || g_str_has_prefix(name, "apq-")) m->kind = T_APQ, ok = build_apq(m, error);
  else if (g_str_has_prefix(name, "gan-")) m->kind = T_GAN, ok = build_gan(m, error);
  else if (!strcmp(name, "spgemm") || g_str_has_prefix(name, "spgemm:")) m->kind = T_SPGEMM, ok = build_spgemm(m, error);
  else {
    m->kind = T_LSRA;
    ok = FALSE;
    for (const char *const *l = fr_lsra_mobile_names(); *l; l++)
      if (!strcmp(*l, name)) ok = TRUE;
    if (ok) ok = build_lsra(m, error);
    else
      g_set_error(error, FR_PROFILE_ERROR, FR_PROFILE_ERROR_UNKNOWN_TARGET,
                  "unknown profile target \"%s\" (`frontier-cli profile` lists them)", name);
  }
  if (!ok) {
    fr_profile_model_free(m);
    return NULL;
  }
  return m;
}

void fr_profile_model_free(FrProfileModel *m) {
  if (!m) return;
  fr_graph_free(m->g);
  if (m->cls) fr_classifier_free(m->cls);
  if (m->bn) fr_apq_bn_stats_free(m->bn);
  if (m->apq) fr_apq_supernet_free(m->apq);
  if (m->gan) fr_gan_generator_free(m->gan);
  if (m->lsra) fr_lsra_model_free(m->lsra);
  if (m->src)
    for (int i = 0; i < m->batch; i++) g_free(m->src[i]);
  g_free(m->src);
  g_free(m->src_len);
  g_free(m->tokens);
  if (m->a) fr_csr_free(m->a);
  g_free(m->x);
  g_free(m->out);
  g_free(m->name);
  g_free(m->description);
  g_free(m);
}

const char *fr_profile_model_name(const FrProfileModel *m) { return m->name; }
const char *fr_profile_model_description(const FrProfileModel *m) { return m->description; }
int fr_profile_model_batch(const FrProfileModel *m) { return m->batch; }
double fr_profile_model_macs(const FrProfileModel *m) { return m->macs; }

/* ---- runs -------------------------------------------------------------------------------------- */

static void run_lsra(FrProfileModel *m, FrProfiler *p) {
  const int vocab = fr_lsra_model_vocab(m->lsra);
  (void)p; /* the model names its own layers (encoder/layerN/..., decoder/layerN/..., output) */
  FrLsraDecoder *d = fr_lsra_decoder_new(m->lsra, m->batch, (const int32_t *const *)m->src, m->src_len, 1, LSRA_TOKENS, NULL);
  g_assert(d);
  for (int i = 0; i < m->batch; i++) m->tokens[i] = FR_LSRA_BPE_EOS;   /* fairseq starts the target with </s> */
  for (int s = 0; s < LSRA_TOKENS; s++) {
    gboolean ok = fr_lsra_decoder_step(d, m->tokens, m->out);
    if (!ok) break;
    for (int h = 0; h < m->batch; h++) {   /* greedy, never stopping early: the same work every run */
      const float *row = m->out + (size_t)h * vocab;
      int best = 4;
      for (int v = 5; v < vocab; v++)
        if (row[v] > row[best]) best = v;
      m->tokens[h] = best;
    }
  }
  fr_lsra_decoder_free(d);
}

static void run_spgemm(FrProfileModel *m, FrProfiler *p) {
  FrProfClock t0;
  fr_prof_clock_read(&t0);
  FrSpgemmStats st;
  FrCsr *c = fr_spgemm(m->a, m->a, 0, &st, NULL);
  g_assert(c);
  if (p) {
    /* what the product touches by its shapes: A once, one B entry (column + value) per multiply, C once */
    double a_bytes = 12.0 * (double)m->a->nnz + 8.0 * (double)(m->a->nrows + 1);
    double c_bytes = 12.0 * (double)c->nnz + 8.0 * (double)(c->nrows + 1);
    char shape[64];
    g_snprintf(shape, sizeof shape, "[%lld,%lld] nnz %lld", (long long)c->nrows, (long long)c->ncols, (long long)c->nnz);
    fr_profiler_add(p, "spgemm", NULL, shape, &t0, (double)st.multiplies, a_bytes + 12.0 * (double)st.multiplies, c_bytes);
    fr_prof_clock_read(&t0);
  }
  fr_csr_free(c);
  if (p) fr_profiler_add(p, "free_c", NULL, NULL, &t0, 0, 0, 0);
}

void fr_profile_model_run(FrProfileModel *m, FrProfiler *p) {
  if (m->g) {
    fr_graph_reset(m->g);
    if (p) fr_profiler_attach(p, m->g);
    else fr_graph_set_profiler(m->g, NULL, NULL);
  }
  fr_profiler_set_thread_default(p);
  switch (m->kind) {
  case T_CLASSIFIER:
    fr_classifier_forward(m->cls, m->x, m->batch, m->out, NULL);
    break;
  case T_APQ: {
    const FrApqSpace *s = fr_apq_supernet_space(m->apq);
    FrTensor *x = fr_tensor_wrap(m->g, 4, FR_SHAPE(m->batch, s->in_channels, s->in_hw, s->in_hw), m->x);
    fr_apq_supernet_forward(m->apq, m->g, x, &m->spec, m->bn, 0.0f);
    break;
  }
  case T_GAN: {
    FrTensor *x = fr_tensor_wrap(m->g, 4, FR_SHAPE(m->batch, m->in_c, m->size, m->size), m->x);
    fr_gan_generator_forward(m->gan, m->g, x, NULL, NULL);
    break;
  }
  case T_LSRA:
    run_lsra(m, p);
    break;
  case T_SPGEMM:
    run_spgemm(m, p);
    break;
  }
  fr_profiler_set_thread_default(NULL);
  if (m->g) fr_graph_set_profiler(m->g, NULL, NULL);
}

/* ---- the profile ------------------------------------------------------------------------------- */

void fr_profile_config_init(FrProfileConfig *c) {
  memset(c, 0, sizeof *c);
  c->runs = 5;
  c->warmup = 2;
  c->roofline = TRUE;
}

static gboolean cancelled(FrJob *job, GError **error) {
  if (job && fr_job_is_cancelled(job)) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "profile cancelled");
    return TRUE;
  }
  return FALSE;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* sorts v */
static double median_of(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

FrProfileResult *fr_profile_run(const FrProfileConfig *c, FrJob *job, GError **error) {
  if (!c->target || c->runs < 1 || c->runs > 10000 || c->warmup < 0 || c->threads < 0) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "profile: %s",
                !c->target ? "no target" : "runs must be 1..10000, warm-up and threads >= 0");
    return NULL;
  }
  int old_threads = fr_pool_get_threads();
  if (c->threads > 0) fr_pool_set_threads(c->threads);
  int threads = fr_pool_get_threads();
  FrProfileResult *result = NULL;
  if (job) fr_job_progress(job, 0, "profile %s: building the model", c->target);
  FrProfileModel *m = fr_profile_model_new(c->target, c->batch, error);
  if (!m) {
    if (error && *error) {   /* as job errors: bad names and sizes are usage errors, the rest failures */
      gboolean usage = (*error)->domain == FR_PROFILE_ERROR && (*error)->code != FR_PROFILE_ERROR_LOAD;
      (*error)->domain = FR_JOB_ERROR;
      (*error)->code = usage ? FR_JOB_ERROR_INVALID_ARGUMENT : FR_JOB_ERROR_FAILED;
    }
    fr_pool_set_threads(old_threads);
    return NULL;
  }
  FrRoofline roof;
  if (c->roofline) {
    if (job) fr_job_progress(job, 0, "profile %s: this machine's ceilings", c->target);
    fr_roofline_get(c->roofline_cache, threads, c->remeasure_roofline, &roof);
  }
  gboolean old_clocks = fr_graph_get_profile_cpu_clocks();
  fr_graph_set_profile_cpu_clocks(!c->wall_only);
  FrProfiler *p = fr_profiler_new();
  const int total = c->warmup + c->runs;
  double *plain = g_new0(double, c->runs), *plain_cpu = g_new0(double, c->runs), *prof_cpu = g_new0(double, c->runs);
  gboolean ok = TRUE;
  for (int i = 0; i < total && ok; i++) {
    if (cancelled(job, error)) {
      ok = FALSE;
      break;
    }
    gboolean timed = i >= c->warmup;
    int k = i - c->warmup;
    double ms = 0;
    /* with --overhead, each run also goes once without a profiler, right before or after it (in turn,
     * so that neither always comes first): the two see the same machine */
    for (int pass = 0; pass < (c->overhead ? 2 : 1); pass++) {
      gboolean profiled = c->overhead ? (pass == (i & 1)) : TRUE;
      FrProfClock t0, t1;
      if (profiled) fr_profiler_begin_run(p, timed);
      fr_prof_clock_read(&t0);
      fr_profile_model_run(m, profiled ? p : NULL);
      fr_prof_clock_read(&t1);
      if (profiled) fr_profiler_end_run(p);
      double wall = (double)(t1.wall_ns - t0.wall_ns) / 1e6, cpu = (double)(t1.cpu_ns - t0.cpu_ns) / 1e6;
      if (profiled) ms = wall;
      if (timed && profiled) prof_cpu[k] = cpu;
      if (timed && !profiled) plain[k] = wall, plain_cpu[k] = cpu;
    }
    if (job) {
      fr_job_progress(job, (double)(i + 1) / total, "profile %s: %s %d/%d %.3f ms", c->target, timed ? "run" : "warm-up",
                      timed ? k + 1 : i + 1, timed ? c->runs : c->warmup, ms);
      if (timed) fr_job_emit(job, "profile.run", g_variant_new("(uud)", (guint)k, (guint)c->runs, ms), NULL);
    }
  }
  if (ok) {
    FrProfInfo info = { 0 };
    info.target = (char *)c->target;
    info.description = (char *)fr_profile_model_description(m);
    info.threads = threads;
    info.batch = fr_profile_model_batch(m);
    info.warmup = c->warmup;
    info.model_macs = fr_profile_model_macs(m);
    info.unprofiled_ms_median = info.unprofiled_cpu_ms_median = NAN;
    info.run_cpu_ms_median = median_of(prof_cpu, c->runs);
    info.cpu_clocks = !c->wall_only;
    if (c->overhead) {
      info.unprofiled_ms_median = median_of(plain, c->runs);
      info.unprofiled_cpu_ms_median = median_of(plain_cpu, c->runs);
    }
    result = fr_profiler_finish(p, &info, c->roofline ? &roof : NULL);
  }
  g_free(plain);
  g_free(plain_cpu);
  g_free(prof_cpu);
  fr_graph_set_profile_cpu_clocks(old_clocks);
  fr_profiler_free(p);
  fr_profile_model_free(m);
  fr_pool_set_threads(old_threads);
  return result;
}

/* ---- as a job ---------------------------------------------------------------------------------- */

struct _FrProfileTask {
  gint ref;
  FrProfileConfig cfg;
  char *target, *cache;
  FrJob *job;
  GMutex lock;
  FrProfileResult *result;
};

static void task_unref(gpointer data) { fr_profile_task_unref(data); }

static gboolean task_func(FrJob *job, gpointer data, GError **error) {
  FrProfileTask *t = data;
  FrProfileResult *r = fr_profile_run(&t->cfg, job, error);
  if (!r) return FALSE;
  const FrProfInfo *in = fr_profile_result_info(r);
  g_mutex_lock(&t->lock);
  t->result = r;
  g_mutex_unlock(&t->lock);
  fr_job_progress(job, 1.0, "profile %s: median %.3f ms over %d runs", t->target, in->run_ms_median, in->runs);
  return TRUE;
}

FrProfileTask *fr_profile_task_start(const FrProfileConfig *c) {
  FrProfileTask *t = g_new0(FrProfileTask, 1);
  t->ref = 2;   /* the caller's and the job's */
  t->cfg = *c;
  t->target = g_strdup(c->target);
  t->cache = g_strdup(c->roofline_cache);
  t->cfg.target = t->target;
  t->cfg.roofline_cache = t->cache;
  g_mutex_init(&t->lock);
  t->job = fr_job_start("profile", task_func, t, task_unref);
  return t;
}

FrJob *fr_profile_task_job(FrProfileTask *t) { return t->job; }

FrProfileResult *fr_profile_task_result(FrProfileTask *t) {
  g_mutex_lock(&t->lock);
  FrProfileResult *r = t->result ? fr_profile_result_ref(t->result) : NULL;
  g_mutex_unlock(&t->lock);
  return r;
}

void fr_profile_task_unref(FrProfileTask *t) {
  if (!t || !g_atomic_int_dec_and_test(&t->ref)) return;
  if (t->result) fr_profile_result_unref(t->result);
  /* the job's own reference to t is gone by now: the job holds none of t's memory */
  if (t->job) fr_job_unref(t->job);
  g_mutex_clear(&t->lock);
  g_free(t->target);
  g_free(t->cache);
  g_free(t);
}
