/* frontier-cli.h: what the CLI's command files share. */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>
#include "fr-job.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_CANCELLED = 130 };

extern gboolean opt_json, opt_quiet;
extern GOptionEntry common_entries[];

void print_json(JsonBuilder *b);
/* Runs a job to the end, turning its events into stderr lines; Ctrl-C cancels it. The last payload
 * of result_type (if any) is returned in *result. */
FrJobStatus run_job(FrJob *job, GVariant **result, const char *result_type, GError **error);
int exit_for(FrJobStatus st, GError *error);
gboolean parse(GOptionContext *ctx, int *argc, char ***argv);

int cmd_sparch_multiply(int argc, char **argv);
int cmd_sparch_simulate(int argc, char **argv);
int cmd_sparch_generate(int argc, char **argv);
int cmd_apq_supernet(int argc, char **argv);
int cmd_apq_qat(int argc, char **argv);
int cmd_apq_pairs(int argc, char **argv);
int cmd_apq_predictor(int argc, char **argv);
int cmd_apq_transfer_study(int argc, char **argv);
int cmd_apq_search(int argc, char **argv);
int cmd_apq_profile(int argc, char **argv);
int cmd_gan_train_teacher(int argc, char **argv);
int cmd_gan_train_supernet(int argc, char **argv);
int cmd_gan_finetune(int argc, char **argv);
int cmd_gan_search(int argc, char **argv);
int cmd_gan_eval(int argc, char **argv);
int cmd_gan_synth(int argc, char **argv);
int cmd_gan_macs(int argc, char **argv);
int cmd_lsra_bpe(int argc, char **argv);
int cmd_lsra_bleu(int argc, char **argv);
int cmd_lsra_train(int argc, char **argv);
int cmd_lsra_macs(int argc, char **argv);
int cmd_lsra_eval(int argc, char **argv);
int cmd_translate(int argc, char **argv);
int cmd_profile(int argc, char **argv);
