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
} FrApqReport;

/* Format from the extension: .pdf, .svg, .csv, .json. */
gboolean fr_apq_report_save(const FrApqReport *report, const char *path, GError **error);

/* The JSON document (also what the .json file holds). */
JsonNode *fr_apq_report_to_json(const FrApqReport *report);

G_END_DECLS
