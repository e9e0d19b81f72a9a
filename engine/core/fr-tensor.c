#include "fr-tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t fr_tensor_numel(const FrTensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

void fr_tensor_set_contiguous_strides(FrTensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    t->stride[i] = s;
    s *= t->shape[i];
  }
}

bool fr_tensor_is_contiguous(const FrTensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != s) return false;
    s *= t->shape[i];
  }
  return true;
}

bool fr_tensor_same_shape(const FrTensor *a, const FrTensor *b) {
  if (a->ndim != b->ndim) return false;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return false;
  return true;
}

const char *fr_tensor_shape_str(const FrTensor *t, char *buf, size_t len) {
  size_t o = 0;
  o += (size_t)snprintf(buf + o, len - o, "[");
  for (int i = 0; i < t->ndim && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, i ? ",%lld" : "%lld", (long long)t->shape[i]);
  if (o < len) snprintf(buf + o, len - o, "]");
  return buf;
}

static void set_shape(FrTensor *t, int ndim, const int64_t *shape) {
  g_assert(ndim >= 0 && ndim <= FR_MAX_DIMS);
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++) {
    g_assert(shape[i] >= 0);
    t->shape[i] = shape[i];
  }
  fr_tensor_set_contiguous_strides(t);
}

FrTensor *fr_param_new(const char *name, int ndim, const int64_t *shape) {
  FrTensor *p = g_new0(FrTensor, 1);
  set_shape(p, ndim, shape);
  int64_t n = fr_tensor_numel(p);
  p->data = g_new0(float, n ? n : 1);
  p->grad = g_new0(float, n ? n : 1);
  p->requires_grad = true;
  p->is_param = true;
  p->name = g_strdup(name);
  return p;
}

void fr_param_free(FrTensor *p) {
  if (!p) return;
  g_assert(p->is_param);
  g_free(p->data);
  g_free(p->grad);
  g_free(p->name);
  g_free(p);
}

void fr_param_zero_grad(FrTensor *p) {
  memset(p->grad, 0, sizeof(float) * (size_t)fr_tensor_numel(p));
}

FrTensor *fr_tensor_wrap(FrGraph *g, int ndim, const int64_t *shape, float *data) {
  FrTensor *t = fr_graph_alloc(g, sizeof(FrTensor));
  memset(t, 0, sizeof *t);
  set_shape(t, ndim, shape);
  t->data = data;
  return t;
}

FrTensor *fr_tensor_new(FrGraph *g, int ndim, const int64_t *shape) {
  FrTensor *t = fr_tensor_wrap(g, ndim, shape, NULL);
  t->data = fr_graph_alloc(g, sizeof(float) * (size_t)fr_tensor_numel(t));
  return t;
}

FrTensor *fr_tensor_zeros(FrGraph *g, int ndim, const int64_t *shape) {
  FrTensor *t = fr_tensor_new(g, ndim, shape);
  memset(t->data, 0, sizeof(float) * (size_t)fr_tensor_numel(t));
  return t;
}

FrTensor *fr_tensor_from_data(FrGraph *g, int ndim, const int64_t *shape, const float *src) {
  FrTensor *t = fr_tensor_new(g, ndim, shape);
  memcpy(t->data, src, sizeof(float) * (size_t)fr_tensor_numel(t));
  return t;
}

FrTensor *fr_tensor_like(FrGraph *g, const FrTensor *t) {
  return fr_tensor_new(g, t->ndim, t->shape);
}

FrTensor *fr_view_narrow(FrGraph *g, const FrTensor *t, int dim, int64_t start, int64_t len) {
  g_assert(dim >= 0 && dim < t->ndim && start >= 0 && len >= 0 && start + len <= t->shape[dim]);
  FrTensor *v = fr_graph_alloc(g, sizeof(FrTensor));
  *v = *t;
  v->grad = NULL;
  v->node = NULL;
  v->requires_grad = false;
  v->is_param = false;
  v->name = NULL;
  v->shape[dim] = len;
  v->data = t->data + start * t->stride[dim];
  return v;
}

FrTensor *fr_view_transpose(FrGraph *g, const FrTensor *t, int d0, int d1) {
  g_assert(d0 >= 0 && d0 < t->ndim && d1 >= 0 && d1 < t->ndim);
  FrTensor *v = fr_view_narrow(g, t, 0, 0, t->shape[0]);
  int64_t s = v->shape[d0]; v->shape[d0] = v->shape[d1]; v->shape[d1] = s;
  s = v->stride[d0]; v->stride[d0] = v->stride[d1]; v->stride[d1] = s;
  return v;
}

float fr_tensor_get(const FrTensor *t, const int64_t *idx) {
  int64_t off = 0;
  for (int i = 0; i < t->ndim; i++) off += idx[i] * t->stride[i];
  return t->data[off];
}
