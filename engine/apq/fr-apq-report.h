/* fr-apq-report.h: Pareto reports of an APQ search: PDF and SVG (the front plot, a table of its
 * members with spec, accuracy, latency, energy, BitOps, the search settings and provenance), CSV (one
 * row per front member) and JSON (everything, specs in both Frontier's text form and, for
 * imagenet-bitfusion, APQ's own [info, q_info]). Written atomically (fr-report). */
#pragma once
#include "fr-apq-costtable.h"
#include <json-glib/json-glib.h>
#include "fr-apq-search.h"

G_BEGIN_DECLS

typedef struct {
  const FrApqCostTable *table;        /* space, objective names and units */
  const char *cost_model;             /* e.g. "bitfusion-lut" */
  const char *predictor;              /* provenance label, NULL: cost-only */
  const FrApqSearchConfig *config;
  const FrApqSearchResult *result;
  const char *title;                  /* NULL: "APQ search: <space>, <cost model>" */
  /* Optional (zero/NULL: none). */
  const FrApqSearchComparison *comparison;   /* joint vs sequential (result is then its joint run): the
                                                sequential stages' answers are plotted, tabled and saved too */
  const FrApqSearchPoint *others;     /* other points the search visited (e.g. from its generation events),
                                         drawn grey behind the front; only accuracy and costs are used */
  int n_others;
} FrApqReport;

/* Format from the extension: .pdf, .svg, .csv, .json (also .png: the first page as an image).
 * PDF: A4 landscape pages: the front plot (accuracy against the first cost objective; a cost-only
 * exploration plots the second objective instead of accuracy), the settings and provenance, then the
 * table of front members, continued on further pages as needed. SVG: the same as one page that grows
 * downwards to hold the whole table. CSV columns: search ("search", or "joint" / "sequential" with a
 * comparison), rank, accuracy (empty when none), each objective of the table, bitops (when not an
 * objective), macs, spec (text form) and, for imagenet-bitfusion, spec_apq (APQ's [info, q_info]
 * JSON). An unknown extension is FR_REPORT_ERROR_FORMAT; nothing is left behind on any error. */
gboolean fr_apq_report_save(const FrApqReport *report, const char *path, GError **error);

/* The JSON document (also what the .json file holds): title, provenance {space, cost_model, predictor
 * (null: cost-only), frontier_version, date, objectives [{name, unit}]}, settings {mode, population,
 * parents, mutants, crossovers, mutation_prob, generations, seed, axes [..], budgets {objective:
 * value or null}, memoize}, search {complete, has_accuracy, generations_done, evaluations, predicted,
 * rejected, fallbacks, seconds}, note, best, front [..], best_history [..], and with a comparison
 * comparison {joint, sequential {stages [{phase, best, front_size, evaluations, seconds}], best,
 * error}}. A point: {rank, accuracy (null when none), costs {objective: value}, bitops, macs, spec,
 * spec_apq (imagenet-bitfusion only)}. NaN and infinities are written as null. */
JsonNode *fr_apq_report_to_json(const FrApqReport *report);

G_END_DECLS
