/* Every op's forward pass against a naive float64 reference loop. */
#include "fr-ops.h"

#include <math.h>
#include <string.h>

static FrRng rng;

static FrTensor *randn(FrGraph *g, int ndim, const int64_t *shape) {
  FrTensor *t = fr_tensor_new(g, ndim, shape);
  fr_rng_fill_normal(&rng, t->data, fr_tensor_numel(t), 0, 1);
  return t;
}

static void assert_close_d(const char *what, const FrTensor *got, const double *want, double tol) {
  for (int64_t i = 0; i < fr_tensor_numel(got); i++)
    if (fabs(got->data[i] - want[i]) > tol * MAX(1.0, fabs(want[i])))
      g_error("%s: element %lld is %.7g, float64 reference %.7g", what, (long long)i, got->data[i], want[i]);
}

static int64_t reflect(int64_t i, int64_t n) {
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

static void test_conv2d(void) {
  const struct { int B, Cin, H, W, Cout, k, stride, pad, dil, groups; FrPadMode mode; } cfgs[] = {
    { 2, 3, 8, 7, 4, 3, 1, 1, 1, 1, FR_PAD_ZEROS }, { 1, 4, 9, 9, 6, 3, 2, 1, 1, 2, FR_PAD_ZEROS },
    { 2, 4, 7, 7, 4, 5, 1, 2, 1, 4, FR_PAD_ZEROS }, { 2, 3, 10, 8, 2, 7, 1, 3, 1, 1, FR_PAD_REFLECT },
    { 1, 2, 9, 9, 3, 3, 1, 2, 2, 1, FR_PAD_ZEROS }, { 3, 5, 6, 6, 5, 3, 2, 1, 1, 5, FR_PAD_REFLECT },
    { 2, 6, 5, 5, 3, 1, 1, 0, 1, 1, FR_PAD_ZEROS },
    /* inference paths on wider planes: shifted GEMMs (Cin >= 32, Wo >= 32), direct depthwise (Wo >= 16,
     * 1, 2 or 4 vectors a row segment), few output channels (Cout <= 4), tiled im2col at stride 2 */
    { 2, 32, 34, 33, 8, 3, 1, 1, 1, 1, FR_PAD_REFLECT }, { 1, 40, 36, 36, 6, 3, 1, 2, 2, 1, FR_PAD_ZEROS },
    { 1, 32, 33, 40, 5, 5, 1, 2, 1, 1, FR_PAD_REFLECT }, { 2, 3, 20, 37, 3, 3, 1, 1, 1, 3, FR_PAD_REFLECT },
    { 1, 4, 18, 70, 4, 5, 1, 2, 1, 4, FR_PAD_ZEROS }, { 2, 2, 17, 16, 2, 7, 1, 3, 1, 2, FR_PAD_REFLECT },
    { 1, 5, 12, 50, 1, 7, 1, 3, 1, 1, FR_PAD_REFLECT }, { 2, 6, 9, 30, 3, 3, 1, 1, 1, 1, FR_PAD_ZEROS },
    { 1, 8, 40, 41, 16, 3, 2, 1, 1, 1, FR_PAD_ZEROS }, { 3, 16, 8, 8, 24, 1, 1, 0, 1, 1, FR_PAD_ZEROS },
    /* the direct kernel: stride 2 on phase planes (reflect, 5x5, a partial channel block), 1x1 over whole
     * planes, stride 1 dilated */
    { 2, 5, 35, 36, 7, 5, 2, 2, 1, 1, FR_PAD_REFLECT }, { 2, 9, 16, 20, 13, 1, 1, 0, 1, 1, FR_PAD_ZEROS },
    { 1, 6, 21, 30, 8, 3, 1, 2, 2, 1, FR_PAD_REFLECT }, { 1, 3, 33, 34, 6, 3, 2, 0, 1, 1, FR_PAD_ZEROS },
  };
  for (guint c = 0; c < G_N_ELEMENTS(cfgs); c++) {
    FrGraph *g = fr_graph_new(0);
    int B = cfgs[c].B, Cin = cfgs[c].Cin, H = cfgs[c].H, W = cfgs[c].W, Co = cfgs[c].Cout, k = cfgs[c].k;
    int s = cfgs[c].stride, p = cfgs[c].pad, d = cfgs[c].dil, G = cfgs[c].groups;
    FrTensor *x = randn(g, 4, FR_SHAPE(B, Cin, H, W)), *w = randn(g, 4, FR_SHAPE(Co, Cin / G, k, k));
    FrTensor *b = randn(g, 1, FR_SHAPE(Co));
    FrTensor *y = fr_conv2d(g, x, w, b, (FrConv2dParams){ s, p, d, G, cfgs[c].mode });
    int64_t Ho = y->shape[2], Wo = y->shape[3];
    g_assert_cmpint(Ho, ==, (H + 2 * p - d * (k - 1) - 1) / s + 1);
    double *ref = g_new0(double, fr_tensor_numel(y));
    int cg = Cin / G, og = Co / G;
    for (int n = 0; n < B; n++)
      for (int o = 0; o < Co; o++)
        for (int oh = 0; oh < Ho; oh++)
          for (int ow = 0; ow < Wo; ow++) {
            double acc = b->data[o];
            for (int ci = 0; ci < cg; ci++)
              for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                  int64_t ih = oh * s - p + ki * d, iw = ow * s - p + kj * d;
                  if (cfgs[c].mode == FR_PAD_REFLECT) { ih = reflect(ih, H); iw = reflect(iw, W); }
                  else if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  int cin = (o / og) * cg + ci;
                  acc += (double)x->data[((n * Cin + cin) * H + ih) * W + iw] * w->data[((o * cg + ci) * k + ki) * k + kj];
                }
            ref[((n * Co + o) * Ho + oh) * Wo + ow] = acc;
          }
    assert_close_d("conv2d", y, ref, 1e-4);
    g_free(ref);
    fr_graph_free(g);
  }
}

static void test_conv_transpose2d(void) {
  const struct { int B, Cin, H, W, Cout, k, stride, pad, opad; } cfgs[] = {
    { 2, 3, 4, 5, 2, 3, 2, 1, 1 }, { 1, 2, 5, 5, 3, 4, 2, 1, 0 }, { 2, 3, 4, 4, 2, 3, 1, 1, 0 }, { 1, 2, 3, 4, 2, 3, 3, 0, 2 },
    /* phases as shifted GEMMs (Cin >= 32, W >= 16), a phase no tap reaches (k 1, stride 2) */
    { 2, 32, 17, 16, 5, 3, 2, 1, 1 }, { 1, 33, 6, 20, 4, 4, 2, 1, 0 }, { 1, 32, 16, 18, 3, 3, 1, 1, 0 },
    { 1, 32, 16, 16, 2, 3, 3, 0, 2 }, { 1, 32, 16, 16, 3, 1, 2, 0, 1 }, { 1, 3, 5, 6, 2, 1, 2, 0, 1 },
  };
  for (guint c = 0; c < G_N_ELEMENTS(cfgs); c++) {
    FrGraph *g = fr_graph_new(0);
    int B = cfgs[c].B, Ci = cfgs[c].Cin, H = cfgs[c].H, W = cfgs[c].W, Co = cfgs[c].Cout, k = cfgs[c].k;
    int s = cfgs[c].stride, p = cfgs[c].pad;
    FrTensor *x = randn(g, 4, FR_SHAPE(B, Ci, H, W)), *w = randn(g, 4, FR_SHAPE(Ci, Co, k, k));
    FrTensor *y = fr_conv_transpose2d(g, x, w, NULL, s, p, cfgs[c].opad);
    int64_t Ho = y->shape[2], Wo = y->shape[3];
    g_assert_cmpint(Ho, ==, (H - 1) * s - 2 * p + k + cfgs[c].opad);
    double *ref = g_new0(double, fr_tensor_numel(y));
    for (int n = 0; n < B; n++)
      for (int ci = 0; ci < Ci; ci++)
        for (int ih = 0; ih < H; ih++)
          for (int iw = 0; iw < W; iw++)
            for (int o = 0; o < Co; o++)
              for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                  int64_t oh = ih * s - p + ki, ow = iw * s - p + kj;
                  if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
                  ref[((n * Co + o) * Ho + oh) * Wo + ow] +=
                    (double)x->data[((n * Ci + ci) * H + ih) * W + iw] * w->data[((ci * Co + o) * k + ki) * k + kj];
                }
    assert_close_d("conv_transpose2d", y, ref, 1e-4);
    g_free(ref);
    fr_graph_free(g);
  }
}

static void test_dense(void) {
  FrGraph *g = fr_graph_new(0);
  FrTensor *x = randn(g, 3, FR_SHAPE(2, 3, 7)), *w = randn(g, 2, FR_SHAPE(5, 7)), *b = randn(g, 1, FR_SHAPE(5));
  FrTensor *y = fr_linear(g, x, w, b);
  double ref[30];
  for (int r = 0; r < 6; r++)
    for (int o = 0; o < 5; o++) {
      double acc = b->data[o];
      for (int i = 0; i < 7; i++) acc += (double)x->data[r * 7 + i] * w->data[o * 7 + i];
      ref[r * 5 + o] = acc;
    }
  assert_close_d("linear", y, ref, 1e-5);
  /* batched matmul with both transposes */
  FrTensor *a = randn(g, 3, FR_SHAPE(3, 4, 2)), *c = randn(g, 3, FR_SHAPE(3, 5, 4));
  FrTensor *m = fr_matmul(g, a, c, true, true);   /* [3, 2, 5] = aᵀ cᵀ */
  double mref[30];
  for (int bb = 0; bb < 3; bb++)
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 5; j++) {
        double acc = 0;
        for (int k = 0; k < 4; k++) acc += (double)a->data[(bb * 4 + k) * 2 + i] * c->data[(bb * 5 + j) * 4 + k];
        mref[(bb * 2 + i) * 5 + j] = acc;
      }
  assert_close_d("matmul", m, mref, 1e-5);
  fr_graph_free(g);
}

/* fr_gemm against a float64 loop: every transpose, strided operands, beta 0 (C holds NaN: it must not
 * be read) and beta 1, one output row (the sgemv path) and several, sizes that split across the pool. */
static void test_gemm(void) {
  const int64_t Ms[] = { 1, 3, 1, 40 }, Ns[] = { 7, 5, 300, 130 }, Ks[] = { 9, 1, 64, 70 };
  FrRng r;
  fr_rng_seed(&r, 77);
  for (int sz = 0; sz < 4; sz++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        for (int bi = 0; bi < 2; bi++) {
          const int64_t M = Ms[sz], N = Ns[sz], K = Ks[sz], pad = 3;
          const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
          float *A = g_new(float, (ta ? K : M) * lda), *B = g_new(float, (tb ? N : K) * ldb), *C = g_new(float, M * ldc);
          for (int64_t i = 0; i < (ta ? K : M) * lda; i++) A[i] = fr_rng_normal(&r);
          for (int64_t i = 0; i < (tb ? N : K) * ldb; i++) B[i] = fr_rng_normal(&r);
          for (int64_t i = 0; i < M * ldc; i++) C[i] = bi ? fr_rng_normal(&r) : NAN;
          float *C0 = g_memdup2(C, sizeof(float) * (gsize)(M * ldc));
          const float alpha = 0.75f, beta = bi ? 1.0f : 0.0f;
          fr_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
          for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
              double acc = 0;
              for (int64_t k = 0; k < K; k++)
                acc += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
              double want = alpha * acc + (bi ? C0[i * ldc + j] : 0.0);
              if (fabs(C[i * ldc + j] - want) > 1e-4 * (1 + fabs(want)))
                g_error("gemm M%" G_GINT64_FORMAT " N%" G_GINT64_FORMAT " K%" G_GINT64_FORMAT
                        " ta%d tb%d beta%d: [%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "] %g, want %g",
                        M, N, K, ta, tb, bi, i, j, C[i * ldc + j], want);
            }
          for (int64_t i = 0; i < M; i++) /* the padding columns are not touched */
            for (int64_t j = N; j < ldc; j++) g_assert_true(memcmp(&C[i * ldc + j], &C0[i * ldc + j], sizeof(float)) == 0);
          g_free(A);
          g_free(B);
          g_free(C);
          g_free(C0);
        }
}

static void test_norms(void) {
  FrGraph *g = fr_graph_new(0);
  const int B = 3, C = 4, S = 10;
  FrTensor *x = randn(g, 4, FR_SHAPE(B, C, 2, 5)), *ga = randn(g, 1, FR_SHAPE(C)), *be = randn(g, 1, FR_SHAPE(C));
  double ref[120];
  /* batch norm, training statistics, fused ReLU */
  float rm[4] = {0}, rv[4] = {1, 1, 1, 1};
  FrTensor *y = fr_batch_norm2d(g, x, ga, be, rm, rv, 0.1f, 1e-5f, FR_ACT_RELU);
  for (int c = 0; c < C; c++) {
    double m = 0, v = 0;
    for (int n = 0; n < B; n++) for (int s = 0; s < S; s++) m += x->data[(n * C + c) * S + s];
    m /= B * S;
    for (int n = 0; n < B; n++) for (int s = 0; s < S; s++) v += pow(x->data[(n * C + c) * S + s] - m, 2);
    for (int n = 0; n < B; n++)
      for (int s = 0; s < S; s++) {
        double t = (x->data[(n * C + c) * S + s] - m) / sqrt(v / (B * S) + 1e-5) * ga->data[c] + be->data[c];
        ref[(n * C + c) * S + s] = t > 0 ? t : 0;
      }
    g_assert_cmpfloat(fabs(rm[c] - 0.1 * m), <, 1e-5);
    g_assert_cmpfloat(fabs(rv[c] - (0.9 + 0.1 * v / (B * S - 1))), <, 1e-5);
  }
  assert_close_d("batch_norm+relu", y, ref, 1e-4);
  /* instance norm, no affine */
  y = fr_instance_norm2d(g, x, NULL, NULL, 1e-5f, FR_ACT_NONE);
  for (int r = 0; r < B * C; r++) {
    double m = 0, v = 0;
    for (int s = 0; s < S; s++) m += x->data[r * S + s];
    m /= S;
    for (int s = 0; s < S; s++) v += pow(x->data[r * S + s] - m, 2);
    for (int s = 0; s < S; s++) ref[r * S + s] = (x->data[r * S + s] - m) / sqrt(v / S + 1e-5);
  }
  assert_close_d("instance_norm", y, ref, 1e-4);
  /* layer norm over the last dim (5) */
  FrTensor *lg = randn(g, 1, FR_SHAPE(5)), *lb = randn(g, 1, FR_SHAPE(5));
  y = fr_layer_norm(g, x, lg, lb, 1e-5f, FR_ACT_NONE);
  for (int r = 0; r < 24; r++) {
    double m = 0, v = 0;
    for (int s = 0; s < 5; s++) m += x->data[r * 5 + s];
    m /= 5;
    for (int s = 0; s < 5; s++) v += pow(x->data[r * 5 + s] - m, 2);
    for (int s = 0; s < 5; s++) ref[r * 5 + s] = (x->data[r * 5 + s] - m) / sqrt(v / 5 + 1e-5) * lg->data[s] + lb->data[s];
  }
  assert_close_d("layer_norm", y, ref, 1e-4);
  fr_graph_free(g);
}

static void test_pool_softmax_act(void) {
  FrGraph *g = fr_graph_new(0);
  FrTensor *x = randn(g, 4, FR_SHAPE(2, 2, 5, 6));
  FrTensor *mp = fr_max_pool2d(g, x, 3, 2, 1), *ap = fr_avg_pool2d(g, x, 3, 2, 1), *gp = fr_global_avg_pool(g, x);
  double mref[2 * 2 * 3 * 3], aref[2 * 2 * 3 * 3], gref[4];
  for (int i = 0; i < 4; i++) {
    double s = 0;
    for (int j = 0; j < 30; j++) s += x->data[i * 30 + j];
    gref[i] = s / 30;
    for (int oh = 0; oh < 3; oh++)
      for (int ow = 0; ow < 3; ow++) {
        double mx = -INFINITY, sum = 0;
        for (int ki = 0; ki < 3; ki++)
          for (int kj = 0; kj < 3; kj++) {
            int ih = oh * 2 - 1 + ki, iw = ow * 2 - 1 + kj;
            if (ih < 0 || ih >= 5 || iw < 0 || iw >= 6) continue;
            double v = x->data[i * 30 + ih * 6 + iw];
            mx = v > mx ? v : mx;
            sum += v;
          }
        mref[i * 9 + oh * 3 + ow] = mx;
        aref[i * 9 + oh * 3 + ow] = sum / 9;
      }
  }
  assert_close_d("max_pool2d", mp, mref, 1e-6);
  assert_close_d("avg_pool2d", ap, aref, 1e-5);
  assert_close_d("global_avg_pool", gp, gref, 1e-5);

  FrTensor *z = randn(g, 2, FR_SHAPE(3, 7));
  FrTensor *sm = fr_softmax(g, z), *ls = fr_log_softmax(g, z);
  double sref[21], lref[21];
  for (int r = 0; r < 3; r++) {
    double s = 0;
    for (int j = 0; j < 7; j++) s += exp(z->data[r * 7 + j]);
    for (int j = 0; j < 7; j++) {
      sref[r * 7 + j] = exp(z->data[r * 7 + j]) / s;
      lref[r * 7 + j] = z->data[r * 7 + j] - log(s);
    }
  }
  assert_close_d("softmax", sm, sref, 1e-5);
  assert_close_d("log_softmax", ls, lref, 1e-5);

  const int32_t lab[3] = { 2, 6, 0 };
  FrTensor *ce = fr_cross_entropy(g, z, lab, 0.1f);
  double ceref = 0;
  for (int r = 0; r < 3; r++) {
    double mean = 0;
    for (int j = 0; j < 7; j++) mean += lref[r * 7 + j];
    ceref += -0.9 * lref[r * 7 + lab[r]] - 0.1 * mean / 7;
  }
  ceref /= 3;
  assert_close_d("cross_entropy", ce, &ceref, 1e-5);

  double aref2[21];
  struct { FrTensor *(*fn)(FrGraph *, FrTensor *); double (*ref)(double); const char *name; } acts[] = {
    { fr_relu, NULL, "relu" }, { fr_tanh, tanh, "tanh" }, { fr_gelu, NULL, "gelu" }, { fr_sigmoid, NULL, "sigmoid" },
  };
  for (guint a = 0; a < G_N_ELEMENTS(acts); a++) {
    FrTensor *y = acts[a].fn(g, z);
    for (int i = 0; i < 21; i++) {
      double v = z->data[i];
      switch (a) {
      case 0: aref2[i] = v > 0 ? v : 0; break;
      case 1: aref2[i] = tanh(v); break;
      case 2: aref2[i] = 0.5 * v * (1 + erf(v / sqrt(2))); break;
      default: aref2[i] = 1 / (1 + exp(-v)); break;
      }
    }
    assert_close_d(acts[a].name, y, aref2, 1e-6);
  }
  FrTensor *l6 = fr_relu6(g, fr_scale(g, z, 5)), *lk = fr_leaky_relu(g, z, 0.1f);
  for (int i = 0; i < 21; i++) {
    double v = 5.0 * z->data[i];
    aref2[i] = v < 0 ? 0 : (v > 6 ? 6 : v);
  }
  assert_close_d("relu6", l6, aref2, 1e-6);
  for (int i = 0; i < 21; i++) aref2[i] = z->data[i] > 0 ? z->data[i] : 0.1 * z->data[i];
  assert_close_d("leaky_relu", lk, aref2, 1e-6);
  fr_graph_free(g);
}

static void test_quant(void) {
  FrGraph *g = fr_graph_new(0);
  FrTensor *w = randn(g, 2, FR_SHAPE(3, 8));
  for (int bits = 4; bits <= 8; bits += 2) {
    FrTensor *q = fr_fake_quant_weight(g, w, bits);
    double qmax = (1 << (bits - 1)) - 1;
    double ref[24];
    for (int r = 0; r < 3; r++) {
      double mx = 0;
      for (int i = 0; i < 8; i++) mx = fmax(mx, fabs(w->data[r * 8 + i]));
      double sc = mx / qmax;
      for (int i = 0; i < 8; i++) ref[r * 8 + i] = nearbyint(w->data[r * 8 + i] / sc) * sc;
    }
    assert_close_d("fake_quant_weight", q, ref, 1e-6);
    /* at most 2^bits - 1 distinct levels per channel */
    FrTensor *a = fr_fake_quant_act(g, w, bits, 1.5f);
    double levels = (1 << bits) - 1;
    for (int i = 0; i < 24; i++) {
      double v = fmin(fmax(w->data[i], 0), 1.5);
      ref[i] = nearbyint(v / (1.5 / levels)) * (1.5 / levels);
    }
    assert_close_d("fake_quant_act", a, ref, 1e-6);
    /* signed: symmetric levels in [-1.5, 1.5], clipped outside */
    FrTensor *sa = fr_fake_quant_act_signed(g, w, bits, 1.5f);
    double step = 1.5 / qmax;
    for (int i = 0; i < 24; i++) ref[i] = nearbyint(fmin(fmax(w->data[i], -1.5), 1.5) / step) * step;
    assert_close_d("fake_quant_act_signed", sa, ref, 1e-6);
  }
  fr_graph_free(g);
}

static void test_embedding_attention(void) {
  FrGraph *g = fr_graph_new(0);
  FrTensor *table = randn(g, 2, FR_SHAPE(6, 3));
  const int32_t ids[4] = { 5, 0, 5, 2 };
  FrTensor *e = fr_embedding(g, table, ids, 4);
  double eref[12];
  for (int r = 0; r < 4; r++) for (int d = 0; d < 3; d++) eref[r * 3 + d] = table->data[ids[r] * 3 + d];
  assert_close_d("embedding", e, eref, 0);
  FrTensor *q = randn(g, 4, FR_SHAPE(1, 2, 3, 4)), *k = randn(g, 4, FR_SHAPE(1, 2, 5, 4)), *v = randn(g, 4, FR_SHAPE(1, 2, 5, 4));
  FrTensor *y = fr_attention(g, q, k, v, false);
  double ref[24];
  for (int h = 0; h < 2; h++)
    for (int i = 0; i < 3; i++) {
      double s[5], mx = -INFINITY, sum = 0;
      for (int j = 0; j < 5; j++) {
        s[j] = 0;
        for (int d = 0; d < 4; d++) s[j] += (double)q->data[(h * 3 + i) * 4 + d] * k->data[(h * 5 + j) * 4 + d];
        s[j] /= 2.0;
        mx = fmax(mx, s[j]);
      }
      for (int j = 0; j < 5; j++) sum += (s[j] = exp(s[j] - mx));
      for (int d = 0; d < 4; d++) {
        double acc = 0;
        for (int j = 0; j < 5; j++) acc += s[j] / sum * v->data[(h * 5 + j) * 4 + d];
        ref[(h * 3 + i) * 4 + d] = acc;
      }
    }
  assert_close_d("attention", y, ref, 1e-5);
  fr_graph_free(g);
}

/* fr_instance_norm2d_ and fr_add_: without a recorded gradient the result overwrites the first argument
 * and equals the out-of-place op; when recording they are the out-of-place op */
static void test_inplace(void) {
  FrGraph *g = fr_graph_new(0);
  FrTensor *x = randn(g, 4, FR_SHAPE(2, 3, 5, 7)), *b = randn(g, 4, FR_SHAPE(2, 3, 5, 7));
  int64_t n = fr_tensor_numel(x);
  FrTensor *want_in = fr_instance_norm2d(g, x, NULL, NULL, 1e-5f, FR_ACT_RELU), *want_add = fr_add(g, x, b);
  FrTensor *xc = fr_tensor_like(g, x), *xc2 = fr_tensor_like(g, x);
  memcpy(xc->data, x->data, sizeof(float) * (size_t)n);
  memcpy(xc2->data, x->data, sizeof(float) * (size_t)n);
  FrTensor *y = fr_instance_norm2d_(g, xc, NULL, NULL, 1e-5f, FR_ACT_RELU);
  g_assert_true(y->data == xc->data);
  FrTensor *z = fr_add_(g, xc2, b);
  g_assert_true(z->data == xc2->data);
  for (int64_t i = 0; i < n; i++) {
    g_assert_cmpfloat(y->data[i], ==, want_in->data[i]);
    g_assert_cmpfloat(z->data[i], ==, want_add->data[i]);
  }
  /* recording: a new tensor, the argument untouched, the gradient flows */
  FrTensor *p = fr_param_new("x", 4, FR_SHAPE(2, 3, 5, 7));
  memcpy(p->data, x->data, sizeof(float) * (size_t)n);
  FrTensor *yp = fr_add_(g, fr_instance_norm2d_(g, p, NULL, NULL, 1e-5f, FR_ACT_RELU), b);
  g_assert_true(yp->data != p->data && yp->requires_grad);
  for (int64_t i = 0; i < n; i++) {
    g_assert_cmpfloat(p->data[i], ==, x->data[i]);
    g_assert_cmpfloat(fabsf(yp->data[i] - (want_in->data[i] + b->data[i])), <=, 1e-6f);
  }
  fr_graph_backward(g, fr_sum(g, yp));
  g_assert_nonnull(p->grad);
  fr_param_free(p);
  fr_graph_free(g);
}

/* fr_tanh (a vectorised tanh, no libm call) against tanh in double: a dense sweep and the edges */
static void test_tanh(void) {
  FrGraph *g = fr_graph_new(0);
  int64_t n = 400001;
  FrTensor *x = fr_tensor_new(g, 1, FR_SHAPE(n + 8));
  for (int64_t i = 0; i < n; i++) x->data[i] = -20.0f + 40.0f * (float)i / (float)(n - 1);
  const float edge[8] = { 0.0f, -0.0f, 0.4f, -0.39999998f, 1e-30f, 8.9999f, INFINITY, -INFINITY };
  memcpy(x->data + n, edge, sizeof edge);
  FrTensor *y = fr_tanh(g, x);
  double worst = 0;
  for (int64_t i = 0; i < n + 8; i++) {
    double want = tanh((double)x->data[i]);
    double ulp = fmax(fabs(want), 1e-38) * 1.1920929e-07;   /* float spacing at want, about */
    worst = fmax(worst, fabs((double)y->data[i] - want) / ulp);
  }
  g_assert_cmpfloat(worst, <=, 2.0);
  g_assert_true(signbit(y->data[n + 1]) && y->data[n + 1] == 0.0f);
  g_assert_cmpfloat(y->data[n + 6], ==, 1.0f);
  g_assert_cmpfloat(y->data[n + 7], ==, -1.0f);
  x->data[0] = NAN;
  y = fr_tanh(g, x);
  g_assert_true(isnan(y->data[0]));
  fr_graph_free(g);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  fr_rng_seed(&rng, 2024);
  g_test_add_func("/ops/forward/conv2d", test_conv2d);
  g_test_add_func("/ops/forward/conv_transpose2d", test_conv_transpose2d);
  g_test_add_func("/ops/forward/dense", test_dense);
  g_test_add_func("/ops/forward/gemm", test_gemm);
  g_test_add_func("/ops/forward/norms", test_norms);
  g_test_add_func("/ops/forward/inplace", test_inplace);
  g_test_add_func("/ops/forward/tanh", test_tanh);
  g_test_add_func("/ops/forward/pool_softmax_activations", test_pool_softmax_act);
  g_test_add_func("/ops/forward/fake_quant", test_quant);
  g_test_add_func("/ops/forward/embedding_attention", test_embedding_attention);
  return g_test_run();
}
