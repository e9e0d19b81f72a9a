/* fr-gan-cost.c: MACs and parameters of a generator config, layer by layer, counted from shapes.
 *
 * True MACs count what is computed: a transposed conv does Cin*Cout*k*k per *input* pixel. The paper's
 * convention (GAN Compression's profiler) counts it per *output* pixel, 4x for stride 2. Instance norm,
 * ReLU, tanh and the residual adds are not counted, as in the paper. */
#include "fr-gan.h"

typedef struct {
  FrGanLayerCost *rows;
  int n, max;
  FrGanCost total;
} Acc;

static void add(Acc *a, const char *name, int cin, int cout, int k, int groups, int out_h, int out_w, int in_h,
                int in_w, gboolean transposed) {
  double per_pixel = (double)cin / groups * cout * k * k;
  double macs = per_pixel * (transposed ? (double)in_h * in_w : (double)out_h * out_w);
  double paper = per_pixel * (double)out_h * out_w;
  double params = (double)cin / groups * cout * k * k + cout;
  a->total.macs += macs;
  a->total.macs_paper += paper;
  a->total.params += params;
  if (a->rows && a->n < a->max)
    a->rows[a->n] = (FrGanLayerCost){ name, macs, params, cin, cout, k, out_h, out_w };
  a->n++;
}

static const char *const block_names[FR_GAN_BLOCKS][4] = {
#define B(i) { "block" #i ".conv1", "block" #i ".conv2", "block" #i ".dw2", "block" #i ".pw2" }
  B(1), B(2), B(3), B(4), B(5), B(6), B(7), B(8), B(9)
#undef B
};
static const char *const block_names_mobile[FR_GAN_BLOCKS][2] = {
#define B(i) { "block" #i ".dw1", "block" #i ".pw1" }
  B(1), B(2), B(3), B(4), B(5), B(6), B(7), B(8), B(9)
#undef B
};

static void count(Acc *a, FrGanKind kind, const FrGanConfig *c, int in_c, int out_c, int H, int W) {
  int stem = c->ch[0], down1 = c->ch[1] * 2, res = c->ch[2] * 4, up1 = c->ch[6] * 2, up2 = c->ch[7];
  int h2 = H / 2, w2 = W / 2, h4 = H / 4, w4 = W / 4;
  add(a, "stem", in_c, stem, 7, 1, H, W, H, W, FALSE);
  add(a, "down1", stem, down1, 3, 1, h2, w2, H, W, FALSE);
  add(a, "down2", down1, res, 3, 1, h4, w4, h2, w2, FALSE);
  for (int b = 0; b < FR_GAN_BLOCKS; b++) {
    int inner = c->ch[3 + b / 3] * 4;
    if (kind == FR_GAN_RESNET) {
      add(a, block_names[b][0], res, inner, 3, 1, h4, w4, h4, w4, FALSE);
      add(a, block_names[b][1], inner, res, 3, 1, h4, w4, h4, w4, FALSE);
    } else {
      add(a, block_names_mobile[b][0], res, res, 3, res, h4, w4, h4, w4, FALSE);
      add(a, block_names_mobile[b][1], res, inner, 1, 1, h4, w4, h4, w4, FALSE);
      add(a, block_names[b][2], inner, inner, 3, inner, h4, w4, h4, w4, FALSE);
      add(a, block_names[b][3], inner, res, 1, 1, h4, w4, h4, w4, FALSE);
    }
  }
  add(a, "up1", res, up1, 3, 1, h2, w2, h4, w4, TRUE);
  add(a, "up2", up1, up2, 3, 1, H, W, h2, w2, TRUE);
  add(a, "out", up2, out_c, 7, 1, H, W, H, W, FALSE);
}

FrGanCost fr_gan_cost(FrGanKind kind, const FrGanConfig *c, int in_c, int out_c, int H, int W) {
  Acc a = { 0 };
  count(&a, kind, c, in_c, out_c, H, W);
  return a.total;
}

int fr_gan_layer_costs(FrGanKind kind, const FrGanConfig *c, int in_c, int out_c, int H, int W, FrGanLayerCost *rows,
                       int max) {
  Acc a = { .rows = rows, .max = max };
  count(&a, kind, c, in_c, out_c, H, W);
  return MIN(a.n, max);
}
