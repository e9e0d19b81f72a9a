#include "fr-tensor.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static _Thread_local FrProfileFn thread_profile;
static _Thread_local void *thread_profile_user;

void fr_graph_set_thread_profiler(FrProfileFn fn, void *user) {
  thread_profile = fn;
  thread_profile_user = fn ? user : NULL;
}

FrProfileFn fr_graph_get_thread_profiler(void **user) {
  if (user) *user = thread_profile_user;
  return thread_profile;
}

FrGraph *fr_graph_new(size_t arena_chunk) {
  FrGraph *g = g_new0(FrGraph, 1);
  g->arena = fr_arena_new(arena_chunk);
  g->grad_enabled = true;
  g->training = true;
  fr_rng_seed(&g->rng, 0x5eed);
  g->profile = thread_profile;
  g->profile_user = thread_profile_user;
  /* distinct per graph, so that a profiler caching a scope path by (graph, generation) is not fooled
   * by a new graph at a freed one's address */
  static gint serial;
  g->scope_gen = (guint)g_atomic_int_add(&serial, 1) << 16;
  return g;
}

void fr_graph_free(FrGraph *g) {
  if (!g) return;
  fr_arena_free(g->arena);
  g_free(g->nodes);
  g_free(g);
}

void fr_graph_reset(FrGraph *g) {
  fr_arena_reset(g->arena);
  g->n_nodes = 0;
  g->op_depth = 0;
}

void *fr_graph_alloc(FrGraph *g, size_t bytes) { return fr_arena_alloc(g->arena, bytes); }

void fr_graph_set_profiler(FrGraph *g, FrProfileFn fn, void *user) {
  g->profile = fn;
  g->profile_user = user;
  g->op_depth = 0;
}

static gint64 clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What reading the clocks around an op adds to its CPU intervals (the CPU clocks are system calls of
 * a few hundred ns, and they enclose the wall interval): the least of a few empty measurements,
 * subtracted from every op's thread and process CPU time. */
static gint64 clock_cost[2];
static gint cpu_clocks_off;

void fr_graph_set_profile_cpu_clocks(gboolean on) { g_atomic_int_set(&cpu_clocks_off, !on); }
gboolean fr_graph_get_profile_cpu_clocks(void) { return !g_atomic_int_get(&cpu_clocks_off); }

static gpointer calibrate(gpointer unused) {
  gint64 best[2] = { G_MAXINT64, G_MAXINT64 };
  for (int i = 0; i < 64; i++) {
    gint64 t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), p0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    (void)clock_ns(CLOCK_MONOTONIC);
    (void)clock_ns(CLOCK_MONOTONIC);
    gint64 t1 = clock_ns(CLOCK_THREAD_CPUTIME_ID), p1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    best[0] = MIN(best[0], t1 - t0);
    best[1] = MIN(best[1], p1 - p0);
  }
  clock_cost[0] = MAX(best[0], 0);
  clock_cost[1] = MAX(best[1], 0);
  return NULL;
}

/* Profiling only: the CPU clocks first, then the wall clock, and the reverse at the end, so that the
 * clocks' own cost falls outside the op's wall interval (the CPU intervals enclose it; their share of
 * that cost is the calibrated clock_cost, subtracted). */
static __attribute__((noinline)) gint64 op_begin_profiled(FrGraph *g) {
  static GOnce once = G_ONCE_INIT;
  g_once(&once, calibrate, NULL);
  if (g->op_depth < FR_GRAPH_MAX_OP_DEPTH) {
    gboolean cpu = !g_atomic_int_get(&cpu_clocks_off);
    g->op_cpu0[g->op_depth][0] = cpu ? clock_ns(CLOCK_THREAD_CPUTIME_ID) : -1;
    g->op_cpu0[g->op_depth][1] = cpu ? clock_ns(CLOCK_PROCESS_CPUTIME_ID) : -1;
  }
  g->op_depth++;
  return clock_ns(CLOCK_MONOTONIC);
}

gint64 fr_graph_op_begin(FrGraph *g) {
  return G_UNLIKELY(g->profile != NULL) ? op_begin_profiled(g) : 0;
}

static __attribute__((noinline)) void emit_record(FrGraph *g, gint64 t0, const char *op, const char *phase,
                                                  const FrTensor *out, double macs, double br, double bw) {
  gint64 t1 = clock_ns(CLOCK_MONOTONIC);
  gint64 thread_ns = 0, cpu_ns = 0;
  if (g->op_depth > 0) {
    g->op_depth--;
    if (g->op_depth < FR_GRAPH_MAX_OP_DEPTH && g->op_cpu0[g->op_depth][0] >= 0) {
      gint64 thread1 = clock_ns(CLOCK_THREAD_CPUTIME_ID), cpu1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
      thread_ns = MAX(thread1 - g->op_cpu0[g->op_depth][0] - clock_cost[0], 0);
      cpu_ns = MAX(cpu1 - g->op_cpu0[g->op_depth][1] - clock_cost[1], 0);
    }
  }
  if (t0 == 0) return;   /* begun before the profiler was attached */
  FrOpRecord rec = {
    .op = op, .phase = phase, .start_ns = t0, .end_ns = t1,
    .macs = macs, .bytes_read = br, .bytes_written = bw,
    .thread_ns = thread_ns, .cpu_ns = cpu_ns,
    .scopes = g->scopes, .n_scopes = MIN(g->n_scopes, FR_GRAPH_MAX_SCOPES),
    .scope_gen = g->scope_gen, .graph = g,
  };
  if (out) fr_tensor_shape_str(out, rec.shape, sizeof rec.shape);
  g->profile(&rec, g->profile_user);
}

void fr_graph_op_end(FrGraph *g, gint64 t0, const char *op, const FrTensor *out, double macs,
                     double bytes_read, double bytes_written) {
  if (G_LIKELY(g->profile == NULL)) return;
  emit_record(g, t0, op, "forward", out, macs, bytes_read, bytes_written);
}

FrNode *fr_graph_record(FrGraph *g, const char *op, FrBackwardFn bwd, FrTensor *out, int n_in, ...) {
  g_assert(n_in >= 0 && n_in <= 4);
  FrTensor *in[4] = {0};
  bool need = false;
  va_list ap;
  va_start(ap, n_in);
  for (int i = 0; i < n_in; i++) {
    in[i] = va_arg(ap, FrTensor *);
    if (in[i] && in[i]->requires_grad) need = true;
  }
  va_end(ap);
  if (!g->grad_enabled || !need) {
    out->requires_grad = false;
    return NULL;
  }
  FrNode *n = fr_graph_alloc(g, sizeof(FrNode));
  memset(n, 0, sizeof *n);
  n->op = op;
  n->backward = bwd;
  n->out = out;
  n->n_in = n_in;
  memcpy(n->in, in, sizeof in);
  out->node = n;
  out->requires_grad = true;
  if (g->n_nodes == g->cap_nodes) {
    g->cap_nodes = g->cap_nodes ? g->cap_nodes * 2 : 256;
    g->nodes = g_renew(FrNode *, g->nodes, g->cap_nodes);
  }
  g->nodes[g->n_nodes++] = n;
  return n;
}

float *fr_grad(FrGraph *g, FrTensor *t) {
  if (!t || !t->requires_grad) return NULL;
  if (!t->grad) t->grad = fr_arena_calloc(g->arena, sizeof(float) * (size_t)fr_tensor_numel(t));
  return t->grad;
}

void fr_graph_backward(FrGraph *g, FrTensor *loss) {
  g_return_if_fail(fr_tensor_numel(loss) == 1);
  if (!loss->requires_grad) return;
  float *gl = fr_grad(g, loss);
  gl[0] += 1.0f;
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    FrNode *n = g->nodes[i];
    if (!n->out->grad) continue;   /* nothing flowed back into this op */
    gint64 t0 = fr_graph_op_begin(g);
    n->backward(g, n);
    if (G_UNLIKELY(g->profile != NULL)) {
      /* bytes from shapes: the output's gradient and every input are read, the inputs' gradients
       * that are wanted are written (accumulated: read too) */
      double br = 4.0 * (double)fr_tensor_numel(n->out), bw = 0;
      for (int k = 0; k < n->n_in; k++) {
        if (!n->in[k]) continue;
        double b = 4.0 * (double)fr_tensor_numel(n->in[k]);
        br += b;
        if (n->in[k]->requires_grad) br += b, bw += b;
      }
      emit_record(g, t0, n->op, "backward", n->out, n->bwd_macs, br, bw);
    }
  }
}
