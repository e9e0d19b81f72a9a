/* fr-apq-workbench.c: spaces, cost models and predictors by name, for the APQ search page and
 * `frontier-cli apq search`; and the per-layer cost breakdown of a candidate.
 *
 * Caching: the BitFusion LUT (6,567 rows) and the model fitted to it are loaded once per process,
 * and every cost table built is kept (tables are immutable and ref-counted, so callers share
 * them), since the GUI switches space and model often. A mutex guards the cache rather than
 * g_once, so a load that failed (a data file not there yet) is tried again next time. The "this-cpu"
 * table is rebuilt when its file changes (a new `frontier-cli apq profile`). */
#include "fr-apq-workbench.h"

#include "fr-apq-bitfusion.h"
#include "fr-apq-cpucost.h"
#include "fr-model-io.h"
#include "fr-safetensors.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static const FrApqCostModelInfo model_lut = {
  "bitfusion-lut", "BitFusion (LUT)",
  "Latency and energy on the BitFusion accelerator from APQ's own lookup table (exact, as APQ searches), plus BitOps.",
};
static const FrApqCostModelInfo model_fit = {
  "bitfusion-model", "BitFusion (model)",
  "Latency and energy on BitFusion from an analytic model fitted to APQ's lookup table, plus BitOps.",
};
static const FrApqCostModelInfo model_cpu = {
  "this-cpu", "This CPU",
  "Latency of Frontier's own ops on this machine, measured by `frontier-cli apq profile`, plus BitOps.",
};
static const FrApqCostModelInfo model_counts = {
  "counts", "MACs and BitOps", "Multiply-accumulates and BitOps (MACs x weight bits x activation bits); no hardware model.",
};

const FrApqCostModelInfo *fr_apq_cost_models_for_space(const FrApqSpace *space) {
  static FrApqCostModelInfo mini[4], imagenet[4], other[3];
  static gsize once;
  if (g_once_init_enter(&once)) {
    mini[0] = model_fit, mini[1] = model_cpu, mini[2] = model_counts;
    imagenet[0] = model_lut, imagenet[1] = model_fit, imagenet[2] = model_counts;
    other[0] = model_fit, other[1] = model_counts;
    g_once_init_leave(&once, 1);
  }
  if (space == fr_apq_space_fmnist_mini()) return mini;
  if (space == fr_apq_space_imagenet_bitfusion()) return imagenet;
  return other;
}

static gboolean model_offered(const FrApqSpace *space, const char *name) {
  for (const FrApqCostModelInfo *m = fr_apq_cost_models_for_space(space); m->name; m++)
    if (!strcmp(m->name, name)) return TRUE;
  return FALSE;
}

/* ---- shared data ------------------------------------------------------------------------------ */

G_LOCK_DEFINE_STATIC(cache);
static FrApqBitfusionLut *cached_lut;
static FrApqBitfusionModel *cached_model;
static GHashTable *cached_tables;   /* "space\nmodel" -> FrApqCostTable* */

typedef struct {
  char *path;
  gint64 mtime;
  goffset size;
  FrApqCostTable *table;
} CpuEntry;
static CpuEntry cached_cpu;

/* Under the lock. */
static const FrApqBitfusionLut *shared_lut(GError **error) {
  if (cached_lut) return cached_lut;
  g_autofree char *lut = fr_data_find("apq/bitfusion/bitfusion_lut_b1.csv");
  g_autofree char *fixed = fr_data_find("apq/bitfusion/bitfusion_lut_b1_fixed.csv");
  if (!lut || !fixed) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT,
                "the BitFusion LUT (data/apq/bitfusion/bitfusion_lut_b1.csv and bitfusion_lut_b1_fixed.csv) is not "
                "installed; set FR_DATA_DIR to a folder that has apq/bitfusion/");
    return NULL;
  }
  cached_lut = fr_apq_bitfusion_lut_load(lut, fixed, error);
  return cached_lut;
}

static const FrApqBitfusionModel *shared_model(GError **error) {
  if (cached_model) return cached_model;
  const FrApqBitfusionLut *lut = shared_lut(error);
  if (!lut) return NULL;
  cached_model = fr_apq_bitfusion_model_fit(lut, 0, NULL, error);
  return cached_model;
}

static FrApqCostTable *cpu_table(const FrApqSpace *space, GError **error) {
  g_autofree char *path = fr_apq_cpucost_find();
  if (!path) {
    g_autofree char *user = fr_apq_cpucost_user_path();
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT,
                "no latency table of this CPU yet (%s): run `frontier-cli apq profile` to measure it (about a minute)",
                user);
    return NULL;
  }
  GStatBuf st;
  if (g_stat(path, &st) != 0) {
    g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT, "cannot read %s", path);
    return NULL;
  }
  gint64 mtime = (gint64)st.st_mtime * 1000000000 + (gint64)st.st_mtim.tv_nsec;
  if (cached_cpu.table && !strcmp(cached_cpu.path, path) && cached_cpu.mtime == mtime &&
      cached_cpu.size == (goffset)st.st_size)
    return fr_apq_cost_table_ref(cached_cpu.table);
  g_autoptr(FrApqCpuLut) lut = fr_apq_cpu_lut_load(path, error);
  FrApqCostTable *t = lut ? fr_apq_cpu_lut_cost_table(lut, space, error) : NULL;
  if (!t) return NULL;
  g_free(cached_cpu.path);
  fr_apq_cost_table_unref(cached_cpu.table);
  cached_cpu = (CpuEntry){ g_strdup(path), mtime, (goffset)st.st_size, fr_apq_cost_table_ref(t) };
  return t;
}

static FrApqCostTable *build_table(const FrApqSpace *space, const char *model, GError **error) {
  if (!strcmp(model, "counts")) return fr_apq_cost_table_new_counts(space);
  if (!strcmp(model, "bitfusion-lut")) {
    const FrApqBitfusionLut *lut = shared_lut(error);
    return lut ? fr_apq_bitfusion_cost_table(lut, space, error) : NULL;
  }
  const FrApqBitfusionModel *m = shared_model(error);
  return m ? fr_apq_bitfusion_model_cost_table(m, space, error) : NULL;
}

FrApqCostTable *fr_apq_workbench_cost_table(const FrApqSpace *space, const char *cost_model, GError **error) {
  if (!space || !cost_model) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "APQ workbench: no space or cost model given");
    return NULL;
  }
  if (!model_offered(space, cost_model)) {
    GString *names = g_string_new(NULL);
    for (const FrApqCostModelInfo *m = fr_apq_cost_models_for_space(space); m->name; m++)
      g_string_append_printf(names, "%s%s", names->len ? ", " : "", m->name);
    gboolean known = !strcmp(cost_model, "bitfusion-lut") || !strcmp(cost_model, "bitfusion-model") ||
                     !strcmp(cost_model, "this-cpu") || !strcmp(cost_model, "counts");
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "%s cost model \"%s\"%s; the %s space offers %s",
                known ? "the" : "unknown", cost_model,
                !strcmp(cost_model, "bitfusion-lut") ? " has entries for APQ's ImageNet layers only"
                : !strcmp(cost_model, "this-cpu")    ? " is measured for the fmnist-mini space only"
                                                     : "",
                space->name, names->str);
    g_string_free(names, TRUE);
    return NULL;
  }
  G_LOCK(cache);
  FrApqCostTable *t = NULL;
  if (!strcmp(cost_model, "this-cpu")) {
    t = cpu_table(space, error);
  } else {
    if (!cached_tables)
      cached_tables = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)fr_apq_cost_table_unref);
    g_autofree char *key = g_strdup_printf("%s\n%s", space->name, cost_model);
    t = g_hash_table_lookup(cached_tables, key);
    if (t) {
      fr_apq_cost_table_ref(t);
    } else {
      t = build_table(space, cost_model, error);
      if (t) g_hash_table_insert(cached_tables, g_steal_pointer(&key), fr_apq_cost_table_ref(t));
    }
  }
  G_UNLOCK(cache);
  return t;
}

/* ---- predictors ------------------------------------------------------------------------------- */

static char *predictor_label(const char *path, FrApqPredictor *p) {
  g_autofree char *base = g_path_get_basename(path);
  GString *label = g_string_new(base);
  FrSafetensors *st = fr_safetensors_load(path, NULL);
  GString *meta = g_string_new(NULL);
  static const char *const keys[] = { "method", "pairs", "train_rows", "test_rmse", "test_kendall_tau", "source" };
  for (guint i = 0; st && i < G_N_ELEMENTS(keys); i++) {
    const char *v = fr_safetensors_get_metadata(st, keys[i]);
    if (v) g_string_append_printf(meta, "%s%s %s", meta->len ? ", " : "", keys[i], v);
  }
  if (fr_apq_predictor_quant_dim(p) == 0)
    g_string_append_printf(meta, "%sfull precision: bits do not change its predictions", meta->len ? ", " : "");
  if (meta->len) g_string_append_printf(label, " (%s)", meta->str);
  g_string_free(meta, TRUE);
  fr_safetensors_free(st);
  return g_string_free(label, FALSE);
}

FrApqPredictor *fr_apq_workbench_predictor(const FrApqSpace *space, const char *path, char **label_out,
                                           GError **error) {
  if (label_out) *label_out = NULL;
  if (!space) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "APQ workbench: no space given");
    return NULL;
  }
  g_autofree char *found = NULL;
  if (!path) {
    if (space != fr_apq_space_fmnist_mini()) return NULL;   /* cost-only exploration */
    /* the quantization-aware predictor; else the fp32 one (bits then do not change predictions) */
    found = fr_data_find("apq/predictor-quant.safetensors");
    if (!found) found = fr_data_find("apq/predictor-fp32.safetensors");
    if (!found) {
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_CHECKPOINT,
                  "no shipped fmnist-mini predictor (data/apq/predictor-quant.safetensors): make it with "
                  "`frontier-cli apq predictor --quantized`, or pass one");
      return NULL;
    }
    path = found;
  }
  FrApqPredictor *p = fr_apq_predictor_load(path, error);
  if (!p) return NULL;
  int a = fr_apq_predictor_arch_dim(p), q = fr_apq_predictor_quant_dim(p);
  FrSafetensors *st = fr_safetensors_load(path, NULL);
  const char *meta_space = st ? fr_safetensors_get_metadata(st, "space") : NULL;
  gboolean space_ok = !meta_space || !strcmp(meta_space, space->name);
  g_autofree char *meta_space_copy = g_strdup(meta_space);
  fr_safetensors_free(st);
  if (a != space->arch_dim || (q != 0 && q != space->quant_dim) || !space_ok) {
    g_autofree char *base = g_path_get_basename(path);
    if (!space_ok)
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC, "%s is a predictor of the %s space, not %s", base,
                  meta_space_copy, space->name);
    else
      g_set_error(error, FR_APQ_ERROR, FR_APQ_ERROR_INVALID_SPEC,
                  "%s takes %d + %d inputs, but the %s space encodes %d + %d (or %d + 0 for a full-precision "
                  "predictor)", base, a, q, space->name, space->arch_dim, space->quant_dim, space->arch_dim);
    fr_apq_predictor_free(p);
    return NULL;
  }
  if (label_out) *label_out = predictor_label(path, p);
  return p;
}

/* ---- breakdown -------------------------------------------------------------------------------- */

static FrApqLayerRow shape_row(const char *name, int block, const FrApqConvShape *c, int w_bits, int a_bits) {
  FrApqLayerRow r;
  memset(&r, 0, sizeof r);
  g_strlcpy(r.name, name, sizeof r.name);
  r.block = block;
  r.cin = c->cin;
  r.cout = c->cout;
  r.hw = c->in_hw;
  r.kernel = c->kernel;
  r.stride = c->stride;
  r.groups = c->groups;
  r.w_bits = w_bits;
  r.a_bits = a_bits;
  r.macs = fr_apq_conv_macs(c);
  return r;
}

static const char *const fixed_names_stem_block[5] = { "stem", "stem block depthwise", "stem block project", "head",
                                                       "classifier" };
static const char *const fixed_names_plain[3] = { "stem", "head", "classifier" };
static const char *const role_words[3] = { "expand", "depthwise", "project" };

/* A composite row: several fixed layers priced as one (the LUT's head and tail, the CPU's head). */
static FrApqLayerRow composite_row(const char *name, const FrApqConvShape *layers, int n, int bits) {
  FrApqLayerRow r = shape_row(name, -1, &layers[0], bits, bits);
  r.cout = layers[n - 1].cout;
  if (n > 1) r.kernel = r.stride = r.groups = 0;
  r.macs = 0;
  for (int i = 0; i < n; i++) r.macs += fr_apq_conv_macs(&layers[i]);
  return r;
}

GArray *fr_apq_workbench_breakdown(const FrApqSpace *space, const char *cost_model, const FrApqSpec *spec,
                                   GError **error) {
  if (!spec) {
    g_set_error(error, FR_JOB_ERROR, FR_JOB_ERROR_INVALID_ARGUMENT, "APQ breakdown: no spec given");
    return NULL;
  }
  g_autoptr(FrApqCostTable) table = fr_apq_workbench_cost_table(space, cost_model, error);
  if (!table || !fr_apq_spec_validate(space, spec, error)) return NULL;
  const int n_obj = fr_apq_cost_table_n_objectives(table);
  const int o_lat = fr_apq_cost_table_find_objective(table, "latency_ms");
  const int o_en = fr_apq_cost_table_find_objective(table, "energy_mj");
  const int o_macs = fr_apq_cost_table_find_objective(table, "macs");
  const int o_bitops = fr_apq_cost_table_find_objective(table, "bitops");
  GArray *rows = g_array_new(FALSE, TRUE, sizeof(FrApqLayerRow));

  FrApqConvShape fixed[5];
  int n_head, n_fixed = fr_apq_fixed_layers(space, fixed, &n_head);
  const char *const *fixed_names = n_fixed == 5 ? fixed_names_stem_block : fixed_names_plain;
  gboolean lut = !strcmp(cost_model, "bitfusion-lut"), model = !strcmp(cost_model, "bitfusion-model");
  gboolean cpu = !strcmp(cost_model, "this-cpu");

  /* per-layer hardware costs of the searched blocks, where a model gives them */
  FrApqCostBreakdown *bd = NULL;
  g_autoptr(FrApqCpuLut) cpu_lut = NULL;
  gboolean ok = TRUE;
  if (lut || model) {
    bd = g_new(FrApqCostBreakdown, 1);
    G_LOCK(cache);   /* the shared LUT and model were loaded by the table above */
    ok = lut ? fr_apq_bitfusion_spec_breakdown(cached_lut, space, spec, bd, error)
             : fr_apq_bitfusion_model_spec_breakdown(cached_model, space, spec, bd, error);
    G_UNLOCK(cache);
  } else if (cpu) {
    g_autofree char *path = fr_apq_cpucost_find();
    cpu_lut = path ? fr_apq_cpu_lut_load(path, error) : NULL;
    ok = cpu_lut != NULL;
  }
  if (!ok) {
    g_free(bd);
    g_array_unref(rows);
    return NULL;
  }

  /* fixed parts */
  if (lut) {
    FrApqLayerRow head = composite_row("head (stem, first block)", fixed, n_head, 0);
    FrApqLayerRow tail = composite_row("tail (head conv, classifier)", fixed + n_head, n_fixed - n_head, 0);
    head.costs[o_lat] = bd->head.latency_ms, head.costs[o_en] = bd->head.energy_mj;
    tail.costs[o_lat] = bd->tail.latency_ms, tail.costs[o_en] = bd->tail.energy_mj;
    g_array_append_val(rows, head);
    g_array_append_val(rows, tail);
  } else if (cpu) {
    FrApqLayerRow stem = shape_row("stem", -1, &fixed[0], 32, 32);
    FrApqLayerRow head = composite_row("head (conv, pooling, classifier)", fixed + n_head, n_fixed - n_head, 32);
    fr_apq_cpu_lut_layer(cpu_lut, FR_APQ_CPU_STEM, -1, 0, 0, FALSE, &stem.costs[o_lat]);
    fr_apq_cpu_lut_layer(cpu_lut, FR_APQ_CPU_HEAD, -1, 0, 0, FALSE, &head.costs[o_lat]);
    if (n_head > 1) {   /* a stem block: not in a CPU table (fmnist-mini has none) */
      FrApqLayerRow all = composite_row("stem", fixed, n_head, 32);
      all.costs[o_lat] = stem.costs[o_lat];
      stem = all;
    }
    g_array_append_val(rows, stem);
    g_array_append_val(rows, head);
  } else {
    for (int i = 0; i < n_fixed; i++) {
      FrApqLayerRow r = shape_row(fixed_names[i], -1, &fixed[i], model ? 8 : 32, model ? 8 : 32);
      if (model) {
        FrApqHwCost c;
        G_LOCK(cache);
        fr_apq_bitfusion_model_predict(cached_model, &fixed[i], 8, 8, &c, NULL);
        G_UNLOCK(cache);
        r.costs[o_lat] = c.latency_ms;
        r.costs[o_en] = c.energy_mj;
      }
      g_array_append_val(rows, r);
    }
  }
  /* BitOps and MACs of the fixed parts count 32 x 32, as fr-apq-space does */
  for (guint i = 0; i < rows->len; i++) {
    FrApqLayerRow *r = &g_array_index(rows, FrApqLayerRow, i);
    if (o_macs >= 0) r->costs[o_macs] = r->macs;
    if (o_bitops >= 0) r->costs[o_bitops] = r->macs * 32 * 32;
  }

  /* the searched blocks, three layers each */
  int li = 0;
  for (int b = 0; b < space->n_blocks; b++) {
    if (!fr_apq_block_active(space, spec, b)) continue;
    FrApqConvShape shape[3];
    int w[3], a[3];
    fr_apq_block_layers(space, spec, b, shape, w, a);
    for (int l = 0; l < 3; l++, li++) {
      char name[48];
      g_snprintf(name, sizeof name, "block %d %s", b, role_words[l]);
      FrApqLayerRow r = shape_row(name, b, &shape[l], w[l], a[l]);
      if (o_macs >= 0) r.costs[o_macs] = r.macs;
      if (o_bitops >= 0) r.costs[o_bitops] = r.macs * w[l] * a[l];
      if (bd) {
        r.costs[o_lat] = bd->layers[li].cost.latency_ms;
        r.costs[o_en] = bd->layers[li].cost.energy_mj;
      } else if (cpu) {
        fr_apq_cpu_lut_layer(cpu_lut, (FrApqCpuLayer)(FR_APQ_CPU_EXPAND + l), b, spec->ks[b], spec->mid[b],
                             spec->quantized, &r.costs[o_lat]);
      }
      g_array_append_val(rows, r);
    }
  }
  for (guint i = 0; i < rows->len; i++)   /* objectives a row has no figure for stay 0 */
    for (int o = n_obj; o < FR_APQ_COST_MAX_OBJECTIVES; o++) g_array_index(rows, FrApqLayerRow, i).costs[o] = 0;
  g_free(bd);
  return rows;
}
