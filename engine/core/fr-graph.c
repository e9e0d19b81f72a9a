#include "fr-tensor.h"

#include <stdarg.h>
#include <string.h>

FrGraph *fr_graph_new(size_t arena_chunk) {
  FrGraph *g = g_new0(FrGraph, 1);
  g->arena = fr_arena_new(arena_chunk);
  g->grad_enabled = true;
  g->training = true;
  fr_rng_seed(&g->rng, 0x5eed);
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
}

void *fr_graph_alloc(FrGraph *g, size_t bytes) { return fr_arena_alloc(g->arena, bytes); }

void fr_graph_set_profiler(FrGraph *g, FrProfileFn fn, void *user) {
  g->profile = fn;
  g->profile_user = user;
}

gint64 fr_graph_op_begin(FrGraph *g) {
  return G_UNLIKELY(g->profile != NULL) ? g_get_monotonic_time() * 1000 : 0;
}

static void emit_record(FrGraph *g, gint64 t0, const char *op, const char *phase, const FrTensor *out,
                        double macs, double br, double bw) {
  FrOpRecord rec = {
    .op = op, .phase = phase, .start_ns = t0, .end_ns = g_get_monotonic_time() * 1000,
    .macs = macs, .bytes_read = br, .bytes_written = bw,
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
    if (G_UNLIKELY(g->profile != NULL)) emit_record(g, t0, n->op, "backward", n->out, n->bwd_macs, 0, 0);
  }
}
