/* frontier-cli-lsra-train.c: `frontier-cli lsra train | macs`, training the English -> German
 * translation models on a parallel TSV, and their Mult-Adds and parameters (docs/LSRA.md). */
#include "frontier-cli.h"

#include "fr-lsra-macs.h"
#include "fr-lsra-model.h"
#include "fr-lsra-train.h"
#include "fr-model-io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void json_int(JsonBuilder *b, const char *k, gint64 v) {
  json_builder_set_member_name(b, k);
  json_builder_add_int_value(b, v);
}

/* NaN and infinities as null */
static void json_double(JsonBuilder *b, const char *k, double v) {
  json_builder_set_member_name(b, k);
  isfinite(v) ? json_builder_add_double_value(b, v) : json_builder_add_null_value(b);
}

static void json_string(JsonBuilder *b, const char *k, const char *v) {
  json_builder_set_member_name(b, k);
  v ? json_builder_add_string_value(b, v) : json_builder_add_null_value(b);
}

static char *model_names(void) { return g_strjoinv(", ", (char **)fr_lsra_mobile_names()); }

static gboolean is_mobile(const char *name) {
  FrLsraConfig c;
  return name && fr_lsra_config_mobile(name, 8000, &c);
}

/* ---- train ------------------------------------------------------------------------------------ */

static gboolean need_file(const char *what, const char *path) {
  if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) return TRUE;
  fprintf(stderr, "frontier-cli: %s %s: %s\n", what, path,
          g_file_test(path, G_FILE_TEST_EXISTS) ? "not a regular file" : "no such file");
  return FALSE;
}

int cmd_lsra_train(int argc, char **argv) {
  FrLsraTrainConfig cfg;
  fr_lsra_train_config_init(&cfg);
  char *model = NULL, *bpe = NULL, *train = NULL, **dev = NULL, *schedule = NULL, *output = NULL, *checkpoint = NULL;
  double dropout = cfg.opts.dropout, attn_dropout = cfg.opts.attn_dropout, act_dropout = cfg.opts.act_dropout,
         weight_dropout = cfg.opts.weight_dropout, label_smoothing = cfg.opts.label_smoothing;
  gint64 seed = (gint64)cfg.seed;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "Which model: transformer-small, lite-small, transformer, lite (required)", "NAME" },
    { "train", 0, 0, G_OPTION_ARG_FILENAME, &train, "Training pairs, English<TAB>German per line (required)", "TSV" },
    { "dev", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &dev, "Dev pairs for the dev loss (repeatable)", "TSV" },
    { "bpe", 0, 0, G_OPTION_ARG_FILENAME, &bpe, "Joint BPE model (default: the shipped data/lsra/bpe.model)", "PATH" },
    { "steps", 's', 0, G_OPTION_ARG_INT, &cfg.steps, "Updates (default 20000)", "N" },
    { "max-tokens", 0, 0, G_OPTION_ARG_INT, &cfg.max_tokens, "Padded tokens per batch (default 4096)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.lr, "Peak learning rate (default 1e-3)", "LR" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &cfg.warmup, "Linear warm-up steps (default 1000)", "N" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule, "inverse-sqrt (default) or cosine", "NAME" },
    { "min-lr", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.min_lr, "Cosine schedule's final learning rate (default 1e-7)", "LR" },
    { "adam-beta2", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.beta2, "Adam's beta2 (default 0.98)", "B" },
    { "clip-norm", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.clip_norm, "Clip the gradient norm (default 0: off)", "N" },
    { "dropout", 0, 0, G_OPTION_ARG_DOUBLE, &dropout, "Dropout after embeddings and sublayers (default 0.1)", "P" },
    { "attn-dropout", 0, 0, G_OPTION_ARG_DOUBLE, &attn_dropout, "Dropout on attention weights (default 0)", "P" },
    { "act-dropout", 0, 0, G_OPTION_ARG_DOUBLE, &act_dropout, "Dropout after the FFN's ReLU (default 0)", "P" },
    { "weight-dropout", 0, 0, G_OPTION_ARG_DOUBLE, &weight_dropout, "Dropout on convolution kernels (default 0.1)", "P" },
    { "label-smoothing", 0, 0, G_OPTION_ARG_DOUBLE, &label_smoothing, "Label smoothing (default 0.1)", "EPS" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &cfg.threads, "Threads (default: all cores)", "N" },
    { "train-limit", 0, 0, G_OPTION_ARG_INT, &cfg.train_limit, "Use only the first N usable training pairs", "N" },
    { "dev-limit", 0, 0, G_OPTION_ARG_INT, &cfg.dev_limit, "Pairs from the start of each dev file (default 200)", "N" },
    { "eval-every", 0, 0, G_OPTION_ARG_INT, &cfg.eval_every, "Steps between dev losses (default 1000; 0: at the end)", "N" },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &cfg.checkpoint_every, "Steps between checkpoints (default 200)", "N" },
    { "stop-after", 0, 0, G_OPTION_ARG_INT, &cfg.stop_after, "Checkpoint and stop once N steps are done (resume later)", "N" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &cfg.resume, "Continue from the checkpoint if there is one", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Model file to write (default: data/lsra/NAME.safetensors)", "PATH" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, "Checkpoint file (default: OUTPUT.ckpt)", "PATH" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- train an English -> German translation model (Transformer or Lite Transformer)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  g_option_context_set_description(
      ctx, "fairseq's recipe: token batches, label-smoothed cross-entropy, Adam (0.9, 0.98), warm-up then inverse\n"
           "square root. The training pairs are not shipped: pass the corpus' train.en-de.tsv (or any TSV).\n"
           "Checkpoints every --checkpoint-every steps; --resume continues bit for bit with the same settings.");
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  int rc = EXIT_OK;
  if (!ok) {
    rc = EXIT_USAGE;
    goto out;
  }
  if (argc != 1) {
    fprintf(stderr, "frontier-cli: unexpected argument %s\n", argv[1]);
    rc = EXIT_USAGE;
    goto out;
  }
  if (!model || !is_mobile(model)) {
    char *names = model_names();
    if (model) fprintf(stderr, "frontier-cli: unknown model '%s' (one of %s)\n", model, names);
    else fprintf(stderr, "frontier-cli: --model is required (one of %s)\n", names);
    g_free(names);
    rc = EXIT_USAGE;
    goto out;
  }
  if (!train) {
    fprintf(stderr, "frontier-cli: --train TSV is required (English<TAB>German per line, e.g. the corpus' "
                    "train.en-de.tsv)\n");
    rc = EXIT_USAGE;
    goto out;
  }
  if (schedule && strcmp(schedule, "inverse-sqrt") && strcmp(schedule, "inverse_sqrt") && strcmp(schedule, "cosine")) {
    fprintf(stderr, "frontier-cli: unknown schedule '%s' (inverse-sqrt or cosine)\n", schedule);
    rc = EXIT_USAGE;
    goto out;
  }
  if (!bpe) bpe = fr_data_find("lsra/bpe.model");
  if (!bpe) {
    fprintf(stderr, "frontier-cli: no shipped BPE model (data/lsra/bpe.model); pass --bpe PATH (made by "
                    "`frontier-cli lsra bpe --train`)\n");
    rc = EXIT_USAGE;
    goto out;
  }
  if (!need_file("BPE model", bpe) || !need_file("training pairs", train)) {
    rc = EXIT_USAGE;
    goto out;
  }
  for (char **d = dev; d && *d; d++)
    if (!need_file("dev pairs", *d)) {
      rc = EXIT_USAGE;
      goto out;
    }
  if (!output) {
    char *rel = g_strdup_printf("lsra/%s.safetensors", model);
    output = fr_data_default_output(rel);
    g_free(rel);
  }
  cfg.model = model;
  cfg.bpe = bpe;
  cfg.train = train;
  cfg.dev = (const char *const *)dev;
  cfg.schedule = schedule && !strcmp(schedule, "cosine") ? FR_LSRA_SCHED_COSINE : FR_LSRA_SCHED_INVSQRT;
  cfg.opts.dropout = (float)dropout;
  cfg.opts.attn_dropout = (float)attn_dropout;
  cfg.opts.act_dropout = (float)act_dropout;
  cfg.opts.weight_dropout = (float)weight_dropout;
  cfg.opts.label_smoothing = (float)label_smoothing;
  cfg.seed = (guint64)seed;
  cfg.output = output;
  cfg.checkpoint = checkpoint;
  {
    GError *error = NULL;
    GVariant *result = NULL;
    FrJob *job = fr_job_start("lsra-train", fr_lsra_train_job, fr_lsra_train_config_copy(&cfg), fr_lsra_train_config_free);
    FrJobStatus st = run_job(job, &result, "lsra.train.result", &error);
    fr_job_unref(job);
    rc = exit_for(st, error);
    g_clear_error(&error);
    if (rc == EXIT_OK) {
      double dev_nll = NAN, dev_ppl = NAN, loss = NAN, nll = NAN, secs = 0, tps = 0;
      gint64 params = 0;
      if (result) g_variant_get(result, "(ddddddx)", &dev_nll, &dev_ppl, &loss, &nll, &secs, &tps, &params);
      if (opt_json) {
        JsonBuilder *jb = json_builder_new();
        json_builder_begin_object(jb);
        json_string(jb, "model", model);
        json_string(jb, "output", output);
        json_builder_set_member_name(jb, "finished");
        json_builder_add_boolean_value(jb, result != NULL);
        if (result) {
          json_int(jb, "steps", cfg.steps);
          json_double(jb, "dev_nll", dev_nll);
          json_double(jb, "dev_ppl", dev_ppl);
          json_double(jb, "train_loss", loss);
          json_double(jb, "train_nll", nll);
          json_double(jb, "seconds", secs);
          json_double(jb, "tokens_per_second", tps);
          json_int(jb, "parameters", params);
        }
        json_builder_end_object(jb);
        print_json(jb);
        g_object_unref(jb);
      } else if (result) {
        if (isfinite(dev_nll))
          printf("%s: %s, %d steps: dev NLL %.3f (perplexity %.2f), train loss %.3f; %.0f s this session, %.0f target "
                 "tokens/s\n", output, model, cfg.steps, dev_nll, dev_ppl, loss, secs, tps);
        else
          printf("%s: %s, %d steps: train loss %.3f (NLL %.3f); %.0f s this session, %.0f target tokens/s\n", output,
                 model, cfg.steps, loss, nll, secs, tps);
      }
    }
    if (result) g_variant_unref(result);
  }
out:
  g_free(model), g_free(bpe), g_free(train), g_strfreev(dev), g_free(schedule), g_free(output), g_free(checkpoint);
  return rc;
}

/* ---- macs ------------------------------------------------------------------------------------- */

static void macs_json(JsonBuilder *jb, const FrLsraConfig *c, const FrLsraPreset *p) {
  FrLsraMacs m = fr_lsra_macs(c, 30, 30);
  FrLsraParams pr = fr_lsra_params(c);
  json_builder_begin_object(jb);
  json_string(jb, "name", c->name);
  json_string(jb, "arch", c->arch == FR_LSRA_ARCH_LITE ? "lite" : "transformer");
  json_int(jb, "d_model", c->d_model);
  json_int(jb, "enc_layers", c->enc_layers);
  json_int(jb, "dec_layers", c->dec_layers);
  json_int(jb, "heads", c->heads);
  json_int(jb, "ffn_dim", c->ffn_dim);
  if (c->arch == FR_LSRA_ARCH_LITE) {
    json_int(jb, "attn_dim", c->attn_dim);
    json_int(jb, "conv_heads", c->conv_heads);
    json_string(jb, "conv", c->conv == FR_LSRA_CONV_DYNAMIC ? "dynamic" : "lightweight");
    json_builder_set_member_name(jb, "glu");
    json_builder_add_boolean_value(jb, c->glu);
    json_builder_set_member_name(jb, "enc_kernels");
    json_builder_begin_array(jb);
    for (int l = 0; l < c->enc_layers; l++) json_builder_add_int_value(jb, c->enc_kernels[l]);
    json_builder_end_array(jb);
  }
  json_int(jb, "vocab", c->src_vocab);
  json_double(jb, "mult_adds", m.total);
  json_builder_set_member_name(jb, "breakdown");
  json_builder_begin_object(jb);
  json_double(jb, "enc_linear", m.enc_linear);
  json_double(jb, "enc_attn", m.enc_attn);
  json_double(jb, "enc_conv", m.enc_conv);
  json_double(jb, "dec_linear", m.dec_linear);
  json_double(jb, "dec_attn", m.dec_attn);
  json_double(jb, "dec_conv", m.dec_conv);
  json_builder_end_object(jb);
  json_int(jb, "params", pr.body);
  json_int(jb, "params_embeddings", pr.embeddings);
  json_int(jb, "params_total", pr.total);
  if (p) {
    json_double(jb, "paper_mult_adds_m", p->paper_mult_adds > 0 ? p->paper_mult_adds : NAN);
    json_double(jb, "paper_params_m", p->paper_params > 0 ? p->paper_params : NAN);
    json_string(jb, "source", p->source);
  }
  json_builder_end_object(jb);
}

static void macs_header(void) {
  printf("%-18s %-11s %4s %5s %9s %9s %9s %9s %9s %9s %9s %8s %8s %s\n", "name", "arch", "d", "L", "Mult-Adds",
         "enc.lin", "enc.attn", "enc.conv", "dec.lin", "dec.attn", "dec.conv", "#params", "+embed", "paper");
}

static void macs_row(const FrLsraConfig *c, const FrLsraPreset *p) {
  FrLsraMacs m = fr_lsra_macs(c, 30, 30);
  FrLsraParams pr = fr_lsra_params(c);
  char layers[16], paper[48] = "";
  g_snprintf(layers, sizeof layers, "%d+%d", c->enc_layers, c->dec_layers);
  if (p && p->paper_mult_adds > 0 && p->paper_params > 0)
    g_snprintf(paper, sizeof paper, "%.1fM, %.1fM", p->paper_mult_adds, p->paper_params);
  else if (p && p->paper_mult_adds > 0)
    g_snprintf(paper, sizeof paper, "%.0fM", p->paper_mult_adds);
  printf("%-18s %-11s %4d %5s %8.2fM %8.2fM %8.2fM %8.2fM %8.2fM %8.2fM %8.2fM %7.2fM %7.2fM %s\n", c->name,
         c->arch == FR_LSRA_ARCH_LITE ? "lite" : "transformer", c->d_model, layers, m.total / 1e6, m.enc_linear / 1e6,
         m.enc_attn / 1e6, m.enc_conv / 1e6, m.dec_linear / 1e6, m.dec_attn / 1e6, m.dec_conv / 1e6, pr.body / 1e6,
         pr.embeddings / 1e6, paper);
}

int cmd_lsra_macs(int argc, char **argv) {
  char *model = NULL, *preset = NULL;
  int vocab = 0;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "One of Frontier's models: transformer-small, lite-small, transformer, lite", "NAME" },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset, "One of the paper's configurations (transformer-128, lite-200, ...)", "NAME" },
    { "vocab", 0, 0, G_OPTION_ARG_INT, &vocab, "Vocabulary for the embedding parameters (default 8000 for Frontier's models, none for presets)", "N" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("[NAME] - Mult-Adds (30 + 30 tokens, the paper's convention) and parameters; all when no name is given");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  int rc = EXIT_OK;
  if (!ok) {
    rc = EXIT_USAGE;
    goto out;
  }
  if (argc > 2 || (argc == 2 && (model || preset)) || (model && preset)) {
    fprintf(stderr, "frontier-cli: give one NAME, --model NAME or --preset NAME (or none for all)\n");
    rc = EXIT_USAGE;
    goto out;
  }
  if (vocab < 0 || vocab > 10000000 || (vocab > 0 && vocab <= FR_LSRA_BPE_N_SPECIAL)) {
    fprintf(stderr, "frontier-cli: --vocab must be 5..10,000,000\n");
    rc = EXIT_USAGE;
    goto out;
  }
  if (argc == 2) {
    if (is_mobile(argv[1])) model = g_strdup(argv[1]);
    else preset = g_strdup(argv[1]);
  }
  FrLsraConfig one;
  const FrLsraPreset *one_p = NULL;
  if (model && !fr_lsra_config_mobile(model, vocab > 0 ? vocab : 8000, &one)) {
    char *names = model_names();
    fprintf(stderr, "frontier-cli: unknown model '%s' (one of %s)\n", model, names);
    g_free(names);
    rc = EXIT_USAGE;
    goto out;
  }
  if (preset) {
    one_p = fr_lsra_preset_find(preset);
    if (!one_p) {
      GString *s = g_string_new(NULL);
      for (const FrLsraPreset *p = fr_lsra_presets(); p->config.name; p++)
        g_string_append_printf(s, "%s%s", s->len ? ", " : "", p->config.name);
      fprintf(stderr, "frontier-cli: unknown model or preset '%s' (models: ", preset);
      char *names = model_names();
      fprintf(stderr, "%s; presets: %s)\n", names, s->str);
      g_free(names);
      g_string_free(s, TRUE);
      rc = EXIT_USAGE;
      goto out;
    }
    one = one_p->config;
    if (vocab > 0) one.src_vocab = one.tgt_vocab = vocab;
  }
  if (model || preset) {
    if (opt_json) {
      JsonBuilder *jb = json_builder_new();
      macs_json(jb, &one, one_p);
      print_json(jb);
      g_object_unref(jb);
    } else {
      macs_header();
      macs_row(&one, one_p);
    }
    goto out;
  }
  /* everything: Frontier's models, then the paper's configurations */
  JsonBuilder *jb = opt_json ? json_builder_new() : NULL;
  if (jb) {
    json_builder_begin_object(jb);
    json_builder_set_member_name(jb, "models");
    json_builder_begin_array(jb);
  } else {
    printf("Frontier's models (3+3 layers, vocabulary %d):\n", vocab > 0 ? vocab : 8000);
    macs_header();
  }
  for (const char *const *n = fr_lsra_mobile_names(); *n; n++) {
    FrLsraConfig c;
    fr_lsra_config_mobile(*n, vocab > 0 ? vocab : 8000, &c);
    jb ? macs_json(jb, &c, NULL) : macs_row(&c, NULL);
  }
  if (jb) {
    json_builder_end_array(jb);
    json_builder_set_member_name(jb, "presets");
    json_builder_begin_array(jb);
  } else {
    printf("\nThe paper's configurations (6+6 layers; paper: Mult-Adds, #Params without embeddings):\n");
    macs_header();
  }
  for (const FrLsraPreset *p = fr_lsra_presets(); p->config.name; p++) {
    FrLsraConfig c = p->config;
    if (vocab > 0) c.src_vocab = c.tgt_vocab = vocab;
    jb ? macs_json(jb, &c, p) : macs_row(&c, p);
  }
  if (jb) {
    json_builder_end_array(jb);
    json_builder_end_object(jb);
    print_json(jb);
    g_object_unref(jb);
  } else {
    printf("\nMult-Adds of one 30-token source and 30-token target; embeddings and the output projection not counted.\n");
  }
out:
  g_free(model);
  g_free(preset);
  return rc;
}
