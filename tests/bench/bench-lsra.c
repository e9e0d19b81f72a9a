/* Benchmark (not a test): decoding and training speed of the translation models (engine/lsra), the
 * same cases as tests/bench/torch_lsra.py (run-lsra-bench.sh runs both and prints the ratios).
 *
 * Models: the four mobile configs (fr_lsra_config_mobile: "transformer-small" d72, "lite-small" d112,
 * "transformer" d128, "lite" d200; 3 + 3 layers, vocab 8000), fairseq's random init (seed 1). Sources:
 * 29 random ids (4 .. vocab-1) plus the </s> the decoder appends, 30 tokens. Cases, "<kind>_<model>":
 *   greedy1   one sentence, greedy: fr_lsra_decoder_new (the encoder) then 30 fr_lsra_decoder_step
 *             calls, the argmax of each step's log-probabilities fed back (</s> is not special: every
 *             run does the same work); 30 output tokens
 *   beam4     one sentence, beam 4: 4 hypotheses, each step the best 4 of the 4 x vocab extensions by
 *             summed log-probability (step 1: of hypothesis 0's), fr_lsra_decoder_reorder, 30 steps
 *   batch32   32 different sentences greedily together (n = 32, beam 1), 30 steps; 960 output tokens
 *   train     one teacher-forced training step on 128 sentence pairs of 30 + 30 tokens (3840 target
 *             tokens): fr_lsra_model_loss (label smoothing 0.1, dropout 0) + fr_graph_backward, the
 *             parameter gradients zeroed first; "tokens" are target tokens
 * Timed: `--warmup` untimed runs, then the median of `--runs` (wall "ms" and process CPU "cpu_ms").
 * One JSON line per case with tokens and tokens_per_s (output tokens per second of wall time).
 *
 *   bench-lsra --threads 1 [--cases greedy1_transformer,train_transformer] [--runs 5] [--warmup 2]
 *   bench-lsra --profile --cases greedy1_transformer        # per-op breakdown on stderr
 *   bench-lsra --export DIR                                  # models + Frontier's log-probs for torch_lsra.py --check */
#include "fr-lsra-model.h"
#include "fr-lsra-bpe.h"
#include "fr-ops.h"
#include "fr-pool.h"
#include "fr-profile.h"
#include "fr-safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VOCAB 8000
#define SRC_IDS 29      /* + </s> = 30 source tokens */
#define STEPS 30        /* output tokens per sentence */
#define TRAIN_B 128
#define TRAIN_T 30

static const char *const default_cases =
  "greedy1_transformer-small,greedy1_transformer,greedy1_lite-small,greedy1_lite,"
  "beam4_transformer-small,beam4_transformer,beam4_lite-small,beam4_lite,"
  "batch32_transformer-small,batch32_transformer,batch32_lite-small,batch32_lite,"
  "train_transformer-small,train_transformer";

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* n sentences of len random ids in [4, VOCAB), deterministic (seed) */
static int32_t *random_ids(int n, int len, guint64 seed) {
  FrRng rng;
  fr_rng_seed(&rng, seed);
  int32_t *ids = g_new(int32_t, (gsize)n * len);
  for (int i = 0; i < n * len; i++) ids[i] = 4 + (int32_t)fr_rng_below(&rng, VOCAB - 4);
  return ids;
}

static FrLsraModel *make_model(const char *name) {
  FrLsraConfig cfg;
  if (!fr_lsra_config_mobile(name, VOCAB, &cfg)) return NULL;
  GError *e = NULL;
  FrLsraModel *m = fr_lsra_model_new(&cfg, &e);
  g_assert_no_error(e);
  fr_lsra_model_init(m, 1);
  return m;
}

typedef struct {
  FrLsraModel *m;
  int n;                 /* sentences */
  int beam;
  int32_t *src;          /* [n, SRC_IDS] */
  const int32_t **srcp;
  int *lens;
  float *lp;             /* [n * beam, VOCAB] */
  int32_t *out;          /* [n * beam, STEPS] the tokens chosen (greedy) */
  /* training */
  FrGraph *g;
  FrLsraBatch batch;
  int32_t *tgt_in, *tgt_out, *src_len;
} Work;

/* the first index of the largest value: a max reduction that vectorises, then the search */
static int argmax(const float *v, int n) {
  float mx = v[0];
#pragma omp simd reduction(max : mx)
  for (int i = 1; i < n; i++) mx = v[i] > mx ? v[i] : mx;
  for (int i = 0; i < n; i++)
    if (v[i] == mx) return i;
  return 0;
}

/* greedy decoding of w->n sentences (beam 1): STEPS steps */
static void run_greedy(Work *w) {
  GError *e = NULL;
  FrLsraDecoder *d = fr_lsra_decoder_new(w->m, w->n, w->srcp, w->lens, 1, STEPS, &e);
  g_assert_no_error(e);
  int32_t *tok = g_new(int32_t, w->n);
  for (int h = 0; h < w->n; h++) tok[h] = FR_LSRA_BPE_EOS;
  for (int s = 0; s < STEPS; s++) {
    g_assert(fr_lsra_decoder_step(d, tok, w->lp));
    for (int h = 0; h < w->n; h++) {
      tok[h] = argmax(w->lp + (size_t)h * VOCAB, VOCAB);
      w->out[h * STEPS + s] = tok[h];
    }
  }
  g_free(tok);
  fr_lsra_decoder_free(d);
}

/* beam search on one sentence without finishing hypotheses: STEPS steps of top-beam */
static void run_beam(Work *w) {
  GError *e = NULL;
  const int B = w->beam;
  FrLsraDecoder *d = fr_lsra_decoder_new(w->m, 1, w->srcp, w->lens, B, STEPS, &e);
  g_assert_no_error(e);
  int32_t tok[16], order[16];
  double score[16], cand_s[16];
  int cand_h[16], cand_t[16];
  for (int h = 0; h < B; h++) {
    tok[h] = FR_LSRA_BPE_EOS;
    score[h] = 0;
  }
  for (int s = 0; s < STEPS; s++) {
    g_assert(fr_lsra_decoder_step(d, tok, w->lp));
    int nc = 0;
    for (int h = 0; h < (s == 0 ? 1 : B); h++) {
      const float *lp = w->lp + (size_t)h * VOCAB;
      for (int t = 0; t < VOCAB; t++) {
        double v = score[h] + lp[t];
        if (nc == B && v <= cand_s[nc - 1]) continue;
        int i = nc < B ? nc++ : nc - 1;
        while (i > 0 && cand_s[i - 1] < v) {
          cand_s[i] = cand_s[i - 1];
          cand_h[i] = cand_h[i - 1];
          cand_t[i] = cand_t[i - 1];
          i--;
        }
        cand_s[i] = v;
        cand_h[i] = h;
        cand_t[i] = t;
      }
    }
    for (int h = 0; h < B; h++) {
      order[h] = cand_h[h];
      tok[h] = cand_t[h];
      score[h] = cand_s[h];
    }
    fr_lsra_decoder_reorder(d, order);
  }
  w->out[0] = tok[0];
  fr_lsra_decoder_free(d);
}

static void zero_grads(FrLsraModel *m) {
  FrParamSet *ps = fr_lsra_model_params(m);
  for (int i = 0; i < fr_param_set_len(ps); i++) fr_param_zero_grad(fr_param_set_nth(ps, i));
}

static void run_train(Work *w) {
  zero_grads(w->m);
  FrLsraTrainOpts o;
  fr_lsra_train_opts_init(&o);
  o.dropout = o.weight_dropout = o.attn_dropout = o.act_dropout = 0;
  o.label_smoothing = 0.1f;
  fr_graph_reset(w->g);
  w->g->training = true;
  w->g->grad_enabled = true;
  FrTensor *loss = fr_lsra_model_loss(w->g, w->m, &w->batch, &o, NULL, NULL);
  g_assert(isfinite(loss->data[0]));
  fr_graph_backward(w->g, loss);
}

typedef enum { K_GREEDY1, K_BEAM4, K_BATCH32, K_TRAIN } Kind;

static gboolean parse_case(const char *name, Kind *kind, const char **model) {
  static const struct { const char *p; Kind k; } kinds[] = {
    { "greedy1_", K_GREEDY1 }, { "beam4_", K_BEAM4 }, { "batch32_", K_BATCH32 }, { "train_", K_TRAIN } };
  for (guint i = 0; i < G_N_ELEMENTS(kinds); i++)
    if (g_str_has_prefix(name, kinds[i].p)) {
      *kind = kinds[i].k;
      *model = name + strlen(kinds[i].p);
      FrLsraConfig cfg;
      return fr_lsra_config_mobile(*model, VOCAB, &cfg);
    }
  return FALSE;
}

static void work_init(Work *w, FrLsraModel *m, Kind kind) {
  memset(w, 0, sizeof *w);
  w->m = m;
  w->n = kind == K_BATCH32 ? 32 : 1;
  w->beam = kind == K_BEAM4 ? 4 : 1;
  w->src = random_ids(w->n, SRC_IDS, 11);
  w->srcp = g_new(const int32_t *, w->n);
  w->lens = g_new(int, w->n);
  for (int i = 0; i < w->n; i++) {
    w->srcp[i] = w->src + (size_t)i * SRC_IDS;
    w->lens[i] = SRC_IDS;
  }
  w->lp = g_new(float, (size_t)w->n * w->beam * VOCAB);
  w->out = g_new0(int32_t, (size_t)w->n * w->beam * STEPS);
  if (kind == K_TRAIN) {
    const int B = TRAIN_B, T = TRAIN_T;
    g_free(w->src);
    w->src = random_ids(B, T, 21);
    int32_t *tgt = random_ids(B, T - 1, 22);
    w->tgt_in = g_new(int32_t, B * T);
    w->tgt_out = g_new(int32_t, B * T);
    w->src_len = g_new(int32_t, B);
    for (int b = 0; b < B; b++) {
      w->src[b * T + T - 1] = FR_LSRA_BPE_EOS;
      w->src_len[b] = T;
      w->tgt_in[b * T] = FR_LSRA_BPE_EOS;
      memcpy(w->tgt_in + b * T + 1, tgt + b * (T - 1), sizeof(int32_t) * (T - 1));
      memcpy(w->tgt_out + b * T, tgt + b * (T - 1), sizeof(int32_t) * (T - 1));
      w->tgt_out[b * T + T - 1] = FR_LSRA_BPE_EOS;
    }
    g_free(tgt);
    w->batch = (FrLsraBatch){ B, T, T, w->src, w->src_len, w->tgt_in, w->tgt_out };
    w->g = fr_graph_new(0);
  }
}

static void work_clear(Work *w) {
  g_free(w->src);
  g_free(w->srcp);
  g_free(w->lens);
  g_free(w->lp);
  g_free(w->out);
  g_free(w->tgt_in);
  g_free(w->tgt_out);
  g_free(w->src_len);
  if (w->g) fr_graph_free(w->g);
}

static void run_once(Work *w, Kind kind) {
  switch (kind) {
  case K_GREEDY1:
  case K_BATCH32: run_greedy(w); break;
  case K_BEAM4: run_beam(w); break;
  case K_TRAIN: run_train(w); break;
  }
}

static void run_case(const char *name, int threads, int runs, int warmup, FrProfile *prof) {
  Kind kind;
  const char *model;
  g_assert(parse_case(name, &kind, &model));
  FrLsraModel *m = make_model(model);
  Work w;
  work_init(&w, m, kind);
  double *t = g_new(double, runs), *cpu = g_new(double, runs);
  for (int i = 0; i < warmup + runs; i++) {
    double c0 = cpu_ms();
    gint64 t0 = g_get_monotonic_time();
    run_once(&w, kind);
    double dt = (double)(g_get_monotonic_time() - t0) / 1e3;
    if (i >= warmup) {
      t[i - warmup] = dt;
      cpu[i - warmup] = cpu_ms() - c0;
    }
  }
  if (prof) {
    /* the training step's graph can carry a profiler; decoding graphs are internal, so the profile
     * of a decoding case is empty: use perf for those */
    if (w.g) fr_profile_attach(prof, w.g);
    for (int i = 0; i < runs; i++) run_once(&w, kind);
    fprintf(stderr, "%s, %d thread(s), %d runs:\n", name, threads, runs);
    fr_profile_print(prof, stderr);
    fr_profile_clear(prof);
  }
  double ms = median(t, runs), cms = median(cpu, runs);
  const int tokens = kind == K_TRAIN ? TRAIN_B * TRAIN_T : kind == K_BATCH32 ? 32 * STEPS : STEPS;
  const char *kinds[] = { "greedy1", "beam4", "batch32", "train" };
  const FrLsraConfig *c = fr_lsra_model_config(m);
  printf("{\"peer\": \"frontier\", \"case\": \"%s\", \"kind\": \"%s\", \"model\": \"%s\", \"d_model\": %d, "
         "\"threads\": %d, \"ms\": %.3f, \"ms_min\": %.3f, \"cpu_ms\": %.3f, \"tokens\": %d, \"tokens_per_s\": %.1f, "
         "\"runs\": %d, \"first_token\": %d}\n",
         name, kinds[kind], model, c->d_model, threads, ms, t[0], cms, tokens, tokens * 1e3 / ms, runs, w.out[0]);
  fflush(stdout);
  g_free(t);
  g_free(cpu);
  work_clear(&w);
  fr_lsra_model_free(m);
}

/* DIR/<model>.safetensors (fr_lsra_model_save) and DIR/<model>.io.safetensors: the source ids
 * ("src", [1, 29] as F32), the greedy tokens fed ("tokens", [30]: </s> then 29 argmaxes) and the log-
 * probabilities of every step ("logprobs", [30, vocab]). */
static gboolean export_model(const char *model, const char *dir, GError **error) {
  FrLsraModel *m = make_model(model);
  Work w;
  work_init(&w, m, K_GREEDY1);
  float *all = g_new(float, (size_t)STEPS * VOCAB), fed[STEPS], src[SRC_IDS];
  GError *e = NULL;
  FrLsraDecoder *d = fr_lsra_decoder_new(m, 1, w.srcp, w.lens, 1, STEPS, &e);
  g_assert_no_error(e);
  int32_t tok = FR_LSRA_BPE_EOS;
  for (int s = 0; s < STEPS; s++) {
    fed[s] = (float)tok;
    g_assert(fr_lsra_decoder_step(d, &tok, all + (size_t)s * VOCAB));
    tok = argmax(all + (size_t)s * VOCAB, VOCAB);
  }
  fr_lsra_decoder_free(d);
  for (int i = 0; i < SRC_IDS; i++) src[i] = (float)w.src[i];
  char *mp = g_strdup_printf("%s/%s.safetensors", dir, model), *ip = g_strdup_printf("%s/%s.io.safetensors", dir, model);
  gboolean ok = fr_lsra_model_save(m, mp, NULL, error);
  if (ok) {
    FrSafetensorsWriter *wr = fr_safetensors_writer_new();
    fr_safetensors_writer_add(wr, "src", FR_DTYPE_F32, 2, FR_SHAPE(1, SRC_IDS), src);
    fr_safetensors_writer_add(wr, "tokens", FR_DTYPE_F32, 1, FR_SHAPE(STEPS), fed);
    fr_safetensors_writer_add(wr, "logprobs", FR_DTYPE_F32, 2, FR_SHAPE(STEPS, VOCAB), all);
    ok = fr_safetensors_writer_save(wr, ip, error);
    fr_safetensors_writer_free(wr);
  }
  g_free(mp);
  g_free(ip);
  g_free(all);
  work_clear(&w);
  fr_lsra_model_free(m);
  return ok;
}

int main(int argc, char **argv) {
  int threads = 1, runs = 5, warmup = 2;
  gboolean profile = FALSE;
  char *cases = NULL, *export_dir = NULL;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "engine threads (default 1)", "N" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "timed runs per case (median; default 5)", "N" },
    { "warmup", 'w', 0, G_OPTION_ARG_INT, &warmup, "untimed runs first (default 2)", "N" },
    { "cases", 'c', 0, G_OPTION_ARG_STRING, &cases, "comma-separated cases (default: all)", "LIST" },
    { "profile", 'p', 0, G_OPTION_ARG_NONE, &profile, "per-op profile of training cases on stderr", NULL },
    { "export", 0, 0, G_OPTION_ARG_FILENAME, &export_dir, "write the Transformer models and their greedy log-probs", "DIR" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new("- translation models' decoding and training speed");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!g_option_context_parse(ctx, &argc, &argv, &error) || threads < 1 || runs < 1 || warmup < 0) {
    fprintf(stderr, "bench-lsra: %s\n", error ? error->message : "bad --threads/--runs/--warmup");
    return 2;
  }
  g_option_context_free(ctx);
  fr_pool_set_threads(threads);
  if (export_dir) {
    const char *models[] = { "transformer-small", "transformer" };
    for (guint i = 0; i < G_N_ELEMENTS(models); i++)
      if (!export_model(models[i], export_dir, &error)) {
        fprintf(stderr, "bench-lsra: %s\n", error->message);
        return 1;
      }
    return 0;
  }
  char **names = g_strsplit(cases ? cases : default_cases, ",", -1);
  for (char **n = names; *n; n++) {
    Kind k;
    const char *model;
    if (!parse_case(*n, &k, &model)) {
      fprintf(stderr, "bench-lsra: unknown case %s (kinds greedy1_, beam4_, batch32_, train_ + a mobile model)\n", *n);
      return 2;
    }
  }
  FrProfile *prof = profile ? fr_profile_new() : NULL;
  for (char **n = names; *n; n++) run_case(*n, threads, runs, warmup, prof);
  if (prof) fr_profile_free(prof);
  g_strfreev(names);
  g_free(cases);
  return 0;
}
