/* frontier-cli-gan.c: `frontier-cli gan train-teacher | train-supernet | finetune | search | eval | synth | macs`,
 * GAN Compression on the edges -> Fashion-MNIST miniature (docs/GAN.md). */
#include "frontier-cli.h"

#include "fr-gan-train.h"
#include "fr-model-io.h"

#include <cairo.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fr-pool.h"

static void json_double(JsonBuilder *b, const char *k, double v) {
  json_builder_set_member_name(b, k);
  json_builder_add_double_value(b, v);
}

static void json_string(JsonBuilder *b, const char *k, const char *v) {
  json_builder_set_member_name(b, k);
  json_builder_add_string_value(b, v);
}

static int fail(GError *error) {
  fprintf(stderr, "frontier-cli: %s\n", error->message);
  g_error_free(error);
  return EXIT_FAILED;
}

/* ---- training --------------------------------------------------------------------------------- */

static int cmd_train(int argc, char **argv, FrGanStage stage) {
  FrGanTrainConfig cfg;
  fr_gan_train_config_init(&cfg, stage);
  gint64 seed = 1;
  char *output = NULL, *checkpoint = NULL, *data_dir = NULL, *teacher = NULL, *init = NULL, *config = NULL;
  GOptionEntry entries[] = {
    { "steps", 's', 0, G_OPTION_ARG_INT, &cfg.steps, "Training steps (default 3000)", "N" },
    { "batch-size", 'b', 0, G_OPTION_ARG_INT, &cfg.batch_size, "Batch size (default 16)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.lr, "Adam learning rate (default 2e-4; linear decay over the second half)", "LR" },
    { "ngf", 0, 0, G_OPTION_ARG_INT, &cfg.ngf, "Stem width of the generator (default 16)", "N" },
    { "ndf", 0, 0, G_OPTION_ARG_INT, &cfg.ndf, "Discriminator width (default 32)", "N" },
    { "lambda-l1", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.lambda_l1, "Weight of the L1 reconstruction loss (default 100)", "W" },
    { stage == FR_GAN_STAGE_TEACHER ? NULL : "lambda-distill", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.lambda_distill,
      "Weight of the distillation loss (default 1)", "W" },
    { stage == FR_GAN_STAGE_TEACHER ? NULL : "unpaired", 0, 0, G_OPTION_ARG_NONE, &cfg.unpaired,
      "Reconstruct the teacher's output instead of the ground truth", NULL },
    { stage == FR_GAN_STAGE_SUPERNET ? "sandwich" : NULL, 0, 0, G_OPTION_ARG_NONE, &cfg.sandwich,
      "Sandwich rule: the widest and narrowest sub-generators train every step too", NULL },
    { stage == FR_GAN_STAGE_TEACHER ? NULL : "teacher", 0, 0, G_OPTION_ARG_FILENAME, &teacher,
      "Teacher generator (default: the shipped one)", "PATH" },
    { stage == FR_GAN_STAGE_FINETUNE ? "supernet" : NULL, 0, 0, G_OPTION_ARG_FILENAME, &init,
      "Once-for-all student to start from (default: the shipped one)", "PATH" },
    { stage == FR_GAN_STAGE_FINETUNE ? "config" : NULL, 'c', 0, G_OPTION_ARG_STRING, &config,
      "The student's config, e.g. 8_8_12_8_8_8_8_8", "CONFIG" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &cfg.threads, "Threads (default: all cores)", "N" },
    { "train-limit", 0, 0, G_OPTION_ARG_INT, &cfg.train_limit, "Use only the first N training images", "N" },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &cfg.checkpoint_every, "Steps between checkpoints (default 100)", "N" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &cfg.resume, "Continue from the checkpoint if there is one", NULL },
    { "stop-after", 0, 0, G_OPTION_ARG_INT, &cfg.stop_after, "Checkpoint and stop once N steps are done (resume later)", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Where to write the generator", "PATH" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, "Checkpoint file (default: OUTPUT.ckpt)", "PATH" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Fashion-MNIST folder", "DIR" },
    { NULL },
  };
  static const char *const what[] = {
    "- train the ResNet teacher (pix2pix: hinge GAN + 100 L1) on edges -> Fashion-MNIST",
    "- distill the once-for-all mobile student from the teacher (a random sub-generator each step)",
    "- fine-tune one sub-generator of the once-for-all student with the same losses",
  };
  /* options that do not apply to this stage have no name: drop them (a nameless entry ends the list) */
  GOptionEntry used[G_N_ELEMENTS(entries)];
  int n_used = 0;
  for (guint i = 0; i + 1 < G_N_ELEMENTS(entries); i++)
    if (entries[i].long_name) used[n_used++] = entries[i];
  used[n_used] = (GOptionEntry){ NULL };
  GOptionContext *ctx = g_option_context_new(what[stage]);
  g_option_context_add_main_entries(ctx, used, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  if (argc != 1) {
    fprintf(stderr, "frontier-cli: unexpected argument %s\n", argv[1]);
    return EXIT_USAGE;
  }
  cfg.seed = (guint64)seed;
  static const char *const default_out[] = { "gan/teacher.safetensors", "gan/supernet.safetensors", "gan/student.safetensors" };
  cfg.output = output ? output : (output = fr_data_default_output(default_out[stage]));
  cfg.checkpoint = checkpoint;
  cfg.data_dir = data_dir;
  if (stage != FR_GAN_STAGE_TEACHER && !teacher) teacher = fr_data_find("gan/teacher.safetensors");
  if (stage == FR_GAN_STAGE_FINETUNE && !init) init = fr_data_find("gan/supernet.safetensors");
  if (stage != FR_GAN_STAGE_TEACHER && !teacher) {
    fprintf(stderr, "frontier-cli: no teacher: pass --teacher or run `frontier-cli gan train-teacher` first\n");
    return EXIT_FAILED;
  }
  if (stage == FR_GAN_STAGE_FINETUNE && !init) {
    fprintf(stderr, "frontier-cli: no supernet: pass --supernet or run `frontier-cli gan train-supernet` first\n");
    return EXIT_FAILED;
  }
  if (stage == FR_GAN_STAGE_FINETUNE && !config) {
    fprintf(stderr, "frontier-cli: fine-tuning needs --config (e.g. from `frontier-cli gan search`)\n");
    return EXIT_USAGE;
  }
  cfg.teacher = teacher;
  cfg.init = init;
  cfg.config = config;
  GError *error = NULL;
  GVariant *result = NULL;
  static const char *const job_names[] = { "gan-teacher", "gan-supernet", "gan-finetune" };
  FrJob *job = fr_job_start(job_names[stage], fr_gan_train_job, fr_gan_train_config_copy(&cfg), fr_gan_train_config_free);
  FrJobStatus st = run_job(job, &result, "gan.train.result", &error);
  fr_job_unref(job);
  if (st == FR_JOB_SUCCEEDED && result) {
    double fid, acc, l1, secs;
    g_variant_get(result, "(dddd)", &fid, &acc, &l1, &secs);
    if (opt_json) {
      JsonBuilder *jb = json_builder_new();
      json_builder_begin_object(jb);
      json_string(jb, "output", cfg.output);
      json_double(jb, "fid_like", fid);
      json_double(jb, "accuracy", acc);
      json_double(jb, "l1", l1);
      json_double(jb, "seconds", secs);
      json_builder_end_object(jb);
      print_json(jb);
      g_object_unref(jb);
    } else {
      printf("%s: FID-like %.3f, classifier accuracy %.2f%%, L1 %.4f (1,000 search-split images), %.0f s\n", cfg.output,
             fid, 100 * acc, l1, secs);
    }
  }
  if (result) g_variant_unref(result);
  g_free(output), g_free(checkpoint), g_free(data_dir), g_free(teacher), g_free(init), g_free(config);
  return exit_for(st, error);
}

int cmd_gan_train_teacher(int argc, char **argv) { return cmd_train(argc, argv, FR_GAN_STAGE_TEACHER); }
int cmd_gan_train_supernet(int argc, char **argv) { return cmd_train(argc, argv, FR_GAN_STAGE_SUPERNET); }
int cmd_gan_finetune(int argc, char **argv) { return cmd_train(argc, argv, FR_GAN_STAGE_FINETUNE); }

/* ---- macs ------------------------------------------------------------------------------------- */

int cmd_gan_macs(int argc, char **argv) {
  gboolean mobile = FALSE, layers = FALSE;
  int size = FR_GAN_SIZE, channels = 1;
  GOptionEntry entries[] = {
    { "mobile", 'm', 0, G_OPTION_ARG_NONE, &mobile, "A mobile (student) generator; default: ResNet", NULL },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, "Image side (default 32; the paper's is 256)", "N" },
    { "channels", 0, 0, G_OPTION_ARG_INT, &channels, "Image channels in and out (default 1; the paper's is 3)", "N" },
    { "layers", 0, 0, G_OPTION_ARG_NONE, &layers, "Per-layer rows", NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("CONFIG - MACs and parameters of a generator config (both MAC conventions)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  if (argc != 2) {
    fprintf(stderr, "frontier-cli: expected one CONFIG such as 64_64_64_64_64_64_64_64\n");
    return EXIT_USAGE;
  }
  if (size < 4 || size > 4096 || size % 4 || channels < 1 || channels > 16) {
    fprintf(stderr, "frontier-cli: --size must be a multiple of 4 in 4..4096 and --channels 1..16\n");
    return EXIT_USAGE;
  }
  FrGanConfig c;
  GError *error = NULL;
  if (!fr_gan_config_parse(argv[1], &c, &error)) return fail(error);
  FrGanKind kind = mobile ? FR_GAN_MOBILE : FR_GAN_RESNET;
  FrGanCost cost = fr_gan_cost(kind, &c, channels, channels, size, size);
  FrGanLayerCost rows[64];
  int n = fr_gan_layer_costs(kind, &c, channels, channels, size, size, rows, 64);
  if (opt_json) {
    JsonBuilder *jb = json_builder_new();
    json_builder_begin_object(jb);
    json_string(jb, "config", argv[1]);
    json_string(jb, "kind", mobile ? "mobile" : "resnet");
    json_double(jb, "macs", cost.macs);
    json_double(jb, "macs_paper", cost.macs_paper);
    json_double(jb, "params", cost.params);
    if (layers) {
      json_builder_set_member_name(jb, "layers");
      json_builder_begin_array(jb);
      for (int i = 0; i < n; i++) {
        json_builder_begin_object(jb);
        json_string(jb, "name", rows[i].name);
        json_double(jb, "macs", rows[i].macs);
        json_double(jb, "params", rows[i].params);
        json_builder_end_object(jb);
      }
      json_builder_end_array(jb);
    }
    json_builder_end_object(jb);
    print_json(jb);
    g_object_unref(jb);
  } else {
    if (layers)
      for (int i = 0; i < n; i++)
        printf("%-14s %4d -> %4d  k%d  %4dx%-4d  %12.0f MACs  %9.0f params\n", rows[i].name, rows[i].cin, rows[i].cout,
               rows[i].k, rows[i].out_h, rows[i].out_w, rows[i].macs, rows[i].params);
    printf("%s %s at %dx%d: %.4g MACs (paper's convention %.4g), %.4g parameters\n", mobile ? "mobile" : "resnet", argv[1],
           size, size, cost.macs, cost.macs_paper, cost.params);
  }
  return EXIT_OK;
}

/* ---- search ----------------------------------------------------------------------------------- */

int cmd_gan_search(int argc, char **argv) {
  FrGanSearchConfig cfg;
  fr_gan_search_config_init(&cfg);
  gboolean use_grid = FALSE;
  double budget = 0, budget_m = 0, reduction = 0;
  gint64 seed = 1;
  char *supernet = NULL, *output = NULL, *data_dir = NULL, *classifier = NULL, *teacher = NULL;
  GOptionEntry entries[] = {
    { "budget", 0, 0, G_OPTION_ARG_DOUBLE, &budget, "MACs budget per 32x32 image (true MACs)", "MACS" },
    { "budget-m", 0, 0, G_OPTION_ARG_DOUBLE, &budget_m, "The budget in millions of MACs", "M" },
    { "reduction", 0, 0, G_OPTION_ARG_DOUBLE, &reduction, "The budget as a MACs reduction of the teacher, e.g. 10", "X" },
    { "grid", 0, 0, G_OPTION_ARG_NONE, &use_grid, "Brute force over the coarse grid instead of evolution", NULL },
    { "population", 0, 0, G_OPTION_ARG_INT, &cfg.population, "Evolution: population (default 16)", "N" },
    { "generations", 0, 0, G_OPTION_ARG_INT, &cfg.generations, "Evolution: generations (default 8)", "N" },
    { "eval-images", 0, 0, G_OPTION_ARG_INT, &cfg.eval_images, "Search-split images per candidate (default 2000)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &cfg.threads, "Threads (default: all cores)", "N" },
    { "supernet", 0, 0, G_OPTION_ARG_FILENAME, &supernet, "Once-for-all student (default: the shipped one)", "PATH" },
    { "teacher", 0, 0, G_OPTION_ARG_FILENAME, &teacher, "Teacher, scored on the same images (default: the shipped one)", "PATH" },
    { "classifier", 0, 0, G_OPTION_ARG_FILENAME, &classifier, "Classifier for the FID-like score (default: shipped)", "PATH" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "JSON of every candidate and the winner", "PATH" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Fashion-MNIST folder", "DIR" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- the best sub-generator of the once-for-all student under a MACs budget");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  if (argc != 1) {
    fprintf(stderr, "frontier-cli: unexpected argument %s\n", argv[1]);
    return EXIT_USAGE;
  }
  if (!supernet) supernet = fr_data_find("gan/supernet.safetensors");
  if (!teacher) teacher = fr_data_find("gan/teacher.safetensors");
  if (!supernet) {
    fprintf(stderr, "frontier-cli: no supernet: pass --supernet or run `frontier-cli gan train-supernet` first\n");
    return EXIT_FAILED;
  }
  if (budget_m > 0) budget = budget_m * 1e6;
  if (reduction > 0) {
    GError *error = NULL;
    FrGanGenerator *t = teacher ? fr_gan_generator_load(teacher, &error) : NULL;
    if (!t) {
      if (error) return fail(error);
      fprintf(stderr, "frontier-cli: --reduction needs the teacher (--teacher)\n");
      return EXIT_FAILED;
    }
    budget = fr_gan_cost(FR_GAN_RESNET, fr_gan_generator_max(t), 1, 1, FR_GAN_SIZE, FR_GAN_SIZE).macs / reduction;
    fr_gan_generator_free(t);
  }
  if (!(budget > 0)) {
    fprintf(stderr, "frontier-cli: give a budget: --budget MACS, --budget-m M or --reduction X\n");
    return EXIT_USAGE;
  }
  cfg.mode = use_grid ? FR_GAN_SEARCH_GRID : FR_GAN_SEARCH_EVOLUTION;
  cfg.budget_macs = budget;
  cfg.seed = (guint64)seed;
  cfg.supernet = supernet;
  cfg.teacher = teacher;
  cfg.classifier = classifier;
  cfg.output = output;
  cfg.data_dir = data_dir;
  GError *error = NULL;
  GVariant *result = NULL;
  FrJob *job = fr_job_start("gan-search", fr_gan_search_job, fr_gan_search_config_copy(&cfg), fr_gan_search_config_free);
  FrJobStatus st = run_job(job, &result, "gan.search.result", &error);
  fr_job_unref(job);
  if (st == FR_JOB_SUCCEEDED && result) {
    const char *config;
    double macs, macs_paper, fid, acc, l1;
    g_variant_get(result, "(&sddddd)", &config, &macs, &macs_paper, &fid, &acc, &l1);
    if (opt_json) {
      JsonBuilder *jb = json_builder_new();
      json_builder_begin_object(jb);
      json_string(jb, "config", config);
      json_double(jb, "budget_macs", budget);
      json_double(jb, "macs", macs);
      json_double(jb, "macs_paper", macs_paper);
      json_double(jb, "fid_like", fid);
      json_double(jb, "accuracy", acc);
      json_double(jb, "l1", l1);
      json_builder_end_object(jb);
      print_json(jb);
      g_object_unref(jb);
    } else {
      printf("best within %.4g MACs: %s, %.4g MACs (paper's convention %.4g), FID-like %.3f, accuracy %.2f%%, L1 %.4f\n",
             budget, config, macs, macs_paper, fid, 100 * acc, l1);
    }
  }
  if (result) g_variant_unref(result);
  g_free(supernet), g_free(output), g_free(data_dir), g_free(classifier), g_free(teacher);
  return exit_for(st, error);
}

/* ---- loading a generator by name -------------------------------------------------------------- */

/* MODEL: "teacher", "supernet", a student's name in data/gan/students.json ("10x"), or a file. */
static FrGanGenerator *load_model(const char *model, GError **error) {
  char *path = NULL;
  if (!model || !strcmp(model, "teacher")) path = fr_data_find("gan/teacher.safetensors");
  else if (!strcmp(model, "supernet")) path = fr_data_find("gan/supernet.safetensors");
  else if (g_file_test(model, G_FILE_TEST_EXISTS)) path = g_strdup(model);
  else {
    char *rel = g_strdup_printf("gan/student-%s.safetensors", model);
    path = fr_data_find(rel);
    g_free(rel);
  }
  if (!path) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_MODEL,
                "no generator \"%s\": give a file, or teacher / supernet / a student name from data/gan/students.json",
                model ? model : "teacher");
    return NULL;
  }
  FrGanGenerator *g = fr_gan_generator_load(path, error);
  g_free(path);
  return g;
}

static double median(double *v, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1], v[j - 1] = t;
    }
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- eval ------------------------------------------------------------------------------------- */

int cmd_gan_eval(int argc, char **argv) {
  char *config_s = NULL, *data_dir = NULL, *classifier = NULL;
  gboolean test = FALSE;
  int images = 0, threads = 0;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_STRING, &config_s, "Sub-generator of a once-for-all student", "CONFIG" },
    { "test", 0, 0, G_OPTION_ARG_NONE, &test, "Score on the 10k test set (default: the search split)", NULL },
    { "images", 'n', 0, G_OPTION_ARG_INT, &images, "Score on the first N images only", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "classifier", 0, 0, G_OPTION_ARG_FILENAME, &classifier, "Classifier for the FID-like score (default: shipped)", "PATH" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Fashion-MNIST folder", "DIR" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("[MODEL] - FID-like score, classifier accuracy, L1, MACs and latency (MODEL: "
                                             "teacher, supernet, a student name, or a file)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  if (argc > 2 || images < 0 || threads < 0) {
    fprintf(stderr, "frontier-cli: expected at most one MODEL, --images >= 0\n");
    return EXIT_USAGE;
  }
  GError *error = NULL;
  FrGanGenerator *g = load_model(argc == 2 ? argv[1] : NULL, &error);
  if (!g) return fail(error);
  FrGanConfig c = *fr_gan_generator_max(g);
  if (config_s && !fr_gan_config_parse(config_s, &c, &error)) {
    fr_gan_generator_free(g);
    return fail(error);
  }
  if (!fr_gan_config_fits(&c, fr_gan_generator_max(g))) {
    char *m = fr_gan_config_to_string(fr_gan_generator_max(g));
    fprintf(stderr, "frontier-cli: %s is wider than the generator's own config %s\n", config_s, m);
    g_free(m);
    fr_gan_generator_free(g);
    return EXIT_FAILED;
  }
  if (threads > 0) fr_pool_set_threads(threads);
  FrGanData *d = fr_gan_data_load(data_dir, !test, &error);
  if (!d) {
    fr_gan_generator_free(g);
    return fail(error);
  }
  int start = test ? 0 : FR_GAN_TRAIN_IMAGES, avail = d->n - start;
  int n = images > 0 ? MIN(images, avail) : avail;
  FrGanMetric *m = n >= 2 ? fr_gan_metric_new(classifier, d->image + (size_t)start * FR_GAN_PIXELS, avail, &error) : NULL;
  if (!m) {
    if (!error) g_set_error(&error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "at least 2 images are needed (got %d)", n);
    fr_gan_data_free(d);
    fr_gan_generator_free(g);
    return fail(error);
  }
  FrGanQuality q = fr_gan_evaluate(g, &c, m, d, start, n);
  /* latency: one image at a time (the live demo's case), median of 30 after 5 warm-ups */
  float out[FR_GAN_PIXELS];
  double t[30];
  for (int i = 0; i < 35; i++) {
    gint64 t0 = g_get_monotonic_time();
    fr_gan_generator_run(g, &c, d->sketch + (size_t)(start + i % n) * FR_GAN_PIXELS, 1, FR_GAN_SIZE, FR_GAN_SIZE, out);
    if (i >= 5) t[i - 5] = (g_get_monotonic_time() - t0) / 1e3;
  }
  double ms = median(t, 30);
  FrGanKind kind = fr_gan_generator_kind(g);
  FrGanCost cost = fr_gan_cost(kind, &c, 1, 1, FR_GAN_SIZE, FR_GAN_SIZE);
  char *cs = fr_gan_config_to_string(&c);
  if (opt_json) {
    JsonBuilder *jb = json_builder_new();
    json_builder_begin_object(jb);
    json_string(jb, "kind", kind == FR_GAN_RESNET ? "resnet" : "mobile");
    json_string(jb, "config", cs);
    json_string(jb, "split", test ? "test" : "search");
    json_builder_set_member_name(jb, "images");
    json_builder_add_int_value(jb, n);
    json_double(jb, "macs", cost.macs);
    json_double(jb, "macs_paper", cost.macs_paper);
    json_double(jb, "params", cost.params);
    json_double(jb, "fid_like", q.fid_like);
    json_double(jb, "accuracy", q.accuracy);
    json_double(jb, "l1", q.l1);
    json_double(jb, "ms", ms);
    json_builder_end_object(jb);
    print_json(jb);
    g_object_unref(jb);
  } else {
    printf("%s %s on %d %s images: FID-like %.3f, classifier accuracy %.2f%%, L1 %.4f; %.4g MACs (paper's convention %.4g), "
           "%.4g parameters, %.3f ms per image\n", kind == FR_GAN_RESNET ? "resnet" : "mobile", cs, n, test ? "test" : "search-split",
           q.fid_like, 100 * q.accuracy, q.l1, cost.macs, cost.macs_paper, cost.params, ms);
  }
  g_free(cs);
  fr_gan_metric_free(m);
  fr_gan_data_free(d);
  fr_gan_generator_free(g);
  g_free(config_s), g_free(data_dir), g_free(classifier);
  return EXIT_OK;
}

/* ---- synth ------------------------------------------------------------------------------------ */

/* Reads a PNG (cairo) as grey bytes. */
static guint8 *read_gray_png(const char *path, int *w, int *h, GError **error) {
  cairo_surface_t *s = cairo_image_surface_create_from_png(path);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    g_set_error(error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID, "%s: cannot read it as a PNG image (%s)", path,
                cairo_status_to_string(cairo_surface_status(s)));
    cairo_surface_destroy(s);
    return NULL;
  }
  cairo_surface_t *rgb = cairo_image_surface_create(CAIRO_FORMAT_RGB24, cairo_image_surface_get_width(s),
                                                    cairo_image_surface_get_height(s));
  cairo_t *cr = cairo_create(rgb);
  cairo_set_source_rgb(cr, 1, 1, 1);   /* transparency reads as white paper */
  cairo_paint(cr);
  cairo_set_source_surface(cr, s, 0, 0);
  cairo_paint(cr);
  cairo_destroy(cr);
  cairo_surface_flush(rgb);
  *w = cairo_image_surface_get_width(rgb);
  *h = cairo_image_surface_get_height(rgb);
  int stride = cairo_image_surface_get_stride(rgb);
  const guint8 *px = cairo_image_surface_get_data(rgb);
  guint8 *g = g_new(guint8, (size_t)*w * *h);
  for (int y = 0; y < *h; y++)
    for (int x = 0; x < *w; x++) {
      guint32 v = *(const guint32 *)(px + (size_t)y * stride + 4 * x);
      g[(size_t)y * *w + x] = (guint8)((((v >> 16) & 255) * 299 + ((v >> 8) & 255) * 587 + (v & 255) * 114) / 1000);
    }
  cairo_surface_destroy(rgb);
  cairo_surface_destroy(s);
  return g;
}

static gboolean write_png(const char *path, const float *img, int scale, GError **error) {
  int side = FR_GAN_SIZE * scale;
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, side, side);
  guint8 bytes[FR_GAN_PIXELS];
  fr_gan_image_to_bytes(img, bytes, FR_GAN_PIXELS);
  guint8 *px = cairo_image_surface_get_data(s);
  int stride = cairo_image_surface_get_stride(s);
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++) {
      guint32 v = bytes[(y / scale) * FR_GAN_SIZE + x / scale];
      *(guint32 *)(px + (size_t)y * stride + 4 * x) = (v << 16) | (v << 8) | v;
    }
  cairo_surface_mark_dirty(s);
  char *tmp = g_strdup_printf("%s.tmp-%d", path, (int)getpid());   /* atomic: temp file, then rename */
  cairo_status_t st = cairo_surface_write_to_png(s, tmp);
  cairo_surface_destroy(s);
  if (st != CAIRO_STATUS_SUCCESS || g_rename(tmp, path) != 0) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot write %s (%s)", path,
                st != CAIRO_STATUS_SUCCESS ? cairo_status_to_string(st) : g_strerror(errno));
    g_unlink(tmp);
    g_free(tmp);
    return FALSE;
  }
  g_free(tmp);
  return TRUE;
}

int cmd_gan_synth(int argc, char **argv) {
  char *input = NULL, *output = NULL, *model = NULL, *config_s = NULL, *sketch_out = NULL;
  gboolean photo = FALSE;
  int scale = 8;
  GOptionEntry entries[] = {
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &input, "PNG: a sketch (dark strokes on white), or with --photo any picture", "PATH" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "PNG to write", "PATH" },
    { "photo", 0, 0, G_OPTION_ARG_NONE, &photo, "Take the edges of a picture instead of reading a drawn sketch", NULL },
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "teacher (default), supernet, a student name, or a file", "MODEL" },
    { "config", 'c', 0, G_OPTION_ARG_STRING, &config_s, "Sub-generator of a once-for-all student", "CONFIG" },
    { "scale", 0, 0, G_OPTION_ARG_INT, &scale, "Upscale the 32x32 output by this factor (default 8)", "N" },
    { "sketch-output", 0, 0, G_OPTION_ARG_FILENAME, &sketch_out, "Also write the 32x32 sketch the model saw", "PATH" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- synthesize a Fashion-MNIST item from a sketch");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, common_entries, NULL);
  gboolean ok = parse(ctx, &argc, &argv);
  g_option_context_free(ctx);
  if (!ok) return EXIT_USAGE;
  if (argc != 1 || !input || !output || scale < 1 || scale > 64) {
    fprintf(stderr, "frontier-cli: gan synth needs --input PNG and --output PNG (--scale 1..64)\n");
    return EXIT_USAGE;
  }
  GError *error = NULL;
  int w, h;
  guint8 *gray = read_gray_png(input, &w, &h, &error);
  if (!gray) return fail(error);
  float sketch[FR_GAN_PIXELS], out[FR_GAN_PIXELS];
  if (photo) {
    ok = fr_gan_edges_from_image(gray, w, h, w, sketch, &error);
  } else {
    for (size_t i = 0; i < (size_t)w * h; i++) gray[i] = 255 - gray[i];   /* ink = dark on white paper */
    ok = fr_gan_sketch_from_canvas(gray, w, h, w, sketch) > 0;
    if (!ok)
      g_set_error(&error, FR_GAN_ERROR, FR_GAN_ERROR_INVALID,
                  "%s: the sketch is empty (no dark strokes on a light background; for a picture use --photo)", input);
  }
  g_free(gray);
  if (!ok) return fail(error);
  FrGanGenerator *g = load_model(model, &error);
  if (!g) return fail(error);
  FrGanConfig c = *fr_gan_generator_max(g);
  if ((config_s && !fr_gan_config_parse(config_s, &c, &error))) {
    fr_gan_generator_free(g);
    return fail(error);
  }
  if (!fr_gan_config_fits(&c, fr_gan_generator_max(g))) {
    fprintf(stderr, "frontier-cli: %s is wider than the generator\n", config_s);
    fr_gan_generator_free(g);
    return EXIT_FAILED;
  }
  gint64 t0 = g_get_monotonic_time();
  fr_gan_generator_run(g, &c, sketch, 1, FR_GAN_SIZE, FR_GAN_SIZE, out);
  double ms = (g_get_monotonic_time() - t0) / 1e3;
  ok = write_png(output, out, scale, &error) && (!sketch_out || write_png(sketch_out, sketch, scale, &error));
  FrGanCost cost = fr_gan_cost(fr_gan_generator_kind(g), &c, 1, 1, FR_GAN_SIZE, FR_GAN_SIZE);
  fr_gan_generator_free(g);
  if (!ok) return fail(error);
  if (!opt_quiet) fprintf(stderr, "wrote %s (%.4g MACs, %.2f ms)\n", output, cost.macs, ms);
  g_free(input), g_free(output), g_free(model), g_free(config_s), g_free(sketch_out);
  return EXIT_OK;
}
