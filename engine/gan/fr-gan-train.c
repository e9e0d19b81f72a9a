/* fr-gan-train.c: teacher training, once-for-all student distillation and fine-tuning (fr-gan-train.h). */
#include <math.h>
#include <string.h>
#include "fr-gan-train.h"
#include "fr-checkpoint.h"
#include "fr-ops.h"
#include "fr-optim.h"
#include "fr-pool.h"
#include "fr-safetensors.h"

#define CKPT_FORMAT "frontier-gan-checkpoint"
#define DISC_FORMAT "frontier-gan-discriminator"
#define WINDOW 20
#define EVAL_IMAGES 1000
#define SAMPLE_ROWS 6

void fr_gan_train_config_init(FrGanTrainConfig *cfg, FrGanStage stage) {
  *cfg = (FrGanTrainConfig){ .stage = stage, .ngf = 16, .ndf = 32, .steps = 3000, .batch_size = 16, .lr = 2e-4,
                             .lambda_l1 = 100, .lambda_distill = 1, .seed = 1, .checkpoint_every = 100,
                             .sample_every = 100 };
}

FrGanTrainConfig *fr_gan_train_config_copy(const FrGanTrainConfig *cfg) {
  FrGanTrainConfig *c = g_memdup2(cfg, sizeof *cfg);
  c->teacher = g_strdup(cfg->teacher);
  c->init = g_strdup(cfg->init);
  c->config = g_strdup(cfg->config);
  c->data_dir = g_strdup(cfg->data_dir);
  c->output = g_strdup(cfg->output);
  c->checkpoint = g_strdup(cfg->checkpoint);
  return c;
}

void fr_gan_train_config_free(gpointer data) {
  FrGanTrainConfig *c = data;
  if (!c) return;
  g_free((char *)c->teacher);
  g_free((char *)c->init);
  g_free((char *)c->config);
  g_free((char *)c->data_dir);
  g_free((char *)c->output);
  g_free((char *)c->checkpoint);
  g_free(c);
}

/* ---- the conditional PatchGAN discriminator ---------------------------------------------------- */

/* 4x4 convs: 2 -> ndf (s2), -> 2ndf (s2), -> 4ndf (s1), -> 1 (s1), all padding 1; instance norm after
 * the middle two; LeakyReLU 0.2. On 32x32 pairs it scores a 6x6 grid of overlapping patches. */
static FrParamSet *disc_new(int ndf, guint64 seed) {
  FrParamSet *ps = fr_param_set_new();
  FrRng rng;
  fr_rng_seed(&rng, seed);
  int64_t ch[5] = { 2, ndf, 2 * ndf, 4 * ndf, 1 };
  for (int l = 0; l < 4; l++) {
    char wn[16], bn[16];
    g_snprintf(wn, sizeof wn, "d%d.w", l + 1);
    g_snprintf(bn, sizeof bn, "d%d.b", l + 1);
    FrTensor *w = fr_param_set_add(ps, wn, 4, FR_SHAPE(ch[l + 1], ch[l], 4, 4), TRUE);
    fr_param_set_add(ps, bn, 1, FR_SHAPE(ch[l + 1]), TRUE);
    fr_rng_fill_normal(&rng, w->data, fr_tensor_numel(w), 0.0f, 0.02f);
  }
  return ps;
}

static FrTensor *disc_forward(FrParamSet *d, FrGraph *g, FrTensor *sketch, FrTensor *item) {
  FrTensor *h = fr_concat(g, sketch, item, 1);
  for (int l = 0; l < 4; l++) {
    char wn[16], bn[16];
    g_snprintf(wn, sizeof wn, "d%d.w", l + 1);
    g_snprintf(bn, sizeof bn, "d%d.b", l + 1);
    FrConv2dParams p = { .stride = l < 2 ? 2 : 1, .padding = 1, .dilation = 1, .groups = 1 };
    h = fr_conv2d(g, h, fr_param_set_get(d, wn), fr_param_set_get(d, bn), p);
    if (l == 0) h = fr_leaky_relu(g, h, 0.2f);
    else if (l < 3) h = fr_instance_norm2d(g, h, NULL, NULL, 1e-5f, FR_ACT_LEAKY_RELU);
  }
  return h;
}

static char *disc_path(const char *output) {
  const char *suffix = ".safetensors";
  if (g_str_has_suffix(output, suffix))
    return g_strdup_printf("%.*s.disc%s", (int)(strlen(output) - strlen(suffix)), output, suffix);
  return g_strconcat(output, ".disc.safetensors", NULL);
}

/* ---- adaptors: 1x1 convs from the student's taps to the teacher's ------------------------------ */

static FrParamSet *adaptors_new(int teacher_w, int student_w, guint64 seed) {
  FrParamSet *ps = fr_param_set_new();
  FrRng rng;
  fr_rng_seed(&rng, seed);
  for (int t = 0; t < FR_GAN_TAPS; t++) {
    char wn[16], bn[16];
    g_snprintf(wn, sizeof wn, "a%d.w", t + 1);
    g_snprintf(bn, sizeof bn, "a%d.b", t + 1);
    FrTensor *w = fr_param_set_add(ps, wn, 4, FR_SHAPE(teacher_w, student_w, 1, 1), TRUE);
    fr_param_set_add(ps, bn, 1, FR_SHAPE(teacher_w), TRUE);
    fr_rng_fill_normal(&rng, w->data, fr_tensor_numel(w), 0.0f, sqrtf(2.0f / (float)student_w));
  }
  return ps;
}

/* ---- state of one run ------------------------------------------------------------------------- */

typedef struct {
  const FrGanTrainConfig *cfg;
  FrGanGenerator *gen, *teacher;
  FrParamSet *disc, *adapt;     /* adapt NULL for the teacher */
  FrOptim *opt_g, *opt_d;
  FrTensor **g_params;          /* generator + adaptors */
  int n_g_params;
  FrGanConfig fixed;            /* finetune's config */
  FrGraph *gg, *gd, *gt;
  int B;
} Run;

static FrOptim *adam(FrTensor **params, int n) {
  FrOptimConfig oc = fr_optim_config_adam(0, false);
  oc.beta1 = 0.5f;   /* pix2pix / GAN Compression */
  return fr_optim_new(&oc, params, n);
}

static void run_init_optim(Run *r) {
  int ng, na = 0;
  FrTensor **gp = fr_param_set_trainable(fr_gan_generator_params(r->gen), &ng);
  FrTensor **ap = r->adapt ? fr_param_set_trainable(r->adapt, &na) : NULL;
  r->n_g_params = ng + na;
  r->g_params = g_new(FrTensor *, r->n_g_params);
  memcpy(r->g_params, gp, sizeof(FrTensor *) * ng);
  if (na) memcpy(r->g_params + ng, ap, sizeof(FrTensor *) * na);
  r->opt_g = adam(r->g_params, r->n_g_params);
  int nd;
  FrTensor **dp = fr_param_set_trainable(r->disc, &nd);
  r->opt_d = adam(dp, nd);
}

static void run_clear(Run *r) {
  fr_gan_generator_free(r->gen);
  fr_gan_generator_free(r->teacher);
  if (r->disc) fr_param_set_free(r->disc);
  if (r->adapt) fr_param_set_free(r->adapt);
  if (r->opt_g) fr_optim_free(r->opt_g);
  if (r->opt_d) fr_optim_free(r->opt_d);
  g_free(r->g_params);
  if (r->gg) fr_graph_free(r->gg);
  if (r->gd) fr_graph_free(r->gd);
  if (r->gt) fr_graph_free(r->gt);
}

/* The config of step `step`: the teacher's own, the fine-tuned one, or a random sub-generator drawn
 * from (seed, step) alone, so a resumed run draws the same ones. */
static FrGanConfig step_config(const Run *r, int64_t step) {
  if (r->cfg->stage == FR_GAN_STAGE_FINETUNE) return r->fixed;
  FrGanConfig c = *fr_gan_generator_max(r->gen);
  if (r->cfg->stage == FR_GAN_STAGE_TEACHER) return c;
  FrRng rng;
  fr_rng_seed(&rng, r->cfg->seed * 1000003u + (guint64)step * 7919u + 17);
  for (int i = 0; i < FR_GAN_CONFIG_LEN; i++) {
    int n;
    const int *opts = fr_gan_width_options(c.ch[i], &n);
    c.ch[i] = opts[fr_rng_below(&rng, (guint64)n)];
  }
  return c;
}

typedef struct { double g, d, l1, distill; } Losses;

static double scalar(FrTensor *t) { return t->data[0]; }

static Losses train_step(Run *r, const FrGanData *data, const int *idx, int64_t step, float lr) {
  const FrGanTrainConfig *cfg = r->cfg;
  int B = r->B;
  FrGraph *gg = r->gg, *gd = r->gd;
  fr_graph_reset(gg);
  fr_graph_reset(gd);
  float *sk = fr_graph_alloc(gg, sizeof(float) * (size_t)B * FR_GAN_PIXELS);
  float *im = fr_graph_alloc(gg, sizeof(float) * (size_t)B * FR_GAN_PIXELS);
  for (int i = 0; i < B; i++) {
    memcpy(sk + (size_t)i * FR_GAN_PIXELS, data->sketch + (size_t)idx[i] * FR_GAN_PIXELS, sizeof(float) * FR_GAN_PIXELS);
    memcpy(im + (size_t)i * FR_GAN_PIXELS, data->image + (size_t)idx[i] * FR_GAN_PIXELS, sizeof(float) * FR_GAN_PIXELS);
  }
  const int64_t *shape = FR_SHAPE(B, 1, FR_GAN_SIZE, FR_GAN_SIZE);
  FrTensor *x = fr_tensor_wrap(gg, 4, shape, sk), *real = fr_tensor_wrap(gg, 4, shape, im);

  /* the teacher's output and taps, as constants */
  FrTensor *t_taps[FR_GAN_TAPS] = { 0 }, *t_out = NULL;
  if (r->teacher) {
    fr_graph_reset(r->gt);
    FrTensor *tx = fr_tensor_wrap(r->gt, 4, shape, sk);
    t_out = fr_gan_generator_forward(r->teacher, r->gt, tx, NULL, t_taps);
  }
  FrGanConfig c = step_config(r, step);
  FrTensor *s_taps[FR_GAN_TAPS];
  FrTensor *fake = fr_gan_generator_forward(r->gen, gg, x, &c, r->adapt ? s_taps : NULL);

  /* discriminator: real pairs up, generated pairs (detached) down */
  fr_optim_zero_grad(r->opt_d);
  FrTensor *xd = fr_tensor_wrap(gd, 4, shape, sk), *rd = fr_tensor_wrap(gd, 4, shape, im);
  FrTensor *fd = fr_tensor_wrap(gd, 4, shape, fake->data);
  FrTensor *loss_d = fr_add(gd, fr_hinge_loss(gd, disc_forward(r->disc, gd, xd, rd), 1.0f),
                            fr_hinge_loss(gd, disc_forward(r->disc, gd, xd, fd), -1.0f));
  loss_d = fr_scale(gd, loss_d, 0.5f);
  fr_graph_backward(gd, loss_d);
  fr_optim_step(r->opt_d, lr);

  /* generator: fool the updated discriminator, reconstruct, and (students) match the teacher. With the
   * sandwich rule the widest and the narrowest sub-generators join the sampled one every step (their
   * losses averaged), so the extremes of the supernet are trained as often as the middle. */
  fr_optim_zero_grad(r->opt_g);
  FrGanConfig extra[2];
  int n_cfg = 1;
  if (cfg->sandwich && cfg->stage == FR_GAN_STAGE_SUPERNET) {
    extra[0] = *fr_gan_generator_max(r->gen);
    for (int i = 0; i < FR_GAN_CONFIG_LEN; i++) {
      int n;
      const int *o = fr_gan_width_options(extra[0].ch[i], &n);
      extra[1].ch[i] = o[n - 1];
    }
    n_cfg = 3;
  }
  FrTensor *loss_g = NULL, *adv = NULL, *l1 = NULL;
  double distill = 0;
  for (int k = 0; k < n_cfg; k++) {
    FrTensor *taps_k[FR_GAN_TAPS], *fake_k = fake, **tk = s_taps;
    if (k > 0) {
      tk = taps_k;
      fake_k = fr_gan_generator_forward(r->gen, gg, x, &extra[k - 1], r->adapt ? tk : NULL);
    }
    FrTensor *adv_k = fr_scale(gg, fr_mean(gg, disc_forward(r->disc, gg, x, fake_k)), -1.0f);
    FrTensor *target = cfg->unpaired && t_out ? fr_tensor_wrap(gg, 4, shape, t_out->data) : real;
    FrTensor *l1_k = fr_l1_loss(gg, fake_k, target);
    FrTensor *loss_k = fr_add(gg, adv_k, fr_scale(gg, l1_k, (float)cfg->lambda_l1));
    if (r->adapt) {
      int sw = (int)tk[0]->shape[1];
      for (int t = 0; t < FR_GAN_TAPS; t++) {
        char wn[16], bn[16];
        g_snprintf(wn, sizeof wn, "a%d.w", t + 1);
        g_snprintf(bn, sizeof bn, "a%d.b", t + 1);
        FrTensor *w = fr_param_set_get(r->adapt, wn);
        if (sw < w->shape[1]) w = fr_slice(gg, w, 1, 0, sw);
        FrTensor *a = fr_conv2d(gg, tk[t], w, fr_param_set_get(r->adapt, bn), FR_CONV2D_DEFAULT);
        FrTensor *tt = fr_tensor_wrap(gg, 4, t_taps[t]->shape, t_taps[t]->data);
        FrTensor *mse = fr_mse_loss(gg, a, tt);
        if (k == 0) distill += scalar(mse);
        loss_k = fr_add(gg, loss_k, fr_scale(gg, mse, (float)cfg->lambda_distill));
      }
    }
    if (k == 0) adv = adv_k, l1 = l1_k;   /* reported: the sampled sub-generator's */
    loss_g = loss_g ? fr_add(gg, loss_g, loss_k) : loss_k;
  }
  if (n_cfg > 1) loss_g = fr_scale(gg, loss_g, 1.0f / (float)n_cfg);
  fr_graph_backward(gg, loss_g);
  fr_optim_step(r->opt_g, lr);
  return (Losses){ scalar(adv), scalar(loss_d), scalar(l1), distill };
}

/* ---- checkpoints ------------------------------------------------------------------------------ */

typedef struct { const char *prefix; FrParamSet *ps; } Group;

static int groups_of(Run *r, Group *out) {
  int n = 0;
  out[n++] = (Group){ "g.", fr_gan_generator_params(r->gen) };
  out[n++] = (Group){ "d.", r->disc };
  if (r->adapt) out[n++] = (Group){ "a.", r->adapt };
  return n;
}

static gboolean checkpoint_save(Run *r, const char *path, int64_t step, const char *run_id, const double *window,
                                GError **error) {
  FrSafetensorsWriter *w = fr_checkpoint_writer_new(CKPT_FORMAT, run_id, step);
  Group gs[3];
  int ng = groups_of(r, gs);
  for (int k = 0; k < ng; k++)
    for (int i = 0; i < fr_param_set_len(gs[k].ps); i++) {
      FrTensor *p = fr_param_set_nth(gs[k].ps, i);
      char *name = g_strconcat(gs[k].prefix, p->name, NULL);
      fr_safetensors_writer_add(w, name, FR_DTYPE_F32, p->ndim, p->shape, p->data);
      g_free(name);
    }
  fr_checkpoint_add_optim(w, "og.", r->opt_g, r->g_params, r->n_g_params);
  int nd;
  FrTensor **dp = fr_param_set_trainable(r->disc, &nd);
  fr_checkpoint_add_optim(w, "od.", r->opt_d, dp, nd);
  fr_safetensors_writer_add(w, "train.window", FR_DTYPE_F64, 1, FR_SHAPE(4 * WINDOW), window);
  gboolean ok = fr_safetensors_writer_save(w, path, error);
  fr_safetensors_writer_free(w);
  return ok;
}

/* All or nothing: everything is read into buffers first, copied only when all of it is there. */
static gboolean checkpoint_load(Run *r, const char *path, const char *run_id, int64_t *step, double *window,
                                GError **error) {
  FrCheckpointIn *c = fr_checkpoint_in_open(path, CKPT_FORMAT, "GAN", run_id, -1, FR_GAN_ERROR,
                                            FR_GAN_ERROR_CHECKPOINT, FR_GAN_ERROR_CHECKPOINT, error);
  if (!c) return FALSE;
  gboolean ok = TRUE;
  Group gs[3];
  int ng = groups_of(r, gs);
  for (int k = 0; ok && k < ng; k++)
    for (int i = 0; ok && i < fr_param_set_len(gs[k].ps); i++) {
      FrTensor *p = fr_param_set_nth(gs[k].ps, i);
      char *name = g_strconcat(gs[k].prefix, p->name, NULL);
      ok = fr_checkpoint_in_take(c, name, p, p->data, error);
      g_free(name);
    }
  int nd;
  FrTensor **dp = fr_param_set_trainable(r->disc, &nd);
  if (ok) ok = fr_checkpoint_in_take_optim(c, "og.", r->opt_g, r->g_params, r->n_g_params, error);
  if (ok) ok = fr_checkpoint_in_take_optim(c, "od.", r->opt_d, dp, nd, error);
  if (ok) ok = fr_checkpoint_in_take_f64(c, "train.window", 4 * WINDOW, window, error);
  if (ok) {
    fr_checkpoint_in_commit(c);
    *step = fr_checkpoint_in_step(c);
    fr_optim_set_step(r->opt_g, *step);
    fr_optim_set_step(r->opt_d, *step);
  }
  fr_checkpoint_in_free(c);
  return ok;
}

/* ---- the job ---------------------------------------------------------------------------------- */

static gboolean check_config(const FrGanTrainConfig *c, GError **error) {
  const char *why = NULL;
  if (c->steps < 1 || c->steps > 10000000) why = "steps must be 1..10,000,000";
  else if (c->batch_size < 1 || c->batch_size > 1024) why = "batch size must be 1..1024";
  else if (!(c->lr > 0) || c->lr > 1) why = "the learning rate must be in (0, 1]";
  else if (c->ngf < 1 || c->ngf > 256 || c->ndf < 1 || c->ndf > 256) why = "ngf and ndf must be 1..256";
  else if (c->lambda_l1 < 0 || c->lambda_distill < 0) why = "loss weights must be >= 0";
  else if (c->threads < 0 || c->train_limit < 0 || c->stop_after < 0 || c->checkpoint_every < 1 || c->sample_every < 1) why = "threads, limits and intervals must be >= 0 / >= 1";
  else if (!c->output || !*c->output) why = "an output file is needed";
  else if (c->stage != FR_GAN_STAGE_TEACHER && (!c->teacher || !*c->teacher)) why = "distillation needs the teacher (--teacher)";
  else if (c->stage == FR_GAN_STAGE_FINETUNE && (!c->init || !c->config)) why = "fine-tuning needs the supernet (--init) and a config (--config)";
  else if (c->unpaired && c->stage == FR_GAN_STAGE_TEACHER) why = "the unpaired variant needs a teacher to reconstruct";
  if (!why) return TRUE;
  g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "invalid GAN training settings: %s", why);
  return FALSE;
}

static gboolean cancelled(FrJob *job, GError **error) {
  if (!job || !fr_job_is_cancelled(job)) return FALSE;
  g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_CANCELLED, "cancelled");
  return TRUE;
}

static gboolean setup(Run *r, GError **error) {
  const FrGanTrainConfig *cfg = r->cfg;
  if (cfg->teacher) {
    r->teacher = fr_gan_generator_load(cfg->teacher, error);
    if (!r->teacher) return FALSE;
    if (fr_gan_generator_kind(r->teacher) != FR_GAN_RESNET) {
      g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_MODEL, "%s is not a teacher (ResNet) generator", cfg->teacher);
      return FALSE;
    }
  }
  if (cfg->stage == FR_GAN_STAGE_TEACHER) {
    FrGanConfig c;
    fr_gan_config_uniform(&c, cfg->ngf);
    r->gen = fr_gan_generator_new(FR_GAN_RESNET, &c, 1, 1, cfg->seed);
    r->disc = disc_new(cfg->ndf, cfg->seed + 1);
  } else {
    if (cfg->stage == FR_GAN_STAGE_SUPERNET) {
      FrGanConfig c;
      fr_gan_config_uniform(&c, cfg->ngf);
      r->gen = fr_gan_generator_new(FR_GAN_MOBILE, &c, 1, 1, cfg->seed);
    } else {
      FrGanGenerator *super = fr_gan_generator_load(cfg->init, error);
      if (!super) return FALSE;
      if (!fr_gan_config_parse(cfg->config, &r->fixed, error)) {
        fr_gan_generator_free(super);
        return FALSE;
      }
      if (fr_gan_generator_kind(super) != FR_GAN_MOBILE || !fr_gan_config_fits(&r->fixed, fr_gan_generator_max(super))) {
        char *m = fr_gan_config_to_string(fr_gan_generator_max(super));
        g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "config %s is not a sub-generator of %s (a mobile generator up to %s)",
                    cfg->config, cfg->init, m);
        g_free(m);
        fr_gan_generator_free(super);
        return FALSE;
      }
      r->gen = fr_gan_generator_extract(super, &r->fixed);
      fr_gan_generator_free(super);
    }
    /* the discriminator starts from the teacher's, as in GAN Compression */
    char *dp = disc_path(cfg->teacher);
    r->disc = disc_new(cfg->ndf, cfg->seed + 1);
    GHashTable *meta = NULL;
    if (!fr_param_set_load(r->disc, dp, &meta, error)) {
      g_prefix_error(error, "the teacher's discriminator: ");
      g_free(dp);
      return FALSE;
    }
    if (meta) g_hash_table_unref(meta);
    g_free(dp);
    int tw = fr_gan_generator_max(r->teacher)->ch[2] * 4, sw = fr_gan_generator_max(r->gen)->ch[2] * 4;
    r->adapt = adaptors_new(tw, sw, cfg->seed + 2);
  }
  run_init_optim(r);
  r->gg = fr_graph_new(0);
  r->gd = fr_graph_new(0);
  r->gg->training = r->gd->training = true;
  if (r->teacher) {
    r->gt = fr_graph_new(0);
    r->gt->grad_enabled = false;
  }
  return TRUE;
}

static void emit_samples(FrJob *job, Run *r, const FrGanData *d, int64_t step) {
  float in[SAMPLE_ROWS * FR_GAN_PIXELS], out[SAMPLE_ROWS * FR_GAN_PIXELS];
  int first = FR_GAN_TRAIN_IMAGES;   /* fixed search-split items, so the grid shows progress */
  memcpy(in, d->sketch + (size_t)first * FR_GAN_PIXELS, sizeof in);
  FrGanConfig c = r->cfg->stage == FR_GAN_STAGE_FINETUNE ? r->fixed : *fr_gan_generator_max(r->gen);
  fr_gan_generator_run(r->gen, &c, in, SAMPLE_ROWS, FR_GAN_SIZE, FR_GAN_SIZE, out);
  guint8 *bytes = g_new(guint8, SAMPLE_ROWS * 3 * FR_GAN_PIXELS);
  for (int i = 0; i < SAMPLE_ROWS; i++) {
    guint8 *row = bytes + (size_t)i * 3 * FR_GAN_PIXELS;
    fr_gan_image_to_bytes(in + i * FR_GAN_PIXELS, row, FR_GAN_PIXELS);
    fr_gan_image_to_bytes(out + i * FR_GAN_PIXELS, row + FR_GAN_PIXELS, FR_GAN_PIXELS);
    fr_gan_image_to_bytes(d->image + (size_t)(first + i) * FR_GAN_PIXELS, row + 2 * FR_GAN_PIXELS, FR_GAN_PIXELS);
  }
  GVariant *ay = g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, bytes, SAMPLE_ROWS * 3 * FR_GAN_PIXELS, 1);
  fr_job_emit(job, "gan.train.sample", g_variant_new("(uu@ay)", (guint32)step, (guint32)SAMPLE_ROWS, ay), NULL);
  g_free(bytes);
}

gboolean fr_gan_train_job(FrJob *job, gpointer data, GError **error) {
  const FrGanTrainConfig *cfg = data;
  if (!check_config(cfg, error)) return FALSE;
  Run r = { .cfg = cfg };
  FrGanData *d = NULL;
  FrGanMetric *metric = NULL;
  char *run_id = NULL, *ckpt = NULL;
  int *order = NULL;
  int old_threads = fr_pool_get_threads();
  gboolean ok = setup(&r, error);
  if (ok) {
    fr_job_progress(job, 0, "making sketches of Fashion-MNIST");
    d = fr_gan_data_load(cfg->data_dir, TRUE, error);
    ok = d != NULL;
  }
  if (ok && d->n < FR_GAN_TRAIN_IMAGES + EVAL_IMAGES) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "Fashion-MNIST's training set has %d images; %d are needed",
                d->n, FR_GAN_TRAIN_IMAGES + EVAL_IMAGES);
    ok = FALSE;
  }
  if (ok) {
    metric = fr_gan_metric_new(NULL, d->image + (size_t)FR_GAN_TRAIN_IMAGES * FR_GAN_PIXELS, d->n - FR_GAN_TRAIN_IMAGES, error);
    ok = metric != NULL;
  }
  if (!ok) goto out;
  if (cfg->threads > 0) fr_pool_set_threads(cfg->threads);

  int n_train = cfg->train_limit > 0 ? MIN(cfg->train_limit, FR_GAN_TRAIN_IMAGES) : FR_GAN_TRAIN_IMAGES;
  r.B = MIN(cfg->batch_size, n_train);
  int per_epoch = n_train / r.B;
  int64_t total = cfg->steps;
  static const char *const stage_names[] = { "teacher", "supernet", "finetune" };
  run_id = g_strdup_printf("%s ngf%d ndf%d steps%d b%d lr%g l1 %g distill %g%s%s seed%" G_GUINT64_FORMAT " n%d%s%s",
                           stage_names[cfg->stage], cfg->ngf, cfg->ndf, cfg->steps, r.B, cfg->lr, cfg->lambda_l1,
                           cfg->lambda_distill, cfg->unpaired ? " unpaired" : "",
                           cfg->sandwich && cfg->stage == FR_GAN_STAGE_SUPERNET ? " sandwich" : "", cfg->seed, n_train,
                           cfg->config ? " config " : "", cfg->config ? cfg->config : "");
  ckpt = cfg->checkpoint ? g_strdup(cfg->checkpoint) : g_strconcat(cfg->output, ".ckpt", NULL);
  int64_t step = 0;
  double window[4 * WINDOW] = { 0 };
  if (cfg->resume && g_file_test(ckpt, G_FILE_TEST_EXISTS)) {
    ok = checkpoint_load(&r, ckpt, run_id, &step, window, error);
    if (!ok) goto out;
    fr_job_log(job, "resumed from %s at step %" G_GINT64_FORMAT, ckpt, step);
  }
  order = g_new(int, n_train);
  int order_epoch = -1;
  gint64 t0 = g_get_monotonic_time();
  double train_secs = 0;
  int64_t stop = cfg->stop_after > 0 ? MIN((int64_t)cfg->stop_after, total) : total;
  while (step < stop) {
    if (cancelled(job, error)) {
      ok = FALSE;
      break;
    }
    int epoch = (int)(step / per_epoch), k = (int)(step % per_epoch);
    if (epoch != order_epoch) {   /* the epoch's order depends only on (seed, epoch) */
      FrRng shuf;
      fr_rng_seed(&shuf, cfg->seed * 31 + (guint64)epoch);
      for (int i = 0; i < n_train; i++) order[i] = i;
      fr_rng_shuffle_int(&shuf, order, n_train);
      order_epoch = epoch;
    }
    /* pix2pix's schedule: constant, then linear to zero over the second half */
    double frac = (double)step / (double)total;
    float lr = (float)(frac < 0.5 ? cfg->lr : cfg->lr * (1.0 - frac) / 0.5);
    gint64 ts = g_get_monotonic_time();
    Losses l = train_step(&r, d, order + (size_t)k * r.B, step, lr);
    train_secs += (g_get_monotonic_time() - ts) / 1e6;
    window[0 * WINDOW + step % WINDOW] = l.g;
    window[1 * WINDOW + step % WINDOW] = l.d;
    window[2 * WINDOW + step % WINDOW] = l.l1;
    window[3 * WINDOW + step % WINDOW] = l.distill;
    step++;
    if (step % 10 == 0 || step == total) {
      int w = (int)MIN(step, WINDOW);
      double m[4] = { 0 };
      for (int q = 0; q < 4; q++) {
        for (int j = 0; j < w; j++) m[q] += window[q * WINDOW + j];
        m[q] /= w;
      }
      fr_job_emit(job, "gan.train.step", g_variant_new("(uudddd)", (guint32)step, (guint32)total, m[0], m[1], m[2], m[3]), NULL);
      char distill[48] = "";
      if (r.adapt) g_snprintf(distill, sizeof distill, ", distill %.4f", m[3]);
      fr_job_progress(job, (double)step / (double)total,
                      "step %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT ", G %.3f, D %.3f, L1 %.4f%s, %.0f s", step, total,
                      m[0], m[1], m[2], distill, (g_get_monotonic_time() - t0) / 1e6);
    }
    if (step % cfg->sample_every == 0 || step == total) emit_samples(job, &r, d, step);
    if (step % cfg->checkpoint_every == 0 || step == stop) {
      ok = checkpoint_save(&r, ckpt, step, run_id, window, error);
      if (!ok) break;
    }
    if (step % 1000 == 0 && step < total) {
      FrGanConfig c = cfg->stage == FR_GAN_STAGE_FINETUNE ? r.fixed : *fr_gan_generator_max(r.gen);
      FrGanQuality q = fr_gan_evaluate(r.gen, &c, metric, d, FR_GAN_TRAIN_IMAGES, EVAL_IMAGES);
      fr_job_emit(job, "gan.train.eval", g_variant_new("(udddd)", (guint32)step, q.fid_like, q.accuracy, q.l1, train_secs), NULL);
      fr_job_log(job, "step %" G_GINT64_FORMAT ": FID-like %.3f, accuracy %.3f, L1 %.4f (1,000 search-split images)", step,
                 q.fid_like, q.accuracy, q.l1);
    }
  }
  if (!ok) goto out;
  if (step < total) {
    fr_job_log(job, "stopped at step %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT "; --resume goes on from %s", step, total, ckpt);
    goto out;
  }
  {
    FrGanConfig c = cfg->stage == FR_GAN_STAGE_FINETUNE ? r.fixed : *fr_gan_generator_max(r.gen);
    FrGanQuality q = fr_gan_evaluate(r.gen, &c, metric, d, FR_GAN_TRAIN_IMAGES, EVAL_IMAGES);
    char fid[32], secs[32], steps_s[32];
    g_snprintf(fid, sizeof fid, "%.4f", q.fid_like);
    g_snprintf(secs, sizeof secs, "%.0f", train_secs);
    g_snprintf(steps_s, sizeof steps_s, "%d", cfg->steps);
    const char *md[] = { "stage", stage_names[cfg->stage], "steps", steps_s, "run", run_id, "fid_like_search1k", fid,
                         "train_seconds_this_session", secs, NULL };
    ok = fr_gan_generator_save(r.gen, cfg->output, md, error);
    if (ok && cfg->stage == FR_GAN_STAGE_TEACHER) {
      char *dp = disc_path(cfg->output);
      const char *dmd[] = { "format", DISC_FORMAT, "ndf", NULL, NULL };
      char ndf[16];
      g_snprintf(ndf, sizeof ndf, "%d", cfg->ndf);
      dmd[3] = ndf;
      ok = fr_param_set_save(r.disc, dp, dmd, error);
      g_free(dp);
    }
    if (ok) {
      fr_job_emit(job, "gan.train.result", g_variant_new("(dddd)", q.fid_like, q.accuracy, q.l1, train_secs), NULL);
      fr_job_log(job, "saved %s: FID-like %.3f, accuracy %.3f, L1 %.4f on 1,000 search-split images", cfg->output,
                 q.fid_like, q.accuracy, q.l1);
    }
  }
out:
  fr_pool_set_threads(old_threads);
  g_free(order);
  g_free(run_id);
  g_free(ckpt);
  fr_gan_metric_free(metric);
  fr_gan_data_free(d);
  run_clear(&r);
  return ok;
}
