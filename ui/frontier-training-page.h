/* frontier-training-page.h: trains the Fashion-MNIST classifier on the engine's job system and
 * charts loss and accuracy live. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_TRAINING_PAGE (frontier_training_page_get_type())
G_DECLARE_FINAL_TYPE(FrontierTrainingPage, frontier_training_page, FRONTIER, TRAINING_PAGE, GtkWidget)

GtkWidget *frontier_training_page_new         (void);
/* TRUE while a training job runs (including after Cancel, until it has stopped). */
gboolean   frontier_training_page_get_running (FrontierTrainingPage *self);

G_END_DECLS
