/* fr-profiler.h: the visual profiler's engine half (issue 8): per-op records of repeated runs of a
 * model, grouped per layer and per op type with median and spread, placed against this machine's
 * roofline (fr-roofline.h), compared between two models, and exported as CSV, JSON and Chrome
 * trace-event files (Perfetto, chrome://tracing).
 *
 * Recording. A FrProfiler receives the records of every graph attached to it (fr_profiler_attach,
 * or fr_profiler_set_thread_default for graphs a model creates inside its own calls) between
 * fr_profiler_begin_run and fr_profiler_end_run; warm-up runs are recorded nowhere. Work that is not a
 * graph (the SpGEMM) adds its phases itself with fr_profiler_add. A run's layer names are the graph's
 * scopes (fr_graph_push_scope: "block3", "conv1" -> "block3/conv1") under the profiler's own scopes
 * (fr_profiler_push_scope: a driver's "encoder", "decoder"). An op with no graph scope is put in an
 * automatic layer: each op with MACs starts one ("L07 conv2d"), the ops after it (norms, activations,
 * adds) join it, and it restarts at 1 at every profiler scope push or pop and every run.
 *
 * What is measured per op (see FrOpRecord in fr-tensor.h): the wall interval on the calling thread,
 * that thread's CPU time, and the process's CPU time (all threads: ops split their work across the
 * pool, whose workers are not separately traced). MACs and bytes read/written come from the op's
 * shapes (the op's own count; e.g. a conv reads its input, weights and bias once, writes its output
 * once: caches and im2col copies are not counted). FLOPs = 2 x MACs.
 *
 * Statistics. For a group (a layer, an op type) the per-run sum of its ops' wall time is taken in
 * every timed run; the median over runs is the figure, with min, max and the median absolute
 * deviation as the spread. GFLOP/s and GB/s are the group's flops and bytes per run over the median
 * time; intensity is flops per byte; attainable is the roofline at that intensity for the run's
 * thread count.
 *
 * Threads: a profiler may be fed from several threads (a mutex guards it); the results are plain
 * data, read-only after fr_profiler_finish, safe to read from any thread. */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>
#include "fr-roofline.h"
#include "fr-tensor.h"

G_BEGIN_DECLS

/* ---- recording --------------------------------------------------------------------------------- */

typedef struct _FrProfiler FrProfiler;

FrProfiler *fr_profiler_new(void);
void fr_profiler_free(FrProfiler *p);
/* g reports to p (fr_graph_set_profiler); detach with fr_graph_set_profiler(g, NULL, NULL). */
void fr_profiler_attach(FrProfiler *p, FrGraph *g);
/* Graphs created on this thread from now on report to p (NULL: stop). */
void fr_profiler_set_thread_default(FrProfiler *p);
/* keep FALSE: a warm-up run (its records are dropped). Runs are numbered 0, 1, ... in the order kept. */
void fr_profiler_begin_run(FrProfiler *p, gboolean keep);
void fr_profiler_end_run(FrProfiler *p);
/* The profiler's own scopes (copied), outside every graph scope; see above. */
void fr_profiler_push_scope(FrProfiler *p, const char *name);
void fr_profiler_pop_scope(FrProfiler *p);

/* A clock reading for fr_profiler_add: monotonic, calling-thread CPU and process CPU nanoseconds. */
typedef struct { gint64 wall_ns, thread_ns, cpu_ns; } FrProfClock;
void fr_prof_clock_read(FrProfClock *c);
/* A phase that is not a graph op, from t0 to now (read here), under the current scopes (layer NULL:
 * the op name is the layer). shape may be NULL. */
void fr_profiler_add(FrProfiler *p, const char *op, const char *layer, const char *shape, const FrProfClock *t0,
                     double macs, double bytes_read, double bytes_written);

/* ---- results ----------------------------------------------------------------------------------- */

/* One op of one timed run. Strings are owned by the result. */
typedef struct {
  int run;                 /* 0-based timed run */
  int seq;                 /* order within the run */
  int tid;                 /* thread number: 1 the first thread seen, 2 the next ... */
  const char *op;          /* "conv2d", "instance_norm", "spgemm.numeric" ... */
  const char *phase;       /* "forward", "backward" */
  const char *layer;       /* scope path, "block3/conv1"; never NULL */
  gboolean auto_layer;     /* the layer was made up (no scope named it) */
  const char *shape;       /* output shape "[1,256,64,64]" or "" */
  gint64 start_ns, end_ns; /* since the first timed run began */
  gint64 thread_ns;        /* calling thread's CPU time */
  gint64 cpu_ns;           /* process CPU time (all threads) */
  double macs, bytes_read, bytes_written;
} FrProfOp;

typedef struct {
  char *target;            /* e.g. "gan-resnet-ngf64-256" (or whatever the caller set) */
  char *description;       /* one line about the model and input */
  char *cpu;               /* CPU model */
  char *date;              /* ISO 8601 UTC at the end of the profile */
  int threads, batch, runs, warmup;
  double run_ms_median, run_ms_min, run_ms_max, run_ms_mad;  /* a whole profiled run, wall */
  double op_ms_median;     /* per run, the sum over its ops (glue between ops excluded) */
  double unprofiled_ms_median;  /* the same runs with no profiler attached; NAN: not measured */
  double overhead;         /* run_ms_median / unprofiled_ms_median - 1; NAN: not measured */
  double run_cpu_ms_median;       /* process CPU time (all threads) of a profiled run; NAN: unknown */
  double unprofiled_cpu_ms_median;/* the same without the profiler; NAN: not measured */
  double overhead_cpu;     /* run_cpu_ms_median / unprofiled_cpu_ms_median - 1: the overhead in CPU time,
                              which a busy machine disturbs less than wall time; NAN: not measured */
  double macs, flops, bytes_read, bytes_written;   /* per run, summed over the ops */
  double model_macs;       /* the model's own cost model (e.g. fr_gan_cost), NAN when none */
  gboolean cpu_clocks;     /* thread_ns and cpu_ns were measured (else 0) */
  gboolean has_roofline;
  FrRoofline roofline;
} FrProfInfo;

/* Reference counted, immutable once made. */
typedef struct _FrProfileResult FrProfileResult;

/* Takes p's records (p is left empty for another profile). info fields are copied: target,
 * description may be NULL; the run statistics and sums are computed here (run_ms_* from the
 * begin/end_run intervals); unprofiled_ms_median and model_macs are taken from info. roofline NULL:
 * none. */
FrProfileResult *fr_profiler_finish(FrProfiler *p, const FrProfInfo *info, const FrRoofline *roofline);
FrProfileResult *fr_profile_result_ref(FrProfileResult *r);
void fr_profile_result_unref(FrProfileResult *r);

const FrProfInfo *fr_profile_result_info(const FrProfileResult *r);
/* Every op of every timed run, runs in order, ops in start order. */
const FrProfOp *fr_profile_result_ops(const FrProfileResult *r, int *n);
/* Start of timed run `run` (ns, on the same time line as the ops) and its length. */
gint64 fr_profile_result_run_start(const FrProfileResult *r, int run);
gint64 fr_profile_result_run_length(const FrProfileResult *r, int run);
/* Thread numbers seen (tid of FrProfOp), 1..n. */
int fr_profile_result_n_threads(const FrProfileResult *r);

typedef enum {
  FR_PROF_BY_LAYER,    /* the scope path cut to `depth` names (depth <= 0: the whole path) */
  FR_PROF_BY_OP,       /* the op name and phase ("conv2d", "conv2d (backward)") */
} FrProfGroupBy;

typedef struct {
  char *name;              /* layer path or op name */
  char *ops;               /* layers: the op names inside, "conv2d+instance_norm"; ops: the layer count */
  gboolean auto_layer;
  int order;               /* first appearance in a run (model order) */
  int calls;               /* ops per run */
  double macs, flops, bytes_read, bytes_written;   /* per run */
  double ms_median, ms_min, ms_max, ms_mad;        /* wall, per run */
  double thread_ms_median, cpu_ms_median;          /* calling-thread and process CPU, per run */
  double share;            /* of the per-run op total (medians) */
  double gflops, gbps;     /* at the median time; 0 without flops/bytes */
  double intensity;        /* flops / bytes; 0 without bytes */
  double attainable_gflops;/* the roofline at that intensity (threads of the run); NAN: no roofline */
  double parallelism;      /* cpu_ms_median / ms_median: cores busy on average */
} FrProfGroup;

/* A new array of groups, in model order (sort it as needed); free with fr_prof_groups_free. */
FrProfGroup *fr_profile_result_groups(const FrProfileResult *r, FrProfGroupBy by, int depth, int *n);
void fr_prof_groups_free(FrProfGroup *groups, int n);

/* Two profiles side by side, matched by group name at `depth` (1: top-level layers such as "block3";
 * a name only one side has gets zeros on the other). Ratios are a / b: for a teacher a and a student
 * b, macs_ratio is how many times fewer MACs the student has, time_ratio how many times faster it
 * runs; speedup_efficiency = time_ratio / macs_ratio (1: the removed MACs became time saved, < 1:
 * less). The last row is "total" (sums of the medians). The same with CPU time: cpu_time_ratio. */
typedef struct {
  char *name;
  double macs_a, macs_b, ms_a, ms_b;
  double macs_ratio, time_ratio, speedup_efficiency;   /* NAN where a side is 0 */
  double cpu_ms_a, cpu_ms_b;  /* process CPU time (medians): on a busy machine, with one thread, the */
  double cpu_time_ratio;      /* steadier figure; 0 / NAN when the CPU clocks were off */
} FrProfCompareRow;

FrProfCompareRow *fr_profile_compare(const FrProfileResult *a, const FrProfileResult *b, int depth, int *n);
void fr_prof_compare_free(FrProfCompareRow *rows, int n);

/* ---- export ------------------------------------------------------------------------------------ */

/* JSON document: "format": "frontier-profile", "info" {...}, "roofline" {...} or null, "layers"
 * (whole paths), "top_layers" (depth 1), "op_types" (arrays of group objects, keys as FrProfGroup),
 * and with_ops: "run_spans" ([start_ns, end_ns] per run) and "ops" (every FrProfOp). */
JsonNode *fr_profile_result_to_json(const FrProfileResult *r, gboolean with_ops);
gboolean fr_profile_result_write_json(const FrProfileResult *r, const char *path, gboolean with_ops, GError **error);
/* Reads back a profile written with its ops (fr_profile_result_write_json with_ops, `frontier-cli
 * profile --save`): the groups, comparison and exports work on it as on the original. */
FrProfileResult *fr_profile_result_load(const char *path, GError **error);
JsonNode *fr_profile_compare_to_json(const FrProfCompareRow *rows, int n, const char *name_a, const char *name_b);

typedef enum {
  FR_PROF_CSV_LAYERS,  /* one row per layer (whole path): the group columns */
  FR_PROF_CSV_OPTYPES, /* one row per op type */
  FR_PROF_CSV_OPS,     /* one row per op of every timed run */
} FrProfCsvKind;
/* Column names of each kind, NULL-terminated (static). */
const char *const *fr_profile_csv_columns(FrProfCsvKind kind);
gboolean fr_profile_result_write_csv(const FrProfileResult *r, FrProfCsvKind kind, const char *path, GError **error);

/* Chrome trace-event JSON ({"traceEvents": [...], "displayTimeUnit": "ms"}): one "X" event per op
 * (ts, dur in µs; pid 1; tid = the op's thread; name the op; cat the phase; args: layer, shape, run,
 * macs, bytes, thread_ms, cpu_ms, gflops), "M" events naming the process and threads, and a "C"
 * counter "cores busy" (cpu_ns / wall per op). */
char *fr_profile_result_to_trace(const FrProfileResult *r, gsize *len);
gboolean fr_profile_result_write_trace(const FrProfileResult *r, const char *path, GError **error);

G_END_DECLS
