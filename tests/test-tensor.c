/* Arena allocation, shapes and strides, views without copies. */
#include "fr-ops.h"

#include <string.h>

static void test_arena(void) {
  FrArena *a = fr_arena_new(1024);
  void *p = fr_arena_alloc(a, 10), *q = fr_arena_alloc(a, 10);
  g_assert_true(((uintptr_t)p & 63) == 0 && ((uintptr_t)q & 63) == 0);
  g_assert_true(p != q);
  void *big = fr_arena_alloc(a, 1 << 20);   /* larger than a chunk */
  memset(big, 1, 1 << 20);
  g_assert_cmpuint(fr_arena_used(a), >=, (1 << 20) + 128);
  fr_arena_reset(a);
  g_assert_cmpuint(fr_arena_used(a), ==, 0);
  /* after a reset one chunk holds everything the last computation needed */
  g_assert_cmpuint(fr_arena_capacity(a), >=, (1 << 20) + 128);
  size_t cap = fr_arena_capacity(a);
  for (int i = 0; i < 100; i++) {
    fr_arena_alloc(a, 1000);
    fr_arena_reset(a);
  }
  g_assert_cmpuint(fr_arena_capacity(a), ==, cap);
  char *z = fr_arena_calloc(a, 100);
  for (int i = 0; i < 100; i++) g_assert_cmpint(z[i], ==, 0);
  fr_arena_free(a);
}

static void test_views(void) {
  FrGraph *g = fr_graph_new(0);
  FrTensor *t = fr_tensor_new(g, 3, FR_SHAPE(2, 3, 4));
  for (int i = 0; i < 24; i++) t->data[i] = (float)i;
  g_assert_cmpint(t->stride[0], ==, 12);
  g_assert_cmpint(t->stride[2], ==, 1);
  g_assert_true(fr_tensor_is_contiguous(t));
  FrTensor *n = fr_view_narrow(g, t, 1, 1, 2);   /* t[:, 1:3, :] */
  g_assert_true(n->data == t->data + 4);            /* no copy */
  g_assert_false(fr_tensor_is_contiguous(n));
  g_assert_cmpfloat(fr_tensor_get(n, FR_SHAPE(1, 1, 3)), ==, 12 + 8 + 3);
  FrTensor *tr = fr_view_transpose(g, t, 0, 2);     /* [4, 3, 2] */
  g_assert_cmpint(tr->shape[0], ==, 4);
  g_assert_cmpfloat(fr_tensor_get(tr, FR_SHAPE(3, 2, 1)), ==, 12 + 8 + 3);
  FrTensor *c = fr_contiguous(g, tr);
  g_assert_true(fr_tensor_is_contiguous(c));
  g_assert_cmpfloat(c->data[(3 * 3 + 2) * 2 + 1], ==, 23);
  FrTensor *b0 = fr_view_narrow(g, t, 0, 1, 1);     /* batch slicing is contiguous */
  g_assert_true(fr_tensor_is_contiguous(b0));
  FrTensor *r = fr_reshape(g, t, 2, FR_SHAPE(-1, 6));
  g_assert_cmpint(r->shape[0], ==, 4);
  g_assert_true(r->data == t->data);
  char buf[32];
  g_assert_cmpstr(fr_tensor_shape_str(t, buf, sizeof buf), ==, "[2,3,4]");
  fr_graph_free(g);
}

static void test_graph_reuse(void) {
  /* a training loop's steady state: the same arena every step, no growth */
  FrGraph *g = fr_graph_new(1 << 16);
  FrTensor *w = fr_param_new("w", 2, FR_SHAPE(8, 8));
  size_t cap = 0;
  for (int step = 0; step < 50; step++) {
    FrTensor *x = fr_tensor_zeros(g, 2, FR_SHAPE(4, 8));
    fr_graph_backward(g, fr_sum(g, fr_relu(g, fr_linear(g, x, w, NULL))));
    if (step == 1) cap = fr_arena_capacity(g->arena);
    fr_graph_reset(g);
    g_assert_cmpint(g->n_nodes, ==, 0);
  }
  g_assert_cmpuint(fr_arena_capacity(g->arena), ==, cap);
  fr_param_free(w);
  fr_graph_free(g);
}

static void test_no_grad(void) {
  FrGraph *g = fr_graph_new(0);
  FrTensor *w = fr_param_new("w", 1, FR_SHAPE(3));
  g->grad_enabled = false;
  FrTensor *y = fr_relu(g, w);
  g_assert_false(y->requires_grad);
  g_assert_cmpint(g->n_nodes, ==, 0);
  fr_param_free(w);
  fr_graph_free(g);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/tensor/arena", test_arena);
  g_test_add_func("/tensor/views", test_views);
  g_test_add_func("/tensor/graph-reuse", test_graph_reuse);
  g_test_add_func("/tensor/no-grad", test_no_grad);
  return g_test_run();
}
