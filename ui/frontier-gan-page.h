/* frontier-gan-page.h: the GAN Compression page. Draw a sketch (or load a Fashion-MNIST test sketch,
 * or trace an image's edges) and watch the teacher generator and a compressed student turn it into a
 * Fashion-MNIST item side by side, live, each with its measured latency, MACs (true and the paper's
 * convention) and parameters. A MACs budget (slider, spin button, ‹ ›) switches at once between the
 * once-for-all student's sub-generators along their quality/MACs Pareto front, which is plotted with
 * every candidate and the teacher; clicking a point picks that sub-generator. Fine-tuning, training
 * and searching run as engine jobs from the page with live loss curves, sample grids and candidates.
 *
 * Models are found with fr_data_find: gan/teacher.safetensors, gan/supernet.safetensors,
 * gan/front.json (the scored candidates) and, optionally, gan/students.json (fine-tuned students).
 * What is missing is named on the page with the frontier-cli command that makes it.
 *
 * Test hook: with FRONTIER_OPEN_PATH set, "Open Image…" traces that file without a dialog. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_GAN_PAGE (frontier_gan_page_get_type())
G_DECLARE_FINAL_TYPE(FrontierGanPage, frontier_gan_page, FRONTIER, GAN_PAGE, GtkWidget)

GtkWidget *frontier_gan_page_new         (void);
/* TRUE while a training or search job runs (including after Cancel, until it has stopped). */
gboolean   frontier_gan_page_get_running (FrontierGanPage *self);

G_END_DECLS
