/* fr-tensor.h: float32 tensors with explicit shapes and strides, and the graph they are computed in.
 *
 * A FrGraph is one computation (a training step, a forward pass): it owns an arena from which every
 * intermediate tensor is allocated, and a tape of the ops run so far, so that fr_graph_backward() can
 * run their gradients in reverse. Parameters live outside any graph (fr_param_new) and keep their
 * gradient buffers between steps. Every op goes through fr_graph_record(), the one place where the
 * profiler hooks in; with no profiler attached that costs one predictable branch. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "fr-arena.h"
#include "fr-rng.h"

G_BEGIN_DECLS

#define FR_MAX_DIMS 4

typedef struct FrNode FrNode;
typedef struct FrGraph FrGraph;

typedef struct FrTensor {
  float *data;
  int ndim;
  int64_t shape[FR_MAX_DIMS];
  int64_t stride[FR_MAX_DIMS];   /* in elements */
  float *grad;                   /* contiguous, numel floats; NULL until a gradient reaches it */
  FrNode *node;                  /* op that produced it in the current graph; NULL for leaves */
  bool requires_grad;
  bool is_param;                 /* owns data and grad (malloc), outlives graphs */
  char *name;                    /* parameters only */
} FrTensor;

int64_t fr_tensor_numel(const FrTensor *t);
bool fr_tensor_is_contiguous(const FrTensor *t);
void fr_tensor_set_contiguous_strides(FrTensor *t);
bool fr_tensor_same_shape(const FrTensor *a, const FrTensor *b);
/* "[2,3,4]" into buf */
const char *fr_tensor_shape_str(const FrTensor *t, char *buf, size_t len);

/* Parameters: heap-allocated, zero data, zero grad. */
FrTensor *fr_param_new(const char *name, int ndim, const int64_t *shape);
void fr_param_free(FrTensor *p);
void fr_param_zero_grad(FrTensor *p);

/* Graph-owned tensors. */
FrTensor *fr_tensor_new(FrGraph *g, int ndim, const int64_t *shape);        /* uninitialised */
FrTensor *fr_tensor_zeros(FrGraph *g, int ndim, const int64_t *shape);
FrTensor *fr_tensor_from_data(FrGraph *g, int ndim, const int64_t *shape, const float *src); /* copies */
FrTensor *fr_tensor_wrap(FrGraph *g, int ndim, const int64_t *shape, float *data); /* no copy */
FrTensor *fr_tensor_like(FrGraph *g, const FrTensor *t);
#define FR_SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define FR_NDIM(...) ((int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

/* Views without copies (no gradient flows through these; use fr_reshape inside a model). */
FrTensor *fr_view_narrow(FrGraph *g, const FrTensor *t, int dim, int64_t start, int64_t len);
FrTensor *fr_view_transpose(FrGraph *g, const FrTensor *t, int d0, int d1);
/* Element access through strides (tests, slow paths). */
float fr_tensor_get(const FrTensor *t, const int64_t *idx);

/* ---- graph ---- */
typedef void (*FrBackwardFn)(FrGraph *g, FrNode *n);

struct FrNode {
  const char *op;
  FrBackwardFn backward;
  FrTensor *out;
  FrTensor *in[4];
  int n_in;
  void *ctx;           /* op-specific saved state, arena-owned */
  double bwd_macs;     /* for the profiler */
};

/* One op as the profiler sees it (fr_graph_set_profiler). Times are CLOCK_MONOTONIC nanoseconds.
 * Ops fan their work out to the pool (fr-pool.h), so the op's wall interval [start_ns, end_ns) is
 * the truth for the op as a whole; thread_ns is only the calling thread's share of the CPU work
 * (CLOCK_THREAD_CPUTIME_ID), and cpu_ns the whole process's CPU time over the interval
 * (CLOCK_PROCESS_CPUTIME_ID: every thread, the pool's workers included; also anything else the
 * process runs meanwhile, e.g. a GUI thread). cpu_ns / (end_ns - start_ns) is the op's parallelism. */
typedef struct {
  const char *op;
  const char *phase;   /* "forward" or "backward" */
  gint64 start_ns, end_ns;
  double macs, bytes_read, bytes_written;
  char shape[48];
  gint64 thread_ns;    /* CPU time of the calling thread during the op */
  gint64 cpu_ns;       /* CPU time of the process (all threads) during the op */
  const char *const *scopes;  /* the graph's scope stack when the op ran, outermost first */
  int n_scopes;
  guint scope_gen;     /* changes at every push and pop of the graph's scopes */
  const FrGraph *graph;
} FrOpRecord;

typedef void (*FrProfileFn)(const FrOpRecord *rec, void *user);

/* Scopes: names of the layer an op belongs to ("block3", then "conv1"), a stack kept in the graph and
 * recorded with every op when a profiler is attached. Push and pop are a store and two increments,
 * profiler or not. The names are not copied: they must outlive the scope (string literals, or the
 * model's own layer names). Pushes beyond FR_GRAPH_MAX_SCOPES are counted but not recorded. A scope
 * lasts until its pop, across fr_graph_reset (a staged forward may reset between layers). */
#define FR_GRAPH_MAX_SCOPES 8
/* Nesting of ops inside ops (an op implemented with other ops) the profiler's CPU clocks follow. */
#define FR_GRAPH_MAX_OP_DEPTH 8

struct FrGraph {
  FrArena *arena;
  FrNode **nodes;
  int n_nodes, cap_nodes;
  bool grad_enabled;
  bool training;
  FrRng rng;
  FrProfileFn profile;   /* NULL: profiling off */
  void *profile_user;
  const char *scopes[FR_GRAPH_MAX_SCOPES];
  int n_scopes;          /* may exceed FR_GRAPH_MAX_SCOPES (deeper names are not kept) */
  guint scope_gen;       /* bumped by every push and pop */
  int op_depth;          /* profiling only: CPU clocks of the ops begun and not ended */
  gint64 op_cpu0[FR_GRAPH_MAX_OP_DEPTH][2];
};

FrGraph *fr_graph_new(size_t arena_chunk);
void fr_graph_free(FrGraph *g);
/* Forgets all tensors and nodes; the arena memory is kept for the next step. */
void fr_graph_reset(FrGraph *g);
void fr_graph_backward(FrGraph *g, FrTensor *loss);
void fr_graph_set_profiler(FrGraph *g, FrProfileFn fn, void *user);
/* Graphs created from now on by this thread (fr_graph_new) start with this profiler attached (fn NULL:
 * none, the default). This reaches graphs that models create inside their own calls. */
void fr_graph_set_thread_profiler(FrProfileFn fn, void *user);
FrProfileFn fr_graph_get_thread_profiler(void **user);
/* Whether profiled ops also read the CPU clocks (thread_ns, cpu_ns of FrOpRecord): on by default.
 * They are system calls (about 0.5 µs each on the project's VM, four per op), which matters only for
 * models of many tiny ops; off, thread_ns and cpu_ns are 0. Process-wide. */
void fr_graph_set_profile_cpu_clocks(gboolean on);
gboolean fr_graph_get_profile_cpu_clocks(void);

static inline void fr_graph_push_scope(FrGraph *g, const char *name) {
  if (g->n_scopes < FR_GRAPH_MAX_SCOPES) g->scopes[g->n_scopes] = name;
  g->n_scopes++;
  g->scope_gen++;
}
static inline void fr_graph_pop_scope(FrGraph *g) {
  if (g->n_scopes > 0) g->n_scopes--;
  g->scope_gen++;
}

/* For op implementations. */
gint64 fr_graph_op_begin(FrGraph *g);
void fr_graph_op_end(FrGraph *g, gint64 t0, const char *op, const FrTensor *out, double macs,
                     double bytes_read, double bytes_written);
/* Records a node when gradients are wanted (any input requires one); returns it, or NULL. */
FrNode *fr_graph_record(FrGraph *g, const char *op, FrBackwardFn bwd, FrTensor *out, int n_in, ...);
/* The gradient buffer of t, allocated zeroed on first use; NULL when t needs no gradient. */
float *fr_grad(FrGraph *g, FrTensor *t);
void *fr_graph_alloc(FrGraph *g, size_t bytes);

G_END_DECLS
