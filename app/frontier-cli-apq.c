/* frontier-cli apq supernet | qat | pairs | predictor | transfer-study: the APQ pipeline on the
 * Fashion-MNIST miniature, each step a resumable command (docs/APQ.md). */
#include "frontier-cli.h"

#include "fr-apq-pairs.h"
#include "fr-apq-qat.h"
#include "fr-apq-study.h"
#include "fr-apq-train.h"
#include "fr-model-io.h"

#include <stdio.h>
#include <string.h>

static void json_double(JsonBuilder *b, const char *k, double v) {
  json_builder_set_member_name(b, k);
  json_builder_add_double_value(b, v);
}

static int run_train(FrApqTrainConfig *cfg, gboolean qat, double predicted) {
  GError *error = NULL;
  GVariant *result = NULL;
  FrJob *job = fr_job_start(qat ? "apq-qat" : "apq-supernet", fr_apq_train_job, fr_apq_train_config_copy(cfg),
                            fr_apq_train_config_free);
  FrJobStatus st = run_job(job, &result, "apq.train.result", &error);
  fr_job_unref(job);
  if (st == FR_JOB_SUCCEEDED && result) {
    double a, b, secs;
    g_variant_get(result, "(ddd)", &a, &b, &secs);
    if (opt_json) {
      JsonBuilder *jb = json_builder_new();
      json_builder_begin_object(jb);
      json_builder_set_member_name(jb, "output");
      json_builder_add_string_value(jb, cfg->output);
      json_double(jb, qat ? "heldout_accuracy" : "largest_heldout_accuracy", a);
      json_double(jb, qat ? "test_accuracy" : "smallest_heldout_accuracy", b);
      json_double(jb, "seconds", secs);
      if (qat) {
        const FrApqSpace *sp = fr_apq_space_fmnist_mini();
        FrApqSpec spec;
        if (fr_apq_spec_from_string(sp, cfg->spec, &spec, NULL)) {
          json_builder_set_member_name(jb, "spec");
          json_builder_add_string_value(jb, cfg->spec);
          json_double(jb, "macs", fr_apq_spec_macs(sp, &spec));
          json_double(jb, "bitops", fr_apq_spec_bitops(sp, &spec));
        }
        if (predicted >= 0) json_double(jb, "predicted_accuracy", predicted);
      }
      json_builder_end_object(jb);
      print_json(jb);
      g_object_unref(jb);
    } else {
      printf("%s: held-out accuracy %.2f%%%s", cfg->output, 100 * a, qat ? "" : " (largest)");
      if (b >= 0) printf(", %s %.2f%%", qat ? "test accuracy" : "smallest", 100 * b);
      if (predicted >= 0) printf(", predicted %.2f%%", 100 * predicted);
      printf(", %.1f s\n", secs);
    }
  }
  if (result) g_variant_unref(result);
  return exit_for(st, error);
}

/* --bitops-budget / --macs-budget: the spec QAT trains comes from a predictor-driven random search */
static char *budget_spec(double mbitops, double mmacs, const char *predictor_path, int candidates, double *predicted) {
  char *path = predictor_path ? g_strdup(predictor_path) : fr_data_find("apq/predictor-quant.safetensors");
  GError *error = NULL;
  FrApqPredictor *p = path ? fr_apq_predictor_load(path, &error) : NULL;
  if (!p) {
    fprintf(stderr, "frontier-cli: %s\n", error ? error->message : "no quantized predictor: run `frontier-cli apq predictor -q` first");
    g_clear_error(&error);
    g_free(path);
    return NULL;
  }
  const FrApqSpace *sp = fr_apq_space_fmnist_mini();
  FrApqSpec best;
  FrApqBudgetKind kind = mbitops > 0 ? FR_APQ_BUDGET_BITOPS : FR_APQ_BUDGET_MACS;
  int feasible = 0;
  char *spec = NULL;
  if (fr_apq_random_search(sp, p, kind, 1e6 * (mbitops > 0 ? mbitops : mmacs), candidates, 1, &best, predicted, &feasible, &error)) {
    spec = fr_apq_spec_to_string(sp, &best);
    if (!opt_quiet)
      fprintf(stderr, "budget search: %d of %d candidates within budget; best predicted %.2f%%: %s\n", feasible, candidates,
              100 * *predicted, spec);
  } else {
    fprintf(stderr, "frontier-cli: %s\n", error->message);
    g_error_free(error);
  }
  fr_apq_predictor_free(p);
  g_free(path);
  return spec;
}

static int cmd_train(int argc, char **argv, gboolean qat) {
  double budget_mbitops = 0, budget_mmacs = 0, predicted = -1;
  char *predictor_path = NULL;
  int candidates = 20000;
  FrApqTrainConfig cfg;
  fr_apq_train_config_init(&cfg, qat);
  gint64 seed = 1;
  GOptionEntry entries[] = {
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &cfg.epochs, qat ? "Epochs (default 3)" : "Epochs (default 5)", "N" },
    { "batch-size", 'b', 0, G_OPTION_ARG_INT, &cfg.batch_size, "Batch size (default 128)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.lr, qat ? "AdamW learning rate (default 5e-4)" : "AdamW learning rate (default 3e-3)", "LR" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.weight_decay, "Decoupled weight decay (default 5e-5)", "WD" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &cfg.threads, "Threads (default: all cores)", "N" },
    { "max-steps", 0, 0, G_OPTION_ARG_INT, &cfg.max_steps, "Stop after N steps", "N" },
    { "train-limit", 0, 0, G_OPTION_ARG_INT, &cfg.train_limit, "Use only the first N training images", "N" },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &cfg.checkpoint_every, "Steps between checkpoints (default 100)", "N" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &cfg.resume, "Continue from the checkpoint if there is one", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &cfg.output, "Where to write the weights", "PATH" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &cfg.checkpoint, "Checkpoint file (default: OUTPUT.ckpt)", "PATH" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &cfg.data_dir, "Fashion-MNIST folder", "DIR" },
    { qat ? "supernet" : NULL, 0, 0, G_OPTION_ARG_FILENAME, &cfg.init, "Supernet to start from (default: the shipped one)", "PATH" },
    { "bitops-budget", 0, 0, G_OPTION_ARG_DOUBLE, &budget_mbitops, "Instead of SPEC: the best predicted subnet within this many million BitOps", "M" },
    { "macs-budget", 0, 0, G_OPTION_ARG_DOUBLE, &budget_mmacs, "Instead of SPEC: the best predicted subnet within this many million MACs", "M" },
    { "predictor", 0, 0, G_OPTION_ARG_FILENAME, &predictor_path, "Predictor for the budget search (default: the shipped quantized one)", "PATH" },
    { "candidates", 0, 0, G_OPTION_ARG_INT, &candidates, "Budget search: random candidates scored (default 20000)", "N" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new(qat ? "SPEC - quantization-aware training of one subnet, then its test accuracy"
                                                 : "- train the fmnist-mini once-for-all supernet (sandwich rule)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  gboolean by_budget = qat && (budget_mbitops > 0 || budget_mmacs > 0);
  if (qat ? (by_budget ? argc != 1 : argc != 2) : argc != 1) {
    fprintf(stderr, "frontier-cli: %s\n", qat ? "expected one SPEC (ks=..;mid=..;d=..;pw_w=..;pw_a=..;dw_w=..;dw_a=..) "
                                                "or a --bitops-budget / --macs-budget"
                                              : "unexpected argument");
    return EXIT_USAGE;
  }
  cfg.seed = (guint64)seed;
  if (qat) {
    cfg.spec = by_budget ? budget_spec(budget_mbitops, budget_mmacs, predictor_path, candidates, &predicted) : g_strdup(argv[1]);
    if (!cfg.spec) return EXIT_FAILED;
    cfg.evaluate_test = TRUE;
    if (!cfg.init) cfg.init = fr_data_find("apq/supernet.safetensors");
    if (!cfg.init) {
      fprintf(stderr, "frontier-cli: no supernet: pass --supernet or run `frontier-cli apq supernet` first\n");
      return EXIT_FAILED;
    }
  }
  if (!cfg.output) cfg.output = fr_data_default_output(qat ? "apq/qat.safetensors" : "apq/supernet.safetensors");
  int rc = run_train(&cfg, qat, predicted);
  g_free(predictor_path);
  g_free(cfg.output);
  g_free(cfg.checkpoint);
  g_free(cfg.data_dir);
  g_free(cfg.init);
  g_free(cfg.spec);
  return rc;
}

int cmd_apq_supernet(int argc, char **argv) { return cmd_train(argc, argv, FALSE); }
int cmd_apq_qat(int argc, char **argv) { return cmd_train(argc, argv, TRUE); }

int cmd_apq_pairs(int argc, char **argv) {
  gboolean quantized = FALSE;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--quantized")) quantized = TRUE;
  FrApqPairsConfig cfg;
  fr_apq_pairs_config_init(&cfg, quantized);
  gint64 seed = (gint64)cfg.seed;
  GOptionEntry entries[] = {
    { "quantized", 0, 0, G_OPTION_ARG_NONE, &quantized, "Random bit policies, each subnet briefly QAT fine-tuned", NULL },
    { "count", 'n', 0, G_OPTION_ARG_INT, &cfg.count, "Pairs (default 2000, quantized 300)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1, quantized 2)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &cfg.threads, "Subnets measured at once (default: all cores)", "N" },
    { "supernet", 0, 0, G_OPTION_ARG_FILENAME, &cfg.supernet, "Supernet weights (default: the shipped one)", "PATH" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &cfg.output, "CSV to write (a .json copy is written next to it)", "PATH" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &cfg.resume, "Keep the pairs already in the output and add the rest", NULL },
    { "calib-images", 0, 0, G_OPTION_ARG_INT, &cfg.calib_images, "Batch-norm calibration images (default 1000)", "N" },
    { "eval-images", 0, 0, G_OPTION_ARG_INT, &cfg.eval_images, "Held-out images measured (default 10000)", "N" },
    { "finetune-steps", 0, 0, G_OPTION_ARG_INT, &cfg.finetune_steps, "Quantized: QAT steps per subnet (default 80)", "N" },
    { "finetune-lr", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.finetune_lr, "Quantized: QAT learning rate (default 5e-4)", "LR" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &cfg.data_dir, "Fashion-MNIST folder", "DIR" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- measure <subnet, accuracy> pairs on the supernet (APQ steps 2 and 3)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  cfg.seed = (guint64)seed;
  if (!cfg.output) cfg.output = fr_data_default_output(quantized ? "apq/pairs-quant.csv" : "apq/pairs-fp32.csv");
  GError *error = NULL;
  GVariant *result = NULL;
  FrJob *job = fr_job_start("apq-pairs", fr_apq_pairs_job, fr_apq_pairs_config_copy(&cfg), fr_apq_pairs_config_free);
  FrJobStatus st = run_job(job, &result, "apq.pairs.result", &error);
  fr_job_unref(job);
  if (st == FR_JOB_SUCCEEDED && result) {
    guint32 n;
    double mean, secs;
    g_variant_get(result, "(udd)", &n, &mean, &secs);
    if (opt_json) {
      JsonBuilder *jb = json_builder_new();
      json_builder_begin_object(jb);
      json_builder_set_member_name(jb, "output");
      json_builder_add_string_value(jb, cfg.output);
      json_builder_set_member_name(jb, "pairs");
      json_builder_add_int_value(jb, n);
      json_double(jb, "mean_accuracy_this_run", mean);
      json_double(jb, "seconds", secs);
      json_builder_end_object(jb);
      print_json(jb);
      g_object_unref(jb);
    } else {
      printf("%s: %u pairs, mean accuracy of this run's %.2f%%, %.1f s\n", cfg.output, n, 100 * mean, secs);
    }
  }
  if (result) g_variant_unref(result);
  g_free(cfg.supernet);
  g_free(cfg.output);
  g_free(cfg.data_dir);
  return exit_for(st, error);
}

int cmd_apq_predictor(int argc, char **argv) {
  gboolean quantized = FALSE, scratch = FALSE;
  char *transfer = NULL;
  gint64 seed = 1;
  FrApqFitConfig cfg;
  fr_apq_fit_config_init(&cfg, FALSE);
  int test = 0;
  GOptionEntry entries[] = {
    { "quantized", 0, 0, G_OPTION_ARG_NONE, &quantized, "Fit the quantization-aware predictor (bits branch)", NULL },
    { "transfer-from", 0, 0, G_OPTION_ARG_FILENAME, &transfer, "Quantized: start from this fp32 predictor (default: the shipped one)", "PATH" },
    { "scratch", 0, 0, G_OPTION_ARG_NONE, &scratch, "Quantized: train from scratch instead of transferring", NULL },
    { "pairs", 'p', 0, G_OPTION_ARG_FILENAME, &cfg.pairs, "Pairs CSV (default: the shipped fp32 or quantized pairs)", "PATH" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &cfg.output, "Predictor to write (safetensors)", "PATH" },
    { "test", 0, 0, G_OPTION_ARG_INT, &test, "Pairs held out at the end of the file (default 400, quantized 60)", "N" },
    { "train-limit", 0, 0, G_OPTION_ARG_INT, &cfg.train_limit, "Train on the first N pairs only", "N" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &cfg.train.epochs, "Epochs (default 200)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.train.lr, "Adam learning rate (default 1e-3)", "LR" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- fit an APQ accuracy predictor on measured pairs (APQ step 4)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  cfg.quantized = quantized;
  cfg.test = test > 0 ? test : (quantized ? 60 : 400);
  cfg.train.seed = (guint64)seed;
  if (!cfg.pairs) cfg.pairs = fr_data_find(quantized ? "apq/pairs-quant.csv" : "apq/pairs-fp32.csv");
  if (quantized && !scratch) cfg.transfer_from = transfer ? g_strdup(transfer) : fr_data_find("apq/predictor-fp32.safetensors");
  if (!cfg.pairs || (quantized && !scratch && !cfg.transfer_from)) {
    fprintf(stderr, "frontier-cli: no %s: pass it, or run the earlier pipeline steps first\n",
                    !cfg.pairs ? "pairs file" : "fp32 predictor to transfer from");
    return EXIT_FAILED;
  }
  if (!cfg.output)
    cfg.output = fr_data_default_output(!quantized ? "apq/predictor-fp32.safetensors"
                                        : scratch ? "apq/predictor-quant-scratch.safetensors" : "apq/predictor-quant.safetensors");
  GError *error = NULL;
  GVariant *result = NULL;
  FrJob *job = fr_job_start("apq-predictor", fr_apq_fit_job, fr_apq_fit_config_copy(&cfg), fr_apq_fit_config_free);
  FrJobStatus st = run_job(job, &result, "apq.fit.result", &error);
  fr_job_unref(job);
  if (st == FR_JOB_SUCCEEDED && result) {
    double rmse, tau, trmse, ttau;
    guint32 ntr, nte;
    g_variant_get(result, "(dddduu)", &rmse, &tau, &trmse, &ttau, &ntr, &nte);
    if (opt_json) {
      JsonBuilder *jb = json_builder_new();
      json_builder_begin_object(jb);
      json_builder_set_member_name(jb, "output");
      json_builder_add_string_value(jb, cfg.output);
      json_double(jb, "test_rmse", rmse);
      json_double(jb, "test_kendall_tau", tau);
      json_double(jb, "train_rmse", trmse);
      json_double(jb, "train_kendall_tau", ttau);
      json_builder_set_member_name(jb, "train_rows");
      json_builder_add_int_value(jb, ntr);
      json_builder_set_member_name(jb, "test_rows");
      json_builder_add_int_value(jb, nte);
      json_builder_end_object(jb);
      print_json(jb);
      g_object_unref(jb);
    } else {
      printf("%s: held-out RMSE %.4f, Kendall tau %.3f (%u pairs held out; train RMSE %.4f, tau %.3f on %u)\n", cfg.output,
             rmse, tau, nte, trmse, ttau, ntr);
    }
  }
  if (result) g_variant_unref(result);
  g_free(transfer);
  fr_apq_fit_config_free(g_memdup2(&cfg, sizeof cfg));
  return exit_for(st, error);
}

static gboolean parse_sizes(const char *text, int *sizes) {
  char **parts = g_strsplit(text, ",", 8);
  int n = 0;
  gboolean ok = TRUE;
  for (int i = 0; parts[i] && ok; i++) {
    const char *t = g_strstrip(parts[i]);
    int v = !strcmp(t, "all") ? 1000000 : atoi(t);
    ok = v > 0 && n < 7;
    if (ok) sizes[n++] = v;
  }
  sizes[n] = 0;
  g_strfreev(parts);
  return ok && n > 0;
}

int cmd_apq_transfer_study(int argc, char **argv) {
  FrApqStudyConfig cfg;
  fr_apq_study_config_init(&cfg);
  char *sizes = NULL;
  GOptionEntry entries[] = {
    { "pairs", 'p', 0, G_OPTION_ARG_FILENAME, &cfg.quant_pairs, "Quantized pairs (default: the shipped ones)", "PATH" },
    { "fp32-predictor", 0, 0, G_OPTION_ARG_FILENAME, &cfg.fp32_predictor, "Transfer source (default: the shipped one)", "PATH" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &cfg.output, "Study CSV (.md table and .svg plot written next to it)", "PATH" },
    { "sizes", 0, 0, G_OPTION_ARG_STRING, &sizes, "Training-set sizes (default 25,50,100,200,all)", "LIST" },
    { "seeds", 0, 0, G_OPTION_ARG_INT, &cfg.seeds, "Seeds per size (default 5)", "N" },
    { "test", 0, 0, G_OPTION_ARG_INT, &cfg.test, "Quantized pairs held out at the end (default 60)", "N" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &cfg.train.epochs, "Epochs per fit (default 200)", "N" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &cfg.resume, "Keep the fits already in the output", NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- quantized-predictor quality against quantized pairs, with and without transfer (APQ step 5)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  if (sizes && !parse_sizes(sizes, cfg.sizes)) {
    fprintf(stderr, "frontier-cli: --sizes takes up to 7 positive counts or 'all', comma-separated\n");
    return EXIT_USAGE;
  }
  if (!cfg.quant_pairs) cfg.quant_pairs = fr_data_find("apq/pairs-quant.csv");
  if (!cfg.fp32_predictor) cfg.fp32_predictor = fr_data_find("apq/predictor-fp32.safetensors");
  if (!cfg.quant_pairs || !cfg.fp32_predictor) {
    fprintf(stderr, "frontier-cli: no %s: run the earlier pipeline steps first\n",
            !cfg.quant_pairs ? "quantized pairs" : "fp32 predictor");
    return EXIT_FAILED;
  }
  if (!cfg.output) cfg.output = fr_data_default_output("apq/transfer-study.csv");
  GError *error = NULL;
  GVariant *result = NULL;
  FrJob *job = fr_job_start("apq-study", fr_apq_study_job, fr_apq_study_config_copy(&cfg), fr_apq_study_config_free);
  FrJobStatus st = run_job(job, &result, "apq.study.result", &error);
  fr_job_unref(job);
  if (st == FR_JOB_SUCCEEDED && result) {
    guint32 rows;
    g_variant_get(result, "(u)", &rows);
    if (opt_json) {
      JsonBuilder *jb = json_builder_new();
      json_builder_begin_object(jb);
      json_builder_set_member_name(jb, "output");
      json_builder_add_string_value(jb, cfg.output);
      json_builder_set_member_name(jb, "fits");
      json_builder_add_int_value(jb, rows);
      json_builder_end_object(jb);
      print_json(jb);
      g_object_unref(jb);
    } else {
      printf("%s: %u fits (table and plot next to it)\n", cfg.output, rows);
    }
  }
  if (result) g_variant_unref(result);
  g_free(sizes);
  fr_apq_study_config_free(g_memdup2(&cfg, sizeof cfg));
  return exit_for(st, error);
}
