/* fr-sparch-ablation.c: the paper's ablation, step by step from OuterSPACE to full SpArch. */
#include "fr-sparch-private.h"

static const char *const labels[FR_SPARCH_ABLATION_STEPS] = {
  "OuterSPACE", "Pipelined merger", "+ Condensing", "+ Huffman scheduler", "+ Row prefetcher",
};

FrSparchAblation *fr_sparch_ablation(const FrCsr *a, const FrCsr *b, const FrSparchConfig *base, FrJob *job,
                                     GError **error) {
  FrSparchConfig def;
  if (!base) {
    fr_sparch_config_init(&def, FR_SPARCH_ARCH_SPARCH);
    base = &def;
  }
  if (!fr_sparch_config_validate(base, error)) return NULL;
  FrSparchAblation *ab = g_new0(FrSparchAblation, 1);
  ab->n_steps = FR_SPARCH_ABLATION_STEPS;
  for (int i = 0; i < FR_SPARCH_ABLATION_STEPS; i++) {
    FrSparchConfig c = *base;
    c.arch = i == 0 ? FR_SPARCH_ARCH_OUTERSPACE : FR_SPARCH_ARCH_SPARCH;
    c.condense = i >= 2;
    c.huffman = i >= 3;
    c.prefetch = i >= 4 ? (base->prefetch == FR_SPARCH_PREFETCH_NONE ? FR_SPARCH_PREFETCH_MIN : base->prefetch)
                        : FR_SPARCH_PREFETCH_NONE;
    gboolean last = i == FR_SPARCH_ABLATION_STEPS - 1;
    c.keep_product = last && base->keep_product;
    c.trace = last && base->trace;
    ab->steps[i].label = labels[i];
    ab->steps[i].config = c;
    if (job) fr_job_progress(job, (double)i / FR_SPARCH_ABLATION_STEPS, "ablation: %s", labels[i]);
    /* each step reports progress within its fifth of the job */
    ab->steps[i].result = fr_sp_simulate_span(a, b, &c, job, (double)i / FR_SPARCH_ABLATION_STEPS,
                                              (double)(i + 1) / FR_SPARCH_ABLATION_STEPS, error);
    if (!ab->steps[i].result) {
      fr_sparch_ablation_free(ab);
      return NULL;
    }
  }
  if (job) fr_job_progress(job, 1.0, "ablation done");
  return ab;
}

void fr_sparch_ablation_free(FrSparchAblation *ab) {
  if (!ab) return;
  for (int i = 0; i < FR_SPARCH_ABLATION_STEPS; i++) fr_sparch_result_free(ab->steps[i].result);
  g_free(ab);
}
