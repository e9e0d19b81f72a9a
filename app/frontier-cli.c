/* frontier-cli: the headless front end. Same engine and jobs as the GUI; events become progress
 * lines on stderr, results become text or JSON on stdout. Ctrl-C cancels the running job. */
#include "frontier-cli.h"
#include "fr-classifier.h"
#include "fr-config.h"
#include "fr-model-io.h"
#include "fr-pool.h"

#include <json-glib/json-glib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static int cmd_train_classifier(int argc, char **argv) {
  FrClassifierTrainConfig cfg;
  fr_classifier_train_config_init(&cfg);
  char *output = NULL, *data_dir = NULL;
  gint64 seed = (gint64)cfg.seed;
  GOptionEntry entries[] = {
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &cfg.epochs, "Epochs (default 4)", "N" },
    { "batch-size", 'b', 0, G_OPTION_ARG_INT, &cfg.batch_size, "Batch size (default 64)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.lr, "AdamW learning rate, cosine decay (default 0.002)", "LR" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.weight_decay, "Decoupled weight decay (default 1e-4)", "WD" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &cfg.threads, "Threads (default: all cores)", "N" },
    { "max-steps", 0, 0, G_OPTION_ARG_INT, &cfg.max_steps, "Stop after N steps", "N" },
    { "train-limit", 0, 0, G_OPTION_ARG_INT, &cfg.train_limit, "Use only the first N training images", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Where to save the model (safetensors)", "PATH" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Fashion-MNIST folder", "DIR" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- train the Fashion-MNIST classifier");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  g_option_context_set_description(ctx, "The model is saved at the end of every epoch, so an interrupted run "
                                         "keeps its last finished epoch.");
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  cfg.seed = (guint64)seed;
  cfg.output = output;
  cfg.data_dir = data_dir;
  FrJob *job = fr_job_start("train-classifier", fr_classifier_train_job, fr_classifier_train_config_copy(&cfg),
                            fr_classifier_train_config_free);
  GVariant *result = NULL;
  GError *error = NULL;
  FrJobStatus st = run_job(job, &result, "train.result", &error);
  fr_job_unref(job);
  int rc = exit_for(st, error);
  if (rc == EXIT_OK && result) {
    double acc, secs, ips;
    guint32 params;
    g_variant_get(result, "(dddu)", &acc, &secs, &ips, &params);
    if (opt_json) {
      JsonBuilder *b = json_builder_new();
      json_builder_begin_object(b);
      json_builder_set_member_name(b, "test_accuracy"); json_builder_add_double_value(b, acc);
      json_builder_set_member_name(b, "seconds"); json_builder_add_double_value(b, secs);
      json_builder_set_member_name(b, "images_per_second"); json_builder_add_double_value(b, ips);
      json_builder_set_member_name(b, "parameters"); json_builder_add_int_value(b, params);
      json_builder_set_member_name(b, "threads"); json_builder_add_int_value(b, fr_pool_get_threads());
      json_builder_set_member_name(b, "output"); output ? json_builder_add_string_value(b, output) : json_builder_add_null_value(b);
      json_builder_end_object(b);
      print_json(b);
      g_object_unref(b);
    } else {
      printf("test accuracy %.2f%%, %.1f s, %.0f images/s, %u parameters%s%s\n", 100 * acc, secs, ips, params,
             output ? ", saved to " : "", output ? output : "");
    }
  }
  if (result) g_variant_unref(result);
  g_clear_error(&error);
  g_free(output);
  g_free(data_dir);
  return rc;
}

static int cmd_eval_classifier(int argc, char **argv) {
  char *model = NULL, *data_dir = NULL;
  int threads = 0;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file (default: the shipped one)", "PATH" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Fashion-MNIST folder", "DIR" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- measure the classifier on the 10k test images");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  if (threads > 0) fr_pool_set_threads(threads);
  if (!model) model = fr_data_find("classifier/classifier.safetensors");
  if (!model) {
    fprintf(stderr, "frontier-cli: no shipped classifier found; train one with `frontier-cli train classifier "
                    "-o FILE` and pass --model FILE\n");
    return EXIT_FAILED;
  }
  GError *error = NULL;
  FrClassifier *net = fr_classifier_load(model, &error);
  FrClassifierEval ev = {0};
  int rc = EXIT_OK;
  if (!net || !fr_classifier_evaluate(net, data_dir, &ev, &error)) {
    fprintf(stderr, "frontier-cli: %s\n", error->message);
    rc = EXIT_FAILED;
  } else if (opt_json) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "model"); json_builder_add_string_value(b, model);
    json_builder_set_member_name(b, "test_accuracy"); json_builder_add_double_value(b, ev.accuracy);
    json_builder_set_member_name(b, "test_loss"); json_builder_add_double_value(b, ev.loss);
    json_builder_set_member_name(b, "images"); json_builder_add_int_value(b, ev.n);
    json_builder_set_member_name(b, "seconds"); json_builder_add_double_value(b, ev.seconds);
    json_builder_end_object(b);
    print_json(b);
    g_object_unref(b);
  } else {
    printf("%s: test accuracy %.2f%% (loss %.4f) on %d images in %.2f s\n", model, 100 * ev.accuracy, ev.loss, ev.n,
           ev.seconds);
  }
  g_clear_error(&error);
  fr_classifier_free(net);
  g_free(model);
  g_free(data_dir);
  return rc;
}

typedef struct {
  const char *name, *target, *summary;
  int (*run)(int argc, char **argv);
} Command;

static const Command commands[] = {
  { "train", "classifier", "Train the Fashion-MNIST classifier (the engine's proof that it trains)", cmd_train_classifier },
  { "eval", "classifier", "Measure a classifier on the Fashion-MNIST test set", cmd_eval_classifier },
  { "sparch", "multiply", "C = A·B (or A·A, A·Aᵀ) with the CPU SpGEMM", cmd_sparch_multiply },
  { "sparch", "simulate", "Simulate SpArch or OuterSPACE on C = A·B (A·A by default)", cmd_sparch_simulate },
  { "apq", "supernet", "Train the fmnist-mini once-for-all supernet (APQ step 1)", cmd_apq_supernet },
  { "apq", "pairs", "Measure <subnet, accuracy> pairs on the supernet (--quantized: with QAT)", cmd_apq_pairs },
  { "apq", "predictor", "Fit the fp32 or quantization-aware accuracy predictor on pairs", cmd_apq_predictor },
  { "apq", "transfer-study", "Quantized-predictor quality vs pairs used, scratch vs transfer", cmd_apq_transfer_study },
  { "apq", "qat", "Quantization-aware training of one subnet; reports its test accuracy", cmd_apq_qat },
  { "apq", "search", "APQ's joint search under latency/energy/BitOps budgets (--pareto: the whole front)", cmd_apq_search },
  { "apq", "profile", "Measure this CPU's latency of every fmnist-mini layer (the this-cpu cost model)", cmd_apq_profile },
  { "gan", "train-teacher", "Train the ResNet teacher generator on edges -> Fashion-MNIST", cmd_gan_train_teacher },
  { "gan", "train-supernet", "Distill the once-for-all mobile student from the teacher", cmd_gan_train_supernet },
  { "gan", "search", "Best sub-generator of the student under a MACs budget (evolution or grid)", cmd_gan_search },
  { "gan", "finetune", "Fine-tune one sub-generator of the student", cmd_gan_finetune },
  { "gan", "eval", "FID-like score, accuracy, L1, MACs and latency of a generator", cmd_gan_eval },
  { "gan", "synth", "Synthesize an item from a sketch or picture (PNG/PGM) with a generator", cmd_gan_synth },
  { "gan", "macs", "MACs and parameters of a generator config (true and the paper's convention)", cmd_gan_macs },
  { "sparch", "generate", "Write a synthetic sparse matrix (R-MAT, stencils, banded, uniform)", cmd_sparch_generate },
  { "lsra", "bpe", "Learn, apply or invert a joint BPE vocabulary (sentencepiece style)", cmd_lsra_bpe },
  { "lsra", "bleu", "BLEU of a translation as sacreBLEU computes it (13a or tokenised)", cmd_lsra_bleu },
  { "lsra", "train", "Train an English -> German Transformer or Lite Transformer on a parallel TSV", cmd_lsra_train },
  { "lsra", "macs", "Mult-Adds and parameters of the translation models and the paper's configs", cmd_lsra_macs },
  { "lsra", "eval", "BLEU per dev set, Mult-Adds and decoding speed of a translation model", cmd_lsra_eval },
  { "translate", NULL, "Translate English to German (arguments, --input FILE or stdin; --model, --beam)", cmd_translate },
  { "profile", NULL, "Where a model spends its time per layer and op, against the roofline (no MODEL: list)", cmd_profile },
};

static void usage(FILE *f) {
  fprintf(f, "Usage: frontier-cli COMMAND [TARGET] [OPTIONS]\n\nFrontier %s, the headless workbench.\n\nCommands:\n",
          FR_VERSION);
  for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
    if (commands[i].target) fprintf(f, "  %-6s %-12s %s\n", commands[i].name, commands[i].target, commands[i].summary);
    else fprintf(f, "  %-19s %s\n", commands[i].name, commands[i].summary);
  }
  fprintf(f, "\nEvery command takes --help, --json (result on stdout) and --quiet.\n"
             "Progress goes to stderr; Ctrl-C cancels. Exit codes: 0 done, 1 failed, 2 bad usage, 130 cancelled.\n");
}

int main(int argc, char **argv) {
  setlocale(LC_ALL, "");
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("frontier-cli %s\n", FR_VERSION);
    return EXIT_OK;
  }
  for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
    if (strcmp(argv[1], commands[i].name) != 0) continue;
    if (!commands[i].target) { /* a command without a target: its options follow directly */
      char *prog = g_strdup_printf("%s %s", argv[0], argv[1]);
      argv[1] = prog;
      int rc = commands[i].run(argc - 1, argv + 1);
      g_free(prog);
      return rc;
    }
    if (argc < 3 || argv[2][0] == '-') {
      if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
        usage(stdout);
        return EXIT_OK;
      }
      fprintf(stderr, "frontier-cli: '%s' needs a target, e.g. 'frontier-cli %s %s'\n", argv[1], argv[1],
              commands[i].target);
      return EXIT_USAGE;
    }
    for (guint j = i; j < G_N_ELEMENTS(commands); j++) {
      if (!strcmp(argv[1], commands[j].name) && commands[j].target && !strcmp(argv[2], commands[j].target)) {
        /* hand GOption "frontier-cli train classifier" as the program name, then the options */
        char *prog = g_strdup_printf("%s %s %s", argv[0], argv[1], argv[2]);
        argv[2] = prog;
        int rc = commands[j].run(argc - 2, argv + 2);
        g_free(prog);
        return rc;
      }
    }
    fprintf(stderr, "frontier-cli: unknown target '%s' for '%s'\n", argv[2], argv[1]);
    return EXIT_USAGE;
  }
  fprintf(stderr, "frontier-cli: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return EXIT_USAGE;
}
