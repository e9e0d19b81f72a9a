/* frontier-lsra-page.h: the Lite Transformer page. Type or paste English and watch a Transformer and a
 * Lite Transformer (Long-Short Range Attention) of about the same Mult-Adds translate it into German
 * side by side as you type, each with its Mult-Adds (the paper's convention), parameters, latency on
 * this machine and BLEU on the dev sets. A budget switch picks the pair (the small models, about 15M
 * Mult-Adds, or the base ones, about 44M), a spin button the beam width. "Where LSRA looks" draws the
 * encoder's self-attention weights (per layer, one head or their average) and, for the Lite model, the
 * convolution branch's kernel at every source position (per layer, one block per head). A chart places
 * the shipped models' BLEU against their Mult-Adds; the paper's configurations are listed by their
 * published Mult-Adds only (its WMT'14 BLEU is not comparable with this corpus).
 *
 * Models are found with fr_data_find: lsra/{transformer-small,lite-small,transformer,lite}.safetensors,
 * lsra/bpe.model and, optionally, lsra/eval-NAME.json (BLEU). What is missing is named on the page
 * with the pipeline that makes it (build-aux/lsra-pipeline.sh). Translation runs on a GTask thread,
 * 300 ms after the last keystroke, both models of the pair one after the other (so their latencies
 * are measured alike); a newer input cancels a running translation and stale results are dropped. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_LSRA_PAGE (frontier_lsra_page_get_type())
G_DECLARE_FINAL_TYPE(FrontierLsraPage, frontier_lsra_page, FRONTIER, LSRA_PAGE, GtkWidget)

GtkWidget *frontier_lsra_page_new (void);

G_END_DECLS
