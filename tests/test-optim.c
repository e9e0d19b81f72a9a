/* Optimisers against the update rules written out in float64 (PyTorch's semantics), and schedules. */
#include "fr-optim.h"

#include <math.h>

static void run(FrOptimConfig cfg, double lr, int steps, double *want_out) {
  /* minimise f(w) = sum (w - t)^2 from w = 0, with a fixed target */
  const double target[3] = { 1.0, -2.0, 0.5 };
  FrTensor *p = fr_param_new("w", 1, FR_SHAPE(3));
  FrOptim *o = fr_optim_new(&cfg, &p, 1);
  double w[3] = {0}, m[3] = {0}, v[3] = {0};
  for (int s = 1; s <= steps; s++) {
    fr_optim_zero_grad(o);
    for (int i = 0; i < 3; i++) p->grad[i] = (float)(2 * (p->data[i] - target[i]));
    fr_optim_step(o, (float)lr);
    for (int i = 0; i < 3; i++) {
      double gr = 2 * (w[i] - target[i]);
      switch (cfg.kind) {
      case FR_OPT_SGD:
        gr += cfg.weight_decay * w[i];
        m[i] = s == 1 ? gr : cfg.momentum * m[i] + gr;
        w[i] -= lr * (cfg.nesterov ? gr + cfg.momentum * m[i] : m[i]);
        break;
      case FR_OPT_ADAM:
      case FR_OPT_ADAMW:
        if (cfg.kind == FR_OPT_ADAMW) w[i] *= 1 - lr * cfg.weight_decay;
        else gr += cfg.weight_decay * w[i];
        m[i] = 0.9 * m[i] + 0.1 * gr;
        v[i] = 0.999 * v[i] + 0.001 * gr * gr;
        w[i] -= lr * (m[i] / (1 - pow(0.9, s))) / (sqrt(v[i] / (1 - pow(0.999, s))) + 1e-8);
        break;
      }
    }
  }
  for (int i = 0; i < 3; i++) {
    g_assert_cmpfloat(fabs(p->data[i] - w[i]), <, 1e-4 * fmax(1, fabs(w[i])));
    if (want_out) want_out[i] = w[i];
  }
  fr_optim_free(o);
  fr_param_free(p);
}

static void test_sgd(void) {
  run(fr_optim_config_sgd(0, false, 0), 0.1, 20, NULL);
  run(fr_optim_config_sgd(0.9f, false, 1e-2f), 0.05, 30, NULL);
  double w[3];
  run(fr_optim_config_sgd(0.9f, true, 0), 0.05, 200, w);
  g_assert_cmpfloat(fabs(w[1] + 2.0), <, 1e-3);   /* converges */
}

static void test_adam(void) {
  run(fr_optim_config_adam(0, false), 0.05, 50, NULL);
  run(fr_optim_config_adam(0.1f, false), 0.05, 50, NULL);
  run(fr_optim_config_adam(0.1f, true), 0.05, 50, NULL);
}

static void test_schedules(void) {
  g_assert_cmpfloat(fr_schedule_lr(FR_SCHED_COSINE, 1.0f, 0, 100, 0, 0), ==, 1.0f);
  g_assert_cmpfloat(fabs(fr_schedule_lr(FR_SCHED_COSINE, 1.0f, 50, 100, 0, 0) - 0.5), <, 1e-6);
  g_assert_cmpfloat(fr_schedule_lr(FR_SCHED_COSINE, 1.0f, 100, 100, 0, 0.1f), ==, 0.1f);
  g_assert_cmpfloat(fabs(fr_schedule_lr(FR_SCHED_LINEAR, 1.0f, 75, 100, 0, 0) - 0.25), <, 1e-6);
  g_assert_cmpfloat(fabs(fr_schedule_lr(FR_SCHED_LINEAR, 1.0f, 4, 100, 10, 0) - 0.5), <, 1e-6);  /* warm-up */
  g_assert_cmpfloat(fabs(fr_schedule_lr(FR_SCHED_INVSQRT, 1.0f, 400, 0, 100, 0) - 0.5), <, 1e-6);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/optim/sgd", test_sgd);
  g_test_add_func("/optim/adam", test_adam);
  g_test_add_func("/optim/schedules", test_schedules);
  return g_test_run();
}
