/* frontier-apq-budget.h: one budget of the APQ search as a preferences row: the objective's name and
 * unit, a switch (off: no budget), a slider and a spin button on one adjustment, and a mark on the
 * slider at the cheapest network the cost model allows.
 *
 * ::changed is emitted when the budget changes: at once for the switch, 200 ms after the last value
 * change for the slider and the spin button (so a drag re-runs the search once it rests). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FRONTIER_TYPE_APQ_BUDGET (frontier_apq_budget_get_type())
G_DECLARE_FINAL_TYPE(FrontierApqBudget, frontier_apq_budget, FRONTIER, APQ_BUDGET, AdwPreferencesRow)

GtkWidget *frontier_apq_budget_new          (void);
/* name: "Latency" (the row's title and the accessible names of its controls); unit: "ms". */
void       frontier_apq_budget_set_objective (FrontierApqBudget *self, const char *name, const char *unit);
/* The slider's range (lower is usually 0) and the minimum reachable (a mark; NAN: none), with the
 * number of digits the spin button shows. Does not emit ::changed. */
void       frontier_apq_budget_configure     (FrontierApqBudget *self, double lower, double upper, double minimum,
                                              int digits);
/* INFINITY when the switch is off. */
double     frontier_apq_budget_get_budget    (FrontierApqBudget *self);
gboolean   frontier_apq_budget_get_enabled   (FrontierApqBudget *self);
double     frontier_apq_budget_get_value     (FrontierApqBudget *self);
/* Neither emits ::changed. */
void       frontier_apq_budget_set_value     (FrontierApqBudget *self, double value);
void       frontier_apq_budget_set_enabled   (FrontierApqBudget *self, gboolean enabled);
/* Marks the row as holding an impossible budget (the spin button gets the error style). */
void       frontier_apq_budget_set_error     (FrontierApqBudget *self, gboolean error);

G_END_DECLS
