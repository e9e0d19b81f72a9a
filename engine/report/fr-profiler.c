/* fr-profiler.c: see fr-profiler.h. */
#include "fr-profiler.h"
#include "fr-report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { gint64 start, end; } RunSpan;

struct _FrProfiler {
  GMutex lock;
  GArray *ops;              /* FrProfOp, strings in `strings` */
  GStringChunk *strings;
  GArray *runs;             /* RunSpan of the kept runs */
  gboolean recording, in_run;
  int seq;
  gint64 origin;            /* wall ns where the first kept run began; 0 before */
  GPtrArray *scopes;        /* char *, the profiler's own */
  int auto_count;
  const char *auto_name;    /* interned, NULL: no automatic layer open */
  int auto_scope_gen;       /* bumped by push/pop/begin_run: the automatic layers restart */
  int auto_seen_gen;
  GHashTable *tids;         /* process-wide thread number -> local number */
  /* the last graph scope path made, reused while the scopes stay the same */
  const FrGraph *last_graph;
  guint last_scope_gen;
  int last_gen;
  const char *last_path;
};

struct _FrProfileResult {
  gint ref;
  FrProfInfo info;
  GArray *ops;
  GStringChunk *strings;
  GArray *runs;
  int n_threads;
};

/* ---- clocks and threads ------------------------------------------------------------------------ */

static gint64 clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void fr_prof_clock_read(FrProfClock *c) {
  c->thread_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  c->cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  c->wall_ns = clock_ns(CLOCK_MONOTONIC);
}

static int process_thread_number(void) {
  static gint next = 0;
  static _Thread_local int mine;
  if (!mine) mine = g_atomic_int_add(&next, 1) + 1;
  return mine;
}

/* ---- recording --------------------------------------------------------------------------------- */

FrProfiler *fr_profiler_new(void) {
  FrProfiler *p = g_new0(FrProfiler, 1);
  g_mutex_init(&p->lock);
  p->ops = g_array_new(FALSE, TRUE, sizeof(FrProfOp));
  p->strings = g_string_chunk_new(4096);
  p->runs = g_array_new(FALSE, TRUE, sizeof(RunSpan));
  p->scopes = g_ptr_array_new_with_free_func(g_free);
  p->tids = g_hash_table_new(g_direct_hash, g_direct_equal);
  return p;
}

void fr_profiler_free(FrProfiler *p) {
  if (!p) return;
  void *user = NULL;
  if (fr_graph_get_thread_profiler(&user) && user == p) fr_graph_set_thread_profiler(NULL, NULL);
  g_array_unref(p->ops);
  if (p->strings) g_string_chunk_free(p->strings);
  g_array_unref(p->runs);
  g_ptr_array_unref(p->scopes);
  g_hash_table_unref(p->tids);
  g_mutex_clear(&p->lock);
  g_free(p);
}

static const char *intern(FrProfiler *p, const char *s) { return g_string_chunk_insert_const(p->strings, s ? s : ""); }

static int local_tid(FrProfiler *p) {
  int t = process_thread_number();
  int local = GPOINTER_TO_INT(g_hash_table_lookup(p->tids, GINT_TO_POINTER(t)));
  if (!local) {
    local = (int)g_hash_table_size(p->tids) + 1;
    g_hash_table_insert(p->tids, GINT_TO_POINTER(t), GINT_TO_POINTER(local));
  }
  return local;
}

/* Appends the profiler's scopes to buf, "/"-separated. */
static void prefix_path(FrProfiler *p, GString *buf) {
  for (guint i = 0; i < p->scopes->len; i++) {
    if (buf->len) g_string_append_c(buf, '/');
    g_string_append(buf, g_ptr_array_index(p->scopes, i));
  }
}

/* Called with the lock held. */
static FrProfOp *new_op(FrProfiler *p, const char *op, const char *phase, const char *shape, gint64 start,
                        gint64 end, gint64 thread_ns, gint64 cpu_ns, double macs, double br, double bw) {
  FrProfOp o = {
    .run = (int)p->runs->len - 1, .seq = p->seq++, .tid = local_tid(p),
    .op = intern(p, op), .phase = intern(p, phase), .shape = intern(p, shape),
    .start_ns = start - p->origin, .end_ns = end - p->origin, .thread_ns = thread_ns, .cpu_ns = cpu_ns,
    .macs = macs, .bytes_read = br, .bytes_written = bw,
  };
  g_array_append_val(p->ops, o);
  return &g_array_index(p->ops, FrProfOp, p->ops->len - 1);
}

static void on_record(const FrOpRecord *rec, void *user) {
  FrProfiler *p = user;
  g_mutex_lock(&p->lock);
  if (!p->recording) {
    g_mutex_unlock(&p->lock);
    return;
  }
  FrProfOp *o = new_op(p, rec->op, rec->phase, rec->shape, rec->start_ns, rec->end_ns, rec->thread_ns, rec->cpu_ns,
                       rec->macs, rec->bytes_read, rec->bytes_written);
  if (rec->n_scopes > 0 && p->last_path && p->last_graph == rec->graph && p->last_scope_gen == rec->scope_gen &&
      p->last_gen == p->auto_scope_gen) {
    o->layer = p->last_path;   /* the same scopes as the op before */
    g_mutex_unlock(&p->lock);
    return;
  }
  GString *path = g_string_sized_new(96);
  prefix_path(p, path);
  if (rec->n_scopes > 0) {
    for (int i = 0; i < rec->n_scopes; i++) {
      if (path->len) g_string_append_c(path, '/');
      g_string_append(path, rec->scopes[i] ? rec->scopes[i] : "?");
    }
    o->layer = intern(p, path->str);
    p->last_graph = rec->graph;
    p->last_scope_gen = rec->scope_gen;
    p->last_gen = p->auto_scope_gen;
    p->last_path = o->layer;
  } else {
    /* an automatic layer: an op with MACs opens one, the ops after it join it */
    if (p->auto_seen_gen != p->auto_scope_gen) {
      p->auto_seen_gen = p->auto_scope_gen;
      p->auto_count = 0;
      p->auto_name = NULL;
    }
    if (rec->macs > 0 || !p->auto_name) {
      if (rec->macs > 0) p->auto_count++;
      if (path->len) g_string_append_c(path, '/');
      g_string_append_printf(path, "L%02d %s", p->auto_count, rec->op);
      p->auto_name = intern(p, path->str);
    }
    o->layer = p->auto_name;
    o->auto_layer = TRUE;
  }
  g_string_free(path, TRUE);
  g_mutex_unlock(&p->lock);
}

void fr_profiler_attach(FrProfiler *p, FrGraph *g) { fr_graph_set_profiler(g, on_record, p); }

void fr_profiler_set_thread_default(FrProfiler *p) { fr_graph_set_thread_profiler(p ? on_record : NULL, p); }

void fr_profiler_begin_run(FrProfiler *p, gboolean keep) {
  gint64 now = clock_ns(CLOCK_MONOTONIC);
  g_mutex_lock(&p->lock);
  p->recording = keep;
  p->in_run = TRUE;
  p->seq = 0;
  p->auto_scope_gen++;
  if (keep) {
    if (p->runs->len == 0) p->origin = now;
    RunSpan s = { now - p->origin, now - p->origin };
    g_array_append_val(p->runs, s);
  }
  g_mutex_unlock(&p->lock);
}

void fr_profiler_end_run(FrProfiler *p) {
  gint64 now = clock_ns(CLOCK_MONOTONIC);
  g_mutex_lock(&p->lock);
  if (p->recording && p->runs->len) g_array_index(p->runs, RunSpan, p->runs->len - 1).end = now - p->origin;
  p->recording = FALSE;
  p->in_run = FALSE;
  g_mutex_unlock(&p->lock);
}

void fr_profiler_push_scope(FrProfiler *p, const char *name) {
  g_mutex_lock(&p->lock);
  g_ptr_array_add(p->scopes, g_strdup(name ? name : "?"));
  p->auto_scope_gen++;
  g_mutex_unlock(&p->lock);
}

void fr_profiler_pop_scope(FrProfiler *p) {
  g_mutex_lock(&p->lock);
  if (p->scopes->len) g_ptr_array_remove_index(p->scopes, p->scopes->len - 1);
  p->auto_scope_gen++;
  g_mutex_unlock(&p->lock);
}

void fr_profiler_add(FrProfiler *p, const char *op, const char *layer, const char *shape, const FrProfClock *t0,
                     double macs, double bytes_read, double bytes_written) {
  FrProfClock t1;
  fr_prof_clock_read(&t1);
  g_mutex_lock(&p->lock);
  if (p->recording) {
    FrProfOp *o = new_op(p, op, "forward", shape, t0->wall_ns, t1.wall_ns, t1.thread_ns - t0->thread_ns,
                         t1.cpu_ns - t0->cpu_ns, macs, bytes_read, bytes_written);
    GString *path = g_string_new(NULL);
    prefix_path(p, path);
    if (path->len) g_string_append_c(path, '/');
    g_string_append(path, layer ? layer : op);
    o->layer = intern(p, path->str);
    g_string_free(path, TRUE);
  }
  g_mutex_unlock(&p->lock);
}

/* ---- statistics helpers ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of v[0..n) (v is sorted in place); NAN for n == 0. */
static double median(double *v, int n) {
  if (n <= 0) return NAN;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* median, min, max and median absolute deviation of v[0..n) (v is reordered) */
static void spread(double *v, int n, double *med, double *lo, double *hi, double *mad) {
  *med = median(v, n);
  *lo = n ? v[0] : NAN;
  *hi = n ? v[n - 1] : NAN;
  if (mad) {
    double *d = g_new(double, MAX(n, 1));
    for (int i = 0; i < n; i++) d[i] = fabs(v[i] - *med);
    *mad = median(d, n);
    g_free(d);
  }
}

static int cmp_op_time(gconstpointer a, gconstpointer b) {
  const FrProfOp *x = a, *y = b;
  if (x->run != y->run) return x->run < y->run ? -1 : 1;
  if (x->start_ns != y->start_ns) return x->start_ns < y->start_ns ? -1 : 1;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

FrProfileResult *fr_profiler_finish(FrProfiler *p, const FrProfInfo *info, const FrRoofline *roofline) {
  FrProfileResult *r = g_new0(FrProfileResult, 1);
  r->ref = 1;
  g_mutex_lock(&p->lock);
  r->ops = p->ops;
  r->strings = p->strings;
  r->runs = p->runs;
  r->n_threads = (int)g_hash_table_size(p->tids);
  p->ops = g_array_new(FALSE, TRUE, sizeof(FrProfOp));
  p->strings = g_string_chunk_new(4096);
  p->runs = g_array_new(FALSE, TRUE, sizeof(RunSpan));
  g_hash_table_remove_all(p->tids);
  p->last_path = NULL;
  p->recording = FALSE;
  g_mutex_unlock(&p->lock);
  /* nested ops end before their parent: put every run's ops in start order */
  g_array_sort(r->ops, cmp_op_time);

  FrProfInfo *in = &r->info;
  if (info) *in = *info;
  else {
    memset(in, 0, sizeof *in);
    in->unprofiled_ms_median = NAN;
    in->model_macs = NAN;
  }
  in->target = g_strdup(info && info->target ? info->target : "");
  in->description = g_strdup(info && info->description ? info->description : "");
  in->cpu = g_strdup(fr_roofline_cpu_name());
  GDateTime *now = g_date_time_new_now_utc();
  in->date = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
  g_date_time_unref(now);
  in->runs = (int)r->runs->len;
  int R = in->runs;
  double *run_ms = g_new0(double, MAX(R, 1)), *op_ms = g_new0(double, MAX(R, 1));
  for (int i = 0; i < R; i++) {
    RunSpan s = g_array_index(r->runs, RunSpan, i);
    run_ms[i] = (double)(s.end - s.start) / 1e6;
  }
  in->macs = in->flops = in->bytes_read = in->bytes_written = 0;
  for (guint i = 0; i < r->ops->len; i++) {
    const FrProfOp *o = &g_array_index(r->ops, FrProfOp, i);
    if (o->run >= 0 && o->run < R) op_ms[o->run] += (double)(o->end_ns - o->start_ns) / 1e6;
    in->macs += o->macs;
    in->bytes_read += o->bytes_read;
    in->bytes_written += o->bytes_written;
  }
  if (R > 0) {
    in->macs /= R;
    in->bytes_read /= R;
    in->bytes_written /= R;
  }
  in->flops = 2 * in->macs;
  spread(run_ms, R, &in->run_ms_median, &in->run_ms_min, &in->run_ms_max, &in->run_ms_mad);
  in->op_ms_median = median(op_ms, R);
  in->overhead = isfinite(in->unprofiled_ms_median) && in->unprofiled_ms_median > 0
                   ? in->run_ms_median / in->unprofiled_ms_median - 1
                   : NAN;
  if (!info) in->run_cpu_ms_median = in->unprofiled_cpu_ms_median = NAN;
  in->overhead_cpu = isfinite(in->unprofiled_cpu_ms_median) && in->unprofiled_cpu_ms_median > 0 &&
                         isfinite(in->run_cpu_ms_median)
                       ? in->run_cpu_ms_median / in->unprofiled_cpu_ms_median - 1
                       : NAN;
  g_free(run_ms);
  g_free(op_ms);
  in->has_roofline = roofline != NULL;
  if (roofline) in->roofline = *roofline;
  return r;
}

FrProfileResult *fr_profile_result_ref(FrProfileResult *r) {
  g_atomic_int_inc(&r->ref);
  return r;
}

void fr_profile_result_unref(FrProfileResult *r) {
  if (!r || !g_atomic_int_dec_and_test(&r->ref)) return;
  g_free(r->info.target);
  g_free(r->info.description);
  g_free(r->info.cpu);
  g_free(r->info.date);
  g_array_unref(r->ops);
  g_string_chunk_free(r->strings);
  g_array_unref(r->runs);
  g_free(r);
}

const FrProfInfo *fr_profile_result_info(const FrProfileResult *r) { return &r->info; }

const FrProfOp *fr_profile_result_ops(const FrProfileResult *r, int *n) {
  *n = (int)r->ops->len;
  return (const FrProfOp *)r->ops->data;
}

gint64 fr_profile_result_run_start(const FrProfileResult *r, int run) {
  g_return_val_if_fail(run >= 0 && run < (int)r->runs->len, 0);
  return g_array_index(r->runs, RunSpan, run).start;
}

gint64 fr_profile_result_run_length(const FrProfileResult *r, int run) {
  g_return_val_if_fail(run >= 0 && run < (int)r->runs->len, 0);
  RunSpan s = g_array_index(r->runs, RunSpan, run);
  return s.end - s.start;
}

int fr_profile_result_n_threads(const FrProfileResult *r) { return r->n_threads; }

/* ---- groups ------------------------------------------------------------------------------------ */

typedef struct {
  char *name;
  GString *ops;          /* layer: distinct op names; op type: distinct layers counted */
  GHashTable *seen;
  gboolean auto_layer;
  int order;
  double calls, macs, br, bw;
  double *ms, *thread_ms, *cpu_ms;   /* per run */
} Acc;

static char *layer_key(const char *layer, int depth) {
  if (depth <= 0) return g_strdup(layer);
  const char *s = layer;
  for (int d = 0; d < depth; d++) {
    const char *slash = strchr(s, '/');
    if (!slash) return g_strdup(layer);
    if (d == depth - 1) return g_strndup(layer, (gsize)(slash - layer));
    s = slash + 1;
  }
  return g_strdup(layer);
}

FrProfGroup *fr_profile_result_groups(const FrProfileResult *r, FrProfGroupBy by, int depth, int *n) {
  const int R = MAX(r->info.runs, 1);
  GHashTable *index = g_hash_table_new(g_str_hash, g_str_equal);
  GPtrArray *accs = g_ptr_array_new();
  for (guint i = 0; i < r->ops->len; i++) {
    const FrProfOp *o = &g_array_index(r->ops, FrProfOp, i);
    char *key = by == FR_PROF_BY_LAYER ? layer_key(o->layer, depth)
                                       : (strcmp(o->phase, "forward") ? g_strdup_printf("%s (%s)", o->op, o->phase)
                                                                       : g_strdup(o->op));
    Acc *a = g_hash_table_lookup(index, key);
    if (!a) {
      a = g_new0(Acc, 1);
      a->name = key;
      a->ops = g_string_new(NULL);
      a->seen = g_hash_table_new(g_str_hash, g_str_equal);
      a->auto_layer = o->auto_layer;
      a->order = (int)accs->len;
      a->ms = g_new0(double, R);
      a->thread_ms = g_new0(double, R);
      a->cpu_ms = g_new0(double, R);
      g_hash_table_insert(index, a->name, a);
      g_ptr_array_add(accs, a);
    } else {
      g_free(key);
    }
    const char *member = by == FR_PROF_BY_LAYER ? o->op : o->layer;
    if (!g_hash_table_contains(a->seen, member)) {
      g_hash_table_add(a->seen, (gpointer)member);
      if (by == FR_PROF_BY_LAYER) {
        if (a->ops->len) g_string_append_c(a->ops, '+');
        g_string_append(a->ops, member);
      }
    }
    a->calls += 1;
    a->macs += o->macs;
    a->br += o->bytes_read;
    a->bw += o->bytes_written;
    if (o->run >= 0 && o->run < R) {
      a->ms[o->run] += (double)(o->end_ns - o->start_ns) / 1e6;
      a->thread_ms[o->run] += (double)o->thread_ns / 1e6;
      a->cpu_ms[o->run] += (double)o->cpu_ns / 1e6;
    }
  }
  g_hash_table_unref(index);

  const FrProfInfo *in = &r->info;
  double total = 0;
  FrProfGroup *out = g_new0(FrProfGroup, MAX(accs->len, 1));
  for (guint i = 0; i < accs->len; i++) {
    Acc *a = g_ptr_array_index(accs, i);
    FrProfGroup *g = &out[i];
    g->name = a->name;
    g->ops = by == FR_PROF_BY_LAYER ? g_string_free(a->ops, FALSE)
                                    : (g_string_free(a->ops, TRUE),
                                       g_strdup_printf("%u layer%s", g_hash_table_size(a->seen),
                                                       g_hash_table_size(a->seen) == 1 ? "" : "s"));
    g->auto_layer = a->auto_layer;
    g->order = a->order;
    g->calls = (int)lround(a->calls / R);
    g->macs = a->macs / R;
    g->flops = 2 * g->macs;
    g->bytes_read = a->br / R;
    g->bytes_written = a->bw / R;
    spread(a->ms, R, &g->ms_median, &g->ms_min, &g->ms_max, &g->ms_mad);
    g->thread_ms_median = median(a->thread_ms, R);
    g->cpu_ms_median = median(a->cpu_ms, R);
    double bytes = g->bytes_read + g->bytes_written, secs = g->ms_median / 1e3;
    g->gflops = secs > 0 ? g->flops / secs / 1e9 : 0;
    g->gbps = secs > 0 ? bytes / secs / 1e9 : 0;
    g->intensity = bytes > 0 ? g->flops / bytes : 0;
    g->attainable_gflops = in->has_roofline ? fr_roofline_attainable(&in->roofline, g->intensity, in->threads == 1) : NAN;
    g->parallelism = g->ms_median > 0 ? g->cpu_ms_median / g->ms_median : 0;
    total += g->ms_median;
    g_hash_table_unref(a->seen);
    g_free(a->ms);
    g_free(a->thread_ms);
    g_free(a->cpu_ms);
    g_free(a);
  }
  for (guint i = 0; i < accs->len; i++) out[i].share = total > 0 ? out[i].ms_median / total : 0;
  *n = (int)accs->len;
  g_ptr_array_unref(accs);
  return out;
}

void fr_prof_groups_free(FrProfGroup *groups, int n) {
  if (!groups) return;
  for (int i = 0; i < n; i++) {
    g_free(groups[i].name);
    g_free(groups[i].ops);
  }
  g_free(groups);
}

/* ---- comparison -------------------------------------------------------------------------------- */

static double ratio(double a, double b) { return a > 0 && b > 0 ? a / b : NAN; }

static void fill_ratios(FrProfCompareRow *row) {
  row->macs_ratio = ratio(row->macs_a, row->macs_b);
  row->time_ratio = ratio(row->ms_a, row->ms_b);
  row->speedup_efficiency = isfinite(row->macs_ratio) && isfinite(row->time_ratio) ? row->time_ratio / row->macs_ratio : NAN;
  row->cpu_time_ratio = ratio(row->cpu_ms_a, row->cpu_ms_b);
}

FrProfCompareRow *fr_profile_compare(const FrProfileResult *a, const FrProfileResult *b, int depth, int *n) {
  int na, nb;
  FrProfGroup *ga = fr_profile_result_groups(a, FR_PROF_BY_LAYER, depth, &na);
  FrProfGroup *gb = fr_profile_result_groups(b, FR_PROF_BY_LAYER, depth, &nb);
  FrProfCompareRow *rows = g_new0(FrProfCompareRow, na + nb + 1);
  gboolean *used = g_new0(gboolean, MAX(nb, 1));
  int k = 0;
  FrProfCompareRow total = { .name = g_strdup("total") };
  for (int i = 0; i < na; i++) {
    FrProfCompareRow *row = &rows[k++];
    row->name = g_strdup(ga[i].name);
    row->macs_a = ga[i].macs;
    row->ms_a = ga[i].ms_median;
    row->cpu_ms_a = ga[i].cpu_ms_median;
    for (int j = 0; j < nb; j++)
      if (!used[j] && !strcmp(gb[j].name, ga[i].name)) {
        used[j] = TRUE;
        row->macs_b = gb[j].macs;
        row->ms_b = gb[j].ms_median;
        row->cpu_ms_b = gb[j].cpu_ms_median;
        break;
      }
  }
  for (int j = 0; j < nb; j++)
    if (!used[j]) {
      FrProfCompareRow *row = &rows[k++];
      row->name = g_strdup(gb[j].name);
      row->macs_b = gb[j].macs;
      row->ms_b = gb[j].ms_median;
      row->cpu_ms_b = gb[j].cpu_ms_median;
    }
  for (int i = 0; i < k; i++) {
    fill_ratios(&rows[i]);
    total.macs_a += rows[i].macs_a;
    total.macs_b += rows[i].macs_b;
    total.ms_a += rows[i].ms_a;
    total.ms_b += rows[i].ms_b;
    total.cpu_ms_a += rows[i].cpu_ms_a;
    total.cpu_ms_b += rows[i].cpu_ms_b;
  }
  fill_ratios(&total);
  rows[k++] = total;
  g_free(used);
  fr_prof_groups_free(ga, na);
  fr_prof_groups_free(gb, nb);
  *n = k;
  return rows;
}

void fr_prof_compare_free(FrProfCompareRow *rows, int n) {
  if (!rows) return;
  for (int i = 0; i < n; i++) g_free(rows[i].name);
  g_free(rows);
}

/* ---- JSON -------------------------------------------------------------------------------------- */

static void add_num(JsonBuilder *b, const char *name, double v) {
  json_builder_set_member_name(b, name);
  if (isfinite(v)) json_builder_add_double_value(b, v);
  else json_builder_add_null_value(b);
}

static void add_int(JsonBuilder *b, const char *name, gint64 v) {
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, v);
}

static void add_str(JsonBuilder *b, const char *name, const char *v) {
  json_builder_set_member_name(b, name);
  if (v) json_builder_add_string_value(b, v);
  else json_builder_add_null_value(b);
}

static void add_roofline(JsonBuilder *b, const FrProfInfo *in) {
  json_builder_set_member_name(b, "roofline");
  if (!in->has_roofline) {
    json_builder_add_null_value(b);
    return;
  }
  const FrRoofline *rf = &in->roofline;
  json_builder_begin_object(b);
  add_str(b, "cpu", rf->cpu);
  add_int(b, "threads", rf->threads);
  add_num(b, "gemm_gflops_1t", rf->gemm_gflops_1t);
  add_num(b, "gemm_gflops", rf->gemm_gflops);
  add_num(b, "bw_gbs_1t", rf->bw_gbs_1t);
  add_num(b, "bw_gbs", rf->bw_gbs);
  add_str(b, "date", rf->date);
  json_builder_set_member_name(b, "from_cache");
  json_builder_add_boolean_value(b, rf->from_cache);
  json_builder_end_object(b);
}

static void add_groups(JsonBuilder *b, const char *member, const FrProfileResult *r, FrProfGroupBy by, int depth) {
  int n;
  FrProfGroup *gs = fr_profile_result_groups(r, by, depth, &n);
  json_builder_set_member_name(b, member);
  json_builder_begin_array(b);
  for (int i = 0; i < n; i++) {
    const FrProfGroup *g = &gs[i];
    json_builder_begin_object(b);
    add_str(b, "name", g->name);
    add_str(b, "ops", g->ops);
    json_builder_set_member_name(b, "auto");
    json_builder_add_boolean_value(b, g->auto_layer);
    add_int(b, "order", g->order);
    add_int(b, "calls", g->calls);
    add_num(b, "macs", g->macs);
    add_num(b, "flops", g->flops);
    add_num(b, "bytes_read", g->bytes_read);
    add_num(b, "bytes_written", g->bytes_written);
    add_num(b, "ms_median", g->ms_median);
    add_num(b, "ms_min", g->ms_min);
    add_num(b, "ms_max", g->ms_max);
    add_num(b, "ms_mad", g->ms_mad);
    add_num(b, "thread_ms_median", g->thread_ms_median);
    add_num(b, "cpu_ms_median", g->cpu_ms_median);
    add_num(b, "share", g->share);
    add_num(b, "gflops", g->gflops);
    add_num(b, "gbps", g->gbps);
    add_num(b, "intensity", g->intensity);
    add_num(b, "attainable_gflops", g->attainable_gflops);
    add_num(b, "parallelism", g->parallelism);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  fr_prof_groups_free(gs, n);
}

JsonNode *fr_profile_result_to_json(const FrProfileResult *r, gboolean with_ops) {
  const FrProfInfo *in = &r->info;
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  add_str(b, "format", "frontier-profile");
  json_builder_set_member_name(b, "info");
  json_builder_begin_object(b);
  add_str(b, "target", in->target);
  add_str(b, "description", in->description);
  add_str(b, "cpu", in->cpu);
  add_str(b, "date", in->date);
  add_int(b, "threads", in->threads);
  add_int(b, "batch", in->batch);
  add_int(b, "runs", in->runs);
  add_int(b, "warmup", in->warmup);
  add_num(b, "run_ms_median", in->run_ms_median);
  add_num(b, "run_ms_min", in->run_ms_min);
  add_num(b, "run_ms_max", in->run_ms_max);
  add_num(b, "run_ms_mad", in->run_ms_mad);
  add_num(b, "op_ms_median", in->op_ms_median);
  add_num(b, "unprofiled_ms_median", in->unprofiled_ms_median);
  add_num(b, "overhead", in->overhead);
  add_num(b, "run_cpu_ms_median", in->run_cpu_ms_median);
  add_num(b, "unprofiled_cpu_ms_median", in->unprofiled_cpu_ms_median);
  add_num(b, "overhead_cpu", in->overhead_cpu);
  add_num(b, "macs", in->macs);
  add_num(b, "flops", in->flops);
  add_num(b, "bytes_read", in->bytes_read);
  add_num(b, "bytes_written", in->bytes_written);
  add_num(b, "model_macs", in->model_macs);
  json_builder_set_member_name(b, "cpu_clocks");
  json_builder_add_boolean_value(b, in->cpu_clocks);
  add_num(b, "gflops", in->op_ms_median > 0 ? in->flops / in->op_ms_median / 1e6 : NAN);
  add_int(b, "n_threads_seen", r->n_threads);
  json_builder_end_object(b);
  add_roofline(b, in);
  add_groups(b, "top_layers", r, FR_PROF_BY_LAYER, 1);
  add_groups(b, "layers", r, FR_PROF_BY_LAYER, 0);
  add_groups(b, "op_types", r, FR_PROF_BY_OP, 0);
  if (with_ops) {
    json_builder_set_member_name(b, "run_spans");   /* [start_ns, end_ns] of each timed run */
    json_builder_begin_array(b);
    for (guint i = 0; i < r->runs->len; i++) {
      RunSpan sp = g_array_index(r->runs, RunSpan, i);
      json_builder_begin_array(b);
      json_builder_add_int_value(b, sp.start);
      json_builder_add_int_value(b, sp.end);
      json_builder_end_array(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "ops");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->ops->len; i++) {
      const FrProfOp *o = &g_array_index(r->ops, FrProfOp, i);
      json_builder_begin_object(b);
      add_int(b, "run", o->run);
      add_int(b, "seq", o->seq);
      add_int(b, "tid", o->tid);
      add_str(b, "op", o->op);
      add_str(b, "phase", o->phase);
      add_str(b, "layer", o->layer);
      json_builder_set_member_name(b, "auto");
      json_builder_add_boolean_value(b, o->auto_layer);
      add_str(b, "shape", o->shape);
      add_int(b, "start_ns", o->start_ns);
      add_int(b, "end_ns", o->end_ns);
      add_int(b, "thread_ns", o->thread_ns);
      add_int(b, "cpu_ns", o->cpu_ns);
      add_num(b, "macs", o->macs);
      add_num(b, "bytes_read", o->bytes_read);
      add_num(b, "bytes_written", o->bytes_written);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
  }
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  g_object_unref(b);
  return root;
}

gboolean fr_profile_result_write_json(const FrProfileResult *r, const char *path, gboolean with_ops, GError **error) {
  JsonNode *root = fr_profile_result_to_json(r, with_ops);
  gboolean ok = fr_report_write_json(path, root, TRUE, error);
  json_node_unref(root);
  return ok;
}

JsonNode *fr_profile_compare_to_json(const FrProfCompareRow *rows, int n, const char *name_a, const char *name_b) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  add_str(b, "a", name_a);
  add_str(b, "b", name_b);
  json_builder_set_member_name(b, "rows");
  json_builder_begin_array(b);
  for (int i = 0; i < n; i++) {
    json_builder_begin_object(b);
    add_str(b, "name", rows[i].name);
    add_num(b, "macs_a", rows[i].macs_a);
    add_num(b, "macs_b", rows[i].macs_b);
    add_num(b, "ms_a", rows[i].ms_a);
    add_num(b, "ms_b", rows[i].ms_b);
    add_num(b, "macs_ratio", rows[i].macs_ratio);
    add_num(b, "time_ratio", rows[i].time_ratio);
    add_num(b, "speedup_efficiency", rows[i].speedup_efficiency);
    add_num(b, "cpu_ms_a", rows[i].cpu_ms_a);
    add_num(b, "cpu_ms_b", rows[i].cpu_ms_b);
    add_num(b, "cpu_time_ratio", rows[i].cpu_time_ratio);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  g_object_unref(b);
  return root;
}

/* ---- reading a saved profile ------------------------------------------------------------------- */

static double get_num(JsonObject *o, const char *name, double dflt) {
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  if (!n || !JSON_NODE_HOLDS_VALUE(n)) return dflt;
  GType t = json_node_get_value_type(n);
  return t == G_TYPE_DOUBLE || t == G_TYPE_INT64 ? json_node_get_double(n) : dflt;
}

static gint64 get_int(JsonObject *o, const char *name) {
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  if (!n || !JSON_NODE_HOLDS_VALUE(n)) return 0;
  GType t = json_node_get_value_type(n);
  return t == G_TYPE_INT64 ? json_node_get_int(n) : t == G_TYPE_DOUBLE ? (gint64)json_node_get_double(n) : 0;
}

static const char *get_str(JsonObject *o, const char *name) {
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n) : NULL;
}

FrProfileResult *fr_profile_result_load(const char *path, GError **error) {
  JsonParser *parser = json_parser_new();
  if (!json_parser_load_from_file(parser, path, error)) {
    g_object_unref(parser);
    return NULL;
  }
  JsonNode *root = json_parser_get_root(parser);
  JsonObject *top = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  JsonNode *ops_node = top ? json_object_get_member(top, "ops") : NULL;
  JsonNode *info_node = top ? json_object_get_member(top, "info") : NULL;
  if (!top || g_strcmp0(get_str(top, "format"), "frontier-profile") || !ops_node || !JSON_NODE_HOLDS_ARRAY(ops_node) ||
      !info_node || !JSON_NODE_HOLDS_OBJECT(info_node)) {
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID,
                "%s is not a saved profile with its ops (frontier-cli profile --save)", path);
    g_object_unref(parser);
    return NULL;
  }
  FrProfiler *p = fr_profiler_new();
  JsonArray *ops = json_node_get_array(ops_node);
  int max_run = -1, max_tid = 0;
  for (guint i = 0; i < json_array_get_length(ops); i++) {
    JsonNode *en = json_array_get_element(ops, i);
    if (!JSON_NODE_HOLDS_OBJECT(en)) continue;
    JsonObject *e = json_node_get_object(en);
    FrProfOp o = {
      .run = (int)get_int(e, "run"), .seq = (int)get_int(e, "seq"), .tid = (int)get_int(e, "tid"),
      .op = intern(p, get_str(e, "op")), .phase = intern(p, get_str(e, "phase") ? get_str(e, "phase") : "forward"),
      .layer = intern(p, get_str(e, "layer")), .auto_layer = json_object_get_boolean_member_with_default(e, "auto", FALSE),
      .shape = intern(p, get_str(e, "shape")), .start_ns = get_int(e, "start_ns"), .end_ns = get_int(e, "end_ns"),
      .thread_ns = get_int(e, "thread_ns"), .cpu_ns = get_int(e, "cpu_ns"), .macs = get_num(e, "macs", 0),
      .bytes_read = get_num(e, "bytes_read", 0), .bytes_written = get_num(e, "bytes_written", 0),
    };
    if (o.run < 0 || o.run > 100000) continue;
    max_run = MAX(max_run, o.run);
    max_tid = MAX(max_tid, o.tid);
    g_array_append_val(p->ops, o);
  }
  /* run spans: saved ones, else the extent of each run's ops */
  JsonNode *spans = json_object_get_member(top, "run_spans");
  for (int r = 0; r <= max_run; r++) {
    RunSpan sp = { G_MAXINT64, G_MININT64 };
    if (spans && JSON_NODE_HOLDS_ARRAY(spans) && (guint)r < json_array_get_length(json_node_get_array(spans))) {
      JsonNode *a = json_array_get_element(json_node_get_array(spans), (guint)r);
      if (JSON_NODE_HOLDS_ARRAY(a) && json_array_get_length(json_node_get_array(a)) == 2) {
        sp.start = json_array_get_int_element(json_node_get_array(a), 0);
        sp.end = json_array_get_int_element(json_node_get_array(a), 1);
      }
    }
    if (sp.start > sp.end) {
      for (guint i = 0; i < p->ops->len; i++) {
        const FrProfOp *o = &g_array_index(p->ops, FrProfOp, i);
        if (o->run != r) continue;
        sp.start = MIN(sp.start, o->start_ns);
        sp.end = MAX(sp.end, o->end_ns);
      }
      if (sp.start > sp.end) sp.start = sp.end = 0;
    }
    g_array_append_val(p->runs, sp);
  }
  for (int t = 1; t <= max_tid; t++) g_hash_table_insert(p->tids, GINT_TO_POINTER(-t), GINT_TO_POINTER(t));

  JsonObject *in = json_node_get_object(info_node);
  FrProfInfo info = {
    .target = (char *)get_str(in, "target"), .description = (char *)get_str(in, "description"),
    .threads = (int)get_int(in, "threads"), .batch = (int)get_int(in, "batch"), .warmup = (int)get_int(in, "warmup"),
    .unprofiled_ms_median = get_num(in, "unprofiled_ms_median", NAN),
    .run_cpu_ms_median = get_num(in, "run_cpu_ms_median", NAN),
    .unprofiled_cpu_ms_median = get_num(in, "unprofiled_cpu_ms_median", NAN),
    .model_macs = get_num(in, "model_macs", NAN),
    .cpu_clocks = json_object_get_boolean_member_with_default(in, "cpu_clocks", TRUE),
  };
  FrRoofline roof = { 0 };
  JsonNode *rn = json_object_get_member(top, "roofline");
  gboolean has_roof = rn && JSON_NODE_HOLDS_OBJECT(rn);
  if (has_roof) {
    JsonObject *ro = json_node_get_object(rn);
    g_strlcpy(roof.cpu, get_str(ro, "cpu") ? get_str(ro, "cpu") : "", sizeof roof.cpu);
    roof.threads = (int)get_int(ro, "threads");
    roof.gemm_gflops_1t = get_num(ro, "gemm_gflops_1t", 0);
    roof.gemm_gflops = get_num(ro, "gemm_gflops", 0);
    roof.bw_gbs_1t = get_num(ro, "bw_gbs_1t", 0);
    roof.bw_gbs = get_num(ro, "bw_gbs", 0);
    g_strlcpy(roof.date, get_str(ro, "date") ? get_str(ro, "date") : "", sizeof roof.date);
    roof.from_cache = TRUE;
  }
  FrProfileResult *r = fr_profiler_finish(p, &info, has_roof ? &roof : NULL);
  /* the machine and the date are the file's, not this one's */
  const char *cpu = get_str(in, "cpu"), *date = get_str(in, "date");
  if (cpu) g_free(r->info.cpu), r->info.cpu = g_strdup(cpu);
  if (date) g_free(r->info.date), r->info.date = g_strdup(date);
  fr_profiler_free(p);
  g_object_unref(parser);
  return r;
}

/* ---- CSV --------------------------------------------------------------------------------------- */

static const char *const group_columns[] = {
  "name", "ops", "auto", "calls", "macs", "flops", "bytes_read", "bytes_written", "ms_median", "ms_min", "ms_max",
  "ms_mad", "thread_ms_median", "cpu_ms_median", "share", "gflops", "gbps", "intensity", "attainable_gflops",
  "parallelism", NULL,
};
static const char *const op_columns[] = {
  "run", "seq", "tid", "layer", "auto", "op", "phase", "shape", "start_us", "dur_us", "thread_us", "cpu_us", "macs",
  "bytes_read", "bytes_written", "gflops", "gbps", NULL,
};

const char *const *fr_profile_csv_columns(FrProfCsvKind kind) {
  return kind == FR_PROF_CSV_OPS ? op_columns : group_columns;
}

gboolean fr_profile_result_write_csv(const FrProfileResult *r, FrProfCsvKind kind, const char *path, GError **error) {
  FrReportTable *t = fr_report_table_new(fr_profile_csv_columns(kind));
  if (kind == FR_PROF_CSV_OPS) {
    for (guint i = 0; i < r->ops->len; i++) {
      const FrProfOp *o = &g_array_index(r->ops, FrProfOp, i);
      guint row = fr_report_table_add_row(t), c = 0;
      double secs = (double)(o->end_ns - o->start_ns) / 1e9, bytes = o->bytes_read + o->bytes_written;
      fr_report_table_set_int(t, row, c++, o->run);
      fr_report_table_set_int(t, row, c++, o->seq);
      fr_report_table_set_int(t, row, c++, o->tid);
      fr_report_table_set_string(t, row, c++, o->layer);
      fr_report_table_set_int(t, row, c++, o->auto_layer);
      fr_report_table_set_string(t, row, c++, o->op);
      fr_report_table_set_string(t, row, c++, o->phase);
      fr_report_table_set_string(t, row, c++, o->shape);
      fr_report_table_set_double(t, row, c++, (double)o->start_ns / 1e3);
      fr_report_table_set_double(t, row, c++, (double)(o->end_ns - o->start_ns) / 1e3);
      fr_report_table_set_double(t, row, c++, (double)o->thread_ns / 1e3);
      fr_report_table_set_double(t, row, c++, (double)o->cpu_ns / 1e3);
      fr_report_table_set_double(t, row, c++, o->macs);
      fr_report_table_set_double(t, row, c++, o->bytes_read);
      fr_report_table_set_double(t, row, c++, o->bytes_written);
      fr_report_table_set_double(t, row, c++, secs > 0 ? 2 * o->macs / secs / 1e9 : 0);
      fr_report_table_set_double(t, row, c++, secs > 0 ? bytes / secs / 1e9 : 0);
    }
  } else {
    int n;
    FrProfGroup *gs = fr_profile_result_groups(r, kind == FR_PROF_CSV_LAYERS ? FR_PROF_BY_LAYER : FR_PROF_BY_OP, 0, &n);
    for (int i = 0; i < n; i++) {
      const FrProfGroup *g = &gs[i];
      guint row = fr_report_table_add_row(t), c = 0;
      fr_report_table_set_string(t, row, c++, g->name);
      fr_report_table_set_string(t, row, c++, g->ops);
      fr_report_table_set_int(t, row, c++, g->auto_layer);
      fr_report_table_set_int(t, row, c++, g->calls);
      double v[] = { g->macs, g->flops, g->bytes_read, g->bytes_written, g->ms_median, g->ms_min, g->ms_max,
                     g->ms_mad, g->thread_ms_median, g->cpu_ms_median, g->share, g->gflops, g->gbps, g->intensity,
                     g->attainable_gflops, g->parallelism };
      for (guint k = 0; k < G_N_ELEMENTS(v); k++) fr_report_table_set_double(t, row, c++, v[k]);
    }
    fr_prof_groups_free(gs, n);
  }
  gboolean ok = fr_report_table_write_csv(t, path, error);
  fr_report_table_free(t);
  return ok;
}

/* ---- Chrome trace ------------------------------------------------------------------------------ */

static void trace_meta(JsonBuilder *b, const char *what, int tid, const char *name) {
  json_builder_begin_object(b);
  add_str(b, "ph", "M");
  add_str(b, "name", what);
  add_int(b, "pid", 1);
  add_int(b, "tid", tid);
  json_builder_set_member_name(b, "args");
  json_builder_begin_object(b);
  add_str(b, "name", name);
  json_builder_end_object(b);
  json_builder_end_object(b);
}

static void trace_counter(JsonBuilder *b, double ts_us, double cores) {
  json_builder_begin_object(b);
  add_str(b, "ph", "C");
  add_str(b, "name", "cores busy");
  add_int(b, "pid", 1);
  add_int(b, "tid", 1);
  add_num(b, "ts", ts_us);
  json_builder_set_member_name(b, "args");
  json_builder_begin_object(b);
  add_num(b, "cores", cores);
  json_builder_end_object(b);
  json_builder_end_object(b);
}

char *fr_profile_result_to_trace(const FrProfileResult *r, gsize *len) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  add_str(b, "displayTimeUnit", "ms");
  json_builder_set_member_name(b, "otherData");
  json_builder_begin_object(b);
  add_str(b, "target", r->info.target);
  add_str(b, "description", r->info.description);
  add_str(b, "cpu", r->info.cpu);
  add_int(b, "threads", r->info.threads);
  add_int(b, "batch", r->info.batch);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "traceEvents");
  json_builder_begin_array(b);
  char *pname = g_strdup_printf("frontier profile: %s", r->info.target);
  trace_meta(b, "process_name", 1, pname);
  g_free(pname);
  for (int t = 1; t <= MAX(r->n_threads, 1); t++) {
    char *tname = g_strdup_printf("thread %d%s", t, t == 1 ? " (runs the ops; the pool's workers are not traced)" : "");
    trace_meta(b, "thread_name", t, tname);
    g_free(tname);
  }
  for (guint i = 0; i < r->runs->len; i++) {
    RunSpan s = g_array_index(r->runs, RunSpan, i);
    json_builder_begin_object(b);
    add_str(b, "ph", "X");
    char *name = g_strdup_printf("run %u", i);
    add_str(b, "name", name);
    g_free(name);
    add_str(b, "cat", "run");
    add_int(b, "pid", 1);
    add_int(b, "tid", 1);
    add_num(b, "ts", (double)s.start / 1e3);
    add_num(b, "dur", (double)(s.end - s.start) / 1e3);
    json_builder_end_object(b);
  }
  for (guint i = 0; i < r->ops->len; i++) {
    const FrProfOp *o = &g_array_index(r->ops, FrProfOp, i);
    double dur_ns = (double)(o->end_ns - o->start_ns);
    json_builder_begin_object(b);
    add_str(b, "ph", "X");
    add_str(b, "name", o->op);
    add_str(b, "cat", o->phase);
    add_int(b, "pid", 1);
    add_int(b, "tid", o->tid);
    add_num(b, "ts", (double)o->start_ns / 1e3);
    add_num(b, "dur", dur_ns / 1e3);
    json_builder_set_member_name(b, "args");
    json_builder_begin_object(b);
    add_str(b, "layer", o->layer);
    add_str(b, "shape", o->shape);
    add_int(b, "run", o->run);
    add_num(b, "macs", o->macs);
    add_num(b, "bytes_read", o->bytes_read);
    add_num(b, "bytes_written", o->bytes_written);
    add_num(b, "thread_ms", (double)o->thread_ns / 1e6);
    add_num(b, "cpu_ms", (double)o->cpu_ns / 1e6);
    add_num(b, "gflops", dur_ns > 0 ? 2 * o->macs / dur_ns : 0);
    json_builder_end_object(b);
    json_builder_end_object(b);
    if (o->tid == 1) {
      trace_counter(b, (double)o->start_ns / 1e3, dur_ns > 0 ? (double)o->cpu_ns / dur_ns : 0);
      trace_counter(b, (double)o->end_ns / 1e3, 0);
    }
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  g_object_unref(b);
  JsonGenerator *gen = json_generator_new();
  json_generator_set_root(gen, root);
  char *text = json_generator_to_data(gen, len);
  g_object_unref(gen);
  json_node_unref(root);
  return text;
}

gboolean fr_profile_result_write_trace(const FrProfileResult *r, const char *path, GError **error) {
  gsize len = 0;
  char *text = fr_profile_result_to_trace(r, &len);
  gboolean ok = fr_report_write_file(path, text, len, error);
  g_free(text);
  return ok;
}
