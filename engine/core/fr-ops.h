/* fr-ops.h: the engine's differentiable ops. Every op takes the graph it runs in, allocates its output
 * from the graph's arena and records its backward on the graph's tape when a gradient is wanted.
 * Inputs must be contiguous (views from fr_view_* go through fr_contiguous first). Layout is NCHW. */
#pragma once
#include "fr-tensor.h"

G_BEGIN_DECLS

typedef enum { FR_ACT_NONE, FR_ACT_RELU, FR_ACT_RELU6, FR_ACT_LEAKY_RELU } FrAct;
typedef enum { FR_PAD_ZEROS, FR_PAD_REFLECT } FrPadMode;

/* ---- shape ---- */
FrTensor *fr_contiguous(FrGraph *g, FrTensor *x);
FrTensor *fr_reshape(FrGraph *g, FrTensor *x, int ndim, const int64_t *shape); /* shares data; -1 infers */
FrTensor *fr_permute(FrGraph *g, FrTensor *x, const int *perm);                /* copies */
FrTensor *fr_concat(FrGraph *g, FrTensor *a, FrTensor *b, int dim);
FrTensor *fr_slice(FrGraph *g, FrTensor *x, int dim, int64_t start, int64_t len); /* copies */

/* ---- elementwise and reductions ---- */
FrTensor *fr_add(FrGraph *g, FrTensor *a, FrTensor *b);              /* same shape */
FrTensor *fr_sub(FrGraph *g, FrTensor *a, FrTensor *b);
FrTensor *fr_mul(FrGraph *g, FrTensor *a, FrTensor *b);
FrTensor *fr_scale(FrGraph *g, FrTensor *x, float s);
FrTensor *fr_add_scalar(FrGraph *g, FrTensor *x, float s);
FrTensor *fr_sum(FrGraph *g, FrTensor *x);                           /* scalar */
FrTensor *fr_mean(FrGraph *g, FrTensor *x);                          /* scalar */

/* ---- activations ---- */
FrTensor *fr_relu(FrGraph *g, FrTensor *x);
FrTensor *fr_relu6(FrGraph *g, FrTensor *x);
FrTensor *fr_leaky_relu(FrGraph *g, FrTensor *x, float slope);
FrTensor *fr_tanh(FrGraph *g, FrTensor *x);
FrTensor *fr_sigmoid(FrGraph *g, FrTensor *x);
FrTensor *fr_gelu(FrGraph *g, FrTensor *x);                          /* exact (erf) GELU */
FrTensor *fr_glu(FrGraph *g, FrTensor *x, int dim);                  /* a * sigmoid(b), halves of dim */
FrTensor *fr_softmax(FrGraph *g, FrTensor *x);                       /* over the last dim */
FrTensor *fr_log_softmax(FrGraph *g, FrTensor *x);
FrTensor *fr_dropout(FrGraph *g, FrTensor *x, float p);              /* identity unless g->training */

/* ---- dense ---- */
/* x [..., in] · W[out, in]ᵀ + b[out] */
FrTensor *fr_linear(FrGraph *g, FrTensor *x, FrTensor *w, FrTensor *b);
/* Batched a[..., M, K] · b[..., K, N] (with transposes), equal batch dims. */
FrTensor *fr_matmul(FrGraph *g, FrTensor *a, FrTensor *b, bool trans_a, bool trans_b);
/* Scaled dot-product attention on q[B,H,Tq,D], k,v[B,H,Tk,D]; causal masks j > i. */
FrTensor *fr_attention(FrGraph *g, FrTensor *q, FrTensor *k, FrTensor *v, bool causal);
FrTensor *fr_embedding(FrGraph *g, FrTensor *table, const int32_t *ids, int64_t n);  /* [n, D] */

/* ---- convolution ---- */
typedef struct {
  int stride, padding, dilation, groups;
  FrPadMode pad_mode;
} FrConv2dParams;
#define FR_CONV2D_DEFAULT ((FrConv2dParams){ .stride = 1, .padding = 0, .dilation = 1, .groups = 1 })
/* x [N,Cin,H,W], w [Cout, Cin/groups, kh, kw], b [Cout] or NULL. Depthwise (groups == Cin == Cout)
 * runs as a direct loop; everything else as im2col + one GEMM with the batch folded into N when a
 * gradient is recorded, and without a full im2col when not (shifted GEMMs, tiles, a direct kernel for
 * Cout <= 4: see fr-ops-conv.c). */
FrTensor *fr_conv2d(FrGraph *g, FrTensor *x, FrTensor *w, FrTensor *b, FrConv2dParams p);
/* x [N,Cin,H,W], w [Cin, Cout, kh, kw] (PyTorch layout), groups 1. Forward as stride x stride phases
 * (ordinary convolutions of x), no col2im. */
FrTensor *fr_conv_transpose2d(FrGraph *g, FrTensor *x, FrTensor *w, FrTensor *b, int stride, int padding,
                              int output_padding);

/* ---- normalisation (each fused with an optional following activation) ---- */
/* Training (g->training): batch statistics, running stats updated in place (unbiased variance, as
 * PyTorch); otherwise the running statistics. */
FrTensor *fr_batch_norm2d(FrGraph *g, FrTensor *x, FrTensor *gamma, FrTensor *beta, float *running_mean,
                          float *running_var, float momentum, float eps, FrAct act);
FrTensor *fr_instance_norm2d(FrGraph *g, FrTensor *x, FrTensor *gamma, FrTensor *beta, float eps, FrAct act);
FrTensor *fr_layer_norm(FrGraph *g, FrTensor *x, FrTensor *gamma, FrTensor *beta, float eps, FrAct act);

/* ---- in place, for inference ----
 * When the op records no gradient (the graph has gradients off, or no input needs one) these write their
 * result over their first argument and return a tensor on that memory, so the first argument must not be
 * read afterwards (it is the output). When the op records, they are exactly fr_instance_norm2d and fr_add
 * (a new tensor; the argument is left alone). Used by forward passes whose intermediates are dead after
 * their one use: fewer bytes through the caches. */
FrTensor *fr_instance_norm2d_(FrGraph *g, FrTensor *x, FrTensor *gamma, FrTensor *beta, float eps, FrAct act);
FrTensor *fr_add_(FrGraph *g, FrTensor *a, FrTensor *b);

/* ---- pooling ---- */
FrTensor *fr_max_pool2d(FrGraph *g, FrTensor *x, int k, int stride, int padding);
FrTensor *fr_avg_pool2d(FrGraph *g, FrTensor *x, int k, int stride, int padding); /* counts padding */
FrTensor *fr_global_avg_pool(FrGraph *g, FrTensor *x);                           /* [N,C] */

/* ---- quantisation (straight-through gradients) ---- */
/* Symmetric signed, one scale per output channel (dim 0): max|w_c| / (2^(bits-1) - 1). */
FrTensor *fr_fake_quant_weight(FrGraph *g, FrTensor *w, int bits);
/* Unsigned, range [0, clip]; clip <= 0 uses the tensor's max. Gradient passes inside the range. */
FrTensor *fr_fake_quant_act(FrGraph *g, FrTensor *x, int bits, float clip);
/* Signed symmetric, range [-clip, clip] with 2^(bits-1) - 1 levels each side; clip <= 0 uses max|x|. */
FrTensor *fr_fake_quant_act_signed(FrGraph *g, FrTensor *x, int bits, float clip);

/* ---- losses (scalar outputs, mean over the batch) ---- */
FrTensor *fr_cross_entropy(FrGraph *g, FrTensor *logits, const int32_t *labels, float label_smoothing);
FrTensor *fr_mse_loss(FrGraph *g, FrTensor *a, FrTensor *b);
FrTensor *fr_l1_loss(FrGraph *g, FrTensor *a, FrTensor *b);
/* mean(relu(1 - sign*x)): discriminator hinge with sign +1 on real, -1 on fake. */
FrTensor *fr_hinge_loss(FrGraph *g, FrTensor *x, float sign);
/* mean((x - target)^2): LSGAN with target 1 (real) or 0 (fake). */
FrTensor *fr_lsgan_loss(FrGraph *g, FrTensor *x, float target);

/* ---- GEMM helper: C[M,N] = alpha * op(A) op(B) + beta * C, row-major, OpenBLAS ---- */
void fr_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
             const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

G_END_DECLS
